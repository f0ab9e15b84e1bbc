/*
 * fuzz_records.c - libFuzzer target for the binary records the gateway
 * reads back from its own stores: the router's delivery records
 * (store/deliveries.c) and the sent-reply journal (store/sentlog.c). A
 * record may come from an older version or a damaged file: it decodes or
 * is refused, never read past its end; what decodes encodes to the same
 * bytes (a delivery record: to the bytes it read, later fields left).
 *   build-fuzz/bin/fuzz_records -rss_limit_mb=1024 corpus tests/fuzz/corpus/records
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/sentlog.h"
#include "store/store.h"

static void check_delivery(const uint8_t *data, size_t size)
{
	struct store_delivery d;
	unsigned char buf[STORE_DELIVERY_REC_MAX];
	size_t len = 0;

	memset(&d, 0, sizeof(d));
	if (store_delivery_decode(data, size, &d) != GW_OK)
		return;
	if (store_delivery_encode(&d, buf, sizeof(buf), &len) != GW_OK)
		abort(); /* decoded but not encodable */
	/* Bytes after the last field are left for fields of later versions:
	 * what decodes is a prefix of the record. */
	if (len > size || memcmp(buf, data, len) != 0)
		abort(); /* the round trip changed the record */
}

static void check_sentlog(const uint8_t *data, size_t size)
{
	struct sentlog_rec r;
	unsigned char buf[SENTLOG_REC_MAX];
	size_t len;

	memset(&r, 0, sizeof(r));
	if (sentlog_decode(data, size, &r) != GW_OK)
		return;
	len = sentlog_encode(&r, buf);
	if (len != size || memcmp(buf, data, len) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_delivery(data, size);
	check_sentlog(data, size);
	return 0;
}

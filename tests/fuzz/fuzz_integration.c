/*
 * fuzz_integration.c - libFuzzer target for the records gateway-integration
 * reads back from <state_dir>/integration/ (store/integration.c): a webhook
 * cursor (JSON text) and an idempotency key's answer (binary). A damaged or
 * foreign record decodes to something or is refused, never read past its
 * end; a cursor's error text always ends inside its buffer.
 *   build-fuzz/bin/fuzz_integration -rss_limit_mb=1024 corpus
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/integration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct integ_cursor c;
	unsigned char digest[INTEG_DIGEST_LEN];
	const char *body = NULL;
	size_t blen = 0;
	int64_t expires = 0;
	int status = 0;

	integ_cursor_decode(data, size, &c);
	if (strnlen(c.last_error, sizeof(c.last_error)) == sizeof(c.last_error))
		abort();
	if (integ_idem_decode(data, size, &expires, &status, &body, &blen, digest) == GW_OK &&
	    (status < 100 || status > 599 || body + blen != (const char *)data + size))
		abort();
	return 0;
}

/*
 * fuzz_meta_parse.c - libFuzzer target for the Meta webhook body parser
 * (connectors/meta/meta_parse.h).
 *
 * Whatever is accepted must give events that encode (every value within
 * the proto limits, valid UTF-8), and a second parse of the same bytes,
 * arriving later, must give the same ids: a redelivered body must
 * deduplicate. Unreadable items are counted consistently (dropped ones
 * among them). A refusal must leave the list empty. Seeds:
 * tests/fixtures/meta/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/meta/meta_parse.h"
#include "core/err.h"
#include "proto/proto.h"

/* The dedup id of an event: external_id, status_id or change_id. */
static const char *dedup_id(const struct proto_event *e)
{
	switch (e->type) {
	case PROTO_T_MESSAGE_STATUS:
		return e->u.status.status_id;
	case PROTO_T_MESSAGE_EDITED:
	case PROTO_T_MESSAGE_DELETED:
		return e->u.change.change_id;
	default:
		return e->u.message.external_id;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meta_events a = {0}, b = {0};
	struct meta_parse_error err;
	int rc = meta_parse(data, size, 1700000000000LL, &a, &err);

	if (rc != GW_OK) {
		if (a.n != 0 || a.ev || err.code != rc)
			abort(); /* a refusal left events behind */
		return 0;
	}
	for (size_t i = 0; i < a.n; i++) {
		char *buf = NULL;
		size_t len = 0;

		if (proto_encode(&a.ev[i], &buf, &len, NULL) != GW_OK)
			abort(); /* an event over a limit or not UTF-8 */
		free(buf);
	}
	if (err.code != GW_OK || a.dropped > a.unreadable || (a.unreadable && !a.unreadable_why[0]))
		abort();
	if (meta_parse(data, size, 1700000012345LL, &b, &err) != GW_OK || a.n != b.n)
		abort();
	for (size_t i = 0; i < a.n; i++)
		if (strcmp(dedup_id(&a.ev[i]), dedup_id(&b.ev[i])) != 0)
			abort(); /* ids must not depend on anything but the body */
	meta_events_clear(&a);
	meta_events_clear(&b);
	return 0;
}

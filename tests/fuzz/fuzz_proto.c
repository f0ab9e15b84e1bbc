/*
 * fuzz_proto.c - libFuzzer target for the event and record decoders.
 *
 * Whatever decodes must encode, decode again and encode to the same bytes:
 * decode and encode apply the same rules, so a difference is a bug even
 * when nothing crashes. The record decoders and the msgpack -> JSON
 * conversion for tools read the same input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "proto/proto.h"

static void check_event(const struct proto_event *ev)
{
	struct proto_event again;
	char *buf = NULL, *buf2 = NULL;
	size_t len = 0, len2 = 0;

	if (proto_encode(ev, &buf, &len, NULL) != GW_OK)
		abort(); /* decoded but not encodable */
	if (proto_decode(buf, len, &again, NULL) != GW_OK)
		abort(); /* encoded but not decodable */
	if (proto_encode(&again, &buf2, &len2, NULL) != GW_OK)
		abort();
	if (len != len2 || memcmp(buf, buf2, len) != 0)
		abort(); /* the round trip changed the event */
	free(proto_dump_json(ev));
	proto_event_clear(&again);
	free(buf);
	free(buf2);
}

static void check_records(const uint8_t *data, size_t size)
{
	struct proto_customer c;
	struct proto_ticket t;
	char *buf = NULL;
	size_t len = 0;

	if (proto_customer_decode(data, size, &c, NULL) == GW_OK) {
		if (proto_customer_encode(&c, &buf, &len) != GW_OK)
			abort();
		free(buf);
		json_decref(proto_customer_to_json(&c));
		proto_customer_clear(&c);
	}
	if (proto_ticket_decode(data, size, &t, NULL) == GW_OK) {
		if (proto_ticket_encode(&t, &buf, &len) != GW_OK)
			abort();
		free(buf);
		json_decref(proto_ticket_to_json(&t));
		proto_ticket_clear(&t);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_event ev;
	struct proto_error err;

	if (proto_decode(data, size, &ev, &err) == GW_OK) {
		check_event(&ev);
		proto_event_clear(&ev);
	} else if (err.code == GW_OK || err.message[0] == '\0') {
		abort(); /* every failure says why */
	}
	check_records(data, size);
	json_decref(proto_json_from_msgpack(data, size));
	return 0;
}

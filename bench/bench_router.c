/*
 * bench_router.c - the router's live counters over its command socket
 * ("status", proto/wire.h), read before and after a run so that the
 * messages committed per LMDB transaction are measured, not guessed.
 */
#include "bench/bench_api.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <zmq.h>

#include "proto/proto.h"
#include "proto/wire.h"

static uint64_t rc_get(const json_t *counters, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(counters, key));

	return v > 0 ? (uint64_t)v : 0;
}

/* Parses the ["ok", {counters: {...}}] reply already received. */
static int rc_parse(zmq_msg_t *head, zmq_msg_t *body, struct router_counters *out)
{
	json_t *doc, *c;
	int rc = -1;

	if (zmq_msg_size(head) != strlen(WIRE_REPLY_OK) ||
	    memcmp(zmq_msg_data(head), WIRE_REPLY_OK, zmq_msg_size(head)) != 0)
		return -1;
	doc = proto_json_from_msgpack(zmq_msg_data(body), zmq_msg_size(body));
	c = json_object_get(doc, "counters");
	if (json_is_object(c)) {
		out->received = rc_get(c, "received");
		out->stored = rc_get(c, "stored");
		out->duplicates = rc_get(c, "duplicates");
		out->events = rc_get(c, "events");
		out->batches = rc_get(c, "batches");
		out->max_batch = rc_get(c, "max_batch");
		rc = 0;
	}
	json_decref(doc);
	return rc;
}

int router_counters_get(const char *endpoint, int timeout_ms, struct router_counters *out)
{
	static const unsigned char empty_map = 0x80; /* msgpack {} */
	void *ctx = zmq_ctx_new(), *s = NULL;
	zmq_msg_t head, body;
	int zero = 0, rc = -1;

	memset(out, 0, sizeof(*out));
	zmq_msg_init(&head);
	zmq_msg_init(&body);
	if (ctx)
		s = zmq_socket(ctx, ZMQ_REQ);
	if (!s)
		goto out;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout_ms, sizeof(timeout_ms));
	zmq_setsockopt(s, ZMQ_SNDTIMEO, &timeout_ms, sizeof(timeout_ms));
	if (zmq_connect(s, endpoint) ||
	    zmq_send(s, WIRE_CMD_STATUS, strlen(WIRE_CMD_STATUS), ZMQ_SNDMORE) < 0 ||
	    zmq_send(s, &empty_map, 1, 0) < 0)
		goto out;
	if (zmq_msg_recv(&head, s, 0) < 0 || !zmq_msg_more(&head) ||
	    zmq_msg_recv(&body, s, 0) < 0)
		goto out;
	rc = rc_parse(&head, &body, out);
out:
	if (rc)
		fprintf(stderr, "bench-api: no router status from %s\n", endpoint);
	zmq_msg_close(&head);
	zmq_msg_close(&body);
	if (s)
		zmq_close(s);
	if (ctx)
		zmq_ctx_term(ctx);
	return rc;
}

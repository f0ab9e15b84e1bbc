/*
 * rcmd.c - request/reply on the router's command socket (proto/wire.h) for
 * gateway-integration. A REQ socket; one that got no answer in time is
 * closed and made again at the next call, since REQ cannot send twice.
 */
#include "gateway/integration/integration.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "core/bus.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/proto.h"
#include "proto/wire.h"

#define RCMD_MAX_FRAMES (2 + 2 * WIRE_REPLAY_MAX_LIMIT + 2)
#define RCMD_MAX_BYTES (64LL * 1024 * 1024)

void rcmd_close(struct rcmd *c)
{
	if (c->sock)
		zmq_close(c->sock);
	c->sock = NULL;
}

static int rcmd_open(struct rcmd *c)
{
	int linger = 0, timeo = (int)c->timeout_ms;
	int64_t maxmsg = RCMD_MAX_BYTES;
	char why[512];

	c->sock = zmq_socket(c->zctx, ZMQ_REQ);
	if (!c->sock)
		return GW_EBUS;
	zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(c->sock, ZMQ_SNDTIMEO, &timeo, sizeof(timeo));
	zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (bus_client_setup(c->sock, c->bus, c->bus->command, why, sizeof(why)) != GW_OK) {
		GW_ERROR(IG_MOD, "%s", why);
		rcmd_close(c);
		return GW_EBUS;
	}
	if (zmq_connect(c->sock, c->bus->command) != 0) {
		GW_ERROR(IG_MOD, "bad command endpoint %s: %s", c->bus->command,
			 zmq_strerror(errno));
		rcmd_close(c);
		return GW_EBUS;
	}
	return GW_OK;
}

static int add_frame(struct rcmd_reply *r, zmq_msg_t *msg)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		zmq_msg_t *f = realloc(r->frames, cap * sizeof(*f));

		if (!f)
			return GW_ENOMEM;
		r->frames = f;
		r->cap = cap;
	}
	r->frames[r->n++] = *msg;
	return GW_OK;
}

/* read_error - {code, message} of an "error" reply into r. */
static void read_error(struct rcmd_reply *r)
{
	json_t *j = r->n ? rcmd_json(r, 0) : NULL;
	const char *code = json_string_value(json_object_get(j, "code"));
	const char *msg = json_string_value(json_object_get(j, "message"));

	snprintf(r->code, sizeof(r->code), "%s", code ? code : "GW_EPROTO");
	snprintf(r->message, sizeof(r->message), "%s", msg ? msg : "malformed error reply");
	json_decref(j);
}

/* recv_reply - the frames of one answer; the first says ok or error. */
static int recv_reply(struct rcmd *c, struct rcmd_reply *r)
{
	zmq_msg_t m;
	int more = 1, first = 1, rc = GW_OK;

	while (more) {
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, c->sock, 0) < 0) {
			zmq_msg_close(&m);
			return GW_EBUS;
		}
		more = zmq_msg_more(&m);
		if (first) {
			r->ok = zmq_msg_size(&m) == 2 && memcmp(zmq_msg_data(&m), "ok", 2) == 0;
			zmq_msg_close(&m);
			first = 0;
			continue;
		}
		if (rc == GW_OK && r->n < RCMD_MAX_FRAMES)
			rc = add_frame(r, &m);
		else
			zmq_msg_close(&m);
	}
	if (!r->ok)
		read_error(r);
	return rc;
}

int rcmd_call(struct rcmd *c, const char *cmd, const void *args, size_t len,
	      struct rcmd_reply *r)
{
	zmq_pollitem_t item;
	int rc = GW_OK, n;

	memset(r, 0, sizeof(*r));
	if (!c->sock)
		rc = rcmd_open(c);
	if (rc)
		return rc;
	if (zmq_send(c->sock, cmd, strlen(cmd), ZMQ_SNDMORE) < 0 ||
	    zmq_send(c->sock, args, len, 0) < 0) {
		rcmd_close(c);
		return GW_EAGAIN;
	}
	item = (zmq_pollitem_t){.socket = c->sock, .events = ZMQ_POLLIN};
	do
		n = zmq_poll(&item, 1, c->timeout_ms);
	while (n < 0 && errno == EINTR && !ig_stop);
	if (n <= 0) {
		rcmd_close(c);
		return GW_EAGAIN;
	}
	rc = recv_reply(c, r);
	if (rc)
		rcmd_close(c);
	return rc;
}

json_t *rcmd_json(const struct rcmd_reply *r, size_t i)
{
	if (i >= r->n)
		return NULL;
	return proto_json_from_msgpack(zmq_msg_data(&r->frames[i]), zmq_msg_size(&r->frames[i]));
}

void rcmd_reply_free(struct rcmd_reply *r)
{
	for (size_t i = 0; i < r->n; i++)
		zmq_msg_close(&r->frames[i]);
	free(r->frames);
	memset(r, 0, sizeof(*r));
}

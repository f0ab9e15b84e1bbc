/*
 * natsbus.c - gateway-nats' side of the router (see natsbus.h).
 */
#include "gateway/nats/natsbus.h"

#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/bus.h"
#include "core/err.h"
#include "core/log.h"
#include "proto/proto.h"
#include "proto/wire.h"

#define MOD "nats"
#define MAX_REPLY_BYTES (64LL * 1024 * 1024) /* a replay is about 16 MiB at most */
#define SUB_RCVHWM 1000                      /* wake-ups only: dropping is fine */
#define SEND_TIMEOUT_MS 1000

struct natsbus {
	const struct gw_config *cfg; /* borrowed */
	void *zctx;
	void *sub;
	void *req; /* NULL after a timeout, made anew by the next request */
};

static int open_socket(struct natsbus *b, int type, const char *endpoint, void **out)
{
	void *s = zmq_socket(b->zctx, type);
	int linger = 0, hwm = SUB_RCVHWM, sndtimeo = SEND_TIMEOUT_MS;
	int64_t maxmsg = MAX_REPLY_BYTES;
	char why[512];
	int rc;

	*out = NULL;
	if (!s)
		return GW_EBUS;
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (type == ZMQ_SUB) {
		zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
		zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
	} else {
		zmq_setsockopt(s, ZMQ_SNDTIMEO, &sndtimeo, sizeof(sndtimeo));
	}
	rc = bus_client_setup(s, &b->cfg->router, endpoint, why, sizeof(why));
	if (rc != GW_OK) {
		GW_ERROR(MOD, "%s", why);
		goto out;
	}
	rc = zmq_connect(s, endpoint) == 0 ? GW_OK : GW_EBUS;
	if (rc != GW_OK)
		GW_ERROR(MOD, "cannot connect to %s: %s", endpoint, zmq_strerror(errno));
out:
	if (rc != GW_OK)
		zmq_close(s);
	else
		*out = s;
	return rc;
}

int natsbus_open(const struct gw_config *cfg, struct natsbus **out)
{
	struct natsbus *b = calloc(1, sizeof(*b));
	int rc = GW_ENOMEM;

	*out = NULL;
	if (!b)
		goto out;
	b->cfg = cfg;
	b->zctx = zmq_ctx_new();
	if (!b->zctx)
		goto out;
	rc = open_socket(b, ZMQ_SUB, cfg->router.publish, &b->sub);
	if (rc == GW_OK)
		rc = open_socket(b, ZMQ_REQ, cfg->router.command, &b->req);
	if (rc != GW_OK)
		goto out;
	*out = b;
	b = NULL;
out:
	natsbus_close(b);
	return rc;
}

void natsbus_close(struct natsbus *b)
{
	if (!b)
		return;
	if (b->sub)
		zmq_close(b->sub);
	if (b->req)
		zmq_close(b->req);
	if (b->zctx)
		zmq_ctx_term(b->zctx);
	free(b);
}

void natsbus_replay_free(struct natsbus_replay *r)
{
	for (size_t i = 0; i < r->n; i++)
		zmq_msg_close(&r->frames[i]);
	free(r->frames);
	memset(r, 0, sizeof(*r));
}

int natsbus_wait(struct natsbus *b, int timeout_ms)
{
	zmq_pollitem_t item = {.socket = b->sub, .events = ZMQ_POLLIN};
	int got = 0;
	zmq_msg_t m;

	if (zmq_poll(&item, 1, timeout_ms) <= 0)
		return 0;
	zmq_msg_init(&m);
	while (zmq_msg_recv(&m, b->sub, ZMQ_DONTWAIT) >= 0)
		got = 1;
	zmq_msg_close(&m);
	return got;
}

/* ---- replay ---- */

static int pack_args(uint64_t from, unsigned limit, msgpack_sbuffer *buf)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(buf);
	msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "from", 4);
	msgpack_pack_uint64(&pk, from);
	msgpack_pack_str_with_body(&pk, "limit", 5);
	msgpack_pack_unsigned_int(&pk, limit);
	return buf->data ? GW_OK : GW_ENOMEM;
}

/* no_answer - a REQ socket that lost its reply cannot send again. */
static int no_answer(struct natsbus *b)
{
	if (b->req)
		zmq_close(b->req);
	b->req = NULL;
	return GW_EAGAIN;
}

static int add_frame(struct natsbus_replay *r, zmq_msg_t *m, size_t max)
{
	zmq_msg_t *f;
	size_t cap;

	if (r->n >= max)
		return GW_ETOOBIG;
	if (r->n == r->cap) {
		cap = r->cap ? r->cap * 2 : 16;
		f = realloc(r->frames, cap * sizeof(*f));
		if (!f)
			return GW_ENOMEM;
		r->frames = f;
		r->cap = cap;
	}
	r->frames[r->n++] = *m;
	return GW_OK;
}

/* read_reply - every frame of the reply, the first awaited `timeout_ms`. */
static int read_reply(struct natsbus *b, int timeout_ms, size_t max, struct natsbus_replay *r)
{
	zmq_pollitem_t item = {.socket = b->req, .events = ZMQ_POLLIN};
	int more = 1, rc = GW_OK;
	size_t sz;
	zmq_msg_t m;

	if (zmq_poll(&item, 1, timeout_ms) <= 0)
		return no_answer(b);
	while (more && rc == GW_OK) {
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, b->req, 0) < 0) {
			zmq_msg_close(&m);
			return no_answer(b);
		}
		rc = add_frame(r, &m, max);
		if (rc != GW_OK)
			zmq_msg_close(&m);
		sz = sizeof(more);
		zmq_getsockopt(b->req, ZMQ_RCVMORE, &more, &sz);
	}
	if (rc != GW_OK)
		no_answer(b); /* the rest of the reply is not read */
	return rc;
}

/* frame_is - frame `i` of *r holds exactly `s`. */
static int frame_is(const struct natsbus_replay *r, size_t i, const char *s)
{
	return i < r->n && zmq_msg_size(&r->frames[i]) == strlen(s) &&
	       memcmp(zmq_msg_data(&r->frames[i]), s, strlen(s)) == 0;
}

/* parse_result - head and count of an "ok" reply; GW_EPROTO otherwise. */
static int parse_result(struct natsbus_replay *r)
{
	json_t *j = NULL;
	int rc = GW_EPROTO;

	if (r->n >= 2)
		j = proto_json_from_msgpack(zmq_msg_data(&r->frames[1]),
					    zmq_msg_size(&r->frames[1]));
	if (!frame_is(r, 0, WIRE_REPLY_OK)) {
		GW_WARN(MOD, "replay refused: %s",
			json_string_value(json_object_get(j, "message")) ?: "malformed reply");
		goto out;
	}
	r->head = (uint64_t)json_integer_value(json_object_get(j, "head"));
	r->count = (uint64_t)json_integer_value(json_object_get(j, "count"));
	if (r->n != 2 + 2 * r->count) {
		GW_WARN(MOD, "replay reply has %zu frames for %llu events", r->n,
			(unsigned long long)r->count);
		goto out;
	}
	rc = GW_OK;
out:
	json_decref(j);
	return rc;
}

int natsbus_replay(struct natsbus *b, uint64_t from, unsigned limit, int timeout_ms,
		   struct natsbus_replay *r)
{
	msgpack_sbuffer args;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!b->req && open_socket(b, ZMQ_REQ, b->cfg->router.command, &b->req) != GW_OK)
		return GW_EAGAIN;
	rc = pack_args(from, limit, &args);
	if (rc != GW_OK)
		goto out;
	if (zmq_send(b->req, WIRE_CMD_REPLAY, strlen(WIRE_CMD_REPLAY), ZMQ_SNDMORE) < 0 ||
	    zmq_send(b->req, args.data, args.size, 0) < 0) {
		rc = no_answer(b);
		goto out;
	}
	rc = read_reply(b, timeout_ms, 2 + 2 * (size_t)limit, r);
	if (rc == GW_OK)
		rc = parse_result(r);
out:
	msgpack_sbuffer_destroy(&args);
	return rc;
}

/*
 * consumer.c - a consumer of Omnigate's event bus (docs/events.md) on
 * libzmq and msgpack-c only, to copy into any C program: subscribes to the
 * router's PUB socket, catches up by replay on the command socket, detects
 * gaps (a jump in `seq`, or a heartbeat whose head_seq is past what it
 * has) and fills them by replay, and drops repeats.
 *
 * Build (Debian: libzmq3-dev, libmsgpack-dev): `make` in this folder, or
 * the project's build (build/bin/example-bus-consumer). Against the
 * quick-start gateway, from the repository's root, as the gateway's user:
 *
 *     ./build/bin/example-bus-consumer
 *
 * prints one line per event: "<seq> <type>".
 * Options: --state-dir DIR (default gateway/state), --publish EP,
 * --command EP, --count N (exit after N events).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <zmq.h>

#define REPLAY_LIMIT 1000
#define TIMEOUT_MS 5000
#define MAX_FRAMES (2 + 2 * REPLAY_LIMIT)
#define EP_MAX (PATH_MAX + 32)

struct consumer {
	void *ctx, *sub, *req;
	char publish[EP_MAX], command[EP_MAX];
	uint64_t last;    /* the last seq processed: keep it with your results */
	uint64_t handled;
	uint64_t count;   /* exit after this many; 0: never */
};

/* map_uint - the unsigned integer at `key` of the msgpack map `o`; 0 if none. */
static uint64_t map_uint(const msgpack_object *o, const char *key)
{
	size_t klen = strlen(key);

	if (o->type != MSGPACK_OBJECT_MAP)
		return 0;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];

		if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == klen &&
		    memcmp(kv->key.via.str.ptr, key, klen) == 0 &&
		    kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			return kv->val.via.u64;
	}
	return 0;
}

/* unpack_uint - map_uint of the msgpack bytes `data`; 0 when not a map. */
static uint64_t unpack_uint(const void *data, size_t len, const char *key)
{
	msgpack_unpacked u;
	uint64_t v = 0;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, data, len, NULL) == MSGPACK_UNPACK_SUCCESS)
		v = map_uint(&u.data, key);
	msgpack_unpacked_destroy(&u);
	return v;
}

/* handle - one event (type, msgpack body): processed once, in seq order. */
static void handle(struct consumer *c, const char *type, size_t tlen, const void *body,
		   size_t blen)
{
	uint64_t seq = unpack_uint(body, blen, "seq");

	if (seq == 0 || seq <= c->last)
		return; /* a repeat: the bus is at-least-once */
	/* Your work goes here; decode the map with msgpack-c as map_uint does. */
	printf("%llu %.*s\n", (unsigned long long)seq, (int)tlen, type);
	fflush(stdout);
	c->last = seq;
	c->handled++;
}

static int open_req(struct consumer *c)
{
	int linger = 0, timeo = TIMEOUT_MS;

	c->req = zmq_socket(c->ctx, ZMQ_REQ);
	if (!c->req)
		return -1;
	zmq_setsockopt(c->req, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(c->req, ZMQ_RCVTIMEO, &timeo, sizeof(timeo));
	zmq_setsockopt(c->req, ZMQ_SNDTIMEO, &timeo, sizeof(timeo));
	return zmq_connect(c->req, c->command);
}

/* send_replay - ["replay", {from: last + 1, limit}] on the command socket. */
static int send_replay(struct consumer *c)
{
	msgpack_sbuffer buf;
	msgpack_packer pk;
	int rc = -1;

	if (!c->req && open_req(c) != 0)
		return -1;
	msgpack_sbuffer_init(&buf);
	msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "from", 4);
	msgpack_pack_uint64(&pk, c->last + 1);
	msgpack_pack_str_with_body(&pk, "limit", 5);
	msgpack_pack_uint32(&pk, REPLAY_LIMIT);
	if (zmq_send(c->req, "replay", 6, ZMQ_SNDMORE) == 6 &&
	    zmq_send(c->req, buf.data, buf.size, 0) >= 0)
		rc = 0;
	msgpack_sbuffer_destroy(&buf);
	return rc;
}

/* recv_frames - every frame of one reply into f[] (at most max); -1 on error. */
static int recv_frames(void *sock, zmq_msg_t *f, int max)
{
	int n = 0, more = 1;
	size_t sz = sizeof(more);

	while (more) {
		if (n == max)
			return -1;
		zmq_msg_init(&f[n]);
		if (zmq_msg_recv(&f[n], sock, 0) < 0) {
			zmq_msg_close(&f[n]);
			return -1;
		}
		n++;
		zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz);
	}
	return n;
}

/* replay_once - one replay batch handled; 1 when caught up, 0 more to ask, -1 error. */
static int replay_once(struct consumer *c, zmq_msg_t *f)
{
	int n, rc = -1;
	uint64_t next, head, count;

	if (send_replay(c) != 0 || (n = recv_frames(c->req, f, MAX_FRAMES)) < 2) {
		/* A REQ socket that lost its reply cannot send again: make it anew. */
		zmq_close(c->req);
		c->req = NULL;
		return -1;
	}
	if (zmq_msg_size(&f[0]) == 2 && memcmp(zmq_msg_data(&f[0]), "ok", 2) == 0) {
		next = unpack_uint(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), "next");
		head = unpack_uint(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), "head");
		count = unpack_uint(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), "count");
		for (int i = 2; i + 1 < n; i += 2)
			handle(c, zmq_msg_data(&f[i]), zmq_msg_size(&f[i]), zmq_msg_data(&f[i + 1]),
			       zmq_msg_size(&f[i + 1]));
		rc = count == 0 || next > head;
	} else {
		fprintf(stderr, "consumer: the router refused the replay\n");
	}
	for (int i = 0; i < n; i++)
		zmq_msg_close(&f[i]);
	return rc;
}

/* catch_up - replays from last + 1 to the head of the log. */
static int catch_up(struct consumer *c)
{
	static zmq_msg_t frames[MAX_FRAMES];
	int rc;

	while ((rc = replay_once(c, frames)) == 0)
		;
	if (rc < 0)
		fprintf(stderr, "consumer: no answer from %s\n", c->command);
	return rc < 0 ? -1 : 0;
}

/* on_bus - one [type, event] from the PUB socket. */
static int on_bus(struct consumer *c, zmq_msg_t *f)
{
	const char *type = zmq_msg_data(&f[0]);
	size_t tlen = zmq_msg_size(&f[0]);
	const void *body = zmq_msg_data(&f[1]);
	size_t blen = zmq_msg_size(&f[1]);

	if (tlen == 17 && memcmp(type, "gateway.heartbeat", 17) == 0)
		return unpack_uint(body, blen, "head_seq") > c->last ? catch_up(c) : 0;
	if (unpack_uint(body, blen, "seq") > c->last + 1 && catch_up(c) != 0)
		return -1; /* a gap: fetch what is missing first */
	handle(c, type, tlen, body, blen);
	return 0;
}

static int run(struct consumer *c)
{
	zmq_msg_t f[4];
	int n, rc;

	if (catch_up(c) != 0)
		return 1;
	while (!c->count || c->handled < c->count) {
		n = recv_frames(c->sub, f, 4);
		if (n < 0)
			return 1;
		rc = n == 2 ? on_bus(c, f) : 0;
		for (int i = 0; i < n; i++)
			zmq_msg_close(&f[i]);
		if (rc != 0)
			return 1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct consumer *c)
{
	const char *state = "gateway/state";
	char sock[PATH_MAX];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--state-dir") == 0)
			state = argv[i + 1];
		else if (strcmp(argv[i], "--publish") == 0)
			snprintf(c->publish, sizeof(c->publish), "%s", argv[i + 1]);
		else if (strcmp(argv[i], "--command") == 0)
			snprintf(c->command, sizeof(c->command), "%s", argv[i + 1]);
		else if (strcmp(argv[i], "--count") == 0)
			c->count = strtoull(argv[i + 1], NULL, 10);
		else
			return -1;
	}
	if (argc % 2 == 0)
		return -1;
	if (c->publish[0] && c->command[0])
		return 0;
	if (!realpath(state, sock)) {
		fprintf(stderr, "consumer: %s: %s\n", state, strerror(errno));
		return -1;
	}
	if (!c->publish[0])
		snprintf(c->publish, sizeof(c->publish), "ipc://%s/sock/publish", sock);
	if (!c->command[0])
		snprintf(c->command, sizeof(c->command), "ipc://%s/sock/command", sock);
	return 0;
}

int main(int argc, char **argv)
{
	struct consumer c = {0};
	int rc;

	if (parse_args(argc, argv, &c) != 0) {
		fprintf(stderr, "usage: consumer [--state-dir DIR] [--publish EP] [--command EP] "
			"[--count N]\n");
		return 64;
	}
	c.ctx = zmq_ctx_new();
	c.sub = zmq_socket(c.ctx, ZMQ_SUB);
	zmq_setsockopt(c.sub, ZMQ_SUBSCRIBE, "", 0); /* every event, heartbeats too */
	if (zmq_connect(c.sub, c.publish) != 0) {    /* connect before catching up */
		fprintf(stderr, "consumer: %s: %s\n", c.publish, zmq_strerror(errno));
		return 1;
	}
	rc = run(&c);
	zmq_close(c.sub);
	if (c.req)
		zmq_close(c.req);
	zmq_ctx_term(c.ctx);
	return rc;
}

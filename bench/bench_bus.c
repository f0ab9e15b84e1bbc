/*
 * bench_bus.c - the downstream side of bench-api: a SUB socket on the
 * router's publish endpoint, in its own thread, subscribed to
 * message.received (decoded with proto_decode, matched by external_id) and
 * to the heartbeat, whose first arrival proves the subscription is live
 * before any message is sent (ZeroMQ drops what a PUB sends before a
 * subscriber's subscription reached it).
 */
#include "bench/bench_api.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "proto/proto.h"
#include "proto/wire.h"

#define BUS_TYPE "message.received"
#define BUS_POLL_MS 50
#define BUS_MAX_TYPE 64

/* "<prefix><digits>" -> 1 and *idx; 0 when s does not have that form. */
static int bus_match(const char *s, const char *prefix, uint64_t *idx)
{
	size_t plen = strlen(prefix);
	char *end = NULL;
	unsigned long long v;

	if (strncmp(s, prefix, plen) != 0 || s[plen] < '0' || s[plen] > '9')
		return 0;
	errno = 0;
	v = strtoull(s + plen, &end, 10);
	if (errno || *end)
		return 0;
	*idx = v;
	return 1;
}

/* "t<digits>;..." -> the stamp; 0 when the text does not start so. */
static int64_t bus_stamp(const char *text)
{
	char *end = NULL;
	long long v;

	if (!text || text[0] != 't' || text[1] < '0' || text[1] > '9')
		return 0;
	errno = 0;
	v = strtoll(text + 1, &end, 10);
	return errno || *end != ';' ? 0 : (int64_t)v;
}

static void bus_count(struct bench_bus *b, const struct proto_message *m, int64_t now)
{
	uint64_t i;

	atomic_fetch_add(&b->events, 1);
	if (bus_match(m->external_id, b->prefix, &i) && i < b->n) {
		if (b->seen_us[i]) {
			atomic_fetch_add(&b->dups, 1);
		} else {
			b->seen_us[i] = now;
			if (b->stamp_us)
				b->stamp_us[i] = bus_stamp(m->text);
			atomic_fetch_add(&b->seen, 1);
		}
	} else if (bus_match(m->external_id, b->warm_prefix, &i)) {
		atomic_fetch_add(&b->warm_seen, 1);
	}
}

/* One [type, event] message, already received into the two frames. */
static void bus_handle(struct bench_bus *b, zmq_msg_t *type, zmq_msg_t *data, int64_t now)
{
	size_t tlen = zmq_msg_size(type);
	struct proto_event ev;
	struct proto_error err;

	if (tlen == strlen(WIRE_HEARTBEAT) && !memcmp(zmq_msg_data(type), WIRE_HEARTBEAT, tlen)) {
		atomic_fetch_add(&b->heartbeats, 1);
		return;
	}
	if (tlen != strlen(BUS_TYPE) || memcmp(zmq_msg_data(type), BUS_TYPE, tlen))
		return;
	if (proto_decode(zmq_msg_data(data), zmq_msg_size(data), &ev, &err) != 0) {
		atomic_fetch_add(&b->bad, 1);
		return;
	}
	if (ev.type == PROTO_T_MESSAGE_RECEIVED && ev.u.message.external_id)
		bus_count(b, &ev.u.message, now);
	proto_event_clear(&ev);
}

/* Reads every waiting message without blocking; -1 on a socket error. */
static int bus_drain(struct bench_bus *b)
{
	zmq_msg_t type, data;
	int more, rc = 0;
	size_t ml = sizeof(more);

	zmq_msg_init(&type);
	zmq_msg_init(&data);
	while (zmq_msg_recv(&type, b->sub, ZMQ_DONTWAIT) >= 0) {
		int64_t now = bench_now_us();

		more = 0;
		zmq_getsockopt(b->sub, ZMQ_RCVMORE, &more, &ml);
		if (!more)
			continue; /* a lone frame is not ours to judge: skip it */
		if (zmq_msg_recv(&data, b->sub, 0) < 0) {
			rc = -1;
			break;
		}
		/* Skip any extra frames a later wire version might add. */
		while (zmq_getsockopt(b->sub, ZMQ_RCVMORE, &more, &ml) == 0 && more)
			if (zmq_msg_recv(&data, b->sub, 0) < 0)
				break;
		bus_handle(b, &type, &data, now);
	}
	if (rc == 0 && errno != EAGAIN && errno != EINTR)
		rc = -1;
	zmq_msg_close(&type);
	zmq_msg_close(&data);
	return rc;
}

static void *bus_main(void *arg)
{
	struct bench_bus *b = arg;
	zmq_pollitem_t item = {.socket = b->sub, .events = ZMQ_POLLIN};

	while (!atomic_load(&b->stop)) {
		int n = zmq_poll(&item, 1, BUS_POLL_MS);

		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && bus_drain(b))
			break;
	}
	return NULL;
}

static int bus_open(struct bench_bus *b)
{
	/* Room for every event of the run, so the subscriber side never
	 * drops; bounded by BENCH_MAX_N through b->n. */
	uint64_t want = b->n * 4 + 100000;
	int hwm = want > INT_MAX ? INT_MAX : (int)want, zero = 0;

	b->zctx = zmq_ctx_new();
	if (!b->zctx)
		return -1;
	b->sub = zmq_socket(b->zctx, ZMQ_SUB);
	if (!b->sub)
		return -1;
	if (zmq_setsockopt(b->sub, ZMQ_RCVHWM, &hwm, sizeof(hwm)) ||
	    zmq_setsockopt(b->sub, ZMQ_LINGER, &zero, sizeof(zero)) ||
	    zmq_setsockopt(b->sub, ZMQ_SUBSCRIBE, BUS_TYPE, strlen(BUS_TYPE)) ||
	    zmq_setsockopt(b->sub, ZMQ_SUBSCRIBE, WIRE_HEARTBEAT, strlen(WIRE_HEARTBEAT)))
		return -1;
	return zmq_connect(b->sub, b->endpoint);
}

int bus_start(struct bench_bus *b, int ready_ms)
{
	struct timespec ts = {0, 10 * 1000 * 1000};
	int64_t until;

	b->seen_us = calloc(b->n ? b->n : 1, sizeof(*b->seen_us));
	if (!b->seen_us || bus_open(b)) {
		fprintf(stderr, "bench-api: cannot subscribe to %s: %s\n", b->endpoint,
			b->seen_us ? zmq_strerror(errno) : "out of memory");
		return -1;
	}
	if (pthread_create(&b->thread, NULL, bus_main, b) != 0) {
		fprintf(stderr, "bench-api: cannot start the bus thread\n");
		return -1;
	}
	b->started = 1;
	/* Readiness, not a guess: the first heartbeat means we are subscribed. */
	until = bench_now_us() + (int64_t)ready_ms * 1000;
	while (atomic_load(&b->heartbeats) == 0 && bench_now_us() < until)
		nanosleep(&ts, NULL);
	if (atomic_load(&b->heartbeats) == 0) {
		fprintf(stderr, "bench-api: no heartbeat on %s within %d ms\n", b->endpoint,
			ready_ms);
		return -1;
	}
	return 0;
}

void bus_stop(struct bench_bus *b)
{
	atomic_store(&b->stop, 1);
	if (b->started)
		pthread_join(b->thread, NULL);
	b->started = 0;
	if (b->sub)
		zmq_close(b->sub);
	if (b->zctx)
		zmq_ctx_term(b->zctx);
	b->sub = NULL;
	b->zctx = NULL;
}

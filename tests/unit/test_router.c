/*
 * test_router.c - routing rules on a real store, and the router's sockets
 * (ingest, publish, replay, queries) driven over ZeroMQ ipc endpoints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>
#include <pthread.h>
#include <zmq.h>

#include "gateway/err.h"
#include "proto/wire.h"
#include "router/router.h"
#include "store/store.h"

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/gw-test-router-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void rm_rf(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void make_message(struct proto_event *ev, const char *ext, const char *from)
{
	assert_int_equal(proto_event_init(ev, PROTO_T_MESSAGE_RECEIVED), GW_OK);
	ev->u.message.channel = strdup("api");
	ev->u.message.account = strdup("api");
	ev->u.message.external_id = strdup(ext);
	ev->u.message.received_at = 1700000000000;
	ev->u.message.from.address = strdup(from);
	ev->u.message.text = strdup("hello");
}

static enum route_result route(struct store *st, struct batch *b, const char *ext,
			       const char *from, uint64_t *ticket)
{
	struct proto_event ev;
	enum route_result res;

	make_message(&ev, ext, from);
	assert_int_equal(store_txn_begin(st, 0, &b->txn), GW_OK);
	assert_int_equal(route_message(b, &ev, &res), GW_OK);
	assert_int_equal(store_txn_commit(b->txn), GW_OK);
	*ticket = ev.u.message.ticket_id;
	proto_event_clear(&ev);
	return res;
}

static void test_route_rules(void **state)
{
	char *dir = make_tmpdir();
	struct store *st;
	struct batch b = {0};
	uint64_t t1, t2, t3;

	(void)state;
	assert_int_equal(store_open(dir, 64u << 20, &st), GW_OK);
	/* First message: customer.created, ticket.created, message.received. */
	assert_int_equal(route(st, &b, "m1", "+1555", &t1), ROUTE_STORED);
	assert_int_equal(b.nev, 3);
	assert_string_equal(b.ev[0].type, "customer.created");
	assert_string_equal(b.ev[1].type, "ticket.created");
	assert_string_equal(b.ev[2].type, "message.received");
	assert_int_equal(b.head, 3);
	batch_reset(&b);
	/* Same sender: appended to the open ticket, which is updated. */
	assert_int_equal(route(st, &b, "m2", "+1555", &t2), ROUTE_STORED);
	assert_int_equal(b.nev, 2);
	assert_string_equal(b.ev[0].type, "message.received");
	assert_string_equal(b.ev[1].type, "ticket.updated");
	assert_int_equal(t2, t1);
	batch_reset(&b);
	/* The same id again: a duplicate, nothing emitted. */
	assert_int_equal(route(st, &b, "m1", "+1555", &t2), ROUTE_DUPLICATE);
	assert_int_equal(b.nev, 0);
	assert_int_equal(b.head, 5);
	/* Another sender: another customer and ticket. */
	assert_int_equal(route(st, &b, "m3", "+1666", &t3), ROUTE_STORED);
	assert_int_not_equal(t3, t1);
	assert_int_equal(b.nev, 3);
	batch_reset(&b);
	free(b.ev);
	store_close(st);
	rm_rf(dir);
	free(dir);
}

/* --- the router over its sockets --------------------------------------- */

struct fixture {
	char *dir;
	char ingest[256], publish[256], command[256];
	struct gw_config cfg;
	struct router *r;
	pthread_t thread;
	volatile int stop;
	void *zctx;
};

static void *router_thread(void *arg)
{
	struct fixture *fx = arg;

	router_run(fx->r, &fx->stop);
	return NULL;
}

static void fixture_start(struct fixture *fx)
{
	snprintf(fx->ingest, sizeof(fx->ingest), "ipc://%s/ingest", fx->dir);
	snprintf(fx->publish, sizeof(fx->publish), "ipc://%s/pub", fx->dir);
	snprintf(fx->command, sizeof(fx->command), "ipc://%s/cmd", fx->dir);
	memset(&fx->cfg, 0, sizeof(fx->cfg));
	fx->cfg.state_dir = fx->dir;
	fx->cfg.router.ingest = fx->ingest;
	fx->cfg.router.publish = fx->publish;
	fx->cfg.router.command = fx->command;
	fx->cfg.router.batch_max = 64;
	fx->cfg.router.heartbeat_ms = 100;
	fx->cfg.router.map_size_mb = 64;
	fx->cfg.router.publish_hwm = 100000;
	fx->stop = 0;
	assert_int_equal(router_create(&fx->cfg, &fx->r), GW_OK);
	assert_int_equal(pthread_create(&fx->thread, NULL, router_thread, fx), 0);
}

static void fixture_stop(struct fixture *fx)
{
	fx->stop = 1;
	pthread_join(fx->thread, NULL);
	router_destroy(fx->r);
	fx->r = NULL;
}

static void *zsock(struct fixture *fx, int type, const char *endpoint)
{
	void *s = zmq_socket(fx->zctx, type);
	int zero = 0, timeout = 5000;

	assert_non_null(s);
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
	if (type == ZMQ_SUB)
		zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
	assert_int_equal(zmq_connect(s, endpoint), 0);
	return s;
}

static void send_message(void *dealer, uint64_t key, const char *ext, const char *from)
{
	struct proto_event ev;
	unsigned char kb[8];
	char *data;
	size_t len;

	make_message(&ev, ext, from);
	assert_int_equal(proto_encode(&ev, &data, &len, NULL), GW_OK);
	for (int i = 0; i < 8; i++)
		kb[i] = (unsigned char)(key >> (56 - 8 * i));
	zmq_send(dealer, "msg", 3, ZMQ_SNDMORE);
	zmq_send(dealer, kb, 8, ZMQ_SNDMORE);
	zmq_send(dealer, data, len, 0);
	free(data);
	proto_event_clear(&ev);
}

/* recv_ack - the result frame of the next ack, as a static string. */
static const char *recv_ack(void *dealer, uint64_t want_key)
{
	static char result[32];
	unsigned char buf[64];
	int n;

	n = zmq_recv(dealer, buf, sizeof(buf), 0);
	assert_int_equal(n, 3);
	n = zmq_recv(dealer, buf, sizeof(buf), 0);
	assert_int_equal(n, 8);
	assert_int_equal(buf[7], (unsigned char)want_key);
	n = zmq_recv(dealer, result, sizeof(result) - 1, 0);
	assert_true(n > 0);
	result[n] = '\0';
	n = zmq_recv(dealer, buf, sizeof(buf), 0);
	assert_true(n >= 0);
	return result;
}

static void test_router_sockets(void **state)
{
	struct fixture fx = {0};
	void *dealer, *req;
	char frame[256];
	unsigned char mp[64];
	size_t off = 0;
	int n, more;
	size_t more_len = sizeof(more);
	msgpack_sbuffer sb;
	msgpack_packer pk;

	(void)state;
	fx.dir = make_tmpdir();
	fx.zctx = zmq_ctx_new();
	fixture_start(&fx);
	dealer = zsock(&fx, ZMQ_DEALER, fx.ingest);
	send_message(dealer, 1, "a1", "+1");
	assert_string_equal(recv_ack(dealer, 1), WIRE_RESULT_STORED);
	send_message(dealer, 2, "a1", "+1");
	assert_string_equal(recv_ack(dealer, 2), WIRE_RESULT_DUPLICATE);
	/* Garbage is rejected, not stored, and the router keeps serving. */
	zmq_send(dealer, "msg", 3, ZMQ_SNDMORE);
	zmq_send(dealer, "\0\0\0\0\0\0\0\3", 8, ZMQ_SNDMORE);
	zmq_send(dealer, "\xc1", 1, 0);
	assert_string_equal(recv_ack(dealer, 3), WIRE_RESULT_REJECTED);
	send_message(dealer, 4, "a2", "+1");
	assert_string_equal(recv_ack(dealer, 4), WIRE_RESULT_STORED);

	/* Replay from 2 returns seqs 2..5: ticket.created, message.received,
	 * message.received, ticket.updated. */
	req = zsock(&fx, ZMQ_REQ, fx.command);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "from", 4);
	msgpack_pack_uint64(&pk, 2);
	zmq_send(req, "replay", 6, ZMQ_SNDMORE);
	zmq_send(req, sb.data, sb.size, 0);
	msgpack_sbuffer_destroy(&sb);
	n = zmq_recv(req, frame, sizeof(frame), 0);
	assert_int_equal(n, 2);
	n = zmq_recv(req, mp, sizeof(mp), 0);
	assert_true(n > 0);
	(void)off;
	int events = 0;
	for (;;) {
		zmq_getsockopt(req, ZMQ_RCVMORE, &more, &more_len);
		if (!more)
			break;
		n = zmq_recv(req, frame, sizeof(frame) - 1, 0);
		assert_true(n > 0);
		frame[n] = '\0';
		if (events == 0)
			assert_string_equal(frame, "ticket.created");
		zmq_getsockopt(req, ZMQ_RCVMORE, &more, &more_len);
		assert_true(more);
		n = zmq_recv(req, frame, sizeof(frame), 0);
		assert_true(n > 0);
		events++;
	}
	assert_int_equal(events, 4);

	/* An unknown ticket is a clear error. */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "id", 2);
	msgpack_pack_uint64(&pk, 99);
	zmq_send(req, "ticket.get", 10, ZMQ_SNDMORE);
	zmq_send(req, sb.data, sb.size, 0);
	msgpack_sbuffer_destroy(&sb);
	n = zmq_recv(req, frame, sizeof(frame), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(frame, "error", 5);
	zmq_recv(req, frame, sizeof(frame), 0);

	zmq_close(dealer);
	zmq_close(req);
	fixture_stop(&fx);
	zmq_ctx_term(fx.zctx);
	rm_rf(fx.dir);
	free(fx.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_rules),
		cmocka_unit_test(test_router_sockets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

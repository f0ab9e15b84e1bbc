/*
 * test_outbox.c - the connector's durable hand-off, against a ROUTER socket
 * played by the test: commit, send, ack, delete, resend after silence, and
 * resend of the spool after a restart; the asynchronous commit on the
 * commit thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include "connectors/outbox.h"
#include "core/err.h"
#include "core/util.h"
#include "proto/wire.h"
#include "tests/unit/testutil.h"

struct fx {
	char dir[64];
	char spool[128];
	char endpoint[160];
	void *zctx, *router;
	struct outbox_options opt;
};

static void fx_init(struct fx *f)
{
	int zero = 0;

	test_tmpdir(f->dir, sizeof(f->dir), "outbox");
	snprintf(f->spool, sizeof(f->spool), "%s/spool", f->dir);
	snprintf(f->endpoint, sizeof(f->endpoint), "ipc://%s/ingest", f->dir);
	f->zctx = zmq_ctx_new();
	f->router = zmq_socket(f->zctx, ZMQ_ROUTER);
	zmq_setsockopt(f->router, ZMQ_LINGER, &zero, sizeof(zero));
	assert_int_equal(zmq_bind(f->router, f->endpoint), 0);
	f->opt.dir = f->spool;
	f->opt.endpoint = f->endpoint;
	f->opt.log_module = "test";
	f->opt.max_entries = 100;
	f->opt.max_inflight = 16;
	f->opt.resend_ms = 200;
	f->opt.map_size = 16u << 20;
}

static void fx_done(struct fx *f)
{
	zmq_close(f->router);
	zmq_ctx_term(f->zctx);
	test_rmtree(f->dir);
}

/* A received "msg": the peer id and the spool key. */
struct got {
	unsigned char peer[256];
	size_t peer_len;
	unsigned char key[8];
	char body[64];
};

/* recv_msg - pumps the outbox until the router side has a message or the
 * deadline passes; returns 1 if one arrived. */
static int recv_msg(struct fx *f, struct outbox *ob, struct got *g, int timeout_ms)
{
	int64_t end = gw_mono_us() + (int64_t)timeout_ms * 1000;

	while (gw_mono_us() < end) {
		zmq_pollitem_t it = {f->router, 0, ZMQ_POLLIN, 0};

		outbox_pump(ob);
		if (zmq_poll(&it, 1, 10) > 0) {
			char tag[8];
			int n;

			n = zmq_recv(f->router, g->peer, sizeof(g->peer), 0);
			g->peer_len = (size_t)n;
			assert_int_equal(zmq_recv(f->router, tag, sizeof(tag), 0), 3);
			assert_int_equal(zmq_recv(f->router, g->key, 8, 0), 8);
			n = zmq_recv(f->router, g->body, sizeof(g->body) - 1, 0);
			g->body[n] = '\0';
			return 1;
		}
	}
	return 0;
}

static void send_ack(struct fx *f, const struct got *g, const char *result)
{
	zmq_send(f->router, g->peer, g->peer_len, ZMQ_SNDMORE);
	zmq_send(f->router, "ack", 3, ZMQ_SNDMORE);
	zmq_send(f->router, g->key, 8, ZMQ_SNDMORE);
	zmq_send(f->router, result, strlen(result), ZMQ_SNDMORE);
	zmq_send(f->router, "", 0, 0);
}

/* pump_until_spooled - pumps until the spool holds `want` entries. */
static void pump_until_spooled(struct outbox *ob, uint64_t want)
{
	struct outbox_stats st;
	int64_t end = gw_mono_us() + 3000000;

	do {
		outbox_pump(ob);
		outbox_get_stats(ob, &st);
		if (st.spooled == want)
			return;
		zmq_poll(NULL, 0, 10);
	} while (gw_mono_us() < end);
	fail_msg("spool holds %llu entries, expected %llu", (unsigned long long)st.spooled,
		 (unsigned long long)want);
}

static void test_commit_send_ack(void **state)
{
	struct fx f = {0};
	struct outbox *ob;
	struct got g;
	struct outbox_stats st;

	(void)state;
	fx_init(&f);
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	assert_int_equal(outbox_add(ob, "one", 3), GW_OK);
	assert_int_equal(outbox_add(ob, "two", 3), GW_OK);
	assert_int_equal(outbox_queued(ob), 2);
	assert_int_equal(outbox_commit(ob), GW_OK);
	outbox_get_stats(ob, &st);
	assert_int_equal(st.spooled, 2);
	assert_true(recv_msg(&f, ob, &g, 2000));
	assert_string_equal(g.body, "one");
	send_ack(&f, &g, WIRE_RESULT_STORED);
	assert_true(recv_msg(&f, ob, &g, 2000));
	assert_string_equal(g.body, "two");
	send_ack(&f, &g, WIRE_RESULT_DUPLICATE);
	pump_until_spooled(ob, 0);
	outbox_get_stats(ob, &st);
	assert_int_equal(st.acked, 2);
	assert_int_equal(st.duplicates, 1);
	outbox_close(ob);
	fx_done(&f);
}

static void test_resend_after_silence_and_restart(void **state)
{
	struct fx f = {0};
	struct outbox *ob;
	struct got g;
	struct outbox_stats st;

	(void)state;
	fx_init(&f);
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	assert_int_equal(outbox_add(ob, "lost", 4), GW_OK);
	assert_int_equal(outbox_commit(ob), GW_OK);
	assert_true(recv_msg(&f, ob, &g, 2000));
	assert_string_equal(g.body, "lost");
	/* No answer: after resend_ms it comes again. */
	assert_true(recv_msg(&f, ob, &g, 2000));
	assert_string_equal(g.body, "lost");
	outbox_get_stats(ob, &st);
	assert_true(st.resent >= 1);
	/* A restart of the connector: the spooled entry is sent again. */
	outbox_close(ob);
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	assert_true(recv_msg(&f, ob, &g, 2000));
	assert_string_equal(g.body, "lost");
	send_ack(&f, &g, WIRE_RESULT_STORED);
	pump_until_spooled(ob, 0);
	outbox_close(ob);
	/* Nothing left to send after the next restart. */
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	assert_false(recv_msg(&f, ob, &g, 400));
	outbox_close(ob);
	fx_done(&f);
}

static void test_bounds(void **state)
{
	struct fx f = {0};
	struct outbox *ob;

	(void)state;
	fx_init(&f);
	f.opt.max_entries = 3;
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	assert_int_equal(outbox_add(ob, "", 0), GW_ETOOBIG);
	for (int i = 0; i < 3; i++)
		assert_int_equal(outbox_add(ob, "x", 1), GW_OK);
	assert_int_equal(outbox_add(ob, "x", 1), GW_EFULL);
	assert_int_equal(outbox_commit(ob), GW_OK);
	/* Still full: three are spooled and unacknowledged. */
	assert_int_equal(outbox_add(ob, "x", 1), GW_EFULL);
	outbox_close(ob);
	fx_done(&f);
}

/*
 * A request's events are queued whole or not at all: a failed add rolls
 * the queue back to the request's mark, and only what was before the mark
 * is committed and sent.
 */
static void test_rollback(void **state)
{
	struct fx f = {0};
	struct outbox *ob;
	struct outbox_stats st;
	struct got g;
	size_t mark;

	(void)state;
	fx_init(&f);
	f.opt.max_entries = 4;
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	assert_int_equal(outbox_add(ob, "kept", 4), GW_OK);
	mark = outbox_queued(ob);
	assert_int_equal(mark, 1);
	assert_int_equal(outbox_add(ob, "a", 1), GW_OK);
	assert_int_equal(outbox_add(ob, "b", 1), GW_OK);
	assert_int_equal(outbox_add(ob, "c", 1), GW_OK);
	assert_int_equal(outbox_add(ob, "d", 1), GW_EFULL);
	outbox_rollback(ob, mark);
	assert_int_equal(outbox_queued(ob), 1);
	outbox_get_stats(ob, &st);
	assert_int_equal(st.queued, 1);
	/* A mark past the queue changes nothing; the freed room is usable. */
	outbox_rollback(ob, 10);
	assert_int_equal(outbox_queued(ob), 1);
	assert_int_equal(outbox_add(ob, "e", 1), GW_OK);
	outbox_rollback(ob, mark);
	assert_int_equal(outbox_commit(ob), GW_OK);
	outbox_get_stats(ob, &st);
	assert_int_equal(st.spooled, 1);
	assert_int_equal(st.committed, 1);
	assert_true(recv_msg(&f, ob, &g, 2000));
	assert_string_equal(g.body, "kept");
	send_ack(&f, &g, WIRE_RESULT_STORED);
	pump_until_spooled(ob, 0);
	assert_false(recv_msg(&f, ob, &g, 300));
	outbox_close(ob);
	fx_done(&f);
}

/* --- replies: hello, deliver, report ---------------------------------- */

/* A message the router side read: its frames after the peer id. */
struct frames {
	unsigned char peer[256];
	size_t peer_len;
	int n;
	char f[6][300];
	size_t len[6];
};

/* recv_tagged - pumps until the router side reads a message whose first
 * frame is `tag`, skipping others; 1 when one arrived in time. */
static int recv_tagged(struct fx *f, struct outbox *ob, const char *tag, struct frames *m,
		       int timeout_ms)
{
	int64_t end = gw_mono_us() + (int64_t)timeout_ms * 1000;

	while (gw_mono_us() < end) {
		zmq_pollitem_t it = {f->router, 0, ZMQ_POLLIN, 0};
		int more = 1, n;

		outbox_pump(ob);
		if (zmq_poll(&it, 1, 10) <= 0)
			continue;
		n = zmq_recv(f->router, m->peer, sizeof(m->peer), 0);
		m->peer_len = (size_t)n;
		m->n = 0;
		while (more) {
			size_t sz = sizeof(more);
			char spare[300];
			char *dst = m->n < 6 ? m->f[m->n] : spare;

			n = zmq_recv(f->router, dst, 299, 0);
			dst[n > 299 ? 299 : n] = '\0';
			if (m->n < 6)
				m->len[m->n++] = (size_t)n;
			zmq_getsockopt(f->router, ZMQ_RCVMORE, &more, &sz);
		}
		if (strcmp(m->f[0], tag) == 0)
			return 1;
	}
	return 0;
}

static void send_deliver(struct fx *f, const struct frames *peer, uint64_t id, const char *ev)
{
	unsigned char kb[8];

	for (int i = 7; i >= 0; i--, id >>= 8)
		kb[i] = (unsigned char)(id & 0xff);
	zmq_send(f->router, peer->peer, peer->peer_len, ZMQ_SNDMORE);
	zmq_send(f->router, WIRE_INGEST_DELIVER, strlen(WIRE_INGEST_DELIVER), ZMQ_SNDMORE);
	zmq_send(f->router, kb, 8, ZMQ_SNDMORE);
	zmq_send(f->router, ev, strlen(ev), 0);
}

static uint64_t frame_id(const struct frames *m)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | (unsigned char)m->f[1][i];
	return v;
}

struct taken {
	int calls;
	uint64_t id;
	char event[64];
	int rc;
};

static int take_delivery(void *arg, const void *event, size_t len, uint64_t id)
{
	struct taken *t = arg;

	t->calls++;
	t->id = id;
	snprintf(t->event, sizeof(t->event), "%.*s", (int)len, (const char *)event);
	return t->rc;
}

/* The outbox says hello with its instance and channel, and again later. */
static void test_hello(void **state)
{
	struct fx f = {0};
	struct outbox *ob;
	struct frames m;

	(void)state;
	fx_init(&f);
	f.opt.instance = "site";
	f.opt.channel = "livechat";
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	assert_true(recv_tagged(&f, ob, WIRE_INGEST_HELLO, &m, 2000));
	assert_int_equal(m.n, 3);
	assert_string_equal(m.f[1], "site");
	assert_string_equal(m.f[2], "livechat");
	assert_true(recv_tagged(&f, ob, WIRE_INGEST_HELLO, &m, 5000));
	outbox_close(ob);
	fx_done(&f);
}

/* outbox_serve: each pair is announced as one more hello from the same
 * socket, at once and with every hello after; bad or extra pairs refused. */
static void test_hello_serves(void **state)
{
	struct fx f = {0};
	struct outbox *ob;
	struct frames m, pair;
	char acct[16];

	(void)state;
	fx_init(&f);
	f.opt.instance = "meta";
	f.opt.channel = "meta";
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	assert_true(recv_tagged(&f, ob, WIRE_INGEST_HELLO, &m, 2000));
	assert_string_equal(m.f[1], "meta");
	assert_int_equal(outbox_serve(ob, "whatsapp", "1122334455667"), GW_OK);
	assert_int_equal(outbox_serve(ob, "whatsapp", "1122334455667"), GW_OK);
	assert_int_equal(outbox_serve(ob, "", "x"), GW_EINVAL);
	assert_true(recv_tagged(&f, ob, WIRE_INGEST_HELLO, &m, 2000));
	assert_string_equal(m.f[1], "meta");
	assert_true(recv_tagged(&f, ob, WIRE_INGEST_HELLO, &pair, 2000));
	assert_int_equal(pair.n, 3);
	assert_string_equal(pair.f[1], "1122334455667");
	assert_string_equal(pair.f[2], "whatsapp");
	assert_int_equal(pair.peer_len, m.peer_len);
	assert_memory_equal(pair.peer, m.peer, m.peer_len);
	for (int i = 1; i < 64; i++) {
		snprintf(acct, sizeof(acct), "page%d", i);
		assert_int_equal(outbox_serve(ob, "messenger", acct), GW_OK);
	}
	assert_int_equal(outbox_serve(ob, "messenger", "one-too-many"), GW_EFULL);
	outbox_close(ob);
	fx_done(&f);
}

/* A delivery reaches the callback; its report goes back to the router. A
 * refused delivery is reported failed with the reason. */
static void test_deliver_report(void **state)
{
	struct fx f = {0};
	struct outbox *ob;
	struct frames m, hello;
	struct taken t = {0};
	struct outbox_stats st;

	(void)state;
	fx_init(&f);
	f.opt.instance = "site";
	f.opt.channel = "livechat";
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	outbox_set_deliver(ob, take_delivery, &t);
	assert_true(recv_tagged(&f, ob, WIRE_INGEST_HELLO, &hello, 2000));
	send_deliver(&f, &hello, 42, "event-bytes");
	for (int i = 0; i < 200 && t.calls == 0; i++) {
		outbox_pump(ob);
		zmq_poll(NULL, 0, 5);
	}
	assert_int_equal(t.calls, 1);
	assert_int_equal(t.id, 42);
	assert_string_equal(t.event, "event-bytes");
	assert_int_equal(outbox_report(ob, 42, "sending", NULL), GW_EINVAL);
	assert_int_equal(outbox_report(ob, 42, "sent", NULL), GW_OK);
	assert_true(recv_tagged(&f, ob, WIRE_INGEST_REPORT, &m, 2000));
	assert_int_equal(m.n, 6);
	assert_int_equal(m.len[1], 8);
	assert_int_equal(frame_id(&m), 42);
	assert_string_equal(m.f[2], "sent");
	assert_string_equal(m.f[3], "");
	assert_string_equal(m.f[4], "");
	assert_string_equal(m.f[5], "");
	/* The provider's id of the reply travels with the report. */
	assert_int_equal(outbox_report_ref(ob, 42, "delivered", NULL, "15550001", "wamid.AB=="),
			 GW_OK);
	assert_true(recv_tagged(&f, ob, WIRE_INGEST_REPORT, &m, 2000));
	assert_string_equal(m.f[2], "delivered");
	assert_string_equal(m.f[4], "15550001");
	assert_string_equal(m.f[5], "wamid.AB==");
	assert_int_equal(outbox_report_ref(ob, 42, "sent", NULL, "a", "\xff\xfe"), GW_EINVAL);
	/* A busy connector takes nothing and reports nothing: handed over again. */
	t.rc = GW_EFULL;
	send_deliver(&f, &hello, 44, "busy");
	assert_false(recv_tagged(&f, ob, WIRE_INGEST_REPORT, &m, 300));
	assert_int_equal(t.id, 44);
	t.rc = GW_EINVAL;
	send_deliver(&f, &hello, 43, "x");
	assert_true(recv_tagged(&f, ob, WIRE_INGEST_REPORT, &m, 2000));
	assert_int_equal(frame_id(&m), 43);
	assert_string_equal(m.f[2], "failed");
	assert_non_null(strstr(m.f[3], "refused"));
	outbox_get_stats(ob, &st);
	assert_int_equal(st.delivered, 3);
	assert_int_equal(st.reports, 3);
	outbox_close(ob);
	fx_done(&f);
}

/* Without a callback, every delivery is reported failed at once. */
static void test_deliver_unsupported(void **state)
{
	struct fx f = {0};
	struct outbox *ob;
	struct frames m, hello;

	(void)state;
	fx_init(&f);
	f.opt.instance = "web";
	f.opt.channel = "api";
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	assert_true(recv_tagged(&f, ob, WIRE_INGEST_HELLO, &hello, 2000));
	send_deliver(&f, &hello, 7, "e");
	assert_true(recv_tagged(&f, ob, WIRE_INGEST_REPORT, &m, 2000));
	assert_int_equal(frame_id(&m), 7);
	assert_string_equal(m.f[2], "failed");
	assert_string_equal(m.f[3], "channel api cannot send replies yet");
	outbox_close(ob);
	fx_done(&f);
}

/* A long reason is cut on a UTF-8 boundary, so the router can read it. */
static void test_report_reason_cut(void **state)
{
	struct fx f = {0};
	struct outbox *ob;
	struct frames m, hello;
	char reason[1024];
	size_t n = 0;

	(void)state;
	fx_init(&f);
	f.opt.instance = "web";
	f.opt.channel = "api";
	/* 300 "é": the 255-byte cut falls inside the 128th. */
	for (int i = 0; i < 300; i++) {
		reason[n++] = (char)0xc3;
		reason[n++] = (char)0xa9;
	}
	reason[n] = '\0';
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	assert_true(recv_tagged(&f, ob, WIRE_INGEST_HELLO, &hello, 2000));
	assert_int_equal(outbox_report(ob, 9, "failed", reason), GW_OK);
	assert_true(recv_tagged(&f, ob, WIRE_INGEST_REPORT, &m, 2000));
	assert_int_equal(m.len[3], 254); /* 127 whole 2-byte sequences */
	assert_int_equal((unsigned char)m.f[3][m.len[3] - 1], 0xa9);
	outbox_close(ob);
	fx_done(&f);
}

/* The report queue is bounded. */
static void test_report_bound(void **state)
{
	struct fx f = {0};
	struct outbox *ob;
	int rc = GW_OK, n = 0;

	(void)state;
	fx_init(&f);
	/* Pointed at nothing: reports cannot leave, so they pile up. */
	snprintf(f.endpoint, sizeof(f.endpoint), "ipc://%s/nobody", f.dir);
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	while (rc == GW_OK && n < 100000) {
		rc = outbox_report(ob, (uint64_t)n, "read", NULL);
		n++;
	}
	assert_int_equal(rc, GW_EFULL);
	assert_true(n > 1 && n < 100000);
	outbox_close(ob);
	fx_done(&f);
}

/* ---- asynchronous commit ------------------------------------------------ */

static atomic_int wakes;

static void count_wake(void *arg)
{
	(void)arg;
	atomic_fetch_add(&wakes, 1);
}

/* poll_commit - polls until the commit in flight has ended; its rc. */
static int poll_commit(struct outbox *ob)
{
	int64_t end = gw_mono_us() + 3000000;
	int rc = -1;

	while (!outbox_commit_poll(ob, &rc)) {
		if (gw_mono_us() > end)
			fail_msg("the commit in flight never ended");
		zmq_poll(NULL, 0, 1);
	}
	return rc;
}

static void test_async_commit(void **state)
{
	struct fx f = {0};
	struct outbox *ob;
	struct outbox_stats st;
	struct got g1, g2, g3;
	int started = -1, rc;

	(void)state;
	fx_init(&f);
	atomic_store(&wakes, 0);
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	outbox_set_wake(ob, count_wake, NULL);
	/* Nothing queued: nothing started, nothing to poll. */
	assert_int_equal(outbox_commit_start(ob, &started), GW_OK);
	assert_int_equal(started, 0);
	assert_int_equal(outbox_commit_poll(ob, &rc), 0);

	assert_int_equal(outbox_add(ob, "one", 3), GW_OK);
	assert_int_equal(outbox_add(ob, "two", 3), GW_OK);
	assert_int_equal(outbox_commit_start(ob, &started), GW_OK);
	assert_int_equal(started, 1);
	/* What is added meanwhile waits for the next commit. */
	assert_int_equal(outbox_add(ob, "three", 5), GW_OK);
	assert_int_equal(outbox_queued(ob), 1);
	assert_int_equal(outbox_commit_start(ob, &started), GW_EAGAIN);
	assert_int_equal(poll_commit(ob), GW_OK);
	assert_true(atomic_load(&wakes) >= 1);
	assert_int_equal(outbox_commit_poll(ob, &rc), 0); /* reported once */
	outbox_get_stats(ob, &st);
	assert_int_equal(st.committed, 2);
	assert_int_equal(st.spooled, 2);
	assert_int_equal(st.queued, 1);

	/* Only committed entries are sent: "three" is not yet. */
	assert_true(recv_msg(&f, ob, &g1, 2000));
	assert_string_equal(g1.body, "one");
	assert_true(recv_msg(&f, ob, &g2, 2000));
	assert_string_equal(g2.body, "two");
	assert_false(recv_msg(&f, ob, &g3, 100));

	/* The acknowledged keys are deleted by the next commit. */
	send_ack(&f, &g1, WIRE_RESULT_STORED);
	send_ack(&f, &g2, WIRE_RESULT_STORED);
	for (int i = 0; i < 20; i++) {
		outbox_pump(ob);
		zmq_poll(NULL, 0, 2);
	}
	assert_int_equal(outbox_commit_start(ob, &started), GW_OK);
	assert_int_equal(started, 1);
	assert_int_equal(poll_commit(ob), GW_OK);
	outbox_get_stats(ob, &st);
	assert_int_equal(st.committed, 3);
	assert_int_equal(st.acked, 2);
	assert_int_equal(st.spooled, 1);
	assert_true(recv_msg(&f, ob, &g3, 2000));
	assert_string_equal(g3.body, "three");

	/* Unacknowledged, it is durable: sent again after a restart. */
	outbox_close(ob);
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	outbox_get_stats(ob, &st);
	assert_int_equal(st.spooled, 1);
	assert_true(recv_msg(&f, ob, &g3, 2000));
	assert_string_equal(g3.body, "three");
	outbox_close(ob);
	fx_done(&f);
}

/* A synchronous commit and a close wait for the commit in flight, whose
 * result is still reported. */
static void test_async_commit_then_sync_and_close(void **state)
{
	struct fx f = {0};
	struct outbox *ob;
	struct outbox_stats st;
	int started = 0, rc = -1;

	(void)state;
	fx_init(&f);
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	assert_int_equal(outbox_add(ob, "a", 1), GW_OK);
	assert_int_equal(outbox_commit_start(ob, &started), GW_OK);
	assert_int_equal(started, 1);
	assert_int_equal(outbox_add(ob, "b", 1), GW_OK);
	assert_int_equal(outbox_commit(ob), GW_OK);
	assert_int_equal(outbox_commit_poll(ob, &rc), 1);
	assert_int_equal(rc, GW_OK);
	outbox_get_stats(ob, &st);
	assert_int_equal(st.committed, 2);
	assert_int_equal(st.spooled, 2);

	/* Closed with a commit in flight: it still lands. */
	assert_int_equal(outbox_add(ob, "c", 1), GW_OK);
	assert_int_equal(outbox_commit_start(ob, &started), GW_OK);
	outbox_close(ob);
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	outbox_get_stats(ob, &st);
	assert_int_equal(st.spooled, 3);
	outbox_close(ob);
	fx_done(&f);
}

/* A commit that fails on the thread (the spool's map is full) is reported
 * by the poll; none of its events is kept, and the outbox goes on. */
static void test_async_commit_failure(void **state)
{
	struct fx f = {0};
	struct outbox *ob;
	struct outbox_stats st;
	size_t big = 256 * 1024;
	char *blob = malloc(big);
	int started = 0;

	(void)state;
	assert_non_null(blob);
	memset(blob, 'x', big);
	fx_init(&f);
	f.opt.map_size = 1u << 20; /* 1 MiB: four 256 KiB events cannot fit */
	assert_int_equal(outbox_open(&f.opt, &ob), GW_OK);
	for (int i = 0; i < 4; i++)
		assert_int_equal(outbox_add(ob, blob, big), GW_OK);
	assert_int_equal(outbox_commit_start(ob, &started), GW_OK);
	assert_int_equal(started, 1);
	assert_int_equal(poll_commit(ob), GW_EFULL);
	outbox_get_stats(ob, &st);
	assert_int_equal(st.committed, 0);
	assert_int_equal(st.spooled, 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(outbox_add(ob, "small", 5), GW_OK);
	assert_int_equal(outbox_commit_start(ob, &started), GW_OK);
	assert_int_equal(poll_commit(ob), GW_OK);
	outbox_get_stats(ob, &st);
	assert_int_equal(st.committed, 1);
	assert_int_equal(st.spooled, 1);
	outbox_close(ob);
	fx_done(&f);
	free(blob);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_send_ack),
		cmocka_unit_test(test_async_commit),
		cmocka_unit_test(test_async_commit_then_sync_and_close),
		cmocka_unit_test(test_async_commit_failure),
		cmocka_unit_test(test_resend_after_silence_and_restart),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_hello_serves),
		cmocka_unit_test(test_deliver_report),
		cmocka_unit_test(test_deliver_unsupported),
		cmocka_unit_test(test_report_bound),
		cmocka_unit_test(test_report_reason_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_commit.c - the connectors' group commit (connectors/commit.h) on a
 * real outbox and its commit thread: many waiters batched into one
 * commit, those registered meanwhile left for the next, a failing commit
 * told to every waiter of it, cancel, flush, and close with waiters
 * pending (nothing lost, each waiter called once).
 */
#include <pthread.h>
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

#include "connectors/commit.h"
#include "connectors/outbox.h"
#include "core/err.h"
#include "core/util.h"
#include "tests/unit/testutil.h"

#define NW 64

struct fx {
	char dir[64];
	char spool[128];
	char endpoint[160];
	struct outbox_options opt;
	struct outbox *ob;
	struct gcommit *gc;
	atomic_int wakes;
	int schedules;
	atomic_int afters;         /* after calls (one per commit) */
	atomic_size_t after_n[8];  /* the batch size of each */
	int after_rc;              /* what after returns */
	pthread_t owner;
	atomic_int after_on_owner; /* after calls on the owner's thread */
};

/* A waiter of the test: done records its rc and the order of the calls. */
struct tw {
	struct gcommit_waiter w;
	int calls;
	int rc;
	int order;
};

static int order_next;

static void tw_done(struct gcommit_waiter *w, int rc)
{
	struct tw *t = (struct tw *)(void *)((char *)w - offsetof(struct tw, w));

	t->calls++;
	t->rc = rc;
	t->order = order_next++;
}

static void fx_wake(void *arg)
{
	struct fx *f = arg;

	atomic_fetch_add(&f->wakes, 1);
}

static void fx_schedule(void *arg)
{
	struct fx *f = arg;

	f->schedules++;
}

static int fx_after(void *arg, struct gcommit_waiter *const *w, size_t n)
{
	struct fx *f = arg;
	int i = atomic_fetch_add(&f->afters, 1);

	if (pthread_equal(pthread_self(), f->owner))
		atomic_fetch_add(&f->after_on_owner, 1);

	for (size_t k = 0; k < n; k++)
		assert_non_null(w[k]);
	if (i < 8)
		atomic_store(&f->after_n[i], n);
	return f->after_rc;
}

static void fx_open_outbox(struct fx *f)
{
	assert_int_equal(outbox_open(&f->opt, &f->ob), GW_OK);
}

static void fx_init(struct fx *f, int with_after)
{
	struct gcommit_options g = {
		.log_module = "test",
		.arg = f,
		.wake = fx_wake,
		.schedule = fx_schedule,
		.after = with_after ? fx_after : NULL,
	};

	memset(f, 0, sizeof(*f));
	test_tmpdir(f->dir, sizeof(f->dir), "commit");
	snprintf(f->spool, sizeof(f->spool), "%s/spool", f->dir);
	/* Nobody listens: entries stay in the spool (ZMQ_IMMEDIATE). */
	snprintf(f->endpoint, sizeof(f->endpoint), "ipc://%s/ingest", f->dir);
	f->opt.dir = f->spool;
	f->opt.endpoint = f->endpoint;
	f->opt.log_module = "test";
	f->opt.max_entries = 1000;
	f->opt.max_inflight = 16;
	f->opt.resend_ms = 200;
	f->opt.map_size = 16u << 20;
	f->owner = pthread_self();
	fx_open_outbox(f);
	g.outbox = f->ob;
	assert_int_equal(gcommit_create(&g, &f->gc), GW_OK);
	order_next = 0;
}

static void fx_done(struct fx *f)
{
	gcommit_close(f->gc);
	outbox_close(f->ob);
	test_rmtree(f->dir);
}

/* add_wait - one event, then a waiter for it. */
static void add_wait(struct fx *f, struct tw *t, const char *body)
{
	assert_int_equal(outbox_add(f->ob, body, strlen(body)), GW_OK);
	gcommit_wait(f->gc, &t->w, tw_done);
}

/* poll_until_ended - polls (as an owner's loop on its wake) until a
 * commit has ended. */
static void poll_until_ended(struct fx *f)
{
	int64_t end = gw_mono_us() + 5000000;

	while (!gcommit_poll(f->gc)) {
		if (gw_mono_us() > end)
			fail_msg("the commit in flight never ended");
		zmq_poll(NULL, 0, 1);
	}
	assert_true(atomic_load(&f->wakes) >= 1);
}

static uint64_t spooled(struct fx *f)
{
	struct outbox_stats st;

	outbox_get_stats(f->ob, &st);
	return st.spooled;
}

/* Many waiters of one loop round: one schedule, one commit, all called in
 * order with GW_OK; those registered during the flush wait for the next. */
static void test_batching(void **state)
{
	struct fx f;
	struct tw a[NW], b[10];
	char body[32];

	(void)state;
	fx_init(&f, 1);
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	for (int i = 0; i < NW; i++) {
		snprintf(body, sizeof(body), "a%d", i);
		add_wait(&f, &a[i], body);
	}
	assert_int_equal(f.schedules, 1);
	assert_int_equal(gcommit_waiting(f.gc), NW);
	assert_int_equal(gcommit_run(f.gc), GW_OK);
	assert_true(gcommit_in_flight(f.gc, &a[0].w));
	for (int i = 0; i < 10; i++) {
		snprintf(body, sizeof(body), "b%d", i);
		add_wait(&f, &b[i], body);
	}
	assert_false(gcommit_in_flight(f.gc, &b[0].w));
	assert_int_equal(f.schedules, 1); /* the end of the commit in flight starts it */
	poll_until_ended(&f);
	for (int i = 0; i < NW; i++) {
		assert_int_equal(a[i].calls, 1);
		assert_int_equal(a[i].rc, GW_OK);
		assert_int_equal(a[i].order, i);
	}
	for (int i = 0; i < 10; i++)
		assert_int_equal(b[i].calls, 0);
	assert_int_equal(atomic_load(&f.afters), 1);
	assert_int_equal(atomic_load(&f.after_n[0]), NW);
	assert_int_equal(spooled(&f), NW);
	/* The next commit was asked for at once, with what queued meanwhile. */
	assert_int_equal(f.schedules, 2);
	assert_int_equal(gcommit_run(f.gc), GW_OK);
	poll_until_ended(&f);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(b[i].calls, 1);
		assert_int_equal(b[i].rc, GW_OK);
	}
	assert_int_equal(atomic_load(&f.afters), 2);
	assert_int_equal(atomic_load(&f.after_n[1]), 10);
	assert_int_equal(spooled(&f), NW + 10);
	assert_int_equal(gcommit_waiting(f.gc), 0);
	assert_int_equal(atomic_load(&f.after_on_owner), 0);
	fx_done(&f);
}

/* The second step fails: every waiter of that commit hears it; the next
 * commit works again. */
static void test_after_fails(void **state)
{
	struct fx f;
	struct tw a[5], b;

	(void)state;
	fx_init(&f, 1);
	memset(a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	f.after_rc = GW_ESTORE;
	for (int i = 0; i < 5; i++)
		add_wait(&f, &a[i], "x");
	assert_int_equal(gcommit_run(f.gc), GW_OK);
	poll_until_ended(&f);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(a[i].calls, 1);
		assert_int_equal(a[i].rc, GW_ESTORE);
	}
	f.after_rc = GW_OK;
	add_wait(&f, &b, "y");
	assert_int_equal(gcommit_flush(f.gc), GW_OK);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.rc, GW_OK);
	fx_done(&f);
}

/* The spool's transaction fails (its map is full): every waiter of the
 * commit gets the error, none GW_OK. */
static void test_spool_fails(void **state)
{
	struct fx f;
	struct tw a[40];
	static char big[1800];

	(void)state;
	memset(big, 'z', sizeof(big) - 1);
	fx_init(&f, 0);
	/* Reopened on a map too small for the batch. */
	gcommit_close(f.gc);
	outbox_close(f.ob);
	test_rmtree(f.dir);
	test_tmpdir(f.dir, sizeof(f.dir), "commit");
	snprintf(f.spool, sizeof(f.spool), "%s/spool", f.dir);
	snprintf(f.endpoint, sizeof(f.endpoint), "ipc://%s/ingest", f.dir);
	f.opt.map_size = 64u << 10;
	fx_open_outbox(&f);
	{
		struct gcommit_options g = {.outbox = f.ob, .arg = &f, .wake = fx_wake};

		assert_int_equal(gcommit_create(&g, &f.gc), GW_OK);
	}
	memset(a, 0, sizeof(a));
	for (int i = 0; i < 40; i++)
		add_wait(&f, &a[i], big);
	assert_int_equal(gcommit_run(f.gc), GW_OK); /* no schedule set: the caller runs */
	poll_until_ended(&f);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(a[i].calls, 1);
		assert_true(a[i].rc == GW_EFULL || a[i].rc == GW_ESTORE);
	}
	assert_int_equal(spooled(&f), 0);
	fx_done(&f);
}

/* A cancelled waiter is never called; its event still commits. A waiter
 * with nothing queued is answered by the run at once. */
static void test_cancel_and_empty(void **state)
{
	struct fx f;
	struct tw a, b, c;

	(void)state;
	fx_init(&f, 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	add_wait(&f, &a, "a");
	add_wait(&f, &b, "b");
	gcommit_cancel(f.gc, &a.w);
	gcommit_cancel(f.gc, &a.w); /* twice: nothing */
	assert_int_equal(gcommit_waiting(f.gc), 1);
	assert_int_equal(gcommit_flush(f.gc), GW_OK);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(spooled(&f), 2);
	gcommit_wait(f.gc, &c.w, tw_done); /* nothing new queued */
	assert_int_equal(gcommit_run(f.gc), GW_OK);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.rc, GW_OK);
	fx_done(&f);
}

/* A waiter with no event of its own (a live-chat reply's log entry) still
 * gets the second step, on the commit thread, never on the owner's. */
static void test_after_without_events(void **state)
{
	struct fx f;
	struct tw a;

	(void)state;
	fx_init(&f, 1);
	memset(&a, 0, sizeof(a));
	gcommit_wait(f.gc, &a.w, tw_done);
	assert_int_equal(f.schedules, 1);
	assert_int_equal(gcommit_run(f.gc), GW_OK);
	assert_true(gcommit_in_flight(f.gc, &a.w));
	poll_until_ended(&f);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.rc, GW_OK);
	assert_int_equal(atomic_load(&f.afters), 1);
	assert_int_equal(atomic_load(&f.after_n[0]), 1);
	assert_int_equal(atomic_load(&f.after_on_owner), 0);
	assert_int_equal(spooled(&f), 0);
	/* The outbox still works: an event after it commits and counts. */
	add_wait(&f, &a, "x");
	assert_int_equal(gcommit_flush(f.gc), GW_OK);
	assert_int_equal(a.calls, 2);
	assert_int_equal(spooled(&f), 1);
	fx_done(&f);
}

/* Close with one commit in flight and more waiting: everything queued is
 * durable and each waiter is called exactly once. */
static void test_close_pending(void **state)
{
	struct fx f;
	struct tw a[5], b[3];
	struct outbox_stats st;

	(void)state;
	fx_init(&f, 1);
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	for (int i = 0; i < 5; i++)
		add_wait(&f, &a[i], "a");
	assert_int_equal(gcommit_run(f.gc), GW_OK);
	for (int i = 0; i < 3; i++)
		add_wait(&f, &b[i], "b");
	gcommit_close(f.gc);
	f.gc = NULL;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(a[i].calls, 1);
		assert_int_equal(a[i].rc, GW_OK);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(b[i].calls, 1);
		assert_int_equal(b[i].rc, GW_OK);
	}
	assert_int_equal(atomic_load(&f.afters), 2);
	/* Reopened: the eight are in the spool. */
	outbox_close(f.ob);
	fx_open_outbox(&f);
	outbox_get_stats(f.ob, &st);
	assert_int_equal(st.spooled, 8);
	fx_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batching),
		cmocka_unit_test(test_after_fails),
		cmocka_unit_test(test_spool_fails),
		cmocka_unit_test(test_cancel_and_empty),
		cmocka_unit_test(test_after_without_events),
		cmocka_unit_test(test_close_pending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

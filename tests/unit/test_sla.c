/*
 * test_sla.c - SLA clocks (router/rules/sla.c) on a real store: targets from the
 * routing.sla rows and their defaults, dues counted in business hours,
 * warnings and breaches fired on time, and what a first reply, a close, a
 * change of priority and a reopening do to the clocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/calendar.h"
#include "core/err.h"
#include "router/router.h"
#include "store/store.h"
/* Only to store a ticket record no encoder would write, as a damaged or
 * newer store could hold one. */
#include "store/store_int.h"
#include "tests/unit/testutil.h"

#define MIN (60LL * 1000)
/* Friday 2026-01-16 16:30 in Paris (15:30 UTC), and Monday 09:30 there. */
#define FRI_1630_PARIS 1768577400000LL
#define MON_0930_PARIS 1768811400000LL
#define FRI_1700_PARIS 1768579200000LL
#define MON_1630_PARIS 1768836600000LL

/* Queues: "office" works Paris office hours, "night" around the clock. */
static struct gw_routing_hours hours[] = {
	{"office", "Europe/Paris", "mon-fri 09:00-17:00"},
};
static struct gw_routing_queue queues[] = {
	{.name = "office", .business_hours = "office", .strategy = "round_robin",
	 .priority = "normal"},
	{.name = "night", .business_hours = "", .strategy = "round_robin", .priority = "normal"},
};

struct fx {
	char dir[64];
	struct store *st;
	struct gw_config_routing cfg;
	struct routing *rt;
	struct batch b;
};

static void fx_open(struct fx *f, struct gw_routing_sla *rows, size_t n_rows)
{
	char err[256];

	memset(f, 0, sizeof(*f));
	test_tmpdir(f->dir, sizeof(f->dir), "sla");
	assert_int_equal(store_open(f->dir, 64u << 20, &f->st), GW_OK);
	assert_int_equal(gw_config_routing_defaults(&f->cfg, err, sizeof(err)), GW_OK);
	f->cfg.business_hours = hours;
	f->cfg.n_business_hours = 1;
	f->cfg.queues = queues;
	f->cfg.n_queues = 2;
	f->cfg.sla = rows;
	f->cfg.n_sla = n_rows;
	assert_int_equal(routing_create(&f->cfg, &f->rt, err, sizeof(err)), GW_OK);
	f->b.rt = f->rt;
	assert_int_equal(store_txn_begin(f->st, 0, &f->b.txn), GW_OK);
}

static void fx_close(struct fx *f)
{
	store_txn_abort(f->b.txn);
	batch_reset(&f->b);
	free(f->b.ev);
	routing_destroy(f->rt);
	/* The lists are this file's statics: not the config's to free. */
	f->cfg.business_hours = NULL;
	f->cfg.n_business_hours = 0;
	f->cfg.queues = NULL;
	f->cfg.n_queues = 0;
	f->cfg.sla = NULL;
	f->cfg.n_sla = 0;
	gw_config_routing_free(&f->cfg);
	store_close(f->st);
	test_rmtree(f->dir);
}

/* new_ticket - an open ticket `id` opened at `at`, stored. */
static void new_ticket(struct fx *f, struct proto_ticket *t, uint64_t id, const char *channel,
		       const char *queue, const char *priority, int64_t at)
{
	memset(t, 0, sizeof(*t));
	t->ticket_id = id;
	t->customer_id = 100 + id;
	t->thread_id = 100 + id;
	t->status = strdup("open");
	t->channel = strdup(channel);
	t->queue = queue ? strdup(queue) : NULL;
	t->priority = priority ? strdup(priority) : NULL;
	t->opened_at = t->updated_at = at;
	assert_int_equal(store_ticket_put(f->b.txn, t), GW_OK);
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? strdup(v) : NULL;
}

/* reload - the stored ticket again (as sla_fire left it). */
static void reload(struct fx *f, struct proto_ticket *t)
{
	uint64_t id = t->ticket_id;

	proto_ticket_clear(t);
	memset(t, 0, sizeof(*t));
	assert_int_equal(store_ticket_get(f->b.txn, id, t), GW_OK);
}

struct entries {
	int64_t due[16];
	unsigned what[16];
	size_t n;
};

static int collect(void *arg, int64_t due, uint64_t ticket_id, unsigned what)
{
	struct entries *e = arg;

	(void)ticket_id;
	if (e->n < 16) {
		e->due[e->n] = due;
		e->what[e->n] = what;
	}
	e->n++;
	return 0;
}

static void entries_of(struct fx *f, struct entries *e)
{
	memset(e, 0, sizeof(*e));
	assert_int_equal(store_sla_scan(f->b.txn, INT64_MAX, 100, collect, e), GW_OK);
}

/* has_entry - whether (due, what) is in the table. */
static int has_entry(const struct entries *e, int64_t due, unsigned what)
{
	for (size_t i = 0; i < e->n && i < 16; i++)
		if (e->due[i] == due && e->what[i] == what)
			return 1;
	return 0;
}

/* fire - the events sla_fire(now) emitted, decoded into `ev` (up to max). */
static size_t fire(struct fx *f, int64_t now, struct proto_event *ev, size_t max)
{
	struct proto_error perr;
	size_t n;

	batch_reset(&f->b);
	assert_int_equal(sla_fire(&f->b, now), GW_OK);
	n = f->b.nev;
	for (size_t i = 0; i < n && i < max; i++)
		assert_int_equal(proto_decode(f->b.ev[i].data, f->b.ev[i].len, &ev[i], &perr),
				 GW_OK);
	return n;
}

static void clear_events(struct proto_event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++)
		proto_event_clear(&ev[i]);
}

/* --- targets and business hours --------------------------------------------- */

static void test_business_hours(void **state)
{
	struct gw_routing_sla rows[] = {
		{.queue = "office", .channel = "", .priority = "", .first_response_s = 60 * 60,
		 .resolution_s = 480 * 60, .warning_percent = 50},
	};
	struct proto_ticket t;
	struct entries e;
	struct fx f;
	int wd, minute, off;

	(void)state;
	fx_open(&f, rows, 1);
	new_ticket(&f, &t, 1, "email", "office", NULL, FRI_1630_PARIS);
	assert_int_equal(sla_start(&f.b, &t, FRI_1630_PARIS + 5), GW_OK);
	/* 30 minutes on Friday, 30 on Monday morning: Monday 09:30 in Paris. */
	assert_true(t.first_response_due == MON_0930_PARIS);
	cal_local(f.rt->queue_cal[0], t.first_response_due, &wd, &minute, &off);
	assert_int_equal(wd, 0);
	assert_int_equal(minute, 9 * 60 + 30);
	assert_int_equal(off, 3600);
	/* 8 hours: half an hour on Friday, 7.5 on Monday. */
	assert_true(t.resolution_due == MON_1630_PARIS);
	assert_true(t.sla_started_at == FRI_1630_PARIS);
	assert_string_equal(t.sla_first_response, "running");
	assert_string_equal(t.sla_resolution, "running");
	/* Warnings at half the target: Friday 17:00 and Monday 12:30. */
	entries_of(&f, &e);
	assert_int_equal(e.n, 4);
	assert_true(has_entry(&e, FRI_1700_PARIS, STORE_SLA_FIRST_WARN));
	assert_true(has_entry(&e, MON_0930_PARIS, STORE_SLA_FIRST_BREACH));
	assert_true(has_entry(&e, MON_0930_PARIS + 3 * 60 * MIN, STORE_SLA_RESOLUTION_WARN));
	assert_true(has_entry(&e, MON_1630_PARIS, STORE_SLA_RESOLUTION_BREACH));
	proto_ticket_clear(&t);
	/* The same ticket in the around-the-clock queue: no row matches it. */
	new_ticket(&f, &t, 2, "email", "night", NULL, FRI_1630_PARIS);
	assert_int_equal(sla_start(&f.b, &t, FRI_1630_PARIS), GW_OK);
	assert_true(t.first_response_due == 0 && t.resolution_due == 0);
	assert_null(t.sla_first_response);
	assert_null(t.sla_resolution);
	proto_ticket_clear(&t);
	fx_close(&f);
}

static void test_defaults_and_rows(void **state)
{
	struct gw_routing_sla rows[] = {
		{.queue = "", .channel = "", .priority = "urgent", .first_response_s = 15 * 60,
		 .resolution_s = 0, .warning_percent = 50},
		{.queue = "", .channel = "whatsapp", .priority = "", .first_response_s = 0,
		 .resolution_s = 600 * 60, .warning_percent = 90},
		{.queue = "", .channel = "", .priority = "", .first_response_s = 120 * 60,
		 .resolution_s = 0, .warning_percent = 80},
	};
	const int64_t t0 = 1700000000000LL;
	struct proto_ticket t;
	struct entries e;
	struct fx f;

	(void)state;
	/* No row at all: 60 min (live chat 5), 24 h, warning at 80 %. */
	fx_open(&f, NULL, 0);
	new_ticket(&f, &t, 1, "api", NULL, NULL, t0);
	assert_int_equal(sla_start(&f.b, &t, t0), GW_OK);
	assert_true(t.first_response_due == t0 + 60 * MIN);
	assert_true(t.resolution_due == t0 + 24 * 60 * MIN);
	entries_of(&f, &e);
	assert_true(has_entry(&e, t0 + 48 * MIN, STORE_SLA_FIRST_WARN));
	assert_true(has_entry(&e, t0 + 24 * 48 * MIN, STORE_SLA_RESOLUTION_WARN));
	proto_ticket_clear(&t);
	new_ticket(&f, &t, 2, "livechat", NULL, NULL, t0);
	assert_int_equal(sla_start(&f.b, &t, t0), GW_OK);
	assert_true(t.first_response_due == t0 + 5 * MIN);
	proto_ticket_clear(&t);
	fx_close(&f);

	/* Rows: the first that matches wins; a target of 0 is no clock. */
	fx_open(&f, rows, 3);
	new_ticket(&f, &t, 1, "api", NULL, "urgent", t0);
	assert_int_equal(sla_start(&f.b, &t, t0), GW_OK);
	assert_true(t.first_response_due == t0 + 15 * MIN);
	assert_true(t.resolution_due == 0);
	assert_null(t.sla_resolution);
	proto_ticket_clear(&t);
	new_ticket(&f, &t, 2, "whatsapp", NULL, NULL, t0);
	assert_int_equal(sla_start(&f.b, &t, t0), GW_OK);
	assert_true(t.first_response_due == 0);
	assert_null(t.sla_first_response);
	assert_true(t.resolution_due == t0 + 600 * MIN);
	proto_ticket_clear(&t);
	new_ticket(&f, &t, 3, "api", NULL, "normal", t0);
	assert_int_equal(sla_start(&f.b, &t, t0), GW_OK);
	assert_true(t.first_response_due == t0 + 120 * MIN);
	proto_ticket_clear(&t);
	fx_close(&f);
}

/* --- firing ------------------------------------------------------------------ */

static struct gw_routing_sla rows_fire[] = {
	{.queue = "", .channel = "", .priority = "urgent", .first_response_s = 15 * 60,
	 .resolution_s = 0, .warning_percent = 50},
	{.queue = "", .channel = "", .priority = "", .first_response_s = 60 * 60,
	 .resolution_s = 120 * 60, .warning_percent = 50},
};

static void test_fire_on_time(void **state)
{
	const int64_t t0 = 1700000000000LL;
	struct proto_event ev[8];
	struct proto_ticket t;
	struct entries e;
	struct fx f;

	(void)state;
	fx_open(&f, rows_fire, 2);
	new_ticket(&f, &t, 7, "api", "night", NULL, t0);
	assert_int_equal(sla_start(&f.b, &t, t0), GW_OK);
	assert_int_equal(store_ticket_put(f.b.txn, &t), GW_OK);
	/* A millisecond early: nothing. */
	assert_int_equal(fire(&f, t0 + 30 * MIN - 1, ev, 8), 0);
	/* On time: the first-response warning. */
	assert_int_equal(fire(&f, t0 + 30 * MIN, ev, 8), 1);
	assert_int_equal(ev[0].type, PROTO_T_TICKET_SLA_WARNING);
	assert_int_equal(ev[0].u.sla.ticket_id, 7);
	assert_int_equal(ev[0].u.sla.customer_id, 107);
	assert_string_equal(ev[0].u.sla.clock, "first_response");
	assert_true(ev[0].u.sla.due_at == t0 + 60 * MIN);
	assert_int_equal(ev[0].u.sla.target_minutes, 60);
	assert_string_equal(ev[0].u.sla.queue, "night");
	assert_string_equal(ev[0].u.sla.priority, "normal");
	assert_null(ev[0].u.sla.agent_id);
	reload(&f, &t);
	assert_string_equal(t.sla_first_response, "warning");
	clear_events(ev, 1);
	/* Later: the first-response breach, the resolution warning (at 60 min
	 * too, ordered by clock), then the resolution breach. */
	assert_int_equal(fire(&f, t0 + 200 * MIN, ev, 8), 3);
	assert_int_equal(ev[0].type, PROTO_T_TICKET_SLA_BREACHED);
	assert_string_equal(ev[0].u.sla.clock, "first_response");
	assert_int_equal(ev[1].type, PROTO_T_TICKET_SLA_WARNING);
	assert_string_equal(ev[1].u.sla.clock, "resolution");
	assert_true(ev[1].u.sla.due_at == t0 + 120 * MIN);
	assert_int_equal(ev[2].type, PROTO_T_TICKET_SLA_BREACHED);
	assert_string_equal(ev[2].u.sla.clock, "resolution");
	clear_events(ev, 3);
	reload(&f, &t);
	assert_string_equal(t.sla_first_response, "breached");
	assert_string_equal(t.sla_resolution, "breached");
	entries_of(&f, &e);
	assert_int_equal(e.n, 0);
	/* A reply now: the first-response clock stays breached. */
	assert_int_equal(sla_first_reply(&f.b, &t, t0 + 201 * MIN), GW_OK);
	assert_string_equal(t.sla_first_response, "breached");
	assert_true(t.first_response_at == t0 + 201 * MIN);
	proto_ticket_clear(&t);
	fx_close(&f);
}

static int count_seq(void *arg, uint64_t seq)
{
	(void)seq;
	(*(size_t *)arg)++;
	return 0;
}

static void test_fire_traced(void **state)
{
	const int64_t t0 = 1700000000000LL;
	struct proto_event ev[8];
	struct proto_ticket t;
	size_t traced = 0;
	struct fx f;

	(void)state;
	fx_open(&f, rows_fire, 2);
	new_ticket(&f, &t, 3, "api", NULL, NULL, t0);
	assert_int_equal(sla_start(&f.b, &t, t0), GW_OK);
	assert_int_equal(store_ticket_put(f.b.txn, &t), GW_OK);
	assert_int_equal(fire(&f, t0 + 30 * MIN, ev, 8), 1);
	assert_int_equal(store_ticket_trace(f.b.txn, 3, 10, count_seq, &traced), GW_OK);
	assert_int_equal(traced, 1);
	clear_events(ev, 1);
	proto_ticket_clear(&t);
	fx_close(&f);
}

/* --- the clock stops ------------------------------------------------------------ */

/* The next-response clock counts business time too: a customer message at
 * Friday 16:30 in Paris, target 60 min, is due Monday 09:30; its warning
 * (50 %) Friday 17:00 fires over the weekend, its breach does not, and the
 * reply Monday 09:20 meets it. */
static void test_next_response_business_hours(void **state)
{
	struct gw_routing_sla rows[] = {
		{.queue = "office", .channel = "", .priority = "", .first_response_s = 60 * 60,
		 .next_response_s = 60 * 60, .warning_percent = 50},
	};
	const int64_t fri_1000 = FRI_1630_PARIS - 390 * MIN;
	struct proto_event ev[4];
	struct proto_ticket t;
	struct entries e;
	struct fx f;
	int changed = 0;

	(void)state;
	fx_open(&f, rows, 1);
	new_ticket(&f, &t, 9, "email", "office", NULL, fri_1000);
	assert_int_equal(sla_start(&f.b, &t, fri_1000), GW_OK);
	assert_int_equal(sla_reply(&f.b, &t, fri_1000 + 30 * MIN, &changed), GW_OK);
	assert_int_equal(changed, 1);
	assert_string_equal(t.sla_first_response, "met");
	assert_null(t.sla_next_response); /* no message owed a reply yet */
	assert_int_equal(sla_inbound(&f.b, &t, FRI_1630_PARIS), GW_OK);
	assert_true(t.next_response_started_at == FRI_1630_PARIS);
	assert_true(t.next_response_due == MON_0930_PARIS);
	assert_string_equal(t.sla_next_response, "running");
	/* A second message while it runs counts from the first. */
	assert_int_equal(sla_inbound(&f.b, &t, FRI_1630_PARIS + 10 * MIN), GW_OK);
	assert_true(t.next_response_due == MON_0930_PARIS);
	entries_of(&f, &e);
	assert_int_equal(e.n, 2);
	assert_true(has_entry(&e, FRI_1700_PARIS, STORE_SLA_NEXT_WARN));
	assert_true(has_entry(&e, MON_0930_PARIS, STORE_SLA_NEXT_BREACH));
	/* Saturday: the warning only. */
	assert_int_equal(store_ticket_put(f.b.txn, &t), GW_OK);
	assert_int_equal(fire(&f, FRI_1700_PARIS + 24 * 60 * MIN, ev, 4), 1);
	assert_int_equal(ev[0].type, PROTO_T_TICKET_SLA_WARNING);
	assert_string_equal(ev[0].u.sla.clock, "next_response");
	assert_true(ev[0].u.sla.due_at == MON_0930_PARIS);
	clear_events(ev, 1);
	reload(&f, &t);
	assert_string_equal(t.sla_next_response, "warning");
	/* Monday 09:20: met, and the breach entry is gone. */
	assert_int_equal(sla_reply(&f.b, &t, MON_0930_PARIS - 10 * MIN, &changed), GW_OK);
	assert_int_equal(changed, 1);
	assert_string_equal(t.sla_next_response, "met");
	entries_of(&f, &e);
	assert_int_equal(e.n, 0);
	proto_ticket_clear(&t);
	fx_close(&f);
}

static void test_first_reply_met(void **state)
{
	const int64_t t0 = 1700000000000LL;
	struct proto_event ev[8];
	struct proto_ticket t;
	struct entries e;
	struct fx f;

	(void)state;
	fx_open(&f, rows_fire, 2);
	new_ticket(&f, &t, 4, "api", NULL, NULL, t0);
	assert_int_equal(sla_start(&f.b, &t, t0), GW_OK);
	assert_int_equal(sla_first_reply(&f.b, &t, t0 + 10 * MIN), GW_OK);
	assert_string_equal(t.sla_first_response, "met");
	assert_true(t.first_response_at == t0 + 10 * MIN);
	assert_string_equal(t.sla_resolution, "running");
	/* Only the resolution's entries are left. */
	entries_of(&f, &e);
	assert_int_equal(e.n, 2);
	assert_true(has_entry(&e, t0 + 60 * MIN, STORE_SLA_RESOLUTION_WARN));
	assert_true(has_entry(&e, t0 + 120 * MIN, STORE_SLA_RESOLUTION_BREACH));
	/* A second reply changes nothing. */
	assert_int_equal(sla_first_reply(&f.b, &t, t0 + 20 * MIN), GW_OK);
	assert_true(t.first_response_at == t0 + 10 * MIN);
	assert_int_equal(store_ticket_put(f.b.txn, &t), GW_OK);
	assert_int_equal(fire(&f, t0 + 200 * MIN, ev, 8), 2);
	assert_string_equal(ev[0].u.sla.clock, "resolution");
	assert_string_equal(ev[1].u.sla.clock, "resolution");
	clear_events(ev, 2);
	proto_ticket_clear(&t);
	/* A reply after the due, before the timer said so: breached. */
	new_ticket(&f, &t, 5, "api", NULL, NULL, t0);
	assert_int_equal(sla_start(&f.b, &t, t0), GW_OK);
	assert_int_equal(sla_first_reply(&f.b, &t, t0 + 61 * MIN), GW_OK);
	assert_string_equal(t.sla_first_response, "breached");
	proto_ticket_clear(&t);
	fx_close(&f);
}

static void test_close_stops(void **state)
{
	const int64_t t0 = 1700000000000LL;
	struct proto_event ev[8];
	struct proto_ticket t;
	struct entries e;
	struct fx f;

	(void)state;
	fx_open(&f, rows_fire, 2);
	new_ticket(&f, &t, 6, "api", NULL, NULL, t0);
	assert_int_equal(sla_start(&f.b, &t, t0), GW_OK);
	set_str(&t.status, "closed");
	t.closed_at = t0 + 5 * MIN;
	assert_int_equal(sla_stop(&f.b, &t), GW_OK);
	assert_string_equal(t.sla_first_response, "stopped");
	assert_string_equal(t.sla_resolution, "met");
	entries_of(&f, &e);
	assert_int_equal(e.n, 0);
	assert_int_equal(store_ticket_put(f.b.txn, &t), GW_OK);
	assert_int_equal(fire(&f, t0 + 500 * MIN, ev, 8), 0);
	proto_ticket_clear(&t);
	/* Closed after its resolution due (the timer had not fired yet). */
	new_ticket(&f, &t, 7, "api", NULL, NULL, t0);
	assert_int_equal(sla_start(&f.b, &t, t0), GW_OK);
	assert_int_equal(sla_first_reply(&f.b, &t, t0 + MIN), GW_OK);
	set_str(&t.status, "closed");
	t.closed_at = t0 + 121 * MIN;
	assert_int_equal(sla_stop(&f.b, &t), GW_OK);
	assert_string_equal(t.sla_first_response, "met");
	assert_string_equal(t.sla_resolution, "breached");
	proto_ticket_clear(&t);
	fx_close(&f);
}

static void test_stale_entries_dropped(void **state)
{
	const int64_t t0 = 1700000000000LL;
	struct proto_event ev[8];
	struct proto_ticket t;
	struct entries e;
	struct fx f;

	(void)state;
	fx_open(&f, rows_fire, 2);
	/* A ticket closed by a path that left its entries behind. */
	new_ticket(&f, &t, 8, "api", NULL, NULL, t0);
	assert_int_equal(sla_start(&f.b, &t, t0), GW_OK);
	set_str(&t.status, "closed");
	assert_int_equal(store_ticket_put(f.b.txn, &t), GW_OK);
	assert_int_equal(store_sla_add(f.b.txn, t0, 999, STORE_SLA_FIRST_BREACH), GW_OK);
	assert_int_equal(fire(&f, t0 + 500 * MIN, ev, 8), 0);
	/* Nothing emitted, but the deletions are to be committed. */
	assert_true(f.b.keep);
	entries_of(&f, &e);
	assert_int_equal(e.n, 0);
	proto_ticket_clear(&t);
	fx_close(&f);
}

/* --- new targets ------------------------------------------------------------------ */

static void test_retarget(void **state)
{
	const int64_t t0 = 1700000000000LL;
	struct proto_event ev[8];
	struct proto_ticket t;
	struct fx f;

	(void)state;
	fx_open(&f, rows_fire, 2);
	new_ticket(&f, &t, 9, "api", NULL, NULL, t0);
	assert_int_equal(sla_start(&f.b, &t, t0), GW_OK);
	assert_true(t.first_response_due == t0 + 60 * MIN);
	/* Urgent: 15 minutes from the opening, no resolution target. */
	set_str(&t.priority, "urgent");
	assert_int_equal(sla_retarget(&f.b, &t), GW_OK);
	assert_true(t.first_response_due == t0 + 15 * MIN);
	assert_string_equal(t.sla_first_response, "running");
	assert_true(t.resolution_due == 0);
	assert_null(t.sla_resolution);
	assert_int_equal(store_ticket_put(f.b.txn, &t), GW_OK);
	/* The new warning and breach fire; the old ones (30 and 60 min, and the
	 * resolution's) are dropped. */
	assert_int_equal(fire(&f, t0 + 300 * MIN, ev, 8), 2);
	assert_int_equal(ev[0].type, PROTO_T_TICKET_SLA_WARNING);
	assert_true(ev[0].u.sla.due_at == t0 + 15 * MIN);
	assert_int_equal(ev[0].u.sla.target_minutes, 15);
	assert_string_equal(ev[0].u.sla.priority, "urgent");
	assert_int_equal(ev[1].type, PROTO_T_TICKET_SLA_BREACHED);
	assert_true(ev[1].u.sla.due_at == t0 + 15 * MIN);
	clear_events(ev, 2);
	reload(&f, &t);
	/* Back to normal: breached stays breached; resolution starts again
	 * from the opening (and is long overdue: it fires at once). */
	set_str(&t.priority, "normal");
	assert_int_equal(sla_retarget(&f.b, &t), GW_OK);
	assert_string_equal(t.sla_first_response, "breached");
	assert_true(t.resolution_due == t0 + 120 * MIN);
	assert_int_equal(store_ticket_put(f.b.txn, &t), GW_OK);
	assert_int_equal(fire(&f, t0 + 301 * MIN, ev, 8), 2);
	assert_string_equal(ev[0].u.sla.clock, "resolution");
	assert_int_equal(ev[1].type, PROTO_T_TICKET_SLA_BREACHED);
	clear_events(ev, 2);
	proto_ticket_clear(&t);
	fx_close(&f);
}

static void test_reopen_restarts_resolution(void **state)
{
	const int64_t t0 = 1700000000000LL, t1 = t0 + 1000 * MIN;
	struct proto_ticket t;
	struct entries e;
	struct fx f;

	(void)state;
	fx_open(&f, rows_fire, 2);
	new_ticket(&f, &t, 10, "api", NULL, NULL, t0);
	assert_int_equal(sla_start(&f.b, &t, t0), GW_OK);
	assert_int_equal(sla_first_reply(&f.b, &t, t0 + MIN), GW_OK);
	t.closed_at = t0 + 2 * MIN;
	assert_int_equal(sla_stop(&f.b, &t), GW_OK);
	/* Reopened much later: the first reply was met; resolution anew. */
	t.closed_at = 0;
	t.reopen_count = 1;
	assert_int_equal(sla_start(&f.b, &t, t1), GW_OK);
	assert_string_equal(t.sla_first_response, "met");
	assert_true(t.first_response_due == t0 + 60 * MIN);
	assert_string_equal(t.sla_resolution, "running");
	assert_true(t.resolution_due == t1 + 120 * MIN);
	assert_true(t.sla_started_at == t1);
	entries_of(&f, &e);
	assert_int_equal(e.n, 2);
	assert_true(has_entry(&e, t1 + 60 * MIN, STORE_SLA_RESOLUTION_WARN));
	/* Closed again: both entries go. */
	t.closed_at = t1 + MIN;
	assert_int_equal(sla_stop(&f.b, &t), GW_OK);
	entries_of(&f, &e);
	assert_int_equal(e.n, 0);
	proto_ticket_clear(&t);
	/* Reopened without ever a reply: the first response is owed again. */
	new_ticket(&f, &t, 11, "api", NULL, NULL, t0);
	assert_int_equal(sla_start(&f.b, &t, t0), GW_OK);
	t.closed_at = t0 + 2 * MIN;
	assert_int_equal(sla_stop(&f.b, &t), GW_OK);
	t.closed_at = 0;
	t.reopen_count = 1;
	assert_int_equal(sla_start(&f.b, &t, t1), GW_OK);
	assert_string_equal(t.sla_first_response, "running");
	assert_true(t.first_response_due == t1 + 60 * MIN);
	proto_ticket_clear(&t);
	fx_close(&f);
}

/* An entry whose ticket is gone or does not decode is dropped, and the
 * others fire all the same. */
static void test_fire_drops_unreadable(void **state)
{
	const int64_t t0 = 1700000000000LL;
	static const unsigned char junk[] = {0x93, 0x01, 0x02, 0x03}; /* an array */
	struct proto_event ev[8];
	struct proto_ticket t;
	struct entries e;
	struct fx f;

	(void)state;
	fx_open(&f, rows_fire, 2);
	/* Due first: a ticket that is not there, then one that does not
	 * decode; then a live warning. */
	assert_int_equal(store_sla_add(f.b.txn, t0 + 10 * MIN, 40, STORE_SLA_FIRST_WARN), GW_OK);
	assert_int_equal(store_rec_put(f.b.txn, TBL_TICKETS, 41, junk, sizeof(junk)), GW_OK);
	assert_int_equal(store_sla_add(f.b.txn, t0 + 20 * MIN, 41, STORE_SLA_FIRST_BREACH),
			 GW_OK);
	new_ticket(&f, &t, 7, "api", "night", NULL, t0);
	assert_int_equal(sla_start(&f.b, &t, t0), GW_OK);
	assert_int_equal(store_ticket_put(f.b.txn, &t), GW_OK);
	assert_int_equal(fire(&f, t0 + 30 * MIN, ev, 8), 1);
	assert_int_equal(ev[0].type, PROTO_T_TICKET_SLA_WARNING);
	assert_int_equal(ev[0].u.sla.ticket_id, 7);
	clear_events(ev, 1);
	/* Both are gone, kept so by the batch; the live clock's are left. */
	assert_true(f.b.keep);
	entries_of(&f, &e);
	assert_int_equal(e.n, 3);
	assert_false(has_entry(&e, t0 + 10 * MIN, STORE_SLA_FIRST_WARN));
	assert_false(has_entry(&e, t0 + 20 * MIN, STORE_SLA_FIRST_BREACH));
	proto_ticket_clear(&t);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_business_hours),
		cmocka_unit_test(test_next_response_business_hours),
		cmocka_unit_test(test_defaults_and_rows),
		cmocka_unit_test(test_fire_on_time),
		cmocka_unit_test(test_fire_drops_unreadable),
		cmocka_unit_test(test_fire_traced),
		cmocka_unit_test(test_first_reply_met),
		cmocka_unit_test(test_close_stops),
		cmocka_unit_test(test_stale_entries_dropped),
		cmocka_unit_test(test_retarget),
		cmocka_unit_test(test_reopen_restarts_resolution),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

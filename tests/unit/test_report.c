/*
 * test_report.c - gateway/report/report.h: the arithmetic (median, p90, dates,
 * business time) and a scripted week of events written to a real store's
 * event log, whose figures were computed by hand (comments beside each).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/err.h"
#include "proto/proto.h"
#include "gateway/report/report.h"
#include "store/store.h"
#include "testutil.h"

#define H (3600LL * 1000)
#define M (60LL * 1000)
#define DAY (24 * H)
#define AUTO PROTO_T__COUNT /* script_week: a message.sent marked automatic */

static void test_median_p90(void **state)
{
	int64_t one[] = {7}, two[] = {10, 4}, ten[] = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
	int64_t eleven[] = {11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
	int64_t big[] = {INT64_MAX - 2, INT64_MAX};

	(void)state;
	assert_int_equal(report_median(NULL, 0), -1);
	assert_int_equal(report_p90(NULL, 0), -1);
	assert_int_equal(report_median(one, 1), 7);
	assert_int_equal(report_p90(one, 1), 7);
	assert_int_equal(report_median(two, 2), 7);   /* (4 + 10) / 2 */
	assert_int_equal(report_p90(two, 2), 10);     /* rank ceil(1.8) = 2 */
	assert_int_equal(report_median(ten, 10), 5);  /* (5 + 6) / 2 rounded down */
	assert_int_equal(report_p90(ten, 10), 9);     /* rank 9 */
	assert_int_equal(report_median(eleven, 11), 6);
	assert_int_equal(report_p90(eleven, 11), 10); /* rank ceil(9.9) = 10 */
	assert_true(report_median(big, 2) == INT64_MAX - 1); /* no overflow */
}

static void test_dates(void **state)
{
	int64_t ms = 0;

	(void)state;
	assert_int_equal(report_date_parse("1970-01-01", &ms), GW_OK);
	assert_int_equal(ms, 0);
	assert_int_equal(report_date_parse("2026-03-02", &ms), GW_OK);
	assert_int_equal(ms, 1772409600000LL);
	assert_int_equal(report_date_parse("2024-02-29", &ms), GW_OK);
	assert_int_equal(report_date_parse("2026-02-29", &ms), GW_EINVAL);
	assert_int_equal(report_date_parse("2026-13-01", &ms), GW_EINVAL);
	assert_int_equal(report_date_parse("2026-3-02", &ms), GW_EINVAL);
	assert_int_equal(report_date_parse("1969-12-31", &ms), GW_EINVAL);
	assert_int_equal(report_date_parse("2026-03-02x", &ms), GW_EINVAL);
	assert_int_equal(report_date_parse(NULL, &ms), GW_EINVAL);
}

/* The routing of the scripted week: queue support works mon-fri
 * 09:00-17:00 UTC, queue sales is 24/7. */
static struct gw_routing_hours hours[] = {{"office", "UTC", "mon-fri 09:00-17:00"}};
static struct gw_routing_queue queues[] = {{.name = "support", .business_hours = "office"},
					   {.name = "sales", .business_hours = ""}};
static struct gw_config_routing routing = {
	.business_hours = hours, .n_business_hours = 1, .queues = queues, .n_queues = 2};

/* --- the scripted week ---------------------------------------------------- */

struct tk {
	uint64_t id;
	const char *channel, *queue, *agent;
};

static const struct tk T0 = {10, "api", "support", "bob"};
static const struct tk T1 = {11, "api", "support", "alice"};
static const struct tk T2 = {12, "email", "support", "bob"};
static const struct tk T3 = {13, "api", "sales", "alice"};
static const struct tk T4 = {14, "email", "support", NULL};

struct log {
	struct store *st;
	uint64_t seq;
	int64_t mon; /* 2026-03-02 00:00 UTC, a Monday */
};

static void append(struct log *l, struct proto_event *ev)
{
	struct store_txn *txn = NULL;
	char *buf = NULL;
	size_t len = 0;

	ev->v = PROTO_VERSION;
	ev->id = "0123456789abcdef0123456789abcdef";
	ev->seq = ++l->seq;
	assert_int_equal(proto_encode(ev, &buf, &len, NULL), GW_OK);
	assert_int_equal(store_txn_begin(l->st, 0, &txn), GW_OK);
	assert_int_equal(store_eventlog_append(txn, l->seq, proto_type_name(ev->type), buf, len),
			 GW_OK);
	assert_int_equal(store_txn_commit(txn), GW_OK);
	free(buf);
}

/* ticket_nr - a ticket event of `t` at `at` (ms after Monday 00:00) whose
 * clocks are in these states (NULL: none). */
static void ticket_nr(struct log *l, enum proto_type type, const struct tk *t, int64_t at,
		      const char *sla_fr, const char *sla_res, const char *sla_nr)
{
	struct proto_event ev = {.type = type, .ts = l->mon + at};
	struct proto_ticket *b = &ev.u.ticket;

	b->ticket_id = t->id;
	b->customer_id = t->id + 100;
	b->thread_id = t->id + 200;
	b->status = type == PROTO_T_TICKET_CLOSED ? "closed" : "open";
	b->channel = (char *)t->channel;
	b->queue = (char *)t->queue;
	b->agent_id = (char *)t->agent;
	b->opened_at = l->mon + at;
	b->updated_at = l->mon + at;
	b->sla_first_response = (char *)sla_fr;
	b->sla_resolution = (char *)sla_res;
	b->sla_next_response = (char *)sla_nr;
	append(l, &ev);
}

static void ticket(struct log *l, enum proto_type type, const struct tk *t, int64_t at,
		   const char *sla_fr, const char *sla_res)
{
	ticket_nr(l, type, t, at, sla_fr, sla_res, NULL);
}

/* breached - the ticket.sla_breached of `t`'s clock `clock` at `at`. */
static void breached(struct log *l, const struct tk *t, int64_t at, const char *clock)
{
	struct proto_event ev = {.type = PROTO_T_TICKET_SLA_BREACHED, .ts = l->mon + at};

	ev.u.sla.ticket_id = t->id;
	ev.u.sla.customer_id = t->id + 100;
	ev.u.sla.clock = (char *)clock;
	ev.u.sla.due_at = l->mon + at;
	append(l, &ev);
}

static void message(struct log *l, enum proto_type type, const struct tk *t, int64_t at)
{
	struct proto_event ev = {.type = type, .ts = l->mon + at};
	struct proto_message *m = &ev.u.message;

	m->channel = (char *)t->channel;
	m->account = "main";
	m->external_id = "x";
	m->received_at = l->mon + at;
	m->from.address = "someone";
	m->text = "hello";
	m->ticket_id = t->id;
	m->customer_id = t->id + 100;
	m->thread_id = t->id + 200;
	if (type == AUTO) {
		type = ev.type = PROTO_T_MESSAGE_SENT;
		m->automatic = "acknowledgement";
	}
	if (type == PROTO_T_MESSAGE_SENT) {
		static struct proto_party to = {.address = "someone"};

		m->direction = "outbound";
		m->to = &to;
	}
	append(l, &ev);
}

#define RX PROTO_T_MESSAGE_RECEIVED
#define TX PROTO_T_MESSAGE_SENT

static void script_week(struct log *l)
{
	/* T0 opened the Sunday before the window, open all week, closed after. */
	ticket(l, PROTO_T_TICKET_CREATED, &T0, -14 * H, NULL, NULL);
	/* T1 Monday: first response 1 h, next response 30 min (its clock met:
	 * the ticket.updated of the reply says so, the close again, counted
	 * once), resolved in 3 h. */
	ticket(l, PROTO_T_TICKET_CREATED, &T1, 9 * H, NULL, NULL);
	message(l, RX, &T1, 9 * H);
	message(l, AUTO, &T1, 9 * H + M); /* an acknowledgement: no response */
	message(l, TX, &T1, 10 * H);
	message(l, RX, &T1, 11 * H);
	ticket_nr(l, PROTO_T_TICKET_UPDATED, &T1, 11 * H, NULL, NULL, "running");
	message(l, TX, &T1, 11 * H + 30 * M);
	ticket_nr(l, PROTO_T_TICKET_UPDATED, &T1, 11 * H + 30 * M, NULL, NULL, "met");
	ticket_nr(l, PROTO_T_TICKET_CLOSED, &T1, 12 * H, "met", "met", "met");
	/* T2 Monday 16:00, answered Tuesday 10:00 (business 1 h + 1 h), closed
	 * Tuesday 11:00 (business 1 h + 2 h) with one reply: FCR. */
	ticket(l, PROTO_T_TICKET_CREATED, &T2, 16 * H, NULL, NULL);
	message(l, RX, &T2, 16 * H);
	message(l, TX, &T2, DAY + 10 * H);
	ticket(l, PROTO_T_TICKET_CLOSED, &T2, DAY + 11 * H, "met", "breached");
	/* T3 (24/7) Wednesday 08:00, answered 12:00, closed Thursday 08:00 (24 h,
	 * FCR), reopened Friday 08:00, answered 09:00 (next response 1 h; its
	 * clock breached at 08:30, the close carries it again: counted once),
	 * closed Saturday 10:00 (26 h after the reopening, not FCR). */
	ticket(l, PROTO_T_TICKET_CREATED, &T3, 2 * DAY + 8 * H, NULL, NULL);
	message(l, RX, &T3, 2 * DAY + 8 * H);
	message(l, TX, &T3, 2 * DAY + 12 * H);
	ticket(l, PROTO_T_TICKET_CLOSED, &T3, 3 * DAY + 8 * H, "breached", "met");
	ticket_nr(l, PROTO_T_TICKET_REOPENED, &T3, 4 * DAY + 8 * H, NULL, NULL, "running");
	message(l, RX, &T3, 4 * DAY + 8 * H); /* after its ticket.reopened, as the router does */
	breached(l, &T3, 4 * DAY + 8 * H + 30 * M, "next_response");
	message(l, TX, &T3, 4 * DAY + 9 * H);
	ticket_nr(l, PROTO_T_TICKET_CLOSED, &T3, 5 * DAY + 10 * H, NULL, NULL, "breached");
	/* T4 Sunday 20:00, no agent, still open. */
	ticket(l, PROTO_T_TICKET_CREATED, &T4, 6 * DAY + 20 * H, NULL, NULL);
	message(l, RX, &T4, 6 * DAY + 20 * H);
	/* After the window: T0 closed, T4 assigned. Not counted. */
	ticket(l, PROTO_T_TICKET_CLOSED, &T0, 7 * DAY + 10 * H, "met", "met");
}

struct week {
	char dir[64];
	struct log log;
};

static int week_setup(void **state)
{
	struct week *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	test_tmpdir(w->dir, sizeof(w->dir), "report");
	assert_int_equal(store_open(w->dir, 64u << 20, &w->log.st), GW_OK);
	assert_int_equal(report_date_parse("2026-03-02", &w->log.mon), GW_OK);
	script_week(&w->log);
	*state = w;
	return 0;
}

static int week_teardown(void **state)
{
	struct week *w = *state;

	store_close(w->log.st);
	test_rmtree(w->dir);
	free(w);
	return 0;
}

static struct report *week_report(struct week *w, enum report_by by)
{
	struct report *r = NULL;

	assert_int_equal(report_create(&routing, w->log.mon, w->log.mon + 7 * DAY, by, &r), GW_OK);
	assert_int_equal(report_from_store(r, w->log.st), GW_OK);
	return r;
}

static const struct report_row *row_named(const struct report *r, const char *key)
{
	for (size_t i = 0; i < report_rows(r); i++)
		if (strcmp(report_row(r, i)->key, key) == 0)
			return report_row(r, i);
	fail_msg("no row %s", key);
	return NULL;
}

/* times - median and p90 of a row's samples (copied: they sort in place). */
static void times(const struct report_times *t, size_t n, int64_t med, int64_t p90)
{
	int64_t v[16];

	assert_int_equal(t->n, n);
	memcpy(v, t->v, n * sizeof(*v));
	assert_int_equal(report_median(v, n), med);
	assert_int_equal(report_p90(v, n), p90);
}

static void test_week_by_day(void **state)
{
	static const char *const days[7] = {"2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05",
					    "2026-03-06", "2026-03-07", "2026-03-08"};
	static const uint64_t backlog[7] = {2, 1, 2, 1, 2, 1, 2};
	struct report *r = week_report(*state, REPORT_BY_DAY);
	const struct report_row *mon, *tue, *thu, *fri, *sat, *sun;

	assert_int_equal(report_rows(r), 7);
	for (int i = 0; i < 7; i++)
		assert_int_equal(row_named(r, days[i])->backlog, backlog[i]);
	mon = row_named(r, days[0]);
	assert_int_equal(mon->opened, 2);
	assert_int_equal(mon->closed, 1);
	times(&mon->first_response, 1, 1 * H, 1 * H);
	times(&mon->next_response, 1, 30 * M, 30 * M);
	times(&mon->resolution, 1, 3 * H, 3 * H);
	assert_int_equal(mon->sla_fr_met + mon->sla_res_met, 2);
	assert_int_equal(mon->sla_nr_met, 1);
	assert_int_equal(mon->sla_nr_breached, 0);
	assert_int_equal(mon->fcr, 0);
	tue = row_named(r, days[1]);
	times(&tue->first_response, 1, 2 * H, 2 * H);
	times(&tue->resolution, 1, 3 * H, 3 * H);
	assert_int_equal(tue->sla_res_breached, 1);
	assert_int_equal(tue->fcr, 1);
	thu = row_named(r, days[3]);
	times(&thu->resolution, 1, 24 * H, 24 * H);
	assert_int_equal(thu->fcr, 1);
	assert_int_equal(thu->sla_fr_breached, 1);
	fri = row_named(r, days[4]);
	assert_int_equal(fri->reopened, 1);
	times(&fri->next_response, 1, 1 * H, 1 * H);
	assert_int_equal(fri->sla_nr_breached, 1);
	assert_int_equal(fri->sla_nr_met, 0);
	sat = row_named(r, days[5]);
	times(&sat->resolution, 1, 26 * H, 26 * H);
	assert_int_equal(sat->fcr, 0);
	assert_int_equal(sat->sla_nr_met + sat->sla_nr_breached, 0);
	sun = row_named(r, days[6]);
	assert_int_equal(sun->opened, 1);
	assert_int_equal(sun->closed, 0);
	report_free(r);
}

static void test_week_by_queue(void **state)
{
	struct report *r = week_report(*state, REPORT_BY_QUEUE);
	const struct report_row *sup, *sales;

	assert_int_equal(report_rows(r), 2);
	sup = row_named(r, "support");
	assert_int_equal(sup->opened, 3);
	assert_int_equal(sup->closed, 2);
	assert_int_equal(sup->backlog, 2); /* T0 and T4 at the window's end */
	times(&sup->first_response, 2, 90 * M, 2 * H);
	times(&sup->resolution, 2, 3 * H, 3 * H);
	times(&sup->next_response, 1, 30 * M, 30 * M);
	assert_int_equal(sup->sla_fr_met, 2);
	assert_int_equal(sup->sla_res_met, 1);
	assert_int_equal(sup->sla_res_breached, 1);
	assert_int_equal(sup->sla_nr_met, 1);
	assert_int_equal(sup->sla_nr_breached, 0);
	assert_int_equal(sup->fcr, 1);
	sales = row_named(r, "sales");
	assert_int_equal(sales->opened, 1);
	assert_int_equal(sales->reopened, 1);
	assert_int_equal(sales->closed, 2);
	assert_int_equal(sales->backlog, 0);
	times(&sales->first_response, 1, 4 * H, 4 * H);
	times(&sales->resolution, 2, 25 * H, 26 * H);
	assert_int_equal(sales->fcr, 1);
	assert_int_equal(sales->sla_nr_met, 0);
	assert_int_equal(sales->sla_nr_breached, 1);
	report_free(r);
}

static void test_week_by_agent_and_output(void **state)
{
	struct report *r = week_report(*state, REPORT_BY_AGENT);
	json_t *j, *row0;
	char *csv = NULL;
	size_t csv_len = 0;
	FILE *f;

	assert_int_equal(report_rows(r), 3);
	assert_int_equal(row_named(r, "alice")->opened, 2);
	assert_int_equal(row_named(r, "alice")->closed, 3);
	assert_int_equal(row_named(r, "bob")->opened, 1);
	assert_int_equal(row_named(r, "bob")->backlog, 1);
	assert_int_equal(row_named(r, "-")->backlog, 1);
	j = report_json(r);
	assert_non_null(j);
	row0 = json_array_get(json_object_get(j, "rows"), 0); /* "-" sorts first */
	assert_string_equal(json_string_value(json_object_get(row0, "agent")), "-");
	assert_true(json_is_null(json_object_get(row0, "first_response_median_s")));
	assert_true(json_is_null(json_object_get(row0, "sla_next_response_met_rate")));
	/* alice: T1's next response met, T3's breached. */
	assert_true(json_real_value(json_object_get(json_array_get(json_object_get(j, "rows"), 1),
						     "sla_next_response_met_rate")) == 0.5);
	json_decref(j);
	f = open_memstream(&csv, &csv_len);
	assert_non_null(f);
	assert_int_equal(report_write_csv(r, f), GW_OK);
	fclose(f);
	assert_non_null(strstr(csv, "agent,opened,reopened,closed,backlog,"));
	assert_non_null(strstr(csv, ",sla_resolution_breached,sla_next_response_met,"
				    "sla_next_response_breached,fcr,"));
	/* alice: SLA first response met 1 (T1) breached 1 (T3), resolution met
	 * 2, next response met 1 (T1) breached 1 (T3), FCR 1 (T3's first close),
	 * no rating; FRT 1 h and 4 h: median 2.5 h = 9000 s, p90 4 h = 14400 s. */
	assert_non_null(strstr(csv, "\r\nalice,2,1,3,0,1,1,2,0,1,1,1,0,"));
	assert_non_null(strstr(csv, ",0.5000,1.0000,0.5000,0.3333,\r\n"));
	assert_non_null(strstr(csv, ",9000,14400,"));
	free(csv);
	report_free(r);
}

/* Fed again after more events, a report moves on from its last seq
 * (gateway-metrics); a new window keeps the tickets' state. */
static void test_incremental(void **state)
{
	struct week *w = *state;
	struct report *r = NULL;

	assert_int_equal(report_create(&routing, w->log.mon, w->log.mon + DAY, REPORT_BY_CHANNEL, &r),
			 GW_OK);
	assert_int_equal(report_from_store(r, w->log.st), GW_OK);
	assert_int_equal(row_named(r, "api")->opened, 1);
	assert_int_equal(row_named(r, "email")->opened, 1);
	assert_int_equal(report_rewindow(r, w->log.mon + 2 * DAY, w->log.mon + 3 * DAY), GW_OK);
	assert_int_equal(report_from_store(r, w->log.st), GW_OK);
	assert_int_equal(row_named(r, "api")->opened, 1); /* T3 */
	assert_int_equal(row_named(r, "api")->backlog, 2); /* T0 and T3 */
	assert_int_equal(report_open_now(r), 2);
	report_free(r);
}

/* feed - one ticket event of ticket `id` at `ts`, fed straight in. */
static void feed(struct report *r, enum proto_type type, uint64_t id, int64_t ts, uint64_t score)
{
	struct proto_event ev = {.type = type, .ts = ts};

	ev.u.ticket.ticket_id = id;
	ev.u.ticket.status = type == PROTO_T_TICKET_CREATED ? "open" : "closed";
	ev.u.ticket.channel = "api";
	ev.u.ticket.csat_score = score;
	assert_int_equal(report_feed(r, &ev), GW_OK);
}

/* A merged ticket leaves the backlog without a close; ratings average. */
static void test_merged_and_rated(void **state)
{
	struct report *r = NULL;
	const struct report_row *row;
	json_t *j;

	(void)state;
	assert_int_equal(report_create(NULL, 0, DAY, REPORT_BY_CHANNEL, &r), GW_OK);
	feed(r, PROTO_T_TICKET_CREATED, 1, H, 0);
	feed(r, PROTO_T_TICKET_CREATED, 2, H, 0);
	feed(r, PROTO_T_TICKET_MERGED, 2, 2 * H, 0);
	feed(r, PROTO_T_TICKET_CLOSED, 1, 3 * H, 0);
	feed(r, PROTO_T_TICKET_RATED, 1, 4 * H, 5);
	feed(r, PROTO_T_TICKET_RATED, 1, 5 * H, 2);
	feed(r, PROTO_T_TICKET_RATED, 1, 5 * H, 9); /* out of range: not counted */
	assert_int_equal(report_finish(r), GW_OK);
	row = row_named(r, "api");
	assert_int_equal(row->opened, 2);
	assert_int_equal(row->closed, 1);
	assert_int_equal(row->backlog, 0);
	assert_int_equal(report_open_now(r), 0);
	assert_int_equal(row->csat_count, 2);
	j = report_json(r);
	assert_true(json_real_value(json_object_get(json_array_get(json_object_get(j, "rows"), 0),
						     "csat_average")) == 3.5);
	json_decref(j);
	report_free(r);
}

/* feed_nr - a ticket event of ticket 1 at `ts` (hours) whose next-response
 * clock is `nr`; a ticket.sla_breached's `nr` is its clock. */
static void feed_nr(struct report *r, enum proto_type type, int64_t ts, const char *nr)
{
	struct proto_event ev = {.type = type, .ts = ts * H};

	if (type == PROTO_T_TICKET_SLA_BREACHED) {
		ev.u.sla.ticket_id = 1;
		ev.u.sla.clock = (char *)nr;
	} else {
		ev.u.ticket.ticket_id = 1;
		ev.u.ticket.status = type == PROTO_T_TICKET_CLOSED ? "closed" : "open";
		ev.u.ticket.channel = "api";
		ev.u.ticket.sla_next_response = (char *)nr;
	}
	assert_int_equal(report_feed(r, &ev), GW_OK);
}

/* Next-response outcomes, each clock once: a reply past due before the
 * timer said so (the ticket.updated says breached, no alert), an alert then
 * the same state carried again, a met one, a clock the close stops, and
 * another clock's alert (first_response) that is not counted here. */
static void test_next_response_outcomes(void **state)
{
	const enum proto_type UPD = PROTO_T_TICKET_UPDATED, BR = PROTO_T_TICKET_SLA_BREACHED;
	struct report *r = NULL;
	const struct report_row *row;

	(void)state;
	assert_int_equal(report_create(NULL, 0, DAY, REPORT_BY_CHANNEL, &r), GW_OK);
	feed_nr(r, PROTO_T_TICKET_CREATED, 1, NULL);
	feed_nr(r, BR, 2, "first_response");
	feed_nr(r, UPD, 3, "running");
	feed_nr(r, UPD, 4, "breached");       /* 1: late reply */
	feed_nr(r, BR, 4, "next_response");   /* none follows a late reply: never twice */
	feed_nr(r, UPD, 5, "running");
	feed_nr(r, BR, 6, "next_response");   /* 2 */
	feed_nr(r, UPD, 7, "breached");       /* the same clock */
	feed_nr(r, UPD, 8, "running");
	feed_nr(r, UPD, 9, "met");            /* met 1 */
	feed_nr(r, UPD, 10, "met");
	feed_nr(r, UPD, 11, "running");
	feed_nr(r, PROTO_T_TICKET_CLOSED, 12, "stopped");
	assert_int_equal(report_finish(r), GW_OK);
	row = row_named(r, "api");
	assert_int_equal(row->sla_nr_breached, 2);
	assert_int_equal(row->sla_nr_met, 1);
	assert_int_equal(row->sla_fr_breached, 0); /* counted by the close only */
	report_free(r);
}

/* --- by tag -------------------------------------------------------------- */

/* feed_tags - ticket event `type` of ticket `id` at `ts` whose body carries
 * the tags of `tags` (NULL-terminated; its status follows the type). */
static void feed_tags(struct report *r, enum proto_type type, uint64_t id, int64_t ts,
		      uint64_t score, const char *const *tags)
{
	struct proto_event ev = {.type = type, .ts = ts};
	size_t n = 0;

	while (tags[n])
		n++;
	ev.u.ticket.ticket_id = id;
	ev.u.ticket.status =
		type == PROTO_T_TICKET_CLOSED || type == PROTO_T_TICKET_RATED ? "closed" : "open";
	ev.u.ticket.channel = "api";
	ev.u.ticket.csat_score = score;
	ev.u.ticket.sla_first_response = type == PROTO_T_TICKET_CLOSED ? "met" : NULL;
	ev.u.ticket.sla_resolution = type == PROTO_T_TICKET_CLOSED ? "met" : NULL;
	ev.u.ticket.tags = (char **)tags;
	ev.u.ticket.tags_len = n;
	assert_int_equal(report_feed(r, &ev), GW_OK);
}

static void feed_reply(struct report *r, uint64_t id, int64_t ts)
{
	struct proto_event ev = {.type = PROTO_T_MESSAGE_SENT, .ts = ts};

	ev.u.message.ticket_id = id;
	assert_int_equal(report_feed(r, &ev), GW_OK);
}

/*
 * A day by tag (24/7, window [B, B + DAY)); tickets with no tag, one, two,
 * a tag added and one removed mid-window. Each event counts in the rows of
 * the tags its ticket has when it happens:
 *   A billing          opened 1 h, reply 2 h (FRT 1 h), closed 3 h (res 2 h,
 *                      FCR, SLA met), rated 2
 *   B vip, billing     opened 1 h, reply 4 h (FRT 3 h), open at the end
 *   C none, then vip   opened 2 h (in "-"), reply 3 h (FRT 1 h in "-"), +vip
 *                      at 5 h, closed 6 h (in vip: res 4 h, FCR), rated 4
 *   D vip, then none   opened 2 h (in vip), -vip at 3 h, reply 5 h (FRT 3 h
 *                      in "-"), open at the end (backlog "-")
 *   E billing          opened the day before, closed 8 h (res 10 h, no
 *                      reply: no FCR), rated 5
 * So "-": opened 1, FRT {1 h, 3 h}, backlog 1; billing: opened 2, closed 2,
 * FRT {1 h, 3 h}, res {2 h, 10 h}, FCR 1, backlog 1, CSAT 2 (sum 7); vip:
 * opened 2, closed 1, FRT {3 h}, res {4 h}, FCR 1, backlog 1, CSAT 1 (4).
 * Opened adds up to 5 over the rows for 4 tickets opened: B counts twice.
 */
static void test_by_tag(void **state)
{
	static const char *const none[] = {NULL}, *const billing[] = {"billing", NULL};
	static const char *const vip[] = {"vip", NULL}, *const both[] = {"vip", "billing", NULL};
	const int64_t B = DAY;
	struct report *r = NULL;
	const struct report_row *row;

	(void)state;
	assert_int_equal(report_create(NULL, B, B + DAY, REPORT_BY_TAG, &r), GW_OK);
	feed_tags(r, PROTO_T_TICKET_CREATED, 5, B - 2 * H, 0, billing); /* E */
	feed_tags(r, PROTO_T_TICKET_CREATED, 1, B + 1 * H, 0, billing); /* A */
	feed_tags(r, PROTO_T_TICKET_CREATED, 2, B + 1 * H, 0, both);    /* B */
	feed_reply(r, 1, B + 2 * H);
	feed_tags(r, PROTO_T_TICKET_CREATED, 3, B + 2 * H, 0, none);    /* C */
	feed_tags(r, PROTO_T_TICKET_CREATED, 4, B + 2 * H, 0, vip);     /* D */
	feed_tags(r, PROTO_T_TICKET_CLOSED, 1, B + 3 * H, 0, billing);
	feed_reply(r, 3, B + 3 * H);
	feed_tags(r, PROTO_T_TICKET_UPDATED, 4, B + 3 * H, 0, none);    /* D: -vip */
	feed_reply(r, 2, B + 4 * H);
	feed_tags(r, PROTO_T_TICKET_RATED, 1, B + 4 * H, 2, billing);
	feed_tags(r, PROTO_T_TICKET_UPDATED, 3, B + 5 * H, 0, vip);     /* C: +vip */
	feed_reply(r, 4, B + 5 * H);
	feed_tags(r, PROTO_T_TICKET_CLOSED, 3, B + 6 * H, 0, vip);
	feed_tags(r, PROTO_T_TICKET_RATED, 3, B + 7 * H, 4, vip);
	feed_tags(r, PROTO_T_TICKET_CLOSED, 5, B + 8 * H, 0, billing);
	feed_tags(r, PROTO_T_TICKET_RATED, 5, B + 9 * H, 5, billing);
	assert_int_equal(report_finish(r), GW_OK);
	assert_int_equal(report_rows(r), 3);
	assert_string_equal(report_row(r, 0)->key, "-"); /* sorted by key */
	row = row_named(r, "-");
	assert_int_equal(row->opened, 1);
	assert_int_equal(row->closed, 0);
	times(&row->first_response, 2, 2 * H, 3 * H);
	assert_int_equal(row->backlog, 1);
	assert_int_equal(row->csat_count, 0);
	row = row_named(r, "billing");
	assert_int_equal(row->opened, 2);
	assert_int_equal(row->closed, 2);
	times(&row->first_response, 2, 2 * H, 3 * H);
	times(&row->resolution, 2, 6 * H, 10 * H);
	assert_int_equal(row->fcr, 1);
	assert_int_equal(row->sla_fr_met, 2);
	assert_int_equal(row->backlog, 1);
	assert_int_equal(row->csat_count, 2);
	assert_int_equal(row->csat_sum, 7);
	row = row_named(r, "vip");
	assert_int_equal(row->opened, 2);
	assert_int_equal(row->closed, 1);
	times(&row->first_response, 1, 3 * H, 3 * H);
	times(&row->resolution, 1, 4 * H, 4 * H);
	assert_int_equal(row->fcr, 1);
	assert_int_equal(row->backlog, 1);
	assert_int_equal(row->csat_count, 1);
	assert_int_equal(row->csat_sum, 4);
	assert_int_equal(report_open_now(r), 2); /* B and D: once each */
	report_free(r);
}

/* By tag: the name, the JSON key, the bound of tags a ticket, and a tag
 * given twice counted once. */
static void test_by_tag_bounds(void **state)
{
	static const char *const twice[] = {"vip", "vip", NULL};
	const char *many[REPORT_TICKET_TAGS + 2];
	char names[REPORT_TICKET_TAGS + 1][16];
	enum report_by by = REPORT_BY_DAY;
	struct proto_event ev = {.type = PROTO_T_TICKET_UPDATED, .ts = H};
	struct report *r = NULL;
	json_t *j;

	(void)state;
	assert_int_equal(report_by_parse("tag", &by), GW_OK);
	assert_int_equal(by, REPORT_BY_TAG);
	assert_string_equal(report_by_name(REPORT_BY_TAG), "tag");
	for (int i = 0; i <= REPORT_TICKET_TAGS; i++) {
		snprintf(names[i], sizeof(names[i]), "t%02d", i);
		many[i] = names[i];
	}
	many[REPORT_TICKET_TAGS] = NULL;
	assert_int_equal(report_create(NULL, 0, DAY, REPORT_BY_TAG, &r), GW_OK);
	feed_tags(r, PROTO_T_TICKET_CREATED, 1, H, 0, many);
	feed_tags(r, PROTO_T_TICKET_CREATED, 2, H, 0, twice);
	assert_int_equal(report_finish(r), GW_OK);
	assert_int_equal(report_rows(r), REPORT_TICKET_TAGS + 1);
	assert_int_equal(row_named(r, "t31")->opened, 1);
	assert_int_equal(row_named(r, "vip")->opened, 1);
	assert_int_equal(row_named(r, "vip")->backlog, 1);
	j = report_json(r);
	assert_string_equal(json_string_value(json_object_get(j, "by")), "tag");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(j, "rows"), 0), "tag")),
			    "t00");
	json_decref(j);
	ev.u.ticket.ticket_id = 1; /* one tag more than a ticket may have */
	ev.u.ticket.status = "open";
	many[REPORT_TICKET_TAGS] = names[REPORT_TICKET_TAGS];
	ev.u.ticket.tags = (char **)many;
	ev.u.ticket.tags_len = REPORT_TICKET_TAGS + 1;
	assert_int_equal(report_feed(r, &ev), GW_EFULL);
	report_free(r);
}

static void test_bad_calendar(void **state)
{
	struct gw_routing_hours bad[] = {{"office", "UTC", "mon-fry 09:00-17:00"}};
	struct gw_config_routing rt = routing;
	struct report *r = NULL;

	(void)state;
	rt.business_hours = bad;
	assert_int_equal(report_create(&rt, 0, 1, REPORT_BY_DAY, &r), GW_ECONFIG);
	assert_null(r);
	assert_int_equal(report_create(NULL, 1, 1, REPORT_BY_DAY, &r), GW_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_median_p90),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_bad_calendar),
		cmocka_unit_test(test_merged_and_rated),
		cmocka_unit_test(test_next_response_outcomes),
		cmocka_unit_test(test_by_tag),
		cmocka_unit_test(test_by_tag_bounds),
		cmocka_unit_test_setup_teardown(test_week_by_day, week_setup, week_teardown),
		cmocka_unit_test_setup_teardown(test_week_by_queue, week_setup, week_teardown),
		cmocka_unit_test_setup_teardown(test_week_by_agent_and_output, week_setup,
						week_teardown),
		cmocka_unit_test_setup_teardown(test_incremental, week_setup, week_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

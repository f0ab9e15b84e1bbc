/*
 * report.h - helpdesk figures computed from the event log (docs/reports.md).
 *
 * A report replays the router's events in seq order and keeps, for every
 * ticket it has seen, what the figures need (its channel, queue and agent,
 * when it was opened, whether it was answered). Events whose time falls in
 * the window [from_ms, to_ms) count; earlier ones only build that state, so
 * a report over any window is exact and the same after a restart: it reads
 * the log, not counters.
 *
 * Rows are grouped by one dimension (channel, queue, agent, UTC day or
 * tag); each row holds:
 *   opened, reopened, closed   ticket.created / .reopened / .closed
 *   first response             ticket.created -> its first message.sent
 *                              (automatic messages are no responses)
 *   resolution                 opening (creation or reopening) -> close
 *   next response              a message.received after a reply -> the next
 *                              message.sent on the ticket
 *       the three times in business ms of the ticket's queue calendar
 *       (routing.queues[].business_hours; 24/7 without one), as median and
 *       p90 (report_median, report_p90)
 *   sla met / breached         per clock, the final state a ticket.closed
 *                              carries (sla_first_response, sla_resolution);
 *                              next response: each clock's outcome when it
 *                              happens (a ticket has one clock per answered
 *                              customer message): met from the ticket event
 *                              whose sla_next_response turns "met", breached
 *                              from ticket.sla_breached (clock next_response)
 *                              or a ticket event turning it "breached"
 *   fcr                        closed with exactly one reply and no reopening
 *   backlog                    tickets open at the end of the row's day (by
 *                              day) or of the window (other dimensions); a
 *                              ticket.merged takes its ticket out, counting
 *                              no close
 *   csat                       ticket.rated: count and sum of csat_score
 * A row's key is the ticket's value when the event happened ("-" for no
 * queue or no agent). By tag an event counts in the row of every tag the
 * ticket has when it happens (as the ticket event that carries the change
 * says it, in seq order; "-" for a ticket without tags), so the rows do
 * not add up to the total; the backlog counts each ticket open at the
 * window's end in the rows of its tags then. A new dimension is a case of
 * enum report_by and of report_keys() (report_int.h).
 *
 * Bounds: at most REPORT_MAX_TICKETS tickets tracked, REPORT_MAX_ROWS rows,
 * REPORT_MAX_SAMPLES time samples and, by tag, REPORT_MAX_TAG_NAMES
 * distinct tags and REPORT_TICKET_TAGS tags a ticket (the router's own
 * limit, PROTO_MAX_TAGS); past them feeding fails GW_EFULL.
 * Threading: a report is used by one thread at a time.
 */
#ifndef GW_REPORT_H
#define GW_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

struct proto_event;
struct gw_config_routing;
struct store;

#define REPORT_MAX_TICKETS (4u * 1024 * 1024)
#define REPORT_MAX_ROWS 100000u
#define REPORT_MAX_SAMPLES (16u * 1024 * 1024)
#define REPORT_KEY_MAX 80 /* bytes of a row key, NUL included (a tag is 64) */
#define REPORT_TICKET_TAGS 32 /* tags of a ticket: PROTO_MAX_TAGS */
#define REPORT_MAX_TAG_NAMES 65535u /* distinct tags of a report by tag */

enum report_by {
	REPORT_BY_CHANNEL,
	REPORT_BY_QUEUE,
	REPORT_BY_AGENT,
	REPORT_BY_DAY,
	REPORT_BY_TAG, /* a ticket counts in the row of each of its tags */
};

/* The time figures of one row: samples in business ms. */
struct report_times {
	int64_t *v;
	size_t n, cap;
};

/* One row; borrowed from the report, valid until it changes or is freed. */
struct report_row {
	char key[REPORT_KEY_MAX];
	uint64_t opened, reopened, closed;
	struct report_times first_response, resolution, next_response;
	uint64_t sla_fr_met, sla_fr_breached, sla_res_met, sla_res_breached;
	uint64_t sla_nr_met, sla_nr_breached; /* next-response outcomes */
	uint64_t fcr;
	uint64_t backlog;
	uint64_t csat_count;
	uint64_t csat_sum;
};

struct report;

/*
 * report_by_parse - "channel", "queue", "agent", "day" or "tag" into *by;
 * GW_OK or GW_EINVAL.
 */
int report_by_parse(const char *s, enum report_by *by);
const char *report_by_name(enum report_by by);

/*
 * report_date_parse - "YYYY-MM-DD" (UTC) into ms since the epoch of its
 * 00:00; GW_OK or GW_EINVAL (not a date, or before 1970).
 */
int report_date_parse(const char *s, int64_t *ms);

/*
 * report_create - an empty report over [from_ms, to_ms) grouped `by`.
 * `routing` (borrowed, may be NULL: every queue 24/7) gives the queues'
 * calendars, parsed here. *out is owned by the caller (report_free).
 * GW_OK, GW_EINVAL (to <= from), GW_ECONFIG (a calendar does not parse; it
 * is logged), GW_ENOMEM.
 */
int report_create(const struct gw_config_routing *routing, int64_t from_ms, int64_t to_ms,
		  enum report_by by, struct report **out);

/* report_free - accepts NULL. */
void report_free(struct report *r);

/*
 * report_feed - takes one event (borrowed), in seq order. Events of other
 * types are ignored. By tag, every ticket event sets the ticket's tags to
 * those its body carries (the router emits the whole ticket: a tag change
 * is the ticket.updated that carries it). GW_OK, GW_EFULL (a bound above,
 * or more than REPORT_TICKET_TAGS tags in a body), GW_ENOMEM; after an
 * error the report is incomplete and should be dropped.
 */
int report_feed(struct report *r, const struct proto_event *ev);

/*
 * report_rewindow - starts a new window [from_ms, to_ms) on the tickets seen
 * so far: rows are emptied, the ticket state is kept, so that feeding goes
 * on from the next seq (gateway-metrics moves "today" this way). GW_OK or
 * GW_EINVAL.
 */
int report_rewindow(struct report *r, int64_t from_ms, int64_t to_ms);

/*
 * report_finish - computes the backlog of the rows (call once every event
 * up to the window's end is fed; the report may be fed again after it,
 * and finished again). GW_OK or GW_ENOMEM / GW_EFULL.
 */
int report_finish(struct report *r);

/* report_rows / report_row - the rows, sorted by key after report_finish. */
size_t report_rows(const struct report *r);
const struct report_row *report_row(const struct report *r, size_t i);

/* report_last_seq - the seq of the last event fed, 0 before any. */
uint64_t report_last_seq(const struct report *r);

/* report_open_now - tickets open after the last event fed. */
uint64_t report_open_now(const struct report *r);

/*
 * report_from_store - feeds `r` from the event log of `st` (read-only txn),
 * from seq report_last_seq(r) + 1 to the head, then finishes it. Events that
 * do not decode are skipped with a warning. GW_OK, GW_ESTORE, the errors of
 * report_feed.
 */
int report_from_store(struct report *r, struct store *st);

/* --- statistics (report_stats.c) ---------------------------------------- */

/* report_times_add - appends `ms`. GW_OK, GW_ENOMEM, GW_EFULL. */
int report_times_add(struct report_times *t, int64_t ms, size_t *total);

/*
 * report_median / report_p90 - of the n values at v (sorted in place), -1
 * when n is 0. The median of an even count is the mean of the two middle
 * values (rounded down); p90 is the nearest rank: the ceil(0.9 n)-th
 * smallest value.
 */
int64_t report_median(int64_t *v, size_t n);
int64_t report_p90(int64_t *v, size_t n);

/* --- output (report_out.c) ----------------------------------------------- */

/*
 * report_json - the rows as {"from","to","by","rows":[{...}]} (times in
 * seconds, null when no sample; rates as numbers 0..1, null when no
 * denominator). New reference owned by the caller, NULL on ENOMEM.
 */
json_t *report_json(struct report *r);

/* report_write_csv / report_write_table - the same figures as CSV (a header
 * line, RFC 4180) or an aligned text table. GW_OK or GW_EIO. */
int report_write_csv(struct report *r, FILE *f);
int report_write_table(struct report *r, FILE *f);

#endif

/*
 * report_feed.c - what each event adds to a report (report.h): the ticket
 * state it moves, and the figures of its row when its time is in the
 * window.
 */
#include "gateway/report/report_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "proto/proto.h"

#define DAY_MS 86400000LL

static int in_window(const struct report *r, int64_t ts)
{
	return ts >= r->from_ms && ts < r->to_ms;
}

/* take_attrs - the ticket's channel, queue and agent from a ticket body,
 * and by tag its tags (kept by that dimension only). */
static int take_attrs(struct report *r, struct rticket *t, const struct proto_ticket *b)
{
	int rc;

	rc = report_intern(r, b->channel, &t->channel);
	if (rc == GW_OK)
		rc = report_intern(r, b->queue, &t->queue);
	if (rc == GW_OK)
		rc = report_intern(r, b->agent_id, &t->agent);
	if (rc == GW_OK && r->by == REPORT_BY_TAG)
		rc = report_tags_take(r, t, b->tags, b->tags_len);
	return rc;
}

/* rows_of - the rows of ticket `t` for an event at `ts` (report_keys),
 * created when new, as indexes into r->rows (a new row may move the
 * others); *n is 1 to REPORT_MAX_KEYS. */
static int rows_of(struct report *r, const struct rticket *t, int64_t ts, size_t *idx, size_t *n)
{
	char keys[REPORT_MAX_KEYS][REPORT_KEY_MAX];
	struct report_row *row;
	int rc = GW_OK;

	*n = report_keys(r, t, ts, keys);
	for (size_t i = 0; i < *n && rc == GW_OK; i++) {
		rc = report_row_get(r, keys[i], &row);
		if (rc == GW_OK)
			idx[i] = (size_t)(row - r->rows);
	}
	return rc;
}

/* close_days - by day: the backlog of every day that ended before `ts`. */
static int close_days(struct report *r, int64_t ts)
{
	struct report_row *row;
	char key[REPORT_KEY_MAX];
	int rc;

	while (r->by == REPORT_BY_DAY && ts >= r->day_end && r->day_end <= r->to_ms) {
		if (r->day_end > r->from_ms) {
			report_day_key(r->day_end - 1, key, sizeof(key));
			rc = report_row_get(r, key, &row);
			if (rc)
				return rc;
			row->backlog = r->open_total;
		}
		r->day_end += DAY_MS;
	}
	return GW_OK;
}

static void set_open(struct report *r, struct rticket *t, int open)
{
	if (t->open && !open)
		r->open_total--;
	else if (!t->open && open)
		r->open_total++;
	t->open = (uint8_t)open;
}

/* ticket_of - the ticket of a ticket event, with its attributes; one first
 * seen in a later event (its creation is before the log's start) is taken
 * as it is described. */
static int ticket_of(struct report *r, const struct proto_event *ev, struct rticket **out)
{
	const struct proto_ticket *b = &ev->u.ticket;
	int fresh, rc;

	fresh = report_ticket_find(r, b->ticket_id) == NULL;
	rc = report_ticket_add(r, b->ticket_id, out);
	if (rc)
		return rc;
	if (fresh) {
		(*out)->opened_at = b->sla_started_at ? b->sla_started_at : b->opened_at;
		(*out)->answered = b->first_response_at != 0;
		(*out)->nr_done = 1; /* a next-response outcome it carries came before */
		set_open(r, *out, b->status && strcmp(b->status, "open") == 0);
	}
	return take_attrs(r, *out, b);
}

static void count_sla(struct report_row *row, const struct proto_ticket *b)
{
	if (b->sla_first_response && strcmp(b->sla_first_response, "met") == 0)
		row->sla_fr_met++;
	else if (b->sla_first_response && strcmp(b->sla_first_response, "breached") == 0)
		row->sla_fr_breached++;
	if (b->sla_resolution && strcmp(b->sla_resolution, "met") == 0)
		row->sla_res_met++;
	else if (b->sla_resolution && strcmp(b->sla_resolution, "breached") == 0)
		row->sla_res_breached++;
}

/*
 * nr_outcome - the next-response outcome ticket event `b` records for `t`:
 * 1 met, 2 breached, 0 none or counted already. Each clock counts once: the
 * later events of the ticket carry its final state until a customer message
 * or a reopening starts the next clock ("running"), which clears the mark.
 * A close before the reply ("stopped") is no outcome.
 */
static int nr_outcome(struct rticket *t, const struct proto_ticket *b)
{
	const char *s = b->sla_next_response;
	int out = 0;

	if (!s || strcmp(s, "running") == 0 || strcmp(s, "warning") == 0) {
		t->nr_done = 0;
		return 0;
	}
	if (!t->nr_done && strcmp(s, "met") == 0)
		out = 1;
	else if (!t->nr_done && strcmp(s, "breached") == 0)
		out = 2;
	t->nr_done = 1;
	return out;
}

/* counted - the ticket events that add to a row (the others move state). */
static int counted(enum proto_type type)
{
	return type == PROTO_T_TICKET_CREATED || type == PROTO_T_TICKET_REOPENED ||
	       type == PROTO_T_TICKET_CLOSED || type == PROTO_T_TICKET_RATED;
}

/* count_event - what ticket event `ev` of `t` adds to one of its rows. */
static int count_event(struct report *r, const struct rticket *t, const struct proto_event *ev,
		       struct report_row *row)
{
	if (ev->type == PROTO_T_TICKET_RATED) {
		row->csat_count += ev->u.ticket.csat_score >= 1 && ev->u.ticket.csat_score <= 5;
		row->csat_sum += ev->u.ticket.csat_score <= 5 ? ev->u.ticket.csat_score : 0;
		return GW_OK;
	}
	if (ev->type == PROTO_T_TICKET_CREATED)
		row->opened++;
	else if (ev->type == PROTO_T_TICKET_REOPENED)
		row->reopened++;
	if (ev->type != PROTO_T_TICKET_CLOSED)
		return GW_OK;
	row->closed++;
	row->fcr += t->replies == 1 && !t->reopened;
	count_sla(row, &ev->u.ticket);
	return report_times_add(&row->resolution,
				report_business_ms(r, t->queue, t->opened_at, ev->ts), &r->samples);
}

static int on_ticket(struct report *r, const struct proto_event *ev)
{
	size_t idx[REPORT_MAX_KEYS], n = 0;
	struct rticket *t;
	int nr, rc;

	rc = ticket_of(r, ev, &t);
	if (rc)
		return rc;
	nr = nr_outcome(t, &ev->u.ticket);
	if (ev->type == PROTO_T_TICKET_CREATED || ev->type == PROTO_T_TICKET_REOPENED) {
		t->opened_at = ev->ts;
		t->reopened |= ev->type == PROTO_T_TICKET_REOPENED;
		set_open(r, t, 1);
	} else if (ev->type == PROTO_T_TICKET_CLOSED || ev->type == PROTO_T_TICKET_MERGED) {
		set_open(r, t, 0); /* a merged ticket leaves the backlog, resolving nothing */
	}
	if (!in_window(r, ev->ts) || (!counted(ev->type) && !nr))
		return GW_OK;
	rc = rows_of(r, t, ev->ts, idx, &n);
	for (size_t i = 0; i < n && rc == GW_OK; i++) {
		r->rows[idx[i]].sla_nr_met += nr == 1;
		r->rows[idx[i]].sla_nr_breached += nr == 2;
		if (counted(ev->type))
			rc = count_event(r, t, ev, &r->rows[idx[i]]);
	}
	return rc;
}

/* on_breached - ticket.sla_breached of a next-response clock is that
 * clock's outcome (the other clocks count by their ticket.closed). */
static int on_breached(struct report *r, const struct proto_event *ev)
{
	const struct proto_sla_alert *a = &ev->u.sla;
	struct rticket *t = report_ticket_find(r, a->ticket_id);
	size_t idx[REPORT_MAX_KEYS], n = 0;
	int rc;

	if (!t || t->nr_done || !a->clock || strcmp(a->clock, "next_response") != 0)
		return GW_OK;
	t->nr_done = 1;
	if (!in_window(r, ev->ts))
		return GW_OK;
	rc = rows_of(r, t, ev->ts, idx, &n);
	for (size_t i = 0; i < n && rc == GW_OK; i++)
		r->rows[idx[i]].sla_nr_breached++;
	return rc;
}

static int on_received(struct report *r, const struct proto_event *ev)
{
	struct rticket *t = report_ticket_find(r, ev->u.message.ticket_id);

	/* Only an open ticket waits for a response (a closed one's rating does not). */
	if (t && t->open && t->replies && !t->awaiting_since)
		t->awaiting_since = ev->ts;
	return GW_OK;
}

static int on_sent(struct report *r, const struct proto_event *ev)
{
	struct rticket *t = report_ticket_find(r, ev->u.message.ticket_id);
	size_t idx[REPORT_MAX_KEYS], n = 0;
	int64_t since, ms;
	int first, rc;

	/* No ticket, a closed one's (its satisfaction survey), or an automatic
	 * message (an acknowledgement): no response of an agent. */
	if (!t || !t->open || ev->u.message.automatic)
		return GW_OK;
	first = !t->answered;
	since = first ? t->opened_at : t->awaiting_since;
	t->answered = 1;
	t->awaiting_since = 0;
	t->replies++;
	if (!since || !in_window(r, ev->ts))
		return GW_OK;
	ms = report_business_ms(r, t->queue, since, ev->ts);
	rc = rows_of(r, t, ev->ts, idx, &n);
	for (size_t i = 0; i < n && rc == GW_OK; i++) {
		struct report_row *row = &r->rows[idx[i]];

		rc = report_times_add(first ? &row->first_response : &row->next_response, ms,
				      &r->samples);
	}
	return rc;
}

int report_feed(struct report *r, const struct proto_event *ev)
{
	int rc;

	rc = close_days(r, ev->ts);
	if (rc)
		return rc;
	if (ev->seq)
		r->last_seq = ev->seq;
	switch (ev->type) {
	case PROTO_T_TICKET_CREATED:
	case PROTO_T_TICKET_UPDATED:
	case PROTO_T_TICKET_ASSIGNED:
	case PROTO_T_TICKET_CLOSED:
	case PROTO_T_TICKET_REOPENED:
	case PROTO_T_TICKET_PRIORITY_CHANGED:
	case PROTO_T_TICKET_MERGED:
	case PROTO_T_TICKET_SPLIT:
	case PROTO_T_TICKET_RATED:
		return on_ticket(r, ev);
	case PROTO_T_MESSAGE_RECEIVED:
		return on_received(r, ev);
	case PROTO_T_MESSAGE_SENT:
		return on_sent(r, ev);
	case PROTO_T_TICKET_SLA_BREACHED:
		return on_breached(r, ev);
	default:
		return GW_OK;
	}
}

/* day_backlogs - by day: the days still to close up to the window's end,
 * that have begun, get the backlog of now; the cursor stays, so that later
 * events of those days set it again. */
static int day_backlogs(struct report *r)
{
	struct report_row *row;
	char key[REPORT_KEY_MAX];
	int64_t now = gw_now_ms();
	int rc;

	for (int64_t end = r->day_end; end - DAY_MS < r->to_ms && end - DAY_MS <= now;
	     end += DAY_MS) {
		if (end <= r->from_ms)
			continue;
		report_day_key(end - 1, key, sizeof(key));
		rc = report_row_get(r, key, &row);
		if (rc)
			return rc;
		row->backlog = r->open_total;
	}
	return GW_OK;
}

/* key_backlogs - other dimensions: the open tickets by their keys now (by
 * tag, in the row of each tag a ticket has). */
static int key_backlogs(struct report *r)
{
	size_t idx[REPORT_MAX_KEYS], n = 0;
	int rc = GW_OK;

	for (size_t i = 0; i < r->n_rows; i++)
		r->rows[i].backlog = 0;
	for (size_t i = 0; i < r->cap && rc == GW_OK; i++) {
		if (!r->tickets[i].id || !r->tickets[i].open)
			continue;
		rc = rows_of(r, &r->tickets[i], 0, idx, &n);
		for (size_t k = 0; k < n && rc == GW_OK; k++)
			r->rows[idx[k]].backlog++;
	}
	return rc;
}

static int cmp_rows(const void *a, const void *b)
{
	return strcmp(((const struct report_row *)a)->key, ((const struct report_row *)b)->key);
}

int report_finish(struct report *r)
{
	int rc;

	rc = r->by == REPORT_BY_DAY ? day_backlogs(r) : key_backlogs(r);
	if (rc)
		return rc;
	if (r->n_rows < 2)
		return GW_OK;
	qsort(r->rows, r->n_rows, sizeof(*r->rows), cmp_rows);
	return report_rows_index(r, r->row_index_cap); /* rows moved */
}

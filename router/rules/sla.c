/*
 * sla.c - SLA clocks: how long a ticket may wait for its first reply and
 * for its resolution, counted in its queue's business hours.
 *
 *   targets   the first routing.sla[] row whose non-empty queue, channel and
 *             priority (absent: "normal") match the ticket; with no row at
 *             all: first response 60 min (livechat 5 min), resolution 24 h,
 *             no next response, warning at 80 %. A target of 0 is no clock.
 *   next      the next-response clock: once the first reply went out, the
 *             customer's first message after a reply starts it
 *             (t->next_response_started_at), the next reply stops it (met,
 *             or breached when late); closing stops it. A reopening of an
 *             answered ticket starts it too.
 *   clocks    each clock starts at t->sla_started_at (the opening, or the
 *             reopening that restarted it); its due is the instant its target
 *             of business time has passed, its warning the instant
 *             warning_percent of it has. States: running -> warning ->
 *             breached, or met / stopped when the reply or the close came.
 *   timers    every warning and due of a running clock is an sla_due entry
 *             (store/sla.c); sla_fire, called by the router's timer, turns
 *             those that came into ticket.sla_warning / ticket.sla_breached.
 *             An entry that no longer stands for a running clock (the ticket
 *             closed, was answered, or its target changed) is dropped
 *             silently when its time comes: entries are deleted eagerly when
 *             their instant can be computed, and checked when they fire.
 */
#include "router/router.h"

#include <stdlib.h>
#include <string.h>

#include "core/calendar.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define S_MS 1000LL
#define SLA_FIRE_MAX 256 /* entries handled per call; the timer comes back */

/* Defaults when routing.sla has no row at all (docs/config.md). */
#define SLA_DEFAULT_FIRST_S (60 * 60)
#define SLA_DEFAULT_FIRST_LIVECHAT_S (5 * 60)
#define SLA_DEFAULT_RESOLUTION_S (24 * 3600)
#define SLA_DEFAULT_WARNING_PERCENT 80

/* The targets that apply to a ticket now. */
struct sla_target {
	int64_t first_s, resolution_s, next_s; /* seconds; 0: no clock */
	int64_t percent;                   /* warning share, 1..99 */
	const struct cal *cal;             /* NULL: around the clock */
};

/* One of the two clocks of a ticket, as views into the ticket. */
struct sla_clock {
	const char *name;      /* "first_response", "resolution", "next_response" */
	unsigned warn, breach; /* STORE_SLA_* */
	int64_t target_s;
	int64_t *start;        /* &t->sla_started_at, or &t->next_response_started_at */
	int64_t *due;          /* &t->first_response_due or &t->resolution_due */
	char **state;          /* &t->sla_first_response or &t->sla_resolution */
};

enum { CLOCK_FIRST, CLOCK_RESOLUTION, CLOCK_NEXT };

static int str_is(const char *s, const char *v)
{
	return s && strcmp(s, v) == 0;
}

/* field_matches - an empty row field matches anything, else it is equal. */
static int field_matches(const char *row, const char *value)
{
	return !row || !row[0] || str_is(value, row);
}

/* sla_target_of - the targets and calendar of `t` in the current config. */
static void sla_target_of(const struct routing *rt, const struct proto_ticket *t,
			  struct sla_target *tg)
{
	const struct gw_config_routing *cfg = rt->cfg;
	const char *priority = t->priority ? t->priority : "normal";
	size_t qi;

	memset(tg, 0, sizeof(*tg));
	if (routing_queue(rt, t->queue, &qi))
		tg->cal = rt->queue_cal[qi];
	if (cfg->n_sla == 0) {
		tg->first_s = str_is(t->channel, "livechat") ? SLA_DEFAULT_FIRST_LIVECHAT_S
							     : SLA_DEFAULT_FIRST_S;
		tg->resolution_s = SLA_DEFAULT_RESOLUTION_S;
		tg->percent = SLA_DEFAULT_WARNING_PERCENT;
		return;
	}
	for (size_t i = 0; i < cfg->n_sla; i++) {
		const struct gw_routing_sla *row = &cfg->sla[i];

		if (field_matches(row->queue, t->queue) && field_matches(row->channel, t->channel) &&
		    field_matches(row->priority, priority)) {
			tg->first_s = row->first_response_s;
			tg->resolution_s = row->resolution_s;
			tg->next_s = row->next_response_s;
			tg->percent = row->warning_percent;
			return;
		}
	}
}

static void clock_of(struct proto_ticket *t, const struct sla_target *tg, int which,
		     struct sla_clock *ck)
{
	if (which == CLOCK_FIRST)
		*ck = (struct sla_clock){"first_response", STORE_SLA_FIRST_WARN,
					 STORE_SLA_FIRST_BREACH, tg->first_s, &t->sla_started_at,
					 &t->first_response_due, &t->sla_first_response};
	else if (which == CLOCK_RESOLUTION)
		*ck = (struct sla_clock){"resolution", STORE_SLA_RESOLUTION_WARN,
					 STORE_SLA_RESOLUTION_BREACH, tg->resolution_s,
					 &t->sla_started_at, &t->resolution_due, &t->sla_resolution};
	else
		*ck = (struct sla_clock){"next_response", STORE_SLA_NEXT_WARN,
					 STORE_SLA_NEXT_BREACH, tg->next_s,
					 &t->next_response_started_at, &t->next_response_due,
					 &t->sla_next_response};
}

/* business_add - `ms` of business time after `start`; INT64_MAX: never. */
static int64_t business_add(const struct cal *cal, int64_t start, int64_t ms)
{
	if (cal)
		return cal_add(cal, start, ms);
	return ms > INT64_MAX - start ? INT64_MAX : start + ms;
}

/* warn_at - the instant the clock's warning falls due from `start`. */
static int64_t warn_at(const struct sla_target *tg, const struct sla_clock *ck, int64_t start)
{
	return business_add(tg->cal, start, ck->target_s * S_MS * tg->percent / 100);
}

static int set_state(char **state, const char *value)
{
	char *copy = NULL;

	if (value && !(copy = gw_strdup(value)))
		return GW_ENOMEM;
	free(*state);
	*state = copy;
	return GW_OK;
}

/* clock_live - a clock that still counts (its entries stand). */
static int clock_live(const struct sla_clock *ck)
{
	return *ck->due && (str_is(*ck->state, "running") || str_is(*ck->state, "warning"));
}

/*
 * clock_schedule - starts the clock at `start`: its due, state "running"
 * and its two sla_due entries. A target of 0, or a calendar never open, is
 * no clock: due 0 and no state.
 */
static int clock_schedule(struct batch *b, struct proto_ticket *t, const struct sla_target *tg,
			  const struct sla_clock *ck, int64_t start)
{
	int64_t due = ck->target_s > 0 ? business_add(tg->cal, start, ck->target_s * S_MS)
				       : INT64_MAX;
	int rc;

	if (due == INT64_MAX) {
		*ck->due = 0;
		return set_state(ck->state, NULL);
	}
	*ck->due = due;
	rc = set_state(ck->state, "running");
	if (rc == GW_OK)
		rc = store_sla_add(b->txn, due, t->ticket_id, ck->breach);
	if (rc == GW_OK)
		rc = store_sla_add(b->txn, warn_at(tg, ck, start), t->ticket_id, ck->warn);
	return rc;
}

/*
 * clock_unschedule - deletes the entries of a live clock: its due, and its
 * warning as the current targets place it (after a change of target the
 * old warning is left for sla_fire to drop).
 */
static int clock_unschedule(struct batch *b, const struct proto_ticket *t,
			    const struct sla_target *tg, const struct sla_clock *ck)
{
	int rc;

	if (!clock_live(ck))
		return GW_OK;
	rc = store_sla_del(b->txn, *ck->due, t->ticket_id, ck->breach);
	if (rc == GW_OK && ck->target_s > 0 && *ck->start)
		rc = store_sla_del(b->txn, warn_at(tg, ck, *ck->start), t->ticket_id, ck->warn);
	return rc;
}

/* clock_end - the clock stops at `at`: `done` ("met", "stopped") when it
 * was still counting, "breached" when `at` is past its due. */
static int clock_end(struct batch *b, struct proto_ticket *t, const struct sla_target *tg,
		     const struct sla_clock *ck, int64_t at, const char *done)
{
	int rc;

	if (!clock_live(ck))
		return GW_OK;
	rc = clock_unschedule(b, t, tg, ck);
	if (rc == GW_OK)
		rc = set_state(ck->state, at > *ck->due ? "breached" : done);
	return rc;
}

int sla_start(struct batch *b, struct proto_ticket *t, int64_t now_ms)
{
	struct sla_target tg;
	struct sla_clock first, res, next;
	int reopened = t->reopen_count > 0;
	int rc;

	sla_target_of(b->rt, t, &tg);
	clock_of(t, &tg, CLOCK_FIRST, &first);
	clock_of(t, &tg, CLOCK_RESOLUTION, &res);
	clock_of(t, &tg, CLOCK_NEXT, &next);
	/* Whatever still stood of an earlier start goes first. */
	rc = clock_unschedule(b, t, &tg, &first);
	if (rc == GW_OK)
		rc = clock_unschedule(b, t, &tg, &res);
	if (rc == GW_OK)
		rc = clock_unschedule(b, t, &tg, &next);
	if (rc)
		return rc;
	t->sla_started_at = reopened || !t->opened_at ? now_ms : t->opened_at;
	/* A reopened ticket owes a first reply only if it never had one and
	 * that clock did not already breach; its resolution starts again. */
	if (!reopened || (!t->first_response_at && !str_is(t->sla_first_response, "breached")))
		rc = clock_schedule(b, t, &tg, &first, t->sla_started_at);
	if (rc == GW_OK)
		rc = clock_schedule(b, t, &tg, &res, t->sla_started_at);
	/* A reopening of an answered ticket is a message owed a next reply. */
	if (rc == GW_OK && reopened && t->first_response_at) {
		t->next_response_started_at = t->sla_started_at;
		rc = clock_schedule(b, t, &tg, &next, t->sla_started_at);
	}
	if (rc == GW_OK)
		rc = escalation_schedule(b, t);
	return rc;
}

int sla_first_reply(struct batch *b, struct proto_ticket *t, int64_t at_ms)
{
	struct sla_target tg;
	struct sla_clock first;

	if (t->first_response_at)
		return GW_OK;
	t->first_response_at = at_ms;
	sla_target_of(b->rt, t, &tg);
	clock_of(t, &tg, CLOCK_FIRST, &first);
	return clock_end(b, t, &tg, &first, at_ms, "met");
}

int sla_inbound(struct batch *b, struct proto_ticket *t, int64_t at_ms)
{
	struct sla_target tg;
	struct sla_clock next;

	if (!t->first_response_at || !str_is(t->status, "open"))
		return GW_OK;
	sla_target_of(b->rt, t, &tg);
	clock_of(t, &tg, CLOCK_NEXT, &next);
	if (clock_live(&next) || tg.next_s <= 0)
		return GW_OK; /* counting from the first unanswered message */
	t->next_response_started_at = at_ms;
	return clock_schedule(b, t, &tg, &next, at_ms);
}

int sla_reply(struct batch *b, struct proto_ticket *t, int64_t at_ms, int *changed)
{
	struct sla_target tg;
	struct sla_clock next;

	*changed = 0;
	if (!t->first_response_at) {
		*changed = 1;
		return sla_first_reply(b, t, at_ms);
	}
	sla_target_of(b->rt, t, &tg);
	clock_of(t, &tg, CLOCK_NEXT, &next);
	if (!clock_live(&next))
		return GW_OK;
	*changed = 1;
	return clock_end(b, t, &tg, &next, at_ms, "met");
}

int sla_stop(struct batch *b, struct proto_ticket *t)
{
	int64_t at = t->closed_at ? t->closed_at : gw_now_ms();
	struct sla_target tg;
	struct sla_clock first, res, next;
	int rc;

	sla_target_of(b->rt, t, &tg);
	clock_of(t, &tg, CLOCK_FIRST, &first);
	clock_of(t, &tg, CLOCK_RESOLUTION, &res);
	clock_of(t, &tg, CLOCK_NEXT, &next);
	/* Closed without a first reply: that clock did not run out, it has
	 * nothing left to measure. The resolution is what closing meets. */
	rc = clock_end(b, t, &tg, &first, at, "stopped");
	if (rc == GW_OK)
		rc = clock_end(b, t, &tg, &res, at, "met");
	if (rc == GW_OK)
		rc = clock_end(b, t, &tg, &next, at, "stopped");
	return rc;
}

/*
 * retarget_clock - a clock counted again from its start with the current
 * target: a live one is rescheduled ("warning" stays when the new warning
 * has passed too), one the old target did not have starts. Met, breached
 * and stopped clocks keep their state.
 */
static int retarget_clock(struct batch *b, struct proto_ticket *t, const struct sla_target *tg,
			  const struct sla_clock *ck, int64_t now)
{
	int warned = str_is(*ck->state, "warning");
	int64_t warn;
	int rc = GW_OK;

	if (clock_live(ck))
		rc = store_sla_del(b->txn, *ck->due, t->ticket_id, ck->breach);
	else if (*ck->state || !str_is(t->status, "open") || ck->warn == STORE_SLA_NEXT_WARN ||
		 (ck->warn == STORE_SLA_FIRST_WARN && t->first_response_at))
		return GW_OK;
	/* The old warning entry stays: it no longer matches, sla_fire drops it. */
	if (rc == GW_OK)
		rc = clock_schedule(b, t, tg, ck, *ck->start);
	if (rc || !*ck->due || !warned)
		return rc;
	warn = warn_at(tg, ck, *ck->start);
	if (warn > now)
		return GW_OK; /* the new warning is still to come: it will say so */
	rc = store_sla_del(b->txn, warn, t->ticket_id, ck->warn);
	if (rc == GW_OK)
		rc = set_state(ck->state, "warning");
	return rc;
}

int sla_retarget(struct batch *b, struct proto_ticket *t)
{
	int64_t now = gw_now_ms();
	struct sla_target tg;
	struct sla_clock first, res, next;
	int rc;

	if (!t->sla_started_at)
		t->sla_started_at = t->opened_at;
	sla_target_of(b->rt, t, &tg);
	clock_of(t, &tg, CLOCK_FIRST, &first);
	clock_of(t, &tg, CLOCK_RESOLUTION, &res);
	clock_of(t, &tg, CLOCK_NEXT, &next);
	rc = retarget_clock(b, t, &tg, &first, now);
	if (rc == GW_OK)
		rc = retarget_clock(b, t, &tg, &res, now);
	if (rc == GW_OK)
		rc = retarget_clock(b, t, &tg, &next, now);
	return rc;
}

/* --- firing ---------------------------------------------------------------- */

struct due_entry {
	int64_t due;
	uint64_t ticket_id;
	unsigned what;
};

struct due_list {
	struct due_entry v[SLA_FIRE_MAX];
	size_t n;
};

static int collect_due(void *arg, int64_t due_ms, uint64_t ticket_id, unsigned what)
{
	struct due_list *l = arg;

	l->v[l->n++] = (struct due_entry){due_ms, ticket_id, what};
	return l->n >= SLA_FIRE_MAX;
}

/* entry_stands - whether entry `e` is a live instant of clock `ck` of `t`. */
static int entry_stands(const struct proto_ticket *t, const struct sla_target *tg,
			const struct sla_clock *ck, const struct due_entry *e)
{
	int warn = e->what == ck->warn;

	if (!str_is(t->status, "open") || !clock_live(ck) || ck->target_s <= 0)
		return 0;
	if (ck->warn == STORE_SLA_FIRST_WARN && t->first_response_at)
		return 0;
	if (!warn)
		return e->due == *ck->due;
	return str_is(*ck->state, "running") && *ck->start &&
	       e->due == warn_at(tg, ck, *ck->start);
}

/* emit_alert - ticket.sla_warning or ticket.sla_breached about clock `ck`,
 * indexed in the ticket's trace. */
static int emit_alert(struct batch *b, const struct proto_ticket *t, const struct sla_clock *ck,
		      int breached)
{
	struct proto_event ev;
	struct proto_sla_alert *a;
	int rc = proto_event_init(&ev, breached ? PROTO_T_TICKET_SLA_BREACHED
						 : PROTO_T_TICKET_SLA_WARNING);

	if (rc)
		return rc;
	a = &ev.u.sla;
	a->ticket_id = t->ticket_id;
	a->customer_id = t->customer_id;
	a->due_at = *ck->due;
	a->target_minutes = (uint64_t)ck->target_s / 60;
	a->target_seconds = (uint64_t)ck->target_s;
	a->clock = gw_strdup(ck->name);
	a->queue = gw_strdup(t->queue);
	a->priority = gw_strdup(t->priority ? t->priority : "normal");
	a->agent_id = gw_strdup(t->agent_id);
	if (!a->clock || !a->priority || (t->queue && !a->queue) || (t->agent_id && !a->agent_id))
		rc = GW_ENOMEM;
	if (rc == GW_OK)
		rc = batch_emit(b, &ev);
	if (rc == GW_OK)
		rc = store_ticket_trace_append(b->txn, t->ticket_id, ev.seq);
	proto_event_clear(&ev);
	return rc;
}

/* undecodable - whether `rc` of store_ticket_get says the stored record
 * does not decode (rather than memory or the store failing). */
static int undecodable(int rc)
{
	return rc == GW_EPROTO || rc == GW_EVERSION || rc == GW_ETYPE || rc == GW_EMISSING ||
	       rc == GW_ETOOBIG;
}

/* clock_of_entry - which clock an sla_due entry's `what` belongs to. */
static int clock_of_entry(unsigned what)
{
	if (what == STORE_SLA_FIRST_WARN || what == STORE_SLA_FIRST_BREACH)
		return CLOCK_FIRST;
	if (what == STORE_SLA_NEXT_WARN || what == STORE_SLA_NEXT_BREACH)
		return CLOCK_NEXT;
	return CLOCK_RESOLUTION;
}

/* fire_one - entry `e` (already deleted) of a ticket: an alert if it stands.
 * An entry whose ticket is gone or does not decode is dropped with a word
 * in the log: failing would keep it due, and hold back every other one. */
static int fire_one(struct batch *b, const struct due_entry *e)
{
	int which = clock_of_entry(e->what);
	int breached = e->what == STORE_SLA_FIRST_BREACH || e->what == STORE_SLA_RESOLUTION_BREACH ||
		       e->what == STORE_SLA_NEXT_BREACH;
	struct proto_ticket t;
	struct sla_target tg;
	struct sla_clock ck;
	int rc;

	memset(&t, 0, sizeof(t));
	rc = store_ticket_get(b->txn, e->ticket_id, &t);
	if (rc == GW_ENOTFOUND || undecodable(rc)) {
		GW_WARN("sla", "ticket %llu: %s; its SLA instant is dropped",
			(unsigned long long)e->ticket_id,
			rc == GW_ENOTFOUND ? "no such ticket" : "record does not decode");
		rc = GW_OK;
		goto out;
	}
	if (rc)
		goto out;
	if (e->what == STORE_SLA_UNASSIGNED) {
		rc = escalation_on_unassigned(b, &t, e->due);
		goto store;
	}
	sla_target_of(b->rt, &t, &tg);
	clock_of(&t, &tg, which, &ck);
	if (!entry_stands(&t, &tg, &ck, e))
		goto out;
	rc = set_state(ck.state, breached ? "breached" : "warning");
	if (rc == GW_OK)
		rc = emit_alert(b, &t, &ck, breached);
	if (rc == GW_OK)
		rc = escalation_on_sla(b, &t, ck.name, breached, *ck.due);
store:
	if (rc == GW_OK)
		rc = store_ticket_put(b->txn, &t);
out:
	proto_ticket_clear(&t);
	return rc;
}

int sla_fire(struct batch *b, int64_t now_ms)
{
	struct due_list *l = malloc(sizeof(*l));
	int rc;

	if (!l)
		return GW_ENOMEM;
	l->n = 0;
	rc = store_sla_scan(b->txn, now_ms, SLA_FIRE_MAX, collect_due, l);
	for (size_t i = 0; rc == GW_OK && i < l->n; i++) {
		rc = store_sla_del(b->txn, l->v[i].due, l->v[i].ticket_id, l->v[i].what);
		if (rc == GW_OK)
			rc = fire_one(b, &l->v[i]);
	}
	/* Entries dropped as stale emit nothing, yet their deletion must stay:
	 * otherwise they would be due again at once, for ever. */
	if (rc == GW_OK && l->n)
		b->keep = 1;
	free(l);
	return rc;
}

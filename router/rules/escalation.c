/*
 * escalation.c - routing.escalations[]: what the router's timers do to a
 * ticket that waits (docs/routing.md, *Escalations*).
 *
 *   triggers  sla_warning / sla_breached: sla.c's fire_one, as it publishes
 *             the alert (filtered by `clock`); unassigned: an sla_due entry
 *             STORE_SLA_UNASSIGNED at sla_started_at + after_s, added by
 *             sla_start for a ticket without an agent, fires it if the
 *             ticket is still open without one. Both run in the timer's
 *             transaction, so nothing needs traffic.
 *   filters   queues, channels, priorities (empty: any)
 *   actions   in order: raise the priority (ticket.priority_changed, SLA
 *             targets counted again), move to a queue and/or reassign
 *             (ticket.assigned, or ticket.updated "waiting"), then the
 *             record: ticket.escalated (notify) or ticket.updated, in the
 *             ticket's trace, with the cause "escalation <rule>: <trigger>;
 *             <what it did>"
 *   once      a rule fires once per ticket and trigger instance: the key
 *             "<ticket>/<rule>/<trigger>/<instant>" (the alert's due_at, or
 *             the wait's start) is kept in the dedup table, namespace
 *             "escalation", in the same transaction: a restart, or an
 *             instant scheduled again, does not fire it twice
 */
#include "router/rules/assign.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "router/rules/match.h"

#define ESC_NS "escalation" /* dedup namespace of fired rules */
#define S_MS 1000LL

int escalation_matches(const struct gw_routing_escalation *e, const struct proto_ticket *t,
		       const char *trigger, const char *clock)
{
	if (strcmp(e->trigger, trigger) != 0)
		return 0;
	if (clock && e->clock[0] && strcmp(e->clock, clock) != 0)
		return 0;
	if (e->queues.n && !match_list_has(&e->queues, t->queue))
		return 0;
	if (e->channels.n && !match_list_has(&e->channels, t->channel))
		return 0;
	return !e->priorities.n ||
	       match_list_has(&e->priorities, t->priority ? t->priority : "normal");
}

/* note - appends `what` to the cause being written. */
static void note(char *cause, size_t size, const char *what)
{
	size_t n = strlen(cause);

	if (n + 1 < size)
		snprintf(cause + n, size - n, "; %s", what);
	gw_utf8_trim(cause);
}

/* raise_priority - set_priority, when higher than the ticket's. */
static int raise_priority(struct batch *b, const struct gw_routing_escalation *e,
			  struct proto_ticket *t, char *cause, size_t size)
{
	char what[64];
	char *p;
	int rc;

	if (!e->set_priority[0] ||
	    tagging_priority_rank(e->set_priority) <= tagging_priority_rank(t->priority))
		return GW_OK;
	if (!(p = gw_strdup(e->set_priority)))
		return GW_ENOMEM;
	free(t->priority);
	t->priority = p;
	snprintf(what, sizeof(what), "priority %s", p);
	note(cause, size, what);
	rc = sla_retarget(b, t);
	if (rc == GW_OK)
		rc = route_emit_ticket(b, PROTO_T_TICKET_PRIORITY_CHANGED, t, cause);
	return rc;
}

/* reassign - move_to_queue and assign_to. */
static int reassign(struct batch *b, const struct gw_routing_escalation *e,
		    struct proto_ticket *t, char *cause, size_t size, int64_t now)
{
	char what[PROTO_MAX_AGENT * 2 + 64];
	size_t index;
	int rc = GW_OK, assigned = 0;

	if (!e->move_to_queue[0] && !e->assign_to[0])
		return GW_OK;
	if (e->move_to_queue[0] && (!t->queue || strcmp(t->queue, e->move_to_queue) != 0)) {
		rc = assign_release(b, t); /* leaves the old queue's waiting list */
		free(t->queue);
		t->queue = gw_strdup(e->move_to_queue);
		if (rc == GW_OK && !t->queue)
			rc = GW_ENOMEM;
		if (rc == GW_OK)
			rc = sla_retarget(b, t);
	}
	if (rc == GW_OK && e->assign_to[0] && strcmp(e->assign_to, "next") != 0 &&
	    routing_agent(b->rt, e->assign_to, &index)) {
		rc = assign_give(b, t, index, cause, NULL, now);
		assigned = 1;
	} else if (rc == GW_OK && strcmp(e->assign_to, "next") == 0) {
		rc = assign_route_other(b, t, NULL, NULL, now, &assigned); /* not back to its agent */
	} else if (rc == GW_OK) {
		rc = assign_route(b, t, NULL, NULL, now, &assigned);
	}
	if (rc)
		return rc;
	snprintf(what, sizeof(what), "queue %s, %s%s", t->queue ? t->queue : "-",
		 assigned ? "agent " : "waiting", assigned ? t->agent_id : "");
	note(cause, size, what);
	return route_emit_ticket(b, assigned ? PROTO_T_TICKET_ASSIGNED : PROTO_T_TICKET_UPDATED, t,
				 cause);
}

/* fire_rule - rule `e` on `t` for trigger instance `key`, unless fired. */
static int fire_rule(struct batch *b, const struct gw_routing_escalation *e,
		     struct proto_ticket *t, const char *key, const char *why, int64_t now)
{
	char cause[PROTO_MAX_SHORT + 1];
	uint64_t seq;
	int rc = store_dedup_get(b->txn, ESC_NS, "", key, &seq);

	if (rc != GW_ENOTFOUND)
		return rc; /* GW_OK: fired before */
	snprintf(cause, sizeof(cause), "escalation %s: %s", e->name, why);
	t->updated_at = now;
	rc = raise_priority(b, e, t, cause, sizeof(cause));
	if (rc == GW_OK)
		rc = reassign(b, e, t, cause, sizeof(cause), now);
	if (rc)
		return rc;
	if (e->notify)
		note(cause, sizeof(cause), "notified");
	rc = route_emit_ticket(b, e->notify ? PROTO_T_TICKET_ESCALATED : PROTO_T_TICKET_UPDATED, t,
			       cause);
	if (rc == GW_OK && !e->notify) /* ticket.updated is not traced by itself */
		rc = store_ticket_trace_append(b->txn, t->ticket_id, b->head);
	if (rc == GW_OK)
		rc = store_dedup_put(b->txn, ESC_NS, "", key, b->head);
	return rc;
}

int escalation_on_sla(struct batch *b, struct proto_ticket *t, const char *clock, int breached,
		      int64_t due_at)
{
	const char *trigger = breached ? "sla_breached" : "sla_warning";
	const struct gw_config_routing *cfg = b->rt->cfg;
	char key[PROTO_MAX_AGENT + 128], why[128];
	int rc = GW_OK;

	snprintf(why, sizeof(why), "%s %s", clock, breached ? "breached" : "warning");
	for (size_t i = 0; rc == GW_OK && i < cfg->n_escalations; i++) {
		const struct gw_routing_escalation *e = &cfg->escalations[i];

		if (!escalation_matches(e, t, trigger, clock))
			continue;
		snprintf(key, sizeof(key), "%" PRIu64 "/%s/%s/%s/%" PRId64, t->ticket_id, e->name,
			 trigger, clock, due_at);
		rc = fire_rule(b, e, t, key, why, gw_now_ms());
	}
	return rc;
}

int escalation_schedule(struct batch *b, const struct proto_ticket *t)
{
	const struct gw_config_routing *cfg = b->rt->cfg;
	int rc = GW_OK;

	if (t->agent_id || !t->sla_started_at)
		return GW_OK;
	for (size_t i = 0; rc == GW_OK && i < cfg->n_escalations; i++)
		if (strcmp(cfg->escalations[i].trigger, "unassigned") == 0)
			rc = store_sla_add(b->txn, t->sla_started_at +
					   cfg->escalations[i].after_s * S_MS,
					   t->ticket_id, STORE_SLA_UNASSIGNED);
	return rc;
}

int escalation_on_unassigned(struct batch *b, struct proto_ticket *t, int64_t now)
{
	const struct gw_config_routing *cfg = b->rt->cfg;
	char key[PROTO_MAX_AGENT + 128], why[128];
	int rc = GW_OK;

	for (size_t i = 0; rc == GW_OK && i < cfg->n_escalations; i++) {
		const struct gw_routing_escalation *e = &cfg->escalations[i];

		/* Checked again each time: it may have been assigned meanwhile. */
		if (t->agent_id || !t->status || strcmp(t->status, "open") != 0)
			break;
		if (!escalation_matches(e, t, "unassigned", NULL) ||
		    now < t->sla_started_at + e->after_s * S_MS)
			continue;
		snprintf(key, sizeof(key), "%" PRIu64 "/%s/unassigned/%" PRId64, t->ticket_id,
			 e->name, t->sla_started_at);
		if (e->after_s % 60)
			snprintf(why, sizeof(why), "unassigned for %lld s", e->after_s);
		else
			snprintf(why, sizeof(why), "unassigned for %lld min", e->after_s / 60);
		rc = fire_rule(b, e, t, key, why, now);
	}
	return rc;
}

/*
 * agents.c - the helpdesk's commands on agents and assignment, each run
 * once per command_id (routing_once):
 *
 *   agent.presence {command_id, agent_id, presence}
 *     an agent of routing.agents[] (else GW_ENOTFOUND) says it is online,
 *     away or offline. The same presence as now changes nothing: answered
 *     changed: false, nothing emitted, so the command id is not kept (it
 *     may be used again). A change emits agent.presence; away or offline
 *     hands every open ticket of the agent on (assign_agent_left), online
 *     offers it the waiting tickets of its queues (assign_offer).
 *     Answer {seq, duplicate, changed, reassigned, assigned}; a duplicate
 *     answers changed: true (only a change is kept) and counts of 0 (the
 *     first answer had them).
 *   ticket.assign {command_id, ticket_id, agent_id?, queue?}
 *     at least one of agent_id (any agent of routing.agents[], whatever
 *     its presence, hours or capacity: the helpdesk decides) and queue (of
 *     routing.queues[], or the default_queue). A queue move clears the
 *     agent and runs the queue's strategy, unless agent_id is given. A
 *     closed ticket is GW_EINVAL. The same agent and queue as now changes
 *     nothing (changed: false, nothing emitted, id not kept). Emits
 *     ticket.assigned (cause "command <id>"), or ticket.updated when the
 *     moved ticket waits in its new queue. Answer {seq, duplicate, changed,
 *     ticket_id, agent_id, queue} (agent_id and queue as they are now).
 */
#include "router/rules/assign.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define AGENTS_MAX_COMMAND_ID 200

/* --- agent.presence --------------------------------------------------------- */

struct presence_args {
	char *command_id, *agent_id, *presence;
};

static const struct cmdarg presence_spec[] = {
	{"command_id", CMDARG_STR, AGENTS_MAX_COMMAND_ID, 1,
	 offsetof(struct presence_args, command_id)},
	{"agent_id", CMDARG_STR, PROTO_MAX_AGENT, 1, offsetof(struct presence_args, agent_id)},
	{"presence", CMDARG_STR, PROTO_MAX_KIND, 1, offsetof(struct presence_args, presence)},
};
#define N_PRESENCE_SPEC (sizeof(presence_spec) / sizeof(presence_spec[0]))

struct presence_ctx {
	struct presence_args a;
	size_t index; /* in routing.agents[] */
	int changed;
	size_t reassigned, assigned;
};

static int presence_valid(const char *p)
{
	return strcmp(p, "online") == 0 || strcmp(p, "away") == 0 || strcmp(p, "offline") == 0;
}

/* presence_moves - what the new presence does to the agent's tickets. */
static int presence_moves(struct batch *b, struct presence_ctx *p, int64_t now)
{
	char why[PROTO_MAX_AGENT + 32];

	if (strcmp(p->a.presence, "online") == 0) {
		snprintf(why, sizeof(why), "%s came online", p->a.agent_id);
		return assign_offer(b, p->index, why, now, &p->assigned);
	}
	snprintf(why, sizeof(why), "%s went %s", p->a.agent_id,
		 strcmp(p->a.presence, "away") == 0 ? "away" : "offline");
	return assign_agent_left(b, p->index, why, now, &p->reassigned);
}

static int presence_txn(struct batch *b, void *arg)
{
	struct presence_ctx *p = arg;
	char cause[AGENTS_MAX_COMMAND_ID + 16];
	int64_t now = gw_now_ms();
	struct proto_agent a;
	int rc;

	p->changed = 0;
	p->reassigned = p->assigned = 0;
	rc = assign_agent_load(b, p->index, &a);
	if (rc || strcmp(a.presence, p->a.presence) == 0)
		goto out;
	p->changed = 1;
	snprintf(cause, sizeof(cause), "command %s", p->a.command_id);
	free(a.presence);
	free(a.cause);
	a.presence = gw_strdup(p->a.presence);
	a.cause = gw_strdup(cause);
	a.changed_at = now;
	if (!a.presence || !a.cause) {
		rc = GW_ENOMEM;
		goto out;
	}
	/* The agent's presence first: its tickets move because of it. */
	rc = store_agent_put(b->txn, &a);
	if (rc == GW_OK)
		rc = assign_emit_agent(b, &a);
	if (rc == GW_OK)
		rc = assign_hours_seed(b, now);
	if (rc == GW_OK)
		rc = presence_moves(b, p, now);
out:
	proto_agent_clear(&a);
	return rc;
}

int helpdesk_agent_presence(struct router *r, const void *args, size_t len,
			    msgpack_sbuffer *out, char *err, size_t errlen)
{
	struct presence_ctx p;
	msgpack_packer pk;
	uint64_t seq = 0;
	int dup = 0, rc;

	memset(&p, 0, sizeof(p));
	rc = cmdargs_parse(args, len, presence_spec, N_PRESENCE_SPEC, &p.a, err, errlen);
	if (rc)
		goto out;
	if (!presence_valid(p.a.presence)) {
		snprintf(err, errlen, "presence: '%s' is not one of online, away, offline",
			 p.a.presence);
		rc = GW_EINVAL;
		goto out;
	}
	if (!routing_agent(router_routing(r), p.a.agent_id, &p.index)) {
		snprintf(err, errlen, "agent_id: no agent '%s' in routing.agents", p.a.agent_id);
		rc = GW_ENOTFOUND;
		goto out;
	}
	rc = routing_once(r, p.a.command_id, presence_txn, &p, &seq, &dup);
	if (rc) {
		snprintf(err, errlen, "agent.presence failed: %s", gw_strerror(rc));
		goto out;
	}
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	cmdans_head(&pk, 5, seq, dup);
	cmdans_bool(&pk, "changed", dup || p.changed);
	cmdans_u64(&pk, "reassigned", p.reassigned);
	cmdans_u64(&pk, "assigned", p.assigned);
	if (!dup && p.changed)
		GW_INFO("router", "agent.presence %s: %s is %s, %zu tickets handed on, %zu taken",
			p.a.command_id, p.a.agent_id, p.a.presence, p.reassigned, p.assigned);
out:
	cmdargs_free(presence_spec, N_PRESENCE_SPEC, &p.a);
	return rc;
}

/* --- ticket.assign ------------------------------------------------------------- */

struct tassign_args {
	char *command_id, *agent_id, *queue;
	uint64_t ticket_id;
};

static const struct cmdarg tassign_spec[] = {
	{"command_id", CMDARG_STR, AGENTS_MAX_COMMAND_ID, 1,
	 offsetof(struct tassign_args, command_id)},
	{"ticket_id", CMDARG_UINT, 0, 1, offsetof(struct tassign_args, ticket_id)},
	{"agent_id", CMDARG_STR, PROTO_MAX_AGENT, 0, offsetof(struct tassign_args, agent_id)},
	{"queue", CMDARG_STR, PROTO_MAX_AGENT, 0, offsetof(struct tassign_args, queue)},
};
#define N_TASSIGN_SPEC (sizeof(tassign_spec) / sizeof(tassign_spec[0]))

struct tassign_ctx {
	struct tassign_args a;
	size_t index; /* of a.agent_id in routing.agents[] */
	int changed;
	char agent_id[PROTO_MAX_AGENT + 1]; /* the ticket's, afterwards; "" none */
	char queue[PROTO_MAX_AGENT + 1];
	char *err;
	size_t errlen;
};

static void tassign_result(struct tassign_ctx *x, const struct proto_ticket *t)
{
	snprintf(x->agent_id, sizeof(x->agent_id), "%s", t->agent_id ? t->agent_id : "");
	snprintf(x->queue, sizeof(x->queue), "%s", t->queue ? t->queue : "");
}

/* tassign_noop - whether the command asks for what already is. */
static int tassign_noop(struct batch *b, const struct tassign_ctx *x,
			const struct proto_ticket *t, int *noop)
{
	int counted, rc;

	*noop = 0;
	if (x->a.queue && (!t->queue || strcmp(t->queue, x->a.queue) != 0))
		return GW_OK;
	if (!x->a.agent_id) {
		*noop = 1;
		return GW_OK;
	}
	if (!t->agent_id || strcmp(t->agent_id, x->a.agent_id) != 0)
		return GW_OK;
	/* Its agent's name on it, but not counted: a ticket given back. */
	rc = assign_ticket_counted(b, t, &counted);
	*noop = counted;
	return rc;
}

/* tassign_apply - moves the ticket as asked and announces it. */
static int tassign_apply(struct batch *b, struct tassign_ctx *x, struct proto_ticket *t,
			 struct proto_customer *c)
{
	char cause[AGENTS_MAX_COMMAND_ID + 32];
	int64_t now = gw_now_ms();
	int moved = x->a.queue && (!t->queue || strcmp(t->queue, x->a.queue) != 0);
	int rc = GW_OK, assigned = 1;

	snprintf(cause, sizeof(cause), "command %s", x->a.command_id);
	if (moved) {
		/* Leave the old queue's waiting list before the name changes. */
		rc = assign_release(b, t);
		free(t->queue);
		t->queue = gw_strdup(x->a.queue);
		if (rc == GW_OK && !t->queue)
			rc = GW_ENOMEM;
	}
	if (rc == GW_OK && x->a.agent_id) {
		char reason[AGENTS_MAX_COMMAND_ID + 32];

		snprintf(reason, sizeof(reason), "assigned by command %s", x->a.command_id);
		rc = assign_give(b, t, x->index, reason, c, now);
	} else if (rc == GW_OK) {
		rc = assign_route(b, t, c, NULL, now, &assigned);
	}
	if (rc == GW_OK && moved)
		rc = sla_retarget(b, t);
	if (rc == GW_OK && assigned) {
		rc = route_emit_ticket(b, PROTO_T_TICKET_ASSIGNED, t, cause);
	} else if (rc == GW_OK) {
		char why[sizeof(cause) + PROTO_MAX_AGENT + 32];

		snprintf(why, sizeof(why), "%s: waiting in queue %s", cause, t->queue);
		rc = route_emit_ticket(b, PROTO_T_TICKET_UPDATED, t, why);
	}
	return rc;
}

static int tassign_txn(struct batch *b, void *arg)
{
	struct tassign_ctx *x = arg;
	struct proto_customer c;
	struct proto_ticket t;
	int rc, noop, have;

	memset(&c, 0, sizeof(c));
	memset(&t, 0, sizeof(t));
	x->changed = 0;
	rc = store_ticket_get(b->txn, x->a.ticket_id, &t);
	if (rc == GW_ENOTFOUND)
		snprintf(x->err, x->errlen, "no ticket %llu", (unsigned long long)x->a.ticket_id);
	if (rc)
		goto out;
	if (!t.status || strcmp(t.status, "open") != 0) {
		snprintf(x->err, x->errlen, "ticket %llu is closed",
			 (unsigned long long)x->a.ticket_id);
		rc = GW_EINVAL;
		goto out;
	}
	rc = tassign_noop(b, x, &t, &noop);
	if (rc || noop)
		goto out;
	rc = store_customer_get(b->txn, t.customer_id, &c);
	have = rc == GW_OK;
	if (rc == GW_ENOTFOUND)
		rc = GW_OK;
	if (rc == GW_OK)
		rc = tassign_apply(b, x, &t, have ? &c : NULL);
	if (rc == GW_OK)
		rc = store_ticket_put(b->txn, &t);
	if (rc == GW_OK && have)
		rc = store_customer_put(b->txn, &c);
	x->changed = rc == GW_OK;
out:
	if (rc == GW_OK)
		tassign_result(x, &t);
	proto_ticket_clear(&t);
	proto_customer_clear(&c);
	return rc;
}

/* tassign_check - the arguments name what exists. */
static int tassign_check(struct router *r, struct tassign_ctx *x, char *err, size_t errlen)
{
	const struct routing *rt = router_routing(r);

	if (!x->a.agent_id && !x->a.queue) {
		snprintf(err, errlen, "agent_id or queue: give at least one");
		return GW_EMISSING;
	}
	if (x->a.agent_id && !routing_agent(rt, x->a.agent_id, &x->index)) {
		snprintf(err, errlen, "agent_id: no agent '%s' in routing.agents", x->a.agent_id);
		return GW_ENOTFOUND;
	}
	if (x->a.queue && !routing_queue(rt, x->a.queue, NULL) &&
	    strcmp(x->a.queue, rt->cfg->default_queue) != 0) {
		snprintf(err, errlen, "queue: no queue '%s' in routing.queues", x->a.queue);
		return GW_ENOTFOUND;
	}
	return GW_OK;
}

/* tassign_current - a duplicate's answer: the ticket as it is now. */
static int tassign_current(struct router *r, struct tassign_ctx *x)
{
	struct store_txn *txn = NULL;
	struct proto_ticket t;
	int rc = store_txn_begin(router_store(r), 1, &txn);

	memset(&t, 0, sizeof(t));
	if (rc == GW_OK)
		rc = store_ticket_get(txn, x->a.ticket_id, &t);
	if (rc == GW_OK)
		tassign_result(x, &t);
	proto_ticket_clear(&t);
	store_txn_abort(txn);
	return rc;
}

static void tassign_pack(const struct tassign_ctx *x, uint64_t seq, int dup,
			 msgpack_sbuffer *out)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	cmdans_head(&pk, 6, seq, dup);
	cmdans_bool(&pk, "changed", dup || x->changed);
	cmdans_u64(&pk, "ticket_id", x->a.ticket_id);
	cmdans_str(&pk, "agent_id", x->agent_id[0] ? x->agent_id : NULL);
	cmdans_str(&pk, "queue", x->queue[0] ? x->queue : NULL);
}

int helpdesk_ticket_assign(struct router *r, const void *args, size_t len,
			   msgpack_sbuffer *out, char *err, size_t errlen)
{
	struct tassign_ctx x;
	uint64_t seq = 0;
	int dup = 0, rc;

	memset(&x, 0, sizeof(x));
	x.err = err;
	x.errlen = errlen;
	err[0] = '\0';
	rc = cmdargs_parse(args, len, tassign_spec, N_TASSIGN_SPEC, &x.a, err, errlen);
	if (rc == GW_OK)
		rc = tassign_check(r, &x, err, errlen);
	if (rc == GW_OK)
		rc = routing_once(r, x.a.command_id, tassign_txn, &x, &seq, &dup);
	if (rc == GW_OK && dup)
		rc = tassign_current(r, &x);
	if (rc == GW_OK) {
		tassign_pack(&x, seq, dup, out);
		if (!dup && x.changed)
			GW_INFO("router", "ticket.assign %s: ticket %llu to %s in queue %s",
				x.a.command_id, (unsigned long long)x.a.ticket_id,
				x.agent_id[0] ? x.agent_id : "(waiting)", x.queue);
	} else if (!err[0]) {
		snprintf(err, errlen, "ticket.assign failed: %s", gw_strerror(rc));
	}
	cmdargs_free(tassign_spec, N_TASSIGN_SPEC, &x.a);
	return rc;
}

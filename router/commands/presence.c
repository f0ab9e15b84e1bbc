/*
 * presence.c - ticket.viewing and ticket.typing: an agent's desk says the
 * agent has a ticket open or is writing a reply, and the router publishes
 * it so that two agents see each other working on the same ticket (agent
 * collision, docs/routing.md). Presence is published, never filed: no
 * thread, ticket count or trace holds it.
 *
 *   args    {ticket_id, agent_id}
 *   answer  {seq, duplicate (always false), published, assignee}: seq of
 *           the event published, 0 when rate-limited (published false)
 *   limit   at most one event per (ticket, agent, activity) every
 *           routing.presence_interval_ms: a desk may send the command at
 *           every keystroke. The last instants are kept in a fixed table
 *           (PRESENCE_SLOTS), a slot per hash of the key: an evicted key
 *           only publishes again sooner, the table never grows.
 *   thread  the router's one thread: the table is this module's, as the
 *           router is one per process
 */
#include "router/router.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

#define PRESENCE_SLOTS 1024

struct presence_slot {
	uint64_t ticket_id;
	int activity;
	char agent[PROTO_MAX_AGENT + 1];
	int64_t at; /* when the last event of this key was published */
};

static struct presence_slot presence_slots[PRESENCE_SLOTS];

struct presence_args {
	char *agent_id;
	uint64_t ticket_id;
};

static const struct cmdarg presence_spec[] = {
	{"ticket_id", CMDARG_UINT, 0, 1, offsetof(struct presence_args, ticket_id)},
	{"agent_id", CMDARG_STR, PROTO_MAX_AGENT, 1, offsetof(struct presence_args, agent_id)},
};

#define N_PRESENCE_SPEC (sizeof(presence_spec) / sizeof(presence_spec[0]))

struct presence_ctx {
	const struct presence_args *a;
	enum proto_type type;
	char assignee[PROTO_MAX_AGENT + 1];
	uint64_t seq;
	char *err;
	size_t errlen;
};

/* slot_of - the slot of key (ticket, agent, activity): FNV-1a. */
static struct presence_slot *slot_of(uint64_t ticket_id, const char *agent, int activity)
{
	uint64_t h = 1469598103934665603ULL ^ ticket_id ^ ((uint64_t)activity << 56);

	for (const unsigned char *p = (const unsigned char *)agent; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return &presence_slots[h % PRESENCE_SLOTS];
}

/* rate_limited - whether the key published less than `interval` ms ago;
 * if not, it is noted as publishing now. */
static int rate_limited(const struct presence_args *a, int activity, int64_t interval,
			int64_t now)
{
	struct presence_slot *s = slot_of(a->ticket_id, a->agent_id, activity);

	if (s->ticket_id == a->ticket_id && s->activity == activity &&
	    strcmp(s->agent, a->agent_id) == 0 && now - s->at < interval)
		return 1;
	s->ticket_id = a->ticket_id;
	s->activity = activity;
	snprintf(s->agent, sizeof(s->agent), "%s", a->agent_id);
	s->at = now;
	return 0;
}

/* forget - the key did not publish after all (the transaction failed). */
static void forget(const struct presence_args *a, int activity)
{
	slot_of(a->ticket_id, a->agent_id, activity)->at = 0;
}

static int presence_in_txn(struct batch *b, void *arg)
{
	struct presence_ctx *p = arg;
	struct proto_ticket t;
	struct proto_event ev;
	int rc;

	memset(&t, 0, sizeof(t));
	rc = store_ticket_get(b->txn, p->a->ticket_id, &t);
	if (rc == GW_ENOTFOUND)
		snprintf(p->err, p->errlen, "no ticket %llu", (unsigned long long)p->a->ticket_id);
	if (rc == GW_OK)
		rc = proto_event_init(&ev, p->type);
	if (rc) {
		proto_ticket_clear(&t);
		return rc;
	}
	ev.u.presence.ticket_id = t.ticket_id;
	ev.u.presence.customer_id = t.customer_id;
	ev.u.presence.agent_id = gw_strdup(p->a->agent_id);
	ev.u.presence.activity = gw_strdup(p->type == PROTO_T_TICKET_TYPING ? "typing" : "viewing");
	if (t.agent_id) {
		ev.u.presence.assignee = gw_strdup(t.agent_id);
		snprintf(p->assignee, sizeof(p->assignee), "%s", t.agent_id);
	}
	if (!ev.u.presence.agent_id || !ev.u.presence.activity ||
	    (t.agent_id && !ev.u.presence.assignee))
		rc = GW_ENOMEM;
	if (rc == GW_OK)
		rc = batch_emit(b, &ev);
	p->seq = ev.seq;
	proto_event_clear(&ev);
	proto_ticket_clear(&t);
	return rc;
}

static void pack_answer(const struct presence_ctx *p, int published, msgpack_sbuffer *out)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	cmdans_head(&pk, 4, p->seq, 0);
	cmdans_bool(&pk, "published", published);
	cmdans_str(&pk, "assignee", p->assignee[0] ? p->assignee : NULL);
}

/* presence_cmd - one of the two commands; `type` says which. */
static int presence_cmd(struct router *r, enum proto_type type, const void *args, size_t len,
			msgpack_sbuffer *out, char *err, size_t errlen)
{
	const struct routing *rt = router_routing(r);
	struct presence_args a;
	struct presence_ctx p;
	int rc, limited = 0;

	memset(&a, 0, sizeof(a));
	memset(&p, 0, sizeof(p));
	p.a = &a;
	p.type = type;
	p.err = err;
	p.errlen = errlen;
	rc = cmdargs_parse(args, len, presence_spec, N_PRESENCE_SPEC, &a, err, errlen);
	if (rc == GW_OK)
		limited = rate_limited(&a, (int)type, rt->cfg->presence_interval_ms, gw_now_ms());
	if (rc == GW_OK && !limited) {
		rc = router_txn(r, presence_in_txn, &p);
		if (rc)
			forget(&a, (int)type);
	}
	if (rc == GW_OK)
		pack_answer(&p, !limited, out);
	cmdargs_free(presence_spec, N_PRESENCE_SPEC, &a);
	return rc;
}

int presence_ticket_viewing(struct router *r, const void *args, size_t len,
			    msgpack_sbuffer *out, char *err, size_t errlen)
{
	return presence_cmd(r, PROTO_T_TICKET_VIEWING, args, len, out, err, errlen);
}

int presence_ticket_typing(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
			   char *err, size_t errlen)
{
	return presence_cmd(r, PROTO_T_TICKET_TYPING, args, len, out, err, errlen);
}

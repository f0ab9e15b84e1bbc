/*
 * assign.c - queues, agents and who works a ticket: the queue rules, the
 * strategies, the agents' load and the waiting lists, and what the clock
 * changes (working hours). The rules are summed up in assign.h.
 */
#include "router/rules/assign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/calendar.h"
#include "core/err.h"
#include "core/util.h"
#include "router/rules/match.h"

#define ASSIGN_OFFER_MAX 64    /* waiting tickets of one queue handed out per call */
#define ASSIGN_MOVE_CHUNK 256  /* tickets of an agent read at once when it leaves */
#define ASSIGN_MOVE_MAX 100000 /* most tickets moved off one agent at once */
#define HOURS_CLOSED 1
#define HOURS_OPEN 2
#define META_KEY_MAX (PROTO_MAX_AGENT + 16)

/* set_str - replaces *dst by a copy of `s` (NULL: cleared). */
static int set_str(char **dst, const char *s)
{
	char *copy = gw_strdup(s);

	if (s && !copy)
		return GW_ENOMEM;
	free(*dst);
	*dst = copy;
	return GW_OK;
}

/* --- which queue ---------------------------------------------------------- */

static int queue_matches(const struct gw_routing_queue *q, const struct proto_message *m,
			 const struct proto_customer *c)
{
	if (q->channels.n && !match_list_has(&q->channels, m->channel))
		return 0;
	if (q->accounts.n && !match_list_has(&q->accounts, m->account))
		return 0;
	/* No detected language matches no language list. */
	if (q->languages.n && !match_list_has(&q->languages, m->language))
		return 0;
	if (q->keywords.n && !match_keywords(&q->keywords, m))
		return 0;
	return match_attributes(&q->attributes, c);
}

const char *assign_queue_of(const struct routing *rt, const struct proto_message *m,
			    const struct proto_customer *c)
{
	for (size_t i = 0; m && i < rt->cfg->n_queues; i++)
		if (queue_matches(&rt->cfg->queues[i], m, c))
			return rt->cfg->queues[i].name;
	return rt->cfg->default_queue;
}

/* --- agents ---------------------------------------------------------------- */

int assign_agent_load(struct batch *b, size_t index, struct proto_agent *a)
{
	const struct gw_routing_agent *ac = &b->rt->cfg->agents[index];
	int rc;

	memset(a, 0, sizeof(*a));
	rc = store_agent_get(b->txn, ac->id, a);
	if (rc == GW_ENOTFOUND) {
		memset(a, 0, sizeof(*a));
		if (set_str(&a->agent_id, ac->id) ||
		    set_str(&a->presence, ac->presence && ac->presence[0] ? ac->presence : "online"))
			return GW_ENOMEM;
		rc = GW_OK;
	}
	if (rc)
		return rc;
	/* Name and capacity are the config's, which may have changed. */
	if (set_str(&a->name, ac->name && ac->name[0] ? ac->name : NULL))
		return GW_ENOMEM;
	a->capacity = ac->capacity > 0 ? (uint64_t)ac->capacity : 0;
	return GW_OK;
}

int assign_agent_available(const struct routing *rt, size_t index, const struct proto_agent *a,
			   int64_t now_ms)
{
	if (!a->presence || strcmp(a->presence, "online") != 0)
		return 0;
	if (rt->agent_cal[index] && !cal_is_open(rt->agent_cal[index], now_ms))
		return 0;
	return a->capacity == 0 || a->open_tickets < a->capacity;
}

int assign_emit_agent(struct batch *b, const struct proto_agent *a)
{
	struct proto_event ev;
	int rc = proto_event_init(&ev, PROTO_T_AGENT_PRESENCE);

	if (rc)
		return rc;
	/* Borrow the strings: the event is cleared by hand, not freed. */
	ev.u.agent = *a;
	rc = batch_emit(b, &ev);
	memset(&ev.u.agent, 0, sizeof(ev.u.agent));
	proto_event_clear(&ev);
	return rc;
}

struct has_ctx {
	uint64_t id;
	int found;
};

static int has_one(void *arg, uint64_t id)
{
	struct has_ctx *h = arg;

	if (id < h->id)
		return 0;
	h->found = id == h->id;
	return 1;
}

int assign_ticket_counted(struct batch *b, const struct proto_ticket *t, int *counted)
{
	struct has_ctx h = {t->ticket_id, 0};
	int rc = GW_OK;

	/* Entries are in id order: the scan stops at the ticket or past it. */
	if (t->agent_id)
		rc = store_agent_tickets(b->txn, t->agent_id, SIZE_MAX, has_one, &h);
	*counted = h.found;
	return rc;
}

/* agent_count - one more (delta 1) or one less (-1) open ticket of agent
 * `agent_id`, also one no longer in the config (then only if stored). */
static int agent_count(struct batch *b, const char *agent_id, int delta)
{
	struct proto_agent a;
	size_t index;
	int rc;

	if (routing_agent(b->rt, agent_id, &index))
		rc = assign_agent_load(b, index, &a);
	else
		rc = store_agent_get(b->txn, agent_id, &a);
	if (rc == GW_ENOTFOUND && delta < 0)
		return GW_OK;
	if (rc == GW_OK) {
		if (delta > 0)
			a.open_tickets++;
		else if (a.open_tickets > 0)
			a.open_tickets--;
		rc = store_agent_put(b->txn, &a);
	}
	proto_agent_clear(&a);
	return rc;
}

/* agent_uncount - ticket `id` no longer counts on agent `agent_id`. */
static int agent_uncount(struct batch *b, const char *agent_id, uint64_t id)
{
	struct proto_ticket probe = {.ticket_id = id, .agent_id = (char *)agent_id};
	int counted, rc = assign_ticket_counted(b, &probe, &counted);

	if (rc || !counted)
		return rc;
	rc = store_agent_ticket_del(b->txn, agent_id, id);
	return rc ? rc : agent_count(b, agent_id, -1);
}

int assign_release(struct batch *b, const struct proto_ticket *t)
{
	int rc = GW_OK;

	if (t->agent_id)
		rc = agent_uncount(b, t->agent_id, t->ticket_id);
	if (rc == GW_OK && t->queue)
		rc = store_queue_wait_del(b->txn, t->queue, t->ticket_id);
	return rc;
}

int assign_give(struct batch *b, struct proto_ticket *t, size_t index, const char *reason,
		struct proto_customer *c, int64_t now_ms)
{
	const char *id = b->rt->cfg->agents[index].id;
	int rc = assign_release(b, t);

	if (rc == GW_OK)
		rc = store_agent_ticket_add(b->txn, id, t->ticket_id);
	if (rc == GW_OK)
		rc = agent_count(b, id, 1);
	if (rc)
		return rc;
	if (set_str(&t->agent_id, id) || set_str(&t->assign_reason, reason) ||
	    (c && set_str(&c->last_agent, id)))
		return GW_ENOMEM;
	t->assigned_at = now_ms;
	return GW_OK;
}

/* --- strategies ------------------------------------------------------------ */

/* One agent of a queue, at its place in the queue's list. */
struct cand {
	size_t index;  /* in routing.agents[] */
	uint64_t open; /* its open tickets */
	int avail;     /* available now */
	int ok;        /* available and preferred (language) */
};

struct pool {
	const struct gw_routing_queue *q;
	struct cand *c; /* [q->agents.n] */
	size_t n_ok;
};

static int speaks(const struct gw_routing_agent *a, const char *language)
{
	return !language || a->languages.n == 0 || match_list_has(&a->languages, language);
}

/* pool_fill - the queue's agents, which are available (never agent
 * `except`, may be NULL), and which of them to choose from: those speaking
 * `language` if any of them is available. */
static int pool_fill(struct batch *b, const struct gw_routing_queue *q, const char *language,
		     int64_t now_ms, const char *except, struct pool *p)
{
	size_t n_lang = 0;

	p->q = q;
	p->n_ok = 0;
	p->c = calloc(q->agents.n + 1, sizeof(*p->c));
	if (!p->c)
		return GW_ENOMEM;
	for (size_t i = 0; i < q->agents.n; i++) {
		struct cand *k = &p->c[i];
		struct proto_agent a;
		int rc;

		if (!routing_agent(b->rt, q->agents.v[i], &k->index))
			continue; /* the config check refuses it */
		rc = assign_agent_load(b, k->index, &a);
		k->open = a.open_tickets;
		k->avail = rc == GW_OK && assign_agent_available(b->rt, k->index, &a, now_ms) &&
			   !(except && strcmp(q->agents.v[i], except) == 0);
		proto_agent_clear(&a);
		if (rc)
			return rc;
		if (k->avail && speaks(&b->rt->cfg->agents[k->index], language))
			n_lang++;
	}
	for (size_t i = 0; i < q->agents.n; i++) {
		struct cand *k = &p->c[i];

		k->ok = k->avail && (!n_lang || speaks(&b->rt->cfg->agents[k->index], language));
		p->n_ok += k->ok;
	}
	return GW_OK;
}

/* The strategy's pick. */
struct choice {
	size_t index;  /* in routing.agents[] */
	size_t pos;    /* in the queue's agents */
	int rr;        /* by round_robin: move the queue's cursor */
	char reason[ASSIGN_REASON_MAX];
};

static void pick_least_open(const struct pool *p, struct choice *ch, const char *prefix)
{
	size_t best = SIZE_MAX;

	for (size_t i = 0; i < p->q->agents.n; i++)
		if (p->c[i].ok && (best == SIZE_MAX || p->c[i].open < p->c[best].open))
			best = i;
	ch->pos = best;
	ch->index = p->c[best].index;
	snprintf(ch->reason, sizeof(ch->reason), "%sleast_open: %s has %llu open ticket%s", prefix,
		 p->q->agents.v[best], (unsigned long long)p->c[best].open,
		 p->c[best].open == 1 ? "" : "s");
}

static void rr_key(char *key, size_t size, const char *queue)
{
	snprintf(key, size, "rr:%s", queue);
}

static int pick_round_robin(struct batch *b, const struct pool *p, struct choice *ch)
{
	char key[META_KEY_MAX];
	size_t n = p->q->agents.n;
	uint64_t next;
	int rc;

	rr_key(key, sizeof(key), p->q->name);
	rc = store_meta_get(b->txn, key, &next);
	if (rc)
		return rc;
	for (size_t k = 0; k < n; k++) {
		size_t i = (size_t)((next + k) % n);

		if (p->c[i].ok) {
			ch->pos = i;
			ch->index = p->c[i].index;
			ch->rr = 1;
			snprintf(ch->reason, sizeof(ch->reason), "round_robin: next of queue %s",
				 p->q->name);
			return GW_OK;
		}
	}
	return GW_OK; /* not reached: the pool has an agent */
}

static void pick_sticky(const struct pool *p, const struct proto_customer *c,
			struct choice *ch)
{
	for (size_t i = 0; c && c->last_agent && i < p->q->agents.n; i++) {
		if (p->c[i].avail && strcmp(p->q->agents.v[i], c->last_agent) == 0) {
			ch->pos = i;
			ch->index = p->c[i].index;
			snprintf(ch->reason, sizeof(ch->reason), "sticky: %s served this customer before",
				 c->last_agent);
			return;
		}
	}
	pick_least_open(p, ch, "sticky: no earlier agent available; ");
}

/* choose - the agent of t->queue its strategy picks now, never `except`
 * (may be NULL); *found 0 when none is available (or the queue is not
 * configured: no agents). */
static int choose(struct batch *b, const struct proto_ticket *t, const struct proto_customer *c,
		  int64_t now_ms, const char *except, struct choice *ch, int *found)
{
	const struct gw_routing_queue *q = routing_queue(b->rt, t->queue, NULL);
	struct pool p = {0};
	int rc;

	memset(ch, 0, sizeof(*ch));
	*found = 0;
	if (!q || q->agents.n == 0)
		return GW_OK;
	rc = pool_fill(b, q, t->language, now_ms, except, &p);
	if (rc || p.n_ok == 0)
		goto out;
	*found = 1;
	if (strcmp(q->strategy, "sticky") == 0)
		pick_sticky(&p, c, ch);
	else if (strcmp(q->strategy, "least_open") == 0)
		pick_least_open(&p, ch, "");
	else
		rc = pick_round_robin(b, &p, ch);
out:
	free(p.c);
	return rc;
}

/* make_wait - no agent: the ticket waits in its queue. */
static int make_wait(struct batch *b, struct proto_ticket *t)
{
	char reason[ASSIGN_REASON_MAX];

	snprintf(reason, sizeof(reason), "waiting: no agent of queue %s available", t->queue);
	free(t->agent_id);
	t->agent_id = NULL;
	t->assigned_at = 0;
	if (set_str(&t->assign_reason, reason))
		return GW_ENOMEM;
	return store_queue_wait_add(b->txn, t->queue, t->ticket_id);
}

/* route - assign_route, never to agent `except` (may be NULL). */
static int route(struct batch *b, struct proto_ticket *t, struct proto_customer *c,
		 const char *reason, int64_t now_ms, const char *except, int *assigned)
{
	struct choice ch;
	char key[META_KEY_MAX];
	int rc = assign_release(b, t);

	*assigned = 0;
	if (rc == GW_OK && !t->queue)
		rc = set_str(&t->queue, b->rt->cfg->default_queue);
	if (rc == GW_OK)
		rc = choose(b, t, c, now_ms, except, &ch, assigned);
	if (rc)
		return rc;
	if (!*assigned)
		return make_wait(b, t);
	rc = assign_give(b, t, ch.index, reason ? reason : ch.reason, c, now_ms);
	if (rc == GW_OK && ch.rr) {
		rr_key(key, sizeof(key), t->queue);
		rc = store_meta_put(b->txn, key, ch.pos + 1);
	}
	return rc;
}

int assign_route(struct batch *b, struct proto_ticket *t, struct proto_customer *c,
		 const char *reason, int64_t now_ms, int *assigned)
{
	return route(b, t, c, reason, now_ms, NULL, assigned);
}

int assign_route_other(struct batch *b, struct proto_ticket *t, struct proto_customer *c,
		       const char *reason, int64_t now_ms, int *assigned)
{
	char current[PROTO_MAX_AGENT + 1];

	snprintf(current, sizeof(current), "%s", t->agent_id ? t->agent_id : "");
	return route(b, t, c, reason, now_ms, current[0] ? current : NULL, assigned);
}

int assign_ticket_at(struct batch *b, struct proto_ticket *t, const struct proto_message *m,
		     struct proto_customer *c, int64_t now_ms)
{
	const struct gw_routing_queue *q;
	int assigned, rc;

	if (!t->queue && set_str(&t->queue, assign_queue_of(b->rt, m, c)))
		return GW_ENOMEM;
	q = routing_queue(b->rt, t->queue, NULL);
	if (!t->priority && q && set_str(&t->priority, q->priority))
		return GW_ENOMEM;
	rc = assign_hours_seed(b, now_ms);
	if (rc == GW_OK)
		rc = assign_route(b, t, c, NULL, now_ms, &assigned);
	return rc;
}

int assign_ticket(struct batch *b, struct proto_ticket *t, const struct proto_message *m,
		  struct proto_customer *c)
{
	return assign_ticket_at(b, t, m, c, gw_now_ms());
}

/* --- moving tickets ---------------------------------------------------------- */

/* customer_of - the ticket's customer into `c`; *have 0 when not stored. */
static int customer_of(struct batch *b, const struct proto_ticket *t, struct proto_customer *c,
		       int *have)
{
	int rc = store_customer_get(b->txn, t->customer_id, c);

	*have = rc == GW_OK;
	return rc == GW_ENOTFOUND ? GW_OK : rc;
}

/* announce - stores the ticket (and customer) and tells the bus: an agent
 * took it (ticket.assigned, `cause`) or it waits (ticket.updated). */
static int announce(struct batch *b, struct proto_ticket *t, struct proto_customer *c,
		    int assigned, const char *cause)
{
	char why[ASSIGN_REASON_MAX + PROTO_MAX_AGENT + 32];
	int rc;

	if (assigned) {
		rc = route_emit_ticket(b, PROTO_T_TICKET_ASSIGNED, t, cause);
	} else {
		snprintf(why, sizeof(why), "%s: waiting in queue %s", cause, t->queue);
		rc = route_emit_ticket(b, PROTO_T_TICKET_UPDATED, t, why);
	}
	if (rc == GW_OK)
		rc = store_ticket_put(b->txn, t);
	if (rc == GW_OK && c)
		rc = store_customer_put(b->txn, c);
	return rc;
}

/* move_one - ticket `id` leaves agent `agent_id`; *moved counts it. */
static int move_one(struct batch *b, const char *agent_id, uint64_t id, const char *why,
		    int64_t now_ms, size_t *moved)
{
	char reason[ASSIGN_REASON_MAX];
	struct proto_customer c;
	struct proto_ticket t;
	int rc, have = 0, assigned;

	memset(&c, 0, sizeof(c));
	rc = store_ticket_get(b->txn, id, &t);
	if (rc == GW_ENOTFOUND)
		return agent_uncount(b, agent_id, id);
	if (rc)
		return rc;
	/* A stale entry (closed, or another agent's now) only leaves the list. */
	if (!t.status || strcmp(t.status, "open") != 0 || !t.agent_id ||
	    strcmp(t.agent_id, agent_id) != 0) {
		rc = agent_uncount(b, agent_id, id);
		goto out;
	}
	snprintf(reason, sizeof(reason), "reassigned: %s", why);
	rc = customer_of(b, &t, &c, &have);
	if (rc == GW_OK)
		rc = assign_route(b, &t, have ? &c : NULL, reason, now_ms, &assigned);
	if (rc == GW_OK)
		rc = announce(b, &t, have ? &c : NULL, assigned, why);
	if (rc == GW_OK)
		(*moved)++;
out:
	proto_ticket_clear(&t);
	proto_customer_clear(&c);
	return rc;
}

struct id_list {
	uint64_t ids[ASSIGN_MOVE_CHUNK];
	size_t n;
};

static int id_collect(void *arg, uint64_t id)
{
	struct id_list *l = arg;

	l->ids[l->n++] = id;
	return l->n == ASSIGN_MOVE_CHUNK;
}

int assign_agent_left(struct batch *b, size_t index, const char *why, int64_t now_ms,
		      size_t *moved)
{
	const char *agent_id = b->rt->cfg->agents[index].id;
	struct id_list *l = malloc(sizeof(*l));
	size_t n = 0;
	int rc = GW_OK;

	if (!l)
		return GW_ENOMEM;
	/* Each ticket leaves the agent's list: read again until it is empty. */
	do {
		l->n = 0;
		rc = store_agent_tickets(b->txn, agent_id, ASSIGN_MOVE_CHUNK, id_collect, l);
		for (size_t i = 0; rc == GW_OK && i < l->n; i++)
			rc = move_one(b, agent_id, l->ids[i], why, now_ms, &n);
	} while (rc == GW_OK && l->n == ASSIGN_MOVE_CHUNK && n < ASSIGN_MOVE_MAX);
	free(l);
	if (moved)
		*moved = n;
	return rc;
}

/* offer_one - the waiting ticket `id` of queue `q` to an available agent;
 * *none set when no agent of the queue is available. */
static int offer_one(struct batch *b, const char *q, uint64_t id, const char *cause,
		     int64_t now_ms, size_t *given, int *none)
{
	struct proto_customer c;
	struct proto_ticket t;
	int rc, have = 0, assigned = 0;

	memset(&c, 0, sizeof(c));
	rc = store_ticket_get(b->txn, id, &t);
	if (rc == GW_ENOTFOUND)
		return store_queue_wait_del(b->txn, q, id);
	if (rc)
		return rc;
	/* A stale entry (closed, moved, taken) only leaves the list. */
	if (!t.status || strcmp(t.status, "open") != 0 || !t.queue || strcmp(t.queue, q) != 0 ||
	    t.agent_id) {
		rc = store_queue_wait_del(b->txn, q, id);
		goto out;
	}
	rc = customer_of(b, &t, &c, &have);
	if (rc == GW_OK)
		rc = assign_route(b, &t, have ? &c : NULL, NULL, now_ms, &assigned);
	/* Still waiting: the list is as it was, and nothing is announced. */
	*none = !assigned;
	if (rc == GW_OK && assigned) {
		rc = announce(b, &t, have ? &c : NULL, 1, cause);
		(*given)++;
	}
out:
	proto_ticket_clear(&t);
	proto_customer_clear(&c);
	return rc;
}

static int offer_queue(struct batch *b, const char *q, const char *cause, int64_t now_ms,
		       size_t *given)
{
	struct id_list *l = malloc(sizeof(*l));
	int rc, none = 0;

	if (!l)
		return GW_ENOMEM;
	l->n = 0;
	rc = store_queue_waiting(b->txn, q, ASSIGN_OFFER_MAX, id_collect, l);
	for (size_t i = 0; rc == GW_OK && !none && i < l->n; i++)
		rc = offer_one(b, q, l->ids[i], cause, now_ms, given, &none);
	free(l);
	return rc;
}

int assign_offer(struct batch *b, size_t index, const char *cause, int64_t now_ms,
		 size_t *given)
{
	const struct gw_config_routing *cfg = b->rt->cfg;
	size_t n = 0;
	int rc = GW_OK;

	for (size_t i = 0; rc == GW_OK && i < cfg->n_queues; i++) {
		const struct gw_routing_queue *q = &cfg->queues[i];

		if (q->agents.n == 0 ||
		    (index < cfg->n_agents && !match_list_has(&q->agents, cfg->agents[index].id)))
			continue;
		rc = offer_queue(b, q->name, cause, now_ms, &n);
	}
	if (given)
		*given = n;
	return rc;
}

/* --- working hours ------------------------------------------------------------ */

static void hours_key(char *key, size_t size, const char *agent_id)
{
	snprintf(key, size, "hours:%s", agent_id);
}

int assign_hours_seed(struct batch *b, int64_t now_ms)
{
	const struct routing *rt = b->rt;
	char key[META_KEY_MAX];
	int rc = GW_OK;

	for (size_t i = 0; rc == GW_OK && i < rt->cfg->n_agents; i++) {
		uint64_t v;

		if (!rt->agent_cal[i])
			continue;
		hours_key(key, sizeof(key), rt->cfg->agents[i].id);
		rc = store_meta_get(b->txn, key, &v);
		if (rc == GW_OK && v == 0)
			rc = store_meta_put(b->txn, key,
					    cal_is_open(rt->agent_cal[i], now_ms) ? HOURS_OPEN
										  : HOURS_CLOSED);
	}
	return rc;
}

/*
 * hours_changed - agent `index`'s hours began or ended since last seen:
 * agent.presence says so (presence "away" while an online agent is out of
 * hours; the stored presence stays what the commands set) and an online
 * agent whose hours ended hands its tickets on.
 */
static int hours_changed(struct batch *b, size_t index, int is_open, int64_t now_ms)
{
	const char *id = b->rt->cfg->agents[index].id;
	char why[ASSIGN_REASON_MAX];
	struct proto_agent a, ev;
	int rc, online;

	rc = assign_agent_load(b, index, &a);
	if (rc)
		goto out;
	online = strcmp(a.presence, "online") == 0;
	ev = a;
	ev.presence = online && !is_open ? "away" : a.presence;
	ev.changed_at = now_ms;
	ev.cause = is_open ? "working hours began" : "working hours ended";
	rc = assign_emit_agent(b, &ev);
	if (rc == GW_OK && online && !is_open) {
		snprintf(why, sizeof(why), "%s's working hours ended", id);
		rc = assign_agent_left(b, index, why, now_ms, NULL);
	}
out:
	proto_agent_clear(&a);
	return rc;
}

static int hours_check(struct batch *b, size_t index, int64_t now_ms)
{
	const struct routing *rt = b->rt;
	int is_open = cal_is_open(rt->agent_cal[index], now_ms);
	uint64_t was, now_state = is_open ? HOURS_OPEN : HOURS_CLOSED;
	char key[META_KEY_MAX];
	int rc;

	hours_key(key, sizeof(key), rt->cfg->agents[index].id);
	rc = store_meta_get(b->txn, key, &was);
	if (rc || was == now_state)
		return rc;
	rc = store_meta_put(b->txn, key, now_state);
	/* The state must stay even when the tick emits nothing (a first
	 * sight): otherwise the end of these hours would find none again. */
	b->keep = 1;
	/* Never seen before: nothing is known to have changed. */
	if (rc || was == 0)
		return rc;
	return hours_changed(b, index, is_open, now_ms);
}

int assign_tick(struct batch *b, int64_t now_ms)
{
	const struct routing *rt = b->rt;
	int rc = GW_OK;

	for (size_t i = 0; rc == GW_OK && i < rt->cfg->n_agents; i++)
		if (rt->agent_cal[i])
			rc = hours_check(b, i, now_ms);
	if (rc == GW_OK)
		rc = assign_offer(b, SIZE_MAX, "agent available", now_ms, NULL);
	return rc;
}

int64_t assign_next_ms(const struct routing *rt, int64_t now_ms)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < rt->cfg->n_agents; i++) {
		int64_t t;

		if (!rt->agent_cal[i])
			continue;
		t = cal_next_change(rt->agent_cal[i], now_ms);
		if (t < next)
			next = t;
	}
	return next;
}

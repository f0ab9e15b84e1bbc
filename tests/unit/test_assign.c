/*
 * test_assign.c - queues, strategies, capacity, languages, working hours
 * and agents going away (router/rules/assign.c) on a real store, with routing
 * configs built by hand and the clock given explicitly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "router/rules/assign.h"
#include "store/store.h"
#include "routing_defaults.h"
#include "tests/unit/testutil.h"

#define HOUR (3600LL * 1000)
#define MINUTE (60LL * 1000)
/* Monday 2024-01-15 10:00 UTC: 11:00 in Paris, 19:00 in Tokyo. */
#define T0 1705312800000LL
#define MAX_ENTRIES 8

static char *dup_s(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

/* set_list - `csv` ("a,b"; "" empty) into a malloc'ed list. */
static void set_list(struct conf_strlist *l, const char *csv)
{
	const char *p = csv;

	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->n = 0;
	l->v = calloc(MAX_ENTRIES, sizeof(*l->v));
	assert_non_null(l->v);
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		assert_true(l->n < MAX_ENTRIES);
		l->v[l->n] = strndup(p, len);
		assert_non_null(l->v[l->n++]);
		p += len + (end ? 1 : 0);
	}
}

/* A routing config, its compiled form and a store to assign in. */
struct fx {
	struct gw_config_routing cfg;
	struct routing *rt;
	char *dir;
	struct store *st;
	struct batch b;
};

static void fx_init(struct fx *f)
{
	char err[256];

	memset(f, 0, sizeof(*f));
	/* The routing defaults, without language models. */
	assert_int_equal(routing_defaults_no_lang(&f->cfg, err, sizeof(err)), GW_OK);
	f->cfg.queues = calloc(MAX_ENTRIES, sizeof(*f->cfg.queues));
	f->cfg.agents = calloc(MAX_ENTRIES, sizeof(*f->cfg.agents));
	assert_non_null(f->cfg.queues);
	assert_non_null(f->cfg.agents);
}

static struct gw_routing_queue *fx_queue(struct fx *f, const char *name, const char *strategy,
					 const char *agents)
{
	struct gw_routing_queue *q = &f->cfg.queues[f->cfg.n_queues++];

	q->name = dup_s(name);
	q->strategy = dup_s(strategy);
	q->business_hours = dup_s("");
	q->priority = dup_s("normal");
	set_list(&q->channels, "");
	set_list(&q->accounts, "");
	set_list(&q->languages, "");
	set_list(&q->keywords, "");
	set_list(&q->attributes, "");
	set_list(&q->agents, agents);
	return q;
}

static struct gw_routing_agent *fx_agent(struct fx *f, const char *id, long long capacity,
					 const char *languages)
{
	struct gw_routing_agent *a = &f->cfg.agents[f->cfg.n_agents++];

	a->id = dup_s(id);
	a->name = dup_s("");
	a->capacity = capacity;
	set_list(&a->languages, languages);
	a->timezone = dup_s("UTC");
	a->hours = dup_s("");
	a->presence = dup_s("online");
	return a;
}

static void fx_hours(struct gw_routing_agent *a, const char *tz, const char *hours)
{
	free(a->timezone);
	free(a->hours);
	a->timezone = dup_s(tz);
	a->hours = dup_s(hours);
}

static void fx_start(struct fx *f)
{
	char tmpl[64], err[256];

	test_tmpdir(tmpl, sizeof(tmpl), "assign");
	f->dir = dup_s(tmpl);
	assert_int_equal(routing_create(&f->cfg, &f->rt, err, sizeof(err)), GW_OK);
	f->b.rt = f->rt;
	assert_int_equal(store_open(f->dir, 64u << 20, &f->st), GW_OK);
}

static void fx_stop(struct fx *f)
{
	batch_reset(&f->b);
	free(f->b.ev);
	store_close(f->st);
	routing_destroy(f->rt);
	gw_config_routing_free(&f->cfg);
	test_rmtree(f->dir);
	free(f->dir);
}

/* fx_begin / fx_commit - one write transaction; the batch holds what it
 * emitted until the next fx_begin. */
static void fx_begin(struct fx *f)
{
	batch_reset(&f->b);
	assert_int_equal(store_txn_begin(f->st, 0, &f->b.txn), GW_OK);
}

static void fx_commit(struct fx *f)
{
	assert_int_equal(store_txn_commit(f->b.txn), GW_OK);
	f->b.txn = NULL;
}

static size_t fx_index(struct fx *f, const char *agent)
{
	size_t i;

	assert_non_null(routing_agent(f->rt, agent, &i));
	return i;
}

/* The message that opens a ticket, as the pipeline hands it over. */
struct msg_spec {
	const char *channel, *account, *subject, *text, *language;
};

static const struct msg_spec plain = {"api", "api", NULL, "hello", NULL};

static void make_message(struct proto_event *ev, const struct msg_spec *s)
{
	assert_int_equal(proto_event_init(ev, PROTO_T_MESSAGE_RECEIVED), GW_OK);
	ev->u.message.channel = dup_s(s->channel);
	ev->u.message.account = dup_s(s->account);
	ev->u.message.external_id = dup_s("m");
	ev->u.message.from.address = dup_s("+15550001111");
	ev->u.message.text = s->text ? dup_s(s->text) : NULL;
	ev->u.message.subject = s->subject ? dup_s(s->subject) : NULL;
	ev->u.message.language = s->language ? dup_s(s->language) : NULL;
}

/* get_customer - the stored customer `id`, or a new one. */
static void get_customer(struct fx *f, uint64_t id, struct proto_customer *c)
{
	int rc = store_customer_get(f->b.txn, id, c);

	if (rc == GW_OK)
		return;
	assert_int_equal(rc, GW_ENOTFOUND);
	memset(c, 0, sizeof(*c));
	c->customer_id = id;
	c->thread_id = id;
	c->channel = dup_s("api");
	c->address = dup_s("+15550001111");
	c->created_at = T0;
}

/*
 * fx_open - ticket `id` of customer `cid` opened at `now` by a message of
 * `s`, assigned and stored in one transaction; *t is the result (caller
 * clears).
 */
static void fx_open(struct fx *f, uint64_t id, uint64_t cid, const struct msg_spec *s,
		    int64_t now, struct proto_ticket *t)
{
	struct proto_customer c;
	struct proto_event ev;

	memset(t, 0, sizeof(*t));
	t->ticket_id = id;
	t->customer_id = cid;
	t->thread_id = cid;
	t->status = dup_s("open");
	t->channel = dup_s(s->channel);
	t->opened_at = t->updated_at = now;
	t->language = s->language ? dup_s(s->language) : NULL;
	make_message(&ev, s);
	fx_begin(f);
	get_customer(f, cid, &c);
	assert_int_equal(assign_ticket_at(&f->b, t, &ev.u.message, &c, now), GW_OK);
	assert_int_equal(store_ticket_put(f->b.txn, t), GW_OK);
	assert_int_equal(store_customer_put(f->b.txn, &c), GW_OK);
	fx_commit(f);
	proto_customer_clear(&c);
	proto_event_clear(&ev);
}

/* open_agent - opens ticket `id` and returns its agent ("" waiting). */
static const char *open_agent(struct fx *f, uint64_t id, uint64_t cid, const struct msg_spec *s,
			      int64_t now, char *buf, size_t size)
{
	struct proto_ticket t;

	fx_open(f, id, cid, s, now, &t);
	snprintf(buf, size, "%s", t.agent_id ? t.agent_id : "");
	proto_ticket_clear(&t);
	return buf;
}

static void get_ticket(struct fx *f, uint64_t id, struct proto_ticket *t)
{
	struct store_txn *txn;

	assert_int_equal(store_txn_begin(f->st, 1, &txn), GW_OK);
	assert_int_equal(store_ticket_get(txn, id, t), GW_OK);
	store_txn_abort(txn);
}

static int count_one(void *arg, uint64_t id)
{
	(void)id;
	(*(size_t *)arg)++;
	return 0;
}

/* agent_load - open_tickets of the stored agent, checked against the
 * number of its agent_tix entries (kept in step). */
static uint64_t agent_load(struct fx *f, const char *agent)
{
	struct store_txn *txn;
	struct proto_agent a;
	size_t n = 0;
	uint64_t open = 0;
	int rc;

	assert_int_equal(store_txn_begin(f->st, 1, &txn), GW_OK);
	rc = store_agent_get(txn, agent, &a);
	if (rc == GW_OK) {
		open = a.open_tickets;
		proto_agent_clear(&a);
	} else {
		assert_int_equal(rc, GW_ENOTFOUND);
	}
	assert_int_equal(store_agent_tickets(txn, agent, 1000, count_one, &n), GW_OK);
	store_txn_abort(txn);
	assert_int_equal(n, open);
	return open;
}

static size_t waiting(struct fx *f, const char *queue)
{
	struct store_txn *txn;
	size_t n = 0;

	assert_int_equal(store_txn_begin(f->st, 1, &txn), GW_OK);
	assert_int_equal(store_queue_waiting(txn, queue, 1000, count_one, &n), GW_OK);
	store_txn_abort(txn);
	return n;
}

/* set_presence - the stored presence of `agent`, as a command leaves it. */
static void set_presence(struct fx *f, const char *agent, const char *presence)
{
	struct proto_agent a;

	fx_begin(f);
	assert_int_equal(assign_agent_load(&f->b, fx_index(f, agent), &a), GW_OK);
	free(a.presence);
	a.presence = dup_s(presence);
	assert_int_equal(store_agent_put(f->b.txn, &a), GW_OK);
	fx_commit(f);
	proto_agent_clear(&a);
}

/* The batch's event `i`, decoded (caller clears). */
static void batch_event(struct fx *f, size_t i, struct proto_event *ev)
{
	assert_true(i < f->b.nev);
	assert_int_equal(proto_decode(f->b.ev[i].data, f->b.ev[i].len, ev, NULL), GW_OK);
}

/* --- strategies ----------------------------------------------------------- */

static void test_round_robin(void **state)
{
	struct proto_ticket t;
	struct fx f;
	char buf[64];

	(void)state;
	fx_init(&f);
	fx_agent(&f, "alice", 10, "");
	fx_agent(&f, "bob", 10, "");
	fx_agent(&f, "carol", 10, "");
	fx_queue(&f, "billing", "round_robin", "alice,bob,carol");
	free(f.cfg.default_queue);
	f.cfg.default_queue = dup_s("billing");
	fx_start(&f);
	fx_open(&f, 1, 1, &plain, T0, &t);
	assert_string_equal(t.agent_id, "alice");
	assert_string_equal(t.queue, "billing");
	assert_string_equal(t.priority, "normal");
	assert_string_equal(t.assign_reason, "round_robin: next of queue billing");
	assert_int_equal(t.assigned_at, T0);
	proto_ticket_clear(&t);
	assert_string_equal(open_agent(&f, 2, 2, &plain, T0, buf, sizeof(buf)), "bob");
	/* carol away: skipped, and the cursor goes on after bob's successor. */
	set_presence(&f, "carol", "away");
	assert_string_equal(open_agent(&f, 3, 3, &plain, T0, buf, sizeof(buf)), "alice");
	set_presence(&f, "carol", "online");
	assert_string_equal(open_agent(&f, 4, 4, &plain, T0, buf, sizeof(buf)), "bob");
	assert_string_equal(open_agent(&f, 5, 5, &plain, T0, buf, sizeof(buf)), "carol");
	assert_string_equal(open_agent(&f, 6, 6, &plain, T0, buf, sizeof(buf)), "alice");
	assert_int_equal(agent_load(&f, "alice"), 3);
	assert_int_equal(agent_load(&f, "bob"), 2);
	assert_int_equal(agent_load(&f, "carol"), 1);
	fx_stop(&f);
}

static void test_least_open(void **state)
{
	struct proto_ticket t;
	struct fx f;
	char buf[64];

	(void)state;
	fx_init(&f);
	fx_agent(&f, "alice", 10, "");
	fx_agent(&f, "bob", 10, "");
	fx_queue(&f, "general", "least_open", "alice,bob");
	fx_start(&f);
	/* Ties go by the queue's order. */
	assert_string_equal(open_agent(&f, 1, 1, &plain, T0, buf, sizeof(buf)), "alice");
	fx_open(&f, 2, 2, &plain, T0, &t);
	assert_string_equal(t.agent_id, "bob");
	assert_string_equal(t.assign_reason, "least_open: bob has 0 open tickets");
	proto_ticket_clear(&t);
	assert_string_equal(open_agent(&f, 3, 3, &plain, T0, buf, sizeof(buf)), "alice");
	fx_open(&f, 4, 4, &plain, T0, &t);
	assert_string_equal(t.assign_reason, "least_open: bob has 1 open ticket");
	proto_ticket_clear(&t);
	/* A released ticket lowers its agent's load. */
	get_ticket(&f, 1, &t);
	fx_begin(&f);
	assert_int_equal(assign_release(&f.b, &t), GW_OK);
	fx_commit(&f);
	proto_ticket_clear(&t);
	assert_int_equal(agent_load(&f, "alice"), 1);
	assert_string_equal(open_agent(&f, 5, 5, &plain, T0, buf, sizeof(buf)), "alice");
	assert_int_equal(agent_load(&f, "alice"), 2);
	assert_int_equal(agent_load(&f, "bob"), 2);
	fx_stop(&f);
}

static void test_sticky(void **state)
{
	struct proto_customer c;
	struct proto_ticket t;
	struct store_txn *txn;
	struct fx f;
	char buf[64];

	(void)state;
	fx_init(&f);
	fx_agent(&f, "alice", 10, "");
	fx_agent(&f, "bob", 10, "");
	fx_queue(&f, "general", "sticky", "alice,bob");
	fx_start(&f);
	/* Customers 1 and 2: no earlier agent, least open. */
	fx_open(&f, 1, 1, &plain, T0, &t);
	assert_string_equal(t.agent_id, "alice");
	assert_string_equal(t.assign_reason,
			    "sticky: no earlier agent available; least_open: alice has 0 open tickets");
	proto_ticket_clear(&t);
	assert_string_equal(open_agent(&f, 2, 2, &plain, T0, buf, sizeof(buf)), "bob");
	assert_string_equal(open_agent(&f, 3, 3, &plain, T0, buf, sizeof(buf)), "alice");
	/* Customer 2 again: bob, though alice has fewer tickets. */
	fx_open(&f, 4, 2, &plain, T0, &t);
	assert_string_equal(t.agent_id, "bob");
	assert_string_equal(t.assign_reason, "sticky: bob served this customer before");
	proto_ticket_clear(&t);
	/* bob away: least open, and alice becomes the customer's agent. */
	set_presence(&f, "bob", "away");
	assert_string_equal(open_agent(&f, 5, 2, &plain, T0, buf, sizeof(buf)), "alice");
	assert_int_equal(store_txn_begin(f.st, 1, &txn), GW_OK);
	assert_int_equal(store_customer_get(txn, 2, &c), GW_OK);
	assert_string_equal(c.last_agent, "alice");
	proto_customer_clear(&c);
	store_txn_abort(txn);
	fx_stop(&f);
}

/* --- capacity, waiting and the tick ---------------------------------------- */

static void test_capacity_and_waiting(void **state)
{
	struct proto_ticket t;
	struct proto_event ev;
	struct fx f;
	char buf[64];

	(void)state;
	fx_init(&f);
	fx_agent(&f, "alice", 1, "");
	fx_agent(&f, "bob", 1, "");
	fx_agent(&f, "zoe", 0, ""); /* no limit */
	/* A queue without match lists takes anything: the keyword one first. */
	set_list(&fx_queue(&f, "unlimited", "least_open", "zoe")->keywords, "bulk");
	fx_queue(&f, "general", "round_robin", "alice,bob");
	fx_start(&f);
	assert_string_equal(open_agent(&f, 1, 1, &plain, T0, buf, sizeof(buf)), "alice");
	assert_string_equal(open_agent(&f, 2, 2, &plain, T0, buf, sizeof(buf)), "bob");
	/* Both full: the third waits in its queue. */
	fx_open(&f, 3, 3, &plain, T0, &t);
	assert_null(t.agent_id);
	assert_string_equal(t.queue, "general");
	assert_string_equal(t.assign_reason, "waiting: no agent of queue general available");
	proto_ticket_clear(&t);
	assert_int_equal(waiting(&f, "general"), 1);
	/* Nothing available: the tick emits nothing. */
	fx_begin(&f);
	assert_int_equal(assign_tick(&f.b, T0 + 1000), GW_OK);
	assert_int_equal(f.b.nev, 0);
	fx_commit(&f);
	/* alice's ticket closes: the tick gives her the waiting one. */
	get_ticket(&f, 1, &t);
	fx_begin(&f);
	assert_int_equal(assign_release(&f.b, &t), GW_OK);
	fx_commit(&f);
	proto_ticket_clear(&t);
	fx_begin(&f);
	assert_int_equal(assign_tick(&f.b, T0 + 2000), GW_OK);
	assert_int_equal(f.b.nev, 1);
	batch_event(&f, 0, &ev);
	assert_int_equal(ev.type, PROTO_T_TICKET_ASSIGNED);
	assert_int_equal(ev.u.ticket.ticket_id, 3);
	assert_string_equal(ev.u.ticket.agent_id, "alice");
	assert_string_equal(ev.u.ticket.cause, "agent available");
	assert_int_equal(ev.u.ticket.assigned_at, T0 + 2000);
	proto_event_clear(&ev);
	fx_commit(&f);
	assert_int_equal(waiting(&f, "general"), 0);
	assert_int_equal(agent_load(&f, "alice"), 1);
	get_ticket(&f, 3, &t);
	assert_string_equal(t.agent_id, "alice");
	proto_ticket_clear(&t);
	/* Capacity 0: no limit. */
	for (uint64_t id = 10; id < 25; id++) {
		struct msg_spec bulk = {"api", "api", NULL, "a BULK order", NULL};

		assert_string_equal(open_agent(&f, id, id, &bulk, T0, buf, sizeof(buf)), "zoe");
	}
	assert_int_equal(agent_load(&f, "zoe"), 15);
	fx_stop(&f);
}

static void test_default_queue_unconfigured(void **state)
{
	struct proto_ticket t;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_agent(&f, "alice", 10, "");
	fx_queue(&f, "billing", "round_robin", "alice");
	set_list(&f.cfg.queues[0].keywords, "invoice");
	fx_start(&f);
	/* No rule matches and "general" is no configured queue: it waits. */
	fx_open(&f, 1, 1, &plain, T0, &t);
	assert_string_equal(t.queue, "general");
	assert_null(t.agent_id);
	assert_null(t.priority);
	proto_ticket_clear(&t);
	assert_int_equal(waiting(&f, "general"), 1);
	fx_begin(&f);
	assert_int_equal(assign_tick(&f.b, T0 + 1000), GW_OK);
	assert_int_equal(f.b.nev, 0);
	fx_commit(&f);
	assert_int_equal(assign_next_ms(f.rt, T0), INT64_MAX);
	fx_stop(&f);
}

/* --- languages ------------------------------------------------------------- */

static void test_language_preference(void **state)
{
	struct msg_spec fr = {"api", "api", NULL, "bonjour", "fr"};
	struct msg_spec de = {"api", "api", NULL, "hallo", "de"};
	struct fx f;
	char buf[64];

	(void)state;
	fx_init(&f);
	fx_agent(&f, "ann", 10, "en");
	fx_agent(&f, "remy", 10, "fr,en");
	fx_agent(&f, "any", 10, "");
	fx_queue(&f, "general", "least_open", "ann,remy,any");
	fx_start(&f);
	/* French: remy or any (who lists no language), never ann. */
	assert_string_equal(open_agent(&f, 1, 1, &fr, T0, buf, sizeof(buf)), "remy");
	assert_string_equal(open_agent(&f, 2, 2, &fr, T0, buf, sizeof(buf)), "any");
	assert_string_equal(open_agent(&f, 3, 3, &fr, T0, buf, sizeof(buf)), "remy");
	/* German: only `any` qualifies. */
	assert_string_equal(open_agent(&f, 4, 4, &de, T0, buf, sizeof(buf)), "any");
	/* No language: the least open of all. */
	assert_string_equal(open_agent(&f, 5, 5, &plain, T0, buf, sizeof(buf)), "ann");
	/* Nobody speaking French available: a preference, not a filter. */
	set_presence(&f, "remy", "away");
	set_presence(&f, "any", "offline");
	assert_string_equal(open_agent(&f, 6, 6, &fr, T0, buf, sizeof(buf)), "ann");
	fx_stop(&f);
}

/* --- queue rules -------------------------------------------------------------- */

static void test_queue_matching(void **state)
{
	struct proto_customer gold, plain_c;
	struct proto_event ev;
	struct proto_ticket t;
	struct gw_routing_queue *q;
	struct fx f;
	const struct {
		struct msg_spec m;
		int gold;
		const char *queue;
	} cases[] = {
		{{"email", "sales@x", NULL, "hello", "en"}, 1, "vip"},
		{{"whatsapp", "+3360000", NULL, "bonjour", "fr"}, 0, "wa_fr"},
		{{"whatsapp", "+3360000", NULL, "hello", "en"}, 0, "general"},
		/* A queue with languages does not take a message without one. */
		{{"whatsapp", "+3360000", NULL, "bonjour", NULL}, 0, "general"},
		{{"email", "help@x", "Your INVOICE 42", "see attached", "en"}, 0, "billing"},
		{{"email", "help@x", NULL, "I want a Refund please", "en"}, 0, "billing"},
		{{"email", "shop@x", NULL, "where is my parcel", "en"}, 0, "shop"},
		{{"api", "shop@x", NULL, "where is my parcel", "en"}, 0, "general"},
		{{"email", "help@x", NULL, "hello", "en"}, 0, "general"},
	};

	(void)state;
	fx_init(&f);
	fx_agent(&f, "alice", 10, "");
	q = fx_queue(&f, "vip", "round_robin", "alice");
	set_list(&q->attributes, "tier=gold,region=eu");
	free(q->priority);
	q->priority = dup_s("high");
	q = fx_queue(&f, "wa_fr", "round_robin", "alice");
	set_list(&q->channels, "whatsapp,messenger");
	set_list(&q->languages, "fr");
	q = fx_queue(&f, "billing", "round_robin", "alice");
	set_list(&q->keywords, "invoice,refund");
	q = fx_queue(&f, "shop", "round_robin", "alice");
	set_list(&q->accounts, "shop@x");
	set_list(&q->channels, "email");
	fx_start(&f);
	memset(&gold, 0, sizeof(gold));
	memset(&plain_c, 0, sizeof(plain_c));
	gold.attributes = calloc(3, sizeof(char *));
	assert_non_null(gold.attributes);
	gold.attributes[gold.attributes_len++] = dup_s("region=eu");
	gold.attributes[gold.attributes_len++] = dup_s("tier=gold");
	plain_c.attributes = calloc(1, sizeof(char *));
	assert_non_null(plain_c.attributes);
	plain_c.attributes[plain_c.attributes_len++] = dup_s("tier=gold"); /* not all */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_message(&ev, &cases[i].m);
		assert_string_equal(assign_queue_of(f.rt, &ev.u.message,
						    cases[i].gold ? &gold : &plain_c),
				    cases[i].queue);
		proto_event_clear(&ev);
	}
	/* The queue gives its priority; a reopened ticket keeps its queue. */
	fx_open(&f, 1, 1, &cases[0].m, T0, &t);
	assert_string_equal(t.queue, "general"); /* customer 1 has no attributes */
	proto_ticket_clear(&t);
	memset(&t, 0, sizeof(t));
	t.ticket_id = 2;
	t.customer_id = t.thread_id = 2;
	t.status = dup_s("open");
	t.channel = dup_s("email");
	t.queue = dup_s("shop");
	make_message(&ev, &cases[4].m);
	fx_begin(&f);
	assert_int_equal(assign_ticket_at(&f.b, &t, &ev.u.message, &gold, T0), GW_OK);
	fx_commit(&f);
	assert_string_equal(t.queue, "shop");
	assert_string_equal(t.priority, "normal");
	assert_string_equal(t.agent_id, "alice");
	proto_ticket_clear(&t);
	memset(&t, 0, sizeof(t));
	t.ticket_id = 3;
	fx_begin(&f);
	assert_int_equal(assign_ticket_at(&f.b, &t, &ev.u.message, &gold, T0), GW_OK);
	fx_commit(&f);
	assert_string_equal(t.queue, "vip");
	assert_string_equal(t.priority, "high");
	proto_ticket_clear(&t);
	proto_event_clear(&ev);
	proto_customer_clear(&gold);
	proto_customer_clear(&plain_c);
	fx_stop(&f);
}

/* --- working hours -------------------------------------------------------------- */

static void test_working_hours(void **state)
{
	struct proto_event ev;
	struct proto_ticket t;
	struct fx f;
	char buf[64];
	/* Paris closes at 18:00 local = 17:00 UTC; Tokyo opens Tuesday 09:00
	 * local = Tuesday 00:00 UTC. */
	const int64_t paris_close = T0 + 7 * HOUR, tokyo_open = T0 + 14 * HOUR;

	(void)state;
	fx_init(&f);
	fx_hours(fx_agent(&f, "paris", 10, ""), "Europe/Paris", "mon-fri 09:00-18:00");
	fx_hours(fx_agent(&f, "tokyo", 10, ""), "Asia/Tokyo", "mon-fri 09:00-18:00");
	fx_queue(&f, "general", "round_robin", "tokyo,paris");
	fx_start(&f);
	assert_int_equal(assign_next_ms(f.rt, T0), paris_close);
	assert_int_equal(assign_next_ms(f.rt, paris_close), tokyo_open);
	/* 10:00 UTC: 19:00 in Tokyo, closed; 11:00 in Paris. */
	assert_string_equal(open_agent(&f, 1, 1, &plain, T0, buf, sizeof(buf)), "paris");
	assert_string_equal(open_agent(&f, 2, 2, &plain, T0, buf, sizeof(buf)), "paris");
	/* A tick before the end changes nothing. */
	fx_begin(&f);
	assert_int_equal(assign_tick(&f.b, paris_close - MINUTE), GW_OK);
	assert_int_equal(f.b.nev, 0);
	fx_commit(&f);
	/* Paris's hours end, nobody else works: both tickets wait. */
	fx_begin(&f);
	assert_int_equal(assign_tick(&f.b, paris_close + MINUTE), GW_OK);
	assert_int_equal(f.b.nev, 3);
	batch_event(&f, 0, &ev);
	assert_int_equal(ev.type, PROTO_T_AGENT_PRESENCE);
	assert_string_equal(ev.u.agent.agent_id, "paris");
	assert_string_equal(ev.u.agent.presence, "away");
	assert_string_equal(ev.u.agent.cause, "working hours ended");
	proto_event_clear(&ev);
	batch_event(&f, 1, &ev);
	assert_int_equal(ev.type, PROTO_T_TICKET_UPDATED);
	assert_null(ev.u.ticket.agent_id);
	assert_string_equal(ev.u.ticket.cause,
			    "paris's working hours ended: waiting in queue general");
	proto_event_clear(&ev);
	fx_commit(&f);
	assert_int_equal(agent_load(&f, "paris"), 0);
	assert_int_equal(waiting(&f, "general"), 2);
	/* Seen once: the next tick does not do it again. */
	fx_begin(&f);
	assert_int_equal(assign_tick(&f.b, paris_close + 2 * MINUTE), GW_OK);
	assert_int_equal(f.b.nev, 0);
	fx_commit(&f);
	/* Tokyo's day begins: it takes the waiting tickets, oldest first. */
	fx_begin(&f);
	assert_int_equal(assign_tick(&f.b, tokyo_open + MINUTE), GW_OK);
	assert_int_equal(f.b.nev, 3);
	batch_event(&f, 0, &ev);
	assert_int_equal(ev.type, PROTO_T_AGENT_PRESENCE);
	assert_string_equal(ev.u.agent.agent_id, "tokyo");
	assert_string_equal(ev.u.agent.presence, "online");
	assert_string_equal(ev.u.agent.cause, "working hours began");
	proto_event_clear(&ev);
	batch_event(&f, 1, &ev);
	assert_int_equal(ev.type, PROTO_T_TICKET_ASSIGNED);
	assert_int_equal(ev.u.ticket.ticket_id, 1);
	assert_string_equal(ev.u.ticket.agent_id, "tokyo");
	assert_string_equal(ev.u.ticket.cause, "agent available");
	proto_event_clear(&ev);
	fx_commit(&f);
	assert_int_equal(agent_load(&f, "tokyo"), 2);
	assert_int_equal(waiting(&f, "general"), 0);
	get_ticket(&f, 2, &t);
	assert_string_equal(t.agent_id, "tokyo");
	proto_ticket_clear(&t);
	fx_stop(&f);
}

/* fx_tick - assign_tick(now) kept as the router keeps a transaction: only
 * when it emitted something or asked to be kept (batch.keep). Returns the
 * number of events. */
static size_t fx_tick(struct fx *f, int64_t now)
{
	fx_begin(f);
	assert_int_equal(assign_tick(&f->b, now), GW_OK);
	if (f->b.nev == 0 && !f->b.keep) {
		store_txn_abort(f->b.txn);
		f->b.txn = NULL;
		return 0;
	}
	fx_commit(f);
	return f->b.nev;
}

/* Hours whose state was never recorded (a store from before the agent had
 * working hours): the first tick records it, though it emits nothing, so
 * that the end of the hours is noticed by the next. */
static void test_working_hours_first_seen(void **state)
{
	const int64_t paris_close = T0 + 7 * HOUR;
	struct proto_event ev;
	struct fx f;
	char buf[64];

	(void)state;
	fx_init(&f);
	fx_hours(fx_agent(&f, "paris", 10, ""), "Europe/Paris", "mon-fri 09:00-18:00");
	fx_queue(&f, "general", "round_robin", "paris");
	fx_start(&f);
	assert_string_equal(open_agent(&f, 1, 1, &plain, T0, buf, sizeof(buf)), "paris");
	assert_string_equal(open_agent(&f, 2, 2, &plain, T0, buf, sizeof(buf)), "paris");
	fx_begin(&f);
	assert_int_equal(store_meta_put(f.b.txn, "hours:paris", 0), GW_OK);
	fx_commit(&f);
	/* Nothing to announce, yet the state is kept... */
	assert_int_equal(fx_tick(&f, paris_close - MINUTE), 0);
	/* ...so the end of the hours hands the tickets on. */
	assert_true(fx_tick(&f, paris_close + MINUTE) >= 1);
	batch_event(&f, 0, &ev);
	assert_int_equal(ev.type, PROTO_T_AGENT_PRESENCE);
	assert_string_equal(ev.u.agent.cause, "working hours ended");
	proto_event_clear(&ev);
	assert_int_equal(agent_load(&f, "paris"), 0);
	assert_int_equal(waiting(&f, "general"), 2);
	fx_stop(&f);
}

/* --- agents leaving and coming back ---------------------------------------------- */

static void test_agent_away_and_back(void **state)
{
	struct proto_event ev;
	struct proto_ticket t;
	struct fx f;
	char buf[64];
	size_t n;

	(void)state;
	fx_init(&f);
	fx_agent(&f, "alice", 10, "");
	fx_agent(&f, "bob", 10, "");
	fx_queue(&f, "general", "round_robin", "alice,bob");
	fx_start(&f);
	assert_string_equal(open_agent(&f, 1, 1, &plain, T0, buf, sizeof(buf)), "alice");
	assert_string_equal(open_agent(&f, 2, 2, &plain, T0, buf, sizeof(buf)), "bob");
	/* alice goes away: her ticket goes to bob. */
	set_presence(&f, "alice", "away");
	fx_begin(&f);
	assert_int_equal(assign_agent_left(&f.b, fx_index(&f, "alice"), "alice went away", T0,
					   &n), GW_OK);
	assert_int_equal(n, 1);
	assert_int_equal(f.b.nev, 1);
	batch_event(&f, 0, &ev);
	assert_int_equal(ev.type, PROTO_T_TICKET_ASSIGNED);
	assert_int_equal(ev.u.ticket.ticket_id, 1);
	assert_string_equal(ev.u.ticket.agent_id, "bob");
	assert_string_equal(ev.u.ticket.assign_reason, "reassigned: alice went away");
	assert_string_equal(ev.u.ticket.cause, "alice went away");
	proto_event_clear(&ev);
	fx_commit(&f);
	assert_int_equal(agent_load(&f, "alice"), 0);
	assert_int_equal(agent_load(&f, "bob"), 2);
	/* bob goes offline too: both wait, their agent cleared. */
	set_presence(&f, "bob", "offline");
	fx_begin(&f);
	assert_int_equal(assign_agent_left(&f.b, fx_index(&f, "bob"), "bob went offline", T0, &n),
			 GW_OK);
	assert_int_equal(n, 2);
	assert_int_equal(f.b.nev, 2);
	batch_event(&f, 0, &ev);
	assert_int_equal(ev.type, PROTO_T_TICKET_UPDATED);
	assert_null(ev.u.ticket.agent_id);
	assert_string_equal(ev.u.ticket.cause, "bob went offline: waiting in queue general");
	proto_event_clear(&ev);
	fx_commit(&f);
	assert_int_equal(agent_load(&f, "bob"), 0);
	assert_int_equal(waiting(&f, "general"), 2);
	/* alice is back: the waiting tickets are offered to her queues. */
	set_presence(&f, "alice", "online");
	fx_begin(&f);
	assert_int_equal(assign_offer(&f.b, fx_index(&f, "alice"), "alice came online", T0, &n),
			 GW_OK);
	assert_int_equal(n, 2);
	batch_event(&f, 1, &ev);
	assert_int_equal(ev.type, PROTO_T_TICKET_ASSIGNED);
	assert_string_equal(ev.u.ticket.agent_id, "alice");
	assert_string_equal(ev.u.ticket.cause, "alice came online");
	proto_event_clear(&ev);
	fx_commit(&f);
	assert_int_equal(agent_load(&f, "alice"), 2);
	assert_int_equal(waiting(&f, "general"), 0);
	/* A forced assignment ignores presence and capacity. */
	get_ticket(&f, 2, &t);
	fx_begin(&f);
	assert_int_equal(assign_give(&f.b, &t, fx_index(&f, "bob"), "assigned by command c-1",
				     NULL, T0), GW_OK);
	assert_int_equal(store_ticket_put(f.b.txn, &t), GW_OK);
	fx_commit(&f);
	proto_ticket_clear(&t);
	assert_int_equal(agent_load(&f, "alice"), 1);
	assert_int_equal(agent_load(&f, "bob"), 1);
	fx_stop(&f);
}

/* The availability of each queue (router/rules/availability.c). */
static const char *avail_of(struct fx *f, const char *queue)
{
	static char state[16];
	struct store_txn *txn = NULL;
	json_t *o;

	assert_int_equal(store_txn_begin(f->st, 1, &txn), GW_OK);
	o = assign_availability(f->rt, txn, T0);
	store_txn_abort(txn);
	assert_non_null(o);
	snprintf(state, sizeof(state), "%s",
		 json_string_value(json_object_get(json_object_get(o, queue), "state")));
	json_decref(o);
	return state;
}

static void test_availability(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	f.cfg.business_hours = calloc(1, sizeof(*f.cfg.business_hours));
	assert_non_null(f.cfg.business_hours);
	f.cfg.business_hours[0].name = dup_s("never");
	f.cfg.business_hours[0].timezone = dup_s("UTC");
	f.cfg.business_hours[0].hours = dup_s("closed");
	f.cfg.n_business_hours = 1;
	fx_agent(&f, "alice", 1, "");
	fx_agent(&f, "bob", 1, "");
	fx_agent(&f, "carol", 1, "");
	fx_hours(&f.cfg.agents[2], "UTC", "closed");
	fx_queue(&f, "general", "round_robin", "alice,bob");
	fx_queue(&f, "night", "round_robin", "alice");
	free(f.cfg.queues[1].business_hours);
	f.cfg.queues[1].business_hours = dup_s("never");
	fx_queue(&f, "vip", "round_robin", "bob,carol");
	fx_queue(&f, "outsourced", "round_robin", "");
	free(f.cfg.default_queue);
	f.cfg.default_queue = dup_s("triage");
	fx_start(&f);
	set_presence(&f, "bob", "offline");
	assert_string_equal(avail_of(&f, "general"), "available"); /* alice */
	assert_string_equal(avail_of(&f, "night"), "closed");      /* its hours */
	assert_string_equal(avail_of(&f, "vip"), "away");          /* bob off, carol's hours */
	assert_string_equal(avail_of(&f, "outsourced"), "available");
	assert_string_equal(avail_of(&f, "triage"), "available");  /* unconfigured default */
	set_presence(&f, "alice", "away");
	assert_string_equal(avail_of(&f, "general"), "away");
	set_presence(&f, "bob", "online");
	assert_string_equal(avail_of(&f, "general"), "available");
	assert_string_equal(avail_of(&f, "vip"), "available");
	fx_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_robin),
		cmocka_unit_test(test_least_open),
		cmocka_unit_test(test_sticky),
		cmocka_unit_test(test_capacity_and_waiting),
		cmocka_unit_test(test_default_queue_unconfigured),
		cmocka_unit_test(test_language_preference),
		cmocka_unit_test(test_queue_matching),
		cmocka_unit_test(test_working_hours),
		cmocka_unit_test(test_working_hours_first_seen),
		cmocka_unit_test(test_agent_away_and_back),
		cmocka_unit_test(test_availability),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

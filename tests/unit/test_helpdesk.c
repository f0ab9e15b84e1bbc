/*
 * test_helpdesk.c - the helpdesk's ticket commands (router/commands/helpdesk.c) and
 * the ticket record a new ticket is announced with (router/route.c), and a
 * merge's trace and clocks (router/commands/ticket_merge.c), on a
 * real router store (no sockets used: messages are routed and commands run
 * in the router's own transactions). One queue, "general", served by one
 * agent always at work; scope customer; no reopen window.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "core/err.h"
#include "router/router.h"
#include "store/store.h"

#define FX_NAME "helpdesk"
#include "tests/unit/router_fixture.h"
#include "routing_defaults.h"

/* --- messages and commands --------------------------------------------------- */

struct routed {
	struct proto_event *ev;
	enum route_result res;
};

static int route_txn(struct batch *b, void *arg)
{
	struct routed *x = arg;

	return route_event(b, x->ev, &x->res);
}

/* msg - routes an inbound API message from `from`; its ticket in *ticket,
 * its seq returned. */
static uint64_t msg(struct fx *f, const char *ext, const char *from, uint64_t *ticket)
{
	struct proto_event ev;
	struct routed x = {&ev, ROUTE_DUPLICATE};
	uint64_t seq;

	assert_int_equal(proto_event_init(&ev, PROTO_T_MESSAGE_RECEIVED), GW_OK);
	ev.u.message.channel = strdup("api");
	ev.u.message.account = strdup("api");
	ev.u.message.external_id = strdup(ext);
	ev.u.message.received_at = 1700000000000;
	ev.u.message.from.address = strdup(from);
	ev.u.message.text = strdup(ext); /* distinct texts: no duplicate rule */
	assert_int_equal(router_txn(f->r, route_txn, &x), GW_OK);
	assert_int_equal(x.res, ROUTE_STORED);
	*ticket = ev.u.message.ticket_id;
	seq = ev.seq;
	proto_event_clear(&ev);
	return seq;
}

/* command - runs ticket command `fn` on ticket `id` with `command_id`;
 * its code, and its error text in err. */
static int command(struct fx *f, routing_cmd_fn fn, const char *command_id, uint64_t id,
		   char *err, size_t errlen)
{
	msgpack_sbuffer in, out;
	msgpack_packer pk;
	int rc;

	msgpack_sbuffer_init(&in);
	msgpack_sbuffer_init(&out);
	msgpack_packer_init(&pk, &in, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "command_id", 10);
	msgpack_pack_str_with_body(&pk, command_id, strlen(command_id));
	msgpack_pack_str_with_body(&pk, "ticket_id", 9);
	msgpack_pack_uint64(&pk, id);
	err[0] = '\0';
	rc = fn(f->r, in.data, in.size, &out, err, errlen);
	msgpack_sbuffer_destroy(&in);
	msgpack_sbuffer_destroy(&out);
	return rc;
}

static void command_ok(struct fx *f, routing_cmd_fn fn, const char *command_id, uint64_t id)
{
	char err[256];

	if (command(f, fn, command_id, id, err, sizeof(err)) != GW_OK)
		fail_msg("%s: %s", command_id, err);
}

/* --- reading the store ------------------------------------------------------- */

static struct store_txn *rtxn(struct fx *f)
{
	struct store_txn *txn;

	assert_int_equal(store_txn_begin(router_store(f->r), 1, &txn), GW_OK);
	return txn;
}

static void ticket(struct fx *f, uint64_t id, struct proto_ticket *t)
{
	struct store_txn *txn = rtxn(f);

	memset(t, 0, sizeof(*t));
	assert_int_equal(store_ticket_get(txn, id, t), GW_OK);
	store_txn_abort(txn);
}

static void customer(struct fx *f, uint64_t id, struct proto_customer *c)
{
	struct store_txn *txn = rtxn(f);

	memset(c, 0, sizeof(*c));
	assert_int_equal(store_customer_get(txn, id, c), GW_OK);
	store_txn_abort(txn);
}

/* event - the event at `seq`, decoded (caller clears). */
static void event(struct fx *f, uint64_t seq, struct proto_event *ev)
{
	struct store_txn *txn = rtxn(f);

	memset(ev, 0, sizeof(*ev));
	assert_int_equal(store_eventlog_decode(txn, seq, ev), GW_OK);
	store_txn_abort(txn);
}

static const char *status_of(struct fx *f, uint64_t id, char *buf, size_t size)
{
	struct proto_ticket t;

	ticket(f, id, &t);
	snprintf(buf, size, "%s", t.status);
	proto_ticket_clear(&t);
	return buf;
}

/* --- the announced ticket record ------------------------------------------------ */

/* expect_counted - ticket event `ev` counts message `seq` on api as the
 * ticket's first and last. */
static void expect_counted(const struct proto_event *ev, uint64_t seq)
{
	const struct proto_ticket *t = &ev->u.ticket;

	assert_int_equal(t->message_count, 1);
	assert_int_equal(t->last_message_seq, seq);
	assert_int_equal(t->channels_len, 1);
	assert_string_equal(t->channels[0], "api");
	assert_true(t->updated_at > 0);
}

static void test_created_ticket_is_complete(void **state)
{
	struct proto_ticket stored;
	struct proto_event ev;
	uint64_t seq, id;
	struct fx f;

	(void)state;
	fx_open(&f);
	/* customer.created, ticket.created, ticket.assigned, message.received,
	 * and nothing after: the announcements must hold the message. */
	seq = msg(&f, "m1", "+15550001", &id);
	assert_int_equal(seq, 4);
	assert_int_equal(router_head(f.r), 4);
	event(&f, 2, &ev);
	assert_int_equal(ev.type, PROTO_T_TICKET_CREATED);
	expect_counted(&ev, seq);
	proto_event_clear(&ev);
	event(&f, 3, &ev);
	assert_int_equal(ev.type, PROTO_T_TICKET_ASSIGNED);
	assert_string_equal(ev.u.ticket.agent_id, "alice");
	expect_counted(&ev, seq);
	/* What was announced is what is stored. */
	ticket(&f, id, &stored);
	assert_int_equal(stored.message_count, 1);
	assert_int_equal(stored.last_message_seq, seq);
	assert_true(stored.updated_at == ev.u.ticket.updated_at);
	proto_ticket_clear(&stored);
	proto_event_clear(&ev);
	/* A later message: message.received, then ticket.updated with it. */
	seq = msg(&f, "m2", "+15550001", &id);
	assert_int_equal(router_head(f.r), seq + 1);
	event(&f, seq + 1, &ev);
	assert_int_equal(ev.type, PROTO_T_TICKET_UPDATED);
	assert_int_equal(ev.u.ticket.message_count, 2);
	assert_int_equal(ev.u.ticket.last_message_seq, seq);
	proto_event_clear(&ev);
	fx_close(&f);
}

/* --- ticket.reopen ---------------------------------------------------------------- */

static void test_reopen_refused_while_another_is_open(void **state)
{
	struct proto_customer c;
	struct proto_ticket t;
	uint64_t t1, t2, t3, head;
	char err[256], buf[32];
	struct fx f;

	(void)state;
	fx_open(&f);
	msg(&f, "m1", "+15550002", &t1);
	command_ok(&f, helpdesk_ticket_close, "close-1", t1);
	/* No reopen window: the next message opens ticket 2. */
	msg(&f, "m2", "+15550002", &t2);
	assert_int_not_equal(t2, t1);
	/* Reopening ticket 1 would leave two open tickets in the scope. */
	head = router_head(f.r);
	assert_int_equal(command(&f, helpdesk_ticket_reopen, "reopen-1", t1, err, sizeof(err)),
			 GW_EINVAL);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)t2);
	assert_non_null(strstr(err, "has open ticket"));
	assert_non_null(strstr(err, buf));
	assert_non_null(strstr(err, "in this scope"));
	assert_int_equal(router_head(f.r), head);
	assert_string_equal(status_of(&f, t1, buf, sizeof(buf)), "closed");
	/* Ticket 2 stays the customer's open ticket and gets the messages. */
	msg(&f, "m3", "+15550002", &t3);
	assert_int_equal(t3, t2);
	/* Once ticket 2 is closed, ticket 1 may be reopened (the same command
	 * id again: the refusal kept nothing). */
	command_ok(&f, helpdesk_ticket_close, "close-2", t2);
	command_ok(&f, helpdesk_ticket_reopen, "reopen-1", t1);
	assert_string_equal(status_of(&f, t1, buf, sizeof(buf)), "open");
	ticket(&f, t1, &t);
	customer(&f, t.customer_id, &c);
	assert_int_equal(c.open_ticket_id, t1);
	proto_ticket_clear(&t);
	proto_customer_clear(&c);
	msg(&f, "m4", "+15550002", &t3);
	assert_int_equal(t3, t1);
	fx_close(&f);
}

/* --- merge: trace and clocks ------------------------------------------------- */

/* tm_command - ticket.merge or ticket.split of ticket `id` with `key` (target_id
 * or message_seq) = `v`; fails the test unless it succeeds. */
static void tm_command(struct fx *f, routing_cmd_fn fn, const char *command_id, uint64_t id,
		       const char *key, uint64_t v)
{
	msgpack_sbuffer in, out;
	msgpack_packer pk;
	char err[256] = "";

	msgpack_sbuffer_init(&in);
	msgpack_sbuffer_init(&out);
	msgpack_packer_init(&pk, &in, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_str_with_body(&pk, "command_id", 10);
	msgpack_pack_str_with_body(&pk, command_id, strlen(command_id));
	msgpack_pack_str_with_body(&pk, "ticket_id", 9);
	msgpack_pack_uint64(&pk, id);
	msgpack_pack_str_with_body(&pk, key, strlen(key));
	msgpack_pack_uint64(&pk, v);
	if (fn(f->r, in.data, in.size, &out, err, sizeof(err)) != GW_OK)
		fail_msg("%s: %s", command_id, err);
	msgpack_sbuffer_destroy(&in);
	msgpack_sbuffer_destroy(&out);
}

struct seqs {
	uint64_t v[32];
	size_t n;
};

static int seq_add(void *arg, uint64_t seq)
{
	struct seqs *l = arg;

	if (l->n < 32)
		l->v[l->n++] = seq;
	return 0;
}

static void trace_of(struct fx *f, uint64_t id, struct seqs *l)
{
	struct store_txn *txn = rtxn(f);

	memset(l, 0, sizeof(*l));
	assert_int_equal(store_ticket_trace(txn, id, 32, seq_add, l), GW_OK);
	store_txn_abort(txn);
}

static int due_of(void *arg, int64_t due_ms, uint64_t ticket_id, unsigned what)
{
	uint64_t *id = arg;

	(void)due_ms;
	(void)what;
	if (ticket_id == id[0])
		id[1]++;
	return 0;
}

/* sla_entries - the timer entries (SLA instants) left for ticket `id`. */
static uint64_t sla_entries(struct fx *f, uint64_t id)
{
	struct store_txn *txn = rtxn(f);
	uint64_t arg[2] = {id, 0};

	assert_int_equal(store_sla_scan(txn, INT64_MAX, 1000, due_of, arg), GW_OK);
	store_txn_abort(txn);
	return arg[1];
}

/* A ticket split off (own clocks) and merged back: the survivor keeps its
 * clocks and gets the merged ticket's trace; the merged one's clocks stop
 * and leave no timer entry. */
static void test_merge_keeps_trace_and_clocks(void **state)
{
	struct proto_ticket a, b, t;
	struct seqs tr2, tr1;
	uint64_t t1, t2, seq2;
	struct fx f;

	(void)state;
	fx_open(&f);
	msg(&f, "mm1", "+15550003", &t1);
	seq2 = msg(&f, "mm2", "+15550003", &t2);
	assert_int_equal(t2, t1);
	tm_command(&f, ticket_split, "split-1", t1, "message_seq", seq2);
	ticket(&f, t1, &t);
	assert_int_equal(t.splits_len, 1);
	t2 = t.splits[0].ticket_id;
	proto_ticket_clear(&t);
	ticket(&f, t1, &a);
	ticket(&f, t2, &b);
	assert_string_equal(b.sla_resolution, "running");
	assert_true(sla_entries(&f, t2) > 0);
	trace_of(&f, t2, &tr2);
	assert_true(tr2.n >= 2); /* ticket.created, ticket.split */
	tm_command(&f, ticket_merge, "merge-1", t2, "target_id", t1);
	ticket(&f, t1, &t);
	assert_true(t.sla_started_at == a.sla_started_at);
	assert_true(t.first_response_due == a.first_response_due);
	assert_true(t.resolution_due == a.resolution_due);
	assert_string_equal(t.sla_first_response, a.sla_first_response);
	assert_string_equal(t.sla_resolution, a.sla_resolution);
	proto_ticket_clear(&t);
	trace_of(&f, t1, &tr1);
	for (size_t i = 0; i < tr2.n; i++) {
		size_t k = 0;

		while (k < tr1.n && tr1.v[k] != tr2.v[i])
			k++;
		assert_true(k < tr1.n);
	}
	ticket(&f, t2, &t);
	assert_string_equal(t.status, "closed");
	assert_int_equal(t.merged_into, t1);
	assert_string_equal(t.sla_first_response, "stopped");
	assert_string_not_equal(t.sla_resolution, "running");
	assert_int_equal(sla_entries(&f, t2), 0);
	proto_ticket_clear(&t);
	proto_ticket_clear(&a);
	proto_ticket_clear(&b);
	fx_close(&f);
}

static void list_set(struct conf_strlist *l, const char *v)
{
	l->v = calloc(1, sizeof(*l->v));
	assert_non_null(l->v);
	l->v[0] = strdup(v);
	assert_non_null(l->v[0]);
	l->n = 1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_created_ticket_is_complete),
		cmocka_unit_test(test_reopen_refused_while_another_is_open),
		cmocka_unit_test(test_merge_keeps_trace_and_clocks),
	};
	struct gw_routing_queue *q;
	struct gw_routing_agent *a;
	char err[256];
	int failed;

	/* The routing defaults, without language models. */
	if (routing_defaults_no_lang(&routing_cfg, err, sizeof(err)) != GW_OK)
		return 1;
	routing_cfg.reopen_window_h = 0;
	q = calloc(1, sizeof(*q));
	a = calloc(1, sizeof(*a));
	if (!q || !a)
		return 1;
	q->name = strdup("general");
	q->strategy = strdup("round_robin");
	q->business_hours = strdup("");
	q->priority = strdup("normal");
	list_set(&q->agents, "alice");
	a->id = strdup("alice");
	a->name = strdup("");
	a->timezone = strdup("UTC");
	a->hours = strdup("");
	a->presence = strdup("online");
	routing_cfg.queues = q;
	routing_cfg.n_queues = 1;
	routing_cfg.agents = a;
	routing_cfg.n_agents = 1;
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	gw_config_routing_free(&routing_cfg);
	return failed;
}

/*
 * test_router.c - routing rules on a real store, and the router's sockets
 * (ingest, publish, replay, queries) driven over ZeroMQ ipc endpoints.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>
#include <pthread.h>
#include <zmq.h>

#include "core/err.h"
#include "proto/wire.h"
#include "router/router.h"
#include "store/store.h"
#include "routing_defaults.h"
#include "tests/unit/testutil.h"

static char *make_tmpdir(void)
{
	char d[64];
	char *s;

	test_tmpdir(d, sizeof(d), "router");
	s = strdup(d);
	assert_non_null(s);
	return s;
}

/* The routing defaults every routed batch here uses (set up in main). */
static struct gw_config_routing routing_cfg;
static struct routing *routing;

static void make_message(struct proto_event *ev, const char *ext, const char *from)
{
	assert_int_equal(proto_event_init(ev, PROTO_T_MESSAGE_RECEIVED), GW_OK);
	ev->u.message.channel = strdup("api");
	ev->u.message.account = strdup("api");
	ev->u.message.external_id = strdup(ext);
	ev->u.message.received_at = 1700000000000;
	ev->u.message.from.address = strdup(from);
	ev->u.message.text = strdup("hello");
}

static enum route_result route(struct store *st, struct batch *b, const char *ext,
			       const char *from, uint64_t *ticket)
{
	struct proto_event ev;
	enum route_result res;

	make_message(&ev, ext, from);
	assert_int_equal(store_txn_begin(st, 0, &b->txn), GW_OK);
	assert_int_equal(route_message(b, &ev, &res), GW_OK);
	assert_int_equal(store_txn_commit(b->txn), GW_OK);
	*ticket = ev.u.message.ticket_id;
	proto_event_clear(&ev);
	return res;
}

static void test_route_rules(void **state)
{
	char *dir = make_tmpdir();
	struct store *st;
	struct batch b = {0};
	struct proto_event ev;
	uint64_t t1, t2, t3;

	(void)state;
	b.rt = routing;
	assert_int_equal(store_open(dir, 64u << 20, &st), GW_OK);
	/* First message: customer.created, ticket.created, message.received. */
	assert_int_equal(route(st, &b, "m1", "+1555", &t1), ROUTE_STORED);
	assert_int_equal(b.nev, 3);
	assert_string_equal(b.ev[0].type, "customer.created");
	assert_string_equal(b.ev[1].type, "ticket.created");
	assert_string_equal(b.ev[2].type, "message.received");
	assert_int_equal(b.head, 3);
	/* No event follows the message: ticket.created counts it already. */
	assert_int_equal(proto_decode(b.ev[1].data, b.ev[1].len, &ev, NULL), GW_OK);
	assert_int_equal(ev.u.ticket.message_count, 1);
	assert_int_equal(ev.u.ticket.last_message_seq, 3);
	assert_int_equal(ev.u.ticket.channels_len, 1);
	assert_string_equal(ev.u.ticket.channels[0], "api");
	proto_event_clear(&ev);
	batch_reset(&b);
	/* Same sender: appended to the open ticket, which is updated. */
	assert_int_equal(route(st, &b, "m2", "+1555", &t2), ROUTE_STORED);
	assert_int_equal(b.nev, 2);
	assert_string_equal(b.ev[0].type, "message.received");
	assert_string_equal(b.ev[1].type, "ticket.updated");
	assert_int_equal(t2, t1);
	batch_reset(&b);
	/* The same id again: a duplicate, nothing emitted. */
	assert_int_equal(route(st, &b, "m1", "+1555", &t2), ROUTE_DUPLICATE);
	assert_int_equal(b.nev, 0);
	assert_int_equal(b.head, 5);
	/* Another sender: another customer and ticket. */
	assert_int_equal(route(st, &b, "m3", "+1666", &t3), ROUTE_STORED);
	assert_int_not_equal(t3, t1);
	assert_int_equal(b.nev, 3);
	batch_reset(&b);
	free(b.ev);
	store_close(st);
	test_rmtree(dir);
	free(dir);
}

/* --- message.sent, message.status, message.edited, message.deleted ----- */

/* A routing test: a store in a temporary directory and a batch on it. */
struct rt {
	char *dir;
	struct store *st;
	struct batch b;
};

static void rt_open(struct rt *t)
{
	memset(t, 0, sizeof(*t));
	t->b.rt = routing;
	t->dir = make_tmpdir();
	assert_int_equal(store_open(t->dir, 64u << 20, &t->st), GW_OK);
}

static void rt_close(struct rt *t)
{
	batch_reset(&t->b);
	free(t->b.ev);
	store_close(t->st);
	test_rmtree(t->dir);
	free(t->dir);
}

/*
 * rt_route - checks and routes `ev` (borrowed, completed by the router) in
 * its own committed transaction, after dropping the previous batch's
 * events: t->b.ev holds what this one emitted.
 */
static enum route_result rt_route(struct rt *t, struct proto_event *ev)
{
	enum route_result res;
	char reason[192];

	batch_reset(&t->b);
	assert_int_equal(route_check(ev, reason, sizeof(reason)), GW_OK);
	assert_int_equal(store_txn_begin(t->st, 0, &t->b.txn), GW_OK);
	assert_int_equal(route_event(&t->b, ev, &res), GW_OK);
	assert_int_equal(store_txn_commit(t->b.txn), GW_OK);
	t->b.txn = NULL;
	return res;
}

/* rt_received - routes an inbound message; returns its event's seq. */
static uint64_t rt_received(struct rt *t, const char *ext, const char *from)
{
	struct proto_event ev;
	uint64_t seq;

	make_message(&ev, ext, from);
	assert_int_equal(rt_route(t, &ev), ROUTE_STORED);
	seq = ev.seq;
	proto_event_clear(&ev);
	return seq;
}

/* The batch's event `i`, decoded into `ev` (caller clears). */
static void rt_event(struct rt *t, size_t i, struct proto_event *ev)
{
	assert_true(i < t->b.nev);
	assert_int_equal(proto_decode(t->b.ev[i].data, t->b.ev[i].len, ev, NULL), GW_OK);
}

static void make_sent(struct proto_event *ev, const char *ext, const char *to, const char *name)
{
	make_message(ev, ext, "page-1");
	ev->type = PROTO_T_MESSAGE_SENT;
	ev->u.message.to = calloc(1, sizeof(*ev->u.message.to));
	assert_non_null(ev->u.message.to);
	ev->u.message.to->address = strdup(to);
	ev->u.message.to->name = name ? strdup(name) : NULL;
}

static void make_status(struct proto_event *ev, const char *status_id, const char *ext,
			const char *status)
{
	struct proto_status *s = &ev->u.status;

	assert_int_equal(proto_event_init(ev, PROTO_T_MESSAGE_STATUS), GW_OK);
	s->channel = strdup("api");
	s->account = strdup("api");
	s->status_id = strdup(status_id);
	s->external_id = ext ? strdup(ext) : NULL;
	s->status = strdup(status);
	s->status_at = 1700000000000;
}

static void make_change(struct proto_event *ev, enum proto_type type, const char *change_id,
			const char *ext)
{
	struct proto_change *c = &ev->u.change;

	assert_int_equal(proto_event_init(ev, type), GW_OK);
	c->channel = strdup("api");
	c->account = strdup("api");
	c->change_id = strdup(change_id);
	c->external_id = strdup(ext);
	c->changed_at = 1700000000000;
	c->text = type == PROTO_T_MESSAGE_EDITED ? strdup("edited") : NULL;
}

static void get_customer(struct rt *t, const char *address, struct proto_customer *c)
{
	struct store_txn *txn;
	uint64_t id;

	assert_int_equal(store_txn_begin(t->st, 1, &txn), GW_OK);
	assert_int_equal(store_identity_get(txn, "api", address, &id), GW_OK);
	assert_int_equal(store_customer_get(txn, id, c), GW_OK);
	store_txn_abort(txn);
}

static void get_ticket(struct rt *t, uint64_t id, struct proto_ticket *tk)
{
	struct store_txn *txn;

	assert_int_equal(store_txn_begin(t->st, 1, &txn), GW_OK);
	assert_int_equal(store_ticket_get(txn, id, tk), GW_OK);
	store_txn_abort(txn);
}

/* Up to 16 seqs of a thread or ticket. */
struct seqs {
	uint64_t v[16];
	size_t n;
};

static int seqs_add(void *arg, uint64_t seq)
{
	struct seqs *s = arg;

	assert_true(s->n < 16);
	s->v[s->n++] = seq;
	return 0;
}

static struct seqs thread_seqs(struct rt *t, uint64_t thread_id)
{
	struct store_txn *txn;
	struct seqs s = { .n = 0 };

	assert_int_equal(store_txn_begin(t->st, 1, &txn), GW_OK);
	assert_int_equal(store_thread_scan(txn, thread_id, 16, seqs_add, &s), GW_OK);
	store_txn_abort(txn);
	return s;
}

static struct seqs ticket_seqs(struct rt *t, uint64_t ticket_id)
{
	struct store_txn *txn;
	struct seqs s = { .n = 0 };

	assert_int_equal(store_txn_begin(t->st, 1, &txn), GW_OK);
	assert_int_equal(store_ticket_msgs(txn, ticket_id, 16, seqs_add, &s), GW_OK);
	store_txn_abort(txn);
	return s;
}

static void expect_route_check(struct proto_event *ev, int code, const char *reason)
{
	char buf[192] = "";

	assert_int_equal(route_check(ev, buf, sizeof(buf)), code);
	if (reason)
		assert_string_equal(buf, reason);
	proto_event_clear(ev);
}

static void test_route_check(void **state)
{
	struct proto_event ev;

	(void)state;
	make_message(&ev, "m1", "+1");
	expect_route_check(&ev, GW_OK, "");
	make_message(&ev, "m1", "+1");
	ev.u.message.direction = strdup("inbound");
	expect_route_check(&ev, GW_OK, "");
	make_message(&ev, "m1", "+1");
	ev.u.message.direction = strdup("outbound");
	expect_route_check(&ev, GW_EPROTO, "direction: a message.received must be inbound");
	make_sent(&ev, "e1", "+1", NULL);
	expect_route_check(&ev, GW_OK, "");
	make_sent(&ev, "e1", "+1", NULL);
	ev.u.message.direction = strdup("inbound");
	expect_route_check(&ev, GW_EPROTO, "direction: a message.sent must be outbound");
	make_sent(&ev, "e1", "+1", NULL);
	free(ev.u.message.to->address);
	free(ev.u.message.to);
	ev.u.message.to = NULL;
	expect_route_check(&ev, GW_EMISSING, "to: missing (a message.sent names its recipient)");
	make_status(&ev, "s1", NULL, "read");
	expect_route_check(&ev, GW_OK, "");
	make_change(&ev, PROTO_T_MESSAGE_EDITED, "c1", "m1");
	expect_route_check(&ev, GW_OK, "");
	make_change(&ev, PROTO_T_MESSAGE_DELETED, "c1", "m1");
	expect_route_check(&ev, GW_OK, "");
	assert_int_equal(proto_event_init(&ev, PROTO_T_TICKET_CREATED), GW_OK);
	expect_route_check(&ev, GW_ETYPE, "type ticket.created is not accepted on ingest");
	assert_int_equal(proto_event_init(&ev, PROTO_T_CUSTOMER_CREATED), GW_OK);
	expect_route_check(&ev, GW_ETYPE, "type customer.created is not accepted on ingest");
}

/* An echo to an unknown customer creates the customer, not a ticket. */
static void test_route_sent_new_customer(void **state)
{
	struct rt t;
	struct proto_event ev, out;
	struct proto_customer c = { 0 };
	struct seqs th;
	uint64_t sent_seq, in_seq;

	(void)state;
	rt_open(&t);
	make_sent(&ev, "e1", "+1555", "Ana");
	ev.u.message.ticket_id = 77; /* the router's field: replaced */
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	assert_int_equal(t.b.nev, 2);
	assert_string_equal(t.b.ev[0].type, "customer.created");
	assert_string_equal(t.b.ev[1].type, "message.sent");
	rt_event(&t, 0, &out);
	assert_string_equal(out.u.customer.address, "+1555");
	assert_string_equal(out.u.customer.name, "Ana");
	assert_int_equal(out.u.customer.open_ticket_id, 0);
	proto_event_clear(&out);
	rt_event(&t, 1, &out);
	assert_int_equal(out.type, PROTO_T_MESSAGE_SENT);
	assert_string_equal(out.u.message.direction, "outbound");
	assert_int_equal(out.u.message.customer_id, 1);
	assert_int_equal(out.u.message.thread_id, 1);
	assert_int_equal(out.u.message.ticket_id, 0);
	assert_string_equal(out.u.message.to->address, "+1555");
	sent_seq = out.seq;
	assert_int_equal(sent_seq, 2);
	proto_event_clear(&out);
	proto_event_clear(&ev);

	get_customer(&t, "+1555", &c);
	assert_int_equal(c.open_ticket_id, 0);
	assert_int_equal(c.ticket_count, 0);
	assert_int_equal(c.message_count, 0); /* not a customer message */
	assert_string_equal(c.name, "Ana");
	proto_customer_clear(&c);
	th = thread_seqs(&t, 1);
	assert_int_equal(th.n, 1);
	assert_int_equal(th.v[0], sent_seq);

	/* Redelivered: a duplicate, nothing emitted. */
	make_sent(&ev, "e1", "+1555", "Ana");
	assert_int_equal(rt_route(&t, &ev), ROUTE_DUPLICATE);
	assert_int_equal(t.b.nev, 0);
	proto_event_clear(&ev);
	/* Its id is a message id: the same id inbound is a duplicate too. */
	make_message(&ev, "e1", "+1555");
	assert_int_equal(rt_route(&t, &ev), ROUTE_DUPLICATE);
	proto_event_clear(&ev);

	/* The customer's own message then finds it and opens the ticket. */
	in_seq = rt_received(&t, "m1", "+1555");
	assert_int_equal(t.b.nev, 2);
	assert_string_equal(t.b.ev[0].type, "ticket.created");
	assert_string_equal(t.b.ev[1].type, "message.received");
	get_customer(&t, "+1555", &c);
	assert_int_equal(c.customer_id, 1);
	assert_int_equal(c.message_count, 1);
	assert_int_equal(c.ticket_count, 1);
	proto_customer_clear(&c);
	th = thread_seqs(&t, 1);
	assert_int_equal(th.n, 2);
	assert_int_equal(th.v[1], in_seq);
	rt_close(&t);
}

/* An echo joins the customer's open ticket. */
static void test_route_sent_joins_ticket(void **state)
{
	struct rt t;
	struct proto_event ev, out;
	struct proto_customer c = { 0 };
	struct proto_ticket tk = { 0 };
	struct seqs ts;
	uint64_t in_seq, sent_seq;

	(void)state;
	rt_open(&t);
	in_seq = rt_received(&t, "m1", "+1555");
	make_sent(&ev, "e1", "+1555", NULL);
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	sent_seq = ev.seq;
	assert_int_equal(t.b.nev, 2); /* no customer.created: known */
	assert_string_equal(t.b.ev[0].type, "message.sent");
	assert_string_equal(t.b.ev[1].type, "ticket.updated");
	assert_int_equal(ev.u.message.ticket_id, 1);
	assert_int_equal(ev.u.message.customer_id, 1);
	proto_event_clear(&ev);
	rt_event(&t, 1, &out);
	assert_int_equal(out.u.ticket.ticket_id, 1);
	assert_int_equal(out.u.ticket.message_count, 2);
	assert_int_equal(out.u.ticket.last_message_seq, in_seq);
	proto_event_clear(&out);

	get_ticket(&t, 1, &tk);
	assert_int_equal(tk.message_count, 2);
	assert_int_equal(tk.last_message_seq, in_seq);
	proto_ticket_clear(&tk);
	get_customer(&t, "+1555", &c);
	assert_int_equal(c.message_count, 1);
	assert_int_equal(c.ticket_count, 1);
	proto_customer_clear(&c);
	ts = ticket_seqs(&t, 1);
	assert_int_equal(ts.n, 2);
	assert_int_equal(ts.v[0], in_seq);
	assert_int_equal(ts.v[1], sent_seq);

	make_sent(&ev, "e1", "+1555", NULL);
	assert_int_equal(rt_route(&t, &ev), ROUTE_DUPLICATE);
	assert_int_equal(t.b.nev, 0);
	proto_event_clear(&ev);
	rt_close(&t);
}

static void test_route_status(void **state)
{
	struct rt t;
	struct proto_event ev, out;
	uint64_t in_seq, sent_seq, head;

	(void)state;
	rt_open(&t);
	in_seq = rt_received(&t, "m1", "+1555");
	/* A status about a known message is linked to it. */
	make_status(&ev, "s1", "m1", "read");
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	assert_int_equal(t.b.nev, 1);
	assert_string_equal(t.b.ev[0].type, "message.status");
	rt_event(&t, 0, &out);
	assert_int_equal(out.u.status.message_seq, in_seq);
	assert_int_equal(out.u.status.customer_id, 1);
	assert_int_equal(out.u.status.ticket_id, 1);
	assert_string_equal(out.u.status.status, "read");
	proto_event_clear(&out);
	proto_event_clear(&ev);
	head = t.b.head;
	/* Redelivered: a duplicate. */
	make_status(&ev, "s1", "m1", "read");
	assert_int_equal(rt_route(&t, &ev), ROUTE_DUPLICATE);
	assert_int_equal(t.b.nev, 0);
	proto_event_clear(&ev);
	/* A status id equal to a message id does not collide with it. */
	make_status(&ev, "m1", "m1", "delivered");
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	assert_int_equal(ev.u.status.message_seq, in_seq);
	assert_int_equal(ev.seq, head + 1);
	proto_event_clear(&ev);
	/* A status for an unknown message is kept, unlinked; what the
	 * connector put in the router's fields is replaced. */
	make_status(&ev, "s2", "nowhere", "failed");
	ev.u.status.customer_id = 9;
	ev.u.status.message_seq = 9;
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	assert_int_equal(t.b.nev, 1);
	rt_event(&t, 0, &out);
	assert_int_equal(out.type, PROTO_T_MESSAGE_STATUS);
	assert_int_equal(out.u.status.message_seq, 0);
	assert_int_equal(out.u.status.customer_id, 0);
	assert_int_equal(out.u.status.ticket_id, 0);
	assert_string_equal(out.u.status.external_id, "nowhere");
	proto_event_clear(&out);
	proto_event_clear(&ev);
	/* A watermark receipt names no message. */
	make_status(&ev, "s3", NULL, "read");
	ev.u.status.watermark = 1700000000000;
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	assert_int_equal(ev.u.status.message_seq, 0);
	proto_event_clear(&ev);
	/* A status id used as a message's external_id links to nothing. */
	make_status(&ev, "s4", "status:s1", "read");
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	assert_int_equal(ev.u.status.message_seq, 0);
	proto_event_clear(&ev);
	/* A status about an echo without a ticket: ticket_id stays 0. */
	make_sent(&ev, "e1", "+1666", NULL);
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	sent_seq = ev.seq;
	proto_event_clear(&ev);
	make_status(&ev, "s5", "e1", "delivered");
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	assert_int_equal(ev.u.status.message_seq, sent_seq);
	assert_int_equal(ev.u.status.customer_id, 2);
	assert_int_equal(ev.u.status.ticket_id, 0);
	proto_event_clear(&ev);
	/* Statuses are not filed in the thread or the ticket. */
	assert_int_equal(thread_seqs(&t, 1).n, 1);
	assert_int_equal(ticket_seqs(&t, 1).n, 1);
	rt_close(&t);
}

static void test_route_change(void **state)
{
	enum proto_type types[] = { PROTO_T_MESSAGE_EDITED, PROTO_T_MESSAGE_DELETED };
	const char *names[] = { "message.edited", "message.deleted" };
	const char *ids[] = { "c1", "c2" };
	struct rt t;
	struct proto_event ev, out;
	struct proto_ticket tk = { 0 };
	uint64_t in_seq, seqs[2];
	struct seqs s;

	(void)state;
	rt_open(&t);
	in_seq = rt_received(&t, "m1", "+1555");
	for (size_t i = 0; i < 2; i++) {
		make_change(&ev, types[i], ids[i], "m1");
		assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
		assert_int_equal(t.b.nev, 1);
		assert_string_equal(t.b.ev[0].type, names[i]);
		seqs[i] = ev.seq;
		rt_event(&t, 0, &out);
		assert_int_equal(out.type, types[i]);
		assert_int_equal(out.u.change.message_seq, in_seq);
		assert_int_equal(out.u.change.customer_id, 1);
		assert_int_equal(out.u.change.ticket_id, 1);
		proto_event_clear(&out);
		proto_event_clear(&ev);
		/* Redelivered: a duplicate. */
		make_change(&ev, types[i], ids[i], "m1");
		assert_int_equal(rt_route(&t, &ev), ROUTE_DUPLICATE);
		assert_int_equal(t.b.nev, 0);
		proto_event_clear(&ev);
	}
	/* The ticket's and the thread's history show both changes; the
	 * ticket's counters are about messages and do not move. */
	s = ticket_seqs(&t, 1);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.v[0], in_seq);
	assert_int_equal(s.v[1], seqs[0]);
	assert_int_equal(s.v[2], seqs[1]);
	s = thread_seqs(&t, 1);
	assert_int_equal(s.n, 3);
	get_ticket(&t, 1, &tk);
	assert_int_equal(tk.message_count, 1);
	proto_ticket_clear(&tk);
	/* A change for an unknown message: published, unlinked, not filed. */
	make_change(&ev, PROTO_T_MESSAGE_DELETED, "c3", "nowhere");
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	assert_int_equal(t.b.nev, 1);
	assert_int_equal(ev.u.change.message_seq, 0);
	assert_int_equal(ev.u.change.customer_id, 0);
	proto_event_clear(&ev);
	assert_int_equal(ticket_seqs(&t, 1).n, 3);
	assert_int_equal(thread_seqs(&t, 1).n, 3);
	/* Change ids and status ids are separate spaces. */
	make_status(&ev, "c1", "m1", "read");
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	proto_event_clear(&ev);
	rt_close(&t);
}

/* --- email rules: dedup across accounts, automated mail -------------- */

static void test_route_dedup_key(void **state)
{
	struct rt t;
	struct proto_event ev;

	(void)state;
	rt_open(&t);
	/* The same Message-ID fetched from two mailboxes is one message. */
	make_message(&ev, "uid-1", "ana@example.com");
	free(ev.u.message.account);
	ev.u.message.account = strdup("support");
	ev.u.message.dedup_key = strdup("<abc@example.com>");
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	proto_event_clear(&ev);
	make_message(&ev, "uid-7", "ana@example.com");
	free(ev.u.message.account);
	ev.u.message.account = strdup("sales");
	ev.u.message.dedup_key = strdup("<abc@example.com>");
	assert_int_equal(rt_route(&t, &ev), ROUTE_DUPLICATE);
	assert_int_equal(t.b.nev, 0);
	proto_event_clear(&ev);
	/* Without a key, (account, external_id) identifies it as before. */
	make_message(&ev, "uid-1", "ana@example.com");
	free(ev.u.message.account);
	ev.u.message.account = strdup("sales");
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	proto_event_clear(&ev);
	rt_close(&t);
}

static void test_route_automated_mail(void **state)
{
	struct rt t;
	struct proto_event ev, out;
	struct proto_customer c = {0};
	uint64_t seq;

	(void)state;
	rt_open(&t);
	/* A bounce from an unknown sender: filed in its thread, no ticket. */
	make_message(&ev, "bounce-1", "mailer-daemon@example.com");
	ev.u.message.bounce = true;
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	assert_int_equal(t.b.nev, 2);
	assert_string_equal(t.b.ev[0].type, "customer.created");
	assert_string_equal(t.b.ev[1].type, "message.received");
	rt_event(&t, 1, &out);
	assert_int_equal(out.u.message.ticket_id, 0);
	assert_true(out.u.message.bounce);
	proto_event_clear(&out);
	proto_event_clear(&ev);
	get_customer(&t, "mailer-daemon@example.com", &c);
	assert_int_equal(c.open_ticket_id, 0);
	assert_int_equal(thread_seqs(&t, c.thread_id).n, 1);
	proto_customer_clear(&c);
	/* An auto-reply from a customer with an open ticket does not join it. */
	seq = rt_received(&t, "m1", "bob@example.com");
	assert_true(seq > 0);
	make_message(&ev, "ooo-1", "bob@example.com");
	ev.u.message.auto_reply = true;
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	assert_int_equal(t.b.nev, 1);
	rt_event(&t, 0, &out);
	assert_int_equal(out.u.message.ticket_id, 0);
	proto_event_clear(&out);
	proto_event_clear(&ev);
	get_customer(&t, "bob@example.com", &c);
	assert_int_equal(thread_seqs(&t, c.thread_id).n, 2);
	assert_int_equal(ticket_seqs(&t, c.open_ticket_id).n, 1);
	proto_customer_clear(&c);
	rt_close(&t);
}

/* set_reply_to - `ev` (a message) names the one id `id`. */
static void set_reply_to(struct proto_event *ev, const char *id)
{
	ev->u.message.reply_to = calloc(1, sizeof(char *));
	assert_non_null(ev->u.message.reply_to);
	ev->u.message.reply_to[0] = strdup(id);
	assert_non_null(ev->u.message.reply_to[0]);
	ev->u.message.reply_to_len = 1;
}

/* An auto-reply or a bounce naming a message of a ticket joins it as it is:
 * message.received with its ticket_id and ticket.updated, no ticket.created,
 * and the customer's last message stays the ticket's last_message_seq. */
static void test_route_automated_joins_ticket(void **state)
{
	struct rt t;
	struct proto_event ev, out;
	struct proto_customer c = {0};
	struct proto_ticket tk = {0};
	uint64_t in_seq, ooo_seq, dsn_seq;
	struct seqs ts;

	(void)state;
	rt_open(&t);
	in_seq = rt_received(&t, "m1", "bob@example.com");
	make_sent(&ev, "reply-1-0abc", "bob@example.com", NULL);
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	proto_event_clear(&ev);
	/* Bob's vacation notice answering his own message. */
	make_message(&ev, "ooo-1", "bob@example.com");
	ev.u.message.auto_reply = true;
	ev.u.message.automated_reason = strdup("Auto-Submitted: auto-replied");
	set_reply_to(&ev, "m1");
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	ooo_seq = ev.seq;
	assert_int_equal(t.b.nev, 2);
	assert_string_equal(t.b.ev[0].type, "message.received");
	assert_string_equal(t.b.ev[1].type, "ticket.updated");
	rt_event(&t, 0, &out);
	assert_int_equal(out.u.message.ticket_id, 1);
	assert_true(out.u.message.auto_reply);
	assert_string_equal(out.u.message.thread_rule, "automated");
	assert_string_equal(out.u.message.automated_reason, "Auto-Submitted: auto-replied");
	proto_event_clear(&out);
	proto_event_clear(&ev);
	/* A bounce of the reply, from the mail system (a new customer), by the
	 * reply's Message-ID: into Bob's ticket, not into a ticket of its own. */
	make_message(&ev, "dsn-1", "mailer-daemon@mx.example");
	ev.u.message.bounce = true;
	set_reply_to(&ev, "reply-1-0abc@ours.example");
	assert_int_equal(rt_route(&t, &ev), ROUTE_STORED);
	dsn_seq = ev.seq;
	assert_int_equal(t.b.nev, 3);
	assert_string_equal(t.b.ev[0].type, "customer.created");
	assert_string_equal(t.b.ev[1].type, "message.received");
	assert_string_equal(t.b.ev[2].type, "ticket.updated");
	rt_event(&t, 1, &out);
	assert_int_equal(out.u.message.ticket_id, 1);
	assert_true(out.u.message.customer_id != 1);
	proto_event_clear(&out);
	rt_event(&t, 2, &out);
	assert_int_equal(out.u.ticket.ticket_id, 1);
	assert_int_equal(out.u.ticket.customer_id, 1);
	assert_int_equal(out.u.ticket.message_count, 4);
	assert_int_equal(out.u.ticket.last_message_seq, in_seq);
	proto_event_clear(&out);
	proto_event_clear(&ev);
	ts = ticket_seqs(&t, 1);
	assert_int_equal(ts.n, 4);
	assert_int_equal(ts.v[2], ooo_seq);
	assert_int_equal(ts.v[3], dsn_seq);
	get_ticket(&t, 1, &tk);
	assert_string_equal(tk.status, "open");
	proto_ticket_clear(&tk);
	get_customer(&t, "mailer-daemon@mx.example", &c);
	assert_int_equal(c.open_ticket_id, 0);
	assert_int_equal(thread_seqs(&t, c.thread_id).n, 1);
	proto_customer_clear(&c);
	rt_close(&t);
}

/* A message of `channel` whose sender gave `email` (claimed). */
static void make_on(struct proto_event *ev, const char *channel, const char *ext,
		    const char *from, const char *email)
{
	make_message(ev, ext, from);
	free(ev->u.message.channel);
	ev->u.message.channel = strdup(channel);
	ev->u.message.from.email = email ? strdup(email) : NULL;
}

static uint64_t routed_customer(struct rt *t, struct proto_event *ev, size_t *nev)
{
	struct proto_event out;
	uint64_t id;

	assert_int_equal(rt_route(t, ev), ROUTE_STORED);
	*nev = t->b.nev;
	rt_event(t, 0, &out);
	id = out.type == PROTO_T_CUSTOMER_CREATED || out.type == PROTO_T_CUSTOMER_UPDATED
		     ? out.u.customer.customer_id
		     : out.u.message.customer_id;
	proto_event_clear(&out);
	proto_event_clear(ev);
	return id;
}

static void test_route_claimed_email(void **state)
{
	struct rt t;
	struct proto_event ev, out;
	uint64_t ana, chat, other, mail;
	size_t nev;

	(void)state;
	rt_open(&t);
	make_on(&ev, "email", "<m1@example.com>", "ana@example.com", NULL);
	ana = routed_customer(&t, &ev, &nev);
	assert_int_equal(nev, 3); /* customer.created, ticket.created, message */
	/* The visitor typed the address Ana emails from (case aside): a claim
	 * decides nothing. A customer of its own, flagged a probable match of
	 * Ana, and a ticket of its own: customer.created, ticket.created,
	 * message; no ticket.updated of Ana's ticket. */
	make_on(&ev, "livechat", "v1:c1", "visitor:v1", "Ana@Example.com");
	chat = routed_customer(&t, &ev, &nev);
	assert_int_not_equal(chat, ana);
	assert_int_equal(nev, 3);
	rt_event(&t, 0, &out);
	assert_int_equal(out.type, PROTO_T_CUSTOMER_CREATED);
	assert_int_equal(out.u.customer.probable_match, ana);
	proto_event_clear(&out);
	/* The visitor's next message, with or without the address: its own
	 * customer, nothing new about it (message, ticket.updated). */
	make_on(&ev, "livechat", "v1:c2", "visitor:v1", NULL);
	assert_int_equal(routed_customer(&t, &ev, &nev), chat);
	make_on(&ev, "livechat", "v1:c3", "visitor:v1", "ana@example.com");
	assert_int_equal(routed_customer(&t, &ev, &nev), chat);
	assert_int_equal(nev, 2);
	/* An unknown address: a new customer holding it as a claim; mail from
	 * it later is the owner's own customer, who takes the address, and
	 * the claimer is flagged (customer.updated after the owner's
	 * customer.created). */
	make_on(&ev, "livechat", "v2:c1", "visitor:v2", "bob@example.com");
	other = routed_customer(&t, &ev, &nev);
	assert_int_not_equal(other, ana);
	make_on(&ev, "email", "<m2@example.com>", "bob@example.com", NULL);
	mail = routed_customer(&t, &ev, &nev);
	assert_int_not_equal(mail, other);
	rt_event(&t, 1, &out);
	assert_int_equal(out.type, PROTO_T_CUSTOMER_UPDATED);
	assert_int_equal(out.u.customer.customer_id, other);
	assert_int_equal(out.u.customer.probable_match, mail);
	proto_event_clear(&out);
	rt_close(&t);
}

/* --- the router over its sockets --------------------------------------- */

struct fixture {
	char *dir;
	char ingest[256], publish[256], command[256];
	struct gw_config cfg;
	struct router *r;
	pthread_t thread;
	volatile int stop;
	void *zctx;
};

static void *router_thread(void *arg)
{
	struct fixture *fx = arg;

	router_run(fx->r, &fx->stop, NULL);
	return NULL;
}

static void fixture_start(struct fixture *fx)
{
	snprintf(fx->ingest, sizeof(fx->ingest), "ipc://%s/ingest", fx->dir);
	snprintf(fx->publish, sizeof(fx->publish), "ipc://%s/pub", fx->dir);
	snprintf(fx->command, sizeof(fx->command), "ipc://%s/cmd", fx->dir);
	memset(&fx->cfg, 0, sizeof(fx->cfg));
	fx->cfg.state_dir = fx->dir;
	fx->cfg.router.ingest = fx->ingest;
	fx->cfg.router.publish = fx->publish;
	fx->cfg.router.command = fx->command;
	fx->cfg.router.batch_max = 64;
	fx->cfg.router.heartbeat_ms = 100;
	fx->cfg.router.map_size_mb = 64;
	fx->cfg.router.publish_hwm = 100000;
	fx->cfg.router.delivery_timeout_ms = 1000;
	fx->cfg.routing = routing_cfg; /* borrowed: freed once, in main */
	fx->stop = 0;
	assert_int_equal(router_create(&fx->cfg, &fx->r), GW_OK);
	assert_int_equal(pthread_create(&fx->thread, NULL, router_thread, fx), 0);
}

static void fixture_stop(struct fixture *fx)
{
	fx->stop = 1;
	pthread_join(fx->thread, NULL);
	router_destroy(fx->r);
	fx->r = NULL;
}

static void *zsock(struct fixture *fx, int type, const char *endpoint)
{
	void *s = zmq_socket(fx->zctx, type);
	int zero = 0, timeout = 5000;

	assert_non_null(s);
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
	if (type == ZMQ_SUB)
		zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
	assert_int_equal(zmq_connect(s, endpoint), 0);
	return s;
}

/* send_event - hands `ev` (borrowed) to the router under `key`. */
static void send_event(void *dealer, uint64_t key, const struct proto_event *ev)
{
	unsigned char kb[8];
	char *data;
	size_t len;

	assert_int_equal(proto_encode(ev, &data, &len, NULL), GW_OK);
	for (int i = 0; i < 8; i++)
		kb[i] = (unsigned char)(key >> (56 - 8 * i));
	zmq_send(dealer, "msg", 3, ZMQ_SNDMORE);
	zmq_send(dealer, kb, 8, ZMQ_SNDMORE);
	zmq_send(dealer, data, len, 0);
	free(data);
}

static void send_message(void *dealer, uint64_t key, const char *ext, const char *from)
{
	struct proto_event ev;
	unsigned char kb[8];
	char *data;
	size_t len;

	make_message(&ev, ext, from);
	assert_int_equal(proto_encode(&ev, &data, &len, NULL), GW_OK);
	for (int i = 0; i < 8; i++)
		kb[i] = (unsigned char)(key >> (56 - 8 * i));
	zmq_send(dealer, "msg", 3, ZMQ_SNDMORE);
	zmq_send(dealer, kb, 8, ZMQ_SNDMORE);
	zmq_send(dealer, data, len, 0);
	free(data);
	proto_event_clear(&ev);
}

/* recv_ack - the result frame of the next ack, as a static string. */
static const char *recv_ack(void *dealer, uint64_t want_key)
{
	static char result[32];
	unsigned char buf[64];
	int n;

	n = zmq_recv(dealer, buf, sizeof(buf), 0);
	assert_int_equal(n, 3);
	n = zmq_recv(dealer, buf, sizeof(buf), 0);
	assert_int_equal(n, 8);
	assert_int_equal(buf[7], (unsigned char)want_key);
	n = zmq_recv(dealer, result, sizeof(result) - 1, 0);
	assert_true(n > 0);
	result[n] = '\0';
	n = zmq_recv(dealer, buf, sizeof(buf), 0);
	assert_true(n >= 0);
	return result;
}

static void test_router_sockets(void **state)
{
	struct fixture fx = {0};
	void *dealer, *req;
	char frame[256];
	unsigned char mp[64];
	size_t off = 0;
	int n, more;
	size_t more_len = sizeof(more);
	msgpack_sbuffer sb;
	msgpack_packer pk;

	(void)state;
	fx.dir = make_tmpdir();
	fx.zctx = zmq_ctx_new();
	fixture_start(&fx);
	dealer = zsock(&fx, ZMQ_DEALER, fx.ingest);
	send_message(dealer, 1, "a1", "+1");
	assert_string_equal(recv_ack(dealer, 1), WIRE_RESULT_STORED);
	send_message(dealer, 2, "a1", "+1");
	assert_string_equal(recv_ack(dealer, 2), WIRE_RESULT_DUPLICATE);
	/* Garbage is rejected, not stored, and the router keeps serving. */
	zmq_send(dealer, "msg", 3, ZMQ_SNDMORE);
	zmq_send(dealer, "\0\0\0\0\0\0\0\3", 8, ZMQ_SNDMORE);
	zmq_send(dealer, "\xc1", 1, 0);
	assert_string_equal(recv_ack(dealer, 3), WIRE_RESULT_REJECTED);
	send_message(dealer, 4, "a2", "+1");
	assert_string_equal(recv_ack(dealer, 4), WIRE_RESULT_STORED);

	/* Replay from 2 returns seqs 2..5: ticket.created, message.received,
	 * message.received, ticket.updated. */
	req = zsock(&fx, ZMQ_REQ, fx.command);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "from", 4);
	msgpack_pack_uint64(&pk, 2);
	zmq_send(req, "replay", 6, ZMQ_SNDMORE);
	zmq_send(req, sb.data, sb.size, 0);
	msgpack_sbuffer_destroy(&sb);
	n = zmq_recv(req, frame, sizeof(frame), 0);
	assert_int_equal(n, 2);
	n = zmq_recv(req, mp, sizeof(mp), 0);
	assert_true(n > 0);
	(void)off;
	int events = 0;
	for (;;) {
		zmq_getsockopt(req, ZMQ_RCVMORE, &more, &more_len);
		if (!more)
			break;
		n = zmq_recv(req, frame, sizeof(frame) - 1, 0);
		assert_true(n > 0);
		frame[n] = '\0';
		if (events == 0)
			assert_string_equal(frame, "ticket.created");
		zmq_getsockopt(req, ZMQ_RCVMORE, &more, &more_len);
		assert_true(more);
		n = zmq_recv(req, frame, sizeof(frame), 0);
		assert_true(n > 0);
		events++;
	}
	assert_int_equal(events, 4);

	/* An unknown ticket is a clear error. */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "id", 2);
	msgpack_pack_uint64(&pk, 99);
	zmq_send(req, "ticket.get", 10, ZMQ_SNDMORE);
	zmq_send(req, sb.data, sb.size, 0);
	msgpack_sbuffer_destroy(&sb);
	n = zmq_recv(req, frame, sizeof(frame), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(frame, "error", 5);
	zmq_recv(req, frame, sizeof(frame), 0);

	/* The other accepted types, and what is refused. */
	{
		struct proto_event ev;

		make_sent(&ev, "e1", "+1", NULL);
		send_event(dealer, 5, &ev);
		assert_string_equal(recv_ack(dealer, 5), WIRE_RESULT_STORED);
		send_event(dealer, 6, &ev);
		assert_string_equal(recv_ack(dealer, 6), WIRE_RESULT_DUPLICATE);
		proto_event_clear(&ev);
		make_status(&ev, "s1", "e1", "delivered");
		send_event(dealer, 7, &ev);
		assert_string_equal(recv_ack(dealer, 7), WIRE_RESULT_STORED);
		send_event(dealer, 8, &ev);
		assert_string_equal(recv_ack(dealer, 8), WIRE_RESULT_DUPLICATE);
		proto_event_clear(&ev);
		make_change(&ev, PROTO_T_MESSAGE_DELETED, "c1", "a1");
		send_event(dealer, 9, &ev);
		assert_string_equal(recv_ack(dealer, 9), WIRE_RESULT_STORED);
		proto_event_clear(&ev);
		make_message(&ev, "a9", "+1");
		ev.u.message.direction = strdup("outbound");
		send_event(dealer, 10, &ev);
		assert_string_equal(recv_ack(dealer, 10), WIRE_RESULT_REJECTED);
		proto_event_clear(&ev);
		assert_int_equal(proto_event_init(&ev, PROTO_T_TICKET_UPDATED), GW_OK);
		ev.u.ticket.status = strdup("open");
		ev.u.ticket.channel = strdup("api");
		send_event(dealer, 11, &ev);
		assert_string_equal(recv_ack(dealer, 11), WIRE_RESULT_REJECTED);
		proto_event_clear(&ev);
	}

	zmq_close(dealer);
	zmq_close(req);
	fixture_stop(&fx);
	zmq_ctx_term(fx.zctx);
	test_rmtree(fx.dir);
	free(fx.dir);
}

/* --- replies: message.send, deliver, report ------------------------------ */

/* A command's reply: ok or not, and its payload. */
struct creply {
	int ok;
	char data[8192];
	size_t len;
};

static void command(void *req, const char *name, const msgpack_sbuffer *args, struct creply *cr)
{
	char tag[16];
	int n, more;
	size_t ml = sizeof(more);

	zmq_send(req, name, strlen(name), ZMQ_SNDMORE);
	zmq_send(req, args->data, args->size, 0);
	n = zmq_recv(req, tag, sizeof(tag), 0);
	assert_true(n > 0);
	cr->ok = n == 2 && memcmp(tag, "ok", 2) == 0;
	n = zmq_recv(req, cr->data, sizeof(cr->data), 0);
	assert_true(n > 0 && (size_t)n <= sizeof(cr->data));
	cr->len = (size_t)n;
	zmq_getsockopt(req, ZMQ_RCVMORE, &more, &ml);
	assert_false(more);
}

/* map_get - the value of `key` in the msgpack map of the reply. */
static msgpack_object map_get(msgpack_unpacked *u, const struct creply *cr, const char *key)
{
	msgpack_object none = {.type = MSGPACK_OBJECT_NIL};

	assert_int_equal(msgpack_unpack_next(u, cr->data, cr->len, NULL), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(u->data.type, MSGPACK_OBJECT_MAP);
	for (uint32_t i = 0; i < u->data.via.map.size; i++) {
		msgpack_object *k = &u->data.via.map.ptr[i].key;

		if (k->via.str.size == strlen(key) && memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
			return u->data.via.map.ptr[i].val;
	}
	return none;
}

static uint64_t reply_u64(const struct creply *cr, const char *key)
{
	msgpack_unpacked u;
	msgpack_object v;
	uint64_t out;

	msgpack_unpacked_init(&u);
	v = map_get(&u, cr, key);
	assert_int_equal(v.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	out = v.via.u64;
	msgpack_unpacked_destroy(&u);
	return out;
}

static int reply_has(const struct creply *cr, const char *key, const char *want)
{
	msgpack_unpacked u;
	msgpack_object v;
	int ok;

	msgpack_unpacked_init(&u);
	v = map_get(&u, cr, key);
	ok = v.type == MSGPACK_OBJECT_STR && v.via.str.size == strlen(want) &&
	     memcmp(v.via.str.ptr, want, v.via.str.size) == 0;
	msgpack_unpacked_destroy(&u);
	return ok;
}

/* message_send - message.send {command_id, ticket_id, text, author}. */
static void message_send(void *req, const char *command_id, uint64_t ticket_id, const char *text,
			 struct creply *cr)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, (command_id ? 1 : 0) + (text ? 1 : 0) + 2);
	if (command_id) {
		msgpack_pack_str_with_body(&pk, "command_id", 10);
		msgpack_pack_str_with_body(&pk, command_id, strlen(command_id));
	}
	msgpack_pack_str_with_body(&pk, "ticket_id", 9);
	msgpack_pack_uint64(&pk, ticket_id);
	if (text) {
		msgpack_pack_str_with_body(&pk, "text", 4);
		msgpack_pack_str_with_body(&pk, text, strlen(text));
	}
	msgpack_pack_str_with_body(&pk, "author", 6);
	msgpack_pack_str_with_body(&pk, "Ann", 3);
	command(req, WIRE_CMD_MESSAGE_SEND, &sb, cr);
	msgpack_sbuffer_destroy(&sb);
}

/* replay_from - decodes up to `max` events from `from` into evs; returns
 * how many (the caller clears them). */
static size_t replay_from(void *req, uint64_t from, struct proto_event *evs, size_t max)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	static char buf[65536];
	size_t n = 0, ml = sizeof(int);
	int more, len;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "from", 4);
	msgpack_pack_uint64(&pk, from);
	zmq_send(req, "replay", 6, ZMQ_SNDMORE);
	zmq_send(req, sb.data, sb.size, 0);
	msgpack_sbuffer_destroy(&sb);
	assert_int_equal(zmq_recv(req, buf, sizeof(buf), 0), 2);
	assert_true(zmq_recv(req, buf, sizeof(buf), 0) > 0);
	for (;;) {
		zmq_getsockopt(req, ZMQ_RCVMORE, &more, &ml);
		if (!more)
			break;
		zmq_recv(req, buf, sizeof(buf), 0); /* type */
		len = zmq_recv(req, buf, sizeof(buf), 0);
		assert_true(len > 0);
		if (n < max) {
			assert_int_equal(proto_decode(buf, (size_t)len, &evs[n], NULL), GW_OK);
			n++;
		}
	}
	return n;
}

static void clear_events(struct proto_event *evs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		proto_event_clear(&evs[i]);
}

/* recv_deliver - the next delivery the connector side reads: its id, and
 * the event decoded into `ev`. Skips acks. */
static uint64_t recv_deliver(void *dealer, struct proto_event *ev)
{
	static char buf[65536];
	int n, more;
	size_t ml = sizeof(more);
	uint64_t id = 0;

	for (;;) {
		n = zmq_recv(dealer, buf, sizeof(buf), 0);
		assert_true(n > 0);
		if (n == 7 && memcmp(buf, "deliver", 7) == 0)
			break;
		do { /* an ack: drop it */
			zmq_getsockopt(dealer, ZMQ_RCVMORE, &more, &ml);
			if (more)
				zmq_recv(dealer, buf, sizeof(buf), 0);
		} while (more);
	}
	assert_int_equal(zmq_recv(dealer, buf, sizeof(buf), 0), 8);
	for (int i = 0; i < 8; i++)
		id = (id << 8) | (unsigned char)buf[i];
	n = zmq_recv(dealer, buf, sizeof(buf), 0);
	assert_true(n > 0);
	assert_int_equal(proto_decode(buf, (size_t)n, ev, NULL), GW_OK);
	return id;
}

static void send_report(void *dealer, uint64_t id, const char *status, const char *reason)
{
	unsigned char kb[8];

	for (int i = 0; i < 8; i++)
		kb[i] = (unsigned char)(id >> (56 - 8 * i));
	zmq_send(dealer, WIRE_INGEST_REPORT, strlen(WIRE_INGEST_REPORT), ZMQ_SNDMORE);
	zmq_send(dealer, kb, 8, ZMQ_SNDMORE);
	zmq_send(dealer, status, strlen(status), ZMQ_SNDMORE);
	zmq_send(dealer, reason, strlen(reason), 0);
}

/* wait_status - replays from `from` until a message.status `status` shows
 * up (within 5 s); returns its seq and copies it into `out`. */
static uint64_t wait_status(void *req, uint64_t from, const char *status, struct proto_event *out)
{
	struct proto_event evs[32];

	for (int tries = 0; tries < 500; tries++) {
		size_t n = replay_from(req, from, evs, 32);

		for (size_t i = 0; i < n; i++) {
			if (evs[i].type == PROTO_T_MESSAGE_STATUS &&
			    strcmp(evs[i].u.status.status, status) == 0) {
				uint64_t seq = evs[i].seq;

				*out = evs[i];
				memset(&evs[i], 0, sizeof(evs[i]));
				clear_events(evs, n);
				return seq;
			}
		}
		clear_events(evs, n);
		zmq_poll(NULL, 0, 10);
	}
	fail_msg("no message.status %s from seq %llu", status, (unsigned long long)from);
	return 0;
}

/* is_reply_id - "reply-<delivery_id>-<32 lowercase hex digits>". */
static int is_reply_id(const char *s, unsigned long long delivery_id)
{
	char prefix[32];
	size_t n = (size_t)snprintf(prefix, sizeof(prefix), "reply-%llu-", delivery_id);

	if (strncmp(s, prefix, n) != 0 || strlen(s) != n + 32)
		return 0;
	return strspn(s + n, "0123456789abcdef") == 32;
}

/* message.send: message.sent + queued status, handed to the connector;
 * the same command_id again does nothing; errors are clear. */
static void test_message_send(void **state)
{
	struct fixture fx = {0};
	struct proto_event evs[8], ev;
	struct creply cr;
	void *dealer, *req;
	char sent_id[64], sid[96];
	size_t n;

	(void)state;
	fx.dir = make_tmpdir();
	fx.zctx = zmq_ctx_new();
	fixture_start(&fx);
	dealer = zsock(&fx, ZMQ_DEALER, fx.ingest);
	req = zsock(&fx, ZMQ_REQ, fx.command);
	send_message(dealer, 1, "a1", "+1");
	assert_string_equal(recv_ack(dealer, 1), WIRE_RESULT_STORED);
	/* seqs 1..3: customer.created, ticket.created, message.received */
	message_send(req, "cmd-1", 1, "hi there", &cr);
	assert_true(cr.ok);
	assert_int_equal(reply_u64(&cr, "delivery_id"), 1);
	assert_int_equal(reply_u64(&cr, "seq"), 4);
	assert_true(reply_has(&cr, "channel", "api"));
	assert_true(reply_has(&cr, "account", "api"));
	n = replay_from(req, 4, evs, 8);
	assert_int_equal(n, 4);
	assert_int_equal(evs[0].type, PROTO_T_MESSAGE_SENT);
	assert_true(is_reply_id(evs[0].u.message.external_id, 1));
	snprintf(sent_id, sizeof(sent_id), "%s", evs[0].u.message.external_id);
	assert_string_equal(evs[0].u.message.direction, "outbound");
	assert_string_equal(evs[0].u.message.to->address, "+1");
	assert_string_equal(evs[0].u.message.from.name, "Ann");
	assert_string_equal(evs[0].u.message.text, "hi there");
	assert_int_equal(evs[0].u.message.ticket_id, 1);
	assert_int_equal(evs[0].u.message.customer_id, 1);
	assert_string_equal(evs[0].u.message.reply_to[0], "a1");
	assert_int_equal(evs[1].type, PROTO_T_TICKET_UPDATED);
	assert_int_equal(evs[2].type, PROTO_T_MESSAGE_STATUS);
	assert_string_equal(evs[2].u.status.status, "queued");
	assert_string_equal(evs[2].u.status.external_id, sent_id);
	snprintf(sid, sizeof(sid), "%s:queued", sent_id);
	assert_string_equal(evs[2].u.status.status_id, sid);
	assert_int_equal(evs[2].u.status.message_seq, 4);
	assert_int_equal(evs[2].u.status.ticket_id, 1);
	/* The ticket's first reply: its first-response clock stopped. */
	assert_int_equal(evs[3].type, PROTO_T_TICKET_UPDATED);
	assert_true(evs[3].u.ticket.first_response_at == evs[0].ts);
	assert_string_equal(evs[3].u.ticket.sla_first_response, "met");
	clear_events(evs, n);
	/* The connector that sent the customer's message gets the reply. */
	assert_int_equal(recv_deliver(dealer, &ev), 1);
	assert_int_equal(ev.type, PROTO_T_MESSAGE_SENT);
	assert_string_equal(ev.u.message.external_id, sent_id);
	proto_event_clear(&ev);
	/* The same command again: the first result, nothing new stored. */
	message_send(req, "cmd-1", 1, "hi there", &cr);
	assert_true(cr.ok);
	assert_int_equal(reply_u64(&cr, "delivery_id"), 1);
	assert_int_equal(reply_u64(&cr, "seq"), 4);
	assert_int_equal(replay_from(req, 8, evs, 8), 0);
	/* Errors. */
	message_send(req, "cmd-2", 99, "x", &cr);
	assert_false(cr.ok);
	assert_non_null(memmem(cr.data, cr.len, "GW_ENOTFOUND", 12));
	assert_non_null(memmem(cr.data, cr.len, "no ticket 99", 12));
	message_send(req, "cmd-3", 1, NULL, &cr);
	assert_false(cr.ok);
	assert_non_null(memmem(cr.data, cr.len, "GW_EMISSING", 11));
	message_send(req, NULL, 1, "x", &cr);
	assert_false(cr.ok);
	assert_non_null(memmem(cr.data, cr.len, "command_id", 10));
	/* By customer: no inbound message on another channel, no address. */
	{
		msgpack_sbuffer sb;
		msgpack_packer pk;

		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 4);
		msgpack_pack_str_with_body(&pk, "command_id", 10);
		msgpack_pack_str_with_body(&pk, "cmd-4", 5);
		msgpack_pack_str_with_body(&pk, "customer_id", 11);
		msgpack_pack_uint64(&pk, 1);
		msgpack_pack_str_with_body(&pk, "text", 4);
		msgpack_pack_str_with_body(&pk, "x", 1);
		msgpack_pack_str_with_body(&pk, "channel", 7);
		msgpack_pack_str_with_body(&pk, "email", 5);
		command(req, WIRE_CMD_MESSAGE_SEND, &sb, &cr);
		msgpack_sbuffer_destroy(&sb);
		assert_false(cr.ok);
		assert_non_null(memmem(cr.data, cr.len, "GW_EINVAL", 9));
		assert_non_null(memmem(cr.data, cr.len, "on channel email", 16));
	}
	assert_int_equal(replay_from(req, 8, evs, 8), 0);
	/* A report becomes a linked message.status, once. */
	send_report(dealer, 1, "delivered", "");
	assert_int_equal(wait_status(req, 8, "delivered", &ev), 8);
	snprintf(sid, sizeof(sid), "%s:delivered", sent_id);
	assert_string_equal(ev.u.status.status_id, sid);
	assert_int_equal(ev.u.status.message_seq, 4);
	assert_int_equal(ev.u.status.customer_id, 1);
	proto_event_clear(&ev);
	send_report(dealer, 1, "delivered", "");
	send_report(dealer, 1, "failed", "too late");
	assert_int_equal(wait_status(req, 9, "failed", &ev), 9);
	assert_string_equal(ev.u.status.errors[0].title, "too late");
	proto_event_clear(&ev);
	/* Failed is final: nothing more about delivery 1. */
	send_report(dealer, 1, "read", "");
	zmq_poll(NULL, 0, 200);
	assert_int_equal(replay_from(req, 10, evs, 8), 0);
	zmq_close(dealer);
	zmq_close(req);
	fixture_stop(&fx);
	zmq_ctx_term(fx.zctx);
	test_rmtree(fx.dir);
	free(fx.dir);
}

/* A pending delivery survives a restart of the router and goes to the
 * connector that says hello; with no connector at all it fails after the
 * timeout. */
static void test_redelivery(void **state)
{
	struct fixture fx = {0};
	struct proto_event ev;
	struct creply cr;
	void *dealer, *req;

	(void)state;
	fx.dir = make_tmpdir();
	fx.zctx = zmq_ctx_new();
	fixture_start(&fx);
	dealer = zsock(&fx, ZMQ_DEALER, fx.ingest);
	req = zsock(&fx, ZMQ_REQ, fx.command);
	send_message(dealer, 1, "a1", "+1");
	assert_string_equal(recv_ack(dealer, 1), WIRE_RESULT_STORED);
	message_send(req, "cmd-1", 1, "one", &cr);
	assert_true(cr.ok);
	assert_int_equal(recv_deliver(dealer, &ev), 1);
	proto_event_clear(&ev);
	zmq_close(dealer);
	zmq_close(req);
	fixture_stop(&fx);

	/* Restarted: a connector says hello and gets the unreported reply. */
	fixture_start(&fx);
	dealer = zsock(&fx, ZMQ_DEALER, fx.ingest);
	req = zsock(&fx, ZMQ_REQ, fx.command);
	zmq_send(dealer, WIRE_INGEST_HELLO, strlen(WIRE_INGEST_HELLO), ZMQ_SNDMORE);
	zmq_send(dealer, "api", 3, ZMQ_SNDMORE);
	zmq_send(dealer, "api", 3, 0);
	assert_int_equal(recv_deliver(dealer, &ev), 1);
	assert_string_equal(ev.u.message.text, "one");
	proto_event_clear(&ev);
	send_report(dealer, 1, "sent", "");
	assert_true(wait_status(req, 1, "sent", &ev) > 0);
	proto_event_clear(&ev);
	message_send(req, "cmd-2", 1, "two", &cr);
	assert_true(cr.ok);
	assert_int_equal(recv_deliver(dealer, &ev), 2);
	proto_event_clear(&ev);
	zmq_close(dealer);
	zmq_close(req);
	fixture_stop(&fx);

	/* Restarted with no connector: delivery 2 fails after the timeout. */
	fixture_start(&fx);
	req = zsock(&fx, ZMQ_REQ, fx.command);
	assert_true(wait_status(req, 1, "failed", &ev) > 0);
	assert_true(is_reply_id(ev.u.status.external_id, 2));
	assert_string_equal(ev.u.status.errors[0].title, "no connector for channel api");
	proto_event_clear(&ev);
	zmq_close(req);
	fixture_stop(&fx);
	zmq_ctx_term(fx.zctx);
	test_rmtree(fx.dir);
	free(fx.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_rules),
		cmocka_unit_test(test_route_check),
		cmocka_unit_test(test_route_sent_new_customer),
		cmocka_unit_test(test_route_sent_joins_ticket),
		cmocka_unit_test(test_route_status),
		cmocka_unit_test(test_route_change),
		cmocka_unit_test(test_route_dedup_key),
		cmocka_unit_test(test_route_automated_mail),
		cmocka_unit_test(test_route_automated_joins_ticket),
		cmocka_unit_test(test_route_claimed_email),
		cmocka_unit_test(test_router_sockets),
		cmocka_unit_test(test_message_send),
		cmocka_unit_test(test_redelivery),
	};

	char err[256];
	int failed;

	/* The routing defaults, without language models. */
	if (routing_defaults_no_lang(&routing_cfg, err, sizeof(err)) != GW_OK)
		return 1;
	if (routing_create(&routing_cfg, &routing, err, sizeof(err)) != GW_OK)
		return 1;
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	routing_destroy(routing);
	gw_config_routing_free(&routing_cfg);
	return failed;
}

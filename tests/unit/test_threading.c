/*
 * test_threading.c - the threading rules (router/rules/threading.c) on a real
 * store: messages go through route_message as the router routes them;
 * tickets are closed as the helpdesk closes them (the ticket record, then
 * thread_ticket_closed on its customer).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/util.h"
#include "router/router.h"
#include "store/store.h"
#include "routing_defaults.h"
#include "tests/unit/testutil.h"

#define HOUR (3600LL * 1000)
#define MINUTE (60LL * 1000)

/* A routing.channels[] entry. */
struct pol {
	const char *channel, *scope;
	long long reopen_h;
};

/* A store in a temporary folder, routing rules, a batch. */
struct fx {
	char dir[64];
	struct store *st;
	struct batch b;
	struct gw_config_routing cfg;
	struct routing *rt;
};

static void fx_open(struct fx *f, const char *scope, long long dup_s, const struct pol *pol,
		    size_t npol)
{
	char err[256];

	memset(f, 0, sizeof(*f));
	/* The routing defaults, without language models. */
	assert_int_equal(routing_defaults_no_lang(&f->cfg, err, sizeof(err)), GW_OK);
	free(f->cfg.scope);
	f->cfg.scope = strdup(scope);
	f->cfg.duplicate_window_s = dup_s;
	f->cfg.channels = calloc(npol + 1, sizeof(*f->cfg.channels));
	assert_non_null(f->cfg.channels);
	for (size_t i = 0; i < npol; i++) {
		f->cfg.channels[i].channel = strdup(pol[i].channel);
		f->cfg.channels[i].scope = strdup(pol[i].scope);
		f->cfg.channels[i].reopen_window_h = pol[i].reopen_h;
	}
	f->cfg.n_channels = npol;
	assert_int_equal(routing_create(&f->cfg, &f->rt, err, sizeof(err)), GW_OK);
	test_tmpdir(f->dir, sizeof(f->dir), "thread");
	assert_int_equal(store_open(f->dir, 64u << 20, &f->st), GW_OK);
	f->b.rt = f->rt;
}

static void fx_close(struct fx *f)
{
	batch_reset(&f->b);
	free(f->b.ev);
	store_close(f->st);
	test_rmtree(f->dir);
	routing_destroy(f->rt);
	gw_config_routing_free(&f->cfg);
}

/* What a connector hands over. */
struct msg {
	const char *channel, *account, *ext, *from, *text, *subject, *dedup_key;
	const char *reply_to[4];
	int sent; /* a message.sent to `from` */
	int auto_reply, bounce;
	const char *why; /* automated_reason */
};

/* What the router made of it. */
struct out {
	enum route_result res;
	uint64_t seq, ticket, customer, duplicate_of;
	char rule[64], reason[1100], warning[300];
	size_t warnings;
	int created, reopened; /* ticket.created / ticket.reopened emitted */
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void make_event(struct proto_event *ev, const struct msg *in)
{
	struct proto_message *m = &ev->u.message;
	struct proto_party *who = &m->from;
	size_t n = 0;

	assert_int_equal(proto_event_init(ev, in->sent ? PROTO_T_MESSAGE_SENT
						       : PROTO_T_MESSAGE_RECEIVED), GW_OK);
	m->channel = strdup(in->channel ? in->channel : "email");
	m->account = strdup(in->account ? in->account : "support");
	m->external_id = strdup(in->ext);
	m->received_at = gw_now_ms();
	if (in->sent) {
		m->to = calloc(1, sizeof(*m->to));
		assert_non_null(m->to);
		m->from.address = strdup("us");
		who = m->to;
	}
	who->address = strdup(in->from);
	m->text = strdup(in->text ? in->text : "a message of no importance");
	m->subject = dup_or_null(in->subject);
	m->dedup_key = dup_or_null(in->dedup_key);
	m->auto_reply = in->auto_reply;
	m->bounce = in->bounce;
	m->automated_reason = dup_or_null(in->why);
	while (n < 4 && in->reply_to[n])
		n++;
	if (n) {
		m->reply_to = calloc(n, sizeof(char *));
		assert_non_null(m->reply_to);
		for (size_t i = 0; i < n; i++)
			m->reply_to[i] = strdup(in->reply_to[i]);
		m->reply_to_len = n;
	}
}

static void route_msg(struct fx *f, const struct msg *in, struct out *o)
{
	struct proto_event ev;
	const struct proto_message *m = &ev.u.message;

	memset(o, 0, sizeof(*o));
	make_event(&ev, in);
	batch_reset(&f->b);
	assert_int_equal(store_txn_begin(f->st, 0, &f->b.txn), GW_OK);
	assert_int_equal(route_message(&f->b, &ev, &o->res), GW_OK);
	assert_int_equal(store_txn_commit(f->b.txn), GW_OK);
	o->seq = ev.seq;
	o->ticket = m->ticket_id;
	o->customer = m->customer_id;
	o->duplicate_of = m->duplicate_of;
	snprintf(o->rule, sizeof(o->rule), "%s", m->thread_rule ? m->thread_rule : "");
	snprintf(o->reason, sizeof(o->reason), "%s", m->thread_reason ? m->thread_reason : "");
	o->warnings = m->warnings_len;
	if (m->warnings_len)
		snprintf(o->warning, sizeof(o->warning), "%s", m->warnings[m->warnings_len - 1]);
	for (size_t i = 0; i < f->b.nev; i++) {
		o->created |= strcmp(f->b.ev[i].type, "ticket.created") == 0;
		o->reopened |= strcmp(f->b.ev[i].type, "ticket.reopened") == 0;
	}
	proto_event_clear(&ev);
}

/* expect - the rule, and a reason that holds `reason_part`. */
static void expect(const struct out *o, const char *rule, const char *reason_part)
{
	if (strcmp(o->rule, rule) != 0 || !strstr(o->reason, reason_part))
		fail_msg("rule %s / reason \"%s\"; expected %s with \"%s\"", o->rule, o->reason,
			 rule, reason_part);
}

static void get_ticket(struct fx *f, uint64_t id, struct proto_ticket *t)
{
	struct store_txn *txn;

	memset(t, 0, sizeof(*t));
	assert_int_equal(store_txn_begin(f->st, 1, &txn), GW_OK);
	assert_int_equal(store_ticket_get(txn, id, t), GW_OK);
	store_txn_abort(txn);
}

static void get_customer(struct fx *f, uint64_t id, struct proto_customer *c)
{
	struct store_txn *txn;

	memset(c, 0, sizeof(*c));
	assert_int_equal(store_txn_begin(f->st, 1, &txn), GW_OK);
	assert_int_equal(store_customer_get(txn, id, c), GW_OK);
	store_txn_abort(txn);
}

/* close_ticket - as the helpdesk's ticket.close, `ago` ms ago. */
static void close_ticket(struct fx *f, uint64_t id, int64_t ago)
{
	struct proto_ticket t;
	struct proto_customer c;

	memset(&t, 0, sizeof(t));
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_txn_begin(f->st, 0, &f->b.txn), GW_OK);
	assert_int_equal(store_ticket_get(f->b.txn, id, &t), GW_OK);
	free(t.status);
	t.status = strdup("closed");
	t.closed_at = gw_now_ms() - ago;
	assert_int_equal(store_ticket_put(f->b.txn, &t), GW_OK);
	assert_int_equal(store_customer_get(f->b.txn, t.customer_id, &c), GW_OK);
	assert_int_equal(thread_ticket_closed(&f->b, &c, &t), GW_OK);
	assert_int_equal(store_customer_put(f->b.txn, &c), GW_OK);
	assert_int_equal(store_txn_commit(f->b.txn), GW_OK);
	proto_ticket_clear(&t);
	proto_customer_clear(&c);
}

/* link - (channel, address) is customer `id` too (identities are not
 * what is tested here). */
static void link_identity(struct fx *f, const char *channel, const char *address, uint64_t id)
{
	assert_int_equal(store_txn_begin(f->st, 0, &f->b.txn), GW_OK);
	assert_int_equal(store_identity_put(f->b.txn, channel, address, id), GW_OK);
	assert_int_equal(store_txn_commit(f->b.txn), GW_OK);
}

/* open_on - thread_open_ticket's answer for `channel`. */
static uint64_t open_on(struct fx *f, uint64_t customer, const char *channel)
{
	struct proto_customer c;
	struct proto_ticket t;
	uint64_t id;

	get_customer(f, customer, &c);
	assert_int_equal(store_txn_begin(f->st, 1, &f->b.txn), GW_OK);
	assert_int_equal(thread_open_ticket(&f->b, &c, channel, &t), GW_OK);
	store_txn_abort(f->b.txn);
	id = t.ticket_id;
	proto_ticket_clear(&t);
	proto_customer_clear(&c);
	return id;
}

static const char *fmt(char *buf, size_t len, const char *f, ...)
	__attribute__((format(printf, 3, 4)));
static const char *fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, len, f, ap);
	va_end(ap);
	return buf;
}

#define ANA "ana@example.com"
#define BOB "bob@example.com"

/* --- rules 4 and 6 ------------------------------------------------------------ */

static void test_new_then_open(void **state)
{
	struct fx f;
	struct out o1, o2;
	struct proto_customer c;
	struct proto_ticket t;
	char want[128];

	(void)state;
	fx_open(&f, "customer", 600, NULL, 0);
	route_msg(&f, &(struct msg){.ext = "m1@x", .from = ANA, .subject = "Order"}, &o1);
	expect(&o1, "new_ticket", "new ticket: none before in scope customer");
	assert_true(o1.created);
	route_msg(&f, &(struct msg){.ext = "m2@x", .from = ANA}, &o2);
	expect(&o2, "open_ticket",
	       fmt(want, sizeof(want), "the customer's open ticket %llu (scope customer)",
		   (unsigned long long)o1.ticket));
	assert_int_equal(o2.ticket, o1.ticket);
	assert_false(o2.created);
	get_ticket(&f, o1.ticket, &t);
	assert_string_equal(t.scope, "customer");
	assert_string_equal(t.subject, "Order");
	assert_int_equal(t.previous_ticket_id, 0);
	assert_int_equal(t.message_count, 2);
	proto_ticket_clear(&t);
	get_customer(&f, o1.customer, &c);
	assert_int_equal(c.open_ticket_id, o1.ticket);
	assert_int_equal(c.last_tickets_len, 1);
	assert_null(c.last_tickets[0].channel);
	assert_int_equal(c.last_tickets[0].ticket_id, o1.ticket);
	proto_customer_clear(&c);
	assert_int_equal(open_on(&f, o1.customer, "email"), o1.ticket);
	fx_close(&f);
}

/* --- rule 1 ------------------------------------------------------------------- */

static void test_reply_reference(void **state)
{
	struct fx f;
	struct out o1, o2, o3, o4, o5;
	char want[256];

	(void)state;
	fx_open(&f, "customer", 600, NULL, 0);
	/* An email's Message-ID is its dedup_key: found from any mailbox. */
	route_msg(&f, &(struct msg){.ext = "m1@x", .dedup_key = "m1@x", .from = ANA}, &o1);
	route_msg(&f, &(struct msg){.account = "sales", .ext = "m2@x", .dedup_key = "m2@x",
				    .from = ANA, .reply_to = {"root@x", "m1@x"}}, &o2);
	expect(&o2, "reply_reference",
	       fmt(want, sizeof(want), "reply_to <m1@x> is message %llu of ticket %llu",
		   (unsigned long long)o1.seq, (unsigned long long)o1.ticket));
	assert_int_equal(o2.ticket, o1.ticket);
	/* The closest id first (In-Reply-To comes last in an email's list). */
	route_msg(&f, &(struct msg){.ext = "m3@x", .dedup_key = "m3@x", .from = ANA,
				    .reply_to = {"m1@x", "m2@x", "unknown@x"}}, &o3);
	expect(&o3, "reply_reference",
	       fmt(want, sizeof(want), "reply_to <m2@x> is message %llu", (unsigned long long)o2.seq));
	/* A provider id is found within its account (a WhatsApp context.id). */
	route_msg(&f, &(struct msg){.channel = "whatsapp", .account = "phone1", .ext = "wamid.1",
				    .from = "15550001111"}, &o4);
	route_msg(&f, &(struct msg){.channel = "whatsapp", .account = "phone1", .ext = "wamid.2",
				    .from = "15550001111", .reply_to = {"wamid.1"}}, &o5);
	expect(&o5, "reply_reference",
	       fmt(want, sizeof(want), "reply_to <wamid.1> is message %llu of ticket %llu",
		   (unsigned long long)o4.seq, (unsigned long long)o4.ticket));
	/* Not from another account of the channel. */
	route_msg(&f, &(struct msg){.channel = "whatsapp", .account = "phone2", .ext = "wamid.3",
				    .from = "15550001111", .reply_to = {"wamid.1"}}, &o5);
	expect(&o5, "open_ticket", "the customer's open ticket");
	fx_close(&f);
}

static void test_reply_reference_closed(void **state)
{
	struct fx f;
	struct out o1, o2, o3, o4;
	struct proto_ticket t;
	struct proto_customer c;
	char want[256];

	(void)state;
	fx_open(&f, "customer", 600, NULL, 0);
	route_msg(&f, &(struct msg){.ext = "m1@x", .dedup_key = "m1@x", .from = ANA}, &o1);
	/* Closed 5 h ago: within the 168 h window, reopened. */
	close_ticket(&f, o1.ticket, 5 * HOUR + MINUTE);
	route_msg(&f, &(struct msg){.ext = "m2@x", .dedup_key = "m2@x", .from = ANA,
				    .reply_to = {"m1@x"}}, &o2);
	expect(&o2, "reply_reference",
	       fmt(want, sizeof(want), "reply_to <m1@x> is message %llu of ticket %llu, closed 5 h "
		   "ago, within the 168 h reopen window: reopened", (unsigned long long)o1.seq,
		   (unsigned long long)o1.ticket));
	assert_int_equal(o2.ticket, o1.ticket);
	assert_true(o2.reopened);
	get_ticket(&f, o1.ticket, &t);
	assert_string_equal(t.status, "open");
	assert_int_equal(t.reopen_count, 1);
	assert_int_equal(t.closed_at, 0);
	proto_ticket_clear(&t);
	/* Closed 9 days ago: a new ticket linked to it. */
	close_ticket(&f, o1.ticket, 9 * 24 * HOUR);
	route_msg(&f, &(struct msg){.ext = "m3@x", .dedup_key = "m3@x", .from = ANA,
				    .reply_to = {"m1@x"}}, &o3);
	assert_int_not_equal(o3.ticket, o1.ticket);
	assert_true(o3.created);
	expect(&o3, "reply_reference",
	       fmt(want, sizeof(want), "closed 9 days ago, past the 168 h reopen window: new "
		   "ticket %llu linked to it", (unsigned long long)o3.ticket));
	get_ticket(&f, o3.ticket, &t);
	assert_int_equal(t.previous_ticket_id, o1.ticket);
	proto_ticket_clear(&t);
	/* The old ticket again, now that another is open: the open one. */
	route_msg(&f, &(struct msg){.ext = "m4@x", .dedup_key = "m4@x", .from = ANA,
				    .reply_to = {"m1@x"}}, &o4);
	assert_int_equal(o4.ticket, o3.ticket);
	expect(&o4, "open_ticket",
	       fmt(want, sizeof(want), "reply_to <m1@x> is message %llu of ticket %llu, closed "
		   "while ticket %llu is open; the customer's open ticket %llu (scope customer)",
		   (unsigned long long)o1.seq, (unsigned long long)o1.ticket,
		   (unsigned long long)o3.ticket, (unsigned long long)o3.ticket));
	get_customer(&f, o1.customer, &c);
	assert_int_equal(c.open_ticket_id, o3.ticket);
	proto_customer_clear(&c);
	fx_close(&f);
}

static void test_reply_reference_other_customer(void **state)
{
	struct fx f;
	struct out o1, o2;

	(void)state;
	fx_open(&f, "customer", 600, NULL, 0);
	route_msg(&f, &(struct msg){.ext = "m1@x", .dedup_key = "m1@x", .from = ANA}, &o1);
	route_msg(&f, &(struct msg){.ext = "m2@x", .dedup_key = "m2@x", .from = BOB,
				    .reply_to = {"m1@x"}}, &o2);
	assert_int_not_equal(o2.customer, o1.customer);
	assert_int_not_equal(o2.ticket, o1.ticket);
	expect(&o2, "new_ticket", "new ticket");
	assert_int_equal(o2.warnings, 1);
	assert_string_equal(o2.warning, "reply_to names a ticket of another customer, ignored: m1@x");
	fx_close(&f);
}

/* --- rule 2 ------------------------------------------------------------------- */

static void test_ticket_token(void **state)
{
	struct fx f;
	struct out a, b, o;
	char subj[64], want[128];

	(void)state;
	fx_open(&f, "customer", 600, NULL, 0);
	route_msg(&f, &(struct msg){.ext = "a1", .from = ANA}, &a);
	route_msg(&f, &(struct msg){.ext = "b1", .from = BOB}, &b);
	fmt(subj, sizeof(subj), "Re: [#T-%llu] my order", (unsigned long long)a.ticket);
	route_msg(&f, &(struct msg){.ext = "a2", .from = ANA, .subject = subj}, &o);
	expect(&o, "ticket_token",
	       fmt(want, sizeof(want), "subject token [#T-%llu] names this customer's ticket %llu",
		   (unsigned long long)a.ticket, (unsigned long long)a.ticket));
	assert_int_equal(o.ticket, a.ticket);
	/* A lowercase t is the same token; a space inside is none. */
	fmt(subj, sizeof(subj), "[#t-%llu]", (unsigned long long)a.ticket);
	route_msg(&f, &(struct msg){.ext = "a3", .from = ANA, .subject = subj}, &o);
	expect(&o, "ticket_token", "subject token");
	fmt(subj, sizeof(subj), "[# T-%llu]", (unsigned long long)a.ticket);
	route_msg(&f, &(struct msg){.ext = "a4", .from = ANA, .subject = subj}, &o);
	expect(&o, "open_ticket", "the customer's open ticket");
	/* Another customer's ticket: ignored, with a warning. */
	fmt(subj, sizeof(subj), "[#T-%llu] let me in", (unsigned long long)a.ticket);
	route_msg(&f, &(struct msg){.ext = "b2", .from = BOB, .subject = subj}, &o);
	assert_int_equal(o.ticket, b.ticket);
	expect(&o, "open_ticket", "the customer's open ticket");
	assert_int_equal(o.warnings, 1);
	assert_string_equal(o.warning, fmt(want, sizeof(want), "[#T-%llu] names a ticket of "
					   "another customer: ignored", (unsigned long long)a.ticket));
	/* No such ticket. */
	route_msg(&f, &(struct msg){.ext = "a5", .from = ANA, .subject = "[#T-999]"}, &o);
	assert_string_equal(o.warning, "[#T-999] names no ticket: ignored");
	expect(&o, "open_ticket", "open ticket");
	/* A closed ticket of the customer: reopened within the window. */
	close_ticket(&f, a.ticket, 2 * HOUR);
	fmt(subj, sizeof(subj), "Re: [#T-%llu]", (unsigned long long)a.ticket);
	route_msg(&f, &(struct msg){.ext = "a6", .from = ANA, .subject = subj}, &o);
	expect(&o, "ticket_token", "closed 2 h ago, within the 168 h reopen window: reopened");
	assert_true(o.reopened);
	fx_close(&f);
}

/* --- rule 3 ------------------------------------------------------------------- */

/* set_recent_age - the customer's recent text `i` was filed `ago` ms ago. */
static void set_recent_age(struct fx *f, uint64_t customer, size_t i, int64_t ago)
{
	struct proto_customer c;

	assert_int_equal(store_txn_begin(f->st, 0, &f->b.txn), GW_OK);
	assert_int_equal(store_customer_get(f->b.txn, customer, &c), GW_OK);
	assert_true(i < c.recent_len);
	c.recent[i].at = gw_now_ms() - ago;
	assert_int_equal(store_customer_put(f->b.txn, &c), GW_OK);
	assert_int_equal(store_txn_commit(f->b.txn), GW_OK);
	proto_customer_clear(&c);
}

static void test_probable_duplicate(void **state)
{
	static const struct pol pol[] = {{"livechat", "channel", -1}};
	struct fx f;
	struct out e1, d1, o;
	struct proto_ticket t;
	char want[128];

	(void)state;
	fx_open(&f, "customer", 600, pol, 1);
	route_msg(&f, &(struct msg){.ext = "e0", .from = ANA,
				    .text = "Where is my order #1234? It never arrived."}, &o);
	/* Repeats on the same channel are ordinary messages. */
	route_msg(&f, &(struct msg){.ext = "e1", .from = ANA,
				    .text = "Where is my order #1234? It never arrived."}, &e1);
	expect(&e1, "open_ticket", "open ticket");
	assert_int_equal(e1.duplicate_of, 0);
	link_identity(&f, "livechat", "visitor:ana", e1.customer);
	/* Same words, other case, spaces and punctuation, on another channel:
	 * a duplicate of the latest. */
	route_msg(&f, &(struct msg){.channel = "livechat", .ext = "c1", .from = "visitor:ana",
				    .text = "where is my ORDER 1234 --  it never arrived"}, &d1);
	expect(&d1, "probable_duplicate",
	       fmt(want, sizeof(want), "same text as message %llu sent on email ",
		   (unsigned long long)e1.seq));
	assert_non_null(strstr(d1.reason, fmt(want, sizeof(want), "ago (ticket %llu)",
					      (unsigned long long)e1.ticket)));
	assert_int_equal(d1.duplicate_of, e1.seq);
	assert_int_equal(d1.ticket, e1.ticket);
	assert_false(d1.created);
	get_ticket(&f, e1.ticket, &t);
	assert_int_equal(t.duplicate_count, 1);
	assert_int_equal(t.channels_len, 2);
	proto_ticket_clear(&t);
	/* The chat goes on in that ticket (its channel had none open). */
	assert_int_equal(open_on(&f, e1.customer, "livechat"), e1.ticket);
	/* Short texts are never duplicates. */
	route_msg(&f, &(struct msg){.ext = "e3", .from = ANA, .text = "ok, thanks!"}, &o);
	route_msg(&f, &(struct msg){.channel = "livechat", .ext = "c2", .from = "visitor:ana",
				    .text = "OK thanks"}, &o);
	expect(&o, "open_ticket", "open ticket");
	fx_close(&f);
}

static void test_duplicate_window(void **state)
{
	static const struct pol pol[] = {{"livechat", "channel", -1}};
	struct fx f;
	struct out e1, e2, o;
	struct proto_customer c;

	(void)state;
	fx_open(&f, "customer", 600, pol, 1);
	route_msg(&f, &(struct msg){.ext = "e1", .from = ANA,
				    .text = "The parcel arrived damaged, I want a refund"}, &e1);
	link_identity(&f, "livechat", "visitor:ana", e1.customer);
	/* 601 s later: outside the 600 s window, a ticket of the chat's own. */
	set_recent_age(&f, e1.customer, 0, 601 * 1000);
	route_msg(&f, &(struct msg){.channel = "livechat", .ext = "c1", .from = "visitor:ana",
				    .text = "The parcel arrived damaged, I want a refund"}, &o);
	expect(&o, "new_ticket", "scope channel, livechat");
	assert_int_equal(o.duplicate_of, 0);
	assert_int_not_equal(o.ticket, e1.ticket);
	/* 599 s later: inside, it joins the first one's ticket (before the
	 * chat's open ticket: the duplicate rule comes first). */
	route_msg(&f, &(struct msg){.ext = "e2", .from = ANA,
				    .text = "Please call me back about invoice 778"}, &e2);
	get_customer(&f, e1.customer, &c);
	assert_int_equal(c.recent[c.recent_len - 1].seq, e2.seq);
	set_recent_age(&f, e1.customer, c.recent_len - 1, 599 * 1000);
	proto_customer_clear(&c);
	route_msg(&f, &(struct msg){.channel = "livechat", .ext = "c2", .from = "visitor:ana",
				    .text = "please call me back about invoice 778."}, &o);
	expect(&o, "probable_duplicate", "9 min ago");
	assert_int_equal(o.duplicate_of, e2.seq);
	assert_int_equal(o.ticket, e1.ticket);
	fx_close(&f);
}

static void test_recent_kept(void **state)
{
	struct fx f;
	struct out o;
	struct proto_customer c;
	char ext[16], text[64];
	uint64_t first = 0;

	(void)state;
	fx_open(&f, "customer", 600, NULL, 0);
	for (int i = 0; i < PROTO_MAX_RECENT + 3; i++) {
		route_msg(&f, &(struct msg){.ext = fmt(ext, sizeof(ext), "e%d", i), .from = ANA,
					    .text = fmt(text, sizeof(text), "message number %d here", i)},
			  &o);
		if (i == 3)
			first = o.seq;
	}
	get_customer(&f, o.customer, &c);
	assert_int_equal(c.recent_len, PROTO_MAX_RECENT);
	assert_int_equal(c.recent[0].seq, first);
	assert_int_equal(c.recent[PROTO_MAX_RECENT - 1].seq, o.seq);
	assert_string_equal(c.recent[0].channel, "email");
	assert_int_equal(c.recent[0].ticket_id, o.ticket);
	proto_customer_clear(&c);
	fx_close(&f);
	/* Duplicate detection off: nothing kept. */
	fx_open(&f, "customer", 0, NULL, 0);
	route_msg(&f, &(struct msg){.ext = "e1", .from = ANA, .text = "a long enough text here"}, &o);
	get_customer(&f, o.customer, &c);
	assert_int_equal(c.recent_len, 0);
	proto_customer_clear(&c);
	fx_close(&f);
}

/* --- scopes ------------------------------------------------------------------- */

static void test_scope_channel(void **state)
{
	static const struct pol pol[] = {{"livechat", "channel", -1}};
	struct fx f;
	struct out e1, c1, o;
	struct proto_customer c;
	struct proto_ticket t;
	char want[128];

	(void)state;
	fx_open(&f, "customer", 600, pol, 1);
	route_msg(&f, &(struct msg){.ext = "e1", .from = ANA, .text = "first by email"}, &e1);
	link_identity(&f, "livechat", "visitor:ana", e1.customer);
	route_msg(&f, &(struct msg){.channel = "livechat", .ext = "c1", .from = "visitor:ana",
				    .text = "hello from the chat"}, &c1);
	expect(&c1, "new_ticket", "new ticket: none before in scope channel, livechat");
	assert_int_not_equal(c1.ticket, e1.ticket);
	get_ticket(&f, c1.ticket, &t);
	assert_string_equal(t.scope, "channel");
	assert_string_equal(t.channel, "livechat");
	proto_ticket_clear(&t);
	route_msg(&f, &(struct msg){.ext = "e2", .from = ANA, .text = "more by email"}, &o);
	expect(&o, "open_ticket", "(scope customer)");
	assert_int_equal(o.ticket, e1.ticket);
	route_msg(&f, &(struct msg){.channel = "livechat", .ext = "c2", .from = "visitor:ana",
				    .text = "more in the chat"}, &o);
	expect(&o, "open_ticket",
	       fmt(want, sizeof(want), "the customer's open ticket %llu (scope channel, livechat)",
		   (unsigned long long)c1.ticket));
	get_customer(&f, e1.customer, &c);
	assert_int_equal(c.open_ticket_id, e1.ticket);
	assert_int_equal(c.open_tickets_len, 1);
	assert_string_equal(c.open_tickets[0].channel, "livechat");
	assert_int_equal(c.open_tickets[0].ticket_id, c1.ticket);
	assert_int_equal(c.last_tickets_len, 2);
	proto_customer_clear(&c);
	assert_int_equal(open_on(&f, e1.customer, "livechat"), c1.ticket);
	assert_int_equal(open_on(&f, e1.customer, "email"), e1.ticket);
	/* An outbound message joins the open ticket of its channel's scope. */
	route_msg(&f, &(struct msg){.channel = "livechat", .ext = "r1", .from = "visitor:ana",
				    .sent = 1}, &o);
	assert_int_equal(o.ticket, c1.ticket);
	/* The chat's ticket closes and reopens; the email one is untouched. */
	close_ticket(&f, c1.ticket, HOUR);
	get_customer(&f, e1.customer, &c);
	assert_int_equal(c.open_tickets_len, 0);
	assert_int_equal(c.open_ticket_id, e1.ticket);
	proto_customer_clear(&c);
	assert_int_equal(open_on(&f, e1.customer, "livechat"), 0);
	route_msg(&f, &(struct msg){.channel = "livechat", .ext = "c3", .from = "visitor:ana",
				    .text = "back again"}, &o);
	expect(&o, "reopened",
	       fmt(want, sizeof(want), "ticket %llu closed 60 min ago, within the 168 h reopen "
		   "window", (unsigned long long)c1.ticket));
	route_msg(&f, &(struct msg){.ext = "e3", .from = ANA, .text = "email again"}, &o);
	assert_int_equal(o.ticket, e1.ticket);
	fx_close(&f);
}

static void test_scope_customer_across_channels(void **state)
{
	struct fx f;
	struct out e1, o;

	(void)state;
	fx_open(&f, "customer", 600, NULL, 0);
	route_msg(&f, &(struct msg){.ext = "e1", .from = ANA, .text = "first by email"}, &e1);
	link_identity(&f, "livechat", "visitor:ana", e1.customer);
	route_msg(&f, &(struct msg){.channel = "livechat", .ext = "c1", .from = "visitor:ana",
				    .text = "hello from the chat"}, &o);
	expect(&o, "open_ticket", "(scope customer)");
	assert_int_equal(o.ticket, e1.ticket);
	fx_close(&f);
}

/* --- rule 5: the reopen window -------------------------------------------------- */

static void test_reopen_window(void **state)
{
	static const struct pol pol[] = {{"sms", "", 1}, {"fax", "", 0}};
	struct fx f;
	struct out e1, o, s1;
	struct proto_ticket t;
	char want[160];

	(void)state;
	fx_open(&f, "customer", 600, pol, 2);
	route_msg(&f, &(struct msg){.ext = "e1", .from = ANA}, &e1);
	close_ticket(&f, e1.ticket, 168 * HOUR - MINUTE);
	route_msg(&f, &(struct msg){.ext = "e2", .from = ANA}, &o);
	expect(&o, "reopened",
	       fmt(want, sizeof(want), "ticket %llu closed 6 days ago, within the 168 h reopen "
		   "window", (unsigned long long)e1.ticket));
	assert_int_equal(o.ticket, e1.ticket);
	assert_true(o.reopened);
	get_ticket(&f, e1.ticket, &t);
	assert_int_equal(t.reopen_count, 1);
	assert_string_equal(t.status, "open");
	proto_ticket_clear(&t);
	/* Just past the window: a new ticket linked to the old one. */
	close_ticket(&f, e1.ticket, 168 * HOUR + MINUTE);
	route_msg(&f, &(struct msg){.ext = "e3", .from = ANA}, &o);
	expect(&o, "new_ticket",
	       fmt(want, sizeof(want), "new ticket; the previous one, %llu, closed 7 days ago, past "
		   "the 168 h reopen window", (unsigned long long)e1.ticket));
	assert_true(o.created);
	get_ticket(&f, o.ticket, &t);
	assert_int_equal(t.previous_ticket_id, e1.ticket);
	proto_ticket_clear(&t);
	/* A channel's own window (1 h), still in the customer's scope. */
	route_msg(&f, &(struct msg){.channel = "sms", .ext = "s1", .from = "+15550002222"}, &s1);
	close_ticket(&f, s1.ticket, 59 * MINUTE);
	route_msg(&f, &(struct msg){.channel = "sms", .ext = "s2", .from = "+15550002222"}, &o);
	expect(&o, "reopened", "within the 1 h reopen window");
	close_ticket(&f, s1.ticket, 61 * MINUTE);
	route_msg(&f, &(struct msg){.channel = "sms", .ext = "s3", .from = "+15550002222"}, &o);
	expect(&o, "new_ticket", "closed 61 min ago, past the 1 h reopen window");
	/* Window 0: never reopened. */
	route_msg(&f, &(struct msg){.channel = "fax", .ext = "f1", .from = "+15550003333"}, &s1);
	close_ticket(&f, s1.ticket, 1000);
	route_msg(&f, &(struct msg){.channel = "fax", .ext = "f2", .from = "+15550003333"}, &o);
	expect(&o, "new_ticket", "(reopening is off)");
	assert_int_not_equal(o.ticket, s1.ticket);
	fx_close(&f);
}

/* --- chat resume ---------------------------------------------------------------- */

static void test_chat_resume(void **state)
{
	struct fx f;
	struct out c1, c2, v2, o;
	char want[160];

	(void)state;
	fx_open(&f, "customer", 600, NULL, 0);
	route_msg(&f, &(struct msg){.channel = "livechat", .ext = "v1:a", .from = "visitor:v1",
				    .reply_to = {"chat:visitor:v1"}, .text = "hi"}, &c1);
	expect(&c1, "new_ticket", "new ticket");
	route_msg(&f, &(struct msg){.channel = "livechat", .ext = "v1:b", .from = "visitor:v1",
				    .reply_to = {"chat:visitor:v1"}, .text = "anyone?"}, &c2);
	expect(&c2, "reply_reference",
	       fmt(want, sizeof(want), "chat conversation visitor:v1 was last in ticket %llu "
		   "(message %llu)", (unsigned long long)c1.ticket, (unsigned long long)c1.seq));
	/* Naming someone else's conversation neither joins nor moves it. */
	route_msg(&f, &(struct msg){.channel = "livechat", .ext = "v2:a", .from = "visitor:v2",
				    .reply_to = {"chat:visitor:v1"}, .text = "hijack"}, &v2);
	assert_int_not_equal(v2.ticket, c1.ticket);
	assert_int_equal(v2.warnings, 1);
	route_msg(&f, &(struct msg){.channel = "livechat", .ext = "v1:c", .from = "visitor:v1",
				    .reply_to = {"chat:visitor:v1"}, .text = "hello?"}, &o);
	expect(&o, "reply_reference",
	       fmt(want, sizeof(want), "last in ticket %llu (message %llu)",
		   (unsigned long long)c1.ticket, (unsigned long long)c2.seq));
	/* Back two hours after the chat's ticket closed: reopened. */
	close_ticket(&f, c1.ticket, 2 * HOUR);
	route_msg(&f, &(struct msg){.channel = "livechat", .ext = "v1:d", .from = "visitor:v1",
				    .reply_to = {"chat:visitor:v1"}, .text = "me again"}, &o);
	expect(&o, "reply_reference", "closed 2 h ago, within the 168 h reopen window: reopened");
	assert_int_equal(o.ticket, c1.ticket);
	fx_close(&f);
}

/* The conversations the router keeps and the ids connectors hand over
 * live apart: neither takes the other's place. */
static void test_chat_keys_apart(void **state)
{
	struct fx f;
	struct out o, b1, b2;
	char want[160];

	(void)state;
	fx_open(&f, "customer", 600, NULL, 0);
	route_msg(&f, &(struct msg){.channel = "api", .ext = "b-1", .from = "bob",
				    .reply_to = {"chat:bob"}, .text = "first words"}, &b1);
	/* A message whose id is the conversation's key: no duplicate. */
	route_msg(&f, &(struct msg){.channel = "api", .ext = "chat:bob", .from = "carol",
				    .text = "a client's own id"}, &o);
	assert_int_equal(o.res, ROUTE_STORED);
	/* A message of that id first, then dan's conversation: both kept. */
	route_msg(&f, &(struct msg){.channel = "api", .ext = "chat:dan", .from = "erin",
				    .text = "erin's message"}, &o);
	assert_int_equal(o.res, ROUTE_STORED);
	route_msg(&f, &(struct msg){.channel = "api", .ext = "d-1", .from = "dan",
				    .reply_to = {"chat:dan"}, .text = "dan here"}, &o);
	assert_int_equal(o.res, ROUTE_STORED);
	route_msg(&f, &(struct msg){.channel = "api", .ext = "chat:dan", .from = "erin",
				    .text = "erin's message"}, &o);
	assert_int_equal(o.res, ROUTE_DUPLICATE);
	/* bob's conversation still resumes in its ticket. */
	route_msg(&f, &(struct msg){.channel = "api", .ext = "b-2", .from = "bob",
				    .reply_to = {"chat:bob"}, .text = "more words"}, &b2);
	expect(&b2, "reply_reference",
	       fmt(want, sizeof(want), "chat conversation bob was last in ticket %llu "
		   "(message %llu)", (unsigned long long)b1.ticket, (unsigned long long)b1.seq));
	fx_close(&f);
}

/* utf8_valid - whether `s` is well-formed UTF-8 (no overlong or surrogate
 * checks: only whether characters are whole, which a cut breaks). */
static int utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3
			 : (*p & 0xF8) == 0xF0 ? 4 : 0;

		if (!n)
			return 0;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xC0) != 0x80)
				return 0;
		p += n;
	}
	return 1;
}

/* Ids of multi-byte characters naming a closed ticket while another is
 * open: what the rules passed over is cut at a character's end. */
static void test_declined_multibyte(void **state)
{
	struct fx f;
	struct out a, b, o;
	char id[62 * 3 + 1] = "";

	(void)state;
	for (int i = 0; i < 62; i++)
		memcpy(id + strlen(id), "\xe2\x82\xac", 4); /* U+20AC EURO SIGN, and the NUL */
	fx_open(&f, "customer", 600, NULL, 0);
	route_msg(&f, &(struct msg){.ext = id, .from = ANA}, &a);
	close_ticket(&f, a.ticket, 200 * HOUR);
	route_msg(&f, &(struct msg){.ext = "m2@x", .from = ANA}, &b);
	assert_int_not_equal(b.ticket, a.ticket);
	route_msg(&f, &(struct msg){.ext = "m3@x", .from = ANA,
				    .reply_to = {id, id, id, id}}, &o);
	assert_int_equal(o.res, ROUTE_STORED);
	expect(&o, "open_ticket", "closed while ticket");
	assert_int_equal(o.ticket, b.ticket);
	assert_true(utf8_valid(o.reason));
	fx_close(&f);
}

/* --- the customer's lists ------------------------------------------------------- */

static void test_closed_reopened_lists(void **state)
{
	struct proto_customer c;
	struct proto_ticket t;
	struct batch b = {0};

	(void)state;
	memset(&c, 0, sizeof(c));
	memset(&t, 0, sizeof(t));
	t.ticket_id = 7;
	t.channel = "whatsapp";
	t.scope = "channel";
	t.closed_at = 1000;
	/* Open on two channels (a probable duplicate joined it). */
	c.open_tickets = calloc(2, sizeof(*c.open_tickets));
	assert_non_null(c.open_tickets);
	c.open_tickets[0] = (struct proto_ticket_ref){7, strdup("whatsapp"), 1};
	c.open_tickets[1] = (struct proto_ticket_ref){7, strdup("email"), 1};
	c.open_tickets_len = 2;
	c.open_ticket_id = 3;
	assert_int_equal(thread_ticket_closed(&b, &c, &t), GW_OK);
	assert_int_equal(c.open_tickets_len, 0);
	assert_int_equal(c.open_ticket_id, 3);
	assert_int_equal(c.last_tickets_len, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(c.last_tickets[i].ticket_id, 7);
		assert_int_equal(c.last_tickets[i].at, 1000);
	}
	assert_int_equal(thread_ticket_reopened(&b, &c, &t), GW_OK);
	assert_int_equal(c.open_tickets_len, 1);
	assert_string_equal(c.open_tickets[0].channel, "whatsapp");
	/* A ticket of scope customer. */
	t.ticket_id = 3;
	t.scope = NULL;
	assert_int_equal(thread_ticket_closed(&b, &c, &t), GW_OK);
	assert_int_equal(c.open_ticket_id, 0);
	assert_int_equal(c.last_tickets_len, 3);
	assert_null(c.last_tickets[2].channel);
	assert_int_equal(thread_ticket_reopened(&b, &c, &t), GW_OK);
	assert_int_equal(c.open_ticket_id, 3);
	proto_customer_clear(&c);
}

/* --- automated messages --------------------------------------------------------- */

#define REPLY_EXT "reply-1-0123456789abcdef0123456789abcdef"
#define REPLY_MSGID REPLY_EXT "@ours.example"
#define DAEMON "mailer-daemon@mx.roe.example"

/* A bounce of the gateway's own reply joins that reply's ticket, open or
 * closed, without opening, reopening or answering anything. */
static void test_automated_bounce_of_reply(void **state)
{
	struct fx f;
	struct out o1, o2, o3, o4;
	struct proto_ticket t;
	char want[512];
	uint32_t count;

	(void)state;
	fx_open(&f, "customer", 600, NULL, 0);
	route_msg(&f, &(struct msg){.ext = "m1@roe", .dedup_key = "m1@roe", .from = ANA}, &o1);
	/* The reply (commands/reply.c): its external_id, the local part of the
	 * Message-ID the email connector writes. */
	route_msg(&f, &(struct msg){.ext = REPLY_EXT, .from = ANA, .sent = 1}, &o2);
	assert_int_equal(o2.ticket, o1.ticket);
	get_ticket(&f, o1.ticket, &t);
	count = t.message_count;
	proto_ticket_clear(&t);
	route_msg(&f, &(struct msg){.ext = "dsn-1@mx", .dedup_key = "dsn-1@mx", .from = DAEMON,
				    .bounce = 1, .why = "multipart/report (delivery-status)",
				    .reply_to = {REPLY_MSGID}}, &o3);
	expect(&o3, "automated",
	       fmt(want, sizeof(want), "a bounce (multipart/report (delivery-status)): reply_to <%s> "
		   "is message %llu of ticket %llu (open), a reply the gateway sent; filed in that "
		   "ticket", REPLY_MSGID, (unsigned long long)o2.seq, (unsigned long long)o1.ticket));
	assert_int_equal(o3.ticket, o1.ticket);
	assert_true(o3.customer != o1.customer); /* its sender is the mail system */
	assert_false(o3.created || o3.reopened);
	get_ticket(&f, o1.ticket, &t);
	assert_int_equal(t.message_count, count + 1);
	assert_int_equal(t.last_message_seq, o1.seq); /* not the customer's message */
	proto_ticket_clear(&t);
	/* Closed, it stays closed: a second bounce joins it as it is. */
	close_ticket(&f, o1.ticket, HOUR);
	route_msg(&f, &(struct msg){.ext = "dsn-2@mx", .dedup_key = "dsn-2@mx", .from = DAEMON,
				    .bounce = 1, .reply_to = {"unknown@x", REPLY_MSGID}}, &o4);
	expect(&o4, "automated", "(closed), a reply the gateway sent; filed in that ticket");
	assert_int_equal(o4.ticket, o1.ticket);
	assert_false(o4.created || o4.reopened);
	get_ticket(&f, o1.ticket, &t);
	assert_string_equal(t.status, "closed");
	proto_ticket_clear(&t);
	fx_close(&f);
}

/* The Message-ID the connector reported for a reply (valid in every
 * account), a vacation notice of the customer, and what links nothing. */
static void test_automated_links(void **state)
{
	struct fx f;
	struct out o1, o2, o3, o4, o5;
	char want[512];

	(void)state;
	fx_open(&f, "customer", 600, NULL, 0);
	route_msg(&f, &(struct msg){.ext = "m1@roe", .dedup_key = "m1@roe", .from = ANA}, &o1);
	route_msg(&f, &(struct msg){.ext = "reply-2-ff", .dedup_key = "reply-2-ff@ours.example",
				    .from = ANA, .sent = 1}, &o2);
	route_msg(&f, &(struct msg){.ext = "dsn-3@mx", .from = DAEMON, .bounce = 1,
				    .reply_to = {"reply-2-ff@ours.example"}}, &o3);
	assert_int_equal(o3.ticket, o1.ticket);
	/* Ana's own vacation notice answering her ticket's message. */
	route_msg(&f, &(struct msg){.ext = "ooo-1@roe", .from = ANA, .auto_reply = 1,
				    .why = "Auto-Submitted: auto-replied", .reply_to = {"m1@roe"}},
		  &o4);
	expect(&o4, "automated",
	       fmt(want, sizeof(want), "an auto-reply (Auto-Submitted: auto-replied): reply_to "
		   "<m1@roe> is message %llu of ticket %llu (open); filed", (unsigned long long)o1.seq,
		   (unsigned long long)o1.ticket));
	assert_int_equal(o4.ticket, o1.ticket);
	assert_false(o4.created || o4.reopened);
	/* A bounce naming Ana's own message (not a reply of the gateway): the
	 * mail system's customer may not write into Ana's ticket. */
	route_msg(&f, &(struct msg){.ext = "dsn-4@mx", .from = DAEMON, .bounce = 1,
				    .reply_to = {"m1@roe"}}, &o5);
	expect(&o5, "automated", "names no ticket of the sender nor a reply of the gateway");
	assert_int_equal(o5.ticket, 0);
	assert_int_equal(o5.warnings, 1);
	assert_non_null(strstr(o5.warning, "reply_to names a ticket of another customer"));
	/* Nothing named, even with a ticket open: the sender's thread only. */
	route_msg(&f, &(struct msg){.ext = "news-1@shop", .from = ANA, .auto_reply = 1,
				    .why = "Precedence: bulk"}, &o5);
	expect(&o5, "automated", "an auto-reply (Precedence: bulk): reply_to names no ticket");
	assert_int_equal(o5.ticket, 0);
	assert_false(o5.created || o5.reopened);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_then_open),
		cmocka_unit_test(test_reply_reference),
		cmocka_unit_test(test_reply_reference_closed),
		cmocka_unit_test(test_reply_reference_other_customer),
		cmocka_unit_test(test_ticket_token),
		cmocka_unit_test(test_probable_duplicate),
		cmocka_unit_test(test_duplicate_window),
		cmocka_unit_test(test_recent_kept),
		cmocka_unit_test(test_scope_channel),
		cmocka_unit_test(test_scope_customer_across_channels),
		cmocka_unit_test(test_reopen_window),
		cmocka_unit_test(test_chat_resume),
		cmocka_unit_test(test_chat_keys_apart),
		cmocka_unit_test(test_declined_multibyte),
		cmocka_unit_test(test_closed_reopened_lists),
		cmocka_unit_test(test_automated_bounce_of_reply),
		cmocka_unit_test(test_automated_links),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

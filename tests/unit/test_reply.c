/*
 * test_reply.c - the message.send command (router/commands/reply.c) on a real
 * router store, without sockets: messages are routed and commands run in
 * the router's own transactions, and the event log is read back.
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

#include "connectors/meta/meta_out.h"
#include "core/err.h"
#include "core/util.h"
#include "router/router.h"
#include "store/store.h"
#include "routing_defaults.h"

#define FX_NAME "reply"
#define FX_DELIVERY_TIMEOUT_MS 60000 /* no reply times out during a test */
#include "tests/unit/router_fixture.h"

/* fx_scope - the fixture's router with threading scope `scope`. */
static void fx_scope(struct fx *f, char *scope)
{
	routing_cfg.scope = scope;
	fx_open(f);
}

/* --- messages and commands ----------------------------------------------- */

struct routed {
	struct proto_event *ev;
	enum route_result res;
};

static int route_txn(struct batch *b, void *arg)
{
	struct routed *x = arg;

	return route_event(b, x->ev, &x->res);
}

/* inbound - routes a customer's message; its result, ticket and customer. */
static enum route_result inbound(struct fx *f, const char *channel, const char *account,
				 const char *ext, const char *from, uint64_t *ticket,
				 uint64_t *customer)
{
	struct proto_event ev;
	struct routed x = {&ev, ROUTE_DUPLICATE};

	assert_int_equal(proto_event_init(&ev, PROTO_T_MESSAGE_RECEIVED), GW_OK);
	ev.u.message.channel = strdup(channel);
	ev.u.message.account = strdup(account);
	ev.u.message.external_id = strdup(ext);
	ev.u.message.received_at = 1700000000000;
	ev.u.message.from.address = strdup(from);
	ev.u.message.text = strdup(ext); /* distinct texts: no duplicate rule */
	assert_int_equal(router_txn(f->r, route_txn, &x), GW_OK);
	if (ticket)
		*ticket = ev.u.message.ticket_id;
	if (customer)
		*customer = ev.u.message.customer_id;
	proto_event_clear(&ev);
	return x.res;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* reply_send - message.send; 0 for ticket_id / customer_id, NULL for channel:
 * not given. Returns its error code; *delivery its delivery id. */
static int reply_send(struct fx *f, const char *command_id, uint64_t ticket_id,
		      uint64_t customer_id, const char *channel, uint64_t *delivery)
{
	msgpack_sbuffer args, out;
	msgpack_packer pk;
	char err[256];
	int rc;

	msgpack_sbuffer_init(&args);
	msgpack_sbuffer_init(&out);
	msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2 + (ticket_id != 0) + (customer_id != 0) + (channel != NULL));
	pack_str(&pk, "command_id");
	pack_str(&pk, command_id);
	pack_str(&pk, "text");
	pack_str(&pk, "Thanks, we are on it.");
	if (ticket_id) {
		pack_str(&pk, "ticket_id");
		msgpack_pack_uint64(&pk, ticket_id);
	}
	if (customer_id) {
		pack_str(&pk, "customer_id");
		msgpack_pack_uint64(&pk, customer_id);
	}
	if (channel) {
		pack_str(&pk, "channel");
		pack_str(&pk, channel);
	}
	rc = reply_message_send(f->r, args.data, args.size, &out, delivery, err, sizeof(err));
	if (rc)
		print_message("message.send %s: %s\n", command_id, err);
	msgpack_sbuffer_destroy(&args);
	msgpack_sbuffer_destroy(&out);
	return rc;
}

/* --- reading the store ------------------------------------------------------- */

static uint64_t head(struct fx *f)
{
	struct store_txn *txn;
	uint64_t seq;

	assert_int_equal(store_txn_begin(router_store(f->r), 1, &txn), GW_OK);
	assert_int_equal(store_eventlog_head(txn, &seq), GW_OK);
	store_txn_abort(txn);
	return seq;
}

/* event_after - the first event of `type` after seq `from`, into `ev`. */
static void event_after(struct fx *f, uint64_t from, enum proto_type type,
			struct proto_event *ev)
{
	struct store_txn *txn;
	uint64_t last;

	assert_int_equal(store_txn_begin(router_store(f->r), 1, &txn), GW_OK);
	assert_int_equal(store_eventlog_head(txn, &last), GW_OK);
	for (uint64_t seq = from + 1; seq <= last; seq++) {
		assert_int_equal(store_eventlog_decode(txn, seq, ev), GW_OK);
		if (ev->type == type) {
			store_txn_abort(txn);
			return;
		}
		proto_event_clear(ev);
	}
	store_txn_abort(txn);
	fail_msg("no %s after seq %llu", proto_type_name(type), (unsigned long long)from);
}

static void ticket(struct fx *f, uint64_t id, struct proto_ticket *t)
{
	struct store_txn *txn;

	memset(t, 0, sizeof(*t));
	assert_int_equal(store_txn_begin(router_store(f->r), 1, &txn), GW_OK);
	assert_int_equal(store_ticket_get(txn, id, t), GW_OK);
	store_txn_abort(txn);
}

/* link - (channel, address) is customer `id` too. */
static void link_identity(struct fx *f, const char *channel, const char *address, uint64_t id)
{
	struct store_txn *txn;

	assert_int_equal(store_txn_begin(router_store(f->r), 0, &txn), GW_OK);
	assert_int_equal(store_identity_put(txn, channel, address, id), GW_OK);
	assert_int_equal(store_txn_commit(txn), GW_OK);
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

/* --- tests ------------------------------------------------------------------- */

/*
 * A client's message ids and the replies' ids share the dedup table of a
 * channel and account: a client id "reply-1" neither blocks the replies
 * (each one a "duplicate" of it) nor is a reply's id taken from a client.
 */
static void test_reply_ids_apart(void **state)
{
	struct fx f;
	struct proto_event sent, st;
	uint64_t tk, cust, delivery, from;
	char sid[128];

	(void)state;
	fx_scope(&f, "customer");
	assert_int_equal(inbound(&f, "api", "acct", "in-1", "+1555", &tk, &cust), ROUTE_STORED);
	/* The client names a message as the first reply used to be named. */
	assert_int_equal(inbound(&f, "api", "acct", "reply-1", "+1555", NULL, NULL),
			 ROUTE_STORED);
	from = head(&f);
	assert_int_equal(reply_send(&f, "cmd-1", tk, 0, NULL, &delivery), GW_OK);
	assert_int_equal(delivery, 1);
	event_after(&f, from, PROTO_T_MESSAGE_SENT, &sent);
	assert_true(is_reply_id(sent.u.message.external_id, 1));
	/* Its status names it, linked to it. */
	event_after(&f, from, PROTO_T_MESSAGE_STATUS, &st);
	assert_string_equal(st.u.status.external_id, sent.u.message.external_id);
	snprintf(sid, sizeof(sid), "%s:queued", sent.u.message.external_id);
	assert_string_equal(st.u.status.status_id, sid);
	assert_int_equal(st.u.status.message_seq, sent.seq);
	proto_event_clear(&st);
	proto_event_clear(&sent);
	/* The next reply goes out too, ... */
	assert_int_equal(reply_send(&f, "cmd-2", tk, 0, NULL, &delivery), GW_OK);
	assert_int_equal(delivery, 2);
	/* ... and a client id like a reply's is no duplicate of one. */
	assert_int_equal(inbound(&f, "api", "acct", "reply-2", "+1555", NULL, NULL),
			 ROUTE_STORED);
	assert_int_equal(inbound(&f, "api", "acct", "reply-2", "+1555", NULL, NULL),
			 ROUTE_DUPLICATE);
	fx_close(&f);
}

/*
 * Scope channel, ticket 1 open on email, ticket 2 on WhatsApp, the last
 * message on WhatsApp: a reply to ticket 1 goes out by email, joins
 * ticket 1 and stops its first-response clock, not ticket 2's.
 */
static void test_reply_to_named_ticket(void **state)
{
	struct fx f;
	struct proto_event sent;
	struct proto_ticket t;
	uint64_t t1, t2, c1, c2, delivery, from;

	(void)state;
	fx_scope(&f, "channel");
	assert_int_equal(inbound(&f, "email", "support", "e1@x", "ana@example.com", &t1, &c1),
			 ROUTE_STORED);
	link_identity(&f, "whatsapp", "15550001111", c1);
	assert_int_equal(inbound(&f, "whatsapp", "phone1", "wamid.1", "15550001111", &t2, &c2),
			 ROUTE_STORED);
	assert_int_equal(c2, c1);
	assert_int_not_equal(t2, t1);

	from = head(&f);
	assert_int_equal(reply_send(&f, "cmd-1", t1, 0, NULL, &delivery), GW_OK);
	event_after(&f, from, PROTO_T_MESSAGE_SENT, &sent);
	assert_string_equal(sent.u.message.channel, "email");
	assert_string_equal(sent.u.message.account, "support");
	assert_string_equal(sent.u.message.to->address, "ana@example.com");
	assert_string_equal(sent.u.message.reply_to[0], "e1@x");
	assert_int_equal(sent.u.message.ticket_id, t1);
	ticket(&f, t1, &t);
	assert_true(t.first_response_at == sent.ts);
	assert_int_equal(t.message_count, 2);
	proto_ticket_clear(&t);
	ticket(&f, t2, &t);
	assert_true(t.first_response_at == 0);
	assert_int_equal(t.message_count, 1);
	proto_ticket_clear(&t);
	proto_event_clear(&sent);

	/* Named on another channel: out on that one, still in ticket 1. */
	from = head(&f);
	assert_int_equal(reply_send(&f, "cmd-2", t1, 0, "whatsapp", &delivery), GW_OK);
	event_after(&f, from, PROTO_T_MESSAGE_SENT, &sent);
	assert_string_equal(sent.u.message.channel, "whatsapp");
	assert_int_equal(sent.u.message.ticket_id, t1);
	proto_event_clear(&sent);
	ticket(&f, t2, &t);
	assert_true(t.first_response_at == 0);
	proto_ticket_clear(&t);

	/* By customer: the last inbound channel and its open ticket. */
	from = head(&f);
	assert_int_equal(reply_send(&f, "cmd-3", 0, c1, NULL, &delivery), GW_OK);
	event_after(&f, from, PROTO_T_MESSAGE_SENT, &sent);
	assert_string_equal(sent.u.message.channel, "whatsapp");
	assert_int_equal(sent.u.message.ticket_id, t2);
	ticket(&f, t2, &t);
	assert_true(t.first_response_at == sent.ts);
	proto_ticket_clear(&t);
	proto_event_clear(&sent);
	fx_close(&f);
}


/* --- reports and the provider's statuses -------------------------------------- */

struct report_arg {
	uint64_t id;
	const char *status;
	struct deliver_ref ref;
};

static int report_txn(struct batch *b, void *arg)
{
	struct report_arg *a = arg;

	return deliver_report(b, a->id, a->status, NULL, &a->ref);
}

/* provider_status - a status webhook about provider id `pid`. */
static enum route_result provider_status(struct fx *f, const char *pid, const char *status,
					 uint64_t *message_seq)
{
	struct proto_event ev;
	struct routed x = {&ev, ROUTE_DUPLICATE};
	char sid[128];

	snprintf(sid, sizeof(sid), "%s:%s", pid, status);
	assert_int_equal(proto_event_init(&ev, PROTO_T_MESSAGE_STATUS), GW_OK);
	ev.u.status.channel = strdup("whatsapp");
	ev.u.status.account = strdup("phone1");
	ev.u.status.status_id = strdup(sid);
	ev.u.status.external_id = strdup(pid);
	ev.u.status.status = strdup(status);
	ev.u.status.status_at = 1700000001000;
	assert_int_equal(router_txn(f->r, route_txn, &x), GW_OK);
	*message_seq = ev.u.status.message_seq;
	proto_event_clear(&ev);
	return x.res;
}

static void delivery_state(struct fx *f, uint64_t id, const char *want)
{
	struct store_txn *txn;
	struct store_delivery dv;

	assert_int_equal(store_txn_begin(router_store(f->r), 1, &txn), GW_OK);
	assert_int_equal(store_delivery_get(txn, id, &dv), GW_OK);
	store_txn_abort(txn);
	assert_string_equal(dv.state, want);
}

/*
 * The connector reports "sent" with the provider's id: the status says it,
 * and the id becomes a key of the reply. The provider's own statuses then
 * find the reply and move its delivery; one that is no news (its "sent"
 * after ours, a late "sent" after "delivered") is not published. The
 * customer's answer naming the id threads into the reply's ticket.
 */
static void test_report_ref_and_statuses(void **state)
{
	struct fx f;
	struct proto_event sent, st, in;
	struct report_arg ra = {0, "sent", {"phone1", "wamid.OUT"}};
	struct routed x = {&in, ROUTE_DUPLICATE};
	uint64_t tk, cust, from, seq;

	(void)state;
	fx_scope(&f, "customer");
	assert_int_equal(inbound(&f, "whatsapp", "phone1", "wamid.IN", "15550001111", &tk, &cust),
			 ROUTE_STORED);
	from = head(&f);
	assert_int_equal(reply_send(&f, "cmd-1", tk, 0, NULL, &ra.id), GW_OK);
	event_after(&f, from, PROTO_T_MESSAGE_SENT, &sent);
	from = head(&f);
	assert_int_equal(router_txn(f.r, report_txn, &ra), GW_OK);
	event_after(&f, from, PROTO_T_MESSAGE_STATUS, &st);
	assert_string_equal(st.u.status.status, "sent");
	assert_string_equal(st.u.status.provider_id, "wamid.OUT");
	assert_int_equal(st.u.status.message_seq, sent.seq);
	proto_event_clear(&st);
	/* Reported again (a resend after a restart): nothing new. */
	from = head(&f);
	assert_int_equal(router_txn(f.r, report_txn, &ra), GW_OK);
	assert_int_equal(head(&f), from);
	delivery_state(&f, ra.id, "sent");
	assert_int_equal(provider_status(&f, "wamid.OUT", "sent", &seq), ROUTE_DUPLICATE);
	assert_int_equal(provider_status(&f, "wamid.OUT", "delivered", &seq), ROUTE_STORED);
	assert_int_equal(seq, sent.seq);
	delivery_state(&f, ra.id, "delivered");
	assert_int_equal(provider_status(&f, "wamid.OUT", "read", &seq), ROUTE_STORED);
	delivery_state(&f, ra.id, "read");
	ra.status = "delivered"; /* late */
	from = head(&f);
	assert_int_equal(router_txn(f.r, report_txn, &ra), GW_OK);
	assert_int_equal(head(&f), from);
	/* A status about a message the gateway does not know: published. */
	assert_int_equal(provider_status(&f, "wamid.ELSE", "read", &seq), ROUTE_STORED);
	assert_int_equal(seq, 0);
	/* The customer answers the reply (WhatsApp's context.id). */
	assert_int_equal(proto_event_init(&in, PROTO_T_MESSAGE_RECEIVED), GW_OK);
	in.u.message.channel = strdup("whatsapp");
	in.u.message.account = strdup("phone1");
	in.u.message.external_id = strdup("wamid.IN2");
	in.u.message.received_at = 1700000002000;
	in.u.message.from.address = strdup("15550001111");
	in.u.message.text = strdup("thanks!");
	in.u.message.reply_to = calloc(1, sizeof(char *));
	in.u.message.reply_to[0] = strdup("wamid.OUT");
	in.u.message.reply_to_len = 1;
	assert_int_equal(router_txn(f.r, route_txn, &x), GW_OK);
	assert_int_equal(x.res, ROUTE_STORED);
	assert_string_equal(in.u.message.thread_rule, "reply_reference");
	assert_int_equal(in.u.message.ticket_id, sent.u.message.ticket_id);
	proto_event_clear(&in);
	proto_event_clear(&sent);
	fx_close(&f);
}

/* message.send with a template, attachments and no text. */
static int send_rich(struct fx *f, uint64_t ticket_id, int with_template, int bad_attachment,
		     char *err, size_t errlen)
{
	msgpack_sbuffer args, out;
	msgpack_packer pk;
	uint64_t delivery;
	int rc;

	msgpack_sbuffer_init(&args);
	msgpack_sbuffer_init(&out);
	msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3 + !!with_template);
	pack_str(&pk, "command_id");
	pack_str(&pk, with_template ? "rich-1" : "rich-2");
	pack_str(&pk, "ticket_id");
	msgpack_pack_uint64(&pk, ticket_id);
	if (with_template) {
		pack_str(&pk, "template");
		msgpack_pack_map(&pk, 3);
		pack_str(&pk, "name");
		pack_str(&pk, "order_update");
		pack_str(&pk, "language");
		pack_str(&pk, "en_US");
		pack_str(&pk, "params");
		msgpack_pack_array(&pk, 2);
		pack_str(&pk, "Ana");
		pack_str(&pk, "#1234");
	}
	pack_str(&pk, "attachments");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 3 - !!bad_attachment);
	pack_str(&pk, "name");
	pack_str(&pk, "invoice.pdf");
	pack_str(&pk, "type");
	pack_str(&pk, "application/pdf");
	if (!bad_attachment) {
		pack_str(&pk, "ref");
		pack_str(&pk, "sha256:00ff");
	}
	rc = reply_message_send(f->r, args.data, args.size, &out, &delivery, err, errlen);
	msgpack_sbuffer_destroy(&args);
	msgpack_sbuffer_destroy(&out);
	return rc;
}

/*
 * A reply carries the chain of the message it answers (References, then
 * In-Reply-To last), the ticket's subject, when the customer wrote, a
 * template and attachments; without text, template or attachment, or with
 * an attachment without its ref, the command is refused naming what.
 */
static void test_send_template_and_chain(void **state)
{
	struct fx f;
	struct proto_event ev, sent;
	struct routed x = {&ev, ROUTE_DUPLICATE};
	uint64_t from, delivery;
	char err[256];

	(void)state;
	fx_scope(&f, "customer");
	assert_int_equal(proto_event_init(&ev, PROTO_T_MESSAGE_RECEIVED), GW_OK);
	ev.u.message.channel = strdup("email");
	ev.u.message.account = strdup("support");
	ev.u.message.external_id = strdup("c@x");
	ev.u.message.received_at = 1700000000000;
	ev.u.message.from.address = strdup("ana@example.com");
	ev.u.message.subject = strdup("Order 1234");
	ev.u.message.text = strdup("where is it?");
	ev.u.message.reply_to = calloc(2, sizeof(char *));
	ev.u.message.reply_to[0] = strdup("a@x");
	ev.u.message.reply_to[1] = strdup("b@x");
	ev.u.message.reply_to_len = 2;
	assert_int_equal(router_txn(f.r, route_txn, &x), GW_OK);
	from = head(&f);
	assert_int_equal(send_rich(&f, ev.u.message.ticket_id, 1, 0, err, sizeof(err)), GW_OK);
	event_after(&f, from, PROTO_T_MESSAGE_SENT, &sent);
	assert_int_equal(sent.u.message.reply_to_len, 3);
	assert_string_equal(sent.u.message.reply_to[0], "a@x");
	assert_string_equal(sent.u.message.reply_to[2], "c@x");
	assert_string_equal(sent.u.message.subject, "Order 1234");
	assert_true(sent.u.message.last_inbound_at == 1700000000000);
	assert_non_null(sent.u.message.tmpl);
	assert_string_equal(sent.u.message.tmpl->name, "order_update");
	assert_int_equal(sent.u.message.tmpl->params_len, 2);
	assert_string_equal(sent.u.message.tmpl->params[1], "#1234");
	assert_string_equal(sent.u.message.text, "[template order_update (en_US)]");
	assert_int_equal(sent.u.message.attachments_len, 1);
	assert_string_equal(sent.u.message.attachments[0].ref, "sha256:00ff");
	proto_event_clear(&sent);
	assert_int_equal(send_rich(&f, ev.u.message.ticket_id, 0, 1, err, sizeof(err)),
			 GW_EMISSING);
	assert_non_null(strstr(err, "attachments"));
	assert_non_null(strstr(err, "ref"));
	assert_int_equal(reply_send(&f, "cmd-ok", ev.u.message.ticket_id, 0, NULL, &delivery),
			 GW_OK);
	proto_event_clear(&ev);
	fx_close(&f);
}

/* --- the providers' windows: from when the customer wrote ------------------------ */

#define HOUR_MS (3600LL * 1000)

/* wa_inbound - routes a WhatsApp message the connector received at
 * `received_at` and Meta says was sent at `sent_at` (0: no timestamp);
 * its ticket. */
static uint64_t wa_inbound(struct fx *f, const char *ext, const char *from,
			   int64_t received_at, int64_t sent_at)
{
	struct proto_event ev;
	struct routed x = {&ev, ROUTE_DUPLICATE};
	uint64_t ticket;

	assert_int_equal(proto_event_init(&ev, PROTO_T_MESSAGE_RECEIVED), GW_OK);
	ev.u.message.channel = strdup("whatsapp");
	ev.u.message.account = strdup("1122334455667");
	ev.u.message.external_id = strdup(ext);
	ev.u.message.received_at = received_at;
	ev.u.message.sent_at = sent_at;
	ev.u.message.from.address = strdup(from);
	ev.u.message.text = strdup(ext);
	assert_int_equal(router_txn(f->r, route_txn, &x), GW_OK);
	assert_int_equal(x.res, ROUTE_STORED);
	ticket = ev.u.message.ticket_id;
	proto_event_clear(&ev);
	return ticket;
}

/* wa_reply_at - a free-form reply to `ticket`, handed to the WhatsApp
 * sender as the connector would at `now`: its decision (GW_EINVAL: refused
 * before any request, `why` says why); *inbound_at the reply's
 * last_inbound_at. */
static int wa_reply_at(struct fx *f, const char *command_id, uint64_t ticket, int64_t now,
		       int64_t *inbound_at, char *why, size_t whylen)
{
	struct meta_send_ctx c = {.graph_url = "http://127.0.0.1:9/v21.0",
				  .token = "secret-token",
				  .attach_dir = "/nonexistent/attachments",
				  .account = "1122334455667",
				  .reply_id = "reply-x",
				  .made_at = now};
	struct proto_event sent;
	uint64_t from = head(f), delivery;
	void *job = NULL;
	int rc;

	why[0] = '\0';
	assert_int_equal(reply_send(f, command_id, ticket, 0, NULL, &delivery), GW_OK);
	event_after(f, from, PROTO_T_MESSAGE_SENT, &sent);
	*inbound_at = sent.u.message.last_inbound_at;
	rc = wa_job_new(&c, &sent.u.message, &job, why, whylen);
	if (job)
		wa_send_ops.free(job);
	proto_event_clear(&sent);
	return rc;
}

/*
 * WhatsApp's 24-hour window counts from when the customer wrote, as Meta
 * reports it (sent_at), not from when a retried webhook brought the
 * message: written 25 h ago and received now, a free-form reply is
 * refused at once; written 23 h ago, it goes. A timestamp later than the
 * receipt (forged, or a skewed clock) does not extend the window, and a
 * message without one (stored before sent_at existed) counts from its
 * receipt.
 */
static void test_window_from_sent_at(void **state)
{
	int64_t now = gw_now_ms(), at;
	struct fx f;
	uint64_t tk;
	char why[256];

	(void)state;
	fx_scope(&f, "customer");
	tk = wa_inbound(&f, "wamid.old", "15550000001", now, now - 25 * HOUR_MS);
	assert_int_equal(wa_reply_at(&f, "cmd-old", tk, now, &at, why, sizeof(why)), GW_EINVAL);
	assert_true(at == now - 25 * HOUR_MS);
	assert_string_equal(why, "outside WhatsApp's 24-hour window: send a template");
	tk = wa_inbound(&f, "wamid.recent", "15550000002", now, now - 23 * HOUR_MS);
	assert_int_equal(wa_reply_at(&f, "cmd-recent", tk, now, &at, why, sizeof(why)), GW_OK);
	assert_true(at == now - 23 * HOUR_MS);
	tk = wa_inbound(&f, "wamid.future", "15550000003", now - 25 * HOUR_MS, now + HOUR_MS);
	assert_int_equal(wa_reply_at(&f, "cmd-future", tk, now, &at, why, sizeof(why)),
			 GW_EINVAL);
	assert_true(at == now - 25 * HOUR_MS);
	tk = wa_inbound(&f, "wamid.none", "15550000004", now - 2 * HOUR_MS, 0);
	assert_int_equal(wa_reply_at(&f, "cmd-none", tk, now, &at, why, sizeof(why)), GW_OK);
	assert_true(at == now - 2 * HOUR_MS);
	fx_close(&f);
}

/* --- receipts of Messenger: watermarks and echoes ------------------------------ */

/* status_in - routes a provider's status on messenger/page1; its seq (0 if
 * not published) and the message it was linked to. */
static uint64_t status_in(struct fx *f, const char *status_id, const char *status,
			  const char *ext, const char *provider_id, const char *recipient,
			  int64_t watermark, uint64_t *message_seq)
{
	struct proto_event ev;
	struct routed x = {&ev, ROUTE_DUPLICATE};
	uint64_t seq;

	assert_int_equal(proto_event_init(&ev, PROTO_T_MESSAGE_STATUS), GW_OK);
	ev.u.status.channel = strdup("messenger");
	ev.u.status.account = strdup("page1");
	ev.u.status.status_id = strdup(status_id);
	ev.u.status.status = strdup(status);
	ev.u.status.status_at = 1700000009000;
	ev.u.status.external_id = ext ? strdup(ext) : NULL;
	ev.u.status.provider_id = provider_id ? strdup(provider_id) : NULL;
	ev.u.status.recipient = recipient ? strdup(recipient) : NULL;
	ev.u.status.watermark = watermark;
	assert_int_equal(router_txn(f->r, route_txn, &x), GW_OK);
	seq = x.res == ROUTE_STORED ? ev.seq : 0;
	if (message_seq)
		*message_seq = ev.u.status.message_seq;
	proto_event_clear(&ev);
	return seq;
}

/* sent_reply - message.send to ticket `tk`, reported "sent" unless
 * `pending`; its delivery id, and its message.sent into `sent`. */
static uint64_t sent_reply(struct fx *f, const char *cmd, uint64_t tk, int pending,
			   struct proto_event *sent)
{
	struct report_arg ra = {0, "sent", {"page1", NULL}};
	uint64_t from = head(f);

	assert_int_equal(reply_send(f, cmd, tk, 0, NULL, &ra.id), GW_OK);
	event_after(f, from, PROTO_T_MESSAGE_SENT, sent);
	if (!pending)
		assert_int_equal(router_txn(f->r, report_txn, &ra), GW_OK);
	/* The next reply is made a millisecond later at least. */
	while (gw_now_ms() <= sent->ts)
		;
	return ra.id;
}

/*
 * A read watermark (no message named) moves the customer's replies on that
 * channel and account made at or before it that the provider took to
 * "read", one message.status each; one made after it, one not sent yet
 * and another customer's stay as they are. A status naming a reply by its
 * own id and giving the provider's id makes that id a key of the reply.
 */
static void test_watermark_and_alias(void **state)
{
	struct fx f;
	struct proto_event a, b, c, d, e, st;
	uint64_t tk, tk2, da, db, dc, dd, de, from, seq, linked;

	(void)state;
	fx_scope(&f, "customer");
	assert_int_equal(inbound(&f, "messenger", "page1", "m_in", "PSID1", &tk, NULL),
			 ROUTE_STORED);
	assert_int_equal(inbound(&f, "messenger", "page1", "m_in2", "PSID2", &tk2, NULL),
			 ROUTE_STORED);
	da = sent_reply(&f, "w-a", tk, 0, &a);
	db = sent_reply(&f, "w-b", tk, 1, &b);
	de = sent_reply(&f, "w-e", tk2, 0, &e);
	dc = sent_reply(&f, "w-c", tk, 0, &c);
	dd = sent_reply(&f, "w-d", tk, 0, &d);
	from = head(&f);
	seq = status_in(&f, "PSID1:read:wm", "read", NULL, NULL, "PSID1", c.ts, &linked);
	assert_int_not_equal(seq, 0);
	assert_int_equal(linked, 0);
	assert_int_equal(head(&f), from + 3); /* the receipt, then one per reply moved */
	delivery_state(&f, da, "read");
	delivery_state(&f, dc, "read");
	delivery_state(&f, db, "pending");
	delivery_state(&f, dd, "sent");
	delivery_state(&f, de, "sent");
	event_after(&f, seq, PROTO_T_MESSAGE_STATUS, &st);
	assert_string_equal(st.u.status.status, "read");
	assert_int_equal(st.u.status.message_seq, c.seq); /* newest first */
	proto_event_clear(&st);
	/* The same receipt again: nothing. */
	assert_int_equal(status_in(&f, "PSID1:read:wm", "read", NULL, NULL, "PSID1", c.ts, NULL),
			 0);
	assert_int_equal(head(&f), from + 3);
	/* An echo-like status names reply d by its id and gives its mid ... */
	assert_int_not_equal(status_in(&f, "d:delivered", "delivered", d.u.message.external_id,
				       "mid.D", "PSID1", 0, &linked), 0);
	assert_int_equal(linked, d.seq);
	delivery_state(&f, dd, "delivered");
	/* ... which now finds the reply by itself. */
	assert_int_not_equal(status_in(&f, "mid.D:read", "read", "mid.D", NULL, "PSID1", 0,
				       &linked), 0);
	assert_int_equal(linked, d.seq);
	delivery_state(&f, dd, "read");
	proto_event_clear(&a);
	proto_event_clear(&b);
	proto_event_clear(&c);
	proto_event_clear(&d);
	proto_event_clear(&e);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_ids_apart),
		cmocka_unit_test(test_reply_to_named_ticket),
		cmocka_unit_test(test_report_ref_and_statuses),
		cmocka_unit_test(test_send_template_and_chain),
		cmocka_unit_test(test_window_from_sent_at),
		cmocka_unit_test(test_watermark_and_alias),
	};
	char err[256], *scope;
	int failed;

	/* The routing defaults, without language models; each test its scope. */
	if (routing_defaults_no_lang(&routing_cfg, err, sizeof(err)) != GW_OK)
		return 1;
	scope = routing_cfg.scope;
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	routing_cfg.scope = scope;
	gw_config_routing_free(&routing_cfg);
	return failed;
}

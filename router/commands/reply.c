/*
 * reply.c - the message.send command: a reply to a customer, made durable
 * in one transaction before it is handed to a connector (deliver.c).
 *
 *   args      {command_id, ticket_id | customer_id, text?, channel?, author?,
 *             subject?, template?, attachments?, canned?, vars?, agent_id?,
 *             force?}: text, a template, a canned response or an attachment,
 *             at least one; `canned` names an automation.templates[] entry
 *             rendered with `vars` (router/templates.h) in place of text: a
 *             variable nothing defines fails the command before anything is
 *             made
 *   collision a reply naming agent_id on a ticket assigned to another agent
 *             is refused (GW_EPERM, the error names both) unless force is
 *             true: then the message.sent carries forced_over (the
 *             assignee) and a ticket.updated saying so joins the ticket's
 *             trace. A reply naming no agent is not checked (API clients
 *             and automatic messages, that reply as the business)
 *   once      command_id is kept in the dedup table under the channel
 *             "command" with the seq of the message.sent it made: the same
 *             command again answers that first result and does nothing
 *   customer  the ticket's, or the one named
 *   address   from the customer's last inbound message on the channel (by
 *             default the ticket's channel when a ticket is named, else the
 *             channel of its last inbound message at all): its sender is
 *             the address, its account the account that replies
 *   id        external_id "reply-<delivery_id>-<event id>", the event id
 *             the message.sent's own (32 random hex digits): the dedup
 *             table holds the router's ids and the connectors' in one key
 *             space, and an id a client cannot guess is one it cannot take
 *             first (which would fail every later reply as a duplicate) nor
 *             find taken (its own message dropped as a duplicate)
 *   sent      to the address; reply_to the chain of the message answered
 *             (its own reply_to, then its id last: email's References and
 *             In-Reply-To); subject the one given, else the ticket's;
 *             last_inbound_at when the customer wrote that message (the
 *             provider's sent_at, never later than received_at), for the
 *             connectors of channels that only take free-form replies
 *             within a window
 *   events    message.sent (routed as any message.sent, but filed in the
 *             named ticket: thread, ticket, ticket.updated), message.status
 *             "queued", and for the first reply of an open ticket a
 *             ticket.updated with first_response_at set (that ticket's
 *             first-response SLA clock stopped)
 *   delivery  delivery_id -> pending, until the connector reports
 */
#include "router/router.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/proto_desc.h"
#include "router/templates.h"

#define REPLY_CMD_CHANNEL "command" /* dedup namespace of command ids */
#define REPLY_MAX_COMMAND_ID 200
#define REPLY_SCAN_LAST 4096 /* newest messages of a thread looked at */
#define META_NEXT_DELIVERY "next_delivery_id"
/* WhatsApp's and Messenger's customer-service window (connectors/meta). */
#define REPLY_PROVIDER_WINDOW_MS (24LL * 3600 * 1000)

struct send_args {
	char *command_id, *text, *channel, *author, *subject, *agent_id;
	uint64_t ticket_id, customer_id;
	int force;
	struct proto_template *tmpl;    /* NULL: none */
	struct cmdarg_objs attachments; /* struct proto_attachment */
	char *canned;                   /* automation.templates[] name, NULL: none */
	struct cmdarg_strmap vars;      /* its variables */
};

/* What the customer's last inbound message says about replying to it. */
struct send_target {
	char *channel, *account, *address, *name, *external_id;
	char **chain; /* its reply_to */
	size_t chain_len;
	int64_t wrote_at; /* when the customer wrote it: reply_wrote_at() */
	int automated; /* it is an auto-reply: no automatic message answers it */
};

struct send_ctx {
	struct send_args a;
	struct send_target to;
	uint64_t delivery_id, seq;
	uint64_t ticket_id; /* the ticket the reply joined, 0: none */
	char *ticket_channel; /* the named ticket's channel, NULL: none named */
	char *ticket_subject; /* the named ticket's subject, NULL: none */
	char *assignee;       /* the named ticket's agent, NULL: none */
	int forced;           /* sent over the assignee (force: true) */
	int64_t sent_at;    /* its message.sent's ts */
	char channel[PROTO_MAX_CHANNEL + 1], account[PROTO_MAX_ACCOUNT + 1];
	const struct gw_config *cfg; /* the config in use (templates) */
	const struct reply_auto *au; /* an automatic message; NULL: a command */
	char *err;
	size_t errlen;
};

static void send_target_clear(struct send_target *t)
{
	free(t->channel);
	free(t->account);
	free(t->address);
	free(t->name);
	free(t->external_id);
	for (size_t i = 0; i < t->chain_len; i++)
		free(t->chain[i]);
	free(t->chain);
	memset(t, 0, sizeof(*t));
}

/* --- arguments --------------------------------------------------------- */

static const struct cmdarg send_spec[] = {
	{"command_id", CMDARG_STR, REPLY_MAX_COMMAND_ID, 1, offsetof(struct send_args, command_id)},
	{"text", CMDARG_STR, PROTO_MAX_TEXT, 0, offsetof(struct send_args, text)},
	{"subject", CMDARG_STR, PROTO_MAX_SUBJECT, 0, offsetof(struct send_args, subject)},
	{"template", CMDARG_OBJ, 0, 0, offsetof(struct send_args, tmpl), &proto_obj_template},
	{"attachments", CMDARG_OBJS, PROTO_MAX_ATTACHMENTS, 0,
	 offsetof(struct send_args, attachments), &proto_obj_attachment},
	{"channel", CMDARG_STR, PROTO_MAX_CHANNEL, 0, offsetof(struct send_args, channel)},
	{"author", CMDARG_STR, PROTO_MAX_NAME, 0, offsetof(struct send_args, author)},
	{"ticket_id", CMDARG_UINT, 0, 0, offsetof(struct send_args, ticket_id)},
	{"customer_id", CMDARG_UINT, 0, 0, offsetof(struct send_args, customer_id)},
	{"canned", CMDARG_STR, PROTO_MAX_AGENT, 0, offsetof(struct send_args, canned)},
	{"vars", CMDARG_STRMAP, TEMPLATES_MAX_VARS, 0, offsetof(struct send_args, vars)},
	{"agent_id", CMDARG_STR, PROTO_MAX_AGENT, 0, offsetof(struct send_args, agent_id)},
	{"force", CMDARG_BOOL, 0, 0, offsetof(struct send_args, force)},
};
#define N_SEND_SPEC (sizeof(send_spec) / sizeof(send_spec[0]))

/* parse_send_args - the arguments into c->a (free with cmdargs_free);
 * one of ticket_id and customer_id is needed, and something to send,
 * which a spec cannot say. */
static int parse_send_args(struct send_ctx *c, const void *data, size_t len)
{
	int rc = cmdargs_parse(data, len, send_spec, N_SEND_SPEC, &c->a, c->err, c->errlen);

	if (rc == GW_OK && c->a.canned && c->a.text) {
		snprintf(c->err, c->errlen, "canned: give text or a canned template, not both");
		rc = GW_EPROTO;
	}
	if (rc == GW_OK && !c->a.ticket_id && !c->a.customer_id) {
		snprintf(c->err, c->errlen, "ticket_id or customer_id: missing");
		rc = GW_EMISSING;
	}
	if (rc == GW_OK && !(c->a.text && c->a.text[0]) && !c->a.tmpl &&
	    !c->a.attachments.n && !c->a.canned) {
		snprintf(c->err, c->errlen, "text: missing (or a template, canned or attachments)");
		rc = GW_EMISSING;
	}
	return rc;
}

/* --- the customer and its address --------------------------------------- */

struct ring {
	uint64_t seq[REPLY_SCAN_LAST];
	size_t n; /* seqs seen; the last REPLY_SCAN_LAST are kept */
};

static int ring_add(void *arg, uint64_t seq)
{
	struct ring *r = arg;

	r->seq[r->n++ % REPLY_SCAN_LAST] = seq;
	return 0;
}

/* target_chain - the reply_to of `m` (the ids it answers) into t->chain. */
static int target_chain(struct send_target *t, const struct proto_message *m)
{
	if (!m->reply_to_len)
		return GW_OK;
	t->chain = calloc(m->reply_to_len, sizeof(*t->chain));
	if (!t->chain)
		return GW_ENOMEM;
	for (; t->chain_len < m->reply_to_len; t->chain_len++)
		if (!(t->chain[t->chain_len] = gw_strdup(m->reply_to[t->chain_len])))
			return GW_ENOMEM;
	return GW_OK;
}

/*
 * reply_wrote_at - when the customer wrote `m`, the start of the providers'
 * reply windows: the provider's time (sent_at) when it gave one, never
 * later than when the connector received it (a forged future timestamp
 * cannot extend a window; a webhook retried for days cannot either). A
 * message stored before sent_at existed has none: received_at.
 */
static int64_t reply_wrote_at(const struct proto_message *m)
{
	if (m->sent_at > 0 && m->sent_at < m->received_at)
		return m->sent_at;
	return m->received_at;
}

/* target_from - takes the reply's target from the inbound message `m`. */
static int target_from(struct send_target *t, const struct proto_message *m)
{
	t->wrote_at = reply_wrote_at(m);
	t->automated = m->auto_reply || m->bounce;
	if (target_chain(t, m) != GW_OK)
		return GW_ENOMEM;
	t->channel = gw_strdup(m->channel);
	t->account = gw_strdup(m->account);
	t->address = gw_strdup(m->from.address);
	t->name = gw_strdup(m->from.name);
	t->external_id = gw_strdup(m->external_id);
	if (!t->channel || !t->account || !t->address || !t->external_id ||
	    (m->from.name && !t->name))
		return GW_ENOMEM;
	return GW_OK;
}

/* inbound_at - whether the event at `seq` is an inbound message on
 * `channel` (any when NULL) from the customer; if so, it is the target. */
static int inbound_at(struct store_txn *txn, uint64_t seq, const char *channel,
		      struct send_target *t, int *found)
{
	static const char want[] = "message.received";
	struct proto_event ev;
	struct proto_error perr;
	const char *type;
	const void *data;
	size_t tlen, len;
	int rc;

	rc = store_eventlog_get(txn, seq, &type, &tlen, &data, &len);
	if (rc || tlen != sizeof(want) - 1 || memcmp(type, want, tlen) != 0)
		return rc;
	if (proto_decode(data, len, &ev, &perr) != GW_OK)
		return GW_OK; /* unreadable history is skipped, not fatal */
	if (!ev.u.message.bounce && (!channel || strcmp(ev.u.message.channel, channel) == 0)) {
		rc = target_from(t, &ev.u.message);
		*found = 1;
	}
	proto_event_clear(&ev);
	return rc;
}

/* find_target - the customer's last inbound message on a.channel if set,
 * else on the named ticket's channel, else on any. */
static int find_target(struct send_ctx *c, struct store_txn *txn, uint64_t customer_id,
		       uint64_t thread_id)
{
	const char *channel = c->a.channel ? c->a.channel : c->ticket_channel;
	struct ring *r = calloc(1, sizeof(*r));
	int rc, found = 0;

	if (!r)
		return GW_ENOMEM;
	rc = store_thread_scan(txn, thread_id, SIZE_MAX, ring_add, r);
	for (size_t i = 0; rc == GW_OK && !found && i < r->n && i < REPLY_SCAN_LAST; i++)
		rc = inbound_at(txn, r->seq[(r->n - 1 - i) % REPLY_SCAN_LAST], channel,
				&c->to, &found);
	free(r);
	if (rc == GW_OK && !found) {
		snprintf(c->err, c->errlen, "customer %llu has no known address%s%s: no inbound "
			 "message to reply to", (unsigned long long)customer_id,
			 channel ? " on channel " : "", channel ? channel : "");
		rc = GW_EINVAL;
	}
	return rc;
}

/* resolve_customer - the customer the command names, into `cust`; a
 * ticket named, its channel into c->ticket_channel. */
static int resolve_customer(struct send_ctx *c, struct store_txn *txn,
			    struct proto_customer *cust)
{
	uint64_t id = c->a.customer_id;
	int rc;

	if (c->a.ticket_id) {
		struct proto_ticket t;

		memset(&t, 0, sizeof(t));
		rc = store_ticket_get(txn, c->a.ticket_id, &t);
		id = t.customer_id;
		if (rc == GW_OK && t.channel && !(c->ticket_channel = gw_strdup(t.channel)))
			rc = GW_ENOMEM;
		if (rc == GW_OK && t.subject && !(c->ticket_subject = gw_strdup(t.subject)))
			rc = GW_ENOMEM;
		if (rc == GW_OK && t.agent_id && !(c->assignee = gw_strdup(t.agent_id)))
			rc = GW_ENOMEM;
		proto_ticket_clear(&t);
		if (rc == GW_ENOTFOUND)
			snprintf(c->err, c->errlen, "no ticket %llu",
				 (unsigned long long)c->a.ticket_id);
		if (rc)
			return rc;
	}
	rc = store_customer_get(txn, id, cust);
	if (rc == GW_ENOTFOUND)
		snprintf(c->err, c->errlen, "no customer %llu", (unsigned long long)id);
	return rc;
}

/*
 * check_collision - an agent replying on a ticket assigned to another one:
 * refused (GW_EPERM, with words) unless forced, then c->forced is set.
 */
static int check_collision(struct send_ctx *c)
{
	if (!c->a.agent_id || !c->a.agent_id[0] || !c->assignee ||
	    strcmp(c->a.agent_id, c->assignee) == 0)
		return GW_OK;
	if (c->a.force) {
		c->forced = 1;
		return GW_OK;
	}
	snprintf(c->err, c->errlen, "ticket %llu is assigned to %s, not %s: reply refused "
		 "(force: true sends it anyway)", (unsigned long long)c->a.ticket_id,
		 c->assignee, c->a.agent_id);
	return GW_EPERM;
}

/* --- the transaction ----------------------------------------------------- */

/* first_result - the result of the command that made message `seq`. */
static int first_result(struct send_ctx *c, struct store_txn *txn, uint64_t seq)
{
	struct proto_event ev;
	unsigned long long id = 0;
	int rc;

	rc = store_eventlog_decode(txn, seq, &ev);
	if (rc)
		return rc;
	if (ev.type != PROTO_T_MESSAGE_SENT ||
	    sscanf(ev.u.message.external_id, "reply-%llu", &id) != 1) {
		snprintf(c->err, c->errlen, "command_id names event %llu, not a reply",
			 (unsigned long long)seq);
		rc = GW_EPROTO;
	} else {
		c->seq = seq;
		c->delivery_id = id;
		snprintf(c->channel, sizeof(c->channel), "%s", ev.u.message.channel);
		snprintf(c->account, sizeof(c->account), "%s", ev.u.message.account);
	}
	proto_event_clear(&ev);
	return rc;
}

/* sent_chain - reply_to of the reply: the answered message's own chain
 * (its newest entries when it is long), then its id last. */
static int sent_chain(const struct send_ctx *c, struct proto_message *m)
{
	size_t keep = c->to.chain_len < PROTO_MAX_REPLY_TO - 1 ? c->to.chain_len
							       : PROTO_MAX_REPLY_TO - 1;
	size_t from = c->to.chain_len - keep;

	m->reply_to = calloc(keep + 1, sizeof(*m->reply_to));
	if (!m->reply_to)
		return GW_ENOMEM;
	for (size_t i = 0; i < keep; i++)
		if (!(m->reply_to[m->reply_to_len++] = gw_strdup(c->to.chain[from + i])))
			return GW_ENOMEM;
	if (!(m->reply_to[m->reply_to_len++] = gw_strdup(c->to.external_id)))
		return GW_ENOMEM;
	return GW_OK;
}

/* template_text - what a template reply says in the history when the
 * agent wrote no text: "[template NAME (LANG)]". */
static char *template_text(const struct proto_template *t)
{
	char buf[PROTO_MAX_SHORT + 64];

	snprintf(buf, sizeof(buf), "[template %s (%s)]", t->name, t->language);
	gw_utf8_trim(buf);
	return gw_strdup(buf);
}

/* sent_content - text, subject, template and attachments, moved from the
 * arguments (they are freed with the event). */
static int sent_content(struct send_ctx *c, struct proto_message *m)
{
	const char *subject = c->a.subject ? c->a.subject : c->ticket_subject;

	if (c->a.text && (c->a.text[0] || !c->a.tmpl))
		m->text = gw_strdup(c->a.text);
	else if (c->a.tmpl)
		m->text = template_text(c->a.tmpl);
	else
		m->text = gw_strdup("");
	if (!m->text || (subject && !(m->subject = gw_strdup(subject))))
		return GW_ENOMEM;
	m->tmpl = c->a.tmpl;
	c->a.tmpl = NULL;
	m->attachments = c->a.attachments.v;
	m->attachments_len = c->a.attachments.n;
	memset(&c->a.attachments, 0, sizeof(c->a.attachments));
	return GW_OK;
}

/* fill_sent - the message.sent of the reply, to the target. */
static int fill_sent(struct send_ctx *c, struct proto_event *ev)
{
	struct proto_message *m = &ev->u.message;
	char ext[64];

	snprintf(ext, sizeof(ext), "reply-%llu-%s", (unsigned long long)c->delivery_id, ev->id);
	m->channel = gw_strdup(c->to.channel);
	m->account = gw_strdup(c->to.account);
	m->external_id = gw_strdup(ext);
	m->received_at = gw_now_ms();
	m->last_inbound_at = c->to.wrote_at;
	m->from.address = gw_strdup(c->to.account);
	m->from.name = gw_strdup(c->a.author);
	m->direction = gw_strdup("outbound");
	m->to = calloc(1, sizeof(*m->to));
	if (c->au && !(m->automatic = gw_strdup(c->au->automatic)))
		return GW_ENOMEM;
	if (!m->channel || !m->account || !m->external_id || !m->from.address ||
	    !m->direction || !m->to || (c->a.author && !m->from.name))
		return GW_ENOMEM;
	m->to->address = gw_strdup(c->to.address);
	m->to->name = gw_strdup(c->to.name);
	if (!m->to->address || (c->to.name && !m->to->name) || sent_chain(c, m) != GW_OK)
		return GW_ENOMEM;
	if (c->a.agent_id && c->a.agent_id[0] && !(m->agent_id = gw_strdup(c->a.agent_id)))
		return GW_ENOMEM;
	if (c->forced && !(m->forced_over = gw_strdup(c->assignee)))
		return GW_ENOMEM;
	return sent_content(c, m);
}

/* emit_reply - message.sent, the delivery record, message.status queued. */
static int emit_reply(struct send_ctx *c, struct batch *b)
{
	struct store_delivery dv;
	struct proto_event ev;
	enum route_result res = ROUTE_DUPLICATE;
	int rc;

	rc = proto_event_init(&ev, PROTO_T_MESSAGE_SENT);
	if (rc == GW_OK)
		rc = fill_sent(c, &ev);
	if (rc == GW_OK)
		rc = route_reply(b, &ev, c->a.ticket_id, &res);
	if (rc == GW_OK && res != ROUTE_STORED)
		rc = GW_EEXIST; /* a random id taken: the event ids repeat */
	c->seq = ev.seq;
	c->ticket_id = ev.u.message.ticket_id;
	c->sent_at = ev.ts;
	proto_event_clear(&ev);
	if (rc)
		return rc;
	memset(&dv, 0, sizeof(dv));
	dv.delivery_id = c->delivery_id;
	dv.seq = c->seq;
	dv.created_at = gw_now_ms();
	snprintf(dv.state, sizeof(dv.state), "pending");
	snprintf(dv.channel, sizeof(dv.channel), "%s", c->to.channel);
	snprintf(dv.account, sizeof(dv.account), "%s", c->to.account);
	rc = store_delivery_put(b->txn, &dv);
	if (rc == GW_OK)
		rc = deliver_emit_status(b, &dv, "queued", NULL, NULL, &res);
	memcpy(c->channel, dv.channel, sizeof(c->channel));
	memcpy(c->account, dv.account, sizeof(c->account));
	return rc;
}

/*
 * first_reply - the reply joined a ticket: when the ticket is open and this
 * is its first reply, it stops the first-response clock (sla.c); any later
 * reply stops a next-response clock. The ticket says so in a
 * ticket.updated. A reply forced over the assignee is said in that
 * ticket.updated's cause, indexed in the ticket's trace. A closed ticket's
 * clocks stopped when it closed.
 */
static int first_reply(struct send_ctx *c, struct batch *b)
{
	char cause[PROTO_MAX_SHORT + 1];
	struct proto_ticket t;
	int changed = 0, rc;

	if (!c->ticket_id)
		return GW_OK;
	memset(&t, 0, sizeof(t));
	rc = store_ticket_get(b->txn, c->ticket_id, &t);
	if (rc == GW_OK && t.status && strcmp(t.status, "open") == 0)
		rc = sla_reply(b, &t, c->sent_at, &changed);
	if (rc == GW_OK && (changed || c->forced)) {
		if (c->forced) {
			snprintf(cause, sizeof(cause), "command %s: reply by %s forced over "
				 "assignee %s", c->a.command_id, c->a.agent_id, c->assignee);
			gw_utf8_trim(cause);
		}
		rc = store_ticket_put(b->txn, &t);
		if (rc == GW_OK)
			rc = route_emit_ticket(b, PROTO_T_TICKET_UPDATED, &t,
					       c->forced ? cause : NULL);
		if (rc == GW_OK && c->forced)
			rc = store_ticket_trace_append(b->txn, t.ticket_id, b->head);
	}
	proto_ticket_clear(&t);
	return rc;
}

/* --- canned responses and automatic messages ------------------------------ */

/*
 * render_canned - the text (and subject, unless one was given) of template
 * c->a.canned for the ticket named (if any) and customer `cust`, in the
 * ticket's language, else the customer's. A variable nothing defines:
 * GW_EMISSING, nothing sent.
 */
static int render_canned(struct send_ctx *c, struct batch *b, const struct proto_customer *cust)
{
	struct templates_ctx x = {&c->cfg->automation, b->rt, NULL, cust, c->to.name,
				  c->a.author, (const char *const *)c->a.vars.kv, c->a.vars.n,
				  gw_now_ms()};
	struct proto_ticket t;
	char *text = NULL, *subject = NULL;
	int rc = GW_OK;

	memset(&t, 0, sizeof(t));
	if (c->a.ticket_id)
		rc = store_ticket_get(b->txn, c->a.ticket_id, &t);
	if (rc == GW_OK && c->a.ticket_id)
		x.ticket = &t;
	if (rc == GW_OK)
		rc = templates_render(&x, c->a.canned, t.language ? t.language : cust->language,
				      &text, &subject, c->err, c->errlen);
	if (rc == GW_OK) {
		free(c->a.text);
		c->a.text = text;
		if (!c->a.subject) {
			c->a.subject = subject;
			subject = NULL;
		}
	}
	free(subject);
	proto_ticket_clear(&t);
	return rc;
}

/*
 * auto_policy - whether an automatic message may go now: never to an
 * address whose last message was an auto-reply (a loop), and only as the
 * provider allows:
 * WhatsApp, Messenger and Instagram take free text only within 24 h of the
 * customer's last message; past it WhatsApp takes the rule's approved
 * template, and without one the message is not sent (GW_EPERM, `err`
 * says why).
 */
static int auto_policy(struct send_ctx *c)
{
	int64_t age = gw_now_ms() - c->to.wrote_at;
	const struct reply_auto *au = c->au;
	int wa = strcmp(c->to.channel, "whatsapp") == 0;

	if (c->to.automated) {
		snprintf(c->err, c->errlen, "the customer's last message on %s is an auto-reply: "
			 "no automatic message answers an automated sender", c->to.channel);
		return GW_EPERM;
	}
	if ((!wa && strcmp(c->to.channel, "messenger") != 0 &&
	     strcmp(c->to.channel, "instagram") != 0) || age <= REPLY_PROVIDER_WINDOW_MS)
		return GW_OK;
	if (!wa || !au->wa_template || !au->wa_template[0]) {
		snprintf(c->err, c->errlen, "%s: the customer wrote %lld h ago, outside the "
			 "provider's 24 h window, and %s", c->to.channel, (long long)(age / 3600000),
			 wa ? "no whatsapp_template is set" : "the channel takes no template");
		return GW_EPERM;
	}
	c->a.tmpl = calloc(1, sizeof(*c->a.tmpl));
	if (!c->a.tmpl)
		return GW_ENOMEM;
	c->a.tmpl->name = gw_strdup(au->wa_template);
	c->a.tmpl->language = gw_strdup(au->wa_language && au->wa_language[0] ? au->wa_language
									 : "en");
	return c->a.tmpl->name && c->a.tmpl->language ? GW_OK : GW_ENOMEM;
}

/* --- the transaction (continued) ------------------------------------------ */

/* send_made - customer, address, content, delivery id and events: what a
 * command and an automatic message share. */
static int send_made(struct send_ctx *c, struct batch *b)
{
	struct proto_customer cust;
	uint64_t next;
	int rc;

	memset(&cust, 0, sizeof(cust));
	rc = resolve_customer(c, b->txn, &cust);
	if (rc == GW_OK)
		rc = check_collision(c);
	if (rc == GW_OK)
		rc = find_target(c, b->txn, cust.customer_id, cust.thread_id);
	if (rc == GW_OK && c->a.canned)
		rc = render_canned(c, b, &cust);
	if (rc == GW_OK && c->au)
		rc = auto_policy(c);
	proto_customer_clear(&cust);
	if (rc == GW_OK)
		rc = store_meta_get(b->txn, META_NEXT_DELIVERY, &next);
	if (rc)
		return rc;
	c->delivery_id = next ? next : 1;
	rc = store_meta_put(b->txn, META_NEXT_DELIVERY, c->delivery_id + 1);
	if (rc == GW_OK)
		rc = emit_reply(c, b);
	return rc;
}

static int send_in_txn(struct batch *b, void *arg)
{
	struct send_ctx *c = arg;
	uint64_t seq;
	int rc;

	rc = store_dedup_get(b->txn, REPLY_CMD_CHANNEL, "", c->a.command_id, &seq);
	if (rc == GW_OK)
		return first_result(c, b->txn, seq); /* nothing emitted: no commit */
	if (rc != GW_ENOTFOUND)
		return rc;
	rc = send_made(c, b);
	if (rc == GW_OK)
		rc = first_reply(c, b);
	if (rc == GW_OK)
		rc = store_dedup_put(b->txn, REPLY_CMD_CHANNEL, "", c->a.command_id, c->seq);
	return rc;
}

static void send_ctx_clear(struct send_ctx *c)
{
	cmdargs_free(send_spec, N_SEND_SPEC, &c->a);
	send_target_clear(&c->to);
	free(c->ticket_channel);
	free(c->ticket_subject);
	free(c->assignee);
}

int reply_auto_send(struct batch *b, const struct gw_config *cfg, const struct reply_auto *au,
		    uint64_t *delivery_id, uint64_t *seq, char *err, size_t errlen)
{
	struct send_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.err = err;
	c.errlen = errlen;
	c.cfg = cfg;
	c.au = au;
	err[0] = '\0';
	c.a.ticket_id = au->ticket_id;
	c.a.canned = gw_strdup(au->template_name);
	rc = c.a.canned ? send_made(&c, b) : GW_ENOMEM;
	*delivery_id = c.delivery_id;
	*seq = c.seq;
	send_ctx_clear(&c);
	return rc;
}

static void pack_result(const struct send_ctx *c, msgpack_sbuffer *out)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4);
	cmdans_u64(&pk, "delivery_id", c->delivery_id);
	cmdans_u64(&pk, "seq", c->seq);
	cmdans_str(&pk, "channel", c->channel);
	cmdans_str(&pk, "account", c->account);
}

int reply_message_send(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
		       uint64_t *delivery_id, char *err, size_t errlen)
{
	struct send_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.err = err;
	c.errlen = errlen;
	c.cfg = router_config(r);
	err[0] = '\0';
	*delivery_id = 0;
	rc = parse_send_args(&c, args, len);
	if (rc == GW_OK)
		rc = router_txn(r, send_in_txn, &c);
	if (rc == GW_OK) {
		pack_result(&c, out);
		*delivery_id = c.delivery_id;
		GW_INFO("router", "message.send %s: delivery %llu, seq %llu, %s/%s",
			c.a.command_id, (unsigned long long)c.delivery_id,
			(unsigned long long)c.seq, c.channel, c.account);
	} else if (!err[0]) {
		snprintf(err, errlen, "message.send failed: %s", gw_strerror(rc));
	}
	send_ctx_clear(&c);
	return rc;
}

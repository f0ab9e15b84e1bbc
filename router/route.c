/*
 * route.c - which events the ingest accepts, and what happens to one
 * message inside the batch's transaction.
 *
 * message.received (inbound, from the customer):
 *   dedup      (channel, account, external_id) seen before -> "duplicate"
 *   customer   one per (channel, sender address) for now; created on the
 *              first message, with one thread holding all its messages
 *   ticket     the customer's open ticket, or a new one opened by this message;
 *              an auto-reply or a bounce none but the one its ids name, as
 *              it is (thread_automated)
 *   events     customer.created (new customer), ticket.created (new ticket),
 *              message.received (with customer_id, thread_id, ticket_id), and
 *              ticket.updated when the message joined an existing ticket
 * message.sent (outbound, to the customer, e.g. a page's echo):
 *   dedup      as above, in the same table
 *   customer   the recipient (channel, to.address), created if unknown
 *   ticket     the customer's open ticket in the channel's scope, if any
 *              (thread_open_ticket), or for a reply the router made
 *              (route_reply) the ticket it answers; an outbound message
 *              never opens or reopens a ticket and is not a customer message
 *   events     customer.created (new customer), message.sent, and
 *              ticket.updated when it joined a ticket
 * message.status, message.edited, message.deleted: route_update.c.
 * chat.typing (a customer typing, rate-limited by its connector):
 *   published as it came (in the event log, for consumers that replay),
 *   nothing else: no dedup entry, no customer, ticket or message record.
 */
#include "router/router.h"
#include "router/rules/autoreply.h"

#include <stdio.h>
#include <ctype.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

int route_next_id(struct batch *b, const char *counter, uint64_t *id)
{
	uint64_t v;
	int rc = store_meta_get(b->txn, counter, &v);

	if (rc)
		return rc;
	*id = v ? v : 1;
	return store_meta_put(b->txn, counter, *id + 1);
}

int route_emit_customer(struct batch *b, enum proto_type type, const struct proto_customer *c)
{
	struct proto_event ev;
	int rc = proto_event_init(&ev, type);

	if (rc)
		return rc;
	/* Borrow the strings: the event is cleared by hand, not freed. */
	ev.u.customer = *c;
	rc = batch_emit(b, &ev);
	memset(&ev.u.customer, 0, sizeof(ev.u.customer));
	proto_event_clear(&ev);
	return rc;
}

int route_emit_ticket(struct batch *b, enum proto_type type, struct proto_ticket *t,
		      const char *cause)
{
	struct proto_event ev;
	int rc;

	if (cause) {
		char *copy = gw_strdup(cause);

		if (!copy)
			return GW_ENOMEM;
		free(t->cause);
		t->cause = copy;
	}
	rc = proto_event_init(&ev, type);
	if (rc)
		return rc;
	ev.u.ticket = *t;
	rc = batch_emit(b, &ev);
	memset(&ev.u.ticket, 0, sizeof(ev.u.ticket));
	/* A ticket's own steps make its trace; its messages are listed apart. */
	if (rc == GW_OK && type != PROTO_T_TICKET_UPDATED)
		rc = store_ticket_trace_append(b->txn, t->ticket_id, ev.seq);
	proto_event_clear(&ev);
	return rc;
}

static int dedup_record(struct batch *b, const struct proto_event *msg);

/* ticket_add_channel - lists `channel` among the ticket's channels. */
static int ticket_add_channel(struct proto_ticket *t, const char *channel)
{
	char **v;

	for (size_t i = 0; i < t->channels_len; i++)
		if (strcmp(t->channels[i], channel) == 0)
			return GW_OK;
	if (t->channels_len >= PROTO_MAX_TICKET_CHANNELS)
		return GW_OK;
	v = realloc(t->channels, (t->channels_len + 1) * sizeof(*v));
	if (!v)
		return GW_ENOMEM;
	t->channels = v;
	v[t->channels_len] = gw_strdup(channel);
	if (!v[t->channels_len])
		return GW_ENOMEM;
	t->channels_len++;
	return GW_OK;
}

/* ticket_count_message - `t`'s record counts the customer's message `m`:
 * its channel, message_count and duplicate_count. */
static int ticket_count_message(struct proto_ticket *t, const struct proto_message *m)
{
	int rc = ticket_add_channel(t, m->channel);

	if (rc)
		return rc;
	t->message_count++;
	if (m->duplicate_of)
		t->duplicate_count++;
	return GW_OK;
}

/*
 * join_rules - a customer message joined open ticket `t`: the tag rules
 * `on: message` (a priority they raise counts the SLA targets again), then
 * the next-response clock. `why` is the cause when a rule changed the
 * ticket, else "".
 */
static int join_rules(struct batch *b, struct proto_ticket *t, const struct proto_event *msg,
		      const struct proto_customer *c, char *why, size_t whylen)
{
	const struct proto_message *m = &msg->u.message;
	int changed = 0, rc;

	snprintf(why, whylen, "message %s on %s", m->external_id, m->channel);
	rc = tagging_apply(b, t, m, c, 0, why, whylen, &changed);
	if (rc == GW_OK && (changed & TAGGING_PRIORITY))
		rc = sla_retarget(b, t);
	if (rc == GW_OK)
		rc = sla_inbound(b, t, msg->ts);
	if (!changed)
		why[0] = '\0';
	return rc;
}

/* file_message - emits message.received and indexes it in thread and
 * ticket; updates and stores both records. A ticket the message opened or
 * reopened counted it already (announce_ticket). */
static int file_message(struct batch *b, struct proto_event *msg, struct proto_customer *c,
			struct proto_ticket *t, const struct placement *p)
{
	struct proto_message *m = &msg->u.message;
	int announced = p->opened || p->reopened, stale = 0;
	char why[PROTO_MAX_SHORT + 1] = "";
	int rc;

	m->customer_id = c->customer_id;
	m->thread_id = c->thread_id;
	m->ticket_id = t->ticket_id;
	rc = batch_emit(b, msg);
	if (rc)
		return rc;
	rc = dedup_record(b, msg);
	if (rc == GW_OK)
		rc = store_thread_append(b->txn, c->thread_id, msg->seq);
	if (rc == GW_OK)
		rc = store_ticket_msg_append(b->txn, t->ticket_id, msg->seq);
	if (rc == GW_OK)
		rc = thread_filed(b, msg, c, t);
	if (rc == GW_OK && !announced) {
		rc = ticket_count_message(t, m);
		t->updated_at = msg->ts;
	}
	if (rc == GW_OK && !announced)
		rc = join_rules(b, t, msg, c, why, sizeof(why));
	if (rc)
		return rc;
	/* The announcement named this message's seq in advance; should it
	 * ever miss, a ticket.updated below sets the record right. */
	stale = announced && t->last_message_seq != msg->seq;
	t->last_message_seq = msg->seq;
	c->message_count++;
	c->updated_at = msg->ts;
	rc = store_ticket_put(b->txn, t);
	if (rc == GW_OK)
		rc = store_customer_put(b->txn, c);
	/* A ticket opened or reopened by this message was announced already,
	 * complete; one that was open tells its consumers it changed. */
	if (rc == GW_OK && (!announced || stale))
		rc = route_emit_ticket(b, PROTO_T_TICKET_UPDATED, t, why[0] ? why : NULL);
	return rc;
}

/*
 * announce_ticket - a ticket the message opened or reopened: queue, agent
 * and SLA clocks first, then ticket.created or ticket.reopened, and
 * ticket.assigned when an agent took it. The record they carry already
 * counts the message, which file_message emits right after them: its
 * channel, message_count and, as the next seq of the batch, last_message_seq
 * (no later event would carry them otherwise).
 */
static int announce_ticket(struct batch *b, struct proto_message *m,
			   struct proto_customer *c, struct proto_ticket *t,
			   const struct placement *p)
{
	int64_t assigned_before = t->assigned_at;
	char cause[PROTO_MAX_SHORT + 1];
	int rc, assigned, tagged;

	snprintf(cause, sizeof(cause), "message %s on %s", m->external_id, m->channel);
	/* The rules that read the language (queues, agents) run here only: a
	 * message joining an open ticket is not worth the detection's cost. */
	rc = routing_detect_language(b->rt, m);
	if (rc)
		return rc;
	if (p->opened && m->language && !t->language) {
		t->language = gw_strdup(m->language);
		if (!t->language)
			return GW_ENOMEM;
	}
	rc = assign_ticket(b, t, m, c);
	if (rc == GW_OK) /* before the clocks: a priority it raises sets their targets */
		rc = tagging_apply(b, t, m, c, 1, cause, sizeof(cause), &tagged);
	if (rc == GW_OK)
		rc = sla_start(b, t, gw_now_ms());
	if (rc == GW_OK)
		rc = ticket_count_message(t, m);
	if (rc)
		return rc;
	if (p->opened)
		c->ticket_count++;
	assigned = t->agent_id && t->assigned_at != assigned_before;
	t->last_message_seq = b->head + 2 + (assigned ? 1 : 0);
	rc = route_emit_ticket(b, p->opened ? PROTO_T_TICKET_CREATED : PROTO_T_TICKET_REOPENED, t,
			       cause);
	if (rc == GW_OK && assigned)
		rc = route_emit_ticket(b, PROTO_T_TICKET_ASSIGNED, t, NULL);
	return rc;
}

/*
 * join_open_ticket - the outbound or automated message `msg` joins ticket
 * `t` (open, or the one a reply of route_reply answers or an automated
 * message names, open or closed):
 * its history, count and time, then ticket.updated. last_message_seq stays
 * the customer's last message.
 */
static int join_open_ticket(struct batch *b, const struct proto_event *msg, struct proto_ticket *t)
{
	int rc = store_ticket_msg_append(b->txn, t->ticket_id, msg->seq);

	if (rc)
		return rc;
	t->message_count++;
	t->updated_at = msg->ts;
	rc = store_ticket_put(b->txn, t);
	if (rc == GW_OK)
		rc = route_emit_ticket(b, PROTO_T_TICKET_UPDATED, t, NULL);
	return rc;
}

/*
 * file_in_thread - emits `msg` (a message.sent, or an automated
 * message.received) and indexes it in the customer's thread and, when
 * t->ticket_id is set, that ticket; stores a customer it created. The
 * customer's counters are of the messages it wrote itself: unchanged.
 */
static int file_in_thread(struct batch *b, struct proto_event *msg, struct proto_customer *c,
			 int created, struct proto_ticket *t)
{
	struct proto_message *m = &msg->u.message;
	int rc;

	m->customer_id = c->customer_id;
	m->thread_id = c->thread_id;
	m->ticket_id = t->ticket_id;
	rc = batch_emit(b, msg);
	if (rc == GW_OK)
		rc = dedup_record(b, msg);
	if (rc == GW_OK)
		rc = store_thread_append(b->txn, c->thread_id, msg->seq);
	if (rc == GW_OK && created)
		rc = store_customer_put(b->txn, c);
	if (rc == GW_OK && t->ticket_id)
		rc = join_open_ticket(b, msg, t);
	return rc;
}

/*
 * dedup_identity - what identifies a message for dedup: (account,
 * external_id) within its channel, or (any account, dedup_key) when the
 * connector gave a key that is the same in every account (an email's
 * Message-ID delivered to two mailboxes).
 */
static void dedup_identity(const struct proto_message *m, const char **account, const char **id)
{
	*account = m->dedup_key ? "" : m->account;
	*id = m->dedup_key ? m->dedup_key : m->external_id;
}

/* dedup_record - the message at msg->seq now holds its dedup identity. */
static int dedup_record(struct batch *b, const struct proto_event *msg)
{
	const char *account, *id;

	dedup_identity(&msg->u.message, &account, &id);
	return store_dedup_put_ref(b->txn, msg->u.message.channel, account, id, msg->seq,
				   msg->u.message.ticket_id);
}

/* dedup_seen - whether the message's key is taken (*seen), or an error. */
static int dedup_seen(struct batch *b, const struct proto_message *m, int *seen)
{
	const char *account, *id;
	uint64_t seq;
	int rc;

	dedup_identity(m, &account, &id);
	rc = store_dedup_get(b->txn, m->channel, account, id, &seq);

	*seen = rc == GW_OK;
	return rc == GW_ENOTFOUND ? GW_OK : rc;
}

/* sent_ticket - the ticket an outbound message to customer `c` joins:
 * ticket `named` when it is c's (open or closed), else c's open ticket in
 * the channel's scope; t->ticket_id 0 for none. */
static int sent_ticket(struct batch *b, const struct proto_customer *c, const char *channel,
		       uint64_t named, struct proto_ticket *t)
{
	int rc = named ? store_ticket_get(b->txn, named, t) : GW_ENOTFOUND;

	if (rc == GW_OK && t->customer_id == c->customer_id)
		return GW_OK;
	proto_ticket_clear(t);
	memset(t, 0, sizeof(*t));
	if (rc != GW_OK && rc != GW_ENOTFOUND)
		return rc;
	return thread_open_ticket(b, c, channel, t);
}

/* route_sent - an outbound message (message.sent), `named` as route_reply. */
static int route_sent(struct batch *b, struct proto_event *msg, uint64_t named,
		      enum route_result *result)
{
	struct proto_message *m = &msg->u.message;
	struct proto_customer c;
	struct proto_ticket t;
	int rc, seen, created = 0;

	memset(&c, 0, sizeof(c));
	memset(&t, 0, sizeof(t));
	rc = dedup_seen(b, m, &seen);
	if (rc || seen) {
		*result = ROUTE_DUPLICATE;
		return rc;
	}
	/* An absent direction reads "inbound": state it on the event. */
	if (!m->direction) {
		m->direction = gw_strdup("outbound");
		if (!m->direction)
			return GW_ENOMEM;
	}
	rc = identity_resolve(b, m->channel, m->to, &c, &created);
	if (rc == GW_OK)
		rc = sent_ticket(b, &c, m->channel, named, &t);
	if (rc == GW_OK)
		rc = file_in_thread(b, msg, &c, created, &t);
	if (rc == GW_OK)
		*result = ROUTE_STORED;
	proto_customer_clear(&c);
	proto_ticket_clear(&t);
	return rc;
}

/* route_received - an inbound message (message.received). */
static int route_received(struct batch *b, struct proto_event *msg, enum route_result *result)
{
	struct proto_message *m = &msg->u.message;
	struct placement p = {0, 0};
	struct proto_customer c;
	struct proto_ticket t;
	int rc, seen, created, rated = 0;

	memset(&c, 0, sizeof(c));
	memset(&t, 0, sizeof(t));
	rc = dedup_seen(b, m, &seen);
	if (rc || seen) {
		*result = ROUTE_DUPLICATE;
		return rc;
	}
	rc = identity_resolve(b, m->channel, &m->from, &c, &created);
	if (rc == GW_OK && (m->auto_reply || m->bounce)) {
		/* An auto-reply or a bounce goes into the sender's thread and
		 * the ticket it concerns, as that ticket is: it never opens or
		 * reopens one, since answering it would start a mail loop. */
		rc = thread_automated(b, msg, &c, &t);
		if (rc == GW_OK)
			rc = file_in_thread(b, msg, &c, created, &t);
		goto out;
	}
	/* A rating answering a closed ticket's survey stays in that ticket
	 * (router/rules/csat.c): no threading, no reopening. */
	if (rc == GW_OK)
		rc = csat_rating(b, msg, &c, &t, &rated);
	if (rc == GW_OK && rated) {
		rc = file_in_thread(b, msg, &c, created, &t);
		if (rc == GW_OK)
			rc = route_emit_ticket(b, PROTO_T_TICKET_RATED, &t, NULL);
		goto out;
	}
	if (rc == GW_OK)
		rc = thread_place(b, msg, &c, &t, &p);
	if (rc == GW_OK && (p.opened || p.reopened))
		rc = announce_ticket(b, m, &c, &t, &p);
	if (rc == GW_OK && p.opened)
		rc = autoreply_ticket_opened(b, &t);
	if (rc == GW_OK)
		rc = file_message(b, msg, &c, &t, &p);
out:
	if (rc == GW_OK)
		*result = ROUTE_STORED;
	proto_customer_clear(&c);
	proto_ticket_clear(&t);
	return rc;
}

int route_message(struct batch *b, struct proto_event *msg, enum route_result *result)
{
	if (msg->type == PROTO_T_MESSAGE_SENT)
		return route_sent(b, msg, 0, result);
	return route_received(b, msg, result);
}

int route_reply(struct batch *b, struct proto_event *msg, uint64_t ticket_id,
		enum route_result *result)
{
	return route_sent(b, msg, ticket_id, result);
}

/*
 * The ingest's rules: the event types it accepts, the one direction a
 * message of that type may state, and whether it must name its recipient.
 */
struct route_rule {
	enum proto_type type;
	const char *direction; /* NULL: not a message */
	int needs_to;
	int (*route)(struct batch *b, struct proto_event *ev, enum route_result *result);
};

/* route_typing - a chat.typing is only published (see the top). */
static int route_typing(struct batch *b, struct proto_event *ev, enum route_result *result)
{
	*result = ROUTE_STORED;
	return batch_emit(b, ev);
}

static const struct route_rule route_rules[] = {
	{ PROTO_T_MESSAGE_RECEIVED, "inbound", 0, route_message },
	{ PROTO_T_MESSAGE_SENT, "outbound", 1, route_message },
	{ PROTO_T_MESSAGE_STATUS, NULL, 0, route_status },
	{ PROTO_T_MESSAGE_EDITED, NULL, 0, route_change },
	{ PROTO_T_MESSAGE_DELETED, NULL, 0, route_change },
	{ PROTO_T_CHAT_TYPING, NULL, 0, route_typing },
};

static const struct route_rule *route_rule_of(enum proto_type type)
{
	for (size_t i = 0; i < sizeof(route_rules) / sizeof(route_rules[0]); i++)
		if (route_rules[i].type == type)
			return &route_rules[i];
	return NULL;
}

int route_check(const struct proto_event *ev, char *reason, size_t size)
{
	const struct route_rule *rule = route_rule_of(ev->type);
	const struct proto_message *m = &ev->u.message;

	if (!rule) {
		snprintf(reason, size, "type %s is not accepted on ingest", proto_type_name(ev->type));
		return GW_ETYPE;
	}
	if (!rule->direction)
		return GW_OK;
	if (m->direction && strcmp(m->direction, rule->direction) != 0) {
		snprintf(reason, size, "direction: a %s must be %s", proto_type_name(ev->type),
			 rule->direction);
		return GW_EPROTO;
	}
	if (rule->needs_to && !m->to) {
		snprintf(reason, size, "to: missing (a %s names its recipient)",
			 proto_type_name(ev->type));
		return GW_EMISSING;
	}
	return GW_OK;
}

int route_event(struct batch *b, struct proto_event *ev, enum route_result *result)
{
	const struct route_rule *rule = route_rule_of(ev->type);

	if (!rule)
		return GW_EINVAL;
	return rule->route(b, ev, result);
}

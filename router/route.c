/*
 * route.c - what happens to one inbound message, inside the batch's
 * transaction:
 *
 *   dedup      (channel, account, external_id) seen before -> "duplicate"
 *   customer   one per (channel, sender address) for now; created on the
 *              first message, with one thread holding all its messages
 *   ticket     the customer's open ticket, or a new one opened by this message
 *   events     customer.created (new customer), ticket.created (new ticket),
 *              message.received (with customer_id, thread_id, ticket_id), and
 *              ticket.updated when the message joined an existing ticket
 */
#include "router/router.h"

#include <string.h>

#include "gateway/err.h"
#include "gateway/util.h"

/* meta counters of the id spaces; each starts at 1 */
#define META_NEXT_CUSTOMER "next_customer_id"
#define META_NEXT_THREAD "next_thread_id"
#define META_NEXT_TICKET "next_ticket_id"

static int next_id(struct store_txn *txn, const char *name, uint64_t *id)
{
	uint64_t v;
	int rc = store_meta_get(txn, name, &v);

	if (rc)
		return rc;
	*id = v ? v : 1;
	return store_meta_put(txn, name, *id + 1);
}

static int emit_customer_created(struct batch *b, const struct proto_customer *c)
{
	struct proto_event ev;
	int rc = proto_event_init(&ev, PROTO_T_CUSTOMER_CREATED);

	if (rc)
		return rc;
	/* Borrow the strings: the event is cleared by hand, not freed. */
	ev.u.customer = *c;
	rc = batch_emit(b, &ev);
	memset(&ev.u.customer, 0, sizeof(ev.u.customer));
	proto_event_clear(&ev);
	return rc;
}

/* customer_resolve - loads the sender's customer into `c`, creating it. */
static int customer_resolve(struct batch *b, const struct proto_message *m,
			    struct proto_customer *c)
{
	uint64_t id;
	int rc;

	rc = store_identity_get(b->txn, m->channel, m->from.address, &id);
	if (rc == GW_OK)
		return store_customer_get(b->txn, id, c);
	if (rc != GW_ENOTFOUND)
		return rc;
	memset(c, 0, sizeof(*c));
	rc = next_id(b->txn, META_NEXT_CUSTOMER, &c->customer_id);
	if (rc == GW_OK)
		rc = next_id(b->txn, META_NEXT_THREAD, &c->thread_id);
	if (rc)
		return rc;
	c->channel = gw_strdup(m->channel);
	c->address = gw_strdup(m->from.address);
	c->name = gw_strdup(m->from.name);
	c->created_at = gw_now_ms();
	if (!c->channel || !c->address || (m->from.name && !c->name))
		return GW_ENOMEM;
	rc = store_identity_put(b->txn, m->channel, m->from.address, c->customer_id);
	if (rc == GW_OK)
		rc = emit_customer_created(b, c);
	return rc;
}

static int emit_ticket(struct batch *b, enum proto_type type, const struct proto_ticket *t)
{
	struct proto_event ev;
	int rc = proto_event_init(&ev, type);

	if (rc)
		return rc;
	ev.u.ticket = *t;
	rc = batch_emit(b, &ev);
	memset(&ev.u.ticket, 0, sizeof(ev.u.ticket));
	proto_event_clear(&ev);
	return rc;
}

/* ticket_resolve - loads the customer's open ticket into `t`, or opens one
 * for message `m`. */
static int ticket_resolve(struct batch *b, struct proto_customer *c,
			  const struct proto_message *m, struct proto_ticket *t)
{
	int rc;

	if (c->open_ticket_id) {
		rc = store_ticket_get(b->txn, c->open_ticket_id, t);
		if (rc != GW_ENOTFOUND)
			return rc;
	}
	memset(t, 0, sizeof(*t));
	rc = next_id(b->txn, META_NEXT_TICKET, &t->ticket_id);
	if (rc)
		return rc;
	t->customer_id = c->customer_id;
	t->thread_id = c->thread_id;
	t->status = gw_strdup("open");
	t->channel = gw_strdup(m->channel);
	t->subject = gw_strdup(m->subject);
	t->opened_at = t->updated_at = gw_now_ms();
	if (!t->status || !t->channel || (m->subject && !t->subject))
		return GW_ENOMEM;
	c->open_ticket_id = t->ticket_id;
	c->ticket_count++;
	return emit_ticket(b, PROTO_T_TICKET_CREATED, t);
}

/* file_message - emits message.received and indexes it in thread and
 * ticket; updates the records' counters. */
static int file_message(struct batch *b, struct proto_event *msg, struct proto_customer *c,
			struct proto_ticket *t)
{
	struct proto_message *m = &msg->u.message;
	int rc;

	m->customer_id = c->customer_id;
	m->thread_id = c->thread_id;
	m->ticket_id = t->ticket_id;
	rc = batch_emit(b, msg);
	if (rc)
		return rc;
	rc = store_dedup_put(b->txn, m->channel, m->account, m->external_id, msg->seq);
	if (rc == GW_OK)
		rc = store_thread_append(b->txn, c->thread_id, msg->seq);
	if (rc == GW_OK)
		rc = store_ticket_msg_append(b->txn, t->ticket_id, msg->seq);
	if (rc)
		return rc;
	t->message_count++;
	t->last_message_seq = msg->seq;
	t->updated_at = msg->ts;
	c->message_count++;
	rc = store_ticket_put(b->txn, t);
	if (rc == GW_OK)
		rc = store_customer_put(b->txn, c);
	/* A ticket opened by this message was announced by ticket.created;
	 * one that already existed tells its consumers it changed. */
	if (rc == GW_OK && t->message_count > 1)
		rc = emit_ticket(b, PROTO_T_TICKET_UPDATED, t);
	return rc;
}

int route_message(struct batch *b, struct proto_event *msg, enum route_result *result)
{
	struct proto_message *m = &msg->u.message;
	struct proto_customer c;
	struct proto_ticket t;
	uint64_t seq;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(&t, 0, sizeof(t));
	rc = store_dedup_get(b->txn, m->channel, m->account, m->external_id, &seq);
	if (rc == GW_OK) {
		*result = ROUTE_DUPLICATE;
		return GW_OK;
	}
	if (rc != GW_ENOTFOUND)
		return rc;
	rc = customer_resolve(b, m, &c);
	if (rc == GW_OK)
		rc = ticket_resolve(b, &c, m, &t);
	if (rc == GW_OK)
		rc = file_message(b, msg, &c, &t);
	if (rc == GW_OK)
		*result = ROUTE_STORED;
	proto_customer_clear(&c);
	proto_ticket_clear(&t);
	return rc;
}

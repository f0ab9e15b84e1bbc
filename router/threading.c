/*
 * threading.c - which ticket a message joins, and why.
 */
#include "router/router.h"

#include <string.h>

#include "gateway/err.h"
#include "gateway/util.h"

int thread_place(struct batch *b, struct proto_event *msg, struct proto_customer *c,
		 struct proto_ticket *t, struct placement *p)
{
	const struct proto_message *m = &msg->u.message;
	int rc;

	p->opened = p->reopened = 0;
	if (c->open_ticket_id) {
		rc = store_ticket_get(b->txn, c->open_ticket_id, t);
		if (rc != GW_ENOTFOUND)
			return rc;
	}
	memset(t, 0, sizeof(*t));
	rc = route_next_id(b, ROUTE_NEXT_TICKET, &t->ticket_id);
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
	p->opened = 1;
	return GW_OK;
}

int thread_filed(struct batch *b, const struct proto_event *msg, struct proto_customer *c,
		 const struct proto_ticket *t)
{
	(void)b;
	(void)msg;
	(void)c;
	(void)t;
	return GW_OK;
}

int thread_ticket_closed(struct batch *b, struct proto_customer *c, const struct proto_ticket *t)
{
	(void)b;
	if (c->open_ticket_id == t->ticket_id)
		c->open_ticket_id = 0;
	return GW_OK;
}

int thread_ticket_reopened(struct batch *b, struct proto_customer *c,
			   const struct proto_ticket *t)
{
	(void)b;
	c->open_ticket_id = t->ticket_id;
	return GW_OK;
}

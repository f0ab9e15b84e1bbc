/*
 * route_update.c - events about a message the gateway may already hold,
 * inside the batch's transaction:
 *
 *   message.status    dedup by (channel, account, "status:" + status_id)
 *   message.edited,   dedup by (channel, account, "change:" + change_id)
 *   message.deleted
 *
 * The prefixes keep these keys apart from message ids in the one dedup
 * table. When external_id names a message the router stored (its dedup key
 * gives the seq of its message.received or message.sent), the update is
 * linked to it: message_seq, customer_id and ticket_id are copied from that
 * event, and an edit or deletion is also indexed in the message's thread and
 * ticket so their history shows it. An update about an unknown message (one
 * sent outside the gateway, or older than its store) is published all the
 * same, unlinked: it is information, not an error.
 *
 * Statuses of the gateway's replies (message.send, deliver.c) move the
 * reply's delivery and are published only when that is news. A status that
 * names a reply by its own id and gives the provider's id of it (WhatsApp's
 * biz_opaque_callback_data, a Messenger echo's metadata) also makes that
 * id a key of the reply, as the connector's report would. A watermark
 * receipt (Messenger's "read up to", no message named) moves every reply
 * to that customer on that channel and account made at or before the
 * watermark (route_watermark).
 */
#include "router/router.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "router/rules/identity.h"

#define UPDATE_STATUS_PREFIX "status:"
/* Newest messages of a customer's thread a watermark receipt looks at. */
#define WATERMARK_SCAN 128
#define UPDATE_CHANGE_PREFIX "change:"

/* Room for a prefix and an id, which decode bounds to PROTO_MAX_EXTERNAL_ID. */
#define UPDATE_KEY_MAX (PROTO_MAX_EXTERNAL_ID + 16)

/* What the router knows of the message an update is about; zero if none. */
struct update_link {
	uint64_t seq, customer_id, thread_id, ticket_id;
	uint64_t delivery_id; /* the message is a reply of message.send */
};

/* reply_delivery - the delivery id of a reply's external_id,
 * "reply-<delivery_id>-<hex>" (router/reply.c); 0 for any other id. */
static uint64_t reply_delivery(const char *ext)
{
	unsigned long long id = 0;
	int end = 0;

	if (ext && sscanf(ext, "reply-%llu%n", &id, &end) == 1 && (ext[end] == '-' || !ext[end]))
		return id;
	return 0;
}

/* link_from_event - fills `link` from the stored event at `seq` when it is a
 * message; leaves it zeroed (a warning logged) when the log disagrees. */
static int link_from_event(struct store_txn *txn, uint64_t seq, struct update_link *link)
{
	struct proto_event ev;
	int rc;

	rc = store_eventlog_decode(txn, seq, &ev);
	if (rc == GW_ESTORE || rc == GW_ENOMEM || rc == GW_EFULL)
		return rc; /* the batch is retried */
	if (rc) {
		GW_WARN("router", "event %llu named by the dedup table is unreadable: %s",
			(unsigned long long)seq, gw_err_name(rc));
		return GW_OK;
	}
	/* A key that is not a message's (another update's id that happens to
	 * look like one) links to nothing. */
	if (ev.type == PROTO_T_MESSAGE_RECEIVED || ev.type == PROTO_T_MESSAGE_SENT) {
		link->seq = seq;
		link->customer_id = ev.u.message.customer_id;
		link->thread_id = ev.u.message.thread_id;
		link->ticket_id = ev.u.message.ticket_id;
		if (ev.type == PROTO_T_MESSAGE_SENT)
			link->delivery_id = reply_delivery(ev.u.message.external_id);
	}
	proto_event_clear(&ev);
	return GW_OK;
}

/* link_message - the message (channel, account, external_id) names, if the
 * router stored it; `external_id` may be NULL (a watermark receipt). An id
 * valid in every account of the channel (a reply's Message-ID, reported
 * with an empty account) is found under account "" too. */
static int link_message(struct store_txn *txn, const char *channel, const char *account,
			const char *external_id, struct update_link *link)
{
	uint64_t seq;
	int rc;

	memset(link, 0, sizeof(*link));
	if (!external_id)
		return GW_OK;
	rc = store_dedup_get(txn, channel, account, external_id, &seq);
	if (rc == GW_ENOTFOUND && account[0])
		rc = store_dedup_get(txn, channel, "", external_id, &seq);
	if (rc == GW_ENOTFOUND)
		return GW_OK;
	if (rc)
		return rc;
	return link_from_event(txn, seq, link);
}

/* update_seen - builds the update's dedup key into `key` and says whether
 * it is taken (*seen). */
static int update_seen(struct batch *b, const char *channel, const char *account,
		       const char *prefix, const char *id, char *key, size_t size, int *seen)
{
	uint64_t seq;
	int n, rc;

	n = snprintf(key, size, "%s%s", prefix, id);
	if (n < 0 || (size_t)n >= size)
		return GW_ETOOBIG; /* decode bounds ids; not reached */
	rc = store_dedup_get(b->txn, channel, account, key, &seq);
	*seen = rc == GW_OK;
	return rc == GW_ENOTFOUND ? GW_OK : rc;
}

/* index_change - a linked change joins its message's thread and ticket. */
static int index_change(struct batch *b, const struct update_link *link, uint64_t seq)
{
	int rc = GW_OK;

	if (link->thread_id)
		rc = store_thread_append(b->txn, link->thread_id, seq);
	if (rc == GW_OK && link->ticket_id)
		rc = store_ticket_msg_append(b->txn, link->ticket_id, seq);
	return rc;
}

/* --- watermark receipts ------------------------------------------------------ */

struct wm_scan {
	uint64_t seq[WATERMARK_SCAN];
	size_t n;
};

static int wm_collect(void *arg, uint64_t seq)
{
	struct wm_scan *w = arg;

	w->seq[w->n++] = seq;
	return 0;
}

/* wm_thread - the thread of the customer `recipient` is on `channel`;
 * 0 when unknown. */
static int wm_thread(struct batch *b, const char *channel, const char *recipient,
		     uint64_t *thread_id)
{
	struct proto_customer c;
	struct ident id;
	uint64_t cust;
	int rc;

	*thread_id = 0;
	if (ident_make(&id, channel, recipient, STORE_IDENT_VERIFIED) != GW_OK)
		return GW_OK;
	rc = ident_find(b, &id, &cust);
	if (rc == GW_ENOTFOUND)
		return GW_OK;
	memset(&c, 0, sizeof(c));
	if (rc == GW_OK)
		rc = store_customer_get(b->txn, cust, &c);
	if (rc == GW_OK)
		*thread_id = c.thread_id;
	proto_customer_clear(&c);
	return rc == GW_ENOTFOUND ? GW_OK : rc;
}

/* wm_reply - the delivery of `ev` when it is a reply to `s`'s recipient on
 * its channel and account, made at or before the watermark; else 0. */
static uint64_t wm_reply(const struct proto_event *ev, const struct proto_status *s)
{
	const struct proto_message *m = &ev->u.message;

	if (ev->type != PROTO_T_MESSAGE_SENT || !m->to || !m->to->address ||
	    strcmp(m->to->address, s->recipient) != 0 || !m->channel ||
	    strcmp(m->channel, s->channel) != 0 || !m->account ||
	    strcmp(m->account, s->account) != 0 || ev->ts > s->watermark)
		return 0;
	return reply_delivery(m->external_id);
}

int route_watermark(struct batch *b, const struct proto_status *s)
{
	struct wm_scan *w = calloc(1, sizeof(*w));
	uint64_t thread_id = 0;
	int rc = w ? GW_OK : GW_ENOMEM, moved = 0;

	if (rc == GW_OK)
		rc = wm_thread(b, s->channel, s->recipient, &thread_id);
	if (rc == GW_OK && thread_id)
		rc = store_thread_scan_newest(b->txn, thread_id, WATERMARK_SCAN, wm_collect, w);
	for (size_t i = 0; rc == GW_OK && i < w->n; i++) {
		struct proto_event ev;
		struct store_delivery dv;
		uint64_t id;

		if (store_eventlog_decode(b->txn, w->seq[i], &ev) != GW_OK)
			continue;
		id = wm_reply(&ev, s);
		proto_event_clear(&ev);
		if (!id || store_delivery_get(b->txn, id, &dv) != GW_OK)
			continue;
		/* One already there ends the walk: the older ones are too. */
		if (strcmp(dv.state, s->status) == 0 || strcmp(dv.state, "read") == 0)
			break;
		if (strcmp(dv.state, "sent") != 0 && strcmp(dv.state, "delivered") != 0)
			continue; /* not taken by the provider yet, or failed */
		rc = deliver_report(b, id, s->status, NULL, NULL);
		moved++;
	}
	if (rc == GW_OK && moved)
		GW_INFO("router", "%s receipt on %s/%s moved %d replies", s->status, s->channel,
			s->account, moved);
	free(w);
	return rc;
}

/* An update's fields, whichever body (status or change) holds them. */
struct update_ref {
	const char *channel, *account, *external_id;
	const char *prefix, *id; /* its dedup key: prefix + id */
	uint64_t *message_seq, *customer_id, *ticket_id; /* set by the router */
	int in_history; /* indexed in the message's thread and ticket */
	const char *status; /* a provider's status: moves the reply's delivery */
	const char *provider_id; /* the provider's id of the reply, NULL if none */
};

/* keep_alias - the provider's id that a status about a reply gives becomes
 * a key of the reply's message.sent (with its ticket), unless it is taken. */
static int keep_alias(struct batch *b, const struct update_ref *u,
		      const struct update_link *link)
{
	uint64_t seq;
	int rc;

	if (!u->provider_id || !u->provider_id[0] || !link->delivery_id)
		return GW_OK;
	rc = store_dedup_get(b->txn, u->channel, u->account, u->provider_id, &seq);
	if (rc != GW_ENOTFOUND)
		return rc == GW_ETOOBIG ? GW_OK : rc;
	return store_dedup_put_ref(b->txn, u->channel, u->account, u->provider_id, link->seq,
				   link->ticket_id);
}

/* route_update - the rule shared by statuses and changes: dedup by the
 * update's own id, link to the message it names, emit, record the key. */
static int route_update(struct batch *b, struct proto_event *ev, const struct update_ref *u,
			enum route_result *result)
{
	struct update_link link;
	char key[UPDATE_KEY_MAX];
	int rc, seen, publish = 1;

	*result = ROUTE_DUPLICATE;
	rc = update_seen(b, u->channel, u->account, u->prefix, u->id, key, sizeof(key), &seen);
	if (rc || seen)
		return rc;
	rc = link_message(b->txn, u->channel, u->account, u->external_id, &link);
	if (rc == GW_OK && u->status)
		rc = keep_alias(b, u, &link);
	if (rc == GW_OK && u->status && link.delivery_id)
		rc = deliver_advance(b, link.delivery_id, u->status, &publish);
	if (rc || !publish)
		return rc;
	/* The router's fields are the router's: what came in is replaced. */
	*u->message_seq = link.seq;
	*u->customer_id = link.customer_id;
	*u->ticket_id = link.ticket_id;
	rc = batch_emit(b, ev);
	if (rc == GW_OK)
		rc = store_dedup_put(b->txn, u->channel, u->account, key, ev->seq);
	if (rc == GW_OK && u->in_history)
		rc = index_change(b, &link, ev->seq);
	if (rc == GW_OK)
		*result = ROUTE_STORED;
	return rc;
}

/*
 * route_status - a status from a connector's provider (a webhook): when it
 * names one of the gateway's replies it moves the reply's delivery, and is
 * published only if it is news (deliver_advance).
 */
int route_status(struct batch *b, struct proto_event *ev, enum route_result *result)
{
	struct proto_status *s = &ev->u.status;
	const struct update_ref u = {s->channel, s->account, s->external_id,
				     UPDATE_STATUS_PREFIX, s->status_id,
				     &s->message_seq, &s->customer_id, &s->ticket_id, 0, s->status,
				     s->provider_id};
	int rc;

	rc = route_update(b, ev, &u, result);
	if (rc == GW_OK && *result == ROUTE_STORED && !s->external_id && s->watermark > 0 &&
	    s->recipient)
		rc = route_watermark(b, s);
	return rc;
}

int route_status_own(struct batch *b, struct proto_event *ev, enum route_result *result)
{
	struct proto_status *s = &ev->u.status;
	const struct update_ref u = {s->channel, s->account, s->external_id,
				     UPDATE_STATUS_PREFIX, s->status_id,
				     &s->message_seq, &s->customer_id, &s->ticket_id, 0, NULL};

	return route_update(b, ev, &u, result);
}

int route_change(struct batch *b, struct proto_event *ev, enum route_result *result)
{
	struct proto_change *c = &ev->u.change;
	const struct update_ref u = {c->channel, c->account, c->external_id,
				     UPDATE_CHANGE_PREFIX, c->change_id,
				     &c->message_seq, &c->customer_id, &c->ticket_id, 1, NULL};

	return route_update(b, ev, &u, result);
}

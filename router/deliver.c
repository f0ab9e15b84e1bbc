/*
 * deliver.c - replies on their way to the connectors (see router.h):
 * the peers the router knows, the hand-over of pending deliveries, the
 * connectors' reports and the timeout of a delivery no connector can take.
 *
 * A delivery's life, in the store (store/deliveries.c) and on the bus:
 *   pending   message.sent + message.status "queued" (reply.c); handed over
 *             after message.send, on a peer's first hello, every
 *             DELIVER_RETRY_US
 *   sent, delivered, read   reported by the connector: message.status
 *   failed    reported by the connector, or "no connector for channel X"
 *             after router.delivery_timeout_ms; final
 * Any report ends the hand-overs. Statuses only move forward (a late
 * "delivered" after "read" is published but does not lower the state), and
 * each status of a delivery is published once: its status_id
 * "<external_id>:<status>" (the external_id its message.sent's) is
 * deduplicated like any message.status.
 */
#include "router/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/wire.h"
#include "store/store_int.h"

#define DELIVER_MAX_PEERS 256
#define DELIVER_BATCH 256              /* deliveries looked at per tick */
#define DELIVER_RETRY_US 10000000      /* hand a pending delivery over again */
#define DELIVER_CONTINUE_US 100000     /* next tick when a tick was cut short */
#define DELIVER_PEER_LIVE_US 30000000  /* a peer heard from this recently is up */
#define DELIVER_DEFAULT_TIMEOUT_MS 60000

struct peer {
	char channel[PROTO_MAX_CHANNEL + 1];
	char account[PROTO_MAX_ACCOUNT + 1];
	unsigned char id[256]; /* ZeroMQ routing ids are at most 255 bytes */
	size_t id_len;
	int64_t seen_us;
};

struct deliver {
	struct peer *peers;
	size_t npeers;
	int64_t next_us;   /* next tick */
	uint64_t cursor;   /* first pending id of the next tick */
	int64_t started_ms;
	int64_t timeout_ms;
};

static const char *const status_order[] = {"pending", "sent", "delivered", "read", "failed"};

/* status_rank - the place of `s` in the lifecycle; -1 for a status a
 * connector may not report. */
static int status_rank(const char *s)
{
	for (size_t i = 0; i < sizeof(status_order) / sizeof(status_order[0]); i++)
		if (strcmp(s, status_order[i]) == 0)
			return (int)i;
	return -1;
}

int deliver_create(const struct gw_config *cfg, struct deliver **out)
{
	struct deliver *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return GW_ENOMEM;
	d->peers = calloc(DELIVER_MAX_PEERS, sizeof(*d->peers));
	if (!d->peers) {
		free(d);
		return GW_ENOMEM;
	}
	d->started_ms = gw_now_ms();
	d->timeout_ms = cfg->router.delivery_timeout_ms > 0 ? cfg->router.delivery_timeout_ms
							     : DELIVER_DEFAULT_TIMEOUT_MS;
	/* The first tick finds what was pending before a restart; connectors
	 * that say hello make it due again. */
	d->next_us = 0;
	*out = d;
	return GW_OK;
}

void deliver_destroy(struct deliver *d)
{
	if (!d)
		return;
	free(d->peers);
	free(d);
}

int64_t deliver_next_us(const struct deliver *d)
{
	return d->next_us;
}

/* peer_slot - the entry of (channel, account), or a free or the stalest one
 * (*fresh = 1) to reuse. */
static struct peer *peer_slot(struct deliver *d, const char *channel, const char *account,
			      int *fresh)
{
	struct peer *oldest = NULL;

	*fresh = 0;
	for (size_t i = 0; i < d->npeers; i++) {
		struct peer *p = &d->peers[i];

		if (strcmp(p->channel, channel) == 0 && strcmp(p->account, account) == 0)
			return p;
		if (!oldest || p->seen_us < oldest->seen_us)
			oldest = p;
	}
	*fresh = 1;
	if (d->npeers < DELIVER_MAX_PEERS)
		return &d->peers[d->npeers++];
	return oldest;
}

void deliver_peer_seen(struct deliver *d, const char *channel, const char *account,
		       const void *id, size_t len, int hello)
{
	struct peer *p;
	int fresh, changed;

	if (len == 0 || len > sizeof(p->id) || strlen(channel) > PROTO_MAX_CHANNEL ||
	    strlen(account) > PROTO_MAX_ACCOUNT)
		return;
	p = peer_slot(d, channel, account, &fresh);
	changed = fresh || p->id_len != len || memcmp(p->id, id, len) != 0;
	p->seen_us = gw_mono_us();
	if (!changed)
		return;
	snprintf(p->channel, sizeof(p->channel), "%s", channel);
	snprintf(p->account, sizeof(p->account), "%s", account);
	memcpy(p->id, id, len);
	p->id_len = len;
	if (hello) {
		/* A connector new to this router (either side restarted): what is
		 * pending is handed over now rather than at the next retry. */
		GW_INFO("router", "connector %s/%s said hello", channel, account);
		d->next_us = 0;
		d->cursor = 0;
	}
}

/*
 * peer_for - the peer of (channel, account); NULL when none. *live says it
 * was heard from lately. Only an exact match counts: another instance of
 * the same channel (a second chat widget, another mailbox) serves other
 * customers, and a reply it took would be reported without reaching them.
 */
static const struct peer *peer_for(const struct deliver *d, const char *channel,
				   const char *account, int *live)
{
	const struct peer *found = NULL;

	for (size_t i = 0; i < d->npeers && !found; i++) {
		const struct peer *p = &d->peers[i];

		if (strcmp(p->channel, channel) == 0 && strcmp(p->account, account) == 0)
			found = p;
	}
	*live = found && gw_mono_us() - found->seen_us < DELIVER_PEER_LIVE_US;
	return found;
}

/* send_deliver - ["deliver", id, event] to the peer; the ROUTER socket drops
 * it if the peer is gone or its queue is full, and a retry follows. */
static void send_deliver(void *sock, const struct peer *p, uint64_t id, const void *event,
			 size_t len)
{
	unsigned char kb[8];

	store_be64_put(kb, id);
	if (zmq_send(sock, p->id, p->id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return;
	zmq_send(sock, WIRE_INGEST_DELIVER, strlen(WIRE_INGEST_DELIVER), ZMQ_SNDMORE);
	zmq_send(sock, kb, 8, ZMQ_SNDMORE);
	zmq_send(sock, event, len, 0);
}

int deliver_signal(struct router *r, const char *channel, const char *account,
		   const void *event, size_t len)
{
	void *sock = router_ingest_socket(r);
	int live = 0;
	const struct peer *p = peer_for(router_deliver(r), channel, account, &live);

	if (!p || !live)
		return GW_ENOTFOUND;
	if (zmq_send(sock, p->id, p->id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return GW_ENOTFOUND;
	zmq_send(sock, WIRE_INGEST_SIGNAL, strlen(WIRE_INGEST_SIGNAL), ZMQ_SNDMORE);
	zmq_send(sock, event, len, 0);
	return GW_OK;
}

/*
 * hand_over - hands pending delivery `id` to its peer. Returns 1 when it has
 * no live connector and waited past the timeout (to fail), else 0; sets
 * *deadline_us to when that would be if it is still waiting.
 */
static int hand_over(struct router *r, struct store_txn *txn, uint64_t id, int64_t *deadline_us)
{
	struct deliver *d = router_deliver(r);
	struct store_delivery dv;
	const struct peer *p;
	const char *type;
	const void *data;
	size_t tlen, len;
	int live;
	int64_t since, now_ms = gw_now_ms();

	if (store_delivery_get(txn, id, &dv) != GW_OK || status_rank(dv.state) != 0)
		return 0;
	p = peer_for(d, dv.channel, dv.account, &live);
	if (p && store_eventlog_get(txn, dv.seq, &type, &tlen, &data, &len) == GW_OK)
		send_deliver(router_ingest_socket(r), p, id, data, len);
	if (live)
		return 0;
	/* Waiting starts no earlier than this router's start: connectors say
	 * hello within seconds of it. */
	since = dv.created_at > d->started_ms ? dv.created_at : d->started_ms;
	if (now_ms - since >= d->timeout_ms)
		return 1;
	*deadline_us = gw_mono_us() + (since + d->timeout_ms - now_ms) * 1000;
	return 0;
}

void deliver_one(struct router *r, uint64_t id)
{
	struct deliver *d = router_deliver(r);
	struct store_txn *txn = NULL;
	int64_t deadline = INT64_MAX;

	if (store_txn_begin(router_store(r), 1, &txn) != GW_OK)
		return;
	/* A timeout is left to the tick, which this deadline brings forward. */
	hand_over(r, txn, id, &deadline);
	store_txn_abort(txn);
	if (deadline < d->next_us)
		d->next_us = deadline;
}

struct tick_ctx {
	uint64_t ids[DELIVER_BATCH];
	size_t n;
};

static int tick_collect(void *arg, uint64_t id)
{
	struct tick_ctx *t = arg;

	t->ids[t->n++] = id;
	return 0;
}

struct fail_ctx {
	const uint64_t *ids;
	size_t n;
};

/* fail_timed_out - in one transaction, each delivery no connector took. */
static int fail_timed_out(struct batch *b, void *arg)
{
	struct fail_ctx *f = arg;
	int rc = GW_OK;

	for (size_t i = 0; i < f->n && rc == GW_OK; i++) {
		struct store_delivery dv;
		char why[96];

		rc = store_delivery_get(b->txn, f->ids[i], &dv);
		if (rc)
			break;
		snprintf(why, sizeof(why), "no connector for channel %s", dv.channel);
		GW_WARN("router", "delivery %llu failed: %s", (unsigned long long)f->ids[i], why);
		rc = deliver_report(b, f->ids[i], "failed", why, NULL);
	}
	return rc;
}

void deliver_tick(struct router *r)
{
	struct deliver *d = router_deliver(r);
	struct store_txn *txn = NULL;
	struct tick_ctx *t = calloc(1, sizeof(*t));
	uint64_t failed[DELIVER_BATCH];
	size_t nfailed = 0;
	int64_t now = gw_mono_us(), deadline = now + DELIVER_RETRY_US;
	int rc;

	d->next_us = now + DELIVER_CONTINUE_US; /* on an error: try again soon */
	if (!t)
		return;
	rc = store_txn_begin(router_store(r), 1, &txn);
	if (rc == GW_OK)
		rc = store_delivery_pending(txn, d->cursor, DELIVER_BATCH, tick_collect, t);
	for (size_t i = 0; rc == GW_OK && i < t->n; i++)
		if (hand_over(r, txn, t->ids[i], &deadline))
			failed[nfailed++] = t->ids[i];
	store_txn_abort(txn);
	if (rc == GW_OK && nfailed) {
		struct fail_ctx f = {failed, nfailed};

		rc = router_txn(r, fail_timed_out, &f);
		if (rc)
			GW_ERROR("router", "cannot fail %zu deliveries: %s", nfailed,
				 gw_strerror(rc));
	}
	if (rc == GW_OK && t->n == DELIVER_BATCH) {
		d->cursor = t->ids[t->n - 1] + 1; /* more to look at: soon */
	} else if (rc == GW_OK) {
		d->cursor = 0;
		d->next_us = deadline;
	}
	free(t);
}

/* What the router kept of a delivery's message.sent. */
struct sent_info {
	char ext[PROTO_MAX_EXTERNAL_ID + 1]; /* its external_id */
	uint64_t ticket_id;
};

/* sent_of - the external_id and ticket of the delivery's message.sent
 * (reply.c makes it); "reply-<delivery_id>", what it was before ids had a
 * random part, when the event cannot be read. */
static void sent_of(struct batch *b, const struct store_delivery *dv, struct sent_info *si)
{
	struct proto_event ev;

	memset(si, 0, sizeof(*si));
	if (store_eventlog_decode(b->txn, dv->seq, &ev) == GW_OK) {
		if (ev.type == PROTO_T_MESSAGE_SENT && ev.u.message.external_id &&
		    strlen(ev.u.message.external_id) < sizeof(si->ext)) {
			snprintf(si->ext, sizeof(si->ext), "%s", ev.u.message.external_id);
			si->ticket_id = ev.u.message.ticket_id;
		}
		proto_event_clear(&ev);
	}
	if (!si->ext[0])
		snprintf(si->ext, sizeof(si->ext), "reply-%llu", (unsigned long long)dv->delivery_id);
}

/* status_errors - the reason of a failed status as its one error. */
static int status_errors(struct proto_status *s, const char *reason)
{
	if (!reason || !reason[0])
		return GW_OK;
	s->errors = calloc(1, sizeof(*s->errors));
	if (!s->errors || !(s->errors[0].title = gw_strdup(reason)))
		return GW_ENOMEM;
	s->errors_len = 1;
	return GW_OK;
}

int deliver_emit_status(struct batch *b, const struct store_delivery *dv, const char *status,
			const char *reason, const char *provider_id, enum route_result *res)
{
	struct proto_event ev;
	struct proto_status *s = &ev.u.status;
	struct sent_info si;
	char sid[PROTO_MAX_EXTERNAL_ID + 32];
	int rc;

	rc = proto_event_init(&ev, PROTO_T_MESSAGE_STATUS);
	if (rc)
		return rc;
	sent_of(b, dv, &si);
	snprintf(sid, sizeof(sid), "%s:%s", si.ext, status);
	s->channel = gw_strdup(dv->channel);
	s->account = gw_strdup(dv->account);
	s->external_id = gw_strdup(si.ext);
	s->status_id = gw_strdup(sid);
	s->status = gw_strdup(status);
	s->status_at = gw_now_ms();
	rc = GW_ENOMEM;
	if (!s->channel || !s->account || !s->external_id || !s->status_id || !s->status)
		goto out;
	if (provider_id && provider_id[0] && !(s->provider_id = gw_strdup(provider_id)))
		goto out;
	rc = status_errors(s, reason);
	if (rc == GW_OK)
		rc = route_status_own(b, &ev, res);
out:
	proto_event_clear(&ev);
	return rc;
}

/*
 * keep_ref - records the provider's id of reply `dv` as a dedup key of its
 * message.sent (with its ticket), unless the key is taken: an id the
 * provider gave once names one message.
 */
static int keep_ref(struct batch *b, const struct store_delivery *dv,
		    const struct deliver_ref *ref)
{
	struct sent_info si;
	uint64_t seq;
	int rc;

	if (!ref || !ref->id || !ref->id[0])
		return GW_OK;
	rc = store_dedup_get(b->txn, dv->channel, ref->account, ref->id, &seq);
	if (rc != GW_ENOTFOUND)
		return rc == GW_ETOOBIG ? GW_OK : rc;
	sent_of(b, dv, &si);
	return store_dedup_put_ref(b->txn, dv->channel, ref->account, ref->id, dv->seq,
				   si.ticket_id);
}

/* move_state - the delivery's state becomes `status` (its rank `rank`)
 * when that is later; *moved says whether it did. */
static int move_state(struct batch *b, struct store_delivery *dv, const char *status, int rank,
		      int *moved)
{
	*moved = strcmp(dv->state, "failed") != 0 && rank > status_rank(dv->state);
	if (!*moved)
		return GW_OK;
	snprintf(dv->state, sizeof(dv->state), "%s", status);
	return store_delivery_put(b->txn, dv);
}

int deliver_report(struct batch *b, uint64_t id, const char *status, const char *reason,
		   const struct deliver_ref *ref)
{
	struct store_delivery dv;
	enum route_result res;
	int rank = status_rank(status), moved, rc;

	rc = store_delivery_get(b->txn, id, &dv);
	if (rc == GW_ENOTFOUND || rc == GW_EPROTO || rank <= 0) {
		GW_WARN("router", "report \"%s\" about delivery %llu ignored: %s", status,
			(unsigned long long)id, rank <= 0 ? "unknown status" : "unknown delivery");
		return GW_OK;
	}
	if (rc == GW_OK)
		rc = keep_ref(b, &dv, ref);
	if (rc == GW_OK)
		rc = move_state(b, &dv, status, rank, &moved);
	if (rc || !moved)
		return rc;
	rc = deliver_emit_status(b, &dv, status, strcmp(status, "failed") == 0 ? reason : NULL,
				 ref ? ref->id : NULL, &res);
	if (rc == GW_OK)
		GW_INFO("router", "delivery %llu %s", (unsigned long long)id, status);
	return rc;
}

int deliver_advance(struct batch *b, uint64_t id, const char *status, int *publish)
{
	struct store_delivery dv;
	int rank = status_rank(status), moved, rc;

	*publish = 1;
	if (rank <= 0)
		return GW_OK;
	rc = store_delivery_get(b->txn, id, &dv);
	if (rc == GW_ENOTFOUND || rc == GW_EPROTO)
		return GW_OK;
	if (rc == GW_OK)
		rc = move_state(b, &dv, status, rank, &moved);
	if (rc == GW_OK && !moved)
		*publish = 0;
	if (rc == GW_OK && moved)
		GW_INFO("router", "delivery %llu %s (the provider's status)", (unsigned long long)id,
			status);
	return rc;
}

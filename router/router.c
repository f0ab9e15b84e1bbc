/*
 * router.c - the router's sockets and loop (see router.h for the steps and
 * why the order commit -> publish -> acknowledge loses nothing).
 */
#include "router/router.h"
#include "router/rules/assign.h"

#include <errno.h>
#include <jansson.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/proto_desc.h"
#include "proto/wire.h"
#include "router/rules/autoreply.h"
#include "router/zap.h"
#include "core/bus.h"
#include "core/config_bus.h"
#include "store/store_int.h"

#define ROUTER_MAX_BATCH_BYTES (64u * 1024u * 1024u)
#define ROUTER_STATUS_US 1000000

/* The bounds of the batch histograms (messages, seconds). */
#define N_BOUNDS(a) (sizeof(a) / sizeof((a)[0]))
static const double batch_size_le[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
static const double commit_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				   0.25, 0.5, 1, 2.5};

/* An acknowledgement owed to a connector once the batch is committed. */
struct pending_ack {
	zmq_msg_t peer;     /* routing id of the connector's socket */
	unsigned char key[8];
	const char *result; /* WIRE_RESULT_* */
	char reason[256];
};

struct router {
	const struct gw_config *cfg;
	struct store *st;
	void *zctx, *ingest, *pub, *cmd;
	struct batch batch;
	struct pending_ack *acks;
	size_t nacks, max_batch;
	uint64_t head; /* last committed seq */
	struct router_stats stats;
	int64_t started_at;
	int64_t next_heartbeat_us, next_status_us;
	char status_path[4096];
	int status_rc;         /* result of the last status write, logged on change */
	struct deliver *dl; /* replies: peers and pending deliveries */
	struct zap *zap;    /* CURVE clients' keys, NULL without curve_key */
	struct routing *rt; /* threading, assignment and SLA rules */
	int64_t next_routing_ms; /* wall clock: SLA instants, working hours */
	int routing_failing;     /* the last routing tick failed (logged once) */
	struct gw_config *reloaded; /* the config the routing in use was read from,
				     * after a reload (owned); NULL: r->cfg's */
};

/* The routing timer looks at the SLA table at least this often, so that
 * deadlines set by a batch or a command fire within this bound. */
#define ROUTER_ROUTING_TICK_MS 1000

/*
 * High-water mark of the ingest socket, per connector. A ROUTER socket drops
 * what it cannot queue, and a dropped ack costs a resend after the
 * connector's resend_ms; each connector has at most max_inflight (4096 by
 * default) messages unanswered, so the queue must hold a whole window of
 * acks with room to spare.
 */
#define ROUTER_INGEST_HWM 65536

/*
 * bus_guard - before binding `endpoint` (its config key `what`): an ipc
 * socket's folder is created owner-only; a tcp one runs CURVE when
 * curve_key is set, and otherwise only on loopback with plain_loopback
 * (config_bus.c refused the rest; a client's config is refused here),
 * which any local user can reach: said once at start.
 */
static int bus_guard(struct router *r, void *s, const char *endpoint, const char *what)
{
	char dir[4096];
	const char *path = endpoint + 6, *slash;

	if (strncmp(endpoint, "ipc://", 6) == 0 && path[0] == '/' &&
	    (slash = strrchr(path, '/')) && slash > path) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		if (gw_mkdir_p(dir) != GW_OK) {
			GW_ERROR("router", "cannot create %s for %s: %s", dir, what,
				 strerror(errno));
			return GW_EIO;
		}
	}
	if (r->zap && bus_uses_curve(&r->cfg->router, endpoint))
		return bus_server_setup(s, zap_key(r->zap), what);
	if (strncmp(endpoint, "tcp://", 6) != 0)
		return GW_OK;
	/* Without curve_key the config let it through as a client's
	 * (curve_client_key, curve_server_public): not a router's. */
	if (r->cfg->router.curve_client_key || r->cfg->router.curve_server_public ||
	    !r->cfg->router.plain_loopback || conf_bus_tcp_loopback(endpoint) != 1) {
		GW_ERROR("router", "router.%s %s: the router needs router.curve_key on tcp:// "
			 "(curve_client_key and curve_server_public are a client's)", what,
			 endpoint);
		return GW_ECONFIG;
	}
	GW_WARN("router", "router.%s %s has no CURVE: any local user can connect; use "
		"ipc:// (the default) or set router.curve_key", what, endpoint);
	return GW_OK;
}

static void *router_bind(struct router *r, int type, const char *endpoint, int hwm,
			 const char *what)
{
	void *s = zmq_socket(r->zctx, type);
	int zero = 0;

	if (!s)
		return NULL;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	if (hwm > 0) {
		zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
		zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	}
	if (bus_guard(r, s, endpoint, what) != GW_OK || zmq_bind(s, endpoint) != 0) {
		GW_ERROR("router", "cannot bind router.%s %s: %s", what, endpoint,
			 zmq_strerror(errno));
		zmq_close(s);
		return NULL;
	}
	return s;
}

static int router_open_sockets(struct router *r)
{
	r->zctx = zmq_ctx_new();
	if (!r->zctx)
		return GW_EBUS;
	if (r->cfg->router.curve_key && zap_start(r->zctx, &r->cfg->router, &r->zap) != GW_OK)
		return GW_ECONFIG;
	r->ingest = router_bind(r, ZMQ_ROUTER, r->cfg->router.ingest, ROUTER_INGEST_HWM,
				"ingest");
	r->pub = router_bind(r, ZMQ_PUB, r->cfg->router.publish,
			     (int)r->cfg->router.publish_hwm, "publish");
	r->cmd = router_bind(r, ZMQ_ROUTER, r->cfg->router.command, 0, "command");
	return r->ingest && r->pub && r->cmd ? GW_OK : GW_EBUS;
}

static int router_load_head(struct router *r)
{
	struct store_txn *txn = NULL;
	int rc = store_txn_begin(r->st, 1, &txn);

	if (rc)
		return rc;
	rc = store_eventlog_head(txn, &r->head);
	store_txn_abort(txn);
	return rc;
}

static int router_routing_create(struct router *r)
{
	char err[512];
	int rc = routing_create(&r->cfg->routing, &r->rt, err, sizeof(err));

	if (rc == GW_EINVAL)
		GW_ERROR("router", "routing: %s", err);
	if (rc == GW_OK)
		r->rt->csat = &r->cfg->csat;
	r->batch.rt = r->rt;
	return rc;
}

int router_create(const struct gw_config *cfg, struct router **out)
{
	struct router *r = calloc(1, sizeof(*r));
	char dir[4096];
	int rc;

	*out = NULL;
	if (!r)
		return GW_ENOMEM;
	r->cfg = cfg;
	r->started_at = gw_now_ms();
	r->max_batch = (size_t)cfg->router.batch_max;
	gw_histo_init(&r->stats.batch_size, batch_size_le, N_BOUNDS(batch_size_le));
	gw_histo_init(&r->stats.commit_seconds, commit_le, N_BOUNDS(commit_le));
	r->acks = calloc(r->max_batch, sizeof(*r->acks));
	if (!r->acks) {
		rc = GW_ENOMEM;
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s/store", cfg->state_dir);
	snprintf(r->status_path, sizeof(r->status_path), "%s/run/router.json", cfg->state_dir);
	rc = router_routing_create(r);
	if (rc == GW_OK)
		rc = store_open(dir, (size_t)cfg->router.map_size_mb << 20, &r->st);
	if (rc == GW_OK)
		rc = deliver_create(cfg, &r->dl);
	if (rc == GW_OK)
		rc = router_load_head(r);
	if (rc == GW_OK)
		rc = router_open_sockets(r);
	if (rc == GW_OK)
		GW_INFO("router", "ready: head seq %llu, ingest %s, publish %s, command %s",
			(unsigned long long)r->head, cfg->router.ingest, cfg->router.publish,
			cfg->router.command);
out:
	if (rc) {
		router_destroy(r);
		return rc;
	}
	*out = r;
	return GW_OK;
}

void router_destroy(struct router *r)
{
	if (!r)
		return;
	batch_reset(&r->batch);
	free(r->batch.ev);
	free(r->acks);
	if (r->ingest)
		zmq_close(r->ingest);
	if (r->pub)
		zmq_close(r->pub);
	if (r->cmd)
		zmq_close(r->cmd);
	zap_stop(r->zap);
	if (r->zctx)
		zmq_ctx_term(r->zctx);
	store_close(r->st);
	deliver_destroy(r->dl);
	routing_destroy(r->rt);
	gw_config_free(r->reloaded);
	if (r->status_path[0])
		unlink(r->status_path);
	free(r);
}

const struct routing *router_routing(const struct router *r)
{
	return r->rt;
}

struct store *router_store(struct router *r)
{
	return r->st;
}

void *router_command_socket(struct router *r)
{
	return r->cmd;
}

void *router_ingest_socket(struct router *r)
{
	return r->ingest;
}

struct deliver *router_deliver(struct router *r)
{
	return r->dl;
}

void router_get_stats(const struct router *r, struct router_stats *st, int64_t *started_at)
{
	*st = r->stats;
	*started_at = r->started_at;
}

/* recv_frames - reads one whole multipart message of at most `max` frames
 * (extra frames are read and dropped). Returns the frame count, 0 if no
 * message was waiting, -1 if it had too many frames. */
static int recv_frames(void *sock, zmq_msg_t *f, int max)
{
	int n = 0, more = 1, over = 0;

	while (more) {
		zmq_msg_t *m = n < max ? &f[n] : NULL;
		zmq_msg_t spare;

		if (!m)
			m = &spare;
		zmq_msg_init(m);
		if (zmq_msg_recv(m, sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
			zmq_msg_close(m);
			break;
		}
		more = zmq_msg_more(m);
		if (m == &spare) {
			zmq_msg_close(m);
			over = 1;
		} else {
			n++;
		}
	}
	if (over) {
		for (int i = 0; i < n; i++)
			zmq_msg_close(&f[i]);
		return -1;
	}
	return n;
}

static int frame_is(zmq_msg_t *m, const char *s)
{
	size_t l = strlen(s);

	return zmq_msg_size(m) == l && memcmp(zmq_msg_data(m), s, l) == 0;
}

/* ingest_one - routes the event in frames f[1..3] (f[0] is the peer) and
 * records the ack it is owed. Errors other than a bad or refused event
 * abort the batch. */
static int ingest_one(struct router *r, zmq_msg_t *f, struct pending_ack *ack)
{
	struct proto_event ev;
	struct proto_error perr;
	enum route_result res;
	int rc;

	ack->result = WIRE_RESULT_REJECTED;
	ack->reason[0] = '\0';
	rc = proto_decode(zmq_msg_data(&f[3]), zmq_msg_size(&f[3]), &ev, &perr);
	if (rc == GW_OK)
		rc = route_check(&ev, perr.message, sizeof(perr.message));
	if (rc) {
		/* A message that will never decode is answered "rejected" so the
		 * connector stops resending it; it changes nothing stored. */
		snprintf(ack->reason, sizeof(ack->reason), "%s: %s", gw_err_name(rc), perr.message);
		GW_WARN("router", "rejected an ingest message: %s", ack->reason);
		r->stats.rejected++;
		proto_event_clear(&ev);
		return GW_OK;
	}
	rc = route_event(&r->batch, &ev, &res);
	if (rc == GW_OK && (ev.type == PROTO_T_MESSAGE_RECEIVED || ev.type == PROTO_T_MESSAGE_SENT))
		deliver_peer_seen(r->dl, ev.u.message.channel, ev.u.message.account,
				  zmq_msg_data(&ack->peer), zmq_msg_size(&ack->peer), 0);
	if (rc == GW_OK) {
		ack->result = res == ROUTE_STORED ? WIRE_RESULT_STORED : WIRE_RESULT_DUPLICATE;
		if (res == ROUTE_DUPLICATE)
			r->stats.duplicates++;
		else
			r->stats.stored++;
	}
	proto_event_clear(&ev);
	return rc;
}

/* frame_str - a frame as a NUL-terminated string in `buf`; 0 when it does
 * not fit or holds a NUL. */
static int frame_str(zmq_msg_t *m, char *buf, size_t cap)
{
	size_t l = zmq_msg_size(m);

	if (l >= cap || memchr(zmq_msg_data(m), '\0', l))
		return 0;
	memcpy(buf, zmq_msg_data(m), l);
	buf[l] = '\0';
	return 1;
}

/* ingest_hello - ["hello", instance, channel]: the peer f[0] is that
 * connector; the instance name is its default account. */
static void ingest_hello(struct router *r, zmq_msg_t *f)
{
	char instance[PROTO_MAX_ACCOUNT + 1], channel[PROTO_MAX_CHANNEL + 1];

	if (!frame_str(&f[2], instance, sizeof(instance)) ||
	    !frame_str(&f[3], channel, sizeof(channel)) || !channel[0]) {
		GW_WARN("router", "malformed hello dropped");
		return;
	}
	deliver_peer_seen(r->dl, channel, instance, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), 1);
}

/* ingest_report - ["report", delivery_id, status, reason, ref_account,
 * ref_id] (the last two absent from older connectors), recorded in the open
 * batch. */
static int ingest_report(struct router *r, zmq_msg_t *f, int n)
{
	char status[16], reason[PROTO_MAX_SHORT + 1];
	char ref_account[PROTO_MAX_ACCOUNT + 1] = "", ref_id[PROTO_MAX_EXTERNAL_ID + 1] = "";
	struct deliver_ref ref = {ref_account, ref_id};

	if (zmq_msg_size(&f[2]) != 8 || !frame_str(&f[3], status, sizeof(status))) {
		GW_WARN("router", "malformed report dropped");
		return GW_OK;
	}
	/* A reason that could not be encoded would abort the whole batch. */
	if (!frame_str(&f[4], reason, sizeof(reason)) || !proto_utf8_valid(reason, strlen(reason)))
		snprintf(reason, sizeof(reason), "(unreadable reason)");
	if (n == 7 && (!frame_str(&f[5], ref_account, sizeof(ref_account)) ||
		       !frame_str(&f[6], ref_id, sizeof(ref_id)) ||
		       !proto_utf8_valid(ref_account, strlen(ref_account)) ||
		       !proto_utf8_valid(ref_id, strlen(ref_id)))) {
		GW_WARN("router", "report with an unreadable reference: reference dropped");
		ref_account[0] = ref_id[0] = '\0';
	}
	return deliver_report(&r->batch, store_be64_get(zmq_msg_data(&f[2])), status, reason,
			      &ref);
}

/* ingest_msg - a ["msg", key, event]: routed, its ack kept for later. */
static int ingest_msg(struct router *r, zmq_msg_t *f)
{
	struct pending_ack *ack = &r->acks[r->nacks];

	memcpy(ack->key, zmq_msg_data(&f[2]), 8);
	zmq_msg_init(&ack->peer);
	zmq_msg_move(&ack->peer, &f[0]);
	r->nacks++;
	return ingest_one(r, f, ack);
}

/* take_batch - reads up to batch_max ingest messages and routes them in the
 * open transaction, with the reports and hellos that come between them.
 * Returns GW_OK (r->nacks says how many) or an error that aborts the batch. */
static int take_batch(struct router *r)
{
	zmq_msg_t f[7];
	int n, rc = GW_OK;

	while (rc == GW_OK && r->nacks < r->max_batch &&
	       r->batch.bytes < ROUTER_MAX_BATCH_BYTES) {
		n = recv_frames(r->ingest, f, 7);
		if (n == 0)
			break;
		if (n == 4 && frame_is(&f[1], WIRE_INGEST_MSG) && zmq_msg_size(&f[2]) == 8) {
			r->stats.received++;
			rc = ingest_msg(r, f);
		} else if (n == 4 && frame_is(&f[1], WIRE_INGEST_HELLO)) {
			ingest_hello(r, f);
		} else if ((n == 5 || n == 7) && frame_is(&f[1], WIRE_INGEST_REPORT)) {
			rc = ingest_report(r, f, n);
		} else {
			r->stats.received++;
			GW_WARN("router", "malformed ingest message dropped (%d frames)", n);
		}
		for (int i = 0; i < (n < 0 ? 0 : n); i++)
			zmq_msg_close(&f[i]);
	}
	return rc;
}

static void publish_batch(struct router *r)
{
	for (size_t i = 0; i < r->batch.nev; i++) {
		struct batch_event *e = &r->batch.ev[i];

		/* PUB never blocks: past its high-water mark it drops, and the
		 * consumer recovers the gap by replay. */
		zmq_send(r->pub, e->type, strlen(e->type), ZMQ_SNDMORE | ZMQ_DONTWAIT);
		zmq_send(r->pub, e->data, e->len, ZMQ_DONTWAIT);
	}
	r->stats.events += r->batch.nev;
}

/* send_acks - answers each connector; with `ok` = 0 (the batch failed)
 * nothing is answered and the connectors resend after their timeout. */
static void send_acks(struct router *r, int ok)
{
	for (size_t i = 0; i < r->nacks; i++) {
		struct pending_ack *a = &r->acks[i];

		if (ok) {
			zmq_msg_send(&a->peer, r->ingest, ZMQ_SNDMORE | ZMQ_DONTWAIT);
			zmq_send(r->ingest, WIRE_INGEST_ACK, strlen(WIRE_INGEST_ACK), ZMQ_SNDMORE);
			zmq_send(r->ingest, a->key, 8, ZMQ_SNDMORE);
			zmq_send(r->ingest, a->result, strlen(a->result), ZMQ_SNDMORE);
			zmq_send(r->ingest, a->reason, strlen(a->reason), 0);
		}
		zmq_msg_close(&a->peer);
	}
	r->nacks = 0;
}

/* router_batch - one group commit: route what is waiting, commit, publish,
 * acknowledge. Returns the number of messages handled (0: none waiting). */
static size_t router_batch(struct router *r)
{
	int64_t t0 = 0;
	size_t n;
	int rc;

	rc = store_txn_begin(r->st, 0, &r->batch.txn);
	if (rc) {
		GW_ERROR("router", "cannot begin a transaction: %s", gw_strerror(rc));
		return 0;
	}
	r->batch.head = r->head;
	rc = take_batch(r);
	n = r->nacks;
	if (rc == GW_OK && r->batch.nev == 0 && n == 0) {
		store_txn_abort(r->batch.txn);
	} else if (rc == GW_OK) {
		t0 = gw_mono_us();
		rc = store_txn_commit(r->batch.txn);
	} else {
		store_txn_abort(r->batch.txn);
	}
	r->batch.txn = NULL;
	if (rc == GW_OK && t0) {
		gw_histo_observe(&r->stats.commit_seconds, (double)(gw_mono_us() - t0) / 1e6);
		gw_histo_observe(&r->stats.batch_size, (double)n);
	}
	if (rc) {
		/* Nothing of the batch is stored: no event is published and no
		 * message acknowledged, so the connectors send it all again. */
		GW_ERROR("router", "batch of %zu messages not committed: %s", n, gw_strerror(rc));
		r->stats.commit_failures++;
	} else if (n || r->batch.nev) {
		r->head = r->batch.head;
		r->stats.batches++;
		if (n > r->stats.max_batch)
			r->stats.max_batch = n;
		publish_batch(r);
	}
	send_acks(r, rc == GW_OK);
	batch_reset(&r->batch);
	return n;
}

int router_txn(struct router *r, int (*fn)(struct batch *b, void *arg), void *arg)
{
	int rc;

	rc = store_txn_begin(r->st, 0, &r->batch.txn);
	if (rc)
		return rc;
	r->batch.head = r->head;
	rc = fn(&r->batch, arg);
	if (rc == GW_OK && r->batch.nev == 0 && !r->batch.keep)
		store_txn_abort(r->batch.txn);
	else if (rc == GW_OK)
		rc = store_txn_commit(r->batch.txn);
	else
		store_txn_abort(r->batch.txn);
	r->batch.txn = NULL;
	if (rc == GW_OK && r->batch.nev) {
		r->head = r->batch.head;
		r->stats.batches++;
		publish_batch(r);
	}
	batch_reset(&r->batch);
	return rc;
}

static void router_heartbeat(struct router *r)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_str_with_body(&pk, "v", 1);
	msgpack_pack_uint32(&pk, PROTO_VERSION);
	msgpack_pack_str_with_body(&pk, "ts", 2);
	msgpack_pack_int64(&pk, gw_now_ms());
	msgpack_pack_str_with_body(&pk, "head_seq", 8);
	msgpack_pack_uint64(&pk, r->head);
	zmq_send(r->pub, WIRE_HEARTBEAT, strlen(WIRE_HEARTBEAT), ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(r->pub, sb.data, sb.size, ZMQ_DONTWAIT);
	msgpack_sbuffer_destroy(&sb);
}

json_t *router_stats_json(const struct router_stats *s)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "received", (json_int_t)s->received, "stored", (json_int_t)s->stored,
			 "duplicates", (json_int_t)s->duplicates, "rejected",
			 (json_int_t)s->rejected, "events", (json_int_t)s->events, "batches",
			 (json_int_t)s->batches, "commit_failures",
			 (json_int_t)s->commit_failures, "commands", (json_int_t)s->commands,
			 "max_batch", (json_int_t)s->max_batch);
}

/* The availability of the queues now (router/rules/availability.c), or NULL. */
static json_t *router_availability(struct router *r)
{
	struct store_txn *txn = NULL;
	json_t *q = NULL;

	if (store_txn_begin(r->st, 1, &txn) == GW_OK)
		q = assign_availability(r->rt, txn, gw_now_ms());
	store_txn_abort(txn);
	return q;
}

/* router_write_status - run/router.json for `gatewayctl status`, and the
 * queues' availability for the connectors that show it (the live chat). */
static void router_write_status(struct router *r)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:{s:o*, s:o*}, s:o*}",
			      "process", "router", "name", "router", "pid", (json_int_t)getpid(),
			      "started_at", (json_int_t)r->started_at, "updated_at",
			      (json_int_t)gw_now_ms(), "head_seq", (json_int_t)r->head,
			      "counters", router_stats_json(&r->stats), "histograms",
			      "batch_size", gw_histo_json(&r->stats.batch_size),
			      "commit_seconds", gw_histo_json(&r->stats.commit_seconds),
			      "queues", router_availability(r));
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int rc = text ? gw_write_file_atomic(r->status_path, text, strlen(text)) : GW_ENOMEM;

	free(text);
	json_decref(o);
	/* Written every second: a failure is logged once, and so is the recovery. */
	if (rc != GW_OK && r->status_rc == GW_OK)
		GW_WARN("router", "cannot write %s (gatewayctl status shows it stale): %s",
			r->status_path, gw_err_text(rc));
	else if (rc == GW_OK && r->status_rc != GW_OK)
		GW_INFO("router", "%s written again", r->status_path);
	r->status_rc = rc;
}

uint64_t router_head(const struct router *r)
{
	return r->head;
}

static int sla_tick_txn(struct batch *b, void *arg)
{
	return sla_fire(b, *(const int64_t *)arg);
}

static int assign_tick_txn(struct batch *b, void *arg)
{
	return assign_tick(b, *(const int64_t *)arg);
}

/*
 * router_routing_tick - fires what is due by the wall clock (SLA warnings
 * and breaches; working hours beginning or ending; automatic messages),
 * each in a transaction
 * of its own so that a failure of one does not hold the other back, then
 * finds when to look again. After a failure the due SLA entries are still
 * there: it waits a whole tick rather than retrying at once, and logs once
 * per run of failures.
 */
static void router_routing_tick(struct router *r)
{
	int64_t now = gw_now_ms(), next = now + ROUTER_ROUTING_TICK_MS, due, at;
	struct store_txn *txn = NULL;
	int rc, rc_assign, rc_auto;

	if (now < r->next_routing_ms)
		return;
	rc = router_txn(r, sla_tick_txn, &now);
	rc_assign = router_txn(r, assign_tick_txn, &now);
	/* Automatic messages (rules/autoreply.c) log their own failures; an
	 * entry a store failure kept waits a whole tick too. */
	rc_auto = autoreply_tick(r, now);
	if (rc || rc_assign) {
		if (!r->routing_failing)
			GW_ERROR("router", "routing timer: SLA clocks: %s, working hours: %s "
					   "(retrying every %d ms)",
				 gw_err_name(rc), gw_err_name(rc_assign), ROUTER_ROUTING_TICK_MS);
		r->routing_failing = 1;
		r->next_routing_ms = next;
		return;
	}
	if (r->routing_failing)
		GW_INFO("router", "routing timer: working again");
	r->routing_failing = 0;
	if (store_txn_begin(r->st, 1, &txn) == GW_OK && store_sla_next(txn, &due) == GW_OK &&
	    due < next)
		next = due;
	if (txn && !rc_auto && store_autoreply_next(txn, &due) == GW_OK && due < next)
		next = due;
	store_txn_abort(txn);
	at = assign_next_ms(r->rt, now);
	if (at < next)
		next = at;
	r->next_routing_ms = next > now ? next : now + 1;
}

static void router_timers(struct router *r)
{
	int64_t now = gw_mono_us();

	router_routing_tick(r);
	if (now >= r->next_heartbeat_us) {
		router_heartbeat(r);
		r->next_heartbeat_us = now + r->cfg->router.heartbeat_ms * 1000;
	}
	if (now >= r->next_status_us) {
		router_write_status(r);
		r->next_status_us = now + ROUTER_STATUS_US;
	}
	if (now >= deliver_next_us(r->dl))
		deliver_tick(r);
}

static long router_poll_timeout_ms(const struct router *r)
{
	int64_t now = gw_mono_us();
	int64_t next = r->next_heartbeat_us < r->next_status_us ? r->next_heartbeat_us
								  : r->next_status_us;

	int64_t routing = now + (r->next_routing_ms - gw_now_ms()) * 1000;

	if (deliver_next_us(r->dl) < next)
		next = deliver_next_us(r->dl);
	if (routing < next)
		next = routing;
	return next <= now ? 0 : (long)((next - now) / 1000 + 1);
}

const struct gw_config *router_config(const struct router *r)
{
	return r->reloaded ? r->reloaded : r->cfg;
}

int router_reload(struct router *r)
{
	struct gw_config *cfg = NULL;
	struct routing *rt = NULL;
	char err[512] = "";
	int rc = gw_config_load(r->cfg->path, r->cfg->state_dir, &cfg, err, sizeof(err));

	if (rc == GW_OK)
		rc = routing_create(&cfg->routing, &rt, err, sizeof(err));
	if (rc != GW_OK) {
		GW_ERROR("router", "reload: %s; the routing in use is kept",
			 err[0] ? err : gw_strerror(rc));
		gw_config_free(cfg);
		return rc;
	}
	routing_destroy(r->rt);
	gw_config_free(r->reloaded);
	rt->csat = &cfg->csat;
	r->rt = rt;
	r->batch.rt = rt;
	r->reloaded = cfg;
	r->next_routing_ms = 0; /* new working hours and SLA targets: look again now */
	gw_log_set_level((enum gw_log_level)cfg->log_level);
	GW_INFO("router", "reload: routing from %s: %zu queues, %zu agents; endpoints, "
		"connectors and store settings apply at the next restart",
		cfg->path, cfg->routing.n_queues, cfg->routing.n_agents);
	return GW_OK;
}

int router_run(struct router *r, volatile int *stop, volatile int *reload)
{
	zmq_pollitem_t items[2] = {
		{r->ingest, 0, ZMQ_POLLIN, 0},
		{r->cmd, 0, ZMQ_POLLIN, 0},
	};
	uint64_t failures = 0;

	router_write_status(r);
	while (!*stop) {
		int n = zmq_poll(items, 2, router_poll_timeout_ms(r));
		int err = errno;

		if (n < 0 && err != EINTR) {
			GW_ERROR("router", "poll: %s", zmq_strerror(err));
			return GW_EBUS;
		}
		if (reload && *reload) {
			*reload = 0;
			router_reload(r);
		}
		if (n > 0 && (items[0].revents & ZMQ_POLLIN)) {
			/* Group commit: drain the ingest socket, one commit per round. */
			for (int i = 0; i < 64 && !*stop && router_batch(r) > 0; i++)
				;
		}
		if (n > 0 && (items[1].revents & ZMQ_POLLIN))
			while (command_handle(r) > 0)
				r->stats.commands++;
		router_timers(r);
		if (r->stats.commit_failures != failures) {
			/* Do not spin on a store that keeps failing. */
			failures = r->stats.commit_failures;
			zmq_poll(NULL, 0, 100);
		}
	}
	GW_INFO("router", "stopping at head seq %llu", (unsigned long long)r->head);
	return GW_OK;
}

/*
 * outbox.c - spool + ZeroMQ hand-off to the router (see outbox.h).
 *
 * Keys are the spool's increasing 64-bit keys. Sent, unacknowledged entries
 * sit in `ring` in key order with the time they were sent; acknowledgements
 * mark them, and the acknowledged head of the ring is popped. When the head
 * has waited resend_ms without an answer (the router restarted, a message
 * was dropped with its connection), everything from the head on is sent
 * again: the router deduplicates, so a resend never doubles a message.
 * Acknowledged keys are deleted from the spool in the same transaction as the
 * next commit, or on their own after a short delay when no commit comes.
 *
 * Replies travel the other way on the same socket: the read loop that takes
 * acks also takes "deliver" frames and hands each to the deliver callback
 * (a bounded number per pump); the callback's outbox_report() calls queue
 * reports in a bounded ring that the pump sends. Reports are not spooled:
 * one lost with a connection leaves the delivery pending in the router,
 * which hands it over again and gets a fresh report. A "hello" tells the
 * router which instance and channel this socket is, sent as soon as the
 * connection is up and again every OB_HELLO_US, so that a restarted router
 * learns its peers without waiting for a message.
 *
 * The asynchronous commit hands the queue and the deletions to a commit
 * thread by swapping buffers: the owner goes on queuing into the other
 * pair while the thread writes. Everything the thread touches is under
 * `job.mu` or was handed over with the job; the owner applies the result
 * (end_key, counters) itself when it polls, so the ring, the send key and
 * the socket never leave its thread. While a commit is in flight the owner
 * writes nothing to the spool (deletions wait for the next commit), so the
 * spool's next key is never read while the thread moves it.
 */
#include "connectors/outbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "core/bus.h"
#include "proto/proto.h"
#include "proto/proto_desc.h"
#include "proto/wire.h"
#include "store/spool.h"
#include "store/spool_quarantine.h"
#include "store/store_int.h"

#define OB_DEL_FLUSH_US 100000 /* delete acknowledged keys at least this often */
#define OB_DEL_MAX 8192        /* or when this many are waiting */
#define OB_HELLO_US 3000000    /* hello again after this long */
#define OB_DELIVER_PER_PUMP 64 /* deliveries handed over by one pump */
#define OB_REPORT_MAX 1024     /* reports waiting to be sent */
#define OB_REASON_MAX 256      /* bytes of a report's reason */
#define OB_SERVE_MAX 64        /* (channel, account) pairs announced by hello */

struct ob_report {
	uint64_t id;
	char status[16];
	char reason[OB_REASON_MAX];
	char ref_account[PROTO_MAX_ACCOUNT + 1]; /* the provider's id of the */
	char ref_id[PROTO_MAX_EXTERNAL_ID + 1];  /* reply, "" when none */
};

/* A (channel, account) pair the instance serves besides its own (hello). */
struct ob_serve {
	char channel[PROTO_MAX_CHANNEL + 1];
	char account[PROTO_MAX_ACCOUNT + 1];
};

struct ob_sent {
	uint64_t key;
	int64_t sent_us;
	int acked;
};

/* The commit thread's one job (see the top of the file). */
struct ob_job {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int running;             /* the thread exists */
	int todo;                /* handed over, not yet taken by the thread */
	int done;                /* written: rc, first, spooled are set */
	int stop;                /* outbox_close: the thread returns */
	struct spool_rec *recs;  /* owned, with their data, while in flight */
	size_t nrecs;
	uint64_t *del;           /* OB_DEL_MAX keys */
	size_t ndel;
	int rc;
	int after_rc;            /* the second step's, when rc is GW_OK */
	uint64_t first, spooled;
	void (*wake)(void *arg);
	void *wake_arg;
	int (*after)(void *arg); /* outbox_set_after: a second step */
	void *after_arg;
};

struct outbox {
	struct outbox_options opt;
	char *dir, *endpoint, *module;
	struct spool *sp;
	void *zctx, *sock;
	struct spool_rec *queue; /* added, not committed; data owned */
	size_t nqueue;
	uint64_t *del; /* acknowledged keys awaiting deletion */
	size_t ndel;
	int64_t del_since_us;
	struct ob_sent *ring; /* in flight, ascending keys */
	size_t ring_head, ring_len;
	uint64_t send_key; /* next key to send */
	uint64_t end_key;  /* one past the last committed key */
	struct outbox_stats st;
	char *instance, *channel; /* for hello; instance NULL: no hello */
	int64_t next_hello_us;
	struct ob_serve *serve;   /* OB_SERVE_MAX pairs, allocated on first use */
	size_t nserve;
	outbox_deliver_fn deliver;
	void *deliver_arg;
	outbox_signal_fn signal;    /* ["signal", event]: NULL drops them */
	void *signal_arg;
	int in_deliver; /* the callback runs: a nested pump reads nothing */
	struct ob_report *reports; /* ring of OB_REPORT_MAX */
	size_t rep_head, rep_len;
	struct ob_job job;
	int inflight;   /* a job was started and is not finished */
	int unreported; /* finished, its rc not yet returned by a poll */
	int unreported_rc;
};

static int ob_socket(struct outbox *ob)
{
	int one = 1, zero = 0, hwm = (int)ob->opt.max_inflight * 2 + 1024;
	char why[512];

	ob->zctx = zmq_ctx_new();
	if (!ob->zctx)
		return GW_EBUS;
	ob->sock = zmq_socket(ob->zctx, ZMQ_DEALER);
	if (!ob->sock)
		return GW_EBUS;
	/* IMMEDIATE: never queue into a connection that is not up, so that a
	 * send to a dead router fails at once and the entry stays due. */
	zmq_setsockopt(ob->sock, ZMQ_IMMEDIATE, &one, sizeof(one));
	zmq_setsockopt(ob->sock, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(ob->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(ob->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	if (ob->opt.bus && bus_client_setup(ob->sock, ob->opt.bus, ob->endpoint, why,
					    sizeof(why)) != GW_OK) {
		GW_ERROR(ob->module, "cannot connect to the router: %s", why);
		return GW_ECONFIG;
	}
	if (zmq_connect(ob->sock, ob->endpoint) != 0) {
		GW_ERROR(ob->module, "cannot connect to router at %s: %s", ob->endpoint,
			 zmq_strerror(errno));
		return GW_EBUS;
	}
	return GW_OK;
}

/* ob_queue_cap - events one commit takes at most (both queue buffers). */
static size_t ob_queue_cap(const struct outbox *ob)
{
	return ob->opt.max_entries < 65536 ? ob->opt.max_entries : 65536;
}

static int ob_init(struct outbox *ob, const struct outbox_options *opt)
{
	/* First, so that outbox_close() may always destroy them. */
	pthread_mutex_init(&ob->job.mu, NULL);
	pthread_cond_init(&ob->job.cv, NULL);
	ob->opt = *opt;
	if (ob->opt.max_inflight == 0)
		ob->opt.max_inflight = 4096;
	if (ob->opt.max_entries == 0)
		ob->opt.max_entries = 1000000;
	if (ob->opt.resend_ms <= 0)
		ob->opt.resend_ms = 2000;
	ob->dir = gw_strdup(opt->dir);
	ob->endpoint = gw_strdup(opt->endpoint);
	ob->module = gw_strdup(opt->log_module ? opt->log_module : "outbox");
	ob->ring = calloc(ob->opt.max_inflight, sizeof(*ob->ring));
	ob->del = calloc(OB_DEL_MAX, sizeof(*ob->del));
	ob->queue = calloc(ob_queue_cap(ob), sizeof(*ob->queue));
	ob->reports = calloc(OB_REPORT_MAX, sizeof(*ob->reports));
	ob->job.del = calloc(OB_DEL_MAX, sizeof(*ob->job.del));
	ob->job.recs = calloc(ob_queue_cap(ob), sizeof(*ob->job.recs));
	if (!ob->dir || !ob->endpoint || !ob->module || !ob->ring || !ob->del || !ob->queue ||
	    !ob->reports || !ob->job.del || !ob->job.recs)
		return GW_ENOMEM;
	if (opt->instance) {
		ob->instance = gw_strdup(opt->instance);
		ob->channel = gw_strdup(opt->channel ? opt->channel : "");
		if (!ob->instance || !ob->channel)
			return GW_ENOMEM;
	}
	ob->opt.instance = ob->instance;
	ob->opt.channel = ob->channel;
	return GW_OK;
}

/* ob_count - the number of spooled entries into *n, for the status; on a
 * failure (logged) *n keeps its value. Either thread may call it. */
static void ob_count(struct outbox *ob, uint64_t *n)
{
	int rc = spool_count(ob->sp, n);

	if (rc != GW_OK)
		GW_WARN(ob->module, "cannot count the spool: %s", gw_strerror(rc));
}

static int first_key_fn(void *arg, uint64_t key, const void *data, size_t len)
{
	(void)data;
	(void)len;
	*(uint64_t *)arg = key;
	return 1;
}

int outbox_open(const struct outbox_options *opt, struct outbox **out)
{
	struct outbox *ob = calloc(1, sizeof(*ob));
	uint64_t first = 0;
	int rc;

	*out = NULL;
	if (!ob)
		return GW_ENOMEM;
	rc = ob_init(ob, opt);
	if (rc)
		goto out;
	rc = spool_open(ob->dir, opt->map_size ? opt->map_size : (size_t)1 << 30, &ob->sp);
	if (rc)
		goto out;
	rc = spool_write(ob->sp, NULL, 0, NULL, 0, &ob->end_key);
	if (rc)
		goto out;
	rc = spool_scan(ob->sp, 0, first_key_fn, &first);
	if (rc)
		goto out;
	ob->send_key = first ? first : ob->end_key;
	ob_count(ob, &ob->st.spooled);
	if (ob->st.spooled)
		GW_INFO(ob->module, "%llu spooled messages will be sent to the router again",
			(unsigned long long)ob->st.spooled);
	rc = spool_q_stat(ob->sp, &ob->st.quarantined, &ob->st.quarantine_bytes);
	if (rc == GW_OK)
		rc = ob_socket(ob);
out:
	if (rc) {
		outbox_close(ob);
		return rc;
	}
	*out = ob;
	return GW_OK;
}

static void ob_free_recs(struct spool_rec *recs, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((void *)recs[i].data);
	*n = 0;
}

static void ob_free_queue(struct outbox *ob)
{
	ob_free_recs(ob->queue, &ob->nqueue);
}

static void ob_wait_inflight(struct outbox *ob);

/* ob_thread_stop - waits for a commit in flight, then ends the thread. */
static void ob_thread_stop(struct outbox *ob)
{
	if (!ob->job.running)
		return;
	ob_wait_inflight(ob);
	pthread_mutex_lock(&ob->job.mu);
	ob->job.stop = 1;
	pthread_cond_broadcast(&ob->job.cv);
	pthread_mutex_unlock(&ob->job.mu);
	pthread_join(ob->job.thread, NULL);
	ob->job.running = 0;
}

void outbox_close(struct outbox *ob)
{
	if (!ob)
		return;
	ob_thread_stop(ob);
	/* Acknowledged keys not yet deleted are deleted now; had we crashed
	 * instead, they would be resent and reported as duplicates. */
	if (ob->sp && ob->ndel && spool_write(ob->sp, ob->del, ob->ndel, NULL, 0, NULL) != GW_OK)
		GW_WARN(ob->module, "%zu acknowledged entries stay in the spool: sent again at the "
			"next start, answered duplicate", ob->ndel);
	if (ob->sock)
		zmq_close(ob->sock);
	if (ob->zctx)
		zmq_ctx_term(ob->zctx);
	ob_free_queue(ob);
	spool_close(ob->sp);
	pthread_mutex_destroy(&ob->job.mu);
	pthread_cond_destroy(&ob->job.cv);
	free(ob->job.recs);
	free(ob->job.del);
	free(ob->queue);
	free(ob->del);
	free(ob->ring);
	free(ob->reports);
	free(ob->serve);
	free(ob->instance);
	free(ob->channel);
	free(ob->dir);
	free(ob->endpoint);
	free(ob->module);
	free(ob);
}

int outbox_add_event(struct outbox *ob, const struct proto_event *ev, struct proto_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (err)
		memset(err, 0, sizeof(*err));
	rc = proto_encode(ev, &buf, &len, err);
	if (rc == GW_OK)
		rc = outbox_add(ob, buf, len);
	free(buf);
	return rc;
}

size_t outbox_queued(const struct outbox *ob)
{
	return ob->nqueue;
}

/* ob_queue_rec - a copy of `data` queued for the next commit. */
static int ob_queue_rec(struct outbox *ob, const void *data, size_t len, int quarantine)
{
	void *copy = malloc(len);

	if (!copy)
		return GW_ENOMEM;
	memcpy(copy, data, len);
	ob->queue[ob->nqueue].data = copy;
	ob->queue[ob->nqueue].len = len;
	ob->queue[ob->nqueue].quarantine = quarantine;
	ob->nqueue++;
	ob->st.queued = ob->nqueue;
	return GW_OK;
}

int outbox_add(struct outbox *ob, const void *data, size_t len)
{
	if (len == 0 || len > PROTO_MAX_EVENT_BYTES)
		return GW_ETOOBIG;
	/* job.nrecs: in flight, not yet counted in spooled (owner-only field). */
	if (ob->nqueue >= ob_queue_cap(ob) ||
	    ob->st.spooled + ob->job.nrecs + ob->nqueue >= ob->opt.max_entries)
		return GW_EFULL;
	return ob_queue_rec(ob, data, len, 0);
}

int outbox_add_quarantine(struct outbox *ob, const void *rec, size_t len)
{
	if (len == 0 || len > SPOOLQ_DATA_MAX + 4096)
		return GW_ETOOBIG;
	if (ob->nqueue >= ob_queue_cap(ob))
		return GW_EFULL;
	return ob_queue_rec(ob, rec, len, 1);
}

/* ob_tally - the events and the quarantine records (and their bytes) of
 * `n` records. */
static size_t ob_tally(const struct spool_rec *recs, size_t n, uint64_t *nq, uint64_t *qbytes)
{
	size_t events = 0;

	*nq = *qbytes = 0;
	for (size_t i = 0; i < n; i++) {
		if (recs[i].quarantine) {
			(*nq)++;
			*qbytes += recs[i].len;
		} else {
			events++;
		}
	}
	return events;
}

/* ob_committed - the counters after `n` records of `recs` are durable. */
static void ob_committed(struct outbox *ob, const struct spool_rec *recs, size_t n)
{
	uint64_t nq, qbytes;
	size_t events = ob_tally(recs, n, &nq, &qbytes);

	ob->st.committed += events;
	ob->st.quarantined += nq;
	ob->st.quarantine_bytes += qbytes;
}

void outbox_rollback(struct outbox *ob, size_t mark)
{
	while (ob->nqueue > mark) {
		ob->nqueue--;
		free((void *)ob->queue[ob->nqueue].data);
		ob->queue[ob->nqueue].data = NULL;
	}
	ob->st.queued = ob->nqueue;
}

static int ob_write(struct outbox *ob, const struct spool_rec *add, size_t nadd)
{
	uint64_t first = 0;
	int rc;

	uint64_t nq, qb;

	rc = spool_write(ob->sp, ob->del, ob->ndel, add, nadd, &first);
	if (rc)
		return rc;
	ob->ndel = 0;
	ob->del_since_us = 0;
	ob->end_key = first + ob_tally(add, nadd, &nq, &qb);
	ob_count(ob, &ob->st.spooled);
	return GW_OK;
}

int outbox_commit(struct outbox *ob)
{
	size_t n;
	int rc;

	ob_wait_inflight(ob);
	n = ob->nqueue;
	if (n == 0)
		return GW_OK;
	rc = ob_write(ob, ob->queue, n);
	if (rc == GW_OK)
		ob_committed(ob, ob->queue, n);
	ob_free_queue(ob);
	ob->st.queued = 0;
	if (rc) {
		GW_ERROR(ob->module, "spool commit of %zu messages failed: %s", n, gw_strerror(rc));
		return rc;
	}
	/* The events are durable whatever the pump says: a failure to send or
	 * to delete acknowledged keys is for the next tick to report, never a
	 * reason to tell providers their messages were not stored. */
	(void)outbox_pump(ob);
	return GW_OK;
}

static struct ob_sent *ring_at(struct outbox *ob, size_t i)
{
	return &ob->ring[(ob->ring_head + i) % ob->opt.max_inflight];
}

/* ring_find - the in-flight entry of `key` (binary search: keys ascend). */
static struct ob_sent *ring_find(struct outbox *ob, uint64_t key)
{
	size_t lo = 0, hi = ob->ring_len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct ob_sent *s = ring_at(ob, mid);

		if (s->key == key)
			return s;
		if (s->key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void ring_pop_acked(struct outbox *ob)
{
	while (ob->ring_len && ring_at(ob, 0)->acked) {
		ob->ring_head = (ob->ring_head + 1) % ob->opt.max_inflight;
		ob->ring_len--;
	}
}

struct ob_send_ctx {
	struct outbox *ob;
	int64_t now;
	int stop_reason; /* 0, or GW_EAGAIN when the socket would block */
};

static int ob_send_one(void *arg, uint64_t key, const void *data, size_t len)
{
	struct ob_send_ctx *c = arg;
	struct outbox *ob = c->ob;
	unsigned char kb[8];
	struct ob_sent *s;

	if (ob->ring_len >= ob->opt.max_inflight)
		return 1;
	store_be64_put(kb, key);
	if (zmq_send(ob->sock, WIRE_INGEST_MSG, strlen(WIRE_INGEST_MSG),
		     ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
		c->stop_reason = GW_EAGAIN;
		return 1;
	}
	/* Once the first frame is queued, the others are queued atomically. */
	zmq_send(ob->sock, kb, 8, ZMQ_SNDMORE);
	zmq_send(ob->sock, data, len, 0);
	s = ring_at(ob, ob->ring_len++);
	s->key = key;
	s->sent_us = c->now;
	s->acked = 0;
	ob->send_key = key + 1;
	return 0;
}

static int ob_send_due(struct outbox *ob, int64_t now)
{
	struct ob_send_ctx c = {ob, now, 0};

	if (ob->send_key >= ob->end_key || ob->ring_len >= ob->opt.max_inflight)
		return GW_OK;
	return spool_scan(ob->sp, ob->send_key, ob_send_one, &c);
}

static void ob_check_resend(struct outbox *ob, int64_t now)
{
	struct ob_sent *head;

	if (!ob->ring_len)
		return;
	head = ring_at(ob, 0);
	if (now - head->sent_us < (int64_t)ob->opt.resend_ms * 1000)
		return;
	GW_WARN(ob->module, "router silent for %d ms on %zu messages: sending again from key %llu",
		ob->opt.resend_ms, ob->ring_len, (unsigned long long)head->key);
	ob->st.resent += ob->ring_len;
	ob->send_key = head->key;
	ob->ring_len = 0;
}

static void ob_handle_ack(struct outbox *ob, uint64_t key, const char *result,
			  size_t rlen, const char *reason, size_t reason_len)
{
	struct ob_sent *s = ring_find(ob, key);

	if (s && !s->acked) {
		s->acked = 1;
		ob->st.acked++;
	}
	if (rlen == strlen(WIRE_RESULT_DUPLICATE) &&
	    memcmp(result, WIRE_RESULT_DUPLICATE, rlen) == 0)
		ob->st.duplicates++;
	else if (rlen == strlen(WIRE_RESULT_REJECTED) &&
		 memcmp(result, WIRE_RESULT_REJECTED, rlen) == 0) {
		ob->st.rejected++;
		GW_WARN(ob->module, "router rejected spooled message %llu: %.*s",
			(unsigned long long)key, (int)(reason_len > 200 ? 200 : reason_len),
			reason);
	}
	if (ob->ndel < OB_DEL_MAX) {
		if (ob->ndel == 0)
			ob->del_since_us = gw_mono_us();
		ob->del[ob->ndel++] = key;
	}
}

static int frame_eq(zmq_msg_t *m, const char *s)
{
	size_t l = strlen(s);

	return zmq_msg_size(m) == l && memcmp(zmq_msg_data(m), s, l) == 0;
}

/* ob_report_failed - queues a "failed" report naming why, logged when the
 * report ring is full (the router hands the delivery over again). */
static void ob_report_failed(struct outbox *ob, uint64_t id, const char *why)
{
	if (outbox_report(ob, id, "failed", why) != GW_OK)
		GW_WARN(ob->module, "report of delivery %llu dropped: report queue full",
			(unsigned long long)id);
}

/* ob_channel_of - "channel X cannot send replies yet", X the reply's own
 * channel (one instance may serve several, e.g. Meta's), else the
 * outbox's. */
static void ob_channel_of(const struct outbox *ob, const void *event, size_t len, char *why,
			  size_t size)
{
	struct proto_event ev;
	const char *ch = ob->channel && ob->channel[0] ? ob->channel : "?";
	int ok = proto_decode(event, len, &ev, NULL) == GW_OK;

	if (ok && ev.type == PROTO_T_MESSAGE_SENT)
		ch = ev.u.message.channel;
	snprintf(why, size, "channel %s cannot send replies yet", ch);
	proto_event_clear(&ev); /* decode leaves a cleared or a zeroed event */
}

/* ob_handle_deliver - hands one delivery to the callback, or reports it
 * failed when there is none or the callback refuses it. */
static void ob_handle_deliver(struct outbox *ob, uint64_t id, const void *event, size_t len)
{
	char why[OB_REASON_MAX];
	int rc;

	ob->st.delivered++;
	if (!ob->deliver) {
		ob_channel_of(ob, event, len, why, sizeof(why));
		ob_report_failed(ob, id, why);
		return;
	}
	ob->in_deliver = 1;
	rc = ob->deliver(ob->deliver_arg, event, len, id);
	ob->in_deliver = 0;
	if (rc == GW_EFULL || rc == GW_EAGAIN) {
		/* Busy, not wrong: unreported, the router hands it over again. */
		GW_DEBUG(ob->module, "delivery %llu left for later: %s", (unsigned long long)id,
			 gw_strerror(rc));
	} else if (rc != GW_OK) {
		GW_WARN(ob->module, "delivery %llu refused: %s", (unsigned long long)id,
			gw_strerror(rc));
		snprintf(why, sizeof(why), "the connector refused it: %s", gw_strerror(rc));
		ob_report_failed(ob, id, why);
	}
}

/* ob_dispatch - one message from the router: an ack or a delivery. */
static void ob_dispatch(struct outbox *ob, zmq_msg_t *f, int n, int *delivers)
{
	if (n == 4 && frame_eq(&f[0], WIRE_INGEST_ACK) && zmq_msg_size(&f[1]) == 8) {
		ob_handle_ack(ob, store_be64_get(zmq_msg_data(&f[1])), zmq_msg_data(&f[2]),
			      zmq_msg_size(&f[2]), zmq_msg_data(&f[3]), zmq_msg_size(&f[3]));
	} else if (n == 3 && frame_eq(&f[0], WIRE_INGEST_DELIVER) && zmq_msg_size(&f[1]) == 8) {
		(*delivers)++;
		ob_handle_deliver(ob, store_be64_get(zmq_msg_data(&f[1])), zmq_msg_data(&f[2]),
				  zmq_msg_size(&f[2]));
	} else if (n == 2 && frame_eq(&f[0], WIRE_INGEST_SIGNAL)) {
		if (ob->signal)
			ob->signal(ob->signal_arg, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]));
	} else if (n > 0) {
		GW_WARN(ob->module, "malformed message from the router ignored");
	}
}

/* ob_recv - reads one message from the router if there is one: 1 read,
 * 0 none. */
static int ob_recv(struct outbox *ob, int *delivers)
{
	zmq_msg_t f[4];
	int n = 0, more = 1, got = 0;

	while (more && n < 4) {
		zmq_msg_init(&f[n]);
		if (zmq_msg_recv(&f[n], ob->sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
			zmq_msg_close(&f[n]);
			more = 0;
			break;
		}
		more = zmq_msg_more(&f[n]);
		n++;
	}
	/* Drain any unexpected extra frames of a malformed message. */
	while (more) {
		zmq_msg_t extra;

		zmq_msg_init(&extra);
		zmq_msg_recv(&extra, ob->sock, 0);
		more = zmq_msg_more(&extra);
		zmq_msg_close(&extra);
		n = 5; /* too many frames: neither an ack nor a delivery */
	}
	ob_dispatch(ob, f, n, delivers);
	got = n > 0;
	for (int i = 0; i < n && i < 4; i++)
		zmq_msg_close(&f[i]);
	return got;
}

/* ob_send_hello - says who this socket is, when due. With IMMEDIATE a send
 * before the connection is up fails; it is tried again at the next pump. */
static void ob_send_hello(struct outbox *ob, int64_t now)
{
	if (!ob->instance || now < ob->next_hello_us)
		return;
	if (zmq_send(ob->sock, WIRE_INGEST_HELLO, strlen(WIRE_INGEST_HELLO),
		     ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return;
	zmq_send(ob->sock, ob->instance, strlen(ob->instance), ZMQ_SNDMORE);
	zmq_send(ob->sock, ob->channel, strlen(ob->channel), 0);
	/* The pairs of outbox_serve(): one hello each, the account standing
	 * where the instance name stands. */
	for (size_t i = 0; i < ob->nserve; i++) {
		const struct ob_serve *p = &ob->serve[i];

		if (zmq_send(ob->sock, WIRE_INGEST_HELLO, strlen(WIRE_INGEST_HELLO),
			     ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
			break;
		zmq_send(ob->sock, p->account, strlen(p->account), ZMQ_SNDMORE);
		zmq_send(ob->sock, p->channel, strlen(p->channel), 0);
	}
	ob->next_hello_us = now + OB_HELLO_US;
}

int outbox_serve(struct outbox *ob, const char *channel, const char *account)
{
	size_t i;

	if (!channel || !account || !channel[0] || !account[0] ||
	    strlen(channel) > PROTO_MAX_CHANNEL || strlen(account) > PROTO_MAX_ACCOUNT)
		return GW_EINVAL;
	for (i = 0; i < ob->nserve; i++)
		if (strcmp(ob->serve[i].channel, channel) == 0 &&
		    strcmp(ob->serve[i].account, account) == 0)
			return GW_OK;
	if (ob->nserve >= OB_SERVE_MAX)
		return GW_EFULL;
	if (!ob->serve && !(ob->serve = calloc(OB_SERVE_MAX, sizeof(*ob->serve))))
		return GW_ENOMEM;
	snprintf(ob->serve[ob->nserve].channel, sizeof(ob->serve[0].channel), "%s", channel);
	snprintf(ob->serve[ob->nserve].account, sizeof(ob->serve[0].account), "%s", account);
	ob->nserve++;
	ob->next_hello_us = 0; /* announced with the next pump */
	return GW_OK;
}

/* ob_send_reports - sends the queued reports until the socket refuses. */
static void ob_send_reports(struct outbox *ob)
{
	while (ob->rep_len) {
		struct ob_report *r = &ob->reports[ob->rep_head];
		unsigned char kb[8];

		if (zmq_send(ob->sock, WIRE_INGEST_REPORT, strlen(WIRE_INGEST_REPORT),
			     ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
			return;
		store_be64_put(kb, r->id);
		zmq_send(ob->sock, kb, 8, ZMQ_SNDMORE);
		zmq_send(ob->sock, r->status, strlen(r->status), ZMQ_SNDMORE);
		zmq_send(ob->sock, r->reason, strlen(r->reason), ZMQ_SNDMORE);
		zmq_send(ob->sock, r->ref_account, strlen(r->ref_account), ZMQ_SNDMORE);
		zmq_send(ob->sock, r->ref_id, strlen(r->ref_id), 0);
		ob->rep_head = (ob->rep_head + 1) % OB_REPORT_MAX;
		ob->rep_len--;
		ob->st.reports++;
	}
}

void outbox_set_deliver(struct outbox *ob, outbox_deliver_fn fn, void *arg)
{
	ob->deliver = fn;
	ob->deliver_arg = arg;
}

void outbox_set_signal(struct outbox *ob, outbox_signal_fn fn, void *arg)
{
	ob->signal = fn;
	ob->signal_arg = arg;
}

/* ob_report_ok - whether a report's strings can go: a known status, and a
 * reference that fits and is valid UTF-8 (the router stores it). */
static int ob_report_ok(const char *status, const char *ref_account, const char *ref_id)
{
	static const char *const known[] = {"sent", "delivered", "read", "failed"};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (status && strcmp(status, known[i]) == 0)
			break;
	if (i == sizeof(known) / sizeof(known[0]))
		return 0;
	if (!ref_id || !ref_id[0])
		return 1;
	return ref_account && strlen(ref_account) <= PROTO_MAX_ACCOUNT &&
	       strlen(ref_id) <= PROTO_MAX_EXTERNAL_ID &&
	       proto_utf8_valid(ref_account, strlen(ref_account)) &&
	       proto_utf8_valid(ref_id, strlen(ref_id));
}

int outbox_report_ref(struct outbox *ob, uint64_t delivery_id, const char *status,
		      const char *reason, const char *ref_account, const char *ref_id)
{
	struct ob_report *r;

	if (!ob_report_ok(status, ref_account, ref_id))
		return GW_EINVAL;
	if (ob->rep_len >= OB_REPORT_MAX)
		return GW_EFULL;
	r = &ob->reports[(ob->rep_head + ob->rep_len) % OB_REPORT_MAX];
	r->id = delivery_id;
	snprintf(r->status, sizeof(r->status), "%s", status);
	snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
	/* A reason cut at its bound may end inside a UTF-8 sequence, which
	 * the router would refuse. */
	gw_utf8_trim(r->reason);
	r->ref_account[0] = r->ref_id[0] = '\0';
	if (ref_id && ref_id[0]) {
		snprintf(r->ref_account, sizeof(r->ref_account), "%s", ref_account);
		snprintf(r->ref_id, sizeof(r->ref_id), "%s", ref_id);
	}
	ob->rep_len++;
	return GW_OK;
}

int outbox_report(struct outbox *ob, uint64_t delivery_id, const char *status,
		  const char *reason)
{
	return outbox_report_ref(ob, delivery_id, status, reason, NULL, NULL);
}

int outbox_pump(struct outbox *ob)
{
	int64_t now = gw_mono_us();
	int rc = GW_OK, delivers = 0;

	ob_send_hello(ob, now);
	/* A pump nested in the deliver callback (it committed a message)
	 * reads nothing: the outer loop is in the middle of a message. */
	/* While a commit is in flight the deletions wait for the next one:
	 * with a full list, the acks wait in the socket. */
	while (!ob->in_deliver && rc == GW_OK && delivers < OB_DELIVER_PER_PUMP &&
	       ob->ndel < OB_DEL_MAX && ob_recv(ob, &delivers))
		if (ob->ndel >= OB_DEL_MAX && !ob->inflight)
			rc = ob_write(ob, NULL, 0);
	ring_pop_acked(ob);
	if (rc == GW_OK && ob->ndel && !ob->inflight &&
	    now - ob->del_since_us >= OB_DEL_FLUSH_US)
		rc = ob_write(ob, NULL, 0);
	ob_check_resend(ob, now);
	if (rc == GW_OK)
		rc = ob_send_due(ob, now);
	ob_send_reports(ob);
	return rc;
}

void outbox_get_stats(const struct outbox *ob, struct outbox_stats *st)
{
	*st = ob->st;
	st->queued = ob->nqueue;
}

/* ---- asynchronous commit ------------------------------------------------ */

/* ob_thread - the commit thread: writes each job handed over, then wakes
 * the owner. The write runs without the lock, so that the owner is never
 * blocked by a flush. */
static void *ob_thread(void *arg)
{
	struct outbox *ob = arg; /* only ob->sp (fixed) and ob->job are used */
	struct ob_job *j = &ob->job;

	pthread_mutex_lock(&j->mu);
	for (;;) {
		uint64_t first = 0, spooled = 0;
		int rc, arc;

		while (!j->todo && !j->stop)
			pthread_cond_wait(&j->cv, &j->mu);
		if (!j->todo)
			break;
		j->todo = 0;
		pthread_mutex_unlock(&j->mu);
		/* Nothing to write or delete: the after step alone. */
		rc = j->nrecs || j->ndel ? spool_write(ob->sp, j->del, j->ndel, j->recs, j->nrecs,
						       &first) : GW_OK;
		if (rc == GW_OK && (j->nrecs || j->ndel))
			ob_count(ob, &spooled);
		else
			spooled = UINT64_MAX; /* unchanged */
		/* Set before the start, changed only with no commit in flight. */
		arc = rc == GW_OK && j->after ? j->after(j->after_arg) : GW_OK;
		pthread_mutex_lock(&j->mu);
		j->rc = rc;
		j->after_rc = arc;
		j->first = first;
		j->spooled = spooled;
		j->done = 1;
		pthread_cond_broadcast(&j->cv);
		if (j->wake)
			j->wake(j->wake_arg); /* httpd_wake: never calls back in */
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

/* ob_finish - applies the result of the finished job on the owner's thread
 * and keeps its rc for the next poll. */
static void ob_finish(struct outbox *ob)
{
	struct ob_job *j = &ob->job;
	size_t n = j->nrecs;
	int rc, arc;

	pthread_mutex_lock(&j->mu);
	rc = j->rc;
	arc = j->after_rc;
	j->done = 0;
	pthread_mutex_unlock(&j->mu);
	if (rc == GW_OK && n > 0) {
		uint64_t nq, qb;

		ob->end_key = j->first + ob_tally(j->recs, n, &nq, &qb);
		ob_committed(ob, j->recs, n);
	}
	ob_free_recs(j->recs, &j->nrecs);
	ob->inflight = 0;
	ob->unreported = 1;
	ob->unreported_rc = rc;
	if (rc != GW_OK) {
		/* Its deletions come back for the next commit, as room allows. */
		for (size_t i = 0; i < j->ndel && ob->ndel < OB_DEL_MAX; i++)
			ob->del[ob->ndel++] = j->del[i];
		if (ob->ndel && !ob->del_since_us)
			ob->del_since_us = gw_mono_us();
		j->ndel = 0;
		GW_ERROR(ob->module, "spool commit of %zu messages failed: %s", n, gw_strerror(rc));
		return;
	}
	j->ndel = 0;
	if (j->spooled != UINT64_MAX)
		ob->st.spooled = j->spooled;
	/* The events are durable and go out; the second step's failure is
	 * what the poll reports, so that their senders retry. */
	ob->unreported_rc = arc;
	/* As in outbox_commit: durable whatever the pump says. */
	(void)outbox_pump(ob);
}

/* ob_wait_inflight - blocks until the commit in flight, if any, has ended,
 * and applies its result. */
static void ob_wait_inflight(struct outbox *ob)
{
	if (!ob->inflight)
		return;
	pthread_mutex_lock(&ob->job.mu);
	while (!ob->job.done)
		pthread_cond_wait(&ob->job.cv, &ob->job.mu);
	pthread_mutex_unlock(&ob->job.mu);
	ob_finish(ob);
}

static int ob_thread_start(struct outbox *ob)
{
	int err = pthread_create(&ob->job.thread, NULL, ob_thread, ob);

	if (err) {
		GW_ERROR(ob->module, "cannot start the commit thread: %s", strerror(err));
		return gw_err_from_errno(err);
	}
	ob->job.running = 1;
	return GW_OK;
}

/* ob_start - outbox_commit_start; `force`: also with nothing queued (the
 * after step alone). */
static int ob_start(struct outbox *ob, int force, int *started)
{
	struct ob_job *j = &ob->job;
	struct spool_rec *recs;
	uint64_t *del;
	int rc;

	*started = 0;
	if (ob->inflight || ob->unreported)
		return GW_EAGAIN;
	if (ob->nqueue == 0 && !force)
		return GW_OK;
	if (!j->running) {
		rc = ob_thread_start(ob);
		if (rc != GW_OK) {
			/* No thread: the same commit, on this thread, reported
			 * by the next poll like any other. */
			rc = outbox_commit(ob);
			if (rc == GW_OK && j->after)
				rc = j->after(j->after_arg);
			ob->unreported = 1;
			ob->unreported_rc = rc;
			*started = 1;
			if (j->wake)
				j->wake(j->wake_arg);
			return GW_OK;
		}
	}
	/* Swap the buffers: the thread takes the full pair. */
	recs = j->recs;
	j->recs = ob->queue;
	j->nrecs = ob->nqueue;
	ob->queue = recs;
	ob->nqueue = 0;
	ob->st.queued = 0;
	del = j->del;
	j->del = ob->del;
	j->ndel = ob->ndel;
	ob->del = del;
	ob->ndel = 0;
	ob->del_since_us = 0;
	pthread_mutex_lock(&j->mu);
	j->todo = 1;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	ob->inflight = 1;
	*started = 1;
	return GW_OK;
}

int outbox_commit_start(struct outbox *ob, int *started)
{
	return ob_start(ob, 0, started);
}

int outbox_after_start(struct outbox *ob, int *started)
{
	return ob_start(ob, 1, started);
}

int outbox_commit_poll(struct outbox *ob, int *rc)
{
	if (ob->inflight) {
		int done;

		pthread_mutex_lock(&ob->job.mu);
		done = ob->job.done;
		pthread_mutex_unlock(&ob->job.mu);
		if (!done)
			return 0;
		ob_finish(ob);
	}
	if (!ob->unreported)
		return 0;
	ob->unreported = 0;
	*rc = ob->unreported_rc;
	return 1;
}

void outbox_set_wake(struct outbox *ob, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&ob->job.mu);
	ob->job.wake = fn;
	ob->job.wake_arg = arg;
	pthread_mutex_unlock(&ob->job.mu);
}

void outbox_set_after(struct outbox *ob, int (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&ob->job.mu);
	ob->job.after = fn;
	ob->job.after_arg = arg;
	pthread_mutex_unlock(&ob->job.mu);
}

void outbox_commit_wait(struct outbox *ob)
{
	ob_wait_inflight(ob);
}

/* ---- the quarantine ---------------------------------------------------- */

int outbox_q_get(struct outbox *ob, uint64_t id, char **data, size_t *len)
{
	return spool_q_get(ob->sp, id, data, len);
}

int outbox_q_resolve(struct outbox *ob, uint64_t id, const void *rec, size_t rlen,
		     const struct outbox_blob *events, size_t n)
{
	struct spool_rec *add = NULL;
	char *old = NULL;
	size_t oldlen = 0;
	uint64_t first = 0;
	int rc;

	ob_wait_inflight(ob);
	rc = spool_q_get(ob->sp, id, &old, &oldlen);
	if (rc == GW_OK && n && !(add = calloc(n, sizeof(*add))))
		rc = GW_ENOMEM;
	for (size_t i = 0; rc == GW_OK && i < n; i++) {
		add[i].data = events[i].data;
		add[i].len = events[i].len;
	}
	if (rc == GW_OK)
		rc = spool_q_resolve(ob->sp, id, rec, rlen, add, n, &first);
	if (rc == GW_OK) {
		ob->end_key = first + n;
		ob->st.committed += n;
		ob->st.quarantine_bytes -= oldlen <= ob->st.quarantine_bytes ? oldlen : 0;
		ob->st.quarantine_bytes += rec ? rlen : 0;
		if (!rec && ob->st.quarantined)
			ob->st.quarantined--;
		ob_count(ob, &ob->st.spooled);
		(void)outbox_pump(ob);
	}
	free(add);
	free(old);
	return rc;
}

/*
 * jspub.c - gateway-nats' JetStream side (see jspub.h). libnats' status
 * codes are translated into gw_err here, and only here.
 */
#include "gateway/nats/jspub.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "core/err.h"
#include "core/log.h"

#define MOD "nats"
#define HDR_SEQ "Omnigate-Seq"
#define HDR_TYPE "Omnigate-Type"
#define SUBJECT_MAX 256 /* prefix (128) + "." + type */
#define MSGID_MAX 96    /* gateway_id (64) + "-" + 20 digits */
#define NS_PER_S 1000000000LL
#define CONNECT_TIMEOUT_MS 2000

struct jspub {
	const struct gw_config_nats *conf; /* borrowed */
	natsConnection *nc;
	jsCtx *js;
	char wildcard[SUBJECT_MAX];        /* <prefix>.> */
	uint64_t last_ss;                  /* stream seq the next event follows */
	/* Filled by libnats' threads (on_ack) for the window [lo, hi] only. */
	pthread_mutex_t lock;
	pthread_cond_t done;
	uint64_t lo, hi;
	size_t acked, failed, dups;
	uint64_t max_ss;
	char first_err[160];
	int reconnected;  /* set by libnats' thread, under lock */
	int published;    /* an asynchronous publish was made on p->js */
};

/* ---- translation of libnats' codes ---- */

/* gw_err of a failed libnats call, logged with what failed. */
static int nats_err(natsStatus s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int nats_err(natsStatus s, const char *fmt, ...)
{
	const char *last = nats_GetLastError(NULL);
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	GW_WARN(MOD, "%s: %s%s%s", what, natsStatus_GetText(s), last && *last ? ": " : "",
		last && *last ? last : "");
	switch (s) {
	case NATS_NO_MEMORY:
		return GW_ENOMEM;
	case NATS_INVALID_ARG:
	case NATS_SSL_ERROR:
		return GW_ECONFIG;
	default:
		return GW_EAGAIN;
	}
}

/* ---- acknowledgements (libnats' thread) ---- */

/* msg_seq - the Omnigate-Seq header of `m`; 0 when absent or malformed. */
static uint64_t msg_seq(natsMsg *m)
{
	const char *v = NULL;
	char *end = NULL;
	unsigned long long seq;

	if (natsMsgHeader_Get(m, HDR_SEQ, &v) != NATS_OK || !v || !*v)
		return 0;
	errno = 0;
	seq = strtoull(v, &end, 10);
	return errno || *end || v[0] == '-' ? 0 : (uint64_t)seq;
}


static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	struct jspub *p = closure;

	uint64_t seq = msg_seq(msg);

	(void)js;
	pthread_mutex_lock(&p->lock);
	if (seq < p->lo || seq > p->hi) {
		/* an acknowledgement of an earlier window, given up already */
	} else if (pa) {
		p->acked++;
		p->dups += pa->Duplicate ? 1 : 0;
		if (pa->Sequence > p->max_ss)
			p->max_ss = pa->Sequence;
	} else {
		p->failed++;
		if (pae && !p->first_err[0])
			snprintf(p->first_err, sizeof(p->first_err), "%s (%d)",
				 pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err),
				 (int)pae->ErrCode);
	}
	pthread_cond_signal(&p->done);
	pthread_mutex_unlock(&p->lock);
	natsMsg_Destroy(msg);
}

/* on_reconnected - libnats' thread: the server may have lost its unsynced
 * tail (docs/nats.md, Durability), so the stream is read again. */
static void on_reconnected(natsConnection *nc, void *closure)
{
	struct jspub *p = closure;

	(void)nc;
	pthread_mutex_lock(&p->lock);
	p->reconnected = 1;
	pthread_mutex_unlock(&p->lock);
}

/* ---- connection ---- */

int jspub_create(const struct gw_config_nats *conf, struct jspub **out)
{
	struct jspub *p = calloc(1, sizeof(*p));
	int n;

	*out = NULL;
	if (!p)
		return GW_ENOMEM;
	p->conf = conf;
	n = snprintf(p->wildcard, sizeof(p->wildcard), "%s.>", conf->subject_prefix);
	if (n < 0 || (size_t)n >= sizeof(p->wildcard)) {
		free(p);
		return GW_EINVAL;
	}
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		return GW_ENOMEM;
	}
	if (pthread_cond_init(&p->done, NULL) != 0) {
		pthread_mutex_destroy(&p->lock);
		free(p);
		return GW_ENOMEM;
	}
	*out = p;
	return GW_OK;
}

/* set_auth - user/password, token, creds and TLS, as configured. */
static natsStatus set_auth(natsOptions *o, const struct gw_config_nats *c)
{
	natsStatus s = NATS_OK;

	if (c->user)
		s = natsOptions_SetUserInfo(o, c->user, c->password ? c->password : "");
	if (s == NATS_OK && c->token)
		s = natsOptions_SetToken(o, c->token);
	if (s == NATS_OK && c->creds)
		s = natsOptions_SetUserCredentialsFromFiles(o, c->creds, NULL);
	if (s == NATS_OK && (c->tls_ca || c->tls_cert))
		s = natsOptions_SetSecure(o, true);
	if (s == NATS_OK && c->tls_ca)
		s = natsOptions_LoadCATrustedCertificates(o, c->tls_ca);
	if (s == NATS_OK && c->tls_cert)
		s = natsOptions_LoadCertificatesChain(o, c->tls_cert, c->tls_key);
	return s;
}

static natsStatus make_options(struct jspub *p, natsOptions **out)
{
	const struct gw_config_nats *c = p->conf;
	natsOptions *o = NULL;
	natsStatus s = natsOptions_Create(&o);

	if (s == NATS_OK)
		s = natsOptions_SetServers(o, (const char **)c->servers.v, (int)c->servers.n);
	if (s == NATS_OK)
		s = natsOptions_SetName(o, "gateway-nats");
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(o, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(o, c->reconnect_wait_ms);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, CONNECT_TIMEOUT_MS);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(o, on_reconnected, p);
	if (s == NATS_OK)
		s = set_auth(o, c);
	if (s != NATS_OK) {
		natsOptions_Destroy(o);
		o = NULL;
	}
	*out = o;
	return s;
}

static natsStatus make_js(struct jspub *p)
{
	jsOptions jo;
	natsStatus s = jsOptions_Init(&jo);

	jo.Wait = p->conf->ack_timeout_ms;
	jo.PublishAsync.MaxPending = p->conf->window;
	jo.PublishAsync.AckHandler = on_ack;
	jo.PublishAsync.AckHandlerClosure = p;
	if (s == NATS_OK)
		s = natsConnection_JetStream(&p->js, p->nc, &jo);
	return s;
}

/* ---- the stream ---- */

static void stream_config(const struct jspub *p, jsStreamConfig *sc, const char **subjects)
{
	const struct gw_config_nats *c = p->conf;

	jsStreamConfig_Init(sc);
	subjects[0] = p->wildcard;
	sc->Name = c->stream;
	sc->Description = "Omnigate events, one message per seq";
	sc->Subjects = subjects;
	sc->SubjectsLen = 1;
	sc->Retention = js_LimitsPolicy;
	sc->Discard = js_DiscardOld;
	sc->Storage = strcmp(c->storage, "memory") == 0 ? js_MemoryStorage : js_FileStorage;
	sc->Replicas = c->replicas;
	sc->MaxAge = c->max_age_s * NS_PER_S;
	sc->MaxBytes = c->max_bytes_mb ? c->max_bytes_mb * 1024 * 1024 : -1;
	sc->Duplicates = c->duplicate_window_s * NS_PER_S;
}

/* check_stream - an existing stream must hold our subjects. */
static int check_stream(const struct jspub *p, const jsStreamInfo *si)
{
	const jsStreamConfig *sc = si->Config;
	int found = 0;

	for (int i = 0; sc && i < sc->SubjectsLen; i++)
		found |= strcmp(sc->Subjects[i], p->wildcard) == 0 ||
			 strcmp(sc->Subjects[i], ">") == 0;
	if (!found) {
		GW_ERROR(MOD, "stream %s exists without the subjects %s: add them, or set "
			 "nats.stream to another name", p->conf->stream, p->wildcard);
		return GW_ECONFIG;
	}
	if (sc->Replicas != p->conf->replicas || sc->Duplicates <= 0)
		GW_WARN(MOD, "stream %s has %lld replicas and a %lld s duplicate window (the "
			"config says %lld and %lld s); keeping the stream's", p->conf->stream,
			(long long)sc->Replicas, (long long)(sc->Duplicates / NS_PER_S),
			p->conf->replicas, p->conf->duplicate_window_s);
	return GW_OK;
}

static int ensure_stream(struct jspub *p)
{
	jsStreamInfo *si = NULL;
	jsStreamConfig sc;
	const char *subjects[1];
	jsErrCode jerr = 0;
	natsStatus s;
	int rc;

	s = js_GetStreamInfo(&si, p->js, p->conf->stream, NULL, &jerr);
	if (s == NATS_OK) {
		rc = check_stream(p, si);
		goto out;
	}
	if (s != NATS_NOT_FOUND) {
		rc = nats_err(s, "stream info");
		goto out;
	}
	stream_config(p, &sc, subjects);
	s = js_AddStream(&si, p->js, &sc, NULL, &jerr);
	if (s != NATS_OK) {
		/* Retried: a cluster refuses while it elects its leaders or has
		 * not met enough peers for the replicas yet. */
		rc = nats_err(s, "cannot create the stream (JetStream error %d)", (int)jerr);
		goto out;
	}
	GW_INFO(MOD, "created stream %s (storage %s, replicas %lld, subjects %s)", p->conf->stream,
		p->conf->storage, p->conf->replicas, p->wildcard);
	rc = GW_OK;
out:
	jsStreamInfo_Destroy(si);
	return rc;
}

/* How long jspub_destroy waits for libnats' threads to end. */
#define JSPUB_CLOSE_WAIT_MS 5000

static void disconnect(struct jspub *p)
{
	jsCtx_Destroy(p->js);
	p->js = NULL;
	p->published = 0; /* a new context has no pending list yet */
	natsConnection_Destroy(p->nc);
	p->nc = NULL;
}

int jspub_connect(struct jspub *p)
{
	natsOptions *o = NULL;
	natsStatus s;
	int rc;

	if (!p->nc) {
		s = make_options(p, &o);
		if (s == NATS_OK)
			s = natsConnection_Connect(&p->nc, o);
		if (s == NATS_OK)
			s = make_js(p);
		natsOptions_Destroy(o);
		if (s != NATS_OK) {
			rc = nats_err(s, "cannot connect to NATS");
			disconnect(p);
			return rc;
		}
		GW_INFO(MOD, "connected to NATS (%zu server URL(s) configured)",
			p->conf->servers.n);
	}
	return ensure_stream(p);
}

int jspub_reconnected(struct jspub *p)
{
	int r;

	pthread_mutex_lock(&p->lock);
	r = p->reconnected;
	p->reconnected = 0;
	pthread_mutex_unlock(&p->lock);
	return r;
}

int jspub_connected(struct jspub *p)
{
	return p->nc && natsConnection_Status(p->nc) == NATS_CONN_STATUS_CONNECTED;
}

/* ---- where the stream stands ---- */

/* last_gw_seq - the gateway seq carried by the stream's message `ss`. */
static int last_gw_seq(struct jspub *p, uint64_t ss, uint64_t *gw)
{
	natsMsg *m = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_GetMsg(&m, p->js, p->conf->stream, ss, NULL, &jerr);
	int rc = GW_OK;

	/* The very last one may be gone (deleted): the last of our subjects. */
	if (s == NATS_NOT_FOUND)
		s = js_GetLastMsg(&m, p->js, p->conf->stream, p->wildcard, NULL, &jerr);
	if (s != NATS_OK) {
		rc = nats_err(s, "cannot read the stream's last message");
		goto out;
	}
	*gw = msg_seq(m);
	if (*gw == 0) {
		GW_ERROR(MOD, "the last message of stream %s has no %s header: only "
			 "gateway-nats may publish to %s", p->conf->stream, HDR_SEQ, p->wildcard);
		rc = GW_EPROTO;
	}
out:
	natsMsg_Destroy(m);
	return rc;
}

int jspub_resync(struct jspub *p, struct jspos *pos)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	int rc = GW_OK;

	memset(pos, 0, sizeof(*pos));
	if (!p->js)
		return GW_EAGAIN;
	s = js_GetStreamInfo(&si, p->js, p->conf->stream, NULL, &jerr);
	if (s != NATS_OK) {
		rc = nats_err(s, "cannot read the stream's state");
		goto out;
	}
	pos->stream_seq = si->State.LastSeq;
	pos->known = si->State.Msgs > 0 || si->State.LastSeq == 0;
	if (si->State.Msgs > 0)
		rc = last_gw_seq(p, si->State.LastSeq, &pos->gw_seq);
	if (rc == GW_OK)
		p->last_ss = pos->stream_seq;
out:
	jsStreamInfo_Destroy(si);
	return rc;
}

/* ---- publishing ---- */

/* make_msg - the NATS message of one event, with its headers. */
static natsStatus make_msg(const struct jspub *p, const struct jsevent *ev, natsMsg **out)
{
	char subject[SUBJECT_MAX], seq[24];
	int json = strcmp(p->conf->payload, "json") == 0;
	natsStatus s = NATS_INVALID_ARG;
	int n;

	*out = NULL;
	n = snprintf(subject, sizeof(subject), "%s.%s", p->conf->subject_prefix, ev->type);
	snprintf(seq, sizeof(seq), "%" PRIu64, ev->seq);
	if (n > 0 && (size_t)n < sizeof(subject) && ev->len <= INT32_MAX)
		s = natsMsg_Create(out, subject, NULL, ev->data, (int)ev->len);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(*out, HDR_SEQ, seq);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(*out, HDR_TYPE, ev->type);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(*out, "Content-Type",
				      json ? "application/json" : "application/msgpack");
	return s;
}

/* send_one - event `i` of the window, expected after stream seq `after`. */
static natsStatus send_one(struct jspub *p, const struct jsevent *ev, uint64_t after)
{
	char id[MSGID_MAX];
	jsPubOptions po;
	natsMsg *m = NULL;
	natsStatus s = make_msg(p, ev, &m);

	jsPubOptions_Init(&po);
	snprintf(id, sizeof(id), "%s-%" PRIu64, p->conf->gateway_id, ev->seq);
	po.MsgId = id;
	/* 0 means "not set" to libnats: only the stream's very first message
	 * goes without the check (it is then sent alone, see jspub_publish). */
	po.ExpectLastSeq = after;
	if (s == NATS_OK) {
		s = js_PublishMsgAsync(p->js, &m, &po);
		p->published = 1;
	}
	natsMsg_Destroy(m); /* NULL when libnats took it */
	return s;
}

/* start_window - counters for the events [lo, hi]. */
static void start_window(struct jspub *p, uint64_t lo, uint64_t hi)
{
	pthread_mutex_lock(&p->lock);
	p->lo = lo;
	p->hi = hi;
	p->acked = p->failed = p->dups = 0;
	p->max_ss = 0;
	p->first_err[0] = '\0';
	pthread_mutex_unlock(&p->lock);
}

/* await_window - until `sent` answers came or the ack timeout; 1 when all came. */
static int await_window(struct jspub *p, size_t sent)
{
	struct timespec until;
	int all;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)(p->conf->ack_timeout_ms / 1000);
	until.tv_nsec += (long)(p->conf->ack_timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	while (p->acked + p->failed < sent &&
	       pthread_cond_timedwait(&p->done, &p->lock, &until) == 0)
		;
	all = p->acked + p->failed >= sent;
	pthread_mutex_unlock(&p->lock);
	return all;
}

/* drop_pending - gives up on what was not acknowledged in time. */
static void drop_pending(struct jspub *p)
{
	natsMsgList pending = {0};

	/* libnats 3.4 dereferences a NULL list when nothing was ever
	 * published asynchronously on this context. */
	if (!p->published)
		return;
	if (js_PublishAsyncGetPendingList(&pending, p->js) == NATS_OK)
		natsMsgList_Destroy(&pending);
}

/* window_result - GW_OK when all `n` were stored once, in order. */
static int window_result(struct jspub *p, size_t n, int all)
{
	int rc = GW_OK;

	pthread_mutex_lock(&p->lock);
	if (!all)
		GW_WARN(MOD, "%zu of %zu publishes unacknowledged after %lld ms: reading the "
			"stream again", n - p->acked - p->failed, n, p->conf->ack_timeout_ms);
	else if (p->failed)
		GW_WARN(MOD, "%zu of %zu publishes refused (%s): reading the stream again",
			p->failed, n, p->first_err);
	else if (p->dups || p->max_ss != p->last_ss + n)
		GW_WARN(MOD, "the stream was not where expected (%zu duplicates): reading it "
			"again", p->dups);
	if (!all || p->failed || p->dups || p->max_ss != p->last_ss + n)
		rc = GW_EAGAIN;
	else
		p->last_ss += n;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int jspub_publish(struct jspub *p, const struct jsevent *ev, size_t n, size_t *done)
{
	size_t sent = 0;
	natsStatus s = NATS_OK;
	int all, rc;

	*done = 0;
	if (n == 0 || n > (size_t)p->conf->window)
		return GW_EINVAL;
	if (!p->js)
		return GW_EAGAIN;
	/* The first message of a new stream goes alone: libnats cannot say
	 * "expect the stream empty" (ExpectLastSeq 0 means unset). */
	if (p->last_ss == 0)
		n = 1;
	start_window(p, ev[0].seq, ev[n - 1].seq);
	for (; sent < n && s == NATS_OK; sent++)
		s = send_one(p, &ev[sent], p->last_ss + sent);
	if (s != NATS_OK)
		sent--;
	all = await_window(p, sent);
	if (!all)
		drop_pending(p);
	if (s != NATS_OK) {
		rc = nats_err(s, "cannot publish");
		goto out;
	}
	rc = window_result(p, n, all);
	if (rc == GW_OK)
		*done = n;
out:
	return rc;
}

void jspub_destroy(struct jspub *p)
{
	if (!p)
		return;
	if (p->js)
		drop_pending(p);
	disconnect(p);
	/* An acknowledgement handler may still run on a libnats thread after
	 * the connection is destroyed: wait for those threads before freeing
	 * what the handler touches. */
	nats_CloseAndWait(JSPUB_CLOSE_WAIT_MS);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

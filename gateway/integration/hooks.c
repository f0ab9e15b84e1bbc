/*
 * hooks.c - the outgoing webhooks: one worker thread per subscription, so
 * a slow or dead receiver delays only its own subscription.
 *
 * A worker reads its durable cursor (store/integration.h), replays the log
 * from cursor + 1 over the command socket, and POSTs each event of its
 * types, one at a time, in seq order, signed like the API channel's
 * callbacks (core/sign.h). The cursor moves only after a 2xx; a failure is
 * retried after a delay that doubles from backoff_min_ms up to
 * backoff_max_ms, forever: nothing is skipped. Events of other types move
 * the cursor without a POST. With nothing to replay the worker waits on
 * the publish socket (every event, and the heartbeat every second, wake
 * it). An operator's pause, resume or rewind (gatewayctl webhooks) is a
 * write of the cursor; the worker sees it at its next step and within half
 * a second while it waits to retry.
 *
 * A worker killed between the receiver's 2xx and the cursor's commit POSTs
 * that one event again when it restarts: receivers dedupe by seq
 * (X-Omnigate-Seq), as bus consumers do.
 */
#include "gateway/integration/integration.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <msgpack.h>

#include "connectors/curl_err.h"
#include "core/bus.h"
#include "core/err.h"
#include "core/log.h"
#include "core/sign.h"
#include "core/util.h"
#include "proto/proto.h"
#include "proto/wire.h"
#include "store/integration.h"

#define HOOK_PAGE 100         /* events replayed at a time */
#define HOOK_WAIT_MS 1000     /* longest wait on the bus with nothing to do */
#define HOOK_CHECK_MS 500     /* a retry's wait re-reads the cursor this often */
#define HOOK_ANSWER_MAX 4096  /* bytes of a receiver's answer kept (for its reason) */

struct hook {
	struct ig_hooks *hs;
	const struct gw_integration_webhook *w;
	pthread_t th;
	int started;
	struct rcmd rc;
	void *sub;
	CURL *curl;
	struct integ_cursor cur;
	size_t answer_len;
	int skip_rc;           /* the last skip-ahead's result, logged when it changes */
};

struct ig_hooks {
	const struct gw_config *cfg;
	void *zctx;
	struct integ_db *db;
	volatile int stop;
	size_t n;
	struct hook *h;
};

/* ---- matching ---- */

static int type_matches(const struct gw_integration_webhook *w, const char *type, size_t len)
{
	if (w->events.n == 0)
		return 1;
	for (size_t i = 0; i < w->events.n; i++) {
		const char *e = w->events.v[i];
		size_t n = strlen(e);

		if (n && e[n - 1] == '.' && len > n && memcmp(type, e, n) == 0)
			return 1;
		if (n == len && memcmp(type, e, n) == 0)
			return 1;
	}
	return 0;
}

/* ---- waiting ---- */

/* wait_bus - waits up to ms on the publish socket, draining what came. */
static void wait_bus(struct hook *k, long ms)
{
	zmq_pollitem_t item = {.socket = k->sub, .events = ZMQ_POLLIN};
	char buf[8];

	if (!k->sub) {
		usleep((useconds_t)ms * 1000);
		return;
	}
	if (zmq_poll(&item, 1, ms) <= 0)
		return;
	while (zmq_recv(k->sub, buf, sizeof(buf), ZMQ_DONTWAIT) >= 0)
		;
}

/* nap - sleeps `ms`, re-reading the cursor: GW_OK after the whole sleep,
 * GW_EAGAIN as soon as an operator moved or paused it, or on stop. */
static int nap(struct hook *k, int64_t ms)
{
	int64_t end = gw_mono_us() / 1000 + ms;
	struct integ_cursor now;

	while (!k->hs->stop && !ig_stop) {
		int64_t left = end - gw_mono_us() / 1000;

		if (left <= 0)
			return GW_OK;
		usleep((useconds_t)(left < HOOK_CHECK_MS ? left : HOOK_CHECK_MS) * 1000);
		if (integ_cursor_get(k->hs->db, k->w->name, &now) == GW_OK &&
		    (now.gen != k->cur.gen || now.paused))
			return GW_EAGAIN;
	}
	return GW_EAGAIN;
}

/* ---- one POST ---- */

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	struct hook *k = arg;

	(void)p;
	k->answer_len += size * n;
	return k->answer_len > HOOK_ANSWER_MAX ? 0 : size * n;
}

static struct curl_slist *post_headers(struct hook *k, const char *type, uint64_t seq,
				       const char *body, size_t len)
{
	char sig[GW_SIGN_MAX], line[GW_SIGN_MAX + 200];
	struct curl_slist *h = NULL, *t;
	const char *s = k->w->secret;

	if (gw_sign(s, strlen(s), (int64_t)time(NULL), body, len, sig, sizeof(sig)) != GW_OK)
		return NULL;
	h = curl_slist_append(NULL, "Content-Type: application/json");
	snprintf(line, sizeof(line), "X-Omnigate-Signature: %s", sig);
	t = h ? curl_slist_append(h, line) : NULL;
	snprintf(line, sizeof(line), "X-Omnigate-Event: %.120s", type);
	t = t ? curl_slist_append(t, line) : NULL;
	snprintf(line, sizeof(line), "X-Omnigate-Seq: %llu", (unsigned long long)seq);
	t = t ? curl_slist_append(t, line) : NULL;
	snprintf(line, sizeof(line), "X-Omnigate-Subscription: %s", k->w->name);
	t = t ? curl_slist_append(t, line) : NULL;
	t = t ? curl_slist_append(t, "Expect:") : NULL;
	if (!t)
		curl_slist_free_all(h);
	return t;
}

/*
 * post_once - one attempt. GW_OK on a 2xx; a libcurl failure as gw_curl_err
 * maps it (GW_ETLS: a certificate not verified, GW_EINVAL: a malformed URL,
 * GW_EIO: the network or a timeout, ...), with *mapped its gw_strerror;
 * GW_EIO for a non-2xx answer or a request that cannot be built (*mapped
 * NULL). `why` (whylen bytes) gets libcurl's text or "HTTP <status>": the
 * cursor's last_error.
 */
static int post_once(struct hook *k, const char *type, uint64_t seq, const char *body,
		     size_t len, char *why, size_t whylen, const char **mapped)
{
	struct curl_slist *h = post_headers(k, type, seq, body, len);
	long status = 0;
	CURLcode cc;

	*mapped = NULL;
	if (!h) {
		snprintf(why, whylen, "cannot sign or build the request");
		return GW_EIO;
	}
	curl_easy_setopt(k->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(k->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(k->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	k->answer_len = 0;
	cc = curl_easy_perform(k->curl);
	curl_easy_setopt(k->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	if (cc == CURLE_WRITE_ERROR)
		cc = CURLE_OK; /* a long answer: only the status matters */
	if (cc == CURLE_OK)
		curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &status);
	if (cc == CURLE_OK && status >= 200 && status < 300)
		return GW_OK;
	if (cc == CURLE_OK) {
		snprintf(why, whylen, "HTTP %ld", status);
		return GW_EIO;
	}
	snprintf(why, whylen, "%s", curl_easy_strerror(cc));
	*mapped = gw_strerror(gw_curl_err(cc));
	return gw_curl_err(cc);
}

/* deliver - POSTs one event until a 2xx. GW_OK, or GW_EAGAIN (stopping, or
 * the cursor was moved or paused meanwhile). */
static int deliver(struct hook *k, const char *type, uint64_t seq, const char *body,
		   size_t len)
{
	const struct gw_integration_webhook *w = k->w;
	int64_t delay = w->backoff_min_ms;
	char why[INTEG_REASON_MAX];
	const char *mapped;

	while (!k->hs->stop && !ig_stop) {
		if (post_once(k, type, seq, body, len, why, sizeof(why), &mapped) == GW_OK)
			return GW_OK;
		GW_WARN(IG_MOD, "webhook %s: seq %llu: %s%s%s%s; again in %lld ms", w->name,
			(unsigned long long)seq, why, mapped ? " (" : "", mapped ? mapped : "",
			mapped ? ")" : "", (long long)delay);
		if (integ_cursor_failed(k->hs->db, w->name, k->cur.gen, why) != GW_OK)
			return GW_EAGAIN;
		if (nap(k, delay) != GW_OK)
			return GW_EAGAIN;
		delay = delay * 2 > w->backoff_max_ms ? w->backoff_max_ms : delay * 2;
	}
	return GW_EAGAIN;
}

/* ---- the worker ---- */

/* one_event - the pair at frames i, i+1: delivered or skipped. *done is the
 * seq the cursor may move to. GW_OK or GW_EAGAIN (reload). */
static int one_event(struct hook *k, const struct rcmd_reply *r, size_t i, uint64_t *done,
		     uint64_t *skipped)
{
	const char *type = zmq_msg_data(&r->frames[i]);
	size_t tlen = zmq_msg_size(&r->frames[i]);
	json_t *ev = rcmd_json(r, i + 1);
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(ev, "seq"));
	char *body = NULL, tname[128];
	int rc = GW_OK;

	if (!ev || seq == 0) {
		json_decref(ev);
		return GW_EAGAIN;
	}
	if (!type_matches(k->w, type, tlen)) {
		*skipped = seq;
		json_decref(ev);
		return GW_OK;
	}
	if (*skipped > *done)
		rc = integ_cursor_advance(k->hs->db, k->w->name, k->cur.gen, *skipped, 0);
	snprintf(tname, sizeof(tname), "%.*s", (int)(tlen < 127 ? tlen : 127), type);
	body = rc == GW_OK ? json_dumps(ev, JSON_COMPACT) : NULL;
	if (rc == GW_OK)
		rc = body ? deliver(k, tname, seq, body, strlen(body)) : GW_ENOMEM;
	if (rc == GW_OK)
		rc = integ_cursor_advance(k->hs->db, k->w->name, k->cur.gen, seq, 1);
	if (rc == GW_OK)
		*done = *skipped = seq;
	free(body);
	json_decref(ev);
	return rc;
}

/* skip_ahead - the cursor passes events this webhook does not want (up to
 * `seq`). A failure only costs a re-read of them after a restart; it is
 * logged once when it starts, and once when it is over. */
static void skip_ahead(struct hook *k, uint64_t seq)
{
	int rc = integ_cursor_advance(k->hs->db, k->w->name, k->cur.gen, seq, 0);

	if (rc == k->skip_rc)
		return;
	if (rc != GW_OK)
		GW_WARN(IG_MOD, "webhook %s: cursor not advanced past unwanted events: %s",
			k->w->name, gw_strerror(rc));
	else
		GW_INFO(IG_MOD, "webhook %s: cursor advances again", k->w->name);
	k->skip_rc = rc;
}

/* step - one page of events from the cursor; 0 when there was nothing. */
static int step(struct hook *k)
{
	uint64_t done = k->cur.seq, skipped = k->cur.seq;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct rcmd_reply r;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "from", 4);
	msgpack_pack_uint64(&pk, k->cur.seq + 1);
	msgpack_pack_str_with_body(&pk, "limit", 5);
	msgpack_pack_uint64(&pk, HOOK_PAGE);
	rc = rcmd_call(&k->rc, WIRE_CMD_REPLAY, sb.data, sb.size, &r);
	msgpack_sbuffer_destroy(&sb);
	if (rc || !r.ok) {
		if (rc == GW_OK) {
			GW_WARN(IG_MOD, "webhook %s: replay refused: %s %s", k->w->name, r.code,
				r.message);
			rcmd_reply_free(&r);
		}
		return 0;
	}
	for (size_t i = 1; rc == GW_OK && i + 1 < r.n && !k->hs->stop && !ig_stop; i += 2)
		rc = one_event(k, &r, i, &done, &skipped);
	if (rc == GW_OK && skipped > done)
		skip_ahead(k, skipped);
	rc = r.n > 1;
	rcmd_reply_free(&r);
	return rc;
}

static int open_sub(struct hook *k)
{
	const struct gw_config_router *bus = &k->hs->cfg->router;
	char why[512];
	int linger = 0;

	k->sub = zmq_socket(k->hs->zctx, ZMQ_SUB);
	if (!k->sub)
		return GW_EBUS;
	zmq_setsockopt(k->sub, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(k->sub, ZMQ_SUBSCRIBE, "", 0);
	if (bus_client_setup(k->sub, bus, bus->publish, why, sizeof(why)) != GW_OK ||
	    zmq_connect(k->sub, bus->publish) != 0) {
		GW_ERROR(IG_MOD, "webhook %s: cannot subscribe to %s", k->w->name, bus->publish);
		zmq_close(k->sub);
		k->sub = NULL;
		return GW_EBUS;
	}
	return GW_OK;
}

static void setup_curl(struct hook *k)
{
	curl_easy_setopt(k->curl, CURLOPT_URL, k->w->url);
	curl_easy_setopt(k->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(k->curl, CURLOPT_TIMEOUT_MS, (long)k->w->timeout_ms);
	curl_easy_setopt(k->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)k->w->timeout_ms);
	curl_easy_setopt(k->curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(k->curl, CURLOPT_WRITEDATA, k);
	curl_easy_setopt(k->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(k->curl, CURLOPT_USERAGENT, "omnigate-webhooks");
}

static void *worker(void *arg)
{
	struct hook *k = arg;

	k->rc = (struct rcmd){.zctx = k->hs->zctx, .bus = &k->hs->cfg->router,
			      .timeout_ms = (long)k->hs->cfg->integration.command_timeout_ms};
	open_sub(k);
	k->curl = curl_easy_init();
	if (k->curl)
		setup_curl(k);
	GW_INFO(IG_MOD, "webhook %s: delivering to its url", k->w->name);
	while (k->curl && !k->hs->stop && !ig_stop) {
		if (integ_cursor_get(k->hs->db, k->w->name, &k->cur) != GW_OK) {
			wait_bus(k, HOOK_WAIT_MS);
			continue;
		}
		if (k->cur.paused || !step(k))
			wait_bus(k, k->cur.paused ? HOOK_CHECK_MS : HOOK_WAIT_MS);
	}
	curl_easy_cleanup(k->curl);
	rcmd_close(&k->rc);
	if (k->sub)
		zmq_close(k->sub);
	return NULL;
}

int ig_hooks_start(const struct gw_config *cfg, void *zctx, struct integ_db *db,
		   struct ig_hooks **out)
{
	struct ig_hooks *hs = calloc(1, sizeof(*hs));
	size_t n = cfg->integration.n_webhooks;
	int rc = GW_OK;

	*out = NULL;
	if (!hs)
		return GW_ENOMEM;
	hs->cfg = cfg;
	hs->zctx = zctx;
	hs->db = db;
	hs->h = calloc(n ? n : 1, sizeof(*hs->h));
	if (!hs->h) {
		free(hs);
		return GW_ENOMEM;
	}
	hs->n = n;
	for (size_t i = 0; rc == GW_OK && i < n; i++) {
		hs->h[i].hs = hs;
		hs->h[i].w = &cfg->integration.webhooks[i];
		/* Off alone (logged by main.c): no worker, so its cursor stays
		 * where it is and its deliveries wait for the secret. */
		if (hs->h[i].w->off_reason)
			continue;
		rc = pthread_create(&hs->h[i].th, NULL, worker, &hs->h[i]) ? GW_ENOMEM : GW_OK;
		hs->h[i].started = rc == GW_OK;
	}
	*out = hs;
	return rc;
}

json_t *ig_hooks_status(struct ig_hooks *hs)
{
	json_t *arr = json_array();
	struct integ_cursor c;

	for (size_t i = 0; hs && i < hs->n; i++) {
		json_t *o;

		if (integ_cursor_get(hs->db, hs->h[i].w->name, &c) != GW_OK)
			continue;
		o = json_pack("{sssIsbsIsIss}", "name", hs->h[i].w->name, "cursor",
			      (json_int_t)c.seq, "paused", c.paused, "delivered",
			      (json_int_t)c.delivered, "failures", (json_int_t)c.failures,
			      "last_error", c.last_error);
		if (o && hs->h[i].w->off_reason)
			json_object_set_new(o, "off", json_string(hs->h[i].w->off_reason));
		json_array_append_new(arr, o);
	}
	return arr;
}

void ig_hooks_stop(struct ig_hooks *hs)
{
	if (!hs)
		return;
	hs->stop = 1;
	for (size_t i = 0; i < hs->n; i++)
		if (hs->h[i].started)
			pthread_join(hs->h[i].th, NULL);
	free(hs->h);
	free(hs);
}

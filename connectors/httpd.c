/*
 * httpd.c - the connectors' HTTP/1.1 server on libwebsockets (httpd.h).
 *
 * Life of a request on one keep-alive connection (struct httpd_req is lws's
 * per-session data, zeroed by lws and reset for every transaction):
 *
 *   FILTER_NETWORK_CONNECTION ... the connection limits (listen_guard.c)
 *   LWS_CALLBACK_HTTP             /healthz, the bucket of the address,
 *                                 framing checks, on_request()
 *   LWS_CALLBACK_HTTP_BODY        body copied into a buffer bounded by the
 *                                 announced length or, chunked, decoded
 *                                 into one bounded by max_body_bytes
 *                                 (httpd_body.c)
 *   LWS_CALLBACK_HTTP_BODY_COMPLETION
 *                                 on_body(): answered, deferred (waits in
 *                                 the group commit, connectors/commit.h)
 *                                 or held (joins h->held)
 *   commit_sul (zero delay)       gcommit_run(): one commit for every
 *                                 request deferred since the last one, on
 *                                 the outbox's commit thread: the loop
 *                                 goes on reading while the disk flushes
 *   commit end (httpd_wake)       gcommit_poll(): each request of that
 *                                 commit is made writable (httpd_committed);
 *                                 the next commit starts
 *   LWS_CALLBACK_HTTP_WRITEABLE   the answer in one lws_write(), then
 *                                 lws_http_transaction_completed()
 *
 * A connection that closes while waiting is forgotten; what it queued is
 * still committed and the client's retry is deduplicated by the router.
 *
 * A refusal with a body still to come reads and drops that body first, so
 * the connection stays usable; a body that is too large is answered at
 * once and then dropped up to a bound before the connection closes; one
 * whose length cannot be known is not read: the answer carries
 * "Connection: close" (httpd_body.c).
 */
#include "connectors/httpd_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "connectors/outbox.h"
#include "connectors/runtime.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define HTTPD_TICK_US 5000        /* outbox_pump() and status period */
#define HTTPD_SERV_BUF 16384      /* lws read size: fewer body callbacks */
#define HTTPD_RETRY_AFTER "1"     /* seconds, on 503 */
#define HTTPD_LOG_PER_SEC 50      /* refusals logged per second at most */
#define HTTPD_CUSTOM_NAME_MAX 64  /* longest custom header name looked up */

#define httpd_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* lws logs carry no context: they go to the module of the one instance. */
static char httpd_lws_module[96] = "httpd";

static void httpd_lws_log(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	gw_log(level & LLL_ERR ? GW_LOG_ERROR : GW_LOG_WARN, httpd_lws_module, "lws: %.*s",
	       (int)n, line);
}

/* ---- logging of refusals ---------------------------------------------- */

/* Starts a new one-second log window, summing up what the last one dropped. */
static void httpd_log_window(struct httpd *h, int64_t now)
{
	if (now - h->log_window_us < 1000000)
		return;
	if (h->log_dropped)
		GW_WARN(h->inst->log_module, "%u more refused requests not logged",
			h->log_dropped);
	h->log_window_us = now;
	h->log_count = 0;
	h->log_dropped = 0;
}

/*
 * One line per refused request, naming the cause and the peer (never a
 * secret or the body); past HTTPD_LOG_PER_SEC a second, the rest is counted
 * and summed up in one line, so a misbehaving client cannot flood the log.
 */
static void httpd_log_refusal(struct httpd *h, const struct httpd_req *req, const char *code,
			      const char *message)
{
	httpd_log_window(h, gw_mono_us());
	if (h->log_count >= HTTPD_LOG_PER_SEC) {
		h->log_dropped++;
		return;
	}
	h->log_count++;
	gw_log(req->status >= 500 ? GW_LOG_ERROR : GW_LOG_WARN, h->inst->log_module,
	       "%d %s from %s: %s", req->status, code, listen_guard_peer(req->wsi), message);
}

/* ---- request state ------------------------------------------------------ */

static void httpd_req_reset(struct httpd *h, struct httpd_req *req)
{
	if (!lws_dll2_is_detached(&req->node))
		lws_dll2_remove(&req->node);
	if (h->gc)
		gcommit_cancel(h->gc, &req->wait);
	chunked_buf_free(&req->body);
	if (req->wsi && req->h == h)
		listen_guard_deadline(h->guard, req->wsi, 0);
	req->body.max = 0;
	req->body_seen = 0;
	req->body_start_us = 0;
	req->state = HTTPD_C_IDLE;
	req->method = HTTPD_M_OTHER;
	req->content_length = -1;
	req->ticket = 0;
	req->status = 0;
	req->retry_after = 0;
	req->content_type = NULL;
	req->allow = NULL;
	req->answer_len = 0;
	req->close = 0;
	req->answer_now = 0;
	req->linger = 0;
	req->chunked = 0;
	req->body_done = 0;
	req->path[0] = '\0';
	req->h = h;
	memset(req->data, 0, h->opt.req_data_size);
}

/* Marks the answer ready and asks lws for a writable callback. */
void httpd_ready(struct httpd_req *req)
{
	req->state = HTTPD_C_ANSWER;
	lws_callback_on_writable(req->wsi);
}

/* Counts the answer and makes it ready, or first drops a body to come. */
static void httpd_finish(struct httpd_req *req)
{
	struct connector_stats *st = &req->h->inst->stats;

	if (req->status >= 500)
		st->failed++;
	else if (req->status >= 400)
		st->rejected++;
	else
		st->accepted++;
	if (!lws_dll2_is_detached(&req->node))
		lws_dll2_remove(&req->node);
	chunked_buf_free(&req->body);
	if (httpd_body_pending(req) && !req->answer_now)
		req->state = HTTPD_C_DISCARD; /* answered at body completion */
	else
		httpd_ready(req);
}

static void httpd_set_answer(struct httpd_req *req, int status, const char *content_type,
			     const void *body, size_t len)
{
	if (len > sizeof(req->answer))
		len = sizeof(req->answer);
	req->status = status;
	req->content_type = content_type;
	if (len > 0)
		memcpy(req->answer, body, len);
	req->answer_len = len;
}

void httpd_answer(struct httpd_req *req, int status, const char *content_type,
		  const void *body, size_t len)
{
	httpd_set_answer(req, status, content_type, body, len);
	httpd_finish(req);
}

/* The {"error","message"} document of a refusal into req->answer. */
static void httpd_error_json(struct httpd_req *req, const char *code, const char *message)
{
	static const char fallback[] = "{\"error\":\"internal\"}";
	json_t *doc = json_pack("{s:s,s:s}", "error", code, "message", message);
	size_t n = doc ? json_dumpb(doc, req->answer, sizeof(req->answer), JSON_COMPACT) : 0;

	json_decref(doc);
	if (n == 0 || n > sizeof(req->answer)) {
		memcpy(req->answer, fallback, sizeof(fallback) - 1);
		n = sizeof(fallback) - 1;
	}
	req->answer_len = n;
	req->content_type = "application/json";
}

void httpd_refuse(struct httpd_req *req, int status, const char *code, const char *fmt, ...)
{
	char message[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	req->status = status;
	httpd_error_json(req, code, message);
	httpd_log_refusal(req->h, req, code, message);
	httpd_finish(req);
}

void httpd_allow(struct httpd_req *req, const char *methods)
{
	req->allow = methods;
}

void httpd_retry_after(struct httpd_req *req, long long seconds)
{
	req->retry_after = seconds <= 0 ? 1 : seconds > 86400 ? 86400 : (unsigned)seconds;
}

void httpd_close_after(struct httpd_req *req)
{
	req->close = 1;
}

/* ---- accessors ---------------------------------------------------------- */

enum httpd_method httpd_req_method(const struct httpd_req *req)
{
	return req->method;
}

const char *httpd_req_path(const struct httpd_req *req)
{
	return req->path;
}

long long httpd_req_content_length(const struct httpd_req *req)
{
	return req->content_length;
}

void *httpd_req_data(struct httpd_req *req)
{
	return req->data;
}

/* A header lws knows by token, or -1 (then it is a custom header). */
static int httpd_header_token(const char *name)
{
	if (strcmp(name, "authorization") == 0)
		return WSI_TOKEN_HTTP_AUTHORIZATION;
	if (strcmp(name, "content-type") == 0)
		return WSI_TOKEN_HTTP_CONTENT_TYPE;
	if (strcmp(name, "content-length") == 0)
		return WSI_TOKEN_HTTP_CONTENT_LENGTH;
	if (strcmp(name, "user-agent") == 0)
		return WSI_TOKEN_HTTP_USER_AGENT;
	return -1;
}

int httpd_req_header(const struct httpd_req *req, const char *name, char *buf, size_t len,
		     size_t *vlen)
{
	char key[HTTPD_CUSTOM_NAME_MAX + 2];
	int tok = httpd_header_token(name);
	int n, klen, got;

	if (len == 0 || len > INT32_MAX)
		return GW_ETOOBIG;
	if (tok >= 0) {
		n = lws_hdr_total_length(req->wsi, (enum lws_token_indexes)tok);
		if (n <= 0)
			return GW_ENOTFOUND;
		if ((size_t)n >= len)
			return GW_ETOOBIG;
		got = lws_hdr_copy(req->wsi, buf, (int)len, (enum lws_token_indexes)tok);
	} else {
		/* lws keeps unknown headers by their lowercased name with the colon. */
		klen = snprintf(key, sizeof(key), "%s:", name);
		if (klen < 0 || (size_t)klen >= sizeof(key))
			return GW_ENOTFOUND;
		n = lws_hdr_custom_length(req->wsi, key, klen);
		if (n < 0)
			return GW_ENOTFOUND;
		if ((size_t)n >= len)
			return GW_ETOOBIG;
		got = lws_hdr_custom_copy(req->wsi, buf, (int)len, key, klen);
	}
	if (got != n)
		return GW_ENOTFOUND;
	if (vlen)
		*vlen = (size_t)n;
	return GW_OK;
}

/*
 * Walks the query fragments ("a=1", "b=2": lws splits and URL-decodes them)
 * for an exact name match, so that a long unrelated parameter never hides
 * the one asked for.
 */
int httpd_req_query(const struct httpd_req *req, const char *name, char *buf, size_t len,
		    size_t *vlen)
{
	char frag[HTTPD_PATH_MAX + 1];
	size_t nlen = strlen(name);

	for (int i = 0;; i++) {
		int n = lws_hdr_fragment_length(req->wsi, WSI_TOKEN_HTTP_URI_ARGS, i);

		if (n <= 0)
			return GW_ENOTFOUND;
		if ((size_t)n <= nlen || (size_t)n >= sizeof(frag))
			continue;
		if (lws_hdr_copy_fragment(req->wsi, frag, (int)sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS,
					  i) != n)
			continue;
		if (strncmp(frag, name, nlen) != 0 || frag[nlen] != '=')
			continue;
		if ((size_t)n - nlen - 1 >= len)
			return GW_ETOOBIG;
		memcpy(buf, frag + nlen + 1, (size_t)n - nlen);
		if (vlen)
			*vlen = (size_t)n - nlen - 1;
		return GW_OK;
	}
}

/* ---- requests ----------------------------------------------------------- */

static enum httpd_method httpd_method_of(struct lws *wsi)
{
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
		return HTTPD_M_GET;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
		return HTTPD_M_POST;
	return HTTPD_M_OTHER;
}

/* GET /healthz: liveness and the spool depth, for probes and tests. */
static void httpd_health(struct httpd_req *req)
{
	struct outbox_stats st;
	char doc[96];
	int n;

	outbox_get_stats(req->h->inst->outbox, &st);
	n = snprintf(doc, sizeof(doc), "{\"status\":\"ok\",\"spooled\":%llu}",
		     (unsigned long long)st.spooled);
	httpd_set_answer(req, 200, "application/json", doc, n > 0 ? (size_t)n : 0);
	httpd_ready(req); /* not a provider request: not counted */
}

/* Hands the whole body to on_body, which must answer in some way. */
void httpd_call_body(struct httpd *h, struct httpd_req *req, const char *body, size_t len)
{
	req->state = HTTPD_C_PARSE;
	h->opt.handlers->on_body(h->opt.arg, req, body, len);
	if (req->state == HTTPD_C_PARSE) {
		GW_ERROR(h->inst->log_module, "body to %s left unanswered", req->path);
		httpd_refuse(req, 500, "internal", "the request was not answered");
	}
}

/* LWS_CALLBACK_HTTP: a request line and its headers arrived. */
static int httpd_on_request(struct httpd *h, struct httpd_req *req, struct lws *wsi,
			    const char *path)
{
	size_t plen = strlen(path);

	httpd_req_reset(h, req);
	req->wsi = wsi;
	req->method = httpd_method_of(wsi);
	listen_guard_busy(h->guard, wsi, 1);
	if (plen <= HTTPD_PATH_MAX)
		memcpy(req->path, path, plen + 1);
	if (req->method == HTTPD_M_GET && strcmp(path, HTTPD_PATH_HEALTH) == 0) {
		httpd_health(req);
		return 0;
	}
	h->inst->stats.requests++;
	if (httpd_check_framing(h, req) != 0)
		return 0;
	if (listen_guard_request(h->guard, wsi, &req->retry_after) != GW_OK) {
		httpd_refuse(req, 429, "rate_limited",
			     "too many requests from this address; retry in %u s",
			     req->retry_after);
		return 0;
	}
	if (plen > HTTPD_PATH_MAX) {
		httpd_refuse(req, 414, "uri_too_long", "the path is over %d bytes", HTTPD_PATH_MAX);
		return 0;
	}
	req->state = HTTPD_C_HANDLER;
	if (h->opt.handlers->on_request(h->opt.arg, req) == HTTPD_READ_BODY &&
	    req->state == HTTPD_C_HANDLER)
		httpd_start_body(h, req);
	if (req->state == HTTPD_C_HANDLER) {
		GW_ERROR(h->inst->log_module, "request to %s left unanswered", req->path);
		httpd_refuse(req, 500, "internal", "the request was not answered");
	}
	return 0;
}

/* ---- deferred answers (the group commit, connectors/commit.c) ----------- */

/*
 * httpd_committed - the group commit covering a deferred request ended:
 * its deferred answer if its events are durable (rc GW_OK), else 503.
 * Nothing is answered once the server stops.
 */
static void httpd_committed(struct gcommit_waiter *w, int rc)
{
	struct httpd_req *req = httpd_container_of(w, struct httpd_req, wait);

	if (req->h->stopping)
		return;
	if (rc == GW_OK)
		httpd_finish(req);
	else
		httpd_refuse(req, 503, "unavailable",
			     rc == GW_EFULL ? "the spool is full; retry later"
					    : "the message could not be stored; retry later");
}

void httpd_defer(struct httpd_req *req, int status, const char *json)
{
	httpd_defer_as(req, status, "application/json", json);
}

void httpd_defer_as(struct httpd_req *req, int status, const char *content_type,
		    const char *body)
{
	httpd_set_answer(req, status, content_type, body, strlen(body));
	if (!lws_dll2_is_detached(&req->node))
		lws_dll2_remove(&req->node);
	req->state = HTTPD_C_WAITING;
	gcommit_wait(req->h->gc, &req->wait, httpd_committed);
}

/* The group commit's schedule: run it at the start of the next service
 * round, once lws has handled every socket that was ready (one commit
 * for all of them). */
static void httpd_commit_cb(lws_sorted_usec_list_t *sul)
{
	struct httpd *h = httpd_container_of(sul, struct httpd, commit_sul);

	(void)gcommit_run(h->gc); /* a failure was answered 503 */
}

static void httpd_schedule_commit(void *arg)
{
	struct httpd *h = arg;

	lws_sul_schedule(h->lws, 0, &h->commit_sul, httpd_commit_cb, 0);
}

/* ---- held requests ------------------------------------------------------ */

uint64_t httpd_hold(struct httpd_req *req)
{
	struct httpd *h = req->h;

	if (!lws_dll2_is_detached(&req->node))
		lws_dll2_remove(&req->node);
	req->ticket = ++h->next_ticket;
	req->state = HTTPD_C_HELD;
	lws_dll2_add_tail(&req->node, &h->held);
	return req->ticket;
}

struct httpd_req *httpd_resume(struct httpd *h, uint64_t ticket)
{
	/* A short list: bounded by the work the connector hands off. */
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&h->held)) {
		struct httpd_req *req = httpd_container_of(d, struct httpd_req, node);

		if (req->ticket == ticket) {
			lws_dll2_remove(d);
			req->ticket = 0;
			req->state = HTTPD_C_PARSE;
			return req;
		}
	} lws_end_foreach_dll(d);
	return NULL;
}

void httpd_wake(struct httpd *h)
{
	lws_cancel_service(h->lws);
}

/* ---- answers ------------------------------------------------------------ */

static int httpd_add_header(struct lws *wsi, enum lws_token_indexes tok, const char *v,
			    unsigned char **p, unsigned char *end)
{
	return lws_add_http_header_by_token(wsi, tok, (const unsigned char *)v, (int)strlen(v),
					    p, end);
}

static int httpd_answer_headers(struct httpd *h, struct httpd_req *req, unsigned char **p,
				unsigned char *end)
{
	struct lws *wsi = req->wsi;
	char len[24];

	snprintf(len, sizeof(len), "%zu", req->answer_len);
	if (lws_add_http_header_status(wsi, (unsigned int)req->status, p, end) ||
	    httpd_add_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
			     req->content_type ? req->content_type : "text/plain", p, end) ||
	    httpd_add_header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, len, p, end))
		return -1;
	if (req->close && httpd_add_header(wsi, WSI_TOKEN_CONNECTION, "close", p, end))
		return -1;
	if (req->status == 503 &&
	    httpd_add_header(wsi, WSI_TOKEN_HTTP_RETRY_AFTER, HTTPD_RETRY_AFTER, p, end))
		return -1;
	if (req->status == 429 && req->retry_after > 0) {
		snprintf(len, sizeof(len), "%u", req->retry_after);
		if (httpd_add_header(wsi, WSI_TOKEN_HTTP_RETRY_AFTER, len, p, end))
			return -1;
	}
	if (req->status == 401 && h->opt.www_authenticate &&
	    httpd_add_header(wsi, WSI_TOKEN_HTTP_WWW_AUTHENTICATE, h->opt.www_authenticate, p,
			     end))
		return -1;
	if (req->status == 405 && req->allow &&
	    httpd_add_header(wsi, WSI_TOKEN_HTTP_ALLOW, req->allow, p, end))
		return -1;
	return lws_finalize_http_header(wsi, p, end) ? -1 : 0;
}

/*
 * Writes status line, headers and body with one lws_write(): on HTTP/1.1
 * that is one send(2) per answer. Returns 0, or -1 to close.
 */
static int httpd_write_answer(struct httpd *h, struct httpd_req *req)
{
	unsigned char *start = h->out + LWS_PRE;
	unsigned char *p = start;
	unsigned char *end = start + HTTPD_HDR_MAX;

	if (httpd_answer_headers(h, req, &p, end) != 0) {
		GW_ERROR(h->inst->log_module, "cannot build the %d answer", req->status);
		return -1;
	}
	memcpy(p, req->answer, req->answer_len);
	p += req->answer_len;
	if (lws_write(req->wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_FINAL) < 0)
		return -1;
	return 0;
}

static int httpd_on_writable(struct httpd *h, struct httpd_req *req, struct lws *wsi)
{
	int close_after;

	if (req->state != HTTPD_C_ANSWER)
		return 0;
	if (httpd_write_answer(h, req) != 0)
		return -1;
	close_after = req->close;
	if (close_after && req->linger && httpd_body_pending(req)) {
		/* Closed once the body's rest is dropped (httpd_body.c). */
		req->state = HTTPD_C_LINGER;
		return 0;
	}
	httpd_req_reset(h, req);
	if (close_after)
		return -1;
	/* Keep-alive: lws rearms the connection for the next request. */
	listen_guard_busy(h->guard, wsi, 0);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/*
 * HTTP/1.1 only: an Upgrade (h2c, websocket) is answered 400 and the
 * connection closed, as a body may follow that lws would not frame.
 */
static int httpd_refuse_upgrade(struct httpd *h, struct lws *wsi, const char *proto)
{
	struct httpd_req *req = calloc(1, sizeof(*req) + h->opt.req_data_size);

	if (!req)
		return -1;
	httpd_req_reset(h, req);
	req->wsi = wsi;
	req->close = 1;
	h->inst->stats.requests++;
	httpd_refuse(req, 400, "invalid_request",
		     "protocol upgrade to %.32s is not supported; use HTTP/1.1", proto);
	httpd_write_answer(h, req);
	free(req);
	return -1;
}

static int httpd_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			  void *in, size_t len)
{
	struct httpd *h = lws_context_user(lws_get_context(wsi));
	struct httpd_req *req = user;
	int ret;

	if (!h)
		return 0;
	if (listen_guard_callback(h->guard, wsi, reason, user, in, &ret))
		return ret;
	if (reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE)
		return httpd_refuse_upgrade(h, wsi, in ? (const char *)in : "?");
	if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
		if (h->gc)
			(void)gcommit_poll(h->gc);
		if (h->opt.handlers->on_wake)
			h->opt.handlers->on_wake(h->opt.arg);
		return 0;
	}
	if (!req)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return httpd_on_request(h, req, wsi, in ? (const char *)in : "");
	case LWS_CALLBACK_HTTP_BODY:
		return req->h ? httpd_body_in(h, req, in, len) : 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return req->h ? httpd_body_end(h, req) : 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return httpd_on_writable(h, req, wsi);
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_WSI_DESTROY:
		/* A waiting request is forgotten (gcommit_cancel); what it
		 * queued still commits. */
		if (req->h)
			httpd_req_reset(h, req);
		return 0;
	default:
		return 0;
	}
}

/* ---- the server --------------------------------------------------------- */

static void httpd_tick_cb(lws_sorted_usec_list_t *sul)
{
	struct httpd *h = httpd_container_of(sul, struct httpd, tick_sul);
	int rc;

	(void)gcommit_poll(h->gc); /* a wake is never missed for long */
	rc = outbox_pump(h->inst->outbox);

	if (rc != GW_OK && h->failed == GW_OK) {
		GW_ERROR(h->inst->log_module, "outbox: %s", gw_strerror(rc));
		h->failed = rc;
	}
	if (h->opt.handlers->on_tick)
		h->opt.handlers->on_tick(h->opt.arg);
	connector_status_tick(h->inst);
	httpd_log_window(h, gw_mono_us()); /* the summary also when refusals stop */
	lws_sul_schedule(h->lws, 0, &h->tick_sul, httpd_tick_cb, HTTPD_TICK_US);
}

static int httpd_listen(struct httpd *h)
{
	const struct conf_listen *l = &h->opt.listen;
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	h->protocols[0].name = "http";
	h->protocols[0].callback = httpd_callback;
	h->protocols[0].per_session_data_size = sizeof(struct httpd_req) + h->opt.req_data_size;
	info.protocols = h->protocols;
	info.port = l->port;
	/* lws takes a numeric address (or an interface name) as iface. */
	info.iface = strcmp(l->host, "localhost") == 0 ? "127.0.0.1" : l->host;
	if (!strchr(info.iface, ':'))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.options |= LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	info.user = h;
	info.server_string = "omnigate";
	info.pt_serv_buf_size = HTTPD_SERV_BUF;
	/* Connection limits, header and keep-alive timeouts. */
	listen_guard_info(h->guard, &info);
	h->lws = lws_create_context(&info);
	if (!h->lws) {
		GW_ERROR(h->inst->log_module, "cannot listen on %s:%d", l->host, l->port);
		return GW_EIO;
	}
	GW_INFO(h->inst->log_module, "listening on http://%s:%d%s", l->host, l->port,
		h->opt.endpoint ? h->opt.endpoint : "");
	return GW_OK;
}

static int httpd_guard(struct httpd *h)
{
	struct listen_guard_options g = {
		.max_connections = h->opt.max_connections,
		.limits = h->opt.limits,
		.log_module = h->inst->log_module,
		.conn_refused = &h->inst->stats.conn_refused,
		.rate_limited = &h->inst->stats.rate_limited,
		.on_deadline = httpd_deadline,
		.arg = h,
	};

	return listen_guard_create(&g, &h->guard);
}

static void httpd_wake_fn(void *arg)
{
	httpd_wake(arg);
}

static int httpd_gcommit(struct httpd *h)
{
	struct gcommit_options g = {
		.outbox = h->inst->outbox,
		.log_module = h->inst->log_module,
		.arg = h,
		.wake = httpd_wake_fn,
		.schedule = httpd_schedule_commit,
	};

	return gcommit_create(&g, &h->gc);
}

/* The limits of a connector whose table has no HTTPD_CONF_ROWS yet: the
 * rows' defaults (httpd_config.h). */
static const struct httpd_limits httpd_default_limits = {
	.max_connections_per_ip = 64, .header_timeout_s = 10, .idle_timeout_s = 30,
	.requests_per_minute = 12000, .requests_burst = 2000, .body_timeout_s = 20,
	.body_min_rate = 1024,
};

int httpd_create(const struct httpd_options *opt, struct httpd **out)
{
	struct httpd *h = calloc(1, sizeof(*h));
	int rc;

	*out = NULL;
	if (!h)
		return GW_ENOMEM;
	h->opt = *opt;
	if (!h->opt.limits)
		h->opt.limits = &httpd_default_limits;
	h->inst = opt->inst;
	snprintf(httpd_lws_module, sizeof(httpd_lws_module), "%s", opt->inst->log_module);
	lws_set_log_level(LLL_ERR | LLL_WARN, httpd_lws_log);
	rc = httpd_guard(h);
	if (rc == GW_OK)
		rc = httpd_listen(h);
	if (rc == GW_OK)
		rc = httpd_gcommit(h);
	if (rc != GW_OK) {
		httpd_destroy(h);
		return rc;
	}
	*out = h;
	return GW_OK;
}

/*
 * On stop nothing more is answered: what is queued is committed (so no
 * accepted byte is lost) and the connections are closed by destroy; their
 * clients retry and the router deduplicates.
 */
static void httpd_stop(struct httpd *h)
{
	size_t n = outbox_queued(h->inst->outbox);

	lws_sul_cancel(&h->commit_sul);
	lws_sul_cancel(&h->tick_sul);
	h->stopping = 1;
	while (lws_dll2_get_head(&h->held))
		lws_dll2_remove(lws_dll2_get_head(&h->held));
	/* Waits for the commit in flight, commits the rest; the waiters are
	 * called but answer nothing (h->stopping). Then no wake reaches lws. */
	if (gcommit_flush(h->gc) == GW_OK && n > 0)
		GW_INFO(h->inst->log_module, "stopping: committed %zu unanswered events", n);
}

int httpd_run(struct httpd *h)
{
	lws_sul_schedule(h->lws, 0, &h->tick_sul, httpd_tick_cb, HTTPD_TICK_US);
	while (!connector_stopping() && h->failed == GW_OK) {
		/* Blocks until a socket or a timer (<= HTTPD_TICK_US) is due. */
		if (lws_service(h->lws, 0) < 0 && !connector_stopping()) {
			GW_ERROR(h->inst->log_module, "lws service failed");
			h->failed = GW_EIO;
		}
	}
	httpd_stop(h);
	return h->failed;
}

void httpd_destroy(struct httpd *h)
{
	if (!h)
		return;
	/*
	 * Closing the connections calls back into httpd_callback, which only
	 * resets their state: h stays valid until the context is gone.
	 */
	/* First, while the wake still has a context to reach: what is queued
	 * is committed, the waiters answer nothing. The connections' resets
	 * then find no group commit. */
	h->stopping = 1;
	gcommit_close(h->gc);
	h->gc = NULL;
	if (h->lws)
		lws_context_destroy(h->lws);
	listen_guard_destroy(h->guard);
	free(h);
}

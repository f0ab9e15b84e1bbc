/*
 * http.c - gateway-integration's HTTP/1.1 server on libwebsockets.
 *
 * connectors/httpd.c is built around a connector instance (outbox, group
 * commit, answers of at most 2 KiB), none of which this process has, so it
 * has its own small server with the connectors' framing rules
 * (connectors/http_framing.h): a body has a Content-Length or is chunked
 * (decoded by connectors/chunked.c within max_body_bytes, and the
 * connection closed after the answer: lws cannot tell where the next
 * request would start); both at once, or another transfer coding, 400 or
 * 501 and closed. A body over max_body_bytes is answered 413 at once, then
 * read and dropped up to IG_LINGER_FACTOR times max_body_bytes before the
 * connection closes, so that a client sending its whole body first reads
 * the 413 rather than a reset. Keep-alive, one answer per request; each
 * refusal here is logged as a request line (token=-). Answers of any size
 * are written in chunks as the socket takes them; an attachment is
 * streamed from its file.
 *
 * Floods are the connectors' listen guard's (connectors/listen_guard.h,
 * limits from integration's table): connections per address (429 and
 * closed at accept) and in all (max_connections), the header and idle
 * timeouts, a token bucket of requests per address (429 with Retry-After,
 * GET /healthz aside), a body's deadline (408 and closed).
 *
 *   LWS_CALLBACK_HTTP             request line and headers: copied; a GET
 *                                 (or a body-less POST) is handled at once
 *   LWS_CALLBACK_HTTP_BODY        into a buffer of the announced length
 *   LWS_CALLBACK_HTTP_BODY_COMPLETION  the handler (api.c)
 *   LWS_CALLBACK_HTTP_WRITEABLE   headers, then the body chunk by chunk
 */
#include "gateway/integration/integration.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "connectors/chunked.h"
#include "connectors/http_framing.h"
#include "connectors/listen_guard.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define IG_HDR_MAX 4096
#define IG_CHUNK (64 * 1024)
#define IG_TICK_US (1000 * LWS_US_PER_MS)
#define IG_LINGER_FACTOR 4          /* a refused body is dropped up to 4x max_body_bytes */

/* C_LINGER: the answer (a 413) is out, the rest of the body is dropped. */
enum conn_state { C_IDLE = 0, C_BODY, C_ANSWER, C_LINGER };

struct ig_conn {
	struct ig_request q;
	enum conn_state state;
	struct chunked_buf body; /* max: Content-Length, or max_body_bytes if chunked */
	uint64_t body_seen;    /* body bytes received, as sent (encoded) */
	struct chunked ch;
	int chunked;           /* Transfer-Encoding: chunked */
	int linger;            /* a refused body is read and dropped */
	int body_done;         /* the whole body has arrived */
	int64_t body_start_us; /* its body's clock (body_timeout_s) */
	size_t sent;        /* bytes of the answer body written */
	int headers_sent;
	int close;
};

struct ig_http {
	const struct gw_config_integration *in;
	struct ig_api *api;
	struct listen_guard *guard;
	uint64_t conn_refused, rate_limited, timeouts;
	struct lws_context *lws;
	struct lws_protocols protocols[2];
	lws_sorted_usec_list_t tick_sul;
	void (*tick)(void *arg);
	void *tick_arg;
	unsigned char out[LWS_PRE + IG_HDR_MAX + IG_CHUNK];
};

#define ig_container_of(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

static void lws_log_line(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	gw_log(level & LLL_ERR ? GW_LOG_ERROR : GW_LOG_WARN, IG_MOD, "lws: %.*s", (int)n, line);
}

int ig_query(const struct ig_request *q, const char *name, char *buf, size_t len)
{
	char frag[IG_PATH_MAX + 1];
	size_t nlen = strlen(name);

	for (int i = 0; q->wsi; i++) {
		int n = lws_hdr_fragment_length(q->wsi, WSI_TOKEN_HTTP_URI_ARGS, i);

		if (n <= 0)
			return GW_ENOTFOUND;
		if ((size_t)n < nlen + 1 || (size_t)n >= sizeof(frag))
			continue;
		if (lws_hdr_copy_fragment(q->wsi, frag, (int)sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS,
					  i) != n)
			continue;
		if (strncmp(frag, name, nlen) != 0 || frag[nlen] != '=')
			continue;
		if ((size_t)n - nlen - 1 >= len)
			return GW_ETOOBIG;
		memcpy(buf, frag + nlen + 1, (size_t)n - nlen);
		return GW_OK;
	}
	return GW_ENOTFOUND;
}

static void conn_reset(struct ig_conn *c)
{
	chunked_buf_free(&c->body);
	free(c->q.ans.body);
	if (c->q.ans.fd >= 0 && c->state != C_IDLE)
		close(c->q.ans.fd);
	memset(c, 0, sizeof(*c));
	c->q.ans.fd = -1;
}

static void copy_header(struct lws *wsi, enum lws_token_indexes tok, char *buf, size_t len)
{
	int n = lws_hdr_total_length(wsi, tok);

	buf[0] = '\0';
	if (n > 0 && (size_t)n < len)
		lws_hdr_copy(wsi, buf, (int)len, tok);
}

static void copy_idem_key(struct lws *wsi, struct ig_request *q)
{
	static const char key[] = "idempotency-key:";
	int n = lws_hdr_custom_length(wsi, key, (int)strlen(key));

	q->idem_key[0] = '\0';
	if (n <= 0)
		return;
	if ((size_t)n > IG_KEY_MAX) {
		q->idem_bad = 1;
		return;
	}
	lws_hdr_custom_copy(wsi, q->idem_key, (int)sizeof(q->idem_key), key, (int)strlen(key));
}

static void answer_ready(struct ig_conn *c, struct lws *wsi)
{
	struct ig_http *h = lws_context_user(lws_get_context(wsi));

	listen_guard_deadline(h->guard, wsi, 0);
	c->state = C_ANSWER;
	c->q.wsi = NULL;
	lws_callback_on_writable(wsi);
}

static void handle(struct ig_http *h, struct ig_conn *c, struct lws *wsi)
{
	c->q.wsi = wsi;
	c->q.body = c->body.data ? c->body.data : "";
	c->q.body_len = c->body.len;
	ig_api_handle(h->api, &c->q);
	answer_ready(c, wsi);
}

/* log_refusal - the request line of a request refused here, before any
 * token was looked at (api.c logs the others). */
static void log_refusal(const struct ig_conn *c)
{
	GW_INFO(IG_MOD, "%s %.200s token=- peer=%s %d",
		c->q.method == IG_GET ? "GET" : c->q.method == IG_POST ? "POST" : "OTHER",
		c->q.path, c->q.peer, c->q.ans.status);
}

/* refuse - answers the error (logged) and closes after it. */
static void refuse(struct ig_conn *c, struct lws *wsi, int status, const char *code,
		   const char *msg)
{
	c->close = 1;
	ig_error(&c->q, status, code, "%s", msg);
	log_refusal(c);
	answer_ready(c, wsi);
}

/* body_clock - the body's deadline: body_timeout_s from now (on_deadline
 * extends it by the rate). */
static void body_clock(struct ig_http *h, struct ig_conn *c, struct lws *wsi)
{
	c->body_start_us = gw_mono_us();
	listen_guard_deadline(h->guard, wsi,
			      c->body_start_us + h->in->limits.body_timeout_s * 1000000);
}

/* too_large - 413 at once; the body is then read and dropped up to a
 * bound (linger) before the connection closes. */
static void too_large(struct ig_http *h, struct ig_conn *c, struct lws *wsi, long long len)
{
	char msg[128];

	if (len >= 0)
		snprintf(msg, sizeof(msg), "body of %lld bytes is over the limit of %lld", len,
			 h->in->max_body_bytes);
	else
		snprintf(msg, sizeof(msg), "chunked body over the limit of %lld",
			 h->in->max_body_bytes);
	c->linger = 1;
	refuse(c, wsi, 413, "too_large", msg);
	body_clock(h, c, wsi);
}

/* framing - checks the body's framing (http_framing.h) and its size; 0 to
 * go on, 1 when answered. */
static int framing(struct ig_http *h, struct ig_conn *c, struct lws *wsi,
		   const struct http_framing *f)
{
	if (f->status)
		refuse(c, wsi, f->status, f->code, f->message);
	else if (f->length > h->in->max_body_bytes)
		too_large(h, c, wsi, f->length);
	else {
		/* lws cannot tell where the request after a chunked one starts. */
		c->chunked = f->chunked;
		c->close = c->chunked;
		return 0;
	}
	return 1;
}

/* rate_limited - the request's address is over requests_per_minute: 429
 * with Retry-After (and closed when a body would follow); 1 when answered. */
static int rate_limited(struct ig_http *h, struct ig_conn *c, struct lws *wsi, long long len,
			const char *path)
{
	unsigned retry = 0;

	if ((c->q.method == IG_GET && strcmp(path, "/healthz") == 0) ||
	    listen_guard_request(h->guard, wsi, &retry) == GW_OK)
		return 0;
	c->close = len > 0 || c->chunked;
	ig_error(&c->q, 429, "rate_limited", "too many requests from this address; retry in %u s",
		 retry);
	ig_retry_after(&c->q, retry);
	GW_WARN(IG_MOD, "429 rate_limited from %s: over requests_per_minute", c->q.peer);
	answer_ready(c, wsi);
	return 1;
}

/* start_body - reads the body (its announced length, or a chunked one
 * growing up to max_body_bytes) within body_timeout_s. */
static int start_body(struct ig_http *h, struct ig_conn *c, struct lws *wsi, long long len)
{
	size_t max = c->chunked ? (size_t)h->in->max_body_bytes : (size_t)len;

	if (chunked_buf_init(&c->body, c->chunked ? CHUNKED_BUF_FIRST : max, max) != GW_OK)
		return -1;
	if (c->chunked)
		chunked_init(&c->ch);
	c->state = C_BODY;
	body_clock(h, c, wsi);
	return 0;
}

static int on_request(struct ig_http *h, struct ig_conn *c, struct lws *wsi, const char *path)
{
	struct http_framing f;
	long long len;

	conn_reset(c);
	listen_guard_busy(h->guard, wsi, 1);
	c->q.method = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0	 ? IG_GET
		      : lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0 ? IG_POST
									   : IG_OTHER;
	snprintf(c->q.path, sizeof(c->q.path), "%s", path);
	copy_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, c->q.auth, sizeof(c->q.auth));
	copy_idem_key(wsi, &c->q);
	lws_get_peer_simple(wsi, c->q.peer, sizeof(c->q.peer));
	http_framing_read(wsi, &f);
	len = f.length;
	if (framing(h, c, wsi, &f) || rate_limited(h, c, wsi, len, path))
		return 0;
	if (strlen(path) > IG_PATH_MAX) {
		ig_error(&c->q, 414, "uri_too_long", "the path is over %d bytes", IG_PATH_MAX);
		log_refusal(c);
		answer_ready(c, wsi);
	} else if (c->q.method == IG_POST && (len > 0 || c->chunked)) {
		return start_body(h, c, wsi, len);
	} else {
		handle(h, c, wsi);
	}
	return 0;
}

static int drop_body(struct ig_http *h, struct ig_conn *c, const char *in, size_t len);

/* chunked_in - decodes a chunked body into its buffer; at its end the
 * request is handled. */
static int chunked_in(struct ig_http *h, struct ig_conn *c, struct lws *wsi, const char *in,
		      size_t len)
{
	int rc = chunked_read(&c->ch, &c->body, &in, &len);

	if (rc == GW_ENOMEM) {
		refuse(c, wsi, 503, "unavailable", "out of memory for the body");
		return 0;
	}
	if (rc == GW_ETOOBIG) {
		too_large(h, c, wsi, -1);
		return drop_body(h, c, in, len);
	}
	if (rc != GW_OK) {
		refuse(c, wsi, 400, "invalid_request", "the chunked body is malformed");
		return 0;
	}
	if (chunked_done(&c->ch)) {
		c->body_done = 1;
		/* lws still waits for more: its timeout must not close us. */
		lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
		handle(h, c, wsi);
	}
	return 0;
}

/* drop_body - the rest of a refused body, read and dropped; once it is all
 * in, or over the bound, the connection closes after its answer (-1 when
 * that answer is out). */
static int drop_body(struct ig_http *h, struct ig_conn *c, const char *in, size_t len)
{
	if (c->chunked &&
	    (chunked_read(&c->ch, NULL, &in, &len) != GW_OK || chunked_done(&c->ch)))
		c->body_done = 1;
	if (!c->body_done &&
	    c->body_seen <= (uint64_t)h->in->max_body_bytes * IG_LINGER_FACTOR)
		return 0;
	c->linger = 0; /* enough: closed once the answer is out */
	return c->state == C_LINGER ? -1 : 0;
}

static int on_body(struct ig_http *h, struct ig_conn *c, struct lws *wsi, const void *in,
		   size_t len)
{
	c->body_seen += len;
	if (c->state == C_BODY && c->chunked)
		return chunked_in(h, c, wsi, in, len);
	if (c->state != C_BODY)
		return c->linger ? drop_body(h, c, in, len) : 0;
	/* More than announced: the framing is lost. */
	return chunked_buf_append(&c->body, in, len) == GW_OK ? 0 : -1;
}

static int add_hdr(struct lws *wsi, enum lws_token_indexes tok, const char *v,
		   unsigned char **p, unsigned char *end)
{
	return lws_add_http_header_by_token(wsi, tok, (const unsigned char *)v, (int)strlen(v),
					    p, end);
}

static int write_headers(struct ig_conn *c, struct lws *wsi, unsigned char **p,
			 unsigned char *end)
{
	const struct ig_answer *a = &c->q.ans;
	char len[24];

	snprintf(len, sizeof(len), "%zu", a->len);
	if (lws_add_http_header_status(wsi, (unsigned int)a->status, p, end) ||
	    add_hdr(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
		    a->content_type ? a->content_type : "application/json", p, end) ||
	    add_hdr(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, len, p, end))
		return -1;
	if (c->close && add_hdr(wsi, WSI_TOKEN_CONNECTION, "close", p, end))
		return -1;
	for (int i = 0; i < 3 && a->extra_name[i]; i++)
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)a->extra_name[i],
						(const unsigned char *)a->extra_value[i],
						(int)strlen(a->extra_value[i]), p, end))
			return -1;
	return lws_finalize_http_header(wsi, p, end) ? -1 : 0;
}

/* body_chunk - the next bytes of the answer at p (room bytes at most). */
static long body_chunk(struct ig_conn *c, unsigned char *p, size_t room)
{
	const struct ig_answer *a = &c->q.ans;
	size_t n = a->len - c->sent < room ? a->len - c->sent : room;
	ssize_t got;

	if (a->fd < 0) {
		memcpy(p, a->body + c->sent, n);
		return (long)n;
	}
	got = read(a->fd, p, n);
	if (got <= 0)
		return -1; /* the file shrank: the announced length cannot be kept */
	return (long)got;
}

static int on_writable(struct ig_http *h, struct ig_conn *c, struct lws *wsi)
{
	unsigned char *start = h->out + LWS_PRE, *p = start;
	long n;
	int done, close_after;

	if (c->state != C_ANSWER)
		return 0;
	if (!c->headers_sent) {
		if (write_headers(c, wsi, &p, start + IG_HDR_MAX) != 0)
			return -1;
		c->headers_sent = 1;
	}
	n = c->sent < c->q.ans.len ? body_chunk(c, p, IG_CHUNK) : 0;
	if (n < 0)
		return -1;
	c->sent += (size_t)n;
	p += n;
	done = c->sent >= c->q.ans.len;
	if (lws_write(wsi, start, (size_t)(p - start),
		      done ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0)
		return -1;
	if (!done) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	close_after = c->close;
	if (close_after && c->linger && !c->body_done) {
		/* Closed once the body's rest is dropped (drop_body), or late. */
		c->state = C_LINGER;
		return 0;
	}
	conn_reset(c);
	if (close_after)
		return -1;
	listen_guard_busy(h->guard, wsi, 0);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct ig_http *h = lws_context_user(lws_get_context(wsi));
	struct ig_conn *c = user;
	int ret;

	if (!h)
		return 0;
	if (listen_guard_callback(h->guard, wsi, reason, user, in, &ret))
		return ret;
	if (reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE)
		return -1; /* HTTP/1.1 only */
	if (!c)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_request(h, c, wsi, in ? (const char *)in : "");
	case LWS_CALLBACK_HTTP_BODY:
		return on_body(h, c, wsi, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (c->chunked)
			return 0; /* lws's idea of the end: a chunked body ended before */
		c->body_done = 1;
		if (c->state == C_BODY)
			handle(h, c, wsi);
		return c->state == C_LINGER ? -1 : 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return on_writable(h, c, wsi);
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		conn_reset(c);
		return 0;
	default:
		return 0;
	}
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
	struct ig_http *h = ig_container_of(sul, struct ig_http, tick_sul);

	if (h->tick)
		h->tick(h->tick_arg);
	lws_sul_schedule(h->lws, 0, &h->tick_sul, tick_cb, IG_TICK_US);
}

/*
 * on_deadline - the body of `wsi` is late: body_timeout_s from its headers,
 * plus a second per body_min_rate bytes received. 408 and closed.
 */
static void on_deadline(void *arg, struct lws *wsi)
{
	struct ig_http *h = arg;
	struct ig_conn *c = lws_wsi_user(wsi);
	const struct httpd_limits *l = &h->in->limits;
	int64_t due;

	if (!c || (c->state != C_BODY && !c->linger))
		return;
	due = c->body_start_us + l->body_timeout_s * 1000000;
	if (l->body_min_rate > 0)
		due += (int64_t)(c->body_seen * 1000000 / (uint64_t)l->body_min_rate);
	if (due > gw_mono_us()) {
		listen_guard_deadline(h->guard, wsi, due);
		return;
	}
	if (c->state != C_BODY) { /* a refused body too slow to drop: closed */
		c->linger = 0;
		if (c->state == C_LINGER)
			lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		return;
	}
	h->timeouts++;
	c->close = 1;
	ig_error(&c->q, 408, "timeout", "the body did not arrive in time");
	GW_WARN(IG_MOD, "408 timeout from %s: %zu of %zu body bytes in time", c->q.peer,
		c->body.len, c->body.max);
	answer_ready(c, wsi);
}

static int make_guard(struct ig_http *h)
{
	struct listen_guard_options g = {
		.max_connections = h->in->max_connections,
		.limits = &h->in->limits,
		.log_module = IG_MOD,
		.conn_refused = &h->conn_refused,
		.rate_limited = &h->rate_limited,
		.on_deadline = on_deadline,
		.arg = h,
	};

	return listen_guard_create(&g, &h->guard);
}

void ig_http_stats(const struct ig_http *h, struct ig_stats *s)
{
	s->conn_refused = h->conn_refused;
	s->rate_limited = h->rate_limited;
	s->body_timeouts = h->timeouts;
}

int ig_http_create(const struct gw_config_integration *in, struct ig_api *api,
		   struct ig_http **out)
{
	struct ig_http *h = calloc(1, sizeof(*h));
	struct lws_context_creation_info info;
	int rc;

	*out = NULL;
	if (!h)
		return GW_ENOMEM;
	h->in = in;
	h->api = api;
	rc = make_guard(h);
	if (rc != GW_OK) {
		free(h);
		return rc;
	}
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);
	memset(&info, 0, sizeof(info));
	h->protocols[0].name = "http";
	h->protocols[0].callback = callback;
	h->protocols[0].per_session_data_size = sizeof(struct ig_conn);
	info.protocols = h->protocols;
	info.port = in->listen.port;
	info.iface = strcmp(in->listen.host, "localhost") == 0 ? "127.0.0.1" : in->listen.host;
	if (!strchr(info.iface, ':'))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.options |= LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	info.user = h;
	info.server_string = "omnigate";
	listen_guard_info(h->guard, &info);
	h->lws = lws_create_context(&info);
	if (!h->lws) {
		GW_ERROR(IG_MOD, "cannot listen on %s:%d", in->listen.host, in->listen.port);
		listen_guard_destroy(h->guard);
		free(h);
		return GW_EIO;
	}
	GW_INFO(IG_MOD, "listening on http://%s:%d/v1/", in->listen.host, in->listen.port);
	*out = h;
	return GW_OK;
}

int ig_http_run(struct ig_http *h, void (*tick)(void *arg), void *arg)
{
	h->tick = tick;
	h->tick_arg = arg;
	lws_sul_schedule(h->lws, 0, &h->tick_sul, tick_cb, 1);
	while (!ig_stop)
		if (lws_service(h->lws, 0) < 0 && !ig_stop) {
			GW_ERROR(IG_MOD, "lws service failed");
			return GW_EIO;
		}
	lws_sul_cancel(&h->tick_sul);
	return GW_OK;
}

void ig_http_destroy(struct ig_http *h)
{
	if (!h)
		return;
	if (h->lws)
		lws_context_destroy(h->lws);
	listen_guard_destroy(h->guard); /* after lws: it reports every connection's end */
	free(h);
}

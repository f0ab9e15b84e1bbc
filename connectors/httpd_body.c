/*
 * httpd_body.c - request bodies on the shared HTTP server (httpd.h): their
 * framing, their reading into a bounded buffer, their deadline, and the
 * lingering close after a refusal.
 *
 * Framing. A Content-Length body is delivered by lws up to that length. A
 * chunked body (Transfer-Encoding: chunked, no Content-Length) is delivered
 * still encoded (lws 4.1 counts it as a body of 100 MiB): chunked.c decodes
 * it into a buffer that grows up to max_body_bytes, and as lws cannot tell
 * where the next request would start, the connection closes after the
 * answer. Both headers at once, or another transfer coding, cannot be
 * delimited safely: 400 or 501, and closed at once.
 *
 * Refusals. A refusal before the body is read drops the body first, then
 * answers (the connection stays usable). A body over max_body_bytes is
 * answered 413 at once and then read and dropped, up to
 * HTTPD_LINGER_FACTOR times max_body_bytes, before the connection closes,
 * as nginx's lingering close does: a client that sends its whole body
 * before reading (no "Expect: 100-continue") then finds the 413 instead of
 * a reset.
 *
 * Deadline. From its headers, a body has body_timeout_s, plus one second
 * per body_min_rate bytes received (the extension is computed when the
 * deadline comes, so a steady body is never interrupted): past it, 408 and
 * closed, or closed when its answer is already out.
 */
#include "connectors/httpd_int.h"

#include <stdlib.h>
#include <string.h>

#include "connectors/http_framing.h"
#include "connectors/runtime.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define HTTPD_LINGER_FACTOR 4   /* a refused body is dropped up to 4x max_body_bytes */

/* Starts the body's clock: the guard calls httpd_deadline when it is due. */
static void httpd_body_clock(struct httpd *h, struct httpd_req *req)
{
	req->body_start_us = gw_mono_us();
	listen_guard_deadline(h->guard, req->wsi,
			      req->body_start_us + h->opt.limits->body_timeout_s * 1000000);
}

/* A refusal of the framing itself: answered at once, then closed. */
static int httpd_refuse_framing(struct httpd_req *req, int status, const char *code,
				const char *message)
{
	req->close = 1;
	req->answer_now = 1;
	httpd_refuse(req, status, code, "%s", message);
	return 1;
}

static int httpd_chunked_framing(struct httpd *h, struct httpd_req *req)
{
	/* lws cannot tell where the request after this one would start. */
	req->close = 1;
	if (req->method != HTTPD_M_POST) {
		req->answer_now = 1; /* lws reads no body there: nothing to drop */
		return 0;
	}
	req->chunked = 1;
	chunked_init(&req->ch);
	req->body.max = (size_t)h->opt.max_body_bytes;
	httpd_body_clock(h, req);
	return 0;
}

int httpd_check_framing(struct httpd *h, struct httpd_req *req)
{
	struct http_framing f;
	long long len;

	http_framing_read(req->wsi, &f);
	len = f.length;
	req->content_length = len < 0 ? -1 : len;
	if (f.status)
		return httpd_refuse_framing(req, f.status, f.code, f.message);
	if (f.chunked)
		return httpd_chunked_framing(h, req);
	if (len > h->opt.max_body_bytes) {
		req->close = 1;
		req->answer_now = 1;
		req->linger = 1;
		httpd_body_clock(h, req);
		httpd_refuse(req, 413, "too_large",
			     "body of %lld bytes is over the limit of %lld bytes", len,
			     h->opt.max_body_bytes);
		return 1;
	}
	/* Remembered so that a refusal before the body reads and drops it. */
	req->body.max = len > 0 ? (size_t)len : 0;
	if (len > 0)
		httpd_body_clock(h, req);
	return 0;
}

int httpd_body_pending(const struct httpd_req *req)
{
	return !req->body_done && (req->content_length > 0 || req->chunked);
}

void httpd_start_body(struct httpd *h, struct httpd_req *req)
{
	if (!req->chunked && req->content_length < 0) {
		httpd_refuse(req, 411, "length_required",
			     "a Content-Length header or a chunked body is required");
		return;
	}
	if (!req->chunked && req->content_length == 0) {
		req->body_done = 1;
		httpd_call_body(h, req, "", 0);
		return;
	}
	if (chunked_buf_init(&req->body, req->chunked ? CHUNKED_BUF_FIRST : req->body.max,
			     req->body.max) != GW_OK) {
		httpd_refuse(req, 503, "unavailable", "out of memory for the body");
		return;
	}
	req->state = HTTPD_C_BODY;
}

/* The whole body is in: on_body gets it (the buffer is ours for the call). */
static void httpd_body_complete(struct httpd *h, struct httpd_req *req)
{
	struct chunked_buf body = req->body;

	req->body_done = 1;
	listen_guard_deadline(h->guard, req->wsi, 0);
	/* on_body may reset the request: the buffer is taken out of it. */
	req->body = (struct chunked_buf){.max = body.max};
	httpd_call_body(h, req, body.data ? body.data : "", body.len);
	chunked_buf_free(&body);
}

/* A body dropped after its answer: enough of it to close. */
static int httpd_drained(const struct httpd *h, const struct httpd_req *req)
{
	return req->body_seen > (uint64_t)h->opt.max_body_bytes * HTTPD_LINGER_FACTOR;
}

static int httpd_chunked_drop(struct httpd *h, struct httpd_req *req, const char *in,
			      size_t len);

/* The body outgrew max_body_bytes while being read: 413, the rest dropped. */
static int httpd_chunked_over(struct httpd *h, struct httpd_req *req, int oom,
			      const char *in, size_t len)
{
	req->close = 1;
	req->answer_now = 1;
	if (oom) {
		httpd_refuse(req, 503, "unavailable", "out of memory for the body");
		return 0;
	}
	req->linger = 1;
	httpd_refuse(req, 413, "too_large", "chunked body over the limit of %lld bytes",
		     h->opt.max_body_bytes);
	return httpd_chunked_drop(h, req, in, len);
}

/* Decodes a chunked body into its buffer (HTTPD_C_BODY). */
static int httpd_chunked_read(struct httpd *h, struct httpd_req *req, const char *in,
			      size_t len)
{
	int rc = chunked_read(&req->ch, &req->body, &in, &len);

	if (rc == GW_ETOOBIG || rc == GW_ENOMEM)
		return httpd_chunked_over(h, req, rc == GW_ENOMEM, in, len);
	if (rc != GW_OK) {
		httpd_refuse_framing(req, 400, "invalid_request", "the chunked body is malformed");
		return 0;
	}
	if (chunked_done(&req->ch)) {
		/* lws still waits for more: its body timeout must not close us
		 * while the answer is prepared. */
		lws_set_timeout(req->wsi, NO_PENDING_TIMEOUT, 0);
		httpd_body_complete(h, req);
	}
	return 0;
}

/* Decodes and drops a chunked body whose answer is known (or written). */
static int httpd_chunked_drop(struct httpd *h, struct httpd_req *req, const char *in,
			      size_t len)
{
	int rc = chunked_read(&req->ch, NULL, &in, &len);

	if (rc != GW_OK || chunked_done(&req->ch) || httpd_drained(h, req)) {
		req->body_done = chunked_done(&req->ch);
		if (req->state == HTTPD_C_LINGER)
			return -1; /* the answer is out: close */
		if (req->state == HTTPD_C_DISCARD) {
			req->answer_now = 1;
			httpd_ready(req);
		}
		lws_set_timeout(req->wsi, NO_PENDING_TIMEOUT, 0);
	}
	return 0;
}

int httpd_body_in(struct httpd *h, struct httpd_req *req, const char *in, size_t len)
{
	req->body_seen += len;
	if (req->chunked)
		return req->state == HTTPD_C_BODY ? httpd_chunked_read(h, req, in, len)
						  : httpd_chunked_drop(h, req, in, len);
	switch (req->state) {
	case HTTPD_C_BODY:
		/* The buffer holds the whole Content-Length already: only a
		 * longer body is refused. */
		if (chunked_buf_append(&req->body, in, len) != GW_OK)
			httpd_refuse_framing(req, 413, "too_large",
					     "body longer than its Content-Length");
		return 0;
	case HTTPD_C_LINGER:
		return httpd_drained(h, req) ? -1 : 0;
	default:
		return 0; /* dropping it */
	}
}

int httpd_body_end(struct httpd *h, struct httpd_req *req)
{
	if (req->chunked)
		return 0; /* lws's idea of the end: a chunked body ended before */
	req->body_done = 1;
	listen_guard_deadline(h->guard, req->wsi, 0);
	switch (req->state) {
	case HTTPD_C_DISCARD:
		httpd_ready(req);
		return 0;
	case HTTPD_C_LINGER:
		return -1;
	case HTTPD_C_BODY:
		httpd_body_complete(h, req);
		return 0;
	default:
		return 0;
	}
}

void httpd_deadline(void *arg, struct lws *wsi)
{
	struct httpd *h = arg;
	struct httpd_req *req = lws_wsi_user(wsi);
	const struct httpd_limits *l = h->opt.limits;
	int64_t due;

	if (!req || req->h != h || req->wsi != wsi)
		return;
	due = req->body_start_us + l->body_timeout_s * 1000000;
	if (l->body_min_rate > 0)
		due += (int64_t)(req->body_seen * 1000000 / (uint64_t)l->body_min_rate);
	if (due > gw_mono_us()) {
		listen_guard_deadline(h->guard, wsi, due);
		return;
	}
	switch (req->state) {
	case HTTPD_C_BODY:
		httpd_refuse_framing(req, 408, "timeout", "the body did not arrive in time");
		break;
	case HTTPD_C_DISCARD: /* its answer is known: now, and closing */
		req->close = 1;
		req->answer_now = 1;
		httpd_ready(req);
		break;
	case HTTPD_C_ANSWER:
		req->linger = 0;
		req->close = 1;
		break;
	case HTTPD_C_LINGER:
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		break;
	default:
		break; /* the body is in */
	}
}

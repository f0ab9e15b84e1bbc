/*
 * lc_http.c - the live chat's HTTP side: the callback of protocols[0]
 * ("http"), which lws calls for every connection and every request before
 * any websocket exists. It applies the listener's flood limits
 * (listen_guard.h) and the checks every websocket must pass, whatever
 * subprotocol it asks for, before lws picks a protocol:
 *
 *   accept                 connections per address and in all (the guard)
 *   FILTER_HTTP_CONNECTION a plain request: the address's bucket (429),
 *                          GET and HEAD only (other methods 405, closed;
 *                          POST is answered at LWS_CALLBACK_HTTP, below)
 *   HTTP_CONFIRM_UPGRADE   every upgrade: the bucket (429), websocket only,
 *                          path /chat (404), the subprotocol gateway-chat
 *                          (400 when missing or unknown), the Origin (403)
 *   LWS_CALLBACK_HTTP      a POST to /upload or a GET of /files/<hex>: a
 *                          visitor's file (lc_upload.c); another POST (the
 *                          files' mount routes it here before serving
 *                          anything): 405, its body dropped up to
 *                          LC_LINGER_MAX, then closed; or a GET of a file
 *                          that does not exist: 404 (lws's dummy callback)
 *   HTTP_WRITEABLE         an upload whose group commit ended: its answer
 *
 * Everything else goes to lws_callback_http_dummy, which serves the files.
 *
 * Threading: the service thread.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "connectors/livechat/livechat_int.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define LC_PATH_CHAT "/chat"
#define LC_PROTOCOL "gateway-chat"
#define LC_ANSWER_MAX 512       /* body of a refusal */
#define LC_LINGER_MAX (1 << 20) /* body bytes of a refused POST dropped before closing */
#define LC_LINGER_S 5           /* and the time allowed for them */
#define LC_ALLOW "GET, HEAD"

/* ---- answers ------------------------------------------------------------------- */

static int lc_origin_ok(struct livechat *lc, struct lws *wsi);

int lc_http_cors(struct lws *wsi, unsigned char **p, unsigned char *end)
{
	struct livechat *lc = lws_context_user(lws_get_context(wsi));
	char origin[512];
	int n;

	if (!lc || lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0 || !lc_origin_ok(lc, wsi))
		return 0;
	n = lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN);
	if (n <= 0)
		return 0;
	return lws_add_http_header_by_name(wsi, (const unsigned char *)"access-control-allow-origin:",
					   (const unsigned char *)origin, n, p, end) ? -1 : 0;
}

/* The {"error","message"} body of a refusal; its length, 0 when it cannot be built. */
static size_t lc_error_json(char *buf, size_t len, const char *code, const char *message)
{
	json_t *doc = json_pack("{s:s,s:s}", "error", code, "message", message);
	size_t n = doc ? json_dumpb(doc, buf, len, JSON_COMPACT) : 0;

	json_decref(doc);
	return n <= len ? n : 0;
}

/*
 * Writes a refusal: `status` with the JSON error, "Connection: close", and
 * Allow (a 405) or Retry-After (a 429) when given. Returns 0, or -1 when it
 * could not be written (the connection closes anyway).
 */
static int lc_answer(struct lws *wsi, unsigned status, const char *code, const char *message,
		     const char *allow, unsigned retry_after)
{
	unsigned char buf[LWS_PRE + 512 + LC_ANSWER_MAX];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = start + 512;
	char body[LC_ANSWER_MAX], num[24];
	size_t blen = lc_error_json(body, sizeof(body), code, message);

	snprintf(num, sizeof(num), "%zu", blen);
	if (lws_add_http_header_status(wsi, status, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					 (const unsigned char *)"application/json", 16, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
					 (const unsigned char *)num, (int)strlen(num), &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
					 (const unsigned char *)"close", 5, &p, end))
		return -1;
	if (allow && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ALLOW,
						  (const unsigned char *)allow,
						  (int)strlen(allow), &p, end))
		return -1;
	snprintf(num, sizeof(num), "%u", retry_after);
	if (retry_after && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_RETRY_AFTER,
							(const unsigned char *)num,
							(int)strlen(num), &p, end))
		return -1;
	if (lc_http_cors(wsi, &p, end) || lws_finalize_http_header(wsi, &p, end))
		return -1;
	memcpy(p, body, blen);
	p += blen;
	return lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP) < 0 ? -1 : 0;
}

/* A refused request or handshake: counted, logged (held back by the log
 * when it repeats), answered; lws closes the connection after. */
int lc_http_refuse(struct livechat *lc, struct lws *wsi, unsigned status, const char *code,
		   const char *message)
{
	lc->inst->stats.rejected++;
	GW_WARN(lc->inst->log_module, "%u %s from %s: %s", status, code, listen_guard_peer(wsi),
		message);
	lc_answer(wsi, status, code, message, status == 405 ? LC_ALLOW : NULL, 0);
	return -1;
}

/* The address's bucket: 0, or -1 after answering 429. */
static int lc_rate(struct livechat *lc, struct lws *wsi)
{
	unsigned retry = 0;

	if (listen_guard_request(lc->guard, wsi, &retry) == GW_OK)
		return 0;
	lc->inst->stats.rejected++;
	GW_WARN(lc->inst->log_module, "429 rate_limited from %s: retry in %u s",
		listen_guard_peer(wsi), retry);
	lc_answer(wsi, 429, "rate_limited", "too many requests from this address; retry later",
		  NULL, retry);
	return -1;
}

/* ---- checks ------------------------------------------------------------------ */

/* "https://host:port" -> "host:port" (borrowed pointer into origin). */
static const char *lc_origin_host(const char *origin)
{
	const char *p = strstr(origin, "://");

	return p ? p + 3 : origin;
}

/* Is `item` in the comma-separated `list` (blanks around items ignored)? */
static int lc_listed(const char *list, const char *item)
{
	size_t ilen = strlen(item);
	const char *p = list;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t n;

		while (*p == ' ' || *p == '\t')
			p++;
		n = end ? (size_t)(end - p) : strlen(p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == ilen && strncmp(p, item, n) == 0)
			return 1;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

/*
 * The Origin check: a listed origin, or (empty list) the page's host is the
 * one the socket was opened to. A request without Origin comes from no
 * browser page and is allowed (an Origin check protects visitors, not us).
 */
static int lc_origin_ok(struct livechat *lc, struct lws *wsi)
{
	char origin[512], host[512];

	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
		return 1;
	if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
		return 0;
	if (lc->set->allowed_origins && lc->set->allowed_origins[0])
		return lc_listed(lc->set->allowed_origins, origin);
	if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
		return 0;
	return strcmp(lc_origin_host(origin), host) == 0;
}

/* Does the client offer the subprotocol gateway-chat? */
static int lc_subprotocol_ok(struct lws *wsi)
{
	char list[256];

	if (lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) <= 0 ||
	    lws_hdr_copy(wsi, list, sizeof(list), WSI_TOKEN_PROTOCOL) <= 0)
		return 0;
	return lc_listed(list, LC_PROTOCOL);
}

/*
 * LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: every upgrade, before lws chooses a
 * protocol for it. 0 lets it through; -1 hangs up after the answer.
 */
static int lc_confirm_upgrade(struct livechat *lc, struct lws *wsi, const char *upgrade)
{
	char uri[64];

	listen_guard_busy(lc->guard, wsi, 1);
	if (lc_rate(lc, wsi) != 0)
		return -1;
	if (!upgrade || strcasecmp(upgrade, "websocket") != 0)
		return lc_http_refuse(lc, wsi, 400, "invalid_request",
				 "only a websocket upgrade is served, at " LC_PATH_CHAT);
	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
	    strcmp(uri, LC_PATH_CHAT) != 0)
		return lc_http_refuse(lc, wsi, 404, "not_found", "the websocket is at " LC_PATH_CHAT);
	if (!lc_subprotocol_ok(wsi))
		return lc_http_refuse(lc, wsi, 400, "invalid_request",
				 "the websocket subprotocol " LC_PROTOCOL " is required");
	if (!lc_origin_ok(lc, wsi))
		return lc_http_refuse(lc, wsi, 403, "forbidden", "Origin not allowed");
	return 0;
}

/* LWS_CALLBACK_FILTER_HTTP_CONNECTION: a plain request; non-zero closes. */
static int lc_filter_http(struct livechat *lc, struct lws *wsi)
{
	listen_guard_busy(lc->guard, wsi, 1);
	if (lc_rate(lc, wsi) != 0)
		return -1;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0 ||
	    lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0 ||
	    lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
		return 0; /* POST: refused at LWS_CALLBACK_HTTP, its body dropped */
	return lc_http_refuse(lc, wsi, 405, "method_not_allowed", "only GET and HEAD are served");
}

/* ---- a refused POST ------------------------------------------------------------ */

int lc_http_refuse_body(struct livechat *lc, struct lws *wsi, struct lc_http *r,
			unsigned status, const char *code, const char *message)
{
	int chunked = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
	int length = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0;

	lc_http_refuse(lc, wsi, status, code, message);
	if (!r || (!chunked && !length))
		return -1; /* no body to come: close now */
	memset(r, 0, sizeof(*r));
	r->linger = 1;
	r->chunked = chunked;
	chunked_init(&r->ch);
	listen_guard_deadline(lc->guard, wsi, gw_mono_us() + LC_LINGER_S * 1000000LL);
	return 0;
}

/* LWS_CALLBACK_HTTP_BODY of a refused POST: -1 once it ended or is too long. */
static int lc_drop_body(struct lc_http *r, const char *in, size_t len)
{
	size_t used, n;

	r->seen += len;
	if (r->seen > LC_LINGER_MAX)
		return -1;
	if (r->chunked && chunked_decode(&r->ch, in, len, &used, NULL, 0, &n) != GW_OK)
		return -1;
	return r->chunked && chunked_done(&r->ch) ? -1 : 0;
}

/* The guard's on_deadline: a refused POST whose body takes too long. */
void lc_http_deadline(void *arg, struct lws *wsi)
{
	(void)arg;
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

int lc_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		     void *in, size_t len)
{
	struct livechat *lc = lws_context_user(lws_get_context(wsi));
	struct lc_http *r = user;
	int ret;

	if (lc && listen_guard_callback(lc->guard, wsi, reason, user, in, &ret))
		return ret;
	if (!lc)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return lc_confirm_upgrade(lc, wsi, in);
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return -1; /* a websocket on "http": never past lc_confirm_upgrade */
	case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
		return lc_filter_http(lc, wsi);
	case LWS_CALLBACK_HTTP:
		if (lc_upload_path(wsi))
			return lc_upload_begin(lc, wsi, r);
		if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
			return lc_http_refuse_body(lc, wsi, r, 405, "method_not_allowed",
						   "only GET and HEAD are served");
		if (lc_files_path(wsi))
			return lc_download(lc, wsi);
		/* A file that is not there: 404, and the connection waits for
		 * the next request. */
		ret = lws_callback_http_dummy(wsi, reason, user, in, len);
		listen_guard_busy(lc->guard, wsi, 0);
		return ret;
	case LWS_CALLBACK_HTTP_BODY:
		if (r && r->linger)
			return lc_drop_body(r, in, len);
		if (r && r->upload)
			return lc_upload_body(lc, wsi, r, in, len);
		break;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (r && r->linger)
			return -1;
		if (r && r->upload)
			return lc_upload_end(lc, wsi, r);
		break;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (r && r->job)
			return lc_upload_answer(lc, wsi, r);
		break;
	case LWS_CALLBACK_CLOSED_HTTP:
		if (r)
			lc_upload_clear(lc, r);
		break;
	case LWS_CALLBACK_HTTP_FILE_COMPLETION:
		listen_guard_busy(lc->guard, wsi, 0);
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/*
 * api.c - the `api` connector type: an HTTP/1.1 server on libwebsockets
 * with one endpoint, POST /v1/messages (docs/channels/api.md).
 *
 * Life of a request on one keep-alive connection (struct api_conn is lws's
 * per-session data, zeroed for every transaction):
 *
 *   LWS_CALLBACK_HTTP             route, auth, Content-Type, Content-Length;
 *                                 a refusal is decided here
 *   LWS_CALLBACK_HTTP_BODY        body copied into a buffer bounded by the
 *                                 announced length (<= max_body_bytes)
 *   LWS_CALLBACK_HTTP_BODY_COMPLETION
 *                                 parsed (api_request.c), encoded and
 *                                 outbox_add()ed; the connection joins
 *                                 api->waiting
 *   commit_sul (zero delay)       one outbox_commit() for every message
 *                                 completed in this service round (group
 *                                 commit), then each waiting connection is
 *                                 asked to become writable
 *   LWS_CALLBACK_HTTP_WRITEABLE   202 (durable) or 503 (not durable), then
 *                                 lws_http_transaction_completed()
 *
 * A client is told "accepted" only after the fsync: that is the durability
 * promise of the API. A connection that closes while waiting is forgotten;
 * its message is still committed, and the client's retry is absorbed by the
 * router's deduplication on the message id.
 *
 * A refusal with a body still to come reads and drops that body first, so
 * the connection stays usable; a body that is too large, or whose length is
 * unknown, is not read: the answer carries "Connection: close".
 *
 * Threading: everything runs on the thread that calls run().
 */
#include "connectors/api/api.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "connectors/api/api_request.h"
#include "connectors/outbox.h"
#include "connectors/runtime.h"
#include "gateway/err.h"
#include "gateway/log.h"
#include "gateway/util.h"
#include "proto/proto.h"

#define API_PATH_MESSAGES "/v1/messages"
#define API_PATH_HEALTH "/healthz"

#define API_TICK_US 5000        /* outbox_pump() and status period */
#define API_KEEPALIVE_S 30      /* idle keep-alive connections are closed after */
#define API_SERV_BUF 16384      /* lws read size: fewer body callbacks */
#define API_HDR_MAX 512         /* response headers */
#define API_JSON_MAX 2048       /* response body: an escaped 256-byte id fits */
#define API_TOKEN_MAX 1024      /* longest bearer token accepted in the config */
#define API_RETRY_AFTER "1"     /* seconds, on 503 */
#define API_LOG_PER_SEC 50      /* refusals logged per second at most */

#define API_OFF(m) offsetof(struct api_settings, m)

static const struct conf_entry api_conf_entries[] = {
	{CONF_LISTEN, "listen", "127.0.0.1:8088", 0, 0, 0, API_OFF(listen),
	 "address:port the HTTP server listens on; keep it on loopback behind a TLS proxy"},
	{CONF_SECRET, "token", NULL, 0, API_TOKEN_MAX, CONF_F_REQUIRED, API_OFF(token),
	 "bearer token clients send as \"Authorization: Bearer <token>\"; use ${ENV}"},
	{CONF_STRING, "account", NULL, 0, PROTO_MAX_ACCOUNT, 0, API_OFF(account),
	 "`account` of the events this instance emits; default: the instance name"},
	{CONF_INT, "max_body_bytes", "1048576", 1024, 67108864, 0, API_OFF(max_body_bytes),
	 "requests with a larger body are answered 413 without reading it"},
	{CONF_INT, "max_connections", "1024", 1, 65536, 0, API_OFF(max_connections),
	 "concurrent HTTP connections; more wait in the listen backlog"},
	{CONF_INT, "spool_max", "1000000", 1000, 100000000, 0, API_OFF(spool_max),
	 "accepted messages not yet routed kept at most; past it requests get 503"},
	{CONF_INT, "spool_map_mb", "1024", 16, 1048576, 0, API_OFF(spool_map_mb),
	 "LMDB map size of the spool in MiB (disk is used only as it fills)"},
};

static const struct conf_section api_conf_section = {
	.name = "connectors[type=api]",
	.entries = api_conf_entries,
	.n_entries = sizeof(api_conf_entries) / sizeof(api_conf_entries[0]),
	.struct_size = sizeof(struct api_settings),
	.desc = "The API channel: POST /v1/messages with a bearer token, for SMS "
		"providers, web forms and in-house applications "
		"(docs/channels/api.md).",
};

#define api_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

enum api_conn_state {
	API_C_IDLE = 0, /* no request, or its answer was written */
	API_C_BODY,     /* reading a body to parse */
	API_C_DISCARD,  /* reading a body to drop: the answer is known */
	API_C_WAITING,  /* queued in the outbox, waiting for the commit */
	API_C_ANSWER,   /* answer known, waiting for the socket */
};

/* One HTTP transaction: lws's per-session data, zeroed by lws. */
struct api_conn {
	struct lws_dll2 node;     /* in api->waiting while API_C_WAITING */
	struct lws *wsi;
	enum api_conn_state state;
	int status;               /* HTTP status of the answer */
	const char *error;        /* "error" member of a 4xx/5xx answer */
	const char *allow;        /* Allow header of a 405 (static) */
	char message[192];        /* "message" member of a 4xx/5xx answer */
	char id[PROTO_MAX_EXTERNAL_ID + 1]; /* the client's id, for the 202 */
	char *body;               /* malloc'ed, body_max bytes */
	size_t body_len, body_max;
	unsigned close : 1;       /* close the connection after the answer */
	unsigned health : 1;      /* the answer is the /healthz document */
};

struct api {
	struct connector_instance *inst;
	const struct api_settings *set;
	const char *account;        /* borrowed: settings or instance name */
	char *auth;                 /* "Bearer <token>", what must match */
	size_t auth_len;
	char *auth_buf;             /* auth_len + 1 bytes to copy the header into */
	struct lws_context *lws;
	struct lws_protocols protocols[2];
	lws_sorted_usec_list_t commit_sul;
	lws_sorted_usec_list_t tick_sul;
	lws_dll2_owner_t waiting;   /* api_conn in API_C_WAITING, in arrival order */
	int commit_scheduled;
	int failed;                 /* an error that ends run() */
	int64_t log_window_us;      /* start of the current log-rate second */
	unsigned log_count, log_dropped;
	char json[API_JSON_MAX];
	unsigned char out[LWS_PRE + API_HDR_MAX + API_JSON_MAX];
};

/* lws logs carry no context: they go to the module of the one instance. */
static const char *api_lws_module = "api";

static void api_lws_log(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	gw_log(level & LLL_ERR ? GW_LOG_ERROR : GW_LOG_WARN, api_lws_module, "lws: %.*s",
	       (int)n, line);
}

/* ---- logging of refusals ---------------------------------------------- */

/* Starts a new one-second log window, summing up what the last one dropped. */
static void api_log_window(struct api *api, int64_t now)
{
	if (now - api->log_window_us < 1000000)
		return;
	if (api->log_dropped)
		GW_WARN(api->inst->log_module, "%u more refused requests not logged",
			api->log_dropped);
	api->log_window_us = now;
	api->log_count = 0;
	api->log_dropped = 0;
}

/*
 * One line per refused request, naming the cause and the peer (never the
 * token or the body); past API_LOG_PER_SEC a second, the rest is counted
 * and summed up in one line, so a misbehaving client cannot flood the log.
 */
static void api_log_refusal(struct api *api, const struct api_conn *c)
{
	char peer[64] = "?";

	api_log_window(api, gw_mono_us());
	if (api->log_count >= API_LOG_PER_SEC) {
		api->log_dropped++;
		return;
	}
	api->log_count++;
	lws_get_peer_simple(c->wsi, peer, sizeof(peer));
	gw_log(c->status >= 500 ? GW_LOG_ERROR : GW_LOG_WARN, api->inst->log_module,
	       "%d %s from %s: %s", c->status, c->error, peer, c->message);
}

/* ---- connection state --------------------------------------------------- */

static void api_conn_reset(struct api_conn *c)
{
	if (!lws_dll2_is_detached(&c->node))
		lws_dll2_remove(&c->node);
	free(c->body);
	c->body = NULL;
	c->body_len = 0;
	c->body_max = 0;
	c->state = API_C_IDLE;
	c->status = 0;
	c->error = NULL;
	c->message[0] = '\0';
	c->id[0] = '\0';
	c->close = 0;
	c->health = 0;
}

/* Marks the answer ready and asks lws for a writable callback. */
static void api_conn_ready(struct api_conn *c)
{
	c->state = API_C_ANSWER;
	lws_callback_on_writable(c->wsi);
}

/*
 * api_refuse - answers `status` with {"error": code, "message": ...}. A
 * body still to come is dropped first unless the connection is closing.
 */
static int api_refuse(struct api *api, struct api_conn *c, int status, const char *code,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int api_refuse(struct api *api, struct api_conn *c, int status, const char *code,
		      const char *fmt, ...)
{
	va_list ap;

	c->status = status;
	c->error = code;
	va_start(ap, fmt);
	vsnprintf(c->message, sizeof(c->message), fmt, ap);
	va_end(ap);
	if (status >= 500)
		api->inst->stats.failed++;
	else
		api->inst->stats.rejected++;
	api_log_refusal(api, c);
	free(c->body);
	c->body = NULL;
	if (c->body_max > 0 && !c->close)
		c->state = API_C_DISCARD; /* answered at body completion */
	else
		api_conn_ready(c);
	return 0;
}

/* ---- request checks ---------------------------------------------------- */

/* True when the Authorization header is exactly "Bearer <token>". */
static int api_authorized(struct api *api, struct lws *wsi)
{
	int len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);

	/* Only the token's length can leak, as for any constant-time compare. */
	if (len <= 0 || (size_t)len != api->auth_len)
		return 0;
	if (lws_hdr_copy(wsi, api->auth_buf, (int)api->auth_len + 1,
			 WSI_TOKEN_HTTP_AUTHORIZATION) != len)
		return 0;
	return gw_ct_equal(api->auth_buf, api->auth_len, api->auth, api->auth_len);
}

/* True for "application/json", with or without parameters (charset). */
static int api_json_content_type(struct lws *wsi)
{
	static const char want[] = "application/json";
	char ct[128];
	size_t n = sizeof(want) - 1;

	if (lws_hdr_copy(wsi, ct, sizeof(ct), WSI_TOKEN_HTTP_CONTENT_TYPE) < (int)n)
		return 0;
	if (strncasecmp(ct, want, n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

/*
 * The announced body length: >= 0, -1 when absent, -2 when not a plain
 * decimal number (then the body cannot be delimited).
 */
static long long api_content_length(struct lws *wsi)
{
	char buf[24];
	char *end;
	long long v;
	int n = lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_CONTENT_LENGTH);

	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return -1;
	if (n <= 0 || !isdigit((unsigned char)buf[0]))
		return -2;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0')
		return -2;
	return v;
}

/*
 * Looks at the framing of the body before anything else, so that any
 * refusal knows whether it can drop the body or must close.
 * Returns 0 when the request can go on, 1 when it was refused.
 */
static int api_check_length(struct api *api, struct api_conn *c, struct lws *wsi,
			    long long *len)
{
	*len = api_content_length(wsi);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
		/* lws 4.1 does not de-chunk request bodies: refuse, and close. */
		c->close = 1;
		api_refuse(api, c, 411, "length_required",
			   "send the body with a Content-Length, not chunked");
		return 1;
	}
	if (*len == -2) {
		c->close = 1;
		api_refuse(api, c, 400, "invalid_request", "Content-Length is not a number");
		return 1;
	}
	if (*len > api->set->max_body_bytes) {
		c->close = 1;
		api_refuse(api, c, 413, "too_large", "body of %lld bytes is over the limit of %lld bytes",
			   *len, api->set->max_body_bytes);
		return 1;
	}
	/* Remembered so that a later refusal reads and drops the body. */
	c->body_max = *len > 0 ? (size_t)*len : 0;
	return 0;
}

static int api_on_post(struct api *api, struct api_conn *c, struct lws *wsi)
{
	long long len;

	if (api_check_length(api, c, wsi, &len) != 0)
		return 0;
	if (!api_authorized(api, wsi))
		return api_refuse(api, c, 401, "unauthorized", "missing or invalid bearer token");
	if (!api_json_content_type(wsi))
		return api_refuse(api, c, 415, "unsupported_media_type",
				  "Content-Type must be application/json");
	if (len < 0)
		return api_refuse(api, c, 411, "length_required",
				  "a Content-Length header is required");
	if (len == 0)
		return api_refuse(api, c, 400, API_ERR_INVALID_JSON, "body: required");
	c->body = malloc((size_t)len);
	if (!c->body)
		return api_refuse(api, c, 503, "unavailable", "out of memory for the body");
	c->state = API_C_BODY;
	return 0;
}

static int api_method_is(struct lws *wsi, enum lws_token_indexes tok)
{
	return lws_hdr_total_length(wsi, tok) > 0;
}

/* LWS_CALLBACK_HTTP: a request line and its headers arrived. */
static int api_on_request(struct api *api, struct api_conn *c, struct lws *wsi,
			  const char *path)
{
	long long len;

	api_conn_reset(c);
	c->wsi = wsi;
	if (strcmp(path, API_PATH_HEALTH) == 0 && api_method_is(wsi, WSI_TOKEN_GET_URI)) {
		c->status = 200;
		c->health = 1;
		api_conn_ready(c);
		return 0;
	}
	api->inst->stats.requests++;
	if (strcmp(path, API_PATH_MESSAGES) == 0 && api_method_is(wsi, WSI_TOKEN_POST_URI))
		return api_on_post(api, c, wsi);
	if (api_check_length(api, c, wsi, &len) != 0)
		return 0;
	if (strcmp(path, API_PATH_MESSAGES) == 0 || strcmp(path, API_PATH_HEALTH) == 0) {
		c->allow = strcmp(path, API_PATH_MESSAGES) == 0 ? "POST" : "GET";
		return api_refuse(api, c, 405, "method_not_allowed", "%s allows only %s", path,
				  c->allow);
	}
	return api_refuse(api, c, 404, "not_found", "no such endpoint; use POST "
			  API_PATH_MESSAGES);
}

/* ---- body and group commit --------------------------------------------- */

static void api_commit_cb(lws_sorted_usec_list_t *sul);

static int api_on_body(struct api *api, struct api_conn *c, const void *in, size_t len)
{
	if (c->state != API_C_BODY)
		return 0; /* dropping it */
	if (len > c->body_max - c->body_len) {
		c->close = 1;
		return api_refuse(api, c, 413, "too_large", "body longer than its Content-Length");
	}
	memcpy(c->body + c->body_len, in, len);
	c->body_len += len;
	return 0;
}

/* Parses and encodes the body; returns the encoded event or NULL (refused). */
static char *api_encode_body(struct api *api, struct api_conn *c, size_t *len)
{
	struct api_request_meta meta = {connector_api.channel, api->account, gw_now_ms()};
	struct api_request_error rerr;
	struct proto_error perr;
	struct proto_event ev;
	char *buf = NULL;
	int rc;

	rc = api_request_parse(c->body, c->body_len, &meta, &ev, &rerr);
	if (rc == GW_ENOMEM || rc == GW_EIO) {
		api_refuse(api, c, 503, "unavailable", "%s", rerr.message);
		return NULL;
	}
	if (rc != GW_OK) {
		api_refuse(api, c, 400, rerr.code, "%s", rerr.message);
		return NULL;
	}
	snprintf(c->id, sizeof(c->id), "%s", ev.u.message.external_id);
	memset(&perr, 0, sizeof(perr));
	rc = proto_encode(&ev, &buf, len, &perr);
	proto_event_clear(&ev);
	if (rc == GW_ENOMEM)
		api_refuse(api, c, 503, "unavailable", "out of memory");
	else if (rc != GW_OK)
		api_refuse(api, c, 400, "invalid_request", "%s", perr.message);
	return rc == GW_OK ? buf : NULL;
}

static void api_queue(struct api *api, struct api_conn *c, const char *buf, size_t len)
{
	int rc = outbox_add(api->inst->outbox, buf, len);

	if (rc == GW_EFULL) {
		api_refuse(api, c, 503, "unavailable", "the spool is full; retry later");
		return;
	}
	if (rc == GW_ETOOBIG) {
		api_refuse(api, c, 413, "too_large", "the message is too large to be stored");
		return;
	}
	if (rc != GW_OK) {
		api_refuse(api, c, 503, "unavailable", "cannot queue the message: %s",
			   gw_strerror(rc));
		return;
	}
	c->state = API_C_WAITING;
	lws_dll2_add_tail(&c->node, &api->waiting);
	if (!api->commit_scheduled) {
		/* Runs at the start of the next service round: group commit. */
		api->commit_scheduled = 1;
		lws_sul_schedule(api->lws, 0, &api->commit_sul, api_commit_cb, 0);
	}
}

static int api_on_body_done(struct api *api, struct api_conn *c)
{
	char *buf;
	size_t len = 0;

	if (c->state == API_C_DISCARD) {
		api_conn_ready(c);
		return 0;
	}
	if (c->state != API_C_BODY)
		return 0;
	c->body_max = 0; /* all read: a refusal from here on answers at once */
	buf = api_encode_body(api, c, &len);
	free(c->body);
	c->body = NULL;
	if (buf)
		api_queue(api, c, buf, len);
	free(buf);
	return 0;
}

/*
 * api_commit - makes every queued message durable in one transaction, then
 * answers each waiting connection: 202 if the commit worked, else 503.
 */
static void api_commit(struct api *api)
{
	struct outbox *ob = api->inst->outbox;
	size_t n = outbox_queued(ob);
	int rc = GW_OK;

	api->commit_scheduled = 0;
	if (n > 0)
		rc = outbox_commit(ob);
	if (rc != GW_OK)
		GW_ERROR(api->inst->log_module, "commit of %zu messages failed: %s", n,
			 gw_strerror(rc));
	while (lws_dll2_get_head(&api->waiting)) {
		struct lws_dll2 *d = lws_dll2_get_head(&api->waiting);
		struct api_conn *c = api_container_of(d, struct api_conn, node);

		lws_dll2_remove(d);
		if (rc == GW_OK) {
			api->inst->stats.accepted++;
			c->status = 202;
			api_conn_ready(c);
		} else {
			api_refuse(api, c, 503, "unavailable",
				   rc == GW_EFULL ? "the spool is full; retry later"
						  : "the message could not be stored; retry later");
		}
	}
}

static void api_commit_cb(lws_sorted_usec_list_t *sul)
{
	api_commit(api_container_of(sul, struct api, commit_sul));
}

/* ---- answers ----------------------------------------------------------- */

/* The JSON body of the answer into api->json; its length, or -1. */
static int api_answer_json(struct api *api, const struct api_conn *c)
{
	struct outbox_stats st;
	json_t *doc;
	size_t n;

	if (c->health) {
		outbox_get_stats(api->inst->outbox, &st);
		doc = json_pack("{s:s,s:I}", "status", "ok", "spooled", (json_int_t)st.spooled);
	} else if (c->status == 202) {
		doc = json_pack("{s:s,s:s}", "status", "accepted", "id", c->id);
	} else {
		doc = json_pack("{s:s,s:s}", "error", c->error, "message", c->message);
	}
	if (!doc)
		return -1;
	n = json_dumpb(doc, api->json, sizeof(api->json), JSON_COMPACT);
	json_decref(doc);
	return n == 0 || n > sizeof(api->json) ? -1 : (int)n;
}

static int api_answer_headers(struct api_conn *c, unsigned char **p, unsigned char *end,
			      int body_len)
{
	static const unsigned char json_type[] = "application/json";
	struct lws *wsi = c->wsi;
	char len[24];
	int n = snprintf(len, sizeof(len), "%d", body_len);

	if (lws_add_http_header_status(wsi, (unsigned int)c->status, p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, json_type,
					 (int)sizeof(json_type) - 1, p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
					 (const unsigned char *)len, n, p, end))
		return -1;
	if (c->close && lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
						     (const unsigned char *)"close", 5, p, end))
		return -1;
	if (c->status == 503 && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_RETRY_AFTER,
			(const unsigned char *)API_RETRY_AFTER, (int)strlen(API_RETRY_AFTER), p, end))
		return -1;
	if (c->status == 401 && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_WWW_AUTHENTICATE,
			(const unsigned char *)"Bearer", 6, p, end))
		return -1;
	/* RFC 9110: a 405 names the methods the resource allows. */
	if (c->status == 405 && c->allow && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ALLOW,
			(const unsigned char *)c->allow, (int)strlen(c->allow), p, end))
		return -1;
	return lws_finalize_http_header(wsi, p, end) ? -1 : 0;
}

/*
 * Writes status line, headers and body with one lws_write(): on HTTP/1.1
 * that is one send(2) per answer. Returns 0, or -1 to close.
 */
static int api_write_answer(struct api *api, struct api_conn *c)
{
	unsigned char *start = api->out + LWS_PRE;
	unsigned char *p = start;
	unsigned char *end = start + API_HDR_MAX;
	int body = api_answer_json(api, c);

	if (body < 0 || api_answer_headers(c, &p, end, body) != 0) {
		GW_ERROR(api->inst->log_module, "cannot build the %d answer", c->status);
		return -1;
	}
	memcpy(p, api->json, (size_t)body);
	p += body;
	if (lws_write(c->wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_FINAL) < 0)
		return -1;
	return 0;
}

static int api_on_writable(struct api *api, struct api_conn *c, struct lws *wsi)
{
	int close_after;

	if (c->state != API_C_ANSWER)
		return 0;
	if (api_write_answer(api, c) != 0)
		return -1;
	close_after = c->close;
	api_conn_reset(c);
	if (close_after)
		return -1;
	/* Keep-alive: lws rearms the connection for the next request. */
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/*
 * The API speaks HTTP/1.1 only: an Upgrade (h2c, websocket) is answered 400
 * and the connection closed, as a body may follow that lws would not frame.
 */
static int api_refuse_upgrade(struct api *api, struct lws *wsi, const char *proto)
{
	struct api_conn c;

	memset(&c, 0, sizeof(c));
	c.wsi = wsi;
	c.close = 1;
	api->inst->stats.requests++;
	api_refuse(api, &c, 400, "invalid_request",
		   "protocol upgrade to %.32s is not supported; use HTTP/1.1", proto);
	api_write_answer(api, &c);
	return -1;
}

static int api_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			void *in, size_t len)
{
	struct api *api = lws_context_user(lws_get_context(wsi));
	struct api_conn *c = user;

	if (!api)
		return 0;
	if (reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE)
		return api_refuse_upgrade(api, wsi, in ? (const char *)in : "?");
	if (!c)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return api_on_request(api, c, wsi, in ? (const char *)in : "");
	case LWS_CALLBACK_HTTP_BODY:
		return api_on_body(api, c, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return api_on_body_done(api, c);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return api_on_writable(api, c, wsi);
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		/* A waiting connection is forgotten; its message still commits. */
		api_conn_reset(c);
		return 0;
	default:
		return 0;
	}
}

/* ---- the connector type ------------------------------------------------ */

static int api_check(const void *settings, char *why, size_t whylen)
{
	const struct api_settings *s = settings;

	if (!s || !s->token || !s->token[0]) {
		snprintf(why, whylen, "token: empty; set a bearer token");
		return 1;
	}
	return 0;
}

static void api_tick_cb(lws_sorted_usec_list_t *sul)
{
	struct api *api = api_container_of(sul, struct api, tick_sul);
	int rc = outbox_pump(api->inst->outbox);

	if (rc != GW_OK && api->failed == GW_OK) {
		GW_ERROR(api->inst->log_module, "outbox: %s", gw_strerror(rc));
		api->failed = rc;
	}
	connector_status_tick(api->inst);
	api_log_window(api, gw_mono_us()); /* the summary also when refusals stop */
	lws_sul_schedule(api->lws, 0, &api->tick_sul, api_tick_cb, API_TICK_US);
}

static int api_make_auth(struct api *api)
{
	size_t tlen = strlen(api->set->token);

	api->auth_len = 7 + tlen;
	api->auth = malloc(api->auth_len + 1);
	api->auth_buf = malloc(api->auth_len + 1);
	if (!api->auth || !api->auth_buf)
		return GW_ENOMEM;
	memcpy(api->auth, "Bearer ", 7);
	memcpy(api->auth + 7, api->set->token, tlen + 1);
	return GW_OK;
}

static int api_listen(struct api *api)
{
	const struct conf_listen *l = &api->set->listen;
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	api->protocols[0].name = "http";
	api->protocols[0].callback = api_callback;
	api->protocols[0].per_session_data_size = sizeof(struct api_conn);
	info.protocols = api->protocols;
	info.port = l->port;
	/* lws takes a numeric address (or an interface name) as iface. */
	info.iface = strcmp(l->host, "localhost") == 0 ? "127.0.0.1" : l->host;
	if (!strchr(info.iface, ':'))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.options |= LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	info.user = api;
	info.server_string = "omnigate";
	info.keepalive_timeout = API_KEEPALIVE_S;
	info.pt_serv_buf_size = API_SERV_BUF;
	/* Each connection holds its header table until it is answered. */
	info.max_http_header_pool2 = (unsigned int)api->set->max_connections;
	/*
	 * lws counts its listen socket in this limit and stops accepting when
	 * it is reached: the clients past max_connections wait in the backlog.
	 */
	info.fd_limit_per_thread = (unsigned int)api->set->max_connections + 1;
	api->lws = lws_create_context(&info);
	if (!api->lws) {
		GW_ERROR(api->inst->log_module, "cannot listen on %s:%d", l->host, l->port);
		return GW_EIO;
	}
	GW_INFO(api->inst->log_module, "listening on http://%s:%d%s", l->host, l->port,
		API_PATH_MESSAGES);
	return GW_OK;
}

static int api_create(struct connector_instance *inst)
{
	struct api *api = calloc(1, sizeof(*api));
	int rc;

	inst->ctx = api;
	if (!api)
		return GW_ENOMEM;
	api->inst = inst;
	api->set = inst->settings;
	api->account = api->set->account && api->set->account[0] ? api->set->account
								 : inst->conf->name;
	api_lws_module = inst->log_module;
	lws_set_log_level(LLL_ERR | LLL_WARN, api_lws_log);
	rc = api_make_auth(api);
	if (rc == GW_OK)
		rc = api_listen(api);
	return rc;
}

/*
 * On stop nothing more is answered: what is queued is committed (so no
 * accepted byte is lost) and the connections are closed by destroy; their
 * clients retry and the router deduplicates.
 */
static void api_finish(struct api *api)
{
	size_t n = outbox_queued(api->inst->outbox);

	lws_sul_cancel(&api->commit_sul);
	lws_sul_cancel(&api->tick_sul);
	api->commit_scheduled = 0;
	while (lws_dll2_get_head(&api->waiting))
		lws_dll2_remove(lws_dll2_get_head(&api->waiting));
	if (n > 0 && outbox_commit(api->inst->outbox) == GW_OK)
		GW_INFO(api->inst->log_module, "stopping: committed %zu unanswered messages", n);
}

static int api_run(struct connector_instance *inst)
{
	struct api *api = inst->ctx;

	lws_sul_schedule(api->lws, 0, &api->tick_sul, api_tick_cb, API_TICK_US);
	while (!connector_stopping() && api->failed == GW_OK) {
		/* Blocks until a socket or a timer (<= API_TICK_US) is due. */
		if (lws_service(api->lws, 0) < 0 && !connector_stopping()) {
			GW_ERROR(inst->log_module, "lws service failed");
			api->failed = GW_EIO;
		}
	}
	api_finish(api);
	return api->failed;
}

static void api_destroy(struct connector_instance *inst)
{
	struct api *api = inst->ctx;

	if (!api)
		return;
	/* Closing the connections calls back into api_callback: api stays valid. */
	if (api->lws)
		lws_context_destroy(api->lws);
	free(api->auth);
	free(api->auth_buf);
	free(api);
	inst->ctx = NULL;
}

const struct connector_type connector_api = {
	.name = "api",
	.channel = "api",
	.config = &api_conf_section,
	.check = api_check,
	.create = api_create,
	.run = api_run,
	.destroy = api_destroy,
};

/*
 * api.c - the `api` connector type (docs/channels/api.md), served by the
 * shared HTTP server (httpd.h):
 *
 *   POST /v1/messages               a customer's message: message.received
 *   POST /v1/messages/{id}/status   the client's report about a reply it
 *                                   took: message.status of message {id}
 *   deliver (replies)               POSTed to callback_url (api_reply.c)
 *
 * Per request:
 *   on_request   route, bearer token, Content-Type, a body required; a
 *                refusal is decided here, before the body is read
 *   on_body      parsed (api_request.c), checked against its sender's
 *                limits (intake.h: over them, 429 with Retry-After and
 *                nothing kept), encoded and outbox_add()ed, then
 *                deferred: httpd answers 202 once the group commit made it
 *                durable, 503 if it could not; a message body or a status
 *                report that cannot be read is kept in the quarantine
 *                (intake_keep_about; a report with its message's id and
 *                the content type API_STATUS_KEPT_TYPE, so that a reingest
 *                reads it as a report again) and answered 400 once that
 *                is durable
 *
 * Replies run on the sender's worker thread; its wake (httpd_wake) and the
 * httpd tick poll it here, so the loop never waits for a callback.
 *
 * A client is told "accepted" only after the fsync: that is the durability
 * promise of the API. A connection that closes while waiting is forgotten;
 * its message is still committed, and the client's retry is absorbed by the
 * router's deduplication on the message id.
 *
 * Threading: everything runs on the thread that calls run().
 */
#include "connectors/api/api.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "connectors/api/api_callback.h"
#include "connectors/api/api_reply.h"
#include "connectors/api/api_request.h"
#include "connectors/httpd.h"
#include "connectors/intake.h"
#include "connectors/outbox.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/proto.h"

#define API_PATH_MESSAGES "/v1/messages"
#define API_PATH_STATUS "/status" /* POST /v1/messages/{id}/status */
/* The content type a kept status report is stored with (its body is JSON;
 * its message's id is the entry's external_id). */
#define API_STATUS_KEPT_TYPE "application/x-omnigate-api-status+json"
struct api {
	struct connector_instance *inst;
	const struct api_settings *set;
	const char *account;        /* borrowed: settings or instance name */
	char *auth;                 /* "Bearer <token>", what must match */
	size_t auth_len;
	char *auth_buf;             /* auth_len + 1 bytes to copy the header into */
	struct httpd *httpd;
	struct api_replies *replies;
};

/* What on_request decided, for on_body (httpd_req_data). */
enum api_endpoint { API_EP_MESSAGES = 0, API_EP_STATUS };

struct api_req {
	enum api_endpoint ep;
	char id[API_STATUS_ID_MAX + 1]; /* API_EP_STATUS: the message's id */
};

/* ---- request checks ---------------------------------------------------- */

/* True when the Authorization header is exactly "Bearer <token>". */
static int api_authorized(struct api *api, const struct httpd_req *req)
{
	size_t len = 0;

	/* Only the token's length can leak, as for any constant-time compare. */
	if (httpd_req_header(req, "authorization", api->auth_buf, api->auth_len + 1, &len) != GW_OK ||
	    len != api->auth_len)
		return 0;
	return gw_ct_equal(api->auth_buf, api->auth_len, api->auth, api->auth_len);
}

/* True for "application/json", with or without parameters (charset). */
static int api_json_content_type(const struct httpd_req *req)
{
	static const char want[] = "application/json";
	char ct[128];
	size_t n = sizeof(want) - 1, len = 0;

	if (httpd_req_header(req, "content-type", ct, sizeof(ct), &len) != GW_OK || len < n)
		return 0;
	if (strncasecmp(ct, want, n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

/*
 * api_status_id - the {id} of POST /v1/messages/{id}/status (`path`, which
 * api_status_route matched) into the request's data; 0, or -1 when req was
 * refused because the id cannot name a message.
 */
static int api_status_id(struct httpd_req *req, const char *path)
{
	struct api_req *r = httpd_req_data(req);
	size_t pre = strlen(API_PATH_MESSAGES "/");
	size_t idlen = strlen(path) - pre - strlen(API_PATH_STATUS);
	struct api_request_error err;

	if (idlen > API_STATUS_ID_MAX) {
		httpd_refuse(req, 400, API_ERR_TOO_LONG, "id: longer than %u bytes",
			     (unsigned)API_STATUS_ID_MAX);
		return -1;
	}
	memcpy(r->id, path + pre, idlen);
	r->id[idlen] = '\0';
	if (api_status_id_check(r->id, &err) != GW_OK) {
		httpd_refuse(req, 400, err.code, "%s", err.message);
		return -1;
	}
	r->ep = API_EP_STATUS;
	return 0;
}

/* api_status_route - whether `path` is /v1/messages/{id}/status, {id} one
 * path segment, not empty. */
static int api_status_route(const char *path)
{
	size_t pre = strlen(API_PATH_MESSAGES "/"), suf = strlen(API_PATH_STATUS);
	size_t len = strlen(path);

	return len > pre + suf && strncmp(path, API_PATH_MESSAGES "/", pre) == 0 &&
	       strcmp(path + len - suf, API_PATH_STATUS) == 0 &&
	       !memchr(path + pre, '/', len - pre - suf);
}

/* api_on_post - a POST to one of the endpoints; `status_path` is the path
 * of a status report, NULL for a message. */
static int api_on_post(struct api *api, struct httpd_req *req, const char *status_path)
{
	if (!api_authorized(api, req)) {
		httpd_refuse(req, 401, "unauthorized", "missing or invalid bearer token");
		return HTTPD_ANSWERED;
	}
	if (!api_json_content_type(req)) {
		httpd_refuse(req, 415, "unsupported_media_type",
			     "Content-Type must be application/json");
		return HTTPD_ANSWERED;
	}
	if (status_path && api_status_id(req, status_path) != 0)
		return HTTPD_ANSWERED;
	if (httpd_req_content_length(req) == 0) {
		httpd_refuse(req, 400, API_ERR_INVALID_JSON, "body: required");
		return HTTPD_ANSWERED;
	}
	return HTTPD_READ_BODY; /* httpd answers 411 without a Content-Length */
}

static int api_on_request(void *arg, struct httpd_req *req)
{
	struct api *api = arg;
	const char *path = httpd_req_path(req);
	int messages = strcmp(path, API_PATH_MESSAGES) == 0, status = api_status_route(path);
	const char *allow = strcmp(path, HTTPD_PATH_HEALTH) == 0 ? "GET" : "POST";

	if ((messages || status) && httpd_req_method(req) == HTTPD_M_POST)
		return api_on_post(api, req, status ? path : NULL);
	if (messages || status || strcmp(path, HTTPD_PATH_HEALTH) == 0) {
		httpd_allow(req, allow);
		httpd_refuse(req, 405, "method_not_allowed", "%s allows only %s",
			     status ? API_PATH_MESSAGES "/{id}" API_PATH_STATUS : path, allow);
	} else {
		httpd_refuse(req, 404, "not_found", "no such endpoint; use POST " API_PATH_MESSAGES
			     " or POST " API_PATH_MESSAGES "/{id}" API_PATH_STATUS);
	}
	return HTTPD_ANSWERED;
}

/* ---- body -------------------------------------------------------------- */

/*
 * api_refuse_kept - a message body or a status report that cannot be read:
 * kept in the quarantine (for a reingest after a fix, docs/channels/api.md;
 * a report with its message's id) and answered 400 once that is durable
 * (the answer waits for the group commit, as a 202 does); refused at once
 * when it cannot be kept.
 */
static void api_refuse_kept(struct api *api, struct httpd_req *req, const char *code,
			    const char *message, const char *body, size_t blen)
{
	const struct api_req *r = httpd_req_data(req);
	int status = r->ep == API_EP_STATUS;
	char reason[INTAKE_REASON_MAX], json[HTTPD_ANSWER_MAX];
	json_t *doc = json_pack("{s:s,s:s}", "error", code, "message", message);
	size_t n = doc ? json_dumpb(doc, json, sizeof(json) - 1, JSON_COMPACT) : 0;

	json_decref(doc);
	snprintf(reason, sizeof(reason), "%s: %s", code, message);
	if (n == 0 || n >= sizeof(json) ||
	    intake_keep_about(api->inst, reason,
			      status ? API_STATUS_KEPT_TYPE : "application/json",
			      status ? r->id : NULL, body, blen) != GW_OK) {
		httpd_refuse(req, 400, code, "%s", message);
		return;
	}
	json[n] = '\0';
	GW_INFO(api->inst->log_module, "400 %s: the %s is kept in the quarantine: %s", code,
		status ? "status report" : "body", message);
	httpd_defer(req, 400, json);
}

/* api_parse - the body of `r`'s endpoint as a new event into `ev`; 0, or
 * -1 when req was refused. */
static int api_parse(struct api *api, struct httpd_req *req, const struct api_req *r,
		     const char *body, size_t blen, struct proto_event *ev)
{
	struct api_request_meta meta = {connector_api.channel, api->account, gw_now_ms(),
					(size_t)api->set->max_text_bytes};
	struct api_request_error rerr;
	int rc;

	if (r->ep == API_EP_STATUS)
		rc = api_status_parse(body, blen, r->id, &meta, ev, &rerr);
	else
		rc = api_request_parse(body, blen, &meta, ev, &rerr);
	if (rc == GW_ENOMEM || rc == GW_EIO)
		httpd_refuse(req, 503, "unavailable", "%s", rerr.message);
	else if (rc != GW_OK)
		api_refuse_kept(api, req, rerr.code, rerr.message, body, blen);
	return rc == GW_OK ? 0 : -1;
}

/*
 * api_limited - whether the sender of message `ev` is over its limits; if
 * so req is answered 429 with Retry-After (the client retries later; the
 * message is not kept: the client still has it).
 */
static int api_limited(struct api *api, struct httpd_req *req, const struct proto_event *ev)
{
	int64_t retry_ms = 0;
	enum limits_verdict v = intake_check(api->inst, ev, &retry_ms);

	if (v == LIMITS_PASS)
		return 0;
	httpd_retry_after(req, (retry_ms + 999) / 1000);
	httpd_refuse(req, 429, limits_verdict_name(v),
		     "too many messages from this sender; retry in %lld s",
		     (long long)((retry_ms + 999) / 1000));
	return 1;
}

/*
 * Parses and encodes the body; returns the encoded event or NULL (refused).
 * The id it is about (the message's, or the status report's message) goes
 * into `id` for the 202.
 */
static char *api_encode_body(struct api *api, struct httpd_req *req, const char *body,
			     size_t blen, size_t *len, char *id, size_t idlen)
{
	const struct api_req *r = httpd_req_data(req);
	struct proto_error perr;
	struct proto_event ev;
	char *buf = NULL;
	int rc;

	if (api_parse(api, req, r, body, blen, &ev) != 0)
		return NULL;
	if (r->ep == API_EP_MESSAGES && api_limited(api, req, &ev)) {
		proto_event_clear(&ev);
		return NULL;
	}
	snprintf(id, idlen, "%s", r->ep == API_EP_STATUS ? r->id : ev.u.message.external_id);
	memset(&perr, 0, sizeof(perr));
	rc = proto_encode(&ev, &buf, len, &perr);
	proto_event_clear(&ev);
	if (rc == GW_ENOMEM)
		httpd_refuse(req, 503, "unavailable", "out of memory");
	else if (rc != GW_OK)
		api_refuse_kept(api, req, "invalid_request", perr.message, body, blen);
	return rc == GW_OK ? buf : NULL;
}

/* The 202 document: {"status":"accepted","id":...}; 0 or -1. */
static int api_accepted_json(const char *id, char *out, size_t outlen)
{
	json_t *doc = json_pack("{s:s,s:s}", "status", "accepted", "id", id);
	size_t n = doc ? json_dumpb(doc, out, outlen - 1, JSON_COMPACT) : 0;

	json_decref(doc);
	if (n == 0 || n >= outlen)
		return -1;
	out[n] = '\0';
	return 0;
}

static void api_queue(struct api *api, struct httpd_req *req, const char *buf, size_t len,
		      const char *id)
{
	char json[HTTPD_ANSWER_MAX];
	int rc;

	if (api_accepted_json(id, json, sizeof(json)) != 0) {
		httpd_refuse(req, 503, "unavailable", "out of memory");
		return;
	}
	rc = outbox_add(api->inst->outbox, buf, len);
	if (rc == GW_EFULL)
		httpd_refuse(req, 503, "unavailable", "the spool is full; retry later");
	else if (rc == GW_ETOOBIG)
		httpd_refuse(req, 413, "too_large", "the message is too large to be stored");
	else if (rc != GW_OK)
		httpd_refuse(req, 503, "unavailable", "cannot queue the message: %s",
			     gw_strerror(rc));
	else
		httpd_defer(req, 202, json);
}

static void api_on_body(void *arg, struct httpd_req *req, const char *body, size_t blen)
{
	struct api *api = arg;
	char id[PROTO_MAX_EXTERNAL_ID + 1];
	size_t len = 0;
	char *buf = api_encode_body(api, req, body, blen, &len, id, sizeof(id));

	if (buf)
		api_queue(api, req, buf, len, id);
	free(buf);
}

/* Replies finished (the sender woke the loop), or the tick: report them. */
static void api_on_wake(void *arg)
{
	struct api *api = arg;

	api_replies_poll(api->replies);
}

static const struct httpd_handlers api_handlers = {
	.on_request = api_on_request,
	.on_body = api_on_body,
	.on_wake = api_on_wake,
	.on_tick = api_on_wake,
};

/* ---- the connector type ------------------------------------------------ */

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
	struct httpd_options opt = {
		.listen = api->set->listen,
		.max_body_bytes = api->set->max_body_bytes,
		.max_connections = api->set->max_connections,
		.limits = &api->set->limits,
		.req_data_size = sizeof(struct api_req),
		.www_authenticate = "Bearer",
		.endpoint = API_PATH_MESSAGES,
		.inst = api->inst,
		.handlers = &api_handlers,
		.arg = api,
	};

	return httpd_create(&opt, &api->httpd);
}

static void api_wake(void *arg)
{
	httpd_wake(arg);
}

static int api_start_replies(struct api *api)
{
	struct api_replies_options opt = {
		.inst = api->inst,
		.set = api->set,
		.account = api->account,
		.wake = api_wake,
		.wake_arg = api->httpd,
	};

	return api_replies_create(&opt, &api->replies);
}

/* api_url_ok - callback_url read as libcurl reads it (the config's check
 * is lighter: it links no URL library). */
static int api_url_ok(struct api *api)
{
	char why[256];

	if (!api->set->callback_url || !api->set->callback_url[0] ||
	    api_callback_url_check(api->set->callback_url, api->set->callback_insecure, why,
				   sizeof(why)) == 0)
		return GW_OK;
	GW_ERROR(api->inst->log_module, "%s", why);
	return GW_ECONFIG;
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
	rc = api_make_auth(api);
	if (rc == GW_OK)
		rc = api_url_ok(api);
	if (rc == GW_OK)
		rc = api_listen(api);
	if (rc == GW_OK)
		rc = api_start_replies(api);
	return rc;
}

static int api_run(struct connector_instance *inst)
{
	struct api *api = inst->ctx;

	return httpd_run(api->httpd);
}

static void api_destroy(struct connector_instance *inst)
{
	struct api *api = inst->ctx;

	if (!api)
		return;
	/* The sender first: its wake calls into httpd. Closing the connections
	 * calls back into httpd only: api stays valid. */
	api_replies_destroy(api->replies);
	httpd_destroy(api->httpd);
	free(api->auth);
	free(api->auth_buf);
	free(api);
	inst->ctx = NULL;
}

/* The deliver op: replies go to the client's callback (api_reply.c). */
static int api_deliver(struct connector_instance *inst, const void *event, size_t len,
		       uint64_t delivery_id)
{
	struct api *api = inst->ctx;

	return api_replies_deliver(api->replies, event, len, delivery_id);
}

/* api_reparse - a kept input parsed again: a status report (kept with
 * its message's id, API_STATUS_KEPT_TYPE) or a message body. */
static int api_reparse(struct connector_instance *inst, const char *content_type,
		       const void *body, size_t len, struct proto_event *ev,
		       struct api_request_error *rerr)
{
	struct api *api = inst->ctx;
	struct api_request_meta meta = {connector_api.channel, api->account, gw_now_ms(),
					(size_t)api->set->max_text_bytes};
	const char *id = intake_reingest_external_id(inst);
	int rc;

	if (strcmp(content_type, API_STATUS_KEPT_TYPE) != 0)
		return api_request_parse(body, len, &meta, ev, rerr);
	rc = api_status_id_check(id, rerr);
	if (rc != GW_OK)
		return rc;
	return api_status_parse(body, len, id, &meta, ev, rerr);
}

/* The reingest op: a kept message body or status report parsed again
 * (intake.h). */
static int api_reingest(struct connector_instance *inst, const char *content_type,
			const void *body, size_t len, char *why, size_t whylen)
{
	struct api_request_error rerr;
	struct proto_error perr;
	struct proto_event ev;
	int rc;

	rc = api_reparse(inst, content_type, body, len, &ev, &rerr);
	if (rc != GW_OK) {
		snprintf(why, whylen, "%s: %s", rerr.code, rerr.message);
		return rc;
	}
	rc = intake_add(inst, &ev, &perr, NULL);
	if (rc != GW_OK)
		snprintf(why, whylen, "%s", perr.message[0] ? perr.message : gw_strerror(rc));
	proto_event_clear(&ev);
	return rc;
}

const struct connector_type connector_api = {
	.name = "api",
	.channel = "api",
	.conf = &api_conf_type,
	.create = api_create,
	.run = api_run,
	.destroy = api_destroy,
	.deliver = api_deliver,
	.reingest = api_reingest,
};

/*
 * api.c - the `api` connector type: one endpoint, POST /v1/messages
 * (docs/channels/api.md), served by the shared HTTP server (httpd.h).
 *
 * Per request:
 *   on_request   route, bearer token, Content-Type, a body required; a
 *                refusal is decided here, before the body is read
 *   on_body      parsed (api_request.c), encoded and outbox_add()ed, then
 *                deferred: httpd answers 202 once the group commit made it
 *                durable, 503 if it could not
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

#include "connectors/api/api_request.h"
#include "connectors/httpd.h"
#include "connectors/outbox.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/proto.h"

#define API_PATH_MESSAGES "/v1/messages"
struct api {
	struct connector_instance *inst;
	const struct api_settings *set;
	const char *account;        /* borrowed: settings or instance name */
	char *auth;                 /* "Bearer <token>", what must match */
	size_t auth_len;
	char *auth_buf;             /* auth_len + 1 bytes to copy the header into */
	struct httpd *httpd;
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

static int api_on_post(struct api *api, struct httpd_req *req)
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

	if (strcmp(path, API_PATH_MESSAGES) == 0 && httpd_req_method(req) == HTTPD_M_POST)
		return api_on_post(api, req);
	if (strcmp(path, API_PATH_MESSAGES) == 0 || strcmp(path, HTTPD_PATH_HEALTH) == 0) {
		const char *allow = strcmp(path, API_PATH_MESSAGES) == 0 ? "POST" : "GET";

		httpd_allow(req, allow);
		httpd_refuse(req, 405, "method_not_allowed", "%s allows only %s", path, allow);
	} else
		httpd_refuse(req, 404, "not_found", "no such endpoint; use POST " API_PATH_MESSAGES);
	return HTTPD_ANSWERED;
}

/* ---- body -------------------------------------------------------------- */

/*
 * Parses and encodes the body; returns the encoded event or NULL (refused).
 * The message id goes into `id` for the 202.
 */
static char *api_encode_body(struct api *api, struct httpd_req *req, const char *body,
			     size_t blen, size_t *len, char *id, size_t idlen)
{
	struct api_request_meta meta = {connector_api.channel, api->account, gw_now_ms()};
	struct api_request_error rerr;
	struct proto_error perr;
	struct proto_event ev;
	char *buf = NULL;
	int rc;

	rc = api_request_parse(body, blen, &meta, &ev, &rerr);
	if (rc == GW_ENOMEM || rc == GW_EIO) {
		httpd_refuse(req, 503, "unavailable", "%s", rerr.message);
		return NULL;
	}
	if (rc != GW_OK) {
		httpd_refuse(req, 400, rerr.code, "%s", rerr.message);
		return NULL;
	}
	snprintf(id, idlen, "%s", ev.u.message.external_id);
	memset(&perr, 0, sizeof(perr));
	rc = proto_encode(&ev, &buf, len, &perr);
	proto_event_clear(&ev);
	if (rc == GW_ENOMEM)
		httpd_refuse(req, 503, "unavailable", "out of memory");
	else if (rc != GW_OK)
		httpd_refuse(req, 400, "invalid_request", "%s", perr.message);
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

static const struct httpd_handlers api_handlers = {
	.on_request = api_on_request,
	.on_body = api_on_body,
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
		.www_authenticate = "Bearer",
		.endpoint = API_PATH_MESSAGES,
		.inst = api->inst,
		.handlers = &api_handlers,
		.arg = api,
	};

	return httpd_create(&opt, &api->httpd);
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
		rc = api_listen(api);
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
	/* Closing the connections calls back into httpd only: api stays valid. */
	httpd_destroy(api->httpd);
	free(api->auth);
	free(api->auth_buf);
	free(api);
	inst->ctx = NULL;
}

const struct connector_type connector_api = {
	.name = "api",
	.channel = "api",
	.conf = &api_conf_type,
	.create = api_create,
	.run = api_run,
	.destroy = api_destroy,
};

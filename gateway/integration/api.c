/*
 * api.c - the routes of the HTTP integration API (docs/integration.md,
 * docs/api/openapi.yaml): tokens and scopes, each route as a router
 * command, idempotent POSTs, JSON errors with stable codes.
 */
#include "gateway/integration/integration.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <msgpack.h>
#include <openssl/evp.h>

#include "connectors/addrlimit.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/proto.h"
#include "proto/wire.h"
#include "store/attachments.h"
#include "store/integration.h"
#include "store/store.h"

#define SCOPE_READ 1u
#define SCOPE_REPLY 2u
#define SCOPE_MANAGE 4u
#define EVENTS_DEFAULT 100
#define EVENTS_MAX 1000
#define AUTH_ADDRS 4096 /* addresses whose bad tokens are counted, LRU */

struct ig_api {
	const struct gw_config *cfg;
	struct rcmd rc;
	struct integ_db *db;
	unsigned *scopes; /* per token */
	struct addrlimit *auth; /* bad tokens per address; NULL: no limit */
	struct ig_stats stats;
	const struct gw_integration_token *who; /* the current request's token */
	struct store *st; /* the router's store, read-only, for GET /v1/reports */
};

/* ---- answers ---- */

void ig_retry_after(struct ig_request *q, unsigned seconds)
{
	int i = 0;

	while (i < 2 && q->ans.extra_name[i])
		i++;
	snprintf(q->ans.hold[i], sizeof(q->ans.hold[i]), "%u", seconds ? seconds : 1);
	q->ans.extra_name[i] = "retry-after:";
	q->ans.extra_value[i] = q->ans.hold[i];
}

static void set_json(struct ig_request *q, int status, json_t *j)
{
	free(q->ans.body);
	q->ans.status = status;
	q->ans.content_type = "application/json";
	q->ans.body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	q->ans.len = q->ans.body ? strlen(q->ans.body) : 0;
	q->ans.fd = -1;
	json_decref(j);
}

void ig_error(struct ig_request *q, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gw_utf8_trim(msg);
	set_json(q, status, json_pack("{ssss}", "error", code, "message", msg));
}

/* router_error - a router "error" answer as HTTP; `conflict`: the route's
 * GW_EPERM is an agent collision (a reply naming an agent on a ticket
 * assigned to another), 409 collision. */
static void router_error(struct ig_request *q, const struct rcmd_reply *r, int conflict)
{
	static const struct {
		const char *gw, *code;
		int status;
	} map[] = {
		{"GW_ENOTFOUND", "not_found", 404},  {"GW_EMISSING", "invalid_request", 400},
		{"GW_ETYPE", "invalid_request", 400}, {"GW_EPROTO", "invalid_request", 400},
		{"GW_ETOOBIG", "too_large", 413},     {"GW_EINVAL", "rejected", 422},
		{"GW_EPERM", "forbidden", 403},       {"GW_ESTORE", "router_unavailable", 503},
	};

	if (conflict && strcmp(r->code, "GW_EPERM") == 0) {
		ig_error(q, 409, "collision", "%s", r->message);
		return;
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(r->code, map[i].gw) == 0) {
			ig_error(q, map[i].status, map[i].code, "%s", r->message);
			return;
		}
	ig_error(q, 500, "internal", "%s", r->message);
}

/* call - runs cmd with the msgpack of `args` (owned: released here, NULL
 * packs nil); GW_OK with *r ok, else the request is answered (`conflict`:
 * as router_error). */
static int call(struct ig_api *a, struct ig_request *q, const char *cmd, json_t *args,
		struct rcmd_reply *r, int conflict)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	proto_msgpack_pack_json(&pk, args);
	json_decref(args);
	rc = rcmd_call(&a->rc, cmd, sb.data, sb.size, r);
	msgpack_sbuffer_destroy(&sb);
	if (rc) {
		ig_error(q, 503, "router_unavailable", "the router did not answer: %s",
			 gw_strerror(rc));
		return rc;
	}
	if (!r->ok) {
		router_error(q, r, conflict);
		rcmd_reply_free(r);
		return GW_EINVAL;
	}
	return GW_OK;
}

/* ---- tokens ---- */

static unsigned scope_bits(const struct conf_strlist *l)
{
	unsigned s = 0;

	for (size_t i = 0; i < l->n; i++)
		s |= strcmp(l->v[i], "read") == 0    ? SCOPE_READ
		     : strcmp(l->v[i], "reply") == 0 ? SCOPE_REPLY
						     : SCOPE_MANAGE;
	return s;
}

/* authenticate - the token of `Authorization: Bearer`, compared in
 * constant time with every usable one (a token whose secret is unset is
 * off: unknown like any other); -1 when none matches. */
static int authenticate(const struct ig_api *a, const struct ig_request *q)
{
	const struct gw_config_integration *in = &a->cfg->integration;
	const char *tok = q->auth + 7;
	int found = -1;

	if (strncmp(q->auth, "Bearer ", 7) != 0)
		return -1;
	for (size_t i = 0; i < in->n_tokens; i++)
		if (in->tokens[i].secret && !in->tokens[i].off_reason &&
		    gw_ct_equal(tok, strlen(tok), in->tokens[i].secret,
				strlen(in->tokens[i].secret)) &&
		    found < 0)
			found = (int)i;
	return found;
}

/*
 * auth_refused - before a token is checked: answers 429 (true) when the
 * address of `q` sent auth_failures_per_minute bad tokens within the last
 * minute, so that guessing tokens gets no answer either way.
 */
static bool auth_refused(struct ig_api *a, struct ig_request *q)
{
	struct addr_entry *e = NULL;
	unsigned retry = 0;
	int rc;

	if (!a->auth || addrlimit_take(a->auth, q->peer, &e) != GW_OK)
		return false;
	rc = addrlimit_peek(a->auth, e, gw_mono_us(), &retry);
	addrlimit_release(a->auth, e);
	if (rc == GW_OK)
		return false;
	a->stats.auth_throttled++;
	ig_error(q, 429, "too_many_auth_failures",
		 "too many requests with a bad token from this address; retry in %u s", retry);
	ig_retry_after(q, retry);
	return true;
}

/* auth_failed - one bad (or missing) token from the address of `q`; logs
 * once when it is the last the address may send for now. */
static void auth_failed(struct ig_api *a, const struct ig_request *q)
{
	struct addr_entry *e = NULL;
	unsigned retry = 0;
	int64_t now = gw_mono_us();

	if (!a->auth || addrlimit_take(a->auth, q->peer, &e) != GW_OK)
		return;
	if (addrlimit_request(a->auth, e, now, &retry) == GW_OK &&
	    addrlimit_peek(a->auth, e, now, &retry) != GW_OK)
		GW_WARN(IG_MOD, "peer %s: %lld bad tokens within a minute "
			"(auth_failures_per_minute): its requests are answered 429 for %u s",
			q->peer, a->cfg->integration.auth_failures_per_minute, retry);
	addrlimit_release(a->auth, e);
}

/* ---- ids in paths ---- */

/* path_id - the decimal id after `prefix` into *id, the rest into *rest. */
static int path_id(const char *path, const char *prefix, uint64_t *id, const char **rest)
{
	size_t n = strlen(prefix);
	uint64_t v = 0;
	const char *p;

	if (strncmp(path, prefix, n) != 0)
		return 0;
	p = path + n;
	if (*p < '1' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*id = v;
	*rest = p;
	return 1;
}

static int query_uint(struct ig_request *q, const char *name, uint64_t dflt, uint64_t max,
		      uint64_t *out)
{
	char buf[32], *end;
	unsigned long long v;
	int rc = ig_query(q, name, buf, sizeof(buf));

	*out = dflt;
	if (rc == GW_ENOTFOUND)
		return GW_OK;
	v = rc == GW_OK && buf[0] >= '0' && buf[0] <= '9' ? strtoull(buf, &end, 10) : 0;
	if (rc != GW_OK || buf[0] < '0' || buf[0] > '9' || *end || v > max) {
		ig_error(q, 400, "invalid_request", "%s: expected an integer from 0 to %llu", name,
			 (unsigned long long)max);
		return GW_EINVAL;
	}
	*out = v;
	return GW_OK;
}

/* ---- GET routes ---- */

static void get_events(struct ig_api *a, struct ig_request *q)
{
	struct rcmd_reply r;
	uint64_t from, limit;
	json_t *res, *events;

	if (query_uint(q, "from", 1, UINT64_MAX / 2, &from) ||
	    query_uint(q, "limit", EVENTS_DEFAULT, EVENTS_MAX, &limit))
		return;
	if (call(a, q, WIRE_CMD_REPLAY,
		 json_pack("{sIsI}", "from", (json_int_t)(from ? from : 1), "limit",
			   (json_int_t)(limit ? limit : EVENTS_DEFAULT)),
		 &r, 0))
		return;
	res = rcmd_json(&r, 0);
	events = json_array();
	for (size_t i = 2; i < r.n; i += 2)
		json_array_append_new(events, rcmd_json(&r, i));
	set_json(q, 200, json_pack("{sosOsO}", "events", events, "next",
				   json_object_get(res, "next"), "head",
				   json_object_get(res, "head")));
	json_decref(res);
	rcmd_reply_free(&r);
}

static void get_record(struct ig_api *a, struct ig_request *q, const char *cmd, uint64_t id)
{
	struct rcmd_reply r;

	if (call(a, q, cmd, json_pack("{sI}", "id", (json_int_t)id), &r, 0))
		return;
	set_json(q, 200, rcmd_json(&r, 0));
	rcmd_reply_free(&r);
}

static void get_tickets(struct ig_api *a, struct ig_request *q)
{
	static const char *const keys[][2] = {{"status", "status"}, {"queue", "queue"},
					      {"agent", "agent_id"}, {"tag", "tag"}};
	json_t *args = json_object(), *res, *next;
	struct rcmd_reply r;
	uint64_t cursor, limit;
	char buf[80];

	if (query_uint(q, "cursor", 1, UINT64_MAX / 2, &cursor) ||
	    query_uint(q, "limit", 50, 1000, &limit)) {
		json_decref(args);
		return;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (ig_query(q, keys[i][0], buf, sizeof(buf)) == GW_OK)
			json_object_set_new(args, keys[i][1], json_string(buf));
	json_object_set_new(args, "from", json_integer((json_int_t)cursor));
	json_object_set_new(args, "limit", json_integer((json_int_t)(limit ? limit : 50)));
	if (call(a, q, WIRE_CMD_TICKET_LIST, args, &r, 0))
		return;
	res = rcmd_json(&r, 0);
	next = json_object_get(res, "next");
	set_json(q, 200, json_pack("{sOso}", "tickets", json_object_get(res, "tickets"),
				   "next_cursor",
				   json_integer_value(next) ? json_incref(next) : json_null()));
	json_decref(res);
	rcmd_reply_free(&r);
}

static void get_reports(struct ig_api *a, struct ig_request *q)
{
	json_t *j = ig_reports_get(a->cfg, &a->st, q);

	if (j)
		set_json(q, 200, j);
}

/*
 * sniff - a media type from the first bytes, for a blob stored before its
 * type was kept beside it; octet-stream when unsure.
 */
static const char *sniff(const unsigned char *b, size_t n)
{
	if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (n >= 3 && memcmp(b, "\xff\xd8\xff", 3) == 0)
		return "image/jpeg";
	if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0))
		return "image/gif";
	if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
		return "image/webp";
	if (n >= 5 && memcmp(b, "%PDF-", 5) == 0)
		return "application/pdf";
	if (n >= 4 && memcmp(b, "OggS", 4) == 0)
		return "audio/ogg";
	if (n >= 12 && memcmp(b + 4, "ftyp", 4) == 0)
		return "video/mp4";
	return "application/octet-stream";
}

/*
 * attach_dir_at - the i-th folder attachments may be stored in: 0 is
 * <state_dir>/attachments (API, SMS, Telegram, live chat, gatewayctl send,
 * and email and Meta by default), then each connector entry's own folder
 * (email attachment_dir, Meta media_dir) when it sets one. 0 past the end.
 */
static int attach_dir_at(const struct gw_config *cfg, size_t i, char *dir, size_t size)
{
	if (i == 0)
		return (size_t)snprintf(dir, size, "%s/attachments", cfg->state_dir) < size;
	for (size_t c = 0; c < cfg->n_connectors; c++) {
		const struct gw_connector_conf_type *t = gw_connector_conf_find(cfg->connectors[c].type);
		const char *d = t && t->attach_dir ? t->attach_dir(cfg->connectors[c].settings) : NULL;

		if (d && --i == 0)
			return (size_t)snprintf(dir, size, "%s", d) < size;
	}
	return 0;
}

/* attach_open - the blob `hex` found in one of the folders: its descriptor
 * (or -1), size and media type (the stored one, else sniffed) into q. */
static int attach_open(const struct gw_config *cfg, const char *hex, struct ig_request *q,
		       struct stat *st)
{
	char dir[4096], path[4200];
	unsigned char head[16];
	int fd = -1;

	for (size_t i = 0; fd < 0 && attach_dir_at(cfg, i, dir, sizeof(dir)); i++) {
		if (attach_path(dir, hex, path, sizeof(path)) != GW_OK)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 && (fstat(fd, st) != 0 || !S_ISREG(st->st_mode))) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0)
		return -1;
	if (attach_type_get(dir, hex, q->ans.type, sizeof(q->ans.type)) == GW_OK) {
		q->ans.content_type = q->ans.type;
	} else {
		ssize_t n = pread(fd, head, sizeof(head), 0);

		q->ans.content_type = sniff(head, n > 0 ? (size_t)n : 0);
	}
	return fd;
}

static void get_attachment(struct ig_api *a, struct ig_request *q, const char *ref)
{
	char probe[128];
	struct stat st;
	int fd;

	if (strncmp(ref, ATTACH_REF_PREFIX, strlen(ATTACH_REF_PREFIX)) == 0)
		ref += strlen(ATTACH_REF_PREFIX);
	if (attach_path("", ref, probe, sizeof(probe)) != GW_OK) {
		ig_error(q, 404, "not_found", "not an attachment ref (sha256:<64 hex digits>)");
		return;
	}
	set_json(q, 200, NULL);
	fd = attach_open(a->cfg, ref, q, &st);
	if (fd < 0) {
		ig_error(q, 404, "not_found", "no attachment sha256:%.64s", ref);
		return;
	}
	if (st.st_size > a->cfg->integration.attachment_max_bytes) {
		close(fd);
		ig_error(q, 413, "too_large", "the attachment is over attachment_max_bytes");
		return;
	}
	q->ans.fd = fd;
	q->ans.len = (size_t)st.st_size;
	q->ans.extra_name[0] = "x-content-type-options:";
	q->ans.extra_value[0] = "nosniff";
	q->ans.extra_name[1] = "content-disposition:";
	q->ans.extra_value[1] = "attachment";
	q->ans.extra_name[2] = "cache-control:";
	q->ans.extra_value[2] = "private, max-age=31536000, immutable";
}

/* get_known - the path is one of the GET routes (for a 405 to a POST). */
static int get_known(const char *path)
{
	const char *rest;
	uint64_t id;

	return strcmp(path, "/v1/events") == 0 || strcmp(path, "/v1/tickets") == 0 ||
	       strcmp(path, "/v1/reports") == 0 ||
	       (path_id(path, "/v1/tickets/", &id, &rest) && !*rest) ||
	       (path_id(path, "/v1/customers/", &id, &rest) && !*rest) ||
	       strncmp(path, "/v1/attachments/", 16) == 0;
}

static int route_get(struct ig_api *a, struct ig_request *q)
{
	const char *rest;
	uint64_t id;

	if (strcmp(q->path, "/v1/events") == 0)
		get_events(a, q);
	else if (strcmp(q->path, "/v1/tickets") == 0)
		get_tickets(a, q);
	else if (strcmp(q->path, "/v1/reports") == 0)
		get_reports(a, q);
	else if (path_id(q->path, "/v1/tickets/", &id, &rest) && !*rest)
		get_record(a, q, WIRE_CMD_TICKET_GET, id);
	else if (path_id(q->path, "/v1/customers/", &id, &rest) && !*rest)
		get_record(a, q, WIRE_CMD_CUSTOMER_GET, id);
	else if (strncmp(q->path, "/v1/attachments/", 16) == 0)
		get_attachment(a, q, q->path + 16);
	else
		return 0;
	return 1;
}

/* ---- POST routes ---- */

/* A POST route: the command, the scope, the body keys passed on; collision:
 * the router's GW_EPERM is an agent collision (409). */
struct post_route {
	const char *prefix, *suffix, *cmd, *id_key;
	unsigned scope;
	int status;
	const char *keys[12];
	int collision;
};

static const struct post_route post_routes[] = {
	{"/v1/tickets/", "/replies", WIRE_CMD_MESSAGE_SEND, "ticket_id", SCOPE_REPLY, 202,
	 {"text", "channel", "author", "subject", "template", "attachments", "canned", "vars",
	  "agent_id", "force", NULL}, 1},
	{"/v1/tickets/", "/viewing", WIRE_CMD_TICKET_VIEWING, "ticket_id", SCOPE_REPLY, 200,
	 {"agent_id", NULL}, 0},
	{"/v1/tickets/", "/typing", WIRE_CMD_TICKET_TYPING, "ticket_id", SCOPE_REPLY, 200,
	 {"agent_id", NULL}, 0},
	{"/v1/tickets/", "/close", WIRE_CMD_TICKET_CLOSE, "ticket_id", SCOPE_MANAGE, 200,
	 {"reason", NULL}},
	{"/v1/tickets/", "/reopen", WIRE_CMD_TICKET_REOPEN, "ticket_id", SCOPE_MANAGE, 200,
	 {"reason", NULL}},
	{"/v1/tickets/", "/assign", WIRE_CMD_TICKET_ASSIGN, "ticket_id", SCOPE_MANAGE, 200,
	 {"agent_id", "queue", NULL}},
	{"/v1/tickets/", "/priority", WIRE_CMD_TICKET_PRIORITY, "ticket_id", SCOPE_MANAGE, 200,
	 {"priority", NULL}},
	{"/v1/customers/", "/merge", WIRE_CMD_CUSTOMER_MERGE, "source_id", SCOPE_MANAGE, 200,
	 {"target_id", NULL}},
	{"/v1/tickets/", "/merge", WIRE_CMD_TICKET_MERGE, "ticket_id", SCOPE_MANAGE, 200,
	 {"target_id", NULL}},
	{"/v1/tickets/", "/split", WIRE_CMD_TICKET_SPLIT, "ticket_id", SCOPE_MANAGE, 200,
	 {"message_seq", NULL}},
};

static const struct post_route *find_post(const char *path, uint64_t *id)
{
	const char *rest;

	for (size_t i = 0; i < sizeof(post_routes) / sizeof(post_routes[0]); i++)
		if (path_id(path, post_routes[i].prefix, id, &rest) &&
		    strcmp(rest, post_routes[i].suffix) == 0)
			return &post_routes[i];
	return NULL;
}

/* post_args - the command's arguments from the JSON body, or NULL (answered). */
static json_t *post_args(struct ig_request *q, const struct post_route *pr, uint64_t id,
			 const char *command_id)
{
	json_error_t jerr;
	json_t *body = q->body_len ? json_loadb(q->body, q->body_len, 0, &jerr) : json_object();
	json_t *args;

	if (!body || !json_is_object(body)) {
		ig_error(q, 400, "invalid_json", "the body must be one JSON object");
		json_decref(body);
		return NULL;
	}
	args = json_pack("{sssI}", "command_id", command_id, pr->id_key, (json_int_t)id);
	for (size_t i = 0; pr->keys[i]; i++) {
		json_t *v = json_object_get(body, pr->keys[i]);

		if (v)
			json_object_set(args, pr->keys[i], v);
	}
	json_decref(body);
	return args;
}

static void request_digest(const struct ig_request *q, unsigned char d[INTEG_DIGEST_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;

	memset(d, 0, INTEG_DIGEST_LEN);
	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, q->path, strlen(q->path) + 1) &&
	    EVP_DigestUpdate(ctx, q->body, q->body_len))
		EVP_DigestFinal_ex(ctx, d, &n);
	EVP_MD_CTX_free(ctx);
}

/* idem_replay - 1 when the key answered before (the answer given again). */
static int idem_replay(struct ig_api *a, struct ig_request *q, const char *key,
		       const unsigned char d[INTEG_DIGEST_LEN])
{
	unsigned char old[INTEG_DIGEST_LEN];
	char *body = NULL;
	size_t len = 0;
	int status = 0;

	if (integ_idem_get(a->db, key, gw_now_ms(), &status, &body, &len, old) != GW_OK)
		return 0;
	if (memcmp(old, d, INTEG_DIGEST_LEN) != 0) {
		free(body);
		ig_error(q, 422, "idempotency_key_reused",
			 "this Idempotency-Key was used for another request");
		return 1;
	}
	free(q->ans.body);
	q->ans = (struct ig_answer){.status = status, .content_type = "application/json",
				    .body = body, .len = len, .fd = -1};
	q->ans.extra_name[0] = "idempotent-replayed:";
	q->ans.extra_value[0] = "true";
	return 1;
}

static void post_run(struct ig_api *a, struct ig_request *q, const struct post_route *pr,
		     uint64_t id, const char *command_id)
{
	json_t *args = post_args(q, pr, id, command_id);
	struct rcmd_reply r;

	if (!args)
		return;
	if (call(a, q, pr->cmd, args, &r, pr->collision) == GW_OK) {
		set_json(q, pr->status, rcmd_json(&r, 0));
		rcmd_reply_free(&r);
	}
}

static int route_post(struct ig_api *a, struct ig_request *q, unsigned scopes)
{
	unsigned char d[INTEG_DIGEST_LEN];
	char key[IG_KEY_MAX + 80], command_id[IG_KEY_MAX + 80], rnd[33];
	const struct post_route *pr;
	uint64_t id;

	pr = find_post(q->path, &id);
	if (!pr)
		return 0;
	if (!(scopes & pr->scope)) {
		ig_error(q, 403, "forbidden", "this token lacks the '%s' scope",
			 pr->scope == SCOPE_REPLY ? "reply" : "manage");
		return 1;
	}
	if (q->idem_bad) {
		ig_error(q, 400, "invalid_request", "Idempotency-Key: longer than %d bytes",
			 IG_KEY_MAX);
		return 1;
	}
	if (!q->idem_key[0]) {
		if (gw_random_id(rnd) != GW_OK) {
			GW_ERROR(IG_MOD, "no command id: %s", gw_strerror(GW_EIO));
			ig_error(q, 500, "internal", "the command could not be given an id; retry");
			return 1;
		}
		snprintf(command_id, sizeof(command_id), "http:%s", rnd);
		post_run(a, q, pr, id, command_id);
		return 1;
	}
	snprintf(key, sizeof(key), "%s\n%s", a->who->name, q->idem_key);
	snprintf(command_id, sizeof(command_id), "http:%s:%s", a->who->name, q->idem_key);
	request_digest(q, d);
	if (idem_replay(a, q, key, d))
		return 1;
	post_run(a, q, pr, id, command_id);
	if (q->ans.status < 500 && q->ans.body &&
	    integ_idem_put(a->db, key, gw_now_ms() + a->cfg->integration.idempotency_ttl_s * 1000,
			   gw_now_ms(), q->ans.status, q->ans.body, q->ans.len, d) != GW_OK)
		GW_WARN(IG_MOD, "cannot keep the answer of an Idempotency-Key (token %s)",
			a->who->name);
	return 1;
}

/* ---- dispatch ---- */

static void route(struct ig_api *a, struct ig_request *q)
{
	uint64_t id;
	int t;

	if (q->method == IG_GET && strcmp(q->path, "/healthz") == 0) {
		set_json(q, 200, json_pack("{ss}", "status", "ok"));
		return;
	}
	if (auth_refused(a, q))
		return;
	t = authenticate(a, q);
	if (t < 0) {
		auth_failed(a, q);
		ig_error(q, 401, "unauthorized", "a valid 'Authorization: Bearer <token>' is needed");
		return;
	}
	a->who = &a->cfg->integration.tokens[t];
	if (q->method == IG_GET && !(a->scopes[t] & SCOPE_READ))
		ig_error(q, 403, "forbidden", "this token lacks the 'read' scope");
	else if (q->method == IG_GET && route_get(a, q))
		return;
	else if (q->method == IG_POST && route_post(a, q, a->scopes[t]))
		return;
	else if (q->method == IG_GET && find_post(q->path, &id))
		ig_error(q, 405, "method_not_allowed", "this route takes POST");
	else if (q->method == IG_POST && get_known(q->path))
		ig_error(q, 405, "method_not_allowed", "this route takes GET");
	else if (q->method == IG_OTHER)
		ig_error(q, 405, "method_not_allowed", "only GET and POST");
	else
		ig_error(q, 404, "not_found", "no such route");
}

void ig_api_handle(struct ig_api *a, struct ig_request *q)
{
	q->ans.fd = -1;
	a->who = NULL;
	route(a, q);
	if (q->ans.status == 0)
		ig_error(q, 500, "internal", "the request was not answered");
	a->stats.requests++;
	if (q->ans.status < 400)
		a->stats.ok++;
	else if (q->ans.status < 500)
		a->stats.client_errors++;
	else
		a->stats.server_errors++;
	GW_INFO(IG_MOD, "%s %.200s token=%s peer=%s %d",
		q->method == IG_GET ? "GET" : q->method == IG_POST ? "POST" : "OTHER", q->path,
		a->who ? a->who->name : "-", q->peer, q->ans.status);
}

void ig_api_stats(const struct ig_api *a, struct ig_stats *s)
{
	*s = a->stats;
}

int ig_api_create(const struct gw_config *cfg, void *zctx, struct integ_db *db,
		  struct ig_api **out)
{
	struct ig_api *a = calloc(1, sizeof(*a));
	int rc;

	*out = NULL;
	if (!a)
		return GW_ENOMEM;
	a->cfg = cfg;
	a->rc = (struct rcmd){.zctx = zctx, .bus = &cfg->router,
			      .timeout_ms = (long)cfg->integration.command_timeout_ms};
	a->scopes = calloc(cfg->integration.n_tokens + 1, sizeof(*a->scopes));
	a->db = db;
	rc = a->scopes ? GW_OK : GW_ENOMEM;
	for (size_t i = 0; rc == GW_OK && i < cfg->integration.n_tokens; i++)
		a->scopes[i] = scope_bits(&cfg->integration.tokens[i].scopes);
	if (rc == GW_OK && cfg->integration.auth_failures_per_minute > 0) {
		struct addrlimit_options ao = {
			.capacity = AUTH_ADDRS,
			.per_minute = cfg->integration.auth_failures_per_minute,
			.burst = cfg->integration.auth_failures_per_minute,
		};

		rc = addrlimit_create(&ao, &a->auth);
	}
	if (rc) {
		ig_api_destroy(a);
		return rc;
	}
	*out = a;
	return GW_OK;
}

void ig_api_destroy(struct ig_api *a)
{
	if (!a)
		return;
	rcmd_close(&a->rc);
	addrlimit_destroy(a->auth);
	store_close(a->st);
	free(a->scopes);
	free(a);
}

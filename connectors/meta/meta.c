/*
 * meta.c - the `meta` connector type: the webhook of one Meta app, for the
 * WhatsApp Cloud API, Messenger and Instagram (docs/channels/whatsapp.md,
 * messenger.md, instagram.md), served by the shared HTTP server (httpd.h).
 *
 *   GET  <path>?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C
 *        the subscription handshake: 200 with C when T is the configured
 *        verify_token, 403 otherwise (wrong token, mode, or a parameter
 *        missing)
 *   POST <path>
 *        X-Hub-Signature-256 checked over the raw body (meta_sig.c): 401
 *        when missing or wrong, nothing stored; then parsed (meta_parse.c):
 *        400 when malformed; then every event of the body is queued in the
 *        outbox, all or none, and the answer waits for the group commit:
 *        200 once all of them are durable, 503 otherwise (Meta retries; the
 *        router deduplicates what a retry repeats). A body without events
 *        is answered 200 at once.
 *
 * With media_download on, a body whose WhatsApp messages carry media is
 * held while the media worker (media.c) downloads them; when it is done the
 * events, now naming local files, are queued as above.
 *
 * Replies (the deliver op) go out through meta_out.c: WhatsApp Cloud API
 * (wa_send.c) and the Send API of Messenger and Instagram (ms_send.c), on
 * the shared sender's worker; its wake brings the loop to report them.
 *
 * Threading: everything runs on the thread that calls run(), but the media
 * downloads and the reply transfers, which run on their workers.
 */
#include "connectors/meta/meta.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/httpd.h"
#include "connectors/meta/media.h"
#include "connectors/meta/meta_out.h"
#include "connectors/meta/meta_parse.h"
#include "connectors/meta/meta_sig.h"
#include "connectors/outbox.h"
#include "connectors/runtime.h"
#include "gateway/err.h"
#include "gateway/log.h"
#include "gateway/util.h"
#include "proto/proto.h"

#define META_SECRET_MAX 1024    /* longest app secret, verify or access token */
#define META_PATH_MAX 256       /* longest webhook path */
#define META_URL_MAX 1024       /* longest graph_url */
#define META_ENV_MAX 128        /* longest environment variable name in page_tokens */
#define META_PAGE_TOKEN_MAX (PROTO_MAX_ACCOUNT + 1 + META_ENV_MAX)
#define META_QUERY_MAX (META_SECRET_MAX + 1) /* longest hub.* value, NUL included:
					      * a verify_token of the longest length fits */

#define META_OFF(m) offsetof(struct meta_settings, m)

static const struct conf_entry meta_conf_entries[] = {
	{CONF_LISTEN, "listen", "127.0.0.1:8089", 0, 0, 0, META_OFF(listen),
	 "address:port the webhook server listens on; keep it on loopback behind a TLS proxy"},
	{CONF_STRING, "path", "/webhooks/meta", 0, META_PATH_MAX, 0, META_OFF(path),
	 "path of the webhook (the callback URL set in the Meta app ends with it)"},
	{CONF_SECRET, "app_secret", NULL, 0, META_SECRET_MAX, CONF_F_REQUIRED,
	 META_OFF(app_secret),
	 "the app secret (App settings > Basic) that signs every POST; use ${ENV}"},
	{CONF_SECRET, "verify_token", NULL, 0, META_SECRET_MAX, CONF_F_REQUIRED,
	 META_OFF(verify_token),
	 "the verify token typed into the app's webhook settings; use ${ENV}"},
	{CONF_INT, "max_body_bytes", "1048576", 1024, 67108864, 0, META_OFF(max_body_bytes),
	 "webhooks with a larger body are answered 413 without reading it"},
	{CONF_INT, "max_connections", "1024", 1, 65536, 0, META_OFF(max_connections),
	 "concurrent HTTP connections; more wait in the listen backlog"},
	{CONF_INT, "spool_max", "1000000", 1000, 100000000, 0, META_OFF(spool_max),
	 "accepted events not yet routed kept at most; past it webhooks get 503"},
	{CONF_INT, "spool_map_mb", "1024", 16, 1048576, 0, META_OFF(spool_map_mb),
	 "LMDB map size of the spool in MiB (disk is used only as it fills)"},
	{CONF_BOOL, "media_download", "false", 0, 0, 0, META_OFF(media_download),
	 "download WhatsApp media into media_dir while the webhook is answered"},
	{CONF_STRING, "graph_url", "https://graph.facebook.com/v21.0", 0, META_URL_MAX, 0,
	 META_OFF(graph_url), "Graph API base URL, for replies and media downloads"},
	{CONF_SECRET, "access_token", NULL, 0, META_SECRET_MAX, 0, META_OFF(access_token),
	 "Graph API token (a system user token with whatsapp_business_messaging): WhatsApp "
	 "replies, and media downloads (required when media_download is on); use ${ENV}"},
	{CONF_INT, "media_max_bytes", "16777216", 1024, 1073741824, 0, META_OFF(media_max_bytes),
	 "larger media are not downloaded (the event keeps the media id)"},
	{CONF_PATH, "media_dir", NULL, 0, 1024, 0, META_OFF(media_dir),
	 "folder of downloaded media, files named by their SHA-256; default "
	 "<state_dir>/attachments"},
	{CONF_STRLIST, "page_tokens", NULL, 0, META_PAGE_TOKEN_MAX, 0, META_OFF(page_tokens),
	 "Messenger and Instagram replies: entries \"<page or Instagram account id>=<ENV>\", "
	 "the page access token of that account read from the environment variable ENV"},
	{CONF_BOOL, "human_agent_tag", "false", 0, 0, 0, META_OFF(human_agent_tag),
	 "Messenger and Instagram: answer up to 7 days after the customer's last message "
	 "with the HUMAN_AGENT tag (the app needs that permission); off: 24 hours"},
	SENDER_CONF_ROWS(META_OFF),
};

static const struct conf_section meta_conf_section = {
	.name = "connectors[type=meta]",
	.entries = meta_conf_entries,
	.n_entries = sizeof(meta_conf_entries) / sizeof(meta_conf_entries[0]),
	.struct_size = sizeof(struct meta_settings),
	.desc = "The webhook of one Meta app: WhatsApp Cloud API, Messenger and "
		"Instagram messages of every number, page and account subscribed to it "
		"(docs/channels/whatsapp.md, messenger.md, instagram.md).",
};

struct meta {
	struct connector_instance *inst;
	const struct meta_settings *set;
	size_t verify_len;
	struct meta_sig_key *key; /* owned: app_secret, keyed once */
	struct httpd *httpd;
	struct media *media; /* NULL unless media_download */
	struct meta_out *out; /* replies (meta_out.c) */
};

/* Per-request scratch (httpd_req_data): the signature header, copied early. */
struct meta_req {
	int sig_len; /* as httpd_req_header: -1 absent, -2 too long */
	char sig[META_SIG_VALUE_MAX + 1];
};

/* ---- the subscription handshake (GET) ------------------------------------ */

static void meta_verify(struct meta *m, struct httpd_req *req)
{
	char mode[META_QUERY_MAX], token[META_QUERY_MAX], challenge[META_QUERY_MAX];
	int tlen, clen;

	tlen = httpd_req_query(req, "hub.verify_token", token, sizeof(token));
	clen = httpd_req_query(req, "hub.challenge", challenge, sizeof(challenge));
	/* Anything but a matching subscribe is refused alike (403), as Meta's
	 * handshake expects; the log line says which part was wrong. */
	if (httpd_req_query(req, "hub.mode", mode, sizeof(mode)) < 0 || tlen < 0 || clen < 0) {
		httpd_refuse(req, 403, "forbidden", "subscription handshake without hub.mode, "
			     "hub.verify_token and hub.challenge");
		return;
	}
	if (strcmp(mode, "subscribe") != 0) {
		httpd_refuse(req, 403, "forbidden",
			     "subscription handshake with hub.mode other than subscribe");
		return;
	}
	if (!gw_ct_equal(token, (size_t)tlen, m->set->verify_token, m->verify_len)) {
		httpd_refuse(req, 403, "forbidden",
			     "subscription handshake with a wrong verify token");
		return;
	}
	GW_INFO(m->inst->log_module, "subscription handshake answered");
	httpd_answer(req, 200, "text/plain", challenge, (size_t)clen);
}

static int meta_on_request(void *arg, struct httpd_req *req)
{
	struct meta *m = arg;
	struct meta_req *mr = httpd_req_data(req);
	enum httpd_method method = httpd_req_method(req);

	if (strcmp(httpd_req_path(req), m->set->path) != 0) {
		httpd_refuse(req, 404, "not_found", "no such endpoint");
		return HTTPD_ANSWERED;
	}
	if (method == HTTPD_M_GET) {
		meta_verify(m, req);
		return HTTPD_ANSWERED;
	}
	if (method != HTTPD_M_POST) {
		httpd_allow(req, "GET, POST");
		httpd_refuse(req, 405, "method_not_allowed", "%s allows only GET and POST",
			     m->set->path);
		return HTTPD_ANSWERED;
	}
	/* Headers are read here: the body arrives after them. */
	mr->sig_len = httpd_req_header(req, META_SIG_HEADER, mr->sig, sizeof(mr->sig));
	return HTTPD_READ_BODY;
}

/* ---- queueing a webhook's events ------------------------------------------ */

/*
 * Encodes and queues every event, all or none (outbox_rollback), then
 * defers the answer to the group commit. Takes ownership of `evs`.
 */
static void meta_queue(struct meta *m, struct httpd_req *req, struct meta_events *evs)
{
	struct outbox *ob = m->inst->outbox;
	size_t mark = outbox_queued(ob), i;
	struct proto_error perr;
	char json[96];
	int rc = GW_OK;

	for (i = 0; rc == GW_OK && i < evs->n; i++)
		rc = outbox_add_event(ob, &evs->ev[i], &perr);
	if (rc != GW_OK) {
		outbox_rollback(ob, mark);
		if (perr.message[0] && rc != GW_ENOMEM)
			httpd_refuse(req, 400, "invalid_event", "event %zu of %zu: %s", i, evs->n,
				     perr.message);
		else
			httpd_refuse(req, 503, "unavailable", "cannot queue %zu events: %s", evs->n,
				     rc == GW_EFULL ? "the spool is full" : gw_strerror(rc));
	} else {
		snprintf(json, sizeof(json), "{\"status\":\"accepted\",\"events\":%zu}", evs->n);
		httpd_defer(req, 200, json);
		meta_out_seen(m->out, evs);
	}
	meta_events_clear(evs);
}

/* Hands the events to the media worker; falls back to queueing them as is. */
static void meta_hold_for_media(struct meta *m, struct httpd_req *req, struct meta_events *evs)
{
	uint64_t ticket = httpd_hold(req);
	int rc = media_submit(m->media, ticket, evs);

	if (rc == GW_OK)
		return;
	GW_WARN(m->inst->log_module, "media downloader busy (%s): %zu events keep their media ids",
		gw_strerror(rc), evs->n);
	meta_queue(m, httpd_resume(m->httpd, ticket), evs);
}

/* The sender or the media worker finished jobs: replies are reported,
 * held requests go on. */
static void meta_on_wake(void *arg)
{
	struct meta *m = arg;
	struct meta_events evs = {0};
	uint64_t ticket;

	meta_out_poll(m->out);
	if (!m->media)
		return;
	while (media_take_done(m->media, &ticket, &evs)) {
		struct httpd_req *req = httpd_resume(m->httpd, ticket);

		if (req) {
			meta_queue(m, req, &evs);
			continue;
		}
		/* Meta got no answer and sends the body again. */
		GW_INFO(m->inst->log_module, "webhook connection closed during its media download; "
			"%zu events dropped until Meta retries", evs.n);
		meta_events_clear(&evs);
	}
}

/* ---- the webhook body (POST) ----------------------------------------------- */

static int meta_signed(struct meta *m, struct httpd_req *req, const char *body, size_t len)
{
	struct meta_req *mr = httpd_req_data(req);
	int r;

	if (mr->sig_len == -2)
		r = META_SIG_MALFORMED;
	else
		r = meta_sig_key_verify(m->key, body, len, mr->sig_len < 0 ? NULL : mr->sig);
	if (r == META_SIG_OK)
		return 1;
	if (r == META_SIG_ERROR)
		httpd_refuse(req, 503, "unavailable", "cannot compute the signature");
	else
		httpd_refuse(req, 401, "unauthorized", "X-Hub-Signature-256 %s",
			     meta_sig_result_name(r));
	return 0;
}

static void meta_parse_refuse(struct httpd_req *req, const struct meta_parse_error *perr)
{
	const char *why = perr->message[0] ? perr->message : gw_strerror(perr->code);

	if (perr->code == GW_ENOMEM)
		httpd_refuse(req, 503, "unavailable", "out of memory");
	else if (perr->code == GW_ETOOBIG)
		httpd_refuse(req, 413, "too_large", "%s", why);
	else
		httpd_refuse(req, 400, "invalid_request", "%s", why);
}

static void meta_on_body(void *arg, struct httpd_req *req, const char *body, size_t len)
{
	struct meta *m = arg;
	struct meta_events evs = {0};
	struct meta_parse_error perr;

	if (!meta_signed(m, req, body, len))
		return;
	memset(&perr, 0, sizeof(perr));
	if (meta_parse(body, len, gw_now_ms(), &evs, &perr) != GW_OK) {
		meta_parse_refuse(req, &perr);
		return;
	}
	if (evs.skipped)
		GW_WARN(m->inst->log_module, "%zu WhatsApp status update%s skipped: status \"%s\" "
			"has no name in the event schema", evs.skipped, evs.skipped > 1 ? "s" : "",
			evs.skipped_status);
	if (evs.provider_errors)
		GW_WARN(m->inst->log_module, "WhatsApp reported %zu error%s on the webhook; first: %s",
			evs.provider_errors, evs.provider_errors > 1 ? "s" : "", evs.provider_error);
	/* Meta would redeliver the same bytes: items are kept or dropped, and
	 * the operator learns of it here (the reason names a path, no content). */
	m->inst->stats.unreadable += evs.unreadable;
	m->inst->stats.dropped += evs.dropped;
	if (evs.unreadable)
		GW_WARN(m->inst->log_module, "%zu item%s of the body could not be read: %zu kept "
			"as unknown, %zu dropped; first: %s", evs.unreadable,
			evs.unreadable > 1 ? "s" : "", evs.unreadable - evs.dropped, evs.dropped,
			evs.unreadable_why);
	if (evs.n == 0) {
		static const char none[] = "{\"status\":\"accepted\",\"events\":0}";

		httpd_answer(req, 200, "application/json", none, sizeof(none) - 1);
		meta_events_clear(&evs);
		return;
	}
	if (m->media && media_wanted(&evs) > 0)
		meta_hold_for_media(m, req, &evs);
	else
		meta_queue(m, req, &evs);
}

static const struct httpd_handlers meta_handlers = {
	.on_request = meta_on_request,
	.on_body = meta_on_body,
	.on_wake = meta_on_wake,
};

/* ---- the connector type ------------------------------------------------- */

/* Each page_tokens entry is "<account id>=<ENV>", ENV a variable name. */
static int meta_check_page_tokens(const struct conf_strlist *l, char *why, size_t whylen)
{
	static const char env_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					"0123456789_";

	for (size_t i = 0; i < l->n; i++) {
		const char *eq = strchr(l->v[i], '=');
		size_t alen = eq ? (size_t)(eq - l->v[i]) : 0;

		if (!eq || alen == 0 || alen > PROTO_MAX_ACCOUNT ||
		    strcspn(l->v[i], " \t\n") < alen || !eq[1] ||
		    strlen(eq + 1) > META_ENV_MAX || strspn(eq + 1, env_chars) != strlen(eq + 1) ||
		    (eq[1] >= '0' && eq[1] <= '9')) {
			snprintf(why, whylen, "page_tokens[%zu]: expected \"<page or Instagram "
				 "account id>=<ENVIRONMENT_VARIABLE>\"", i);
			return 1;
		}
	}
	return 0;
}

static int meta_check(const void *settings, char *why, size_t whylen)
{
	const struct meta_settings *s = settings;

	if (!s || !s->app_secret || !s->app_secret[0]) {
		snprintf(why, whylen, "app_secret: empty; set the app secret");
		return 1;
	}
	if (!s->verify_token || !s->verify_token[0]) {
		snprintf(why, whylen, "verify_token: empty; set a verify token");
		return 1;
	}
	if (!s->path || s->path[0] != '/' || strcmp(s->path, HTTPD_PATH_HEALTH) == 0) {
		snprintf(why, whylen, "path: must start with / and not be " HTTPD_PATH_HEALTH);
		return 1;
	}
	if (s->media_download && (!s->access_token || !s->access_token[0])) {
		snprintf(why, whylen, "access_token: required when media_download is on");
		return 1;
	}
	return meta_check_page_tokens(&s->page_tokens, why, whylen);
}

/* The media worker and the sender wake the service thread when a job is done. */
static void meta_media_notify(void *arg)
{
	struct meta *m = arg;

	httpd_wake(m->httpd);
}

static int meta_start_media(struct meta *m)
{
	char dir[4096];
	struct media_options opt = {
		.graph_url = m->set->graph_url,
		.access_token = m->set->access_token,
		.max_bytes = m->set->media_max_bytes,
		.log_module = m->inst->log_module,
		.notify = meta_media_notify,
		.arg = m,
	};
	int n;

	if (m->set->media_dir) {
		opt.dir = m->set->media_dir;
	} else {
		n = snprintf(dir, sizeof(dir), "%s/attachments", m->inst->config->state_dir);
		if (n < 0 || (size_t)n >= sizeof(dir))
			return GW_EINVAL;
		opt.dir = dir;
	}
	GW_INFO(m->inst->log_module, "media downloads into %s", opt.dir);
	return media_create(&opt, &m->media);
}

static int meta_listen(struct meta *m)
{
	struct httpd_options opt = {
		.listen = m->set->listen,
		.max_body_bytes = m->set->max_body_bytes,
		.max_connections = m->set->max_connections,
		.req_data_size = sizeof(struct meta_req),
		.endpoint = m->set->path,
		.inst = m->inst,
		.handlers = &meta_handlers,
		.arg = m,
	};

	return httpd_create(&opt, &m->httpd);
}

static int meta_create(struct connector_instance *inst)
{
	struct meta *m = calloc(1, sizeof(*m));
	int rc;

	inst->ctx = m;
	if (!m)
		return GW_ENOMEM;
	m->inst = inst;
	m->set = inst->settings;
	m->verify_len = strlen(m->set->verify_token);
	m->key = meta_sig_key_new(m->set->app_secret, strlen(m->set->app_secret));
	if (!m->key) {
		GW_ERROR(inst->log_module, "cannot set up HMAC-SHA256 for the app secret");
		return GW_ENOMEM;
	}
	rc = meta_listen(m);
	if (rc == GW_OK && m->set->media_download)
		rc = meta_start_media(m);
	if (rc == GW_OK)
		rc = meta_out_create(inst, meta_media_notify, m, &m->out);
	if (rc == GW_OK)
		connector_status_write(inst); /* "replies off" shows from the start */
	return rc;
}

static int meta_run(struct connector_instance *inst)
{
	struct meta *m = inst->ctx;

	return httpd_run(m->httpd);
}

static void meta_destroy(struct connector_instance *inst)
{
	struct meta *m = inst->ctx;

	if (!m)
		return;
	/* The workers first: they call into httpd (httpd_wake) until joined. */
	meta_out_destroy(m->out);
	media_destroy(m->media);
	httpd_destroy(m->httpd);
	meta_sig_key_free(m->key);
	free(m);
	inst->ctx = NULL;
}

static int meta_deliver(struct connector_instance *inst, const void *event, size_t len,
			uint64_t delivery_id)
{
	struct meta *m = inst->ctx;

	return meta_out_deliver(m->out, event, len, delivery_id);
}

const struct connector_type connector_meta = {
	.name = "meta",
	.channel = "meta",
	.config = &meta_conf_section,
	.check = meta_check,
	.create = meta_create,
	.run = meta_run,
	.destroy = meta_destroy,
	.deliver = meta_deliver,
};

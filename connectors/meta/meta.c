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
 *        when malformed (or items made no event) the body is kept in the
 *        quarantine (intake_keep; 400 only when it cannot be kept); then
 *        every event of the body passes its sender's limits (intake_add:
 *        over them it is held in the quarantine, in the same commit) and
 *        is queued in the outbox, all or none, and the answer waits for
 *        the group commit:
 *        200 once all of them are durable, 503 otherwise (Meta retries; the
 *        router deduplicates what a retry repeats). A body without events
 *        is answered 200 at once.
 *
 * With media_download on, a body whose messages carry files (WhatsApp
 * media, Messenger and Instagram attachments) is held while the shared
 * downloader (media.c, connectors/download.h) fetches them; when it is done
 * the events, now naming stored bytes (or saying why not), are queued as
 * above: the answer still waits for them to be durable.
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
#include "connectors/intake.h"
#include "connectors/meta/media.h"
#include "connectors/meta/meta_out.h"
#include "connectors/meta/meta_parse.h"
#include "connectors/meta/meta_sig.h"
#include "connectors/outbox.h"
#include "connectors/runtime.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/proto.h"

#define META_QUERY_MAX (META_SECRET_MAX + 1) /* longest hub.* value, NUL included:
					      * a verify_token of the longest length fits */

/* The type's own counters in the status file (with media_download). */
enum { META_C_MEDIA_STORED, META_C_MEDIA_FAILED };

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
	int sig_rc; /* httpd_req_header's: GW_OK, GW_ENOTFOUND, GW_ETOOBIG */
	char sig[META_SIG_VALUE_MAX + 1];
};

/* ---- the subscription handshake (GET) ------------------------------------ */

static void meta_verify(struct meta *m, struct httpd_req *req)
{
	char mode[META_QUERY_MAX], token[META_QUERY_MAX], challenge[META_QUERY_MAX];
	size_t tlen = 0, clen = 0;
	int trc = httpd_req_query(req, "hub.verify_token", token, sizeof(token), &tlen);
	int crc = httpd_req_query(req, "hub.challenge", challenge, sizeof(challenge), &clen);

	/* Anything but a matching subscribe is refused alike (403), as Meta's
	 * handshake expects; the log line says which part was wrong. */
	if (httpd_req_query(req, "hub.mode", mode, sizeof(mode), NULL) != GW_OK || trc != GW_OK ||
	    crc != GW_OK) {
		httpd_refuse(req, 403, "forbidden", "subscription handshake without hub.mode, "
			     "hub.verify_token and hub.challenge");
		return;
	}
	if (strcmp(mode, "subscribe") != 0) {
		httpd_refuse(req, 403, "forbidden",
			     "subscription handshake with hub.mode other than subscribe");
		return;
	}
	if (!gw_ct_equal(token, tlen, m->set->verify_token, m->verify_len)) {
		httpd_refuse(req, 403, "forbidden",
			     "subscription handshake with a wrong verify token");
		return;
	}
	GW_INFO(m->inst->log_module, "subscription handshake answered");
	httpd_answer(req, 200, "text/plain", challenge, clen);
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
	mr->sig_rc = httpd_req_header(req, META_SIG_HEADER, mr->sig, sizeof(mr->sig), NULL);
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

	meta_out_echoes(m->out, evs);
	for (i = 0; rc == GW_OK && i < evs->n; i++)
		rc = intake_add(m->inst, &evs->ev[i], &perr, NULL);
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
	GW_WARN(m->inst->log_module, "media downloader busy (%s): %zu events keep their media "
		"ids and URLs", gw_strerror(rc), evs->n);
	meta_queue(m, httpd_resume(m->httpd, ticket), evs);
}

/* The sender or the media worker finished jobs: replies are reported,
 * held requests go on. */
static void meta_on_wake(void *arg)
{
	struct meta *m = arg;
	struct meta_events evs = {0};
	struct dl_stats st;
	uint64_t ticket;

	meta_out_poll(m->out);
	if (!m->media)
		return;
	media_stats(m->media, &st);
	m->inst->counters[META_C_MEDIA_STORED].value = st.stored;
	m->inst->counters[META_C_MEDIA_FAILED].value = st.failed;
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

	if (mr->sig_rc == GW_ETOOBIG)
		r = META_SIG_MALFORMED;
	else
		r = meta_sig_key_verify(m->key, body, len, mr->sig_rc != GW_OK ? NULL : mr->sig);
	if (r == META_SIG_OK)
		return 1;
	if (r == META_SIG_ERROR)
		httpd_refuse(req, 503, "unavailable", "cannot compute the signature");
	else
		httpd_refuse(req, 401, "unauthorized", "X-Hub-Signature-256 %s",
			     meta_sig_result_name(r));
	return 0;
}

/*
 * meta_parse_refuse - a signed body that does not parse: kept in the
 * quarantine and answered 200 once that is durable (Meta would otherwise
 * send the same bytes again and again), or refused when it cannot be kept.
 */
static void meta_parse_refuse(struct meta *m, struct httpd_req *req, const char *body,
			      size_t len, const struct meta_parse_error *perr)
{
	static const char kept[] = "{\"status\":\"kept\",\"events\":0}";
	const char *why = perr->message[0] ? perr->message : gw_strerror(perr->code);

	if (perr->code != GW_ENOMEM &&
	    intake_keep(m->inst, why, "application/json", body, len) == GW_OK) {
		GW_WARN(m->inst->log_module, "a signed body that cannot be read is kept in the "
			"quarantine: %s", why);
		httpd_defer(req, 200, kept);
		return;
	}
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
		meta_parse_refuse(m, req, body, len, &perr);
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
	/* Items that made no event: the whole body is kept beside its events,
	 * in the same commit, for a reingest after a fix. */
	if (evs.dropped &&
	    intake_keep(m->inst, evs.unreadable_why, "application/json", body, len) != GW_OK)
		GW_WARN(m->inst->log_module, "the body of %zu dropped items could not be kept",
			evs.dropped);
	if (evs.n == 0) {
		static const char none[] = "{\"status\":\"accepted\",\"events\":0}";

		if (outbox_queued(m->inst->outbox))
			httpd_defer(req, 200, none); /* after the kept body is durable */
		else
			httpd_answer(req, 200, "application/json", none, sizeof(none) - 1);
		meta_events_clear(&evs);
		return;
	}
	if (media_wanted(m->media, &evs) > 0)
		meta_hold_for_media(m, req, &evs);
	else
		meta_queue(m, req, &evs);
}

/* The reingest op: a kept body parsed again (intake.h); media ids stay
 * ids (no download). Items that still cannot be read keep it kept. */
static int meta_reingest(struct connector_instance *inst, const char *content_type,
			 const void *body, size_t len, char *why, size_t whylen)
{
	struct meta_events evs = {0};
	struct meta_parse_error perr;
	struct proto_error eerr;
	int rc;

	(void)content_type;
	memset(&perr, 0, sizeof(perr));
	rc = meta_parse(body, len, gw_now_ms(), &evs, &perr);
	if (rc != GW_OK) {
		snprintf(why, whylen, "%s", perr.message[0] ? perr.message : gw_strerror(rc));
		return rc;
	}
	if (evs.dropped) {
		snprintf(why, whylen, "%s", evs.unreadable_why);
		rc = GW_EPROTO;
	}
	for (size_t i = 0; rc == GW_OK && i < evs.n; i++) {
		rc = intake_add(inst, &evs.ev[i], &eerr, NULL);
		if (rc != GW_OK)
			snprintf(why, whylen, "event %zu: %s", i,
				 eerr.message[0] ? eerr.message : gw_strerror(rc));
	}
	meta_events_clear(&evs);
	return rc;
}

static const struct httpd_handlers meta_handlers = {
	.on_request = meta_on_request,
	.on_body = meta_on_body,
	.on_wake = meta_on_wake,
};

/* ---- the connector type ------------------------------------------------- */

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
	m->inst->counters[META_C_MEDIA_STORED].name = "media_stored";
	m->inst->counters[META_C_MEDIA_FAILED].name = "media_failed";
	return media_create(&opt, &m->media);
}

static int meta_listen(struct meta *m)
{
	struct httpd_options opt = {
		.listen = m->set->listen,
		.max_body_bytes = m->set->max_body_bytes,
		.max_connections = m->set->max_connections,
		.limits = &m->set->limits,
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
	.conf = &meta_conf_type,
	.create = meta_create,
	.run = meta_run,
	.destroy = meta_destroy,
	.deliver = meta_deliver,
	.reingest = meta_reingest,
};

/*
 * sms.c - the `sms` connector type (docs/channels/sms.md): the numbers of
 * one Twilio account, served by the shared HTTP server (httpd.h):
 *
 *   POST <path>          an incoming message: message.received
 *   POST <status_path>   a status callback of a reply: message.status
 *   deliver (replies)    Twilio's Messages resource (sms_reply.c)
 *
 * Per request:
 *   on_request   route, method, Content-Type; the X-Twilio-Signature
 *                header is copied (headers are gone by on_body)
 *   on_body      the form decoded (sms_form.c), its signature checked over
 *                public_url + the path and the parameters (sms_sig.c): 403
 *                when missing or wrong, nothing stored; then read
 *                (sms_parse.c): a signed form that cannot be read is kept
 *                in the quarantine (intake.h) and answered as a message;
 *                for a message, the customer's number is
 *                recorded (the number they wrote to, STOP/START) durably;
 *                then the event is queued and the answer deferred: Twilio
 *                gets the empty TwiML <Response/> once it is durable, 503
 *                if it could not be made so. With media_download, an MMS
 *                is first held while its files download (sms_media.h),
 *                then queued the same way
 *
 * Threading: everything runs on the thread that calls run(); replies run
 * on the sender's worker, whose wake and the httpd tick poll it here.
 */
#include "connectors/sms/sms.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connectors/httpd.h"
#include "connectors/intake.h"
#include "connectors/outbox.h"
#include "connectors/sms/sms_form.h"
#include "connectors/sms/sms_media.h"
#include "connectors/sms/sms_parse.h"
#include "connectors/sms/sms_reply.h"
#include "connectors/sms/sms_sig.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/proto.h"
#include "store/sms_contacts.h"

#define SMS_TWIML "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"
#define SMS_TWIML_TYPE "text/xml"
#define SMS_FORM_TYPE "application/x-www-form-urlencoded"
/* The content type a status callback is kept with: its path decides how it
 * is read again. */
#define SMS_KEPT_STATUS_TYPE SMS_FORM_TYPE "; webhook=status"
#define SMS_STATE_PATH_MAX 4096

struct sms {
	struct connector_instance *inst;
	const struct sms_settings *set;
	const char *account;          /* borrowed: settings or instance name */
	struct sms_sig_key *key;      /* owned: auth_token, keyed once */
	struct sms_contacts *contacts;
	struct httpd *httpd;
	struct sms_replies *replies;
	struct sms_media *media;      /* NULL unless media_download */
	char url[SMS_SIG_URL_MAX + 1];        /* public_url + path: what Twilio signs */
	char status_url[SMS_SIG_URL_MAX + 1]; /* public_url + status_path */
};

/* Per-request scratch (httpd_req_data). */
struct sms_req {
	int status_path;  /* the request came to status_path */
	int sig_rc;       /* httpd_req_header's: GW_OK, GW_ENOTFOUND, GW_ETOOBIG */
	char sig[SMS_SIG_B64_LEN + 8];
};

/* ---- the request --------------------------------------------------------- */

/* True for application/x-www-form-urlencoded, with or without parameters. */
static int sms_form_content_type(const struct httpd_req *req)
{
	char ct[128];
	size_t n = strlen(SMS_FORM_TYPE), len = 0;

	if (httpd_req_header(req, "content-type", ct, sizeof(ct), &len) != GW_OK || len < n ||
	    strncasecmp(ct, SMS_FORM_TYPE, n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

static int sms_on_request(void *arg, struct httpd_req *req)
{
	struct sms *s = arg;
	struct sms_req *r = httpd_req_data(req);
	const char *path = httpd_req_path(req);

	r->status_path = strcmp(path, s->set->status_path) == 0;
	if (!r->status_path && strcmp(path, s->set->path) != 0) {
		httpd_refuse(req, 404, "not_found", "no such endpoint");
		return HTTPD_ANSWERED;
	}
	if (httpd_req_method(req) != HTTPD_M_POST) {
		httpd_allow(req, "POST");
		httpd_refuse(req, 405, "method_not_allowed", "%s allows only POST", path);
		return HTTPD_ANSWERED;
	}
	if (!sms_form_content_type(req)) {
		httpd_refuse(req, 415, "unsupported_media_type",
			     "Content-Type must be " SMS_FORM_TYPE);
		return HTTPD_ANSWERED;
	}
	/* Headers are read here: the body arrives after them. */
	r->sig_rc = httpd_req_header(req, SMS_SIG_HEADER, r->sig, sizeof(r->sig), NULL);
	return HTTPD_READ_BODY;
}

/* sms_signed - the form's signature; 0 (refused) or 1. */
static int sms_signed(struct sms *s, struct httpd_req *req, const struct sms_form *f)
{
	struct sms_req *r = httpd_req_data(req);
	const char *header = r->sig_rc == GW_OK ? r->sig : r->sig_rc == GW_ETOOBIG ? "!" : NULL;
	int v = sms_sig_verify(s->key, r->status_path ? s->status_url : s->url, f, header);

	if (v == SMS_SIG_OK)
		return 1;
	if (v == SMS_SIG_ERROR) {
		httpd_refuse(req, 503, "unavailable", "cannot compute the signature");
		return 0;
	}
	s->inst->counters[SMS_C_REFUSED].value++;
	httpd_refuse(req, 403, "forbidden", "X-Twilio-Signature %s (signed over %s and "
			     "the parameters)", sms_sig_result_name(v),
			     r->status_path ? "public_url + status_path" : "public_url + path");
	return 0;
}

/* ---- the customer's number ------------------------------------------------ */

/*
 * sms_note_contact - records, durably, the number the customer wrote to
 * and a STOP or START; nothing is written when nothing changed.
 */
static int sms_note_contact(struct sms *s, const struct sms_parsed *p)
{
	struct sms_contact c;
	int64_t now = gw_now_ms();
	int rc = sms_contacts_get(s->contacts, p->from, &c), changed = rc != GW_OK;
	const char *sid = p->ev.u.message.external_id;

	if (rc != GW_OK && rc != GW_ENOTFOUND && rc != GW_EPROTO)
		return rc;
	if (strcmp(c.number, p->to) != 0) {
		snprintf(c.number, sizeof(c.number), "%s", p->to);
		changed = 1;
	}
	if ((p->keyword == SMS_KW_STOP) != c.opted_out && p->keyword != SMS_KW_NONE) {
		c.opted_out = p->keyword == SMS_KW_STOP;
		c.changed_at = now;
		changed = 1;
		s->inst->counters[c.opted_out ? SMS_C_OPT_OUTS : SMS_C_OPT_INS].value++;
		GW_INFO(s->inst->log_module, "message %s: the customer opted %s (%s)", sid,
			c.opted_out ? "out: no reply goes to that number until START" : "back in",
			c.opted_out ? "STOP" : "START");
	}
	if (!changed)
		return GW_OK;
	c.updated_at = now;
	return sms_contacts_put(s->contacts, p->from, &c);
}

/* ---- queueing --------------------------------------------------------------- */

/* sms_queue - the event into the outbox, counted as `counter`; the answer
 * waits for its commit. A NULL req: Twilio has hung up during the media
 * download; the message is stored all the same (Twilio does not send it
 * again), unanswered. */
static void sms_queue(struct sms *s, struct httpd_req *req, const struct proto_event *ev,
		      enum sms_counter counter)
{
	struct proto_error perr;
	/* Over its sender's limits the message is held in the quarantine, in
	 * the same commit (connectors/intake.h); Twilio is told it arrived. */
	int rc = intake_add(s->inst, ev, &perr, NULL);

	if (!req) {
		if (rc == GW_OK)
			s->inst->counters[counter].value++;
		else
			GW_WARN(s->inst->log_module, "message %s, held for its media: not stored: "
				"%s", ev->u.message.external_id, gw_strerror(rc));
		return;
	}
	if (rc == GW_OK) {
		s->inst->counters[counter].value++;
		httpd_defer_as(req, 200, SMS_TWIML_TYPE, SMS_TWIML);
	} else if (perr.message[0] && rc != GW_ENOMEM)
		httpd_refuse(req, 400, "invalid_event", "%s", perr.message);
	else if (rc == GW_ETOOBIG)
		httpd_refuse(req, 413, "too_large", "the message is too large to be stored");
	else
		httpd_refuse(req, 503, "unavailable", "cannot queue the event: %s",
			     rc == GW_EFULL ? "the spool is full" : gw_strerror(rc));
}

/*
 * sms_parse_refuse - a signed form that makes no event: another account's
 * (403, not kept), or unreadable (a parameter missing, malformed or over
 * its limit): kept byte for byte in the quarantine with the path it came
 * to, and Twilio answered the empty TwiML once that is durable (it would
 * otherwise retry, then give up on the message); 400 only when it cannot
 * be kept.
 */
static void sms_parse_refuse(struct sms *s, struct httpd_req *req, const char *body,
			     size_t len, const struct sms_parse_error *err)
{
	const struct sms_req *r = httpd_req_data(req);
	const char *why = err->message[0] ? err->message : gw_strerror(err->code);

	if (err->code == GW_EAUTH) {
		s->inst->counters[SMS_C_REFUSED].value++;
		httpd_refuse(req, 403, "forbidden", "%s", why);
		return;
	}
	if (err->code == GW_ENOMEM || err->code == GW_EIO) {
		httpd_refuse(req, 503, "unavailable", "%s", why);
		return;
	}
	s->inst->stats.unreadable++;
	if (intake_keep(s->inst, why, r->status_path ? SMS_KEPT_STATUS_TYPE : SMS_FORM_TYPE, body,
			len) == GW_OK) {
		GW_WARN(s->inst->log_module, "a signed %s that cannot be read is kept in the "
			"quarantine: %s", r->status_path ? "status callback" : "message", why);
		httpd_defer_as(req, 200, SMS_TWIML_TYPE, SMS_TWIML);
		return;
	}
	httpd_refuse(req, 400, "invalid_request", "%s", why);
}

/* sms_hold_for_media - the message waits for its files (the answer with
 * it); a busy downloader: queued at once with its URLs. */
static void sms_hold_for_media(struct sms *s, struct httpd_req *req, struct sms_parsed *p)
{
	uint64_t ticket = httpd_hold(req);
	int rc = sms_media_submit(s->media, ticket, p);

	if (rc == GW_OK)
		return;
	GW_WARN(s->inst->log_module, "media downloader busy (%s): message %s keeps its media "
		"URLs", gw_strerror(rc), p->ev.u.message.external_id);
	sms_queue(s, httpd_resume(s->httpd, ticket), &p->ev, SMS_C_MESSAGES);
}

/* sms_take - a signed webhook: its event queued, or nothing for a status
 * that makes none (answered at once). */
static void sms_take(struct sms *s, struct httpd_req *req, const struct sms_form *f,
		     const char *body, size_t len)
{
	const struct sms_req *r = httpd_req_data(req);
	struct sms_parse_meta meta = {"sms", s->account, s->set->account_sid, gw_now_ms()};
	struct sms_parse_error err;
	struct sms_parsed p;
	int rc;

	if (sms_parse(f, &meta, r->status_path, &p, &err) != GW_OK) {
		sms_parse_refuse(s, req, body, len, &err);
		return;
	}
	if (p.what == SMS_WH_IGNORED) {
		GW_DEBUG(s->inst->log_module, "status callback \"%s\": no event", p.status);
		httpd_answer(req, 200, SMS_TWIML_TYPE, SMS_TWIML, strlen(SMS_TWIML));
		return;
	}
	rc = p.what == SMS_WH_MESSAGE ? sms_note_contact(s, &p) : GW_OK;
	if (rc == GW_OK && sms_media_wanted(s->media, &p) > 0)
		sms_hold_for_media(s, req, &p);
	else if (rc == GW_OK)
		sms_queue(s, req, &p.ev,
			  p.what == SMS_WH_MESSAGE ? SMS_C_MESSAGES : SMS_C_STATUSES);
	else
		httpd_refuse(req, 503, "unavailable", "cannot record the customer's number: %s",
			     gw_strerror(rc));
	sms_parsed_clear(&p);
}

static void sms_on_body(void *arg, struct httpd_req *req, const char *body, size_t len)
{
	struct sms *s = arg;
	struct sms_form f = {0};
	char why[160];
	int rc = sms_form_parse(body, len, &f, why, sizeof(why));

	if (rc == GW_ENOMEM) {
		httpd_refuse(req, 503, "unavailable", "out of memory");
		return;
	}
	if (rc != GW_OK) {
		httpd_refuse(req, 400, "invalid_form", "%s", why);
		return;
	}
	if (sms_signed(s, req, &f))
		sms_take(s, req, &f, body, len);
	sms_form_clear(&f);
}

/* Replies or downloads finished (their worker woke the loop), or the
 * tick: replies reported, messages whose files are in stored. */
static void sms_on_wake(void *arg)
{
	struct sms *s = arg;
	struct sms_parsed p;
	uint64_t ticket;

	sms_replies_poll(s->replies);
	if (!s->media)
		return;
	sms_media_count(s->media, &s->inst->counters[SMS_C_MEDIA_STORED].value,
			&s->inst->counters[SMS_C_MEDIA_FAILED].value);
	while (sms_media_take_done(s->media, &ticket, &p)) {
		sms_queue(s, httpd_resume(s->httpd, ticket), &p.ev, SMS_C_MESSAGES);
		sms_parsed_clear(&p);
	}
}

static const struct httpd_handlers sms_handlers = {
	.on_request = sms_on_request,
	.on_body = sms_on_body,
	.on_wake = sms_on_wake,
	.on_tick = sms_on_wake,
};

/* ---- the connector type -------------------------------------------------- */

static int sms_listen(struct sms *s)
{
	struct httpd_options opt = {
		.listen = s->set->listen,
		.max_body_bytes = s->set->max_body_bytes,
		.max_connections = s->set->max_connections,
		.limits = &s->set->limits,
		.req_data_size = sizeof(struct sms_req),
		.endpoint = s->set->path,
		.inst = s->inst,
		.handlers = &sms_handlers,
		.arg = s,
	};

	return httpd_create(&opt, &s->httpd);
}

static void sms_wake(void *arg)
{
	httpd_wake(arg);
}

/* sms_urls - the URLs Twilio signs: public_url + each path. */
static int sms_urls(struct sms *s)
{
	int a = snprintf(s->url, sizeof(s->url), "%s%s", s->set->public_url, s->set->path);
	int b = snprintf(s->status_url, sizeof(s->status_url), "%s%s", s->set->public_url,
			 s->set->status_path);

	if (a < 0 || b < 0 || (size_t)a >= sizeof(s->url) || (size_t)b >= sizeof(s->status_url)) {
		GW_ERROR(s->inst->log_module, "public_url and a path make a URL over %d bytes",
			 SMS_SIG_URL_MAX);
		return GW_ECONFIG;
	}
	return GW_OK;
}

static int sms_open_contacts(struct sms *s)
{
	char dir[SMS_STATE_PATH_MAX];
	int n = snprintf(dir, sizeof(dir), "%s/sms/%s", s->inst->config->state_dir,
			 s->inst->conf->name);

	if (n < 0 || (size_t)n >= sizeof(dir))
		return GW_EINVAL;
	return sms_contacts_open(dir, (size_t)s->set->contacts_map_mb * 1024u * 1024u,
				 &s->contacts);
}

static void sms_counters_init(struct connector_instance *inst)
{
	static const char *const names[SMS_C__COUNT] = {
		"messages", "statuses", "opt_outs", "opt_ins", "refused", "stopped",
		"media_stored", "media_failed", "segments",
	};

	for (size_t i = 0; i < SMS_C__COUNT && i < CONNECTOR_COUNTERS_MAX; i++)
		inst->counters[i].name = names[i];
}

static int sms_start_replies(struct sms *s)
{
	struct sms_replies_options opt = {
		.inst = s->inst,
		.set = s->set,
		.account = s->account,
		.contacts = s->contacts,
		.wake = sms_wake,
		.wake_arg = s->httpd,
	};

	return sms_replies_create(&opt, &s->replies);
}

static int sms_start_media(struct sms *s)
{
	char dir[SMS_STATE_PATH_MAX];
	struct sms_media_options opt = {
		.dir = dir,
		.api_base = s->set->api_base,
		.account_sid = s->set->account_sid,
		.auth_token = s->set->auth_token,
		.max_bytes = s->set->media_max_bytes,
		.log_module = s->inst->log_module,
		.notify = sms_wake,
		.arg = s->httpd,
	};
	int n = snprintf(dir, sizeof(dir), "%s/attachments", s->inst->config->state_dir);

	if (n < 0 || (size_t)n >= sizeof(dir))
		return GW_EINVAL;
	GW_INFO(s->inst->log_module, "MMS files download into %s", dir);
	return sms_media_create(&opt, &s->media);
}

static int sms_create(struct connector_instance *inst)
{
	struct sms *s = calloc(1, sizeof(*s));
	int rc;

	inst->ctx = s;
	if (!s)
		return GW_ENOMEM;
	s->inst = inst;
	s->set = inst->settings;
	s->account = s->set->account && s->set->account[0] ? s->set->account : inst->conf->name;
	sms_counters_init(inst);
	s->key = sms_sig_key_new(s->set->auth_token, strlen(s->set->auth_token));
	if (!s->key) {
		GW_ERROR(inst->log_module, "cannot set up HMAC-SHA1 for the auth token");
		return GW_ENOMEM;
	}
	rc = sms_urls(s);
	/* An account of its own is announced, so that the router hands its
	 * replies to this instance also before a customer writes again. */
	if (rc == GW_OK && strcmp(s->account, inst->conf->name) != 0)
		rc = outbox_serve(inst->outbox, "sms", s->account);
	if (rc == GW_OK)
		rc = sms_open_contacts(s);
	if (rc == GW_OK)
		rc = sms_listen(s);
	if (rc == GW_OK)
		rc = sms_start_replies(s);
	if (rc == GW_OK && s->set->media_download)
		rc = sms_start_media(s);
	if (rc == GW_OK)
		GW_INFO(inst->log_module, "Twilio signs %s and %s", s->url, s->status_url);
	return rc;
}

static int sms_run(struct connector_instance *inst)
{
	struct sms *s = inst->ctx;

	return httpd_run(s->httpd);
}

static void sms_destroy(struct connector_instance *inst)
{
	struct sms *s = inst->ctx;

	if (!s)
		return;
	/* The sender and the downloader first: their wake calls into httpd. */
	sms_replies_destroy(s->replies);
	sms_media_destroy(s->media);
	httpd_destroy(s->httpd);
	sms_contacts_close(s->contacts);
	sms_sig_key_free(s->key);
	free(s);
	inst->ctx = NULL;
}

/* The deliver op: replies through Twilio's Messages resource (sms_reply.c). */
static int sms_deliver(struct connector_instance *inst, const void *event, size_t len,
		       uint64_t delivery_id)
{
	struct sms *s = inst->ctx;

	return sms_replies_deliver(s->replies, event, len, delivery_id);
}

/*
 * The reingest op: a kept form read again (intake.h) as the path it came to
 * reads it; a message records its customer's number as on arrival; media
 * URLs stay URLs (no download). A status callback that makes no event is
 * done with.
 */
static int sms_reingest(struct connector_instance *inst, const char *content_type,
			const void *body, size_t len, char *why, size_t whylen)
{
	struct sms *s = inst->ctx;
	struct sms_parse_meta meta = {"sms", s->account, s->set->account_sid, gw_now_ms()};
	int status_path = strcmp(content_type, SMS_KEPT_STATUS_TYPE) == 0;
	struct sms_form f = {0};
	struct sms_parse_error err = {0};
	struct sms_parsed p = {0};
	struct proto_error perr = {0};
	int rc = sms_form_parse(body, len, &f, why, whylen);

	if (rc != GW_OK)
		goto out;
	rc = sms_parse(&f, &meta, status_path, &p, &err);
	if (rc != GW_OK) {
		snprintf(why, whylen, "%s", err.message[0] ? err.message : gw_strerror(rc));
		goto out;
	}
	if (p.what == SMS_WH_IGNORED)
		goto out;
	rc = p.what == SMS_WH_MESSAGE ? sms_note_contact(s, &p) : GW_OK;
	if (rc == GW_OK)
		rc = intake_add(inst, &p.ev, &perr, NULL);
	if (rc != GW_OK)
		snprintf(why, whylen, "%s", perr.message[0] ? perr.message : gw_strerror(rc));
out:
	sms_parsed_clear(&p);
	sms_form_clear(&f);
	return rc;
}

const struct connector_type connector_sms = {
	.name = "sms",
	.channel = "sms",
	.conf = &sms_conf_type,
	.create = sms_create,
	.run = sms_run,
	.destroy = sms_destroy,
	.deliver = sms_deliver,
	.reingest = sms_reingest,
};

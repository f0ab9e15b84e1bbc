/*
 * telegram.c - the `telegram` connector type: one bot
 * (docs/channels/telegram.md).
 *
 * Updates arrive one of two ways, as `mode` says:
 *   polling   getUpdates with a durable offset (tg_poll.c): no public URL
 *   webhook   Telegram POSTs each Update to `path` on the shared HTTP
 *             server (httpd.h):
 *               X-Telegram-Bot-Api-Secret-Token checked first, in constant
 *               time (tg_secret.c): 401 when missing or wrong, 400 when
 *               malformed, nothing parsed
 *               not an Update at all: 400, counted unreadable
 *               else its event queued in the outbox, and the answer waits
 *               for the group commit: 200 once durable, 503 otherwise
 *               (Telegram delivers it again; the router deduplicates)
 * Either way one Update makes at most one event (tg_parse.c); with
 * file_download its files are fetched first (tg_files.c), the request
 * held meanwhile. Replies go out through the shared sender (tg_reply.c).
 *
 * Threading: everything runs on the thread that calls run(), but the file
 * downloads and the replies' transfers, which run on their workers.
 */
#include "connectors/telegram/telegram.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/httpd.h"
#include "connectors/intake.h"
#include "connectors/outbox.h"
#include "connectors/telegram/telegram_int.h"
#include "connectors/telegram/tg_files.h"
#include "connectors/telegram/tg_poll.h"
#include "connectors/telegram/tg_reply.h"
#include "connectors/telegram/tg_secret.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define TG_WEBHOOK_FILES_BUDGET_MS 15000 /* Telegram waits about a minute */
#define TG_POLL_FILES_BUDGET_MS 60000

struct telegram {
	struct connector_instance *inst;
	const struct telegram_settings *set;
	char bot_id[TG_BOT_ID_MAX + 1];
	const char *account;
	size_t secret_len;
	struct httpd *httpd;         /* webhook mode */
	struct tg_poll *poll;        /* polling mode */
	struct tg_files *files;      /* NULL unless file_download */
	struct tg_replies *replies;
};

/* Per-request scratch (httpd_req_data): the secret header, copied early. */
struct tg_req {
	int secret_rc; /* httpd_req_header's: GW_OK, GW_ENOTFOUND, GW_ETOOBIG */
	size_t secret_len;
	char secret[TG_SECRET_TOKEN_MAX + 2];
};

/* ---- shared by both modes (telegram_int.h) ------------------------------------- */

void tg_counters_init(struct connector_instance *inst)
{
	static const char *const names[TG_C__COUNT] = {
		"updates", "blocked", "unblocked", "conflicts", "rate_limited", "files_stored",
		"files_failed",
	};

	for (size_t i = 0; i < TG_C__COUNT && i < CONNECTOR_COUNTERS_MAX; i++)
		inst->counters[i].name = names[i];
}

void tg_note(struct connector_instance *inst, const struct tg_events *evs)
{
	inst->counters[TG_C_UPDATES].value += evs->updates;
	inst->counters[TG_C_BLOCKED].value += evs->blocked;
	inst->counters[TG_C_UNBLOCKED].value += evs->unblocked;
	inst->stats.unreadable += evs->unreadable;
	inst->stats.dropped += evs->dropped;
	if (evs->unreadable)
		GW_WARN(inst->log_module, "%zu update%s could not be read: %zu kept as unknown, "
			"%zu dropped; first: %s", evs->unreadable, evs->unreadable > 1 ? "s" : "",
			evs->unreadable - evs->dropped, evs->dropped, evs->unreadable_why);
	if (evs->blocked)
		GW_INFO(inst->log_module, "%zu user%s blocked the bot: replies to them fail until "
			"they unblock it", evs->blocked, evs->blocked > 1 ? "s" : "");
}

int tg_queue(struct connector_instance *inst, const struct tg_events *evs, size_t *queued)
{
	struct outbox *ob = inst->outbox;
	size_t mark = outbox_queued(ob);
	struct proto_error perr;
	int rc = GW_OK;

	*queued = 0;
	for (size_t i = 0; i < evs->n; i++) {
		/* Over its sender's limits an event is held in the quarantine,
		 * in the same commit (connectors/intake.h). */
		rc = intake_add(inst, &evs->ev[i], &perr, NULL);
		if (rc != GW_OK && rc != GW_ENOMEM && perr.message[0]) {
			/* The parser keeps every value within its limit: a bug. */
			inst->stats.unreadable++;
			inst->stats.dropped++;
			GW_ERROR(inst->log_module, "an event of update %lld does not encode, "
				 "dropped: %s", (long long)evs->max_update_id, perr.message);
			rc = GW_OK;
			continue;
		}
		if (rc != GW_OK) {
			outbox_rollback(ob, mark);
			*queued = 0;
			return rc;
		}
		(*queued)++;
	}
	return GW_OK;
}

/* ---- webhook mode ----------------------------------------------------------------- */

static int tg_on_request(void *arg, struct httpd_req *req)
{
	struct telegram *t = arg;
	struct tg_req *r = httpd_req_data(req);

	if (strcmp(httpd_req_path(req), t->set->path) != 0) {
		httpd_refuse(req, 404, "not_found", "no such endpoint");
		return HTTPD_ANSWERED;
	}
	if (httpd_req_method(req) != HTTPD_M_POST) {
		httpd_allow(req, "POST");
		httpd_refuse(req, 405, "method_not_allowed", "%s allows only POST", t->set->path);
		return HTTPD_ANSWERED;
	}
	/* Headers are read here: the body arrives after them. */
	r->secret_rc = httpd_req_header(req, TG_SECRET_HEADER, r->secret, sizeof(r->secret),
					&r->secret_len);
	return HTTPD_READ_BODY;
}

/* tg_authentic - the secret token matches; else req is refused. */
static int tg_authentic(struct telegram *t, struct httpd_req *req)
{
	struct tg_req *r = httpd_req_data(req);
	enum tg_secret_result v;

	if (r->secret_rc == GW_ETOOBIG)
		v = TG_SECRET_MALFORMED;
	else
		v = tg_secret_verify(t->set->secret_token, t->secret_len,
				     r->secret_rc == GW_OK ? r->secret : NULL, r->secret_len);
	if (v == TG_SECRET_OK)
		return 1;
	if (v == TG_SECRET_MALFORMED)
		httpd_refuse(req, 400, "invalid_secret_token",
			     "X-Telegram-Bot-Api-Secret-Token malformed");
	else
		httpd_refuse(req, 401, "unauthorized", "X-Telegram-Bot-Api-Secret-Token %s",
			     tg_secret_result_name(v));
	return 0;
}

/* tg_webhook_queue - the events of one Update into the outbox, then the
 * answer deferred to the group commit. Takes evs. */
static void tg_webhook_queue(struct telegram *t, struct httpd_req *req, struct tg_events *evs)
{
	char json[96];
	size_t queued = 0;
	int rc = tg_queue(t->inst, evs, &queued);

	if (rc != GW_OK)
		httpd_refuse(req, 503, "unavailable", "cannot queue the update: %s",
			     rc == GW_EFULL ? "the spool is full" : gw_strerror(rc));
	else if (queued == 0)
		httpd_answer(req, 200, "application/json", "{\"status\":\"accepted\",\"events\":0}",
			     33);
	else {
		snprintf(json, sizeof(json), "{\"status\":\"accepted\",\"events\":%zu}", queued);
		httpd_defer(req, 200, json);
	}
	tg_events_clear(evs);
}

/*
 * tg_refuse_kept - an authentic body that is not an Update: kept in the
 * quarantine and answered 200 once durable (Telegram would send it again),
 * or refused 400 when it cannot be kept.
 */
static void tg_refuse_kept(struct telegram *t, struct httpd_req *req, const char *body,
			   size_t len, const char *why)
{
	if (intake_keep(t->inst, why, "application/json", body, len) == GW_OK) {
		GW_WARN(t->inst->log_module, "a webhook body that is not an Update is kept in the "
			"quarantine: %s", why);
		httpd_defer(req, 200, "{\"status\":\"kept\",\"events\":0}");
		return;
	}
	httpd_refuse(req, 400, "invalid_update", "%s", why);
}

static void tg_on_body(void *arg, struct httpd_req *req, const char *body, size_t len)
{
	struct telegram *t = arg;
	struct tg_parse_opts o = {t->account, gw_now_ms(), t->bot_id};
	struct tg_events evs;
	struct tg_parse_error err;
	uint64_t ticket;

	if (!tg_authentic(t, req))
		return;
	if (tg_parse_update(body, len, &o, &evs, &err) != GW_OK) {
		if (err.code == GW_ENOMEM || err.code == GW_EIO) {
			httpd_refuse(req, 503, "unavailable", "%s", err.message);
			return;
		}
		t->inst->stats.unreadable++;
		tg_refuse_kept(t, req, body, len, err.message);
		return;
	}
	tg_note(t->inst, &evs);
	if (!t->files || tg_files_wanted(t->files, &evs) == 0) {
		tg_webhook_queue(t, req, &evs);
		return;
	}
	ticket = httpd_hold(req);
	if (tg_files_submit(t->files, ticket, &evs) == GW_OK)
		return;
	GW_WARN(t->inst->log_module, "file downloader busy: the update keeps its file_ids");
	tg_webhook_queue(t, httpd_resume(t->httpd, ticket), &evs);
}

/* tg_counters_files - the downloader's counters into the status file. */
static void tg_counters_files(struct telegram *t)
{
	struct dl_stats fs;

	tg_files_stats(t->files, &fs);
	t->inst->counters[TG_C_FILES_STORED].value = fs.stored;
	t->inst->counters[TG_C_FILES_FAILED].value = fs.failed;
}

/* Replies or downloads finished (their workers woke the loop), or the tick. */
static void tg_on_wake(void *arg)
{
	struct telegram *t = arg;
	struct tg_events evs;
	uint64_t ticket;

	tg_replies_poll(t->replies);
	memset(&evs, 0, sizeof(evs));
	while (t->files && tg_files_take_done(t->files, &ticket, &evs)) {
		struct httpd_req *req = httpd_resume(t->httpd, ticket);

		if (req) {
			tg_webhook_queue(t, req, &evs);
			continue;
		}
		GW_INFO(t->inst->log_module, "webhook connection closed during its downloads; "
			"the update waits for Telegram to deliver it again");
		tg_events_clear(&evs);
	}
	tg_counters_files(t);
}

static const struct httpd_handlers tg_handlers = {
	.on_request = tg_on_request,
	.on_body = tg_on_body,
	.on_wake = tg_on_wake,
	.on_tick = tg_on_wake,
};

static int tg_listen(struct telegram *t)
{
	struct httpd_options opt = {
		.listen = t->set->listen,
		.max_body_bytes = t->set->max_body_bytes,
		.max_connections = t->set->max_connections,
		.limits = &t->set->limits,
		.req_data_size = sizeof(struct tg_req),
		.endpoint = t->set->path,
		.inst = t->inst,
		.handlers = &tg_handlers,
		.arg = t,
	};

	return httpd_create(&opt, &t->httpd);
}

/* ---- the connector type ------------------------------------------------------------ */

/* A worker finished something: the loop of either mode polls soon. */
static void tg_notify(void *arg)
{
	struct telegram *t = arg;

	if (t->httpd)
		httpd_wake(t->httpd);
	else
		tg_poll_wake(t->poll);
}

/* The polling loop's tick: replies. */
static void tg_tick(void *arg)
{
	struct telegram *t = arg;

	tg_replies_poll(t->replies);
}

static int tg_start_files(struct telegram *t, long long budget_ms)
{
	char dir[4096];
	struct tg_files_options opt = {
		.api_url = t->set->api_url,
		.token = t->set->token,
		.dir = dir,
		.max_bytes = t->set->file_max_bytes,
		.budget_ms = budget_ms,
		.log_module = t->inst->log_module,
		.notify = tg_notify,
		.arg = t,
	};
	int n = snprintf(dir, sizeof(dir), "%s/attachments", t->inst->config->state_dir);

	if (n < 0 || (size_t)n >= sizeof(dir))
		return GW_EINVAL;
	GW_INFO(t->inst->log_module, "files downloaded into %s (at most %lld bytes each)", dir,
		t->set->file_max_bytes);
	return tg_files_create(&opt, &t->files);
}

static int tg_start_replies(struct telegram *t)
{
	struct tg_replies_options opt = {
		.inst = t->inst,
		.set = t->set,
		.account = t->account,
		.wake = tg_notify,
		.wake_arg = t,
	};

	return tg_replies_create(&opt, &t->replies);
}

static int tg_start_poll(struct telegram *t)
{
	struct tg_poll_options opt = {
		.inst = t->inst,
		.set = t->set,
		.bot_id = t->bot_id,
		.account = t->account,
		.files = t->files,
		.tick = tg_tick,
		.arg = t,
	};

	return tg_poll_create(&opt, &t->poll);
}

static int tg_create(struct connector_instance *inst)
{
	struct telegram *t = calloc(1, sizeof(*t));
	int webhook, rc;

	inst->ctx = t;
	if (!t)
		return GW_ENOMEM;
	t->inst = inst;
	t->set = inst->settings;
	webhook = telegram_mode(t->set) == TG_MODE_WEBHOOK;
	if (telegram_bot_id(t->set->token, t->bot_id, sizeof(t->bot_id)) != GW_OK)
		return GW_ECONFIG; /* the config check refused it already */
	/* The instance name by default: the account the router learns from the
	 * connector's hello, so that replies find it before any update came. */
	t->account = t->set->account && t->set->account[0] ? t->set->account : inst->conf->name;
	t->secret_len = t->set->secret_token ? strlen(t->set->secret_token) : 0;
	tg_counters_init(inst);
	/* The loop of webhook mode first: the workers wake it. */
	rc = webhook ? tg_listen(t) : GW_OK;
	if (rc == GW_OK && t->set->file_download)
		rc = tg_start_files(t, webhook ? TG_WEBHOOK_FILES_BUDGET_MS
					       : TG_POLL_FILES_BUDGET_MS);
	if (rc == GW_OK)
		rc = tg_start_replies(t);
	if (rc == GW_OK && !webhook)
		rc = tg_start_poll(t);
	if (rc == GW_OK)
		GW_INFO(inst->log_module, "bot %s, account %s, %s mode", t->bot_id, t->account,
			webhook ? "webhook" : "polling");
	return rc;
}

static int tg_run(struct connector_instance *inst)
{
	struct telegram *t = inst->ctx;

	return t->httpd ? httpd_run(t->httpd) : tg_poll_run(t->poll);
}

static void tg_destroy(struct connector_instance *inst)
{
	struct telegram *t = inst->ctx;

	if (!t)
		return;
	/* The workers first: they wake the loop until joined. */
	tg_replies_destroy(t->replies);
	tg_files_destroy(t->files);
	tg_poll_destroy(t->poll);
	httpd_destroy(t->httpd);
	free(t);
	inst->ctx = NULL;
}

/* The deliver op: replies through the Bot API (tg_reply.c). */
static int tg_deliver(struct connector_instance *inst, const void *event, size_t len,
		      uint64_t delivery_id)
{
	struct telegram *t = inst->ctx;

	return tg_replies_deliver(t->replies, event, len, delivery_id);
}

/* The reingest op: a kept webhook body parsed again (intake.h); file_ids
 * stay ids (no download). */
static int tg_reingest(struct connector_instance *inst, const char *content_type,
		       const void *body, size_t len, char *why, size_t whylen)
{
	struct telegram *t = inst->ctx;
	struct tg_parse_opts o = {t->account, gw_now_ms(), t->bot_id};
	struct tg_events evs;
	struct tg_parse_error err;
	struct proto_error perr;
	int rc;

	(void)content_type;
	rc = tg_parse_update(body, len, &o, &evs, &err);
	if (rc != GW_OK) {
		snprintf(why, whylen, "%s", err.message[0] ? err.message : gw_strerror(rc));
		return rc;
	}
	for (size_t i = 0; rc == GW_OK && i < evs.n; i++) {
		rc = intake_add(inst, &evs.ev[i], &perr, NULL);
		if (rc != GW_OK)
			snprintf(why, whylen, "%s", perr.message[0] ? perr.message : gw_strerror(rc));
	}
	tg_events_clear(&evs);
	return rc;
}

const struct connector_type connector_telegram = {
	.name = "telegram",
	.channel = TG_CHANNEL,
	.conf = &telegram_conf_type,
	.create = tg_create,
	.run = tg_run,
	.destroy = tg_destroy,
	.deliver = tg_deliver,
	.reingest = tg_reingest,
};

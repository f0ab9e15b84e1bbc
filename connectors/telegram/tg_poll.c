/*
 * tg_poll.c - polling mode (tg_poll.h): getUpdates on a curl multi handle,
 * the answer made durable by the group commit (connectors/commit.h: on the
 * outbox's commit thread, which wakes the multi handle), then the offset.
 */
#include "connectors/telegram/tg_poll.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "connectors/commit.h"
#include "connectors/curl_err.h"
#include "connectors/outbox.h"
#include "connectors/provider_calls.h"
#include "connectors/runtime.h"
#include "connectors/telegram/telegram_int.h"
#include "connectors/telegram/tg_api.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/telegram_state.h"

#define TG_POLL_PATH_MAX 4096
#define TG_POLL_URL_MAX (TG_URL_MAX + TG_TOKEN_MAX + 64)
#define TG_BACKOFF_MIN_MS 1000
#define TG_BACKOFF_MAX_MS 30000
#define TG_CONNECT_MS 10000
#define TG_POLL_SLACK_S 15      /* beyond `timeout` before a poll is given up */
#define TG_FILES_BUDGET_MS 60000
#define TG_POLL_USER_AGENT "omnigate-telegram/1"

enum tg_poll_state { TG_P_IDLE = 0, TG_P_POLLING, TG_P_FILES, TG_P_COMMITTING };

struct tg_poll {
	struct connector_instance *inst;
	const struct telegram_settings *set;
	const char *bot, *account, *module;
	struct tg_files *files;
	void (*tick)(void *arg);
	void *arg;
	char state_path[TG_POLL_PATH_MAX];
	struct telegram_state st;
	CURLM *multi;
	CURL *easy;
	enum tg_poll_state state;
	struct gcommit *gc;   /* the answer's offset waits here (ack) */
	struct gcommit_waiter ack;
	size_t ack_updates;   /* of the answer being committed */
	int64_t ack_max_id;
	int64_t next_us;      /* idle: the next getUpdates not before */
	int64_t backoff_ms;   /* the last backoff, 0 after a success */
	int64_t sent_offset;  /* offset of the getUpdates in flight (0: none) */
	int small;            /* the last answer was too large: ask for 1 */
	int refused;          /* a refusal (409, 401) is being reported */
	int64_t pump_warn_us;
	char url[TG_POLL_URL_MAX];
	char *body;           /* the request in flight */
	struct curl_slist *headers;
	char *ans;            /* its answer, at most poll_max_bytes */
	size_t ans_len;
	int ans_over;
	char errbuf[CURL_ERROR_SIZE];
};

/* ---- the request ----------------------------------------------------------- */

static size_t tg_poll_write(char *d, size_t size, size_t n, void *arg)
{
	struct tg_poll *p = arg;
	size_t len = size * n;
	char *a;

	if (len > (size_t)p->set->poll_max_bytes - p->ans_len) {
		p->ans_over = 1;
		return 0;
	}
	a = realloc(p->ans, p->ans_len + len + 1);
	if (!a)
		return 0;
	memcpy(a + p->ans_len, d, len);
	p->ans = a;
	p->ans_len += len;
	p->ans[p->ans_len] = '\0';
	return len;
}

/* tg_poll_body - {"offset"?,"limit","timeout","allowed_updates"}. */
static char *tg_poll_body(struct tg_poll *p, int64_t offset)
{
	json_t *au = json_array();
	json_t *o = json_pack("{s:I,s:I,s:o}", "limit", (json_int_t)(p->small ? 1
								       : p->set->poll_limit),
			      "timeout", (json_int_t)p->set->poll_timeout_s, "allowed_updates", au);
	char *s = NULL;
	int rc = o ? 0 : -1;

	for (size_t i = 0; rc == 0 && i < p->set->allowed_updates.n; i++)
		rc = json_array_append_new(au, json_string(p->set->allowed_updates.v[i]));
	if (rc == 0 && offset > 0)
		rc = json_object_set_new(o, "offset", json_integer((json_int_t)offset));
	if (rc == 0)
		s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static int tg_poll_start(struct tg_poll *p)
{
	int64_t offset = telegram_state_request_offset(&p->st);
	CURL *e = p->easy;

	free(p->body);
	free(p->ans);
	p->ans = NULL;
	p->ans_len = 0;
	p->ans_over = 0;
	p->body = tg_poll_body(p, offset);
	if (!p->body)
		return GW_ENOMEM;
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, p->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, TG_POLL_USER_AGENT);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, p->body);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, tg_poll_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, p);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)TG_CONNECT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
			 (long)(p->set->poll_timeout_s + TG_POLL_SLACK_S) * 1000L);
	p->errbuf[0] = '\0';
	if (curl_multi_add_handle(p->multi, e) != CURLM_OK)
		return GW_EIO;
	p->sent_offset = offset;
	p->state = TG_P_POLLING;
	return GW_OK;
}

/* ---- outcomes --------------------------------------------------------------- */

/* tg_poll_later - idle until a backoff (doubling from 1 s to 30 s), or
 * `ms` when it is not negative. */
static void tg_poll_later(struct tg_poll *p, int64_t ms)
{
	if (ms < 0) {
		ms = p->backoff_ms ? p->backoff_ms * 2 : TG_BACKOFF_MIN_MS;
		if (ms > TG_BACKOFF_MAX_MS)
			ms = TG_BACKOFF_MAX_MS;
		p->backoff_ms = ms;
	}
	p->state = TG_P_IDLE;
	p->next_us = gw_mono_us() + ms * 1000;
}

/* tg_poll_refusal - getUpdates refused: the warning operators see, one log
 * line per episode, and when to ask again. */
static void tg_poll_refusal(struct tg_poll *p, long status, const struct tg_answer *a)
{
	struct connector_instance *inst = p->inst;
	const char *hint = "";

	if (status == 429) {
		inst->counters[TG_C_RATE_LIMITED].value++;
		GW_WARN(p->module, "getUpdates: 429 Too Many Requests; again in %lld s",
			(long long)(a->retry_after_s > 0 ? a->retry_after_s : 1));
		tg_poll_later(p, (a->retry_after_s > 0 ? a->retry_after_s : 1) * 1000);
		return;
	}
	if (status == 409) {
		inst->counters[TG_C_CONFLICTS].value++;
		hint = ": another program reads this bot's updates, or a webhook is set "
		       "(gatewayctl telegram delete-webhook)";
	} else if (status == 401 || status == 404) {
		hint = ": the Bot API refuses the token; check it with @BotFather";
	}
	/* A long description is cut: the warning is one line of status. */
	if (snprintf(inst->warning, sizeof(inst->warning), "getUpdates refused %ld%s%s%s%s",
		     status, a->description[0] ? " (" : "", a->description,
		     a->description[0] ? ")" : "", hint) >= (int)sizeof(inst->warning))
		gw_utf8_trim(inst->warning);
	tg_poll_later(p, -1);
	if (!p->refused)
		GW_WARN(p->module, "%s; polling again in %lld s, backing off to %d s while it lasts",
			inst->warning, (long long)p->backoff_ms / 1000, TG_BACKOFF_MAX_MS / 1000);
	p->refused = 1;
}

/* tg_poll_save - the offset moved: durable before the next getUpdates. */
static void tg_poll_save(struct tg_poll *p)
{
	int rc = telegram_state_save(p->state_path, p->bot, &p->st);

	if (rc != GW_OK)
		GW_ERROR(p->module, "cannot write %s: %s (the updates since the last write will "
			 "be read again after a restart)", p->state_path, gw_err_text(rc));
}

/* tg_poll_durable - the group commit of the answer ended: its offset
 * moves (durable before the next getUpdates confirms it), or the same
 * updates are asked for again after a backoff. */
static void tg_poll_durable(struct gcommit_waiter *w, int rc)
{
	struct tg_poll *p = (struct tg_poll *)(void *)((char *)w - offsetof(struct tg_poll, ack));

	if (rc != GW_OK) {
		p->state = TG_P_IDLE;
		tg_poll_later(p, -1);
		GW_WARN(p->module, "cannot make %zu updates durable: %s; asked for again in %lld s",
			p->ack_updates, rc == GW_EFULL ? "the spool is full" : gw_strerror(rc),
			(long long)p->backoff_ms / 1000);
		return;
	}
	p->inst->stats.accepted += p->ack_updates;
	if (telegram_state_advance(&p->st, p->ack_max_id) == 1)
		tg_poll_save(p);
	p->state = TG_P_IDLE;
	p->next_us = 0; /* at once: it confirms them and takes the next ones */
}

/* tg_poll_commit - the answer's events go to the group commit, its offset
 * waits for them (tg_poll_durable). Takes evs. */
static void tg_poll_commit(struct tg_poll *p, struct tg_events *evs)
{
	size_t queued = 0;
	int rc = tg_queue(p->inst, evs, &queued);

	p->ack_updates = evs->updates;
	p->ack_max_id = evs->max_update_id;
	tg_events_clear(evs);
	if (rc != GW_OK) {
		tg_poll_durable(&p->ack, rc);
		return;
	}
	p->state = TG_P_COMMITTING;
	gcommit_wait(p->gc, &p->ack, tg_poll_durable);
	(void)gcommit_run(p->gc); /* one answer per commit: no batching to wait for */
}

/* tg_poll_observe - the time of the getUpdates just ended, for /metrics:
 * called for the answers with updates and the errors only, since an empty
 * long poll measures the poll's timeout, not the provider. */
static void tg_poll_observe(struct tg_poll *p)
{
	curl_off_t took_us = 0;

	curl_easy_getinfo(p->easy, CURLINFO_TOTAL_TIME_T, &took_us);
	provider_call_observe(PROVIDER_CALL_TELEGRAM_GET_UPDATES, (double)took_us / 1e6);
}

/* tg_poll_answer - a getUpdates answered ok. */
static void tg_poll_answer(struct tg_poll *p)
{
	struct tg_parse_opts o = {p->account, gw_now_ms(), p->bot};
	struct tg_events evs;
	struct tg_parse_error err;

	if (p->refused)
		GW_INFO(p->module, "getUpdates answers again");
	p->refused = 0;
	p->inst->warning[0] = '\0';
	p->backoff_ms = 0;
	if (telegram_state_answered(&p->st, p->sent_offset) == 1)
		tg_poll_save(p);
	if (tg_parse_updates(p->ans, p->ans_len, &o, &evs, &err) != GW_OK) {
		tg_poll_observe(p);
		p->inst->stats.unreadable++;
		GW_WARN(p->module, "getUpdates answer unreadable: %s", err.message);
		tg_poll_later(p, -1);
		return;
	}
	p->small = 0;
	p->inst->stats.requests += evs.updates;
	tg_note(p->inst, &evs);
	if (evs.updates == 0 && evs.max_update_id < 0) {
		/* Nothing new: ask again at once (the long poll has waited), but
		 * not in a tight loop on short polls or on answers of junk. */
		tg_poll_later(p, evs.dropped ? -1 : p->set->poll_timeout_s == 0 ? 1000 : 0);
		tg_events_clear(&evs);
		return;
	}
	tg_poll_observe(p);
	if (p->files && tg_files_wanted(p->files, &evs) > 0 &&
	    tg_files_submit(p->files, 0, &evs) == GW_OK) {
		p->state = TG_P_FILES;
		return;
	}
	tg_poll_commit(p, &evs);
}

/*
 * tg_poll_failed - getUpdates ended in libcurl error `cc`, told by its
 * gw_err (gw_curl_err): a network failure doubles the wait; a certificate
 * libcurl cannot verify or an api_url it cannot use is a setting to fix,
 * and waits the longest at once.
 */
static void tg_poll_failed(struct tg_poll *p, CURLcode cc)
{
	int err = gw_curl_err(cc);
	int fix = err == GW_ETLS || err == GW_EINVAL;

	tg_poll_later(p, fix ? TG_BACKOFF_MAX_MS : -1);
	GW_WARN(p->module, "getUpdates: %s (%s%s); again in %lld s",
		p->errbuf[0] ? p->errbuf : curl_easy_strerror(cc), gw_strerror(err),
		fix ? ": check api_url and the system's CA store" : "",
		(long long)(fix ? TG_BACKOFF_MAX_MS : p->backoff_ms) / 1000);
}

/* tg_poll_done - the getUpdates in flight has ended. */
static void tg_poll_done(struct tg_poll *p, CURLcode cc)
{
	struct tg_answer a;
	long status = 0;

	curl_multi_remove_handle(p->multi, p->easy);
	curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
	if (p->ans_over || cc != CURLE_OK)
		tg_poll_observe(p); /* updates too many to hold, or an error */
	if (p->ans_over) {
		GW_WARN(p->module, "getUpdates answer over poll_max_bytes (%lld): %s",
			p->set->poll_max_bytes, p->small ? "one update alone is; raise poll_max_bytes"
							 : "asking for one update at a time");
		tg_poll_later(p, p->small ? -1 : 0);
		p->small = 1;
		return;
	}
	if (cc != CURLE_OK) {
		tg_poll_failed(p, cc);
		return;
	}
	tg_answer_parse(p->ans, p->ans_len, &a);
	if (status == 200 && a.ok) {
		tg_poll_answer(p);
	} else {
		tg_poll_observe(p);
		tg_poll_refusal(p, status == 200 ? a.error_code : status, &a);
	}
}

/* tg_poll_files - the answer's files are fetched: make it durable. */
static void tg_poll_files(struct tg_poll *p)
{
	struct tg_events evs;
	uint64_t ticket;

	memset(&evs, 0, sizeof(evs));
	if (tg_files_take_done(p->files, &ticket, &evs))
		tg_poll_commit(p, &evs);
}

/* ---- the loop ------------------------------------------------------------------- */

static void tg_poll_housekeeping(struct tg_poll *p)
{
	struct dl_stats fs;

	if (outbox_pump(p->inst->outbox) != GW_OK && gw_mono_us() >= p->pump_warn_us) {
		GW_WARN(p->module, "the outbox cannot send or delete entries (see above)");
		p->pump_warn_us = gw_mono_us() + 10000000;
	}
	if (p->tick)
		p->tick(p->arg);
	tg_files_stats(p->files, &fs);
	p->inst->counters[TG_C_FILES_STORED].value = fs.stored;
	p->inst->counters[TG_C_FILES_FAILED].value = fs.failed;
	connector_status_tick(p->inst);
}

static void tg_poll_turn(struct tg_poll *p)
{
	struct CURLMsg *msg;
	int running = 0, left = 0;

	if (p->state == TG_P_IDLE && gw_mono_us() >= p->next_us && tg_poll_start(p) != GW_OK) {
		GW_WARN(p->module, "cannot start a getUpdates (out of memory?)");
		tg_poll_later(p, -1);
	}
	curl_multi_poll(p->multi, NULL, 0, TG_POLL_TICK_MS, NULL);
	curl_multi_perform(p->multi, &running);
	while ((msg = curl_multi_info_read(p->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == p->easy)
			tg_poll_done(p, msg->data.result);
	if (p->state == TG_P_FILES)
		tg_poll_files(p);
	(void)gcommit_poll(p->gc);
	tg_poll_housekeeping(p);
}

int tg_poll_run(struct tg_poll *p)
{
	GW_INFO(p->module, "polling getUpdates (timeout %llds, limit %lld) from %s", p->set->
		poll_timeout_s, p->set->poll_limit, p->st.offset ? "the stored offset" : "the start");
	while (!connector_stopping())
		tg_poll_turn(p);
	/* An answer being committed: durable, and its offset saved. */
	(void)gcommit_flush(p->gc);
	return GW_OK;
}

void tg_poll_wake(struct tg_poll *p)
{
	if (p && p->multi)
		curl_multi_wakeup(p->multi);
}

/* ---- lifecycle -------------------------------------------------------------------- */

static int tg_poll_load(struct tg_poll *p)
{
	const char *sd = p->inst->config->state_dir;
	char dir[TG_POLL_PATH_MAX], why[256] = "";
	int fresh = 0, n, rc;

	n = snprintf(dir, sizeof(dir), "%s/telegram", sd);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return GW_EINVAL;
	if (gw_mkdir_p(dir) != GW_OK)
		return GW_EIO;
	n = snprintf(p->state_path, sizeof(p->state_path), "%s/%s.state", dir,
		     p->inst->conf->name);
	if (n < 0 || (size_t)n >= sizeof(p->state_path))
		return GW_EINVAL;
	rc = telegram_state_load(p->state_path, p->bot, &p->st, &fresh, why, sizeof(why));
	if (rc != GW_OK)
		GW_ERROR(p->module, "%s: %s; move it away to read the bot's pending updates from "
			 "the earliest Telegram still holds", p->state_path,
			 why[0] ? why : gw_strerror(rc));
	else if (!fresh)
		GW_INFO(p->module, "resuming at offset %lld%s", (long long)p->st.offset,
			p->st.confirmed ? " (confirmed)" : "");
	return rc;
}

/* The commit thread's wake: curl_multi_poll returns, the turn polls. */
static void tg_poll_wake_fn(void *arg)
{
	struct tg_poll *p = arg;

	curl_multi_wakeup(p->multi);
}

static int tg_poll_gcommit(struct tg_poll *p)
{
	struct gcommit_options g = {
		.outbox = p->inst->outbox,
		.log_module = p->module,
		.arg = p,
		.wake = tg_poll_wake_fn,
	};

	return gcommit_create(&g, &p->gc);
}

int tg_poll_create(const struct tg_poll_options *opt, struct tg_poll **out)
{
	struct tg_poll *p = calloc(1, sizeof(*p));
	int rc;

	*out = NULL;
	if (!p)
		return GW_ENOMEM;
	p->inst = opt->inst;
	p->set = opt->set;
	p->bot = opt->bot_id;
	p->account = opt->account;
	p->module = opt->inst->log_module;
	p->files = opt->files;
	p->tick = opt->tick;
	p->arg = opt->arg;
	rc = tg_poll_load(p);
	if (rc == GW_OK)
		rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? GW_OK : GW_EIO;
	if (rc == GW_OK)
		rc = tg_method_url(p->url, sizeof(p->url), p->set->api_url, p->set->token,
				   "getUpdates") == GW_OK ? GW_OK : GW_EINVAL;
	if (rc == GW_OK) {
		p->multi = curl_multi_init();
		p->easy = curl_easy_init();
		p->headers = curl_slist_append(NULL, "Content-Type: application/json");
		rc = p->multi && p->easy && p->headers ? GW_OK : GW_ENOMEM;
	}
	if (rc == GW_OK)
		rc = tg_poll_gcommit(p);
	if (rc != GW_OK) {
		tg_poll_destroy(p);
		return rc;
	}
	*out = p;
	return GW_OK;
}

void tg_poll_destroy(struct tg_poll *p)
{
	if (!p)
		return;
	/* Before the multi handle its wake reaches. */
	gcommit_close(p->gc);
	if (p->multi && p->easy)
		curl_multi_remove_handle(p->multi, p->easy);
	curl_easy_cleanup(p->easy);
	curl_multi_cleanup(p->multi);
	curl_slist_free_all(p->headers);
	OPENSSL_cleanse(p->url, sizeof(p->url));
	free(p->body);
	free(p->ans);
	free(p);
}

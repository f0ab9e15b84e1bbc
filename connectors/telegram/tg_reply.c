/*
 * tg_reply.c - replies through the Bot API's send methods (tg_reply.h).
 *
 * A job is one reply, copied out of its message.sent on the loop: the
 * chat, the message answered, the text and the attachments. Its steps are
 * one Telegram message each: the attachments in order, then the text
 * unless it rode as the first caption. Each attempt builds its request on
 * the sender's worker (a stored blob is read there, by libcurl's mime
 * reader, never on the loop) and frees it once judged.
 */
#include "connectors/telegram/tg_reply.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "connectors/outbox.h"
#include "connectors/telegram/tg_api.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/attachments.h"

#define TG_REPLY_PATH_MAX 4096
#define TG_REPLY_URL_MAX (TG_URL_MAX + TG_TOKEN_MAX + 64)
#define TG_REPLY_USER_AGENT "omnigate-telegram/1"

struct tg_replies {
	struct connector_instance *inst;
	const struct telegram_settings *set;
	const char *account;
	struct sender *sender;
	char attach_dir[TG_REPLY_PATH_MAX];
};

struct tg_att {
	char *ref;   /* "sha256:<hex>" or an http(s) URL */
	char *name;
	char *type;
};

struct tg_job {
	const struct tg_replies *r; /* borrowed: outlives its jobs */
	char chat[TG_CHAT_ID_MAX];
	int64_t reply_to;           /* 0: none */
	char *text;                 /* NULL: none */
	int caption;                /* the text is the first attachment's caption */
	struct tg_att *att;
	size_t n_att;
	int steps, ref_step;        /* ref_step: the message that is the reference */
	char ref[PROTO_MAX_EXTERNAL_ID + 1];
	/* this attempt's request */
	char url[TG_REPLY_URL_MAX];
	char *body;
	curl_mime *mime;
	struct curl_slist *headers;
};

/* ---- judging an answer (pure) ------------------------------------------------ */

static void tg_reason(struct sender_outcome *out, long status, const struct tg_answer *ans,
		      const char *hint)
{
	if (snprintf(out->reason, sizeof(out->reason), "Telegram answered %ld%s%s%s", status,
		     ans->description[0] ? ": " : "", ans->description, hint) >=
	    (int)sizeof(out->reason))
		gw_utf8_trim(out->reason);
}

void tg_reply_judge(const struct sender_attempt *a, int last, const char *account,
		    struct sender_outcome *out)
{
	struct tg_answer ans;
	long st = a->status;

	if (a->err != GW_OK) {
		out->verdict = SENDER_RETRY;
		snprintf(out->reason, sizeof(out->reason), "Telegram: %s",
			 a->error && a->error[0] ? a->error : gw_strerror(a->err));
		gw_utf8_trim(out->reason);
		return;
	}
	tg_answer_parse(a->body, a->body ? a->body_len : 0, &ans);
	if (st == 200 && ans.ok) {
		out->verdict = last ? SENDER_DONE : SENDER_NEXT;
		if (tg_answer_sent(a->body, a->body_len, out->ref_id, sizeof(out->ref_id)) != GW_OK)
			out->ref_id[0] = '\0';
		if (last)
			snprintf(out->ref_account, sizeof(out->ref_account), "%s", account);
	} else if (st == 429 || ans.error_code == 429) {
		out->verdict = SENDER_RETRY;
		out->slow_down = 1;
		out->retry_after_ms = ans.retry_after_s >= 0 ? ans.retry_after_s * 1000
				      : a->retry_after_ms > 0 ? a->retry_after_ms : 0;
		tg_reason(out, 429, &ans, "");
	} else if (st == 408 || st >= 500 || st < 200) {
		out->verdict = SENDER_RETRY;
		tg_reason(out, st, &ans, "");
	} else if (st == 401) {
		out->verdict = SENDER_FAIL;
		out->auth = 1;
		tg_reason(out, st, &ans, " (the bot's token is refused: check it with @BotFather)");
	} else {
		/* 403 (blocked by the user, kicked), 400 (chat not found, text too
		 * long, bad file), 404, 200 with ok false: for good. */
		out->verdict = SENDER_FAIL;
		tg_reason(out, st, &ans, "");
	}
}

/* ---- the job (worker thread) ----------------------------------------------------- */

static void tg_job_reset(struct tg_job *j)
{
	free(j->body);
	j->body = NULL;
	curl_mime_free(j->mime);
	j->mime = NULL;
	curl_slist_free_all(j->headers);
	j->headers = NULL;
	OPENSSL_cleanse(j->url, sizeof(j->url));
}

static void tg_job_free(void *arg)
{
	struct tg_job *j = arg;

	if (!j)
		return;
	tg_job_reset(j);
	for (size_t i = 0; i < j->n_att; i++) {
		free(j->att[i].ref);
		free(j->att[i].name);
		free(j->att[i].type);
	}
	free(j->att);
	free(j->text);
	free(j);
}

/* tg_is_photo - sent with sendPhoto: a still image Telegram shows as one. */
static int tg_is_photo(const struct tg_att *a)
{
	return strncasecmp(a->type, "image/", 6) == 0 && strcasecmp(a->type, "image/gif") != 0 &&
	       strncasecmp(a->type, "image/svg", 9) != 0;
}

/* tg_reply_params - {"message_id":N,"allow_sending_without_reply":true}. */
static json_t *tg_reply_params(const struct tg_job *j)
{
	return json_pack("{s:I,s:b}", "message_id", (json_int_t)j->reply_to,
			 "allow_sending_without_reply", 1);
}

/* tg_json_request - the step's fields as a JSON body. */
static int tg_json_request(struct tg_job *j, int step, const char *field, const char *value)
{
	json_t *o = json_pack("{s:I}", "chat_id", (json_int_t)strtoll(j->chat, NULL, 10));
	int rc = o ? 0 : -1;

	if (rc == 0)
		rc = json_object_set_new(o, field, json_string(value));
	if (rc == 0 && step == 0 && j->caption)
		rc = json_object_set_new(o, "caption", json_string(j->text));
	if (rc == 0 && step == 0 && j->reply_to)
		rc = json_object_set_new(o, "reply_parameters", tg_reply_params(j));
	if (rc == 0)
		j->body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!j->body)
		return GW_ENOMEM;
	j->headers = curl_slist_append(NULL, "Content-Type: application/json");
	return j->headers ? GW_OK : GW_ENOMEM;
}

/* tg_mime_text - a text part of the form. */
static int tg_mime_text(curl_mime *mime, const char *name, const char *value)
{
	curl_mimepart *p = curl_mime_addpart(mime);

	if (!p || curl_mime_name(p, name) != CURLE_OK ||
	    curl_mime_data(p, value, CURL_ZERO_TERMINATED) != CURLE_OK)
		return GW_ENOMEM;
	return GW_OK;
}

/* tg_mime_request - a stored blob uploaded as multipart/form-data. */
static int tg_mime_request(struct tg_job *j, CURL *h, int step, const struct tg_att *a,
			   const char *field, char *why, size_t whylen)
{
	char path[TG_REPLY_PATH_MAX], *rp = NULL;
	curl_mimepart *p;
	int rc;

	if (attach_path(j->r->attach_dir, a->ref + strlen(ATTACH_REF_PREFIX), path,
			sizeof(path)) != GW_OK) {
		snprintf(why, whylen, "attachment \"%.64s\": not a stored file", a->name);
		return GW_EINVAL;
	}
	j->mime = curl_mime_init(h);
	rc = j->mime ? tg_mime_text(j->mime, "chat_id", j->chat) : GW_ENOMEM;
	p = rc == GW_OK ? curl_mime_addpart(j->mime) : NULL;
	if (!p || curl_mime_name(p, field) != CURLE_OK || curl_mime_filedata(p, path) != CURLE_OK ||
	    curl_mime_filename(p, a->name[0] ? a->name : "file") != CURLE_OK ||
	    curl_mime_type(p, a->type) != CURLE_OK)
		rc = GW_ENOMEM;
	if (rc == GW_OK && step == 0 && j->caption)
		rc = tg_mime_text(j->mime, "caption", j->text);
	if (rc == GW_OK && step == 0 && j->reply_to) {
		json_t *o = tg_reply_params(j);

		rp = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		rc = rp ? tg_mime_text(j->mime, "reply_parameters", rp) : GW_ENOMEM;
		free(rp);
	}
	if (rc != GW_OK)
		snprintf(why, whylen, "out of memory");
	return rc;
}

static int tg_setup(void *arg, int step, CURL *h, char *why, size_t whylen)
{
	struct tg_job *j = arg;
	const struct tg_att *a = (size_t)step < j->n_att ? &j->att[step] : NULL;
	const char *method = !a ? "sendMessage" : tg_is_photo(a) ? "sendPhoto" : "sendDocument";
	const char *field = !a ? "text" : tg_is_photo(a) ? "photo" : "document";
	struct curl_slist *l;
	int rc;

	tg_job_reset(j);
	rc = tg_method_url(j->url, sizeof(j->url), j->r->set->api_url, j->r->set->token, method);
	if (rc != GW_OK) {
		snprintf(why, whylen, "api_url too long");
		return -1;
	}
	if (a && strncmp(a->ref, ATTACH_REF_PREFIX, strlen(ATTACH_REF_PREFIX)) == 0)
		rc = tg_mime_request(j, h, step, a, field, why, whylen);
	else if ((rc = tg_json_request(j, step, field, a ? a->ref : j->text)) != GW_OK)
		snprintf(why, whylen, "out of memory");
	l = rc == GW_OK ? curl_slist_append(j->headers, "Expect:") : NULL;
	if (!l) {
		if (rc == GW_OK)
			snprintf(why, whylen, "out of memory");
		return -1;
	}
	j->headers = l;
	curl_easy_setopt(h, CURLOPT_URL, j->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, TG_REPLY_USER_AGENT);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, j->headers);
	if (j->mime)
		curl_easy_setopt(h, CURLOPT_MIMEPOST, j->mime);
	else
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, j->body);
	return 0;
}

static void tg_classify(void *arg, const struct sender_attempt *a, struct sender_outcome *out)
{
	struct tg_job *j = arg;

	tg_reply_judge(a, a->step == j->steps - 1, j->r->account, out);
	if (out->verdict == SENDER_DONE || out->verdict == SENDER_NEXT) {
		if (a->step == j->ref_step)
			snprintf(j->ref, sizeof(j->ref), "%s", out->ref_id);
		/* The reference is the message that carries the text. */
		snprintf(out->ref_id, sizeof(out->ref_id), "%s", j->ref);
	}
	tg_job_reset(j);
}

static const struct sender_ops tg_job_ops = {
	.setup = tg_setup,
	.classify = tg_classify,
	.free = tg_job_free,
};

/* ---- the owner (the connector's thread) --------------------------------------------- */

/* tg_id_at - a decimal integer (a '-' allowed) at s, ending at `stop`
 * (a character, or '\0'); 0 with *v, or -1. */
static int tg_id_at(const char *s, char stop, long long *v, const char **end)
{
	char *e = NULL;

	if (!s || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
		return -1;
	errno = 0;
	*v = strtoll(s, &e, 10);
	if (errno || e == s || *e != stop)
		return -1;
	*end = e;
	return 0;
}

int tg_reply_target(const struct proto_message *m, char chat[TG_CHAT_ID_MAX],
		    int64_t *reply_to)
{
	const char *last = m->reply_to_len ? m->reply_to[m->reply_to_len - 1] : NULL;
	const char *e = NULL;
	long long c, id;

	*reply_to = 0;
	/* "<chat id>:<message id>": the message answered, and its chat. */
	if (tg_id_at(last, ':', &c, &e) == 0 && tg_id_at(e + 1, '\0', &id, &e) == 0 && id > 0) {
		snprintf(chat, TG_CHAT_ID_MAX, "%lld", c);
		*reply_to = id;
		return GW_OK;
	}
	if (!m->to || tg_id_at(m->to->address, '\0', &c, &e) != 0)
		return GW_EINVAL;
	snprintf(chat, TG_CHAT_ID_MAX, "%lld", c);
	return GW_OK;
}

/* tg_att_check - an attachment that can be sent: a stored blob that is
 * there, or an http(s) URL; 0, or -1 with why. */
static int tg_att_check(const struct tg_replies *r, const struct proto_attachment *a,
			char *why, size_t whylen)
{
	char path[TG_REPLY_PATH_MAX];
	struct stat st;
	size_t plen = strlen(ATTACH_REF_PREFIX);

	if (strncasecmp(a->ref, "https://", 8) == 0 || strncasecmp(a->ref, "http://", 7) == 0)
		return 0;
	if (strncmp(a->ref, ATTACH_REF_PREFIX, plen) != 0 ||
	    attach_path(r->attach_dir, a->ref + plen, path, sizeof(path)) != GW_OK)
		snprintf(why, whylen, "attachment \"%.64s\": ref is neither a stored file "
			 "(sha256:<hex>) nor an http(s) URL", a->name);
	else if (stat(path, &st) != 0)
		snprintf(why, whylen, "attachment \"%.64s\": the stored file %.80s is missing",
			 a->name, a->ref);
	else
		return 0;
	gw_utf8_trim(why);
	return -1;
}

static int tg_job_att(struct tg_job *j, const struct proto_message *m)
{
	j->att = calloc(m->attachments_len ? m->attachments_len : 1, sizeof(*j->att));
	if (!j->att)
		return GW_ENOMEM;
	for (size_t i = 0; i < m->attachments_len; i++) {
		const struct proto_attachment *a = &m->attachments[i];

		j->n_att++;
		j->att[i].ref = gw_strdup(a->ref);
		j->att[i].name = gw_strdup(a->name ? a->name : "");
		j->att[i].type = gw_strdup(a->type && a->type[0] ? a->type
						     : "application/octet-stream");
		if (!j->att[i].ref || !j->att[i].name || !j->att[i].type)
			return GW_ENOMEM;
	}
	return GW_OK;
}

/* tg_job_new - the job of reply `m`; NULL and *why set when it cannot be
 * sent (reported failed), NULL with why "" when out of memory. */
static struct tg_job *tg_job_new(const struct tg_replies *r, const struct proto_message *m,
				 char *why, size_t whylen)
{
	struct tg_job *j = calloc(1, sizeof(*j));
	size_t tlen = m->text ? strlen(m->text) : 0;

	why[0] = '\0';
	if (!j)
		return NULL;
	j->r = r;
	if (tg_reply_target(m, j->chat, &j->reply_to) != GW_OK) {
		snprintf(why, whylen, "the customer's address is not a Telegram chat id");
		goto fail;
	}
	for (size_t i = 0; i < m->attachments_len; i++)
		if (tg_att_check(r, &m->attachments[i], why, whylen) != 0)
			goto fail;
	if (tlen == 0 && m->attachments_len == 0) {
		snprintf(why, whylen, "nothing to send: no text and no attachment");
		goto fail;
	}
	if ((tlen && !(j->text = gw_strdup(m->text))) || tg_job_att(j, m) != GW_OK)
		goto fail;
	j->caption = tlen > 0 && j->n_att > 0 && tlen <= TG_CAPTION_MAX;
	j->steps = (int)j->n_att + (tlen > 0 && !j->caption);
	j->ref_step = tlen > 0 && !j->caption ? j->steps - 1 : 0;
	return j;
fail:
	tg_job_free(j);
	return NULL;
}

int tg_replies_deliver(struct tg_replies *r, const void *event, size_t len,
		       uint64_t delivery_id)
{
	struct proto_event ev;
	struct tg_job *j = NULL;
	char why[SENDER_REASON_MAX];
	int rc;

	rc = sender_decode_reply(r->inst->log_module, event, len, delivery_id, &ev);
	if (rc != GW_OK)
		return rc;
	j = tg_job_new(r, &ev.u.message, why, sizeof(why));
	if (!j && why[0]) {
		rc = sender_fail_now(r->sender, delivery_id, why);
		rc = rc == GW_EFULL || rc == GW_ENOMEM ? GW_EAGAIN : GW_OK;
		goto out;
	}
	/* The sender owns the job from here, also when it refuses it. */
	rc = j ? sender_submit(r->sender, delivery_id, ev.u.message.external_id, &tg_job_ops, j)
	       : GW_ENOMEM;
	if (rc == GW_ENOMEM)
		rc = GW_EAGAIN;
out:
	proto_event_clear(&ev);
	return rc;
}

void tg_replies_poll(struct tg_replies *r)
{
	if (r && r->sender)
		sender_poll(r->sender);
}

int tg_replies_create(const struct tg_replies_options *opt, struct tg_replies **out)
{
	struct tg_replies *r = calloc(1, sizeof(*r));
	int n, rc = GW_EINVAL;

	*out = NULL;
	if (!r)
		return GW_ENOMEM;
	r->inst = opt->inst;
	r->set = opt->set;
	r->account = opt->account;
	n = snprintf(r->attach_dir, sizeof(r->attach_dir), "%s/attachments",
		     opt->inst->config->state_dir);
	if (n > 0 && (size_t)n < sizeof(r->attach_dir))
		rc = sender_open(opt->inst, &opt->set->send, opt->wake, opt->wake_arg, &r->sender);
	if (rc != GW_OK) {
		tg_replies_destroy(r);
		return rc;
	}
	opt->inst->sender = r->sender;
	*out = r;
	return GW_OK;
}

void tg_replies_destroy(struct tg_replies *r)
{
	if (!r)
		return;
	if (r->inst && r->inst->sender == r->sender)
		r->inst->sender = NULL;
	sender_destroy(r->sender);
	free(r);
}

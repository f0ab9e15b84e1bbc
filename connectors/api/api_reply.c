/*
 * api_reply.c - replies of the API channel through signed callbacks
 * (api_reply.h).
 *
 * A job is one reply: the encoded message.sent copied on the loop. Each
 * attempt builds its body on the sender's worker (stored attachments are
 * read there, never on the loop) and signs it with the time it starts; the
 * body is freed once the attempt is judged, so that replies waiting for a
 * receiver that is down hold their message, not their inline attachments
 * too. The body is built from the same event and files every time: the
 * same bytes. The journal key is the reply's external_id, which is also
 * the "id" of the callback body: what the receiver deduplicates on.
 */
#include "connectors/api/api_reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "connectors/api/api_callback.h"
#include "connectors/outbox.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define API_REPLY_PATH_MAX 4096
#define API_REPLY_WHY_MAX 256
#define API_REPLY_USER_AGENT "omnigate"

struct api_replies {
	struct connector_instance *inst;
	const struct api_settings *set;
	const char *account;
	struct sender *sender;         /* NULL without a callback_url */
	struct api_cb_files files;
	char attach_dir[API_REPLY_PATH_MAX];
	char why_not[API_REPLY_WHY_MAX]; /* without a sender: why replies fail */
};

struct api_job {
	const struct api_replies *r; /* borrowed: outlives its jobs */
	uint64_t delivery_id;
	char reply_id[PROTO_MAX_EXTERNAL_ID + 1];
	void *event;                 /* the message.sent */
	size_t event_len;
	char *body;                  /* this attempt's callback body */
	size_t body_len;
	struct curl_slist *headers;  /* this attempt's */
};

/* ---- the job (worker thread) ------------------------------------------------ */

static void job_free(void *arg)
{
	struct api_job *j = arg;

	if (!j)
		return;
	free(j->event);
	free(j->body);
	curl_slist_free_all(j->headers);
	free(j);
}

/* job_body - the callback body, from the message.sent the job holds. */
static int job_body(struct api_job *j, char *why, size_t whylen)
{
	struct proto_event ev;
	struct proto_error perr;
	int rc;

	memset(&perr, 0, sizeof(perr));
	rc = proto_decode(j->event, j->event_len, &ev, &perr);
	if (rc != GW_OK) {
		snprintf(why, whylen, "the reply cannot be read: %s", gw_strerror(rc));
		return rc;
	}
	rc = api_callback_payload(&ev, j->delivery_id, &j->r->files, &j->body, &j->body_len, why,
				  whylen);
	proto_event_clear(&ev);
	return rc;
}

/* job_header - appends "name: value" to the job's list. */
static int job_header(struct api_job *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int job_header(struct api_job *j, const char *fmt, ...)
{
	char line[API_CB_SIG_MAX + 64];
	struct curl_slist *l;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	l = curl_slist_append(j->headers, line);
	if (!l)
		return GW_ENOMEM;
	j->headers = l;
	return GW_OK;
}

/* job_headers - this attempt's headers, signed with the time it starts. */
static int job_headers(struct api_job *j, char *why, size_t whylen)
{
	const char *secret = j->r->set->callback_secret;
	char sig[API_CB_SIG_MAX];
	int rc;

	curl_slist_free_all(j->headers);
	j->headers = NULL;
	rc = api_callback_sign(secret, strlen(secret), gw_now_ms() / 1000, j->body, j->body_len,
			       sig, sizeof(sig));
	if (rc == GW_OK)
		rc = job_header(j, "Content-Type: application/json");
	if (rc == GW_OK)
		rc = job_header(j, API_CB_DELIVERY_HEADER ": %llu",
				(unsigned long long)j->delivery_id);
	if (rc == GW_OK)
		rc = job_header(j, API_CB_SIG_HEADER ": %s", sig);
	/* No "Expect: 100-continue" round trip before a larger body. */
	if (rc == GW_OK)
		rc = job_header(j, "Expect:");
	if (rc != GW_OK)
		snprintf(why, whylen, "cannot sign the callback: %s", gw_strerror(rc));
	return rc;
}

static int job_setup(void *arg, int step, CURL *h, char *why, size_t whylen)
{
	struct api_job *j = arg;

	(void)step; /* one step: the POST */
	free(j->body);
	j->body = NULL;
	if (job_body(j, why, whylen) != GW_OK)
		return -1;
	if (job_headers(j, why, whylen) != GW_OK)
		return -1;
	curl_easy_setopt(h, CURLOPT_URL, j->r->set->callback_url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body_len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, j->headers);
	curl_easy_setopt(h, CURLOPT_USERAGENT, API_REPLY_USER_AGENT);
	return 0;
}

static void job_classify(void *arg, const struct sender_attempt *a, struct sender_outcome *out)
{
	struct api_job *j = arg;

	api_callback_judge(a, j->r->account, j->reply_id, out);
	/* The transfer has ended (curl reads POSTFIELDS only while it runs):
	 * the next attempt builds the body again. */
	free(j->body);
	j->body = NULL;
}

static const struct sender_ops api_job_ops = {
	.setup = job_setup,
	.classify = job_classify,
	.free = job_free,
};

/* ---- the owner (the connector's thread) ---------------------------------------- */

/* job_new - a job for the decoded reply `ev`, holding a copy of its bytes. */
static struct api_job *job_new(const struct api_replies *r, const struct proto_event *ev,
			       const void *event, size_t len, uint64_t delivery_id)
{
	struct api_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->r = r;
	j->delivery_id = delivery_id;
	snprintf(j->reply_id, sizeof(j->reply_id), "%s", ev->u.message.external_id);
	j->event = malloc(len ? len : 1);
	if (!j->event) {
		free(j);
		return NULL;
	}
	memcpy(j->event, event, len);
	j->event_len = len;
	return j;
}

/* deliver_none - without a callback_url: failed at once, saying why. */
static int deliver_none(struct api_replies *r, uint64_t delivery_id)
{
	int rc = outbox_report(r->inst->outbox, delivery_id, "failed", r->why_not);

	if (rc == GW_OK)
		GW_INFO(r->inst->log_module, "delivery %llu failed: %s",
			(unsigned long long)delivery_id, r->why_not);
	return rc == GW_EFULL || rc == GW_ENOMEM ? GW_EAGAIN : GW_OK;
}

int api_replies_deliver(struct api_replies *r, const void *event, size_t len,
			uint64_t delivery_id)
{
	struct proto_event ev;
	struct api_job *j = NULL;
	int rc;

	if (!r->sender)
		return deliver_none(r, delivery_id);
	rc = sender_decode_reply(r->inst->log_module, event, len, delivery_id, &ev);
	if (rc != GW_OK)
		return rc;
	j = job_new(r, &ev, event, len, delivery_id);
	/* The sender owns the job from here, also when it refuses it. */
	rc = j ? sender_submit(r->sender, delivery_id, j->reply_id, &api_job_ops, j) : GW_ENOMEM;
	if (rc == GW_ENOMEM)
		rc = GW_EAGAIN; /* handed over again later */
	proto_event_clear(&ev);
	return rc;
}

void api_replies_poll(struct api_replies *r)
{
	if (r && r->sender)
		sender_poll(r->sender);
}

/* replies_sender - the journal folder and the sender. */
static int replies_sender(struct api_replies *r, const struct api_replies_options *opt)
{
	const struct api_settings *set = opt->set;
	int n = snprintf(r->attach_dir, sizeof(r->attach_dir), "%s/attachments",
			 opt->inst->config->state_dir);

	if (n < 0 || (size_t)n >= sizeof(r->attach_dir))
		return GW_EINVAL;
	r->files.dir = r->attach_dir;
	r->files.inline_max = (uint64_t)set->callback_max_inline_bytes;
	return sender_open(opt->inst, &set->send, opt->wake, opt->wake_arg, &r->sender);
}

int api_replies_create(const struct api_replies_options *opt, struct api_replies **out)
{
	struct api_replies *r = calloc(1, sizeof(*r));
	int rc = GW_OK;

	*out = NULL;
	if (!r)
		return GW_ENOMEM;
	r->inst = opt->inst;
	r->set = opt->set;
	r->account = opt->account;
	if (!opt->set->callback_url || !opt->set->callback_url[0]) {
		snprintf(r->why_not, sizeof(r->why_not), "API connector %s has no callback_url",
			 opt->inst->conf->name);
		gw_utf8_trim(r->why_not);
		GW_INFO(opt->inst->log_module, "replies: none (no callback_url): each one is "
			"reported failed");
	} else {
		rc = replies_sender(r, opt);
		if (rc == GW_OK)
			GW_INFO(opt->inst->log_module, "replies: signed callbacks to callback_url, "
				"retried for %llds", (long long)opt->set->send.retry_for_s);
	}
	if (rc != GW_OK) {
		api_replies_destroy(r);
		return rc;
	}
	opt->inst->sender = r->sender;
	*out = r;
	return GW_OK;
}

void api_replies_destroy(struct api_replies *r)
{
	if (!r)
		return;
	if (r->inst && r->inst->sender == r->sender)
		r->inst->sender = NULL;
	sender_destroy(r->sender);
	free(r);
}

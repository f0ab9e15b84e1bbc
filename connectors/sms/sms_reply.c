/*
 * sms_reply.c - replies of the SMS channel through Twilio (sms_reply.h).
 *
 * A job is one reply: its request body (the form of sms_rest.c), built on
 * the loop once the checks passed, the same bytes on every attempt. The
 * journal key is the reply's external_id; the provider id reported is
 * Twilio's sid, which its status callbacks name.
 *
 * Twilio's error 21610 says the number replied STOP to Twilio itself (its
 * opt-out handling answered, or the STOP reached another of our numbers
 * first): the worker notes the number, and the owner's next poll marks the
 * customer opted out in the customers' table, as a STOP we read does.
 */
#include "connectors/sms/sms_reply.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "connectors/outbox.h"
#include "connectors/sender.h"
#include "connectors/sms/sms.h"
#include "connectors/sms/sms_rest.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/proto.h"
#include "store/sms_contacts.h"

#define SMS_REPLY_URL_MAX 2048
#define SMS_REPLY_WHY_MAX 256
#define SMS_REPLY_STOPS_MAX 64 /* numbers noted between two polls */
#define SMS_REPLY_USER_AGENT "omnigate"

struct sms_replies {
	struct connector_instance *inst;
	const struct sms_settings *set;
	const char *account;
	struct sms_contacts *contacts;
	struct sender *sender;
	char url[SMS_REPLY_URL_MAX];      /* Messages.json of the account */
	char callback[SMS_REPLY_URL_MAX]; /* StatusCallback; "" when off */
	/* Numbers Twilio refused with 21610, noted by the worker (under
	 * stops_lock) and marked opted out by the owner's poll. */
	pthread_mutex_t stops_lock;
	int stops_lock_ok;
	size_t n_stops;
	char stops[SMS_REPLY_STOPS_MAX][PROTO_MAX_ADDRESS + 1];
	/* Segments of the replies Twilio took, added by the worker (under
	 * stops_lock) and shown by the owner's poll as sms.segments. */
	uint64_t segments;
};

struct sms_job {
	struct sms_replies *r;       /* borrowed: outlives its jobs */
	uint64_t delivery_id;
	char to[PROTO_MAX_ADDRESS + 1]; /* the customer */
	char *body;                  /* the form, sent on every attempt */
	size_t body_len;
	struct curl_slist *headers;
};

/* ---- the job (worker thread) ------------------------------------------------ */

static void job_free(void *arg)
{
	struct sms_job *j = arg;

	if (!j)
		return;
	free(j->body);
	curl_slist_free_all(j->headers);
	free(j);
}

static int job_setup(void *arg, int step, CURL *h, char *why, size_t whylen)
{
	struct sms_job *j = arg;
	struct curl_slist *l;

	(void)step; /* one step: the POST */
	if (!j->headers) {
		/* No "Expect: 100-continue" round trip before a larger body. */
		l = curl_slist_append(NULL, "Accept: application/json");
		j->headers = l ? curl_slist_append(l, "Expect:") : NULL;
		if (!j->headers) {
			curl_slist_free_all(l);
			snprintf(why, whylen, "out of memory");
			return -1;
		}
	}
	curl_easy_setopt(h, CURLOPT_URL, j->r->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(h, CURLOPT_USERNAME, j->r->set->account_sid);
	curl_easy_setopt(h, CURLOPT_PASSWORD, j->r->set->auth_token);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body_len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, j->headers);
	curl_easy_setopt(h, CURLOPT_USERAGENT, SMS_REPLY_USER_AGENT);
	return 0;
}

/* note_stop - the worker notes that Twilio refused `to` with 21610; a
 * number already noted, or one past the bound, is not noted again (the
 * next refused reply notes it). */
static void note_stop(struct sms_replies *r, const char *to)
{
	pthread_mutex_lock(&r->stops_lock);
	for (size_t i = 0; i < r->n_stops; i++)
		if (strcmp(r->stops[i], to) == 0)
			goto out;
	if (r->n_stops < SMS_REPLY_STOPS_MAX)
		snprintf(r->stops[r->n_stops++], sizeof(r->stops[0]), "%s", to);
out:
	pthread_mutex_unlock(&r->stops_lock);
}

static void job_classify(void *arg, const struct sender_attempt *a, struct sender_outcome *out)
{
	struct sms_job *j = arg;
	struct sms_rest_answer ans;

	sms_rest_judge(a, j->r->account, out, &ans);
	/* The segments Twilio bills: logged per reply, counted in sms.segments. */
	if (out->verdict == SENDER_DONE) {
		GW_INFO(j->r->inst->log_module, "delivery %llu: Twilio took it as %s, %u segment%s",
			(unsigned long long)j->delivery_id, out->ref_id[0] ? out->ref_id : "(no sid)",
			ans.segments, ans.segments == 1 ? "" : "s");
		pthread_mutex_lock(&j->r->stops_lock);
		j->r->segments += ans.segments;
		pthread_mutex_unlock(&j->r->stops_lock);
	} else if (ans.error_code == SMS_REST_UNSUBSCRIBED) {
		note_stop(j->r, j->to);
	}
}

static const struct sender_ops sms_job_ops = {
	.setup = job_setup,
	.classify = job_classify,
	.free = job_free,
};

/* ---- the checks (the connector's thread) -------------------------------------- */

/* reply_media - the attachments as URLs Twilio can fetch into urls[]; -1
 * with why when one is not an https URL (a stored blob cannot be sent). */
static int reply_media(const struct proto_message *m, const char **urls, char *why,
		       size_t whylen)
{
	for (size_t i = 0; i < m->attachments_len; i++) {
		const char *ref = m->attachments[i].ref;

		if (!ref || strncasecmp(ref, "https://", 8) != 0) {
			snprintf(why, whylen, "attachment %zu: SMS sends media by https URL only (a "
				 "stored file cannot be sent)", i + 1);
			return -1;
		}
		urls[i] = ref;
	}
	return 0;
}

/*
 * reply_check - whether the reply can go out: GW_OK with the number to send
 * from in c; GW_EPERM with why (failed at once); GW_EAGAIN when the
 * customers' table cannot be read now.
 */
static int reply_check(struct sms_replies *r, const struct proto_message *m,
		       struct sms_contact *c, const char **urls, char *why, size_t whylen)
{
	int rc = sms_contacts_get(r->contacts, m->to->address, c);

	if (rc == GW_ENOTFOUND) {
		snprintf(why, whylen, "no number of SMS connector %s has received a message from "
			 "this customer: none to reply from", r->inst->conf->name);
		return GW_EPERM;
	}
	if (rc != GW_OK)
		return GW_EAGAIN;
	if (c->opted_out) {
		r->inst->counters[SMS_C_STOPPED].value++;
		snprintf(why, whylen, SMS_OPTED_OUT_REASON);
		return GW_EPERM;
	}
	if (m->tmpl) {
		snprintf(why, whylen, "SMS has no templates: write the reply as text");
		return GW_EPERM;
	}
	if (reply_media(m, urls, why, whylen) != 0)
		return GW_EPERM;
	if ((!m->text || !m->text[0]) && m->attachments_len == 0) {
		snprintf(why, whylen, "an SMS needs a text or a media URL");
		return GW_EPERM;
	}
	return GW_OK;
}

/* ---- the owner (the connector's thread) ------------------------------------- */

/* job_new - the job of reply `m`, From `from`. */
static struct sms_job *job_new(struct sms_replies *r, const struct proto_message *m,
			       const char *from, const char **urls, uint64_t delivery_id)
{
	struct sms_rest_msg msg = {
		.to = m->to->address, .from = from, .body = m->text, .media = urls,
		.n_media = m->attachments_len,
		.status_callback = r->callback[0] ? r->callback : NULL,
	};
	struct sms_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->r = r;
	j->delivery_id = delivery_id;
	snprintf(j->to, sizeof(j->to), "%s", m->to->address);
	if (sms_rest_body(&msg, &j->body, &j->body_len) != GW_OK) {
		free(j);
		return NULL;
	}
	return j;
}

/* reply_take - the checks, then the job to the sender; the codes of
 * sms_replies_deliver. */
static int reply_take(struct sms_replies *r, const struct proto_message *m,
		      uint64_t delivery_id)
{
	const char *urls[PROTO_MAX_ATTACHMENTS];
	char why[SMS_REPLY_WHY_MAX];
	struct sms_contact c;
	struct sms_job *j;
	int rc = reply_check(r, m, &c, urls, why, sizeof(why));

	if (rc == GW_EPERM) {
		rc = sender_fail_now(r->sender, delivery_id, why);
		return rc == GW_EFULL || rc == GW_ENOMEM ? GW_EAGAIN : GW_OK;
	}
	if (rc != GW_OK)
		return rc;
	j = job_new(r, m, c.number, urls, delivery_id);
	/* The sender owns the job from here, also when it refuses it. */
	rc = j ? sender_submit(r->sender, delivery_id, m->external_id, &sms_job_ops, j)
	       : GW_ENOMEM;
	return rc == GW_ENOMEM ? GW_EAGAIN : rc; /* handed over again later */
}

int sms_replies_deliver(struct sms_replies *r, const void *event, size_t len,
			uint64_t delivery_id)
{
	struct proto_event ev;
	int rc = sender_decode_reply(r->inst->log_module, event, len, delivery_id, &ev);

	if (rc != GW_OK)
		return rc;
	rc = reply_take(r, &ev.u.message, delivery_id);
	proto_event_clear(&ev);
	return rc;
}

/* mark_stopped - the customer `to` opted out, as Twilio said; written
 * durably. A table that cannot be written now: the next refusal notes it
 * again. */
static void mark_stopped(struct sms_replies *r, const char *to)
{
	struct sms_contact c;
	int rc = sms_contacts_get(r->contacts, to, &c);

	if (rc != GW_OK && rc != GW_ENOTFOUND && rc != GW_EPROTO)
		goto out;
	if (rc == GW_OK && c.opted_out)
		return;
	c.opted_out = 1;
	c.changed_at = c.updated_at = gw_now_ms();
	rc = sms_contacts_put(r->contacts, to, &c);
	if (rc == GW_OK) {
		r->inst->counters[SMS_C_OPT_OUTS].value++;
		GW_INFO(r->inst->log_module, "Twilio error 21610: the customer opted out: no reply "
			"goes to that number until START");
	}
out:
	if (rc != GW_OK)
		GW_WARN(r->inst->log_module, "Twilio error 21610: the opt-out could not be "
			"recorded: %s", gw_strerror(rc));
}

void sms_replies_poll(struct sms_replies *r)
{
	char stops[SMS_REPLY_STOPS_MAX][PROTO_MAX_ADDRESS + 1];
	size_t n;

	if (!r || !r->sender)
		return;
	pthread_mutex_lock(&r->stops_lock);
	n = r->n_stops;
	memcpy(stops, r->stops, n * sizeof(stops[0]));
	r->n_stops = 0;
	r->inst->counters[SMS_C_SEGMENTS].value = r->segments;
	pthread_mutex_unlock(&r->stops_lock);
	for (size_t i = 0; i < n; i++)
		mark_stopped(r, stops[i]);
	sender_poll(r->sender);
}

/* replies_urls - the Messages.json URL and the StatusCallback. */
static int replies_urls(struct sms_replies *r, const struct sms_settings *set)
{
	int n;

	if (sms_rest_url(set->api_base, set->account_sid, r->url, sizeof(r->url)) != GW_OK)
		return GW_EINVAL;
	if (!set->status_callback)
		return GW_OK;
	n = snprintf(r->callback, sizeof(r->callback), "%s%s", set->public_url,
		     set->status_path);
	return n < 0 || (size_t)n >= sizeof(r->callback) ? GW_EINVAL : GW_OK;
}

int sms_replies_create(const struct sms_replies_options *opt, struct sms_replies **out)
{
	struct sms_replies *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r)
		return GW_ENOMEM;
	if (pthread_mutex_init(&r->stops_lock, NULL) != 0) {
		free(r);
		return GW_ENOMEM;
	}
	r->stops_lock_ok = 1;
	r->inst = opt->inst;
	r->set = opt->set;
	r->account = opt->account;
	r->contacts = opt->contacts;
	rc = replies_urls(r, opt->set);
	if (rc == GW_OK)
		rc = sender_open(opt->inst, &opt->set->send, opt->wake, opt->wake_arg, &r->sender);
	if (rc != GW_OK) {
		sms_replies_destroy(r);
		return rc;
	}
	GW_INFO(opt->inst->log_module, "replies: Twilio Messages API at %s, status callbacks %s, "
		"retried for %llds", opt->set->api_base, r->callback[0] ? "on" : "off",
		(long long)opt->set->send.retry_for_s);
	opt->inst->sender = r->sender;
	*out = r;
	return GW_OK;
}

void sms_replies_destroy(struct sms_replies *r)
{
	if (!r)
		return;
	if (r->inst && r->inst->sender == r->sender)
		r->inst->sender = NULL;
	sender_destroy(r->sender);
	if (r->stops_lock_ok)
		pthread_mutex_destroy(&r->stops_lock);
	free(r);
}

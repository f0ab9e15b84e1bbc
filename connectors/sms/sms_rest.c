/*
 * sms_rest.c - Twilio's Messages resource: the request of a reply and the
 * judgement of its answer (sms_rest.h).
 */
#include "connectors/sms/sms_rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "connectors/sms/sms_parse.h"
#include "core/err.h"
#include "core/util.h"

#define REST_EXCERPT_MAX 120 /* bytes of an answer that is not Twilio's JSON */

int sms_rest_url(const char *base, const char *sid, char *out, size_t outlen)
{
	char path[128];
	int n;

	snprintf(path, sizeof(path), SMS_REST_PATH, sid);
	n = snprintf(out, outlen, "%s%s", base, path);
	return n < 0 || (size_t)n >= outlen ? GW_ETOOBIG : GW_OK;
}

/* A growing string for the form (every piece's size is known). */
struct rest_buf {
	char *p;
	size_t len, cap;
};

static int rest_add(struct rest_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p)
			return GW_ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return GW_OK;
}

/* rest_param - "&name=<value, percent-encoded>" ("name=..." first). */
static int rest_param(struct rest_buf *b, const char *name, const char *value)
{
	char *esc = curl_easy_escape(NULL, value, (int)strlen(value));
	int rc;

	if (!esc)
		return GW_ENOMEM;
	rc = b->len ? rest_add(b, "&", 1) : GW_OK;
	if (rc == GW_OK)
		rc = rest_add(b, name, strlen(name));
	if (rc == GW_OK)
		rc = rest_add(b, "=", 1);
	if (rc == GW_OK)
		rc = rest_add(b, esc, strlen(esc));
	curl_free(esc);
	return rc;
}

int sms_rest_body(const struct sms_rest_msg *m, char **out, size_t *len)
{
	struct rest_buf b = {0};
	int rc;

	*out = NULL;
	rc = rest_param(&b, "To", m->to);
	if (rc == GW_OK)
		rc = rest_param(&b, "From", m->from);
	/* Twilio wants a Body or a MediaUrl; an empty Body is left out. */
	if (rc == GW_OK && m->body && m->body[0])
		rc = rest_param(&b, "Body", m->body);
	for (size_t i = 0; rc == GW_OK && i < m->n_media; i++)
		rc = rest_param(&b, "MediaUrl", m->media[i]);
	if (rc == GW_OK && m->status_callback)
		rc = rest_param(&b, "StatusCallback", m->status_callback);
	if (rc != GW_OK) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	*len = b.len;
	return GW_OK;
}

/* ---- the answer ------------------------------------------------------------ */

/* rest_segments - num_segments, a string of digits (or a number). */
static unsigned rest_segments(const json_t *doc)
{
	const json_t *v = json_object_get(doc, "num_segments");
	const char *s = json_string_value(v);
	unsigned long n = 0;

	if (json_is_integer(v))
		return json_integer_value(v) > 0 && json_integer_value(v) < 100000
			       ? (unsigned)json_integer_value(v) : 0;
	for (; s && *s >= '0' && *s <= '9' && n < 100000; s++)
		n = n * 10 + (unsigned long)(*s - '0');
	return s && !*s && n < 100000 ? (unsigned)n : 0;
}

/* rest_taken - a 2xx: Twilio took the reply; its sid is the reference. */
static void rest_taken(const json_t *doc, const char *account, struct sender_outcome *out,
		       unsigned *segments)
{
	const char *sid = json_string_value(json_object_get(doc, "sid"));

	out->verdict = SENDER_DONE;
	*segments = rest_segments(doc);
	if (!sid || !sid[0] || strlen(sid) > PROTO_MAX_EXTERNAL_ID)
		return; /* taken all the same: sending it again would double it */
	snprintf(out->ref_account, sizeof(out->ref_account), "%s", account);
	snprintf(out->ref_id, sizeof(out->ref_id), "%s", sid);
}

/* rest_excerpt - the start of an answer that is not Twilio's JSON, with
 * control characters as spaces. */
static void rest_excerpt(const struct sender_attempt *a, char *out, size_t outlen)
{
	size_t n = a->body_len < REST_EXCERPT_MAX ? a->body_len : REST_EXCERPT_MAX;

	if (n >= outlen)
		n = outlen - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)a->body[i] < 0x20 ? ' ' : a->body[i];
	out[n] = '\0';
	gw_utf8_trim(out);
}

/* rest_reason - why Twilio refused: its code and message when it gave
 * them, else the start of its answer. */
static void rest_reason(const struct sender_attempt *a, long code, const char *msg,
			const char *hint, struct sender_outcome *out)
{
	char ex[REST_EXCERPT_MAX + 1];

	if (code && msg)
		snprintf(out->reason, sizeof(out->reason), "Twilio error %ld (HTTP %ld): %s%s",
			 code, a->status, msg, hint);
	else if (code)
		snprintf(out->reason, sizeof(out->reason), "Twilio error %ld (HTTP %ld)%s", code,
			 a->status, hint);
	else {
		rest_excerpt(a, ex, sizeof(ex));
		snprintf(out->reason, sizeof(out->reason), "Twilio answered HTTP %ld%s%s%s",
			 a->status, ex[0] ? ": " : "", ex, hint);
	}
	gw_utf8_trim(out->reason);
}

/* rest_refused - a status other than 2xx, with Twilio's error body. */
static void rest_refused(const struct sender_attempt *a, const json_t *doc,
			 struct sender_outcome *out, long *error_code)
{
	long st = a->status;
	const json_t *c = json_object_get(doc, "code");
	long code = json_is_integer(c) ? (long)json_integer_value(c) : 0;
	const char *msg = json_string_value(json_object_get(doc, "message"));

	*error_code = code;
	if (!msg && code)
		msg = sms_error_title(code);
	if (st == 429 || st >= 500 || code == 20429 || code == 14107 || code == 30001) {
		out->verdict = SENDER_RETRY;
		out->slow_down = st == 429 || code == 20429 || code == 14107;
		out->retry_after_ms = a->retry_after_ms > 0 ? a->retry_after_ms : 0;
		rest_reason(a, code, msg, "", out);
	} else if (st == 401 || st == 403 || code == 20003) {
		out->verdict = SENDER_FAIL;
		out->auth = 1;
		rest_reason(a, code, msg, " (check account_sid and auth_token)", out);
	} else {
		out->verdict = SENDER_FAIL;
		rest_reason(a, code, msg, st >= 300 && st <= 399 ? " (redirects are not followed: "
			    "check api_base)" : "", out);
	}
}

void sms_rest_judge(const struct sender_attempt *a, const char *account,
		    struct sender_outcome *out, struct sms_rest_answer *ans)
{
	json_t *doc = NULL;

	memset(ans, 0, sizeof(*ans));
	if (a->err != GW_OK) {
		out->verdict = SENDER_RETRY;
		snprintf(out->reason, sizeof(out->reason), "Twilio: %s",
			 a->error && a->error[0] ? a->error : gw_strerror(a->err));
		gw_utf8_trim(out->reason);
		return;
	}
	if (a->body_len)
		doc = json_loadb(a->body, a->body_len, JSON_REJECT_DUPLICATES, NULL);
	if (a->status >= 200 && a->status <= 299)
		rest_taken(doc, account, out, &ans->segments);
	else
		rest_refused(a, doc, out, &ans->error_code);
	json_decref(doc);
}

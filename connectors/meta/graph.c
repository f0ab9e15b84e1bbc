/*
 * graph.c - Graph API requests and answers for the Meta reply senders
 * (see graph.h).
 */
#include "connectors/meta/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/err.h"

#define GRAPH_BEARER "Authorization: Bearer "

/* What a code means to a sender. */
enum graph_kind { GK_OTHER = 0, GK_RATE, GK_TEMPORARY, GK_AUTH };

static const struct {
	long long code;
	enum graph_kind kind;
} graph_codes[] = {
	{4, GK_RATE},           /* application request limit */
	{17, GK_RATE},          /* user request limit */
	{32, GK_RATE},          /* page request limit */
	{613, GK_RATE},         /* calls within one hour exceeded */
	{80007, GK_RATE},       /* WhatsApp Business Account rate limit */
	{130429, GK_RATE},      /* Cloud API throughput reached */
	{131056, GK_RATE},      /* pair rate limit (same business, same customer) */
	{1, GK_TEMPORARY},      /* API unknown */
	{2, GK_TEMPORARY},      /* API service (temporarily unavailable) */
	{1200, GK_TEMPORARY},   /* Send API: temporary send message failure */
	{131000, GK_TEMPORARY}, /* something went wrong */
	{131016, GK_TEMPORARY}, /* service unavailable */
	{133004, GK_TEMPORARY}, /* server temporarily unavailable */
	{190, GK_AUTH},         /* access token expired or invalid */
	{102, GK_AUTH},         /* API session */
	{10, GK_AUTH},          /* permission denied (see graph_kind_of) */
};

#define GRAPH_SUBCODE_MESSENGER_WINDOW 2018278 /* code 10: outside the window */

static enum graph_kind graph_kind_of(const struct graph_error *e)
{
	if (e->code == 10 && e->subcode == GRAPH_SUBCODE_MESSENGER_WINDOW)
		return GK_OTHER; /* a refusal of this message, not of the token */
	if (e->code >= 200 && e->code <= 299)
		return GK_AUTH; /* permission codes */
	for (size_t i = 0; i < sizeof(graph_codes) / sizeof(graph_codes[0]); i++)
		if (graph_codes[i].code == e->code)
			return graph_codes[i].kind;
	return GK_OTHER;
}

/* graph_title - the message without its "(#123) " prefix. */
static void graph_title(const char *msg, char *out, size_t size)
{
	const char *p = msg;

	if (p[0] == '(' && p[1] == '#') {
		const char *q = p + 2;

		while (*q >= '0' && *q <= '9')
			q++;
		if (*q == ')') {
			p = q + 1;
			while (*p == ' ')
				p++;
		}
	}
	snprintf(out, size, "%s", p);
}

int graph_error_read(const char *body, struct graph_error *e)
{
	json_t *doc = body ? json_loads(body, JSON_REJECT_DUPLICATES, NULL) : NULL;
	json_t *err = json_object_get(doc, "error");
	const char *msg, *details;
	int found = json_is_object(err);

	memset(e, 0, sizeof(*e));
	if (found) {
		e->code = json_integer_value(json_object_get(err, "code"));
		e->subcode = json_integer_value(json_object_get(err, "error_subcode"));
		msg = json_string_value(json_object_get(err, "message"));
		details = json_string_value(
			json_object_get(json_object_get(err, "error_data"), "details"));
		if (msg)
			graph_title(msg, e->title, sizeof(e->title));
		if (details)
			snprintf(e->details, sizeof(e->details), "%s", details);
	}
	json_decref(doc);
	return found;
}

/* graph_reason - "<what>: <code> <title>: <details>" into out->reason. */
static void graph_reason(const struct graph_error *e, const char *what, long status,
			 struct sender_outcome *out)
{
	char code[48] = "";

	if (e->code)
		snprintf(code, sizeof(code), "%lld", e->code);
	else
		snprintf(code, sizeof(code), "HTTP %ld", status);
	/* A long reason is cut (the sender trims it to a whole character). */
	if (snprintf(out->reason, sizeof(out->reason), "%s: %s%s%s%s%s", what, code,
		     e->title[0] ? " " : "", e->title, e->details[0] ? ": " : "",
		     e->details) >= (int)sizeof(out->reason))
		out->reason[sizeof(out->reason) - 1] = '\0';
}

void graph_judge(const struct sender_attempt *a, const char *what, struct sender_outcome *out)
{
	struct graph_error e;
	enum graph_kind kind;

	if (a->err != GW_OK) {
		out->verdict = SENDER_RETRY;
		snprintf(out->reason, sizeof(out->reason), "%s: %s", what, a->error);
		return;
	}
	graph_error_read(a->body, &e);
	graph_reason(&e, what, a->status, out);
	kind = graph_kind_of(&e);
	if (!e.code && (a->status >= 500 || a->status == 429))
		kind = a->status == 429 ? GK_RATE : GK_TEMPORARY;
	out->verdict = kind == GK_RATE || kind == GK_TEMPORARY ? SENDER_RETRY : SENDER_FAIL;
	out->slow_down = kind == GK_RATE;
	out->auth = kind == GK_AUTH;
	if (a->retry_after_ms > 0)
		out->retry_after_ms = a->retry_after_ms;
}

json_t *graph_answer(const struct sender_attempt *a)
{
	json_t *doc;

	if (!a->body || !a->body_len)
		return NULL;
	doc = json_loadb(a->body, a->body_len, JSON_REJECT_DUPLICATES, NULL);
	if (doc && !json_is_object(doc)) {
		json_decref(doc);
		doc = NULL;
	}
	return doc;
}

int graph_bearer(const char *token, char **out)
{
	size_t n = strlen(GRAPH_BEARER) + strlen(token) + 1;

	*out = malloc(n);
	if (!*out)
		return GW_ENOMEM;
	snprintf(*out, n, "%s%s", GRAPH_BEARER, token);
	return GW_OK;
}

void graph_secret_free(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

void graph_req_clear(struct graph_req *r)
{
	free(r->body);
	r->body = NULL;
	/* The header list holds the bearer line: wiped as it goes. */
	for (struct curl_slist *l = r->hdr; l; l = l->next)
		OPENSSL_cleanse(l->data, strlen(l->data));
	curl_slist_free_all(r->hdr);
	r->hdr = NULL;
	curl_mime_free(r->mime);
	r->mime = NULL;
}

/* graph_headers - the bearer line, and the JSON content type when json. */
static int graph_headers(struct graph_req *r, const char *auth, int json)
{
	struct curl_slist *l = curl_slist_append(NULL, auth);

	if (l && json) {
		struct curl_slist *m = curl_slist_append(l, "Content-Type: application/json");

		if (!m) {
			OPENSSL_cleanse(l->data, strlen(l->data));
			curl_slist_free_all(l);
		}
		l = m;
	}
	r->hdr = l;
	return l ? 0 : -1;
}

int graph_req_json(struct graph_req *r, CURL *h, const char *url, const char *auth,
		   const json_t *msg, char *why, size_t whylen)
{
	graph_req_clear(r);
	r->body = json_dumps(msg, JSON_COMPACT);
	if (!r->body || graph_headers(r, auth, 1) != 0) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	return 0;
}

int graph_req_mime(struct graph_req *r, CURL *h, const char *url, const char *auth, char *why,
		   size_t whylen)
{
	graph_req_clear(r);
	r->mime = curl_mime_init(h);
	if (!r->mime || graph_headers(r, auth, 0) != 0) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->hdr);
	return 0;
}

void graph_req_send_mime(struct graph_req *r, CURL *h)
{
	curl_easy_setopt(h, CURLOPT_MIMEPOST, r->mime);
}

int graph_mime_text(curl_mime *m, const char *name, const char *value)
{
	curl_mimepart *p = curl_mime_addpart(m);

	if (!p || curl_mime_name(p, name) != CURLE_OK ||
	    curl_mime_data(p, value, CURL_ZERO_TERMINATED) != CURLE_OK)
		return -1;
	return 0;
}

int graph_mime_file(curl_mime *m, const char *name, const char *path, const char *type,
		    const char *filename)
{
	curl_mimepart *p = curl_mime_addpart(m);

	if (!p || curl_mime_name(p, name) != CURLE_OK ||
	    curl_mime_filedata(p, path) != CURLE_OK || curl_mime_type(p, type) != CURLE_OK ||
	    curl_mime_filename(p, filename) != CURLE_OK)
		return -1;
	return 0;
}

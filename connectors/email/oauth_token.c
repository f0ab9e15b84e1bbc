/*
 * oauth_token.c - the token endpoint's answer and the refresh timing
 * (oauth_token.h). jansson reads the JSON; nothing else is used.
 */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include "connectors/email/oauth_token.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/err.h"

#define OAUTH_SLACK_MS 5000
#define OAUTH_REFUSED_MIN_MS 30000
#define OAUTH_REFUSED_MAX_MS (15 * 60000)
#define OAUTH_FAIL_MIN_MS 1000
#define OAUTH_FAIL_MAX_MS (5 * 60000)

void oauth_answer_clear(struct oauth_answer *a)
{
	explicit_bzero(a->access_token, sizeof(a->access_token));
	explicit_bzero(a->refresh_token, sizeof(a->refresh_token));
}

/* printable - `s` as printable ASCII into dst (others become '?'), cut. */
static void printable(char *dst, size_t size, const char *s)
{
	size_t i = 0;

	for (; s && s[i] && i + 1 < size; i++)
		dst[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	dst[i] = '\0';
}

/* why - the reason an answer cannot be read (never quoting a token). */
static int why(struct oauth_answer *out, const char *text)
{
	oauth_answer_clear(out);
	out->ok = 0;
	out->error[0] = '\0';
	snprintf(out->description, sizeof(out->description), "%s", text);
	return GW_EPROTO;
}

/* token_ok - a bearer token: printable ASCII, no blanks, bounded. */
static int token_ok(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	if (n == 0 || n > OAUTH_TOKEN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return 0;
	return 1;
}

/* expires - expires_in: a positive integer, a real, or a string of digits
 * (older endpoints send "3599"); absent: the default. 0 when unreadable. */
static int64_t expires(json_t *v)
{
	double d = 0;

	if (!v)
		return OAUTH_DEFAULT_EXPIRES_S;
	if (json_is_number(v)) {
		d = json_number_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = strspn(s, "0123456789");

		if (n == 0 || n > 12 || s[n])
			return 0;
		for (size_t i = 0; i < n; i++)
			d = d * 10 + (s[i] - '0');
	}
	if (!(d >= 1))
		return 0;
	return d > (double)OAUTH_MAX_EXPIRES_S ? OAUTH_MAX_EXPIRES_S : (int64_t)d;
}

/* error_answer - {"error": "...", "error_description": "..."}. */
static int error_answer(json_t *doc, struct oauth_answer *out)
{
	const char *desc = json_string_value(json_object_get(doc, "error_description"));

	out->ok = 0;
	printable(out->error, sizeof(out->error), json_string_value(json_object_get(doc, "error")));
	printable(out->description, sizeof(out->description), desc ? desc : "");
	return GW_OK;
}

/* token_answer - {"access_token", "token_type", "expires_in"[, "refresh_token"]}. */
static int token_answer(json_t *doc, struct oauth_answer *out)
{
	const char *at = json_string_value(json_object_get(doc, "access_token"));
	const char *type = json_string_value(json_object_get(doc, "token_type"));
	const char *rt = json_string_value(json_object_get(doc, "refresh_token"));

	if (!token_ok(at))
		return why(out, "the answer has no usable access_token");
	if (!type || strcasecmp(type, "bearer") != 0)
		return why(out, "the answer's token_type is not Bearer");
	out->expires_in_s = expires(json_object_get(doc, "expires_in"));
	if (out->expires_in_s <= 0)
		return why(out, "the answer's expires_in is not a positive number");
	if (rt && !token_ok(rt))
		return why(out, "the answer's refresh_token is not usable");
	memcpy(out->access_token, at, strlen(at) + 1);
	if (rt)
		memcpy(out->refresh_token, rt, strlen(rt) + 1);
	out->ok = 1;
	return GW_OK;
}

int oauth_parse_answer(long status, const char *body, size_t len, struct oauth_answer *out)
{
	json_error_t jerr;
	json_t *doc;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!body || len == 0 || len > OAUTH_ANSWER_MAX)
		return why(out, len ? "the answer is too large" : "the answer is empty");
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(doc)) {
		json_decref(doc);
		snprintf(out->description, sizeof(out->description), "HTTP %ld, not a JSON object",
			 status);
		return GW_EPROTO;
	}
	if (json_is_string(json_object_get(doc, "error")))
		rc = error_answer(doc, out);
	else if (status == 200)
		rc = token_answer(doc, out);
	else
		rc = why(out, "an HTTP error without an OAuth error code");
	if (rc == GW_EPROTO && status != 200 && !out->error[0])
		snprintf(out->description, sizeof(out->description),
			 "HTTP %ld without an OAuth error code", status);
	json_decref(doc);
	return rc;
}

int64_t oauth_refresh_at(int64_t obtained_ms, int64_t expires_in_s, int64_t margin_s)
{
	int64_t life = expires_in_s * 1000, margin = margin_s * 1000;

	if (margin > life / 4)
		margin = life / 4;
	if (margin < 0)
		margin = 0;
	return obtained_ms + life - margin;
}

int64_t oauth_usable_until(int64_t obtained_ms, int64_t expires_in_s)
{
	int64_t life = expires_in_s * 1000, slack = OAUTH_SLACK_MS;

	if (slack > life / 10)
		slack = life / 10;
	return obtained_ms + life - slack;
}

int64_t oauth_backoff_ms(int failures, int refused)
{
	int64_t ms = refused ? OAUTH_REFUSED_MIN_MS : OAUTH_FAIL_MIN_MS;
	int64_t max = refused ? OAUTH_REFUSED_MAX_MS : OAUTH_FAIL_MAX_MS;

	for (int i = 1; i < failures && ms < max; i++)
		ms *= 2;
	return ms < max ? ms : max;
}

int oauth_refused_error(const char *error)
{
	static const char *const codes[] = {"invalid_grant", "invalid_client",
					    "unauthorized_client", "unsupported_grant_type",
					    "invalid_scope", NULL};

	for (size_t i = 0; error && codes[i]; i++)
		if (strcmp(error, codes[i]) == 0)
			return 1;
	return 0;
}

/*
 * api_callback.c - the callback body of a reply, its signature and the
 * reading of the client's answer (api_callback.h).
 *
 * JSON is built with jansson, the HMAC and base64 come from OpenSSL and the
 * URL is read by libcurl's parser: nothing here parses or encodes by hand
 * what those libraries do.
 */
#include "connectors/api/api_callback.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/err.h"
#include "core/sign.h"
#include "core/util.h"
#include "store/attachments.h"

#define API_CB_PATH_MAX 4096

static int cb_fail(char *why, size_t whylen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int cb_fail(char *why, size_t whylen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	gw_utf8_trim(why);
	return rc;
}

/* cb_set - obj[key] = v (stolen); GW_ENOMEM when v is NULL or it fails. */
static int cb_set(json_t *obj, const char *key, json_t *v)
{
	return v && json_object_set_new(obj, key, v) == 0 ? GW_OK : GW_ENOMEM;
}

/* cb_set_str - obj[key] = s when s is set and not empty. */
static int cb_set_str(json_t *obj, const char *key, const char *s)
{
	return s && s[0] ? cb_set(obj, key, json_string(s)) : GW_OK;
}

/* ---- attachments ---------------------------------------------------------- */

/* cb_read_blob - the stored file of digest `hex`, within *budget bytes
 * (decreased by its size); *data is the caller's. */
static int cb_read_blob(const struct api_cb_files *f, const char *name, const char *hex,
			uint64_t *budget, char **data, size_t *len, char *why, size_t whylen)
{
	char path[API_CB_PATH_MAX];
	struct stat st;
	int rc;

	if (!f->dir || attach_path(f->dir, hex, path, sizeof(path)) != GW_OK)
		return cb_fail(why, whylen, GW_EINVAL, "attachment \"%.64s\": \"%.80s\" is not a "
			       "stored file reference", name, hex);
	if (stat(path, &st) != 0)
		return cb_fail(why, whylen, GW_ENOTFOUND, "attachment \"%.64s\": the stored file "
			       "sha256:%.64s is missing", name, hex);
	if ((uint64_t)st.st_size > *budget)
		return cb_fail(why, whylen, GW_ETOOBIG, "attachments: the stored files are over "
			       "callback_max_inline_bytes (\"%.64s\" is %lld bytes)", name,
			       (long long)st.st_size);
	rc = gw_read_file(path, (size_t)st.st_size, data, len);
	if (rc == GW_ETOOBIG || rc == GW_ENOTFOUND)
		rc = GW_EIO; /* changed under us: a content-addressed file does not */
	if (rc != GW_OK)
		return cb_fail(why, whylen, rc, "attachment \"%.64s\": cannot read the stored "
			       "file: %s", name, gw_strerror(rc));
	*budget -= *len;
	return GW_OK;
}

/* cb_inline - a stored attachment sent inline: "sha256", "size", "data". */
static int cb_inline(json_t *o, const struct proto_attachment *a, const struct api_cb_files *f,
		     uint64_t *budget, char *why, size_t whylen)
{
	const char *hex = a->ref + strlen(ATTACH_REF_PREFIX);
	unsigned char *b64 = NULL;
	char *data = NULL;
	size_t len = 0, blen;
	int rc;

	rc = cb_read_blob(f, a->name, hex, budget, &data, &len, why, whylen);
	if (rc != GW_OK)
		return rc;
	blen = 4 * ((len + 2) / 3);
	b64 = malloc(blen + 1);
	rc = GW_ENOMEM;
	if (b64 && (size_t)EVP_EncodeBlock(b64, (const unsigned char *)data, (int)len) == blen &&
	    cb_set(o, "sha256", json_string(hex)) == GW_OK &&
	    cb_set(o, "size", json_integer((json_int_t)len)) == GW_OK)
		rc = cb_set(o, "data", json_stringn((const char *)b64, blen));
	if (rc != GW_OK)
		cb_fail(why, whylen, rc, "out of memory");
	free(b64);
	free(data);
	return rc;
}

static int cb_attachments(json_t *root, const struct proto_message *m,
			  const struct api_cb_files *f, char *why, size_t whylen)
{
	json_t *arr = json_array();
	uint64_t budget = f->inline_max;
	size_t plen = strlen(ATTACH_REF_PREFIX);
	int rc = cb_set(root, "attachments", arr);

	for (size_t i = 0; rc == GW_OK && i < m->attachments_len; i++) {
		const struct proto_attachment *a = &m->attachments[i];
		json_t *o = json_pack("{s:s,s:s,s:I}", "name", a->name, "type", a->type, "size",
				      (json_int_t)a->size);

		rc = o && json_array_append_new(arr, o) == 0 ? GW_OK : GW_ENOMEM;
		if (rc == GW_OK && strncmp(a->ref, ATTACH_REF_PREFIX, plen) == 0)
			rc = cb_inline(o, a, f, &budget, why, whylen);
		else if (rc == GW_OK)
			rc = cb_set(o, "url", json_string(a->ref));
	}
	if (rc == GW_ENOMEM && !why[0])
		cb_fail(why, whylen, rc, "out of memory");
	return rc;
}

/* ---- the body --------------------------------------------------------------- */

static int cb_template(json_t *root, const struct proto_template *t, char *why, size_t whylen)
{
	json_t *o, *params = json_array(), *comp;
	json_error_t jerr;
	int rc;

	o = json_pack("{s:s,s:s,s:o}", "name", t->name, "language", t->language, "params", params);
	rc = cb_set(root, "template", o);
	for (size_t i = 0; rc == GW_OK && i < t->params_len; i++)
		rc = json_array_append_new(params, json_string(t->params[i])) == 0 ? GW_OK
										    : GW_ENOMEM;
	if (rc != GW_OK)
		return cb_fail(why, whylen, rc, "out of memory");
	if (!t->components)
		return GW_OK;
	comp = json_loads(t->components, JSON_REJECT_DUPLICATES, &jerr);
	if (!comp)
		return cb_fail(why, whylen, GW_EINVAL, "template.components: not JSON: %s",
			       jerr.text);
	return cb_set(o, "components", comp);
}

/* cb_head - type, id, delivery_id, ticket_id, to, text, subject, author,
 * automatic. */
static json_t *cb_head(const struct proto_message *m, uint64_t delivery_id)
{
	json_t *root, *to;

	to = json_pack("{s:s}", "id", m->to->address);
	if (to && cb_set_str(to, "name", m->to->name) != GW_OK) {
		json_decref(to);
		to = NULL;
	}
	root = json_pack("{s:s,s:s,s:I,s:o,s:o,s:s}", "type", API_CB_TYPE, "id", m->external_id,
			 "delivery_id", (json_int_t)delivery_id, "ticket_id",
			 m->ticket_id ? json_integer((json_int_t)m->ticket_id) : json_null(), "to",
			 to, "text", m->text ? m->text : "");
	if (root && (cb_set_str(root, "subject", m->subject) != GW_OK ||
		     cb_set_str(root, "author", m->from.name) != GW_OK ||
		     cb_set_str(root, "automatic", m->automatic) != GW_OK)) {
		json_decref(root);
		root = NULL;
	}
	return root;
}

static json_t *cb_build(const struct proto_event *ev, uint64_t delivery_id,
			const struct api_cb_files *f, int *rc, char *why, size_t whylen)
{
	const struct proto_message *m = &ev->u.message;
	json_t *root = cb_head(m, delivery_id);

	*rc = root ? GW_OK : cb_fail(why, whylen, GW_ENOMEM, "out of memory");
	if (*rc == GW_OK)
		*rc = cb_set(root, "in_reply_to", m->reply_to_len
			     ? json_string(m->reply_to[m->reply_to_len - 1]) : json_null());
	if (*rc == GW_OK)
		*rc = cb_attachments(root, m, f, why, whylen);
	if (*rc == GW_OK && m->tmpl)
		*rc = cb_template(root, m->tmpl, why, whylen);
	if (*rc == GW_OK)
		*rc = cb_set(root, "created_at", json_integer((json_int_t)ev->ts));
	if (*rc == GW_ENOMEM && !why[0])
		cb_fail(why, whylen, *rc, "out of memory");
	if (*rc != GW_OK) {
		json_decref(root);
		root = NULL;
	}
	return root;
}

int api_callback_payload(const struct proto_event *ev, uint64_t delivery_id,
			 const struct api_cb_files *files, char **out, size_t *len, char *why,
			 size_t whylen)
{
	const struct proto_message *m = &ev->u.message;
	json_t *root = NULL;
	int rc;

	*out = NULL;
	*len = 0;
	why[0] = '\0';
	if (ev->type != PROTO_T_MESSAGE_SENT || !m->external_id || !m->to || !m->to->address)
		return cb_fail(why, whylen, GW_EINVAL, "not a reply to a customer");
	root = cb_build(ev, delivery_id, files, &rc, why, whylen);
	if (rc != GW_OK)
		goto out;
	*out = json_dumps(root, JSON_COMPACT);
	if (!*out) {
		rc = cb_fail(why, whylen, GW_ENOMEM, "out of memory");
		goto out;
	}
	*len = strlen(*out);
out:
	json_decref(root);
	return rc;
}

/* ---- the signature ------------------------------------------------------------ */

int api_callback_sign(const void *secret, size_t secret_len, int64_t t, const void *body,
		      size_t len, char *out, size_t outlen)
{
	/* The scheme is shared with the integration webhooks (core/sign.h). */
	return gw_sign(secret, secret_len, t, body, len, out, outlen);
}

/* ---- the answer ------------------------------------------------------------------ */

/* cb_excerpt_copy - the first `max` bytes of body into out, control
 * characters as single spaces, bytes over 0x7f kept (`ascii`: as '?');
 * returns 1 when some of the body did not fit. */
static int cb_excerpt_copy(const char *body, size_t len, char *out, size_t max, int ascii)
{
	size_t o = 0, i;

	for (i = 0; i < len && o < max; i++) {
		unsigned char c = (unsigned char)body[i];

		if (c < 0x20 || c == 0x7f || c == ' ') {
			if (o > 0 && out[o - 1] != ' ')
				out[o++] = ' ';
		} else {
			out[o++] = c >= 0x80 && ascii ? '?' : (char)c;
		}
	}
	out[o] = '\0';
	return i < len;
}

void api_callback_excerpt(const char *body, size_t len, char *out, size_t outlen)
{
	size_t max, n;
	json_t *check;
	int more;

	if (outlen == 0)
		return;
	max = outlen - 1 < API_CB_EXCERPT_MAX ? outlen - 1 : API_CB_EXCERPT_MAX;
	more = cb_excerpt_copy(body, len, out, max, 0);
	/* A character cut at the end is dropped; anything else that is not
	 * UTF-8 (jansson checks) is copied again as ASCII. */
	gw_utf8_trim(out);
	check = json_string(out);
	if (!check)
		more = cb_excerpt_copy(body, len, out, max, 1);
	json_decref(check);
	n = strlen(out);
	while (n > 0 && out[n - 1] == ' ')
		out[--n] = '\0';
	if (more && max >= 3) {
		if (n > max - 3) {
			out[max - 3] = '\0';
			gw_utf8_trim(out);
			n = strlen(out);
		}
		memcpy(out + n, "...", 4);
	}
}

static void cb_reason(struct sender_outcome *out, long status, const char *what,
		      const struct sender_attempt *a)
{
	char ex[API_CB_EXCERPT_MAX + 1];

	api_callback_excerpt(a->body ? a->body : "", a->body ? a->body_len : 0, ex, sizeof(ex));
	snprintf(out->reason, sizeof(out->reason), "callback answered %ld%s%s%s", status, what,
		 ex[0] ? ": " : "", ex);
	gw_utf8_trim(out->reason);
}

void api_callback_judge(const struct sender_attempt *a, const char *account,
			const char *reply_id, struct sender_outcome *out)
{
	long st = a->status;

	if (a->err != GW_OK) {
		out->verdict = SENDER_RETRY;
		snprintf(out->reason, sizeof(out->reason), "callback: %s",
			 a->error && a->error[0] ? a->error : gw_strerror(a->err));
		gw_utf8_trim(out->reason);
	} else if (st >= 200 && st <= 299) {
		out->verdict = SENDER_DONE;
		snprintf(out->ref_account, sizeof(out->ref_account), "%s", account);
		snprintf(out->ref_id, sizeof(out->ref_id), "%s", reply_id);
	} else if (st == 408 || st == 429 || (st >= 500 && st <= 599)) {
		out->verdict = SENDER_RETRY;
		out->retry_after_ms = a->retry_after_ms > 0 ? a->retry_after_ms : 0;
		out->slow_down = st == 429;
		cb_reason(out, st, "", a);
	} else if (st == 401 || st == 403) {
		out->verdict = SENDER_FAIL;
		out->auth = 1;
		cb_reason(out, st, " (the receiver refuses the signature: check callback_secret)",
			  a);
	} else {
		out->verdict = SENDER_FAIL;
		cb_reason(out, st, st >= 300 && st <= 399 ? " (redirects are not followed: set "
			  "callback_url to the final URL)" : "", a);
	}
}

/* ---- the URL ------------------------------------------------------------------------ */

/* cb_loopback - whether `host` (as libcurl gives it: IPv6 in brackets) is
 * this machine: 127.0.0.0/8, ::1 or localhost. */
static int cb_loopback(const char *host)
{
	char h[64];
	size_t n = strlen(host);
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(h)) {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
		return inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return 0;
}

/* cb_url_parts - the scheme and host of `url`; -1 (why set) when it is
 * not an absolute URL libcurl can use, or carries credentials. */
static int cb_url_parts(CURLU *u, const char *url, char **scheme, char **host, char *why,
			size_t whylen)
{
	char *user = NULL, *pass = NULL;
	int creds;

	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK) {
		snprintf(why, whylen, "callback_url: not an absolute http(s) URL");
		return -1;
	}
	creds = curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
		curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK;
	curl_free(user);
	curl_free(pass);
	if (creds) {
		snprintf(why, whylen, "callback_url: must not carry a user or a password (the "
			 "signature authenticates the gateway)");
		return -1;
	}
	return 0;
}

int api_callback_url_check(const char *url, bool insecure, char *why, size_t whylen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int rc = -1;

	if (!u) {
		snprintf(why, whylen, "callback_url: out of memory");
		return -1;
	}
	if (cb_url_parts(u, url, &scheme, &host, why, whylen) != 0)
		goto out;
	if (strcasecmp(scheme, "https") == 0)
		rc = 0;
	else if (strcasecmp(scheme, "http") != 0)
		snprintf(why, whylen, "callback_url: must be an http:// or https:// URL");
	else if (insecure || cb_loopback(host))
		rc = 0;
	else
		snprintf(why, whylen, "callback_url: plain http only to a loopback address; use "
			 "https, or set callback_insecure: true");
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

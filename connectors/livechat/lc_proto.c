/*
 * lc_proto.c - visitor tokens, site identities and client frames
 * (lc_proto.h).
 */
#include "connectors/livechat/lc_proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hmac.h"
#include "core/util.h"

#define LC_MAC_HEX 64
#define LC_TOKEN_PREFIX "v1."

/* Lowercase hex HMAC-SHA256 of `len` bytes of `data` under `key`. */
static int lc_hmac_hex(const char *key, const void *data, size_t len, char out[LC_MAC_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[LC_MAC_HEX / 2];

	if (gw_hmac_once("SHA256", key, strlen(key), data, len, mac, sizeof(mac)) != 0)
		return GW_EIO;
	for (size_t i = 0; i < sizeof(mac); i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[LC_MAC_HEX] = '\0';
	return GW_OK;
}

static int lc_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int lc_token_make(const char *secret, const char *visitor, int64_t expiry, char *out,
		  size_t outlen)
{
	char mac[LC_MAC_HEX + 1];
	int n, rc;

	if (strlen(visitor) != LC_VISITOR_LEN || !lc_is_hex(visitor, LC_VISITOR_LEN))
		return GW_EINVAL;
	n = snprintf(out, outlen, LC_TOKEN_PREFIX "%s.%lld", visitor, (long long)expiry);
	if (n < 0 || (size_t)n >= outlen)
		return GW_ETOOBIG;
	rc = lc_hmac_hex(secret, out, (size_t)n, mac);
	if (rc != GW_OK)
		return rc;
	if ((size_t)n + 1 + LC_MAC_HEX >= outlen)
		return GW_ETOOBIG;
	out[n] = '.';
	memcpy(out + n + 1, mac, LC_MAC_HEX + 1);
	return GW_OK;
}

int lc_token_verify(const char *secret, const char *token, int64_t now,
		    char visitor[LC_VISITOR_LEN + 1])
{
	const char *v, *e, *m;
	char mac[LC_MAC_HEX + 1], *end = NULL;
	long long expiry;
	int rc;

	if (!token || strlen(token) > LC_TOKEN_MAX ||
	    strncmp(token, LC_TOKEN_PREFIX, strlen(LC_TOKEN_PREFIX)) != 0)
		return GW_EPROTO;
	v = token + strlen(LC_TOKEN_PREFIX);
	e = strchr(v, '.');
	if (!e || e - v != LC_VISITOR_LEN || !lc_is_hex(v, LC_VISITOR_LEN))
		return GW_EPROTO;
	e++;
	m = strchr(e, '.');
	if (!m || m == e || m - e > 19)
		return GW_EPROTO;
	errno = 0;
	expiry = strtoll(e, &end, 10);
	if (errno || end != m || expiry <= 0)
		return GW_EPROTO;
	m++;
	if (strlen(m) != LC_MAC_HEX)
		return GW_EPROTO;
	rc = lc_hmac_hex(secret, token, (size_t)(m - 1 - token), mac);
	if (rc != GW_OK)
		return rc;
	if (!gw_ct_equal(mac, LC_MAC_HEX, m, LC_MAC_HEX) || expiry < now)
		return GW_EAUTH;
	memcpy(visitor, v, LC_VISITOR_LEN);
	visitor[LC_VISITOR_LEN] = '\0';
	return GW_OK;
}

/* ---- files keys ---------------------------------------------------------- */

#define LC_FILES_PREFIX "f1."

int lc_files_key_make(const char *secret, const char *conversation, int64_t expiry, char *out,
		      size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	char mac[LC_MAC_HEX + 1];
	size_t clen = strlen(conversation), n;
	int k, rc;

	if (clen == 0 || clen >= LC_ADDRESS_MAX)
		return GW_ETOOBIG;
	k = snprintf(out, outlen, LC_FILES_PREFIX "%lld.", (long long)expiry);
	if (k < 0 || (size_t)k + 2 * clen + 2 + LC_MAC_HEX >= outlen)
		return GW_ETOOBIG;
	n = (size_t)k;
	for (size_t i = 0; i < clen; i++) {
		out[n++] = hex[(unsigned char)conversation[i] >> 4];
		out[n++] = hex[(unsigned char)conversation[i] & 15];
	}
	rc = lc_hmac_hex(secret, out, n, mac);
	if (rc != GW_OK)
		return rc;
	out[n++] = '.';
	memcpy(out + n, mac, LC_MAC_HEX + 1);
	return GW_OK;
}

static int lc_unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int lc_files_key_verify(const char *secret, const char *key, int64_t now,
			char conversation[LC_ADDRESS_MAX])
{
	const char *e, *c, *m;
	char mac[LC_MAC_HEX + 1], *end = NULL;
	long long expiry;
	size_t klen = key ? strlen(key) : 0, hlen;
	int rc;

	if (!key || klen > LC_FILES_KEY_MAX || strncmp(key, LC_FILES_PREFIX, 3) != 0)
		return GW_EPROTO;
	e = key + 3;
	c = strchr(e, '.');
	m = strrchr(key, '.');
	if (!c || c == e || c - e > 19 || m <= c || strlen(m + 1) != LC_MAC_HEX)
		return GW_EPROTO;
	errno = 0;
	expiry = strtoll(e, &end, 10);
	hlen = (size_t)(m - c - 1);
	if (errno || end != c || expiry <= 0 || hlen == 0 || hlen % 2 ||
	    hlen / 2 >= LC_ADDRESS_MAX || !lc_is_hex(c + 1, hlen))
		return GW_EPROTO;
	rc = lc_hmac_hex(secret, key, (size_t)(m - key), mac);
	if (rc != GW_OK)
		return rc;
	if (!gw_ct_equal(mac, LC_MAC_HEX, m + 1, LC_MAC_HEX) || expiry < now)
		return GW_EAUTH;
	for (size_t i = 0; i < hlen / 2; i++)
		conversation[i] = (char)(lc_unhex(c[1 + 2 * i]) << 4 | lc_unhex(c[2 + 2 * i]));
	conversation[hlen / 2] = '\0';
	return strlen(conversation) == hlen / 2 ? GW_OK : GW_EPROTO;
}

/* identity[key] as a string of at most max bytes ("" when absent). */
static int lc_id_field(const json_t *identity, const char *key, size_t max, const char **out)
{
	const json_t *v = json_object_get(identity, key);

	*out = "";
	if (!v || json_is_null(v))
		return GW_OK;
	if (!json_is_string(v) || json_string_length(v) > max)
		return GW_EPROTO;
	/* The signed text joins the fields with '|': a field holding one could
	 * be split differently under the same signature. */
	if (strchr(json_string_value(v), '|'))
		return GW_EPROTO;
	*out = json_string_value(v);
	return GW_OK;
}

int lc_identity_verify(const char *secret, const json_t *identity)
{
	const char *id, *name, *email, *sig;
	char buf[LC_SITE_ID_MAX + LC_NAME_MAX + LC_EMAIL_MAX + 3], mac[LC_MAC_HEX + 1];
	int n;

	if (!secret || !secret[0] || !json_is_object(identity))
		return GW_EPROTO;
	if (lc_id_field(identity, "id", LC_SITE_ID_MAX, &id) ||
	    lc_id_field(identity, "name", LC_NAME_MAX, &name) ||
	    lc_id_field(identity, "email", LC_EMAIL_MAX, &email) ||
	    lc_id_field(identity, "sig", LC_MAC_HEX, &sig) || !id[0])
		return GW_EPROTO;
	n = snprintf(buf, sizeof(buf), "%s|%s|%s", id, email, name);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return GW_EPROTO;
	if (lc_hmac_hex(secret, buf, (size_t)n, mac) != GW_OK)
		return GW_EIO;
	if (strlen(sig) != LC_MAC_HEX || !gw_ct_equal(mac, LC_MAC_HEX, sig, LC_MAC_HEX))
		return GW_EAUTH;
	return GW_OK;
}

/* ---- texts per language ---------------------------------------------------- */

/* The item of `list` for language `want` (2-8 letters); its text in *text. */
static int lc_text_item(const char *list, const char *want, const char **text, size_t *len)
{
	size_t wl = want ? strlen(want) : 0;

	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, '|'), *eq = strchr(p, '=');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (!want || (eq && eq < p + n && (size_t)(eq - p) == wl && strncmp(p, want, wl) == 0)) {
			int tagged = eq && eq < p + n && eq - p <= 8;

			*text = tagged ? eq + 1 : p;
			*len = n - (size_t)(*text - p);
			return 1;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

int lc_text_for(const char *list, const char *lang, char *out, size_t outlen)
{
	char primary[9] = "";
	const char *text = NULL;
	size_t len = 0, i;

	out[0] = '\0';
	if (!list || !list[0])
		return GW_ENOTFOUND;
	for (i = 0; lang && i < 8 && lang[i] && lang[i] != '-' && lang[i] != '_'; i++)
		primary[i] = (char)(lang[i] >= 'A' && lang[i] <= 'Z' ? lang[i] - 'A' + 'a' : lang[i]);
	primary[i] = '\0';
	if (!(primary[0] && lc_text_item(list, primary, &text, &len)) &&
	    !lc_text_item(list, "en", &text, &len))
		lc_text_item(list, NULL, &text, &len);
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, text, len);
	out[len] = '\0';
	gw_utf8_trim(out);
	return GW_OK;
}

/* ---- frames ---------------------------------------------------------------- */

static int lc_fail(char *why, size_t whylen, int rc, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return rc;
}

/* root[key] as an optional string of at most max bytes. */
static int lc_opt_str(const json_t *root, const char *key, size_t max, const char **out)
{
	const json_t *v = json_object_get(root, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return GW_OK;
	if (!json_is_string(v) || json_string_length(v) > max)
		return GW_EPROTO;
	*out = json_string_value(v);
	return GW_OK;
}

/* root[key] as an optional positive integer (0 when absent or null). */
static int lc_opt_int(const json_t *root, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(root, key);

	*out = 0;
	if (!v || json_is_null(v))
		return GW_OK;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return GW_EPROTO;
	*out = json_integer_value(v);
	return GW_OK;
}

static int lc_parse_hello(struct lc_frame *f, char *why, size_t whylen)
{
	const json_t *id = json_object_get(f->root, "identity");

	f->type = LC_F_HELLO;
	if (lc_opt_str(f->root, "lang", 35, &f->lang))
		return lc_fail(why, whylen, GW_EPROTO, "lang must be a short string or null");
	if (lc_opt_str(f->root, "token", LC_TOKEN_MAX, &f->token))
		return lc_fail(why, whylen, GW_EPROTO, "token must be a string or null");
	if (lc_opt_int(f->root, "last_seen", &f->last_seen))
		return lc_fail(why, whylen, GW_EPROTO, "last_seen must be an id or null");
	if (id && !json_is_null(id)) {
		if (!json_is_object(id))
			return lc_fail(why, whylen, GW_EPROTO, "identity must be an object");
		f->identity = id;
	}
	return GW_OK;
}

static int lc_client_id_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

/* attachments: [{"ref":"sha256:<hex>"}, ...], optional. */
static int lc_parse_files(struct lc_frame *f, char *why, size_t whylen)
{
	const json_t *arr = json_object_get(f->root, "attachments"), *a;
	size_t i;

	if (!arr || json_is_null(arr))
		return GW_OK;
	if (!json_is_array(arr) || json_array_size(arr) > LC_MSG_FILES_MAX)
		return lc_fail(why, whylen, GW_EPROTO, "attachments must be an array of at most 10");
	json_array_foreach(arr, i, a) {
		const char *ref = json_string_value(json_object_get(a, "ref"));

		if (!ref || strlen(ref) != LC_REF_LEN || strncmp(ref, "sha256:", 7) != 0 ||
		    !lc_is_hex(ref + 7, 64))
			return lc_fail(why, whylen, GW_EPROTO,
				       "an attachment is {\"ref\":\"sha256:<64 hex digits>\"}");
		f->files[f->n_files++] = ref + 7;
	}
	return GW_OK;
}

static int lc_parse_message(struct lc_frame *f, size_t max_text, char *why, size_t whylen)
{
	const json_t *text = json_object_get(f->root, "text");
	int rc;

	f->type = LC_F_MESSAGE;
	if (lc_opt_str(f->root, "client_id", LC_CLIENT_ID_MAX, &f->client_id) || !f->client_id ||
	    !f->client_id[0] || !lc_client_id_ok(f->client_id))
		return lc_fail(why, whylen, GW_EPROTO,
			       "client_id must be 1-64 characters of [A-Za-z0-9_-]");
	rc = lc_parse_files(f, why, whylen);
	if (rc != GW_OK)
		return rc;
	if (!json_is_string(text))
		return lc_fail(why, whylen, GW_EPROTO, "text must be a string");
	f->text = json_string_value(text);
	f->text_len = json_string_length(text);
	if ((f->text_len == 0 && f->n_files == 0) || strlen(f->text) != f->text_len)
		return lc_fail(why, whylen, GW_EPROTO,
			       "text must be without NUL, and non-empty without attachments");
	if (f->text_len > max_text)
		return lc_fail(why, whylen, GW_ETOOBIG, "text is longer than max_message_bytes");
	if (lc_opt_str(f->root, "name", LC_NAME_MAX, &f->name) ||
	    lc_opt_str(f->root, "email", LC_EMAIL_MAX, &f->email))
		return lc_fail(why, whylen, GW_EPROTO, "name and email must be short strings");
	return GW_OK;
}

int lc_frame_parse(const char *data, size_t len, size_t max_text, struct lc_frame *f,
		   char *why, size_t whylen)
{
	json_error_t jerr;
	const char *type;

	memset(f, 0, sizeof(*f));
	f->root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(f->root))
		return lc_fail(why, whylen, GW_EPROTO, "a frame is one JSON object");
	type = json_string_value(json_object_get(f->root, "type"));
	if (!type)
		return lc_fail(why, whylen, GW_EPROTO, "type is missing");
	if (strcmp(type, "hello") == 0)
		return lc_parse_hello(f, why, whylen);
	if (strcmp(type, "message") == 0)
		return lc_parse_message(f, max_text, why, whylen);
	if (strcmp(type, "ping") == 0) {
		f->type = LC_F_PING;
		return GW_OK;
	}
	if (strcmp(type, "typing") == 0) {
		f->type = LC_F_TYPING;
		return GW_OK;
	}
	if (strcmp(type, "seen") == 0) {
		f->type = LC_F_SEEN;
		if (lc_opt_int(f->root, "id", &f->seen_id) || f->seen_id <= 0)
			return lc_fail(why, whylen, GW_EPROTO, "seen needs a message id");
		return GW_OK;
	}
	return lc_fail(why, whylen, GW_EPROTO, "unknown frame type");
}

void lc_frame_clear(struct lc_frame *f)
{
	json_decref(f->root);
	memset(f, 0, sizeof(*f));
}

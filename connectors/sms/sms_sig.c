/*
 * sms_sig.c - X-Twilio-Signature (sms_sig.h).
 *
 * The signed string is never built: the URL and each sorted pair are fed
 * to one HMAC in turn. Our signature is encoded in base64 and compared
 * with the header's 28 characters by CRYPTO_memcmp, whose time does not
 * depend on where they differ.
 */
#include "connectors/sms/sms_sig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/err.h"
#include "core/hmac.h"

#define SMS_SIG_DIGEST 20 /* SHA-1 */
#define SMS_SIG_VARIANTS 2 /* the URL, and without its port or with the default one */

/* The key: the auth token's HMAC-SHA1, keyed once (core/hmac.h). */
struct sms_sig_key {
	struct gw_hmac *mac;
};

struct sms_sig_key *sms_sig_key_new(const void *token, size_t len)
{
	struct sms_sig_key *key = calloc(1, sizeof(*key));

	if (key)
		key->mac = gw_hmac_new("SHA1", token, len);
	if (key && !key->mac) {
		free(key);
		key = NULL;
	}
	return key;
}

void sms_sig_key_free(struct sms_sig_key *key)
{
	if (!key)
		return;
	gw_hmac_free(key->mac); /* clears the key material */
	free(key);
}

/* By name, then by value (byte order: Unicode code point order for UTF-8). */
static int sig_pair_cmp(const void *a, const void *b)
{
	const struct sms_pair *x = *(const struct sms_pair *const *)a;
	const struct sms_pair *y = *(const struct sms_pair *const *)b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* sig_feed - the sorted pairs into the MAC, each distinct pair once. */
static int sig_feed(struct gw_hmac *mac, const struct sms_form *f)
{
	const struct sms_pair *order[SMS_FORM_MAX_PAIRS];

	for (size_t i = 0; i < f->n; i++)
		order[i] = &f->pair[i];
	qsort(order, f->n, sizeof(order[0]), sig_pair_cmp);
	for (size_t i = 0; i < f->n; i++) {
		const struct sms_pair *p = order[i];

		if (i > 0 && sig_pair_cmp(&order[i - 1], &order[i]) == 0)
			continue;
		if (gw_hmac_update(mac, p->name, strlen(p->name)) != 0 ||
		    gw_hmac_update(mac, p->value, p->value_len) != 0)
			return -1;
	}
	return 0;
}

int sms_sig_sign(struct sms_sig_key *key, const char *url, const struct sms_form *f,
		 char out[SMS_SIG_B64_LEN + 1])
{
	unsigned char md[SMS_SIG_DIGEST];

	if (gw_hmac_begin(key->mac) != 0 || gw_hmac_update(key->mac, url, strlen(url)) != 0 ||
	    sig_feed(key->mac, f) != 0 || gw_hmac_end(key->mac, md, sizeof(md)) != 0)
		return GW_EIO;
	if (EVP_EncodeBlock((unsigned char *)out, md, SMS_SIG_DIGEST) != SMS_SIG_B64_LEN)
		return GW_EIO;
	OPENSSL_cleanse(md, sizeof(md));
	return GW_OK;
}

/* sig_b64 - the header is 28 characters of base64 with its one '='. */
static int sig_b64(const char *h)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789+/";

	return strlen(h) == SMS_SIG_B64_LEN && h[SMS_SIG_B64_LEN - 1] == '=' &&
	       strspn(h, alphabet) == SMS_SIG_B64_LEN - 1;
}

/*
 * sig_variants - `url`, then the same without its port or with the
 * scheme's default port, into v[] (each SMS_SIG_URL_MAX + 8 bytes);
 * returns how many (1 for a URL that is not http(s)).
 */
static int sig_variants(const char *url, char v[][SMS_SIG_URL_MAX + 8])
{
	int https = strncasecmp(url, "https://", 8) == 0;
	const char *host = https ? url + 8 : strncasecmp(url, "http://", 7) == 0 ? url + 7 : NULL;
	const char *end, *rest;

	snprintf(v[0], SMS_SIG_URL_MAX + 8, "%s", url);
	if (!host)
		return 1;
	end = host[0] == '[' ? strchr(host, ']') : NULL;
	end = end ? end + 1 : host + strcspn(host, ":/?#");
	if (*end == ':') {
		rest = end + strcspn(end, "/?#");
		snprintf(v[1], SMS_SIG_URL_MAX + 8, "%.*s%s", (int)(end - url), url, rest);
	} else {
		snprintf(v[1], SMS_SIG_URL_MAX + 8, "%.*s%s%s", (int)(end - url), url,
			 https ? ":443" : ":80", end);
	}
	return 2;
}

int sms_sig_verify(struct sms_sig_key *key, const char *url, const struct sms_form *f,
		   const char *header)
{
	char v[SMS_SIG_VARIANTS][SMS_SIG_URL_MAX + 8], ours[SMS_SIG_B64_LEN + 1];
	int n, match = 0;

	if (!header || !header[0])
		return SMS_SIG_MISSING;
	if (!sig_b64(header))
		return SMS_SIG_MALFORMED;
	if (strlen(url) > SMS_SIG_URL_MAX)
		return SMS_SIG_ERROR;
	n = sig_variants(url, v);
	/* Every variant is computed: the time does not say which matched. */
	for (int i = 0; i < n; i++) {
		if (sms_sig_sign(key, v[i], f, ours) != GW_OK)
			return SMS_SIG_ERROR;
		match |= CRYPTO_memcmp(ours, header, SMS_SIG_B64_LEN) == 0;
	}
	OPENSSL_cleanse(ours, sizeof(ours));
	return match ? SMS_SIG_OK : SMS_SIG_MISMATCH;
}

const char *sms_sig_result_name(int result)
{
	switch (result) {
	case SMS_SIG_OK: return "ok";
	case SMS_SIG_MISSING: return "missing";
	case SMS_SIG_MALFORMED: return "malformed";
	case SMS_SIG_MISMATCH: return "mismatch";
	default: return "error";
	}
}

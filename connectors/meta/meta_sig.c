/*
 * meta_sig.c - X-Hub-Signature-256 verification (meta_sig.h).
 *
 * The header is parsed strictly (prefix, then exactly 64 hex digits and
 * nothing else) into the 32 digest bytes, which are compared with
 * CRYPTO_memcmp: the time taken does not depend on where they differ.
 */
#include "connectors/meta/meta_sig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/err.h"
#include "core/hmac.h"

#define META_SIG_DIGEST 32

static int meta_sig_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "sha256=" + 64 hex digits into `digest`; 0, or -1 when malformed. */
static int meta_sig_parse(const char *header, unsigned char digest[META_SIG_DIGEST])
{
	size_t plen = strlen(META_SIG_PREFIX);

	if (strncmp(header, META_SIG_PREFIX, plen) != 0)
		return -1;
	header += plen;
	if (strlen(header) != META_SIG_HEX_LEN)
		return -1;
	for (size_t i = 0; i < META_SIG_DIGEST; i++) {
		int hi = meta_sig_hexval(header[2 * i]);
		int lo = meta_sig_hexval(header[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		digest[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* The key: the app secret's HMAC-SHA256, keyed once (core/hmac.h). */
struct meta_sig_key {
	struct gw_hmac *mac;
};

struct meta_sig_key *meta_sig_key_new(const void *secret, size_t secret_len)
{
	struct meta_sig_key *key = calloc(1, sizeof(*key));

	if (key)
		key->mac = gw_hmac_new("SHA256", secret, secret_len);
	if (key && !key->mac) {
		free(key);
		key = NULL;
	}
	return key;
}

void meta_sig_key_free(struct meta_sig_key *key)
{
	if (!key)
		return;
	gw_hmac_free(key->mac); /* clears the key material */
	free(key);
}

/* HMAC-SHA256 of the body; 0, or -1 when OpenSSL failed. */
static int meta_sig_hmac(struct meta_sig_key *key, const void *body, size_t len,
			 unsigned char digest[META_SIG_DIGEST])
{
	if (gw_hmac_begin(key->mac) != 0 || gw_hmac_update(key->mac, body, len) != 0)
		return -1;
	return gw_hmac_end(key->mac, digest, META_SIG_DIGEST);
}

int meta_sig_key_verify(struct meta_sig_key *key, const void *body, size_t len,
			const char *header)
{
	unsigned char want[META_SIG_DIGEST], got[META_SIG_DIGEST];
	int rc;

	if (!header || !header[0])
		return META_SIG_MISSING;
	if (meta_sig_parse(header, got) != 0)
		return META_SIG_MALFORMED;
	if (meta_sig_hmac(key, body, len, want) != 0)
		return META_SIG_ERROR;
	rc = CRYPTO_memcmp(want, got, sizeof(want)) == 0 ? META_SIG_OK : META_SIG_MISMATCH;
	OPENSSL_cleanse(want, sizeof(want));
	return rc;
}

int meta_sig_key_sign(struct meta_sig_key *key, const void *body, size_t len,
		      char out[META_SIG_VALUE_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[META_SIG_DIGEST];
	size_t plen = strlen(META_SIG_PREFIX);

	if (meta_sig_hmac(key, body, len, d) != 0)
		return GW_EIO;
	memcpy(out, META_SIG_PREFIX, plen);
	for (size_t i = 0; i < META_SIG_DIGEST; i++) {
		out[plen + 2 * i] = hex[d[i] >> 4];
		out[plen + 2 * i + 1] = hex[d[i] & 15];
	}
	out[plen + 2 * META_SIG_DIGEST] = '\0';
	return GW_OK;
}

int meta_sig_verify(const void *secret, size_t secret_len, const void *body, size_t len,
		    const char *header)
{
	struct meta_sig_key *key = meta_sig_key_new(secret, secret_len);
	int rc;

	if (!key)
		return META_SIG_ERROR;
	rc = meta_sig_key_verify(key, body, len, header);
	meta_sig_key_free(key);
	return rc;
}

int meta_sig_sign(const void *secret, size_t secret_len, const void *body, size_t len,
		  char out[META_SIG_VALUE_MAX + 1])
{
	struct meta_sig_key *key = meta_sig_key_new(secret, secret_len);
	int rc;

	if (!key)
		return GW_ENOMEM;
	rc = meta_sig_key_sign(key, body, len, out);
	meta_sig_key_free(key);
	return rc;
}

const char *meta_sig_result_name(int result)
{
	switch (result) {
	case META_SIG_OK: return "ok";
	case META_SIG_MISSING: return "missing";
	case META_SIG_MALFORMED: return "malformed";
	case META_SIG_MISMATCH: return "mismatch";
	default: return "error";
	}
}

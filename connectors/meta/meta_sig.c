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

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "core/err.h"

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

/*
 * The key: an HMAC-SHA256 context keyed once. OpenSSL's one-shot HMAC()
 * looks the algorithm up and sets the key on every call, which costs three
 * times the hash of a typical webhook; EVP_MAC_init() with a NULL key
 * starts a new MAC with the key already set.
 */
struct meta_sig_key {
	EVP_MAC_CTX *ctx;
};

struct meta_sig_key *meta_sig_key_new(const void *secret, size_t secret_len)
{
	static const unsigned char none;
	char digest_name[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
		OSSL_PARAM_construct_end(),
	};
	struct meta_sig_key *key = calloc(1, sizeof(*key));
	EVP_MAC *mac = NULL;

	if (!key)
		return NULL;
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		goto fail;
	key->ctx = EVP_MAC_CTX_new(mac); /* holds its own reference to mac */
	if (!key->ctx)
		goto fail;
	/* An empty secret is still a key (HMAC pads it); OpenSSL wants a
	 * non-NULL pointer to tell "this key" from "the key set before". */
	if (!EVP_MAC_init(key->ctx, secret_len ? secret : &none, secret_len, params))
		goto fail;
	EVP_MAC_free(mac);
	return key;
fail:
	EVP_MAC_free(mac);
	meta_sig_key_free(key);
	return NULL;
}

void meta_sig_key_free(struct meta_sig_key *key)
{
	if (!key)
		return;
	EVP_MAC_CTX_free(key->ctx); /* clears the key material */
	free(key);
}

/* HMAC-SHA256 of the body; 0, or -1 when OpenSSL failed. */
static int meta_sig_hmac(struct meta_sig_key *key, const void *body, size_t len,
			 unsigned char digest[META_SIG_DIGEST])
{
	size_t dlen = 0;

	if (!EVP_MAC_init(key->ctx, NULL, 0, NULL) ||
	    (len && !EVP_MAC_update(key->ctx, body, len)) ||
	    !EVP_MAC_final(key->ctx, digest, &dlen, META_SIG_DIGEST))
		return -1;
	return dlen == META_SIG_DIGEST ? 0 : -1;
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

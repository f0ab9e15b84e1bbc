/*
 * sign.c - HMAC-SHA256 signatures of bodies the gateway sends (sign.h),
 * with OpenSSL's EVP_MAC.
 */
#include "core/sign.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "core/err.h"

#define SIGN_DIGEST 32

/* sign_hmac - HMAC-SHA256(secret, ts "." body) into d. 0, or -1 (OpenSSL). */
static int sign_hmac(const void *secret, size_t slen, const char *ts, const void *body,
		     size_t len, unsigned char d[SIGN_DIGEST])
{
	static const unsigned char none;
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	size_t dlen = 0;
	int ok;

	/* OpenSSL wants a non-NULL key pointer even for an empty key. */
	ok = ctx && EVP_MAC_init(ctx, slen ? secret : &none, slen, params) &&
	     EVP_MAC_update(ctx, (const unsigned char *)ts, strlen(ts)) &&
	     EVP_MAC_update(ctx, (const unsigned char *)".", 1) &&
	     (len == 0 || EVP_MAC_update(ctx, body, len)) &&
	     EVP_MAC_final(ctx, d, &dlen, SIGN_DIGEST) && dlen == SIGN_DIGEST;
	EVP_MAC_CTX_free(ctx); /* clears the key material */
	EVP_MAC_free(mac);
	return ok ? 0 : -1;
}

int gw_sign(const void *secret, size_t secret_len, int64_t t, const void *body, size_t len,
	    char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[SIGN_DIGEST];
	char ts[24];
	size_t n;

	if (t < 0 || outlen < GW_SIGN_MAX)
		return GW_EINVAL;
	snprintf(ts, sizeof(ts), "%lld", (long long)t);
	if (sign_hmac(secret, secret_len, ts, body, len, d) != 0)
		return GW_EIO;
	n = (size_t)snprintf(out, outlen, "t=%s,v1=", ts);
	for (size_t i = 0; i < SIGN_DIGEST; i++) {
		out[n++] = hex[d[i] >> 4];
		out[n++] = hex[d[i] & 15];
	}
	out[n] = '\0';
	OPENSSL_cleanse(d, sizeof(d));
	return GW_OK;
}

/*
 * sign.c - HMAC-SHA256 signatures of bodies the gateway sends (sign.h),
 * with the one-message HMAC of hmac.h.
 */
#include "core/sign.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/err.h"
#include "core/hmac.h"

#define SIGN_DIGEST 32

/* sign_hmac - HMAC-SHA256(secret, ts "." body) into d. 0, or -1 (OpenSSL). */
static int sign_hmac(const void *secret, size_t slen, const char *ts, const void *body,
		     size_t len, unsigned char d[SIGN_DIGEST])
{
	struct gw_hmac *h = gw_hmac_new("SHA256", secret, slen);
	int rc = h && gw_hmac_begin(h) == 0 && gw_hmac_update(h, ts, strlen(ts)) == 0 &&
			 gw_hmac_update(h, ".", 1) == 0 && gw_hmac_update(h, body, len) == 0 &&
			 gw_hmac_end(h, d, SIGN_DIGEST) == 0 ? 0 : -1;

	gw_hmac_free(h); /* clears the key material */
	return rc;
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

/*
 * hmac.c - an HMAC keyed once (hmac.h), on OpenSSL's EVP_MAC.
 */
#include "core/hmac.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

struct gw_hmac {
	EVP_MAC_CTX *ctx;
};

struct gw_hmac *gw_hmac_new(const char *digest, const void *key, size_t len)
{
	static const unsigned char none;
	char name[16];
	OSSL_PARAM params[2];
	struct gw_hmac *h = calloc(1, sizeof(*h));
	EVP_MAC *mac = h ? EVP_MAC_fetch(NULL, "HMAC", NULL) : NULL;

	/* The parameter reads the name's length when it is made: name first. */
	snprintf(name, sizeof(name), "%s", digest);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name, 0);
	params[1] = OSSL_PARAM_construct_end();

	if (mac)
		h->ctx = EVP_MAC_CTX_new(mac); /* holds its own reference to mac */
	EVP_MAC_free(mac);
	/* OpenSSL wants a non-NULL pointer for an empty key: "this key", not
	 * "the key set before". */
	if (!h || !h->ctx || !EVP_MAC_init(h->ctx, len ? key : &none, len, params)) {
		gw_hmac_free(h);
		return NULL;
	}
	return h;
}

void gw_hmac_free(struct gw_hmac *h)
{
	if (!h)
		return;
	EVP_MAC_CTX_free(h->ctx); /* clears the key material */
	free(h);
}

int gw_hmac_begin(struct gw_hmac *h)
{
	return EVP_MAC_init(h->ctx, NULL, 0, NULL) ? 0 : -1;
}

int gw_hmac_update(struct gw_hmac *h, const void *data, size_t len)
{
	return len == 0 || EVP_MAC_update(h->ctx, data, len) ? 0 : -1;
}

int gw_hmac_end(struct gw_hmac *h, unsigned char *out, size_t len)
{
	size_t got = 0;

	return EVP_MAC_final(h->ctx, out, &got, len) && got == len ? 0 : -1;
}

int gw_hmac_once(const char *digest, const void *key, size_t klen, const void *data,
		 size_t len, unsigned char *out, size_t outlen)
{
	struct gw_hmac *h = gw_hmac_new(digest, key, klen);
	int rc = h && gw_hmac_begin(h) == 0 && gw_hmac_update(h, data, len) == 0 &&
			 gw_hmac_end(h, out, outlen) == 0 ? 0 : -1;

	gw_hmac_free(h);
	return rc;
}

/*
 * hmac.h - an HMAC keyed once and used for many messages, on OpenSSL's
 * EVP_MAC. The Meta and Twilio webhook signatures check every request with
 * one key each (connectors/meta/meta_sig.c, connectors/sms/sms_sig.c);
 * the gateway's own body signatures (sign.h) and live chat's visitor
 * tokens key one per message (gw_hmac_once). OpenSSL's one-shot HMAC()
 * looks the algorithm up and sets the key on every call, which costs three
 * times the hash of a typical webhook; gw_hmac_begin() starts a new MAC
 * with the key already set.
 *
 * Threading: a gw_hmac belongs to one thread at a time.
 */
#ifndef GW_HMAC_H
#define GW_HMAC_H

#include <stddef.h>

struct gw_hmac;

/*
 * gw_hmac_new - a MAC over OpenSSL's digest `digest` ("SHA256", "SHA1")
 * keyed with `len` bytes of `key` (copied; an empty key is still a key).
 * NULL when OpenSSL lacks the digest or memory runs out.
 */
struct gw_hmac *gw_hmac_new(const char *digest, const void *key, size_t len);

/* gw_hmac_free - frees, clearing the key material; accepts NULL. */
void gw_hmac_free(struct gw_hmac *h);

/* gw_hmac_begin - starts a new message with the key. 0, or -1 (OpenSSL). */
int gw_hmac_begin(struct gw_hmac *h);

/* gw_hmac_update - `len` more bytes of the message (0: none). 0, or -1. */
int gw_hmac_update(struct gw_hmac *h, const void *data, size_t len);

/*
 * gw_hmac_end - the message's MAC into `out`, which holds exactly `len`
 * bytes, the digest's size (32 for SHA256, 20 for SHA1). 0, or -1 (OpenSSL,
 * or another size).
 */
int gw_hmac_end(struct gw_hmac *h, unsigned char *out, size_t len);

/*
 * gw_hmac_once - the MAC of one buffer under a key used once: gw_hmac_new,
 * begin, update, end, free. 0, or -1.
 */
int gw_hmac_once(const char *digest, const void *key, size_t klen, const void *data,
		 size_t len, unsigned char *out, size_t outlen);

#endif

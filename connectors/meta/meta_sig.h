/*
 * meta_sig.h - the X-Hub-Signature-256 check of Meta webhooks (WhatsApp
 * Cloud API, Messenger, Instagram).
 *
 * Meta signs every POST with the app secret:
 *   X-Hub-Signature-256: sha256=<HMAC-SHA256(app_secret, raw body), hex>
 * over the body bytes exactly as sent (non-ASCII characters arrive escaped
 * as lowercase \uXXXX): the check runs on the raw bytes, never on a
 * re-serialization. The digest is compared in constant time.
 *
 * The connector keys a struct meta_sig_key once with the app secret and
 * checks every request with it; meta_sig_verify() and meta_sig_sign() do
 * the same with a key made for the one call. No I/O, no globals. A key is
 * used by one thread at a time (each check restarts its MAC); the
 * functions taking a secret are reentrant.
 */
#ifndef GW_META_SIG_H
#define GW_META_SIG_H

#include <stddef.h>

#define META_SIG_HEADER "x-hub-signature-256" /* lowercase, as lws looks it up */
#define META_SIG_PREFIX "sha256="
#define META_SIG_HEX_LEN 64                     /* hex digits of a SHA-256 */
#define META_SIG_VALUE_MAX (7 + META_SIG_HEX_LEN) /* "sha256=" + 64 */

enum meta_sig_result {
	META_SIG_OK = 0,
	META_SIG_MISSING,   /* no header (header == NULL) or an empty one */
	META_SIG_MALFORMED, /* not "sha256=" followed by exactly 64 hex digits */
	META_SIG_MISMATCH,  /* well formed, but not the body's signature */
	META_SIG_ERROR,     /* OpenSSL failed to compute the HMAC */
};

struct meta_sig_key;

/*
 * meta_sig_key_new - an HMAC-SHA256 key made of `secret_len` bytes of
 * `secret` (copied; the caller may wipe it). The caller owns the key and
 * frees it with meta_sig_key_free(). NULL when OpenSSL or malloc failed.
 */
struct meta_sig_key *meta_sig_key_new(const void *secret, size_t secret_len);

/* meta_sig_key_free - wipes and frees `key`; NULL is ignored. */
void meta_sig_key_free(struct meta_sig_key *key);

/*
 * meta_sig_key_verify - meta_sig_verify() with the secret of `key`.
 * meta_sig_key_sign - meta_sig_sign() with the secret of `key`: GW_OK or
 * GW_EIO.
 */
int meta_sig_key_verify(struct meta_sig_key *key, const void *body, size_t len,
			const char *header);
int meta_sig_key_sign(struct meta_sig_key *key, const void *body, size_t len,
		      char out[META_SIG_VALUE_MAX + 1]);

/*
 * meta_sig_verify - checks `header` (the header's value, NUL-terminated,
 * may be NULL when the request had none) against `len` bytes of `body`
 * signed with `secret_len` bytes of `secret`. Hex digits may be upper or
 * lower case. Everything is borrowed. Returns an enum meta_sig_result.
 */
int meta_sig_verify(const void *secret, size_t secret_len, const void *body, size_t len,
		    const char *header);

/*
 * meta_sig_sign - writes "sha256=<64 lowercase hex>" and a NUL into `out`
 * (META_SIG_VALUE_MAX + 1 bytes), the header value Meta would send. For
 * tests and the benchmark. Returns GW_OK, GW_ENOMEM (no key could be made:
 * OpenSSL or malloc failed), GW_EIO (OpenSSL failed to sign).
 */
int meta_sig_sign(const void *secret, size_t secret_len, const void *body, size_t len,
		  char out[META_SIG_VALUE_MAX + 1]);

/* meta_sig_result_name - "ok", "missing", "malformed", "mismatch", "error". */
const char *meta_sig_result_name(int result);

#endif

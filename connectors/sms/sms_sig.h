/*
 * sms_sig.h - the X-Twilio-Signature check of Twilio's webhooks.
 *
 * Twilio signs every webhook with the account's auth token:
 *   X-Twilio-Signature: base64(HMAC-SHA1(auth_token,
 *       URL + name1 + value1 + name2 + value2 + ...))
 * where URL is the full URL Twilio requested (scheme, host, port when it
 * wrote one, path, query) and the pairs are the POST parameters, decoded,
 * sorted by name and, for a repeated name, by value (a pair repeated
 * exactly counts once), each name immediately followed by its value.
 *
 * Like Twilio's own validators, a signature is also accepted over the URL
 * without its port (Twilio may have called a URL with a port and signed
 * it without) and over the URL with the scheme's default port written out
 * (:443, :80). The digest is compared in constant time.
 *
 * The connector keys a struct sms_sig_key once with the auth token; a key
 * is used by one thread at a time. No I/O, no globals.
 */
#ifndef GW_SMS_SIG_H
#define GW_SMS_SIG_H

#include <stddef.h>

#include "connectors/sms/sms_form.h"

#define SMS_SIG_HEADER "x-twilio-signature" /* lowercase, as lws looks it up */
#define SMS_SIG_B64_LEN 28                  /* base64 of a 20-byte SHA-1 */
#define SMS_SIG_URL_MAX 2048                /* longest URL signed */

enum sms_sig_result {
	SMS_SIG_OK = 0,
	SMS_SIG_MISSING,   /* no header (NULL) or an empty one */
	SMS_SIG_MALFORMED, /* not 28 characters of base64 */
	SMS_SIG_MISMATCH,  /* well formed, but not this request's */
	SMS_SIG_ERROR,     /* OpenSSL or memory failed */
};

struct sms_sig_key;

/* sms_sig_key_new - an HMAC-SHA1 key of `len` bytes of `token` (copied).
 * The caller frees it with sms_sig_key_free(). NULL when OpenSSL or malloc
 * failed. */
struct sms_sig_key *sms_sig_key_new(const void *token, size_t len);

/* sms_sig_key_free - wipes and frees `key`; NULL is ignored. */
void sms_sig_key_free(struct sms_sig_key *key);

/*
 * sms_sig_sign - the signature Twilio sends for a POST of form `f` to
 * `url`, base64 and a NUL into `out`. Everything is borrowed. Returns
 * GW_OK, GW_EIO (OpenSSL failed).
 */
int sms_sig_sign(struct sms_sig_key *key, const char *url, const struct sms_form *f,
		 char out[SMS_SIG_B64_LEN + 1]);

/*
 * sms_sig_verify - checks `header` (its value, NUL-terminated; NULL when
 * the request had none) against a POST of `f` to `url` (at most
 * SMS_SIG_URL_MAX bytes; its port variants above are tried too). Returns
 * an enum sms_sig_result.
 */
int sms_sig_verify(struct sms_sig_key *key, const char *url, const struct sms_form *f,
		   const char *header);

/* sms_sig_result_name - "ok", "missing", "malformed", "mismatch", "error". */
const char *sms_sig_result_name(int result);

#endif

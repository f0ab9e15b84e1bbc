/*
 * tg_secret.h - the check of a webhook POST's X-Telegram-Bot-Api-Secret-Token
 * (docs/channels/telegram.md, "Webhook mode").
 *
 * Telegram sends the secret_token given to setWebhook, as it is, in that
 * header of every webhook POST: no HMAC, the value itself is the proof. The
 * header is compared with the configured token in time that depends only on
 * their lengths (gw_ct_equal), and refused before the body is parsed.
 *
 * Pure; any thread.
 */
#ifndef GW_TG_SECRET_H
#define GW_TG_SECRET_H

#include <stddef.h>

#define TG_SECRET_HEADER "x-telegram-bot-api-secret-token"

enum tg_secret_result {
	TG_SECRET_OK = 0,
	TG_SECRET_MISSING,   /* no header (answer 401) */
	TG_SECRET_MALFORMED, /* empty, over 256 bytes or a character outside
			      * A-Z a-z 0-9 _ - (answer 400) */
	TG_SECRET_WRONG,     /* well formed, another token (answer 401) */
};

/*
 * tg_secret_verify - judges `header` (`hlen` bytes; NULL when the request
 * had none) against the configured `secret` (`slen` bytes, borrowed).
 */
enum tg_secret_result tg_secret_verify(const char *secret, size_t slen, const char *header,
				       size_t hlen);

/* tg_secret_result_name - "missing", "malformed", "wrong", "ok". */
const char *tg_secret_result_name(enum tg_secret_result r);

#endif

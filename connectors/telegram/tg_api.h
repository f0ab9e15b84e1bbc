/*
 * tg_api.h - what the Telegram Bot API answers, and its URLs
 * (https://core.telegram.org/bots/api#making-requests).
 *
 * Every method answers a JSON object: {"ok":true,"result":...} or
 * {"ok":false,"error_code":N,"description":"...","parameters":
 * {"retry_after":S,"migrate_to_chat_id":C}}. Methods are called at
 * <api_url>/bot<token>/<method> and files fetched from
 * <api_url>/file/bot<token>/<file_path>: such URLs hold the token and are
 * never logged.
 *
 * Pure (jansson); any thread.
 */
#ifndef GW_TG_API_H
#define GW_TG_API_H

#include <stddef.h>
#include <stdint.h>

#define TG_DESC_MAX 200 /* bytes of a description kept */

struct tg_answer {
	int ok;                       /* "ok" is true */
	long error_code;              /* 0 when none */
	char description[TG_DESC_MAX]; /* "" when none; cut at a character */
	int64_t retry_after_s;        /* parameters.retry_after, -1 when none */
};

/*
 * tg_answer_parse - reads the answer `body` (`len` bytes, borrowed) into
 * *a. Returns GW_OK, or GW_EPROTO when it is not a JSON object with a
 * boolean "ok" (a proxy's error page): *a then says ok 0, no code.
 */
int tg_answer_parse(const char *body, size_t len, struct tg_answer *a);

/*
 * tg_answer_sent - the message a send method answered (result.chat.id,
 * result.message_id) as "<chat id>:<message id>" into `out`. Returns GW_OK,
 * GW_EPROTO (no such members), GW_ETOOBIG (out too small).
 */
int tg_answer_sent(const char *body, size_t len, char *out, size_t outlen);

/*
 * tg_method_url - "<base>/bot<token>/<method>" into `out` (`outlen`
 * bytes); a '/' ending `base` is not doubled. GW_OK or GW_ETOOBIG.
 */
int tg_method_url(char *out, size_t outlen, const char *base, const char *token,
		  const char *method);

/*
 * tg_file_url - "<base>/file/bot<token>/<file_path>". GW_OK, GW_ETOOBIG,
 * GW_EINVAL when file_path is empty, starts with '/', holds ".." or a
 * character outside A-Z a-z 0-9 . _ - / (it is put into a URL as it is).
 */
int tg_file_url(char *out, size_t outlen, const char *base, const char *token,
		const char *file_path);

#endif

/*
 * oauth_token.h - the pure half of the email connector's OAuth 2.0 client
 * (oauth.h): what the token endpoint answered to a `refresh_token` grant
 * (RFC 6749 5.1 and 5.2), and when a token is refreshed. No I/O and no
 * libcurl: the unit tests and the fuzz target (tests/fuzz/fuzz_oauth.c)
 * use it alone. Pure; any thread.
 */
#ifndef GW_EMAIL_OAUTH_TOKEN_H
#define GW_EMAIL_OAUTH_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define OAUTH_TOKEN_MAX 8192          /* bytes of an access or refresh token */
#define OAUTH_ERROR_MAX 64            /* bytes of an "error" code kept */
#define OAUTH_DESC_MAX 200            /* bytes of an "error_description" kept */
#define OAUTH_ANSWER_MAX (64u * 1024u) /* bytes of an answer read at most */
#define OAUTH_DEFAULT_EXPIRES_S 3600  /* a token answer without expires_in */
#define OAUTH_MAX_EXPIRES_S (366LL * 86400) /* longer lifetimes are cut to this */

/*
 * What one answer said. A token (ok = 1): access_token, expires_in_s and,
 * when the provider rotates it, a new refresh_token ("" otherwise). An
 * error (ok = 0): the "error" code ("invalid_grant", "invalid_client"...)
 * and its description, or, for an answer that is neither, error "" and
 * why it could not be read in `description`. The descriptions are printable
 * ASCII (anything else becomes '?'), cut to OAUTH_DESC_MAX: they are logged
 * and shown by `gatewayctl status`. The tokens are secrets: the owner
 * clears them (oauth_answer_clear) and never logs them.
 */
struct oauth_answer {
	int ok;
	char access_token[OAUTH_TOKEN_MAX + 1];
	char refresh_token[OAUTH_TOKEN_MAX + 1];
	int64_t expires_in_s;
	char error[OAUTH_ERROR_MAX + 1];
	char description[OAUTH_DESC_MAX + 1];
};

/*
 * oauth_parse_answer - reads the token endpoint's answer: HTTP `status`,
 * `len` bytes of `body` (borrowed; need not be NUL-terminated) into *out
 * (overwritten). A token needs status 200, a JSON object with a non-empty
 * access_token of printable ASCII without blanks (at most OAUTH_TOKEN_MAX),
 * a token_type of "Bearer" (any case), an expires_in that is a positive
 * number or a string of digits (absent: OAUTH_DEFAULT_EXPIRES_S). An error
 * is a JSON object with a string "error" (RFC 6749 5.2), whatever the
 * status. Returns GW_OK (out->ok tells which), or GW_EPROTO for anything
 * else (not JSON, a token answer with a missing or bad field, a 200
 * without a token), with why in out->description.
 */
int oauth_parse_answer(long status, const char *body, size_t len, struct oauth_answer *out);

/* oauth_answer_clear - wipes the secrets of *a (the tokens). */
void oauth_answer_clear(struct oauth_answer *a);

/*
 * oauth_refresh_at - when a token obtained at `obtained_ms` that is valid
 * for `expires_in_s` is refreshed: `margin_s` before it expires, but no
 * earlier than three quarters into its life (a short-lived token is not
 * refreshed at once and again and again).
 */
int64_t oauth_refresh_at(int64_t obtained_ms, int64_t expires_in_s, int64_t margin_s);

/*
 * oauth_usable_until - until when such a token is sent to a server: its
 * expiry less a little slack (5 s, or a tenth of a short life) for the
 * time the login takes.
 */
int64_t oauth_usable_until(int64_t obtained_ms, int64_t expires_in_s);

/*
 * oauth_backoff_ms - the wait after `failures` (>= 1) failed refreshes in
 * a row: when the endpoint refused the refresh token or the client, or
 * libcurl cannot use the token URL or verify its certificate (`refused`),
 * from 30 s doubling to 15 minutes (an operator must act); otherwise
 * (network, 5xx, an unreadable answer) from 1 s doubling to 5 minutes.
 */
int64_t oauth_backoff_ms(int failures, int refused);

/*
 * oauth_refused_error - 1 when the error code means the refresh token or
 * the client credentials themselves were refused (invalid_grant,
 * invalid_client, unauthorized_client, unsupported_grant_type,
 * invalid_scope): retrying will not help until an operator acts.
 */
int oauth_refused_error(const char *error);

#endif

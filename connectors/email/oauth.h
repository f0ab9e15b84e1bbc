/*
 * oauth.h - the access tokens of one email instance that logs in with
 * OAuth 2.0 (SASL XOAUTH2 or OAUTHBEARER), shared by its IMAP connections
 * and its SMTP sender.
 *
 * The instance has a refresh token and its client's credentials (config
 * `oauth`); access tokens come from the provider's token endpoint with the
 * `refresh_token` grant (RFC 6749 6): a form POST of grant_type,
 * refresh_token, client_id, client_secret (when set) and scope (when set),
 * answered with JSON (oauth_token.h reads it). A token is refreshed
 * before it expires (oauth_refresh_at), and at once when a server refused
 * it (oauth_refused), once per token. A failed refresh waits before the
 * next (oauth_backoff_ms): never a tight loop against the endpoint. When
 * the endpoint refuses the refresh token itself (invalid_grant) or the
 * client, oauth_problem() says so for `gatewayctl status`.
 *
 * The refresh runs on the owner's thread, without blocking: oauth_poll()
 * starts it when it is due and advances it (its own curl multi handle),
 * and is called from the connector's tick. The token itself is read from
 * any thread (the sender's worker reads it for SMTP) under a mutex.
 * Tokens are secrets: never logged, wiped when replaced or freed.
 *
 * Threading: oauth_create, oauth_destroy, oauth_poll belong to the owner
 * thread; oauth_get, oauth_refused, oauth_generation, oauth_problem may be
 * called from any thread.
 */
#ifndef GW_EMAIL_OAUTH_H
#define GW_EMAIL_OAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "connectors/email/oauth_token.h"

struct oauth;

struct oauth_options {
	const char *token_url;     /* http(s) URL of the token endpoint, copied */
	const char *client_id;     /* copied */
	const char *client_secret; /* NULL: none (a public client); copied, secret */
	const char *refresh_token; /* copied, secret */
	const char *scope;         /* NULL: none (the grant's scopes); copied */
	const char *ca_file;       /* NULL: the system's CA store; copied */
	int64_t margin_s;          /* refresh this long before expiry */
	long timeout_ms;           /* one request to the endpoint */
	const char *log_module;    /* copied */
	const char *state_path;    /* NULL: a rotated refresh token is kept in memory
				    * only; else kept there (store/oauth_state.h) and
				    * used instead of refresh_token; copied */
};

/* What oauth_get() returns a token for. */
enum oauth_want {
	OAUTH_USABLE, /* only a token that has not expired */
	OAUTH_LAST,   /* the last one obtained, even expired (a server judges) */
};

/*
 * oauth_create - a cache without a token yet (the first oauth_poll asks
 * for one). *out owns it. With a state_path that keeps a refresh token
 * for this refresh_token, the kept one is used; one that cannot be read is
 * logged and the configured one used. Returns GW_OK, GW_ENOMEM, GW_EIO
 * (curl).
 */
int oauth_create(const struct oauth_options *opt, struct oauth **out);

/* oauth_destroy - aborts a refresh in flight, wipes the tokens, frees;
 * accepts NULL. */
void oauth_destroy(struct oauth *o);

/*
 * oauth_poll - starts a refresh when one is due (no token yet, the token
 * near its expiry, a server refused it) and the backoff allows, and
 * advances the one in flight; never blocks. Returns 1 when a refresh
 * ended since the last call (a new token, or a failure: see
 * oauth_problem), else 0. Owner thread.
 */
int oauth_poll(struct oauth *o);

/*
 * oauth_get - the current access token into tok (len bytes; tok may be
 * NULL to ask only) and its generation (which grows with every new
 * token) into *gen (may be NULL). Returns GW_OK; GW_EAGAIN when there is
 * none usable yet and a refresh is due or running (oauth_poll gets one);
 * GW_EAUTH when the endpoint refused the refresh token or the client;
 * GW_EIO when the last refresh failed otherwise (network, 5xx: the
 * backoff runs); GW_ETOOBIG when len is too small. Any thread.
 */
int oauth_get(struct oauth *o, enum oauth_want want, char *tok, size_t len, uint64_t *gen);

/*
 * oauth_refused - a server refused the token of generation `gen`: the
 * next oauth_poll refreshes at once (once per generation: a later token
 * is not thrown away for an old refusal). Any thread.
 */
void oauth_refused(struct oauth *o, uint64_t gen);

/* oauth_generation - the current token's generation, 0 before the first. */
uint64_t oauth_generation(struct oauth *o);

/*
 * oauth_problem - when the last refresh failed: 1 and why into `why`
 * (never a secret), with *refused = 1 when it was the refresh token or the
 * client that was refused ("the refresh token was refused: consent again
 * (invalid_grant: ...)"); 0 and "" after a success. Any thread.
 */
int oauth_problem(struct oauth *o, char *why, size_t len, int *refused);

/*
 * oauth_refreshes - refreshes that succeeded and that failed since the
 * start, for the status counters. Any thread.
 */
void oauth_counts(struct oauth *o, uint64_t *ok, uint64_t *failed);

#endif

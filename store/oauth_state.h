/*
 * oauth_state.h - the refresh token an email instance's token endpoint
 * handed back in place of the configured one (Microsoft's does at every
 * refresh), kept so that a restart logs in with the token the provider
 * honours now rather than one it has since expired or revoked.
 *
 * <state_dir>/email/<instance>.oauth, 0600, replaced durably (state_file.h):
 *   {"version":1,"configured":"<SHA-256 of the configured refresh token, hex>",
 *    "refresh_token":"<the one the endpoint handed back last>"}
 * The file belongs to the configured token it replaced: when the config
 * names another one (the mailbox's owner consented again), it reads as
 * absent and the configured token is used.
 *
 * Threading: any thread; no state.
 */
#ifndef GW_STORE_OAUTH_STATE_H
#define GW_STORE_OAUTH_STATE_H

#include <stddef.h>

#include "core/err.h"

#define OAUTH_STATE_TOKEN_MAX 8192 /* as the config's refresh_token */

/*
 * oauth_state_load - the refresh token kept in `path` for the configured
 * token `configured` (borrowed, a secret) into *token (the caller's: wipe
 * and free). None kept for it (no file, or one for another configured
 * token): GW_OK and *token NULL. Returns GW_OK; GW_EPROTO when the file is
 * not such a document (why says what is wrong, never the token);
 * GW_ETOOBIG, GW_EIO, GW_ENOMEM.
 */
GW_MUST_CHECK int oauth_state_load(const char *path, const char *configured, char **token,
				   char *why, size_t whylen);

/*
 * oauth_state_save - keeps `token` in `path` (0600, durable) as the one
 * that replaced `configured`. Returns GW_OK, GW_EINVAL (a token over
 * OAUTH_STATE_TOKEN_MAX), GW_EIO, GW_ENOMEM.
 */
GW_MUST_CHECK int oauth_state_save(const char *path, const char *configured, const char *token);

#endif

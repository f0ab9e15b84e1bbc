/*
 * state_file.h - a channel's small progress file: one JSON object with a
 * version and the owner it was written for (the mailbox's URL, the bot's
 * id, the configured refresh token's hash), read whole and replaced
 * durably: the email connector's progress (email_state.h) and rotated
 * OAuth refresh token (oauth_state.h), the Telegram connector's polling
 * offset (telegram_state.h).
 *
 *   {"version":V,"<owner key>":"<owner>", ...the channel's members}
 *
 * A file written for another owner (the config now names another mailbox,
 * bot or refresh token) says nothing about this one: it reads as a fresh
 * start.
 *
 * Threading: any thread; no state.
 */
#ifndef GW_STORE_STATE_FILE_H
#define GW_STORE_STATE_FILE_H

#include <stddef.h>

#include <jansson.h>

#include "core/err.h"

/*
 * state_file_load - the object of `path` (at most max_bytes) into *doc
 * (the caller's: json_decref), checked for `version` and for its member
 * `owner_key` equal to `owner`. A missing file or another owner's is
 * fresh: GW_OK, *doc NULL, *fresh 1. Returns GW_OK; GW_EPROTO when it is
 * not such an object (why says what is wrong); GW_ETOOBIG, GW_EIO,
 * GW_ENOMEM (gw_read_file).
 */
GW_MUST_CHECK int state_file_load(const char *path, size_t max_bytes, int version,
				  const char *owner_key, const char *owner, json_t **doc,
				  int *fresh, char *why, size_t whylen);

/*
 * state_file_save - writes `doc` (compact) to `path` durably
 * (gw_write_file_durable) and drops the caller's reference to it; a NULL
 * doc (a failed json_pack) is GW_ENOMEM. Returns GW_OK, GW_EIO, GW_ENOMEM,
 * GW_EINVAL.
 */
GW_MUST_CHECK int state_file_save(const char *path, json_t *doc);

#endif

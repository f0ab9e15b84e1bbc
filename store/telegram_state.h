/*
 * telegram_state.h - how far one Telegram bot's updates have been read by
 * long polling (getUpdates), kept durably, and the offset rules.
 *
 * <state_dir>/telegram/<instance>.state is a small JSON document:
 *   {"version":1,"bot":"<bot id>","offset":N,"confirmed":true|false}
 * Every update with an update_id below N is durable in the outbox (or was
 * counted unreadable); none at or above N has been made durable. N is the
 * `offset` that confirms them to Telegram (the Bot API forgets an update
 * once getUpdates is called with a higher offset). `confirmed` says that
 * such a call was answered: Telegram has forgotten them already.
 *
 * The file is replaced atomically and durably (written beside, fsync'ed,
 * renamed, folder fsync'ed): a crash leaves the old or the new state.
 *
 * Threading: one thread.
 */
#ifndef GW_STORE_TELEGRAM_STATE_H
#define GW_STORE_TELEGRAM_STATE_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

struct telegram_state {
	int64_t offset; /* 0: nothing read yet */
	int confirmed;  /* a getUpdates with `offset` was answered */
};

/*
 * telegram_state_load - reads `path` into *st for bot `bot` (borrowed: the
 * bot id, the digits before ':' in its token). A missing file, or one
 * written for another bot, is a fresh state (zeroed, GW_OK, *fresh = 1).
 * Returns GW_OK, GW_EPROTO (unreadable file: the reason in why), GW_EIO,
 * GW_ENOMEM.
 */
GW_MUST_CHECK int telegram_state_load(const char *path, const char *bot, struct telegram_state *st,
			int *fresh, char *why, size_t whylen);

/* telegram_state_save - writes *st for `bot` durably. GW_OK, GW_EIO,
 * GW_ENOMEM. */
GW_MUST_CHECK int telegram_state_save(const char *path, const char *bot, const struct telegram_state *st);

/*
 * telegram_state_request_offset - the `offset` of the next getUpdates: the
 * stored one while Telegram has not confirmed it, else 0 (none: "the
 * earliest unconfirmed update", as the Bot API documents). Sending no
 * offset once everything is confirmed keeps working when Telegram picks
 * the next update_id at random (it does after a week without updates),
 * which may be below the stored offset.
 */
int64_t telegram_state_request_offset(const struct telegram_state *st);

/*
 * telegram_state_advance - the updates up to `max_update_id` are durable:
 * the offset becomes max_update_id + 1 (never lower than it was, unless
 * everything before was confirmed: a random restart of the ids), and is
 * not confirmed yet. Returns 1 when *st changed (save it), 0 when not,
 * -1 when max_update_id is negative or the offset would overflow.
 */
GW_MUST_CHECK int telegram_state_advance(struct telegram_state *st, int64_t max_update_id);

/*
 * telegram_state_answered - a getUpdates sent with `offset` (as
 * telegram_state_request_offset gave it) was answered: when it confirmed
 * the stored offset, it is confirmed. Returns 1 when *st changed.
 */
GW_MUST_CHECK int telegram_state_answered(struct telegram_state *st, int64_t offset);

#endif

/*
 * email_state.h - how far one mailbox has been read, kept durably.
 *
 * <state_dir>/email/<instance>.state is a small JSON document:
 *   {"version":1,"url":"imap://host:143/INBOX","uidvalidity":V,
 *    "last_uid":U,"pending_from":P}
 * Every message of the mailbox (of validity V) with a UID up to U is
 * durable in the outbox, quarantined or deliberately skipped; nothing above
 * U is. When P is not 0, the action after durability (\Seen or move) is
 * still owed to the UIDs P:U. The file is replaced atomically (written
 * beside, fsync'ed, renamed, folder fsync'ed), so a crash leaves the old
 * or the new state, never a mix.
 *
 * Threading: one thread.
 */
#ifndef GW_STORE_EMAIL_STATE_H
#define GW_STORE_EMAIL_STATE_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

struct email_state {
	uint32_t uidvalidity;  /* 0: never read */
	uint32_t last_uid;
	uint32_t pending_from; /* 0: no action owed */
};

/*
 * email_state_load - reads `path` into *st for mailbox `url` (borrowed).
 * A missing file, or one written for another URL, is a fresh state
 * (zeroed, GW_OK, *fresh = 1). Returns GW_OK, GW_EPROTO (unreadable file:
 * the reason in why), GW_EIO, GW_ENOMEM.
 */
GW_MUST_CHECK int email_state_load(const char *path, const char *url, struct email_state *st, int *fresh,
		     char *why, size_t whylen);

/* email_state_save - writes *st durably. Returns GW_OK, GW_EIO, GW_ENOMEM. */
GW_MUST_CHECK int email_state_save(const char *path, const char *url, const struct email_state *st);


#endif

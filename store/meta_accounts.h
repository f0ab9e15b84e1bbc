/*
 * meta_accounts.h - the Meta connector's accounts (a WhatsApp phone number
 * id, a Facebook page, an Instagram account) that customers wrote to, kept
 * so that a restarted connector announces them to the router again at once
 * and their replies do not wait for their next message.
 *
 * <state_dir>/sent/<instance>/accounts is text, one account a line:
 *   <channel> <account>\n
 * neither containing a space or a newline, at most META_ACCOUNTS_MAX lines
 * and META_ACCOUNTS_FILE_MAX bytes. The file is replaced atomically (a
 * SIGKILL loses nothing) but not fsync'ed: it is only a hint, written on the
 * connector's loop, and a power cut loses at most the accounts first seen
 * since, whose replies then wait for their next message.
 *
 * Threading: the connector's loop (one thread per instance's file).
 */
#ifndef GW_STORE_META_ACCOUNTS_H
#define GW_STORE_META_ACCOUNTS_H

#include "core/err.h"

#include <stddef.h>

#include "proto/proto.h"

#define META_ACCOUNTS_MAX 64 /* accounts kept (the outbox's bound on served accounts) */
#define META_ACCOUNTS_FILE_MAX (META_ACCOUNTS_MAX * (PROTO_MAX_CHANNEL + PROTO_MAX_ACCOUNT + 2))

/* One account. */
struct meta_account {
	char channel[PROTO_MAX_CHANNEL + 1];
	char account[PROTO_MAX_ACCOUNT + 1];
};

/*
 * meta_accounts_save - replaces `path` with the first META_ACCOUNTS_MAX of
 * the `n` accounts of `a` (borrowed; the caller keeps them within their
 * bounds and without spaces or newlines). GW_OK, GW_ENOMEM, GW_EINVAL (path
 * too long), GW_EIO (errno the cause, e.g. ENOSPC).
 */
GW_MUST_CHECK int meta_accounts_save(const char *path, const struct meta_account *a, size_t n);

/*
 * meta_accounts_load - calls fn(arg, channel, account) for each line of
 * `path` in order (the strings borrowed for the call only; not checked
 * against their bounds or for duplicates: fn does). A line without a
 * channel, a space and an account, and a last line without its newline,
 * are skipped. GW_OK, GW_ENOTFOUND (no file yet), GW_ETOOBIG (over
 * META_ACCOUNTS_FILE_MAX), GW_EIO, GW_ENOMEM.
 */
GW_MUST_CHECK int meta_accounts_load(const char *path,
				     void (*fn)(void *arg, const char *channel, const char *account),
				     void *arg);

#endif

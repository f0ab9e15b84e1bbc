/*
 * quarantine.h - messages of a mailbox that cannot become events, set aside
 * so that one bad message never blocks the ones after it.
 *
 * Layout, per instance (docs/channels/email.md, "Quarantine"):
 *   <state_dir>/quarantine/<instance>/<V>-<U>.eml    the raw message as
 *       fetched (absent when it was never fetched: over max_message_bytes)
 *   <state_dir>/quarantine/<instance>/<V>-<U>.json   {"id","instance",
 *       "mailbox","uidvalidity","uid","reason","quarantined_at","size",
 *       "stored"}
 *   <state_dir>/quarantine/<instance>/reingest/<V>-<U>.request
 *       written by `gatewayctl quarantine reingest`, picked up by the
 *       running connector, which parses the stored copy again with the
 *       current parser and answers in
 *   <state_dir>/quarantine/<instance>/reingest/<V>-<U>.done
 *       {"id","result":"ingested"|"quarantined"|"ignored"|"error",
 *        "reason","at"}; gatewayctl deletes it once read.
 * The id of an entry is "<instance>/<V>-<U>" (V = UIDVALIDITY, U = UID).
 * Entries are written durably (fsync) before the mailbox's progress moves
 * past their UID.
 *
 * Threading: one thread.
 */
#ifndef GW_STORE_QUARANTINE_H
#define GW_STORE_QUARANTINE_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#define QUARANTINE_ID_MAX 32 /* "<V>-<U>" within an instance */

struct quarantine;

/*
 * quarantine_open - the quarantine of `instance` (folders created). The
 * strings are borrowed for its life. Returns GW_OK, GW_EIO, GW_ENOMEM.
 */
GW_MUST_CHECK int quarantine_open(const char *state_dir, const char *instance, const char *mailbox,
		    struct quarantine **out);

/* quarantine_close - frees q; accepts NULL. */
void quarantine_close(struct quarantine *q);

/*
 * quarantine_put - sets message `uid` of validity `v` aside with `reason`:
 * `len` bytes of `raw` (borrowed; NULL when there is no copy) and its
 * `size` on the server. Durable on GW_OK; GW_EIO, GW_ENOMEM otherwise.
 */
GW_MUST_CHECK int quarantine_put(struct quarantine *q, uint32_t v, uint32_t uid, const void *raw, size_t len,
		   uint64_t size, const char *reason);

/*
 * quarantine_next_request - the id ("<V>-<U>") of a pending reingest
 * request into id. GW_OK, or GW_ENOTFOUND when there is none.
 */
GW_MUST_CHECK int quarantine_next_request(struct quarantine *q, char id[QUARANTINE_ID_MAX]);

/*
 * quarantine_load - the stored copy of entry `id` into *raw (caller frees)
 * and *len, at most `max` bytes. GW_ENOTFOUND: no such entry; GW_EMISSING:
 * the entry has no stored copy; GW_EIO, GW_ENOMEM, GW_ETOOBIG.
 */
GW_MUST_CHECK int quarantine_load(struct quarantine *q, const char *id, size_t max, char **raw, size_t *len);

/*
 * quarantine_answer - answers the reingest request `id` with `result` and
 * `reason` (may be ""). remove: the entry itself goes too (ingested or
 * ignored); otherwise a new reason, when given, replaces the entry's. The
 * request is deleted in any case, so it is never served twice. Returns
 * GW_OK (also when there is no entry to give the reason to), or the first
 * error: GW_EIO (a file could not be written or deleted), GW_ENOMEM,
 * GW_EPROTO (the entry's JSON does not parse), GW_EINVAL (id too long).
 */
GW_MUST_CHECK int quarantine_answer(struct quarantine *q, const char *id, const char *result,
		      const char *reason, int remove);

/* quarantine_valid_id - 1 when id looks like "<V>-<U>" (digits only). */
GW_MUST_CHECK int quarantine_valid_id(const char *id);

#endif

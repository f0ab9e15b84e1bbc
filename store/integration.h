/*
 * integration.h - gateway-integration's own durable state, an LMDB
 * environment in <state_dir>/integration/ (the router's store is the
 * router's alone):
 *
 *   table      key                         value
 *   cursors    subscription name           the webhook's cursor (JSON text)
 *   idem       token name "\n" key         expiry (8 bytes BE), request digest
 *                                          (32 bytes), status (4 bytes BE), body
 *
 * A cursor is the last seq delivered (answered 2xx) or skipped (not a type of
 * the subscription); the worker delivers cursor+1 next. `gen` changes when
 * an operator moves the cursor (gatewayctl webhooks rewind), so a worker
 * that held an older position cannot write it back.
 *
 * Threading: one struct integ_db per process, shared by its threads (LMDB
 * serializes the writers; MDB_NOTLS). Several processes may open the same
 * folder (gateway-integration and gatewayctl).
 */
#ifndef GW_STORE_INTEGRATION_H
#define GW_STORE_INTEGRATION_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#define INTEG_REASON_MAX 160
#define INTEG_DIGEST_LEN 32

struct integ_db;

struct integ_cursor {
	uint64_t seq;        /* last seq done; 0 before the first */
	uint64_t gen;        /* bumped by each rewind */
	int paused;          /* gatewayctl webhooks pause */
	uint64_t delivered;  /* events answered 2xx */
	uint64_t failures;   /* failed attempts since the last success */
	int64_t updated_at;  /* ms since the epoch of the last change */
	char last_error[INTEG_REASON_MAX]; /* of the last failed attempt; "" */
};

/*
 * integ_db_open - opens (creating, mode 0700) <state_dir>/integration/ with
 * a map of `map_mb` MiB. *out owns it (integ_db_close). GW_OK, GW_EIO,
 * GW_EINVAL (path too long), GW_ENOMEM, GW_ESTORE.
 */
GW_MUST_CHECK int integ_db_open(const char *state_dir, long long map_mb, struct integ_db **out);

/*
 * Durability: a commit is written to the file (so it survives a crash or a
 * SIGKILL of the process) but flushed to the disk only by integ_db_sync()
 * (gateway-integration calls it every second) and at close. A power loss
 * can therefore take back up to a second of cursor moves and idempotency
 * keys: a webhook then delivers those events again (receivers drop them by
 * seq; none is lost or reordered), and a repeated request runs its command
 * again with the same command id, which the router answers with its first
 * result. One fsync per delivered event would cap a subscription at the
 * disk's commit rate (docs/performance.md, "Webhooks").
 */

/* integ_db_sync - flushes every commit to the disk (the thread that owns
 * `db`'s sync; commits may go on meanwhile). GW_OK or GW_ESTORE (logged
 * with LMDB's reason). */
GW_MUST_CHECK int integ_db_sync(struct integ_db *db);

/* integ_db_close - syncs and closes `db`; accepts NULL. */
void integ_db_close(struct integ_db *db);

/* integ_cursor_get - the cursor of `name` into *c (all zero when none yet).
 * GW_OK or GW_ESTORE. */
GW_MUST_CHECK int integ_cursor_get(struct integ_db *db, const char *name, struct integ_cursor *c);

/*
 * integ_cursor_advance - the worker's write: sets seq to `seq` and adds
 * `delivered` when the stored gen is still `gen` (clearing failures and
 * last_error). GW_OK, GW_EAGAIN (an operator moved the cursor: reload it),
 * GW_ESTORE.
 */
GW_MUST_CHECK int integ_cursor_advance(struct integ_db *db, const char *name, uint64_t gen, uint64_t seq,
			 uint64_t delivered);

/* integ_cursor_failed - records a failed attempt (`why`, copied, cut) when
 * gen is still `gen`. GW_OK, GW_EAGAIN, GW_ESTORE. */
GW_MUST_CHECK int integ_cursor_failed(struct integ_db *db, const char *name, uint64_t gen, const char *why);

/*
 * integ_cursor_control - the operator's write: `paused` 0/1 (-1: leave
 * it), and when `rewind` is nonzero the next event delivered becomes seq
 * `rewind` (seq = rewind - 1, gen + 1). GW_OK, GW_ESTORE.
 */
GW_MUST_CHECK int integ_cursor_control(struct integ_db *db, const char *name, int paused, uint64_t rewind);

/*
 * integ_idem_get - the answer kept for `key` (token name "\n" key) if it
 * has not expired at `now_ms`: *status, *body (malloc'ed, caller frees, NUL
 * ended), *len and the digest of the request it answered. GW_OK,
 * GW_ENOTFOUND, GW_ENOMEM, GW_ESTORE.
 */
GW_MUST_CHECK int integ_idem_get(struct integ_db *db, const char *key, int64_t now_ms, int *status,
		   char **body, size_t *len, unsigned char digest[INTEG_DIGEST_LEN]);

/*
 * integ_cursor_decode - a stored cursor record (`len` bytes, borrowed) into
 * *c; anything unreadable reads as zero (a fresh cursor). integ_idem_decode
 * - a stored key's record: its expiry, status, digest, and the answer body
 * (*body points into `data`). GW_OK or GW_EPROTO (too short, a status that
 * is no HTTP status). Exposed for the fuzz target; reentrant.
 */
void integ_cursor_decode(const void *data, size_t len, struct integ_cursor *c);
GW_MUST_CHECK int integ_idem_decode(const void *data, size_t len, int64_t *expires_ms, int *status,
		      const char **body, size_t *blen, unsigned char digest[INTEG_DIGEST_LEN]);

/* integ_idem_put - keeps the answer for `key` until `expires_ms`, and
 * removes up to 64 expired keys. GW_OK, GW_ENOMEM, GW_ESTORE. */
GW_MUST_CHECK int integ_idem_put(struct integ_db *db, const char *key, int64_t expires_ms, int64_t now_ms,
		   int status, const char *body, size_t len,
		   const unsigned char digest[INTEG_DIGEST_LEN]);

#endif

/*
 * spool.h - a connector's durable queue of accepted events, in its own LMDB
 * environment (<state_dir>/spool/<instance>/), keyed by an increasing
 * 64-bit number so that appends are sequential (cheap in a B-tree), and
 * its quarantine beside it (store/spool_quarantine.h): what the connector
 * took but holds back or could not read, written in the same transactions.
 *
 * Tables (named LMDB databases):
 *   events      be64 key -> encoded event (proto), sent to the router
 *   quarantine  be64 id  -> spool_quarantine.h record; ids only grow
 * A spool written before the quarantine existed kept its events in the
 * unnamed database; spool_open moves them into `events` once.
 *
 * Errors as in store.h. Threading: one thread owns a spool and writes it;
 * reads (spool_count, spool_scan, spool_q_*) may also come from one other
 * thread (the outbox's commit thread), as LMDB allows. Another process may
 * read it (spool_open_readonly) while its owner runs.
 */
#ifndef GW_SPOOL_H
#define GW_SPOOL_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

struct spool;

/* A record to write: `data`/`len` borrowed for the call. With `quarantine`
 * set it is a quarantine record (spoolq_encode) taking the next id, else an
 * event appended to the queue. */
struct spool_rec {
	const void *data;
	size_t len;
	int quarantine;
};

/* spool_open - opens (creating) the spool in `dir`; *out owns it. */
GW_MUST_CHECK int spool_open(const char *dir, size_t map_size, struct spool **out);

/*
 * spool_open_readonly - opens the spool in `dir` to read it only, for a
 * process that is not its owner (gatewayctl); no table is created and no
 * legacy spool is moved. GW_ENOTFOUND when there is no spool there.
 */
GW_MUST_CHECK int spool_open_readonly(const char *dir, struct spool **out);

void spool_close(struct spool *sp);

/*
 * spool_write - in one durable transaction: deletes the `ndel` keys in
 * `del` (those the router acknowledged; missing keys are ignored) and
 * writes the `nadd` records: events under consecutive new keys, the first
 * of which is stored in *first_key, quarantine records under the next ids.
 * Either all of it is on disk, or none. The number of events written is
 * the number of `add` without `quarantine`.
 */
GW_MUST_CHECK int spool_write(struct spool *sp, const uint64_t *del, size_t ndel,
		const struct spool_rec *add, size_t nadd, uint64_t *first_key);

/* spool_count - number of events in the spool. */
GW_MUST_CHECK int spool_count(struct spool *sp, uint64_t *count);

/*
 * spool_scan - calls `fn` for each event with key >= from in order, with a
 * view valid during the call only; stops early when fn returns non-0.
 */
GW_MUST_CHECK int spool_scan(struct spool *sp, uint64_t from,
	       int (*fn)(void *arg, uint64_t key, const void *data, size_t len), void *arg);

/* ---- the quarantine --------------------------------------------------- */

/* spool_q_stat - the entries of the quarantine and their bytes (a scan:
 * at start, it is bounded by the quarantine's own limits). */
GW_MUST_CHECK int spool_q_stat(struct spool *sp, uint64_t *entries, uint64_t *bytes);

/*
 * spool_q_scan - calls `fn` for each quarantine record from id `from` on,
 * in id order, with a view valid during the call only; stops when fn
 * returns non-0.
 */
GW_MUST_CHECK int spool_q_scan(struct spool *sp, uint64_t from,
		 int (*fn)(void *arg, uint64_t id, const void *data, size_t len), void *arg);

/* spool_q_get - a copy of record `id` into *data (the caller frees) and
 * *len. GW_ENOTFOUND when there is none. */
GW_MUST_CHECK int spool_q_get(struct spool *sp, uint64_t id, char **data, size_t *len);

/*
 * spool_q_resolve - in one durable transaction: record `id` is replaced by
 * `rec` (`rlen` bytes; NULL: deleted) and the `nadd` events of `add` are
 * appended (their first key in *first_key; none may be a quarantine
 * record). GW_ENOTFOUND when record `id` is gone (nothing is written),
 * GW_EINVAL for a quarantine record in `add`, else spool_write's codes.
 */
GW_MUST_CHECK int spool_q_resolve(struct spool *sp, uint64_t id, const void *rec, size_t rlen,
		    const struct spool_rec *add, size_t nadd, uint64_t *first_key);

#endif

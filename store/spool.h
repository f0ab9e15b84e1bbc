/*
 * spool.h - a connector's durable queue of accepted events, in its own LMDB
 * environment (<state_dir>/spool/<instance>/), keyed by an increasing
 * 64-bit number so that appends are sequential (cheap in a B-tree).
 *
 * Errors as in store.h. Threading: one thread owns a spool.
 */
#ifndef GW_SPOOL_H
#define GW_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

/* A record to append: `data`/`len` borrowed for the call. */
struct spool_rec {
	const void *data;
	size_t len;
};

/* spool_open - opens (creating) the spool in `dir`; *out owns it. */
int spool_open(const char *dir, size_t map_size, struct spool **out);
void spool_close(struct spool *sp);

/*
 * spool_write - in one durable transaction: deletes the `ndel` keys in
 * `del` (those the router acknowledged; missing keys are ignored) and
 * appends the `nadd` records under consecutive new keys, the first of which
 * is stored in *first_key. Either all of it is on disk, or none.
 */
int spool_write(struct spool *sp, const uint64_t *del, size_t ndel,
		const struct spool_rec *add, size_t nadd, uint64_t *first_key);

/* spool_count - number of records in the spool. */
int spool_count(struct spool *sp, uint64_t *count);

/*
 * spool_scan - calls `fn` for each record with key >= from in order, with a
 * view valid during the call only; stops early when fn returns non-0.
 */
int spool_scan(struct spool *sp, uint64_t from,
	       int (*fn)(void *arg, uint64_t key, const void *data, size_t len), void *arg);

#endif

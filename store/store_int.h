/*
 * store_int.h - what the table files of store/ share: the environment, the
 * table handles, key packing and the LMDB error translation. Not for use
 * outside store/.
 */
#ifndef GW_STORE_INT_H
#define GW_STORE_INT_H

#include "core/err.h"

#include <lmdb.h>
#include <stdint.h>

#include "store/store.h"

enum store_table {
	TBL_META = 0,
	TBL_DEDUP,
	TBL_IDENTITIES,
	TBL_CUSTOMERS,
	TBL_TICKETS,
	TBL_CUST_TIX,
	TBL_THREADS,
	TBL_TICKET_MSGS,
	TBL_EVENTS,
	TBL_DELIVERIES,
	TBL_DELIV_PENDING,
	TBL_TICKET_TRACE,
	TBL_MERGES,
	TBL_CUST_MERGES,
	TBL_AGENTS,
	TBL_AGENT_TIX,
	TBL_QUEUE_WAIT,
	TBL_SLA_DUE,
	/* Automatic messages (autoreply.c). */
	TBL_AUTOREPLY,
	TBL__COUNT
};

struct store {
	MDB_env *env;
	MDB_dbi dbi[TBL__COUNT];
};

struct store_txn {
	struct store *st;
	MDB_txn *txn;
	/* The event log's head in this transaction, once looked up: a batch
	 * appends many events and only eventlog.c writes the table. */
	uint64_t events_head;
	int events_head_known;
};

/* store_err - translates an LMDB return code, logging anything unexpected
 * with `what` (the operation) as context. */
GW_MUST_CHECK int store_err(int mdb_rc, const char *what);

/* Big-endian 8-byte integers so that LMDB's bytewise order is numeric. */
void store_be64_put(unsigned char out[8], uint64_t v);
uint64_t store_be64_get(const unsigned char in[8]);

/* A key of two integers (e.g. thread_id, seq). */
struct store_pair_key {
	unsigned char b[16];
};
void store_pair_key(struct store_pair_key *k, uint64_t a, uint64_t b);

/* store_pair_scan - for each key (a, *) in ascending order call fn(arg, b),
 * up to max; shared by the index tables. */
GW_MUST_CHECK int store_pair_scan(struct store_txn *txn, enum store_table tbl, uint64_t a, size_t max,
		    int (*fn)(void *arg, uint64_t b), void *arg);

/* store_pair_scan_desc - the same from the last key (a, *) down. */
GW_MUST_CHECK int store_pair_scan_desc(struct store_txn *txn, enum store_table tbl, uint64_t a, size_t max,
			 int (*fn)(void *arg, uint64_t b), void *arg);

/* store_pair_put - inserts (a, b) -> empty into an index table;
 * store_pair_del removes it (absent: GW_OK). */
GW_MUST_CHECK int store_pair_put(struct store_txn *txn, enum store_table tbl, uint64_t a, uint64_t b);
GW_MUST_CHECK int store_pair_del(struct store_txn *txn, enum store_table tbl, uint64_t a, uint64_t b);

/* Index tables keyed (name, id): "name\0" + 8-byte id -> empty. Put, delete
 * (absent: GW_OK) and scan the ids of one name in ascending order. */
GW_MUST_CHECK int store_strid_put(struct store_txn *txn, enum store_table tbl, const char *name, uint64_t id);
GW_MUST_CHECK int store_strid_del(struct store_txn *txn, enum store_table tbl, const char *name, uint64_t id);
GW_MUST_CHECK int store_strid_scan(struct store_txn *txn, enum store_table tbl, const char *name, size_t max,
		     int (*fn)(void *arg, uint64_t id), void *arg);

/* Value helpers: get/put a msgpack record under an 8-byte id. */
GW_MUST_CHECK int store_rec_get(struct store_txn *txn, enum store_table tbl, uint64_t id,
		  const void **data, size_t *len);
GW_MUST_CHECK int store_rec_put(struct store_txn *txn, enum store_table tbl, uint64_t id,
		  const void *data, size_t len);

/* store_strkey - builds "a\0b\0c" (n parts) into buf; GW_ETOOBIG past the
 * LMDB key limit. */
GW_MUST_CHECK int store_strkey(char *buf, size_t cap, size_t *len, const char *const *parts, size_t n);

#endif

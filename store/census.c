/*
 * census.c - what the router's store holds, counted for gateway-metrics
 * from another process: the store opened read-only (LMDB lets readers in
 * other processes run beside the router's writer), entry counts, every
 * ticket and every waiting ticket (see store.h, "census").
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"

/* The tables a census reads; none is created. */
static const char *const census_tables[] = {
	[TBL_TICKETS] = "tickets",
	[TBL_CUSTOMERS] = "customers",
	[TBL_DELIV_PENDING] = "deliveries_pending",
	[TBL_DELIVERIES] = "deliveries",
	[TBL_QUEUE_WAIT] = "queue_wait",
	[TBL_EVENTS] = "events",
};
#define N_CENSUS (sizeof(census_tables) / sizeof(census_tables[0]))

static int open_tables_ro(struct store *st)
{
	MDB_txn *txn = NULL;
	int rc = store_err(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), "begin");

	for (size_t i = 0; rc == GW_OK && i < N_CENSUS; i++)
		if (census_tables[i])
			rc = store_err(mdb_dbi_open(txn, census_tables[i], 0, &st->dbi[i]),
				       census_tables[i]);
	/* A read-only transaction's handles stay valid once it commits. */
	if (rc == GW_OK)
		rc = store_err(mdb_txn_commit(txn), "open tables");
	else if (txn)
		mdb_txn_abort(txn);
	return rc;
}

int store_open_readonly(const char *dir, struct store **out)
{
	struct store *st = calloc(1, sizeof(*st));
	int rc = GW_ENOMEM;

	*out = NULL;
	if (!st)
		goto out;
	rc = store_err(mdb_env_create(&st->env), "env create");
	if (rc)
		goto out;
	mdb_env_set_maxdbs(st->env, TBL__COUNT + 2);
	/* Map size 0: the size the router's environment has. */
	rc = store_err(mdb_env_open(st->env, dir, MDB_RDONLY | MDB_NOTLS, 0600), dir);
	if (rc == GW_OK)
		rc = open_tables_ro(st);
out:
	if (rc) {
		store_close(st);
		return rc;
	}
	*out = st;
	return GW_OK;
}

static uint64_t entries(struct store_txn *txn, enum store_table tbl)
{
	MDB_stat ms;

	if (mdb_stat(txn->txn, txn->st->dbi[tbl], &ms) != MDB_SUCCESS)
		return 0;
	return ms.ms_entries;
}

int store_census_counts(struct store_txn *txn, struct store_counts *c)
{
	memset(c, 0, sizeof(*c));
	c->tickets = entries(txn, TBL_TICKETS);
	c->customers = entries(txn, TBL_CUSTOMERS);
	c->deliveries = entries(txn, TBL_DELIVERIES);
	c->deliveries_pending = entries(txn, TBL_DELIV_PENDING);
	return store_eventlog_head(txn, &c->head_seq);
}

int store_census_tickets(struct store_txn *txn,
			 int (*fn)(void *arg, const struct proto_ticket *t), void *arg)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc, mrc;

	rc = store_err(mdb_cursor_open(txn->txn, txn->st->dbi[TBL_TICKETS], &cur), "tickets");
	for (mrc = rc ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	     rc == GW_OK && mrc == MDB_SUCCESS; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct proto_ticket t;
		struct proto_error perr;

		memset(&t, 0, sizeof(t));
		/* A record that does not decode is skipped: a census never stops
		 * at one bad ticket (the router logs it when it reads it). */
		if (proto_ticket_decode(v.mv_data, v.mv_size, &t, &perr) == GW_OK && fn(arg, &t))
			mrc = MDB_NOTFOUND;
		proto_ticket_clear(&t);
		if (mrc == MDB_NOTFOUND)
			break;
	}
	if (rc == GW_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
		rc = store_err(mrc, "tickets");
	mdb_cursor_close(cur);
	return rc;
}

int store_census_waiting(struct store_txn *txn,
			 int (*fn)(void *arg, const char *queue), void *arg)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc, mrc;

	rc = store_err(mdb_cursor_open(txn->txn, txn->st->dbi[TBL_QUEUE_WAIT], &cur),
		       "queue_wait");
	for (mrc = rc ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	     rc == GW_OK && mrc == MDB_SUCCESS; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const char *key = k.mv_data;

		/* "queue\0" + 8 bytes: the queue name is NUL-terminated in the key. */
		if (k.mv_size < 9 || key[k.mv_size - 9] != '\0')
			continue;
		if (fn(arg, key))
			break;
	}
	if (rc == GW_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
		rc = store_err(mrc, "queue_wait");
	mdb_cursor_close(cur);
	return rc;
}

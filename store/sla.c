/*
 * sla.c - table `sla_due`: (due_ms, ticket_id, clock) -> empty, every SLA
 * deadline and warning instant still to come, in time order, so that the
 * router finds what is due by reading the table's first keys.
 * Key: 8-byte big-endian due time (ms since the epoch), 8-byte big-endian
 * ticket id, one byte naming the clock and stage (STORE_SLA_*).
 */
#include "store/store_int.h"

#include <string.h>

#include "core/err.h"

static void sla_key(unsigned char k[17], int64_t due, uint64_t ticket, unsigned what)
{
	store_be64_put(k, (uint64_t)due);
	store_be64_put(k + 8, ticket);
	k[16] = (unsigned char)what;
}

int store_sla_add(struct store_txn *txn, int64_t due_ms, uint64_t ticket_id, unsigned what)
{
	unsigned char b[17];
	MDB_val k = {17, b}, v = {0, NULL};

	if (due_ms < 0)
		return GW_EINVAL;
	sla_key(b, due_ms, ticket_id, what);
	return store_err(mdb_put(txn->txn, txn->st->dbi[TBL_SLA_DUE], &k, &v, 0), "sla put");
}

int store_sla_del(struct store_txn *txn, int64_t due_ms, uint64_t ticket_id, unsigned what)
{
	unsigned char b[17];
	MDB_val k = {17, b};
	int rc;

	if (due_ms < 0)
		return GW_OK;
	sla_key(b, due_ms, ticket_id, what);
	rc = mdb_del(txn->txn, txn->st->dbi[TBL_SLA_DUE], &k, NULL);
	return rc == MDB_NOTFOUND ? GW_OK : store_err(rc, "sla del");
}

int store_sla_scan(struct store_txn *txn, int64_t until_ms, size_t max,
		   int (*fn)(void *arg, int64_t due_ms, uint64_t ticket_id, unsigned what),
		   void *arg)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t n = 0;
	int rc;

	rc = store_err(mdb_cursor_open(txn->txn, txn->st->dbi[TBL_SLA_DUE], &cur), "cursor");
	if (rc)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == MDB_SUCCESS && n < max) {
		const unsigned char *p = k.mv_data;
		int64_t due;

		if (k.mv_size != 17)
			break;
		due = (int64_t)store_be64_get(p);
		if (due > until_ms)
			break;
		n++;
		if (fn(arg, due, store_be64_get(p + 8), p[16]))
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? GW_OK : store_err(rc, "sla scan");
}

/* first_cb - keeps the first key's due time. */
static int first_cb(void *arg, int64_t due_ms, uint64_t ticket_id, unsigned what)
{
	(void)ticket_id;
	(void)what;
	*(int64_t *)arg = due_ms;
	return 1;
}

int store_sla_next(struct store_txn *txn, int64_t *due_ms)
{
	*due_ms = INT64_MAX;
	return store_sla_scan(txn, INT64_MAX, 1, first_cb, due_ms);
}

/*
 * autoreply.c - table `autoreply`: the router's automatic messages
 * (router/rules/autoreply.c) in two key spaces.
 *   'd' + 8-byte big-endian due time (ms) + 8-byte ticket id + kind byte
 *       -> empty: a message to consider at that time, in time order
 *   'w' + 8-byte big-endian customer id + kind byte
 *       -> 8-byte big-endian time (ms) the last one of that kind went out,
 *          what keeps a customer from getting two within the window
 */
#include "store/store_int.h"

#include <string.h>

#include "core/err.h"

#define DUE_KEY 18
#define LAST_KEY 10

static void due_key(unsigned char k[DUE_KEY], int64_t due, uint64_t ticket, unsigned kind)
{
	k[0] = 'd';
	store_be64_put(k + 1, (uint64_t)due);
	store_be64_put(k + 9, ticket);
	k[17] = (unsigned char)kind;
}

int store_autoreply_add(struct store_txn *txn, int64_t due_ms, uint64_t ticket_id,
			unsigned kind)
{
	unsigned char b[DUE_KEY];
	MDB_val k = {DUE_KEY, b}, v = {0, NULL};

	if (due_ms < 0 || kind == 0 || kind > 255)
		return GW_EINVAL;
	due_key(b, due_ms, ticket_id, kind);
	return store_err(mdb_put(txn->txn, txn->st->dbi[TBL_AUTOREPLY], &k, &v, 0),
			 "autoreply put");
}

int store_autoreply_del(struct store_txn *txn, int64_t due_ms, uint64_t ticket_id,
			unsigned kind)
{
	unsigned char b[DUE_KEY];
	MDB_val k = {DUE_KEY, b};
	int rc;

	if (due_ms < 0)
		return GW_OK;
	due_key(b, due_ms, ticket_id, kind);
	rc = mdb_del(txn->txn, txn->st->dbi[TBL_AUTOREPLY], &k, NULL);
	return rc == MDB_NOTFOUND ? GW_OK : store_err(rc, "autoreply del");
}

int store_autoreply_scan(struct store_txn *txn, int64_t until_ms, size_t max,
			 int (*fn)(void *arg, int64_t due_ms, uint64_t ticket_id,
				   unsigned kind),
			 void *arg)
{
	unsigned char first = 'd';
	MDB_cursor *cur = NULL;
	MDB_val k = {1, &first}, v;
	size_t n = 0;
	int rc;

	rc = store_err(mdb_cursor_open(txn->txn, txn->st->dbi[TBL_AUTOREPLY], &cur), "cursor");
	if (rc)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == MDB_SUCCESS && n < max) {
		const unsigned char *p = k.mv_data;
		int64_t due;

		if (k.mv_size != DUE_KEY || p[0] != 'd')
			break;
		due = (int64_t)store_be64_get(p + 1);
		if (due > until_ms)
			break;
		n++;
		if (fn(arg, due, store_be64_get(p + 9), p[17]))
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? GW_OK : store_err(rc, "autoreply scan");
}

/* first_cb - keeps the first key's due time. */
static int first_cb(void *arg, int64_t due_ms, uint64_t ticket_id, unsigned kind)
{
	(void)ticket_id;
	(void)kind;
	*(int64_t *)arg = due_ms;
	return 1;
}

int store_autoreply_next(struct store_txn *txn, int64_t *due_ms)
{
	*due_ms = INT64_MAX;
	return store_autoreply_scan(txn, INT64_MAX, 1, first_cb, due_ms);
}

static void last_key(unsigned char k[LAST_KEY], uint64_t customer, unsigned kind)
{
	k[0] = 'w';
	store_be64_put(k + 1, customer);
	k[9] = (unsigned char)kind;
}

int store_autoreply_last_get(struct store_txn *txn, uint64_t customer_id, unsigned kind,
			     int64_t *at_ms)
{
	unsigned char b[LAST_KEY];
	MDB_val k = {LAST_KEY, b}, v;
	int rc;

	last_key(b, customer_id, kind);
	rc = store_err(mdb_get(txn->txn, txn->st->dbi[TBL_AUTOREPLY], &k, &v), "autoreply get");
	if (rc == GW_OK && v.mv_size != 8)
		rc = GW_EPROTO;
	if (rc == GW_OK)
		*at_ms = (int64_t)store_be64_get(v.mv_data);
	return rc;
}

int store_autoreply_last_put(struct store_txn *txn, uint64_t customer_id, unsigned kind,
			     int64_t at_ms)
{
	unsigned char b[LAST_KEY], val[8];
	MDB_val k = {LAST_KEY, b}, v = {8, val};

	last_key(b, customer_id, kind);
	store_be64_put(val, (uint64_t)at_ms);
	return store_err(mdb_put(txn->txn, txn->st->dbi[TBL_AUTOREPLY], &k, &v, 0),
			 "autoreply last put");
}

/*
 * tickets.c - tables `tickets` (ticket_id -> proto_ticket, msgpack) and
 * `cust_tix` ((customer_id, ticket_id) -> empty: a customer's tickets).
 */
#include "store/store_int.h"

#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"

int store_ticket_get(struct store_txn *txn, uint64_t id, struct proto_ticket *t)
{
	struct proto_error perr;
	const void *data;
	size_t len;
	int rc;

	rc = store_rec_get(txn, TBL_TICKETS, id, &data, &len);
	if (rc)
		return rc;
	rc = proto_ticket_decode(data, len, t, &perr);
	if (rc)
		GW_ERROR("store", "ticket %llu: stored record does not decode: %s",
			 (unsigned long long)id, perr.message);
	return rc;
}

int store_ticket_put(struct store_txn *txn, const struct proto_ticket *t)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = proto_ticket_encode(t, &buf, &len);
	if (rc)
		return rc;
	rc = store_rec_put(txn, TBL_TICKETS, t->ticket_id, buf, len);
	free(buf);
	if (rc)
		return rc;
	return store_pair_put(txn, TBL_CUST_TIX, t->customer_id, t->ticket_id);
}

int store_customer_tickets(struct store_txn *txn, uint64_t customer_id, size_t max,
			   int (*fn)(void *arg, uint64_t ticket_id), void *arg)
{
	return store_pair_scan(txn, TBL_CUST_TIX, customer_id, max, fn, arg);
}

int store_customer_ticket_del(struct store_txn *txn, uint64_t customer_id, uint64_t ticket_id)
{
	return store_pair_del(txn, TBL_CUST_TIX, customer_id, ticket_id);
}

int store_ticket_raw(struct store_txn *txn, uint64_t id, const void **data, size_t *len)
{
	return store_rec_get(txn, TBL_TICKETS, id, data, len);
}

int store_ticket_scan(struct store_txn *txn, uint64_t from, size_t max,
		      int (*fn)(void *arg, uint64_t id, const void *data, size_t len), void *arg,
		      uint64_t *next)
{
	unsigned char b[8];
	MDB_val k = {8, b}, v;
	MDB_cursor *cur = NULL;
	MDB_cursor_op op = MDB_SET_RANGE;
	size_t seen = 0;
	int rc, stop = 0;

	*next = 0;
	store_be64_put(b, from);
	rc = mdb_cursor_open(txn->txn, txn->st->dbi[TBL_TICKETS], &cur);
	if (rc)
		return store_err(rc, "tickets");
	while (!stop && seen < max && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		seen++;
		if (k.mv_size != 8)
			continue;
		stop = fn(arg, store_be64_get(k.mv_data), v.mv_data, v.mv_size);
		*next = store_be64_get(k.mv_data) + 1;
	}
	if (rc == 0 && !stop && seen == max && mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0 &&
	    k.mv_size == 8)
		*next = store_be64_get(k.mv_data);
	else if (rc == MDB_NOTFOUND)
		*next = 0;
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? GW_OK : store_err(rc, "tickets");
}

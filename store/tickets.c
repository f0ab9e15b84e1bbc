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

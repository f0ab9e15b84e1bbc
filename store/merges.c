/*
 * merges.c - tables `merges` (merge_id -> proto_merge record, msgpack: what
 * a customer merge moved, so that it can be undone) and `cust_merges`
 * ((customer_id, merge_id) -> empty: the merges a customer took part in,
 * on either side).
 */
#include "store/store_int.h"

#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"

int store_merge_get(struct store_txn *txn, uint64_t id, struct proto_merge *m)
{
	struct proto_error perr;
	const void *data;
	size_t len;
	int rc;

	rc = store_rec_get(txn, TBL_MERGES, id, &data, &len);
	if (rc)
		return rc;
	rc = proto_merge_decode(data, len, m, &perr);
	if (rc)
		GW_ERROR("store", "merge %llu: stored record does not decode: %s",
			 (unsigned long long)id, perr.message);
	return rc;
}

int store_merge_raw(struct store_txn *txn, uint64_t id, const void **data, size_t *len)
{
	return store_rec_get(txn, TBL_MERGES, id, data, len);
}

int store_merge_put(struct store_txn *txn, const struct proto_merge *m)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = proto_merge_encode(m, &buf, &len);
	if (rc)
		return rc;
	rc = store_rec_put(txn, TBL_MERGES, m->merge_id, buf, len);
	free(buf);
	if (rc == GW_OK)
		rc = store_pair_put(txn, TBL_CUST_MERGES, m->source_customer_id, m->merge_id);
	if (rc == GW_OK)
		rc = store_pair_put(txn, TBL_CUST_MERGES, m->target_customer_id, m->merge_id);
	return rc;
}

int store_customer_merges(struct store_txn *txn, uint64_t customer_id, size_t max,
			  int (*fn)(void *arg, uint64_t merge_id), void *arg)
{
	return store_pair_scan(txn, TBL_CUST_MERGES, customer_id, max, fn, arg);
}

/*
 * customers.c - tables `identities` ((kind, address) -> customer_id, and a
 * flags byte: STORE_IDENT_VERIFIED) and `customers` (customer_id ->
 * proto_customer record, msgpack). Identity values written before the
 * flags byte existed are 8 bytes and read as verified.
 */
#include "store/store_int.h"

#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"

#define IDENTITY_KEY_MAX 511

static int identity_key(char *buf, size_t *len, const char *channel, const char *address)
{
	const char *parts[2] = {channel, address};

	return store_strkey(buf, IDENTITY_KEY_MAX, len, parts, 2);
}

int store_identity_get(struct store_txn *txn, const char *channel, const char *address,
		       uint64_t *customer_id)
{
	unsigned flags;

	return store_identity_lookup(txn, channel, address, customer_id, &flags);
}

int store_identity_lookup(struct store_txn *txn, const char *channel, const char *address,
			  uint64_t *customer_id, unsigned *flags)
{
	char buf[IDENTITY_KEY_MAX];
	MDB_val k, v;
	int rc;

	rc = identity_key(buf, &k.mv_size, channel, address);
	if (rc)
		return rc;
	k.mv_data = buf;
	rc = mdb_get(txn->txn, txn->st->dbi[TBL_IDENTITIES], &k, &v);
	if (rc)
		return store_err(rc, "identity get");
	if (v.mv_size != 8 && v.mv_size != 9)
		return GW_EPROTO;
	*customer_id = store_be64_get(v.mv_data);
	*flags = v.mv_size == 9 ? ((unsigned char *)v.mv_data)[8] : STORE_IDENT_VERIFIED;
	return GW_OK;
}

int store_identity_put(struct store_txn *txn, const char *channel, const char *address,
		       uint64_t customer_id)
{
	return store_identity_set(txn, channel, address, customer_id, STORE_IDENT_VERIFIED);
}

int store_identity_set(struct store_txn *txn, const char *channel, const char *address,
		       uint64_t customer_id, unsigned flags)
{
	char buf[IDENTITY_KEY_MAX];
	unsigned char b[9];
	MDB_val k, v = {9, b};
	int rc;

	rc = identity_key(buf, &k.mv_size, channel, address);
	if (rc)
		return rc;
	k.mv_data = buf;
	store_be64_put(b, customer_id);
	b[8] = (unsigned char)flags;
	return store_err(mdb_put(txn->txn, txn->st->dbi[TBL_IDENTITIES], &k, &v, 0),
			 "identity put");
}

int store_identity_del(struct store_txn *txn, const char *channel, const char *address)
{
	char buf[IDENTITY_KEY_MAX];
	MDB_val k;
	int rc;

	rc = identity_key(buf, &k.mv_size, channel, address);
	if (rc)
		return rc;
	k.mv_data = buf;
	rc = mdb_del(txn->txn, txn->st->dbi[TBL_IDENTITIES], &k, NULL);
	return rc == MDB_NOTFOUND ? GW_OK : store_err(rc, "identity del");
}

int store_customer_get(struct store_txn *txn, uint64_t id, struct proto_customer *c)
{
	struct proto_error perr;
	const void *data;
	size_t len;
	int rc;

	rc = store_rec_get(txn, TBL_CUSTOMERS, id, &data, &len);
	if (rc)
		return rc;
	rc = proto_customer_decode(data, len, c, &perr);
	if (rc)
		GW_ERROR("store", "customer %llu: stored record does not decode: %s",
			 (unsigned long long)id, perr.message);
	return rc;
}

int store_customer_put(struct store_txn *txn, const struct proto_customer *c)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = proto_customer_encode(c, &buf, &len);
	if (rc)
		return rc;
	rc = store_rec_put(txn, TBL_CUSTOMERS, c->customer_id, buf, len);
	free(buf);
	return rc;
}

int store_customer_raw(struct store_txn *txn, uint64_t id, const void **data, size_t *len)
{
	return store_rec_get(txn, TBL_CUSTOMERS, id, data, len);
}

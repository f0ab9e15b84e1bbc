/*
 * deliveries.c - tables `deliveries` (delivery_id -> record) and
 * `deliveries_pending` (delivery_id -> empty while no report came).
 *
 * Record layout (binary; a version byte first so that it can grow):
 *   u8 version (1), be64 seq, be64 created_at,
 *   u8 len + state, u8 len + channel, u8 len + account
 * Every string fits a one-byte length: proto bounds channel and account.
 */
#include "store/store_int.h"

#include <string.h>

#include "core/err.h"
#include "core/log.h"

#define DELIV_VERSION 1
#define DELIV_PENDING "pending"

/* put_str - appends a length-prefixed string; GW_ETOOBIG past 255 bytes. */
static int put_str(unsigned char *buf, size_t *off, const char *s)
{
	size_t l = strlen(s);

	if (l > 255 || *off + 1 + l > STORE_DELIVERY_REC_MAX)
		return GW_ETOOBIG;
	buf[(*off)++] = (unsigned char)l;
	memcpy(buf + *off, s, l);
	*off += l;
	return GW_OK;
}

/* get_str - reads a length-prefixed string into dst (cap bytes with NUL). */
static int get_str(const unsigned char *buf, size_t len, size_t *off, char *dst, size_t cap)
{
	size_t l;

	if (*off >= len)
		return GW_EPROTO;
	l = buf[(*off)++];
	if (l >= cap || *off + l > len || memchr(buf + *off, '\0', l))
		return GW_EPROTO;
	memcpy(dst, buf + *off, l);
	dst[l] = '\0';
	*off += l;
	return GW_OK;
}

int store_delivery_decode(const void *data, size_t len, struct store_delivery *d)
{
	const unsigned char *buf = data;
	size_t off = 17;
	int rc;

	if (len < 17 || buf[0] != DELIV_VERSION)
		return GW_EPROTO;
	d->seq = store_be64_get(buf + 1);
	d->created_at = (int64_t)store_be64_get(buf + 9);
	rc = get_str(buf, len, &off, d->state, sizeof(d->state));
	if (rc == GW_OK)
		rc = get_str(buf, len, &off, d->channel, sizeof(d->channel));
	if (rc == GW_OK)
		rc = get_str(buf, len, &off, d->account, sizeof(d->account));
	return rc;
}

int store_delivery_get(struct store_txn *txn, uint64_t id, struct store_delivery *d)
{
	const void *data;
	size_t len;
	int rc;

	memset(d, 0, sizeof(*d));
	rc = store_rec_get(txn, TBL_DELIVERIES, id, &data, &len);
	if (rc)
		return rc;
	rc = store_delivery_decode(data, len, d);
	if (rc)
		GW_ERROR("store", "delivery %llu: stored record does not decode",
			 (unsigned long long)id);
	d->delivery_id = id;
	return rc;
}

/* pending_set - puts `id` into the pending index or takes it out. */
static int pending_set(struct store_txn *txn, uint64_t id, int pending)
{
	unsigned char b[8];
	MDB_val k = {8, b}, v = {0, NULL};
	int rc;

	store_be64_put(b, id);
	if (pending)
		return store_err(mdb_put(txn->txn, txn->st->dbi[TBL_DELIV_PENDING], &k, &v, 0),
				 "deliveries_pending put");
	rc = mdb_del(txn->txn, txn->st->dbi[TBL_DELIV_PENDING], &k, NULL);
	return rc == MDB_NOTFOUND ? GW_OK : store_err(rc, "deliveries_pending del");
}

int store_delivery_encode(const struct store_delivery *d, void *out, size_t cap, size_t *len)
{
	unsigned char *buf = out;
	size_t off = 17;
	int rc;

	if (cap < STORE_DELIVERY_REC_MAX)
		return GW_ETOOBIG;
	buf[0] = DELIV_VERSION;
	store_be64_put(buf + 1, d->seq);
	store_be64_put(buf + 9, (uint64_t)d->created_at);
	rc = put_str(buf, &off, d->state);
	if (rc == GW_OK)
		rc = put_str(buf, &off, d->channel);
	if (rc == GW_OK)
		rc = put_str(buf, &off, d->account);
	*len = off;
	return rc;
}

int store_delivery_put(struct store_txn *txn, const struct store_delivery *d)
{
	unsigned char buf[STORE_DELIVERY_REC_MAX];
	size_t len = 0;
	int rc;

	rc = store_delivery_encode(d, buf, sizeof(buf), &len);
	if (rc == GW_OK)
		rc = store_rec_put(txn, TBL_DELIVERIES, d->delivery_id, buf, len);
	if (rc == GW_OK)
		rc = pending_set(txn, d->delivery_id, strcmp(d->state, DELIV_PENDING) == 0);
	return rc;
}

int store_delivery_pending(struct store_txn *txn, uint64_t from, size_t max,
			   int (*fn)(void *arg, uint64_t id), void *arg)
{
	unsigned char b[8];
	MDB_cursor *cur = NULL;
	MDB_val k = {8, b}, v;
	size_t n = 0;
	int rc;

	store_be64_put(b, from);
	rc = store_err(mdb_cursor_open(txn->txn, txn->st->dbi[TBL_DELIV_PENDING], &cur), "cursor");
	if (rc)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == MDB_SUCCESS && n < max && k.mv_size == 8) {
		n++;
		if (fn(arg, store_be64_get(k.mv_data)))
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? GW_OK
						       : store_err(rc, "deliveries_pending scan");
}

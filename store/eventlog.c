/*
 * eventlog.c - table `events`: seq -> [type length (1 byte), type, event].
 *
 * The log is the record of everything the router decided, and the source of
 * replay. seq is gap-free: an append must be exactly head + 1, so a bug that
 * would skip or reuse a number fails loudly instead of confusing consumers.
 * Keys only grow, so appends use MDB_APPEND (no B-tree search).
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"

#define EVENT_TYPE_MAX 255

int store_eventlog_head(struct store_txn *txn, uint64_t *seq)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc;

	*seq = 0;
	rc = store_err(mdb_cursor_open(txn->txn, txn->st->dbi[TBL_EVENTS], &cur), "cursor");
	if (rc)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return GW_OK;
	if (rc)
		return store_err(rc, "events last");
	if (k.mv_size != 8)
		return GW_EPROTO;
	*seq = store_be64_get(k.mv_data);
	return GW_OK;
}

/* head_of - the head, looked up once per transaction then kept by appends. */
static int head_of(struct store_txn *txn, uint64_t *head)
{
	int rc = GW_OK;

	if (!txn->events_head_known) {
		rc = store_eventlog_head(txn, &txn->events_head);
		txn->events_head_known = rc == GW_OK;
	}
	*head = txn->events_head;
	return rc;
}

int store_eventlog_append(struct store_txn *txn, uint64_t seq, const char *type,
			  const void *data, size_t len)
{
	size_t tlen = strlen(type);
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	uint64_t head;
	int rc;

	if (tlen == 0 || tlen > EVENT_TYPE_MAX)
		return GW_EINVAL;
	rc = head_of(txn, &head);
	if (rc)
		return rc;
	if (seq != head + 1) {
		GW_ERROR("store", "event log: append of seq %llu after head %llu refused",
			 (unsigned long long)seq, (unsigned long long)head);
		return GW_EINVAL;
	}
	store_be64_put(kb, seq);
	v.mv_size = 1 + tlen + len;
	/* MDB_RESERVE: LMDB hands out the space and we fill it, one copy. */
	rc = mdb_put(txn->txn, txn->st->dbi[TBL_EVENTS], &k, &v, MDB_APPEND | MDB_RESERVE);
	if (rc)
		return store_err(rc, "events append");
	((unsigned char *)v.mv_data)[0] = (unsigned char)tlen;
	memcpy((char *)v.mv_data + 1, type, tlen);
	memcpy((char *)v.mv_data + 1 + tlen, data, len);
	txn->events_head = seq;
	return GW_OK;
}

static int split_value(const MDB_val *v, const char **type, size_t *type_len,
		       const void **data, size_t *len)
{
	const unsigned char *p = v->mv_data;

	if (v->mv_size < 1 || (size_t)p[0] + 1 > v->mv_size)
		return GW_EPROTO;
	*type = (const char *)p + 1;
	*type_len = p[0];
	*data = p + 1 + p[0];
	*len = v->mv_size - 1 - p[0];
	return GW_OK;
}

int store_eventlog_get(struct store_txn *txn, uint64_t seq, const char **type,
		       size_t *type_len, const void **data, size_t *len)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	int rc;

	store_be64_put(kb, seq);
	rc = mdb_get(txn->txn, txn->st->dbi[TBL_EVENTS], &k, &v);
	if (rc)
		return store_err(rc, "events get");
	return split_value(&v, type, type_len, data, len);
}

int store_eventlog_scan(struct store_txn *txn, uint64_t from, store_event_fn fn, void *arg)
{
	unsigned char kb[8];
	MDB_cursor *cur = NULL;
	MDB_val k = {8, kb}, v;
	const char *type;
	const void *data;
	size_t tlen, len;
	int rc;

	store_be64_put(kb, from);
	rc = store_err(mdb_cursor_open(txn->txn, txn->st->dbi[TBL_EVENTS], &cur), "cursor");
	if (rc)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == MDB_SUCCESS) {
		if (k.mv_size != 8 || split_value(&v, &type, &tlen, &data, &len)) {
			GW_ERROR("store", "event log: malformed record");
			mdb_cursor_close(cur);
			return GW_EPROTO;
		}
		if (fn(arg, store_be64_get(k.mv_data), type, tlen, data, len))
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? GW_OK : store_err(rc, "events scan");
}

int store_eventlog_decode(struct store_txn *txn, uint64_t seq, struct proto_event *ev)
{
	struct proto_error perr;
	const char *type;
	const void *data = NULL;
	size_t tlen = 0, len = 0;
	int rc;

	memset(ev, 0, sizeof(*ev));
	rc = store_eventlog_get(txn, seq, &type, &tlen, &data, &len);
	if (rc)
		return rc;
	rc = proto_decode(data, len, ev, &perr);
	if (rc)
		GW_WARN("store", "event %llu does not decode: %s", (unsigned long long)seq,
			perr.message);
	return rc;
}

/*
 * sentlog.c - the journal of replies a provider took (see sentlog.h): one
 * LMDB environment, one unnamed table, external_id -> record.
 */
#include "store/sentlog.h"

#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store_int.h"

#define SENTLOG_VERSION 1
#define SENTLOG_MAP_SIZE (64u * 1024u * 1024u) /* ~200,000 records */

struct sentlog {
	MDB_env *env;
	MDB_dbi dbi;
};

static int sl_open_table(struct sentlog *sl)
{
	MDB_txn *txn = NULL;
	int rc;

	rc = mdb_txn_begin(sl->env, NULL, 0, &txn);
	if (rc)
		return store_err(rc, "sentlog begin");
	rc = mdb_dbi_open(txn, NULL, 0, &sl->dbi);
	if (rc) {
		mdb_txn_abort(txn);
		return store_err(rc, "sentlog open");
	}
	return store_err(mdb_txn_commit(txn), "sentlog open");
}

int sentlog_open(const char *dir, struct sentlog **out)
{
	struct sentlog *sl;
	int rc;

	*out = NULL;
	rc = gw_mkdir_p(dir);
	if (rc)
		return rc;
	sl = calloc(1, sizeof(*sl));
	if (!sl)
		return GW_ENOMEM;
	rc = store_err(mdb_env_create(&sl->env), "sentlog env");
	if (rc == GW_OK)
		rc = store_err(mdb_env_set_mapsize(sl->env, SENTLOG_MAP_SIZE), "sentlog map");
	if (rc == GW_OK)
		rc = store_err(mdb_env_open(sl->env, dir, MDB_NOTLS, 0600), dir);
	if (rc == GW_OK)
		rc = sl_open_table(sl);
	if (rc) {
		sentlog_close(sl);
		return rc;
	}
	*out = sl;
	return GW_OK;
}

void sentlog_close(struct sentlog *sl)
{
	if (!sl)
		return;
	if (sl->env)
		mdb_env_close(sl->env);
	free(sl);
}

size_t sentlog_encode(const struct sentlog_rec *r, unsigned char buf[SENTLOG_REC_MAX])
{
	size_t la = strlen(r->ref_account), li = strlen(r->ref_id), off = 0;

	buf[off++] = SENTLOG_VERSION;
	store_be64_put(buf + off, (uint64_t)r->at);
	off += 8;
	buf[off++] = (unsigned char)la;
	memcpy(buf + off, r->ref_account, la);
	off += la;
	buf[off++] = (unsigned char)(li >> 8);
	buf[off++] = (unsigned char)li;
	memcpy(buf + off, r->ref_id, li);
	return off + li;
}

int sentlog_decode(const void *data, size_t len, struct sentlog_rec *r)
{
	const unsigned char *b = data;
	size_t la, li, off = 10;

	if (len < 12 || b[0] != SENTLOG_VERSION)
		return GW_EPROTO;
	r->at = (int64_t)store_be64_get(b + 1);
	la = b[9];
	if (la > PROTO_MAX_ACCOUNT || off + la + 2 > len || memchr(b + off, '\0', la))
		return GW_EPROTO;
	memcpy(r->ref_account, b + off, la);
	r->ref_account[la] = '\0';
	off += la;
	li = ((size_t)b[off] << 8) | b[off + 1];
	off += 2;
	if (li > PROTO_MAX_EXTERNAL_ID || off + li != len || memchr(b + off, '\0', li))
		return GW_EPROTO;
	memcpy(r->ref_id, b + off, li);
	r->ref_id[li] = '\0';
	return GW_OK;
}

int sentlog_get(struct sentlog *sl, const char *key, struct sentlog_rec *rec)
{
	MDB_txn *txn = NULL;
	MDB_val k = {strlen(key), (void *)key}, v;
	int rc;

	memset(rec, 0, sizeof(*rec));
	if (k.mv_size == 0 || k.mv_size > PROTO_MAX_EXTERNAL_ID)
		return GW_ENOTFOUND;
	rc = store_err(mdb_txn_begin(sl->env, NULL, MDB_RDONLY, &txn), "sentlog begin");
	if (rc)
		return rc;
	rc = mdb_get(txn, sl->dbi, &k, &v);
	if (rc == MDB_NOTFOUND)
		rc = GW_ENOTFOUND;
	else if (rc)
		rc = store_err(rc, "sentlog get");
	else
		rc = sentlog_decode(v.mv_data, v.mv_size, rec);
	if (rc == GW_OK)
		memcpy(rec->key, key, k.mv_size + 1);
	else if (rc == GW_EPROTO)
		GW_ERROR("store", "sentlog: the record of %s does not decode", key);
	mdb_txn_abort(txn);
	return rc;
}

int sentlog_put(struct sentlog *sl, const struct sentlog_rec *recs, size_t n)
{
	unsigned char buf[SENTLOG_REC_MAX];
	MDB_txn *txn = NULL;
	int rc;

	rc = store_err(mdb_txn_begin(sl->env, NULL, 0, &txn), "sentlog begin");
	for (size_t i = 0; rc == GW_OK && i < n; i++) {
		MDB_val k = {strlen(recs[i].key), (void *)recs[i].key}, v;

		if (k.mv_size == 0 || k.mv_size > PROTO_MAX_EXTERNAL_ID ||
		    strlen(recs[i].ref_account) > PROTO_MAX_ACCOUNT ||
		    strlen(recs[i].ref_id) > PROTO_MAX_EXTERNAL_ID) {
			rc = GW_ETOOBIG;
			break;
		}
		v.mv_data = buf;
		v.mv_size = sentlog_encode(&recs[i], buf);
		rc = store_err(mdb_put(txn, sl->dbi, &k, &v, 0), "sentlog put");
	}
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	return store_err(mdb_txn_commit(txn), "sentlog commit");
}

/* sl_prune_txn - deletes, in `txn`, the records older than `before_ms`. */
static int sl_prune_txn(struct sentlog *sl, MDB_txn *txn, int64_t before_ms, size_t *n)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc;

	rc = mdb_cursor_open(txn, sl->dbi, &cur);
	if (rc)
		return store_err(rc, "sentlog cursor");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct sentlog_rec r;

		if (sentlog_decode(v.mv_data, v.mv_size, &r) == GW_OK && r.at >= before_ms)
			continue;
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			break;
		(*n)++;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? GW_OK : store_err(rc, "sentlog prune");
}

int sentlog_prune(struct sentlog *sl, int64_t before_ms, size_t *n)
{
	MDB_txn *txn = NULL;
	size_t count = 0;
	int rc;

	rc = store_err(mdb_txn_begin(sl->env, NULL, 0, &txn), "sentlog begin");
	if (rc == GW_OK)
		rc = sl_prune_txn(sl, txn, before_ms, &count);
	if (rc == GW_OK)
		rc = store_err(mdb_txn_commit(txn), "sentlog commit");
	else
		mdb_txn_abort(txn);
	if (n)
		*n = rc == GW_OK ? count : 0;
	return rc;
}

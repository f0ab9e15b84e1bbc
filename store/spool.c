/*
 * spool.c - a connector's durable queue (see spool.h). One LMDB environment
 * with one unnamed table: 8-byte big-endian key -> encoded event. Keys only
 * grow, so appends use MDB_APPEND; deletes of acknowledged entries ride in
 * the same transaction as the next appends, so a batch costs one sync.
 */
#include "store/spool.h"

#include <lmdb.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store_int.h"

struct spool {
	MDB_env *env;
	MDB_dbi dbi;
	uint64_t next_key; /* the key of the next append */
};

/* spool_err - store_err(), except that a full map names the spool's own
 * setting (store_err names the router's). */
static int spool_err(int rc, const char *what)
{
	if (rc == MDB_MAP_FULL) {
		GW_ERROR("store", "%s: the spool's LMDB map is full; raise the connector's "
			 "spool_map_mb", what);
		return GW_EFULL;
	}
	return store_err(rc, what);
}

static int spool_load_next(struct spool *sp)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc;

	rc = mdb_txn_begin(sp->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return spool_err(rc, "spool begin");
	rc = mdb_cursor_open(txn, sp->dbi, &cur);
	if (rc == MDB_SUCCESS)
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	sp->next_key = 1;
	if (rc == MDB_SUCCESS && k.mv_size == 8)
		sp->next_key = store_be64_get(k.mv_data) + 1;
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? GW_OK : spool_err(rc, "spool last");
}

static int spool_open_table(struct spool *sp)
{
	MDB_txn *txn = NULL;
	int rc;

	rc = mdb_txn_begin(sp->env, NULL, 0, &txn);
	if (rc)
		return spool_err(rc, "spool begin");
	rc = mdb_dbi_open(txn, NULL, 0, &sp->dbi);
	if (rc) {
		mdb_txn_abort(txn);
		return spool_err(rc, "spool open");
	}
	return spool_err(mdb_txn_commit(txn), "spool open");
}

int spool_open(const char *dir, size_t map_size, struct spool **out)
{
	struct spool *sp = NULL;
	int rc;

	*out = NULL;
	rc = gw_mkdir_p(dir);
	if (rc)
		return rc;
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return GW_ENOMEM;
	rc = spool_err(mdb_env_create(&sp->env), "spool env");
	if (rc)
		goto out;
	mdb_env_set_mapsize(sp->env, map_size);
	rc = spool_err(mdb_env_open(sp->env, dir, MDB_NOTLS, 0600), dir);
	if (rc)
		goto out;
	rc = spool_open_table(sp);
	if (rc)
		goto out;
	rc = spool_load_next(sp);
out:
	if (rc) {
		spool_close(sp);
		return rc;
	}
	*out = sp;
	return GW_OK;
}

void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	if (sp->env)
		mdb_env_close(sp->env);
	free(sp);
}

static int spool_delete(MDB_txn *txn, MDB_dbi dbi, const uint64_t *del, size_t ndel)
{
	unsigned char kb[8];
	MDB_val k = {8, kb};

	for (size_t i = 0; i < ndel; i++) {
		store_be64_put(kb, del[i]);
		int rc = mdb_del(txn, dbi, &k, NULL);

		if (rc && rc != MDB_NOTFOUND)
			return spool_err(rc, "spool delete");
	}
	return GW_OK;
}

static int spool_append(MDB_txn *txn, MDB_dbi dbi, uint64_t key,
			const struct spool_rec *add, size_t nadd)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;

	for (size_t i = 0; i < nadd; i++) {
		store_be64_put(kb, key + i);
		v.mv_size = add[i].len;
		v.mv_data = (void *)add[i].data;
		int rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND);

		if (rc)
			return spool_err(rc, "spool append");
	}
	return GW_OK;
}

int spool_write(struct spool *sp, const uint64_t *del, size_t ndel,
		const struct spool_rec *add, size_t nadd, uint64_t *first_key)
{
	MDB_txn *txn = NULL;
	int rc;

	if (first_key)
		*first_key = sp->next_key;
	if (ndel == 0 && nadd == 0)
		return GW_OK;
	rc = spool_err(mdb_txn_begin(sp->env, NULL, 0, &txn), "spool begin");
	if (rc)
		return rc;
	rc = spool_delete(txn, sp->dbi, del, ndel);
	if (rc == GW_OK)
		rc = spool_append(txn, sp->dbi, sp->next_key, add, nadd);
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	rc = spool_err(mdb_txn_commit(txn), "spool commit");
	if (rc == GW_OK)
		sp->next_key += nadd;
	return rc;
}

int spool_count(struct spool *sp, uint64_t *count)
{
	MDB_txn *txn = NULL;
	MDB_stat stat;
	int rc;

	rc = spool_err(mdb_txn_begin(sp->env, NULL, MDB_RDONLY, &txn), "spool begin");
	if (rc)
		return rc;
	rc = spool_err(mdb_stat(txn, sp->dbi, &stat), "spool stat");
	mdb_txn_abort(txn);
	*count = rc ? 0 : stat.ms_entries;
	return rc;
}

int spool_scan(struct spool *sp, uint64_t from,
	       int (*fn)(void *arg, uint64_t key, const void *data, size_t len), void *arg)
{
	unsigned char kb[8];
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k = {8, kb}, v;
	int rc;

	store_be64_put(kb, from);
	rc = spool_err(mdb_txn_begin(sp->env, NULL, MDB_RDONLY, &txn), "spool begin");
	if (rc)
		return rc;
	rc = mdb_cursor_open(txn, sp->dbi, &cur);
	if (rc == MDB_SUCCESS)
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == MDB_SUCCESS) {
		if (k.mv_size == 8 && fn(arg, store_be64_get(k.mv_data), v.mv_data, v.mv_size))
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? GW_OK : spool_err(rc, "spool scan");
}

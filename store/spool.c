/*
 * spool.c - a connector's durable queue and its quarantine (see spool.h).
 * One LMDB environment with two named tables: `events` (8-byte big-endian
 * key -> encoded event) and `quarantine` (8-byte big-endian id -> record).
 * Keys and ids only grow, so appends use MDB_APPEND; deletes of
 * acknowledged entries ride in the same transaction as the next appends,
 * so a batch costs one sync, quarantine records included.
 */
#include "store/spool.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store_int.h"

#define SPOOL_MAXDBS 4
#define SPOOL_T_EVENTS "events"
#define SPOOL_T_QUARANTINE "quarantine"

struct spool {
	MDB_env *env;
	MDB_dbi dbi;       /* events */
	MDB_dbi qdbi;      /* quarantine */
	int has_q;         /* the quarantine table exists (read-only opens) */
	int has_events;    /* the events table exists (read-only opens) */
	uint64_t next_key; /* the key of the next append */
	uint64_t next_qid; /* the id of the next quarantine record */
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

/* spool_last - the last 8-byte key of `dbi` plus one into *next (1 when
 * empty). */
static int spool_last(MDB_txn *txn, MDB_dbi dbi, uint64_t *next)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, dbi, &cur);

	if (rc == MDB_SUCCESS)
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	*next = 1;
	if (rc == MDB_SUCCESS && k.mv_size == 8)
		*next = store_be64_get(k.mv_data) + 1;
	if (cur)
		mdb_cursor_close(cur);
	return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? GW_OK : spool_err(rc, "spool last");
}

static int spool_load_next(struct spool *sp)
{
	MDB_txn *txn = NULL;
	int rc;

	rc = mdb_txn_begin(sp->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return spool_err(rc, "spool begin");
	rc = spool_last(txn, sp->dbi, &sp->next_key);
	if (rc == GW_OK)
		rc = spool_last(txn, sp->qdbi, &sp->next_qid);
	mdb_txn_abort(txn);
	return rc;
}

/*
 * spool_migrate - moves the events of a spool written before the named
 * tables (8-byte keys of the unnamed database) into `events`, in the
 * transaction that created it. Nothing else lives there but table names.
 */
static int spool_migrate(MDB_txn *txn, MDB_dbi main, MDB_dbi events, size_t *moved)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, main, &cur);

	*moved = 0;
	if (rc == MDB_SUCCESS)
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == MDB_SUCCESS) {
		if (k.mv_size == 8) {
			rc = mdb_put(txn, events, &k, &v, MDB_APPEND);
			/* After a delete the cursor stands on the next record,
			 * which MDB_NEXT then returns. */
			if (rc == MDB_SUCCESS)
				rc = mdb_cursor_del(cur, 0);
			if (rc != MDB_SUCCESS)
				break;
			(*moved)++;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (cur)
		mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? GW_OK : spool_err(rc, "spool move to the events table");
}

static int spool_open_tables(struct spool *sp, const char *dir)
{
	MDB_txn *txn = NULL;
	MDB_dbi main;
	size_t moved = 0;
	int rc;

	rc = mdb_txn_begin(sp->env, NULL, 0, &txn);
	if (rc)
		return spool_err(rc, "spool begin");
	rc = mdb_dbi_open(txn, NULL, 0, &main);
	if (rc == MDB_SUCCESS)
		rc = mdb_dbi_open(txn, SPOOL_T_EVENTS, MDB_CREATE, &sp->dbi);
	if (rc == MDB_SUCCESS)
		rc = mdb_dbi_open(txn, SPOOL_T_QUARANTINE, MDB_CREATE, &sp->qdbi);
	rc = spool_err(rc, "spool open");
	if (rc == GW_OK)
		rc = spool_migrate(txn, main, sp->dbi, &moved);
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	rc = spool_err(mdb_txn_commit(txn), "spool open");
	if (rc == GW_OK && moved)
		GW_INFO("store", "%s: %zu spooled events moved to the spool's events table", dir,
			moved);
	sp->has_q = sp->has_events = 1;
	return rc;
}

static int spool_env(const char *dir, size_t map_size, unsigned flags, struct spool **out)
{
	struct spool *sp = calloc(1, sizeof(*sp));
	int rc;

	*out = sp;
	if (!sp)
		return GW_ENOMEM;
	rc = spool_err(mdb_env_create(&sp->env), "spool env");
	if (rc)
		return rc;
	if (map_size)
		mdb_env_set_mapsize(sp->env, map_size);
	mdb_env_set_maxdbs(sp->env, SPOOL_MAXDBS);
	return spool_err(mdb_env_open(sp->env, dir, MDB_NOTLS | flags, 0600), dir);
}

int spool_open(const char *dir, size_t map_size, struct spool **out)
{
	struct spool *sp = NULL;
	int rc;

	*out = NULL;
	rc = gw_mkdir_p(dir);
	if (rc)
		return rc;
	rc = spool_env(dir, map_size, 0, &sp);
	if (rc == GW_OK)
		rc = spool_open_tables(sp, dir);
	if (rc == GW_OK)
		rc = spool_load_next(sp);
	if (rc) {
		spool_close(sp);
		return rc;
	}
	*out = sp;
	return GW_OK;
}

/* spool_ro_table - opens table `name` if it exists; *has says whether. */
static int spool_ro_table(MDB_txn *txn, const char *name, MDB_dbi *dbi, int *has)
{
	int rc = mdb_dbi_open(txn, name, 0, dbi);

	*has = rc == MDB_SUCCESS;
	return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? GW_OK : spool_err(rc, name);
}

int spool_open_readonly(const char *dir, struct spool **out)
{
	struct spool *sp = NULL;
	struct stat st;
	MDB_txn *txn = NULL;
	char file[4200];
	int rc;

	*out = NULL;
	snprintf(file, sizeof(file), "%s/data.mdb", dir);
	if (stat(file, &st) != 0)
		return GW_ENOTFOUND;
	rc = spool_env(dir, 0, MDB_RDONLY, &sp);
	if (rc == GW_OK)
		rc = spool_err(mdb_txn_begin(sp->env, NULL, MDB_RDONLY, &txn), "spool begin");
	if (rc == GW_OK)
		rc = spool_ro_table(txn, SPOOL_T_EVENTS, &sp->dbi, &sp->has_events);
	if (rc == GW_OK)
		rc = spool_ro_table(txn, SPOOL_T_QUARANTINE, &sp->qdbi, &sp->has_q);
	if (txn && rc == GW_OK)
		rc = spool_err(mdb_txn_commit(txn), "spool open"); /* keeps the handles */
	else if (txn)
		mdb_txn_abort(txn);
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

/* spool_append - the records of `add`, each to its table, from *key and
 * *qid on (both advanced). */
static int spool_append(struct spool *sp, MDB_txn *txn, uint64_t *key, uint64_t *qid,
			const struct spool_rec *add, size_t nadd)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;

	for (size_t i = 0; i < nadd; i++) {
		int q = add[i].quarantine;

		store_be64_put(kb, q ? (*qid)++ : (*key)++);
		v.mv_size = add[i].len;
		v.mv_data = (void *)add[i].data;
		int rc = mdb_put(txn, q ? sp->qdbi : sp->dbi, &k, &v, MDB_APPEND);

		if (rc)
			return spool_err(rc, q ? "quarantine append" : "spool append");
	}
	return GW_OK;
}

/* spool_commit - commits `txn` (aborted on a failure before) and moves
 * the next key and id on once it is durable. */
static int spool_commit(struct spool *sp, MDB_txn *txn, int rc, uint64_t key, uint64_t qid)
{
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	rc = spool_err(mdb_txn_commit(txn), "spool commit");
	if (rc == GW_OK) {
		sp->next_key = key;
		sp->next_qid = qid;
	}
	return rc;
}

int spool_write(struct spool *sp, const uint64_t *del, size_t ndel,
		const struct spool_rec *add, size_t nadd, uint64_t *first_key)
{
	uint64_t key = sp->next_key, qid = sp->next_qid;
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
		rc = spool_append(sp, txn, &key, &qid, add, nadd);
	return spool_commit(sp, txn, rc, key, qid);
}

static int spool_stat(struct spool *sp, MDB_dbi dbi, int has, uint64_t *count)
{
	MDB_txn *txn = NULL;
	MDB_stat stat;
	int rc;

	*count = 0;
	if (!has)
		return GW_OK;
	rc = spool_err(mdb_txn_begin(sp->env, NULL, MDB_RDONLY, &txn), "spool begin");
	if (rc)
		return rc;
	rc = spool_err(mdb_stat(txn, dbi, &stat), "spool stat");
	mdb_txn_abort(txn);
	*count = rc ? 0 : stat.ms_entries;
	return rc;
}

int spool_count(struct spool *sp, uint64_t *count)
{
	return spool_stat(sp, sp->dbi, sp->has_events, count);
}

/* spool_scan_dbi - spool_scan over table `dbi`. */
static int spool_scan_dbi(struct spool *sp, MDB_dbi dbi, uint64_t from,
			  int (*fn)(void *arg, uint64_t key, const void *data, size_t len),
			  void *arg)
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
	rc = mdb_cursor_open(txn, dbi, &cur);
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

int spool_scan(struct spool *sp, uint64_t from,
	       int (*fn)(void *arg, uint64_t key, const void *data, size_t len), void *arg)
{
	return sp->has_events ? spool_scan_dbi(sp, sp->dbi, from, fn, arg) : GW_OK;
}

/* ---- the quarantine ---------------------------------------------------- */

int spool_q_scan(struct spool *sp, uint64_t from,
		 int (*fn)(void *arg, uint64_t id, const void *data, size_t len), void *arg)
{
	return sp->has_q ? spool_scan_dbi(sp, sp->qdbi, from, fn, arg) : GW_OK;
}

static int q_add_bytes(void *arg, uint64_t id, const void *data, size_t len)
{
	(void)id;
	(void)data;
	*(uint64_t *)arg += len;
	return 0;
}

int spool_q_stat(struct spool *sp, uint64_t *entries, uint64_t *bytes)
{
	int rc = spool_stat(sp, sp->qdbi, sp->has_q, entries);

	*bytes = 0;
	if (rc == GW_OK)
		rc = spool_q_scan(sp, 0, q_add_bytes, bytes);
	return rc;
}

int spool_q_get(struct spool *sp, uint64_t id, char **data, size_t *len)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	MDB_txn *txn = NULL;
	int rc;

	*data = NULL;
	*len = 0;
	if (!sp->has_q)
		return GW_ENOTFOUND;
	store_be64_put(kb, id);
	rc = spool_err(mdb_txn_begin(sp->env, NULL, MDB_RDONLY, &txn), "spool begin");
	if (rc)
		return rc;
	rc = store_err(mdb_get(txn, sp->qdbi, &k, &v), "quarantine get");
	if (rc == GW_OK) {
		*data = malloc(v.mv_size ? v.mv_size : 1);
		if (*data) {
			memcpy(*data, v.mv_data, v.mv_size);
			*len = v.mv_size;
		} else {
			rc = GW_ENOMEM;
		}
	}
	mdb_txn_abort(txn);
	return rc;
}

/* spool_q_update - record `id` replaced by `rec`, or deleted (NULL). */
static int spool_q_update(struct spool *sp, MDB_txn *txn, uint64_t id, const void *rec,
			  size_t rlen)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v = {rlen, (void *)rec};
	int rc;

	store_be64_put(kb, id);
	rc = mdb_get(txn, sp->qdbi, &k, &v);
	if (rc == MDB_SUCCESS && rec) {
		v.mv_size = rlen;
		v.mv_data = (void *)rec;
		rc = mdb_put(txn, sp->qdbi, &k, &v, 0);
	} else if (rc == MDB_SUCCESS) {
		rc = mdb_del(txn, sp->qdbi, &k, NULL);
	}
	return rc == MDB_NOTFOUND ? GW_ENOTFOUND : spool_err(rc, "quarantine update");
}

int spool_q_resolve(struct spool *sp, uint64_t id, const void *rec, size_t rlen,
		    const struct spool_rec *add, size_t nadd, uint64_t *first_key)
{
	uint64_t key = sp->next_key, qid = sp->next_qid;
	MDB_txn *txn = NULL;
	int rc;

	if (first_key)
		*first_key = sp->next_key;
	for (size_t i = 0; i < nadd; i++)
		if (add[i].quarantine)
			return GW_EINVAL;
	rc = spool_err(mdb_txn_begin(sp->env, NULL, 0, &txn), "spool begin");
	if (rc)
		return rc;
	rc = spool_q_update(sp, txn, id, rec, rlen);
	if (rc == GW_OK)
		rc = spool_append(sp, txn, &key, &qid, add, nadd);
	return spool_commit(sp, txn, rc, key, qid);
}

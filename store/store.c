/*
 * store.c - the router's LMDB environment: opening, transactions, the meta
 * table of counters, and the helpers the table files share.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

static const char *const table_names[TBL__COUNT] = {
	[TBL_META] = "meta",
	[TBL_DEDUP] = "dedup",
	[TBL_IDENTITIES] = "identities",
	[TBL_CUSTOMERS] = "customers",
	[TBL_TICKETS] = "tickets",
	[TBL_CUST_TIX] = "cust_tix",
	[TBL_THREADS] = "threads",
	[TBL_TICKET_MSGS] = "ticket_msgs",
	[TBL_EVENTS] = "events",
	[TBL_DELIVERIES] = "deliveries",
	[TBL_DELIV_PENDING] = "deliveries_pending",
	[TBL_TICKET_TRACE] = "ticket_trace",
	[TBL_MERGES] = "merges",
	[TBL_CUST_MERGES] = "cust_merges",
	[TBL_AGENTS] = "agents",
	[TBL_AGENT_TIX] = "agent_tix",
	[TBL_QUEUE_WAIT] = "queue_wait",
	[TBL_SLA_DUE] = "sla_due",
	[TBL_AUTOREPLY] = "autoreply",
};

int store_err(int rc, const char *what)
{
	switch (rc) {
	case MDB_SUCCESS:
		return GW_OK;
	case MDB_NOTFOUND:
		return GW_ENOTFOUND;
	case MDB_KEYEXIST:
		return GW_EEXIST;
	case MDB_MAP_FULL:
		GW_ERROR("store", "%s: the LMDB map is full; raise router.map_size_mb", what);
		return GW_EFULL;
	case MDB_BAD_VALSIZE:
		return GW_ETOOBIG;
	case ENOMEM:
		return GW_ENOMEM;
	default:
		GW_ERROR("store", "%s: %s", what, mdb_strerror(rc));
		return GW_ESTORE;
	}
}

void store_be64_put(unsigned char out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

uint64_t store_be64_get(const unsigned char in[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | in[i];
	return v;
}

void store_pair_key(struct store_pair_key *k, uint64_t a, uint64_t b)
{
	store_be64_put(k->b, a);
	store_be64_put(k->b + 8, b);
}

static int open_tables(struct store *st)
{
	MDB_txn *txn = NULL;
	int rc;

	rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc)
		return store_err(rc, "begin");
	for (int i = 0; i < TBL__COUNT; i++) {
		rc = mdb_dbi_open(txn, table_names[i], MDB_CREATE, &st->dbi[i]);
		if (rc) {
			mdb_txn_abort(txn);
			return store_err(rc, table_names[i]);
		}
	}
	return store_err(mdb_txn_commit(txn), "open tables");
}

int store_open(const char *dir, size_t map_size, struct store **out)
{
	struct store *st = NULL;
	int rc;

	*out = NULL;
	rc = gw_mkdir_p(dir);
	if (rc)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st)
		return GW_ENOMEM;
	rc = store_err(mdb_env_create(&st->env), "env create");
	if (rc)
		goto out;
	mdb_env_set_maxdbs(st->env, TBL__COUNT + 2);
	mdb_env_set_mapsize(st->env, map_size);
	/* Default sync mode: a commit returns once it is on disk. NOTLS lets
	 * read transactions be used from any thread. */
	rc = store_err(mdb_env_open(st->env, dir, MDB_NOTLS, 0600), dir);
	if (rc)
		goto out;
	rc = open_tables(st);
out:
	if (rc) {
		store_close(st);
		return rc;
	}
	*out = st;
	return GW_OK;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->env)
		mdb_env_close(st->env);
	free(st);
}

int store_txn_begin(struct store *st, int readonly, struct store_txn **out)
{
	struct store_txn *t = calloc(1, sizeof(*t));
	int rc;

	*out = NULL;
	if (!t)
		return GW_ENOMEM;
	t->st = st;
	rc = store_err(mdb_txn_begin(st->env, NULL, readonly ? MDB_RDONLY : 0, &t->txn),
		       "txn begin");
	if (rc) {
		free(t);
		return rc;
	}
	*out = t;
	return GW_OK;
}

int store_txn_commit(struct store_txn *txn)
{
	int rc = store_err(mdb_txn_commit(txn->txn), "commit");

	free(txn);
	return rc;
}

void store_txn_abort(struct store_txn *txn)
{
	if (!txn)
		return;
	mdb_txn_abort(txn->txn);
	free(txn);
}

int store_meta_get(struct store_txn *txn, const char *name, uint64_t *value)
{
	MDB_val k = {strlen(name), (void *)name}, v;
	int rc = mdb_get(txn->txn, txn->st->dbi[TBL_META], &k, &v);

	*value = 0;
	if (rc == MDB_NOTFOUND)
		return GW_OK;
	if (rc)
		return store_err(rc, "meta get");
	if (v.mv_size != 8)
		return GW_EPROTO;
	*value = store_be64_get(v.mv_data);
	return GW_OK;
}

int store_meta_put(struct store_txn *txn, const char *name, uint64_t value)
{
	unsigned char b[8];
	MDB_val k = {strlen(name), (void *)name}, v = {8, b};

	store_be64_put(b, value);
	return store_err(mdb_put(txn->txn, txn->st->dbi[TBL_META], &k, &v, 0), "meta put");
}

int store_pair_put(struct store_txn *txn, enum store_table tbl, uint64_t a, uint64_t b)
{
	struct store_pair_key pk;
	MDB_val k = {sizeof(pk.b), pk.b}, v = {0, NULL};

	int rc;

	store_pair_key(&pk, a, b);
	/* An index entry that exists already is left alone: LMDB answers
	 * KEYEXIST before copying the page, where a plain put would rewrite
	 * it (a ticket's customer entry is "put" with every message). */
	rc = mdb_put(txn->txn, txn->st->dbi[tbl], &k, &v, MDB_NOOVERWRITE);
	return rc == MDB_KEYEXIST ? GW_OK : store_err(rc, table_names[tbl]);
}

int store_pair_del(struct store_txn *txn, enum store_table tbl, uint64_t a, uint64_t b)
{
	struct store_pair_key pk;
	MDB_val k = {sizeof(pk.b), pk.b};
	int rc;

	store_pair_key(&pk, a, b);
	rc = mdb_del(txn->txn, txn->st->dbi[tbl], &k, NULL);
	return rc == MDB_NOTFOUND ? GW_OK : store_err(rc, table_names[tbl]);
}

#define STRID_KEY_MAX 511

/* strid_key - "name\0" + big-endian id into buf. */
static int strid_key(unsigned char *buf, size_t *len, const char *name, uint64_t id)
{
	size_t l = strlen(name);

	if (l + 1 + 8 > STRID_KEY_MAX)
		return GW_ETOOBIG;
	memcpy(buf, name, l);
	buf[l] = '\0';
	store_be64_put(buf + l + 1, id);
	*len = l + 9;
	return GW_OK;
}

int store_strid_put(struct store_txn *txn, enum store_table tbl, const char *name, uint64_t id)
{
	unsigned char buf[STRID_KEY_MAX];
	MDB_val k = {0, buf}, v = {0, NULL};
	int rc = strid_key(buf, &k.mv_size, name, id);

	if (rc)
		return rc;
	return store_err(mdb_put(txn->txn, txn->st->dbi[tbl], &k, &v, 0), table_names[tbl]);
}

int store_strid_del(struct store_txn *txn, enum store_table tbl, const char *name, uint64_t id)
{
	unsigned char buf[STRID_KEY_MAX];
	MDB_val k = {0, buf};
	int rc = strid_key(buf, &k.mv_size, name, id);

	if (rc)
		return rc;
	rc = mdb_del(txn->txn, txn->st->dbi[tbl], &k, NULL);
	return rc == MDB_NOTFOUND ? GW_OK : store_err(rc, table_names[tbl]);
}

int store_strid_scan(struct store_txn *txn, enum store_table tbl, const char *name, size_t max,
		     int (*fn)(void *arg, uint64_t id), void *arg)
{
	unsigned char buf[STRID_KEY_MAX];
	MDB_cursor *cur = NULL;
	MDB_val k = {0, buf}, v;
	size_t n = 0, plen;
	int rc = strid_key(buf, &k.mv_size, name, 0);

	if (rc)
		return rc;
	plen = k.mv_size - 8;
	rc = store_err(mdb_cursor_open(txn->txn, txn->st->dbi[tbl], &cur), "cursor");
	if (rc)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == MDB_SUCCESS && n < max) {
		if (k.mv_size != plen + 8 || memcmp(k.mv_data, name, plen) != 0)
			break;
		n++;
		if (fn(arg, store_be64_get((unsigned char *)k.mv_data + plen)))
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? GW_OK : store_err(rc, table_names[tbl]);
}

int store_pair_scan(struct store_txn *txn, enum store_table tbl, uint64_t a, size_t max,
		    int (*fn)(void *arg, uint64_t b), void *arg)
{
	struct store_pair_key pk;
	MDB_cursor *cur = NULL;
	MDB_val k = {sizeof(pk.b), pk.b}, v;
	size_t n = 0;
	int rc;

	store_pair_key(&pk, a, 0);
	rc = store_err(mdb_cursor_open(txn->txn, txn->st->dbi[tbl], &cur), "cursor");
	if (rc)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == MDB_SUCCESS && n < max) {
		if (k.mv_size != 16 || store_be64_get(k.mv_data) != a)
			break;
		n++;
		if (fn(arg, store_be64_get((unsigned char *)k.mv_data + 8)))
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? GW_OK : store_err(rc, table_names[tbl]);
}

/* pair_last - positions `cur` on the last key (a, *) or past every one:
 * the key before the first one of a + 1. */
static int pair_last(MDB_cursor *cur, uint64_t a, MDB_val *k, MDB_val *v,
		     struct store_pair_key *pk)
{
	int rc;

	if (a == UINT64_MAX)
		return mdb_cursor_get(cur, k, v, MDB_LAST);
	store_pair_key(pk, a + 1, 0);
	k->mv_size = sizeof(pk->b);
	k->mv_data = pk->b;
	rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND)
		return mdb_cursor_get(cur, k, v, MDB_LAST);
	return rc == MDB_SUCCESS ? mdb_cursor_get(cur, k, v, MDB_PREV) : rc;
}

int store_pair_scan_desc(struct store_txn *txn, enum store_table tbl, uint64_t a, size_t max,
			 int (*fn)(void *arg, uint64_t b), void *arg)
{
	struct store_pair_key pk;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t n = 0;
	int rc;

	rc = store_err(mdb_cursor_open(txn->txn, txn->st->dbi[tbl], &cur), "cursor");
	if (rc)
		return rc;
	rc = pair_last(cur, a, &k, &v, &pk);
	while (rc == MDB_SUCCESS && n < max) {
		if (k.mv_size != 16 || store_be64_get(k.mv_data) != a)
			break;
		n++;
		if (fn(arg, store_be64_get((unsigned char *)k.mv_data + 8)))
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? GW_OK : store_err(rc, table_names[tbl]);
}

int store_rec_get(struct store_txn *txn, enum store_table tbl, uint64_t id,
		  const void **data, size_t *len)
{
	unsigned char b[8];
	MDB_val k = {8, b}, v;
	int rc;

	store_be64_put(b, id);
	rc = mdb_get(txn->txn, txn->st->dbi[tbl], &k, &v);
	if (rc)
		return store_err(rc, table_names[tbl]);
	*data = v.mv_data;
	*len = v.mv_size;
	return GW_OK;
}

int store_rec_put(struct store_txn *txn, enum store_table tbl, uint64_t id,
		  const void *data, size_t len)
{
	unsigned char b[8];
	MDB_val k = {8, b}, v = {len, (void *)data};

	store_be64_put(b, id);
	return store_err(mdb_put(txn->txn, txn->st->dbi[tbl], &k, &v, 0), table_names[tbl]);
}

int store_strkey(char *buf, size_t cap, size_t *len, const char *const *parts, size_t n)
{
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(parts[i]);

		if (used + l + 1 > cap)
			return GW_ETOOBIG;
		memcpy(buf + used, parts[i], l);
		used += l;
		/* NUL separators: parts cannot contain NUL (proto rejects it),
		 * so ("a", "bc") and ("ab", "c") never collide. */
		if (i + 1 < n)
			buf[used++] = '\0';
	}
	*len = used;
	return GW_OK;
}

/*
 * integration.c - gateway-integration's LMDB (integration.h): webhook
 * cursors and idempotency keys.
 */
#include "store/integration.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <lmdb.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define MOD "integration-db"
#define IDEM_HEAD (8 + INTEG_DIGEST_LEN + 4)
#define IDEM_PURGE_MAX 64

struct integ_db {
	MDB_env *env;
	MDB_dbi cursors, idem;
};

static int db_err(int rc, const char *what)
{
	if (rc == 0)
		return GW_OK;
	if (rc == MDB_NOTFOUND)
		return GW_ENOTFOUND;
	GW_ERROR(MOD, "%s: %s", what, mdb_strerror(rc));
	return GW_ESTORE;
}

static int db_open_tables(struct integ_db *db)
{
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(db->env, NULL, 0, &txn);

	if (rc == 0)
		rc = mdb_dbi_open(txn, "cursors", MDB_CREATE, &db->cursors);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "idem", MDB_CREATE, &db->idem);
	if (rc == 0) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (txn)
		mdb_txn_abort(txn);
	return db_err(rc, "open tables");
}

int integ_db_open(const char *state_dir, long long map_mb, struct integ_db **out)
{
	struct integ_db *db = calloc(1, sizeof(*db));
	char dir[4096];
	int rc, n = snprintf(dir, sizeof(dir), "%s/integration", state_dir);

	*out = NULL;
	if (!db)
		return GW_ENOMEM;
	rc = n < 0 || (size_t)n >= sizeof(dir) ? GW_EINVAL : gw_mkdir_p(dir);
	if (rc == GW_OK)
		rc = db_err(mdb_env_create(&db->env), "env");
	if (rc == GW_OK) {
		mdb_env_set_maxdbs(db->env, 4);
		mdb_env_set_mapsize(db->env, (size_t)map_mb * 1024 * 1024);
		/* Commits reach the page cache (a SIGKILL loses nothing) and are
		 * synced by integ_db_sync(), once a second: see integration.h. */
		rc = db_err(mdb_env_open(db->env, dir, MDB_NOTLS | MDB_NOSYNC, 0600), dir);
	}
	if (rc == GW_OK)
		rc = db_open_tables(db);
	if (rc) {
		integ_db_close(db);
		return rc;
	}
	*out = db;
	return GW_OK;
}

int integ_db_sync(struct integ_db *db)
{
	return db_err(mdb_env_sync(db->env, 1), "sync");
}

void integ_db_close(struct integ_db *db)
{
	if (!db)
		return;
	if (db->env) {
		mdb_env_sync(db->env, 1);
		mdb_env_close(db->env);
	}
	free(db);
}

/* ---- cursors ---- */

void integ_cursor_decode(const void *data, size_t len, struct integ_cursor *c)
{
	json_t *j = json_loadb(data, len, 0, NULL);
	const char *e;

	memset(c, 0, sizeof(*c));
	if (!j)
		return;
	c->seq = (uint64_t)json_integer_value(json_object_get(j, "seq"));
	c->gen = (uint64_t)json_integer_value(json_object_get(j, "gen"));
	c->paused = json_is_true(json_object_get(j, "paused"));
	c->delivered = (uint64_t)json_integer_value(json_object_get(j, "delivered"));
	c->failures = (uint64_t)json_integer_value(json_object_get(j, "failures"));
	c->updated_at = json_integer_value(json_object_get(j, "updated_at"));
	e = json_string_value(json_object_get(j, "last_error"));
	snprintf(c->last_error, sizeof(c->last_error), "%s", e ? e : "");
	json_decref(j);
}

static int cursor_put(MDB_txn *txn, MDB_dbi dbi, const char *name, const struct integ_cursor *c)
{
	json_t *j = json_pack("{sIsIsbsIsIsIss}", "seq", (json_int_t)c->seq, "gen",
			      (json_int_t)c->gen, "paused", c->paused, "delivered",
			      (json_int_t)c->delivered, "failures", (json_int_t)c->failures,
			      "updated_at", (json_int_t)c->updated_at, "last_error", c->last_error);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	MDB_val k = {strlen(name), (void *)name}, v = {text ? strlen(text) : 0, text};
	int rc = text ? db_err(mdb_put(txn, dbi, &k, &v, 0), "cursor put") : GW_ENOMEM;

	free(text);
	json_decref(j);
	return rc;
}

static int cursor_load(MDB_txn *txn, MDB_dbi dbi, const char *name, struct integ_cursor *c)
{
	MDB_val k = {strlen(name), (void *)name}, v;
	int rc = mdb_get(txn, dbi, &k, &v);

	memset(c, 0, sizeof(*c));
	if (rc == MDB_NOTFOUND)
		return GW_OK;
	if (rc)
		return db_err(rc, "cursor get");
	integ_cursor_decode(v.mv_data, v.mv_size, c);
	return GW_OK;
}

int integ_cursor_get(struct integ_db *db, const char *name, struct integ_cursor *c)
{
	MDB_txn *txn = NULL;
	int rc = db_err(mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn), "txn");

	if (rc == GW_OK)
		rc = cursor_load(txn, db->cursors, name, c);
	if (txn)
		mdb_txn_abort(txn);
	return rc;
}

/* A change of one cursor in its own write transaction. */
typedef int (*cursor_change_fn)(struct integ_cursor *c, void *arg);

static int cursor_change(struct integ_db *db, const char *name, cursor_change_fn fn, void *arg)
{
	struct integ_cursor c;
	MDB_txn *txn = NULL;
	int rc = db_err(mdb_txn_begin(db->env, NULL, 0, &txn), "txn");

	if (rc == GW_OK)
		rc = cursor_load(txn, db->cursors, name, &c);
	if (rc == GW_OK)
		rc = fn(&c, arg);
	if (rc == GW_OK) {
		c.updated_at = gw_now_ms();
		rc = cursor_put(txn, db->cursors, name, &c);
	}
	if (rc == GW_OK) {
		rc = db_err(mdb_txn_commit(txn), "commit");
		txn = NULL;
	}
	if (txn)
		mdb_txn_abort(txn);
	return rc;
}

struct advance_arg {
	uint64_t gen, seq, delivered;
	const char *why;
};

static int do_advance(struct integ_cursor *c, void *arg)
{
	const struct advance_arg *a = arg;

	if (c->gen != a->gen)
		return GW_EAGAIN;
	if (a->seq > c->seq)
		c->seq = a->seq;
	c->delivered += a->delivered;
	c->failures = 0;
	c->last_error[0] = '\0';
	return GW_OK;
}

int integ_cursor_advance(struct integ_db *db, const char *name, uint64_t gen, uint64_t seq,
			 uint64_t delivered)
{
	struct advance_arg a = {gen, seq, delivered, NULL};

	return cursor_change(db, name, do_advance, &a);
}

static int do_failed(struct integ_cursor *c, void *arg)
{
	const struct advance_arg *a = arg;

	if (c->gen != a->gen)
		return GW_EAGAIN;
	c->failures++;
	snprintf(c->last_error, sizeof(c->last_error), "%s", a->why);
	return GW_OK;
}

int integ_cursor_failed(struct integ_db *db, const char *name, uint64_t gen, const char *why)
{
	struct advance_arg a = {gen, 0, 0, why};

	return cursor_change(db, name, do_failed, &a);
}

struct control_arg {
	int paused;
	uint64_t rewind;
};

static int do_control(struct integ_cursor *c, void *arg)
{
	const struct control_arg *a = arg;

	if (a->paused >= 0)
		c->paused = a->paused;
	if (a->rewind) {
		c->seq = a->rewind - 1;
		c->gen++;
		c->failures = 0;
		c->last_error[0] = '\0';
	}
	return GW_OK;
}

int integ_cursor_control(struct integ_db *db, const char *name, int paused, uint64_t rewind)
{
	struct control_arg a = {paused, rewind};

	return cursor_change(db, name, do_control, &a);
}

/* ---- idempotency keys ---- */

static void be_put(unsigned char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

static uint64_t be_get(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

int integ_idem_decode(const void *data, size_t len, int64_t *expires_ms, int *status,
		      const char **body, size_t *blen, unsigned char digest[INTEG_DIGEST_LEN])
{
	const unsigned char *p = data;
	uint64_t st;

	if (len < IDEM_HEAD)
		return GW_EPROTO;
	st = be_get(p + 8 + INTEG_DIGEST_LEN, 4);
	if (st < 100 || st > 599)
		return GW_EPROTO;
	*expires_ms = (int64_t)be_get(p, 8);
	memcpy(digest, p + 8, INTEG_DIGEST_LEN);
	*status = (int)st;
	*body = (const char *)p + IDEM_HEAD;
	*blen = len - IDEM_HEAD;
	return GW_OK;
}

int integ_idem_get(struct integ_db *db, const char *key, int64_t now_ms, int *status,
		   char **body, size_t *len, unsigned char digest[INTEG_DIGEST_LEN])
{
	MDB_val k = {strlen(key), (void *)key}, v;
	MDB_txn *txn = NULL;
	const char *stored = NULL;
	int64_t expires = 0;
	int rc = db_err(mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn), "txn");

	if (rc == GW_OK)
		rc = db_err(mdb_get(txn, db->idem, &k, &v), "idem get");
	if (rc == GW_OK &&
	    (integ_idem_decode(v.mv_data, v.mv_size, &expires, status, &stored, len, digest) ||
	     expires <= now_ms))
		rc = GW_ENOTFOUND;
	if (rc)
		goto out;
	*body = malloc(*len + 1);
	if (!*body) {
		rc = GW_ENOMEM;
		goto out;
	}
	memcpy(*body, stored, *len);
	(*body)[*len] = '\0';
out:
	if (txn)
		mdb_txn_abort(txn);
	return rc;
}

/* idem_purge - deletes up to IDEM_PURGE_MAX expired keys. */
static int idem_purge(MDB_txn *txn, MDB_dbi dbi, int64_t now_ms)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, dbi, &cur), n = 0;

	while (rc == 0 && n < IDEM_PURGE_MAX * 8 &&
	       (rc = mdb_cursor_get(cur, &k, &v, n ? MDB_NEXT : MDB_FIRST)) == 0) {
		n++;
		if (v.mv_size >= 8 && (int64_t)be_get(v.mv_data, 8) <= now_ms)
			rc = mdb_cursor_del(cur, 0);
	}
	if (cur)
		mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? GW_OK : db_err(rc, "idem purge");
}

int integ_idem_put(struct integ_db *db, const char *key, int64_t expires_ms, int64_t now_ms,
		   int status, const char *body, size_t len,
		   const unsigned char digest[INTEG_DIGEST_LEN])
{
	MDB_val k = {strlen(key), (void *)key}, v = {IDEM_HEAD + len, NULL};
	MDB_txn *txn = NULL;
	unsigned char *p;
	int rc = db_err(mdb_txn_begin(db->env, NULL, 0, &txn), "txn");

	if (rc == GW_OK)
		rc = idem_purge(txn, db->idem, now_ms);
	if (rc == GW_OK)
		rc = db_err(mdb_put(txn, db->idem, &k, &v, MDB_RESERVE), "idem put");
	if (rc == GW_OK) {
		p = v.mv_data;
		be_put(p, (uint64_t)expires_ms, 8);
		memcpy(p + 8, digest, INTEG_DIGEST_LEN);
		be_put(p + 8 + INTEG_DIGEST_LEN, (uint64_t)status, 4);
		memcpy(p + IDEM_HEAD, body, len);
		rc = db_err(mdb_txn_commit(txn), "idem commit");
		txn = NULL;
	}
	if (txn)
		mdb_txn_abort(txn);
	return rc;
}

/*
 * chatlog.c - the live-chat conversation log on LMDB (chatlog.h).
 */
#include "store/chatlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <lmdb.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define CHATLOG_KEY_MAX 511 /* LMDB's default key limit */

struct chatlog {
	MDB_env *env;
	MDB_dbi log, keys;
};

static int chatlog_err(int mrc)
{
	if (mrc == MDB_MAP_FULL)
		return GW_EFULL;
	gw_log(GW_LOG_ERROR, "chatlog", "lmdb: %s", mdb_strerror(mrc));
	return GW_ESTORE;
}

int chatlog_open(const char *dir, size_t map_size, struct chatlog **out)
{
	struct chatlog *cl = calloc(1, sizeof(*cl));
	MDB_txn *txn = NULL;
	int mrc, rc;

	*out = NULL;
	if (!cl)
		return GW_ENOMEM;
	rc = gw_mkdir_p(dir);
	if (rc != GW_OK)
		goto fail;
	mrc = mdb_env_create(&cl->env);
	if (!mrc)
		mrc = mdb_env_set_maxdbs(cl->env, 2);
	if (!mrc)
		mrc = mdb_env_set_mapsize(cl->env, map_size);
	if (!mrc)
		mrc = mdb_env_open(cl->env, dir, MDB_NOTLS, 0600);
	if (!mrc)
		mrc = mdb_txn_begin(cl->env, NULL, 0, &txn);
	if (!mrc)
		mrc = mdb_dbi_open(txn, "log", MDB_CREATE, &cl->log);
	if (!mrc)
		mrc = mdb_dbi_open(txn, "keys", MDB_CREATE, &cl->keys);
	if (!mrc) {
		mrc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (mrc) {
		mdb_txn_abort(txn);
		rc = chatlog_err(mrc);
		goto fail;
	}
	*out = cl;
	return GW_OK;
fail:
	chatlog_close(cl);
	return rc;
}

void chatlog_close(struct chatlog *cl)
{
	if (!cl)
		return;
	if (cl->env)
		mdb_env_close(cl->env);
	free(cl);
}

/* Builds conversation '\0' suffix (slen bytes) into key; 0 or -1 too long. */
static int chatlog_key(char *key, size_t *klen, const char *conv, const void *suffix, size_t slen)
{
	size_t cl = strlen(conv);

	if (cl + 1 + slen > CHATLOG_KEY_MAX)
		return -1;
	memcpy(key, conv, cl);
	key[cl] = '\0';
	memcpy(key + cl + 1, suffix, slen);
	*klen = cl + 1 + slen;
	return 0;
}

static void chatlog_be64(unsigned char out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (unsigned char)(v & 0xff);
}

static uint64_t chatlog_get64(const MDB_val *v)
{
	uint64_t r = 0;

	if (v->mv_size != 8)
		return 0;
	for (int i = 0; i < 8; i++)
		r = (r << 8) | ((const unsigned char *)v->mv_data)[i];
	return r;
}

/* Reads keys[conv '\0' suffix] as a seq; 0 when absent. */
static int chatlog_get_seq(struct chatlog *cl, MDB_txn *txn, const char *conv,
			   const char *suffix, uint64_t *seq)
{
	char key[CHATLOG_KEY_MAX + 1];
	MDB_val k, v;
	int mrc;

	*seq = 0;
	if (chatlog_key(key, &k.mv_size, conv, suffix, strlen(suffix)))
		return GW_ETOOBIG;
	k.mv_data = key;
	mrc = mdb_get(txn, cl->keys, &k, &v);
	if (mrc == MDB_NOTFOUND)
		return GW_OK;
	if (mrc)
		return chatlog_err(mrc);
	*seq = chatlog_get64(&v);
	return GW_OK;
}

static int chatlog_put_seq(struct chatlog *cl, MDB_txn *txn, const char *conv,
			   const char *suffix, uint64_t seq)
{
	char key[CHATLOG_KEY_MAX + 1];
	unsigned char b[8];
	MDB_val k, v = {8, b};
	int mrc;

	if (chatlog_key(key, &k.mv_size, conv, suffix, strlen(suffix)))
		return GW_ETOOBIG;
	k.mv_data = key;
	chatlog_be64(b, seq);
	mrc = mdb_put(txn, cl->keys, &k, &v, 0);
	return mrc ? chatlog_err(mrc) : GW_OK;
}

static int chatlog_put_entry(struct chatlog *cl, MDB_txn *txn, struct chatlog_entry *e)
{
	char key[CHATLOG_KEY_MAX + 1], *json = NULL;
	unsigned char b[8];
	MDB_val k, v;
	json_t *o;
	int mrc, rc = GW_OK;

	chatlog_be64(b, e->id);
	if (chatlog_key(key, &k.mv_size, e->conversation, b, 8))
		return GW_ETOOBIG;
	k.mv_data = key;
	o = json_pack("{s:s,s:I,s:s,s:s,s:I,s:s?,s:o?}", "type", "message", "id",
		      (json_int_t)e->id, "direction", e->direction, "text", e->text, "ts",
		      (json_int_t)e->ts, "client_id", e->client_id, "attachments",
		      e->attachments ? json_loads(e->attachments, 0, NULL) : NULL);
	json = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!json)
		return GW_ENOMEM;
	v.mv_data = json;
	v.mv_size = strlen(json);
	mrc = mdb_put(txn, cl->log, &k, &v, 0);
	if (mrc)
		rc = chatlog_err(mrc);
	free(json);
	return rc;
}

static int chatlog_append_one(struct chatlog *cl, MDB_txn *txn, struct chatlog_entry *e)
{
	uint64_t seen = 0, last = 0;
	int rc;

	e->duplicate = 0;
	rc = chatlog_get_seq(cl, txn, e->conversation, e->dedup, &seen);
	if (rc != GW_OK || seen) {
		e->id = seen;
		e->duplicate = seen != 0;
		return rc;
	}
	rc = chatlog_get_seq(cl, txn, e->conversation, "#", &last);
	if (rc != GW_OK)
		return rc;
	e->id = last + 1;
	rc = chatlog_put_entry(cl, txn, e);
	if (rc == GW_OK)
		rc = chatlog_put_seq(cl, txn, e->conversation, "#", e->id);
	if (rc == GW_OK)
		rc = chatlog_put_seq(cl, txn, e->conversation, e->dedup, e->id);
	return rc;
}

int chatlog_append(struct chatlog *cl, struct chatlog_entry *e, size_t n)
{
	MDB_txn *txn = NULL;
	int mrc, rc = GW_OK;

	mrc = mdb_txn_begin(cl->env, NULL, 0, &txn);
	if (mrc)
		return chatlog_err(mrc);
	for (size_t i = 0; rc == GW_OK && i < n; i++)
		rc = chatlog_append_one(cl, txn, &e[i]);
	if (rc != GW_OK) {
		mdb_txn_abort(txn);
		return rc;
	}
	mrc = mdb_txn_commit(txn);
	return mrc ? chatlog_err(mrc) : GW_OK;
}

int chatlog_find(struct chatlog *cl, const char *conversation, const char *dedup, uint64_t *id)
{
	MDB_txn *txn = NULL;
	int mrc, rc;

	*id = 0;
	mrc = mdb_txn_begin(cl->env, NULL, MDB_RDONLY, &txn);
	if (mrc)
		return chatlog_err(mrc);
	rc = chatlog_get_seq(cl, txn, conversation, dedup, id);
	mdb_txn_abort(txn);
	return rc;
}

int chatlog_since(struct chatlog *cl, const char *conversation, uint64_t after, size_t max,
		  void (*fn)(void *arg, uint64_t id, const char *json, size_t len), void *arg)
{
	char key[CHATLOG_KEY_MAX + 1];
	unsigned char b[8];
	size_t plen = strlen(conversation) + 1, count = 0;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int mrc, rc = GW_OK;

	chatlog_be64(b, after + 1);
	if (chatlog_key(key, &k.mv_size, conversation, b, 8))
		return GW_ETOOBIG;
	k.mv_data = key;
	mrc = mdb_txn_begin(cl->env, NULL, MDB_RDONLY, &txn);
	if (!mrc)
		mrc = mdb_cursor_open(txn, cl->log, &cur);
	if (!mrc)
		mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (!mrc && count < max && k.mv_size == plen + 8 &&
	       memcmp(k.mv_data, key, plen) == 0) {
		MDB_val idv = {8, (char *)k.mv_data + plen};

		fn(arg, chatlog_get64(&idv), v.mv_data, v.mv_size);
		count++;
		mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (mrc && mrc != MDB_NOTFOUND)
		rc = chatlog_err(mrc);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

/* keys[conv '\0' "f:" hex]: the key of a file grant; 0 or -1 too long. */
static int chatlog_file_key(char *key, size_t *klen, const char *conv, const char *hex)
{
	char suffix[80];
	int n = snprintf(suffix, sizeof(suffix), "f:%s", hex);

	if (n < 0 || (size_t)n >= sizeof(suffix))
		return -1;
	return chatlog_key(key, klen, conv, suffix, (size_t)n);
}

int chatlog_file_put(struct chatlog *cl, const char *conversation, const char *hex,
		     const char *meta)
{
	char key[CHATLOG_KEY_MAX + 1];
	MDB_txn *txn = NULL;
	MDB_val k, v = {strlen(meta), (void *)meta};
	int mrc;

	if (chatlog_file_key(key, &k.mv_size, conversation, hex))
		return GW_ETOOBIG;
	k.mv_data = key;
	mrc = mdb_txn_begin(cl->env, NULL, 0, &txn);
	if (!mrc)
		mrc = mdb_put(txn, cl->keys, &k, &v, 0);
	if (mrc) {
		mdb_txn_abort(txn);
		return chatlog_err(mrc);
	}
	mrc = mdb_txn_commit(txn);
	return mrc ? chatlog_err(mrc) : GW_OK;
}

int chatlog_file_get(struct chatlog *cl, const char *conversation, const char *hex, char *meta,
		     size_t metalen)
{
	char key[CHATLOG_KEY_MAX + 1];
	MDB_txn *txn = NULL;
	MDB_val k, v;
	int mrc, rc = GW_OK;

	if (chatlog_file_key(key, &k.mv_size, conversation, hex))
		return GW_ENOTFOUND;
	k.mv_data = key;
	mrc = mdb_txn_begin(cl->env, NULL, MDB_RDONLY, &txn);
	if (mrc)
		return chatlog_err(mrc);
	mrc = mdb_get(txn, cl->keys, &k, &v);
	if (mrc == MDB_NOTFOUND)
		rc = GW_ENOTFOUND;
	else if (mrc)
		rc = chatlog_err(mrc);
	else if (v.mv_size >= metalen)
		rc = GW_ETOOBIG;
	else {
		memcpy(meta, v.mv_data, v.mv_size);
		meta[v.mv_size] = '\0';
	}
	mdb_txn_abort(txn);
	return rc;
}

/*
 * sms_contacts.c - an SMS instance's table of customers' numbers (see
 * sms_contacts.h): one LMDB environment, one unnamed table.
 */
#include "store/sms_contacts.h"

#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store_int.h"

#define SMS_CONTACTS_VERSION 1
#define SMS_CONTACTS_OPTED_OUT 1u
#define SMS_CONTACTS_HEAD (1 + 1 + 8 + 8 + 2)
#define SMS_CONTACTS_MAX_REC (SMS_CONTACTS_HEAD + PROTO_MAX_ADDRESS)

struct sms_contacts {
	MDB_env *env;
	MDB_dbi dbi;
};

/* contacts_err - store_err, with a map-full message that names the key to
 * raise (store_err's names the router's). */
static int contacts_err(int rc, const char *what)
{
	if (rc == MDB_MAP_FULL) {
		GW_ERROR("store", "sms contacts: %s: the LMDB map is full; raise contacts_map_mb",
			 what);
		return GW_EFULL;
	}
	return store_err(rc, what);
}

static int sc_open_table(struct sms_contacts *c)
{
	MDB_txn *txn = NULL;
	int rc;

	rc = mdb_txn_begin(c->env, NULL, 0, &txn);
	if (rc)
		return contacts_err(rc, "sms contacts begin");
	rc = mdb_dbi_open(txn, NULL, 0, &c->dbi);
	if (rc) {
		mdb_txn_abort(txn);
		return contacts_err(rc, "sms contacts open");
	}
	return contacts_err(mdb_txn_commit(txn), "sms contacts open");
}

int sms_contacts_open(const char *dir, size_t map_size, struct sms_contacts **out)
{
	struct sms_contacts *c;
	int rc;

	*out = NULL;
	rc = gw_mkdir_p(dir);
	if (rc)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c)
		return GW_ENOMEM;
	rc = contacts_err(mdb_env_create(&c->env), "sms contacts env");
	if (rc == GW_OK)
		rc = contacts_err(mdb_env_set_mapsize(c->env, map_size), "sms contacts map");
	if (rc == GW_OK)
		rc = contacts_err(mdb_env_open(c->env, dir, MDB_NOTLS, 0600), dir);
	if (rc == GW_OK)
		rc = sc_open_table(c);
	if (rc) {
		sms_contacts_close(c);
		return rc;
	}
	*out = c;
	return GW_OK;
}

void sms_contacts_close(struct sms_contacts *c)
{
	if (!c)
		return;
	if (c->env)
		mdb_env_close(c->env);
	free(c);
}

/* sc_encode - the record's value into buf; its length. */
static size_t sc_encode(const struct sms_contact *r, unsigned char *buf)
{
	size_t n = strlen(r->number);

	buf[0] = SMS_CONTACTS_VERSION;
	buf[1] = r->opted_out ? SMS_CONTACTS_OPTED_OUT : 0;
	store_be64_put(buf + 2, (uint64_t)r->changed_at);
	store_be64_put(buf + 10, (uint64_t)r->updated_at);
	buf[18] = (unsigned char)(n >> 8);
	buf[19] = (unsigned char)n;
	memcpy(buf + SMS_CONTACTS_HEAD, r->number, n);
	return SMS_CONTACTS_HEAD + n;
}

/* sc_decode - a stored value into `r`. */
static int sc_decode(const unsigned char *b, size_t len, struct sms_contact *r)
{
	size_t n;

	if (len < SMS_CONTACTS_HEAD || b[0] != SMS_CONTACTS_VERSION)
		return GW_EPROTO;
	n = ((size_t)b[18] << 8) | b[19];
	if (n > PROTO_MAX_ADDRESS || SMS_CONTACTS_HEAD + n != len ||
	    memchr(b + SMS_CONTACTS_HEAD, '\0', n))
		return GW_EPROTO;
	r->opted_out = (b[1] & SMS_CONTACTS_OPTED_OUT) != 0;
	r->changed_at = (int64_t)store_be64_get(b + 2);
	r->updated_at = (int64_t)store_be64_get(b + 10);
	memcpy(r->number, b + SMS_CONTACTS_HEAD, n);
	r->number[n] = '\0';
	return GW_OK;
}

int sms_contacts_get(struct sms_contacts *c, const char *customer, struct sms_contact *rec)
{
	MDB_txn *txn = NULL;
	MDB_val k = {strlen(customer), (void *)customer}, v;
	int rc;

	memset(rec, 0, sizeof(*rec));
	if (k.mv_size == 0 || k.mv_size > PROTO_MAX_ADDRESS)
		return GW_ENOTFOUND;
	rc = contacts_err(mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn), "sms contacts begin");
	if (rc)
		return rc;
	rc = mdb_get(txn, c->dbi, &k, &v);
	if (rc == MDB_NOTFOUND)
		rc = GW_ENOTFOUND;
	else if (rc)
		rc = contacts_err(rc, "sms contacts get");
	else
		rc = sc_decode(v.mv_data, v.mv_size, rec);
	if (rc == GW_EPROTO)
		GW_ERROR("store", "sms contacts: the record of %s does not decode", customer);
	mdb_txn_abort(txn);
	return rc;
}

int sms_contacts_put(struct sms_contacts *c, const char *customer,
		     const struct sms_contact *rec)
{
	unsigned char buf[SMS_CONTACTS_MAX_REC];
	MDB_val k = {strlen(customer), (void *)customer}, v;
	MDB_txn *txn = NULL;
	int rc;

	if (k.mv_size == 0 || k.mv_size > PROTO_MAX_ADDRESS ||
	    strlen(rec->number) > PROTO_MAX_ADDRESS)
		return GW_ETOOBIG;
	v.mv_data = buf;
	v.mv_size = sc_encode(rec, buf);
	rc = contacts_err(mdb_txn_begin(c->env, NULL, 0, &txn), "sms contacts begin");
	if (rc)
		return rc;
	rc = contacts_err(mdb_put(txn, c->dbi, &k, &v, 0), "sms contacts put");
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	return contacts_err(mdb_txn_commit(txn), "sms contacts commit");
}

/*
 * dedup.c - table `dedup`: (channel, account, external_id) -> seq of the
 * message.received event that first carried it, and the ticket it was filed
 * in. A message seen again under the same key (a webhook retry, a resend
 * after restart) is not routed twice; a later message that answers it (an
 * email's In-Reply-To, a WhatsApp context.id) finds its ticket here.
 * Values are 8 bytes (seq; records written before tickets were kept) or
 * 16 bytes (seq, ticket_id).
 */
#include "store/store_int.h"

#include "core/err.h"

#define DEDUP_KEY_MAX 511 /* LMDB's default key size limit */

static int dedup_key(char *buf, size_t *len, const char *channel, const char *account,
		     const char *external_id)
{
	const char *parts[3] = {channel, account, external_id};

	return store_strkey(buf, DEDUP_KEY_MAX, len, parts, 3);
}

int store_dedup_get(struct store_txn *txn, const char *channel, const char *account,
		    const char *external_id, uint64_t *seq)
{
	uint64_t ticket;

	return store_dedup_get_ref(txn, channel, account, external_id, seq, &ticket);
}

int store_dedup_get_ref(struct store_txn *txn, const char *channel, const char *account,
			const char *external_id, uint64_t *seq, uint64_t *ticket_id)
{
	char buf[DEDUP_KEY_MAX];
	MDB_val k, v;
	int rc;

	rc = dedup_key(buf, &k.mv_size, channel, account, external_id);
	if (rc)
		return rc;
	k.mv_data = buf;
	rc = mdb_get(txn->txn, txn->st->dbi[TBL_DEDUP], &k, &v);
	if (rc)
		return store_err(rc, "dedup get");
	if (v.mv_size != 8 && v.mv_size != 16)
		return GW_EPROTO;
	*seq = store_be64_get(v.mv_data);
	*ticket_id = v.mv_size == 16 ? store_be64_get((unsigned char *)v.mv_data + 8) : 0;
	return GW_OK;
}

int store_dedup_put(struct store_txn *txn, const char *channel, const char *account,
		    const char *external_id, uint64_t seq)
{
	return store_dedup_put_ref(txn, channel, account, external_id, seq, 0);
}

/* dedup_write - writes the record; `flags` 0 replaces an existing one. */
static int dedup_write(struct store_txn *txn, const char *channel, const char *account,
		       const char *external_id, uint64_t seq, uint64_t ticket_id, unsigned flags)
{
	char buf[DEDUP_KEY_MAX];
	unsigned char b[16];
	MDB_val k, v = {ticket_id ? 16 : 8, b};
	int rc;

	rc = dedup_key(buf, &k.mv_size, channel, account, external_id);
	if (rc)
		return rc;
	k.mv_data = buf;
	store_be64_put(b, seq);
	store_be64_put(b + 8, ticket_id);
	return store_err(mdb_put(txn->txn, txn->st->dbi[TBL_DEDUP], &k, &v, flags), "dedup put");
}

int store_dedup_put_ref(struct store_txn *txn, const char *channel, const char *account,
			const char *external_id, uint64_t seq, uint64_t ticket_id)
{
	return dedup_write(txn, channel, account, external_id, seq, ticket_id, MDB_NOOVERWRITE);
}

int store_dedup_set_ref(struct store_txn *txn, const char *channel, const char *account,
			const char *external_id, uint64_t seq, uint64_t ticket_id)
{
	return dedup_write(txn, channel, account, external_id, seq, ticket_id, 0);
}

/*
 * sentlog.h - a sending connector's journal of the replies its provider
 * took: the reply's id -> when, and the provider's id of it. One LMDB
 * environment per connector instance (<state_dir>/sent/<instance>/).
 *
 * A connector writes a record as soon as the provider has answered that it
 * took a reply, before it reports "sent" to the router; when the router
 * hands the same reply over again (the report was lost with a SIGKILL, or
 * either side restarted), the record is found and the report repeated
 * without sending the reply a second time. Records older than the keep
 * time are pruned: by then the router has long had the report.
 *
 * Key: the reply's external_id ("reply-<delivery>-<32 hex>", router/
 * reply.c), whose random part keeps a store started anew from matching an
 * old record. Value (binary, versioned): u8 version (1), be64 at (ms),
 * u8 len + ref_account, u16 len + ref_id.
 *
 * Errors as in store.h. Threading: one thread owns a sentlog.
 */
#ifndef GW_SENTLOG_H
#define GW_SENTLOG_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

struct sentlog;

struct sentlog_rec {
	char key[PROTO_MAX_EXTERNAL_ID + 1];       /* the reply's external_id */
	int64_t at;                                /* ms since the epoch */
	char ref_account[PROTO_MAX_ACCOUNT + 1];   /* the provider's id of the */
	char ref_id[PROTO_MAX_EXTERNAL_ID + 1];    /* reply, "" when none */
};

/* The longest encoded record value. */
#define SENTLOG_REC_MAX (1 + 8 + 1 + PROTO_MAX_ACCOUNT + 2 + PROTO_MAX_EXTERNAL_ID)

/*
 * sentlog_encode / decode - a record's stored value (pure, for tests and
 * fuzzing): encode returns its length (the strings within their bounds);
 * decode fills `r` but its key, GW_OK or GW_EPROTO.
 */
size_t sentlog_encode(const struct sentlog_rec *r, unsigned char buf[SENTLOG_REC_MAX]);
GW_MUST_CHECK int sentlog_decode(const void *data, size_t len, struct sentlog_rec *r);

/* sentlog_open - opens (creating, mode 0700) the journal in `dir`; *out
 * owns it. GW_OK, GW_ESTORE, GW_ENOMEM, GW_EIO. */
GW_MUST_CHECK int sentlog_open(const char *dir, struct sentlog **out);

/* sentlog_close - accepts NULL. */
void sentlog_close(struct sentlog *sl);

/* sentlog_get - the record of `key` into `rec`: GW_OK, GW_ENOTFOUND,
 * GW_EPROTO (a record that does not decode), GW_ESTORE. */
GW_MUST_CHECK int sentlog_get(struct sentlog *sl, const char *key, struct sentlog_rec *rec);

/* sentlog_put - writes the `n` records in one transaction, synced to disk
 * before it returns GW_OK; GW_ETOOBIG for a key LMDB cannot hold. */
GW_MUST_CHECK int sentlog_put(struct sentlog *sl, const struct sentlog_rec *recs, size_t n);

/* sentlog_prune - deletes the records written before `before_ms`; the
 * number deleted in *n (may be NULL). */
GW_MUST_CHECK int sentlog_prune(struct sentlog *sl, int64_t before_ms, size_t *n);

#endif

/*
 * spool_quarantine.h - the record of a connector's quarantine: what a
 * connector took but did not hand to the router, kept with its reason in
 * the table `quarantine` of its spool (spool.h), written in the same
 * transaction as the spool's events (the outbox's group commit).
 *
 * Two kinds:
 *   SPOOLQ_HELD  a message over its sender's limits (connectors/limits.h):
 *                `data` is its encoded event, ready to go; released by
 *                `gatewayctl quarantine reingest`
 *   SPOOLQ_BODY  an input that made no event (a body that does not parse,
 *                a required field missing, an item over a limit): `data`
 *                is its bytes as received, read again by the connector's
 *                current code on reingest
 *
 * Value (binary, versioned; every length bounded by the SPOOLQ_*_MAX):
 *   u8 version (1), u8 kind, be64 at (ms since the epoch),
 *   u16 len + reason, u8 len + channel, u16 len + sender,
 *   u16 len + external_id, u8 len + content_type, be32 len + data
 * Strings are UTF-8 (not checked here: they are the connector's), without
 * NUL; the key is the entry's id, a be64 that only grows.
 *
 * Threading: pure functions, any thread.
 */
#ifndef GW_STORE_SPOOL_QUARANTINE_H
#define GW_STORE_SPOOL_QUARANTINE_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define SPOOLQ_VERSION 1
#define SPOOLQ_REASON_MAX 512
#define SPOOLQ_TYPE_MAX 64
#define SPOOLQ_DATA_MAX (PROTO_MAX_EVENT_BYTES + 1024u * 1024u) /* a body of 5 MiB */
#define SPOOLQ_EVENT_TYPE "application/x-omnigate-event" /* content_type of SPOOLQ_HELD */

enum spoolq_kind { SPOOLQ_HELD = 1, SPOOLQ_BODY = 2 };

/* One entry. Strings are NUL-terminated; `data` is a view. */
struct spoolq_rec {
	uint64_t id;                 /* the key (set by readers; ignored by encode) */
	enum spoolq_kind kind;
	int64_t at;                  /* when it was kept, ms since the epoch */
	char reason[SPOOLQ_REASON_MAX + 1];
	char channel[PROTO_MAX_CHANNEL + 1];
	char sender[PROTO_MAX_ADDRESS + 1];        /* from.address, "" when unknown */
	char external_id[PROTO_MAX_EXTERNAL_ID + 1]; /* the message's, "" when none */
	char content_type[SPOOLQ_TYPE_MAX + 1];
	const void *data;            /* borrowed: the encoded event or the body */
	size_t len;
};

/*
 * spoolq_encode - the stored form of `r` into *out (malloc'ed, the caller
 * frees) and *len. Strings longer than their bound are cut (the reason at a
 * character boundary); `data` over SPOOLQ_DATA_MAX is GW_ETOOBIG. Returns
 * GW_OK, GW_EINVAL (unknown kind), GW_ETOOBIG, GW_ENOMEM.
 */
GW_MUST_CHECK int spoolq_encode(const struct spoolq_rec *r, char **out, size_t *len);

/*
 * spoolq_decode - reads a stored value (`len` bytes of `buf`, borrowed)
 * into `r`, whose `data` then points into buf. Strict: an unknown version
 * or kind, a length past the end, trailing bytes or a NUL inside a string
 * is GW_EPROTO; `r` is then zeroed. r->id is left as it was.
 */
GW_MUST_CHECK int spoolq_decode(const void *buf, size_t len, struct spoolq_rec *r);

/* spoolq_kind_name - "held" or "body" ("?" for another value). */
const char *spoolq_kind_name(enum spoolq_kind k);

#endif

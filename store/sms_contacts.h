/*
 * sms_contacts.h - what an SMS connector instance must remember of each
 * customer's number: which of its numbers the customer wrote to last (the
 * number replies go out from) and whether the customer opted out with STOP
 * (no reply is sent until START). One LMDB environment per instance:
 * <state_dir>/sms/<instance>/.
 *
 * Key: the customer's number as the provider wrote it in `From` (E.164,
 * "+15551234567"), at most PROTO_MAX_ADDRESS bytes. Value (binary,
 * versioned): u8 version (1), u8 flags (bit 0: opted out), be64 changed_at
 * (ms: when the opt-out state last changed, 0 never), be64 updated_at (ms:
 * when the record was last written), u16 len + our number.
 *
 * A write is synced to disk before sms_contacts_put() returns GW_OK: the
 * connector answers the provider only after that, so a STOP it confirmed
 * is never forgotten.
 *
 * Errors: GW_ENOTFOUND (no record), GW_EPROTO (a record that does not
 * decode: logged), GW_ETOOBIG (a key or number over its bound), GW_EFULL
 * (the map is full), GW_ESTORE (any other LMDB failure, logged), GW_ENOMEM,
 * GW_EIO (the folder cannot be made).
 *
 * Threading: one thread owns an instance's table.
 */
#ifndef GW_STORE_SMS_CONTACTS_H
#define GW_STORE_SMS_CONTACTS_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

struct sms_contacts;

struct sms_contact {
	char number[PROTO_MAX_ADDRESS + 1]; /* ours the customer wrote to last */
	int opted_out;                      /* STOP received, no START since */
	int64_t changed_at;                 /* ms: the opt-out state changed */
	int64_t updated_at;                 /* ms: the record was written */
};

/* sms_contacts_open - opens (creating, mode 0700) the table in `dir` with a
 * map of `map_size` bytes; *out owns it. GW_OK, GW_ESTORE, GW_ENOMEM,
 * GW_EIO. */
GW_MUST_CHECK int sms_contacts_open(const char *dir, size_t map_size, struct sms_contacts **out);

/* sms_contacts_close - accepts NULL. */
void sms_contacts_close(struct sms_contacts *c);

/* sms_contacts_get - the record of `customer` (borrowed) into *rec (zeroed
 * first). GW_OK, GW_ENOTFOUND, GW_EPROTO, GW_ESTORE. */
GW_MUST_CHECK int sms_contacts_get(struct sms_contacts *c, const char *customer, struct sms_contact *rec);

/* sms_contacts_put - writes the record of `customer`, synced to disk before
 * GW_OK. GW_ETOOBIG, GW_EFULL, GW_ESTORE. */
GW_MUST_CHECK int sms_contacts_put(struct sms_contacts *c, const char *customer,
		     const struct sms_contact *rec);

#endif

/*
 * identity.h - identities and the customers they lead to, as the router's
 * identity rules share them: identity.c (the sender of a message),
 * contacts.c (a directory import) and merge.c (merges and their undoing).
 *
 * An identity is (kind, address): kind is a channel for the ids only that
 * channel knows ("whatsapp", "messenger", "livechat", "api", ...) or a
 * cross-channel kind ("email", "phone"), plus "ref" for the id of a
 * contact in an imported directory. Addresses are stored normalized
 * (router/rules/normalize.h). The store's `identities` table says which customer
 * holds one and whether it is verified (delivered by a channel or a
 * directory) or claimed (typed by the customer); the customer's record
 * lists the same identities (customer.identities, at most
 * PROTO_MAX_IDENTITIES) with where each came from.
 *
 * An identity is never moved from one customer to another implicitly:
 * only a merge (merge.c) does that.
 *
 * Everything runs inside the batch's write transaction; errors are GW_*
 * codes (store errors pass through).
 */
#ifndef GW_ROUTER_IDENTITY_H
#define GW_ROUTER_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

struct batch;

#define IDENT_KIND_EMAIL "email"
#define IDENT_KIND_PHONE "phone"
#define IDENT_KIND_WHATSAPP "whatsapp"
#define IDENT_KIND_REF "ref" /* a contact's id in an imported directory */

/* Where a listed identity came from (proto_identity.source). */
#define IDENT_SRC_MESSAGE "message"
#define IDENT_SRC_CLAIM "claim"
#define IDENT_SRC_IMPORT "import"
#define IDENT_SRC_MERGE "merge"

/* Longest chain of merged_into links followed from a customer. */
#define IDENT_MAX_CHAIN 8

/* One identity, normalized; flags as the store's (STORE_IDENT_VERIFIED). */
struct ident {
	char kind[PROTO_MAX_CHANNEL + 1];
	char address[PROTO_MAX_ADDRESS + 1];
	unsigned flags;
};

/* ident_make - fills `id` with copies of kind and address (borrowed).
 * GW_OK, GW_EINVAL (empty), GW_ETOOBIG (over PROTO_MAX_CHANNEL or
 * PROTO_MAX_ADDRESS bytes). */
int ident_make(struct ident *id, const char *kind, const char *address, unsigned flags);

/*
 * ident_normalize - (kind, address) as a directory or an operator writes
 * them, into `out` in the spelling the router stores: "email" by
 * norm_email, "phone" by norm_phone in `region` (may be NULL or ""),
 * "whatsapp" as a wa_id (the E.164 digits: digits only are read as a
 * wa_id, anything else as a phone number in `region`); any other kind (lowercase letters, digits, '_' or '-', not
 * "ref") as given, without surrounding blanks. flags 0 (the caller sets
 * them). GW_OK, or GW_EINVAL with `why` saying what is wrong in words.
 */
int ident_normalize(const char *region, const char *kind, const char *address,
		    struct ident *out, char *why, size_t whylen);

/*
 * ident_follow - the customer `id` resolves to along merged_into links (at
 * most IDENT_MAX_CHAIN hops; a longer chain or a missing link stops at the
 * last customer reached). GW_OK, GW_ENOTFOUND (no customer `id`).
 */
int ident_follow(struct batch *b, uint64_t id, uint64_t *final);

/*
 * ident_find - the customer identity `id` (borrowed) leads to: *holder is
 * the customer the store names, *customer where it resolves to (following
 * merges), *flags the stored flags. GW_ENOTFOUND when unregistered or its
 * customer record is missing.
 */
int ident_find(struct batch *b, const struct ident *id, uint64_t *holder, uint64_t *customer,
	       unsigned *flags);

/*
 * ident_list_put - lists `id` on `c` with `source` (a static string), or
 * marks the listed one verified (with that source) when `id` is verified
 * and it was not; *changed set to 1 when the list changed (never reset).
 * A full list (PROTO_MAX_IDENTITIES) leaves it out with a warning: the
 * store's index still finds the customer. GW_OK or GW_ENOMEM.
 */
int ident_list_put(struct proto_customer *c, const struct ident *id, const char *source,
		   int *changed);

/* ident_list_del - takes (kind, address) off c's list; 1 if it was there. */
int ident_list_del(struct proto_customer *c, const char *kind, const char *address);

/*
 * ident_attach - registers `id` (borrowed) for customer `c`, in the store
 * and on c's list: an unregistered identity (or one whose customer is
 * gone) is stored with id->flags; one `c` holds already is upgraded to
 * verified when `id` is; one held by a customer merged into `c` stays
 * where it is. One that leads to ANOTHER customer is left alone and
 * *other is set to that customer (0 otherwise). *changed is set to 1 when
 * c's record or the index changed (never reset). `c` is not stored.
 */
int ident_attach(struct batch *b, struct proto_customer *c, const struct ident *id,
		 const char *source, int *changed, uint64_t *other);

/*
 * ident_customer_new - a new customer in `c` (cleared first; the caller
 * clears it with proto_customer_clear): ids from the counters, channel and
 * address (the first identity), name (may be NULL), created_at. Not
 * stored, not announced. GW_OK, GW_ENOMEM, store errors.
 */
int ident_customer_new(struct batch *b, const char *channel, const char *address,
		       const char *name, struct proto_customer *c);

#endif

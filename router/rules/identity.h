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
 * The rules:
 *   - Only a verified identity, registered as verified, leads to a
 *     customer (ident_find). A claim never decides which customer a
 *     message or a contact joins.
 *   - An identity held as verified is never moved implicitly: only a merge
 *     (merge.c) moves it. The router merges by itself in one case only: a
 *     message of a customer that holds nothing but its channel identity
 *     (a chat that just began) proves a verified identity another customer
 *     holds verified (a Telegram user's own shared phone number): the new
 *     customer is merged into the known one (customer.merged, its cause
 *     saying why). A customer with more to it is flagged a probable match.
 *   - A claim yields to proof: a verified identity arriving for an address
 *     another customer holds only as a claim becomes the verified
 *     customer's (ident_attach); the claimer keeps its history and is
 *     flagged a probable match of that customer (ident_claim_taken).
 *   - A claim of an address another customer holds (verified or claimed)
 *     stays where it is and flags the claimer a probable match of that
 *     customer (ident_match_set): customer.probable_match, announced with
 *     customer.created or customer.updated, for an operator to merge.
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
 * ident_find - the customer the verified identity `id` (borrowed) leads to,
 * following merges, into *customer. GW_ENOTFOUND when it is unregistered,
 * registered only as a claim (a claim leads nowhere), or its customer
 * record is missing.
 */
int ident_find(struct batch *b, const struct ident *id, uint64_t *customer);

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

/* What ident_attach met when the identity led to another customer. */
struct ident_clash {
	uint64_t holder;   /* the customer the store names; 0: no clash */
	uint64_t customer; /* where holder resolves to (following merges) */
	unsigned flags;    /* the stored flags (STORE_IDENT_VERIFIED) */
	int taken;         /* 1: a claim that `id`, verified, took for `c` */
};

/*
 * ident_attach - registers `id` (borrowed) for customer `c`, in the store
 * and on c's list: an unregistered identity (or one whose customer is
 * gone) is stored with id->flags; one `c` holds already is upgraded to
 * verified when `id` is; one held by a customer merged into `c` stays
 * where it is. One that leads to ANOTHER customer is described in *clash
 * (zeroed otherwise): when `id` is verified and the other holds it only as
 * a claim it is taken for `c` (clash->taken; the caller then calls
 * ident_claim_taken, once c is announced); else it is left alone.
 * *changed is set to 1 when c's record or the index changed (never
 * reset). `c` is not stored. GW_OK, GW_ENOMEM, store errors.
 */
int ident_attach(struct batch *b, struct proto_customer *c, const struct ident *id,
		 const char *source, int *changed, struct ident_clash *clash);

/*
 * ident_claim_taken - after ident_attach took the claim `id` (borrowed)
 * from clash->holder for customer `to`: the claim leaves the holder's list,
 * and clash->customer (unless merged away) becomes a probable match of
 * `to`; the records changed are stored and announced (customer.updated).
 * GW_OK, GW_ENOMEM, store errors.
 */
int ident_claim_taken(struct batch *b, const struct ident_clash *clash, const struct ident *id,
		      uint64_t to);

/*
 * ident_match_set - `c` is probably the same person as customer `other`
 * because of `id` (borrowed): c->probable_match becomes `other` with
 * `why` (a static phrase: "claimed here, held verified by") in the reason.
 * The latest match wins; the same one again changes nothing. *changed is
 * set to 1 when it changed (never reset). GW_OK or GW_ENOMEM.
 */
int ident_match_set(struct proto_customer *c, uint64_t other, const struct ident *id,
		    const char *why, int *changed);

/*
 * ident_customer_new - a new customer in `c` (cleared first; the caller
 * clears it with proto_customer_clear): ids from the counters, channel and
 * address (the first identity), name (may be NULL), created_at. Not
 * stored, not announced. GW_OK, GW_ENOMEM, store errors.
 */
int ident_customer_new(struct batch *b, const char *channel, const char *address,
		       const char *name, struct proto_customer *c);

/*
 * merge_customers_in - merges customer `source` into `target` inside b's
 * transaction, as the customer.merge command does (router/commands/merge.c:
 * identities, tickets, thread, records; customer.merged, customer.updated
 * of both, ticket.updated per moved ticket), the merge record's cause
 * `cause` (borrowed, UTF-8, at most PROTO_MAX_SHORT bytes). The merge id
 * into *merge_id (may be NULL). Records the caller holds of either
 * customer are stale afterwards: read them again. GW_OK, GW_ENOTFOUND (no
 * such customer), GW_EINVAL (the same customer, or one merged away
 * already: logged), GW_ENOMEM, store errors.
 */
int merge_customers_in(struct batch *b, uint64_t source, uint64_t target, const char *cause,
		       uint64_t *merge_id);

#endif

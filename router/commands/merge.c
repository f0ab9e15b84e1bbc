/*
 * merge.c - customer.merge and customer.unmerge: an operator says two
 * customers are one person (or were wrongly said to be).
 *
 * customer.merge {command_id, source_id, target_id}: the source is merged
 * away into the target, which is kept.
 *   identities  every listed identity the source holds moves to the target
 *               (store index and lists); one left unlisted still leads to
 *               the target through source.merged_into
 *   tickets     every ticket of the source becomes the target's
 *               (customer_id, thread_id, the customer->tickets index)
 *   thread      the source thread's entries are added to the target's
 *   record      counters added; the target's open ticket stays (without one
 *               it takes the source's; with one both stay open, the
 *               source's still found by its token and reply references);
 *               open and last tickets per channel and recent texts join the
 *               target's; last_agent when the target has none;
 *               source.merged_into = target; a probable_match of either
 *               naming the other is cleared (the operator settled it)
 *   events      customer.merged (the merge record, also stored: what moved),
 *               customer.updated of the target and of the source,
 *               ticket.updated ("merged into customer N") per moved ticket
 * customer.unmerge {command_id, merge_id}: undoes what the record says:
 *   identities still on the target and tickets still the target's go back,
 *   the source thread's entries leave the target's thread, counters are
 *   taken back, source.merged_into = 0, merge.unmerged_at is set; events
 *   customer.unmerged, customer.updated of both, ticket.updated per ticket.
 *   Messages that arrived after the merge stay with the target: they were
 *   written to it (its thread), and a ticket that goes back keeps them in
 *   its own list of messages.
 * Both run once per command_id (routing_once) and answer
 * {seq, duplicate, merge_id}.
 * merge_customers_in is the same merge inside another transaction: the
 * router's own, when a message proves that a customer who holds nothing
 * but its channel identity is a known one (router/rules/identity.c).
 */
#include "router/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "router/rules/identity.h"

#define MERGE_MAX_COMMAND_ID 200

struct merge_args {
	char *command_id;
	uint64_t source_id, target_id, merge_id;
};

static const struct cmdarg merge_spec[] = {
	{"command_id", CMDARG_STR, MERGE_MAX_COMMAND_ID, 1, offsetof(struct merge_args, command_id)},
	{"source_id", CMDARG_UINT, 0, 1, offsetof(struct merge_args, source_id)},
	{"target_id", CMDARG_UINT, 0, 1, offsetof(struct merge_args, target_id)},
};
static const struct cmdarg unmerge_spec[] = {
	{"command_id", CMDARG_STR, MERGE_MAX_COMMAND_ID, 1, offsetof(struct merge_args, command_id)},
	{"merge_id", CMDARG_UINT, 0, 1, offsetof(struct merge_args, merge_id)},
};
#define N_MERGE_SPEC (sizeof(merge_spec) / sizeof(merge_spec[0]))
#define N_UNMERGE_SPEC (sizeof(unmerge_spec) / sizeof(unmerge_spec[0]))

/* The state of one command's transaction. */
struct merge_ctx {
	struct merge_args a;
	struct proto_customer src, dst;
	struct proto_merge m;
	uint64_t *moved; /* tickets moved by this transaction */
	size_t n_moved;
	char *err;
	size_t errlen;
};

static void ctx_reset(struct merge_ctx *x)
{
	proto_customer_clear(&x->src);
	proto_customer_clear(&x->dst);
	proto_merge_clear(&x->m);
	free(x->moved);
	x->moved = NULL;
	x->n_moved = 0;
}

/* --- id lists ---------------------------------------------------------------- */

struct ids {
	uint64_t *v;
	size_t n, cap, max;
	int failed; /* GW_ENOMEM, or GW_ETOOBIG past max */
};

static int ids_add(void *arg, uint64_t id)
{
	struct ids *l = arg;

	if (l->n >= l->max) {
		l->failed = GW_ETOOBIG;
		return 1;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		uint64_t *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->failed = GW_ENOMEM;
			return 1;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = id;
	return 0;
}

static int ids_has(const uint64_t *v, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == id)
			return 1;
	return 0;
}

/* thread_seqs - every seq of a thread into `l` (caller frees l->v). */
static int thread_seqs(struct batch *b, uint64_t thread_id, struct ids *l)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->max = SIZE_MAX;
	rc = store_thread_scan(b->txn, thread_id, SIZE_MAX, ids_add, l);
	return rc ? rc : l->failed;
}

/* --- loading and checking ------------------------------------------------------ */

static int load_customer(struct merge_ctx *x, struct batch *b, uint64_t id,
			 struct proto_customer *c)
{
	int rc = store_customer_get(b->txn, id, c);

	if (rc == GW_ENOTFOUND)
		snprintf(x->err, x->errlen, "no customer %llu", (unsigned long long)id);
	return rc;
}

/* merge_check - both customers exist, differ, and neither was merged away. */
static int merge_check(struct merge_ctx *x, struct batch *b)
{
	const struct proto_customer *bad = NULL;
	int rc;

	if (x->a.source_id == x->a.target_id) {
		snprintf(x->err, x->errlen, "source and target are the same customer %llu",
			 (unsigned long long)x->a.source_id);
		return GW_EINVAL;
	}
	rc = load_customer(x, b, x->a.source_id, &x->src);
	if (rc == GW_OK)
		rc = load_customer(x, b, x->a.target_id, &x->dst);
	if (rc)
		return rc;
	if (x->src.merged_into)
		bad = &x->src;
	else if (x->dst.merged_into)
		bad = &x->dst;
	if (!bad)
		return GW_OK;
	snprintf(x->err, x->errlen, "customer %llu was merged into customer %llu already",
		 (unsigned long long)bad->customer_id, (unsigned long long)bad->merged_into);
	return GW_EINVAL;
}

/* --- moving identities ----------------------------------------------------------- */

/* merge_ident_copy - appends a copy of `e` to the merge record. */
static int merge_ident_copy(struct proto_merge *m, const struct proto_identity *e)
{
	struct proto_identity *v = realloc(m->identities, (m->identities_len + 1) * sizeof(*v));
	struct proto_identity *n;

	if (!v)
		return GW_ENOMEM;
	m->identities = v;
	n = &v[m->identities_len];
	memset(n, 0, sizeof(*n));
	n->kind = gw_strdup(e->kind);
	n->address = gw_strdup(e->address);
	n->source = gw_strdup(e->source);
	n->verified = e->verified;
	m->identities_len++;
	return n->kind && n->address && (n->source || !e->source) ? GW_OK : GW_ENOMEM;
}

/* move_ident - identity `e` (listed on `from`) to customer `to` when the
 * store says `from` holds it; *moved says whether it did. */
static int move_ident(struct batch *b, const struct proto_identity *e, uint64_t from,
		      struct proto_customer *to, const char *source, int *moved)
{
	struct ident id;
	uint64_t holder;
	unsigned flags;
	int changed = 0;
	int rc = ident_make(&id, e->kind, e->address, 0);

	*moved = 0;
	if (rc == GW_OK)
		rc = store_identity_lookup(b->txn, id.kind, id.address, &holder, &flags);
	if (rc == GW_ENOTFOUND || (rc == GW_OK && holder != from))
		return GW_OK; /* not (or no longer) the customer's: stays */
	if (rc)
		return rc;
	id.flags = flags;
	rc = store_identity_set(b->txn, id.kind, id.address, to->customer_id, flags);
	if (rc == GW_OK)
		rc = ident_list_put(to, &id, source, &changed);
	*moved = rc == GW_OK;
	return rc;
}

/* merge_identities - the source's listed identities go to the target. */
static int merge_identities(struct merge_ctx *x, struct batch *b)
{
	size_t i = 0;
	int rc = GW_OK, moved;

	while (rc == GW_OK && i < x->src.identities_len) {
		const struct proto_identity *e = &x->src.identities[i];

		rc = move_ident(b, e, x->src.customer_id, &x->dst, IDENT_SRC_MERGE, &moved);
		if (rc == GW_OK && moved)
			rc = merge_ident_copy(&x->m, e);
		if (rc == GW_OK && moved)
			ident_list_del(&x->src, e->kind, e->address);
		else
			i++;
	}
	return rc;
}

/* --- moving tickets ------------------------------------------------------------ */

/* move_ticket - ticket `id` from customer `from` to `to` (and its thread);
 * *t receives it. *moved 0 when it is not from's any more. */
static int move_ticket(struct batch *b, uint64_t id, uint64_t from,
		       const struct proto_customer *to, struct proto_ticket *t, int *moved)
{
	int rc;

	*moved = 0;
	memset(t, 0, sizeof(*t));
	rc = store_ticket_get(b->txn, id, t);
	if (rc == GW_ENOTFOUND)
		return store_customer_ticket_del(b->txn, from, id);
	if (rc || t->customer_id != from)
		return rc;
	t->customer_id = to->customer_id;
	t->thread_id = to->thread_id;
	rc = store_ticket_put(b->txn, t);
	if (rc == GW_OK)
		rc = store_customer_ticket_del(b->txn, from, id);
	*moved = rc == GW_OK;
	return rc;
}

/* merge_ref_add - lists moved ticket `t` on the merge record. */
static int merge_ref_add(struct proto_merge *m, const struct proto_ticket *t)
{
	struct proto_ticket_ref *v = realloc(m->tickets, (m->tickets_len + 1) * sizeof(*v));

	if (!v)
		return GW_ENOMEM;
	m->tickets = v;
	memset(&v[m->tickets_len], 0, sizeof(*v));
	v[m->tickets_len].ticket_id = t->ticket_id;
	v[m->tickets_len].at = t->opened_at;
	v[m->tickets_len].channel = gw_strdup(t->channel);
	m->tickets_len++;
	return !t->channel || v[m->tickets_len - 1].channel ? GW_OK : GW_ENOMEM;
}

/* move_tickets - the tickets in `ids` go from `from` to `to`; those moved
 * are kept in x->moved (and on the record when `record`). */
static int move_tickets(struct merge_ctx *x, struct batch *b, const uint64_t *ids, size_t n,
			uint64_t from, const struct proto_customer *to, int record)
{
	struct proto_ticket t;
	int rc = GW_OK, moved;

	x->moved = calloc(n ? n : 1, sizeof(*x->moved));
	if (!x->moved)
		return GW_ENOMEM;
	for (size_t i = 0; rc == GW_OK && i < n; i++) {
		rc = move_ticket(b, ids[i], from, to, &t, &moved);
		if (rc == GW_OK && moved && record)
			rc = merge_ref_add(&x->m, &t);
		if (rc == GW_OK && moved)
			x->moved[x->n_moved++] = ids[i];
		proto_ticket_clear(&t);
	}
	return rc;
}

static int merge_tickets(struct merge_ctx *x, struct batch *b)
{
	struct ids l = {NULL, 0, 0, PROTO_MAX_MERGE_TICKETS, 0};
	int rc = store_customer_tickets(b->txn, x->src.customer_id, PROTO_MAX_MERGE_TICKETS + 1,
					ids_add, &l);

	if (rc == GW_OK && l.failed == GW_ETOOBIG)
		snprintf(x->err, x->errlen, "customer %llu has more than %d tickets: too many to "
			 "merge", (unsigned long long)x->src.customer_id, PROTO_MAX_MERGE_TICKETS);
	if (rc == GW_OK)
		rc = l.failed;
	if (rc == GW_ETOOBIG)
		rc = GW_EINVAL;
	if (rc == GW_OK)
		rc = move_tickets(x, b, l.v, l.n, x->src.customer_id, &x->dst, 1);
	free(l.v);
	return rc;
}

/* --- the customer records ------------------------------------------------------- */

/* ref_find - the entry of `channel` (NULL matches NULL) in a ref list. */
static int ref_has_channel(const struct proto_ticket_ref *v, size_t n, const char *channel)
{
	for (size_t i = 0; i < n; i++)
		if ((!v[i].channel && !channel) ||
		    (v[i].channel && channel && strcmp(v[i].channel, channel) == 0))
			return 1;
	return 0;
}

/* refs_join - the source's per-channel refs join the target's where the
 * target has none for that channel. */
static int refs_join(struct proto_ticket_ref **dst, size_t *dn, const struct proto_ticket_ref *src,
		     size_t sn)
{
	for (size_t i = 0; i < sn; i++) {
		struct proto_ticket_ref *v;

		if (*dn >= PROTO_MAX_OPEN_TICKETS || ref_has_channel(*dst, *dn, src[i].channel))
			continue;
		v = realloc(*dst, (*dn + 1) * sizeof(*v));
		if (!v)
			return GW_ENOMEM;
		*dst = v;
		v[*dn] = src[i];
		v[*dn].channel = gw_strdup(src[i].channel);
		if (src[i].channel && !v[*dn].channel)
			return GW_ENOMEM;
		(*dn)++;
	}
	return GW_OK;
}

/* refs_drop - removes the refs of the tickets in `ids`. */
static void refs_drop(struct proto_ticket_ref *v, size_t *n, const uint64_t *ids, size_t nids)
{
	size_t k = 0;

	for (size_t i = 0; i < *n; i++) {
		if (ids_has(ids, nids, v[i].ticket_id))
			free(v[i].channel);
		else
			v[k++] = v[i];
	}
	*n = k;
}

static int recent_cmp(const void *a, const void *b)
{
	const struct proto_recent *x = a, *y = b;

	return (x->at > y->at) - (x->at < y->at);
}

/* recent_join - both customers' recent texts, the newest PROTO_MAX_RECENT
 * kept, oldest first. */
static int recent_join(struct proto_customer *dst, const struct proto_customer *src)
{
	size_t n = dst->recent_len + src->recent_len, drop;
	struct proto_recent *v;

	if (!src->recent_len)
		return GW_OK;
	v = realloc(dst->recent, n * sizeof(*v));
	if (!v)
		return GW_ENOMEM;
	dst->recent = v;
	for (size_t i = 0; i < src->recent_len; i++) {
		v[dst->recent_len] = src->recent[i];
		v[dst->recent_len].channel = gw_strdup(src->recent[i].channel);
		if (!v[dst->recent_len].channel)
			return GW_ENOMEM;
		dst->recent_len++;
	}
	qsort(v, n, sizeof(*v), recent_cmp);
	drop = n > PROTO_MAX_RECENT ? n - PROTO_MAX_RECENT : 0;
	for (size_t i = 0; i < drop; i++)
		free(v[i].channel);
	memmove(v, v + drop, (n - drop) * sizeof(*v));
	dst->recent_len = n - drop;
	return GW_OK;
}

/* recent_drop - forgets the recent texts filed in the tickets in `ids`. */
static void recent_drop(struct proto_customer *c, const uint64_t *ids, size_t nids)
{
	size_t k = 0;

	for (size_t i = 0; i < c->recent_len; i++) {
		if (ids_has(ids, nids, c->recent[i].ticket_id))
			free(c->recent[i].channel);
		else
			c->recent[k++] = c->recent[i];
	}
	c->recent_len = k;
}

/* join_records - what the target takes from the source's record. */
static int join_records(struct proto_customer *dst, const struct proto_customer *src)
{
	int rc;

	dst->ticket_count += src->ticket_count;
	dst->message_count += src->message_count;
	if (!dst->open_ticket_id)
		dst->open_ticket_id = src->open_ticket_id;
	if (!dst->last_agent && src->last_agent && !(dst->last_agent = gw_strdup(src->last_agent)))
		return GW_ENOMEM;
	rc = refs_join(&dst->open_tickets, &dst->open_tickets_len, src->open_tickets,
		       src->open_tickets_len);
	if (rc == GW_OK)
		rc = refs_join(&dst->last_tickets, &dst->last_tickets_len, src->last_tickets,
			       src->last_tickets_len);
	return rc == GW_OK ? recent_join(dst, src) : rc;
}

static uint64_t minus(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* split_records - the target gives back what join_records gave it, for
 * the tickets in `ids` (those that went back). */
static void split_records(struct proto_customer *dst, const struct proto_customer *src,
			  const uint64_t *ids, size_t n)
{
	dst->ticket_count = minus(dst->ticket_count, src->ticket_count);
	dst->message_count = minus(dst->message_count, src->message_count);
	if (ids_has(ids, n, dst->open_ticket_id))
		dst->open_ticket_id = 0;
	refs_drop(dst->open_tickets, &dst->open_tickets_len, ids, n);
	refs_drop(dst->last_tickets, &dst->last_tickets_len, ids, n);
	recent_drop(dst, ids, n);
}

/* --- events --------------------------------------------------------------------- */

/* emit_tickets - ticket.updated for each moved ticket, with `cause`. */
static int emit_tickets(struct merge_ctx *x, struct batch *b, const char *cause)
{
	struct proto_ticket t;
	int rc = GW_OK;

	for (size_t i = 0; rc == GW_OK && i < x->n_moved; i++) {
		memset(&t, 0, sizeof(t));
		rc = store_ticket_get(b->txn, x->moved[i], &t);
		if (rc == GW_OK)
			rc = route_emit_ticket(b, PROTO_T_TICKET_UPDATED, &t, cause);
		if (rc == GW_OK)
			rc = store_ticket_put(b->txn, &t); /* the cause is kept */
		proto_ticket_clear(&t);
	}
	return rc;
}

/* store_and_emit - both records and the merge stored; the merge event,
 * both customers, then the tickets announced. */
static int store_and_emit(struct merge_ctx *x, struct batch *b, enum proto_type type,
			  const char *cause)
{
	struct proto_event ev;
	int rc;

	x->src.updated_at = x->dst.updated_at = gw_now_ms();
	rc = store_customer_put(b->txn, &x->src);
	if (rc == GW_OK)
		rc = store_customer_put(b->txn, &x->dst);
	if (rc == GW_OK)
		rc = store_merge_put(b->txn, &x->m);
	if (rc == GW_OK)
		rc = proto_event_init(&ev, type);
	if (rc)
		return rc;
	ev.u.merge = x->m; /* borrowed: cleared by hand below */
	rc = batch_emit(b, &ev);
	memset(&ev.u.merge, 0, sizeof(ev.u.merge));
	proto_event_clear(&ev);
	if (rc == GW_OK)
		rc = route_emit_customer(b, PROTO_T_CUSTOMER_UPDATED, &x->dst);
	if (rc == GW_OK)
		rc = route_emit_customer(b, PROTO_T_CUSTOMER_UPDATED, &x->src);
	return rc == GW_OK ? emit_tickets(x, b, cause) : rc;
}

/* --- customer.merge ---------------------------------------------------------------- */

/* merge_thread - the source thread's entries join the target's thread. */
static int merge_thread(struct batch *b, uint64_t from, uint64_t to)
{
	struct ids l;
	int rc = thread_seqs(b, from, &l);

	for (size_t i = 0; rc == GW_OK && i < l.n; i++)
		rc = store_thread_append(b->txn, to, l.v[i]);
	free(l.v);
	return rc;
}

static int merge_record_init(struct merge_ctx *x, struct batch *b, const char *cause)
{
	int rc = route_next_id(b, ROUTE_NEXT_MERGE, &x->m.merge_id);

	x->m.source_customer_id = x->src.customer_id;
	x->m.target_customer_id = x->dst.customer_id;
	x->m.merged_at = gw_now_ms();
	x->m.cause = gw_strdup(cause);
	return rc ? rc : x->m.cause ? GW_OK : GW_ENOMEM;
}

/* match_settled - a probable match of `c` with `other` is settled by their
 * merge: cleared (an unmerge does not bring it back: the operator said). */
static void match_settled(struct proto_customer *c, uint64_t other)
{
	if (c->probable_match != other)
		return;
	c->probable_match = 0;
	free(c->probable_match_reason);
	c->probable_match_reason = NULL;
}

/* merge_apply - merges x->a.source_id into x->a.target_id in b's
 * transaction; `record_cause` (borrowed, UTF-8) is the merge record's. */
static int merge_apply(struct merge_ctx *x, struct batch *b, const char *record_cause)
{
	char cause[64];
	int rc;

	ctx_reset(x);
	rc = merge_check(x, b);
	if (rc == GW_OK)
		rc = merge_record_init(x, b, record_cause);
	if (rc == GW_OK)
		rc = merge_identities(x, b);
	if (rc == GW_OK)
		rc = merge_tickets(x, b);
	if (rc == GW_OK)
		rc = merge_thread(b, x->src.thread_id, x->dst.thread_id);
	if (rc == GW_OK)
		rc = join_records(&x->dst, &x->src);
	if (rc)
		return rc;
	x->src.merged_into = x->dst.customer_id;
	match_settled(&x->src, x->dst.customer_id);
	match_settled(&x->dst, x->src.customer_id);
	x->a.merge_id = x->m.merge_id;
	snprintf(cause, sizeof(cause), "merged into customer %llu",
		 (unsigned long long)x->dst.customer_id);
	return store_and_emit(x, b, PROTO_T_CUSTOMER_MERGED, cause);
}

static int merge_txn(struct batch *b, void *arg)
{
	struct merge_ctx *x = arg;
	char cause[MERGE_MAX_COMMAND_ID + 16];

	snprintf(cause, sizeof(cause), "command %s", x->a.command_id);
	gw_utf8_trim(cause); /* a cut character would make the event invalid */
	return merge_apply(x, b, cause);
}

int merge_customers_in(struct batch *b, uint64_t source, uint64_t target, const char *cause,
		       uint64_t *merge_id)
{
	struct merge_ctx x;
	char err[160] = "";
	int rc;

	memset(&x, 0, sizeof(x));
	x.err = err;
	x.errlen = sizeof(err);
	x.a.source_id = source;
	x.a.target_id = target;
	rc = merge_apply(&x, b, cause);
	if (rc == GW_OK && merge_id)
		*merge_id = x.m.merge_id;
	if (rc)
		GW_WARN("router", "customer %llu: not merged into customer %llu: %s",
			(unsigned long long)source, (unsigned long long)target,
			err[0] ? err : gw_strerror(rc));
	ctx_reset(&x);
	return rc;
}

/* --- customer.unmerge --------------------------------------------------------------- */

/* unmerge_check - the merge exists, is not undone, and the target was not
 * merged away since (that merge must be undone first). */
static int unmerge_check(struct merge_ctx *x, struct batch *b)
{
	int rc = store_merge_get(b->txn, x->a.merge_id, &x->m);

	if (rc == GW_ENOTFOUND)
		snprintf(x->err, x->errlen, "no merge %llu", (unsigned long long)x->a.merge_id);
	if (rc)
		return rc;
	if (x->m.unmerged_at) {
		snprintf(x->err, x->errlen, "merge %llu was undone already",
			 (unsigned long long)x->m.merge_id);
		return GW_EINVAL;
	}
	rc = load_customer(x, b, x->m.source_customer_id, &x->src);
	if (rc == GW_OK)
		rc = load_customer(x, b, x->m.target_customer_id, &x->dst);
	if (rc == GW_OK && x->dst.merged_into) {
		snprintf(x->err, x->errlen, "customer %llu was merged into customer %llu since: "
			 "undo that merge first", (unsigned long long)x->dst.customer_id,
			 (unsigned long long)x->dst.merged_into);
		rc = GW_EINVAL;
	}
	return rc;
}

/* unmerge_identities - the record's identities still on the target go
 * back to the source, verified or claimed and with the source they had. */
static int unmerge_identities(struct merge_ctx *x, struct batch *b)
{
	int rc = GW_OK, moved;

	for (size_t i = 0; rc == GW_OK && i < x->m.identities_len; i++) {
		const struct proto_identity *e = &x->m.identities[i];

		rc = move_ident(b, e, x->dst.customer_id, &x->src,
				e->source ? e->source : IDENT_SRC_MERGE, &moved);
		if (rc == GW_OK && moved)
			ident_list_del(&x->dst, e->kind, e->address);
	}
	return rc;
}

static int unmerge_tickets(struct merge_ctx *x, struct batch *b)
{
	uint64_t *ids = calloc(x->m.tickets_len ? x->m.tickets_len : 1, sizeof(*ids));
	int rc;

	if (!ids)
		return GW_ENOMEM;
	for (size_t i = 0; i < x->m.tickets_len; i++)
		ids[i] = x->m.tickets[i].ticket_id;
	rc = move_tickets(x, b, ids, x->m.tickets_len, x->dst.customer_id, &x->src, 0);
	free(ids);
	return rc;
}

/* unmerge_thread - the source thread's entries leave the target's thread;
 * what arrived after the merge is only in the target's and stays. */
static int unmerge_thread(struct batch *b, uint64_t from, uint64_t to)
{
	struct ids l;
	int rc = thread_seqs(b, from, &l);

	for (size_t i = 0; rc == GW_OK && i < l.n; i++)
		rc = store_thread_remove(b->txn, to, l.v[i]);
	free(l.v);
	return rc;
}

/* source_open_ticket - the source's open ticket is one it has again and
 * that is still open; otherwise it has none. */
static int source_open_ticket(struct merge_ctx *x, struct batch *b)
{
	struct proto_ticket t;
	int rc;

	if (!x->src.open_ticket_id)
		return GW_OK;
	memset(&t, 0, sizeof(t));
	rc = store_ticket_get(b->txn, x->src.open_ticket_id, &t);
	if (rc == GW_ENOTFOUND || (rc == GW_OK && (t.customer_id != x->src.customer_id ||
						   !t.status || strcmp(t.status, "open") != 0)))
		x->src.open_ticket_id = 0;
	proto_ticket_clear(&t);
	return rc == GW_ENOTFOUND ? GW_OK : rc;
}

static int unmerge_txn(struct batch *b, void *arg)
{
	struct merge_ctx *x = arg;
	char cause[64];
	int rc;

	ctx_reset(x);
	rc = unmerge_check(x, b);
	if (rc == GW_OK)
		rc = unmerge_identities(x, b);
	if (rc == GW_OK)
		rc = unmerge_tickets(x, b);
	if (rc == GW_OK)
		rc = unmerge_thread(b, x->src.thread_id, x->dst.thread_id);
	if (rc == GW_OK)
		rc = source_open_ticket(x, b);
	if (rc)
		return rc;
	split_records(&x->dst, &x->src, x->moved, x->n_moved);
	x->src.merged_into = 0;
	x->m.unmerged_at = gw_now_ms();
	free(x->m.cause);
	snprintf(cause, sizeof(cause), "unmerge: command %.40s", x->a.command_id);
	/* %.40s counts bytes: a character cut in two is not UTF-8, and the
	 * event would be refused every time the command is retried. */
	gw_utf8_trim(cause);
	x->m.cause = gw_strdup(cause);
	if (!x->m.cause)
		return GW_ENOMEM;
	snprintf(cause, sizeof(cause), "unmerged back to customer %llu",
		 (unsigned long long)x->src.customer_id);
	return store_and_emit(x, b, PROTO_T_CUSTOMER_UNMERGED, cause);
}

/* --- the commands ------------------------------------------------------------------- */

/* merge_id_of - the merge_id of the merge event at `seq` (a command run
 * before: its answer names the same merge). */
static int merge_id_of(struct router *r, uint64_t seq, uint64_t *merge_id)
{
	struct store_txn *txn = NULL;
	struct proto_event ev;
	int rc = store_txn_begin(router_store(r), 1, &txn);

	memset(&ev, 0, sizeof(ev));
	if (rc == GW_OK)
		rc = store_eventlog_decode(txn, seq, &ev);
	if (rc == GW_OK && (ev.type == PROTO_T_CUSTOMER_MERGED ||
			    ev.type == PROTO_T_CUSTOMER_UNMERGED))
		*merge_id = ev.u.merge.merge_id;
	proto_event_clear(&ev);
	store_txn_abort(txn);
	return rc;
}

static void pack_answer(msgpack_sbuffer *out, uint64_t seq, int dup, uint64_t merge_id)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	cmdans_head(&pk, 3, seq, dup);
	cmdans_u64(&pk, "merge_id", merge_id);
}

/* run_once - parses the arguments by `spec`, runs `fn` once per command
 * id and answers. */
static int run_once(struct router *r, const void *args, size_t len, const struct cmdarg *spec,
		    size_t nspec, int (*fn)(struct batch *b, void *arg), msgpack_sbuffer *out,
		    char *err, size_t errlen)
{
	struct merge_ctx x;
	uint64_t seq = 0;
	int rc, dup = 0;

	memset(&x, 0, sizeof(x));
	x.err = err;
	x.errlen = errlen;
	rc = cmdargs_parse(args, len, spec, nspec, &x.a, err, errlen);
	if (rc == GW_OK)
		rc = routing_once(r, x.a.command_id, fn, &x, &seq, &dup);
	if (rc == GW_OK && dup)
		rc = merge_id_of(r, seq, &x.a.merge_id);
	if (rc == GW_OK)
		pack_answer(out, seq, dup, x.a.merge_id);
	else if (!err[0])
		snprintf(err, errlen, "%s", gw_strerror(rc));
	ctx_reset(&x);
	cmdargs_free(spec, nspec, &x.a);
	return rc;
}

int merge_customers(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
		    char *err, size_t errlen)
{
	return run_once(r, args, len, merge_spec, N_MERGE_SPEC, merge_txn, out, err, errlen);
}

int merge_undo(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
	       char *err, size_t errlen)
{
	return run_once(r, args, len, unmerge_spec, N_UNMERGE_SPEC, unmerge_txn, out, err,
			errlen);
}

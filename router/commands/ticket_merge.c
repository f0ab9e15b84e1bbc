/*
 * ticket_merge.c - merging two tickets of one customer, and splitting a
 * message off into a new ticket (docs/routing.md, "Merging and splitting
 * tickets").
 *
 *   ticket.merge {command_id, ticket_id, target_id}
 *       ticket_id is merged into target_id (the survivor): the survivor's
 *       message and trace lists get the merged ticket's entries (kept on it
 *       too), its own SLA clocks, queue and agent stay; the merged ticket is
 *       closed (its clocks stopped, its agent released) with merged_into
 *       set. Emits ticket.merged (the merged ticket), then ticket.updated
 *       (the survivor). A later message naming the merged ticket (a reply
 *       reference, its [#T-n] token, the scope's last ticket) goes to the
 *       survivor: the threading rules load tickets through
 *       ticket_follow_merge. Answer {seq, duplicate, ticket_id, target_id,
 *       status}: status is the survivor's.
 *   ticket.split {command_id, ticket_id, message_seq}
 *       the message leaves ticket_id for a new open ticket of the same
 *       customer (split_from = ticket_id; ticket_id's `splits` lists it),
 *       assigned by the queue rules with its own SLA clocks. The new ticket
 *       is not the scope's open ticket (the scope keeps one): messages
 *       reach it by reference or token. Emits ticket.created and
 *       ticket.split (the new ticket), ticket.assigned when it got an agent,
 *       ticket.updated (the old one). Answer {seq, duplicate, ticket_id,
 *       new_ticket_id}.
 * Both run once per command_id (routing_once). Errors: GW_ENOTFOUND (no
 * such ticket or message), GW_EINVAL (tickets of two customers, a ticket
 * merged already, the same ticket twice, the last message of a ticket, too
 * many splits), the store's.
 */
#include "router/router.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "router/rules/assign.h"

#define TM_MAX_COMMAND_ID 200 /* as message.send */
#define TM_MAX_MOVED 100000   /* messages or trace entries a merge moves */
#define TM_MAX_HOPS 16        /* merges followed from one ticket */

struct tm_args {
	char *command_id;
	uint64_t ticket_id, target_id, message_seq;
};

static const struct cmdarg merge_spec[] = {
	{"command_id", CMDARG_STR, TM_MAX_COMMAND_ID, 1, offsetof(struct tm_args, command_id)},
	{"ticket_id", CMDARG_UINT, 0, 1, offsetof(struct tm_args, ticket_id)},
	{"target_id", CMDARG_UINT, 0, 1, offsetof(struct tm_args, target_id)},
};

static const struct cmdarg split_spec[] = {
	{"command_id", CMDARG_STR, TM_MAX_COMMAND_ID, 1, offsetof(struct tm_args, command_id)},
	{"ticket_id", CMDARG_UINT, 0, 1, offsetof(struct tm_args, ticket_id)},
	{"message_seq", CMDARG_UINT, 0, 1, offsetof(struct tm_args, message_seq)},
};

#define N_SPEC(s) (sizeof(s) / sizeof((s)[0]))

struct tm_ctx {
	const struct tm_args *a;
	char *err;
	size_t errlen;
	char status[PROTO_MAX_STATUS + 1];
	uint64_t new_id; /* split: the new ticket */
};

/* --- following merges ------------------------------------------------------ */

int ticket_follow_merge(struct batch *b, struct proto_ticket *t)
{
	struct proto_ticket next;
	int rc = GW_OK;

	for (int hop = 0; hop < TM_MAX_HOPS && t->merged_into && rc == GW_OK; hop++) {
		memset(&next, 0, sizeof(next));
		rc = store_ticket_get(b->txn, t->merged_into, &next);
		if (rc == GW_ENOTFOUND) {
			proto_ticket_clear(&next);
			return GW_OK;
		}
		if (rc == GW_OK) {
			proto_ticket_clear(t);
			*t = next;
		}
	}
	return rc;
}

/* --- shared steps ---------------------------------------------------------- */

static int load(struct batch *b, struct tm_ctx *h, uint64_t id, struct proto_ticket *t)
{
	int rc = store_ticket_get(b->txn, id, t);

	if (rc == GW_ENOTFOUND)
		snprintf(h->err, h->errlen, "no ticket %llu", (unsigned long long)id);
	return rc;
}

static int set_str(char **dst, const char *value)
{
	char *copy = gw_strdup(value);

	if (value && !copy)
		return GW_ENOMEM;
	free(*dst);
	*dst = copy;
	return GW_OK;
}

/* make_cause - "command <id>: <what> <ticket>" into buf. */
static void make_cause(char *buf, size_t size, const char *command_id, const char *what,
		       unsigned long long id)
{
	if ((size_t)snprintf(buf, size, "command %s: %s %llu", command_id, what, id) >= size)
		gw_utf8_trim(buf);
}

/* copy_list - appends each seq `fn` scans of `from` to `to` with `put`. */
struct copy {
	struct store_txn *txn;
	uint64_t to;
	int (*put)(struct store_txn *txn, uint64_t ticket_id, uint64_t seq);
	int rc;
};

static int copy_one(void *arg, uint64_t seq)
{
	struct copy *c = arg;

	c->rc = c->put(c->txn, c->to, seq);
	return c->rc != GW_OK;
}

static int copy_lists(struct batch *b, uint64_t from, uint64_t to)
{
	struct copy c = {b->txn, to, store_ticket_msg_append, GW_OK};
	int rc;

	rc = store_ticket_msgs(b->txn, from, TM_MAX_MOVED, copy_one, &c);
	if (rc == GW_OK)
		rc = c.rc;
	if (rc)
		return rc;
	c.put = store_ticket_trace_append;
	rc = store_ticket_trace(b->txn, from, TM_MAX_MOVED, copy_one, &c);
	return rc ? rc : c.rc;
}

/* --- ticket.merge ----------------------------------------------------------- */

static int merge_check(struct tm_ctx *h, const struct proto_ticket *s,
		       const struct proto_ticket *t)
{
	if (s->ticket_id == t->ticket_id)
		snprintf(h->err, h->errlen, "a ticket is not merged into itself");
	else if (s->customer_id != t->customer_id)
		snprintf(h->err, h->errlen, "tickets %llu and %llu are of two customers",
			 (unsigned long long)s->ticket_id, (unsigned long long)t->ticket_id);
	else if (s->merged_into)
		snprintf(h->err, h->errlen, "ticket %llu is merged into %llu already",
			 (unsigned long long)s->ticket_id, (unsigned long long)s->merged_into);
	else if (t->merged_into)
		snprintf(h->err, h->errlen, "ticket %llu is merged into %llu: merge into that one",
			 (unsigned long long)t->ticket_id, (unsigned long long)t->merged_into);
	else
		return GW_OK;
	return GW_EINVAL;
}

/* close_merged - the merged ticket leaves its scope, its agent and its
 * clocks, as a close does. */
static int close_merged(struct batch *b, struct proto_ticket *s, int64_t now)
{
	struct proto_customer c;
	int was_open = s->status && strcmp(s->status, "open") == 0;
	int rc = set_str(&s->status, "closed");

	if (rc || !was_open)
		return rc;
	s->closed_at = now;
	rc = sla_stop(b, s);
	if (rc == GW_OK)
		rc = assign_release(b, s);
	memset(&c, 0, sizeof(c));
	if (rc == GW_OK && store_customer_get(b->txn, s->customer_id, &c) == GW_OK) {
		rc = thread_ticket_closed(b, &c, s);
		if (rc == GW_OK)
			rc = store_customer_put(b->txn, &c);
	}
	proto_customer_clear(&c);
	return rc;
}

static int merge_step(struct batch *b, struct tm_ctx *h, struct proto_ticket *s,
		      struct proto_ticket *t)
{
	char cause[PROTO_MAX_SHORT + 1];
	int64_t now = gw_now_ms();
	int rc = merge_check(h, s, t);

	if (rc == GW_OK)
		rc = copy_lists(b, s->ticket_id, t->ticket_id);
	if (rc == GW_OK)
		rc = close_merged(b, s, now);
	if (rc)
		return rc;
	s->merged_into = t->ticket_id;
	s->updated_at = t->updated_at = now;
	t->message_count += s->message_count;
	t->duplicate_count += s->duplicate_count;
	if (s->last_message_seq > t->last_message_seq)
		t->last_message_seq = s->last_message_seq;
	rc = store_ticket_put(b->txn, s);
	if (rc == GW_OK)
		rc = store_ticket_put(b->txn, t);
	make_cause(cause, sizeof(cause), h->a->command_id, "merged into ticket",
		   (unsigned long long)t->ticket_id);
	if (rc == GW_OK)
		rc = route_emit_ticket(b, PROTO_T_TICKET_MERGED, s, cause);
	make_cause(cause, sizeof(cause), h->a->command_id, "merged into it: ticket",
		   (unsigned long long)s->ticket_id);
	if (rc == GW_OK)
		rc = route_emit_ticket(b, PROTO_T_TICKET_UPDATED, t, cause);
	snprintf(h->status, sizeof(h->status), "%s", t->status ? t->status : "");
	return rc;
}

static int merge_txn(struct batch *b, void *arg)
{
	struct tm_ctx *h = arg;
	struct proto_ticket s, t;
	int rc;

	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	rc = load(b, h, h->a->ticket_id, &s);
	if (rc == GW_OK)
		rc = load(b, h, h->a->target_id, &t);
	if (rc == GW_OK)
		rc = merge_step(b, h, &s, &t);
	proto_ticket_clear(&s);
	proto_ticket_clear(&t);
	return rc;
}

/* --- ticket.split ------------------------------------------------------------ */

struct find {
	uint64_t seq;
	size_t n;
	int found;
};

static int find_one(void *arg, uint64_t seq)
{
	struct find *f = arg;

	f->n++;
	f->found |= seq == f->seq;
	return 0;
}

/* split_message - the message `seq` of ticket `s`, decoded into `ev`. */
static int split_message(struct batch *b, struct tm_ctx *h, const struct proto_ticket *s,
			 struct proto_event *ev)
{
	struct find f = {h->a->message_seq, 0, 0};
	int rc = store_ticket_msgs(b->txn, s->ticket_id, TM_MAX_MOVED, find_one, &f);

	if (rc)
		return rc;
	if (s->merged_into) {
		snprintf(h->err, h->errlen, "ticket %llu is merged into %llu",
			 (unsigned long long)s->ticket_id, (unsigned long long)s->merged_into);
		return GW_EINVAL;
	}
	if (!f.found) {
		snprintf(h->err, h->errlen, "no message %llu in ticket %llu",
			 (unsigned long long)f.seq, (unsigned long long)s->ticket_id);
		return GW_ENOTFOUND;
	}
	if (f.n < 2 || s->splits_len >= PROTO_MAX_SPLITS) {
		snprintf(h->err, h->errlen, f.n < 2 ? "the only message of a ticket stays in it"
						   : "ticket %llu has too many splits",
			 (unsigned long long)s->ticket_id);
		return GW_EINVAL;
	}
	rc = store_eventlog_decode(b->txn, f.seq, ev);
	if (rc == GW_OK && ev->type != PROTO_T_MESSAGE_RECEIVED && ev->type != PROTO_T_MESSAGE_SENT)
		rc = GW_EINVAL;
	return rc;
}

/* new_ticket - the split-off ticket `n` for message `m` of ticket `s`. */
static int new_ticket(struct batch *b, const struct proto_ticket *s,
		      const struct proto_message *m, uint64_t seq, struct proto_ticket *n)
{
	int rc = route_next_id(b, ROUTE_NEXT_TICKET, &n->ticket_id);

	n->customer_id = s->customer_id;
	n->thread_id = s->thread_id;
	n->opened_at = n->updated_at = gw_now_ms();
	n->split_from = s->ticket_id;
	n->message_count = 1;
	n->last_message_seq = m->direction && strcmp(m->direction, "outbound") == 0 ? 0 : seq;
	if (rc == GW_OK)
		rc = set_str(&n->status, "open");
	if (rc == GW_OK)
		rc = set_str(&n->channel, m->channel);
	if (rc == GW_OK)
		rc = set_str(&n->subject, m->subject);
	if (rc == GW_OK)
		rc = set_str(&n->scope, s->scope);
	if (rc == GW_OK)
		rc = set_str(&n->queue, s->queue);
	if (rc == GW_OK)
		rc = assign_ticket_at(b, n, m, NULL, n->opened_at);
	if (rc == GW_OK)
		rc = sla_start(b, n, n->opened_at);
	return rc;
}

/* link_split - `s` lists `n` among its splits and loses the message. */
static int link_split(struct batch *b, struct proto_ticket *s, const struct proto_ticket *n,
		      uint64_t seq)
{
	struct proto_ticket_ref *v = realloc(s->splits, (s->splits_len + 1) * sizeof(*v));
	int rc;

	if (!v)
		return GW_ENOMEM;
	s->splits = v;
	memset(&v[s->splits_len], 0, sizeof(*v));
	v[s->splits_len].ticket_id = n->ticket_id;
	v[s->splits_len].at = n->opened_at;
	v[s->splits_len].channel = gw_strdup(n->channel);
	if (!v[s->splits_len++].channel)
		return GW_ENOMEM;
	if (s->message_count)
		s->message_count--;
	s->updated_at = n->opened_at;
	rc = store_ticket_msg_remove(b->txn, s->ticket_id, seq);
	if (rc == GW_OK)
		rc = store_ticket_msg_append(b->txn, n->ticket_id, seq);
	return rc;
}

static int split_emit(struct batch *b, struct tm_ctx *h, struct proto_ticket *s,
		      struct proto_ticket *n)
{
	char cause[PROTO_MAX_SHORT + 1];
	int rc = store_ticket_put(b->txn, n);

	if (rc == GW_OK)
		rc = store_ticket_put(b->txn, s);
	make_cause(cause, sizeof(cause), h->a->command_id, "split off ticket",
		   (unsigned long long)s->ticket_id);
	if (rc == GW_OK)
		rc = route_emit_ticket(b, PROTO_T_TICKET_CREATED, n, cause);
	if (rc == GW_OK)
		rc = route_emit_ticket(b, PROTO_T_TICKET_SPLIT, n, cause);
	if (rc == GW_OK && n->agent_id)
		rc = route_emit_ticket(b, PROTO_T_TICKET_ASSIGNED, n, NULL);
	make_cause(cause, sizeof(cause), h->a->command_id, "split off it: ticket",
		   (unsigned long long)n->ticket_id);
	if (rc == GW_OK)
		rc = route_emit_ticket(b, PROTO_T_TICKET_UPDATED, s, cause);
	h->new_id = n->ticket_id;
	return rc;
}

static int split_txn(struct batch *b, void *arg)
{
	struct tm_ctx *h = arg;
	struct proto_ticket s, n;
	struct proto_event ev;
	int rc;

	memset(&s, 0, sizeof(s));
	memset(&n, 0, sizeof(n));
	memset(&ev, 0, sizeof(ev));
	rc = load(b, h, h->a->ticket_id, &s);
	if (rc == GW_OK)
		rc = split_message(b, h, &s, &ev);
	if (rc == GW_OK)
		rc = new_ticket(b, &s, &ev.u.message, h->a->message_seq, &n);
	if (rc == GW_OK)
		rc = link_split(b, &s, &n, h->a->message_seq);
	if (rc == GW_OK)
		rc = split_emit(b, h, &s, &n);
	proto_event_clear(&ev);
	proto_ticket_clear(&s);
	proto_ticket_clear(&n);
	return rc;
}

/* --- running ------------------------------------------------------------------ */

/* dup_answer - a repeated command ran nothing: the survivor's status now,
 * or the ticket its first run created (the seq's event). */
static void dup_answer(struct router *r, struct tm_ctx *h, uint64_t seq, int split)
{
	struct store_txn *txn = NULL;
	struct proto_ticket t;
	struct proto_event ev;

	memset(&t, 0, sizeof(t));
	memset(&ev, 0, sizeof(ev));
	if (store_txn_begin(router_store(r), 1, &txn) != GW_OK)
		return;
	if (split && store_eventlog_decode(txn, seq, &ev) == GW_OK)
		h->new_id = ev.u.ticket.ticket_id;
	else if (!split && store_ticket_get(txn, h->a->target_id, &t) == GW_OK)
		snprintf(h->status, sizeof(h->status), "%s", t.status ? t.status : "");
	store_txn_abort(txn);
	proto_event_clear(&ev);
	proto_ticket_clear(&t);
}

static int tm_run(struct router *r, const void *args, size_t len, int split,
		  msgpack_sbuffer *out, char *err, size_t errlen)
{
	const struct cmdarg *spec = split ? split_spec : merge_spec;
	struct tm_args a = {0};
	struct tm_ctx h = {.a = &a, .err = err, .errlen = errlen};
	msgpack_packer pk;
	uint64_t seq = 0;
	int dup = 0, rc;

	err[0] = '\0';
	rc = cmdargs_parse(args, len, spec, 3, &a, err, errlen);
	if (rc == GW_OK)
		rc = routing_once(r, a.command_id, split ? split_txn : merge_txn, &h, &seq, &dup);
	if (rc == GW_OK && dup)
		dup_answer(r, &h, seq, split);
	if (rc == GW_OK) {
		msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
		cmdans_head(&pk, split ? 4 : 5, seq, dup);
		cmdans_u64(&pk, "ticket_id", a.ticket_id);
		if (split)
			cmdans_u64(&pk, "new_ticket_id", h.new_id);
		else
			cmdans_u64(&pk, "target_id", a.target_id);
		if (!split)
			cmdans_str(&pk, "status", h.status);
	} else if (!err[0]) {
		snprintf(err, errlen, "%s", gw_strerror(rc));
	}
	cmdargs_free(spec, 3, &a);
	return rc;
}

int ticket_merge(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
		 char *err, size_t errlen)
{
	return tm_run(r, args, len, 0, out, err, errlen);
}

int ticket_split(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
		 char *err, size_t errlen)
{
	return tm_run(r, args, len, 1, out, err, errlen);
}

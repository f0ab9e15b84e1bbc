/*
 * helpdesk.c - the helpdesk's commands on tickets: close, reopen, priority.
 *
 *   ticket.close         {command_id, ticket_id, reason?}   -> ticket.closed
 *   ticket.reopen        {command_id, ticket_id, reason?}   -> ticket.reopened
 *                                                              (+ ticket.assigned)
 *   ticket.set_priority  {command_id, ticket_id, priority}  -> ticket.priority_changed
 *
 * Each runs once per command_id (routing_once): the same id again answers
 * the first result's seq with duplicate: true and changes nothing. The
 * answer is {seq, duplicate, ticket_id, status} (and priority, changed for
 * ticket.set_priority); seq is that of the first event the command emitted,
 * 0 when it changed nothing. A ticket is not reopened while its customer
 * has another one open in its scope (GW_EINVAL): a scope has one open
 * ticket, the one messages join.
 */
#include "router/router.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

#define HD_MAX_COMMAND_ID 200 /* as message.send */
#define HD_MAX_REASON 512

struct hd_args {
	char *command_id;
	char *reason;
	char *priority;
	uint64_t ticket_id;
};

static const struct cmdarg hd_spec_base[] = {
	{"command_id", CMDARG_STR, HD_MAX_COMMAND_ID, 1, offsetof(struct hd_args, command_id)},
	{"ticket_id", CMDARG_UINT, 0, 1, offsetof(struct hd_args, ticket_id)},
	{"reason", CMDARG_STR, HD_MAX_REASON, 0, offsetof(struct hd_args, reason)},
};

static const struct cmdarg hd_spec_priority[] = {
	{"command_id", CMDARG_STR, HD_MAX_COMMAND_ID, 1, offsetof(struct hd_args, command_id)},
	{"ticket_id", CMDARG_UINT, 0, 1, offsetof(struct hd_args, ticket_id)},
	{"priority", CMDARG_STR, PROTO_MAX_KIND, 1, offsetof(struct hd_args, priority)},
};

#define N_SPEC(s) (sizeof(s) / sizeof((s)[0]))

struct hd_ctx;

/* What a command does to its ticket (loaded), with the event's cause. */
typedef int (*hd_step_fn)(struct batch *b, struct hd_ctx *h, struct proto_ticket *t,
			  const char *cause);

/* One command's state inside its transaction. */
struct hd_ctx {
	const struct hd_args *a;
	hd_step_fn step;
	char *err;
	size_t errlen;
	char status[PROTO_MAX_STATUS + 1]; /* the ticket's status after the command */
	char priority[PROTO_MAX_KIND + 1];
	int changed;
};

/* --- shared steps ---------------------------------------------------------- */

/* load_ticket - the ticket the command names, or GW_ENOTFOUND with words. */
static int load_ticket(struct batch *b, struct hd_ctx *h, struct proto_ticket *t)
{
	int rc = store_ticket_get(b->txn, h->a->ticket_id, t);

	if (rc == GW_ENOTFOUND)
		snprintf(h->err, h->errlen, "no ticket %llu", (unsigned long long)h->a->ticket_id);
	return rc;
}

/* make_cause - "command <id>" or "command <id>: <reason>", within the
 * cause's limit, into buf (PROTO_MAX_SHORT + 1 bytes). */
static void make_cause(const struct hd_args *a, char *buf, size_t size)
{
	int n = snprintf(buf, size, "command %s%s%s", a->command_id, a->reason ? ": " : "",
			 a->reason ? a->reason : "");

	/* snprintf cut it at size - 1 bytes: drop a character it split. */
	if (n >= 0 && (size_t)n >= size)
		gw_utf8_trim(buf);
}

static int set_str(char **dst, const char *value)
{
	char *copy = gw_strdup(value);

	if (!copy)
		return GW_ENOMEM;
	free(*dst);
	*dst = copy;
	return GW_OK;
}

/* with_customer - loads the ticket's customer, applies `fn` (a threading
 * update) and stores the customer. A ticket whose customer is gone (it
 * should not be) is handled without one. */
static int with_customer(struct batch *b, const struct proto_ticket *t,
			 int (*fn)(struct batch *b, struct proto_customer *c,
				   const struct proto_ticket *t))
{
	struct proto_customer c;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = store_customer_get(b->txn, t->customer_id, &c);
	if (rc == GW_ENOTFOUND)
		return GW_OK;
	if (rc == GW_OK)
		rc = fn(b, &c, t);
	if (rc == GW_OK)
		rc = store_customer_put(b->txn, &c);
	proto_customer_clear(&c);
	return rc;
}

static void keep_status(struct hd_ctx *h, const struct proto_ticket *t)
{
	snprintf(h->status, sizeof(h->status), "%s", t->status ? t->status : "");
	snprintf(h->priority, sizeof(h->priority), "%s", t->priority ? t->priority : "normal");
}

/* hd_txn - every command's transaction (routing_once): the ticket it names
 * loaded, then its step. */
static int hd_txn(struct batch *b, void *arg)
{
	struct hd_ctx *h = arg;
	char cause[PROTO_MAX_SHORT + 1];
	struct proto_ticket t;
	int rc;

	memset(&t, 0, sizeof(t));
	rc = load_ticket(b, h, &t);
	if (rc == GW_OK) {
		make_cause(h->a, cause, sizeof(cause));
		rc = h->step(b, h, &t, cause);
	}
	proto_ticket_clear(&t);
	return rc;
}

/* --- ticket.close ---------------------------------------------------------- */

static int close_step(struct batch *b, struct hd_ctx *h, struct proto_ticket *t,
		      const char *cause)
{
	int rc;

	if (strcmp(t->status, "closed") == 0) {
		snprintf(h->err, h->errlen, "ticket %llu is already closed",
			 (unsigned long long)t->ticket_id);
		return GW_EINVAL;
	}
	rc = set_str(&t->status, "closed");
	if (rc)
		return rc;
	t->closed_at = t->updated_at = gw_now_ms();
	rc = csat_on_close(b, t);
	if (rc == GW_OK)
		rc = sla_stop(b, t);
	if (rc == GW_OK)
		rc = assign_release(b, t);
	if (rc == GW_OK)
		rc = with_customer(b, t, thread_ticket_closed);
	if (rc == GW_OK)
		rc = store_ticket_put(b->txn, t);
	if (rc == GW_OK)
		rc = route_emit_ticket(b, PROTO_T_TICKET_CLOSED, t, cause);
	keep_status(h, t);
	return rc;
}

/* --- ticket.reopen --------------------------------------------------------- */

/* reopen_assign - a new pick of agent for the reopened ticket. The queue
 * rules read a message: the ticket's opening one stands for it (channel,
 * subject, language). */
static int reopen_assign(struct batch *b, struct proto_ticket *t)
{
	struct proto_customer c;
	struct proto_message m;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(&m, 0, sizeof(m));
	m.channel = t->channel;
	m.subject = t->subject;
	m.language = t->language;
	m.customer_id = t->customer_id;
	m.ticket_id = t->ticket_id;
	rc = store_customer_get(b->txn, t->customer_id, &c);
	if (rc == GW_ENOTFOUND) {
		/* No customer record (it should not happen): assign all the
		 * same, with nothing known of the customer, and store none. */
		proto_customer_clear(&c);
		memset(&c, 0, sizeof(c));
		c.customer_id = t->customer_id;
		rc = assign_ticket(b, t, &m, &c);
		goto out;
	}
	if (rc == GW_OK)
		rc = thread_ticket_reopened(b, &c, t);
	if (rc == GW_OK)
		rc = assign_ticket(b, t, &m, &c);
	if (rc == GW_OK)
		rc = store_customer_put(b->txn, &c);
out:
	proto_customer_clear(&c);
	return rc;
}

/* reopen_check - GW_EINVAL with words when another ticket of the customer
 * is open in the scope of `t`: reopening it would leave two open tickets
 * there, and the open one would no longer get the customer's messages. */
static int reopen_check(struct batch *b, struct hd_ctx *h, const struct proto_ticket *t)
{
	struct proto_customer c;
	struct proto_ticket open;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(&open, 0, sizeof(open));
	rc = store_customer_get(b->txn, t->customer_id, &c);
	if (rc == GW_ENOTFOUND) {
		rc = GW_OK; /* no customer, no open ticket of it */
		goto out;
	}
	if (rc == GW_OK)
		rc = thread_open_ticket(b, &c, t->channel, &open);
	if (rc == GW_OK && open.ticket_id && open.ticket_id != t->ticket_id) {
		snprintf(h->err, h->errlen, "customer %llu has open ticket %llu in this scope",
			 (unsigned long long)t->customer_id, (unsigned long long)open.ticket_id);
		rc = GW_EINVAL;
	}
out:
	proto_ticket_clear(&open);
	proto_customer_clear(&c);
	return rc;
}

static int reopen_step(struct batch *b, struct hd_ctx *h, struct proto_ticket *t,
		       const char *cause)
{
	int64_t assigned_before;
	int rc;

	if (strcmp(t->status, "closed") != 0) {
		snprintf(h->err, h->errlen, "ticket %llu is not closed (it is %s)",
			 (unsigned long long)t->ticket_id, t->status);
		return GW_EINVAL;
	}
	rc = reopen_check(b, h, t);
	if (rc)
		return rc;
	rc = set_str(&t->status, "open");
	if (rc)
		return rc;
	t->closed_at = 0;
	t->reopen_count++;
	t->updated_at = gw_now_ms();
	assigned_before = t->assigned_at;
	/* Queue and agent first: the SLA targets depend on them. */
	rc = reopen_assign(b, t);
	if (rc == GW_OK)
		rc = sla_start(b, t, t->updated_at);
	if (rc == GW_OK)
		rc = store_ticket_put(b->txn, t);
	if (rc == GW_OK)
		rc = route_emit_ticket(b, PROTO_T_TICKET_REOPENED, t, cause);
	if (rc == GW_OK && t->agent_id && t->assigned_at != assigned_before)
		rc = route_emit_ticket(b, PROTO_T_TICKET_ASSIGNED, t, NULL);
	keep_status(h, t);
	return rc;
}

/* --- ticket.set_priority --------------------------------------------------- */

static int priority_valid(const char *p)
{
	static const char *const names[] = {"low", "normal", "high", "urgent"};

	for (size_t i = 0; i < N_SPEC(names); i++)
		if (strcmp(p, names[i]) == 0)
			return 1;
	return 0;
}

static int priority_step(struct batch *b, struct hd_ctx *h, struct proto_ticket *t,
			 const char *cause)
{
	int rc;

	keep_status(h, t);
	/* The same priority again changes nothing: no event, an answer. */
	if (strcmp(h->priority, h->a->priority) == 0)
		return GW_OK;
	rc = set_str(&t->priority, h->a->priority);
	if (rc)
		return rc;
	t->updated_at = gw_now_ms();
	rc = sla_retarget(b, t);
	if (rc == GW_OK)
		rc = store_ticket_put(b->txn, t);
	if (rc == GW_OK)
		rc = route_emit_ticket(b, PROTO_T_TICKET_PRIORITY_CHANGED, t, cause);
	if (rc == GW_OK) {
		h->changed = 1;
		keep_status(h, t);
	}
	return rc;
}

/* --- running a command ------------------------------------------------------ */

/* current_status - for a repeated command, which ran nothing: the ticket's
 * status (and priority) as it is now. */
static void current_status(struct router *r, struct hd_ctx *h)
{
	struct store_txn *txn = NULL;
	struct proto_ticket t;

	memset(&t, 0, sizeof(t));
	if (store_txn_begin(router_store(r), 1, &txn) == GW_OK &&
	    store_ticket_get(txn, h->a->ticket_id, &t) == GW_OK)
		keep_status(h, &t);
	store_txn_abort(txn);
	proto_ticket_clear(&t);
}

static void pack_answer(const struct hd_ctx *h, uint64_t seq, int dup, int with_priority,
			msgpack_sbuffer *out)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	cmdans_head(&pk, 4 + (with_priority ? 2 : 0), seq, dup);
	cmdans_u64(&pk, "ticket_id", h->a->ticket_id);
	cmdans_str(&pk, "status", h->status);
	if (!with_priority)
		return;
	cmdans_str(&pk, "priority", h->priority);
	cmdans_bool(&pk, "changed", h->changed || dup);
}

/*
 * hd_run - parses the arguments by `spec`, runs `step` on the ticket once
 * per command id and packs the answer. Errors as routing_cmd_fn (routing.h).
 */
static int hd_run(struct router *r, const void *args, size_t len, const struct cmdarg *spec,
		  size_t n, hd_step_fn step, msgpack_sbuffer *out, char *err, size_t errlen)
{
	struct hd_args a;
	struct hd_ctx h;
	uint64_t seq = 0;
	int dup = 0, rc;

	memset(&a, 0, sizeof(a));
	memset(&h, 0, sizeof(h));
	h.a = &a;
	h.step = step;
	h.err = err;
	h.errlen = errlen;
	err[0] = '\0';
	rc = cmdargs_parse(args, len, spec, n, &a, err, errlen);
	if (rc == GW_OK && a.priority && !priority_valid(a.priority)) {
		snprintf(err, errlen, "priority: '%s' is not one of low, normal, high, urgent",
			 a.priority);
		rc = GW_EINVAL;
	}
	if (rc == GW_OK)
		rc = routing_once(r, a.command_id, hd_txn, &h, &seq, &dup);
	if (rc == GW_OK && dup)
		current_status(r, &h);
	if (rc == GW_OK && !dup && step == close_step)
		csat_send_survey(r, a.ticket_id); /* once the close is durable */
	if (rc == GW_OK)
		pack_answer(&h, seq, dup, a.priority != NULL, out);
	else if (!err[0])
		snprintf(err, errlen, "%s", gw_strerror(rc));
	cmdargs_free(spec, n, &a);
	return rc;
}

int helpdesk_ticket_close(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
			  char *err, size_t errlen)
{
	return hd_run(r, args, len, hd_spec_base, N_SPEC(hd_spec_base), close_step, out, err,
		      errlen);
}

int helpdesk_ticket_reopen(struct router *r, const void *args, size_t len,
			   msgpack_sbuffer *out, char *err, size_t errlen)
{
	return hd_run(r, args, len, hd_spec_base, N_SPEC(hd_spec_base), reopen_step, out, err,
		      errlen);
}

int helpdesk_ticket_set_priority(struct router *r, const void *args, size_t len,
				 msgpack_sbuffer *out, char *err, size_t errlen)
{
	return hd_run(r, args, len, hd_spec_priority, N_SPEC(hd_spec_priority), priority_step,
		      out, err, errlen);
}

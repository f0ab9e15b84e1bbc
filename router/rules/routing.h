/*
 * routing.h - the router's rules beyond dedup: who the customer is, which
 * ticket a message joins and why, who works the ticket, and its SLA clocks.
 * docs/routing.md explains them to operators; this header is the contract
 * between the files that implement them:
 *
 *   routing.c    the compiled `routing` config (calendars, language models)
 *   identity.c   identities and customers (normalized addresses)
 *   contacts.c   the contacts.import command (a directory of known customers)
 *   merge.c      customer.merge / customer.unmerge commands
 *   threading.c  the threading rules and probable-duplicate detection
 *   assign.c     queues, strategies, agents, presence, working hours
 *   sla.c        SLA clocks and their timed events
 *   helpdesk.c   ticket.close / ticket.reopen / ticket.set_priority commands
 *   agents.c     ticket.assign / agent.presence commands
 *   cmdargs.c    reading command arguments, packing command answers
 *                (msgpack maps)
 *
 * Everything here runs on the router's one thread, inside the batch's write
 * transaction (struct batch, router.h): a function that fails leaves the
 * transaction to be aborted by its caller, so nothing it did is kept.
 * Functions return GW_OK or a gw_err (store and encode errors pass through).
 */
#ifndef GW_ROUTING_H
#define GW_ROUTING_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "core/config.h"
#include "proto/proto.h"

struct batch;
struct router;
struct cal;
struct lang;

/* --- routing.c: the compiled config ------------------------------------ */

/* The routing config made ready to use; read-only after routing_create. */
struct routing {
	const struct gw_config_routing *cfg; /* borrowed from the router's config */
	struct lang *lang;        /* NULL: no language detection */
	struct cal **queue_cal;   /* [cfg->n_queues]; NULL entry: around the clock */
	struct cal **agent_cal;   /* [cfg->n_agents]; NULL entry: any time */
	const struct gw_config_csat *csat; /* the survey (csat.c); NULL: off */
};

/*
 * routing_create - compiles `cfg` (borrowed; must outlive it): calendars of
 * queues and agents, language models, the default region. GW_OK, or
 * GW_EINVAL with `err` naming the key ("routing.agents[0].timezone:
 * 'Europe/Pariss' is not a known time zone"), GW_ENOMEM. *out owned by the
 * caller, freed with routing_destroy (accepts NULL).
 */
int routing_create(const struct gw_config_routing *cfg, struct routing **out, char *err,
		   size_t errlen);
void routing_destroy(struct routing *rt);

/* routing_queue - the queue config named `name`, or NULL. */
const struct gw_routing_queue *routing_queue(const struct routing *rt, const char *name,
					     size_t *index);
/* routing_agent - the agent config with id `id`, or NULL. */
const struct gw_routing_agent *routing_agent(const struct routing *rt, const char *id,
					     size_t *index);
/* routing_scope - "customer" or "channel" for messages of `channel`;
 * routing_reopen_window_ms - that channel's reopen window. */
const char *routing_scope(const struct routing *rt, const char *channel);
int64_t routing_reopen_window_ms(const struct routing *rt, const char *channel);

/* routing_detect_language - sets m->language (malloc'ed) from m->text (and
 * subject) when detection is on and finds one. GW_OK or GW_ENOMEM. */
int routing_detect_language(const struct routing *rt, struct proto_message *m);

/* --- identity.c --------------------------------------------------------- */

/*
 * identity_resolve - the customer of sender `who` (borrowed) of a message on
 * `channel` into `c` (caller clears it with proto_customer_clear). Looks up
 * the channel identity, then the cross-channel ones it implies (a WhatsApp
 * id is also a phone number; an email channel sender an email address), all
 * normalized and verified, plus who->email (claimed, or verified when
 * who->email_verified). Only a verified identity registered as verified
 * leads to a customer; an unknown sender becomes a new customer
 * (*created = 1, customer.created emitted, record stored by the caller).
 * New identities met on the way are added to the customer (customer.updated
 * emitted when an existing customer gained one). A claim of another
 * customer's address makes `c` a probable match of it; a verified identity
 * takes an address another customer only claimed, and that claimer is
 * flagged a probable match of `c` (customer.updated of it, after c's
 * event). A customer found by its channel identity alone, holding nothing
 * else, whose message proves a verified identity another customer holds
 * verified, is merged into that one (customer.merged), which `c` then is;
 * one with more to it becomes a probable match. who->attributes are set on
 * c->attributes (customer.updated when they changed). Rules:
 * router/rules/identity.h. GW_OK, GW_ENOMEM, store errors.
 */
int identity_resolve(struct batch *b, const char *channel, const struct proto_party *who,
		     struct proto_customer *c, int *created);

/* --- threading.c -------------------------------------------------------- */

/* What thread_place decided. */
struct placement {
	int opened;   /* t is a new ticket, not stored or announced yet */
	int reopened; /* t was closed and is open again, not announced yet */
};

/*
 * thread_place - chooses the ticket of the inbound message `msg` from
 * customer `c` by the threading rules, in order: reply reference, ticket
 * token, probable duplicate, open ticket in scope, reopen window, new
 * ticket. Loads (or fills, for a new one: ids, status, channel, subject,
 * scope, previous_ticket_id, times) `t`; sets m->thread_rule,
 * m->thread_reason and m->duplicate_of; updates the customer's open and
 * last ticket lists in `c` (stored by the caller). Emits nothing.
 */
int thread_place(struct batch *b, struct proto_event *msg, struct proto_customer *c,
		 struct proto_ticket *t, struct placement *p);

/*
 * thread_automated - the ticket an auto-reply or a bounce (msg's
 * auto_reply or bounce set) from customer `c` concerns, into `t` (loaded,
 * open or closed as it is; t->ticket_id 0 for none); sets m->thread_rule
 * "automated" and m->thread_reason. Such a message never opens or reopens a
 * ticket (answering it could start a mail loop); it joins the ticket of
 * the closest id of reply_to that names a message of a ticket of `c` or a
 * reply the gateway sent (a bounce of that reply: the ticket is the
 * customer's, the bounce's sender is the mail system); an id
 * "reply-<n>-<hex>@<domain>" is also looked up as "reply-<n>-<hex>", the
 * reply's external_id. Otherwise it joins none: the sender's thread only.
 * An id naming another customer's message is ignored with a warning on
 * the message. Changes neither `c` nor the ticket; emits nothing.
 * GW_OK, GW_ENOMEM or a store error.
 */
int thread_automated(struct batch *b, struct proto_event *msg, struct proto_customer *c,
		     struct proto_ticket *t);

/*
 * thread_filed - after `msg` was emitted (msg->seq set) into ticket `t`:
 * remembers its text in c->recent for duplicate detection and its ids for
 * reply references. The caller stores `c`.
 */
int thread_filed(struct batch *b, const struct proto_event *msg, struct proto_customer *c,
		 const struct proto_ticket *t);

/*
 * thread_ticket_closed - ticket `t` of customer `c` closed: it leaves the
 * customer's open tickets and becomes the last ticket of its scope (what a
 * later message may reopen). thread_ticket_reopened - the reverse. Both
 * update `c` only; the caller stores it.
 */
int thread_ticket_closed(struct batch *b, struct proto_customer *c, const struct proto_ticket *t);
int thread_ticket_reopened(struct batch *b, struct proto_customer *c,
			   const struct proto_ticket *t);

/*
 * thread_open_ticket - the open ticket of customer `c` (borrowed) in the
 * scope of `channel` (routing_scope: the customer's one ticket, or that
 * channel's) into `t`, which it clears first (the caller clears it after
 * with proto_ticket_clear); t->ticket_id 0 when none is open. What an
 * outbound message joins. GW_OK or a store error.
 */
int thread_open_ticket(struct batch *b, const struct proto_customer *c, const char *channel,
		       struct proto_ticket *t);

/* --- assign.c ----------------------------------------------------------- */

/*
 * assign_ticket - for a ticket just opened or reopened by message `m`
 * (both borrowed but `t`, which is updated, not stored): picks its queue
 * (when it has none) and priority by the queue rules, and an available
 * agent by the queue's strategy, or leaves it waiting in the queue. Sets
 * t->queue, t->priority, t->agent_id, t->assigned_at, t->assign_reason and
 * c->last_agent; keeps the agent tables in step. Emits nothing: the caller
 * announces the ticket, then ticket.assigned when t->agent_id is set.
 */
int assign_ticket(struct batch *b, struct proto_ticket *t, const struct proto_message *m,
		  struct proto_customer *c);

/* assign_release - a ticket leaves its agent and queue (closed, merged
 * away): the agent's load and the waiting list are updated; t->agent_id
 * stays as the last one who worked it. */
int assign_release(struct batch *b, const struct proto_ticket *t);

/*
 * assign_tick - what time changes: agents whose working hours began or
 * ended (presence they get from the clock: ended = tickets re-assigned),
 * waiting tickets given to agents that became available. Emits
 * ticket.assigned and agent.presence as needed.
 */
int assign_tick(struct batch *b, int64_t now_ms);

/* assign_next_ms - the next instant assign_tick has something to do (an
 * agent's working hours begin or end), INT64_MAX when never. */
int64_t assign_next_ms(const struct routing *rt, int64_t now_ms);

/* --- tagging.c: tags and priority by rules ------------------------------ */

/* tag_rule_matches - whether rule `r` holds for message `m` (borrowed) of
 * customer `c` (NULL: none), with `language` (NULL: unknown) and
 * `business` (1: now is inside the queue's business hours). Pure. */
int tag_rule_matches(const struct gw_routing_tag_rule *r, const struct proto_message *m,
		     const struct proto_customer *c, const char *language, int business);

/* tagging_priority_rank - low 0, normal (or NULL) 1, high 2, urgent 3. */
int tagging_priority_rank(const char *priority);

/* ticket_tag_add / ticket_tag_remove - `tag` (borrowed, valid) joins or
 * leaves t->tags; *changed set to 1 when it did. Add: GW_OK (already there
 * too), GW_EFULL (PROTO_MAX_TAGS already), GW_ENOMEM. Remove: GW_OK. */
int ticket_tag_add(struct proto_ticket *t, const char *tag, int *changed);
int ticket_tag_remove(struct proto_ticket *t, const char *tag, int *changed);

#define TAGGING_TAGS 1
#define TAGGING_PRIORITY 2

/*
 * tagging_apply - the routing.tag_rules[] for message `m` on ticket `t`
 * (updated, not stored) of customer `c`: `opening` when the message opens
 * or reopens it (rules `on: open` run then only; `on: message` always).
 * Matching rules add tags and raise the priority; the names of those that
 * changed something are appended to `why` ("; tag rules: a, b", bounded by
 * whylen). *changed: TAGGING_TAGS | TAGGING_PRIORITY as they did; a new
 * priority's SLA targets are the caller's (sla_start or sla_retarget).
 * GW_OK or GW_ENOMEM.
 */
int tagging_apply(struct batch *b, struct proto_ticket *t, const struct proto_message *m,
		  const struct proto_customer *c, int opening, char *why, size_t whylen,
		  int *changed);

/* --- escalation.c: escalation rules -------------------------------------- */

/* escalation_matches - whether rule `e` applies to `t` for `trigger`
 * ("sla_warning", "sla_breached", "unassigned") and `clock` (NULL: not an
 * SLA trigger): trigger, clock and the queue/channel/priority filters. Pure. */
int escalation_matches(const struct gw_routing_escalation *e, const struct proto_ticket *t,
		       const char *trigger, const char *clock);

/*
 * escalation_on_sla - the alert of `clock` (breached or warning, due at
 * `due_at`) was just emitted about `t`: every matching rule not fired yet
 * for this instant runs its actions on `t` (updated; stored by the caller)
 * and emits their events. GW_OK, GW_ENOMEM, store errors.
 */
int escalation_on_sla(struct batch *b, struct proto_ticket *t, const char *clock, int breached,
		      int64_t due_at);

/* escalation_schedule - a ticket (re)opened without an agent: the instants
 * of the `unassigned` rules (sla_due entries STORE_SLA_UNASSIGNED). */
int escalation_schedule(struct batch *b, const struct proto_ticket *t);

/* escalation_on_unassigned - such an instant came (`now`): the `unassigned`
 * rules whose wait is over fire on `t` if it is still open without an
 * agent. As escalation_on_sla. */
int escalation_on_unassigned(struct batch *b, struct proto_ticket *t, int64_t now);

/* --- sla.c -------------------------------------------------------------- */

/*
 * sla_start - sets the SLA targets of a ticket just opened (or reopened:
 * resolution restarts) from the first matching routing.sla row (queue,
 * channel, priority) in the queue's business hours: t->first_response_due,
 * t->resolution_due, t->sla_* states, and the sla_due entries that make
 * the warnings and breaches fire on time.
 */
int sla_start(struct batch *b, struct proto_ticket *t, int64_t now_ms);

/* sla_first_reply - the first reply to the ticket went out at `at_ms`:
 * the first-response clock stops (met or breached stays breached). */
int sla_first_reply(struct batch *b, struct proto_ticket *t, int64_t at_ms);

/* sla_inbound - a customer's message joined open ticket `t` at `at_ms`:
 * after the first reply, it starts the next-response clock unless one is
 * counting already (from an earlier unanswered message). */
int sla_inbound(struct batch *b, struct proto_ticket *t, int64_t at_ms);

/* sla_reply - a reply to open ticket `t` went out at `at_ms`: the first
 * reply stops the first-response clock (sla_first_reply), a later one a
 * running next-response clock. *changed: whether `t` changed (to be stored
 * and announced by the caller). */
int sla_reply(struct batch *b, struct proto_ticket *t, int64_t at_ms, int *changed);

/* sla_stop - the ticket closed: every clock stops. */
int sla_stop(struct batch *b, struct proto_ticket *t);

/* sla_retarget - the ticket's priority or queue changed: its dues are
 * computed again from its opening time. */
int sla_retarget(struct batch *b, struct proto_ticket *t);

/* sla_fire - emits ticket.sla_warning / ticket.sla_breached for every
 * sla_due entry at or before `now_ms` (up to a bounded number per call),
 * updating the tickets' states. */
int sla_fire(struct batch *b, int64_t now_ms);

/* --- helpdesk.c, contacts.c, merge.c: commands -------------------------- */

/*
 * A helpdesk command: runs in a transaction of its own (router_txn), once
 * per command_id. Each handler reads its msgpack `args` (borrowed), packs
 * its answer map into `out` and returns GW_OK, or an error with `err`
 * saying why in words (GW_EMISSING, GW_ETYPE, GW_EPROTO: arguments;
 * GW_ENOTFOUND: no such ticket, customer or agent; GW_EINVAL: not possible
 * now, e.g. closing a closed ticket).
 */
typedef int (*routing_cmd_fn)(struct router *r, const void *args, size_t len,
			      msgpack_sbuffer *out, char *err, size_t errlen);

int helpdesk_ticket_close(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
			  char *err, size_t errlen);
int helpdesk_ticket_reopen(struct router *r, const void *args, size_t len,
			   msgpack_sbuffer *out, char *err, size_t errlen);
int helpdesk_ticket_assign(struct router *r, const void *args, size_t len,
			   msgpack_sbuffer *out, char *err, size_t errlen);
int helpdesk_ticket_set_priority(struct router *r, const void *args, size_t len,
				 msgpack_sbuffer *out, char *err, size_t errlen);
int helpdesk_agent_presence(struct router *r, const void *args, size_t len,
			    msgpack_sbuffer *out, char *err, size_t errlen);
int contacts_import(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
		    char *err, size_t errlen);
int merge_customers(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
		    char *err, size_t errlen);
int merge_undo(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
	       char *err, size_t errlen);
/*
 * presence_ticket_viewing / presence_ticket_typing - commands/presence.c:
 * {ticket_id, agent_id} published as ticket.viewing / ticket.typing (not
 * stored as messages), at most once per (ticket, agent, activity) every
 * routing.presence_interval_ms; answered {seq, duplicate, published,
 * assignee}, seq 0 and published false when rate-limited. GW_ENOTFOUND:
 * no such ticket; argument errors as above.
 */
int presence_ticket_viewing(struct router *r, const void *args, size_t len,
			    msgpack_sbuffer *out, char *err, size_t errlen);
int presence_ticket_typing(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
			   char *err, size_t errlen);
/*
 * tags_ticket_tag - commands/tags.c: {command_id, ticket_id, changes}
 * ("+a -b c": add a and c, remove b), once per command_id; a change emits
 * ticket.updated (cause "command <id>: tags +a -b", in the trace);
 * answered {seq, duplicate, ticket_id, tags}. GW_EINVAL: a word is not a
 * tag, or the ticket has PROTO_MAX_TAGS; GW_ENOTFOUND: no such ticket.
 */
int tags_ticket_tag(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
		    char *err, size_t errlen);
/* --- csat.c: the satisfaction survey ------------------------------------- */

/* csat_on_close - in the transaction of a ticket.close: when the survey
 * applies to `t` (csat.enabled, its channel and queue listed or the lists
 * empty), sets t->survey_sent_at to now. GW_OK. */
int csat_on_close(struct batch *b, struct proto_ticket *t);

/* csat_send_survey - after the close of `ticket_id` committed: the survey
 * goes out as a reply (message.send, command id csat-<ticket>-<survey
 * time>, so it runs once) when the ticket is marked for it. Failures are
 * logged. Loop thread. */
void csat_send_survey(struct router *r, uint64_t ticket_id);

/*
 * csat_rating - the rule before threading: inbound message `msg` of
 * customer `c` is a rating (a digit 1-5 first, then maybe a comment) of
 * the customer's last ticket, closed with a survey sent within
 * csat.window_s: *rated 1 and `t` (cleared first) is that ticket with
 * csat_score and csat_comment set, the message's thread_rule "csat".
 * Otherwise *rated 0 and nothing changes. GW_OK, GW_ENOMEM, store errors.
 */
int csat_rating(struct batch *b, struct proto_event *msg, const struct proto_customer *c,
		struct proto_ticket *t, int *rated);

/* ticket_merge / ticket_split - router/commands/ticket_merge.c. */
int ticket_merge(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
		 char *err, size_t errlen);
int ticket_split(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
		 char *err, size_t errlen);
/* ticket_follow_merge - `t` (loaded) replaced by the ticket it was merged
 * into, following up to 16 merges; unchanged when not merged or when the
 * survivor is gone. GW_OK or a store error. */
int ticket_follow_merge(struct batch *b, struct proto_ticket *t);
/* ticket_list - read only (no transaction of its own to write, no
 * command_id): {status?, queue?, agent_id?, tag?, from?, limit?} answered
 * {tickets: [record...], next}; commands/listing.c. */
int ticket_list(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
		char *err, size_t errlen);

/*
 * routing_once - runs `fn` in a transaction of its own unless `command_id`
 * (borrowed) was run before. First time: fn emits its events; the seq of
 * the first one is kept under the command id; *seq is set to it and *dup
 * to 0. Again: nothing runs, *seq is the first run's, *dup = 1. fn
 * returning an error, or emitting nothing, keeps nothing (the id can be
 * used again). Returns fn's result or a store error.
 */
int routing_once(struct router *r, const char *command_id,
		 int (*fn)(struct batch *b, void *arg), void *arg, uint64_t *seq, int *dup);

/* --- cmdargs.c: command arguments ---------------------------------------- */

enum cmdarg_kind {
	CMDARG_STR,  /* char *, malloc'ed, UTF-8 without NUL, up to `max` bytes */
	CMDARG_UINT, /* uint64_t, a non-negative integer */
	CMDARG_OBJ,  /* void *, a malloc'ed struct of schema object `obj`
		      * (proto_desc.h) decoded from a map with its checks */
	CMDARG_OBJS, /* struct cmdarg_objs: an array of up to `max` maps, each
		      * a struct of `obj` */
	CMDARG_BOOL, /* int, 1 for msgpack true, 0 for false; required: true */
	CMDARG_STRMAP, /* struct cmdarg_strmap: a map of up to `max` string
			* keys (128 bytes at most) to strings (4096 bytes) */
};

/* The value of a CMDARG_STRMAP argument: `n` pairs, kv[2i] the key and
 * kv[2i + 1] its value, malloc'ed. */
struct cmdarg_strmap {
	char **kv;
	size_t n;
};

/* The value of a CMDARG_OBJS argument: `n` structs of the object in `v`. */
struct cmdarg_objs {
	void *v;
	size_t n;
};

struct proto_object;

struct cmdarg {
	const char *key;
	enum cmdarg_kind kind;
	size_t max;      /* CMDARG_STR: longest accepted; CMDARG_OBJS: entries */
	int required;    /* missing (or "" / 0) is GW_EMISSING */
	size_t offset;   /* of the member in the caller's struct */
	const struct proto_object *obj; /* CMDARG_OBJ, CMDARG_OBJS */
};

/*
 * cmdargs_parse - reads the msgpack map `data` (`len` bytes, borrowed, from
 * the network) into `base` by the `n` specs; unknown keys are ignored.
 * GW_OK, or GW_EPROTO (not one map, or a key of the specs given twice),
 * GW_ETYPE, GW_ETOOBIG, GW_EMISSING with `err` naming the key. Strings
 * already set in `base` are replaced; free them with cmdargs_free whatever
 * the result.
 */
int cmdargs_parse(const void *data, size_t len, const struct cmdarg *spec, size_t n, void *base,
		  char *err, size_t errlen);
void cmdargs_free(const struct cmdarg *spec, size_t n, void *base);

/* --- cmdargs.c: command answers ------------------------------------------- */

/*
 * The answer map of a command, packed into `pk` (borrowed): cmdans_head
 * starts a map of `n` entries in all, seq and duplicate (the entries every
 * once-per-command_id answer has) among them; the caller packs the n - 2
 * others with the functions below. Keys and values are borrowed. No error
 * is returned: like the msgpack_pack_* calls they stand for, a buffer out
 * of memory leaves the answer short.
 */
void cmdans_head(msgpack_packer *pk, uint32_t n, uint64_t seq, int dup);
void cmdans_key(msgpack_packer *pk, const char *key);
void cmdans_str(msgpack_packer *pk, const char *key, const char *val); /* nil when NULL */
void cmdans_u64(msgpack_packer *pk, const char *key, uint64_t val);
void cmdans_bool(msgpack_packer *pk, const char *key, int val);

/* --- shared by the rules (route.c) -------------------------------------- */

/*
 * route_emit_ticket - emits a ticket event of `type` about `t` (borrowed)
 * with `cause` (may be NULL: t->cause kept) and, for every type but
 * ticket.updated, indexes it in the ticket's trace (ticket.get lists it).
 */
int route_emit_ticket(struct batch *b, enum proto_type type, struct proto_ticket *t,
		      const char *cause);

/* route_emit_customer - customer.created or customer.updated about `c`. */
int route_emit_customer(struct batch *b, enum proto_type type, const struct proto_customer *c);

/* route_next_id - the next id of a counter ("next_ticket_id", ...). */
int route_next_id(struct batch *b, const char *counter, uint64_t *id);

#define ROUTE_NEXT_CUSTOMER "next_customer_id"
#define ROUTE_NEXT_THREAD "next_thread_id"
#define ROUTE_NEXT_TICKET "next_ticket_id"
#define ROUTE_NEXT_MERGE "next_merge_id"

#endif

/*
 * assign.h - what assign.c offers beyond routing.h: the steps the helpdesk
 * commands of agents.c are made of, and the clock-explicit forms the unit
 * tests drive. Like routing.h, everything runs inside the batch's write
 * transaction and returns GW_OK or a gw_err (store and encode errors pass
 * through; the caller aborts the transaction).
 *
 * The rules (docs/routing.md tells operators):
 *   agent      the config's routing.agents[] entry gives id, capacity,
 *              languages and working hours; the stored record (table
 *              `agents`, made from the config on first use) holds the
 *              presence agent.presence commands set and open_tickets, the
 *              number of entries of the agent in `agent_tix`.
 *   available  presence online, inside working hours (none: any time) and
 *              open_tickets < capacity (capacity 0: no limit).
 *   queue      the ticket's own (a reopened ticket keeps it), else the first
 *              routing.queues[] entry whose every non-empty list matches
 *              (keywords: ASCII case folding only), else default_queue.
 *   strategy   among the queue's available agents, those who speak the
 *              ticket's language (or list no language) when there are any:
 *              round_robin (cursor in meta "rr:<queue>"), least_open (ties
 *              by the queue's agent order), sticky (the customer's last
 *              agent when available and serving the queue, else least_open).
 *   waiting    no agent available: the ticket waits in `queue_wait` with no
 *              agent; assign_tick and an agent coming online hand it out.
 *   hours      the last seen state of each agent's working hours is kept in
 *              meta "hours:<agent>" (1 closed, 2 open; 0 not seen yet), so
 *              that a change is acted upon once, across restarts.
 */
#ifndef GW_ASSIGN_H
#define GW_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

#include "router/router.h"

/* The longest assign_reason or cause these rules write. */
#define ASSIGN_REASON_MAX 256

/*
 * assign_ticket_at - assign_ticket with the clock given: `now_ms` decides
 * working hours and is the assigned_at. Same contract as assign_ticket;
 * `m` may be NULL (a reopen by command: no message to match, so a ticket
 * without a queue goes to the default_queue) and so may `c`.
 */
int assign_ticket_at(struct batch *b, struct proto_ticket *t, const struct proto_message *m,
		     struct proto_customer *c, int64_t now_ms);

/*
 * assign_queue_of - the queue a ticket opened by `m` from customer `c`
 * (may be NULL: no attributes) goes to: a routing.queues[] name or the
 * default_queue (both borrowed from the config). Never fails.
 */
const char *assign_queue_of(const struct routing *rt, const struct proto_message *m,
			    const struct proto_customer *c);

/*
 * assign_agent_load - the state of agent `index` (of routing.agents[]) into
 * `a` (caller clears with proto_agent_clear): the stored record, or a new
 * one from the config; name and capacity always from the config. GW_OK,
 * GW_ENOMEM, store errors.
 */
int assign_agent_load(struct batch *b, size_t index, struct proto_agent *a);

/* assign_agent_available - whether agent `index` with state `a` may take a
 * ticket at `now_ms` (see "available" above). */
int assign_agent_available(const struct routing *rt, size_t index, const struct proto_agent *a,
			   int64_t now_ms);

/* assign_emit_agent - emits agent.presence about `a` (borrowed). */
int assign_emit_agent(struct batch *b, const struct proto_agent *a);

/*
 * assign_give - gives `t` to agent `index` whatever its availability (a
 * helpdesk may force it): leaves its previous agent and its queue's
 * waiting list first, then sets t->agent_id, t->assigned_at = now_ms,
 * t->assign_reason = `reason` (borrowed) and c->last_agent (`c` may be
 * NULL), and counts it on the agent. Emits nothing; stores neither t nor c.
 */
int assign_give(struct batch *b, struct proto_ticket *t, size_t index, const char *reason,
		struct proto_customer *c, int64_t now_ms);

/*
 * assign_route - leaves the ticket's current agent, then picks one of
 * t->queue by its strategy (assigned: as assign_give, with the strategy's
 * reason, or `reason` when not NULL) or makes it wait in its queue
 * (t->agent_id NULL, assign_reason "waiting: ..."). *assigned says which.
 * Emits nothing; stores neither t nor c (`c` may be NULL).
 */
int assign_route(struct batch *b, struct proto_ticket *t, struct proto_customer *c,
		 const char *reason, int64_t now_ms, int *assigned);

/*
 * assign_route_other - assign_route, except that the ticket's current agent
 * (t->agent_id when called) is never picked, available or not: an
 * escalation's `assign_to: next` hands the ticket on, not back. With no
 * other agent available the ticket waits in its queue. Same contract.
 */
int assign_route_other(struct batch *b, struct proto_ticket *t, struct proto_customer *c,
		       const char *reason, int64_t now_ms, int *assigned);

/*
 * assign_agent_left - agent `index` stopped being available (`why`, e.g.
 * "alice went away", borrowed): each of its open tickets goes to another
 * available agent of the ticket's queue (ticket.assigned, assign_reason
 * "reassigned: <why>", cause `why`) or back to waiting (ticket.updated,
 * agent cleared, cause "<why>: waiting in queue <q>"); tickets and
 * customers stored. *moved (may be NULL) counts the tickets that left.
 */
int assign_agent_left(struct batch *b, size_t index, const char *why, int64_t now_ms,
		      size_t *moved);

/*
 * assign_offer - waiting tickets, oldest first and a bounded number per
 * queue, go to available agents by their queue's strategy: every queue, or
 * only the queues agent `index` serves (index < n_agents). Each one given
 * is stored and announced by ticket.assigned with `cause` (borrowed).
 * *given (may be NULL) counts them.
 */
int assign_offer(struct batch *b, size_t index, const char *cause, int64_t now_ms,
		 size_t *given);

/*
 * assign_hours_seed - records the current working-hours state of every
 * agent not seen yet, so that the next change of its hours is noticed by
 * assign_tick (a meta value is only kept with a transaction that emits).
 */
int assign_hours_seed(struct batch *b, int64_t now_ms);

/* assign_ticket_counted - whether `t` counts among the open tickets of its
 * agent (*counted 0 also when it has none). */
int assign_ticket_counted(struct batch *b, const struct proto_ticket *t, int *counted);

/*
 * assign_availability - {"<queue>": {"state": "available" | "away" |
 * "closed", "agents": n, "agents_here": n}} for every routing.queues[]
 * entry and the default_queue (availability.c says what each state means),
 * read in `txn` at `now_ms`. Owned by the caller; NULL when out of memory.
 */
json_t *assign_availability(const struct routing *rt, struct store_txn *txn, int64_t now_ms);

#endif

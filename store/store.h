/*
 * store.h - the gateway's durable state in LMDB.
 *
 * One environment per owner: the router's store (<state_dir>/store/) holds
 * every table below; each connector instance has its own spool environment
 * (<state_dir>/spool/<instance>/, store/spool.h). One process writes an
 * environment; others may read it.
 *
 * Tables (one file each in store/):
 *   dedup.c      dedup      channel\0account\0external_id -> seq of its message.received,
 *                                                            ticket it was filed in
 *   customers.c  identities kind\0address                 -> customer_id, flags
 *                customers  customer_id                   -> proto_customer (msgpack)
 *   tickets.c    tickets    ticket_id                     -> proto_ticket (msgpack)
 *                cust_tix   customer_id, ticket_id        -> (empty) tickets of a customer
 *   threads.c    threads    thread_id, seq                -> (empty) messages of a thread
 *                ticket_msgs ticket_id, seq               -> (empty) messages of a ticket
 *                ticket_trace ticket_id, seq              -> (empty) the ticket's own events
 *   merges.c     merges     merge_id                      -> proto_merge (msgpack)
 *                cust_merges customer_id, merge_id        -> (empty) merges of a customer
 *   agents.c     agents     agent_id                      -> proto_agent (msgpack)
 *                agent_tix  agent_id\0ticket_id           -> (empty) open tickets of an agent
 *                queue_wait queue\0ticket_id              -> (empty) tickets waiting for an agent
 *   sla.c        sla_due    due_ms, ticket_id, clock      -> (empty) SLA instants to come
 *   eventlog.c   events     seq                           -> type length, type, event (msgpack)
 *   deliveries.c deliveries delivery_id                   -> store_delivery (binary, versioned)
 *                deliveries_pending delivery_id           -> (empty) not yet reported
 *   store.c      meta       name                          -> uint64 (id counters)
 *   autoreply.c  autoreply  'd', due_ms, ticket_id, kind  -> (empty) automatic messages to come
 *                           'w', customer_id, kind        -> last sent (ms): the window
 * Environments of their own: spool.c (a connector's queue of accepted
 * events, spool.h) and sentlog.c (a sending connector's journal of the
 * replies its provider took, sentlog.h).
 * Integer keys are 8 bytes big-endian so that LMDB's byte order is numeric.
 *
 * The other durable state, each file with its header here in store/:
 *   spool.c        <state_dir>/spool/<instance>/        LMDB: a connector's accepted events
 *   chatlog.c      <state_dir>/livechat/<instance>/     LMDB: live chat's conversations
 *   email_state.c  <state_dir>/email/<instance>.state   JSON: how far a mailbox was read
 *   telegram_state.c <state_dir>/telegram/<instance>.state JSON: a bot's getUpdates offset
 *   quarantine.c   <state_dir>/quarantine/<instance>/   files: mail that made no event
 *   spool_reingest.c <state_dir>/spool/<instance>/reingest/ files: reingest asks, answers
 *   meta_accounts.c <state_dir>/sent/<instance>/accounts text: Meta accounts to announce
 *   sms_contacts.c <state_dir>/sms/<instance>/          LMDB: an SMS instance's customers'
 *                                                       numbers: ours they wrote to, STOP
 *   attachments.c  <state_dir>/attachments/             files: bytes by SHA-256
 *
 * Durability: store_txn_commit() returns only once the transaction is on
 * disk (LMDB's default sync mode). Callers group many messages into one
 * transaction ("group commit") to pay for one sync per batch.
 *
 * Errors: every function returns GW_OK or a gw_err: GW_ENOTFOUND (no such
 * key), GW_EFULL (the map is full: raise map_size), GW_ETOOBIG (a key over
 * LMDB's limit), GW_ESTORE (any other LMDB failure, logged with its text),
 * GW_ENOMEM, GW_EPROTO (a stored record does not decode: logged).
 *
 * Threading: a write transaction belongs to the thread that began it; one
 * write transaction at a time per environment.
 */
#ifndef GW_STORE_H
#define GW_STORE_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

struct store;
struct store_txn;

/* store_open - opens (creating) the router's store in `dir` with a map of
 * `map_size` bytes. *out owns it. */
GW_MUST_CHECK int store_open(const char *dir, size_t map_size, struct store **out);

/* store_close - closes the environment; accepts NULL. No txn may be open. */
void store_close(struct store *st);

/* store_txn_begin - starts a read-only (`readonly` != 0) or write txn. */
GW_MUST_CHECK int store_txn_begin(struct store *st, int readonly, struct store_txn **out);

/* store_txn_commit - commits and frees `txn`, durable on GW_OK. On error the
 * transaction is aborted and freed all the same. */
GW_MUST_CHECK int store_txn_commit(struct store_txn *txn);

/* store_txn_abort - discards and frees `txn`; accepts NULL. */
void store_txn_abort(struct store_txn *txn);

/* store_meta_get - a named counter; 0 when never set. */
GW_MUST_CHECK int store_meta_get(struct store_txn *txn, const char *name, uint64_t *value);
GW_MUST_CHECK int store_meta_put(struct store_txn *txn, const char *name, uint64_t value);

/* --- dedup.c --------------------------------------------------------- */

/* store_dedup_get - seq of the message already stored under this key, or
 * GW_ENOTFOUND. Strings are borrowed. */
GW_MUST_CHECK int store_dedup_get(struct store_txn *txn, const char *channel, const char *account,
		    const char *external_id, uint64_t *seq);
GW_MUST_CHECK int store_dedup_put(struct store_txn *txn, const char *channel, const char *account,
		    const char *external_id, uint64_t seq);
/* store_dedup_get_ref / put_ref - the same with the ticket the message was
 * filed in (0: none, or a record from before tickets were kept). */
GW_MUST_CHECK int store_dedup_get_ref(struct store_txn *txn, const char *channel, const char *account,
			const char *external_id, uint64_t *seq, uint64_t *ticket_id);
GW_MUST_CHECK int store_dedup_put_ref(struct store_txn *txn, const char *channel, const char *account,
			const char *external_id, uint64_t seq, uint64_t ticket_id);
/* store_dedup_set_ref - as put_ref, replacing an existing record: for a key
 * that names the latest message of something (a chat conversation,
 * router/rules/threading.c) rather than one message. */
GW_MUST_CHECK int store_dedup_set_ref(struct store_txn *txn, const char *channel, const char *account,
			const char *external_id, uint64_t seq, uint64_t ticket_id);

/* --- customers.c ----------------------------------------------------- */

/* store_identity_get - the customer of (channel, address) (borrowed
 * strings), or GW_ENOTFOUND; store_identity_put sets it, replacing any. */
GW_MUST_CHECK int store_identity_get(struct store_txn *txn, const char *channel, const char *address,
		       uint64_t *customer_id);
GW_MUST_CHECK int store_identity_put(struct store_txn *txn, const char *channel, const char *address,
		       uint64_t customer_id);
/* Identity flags. An identity the channel itself delivered (a sender's
 * address) is verified; one a customer typed (a pre-chat email) is not. */
#define STORE_IDENT_VERIFIED 1u
/* store_identity_lookup / set - the same with the flags; store_identity_del
 * removes the identity (absent: GW_OK). store_identity_get reads any flags,
 * store_identity_put writes STORE_IDENT_VERIFIED. */
GW_MUST_CHECK int store_identity_lookup(struct store_txn *txn, const char *kind, const char *address,
			  uint64_t *customer_id, unsigned *flags);
GW_MUST_CHECK int store_identity_set(struct store_txn *txn, const char *kind, const char *address,
		       uint64_t customer_id, unsigned flags);
GW_MUST_CHECK int store_identity_del(struct store_txn *txn, const char *kind, const char *address);
/* store_customer_get - decodes into `c` (caller clears with
 * proto_customer_clear). */
GW_MUST_CHECK int store_customer_get(struct store_txn *txn, uint64_t id, struct proto_customer *c);
GW_MUST_CHECK int store_customer_put(struct store_txn *txn, const struct proto_customer *c);
/* store_customer_raw - the stored record as msgpack, a view valid until the
 * txn ends (what queries send on without decoding). */
GW_MUST_CHECK int store_customer_raw(struct store_txn *txn, uint64_t id, const void **data, size_t *len);

/* --- tickets.c ------------------------------------------------------- */

GW_MUST_CHECK int store_ticket_get(struct store_txn *txn, uint64_t id, struct proto_ticket *t);
/* store_ticket_raw - the stored record as msgpack, as store_customer_raw. */
GW_MUST_CHECK int store_ticket_raw(struct store_txn *txn, uint64_t id, const void **data, size_t *len);
/*
 * store_ticket_scan - calls fn(arg, id, record, len) for each ticket from id
 * `from` up, looking at `max` tickets at most; fn returns nonzero to stop
 * (the record is borrowed for the call). *next is the id to scan from
 * next time, 0 when no ticket is left. GW_OK or a store error.
 */
GW_MUST_CHECK int store_ticket_scan(struct store_txn *txn, uint64_t from, size_t max,
		      int (*fn)(void *arg, uint64_t id, const void *data, size_t len), void *arg,
		      uint64_t *next);
/* store_ticket_put - writes the ticket and its customer index entry. */
GW_MUST_CHECK int store_ticket_put(struct store_txn *txn, const struct proto_ticket *t);
/* store_customer_tickets - calls `fn` for each ticket id of a customer in
 * ascending order, up to `max` of them; stops early when fn returns non-0. */
GW_MUST_CHECK int store_customer_tickets(struct store_txn *txn, uint64_t customer_id, size_t max,
			   int (*fn)(void *arg, uint64_t ticket_id), void *arg);
/* store_customer_ticket_del - takes ticket_id off a customer's tickets (a
 * ticket that moved to another customer; absent: GW_OK). The ticket record
 * is not touched. */
GW_MUST_CHECK int store_customer_ticket_del(struct store_txn *txn, uint64_t customer_id, uint64_t ticket_id);

/* --- threads.c ------------------------------------------------------- */

/* store_thread_append / store_ticket_msg_append - index the event `seq` in
 * a thread or a ticket; appending the same pair twice changes nothing. */
GW_MUST_CHECK int store_thread_append(struct store_txn *txn, uint64_t thread_id, uint64_t seq);
GW_MUST_CHECK int store_ticket_msg_append(struct store_txn *txn, uint64_t ticket_id, uint64_t seq);
/* store_thread_scan / store_ticket_msgs - each seq in ascending order, up to
 * `max`; stops early when fn returns non-0. */
GW_MUST_CHECK int store_thread_scan(struct store_txn *txn, uint64_t thread_id, size_t max,
		      int (*fn)(void *arg, uint64_t seq), void *arg);
GW_MUST_CHECK int store_ticket_msgs(struct store_txn *txn, uint64_t ticket_id, size_t max,
		      int (*fn)(void *arg, uint64_t seq), void *arg);
/* store_thread_scan_newest - store_thread_scan from the newest seq down. */
GW_MUST_CHECK int store_thread_scan_newest(struct store_txn *txn, uint64_t thread_id, size_t max,
			     int (*fn)(void *arg, uint64_t seq), void *arg);

/* store_ticket_msg_remove - takes message `seq` off a ticket's messages (a
 * message split off to another ticket; absent: GW_OK). */
GW_MUST_CHECK int store_ticket_msg_remove(struct store_txn *txn, uint64_t ticket_id, uint64_t seq);
/* store_thread_remove - takes `seq` out of a thread (absent: GW_OK). */
GW_MUST_CHECK int store_thread_remove(struct store_txn *txn, uint64_t thread_id, uint64_t seq);
/* store_ticket_trace_append / store_ticket_trace - the ticket's own events
 * (not its messages), as store_ticket_msg_append / store_ticket_msgs. */
GW_MUST_CHECK int store_ticket_trace_append(struct store_txn *txn, uint64_t ticket_id, uint64_t seq);
GW_MUST_CHECK int store_ticket_trace(struct store_txn *txn, uint64_t ticket_id, size_t max,
		       int (*fn)(void *arg, uint64_t seq), void *arg);

/* --- merges.c -------------------------------------------------------- */

/* store_merge_get - decodes into `m` (caller clears with proto_merge_clear);
 * store_merge_raw - the msgpack record, a view valid until the txn ends;
 * store_merge_put - writes it and indexes it under both customers;
 * store_customer_merges - merge ids of a customer, ascending. */
GW_MUST_CHECK int store_merge_get(struct store_txn *txn, uint64_t id, struct proto_merge *m);
GW_MUST_CHECK int store_merge_raw(struct store_txn *txn, uint64_t id, const void **data, size_t *len);
GW_MUST_CHECK int store_merge_put(struct store_txn *txn, const struct proto_merge *m);
GW_MUST_CHECK int store_customer_merges(struct store_txn *txn, uint64_t customer_id, size_t max,
			  int (*fn)(void *arg, uint64_t merge_id), void *arg);

/* --- agents.c -------------------------------------------------------- */

/* store_agent_get - the stored state of an agent into `a` (caller clears
 * with proto_agent_clear); GW_ENOTFOUND when never stored; GW_ETOOBIG for
 * an id over 255 bytes. store_agent_put writes it. */
GW_MUST_CHECK int store_agent_get(struct store_txn *txn, const char *agent_id, struct proto_agent *a);
GW_MUST_CHECK int store_agent_put(struct store_txn *txn, const struct proto_agent *a);
/* The open tickets assigned to an agent; add/del are idempotent. */
GW_MUST_CHECK int store_agent_ticket_add(struct store_txn *txn, const char *agent_id, uint64_t ticket_id);
GW_MUST_CHECK int store_agent_ticket_del(struct store_txn *txn, const char *agent_id, uint64_t ticket_id);
GW_MUST_CHECK int store_agent_tickets(struct store_txn *txn, const char *agent_id, size_t max,
			int (*fn)(void *arg, uint64_t ticket_id), void *arg);
/* The tickets of a queue waiting for an agent, oldest (lowest id) first. */
GW_MUST_CHECK int store_queue_wait_add(struct store_txn *txn, const char *queue, uint64_t ticket_id);
GW_MUST_CHECK int store_queue_wait_del(struct store_txn *txn, const char *queue, uint64_t ticket_id);
GW_MUST_CHECK int store_queue_waiting(struct store_txn *txn, const char *queue, size_t max,
			int (*fn)(void *arg, uint64_t ticket_id), void *arg);

/* --- sla.c ----------------------------------------------------------- */

/* What an sla_due entry stands for. */
#define STORE_SLA_FIRST_WARN 1u
#define STORE_SLA_FIRST_BREACH 2u
#define STORE_SLA_RESOLUTION_WARN 3u
#define STORE_SLA_RESOLUTION_BREACH 4u
#define STORE_SLA_NEXT_WARN 5u   /* the next-response clock */
#define STORE_SLA_NEXT_BREACH 6u
#define STORE_SLA_UNASSIGNED 7u  /* an escalations[] `unassigned` instant */

/* store_sla_add / del - an instant `due_ms` of `what` for a ticket (del of
 * an absent one: GW_OK). GW_EINVAL for a negative time. */
GW_MUST_CHECK int store_sla_add(struct store_txn *txn, int64_t due_ms, uint64_t ticket_id, unsigned what);
GW_MUST_CHECK int store_sla_del(struct store_txn *txn, int64_t due_ms, uint64_t ticket_id, unsigned what);
/* store_sla_scan - entries with due_ms <= until_ms in time order, up to
 * `max`; stops when fn returns non-0. fn must not write the table (collect,
 * then delete). store_sla_next - the earliest due time, INT64_MAX if none. */
GW_MUST_CHECK int store_sla_scan(struct store_txn *txn, int64_t until_ms, size_t max,
		   int (*fn)(void *arg, int64_t due_ms, uint64_t ticket_id, unsigned what),
		   void *arg);
GW_MUST_CHECK int store_sla_next(struct store_txn *txn, int64_t *due_ms);

/* --- autoreply.c: automatic messages -------------------------------- */

/* store_autoreply_add / del - an automatic message of `kind` (1-255, the
 * router's numbering) due at `due_ms` for a ticket (del of an absent one:
 * GW_OK). GW_EINVAL for a negative time or kind 0. */
GW_MUST_CHECK int store_autoreply_add(struct store_txn *txn, int64_t due_ms, uint64_t ticket_id,
			unsigned kind);
GW_MUST_CHECK int store_autoreply_del(struct store_txn *txn, int64_t due_ms, uint64_t ticket_id,
			unsigned kind);
/* store_autoreply_scan - entries due at or before until_ms in time order,
 * up to `max`; stops when fn returns non-0; fn must not write the table.
 * store_autoreply_next - the earliest due time, INT64_MAX if none. */
GW_MUST_CHECK int store_autoreply_scan(struct store_txn *txn, int64_t until_ms, size_t max,
			 int (*fn)(void *arg, int64_t due_ms, uint64_t ticket_id,
				   unsigned kind),
			 void *arg);
GW_MUST_CHECK int store_autoreply_next(struct store_txn *txn, int64_t *due_ms);
/* store_autoreply_last_get / put - when the last automatic message of
 * `kind` went to a customer (ms); get: GW_ENOTFOUND when never. */
GW_MUST_CHECK int store_autoreply_last_get(struct store_txn *txn, uint64_t customer_id, unsigned kind,
			     int64_t *at_ms);
GW_MUST_CHECK int store_autoreply_last_put(struct store_txn *txn, uint64_t customer_id, unsigned kind,
			     int64_t at_ms);

/* --- eventlog.c ------------------------------------------------------ */

/* store_eventlog_append - stores an event under `seq`, which must be the
 * head + 1 (the log is gap-free: GW_EINVAL otherwise). */
GW_MUST_CHECK int store_eventlog_append(struct store_txn *txn, uint64_t seq, const char *type,
			  const void *data, size_t len);

/* store_eventlog_head - the highest seq, 0 for an empty log. */
GW_MUST_CHECK int store_eventlog_head(struct store_txn *txn, uint64_t *seq);

/* store_eventlog_get - borrowed views into the map, valid until the txn
 * ends: `type` (not NUL-terminated, `type_len` bytes) and the event. */
GW_MUST_CHECK int store_eventlog_get(struct store_txn *txn, uint64_t seq, const char **type,
		       size_t *type_len, const void **data, size_t *len);

/* store_eventlog_decode - the event at `seq`, decoded into `ev` (caller
 * clears it with proto_event_clear). GW_ENOTFOUND, store errors, or a
 * proto_decode() error for a record that does not decode (logged). */
GW_MUST_CHECK int store_eventlog_decode(struct store_txn *txn, uint64_t seq, struct proto_event *ev);

/* store_eventlog_scan - calls `fn` for seq >= from in order, with borrowed
 * views as above; stops when fn returns non-0 (that value is not an error). */
typedef int (*store_event_fn)(void *arg, uint64_t seq, const char *type, size_t type_len,
			      const void *data, size_t len);
GW_MUST_CHECK int store_eventlog_scan(struct store_txn *txn, uint64_t from, store_event_fn fn, void *arg);

/* --- deliveries.c ---------------------------------------------------- */

/* A reply the router holds for its connector until the connector reports
 * what happened (router/commands/reply.c). */
struct store_delivery {
	uint64_t delivery_id;
	uint64_t seq;       /* its message.sent */
	int64_t created_at; /* ms since the epoch */
	char state[16];     /* pending, sent, delivered, read, failed */
	char channel[PROTO_MAX_CHANNEL + 1];
	char account[PROTO_MAX_ACCOUNT + 1];
};

/* The longest encoded delivery record. */
#define STORE_DELIVERY_REC_MAX (1 + 8 + 8 + 3 + 16 + PROTO_MAX_CHANNEL + 1 + PROTO_MAX_ACCOUNT + 1)

/*
 * store_delivery_encode / decode - the record's bytes (as stored; pure, for
 * tests and fuzzing): encode writes at most `cap` bytes (at least
 * STORE_DELIVERY_REC_MAX) and their count in *len, GW_OK or GW_ETOOBIG (a
 * string over its one-byte length); decode fills `d` but its delivery_id
 * (the key's), GW_OK or GW_EPROTO.
 */
GW_MUST_CHECK int store_delivery_encode(const struct store_delivery *d, void *out, size_t cap, size_t *len);
GW_MUST_CHECK int store_delivery_decode(const void *data, size_t len, struct store_delivery *d);

/* store_delivery_get - the record of `id` into `d`; GW_ENOTFOUND, GW_EPROTO
 * (a record that does not decode). */
GW_MUST_CHECK int store_delivery_get(struct store_txn *txn, uint64_t id, struct store_delivery *d);

/* store_delivery_put - writes `d` (borrowed); it is in the pending index
 * while its state is "pending" and leaves it otherwise. */
GW_MUST_CHECK int store_delivery_put(struct store_txn *txn, const struct store_delivery *d);

/* store_delivery_pending - calls `fn` for each pending delivery id >= from
 * in ascending order, up to `max`; stops early when fn returns non-0. */
GW_MUST_CHECK int store_delivery_pending(struct store_txn *txn, uint64_t from, size_t max,
			   int (*fn)(void *arg, uint64_t id), void *arg);

/* --- census.c: counted from another process (gateway-metrics) -------- */

/*
 * store_open_readonly - opens the router's store in `dir` read-only
 * (MDB_RDONLY) beside the router, which keeps writing it; creates nothing.
 * Only read transactions and the census calls below may be used on it.
 * *out owns it (store_close). GW_ESTORE (no store there yet: the router
 * never ran), GW_ENOMEM.
 */
GW_MUST_CHECK int store_open_readonly(const char *dir, struct store **out);

/* Entry counts, cheap (mdb_stat): no record is read. */
struct store_counts {
	uint64_t tickets;
	uint64_t customers;
	uint64_t deliveries;         /* replies, ever */
	uint64_t deliveries_pending; /* replies no connector reported yet */
	uint64_t head_seq;           /* the event log's head */
};

/* store_census_counts - fills `c`; GW_OK or a store error. */
GW_MUST_CHECK int store_census_counts(struct store_txn *txn, struct store_counts *c);

/*
 * store_census_tickets - calls `fn` with every ticket decoded (borrowed for
 * the call), in id order; a record that does not decode is skipped. Stops
 * when fn returns non-0 (not an error). Reads the whole table: O(tickets).
 */
GW_MUST_CHECK int store_census_tickets(struct store_txn *txn,
			 int (*fn)(void *arg, const struct proto_ticket *t), void *arg);

/* store_census_waiting - calls `fn` with the queue of every ticket waiting
 * for an agent (the queue_wait table; borrowed string). */
GW_MUST_CHECK int store_census_waiting(struct store_txn *txn,
			 int (*fn)(void *arg, const char *queue), void *arg);

#endif

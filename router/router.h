/*
 * router.h - the router process: takes messages from the connectors, routes
 * them, commits them to the store in batches and publishes every outcome.
 *
 * One thread does everything, in a loop:
 *   1. poll the ingest and command sockets (and the heartbeat timer);
 *   2. take every ingest message available, up to router.batch_max, and
 *      route each one inside ONE LMDB write transaction (route.c), which
 *      appends its events to the event log with consecutive seqs (batch.c);
 *   3. commit the transaction: from here on the batch is durable;
 *   4. publish the batch's events on the PUB socket, then acknowledge each
 *      message to its connector, which may then forget it.
 * A crash between 3 and 4 loses nothing: the events are in the log (a
 * consumer sees the seq gap, or the heartbeat's head_seq, and replays them)
 * and the connectors resend, which the dedup table turns into "duplicate".
 */
#ifndef GW_ROUTER_H
#define GW_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <msgpack.h>

#include "core/config.h"
#include "core/histo.h"
#include "proto/proto.h"
#include "router/rules/routing.h"
#include "store/store.h"

struct router;

/* Counters published in run/router.json and by the "status" command. */
struct router_stats {
	uint64_t received;   /* ingest messages read */
	uint64_t stored;     /* messages routed and committed */
	uint64_t duplicates; /* messages answered "duplicate" */
	uint64_t rejected;   /* messages answered "rejected" */
	uint64_t events;     /* events appended and published */
	uint64_t batches;    /* transactions committed */
	uint64_t commit_failures;
	uint64_t commands;   /* command requests served */
	uint64_t max_batch;  /* largest batch so far */
	/* Written in run/router.json's "histograms" (gateway-metrics). */
	struct gw_histo batch_size;     /* messages per committed ingest batch */
	struct gw_histo commit_seconds; /* store_txn_commit() of those batches */
};

/*
 * router_create - opens the store under <state_dir>/store and binds the
 * ingest, publish and command sockets from `cfg` (borrowed; must outlive the
 * router). Returns GW_OK, GW_ESTORE, GW_EBUS, GW_ENOMEM.
 */
int router_create(const struct gw_config *cfg, struct router **out);

/* router_run - serves until *stop turns non-zero; GW_OK or an error. When
 * `reload` (may be NULL) turns non-zero, it is reset and router_reload runs
 * between two rounds. */
int router_run(struct router *r, volatile int *stop, volatile int *reload);

/*
 * router_reload - reads the config file again and puts its routing rules
 * (queues, agents, working hours, SLA targets, threading, assignment) and
 * its automation section (templates, automatic messages) in use from the
 * next message on; tickets keep the SLA due times they have.
 * Everything else (endpoints, connectors, store) waits for a restart. On a
 * config that does not load or compile: logged, the rules in use kept,
 * and GW_ECONFIG/GW_EINVAL/GW_ENOMEM returned; GW_OK otherwise.
 */
int router_reload(struct router *r);

/* router_destroy - closes sockets and store; accepts NULL. */
void router_destroy(struct router *r);

/* --- batch.c: the events of one transaction -------------------------- */

/* An event appended to the log in the open transaction, to publish after
 * the commit. */
struct batch_event {
	const char *type; /* static: proto_type_name() */
	char *data;       /* encoded event with seq, owned */
	size_t len;
};

struct batch {
	struct store_txn *txn; /* the open write transaction */
	const struct routing *rt; /* the routing rules (router.c owns them) */
	uint64_t head;         /* last seq used (committed + this batch) */
	struct batch_event *ev;
	size_t nev, cap;
	size_t bytes; /* encoded bytes held, to bound a batch */
	int keep;     /* commit even without an event: a table was tidied
		       * (stale SLA entries), which must not come back */
};

/*
 * batch_emit - gives `ev` the next seq and ts, encodes it, appends it to the
 * event log in b->txn and keeps it to publish. `ev` stays owned by the
 * caller; its seq is set. GW_OK, GW_ENOMEM, store and encode errors.
 */
int batch_emit(struct batch *b, struct proto_event *ev);

/* batch_reset - frees the kept events. */
void batch_reset(struct batch *b);

/* --- route.c, route_update.c: one event inside the batch's transaction - */

enum route_result {
	ROUTE_STORED,
	ROUTE_DUPLICATE,
};

/*
 * route_check - whether the ingest accepts `ev` (borrowed): message.received
 * (direction inbound or absent), message.sent (direction outbound or absent,
 * `to` present), message.status, message.edited, message.deleted. GW_OK, or
 * GW_ETYPE (another type), GW_EPROTO (wrong direction), GW_EMISSING (no
 * `to`) with `reason` (`size` bytes) saying why. Touches no store.
 */
int route_check(const struct proto_event *ev, char *reason, size_t size);

/*
 * route_event - routes an event that route_check accepted (borrowed, and
 * completed with what the router sets) by the rule of its type, emitting
 * its events into `b`. *result says stored or duplicate. Returns GW_OK,
 * GW_EINVAL (a type route_check refuses), or a store/encode error, after
 * which the transaction must be aborted. The functions below are its rules.
 */
int route_event(struct batch *b, struct proto_event *ev, enum route_result *result);

/*
 * route_message - message.received: deduplicates `msg`, resolves or creates
 * the sender's customer, files it in the customer's thread and its open
 * ticket (opening one if needed) and emits customer.created, ticket.created,
 * message.received and ticket.updated as they happen.
 * message.sent: deduplicates it in the same table, resolves or creates the
 * recipient's (`to`) customer, files it in the thread and in the open
 * ticket if there is one (never opening one; ticket_id 0 otherwise), and
 * emits customer.created, message.sent and ticket.updated as they happen.
 */
int route_message(struct batch *b, struct proto_event *msg, enum route_result *result);

/*
 * route_reply - a message.sent the router made (message.send): routed as
 * route_message routes it, but filed in ticket `ticket_id` when that is a
 * ticket of the recipient, open or closed (never reopened); with 0, or a
 * ticket that is not the recipient's, in the recipient's open ticket. The
 * same results and errors as route_message.
 */
int route_reply(struct batch *b, struct proto_event *msg, uint64_t ticket_id,
		enum route_result *result);

/*
 * route_status - message.status: deduplicates by status_id and, when
 * external_id names a stored message, sets message_seq, customer_id and
 * ticket_id from it; emits message.status (also for an unknown message).
 * A status about one of the gateway's replies moves its delivery forward
 * and is published only when it does (ROUTE_DUPLICATE otherwise).
 */
int route_status(struct batch *b, struct proto_event *ev, enum route_result *result);

/*
 * route_watermark - a watermark receipt `s` (no external_id; watermark and
 * recipient set; status "read" or "delivered"): each of the recipient's
 * replies on s's channel and account made at or before the watermark (the
 * newest WATERMARK_SCAN messages of their thread looked at, newest first,
 * until one already has that status), that the provider took (sent,
 * delivered), moves to that status with one message.status
 * (deliver_report). Called by route_status for a receipt it stored.
 * Returns GW_OK or a store error (the batch is retried).
 */
int route_watermark(struct batch *b, const struct proto_status *s);

/*
 * route_status_own - route_status for a status the router itself makes
 * about one of its deliveries (deliver.c): linked and deduplicated alike,
 * the delivery left to the caller.
 */
int route_status_own(struct batch *b, struct proto_event *ev, enum route_result *result);

/*
 * route_change - message.edited, message.deleted: deduplicates by
 * change_id, links to the message as route_status does and, when linked,
 * indexes the event in the message's thread and ticket; emits it.
 */
int route_change(struct batch *b, struct proto_event *ev, enum route_result *result);

/* --- command.c: the command socket ------------------------------------ */

/*
 * command_handle - reads one request from the command socket (ROUTER) if
 * one is waiting and answers it. Returns 1 when one was served, 0 when
 * none was waiting.
 */
int command_handle(struct router *r);

/* Accessors for command.c. */
struct store *router_store(struct router *r);
void *router_command_socket(struct router *r);
void router_get_stats(const struct router *r, struct router_stats *st, int64_t *started_at);

/* router_stats_json - the counters as a new JSON object. */
json_t *router_stats_json(const struct router_stats *s);

/* router_head - the last committed seq. */
uint64_t router_head(const struct router *r);

/*
 * router_txn - runs `fn` in a write transaction of its own (between
 * batches), commits, then publishes what it emitted. An error from fn, or
 * from the commit, aborts it all: nothing stored, nothing published.
 */
int router_txn(struct router *r, int (*fn)(struct batch *b, void *arg), void *arg);

/* router_routing - the compiled routing rules. */
const struct routing *router_routing(const struct router *r);

/* router_ingest_socket - the ROUTER socket deliveries are sent on. */
void *router_ingest_socket(struct router *r);
/* router_deliver - the router's delivery state (deliver.c). */
struct deliver *router_deliver(struct router *r);

/* --- reply.c: the message.send command --------------------------------- */

/*
 * reply_message_send - serves message.send with the msgpack `args`
 * (borrowed): in one transaction, a message.sent to the customer, a
 * message.status "queued" and a pending delivery; or, for a command_id seen
 * before, the first result again. A reply to a ticket goes out on the
 * ticket's channel unless `channel` says otherwise, is filed in that ticket
 * (route_reply) and stops that ticket's first-response clock; its
 * external_id is "reply-<delivery_id>-<random hex>", an id no client
 * chooses by accident. Packs {delivery_id, seq, channel, account}
 * into `out` and sets *delivery_id. Errors: GW_EMISSING, GW_ETYPE,
 * GW_ETOOBIG, GW_EPROTO (arguments), GW_ENOTFOUND (no such ticket or
 * customer), GW_EINVAL (no address on that channel), store errors; `err`
 * says which in words.
 */
int reply_message_send(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
		       uint64_t *delivery_id, char *err, size_t errlen);

/* An automatic message (rules/autoreply.c), made as message.send makes a
 * reply: template rendered for the ticket, filed in it, delivered alike. */
struct reply_auto {
	uint64_t ticket_id;
	const char *automatic;     /* acknowledgement, out_of_hours, still_waiting */
	const char *template_name; /* automation.templates[] name */
	const char *wa_template;   /* WhatsApp past its 24 h window; NULL/"": skip */
	const char *wa_language;
};

/*
 * reply_auto_send - in the transaction of `b`: message.sent (with
 * `automatic` set; the first-response clock is not stopped by it),
 * message.status queued and a pending delivery, as message.send makes
 * them; *delivery_id and *seq set. Errors, with `err`: GW_ENOTFOUND (no
 * ticket, customer or template), GW_EINVAL (no address), GW_EMISSING (a
 * variable of the template undefined), GW_EPERM (the provider takes no
 * such message now: WhatsApp's window), store errors. On error the
 * transaction must be aborted (a skipped message emitted nothing).
 */
int reply_auto_send(struct batch *b, const struct gw_config *cfg, const struct reply_auto *au,
		    uint64_t *delivery_id, uint64_t *seq, char *err, size_t errlen);

/* router_config - the config the routing and automation in use come from
 * (the reloaded one after a reload). */
const struct gw_config *router_config(const struct router *r);

/* --- deliver.c: handing replies to connectors, and their reports -------- */

/*
 * The router knows a connector (a peer of the ingest socket) by its routing
 * id, learnt from its "hello" (instance, channel) and from the messages it
 * hands over (channel, account). Pending deliveries are handed to the peer
 * of their (channel, account) only, at least once: right
 * after message.send, when a peer says hello for the first time (either side
 * restarted), and every DELIVER_RETRY_US while unreported. A delivery no
 * connector of its (channel, account) takes is failed after
 * router.delivery_timeout_ms.
 */
struct deliver;

/* deliver_create - the reply hand-over state (cfg borrowed; must outlive
 * it); *out owns it. GW_OK or GW_ENOMEM. deliver_destroy accepts NULL. */
int deliver_create(const struct gw_config *cfg, struct deliver **out);
void deliver_destroy(struct deliver *d);

/* deliver_peer_seen - the peer `id` (borrowed, `len` bytes) serves
 * (channel, account). A hello from a peer not known before makes every
 * pending delivery due. */
void deliver_peer_seen(struct deliver *d, const char *channel, const char *account,
		       const void *id, size_t len, int hello);

/* deliver_one - hands delivery `id` to its peer now, if one is known. */
void deliver_one(struct router *r, uint64_t id);

/* The provider's id of a reply, as a connector reports it (wire.h). */
struct deliver_ref {
	const char *account; /* key space within the delivery's channel */
	const char *id;      /* "" or NULL: none */
};

/*
 * deliver_report - a connector's report inside the batch `b`: records the
 * status on the delivery and emits message.status, and records `ref` (may
 * be NULL) as another key of the reply's message.sent in the dedup table,
 * so that statuses and answers naming the provider's id find it. Statuses
 * only move forward: one that does not (seen before, about an unknown
 * delivery, after "failed", or "sent" after "delivered") is not published,
 * but its reference is still kept. Returns GW_OK or a store/encode error
 * (the batch is aborted).
 */
int deliver_report(struct batch *b, uint64_t id, const char *status, const char *reason,
		   const struct deliver_ref *ref);

/*
 * deliver_emit_status - emits message.status `status` (with `reason`, may
 * be NULL, as its error; `provider_id` may be NULL) about delivery `dv`
 * through route_status_own, so that it is linked to its message.sent and
 * deduplicated by its status_id.
 */
int deliver_emit_status(struct batch *b, const struct store_delivery *dv, const char *status,
			const char *reason, const char *provider_id, enum route_result *res);

/*
 * deliver_advance - a status the provider sent about reply `id` (its
 * webhook, linked to the reply's message.sent): *publish = 1 and the
 * delivery's state moves when `status` is later in the lifecycle than the
 * state, else *publish = 0 (already known). A status outside the lifecycle
 * (queued, deleted) or an unknown delivery: *publish = 1, nothing changes.
 */
int deliver_advance(struct batch *b, uint64_t id, const char *status, int *publish);

/* deliver_tick - hands over and times out what is due; deliver_next_us -
 * when it is next due (monotonic us). */
void deliver_tick(struct router *r);
int64_t deliver_next_us(const struct deliver *d);

#endif

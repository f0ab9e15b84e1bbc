/*
 * outbox.h - a connector's durable hand-off to the router.
 *
 * What a connector accepts is written to its spool (an LMDB file under
 * <state_dir>/spool/<instance>/, store/spool.h) before the provider is told
 * "accepted", then sent to the router over a ZeroMQ DEALER socket and kept
 * until the router answers that it committed it (or had it already, or
 * rejects it for good). After either side restarts, everything still in the
 * spool is sent again; the router deduplicates, so a resend is harmless.
 *
 *   outbox_add()     queue an encoded event for the next commit (memory)
 *   outbox_commit()  write every queued event in one fsync'ed transaction
 *                    (group commit); only now may the provider be answered
 *   outbox_pump()    non-blocking: send committed entries, read acks, delete
 *                    acknowledged entries, resend after a silence
 *
 * An event loop that must not stop for a disk flush (httpd.c) commits with
 * outbox_commit_start() / outbox_commit_poll() instead: the flush runs on
 * the outbox's commit thread while the loop reads the next requests, whose
 * events queue for the commit after.
 *
 * Threading: one thread owns an outbox and calls every function here. The
 * commit thread (started by the first outbox_commit_start) only writes the
 * batch it was handed to the spool and then calls the wake function.
 */
#ifndef GW_OUTBOX_H
#define GW_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct outbox;
struct gw_config_router;

struct outbox_options {
	const char *dir;        /* spool folder, created if missing */
	const char *endpoint;   /* router ingest endpoint */
	const char *log_module; /* prefix for log lines */
	size_t max_entries;     /* spool bound: outbox_add fails past it */
	size_t max_inflight;    /* sent but unacknowledged at most */
	int resend_ms;          /* resend unacknowledged entries after this */
	size_t map_size;        /* LMDB map size in bytes */
	/* Replies: with `instance` set, the outbox says ["hello", instance,
	 * channel] once connected and every few seconds, so that the router
	 * learns where to deliver (also after it restarts). NULL: no hello. */
	const char *instance;
	const char *channel;
	/* The router's endpoints' security (core/bus.h): with a tcp:// endpoint
	 * and router.curve_key set, the socket proves the router's key. NULL:
	 * plain. Borrowed, it must outlive the outbox. */
	const struct gw_config_router *bus;
};

struct outbox_stats {
	uint64_t spooled;    /* entries in the spool now (committed, unacked) */
	uint64_t queued;     /* added, not yet committed */
	uint64_t committed;  /* total committed since start */
	uint64_t acked;      /* total acknowledged by the router */
	uint64_t duplicates; /* acknowledgements saying "duplicate" */
	uint64_t rejected;   /* acknowledgements saying "rejected" */
	uint64_t resent;     /* total resends */
	uint64_t delivered;  /* deliveries handed to the callback */
	uint64_t reports;    /* reports sent to the router */
	uint64_t quarantined;      /* quarantine records in the spool now */
	uint64_t quarantine_bytes; /* ... and their bytes */
};

/*
 * outbox_open - opens (creating) the spool and connects to the router; the
 * entries already in the spool are scheduled to be sent. *out owns the
 * outbox. Returns GW_OK, GW_ESTORE, GW_EBUS, GW_ENOMEM, GW_EIO, GW_ECONFIG
 * (the CURVE key cannot be read: logged).
 */
int outbox_open(const struct outbox_options *opt, struct outbox **out);

/* outbox_close - closes the socket and the spool; accepts NULL. */
void outbox_close(struct outbox *ob);

/*
 * outbox_add - copies `len` bytes of an encoded event (borrowed) into the
 * commit queue. Nothing is durable until outbox_commit() returns GW_OK.
 * Returns GW_OK, GW_EFULL (spool and queue at max_entries: answer "busy"),
 * GW_ETOOBIG, GW_ENOMEM.
 */
int outbox_add(struct outbox *ob, const void *data, size_t len);

/*
 * outbox_add_event - encodes `ev` (borrowed) and adds it as outbox_add()
 * does. `err` (may be NULL) is zeroed, and filled when the encoding fails:
 * a non-empty err->message tells an event that cannot be encoded (a bad
 * event: answer 4xx or set it aside) from a full or failing outbox.
 * Returns the codes of proto_encode() and outbox_add().
 */
struct proto_error;
struct proto_event;
int outbox_add_event(struct outbox *ob, const struct proto_event *ev, struct proto_error *err);

/* outbox_queued - number of events added and not yet committed. */
size_t outbox_queued(const struct outbox *ob);

/*
 * outbox_rollback - drops the events added since outbox_queued() returned
 * `mark`, so that a request whose events are added one by one is queued
 * whole or not at all:
 *   size_t mark = outbox_queued(ob);
 *   for each event: if (outbox_add(ob, ...) != GW_OK) { outbox_rollback(ob, mark); ... }
 * Only between outbox_add and the next outbox_commit (a commit empties the
 * queue). A `mark` at or past the queue's length changes nothing.
 */
void outbox_rollback(struct outbox *ob, size_t mark);

/*
 * outbox_commit - writes every queued event to the spool in one transaction
 * and syncs it, then starts sending them. On GW_OK all of them are durable;
 * on an error none is and the queue is emptied (the caller answers its
 * providers with a failure so they retry). Returns GW_OK, GW_ESTORE, GW_EFULL.
 */
int outbox_commit(struct outbox *ob);

/*
 * Asynchronous group commit. At most one commit is in flight:
 *
 *   outbox_commit_start(ob, &started)   hands the queue (and the acknowledged
 *       keys awaiting deletion) to the commit thread and returns at once;
 *       *started = 0 when nothing was queued. New outbox_add() calls queue
 *       for the next commit. Returns GW_OK, or GW_EAGAIN while a commit is
 *       in flight or its result has not been polled yet.
 *   outbox_commit_poll(ob, &rc)   1 when the commit in flight has ended, once:
 *       *rc is its result, with outbox_commit()'s meaning (GW_OK: every
 *       event it took is durable, the providers may be told; else none is).
 *       0 while it runs or when none was started.
 *   outbox_set_wake(ob, fn, arg)   fn(arg) is called on the commit thread
 *       each time a commit ends, so that the owner's loop wakes and polls
 *       (httpd_wake). NULL: no call. Set before the first start.
 *
 * outbox_commit() and outbox_close() first wait for a commit in flight
 * (whose result is still reported by the next poll).
 */
int outbox_commit_start(struct outbox *ob, int *started);

/*
 * outbox_set_after - fn(arg) runs on the commit thread after each
 * asynchronous commit whose spool transaction worked (connectors/commit.c:
 * a second durable step of the same batch); a non-GW_OK result is what
 * outbox_commit_poll reports (the events stay durable and are sent).
 * outbox_commit() does not run it. Set with no commit in flight; NULL:
 * none.
 *
 * outbox_after_start - outbox_commit_start() also when nothing is queued:
 * the commit thread then writes nothing to the spool (unless acknowledged
 * keys await deletion) and runs the after step alone; *started = 1 unless
 * GW_EAGAIN. For a batch whose second step has no event (a live-chat
 * reply's log entry).
 *
 * outbox_commit_wait - blocks until the commit in flight, if any, has
 * ended; its result is left for the next outbox_commit_poll.
 */
void outbox_set_after(struct outbox *ob, int (*fn)(void *arg), void *arg);
int outbox_after_start(struct outbox *ob, int *started);
void outbox_commit_wait(struct outbox *ob);
int outbox_commit_poll(struct outbox *ob, int *rc);
void outbox_set_wake(struct outbox *ob, void (*fn)(void *arg), void *arg);

/*
 * outbox_pump - sends what is due, reads every available ack and deletes the
 * acknowledged entries. Never blocks. Returns GW_OK or GW_ESTORE.
 */
int outbox_pump(struct outbox *ob);

/*
 * Replies (router -> connector). The router sends
 *   ["deliver", delivery_id (8 bytes BE), event (message.sent)]
 * on the same socket; outbox_pump() hands each one to the callback set here.
 * The connector answers with outbox_report(), sent with the next pump as
 *   ["report", delivery_id, status, reason, ref_account, ref_id]
 * and the router turns it into a message.status event. Until a report
 * arrives the router keeps the delivery and hands it over again after a
 * reconnect (at least once).
 */
typedef int (*outbox_deliver_fn)(void *arg, const void *event, size_t len,
				 uint64_t delivery_id);

/* outbox_set_deliver - registers `fn` (NULL: deliveries are reported
 * "failed: the channel cannot send"). `arg` is passed back. */
void outbox_set_deliver(struct outbox *ob, outbox_deliver_fn fn, void *arg);

/*
 * outbox_signal_fn - an event the router passes on without keeping it
 * (["signal", event]: an agent's chat.typing), `len` bytes borrowed for the
 * call, on the thread that calls outbox_pump(). Nothing is reported.
 * outbox_set_signal registers it (NULL: signals are dropped).
 */
typedef void (*outbox_signal_fn)(void *arg, const void *event, size_t len);
void outbox_set_signal(struct outbox *ob, outbox_signal_fn fn, void *arg);

/*
 * outbox_report - queues the outcome of a delivery for the router: status
 * is "sent", "delivered", "read" or "failed"; reason (may be NULL) says why
 * it failed. Returns GW_OK, GW_EINVAL (unknown status), GW_EFULL, GW_ENOMEM.
 */
int outbox_report(struct outbox *ob, uint64_t delivery_id, const char *status,
		  const char *reason);

/*
 * outbox_report_ref - outbox_report() naming also the provider's id of the
 * reply (`ref_id`: a wamid, a Messenger mid, an email's Message-ID without
 * its brackets, ...) in the key space `ref_account` of the reply's channel
 * (the account its messages are deduplicated under: the phone number id or
 * page id, or "" for an id valid in every account such as a Message-ID).
 * The router records it, so that the provider's later statuses and the
 * customer's answers that name it find the reply. ref_id NULL or "": no
 * reference. Returns outbox_report()'s codes; GW_EINVAL also for a
 * reference over its bound (PROTO_MAX_ACCOUNT, PROTO_MAX_EXTERNAL_ID) or
 * not UTF-8.
 */
int outbox_report_ref(struct outbox *ob, uint64_t delivery_id, const char *status,
		      const char *reason, const char *ref_account, const char *ref_id);

/*
 * outbox_serve - the instance also serves (channel, account): a connector
 * whose events name other channels and accounts than its own (Meta: the
 * WhatsApp number, the page) says so, so that the router hands it the
 * replies of that pair also before a message of it comes (after either
 * side restarted). Each pair goes out as one more hello,
 * ["hello", account, channel], with the next pump and every hello after.
 * An instance without hello (no `instance` option) announces nothing.
 * Returns GW_OK (also when the pair is known), GW_EINVAL (empty or over
 * PROTO_MAX_CHANNEL / PROTO_MAX_ACCOUNT), GW_EFULL (64 pairs already),
 * GW_ENOMEM.
 */
int outbox_serve(struct outbox *ob, const char *channel, const char *account);

/*
 * The quarantine (store/spool_quarantine.h), in the same spool: records of
 * what the connector held back or could not read, written by the same
 * group commits as the events (no fsync of their own).
 *
 * outbox_add_quarantine - queues an encoded record (spoolq_encode; `len`
 *     bytes borrowed) for the next commit, like outbox_add, and durable
 *     with the same commit. The quarantine's own bounds are the caller's
 *     (connectors/intake.c, with outbox_get_stats' quarantined and
 *     quarantine_bytes). Returns GW_OK, GW_ETOOBIG, GW_EFULL (the commit
 *     queue is full), GW_ENOMEM.
 * outbox_q_get - a copy of record `id` (the caller frees *data).
 *     GW_ENOTFOUND when there is none; the spool's errors.
 * outbox_q_resolve - synchronously (it waits for a commit in flight and
 *     costs one fsync: for an operator's reingest, not per message): record
 *     `id` is replaced by `rec` (NULL: deleted) and the `n` encoded events
 *     appended to the spool, in one transaction, then sent as usual.
 *     Returns GW_OK, GW_ENOTFOUND (no record `id`: nothing written),
 *     GW_ENOMEM, GW_ESTORE, GW_EFULL.
 */
struct outbox_blob {
	const void *data;
	size_t len;
};
int outbox_add_quarantine(struct outbox *ob, const void *rec, size_t len);
int outbox_q_get(struct outbox *ob, uint64_t id, char **data, size_t *len);
int outbox_q_resolve(struct outbox *ob, uint64_t id, const void *rec, size_t rlen,
		     const struct outbox_blob *events, size_t n);

/* outbox_stats - a copy of the counters. */
void outbox_get_stats(const struct outbox *ob, struct outbox_stats *st);

#endif

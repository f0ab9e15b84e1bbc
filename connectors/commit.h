/*
 * commit.h - the group commit every connector acknowledges its providers
 * through.
 *
 * A connector adds a provider's events to its outbox (outbox_add), then
 * registers the acknowledgement that must wait for them: an HTTP answer
 * (httpd.c), a live-chat "ack" frame, an IMAP \Seen flag, a Telegram
 * getUpdates offset. The group commit makes every event queued so far
 * durable in one synced transaction on the outbox's commit thread, and
 * hands each waiter back to the owner's thread with the result of the
 * commit that covered it:
 *
 *   gcommit_wait(gc, w, done)   w waits for every event added so far
 *   (opt.schedule)              a commit is wanted: the owner calls
 *                               gcommit_run() once it has read what is
 *                               ready (a zero-delay timer: one commit per
 *                               loop round, not per message)
 *   gcommit_run(gc)             starts the commit, unless one is in flight
 *                               (then its end starts the next)
 *   (opt.wake)                  the commit thread says a commit ended
 *   gcommit_poll(gc)            on the owner's thread: done(w, rc) for each
 *                               waiter of the ended commit, and the next
 *                               commit starts with what queued meanwhile
 *   gcommit_flush(gc)           the same, blocking: for a loop that
 *                               already blocks on its provider (IMAP,
 *                               long polling)
 *
 * One commit is in flight at a time, so a waiter is called after at most
 * two flushes, never before the flush of its own events. A waiter is
 * called exactly once (or never, when cancelled), with GW_OK only when
 * every event added before gcommit_wait() is durable.
 *
 * Threading: one thread owns a gcommit and its outbox and calls every
 * function here; done() runs on it. Only opt.wake and opt.after run on the
 * commit thread.
 */
#ifndef GW_CONNECTOR_COMMIT_H
#define GW_CONNECTOR_COMMIT_H

#include <stddef.h>
#include <stdint.h>

struct gcommit;
struct gcommit_waiter;
struct outbox;

/*
 * done - the commit covering `w` ended: rc GW_OK (its events are durable:
 * acknowledge now) or the commit's error (GW_ESTORE, GW_EFULL, GW_ENOMEM,
 * or what opt.after returned: answer "retry later"), or GW_ECLOSED
 * (gcommit_close could not commit). `w` is no longer known to the gcommit
 * when done is called: the callee may free it.
 */
typedef void (*gcommit_done_fn)(struct gcommit_waiter *w, int rc);

/* A pending acknowledgement: embedded in the caller's request (owned by
 * the caller; the fields are the gcommit's). */
struct gcommit_waiter {
	struct gcommit_waiter *prev, *next;
	gcommit_done_fn done;
	uint64_t gen;   /* the commit that covers it */
	int linked;     /* in gc's list */
};

struct gcommit_options {
	struct outbox *outbox;   /* borrowed, outlives the gcommit */
	const char *log_module;  /* borrowed, for the error lines */
	void *arg;               /* passed back to the three callbacks */
	/* Commit thread (or the owner's, when no thread could start): a
	 * commit ended, call gcommit_poll() soon (httpd_wake). Must not call
	 * back into the gcommit or the outbox. NULL: the owner polls on its
	 * own tick. */
	void (*wake)(void *arg);
	/* Owner's thread, from gcommit_wait/gcommit_want: a commit is wanted
	 * and none is scheduled; call gcommit_run() soon. NULL: the caller
	 * runs it itself. */
	void (*schedule)(void *arg);
	/*
	 * Commit thread, after the spool's transaction worked: a second
	 * durable step of the same batch (live chat: its conversation log),
	 * given the waiters of this commit in registration order. Its result
	 * becomes the commit's (the spooled events stay durable; an error
	 * makes their senders retry, which the router deduplicates). With
	 * `after` set the owner must not cancel nor free a waiter whose commit
	 * is in flight (gcommit_in_flight) until done is called. NULL: none.
	 */
	int (*after)(void *arg, struct gcommit_waiter *const *w, size_t n);
};

/*
 * gcommit_create - a group commit on opt->outbox (which it sets the wake
 * and after hooks of). *out owns it. Returns GW_OK, GW_EINVAL (no outbox),
 * GW_ENOMEM.
 */
int gcommit_create(const struct gcommit_options *opt, struct gcommit **out);

/*
 * gcommit_close - commits what is queued (waiting for the commit in flight
 * first), calls done for every waiter left with its commit's result (or
 * GW_ECLOSED when that could not run), then frees `gc` and unhooks the
 * outbox. An owner whose loop is over may ignore those calls (nothing is
 * answered on stop: the providers retry). Accepts NULL.
 */
void gcommit_close(struct gcommit *gc);

/*
 * gcommit_wait - `w` (owned by the caller, which keeps it until done or
 * gcommit_cancel) waits for every event added to the outbox so far; done
 * is called once from gcommit_poll/gcommit_flush/gcommit_close. Calls
 * opt.schedule when no commit is scheduled. `w` must not be waiting
 * already.
 */
void gcommit_wait(struct gcommit *gc, struct gcommit_waiter *w, gcommit_done_fn done);

/*
 * gcommit_want - events were added with nobody to acknowledge (a kept
 * frame): make sure a commit is scheduled. As gcommit_wait for opt.schedule.
 */
void gcommit_want(struct gcommit *gc);

/*
 * gcommit_cancel - `w` is forgotten (its connection closed): done is never
 * called; its events still commit (the provider retries, the router
 * deduplicates). A waiter not waiting is left alone. With opt.after, not
 * for a waiter in flight (see gcommit_options.after).
 */
void gcommit_cancel(struct gcommit *gc, struct gcommit_waiter *w);

/* gcommit_in_flight - `w` is in the commit being written. */
int gcommit_in_flight(const struct gcommit *gc, const struct gcommit_waiter *w);

/*
 * gcommit_run - starts a commit of everything queued when none is in
 * flight (else the end of that one starts it, in gcommit_poll). With
 * nothing queued, the waiters are called at once with GW_OK (earlier
 * commits covered them), except with opt.after: then a commit runs that
 * writes no event, for the after step of its waiters (outbox_after_start).
 * Never blocks on the disk. Returns GW_OK, or the
 * error of a start that failed (its waiters were called with it).
 */
int gcommit_run(struct gcommit *gc);

/*
 * gcommit_poll - on the owner's wake or tick: when the commit in flight
 * has ended, calls done for its waiters and starts the next commit with
 * what queued meanwhile. Never blocks. Returns 1 when a commit ended, 0
 * otherwise.
 */
int gcommit_poll(struct gcommit *gc);

/*
 * gcommit_flush - blocks until every event queued and every waiter is
 * settled: the commit in flight ended, what queued since committed, each
 * done called. Returns GW_OK, or the error of a commit that failed (its
 * waiters were called with it).
 */
int gcommit_flush(struct gcommit *gc);

/* gcommit_waiting - waiters not yet called (scheduled or in flight). */
size_t gcommit_waiting(const struct gcommit *gc);

#endif

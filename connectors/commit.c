/*
 * commit.c - the connectors' group commit (commit.h).
 *
 * Waiters form one list in registration order. Each carries the number
 * (gen) of the commit that covers it: the next one to start when it was
 * registered, since that start takes every event queued before it. When
 * commit G ends, the waiters at the head with gen <= G are called with its
 * result, in order; those registered meanwhile stay for G + 1.
 *
 * The disk work is the outbox's commit thread's (outbox_commit_start and
 * outbox_commit_poll): this file is the policy only, and runs on the
 * owner's thread, except gc_after which the commit thread calls with the
 * batch array, which the owner leaves alone while the commit is in flight.
 */
#include "connectors/commit.h"

#include <stdlib.h>

#include "connectors/outbox.h"
#include "core/err.h"
#include "core/log.h"

struct gcommit {
	struct gcommit_options opt;
	struct gcommit_waiter head;   /* sentinel of the circular list */
	size_t nwait;
	uint64_t gen;                 /* the last commit started */
	int inflight;                 /* commit `gen` is being written */
	int scheduled;                /* opt.schedule was called, no run yet */
	struct gcommit_waiter **batch; /* commit `gen`'s waiters, for opt.after */
	size_t nbatch, capbatch;
};

static void gc_unlink(struct gcommit *gc, struct gcommit_waiter *w)
{
	w->prev->next = w->next;
	w->next->prev = w->prev;
	w->prev = w->next = NULL;
	w->linked = 0;
	gc->nwait--;
}

/* gc_settle - calls the waiters covered by commit `gen` with `rc`. A done
 * callback may register new waiters: they are later in the list, with a
 * greater gen. */
static void gc_settle(struct gcommit *gc, uint64_t gen, int rc)
{
	while (gc->head.next != &gc->head && gc->head.next->gen <= gen) {
		struct gcommit_waiter *w = gc->head.next;

		gc_unlink(gc, w);
		w->done(w, rc);
	}
}

/* gc_after - the commit thread's second step: opt.after on the batch. */
static int gc_after(void *arg)
{
	struct gcommit *gc = arg;

	return gc->opt.after(gc->opt.arg, gc->batch, gc->nbatch);
}

int gcommit_create(const struct gcommit_options *opt, struct gcommit **out)
{
	struct gcommit *gc;

	*out = NULL;
	if (!opt->outbox)
		return GW_EINVAL;
	gc = calloc(1, sizeof(*gc));
	if (!gc)
		return GW_ENOMEM;
	gc->opt = *opt;
	if (!gc->opt.log_module)
		gc->opt.log_module = "commit";
	gc->head.prev = gc->head.next = &gc->head;
	outbox_set_wake(opt->outbox, opt->wake, opt->arg);
	if (opt->after)
		outbox_set_after(opt->outbox, gc_after, gc);
	*out = gc;
	return GW_OK;
}

void gcommit_close(struct gcommit *gc)
{
	if (!gc)
		return;
	(void)gcommit_flush(gc);
	gc_settle(gc, UINT64_MAX, GW_ECLOSED);
	outbox_set_wake(gc->opt.outbox, NULL, NULL);
	if (gc->opt.after)
		outbox_set_after(gc->opt.outbox, NULL, NULL);
	free(gc->batch);
	free(gc);
}

/* gc_want - a commit is needed: have the owner run one, unless one is
 * scheduled or in flight (whose end starts the next). */
static void gc_want(struct gcommit *gc)
{
	if (gc->scheduled || gc->inflight || !gc->opt.schedule)
		return;
	gc->scheduled = 1;
	gc->opt.schedule(gc->opt.arg);
}

void gcommit_wait(struct gcommit *gc, struct gcommit_waiter *w, gcommit_done_fn done)
{
	w->done = done;
	w->gen = gc->gen + 1;
	w->next = &gc->head;
	w->prev = gc->head.prev;
	gc->head.prev->next = w;
	gc->head.prev = w;
	w->linked = 1;
	gc->nwait++;
	gc_want(gc);
}

void gcommit_want(struct gcommit *gc)
{
	gc_want(gc);
}

void gcommit_cancel(struct gcommit *gc, struct gcommit_waiter *w)
{
	if (w->linked)
		gc_unlink(gc, w);
}

int gcommit_in_flight(const struct gcommit *gc, const struct gcommit_waiter *w)
{
	return gc->inflight && w->linked && w->gen <= gc->gen;
}

size_t gcommit_waiting(const struct gcommit *gc)
{
	return gc->nwait;
}

/* gc_batch - collects the waiters of commit `gen` for opt.after. */
static int gc_batch(struct gcommit *gc, uint64_t gen)
{
	struct gcommit_waiter *w;

	gc->nbatch = 0;
	if (gc->nwait > gc->capbatch) {
		struct gcommit_waiter **b = realloc(gc->batch, gc->nwait * sizeof(*b));

		if (!b)
			return GW_ENOMEM;
		gc->batch = b;
		gc->capbatch = gc->nwait;
	}
	for (w = gc->head.next; w != &gc->head && w->gen <= gen; w = w->next)
		gc->batch[gc->nbatch++] = w;
	return GW_OK;
}

int gcommit_run(struct gcommit *gc)
{
	uint64_t gen = gc->gen + 1;
	int rc, started = 0, empty;

	gc->scheduled = 0;
	if (gc->inflight)
		return GW_OK; /* its end starts this one (gcommit_poll) */
	empty = outbox_queued(gc->opt.outbox) == 0;
	if (empty && (!gc->opt.after || !gc->nwait)) {
		/* Earlier commits covered the waiters. */
		gc->gen = gen;
		gc_settle(gc, gen, GW_OK);
		return GW_OK;
	}
	/* With `after`, waiters without events of their own (a live-chat
	 * reply's log entry) still need the commit thread's second step. */
	rc = gc->opt.after ? gc_batch(gc, gen) : GW_OK;
	if (rc == GW_OK)
		rc = empty ? outbox_after_start(gc->opt.outbox, &started)
			   : outbox_commit_start(gc->opt.outbox, &started);
	if (rc == GW_EAGAIN)
		return GW_OK; /* an outbox result not yet polled: poll starts it */
	gc->gen = gen;
	if (rc == GW_OK && started) {
		gc->inflight = 1;
		return GW_OK;
	}
	if (rc != GW_OK)
		GW_ERROR(gc->opt.log_module, "commit of %zu acknowledgements failed to start: %s",
			 gc->nwait, gw_strerror(rc));
	gc_settle(gc, gen, rc);
	return rc;
}

/* gc_ended - the commit in flight ended with `rc`: its waiters are told,
 * and the next commit is wanted if anything waits. */
static void gc_ended(struct gcommit *gc, int rc)
{
	gc->inflight = 0;
	gc->nbatch = 0;
	if (rc != GW_OK)
		GW_ERROR(gc->opt.log_module, "commit %llu failed: %s",
			 (unsigned long long)gc->gen, gw_strerror(rc));
	gc_settle(gc, gc->gen, rc);
	if (gc->nwait || outbox_queued(gc->opt.outbox))
		gc_want(gc);
}

int gcommit_poll(struct gcommit *gc)
{
	int rc;

	if (!gc->inflight || !outbox_commit_poll(gc->opt.outbox, &rc))
		return 0;
	gc_ended(gc, rc);
	return 1;
}

int gcommit_flush(struct gcommit *gc)
{
	int rc = GW_OK, r;

	for (;;) {
		if (gc->inflight) {
			outbox_commit_wait(gc->opt.outbox);
			/* The wait leaves the result to this poll. */
			if (!outbox_commit_poll(gc->opt.outbox, &r))
				r = GW_ESTORE;
			gc_ended(gc, r);
			if (r != GW_OK)
				rc = r;
			gc->scheduled = 0; /* this loop runs the next one */
		}
		if (!gc->nwait && outbox_queued(gc->opt.outbox) == 0)
			break;
		r = gcommit_run(gc);
		if (r != GW_OK)
			rc = r;
		if (!gc->inflight && r != GW_OK)
			break; /* could not start: its waiters were told */
	}
	return rc;
}

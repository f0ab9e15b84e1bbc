/*
 * seqtrack.h - follows the bus's gap-free `seq` for a consumer (gatewayctl
 * tail and replay): says whether an event is the next one, a duplicate
 * (already printed, e.g. live after replay) or comes after a gap that must be
 * filled by replay first. Pure bookkeeping, no I/O.
 *
 * A tracker is either anchored (it knows the last seq handed out) or not yet
 * (a live tail that has seen nothing: the first event or heartbeat anchors
 * it, since a tail without --from starts "now").
 *
 * Ownership: plain data held by the caller. Threading: one thread.
 */
#ifndef GW_SEQTRACK_H
#define GW_SEQTRACK_H

#include <stdint.h>

enum seq_verdict {
	SEQ_NEXT = 0, /* hand it out, then seqtrack_accept() */
	SEQ_GAP,      /* events [gap_from, gap_to] are missing before it */
	SEQ_DUP,      /* seen already: drop */
	SEQ_BAD,      /* seq 0: not a routed event */
};

struct seqtrack {
	uint64_t last; /* last seq handed out; 0 before the first */
	int anchored;
};

/* seqtrack_init - unanchored: the first event or heartbeat sets the start. */
void seqtrack_init(struct seqtrack *t);

/* seqtrack_init_from - anchored so that `from` (>= 1; 0 counts as 1) is next. */
void seqtrack_init_from(struct seqtrack *t, uint64_t from);

/*
 * seqtrack_check - the verdict for an event numbered `seq`. On SEQ_GAP,
 * *gap_from and *gap_to (both may be NULL) are the missing range. An
 * unanchored tracker says SEQ_NEXT for any seq >= 1. Does not change `t`.
 */
enum seq_verdict seqtrack_check(const struct seqtrack *t, uint64_t seq, uint64_t *gap_from,
				uint64_t *gap_to);

/* seqtrack_accept - records `seq` as handed out (anchors); ignores seq <= last. */
void seqtrack_accept(struct seqtrack *t, uint64_t seq);

/*
 * seqtrack_head - a heartbeat says the bus is at `head`. Returns 1 and the
 * missing range when events up to head were not seen, else 0. An unanchored
 * tracker anchors at head (nothing is missing).
 */
int seqtrack_head(struct seqtrack *t, uint64_t head, uint64_t *gap_from, uint64_t *gap_to);

/* seqtrack_skip_to - gives up on everything up to `seq` (it cannot be had). */
void seqtrack_skip_to(struct seqtrack *t, uint64_t seq);

/* seqtrack_next - the seq expected next (last + 1). */
uint64_t seqtrack_next(const struct seqtrack *t);

#endif

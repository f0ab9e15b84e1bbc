/* seqtrack.c - gap and duplicate detection on the bus's seq (see seqtrack.h). */
#include "gateway/ctl/seqtrack.h"

#include <stddef.h>

void seqtrack_init(struct seqtrack *t)
{
	t->last = 0;
	t->anchored = 0;
}

void seqtrack_init_from(struct seqtrack *t, uint64_t from)
{
	t->last = from > 0 ? from - 1 : 0;
	t->anchored = 1;
}

static void set_range(uint64_t *from, uint64_t *to, uint64_t a, uint64_t b)
{
	if (from)
		*from = a;
	if (to)
		*to = b;
}

enum seq_verdict seqtrack_check(const struct seqtrack *t, uint64_t seq, uint64_t *gap_from,
				uint64_t *gap_to)
{
	if (seq == 0)
		return SEQ_BAD;
	if (!t->anchored || seq == t->last + 1)
		return SEQ_NEXT;
	if (seq <= t->last)
		return SEQ_DUP;
	set_range(gap_from, gap_to, t->last + 1, seq - 1);
	return SEQ_GAP;
}

void seqtrack_accept(struct seqtrack *t, uint64_t seq)
{
	if (!t->anchored || seq > t->last)
		t->last = seq;
	t->anchored = 1;
}

int seqtrack_head(struct seqtrack *t, uint64_t head, uint64_t *gap_from, uint64_t *gap_to)
{
	if (!t->anchored) {
		t->last = head;
		t->anchored = 1;
		return 0;
	}
	if (head <= t->last)
		return 0;
	set_range(gap_from, gap_to, t->last + 1, head);
	return 1;
}

void seqtrack_skip_to(struct seqtrack *t, uint64_t seq)
{
	seqtrack_accept(t, seq);
}

uint64_t seqtrack_next(const struct seqtrack *t)
{
	return t->last + 1;
}

/*
 * limits.c - per-sender token buckets and loop detection (limits.h).
 *
 * The map is a fixed array of senders_max entries, allocated at creation,
 * with a chained hash index (power-of-two buckets, at least twice the
 * entries) and a doubly linked LRU list through the same entries (indices,
 * not pointers). A new sender takes a free entry, or the least recent one,
 * which leaves its bucket chain first. Nothing is allocated after
 * limits_create, so a flood of new senders costs a bounded amount of
 * memory and never fails.
 */
#include "connectors/limits.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define LIM_NONE UINT32_MAX
#define LIM_SENDERS_LIMIT 100000000LL

/* One content a sender sent lately. */
struct lim_recent {
	uint64_t content;
	int64_t first_ms; /* first seen in the current run of repeats */
	int64_t last_ms;  /* seen last */
	uint32_t count;   /* times in the current run; 0: slot unused */
};

struct lim_entry {
	unsigned char id[LIMITS_ID_LEN];
	uint32_t chain;      /* next entry of its hash bucket */
	uint32_t prev, next; /* LRU list, head the most recent */
	double tokens, auto_tokens;
	int64_t refill_ms, auto_refill_ms;
	struct lim_recent recent[LIMITS_RECENT];
};

struct limits {
	struct limits_settings s;
	struct lim_entry *e; /* s.senders_max */
	uint32_t *bucket;    /* nbucket chain heads */
	uint32_t nbucket;    /* a power of two */
	uint32_t n;          /* entries in use */
	uint32_t head, tail; /* LRU ends */
	double per_ms, auto_per_ms; /* refill rates */
};

int limits_create(const struct limits_settings *s, struct limits **out)
{
	struct limits *l;
	uint32_t nb = 16;

	*out = NULL;
	if (s->senders_max <= 0 || s->senders_max > LIM_SENDERS_LIMIT)
		return GW_EINVAL;
	while (nb < (uint32_t)s->senders_max * 2u)
		nb <<= 1;
	l = calloc(1, sizeof(*l));
	if (!l)
		return GW_ENOMEM;
	l->s = *s;
	l->e = calloc((size_t)s->senders_max, sizeof(*l->e));
	l->bucket = malloc((size_t)nb * sizeof(*l->bucket));
	if (!l->e || !l->bucket) {
		limits_destroy(l);
		return GW_ENOMEM;
	}
	memset(l->bucket, 0xff, (size_t)nb * sizeof(*l->bucket)); /* LIM_NONE */
	l->nbucket = nb;
	l->head = l->tail = LIM_NONE;
	l->per_ms = (double)s->sender_per_minute / 60000.0;
	l->auto_per_ms = (double)s->automated_per_hour / 3600000.0;
	*out = l;
	return GW_OK;
}

void limits_destroy(struct limits *l)
{
	if (!l)
		return;
	free(l->e);
	free(l->bucket);
	free(l);
}

size_t limits_tracked(const struct limits *l)
{
	return l->n;
}

const char *limits_verdict_name(enum limits_verdict v)
{
	switch (v) {
	case LIMITS_PASS: return "pass";
	case LIMITS_RATE: return "rate_limited";
	case LIMITS_LOOP: return "loop";
	case LIMITS_AUTOMATED: return "automated";
	}
	return "?";
}

/* ---- the map ------------------------------------------------------------ */

static uint32_t lim_bucket_of(const struct limits *l, const unsigned char *id)
{
	uint32_t h;

	memcpy(&h, id, sizeof(h)); /* ids are digests: any bytes are uniform */
	return h & (l->nbucket - 1);
}

static void lru_unlink(struct limits *l, uint32_t i)
{
	struct lim_entry *e = &l->e[i];

	if (e->prev != LIM_NONE)
		l->e[e->prev].next = e->next;
	else
		l->head = e->next;
	if (e->next != LIM_NONE)
		l->e[e->next].prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = LIM_NONE;
}

static void lru_push_head(struct limits *l, uint32_t i)
{
	struct lim_entry *e = &l->e[i];

	e->prev = LIM_NONE;
	e->next = l->head;
	if (l->head != LIM_NONE)
		l->e[l->head].prev = i;
	l->head = i;
	if (l->tail == LIM_NONE)
		l->tail = i;
}

/* chain_unlink - takes entry i out of its bucket's chain. */
static void chain_unlink(struct limits *l, uint32_t i)
{
	uint32_t *p = &l->bucket[lim_bucket_of(l, l->e[i].id)];

	while (*p != LIM_NONE && *p != i)
		p = &l->e[*p].chain;
	if (*p == i)
		*p = l->e[i].chain;
}

/* lim_new_entry - a free entry, or the least recent one forgotten. */
static uint32_t lim_new_entry(struct limits *l)
{
	uint32_t i;

	if (l->n < (uint32_t)l->s.senders_max)
		return l->n++;
	i = l->tail;
	chain_unlink(l, i);
	lru_unlink(l, i);
	return i;
}

/* lim_find - the entry of `id`, made the most recent; created (full
 * buckets) when the sender is new. */
static struct lim_entry *lim_find(struct limits *l, const unsigned char *id, int64_t now)
{
	uint32_t b = lim_bucket_of(l, id), i;
	struct lim_entry *e;

	for (i = l->bucket[b]; i != LIM_NONE; i = l->e[i].chain) {
		if (memcmp(l->e[i].id, id, LIMITS_ID_LEN) == 0) {
			lru_unlink(l, i);
			lru_push_head(l, i);
			return &l->e[i];
		}
	}
	i = lim_new_entry(l);
	e = &l->e[i];
	memset(e, 0, sizeof(*e));
	memcpy(e->id, id, LIMITS_ID_LEN);
	e->tokens = (double)l->s.sender_burst;
	e->auto_tokens = (double)l->s.automated_burst;
	e->refill_ms = e->auto_refill_ms = now;
	e->chain = l->bucket[b];
	l->bucket[b] = i;
	lru_push_head(l, i);
	return e;
}

/* ---- the limits --------------------------------------------------------- */

/* bucket_short - refills a bucket up to now; 0 when it holds a token, else
 * the ms until it does. A clock that went back refills nothing. */
static int64_t bucket_short(double *tokens, int64_t *at, double per_ms, double cap, int64_t now)
{
	if (now > *at) {
		*tokens += (double)(now - *at) * per_ms;
		if (*tokens > cap)
			*tokens = cap;
		*at = now;
	}
	if (*tokens >= 1.0)
		return 0;
	return (int64_t)ceil((1.0 - *tokens) / per_ms);
}

/* lim_slot - the recent slot of `content`, else the free or oldest one,
 * cleared for it. */
static struct lim_recent *lim_slot(struct lim_entry *e, uint64_t content)
{
	struct lim_recent *r = &e->recent[0];

	for (size_t i = 0; i < LIMITS_RECENT; i++) {
		struct lim_recent *x = &e->recent[i];

		if (x->count && x->content == content)
			return x;
		if (r->count && (!x->count || x->last_ms < r->last_ms))
			r = x;
	}
	memset(r, 0, sizeof(*r));
	r->content = content;
	return r;
}

/*
 * lim_loop - counts a repeat of `content`; the ms until the loop is over
 * when it is one (the content must stay away a whole window), else 0. A
 * run of repeats starts again once its window is over, unless it is a loop
 * already: then only a window of silence ends it.
 */
static int64_t lim_loop(const struct limits *l, struct lim_entry *e, uint64_t content,
			int64_t now)
{
	int64_t window = l->s.loop_window_s * 1000;
	uint32_t max = (uint32_t)l->s.loop_repeats;
	struct lim_recent *r = lim_slot(e, content);
	int looping = r->count > max;

	if (r->count && ((looping && now - r->last_ms > window) ||
			 (!looping && now - r->first_ms > window)))
		r->count = 0;
	if (r->count == 0)
		r->first_ms = now;
	if (r->count < UINT32_MAX)
		r->count++;
	r->last_ms = now;
	return r->count > max ? window : 0;
}

enum limits_verdict limits_check(struct limits *l, const struct limits_msg *m, int64_t now_ms,
				 int64_t *retry_after_ms)
{
	struct lim_entry *e = lim_find(l, m->sender, now_ms);
	enum limits_verdict v = LIMITS_PASS;
	int64_t wait = 0;

	if (l->s.loop_repeats > 0)
		wait = lim_loop(l, e, m->content, now_ms);
	if (wait)
		v = LIMITS_LOOP;
	if (!v && m->automated && l->s.automated_per_hour > 0) {
		wait = bucket_short(&e->auto_tokens, &e->auto_refill_ms, l->auto_per_ms,
				    (double)l->s.automated_burst, now_ms);
		if (wait)
			v = LIMITS_AUTOMATED;
	}
	if (!v && l->s.sender_per_minute > 0) {
		wait = bucket_short(&e->tokens, &e->refill_ms, l->per_ms, (double)l->s.sender_burst,
				    now_ms);
		if (wait)
			v = LIMITS_RATE;
	}
	if (!v) {
		if (m->automated && l->s.automated_per_hour > 0)
			e->auto_tokens -= 1.0;
		if (l->s.sender_per_minute > 0)
			e->tokens -= 1.0;
	}
	if (retry_after_ms)
		*retry_after_ms = v ? (wait > 0 ? wait : 1) : 0;
	return v;
}

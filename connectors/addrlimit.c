/*
 * addrlimit.c - connections and request buckets per client address
 * (addrlimit.h).
 *
 * Entries live in one array allocated at creation. A chained hash (indexes,
 * -1 ends a chain) finds an address; the entries that hold no connection
 * are on a list in the order they were released, the oldest forgotten
 * first when a new address needs a slot.
 */
#include "connectors/addrlimit.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define AL_NONE (-1)

struct addr_entry {
	char addr[ADDRLIMIT_ADDR_MAX];
	long long conns;
	double tokens;      /* of the bucket, valid once refill_us != 0 */
	int64_t refill_us;  /* last refill; 0: a full bucket never used */
	int hnext;          /* next in its hash chain */
	int prev, next;     /* in the idle list (conns == 0), or the free list */
	unsigned char used; /* in the hash */
};

struct addrlimit {
	struct addrlimit_options opt;
	struct addr_entry *e;
	int *buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
	int free_head;
	int idle_head, idle_tail; /* oldest, newest */
};

static unsigned al_hash(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

int addrlimit_create(const struct addrlimit_options *opt, struct addrlimit **out)
{
	struct addrlimit *al;

	*out = NULL;
	if (opt->capacity == 0 || opt->capacity > (size_t)INT32_MAX / 4)
		return GW_EINVAL;
	al = calloc(1, sizeof(*al));
	if (!al)
		return GW_ENOMEM;
	al->opt = *opt;
	if (al->opt.burst < 1)
		al->opt.burst = 1;
	al->nbuckets = 16;
	while (al->nbuckets < opt->capacity * 2)
		al->nbuckets *= 2;
	al->e = calloc(opt->capacity, sizeof(*al->e));
	al->buckets = malloc(al->nbuckets * sizeof(*al->buckets));
	if (!al->e || !al->buckets) {
		addrlimit_destroy(al);
		return GW_ENOMEM;
	}
	for (size_t i = 0; i < al->nbuckets; i++)
		al->buckets[i] = AL_NONE;
	for (size_t i = 0; i < opt->capacity; i++)
		al->e[i].next = i + 1 < opt->capacity ? (int)i + 1 : AL_NONE;
	al->free_head = 0;
	al->idle_head = al->idle_tail = AL_NONE;
	*out = al;
	return GW_OK;
}

void addrlimit_destroy(struct addrlimit *al)
{
	if (!al)
		return;
	free(al->e);
	free(al->buckets);
	free(al);
}

static int al_index(const struct addrlimit *al, const struct addr_entry *e)
{
	return (int)(e - al->e);
}

static void al_idle_remove(struct addrlimit *al, struct addr_entry *e)
{
	if (e->prev != AL_NONE)
		al->e[e->prev].next = e->next;
	else
		al->idle_head = e->next;
	if (e->next != AL_NONE)
		al->e[e->next].prev = e->prev;
	else
		al->idle_tail = e->prev;
	e->prev = e->next = AL_NONE;
}

static void al_idle_append(struct addrlimit *al, struct addr_entry *e)
{
	int i = al_index(al, e);

	e->next = AL_NONE;
	e->prev = al->idle_tail;
	if (al->idle_tail != AL_NONE)
		al->e[al->idle_tail].next = i;
	else
		al->idle_head = i;
	al->idle_tail = i;
}

static struct addr_entry *al_find(const struct addrlimit *al, const char *addr, unsigned h)
{
	for (int i = al->buckets[h & (al->nbuckets - 1)]; i != AL_NONE; i = al->e[i].hnext)
		if (strcmp(al->e[i].addr, addr) == 0)
			return &al->e[i];
	return NULL;
}

/* Takes `e` out of its hash chain. */
static void al_unhash(struct addrlimit *al, struct addr_entry *e)
{
	int *p = &al->buckets[al_hash(e->addr) & (al->nbuckets - 1)];
	int i = al_index(al, e);

	while (*p != AL_NONE && *p != i)
		p = &al->e[*p].hnext;
	if (*p == i)
		*p = e->hnext;
	e->used = 0;
	al->count--;
}

/* A slot for a new address: a free one, else the oldest idle one. */
static struct addr_entry *al_slot(struct addrlimit *al)
{
	struct addr_entry *e;

	if (al->free_head != AL_NONE) {
		e = &al->e[al->free_head];
		al->free_head = e->next;
		return e;
	}
	if (al->idle_head == AL_NONE)
		return NULL;
	e = &al->e[al->idle_head];
	al_idle_remove(al, e);
	al_unhash(al, e);
	return e;
}

int addrlimit_take(struct addrlimit *al, const char *addr, struct addr_entry **out)
{
	char key[ADDRLIMIT_ADDR_MAX];
	size_t n = strnlen(addr, sizeof(key) - 1);
	unsigned h;
	struct addr_entry *e;

	memcpy(key, addr, n);
	key[n] = '\0';
	h = al_hash(key);
	*out = NULL;
	e = al_find(al, key, h);
	if (e) {
		if (al->opt.max_per_addr > 0 && e->conns >= al->opt.max_per_addr)
			return GW_ETOOBIG;
		if (e->conns == 0)
			al_idle_remove(al, e);
	} else {
		e = al_slot(al);
		if (!e)
			return GW_EFULL;
		memset(e, 0, sizeof(*e));
		memcpy(e->addr, key, n + 1);
		e->used = 1;
		e->prev = e->next = AL_NONE;
		e->hnext = al->buckets[h & (al->nbuckets - 1)];
		al->buckets[h & (al->nbuckets - 1)] = al_index(al, e);
		al->count++;
	}
	e->conns++;
	*out = e;
	return GW_OK;
}

void addrlimit_release(struct addrlimit *al, struct addr_entry *e)
{
	if (!e || e->conns <= 0)
		return;
	if (--e->conns == 0)
		al_idle_append(al, e);
}

/* al_refill - the bucket of `e` at `now_us`: the tokens earned since its
 * last refill, up to burst. */
static void al_refill(const struct addrlimit *al, struct addr_entry *e, int64_t now_us)
{
	double per_us = (double)al->opt.per_minute / 60e6;
	double burst = (double)al->opt.burst;

	if (e->refill_us == 0) {
		e->tokens = burst;
	} else if (now_us > e->refill_us) {
		e->tokens += (double)(now_us - e->refill_us) * per_us;
		if (e->tokens > burst)
			e->tokens = burst;
	}
	e->refill_us = now_us > 0 ? now_us : 1;
}

/* al_wait - GW_OK when `e` has a token, else GW_EAGAIN and the whole
 * seconds (rounded up, >= 1) until it has one. */
static int al_wait(const struct addrlimit *al, const struct addr_entry *e,
		   unsigned *retry_after_s)
{
	double per_us = (double)al->opt.per_minute / 60e6, wait_s;

	if (e->tokens >= 1.0)
		return GW_OK;
	wait_s = (1.0 - e->tokens) / per_us / 1e6;
	/* Whole seconds, rounded up: a client that waits them finds a token. */
	if (wait_s > 86400.0)
		wait_s = 86400.0;
	*retry_after_s = (unsigned)wait_s;
	if ((double)*retry_after_s < wait_s || *retry_after_s == 0)
		(*retry_after_s)++;
	return GW_EAGAIN;
}

int addrlimit_request(struct addrlimit *al, struct addr_entry *e, int64_t now_us,
		      unsigned *retry_after_s)
{
	*retry_after_s = 0;
	if (al->opt.per_minute <= 0)
		return GW_OK;
	al_refill(al, e, now_us);
	if (al_wait(al, e, retry_after_s) != GW_OK)
		return GW_EAGAIN;
	e->tokens -= 1.0;
	return GW_OK;
}

int addrlimit_peek(struct addrlimit *al, struct addr_entry *e, int64_t now_us,
		   unsigned *retry_after_s)
{
	*retry_after_s = 0;
	if (al->opt.per_minute <= 0)
		return GW_OK;
	al_refill(al, e, now_us);
	return al_wait(al, e, retry_after_s);
}

const char *addrlimit_addr(const struct addr_entry *e)
{
	return e->addr;
}

long long addrlimit_conns(const struct addr_entry *e)
{
	return e->conns;
}

size_t addrlimit_count(const struct addrlimit *al)
{
	return al->count;
}

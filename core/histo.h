/*
 * histo.h - a fixed-bucket histogram, as Prometheus reads one: upper bounds
 * chosen at compile time, a count per bucket, the sum and the count of the
 * observations. A process keeps it in its counters and writes it in its
 * status file (gw_histo_json); gateway-metrics turns it into the
 * `_bucket{le=...}`, `_sum` and `_count` lines of /metrics.
 *
 * Threading: none inside; the holder serializes observe and read (the
 * reply sender under its mutex, the router on its one thread).
 */
#ifndef GW_HISTO_H
#define GW_HISTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The most finite bounds a histogram may have (+Inf is always added). */
#define GW_HISTO_MAX_BOUNDS 16

struct gw_histo {
	const double *le;   /* borrowed, static: ascending finite upper bounds */
	size_t n;           /* how many, at most GW_HISTO_MAX_BOUNDS */
	uint64_t counts[GW_HISTO_MAX_BOUNDS + 1]; /* per bucket, not cumulative;
						   * [n] is above the last bound */
	double sum;
	uint64_t count;
};

/* gw_histo_init - an empty histogram over `le` (n bounds, borrowed, must
 * outlive it; more than GW_HISTO_MAX_BOUNDS are cut to that many). */
void gw_histo_init(struct gw_histo *h, const double *le, size_t n);

/* gw_histo_observe - counts `v` in the first bucket whose bound is >= v. */
void gw_histo_observe(struct gw_histo *h, double v);

/*
 * gw_histo_json - {"le": [bounds...], "buckets": [cumulative counts, one
 * per bound], "sum": S, "count": N} (the +Inf bucket is "count"). New
 * reference; NULL when out of memory.
 */
json_t *gw_histo_json(const struct gw_histo *h);

#endif

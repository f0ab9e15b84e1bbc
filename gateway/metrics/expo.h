/*
 * expo.h - the Prometheus text exposition format, version 0.0.4, written
 * into a bounded buffer: `# HELP` and `# TYPE` once per family, then its
 * samples `name{label="value",...} value`, label values and help texts
 * escaped as the format says (`\\`, `\"`, `\n`), histograms as their
 * cumulative `_bucket{le="..."}` lines, `+Inf` last, then `_sum` and
 * `_count`.
 *
 * The caller writes each family's samples together, right after its
 * expo_family() (the format wants a family in one block). Names and label
 * names are the caller's constants and are not checked; label values and
 * help texts may be anything.
 *
 * Errors: the buffer never grows past its `max`; once a write does not fit
 * (or memory runs out) the writer is failed: later writes do nothing and
 * expo_failed() says so, so that a scrape answers 500 rather than a page
 * cut in the middle. Threading: one writer per thread.
 */
#ifndef GW_METRICS_EXPO_H
#define GW_METRICS_EXPO_H

#include <stddef.h>
#include <stdint.h>

/* The media type of the page. */
#define EXPO_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct expo {
	char *buf;  /* owned; NUL-terminated while not failed */
	size_t len; /* bytes written */
	size_t cap; /* bytes allocated */
	size_t max; /* most bytes it may hold */
	int failed; /* GW_ETOOBIG or GW_ENOMEM once a write did not fit */
};

/* expo_init - an empty writer of at most `max` bytes; allocates nothing yet. */
void expo_init(struct expo *e, size_t max);

/* expo_free - frees the buffer; accepts a writer never used. */
void expo_free(struct expo *e);

/* expo_failed - 0, or GW_ETOOBIG / GW_ENOMEM after a write that failed. */
int expo_failed(const struct expo *e);

/* expo_family - the `# HELP` and `# TYPE` lines of family `name`; `type` is
 * "counter", "gauge" or "histogram". */
void expo_family(struct expo *e, const char *name, const char *type, const char *help);

/*
 * expo_sample - one sample line. `labels` is NULL or a NULL-terminated list
 * of name, value pairs ({"connector", "api", NULL}); a pair whose value is
 * NULL is left out. `v` is written as an integer when it is one, and as
 * +Inf, -Inf, NaN when it is.
 */
void expo_sample(struct expo *e, const char *name, const char *const *labels, double v);

/*
 * expo_histogram - the lines of one histogram series of family `name`:
 * `name_bucket` for each of the `n` bounds `le` with its cumulative count
 * `cum[i]`, `+Inf` with `count`, then `name_sum` and `name_count`; `labels`
 * as for expo_sample (le is added last).
 */
void expo_histogram(struct expo *e, const char *name, const char *const *labels,
		    const double *le, const uint64_t *cum, size_t n, double sum, uint64_t count);

/* expo_format_value - `v` as expo_sample writes it, into buf (>= 32 bytes). */
void expo_format_value(char *buf, size_t size, double v);

#endif

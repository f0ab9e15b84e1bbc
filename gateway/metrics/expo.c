/*
 * expo.c - the Prometheus text exposition format (see expo.h).
 */
#include "gateway/metrics/expo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define EXPO_FIRST_CAP 4096

void expo_init(struct expo *e, size_t max)
{
	memset(e, 0, sizeof(*e));
	e->max = max;
}

void expo_free(struct expo *e)
{
	free(e->buf);
	memset(e, 0, sizeof(*e));
}

int expo_failed(const struct expo *e)
{
	return e->failed;
}

/* reserve - room for `more` bytes and the NUL, within max; else failed. */
static int reserve(struct expo *e, size_t more)
{
	size_t need = e->len + more + 1, cap = e->cap ? e->cap : EXPO_FIRST_CAP;
	char *nb;

	if (e->failed)
		return -1;
	if (more > e->max || need > e->max) {
		e->failed = GW_ETOOBIG;
		return -1;
	}
	if (need <= e->cap)
		return 0;
	while (cap < need)
		cap = cap > e->max / 2 ? e->max : cap * 2;
	nb = realloc(e->buf, cap);
	if (!nb) {
		e->failed = GW_ENOMEM;
		return -1;
	}
	e->buf = nb;
	e->cap = cap;
	return 0;
}

static void put(struct expo *e, const char *s, size_t n)
{
	if (reserve(e, n) != 0)
		return;
	memcpy(e->buf + e->len, s, n);
	e->len += n;
	e->buf[e->len] = '\0';
}

static void puts_(struct expo *e, const char *s)
{
	put(e, s, strlen(s));
}

/* put_escaped - `s` with `\` and newline escaped, and `"` too in a label. */
static void put_escaped(struct expo *e, const char *s, int label)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(e, "\\\\", 2);
		else if (*s == '\n')
			put(e, "\\n", 2);
		else if (*s == '"' && label)
			put(e, "\\\"", 2);
		else
			put(e, s, 1);
	}
}

void expo_format_value(char *buf, size_t size, double v)
{
	if (isnan(v))
		snprintf(buf, size, "NaN");
	else if (isinf(v))
		snprintf(buf, size, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		snprintf(buf, size, "%.0f", v);
	else {
		/* The shortest of 15 or 17 digits that reads back as `v`:
		 * le="0.1", not le="0.10000000000000001". */
		snprintf(buf, size, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, size, "%.17g", v);
	}
}

void expo_family(struct expo *e, const char *name, const char *type, const char *help)
{
	puts_(e, "# HELP ");
	puts_(e, name);
	put(e, " ", 1);
	put_escaped(e, help, 0);
	puts_(e, "\n# TYPE ");
	puts_(e, name);
	put(e, " ", 1);
	puts_(e, type);
	put(e, "\n", 1);
}

/* put_labels - `{a="x",b="y"}` with `extra` (name, value; may be NULL) last;
 * nothing when there is no label at all. */
static void put_labels(struct expo *e, const char *const *labels, const char *extra_name,
		       const char *extra_value)
{
	int n = 0;

	for (size_t i = 0; labels && labels[i]; i += 2) {
		if (!labels[i + 1])
			continue;
		put(e, n++ ? "," : "{", 1);
		puts_(e, labels[i]);
		put(e, "=\"", 2);
		put_escaped(e, labels[i + 1], 1);
		put(e, "\"", 1);
	}
	if (extra_name) {
		put(e, n++ ? "," : "{", 1);
		puts_(e, extra_name);
		put(e, "=\"", 2);
		put_escaped(e, extra_value, 1);
		put(e, "\"", 1);
	}
	if (n)
		put(e, "}", 1);
}

static void line(struct expo *e, const char *name, const char *suffix,
		 const char *const *labels, const char *le, double v)
{
	char val[64];

	expo_format_value(val, sizeof(val), v);
	puts_(e, name);
	puts_(e, suffix);
	put_labels(e, labels, le ? "le" : NULL, le);
	put(e, " ", 1);
	puts_(e, val);
	put(e, "\n", 1);
}

void expo_sample(struct expo *e, const char *name, const char *const *labels, double v)
{
	line(e, name, "", labels, NULL, v);
}

void expo_histogram(struct expo *e, const char *name, const char *const *labels,
		    const double *le, const uint64_t *cum, size_t n, double sum, uint64_t count)
{
	char bound[64];

	for (size_t i = 0; i < n; i++) {
		expo_format_value(bound, sizeof(bound), le[i]);
		line(e, name, "_bucket", labels, bound, (double)cum[i]);
	}
	line(e, name, "_bucket", labels, "+Inf", (double)count);
	line(e, name, "_sum", labels, NULL, sum);
	line(e, name, "_count", labels, NULL, (double)count);
}

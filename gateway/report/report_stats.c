/*
 * report_stats.c - the samples of a report's time figures, their median and
 * 90th percentile (report.h).
 */
#include "gateway/report/report.h"

#include <stdlib.h>

#include "core/err.h"

int report_times_add(struct report_times *t, int64_t ms, size_t *total)
{
	int64_t *nv;
	size_t cap;

	if (*total >= REPORT_MAX_SAMPLES)
		return GW_EFULL;
	if (t->n == t->cap) {
		cap = t->cap ? t->cap * 2 : 16;
		nv = realloc(t->v, cap * sizeof(*nv));
		if (!nv)
			return GW_ENOMEM;
		t->v = nv;
		t->cap = cap;
	}
	t->v[t->n++] = ms < 0 ? 0 : ms;
	(*total)++;
	return GW_OK;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int64_t report_median(int64_t *v, size_t n)
{
	if (n == 0)
		return -1;
	qsort(v, n, sizeof(*v), cmp_i64);
	if (n % 2)
		return v[n / 2];
	/* The mean of the two middle values without overflow. */
	return v[n / 2 - 1] + (v[n / 2] - v[n / 2 - 1]) / 2;
}

int64_t report_p90(int64_t *v, size_t n)
{
	size_t rank;

	if (n == 0)
		return -1;
	qsort(v, n, sizeof(*v), cmp_i64);
	rank = (n * 9 + 9) / 10; /* ceil(0.9 n), from 1 */
	return v[rank - 1];
}

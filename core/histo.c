/*
 * histo.c - fixed-bucket histograms (see histo.h).
 */
#include "core/histo.h"

#include <string.h>

void gw_histo_init(struct gw_histo *h, const double *le, size_t n)
{
	memset(h, 0, sizeof(*h));
	h->le = le;
	h->n = n > GW_HISTO_MAX_BOUNDS ? GW_HISTO_MAX_BOUNDS : n;
}

void gw_histo_observe(struct gw_histo *h, double v)
{
	size_t i = 0;

	while (i < h->n && v > h->le[i])
		i++;
	h->counts[i]++;
	h->sum += v;
	h->count++;
}

json_t *gw_histo_json(const struct gw_histo *h)
{
	json_t *le = json_array(), *buckets = json_array();
	uint64_t cum = 0;
	int bad = !le || !buckets;

	for (size_t i = 0; !bad && i < h->n; i++) {
		cum += h->counts[i];
		bad = json_array_append_new(le, json_real(h->le[i])) != 0 ||
		      json_array_append_new(buckets, json_integer((json_int_t)cum)) != 0;
	}
	if (bad) {
		json_decref(le);
		json_decref(buckets);
		return NULL;
	}
	/* "o" steals both arrays, also when packing fails. */
	return json_pack("{s:o,s:o,s:f,s:I}", "le", le, "buckets", buckets, "sum", h->sum,
			 "count", (json_int_t)h->count);
}

/*
 * report_tags.c - by tag: the tags a report has seen and the tags of each
 * ticket (report_int.h).
 *
 * A tag is interned once (tag_names, found through an open-addressing hash
 * of their indexes); a ticket tagged at least once owns one struct rtags in
 * tagsets, replaced whole by each ticket event, so that its rows are those
 * of the tags the event says. A ticket never tagged costs nothing more.
 * Reports by another dimension never call here.
 */
#include "gateway/report/report_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "proto/proto.h"

_Static_assert(REPORT_TICKET_TAGS == PROTO_MAX_TAGS, "a report keeps every tag of a ticket");
_Static_assert(GW_TAG_MAX < REPORT_KEY_MAX, "a tag is a row key");
_Static_assert(REPORT_MAX_TAG_NAMES <= UINT16_MAX, "tag ids are 16 bits");
_Static_assert(sizeof(struct rticket) == 40, "a tracked ticket stays 40 bytes");

/* rehash - the hash at `cap` slots (a power of two) from tag_names. */
static int rehash(struct report *r, size_t cap)
{
	uint32_t *nh = calloc(cap, sizeof(*nh));

	if (!nh)
		return GW_ENOMEM;
	for (size_t i = 0; i < r->n_tag_names; i++) {
		size_t s = report_str_hash(r->tag_names[i]) & (cap - 1);

		while (nh[s])
			s = (s + 1) & (cap - 1);
		nh[s] = (uint32_t)i + 1;
	}
	free(r->tag_hash);
	r->tag_hash = nh;
	r->tag_hash_cap = cap;
	return GW_OK;
}

/* slot_of - the hash slot of `tag`: where it is, or the free one where
 * it goes. */
static size_t slot_of(const struct report *r, const char *tag)
{
	size_t s = report_str_hash(tag) & (r->tag_hash_cap - 1);

	while (r->tag_hash[s] && strcmp(r->tag_names[r->tag_hash[s] - 1], tag) != 0)
		s = (s + 1) & (r->tag_hash_cap - 1);
	return s;
}

/* tag_intern - the index of `tag` in tag_names, added when new. */
static int tag_intern(struct report *r, const char *tag, uint16_t *out)
{
	char **nv;
	size_t s;
	int rc;

	if ((r->n_tag_names + 1) * 2 > r->tag_hash_cap) {
		rc = rehash(r, r->tag_hash_cap ? r->tag_hash_cap * 2 : 64);
		if (rc)
			return rc;
	}
	s = slot_of(r, tag);
	if (!r->tag_hash[s]) {
		if (r->n_tag_names >= REPORT_MAX_TAG_NAMES)
			return GW_EFULL;
		nv = realloc(r->tag_names, (r->n_tag_names + 1) * sizeof(*nv));
		if (!nv)
			return GW_ENOMEM;
		r->tag_names = nv;
		nv[r->n_tag_names] = gw_strdup(tag);
		if (!nv[r->n_tag_names])
			return GW_ENOMEM;
		r->tag_hash[s] = (uint32_t)++r->n_tag_names;
	}
	*out = (uint16_t)(r->tag_hash[s] - 1);
	return GW_OK;
}

/* tagset_new - a set for ticket `t`, which has none yet. */
static int tagset_new(struct report *r, struct rticket *t)
{
	struct rtags *nv;
	size_t cap;

	if (r->n_tagsets >= REPORT_MAX_TICKETS)
		return GW_EFULL;
	if (r->n_tagsets == r->tagsets_cap) {
		cap = r->tagsets_cap ? r->tagsets_cap * 2 : 256;
		nv = realloc(r->tagsets, cap * sizeof(*nv));
		if (!nv)
			return GW_ENOMEM;
		r->tagsets = nv;
		r->tagsets_cap = cap;
	}
	r->tagsets[r->n_tagsets].n = 0;
	t->tags = (uint32_t)++r->n_tagsets;
	return GW_OK;
}

int report_tags_take(struct report *r, struct rticket *t, char *const *tags, size_t n)
{
	struct rtags *set;
	uint16_t id = 0;
	int rc = GW_OK;

	if (n > REPORT_TICKET_TAGS)
		return GW_EFULL;
	if (!t->tags && n)
		rc = tagset_new(r, t);
	if (rc || !t->tags)
		return rc;
	set = &r->tagsets[t->tags - 1];
	set->n = 0;
	for (size_t i = 0; i < n && rc == GW_OK; i++) {
		size_t j = 0;

		if (!tags[i] || !tags[i][0])
			continue; /* no tag */
		rc = tag_intern(r, tags[i], &id);
		while (j < set->n && set->v[j] != id)
			j++;
		if (rc == GW_OK && j == set->n)
			set->v[set->n++] = id; /* each once */
	}
	return rc;
}

void report_tags_free(struct report *r)
{
	for (size_t i = 0; i < r->n_tag_names; i++)
		free(r->tag_names[i]);
	free(r->tag_names);
	free(r->tag_hash);
	free(r->tagsets);
}

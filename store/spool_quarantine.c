/*
 * spool_quarantine.c - the record of a connector's quarantine
 * (spool_quarantine.h): encode and a strict decode. The table itself is
 * spool.c's.
 */
#include "store/spool_quarantine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "store/store_int.h"

/* The fixed part: version, kind, at. */
#define SQ_HEAD 10

/* A bounded reader over the stored bytes. */
struct sq_in {
	const unsigned char *b;
	size_t len, off;
};

/* A string field: its length is written in `width` bytes (1, 2). */
struct sq_str {
	char *dst;
	size_t max;
	int width;
};

const char *spoolq_kind_name(enum spoolq_kind k)
{
	return k == SPOOLQ_HELD ? "held" : k == SPOOLQ_BODY ? "body" : "?";
}

/* sq_put_len - `v` big-endian in `width` bytes. */
static unsigned char *sq_put_len(unsigned char *p, size_t v, int width)
{
	for (int i = width - 1; i >= 0; i--)
		*p++ = (unsigned char)(v >> (8 * i));
	return p;
}

/* sq_put_str - a string cut to `max` bytes, after its length. */
static unsigned char *sq_put_str(unsigned char *p, const char *s, size_t max, int width)
{
	size_t n = strnlen(s, max);

	p = sq_put_len(p, n, width);
	memcpy(p, s, n);
	return p + n;
}

int spoolq_encode(const struct spoolq_rec *r, char **out, size_t *len)
{
	char reason[SPOOLQ_REASON_MAX + 1];
	unsigned char *buf, *p;
	size_t cap;

	*out = NULL;
	*len = 0;
	if (r->kind != SPOOLQ_HELD && r->kind != SPOOLQ_BODY)
		return GW_EINVAL;
	if (r->len > SPOOLQ_DATA_MAX)
		return GW_ETOOBIG;
	snprintf(reason, sizeof(reason), "%s", r->reason);
	gw_utf8_cut(reason, SPOOLQ_REASON_MAX);
	cap = SQ_HEAD + 2 + SPOOLQ_REASON_MAX + 1 + PROTO_MAX_CHANNEL + 2 + PROTO_MAX_ADDRESS + 2 +
	      PROTO_MAX_EXTERNAL_ID + 1 + SPOOLQ_TYPE_MAX + 4 + r->len;
	buf = malloc(cap);
	if (!buf)
		return GW_ENOMEM;
	p = buf;
	*p++ = SPOOLQ_VERSION;
	*p++ = (unsigned char)r->kind;
	store_be64_put(p, (uint64_t)r->at);
	p += 8;
	p = sq_put_str(p, reason, SPOOLQ_REASON_MAX, 2);
	p = sq_put_str(p, r->channel, PROTO_MAX_CHANNEL, 1);
	p = sq_put_str(p, r->sender, PROTO_MAX_ADDRESS, 2);
	p = sq_put_str(p, r->external_id, PROTO_MAX_EXTERNAL_ID, 2);
	p = sq_put_str(p, r->content_type, SPOOLQ_TYPE_MAX, 1);
	p = sq_put_len(p, r->len, 4);
	if (r->len)
		memcpy(p, r->data, r->len);
	*out = (char *)buf;
	*len = (size_t)(p - buf) + r->len;
	return GW_OK;
}

/* sq_get_len - a length of `width` bytes; -1 past the end. */
static int sq_get_len(struct sq_in *in, int width, size_t *v)
{
	if (in->len - in->off < (size_t)width)
		return -1;
	*v = 0;
	for (int i = 0; i < width; i++)
		*v = (*v << 8) | in->b[in->off++];
	return 0;
}

/* sq_get_str - a string of at most f->max bytes, without NUL. */
static int sq_get_str(struct sq_in *in, const struct sq_str *f)
{
	size_t n;

	if (sq_get_len(in, f->width, &n) != 0 || n > f->max || in->len - in->off < n ||
	    memchr(in->b + in->off, '\0', n))
		return -1;
	memcpy(f->dst, in->b + in->off, n);
	f->dst[n] = '\0';
	in->off += n;
	return 0;
}

/* sq_get_fields - every field after the fixed part. */
static int sq_get_fields(struct sq_in *in, struct spoolq_rec *r)
{
	const struct sq_str strs[] = {
		{r->reason, SPOOLQ_REASON_MAX, 2},
		{r->channel, PROTO_MAX_CHANNEL, 1},
		{r->sender, PROTO_MAX_ADDRESS, 2},
		{r->external_id, PROTO_MAX_EXTERNAL_ID, 2},
		{r->content_type, SPOOLQ_TYPE_MAX, 1},
	};
	size_t n;

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (sq_get_str(in, &strs[i]) != 0)
			return -1;
	if (sq_get_len(in, 4, &n) != 0 || n > SPOOLQ_DATA_MAX || in->len - in->off != n)
		return -1;
	r->data = in->b + in->off;
	r->len = n;
	return 0;
}

int spoolq_decode(const void *buf, size_t len, struct spoolq_rec *r)
{
	struct sq_in in = {buf, len, SQ_HEAD};
	uint64_t id = r->id;

	memset(r, 0, sizeof(*r));
	r->id = id;
	if (len < SQ_HEAD || in.b[0] != SPOOLQ_VERSION ||
	    (in.b[1] != SPOOLQ_HELD && in.b[1] != SPOOLQ_BODY))
		goto bad;
	r->kind = (enum spoolq_kind)in.b[1];
	r->at = (int64_t)store_be64_get(in.b + 2);
	if (sq_get_fields(&in, r) != 0)
		goto bad;
	return GW_OK;
bad:
	memset(r, 0, sizeof(*r));
	r->id = id;
	return GW_EPROTO;
}

/*
 * fuzz_chunked.c - libFuzzer target for the chunked request body decoder
 * (connectors/chunked.c) of the HTTP listeners. The first byte chooses how
 * the input is cut into pieces (bodies arrive in arbitrary reads) and the
 * output's size; the decoder must never write past its buffer or read past
 * a piece, and a body decoded whole or piece by piece gives the same bytes
 * and the same end; so does chunked_read into a buffer that grows from one
 * byte up to that size.
 *   build-fuzz/bin/fuzz_chunked -rss_limit_mb=1024 corpus tests/fuzz/corpus/chunked
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/chunked.h"
#include "core/err.h"

#define OUT_MAX 65536

struct run {
	int rc;
	size_t consumed;
	size_t out_len;
	int done;
};

/* Decodes `data` in pieces of `step` bytes (0: whole) into out. */
static struct run decode(const uint8_t *data, size_t size, size_t step, char *out, size_t cap)
{
	struct chunked c;
	struct run r = {GW_OK, 0, 0, 0};

	chunked_init(&c);
	while (r.consumed < size && r.rc == GW_OK && !chunked_done(&c)) {
		size_t n = step && size - r.consumed > step ? step : size - r.consumed;
		size_t used = 0, got = 0;

		r.rc = chunked_decode(&c, (const char *)data + r.consumed, n, &used,
				      out ? out + r.out_len : NULL, out ? cap - r.out_len : 0, &got);
		if (used > n || got > (out ? cap - r.out_len : 0))
			abort();
		r.consumed += used;
		r.out_len += got;
		if (r.rc == GW_OK && used < n && !chunked_done(&c))
			abort(); /* stopped early without a reason */
	}
	r.done = chunked_done(&c);
	return r;
}

/* Reads `data` in pieces of `step` bytes with chunked_read into b, a
 * buffer growing from one byte up to `max`. */
static struct run grow_read(const uint8_t *data, size_t size, size_t step, size_t max,
			    struct chunked_buf *b)
{
	struct chunked c;
	struct run r = {GW_OK, 0, 0, 0};

	chunked_init(&c);
	r.rc = chunked_buf_init(b, 1, max);
	while (r.rc == GW_OK && r.consumed < size && !chunked_done(&c)) {
		size_t n = size - r.consumed > step ? step : size - r.consumed;
		const char *in = (const char *)data + r.consumed;
		size_t left = n;

		r.rc = chunked_read(&c, b, &in, &left);
		if (left > n || in != (const char *)data + r.consumed + (n - left))
			abort();
		if (b->len > b->cap || b->cap > b->max || b->data[b->len] != '\0')
			abort();
		r.consumed += n - left;
		if (r.rc == GW_OK && left && !chunked_done(&c))
			abort(); /* stopped early without a reason */
	}
	r.out_len = b->len;
	r.done = chunked_done(&c);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char whole[OUT_MAX], pieces[OUT_MAX];
	struct run a, b, d, g;
	struct chunked_buf buf;
	size_t step, cap;

	if (size < 1)
		return 0;
	step = 1 + data[0] % 17;
	cap = data[0] & 0x80 ? 64 : OUT_MAX;
	data++;
	size--;
	a = decode(data, size, 0, whole, cap);
	b = decode(data, size, step, pieces, cap);
	if (a.rc != b.rc || a.done != b.done || a.out_len != b.out_len ||
	    memcmp(whole, pieces, a.out_len) != 0)
		abort();
	if (a.rc == GW_OK && a.consumed != b.consumed)
		abort();
	/* Dropping (no output) frames the body the same way. */
	d = decode(data, size, step, NULL, 0);
	if (a.rc != GW_ETOOBIG && (d.rc != a.rc || d.done != a.done || d.consumed != a.consumed))
		abort();
	/* Into a buffer that grows up to the same limit: the same bytes, the
	 * same end, the same place in the input. */
	g = grow_read(data, size, step, cap, &buf);
	if (g.rc != a.rc || g.done != a.done || g.out_len != a.out_len ||
	    g.consumed != a.consumed || memcmp(whole, buf.data, a.out_len) != 0)
		abort();
	chunked_buf_free(&buf);
	return 0;
}

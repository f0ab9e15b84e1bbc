/*
 * test_chunked.c - the chunked request body decoder (connectors/chunked.h):
 * whole bodies and bodies fed one byte at a time, extensions and trailers,
 * the size limit, dropping, and the framings refused (where two parsers
 * could disagree on where a body ends); and chunked_read, the reading into
 * a buffer that grows up to its limit both HTTP servers use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "connectors/chunked.h"
#include "core/err.h"

/* Decodes `in` whole into out (cap bytes); returns the result code. */
static int decode_all(const char *in, char *out, size_t cap, size_t *out_len, size_t *used)
{
	struct chunked c;

	chunked_init(&c);
	return chunked_decode(&c, in, strlen(in), used, out, cap, out_len);
}

static void test_body(void **state)
{
	const char *in = "5\r\nhello\r\n1;name=\"v\"\r\n \r\nA\r\n0123456789\r\n0\r\n\r\nNEXT";
	char out[64];
	size_t n = 0, used = 0;
	struct chunked c;

	(void)state;
	chunked_init(&c);
	assert_int_equal(chunked_decode(&c, in, strlen(in), &used, out, sizeof(out), &n), GW_OK);
	assert_true(chunked_done(&c));
	assert_int_equal(n, 16);
	assert_memory_equal(out, "hello 0123456789", 16);
	/* The bytes after the body (a pipelined request) are not consumed. */
	assert_int_equal(used, strlen(in) - 4);
	assert_int_equal(c.total, 16);
}

static void test_byte_at_a_time(void **state)
{
	const char *in = "3\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: yes\r\n\r\n";
	char out[16], got[16];
	size_t total = 0;
	struct chunked c;

	(void)state;
	chunked_init(&c);
	for (size_t i = 0; i < strlen(in); i++) {
		size_t used = 0, n = 0;

		assert_false(chunked_done(&c));
		assert_int_equal(chunked_decode(&c, in + i, 1, &used, out, sizeof(out), &n), GW_OK);
		assert_int_equal(used, 1);
		memcpy(got + total, out, n);
		total += n;
	}
	assert_true(chunked_done(&c));
	assert_int_equal(total, 5);
	assert_memory_equal(got, "abcde", 5);
}

static void test_over_the_cap(void **state)
{
	char out[4];
	size_t n = 0, used = 0;

	(void)state;
	assert_int_equal(decode_all("6\r\nabcdef\r\n0\r\n\r\n", out, sizeof(out), &n, &used),
			 GW_ETOOBIG);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "abcd", 4);
}

static void test_drop(void **state)
{
	/* out NULL: the data is dropped, without a cap. */
	const char *in = "ffff\r\n";
	struct chunked c;
	size_t used = 0, n = 0;
	static char data[0xffff];

	(void)state;
	chunked_init(&c);
	assert_int_equal(chunked_decode(&c, in, strlen(in), &used, NULL, 0, &n), GW_OK);
	memset(data, 'x', sizeof(data));
	assert_int_equal(chunked_decode(&c, data, sizeof(data), &used, NULL, 0, &n), GW_OK);
	assert_int_equal(used, sizeof(data));
	assert_int_equal(n, 0);
	assert_int_equal(chunked_decode(&c, "\r\n0\r\n\r\n", 7, &used, NULL, 0, &n), GW_OK);
	assert_true(chunked_done(&c));
	assert_int_equal(c.total, 0xffff);
}

static void test_refused_framings(void **state)
{
	static const char *const bad[] = {
		"5\nhello\r\n0\r\n\r\n",      /* bare LF after the size */
		"5\r\nhello\n0\r\n\r\n",      /* bare LF after the data */
		"5\r\nhelloX\r\n0\r\n\r\n",   /* data longer than its size */
		"-5\r\nhello\r\n0\r\n\r\n",   /* a sign */
		" 5\r\nhello\r\n0\r\n\r\n",   /* a blank before the size */
		"\r\n",                       /* no size */
		"0x5\r\nhello\r\n0\r\n\r\n",  /* not hexadecimal */
		"1000000000000000\r\n",       /* 16 digits */
		"0\r\nX: y\n\r\n",            /* bare LF in the trailer */
		"5 x\r\nhello\r\n0\r\n\r\n",  /* junk after the size */
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = 0, used = 0;

		if (decode_all(bad[i], out, sizeof(out), &n, &used) != GW_EPROTO)
			fail_msg("accepted framing #%zu", i);
	}
}

static void test_long_extension_and_trailer(void **state)
{
	static char in[CHUNKED_LINE_MAX + 64];
	char out[8];
	size_t n = 0, used = 0;

	(void)state;
	/* An extension over CHUNKED_LINE_MAX. */
	memset(in, 0, sizeof(in));
	memcpy(in, "1;", 2);
	memset(in + 2, 'e', CHUNKED_LINE_MAX + 8);
	assert_int_equal(decode_all(in, out, sizeof(out), &n, &used), GW_EPROTO);
	/* A trailer section over it. */
	memset(in, 0, sizeof(in));
	memcpy(in, "0\r\nX: ", 6);
	memset(in + 6, 'v', CHUNKED_LINE_MAX + 8);
	assert_int_equal(decode_all(in, out, sizeof(out), &n, &used), GW_EPROTO);
}

/* A chunked body of `n` data bytes ('a' + i % 26) in chunks of `step`
 * bytes, then "tail" after it; malloc'ed, *len its length without tail. */
static char *make_body(size_t n, size_t step, const char *tail, size_t *len)
{
	size_t cap = n + (n / step + 2) * 24 + strlen(tail) + 1, at = 0;
	char *p = malloc(cap);

	assert_non_null(p);
	for (size_t i = 0; i < n; i += step) {
		size_t k = n - i < step ? n - i : step;

		at += (size_t)snprintf(p + at, cap - at, "%zx\r\n", k);
		for (size_t j = 0; j < k; j++)
			p[at++] = (char)('a' + (i + j) % 26);
		p[at++] = '\r';
		p[at++] = '\n';
	}
	at += (size_t)snprintf(p + at, cap - at, "0\r\n\r\n");
	*len = at;
	snprintf(p + at, cap - at, "%s", tail);
	return p;
}

/* The data make_body wrote: its n bytes. */
static void assert_data(const struct chunked_buf *b, size_t n)
{
	assert_int_equal(b->len, n);
	assert_true(b->len <= b->cap && b->cap <= b->max);
	for (size_t i = 0; i < n; i++)
		if (b->data[i] != (char)('a' + i % 26))
			fail_msg("byte %zu differs", i);
	assert_int_equal(b->data[n], '\0');
}

static void test_read_grows(void **state)
{
	/* 3 buffers' worth in 7-byte chunks, from a zeroed buffer. */
	size_t n = 3 * CHUNKED_BUF_FIRST + 5, len;
	char *body = make_body(n, 7, "", &len);
	struct chunked_buf b = {.max = n + 100};
	struct chunked c;
	const char *in = body;
	size_t left = len;

	(void)state;
	chunked_init(&c);
	assert_int_equal(chunked_read(&c, &b, &in, &left), GW_OK);
	assert_true(chunked_done(&c));
	assert_int_equal(left, 0);
	assert_data(&b, n);
	assert_true(b.cap > CHUNKED_BUF_FIRST);
	chunked_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(body);
}

static void test_read_exactly_max(void **state)
{
	size_t len;
	char *body = make_body(1000, 3, "NEXT", &len);
	struct chunked_buf b;
	struct chunked c;
	const char *in = body;
	size_t left = len + 4;

	(void)state;
	chunked_init(&c);
	assert_int_equal(chunked_buf_init(&b, 8, 1000), GW_OK); /* grows 7 times */
	assert_int_equal(chunked_read(&c, &b, &in, &left), GW_OK);
	assert_true(chunked_done(&c));
	assert_data(&b, 1000);
	assert_int_equal(b.cap, 1000);
	/* The bytes after the body are left to the caller. */
	assert_int_equal(left, 4);
	assert_memory_equal(in, "NEXT", 4);
	chunked_buf_free(&b);
	free(body);
}

static void test_read_over_max(void **state)
{
	size_t len;
	char *body = make_body(1001, 10, "", &len);
	struct chunked_buf b;
	struct chunked c;
	const char *in = body;
	size_t left = len;

	(void)state;
	chunked_init(&c);
	assert_int_equal(chunked_buf_init(&b, 16, 1000), GW_OK);
	assert_int_equal(chunked_read(&c, &b, &in, &left), GW_ETOOBIG);
	assert_false(chunked_done(&c));
	assert_data(&b, 1000);
	/* Left: the last data byte, then the end of the body. */
	assert_int_equal(left, strlen("m\r\n0\r\n\r\n"));
	assert_memory_equal(in, "m\r\n0\r\n\r\n", left);
	/* Over the limit again: nothing more taken. */
	assert_int_equal(chunked_read(&c, &b, &in, &left), GW_ETOOBIG);
	assert_int_equal(b.len, 1000);
	/* The caller drops the rest: the body's framing ends. */
	assert_int_equal(chunked_read(&c, NULL, &in, &left), GW_OK);
	assert_true(chunked_done(&c));
	assert_int_equal(left, 0);
	chunked_buf_free(&b);
	free(body);
}

static void test_read_malformed(void **state)
{
	const char *body = "3\r\nabc\r\n2\r\nde\n0\r\n\r\n"; /* bare LF after "de" */
	struct chunked_buf b = {.max = 64};
	struct chunked c;
	const char *in = body;
	size_t left = strlen(body);

	(void)state;
	chunked_init(&c);
	assert_int_equal(chunked_read(&c, &b, &in, &left), GW_EPROTO);
	assert_int_equal(b.len, 5);
	assert_string_equal(b.data, "abcde");
	assert_ptr_equal(in, strstr(body, "de\n") + 2); /* at the bad byte */
	chunked_buf_free(&b);
	/* Dropping reads the same framing. */
	in = body;
	left = strlen(body);
	chunked_init(&c);
	assert_int_equal(chunked_read(&c, NULL, &in, &left), GW_EPROTO);
}

/* Reads body in two pieces split at `k`: the result code. */
static int read_split(const char *body, size_t len, size_t k, struct chunked_buf *b,
		      struct chunked *c)
{
	const char *in = body;
	size_t left = k;
	int rc;

	chunked_init(c);
	rc = chunked_buf_init(b, 1, 300);
	if (rc == GW_OK)
		rc = chunked_read(c, b, &in, &left);
	if (rc == GW_OK && left != 0)
		return GW_EINVAL; /* stopped early */
	left = len - k;
	if (rc == GW_OK)
		rc = chunked_read(c, b, &in, &left);
	if (rc == GW_OK && left != 0)
		return GW_EINVAL;
	return rc;
}

static void test_read_split_anywhere(void **state)
{
	size_t len;
	char *body = make_body(300, 41, "", &len);

	(void)state;
	for (size_t k = 0; k <= len; k++) {
		struct chunked_buf b;
		struct chunked c;

		if (read_split(body, len, k, &b, &c) != GW_OK)
			fail_msg("split at %zu refused", k);
		assert_true(chunked_done(&c));
		assert_data(&b, 300);
		chunked_buf_free(&b);
	}
	free(body);
}

static void test_buf_init(void **state)
{
	struct chunked_buf b;

	(void)state;
	/* first is clamped to max; an empty body still has its NUL. */
	assert_int_equal(chunked_buf_init(&b, CHUNKED_BUF_FIRST, 10), GW_OK);
	assert_int_equal(b.cap, 10);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.data[0], '\0');
	chunked_buf_free(&b);
	assert_int_equal(b.max, 10);
}

/* A Content-Length body: appended up to max, never past it, NUL-ended. */
static void test_buf_append(void **state)
{
	struct chunked_buf b;

	(void)state;
	assert_int_equal(chunked_buf_init(&b, 2, 10), GW_OK);
	assert_int_equal(chunked_buf_append(&b, "abc", 3), GW_OK);
	assert_int_equal(chunked_buf_append(&b, "defghij", 7), GW_OK);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "abcdefghij");
	assert_int_equal(chunked_buf_append(&b, "k", 1), GW_ETOOBIG);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "abcdefghij");
	assert_int_equal(chunked_buf_append(&b, "", 0), GW_OK);
	chunked_buf_free(&b);
}

static void test_read_zero_max(void **state)
{
	/* A zero limit: an empty body fits, one byte does not. */
	struct chunked_buf z = {.max = 0};
	struct chunked c;
	const char *in = "0\r\n\r\n";
	size_t left = 5;

	(void)state;
	chunked_init(&c);
	assert_int_equal(chunked_read(&c, &z, &in, &left), GW_OK);
	assert_true(chunked_done(&c));
	assert_string_equal(z.data, "");
	chunked_buf_free(&z);
	in = "1\r\nx\r\n0\r\n\r\n";
	left = strlen(in);
	chunked_init(&c);
	assert_int_equal(chunked_read(&c, &z, &in, &left), GW_ETOOBIG);
	assert_int_equal(z.len, 0);
	assert_string_equal(in, "x\r\n0\r\n\r\n"); /* the data byte on */
	assert_int_equal(left, strlen(in));
	chunked_buf_free(&z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_over_the_cap),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_refused_framings),
		cmocka_unit_test(test_long_extension_and_trailer),
		cmocka_unit_test(test_read_grows),
		cmocka_unit_test(test_read_exactly_max),
		cmocka_unit_test(test_read_over_max),
		cmocka_unit_test(test_read_malformed),
		cmocka_unit_test(test_read_split_anywhere),
		cmocka_unit_test(test_buf_init),
		cmocka_unit_test(test_read_zero_max),
		cmocka_unit_test(test_buf_append),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

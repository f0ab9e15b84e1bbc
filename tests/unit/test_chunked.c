/*
 * test_chunked.c - the chunked request body decoder (connectors/chunked.h):
 * whole bodies and bodies fed one byte at a time, extensions and trailers,
 * the size limit, dropping, and the framings refused (where two parsers
 * could disagree on where a body ends).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_over_the_cap),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_refused_framings),
		cmocka_unit_test(test_long_extension_and_trailer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

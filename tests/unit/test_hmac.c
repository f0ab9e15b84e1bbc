/*
 * test_hmac.c - an HMAC keyed once (core/hmac.c): the RFC 4231 and RFC 2202
 * vectors, one key for many messages, an empty key, the digest's size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/hmac.h"

static const char JEFE_DATA[] = "what do ya want for nothing?";

static void hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* mac_hex - one message under `h`, in hex. */
static void mac_hex(struct gw_hmac *h, const char *msg, size_t dlen, char *out)
{
	unsigned char d[64];

	assert_int_equal(gw_hmac_begin(h), 0);
	assert_int_equal(gw_hmac_update(h, msg, strlen(msg)), 0);
	assert_int_equal(gw_hmac_end(h, d, dlen), 0);
	hex(d, dlen, out);
}

static void test_vectors_and_reuse(void **state)
{
	struct gw_hmac *h = gw_hmac_new("SHA256", "Jefe", 4);
	char got[129];

	(void)state;
	assert_non_null(h);
	/* RFC 4231, test case 2; the same key again gives the same MAC. */
	for (int i = 0; i < 2; i++) {
		mac_hex(h, JEFE_DATA, 32, got);
		assert_string_equal(got, "5bdcc146bf60754e6a042426089575c7"
					 "5a003f089d2739839dec58b964ec3843");
	}
	gw_hmac_free(h);
	/* RFC 2202, test case 2 (HMAC-SHA1), fed in two pieces. */
	h = gw_hmac_new("SHA1", "Jefe", 4);
	assert_non_null(h);
	{
		unsigned char d[20];

		assert_int_equal(gw_hmac_begin(h), 0);
		assert_int_equal(gw_hmac_update(h, JEFE_DATA, 10), 0);
		assert_int_equal(gw_hmac_update(h, JEFE_DATA + 10, strlen(JEFE_DATA) - 10), 0);
		assert_int_equal(gw_hmac_update(h, "", 0), 0);
		assert_int_equal(gw_hmac_end(h, d, sizeof(d)), 0);
		hex(d, sizeof(d), got);
		assert_string_equal(got, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
	}
	gw_hmac_free(h);
	gw_hmac_free(NULL);
}

static void test_empty_key_once_and_sizes(void **state)
{
	unsigned char d[32];
	char got[65];

	(void)state;
	/* An empty key is a key: HMAC-SHA256("", ""). */
	assert_int_equal(gw_hmac_once("SHA256", "", 0, "", 0, d, sizeof(d)), 0);
	hex(d, sizeof(d), got);
	assert_string_equal(got, "b613679a0814d9ec772f95d778c35fc5"
				 "ff1697c493715653c6c712144292c5ad");
	/* Not the digest's size, or a digest OpenSSL lacks: refused. */
	assert_int_equal(gw_hmac_once("SHA256", "k", 1, "m", 1, d, 20), -1);
	assert_null(gw_hmac_new("NO-SUCH-DIGEST", "k", 1));
	assert_int_equal(gw_hmac_once("NO-SUCH-DIGEST", "k", 1, "m", 1, d, 32), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_and_reuse),
		cmocka_unit_test(test_empty_key_once_and_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

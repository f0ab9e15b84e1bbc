/*
 * test_meta_sig.c - X-Hub-Signature-256 verification (connectors/meta/
 * meta_sig.c) over the vectors of tests/fixtures/meta/signatures/: valid,
 * tampered body, wrong secret, upper-case hex, legacy SHA-1 only, a body
 * with escaped non-ASCII characters signed over its raw bytes; and the
 * header forms that must be refused as missing or malformed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "connectors/meta/meta_sig.h"
#include "core/err.h"
#include "core/util.h"

#define SIG_DIR GW_FIXTURES "/meta/signatures"

static const char hello_secret[] = "It's a Secret to Everybody";
static const char hello_body[] = "Hello, World!";
static const char hello_sig[] =
	"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

static int verify_hello(const char *header)
{
	return meta_sig_verify(hello_secret, strlen(hello_secret), hello_body,
			       strlen(hello_body), header);
}

static int expected_of(const char *name)
{
	if (strcmp(name, "ok") == 0)
		return META_SIG_OK;
	if (strcmp(name, "mismatch") == 0)
		return META_SIG_MISMATCH;
	if (strcmp(name, "malformed") == 0)
		return META_SIG_MALFORMED;
	if (strcmp(name, "missing") == 0)
		return META_SIG_MISSING;
	fail_msg("unknown expected result %s", name);
	return -1;
}

static void run_vector(json_t *v)
{
	const char *id = json_string_value(json_object_get(v, "id"));
	const char *secret = json_string_value(json_object_get(v, "secret"));
	const char *file = json_string_value(json_object_get(v, "body_file"));
	const char *header = json_string_value(json_object_get(v, "header"));
	const char *expected = json_string_value(json_object_get(v, "expected"));
	char path[512];
	char *body = NULL;
	size_t len = 0;
	int got;

	assert_non_null(id);
	assert_non_null(secret);
	assert_non_null(file);
	assert_non_null(expected);
	snprintf(path, sizeof(path), "%s/%s", SIG_DIR, file);
	assert_int_equal(gw_read_file(path, 1 << 20, &body, &len), GW_OK);
	got = meta_sig_verify(secret, strlen(secret), body, len, header);
	if (got != expected_of(expected))
		fail_msg("%s: %s, expected %s", id, meta_sig_result_name(got), expected);
	free(body);
}

static void test_vectors(void **state)
{
	char path[512];
	json_error_t jerr;
	json_t *doc, *vs, *v;
	size_t i;

	(void)state;
	snprintf(path, sizeof(path), "%s/vectors.json", SIG_DIR);
	doc = json_load_file(path, 0, &jerr);
	if (!doc)
		fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
	vs = json_object_get(doc, "vectors");
	assert_true(json_array_size(vs) >= 9);
	json_array_foreach(vs, i, v)
		run_vector(v);
	json_decref(doc);
}

static void test_missing(void **state)
{
	(void)state;
	assert_int_equal(verify_hello(NULL), META_SIG_MISSING);
	assert_int_equal(verify_hello(""), META_SIG_MISSING);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
		"SHA256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
		"sha256:757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
		"sha256= 757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
		"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
		"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17a",
		"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1g",
		"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n",
		"sha256=",
		"sha1=3daa41999293ff66c3eb313e04bcf77861bb0276",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (verify_hello(bad[i]) != META_SIG_MALFORMED)
			fail_msg("accepted as well formed: \"%s\"", bad[i]);
}

static void test_tampered_and_wrong_secret(void **state)
{
	char sig[sizeof(hello_sig)];

	(void)state;
	assert_int_equal(verify_hello(hello_sig), META_SIG_OK);
	/* One flipped digit anywhere: the first, the middle, the last. */
	for (size_t pos = 7; pos < sizeof(hello_sig) - 1; pos += 31) {
		memcpy(sig, hello_sig, sizeof(sig));
		sig[pos] = sig[pos] == '0' ? '1' : '0';
		assert_int_equal(verify_hello(sig), META_SIG_MISMATCH);
	}
	assert_int_equal(meta_sig_verify(hello_secret, strlen(hello_secret), "Hello, World?", 13,
					 hello_sig), META_SIG_MISMATCH);
	assert_int_equal(meta_sig_verify("x", 1, hello_body, strlen(hello_body), hello_sig),
			 META_SIG_MISMATCH);
	/* A secret that is a prefix of the real one is another key. */
	assert_int_equal(meta_sig_verify(hello_secret, strlen(hello_secret) - 1, hello_body,
					 strlen(hello_body), hello_sig), META_SIG_MISMATCH);
}

static void test_sign_round_trip(void **state)
{
	char sig[META_SIG_VALUE_MAX + 1];

	(void)state;
	assert_int_equal(meta_sig_sign(hello_secret, strlen(hello_secret), hello_body,
				       strlen(hello_body), sig), 0);
	assert_string_equal(sig, hello_sig);
	/* An empty body is signed and checked like any other. */
	assert_int_equal(meta_sig_sign("k", 1, "", 0, sig), 0);
	assert_int_equal(meta_sig_verify("k", 1, "", 0, sig), META_SIG_OK);
	assert_int_equal(meta_sig_verify("k", 1, "x", 1, sig), META_SIG_MISMATCH);
	assert_string_equal(meta_sig_result_name(META_SIG_MISMATCH), "mismatch");
}

/* One key, as the connector holds it: every check starts a fresh MAC, so
 * neither a failed check nor a long run of them changes the next answer. */
static void test_key_reused(void **state)
{
	struct meta_sig_key *key = meta_sig_key_new(hello_secret, strlen(hello_secret));
	struct meta_sig_key *empty = meta_sig_key_new("", 0);
	char sig[META_SIG_VALUE_MAX + 1], want[META_SIG_VALUE_MAX + 1];

	(void)state;
	assert_non_null(key);
	assert_non_null(empty);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(meta_sig_key_verify(key, hello_body, strlen(hello_body), hello_sig),
				 META_SIG_OK);
		assert_int_equal(meta_sig_key_verify(key, "Hello, World?", 13, hello_sig),
				 META_SIG_MISMATCH);
		assert_int_equal(meta_sig_key_verify(key, hello_body, 5, hello_sig),
				 META_SIG_MISMATCH);
	}
	assert_int_equal(meta_sig_key_sign(key, hello_body, strlen(hello_body), sig), 0);
	assert_string_equal(sig, hello_sig);
	assert_int_equal(meta_sig_key_verify(key, hello_body, strlen(hello_body), NULL),
			 META_SIG_MISSING);
	/* An empty secret is a key like any other; the same as a one-call one. */
	assert_int_equal(meta_sig_key_sign(empty, "", 0, sig), 0);
	assert_int_equal(meta_sig_sign("", 0, "", 0, want), 0);
	assert_string_equal(sig, want);
	assert_string_equal(sig, "sha256=b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
	meta_sig_key_free(key);
	meta_sig_key_free(empty);
	meta_sig_key_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_key_reused),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_tampered_and_wrong_secret),
		cmocka_unit_test(test_sign_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_spool_reingest.c - a connector's reingest files (store/
 * spool_reingest.c): which names are requests, and the answer's document.
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

#include "core/err.h"
#include "core/util.h"
#include "store/spool_reingest.h"
#include "tests/unit/testutil.h"

static void test_request_names(void **state)
{
	(void)state;
	assert_int_equal(spool_reingest_request_id("1.request"), 1);
	assert_int_equal(spool_reingest_request_id("18446744073709551615.request"),
			 UINT64_MAX);
	assert_int_equal(spool_reingest_request_id("18446744073709551616.request"), 0);
	assert_int_equal(spool_reingest_request_id("0.request"), 0);
	assert_int_equal(spool_reingest_request_id("07.request"), 0);
	assert_int_equal(spool_reingest_request_id("7.done"), 0);
	assert_int_equal(spool_reingest_request_id("7.request.tmp"), 0);
	assert_int_equal(spool_reingest_request_id("-7.request"), 0);
	assert_int_equal(spool_reingest_request_id(""), 0);
}

static void test_answer_document(void **state)
{
	char dir[64], path[128], *text = NULL;
	size_t len = 0;
	int64_t before = gw_now_ms();
	json_t *doc;

	(void)state;
	test_tmpdir(dir, sizeof(dir), "reingest");
	assert_int_equal(spool_reingest_answer(dir, "api1", 42, "released", "queued"), GW_OK);
	snprintf(path, sizeof(path), "%s/42.done", dir);
	assert_int_equal(gw_read_file(path, 4096, &text, &len), GW_OK);
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "id")), "api1/42");
	assert_string_equal(json_string_value(json_object_get(doc, "result")), "released");
	assert_string_equal(json_string_value(json_object_get(doc, "reason")), "queued");
	assert_true(json_integer_value(json_object_get(doc, "at")) >= before);
	json_decref(doc);
	free(text);
	/* No reason: "". */
	assert_int_equal(spool_reingest_answer(dir, "api1", 42, "error", NULL), GW_OK);
	assert_int_equal(gw_read_file(path, 4096, &text, &len), GW_OK);
	assert_non_null(strstr(text, "\"reason\":\"\""));
	free(text);
	test_rmtree(dir);
	/* The folder is gone: the write fails and says so. */
	assert_int_equal(spool_reingest_answer(dir, "api1", 42, "error", NULL), GW_EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_names),
		cmocka_unit_test(test_answer_document),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

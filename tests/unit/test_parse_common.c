/*
 * test_parse_common.c - the helpers the webhook parsers share
 * (connectors/parse_common.h): the first failure is kept, a cut UTF-8
 * sequence dropped; the event list grows up to its bound and refuses past
 * it, each event with a fresh id and the body's time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "connectors/parse_common.h"
#include "core/err.h"

static int record(int *code, char *msg, size_t size, int rc, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int record(int *code, char *msg, size_t size, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = pc_vfail(code, msg, size, rc, fmt, ap);
	va_end(ap);
	return rc;
}

static void test_first_failure_wins(void **state)
{
	char msg[8] = "";
	int code = GW_OK;

	(void)state;
	assert_int_equal(record(&code, msg, sizeof(msg), GW_EPROTO, "a.%s", "b"), GW_EPROTO);
	assert_string_equal(msg, "a.b");
	assert_int_equal(record(&code, msg, sizeof(msg), GW_ENOMEM, "later"), GW_ENOMEM);
	assert_int_equal(code, GW_EPROTO);
	assert_string_equal(msg, "a.b");
	/* "abcde" then "é" (2 bytes) cut after its first byte: dropped. */
	code = GW_OK;
	record(&code, msg, sizeof(msg), GW_EPROTO, "abcdef\xc3\xa9");
	assert_string_equal(msg, "abcdef");
}

static void test_push_to_the_bound(void **state)
{
	struct proto_event *ev = NULL, *e = NULL;
	size_t n = 0, cap = 0;

	(void)state;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(pc_push(&ev, &n, &cap, 5, PROTO_T_MESSAGE_RECEIVED, 1234, &e),
				 GW_OK);
		assert_ptr_equal(e, &ev[i]);
		assert_int_equal(e->ts, 1234);
		assert_int_equal(e->type, PROTO_T_MESSAGE_RECEIVED);
		assert_non_null(e->id);
	}
	assert_int_equal(cap, 5);
	assert_string_not_equal(ev[0].id, ev[1].id);
	assert_int_equal(pc_push(&ev, &n, &cap, 5, PROTO_T_MESSAGE_RECEIVED, 1, &e), GW_ETOOBIG);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++)
		proto_event_clear(&ev[i]);
	free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_failure_wins),
		cmocka_unit_test(test_push_to_the_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

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

/* An item's own failure undoes its events and is kept as the reason; a
 * failure of the body, or of another kind, is left for the caller. */
static void test_undo_an_item(void **state)
{
	struct proto_event *ev = NULL, *e = NULL;
	size_t n = 0, cap = 0;
	char msg[64] = "", why[16] = "";
	int code = GW_OK;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(pc_push(&ev, &n, &cap, 8, PROTO_T_MESSAGE_RECEIVED, 1, &e), GW_OK);
	record(&code, msg, sizeof(msg), GW_EPROTO, "entry[0].changes[1]: no id");
	/* Not the item's own: kept as it is. */
	assert_false(pc_undo(ev, &n, 1, GW_ENOMEM, 0, &code, msg, why, sizeof(why)));
	assert_false(pc_undo(ev, &n, 1, GW_EPROTO, 1, &code, msg, why, sizeof(why)));
	assert_false(pc_undo(ev, &n, 4, GW_EPROTO, 0, &code, msg, why, sizeof(why)));
	assert_int_equal(n, 3);
	assert_int_equal(code, GW_EPROTO);
	/* The item's own: its events (from the mark) dropped, the reason kept
	 * (cut to `why`), the failure cleared. */
	assert_true(pc_undo(ev, &n, 1, GW_EPROTO, 0, &code, msg, why, sizeof(why)));
	assert_int_equal(n, 1);
	assert_int_equal(code, GW_OK);
	assert_string_equal(msg, "");
	assert_string_equal(why, "entry[0].change");
	/* A second one: the first reason stays. */
	record(&code, msg, sizeof(msg), GW_ETOOBIG, "entry[1]: over the limit");
	assert_true(pc_undo(ev, &n, 1, GW_ETOOBIG, 0, &code, msg, why, sizeof(why)));
	assert_string_equal(why, "entry[0].change");
	assert_int_equal(code, GW_OK);
	proto_event_clear(&ev[0]);
	free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_failure_wins),
		cmocka_unit_test(test_push_to_the_bound),
		cmocka_unit_test(test_undo_an_item),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

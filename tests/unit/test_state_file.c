/*
 * test_state_file.c - a channel's small progress file (store/state_file.c):
 * a round trip, a missing file and another owner's read as fresh, and each
 * unreadable kind named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/util.h"
#include "store/state_file.h"
#include "tests/unit/testutil.h"

struct fx {
	char dir[64], path[128], why[256];
	json_t *doc;
	int fresh;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	test_tmpdir(f->dir, sizeof(f->dir), "state-file");
	snprintf(f->path, sizeof(f->path), "%s/x.state", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	json_decref(f->doc);
	test_rmtree(f->dir);
	free(f);
	return 0;
}

/* load - state_file_load of version 1 for bot "42", at most 256 bytes. */
static int load(struct fx *f)
{
	json_decref(f->doc);
	f->why[0] = '\0';
	return state_file_load(f->path, 256, 1, "bot", "42", &f->doc, &f->fresh, f->why,
			       sizeof(f->why));
}

static void put(struct fx *f, const char *text)
{
	assert_int_equal(gw_write_file_durable(f->path, text, strlen(text)), GW_OK);
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;

	assert_int_equal(load(f), GW_OK);
	assert_null(f->doc);
	assert_int_equal(f->fresh, 1);
	assert_int_equal(state_file_save(f->path, json_pack("{s:i, s:s, s:I}", "version", 1, "bot",
							     "42", "offset", (json_int_t)7)),
			 GW_OK);
	assert_int_equal(load(f), GW_OK);
	assert_int_equal(f->fresh, 0);
	assert_non_null(f->doc);
	assert_int_equal(json_integer_value(json_object_get(f->doc, "offset")), 7);
	/* A failed json_pack is out of memory, and nothing is written. */
	assert_int_equal(state_file_save(f->path, NULL), GW_ENOMEM);
	assert_int_equal(load(f), GW_OK);
	assert_non_null(f->doc);
}

static void test_another_owner_is_fresh(void **state)
{
	struct fx *f = *state;

	put(f, "{\"version\":1,\"bot\":\"43\",\"offset\":9}");
	assert_int_equal(load(f), GW_OK);
	assert_null(f->doc);
	assert_int_equal(f->fresh, 1);
	put(f, "{\"version\":1,\"offset\":9}");
	assert_int_equal(load(f), GW_OK);
	assert_int_equal(f->fresh, 1);
}

static void test_unreadable_named(void **state)
{
	struct fx *f = *state;
	char big[300];

	put(f, "{\"version\":2,\"bot\":\"42\"}");
	assert_int_equal(load(f), GW_EPROTO);
	assert_string_equal(f->why, "version is not 1");
	assert_null(f->doc);
	put(f, "[1,2]");
	assert_int_equal(load(f), GW_EPROTO);
	assert_string_equal(f->why, "not a JSON object");
	put(f, "{\"version\":1,");
	assert_int_equal(load(f), GW_EPROTO);
	assert_true(strncmp(f->why, "not a JSON object: ", 19) == 0);
	assert_int_equal(f->fresh, 0);
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put(f, big);
	assert_int_equal(load(f), GW_ETOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_another_owner_is_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_named, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

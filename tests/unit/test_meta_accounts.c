/*
 * test_meta_accounts.c - the Meta connector's accounts file
 * (store/meta_accounts.c): a round trip, its bounds, lines skipped.
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
#include "store/meta_accounts.h"
#include "tests/unit/testutil.h"

struct seen {
	struct meta_account a[META_ACCOUNTS_MAX + 8];
	size_t n;
};

static void collect(void *arg, const char *channel, const char *account)
{
	struct seen *s = arg;

	assert_true(s->n < sizeof(s->a) / sizeof(s->a[0]));
	snprintf(s->a[s->n].channel, sizeof(s->a[0].channel), "%s", channel);
	snprintf(s->a[s->n].account, sizeof(s->a[0].account), "%s", account);
	s->n++;
}

static void test_round_trip_and_bound(void **state)
{
	static struct meta_account in[META_ACCOUNTS_MAX + 3];
	static struct seen got;
	char dir[64], path[128];

	(void)state;
	test_tmpdir(dir, sizeof(dir), "meta-acc");
	snprintf(path, sizeof(path), "%s/accounts", dir);
	assert_int_equal(meta_accounts_load(path, collect, &got), GW_ENOTFOUND);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		snprintf(in[i].channel, sizeof(in[i].channel), "%s", i % 2 ? "messenger" : "whatsapp");
		snprintf(in[i].account, sizeof(in[i].account), "%zu", 1000 + i);
	}
	assert_int_equal(meta_accounts_save(path, in, 2), GW_OK);
	assert_int_equal(meta_accounts_load(path, collect, &got), GW_OK);
	assert_int_equal(got.n, 2);
	assert_string_equal(got.a[1].channel, "messenger");
	assert_string_equal(got.a[1].account, "1001");
	/* Over META_ACCOUNTS_MAX: the first ones are kept. */
	got.n = 0;
	assert_int_equal(meta_accounts_save(path, in, sizeof(in) / sizeof(in[0])), GW_OK);
	assert_int_equal(meta_accounts_load(path, collect, &got), GW_OK);
	assert_int_equal(got.n, META_ACCOUNTS_MAX);
	assert_string_equal(got.a[META_ACCOUNTS_MAX - 1].account, "1063");
	test_rmtree(dir);
}

static void test_lines_skipped(void **state)
{
	static const char text[] = "whatsapp 1\n"
				   "noaccount\n"
				   " 2\n"
				   "instagram \n"
				   "messenger 3\n"
				   "whatsapp 4";
	struct seen got = {.n = 0};
	char dir[64], path[128];

	(void)state;
	test_tmpdir(dir, sizeof(dir), "meta-acc");
	snprintf(path, sizeof(path), "%s/accounts", dir);
	assert_int_equal(gw_write_file_atomic(path, text, strlen(text)), GW_OK);
	assert_int_equal(meta_accounts_load(path, collect, &got), GW_OK);
	assert_int_equal(got.n, 2);
	assert_string_equal(got.a[0].account, "1");
	assert_string_equal(got.a[1].channel, "messenger");
	assert_string_equal(got.a[1].account, "3");
	test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_bound),
		cmocka_unit_test(test_lines_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

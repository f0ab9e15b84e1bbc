/*
 * test_csat.c - router/rules/csat_parse.h: which texts are ratings, and
 * where their comment starts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "router/rules/csat_parse.h"

static void rating(const char *text, unsigned score, const char *comment)
{
	const char *c = NULL;

	assert_int_equal(csat_parse_rating(text, &c), score);
	if (score)
		assert_string_equal(c, comment);
	else
		assert_null(c);
}

static void test_ratings(void **state)
{
	(void)state;
	rating("4", 4, "");
	rating("  5\n", 5, "");
	rating("1 - too slow", 1, "too slow");
	rating("4/5!", 4, "");
	rating("3: ok I guess", 3, "ok I guess");
	rating("2.", 2, "");
	rating("5 great help, thanks", 5, "great help, thanks");
}

static void test_not_ratings(void **state)
{
	(void)state;
	rating("", 0, NULL);
	rating("0", 0, NULL);
	rating("6", 0, NULL);
	rating("10", 0, NULL);
	rating("3pm tomorrow?", 0, NULL);
	rating("4/50 items broken", 0, NULL);
	rating("4/10", 0, NULL);
	rating("ok 5", 0, NULL);
	rating("-4", 0, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ratings),
		cmocka_unit_test(test_not_ratings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

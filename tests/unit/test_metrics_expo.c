/*
 * test_metrics_expo.c - the Prometheus text writer (gateway/metrics/expo.c)
 * and the histograms it writes (core/histo.c): escaping, value formats,
 * histogram lines, the size bound.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/histo.h"
#include "gateway/metrics/expo.h"

static void test_family_and_samples(void **state)
{
	struct expo e;

	(void)state;
	expo_init(&e, 4096);
	expo_family(&e, "omnigate_x_total", "counter", "Back\\slash and\nnewline \"kept\".");
	expo_sample(&e, "omnigate_x_total", (const char *[]){"connector", "api", NULL}, 3);
	expo_sample(&e, "omnigate_x_total", NULL, 0.25);
	expo_sample(&e, "omnigate_x_total", (const char *[]){"a", NULL, "b", "y", NULL}, 1);
	assert_int_equal(expo_failed(&e), 0);
	assert_string_equal(e.buf,
			    "# HELP omnigate_x_total Back\\\\slash and\\nnewline \"kept\".\n"
			    "# TYPE omnigate_x_total counter\n"
			    "omnigate_x_total{connector=\"api\"} 3\n"
			    "omnigate_x_total 0.25\n"
			    "omnigate_x_total{b=\"y\"} 1\n");
	expo_free(&e);
}

static void test_label_escaping(void **state)
{
	struct expo e;

	(void)state;
	expo_init(&e, 4096);
	expo_sample(&e, "m", (const char *[]){"q", "a\"b\\c\nd", "r", "", NULL}, 1);
	assert_string_equal(e.buf, "m{q=\"a\\\"b\\\\c\\nd\",r=\"\"} 1\n");
	expo_free(&e);
}

static void test_values(void **state)
{
	char buf[64];

	(void)state;
	expo_format_value(buf, sizeof(buf), 0);
	assert_string_equal(buf, "0");
	expo_format_value(buf, sizeof(buf), 12345678901234.0);
	assert_string_equal(buf, "12345678901234");
	expo_format_value(buf, sizeof(buf), -2.5);
	assert_string_equal(buf, "-2.5");
	expo_format_value(buf, sizeof(buf), INFINITY);
	assert_string_equal(buf, "+Inf");
	expo_format_value(buf, sizeof(buf), -INFINITY);
	assert_string_equal(buf, "-Inf");
	expo_format_value(buf, sizeof(buf), NAN);
	assert_string_equal(buf, "NaN");
	expo_format_value(buf, sizeof(buf), 0.1);
	assert_string_equal(buf, "0.1"); /* the shortest that reads back the same */
	expo_format_value(buf, sizeof(buf), 0.1 + 0.2);
	assert_string_equal(buf, "0.30000000000000004"); /* 15 digits would not */
}

static void test_histogram(void **state)
{
	static const double le[] = {0.5, 1, 2.5};
	struct gw_histo h;
	struct expo e;
	json_t *j;

	(void)state;
	gw_histo_init(&h, le, 3);
	gw_histo_observe(&h, 0.5); /* on a bound: that bucket (le is <=) */
	gw_histo_observe(&h, 0.7);
	gw_histo_observe(&h, 2);
	gw_histo_observe(&h, 9);
	j = gw_histo_json(&h);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "buckets"), 0)), 1);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "buckets"), 1)), 2);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "buckets"), 2)), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 4);
	json_decref(j);

	expo_init(&e, 4096);
	expo_histogram(&e, "omnigate_d_seconds", (const char *[]){"c", "api", NULL}, le,
		       (const uint64_t[]){1, 2, 3}, 3, 12.2, 4);
	assert_string_equal(e.buf,
			    "omnigate_d_seconds_bucket{c=\"api\",le=\"0.5\"} 1\n"
			    "omnigate_d_seconds_bucket{c=\"api\",le=\"1\"} 2\n"
			    "omnigate_d_seconds_bucket{c=\"api\",le=\"2.5\"} 3\n"
			    "omnigate_d_seconds_bucket{c=\"api\",le=\"+Inf\"} 4\n"
			    "omnigate_d_seconds_sum{c=\"api\"} 12.2\n"
			    "omnigate_d_seconds_count{c=\"api\"} 4\n");
	expo_free(&e);
}

static void test_bound(void **state)
{
	struct expo e;

	(void)state;
	expo_init(&e, 64);
	for (int i = 0; i < 10; i++)
		expo_sample(&e, "omnigate_a_fairly_long_metric_name", NULL, i);
	assert_int_equal(expo_failed(&e), GW_ETOOBIG);
	assert_true(e.len < 64);
	expo_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_and_samples),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

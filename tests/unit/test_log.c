/*
 * test_log.c - log lines: one per record, control characters replaced, and
 * flood control: a call site that repeats is held back after its burst and
 * one line counts what was left out; other sites and debug are not held;
 * the JSON format: one object per line, with the fields a message names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/log.h"

/* capture - runs fn with stderr sent to a file; the text written. */
static char *capture(void (*fn)(void))
{
	char path[] = "/tmp/gw-test-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	char *text = calloc(1, 1 << 20);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0 && text);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	fn();
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	n = pread(fd, text, (1 << 20) - 1, 0);
	text[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return text;
}

static size_t count(const char *text, const char *what)
{
	size_t n = 0;

	for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

static void flood(void)
{
	struct timespec ts = {0, 250 * 1000 * 1000};

	for (int i = 0; i < 50; i++)
		GW_WARN("test", "disk full while writing batch %d", i);
	GW_ERROR("test", "another site");
	for (int i = 0; i < 5; i++)
		GW_DEBUG("test", "debug %d", i);
	nanosleep(&ts, NULL);
	GW_WARN("test", "disk full while writing batch %d", 99);
}

static void test_flood_held_back(void **state)
{
	char *text;

	(void)state;
	gw_log_init("test", GW_LOG_DEBUG);
	gw_log_flood_window(200000);
	text = capture(flood);
	/* 10 of the first 50, then the count, then a new window's line. */
	assert_int_equal(count(text, "disk full while writing batch"), 10 + 1 + 1);
	assert_int_equal(count(text, "40 more lines like \"disk full while writing batch %d\""), 1);
	assert_non_null(strstr(text, "batch 99"));
	assert_int_equal(count(text, "another site"), 1);
	assert_int_equal(count(text, "test: debug "), 5);
	assert_int_equal(count(text, "\n"), 10 + 1 + 1 + 1 + 5);
	free(text);
	gw_log_flood_window(0);
}

static void one_line(void)
{
	GW_WARN("test", "a\nb\tc");
}

static void test_one_line_per_record(void **state)
{
	char *text;

	(void)state;
	gw_log_init("proc", GW_LOG_INFO);
	text = capture(one_line);
	assert_int_equal(count(text, "\n"), 1);
	assert_non_null(strstr(text, " warn proc["));
	assert_non_null(strstr(text, "test: a b c"));
	free(text);
}

static void json_lines(void)
{
	GW_WARN("api/support", "delivery 12 failed: 401 \"bad\"\nnext");
	GW_INFO("router", "ready: head seq 40, ticket 7 of customer 3");
	GW_INFO("router", "subsequence 5, tickets 6, \xff byte");
}

static json_t *json_line(const char *text, int n)
{
	const char *p = text;
	json_error_t err;
	json_t *j;

	while (n-- > 0 && p)
		p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
	assert_non_null(p);
	j = json_loadb(p, (size_t)(strchr(p, '\n') - p), 0, &err);
	assert_non_null(j);
	return j;
}

static void test_json_format(void **state)
{
	char *text;
	json_t *j;

	(void)state;
	gw_log_init("gateway-router", GW_LOG_INFO);
	gw_log_set_format(GW_LOG_JSON);
	text = capture(json_lines);
	gw_log_set_format(GW_LOG_TEXT);
	assert_int_equal(count(text, "\n"), 3);
	j = json_line(text, 0);
	assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
	assert_string_equal(json_string_value(json_object_get(j, "process")), "gateway-router");
	assert_string_equal(json_string_value(json_object_get(j, "module")), "api/support");
	assert_string_equal(json_string_value(json_object_get(j, "connector")), "support");
	assert_string_equal(json_string_value(json_object_get(j, "message")),
			    "delivery 12 failed: 401 \"bad\"\nnext");
	assert_int_equal(json_integer_value(json_object_get(j, "delivery")), 12);
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), getpid());
	assert_non_null(strchr(json_string_value(json_object_get(j, "time")), 'T'));
	json_decref(j);
	j = json_line(text, 1);
	assert_int_equal(json_integer_value(json_object_get(j, "seq")), 40);
	assert_int_equal(json_integer_value(json_object_get(j, "ticket")), 7);
	assert_int_equal(json_integer_value(json_object_get(j, "customer")), 3);
	assert_null(json_object_get(j, "connector"));
	json_decref(j);
	j = json_line(text, 2); /* words inside others name nothing; bytes kept valid */
	assert_null(json_object_get(j, "seq"));
	assert_null(json_object_get(j, "ticket"));
	assert_non_null(strstr(json_string_value(json_object_get(j, "message")), "? byte"));
	json_decref(j);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flood_held_back),
		cmocka_unit_test(test_one_line_per_record),
		cmocka_unit_test(test_json_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

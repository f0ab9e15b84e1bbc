/* test_util.c - core/util.c: random ids, UTF-8 trimming, the atomic file
 * write on a full disk, durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "tests/unit/testutil.h"

#define IDS 1000 /* spans several refills of the per-thread pool */

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Ids are 32 lowercase hex characters, and all different. */
static void test_random_id_format_and_distinct(void **state)
{
	char(*ids)[33] = calloc(IDS, sizeof(*ids));

	(void)state;
	assert_non_null(ids);
	for (int i = 0; i < IDS; i++) {
		assert_int_equal(gw_random_id(ids[i]), GW_OK);
		assert_int_equal(strlen(ids[i]), 32);
		assert_int_equal(strspn(ids[i], "0123456789abcdef"), 32);
	}
	qsort(ids, IDS, sizeof(*ids), cmp_id);
	for (int i = 1; i < IDS; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) != 0);
	free(ids);
}

/* A forked child does not hand out the ids its parent hands out next. */
static void test_random_id_after_fork(void **state)
{
	char warm[33], mine[33], theirs[33] = "";
	int fds[2], status = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(gw_random_id(warm), GW_OK); /* the pool now holds bytes */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char id[33];
		int ok = gw_random_id(id) == GW_OK && write(fds[1], id, 33) == 33;

		_exit(ok ? 0 : 1);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], theirs, sizeof(theirs)), 33);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(gw_random_id(mine), GW_OK);
	assert_string_not_equal(mine, theirs);
}

/* trimmed - gw_utf8_trim of `in` (at most 63 bytes). */
static const char *trimmed(const char *in)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s", in);
	gw_utf8_trim(buf);
	return buf;
}

/* Every character cut after each of its bytes but the last loses them
 * all; whole it stays, alone or after text. */
static void test_utf8_trim_cut_characters(void **state)
{
	static const char *chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
	char in[64];

	(void)state;
	for (size_t c = 0; c < sizeof(chars) / sizeof(chars[0]); c++) {
		size_t n = strlen(chars[c]);

		for (size_t cut = 1; cut < n; cut++) {
			snprintf(in, sizeof(in), "ab%.*s", (int)cut, chars[c]);
			assert_string_equal(trimmed(in), "ab");
			snprintf(in, sizeof(in), "%.*s", (int)cut, chars[c]);
			assert_string_equal(trimmed(in), "");
			/* After a whole character of the same kind. */
			snprintf(in, sizeof(in), "%s%.*s", chars[c], (int)cut, chars[c]);
			assert_string_equal(trimmed(in), chars[c]);
		}
		assert_string_equal(trimmed(chars[c]), chars[c]);
		snprintf(in, sizeof(in), "ab%s", chars[c]);
		assert_string_equal(trimmed(in), in);
		snprintf(in, sizeof(in), "%s%s", chars[c], chars[c]);
		assert_string_equal(trimmed(in), in);
	}
}

static void test_utf8_trim_leaves_the_rest(void **state)
{
	(void)state;
	assert_string_equal(trimmed(""), "");
	assert_string_equal(trimmed("a"), "a");
	assert_string_equal(trimmed("plain ascii ~"), "plain ascii ~");
	assert_string_equal(trimmed("caf\xc3\xa9 \xe2\x82\xac" "5"),
			    "caf\xc3\xa9 \xe2\x82\xac" "5");
	/* Not a cut character: stray continuation bytes, or a lead byte
	 * followed by more than it needs, are not this function's to fix. */
	assert_string_equal(trimmed("a\x80"), "a\x80");
	assert_string_equal(trimmed("a\x80\x80\x80\x80"), "a\x80\x80\x80\x80");
	assert_string_equal(trimmed("a\xc3\xa9\xa9"), "a\xc3\xa9\xa9");
}

/* gw_utf8_cut: at most max bytes, never half a character. */
static void test_utf8_cut(void **state)
{
	char s[16];

	(void)state;
	snprintf(s, sizeof(s), "ab\xe2\x82\xac"); /* "ab€", 5 bytes */
	gw_utf8_cut(s, 5);
	assert_string_equal(s, "ab\xe2\x82\xac");
	for (size_t max = 2; max < 5; max++) {
		snprintf(s, sizeof(s), "ab\xe2\x82\xac");
		gw_utf8_cut(s, max);
		assert_string_equal(s, "ab");
	}
	snprintf(s, sizeof(s), "abc");
	gw_utf8_cut(s, 1);
	assert_string_equal(s, "a");
	gw_utf8_cut(s, 0);
	assert_string_equal(s, "");
}

/* Durations with a unit, compounds largest first, and a bare number in the
 * caller's unit. */
static void test_duration_units(void **state)
{
	static const struct {
		const char *text;
		long long bare, want;
	} ok[] = {
		{"90s", 60, 90},   {"5m", 60, 300},     {"1h", 60, 3600},  {"2d", 60, 172800},
		{"1h30m", 60, 5400}, {"1d2h3m4s", 60, 93784}, {"0s", 60, 0}, {"15", 60, 900},
		{"15", 1, 15},     {"0", 60, 0},        {"007m", 60, 420},
	};
	long long v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = -1;
		assert_int_equal(gw_duration_parse(ok[i].text, ok[i].bare, &v), GW_OK);
		assert_int_equal(v, ok[i].want);
	}
}

/* Anything else is refused and leaves the output alone. */
static void test_duration_refused(void **state)
{
	static const char *const bad[] = {
		"", "s", "m5", "5x", "5 m", " 5m", "5m ", "-5m", "+5m", "1.5h", "5M",
		"30s1m", "1m1m", "1h30", "5ms", "1h-5m", "0x10", "5mm",
	};
	long long v = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(gw_duration_parse(bad[i], 60, &v), GW_EINVAL);
		assert_int_equal(v, 7);
	}
	assert_int_equal(gw_duration_parse("5", 0, &v), GW_EINVAL);
	assert_int_equal(gw_duration_parse("9223372036854775807s", 60, &v), GW_OK);
	assert_int_equal(v, 9223372036854775807LL);
	assert_int_equal(gw_duration_parse("9223372036854775808s", 60, &v), GW_ETOOBIG);
	assert_int_equal(gw_duration_parse("153722867280912931m", 60, &v), GW_ETOOBIG);
	assert_int_equal(gw_duration_parse("153722867280912930", 60, &v), GW_OK);
	assert_int_equal(gw_duration_parse("106751991167300d16h", 60, &v), GW_ETOOBIG);
	assert_int_equal(gw_duration_parse("000000000000000000000000000000001s", 60, &v),
			 GW_ETOOBIG);
}

/* The file `path` holds exactly `want`. */
static void assert_file_is(const char *path, const char *want)
{
	char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

/*
 * A full disk: the temporary file the atomic write goes through is a link
 * to /dev/full, whose writes fail with ENOSPC. The error names the cause
 * ("No space left on device", what a status file's warning says), the old
 * file stays whole and no temporary file is left.
 */
static void test_write_atomic_full_disk(void **state)
{
	char dir[64], path[128], tmp[160];
	int rc;

	(void)state;
	test_tmpdir(dir, sizeof(dir), "util");
	snprintf(path, sizeof(path), "%s/status.json", dir);
	assert_int_equal(gw_write_file_atomic(path, "old", 3), GW_OK);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	assert_int_equal(symlink("/dev/full", tmp), 0);
	rc = gw_write_file_atomic(path, "{\"new\":1}", 9);
	assert_int_equal(rc, GW_EIO);
	assert_int_equal(errno, ENOSPC);
	assert_string_equal(gw_err_text(rc), "No space left on device");
	assert_file_is(path, "old");
	assert_int_equal(access(tmp, F_OK), -1);
	test_rmtree(dir);
}

/*
 * A file size limit (RLIMIT_FSIZE, SIGXFSZ ignored: EFBIG) on the durable
 * write too: the cause is named, the old content kept.
 */
static void test_write_durable_file_too_large(void **state)
{
	char dir[64], path[128], big[4096];
	struct rlimit old, small;
	void (*prev)(int);
	int rc, err;

	(void)state;
	test_tmpdir(dir, sizeof(dir), "util");
	snprintf(path, sizeof(path), "%s/state", dir);
	assert_int_equal(gw_write_file_durable(path, "old", 3), GW_OK);
	memset(big, 'x', sizeof(big));
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 1024;
	prev = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	rc = gw_write_file_durable(path, big, sizeof(big));
	err = errno;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, prev);
	assert_int_equal(rc, GW_EIO);
	assert_int_equal(err, EFBIG);
	errno = err;
	assert_string_equal(gw_err_text(rc), strerror(EFBIG));
	assert_file_is(path, "old");
	test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_id_format_and_distinct),
		cmocka_unit_test(test_random_id_after_fork),
		cmocka_unit_test(test_utf8_trim_cut_characters),
		cmocka_unit_test(test_utf8_trim_leaves_the_rest),
		cmocka_unit_test(test_utf8_cut),
		cmocka_unit_test(test_write_atomic_full_disk),
		cmocka_unit_test(test_write_durable_file_too_large),
		cmocka_unit_test(test_duration_units),
		cmocka_unit_test(test_duration_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

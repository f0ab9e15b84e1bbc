/*
 * test_attachments.c - the content-addressed attachment store
 * (store/attachments.h): digests, the fan-out layout, idempotent writes,
 * the size limit, no temporary file left behind, refusals, and the media
 * type kept beside a blob.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/util.h"
#include "store/attachments.h"
#include "tests/unit/testutil.h"

#define ABC_SHA256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.' || strncmp(e->d_name, ".tmp", 4) == 0;
	closedir(d);
	return n;
}

static void assert_file(const char *path, const char *data, size_t len)
{
	char *got = NULL;
	size_t n = 0;
	struct stat st;

	assert_int_equal(gw_read_file(path, 1u << 20, &got, &n), GW_OK);
	assert_int_equal(n, len);
	assert_memory_equal(got, data, len);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(got);
}

static void test_digest(void **state)
{
	char hex[ATTACH_HEX_LEN + 1];

	(void)state;
	assert_int_equal(attach_sha256_hex("abc", 3, hex), GW_OK);
	assert_string_equal(hex, ABC_SHA256);
	assert_int_equal(attach_sha256_hex("", 0, hex), GW_OK);
	assert_string_equal(hex, EMPTY_SHA256);
}

static void test_put(void **state)
{
	char root[64], dir[256], path[512], sub[512];
	char hex[ATTACH_HEX_LEN + 1];

	(void)state;
	test_tmpdir(root, sizeof(root), "attach");
	snprintf(dir, sizeof(dir), "%s/a/b", root); /* created with its parents */
	assert_int_equal(attach_put(dir, "abc", 3, 10, hex), GW_OK);
	assert_string_equal(hex, ABC_SHA256);
	assert_int_equal(attach_path(dir, hex, path, sizeof(path)), GW_OK);
	snprintf(sub, sizeof(sub), "%s/ba/" ABC_SHA256, dir);
	assert_string_equal(path, sub);
	assert_file(path, "abc", 3);
	/* Again: nothing changes, no temporary file is left. */
	assert_int_equal(attach_put(dir, "abc", 3, 10, hex), GW_OK);
	snprintf(sub, sizeof(sub), "%s/ba", dir);
	assert_int_equal(count_entries(sub), 1);
	/* A damaged blob (wrong size) is written again. */
	assert_int_equal(truncate(path, 1), 0);
	assert_int_equal(attach_put(dir, "abc", 3, 10, hex), GW_OK);
	assert_file(path, "abc", 3);
	/* The empty blob is a blob too. */
	assert_int_equal(attach_put(dir, "", 0, 10, hex), GW_OK);
	assert_int_equal(attach_path(dir, EMPTY_SHA256, path, sizeof(path)), GW_OK);
	assert_file(path, "", 0);
	test_rmtree(root);
}

/* Bytes that arrive in pieces: a temporary file adopted under its digest. */
static void test_adopt(void **state)
{
	char root[64], dir[256], tmp[512], path[512];
	int fd;

	(void)state;
	test_tmpdir(root, sizeof(root), "attach");
	snprintf(dir, sizeof(dir), "%s/store", root); /* created */
	assert_int_equal(attach_tmp_open(dir, tmp, sizeof(tmp), &fd), GW_OK);
	assert_int_equal(gw_write_all(fd, "abc", 3), GW_OK);
	assert_int_equal(attach_adopt(dir, tmp, fd, ABC_SHA256, 3), GW_OK);
	close(fd);
	assert_int_equal(access(tmp, F_OK), -1); /* renamed */
	assert_int_equal(attach_path(dir, ABC_SHA256, path, sizeof(path)), GW_OK);
	assert_file(path, "abc", 3);
	/* Already stored: the temporary file goes, the blob stays. */
	assert_int_equal(attach_tmp_open(dir, tmp, sizeof(tmp), &fd), GW_OK);
	assert_int_equal(gw_write_all(fd, "abc", 3), GW_OK);
	assert_int_equal(attach_adopt(dir, tmp, fd, ABC_SHA256, 3), GW_OK);
	close(fd);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(count_entries(dir), 1); /* the fan-out folder only */
	/* Not a digest: refused, and the temporary file is gone all the same. */
	assert_int_equal(attach_tmp_open(dir, tmp, sizeof(tmp), &fd), GW_OK);
	assert_int_equal(attach_adopt(dir, tmp, fd, "not-hex", 0), GW_EINVAL);
	close(fd);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(count_entries(dir), 1);
	test_rmtree(root);
}

static void test_limits_and_refusals(void **state)
{
	char root[64], path[512], file[600], small[16];
	char hex[ATTACH_HEX_LEN + 1];
	struct stat st;
	FILE *f;

	(void)state;
	test_tmpdir(root, sizeof(root), "attach");
	/* Over the limit: the digest, but nothing written. */
	assert_int_equal(attach_put(root, "abc", 3, 2, hex), GW_ETOOBIG);
	assert_string_equal(hex, ABC_SHA256);
	assert_int_equal(attach_path(root, hex, path, sizeof(path)), GW_OK);
	assert_int_not_equal(stat(path, &st), 0);
	/* Not a digest, or no room for the name. */
	assert_int_equal(attach_path(root, "../etc/passwd", path, sizeof(path)), GW_EINVAL);
	assert_int_equal(attach_path(root, "BA7816BF", path, sizeof(path)), GW_EINVAL);
	assert_int_equal(attach_path(root, ABC_SHA256, small, sizeof(small)), GW_EINVAL);
	/* A store folder that cannot be made. */
	snprintf(file, sizeof(file), "%s/plain-file", root);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(attach_put(file, "abc", 3, 10, hex), GW_EIO);
	test_rmtree(root);
}

static void assert_type(const char *dir, const char *want)
{
	char got[ATTACH_TYPE_MAX + 1];

	assert_int_equal(attach_type_get(dir, ABC_SHA256, got, sizeof(got)), GW_OK);
	assert_string_equal(got, want);
}

static void test_media_type(void **state)
{
	char root[64], path[600], got[ATTACH_TYPE_MAX + 1], hex[ATTACH_HEX_LEN + 1];
	char longtype[200];
	FILE *f;

	(void)state;
	test_tmpdir(root, sizeof(root), "attach");
	assert_int_equal(attach_put(root, "abc", 3, 10, hex), GW_OK);
	/* None recorded yet (a blob of before). */
	assert_int_equal(attach_type_get(root, hex, got, sizeof(got)), GW_ENOTFOUND);
	/* Nothing said: generic, wildcard, malformed, too long. */
	memset(longtype, 'a', sizeof(longtype) - 1);
	longtype[sizeof(longtype) - 1] = '\0';
	longtype[3] = '/';
	const char *nothing[] = {NULL, "", "application/octet-stream", "image/*", "image",
				 "/png", "image/", "a/b/c", "text/pl\r\nX-Evil: 1", "té/x",
				 longtype};
	for (size_t i = 0; i < sizeof(nothing) / sizeof(nothing[0]); i++) {
		assert_int_equal(attach_type_put(root, hex, nothing[i]), GW_OK);
		assert_int_equal(attach_type_get(root, hex, got, sizeof(got)), GW_ENOTFOUND);
	}
	/* Parameters cut off, lowercased; the first one recorded stays. */
	assert_int_equal(attach_type_put(root, hex, "Audio/MPEG; charset=x"), GW_OK);
	assert_type(root, "audio/mpeg");
	assert_int_equal(attach_type_put(root, hex, "video/mp4"), GW_OK);
	assert_type(root, "audio/mpeg");
	assert_int_equal(count_entries(root), 1); /* the fan-out folder only */
	/* Not a digest; a buffer too small; a damaged file is not served. */
	assert_int_equal(attach_type_put(root, "../x", "image/png"), GW_EINVAL);
	assert_int_equal(attach_type_get(root, "../x", got, sizeof(got)), GW_EINVAL);
	assert_int_equal(attach_type_get(root, hex, got, 8), GW_EINVAL);
	snprintf(path, sizeof(path), "%s/ba/%s.type", root, ABC_SHA256);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("text/html\r\nSet-Cookie: x\n", f);
	fclose(f);
	assert_int_equal(attach_type_get(root, hex, got, sizeof(got)), GW_EINVAL);
	test_rmtree(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_put),
		cmocka_unit_test(test_adopt),
		cmocka_unit_test(test_limits_and_refusals),
		cmocka_unit_test(test_media_type),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

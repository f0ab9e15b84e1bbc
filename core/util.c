/* util.c - clocks, random ids, directories and files (see util.h). */
#include "core/util.h"

#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t gw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t gw_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Random bytes come from OpenSSL in blocks: one RAND_bytes call costs about
 * 0.8 us whatever its size up to a few hundred bytes, and the router and the
 * connectors draw one id per event. Each thread has its own pool; a forked
 * child empties the pool of the thread that forked (the only one it has) so
 * it never hands out an id its parent also hands out.
 */
#define RANDOM_POOL_BYTES 512

struct random_pool {
	unsigned char bytes[RANDOM_POOL_BYTES];
	size_t used;
};

static _Thread_local struct random_pool random_pool = { .used = RANDOM_POOL_BYTES };
static pthread_once_t random_once = PTHREAD_ONCE_INIT;

static void random_pool_forget(void)
{
	OPENSSL_cleanse(random_pool.bytes, sizeof(random_pool.bytes));
	random_pool.used = RANDOM_POOL_BYTES;
}

static void random_pool_at_fork(void)
{
	pthread_atfork(NULL, NULL, random_pool_forget);
}

/* random_take - copies n (at most RANDOM_POOL_BYTES) fresh bytes to out. */
static int random_take(unsigned char *out, size_t n)
{
	struct random_pool *p = &random_pool;

	pthread_once(&random_once, random_pool_at_fork);
	if (p->used + n > sizeof(p->bytes)) {
		if (RAND_bytes(p->bytes, (int)sizeof(p->bytes)) != 1)
			return GW_EIO;
		p->used = 0;
	}
	memcpy(out, p->bytes + p->used, n);
	/* Bytes handed out are wiped so the pool never holds a past id. */
	OPENSSL_cleanse(p->bytes + p->used, n);
	p->used += n;
	return GW_OK;
}

int gw_random_id(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[16];

	if (random_take(raw, sizeof(raw)) != GW_OK)
		return GW_EIO;
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[32] = '\0';
	return GW_OK;
}

int gw_mkdir_p(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return GW_EINVAL;
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char saved = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return GW_EIO;
		buf[i] = saved;
	}
	return GW_OK;
}

int gw_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return GW_EIO;
		p += n;
		len -= (size_t)n;
	}
	return GW_OK;
}

/* The tests' sync hook (gw_sync_hook_set): the pair is read under the lock
 * so that a hook is never called with another hook's argument. */
static pthread_mutex_t sync_hook_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*sync_hook)(void *arg, const char *dir);
static void *sync_hook_arg;

void gw_sync_hook_set(void (*fn)(void *arg, const char *dir), void *arg)
{
	pthread_mutex_lock(&sync_hook_lock);
	sync_hook = fn;
	sync_hook_arg = arg;
	pthread_mutex_unlock(&sync_hook_lock);
}

int gw_fsync_dir(const char *dir)
{
	void (*fn)(void *arg, const char *dir);
	void *arg;
	int fd, rc;

	pthread_mutex_lock(&sync_hook_lock);
	fn = sync_hook;
	arg = sync_hook_arg;
	pthread_mutex_unlock(&sync_hook_lock);
	if (fn)
		fn(arg, dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = fd >= 0 && fsync(fd) == 0 ? GW_OK : GW_EIO;

	if (fd >= 0)
		close(fd);
	return rc;
}

/* write_replace - writes `path` through a temporary file beside it and a
 * rename; with `durable`, fsyncs the file first and its folder after. */
static int write_replace(const char *path, const void *data, size_t len, int durable)
{
	char tmp[4096], dir[4096];
	int fd = -1, rc = GW_EIO, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return GW_EINVAL;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (gw_write_all(fd, data, len) != GW_OK || (durable && fsync(fd) != 0))
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	rc = GW_OK;
	if (durable) {
		snprintf(dir, sizeof(dir), "%s", path);
		rc = gw_fsync_dir(dirname(dir));
	}
out:
	saved = errno; /* the cause (ENOSPC, EACCES), not close's or unlink's */
	if (fd >= 0)
		close(fd);
	if (rc != GW_OK)
		unlink(tmp);
	errno = saved;
	return rc;
}

int gw_write_file_atomic(const char *path, const void *data, size_t len)
{
	return write_replace(path, data, len, 0);
}

int gw_write_file_durable(const char *path, const void *data, size_t len)
{
	return write_replace(path, data, len, 1);
}

int gw_exe_dir(char *buf, size_t size)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return GW_EIO;
	exe[n] = '\0';
	if ((size_t)snprintf(buf, size, "%s", dirname(exe)) >= size)
		return GW_EINVAL;
	return GW_OK;
}

int gw_exe_relative(const char *rel, char *buf, size_t size)
{
	char dir[4096];
	int rc = gw_exe_dir(dir, sizeof(dir));

	if (rc != GW_OK)
		return rc;
	if ((size_t)snprintf(buf, size, "%s/%s", dir, rel) >= size)
		return GW_EINVAL;
	return access(buf, F_OK) == 0 ? GW_OK : GW_ENOTFOUND;
}

int gw_read_file(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t n = 0;
	int rc = GW_OK;

	*out = NULL;
	*len = 0;
	f = fopen(path, "rb");
	if (!f) {
		rc = errno == ENOENT ? GW_ENOTFOUND : GW_EIO;
		goto out;
	}
	buf = malloc(max + 1);
	if (!buf) {
		rc = GW_ENOMEM;
		goto out;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		rc = GW_EIO;
		goto out;
	}
	if (n > max) {
		rc = GW_ETOOBIG;
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	if (f)
		fclose(f);
	return rc;
}

char *gw_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

int gw_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return 0;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

/* utf8_need - the length of the sequence lead byte `c` starts; 0 when `c`
 * is no lead byte (ASCII, a continuation byte, or never valid). */
static size_t utf8_need(unsigned char c)
{
	if (c >= 0xc0 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf7)
		return 4;
	return 0;
}

void gw_utf8_trim(char *s)
{
	size_t len = strlen(s), i = len, cont = 0;

	/* At most three continuation bytes follow a lead byte. */
	while (i > 0 && cont < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80) {
		i--;
		cont++;
	}
	if (i > 0 && utf8_need((unsigned char)s[i - 1]) > cont + 1)
		s[i - 1] = '\0';
}

void gw_utf8_cut(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	s[max] = '\0';
}

int gw_tag_valid(const char *tag)
{
	size_t n = strlen(tag);

	if (n == 0 || n > GW_TAG_MAX)
		return 0;
	for (const char *p = tag; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("-_.:", *p)))
			return 0;
	return 1;
}

/* duration_unit - seconds of unit character `c`; 0: not a unit. */
static long long duration_unit(char c)
{
	switch (c) {
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 3600;
	case 'd':
		return 86400;
	}
	return 0;
}

/* duration_number - the decimal digits at *p (advanced past them) into
 * *n. Returns GW_OK, GW_EINVAL (no digit) or GW_ETOOBIG. */
static int duration_number(const char **p, long long *n)
{
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return GW_EINVAL;
	for (*n = 0; *s >= '0' && *s <= '9'; s++) {
		if (*n > (LLONG_MAX - (*s - '0')) / 10)
			return GW_ETOOBIG;
		*n = *n * 10 + (*s - '0');
	}
	*p = s;
	return GW_OK;
}

int gw_duration_parse(const char *s, long long bare_unit_s, long long *out_s)
{
	long long total = 0, n, unit, last = LLONG_MAX;
	const char *p = s;
	int rc = GW_OK;

	if (bare_unit_s < 1)
		return GW_EINVAL;
	if (strnlen(s, GW_DURATION_MAX_LEN + 1) > GW_DURATION_MAX_LEN)
		return GW_ETOOBIG;
	while (*p) {
		rc = duration_number(&p, &n);
		if (rc)
			goto out;
		/* A bare number: the whole value, in the caller's unit. */
		if (*p)
			unit = duration_unit(*p++);
		else
			unit = last == LLONG_MAX ? bare_unit_s : 0;
		if (unit == 0 || unit >= last) {
			rc = GW_EINVAL;
			goto out;
		}
		if (n > LLONG_MAX / unit || n * unit > LLONG_MAX - total) {
			rc = GW_ETOOBIG;
			goto out;
		}
		total += n * unit;
		last = unit;
	}
	if (p == s)
		rc = GW_EINVAL;
out:
	if (rc == GW_OK)
		*out_s = total;
	return rc;
}

/*
 * testutil.c - temporary folders and reserved ports for the unit tests
 * (testutil.h).
 */
#define _GNU_SOURCE /* nftw's FTW_DEPTH, FTW_PHYS */
#include "tests/unit/testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define PORT_FLOOR 20000

void test_tmpdir(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "/tmp/gw-test-%s-XXXXXX", name);

	assert_true(n > 0 && (size_t)n < size);
	if (!mkdtemp(buf))
		fail_msg("mkdtemp %s: %s", buf, strerror(errno));
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

void test_rmtree(const char *dir)
{
	struct stat st;

	if (!dir || lstat(dir, &st) != 0)
		return;
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fail_msg("cannot remove %s: %s", dir, strerror(errno));
}

/* ---- ports ---------------------------------------------------------- */

/* The temporary folder as Python's tempfile.gettempdir() finds it. */
static const char *tmp_root(void)
{
	static const char *const vars[] = {"TMPDIR", "TEMP", "TMP"};
	struct stat st;

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v && v[0] && stat(v, &st) == 0 && S_ISDIR(st.st_mode) && access(v, W_OK) == 0)
			return v;
	}
	return "/tmp";
}

/* [lo, hi): ports no client socket of this machine is given. */
static void port_range(int *lo, int *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	int eph = 32768;

	if (f) {
		if (fscanf(f, "%d", &eph) != 1)
			eph = 32768;
		fclose(f);
	}
	*lo = eph - PORT_FLOOR >= 1000 ? PORT_FLOOR : 10000;
	*hi = eph - PORT_FLOOR >= 1000 ? eph : PORT_FLOOR;
}

static int port_bindable(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, ok, s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0)
		return 0;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ok = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(s);
	return ok;
}

/* port_reserve - 1 when `port` is now this process's (its lock file stays
 * open, locked, until the process exits), 0 when another holds it. */
static int port_reserve(const char *dir, int port)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%d", dir, port);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		fail_msg("%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0 || !port_bindable(port)) {
		close(fd);
		return 0;
	}
	return 1;
}

int test_free_port(void)
{
	char dir[400];
	int lo, hi, span;
	unsigned start;

	snprintf(dir, sizeof(dir), "%s/omnigate-test-ports-%u", tmp_root(), (unsigned)getuid());
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		fail_msg("%s: %s", dir, strerror(errno));
	port_range(&lo, &hi);
	span = hi - lo;
	start = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
	for (int i = 0; i < span; i++) {
		int port = lo + (int)((start + (unsigned)i) % (unsigned)span);

		if (port_reserve(dir, port))
			return port;
	}
	fail_msg("no free port in %d..%d", lo, hi - 1);
	return -1;
}

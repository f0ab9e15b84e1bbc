/*
 * testutil.h - what the unit tests share besides cmocka: temporary
 * folders (made with mkdtemp, removed with nftw: no shell) and loopback
 * ports reserved against every test running at the same time.
 *
 * Linked into every tests/unit/test_<module> program. Each function fails
 * the running test (cmocka) when it cannot do its job, so callers need no
 * error path.
 */
#ifndef GW_TEST_UTIL_H
#define GW_TEST_UTIL_H

#include <stddef.h>

/*
 * test_tmpdir - makes a new empty folder /tmp/gw-test-<name>-XXXXXX and
 * writes its path into `buf` (size bytes; 64 is enough for a short name:
 * ipc:// endpoints inside it must stay under 108 bytes).
 */
void test_tmpdir(char *buf, size_t size, const char *name);

/* test_rmtree - removes `dir` and everything in it (NULL: nothing). */
void test_rmtree(const char *dir);

/*
 * test_free_port - a TCP port free on 127.0.0.1, below the kernel's
 * ephemeral range, reserved until the process exits by a lock file in the
 * folder the integration tests use too (tests/integration/ports.py),
 * so that tests running in parallel never pick the same port.
 */
int test_free_port(void);

#endif

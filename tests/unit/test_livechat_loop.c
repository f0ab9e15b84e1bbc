/*
 * test_livechat_loop.c - the live chat never syncs on its service loop
 * (docs/architecture.md, "No event loop waits for a flush"): the real
 * livechat connector in-process (connector_fixture.h), with a sync hook
 * (gw_sync_hook_set) that holds every fsync of a file or folder until the
 * test releases it. While an upload's blob is held in its fsync, the loop
 * must still answer another connection's request and read another
 * upload's bytes (and refuse them) within LOOP_MS, the held upload must
 * get no answer before its blob is durable, and no sync may run on the
 * loop's thread. Were the blob written or granted on the loop again, the
 * loop would wait in the hook and every bound here would fail.
 */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "connectors/livechat/lc_proto.h"
#include "core/err.h"
#include "core/util.h"
#include "tests/unit/connector_fixture.h"

#define SECRET "livechat-loop-test-secret-0123456789"
#define CONV "v:00112233445566778899aabbccddeeff"
#define LOOP_MS 2000     /* the loop answers within this while a sync is held */
#define HOLD_MS 8000     /* a held sync gives up after this (a failing test ends) */

static struct cfx fx;

/* The sync hook's state: syncs seen, those on the loop, and the hold. */
struct hold {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int held;
	int calls;
	int on_loop;
};

static struct hold hold = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};

static void hold_hook(void *arg, const char *dir)
{
	struct hold *h = arg;
	int64_t until = gw_mono_us() + HOLD_MS * 1000LL;

	(void)dir;
	pthread_mutex_lock(&h->mu);
	h->calls++;
	if (fx.running && pthread_equal(pthread_self(), fx.thread))
		h->on_loop++;
	pthread_cond_broadcast(&h->cv);
	while (h->held && gw_mono_us() < until) {
		pthread_mutex_unlock(&h->mu);
		usleep(5000);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
}

static int group_setup(void **state)
{
	static const char *const lines[] = {
		"secret: ${LC_LOOP_SECRET}",
		NULL,
	};

	(void)state;
	setenv("LC_LOOP_SECRET", SECRET, 1);
	cfx_start(&fx, "chat", "livechat", lines);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	gw_sync_hook_set(NULL, NULL);
	cfx_stop(&fx);
	return 0;
}

/* A POST /upload of `len` bytes of `body` declared as a PNG on a new connection. */
static int upload(const char *key, const char *name, const void *body, size_t len)
{
	char head[1024];
	int fd = cfx_connect(&fx);

	snprintf(head, sizeof(head),
		 "POST /upload?k=%s&name=%s&type=image/png HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		 "Content-Length: %zu\r\n\r\n", key, name, len);
	cfx_send(fd, head, -1);
	cfx_send(fd, body, (long)len);
	return fd;
}

/* Waits until the hook saw `n` syncs; 1, or 0 after `ms`. */
static int syncs_reach(int n, int ms)
{
	int64_t until = gw_mono_us() + ms * 1000LL;
	int ok;

	pthread_mutex_lock(&hold.mu);
	while (hold.calls < n && gw_mono_us() < until) {
		pthread_mutex_unlock(&hold.mu);
		usleep(2000);
		pthread_mutex_lock(&hold.mu);
	}
	ok = hold.calls >= n;
	pthread_mutex_unlock(&hold.mu);
	return ok;
}

/* One request on a new connection, answered `status` within LOOP_MS. */
static void answered_soon(const char *req, const void *body, size_t len, int status)
{
	struct cfx_resp r;
	int64_t t0 = gw_mono_us();
	int fd = cfx_connect(&fx);

	cfx_send(fd, req, -1);
	if (body)
		cfx_send(fd, body, (long)len);
	cfx_read(fd, &r);
	close(fd);
	assert_int_equal(r.status, status);
	assert_true(gw_mono_us() - t0 < LOOP_MS * 1000LL);
}

static void test_upload_sync_off_loop(void **state)
{
	static const char png[] = "\x89PNG\r\n\x1a\n loop test image bytes";
	static const char text[] = "plain words, not an image at all";
	char key[LC_FILES_KEY_MAX + 1], req[1024];
	struct pollfd p = {.events = POLLIN};
	struct cfx_resp r;

	(void)state;
	assert_int_equal(lc_files_key_make(SECRET, CONV, gw_now_ms() / 1000 + 3600, key,
					   sizeof(key)), GW_OK);
	hold.held = 1;
	gw_sync_hook_set(hold_hook, &hold);
	p.fd = upload(key, "a.png", png, sizeof(png) - 1);
	assert_true(syncs_reach(1, 5000)); /* its blob is in its fsync, held */

	/* The loop answers another connection, and reads another upload's bytes. */
	answered_soon("GET /no-such-file HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", NULL, 0, 404);
	snprintf(req, sizeof(req),
		 "POST /upload?k=%s&name=b.png&type=image/png HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		 "Content-Length: %zu\r\n\r\n", key, sizeof(text) - 1);
	answered_soon(req, text, sizeof(text) - 1, 415);
	/* No answer before the blob is durable. */
	assert_int_equal(poll(&p, 1, 200), 0);

	pthread_mutex_lock(&hold.mu);
	hold.held = 0;
	assert_int_equal(hold.on_loop, 0);
	pthread_mutex_unlock(&hold.mu);
	cfx_read(p.fd, &r);
	close(p.fd);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"ref\":\"sha256:"));
	assert_int_equal(hold.on_loop, 0);
	gw_sync_hook_set(NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upload_sync_off_loop),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

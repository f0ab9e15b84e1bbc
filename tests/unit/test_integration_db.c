/*
 * test_integration_db.c - gateway-integration's LMDB (store/integration.c):
 * a webhook cursor's moves by its worker and by an operator (a rewind
 * makes the worker's older position unwritable), failures and their
 * reset, idempotency keys with their digest and expiry; and the config
 * section `integration` (tokens, webhooks, a secret whose variable is
 * unset turning it off, bad scopes and URLs refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/err.h"
#include "core/sign.h"
#include "store/integration.h"
#include "tests/unit/testutil.h"

struct fx {
	char dir[64];
	struct integ_db *db;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/gw-test-integ-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(integ_db_open(f->dir, 4, &f->db), GW_OK);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	integ_db_close(f->db);
	test_rmtree(f->dir);
	free(f);
	return 0;
}

static void test_cursor_worker_and_operator(void **state)
{
	struct fx *f = *state;
	struct integ_cursor c;

	assert_int_equal(integ_cursor_get(f->db, "hook", &c), GW_OK);
	assert_int_equal(c.seq, 0);
	assert_int_equal(integ_cursor_advance(f->db, "hook", 0, 5, 1), GW_OK);
	assert_int_equal(integ_cursor_failed(f->db, "hook", 0, "HTTP 503"), GW_OK);
	assert_int_equal(integ_cursor_get(f->db, "hook", &c), GW_OK);
	assert_int_equal(c.seq, 5);
	assert_int_equal(c.delivered, 1);
	assert_int_equal(c.failures, 1);
	assert_string_equal(c.last_error, "HTTP 503");
	/* A success clears the failures; the cursor never moves back by itself. */
	assert_int_equal(integ_cursor_advance(f->db, "hook", 0, 3, 0), GW_OK);
	assert_int_equal(integ_cursor_get(f->db, "hook", &c), GW_OK);
	assert_int_equal(c.seq, 5);
	assert_int_equal(c.failures, 0);
	assert_string_equal(c.last_error, "");
	/* The operator rewinds: the worker's generation is stale. */
	assert_int_equal(integ_cursor_control(f->db, "hook", 1, 2), GW_OK);
	assert_int_equal(integ_cursor_get(f->db, "hook", &c), GW_OK);
	assert_int_equal(c.seq, 1);
	assert_int_equal(c.gen, 1);
	assert_true(c.paused);
	assert_int_equal(integ_cursor_advance(f->db, "hook", 0, 6, 1), GW_EAGAIN);
	assert_int_equal(integ_cursor_failed(f->db, "hook", 0, "x"), GW_EAGAIN);
	assert_int_equal(integ_cursor_control(f->db, "hook", 0, 0), GW_OK);
	assert_int_equal(integ_cursor_advance(f->db, "hook", 1, 2, 1), GW_OK);
	assert_int_equal(integ_cursor_get(f->db, "hook", &c), GW_OK);
	assert_int_equal(c.seq, 2);
	assert_false(c.paused);
	/* Another subscription is another cursor. */
	assert_int_equal(integ_cursor_get(f->db, "other", &c), GW_OK);
	assert_int_equal(c.seq, 0);
}

static void test_idempotency_keys(void **state)
{
	struct fx *f = *state;
	unsigned char d1[INTEG_DIGEST_LEN] = {1}, got[INTEG_DIGEST_LEN];
	char *body = NULL;
	size_t len = 0;
	int status = 0;

	assert_int_equal(integ_idem_get(f->db, "tok\nk1", 1000, &status, &body, &len, got),
			 GW_ENOTFOUND);
	assert_int_equal(integ_idem_put(f->db, "tok\nk1", 5000, 1000, 202, "{\"a\":1}", 7, d1),
			 GW_OK);
	assert_int_equal(integ_idem_get(f->db, "tok\nk1", 4999, &status, &body, &len, got),
			 GW_OK);
	assert_int_equal(status, 202);
	assert_int_equal(len, 7);
	assert_string_equal(body, "{\"a\":1}");
	assert_memory_equal(got, d1, INTEG_DIGEST_LEN);
	free(body);
	/* Expired: gone for readers, and purged by a later write. */
	assert_int_equal(integ_idem_get(f->db, "tok\nk1", 5000, &status, &body, &len, got),
			 GW_ENOTFOUND);
	assert_int_equal(integ_idem_put(f->db, "tok\nk2", 9000, 6000, 200, "", 0, d1), GW_OK);
	assert_int_equal(integ_idem_get(f->db, "tok\nk1", 0, &status, &body, &len, got),
			 GW_ENOTFOUND);
	assert_int_equal(integ_idem_get(f->db, "tok\nk2", 6000, &status, &body, &len, got),
			 GW_OK);
	assert_int_equal(len, 0);
	free(body);
}

static void test_sign_known_value(void **state)
{
	char sig[GW_SIGN_MAX];

	(void)state;
	/* The format; test_api_callback checks the value against docs/channels/api.md. */
	assert_int_equal(gw_sign("0123456789abcdef0123", 20, 1700000001, "{}", 2, sig,
				 sizeof(sig)), GW_OK);
	assert_int_equal(strncmp(sig, "t=1700000001,v1=", 16), 0);
	assert_int_equal(strlen(sig), 16 + 64);
	assert_int_equal(gw_sign("k", 1, -1, "", 0, sig, sizeof(sig)), GW_EINVAL);
	assert_int_equal(gw_sign("k", 1, 1, "", 0, sig, 10), GW_EINVAL);
}

/* ---- the config section ---- */

static int load_text(const char *text, struct gw_config **cfg, char *err, size_t errlen)
{
	char path[] = "/tmp/gw-test-integ-conf-XXXXXX";
	int fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = gw_config_load(path, "/tmp", cfg, err, errlen);
	unlink(path);
	return rc;
}

/* A token or webhook whose secret is unset is off alone; the rest runs. */
static void test_config_off_alone(void)
{
	struct gw_config *cfg = NULL;
	char err[512];

	unsetenv("GW_TEST_INTEG_UNSET");
	assert_int_equal(load_text("integration:\n  tokens:\n    - name: a\n      secret: "
				   "${GW_TEST_INTEG_UNSET}\n    - name: b\n      secret: "
				   "0123456789abcdef\n  webhooks:\n    - name: h\n      url: "
				   "http://127.0.0.1:9/x\n      secret: ${GW_TEST_INTEG_UNSET}\n",
				   &cfg, err, sizeof(err)), GW_OK);
	assert_null(cfg->integration.disabled_reason);
	assert_string_equal(cfg->integration.tokens[0].off_reason,
			    "secret: environment variable GW_TEST_INTEG_UNSET is not set");
	assert_null(cfg->integration.tokens[0].secret);
	assert_null(cfg->integration.tokens[1].off_reason);
	assert_string_equal(cfg->integration.webhooks[0].off_reason,
			    "secret: environment variable GW_TEST_INTEG_UNSET is not set");
	/* The limits' defaults. */
	assert_int_equal(cfg->integration.limits.max_connections_per_ip, 64);
	assert_int_equal(cfg->integration.auth_failures_per_minute, 10);
	gw_config_free(cfg);
	/* A webhook alone keeps it running. */
	assert_int_equal(load_text("integration:\n  tokens:\n    - name: a\n      secret: "
				   "${GW_TEST_INTEG_UNSET}\n  webhooks:\n    - name: h\n      url: "
				   "http://127.0.0.1:9/x\n      secret: 0123456789abcdef\n",
				   &cfg, err, sizeof(err)), GW_OK);
	assert_null(cfg->integration.disabled_reason);
	gw_config_free(cfg);
}

static void test_config_section(void **state)
{
	struct gw_config *cfg = NULL;
	char err[512];

	(void)state;
	assert_int_equal(load_text("state_dir: /tmp\n", &cfg, err, sizeof(err)), GW_OK);
	assert_false(cfg->integration.present);
	gw_config_free(cfg);
	setenv("GW_TEST_INTEG_TOKEN", "0123456789abcdef0123", 1);
	assert_int_equal(load_text("integration:\n  tokens:\n    - name: a\n      scopes: [read, "
				   "manage]\n      secret: ${GW_TEST_INTEG_TOKEN}\n  webhooks:\n"
				   "    - name: h\n      url: http://127.0.0.1:9/x\n      secret: "
				   "0123456789abcdef\n      events: [ticket.]\n",
				   &cfg, err, sizeof(err)), GW_OK);
	assert_true(cfg->integration.present);
	assert_null(cfg->integration.disabled_reason);
	assert_int_equal(cfg->integration.listen.port, 8093);
	assert_int_equal(cfg->integration.n_tokens, 1);
	assert_int_equal(cfg->integration.tokens[0].scopes.n, 2);
	assert_int_equal(cfg->integration.webhooks[0].backoff_max_ms, 60000);
	gw_config_free(cfg);
	unsetenv("GW_TEST_INTEG_TOKEN");
	assert_int_equal(load_text("integration:\n  tokens:\n    - name: a\n      secret: "
				   "${GW_TEST_INTEG_TOKEN}\n", &cfg, err, sizeof(err)), GW_OK);
	/* Its only token is off: so is the process, naming the token. */
	assert_non_null(strstr(cfg->integration.disabled_reason, "GW_TEST_INTEG_TOKEN"));
	assert_non_null(strstr(cfg->integration.disabled_reason, "token 'a'"));
	assert_non_null(strstr(cfg->integration.tokens[0].off_reason, "GW_TEST_INTEG_TOKEN"));
	gw_config_free(cfg);
	test_config_off_alone();
	assert_int_equal(load_text("integration:\n  tokens:\n    - name: a\n      scopes: [write]\n"
				   "      secret: 0123456789abcdef\n", &cfg, err, sizeof(err)),
			 GW_ECONFIG);
	assert_non_null(strstr(err, "tokens[0].scopes: 'write'"));
	assert_int_equal(load_text("integration:\n  webhooks:\n    - name: h\n      url: ftp://x\n"
				   "      secret: 0123456789abcdef\n", &cfg, err, sizeof(err)),
			 GW_ECONFIG);
	assert_non_null(strstr(err, "webhooks[0].url"));
	assert_int_equal(load_text("integration:\n  tokens:\n    - name: a\n      secret: short\n",
				   &cfg, err, sizeof(err)), GW_ECONFIG);
	assert_int_equal(load_text("integration:\n  nope: 1\n", &cfg, err, sizeof(err)),
			 GW_ECONFIG);
	/* Its listen address clashes with a connector's like any other. */
	assert_int_equal(load_text("connectors:\n  - name: api\n    type: api\n    listen: "
				   "127.0.0.1:8093\n    token: 0123456789abcdef\nintegration:\n"
				   "  tokens: []\n", &cfg, err, sizeof(err)), GW_ECONFIG);
	assert_non_null(strstr(err, "integration.listen"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cursor_worker_and_operator, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_idempotency_keys, fx_setup, fx_teardown),
		cmocka_unit_test(test_sign_known_value),
		cmocka_unit_test(test_config_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

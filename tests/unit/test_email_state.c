/*
 * test_email_state.c - the email connector's durable pieces without a
 * server: the per-mailbox progress file (email_state.c) and the quarantine
 * (quarantine.c): round trips, a fresh start, another mailbox's file,
 * corrupt files, entry ids, and a reingest request answered.
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

#include "store/email_state.h"
#include "store/quarantine.h"
#include "core/err.h"
#include "core/util.h"
#include "tests/unit/testutil.h"

#define URL "imap://127.0.0.1:143/INBOX"

struct fx {
	char dir[64];
	char path[128];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	test_tmpdir(f->dir, sizeof(f->dir), "email");
	snprintf(f->path, sizeof(f->path), "%s/mail.state", f->dir);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	test_rmtree(f->dir);
	free(f);
	return 0;
}

static void write_text(const char *path, const char *text)
{
	assert_int_equal(gw_write_file_durable(path, text, strlen(text)), GW_OK);
}

static void test_state_round_trip(void **state)
{
	struct fx *f = *state;
	struct email_state st = {.uidvalidity = 4000000000u, .last_uid = 77, .pending_from = 70};
	struct email_state got;
	char why[128] = "";
	int fresh = -1;

	assert_int_equal(email_state_load(f->path, URL, &got, &fresh, why, sizeof(why)), GW_OK);
	assert_int_equal(fresh, 1);
	assert_int_equal(got.uidvalidity, 0);
	assert_int_equal(email_state_save(f->path, URL, &st), GW_OK);
	assert_int_equal(email_state_load(f->path, URL, &got, &fresh, why, sizeof(why)), GW_OK);
	assert_int_equal(fresh, 0);
	assert_int_equal(got.uidvalidity, 4000000000u);
	assert_int_equal(got.last_uid, 77);
	assert_int_equal(got.pending_from, 70);
	/* Another mailbox configured: its progress does not apply. */
	assert_int_equal(email_state_load(f->path, "imap://127.0.0.1:143/Other", &got, &fresh,
					  why, sizeof(why)), GW_OK);
	assert_int_equal(fresh, 1);
	assert_int_equal(got.last_uid, 0);
}

static void test_state_corrupt(void **state)
{
	struct fx *f = *state;
	struct email_state got;
	char why[128] = "";
	int fresh = 0;
	static const char *const bad[] = {
		"not json",
		"[1,2]",
		"{\"version\":2,\"url\":\"" URL "\"}",
		"{\"version\":1,\"url\":\"" URL "\",\"last_uid\":-1}",
		"{\"version\":1,\"url\":\"" URL "\",\"last_uid\":4294967296}",
		"{\"version\":1,\"url\":\"" URL "\",\"last_uid\":\"7\"}",
		"{\"version\":1,\"url\":\"" URL "\",\"last_uid\":5,\"pending_from\":6}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text(f->path, bad[i]);
		why[0] = '\0';
		assert_int_equal(email_state_load(f->path, URL, &got, &fresh, why, sizeof(why)),
				 GW_EPROTO);
		assert_true(why[0] != '\0');
	}
}

static void test_quarantine_ids(void **state)
{
	(void)state;
	assert_true(quarantine_valid_id("1-2"));
	assert_true(quarantine_valid_id("4294967295-4294967295"));
	assert_false(quarantine_valid_id(""));
	assert_false(quarantine_valid_id("12"));
	assert_false(quarantine_valid_id("-12"));
	assert_false(quarantine_valid_id("12-"));
	assert_false(quarantine_valid_id("1-2-3"));
	assert_false(quarantine_valid_id("../1-2"));
	assert_false(quarantine_valid_id("1-2.json"));
}

static void test_quarantine_reingest(void **state)
{
	struct fx *f = *state;
	struct quarantine *q = NULL;
	char id[QUARANTINE_ID_MAX], path[256], *raw = NULL, *text = NULL;
	size_t len = 0;

	assert_int_equal(quarantine_open(f->dir, "mail", "INBOX", &q), GW_OK);
	assert_int_equal(quarantine_put(q, 9, 3, "Subject: x\r\n\r\nbody\r\n", 21, 21, "no sender"),
			 GW_OK);
	assert_int_equal(quarantine_put(q, 9, 4, NULL, 0, 99999999, "too big"), GW_OK);
	assert_int_equal(quarantine_next_request(q, id), GW_ENOTFOUND);
	snprintf(path, sizeof(path), "%s/quarantine/mail/reingest/9-3.request", f->dir);
	write_text(path, "{}");
	assert_int_equal(quarantine_next_request(q, id), GW_OK);
	assert_string_equal(id, "9-3");
	assert_int_equal(quarantine_load(q, "9-3", 1024, &raw, &len), GW_OK);
	assert_int_equal(len, 21);
	free(raw);
	raw = NULL;
	assert_int_equal(quarantine_load(q, "9-4", 1024, &raw, &len), GW_EMISSING);
	assert_int_equal(quarantine_load(q, "9-5", 1024, &raw, &len), GW_ENOTFOUND);
	/* Ingested: the entry and the request go, the answer stays for gatewayctl. */
	assert_int_equal(quarantine_answer(q, "9-3", "ingested", "", 1), GW_OK);
	assert_int_equal(quarantine_next_request(q, id), GW_ENOTFOUND);
	assert_int_equal(quarantine_load(q, "9-3", 1024, &raw, &len), GW_ENOTFOUND);
	snprintf(path, sizeof(path), "%s/quarantine/mail/reingest/9-3.done", f->dir);
	assert_int_equal(gw_read_file(path, 4096, &text, &len), GW_OK);
	assert_non_null(strstr(text, "\"result\":\"ingested\""));
	assert_non_null(strstr(text, "\"id\":\"mail/9-3\""));
	free(text);
	/* Quarantined again: the entry keeps the new reason. */
	assert_int_equal(quarantine_answer(q, "9-4", "error", "no stored copy", 0), GW_OK);
	snprintf(path, sizeof(path), "%s/quarantine/mail/9-4.json", f->dir);
	assert_int_equal(gw_read_file(path, 4096, &text, &len), GW_OK);
	assert_non_null(strstr(text, "\"reason\":\"no stored copy\""));
	assert_non_null(strstr(text, "\"stored\":false"));
	free(text);
	quarantine_close(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_state_round_trip, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_state_corrupt, fx_setup, fx_teardown),
		cmocka_unit_test(test_quarantine_ids),
		cmocka_unit_test_setup_teardown(test_quarantine_reingest, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

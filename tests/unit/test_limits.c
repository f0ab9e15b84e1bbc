/*
 * test_limits.c - the per-sender limiter (connectors/limits.h): the token
 * bucket and its refill, the LRU bound of the sender map, loop detection
 * and the slower bucket of automated messages; and the quarantine records
 * of the spool (store/spool_quarantine.h, store/spool.h): codec and table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "connectors/limits.h"
#include "core/err.h"
#include "store/spool.h"
#include "store/spool_quarantine.h"

static const struct limits_settings defaults = {
	.sender_per_minute = 30, .sender_burst = 20, .senders_max = 16,
	.loop_repeats = 5, .loop_window_s = 600, .automated_per_hour = 10,
	.automated_burst = 5, .quarantine_max = 100, .quarantine_max_mb = 1,
};

static void sender_id(struct limits_msg *m, unsigned n, uint64_t content)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < LIMITS_ID_LEN; i++)
		m->sender[i] = (unsigned char)((n * 2654435761u) >> (i % 4 * 8)) ^ (unsigned char)i;
	m->content = content;
}

static void test_bucket(void **state)
{
	struct limits *l = NULL;
	struct limits_msg m;
	int64_t wait = 0;

	(void)state;
	assert_int_equal(limits_create(&defaults, &l), GW_OK);
	sender_id(&m, 1, 0);
	for (int i = 0; i < 20; i++) {
		m.content = (uint64_t)i + 1; /* all different: no loop */
		assert_int_equal(limits_check(l, &m, 1000, &wait), LIMITS_PASS);
	}
	m.content = 100;
	assert_int_equal(limits_check(l, &m, 1000, &wait), LIMITS_RATE);
	assert_true(wait > 0 && wait <= 2000); /* 30 a minute: one every 2 s */
	/* Another sender is not concerned. */
	struct limits_msg o;

	sender_id(&o, 2, 1);
	assert_int_equal(limits_check(l, &o, 1000, NULL), LIMITS_PASS);
	/* After the wait the sender gets one token, not more. */
	m.content = 101;
	assert_int_equal(limits_check(l, &m, 1000 + wait, NULL), LIMITS_PASS);
	m.content = 102;
	assert_int_equal(limits_check(l, &m, 1000 + wait, NULL), LIMITS_RATE);
	limits_destroy(l);
}

static void test_lru_bound(void **state)
{
	struct limits *l = NULL;
	struct limits_msg m;

	(void)state;
	assert_int_equal(limits_create(&defaults, &l), GW_OK);
	sender_id(&m, 1, 1);
	for (int i = 0; i < 20; i++) {
		m.content = (uint64_t)i + 1;
		(void)limits_check(l, &m, 0, NULL);
	}
	assert_int_equal(limits_check(l, &m, 0, NULL), LIMITS_RATE);
	/* 100 other senders: the map stays at senders_max and sender 1, the
	 * least recent, is forgotten (a fresh bucket). */
	for (unsigned n = 2; n < 102; n++) {
		struct limits_msg o;

		sender_id(&o, n, 7);
		assert_int_equal(limits_check(l, &o, 0, NULL), LIMITS_PASS);
		assert_true(limits_tracked(l) <= 16);
	}
	assert_int_equal(limits_tracked(l), 16);
	m.content = 555;
	assert_int_equal(limits_check(l, &m, 0, NULL), LIMITS_PASS);
	limits_destroy(l);
	struct limits_settings bad = defaults;

	bad.senders_max = 0;
	assert_int_equal(limits_create(&bad, &l), GW_EINVAL);
}

static void test_loop(void **state)
{
	struct limits_settings s = defaults;
	struct limits *l = NULL;
	struct limits_msg m;
	int64_t wait = 0;

	(void)state;
	s.sender_per_minute = 0; /* only the loop detection */
	assert_int_equal(limits_create(&s, &l), GW_OK);
	sender_id(&m, 3, 42);
	for (int i = 0; i < 5; i++)
		assert_int_equal(limits_check(l, &m, i * 1000, NULL), LIMITS_PASS);
	assert_int_equal(limits_check(l, &m, 6000, &wait), LIMITS_LOOP);
	assert_int_equal(wait, 600000);
	/* Other content of the same sender passes. */
	m.content = 43;
	assert_int_equal(limits_check(l, &m, 6000, NULL), LIMITS_PASS);
	/* The loop goes on while the repeats do, past the first window. */
	m.content = 42;
	for (int64_t t = 60000; t < 1200000; t += 60000)
		assert_int_equal(limits_check(l, &m, t, NULL), LIMITS_LOOP);
	/* A whole window of silence ends it. */
	assert_int_equal(limits_check(l, &m, 1200000 + 600001, NULL), LIMITS_PASS);
	/* Repeats spread over more than a window are no loop. */
	m.content = 77;
	for (int i = 0; i < 20; i++)
		assert_int_equal(limits_check(l, &m, 4000000 + (int64_t)i * 200000, NULL),
				 LIMITS_PASS);
	limits_destroy(l);
}

static void test_automated(void **state)
{
	struct limits *l = NULL;
	struct limits_msg m;
	int64_t wait = 0;

	(void)state;
	assert_int_equal(limits_create(&defaults, &l), GW_OK);
	sender_id(&m, 4, 0);
	m.automated = 1;
	for (int i = 0; i < 5; i++) {
		m.content = (uint64_t)i + 1;
		assert_int_equal(limits_check(l, &m, 0, NULL), LIMITS_PASS);
	}
	m.content = 9;
	assert_int_equal(limits_check(l, &m, 0, &wait), LIMITS_AUTOMATED);
	assert_true(wait > 300000 && wait <= 360000); /* 10 an hour */
	/* The person behind the address may still write. */
	m.automated = 0;
	assert_int_equal(limits_check(l, &m, 0, NULL), LIMITS_PASS);
	assert_string_equal(limits_verdict_name(LIMITS_AUTOMATED), "automated");
	limits_destroy(l);
}

static void test_spoolq_codec(void **state)
{
	struct spoolq_rec r, back;
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.kind = SPOOLQ_BODY;
	r.at = 1234567;
	snprintf(r.reason, sizeof(r.reason), "entry[0]: not an object");
	snprintf(r.channel, sizeof(r.channel), "whatsapp");
	snprintf(r.content_type, sizeof(r.content_type), "application/json");
	r.data = "{\"x\":\0}";
	r.len = 8;
	assert_int_equal(spoolq_encode(&r, &buf, &len), GW_OK);
	assert_int_equal(spoolq_decode(buf, len, &back), GW_OK);
	assert_int_equal(back.kind, SPOOLQ_BODY);
	assert_int_equal(back.at, 1234567);
	assert_string_equal(back.reason, r.reason);
	assert_string_equal(back.channel, "whatsapp");
	assert_string_equal(back.sender, "");
	assert_int_equal(back.len, 8);
	assert_memory_equal(back.data, r.data, 8);
	/* Strict: a byte more or less is refused. */
	assert_int_equal(spoolq_decode(buf, len - 1, &back), GW_EPROTO);
	buf[0] = 9;
	assert_int_equal(spoolq_decode(buf, len, &back), GW_EPROTO);
	free(buf);
	r.kind = 7;
	assert_int_equal(spoolq_encode(&r, &buf, &len), GW_EINVAL);
}

static int count_fn(void *arg, uint64_t key, const void *data, size_t len)
{
	(void)key;
	(void)data;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

static void test_spool_quarantine_table(void **state)
{
	char dir[64] = "/tmp/gw-test-spoolq-XXXXXX", cmd[128], *got = NULL;
	struct spool *sp = NULL, *ro = NULL;
	struct spool_rec add[3] = {{"ev1", 3, 0}, {"q1", 2, 1}, {"ev2", 3, 0}};
	struct spool_rec rel = {"ev3", 3, 0};
	uint64_t first = 0, n = 0, bytes = 0;
	size_t len = 0;
	int events = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(spool_open(dir, 1u << 20, &sp), GW_OK);
	assert_int_equal(spool_write(sp, NULL, 0, add, 3, &first), GW_OK);
	assert_int_equal(first, 1);
	assert_int_equal(spool_count(sp, &n), GW_OK);
	assert_int_equal(n, 2); /* events only */
	assert_int_equal(spool_q_stat(sp, &n, &bytes), GW_OK);
	assert_int_equal(n, 1);
	assert_int_equal(bytes, 2);
	/* Another process reads it while the owner has it open. */
	assert_int_equal(spool_open_readonly(dir, &ro), GW_OK);
	assert_int_equal(spool_q_get(ro, 1, &got, &len), GW_OK);
	assert_memory_equal(got, "q1", 2);
	free(got);
	spool_close(ro);
	/* Released: the record goes, its event is appended, in one write. */
	assert_int_equal(spool_q_resolve(sp, 1, NULL, 0, &rel, 1, &first), GW_OK);
	assert_int_equal(first, 3);
	assert_int_equal(spool_q_resolve(sp, 1, NULL, 0, &rel, 1, &first), GW_ENOTFOUND);
	assert_int_equal(spool_scan(sp, 0, count_fn, &events), GW_OK);
	assert_int_equal(events, 3);
	assert_int_equal(spool_q_stat(sp, &n, &bytes), GW_OK);
	assert_int_equal(n, 0);
	spool_close(sp);
	assert_int_equal(spool_open_readonly("/tmp/gw-no-such-spool", &ro), GW_ENOTFOUND);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_lru_bound),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_automated),
		cmocka_unit_test(test_spoolq_codec),
		cmocka_unit_test(test_spool_quarantine_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

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

#include "connectors/intake.h"
#include "connectors/limits.h"
#include "connectors/outbox.h"
#include "core/err.h"
#include "core/util.h"
#include "proto/proto.h"
#include "store/spool.h"
#include "store/spool_quarantine.h"
#include "tests/unit/testutil.h"

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
	char dir[64] = "/tmp/gw-test-spoolq-XXXXXX", *got = NULL;
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
	test_rmtree(dir);
}

/* ---- intake: holds, kept bodies and reingest, on a real outbox ---------- */

struct ifx {
	char dir[64], spool[128], endpoint[160];
	struct gw_connector_conf conf;
	struct connector_instance inst;
	int reparse_ok; /* what the fake reingest op does */
};

static void make_msg(struct proto_event *ev, const char *ext, const char *from)
{
	assert_int_equal(proto_event_init(ev, PROTO_T_MESSAGE_RECEIVED), GW_OK);
	ev->u.message.channel = strdup("api");
	ev->u.message.account = strdup("t");
	ev->u.message.external_id = strdup(ext);
	ev->u.message.from.address = strdup(from);
	ev->u.message.text = strdup(ext);
}

static struct ifx *reingest_fx; /* the op gets the instance only */

static int fake_reingest(struct connector_instance *inst, const char *content_type,
			 const void *body, size_t len, char *why, size_t whylen)
{
	struct proto_event ev;
	int rc;

	(void)content_type;
	if (!reingest_fx->reparse_ok) {
		snprintf(why, whylen, "still bad: %.*s", (int)len, (const char *)body);
		return GW_EPROTO;
	}
	make_msg(&ev, "from-body", "+15550007777");
	rc = intake_add(inst, &ev, NULL, NULL);
	proto_event_clear(&ev);
	return rc;
}

static void ifx_open(struct ifx *f)
{
	struct outbox_options opt = {0};

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/gw-test-intake-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->spool, sizeof(f->spool), "%s/spool/t", f->dir);
	snprintf(f->endpoint, sizeof(f->endpoint), "ipc://%s/nobody", f->dir);
	opt.dir = f->spool;
	opt.endpoint = f->endpoint;
	opt.max_entries = 1000;
	opt.map_size = 16u << 20;
	f->conf.name = "t";
	f->conf.type = "api";
	f->inst.conf = &f->conf;
	snprintf(f->inst.log_module, sizeof(f->inst.log_module), "api/t");
	assert_int_equal(outbox_open(&opt, &f->inst.outbox), GW_OK);
	assert_int_equal(intake_create(&f->inst, f->dir, fake_reingest, &f->inst.intake), GW_OK);
	reingest_fx = f;
}

static void ifx_close(struct ifx *f)
{
	intake_destroy(f->inst.intake);
	outbox_close(f->inst.outbox);
	test_rmtree(f->dir);
}

/* ifx_reingest - asks for entry `id` as gatewayctl does; the answer's
 * result. */
static void ifx_reingest(struct ifx *f, uint64_t id, const char *want)
{
	char path[256], *text = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/reingest/%llu.request", f->spool, (unsigned long long)id);
	assert_int_equal(gw_write_file_atomic(path, "{}", 2), GW_OK);
	intake_poll(f->inst.intake);
	snprintf(path, sizeof(path), "%s/reingest/%llu.done", f->spool, (unsigned long long)id);
	assert_int_equal(gw_read_file(path, 4096, &text, &len), GW_OK);
	assert_non_null(strstr(text, want));
	free(text);
}

static void test_intake_hold_keep_reingest(void **state)
{
	struct outbox_stats st;
	struct proto_event ev;
	struct ifx f;
	int held = 0;

	(void)state;
	ifx_open(&f);
	/* 20 pass (the default burst), the 21st is held in the same commit. */
	for (int i = 0; i < 21; i++) {
		char ext[16];

		snprintf(ext, sizeof(ext), "m%d", i);
		make_msg(&ev, ext, "+15550001111");
		assert_int_equal(intake_add(&f.inst, &ev, NULL, &held), GW_OK);
		assert_int_equal(held, i == 20);
		proto_event_clear(&ev);
	}
	assert_int_equal(intake_keep(&f.inst, "bad json", "application/json", "{x", 2), GW_OK);
	assert_int_equal(outbox_commit(f.inst.outbox), GW_OK);
	outbox_get_stats(f.inst.outbox, &st);
	assert_int_equal(st.spooled, 20);
	assert_int_equal(st.quarantined, 2);
	assert_int_equal(f.inst.stats.held, 1);
	assert_int_equal(f.inst.stats.rate_limited, 1);
	assert_int_equal(f.inst.stats.kept, 1);
	/* The held message is released: one more event, limits bypassed. */
	ifx_reingest(&f, 1, "\"released\"");
	outbox_get_stats(f.inst.outbox, &st);
	assert_int_equal(st.spooled, 21);
	assert_int_equal(st.quarantined, 1);
	/* The body: still unreadable, it stays with the new reason ... */
	ifx_reingest(&f, 2, "still bad: {x");
	outbox_get_stats(f.inst.outbox, &st);
	assert_int_equal(st.quarantined, 1);
	/* ... and once the code reads it, its events replace it. */
	f.reparse_ok = 1;
	ifx_reingest(&f, 2, "\"ingested\"");
	outbox_get_stats(f.inst.outbox, &st);
	assert_int_equal(st.spooled, 22);
	assert_int_equal(st.quarantined, 0);
	ifx_reingest(&f, 2, "no such entry");
	ifx_close(&f);
}

static void test_intake_quarantine_bound(void **state)
{
	struct conf_entry rows[] = {
		{.kind = CONF_INT, .key = "quarantine_max_mb", .offset = 0},
		{.kind = CONF_INT, .key = "quarantine_max_entries", .offset = sizeof(long long)},
	};
	struct conf_section sec = {.name = "t", .entries = rows, .n_entries = 2};
	long long mb[2] = {1, 5}; /* 1 MiB, 5 entries */
	size_t big = 200u * 1024;
	char *body = malloc(big);
	int kept = 0, full = 0;
	struct ifx f;

	(void)state;
	assert_non_null(body);
	memset(body, 'x', big);
	ifx_open(&f);
	intake_destroy(f.inst.intake);
	f.conf.section = &sec; /* the rest the defaults */
	f.conf.settings = mb;
	assert_int_equal(intake_create(&f.inst, f.dir, NULL, &f.inst.intake), GW_OK);
	for (int i = 0; i < 10; i++) {
		int rc = intake_keep(&f.inst, "big", "", body, big);

		kept += rc == GW_OK;
		full += rc == GW_EFULL;
		if (rc == GW_OK)
			assert_int_equal(outbox_commit(f.inst.outbox), GW_OK);
	}
	free(body);
	assert_int_equal(kept, 5); /* 1 MiB of 200 KiB bodies, and 5 entries */
	assert_int_equal(full, 5);
	assert_int_equal(f.inst.stats.quarantine_full, 5);
	/* Full: a message to hold is not lost but refused, for a retry. */
	for (int i = 0; i < 21; i++) {
		struct proto_event ev;
		char ext[16];

		snprintf(ext, sizeof(ext), "m%d", i);
		make_msg(&ev, ext, "+15550001111");
		assert_int_equal(intake_add(&f.inst, &ev, NULL, NULL), i < 20 ? GW_OK : GW_EFULL);
		proto_event_clear(&ev);
	}
	assert_int_equal(f.inst.stats.held, 0);
	ifx_close(&f);
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
		cmocka_unit_test(test_intake_hold_keep_reingest),
		cmocka_unit_test(test_intake_quarantine_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_store.c - the LMDB tables and the connector spool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "store/spool.h"
#include "store/sentlog.h"
#include "store/store.h"
#include "tests/unit/testutil.h"

static char *make_tmpdir(void)
{
	char d[64];
	char *s;

	test_tmpdir(d, sizeof(d), "store");
	s = strdup(d);
	assert_non_null(s);
	return s;
}

static int put_events(struct store *st, uint64_t from, uint64_t n)
{
	struct store_txn *txn;
	int rc = store_txn_begin(st, 0, &txn);

	assert_int_equal(rc, GW_OK);
	for (uint64_t s = from; s < from + n && rc == GW_OK; s++)
		rc = store_eventlog_append(txn, s, "message.received", "\x80", 1);
	if (rc) {
		store_txn_abort(txn);
		return rc;
	}
	return store_txn_commit(txn);
}

struct scan_acc {
	uint64_t seqs[64];
	size_t n;
};

static int scan_fn(void *arg, uint64_t seq, const char *type, size_t tlen, const void *data,
		   size_t len)
{
	struct scan_acc *a = arg;

	assert_int_equal(tlen, strlen("message.received"));
	assert_memory_equal(type, "message.received", tlen);
	assert_int_equal(len, 1);
	assert_int_equal(((const unsigned char *)data)[0], 0x80);
	a->seqs[a->n++] = seq;
	return a->n == 64;
}

static void test_eventlog_gap_free(void **state)
{
	char *dir = make_tmpdir();
	struct store *st;
	struct store_txn *txn;
	struct scan_acc acc = {0};
	uint64_t head;

	(void)state;
	assert_int_equal(store_open(dir, 64u << 20, &st), GW_OK);
	assert_int_equal(put_events(st, 1, 10), GW_OK);
	/* A gap or a reused seq is refused and the transaction stores nothing. */
	assert_int_equal(put_events(st, 12, 1), GW_EINVAL);
	assert_int_equal(put_events(st, 10, 1), GW_EINVAL);
	assert_int_equal(store_txn_begin(st, 1, &txn), GW_OK);
	assert_int_equal(store_eventlog_head(txn, &head), GW_OK);
	assert_int_equal(head, 10);
	assert_int_equal(store_eventlog_scan(txn, 4, scan_fn, &acc), GW_OK);
	assert_int_equal(acc.n, 7);
	assert_int_equal(acc.seqs[0], 4);
	assert_int_equal(acc.seqs[6], 10);
	store_txn_abort(txn);
	store_close(st);
	/* Reopened, the log is as committed. */
	assert_int_equal(store_open(dir, 64u << 20, &st), GW_OK);
	assert_int_equal(put_events(st, 11, 1), GW_OK);
	store_close(st);
	test_rmtree(dir);
	free(dir);
}

static void test_dedup_and_identity(void **state)
{
	char *dir = make_tmpdir();
	struct store *st;
	struct store_txn *txn;
	uint64_t v = 0;
	char big[600];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(store_open(dir, 64u << 20, &st), GW_OK);
	assert_int_equal(store_txn_begin(st, 0, &txn), GW_OK);
	assert_int_equal(store_dedup_get(txn, "api", "a", "m1", &v), GW_ENOTFOUND);
	assert_int_equal(store_dedup_put(txn, "api", "a", "m1", 7), GW_OK);
	assert_int_equal(store_dedup_put(txn, "api", "a", "m1", 8), GW_EEXIST);
	/* The separator keeps ("a","bc") apart from ("ab","c"). */
	assert_int_equal(store_dedup_put(txn, "api", "ab", "c", 9), GW_OK);
	assert_int_equal(store_dedup_get(txn, "api", "a", "bc", &v), GW_ENOTFOUND);
	assert_int_equal(store_dedup_put(txn, "api", "a", big, 1), GW_ETOOBIG);
	assert_int_equal(store_identity_put(txn, "api", "+1555", 3), GW_OK);
	assert_int_equal(store_txn_commit(txn), GW_OK);
	assert_int_equal(store_txn_begin(st, 1, &txn), GW_OK);
	assert_int_equal(store_dedup_get(txn, "api", "a", "m1", &v), GW_OK);
	assert_int_equal(v, 7);
	assert_int_equal(store_identity_get(txn, "api", "+1555", &v), GW_OK);
	assert_int_equal(v, 3);
	assert_int_equal(store_identity_get(txn, "email", "+1555", &v), GW_ENOTFOUND);
	store_txn_abort(txn);
	store_close(st);
	test_rmtree(dir);
	free(dir);
}

struct due_acc {
	int64_t due[8];
	uint64_t ticket[8];
	unsigned kind[8];
	size_t n;
};

static int due_fn(void *arg, int64_t due, uint64_t ticket, unsigned kind)
{
	struct due_acc *a = arg;

	a->due[a->n] = due;
	a->ticket[a->n] = ticket;
	a->kind[a->n++] = kind;
	return a->n == 8;
}

/* autoreply: entries in time order up to a time, apart from the window
 * keys of the same table; the window per customer and kind. */
static void test_autoreply(void **state)
{
	char *dir = make_tmpdir();
	struct due_acc a = {{0}, {0}, {0}, 0};
	struct store *st;
	struct store_txn *txn;
	int64_t at = 0, next = 0;

	(void)state;
	assert_int_equal(store_open(dir, 64u << 20, &st), GW_OK);
	assert_int_equal(store_txn_begin(st, 0, &txn), GW_OK);
	assert_int_equal(store_autoreply_next(txn, &next), GW_OK);
	assert_true(next == INT64_MAX);
	assert_int_equal(store_autoreply_add(txn, 3000, 7, 2), GW_OK);
	assert_int_equal(store_autoreply_add(txn, 1000, 9, 1), GW_OK);
	assert_int_equal(store_autoreply_add(txn, 2000, 8, 1), GW_OK);
	assert_int_equal(store_autoreply_add(txn, -1, 8, 1), GW_EINVAL);
	assert_int_equal(store_autoreply_add(txn, 5, 8, 0), GW_EINVAL);
	assert_int_equal(store_autoreply_last_put(txn, 4, 1, 123456), GW_OK);
	assert_int_equal(store_txn_commit(txn), GW_OK);
	assert_int_equal(store_txn_begin(st, 0, &txn), GW_OK);
	assert_int_equal(store_autoreply_next(txn, &next), GW_OK);
	assert_int_equal(next, 1000);
	assert_int_equal(store_autoreply_scan(txn, 2000, 10, due_fn, &a), GW_OK);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.due[0], 1000);
	assert_int_equal(a.ticket[0], 9);
	assert_int_equal(a.ticket[1], 8);
	assert_int_equal(a.kind[1], 1);
	assert_int_equal(store_autoreply_del(txn, 1000, 9, 1), GW_OK);
	assert_int_equal(store_autoreply_del(txn, 1000, 9, 1), GW_OK);
	assert_int_equal(store_autoreply_next(txn, &next), GW_OK);
	assert_int_equal(next, 2000);
	assert_int_equal(store_autoreply_last_get(txn, 4, 1, &at), GW_OK);
	assert_int_equal(at, 123456);
	assert_int_equal(store_autoreply_last_get(txn, 4, 2, &at), GW_ENOTFOUND);
	assert_int_equal(store_autoreply_last_get(txn, 5, 1, &at), GW_ENOTFOUND);
	store_txn_abort(txn);
	store_close(st);
	test_rmtree(dir);
	free(dir);
}

static void test_records_and_indexes(void **state)
{
	char *dir = make_tmpdir();
	struct store *st;
	struct store_txn *txn;
	struct proto_ticket t = {0}, back = {0};
	struct proto_customer c = {0}, cback = {0};

	(void)state;
	assert_int_equal(store_open(dir, 64u << 20, &st), GW_OK);
	assert_int_equal(store_txn_begin(st, 0, &txn), GW_OK);
	t.ticket_id = 5;
	t.customer_id = 2;
	t.thread_id = 2;
	t.status = "open";
	t.channel = "api";
	t.opened_at = t.updated_at = 1000;
	t.message_count = 1;
	assert_int_equal(store_ticket_put(txn, &t), GW_OK);
	c.customer_id = 2;
	c.thread_id = 2;
	c.channel = "api";
	c.address = "+1555";
	c.created_at = 1000;
	c.open_ticket_id = 5;
	assert_int_equal(store_customer_put(txn, &c), GW_OK);
	assert_int_equal(store_thread_append(txn, 2, 3), GW_OK);
	assert_int_equal(store_ticket_msg_append(txn, 5, 3), GW_OK);
	assert_int_equal(store_txn_commit(txn), GW_OK);
	assert_int_equal(store_txn_begin(st, 1, &txn), GW_OK);
	assert_int_equal(store_ticket_get(txn, 5, &back), GW_OK);
	assert_string_equal(back.status, "open");
	assert_int_equal(back.customer_id, 2);
	assert_int_equal(store_customer_get(txn, 2, &cback), GW_OK);
	assert_string_equal(cback.address, "+1555");
	assert_int_equal(cback.open_ticket_id, 5);
	assert_int_equal(store_ticket_get(txn, 6, &back), GW_ENOTFOUND);
	store_txn_abort(txn);
	proto_ticket_clear(&back);
	proto_customer_clear(&cback);
	store_close(st);
	test_rmtree(dir);
	free(dir);
}

static int spool_collect(void *arg, uint64_t key, const void *data, size_t len)
{
	uint64_t *keys = arg;

	(void)data;
	assert_int_equal(len, 3);
	keys[++keys[0]] = key;
	return 0;
}

static void test_spool(void **state)
{
	char *dir = make_tmpdir();
	struct spool *sp;
	struct spool_rec recs[3] = {{"abc", 3}, {"def", 3}, {"ghi", 3}};
	uint64_t first = 0, count = 0, keys[8] = {0}, del[2];

	(void)state;
	assert_int_equal(spool_open(dir, 16u << 20, &sp), GW_OK);
	assert_int_equal(spool_write(sp, NULL, 0, recs, 3, &first), GW_OK);
	assert_int_equal(first, 1);
	del[0] = 1;
	del[1] = 99; /* unknown keys are ignored */
	assert_int_equal(spool_write(sp, del, 2, recs, 1, &first), GW_OK);
	assert_int_equal(first, 4);
	assert_int_equal(spool_count(sp, &count), GW_OK);
	assert_int_equal(count, 3);
	spool_close(sp);
	/* Keys keep growing after a restart; what was committed is there. */
	assert_int_equal(spool_open(dir, 16u << 20, &sp), GW_OK);
	assert_int_equal(spool_write(sp, NULL, 0, recs, 1, &first), GW_OK);
	assert_int_equal(first, 5);
	assert_int_equal(spool_scan(sp, 0, spool_collect, keys), GW_OK);
	assert_int_equal(keys[0], 4);
	assert_int_equal(keys[1], 2);
	assert_int_equal(keys[4], 5);
	spool_close(sp);
	test_rmtree(dir);
	free(dir);
}

/*
 * Stored delivery and journal records decode only when whole: a string cut
 * short, or holding a NUL (found by fuzz_records), is refused; what decodes
 * encodes to the same bytes.
 */
static void test_record_codecs(void **state)
{
	struct store_delivery d = {.seq = 57, .created_at = 1765000000000}, back;
	struct sentlog_rec r = {.at = 1765000000000}, rback;
	unsigned char buf[STORE_DELIVERY_REC_MAX], sbuf[SENTLOG_REC_MAX];
	size_t len = 0, slen;

	(void)state;
	snprintf(d.state, sizeof(d.state), "pending");
	snprintf(d.channel, sizeof(d.channel), "whatsapp");
	snprintf(d.account, sizeof(d.account), "1122334455667");
	assert_int_equal(store_delivery_encode(&d, buf, sizeof(buf), &len), GW_OK);
	assert_int_equal(store_delivery_decode(buf, len, &back), GW_OK);
	assert_int_equal(back.seq, 57);
	assert_string_equal(back.account, "1122334455667");
	assert_int_equal(store_delivery_decode(buf, len - 1, &back), GW_EPROTO);
	buf[20] = '\0'; /* inside "pending" */
	assert_int_equal(store_delivery_decode(buf, len, &back), GW_EPROTO);
	snprintf(r.ref_account, sizeof(r.ref_account), "1122334455667");
	snprintf(r.ref_id, sizeof(r.ref_id), "wamid.X");
	slen = sentlog_encode(&r, sbuf);
	assert_int_equal(sentlog_decode(sbuf, slen, &rback), GW_OK);
	assert_string_equal(rback.ref_id, "wamid.X");
	assert_int_equal(sentlog_decode(sbuf, slen + 1, &rback), GW_EPROTO);
	sbuf[slen - 2] = '\0';
	assert_int_equal(sentlog_decode(sbuf, slen, &rback), GW_EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eventlog_gap_free),
		cmocka_unit_test(test_dedup_and_identity),
		cmocka_unit_test(test_records_and_indexes),
		cmocka_unit_test(test_autoreply),
		cmocka_unit_test(test_record_codecs),
		cmocka_unit_test(test_spool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

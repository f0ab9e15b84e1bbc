/* test_seqtrack.c - gap and duplicate detection of gatewayctl tail/replay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gateway/ctl/seqtrack.h"

static void unanchored_accepts_first_event(void **state)
{
	struct seqtrack t;

	(void)state;
	seqtrack_init(&t);
	assert_int_equal(seqtrack_check(&t, 42, NULL, NULL), SEQ_NEXT);
	seqtrack_accept(&t, 42);
	assert_int_equal(seqtrack_next(&t), 43);
	assert_int_equal(seqtrack_check(&t, 43, NULL, NULL), SEQ_NEXT);
}

static void seq_zero_is_bad(void **state)
{
	struct seqtrack t;

	(void)state;
	seqtrack_init(&t);
	assert_int_equal(seqtrack_check(&t, 0, NULL, NULL), SEQ_BAD);
	seqtrack_init_from(&t, 5);
	assert_int_equal(seqtrack_check(&t, 0, NULL, NULL), SEQ_BAD);
}

static void from_expects_that_seq(void **state)
{
	struct seqtrack t;
	uint64_t a = 0, b = 0;

	(void)state;
	seqtrack_init_from(&t, 10);
	assert_int_equal(seqtrack_next(&t), 10);
	assert_int_equal(seqtrack_check(&t, 10, NULL, NULL), SEQ_NEXT);
	assert_int_equal(seqtrack_check(&t, 9, NULL, NULL), SEQ_DUP);
	assert_int_equal(seqtrack_check(&t, 13, &a, &b), SEQ_GAP);
	assert_int_equal(a, 10);
	assert_int_equal(b, 12);
	seqtrack_init_from(&t, 0);
	assert_int_equal(seqtrack_next(&t), 1);
}

static void gap_and_duplicates(void **state)
{
	struct seqtrack t;
	uint64_t a = 0, b = 0;

	(void)state;
	seqtrack_init(&t);
	seqtrack_accept(&t, 1);
	seqtrack_accept(&t, 2);
	assert_int_equal(seqtrack_check(&t, 2, NULL, NULL), SEQ_DUP);
	assert_int_equal(seqtrack_check(&t, 1, NULL, NULL), SEQ_DUP);
	assert_int_equal(seqtrack_check(&t, 4, &a, &b), SEQ_GAP);
	assert_int_equal(a, 3);
	assert_int_equal(b, 3);
	/* check does not move the tracker */
	assert_int_equal(seqtrack_next(&t), 3);
	/* the gap filled by replay, then the live event that revealed it */
	seqtrack_accept(&t, 3);
	assert_int_equal(seqtrack_check(&t, 4, NULL, NULL), SEQ_NEXT);
	seqtrack_accept(&t, 4);
	/* accepting an old seq never moves back */
	seqtrack_accept(&t, 2);
	assert_int_equal(seqtrack_next(&t), 5);
}

static void heartbeat_anchors_and_reveals_tail_gap(void **state)
{
	struct seqtrack t;
	uint64_t a = 0, b = 0;

	(void)state;
	seqtrack_init(&t);
	assert_int_equal(seqtrack_head(&t, 100, &a, &b), 0);
	assert_int_equal(seqtrack_next(&t), 101);
	assert_int_equal(seqtrack_head(&t, 100, &a, &b), 0);
	assert_int_equal(seqtrack_head(&t, 99, &a, &b), 0);
	assert_int_equal(seqtrack_head(&t, 103, &a, &b), 1);
	assert_int_equal(a, 101);
	assert_int_equal(b, 103);
	/* an empty bus: head 0 anchors at 0 and 1 comes next */
	seqtrack_init(&t);
	assert_int_equal(seqtrack_head(&t, 0, NULL, NULL), 0);
	assert_int_equal(seqtrack_check(&t, 1, NULL, NULL), SEQ_NEXT);
	assert_int_equal(seqtrack_check(&t, 2, NULL, NULL), SEQ_GAP);
}

static void skip_gives_up_a_range(void **state)
{
	struct seqtrack t;

	(void)state;
	seqtrack_init_from(&t, 1);
	seqtrack_skip_to(&t, 7);
	assert_int_equal(seqtrack_next(&t), 8);
	assert_int_equal(seqtrack_check(&t, 5, NULL, NULL), SEQ_DUP);
	assert_int_equal(seqtrack_check(&t, 8, NULL, NULL), SEQ_NEXT);
}

static void huge_seq_does_not_wrap(void **state)
{
	struct seqtrack t;
	uint64_t a = 0, b = 0;

	(void)state;
	seqtrack_init_from(&t, 1);
	assert_int_equal(seqtrack_check(&t, UINT64_MAX, &a, &b), SEQ_GAP);
	assert_true(a == 1 && b == UINT64_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unanchored_accepts_first_event),
		cmocka_unit_test(seq_zero_is_bad),
		cmocka_unit_test(from_expects_that_seq),
		cmocka_unit_test(gap_and_duplicates),
		cmocka_unit_test(heartbeat_anchors_and_reveals_tail_gap),
		cmocka_unit_test(skip_gives_up_a_range),
		cmocka_unit_test(huge_seq_does_not_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

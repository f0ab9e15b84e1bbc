/*
 * test_addrlimit.c - the table of client addresses of a listener
 * (connectors/addrlimit.h): connections per address, the token bucket of
 * requests, and the bounded table that forgets the address released the
 * longest ago first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "connectors/addrlimit.h"
#include "core/err.h"

#define SEC 1000000LL

static struct addrlimit *make(size_t cap, long long per_addr, long long rpm, long long burst)
{
	struct addrlimit_options o = {
		.capacity = cap, .max_per_addr = per_addr, .per_minute = rpm, .burst = burst,
	};
	struct addrlimit *al = NULL;

	assert_int_equal(addrlimit_create(&o, &al), GW_OK);
	assert_non_null(al);
	return al;
}

static void test_connections_per_address(void **state)
{
	struct addrlimit *al = make(8, 2, 0, 1);
	struct addr_entry *a1, *a2, *x, *b;

	(void)state;
	assert_int_equal(addrlimit_take(al, "10.0.0.1", &a1), GW_OK);
	assert_int_equal(addrlimit_take(al, "10.0.0.1", &a2), GW_OK);
	assert_ptr_equal(a1, a2);
	assert_int_equal(addrlimit_conns(a1), 2);
	assert_int_equal(addrlimit_take(al, "10.0.0.1", &x), GW_ETOOBIG);
	assert_null(x);
	assert_int_equal(addrlimit_conns(a1), 2);
	/* Another address is counted apart. */
	assert_int_equal(addrlimit_take(al, "10.0.0.2", &b), GW_OK);
	assert_string_equal(addrlimit_addr(b), "10.0.0.2");
	/* One closed: room for one more. */
	addrlimit_release(al, a1);
	assert_int_equal(addrlimit_take(al, "10.0.0.1", &x), GW_OK);
	assert_ptr_equal(x, a1);
	assert_int_equal(addrlimit_count(al), 2);
	addrlimit_destroy(al);
}

static void test_no_cap(void **state)
{
	struct addrlimit *al = make(2, 0, 0, 1);
	struct addr_entry *e;

	(void)state;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(addrlimit_take(al, "::1", &e), GW_OK);
	assert_int_equal(addrlimit_conns(e), 1000);
	addrlimit_destroy(al);
}

static void test_bucket(void **state)
{
	/* 60 a minute: one token a second; a burst of 3. */
	struct addrlimit *al = make(4, 0, 60, 3);
	struct addr_entry *e;
	unsigned retry = 99;
	int64_t t = 5 * SEC;

	(void)state;
	assert_int_equal(addrlimit_take(al, "192.0.2.7", &e), GW_OK);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(addrlimit_request(al, e, t, &retry), GW_OK);
		assert_int_equal(retry, 0);
	}
	assert_int_equal(addrlimit_request(al, e, t, &retry), GW_EAGAIN);
	assert_int_equal(retry, 1);
	/* Half a second later: still none. */
	assert_int_equal(addrlimit_request(al, e, t + SEC / 2, &retry), GW_EAGAIN);
	assert_true(retry >= 1);
	/* One second after the last refill: one token, not two. */
	t += SEC / 2 + SEC;
	assert_int_equal(addrlimit_request(al, e, t, &retry), GW_OK);
	assert_int_equal(addrlimit_request(al, e, t, &retry), GW_EAGAIN);
	/* A long pause refills up to the burst only. */
	t += 3600 * SEC;
	for (int i = 0; i < 3; i++)
		assert_int_equal(addrlimit_request(al, e, t, &retry), GW_OK);
	assert_int_equal(addrlimit_request(al, e, t, &retry), GW_EAGAIN);
	addrlimit_destroy(al);
}

static void test_bucket_retry_after(void **state)
{
	/* 1 a minute, burst 1: the next token in 60 s. */
	struct addrlimit *al = make(4, 0, 1, 1);
	struct addr_entry *e;
	unsigned retry = 0;

	(void)state;
	assert_int_equal(addrlimit_take(al, "a", &e), GW_OK);
	assert_int_equal(addrlimit_request(al, e, SEC, &retry), GW_OK);
	assert_int_equal(addrlimit_request(al, e, SEC, &retry), GW_EAGAIN);
	assert_in_range(retry, 60, 61);
	assert_int_equal(addrlimit_request(al, e, 31 * SEC, &retry), GW_EAGAIN);
	assert_in_range(retry, 30, 31);
	addrlimit_destroy(al);
}

/* A bucket of failures: peek before the check takes nothing; each failure
 * takes one; an empty bucket refuses until a token is back. */
static void test_peek(void **state)
{
	struct addrlimit *al = make(4, 0, 6, 3); /* a token every 10 s, 3 at once */
	struct addr_entry *e;
	unsigned retry = 0;

	(void)state;
	assert_int_equal(addrlimit_take(al, "a", &e), GW_OK);
	for (int i = 0; i < 10; i++)
		assert_int_equal(addrlimit_peek(al, e, SEC, &retry), GW_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(addrlimit_request(al, e, SEC, &retry), GW_OK);
	assert_int_equal(addrlimit_peek(al, e, SEC, &retry), GW_EAGAIN);
	assert_in_range(retry, 10, 11);
	assert_int_equal(addrlimit_peek(al, e, 6 * SEC, &retry), GW_EAGAIN);
	assert_in_range(retry, 5, 6);
	assert_int_equal(addrlimit_peek(al, e, 11 * SEC, &retry), GW_OK);
	assert_int_equal(addrlimit_peek(al, e, 11 * SEC, &retry), GW_OK);
	assert_int_equal(addrlimit_request(al, e, 11 * SEC, &retry), GW_OK);
	assert_int_equal(addrlimit_peek(al, e, 11 * SEC, &retry), GW_EAGAIN);
	addrlimit_destroy(al);
}

static void test_no_rate_limit(void **state)
{
	struct addrlimit *al = make(4, 0, 0, 1);
	struct addr_entry *e;
	unsigned retry = 0;

	(void)state;
	assert_int_equal(addrlimit_take(al, "a", &e), GW_OK);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(addrlimit_request(al, e, SEC, &retry), GW_OK);
	addrlimit_destroy(al);
}

/* A released address keeps its bucket until its slot is needed; the
 * one released the longest ago is forgotten first; a table whose every
 * address holds a connection is full. */
static void test_bounded_table(void **state)
{
	struct addrlimit *al = make(2, 0, 60, 1);
	struct addr_entry *a, *b, *c, *x;
	unsigned retry = 0;

	(void)state;
	assert_int_equal(addrlimit_take(al, "a", &a), GW_OK);
	assert_int_equal(addrlimit_request(al, a, SEC, &retry), GW_OK);
	addrlimit_release(al, a);
	/* A new connection of "a" finds its empty bucket again. */
	assert_int_equal(addrlimit_take(al, "a", &x), GW_OK);
	assert_ptr_equal(x, a);
	assert_int_equal(addrlimit_request(al, a, SEC, &retry), GW_EAGAIN);
	assert_int_equal(addrlimit_take(al, "b", &b), GW_OK);
	assert_int_equal(addrlimit_take(al, "c", &c), GW_EFULL);
	assert_null(c);
	/* "a" then "b" released: "c" takes the slot of "a". */
	addrlimit_release(al, a);
	addrlimit_release(al, b);
	assert_int_equal(addrlimit_take(al, "c", &c), GW_OK);
	assert_ptr_equal(c, a);
	assert_string_equal(addrlimit_addr(c), "c");
	assert_int_equal(addrlimit_count(al), 2);
	/* "a" comes back as a new address, in the slot of "b". */
	assert_int_equal(addrlimit_take(al, "a", &x), GW_OK);
	assert_ptr_equal(x, b);
	assert_int_equal(addrlimit_request(al, x, SEC, &retry), GW_OK);
	addrlimit_destroy(al);
}

static void test_long_address_is_cut(void **state)
{
	struct addrlimit *al = make(2, 1, 0, 1);
	char addr[200];
	struct addr_entry *e, *x;

	(void)state;
	memset(addr, 'f', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	assert_int_equal(addrlimit_take(al, addr, &e), GW_OK);
	assert_int_equal(strlen(addrlimit_addr(e)), ADDRLIMIT_ADDR_MAX - 1);
	assert_int_equal(addrlimit_take(al, addr, &x), GW_ETOOBIG);
	addrlimit_destroy(al);
}

static void test_create_refuses_no_capacity(void **state)
{
	struct addrlimit_options o = {.capacity = 0, .burst = 1};
	struct addrlimit *al = (struct addrlimit *)&o;

	(void)state;
	assert_int_equal(addrlimit_create(&o, &al), GW_EINVAL);
	assert_null(al);
	addrlimit_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connections_per_address),
		cmocka_unit_test(test_no_cap),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_bucket_retry_after),
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_no_rate_limit),
		cmocka_unit_test(test_bounded_table),
		cmocka_unit_test(test_long_address_is_cut),
		cmocka_unit_test(test_create_refuses_no_capacity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

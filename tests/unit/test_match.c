/*
 * test_match.c - the conditions the routing rules share
 * (router/rules/match.c): a value in a list, keywords in a message, a
 * customer's attributes, and what each says of an empty list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "router/rules/match.h"

static void test_list_has(void **state)
{
	char *v[] = {"email", "whatsapp"};
	struct conf_strlist l = {v, 2}, none = {NULL, 0};

	(void)state;
	assert_true(match_list_has(&l, "whatsapp"));
	assert_false(match_list_has(&l, "WhatsApp")); /* exact bytes */
	assert_false(match_list_has(&l, "sms"));
	assert_false(match_list_has(&l, NULL));
	assert_false(match_list_has(&none, "email"));
}

static void test_keywords(void **state)
{
	char *v[] = {"refund", "invoice"};
	struct conf_strlist l = {v, 2}, none = {NULL, 0};
	struct proto_message m = {0};

	(void)state;
	m.text = "Where is my REFUND?";
	assert_true(match_keywords(&l, &m));
	m.text = "";
	m.subject = "Invoice 1234";
	assert_true(match_keywords(&l, &m));
	m.subject = NULL;
	m.text = "hello";
	assert_false(match_keywords(&l, &m));
	assert_false(match_keywords(&none, &m));
}

static void test_attributes(void **state)
{
	char *want[] = {"plan=gold", "country=FR"};
	char *has[] = {"country=FR", "plan=gold", "vip=yes"};
	struct conf_strlist l = {want, 2}, none = {NULL, 0};
	struct proto_customer c = {0};

	(void)state;
	c.attributes = has;
	c.attributes_len = 3;
	assert_true(match_attributes(&l, &c));
	c.attributes_len = 1; /* country only: not every one */
	assert_false(match_attributes(&l, &c));
	assert_false(match_attributes(&l, NULL));
	assert_true(match_attributes(&none, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_has),
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_attributes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_tag_parse.c - router/rules/tag_parse.h: the tag changes of a
 * ticket.tag command.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "router/rules/tag_parse.h"

static void test_adds_and_removes(void **state)
{
	struct tag_change ch[TAG_PARSE_MAX_WORDS];
	char err[256] = "";
	size_t n = 0;

	(void)state;
	assert_int_equal(tag_parse_changes(" +VIP,-billing  refund\ta.b:c ", ch, &n, err,
					   sizeof(err)), GW_OK);
	assert_int_equal(n, 4);
	assert_string_equal(ch[0].tag, "vip");
	assert_int_equal(ch[0].remove, 0);
	assert_string_equal(ch[1].tag, "billing");
	assert_int_equal(ch[1].remove, 1);
	assert_string_equal(ch[2].tag, "refund");
	assert_int_equal(ch[2].remove, 0);
	assert_string_equal(ch[3].tag, "a.b:c");
}

static void test_refusals(void **state)
{
	struct tag_change ch[TAG_PARSE_MAX_WORDS];
	char err[256], many[TAG_PARSE_MAX_WORDS * 3 + 8] = "", long_tag[PROTO_MAX_TAG + 3];
	size_t n = 0;

	(void)state;
	assert_int_equal(tag_parse_changes(" , ", ch, &n, err, sizeof(err)), GW_EMISSING);
	assert_string_equal(err, "changes: no tag given");
	assert_int_equal(tag_parse_changes("+ok -", ch, &n, err, sizeof(err)), GW_EINVAL);
	assert_non_null(strstr(err, "1 to 64 bytes"));
	assert_int_equal(tag_parse_changes("a/b", ch, &n, err, sizeof(err)), GW_EINVAL);
	assert_string_equal(err, "changes: 'a/b' is not a tag (lowercase letters, digits, -, _, "
			    "., :)");
	memset(long_tag, 'x', sizeof(long_tag) - 1);
	long_tag[sizeof(long_tag) - 1] = '\0';
	assert_int_equal(tag_parse_changes(long_tag, ch, &n, err, sizeof(err)), GW_EINVAL);
	for (int i = 0; i <= TAG_PARSE_MAX_WORDS; i++)
		memcpy(many + 2 * i, "t ", 3);
	assert_int_equal(tag_parse_changes(many, ch, &n, err, sizeof(err)), GW_EINVAL);
	assert_string_equal(err, "changes: at most 64 tags");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adds_and_removes),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

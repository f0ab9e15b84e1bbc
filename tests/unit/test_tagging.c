/*
 * test_tagging.c - the rule matching of routing.tag_rules[]
 * (tag_rule_matches: each match list, hours, attributes), the ticket's tag
 * list (add once, remove, the bound), the priority ranks and tag validity.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/config_tables.h"
#include "core/err.h"
#include "router/router.h"

static char *kw[] = {"refund", "Invoice"};
static char *chans[] = {"email", "whatsapp"};
static char *langs[] = {"fr"};
static char *attrs[] = {"plan=gold"};
static char *cust_attrs[] = {"region=eu", "plan=gold"};

static struct gw_routing_tag_rule rule(void)
{
	struct gw_routing_tag_rule r;

	memset(&r, 0, sizeof(r));
	r.name = "r";
	r.on = "open";
	r.hours = "";
	r.priority = "";
	return r;
}

static struct proto_message msg(const char *channel, const char *subject, const char *text)
{
	struct proto_message m;

	memset(&m, 0, sizeof(m));
	m.channel = (char *)channel;
	m.account = "support@example.com";
	m.subject = (char *)subject;
	m.text = (char *)text;
	return m;
}

static void test_empty_rule_matches_anything(void **state)
{
	struct gw_routing_tag_rule r = rule();
	struct proto_message m = msg("api", NULL, "hello");

	(void)state;
	assert_true(tag_rule_matches(&r, &m, NULL, NULL, 0));
	assert_true(tag_rule_matches(&r, &m, NULL, "en", 1));
}

static void test_keywords(void **state)
{
	struct gw_routing_tag_rule r = rule();
	struct proto_message in_text = msg("api", NULL, "I want a REFUND please");
	struct proto_message in_subject = msg("email", "Your invoice 42", "see attached");
	struct proto_message none = msg("api", "Hello", "where is my parcel");

	(void)state;
	r.keywords = (struct conf_strlist){kw, 2};
	assert_true(tag_rule_matches(&r, &in_text, NULL, NULL, 1));
	assert_true(tag_rule_matches(&r, &in_subject, NULL, NULL, 1));
	assert_false(tag_rule_matches(&r, &none, NULL, NULL, 1));
}

static void test_channel_account_language(void **state)
{
	struct gw_routing_tag_rule r = rule();
	struct proto_message m = msg("whatsapp", NULL, "bonjour");
	char *accounts[] = {"other@example.com"};

	(void)state;
	r.channels = (struct conf_strlist){chans, 2};
	assert_true(tag_rule_matches(&r, &m, NULL, NULL, 1));
	m.channel = "api";
	assert_false(tag_rule_matches(&r, &m, NULL, NULL, 1));
	r = rule();
	r.languages = (struct conf_strlist){langs, 1};
	assert_true(tag_rule_matches(&r, &m, NULL, "fr", 1));
	assert_false(tag_rule_matches(&r, &m, NULL, "en", 1));
	assert_false(tag_rule_matches(&r, &m, NULL, NULL, 1)); /* unknown is no match */
	r = rule();
	r.accounts = (struct conf_strlist){accounts, 1};
	assert_false(tag_rule_matches(&r, &m, NULL, NULL, 1));
	m.account = "other@example.com";
	assert_true(tag_rule_matches(&r, &m, NULL, NULL, 1));
}

static void test_hours_and_attributes(void **state)
{
	struct gw_routing_tag_rule r = rule();
	struct proto_message m = msg("api", NULL, "hi");
	struct proto_customer c;

	(void)state;
	r.hours = "off";
	assert_true(tag_rule_matches(&r, &m, NULL, NULL, 0));
	assert_false(tag_rule_matches(&r, &m, NULL, NULL, 1));
	r.hours = "business";
	assert_true(tag_rule_matches(&r, &m, NULL, NULL, 1));
	assert_false(tag_rule_matches(&r, &m, NULL, NULL, 0));
	r = rule();
	r.attributes = (struct conf_strlist){attrs, 1};
	assert_false(tag_rule_matches(&r, &m, NULL, NULL, 1)); /* no customer */
	memset(&c, 0, sizeof(c));
	assert_false(tag_rule_matches(&r, &m, &c, NULL, 1));
	c.attributes = cust_attrs;
	c.attributes_len = 2;
	assert_true(tag_rule_matches(&r, &m, &c, NULL, 1));
}

static void test_tag_list(void **state)
{
	struct proto_ticket t;
	char name[16];
	int changed = 0;

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(ticket_tag_add(&t, "vip", &changed), GW_OK);
	assert_int_equal(changed, 1);
	changed = 0;
	assert_int_equal(ticket_tag_add(&t, "vip", &changed), GW_OK);
	assert_int_equal(changed, 0);
	assert_int_equal(ticket_tag_remove(&t, "none", &changed), GW_OK);
	assert_int_equal(changed, 0);
	assert_int_equal(ticket_tag_remove(&t, "vip", &changed), GW_OK);
	assert_int_equal((int)t.tags_len, 0);
	for (int i = 0; i < PROTO_MAX_TAGS; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		assert_int_equal(ticket_tag_add(&t, name, &changed), GW_OK);
	}
	assert_int_equal(ticket_tag_add(&t, "one-more", &changed), GW_EFULL);
	assert_int_equal(ticket_tag_remove(&t, "t0", &changed), GW_OK);
	assert_string_equal(t.tags[0], "t1");
	proto_ticket_clear(&t);
}

static void test_ranks_and_validity(void **state)
{
	(void)state;
	assert_int_equal(tagging_priority_rank(NULL), 1);
	assert_true(tagging_priority_rank("urgent") > tagging_priority_rank("high"));
	assert_true(tagging_priority_rank("low") < tagging_priority_rank("normal"));
	assert_true(gw_tag_valid("lang-fr"));
	assert_true(gw_tag_valid("a.b:c_d"));
	assert_false(gw_tag_valid(""));
	assert_false(gw_tag_valid("VIP"));
	assert_false(gw_tag_valid("a b"));
	assert_false(gw_tag_valid("a/b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_rule_matches_anything),
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_channel_account_language),
		cmocka_unit_test(test_hours_and_attributes),
		cmocka_unit_test(test_tag_list),
		cmocka_unit_test(test_ranks_and_validity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

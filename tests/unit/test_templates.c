/*
 * test_templates.c - router/templates.c: the variables of canned responses
 * and automatic messages, the language chosen, and an undefined variable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "router/rules/routing.h"
#include "router/templates.h"

/* Friday 2026-01-16 17:30 in Paris (16:30 UTC), after the office closed;
 * it opens again Monday 2026-01-19 09:00 there. */
#define FRI_1730_PARIS 1768581000000LL
#define MON_0930_PARIS 1768811400000LL

static struct gw_routing_hours hours[] = {
	{"office", "Europe/Paris", "mon-fri 09:00-17:00"},
};
static struct gw_routing_queue queues[] = {
	{.name = "office", .business_hours = "office", .strategy = "round_robin",
	 .priority = "normal"},
	{.name = "night", .business_hours = "", .strategy = "round_robin", .priority = "normal"},
};
static struct gw_routing_agent agents[] = {
	{.id = "ann", .name = "Ann Agent", .timezone = "UTC", .hours = "", .presence = "online"},
	{.id = "bob", .name = "", .timezone = "UTC", .hours = "", .presence = "online"},
};
static struct gw_automation_template tmpls[] = {
	{"hi", "", "", "Hello {{customer.name}} ({{customer.attr.plan}}) {{ticket.token}}"},
	{"hi", "fr", "Re {{ticket.subject}}", "Bonjour {{customer.name}}, ici {{agent.name}}"},
	{"due", "", "", "by {{sla.first_response}}, open {{hours.next_open}}, {{n}}"},
	{"agent", "", "", "{{agent.name}}"},
};

struct fx {
	struct gw_config_routing cfg;
	struct gw_config_automation a;
	struct routing *rt;
	struct proto_ticket t;
	struct proto_customer c;
	char *attrs[1];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	assert_int_equal(gw_config_routing_defaults(&f->cfg, err, sizeof(err)), GW_OK);
	f->cfg.business_hours = hours;
	f->cfg.n_business_hours = 1;
	f->cfg.queues = queues;
	f->cfg.n_queues = 2;
	f->cfg.agents = agents;
	f->cfg.n_agents = 2;
	assert_int_equal(routing_create(&f->cfg, &f->rt, err, sizeof(err)), GW_OK);
	f->a.templates = tmpls;
	f->a.n_templates = sizeof(tmpls) / sizeof(tmpls[0]);
	f->t.ticket_id = 42;
	f->t.subject = "Order 1234";
	f->t.queue = "office";
	f->t.agent_id = "ann";
	f->t.first_response_due = MON_0930_PARIS;
	f->c.name = "Zoé";
	f->attrs[0] = "plan=gold";
	f->c.attributes = f->attrs;
	f->c.attributes_len = 1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	routing_destroy(f->rt);
	f->cfg.business_hours = NULL;
	f->cfg.n_business_hours = 0;
	f->cfg.queues = NULL;
	f->cfg.n_queues = 0;
	f->cfg.agents = NULL;
	f->cfg.n_agents = 0;
	gw_config_routing_free(&f->cfg);
	free(f);
	return 0;
}

static int render(struct fx *f, const char *author, const char *const *vars, size_t n,
		  const char *name, const char *lang, char **text, char **subject)
{
	struct templates_ctx x = {&f->a, f->rt, &f->t, &f->c, "Sender Name", author, vars, n,
				  FRI_1730_PARIS};
	char err[256];
	int rc = templates_render(&x, name, lang, text, subject, err, sizeof(err));

	if (rc)
		print_message("%s\n", err);
	return rc;
}

/* Customer, attribute, ticket token; the language's entry, else the default. */
static void test_customer_ticket_language(void **state)
{
	struct fx *f = *state;
	char *text, *subject;

	assert_int_equal(render(f, NULL, NULL, 0, "hi", "de", &text, &subject), GW_OK);
	assert_string_equal(text, "Hello Zoé (gold) [#T-42]");
	assert_null(subject);
	free(text);
	assert_int_equal(render(f, NULL, NULL, 0, "hi", "fr", &text, &subject), GW_OK);
	assert_string_equal(text, "Bonjour Zoé, ici Ann Agent");
	assert_string_equal(subject, "Re Order 1234");
	free(text);
	free(subject);
	/* No name on the customer: the sender's display name. */
	f->c.name = NULL;
	assert_int_equal(render(f, "Léa", NULL, 0, "hi", "fr", &text, &subject), GW_OK);
	assert_string_equal(text, "Bonjour Sender Name, ici Léa");
	free(text);
	free(subject);
	f->c.name = "Zoé";
}

/* SLA due time and next opening in the queue's zone; command variables. */
static void test_times_and_vars(void **state)
{
	struct fx *f = *state;
	const char *vars[] = {"n", "7"};
	char *text, *subject;

	assert_int_equal(render(f, NULL, vars, 1, "due", NULL, &text, &subject), GW_OK);
	assert_string_equal(text, "by 2026-01-19 09:30 Europe/Paris, open 2026-01-19 09:00 "
			    "Europe/Paris, 7");
	free(text);
}

/* What nothing defines fails, naming it; an unknown template too. */
static void test_undefined(void **state)
{
	struct fx *f = *state;
	struct templates_ctx x = {&f->a, f->rt, &f->t, &f->c, NULL, NULL, NULL, 0,
				  FRI_1730_PARIS};
	char err[256], *text, *subject;

	assert_int_equal(templates_render(&x, "due", NULL, &text, &subject, err, sizeof(err)),
			 GW_EMISSING);
	assert_null(text);
	assert_string_equal(err, "template 'due': missing variable 'n'");
	f->attrs[0] = "tier=1";
	assert_int_equal(templates_render(&x, "hi", NULL, &text, &subject, err, sizeof(err)),
			 GW_EMISSING);
	assert_string_equal(err, "template 'hi': missing variable 'customer.attr.plan'");
	f->attrs[0] = "plan=gold";
	f->t.queue = "night"; /* around the clock: no next opening */
	assert_int_equal(templates_render(&x, "due", NULL, &text, &subject, err, sizeof(err)),
			 GW_EMISSING);
	assert_string_equal(err, "template 'due': missing variable 'hours.next_open'");
	f->t.queue = "office";
	f->t.agent_id = "bob"; /* no name: the id */
	assert_int_equal(templates_render(&x, "agent", NULL, &text, &subject, err, sizeof(err)),
			 GW_OK);
	assert_string_equal(text, "bob");
	free(text);
	f->t.agent_id = NULL;
	assert_int_equal(templates_render(&x, "agent", NULL, &text, &subject, err, sizeof(err)),
			 GW_EMISSING);
	f->t.agent_id = "ann";
	assert_int_equal(templates_render(&x, "nope", NULL, &text, &subject, err, sizeof(err)),
			 GW_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_customer_ticket_language, setup, teardown),
		cmocka_unit_test_setup_teardown(test_times_and_vars, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undefined, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

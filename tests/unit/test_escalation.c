/*
 * test_escalation.c - the matching of routing.escalations[] rules
 * (escalation_matches: trigger, clock, queue, channel and priority
 * filters; an absent priority is normal).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "router/router.h"

static char *queues[] = {"general", "billing"};
static char *chans[] = {"email"};
static char *prios[] = {"normal", "high"};

static struct gw_routing_escalation rule(const char *trigger)
{
	struct gw_routing_escalation e;

	memset(&e, 0, sizeof(e));
	e.name = "r";
	e.trigger = (char *)trigger;
	e.clock = "";
	e.set_priority = "";
	e.move_to_queue = "";
	e.assign_to = "";
	return e;
}

static struct proto_ticket ticket(const char *queue, const char *channel, const char *priority)
{
	struct proto_ticket t;

	memset(&t, 0, sizeof(t));
	t.queue = (char *)queue;
	t.channel = (char *)channel;
	t.priority = (char *)priority;
	return t;
}

static void test_trigger_and_clock(void **state)
{
	struct gw_routing_escalation e = rule("sla_warning");
	struct proto_ticket t = ticket("general", "email", NULL);

	(void)state;
	assert_true(escalation_matches(&e, &t, "sla_warning", "first_response"));
	assert_false(escalation_matches(&e, &t, "sla_breached", "first_response"));
	assert_false(escalation_matches(&e, &t, "unassigned", NULL));
	e.clock = "resolution";
	assert_false(escalation_matches(&e, &t, "sla_warning", "first_response"));
	assert_true(escalation_matches(&e, &t, "sla_warning", "resolution"));
	e = rule("unassigned");
	e.clock = "resolution"; /* no clock for this trigger: not a filter */
	assert_true(escalation_matches(&e, &t, "unassigned", NULL));
}

static void test_filters(void **state)
{
	struct gw_routing_escalation e = rule("sla_breached");
	struct proto_ticket t = ticket("general", "email", NULL);
	struct proto_ticket other = ticket("vip", "whatsapp", "urgent");

	(void)state;
	e.queues = (struct conf_strlist){queues, 2};
	e.channels = (struct conf_strlist){chans, 1};
	e.priorities = (struct conf_strlist){prios, 2};
	assert_true(escalation_matches(&e, &t, "sla_breached", "resolution"));
	other.channel = "email";
	other.priority = "high";
	assert_false(escalation_matches(&e, &other, "sla_breached", "resolution")); /* queue */
	other.queue = "billing";
	assert_true(escalation_matches(&e, &other, "sla_breached", "resolution"));
	other.priority = "urgent";
	assert_false(escalation_matches(&e, &other, "sla_breached", "resolution"));
	other.priority = "high";
	other.channel = "whatsapp";
	assert_false(escalation_matches(&e, &other, "sla_breached", "resolution"));
	t.queue = NULL; /* a ticket with no queue matches no queue list */
	assert_false(escalation_matches(&e, &t, "sla_breached", "resolution"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trigger_and_clock),
		cmocka_unit_test(test_filters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

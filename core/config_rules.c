/*
 * config_rules.c - the tables of routing.tag_rules[] (tags and priority set
 * by rules when a ticket opens or a message arrives) and
 * routing.escalations[] (what the router's timers do to tickets that wait),
 * and their checks. What a rule means is explained in docs/routing.md,
 * *Tags and priority by rules* and *Escalations*; router/rules/tagging.c
 * and router/rules/escalation.c apply them.
 */
#include "core/config_tables.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))
#define NAME_MAX_LEN 64   /* rule names and tags (PROTO_MAX_AGENT) */
#define ITEM_MAX_LEN 256  /* one keyword, account or attribute */

static const struct conf_entry tag_rule_rows[] = {
	{.kind = CONF_STRING, .key = "name", .max = NAME_MAX_LEN, .flags = CONF_F_REQUIRED,
	 .offset = offsetof(struct gw_routing_tag_rule, name),
	 .desc = "Name of the rule, given in the cause of the ticket events it changed."},
	{.kind = CONF_STRING, .key = "on", .def = "open", .max = 16,
	 .offset = offsetof(struct gw_routing_tag_rule, on),
	 .desc = "`open`: when a message opens or reopens a ticket; `message`: every "
		 "customer message (the opening one too)."},
	{.kind = CONF_STRLIST, .key = "keywords", .def = "", .max = ITEM_MAX_LEN,
	 .offset = offsetof(struct gw_routing_tag_rule, keywords),
	 .desc = "Any of these words in the message's subject or text (case-insensitive); "
		 "empty: any."},
	{.kind = CONF_STRLIST, .key = "channels", .def = "", .max = 32,
	 .offset = offsetof(struct gw_routing_tag_rule, channels),
	 .desc = "The message's channel is one of these; empty: any."},
	{.kind = CONF_STRLIST, .key = "accounts", .def = "", .max = ITEM_MAX_LEN,
	 .offset = offsetof(struct gw_routing_tag_rule, accounts),
	 .desc = "The account it came to is one of these; empty: any."},
	{.kind = CONF_STRLIST, .key = "languages", .def = "", .max = 15,
	 .offset = offsetof(struct gw_routing_tag_rule, languages),
	 .desc = "The ticket's detected language is one of these; empty: any."},
	{.kind = CONF_STRLIST, .key = "attributes", .def = "", .max = ITEM_MAX_LEN,
	 .offset = offsetof(struct gw_routing_tag_rule, attributes),
	 .desc = "Every `key=value` is an attribute of the customer; empty: any."},
	{.kind = CONF_STRING, .key = "hours", .def = "", .max = 16,
	 .offset = offsetof(struct gw_routing_tag_rule, hours),
	 .desc = "`business`: inside the ticket's queue's business hours; `off`: outside "
		 "them; empty: any time."},
	{.kind = CONF_STRLIST, .key = "tags", .def = "", .max = NAME_MAX_LEN,
	 .offset = offsetof(struct gw_routing_tag_rule, tags),
	 .desc = "Tags added to the ticket (lowercase letters, digits, `-`, `_`, `.`, `:`)."},
	{.kind = CONF_STRING, .key = "priority", .def = "", .max = 16,
	 .offset = offsetof(struct gw_routing_tag_rule, priority),
	 .desc = "Priority the ticket is raised to (never lowered); empty: unchanged."},
};

const struct conf_section gw_conf_routing_tag_rule = {
	.name = "routing.tag_rules[]",
	.entries = tag_rule_rows,
	.n_entries = N_ROWS(tag_rule_rows),
	.struct_size = sizeof(struct gw_routing_tag_rule),
	.desc = "Rules that tag a ticket and raise its priority; every matching rule applies, "
		"in order. Each non-empty match list must hold.",
};

static const struct conf_entry escalation_rows[] = {
	{.kind = CONF_STRING, .key = "name", .max = NAME_MAX_LEN, .flags = CONF_F_REQUIRED,
	 .offset = offsetof(struct gw_routing_escalation, name),
	 .desc = "Name of the rule, in the cause of the events it makes; it fires once per "
		 "ticket and trigger."},
	{.kind = CONF_STRING, .key = "trigger", .max = 16, .flags = CONF_F_REQUIRED,
	 .offset = offsetof(struct gw_routing_escalation, trigger),
	 .desc = "`sla_warning` or `sla_breached` (when the router publishes that alert), or "
		 "`unassigned` (the ticket waited `after_min` without an agent)."},
	{.kind = CONF_STRING, .key = "clock", .def = "", .max = 16,
	 .offset = offsetof(struct gw_routing_escalation, clock),
	 .desc = "SLA triggers: only alerts of this clock (`first_response`, `next_response`, "
		 "`resolution`); empty: any."},
	{.kind = CONF_DURATION, .key = "after_min", .def = "30", .min = 1, .max = 525600LL * 60,
	 .offset = offsetof(struct gw_routing_escalation, after_s),
	 .desc = "`unassigned`: time since the ticket opened (or reopened) without an agent "
		 "(`30` or `30m`, `90s`, `2h`)."},
	{.kind = CONF_STRLIST, .key = "queues", .def = "", .max = NAME_MAX_LEN,
	 .offset = offsetof(struct gw_routing_escalation, queues),
	 .desc = "Only tickets of these queues; empty: any."},
	{.kind = CONF_STRLIST, .key = "channels", .def = "", .max = 32,
	 .offset = offsetof(struct gw_routing_escalation, channels),
	 .desc = "Only tickets opened on these channels; empty: any."},
	{.kind = CONF_STRLIST, .key = "priorities", .def = "", .max = 16,
	 .offset = offsetof(struct gw_routing_escalation, priorities),
	 .desc = "Only tickets of these priorities (as they are when it fires); empty: any."},
	{.kind = CONF_STRING, .key = "set_priority", .def = "", .max = 16,
	 .offset = offsetof(struct gw_routing_escalation, set_priority),
	 .desc = "Raise the priority to this (never lowers it): `ticket.priority_changed`."},
	{.kind = CONF_STRING, .key = "move_to_queue", .def = "", .max = NAME_MAX_LEN,
	 .offset = offsetof(struct gw_routing_escalation, move_to_queue),
	 .desc = "Move the ticket to this queue, whose strategy picks an agent (unless "
		 "`assign_to`): `ticket.assigned`, or `ticket.updated` when it waits there."},
	{.kind = CONF_STRING, .key = "assign_to", .def = "", .max = NAME_MAX_LEN,
	 .offset = offsetof(struct gw_routing_escalation, assign_to),
	 .desc = "An agent id (a supervisor: given the ticket whatever their load), or `next`: "
		 "the next available agent of the ticket's queue other than its current one; "
		 "empty: no reassignment."},
	{.kind = CONF_BOOL, .key = "notify", .def = "false",
	 .offset = offsetof(struct gw_routing_escalation, notify),
	 .desc = "Record the firing as `ticket.escalated` (for a consumer that pages someone) "
		 "rather than `ticket.updated`; both are in the ticket's trace."},
};

const struct conf_section gw_conf_routing_escalation = {
	.name = "routing.escalations[]",
	.entries = escalation_rows,
	.n_entries = N_ROWS(escalation_rows),
	.struct_size = sizeof(struct gw_routing_escalation),
	.desc = "Escalation rules, run by the router's timers with or without traffic, in "
		"order; each fires once per ticket and trigger (kept across restarts).",
};

static int one_of(const char *v, const char *const *choices)
{
	for (size_t i = 0; choices[i]; i++)
		if (strcmp(v, choices[i]) == 0)
			return 1;
	return 0;
}

static int check_tag_rule(const struct gw_routing_tag_rule *t, size_t i, char *err,
			  size_t errlen)
{
	static const char *const ons[] = {"open", "message", NULL};
	static const char *const hours[] = {"", "business", "off", NULL};
	static const char *const prios[] = {"", "low", "normal", "high", "urgent", NULL};

	if (!one_of(t->on, ons))
		snprintf(err, errlen, "tag_rules[%zu].on: '%s' is not one of open, message", i,
			 t->on);
	else if (!one_of(t->hours, hours))
		snprintf(err, errlen, "tag_rules[%zu].hours: '%s' is not one of business, off", i,
			 t->hours);
	else if (!one_of(t->priority, prios))
		snprintf(err, errlen, "tag_rules[%zu].priority: '%s' is not one of low, normal, "
			 "high, urgent", i, t->priority);
	else if (!t->tags.n && !t->priority[0])
		snprintf(err, errlen, "tag_rules[%zu]: sets neither tags nor priority", i);
	else
		return GW_OK;
	return GW_EINVAL;
}

static int known_agent(const struct gw_config_routing *r, const char *id)
{
	for (size_t i = 0; i < r->n_agents; i++)
		if (strcmp(r->agents[i].id, id) == 0)
			return 1;
	return 0;
}

static int known_queue(const struct gw_config_routing *r, const char *name)
{
	for (size_t i = 0; i < r->n_queues; i++)
		if (strcmp(r->queues[i].name, name) == 0)
			return 1;
	return strcmp(r->default_queue, name) == 0;
}

static int check_escalation(const struct gw_config_routing *r, size_t i, char *err,
			    size_t errlen)
{
	static const char *const triggers[] = {"sla_warning", "sla_breached", "unassigned", NULL};
	static const char *const clocks[] = {"", "first_response", "next_response", "resolution",
					     NULL};
	static const char *const prios[] = {"", "low", "normal", "high", "urgent", NULL};
	const struct gw_routing_escalation *e = &r->escalations[i];

	if (!one_of(e->trigger, triggers))
		snprintf(err, errlen, "escalations[%zu].trigger: '%s' is not one of sla_warning, "
			 "sla_breached, unassigned", i, e->trigger);
	else if (!one_of(e->clock, clocks))
		snprintf(err, errlen, "escalations[%zu].clock: '%s' is not one of first_response, "
			 "next_response, resolution", i, e->clock);
	else if (!one_of(e->set_priority, prios))
		snprintf(err, errlen, "escalations[%zu].set_priority: '%s' is not one of low, "
			 "normal, high, urgent", i, e->set_priority);
	else if (e->move_to_queue[0] && !known_queue(r, e->move_to_queue))
		snprintf(err, errlen, "escalations[%zu].move_to_queue: no queue '%s'", i,
			 e->move_to_queue);
	else if (e->assign_to[0] && strcmp(e->assign_to, "next") != 0 &&
		 !known_agent(r, e->assign_to))
		snprintf(err, errlen, "escalations[%zu].assign_to: no agent '%s' (or `next`)", i,
			 e->assign_to);
	else
		return GW_OK;
	return GW_EINVAL;
}

int gw_config_rules_check(const struct gw_config_routing *r, char *err, size_t errlen)
{
	for (size_t i = 0; i < r->n_escalations; i++)
		if (check_escalation(r, i, err, errlen))
			return GW_EINVAL;
	for (size_t i = 0; i < r->n_tag_rules; i++) {
		const struct gw_routing_tag_rule *t = &r->tag_rules[i];

		if (check_tag_rule(t, i, err, errlen))
			return GW_EINVAL;
		for (size_t j = 0; j < t->tags.n; j++) {
			if (!gw_tag_valid(t->tags.v[j])) {
				snprintf(err, errlen, "tag_rules[%zu].tags: '%s' is not a tag "
					 "(lowercase letters, digits, -, _, ., : up to 64)", i,
					 t->tags.v[j]);
				return GW_EINVAL;
			}
		}
	}
	return GW_OK;
}

/*
 * config_rules.c - the tables of routing.tag_rules[] (tags and priority set
 * by rules when a ticket opens or a message arrives) and their checks.
 * What a rule means is explained in docs/routing.md, *Tags and priority by
 * rules*; router/rules/tagging.c applies them.
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

static int one_of(const char *v, const char *const *choices)
{
	for (size_t i = 0; choices[i]; i++)
		if (strcmp(v, choices[i]) == 0)
			return 1;
	return 0;
}

int gw_tag_valid(const char *tag)
{
	size_t n = strlen(tag);

	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (const char *p = tag; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("-_.:", *p)))
			return 0;
	return 1;
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

int gw_config_rules_check(const struct gw_config_routing *r, char *err, size_t errlen)
{
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

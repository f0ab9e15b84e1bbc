/*
 * config_automation.c - the tables of `automation` (automatic messages and
 * canned responses) and of its lists (templates[], rules[]), and the checks
 * between them. What each key does is explained in docs/automation.md.
 */
#include "core/config_tables.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/template.h"

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))
#define AU_OFF(m) offsetof(struct gw_config_automation, m)
#define TP_OFF(m) offsetof(struct gw_automation_template, m)
#define RU_OFF(m) offsetof(struct gw_automation_rule, m)
#define NAME_MAX_LEN 64
#define TEXT_MAX_LEN 8192

static const struct conf_entry automation_rows[] = {
	{.kind = CONF_BOOL, .key = "enabled", .def = "true", .offset = AU_OFF(enabled),
	 .desc = "Send the automatic messages of `rules[]`; false: none (canned responses "
		 "still work)."},
	{.kind = CONF_INT, .key = "window_s", .def = "86400", .min = 0, .max = 31536000,
	 .offset = AU_OFF(window_s),
	 .desc = "At most one automatic message of a kind per customer within this many "
		 "seconds (kept in the store, so a restart keeps it). 0: no limit."},
};

const struct conf_section gw_conf_automation = {
	.name = "automation",
	.entries = automation_rows,
	.n_entries = N_ROWS(automation_rows),
	.struct_size = sizeof(struct gw_config_automation),
	.desc = "Automatic messages (acknowledgement, out-of-hours notice, still-waiting "
		"notice) and canned responses (docs/automation.md). The lists below are keys "
		"of `automation` too.",
};

static const struct conf_entry template_rows[] = {
	{.kind = CONF_STRING, .key = "name", .max = NAME_MAX_LEN, .flags = CONF_F_REQUIRED,
	 .offset = TP_OFF(name),
	 .desc = "Template name (`gatewayctl send --template NAME`, `rules[].template`)."},
	{.kind = CONF_STRING, .key = "language", .def = "", .max = 15, .offset = TP_OFF(language),
	 .desc = "Language of this text (`fr`); empty: the default text of the name, used "
		 "when the customer's language has none."},
	{.kind = CONF_STRING, .key = "subject", .def = "", .max = 512, .offset = TP_OFF(subject),
	 .desc = "Subject (email) with variables; empty: the ticket's."},
	{.kind = CONF_STRING, .key = "text", .max = TEXT_MAX_LEN, .flags = CONF_F_REQUIRED,
	 .offset = TP_OFF(text),
	 .desc = "The text, with `{{customer.name}}`, `{{customer.attr.X}}`, `{{ticket.id}}`, "
		 "`{{ticket.number}}`, `{{ticket.subject}}`, `{{agent.name}}`, "
		 "`{{sla.first_response}}`, `{{hours.next_open}}` or a `--var` of the command."},
};

const struct conf_section gw_conf_automation_template = {
	.name = "automation.templates[]",
	.entries = template_rows,
	.n_entries = N_ROWS(template_rows),
	.struct_size = sizeof(struct gw_automation_template),
	.desc = "Named texts, one entry per name and language. A variable the template uses "
		"and nothing defines is an error: nothing is sent.",
};

static const struct conf_entry rule_rows[] = {
	{.kind = CONF_STRING, .key = "kind", .max = 32, .flags = CONF_F_REQUIRED,
	 .offset = RU_OFF(kind),
	 .desc = "`acknowledgement` (a ticket opened), `out_of_hours` (opened outside its "
		 "queue's business hours; sent instead of the acknowledgement) or `still_waiting` "
		 "(no reply `after_s` seconds after the ticket opened)."},
	{.kind = CONF_STRING, .key = "channel", .def = "", .max = 32, .offset = RU_OFF(channel),
	 .desc = "Channel of the ticket; empty: any."},
	{.kind = CONF_STRING, .key = "queue", .def = "", .max = NAME_MAX_LEN,
	 .offset = RU_OFF(queue), .desc = "Queue of the ticket; empty: any."},
	{.kind = CONF_STRING, .key = "template", .def = "", .max = NAME_MAX_LEN,
	 .offset = RU_OFF(template_name),
	 .desc = "A `templates[]` name; empty: no message of this kind in this scope."},
	{.kind = CONF_INT, .key = "after_s", .def = "3600", .min = 1, .max = 31536000,
	 .offset = RU_OFF(after_s), .desc = "`still_waiting`: seconds without a reply."},
	{.kind = CONF_STRING, .key = "whatsapp_template", .def = "", .max = 512,
	 .offset = RU_OFF(whatsapp_template),
	 .desc = "WhatsApp: the approved template sent instead when the customer wrote more "
		 "than 24 h ago; empty: the message is skipped there (logged)."},
	{.kind = CONF_STRING, .key = "whatsapp_language", .def = "en", .max = 15,
	 .offset = RU_OFF(whatsapp_language), .desc = "Language of `whatsapp_template`."},
};

const struct conf_section gw_conf_automation_rule = {
	.name = "automation.rules[]",
	.entries = rule_rows,
	.n_entries = N_ROWS(rule_rows),
	.struct_size = sizeof(struct gw_automation_rule),
	.desc = "When automatic messages go out, first matching row of a kind wins. Never to "
		"an automated sender, never twice within `window_s` to a customer.",
};

#define LIST(k, sec, arr, n) \
	{ k, &sec, offsetof(struct gw_config_automation, arr), \
	  offsetof(struct gw_config_automation, n) }

const struct conf_list gw_conf_automation_lists[] = {
	LIST("templates", gw_conf_automation_template, templates, n_templates),
	LIST("rules", gw_conf_automation_rule, rules, n_rules),
	{ NULL, NULL, 0, 0 },
};

static int known_template(const struct gw_config_automation *a, const char *name)
{
	for (size_t i = 0; i < a->n_templates; i++)
		if (strcmp(a->templates[i].name, name) == 0)
			return 1;
	return 0;
}

static int check_template(const struct gw_config_automation *a, size_t i, char *err,
			  size_t errlen)
{
	const struct gw_automation_template *t = &a->templates[i];
	char why[256];

	for (size_t j = 0; j < i; j++)
		if (strcmp(a->templates[j].name, t->name) == 0 &&
		    strcmp(a->templates[j].language, t->language) == 0) {
			snprintf(err, errlen, "templates[%zu]: '%s' (%s) given twice", i, t->name,
				 t->language[0] ? t->language : "default");
			return GW_EINVAL;
		}
	if (gw_tmpl_check(t->text, why, sizeof(why)) != GW_OK ||
	    gw_tmpl_check(t->subject, why, sizeof(why)) != GW_OK) {
		snprintf(err, errlen, "templates[%zu]: %s", i, why);
		return GW_EINVAL;
	}
	return GW_OK;
}

static int check_rule(const struct gw_config_automation *a, size_t i, char *err, size_t errlen)
{
	static const char *const kinds[] = {"acknowledgement", "out_of_hours", "still_waiting",
					    NULL};
	const struct gw_automation_rule *r = &a->rules[i];
	size_t k = 0;

	while (kinds[k] && strcmp(kinds[k], r->kind) != 0)
		k++;
	if (!kinds[k]) {
		snprintf(err, errlen, "rules[%zu].kind: '%s' is not acknowledgement, out_of_hours "
			 "or still_waiting", i, r->kind);
		return GW_EINVAL;
	}
	if (r->template_name[0] && !known_template(a, r->template_name)) {
		snprintf(err, errlen, "rules[%zu].template: unknown template '%s'", i,
			 r->template_name);
		return GW_EINVAL;
	}
	return GW_OK;
}

int gw_config_automation_check(const struct gw_config_automation *a, char *err, size_t errlen)
{
	int rc = GW_OK;

	for (size_t i = 0; rc == GW_OK && i < a->n_templates; i++)
		rc = check_template(a, i, err, errlen);
	for (size_t i = 0; rc == GW_OK && i < a->n_rules; i++)
		rc = check_rule(a, i, err, errlen);
	return rc;
}

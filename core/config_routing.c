/*
 * config_routing.c - the tables of `routing` and of its lists (channels[],
 * business_hours[], queues[], agents[], sla[]), and the checks that tie the
 * lists together (a queue names known agents and hours, a value is one of
 * its choices). What a rule means is explained in docs/routing.md.
 */
#include "core/config_tables.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/calendar.h"
#include "core/err.h"

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))
#define NAME_MAX_LEN 64   /* queue, agent and calendar names (PROTO_MAX_AGENT) */
#define ITEM_MAX_LEN 256  /* one keyword, account or attribute */

static const struct conf_entry routing_rows[] = {
	{.kind = CONF_STRING, .key = "default_region", .def = "", .max = 2,
	 .offset = offsetof(struct gw_config_routing, default_region),
	 .desc = "Country (ISO 3166 alpha-2, e.g. `FR`) of phone numbers written without "
		 "`+` or international prefix; empty: such numbers are not read as phone numbers."},
	{.kind = CONF_STRLIST, .key = "languages", .def = "en,fr,de,es,pt,it,nl", .max = 15,
	 .offset = offsetof(struct gw_config_routing, languages),
	 .desc = "Candidate languages for language detection (libexttextcat model names); "
		 "an empty list turns detection off."},
	{.kind = CONF_STRING, .key = "scope", .def = "customer", .max = 16,
	 .offset = offsetof(struct gw_config_routing, scope),
	 .desc = "`customer`: one open ticket per customer across all channels (the "
		 "omnichannel default); `channel`: one per customer and channel."},
	{.kind = CONF_INT, .key = "reopen_window_h", .def = "168", .min = 0, .max = 87600,
	 .offset = offsetof(struct gw_config_routing, reopen_window_h),
	 .desc = "A message this many hours or less after its ticket closed reopens it; "
		 "later, it opens a new ticket linked to the old one. 0: never reopen."},
	{.kind = CONF_INT, .key = "duplicate_window_s", .def = "600", .min = 0, .max = 604800,
	 .offset = offsetof(struct gw_config_routing, duplicate_window_s),
	 .desc = "The same text from the same customer on another channel within this many "
		 "seconds joins the first one's ticket as a probable duplicate. 0: off."},
	{.kind = CONF_STRING, .key = "default_queue", .def = "general", .max = NAME_MAX_LEN,
	 .offset = offsetof(struct gw_config_routing, default_queue),
	 .desc = "Queue of a ticket no `queues[]` rule matches."},
	/* Agent collision. */
	{.kind = CONF_INT, .key = "presence_interval_ms", .def = "2000", .min = 0, .max = 600000,
	 .offset = offsetof(struct gw_config_routing, presence_interval_ms),
	 .desc = "`ticket.viewing` and `ticket.typing` are published at most once per agent, "
		 "ticket and activity in this many ms (a desk may send them at every keystroke); "
		 "0: every one."},
};

const struct conf_section gw_conf_routing = {
	.name = "routing",
	.entries = routing_rows,
	.n_entries = N_ROWS(routing_rows),
	.struct_size = sizeof(struct gw_config_routing),
	.desc = "How the router threads messages into tickets, assigns tickets to queues and "
		"agents, and times them against SLA targets (see docs/routing.md). The lists "
		"below are keys of `routing` too.",
};

static const struct conf_entry channel_rows[] = {
	{.kind = CONF_STRING, .key = "channel", .max = 32, .flags = CONF_F_REQUIRED,
	 .offset = offsetof(struct gw_routing_channel, channel),
	 .desc = "The channel (`email`, `whatsapp`, `livechat`, ...)."},
	{.kind = CONF_STRING, .key = "scope", .def = "", .max = 16,
	 .offset = offsetof(struct gw_routing_channel, scope),
	 .desc = "`customer` or `channel`; empty: `routing.scope`."},
	{.kind = CONF_INT, .key = "reopen_window_h", .def = "-1", .min = -1, .max = 87600,
	 .offset = offsetof(struct gw_routing_channel, reopen_window_h),
	 .desc = "Reopen window of this channel's tickets; -1: `routing.reopen_window_h`."},
};

const struct conf_section gw_conf_routing_channel = {
	.name = "routing.channels[]",
	.entries = channel_rows,
	.n_entries = N_ROWS(channel_rows),
	.struct_size = sizeof(struct gw_routing_channel),
	.desc = "Threading policy of one channel, overriding the defaults above.",
};

static const struct conf_entry hours_rows[] = {
	{.kind = CONF_STRING, .key = "name", .max = NAME_MAX_LEN, .flags = CONF_F_REQUIRED,
	 .offset = offsetof(struct gw_routing_hours, name),
	 .desc = "Name queues refer to."},
	{.kind = CONF_STRING, .key = "timezone", .def = "UTC", .max = 64,
	 .offset = offsetof(struct gw_routing_hours, timezone),
	 .desc = "IANA time zone (`Europe/Paris`) of the hours."},
	{.kind = CONF_STRING, .key = "hours", .def = "mon-fri 09:00-17:00", .max = 512,
	 .offset = offsetof(struct gw_routing_hours, hours),
	 .desc = "Weekly opening hours: `mon-fri 09:00-12:30, 13:30-18:00; sat 10:00-14:00`, "
		 "or `24/7`."},
};

const struct conf_section gw_conf_routing_hours = {
	.name = "routing.business_hours[]",
	.entries = hours_rows,
	.n_entries = N_ROWS(hours_rows),
	.struct_size = sizeof(struct gw_routing_hours),
	.desc = "A named calendar. SLA clocks of a queue count only its open hours.",
};

static const struct conf_entry queue_rows[] = {
	{.kind = CONF_STRING, .key = "name", .max = NAME_MAX_LEN, .flags = CONF_F_REQUIRED,
	 .offset = offsetof(struct gw_routing_queue, name), .desc = "Queue (team) name."},
	{.kind = CONF_STRLIST, .key = "channels", .max = 32,
	 .offset = offsetof(struct gw_routing_queue, channels),
	 .desc = "Matches tickets opened on one of these channels (empty: any)."},
	{.kind = CONF_STRLIST, .key = "accounts", .max = ITEM_MAX_LEN,
	 .offset = offsetof(struct gw_routing_queue, accounts),
	 .desc = "... received on one of these accounts (mailbox, number, page)."},
	{.kind = CONF_STRLIST, .key = "languages", .max = 15,
	 .offset = offsetof(struct gw_routing_queue, languages),
	 .desc = "... written in one of these languages."},
	{.kind = CONF_STRLIST, .key = "keywords", .max = ITEM_MAX_LEN,
	 .offset = offsetof(struct gw_routing_queue, keywords),
	 .desc = "... whose subject or text contains one of these words (case-insensitive)."},
	{.kind = CONF_STRLIST, .key = "attributes", .max = ITEM_MAX_LEN,
	 .offset = offsetof(struct gw_routing_queue, attributes),
	 .desc = "... from a customer with all these `key=value` attributes (contacts import)."},
	{.kind = CONF_STRING, .key = "strategy", .def = "round_robin", .max = 16,
	 .offset = offsetof(struct gw_routing_queue, strategy),
	 .desc = "`round_robin`, `least_open` (fewest open tickets) or `sticky` (the agent "
		 "who last served the customer when available, else least open)."},
	{.kind = CONF_STRING, .key = "business_hours", .def = "", .max = NAME_MAX_LEN,
	 .offset = offsetof(struct gw_routing_queue, business_hours),
	 .desc = "A `business_hours[]` name for its SLA clocks; empty: around the clock."},
	{.kind = CONF_STRING, .key = "priority", .def = "normal", .max = 16,
	 .offset = offsetof(struct gw_routing_queue, priority),
	 .desc = "Priority of its new tickets: `low`, `normal`, `high`, `urgent`."},
	{.kind = CONF_STRLIST, .key = "agents", .max = NAME_MAX_LEN,
	 .offset = offsetof(struct gw_routing_queue, agents),
	 .desc = "Ids of the `agents[]` serving it."},
};

const struct conf_section gw_conf_routing_queue = {
	.name = "routing.queues[]",
	.entries = queue_rows,
	.n_entries = N_ROWS(queue_rows),
	.struct_size = sizeof(struct gw_routing_queue),
	.desc = "Queues in order: a new ticket goes to the first whose every non-empty "
		"match list holds, else to `default_queue`.",
};

static const struct conf_entry agent_rows[] = {
	{.kind = CONF_STRING, .key = "id", .max = NAME_MAX_LEN, .flags = CONF_F_REQUIRED,
	 .offset = offsetof(struct gw_routing_agent, id), .desc = "Agent id (helpdesk login)."},
	{.kind = CONF_STRING, .key = "name", .def = "", .max = 256,
	 .offset = offsetof(struct gw_routing_agent, name), .desc = "Display name."},
	{.kind = CONF_INT, .key = "capacity", .def = "10", .min = 0, .max = 100000,
	 .offset = offsetof(struct gw_routing_agent, capacity),
	 .desc = "Most open tickets at once; 0: no limit."},
	{.kind = CONF_STRLIST, .key = "languages", .max = 15,
	 .offset = offsetof(struct gw_routing_agent, languages),
	 .desc = "Languages spoken; a ticket in another detected language goes to someone "
		 "else when possible. Empty: any."},
	{.kind = CONF_STRING, .key = "timezone", .def = "UTC", .max = 64,
	 .offset = offsetof(struct gw_routing_agent, timezone),
	 .desc = "IANA time zone of `hours`."},
	{.kind = CONF_STRING, .key = "hours", .def = "", .max = 512,
	 .offset = offsetof(struct gw_routing_agent, hours),
	 .desc = "Working hours (same form as `business_hours[].hours`); empty: any time."},
	{.kind = CONF_STRING, .key = "presence", .def = "online", .max = 16,
	 .offset = offsetof(struct gw_routing_agent, presence),
	 .desc = "Presence until an `agent.presence` command says otherwise: `online`, "
		 "`away`, `offline`."},
};

const struct conf_section gw_conf_routing_agent = {
	.name = "routing.agents[]",
	.entries = agent_rows,
	.n_entries = N_ROWS(agent_rows),
	.struct_size = sizeof(struct gw_routing_agent),
	.desc = "Agents. One is available when online, within working hours and below "
		"capacity.",
};

/* The longest SLA target: ten years. */
#define SLA_TARGET_MAX_S (5256000LL * 60)

static const struct conf_entry sla_rows[] = {
	{.kind = CONF_STRING, .key = "queue", .def = "", .max = NAME_MAX_LEN,
	 .offset = offsetof(struct gw_routing_sla, queue), .desc = "Queue; empty: any."},
	{.kind = CONF_STRING, .key = "channel", .def = "", .max = 32,
	 .offset = offsetof(struct gw_routing_sla, channel),
	 .desc = "Channel that opened the ticket; empty: any."},
	{.kind = CONF_STRING, .key = "priority", .def = "", .max = 16,
	 .offset = offsetof(struct gw_routing_sla, priority), .desc = "Priority; empty: any."},
	{.kind = CONF_DURATION, .key = "first_response_min", .def = "0", .min = 0,
	 .max = SLA_TARGET_MAX_S, .offset = offsetof(struct gw_routing_sla, first_response_s),
	 .desc = "Business time to the first reply (`15` or `15m`, `90s`, `4h`); 0: no target."},
	{.kind = CONF_DURATION, .key = "resolution_min", .def = "0", .min = 0,
	 .max = SLA_TARGET_MAX_S, .offset = offsetof(struct gw_routing_sla, resolution_s),
	 .desc = "Business time to close (`480` or `8h`); 0: no target."},
	{.kind = CONF_DURATION, .key = "next_response_min", .def = "0", .min = 0,
	 .max = SLA_TARGET_MAX_S, .offset = offsetof(struct gw_routing_sla, next_response_s),
	 .desc = "Business time to answer the customer's next message once a reply went "
		 "out (the clock starts at the first unanswered message and stops at the next "
		 "reply); 0: no target."},
	{.kind = CONF_INT, .key = "warning_percent", .def = "80", .min = 1, .max = 99,
	 .offset = offsetof(struct gw_routing_sla, warning_percent),
	 .desc = "`ticket.sla_warning` when this share of a target has been used."},
};

const struct conf_section gw_conf_routing_sla = {
	.name = "routing.sla[]",
	.entries = sla_rows,
	.n_entries = N_ROWS(sla_rows),
	.struct_size = sizeof(struct gw_routing_sla),
	.desc = "SLA targets, first matching row wins. Without any row the defaults are: "
		"`email` first response 60 min, `livechat` 5 min, other channels 60 min; "
		"resolution 24 h (all counted in the queue's business hours).",
};

#define LIST(k, sec, arr, n) \
	{ k, &sec, offsetof(struct gw_config_routing, arr), offsetof(struct gw_config_routing, n), 0 }

const struct conf_list gw_conf_routing_lists[] = {
	LIST("channels", gw_conf_routing_channel, channels, n_channels),
	LIST("business_hours", gw_conf_routing_hours, business_hours, n_business_hours),
	LIST("queues", gw_conf_routing_queue, queues, n_queues),
	LIST("agents", gw_conf_routing_agent, agents, n_agents),
	LIST("sla", gw_conf_routing_sla, sla, n_sla),
	/* Rules (config_rules.c). */
	LIST("tag_rules", gw_conf_routing_tag_rule, tag_rules, n_tag_rules),
	LIST("escalations", gw_conf_routing_escalation, escalations, n_escalations),
	{ NULL, NULL, 0, 0, 0 },
};

/* ---- checks between keys ------------------------------------------- */

static int one_of(const char *v, const char *const *choices)
{
	for (size_t i = 0; choices[i]; i++)
		if (strcmp(v, choices[i]) == 0)
			return 1;
	return 0;
}

static const char *const scopes[] = {"customer", "channel", NULL};
static const char *const strategies[] = {"round_robin", "least_open", "sticky", NULL};
static const char *const priorities[] = {"low", "normal", "high", "urgent", NULL};
static const char *const presences[] = {"online", "away", "offline", NULL};

static int find_agent(const struct gw_config_routing *r, const char *id)
{
	for (size_t i = 0; i < r->n_agents; i++)
		if (strcmp(r->agents[i].id, id) == 0)
			return 1;
	return 0;
}

static int find_hours(const struct gw_config_routing *r, const char *name)
{
	for (size_t i = 0; i < r->n_business_hours; i++)
		if (strcmp(r->business_hours[i].name, name) == 0)
			return 1;
	return 0;
}

static int check_queue(const struct gw_config_routing *r, size_t i, char *err, size_t errlen)
{
	const struct gw_routing_queue *q = &r->queues[i];

	for (size_t j = 0; j < i; j++)
		if (strcmp(r->queues[j].name, q->name) == 0)
			goto dup;
	if (!one_of(q->strategy, strategies)) {
		snprintf(err, errlen, "queues[%zu].strategy: '%s' is not one of round_robin, "
			 "least_open, sticky", i, q->strategy);
		return GW_EINVAL;
	}
	if (!one_of(q->priority, priorities)) {
		snprintf(err, errlen, "queues[%zu].priority: '%s' is not one of low, normal, "
			 "high, urgent", i, q->priority);
		return GW_EINVAL;
	}
	if (q->business_hours[0] && !find_hours(r, q->business_hours)) {
		snprintf(err, errlen, "queues[%zu].business_hours: no business_hours[] named '%s'",
			 i, q->business_hours);
		return GW_EINVAL;
	}
	for (size_t j = 0; j < q->agents.n; j++) {
		if (!find_agent(r, q->agents.v[j])) {
			snprintf(err, errlen, "queues[%zu].agents: no agents[] with id '%s'", i,
				 q->agents.v[j]);
			return GW_EINVAL;
		}
	}
	for (size_t j = 0; j < q->attributes.n; j++) {
		if (!strchr(q->attributes.v[j], '=')) {
			snprintf(err, errlen, "queues[%zu].attributes: '%s' is not key=value", i,
				 q->attributes.v[j]);
			return GW_EINVAL;
		}
	}
	return GW_OK;
dup:
	snprintf(err, errlen, "queues[%zu].name: '%s' is used by another queue", i, q->name);
	return GW_EINVAL;
}

static int check_agent(const struct gw_config_routing *r, size_t i, char *err, size_t errlen)
{
	const struct gw_routing_agent *a = &r->agents[i];

	for (size_t j = 0; j < i; j++) {
		if (strcmp(r->agents[j].id, a->id) == 0) {
			snprintf(err, errlen, "agents[%zu].id: '%s' is used by another agent", i,
				 a->id);
			return GW_EINVAL;
		}
	}
	if (!one_of(a->presence, presences)) {
		snprintf(err, errlen, "agents[%zu].presence: '%s' is not one of online, away, "
			 "offline", i, a->presence);
		return GW_EINVAL;
	}
	return GW_OK;
}

/* check_hours - a time zone and weekly hours that parse (calendar.h). */
static int check_hours(const char *what, size_t i, const char *tz, const char *hours, char *err,
		       size_t errlen)
{
	struct cal *c = NULL;
	char why[256];
	int rc;

	if (!hours[0])
		return GW_OK;
	rc = cal_parse(tz, hours, &c, why, sizeof(why));
	cal_free(c);
	if (rc == GW_EINVAL)
		snprintf(err, errlen, "%s[%zu]: %s", what, i, why);
	return rc;
}

static int check_lists(const struct gw_config_routing *r, char *err, size_t errlen)
{
	int rc = GW_OK;

	for (size_t i = 0; rc == GW_OK && i < r->n_channels; i++) {
		const char *sc = r->channels[i].scope;

		if (sc[0] && !one_of(sc, scopes)) {
			snprintf(err, errlen, "channels[%zu].scope: '%s' is not one of customer, "
				 "channel", i, sc);
			rc = GW_EINVAL;
		}
	}
	for (size_t i = 0; rc == GW_OK && i < r->n_business_hours; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(r->business_hours[j].name, r->business_hours[i].name) == 0) {
				snprintf(err, errlen, "business_hours[%zu].name: '%s' is used "
					 "twice", i, r->business_hours[i].name);
				rc = GW_EINVAL;
				break;
			}
		}
	}
	for (size_t i = 0; rc == GW_OK && i < r->n_business_hours; i++)
		rc = check_hours("business_hours", i, r->business_hours[i].timezone,
				 r->business_hours[i].hours, err, errlen);
	for (size_t i = 0; rc == GW_OK && i < r->n_agents; i++)
		rc = check_agent(r, i, err, errlen);
	for (size_t i = 0; rc == GW_OK && i < r->n_agents; i++)
		rc = check_hours("agents", i, r->agents[i].timezone, r->agents[i].hours, err,
				 errlen);
	for (size_t i = 0; rc == GW_OK && i < r->n_queues; i++)
		rc = check_queue(r, i, err, errlen);
	for (size_t i = 0; rc == GW_OK && i < r->n_sla; i++) {
		const char *p = r->sla[i].priority;

		if (p[0] && !one_of(p, priorities)) {
			snprintf(err, errlen, "sla[%zu].priority: '%s' is not one of low, normal, "
				 "high, urgent", i, p);
			rc = GW_EINVAL;
		}
	}
	return rc;
}

int gw_config_routing_check(const struct gw_config_routing *r, char *err, size_t errlen)
{
	if (!one_of(r->scope, scopes)) {
		snprintf(err, errlen, "scope: '%s' is not one of customer, channel", r->scope);
		return GW_EINVAL;
	}
	if (check_lists(r, err, errlen))
		return GW_EINVAL;
	return gw_config_rules_check(r, err, errlen);
}

/*
 * config_tables.h - the sections gw_config owns itself: the top level, the
 * common keys of every connectors[] entry, `router` and `supervisor`. Each
 * connector type owns the table of its own keys (gw_connector_conf_type).
 * Internal to gw_config: other modules read the filled structs of config.h.
 */
#ifndef GW_CONFIG_TABLES_H
#define GW_CONFIG_TABLES_H

#include "core/err.h"

#include "core/config.h"
#include "core/util.h"

/* state_dir, log_level: rows filling struct gw_config. */
extern const struct conf_section gw_conf_top;
/* name, type, enabled: rows filling struct gw_connector_conf. */
extern const struct conf_section gw_conf_connector;
/* router: rows filling struct gw_config_router. */
extern const struct conf_section gw_conf_router;
/* supervisor: rows filling struct gw_config_supervisor. */
extern const struct conf_section gw_conf_supervisor;

/* nats: rows filling struct gw_config_nats (config_nats.c). */
extern const struct conf_section gw_conf_nats;

/*
 * gw_config_nats_check - the checks of nats values (choices, names NATS
 * accepts, keys that go together); GW_OK, or GW_EINVAL with *key_out the
 * key at fault ("payload") and *why_out the reason (static strings).
 */
GW_MUST_CHECK int gw_config_nats_check(const struct gw_config_nats *n, const char **key_out,
			 const char **why_out);

/* metrics: rows filling struct gw_config_metrics. */
extern const struct conf_section gw_conf_metrics;
/* csat: rows filling struct gw_config_csat (config_csat.c). */
extern const struct conf_section gw_conf_csat;

/* routing and its lists (config_routing.c). */
extern const struct conf_section gw_conf_routing;
extern const struct conf_section gw_conf_routing_channel;
extern const struct conf_section gw_conf_routing_hours;
extern const struct conf_section gw_conf_routing_queue;
extern const struct conf_section gw_conf_routing_agent;
extern const struct conf_section gw_conf_routing_sla;
/* routing's rule lists (config_rules.c). */
extern const struct conf_section gw_conf_routing_tag_rule;
extern const struct conf_section gw_conf_routing_escalation;

/* integration and its lists (config_integration.c). */
extern const struct conf_section gw_conf_integration;
extern const struct conf_section gw_conf_integration_token;
extern const struct conf_section gw_conf_integration_webhook;

/* A key of a section whose value is a list of entries of `sec`, stored as
 * an array (malloc'ed, each entry filled by `sec`) and a count at these
 * offsets of the section's struct. With off_offset (non-zero: an entry's
 * first member cannot be it), a required secret whose variable is unset
 * turns that entry off alone: the reason (malloc'ed, freed with the
 * config) is at this offset of the entry, a char *. */
struct conf_list {
	const char *key;
	const struct conf_section *sec;
	size_t arr_offset;
	size_t n_offset;
	size_t off_offset;
};
/* The lists of `routing`, ended by a { NULL } row. */
extern const struct conf_list gw_conf_routing_lists[];
/* The lists of `integration`, ended by a { NULL } row. */
extern const struct conf_list gw_conf_integration_lists[];

/*
 * gw_config_integration_check - the checks between integration's keys and
 * lists (scope names, unique names, URL schemes); GW_OK or GW_EINVAL with
 * `err` naming the key path.
 */
GW_MUST_CHECK int gw_config_integration_check(const struct gw_config_integration *in, char *err,
				size_t errlen);

/*
 * gw_config_routing_check - the checks between routing's keys and lists
 * (choices, names that must exist, duplicate names); GW_OK or GW_EINVAL with
 * `err` naming the key path ("routing.queues[1].agents: unknown agent
 * 'bob'") and *line 0 or the entry's line when known.
 */
GW_MUST_CHECK int gw_config_routing_check(const struct gw_config_routing *r, char *err, size_t errlen);

/* gw_config_rules_check - the checks of routing.tag_rules[] (values of
 * on, hours, priority; valid tags); GW_OK or GW_EINVAL with `err` naming
 * the key path. Called by gw_config_routing_check. */
GW_MUST_CHECK int gw_config_rules_check(const struct gw_config_routing *r, char *err, size_t errlen);

/* gw_tag_valid (core/util.h) checks a tag. */
/* automation and its lists (config_automation.c). */
extern const struct conf_section gw_conf_automation;
extern const struct conf_section gw_conf_automation_template;
extern const struct conf_section gw_conf_automation_rule;
extern const struct conf_list gw_conf_automation_lists[];

/*
 * gw_config_automation_check - the checks between automation's keys and
 * lists (kinds, template names that exist, texts that parse); GW_OK or
 * GW_EINVAL with `err` naming the key path ("rules[0].template: unknown
 * template 'ack'").
 */
GW_MUST_CHECK int gw_config_automation_check(const struct gw_config_automation *a, char *err,
			       size_t errlen);

/* Longest endpoint accepted when a CONF_ENDPOINT row sets no max. */
#define GW_CONF_ENDPOINT_MAX 256

/* Longest connector instance name (also its spool folder and log prefix). */
#define GW_CONF_NAME_MAX 32

#endif

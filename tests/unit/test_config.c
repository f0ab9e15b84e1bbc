/*
 * test_config.c - the YAML config reader: the shipped example, defaults,
 * every error class with its exact "FILE:LINE: KEY.PATH" prefix, secrets
 * from the environment, state_dir resolution, cross-checks, and the
 * generated docs/config.md being up to date.
 *
 * Each test writes its YAML into a fresh mkdtemp() folder.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "connectors/api/api.h"
#include "connectors/connector.h"
#include "connectors/email/email.h"
#include "core/config.h"
#include "core/config_value.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

/* Set as the token in the environment; must never show up in an error. */
#define SECRET "S3CRET-marker-value"

struct fx {
	char dir[256];
	char path[300];
	char err[1024];
	struct gw_config *cfg;
};

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "%s/test_config.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/gateway.yaml", fx->dir);
	setenv("GATEWAY_API_TOKEN", SECRET, 1);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	gw_config_free(fx->cfg);
	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	unsetenv("GATEWAY_API_TOKEN");
	return 0;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* load - writes `yaml` as the fixture's file and loads it. */
static int load(struct fx *fx, const char *yaml, const char *override)
{
	gw_config_free(fx->cfg);
	fx->cfg = NULL;
	write_text(fx->path, yaml);
	return gw_config_load(fx->path, override, &fx->cfg, fx->err, sizeof(fx->err));
}

/* expect_error - loading `yaml` fails with "<file>:" + `tail`, secret-free. */
static void expect_error(struct fx *fx, const char *yaml, const char *tail)
{
	char want[2048];
	int rc = load(fx, yaml, NULL);

	snprintf(want, sizeof(want), "%s:%s", fx->path, tail);
	if (rc != GW_ECONFIG || strcmp(fx->err, want) != 0)
		print_error("yaml:\n%s\nwant: %s\ngot (%s): %s\n", yaml, want, gw_err_name(rc),
			    fx->err);
	assert_int_equal(rc, GW_ECONFIG);
	assert_string_equal(fx->err, want);
	assert_null(fx->cfg);
	assert_null(strstr(fx->err, SECRET));
	assert_null(strchr(fx->err, '\n'));
}

static bool have_api(void)
{
	return gw_connector_section("api") != NULL;
}

static const struct api_settings *api_of(const struct gw_connector_conf *c)
{
	return c->settings;
}

/* ---- the example and defaults --------------------------------------- */

static void test_example_loads(void **state)
{
	struct fx *fx = *state;
	const struct gw_connector_conf *c;
	int rc;

	if (!have_api())
		skip();
	unsetenv("GATEWAY_META_APP_SECRET");
	unsetenv("GATEWAY_LIVECHAT_SECRET");
	unsetenv("GATEWAY_TWILIO_ACCOUNT_SID");
	unsetenv("GATEWAY_TWILIO_AUTH_TOKEN");
	unsetenv("GATEWAY_TELEGRAM_TOKEN");
	rc = gw_config_load(gw_config_default_path(), NULL, &fx->cfg, fx->err, sizeof(fx->err));
	if (rc)
		print_error("%s\n", fx->err);
	assert_int_equal(rc, GW_OK);
	assert_string_equal(fx->err, "");
	assert_int_equal(fx->cfg->n_connectors, 6);
	c = gw_config_find_connector(fx->cfg, "livechat");
	assert_non_null(c);
	assert_string_equal(c->type, "livechat");
	assert_true(c->enabled);
	assert_string_equal(c->disabled_reason,
			    "secret: environment variable GATEWAY_LIVECHAT_SECRET is not set");

	/* The Telegram bot is shipped on, but off until its token is set. */
	c = gw_config_find_connector(fx->cfg, "telegram");
	assert_non_null(c);
	assert_string_equal(c->type, "telegram");
	assert_true(c->enabled);
	assert_string_equal(c->disabled_reason,
			    "token: environment variable GATEWAY_TELEGRAM_TOKEN is not set");

	/* The email example is shipped off: it names a server to fill in. */
	c = gw_config_find_connector(fx->cfg, "support-mail");
	assert_non_null(c);
	assert_false(c->enabled);
	c = gw_config_find_connector(fx->cfg, "meta");
	assert_non_null(c);
	assert_string_equal(c->type, "meta");
	/* Shipped on, but off until its secrets are set: the reason says which. */
	assert_true(c->enabled);
	assert_string_equal(c->disabled_reason,
			    "app_secret: environment variable GATEWAY_META_APP_SECRET is not set");
	c = gw_config_find_connector(fx->cfg, "sms");
	assert_non_null(c);
	assert_string_equal(c->type, "sms");
	assert_true(c->enabled);
	assert_string_equal(c->disabled_reason, "account_sid: environment variable "
			    "GATEWAY_TWILIO_ACCOUNT_SID is not set");
	c = gw_config_find_connector(fx->cfg, "api");
	assert_non_null(c);
	assert_string_equal(c->type, "api");
	assert_true(c->enabled);
	assert_null(c->disabled_reason);
	assert_string_equal(api_of(c)->token, SECRET);
	assert_string_equal(api_of(c)->listen.host, "127.0.0.1");
	assert_int_equal(api_of(c)->listen.port, 8088);
	assert_int_equal(api_of(c)->max_body_bytes, 1048576);
	assert_ptr_equal(c->section, gw_connector_section("api"));
	assert_null(gw_config_find_connector(fx->cfg, "nope"));
	assert_null(gw_config_find_connector(NULL, "api"));
	assert_non_null(strstr(fx->cfg->router.publish, "/state/sock/publish"));
	assert_int_equal(fx->cfg->router.batch_max, 1024);
	assert_int_equal(fx->cfg->router.nice, 5);
	assert_int_equal(fx->cfg->supervisor.backoff_max_ms, 30000);
	assert_int_equal(fx->cfg->log_level, 1);
}

/* The example's routing section: every list and its values. */
static void test_routing_example(void **state)
{
	struct fx *fx = *state;
	const struct gw_config_routing *r;

	assert_int_equal(gw_config_load(gw_config_default_path(), NULL, &fx->cfg, fx->err,
					sizeof(fx->err)), GW_OK);
	r = &fx->cfg->routing;
	assert_string_equal(r->scope, "customer");
	assert_int_equal(r->reopen_window_h, 168);
	assert_int_equal(r->duplicate_window_s, 600);
	assert_int_equal(r->languages.n, 7);
	assert_string_equal(r->languages.v[1], "fr");
	assert_int_equal(r->n_business_hours, 1);
	assert_string_equal(r->business_hours[0].timezone, "Europe/Paris");
	assert_int_equal(r->n_queues, 2);
	assert_string_equal(r->queues[0].name, "billing");
	assert_string_equal(r->queues[0].strategy, "least_open");
	assert_string_equal(r->queues[0].priority, "normal"); /* the default */
	assert_int_equal(r->queues[0].agents.n, 2);
	assert_int_equal(r->queues[1].keywords.n, 0);
	assert_int_equal(r->n_agents, 2);
	assert_int_equal(r->agents[0].capacity, 8);
	assert_string_equal(r->agents[1].presence, "online");
	assert_string_equal(r->agents[1].hours, "");
	assert_int_equal(r->n_sla, 3);
	assert_string_equal(r->sla[0].channel, "livechat");
	assert_int_equal(r->sla[0].first_response_s, 5 * 60); /* a bare 5: minutes */
	assert_int_equal(r->sla[2].warning_percent, 80);
}

/* Targets and waits as durations: a unit, or a bare number of minutes. */
static void test_routing_durations(void **state)
{
	struct fx *fx = *state;
	const struct gw_config_routing *r;

	assert_int_equal(load(fx, "routing:\n  sla:\n"
			      "    - first_response_min: 90s\n      resolution_min: 1h30m\n"
			      "      next_response_min: 7\n"
			      "  escalations:\n    - name: e\n      trigger: unassigned\n"
			      "      after_min: 45s\n    - name: f\n      trigger: unassigned\n",
			      NULL), GW_OK);
	r = &fx->cfg->routing;
	assert_int_equal(r->sla[0].first_response_s, 90);
	assert_int_equal(r->sla[0].resolution_s, 5400);
	assert_int_equal(r->sla[0].next_response_s, 7 * 60);
	assert_int_equal(r->escalations[0].after_s, 45);
	assert_int_equal(r->escalations[1].after_s, 30 * 60); /* the default, "30" */
}

/* Defaults without a routing section, and its errors, each with its line. */
static void test_routing_errors(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx, "state_dir: /tmp\n", NULL), GW_OK);
	assert_string_equal(fx->cfg->routing.default_queue, "general");
	assert_int_equal(fx->cfg->routing.languages.n, 7);
	assert_int_equal(fx->cfg->routing.n_queues, 0);
	expect_error(fx, "routing:\n  scope: team\n",
		     "2: routing: scope: 'team' is not one of customer, channel");
	expect_error(fx, "routing:\n  languages: en\n",
		     "2: routing.languages: expected a list ([a, b]), found a scalar");
	expect_error(fx, "routing:\n  languages: [en, [fr]]\n",
		     "2: routing.languages: list items must be values, found a sequence");
	expect_error(fx, "routing:\n  queues:\n    - name: q\n      strategy: random\n",
		     "3: routing: queues[0].strategy: 'random' is not one of round_robin, "
		     "least_open, sticky");
	expect_error(fx, "routing:\n  queues:\n    - name: q\n    - name: r\n"
			 "      agents: [zed]\n",
		     "4: routing: queues[1].agents: no agents[] with id 'zed'");
	expect_error(fx, "routing:\n  queues:\n    - strategy: sticky\n",
		     "3: routing.queues[0].name: required key missing");
	expect_error(fx, "routing:\n  queues:\n    - name: q\n      colour: red\n",
		     "4: routing.queues[0].colour: unknown key (known: name, channels, accounts, "
		     "languages, keywords, attributes, strategy, business_hours, priority, "
		     "agents)");
	expect_error(fx, "routing:\n  agents:\n    - id: a\n      hours: \"mon-fry 09:00-17:00\"\n",
		     "3: routing: agents[0]: hours: 'mon-fry': unknown day 'fry'");
	expect_error(fx, "routing:\n  business_hours:\n    - name: o\n      timezone: Mars/Base\n",
		     "3: routing: business_hours[0]: timezone: 'Mars/Base' is not a known time "
		     "zone");
	expect_error(fx, "routing:\n  sla:\n    - first_response_min: -1\n",
		     "3: routing.sla[0].first_response_min: \"-1\" is not a duration (\"90s\", "
		     "\"5m\", \"1h30m\", \"2d\"; a bare number is minutes)");
	expect_error(fx, "routing:\n  sla:\n    - resolution_min: 5 min\n",
		     "3: routing.sla[0].resolution_min: \"5 min\" is not a duration (\"90s\", "
		     "\"5m\", \"1h30m\", \"2d\"; a bare number is minutes)");
	expect_error(fx, "routing:\n  sla:\n    - next_response_min: 3651d\n",
		     "3: routing.sla[0].next_response_min: 3651d is above the maximum 315360000s");
	expect_error(fx, "routing:\n  escalations:\n    - name: e\n      trigger: unassigned\n"
		     "      after_min: 0s\n",
		     "5: routing.escalations[0].after_min: 0s is below the minimum 1s");
	expect_error(fx, "routing:\n  queues: {name: q}\n",
		     "2: routing.queues: expected a list, found a mapping");
}

/* automation: defaults, lists, and the checks between them, each error at
 * the line of the entry at fault. */
static void test_automation(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx, "state_dir: /tmp\n", NULL), GW_OK);
	assert_true(fx->cfg->automation.enabled);
	assert_int_equal(fx->cfg->automation.window_s, 86400);
	assert_int_equal(fx->cfg->automation.n_rules, 0);
	assert_int_equal(load(fx, "automation:\n  templates:\n    - name: ack\n"
			      "      text: \"Hi {{customer.name}}\"\n    - name: ack\n"
			      "      language: fr\n      text: Salut\n  rules:\n"
			      "    - kind: still_waiting\n      template: ack\n      after_s: 60\n",
			      NULL), GW_OK);
	assert_int_equal(fx->cfg->automation.n_templates, 2);
	assert_string_equal(fx->cfg->automation.templates[1].language, "fr");
	assert_int_equal(fx->cfg->automation.rules[0].after_s, 60);
	assert_string_equal(fx->cfg->automation.rules[0].whatsapp_language, "en");
	expect_error(fx, "automation:\n  rules:\n    - kind: hello\n",
		     "3: automation: rules[0].kind: 'hello' is not acknowledgement, "
		     "out_of_hours or still_waiting");
	expect_error(fx, "automation:\n  rules:\n    - kind: acknowledgement\n"
			 "    - kind: acknowledgement\n      template: nope\n",
		     "4: automation: rules[1].template: unknown template 'nope'");
	expect_error(fx, "automation:\n  templates:\n    - name: a\n      text: \"{{x\"\n",
		     "3: automation: templates[0]: placeholder '{{x...': not closed by '}}' "
		     "or a bad character");
	expect_error(fx, "automation:\n  templates:\n    - name: a\n      text: x\n"
			 "    - name: a\n      text: y\n",
		     "5: automation: templates[1]: 'a' (default) given twice");
	expect_error(fx, "automation:\n  templates:\n    - name: a\n",
		     "3: automation.templates[0].text: required key missing");
}

static void test_example_without_token(void **state)
{
	struct fx *fx = *state;
	const struct gw_connector_conf *c;

	if (!have_api())
		skip();
	unsetenv("GATEWAY_API_TOKEN");
	assert_int_equal(gw_config_load(gw_config_default_path(), NULL, &fx->cfg, fx->err,
					sizeof(fx->err)),
			 GW_OK);
	c = gw_config_find_connector(fx->cfg, "api");
	assert_non_null(c);
	assert_true(c->enabled);
	assert_string_equal(c->disabled_reason,
			    "token: environment variable GATEWAY_API_TOKEN is not set");
	assert_null(api_of(c)->token);

	/* Set but empty counts as missing too. */
	gw_config_free(fx->cfg);
	fx->cfg = NULL;
	setenv("GATEWAY_API_TOKEN", "", 1);
	assert_int_equal(gw_config_load(gw_config_default_path(), NULL, &fx->cfg, fx->err,
					sizeof(fx->err)),
			 GW_OK);
	c = gw_config_find_connector(fx->cfg, "api");
	assert_string_equal(c->disabled_reason,
			    "token: environment variable GATEWAY_API_TOKEN is empty");
}

static void test_default_path(void **state)
{
	const char *p = gw_config_default_path();

	(void)state;
	assert_non_null(p);
	assert_non_null(strstr(p, "gateway/gateway.example.yaml"));
	assert_int_equal(access(p, R_OK), 0);
}

static void test_defaults(void **state)
{
	struct fx *fx = *state;
	char want[PATH_MAX + 16];
	struct gw_config *cfg;

	assert_int_equal(load(fx, "# nothing but a comment\n", NULL), GW_OK);
	cfg = fx->cfg;
	snprintf(want, sizeof(want), "%s/state", fx->dir);
	assert_string_equal(cfg->state_dir, want);
	assert_string_equal(cfg->path, fx->path);
	assert_string_equal(cfg->dir, fx->dir);
	assert_int_equal(cfg->log_level, 1);
	/* The endpoints are sockets in the state directory's owner-only folder. */
	snprintf(want, sizeof(want), "ipc://%s/state/sock/ingest", fx->dir);
	assert_string_equal(cfg->router.ingest, want);
	snprintf(want, sizeof(want), "ipc://%s/state/sock/publish", fx->dir);
	assert_string_equal(cfg->router.publish, want);
	snprintf(want, sizeof(want), "ipc://%s/state/sock/command", fx->dir);
	assert_string_equal(cfg->router.command, want);
	assert_null(cfg->router.curve_key);
	assert_null(cfg->user);
	assert_int_equal(cfg->router.batch_max, 1024);
	/* nats: off, with its defaults */
	assert_false(cfg->nats.enabled);
	assert_int_equal(cfg->nats.servers.n, 1);
	assert_string_equal(cfg->nats.servers.v[0], "nats://127.0.0.1:4222");
	assert_string_equal(cfg->nats.stream, "OMNIGATE");
	assert_string_equal(cfg->nats.subject_prefix, "omnigate.events");
	assert_string_equal(cfg->nats.payload, "json");
	assert_int_equal(cfg->nats.replicas, 1);
	assert_int_equal(cfg->nats.duplicate_window_s, 120);
	assert_null(cfg->nats.password);
	assert_int_equal(cfg->router.heartbeat_ms, 1000);
	assert_int_equal(cfg->router.map_size_mb, 4096);
	assert_int_equal(cfg->router.publish_hwm, 1000000);
	assert_int_equal(cfg->supervisor.backoff_min_ms, 200);
	assert_int_equal(cfg->supervisor.backoff_max_ms, 30000);
	assert_int_equal(cfg->supervisor.stable_ms, 10000);
	assert_int_equal(cfg->supervisor.stop_timeout_ms, 5000);
	assert_int_equal(cfg->n_connectors, 0);

	/* Empty sections and an empty connectors list take the defaults too. */
	assert_int_equal(load(fx, "router:\nsupervisor: ~\nconnectors: []\n", NULL), GW_OK);
	assert_int_equal(fx->cfg->router.batch_max, 1024);
	assert_int_equal(fx->cfg->n_connectors, 0);

	/* Values given replace the defaults, others keep theirs. */
	assert_int_equal(load(fx,
			      "log_level: debug\n"
			      "log_format: json\n"
			      "router:\n"
			      "  publish: ipc:///tmp/pub.sock\n"
			      "  batch_max: 65536\n"
			      "supervisor:\n"
			      "  stable_ms: 100\n",
			      NULL),
			 GW_OK);
	assert_int_equal(fx->cfg->log_level, 0);
	assert_int_equal(fx->cfg->log_format, 1);
	assert_string_equal(fx->cfg->router.publish, "ipc:///tmp/pub.sock");
	assert_int_equal(fx->cfg->router.batch_max, 65536);
	assert_int_equal(fx->cfg->router.heartbeat_ms, 1000);
	assert_int_equal(fx->cfg->supervisor.stable_ms, 100);
}

static void test_connector_defaults(void **state)
{
	struct fx *fx = *state;
	const struct gw_connector_conf *c;

	if (!have_api())
		skip();
	assert_int_equal(load(fx,
			      "connectors:\n"
			      "  - name: web-1\n"
			      "    type: api\n"
			      "    token: literal-token\n"
			      "  - name: off\n"
			      "    type: api\n"
			      "    enabled: no\n"
			      "    listen: '[::1]:9000'\n"
			      "    token: ${GATEWAY_API_TOKEN}\n",
			      NULL),
			 GW_OK);
	assert_int_equal(fx->cfg->n_connectors, 2);
	c = &fx->cfg->connectors[0];
	assert_string_equal(c->name, "web-1");
	assert_true(c->enabled);
	assert_int_equal(c->line, 2);
	assert_null(c->disabled_reason);
	assert_string_equal(api_of(c)->token, "literal-token");
	assert_string_equal(api_of(c)->listen.host, "127.0.0.1");
	assert_int_equal(api_of(c)->listen.port, 8088);
	c = gw_config_find_connector(fx->cfg, "off");
	assert_non_null(c);
	assert_false(c->enabled);
	assert_int_equal(c->line, 5);
	assert_string_equal(c->disabled_reason, "disabled in config");
	assert_string_equal(api_of(c)->listen.host, "::1");
	assert_int_equal(api_of(c)->listen.port, 9000);
	assert_string_equal(api_of(c)->token, SECRET);
}

/* ---- errors --------------------------------------------------------- */

struct err_case {
	const char *yaml;
	const char *tail; /* the error after "<file>:" */
};

static const struct err_case core_errors[] = {
	/* syntax, with libyaml's line and column */
	{"router:\n  batch_max: [1, 2\n",
	 "3:1: YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence"},
	{"a: b: c\n", "1:5: YAML syntax error: mapping values are not allowed in this context"},
	{"router:\n  ingest: \"tcp://x:1\n",
	 "3:1: YAML syntax error: found unexpected end of stream while scanning a quoted scalar"},
	/* structure */
	{"- a\n- b\n", "1: expected a mapping, found a sequence"},
	{"router: 5\n", "1: router: expected a mapping, found a scalar"},
	{"supervisor:\n  - 1\n", "2: supervisor: expected a mapping, found a sequence"},
	{"connectors:\n  name: x\n",
	 "2: connectors: expected a sequence of entries (\"- name: ...\"), found a mapping"},
	{"connectors:\n  - x\n",
	 "2: connectors[0]: expected a mapping (name, type, ...), found a scalar"},
	{"log_level: [debug]\n", "1: log_level: expected a value, found a sequence"},
	{"log_level:\n", "1: log_level: no value (leave the key out to take the default)"},
	{"log_format: xml\n", "1: log_format: \"xml\" is not one of text,json"},
	{"? [a]\n: 1\n", "1: a key must be a name, found a sequence"},
	/* unknown and duplicate keys */
	{"router:\n  ingest: tcp://127.0.0.1:1\n  bath_max: 5\n",
	 "3: router.bath_max: unknown key (known: ingest, publish, command, curve_key, "
	 "curve_consumers, curve_commanders, curve_connectors, curve_client_key, "
	 "curve_server_public, plain_loopback, batch_max, "
	 "nice, heartbeat_ms, map_size_mb, publish_hwm, delivery_timeout_ms)"},
	{"stat_dir: x\n",
	 "1: stat_dir: unknown key (known: state_dir, log_level, log_format, user, router, routing, supervisor, "
	 "nats, metrics, connectors, integration, automation, csat)"},
	/* nats */
	{"nats:\n  enabled: true\n  payload: xml\n",
	 "3: nats.payload: must be json or msgpack"},
	{"nats:\n  stream: \"a.b\"\n", "2: nats.stream: must be letters, digits, _ and -"},
	{"nats:\n  subject_prefix: \"a..b\"\n",
	 "2: nats.subject_prefix: must be dot-separated tokens of letters, digits, _ and - (no "
	 "wildcards)"},
	{"nats:\n  subject_prefix: \"a.>\"\n",
	 "2: nats.subject_prefix: must be dot-separated tokens of letters, digits, _ and - (no "
	 "wildcards)"},
	{"nats:\n  replicas: 7\n", "2: nats.replicas: 7 is above the maximum 5"},
	{"nats:\n  tls_cert: /x.pem\n", "2: nats.tls_key: tls_cert and tls_key go together"},
	{"supervisor:\n  stable_ms: 100\n  stable_ms: 200\n",
	 "3: supervisor.stable_ms: duplicate key (first on line 2)"},
	{"router: {}\nrouter: {}\n", "2: router: duplicate key (first on line 1)"},
	/* aliases and documents */
	{"router:\n  batch_max: &n 10\n  heartbeat_ms: *n\n",
	 "3: aliases (*name) are not supported: write the value out"},
	{"log_level: info\n---\nlog_level: warn\n", "2: only one YAML document is allowed"},
	/* values */
	{"router:\n  batch_max: 0\n", "2: router.batch_max: 0 is below the minimum 1"},
	{"router:\n  batch_max: 65537\n", "2: router.batch_max: 65537 is above the maximum 65536"},
	{"router:\n  nice: 20\n", "2: router.nice: 20 is above the maximum 19"},
	{"router:\n  batch_max: 12k\n", "2: router.batch_max: \"12k\" is not an integer"},
	{"router:\n  batch_max: \" 12\"\n", "2: router.batch_max: \" 12\" is not an integer"},
	{"router:\n  batch_max: 0x10\n", "2: router.batch_max: \"0x10\" is not an integer"},
	{"router:\n  heartbeat_ms: 99999999999999999999\n",
	 "2: router.heartbeat_ms: 99999999999999999999 is out of range 50..60000"},
	{"supervisor:\n  stop_timeout_ms: 99\n",
	 "2: supervisor.stop_timeout_ms: 99 is below the minimum 100"},
	{"log_level: verbose\n",
	 "1: log_level: \"verbose\" is not one of debug, info, warn, error"},
	{"router:\n  ingest: http://127.0.0.1:1\n",
	 "2: router.ingest: \"http://127.0.0.1:1\" is not a ZeroMQ endpoint (tcp://host:port, "
	 "ipc://path or inproc://name)"},
	{"router:\n  ingest: tcp://127.0.0.1\n",
	 "2: router.ingest: \"127.0.0.1\" is not host:port or [v6]:port"},
	{"router:\n  ingest: tcp://127.0.0.1:0\n",
	 "2: router.ingest: port 0 out of range 1..65535"},
	{"router:\n  ingest: ipc://\n",
	 "2: router.ingest: \"ipc://\" is not a ZeroMQ endpoint (tcp://host:port, ipc://path or "
	 "inproc://name)"},
	{"state_dir: \"\"\n", "1: state_dir: empty path"},
	/* environment */
	{"log_level: x${LEVEL}\n",
	 "1: log_level: \"${\" is only allowed as the whole value \"${NAME}\", NAME made of "
	 "A-Z, a-z, 0-9 and _"},
	{"log_level: ${GW_TEST_UNSET_VARIABLE}\n",
	 "1: log_level: environment variable GW_TEST_UNSET_VARIABLE is not set"},
	{"log_level: ${1X}\n",
	 "1: log_level: \"${\" is only allowed as the whole value \"${NAME}\", NAME made of "
	 "A-Z, a-z, 0-9 and _"},
	/* cross-checks */
	{"router:\n  ingest: tcp://127.0.0.1:6000\n  publish: tcp://127.0.0.1:6000\n"
	 "  plain_loopback: true\n",
	 "3: router.publish: tcp://127.0.0.1:6000 is also used by router.ingest (line 2)"},
	{"router:\n  command: tcp://127.0.0.1:5570\n  publish: tcp://127.0.0.1:5570\n"
	 "  plain_loopback: true\n",
	 "2: router.command: tcp://127.0.0.1:5570 is also used by router.publish (line 3)"},
	{"router:\n  command: ipc:///tmp/x\n  ingest: ipc:///tmp/x\n",
	 "2: router.command: ipc:///tmp/x is also used by router.ingest (line 3)"},
	{"router:\n  ingest: tcp://127.0.0.1:5570\n  publish: tcp://*:5570\n"
	 "  plain_loopback: true\n",
	 "3: router.publish: tcp://*:5570 can be reached from other hosts: set "
	 "router.curve_key (gatewayctl keys generate) so that only allowed keys connect, or "
	 "bind 127.0.0.1"},
	{"router:\n  publish: tcp://127.0.0.1:5570\n",
	 "2: router.publish: tcp://127.0.0.1:5570 has no CURVE: any local user could connect to "
	 "it; use ipc:// (the default), set router.curve_key, or set router.plain_loopback: "
	 "true to accept that"},
	{"router:\n  command: tcp://[::1]:5571\n  plain_loopback: false\n",
	 "2: router.command: tcp://[::1]:5571 has no CURVE: any local user could connect to "
	 "it; use ipc:// (the default), set router.curve_key, or set router.plain_loopback: "
	 "true to accept that"},
	{"router:\n  command: tcp://0.0.0.0:5571\n",
	 "2: router.command: tcp://0.0.0.0:5571 can be reached from other hosts: set "
	 "router.curve_key (gatewayctl keys generate) so that only allowed keys connect, or "
	 "bind 127.0.0.1"},
	{"supervisor:\n  backoff_min_ms: 5000\n  backoff_max_ms: 1000\n",
	 "2: supervisor.backoff_min_ms: 5000 is above backoff_max_ms 1000"},
	/* metrics: its listener clashes only when enabled */
	{"router:\n  ingest: tcp://127.0.0.1:9464\n  plain_loopback: true\nmetrics:\n"
	 "  enabled: true\n",
	 "2: router.ingest: 127.0.0.1:9464 is also used by metrics.listen (default, line 5)"},
	{"connectors:\n  - name: metrics\n    type: api\n    token: abc\n",
	 "2: connectors[0].name: \"metrics\" is the name of a gateway process"},
	{"metrics:\n  listen: 127.0.0.1:70000\n",
	 "2: metrics.listen: port 70000 out of range 1..65535"},
	/* connectors without a type to fill */
	{"connectors:\n  - name: a\n",
	 "2: connectors[0].type: required key missing"},
	{"connectors:\n  - name: a\n    type: [api]\n",
	 "3: connectors[0].type: expected a connector type name"},
};

static void test_core_errors(void **state)
{
	struct fx *fx = *state;

	unsetenv("GW_TEST_UNSET_VARIABLE");
	for (size_t i = 0; i < sizeof(core_errors) / sizeof(core_errors[0]); i++)
		expect_error(fx, core_errors[i].yaml, core_errors[i].tail);
}

static void test_unknown_type(void **state)
{
	struct fx *fx = *state;
	char want[1024];
	int rc;

	rc = load(fx, "connectors:\n  - name: a\n    type: telex\n", NULL);
	assert_int_equal(rc, GW_ECONFIG);
	snprintf(want, sizeof(want), "%s:3: connectors[0].type: unknown connector type \"telex\" "
		 "(known: ", fx->path);
	assert_memory_equal(fx->err, want, strlen(want));
	if (have_api())
		assert_non_null(strstr(fx->err + strlen(want), "api"));
	assert_int_equal(fx->err[strlen(fx->err) - 1], ')');
}

static const struct err_case api_errors[] = {
	{"connectors:\n  - type: api\n    token: t\n", "2: connectors[0].name: required key missing"},
	{"connectors:\n  - name: Web\n    type: api\n    token: t\n",
	 "2: connectors[0].name: \"Web\" must be 1 to 32 of a-z, 0-9, _ and -"},
	{"connectors:\n  - name: \"\"\n    type: api\n    token: t\n",
	 "2: connectors[0].name: \"\" must be 1 to 32 of a-z, 0-9, _ and -"},
	{"connectors:\n  - name: abcdefghijklmnopqrstuvwxyz0123456\n    type: api\n    token: t\n",
	 "2: connectors[0].name: longer than 32 characters"},
	{"connectors:\n"
	 "  - name: a\n    type: api\n    token: t\n"
	 "  - name: b\n    type: api\n    token: t\n    listen: 127.0.0.1:8089\n"
	 "  - name: a\n    type: api\n    token: t\n    listen: 127.0.0.1:8090\n",
	 "9: connectors[2].name: \"a\" is already the name of connectors[0] (line 2)"},
	{"connectors:\n  - name: a\n    type: api\n    token: t\n    enabled: maybe\n",
	 "5: connectors[0].enabled: \"maybe\" is not a boolean (true/false, yes/no, on/off)"},
	{"connectors:\n  - name: a\n    type: api\n    token: t\n    listen: 127.0.0.1:70000\n",
	 "5: connectors[0].listen: port 70000 out of range 1..65535"},
	{"connectors:\n  - name: a\n    type: api\n    token: t\n    listen: 127.0.0.1\n",
	 "5: connectors[0].listen: \"127.0.0.1\" is not host:port or [v6]:port"},
	{"connectors:\n  - name: a\n    type: api\n    token: t\n    listen: ::1:8080\n",
	 "5: connectors[0].listen: an IPv6 address is written [address]:port"},
	{"connectors:\n  - name: a\n    type: api\n    token: t\n    listen: example.com:80\n",
	 "5: connectors[0].listen: host \"example.com\" must be a numeric IPv4 address or "
	 "localhost"},
	{"connectors:\n  - name: a\n    type: api\n    token: t\n    listen: \"[::g]:80\"\n",
	 "5: connectors[0].listen: host \"::g\" must be a numeric IPv6 address or localhost"},
	{"connectors:\n  - name: a\n    type: api\n    token: t\n    listen: :80\n",
	 "5: connectors[0].listen: host must be 1 to 63 characters"},
	{"connectors:\n  - name: a\n    type: api\n    token: t\n    listen: 1.2.3.4:http\n",
	 "5: connectors[0].listen: port \"http\" is not a number"},
	{"connectors:\n  - name: a\n    type: api\n", "2: connectors[0].token: required key missing"},
	{"connectors:\n  - name: a\n    type: api\n    token: t\n    token: u\n",
	 "5: connectors[0].token: duplicate key (first on line 4)"},
	/* listen conflicts, naming both lines */
	{"connectors:\n"
	 "  - name: a\n    type: api\n    token: t\n    listen: 127.0.0.1:9000\n"
	 "  - name: b\n    type: api\n    token: t\n    listen: 127.0.0.1:9000\n",
	 "9: connectors[1].listen: 127.0.0.1:9000 is also used by connectors[0].listen (line 5)"},
	{"connectors:\n"
	 "  - name: a\n    type: api\n    token: t\n    listen: 0.0.0.0:9000\n"
	 "  - name: b\n    type: api\n    token: t\n    enabled: false\n"
	 "    listen: localhost:9000\n",
	 "10: connectors[1].listen: localhost:9000 is also used by connectors[0].listen (line 5)"},
	{"connectors:\n"
	 "  - name: a\n    type: api\n    token: t\n"
	 "  - name: b\n    type: api\n    token: t\n",
	 "5: connectors[1].listen: 127.0.0.1:8088 is also used by connectors[0].listen "
	 "(default, line 2)"},
	{"router:\n  command: tcp://127.0.0.1:5571\n  plain_loopback: true\n"
	 "connectors:\n  - name: a\n    type: api\n    token: t\n    listen: '[::]:5571'\n",
	 "8: connectors[0].listen: [::]:5571 is also used by router.command (line 2)"},
};

static void test_api_errors(void **state)
{
	struct fx *fx = *state;

	if (!have_api())
		skip();
	for (size_t i = 0; i < sizeof(api_errors) / sizeof(api_errors[0]); i++)
		expect_error(fx, api_errors[i].yaml, api_errors[i].tail);
}

static void test_connector_unknown_key(void **state)
{
	struct fx *fx = *state;
	char want[1024];

	if (!have_api())
		skip();
	assert_int_equal(load(fx,
			      "connectors:\n  - name: a\n    type: api\n    token: t\n"
			      "    lisen: 127.0.0.1:1\n",
			      NULL),
			 GW_ECONFIG);
	snprintf(want, sizeof(want),
		 "%s:5: connectors[0].lisen: unknown key (known: name, type, enabled, ", fx->path);
	assert_memory_equal(fx->err, want, strlen(want));
	assert_non_null(strstr(fx->err, "listen"));
	assert_non_null(strstr(fx->err, "token"));
}

/* ---- secrets -------------------------------------------------------- */

static void test_secret_never_in_errors(void **state)
{
	struct fx *fx = *state;
	static const char *const bad[] = {
		"connectors:\n  - name: a\n    type: api\n    token: x${GATEWAY_API_TOKEN}\n",
		"connectors:\n  - name: a\n    type: api\n    token: [" SECRET "]\n",
		"connectors:\n  - name: a\n    type: api\n    token: {k: " SECRET "}\n",
		"connectors:\n  - name: a\n    type: api\n    token: \"" SECRET "\n",
		"connectors:\n  - name: a\n    type: api\n    token: " SECRET "${X}\n",
		"connectors:\n  - name: a\n    type: api\n    token: " SECRET "\n    token: " SECRET
		"\n",
		"connectors:\n  - name: a\n    type: api\n    token: " SECRET "\n  - name: a\n"
		"    type: api\n    token: " SECRET "\n    listen: 127.0.0.1:1\n",
	};

	if (!have_api())
		skip();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = load(fx, bad[i], NULL);

		assert_int_equal(rc, GW_ECONFIG);
		assert_true(strlen(fx->err) > strlen(fx->path));
		assert_null(strstr(fx->err, SECRET));
		assert_null(strstr(fx->err, "marker"));
	}
}

static void test_secret_env(void **state)
{
	struct fx *fx = *state;
	const char *yaml = "connectors:\n  - name: a\n    type: api\n"
			   "    token: ${GW_TEST_TOKEN}\n";

	if (!have_api())
		skip();
	setenv("GW_TEST_TOKEN", "from-env", 1);
	assert_int_equal(load(fx, yaml, NULL), GW_OK);
	assert_string_equal(api_of(&fx->cfg->connectors[0])->token, "from-env");
	assert_null(fx->cfg->connectors[0].disabled_reason);

	unsetenv("GW_TEST_TOKEN");
	assert_int_equal(load(fx, yaml, NULL), GW_OK);
	assert_string_equal(fx->cfg->connectors[0].disabled_reason,
			    "token: environment variable GW_TEST_TOKEN is not set");
	assert_null(api_of(&fx->cfg->connectors[0])->token);

	/* A literal empty token disables too; enabled: false says so first. */
	assert_int_equal(load(fx, "connectors:\n  - {name: a, type: api, token: ''}\n", NULL),
			 GW_OK);
	assert_string_equal(fx->cfg->connectors[0].disabled_reason, "token: is empty");
	assert_int_equal(load(fx,
			      "connectors:\n  - {name: a, type: api, enabled: off, "
			      "token: '${GW_TEST_TOKEN}'}\n",
			      NULL),
			 GW_OK);
	assert_string_equal(fx->cfg->connectors[0].disabled_reason, "disabled in config");
}

static void test_env_for_plain_values(void **state)
{
	struct fx *fx = *state;

	setenv("GW_TEST_LEVEL", "warn", 1);
	assert_int_equal(load(fx, "log_level: ${GW_TEST_LEVEL}\n", NULL), GW_OK);
	assert_int_equal(fx->cfg->log_level, 2);
	setenv("GW_TEST_LEVEL", "loud", 1);
	expect_error(fx, "log_level: ${GW_TEST_LEVEL}\n",
		     "1: log_level: \"loud\" is not one of debug, info, warn, error");
	unsetenv("GW_TEST_LEVEL");
}

/* ---- nested sections (the email connector's smtp block) ------------- */

#define MAILBOX "connectors:\n  - name: mail\n    type: email\n" \
		"    url: imaps://imap.example.com/INBOX\n    username: support@example.com\n" \
		"    password: imap-pw\n"

static const struct email_settings *email_of(const struct fx *fx)
{
	return fx->cfg->connectors[0].settings;
}

static void test_nested_section(void **state)
{
	struct fx *fx = *state;
	const struct email_smtp_settings *m;

	if (!gw_connector_section("email"))
		skip();
	/* Absent: all zero, no defaults: replies are off. */
	assert_int_equal(load(fx, MAILBOX, NULL), GW_OK);
	m = &email_of(fx)->smtp;
	assert_null(m->url);
	assert_null(m->tls);
	assert_int_equal(m->send.concurrency, 0);
	assert_null(fx->cfg->connectors[0].disabled_reason);

	/* Given: its values, its defaults, a secret from the environment. */
	setenv("GW_TEST_SMTP_PW", "smtp-" SECRET, 1);
	assert_int_equal(load(fx, MAILBOX "    smtp:\n      url: smtp://smtp.example.com\n"
				  "      password: ${GW_TEST_SMTP_PW}\n      send_concurrency: 8\n",
			      NULL),
			 GW_OK);
	m = &email_of(fx)->smtp;
	assert_string_equal(m->url, "smtp://smtp.example.com");
	assert_string_equal(m->tls, "auto");
	assert_string_equal(m->password, "smtp-" SECRET);
	assert_null(m->bearer_token);
	assert_int_equal(m->max_message_bytes, 26214400);
	assert_int_equal(m->send.concurrency, 8);
	assert_int_equal(m->send.rate_per_s, 20);
	assert_null(fx->cfg->connectors[0].disabled_reason);

	/* An optional secret whose variable is unset: no password, no
	 * bearer token, so the type's check turns the connector off. */
	unsetenv("GW_TEST_SMTP_PW");
	assert_int_equal(load(fx, MAILBOX "    smtp:\n      url: smtp://smtp.example.com\n"
				  "      password: ${GW_TEST_SMTP_PW}\n",
			      NULL),
			 GW_OK);
	assert_string_equal(fx->cfg->connectors[0].disabled_reason,
			    "smtp: neither password nor bearer_token has a value (is the "
			    "environment variable it names set?)");
	assert_int_equal(load(fx, MAILBOX "    smtp: {url: 'smtp://mx.example.com:25', "
				  "tls: none, password: x}\n",
			      NULL),
			 GW_OK);
	assert_string_equal(fx->cfg->connectors[0].disabled_reason,
			    "smtp.tls: none is allowed for loopback hosts only, not mx.example.com");
	assert_int_equal(load(fx, MAILBOX "    smtp: {url: 'smtps://mx.example.com', "
				  "tls: starttls, password: x}\n",
			      NULL),
			 GW_OK);
	assert_string_equal(fx->cfg->connectors[0].disabled_reason,
			    "smtp.tls: starttls does not fit a smtps:// url (implicit goes with "
			    "smtps://, starttls and none with smtp://)");
	assert_int_equal(load(fx, MAILBOX "    smtp: {url: 'smtp://u:p@mx.example.com', "
				  "password: x}\n",
			      NULL),
			 GW_OK);
	assert_non_null(strstr(fx->cfg->connectors[0].disabled_reason, "smtp.url: not "));
	assert_null(strstr(fx->cfg->connectors[0].disabled_reason, "u:p"));
}

static const struct err_case nested_errors[] = {
	{MAILBOX "    smtp:\n      url: smtp://smtp.example.com\n      urll: x\n",
	 "9: connectors[0].smtp.urll: unknown key (known: url, tls, username, password, "
	 "bearer_token, ca_file, from, from_name, sent_folder, max_message_bytes, "
	 "send_concurrency, send_rate_per_s, send_rate_per_min, send_timeout_ms, "
	 "send_retry_for_s)"},
	{MAILBOX "    smtp: smtp://smtp.example.com\n",
	 "7: connectors[0].smtp: expected a mapping, found a scalar"},
	{MAILBOX "    smtp:\n      password: x\n",
	 "8: connectors[0].smtp.url: required key missing"},
	{MAILBOX "    smtp:\n", "7: connectors[0].smtp.url: required key missing"},
	{MAILBOX "    smtp:\n      url: smtp://a\n      send_concurrency: 65\n",
	 "9: connectors[0].smtp.send_concurrency: 65 is above the maximum 64"},
	{MAILBOX "    smtp:\n      url: smtp://a\n      url: smtp://b\n",
	 "9: connectors[0].smtp.url: duplicate key (first on line 8)"},
	{MAILBOX "    smtp:\n      url: smtp://a\n      password: x${Y}\n",
	 "9: connectors[0].smtp.password: \"${\" is only allowed as the whole value "
	 "\"${NAME}\", NAME made of A-Z, a-z, 0-9 and _"},
};

static void test_nested_errors(void **state)
{
	struct fx *fx = *state;

	if (!gw_connector_section("email"))
		skip();
	for (size_t i = 0; i < sizeof(nested_errors) / sizeof(nested_errors[0]); i++)
		expect_error(fx, nested_errors[i].yaml, nested_errors[i].tail);
}

/* ---- state_dir ------------------------------------------------------ */

static void test_state_dir(void **state)
{
	struct fx *fx = *state;
	char want[PATH_MAX * 2], cwd[PATH_MAX];

	assert_int_equal(load(fx, "state_dir: data/gw\n", NULL), GW_OK);
	snprintf(want, sizeof(want), "%s/data/gw", fx->dir);
	assert_string_equal(fx->cfg->state_dir, want);

	assert_int_equal(load(fx, "state_dir: .\n", NULL), GW_OK);
	assert_string_equal(fx->cfg->state_dir, fx->dir);

	assert_int_equal(load(fx, "state_dir: /var/lib/gw\n", NULL), GW_OK);
	assert_string_equal(fx->cfg->state_dir, "/var/lib/gw");

	/* The override is relative to the current directory, not the file's. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(load(fx, "state_dir: data\n", "./other"), GW_OK);
	snprintf(want, sizeof(want), "%s/other", cwd);
	assert_string_equal(fx->cfg->state_dir, want);
	assert_int_equal(load(fx, "state_dir: data\n", "/srv/gw"), GW_OK);
	assert_string_equal(fx->cfg->state_dir, "/srv/gw");
}

static void test_missing_file(void **state)
{
	struct fx *fx = *state;
	char path[300];
	int rc;

	snprintf(path, sizeof(path), "%s/absent.yaml", fx->dir);
	rc = gw_config_load(path, NULL, &fx->cfg, fx->err, sizeof(fx->err));
	assert_int_equal(rc, GW_ENOTFOUND);
	assert_null(fx->cfg);
	assert_memory_equal(fx->err, path, strlen(path));
	/* No error buffer at all is fine too. */
	assert_int_equal(gw_config_load(path, NULL, &fx->cfg, NULL, 0), GW_ENOTFOUND);
	gw_config_free(NULL);
}

/* ---- scalar syntaxes ------------------------------------------------ */

static void test_values(void **state)
{
	struct conf_listen a, b;
	char buf[128], name[16];
	long long v = 0;
	bool ref = false;
	enum gw_log_level level = GW_LOG_DEBUG;
	char *p;

	(void)state;
	assert_int_equal(conf_parse_ll("-42", &v), GW_OK);
	assert_int_equal(v, -42);
	assert_int_equal(conf_parse_ll("", &v), GW_EINVAL);
	assert_int_equal(conf_parse_ll("1 ", &v), GW_EINVAL);
	assert_int_equal(conf_parse_ll("9223372036854775808", &v), GW_ETOOBIG);

	assert_int_equal(conf_env_ref("${A_1}", name, sizeof(name), &ref), GW_OK);
	assert_true(ref);
	assert_string_equal(name, "A_1");
	assert_int_equal(conf_env_ref("plain", name, sizeof(name), &ref), GW_OK);
	assert_false(ref);
	assert_int_equal(conf_env_ref("${}", name, sizeof(name), &ref), GW_ECONFIG);
	assert_int_equal(conf_env_ref("${A}x", name, sizeof(name), &ref), GW_ECONFIG);
	assert_int_equal(conf_env_ref("${A-B}", name, sizeof(name), &ref), GW_ECONFIG);
	assert_int_equal(conf_env_ref("${ABCDEFGHIJKLMNOPQ}", name, sizeof(name), &ref),
			 GW_ECONFIG);

	assert_int_equal(gw_log_level_parse("warn", &level), GW_OK);
	assert_int_equal(level, GW_LOG_WARN);
	assert_int_equal(gw_log_level_parse("loud", &level), GW_EINVAL);
	assert_int_equal(gw_log_level_parse(NULL, &level), GW_EINVAL);

	p = conf_join_path("/etc/gw", "././state");
	assert_string_equal(p, "/etc/gw/state");
	free(p);
	p = conf_join_path("/", "state");
	assert_string_equal(p, "/state");
	free(p);
	p = conf_join_path("/etc/gw", "../state");
	assert_string_equal(p, "/etc/gw/../state");
	free(p);

	assert_int_equal(conf_listen_parse("[::1]:80", &a, buf, sizeof(buf)), 0);
	conf_listen_format(buf, sizeof(buf), &a);
	assert_string_equal(buf, "[::1]:80");
	assert_int_equal(conf_listen_parse("localhost:80", &b, buf, sizeof(buf)), 0);
	assert_false(conf_listen_overlap(&a, &b));
	assert_int_equal(conf_listen_parse("127.0.0.1:80", &a, buf, sizeof(buf)), 0);
	assert_true(conf_listen_overlap(&a, &b));
	assert_int_equal(conf_listen_parse("127.0.0.2:80", &b, buf, sizeof(buf)), 0);
	assert_false(conf_listen_overlap(&a, &b));
	assert_int_equal(conf_listen_parse("[::]:80", &b, buf, sizeof(buf)), 0);
	assert_true(conf_listen_overlap(&a, &b));
	assert_int_equal(conf_listen_parse("[::]:81", &b, buf, sizeof(buf)), 0);
	assert_false(conf_listen_overlap(&a, &b));

	assert_int_equal(conf_endpoint_check("tcp://[::1]:5570", buf, sizeof(buf)), 0);
	assert_int_equal(conf_endpoint_check("inproc://x", buf, sizeof(buf)), 0);
	assert_int_equal(conf_endpoint_check("tcp://:5570", buf, sizeof(buf)), GW_ECONFIG);

	/* Quoted pieces of values are short and on one line. */
	conf_echo(buf, sizeof(buf), "a\nb");
	assert_string_equal(buf, "a?b");
	conf_echo(buf, sizeof(buf), "0123456789012345678901234567890123456789TAIL");
	assert_string_equal(buf, "0123456789012345678901234567890123456789...");
}

/* ---- the two registries -------------------------------------------- */

/* connectors/registry.c (ops) and config_registry.c (tables) list the same
 * types, in the same order, and a type's conf is the light registry's. */
static void test_registries(void **state)
{
	size_t n = 0;

	(void)state;
	for (; connector_types[n]; n++) {
		const struct connector_type *t = connector_types[n];

		assert_non_null(t->conf);
		assert_non_null(t->conf->section);
		assert_string_equal(t->name, t->conf->name);
		assert_ptr_equal(gw_connector_conf_types[n], t->conf);
		assert_ptr_equal(gw_connector_conf_find(t->name), t->conf);
		assert_ptr_equal(gw_connector_section(t->name), t->conf->section);
		assert_ptr_equal(connector_type_find(t->name), t);
	}
	assert_null(gw_connector_conf_types[n]);
	assert_true(n >= 4);
	assert_null(gw_connector_conf_find("nope"));
	assert_null(gw_connector_conf_find(NULL));
}

/* The email type's check splits its URL without libcurl: what it takes. */
static int email_url_ok(const char *url, const char *tls)
{
	struct email_settings s = {.url = (char *)url, .password = "p", .tls = (char *)tls,
				   .after = "seen"};
	char why[256] = "";

	return email_conf_type.check(&s, why, sizeof(why)) == GW_OK;
}

static void test_email_urls(void **state)
{
	enum imap_tls mode;
	struct email_settings s = {.url = "imaps://mail.example.com/INBOX", .tls = "auto"};

	(void)state;
	assert_true(email_url_ok("imaps://mail.example.com/INBOX", "auto"));
	assert_true(email_url_ok("IMAPS://mail.example.com:993/Support%20Team", "implicit"));
	assert_true(email_url_ok("imap://127.0.0.1:143/INBOX", "none"));
	assert_true(email_url_ok("imap://[::1]:1143/INBOX", "none"));
	assert_true(email_url_ok("imap://localhost/INBOX", "starttls"));
	assert_false(email_url_ok("imap://mail.example.com/INBOX", "none"));
	assert_false(email_url_ok("https://mail.example.com/INBOX", "auto"));
	assert_false(email_url_ok("imaps://u:secret@mail.example.com/INBOX", "auto"));
	assert_false(email_url_ok("imaps://u@mail.example.com/INBOX", "auto"));
	assert_false(email_url_ok("imaps://mail.example.com/", "auto"));
	assert_false(email_url_ok("imaps://mail.example.com", "auto"));
	assert_false(email_url_ok("imaps://mail.example.com/INBOX;UID=1", "auto"));
	assert_false(email_url_ok("imaps://mail.example.com/INBOX?NEW", "auto"));
	assert_false(email_url_ok("imaps://mail.example.com:0/INBOX", "auto"));
	assert_false(email_url_ok("imaps://mail.example.com:99999/INBOX", "auto"));
	assert_false(email_url_ok("imaps://mail.example.com:x/INBOX", "auto"));
	assert_false(email_url_ok("imaps://[::1/INBOX", "auto"));
	assert_false(email_url_ok("imaps:///INBOX", "auto"));
	assert_false(email_url_ok("imaps://mail.example.com/IN BOX", "auto"));
	assert_false(email_url_ok("imaps://mail.example.com/INBOX", "starttls"));
	assert_int_equal(email_settings_tls(&s, &mode), GW_OK);
	assert_int_equal(mode, IMAP_TLS_IMPLICIT);
	s.url = "imap://mail.example.com/INBOX";
	assert_int_equal(email_settings_tls(&s, &mode), GW_OK);
	assert_int_equal(mode, IMAP_TLS_STARTTLS);
	s.tls = "implicit";
	assert_int_equal(email_settings_tls(&s, &mode), GW_ECONFIG);
}

/* ---- docs/config.md ------------------------------------------------- */

static void test_doc_up_to_date(void **state)
{
	const char *path = GW_SOURCE_DIR "/docs/config.md";
	char *gen = NULL, *disk = NULL;
	size_t gen_len = 0, disk_len = 0;
	FILE *f = open_memstream(&gen, &gen_len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(gw_config_doc(f), GW_OK);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(gen, "| `batch_max` | integer | `1024` | 1..65536 |"));
	if (getenv("GW_REGEN_DOCS"))
		assert_int_equal(gw_write_file_atomic(path, gen, gen_len), GW_OK);
	if (gw_read_file(path, 1u << 20, &disk, &disk_len) != GW_OK || disk_len != gen_len ||
	    memcmp(disk, gen, gen_len) != 0)
		fail_msg("%s is out of date with the config tables; regenerate it with\n"
			 "  GW_REGEN_DOCS=1 <build>/bin/test_config\n"
			 "or gatewayd --config-doc > docs/config.md", path);
	free(disk);
	free(gen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_example_loads, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_example_without_token, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_routing_example, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_automation, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_routing_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_routing_durations, fx_setup, fx_teardown),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test_setup_teardown(test_defaults, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_connector_defaults, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_core_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_type, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_api_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_connector_unknown_key, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_secret_never_in_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_secret_env, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_env_for_plain_values, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_nested_section, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_nested_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_state_dir, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, fx_setup, fx_teardown),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_doc_up_to_date),
		cmocka_unit_test(test_registries),
		cmocka_unit_test(test_email_urls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * config_tables.c - the tables of the top level, of connectors[] entries,
 * of `router` and of `supervisor`, and docs/config.md generated from them
 * and from every connector type's table. The tables drive parsing,
 * defaults, bounds and the docs alike: a new key is one row here and one
 * struct member in config.h, nothing else.
 */
#include "core/config_tables.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))

static const struct conf_entry top_rows[] = {
	{.kind = CONF_PATH, .key = "state_dir", .def = "./state", .max = 1024,
	 .offset = offsetof(struct gw_config, state_dir),
	 .desc = "Folder of the router's LMDB store, each connector's spool and the status "
		 "files. Relative to the config file's folder; a state directory given on the "
		 "command line replaces it (relative to the current directory)."},
	{.kind = CONF_LOGLEVEL, .key = "log_level", .def = "info",
	 .offset = offsetof(struct gw_config, log_level),
	 .desc = "Lowest level logged by every process."},
	{.kind = CONF_CHOICE, .key = "log_format", .def = "text", .choices = "text,json",
	 .offset = offsetof(struct gw_config, log_format),
	 .desc = "How every process writes its log lines on stderr: `text`, one readable line "
		 "per record, or `json`, one JSON object per line (time, level, process, pid, "
		 "module, connector, message, and the seq, ticket, customer and delivery the "
		 "message names) for journald and log pipelines (docs/operations.md)."},
	{.kind = CONF_STRING, .key = "user", .max = 64, .offset = offsetof(struct gw_config, user),
	 .desc = "Started as root, `gatewayd` makes `state_dir` this user's and runs as it "
		 "(with its groups), and so do the router and the connectors. Not set: every "
		 "process keeps the user it was started as (a warning when that is root). "
		 "Started as another user, it must be that user."},
};

const struct conf_section gw_conf_top = {
	.name = "top level",
	.entries = top_rows,
	.n_entries = N_ROWS(top_rows),
	.struct_size = sizeof(struct gw_config),
	.desc = "Keys at the top of the file. Besides these, `router`, `routing`, "
		"`supervisor`, `nats`, `metrics`, `automation` and `csat` are sections (mappings) and `connectors` is a sequence of connector entries; "
		"a missing section takes all its defaults, a missing `connectors` means none.",
};

static const struct conf_entry connector_rows[] = {
	{.kind = CONF_STRING, .key = "name", .max = GW_CONF_NAME_MAX, .flags = CONF_F_REQUIRED,
	 .offset = offsetof(struct gw_connector_conf, name),
	 .desc = "Unique instance name: lowercase letters, digits, `_` and `-`. Names the "
		 "process, its spool and its log lines; the default `account` of its events."},
	{.kind = CONF_STRING, .key = "type", .max = GW_CONF_NAME_MAX, .flags = CONF_F_REQUIRED,
	 .offset = offsetof(struct gw_connector_conf, type),
	 .desc = "Connector type; its own keys are listed in its section below."},
	{.kind = CONF_BOOL, .key = "enabled", .def = "true",
	 .offset = offsetof(struct gw_connector_conf, enabled),
	 .desc = "`false` keeps the entry in the file without running it."},
};

const struct conf_section gw_conf_connector = {
	.name = "connectors[]",
	.entries = connector_rows,
	.n_entries = N_ROWS(connector_rows),
	.struct_size = sizeof(struct gw_connector_conf),
	.desc = "Every entry of the `connectors` sequence has these keys, followed by the "
		"keys of its type. Each entry runs as its own process. Two entries may not "
		"listen on the same address and port.",
};

static const struct conf_entry router_rows[] = {
	{.kind = CONF_ENDPOINT, .key = "ingest", .def = "ipc://sock/ingest",
	 .max = GW_CONF_ENDPOINT_MAX, .offset = offsetof(struct gw_config_router, ingest),
	 .desc = "Endpoint the router binds for connectors to hand over their messages. An "
		 "`ipc://` path that is not absolute is inside `state_dir` (its `sock/` folder "
		 "is owner-only: only the gateway's user can connect). A `tcp://` endpoint on "
		 "an address other hosts reach needs `curve_key`, one on loopback `curve_key` or "
		 "`plain_loopback` (docs/security.md)."},
	{.kind = CONF_ENDPOINT, .key = "publish", .def = "ipc://sock/publish",
	 .max = GW_CONF_ENDPOINT_MAX, .offset = offsetof(struct gw_config_router, publish),
	 .desc = "Downstream PUB endpoint: every outcome with a gap-free `seq`, and "
		 "heartbeats. `ipc://` and `tcp://` as for `ingest`."},
	{.kind = CONF_ENDPOINT, .key = "command", .def = "ipc://sock/command",
	 .max = GW_CONF_ENDPOINT_MAX, .offset = offsetof(struct gw_config_router, command),
	 .desc = "Endpoint for replay, queries, status and commands (`gatewayctl`). "
		 "`ipc://` and `tcp://` as for `ingest`."},
	{.kind = CONF_PATH, .key = "curve_key", .max = 1024,
	 .offset = offsetof(struct gw_config_router, curve_key),
	 .desc = "The router's CURVE key file (`gatewayctl keys generate router`): with it "
		 "every `tcp://` endpoint is encrypted and only clients whose public key is "
		 "listed below may connect (the router's own key may do everything: the "
		 "gateway's connectors and `gatewayctl` on this host use it). Required for a "
		 "`tcp://` endpoint on an address other than loopback."},
	{.kind = CONF_PATH, .key = "curve_consumers", .max = 1024,
	 .offset = offsetof(struct gw_config_router, curve_consumers),
	 .desc = "File of client public keys (one per line, as in a `.pub` file or bare "
		 "Z85, `#` comments) that may subscribe to `publish` and read on `command` "
		 "(replay, ticket, customer, status) but not change anything."},
	{.kind = CONF_PATH, .key = "curve_commanders", .max = 1024,
	 .offset = offsetof(struct gw_config_router, curve_commanders),
	 .desc = "File of client public keys that may also send commands (replies, ticket "
		 "and customer changes)."},
	{.kind = CONF_PATH, .key = "curve_connectors", .max = 1024,
	 .offset = offsetof(struct gw_config_router, curve_connectors),
	 .desc = "File of client public keys that may hand messages over on `ingest` "
		 "(connectors running on other hosts)."},
	{.kind = CONF_PATH, .key = "curve_client_key", .max = 1024,
	 .offset = offsetof(struct gw_config_router, curve_client_key),
	 .desc = "A client key file (`gatewayctl keys generate NAME`, both halves) that the "
		 "gateway's programs reading this file (connectors, `gatewayctl`, "
		 "`gateway-nats`, `gateway-integration`) prove on `tcp://` endpoints instead of "
		 "the router's own key: list its public key where its rights belong "
		 "(`curve_connectors` for connectors, `curve_commanders` or `curve_consumers` "
		 "for `gatewayctl`). On a host without `curve_key` (a `gatewayctl` elsewhere) it "
		 "needs `curve_server_public`. `gatewayctl --curve-key FILE` or "
		 "`GATEWAY_CURVE_KEY` overrides it for one command."},
	{.kind = CONF_PATH, .key = "curve_server_public", .max = 1024,
	 .offset = offsetof(struct gw_config_router, curve_server_public),
	 .desc = "The router's public key (its `.pub` file) that clients check, for a host "
		 "without `curve_key` (its `tcp://` endpoints are then CURVE clients'); default: "
		 "the public half of `curve_key`."},
	{.kind = CONF_BOOL, .key = "plain_loopback", .def = "false",
	 .offset = offsetof(struct gw_config_router, plain_loopback),
	 .desc = "`true` accepts a `tcp://` endpoint on loopback (127.0.0.0/8, `::1`, "
		 "`localhost`) without `curve_key`: any local user can then reach the socket, "
		 "send messages on `ingest` and every command on `command`. `false` (the "
		 "default) refuses it: use `ipc://` (the default) or set `curve_key`."},
	{.kind = CONF_INT, .key = "batch_max", .def = "1024", .min = 1, .max = 65536,
	 .offset = offsetof(struct gw_config_router, batch_max),
	 .desc = "Most messages committed in one LMDB transaction."},
	{.kind = CONF_INT, .key = "nice", .def = "5", .min = 0, .max = 19,
	 .offset = offsetof(struct gw_config_router, nice),
	 .desc = "Scheduling niceness of the router, added to gatewayd's own. A provider "
		 "waits for a connector's answer, while the router works behind the "
		 "connectors' durable spools: under a burst the connectors go first and the "
		 "router catches up in larger, cheaper batches (docs/performance.md). 0 "
		 "gives both the same priority."},
	{.kind = CONF_INT, .key = "heartbeat_ms", .def = "1000", .min = 50, .max = 60000,
	 .offset = offsetof(struct gw_config_router, heartbeat_ms),
	 .desc = "Interval of `gateway.heartbeat` on the publish bus, so consumers notice a "
		 "missed tail."},
	{.kind = CONF_INT, .key = "map_size_mb", .def = "4096", .min = 16, .max = 1048576,
	 .offset = offsetof(struct gw_config_router, map_size_mb),
	 .desc = "LMDB map size of the router's store in MiB: the most it can hold."},
	{.kind = CONF_INT, .key = "publish_hwm", .def = "1000000", .min = 1000,
	 .max = 100000000, .offset = offsetof(struct gw_config_router, publish_hwm),
	 .desc = "Messages queued per slow subscriber before the bus drops for it (they "
		 "can be replayed)."},
	{.kind = CONF_INT, .key = "delivery_timeout_ms", .def = "60000", .min = 1000,
	 .max = 86400000, .offset = offsetof(struct gw_config_router, delivery_timeout_ms),
	 .desc = "How long a reply waits for a connector of its channel before it is "
		 "reported failed (\"no connector for channel X\")."},
};

const struct conf_section gw_conf_router = {
	.name = "router",
	.entries = router_rows,
	.n_entries = N_ROWS(router_rows),
	.struct_size = sizeof(struct gw_config_router),
	.desc = "The router deduplicates, assigns customer, thread and ticket, stores "
		"everything in LMDB and publishes every outcome. Its three endpoints must "
		"differ.",
};

static const struct conf_entry supervisor_rows[] = {
	{.kind = CONF_INT, .key = "backoff_min_ms", .def = "200", .min = 10, .max = 60000,
	 .offset = offsetof(struct gw_config_supervisor, backoff_min_ms),
	 .desc = "First restart delay of a process that exited."},
	{.kind = CONF_INT, .key = "backoff_max_ms", .def = "30000", .min = 100, .max = 3600000,
	 .offset = offsetof(struct gw_config_supervisor, backoff_max_ms),
	 .desc = "Longest restart delay; the delay doubles up to this."},
	{.kind = CONF_INT, .key = "stable_ms", .def = "10000", .min = 100, .max = 3600000,
	 .offset = offsetof(struct gw_config_supervisor, stable_ms),
	 .desc = "A process running this long has its restart delay reset."},
	{.kind = CONF_INT, .key = "stop_timeout_ms", .def = "5000", .min = 100, .max = 120000,
	 .offset = offsetof(struct gw_config_supervisor, stop_timeout_ms),
	 .desc = "Grace between SIGTERM and SIGKILL when stopping a process."},
};

const struct conf_section gw_conf_supervisor = {
	.name = "supervisor",
	.entries = supervisor_rows,
	.n_entries = N_ROWS(supervisor_rows),
	.struct_size = sizeof(struct gw_config_supervisor),
	.desc = "`gatewayd` starts the router and one process per enabled connector, and "
		"restarts any that exits, after a delay that doubles from `backoff_min_ms` "
		"to `backoff_max_ms`.",
};

#define MET_OFF(f) offsetof(struct gw_config_metrics, f)

static const struct conf_entry metrics_rows[] = {
	{.kind = CONF_BOOL, .key = "enabled", .def = "false",
	 .offset = offsetof(struct gw_config_metrics, enabled),
	 .desc = "`true`: `gatewayd` also runs `gateway-metrics`, which serves the gateway's "
		 "metrics in the Prometheus text format at `GET /metrics` on `listen` "
		 "(docs/operations.md, \"Metrics\"). Off by default: a listener the operator "
		 "did not ask for is not opened."},
	{.kind = CONF_LISTEN, .key = "listen", .def = "127.0.0.1:9464",
	 .offset = offsetof(struct gw_config_metrics, listen),
	 .desc = "Address and port of the metrics endpoint. It has no authentication: keep "
		 "it on loopback (or a monitoring network) and let Prometheus scrape it there."},
	{.kind = CONF_INT, .key = "max_connections", .def = "64", .min = 1, .max = 65536,
	 .offset = MET_OFF(max_connections),
	 .desc = "connections served at once; past it the one idle the longest is closed for "
		 "a new one, or the new one is answered 503 when none is idle"},
	LISTEN_CONN_ROWS(MET_OFF, "8"),
	LISTEN_RATE_ROWS(MET_OFF, "600", "60"),
};

const struct conf_section gw_conf_metrics = {
	.name = "metrics",
	.entries = metrics_rows,
	.n_entries = N_ROWS(metrics_rows),
	.struct_size = sizeof(struct gw_config_metrics),
	.desc = "The Prometheus endpoint: counters and histograms of every process (from "
		"their status files), what the router's store holds (read from it, so they "
		"survive restarts), and each process's memory and CPU time.",
};

/* ---- docs/config.md ------------------------------------------------- */

static const char doc_intro[] =
	"# Configuration\n"
	"\n"
	"<!-- Generated from the config tables by gw_config_doc(); do not edit.\n"
	"     Regenerate: gatewayd --config-doc > docs/config.md -->\n"
	"\n"
	"The gateway reads one YAML file: a mapping of the keys below, in a single\n"
	"document. `gatewayd`, the router and every connector process read the same\n"
	"file. `gateway/gateway.example.yaml` is a commented starting point.\n"
	"\n"
	"- **Validation.** The whole file is checked before anything starts. Unknown\n"
	"  keys, values of the wrong type or out of range, missing required keys,\n"
	"  duplicate keys, unknown connector types and YAML aliases (`*name`) are\n"
	"  errors. Each error is one line naming the file, the line and the key path:\n"
	"  `gateway.yaml:14: connectors[0].listen: port 70000 out of range 1..65535`.\n"
	"  The three router endpoints must differ, and no two addresses the gateway\n"
	"  binds (connector `listen` keys, the router's `tcp://` endpoints) may share\n"
	"  a port on the same or a wildcard address, even if one connector is disabled.\n"
	"- **Defaults.** A key left out takes its default; a missing section takes\n"
	"  all its defaults; a missing `connectors` runs no connector. A key written\n"
	"  without a value is an error: leave it out instead.\n"
	"- **Secrets.** A value written exactly `${NAME}` is read from the environment\n"
	"  variable `NAME` when the file is loaded; `${` anywhere else in a value is an\n"
	"  error. When the variable of a required secret is unset or empty, that\n"
	"  connector does not run and `gatewayctl status` says why (`token: environment\n"
	"  variable GATEWAY_API_TOKEN is not set`); the rest of the gateway runs.\n"
	"  Secret values are never logged nor quoted in errors.\n"
	"- **Paths.** A relative `state_dir` is relative to the folder of the config\n"
	"  file, not to the current directory. A state directory given on the command\n"
	"  line replaces it and is relative to the current directory.\n"
	"- **Values.** Integers are decimal. Booleans are `true`/`false`, `yes`/`no`,\n"
	"  `on`/`off`. A `host:port` is a numeric IPv4 address, `[IPv6]` or\n"
	"  `localhost`, then a port 1..65535. An endpoint is a ZeroMQ address:\n"
	"  `tcp://host:port`, `ipc://path` or `inproc://name`. A duration is a\n"
	"  number with a unit, `s`, `m`, `h` or `d`, or several largest first\n"
	"  (`90s`, `5m`, `1h30m`, `2d`); a bare number is minutes.\n";

static const char *doc_kind(enum conf_kind kind)
{
	switch (kind) {
	case CONF_STRING:
		return "string";
	case CONF_INT:
		return "integer";
	case CONF_DURATION:
		return "duration";
	case CONF_BOOL:
		return "boolean";
	case CONF_LISTEN:
		return "host:port";
	case CONF_ENDPOINT:
		return "endpoint";
	case CONF_SECRET:
		return "secret";
	case CONF_PATH:
		return "path";
	case CONF_LOGLEVEL:
		return "log level";
	case CONF_CHOICE:
		return "one of";
	case CONF_STRLIST:
		return "list of strings";
	case CONF_SECTION:
		return "mapping";
	}
	return "?";
}

/*
 * doc_cell - text for a Markdown table cell, on one line: `|` escaped, and
 * `<` outside code spans too, so "Bearer <token>" is not taken for HTML.
 */
static void doc_cell(FILE *f, const char *s)
{
	bool code = false;

	fputs("| ", f);
	for (; *s; s++) {
		code ^= *s == '`';
		if (*s == '|')
			fputs("\\|", f);
		else if (*s == '<' && !code)
			fputs("&lt;", f);
		else
			fputc(*s == '\n' ? ' ' : *s, f);
	}
	fputc(' ', f);
}

/* doc_duration - `s` seconds in the largest unit that divides them: "5m". */
static void doc_duration(char *buf, size_t len, long long s)
{
	static const struct {
		long long secs;
		char unit;
	} units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (s > 0 && s % units[i].secs == 0) {
			snprintf(buf, len, "%lld%c", s / units[i].secs, units[i].unit);
			return;
		}
	snprintf(buf, len, "%llds", s);
}

static void doc_range(FILE *f, const struct conf_entry *row)
{
	char buf[96] = "", lo[32], hi[32];
	long long max = row->max;

	switch (row->kind) {
	case CONF_INT:
		snprintf(buf, sizeof(buf), "%lld..%lld", row->min, row->max);
		break;
	case CONF_DURATION:
		doc_duration(lo, sizeof(lo), row->min);
		doc_duration(hi, sizeof(hi), row->max);
		snprintf(buf, sizeof(buf), "%s..%s", lo, hi);
		break;
	case CONF_LISTEN:
		snprintf(buf, sizeof(buf), "port 1..65535");
		break;
	case CONF_LOGLEVEL:
		snprintf(buf, sizeof(buf), "debug, info, warn, error");
		break;
	case CONF_CHOICE:
		snprintf(buf, sizeof(buf), "%s", row->choices ? row->choices : "");
		break;
	case CONF_ENDPOINT:
		snprintf(buf, sizeof(buf), "up to %lld characters",
			 max > 0 ? max : (long long)GW_CONF_ENDPOINT_MAX);
		break;
	case CONF_BOOL:
		snprintf(buf, sizeof(buf), "true/false");
		break;
	case CONF_STRLIST:
		if (max > 0)
			snprintf(buf, sizeof(buf), "items up to %lld characters", max);
		break;
	case CONF_SECTION:
		snprintf(buf, sizeof(buf), "its keys: `%s`", row->sub ? row->sub->name : "?");
		break;
	default:
		if (max > 0)
			snprintf(buf, sizeof(buf), "up to %lld characters", max);
		break;
	}
	doc_cell(f, buf);
}

static void doc_row(FILE *f, const struct conf_entry *row)
{
	char def[128];

	if (row->flags & CONF_F_REQUIRED)
		snprintf(def, sizeof(def), "required");
	else if (row->kind == CONF_SECTION)
		snprintf(def, sizeof(def), "absent");
	else if (row->def && !row->def[0])
		snprintf(def, sizeof(def), "empty");
	else if (row->def)
		snprintf(def, sizeof(def), "`%s`", row->def);
	else
		snprintf(def, sizeof(def), "none");
	fputs("| `", f);
	fputs(row->key, f);
	fputs("` ", f);
	doc_cell(f, doc_kind(row->kind));
	doc_cell(f, def);
	doc_range(f, row);
	doc_cell(f, row->desc ? row->desc : "");
	fputs("|\n", f);
}

static void doc_section(FILE *f, const char *title, const char *intro,
			const struct conf_section *sec)
{
	fprintf(f, "\n## %s\n\n", title);
	if (intro)
		fprintf(f, "%s\n\n", intro);
	if (sec && sec->desc)
		fprintf(f, "%s\n\n", sec->desc);
	if (!sec || sec->n_entries == 0) {
		fputs("No keys of its own.\n", f);
		return;
	}
	fputs("| key | type | default | range | description |\n", f);
	fputs("|---|---|---|---|---|\n", f);
	for (size_t i = 0; i < sec->n_entries; i++)
		doc_row(f, &sec->entries[i]);
	/* Nested sections follow their parent's table, under their key path. */
	for (size_t i = 0; i < sec->n_entries; i++) {
		const struct conf_section *sub = sec->entries[i].sub;
		char sub_title[128];

		if (sec->entries[i].kind != CONF_SECTION || !sub)
			continue;
		snprintf(sub_title, sizeof(sub_title), "`%s`", sub->name);
		doc_section(f, sub_title, NULL, sub);
	}
}

int gw_config_doc(FILE *f)
{
	char title[96], intro[160];

	fputs(doc_intro, f);
	doc_section(f, "Top level", NULL, &gw_conf_top);
	doc_section(f, "`router`", NULL, &gw_conf_router);
	doc_section(f, "`routing`", NULL, &gw_conf_routing);
	for (const struct conf_list *l = gw_conf_routing_lists; l->key; l++) {
		snprintf(title, sizeof(title), "`%s`", l->sec->name);
		doc_section(f, title, NULL, l->sec);
	}
	doc_section(f, "`supervisor`", NULL, &gw_conf_supervisor);
	doc_section(f, "`nats`", NULL, &gw_conf_nats);
	doc_section(f, "`integration`", NULL, &gw_conf_integration);
	for (const struct conf_list *l = gw_conf_integration_lists; l->key; l++) {
		snprintf(title, sizeof(title), "`%s`", l->sec->name);
		doc_section(f, title, NULL, l->sec);
	}
	doc_section(f, "`automation`", NULL, &gw_conf_automation);
	for (const struct conf_list *l = gw_conf_automation_lists; l->key; l++) {
		snprintf(title, sizeof(title), "`%s`", l->sec->name);
		doc_section(f, title, NULL, l->sec);
	}
	doc_section(f, "`metrics`", NULL, &gw_conf_metrics);
	doc_section(f, "`csat`", NULL, &gw_conf_csat);
	doc_section(f, "`connectors[]`", NULL, &gw_conf_connector);
	for (size_t i = 0; gw_connector_conf_types[i]; i++) {
		const struct gw_connector_conf_type *t = gw_connector_conf_types[i];

		snprintf(title, sizeof(title), "Connector type `%s`", t->name);
		snprintf(intro, sizeof(intro),
			 "Keys of a `connectors[]` entry with `type: %s`, besides `name`, `type` "
			 "and `enabled`.", t->name);
		doc_section(f, title, intro, t->section);
	}
	return fflush(f) == 0 && !ferror(f) ? GW_OK : GW_EIO;
}

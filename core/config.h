/*
 * config.h - the one YAML configuration file, read through config tables.
 *
 * Each section of the file (top level, router, supervisor, one per connector
 * type, and the mappings nested in them by a CONF_SECTION row, such as an
 * email connector's `smtp`) is described by a table of conf_entry rows:
 * kind, key, default, bounds, offset into the section's struct,
 * description. The same tables
 * drive parsing, validation, defaults and the generated docs/config.md
 * (gatewayd --config-doc). Unknown keys, wrong types and out-of-range values
 * are errors that name the key path and the line ("config.yaml:12: router.
 * batch_max: 0 is below the minimum 1").
 *
 * Secrets: a string of the form "${NAME}" is read from the environment
 * variable NAME at load time. For a CONF_SECRET that is required, an unset
 * variable does not fail the load: the connector it belongs to is marked
 * disabled with a reason ("token: environment variable GATEWAY_API_TOKEN is
 * not set"), which gatewayd logs and `gatewayctl status` shows. Secret values
 * are never logged or printed.
 *
 * Relative paths (state_dir) are resolved against the config file's folder.
 *
 * Threading: load once at start; the result is read-only afterwards.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/listen_limits.h"

enum conf_kind {
	CONF_STRING,   /* char *, malloc'ed; max = longest length */
	CONF_INT,      /* long long within [min, max] */
	CONF_DURATION, /* long long seconds within [min, max] seconds, written
			* "90s", "5m", "1h30m", "2d" (gw_duration_parse); a bare
			* number is minutes, as these keys were before */
	CONF_BOOL,     /* bool: true/false/yes/no/on/off */
	CONF_LISTEN,   /* struct conf_listen from "host:port" */
	CONF_ENDPOINT, /* char *: a ZeroMQ endpoint, "tcp://host:port" or "ipc://path" */
	CONF_SECRET,   /* char *: a literal or "${ENV}"; never logged */
	CONF_PATH,     /* char *: resolved against the config file's folder */
	CONF_LOGLEVEL, /* int: debug, info, warn, error */
	CONF_CHOICE,   /* int: the index of the value in `choices` */
	CONF_STRLIST,  /* struct conf_strlist: a YAML list of strings (the
			* default is written "a,b"); max = longest item */
	CONF_SECTION,  /* a nested mapping whose keys are the rows of `sub`,
			* filling the struct of `sub` embedded at `offset`. Given,
			* it is read with the same rules as its parent (defaults,
			* required keys, "${ENV}", errors naming the key path
			* "connectors[3].smtp.url"); absent, its struct stays all
			* zero (no defaults are applied), so a required key of it
			* tells whether it was given. No default, no bounds. */
};

/* A list of strings from the file, each malloc'ed. */
struct conf_strlist {
	char **v;
	size_t n;
};

/* Row flags. */
#define CONF_F_REQUIRED 1u /* must be present (for secrets: must be set) */

struct conf_listen {
	char host[64]; /* numeric IPv4/IPv6 address or "localhost" */
	int port;      /* 1..65535 */
};

struct conf_entry {
	enum conf_kind kind;
	const char *key;  /* key within its section */
	const char *def;  /* default as YAML text; NULL: none (NULL/0/false) */
	long long min;    /* CONF_INT, CONF_DURATION: lowest value */
	long long max;    /* CONF_INT, CONF_DURATION: highest value; strings:
			   * longest length */
	unsigned flags;   /* CONF_F_* */
	size_t offset;    /* offsetof() the member in the section's struct */
	const char *desc; /* one line for docs/config.md */
	const struct conf_section *sub; /* CONF_SECTION: its rows; else NULL */
	const char *choices; /* CONF_CHOICE: the values, comma-separated */
};

/* A section: its key path, its rows, the size of the struct they fill. */
struct conf_section {
	const char *name; /* "router", "supervisor", "connectors[type=api]",
			   * "connectors[type=email].smtp" (a CONF_SECTION's) */
	const struct conf_entry *entries;
	size_t n_entries;
	size_t struct_size;
	const char *desc; /* a paragraph for docs/config.md */
};

struct gw_config_router {
	/* The endpoints; an ipc:// path that is not absolute is resolved
	 * against state_dir at load (the defaults: ipc://sock/ingest, ...). */
	char *ingest;  /* connectors -> router */
	char *publish; /* downstream PUB */
	char *command; /* replay and commands */
	/* CURVE on tcp:// endpoints (docs/security.md): the router's key file
	 * (gatewayctl keys generate), and the allow-lists of client public
	 * keys by right; NULL: none. The router's own key is allowed
	 * everything, so that the gateway's processes use it as clients. */
	char *curve_key;
	char *curve_consumers;  /* may subscribe and replay, read */
	char *curve_commanders; /* may also send commands */
	char *curve_connectors; /* may hand over messages (ingest) */
	/* The key pair this host's gateway programs (connectors, gatewayctl,
	 * gateway-nats, gateway-integration) prove as CURVE clients instead
	 * of the router's own, and the router's public key they check (a
	 * .pub file; default: curve_key's public half); NULL: none. */
	char *curve_client_key;
	char *curve_server_public;
	/* A loopback tcp:// endpoint without CURVE is refused unless this is
	 * set: any local user can then reach it. */
	bool plain_loopback;
	long long batch_max;   /* messages per LMDB transaction */
	long long nice;        /* niceness added to the router's process */
	long long heartbeat_ms;
	long long map_size_mb; /* LMDB map size */
	long long publish_hwm; /* PUB send high-water mark (messages) */
	long long delivery_timeout_ms; /* fail a reply no connector can take */
};

/*
 * routing: how the router threads, assigns and times tickets
 * (docs/routing.md). Lists are sections of their own ("routing.queues[]").
 */

/* routing.channels[]: the threading policy of one channel. */
struct gw_routing_channel {
	char *channel;            /* "email", "whatsapp", ... */
	char *scope;              /* customer | channel */
	long long reopen_window_h; /* -1: the routing default */
};

/* routing.business_hours[]: a named calendar (core/calendar.h). */
struct gw_routing_hours {
	char *name;
	char *timezone; /* IANA name, default UTC */
	char *hours;    /* "mon-fri 09:00-18:00" */
};

/* routing.queues[]: a team and the tickets it takes, first match wins.
 * An empty match list matches anything. */
struct gw_routing_queue {
	char *name;
	struct conf_strlist channels;
	struct conf_strlist accounts;
	struct conf_strlist languages;
	struct conf_strlist keywords;   /* any of them in subject or text (case-insensitive) */
	struct conf_strlist attributes; /* customer attributes "key=value", all must hold */
	char *strategy;       /* round_robin | least_open | sticky */
	char *business_hours; /* a routing.business_hours name, "" = 24/7 */
	char *priority;       /* priority of its new tickets */
	struct conf_strlist agents; /* agent ids serving it */
};

/* routing.agents[]: one agent. */
struct gw_routing_agent {
	char *id;
	char *name;
	long long capacity;   /* open tickets at once, 0 = no limit */
	struct conf_strlist languages; /* languages spoken, empty = any */
	char *timezone;
	char *hours;          /* working hours, "" = always */
	char *presence;       /* at first start: online | away | offline */
};

/* routing.tag_rules[]: tags and priority by rules (core/config_rules.c);
 * every matching rule applies. An empty match list matches anything. */
struct gw_routing_tag_rule {
	char *name;
	char *on;                       /* open | message */
	struct conf_strlist keywords;   /* any of them in subject or text */
	struct conf_strlist channels;
	struct conf_strlist accounts;
	struct conf_strlist languages;
	struct conf_strlist attributes; /* "key=value", all must hold */
	char *hours;                    /* "" | business | off (the queue's hours) */
	struct conf_strlist tags;       /* added */
	char *priority;                 /* "" or the priority raised to */
};

/* routing.escalations[]: rules run from the router's timers
 * (core/config_rules.c, router/rules/escalation.c). */
struct gw_routing_escalation {
	char *name;
	char *trigger;                  /* sla_warning | sla_breached | unassigned */
	char *clock;                    /* sla triggers: "" any, or one clock */
	long long after_s;              /* unassigned: seconds waiting without an agent
					 * (key after_min: a duration) */
	struct conf_strlist queues;     /* filters; empty: any */
	struct conf_strlist channels;
	struct conf_strlist priorities;
	char *set_priority;             /* "" or the priority raised to */
	char *move_to_queue;            /* "" or a routing.queues[] name */
	char *assign_to;                /* "" | "next" | an agent id */
	bool notify;                    /* ticket.escalated rather than ticket.updated */
};

/* routing.sla[]: targets, first matching row wins; "" matches any. */
struct gw_routing_sla {
	char *queue;
	char *channel;
	char *priority;
	/* Business seconds, 0 = none (keys *_min: durations, bare = minutes). */
	long long first_response_s;
	long long resolution_s;
	long long next_response_s;
	long long warning_percent;    /* warn when this share of the target is used */
};

struct gw_config_routing {
	char *default_region;           /* phone numbers without +: "FR"; "" = none */
	struct conf_strlist languages;  /* candidates for language detection */
	char *scope;                    /* default threading scope: customer | channel */
	long long reopen_window_h;      /* a message this soon after close reopens */
	long long duplicate_window_s;   /* same text on another channel: one ticket */
	char *default_queue;            /* queue when no rule matches */
	struct gw_routing_channel *channels;
	size_t n_channels;
	struct gw_routing_hours *business_hours;
	size_t n_business_hours;
	struct gw_routing_queue *queues;
	size_t n_queues;
	struct gw_routing_agent *agents;
	size_t n_agents;
	struct gw_routing_sla *sla;
	size_t n_sla;
	/* Agent collision: */
	long long presence_interval_ms; /* ticket.viewing/typing: one per key per interval */
	/* Tags and priority by rules: */
	struct gw_routing_tag_rule *tag_rules;
	size_t n_tag_rules;
	/* Escalation rules: */
	struct gw_routing_escalation *escalations;
	size_t n_escalations;
};

/*
 * gw_config_routing_defaults - fills `r` with the defaults of `routing`
 * (no lists), as a config without a routing section gets; for tests and
 * tools that build a config by hand. GW_OK or GW_ENOMEM. Free with
 * gw_config_routing_free (also frees lists a caller attached with malloc).
 */
GW_MUST_CHECK int gw_config_routing_defaults(struct gw_config_routing *r, char *err, size_t errlen);
void gw_config_routing_free(struct gw_config_routing *r);

/* csat: the satisfaction survey after a ticket closes (router/rules/csat.c). */
struct gw_config_csat {
	bool enabled;
	struct conf_strlist channels; /* empty: all */
	struct conf_strlist queues;   /* empty: all */
	long long window_s;           /* a rating is taken this long after the survey */
	char *text;                   /* the question */
	struct conf_strlist texts;    /* "<language>=<text>" */
	char *link;                   /* "": none; {ticket} replaced */
};

struct gw_config_supervisor {
	long long backoff_min_ms;
	long long backoff_max_ms;
	long long stable_ms;       /* running this long resets the backoff */
	long long stop_timeout_ms; /* SIGTERM -> SIGKILL grace */
};

/*
 * nats: the optional JetStream publisher (gateway-nats, docs/nats.md). Off
 * unless `enabled`; gatewayd then supervises gateway-nats beside the router.
 */
struct gw_config_nats {
	bool enabled;
	struct conf_strlist servers; /* nats:// or tls:// URLs */
	char *stream;          /* stream name */
	char *subject_prefix;  /* subjects are <prefix>.<event type> */
	char *gateway_id;      /* Nats-Msg-Id is <gateway_id>-<seq> */
	char *payload;         /* json | msgpack */
	char *storage;         /* file | memory */
	long long replicas;
	long long max_age_s;   /* 0: no age limit */
	long long max_bytes_mb; /* 0: no size limit */
	long long duplicate_window_s;
	long long window;      /* asynchronous publishes awaiting their ack */
	long long ack_timeout_ms;
	long long reconnect_wait_ms;
	char *user;
	char *password;        /* secret */
	char *token;           /* secret */
	char *creds;           /* a .creds file (JWT + nkey seed) */
	char *tls_ca;
	char *tls_cert;
	char *tls_key;
};

/*
 * integration: the HTTP integration API and the outgoing webhooks
 * (gateway-integration, docs/integration.md). Absent from the file: no such
 * process. Lists are sections of their own ("integration.tokens[]").
 */
struct gw_integration_token {
	char *name;                 /* logged instead of the token */
	struct conf_strlist scopes; /* read, reply, manage */
	char *secret;               /* the bearer token; never logged */
	char *off_reason;           /* NULL when usable; else why it is off alone
				     * ("secret: environment variable X is not set") */
};

struct gw_integration_webhook {
	char *name;                 /* the subscription's name (gatewayctl webhooks) */
	char *url;                  /* http:// or https:// */
	struct conf_strlist events; /* type names or prefixes ("ticket."); empty: all */
	char *secret;               /* HMAC key of X-Omnigate-Signature */
	long long timeout_ms;       /* one POST */
	long long backoff_min_ms;   /* first retry delay */
	long long backoff_max_ms;   /* cap of the doubling delay */
	char *off_reason;           /* NULL when usable; else why it is off alone:
				     * its deliveries wait, its cursor stays */
};

struct gw_config_integration {
	bool present;               /* the file has an integration section */
	bool enabled;
	struct conf_listen listen;
	long long max_body_bytes;
	long long command_timeout_ms;  /* one request to the router */
	long long idempotency_ttl_s;   /* how long an Idempotency-Key is kept */
	long long attachment_max_bytes;
	long long map_size_mb;         /* its LMDB (cursors, idempotency keys) */
	long long max_connections;     /* the API's connections at once, every address */
	struct httpd_limits limits;    /* per address: connections, requests, timeouts */
	long long auth_failures_per_minute; /* bad tokens an address may send; 0: any */
	struct gw_integration_token *tokens;
	size_t n_tokens;
	struct gw_integration_webhook *webhooks;
	size_t n_webhooks;
	char *disabled_reason;         /* NULL when it runs; why not otherwise */
};

/* metrics: gateway-metrics, the Prometheus endpoint (docs/operations.md). */
struct gw_config_metrics {
	bool enabled;             /* gatewayd runs gateway-metrics */
	struct conf_listen listen; /* where it serves GET /metrics */
	long long max_connections; /* connections at once, every address */
	struct httpd_limits limits; /* per address: connections, requests, timeouts
				     * (no body is read) */
};

/*
 * automation: automatic messages and canned responses (docs/automation.md,
 * core/config_automation.c). Lists are sections of their own
 * ("automation.templates[]").
 */

/* automation.templates[]: one text of a named template in one language. */
struct gw_automation_template {
	char *name;     /* what rules, message.send and gatewayctl name */
	char *language; /* "fr"; "" = the default text of the name */
	char *subject;  /* "" = the ticket's */
	char *text;     /* with {{variables}} (core/template.h) */
};

/* automation.rules[]: when an automatic message goes out; first match of
 * its kind wins. */
struct gw_automation_rule {
	char *kind;     /* acknowledgement | out_of_hours | still_waiting */
	char *channel;  /* "" = any */
	char *queue;    /* "" = any */
	char *template_name; /* templates[] name; "" = none (off in this scope) */
	long long after_s;   /* still_waiting: seconds without a reply */
	char *whatsapp_template; /* provider template outside the 24 h window */
	char *whatsapp_language;
};

struct gw_config_automation {
	bool enabled;
	long long window_s; /* one automatic message of a kind per customer */
	struct gw_automation_template *templates;
	size_t n_templates;
	struct gw_automation_rule *rules;
	size_t n_rules;
};

/* One connectors[] entry. */
struct gw_connector_conf {
	char *name;      /* unique instance name; also the `account` default */
	char *type;      /* connector type name ("api") */
	bool enabled;
	int line;        /* line of the entry in the file */
	void *settings;  /* the type's section struct (its conf type's section), owned */
	const struct conf_section *section; /* borrowed: the type's table */
	char *disabled_reason; /* NULL when it runs; why not otherwise */
};

struct gw_config {
	char *path;      /* the file read, absolute */
	char *dir;       /* its folder */
	char *state_dir; /* absolute */
	int log_level;   /* enum gw_log_level */
	int log_format;  /* enum gw_log_format */
	char *user;      /* run as this user when started as root; NULL: as is */
	struct gw_config_router router;
	struct gw_config_routing routing;
	struct gw_config_supervisor supervisor;
	struct gw_config_nats nats;
	struct gw_config_integration integration;
	struct gw_config_metrics metrics;
	struct gw_config_automation automation;
	struct gw_config_csat csat;
	struct gw_connector_conf *connectors;
	size_t n_connectors;
};

/*
 * A connector type as the config reader knows it: its name, the table of
 * its keys and an optional check. Each channel defines one, as
 * `<name>_conf_type`, in connectors/<name>/<name>_config.c. These files and
 * the light registry that lists them (connectors/config_registry.c, target
 * gw_connector_conf) need none of the channels' libraries, so gatewayd,
 * gateway-router and gatewayctl read every connector's keys without
 * linking libwebsockets, libcurl, GMime or libxml2.
 */
struct gw_connector_conf_type {
	const char *name;                   /* config `type:` value */
	const struct conf_section *section; /* its keys */
	/*
	 * check - MAY be NULL. Says whether validated settings can run (e.g. a
	 * secret is present): GW_OK, or GW_ECONFIG with why (whylen bytes)
	 * written; the loader then disables the entry with that reason.
	 * Pure: no I/O, no library beyond libc; any thread.
	 */
	int (*check)(const void *settings, char *why, size_t whylen);
	/*
	 * attach_dir - MAY be NULL. The folder (absolute, borrowed from
	 * `settings`) where an entry with these settings stores the bytes of
	 * attachments, or NULL for the default <state_dir>/attachments; read by
	 * gateway-integration to serve every stored attachment. Pure; any thread.
	 */
	const char *(*attach_dir)(const void *settings);
};

/*
 * gw_connector_conf_types - NULL-terminated list of every connector type,
 * in the order of connectors/channels.def. Defined by the light registry.
 */
extern const struct gw_connector_conf_type *const gw_connector_conf_types[];

/* gw_connector_conf_find - the type named `type` (may be NULL), or NULL. */
const struct gw_connector_conf_type *gw_connector_conf_find(const char *type);

/*
 * gw_connector_section - the config section of connector type `type`, or
 * NULL when no such type exists. Defined by the light registry.
 */
const struct conf_section *gw_connector_section(const char *type);

/*
 * gw_config_load - reads and validates `path`. `state_dir_override` (may be
 * NULL) replaces state_dir. On success *out owns a new config (free with
 * gw_config_free). On failure returns GW_ECONFIG (or GW_ENOMEM, GW_ENOTFOUND
 * for a missing file) and writes one line naming file, line and key into
 * `err` (errlen bytes).
 */
GW_MUST_CHECK int gw_config_load(const char *path, const char *state_dir_override,
		   struct gw_config **out, char *err, size_t errlen);

/* gw_config_free - frees `cfg` and everything it owns; accepts NULL. */
void gw_config_free(struct gw_config *cfg);

/* gw_config_find_connector - the entry named `name`, or NULL. Borrowed. */
const struct gw_connector_conf *gw_config_find_connector(const struct gw_config *cfg,
							 const char *name);

/*
 * gw_config_doc - writes docs/config.md (every section's table, generated)
 * to `f`. Returns GW_OK or GW_EIO.
 */
GW_MUST_CHECK int gw_config_doc(FILE *f);

/*
 * gw_config_default_path - the config used without --config: for an
 * installed program <sysconfdir>/omnigate/gateway.yaml (found relative to
 * the executable), else the shipped example as found at build time. The
 * string is static; call it from one thread at start.
 */
const char *gw_config_default_path(void);

#define GW_EXIT_USAGE 64  /* an unknown option (EX_USAGE) */
#define GW_EXIT_CONFIG 78 /* the config cannot be used (EX_CONFIG): gatewayd does not restart it */

/*
 * gw_config_daemon - the start every daemon gatewayd supervises shares (the
 * router, gateway-integration, gateway-metrics, gateway-nats): umask 077
 * (its files and sockets are the gateway user's alone), the log named
 * `prog`, `--config FILE` (default gw_config_default_path()) and
 * `--state-dir DIR` from argv, the config loaded and its log level and
 * format applied. Returns 0 with *cfg (gw_config_free); GW_EXIT_USAGE
 * after printing the usage; GW_EXIT_CONFIG after logging, under `module`,
 * why the config cannot be loaded. Call once, at start.
 */
int gw_config_daemon(int argc, char **argv, const char *prog, const char *module,
		     struct gw_config **cfg);

#endif

/*
 * config_nats.c - the table of `nats`, the optional NATS JetStream
 * publisher (gateway-nats, docs/nats.md), and the checks of its values.
 * Pure data and string checks: gatewayd, the router and gatewayctl read it
 * without linking libnats.
 */
#include "core/config_tables.h"

#include <stddef.h>
#include <string.h>

#include "core/err.h"

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

static const struct conf_entry nats_rows[] = {
	{.kind = CONF_BOOL, .key = "enabled", .def = "false",
	 .offset = offsetof(struct gw_config_nats, enabled),
	 .desc = "`true`: `gatewayd` runs `gateway-nats`, which copies every event of the log "
		 "into a JetStream stream, in `seq` order, each once."},
	{.kind = CONF_STRLIST, .key = "servers", .def = "nats://127.0.0.1:4222", .max = 512,
	 .offset = offsetof(struct gw_config_nats, servers),
	 .desc = "NATS server URLs (`nats://host:port`, `tls://host:port`); several are "
		 "members of one cluster, tried in turn."},
	{.kind = CONF_STRING, .key = "stream", .def = "OMNIGATE", .max = 64,
	 .offset = offsetof(struct gw_config_nats, stream),
	 .desc = "The stream's name (letters, digits, `_`, `-`). Created when missing; an "
		 "existing one must hold the subjects below."},
	{.kind = CONF_STRING, .key = "subject_prefix", .def = "omnigate.events", .max = 128,
	 .offset = offsetof(struct gw_config_nats, subject_prefix),
	 .desc = "Each event goes to `<subject_prefix>.<type>` (`omnigate.events.message."
		 "received`); the stream holds `<subject_prefix>.>`."},
	{.kind = CONF_STRING, .key = "gateway_id", .def = "omnigate", .max = 64,
	 .offset = offsetof(struct gw_config_nats, gateway_id),
	 .desc = "Names this gateway in each message's `Nats-Msg-Id` (`<gateway_id>-<seq>`), "
		 "JetStream's duplicate key: a republished event adds nothing."},
	{.kind = CONF_STRING, .key = "payload", .def = "json", .max = 16,
	 .offset = offsetof(struct gw_config_nats, payload),
	 .desc = "`json`: each event as one JSON object (the keys of docs/events.md); "
		 "`msgpack`: the bus's msgpack map as it is."},
	{.kind = CONF_STRING, .key = "storage", .def = "file", .max = 16,
	 .offset = offsetof(struct gw_config_nats, storage),
	 .desc = "Storage of a stream it creates: `file` or `memory`."},
	{.kind = CONF_INT, .key = "replicas", .def = "1", .min = 1, .max = 5,
	 .offset = offsetof(struct gw_config_nats, replicas),
	 .desc = "Replicas of a stream it creates (3 on a cluster of 3 or more servers: "
		 "a message is acknowledged once a majority holds it)."},
	{.kind = CONF_INT, .key = "max_age_s", .def = "0", .min = 0, .max = 3153600000LL,
	 .offset = offsetof(struct gw_config_nats, max_age_s),
	 .desc = "Messages older than this many seconds leave the stream; 0 keeps them."},
	{.kind = CONF_INT, .key = "max_bytes_mb", .def = "0", .min = 0, .max = 1048576,
	 .offset = offsetof(struct gw_config_nats, max_bytes_mb),
	 .desc = "The oldest messages leave the stream past this size (MiB); 0: no limit."},
	{.kind = CONF_INT, .key = "duplicate_window_s", .def = "120", .min = 1, .max = 86400,
	 .offset = offsetof(struct gw_config_nats, duplicate_window_s),
	 .desc = "The stream's duplicate window: a `Nats-Msg-Id` seen within it is not "
		 "stored again."},
	{.kind = CONF_INT, .key = "window", .def = "256", .min = 1, .max = 4096,
	 .offset = offsetof(struct gw_config_nats, window),
	 .desc = "Events published without waiting, before their acknowledgements are "
		 "awaited."},
	{.kind = CONF_INT, .key = "ack_timeout_ms", .def = "5000", .min = 100, .max = 600000,
	 .offset = offsetof(struct gw_config_nats, ack_timeout_ms),
	 .desc = "How long to wait for JetStream's acknowledgements of a window; then it "
		 "reads the stream's last message and publishes again from there."},
	{.kind = CONF_INT, .key = "reconnect_wait_ms", .def = "500", .min = 10, .max = 60000,
	 .offset = offsetof(struct gw_config_nats, reconnect_wait_ms),
	 .desc = "Delay between attempts to reach a server."},
	{.kind = CONF_STRING, .key = "user", .max = 256,
	 .offset = offsetof(struct gw_config_nats, user),
	 .desc = "User name, with `password`."},
	{.kind = CONF_SECRET, .key = "password", .max = 1024,
	 .offset = offsetof(struct gw_config_nats, password),
	 .desc = "Password of `user`; `${NAME}` reads it from the environment."},
	{.kind = CONF_SECRET, .key = "token", .max = 1024,
	 .offset = offsetof(struct gw_config_nats, token),
	 .desc = "Authentication token; `${NAME}` reads it from the environment."},
	{.kind = CONF_PATH, .key = "creds", .max = 1024,
	 .offset = offsetof(struct gw_config_nats, creds),
	 .desc = "A `.creds` file (user JWT and nkey seed) for a server that uses accounts."},
	{.kind = CONF_PATH, .key = "tls_ca", .max = 1024,
	 .offset = offsetof(struct gw_config_nats, tls_ca),
	 .desc = "CA certificates (PEM) to verify the servers with; set, TLS is required."},
	{.kind = CONF_PATH, .key = "tls_cert", .max = 1024,
	 .offset = offsetof(struct gw_config_nats, tls_cert),
	 .desc = "Client certificate (PEM), for servers that verify clients; with `tls_key`."},
	{.kind = CONF_PATH, .key = "tls_key", .max = 1024,
	 .offset = offsetof(struct gw_config_nats, tls_key),
	 .desc = "Private key (PEM) of `tls_cert`."},
};

const struct conf_section gw_conf_nats = {
	.name = "nats",
	.entries = nats_rows,
	.n_entries = N_ROWS(nats_rows),
	.struct_size = sizeof(struct gw_config_nats),
	.desc = "Optional, off by default: every event also goes to a NATS JetStream stream "
		"(docs/nats.md), published by `gateway-nats`, which `gatewayd` runs when "
		"`enabled` is true. It reads the log as any consumer does and resumes after "
		"the stream's last message.",
};

static int is_name(const char *s)
{
	return s && *s && strspn(s, NAME_CHARS) == strlen(s);
}

/* is_subject - tokens of NAME_CHARS separated by single dots. */
static int is_subject(const char *s)
{
	size_t tok = 0;

	if (!s || !*s)
		return 0;
	for (; *s; s++) {
		if (*s == '.') {
			if (tok == 0)
				return 0;
			tok = 0;
		} else if (!strchr(NAME_CHARS, *s)) {
			return 0;
		} else {
			tok++;
		}
	}
	return tok > 0;
}

int gw_config_nats_check(const struct gw_config_nats *n, const char **key_out,
			 const char **why_out)
{
	const char *key = NULL, *why = NULL;

	if (strcmp(n->payload, "json") != 0 && strcmp(n->payload, "msgpack") != 0)
		key = "payload", why = "must be json or msgpack";
	else if (strcmp(n->storage, "file") != 0 && strcmp(n->storage, "memory") != 0)
		key = "storage", why = "must be file or memory";
	else if (!is_name(n->stream))
		key = "stream", why = "must be letters, digits, _ and -";
	else if (!is_name(n->gateway_id))
		key = "gateway_id", why = "must be letters, digits, _ and -";
	else if (!is_subject(n->subject_prefix))
		key = "subject_prefix", why = "must be dot-separated tokens of letters, digits, _ "
					      "and - (no wildcards)";
	else if (n->enabled && n->servers.n == 0)
		key = "servers", why = "needs at least one URL when enabled";
	else if (!n->tls_cert != !n->tls_key)
		key = n->tls_cert ? "tls_key" : "tls_cert", why = "tls_cert and tls_key go together";
	*key_out = key;
	*why_out = why;
	return key ? GW_EINVAL : GW_OK;
}

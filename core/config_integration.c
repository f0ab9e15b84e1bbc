/*
 * config_integration.c - the tables of `integration` (gateway-integration:
 * the HTTP integration API and the outgoing webhooks) and of its lists
 * (tokens[], webhooks[]), and the checks between them. What each key does
 * is explained in docs/integration.md.
 */
#include "core/config_tables.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))
#define IN_OFF(m) offsetof(struct gw_config_integration, m)
#define TK_OFF(m) offsetof(struct gw_integration_token, m)
#define WH_OFF(m) offsetof(struct gw_integration_webhook, m)
#define NAME_MAX_LEN 64

static const struct conf_entry integration_rows[] = {
	{.kind = CONF_BOOL, .key = "enabled", .def = "true", .offset = IN_OFF(enabled),
	 .desc = "Run gateway-integration (the HTTP integration API and the webhooks)."},
	{.kind = CONF_LISTEN, .key = "listen", .def = "127.0.0.1:8093", .offset = IN_OFF(listen),
	 .desc = "address:port of the HTTP integration API; keep it on loopback behind a TLS "
		 "proxy"},
	{.kind = CONF_INT, .key = "max_body_bytes", .def = "1114112", .min = 1024,
	 .max = 4194304, .offset = IN_OFF(max_body_bytes),
	 .desc = "Largest request body; larger ones are answered 413."},
	{.kind = CONF_INT, .key = "command_timeout_ms", .def = "5000", .min = 100,
	 .max = 120000, .offset = IN_OFF(command_timeout_ms),
	 .desc = "How long a request waits for the router before it is answered 503."},
	{.kind = CONF_INT, .key = "idempotency_ttl_s", .def = "86400", .min = 1,
	 .max = 2592000, .offset = IN_OFF(idempotency_ttl_s),
	 .desc = "How long the answer to a request with an Idempotency-Key is kept and "
		 "given again; afterwards the key is free (the router still runs a "
		 "command id once)."},
	{.kind = CONF_INT, .key = "attachment_max_bytes", .def = "104857600", .min = 1024,
	 .max = 4294967296LL, .offset = IN_OFF(attachment_max_bytes),
	 .desc = "Largest attachment GET /v1/attachments/{ref} serves."},
	{.kind = CONF_INT, .key = "map_size_mb", .def = "64", .min = 1, .max = 65536,
	 .offset = IN_OFF(map_size_mb),
	 .desc = "LMDB map size of <state_dir>/integration/ (cursors, idempotency keys)."},
	{.kind = CONF_INT, .key = "max_connections", .def = "256", .min = 1, .max = 65536,
	 .offset = IN_OFF(max_connections),
	 .desc = "Connections the API holds at once, from every address; at the limit the "
		 "one idle the longest is closed for a new one, else the new one is answered "
		 "503."},
	/* Behind a proxy every client has the proxy's address: the per-address
	 * defaults leave room for it (docs/integration.md "Limits"). */
	HTTPD_CONF_ROWS(IN_OFF, "64", "6000", "200"),
	{.kind = CONF_INT, .key = "auth_failures_per_minute", .def = "10", .min = 0,
	 .max = 100000, .offset = IN_OFF(auth_failures_per_minute),
	 .desc = "Requests with a missing or unknown token one client address may make per "
		 "minute (as many at once); past them every request of the address needing a "
		 "token is answered 429 with Retry-After, its token unchecked, until the "
		 "minute allows one again; 0: no limit."},
};

const struct conf_section gw_conf_integration = {
	.name = "integration",
	.entries = integration_rows,
	.n_entries = N_ROWS(integration_rows),
	.struct_size = sizeof(struct gw_config_integration),
	.desc = "The HTTP integration API and the outgoing webhooks (gateway-integration, "
		"docs/integration.md). Without this section the process does not run. A token "
		"or webhook whose secret's environment variable is unset is off alone (logged "
		"at start, named in `gatewayctl status`); the process runs while one token or "
		"webhook is usable. The lists below are keys of `integration` too.",
};

static const struct conf_entry token_rows[] = {
	{.kind = CONF_STRING, .key = "name", .max = NAME_MAX_LEN, .flags = CONF_F_REQUIRED,
	 .offset = TK_OFF(name), .desc = "The token's name, logged with each request instead "
					 "of the token."},
	{.kind = CONF_STRLIST, .key = "scopes", .def = "read", .max = 16,
	 .offset = TK_OFF(scopes),
	 .desc = "`read` (GET), `reply` (POST replies), `manage` (ticket actions, merges)."},
	{.kind = CONF_SECRET, .key = "secret", .max = 1024, .flags = CONF_F_REQUIRED,
	 .offset = TK_OFF(secret),
	 .desc = "The bearer token (16 bytes at least); write `${NAME}` to read it from the "
		 "environment."},
};

const struct conf_section gw_conf_integration_token = {
	.name = "integration.tokens[]",
	.entries = token_rows,
	.n_entries = N_ROWS(token_rows),
	.struct_size = sizeof(struct gw_integration_token),
	.desc = "The tokens the HTTP API accepts (`Authorization: Bearer <secret>`).",
};

static const struct conf_entry webhook_rows[] = {
	{.kind = CONF_STRING, .key = "name", .max = NAME_MAX_LEN, .flags = CONF_F_REQUIRED,
	 .offset = WH_OFF(name), .desc = "The subscription's name (`gatewayctl webhooks`)."},
	{.kind = CONF_STRING, .key = "url", .max = 2048, .flags = CONF_F_REQUIRED,
	 .offset = WH_OFF(url), .desc = "Where each event is POSTed (http:// or https://)."},
	{.kind = CONF_STRLIST, .key = "events", .max = 64, .offset = WH_OFF(events),
	 .desc = "Event types, or prefixes ending in `.` (`ticket.`); empty: every event."},
	{.kind = CONF_SECRET, .key = "secret", .max = 1024, .flags = CONF_F_REQUIRED,
	 .offset = WH_OFF(secret),
	 .desc = "HMAC-SHA256 key of `X-Omnigate-Signature` (16 bytes at least); `${NAME}` "
		 "reads it from the environment."},
	{.kind = CONF_INT, .key = "timeout_ms", .def = "10000", .min = 100, .max = 300000,
	 .offset = WH_OFF(timeout_ms), .desc = "One POST's time limit; longer is a failure."},
	{.kind = CONF_INT, .key = "backoff_min_ms", .def = "500", .min = 10, .max = 3600000,
	 .offset = WH_OFF(backoff_min_ms), .desc = "Delay before the first retry."},
	{.kind = CONF_INT, .key = "backoff_max_ms", .def = "60000", .min = 10, .max = 3600000,
	 .offset = WH_OFF(backoff_max_ms),
	 .desc = "Cap of the retry delay, which doubles after each failure."},
};

const struct conf_section gw_conf_integration_webhook = {
	.name = "integration.webhooks[]",
	.entries = webhook_rows,
	.n_entries = N_ROWS(webhook_rows),
	.struct_size = sizeof(struct gw_integration_webhook),
	.desc = "Subscriptions: every event of their types POSTed as JSON, signed, in `seq` "
		"order, retried until the receiver answers 2xx (docs/integration.md).",
};

#define LIST(k, sec, arr, n, off) \
	{ k, &sec, offsetof(struct gw_config_integration, arr), \
	  offsetof(struct gw_config_integration, n), off }

/* An entry whose secret is unset is off alone (its off_reason). */
const struct conf_list gw_conf_integration_lists[] = {
	LIST("tokens", gw_conf_integration_token, tokens, n_tokens, TK_OFF(off_reason)),
	LIST("webhooks", gw_conf_integration_webhook, webhooks, n_webhooks, WH_OFF(off_reason)),
	{ NULL, NULL, 0, 0, 0 },
};

/* ---- checks between keys ------------------------------------------- */

static int check_token(const struct gw_integration_token *t, size_t i, char *err,
		       size_t errlen)
{
	static const char *const scopes[] = {"read", "reply", "manage"};

	for (size_t k = 0; k < t->scopes.n; k++) {
		size_t j = 0;

		while (j < 3 && strcmp(t->scopes.v[k], scopes[j]) != 0)
			j++;
		if (j == 3) {
			snprintf(err, errlen, "tokens[%zu].scopes: '%s' is not one of read, reply, "
				 "manage", i, t->scopes.v[k]);
			return GW_EINVAL;
		}
	}
	if (t->secret && strlen(t->secret) < 16) {
		snprintf(err, errlen, "tokens[%zu].secret: shorter than 16 bytes", i);
		return GW_EINVAL;
	}
	return GW_OK;
}

static int check_webhook(const struct gw_config_integration *in, size_t i, char *err,
			 size_t errlen)
{
	const struct gw_integration_webhook *w = &in->webhooks[i];

	if (strncmp(w->url, "http://", 7) != 0 && strncmp(w->url, "https://", 8) != 0) {
		snprintf(err, errlen, "webhooks[%zu].url: must start with http:// or https://", i);
		return GW_EINVAL;
	}
	if (w->secret && strlen(w->secret) < 16) {
		snprintf(err, errlen, "webhooks[%zu].secret: shorter than 16 bytes", i);
		return GW_EINVAL;
	}
	if (w->backoff_max_ms < w->backoff_min_ms) {
		snprintf(err, errlen, "webhooks[%zu].backoff_max_ms: below backoff_min_ms", i);
		return GW_EINVAL;
	}
	for (size_t j = 0; j < i; j++)
		if (strcmp(in->webhooks[j].name, w->name) == 0) {
			snprintf(err, errlen, "webhooks[%zu].name: '%s' is used twice", i, w->name);
			return GW_EINVAL;
		}
	for (const char *p = w->name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')) {
			snprintf(err, errlen, "webhooks[%zu].name: only letters, digits, '-', '_' "
				 "and '.'", i);
			return GW_EINVAL;
		}
	return GW_OK;
}

int gw_config_integration_check(const struct gw_config_integration *in, char *err,
				size_t errlen)
{
	int rc = GW_OK;

	for (size_t i = 0; rc == GW_OK && i < in->n_tokens; i++) {
		rc = check_token(&in->tokens[i], i, err, errlen);
		for (size_t j = 0; rc == GW_OK && j < i; j++)
			if (strcmp(in->tokens[j].name, in->tokens[i].name) == 0) {
				snprintf(err, errlen, "tokens[%zu].name: '%s' is used twice", i,
					 in->tokens[i].name);
				rc = GW_EINVAL;
			}
	}
	for (size_t i = 0; rc == GW_OK && i < in->n_webhooks; i++)
		rc = check_webhook(in, i, err, errlen);
	return rc;
}

/*
 * api_config.c - the config table of the `api` connector type and its
 * check (api_config.h), read by every process through the light registry.
 */
#include "connectors/api/api_config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "proto/proto.h"

#define API_TOKEN_MAX 1024      /* longest bearer token accepted in the config */

#define API_OFF(m) offsetof(struct api_settings, m)

static const struct conf_entry api_conf_entries[] = {
	{.kind = CONF_LISTEN, .key = "listen", .def = "127.0.0.1:8088", .offset = API_OFF(listen),
	 .desc = "address:port the HTTP server listens on; keep it on loopback behind a TLS "
		 "proxy"},
	{.kind = CONF_SECRET, .key = "token", .max = API_TOKEN_MAX, .flags = CONF_F_REQUIRED,
	 .offset = API_OFF(token),
	 .desc = "bearer token clients send as \"Authorization: Bearer <token>\"; use ${ENV}"},
	{.kind = CONF_STRING, .key = "account", .max = PROTO_MAX_ACCOUNT,
	 .offset = API_OFF(account),
	 .desc = "`account` of the events this instance emits; default: the instance name"},
	{.kind = CONF_INT, .key = "max_body_bytes", .def = "1048576", .min = 1024,
	 .max = 67108864, .offset = API_OFF(max_body_bytes),
	 .desc = "requests with a larger body are answered 413 without reading it"},
	{.kind = CONF_INT, .key = "max_text_bytes", .def = "1048576", .min = 1,
	 .max = 1048576, .offset = API_OFF(max_text_bytes),
	 .desc = "a message whose text is longer is answered 400 and its body kept in the "
		 "quarantine (gatewayctl quarantine reingest reads it with the current value)"},
	{.kind = CONF_INT, .key = "max_connections", .def = "1024", .min = 1, .max = 65536,
	 .offset = API_OFF(max_connections),
	 .desc = "concurrent HTTP connections; past it the one idle the longest is closed for "
		 "a new one, or the new one is answered 503 when none is idle"},
	{.kind = CONF_INT, .key = "spool_max", .def = "1000000", .min = 1000, .max = 100000000,
	 .offset = API_OFF(spool_max),
	 .desc = "accepted messages not yet routed kept at most; past it requests get 503"},
	{.kind = CONF_INT, .key = "spool_map_mb", .def = "1024", .min = 16, .max = 1048576,
	 .offset = API_OFF(spool_map_mb),
	 .desc = "LMDB map size of the spool in MiB (disk is used only as it fills)"},
	LIMITS_CONF_ROWS(API_OFF),
	{.kind = CONF_STRING, .key = "callback_url", .max = API_CB_URL_MAX,
	 .offset = API_OFF(callback_url),
	 .desc = "replies are POSTed here as signed JSON (https; http only to loopback); "
		 "none: replies fail"},
	{.kind = CONF_SECRET, .key = "callback_secret", .max = API_TOKEN_MAX,
	 .offset = API_OFF(callback_secret),
	 .desc = "HMAC-SHA256 key of X-Omnigate-Signature, 16 bytes at least; required with "
		 "callback_url; use ${ENV}"},
	{.kind = CONF_BOOL, .key = "callback_insecure", .def = "false",
	 .offset = API_OFF(callback_insecure),
	 .desc = "allow a plain http callback_url to a host that is not loopback"},
	{.kind = CONF_INT, .key = "callback_max_inline_bytes", .def = "10485760", .min = 0,
	 .max = 67108864, .offset = API_OFF(callback_max_inline_bytes),
	 .desc = "stored attachments of a reply sent inline (base64) in its callback at most, "
		 "in all; a reply with more fails"},
	SENDER_CONF_ROWS_RETRY(API_OFF, "21600"),
	HTTPD_CONF_ROWS(API_OFF, "64", "12000", "2000"),
};

const struct conf_section api_conf_section = {
	.name = "connectors[type=api]",
	.entries = api_conf_entries,
	.n_entries = sizeof(api_conf_entries) / sizeof(api_conf_entries[0]),
	.struct_size = sizeof(struct api_settings),
	.desc = "The API channel: POST /v1/messages with a bearer token, for SMS "
		"providers, web forms and in-house applications; replies POSTed to "
		"callback_url, signed (docs/channels/api.md).",
};

/* loopback_host - the host of an http URL (after "http://", up to ':', '/'
 * or the end) is 127.x, [::1] or localhost. */
static int loopback_host(const char *h)
{
	size_t n = strcspn(h, ":/?#");

	if (h[0] == '[')
		return strncmp(h, "[::1]", 5) == 0;
	return (n == 9 && strncasecmp(h, "localhost", 9) == 0) || strncmp(h, "127.", 4) == 0;
}

/* check_callback_url - what the config can say of callback_url without a
 * URL library: its scheme, a host, no credentials, no blanks, and plain
 * http to loopback only (unless insecure). The connector parses it fully
 * with libcurl when it starts. */
static int check_callback_url(const char *url, bool insecure, char *why, size_t whylen)
{
	const char *h = NULL;

	if (strncasecmp(url, "https://", 8) == 0)
		h = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		h = url + 7;
	if (!h || !h[0] || strchr(":/?#", h[0])) {
		snprintf(why, whylen, "callback_url: must be an http:// or https:// URL with a host");
		return GW_ECONFIG;
	}
	if (strpbrk(url, " \t\r\n") || memchr(h, '@', strcspn(h, "/?#"))) {
		snprintf(why, whylen, "callback_url: no blanks, and no user or password in it");
		return GW_ECONFIG;
	}
	if (h == url + 7 && !insecure && !loopback_host(h)) {
		snprintf(why, whylen, "callback_url: plain http only to a loopback address; use "
			 "https, or set callback_insecure: true");
		return GW_ECONFIG;
	}
	return GW_OK;
}

static int api_check(const void *settings, char *why, size_t whylen)
{
	const struct api_settings *s = settings;

	if (!s || !s->token || !s->token[0]) {
		snprintf(why, whylen, "token: empty; set a bearer token");
		return GW_ECONFIG;
	}
	if (!s->callback_url || !s->callback_url[0])
		return GW_OK; /* no replies: each one fails, saying so */
	if (check_callback_url(s->callback_url, s->callback_insecure, why, whylen) != GW_OK)
		return GW_ECONFIG;
	if (!s->callback_secret || strlen(s->callback_secret) < API_CB_SECRET_MIN) {
		snprintf(why, whylen, "callback_secret: %s; callback_url needs a secret of %d "
			 "bytes at least (openssl rand -hex 32)",
			 s->callback_secret && s->callback_secret[0] ? "too short" : "not set",
			 API_CB_SECRET_MIN);
		return GW_ECONFIG;
	}
	return GW_OK;
}

const struct gw_connector_conf_type api_conf_type = {
	.name = "api",
	.section = &api_conf_section,
	.check = api_check,
};

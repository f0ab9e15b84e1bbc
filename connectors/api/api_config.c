/*
 * api_config.c - the config table of the `api` connector type and its
 * check (api_config.h), read by every process through the light registry.
 */
#include "connectors/api/api_config.h"

#include <stddef.h>
#include <stdio.h>

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
	{.kind = CONF_INT, .key = "max_connections", .def = "1024", .min = 1, .max = 65536,
	 .offset = API_OFF(max_connections),
	 .desc = "concurrent HTTP connections; more wait in the listen backlog"},
	{.kind = CONF_INT, .key = "spool_max", .def = "1000000", .min = 1000, .max = 100000000,
	 .offset = API_OFF(spool_max),
	 .desc = "accepted messages not yet routed kept at most; past it requests get 503"},
	{.kind = CONF_INT, .key = "spool_map_mb", .def = "1024", .min = 16, .max = 1048576,
	 .offset = API_OFF(spool_map_mb),
	 .desc = "LMDB map size of the spool in MiB (disk is used only as it fills)"},
};

const struct conf_section api_conf_section = {
	.name = "connectors[type=api]",
	.entries = api_conf_entries,
	.n_entries = sizeof(api_conf_entries) / sizeof(api_conf_entries[0]),
	.struct_size = sizeof(struct api_settings),
	.desc = "The API channel: POST /v1/messages with a bearer token, for SMS "
		"providers, web forms and in-house applications "
		"(docs/channels/api.md).",
};

static int api_check(const void *settings, char *why, size_t whylen)
{
	const struct api_settings *s = settings;

	if (!s || !s->token || !s->token[0]) {
		snprintf(why, whylen, "token: empty; set a bearer token");
		return GW_ECONFIG;
	}
	return GW_OK;
}

const struct gw_connector_conf_type api_conf_type = {
	.name = "api",
	.section = &api_conf_section,
	.check = api_check,
};

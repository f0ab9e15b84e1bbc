/*
 * livechat_config.c - the config table of the `livechat` connector type
 * and its check (livechat_config.h), read by every process through the
 * light registry.
 */
#include "connectors/livechat/livechat_config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

#define LC_SECRET_MAX 1024
#define LC_SECRET_MIN 16
#define LC_ORIGINS_MAX 4096

#define LC_OFF(m) offsetof(struct livechat_settings, m)

static const struct conf_entry lc_conf_entries[] = {
	{.kind = CONF_LISTEN, .key = "listen", .def = "127.0.0.1:8090", .offset = LC_OFF(listen),
	 .desc = "address:port of the widget files and the /chat websocket; behind a TLS "
		 "proxy"},
	{.kind = CONF_SECRET, .key = "secret", .max = LC_SECRET_MAX, .flags = CONF_F_REQUIRED,
	 .offset = LC_OFF(secret),
	 .desc = "HMAC key that signs visitor tokens; use ${ENV}; changing it starts new "
		 "conversations"},
	{.kind = CONF_SECRET, .key = "identity_secret", .max = LC_SECRET_MAX,
	 .offset = LC_OFF(identity_secret),
	 .desc = "HMAC key of site-signed identities (\"id|email|name\"); unset: identities "
		 "ignored"},
	{.kind = CONF_STRING, .key = "allowed_origins", .max = LC_ORIGINS_MAX,
	 .offset = LC_OFF(allowed_origins),
	 .desc = "comma-separated Origins (https://shop.example) allowed to open the "
		 "websocket; empty: only pages of the same host"},
	{.kind = CONF_INT, .key = "max_message_bytes", .def = "4096", .min = 16, .max = 1048576,
	 .offset = LC_OFF(max_message_bytes),
	 .desc = "longest message text; longer ones get a too_large error"},
	{.kind = CONF_INT, .key = "messages_per_second", .def = "5", .min = 1, .max = 1000,
	 .offset = LC_OFF(messages_per_second),
	 .desc = "messages a visitor (all their tabs) may send per second (sustained)"},
	{.kind = CONF_INT, .key = "messages_burst", .def = "10", .min = 1, .max = 10000,
	 .offset = LC_OFF(messages_burst),
	 .desc = "messages a visitor may send at once before the rate applies"},
	LISTEN_CONN_ROWS(LC_OFF, "20"),
	LISTEN_RATE_ROWS(LC_OFF, "600", "120"),
	{.kind = CONF_INT, .key = "max_connections", .def = "10000", .min = 1, .max = 1000000,
	 .offset = LC_OFF(max_connections),
	 .desc = "concurrent connections (websockets and HTTP); past it the one idle the "
		 "longest is closed for a new one, or the new one is answered 503 when none "
		 "is idle"},
	{.kind = CONF_INT, .key = "spool_max", .def = "1000000", .min = 1000, .max = 100000000,
	 .offset = LC_OFF(spool_max),
	 .desc = "accepted messages not yet routed kept at most; past it messages get an "
		 "error"},
	{.kind = CONF_INT, .key = "spool_map_mb", .def = "1024", .min = 16, .max = 1048576,
	 .offset = LC_OFF(spool_map_mb),
	 .desc = "LMDB map size of the spool in MiB (disk is used only as it fills)"},
	LIMITS_CONF_ROWS(LC_OFF),
	{.kind = CONF_INT, .key = "chatlog_map_mb", .def = "1024", .min = 16, .max = 1048576,
	 .offset = LC_OFF(chatlog_map_mb),
	 .desc = "LMDB map size of the conversation log in MiB"},
	{.kind = CONF_PATH, .key = "web_dir", .max = 1024, .offset = LC_OFF(web_dir),
	 .desc = "folder of widget.js and index.html; default: the files installed with the "
		 "gateway"},
	{.kind = CONF_INT, .key = "max_file_bytes", .def = "10485760", .min = 1024,
	 .max = 104857600, .offset = LC_OFF(max_file_bytes),
	 .desc = "largest file a visitor may attach (POST /upload); larger: 413"},
	{.kind = CONF_STRING, .key = "file_types", .max = LC_ORIGINS_MAX,
	 .def = "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain",
	 .offset = LC_OFF(file_types),
	 .desc = "comma-separated media types a visitor may attach, checked against the "
		 "file's content (image/png, image/jpeg, image/gif, image/webp, application/pdf, "
		 "text/plain are recognised); others: 415"},
	{.kind = CONF_STRING, .key = "queue", .max = 128, .offset = LC_OFF(queue),
	 .desc = "the queue (routing.queues[].name) whose availability the widget shows; "
		 "empty: routing.default_queue"},
	{.kind = CONF_STRING, .key = "away_text", .max = LC_ORIGINS_MAX,
	 .def = "en=Nobody is available right now. Leave your message and your email: we will "
		"answer by email.",
	 .offset = LC_OFF(away_text),
	 .desc = "shown before the visitor writes when no agent of the queue is available, per "
		 "language: \"en=...|fr=...\" (the browser's language, else en, else the first)"},
	{.kind = CONF_STRING, .key = "closed_text", .max = LC_ORIGINS_MAX,
	 .def = "en=We are closed right now. Leave your message and your email: we will answer "
		"by email.",
	 .offset = LC_OFF(closed_text),
	 .desc = "shown when the queue is outside its business hours, per language as "
		 "away_text"},
};

const struct conf_section livechat_conf_section = {
	.name = "connectors[type=livechat]",
	.entries = lc_conf_entries,
	.n_entries = sizeof(lc_conf_entries) / sizeof(lc_conf_entries[0]),
	.struct_size = sizeof(struct livechat_settings),
	.desc = "Live chat on a web site: the widget (widget.js) and its websocket "
		"(docs/channels/livechat.md).",
};

static int lc_check(const void *settings, char *why, size_t whylen)
{
	const struct livechat_settings *s = settings;

	if (!s || !s->secret || strlen(s->secret) < LC_SECRET_MIN) {
		snprintf(why, whylen, "secret: set at least 16 characters (e.g. ${GATEWAY_LIVECHAT_SECRET})");
		return GW_ECONFIG;
	}
	return GW_OK;
}

const struct gw_connector_conf_type livechat_conf_type = {
	.name = "livechat",
	.section = &livechat_conf_section,
	.check = lc_check,
};

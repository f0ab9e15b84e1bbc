/*
 * telegram_config.c - the config table of the `telegram` connector type
 * and its check (telegram_config.h), read by every process through the
 * light registry.
 */
#include "connectors/telegram/telegram_config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "connectors/httpd.h"
#include "core/err.h"
#include "proto/proto.h"

#define TG_PATH_MAX 256        /* longest webhook path */
#define TG_UPDATE_NAME_MAX 64  /* longest allowed_updates item */

#define TG_OFF(m) offsetof(struct telegram_settings, m)

static const struct conf_entry telegram_conf_entries[] = {
	{.kind = CONF_SECRET, .key = "token", .max = TG_TOKEN_MAX, .flags = CONF_F_REQUIRED,
	 .offset = TG_OFF(token),
	 .desc = "the bot's token from @BotFather (\"<bot id>:<secret>\"); use ${ENV}"},
	{.kind = CONF_STRING, .key = "mode", .def = "polling", .max = 16, .offset = TG_OFF(mode),
	 .desc = "how updates arrive: polling (getUpdates, no public URL needed) or webhook "
		 "(Telegram POSTs them to webhook_url)"},
	{.kind = CONF_STRING, .key = "account", .max = PROTO_MAX_ACCOUNT,
	 .offset = TG_OFF(account),
	 .desc = "`account` of the events this bot emits; default: the instance name"},
	{.kind = CONF_STRING, .key = "api_url", .def = "https://api.telegram.org",
	 .max = TG_URL_MAX, .offset = TG_OFF(api_url),
	 .desc = "the Bot API's base URL (a local Bot API server, or a test stand-in)"},
	{.kind = CONF_STRLIST, .key = "allowed_updates",
	 .def = "message,edited_message,callback_query,my_chat_member", .max = TG_UPDATE_NAME_MAX,
	 .offset = TG_OFF(allowed_updates),
	 .desc = "the update kinds asked for (getUpdates, setWebhook); kinds the connector "
		 "does not read are kept as kind unknown"},
	{.kind = CONF_INT, .key = "poll_timeout_s", .def = "25", .min = 0, .max = 50,
	 .offset = TG_OFF(poll_timeout_s),
	 .desc = "polling: how long one getUpdates waits for updates (long polling)"},
	{.kind = CONF_INT, .key = "poll_limit", .def = "100", .min = 1, .max = 100,
	 .offset = TG_OFF(poll_limit), .desc = "polling: updates asked for per getUpdates"},
	{.kind = CONF_INT, .key = "poll_max_bytes", .def = "16777216", .min = 65536,
	 .max = 268435456, .offset = TG_OFF(poll_max_bytes),
	 .desc = "polling: a larger getUpdates answer is refused and asked for again with "
		 "limit 1"},
	{.kind = CONF_LISTEN, .key = "listen", .def = "127.0.0.1:8091", .offset = TG_OFF(listen),
	 .desc = "webhook: address:port the webhook server listens on; keep it on loopback "
		 "behind a TLS proxy"},
	{.kind = CONF_STRING, .key = "path", .def = "/webhooks/telegram", .max = TG_PATH_MAX,
	 .offset = TG_OFF(path), .desc = "webhook: path of the webhook (webhook_url ends with it)"},
	{.kind = CONF_SECRET, .key = "secret_token", .max = TG_SECRET_TOKEN_MAX,
	 .offset = TG_OFF(secret_token),
	 .desc = "webhook: the X-Telegram-Bot-Api-Secret-Token every POST must carry, 1-256 "
		 "characters A-Z a-z 0-9 _ -; required in webhook mode; use ${ENV}"},
	{.kind = CONF_STRING, .key = "webhook_url", .max = TG_URL_MAX,
	 .offset = TG_OFF(webhook_url),
	 .desc = "webhook: the public https URL `gatewayctl telegram set-webhook` registers "
		 "(--url overrides it)"},
	{.kind = CONF_INT, .key = "max_body_bytes", .def = "1048576", .min = 1024,
	 .max = 67108864, .offset = TG_OFF(max_body_bytes),
	 .desc = "webhook: POSTs with a larger body are answered 413 without reading it"},
	{.kind = CONF_INT, .key = "max_connections", .def = "256", .min = 1, .max = 65536,
	 .offset = TG_OFF(max_connections),
	 .desc = "webhook: concurrent HTTP connections; past it the one idle the longest is "
		 "closed for a new one, or the new one is answered 503 when none is idle"},
	{.kind = CONF_BOOL, .key = "file_download", .def = "false",
	 .offset = TG_OFF(file_download),
	 .desc = "download the files of messages (getFile) into <state_dir>/attachments before "
		 "they are stored; off: events name them telegram-file:<file_id>"},
	{.kind = CONF_INT, .key = "file_max_bytes", .def = "20971520", .min = 1024,
	 .max = 67108864, .offset = TG_OFF(file_max_bytes),
	 .desc = "larger files are not downloaded (the event keeps the file_id); the Bot API "
		 "serves 20 MB at most; a file is held in memory while it downloads"},
	{.kind = CONF_INT, .key = "spool_max", .def = "1000000", .min = 1000, .max = 100000000,
	 .offset = TG_OFF(spool_max),
	 .desc = "accepted updates not yet routed kept at most; past it webhooks get 503 and "
		 "polling pauses"},
	{.kind = CONF_INT, .key = "spool_map_mb", .def = "1024", .min = 16, .max = 1048576,
	 .offset = TG_OFF(spool_map_mb),
	 .desc = "LMDB map size of the spool in MiB (disk is used only as it fills)"},
	SENDER_CONF_ROWS(TG_OFF),
	/* Webhook: Telegram's POSTs come from a few shared addresses, every
	 * chat's updates through them: a generous bucket, as for Meta. */
	HTTPD_CONF_ROWS(TG_OFF, "64", "60000", "10000"),
};

const struct conf_section telegram_conf_section = {
	.name = "connectors[type=telegram]",
	.entries = telegram_conf_entries,
	.n_entries = sizeof(telegram_conf_entries) / sizeof(telegram_conf_entries[0]),
	.struct_size = sizeof(struct telegram_settings),
	.desc = "One Telegram bot: its updates by long polling (getUpdates) or by webhook, "
		"replies through sendMessage, sendPhoto and sendDocument "
		"(docs/channels/telegram.md).",
};

enum tg_mode telegram_mode(const struct telegram_settings *s)
{
	return s->mode && strcmp(s->mode, "webhook") == 0 ? TG_MODE_WEBHOOK : TG_MODE_POLLING;
}

int telegram_bot_id(const char *token, char *out, size_t outlen)
{
	size_t n = token ? strspn(token, "0123456789") : 0;

	if (n == 0 || token[n] != ':' || !token[n + 1] || n >= outlen || n > TG_BOT_ID_MAX)
		return GW_EINVAL;
	memcpy(out, token, n);
	out[n] = '\0';
	return GW_OK;
}

int telegram_secret_token_ok(const char *s, size_t len)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				 "0123456789_-";

	if (!s || len == 0 || len > TG_SECRET_TOKEN_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!s[i] || !strchr(ok, s[i]))
			return 0;
	return 1;
}

/* tg_check_webhook - what webhook mode needs. */
static int tg_check_webhook(const struct telegram_settings *s, char *why, size_t whylen)
{
	if (!s->secret_token || !s->secret_token[0]) {
		snprintf(why, whylen, "secret_token: required in webhook mode (1-256 characters "
			 "A-Z a-z 0-9 _ -, e.g. openssl rand -hex 32)");
		return GW_ECONFIG;
	}
	if (!telegram_secret_token_ok(s->secret_token, strlen(s->secret_token))) {
		snprintf(why, whylen, "secret_token: 1-256 characters from A-Z a-z 0-9 _ - only "
			 "(the Bot API's rule)");
		return GW_ECONFIG;
	}
	return GW_OK;
}

/* tg_check_urls - api_url http(s), webhook_url https, path. */
static int tg_check_urls(const struct telegram_settings *s, char *why, size_t whylen)
{
	const char *u = s->api_url;

	if (!u || (strncasecmp(u, "https://", 8) != 0 && strncasecmp(u, "http://", 7) != 0) ||
	    strpbrk(u, " \t\r\n")) {
		snprintf(why, whylen, "api_url: must be an http:// or https:// URL");
		return GW_ECONFIG;
	}
	u = s->webhook_url;
	if (u && u[0] && (strncasecmp(u, "https://", 8) != 0 || strpbrk(u, " \t\r\n"))) {
		snprintf(why, whylen, "webhook_url: must be an https:// URL (Telegram calls "
			 "webhooks over HTTPS only)");
		return GW_ECONFIG;
	}
	if (!s->path || s->path[0] != '/' || strcmp(s->path, HTTPD_PATH_HEALTH) == 0) {
		snprintf(why, whylen, "path: must start with / and not be " HTTPD_PATH_HEALTH);
		return GW_ECONFIG;
	}
	return GW_OK;
}

static int telegram_check(const void *settings, char *why, size_t whylen)
{
	const struct telegram_settings *s = settings;
	char id[TG_BOT_ID_MAX + 1];

	if (!s || !s->token || !s->token[0]) {
		snprintf(why, whylen, "token: empty; set the bot's token from @BotFather");
		return GW_ECONFIG;
	}
	if (telegram_bot_id(s->token, id, sizeof(id)) != GW_OK) {
		snprintf(why, whylen, "token: not of the form <bot id>:<secret> that @BotFather "
			 "gives");
		return GW_ECONFIG;
	}
	if (!s->mode || (strcmp(s->mode, "polling") != 0 && strcmp(s->mode, "webhook") != 0)) {
		snprintf(why, whylen, "mode: must be polling or webhook");
		return GW_ECONFIG;
	}
	for (size_t i = 0; i < s->allowed_updates.n; i++) {
		const char *k = s->allowed_updates.v[i];

		if (!k[0] || strspn(k, "abcdefghijklmnopqrstuvwxyz_") != strlen(k)) {
			snprintf(why, whylen, "allowed_updates: \"%.64s\" is not an update kind "
				 "(lowercase letters and _)", k);
			return GW_ECONFIG;
		}
	}
	if (tg_check_urls(s, why, whylen) != GW_OK)
		return GW_ECONFIG;
	return telegram_mode(s) == TG_MODE_WEBHOOK ? tg_check_webhook(s, why, whylen) : GW_OK;
}

const struct gw_connector_conf_type telegram_conf_type = {
	.name = "telegram",
	.section = &telegram_conf_section,
	.check = telegram_check,
};

/*
 * telegram_config.h - the settings of one `type: telegram` instance (one
 * bot) and their config table (telegram_config.c). Needs nothing beyond
 * core/config.h: every process that reads the config links it
 * (connectors/channels.def), gateway-telegram too.
 */
#ifndef GW_CONNECTOR_TELEGRAM_CONFIG_H
#define GW_CONNECTOR_TELEGRAM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "connectors/httpd_config.h"
#include "connectors/sender_config.h"
#include "core/config.h"

#define TG_TOKEN_MAX 256         /* longest bot token */
#define TG_SECRET_TOKEN_MAX 256  /* the Bot API's limit of secret_token */
#define TG_URL_MAX 2048          /* longest api_url, webhook_url */
#define TG_BOT_ID_MAX 32         /* digits of a bot id */

/* How updates arrive (`mode`). */
enum tg_mode { TG_MODE_POLLING = 0, TG_MODE_WEBHOOK };

/* Settings of one `type: telegram` instance, filled from its config table. */
struct telegram_settings {
	char *token;               /* the bot's token from BotFather (secret, required) */
	char *account;             /* `account` of its events; default: the instance name */
	char *mode;                /* "polling" or "webhook" */
	char *api_url;             /* the Bot API's base URL */
	struct conf_strlist allowed_updates; /* the update kinds asked for */
	/* polling */
	long long poll_timeout_s;  /* getUpdates `timeout` (long polling) */
	long long poll_limit;      /* getUpdates `limit` */
	long long poll_max_bytes;  /* largest getUpdates answer read */
	/* webhook */
	struct conf_listen listen; /* default 127.0.0.1:8091 */
	char *path;                /* webhook path */
	char *secret_token;        /* X-Telegram-Bot-Api-Secret-Token (secret) */
	char *webhook_url;         /* the public URL setWebhook registers */
	long long max_body_bytes;  /* larger bodies get 413 */
	long long max_connections; /* concurrent HTTP connections */
	/* files */
	bool file_download;        /* getFile + download into the attachments */
	long long file_max_bytes;  /* larger files keep their file_id */
	/* spool */
	long long spool_max;
	long long spool_map_mb;
	struct sender_settings send;
	struct httpd_limits limits; /* webhook: floods (HTTPD_CONF_ROWS) */
};

/* telegram_conf_section - the keys of `type: telegram`. */
extern const struct conf_section telegram_conf_section;

/*
 * telegram_conf_type - the section and its check: a token of the form
 * "<bot id>:<secret>", mode polling or webhook, an http(s) api_url, a
 * path that starts with / and is not the health check's; in webhook mode
 * a secret_token of 1 to 256 characters A-Z a-z 0-9 _ - (the Bot API's
 * rule); a webhook_url, when set, is https.
 */
extern const struct gw_connector_conf_type telegram_conf_type;

/* telegram_mode - the mode of validated settings. */
enum tg_mode telegram_mode(const struct telegram_settings *s);

/*
 * telegram_bot_id - the bot id of `token` (the digits before ':') into
 * `out` (`outlen` bytes). Returns GW_OK, or GW_EINVAL when the token does
 * not have the form "<digits>:<secret>" or the id does not fit.
 */
int telegram_bot_id(const char *token, char *out, size_t outlen);

/*
 * telegram_secret_token_ok - 1 when `s` (`len` bytes) may be a
 * secret_token: 1 to 256 characters from A-Z a-z 0-9 _ -.
 */
int telegram_secret_token_ok(const char *s, size_t len);

#endif

/*
 * api_config.h - the settings of one `type: api` instance and their config
 * table (api_config.c). Needs nothing beyond core/config.h: every process
 * that reads the config links it (connectors/channels.def).
 */
#ifndef GW_CONNECTOR_API_CONFIG_H
#define GW_CONNECTOR_API_CONFIG_H

#include <stdbool.h>

#include "connectors/httpd_config.h"
#include "connectors/sender_config.h"
#include "connectors/limits_config.h"
#include "core/config.h"

#define API_CB_URL_MAX 2048  /* longest callback_url */
#define API_CB_SECRET_MIN 16 /* shortest callback_secret */

/* Settings of one `type: api` instance, filled from its config table. */
struct api_settings {
	struct conf_listen listen; /* default 127.0.0.1:8088 */
	char *token;               /* bearer token (secret, required) */
	char *account;             /* `account` of its events; default: instance name */
	long long max_body_bytes;  /* larger bodies get 413 */
	long long max_text_bytes;  /* a longer `text`: 400, the body kept */
	long long max_connections; /* concurrent HTTP connections */
	long long spool_max;       /* accepted-but-unrouted messages kept at most */
	long long spool_map_mb;    /* LMDB map size of the spool */
	/* Replies (api_reply.h): POSTed, signed, to callback_url. */
	char *callback_url;        /* NULL: replies fail, saying so */
	char *callback_secret;     /* HMAC key (secret, required with a URL) */
	bool callback_insecure;    /* plain http to a host that is not loopback */
	long long callback_max_inline_bytes; /* stored attachments sent inline */
	struct sender_settings send;
	struct httpd_limits limits; /* floods (HTTPD_CONF_ROWS) */
	struct limits_settings senders; /* LIMITS_CONF_ROWS: per-sender limits, quarantine */
};

/* api_conf_section - the keys of `type: api`, filling struct api_settings. */
extern const struct conf_section api_conf_section;

/* api_conf_type - the section and its check: the token must not be empty;
 * a callback_url is an http(s) URL (plain http to loopback only, unless
 * callback_insecure) with a callback_secret of API_CB_SECRET_MIN bytes. */
extern const struct gw_connector_conf_type api_conf_type;

#endif

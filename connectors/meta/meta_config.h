/*
 * meta_config.h - the settings of one `type: meta` instance and their
 * config table (meta_config.c). Needs nothing beyond core/config.h: every
 * process that reads the config links it (connectors/channels.def).
 */
#ifndef GW_CONNECTOR_META_CONFIG_H
#define GW_CONNECTOR_META_CONFIG_H

#include <stdbool.h>

#include "connectors/httpd_config.h"
#include "connectors/sender_config.h"
#include "connectors/limits_config.h"
#include "core/config.h"

#define META_SECRET_MAX 1024    /* longest app secret, verify or access token */
#define META_ENV_MAX 128        /* longest environment variable name in page_tokens */

/* Settings of one `type: meta` instance, filled from its config table. */
struct meta_settings {
	struct conf_listen listen; /* default 127.0.0.1:8089 */
	char *path;                /* webhook path, default /webhooks/meta */
	char *app_secret;          /* signs every POST (secret, required) */
	char *verify_token;        /* echoed by the subscription handshake (secret, required) */
	long long max_body_bytes;  /* larger bodies get 413 */
	long long max_connections; /* concurrent HTTP connections */
	long long spool_max;       /* accepted-but-unrouted events kept at most */
	long long spool_map_mb;    /* LMDB map size of the spool */
	bool media_download;       /* fetch the files of messages into media_dir */
	char *graph_url;           /* Graph API base URL */
	char *access_token;        /* Graph API token (secret): WhatsApp replies, media */
	long long media_max_bytes; /* larger media are not downloaded */
	char *media_dir;           /* default <state_dir>/attachments */
	struct conf_strlist page_tokens; /* "<account id>=<ENV>": Messenger/Instagram replies */
	bool human_agent_tag;      /* Messenger/Instagram: answer up to 7 days (HUMAN_AGENT) */
	struct sender_settings send; /* replies toward the Graph API (SENDER_CONF_ROWS) */
	struct httpd_limits limits;  /* floods (HTTPD_CONF_ROWS) */
	struct limits_settings senders; /* LIMITS_CONF_ROWS: per-sender limits, quarantine */
};

/* meta_conf_section - the keys of `type: meta`, filling struct meta_settings. */
extern const struct conf_section meta_conf_section;

/*
 * meta_conf_type - the section and its check: app_secret and verify_token
 * set, a path that starts with / and is not the health check's, an
 * access_token when media_download is on, page_tokens entries of the form
 * "<account id>=<ENVIRONMENT_VARIABLE>".
 */
extern const struct gw_connector_conf_type meta_conf_type;

#endif

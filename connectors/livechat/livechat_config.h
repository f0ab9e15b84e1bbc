/*
 * livechat_config.h - the settings of one `type: livechat` instance and
 * their config table (livechat_config.c). Needs nothing beyond
 * core/config.h: every process that reads the config links it
 * (connectors/channels.def).
 */
#ifndef GW_CONNECTOR_LIVECHAT_CONFIG_H
#define GW_CONNECTOR_LIVECHAT_CONFIG_H

#include "connectors/httpd_config.h"
#include "connectors/limits_config.h"
#include "core/config.h"

/* Settings of one `type: livechat` instance, filled from its config table. */
struct livechat_settings {
	struct conf_listen listen;          /* default 127.0.0.1:8090 */
	char *secret;                       /* HMAC key of visitor tokens (secret, required) */
	char *identity_secret;              /* HMAC key of site-signed identities (optional) */
	char *allowed_origins;              /* comma-separated; empty: same host only */
	long long max_message_bytes;        /* longest message text */
	long long messages_per_second;      /* per visitor, sustained */
	long long messages_burst;           /* per visitor, burst */
	struct httpd_limits limits;         /* floods (LISTEN_CONN_ROWS, LISTEN_RATE_ROWS) */
	long long max_connections;
	long long spool_max;                /* accepted-but-unrouted events kept at most */
	long long spool_map_mb;             /* LMDB map size of the spool */
	long long chatlog_map_mb;           /* LMDB map size of the conversation log */
	char *web_dir;                      /* widget files; default: the installed ones */
	long long max_file_bytes;           /* largest file a visitor may upload */
	char *file_types;                   /* comma-separated media types allowed */
	char *queue;                        /* queue whose availability is shown; "" default */
	char *away_text;                    /* "lang=text|lang=text": nobody available */
	char *closed_text;                  /* the same, outside business hours */
	struct limits_settings senders; /* LIMITS_CONF_ROWS: per-sender limits, quarantine */
};

/* livechat_conf_section - the keys of `type: livechat`. */
extern const struct conf_section livechat_conf_section;

/* livechat_conf_type - the section and its check: a secret of 16 characters. */
extern const struct gw_connector_conf_type livechat_conf_type;

#endif

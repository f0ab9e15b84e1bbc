/*
 * sms_config.h - the settings of one `type: sms` instance (a Twilio
 * account's numbers, docs/channels/sms.md) and their config table
 * (sms_config.c). Needs nothing beyond core/config.h: every process that
 * reads the config links it (connectors/channels.def).
 */
#ifndef GW_CONNECTOR_SMS_CONFIG_H
#define GW_CONNECTOR_SMS_CONFIG_H

#include <stdbool.h>

#include "connectors/httpd_config.h"
#include "connectors/limits_config.h"
#include "connectors/sender_config.h"
#include "core/config.h"

#define SMS_SECRET_MAX 1024   /* longest auth token */
#define SMS_URL_MAX 1024      /* longest public_url, api_base */
#define SMS_PATH_MAX 256      /* longest webhook path */
#define SMS_SID_LEN 34        /* "AC" + 32 hex digits */

/* Settings of one `type: sms` instance, filled from its config table. */
struct sms_settings {
	struct conf_listen listen;  /* default 127.0.0.1:8092 */
	char *path;                 /* incoming messages, default /webhooks/sms */
	char *status_path;          /* status callbacks, default /webhooks/sms/status */
	char *public_url;           /* what Twilio calls, before the path (required) */
	char *account_sid;          /* AC..., in the REST URL and basic auth (required) */
	char *auth_token;           /* signs webhooks, basic auth password (secret, required) */
	char *account;              /* `account` of its events; default: instance name */
	char *api_base;             /* REST API base, default https://api.twilio.com */
	bool status_callback;       /* replies ask for status callbacks */
	bool media_download;        /* MMS files into the attachment store */
	long long media_max_bytes;  /* larger files keep their URL */
	long long max_body_bytes;   /* larger bodies get 413 */
	long long max_connections;  /* concurrent HTTP connections */
	long long spool_max;        /* accepted-but-unrouted events kept at most */
	long long spool_map_mb;     /* LMDB map size of the spool */
	long long contacts_map_mb;  /* LMDB map size of the customers' numbers */
	struct sender_settings send;
	struct httpd_limits limits;     /* floods (HTTPD_CONF_ROWS) */
	struct limits_settings senders; /* LIMITS_CONF_ROWS: per-sender limits, quarantine */
};

/* sms_conf_section - the keys of `type: sms`, filling struct sms_settings. */
extern const struct conf_section sms_conf_section;

/*
 * sms_conf_type - the section and its check: account_sid is "AC" and 32
 * hex digits, an auth_token is set, public_url is an http(s) URL with a
 * host and no query, fragment, credentials or trailing "/", the paths
 * start with "/" and differ from each other and from /healthz, api_base is
 * https (plain http only to a loopback address) without a trailing "/".
 */
extern const struct gw_connector_conf_type sms_conf_type;

#endif

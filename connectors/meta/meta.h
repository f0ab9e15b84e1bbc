/*
 * meta.h - the Meta channel: one webhook endpoint for one Meta app, which
 * receives WhatsApp Cloud API, Messenger and Instagram events of every
 * phone number, page and account subscribed to that app
 * (docs/channels/whatsapp.md, messenger.md, instagram.md).
 */
#ifndef GW_CONNECTOR_META_H
#define GW_CONNECTOR_META_H

#include <stdbool.h>

#include "connectors/connector.h"
#include "connectors/sender.h"

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
	bool media_download;       /* fetch WhatsApp media into media_dir */
	char *graph_url;           /* Graph API base URL */
	char *access_token;        /* Graph API token (secret): WhatsApp replies, media */
	long long media_max_bytes; /* larger media are not downloaded */
	char *media_dir;           /* default <state_dir>/attachments */
	struct conf_strlist page_tokens; /* "<account id>=<ENV>": Messenger/Instagram replies */
	bool human_agent_tag;      /* Messenger/Instagram: answer up to 7 days (HUMAN_AGENT) */
	struct sender_settings send; /* replies toward the Graph API (SENDER_CONF_ROWS) */
};

extern const struct connector_type connector_meta;

#endif

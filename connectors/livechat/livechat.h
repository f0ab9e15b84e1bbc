/*
 * livechat.h - the live-chat channel: a websocket server ("gateway-chat" at
 * /chat) for the browser widget served from the same port
 * (docs/channels/livechat.md).
 */
#ifndef GW_CONNECTOR_LIVECHAT_H
#define GW_CONNECTOR_LIVECHAT_H

#include "connectors/connector.h"

/* Settings of one `type: livechat` instance, filled from its config table. */
struct livechat_settings {
	struct conf_listen listen;          /* default 127.0.0.1:8090 */
	char *secret;                       /* HMAC key of visitor tokens (secret, required) */
	char *identity_secret;              /* HMAC key of site-signed identities (optional) */
	char *allowed_origins;              /* comma-separated; empty: same host only */
	long long max_message_bytes;        /* longest message text */
	long long messages_per_second;      /* per visitor, sustained */
	long long messages_burst;           /* per visitor, burst */
	long long max_connections_per_ip;
	long long max_connections;
	long long spool_max;                /* accepted-but-unrouted events kept at most */
	long long spool_map_mb;             /* LMDB map size of the spool */
	long long chatlog_map_mb;           /* LMDB map size of the conversation log */
	char *web_dir;                      /* widget files; default: the installed ones */
};

extern const struct connector_type connector_livechat;

#endif

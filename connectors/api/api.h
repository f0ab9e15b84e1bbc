/*
 * api.h - the API channel: POST /v1/messages for custom sources, replies
 * POSTed to the client's callback_url, their statuses reported back with
 * POST /v1/messages/{id}/status. See docs/channels/api.md for the HTTP
 * contract.
 */
#ifndef GW_CONNECTOR_API_H
#define GW_CONNECTOR_API_H

#include <stdbool.h>

#include "connectors/connector.h"
#include "connectors/sender.h"

/* Settings of one `type: api` instance, filled from its config table. */
struct api_settings {
	struct conf_listen listen; /* default 127.0.0.1:8088 */
	char *token;               /* bearer token (secret, required) */
	char *account;             /* `account` of its events; default: instance name */
	long long max_body_bytes;  /* larger bodies get 413 */
	long long max_connections; /* concurrent HTTP connections */
	long long spool_max;       /* accepted-but-unrouted messages kept at most */
	long long spool_map_mb;    /* LMDB map size of the spool */
	/* Replies (api_reply.h): POSTed, signed, to callback_url. */
	char *callback_url;        /* NULL: replies fail, saying so */
	char *callback_secret;     /* HMAC key (secret, required with a URL) */
	bool callback_insecure;    /* plain http to a host that is not loopback */
	long long callback_max_inline_bytes; /* stored attachments sent inline */
	struct sender_settings send;
};

extern const struct connector_type connector_api;

#endif

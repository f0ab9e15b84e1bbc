/*
 * api.h - the API channel: POST /v1/messages for custom sources.
 * See docs/channels/api.md for the HTTP contract.
 */
#ifndef GW_CONNECTOR_API_H
#define GW_CONNECTOR_API_H

#include "connectors/connector.h"

/* Settings of one `type: api` instance, filled from its config table. */
struct api_settings {
	struct conf_listen listen; /* default 127.0.0.1:8088 */
	char *token;               /* bearer token (secret, required) */
	char *account;             /* `account` of its events; default: instance name */
	long long max_body_bytes;  /* larger bodies get 413 */
	long long max_connections; /* concurrent HTTP connections */
	long long spool_max;       /* accepted-but-unrouted messages kept at most */
	long long spool_map_mb;    /* LMDB map size of the spool */
};

extern const struct connector_type connector_api;

#endif

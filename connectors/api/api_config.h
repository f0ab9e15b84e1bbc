/*
 * api_config.h - the settings of one `type: api` instance and their config
 * table (api_config.c). Needs nothing beyond core/config.h: every process
 * that reads the config links it (connectors/channels.def).
 */
#ifndef GW_CONNECTOR_API_CONFIG_H
#define GW_CONNECTOR_API_CONFIG_H

#include "core/config.h"

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

/* api_conf_section - the keys of `type: api`, filling struct api_settings. */
extern const struct conf_section api_conf_section;

/* api_conf_type - the section and its check: the token must not be empty. */
extern const struct gw_connector_conf_type api_conf_type;

#endif

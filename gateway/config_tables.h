/*
 * config_tables.h - the sections gw_config owns itself: the top level, the
 * common keys of every connectors[] entry, `router` and `supervisor`. Each
 * connector type owns the table of its own keys (connector_type.config).
 * Internal to gw_config: other modules read the filled structs of config.h.
 */
#ifndef GW_CONFIG_TABLES_H
#define GW_CONFIG_TABLES_H

#include "gateway/config.h"

/* state_dir, log_level: rows filling struct gw_config. */
extern const struct conf_section gw_conf_top;
/* name, type, enabled: rows filling struct gw_connector_conf. */
extern const struct conf_section gw_conf_connector;
/* router: rows filling struct gw_config_router. */
extern const struct conf_section gw_conf_router;
/* supervisor: rows filling struct gw_config_supervisor. */
extern const struct conf_section gw_conf_supervisor;

/* Longest endpoint accepted when a CONF_ENDPOINT row sets no max. */
#define GW_CONF_ENDPOINT_MAX 256

/* Longest connector instance name (also its spool folder and log prefix). */
#define GW_CONF_NAME_MAX 32

#endif

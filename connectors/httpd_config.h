/*
 * httpd_config.h - the limits of a connector's listener and their config
 * rows (HTTPD_CONF_ROWS, LISTEN_CONN_ROWS, LISTEN_RATE_ROWS,
 * HTTPD_BODY_ROWS): defined in core/listen_limits.h, which
 * gateway-integration's table uses too.
 */
#ifndef GW_CONNECTOR_HTTPD_CONFIG_H
#define GW_CONNECTOR_HTTPD_CONFIG_H

#include "core/config.h"
#include "core/listen_limits.h"

#endif

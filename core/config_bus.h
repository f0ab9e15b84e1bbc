/*
 * config_bus.h - the router's endpoints after loading (internal to
 * gw_config, see config_bus.c).
 */
#ifndef GW_CONFIG_BUS_H
#define GW_CONFIG_BUS_H

#include "core/err.h"

#include <stddef.h>

#include "core/config.h"

/* conf_bus_endpoint - &cfg->router.ingest, publish or command for i 0..2. */
char **conf_bus_endpoint(struct gw_config *cfg, int i);

/*
 * conf_bus_check - router endpoint `i` (0 ingest, 1 publish, 2 command):
 * a relative ipc:// path is rewritten inside cfg->state_dir (absolute by
 * now); refuses an ipc path too long for a Unix socket, and, when none of
 * router.curve_key, curve_client_key, curve_server_public is set, a tcp://
 * endpoint other hosts can reach, or one on loopback unless
 * router.plain_loopback is true.
 * Returns GW_OK, GW_ECONFIG (why written) or GW_ENOMEM.
 */
GW_MUST_CHECK int conf_bus_check(struct gw_config *cfg, int i, char *why, size_t whylen);

/*
 * conf_bus_tcp_loopback - 1 for a tcp:// endpoint on a loopback address
 * (127.0.0.0/8, ::1, localhost), 0 for any other tcp:// endpoint, -1 when
 * it is not tcp://.
 */
GW_MUST_CHECK int conf_bus_tcp_loopback(const char *endpoint);

#endif

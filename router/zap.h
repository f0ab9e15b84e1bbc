/*
 * zap.h - the router's ZAP handler: which CURVE clients may use which of its
 * tcp:// sockets (router/zap.c, docs/security.md).
 */
#ifndef GW_ROUTER_ZAP_H
#define GW_ROUTER_ZAP_H

#include "core/bus.h"
#include "core/config.h"

struct zap;

/*
 * zap_start - reads cfg->curve_key and the allow-lists, and answers ZAP
 * requests on `zctx` (borrowed; it must outlive the handler) from now on;
 * call before binding the CURVE sockets. *out owns the handler. Returns
 * GW_OK, GW_EIO/GW_EPROTO (a key file: logged), GW_EBUS, GW_ENOMEM.
 */
int zap_start(void *zctx, const struct gw_config_router *cfg, struct zap **out);

/* zap_key - the router's own key pair (for bus_server_setup). */
const struct bus_key *zap_key(const struct zap *z);

/* zap_public_key - the router's public key, Z85. */
const char *zap_public_key(const struct zap *z);

/*
 * zap_stop - shuts the context down (every blocking call on it returns),
 * waits for the handler and frees it; accepts NULL. Only while the router
 * stops: its own sockets must be closed and the context terminated after.
 */
void zap_stop(struct zap *z);

#endif

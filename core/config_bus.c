/*
 * config_bus.c - the router's three endpoints after the file is read
 * (internal to gw_config, called by config.c): a relative ipc:// path is
 * placed inside state_dir, and a tcp:// endpoint is refused without CURVE:
 * always when other hosts can reach it, on loopback unless
 * router.plain_loopback says so (docs/security.md).
 */
#include "core/config_bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "core/config_value.h"
#include "core/err.h"

#define IPC_PREFIX "ipc://"
#define TCP_PREFIX "tcp://"

/* The longest ipc path the kernel takes (sun_path, with its NUL). */
#define IPC_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

char **conf_bus_endpoint(struct gw_config *cfg, int i)
{
	char **eps[] = {&cfg->router.ingest, &cfg->router.publish, &cfg->router.command};

	return eps[i];
}

/* resolve_one - an ipc path that is not absolute goes inside state_dir. */
static int resolve_one(const struct gw_config *cfg, char **ep, char *why, size_t whylen)
{
	const char *path = *ep + strlen(IPC_PREFIX);
	char *abs;
	size_t n;

	if (strncmp(*ep, IPC_PREFIX, strlen(IPC_PREFIX)) != 0)
		return GW_OK;
	if (path[0] != '/' && path[0] != '@') {
		n = strlen(IPC_PREFIX) + strlen(cfg->state_dir) + 1 + strlen(path) + 1;
		abs = malloc(n);
		if (!abs)
			return GW_ENOMEM;
		snprintf(abs, n, IPC_PREFIX "%s/%s", cfg->state_dir, path);
		free(*ep);
		*ep = abs;
		path = abs + strlen(IPC_PREFIX);
	}
	if (strlen(path) > IPC_PATH_MAX) {
		snprintf(why, whylen, "the socket path %s is longer than the %zu bytes a Unix "
			 "socket name may have: use a shorter state_dir or an absolute ipc:// path",
			 path, (size_t)IPC_PATH_MAX);
		return GW_ECONFIG;
	}
	return GW_OK;
}

int conf_bus_tcp_loopback(const char *endpoint)
{
	char host[256], why[64];
	int port;
	bool v6;

	if (strncmp(endpoint, TCP_PREFIX, strlen(TCP_PREFIX)) != 0)
		return -1;
	if (conf_split_host_port(endpoint + strlen(TCP_PREFIX), host, sizeof(host), &port, &v6,
				 why, sizeof(why)) != 0)
		return 0;
	return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
	       strcmp(host, "::1") == 0;
}

int conf_bus_check(struct gw_config *cfg, int i, char *why, size_t whylen)
{
	char **ep = conf_bus_endpoint(cfg, i);
	int rc = resolve_one(cfg, ep, why, whylen);

	if (rc)
		return rc;
	/* A client's config (another host: curve_client_key or
	 * curve_server_public) runs CURVE too; the router refuses to bind
	 * without its own key (router.c). */
	if (cfg->router.curve_key || cfg->router.curve_client_key ||
	    cfg->router.curve_server_public)
		return GW_OK;
	rc = conf_bus_tcp_loopback(*ep);
	if (rc == 0) {
		snprintf(why, whylen, "%s can be reached from other hosts: set router.curve_key "
			 "(gatewayctl keys generate) so that only allowed keys connect, or bind "
			 "127.0.0.1", *ep);
		return GW_ECONFIG;
	}
	if (rc == 1 && !cfg->router.plain_loopback) {
		snprintf(why, whylen, "%s has no CURVE: any local user could connect to it; use "
			 "ipc:// (the default), set router.curve_key, or set router.plain_loopback: "
			 "true to accept that", *ep);
		return GW_ECONFIG;
	}
	return GW_OK;
}

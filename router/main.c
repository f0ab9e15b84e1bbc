/*
 * main.c - gateway-router: the router process, started by gatewayd.
 *   gateway-router --config FILE [--state-dir DIR]
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "router/router.h"

static volatile int stop_flag, reload_flag;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_flag = 1;
	else
		stop_flag = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* reload the routing rules */
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	struct gw_config *cfg = NULL;
	struct router *r = NULL;
	int rc;

	rc = gw_config_daemon(argc, argv, "gateway-router", "router", &cfg);
	if (rc != 0)
		return rc;
	install_signals();
	rc = router_create(cfg, &r);
	if (rc == GW_OK)
		rc = router_run(r, &stop_flag, &reload_flag);
	else
		GW_ERROR("router", "cannot start: %s", gw_strerror(rc));
	router_destroy(r);
	gw_config_free(cfg);
	return rc == GW_OK ? 0 : 1;
}

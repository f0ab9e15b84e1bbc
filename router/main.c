/*
 * main.c - gateway-router: the router process, started by gatewayd.
 *   gateway-router --config FILE [--state-dir DIR]
 */
#include <getopt.h>
#include <sys/stat.h>
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
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"state-dir", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	const char *config = gw_config_default_path(), *state = NULL;
	struct gw_config *cfg = NULL;
	struct router *r = NULL;
	char err[512];
	int c, rc;

	umask(077); /* the store and its sockets are the gateway user's alone */
	while ((c = getopt_long(argc, argv, "c:s:", opts, NULL)) != -1) {
		if (c == 'c')
			config = optarg;
		else if (c == 's')
			state = optarg;
		else {
			fprintf(stderr, "usage: gateway-router --config FILE [--state-dir DIR]\n");
			return 64;
		}
	}
	gw_log_init("gateway-router", GW_LOG_INFO);
	rc = gw_config_load(config, state, &cfg, err, sizeof(err));
	if (rc) {
		GW_ERROR("router", "%s", err);
		return 78;
	}
	gw_log_set_level((enum gw_log_level)cfg->log_level);
	gw_log_set_format((enum gw_log_format)cfg->log_format);
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

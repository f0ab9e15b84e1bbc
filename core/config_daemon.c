/*
 * config_daemon.c - the start the supervised daemons share (config.h,
 * gw_config_daemon).
 */
#include "core/config.h"

#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>

#include "core/log.h"

int gw_config_daemon(int argc, char **argv, const char *prog, const char *module,
		     struct gw_config **cfg)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"state-dir", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	const char *config = gw_config_default_path(), *state = NULL;
	char err[512];
	int c;

	*cfg = NULL;
	umask(077);
	while ((c = getopt_long(argc, argv, "c:s:", opts, NULL)) != -1) {
		if (c == 'c')
			config = optarg;
		else if (c == 's')
			state = optarg;
		else {
			fprintf(stderr, "usage: %s --config FILE [--state-dir DIR]\n", prog);
			return GW_EXIT_USAGE;
		}
	}
	gw_log_init(prog, GW_LOG_INFO);
	if (gw_config_load(config, state, cfg, err, sizeof(err)) != GW_OK) {
		GW_ERROR(module, "%s", err);
		return GW_EXIT_CONFIG;
	}
	gw_log_set_level((enum gw_log_level)(*cfg)->log_level);
	gw_log_set_format((enum gw_log_format)(*cfg)->log_format);
	return 0;
}

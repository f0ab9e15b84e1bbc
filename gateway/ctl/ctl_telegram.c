/*
 * ctl_telegram.c - gatewayctl telegram set-webhook|delete-webhook|info
 * INSTANCE [--url URL]: runs gateway-telegram (connectors/telegram/
 * tg_tool.c) from gatewayctl's own folder in place of this process, with
 * the config gatewayctl read, so that its output and exit code are the
 * command's (docs/cli.md) and gatewayctl links no libcurl.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "gateway/ctl/ctl.h"

#define CTL_TELEGRAM_EXE "gateway-telegram"

int ctl_cmd_telegram(struct ctl *ctl)
{
	char dir[PATH_MAX], exe[PATH_MAX];
	int rc, n;

	if (!ctl->q_arg) {
		fprintf(stderr, "gatewayctl: telegram %s needs an INSTANCE (the connector's name)\n",
			ctl->q_sub);
		return CTL_EXIT_USAGE;
	}
	rc = gw_exe_dir(dir, sizeof(dir));
	n = rc == GW_OK ? snprintf(exe, sizeof(exe), "%s/%s", dir, CTL_TELEGRAM_EXE) : -1;
	if (n < 0 || (size_t)n >= sizeof(exe) || !ctl->config_path) {
		fprintf(stderr, "gatewayctl: cannot find %s: %s\n", CTL_TELEGRAM_EXE,
			gw_strerror(rc == GW_OK ? GW_EINVAL : rc));
		return CTL_EXIT_ERROR;
	}
	fflush(stdout);
	if (ctl->url)
		execl(exe, exe, "--config", ctl->config_path, "--url", ctl->url, ctl->q_sub,
		      ctl->q_arg, (char *)NULL);
	else
		execl(exe, exe, "--config", ctl->config_path, ctl->q_sub, ctl->q_arg, (char *)NULL);
	fprintf(stderr, "gatewayctl: cannot run %s: %s\n", exe, strerror(errno));
	return CTL_EXIT_ERROR;
}

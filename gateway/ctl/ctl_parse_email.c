/*
 * ctl_parse_email.c - gatewayctl parse-email FILE...: runs
 * gateway-parse-email (connectors/email/parse_email.c) from gatewayctl's own
 * folder in place of this process, with the same files, so that its output
 * and exit code are the command's (docs/cli.md) and gatewayctl links none
 * of the email connector's libraries (GMime, libxml2).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "gateway/ctl/ctl.h"

#define CTL_PARSE_EMAIL_EXE "gateway-parse-email"
#define CTL_PARSE_EMAIL_UNREADABLE 2 /* as gateway-parse-email: nothing read */

int ctl_cmd_parse_email(struct ctl *ctl)
{
	char dir[PATH_MAX], exe[PATH_MAX];
	int rc = gw_exe_dir(dir, sizeof(dir));
	int n = rc == GW_OK ? snprintf(exe, sizeof(exe), "%s/%s", dir, CTL_PARSE_EMAIL_EXE) : -1;
	char **args;

	if (n < 0 || (size_t)n >= sizeof(exe)) {
		fprintf(stderr, "gatewayctl: cannot find %s: %s\n", CTL_PARSE_EMAIL_EXE,
			gw_strerror(rc == GW_OK ? GW_EINVAL : rc));
		return CTL_PARSE_EMAIL_UNREADABLE;
	}
	args = calloc((size_t)ctl->n_files + 2, sizeof(*args));
	if (!args) {
		fprintf(stderr, "gatewayctl: %s\n", gw_strerror(GW_ENOMEM));
		return CTL_PARSE_EMAIL_UNREADABLE;
	}
	args[0] = exe;
	for (int i = 0; i < ctl->n_files; i++)
		args[i + 1] = ctl->files[i];
	fflush(stdout);
	execv(exe, args);
	fprintf(stderr, "gatewayctl: cannot run %s: %s\n", exe, strerror(errno));
	free(args);
	return CTL_PARSE_EMAIL_UNREADABLE;
}

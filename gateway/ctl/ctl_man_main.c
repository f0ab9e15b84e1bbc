/*
 * ctl_man_main.c - gateway-ctl-man: writes the gatewayctl(8) man page,
 * generated from the table of gatewayctl's help (ctl_help.c), so the page
 * and `gatewayctl --help` never disagree. A build tool, not installed:
 *   gateway-ctl-man OUT_FILE      (the build writes build/man/gatewayctl.8)
 * Exit 0, or 1 when OUT_FILE cannot be written (the reason on stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gateway/ctl/ctl.h"

#ifndef GW_VERSION
#define GW_VERSION "0.0.0"
#endif

int main(int argc, char **argv)
{
	FILE *f;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: gateway-ctl-man OUT_FILE\n");
		return 64;
	}
	f = fopen(argv[1], "w");
	if (!f) {
		fprintf(stderr, "gateway-ctl-man: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	ctl_man(f, GW_VERSION);
	if (ferror(f))
		rc = 1;
	if (fclose(f) != 0)
		rc = 1;
	if (rc)
		fprintf(stderr, "gateway-ctl-man: %s: write failed\n", argv[1]);
	return rc;
}

/*
 * ctl_keys.c - `gatewayctl keys generate NAME [--dir DIR]`: a CURVE key pair
 * for the router's tcp:// endpoints (docs/security.md). NAME.key (mode
 * 0600, both halves) is the router's router.curve_key, or stays with the
 * client it was made for; NAME.pub goes into an allow-list. Needs no
 * config and no running gateway.
 */
#include "gateway/ctl/ctl.h"

#include <stdio.h>

#include "core/bus.h"
#include "core/err.h"

int ctl_cmd_keys_generate(struct ctl *ctl)
{
	const char *dir = ctl->dir ? ctl->dir : ".";
	struct bus_key k;
	char why[512];
	int rc = bus_key_generate(dir, ctl->name, &k, why, sizeof(why));

	if (rc != GW_OK) {
		fprintf(stderr, "gatewayctl: keys generate: %s\n", why);
		return CTL_EXIT_ERROR;
	}
	if (ctl->json) {
		json_t *j = json_pack("{s:s,s:s,s:s}", "name", ctl->name, "dir", dir,
				      "public_key", k.pub);

		rc = j ? ctl_print_json(j) : CTL_EXIT_ERROR;
		json_decref(j);
		return rc;
	}
	printf("%s/%s.key  secret: keep it private (router.curve_key, or the client's own)\n"
	       "%s/%s.pub  public: %s\n", dir, ctl->name, dir, ctl->name, k.pub);
	return CTL_EXIT_OK;
}

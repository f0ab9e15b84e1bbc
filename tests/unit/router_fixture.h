/*
 * router_fixture.h - a router on a temporary store for unit tests that
 * route messages and run commands in the router's own transactions (no
 * socket is used). Include once, after cmocka.h, with FX_NAME defined (a
 * word for the temporary folder's name). The test fills `routing_cfg` before
 * fx_open; the router borrows it.
 */
#ifndef GW_TEST_ROUTER_FIXTURE_H
#define GW_TEST_ROUTER_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "router/router.h"

static struct gw_config_routing routing_cfg;

struct fx {
	char dir[64];
	char ingest[128], publish[128], command[128];
	struct gw_config cfg;
	struct router *r;
};

static void fx_open(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/gw-test-" FX_NAME "-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->ingest, sizeof(f->ingest), "ipc://%s/ingest", f->dir);
	snprintf(f->publish, sizeof(f->publish), "ipc://%s/pub", f->dir);
	snprintf(f->command, sizeof(f->command), "ipc://%s/cmd", f->dir);
	f->cfg.state_dir = f->dir;
	f->cfg.router.ingest = f->ingest;
	f->cfg.router.publish = f->publish;
	f->cfg.router.command = f->command;
	f->cfg.router.batch_max = 64;
	f->cfg.router.heartbeat_ms = 100;
	f->cfg.router.map_size_mb = 64;
	f->cfg.router.publish_hwm = 100000;
	f->cfg.router.delivery_timeout_ms = 1000;
	f->cfg.routing = routing_cfg; /* borrowed */
	assert_int_equal(router_create(&f->cfg, &f->r), GW_OK);
}

static void fx_close(struct fx *f)
{
	char cmd[128];

	router_destroy(f->r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
}

#endif

/*
 * router_fixture.h - a router on a temporary store for unit tests that
 * route messages and run commands in the router's own transactions (no
 * socket is used). Include once, after cmocka.h, with FX_NAME defined (a
 * word for the temporary folder's name) and, optionally,
 * FX_DELIVERY_TIMEOUT_MS (router.delivery_timeout_ms; default 1000). The
 * test fills `routing_cfg` before fx_open; the router borrows it.
 */
#ifndef GW_TEST_ROUTER_FIXTURE_H
#define GW_TEST_ROUTER_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "router/router.h"
#include "tests/unit/testutil.h"

#ifndef FX_DELIVERY_TIMEOUT_MS
#define FX_DELIVERY_TIMEOUT_MS 1000
#endif

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
	test_tmpdir(f->dir, sizeof(f->dir), FX_NAME);
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
	f->cfg.router.delivery_timeout_ms = FX_DELIVERY_TIMEOUT_MS;
	f->cfg.routing = routing_cfg; /* borrowed */
	assert_int_equal(router_create(&f->cfg, &f->r), GW_OK);
}

static void fx_close(struct fx *f)
{
	router_destroy(f->r);
	test_rmtree(f->dir);
}

#endif

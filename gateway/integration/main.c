/*
 * main.c - gateway-integration, started by gatewayd when the config has an
 * `integration` section:
 *   gateway-integration --config FILE [--state-dir DIR]
 * Exit 78 (EX_CONFIG) when the config disables it, so gatewayd does not
 * restart it in a loop.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "gateway/integration/integration.h"
#include "store/integration.h"

volatile sig_atomic_t ig_stop;

struct ig_main {
	const struct gw_config *cfg;
	struct integ_db *db;
	struct ig_api *api;
	struct ig_hooks *hooks;
	struct ig_http *http;
	int64_t started_at;
	char status_path[4200];
	char warning[1024]; /* the tokens and webhooks that are off, or "" */
	int status_failing; /* the last status write failed (logged once) */
	int sync_failing;   /* the last integ_db_sync failed (logged once) */
};

static void on_signal(int sig)
{
	(void)sig;
	ig_stop = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * note_off - logs once each token and webhook that is off alone (its
 * secret unset) and writes them into m->warning for the status file.
 */
static void note_off(struct ig_main *m)
{
	const struct gw_config_integration *in = &m->cfg->integration;
	size_t used = 0;

	for (size_t i = 0; i < in->n_tokens + in->n_webhooks; i++) {
		int tok = i < in->n_tokens;
		const char *name = tok ? in->tokens[i].name : in->webhooks[i - in->n_tokens].name;
		const char *why = tok ? in->tokens[i].off_reason
				      : in->webhooks[i - in->n_tokens].off_reason;
		int n;

		if (!why)
			continue;
		GW_WARN(IG_MOD, "%s %s: off: %s%s", tok ? "token" : "webhook", name, why,
			tok ? "; requests with it are answered 401" : "; its deliveries wait");
		n = snprintf(m->warning + used, sizeof(m->warning) - used, "%s%s %s off: %s",
			     used ? "; " : "", tok ? "token" : "webhook", name, why);
		if (n > 0 && (size_t)n < sizeof(m->warning) - used)
			used += (size_t)n;
	}
}

/*
 * sync_db - the cursors' and keys' durability (store/integration.h), once a
 * second. A failure is logged once when it starts (the store logs LMDB's
 * reason) and once when a sync works again: meanwhile a power loss could
 * take back more than a second of deliveries, which receivers dedupe by seq.
 */
static void sync_db(struct ig_main *m)
{
	int rc = integ_db_sync(m->db);

	if (rc != GW_OK && !m->sync_failing)
		GW_WARN(IG_MOD, "cannot sync the webhook cursors and idempotency keys: %s; "
			"retried every second", gw_err_text(rc));
	else if (rc == GW_OK && m->sync_failing)
		GW_INFO(IG_MOD, "the webhook cursors and idempotency keys are synced again");
	m->sync_failing = rc != GW_OK;
}

/* write_status - run/integration.json, once a second (gatewayctl status). */
static void write_status(void *arg)
{
	struct ig_main *m = arg;
	struct ig_stats s;
	json_t *j;
	char *text;
	int rc;

	sync_db(m);
	ig_api_stats(m->api, &s);
	ig_http_stats(m->http, &s);
	j = json_pack("{sisssIs{sIsIsIsIsIsIsIsI}so}", "pid", (int)getpid(), "name",
		      "integration", "started_at", (json_int_t)m->started_at, "counters",
		      "requests", (json_int_t)s.requests, "ok", (json_int_t)s.ok, "client_errors",
		      (json_int_t)s.client_errors, "server_errors", (json_int_t)s.server_errors,
		      "conn_refused", (json_int_t)s.conn_refused, "rate_limited",
		      (json_int_t)s.rate_limited, "auth_throttled", (json_int_t)s.auth_throttled,
		      "body_timeouts", (json_int_t)s.body_timeouts, "webhooks",
		      ig_hooks_status(m->hooks));
	if (j && m->warning[0])
		json_object_set_new(j, "warning", json_string(m->warning));
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	rc = text ? gw_write_file_atomic(m->status_path, text, strlen(text)) : GW_ENOMEM;
	/* Once when it starts failing (the cause: "No space left on device"),
	 * once when it works again. */
	if (rc != GW_OK && !m->status_failing)
		GW_WARN(IG_MOD, "cannot write %s: %s; gatewayctl status shows an old state until "
			"it can be written again", m->status_path, gw_err_text(rc));
	else if (rc == GW_OK && m->status_failing)
		GW_INFO(IG_MOD, "%s is written again", m->status_path);
	m->status_failing = rc != GW_OK;
	free(text);
	json_decref(j);
}

static int run(const struct gw_config *cfg)
{
	struct ig_main m = {.cfg = cfg, .started_at = gw_now_ms()};
	struct integ_db *db = NULL;
	struct ig_http *h = NULL;
	void *zctx = zmq_ctx_new();
	char run_dir[4096];
	int rc;

	note_off(&m);
	snprintf(run_dir, sizeof(run_dir), "%s/run", cfg->state_dir);
	snprintf(m.status_path, sizeof(m.status_path), "%s/integration.json", run_dir);
	rc = zctx ? gw_mkdir_p(run_dir) : GW_EBUS;
	if (rc == GW_OK)
		rc = integ_db_open(cfg->state_dir, cfg->integration.map_size_mb, &db);
	m.db = db;
	if (rc == GW_OK)
		rc = ig_api_create(cfg, zctx, db, &m.api);
	if (rc == GW_OK)
		rc = ig_http_create(&cfg->integration, m.api, &h);
	m.http = h;
	if (rc == GW_OK)
		rc = ig_hooks_start(cfg, zctx, db, &m.hooks);
	if (rc == GW_OK)
		rc = ig_http_run(h, write_status, &m);
	else
		GW_ERROR(IG_MOD, "cannot start: %s", gw_strerror(rc));
	ig_stop = 1;
	ig_hooks_stop(m.hooks);
	ig_http_destroy(h);
	ig_api_destroy(m.api);
	integ_db_close(db);
	if (zctx)
		zmq_ctx_term(zctx);
	unlink(m.status_path);
	return rc;
}

int main(int argc, char **argv)
{
	struct gw_config *cfg = NULL;
	int rc;

	rc = gw_config_daemon(argc, argv, "gateway-integration", IG_MOD, &cfg);
	if (rc != 0)
		return rc;
	if (!cfg->integration.present || cfg->integration.disabled_reason) {
		GW_ERROR(IG_MOD, "off: %s", cfg->integration.present
						    ? cfg->integration.disabled_reason
						    : "the config has no integration section");
		gw_config_free(cfg);
		return 78;
	}
	install_signals();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = run(cfg);
	curl_global_cleanup();
	gw_config_free(cfg);
	return rc == GW_OK ? 0 : 1;
}

/*
 * runtime.c - main() of gateway-connector, the process that runs one
 * connector instance:
 *
 *   gateway-connector --config FILE [--state-dir DIR] --instance NAME
 *
 * It loads the config, finds the instance and its type, opens the
 * instance's outbox (<state_dir>/spool/<instance>) and calls the type's
 * create -> run -> destroy until SIGTERM or SIGINT.
 *
 * Exit codes, read by the supervisor:
 *   0   clean stop after a signal
 *   1   an error (restarted with backoff)
 *   78  EX_CONFIG: the instance cannot run as configured (disabled, a
 *       secret missing, unknown instance or type); not restarted.
 */
#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "connectors/connector.h"
#include "connectors/outbox.h"
#include "connectors/intake.h"
#include "connectors/runtime.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define EXIT_OK 0
#define EXIT_ERROR 1
#define EXIT_CONFIG 78 /* sysexits.h EX_CONFIG */

#define PROCESS_NAME "gateway-connector"

/* Outbox limits for types whose config table has no spool keys. */
#define DEFAULT_SPOOL_MAX 1000000
#define DEFAULT_SPOOL_MAP_MB 1024
#define DEFAULT_MAX_INFLIGHT 4096
#define DEFAULT_RESEND_MS 2000

struct runtime_args {
	const char *config;
	const char *state_dir;
	const char *instance;
};

static void runtime_usage(FILE *f)
{
	fprintf(f, "usage: " PROCESS_NAME " --config FILE [--state-dir DIR] --instance NAME\n");
}

/* Returns 0 when the arguments are usable, -1 (usage printed) otherwise. */
static int runtime_parse_args(int argc, char **argv, struct runtime_args *a)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"state-dir", required_argument, NULL, 's'},
		{"instance", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, "c:s:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case 's': a->state_dir = optarg; break;
		case 'i': a->instance = optarg; break;
		default: runtime_usage(c == 'h' ? stdout : stderr); return -1;
		}
	}
	if (optind != argc || !a->config || !a->instance) {
		runtime_usage(stderr);
		return -1;
	}
	return 0;
}

static void runtime_on_signal(int sig)
{
	(void)sig;
	connector_request_stop();
}

static int runtime_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = runtime_on_signal;
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
		return GW_EIO;
	/* A peer that hangs up must be an error return, not a dead process. */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		return GW_EIO;
	return GW_OK;
}

/*
 * The value of the CONF_INT row `key` of the type's table in `settings`, or
 * `def` when the type has no such key. Read through the table so that the
 * runtime needs no knowledge of each type's struct.
 */
static long long runtime_setting_int(const struct gw_connector_conf *conf, const char *key,
				     long long def)
{
	const struct conf_section *sec = conf->section;

	if (!sec || !conf->settings)
		return def;
	for (size_t i = 0; i < sec->n_entries; i++) {
		const struct conf_entry *e = &sec->entries[i];

		if (e->kind == CONF_INT && strcmp(e->key, key) == 0) {
			long long v;

			memcpy(&v, (const char *)conf->settings + e->offset, sizeof(v));
			return v;
		}
	}
	return def;
}

static int runtime_open_outbox(struct connector_instance *inst, const char *state_dir,
			      const char *channel)
{
	char dir[4096];
	struct outbox_options opt;
	int n, rc;

	n = snprintf(dir, sizeof(dir), "%s/spool/%s", state_dir, inst->conf->name);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return GW_EINVAL;
	rc = gw_mkdir_p(dir);
	if (rc != GW_OK)
		return rc;
	memset(&opt, 0, sizeof(opt));
	opt.dir = dir;
	opt.endpoint = inst->config->router.ingest;
	opt.log_module = inst->log_module;
	opt.max_entries = (size_t)runtime_setting_int(inst->conf, "spool_max", DEFAULT_SPOOL_MAX);
	opt.map_size = (size_t)runtime_setting_int(inst->conf, "spool_map_mb",
						   DEFAULT_SPOOL_MAP_MB) * 1024u * 1024u;
	opt.max_inflight = DEFAULT_MAX_INFLIGHT;
	opt.resend_ms = DEFAULT_RESEND_MS;
	opt.instance = inst->conf->name;
	opt.channel = channel;
	opt.bus = &inst->config->router;
	return outbox_open(&opt, &inst->outbox);
}

/* The type and instance a delivery goes to (one instance per process). */
struct runtime_target {
	const struct connector_type *type;
	struct connector_instance *inst;
	int stopped; /* run() returned: deliveries are left to the next start */
};

static void runtime_signal(void *arg, const void *event, size_t len)
{
	struct runtime_target *t = arg;

	if (!t->stopped)
		t->type->signal(t->inst, event, len);
}

static int runtime_deliver(void *arg, const void *event, size_t len, uint64_t delivery_id)
{
	struct runtime_target *t = arg;

	/* Unreported, a delivery stays pending in the router, which hands it
	 * over again once this instance is back. */
	if (t->stopped)
		return GW_OK;
	return t->type->deliver(t->inst, event, len, delivery_id);
}

/* Creates <state_dir>/run for the status file. */
static int runtime_run_dir(const char *state_dir)
{
	char dir[4096];
	int n = snprintf(dir, sizeof(dir), "%s/run", state_dir);

	if (n < 0 || (size_t)n >= sizeof(dir))
		return GW_EINVAL;
	return gw_mkdir_p(dir);
}

/*
 * Says whether the instance may run; on "no" logs why and returns
 * EXIT_CONFIG, else EXIT_OK.
 */
static int runtime_check(const struct connector_type *type, const struct gw_connector_conf *conf,
			 const char *module)
{
	char why[256] = "";

	if (!conf->enabled) {
		GW_INFO(module, "disabled: enabled is false in the config");
		return EXIT_CONFIG;
	}
	if (conf->disabled_reason) {
		GW_WARN(module, "disabled: %s", conf->disabled_reason);
		return EXIT_CONFIG;
	}
	if (type->conf->check && type->conf->check(conf->settings, why, sizeof(why)) != GW_OK) {
		GW_WARN(module, "disabled: %s", why[0] ? why : "its settings cannot run");
		return EXIT_CONFIG;
	}
	return EXIT_OK;
}

/* Opens what the instance needs and runs it; returns an exit code. */
static int runtime_serve(const struct connector_type *type, struct connector_instance *inst)
{
	const char *state_dir = inst->config->state_dir;
	struct runtime_target target = {type, inst, 0};
	int rc, created = 0;

	rc = runtime_run_dir(state_dir);
	if (rc == GW_OK)
		rc = connector_status_init(inst, state_dir);
	if (rc == GW_OK)
		rc = runtime_open_outbox(inst, state_dir, type->channel);
	if (rc != GW_OK) {
		GW_ERROR(inst->log_module, "cannot open its state under %s: %s", state_dir,
			 gw_strerror(rc));
		goto out;
	}
	rc = intake_create(inst, state_dir, type->reingest, &inst->intake);
	if (rc != GW_OK) {
		GW_ERROR(inst->log_module, "cannot set its limits up: %s", gw_strerror(rc));
		goto out;
	}
	rc = type->create(inst);
	created = 1;
	if (rc != GW_OK) {
		GW_ERROR(inst->log_module, "cannot start: %s", gw_strerror(rc));
		goto out;
	}
	/* Written once its listeners are open: gatewayd takes the file for
	 * "up" (systemd's READY=1, the tests' readiness). */
	connector_status_write(inst);
	/* Without a deliver op the outbox reports each delivery failed ("the
	 * channel cannot send replies yet"), so the router need not wait. */
	if (type->deliver)
		outbox_set_deliver(inst->outbox, runtime_deliver, &target);
	if (type->signal)
		outbox_set_signal(inst->outbox, runtime_signal, &target);
	GW_INFO(inst->log_module, "running");
	rc = type->run(inst);
	target.stopped = 1;
	if (rc != GW_OK)
		GW_ERROR(inst->log_module, "stopped on error: %s", gw_strerror(rc));
out:
	if (created)
		type->destroy(inst);
	/* A clean stop leaves no status behind; a failure leaves its counters. */
	if (rc == GW_OK)
		connector_status_remove();
	else if (inst->outbox)
		connector_status_write(inst);
	intake_destroy(inst->intake);
	inst->intake = NULL;
	outbox_close(inst->outbox);
	inst->outbox = NULL;
	return rc == GW_OK ? EXIT_OK : EXIT_ERROR;
}

/* Finds the instance and its type in the loaded config; EXIT_* on failure. */
static int runtime_resolve(const struct gw_config *cfg, const char *name,
			   const struct gw_connector_conf **conf,
			   const struct connector_type **type)
{
	*conf = gw_config_find_connector(cfg, name);
	if (!*conf) {
		GW_ERROR("runtime", "%s: no connector named \"%s\"", cfg->path, name);
		return EXIT_CONFIG;
	}
	*type = connector_type_find((*conf)->type);
	if (!*type) {
		GW_ERROR("runtime", "%s: connector \"%s\" has unknown type \"%s\"", cfg->path,
			 name, (*conf)->type);
		return EXIT_CONFIG;
	}
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct runtime_args args;
	struct gw_config *cfg = NULL;
	const struct gw_connector_conf *conf = NULL;
	const struct connector_type *type = NULL;
	struct connector_instance inst;
	char err[512] = "";
	int rc, code;

	gw_log_init(PROCESS_NAME, GW_LOG_INFO);
	umask(077); /* what it creates is the gateway user's alone */
	if (runtime_parse_args(argc, argv, &args) != 0)
		return 64; /* EX_USAGE */
	rc = gw_config_load(args.config, args.state_dir, &cfg, err, sizeof(err));
	if (rc != GW_OK) {
		GW_ERROR("runtime", "%s", err[0] ? err : gw_strerror(rc));
		code = rc == GW_ECONFIG || rc == GW_ENOTFOUND ? EXIT_CONFIG : EXIT_ERROR;
		goto out;
	}
	gw_log_init(PROCESS_NAME, (enum gw_log_level)cfg->log_level);
	gw_log_set_format((enum gw_log_format)cfg->log_format);
	code = runtime_resolve(cfg, args.instance, &conf, &type);
	if (code != EXIT_OK)
		goto out;
	memset(&inst, 0, sizeof(inst));
	inst.config = cfg;
	inst.conf = conf;
	inst.settings = conf->settings;
	snprintf(inst.log_module, sizeof(inst.log_module), "%s/%s", type->name, conf->name);
	code = runtime_check(type, conf, inst.log_module);
	if (code != EXIT_OK)
		goto out;
	if (runtime_signals() != GW_OK) {
		GW_ERROR(inst.log_module, "cannot install signal handlers");
		code = EXIT_ERROR;
		goto out;
	}
	code = runtime_serve(type, &inst);
	if (code == EXIT_OK)
		GW_INFO(inst.log_module, "stopped");
out:
	gw_config_free(cfg);
	return code;
}

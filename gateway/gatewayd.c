/*
 * gatewayd.c - the gateway's supervisor process: options, config, state
 * directory lock, then supervisor.h does the work. Runs in the foreground;
 * use a service manager (systemd, runit, a container) to daemonize.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "gateway/privilege.h"
#include "gateway/supervisor.h"

#ifndef GW_VERSION
#define GW_VERSION "0.0.0"
#endif

/* Exit codes (docs/cli.md). */
#define EXIT_RUNTIME 1 /* could not start or supervise */
#define EXIT_CONFIG 2  /* the config does not load */
#define EXIT_USAGE 64  /* EX_USAGE */

struct options {
	const char *config;
	const char *state_dir;
	const char *check;
	int config_doc;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gatewayd [--config FILE] [--state-dir DIR]\n"
		"       gatewayd --check-config FILE\n"
		"       gatewayd --config-doc | --version | --help\n"
		"\n"
		"Starts the router, every enabled connector, gateway-integration (when\n"
		"the config has an integration section), gateway-metrics (metrics.enabled)\n"
		"and gateway-nats (nats.enabled), restarts them when they exit and stops\n"
		"them on SIGTERM or SIGINT. Runs in the foreground.\n"
		"\n"
		"  --config FILE        config file (default %s)\n"
		"  --state-dir DIR      overrides the config's state_dir\n"
		"  --check-config FILE  validates FILE, lists its connectors, exits\n"
		"  --config-doc         prints the config reference (Markdown), exits\n"
		"  --foreground         accepted for compatibility: the only mode\n"
		"  --version            prints the version, exits\n"
		"  --help               prints this text, exits\n"
		"\n"
		"Exit codes: 0 stopped cleanly, 1 runtime error (e.g. the state\n"
		"directory is in use), 2 invalid config, 64 bad usage.\n",
		gw_config_default_path());
}

/* Returns -1 to go on, or the exit code. */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"state-dir", required_argument, NULL, 's'},
		{"check-config", required_argument, NULL, 'k'},
		{"config-doc", no_argument, NULL, 'd'},
		{"foreground", no_argument, NULL, 'f'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:s:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 's': o->state_dir = optarg; break;
		case 'k': o->check = optarg; break;
		case 'd': o->config_doc = 1; break;
		case 'f': break;
		case 'V': printf("gatewayd %s\n", GW_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "gatewayd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

static int load(const char *path, const char *state_dir, struct gw_config **cfg)
{
	char err[512];
	int rc = gw_config_load(path, state_dir, cfg, err, sizeof(err));

	if (rc != GW_OK) {
		fprintf(stderr, "gatewayd: %s\n", err[0] ? err : gw_strerror(rc));
		return EXIT_CONFIG;
	}
	return 0;
}

/* print_integration - --check-config's lines of gateway-integration: on or
 * off, and each token and webhook that is off alone (its secret unset). */
static void print_integration(const struct gw_config_integration *in)
{
	printf("  integration: %s%s\n", in->disabled_reason ? "disabled: " : "",
	       in->disabled_reason ? in->disabled_reason : "enabled");
	for (size_t i = 0; i < in->n_tokens; i++)
		if (in->tokens[i].off_reason)
			printf("    token %s: off: %s\n", in->tokens[i].name, in->tokens[i].off_reason);
	for (size_t i = 0; i < in->n_webhooks; i++)
		if (in->webhooks[i].off_reason)
			printf("    webhook %s: off: %s\n", in->webhooks[i].name,
			       in->webhooks[i].off_reason);
}

static int check_config(const char *path, const char *state_dir)
{
	struct gw_config *cfg = NULL;
	int rc = load(path, state_dir, &cfg);

	if (rc != 0)
		return rc;
	printf("%s: ok\n", path);
	for (size_t i = 0; i < cfg->n_connectors; i++) {
		const struct gw_connector_conf *c = &cfg->connectors[i];

		if (c->disabled_reason)
			printf("  %s (%s): disabled: %s\n", c->name, c->type, c->disabled_reason);
		else if (!c->enabled)
			printf("  %s (%s): disabled: enabled: false\n", c->name, c->type);
		else
			printf("  %s (%s): enabled\n", c->name, c->type);
	}
	if (cfg->nats.enabled)
		printf("  nats (gateway-nats): enabled: stream %s on %zu server URL(s)\n",
		       cfg->nats.stream, cfg->nats.servers.n);
	if (cfg->integration.present)
		print_integration(&cfg->integration);
	privilege_check_files(cfg);
	gw_config_free(cfg);
	return 0;
}

/*
 * Creates <state_dir>/run and locks run/gatewayd.lock so that two supervisors
 * never share a state directory (they would fight over LMDB and ports). The
 * lock lives as long as the returned descriptor; it holds our pid for the
 * error message of the next one.
 */
static int lock_state_dir(const char *state_dir, int *fd_out)
{
	char run[PATH_MAX], path[PATH_MAX], pid[32] = "";
	int fd = -1, n;
	ssize_t got;

	n = snprintf(run, sizeof(run), "%s/run", state_dir);
	if (n < 0 || (size_t)n >= sizeof(run) ||
	    (size_t)snprintf(path, sizeof(path), "%s/gatewayd.lock", run) >= sizeof(path)) {
		fprintf(stderr, "gatewayd: state_dir path too long: %s\n", state_dir);
		return EXIT_RUNTIME;
	}
	if (gw_mkdir_p(run) != GW_OK) {
		fprintf(stderr, "gatewayd: cannot create %s: %s\n", run, strerror(errno));
		return EXIT_RUNTIME;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "gatewayd: cannot open %s: %s\n", path, strerror(errno));
		return EXIT_RUNTIME;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		got = read(fd, pid, sizeof(pid) - 1);
		pid[got > 0 ? got : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		fprintf(stderr, "gatewayd: state directory %s is in use by another gatewayd%s%s%s\n",
			state_dir, pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
		close(fd);
		return EXIT_RUNTIME;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		GW_WARN("gatewayd", "cannot write pid into %s", path);
	*fd_out = fd;
	return 0;
}

static int run(const struct options *o)
{
	struct gw_config *cfg = NULL;
	struct sup *sup = NULL;
	char bindir[PATH_MAX];
	int lock_fd = -1;
	int rc = load(o->config ? o->config : gw_config_default_path(), o->state_dir, &cfg);

	if (rc != 0)
		goto out;
	gw_log_init("gatewayd", (enum gw_log_level)cfg->log_level);
	gw_log_set_format((enum gw_log_format)cfg->log_format);
	if (privilege_drop(cfg) != GW_OK) {
		rc = EXIT_RUNTIME;
		goto out;
	}
	rc = lock_state_dir(cfg->state_dir, &lock_fd);
	if (rc != 0)
		goto out;
	rc = EXIT_RUNTIME;
	/* The other gateway programs live beside gatewayd. */
	if (gw_exe_dir(bindir, sizeof(bindir)) != GW_OK) {
		GW_ERROR("gatewayd", "cannot find my own executable: %s", strerror(errno));
		goto out;
	}
	if (sup_create(cfg, bindir, &sup) != GW_OK)
		goto out;
	rc = sup_run(sup) == GW_OK ? 0 : EXIT_RUNTIME;
out:
	sup_destroy(sup);
	if (lock_fd >= 0)
		close(lock_fd);
	gw_config_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	int rc = parse_options(argc, argv, &o);

	if (rc >= 0)
		return rc;
	/* Everything the gateway creates is its user's alone: state, spools,
	 * attachments, sockets, status files (the children inherit it). */
	umask(077);
	if (o.config_doc)
		return gw_config_doc(stdout) == GW_OK ? 0 : EXIT_RUNTIME;
	if (o.check)
		return check_config(o.check, o.state_dir);
	return run(&o);
}

/*
 * supervisor_run.c - gatewayd's process layer (see supervisor.h): fork/exec
 * of the router and the connectors, one poll loop on a signalfd with timers
 * for restarts, shutdown deadlines and the once-a-second status file.
 */
#include "gateway/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#include <jansson.h>
#include <systemd/sd-daemon.h>

#define MOD "supervisor"
#define STATUS_INTERVAL_MS 1000
/* After SIGKILL, how long to wait for the kernel to hand back the children. */
#define KILL_REAP_MS 2000

/* signal_children()/running() of every kind but the router. */
#define KIND_NOT_ROUTER (-2)

enum stop_phase {
	PHASE_RUN = 0,    /* supervising */
	PHASE_CONNECTORS, /* SIGTERM sent to the connectors and gateway-nats, waiting */
	PHASE_ROUTER,     /* connectors gone, SIGTERM sent to the router */
	PHASE_KILLED,     /* SIGKILL sent to what remained, reaping */
	PHASE_DONE,
};

struct sup {
	const struct gw_config *cfg; /* borrowed */
	struct sup_policy policy;
	int64_t stop_timeout_ms;
	char router_exe[PATH_MAX];
	char connector_exe[PATH_MAX];
	char nats_exe[PATH_MAX];    /* "" unless nats.enabled */
	char integration_exe[PATH_MAX];
	char metrics_exe[PATH_MAX]; /* "" without metrics.enabled */
	char run_dir[PATH_MAX];
	char status_path[PATH_MAX];
	struct sup_child *children; /* [0] is the router */
	size_t n_children;
	int sfd;                    /* signalfd, -1 when closed */
	sigset_t saved_mask;
	pid_t self;
	int64_t started_at_ms;
	enum stop_phase phase;
	int64_t deadline_ms;        /* of the current stop phase */
	int dirty;                  /* status file out of date */
	int64_t next_status_ms;
	int status_failing;         /* last status write failed (logged once) */
	int ready;                  /* READY=1 told to systemd (sd_notify) */
};

static int64_t mono_ms(void)
{
	return gw_mono_us() / 1000;
}

/* ---- setup ---- */

static int exe_path(char *dst, size_t size, const char *bindir, const char *name)
{
	int n = snprintf(dst, size, "%s/%s", bindir, name);

	if (n < 0 || (size_t)n >= size)
		return GW_EINVAL;
	if (access(dst, X_OK) != 0) {
		GW_ERROR(MOD, "%s: not an executable (%s); gateway-router and "
			 "gateway-connector must be installed beside gatewayd", dst, strerror(errno));
		return GW_ENOTFOUND;
	}
	return GW_OK;
}

static int init_children(struct sup *s)
{
	const struct gw_config *cfg = s->cfg;
	int rc;

	s->n_children = 1 + cfg->n_connectors + (cfg->integration.present ? 1 : 0) +
			(cfg->nats.enabled ? 1 : 0) + (cfg->metrics.enabled ? 1 : 0);
	s->children = calloc(s->n_children, sizeof(*s->children));
	if (!s->children)
		return GW_ENOMEM;
	rc = sup_child_init(&s->children[0], SUP_KIND_ROUTER, "router", NULL);
	/* The publisher after the connectors: it consumes what the router
	 * publishes. */
	if (rc == GW_OK && cfg->nats.enabled)
		rc = sup_child_init(&s->children[1 + cfg->n_connectors +
						    (cfg->integration.present ? 1 : 0)],
				    SUP_KIND_NATS, "nats", NULL);
	/* Last: started after the processes it reads (the config check
	 * reserves the name "metrics"). */
	if (rc == GW_OK && cfg->metrics.enabled)
		rc = sup_child_init(&s->children[s->n_children - 1], SUP_KIND_METRICS, "metrics",
				    NULL);
	for (size_t i = 0; rc == GW_OK && i < cfg->n_connectors; i++) {
		const struct gw_connector_conf *cc = &cfg->connectors[i];
		struct sup_child *c = &s->children[i + 1];

		rc = sup_child_init(c, SUP_KIND_CONNECTOR, cc->name, cc->type);
		if (rc != GW_OK) {
			GW_ERROR(MOD, "connector name or type too long at %s:%d", cfg->path, cc->line);
			break;
		}
		if (cc->disabled_reason)
			sup_child_disable(c, cc->disabled_reason);
		else if (!cc->enabled)
			sup_child_disable(c, "enabled: false");
	}
	if (rc == GW_OK && cfg->integration.present) {
		struct sup_child *c = &s->children[1 + cfg->n_connectors];

		rc = sup_child_init(c, SUP_KIND_INTEGRATION, "integration", NULL);
		if (rc == GW_OK && cfg->integration.disabled_reason)
			sup_child_disable(c, cfg->integration.disabled_reason);
	}
	return rc;
}

int sup_create(const struct gw_config *cfg, const char *bindir, struct sup **out)
{
	struct sup *s = calloc(1, sizeof(*s));
	int rc = GW_ENOMEM, n;

	*out = NULL;
	if (!s)
		goto out;
	s->cfg = cfg;
	s->sfd = -1;
	s->policy.backoff_min_ms = cfg->supervisor.backoff_min_ms;
	s->policy.backoff_max_ms = cfg->supervisor.backoff_max_ms;
	s->policy.stable_ms = cfg->supervisor.stable_ms;
	s->stop_timeout_ms = cfg->supervisor.stop_timeout_ms;
	rc = exe_path(s->router_exe, sizeof(s->router_exe), bindir, "gateway-router");
	if (rc == GW_OK)
		rc = exe_path(s->connector_exe, sizeof(s->connector_exe), bindir,
			      "gateway-connector");
	if (rc == GW_OK && cfg->nats.enabled)
		rc = exe_path(s->nats_exe, sizeof(s->nats_exe), bindir, "gateway-nats");
	if (rc == GW_OK && cfg->integration.present)
		rc = exe_path(s->integration_exe, sizeof(s->integration_exe), bindir,
			      "gateway-integration");
	if (rc == GW_OK && cfg->metrics.enabled)
		rc = exe_path(s->metrics_exe, sizeof(s->metrics_exe), bindir, "gateway-metrics");
	if (rc != GW_OK)
		goto out;
	n = snprintf(s->run_dir, sizeof(s->run_dir), "%s/run", cfg->state_dir);
	if (n < 0 || (size_t)n >= sizeof(s->run_dir)) {
		rc = GW_EINVAL;
		goto out;
	}
	n = snprintf(s->status_path, sizeof(s->status_path), "%s/gatewayd.json", s->run_dir);
	if (n < 0 || (size_t)n >= sizeof(s->status_path)) {
		rc = GW_EINVAL;
		goto out;
	}
	rc = init_children(s);
	if (rc != GW_OK)
		goto out;
	*out = s;
	s = NULL;
out:
	sup_destroy(s);
	return rc;
}

void sup_destroy(struct sup *s)
{
	if (!s)
		return;
	if (s->sfd >= 0)
		close(s->sfd);
	free(s->children);
	free(s);
}

/* ---- status file ---- */

static void write_status(struct sup *s, int64_t now)
{
	struct sup_status_info info = {
		.pid = s->self,
		.started_at_ms = s->started_at_ms,
		.updated_at_ms = gw_now_ms(),
		.config_path = s->cfg->path,
		.state_dir = s->cfg->state_dir,
		.stopping = s->phase != PHASE_RUN,
	};
	json_t *doc = sup_status_json(&info, s->children, s->n_children);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	int rc = text ? gw_write_file_atomic(s->status_path, text, strlen(text)) : GW_ENOMEM;

	if (rc != GW_OK && !s->status_failing)
		GW_WARN(MOD, "cannot write %s: %s", s->status_path, gw_err_text(rc));
	else if (rc == GW_OK && s->status_failing)
		GW_INFO(MOD, "writing %s again", s->status_path);
	s->status_failing = rc != GW_OK;
	s->dirty = 0;
	s->next_status_ms = now + STATUS_INTERVAL_MS;
	free(text);
	json_decref(doc);
}

static void remove_status_files(struct sup *s)
{
	char path[PATH_MAX];

	unlink(s->status_path);
	/* A child killed on the way out could not remove its own file. */
	for (size_t i = 0; i < s->n_children; i++) {
		int n = snprintf(path, sizeof(path), "%s/%s.json", s->run_dir,
				 s->children[i].name);

		if (n > 0 && (size_t)n < sizeof(path))
			unlink(path);
	}
}

/* ---- spawning ---- */

/*
 * Runs in the forked child: never returns. Only async-signal-safe calls
 * matter here in principle; gatewayd is single-threaded, so snprintf is safe.
 */
static void child_exec(char *const argv[], pid_t parent, int niceness)
{
	sigset_t none;
	char msg[PATH_MAX + 128];
	int fd, n;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* If gatewayd dies (even by SIGKILL), its children get SIGTERM. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	/*
	 * Own process group: Ctrl-C on the terminal reaches gatewayd only, which
	 * then stops the connectors before the router.
	 */
	setpgid(0, 0);
	/* Before exec, so that every thread the program starts inherits it. */
	errno = 0;
	if (niceness > 0 && nice(niceness) == -1 && errno != 0) {
		n = snprintf(msg, sizeof(msg), "gatewayd: nice %d for %s: %s\n", niceness,
			     argv[0], strerror(errno));
		if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
			_exit(127);
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0 && fd != STDIN_FILENO) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	execv(argv[0], argv);
	n = snprintf(msg, sizeof(msg), "gatewayd: exec %s: %s\n", argv[0], strerror(errno));
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
		_exit(127);
	_exit(127);
}

static char *child_exe(struct sup *s, const struct sup_child *c)
{
	if (c->kind == SUP_KIND_ROUTER)
		return s->router_exe;
	if (c->kind == SUP_KIND_INTEGRATION)
		return s->integration_exe;
	if (c->kind == SUP_KIND_NATS)
		return s->nats_exe;
	return c->kind == SUP_KIND_METRICS ? s->metrics_exe : s->connector_exe;
}

static void spawn(struct sup *s, struct sup_child *c, int64_t now)
{
	const struct gw_config *cfg = s->cfg;
	char *argv[] = {
		child_exe(s, c),
		"--config", cfg->path, "--state-dir", cfg->state_dir,
		c->kind == SUP_KIND_CONNECTOR ? "--instance" : NULL, c->name, NULL,
	};
	pid_t pid = fork();

	if (pid == 0)
		child_exec(argv, s->self,
			   c->kind == SUP_KIND_ROUTER ? (int)cfg->router.nice : 0);
	s->dirty = 1;
	if (pid < 0) {
		sup_child_spawn_failed(c, &s->policy, strerror(errno), now, s->phase != PHASE_RUN);
		GW_ERROR(MOD, "cannot start %s %s: %s; retry in %lld ms", sup_kind_name(c->kind),
			 c->name, c->reason, (long long)c->restart_delay_ms);
		return;
	}
	sup_child_started(c, pid, now, gw_now_ms());
	if (c->restarts > 0)
		GW_INFO(MOD, "restarted %s %s (pid %ld, restart %llu)", sup_kind_name(c->kind),
			c->name, (long)pid, (unsigned long long)c->restarts);
	else
		GW_INFO(MOD, "started %s %s (pid %ld)", sup_kind_name(c->kind), c->name, (long)pid);
}

/* ---- exits ---- */

static struct sup_child *find_pid(struct sup *s, pid_t pid)
{
	for (size_t i = 0; i < s->n_children; i++)
		if (s->children[i].state == SUP_RUNNING && s->children[i].pid == pid)
			return &s->children[i];
	return NULL;
}

static void log_exit(const struct sup_child *c, pid_t pid, int64_t ran_ms)
{
	const char *kind = sup_kind_name(c->kind);

	switch (c->state) {
	case SUP_DISABLED:
		GW_WARN(MOD, "%s %s (pid %ld) exited with %s: disabled by its own config check, "
			"not restarting", kind, c->name, (long)pid, c->last_exit);
		break;
	case SUP_BACKOFF:
		GW_WARN(MOD, "%s %s (pid %ld) exited with %s after %lld ms; restart in %lld ms "
			"(failure %u)", kind, c->name, (long)pid, c->last_exit, (long long)ran_ms,
			(long long)c->restart_delay_ms, c->failures);
		break;
	default:
		GW_INFO(MOD, "%s %s (pid %ld) stopped (%s)", kind, c->name, (long)pid,
			c->last_exit);
		break;
	}
}

/* Collects every exited child; SIGCHLD is only a hint (signals coalesce). */
static void reap(struct sup *s, int64_t now)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct sup_child *c = find_pid(s, pid);
		int64_t ran;

		if (!c)
			continue;
		ran = now - c->started_mono_ms;
		sup_child_exited(c, &s->policy, status, now, s->phase != PHASE_RUN);
		log_exit(c, pid, ran);
		s->dirty = 1;
	}
}

/* ---- shutdown ---- */

/* Kind `kind` matches `c`: all for -1, all but the router for KIND_NOT_ROUTER. */
static int kind_matches(const struct sup_child *c, int kind)
{
	if (kind == KIND_NOT_ROUTER)
		return c->kind != SUP_KIND_ROUTER;
	return kind < 0 || (int)c->kind == kind;
}

/* Signals every running child of `kind` (kind_matches); returns how many. */
static size_t signal_children(struct sup *s, int kind, int sig)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_children; i++) {
		struct sup_child *c = &s->children[i];

		if (c->state != SUP_RUNNING || !kind_matches(c, kind))
			continue;
		if (kill(c->pid, sig) == 0)
			n++;
	}
	return n;
}

static size_t running(const struct sup *s, int kind)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_children; i++)
		if (s->children[i].state == SUP_RUNNING && kind_matches(&s->children[i], kind))
			n++;
	return n;
}

static void enter_phase(struct sup *s, enum stop_phase phase, int64_t now)
{
	s->phase = phase;
	s->dirty = 1;
	s->deadline_ms = now + (phase == PHASE_KILLED ? KILL_REAP_MS : s->stop_timeout_ms);
	if (phase == PHASE_CONNECTORS)
		signal_children(s, KIND_NOT_ROUTER, SIGTERM);
	else if (phase == PHASE_ROUTER)
		signal_children(s, SUP_KIND_ROUTER, SIGTERM);
	else if (phase == PHASE_KILLED)
		signal_children(s, -1, SIGKILL);
}

static void begin_stop(struct sup *s, const char *signame, int64_t now)
{
	sd_notify(0, "STOPPING=1");
	if (s->phase != PHASE_RUN) {
		GW_WARN(MOD, "%s again: killing what is left", signame);
		enter_phase(s, PHASE_KILLED, now);
		return;
	}
	GW_INFO(MOD, "%s: stopping the connectors, then the router", signame);
	for (size_t i = 0; i < s->n_children; i++)
		sup_child_cancel(&s->children[i]);
	enter_phase(s, PHASE_CONNECTORS, now);
}

/* Moves the shutdown along: next phase when its processes are gone or late. */
static void stop_progress(struct sup *s, int64_t now)
{
	switch (s->phase) {
	case PHASE_CONNECTORS:
		if (running(s, KIND_NOT_ROUTER) == 0) {
			enter_phase(s, PHASE_ROUTER, now);
		} else if (now >= s->deadline_ms) {
			GW_WARN(MOD, "%zu connector(s) still running after %lld ms: SIGKILL",
				running(s, KIND_NOT_ROUTER), (long long)s->stop_timeout_ms);
			signal_children(s, KIND_NOT_ROUTER, SIGKILL);
			enter_phase(s, PHASE_ROUTER, now);
		}
		break;
	case PHASE_ROUTER:
		if (running(s, -1) == 0) {
			s->phase = PHASE_DONE;
		} else if (now >= s->deadline_ms) {
			GW_WARN(MOD, "still running after %lld ms: SIGKILL",
				(long long)s->stop_timeout_ms);
			enter_phase(s, PHASE_KILLED, now);
		}
		break;
	case PHASE_KILLED:
		if (running(s, -1) == 0) {
			s->phase = PHASE_DONE;
		} else if (now >= s->deadline_ms) {
			GW_ERROR(MOD, "%zu process(es) did not exit after SIGKILL; giving up",
				 running(s, -1));
			s->phase = PHASE_DONE;
		}
		break;
	default:
		break;
	}
}

/* ---- the loop ---- */

static int open_signals(struct sup *s)
{
	sigset_t set;

	/* SIGCHLD must not be inherited as ignored, or exits would be lost. */
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, &s->saved_mask) != 0)
		return GW_EIO;
	s->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sfd < 0) {
		GW_ERROR(MOD, "signalfd: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &s->saved_mask, NULL);
		return GW_EIO;
	}
	return GW_OK;
}

static void read_signals(struct sup *s, int64_t now)
{
	struct signalfd_siginfo si;

	while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
			begin_stop(s, "SIGTERM", now);
			break;
		case SIGINT:
			begin_stop(s, "SIGINT", now);
			break;
		case SIGHUP:
			/* The router reads the routing rules again; the rest of the
			 * config (processes, endpoints, connectors) needs a restart.
			 * The reload is the router's own and quick: systemd is told
			 * RELOADING then READY at once. */
			GW_INFO(MOD, "SIGHUP: the router reloads the routing rules; other "
				"changes apply at the next restart");
			sd_notify(0, "RELOADING=1");
			signal_children(s, SUP_KIND_ROUTER, SIGHUP);
			sd_notify(0, "READY=1");
			break;
		default:
			break; /* SIGCHLD: reap() below collects every exit */
		}
	}
}

static void restart_due(struct sup *s, int64_t now)
{
	if (s->phase != PHASE_RUN)
		return;
	for (size_t i = 0; i < s->n_children; i++)
		if (sup_child_due(&s->children[i], now))
			spawn(s, &s->children[i], now);
}

/* Milliseconds until the next timer (status tick, restart, stop deadline). */
static int next_timeout(const struct sup *s, int64_t now)
{
	int64_t next = s->next_status_ms;

	for (size_t i = 0; i < s->n_children; i++)
		if (s->phase == PHASE_RUN && s->children[i].state == SUP_BACKOFF &&
		    s->children[i].restart_due_ms < next)
			next = s->children[i].restart_due_ms;
	if (s->phase != PHASE_RUN && s->deadline_ms < next)
		next = s->deadline_ms;
	if (!s->ready && now + 50 < next)
		next = now + 50; /* look for the children's status files */
	if (next <= now)
		return 0;
	return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

static void announce(const struct sup *s)
{
	char names[1024] = "";
	size_t used = 0;

	for (size_t i = 0; i < s->n_children; i++) {
		const struct sup_child *c = &s->children[i];
		int n;

		if (c->state == SUP_DISABLED) {
			GW_WARN(MOD, "connector %s is disabled: %s", c->name, c->reason);
			continue;
		}
		n = snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "",
			     c->name);
		if (n < 0 || (size_t)n >= sizeof(names) - used)
			break;
		used += (size_t)n;
	}
	GW_INFO("gatewayd", "running (%s); state in %s; Ctrl-C to stop", names,
		s->cfg->state_dir);
}

/* child_up - a running child that wrote its status file (run/NAME.json
 * with its pid): its sockets and listeners are open. */
static int child_up(const struct sup *s, const struct sup_child *c)
{
	char path[PATH_MAX + SUP_NAME_MAX + 8];
	json_t *j;
	int up, n;

	if (c->state != SUP_RUNNING)
		return 0;
	n = snprintf(path, sizeof(path), "%s/%s.json", s->run_dir, c->name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;
	j = json_load_file(path, 0, NULL);
	up = j && json_integer_value(json_object_get(j, "pid")) == (json_int_t)c->pid;
	json_decref(j);
	return up;
}

/* check_ready - once every child that is not disabled is up, tells
 * systemd READY=1 (Type=notify; nothing without NOTIFY_SOCKET) and logs it. */
static void check_ready(struct sup *s)
{
	char status[128];

	if (s->ready || s->phase != PHASE_RUN)
		return;
	for (size_t i = 0; i < s->n_children; i++)
		if (s->children[i].state != SUP_DISABLED && !child_up(s, &s->children[i]))
			return;
	s->ready = 1;
	snprintf(status, sizeof(status), "READY=1\nSTATUS=%zu processes running",
		 running(s, -1));
	sd_notify(0, status);
	GW_INFO(MOD, "ready: every process is up");
}

static int loop(struct sup *s)
{
	struct pollfd pfd = {.fd = s->sfd, .events = POLLIN};
	int rc = GW_OK;

	while (s->phase != PHASE_DONE) {
		int64_t now = mono_ms();

		if (poll(&pfd, 1, next_timeout(s, now)) < 0 && errno != EINTR) {
			GW_ERROR(MOD, "poll: %s", strerror(errno));
			rc = GW_EIO;
			begin_stop(s, "internal error", mono_ms());
		}
		now = mono_ms();
		read_signals(s, now);
		reap(s, now);
		restart_due(s, now);
		stop_progress(s, now);
		if (s->dirty || now >= s->next_status_ms)
			write_status(s, now);
		check_ready(s);
	}
	return rc;
}

int sup_run(struct sup *s)
{
	int64_t now;
	int rc;

	s->self = getpid();
	s->started_at_ms = gw_now_ms();
	rc = open_signals(s);
	if (rc != GW_OK)
		return rc;
	now = mono_ms();
	for (size_t i = 0; i < s->n_children; i++)
		if (s->children[i].state == SUP_STOPPED)
			spawn(s, &s->children[i], now);
	write_status(s, now);
	announce(s);
	rc = loop(s);
	remove_status_files(s);
	close(s->sfd);
	s->sfd = -1;
	sigprocmask(SIG_SETMASK, &s->saved_mask, NULL);
	GW_INFO(MOD, "stopped");
	return rc;
}

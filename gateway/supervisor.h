/*
 * supervisor.h - gatewayd's process supervisor.
 *
 * gatewayd starts the router, one gateway-connector per connectors[]
 * entry and gateway-integration when the config has an `integration` section, restarts whatever exits with a doubling backoff, stops everything in
 * order on SIGTERM/SIGINT and keeps <state_dir>/run/gatewayd.json current.
 *
 * Two layers, so that the policy is testable without processes:
 *  - the child state machine (supervisor.c): sup_backoff_ms, sup_child_*,
 *    sup_status_json. No system calls; every time is passed in.
 *  - the process layer (supervisor_run.c): sup_create, sup_run, sup_destroy.
 *    fork/exec, signalfd, poll; single-threaded.
 *
 * Child states:
 *
 *   STOPPED --start--> RUNNING --exit (not stopping)--> BACKOFF --due--> RUNNING
 *                         |  \--exit 78----------------> DISABLED
 *                         \----exit while stopping-----> STOPPED
 *   (config disabled_reason) -------------------------> DISABLED
 *
 * A child that exits after running at least stable_ms starts a new failure
 * run: its delay is back at backoff_min_ms. Exit code 78 (EX_CONFIG) means
 * the child refused its own config; restarting would not help.
 */
#ifndef GW_SUPERVISOR_H
#define GW_SUPERVISOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "core/config.h"

/* The exit code a child uses to say "my config disables me" (EX_CONFIG). */
#define SUP_EXIT_DISABLED 78

#define SUP_NAME_MAX 128   /* longest child name + 1 */
#define SUP_TYPE_MAX 64    /* longest connector type + 1 */
#define SUP_REASON_MAX 256 /* longer reasons are cut */

enum sup_kind {
	SUP_KIND_ROUTER = 0,
	SUP_KIND_CONNECTOR,
	SUP_KIND_NATS, /* gateway-nats, the JetStream publisher (nats.enabled) */
	SUP_KIND_INTEGRATION, /* gateway-integration, when the config has `integration` */
	SUP_KIND_METRICS, /* gateway-metrics, when metrics.enabled */
};

enum sup_state {
	SUP_STOPPED = 0, /* not started yet, or stopped on shutdown */
	SUP_RUNNING,     /* pid is live */
	SUP_BACKOFF,     /* exited; restart due at restart_due_ms */
	SUP_DISABLED,    /* never (re)started: reason says why */
};

/* Restart policy, from the config's supervisor section. */
struct sup_policy {
	int64_t backoff_min_ms;
	int64_t backoff_max_ms;
	int64_t stable_ms;
};

/* One supervised process. Plain data, owned by its holder. */
struct sup_child {
	char name[SUP_NAME_MAX]; /* "router" or the connector instance name */
	char type[SUP_TYPE_MAX]; /* connector type; "" for the router */
	enum sup_kind kind;
	enum sup_state state;
	pid_t pid;               /* > 0 only while RUNNING */
	unsigned failures;       /* consecutive short-lived runs */
	uint64_t starts;         /* successful spawns */
	uint64_t restarts;       /* spawns after the first */
	int64_t started_mono_ms; /* monotonic time of the last spawn */
	int64_t started_at_ms;   /* wall clock of the last spawn; 0: never */
	int64_t restart_due_ms;  /* monotonic; meaningful in BACKOFF */
	int64_t restart_delay_ms;/* the delay chosen at the last exit */
	char last_exit[32];      /* "code 1", "signal 9"; "" when none yet */
	char reason[SUP_REASON_MAX]; /* why DISABLED or last spawn failure; "" */
};

/* What gatewayd.json says about the supervisor itself. All borrowed. */
struct sup_status_info {
	pid_t pid;
	int64_t started_at_ms;
	int64_t updated_at_ms;
	const char *config_path;
	const char *state_dir;
	int stopping; /* shutting down */
};

/* sup_state_name - "running", "backoff", "disabled", "stopped". */
const char *sup_state_name(enum sup_state state);

/* sup_kind_name - "router", "connector", "nats", "integration" or "metrics". */
const char *sup_kind_name(enum sup_kind kind);

/*
 * sup_backoff_ms - the restart delay after `failures` consecutive failures
 * (1 for the first): backoff_min_ms doubled failures-1 times, at most
 * backoff_max_ms. failures 0 is treated as 1. Never overflows.
 */
int64_t sup_backoff_ms(const struct sup_policy *p, unsigned failures);

/*
 * sup_child_init - zeroes `c` and sets kind, name and type (type may be NULL).
 * Returns GW_OK, or GW_EINVAL when name is empty or a string does not fit.
 */
int sup_child_init(struct sup_child *c, enum sup_kind kind, const char *name,
		   const char *type);

/* sup_child_disable - DISABLED with `reason` (copied, cut to fit). */
void sup_child_disable(struct sup_child *c, const char *reason);

/*
 * sup_child_started - records a successful spawn of `pid` at the given
 * monotonic and wall-clock times: RUNNING, reason cleared, starts counted
 * (restarts too when it ran before).
 */
void sup_child_started(struct sup_child *c, pid_t pid, int64_t mono_ms, int64_t wall_ms);

/*
 * sup_child_spawn_failed - fork failed (`why`, copied): counts a failure and
 * schedules a retry like an exit would. Returns the new state (BACKOFF, or
 * STOPPED when `stopping`).
 */
enum sup_state sup_child_spawn_failed(struct sup_child *c, const struct sup_policy *p,
				      const char *why, int64_t mono_ms, int stopping);

/*
 * sup_child_exited - records the exit of the running child with wait status
 * `wstatus` at `mono_ms` and returns the new state:
 *  - DISABLED with reason "exited 78: see log" for exit code 78;
 *  - STOPPED when `stopping` (shutdown in progress);
 *  - BACKOFF otherwise, restart due after sup_backoff_ms(); a run of at
 *    least stable_ms resets the failure count first.
 * last_exit always says how it ended; pid becomes 0.
 */
enum sup_state sup_child_exited(struct sup_child *c, const struct sup_policy *p, int wstatus,
				int64_t mono_ms, int stopping);

/* sup_child_due - true when `c` is in BACKOFF and its restart is due. */
int sup_child_due(const struct sup_child *c, int64_t mono_ms);

/* sup_child_cancel - on shutdown: a BACKOFF or never-started child becomes STOPPED. */
void sup_child_cancel(struct sup_child *c);

/* sup_format_exit - "code N" or "signal N" for a wait status, into buf. */
void sup_format_exit(int wstatus, char *buf, size_t len);

/*
 * sup_status_json - the gatewayd.json document (see docs/cli.md) for `n`
 * children. New reference (caller json_decref()s); NULL when out of memory.
 */
json_t *sup_status_json(const struct sup_status_info *info, const struct sup_child *children,
			size_t n);

/* ---- process layer (supervisor_run.c) ---- */

struct sup;

/*
 * sup_create - prepares a supervisor for `cfg` (borrowed; must outlive the
 * supervisor): one child for the router, one per connectors[] entry and,
 * when nats.enabled, one named "nats" for gateway-nats, and with
 * metrics.enabled one for gateway-metrics (named "metrics"), started from
 * the executables in `bindir` (copied). Entries with a
 * disabled_reason start DISABLED. Checks that the executables exist.
 * *out owns the result. Returns GW_OK, GW_ENOMEM, GW_EINVAL (a name too
 * long), GW_ENOTFOUND (an executable is missing; logged).
 */
int sup_create(const struct gw_config *cfg, const char *bindir, struct sup **out);

/*
 * sup_run - starts the children and supervises them until SIGTERM or SIGINT,
 * then stops them (connectors, gateway-nats and gateway-metrics first, then the router; SIGKILL past
 * supervisor.stop_timeout_ms) and removes the status files. Blocks SIGCHLD,
 * SIGTERM, SIGINT and SIGHUP in the calling thread for its own use. Returns
 * GW_OK after a clean stop, GW_EIO when its own machinery (signalfd, poll)
 * failed; the children are stopped in both cases.
 */
int sup_run(struct sup *s);

/* sup_destroy - frees `s`; accepts NULL. Does not touch processes. */
void sup_destroy(struct sup *s);

#endif

/*
 * ctl_status.c - `gatewayctl status`: reads <state_dir>/run/gatewayd.json
 * (written by gatewayd every second and on each change) and the status file
 * of each child (run/router.json, run/<instance>.json, with "counters"),
 * checks that the pids are alive and prints a table or the merged JSON.
 * Needs no socket: it works while the router is down.
 */
#include "gateway/ctl/ctl.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "core/err.h"
#include "core/util.h"

#define STATUS_MAX_BYTES (1024 * 1024)

/*
 * Whether `pid` is a live process whose name starts with `comm`: kill(pid, 0)
 * alone would also accept a zombie (a gatewayd killed before its parent
 * reaped it) and a pid reused by another program after a crash or reboot.
 * Without /proc, kill(pid, 0) decides alone.
 */
static int alive(json_int_t pid, const char *comm)
{
	char path[64], line[256];
	const char *name, *end;
	FILE *f;
	size_t n;

	if (pid <= 0 || pid > INT_MAX || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
		return 0;
	snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	/* "PID (COMM) STATE ...": COMM may hold blanks and parentheses. */
	name = strchr(line, '(');
	end = strrchr(line, ')');
	if (!name || !end || end < name || end[1] != ' ')
		return 1;
	name++;
	if (end[2] == 'Z' || end[2] == 'X')
		return 0;
	return (size_t)(end - name) >= strlen(comm) && strncmp(name, comm, strlen(comm)) == 0;
}

/* Parses the JSON file at `path`; NULL when missing or unreadable. */
static json_t *load_json(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	json_t *j = NULL;

	if (gw_read_file(path, STATUS_MAX_BYTES, &text, &len) == GW_OK)
		j = json_loadb(text, len, 0, NULL);
	free(text);
	return j;
}

/* Adds "status" (the child's own file, or null) and "alive" to each child. */
static void merge_children(const char *run_dir, json_t *children)
{
	char path[PATH_MAX];
	size_t i;
	json_t *c;

	json_array_foreach(children, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		json_t *st = NULL;
		int n;

		/* A name is a config key, never a path; do not follow one. */
		if (name && !strchr(name, '/')) {
			n = snprintf(path, sizeof(path), "%s/%s.json", run_dir, name);
			if (n > 0 && (size_t)n < sizeof(path))
				st = load_json(path);
		}
		json_object_set_new(c, "status", st ? st : json_null());
		json_object_set_new(c, "alive",
				    json_boolean(alive(json_integer_value(json_object_get(c, "pid")),
							  "gateway-")));
	}
}

static void format_duration(int64_t ms, char *buf, size_t size)
{
	long long s = ms / 1000;

	if (ms <= 0)
		snprintf(buf, size, "-");
	else if (s < 60)
		snprintf(buf, size, "%llds", s);
	else if (s < 3600)
		snprintf(buf, size, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, size, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

/* Prints "prefix.key=value" for every scalar, one level of nesting deep. */
static void print_counters(json_t *obj, const char *prefix, int depth)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		if (json_is_object(v) && depth == 0) {
			print_counters(v, key, 1);
			continue;
		}
		if (json_is_integer(v))
			printf(" %s%s%s=%lld", prefix, *prefix ? "." : "", key,
			       (long long)json_integer_value(v));
		else if (json_is_real(v))
			printf(" %s%s%s=%g", prefix, *prefix ? "." : "", key, json_real_value(v));
		else if (json_is_string(v))
			printf(" %s%s%s=%s", prefix, *prefix ? "." : "", key, json_string_value(v));
	}
}

static void print_details(json_t *c)
{
	json_t *st = json_object_get(c, "status");
	const char *reason = json_string_value(json_object_get(c, "reason"));
	const char *last = json_string_value(json_object_get(c, "last_exit"));
	json_t *counters = json_object_get(st, "counters");
	json_int_t pid = json_integer_value(json_object_get(c, "pid"));

	if (json_is_object(counters)) {
		printf("    ");
		if (json_is_integer(json_object_get(st, "head_seq")))
			printf(" head_seq=%lld", (long long)json_integer_value(
							 json_object_get(st, "head_seq")));
		print_counters(counters, "", 0);
		if (json_integer_value(json_object_get(st, "pid")) != pid)
			printf(" (from an earlier run)");
		putchar('\n');
	}
	if (reason)
		printf("     reason: %s\n", reason);
	if (json_string_value(json_object_get(st, "replies_off")))
		printf("     replies off: %s\n",
		       json_string_value(json_object_get(st, "replies_off")));
	if (json_string_value(json_object_get(st, "send_error")))
		printf("     replies fail: %s\n",
		       json_string_value(json_object_get(st, "send_error")));
	if (json_string_value(json_object_get(st, "warning")))
		printf("     warning: %s\n", json_string_value(json_object_get(st, "warning")));
	if (last)
		printf("     last exit: %s\n", last);
}

static void print_child(json_t *c, int64_t now)
{
	const char *state = json_string_value(json_object_get(c, "state"));
	json_int_t pid = json_integer_value(json_object_get(c, "pid"));
	int running = state && strcmp(state, "running") == 0;
	char up[32], pidtext[24] = "-";

	if (running && !json_is_true(json_object_get(c, "alive")))
		state = "dead";
	if (pid > 0)
		snprintf(pidtext, sizeof(pidtext), "%lld", (long long)pid);
	format_duration(running ? now - json_integer_value(json_object_get(c, "started_at")) : 0,
			up, sizeof(up));
	printf("%-16s %-10s %-9s %-8s %-9s %lld\n", json_string_value(json_object_get(c, "name")),
	       json_string_value(json_object_get(c, "kind")), state ? state : "?", pidtext, up,
	       (long long)json_integer_value(json_object_get(c, "restarts")));
	print_details(c);
}

static void print_table(json_t *doc)
{
	int64_t now = gw_now_ms();
	json_t *children = json_object_get(doc, "children");
	char up[32];
	size_t i;
	json_t *c;

	format_duration(now - json_integer_value(json_object_get(doc, "started_at")), up,
			sizeof(up));
	printf("gatewayd pid %lld, up %s%s, config %s\n",
	       (long long)json_integer_value(json_object_get(doc, "pid")), up,
	       json_is_true(json_object_get(doc, "stopping")) ? ", stopping" : "",
	       json_string_value(json_object_get(doc, "config")) ?: "-");
	printf("%-16s %-10s %-9s %-8s %-9s %s\n", "NAME", "KIND", "STATE", "PID", "UPTIME",
	       "RESTARTS");
	json_array_foreach(children, i, c)
		print_child(c, now);
}

static int status_once(struct ctl *ctl)
{
	char run_dir[PATH_MAX], path[PATH_MAX];
	json_t *doc = NULL;
	int rc = CTL_EXIT_OK;
	int n = snprintf(run_dir, sizeof(run_dir), "%s/run", ctl->state_dir);

	if (n < 0 || (size_t)n >= sizeof(run_dir) ||
	    (size_t)snprintf(path, sizeof(path), "%s/gatewayd.json", run_dir) >= sizeof(path)) {
		fprintf(stderr, "gatewayctl: state dir path too long\n");
		return CTL_EXIT_USAGE;
	}
	doc = load_json(path);
	if (!doc || !alive(json_integer_value(json_object_get(doc, "pid")), "gatewayd")) {
		/* The answer to "status", not an error of gatewayctl: stdout. */
		if (ctl->json)
			printf("{\"process\": \"gatewayd\", \"running\": false}\n");
		else
			printf("gatewayd is not running (state dir %s)\n", ctl->state_dir);
		rc = CTL_EXIT_DOWN;
		goto out;
	}
	json_object_set_new(doc, "running", json_true());
	merge_children(run_dir, json_object_get(doc, "children"));
	if (ctl->json) {
		char *text = json_dumps(doc, JSON_INDENT(2));

		if (text)
			puts(text);
		rc = text ? CTL_EXIT_OK : CTL_EXIT_ERROR;
		free(text);
	} else {
		print_table(doc);
	}
out:
	json_decref(doc);
	return rc;
}

/* status --watch: the status again every watch_s seconds (the screen
 * cleared first on a terminal) until SIGINT/SIGTERM; a gatewayd that is
 * down is shown and watched for, not an exit. */
int ctl_cmd_status(struct ctl *ctl)
{
	int rc;

	if (!ctl->watch_s)
		return status_once(ctl);
	ctl_catch_signals();
	while (!ctl_stop) {
		struct timespec ts = {ctl->watch_s, 0};

		if (isatty(STDOUT_FILENO))
			fputs("\033[H\033[2J", stdout);
		rc = status_once(ctl);
		if (rc != CTL_EXIT_OK && rc != CTL_EXIT_DOWN)
			return rc;
		fflush(stdout);
		nanosleep(&ts, NULL); /* a signal cuts it short */
	}
	return CTL_EXIT_OK;
}

/*
 * bench_proc.c - what the gateway's processes cost during a run: CPU time
 * (utime+stime from /proc/PID/stat, before and after) and peak resident
 * memory (VmHWM from /proc/PID/status), plus the router's batch counters
 * from its status file.
 */
#include "bench/bench_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

static int proc_add(struct proc_watch *w, size_t max, size_t *n, const char *name,
		    size_t namelen, long long pid)
{
	if (*n >= max || pid <= 0 || namelen == 0 || namelen >= sizeof(w->name)) {
		fprintf(stderr, "bench-api: bad or too many processes (at most %zu)\n", max);
		return -1;
	}
	memset(&w[*n], 0, sizeof(w[*n]));
	memcpy(w[*n].name, name, namelen);
	w[*n].pid = (pid_t)pid;
	w[*n].hwm_kb = -1;
	w[*n].rss_kb = -1;
	w[*n].anon_kb = -1;
	(*n)++;
	return 0;
}

int proc_parse_pids(const char *spec, struct proc_watch *w, size_t max, size_t *n)
{
	const char *p = spec;

	*n = 0;
	while (*p) {
		const char *eq = strchr(p, '='), *comma;
		char *end = NULL;
		long long pid;

		if (!eq) {
			fprintf(stderr, "bench-api: --pids wants name=pid,...\n");
			return -1;
		}
		errno = 0;
		pid = strtoll(eq + 1, &end, 10);
		if (errno || end == eq + 1 || (*end && *end != ',')) {
			fprintf(stderr, "bench-api: --pids: bad pid after %.*s\n", (int)(eq - p), p);
			return -1;
		}
		if (proc_add(w, max, n, p, (size_t)(eq - p), pid))
			return -1;
		comma = end;
		p = *comma ? comma + 1 : comma;
	}
	return 0;
}

int proc_from_state(const char *dir, struct proc_watch *w, size_t max, size_t *n)
{
	char path[4096];
	json_error_t jerr;
	json_t *doc, *children, *c;
	size_t i;
	int rc = -1;

	*n = 0;
	snprintf(path, sizeof(path), "%s/run/gatewayd.json", dir);
	doc = json_load_file(path, 0, &jerr);
	if (!doc) {
		fprintf(stderr, "bench-api: %s: %s\n", path, jerr.text);
		return -1;
	}
	if (proc_add(w, max, n, "gatewayd", 8, json_integer_value(json_object_get(doc, "pid"))))
		goto out;
	children = json_object_get(doc, "children");
	json_array_foreach(children, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		json_int_t pid = json_integer_value(json_object_get(c, "pid"));

		if (name && pid > 0 && proc_add(w, max, n, name, strlen(name), pid))
			goto out;
	}
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

/* utime + stime of `pid` in clock ticks; 0 when unreadable. */
static uint64_t proc_ticks(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long ut = 0, st = 0;
	const char *p;
	FILE *f;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	/* The command name may hold spaces: fields count from the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			  &ut, &st) != 2)
		return 0;
	return ut + st;
}

void proc_sample(struct proc_watch *w, size_t n, int after)
{
	for (size_t i = 0; i < n; i++) {
		if (after)
			w[i].ticks1 = proc_ticks(w[i].pid);
		else
			w[i].ticks0 = proc_ticks(w[i].pid);
	}
}

/* The value in kB of `key` ("VmHWM:") in /proc/PID/status; -1 if absent. */
static long proc_status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0) {
			char *end = NULL;

			errno = 0;
			kb = strtol(line + klen, &end, 10);
			if (errno || end == line + klen)
				kb = -1;
			break;
		}
	}
	fclose(f);
	return kb;
}

void proc_finish(struct proc_watch *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		w[i].hwm_kb = proc_status_kb(w[i].pid, "VmHWM:");
		w[i].rss_kb = proc_status_kb(w[i].pid, "VmRSS:");
		w[i].anon_kb = proc_status_kb(w[i].pid, "RssAnon:");
	}
}

int proc_add_self(struct proc_watch *w, size_t max, size_t *n)
{
	return proc_add(w, max, n, "bench-api", 9, (long long)getpid());
}

void proc_cpu_sample(struct cpu_sample *s)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");

	memset(s, 0, sizeof(*s));
	if (!f)
		return;
	/* cpu  user nice system idle iowait irq softirq steal */
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		for (int i = 0; i < 8; i++)
			s->total += v[i];
		s->busy = s->total - v[3] - v[4];
	}
	fclose(f);
}

int proc_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 && n < 100000 ? (int)n : 1;
}

long proc_ticks_per_s(void)
{
	long t = sysconf(_SC_CLK_TCK);

	return t > 0 ? t : 100;
}

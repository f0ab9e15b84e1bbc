/*
 * bench_wrk.c - wrk as the load of bench-meta (bench_wrk.h).
 */
#define _GNU_SOURCE /* wait4 */
#include "bench/bench_wrk.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_api.h" /* bench_now_us */

#define WRK_OUT_MAX 16384 /* wrk's output kept (its summary is ~1 KiB) */
#define WRK_STOPPED "bench-meta-wrk-stopped"
#define WRK_SUMMARY "bench-meta-wrk "

struct wrk_child {
	pid_t pid;
	int fd;                    /* read end of wrk's stdout and stderr */
	char out[WRK_OUT_MAX + 1]; /* what it printed, NUL-terminated */
	size_t len;
	int stopped, eof;
};

/* The child's argv and environment, built before fork: between fork and
 * exec a threaded process may only make async-signal-safe calls. */
struct wrk_argv {
	char c[32], dur[32], tmo[32];
	char env_n[64], env_senders[64], env_text[64];
	char *env_secret, *env_prefix; /* owned */
	char *argv[12];
	char **envp; /* owned array; its strings are environ's or ours */
};

extern char **environ;

static void wrk_argv_free(struct wrk_argv *a)
{
	free(a->env_secret);
	free(a->env_prefix);
	free(a->envp);
}

static char *wrk_var(const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 2;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s=%s", name, value);
	return s;
}

static int wrk_argv_build(const struct wrk_spec *s, struct wrk_argv *a)
{
	size_t n = 0, k = 0;

	snprintf(a->c, sizeof(a->c), "-c%u", s->conc);
	/* Longer than max_seconds: the parent ends it first. */
	snprintf(a->dur, sizeof(a->dur), "-d%lds", s->max_seconds + 60);
	snprintf(a->tmo, sizeof(a->tmo), "%lds", (s->timeout_ms + 999) / 1000);
	snprintf(a->env_n, sizeof(a->env_n), "BENCH_N=%llu", (unsigned long long)s->n);
	snprintf(a->env_senders, sizeof(a->env_senders), "BENCH_SENDERS=%u", s->senders);
	snprintf(a->env_text, sizeof(a->env_text), "BENCH_TEXT_BYTES=%u", s->text_bytes);
	a->env_secret = wrk_var("BENCH_SECRET", s->secret);
	a->env_prefix = wrk_var("BENCH_PREFIX", s->prefix);
	while (environ[n])
		n++;
	a->envp = calloc(n + 6, sizeof(*a->envp));
	if (!a->env_secret || !a->env_prefix || !a->envp)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "BENCH_", 6) != 0)
			a->envp[k++] = environ[i];
	a->envp[k++] = a->env_secret;
	a->envp[k++] = a->env_prefix;
	a->envp[k++] = a->env_n;
	a->envp[k++] = a->env_senders;
	a->envp[k++] = a->env_text;
	a->envp[k] = NULL;
	k = 0;
	a->argv[k++] = (char *)s->wrk;
	a->argv[k++] = "-t1";
	a->argv[k++] = a->c;
	a->argv[k++] = a->dur;
	a->argv[k++] = "--timeout";
	a->argv[k++] = a->tmo;
	a->argv[k++] = "-s";
	a->argv[k++] = (char *)s->script;
	a->argv[k++] = (char *)s->url;
	a->argv[k] = NULL;
	return 0;
}

/* In the child: stdout and stderr to the pipe, exec. */
static void wrk_exec(const struct wrk_argv *a, int out_fd)
{
	static const char fail[] = "bench-meta: cannot run wrk (Debian package wrk)\n";

	dup2(out_fd, STDOUT_FILENO);
	dup2(out_fd, STDERR_FILENO);
	execvpe(a->argv[0], a->argv, a->envp);
	if (write(STDERR_FILENO, fail, sizeof(fail) - 1) < 0)
		_exit(127);
	_exit(127);
}

static int wrk_start(const struct wrk_spec *s, struct wrk_child *ch)
{
	struct wrk_argv a;
	int p[2], rc = -1;

	memset(&a, 0, sizeof(a));
	if (wrk_argv_build(s, &a) != 0 || pipe2(p, O_CLOEXEC) != 0)
		goto out;
	ch->pid = fork();
	if (ch->pid == 0)
		wrk_exec(&a, p[1]);
	close(p[1]);
	if (ch->pid < 0) {
		close(p[0]);
		goto out;
	}
	ch->fd = p[0];
	rc = 0;
out:
	wrk_argv_free(&a);
	return rc;
}

/* Reads what wrk printed within `ms`; notes the script's stop line. */
static void wrk_read(struct wrk_child *ch, int ms)
{
	struct pollfd pfd = {.fd = ch->fd, .events = POLLIN};
	char buf[4096];
	ssize_t r;

	if (ch->eof || poll(&pfd, 1, ms) <= 0)
		return;
	r = read(ch->fd, buf, sizeof(buf));
	if (r <= 0) {
		ch->eof = r == 0 || errno != EINTR;
		return;
	}
	if ((size_t)r > WRK_OUT_MAX - ch->len)
		r = (ssize_t)(WRK_OUT_MAX - ch->len); /* keep the start; the rest is lost */
	memcpy(ch->out + ch->len, buf, (size_t)r);
	ch->len += (size_t)r;
	ch->out[ch->len] = '\0';
	if (!ch->stopped && strstr(ch->out, WRK_STOPPED))
		ch->stopped = 1;
}

/* Parses the summary line; 0, or -1 when it is missing or malformed. */
static int wrk_parse(const char *out, struct wrk_result *r)
{
	const char *l = strstr(out, WRK_SUMMARY "sent=");
	unsigned long long v[9];
	long long t[2];

	if (!l || sscanf(l, WRK_SUMMARY "sent=%llu answered=%llu ok=%llu t0_us=%lld t1_us=%lld "
			 "p50_us=%llu p99_us=%llu max_us=%llu errors=%llu",
			 &v[0], &v[1], &v[2], &t[0], &t[1], &v[3], &v[4], &v[5], &v[6]) != 9)
		return -1;
	r->sent = v[0];
	r->answered = v[1];
	r->ok = v[2];
	r->t0_us = t[0];
	r->t1_us = t[1];
	r->p50_us = (int64_t)v[3];
	r->p99_us = (int64_t)v[4];
	r->max_us = (int64_t)v[5];
	r->errors = v[6];
	return 0;
}

/* Ends wrk (SIGINT makes it print its summary), reads the rest, reaps it. */
static void wrk_finish(struct wrk_child *ch, struct wrk_result *res)
{
	struct rusage ru;
	int status = 0;
	int64_t give_up = bench_now_us() + 10 * 1000000;

	kill(ch->pid, SIGINT);
	while (!ch->eof && bench_now_us() < give_up)
		wrk_read(ch, 100);
	if (!ch->eof)
		kill(ch->pid, SIGKILL);
	memset(&ru, 0, sizeof(ru));
	while (wait4(ch->pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	res->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	close(ch->fd);
}

int wrk_run(const struct wrk_spec *spec, struct wrk_result *res)
{
	struct wrk_child *ch = calloc(1, sizeof(*ch));
	int64_t deadline = bench_now_us() + (int64_t)spec->max_seconds * 1000000;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	if (!ch || wrk_start(spec, ch) != 0) {
		fprintf(stderr, "bench-meta: cannot start wrk: %s\n", strerror(errno));
		goto out;
	}
	while (!ch->stopped && !ch->eof && bench_now_us() < deadline)
		wrk_read(ch, 100);
	if (!ch->stopped)
		fprintf(stderr, "bench-meta: wrk %s before its %llu answers\n",
			ch->eof ? "ended" : "timed out", (unsigned long long)spec->n);
	wrk_finish(ch, res);
	rc = wrk_parse(ch->out, res);
	if (rc != 0 || !ch->stopped)
		fprintf(stderr, "bench-meta: wrk (exit %d) printed:\n%s\n", res->exit_code,
			ch->out);
	if (!ch->stopped)
		rc = -1;
out:
	free(ch);
	return rc;
}

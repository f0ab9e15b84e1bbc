/*
 * bench_wrk.h - the load of `bench-meta --load wrk`: wrk (Debian package
 * wrk) run as a child process with bench/meta_wrk.lua.
 *
 * Why: on a 2-core machine the load generator takes its CPU from the
 * gateway. libcurl's multi interface spends about 45 us per webhook here,
 * wrk about 20 us with the script's signing; the requests, the closed loop
 * of `conc` keep-alive connections and what the connector does are the same.
 *
 * Each text starts with "t<CLOCK_MONOTONIC us>;", the time its request was
 * built: bench_bus.c reads it back (stamp_us) for the accept-to-bus
 * latency, since wrk does not say which answer was whose.
 *
 * Threading: call from one thread; the child is waited for before return.
 */
#ifndef GW_BENCH_WRK_H
#define GW_BENCH_WRK_H

#include <stdint.h>

/* What to run. Strings are borrowed for the call. */
struct wrk_spec {
	const char *wrk;        /* the program; found in PATH when it has no '/' */
	const char *script;     /* bench/meta_wrk.lua */
	const char *url, *secret, *prefix;
	uint64_t n;             /* answers before the load stops */
	unsigned conc;          /* keep-alive connections */
	unsigned senders;
	unsigned text_bytes;
	long max_seconds;       /* wrk is ended (SIGINT) after this long at most */
	long timeout_ms;        /* wrk's per-request timeout */
};

/* What happened, from the script's summary line and wait4(). */
struct wrk_result {
	uint64_t sent;          /* requests built: answered plus those in flight */
	uint64_t answered, ok;  /* answers, and the 200s among them */
	uint64_t errors;        /* connect, read, write and timeout errors */
	int64_t t0_us, t1_us;   /* first request built, last answer (CLOCK_MONOTONIC) */
	int64_t p50_us, p99_us, max_us; /* wrk's latency: request written -> answer */
	double cpu_s;           /* user + system time of wrk */
	int exit_code;          /* wrk's exit status, -1 when it did not exit */
};

/*
 * wrk_run - runs wrk until its thread reports `n` answers (the script
 * prints a line, then wrk is ended with SIGINT so that it prints its
 * summary) or `max_seconds` passed. Returns 0 when the summary line was
 * read, -1 otherwise (message on stderr; wrk's output is echoed then).
 */
int wrk_run(const struct wrk_spec *spec, struct wrk_result *res);

#endif

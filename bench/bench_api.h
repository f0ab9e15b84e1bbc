/*
 * bench_api.h - the pieces of bench-api, the API channel benchmark.
 *
 *   bench_load.c  HTTP load: K keep-alive clients on one libcurl multi handle
 *   bench_bus.c   a ZeroMQ SUB thread that sees message.received arrive
 *   bench_proc.c  peak RSS and CPU time of the gateway's processes (/proc)
 *   bench_api.c   options, the run, the report
 *   bench_target.c  the shared clock; targets must be loopback
 *
 * Times are CLOCK_MONOTONIC microseconds (bench_now_us) so that the load
 * and the bus thread share one clock. Every array is sized once from -n.
 * Threading: the load runs in the main thread; the bus thread writes only
 * its own struct bench_bus until it is joined.
 */
#ifndef GW_BENCH_API_H
#define GW_BENCH_API_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_MAX_N 10000000ull    /* most messages in one run */
#define BENCH_MAX_CONC 1024u       /* most concurrent clients */
#define BENCH_MAX_STATUS 600       /* HTTP statuses counted: 0..599 */
#define BENCH_PREFIX_MAX 64        /* "bench-<run>-" and the like */
#define BENCH_MAX_PROCS 32         /* processes watched for RSS and CPU */

/* bench_now_us - CLOCK_MONOTONIC in microseconds. */
int64_t bench_now_us(void);

/* bench_loopback_host - 1 when `host` is 127.0.0.0/8, ::1 or localhost. */
int bench_loopback_host(const char *host);

/*
 * bench_check_url / bench_check_endpoint - 0 when `url` is an http:// URL
 * on a loopback host / `ep` is tcp://<loopback>:port or ipc://path; else -1
 * with "<prog>: <what> must be ..." on stderr.
 */
int bench_check_url(const char *prog, const char *what, const char *url);
int bench_check_endpoint(const char *prog, const char *what, const char *ep);

/* ---- bench_load.c --------------------------------------------------- */

/* What to send. All strings borrowed for the call. */
struct load_spec {
	const char *url;       /* http://127.0.0.1:PORT/v1/messages */
	const char *token;     /* bearer token; NULL sends none */
	const char *id_prefix; /* message i gets the id "<id_prefix><i>" */
	uint64_t n;            /* messages to send */
	unsigned conc;         /* concurrent keep-alive clients */
	double rate;           /* messages/s, 0 = as fast as possible */
	unsigned senders;      /* distinct from.id values, round robin */
	size_t text_bytes;     /* length of the "text" field */
	int64_t deadline_us;   /* bench_now_us() past which nothing new starts */
	long timeout_ms;       /* per request */
};

/* What happened. Arrays of n entries, owned; free with load_result_free. */
struct load_result {
	uint64_t n;
	int64_t *start_us;      /* request start of message i; 0 = never sent */
	int64_t *accept_us;     /* 202 time of message i; 0 = not accepted */
	uint64_t sent, accepted;
	uint64_t status[BENCH_MAX_STATUS]; /* by HTTP status, [0] = no answer */
	uint64_t curl_errors;   /* transport failures (counted in status[0]) */
	char first_curl_error[128];
	int64_t t0_us, t1_us;   /* first request start, last completion */
	int64_t max_lag_us;     /* rate mode: worst start behind schedule */
	int timed_out;          /* the deadline cut the run short */
};

/*
 * load_run - sends spec->n POST requests with spec->conc clients and fills
 * *res (which it initializes; free it even on failure). Returns 0, or -1
 * when setup failed (out of memory, libcurl refused an option), with a
 * message on stderr. HTTP and transport errors are results, not failures.
 */
int load_run(const struct load_spec *spec, struct load_result *res);

void load_result_free(struct load_result *res);

/* ---- bench_bus.c ---------------------------------------------------- */

struct bench_bus {
	/* set before bus_start, read-only afterwards */
	char endpoint[256];
	char prefix[BENCH_PREFIX_MAX]; /* external ids "<prefix><i>" are counted */
	char warm_prefix[BENCH_PREFIX_MAX]; /* "<warm_prefix><i>": warmup, counted apart */
	uint64_t n;
	int64_t *seen_us;  /* n entries, first sighting of message i; 0 = unseen */
	int64_t *stamp_us; /* NULL, or n entries the caller allocated: the
			      "t<us>;" a text of message i starts with (bench_wrk.h) */
	/* shared with the main thread */
	atomic_uint_fast64_t seen;      /* distinct measured messages seen */
	atomic_uint_fast64_t warm_seen; /* warmup messages seen (with repeats) */
	atomic_uint_fast64_t dups;      /* measured messages seen again */
	atomic_uint_fast64_t events;    /* message.received of any origin */
	atomic_uint_fast64_t bad;       /* undecodable events */
	atomic_uint_fast64_t heartbeats;
	atomic_int stop;
	/* private */
	pthread_t thread;
	void *zctx, *sub;
	int started;
};

/*
 * bus_start - allocates seen_us, connects a SUB socket to b->endpoint and
 * starts the thread; returns once the first heartbeat arrived (the
 * subscription is live) or -1 after `ready_ms` without one, or on error
 * (message on stderr). bus_stop must be called in every case.
 */
int bus_start(struct bench_bus *b, int ready_ms);

/* bus_stop - stops and joins the thread, closes the socket. Accepts a
 * bus that failed to start. seen_us stays for the report; free it last. */
void bus_stop(struct bench_bus *b);

/* ---- bench_proc.c --------------------------------------------------- */

struct proc_watch {
	char name[64];
	pid_t pid;
	uint64_t ticks0, ticks1; /* utime+stime in clock ticks, before/after */
	long hwm_kb;             /* VmHWM; -1 when unreadable */
	long rss_kb;             /* VmRSS at the end; -1 when unreadable */
	long anon_kb;            /* RssAnon at the end (heap, not mapped files) */
};

/*
 * proc_parse_pids - "name=pid,name=pid" into w[0..*n). Returns 0 or -1
 * (message on stderr) on a malformed list or more than `max` entries.
 */
int proc_parse_pids(const char *spec, struct proc_watch *w, size_t max, size_t *n);

/*
 * proc_from_state - gatewayd and its children from <dir>/run/gatewayd.json.
 * Returns 0 or -1 (message on stderr).
 */
int proc_from_state(const char *dir, struct proc_watch *w, size_t max, size_t *n);

/* proc_sample - reads the CPU ticks into ticks0 (`after` 0) or ticks1. */
void proc_sample(struct proc_watch *w, size_t n, int after);

/* proc_finish - reads VmHWM, VmRSS and RssAnon of each process. */
void proc_finish(struct proc_watch *w, size_t n);

/* The whole machine's CPU time from /proc/stat, in clock ticks. */
struct cpu_sample {
	uint64_t busy; /* everything but idle and iowait, all CPUs */
	uint64_t total;
};

/* proc_add_self - appends this process as "bench-api"; 0 or -1 when full. */
int proc_add_self(struct proc_watch *w, size_t max, size_t *n);

/* proc_cpu_sample - reads the first line of /proc/stat; zeroes on failure. */
void proc_cpu_sample(struct cpu_sample *s);

/* proc_ncpu - online CPUs. */
int proc_ncpu(void);

/* proc_ticks_per_s - sysconf(_SC_CLK_TCK). */
long proc_ticks_per_s(void);

/* ---- bench_router.c ------------------------------------------------- */

/* The router's counters, from its "status" command. */
struct router_counters {
	uint64_t received, stored, duplicates, events, batches, max_batch;
};

/*
 * router_counters_get - asks the router at `endpoint` (its command socket)
 * for its counters. Returns 0, or -1 when it did not answer within
 * `timeout_ms` or answered something else (message on stderr).
 */
int router_counters_get(const char *endpoint, int timeout_ms, struct router_counters *out);

/* ---- bench_api.c / bench_report.c ---------------------------------- */

struct bench_opts {
	const char *url, *token, *bus, *command, *pids, *state_dir, *ceiling_url, *dump;
	long long n, conc, warmup, senders, text_bytes, drain_ms, max_seconds, timeout_ms;
	double rate;
	int json;
};

/* Latency summary in microseconds. */
struct bench_lat {
	uint64_t count;
	int64_t p50, p90, p99, p999, max;
};

/* Everything measured by one run, for the report. */
struct bench_report {
	const struct bench_opts *o;
	char run[24];
	struct load_result load, ceil;
	int have_ceil; /* ceiling runs made (0, 1 or 2) */
	struct bench_lat http, bus;
	uint64_t missing, unaccepted_seen, seen, dups, bad;
	uint64_t late;         /* seen, but after the drain had ended */
	int64_t drain_end_us;  /* end of the drain: later sightings are late */
	int64_t last_seen_us;
	struct proc_watch procs[BENCH_MAX_PROCS];
	size_t nprocs;
	int64_t cpu_window_us;
	struct cpu_sample cpu0, cpu1; /* the whole machine, around the run */
	struct router_counters rc0, rc1;
	int have_rc;
};

/* report_text, report_json - print the report on stdout; 0 or -1. */
int report_text(const struct bench_report *r);
int report_json(const struct bench_report *r);

#endif

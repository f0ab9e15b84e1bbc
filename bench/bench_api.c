/*
 * bench_api.c - bench-api: pushes N messages through the API channel with K
 * keep-alive clients and watches each one arrive on the downstream bus.
 *
 * Figures (docs/performance.md explains how to read them):
 *   accepted msgs/s   202 answers / (first request start -> last answer)
 *   HTTP accept       request start -> 202 received, per message
 *   accept-to-bus     request start -> its message.received seen on the bus
 *   missing           answered 202 but not seen on the bus within --drain-ms
 *   peak RSS          VmHWM of each watched process at the end
 *   ceiling           the same load against a no-op HTTP server
 *
 * Every run is bounded (-n, --max-seconds, --drain-ms, per-request timeout)
 * and only loopback addresses are accepted as targets.
 */
#include "bench/bench_api.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-api [options]\n"
		"  --url URL          POST target (default http://127.0.0.1:8088/v1/messages)\n"
		"  --token TOKEN      bearer token (default: $GATEWAY_API_TOKEN)\n"
		"  --bus ENDPOINT     router publish endpoint (default tcp://127.0.0.1:5570)\n"
		"  --command ENDPOINT router command endpoint, for its batch counters\n"
		"  -n N               measured messages (default 10000)\n"
		"  -c K               concurrent keep-alive clients (default 16)\n"
		"  --rate R           messages/s, 0 = as fast as possible (default 0)\n"
		"  --warmup W         messages sent and drained first, not measured (default 1000)\n"
		"  --senders S        distinct from.id values (default 1000)\n"
		"  --text-bytes B     length of each message's text (default 64)\n"
		"  --drain-ms MS      wait this long for accepted messages on the bus (default 10000)\n"
		"  --max-seconds S    stop starting requests after this long (default 300)\n"
		"  --timeout-ms MS    per request (default 10000)\n"
		"  --pids name=pid,.. processes whose CPU and peak RSS to report\n"
		"  --state-dir DIR    same, from DIR/run/gatewayd.json\n"
		"  --ceiling-url URL  a no-op HTTP server: the same load against it before and after\n"
		"  --json             machine-readable output\n"
		"  --dump FILE        per message CSV: i,start_us,accept_us,seen_us (from t0)\n"
		"Targets must be loopback addresses. Exit 0: all accepted and seen once;\n"
		"1: errors or missing messages; 2: usage or setup failure.\n");
}

static int parse_ll(const char *name, const char *s, long long min, long long max,
		    long long *out)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "bench-api: %s must be an integer in [%lld, %lld]\n", name, min,
			max);
		return -1;
	}
	*out = v;
	return 0;
}

enum {
	OPT_URL = 256, OPT_TOKEN, OPT_BUS, OPT_COMMAND, OPT_RATE, OPT_WARMUP, OPT_SENDERS,
	OPT_TEXT, OPT_DRAIN, OPT_MAXS, OPT_TIMEOUT, OPT_PIDS, OPT_STATE, OPT_CEIL, OPT_JSON,
	OPT_DUMP, OPT_HELP,
};

static const struct option long_opts[] = {
	{"url", required_argument, NULL, OPT_URL},
	{"token", required_argument, NULL, OPT_TOKEN},
	{"bus", required_argument, NULL, OPT_BUS},
	{"command", required_argument, NULL, OPT_COMMAND},
	{"rate", required_argument, NULL, OPT_RATE},
	{"warmup", required_argument, NULL, OPT_WARMUP},
	{"senders", required_argument, NULL, OPT_SENDERS},
	{"text-bytes", required_argument, NULL, OPT_TEXT},
	{"drain-ms", required_argument, NULL, OPT_DRAIN},
	{"max-seconds", required_argument, NULL, OPT_MAXS},
	{"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
	{"pids", required_argument, NULL, OPT_PIDS},
	{"state-dir", required_argument, NULL, OPT_STATE},
	{"ceiling-url", required_argument, NULL, OPT_CEIL},
	{"json", no_argument, NULL, OPT_JSON},
	{"dump", required_argument, NULL, OPT_DUMP},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

/* Numeric options; 0, or -1 when `c` is one and its value is bad. */
static int parse_num(struct bench_opts *o, int c, const char *v)
{
	long long r;

	switch (c) {
	case 'n': return parse_ll("-n", v, 1, (long long)BENCH_MAX_N, &o->n);
	case 'c': return parse_ll("-c", v, 1, BENCH_MAX_CONC, &o->conc);
	case OPT_WARMUP: return parse_ll("--warmup", v, 0, 1000000, &o->warmup);
	case OPT_SENDERS: return parse_ll("--senders", v, 1, 10000000, &o->senders);
	case OPT_TEXT: return parse_ll("--text-bytes", v, 0, 65536, &o->text_bytes);
	case OPT_DRAIN: return parse_ll("--drain-ms", v, 100, 600000, &o->drain_ms);
	case OPT_MAXS: return parse_ll("--max-seconds", v, 1, 3600, &o->max_seconds);
	case OPT_TIMEOUT: return parse_ll("--timeout-ms", v, 100, 600000, &o->timeout_ms);
	case OPT_RATE:
		if (parse_ll("--rate", v, 0, 10000000, &r))
			return -1;
		o->rate = (double)r;
		return 0;
	default: return 1;
	}
}

/* 0 to run, 1 for --help, -1 on a usage error. */
static int parse_opts(struct bench_opts *o, int argc, char **argv)
{
	int c;

	*o = (struct bench_opts){.url = "http://127.0.0.1:8088/v1/messages",
			   .bus = "tcp://127.0.0.1:5570", .n = 10000, .conc = 16,
			   .warmup = 1000, .senders = 1000, .text_bytes = 64,
			   .drain_ms = 10000, .max_seconds = 300, .timeout_ms = 10000};
	o->token = getenv("GATEWAY_API_TOKEN");
	while ((c = getopt_long(argc, argv, "n:c:h", long_opts, NULL)) != -1) {
		int r = parse_num(o, c, optarg);

		if (r <= 0) {
			if (r < 0)
				return -1;
			continue;
		}
		switch (c) {
		case OPT_URL: o->url = optarg; break;
		case OPT_TOKEN: o->token = optarg; break;
		case OPT_BUS: o->bus = optarg; break;
		case OPT_COMMAND: o->command = optarg; break;
		case OPT_PIDS: o->pids = optarg; break;
		case OPT_STATE: o->state_dir = optarg; break;
		case OPT_CEIL: o->ceiling_url = optarg; break;
		case OPT_JSON: o->json = 1; break;
		case OPT_DUMP: o->dump = optarg; break;
		case 'h': case OPT_HELP: return 1;
		default: return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bench-api: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static int check_opts(const struct bench_opts *o)
{
	if (!o->token || !o->token[0] || strlen(o->token) > 256) {
		fprintf(stderr, "bench-api: no token: use --token or GATEWAY_API_TOKEN\n");
		return -1;
	}
	if (strlen(o->bus) >= sizeof(((struct bench_bus *)0)->endpoint)) {
		fprintf(stderr, "bench-api: --bus is too long\n");
		return -1;
	}
	if (bench_check_url("bench-api", "--url", o->url) || bench_check_endpoint("bench-api", "--bus", o->bus))
		return -1;
	if (o->ceiling_url && bench_check_url("bench-api", "--ceiling-url", o->ceiling_url))
		return -1;
	if (o->command && bench_check_endpoint("bench-api", "--command", o->command))
		return -1;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int64_t pct(const int64_t *v, uint64_t n, double q)
{
	uint64_t k = (uint64_t)ceil(q * (double)n);

	return v[k ? k - 1 : 0];
}

/* Sorts v in place and summarizes it. */
static void lat_summarize(int64_t *v, uint64_t n, struct bench_lat *l)
{
	memset(l, 0, sizeof(*l));
	l->count = n;
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_i64);
	l->p50 = pct(v, n, 0.50);
	l->p90 = pct(v, n, 0.90);
	l->p99 = pct(v, n, 0.99);
	l->p999 = pct(v, n, 0.999);
	l->max = v[n - 1];
}

/* Latencies and the bus bookkeeping, from the load and the bus arrays. */
static int analyze(struct bench_report *r, const struct bench_bus *b)
{
	const struct load_result *L = &r->load;
	int64_t *http = malloc(L->n * sizeof(*http)), *bus = malloc(L->n * sizeof(*bus));
	uint64_t nh = 0, nb = 0;

	if (!http || !bus) {
		free(http);
		free(bus);
		return -1;
	}
	for (uint64_t i = 0; i < L->n; i++) {
		int64_t seen = b->seen_us[i];

		/* The bus thread ran on while a ceiling run followed the drain:
		 * what it saw after the drain is late, i.e. missing. */
		if (seen > r->drain_end_us) {
			seen = 0;
			r->late++;
		}
		if (seen > r->last_seen_us)
			r->last_seen_us = seen;
		if (L->accept_us[i])
			http[nh++] = L->accept_us[i] - L->start_us[i];
		if (L->accept_us[i] && seen)
			bus[nb++] = seen - L->start_us[i];
		else if (L->accept_us[i])
			r->missing++;
		else if (seen)
			r->unaccepted_seen++;
	}
	lat_summarize(http, nh, &r->http);
	lat_summarize(bus, nb, &r->bus);
	free(http);
	free(bus);
	return 0;
}

/* Waits until `target` messages were seen or `ms` passed; bounded. */
static void drain(const atomic_uint_fast64_t *counter, uint64_t target, int64_t ms)
{
	struct timespec ts = {0, 2 * 1000 * 1000};
	int64_t until = bench_now_us() + ms * 1000;

	while (atomic_load(counter) < target && bench_now_us() < until)
		nanosleep(&ts, NULL);
}

static void fill_spec(const struct bench_opts *o, struct load_spec *s, const char *url,
		      const char *prefix, uint64_t n, double rate)
{
	*s = (struct load_spec){.url = url, .token = o->token, .id_prefix = prefix, .n = n,
				.conc = (unsigned)o->conc, .rate = rate,
				.senders = (unsigned)o->senders,
				.text_bytes = (size_t)o->text_bytes,
				.deadline_us = bench_now_us() + o->max_seconds * 1000000,
				.timeout_ms = (long)o->timeout_ms};
}

static int setup_procs(struct bench_report *r)
{
	const struct bench_opts *o = r->o;
	int rc = 0;

	if (o->pids)
		rc = proc_parse_pids(o->pids, r->procs, BENCH_MAX_PROCS - 1, &r->nprocs);
	else if (o->state_dir)
		rc = proc_from_state(o->state_dir, r->procs, BENCH_MAX_PROCS - 1, &r->nprocs);
	return rc ? rc : proc_add_self(r->procs, BENCH_MAX_PROCS, &r->nprocs);
}

/* Warmup: sent and drained before anything is measured. */
static int warm_up(struct bench_report *r, struct bench_bus *b)
{
	struct load_spec s;
	struct load_result res;
	char prefix[BENCH_PREFIX_MAX];
	int rc;

	if (r->o->warmup <= 0)
		return 0;
	snprintf(prefix, sizeof(prefix), "%s", b->warm_prefix);
	fill_spec(r->o, &s, r->o->url, prefix, (uint64_t)r->o->warmup, 0);
	rc = load_run(&s, &res);
	if (rc == 0 && res.accepted == 0) {
		fprintf(stderr, "bench-api: warmup: no request was accepted (status 0: %llu, "
			"401: %llu, first error: %s)\n", (unsigned long long)res.status[0],
			(unsigned long long)res.status[401], res.first_curl_error);
		rc = -1;
	}
	if (rc == 0)
		drain(&b->warm_seen, res.accepted, r->o->drain_ms);
	load_result_free(&res);
	return rc;
}

/* The measured run, with CPU and router counters around it. */
static int measure(struct bench_report *r, struct bench_bus *b)
{
	const struct bench_opts *o = r->o;
	struct load_spec s;
	int64_t w0;

	if (warm_up(r, b))
		return -1;
	if (o->command)
		r->have_rc = router_counters_get(o->command, 2000, &r->rc0) == 0;
	proc_sample(r->procs, r->nprocs, 0);
	proc_cpu_sample(&r->cpu0);
	w0 = bench_now_us();
	fill_spec(o, &s, o->url, b->prefix, (uint64_t)o->n, o->rate);
	if (load_run(&s, &r->load))
		return -1;
	drain(&b->seen, r->load.accepted, o->drain_ms);
	r->drain_end_us = bench_now_us();
	proc_sample(r->procs, r->nprocs, 1);
	proc_cpu_sample(&r->cpu1);
	r->cpu_window_us = bench_now_us() - w0;
	if (r->have_rc)
		r->have_rc = router_counters_get(o->command, 2000, &r->rc1) == 0;
	return 0;
}

/* 2xx answers per second of a ceiling run. */
static double ceiling_rate(const struct load_result *c)
{
	uint64_t ok = c->status[200] + c->status[202] + c->status[204];

	return c->t1_us > c->t0_us ? (double)ok * 1e6 / (double)(c->t1_us - c->t0_us) : 0;
}

/*
 * The ceiling runs before and after the measured run; the faster of the two
 * is kept in r->ceil, so that a burst of other work on the machine during
 * one of them does not pass for the ceiling.
 */
static int ceiling(struct bench_report *r)
{
	struct load_spec s;
	struct load_result res;
	char prefix[BENCH_PREFIX_MAX];
	int rc;

	if (!r->o->ceiling_url)
		return 0;
	snprintf(prefix, sizeof(prefix), "ceiling-%s-%d-", r->run, r->have_ceil);
	fill_spec(r->o, &s, r->o->ceiling_url, prefix, (uint64_t)r->o->n, r->o->rate);
	rc = load_run(&s, &res);
	if (rc == 0 && (!r->have_ceil || ceiling_rate(&res) > ceiling_rate(&r->ceil))) {
		load_result_free(&r->ceil);
		r->ceil = res;
	} else {
		load_result_free(&res);
	}
	r->have_ceil++;
	return rc;
}

/* --dump: one line per message, times in microseconds from t0, 0 = never. */
static int dump_csv(const struct bench_report *r, const struct bench_bus *b)
{
	const struct load_result *L = &r->load;
	FILE *f = fopen(r->o->dump, "w");
	int64_t t0 = L->t0_us;
	int rc = -1;

	if (!f) {
		fprintf(stderr, "bench-api: %s: %s\n", r->o->dump, strerror(errno));
		return -1;
	}
	fprintf(f, "i,start_us,accept_us,seen_us\n");
	for (uint64_t i = 0; i < L->n; i++)
		fprintf(f, "%llu,%lld,%lld,%lld\n", (unsigned long long)i,
			(long long)(L->start_us[i] ? L->start_us[i] - t0 : 0),
			(long long)(L->accept_us[i] ? L->accept_us[i] - t0 : 0),
			(long long)(b->seen_us[i] ? b->seen_us[i] - t0 : 0));
	rc = ferror(f) ? -1 : 0;
	if (fclose(f) || rc) {
		fprintf(stderr, "bench-api: cannot write %s\n", r->o->dump);
		rc = -1;
	}
	return rc;
}

static int run(struct bench_report *r)
{
	struct bench_bus b;
	int rc = 2;

	memset(&b, 0, sizeof(b));
	snprintf(b.endpoint, sizeof(b.endpoint), "%s", r->o->bus);
	snprintf(b.prefix, sizeof(b.prefix), "bench-%s-", r->run);
	snprintf(b.warm_prefix, sizeof(b.warm_prefix), "bench-%s-w", r->run);
	b.n = (uint64_t)r->o->n;
	if (setup_procs(r) || ceiling(r) || bus_start(&b, 5000))
		goto out;
	if (measure(r, &b) || ceiling(r))
		goto out;
	bus_stop(&b);
	r->dups = atomic_load(&b.dups);
	r->bad = atomic_load(&b.bad);
	if (analyze(r, &b) || (r->o->dump && dump_csv(r, &b)))
		goto out;
	r->seen = atomic_load(&b.seen) - r->late;
	proc_finish(r->procs, r->nprocs);
	rc = r->o->json ? report_json(r) : report_text(r);
	if (rc == 0)
		rc = r->missing || r->load.accepted < r->load.n || r->dups ? 1 : 0;
out:
	bus_stop(&b);
	free(b.seen_us);
	return rc;
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_report r;
	int rc = parse_opts(&o, argc, argv);

	if (rc) {
		usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 2;
	rc = 2;
	if (check_opts(&o))
		goto out;
	memset(&r, 0, sizeof(r));
	r.o = &o;
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(r.run, sizeof(r.run), "%llx",
			 (unsigned long long)(ts.tv_sec * 1000000000ll + ts.tv_nsec) ^
				 (unsigned long long)getpid());
	}
	rc = run(&r);
	load_result_free(&r.load);
	load_result_free(&r.ceil);
out:
	curl_global_cleanup();
	return rc;
}

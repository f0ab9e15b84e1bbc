/*
 * bench_sms.c - bench-sms: sends N signed Twilio incoming-message webhooks
 * (each with its own MessageSid) to the SMS connector with K keep-alive
 * connections, through wrk and bench/sms_wrk.lua, and watches each message
 * arrive on the downstream bus.
 *
 * Figures (docs/performance.md, "SMS webhooks"):
 *   accepted webhooks/s  200 answers / (first request built -> last answer)
 *   HTTP accept          wrk's latency: request written -> answer read
 *   accept-to-bus        request built (the stamp its Body carries) -> its
 *                        message.received seen on the bus
 *   missing              answered 200 but not seen on the bus within --drain-ms
 *   CPU per webhook      CPU time of each gateway process (--state-dir), of wrk
 *                        and of bench-sms during the measured run / webhooks
 *
 * The webhook is what Twilio POSTs for one SMS (form-encoded Body, From,
 * MessageSid, NumMedia, To), signed as Twilio signs it, so the connector
 * does its whole work: form, signature, parse, the customer's number,
 * encode, group commit. The connector's public_url must be the
 * scheme://host:port of --url. A warmup of the same kind runs first. Every
 * run is bounded (-n, --max-seconds, --drain-ms, per-request timeout) and
 * only loopback addresses are accepted as targets.
 */
#include "bench/bench_api.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_wrk.h"

#ifndef BS_WRK_SCRIPT
#define BS_WRK_SCRIPT "bench/sms_wrk.lua"
#endif

struct bs_opts {
	const char *url, *token, *bus, *state_dir, *wrk_bin, *wrk_script;
	long long n, conc, warmup, senders, text_bytes, drain_ms, max_seconds, timeout_ms;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-sms [options]\n"
		"  --url URL          webhook (default http://127.0.0.1:8092/webhooks/sms); the\n"
		"                     connector's public_url must be its scheme://host:port\n"
		"  --token TOKEN      auth token (default: $GATEWAY_TWILIO_AUTH_TOKEN)\n"
		"  --bus ENDPOINT     router publish endpoint (default tcp://127.0.0.1:5570)\n"
		"  -n N               webhooks measured (default 50000)\n"
		"  -c K               concurrent keep-alive connections (default 64)\n"
		"  --warmup W         webhooks sent and drained first (default 1000)\n"
		"  --senders S        distinct customers (default 1000)\n"
		"  --text-bytes B     length of each Body (default 64, max 1024)\n"
		"  --drain-ms MS      wait this long for accepted messages on the bus (default 10000)\n"
		"  --max-seconds S    stop a load after this long (default 300)\n"
		"  --timeout-ms MS    per request (default 10000)\n"
		"  --state-dir DIR    report the CPU per webhook of gatewayd's processes\n"
		"  --wrk PATH         the wrk program (default wrk, from PATH)\n"
		"  --wrk-script PATH  default %s\n"
		"Targets must be loopback addresses. Exit 0: all accepted and seen once;\n"
		"1: errors or missing messages; 2: usage or setup failure.\n", BS_WRK_SCRIPT);
}

static int bs_num(const char *name, const char *s, long long min, long long max,
		  long long *out)
{
	char *end = NULL;
	long long v = strtoll(s, &end, 10);

	if (!*s || *end || v < min || v > max) {
		fprintf(stderr, "bench-sms: %s must be an integer in %lld..%lld\n", name, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

enum { O_URL = 256, O_TOKEN, O_BUS, O_WARMUP, O_SENDERS, O_TEXT, O_DRAIN, O_MAXS, O_TIMEOUT,
       O_STATE, O_WRK, O_WRK_SCRIPT };

static int bs_opt(struct bs_opts *o, int c, const char *v)
{
	switch (c) {
	case O_URL: o->url = v; return 0;
	case O_TOKEN: o->token = v; return 0;
	case O_BUS: o->bus = v; return 0;
	case O_STATE: o->state_dir = v; return 0;
	case O_WRK: o->wrk_bin = v; return 0;
	case O_WRK_SCRIPT: o->wrk_script = v; return 0;
	case 'n': return bs_num("-n", v, 1, (long long)BENCH_MAX_N, &o->n);
	case 'c': return bs_num("-c", v, 1, BENCH_MAX_CONC, &o->conc);
	case O_WARMUP: return bs_num("--warmup", v, 0, 1000000, &o->warmup);
	case O_SENDERS: return bs_num("--senders", v, 1, 99999, &o->senders);
	case O_TEXT: return bs_num("--text-bytes", v, 0, 1024, &o->text_bytes);
	case O_DRAIN: return bs_num("--drain-ms", v, 100, 600000, &o->drain_ms);
	case O_MAXS: return bs_num("--max-seconds", v, 1, 3600, &o->max_seconds);
	case O_TIMEOUT: return bs_num("--timeout-ms", v, 100, 600000, &o->timeout_ms);
	default: return -1;
	}
}

/* 0 to run, 1 for --help, -1 on a usage error. */
static int bs_parse(struct bs_opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{"url", 1, NULL, O_URL}, {"token", 1, NULL, O_TOKEN}, {"bus", 1, NULL, O_BUS},
		{"warmup", 1, NULL, O_WARMUP}, {"senders", 1, NULL, O_SENDERS},
		{"text-bytes", 1, NULL, O_TEXT}, {"drain-ms", 1, NULL, O_DRAIN},
		{"max-seconds", 1, NULL, O_MAXS}, {"timeout-ms", 1, NULL, O_TIMEOUT},
		{"state-dir", 1, NULL, O_STATE}, {"wrk", 1, NULL, O_WRK},
		{"wrk-script", 1, NULL, O_WRK_SCRIPT}, {"help", 0, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct bs_opts){"http://127.0.0.1:8092/webhooks/sms",
			      getenv("GATEWAY_TWILIO_AUTH_TOKEN"), "tcp://127.0.0.1:5570", NULL,
			      "wrk", BS_WRK_SCRIPT, 50000, 64, 1000, 1000, 64, 10000, 300, 10000};
	while ((c = getopt_long(argc, argv, "n:c:h", lo, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c == '?' || bs_opt(o, c, optarg))
			return -1;
	}
	if (optind != argc || !o->token || !o->token[0]) {
		fprintf(stderr, "bench-sms: %s\n", optind != argc ? "unexpected argument"
				: "no auth token: --token or $GATEWAY_TWILIO_AUTH_TOKEN");
		return -1;
	}
	if (strlen(o->bus) >= sizeof(((struct bench_bus *)0)->endpoint)) {
		fprintf(stderr, "bench-sms: --bus is too long\n");
		return -1;
	}
	if (bench_check_url("bench-sms", "--url", o->url) ||
	    bench_check_endpoint("bench-sms", "--bus", o->bus))
		return -1;
	return 0;
}

/* ---- the run --------------------------------------------------------------- */

static double bs_self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Waits until `want` measured messages (or warmup ones) are on the bus. */
static void bs_drain(const struct bench_bus *b, uint64_t want, int warm, long long ms)
{
	struct timespec ts = {0, 5 * 1000 * 1000};
	int64_t until = bench_now_us() + ms * 1000;

	while (bench_now_us() < until &&
	       (warm ? atomic_load(&b->warm_seen) : atomic_load(&b->seen)) < want)
		nanosleep(&ts, NULL);
}

/* One load of `n` webhooks with MessageSids "<prefix><i>"; 0 or -1. */
static int bs_load(const struct bs_opts *o, const char *prefix, uint64_t n,
		   struct wrk_result *w)
{
	struct wrk_spec spec = {
		.wrk = o->wrk_bin, .script = o->wrk_script, .url = o->url, .secret = o->token,
		.prefix = prefix, .n = n, .conc = (unsigned)o->conc,
		.senders = (unsigned)o->senders, .text_bytes = (unsigned)o->text_bytes,
		.max_seconds = (long)o->max_seconds, .timeout_ms = (long)o->timeout_ms,
	};

	return wrk_run(&spec, w);
}

static int bs_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* p50/p99/max of seen - stamp over the messages that have both. */
static void bs_to_bus(const struct bench_bus *b)
{
	int64_t *v = malloc((b->n ? b->n : 1) * sizeof(*v));
	uint64_t k = 0;

	if (!v)
		return;
	for (uint64_t i = 0; i < b->n; i++)
		if (b->stamp_us[i] && b->seen_us[i])
			v[k++] = b->seen_us[i] - b->stamp_us[i];
	if (k == 0) {
		printf("  accept-to-bus    no samples\n");
	} else {
		qsort(v, k, sizeof(*v), bs_cmp);
		printf("  accept-to-bus    p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%llu samples)\n",
		       (double)v[k / 2] / 1000, (double)v[(k * 99) / 100] / 1000,
		       (double)v[k - 1] / 1000, (unsigned long long)k);
	}
	free(v);
}

struct bs_cpu {
	struct proc_watch w[BENCH_MAX_PROCS];
	size_t n;
	double self0, wrk_s;
	struct cpu_sample m0, m1;
};

static void bs_cpu_report(const struct bs_cpu *c, uint64_t accepted)
{
	double per = accepted ? 1e6 / (double)accepted : 0, total = 0, hz;
	double all = (double)(c->m1.total - c->m0.total), ours, other;

	printf("  CPU per webhook ");
	for (size_t i = 0; i < c->n; i++) {
		double s = (double)(c->w[i].ticks1 - c->w[i].ticks0) / (double)proc_ticks_per_s();

		printf(" %s %.1f us,", c->w[i].name, s * per);
		total += s * per;
	}
	printf(" wrk %.1f us, bench-sms %.1f us; gateway total %.1f us\n", c->wrk_s * per,
	       (bs_self_cpu() - c->self0) * per, total);
	if (all <= 0)
		return;
	hz = (double)proc_ticks_per_s();
	ours = (bs_self_cpu() - c->self0 + c->wrk_s) * hz;
	for (size_t i = 0; i < c->n; i++)
		ours += (double)(c->w[i].ticks1 - c->w[i].ticks0);
	other = ((double)(c->m1.busy - c->m0.busy) - ours) / all * 100.0 * proc_ncpu();
	printf("  machine CPU      %.0f%% busy of %d00%%; %.0f%% of it by other processes\n",
	       (double)(c->m1.busy - c->m0.busy) / all * 100.0 * proc_ncpu(), proc_ncpu(),
	       other < 0 ? 0 : other);
}

static void bs_report(const struct bs_opts *o, const struct wrk_result *w,
		      const struct bench_bus *b, uint64_t missing)
{
	double wall = (double)(w->t1_us - w->t0_us) / 1e6;

	printf("bench-sms: %lld signed Twilio webhooks, %lld connections (load: wrk)\n", o->n,
	       o->conc);
	printf("  accepted         %llu of %llu answered in %.2f s: %.0f webhooks/s\n",
	       (unsigned long long)w->ok, (unsigned long long)w->answered, wall,
	       wall > 0 ? (double)w->ok / wall : 0.0);
	if (w->answered != w->ok || w->errors)
		printf("  not 200          %llu answers, %llu transport errors\n",
		       (unsigned long long)(w->answered - w->ok), (unsigned long long)w->errors);
	printf("  HTTP accept      p50 %.2f ms  p99 %.2f ms  max %.2f ms  (wrk's)\n",
	       (double)w->p50_us / 1000, (double)w->p99_us / 1000, (double)w->max_us / 1000);
	bs_to_bus(b);
	printf("  on the bus       %llu seen (of %llu requests wrk built), %llu missing, "
	       "%llu duplicates\n", (unsigned long long)atomic_load(&b->seen),
	       (unsigned long long)w->sent, (unsigned long long)missing,
	       (unsigned long long)atomic_load(&b->dups));
}

/* The measured load, from start to report; 0 when every webhook was
 * accepted and seen on the bus exactly once. */
static int bs_measure(const struct bs_opts *o, const char *prefix, struct bench_bus *bus,
		      struct bs_cpu *cpu)
{
	struct wrk_result w;
	uint64_t seen, missing;

	if (bs_load(o, prefix, (uint64_t)o->n, &w))
		return -1;
	cpu->wrk_s = w.cpu_s;
	bs_drain(bus, w.ok, 0, o->drain_ms);
	bs_drain(bus, w.sent, 0, 500); /* the last requests in flight may arrive */
	proc_sample(cpu->w, cpu->n, 1);
	proc_cpu_sample(&cpu->m1);
	seen = atomic_load(&bus->seen);
	missing = w.ok > seen ? w.ok - seen : 0;
	bs_report(o, &w, bus, missing);
	if (o->state_dir)
		bs_cpu_report(cpu, w.ok);
	return w.ok < (uint64_t)o->n || w.answered != w.ok || missing ||
	       atomic_load(&bus->dups) ? -1 : 0;
}

/* The warmup: the same load, drained before the measured one. */
static int bs_warmup(const struct bs_opts *o, const char *prefix, const struct bench_bus *bus)
{
	struct wrk_result w;

	if (o->warmup == 0)
		return 0;
	if (bs_load(o, prefix, (uint64_t)o->warmup, &w))
		return -1;
	bs_drain(bus, w.ok, 1, o->drain_ms);
	return 0;
}

int main(int argc, char **argv)
{
	struct bs_opts o;
	struct bench_bus bus;
	struct bs_cpu cpu = {.n = 0};
	char prefix[BENCH_PREFIX_MAX], wprefix[BENCH_PREFIX_MAX];
	time_t t = time(NULL); /* with the pid: ids no earlier run used */
	int rc = bs_parse(&o, argc, argv), failed = 1;

	if (rc)
		return rc > 0 ? 0 : 2;
	snprintf(prefix, sizeof(prefix), "SMbench%lld%d-", (long long)t, getpid());
	snprintf(wprefix, sizeof(wprefix), "SMbench%lld%d-warm-", (long long)t, getpid());
	memset(&bus, 0, sizeof(bus));
	snprintf(bus.endpoint, sizeof(bus.endpoint), "%s", o.bus);
	snprintf(bus.prefix, sizeof(bus.prefix), "%s", prefix);
	snprintf(bus.warm_prefix, sizeof(bus.warm_prefix), "%s", wprefix);
	/* wrk stops after n answers with up to one request per connection in flight. */
	bus.n = (uint64_t)o.n + (uint64_t)o.conc;
	bus.stamp_us = calloc(bus.n, sizeof(*bus.stamp_us));
	if (!bus.stamp_us || bus_start(&bus, 5000))
		goto out;
	if (bs_warmup(&o, wprefix, &bus))
		goto out;
	if (o.state_dir && proc_from_state(o.state_dir, cpu.w, BENCH_MAX_PROCS, &cpu.n))
		goto out;
	proc_sample(cpu.w, cpu.n, 0);
	proc_cpu_sample(&cpu.m0);
	cpu.self0 = bs_self_cpu();
	failed = bs_measure(&o, prefix, &bus, &cpu) != 0;
out:
	bus_stop(&bus);
	free(bus.seen_us);
	free(bus.stamp_us);
	return failed;
}

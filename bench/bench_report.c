/*
 * bench_report.c - bench-api's report, as text for people or as one JSON
 * document (--json) for scripts. Both print the same figures, derived once
 * in report_figures().
 */
#include "bench/bench_api.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#define DEF_HTTP "request start -> 202 received"
#define DEF_BUS "request start -> its message.received seen on the bus"

struct figures {
	double wall_s;        /* first request start -> last answer */
	double accepted_rate; /* 202 answers / wall_s */
	double e2e_rate;      /* distinct messages seen on the bus / (t0 -> last seen) */
	double ceil_rate;     /* the ceiling's 2xx answers / its wall time */
	double ratio;         /* accepted_rate / ceil_rate */
	uint64_t errors;      /* answers other than 202, and no answers */
	uint64_t commits;     /* router transactions during the run */
	uint64_t committed;   /* messages those transactions stored */
	double window_s;      /* the CPU measuring window */
};

static double secs(int64_t us)
{
	return (double)us / 1e6;
}

static void report_figures(const struct bench_report *r, struct figures *f)
{
	const struct load_result *L = &r->load;

	memset(f, 0, sizeof(*f));
	f->wall_s = secs(L->t1_us - L->t0_us);
	f->accepted_rate = f->wall_s > 0 ? (double)L->accepted / f->wall_s : 0;
	if (r->last_seen_us > L->t0_us)
		f->e2e_rate = (double)r->seen / secs(r->last_seen_us - L->t0_us);
	if (r->have_ceil && r->ceil.t1_us > r->ceil.t0_us) {
		uint64_t ok = r->ceil.status[200] + r->ceil.status[202] + r->ceil.status[204];

		f->ceil_rate = (double)ok / secs(r->ceil.t1_us - r->ceil.t0_us);
		f->ratio = f->ceil_rate > 0 ? f->accepted_rate / f->ceil_rate : 0;
	}
	f->errors = L->sent - L->accepted;
	if (r->have_rc) {
		f->commits = r->rc1.batches - r->rc0.batches;
		f->committed = r->rc1.stored - r->rc0.stored;
	}
	f->window_s = secs(r->cpu_window_us);
}

static double cpu_pct(const struct proc_watch *w, double window_s)
{
	if (window_s <= 0 || w->ticks1 < w->ticks0)
		return 0;
	return 100.0 * (double)(w->ticks1 - w->ticks0) / (double)proc_ticks_per_s() / window_s;
}

static void text_lat(const char *name, const struct bench_lat *l, const char *def)
{
	printf("  %-16s p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms"
	       "  (%llu samples; %s)\n",
	       name, l->p50 / 1e3, l->p90 / 1e3, l->p99 / 1e3, l->p999 / 1e3, l->max / 1e3,
	       (unsigned long long)l->count, def);
}

static void text_errors(const struct load_result *L)
{
	int any = 0;

	printf("  %-16s", "errors");
	for (int s = 0; s < BENCH_MAX_STATUS; s++) {
		if (s == 202 || !L->status[s])
			continue;
		if (s == 0)
			printf(" no answer: %llu (first: %s);", (unsigned long long)L->status[0],
			       L->first_curl_error);
		else
			printf(" %d: %llu;", s, (unsigned long long)L->status[s]);
		any = 1;
	}
	if (L->sent < L->n)
		printf(" never sent: %llu (--max-seconds);",
		       (unsigned long long)(L->n - L->sent));
	printf("%s\n", any || L->sent < L->n ? "" : " none");
}

/* CPU of the whole machine during the window, and the part of it that
 * none of the watched processes used (other work on the machine). */
static void machine_cpu(const struct bench_report *r, double *busy_pct, double *other_pct)
{
	uint64_t total = r->cpu1.total - r->cpu0.total, busy = r->cpu1.busy - r->cpu0.busy;
	uint64_t ours = 0;

	*busy_pct = 0;
	*other_pct = 0;
	if (!total || r->cpu1.total < r->cpu0.total)
		return;
	for (size_t i = 0; i < r->nprocs; i++)
		if (r->procs[i].ticks1 >= r->procs[i].ticks0)
			ours += r->procs[i].ticks1 - r->procs[i].ticks0;
	/* Percent of one core, like the per-process figures. */
	*busy_pct = 100.0 * (double)busy / (double)total * (double)proc_ncpu();
	*other_pct = busy > ours ? 100.0 * (double)(busy - ours) / (double)total *
					   (double)proc_ncpu()
				 : 0;
}

static void text_procs(const struct bench_report *r, const struct figures *f)
{
	double busy, other;

	machine_cpu(r, &busy, &other);
	printf("  %-16s", "CPU, % of a core");
	for (size_t i = 0; i < r->nprocs; i++)
		printf(" %s %.0f%%;", r->procs[i].name, cpu_pct(&r->procs[i], f->window_s));
	printf(" (over %.2f s incl. drain)\n", f->window_s);
	printf("  %-16s %.0f%% busy of %d00%%; %.0f%% of it by other processes (kernel work "
	       "for ours included)\n", "machine CPU", busy, proc_ncpu(), other);
	printf("  %-16s", "peak RSS");
	for (size_t i = 0; i < r->nprocs; i++)
		printf(" %s %.1f MiB (anon %.1f);", r->procs[i].name, r->procs[i].hwm_kb / 1024.0,
		       r->procs[i].anon_kb / 1024.0);
	printf(" (VmHWM; anon = RssAnon at the end: heap, without mapped LMDB files)\n");
}

int report_text(const struct bench_report *r)
{
	const struct bench_opts *o = r->o;
	const struct load_result *L = &r->load;
	struct figures f;
	char rate[32];

	report_figures(r, &f);
	if (o->rate > 0)
		snprintf(rate, sizeof(rate), "%.0f msgs/s", o->rate);
	else
		snprintf(rate, sizeof(rate), "as fast as possible");
	printf("bench-api run %s: %lld messages, %lld clients, rate %s, warmup %lld, "
	       "%lld senders, text %lld B\n",
	       r->run, o->n, o->conc, rate, o->warmup, o->senders, o->text_bytes);
	printf("  %-16s %llu in %.3f s = %.0f msgs/s (HTTP 202 / first start -> last answer)\n",
	       "accepted", (unsigned long long)L->accepted, f.wall_s, f.accepted_rate);
	if (o->rate > 0)
		printf("  %-16s %.2f ms worst start behind schedule\n", "rate lag",
		       L->max_lag_us / 1e3);
	text_errors(L);
	text_lat("HTTP accept", &r->http, DEF_HTTP);
	text_lat("accept-to-bus", &r->bus, DEF_BUS);
	printf("  %-16s %llu seen, %llu duplicates, %llu missing (202 but not seen within %lld ms"
	       " after the last answer; %llu of them came later), %llu seen without a 202, "
	       "%llu undecodable\n", "bus", (unsigned long long)r->seen,
	       (unsigned long long)r->dups, (unsigned long long)r->missing, o->drain_ms,
	       (unsigned long long)r->late, (unsigned long long)r->unaccepted_seen,
	       (unsigned long long)r->bad);
	printf("  %-16s %.0f msgs/s (distinct messages seen on the bus / first start -> last "
	       "seen)\n", "end to end", f.e2e_rate);
	if (r->have_rc)
		printf("  %-16s %llu commits for %llu messages = %.1f messages per commit "
		       "(largest batch since start %llu)\n", "router",
		       (unsigned long long)f.commits, (unsigned long long)f.committed,
		       f.commits ? (double)f.committed / (double)f.commits : 0,
		       (unsigned long long)r->rc1.max_batch);
	text_procs(r, &f);
	if (r->have_ceil)
		printf("  %-16s %.0f msgs/s against %s with the same clients (best of a run before "
		       "and one after); ours is %.2f of it\n", "ceiling", f.ceil_rate,
		       o->ceiling_url, f.ratio);
	return fflush(stdout) == 0 ? 0 : -1;
}

static json_t *json_lat(const struct bench_lat *l, const char *def)
{
	return json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:s}", "samples", (json_int_t)l->count,
			 "p50_ms", l->p50 / 1e3, "p90_ms", l->p90 / 1e3, "p99_ms", l->p99 / 1e3,
			 "p999_ms", l->p999 / 1e3, "max_ms", l->max / 1e3, "definition", def);
}

static json_t *json_status(const struct load_result *L)
{
	json_t *o = json_object();
	char key[16];

	for (int s = 0; o && s < BENCH_MAX_STATUS; s++) {
		if (!L->status[s])
			continue;
		snprintf(key, sizeof(key), "%d", s);
		json_object_set_new(o, key, json_integer((json_int_t)L->status[s]));
	}
	return o;
}

static json_t *json_procs(const struct bench_report *r, const struct figures *f)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < r->nprocs; i++)
		json_array_append_new(a, json_pack("{s:s, s:i, s:f, s:I, s:I}", "name",
						   r->procs[i].name, "pid", (int)r->procs[i].pid,
						   "cpu_pct", cpu_pct(&r->procs[i], f->window_s),
						   "peak_rss_kb", (json_int_t)r->procs[i].hwm_kb,
						   "anon_rss_kb", (json_int_t)r->procs[i].anon_kb));
	return a;
}

int report_json(const struct bench_report *r)
{
	const struct bench_opts *o = r->o;
	const struct load_result *L = &r->load;
	struct figures f;
	json_t *doc;
	int rc;

	report_figures(r, &f);
	doc = json_pack("{s:s, s:I, s:I, s:f, s:I, s:I, s:I, s:f, s:f, s:o, s:I, s:o, s:o,"
			" s:I, s:I, s:I, s:I, s:I, s:f, s:o, s:f}",
			"run", r->run, "n", (json_int_t)o->n, "clients", (json_int_t)o->conc,
			"rate", o->rate, "sent", (json_int_t)L->sent,
			"accepted", (json_int_t)L->accepted, "errors", (json_int_t)f.errors,
			"wall_s", f.wall_s, "accepted_per_s", f.accepted_rate,
			"status", json_status(L), "rate_max_lag_us", (json_int_t)L->max_lag_us,
			"http_accept", json_lat(&r->http, DEF_HTTP),
			"accept_to_bus", json_lat(&r->bus, DEF_BUS),
			"bus_seen", (json_int_t)r->seen, "bus_duplicates", (json_int_t)r->dups,
			"bus_missing", (json_int_t)r->missing, "bus_late", (json_int_t)r->late,
			"seen_without_202", (json_int_t)r->unaccepted_seen,
			"end_to_end_per_s", f.e2e_rate, "processes", json_procs(r, &f),
			"cpu_window_s", f.window_s);
	if (!doc)
		return -1;
	{
		double busy, other;

		machine_cpu(r, &busy, &other);
		json_object_set_new(doc, "machine", json_pack("{s:i, s:f, s:f}", "cpus",
			proc_ncpu(), "busy_pct", busy, "other_pct", other));
	}
	if (r->have_rc)
		json_object_set_new(doc, "router", json_pack("{s:I, s:I, s:I}", "commits",
			(json_int_t)f.commits, "messages", (json_int_t)f.committed,
			"max_batch", (json_int_t)r->rc1.max_batch));
	if (r->have_ceil)
		json_object_set_new(doc, "ceiling", json_pack("{s:s, s:f, s:f}", "url",
			o->ceiling_url, "per_s", f.ceil_rate, "ratio", f.ratio));
	rc = json_dumpf(doc, stdout, JSON_COMPACT) == 0 && puts("") >= 0 ? 0 : -1;
	json_decref(doc);
	return rc;
}

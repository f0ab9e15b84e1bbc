/*
 * bench_meta.c - bench-meta: sends N signed WhatsApp text webhooks (each
 * with its own wamid) to the Meta connector with K keep-alive clients and
 * watches each message arrive on the downstream bus.
 *
 * Figures (docs/performance.md, "Meta webhooks"):
 *   accepted webhooks/s  200 answers / (first request start -> last answer)
 *   HTTP accept          request start -> 200 received
 *   accept-to-bus        request start -> its message.received seen on the bus
 *   missing              answered 200 but not seen on the bus within --drain-ms
 *   CPU per webhook      CPU time of each gateway process (--state-dir) and of
 *                        bench-meta itself during the measured run / webhooks
 *                        accepted: what the machine pays per webhook, whatever
 *                        else it runs meanwhile
 *   machine CPU          all CPUs busy over the run (/proc/stat), and the part
 *                        none of the watched processes used (other load)
 *
 * The body is what Meta sends for one text message (entry, change, value,
 * contacts, messages) and is signed like Meta signs it, X-Hub-Signature-256
 * = HMAC-SHA256(app secret, body), so the connector does its whole work:
 * signature, parse, encode, group commit. The bus side is bench_bus.c.
 * Every run is bounded (-n, --max-seconds, --drain-ms, per-request timeout)
 * and only loopback addresses are accepted as targets.
 */
#include "bench/bench_api.h"

#include <getopt.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bench/bench_multi.h"
#include "bench/bench_wrk.h"
#include "connectors/meta/meta_sig.h"

#define BM_BODY_MAX 4096
#define BM_TEXT_MAX 1024
#define BM_POLL_MS 20
#define BM_IDLE UINT64_MAX
#define BM_PNID "106540352242922" /* phone_number_id: the `account` */
#ifndef BM_WRK_SCRIPT
#define BM_WRK_SCRIPT "bench/meta_wrk.lua"
#endif

struct bm_opts {
	const char *url, *secret, *bus, *state_dir;
	long long n, conc, warmup, senders, text_bytes, drain_ms, max_seconds, timeout_ms;
	double rate;
	int wrk;                    /* --load wrk: the measured run is wrk's */
	const char *wrk_bin, *wrk_script;
};

struct bm_client {
	CURL *easy;
	struct curl_slist *headers;
	uint64_t msg; /* in flight, or BM_IDLE */
	char body[BM_BODY_MAX];
};

/* One phase (warmup or measured): its messages and what happened to them. */
struct bm_phase {
	const struct bm_opts *o;
	const char *prefix; /* wamid "<prefix><i>" */
	uint64_t n;
	int64_t *start_us, *accept_us;
	uint64_t next, done, sent, accepted, status[BENCH_MAX_STATUS];
	int64_t t0_us, t1_us, deadline_us;
	struct bench_multi bm; /* owned */
	struct bm_client *clients;
	unsigned inflight;
	struct meta_sig_key *key; /* owned: the app secret, keyed once */
	char text[BM_TEXT_MAX + 1];
};

/* ---- options ------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-meta [options]\n"
		"  --url URL          webhook (default http://127.0.0.1:8089/webhooks/meta)\n"
		"  --secret SECRET    app secret (default: $GATEWAY_META_APP_SECRET)\n"
		"  --bus ENDPOINT     router publish endpoint (default tcp://127.0.0.1:5570)\n"
		"  -n N               webhooks measured (default 50000)\n"
		"  -c K               concurrent keep-alive clients (default 64)\n"
		"  --rate R           webhooks/s, 0 = as fast as possible (default 0)\n"
		"  --warmup W         webhooks sent and drained first (default 1000)\n"
		"  --senders S        distinct customers (default 1000)\n"
		"  --text-bytes B     length of each message's text (default 64, max %d)\n"
		"  --drain-ms MS      wait this long for accepted messages on the bus (default 10000)\n"
		"  --max-seconds S    stop starting requests after this long (default 300)\n"
		"  --timeout-ms MS    per request (default 10000)\n"
		"  --state-dir DIR    report the CPU per webhook of gatewayd's processes\n"
		"  --load curl|wrk    who sends the measured webhooks: libcurl in this process\n"
		"                     (default), or wrk with bench/meta_wrk.lua (no --rate)\n"
		"  --wrk PATH         the wrk program (default wrk, from PATH)\n"
		"  --wrk-script PATH  default %s\n"
		"Targets must be loopback addresses. Exit 0: all accepted and seen once;\n"
		"1: errors or missing messages; 2: usage or setup failure.\n",
		BM_TEXT_MAX, BM_WRK_SCRIPT);
}

static int bm_num(const char *name, const char *s, long long min, long long max,
		  long long *out)
{
	char *end = NULL;
	long long v = strtoll(s, &end, 10);

	if (!*s || *end || v < min || v > max) {
		fprintf(stderr, "bench-meta: %s must be an integer in %lld..%lld\n", name, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

enum { O_URL = 256, O_SECRET, O_BUS, O_RATE, O_WARMUP, O_SENDERS, O_TEXT, O_DRAIN, O_MAXS,
       O_TIMEOUT, O_STATE, O_LOAD, O_WRK, O_WRK_SCRIPT };

static int bm_opt(struct bm_opts *o, int c, const char *v)
{
	long long r;

	switch (c) {
	case O_URL: o->url = v; return 0;
	case O_SECRET: o->secret = v; return 0;
	case O_BUS: o->bus = v; return 0;
	case O_STATE: o->state_dir = v; return 0;
	case O_WRK: o->wrk_bin = v; return 0;
	case O_WRK_SCRIPT: o->wrk_script = v; return 0;
	case O_LOAD:
		if (strcmp(v, "curl") != 0 && strcmp(v, "wrk") != 0) {
			fprintf(stderr, "bench-meta: --load is curl or wrk\n");
			return -1;
		}
		o->wrk = strcmp(v, "wrk") == 0;
		return 0;
	case 'n': return bm_num("-n", v, 1, (long long)BENCH_MAX_N, &o->n);
	case 'c': return bm_num("-c", v, 1, BENCH_MAX_CONC, &o->conc);
	case O_WARMUP: return bm_num("--warmup", v, 0, 1000000, &o->warmup);
	case O_SENDERS: return bm_num("--senders", v, 1, 10000000, &o->senders);
	case O_TEXT: return bm_num("--text-bytes", v, 0, BM_TEXT_MAX, &o->text_bytes);
	case O_DRAIN: return bm_num("--drain-ms", v, 100, 600000, &o->drain_ms);
	case O_MAXS: return bm_num("--max-seconds", v, 1, 3600, &o->max_seconds);
	case O_TIMEOUT: return bm_num("--timeout-ms", v, 100, 600000, &o->timeout_ms);
	case O_RATE:
		if (bm_num("--rate", v, 0, 10000000, &r))
			return -1;
		o->rate = (double)r;
		return 0;
	default: return -1;
	}
}

/* 0 to run, 1 for --help, -1 on a usage error. */
static int bm_parse(struct bm_opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{"url", 1, NULL, O_URL}, {"secret", 1, NULL, O_SECRET}, {"bus", 1, NULL, O_BUS},
		{"rate", 1, NULL, O_RATE}, {"warmup", 1, NULL, O_WARMUP},
		{"senders", 1, NULL, O_SENDERS}, {"text-bytes", 1, NULL, O_TEXT},
		{"drain-ms", 1, NULL, O_DRAIN}, {"max-seconds", 1, NULL, O_MAXS},
		{"timeout-ms", 1, NULL, O_TIMEOUT}, {"state-dir", 1, NULL, O_STATE},
		{"load", 1, NULL, O_LOAD}, {"wrk", 1, NULL, O_WRK},
		{"wrk-script", 1, NULL, O_WRK_SCRIPT},
		{"help", 0, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct bm_opts){"http://127.0.0.1:8089/webhooks/meta", getenv("GATEWAY_META_APP_SECRET"),
			      "tcp://127.0.0.1:5570", NULL, 50000, 64, 1000, 1000, 64, 10000, 300,
			      10000, 0, 0, "wrk", BM_WRK_SCRIPT};
	while ((c = getopt_long(argc, argv, "n:c:h", lo, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c == '?' || bm_opt(o, c, optarg))
			return -1;
	}
	if (optind != argc || !o->secret || !o->secret[0]) {
		fprintf(stderr, "bench-meta: %s\n", optind != argc ? "unexpected argument"
				: "no app secret: --secret or $GATEWAY_META_APP_SECRET");
		return -1;
	}
	if (o->wrk && o->rate > 0) {
		fprintf(stderr, "bench-meta: wrk has no --rate; use --load curl\n");
		return -1;
	}
	if (strlen(o->bus) >= sizeof(((struct bench_bus *)0)->endpoint)) {
		fprintf(stderr, "bench-meta: --bus is too long\n");
		return -1;
	}
	if (bench_check_url("bench-meta", "--url", o->url) ||
	    bench_check_endpoint("bench-meta", "--bus", o->bus))
		return -1;
	return 0;
}

/* ---- the load ------------------------------------------------------------ */

static size_t bm_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p, (void)arg;
	return size * n;
}

/* The webhook of message i and its signature header on client c; 0 or -1. */
static int bm_prepare(struct bm_phase *ph, struct bm_client *c, uint64_t i)
{
	char sig[META_SIG_VALUE_MAX + 1], hdr[META_SIG_VALUE_MAX + 32];
	unsigned s = (unsigned)(i % (uint64_t)ph->o->senders);
	struct curl_slist *h;
	int len = snprintf(c->body, sizeof(c->body),
		"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"102290129340398\","
		"\"changes\":[{\"value\":{\"messaging_product\":\"whatsapp\",\"metadata\":"
		"{\"display_phone_number\":\"15550783881\",\"phone_number_id\":\"" BM_PNID "\"},"
		"\"contacts\":[{\"profile\":{\"name\":\"Bench %u\"},\"wa_id\":\"1655500%05u\"}],"
		"\"messages\":[{\"from\":\"1655500%05u\",\"id\":\"%s%llu\",\"timestamp\":\"%lld\","
		"\"type\":\"text\",\"text\":{\"body\":\"%s\"}}]},\"field\":\"messages\"}]}]}",
		s, s, s, ph->prefix, (unsigned long long)i, (long long)time(NULL), ph->text);

	if (len < 0 || (size_t)len >= sizeof(c->body) ||
	    meta_sig_key_sign(ph->key, c->body, (size_t)len, sig))
		return -1;
	snprintf(hdr, sizeof(hdr), "X-Hub-Signature-256: %s", sig);
	curl_slist_free_all(c->headers);
	h = curl_slist_append(NULL, "Content-Type: application/json");
	c->headers = h ? curl_slist_append(h, "Expect:") : NULL;
	h = c->headers ? curl_slist_append(c->headers, hdr) : NULL;
	if (!h)
		return -1;
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)len);
	return 0;
}

static int bm_client_init(struct bm_phase *ph, struct bm_client *c)
{
	CURLcode rc = CURLE_OK;

	c->msg = BM_IDLE;
	c->easy = curl_easy_init();
	if (!c->easy)
		return -1;
	rc |= curl_easy_setopt(c->easy, CURLOPT_URL, ph->o->url);
	rc |= curl_easy_setopt(c->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	rc |= curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(c->easy, CURLOPT_PROXY, "");
	rc |= curl_easy_setopt(c->easy, CURLOPT_NOPROXY, "*");
	rc |= curl_easy_setopt(c->easy, CURLOPT_TCP_NODELAY, 1L);
	rc |= curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)ph->o->timeout_ms);
	rc |= curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, bm_discard);
	rc |= curl_easy_setopt(c->easy, CURLOPT_PRIVATE, (void *)c);
	return rc == CURLE_OK ? 0 : -1;
}

static int64_t bm_due_us(const struct bm_phase *ph, uint64_t i)
{
	return ph->t0_us + (int64_t)((double)i * 1e6 / ph->o->rate);
}

static int bm_start_due(struct bm_phase *ph)
{
	int64_t now = bench_now_us();

	for (long long k = 0; k < ph->o->conc && ph->next < ph->n && now < ph->deadline_us; k++) {
		struct bm_client *c = &ph->clients[k];

		if (c->msg != BM_IDLE)
			continue;
		if (ph->o->rate > 0 && now < bm_due_us(ph, ph->next))
			break;
		if (bm_prepare(ph, c, ph->next))
			return -1;
		ph->start_us[ph->next] = now;
		if (curl_multi_add_handle(ph->bm.multi, c->easy) != CURLM_OK)
			return -1;
		c->msg = ph->next++;
		ph->inflight++;
		ph->sent++;
	}
	return 0;
}

static void bm_collect(struct bm_phase *ph)
{
	int64_t now = bench_now_us();
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(ph->bm.multi, &left))) {
		struct bm_client *c = NULL;
		long code = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
		if (m->data.result == CURLE_OK)
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
		if (code < 0 || code >= BENCH_MAX_STATUS)
			code = 0;
		ph->status[code]++;
		if (code == 200) {
			ph->accepted++;
			ph->accept_us[c->msg] = now;
		}
		ph->t1_us = now;
		curl_multi_remove_handle(ph->bm.multi, m->easy_handle);
		c->msg = BM_IDLE;
		ph->inflight--;
		ph->done++;
	}
}

static int bm_loop(struct bm_phase *ph)
{
	ph->t0_us = ph->t1_us = bench_now_us();
	ph->deadline_us = ph->t0_us + ph->o->max_seconds * 1000000;
	while (ph->done < ph->n) {
		if (bm_start_due(ph))
			return -1;
		if (ph->inflight == 0 && (ph->next >= ph->n || bench_now_us() >= ph->deadline_us))
			break;
		if (bench_multi_step(&ph->bm, ph->o->rate > 0 ? 1 : BM_POLL_MS))
			return -1;
		bm_collect(ph);
	}
	return 0;
}

static void bm_phase_free(struct bm_phase *ph)
{
	for (long long i = 0; ph->clients && i < ph->o->conc; i++) {
		if (ph->clients[i].easy && ph->clients[i].msg != BM_IDLE)
			curl_multi_remove_handle(ph->bm.multi, ph->clients[i].easy);
		curl_easy_cleanup(ph->clients[i].easy);
		curl_slist_free_all(ph->clients[i].headers);
	}
	free(ph->clients);
	bench_multi_free(&ph->bm);
	meta_sig_key_free(ph->key);
	free(ph->start_us);
	free(ph->accept_us);
}

/* Sends the phase's webhooks; 0 or -1 (message on stderr). */
static int bm_run_phase(struct bm_phase *ph)
{
	ph->start_us = calloc(ph->n ? ph->n : 1, sizeof(int64_t));
	ph->accept_us = calloc(ph->n ? ph->n : 1, sizeof(int64_t));
	ph->clients = calloc((size_t)ph->o->conc, sizeof(*ph->clients));
	if (bench_multi_init(&ph->bm))
		goto fail;
	ph->key = meta_sig_key_new(ph->o->secret, strlen(ph->o->secret));
	if (!ph->start_us || !ph->accept_us || !ph->clients || !ph->key)
		goto fail;
	memset(ph->text, 'a', (size_t)ph->o->text_bytes);
	ph->text[ph->o->text_bytes] = '\0';
	curl_multi_setopt(ph->bm.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)ph->o->conc);
	for (long long i = 0; i < ph->o->conc; i++)
		if (bm_client_init(ph, &ph->clients[i]))
			goto fail;
	if (bm_loop(ph) == 0)
		return 0;
fail:
	fprintf(stderr, "bench-meta: cannot run the load (libcurl or memory)\n");
	return -1;
}

/* ---- report -------------------------------------------------------------- */

static int bm_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Prints p50/p99/max of end_us[i] - start_us[i] over i with both set. */
static void bm_latency(const char *what, const int64_t *start, const int64_t *end, uint64_t n)
{
	int64_t *v = malloc((n ? n : 1) * sizeof(*v));
	uint64_t k = 0;

	if (!v)
		return;
	for (uint64_t i = 0; i < n; i++)
		if (start[i] && end[i])
			v[k++] = end[i] - start[i];
	if (k == 0) {
		printf("  %-16s no samples\n", what);
	} else {
		qsort(v, k, sizeof(*v), bm_cmp);
		printf("  %-16s p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%llu samples)\n", what,
		       (double)v[k / 2] / 1000, (double)v[(k * 99) / 100] / 1000,
		       (double)v[k - 1] / 1000, (unsigned long long)k);
	}
	free(v);
}

static void bm_report(const struct bm_phase *ph, const struct bench_bus *b, uint64_t missing)
{
	double wall = (double)(ph->t1_us - ph->t0_us) / 1e6;

	printf("bench-meta: %llu signed WhatsApp webhooks, %lld clients%s\n",
	       (unsigned long long)ph->n, ph->o->conc, ph->o->rate > 0 ? " (rate mode)" : "");
	printf("  accepted         %llu of %llu sent in %.2f s: %.0f webhooks/s\n",
	       (unsigned long long)ph->accepted, (unsigned long long)ph->sent, wall,
	       wall > 0 ? (double)ph->accepted / wall : 0.0);
	for (int s = 0; s < BENCH_MAX_STATUS; s++)
		if (ph->status[s] && s != 200)
			printf("  status %-9d %llu\n", s, (unsigned long long)ph->status[s]);
	bm_latency("HTTP accept", ph->start_us, ph->accept_us, ph->n);
	bm_latency("accept-to-bus", ph->start_us, b->seen_us, ph->n);
	printf("  on the bus       %llu seen, %llu missing, %llu duplicates\n",
	       (unsigned long long)atomic_load(&b->seen), (unsigned long long)missing,
	       (unsigned long long)atomic_load(&b->dups));
}

/*
 * The measured run when wrk sent it: wrk's counts and HTTP latencies, the
 * accept-to-bus latency from the stamps the texts carry. Every 200 must be
 * on the bus; a message wrk sent but had no answer for when it stopped
 * (at most one per connection) may be there too.
 */
static void bm_report_wrk(const struct bm_opts *o, const struct wrk_result *w,
			  const struct bench_bus *b, uint64_t missing)
{
	double wall = (double)(w->t1_us - w->t0_us) / 1e6;

	printf("bench-meta: %lld signed WhatsApp webhooks, %lld clients (load: wrk)\n", o->n,
	       o->conc);
	printf("  accepted         %llu of %llu answered in %.2f s: %.0f webhooks/s\n",
	       (unsigned long long)w->ok, (unsigned long long)w->answered, wall,
	       wall > 0 ? (double)w->ok / wall : 0.0);
	if (w->answered != w->ok || w->errors)
		printf("  not 200          %llu answers, %llu transport errors\n",
		       (unsigned long long)(w->answered - w->ok), (unsigned long long)w->errors);
	printf("  HTTP accept      p50 %.2f ms  p99 %.2f ms  max %.2f ms  (wrk's)\n",
	       (double)w->p50_us / 1000, (double)w->p99_us / 1000, (double)w->max_us / 1000);
	bm_latency("accept-to-bus", b->stamp_us, b->seen_us, b->n);
	printf("  on the bus       %llu seen (of %llu requests wrk built), %llu missing, "
	       "%llu duplicates\n",
	       (unsigned long long)atomic_load(&b->seen), (unsigned long long)w->sent,
	       (unsigned long long)missing, (unsigned long long)atomic_load(&b->dups));
}

/* Runs the measured webhooks with wrk; 0, or -1 (message on stderr). */
static int bm_run_wrk(const struct bm_opts *o, const char *prefix, struct wrk_result *w)
{
	struct wrk_spec spec = {
		.wrk = o->wrk_bin, .script = o->wrk_script, .url = o->url,
		.secret = o->secret, .prefix = prefix, .n = (uint64_t)o->n,
		.conc = (unsigned)o->conc, .senders = (unsigned)o->senders,
		.text_bytes = (unsigned)o->text_bytes, .max_seconds = (long)o->max_seconds,
		.timeout_ms = (long)o->timeout_ms,
	};

	return wrk_run(&spec, w);
}

/* CPU time of the gateway's processes and of this one, around the measured run. */
struct bm_cpu {
	struct proc_watch w[BENCH_MAX_PROCS];
	size_t n;
	double self0;
	double load_s;            /* CPU of a child load generator (wrk) */
	struct cpu_sample m0, m1; /* the whole machine, to show other load */
};

static double bm_self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The machine's busy CPU over the run, and the part none of ours used:
 * the load generator shares the cores, so other load lowers the figures. */
static void bm_machine_report(const struct bm_cpu *c)
{
	double hz = (double)proc_ticks_per_s(), all = (double)(c->m1.total - c->m0.total);
	double ours = (bm_self_cpu() - c->self0 + c->load_s) * hz, busy, other;

	if (all <= 0)
		return;
	for (size_t i = 0; i < c->n; i++)
		ours += (double)(c->w[i].ticks1 - c->w[i].ticks0);
	busy = (double)(c->m1.busy - c->m0.busy) / all * 100.0 * proc_ncpu();
	other = ((double)(c->m1.busy - c->m0.busy) - ours) / all * 100.0 * proc_ncpu();
	printf("  machine CPU      %.0f%% busy of %d00%%; %.0f%% of it by other processes "
	       "(kernel work for ours included)\n", busy, proc_ncpu(), other < 0 ? 0 : other);
}

static void bm_cpu_report(const struct bm_cpu *c, uint64_t accepted)
{
	double per = accepted ? 1e6 / (double)accepted : 0, total = 0;

	printf("  CPU per webhook ");
	for (size_t i = 0; i < c->n; i++) {
		double s = (double)(c->w[i].ticks1 - c->w[i].ticks0) / (double)proc_ticks_per_s();

		printf(" %s %.1f us,", c->w[i].name, s * per);
		total += s * per;
	}
	if (c->load_s > 0)
		printf(" wrk %.1f us,", c->load_s * per);
	printf(" bench-meta %.1f us; gateway total %.1f us\n", (bm_self_cpu() - c->self0) * per,
	       total);
	bm_machine_report(c);
}

/* Waits until `want` measured messages (or warmup ones) are on the bus. */
static void bm_drain(const struct bench_bus *b, uint64_t want, int warm, long long ms)
{
	struct timespec ts = {0, 5 * 1000 * 1000};
	int64_t until = bench_now_us() + ms * 1000;

	while (bench_now_us() < until &&
	       (warm ? atomic_load(&b->warm_seen) : atomic_load(&b->seen)) < want)
		nanosleep(&ts, NULL);
}

static uint64_t bm_missing(const struct bm_phase *ph, const struct bench_bus *b)
{
	uint64_t missing = 0;

	for (uint64_t i = 0; i < ph->n; i++)
		missing += ph->accept_us[i] && !b->seen_us[i];
	return missing;
}

/* The measured run with wrk, from start to report; 0 when every webhook
 * was accepted and seen on the bus exactly once. */
static int bm_measure_wrk(const struct bm_opts *o, const char *prefix, struct bench_bus *bus,
			  struct bm_cpu *cpu)
{
	struct wrk_result w;
	uint64_t seen, missing;

	if (bm_run_wrk(o, prefix, &w))
		return -1;
	cpu->load_s = w.cpu_s;
	bm_drain(bus, w.ok, 0, o->drain_ms);
	/* The requests in flight when wrk stopped may still arrive: the last
	 * one wrk built may never have been written. */
	bm_drain(bus, w.sent, 0, 500);
	proc_sample(cpu->w, cpu->n, 1);
	proc_cpu_sample(&cpu->m1);
	seen = atomic_load(&bus->seen);
	missing = w.ok > seen ? w.ok - seen : 0;
	bm_report_wrk(o, &w, bus, missing);
	if (o->state_dir)
		bm_cpu_report(cpu, w.ok);
	return w.ok < (uint64_t)o->n || w.answered != w.ok || missing ||
	       atomic_load(&bus->dups) ? -1 : 0;
}

/* The measured run with libcurl; 0 when every webhook was accepted and seen. */
static int bm_measure_curl(struct bm_phase *run, struct bench_bus *bus, struct bm_cpu *cpu)
{
	if (bm_run_phase(run))
		return -1;
	bm_drain(bus, run->accepted, 0, run->o->drain_ms);
	proc_sample(cpu->w, cpu->n, 1);
	proc_cpu_sample(&cpu->m1);
	bm_report(run, bus, bm_missing(run, bus));
	if (run->o->state_dir)
		bm_cpu_report(cpu, run->accepted);
	return run->accepted != run->n || bm_missing(run, bus) != 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct bm_opts o;
	struct bench_bus bus;
	struct bm_phase warm, run;
	struct bm_cpu cpu = {.n = 0};
	char prefix[BENCH_PREFIX_MAX], wprefix[BENCH_PREFIX_MAX];
	time_t t = time(NULL); /* with the pid: ids no earlier run used */
	int rc = bm_parse(&o, argc, argv), failed = 1;

	if (rc)
		return rc > 0 ? 0 : 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(prefix, sizeof(prefix), "wamid.bench-%lld-%d-", (long long)t, getpid());
	snprintf(wprefix, sizeof(wprefix), "wamid.bench-%lld-%d-warm-", (long long)t, getpid());
	memset(&bus, 0, sizeof(bus));
	memset(&warm, 0, sizeof(warm));
	memset(&run, 0, sizeof(run));
	snprintf(bus.endpoint, sizeof(bus.endpoint), "%s", o.bus);
	snprintf(bus.prefix, sizeof(bus.prefix), "%s", prefix);
	snprintf(bus.warm_prefix, sizeof(bus.warm_prefix), "%s", wprefix);
	/* wrk stops after n answers with up to one request per client in flight. */
	bus.n = (uint64_t)o.n + (o.wrk ? (uint64_t)o.conc : 0);
	if (o.wrk && !(bus.stamp_us = calloc(bus.n, sizeof(*bus.stamp_us))))
		goto out;
	warm = (struct bm_phase){.o = &o, .prefix = wprefix, .n = (uint64_t)o.warmup};
	run = (struct bm_phase){.o = &o, .prefix = prefix, .n = (uint64_t)o.n};
	if (bus_start(&bus, 5000))
		goto out;
	if (warm.n && bm_run_phase(&warm))
		goto out;
	bm_drain(&bus, warm.accepted, 1, o.drain_ms);
	if (o.state_dir && proc_from_state(o.state_dir, cpu.w, BENCH_MAX_PROCS, &cpu.n))
		goto out;
	proc_sample(cpu.w, cpu.n, 0);
	proc_cpu_sample(&cpu.m0);
	cpu.self0 = bm_self_cpu();
	failed = (o.wrk ? bm_measure_wrk(&o, prefix, &bus, &cpu)
			: bm_measure_curl(&run, &bus, &cpu)) != 0;
out:
	bus_stop(&bus);
	bm_phase_free(&warm);
	bm_phase_free(&run);
	free(bus.seen_us);
	free(bus.stamp_us);
	curl_global_cleanup();
	return failed;
}

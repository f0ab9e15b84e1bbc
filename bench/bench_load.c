/*
 * bench_load.c - the HTTP load of bench-api: `conc` clients, each one easy
 * handle reused for all its requests so that libcurl keeps its HTTP/1.1
 * connection alive, all driven by one multi handle in the calling thread
 * through its socket interface (bench_multi.h).
 *
 * A request's start time is taken when its handle is added to the multi
 * handle; its accept time when libcurl reports it done with a 202. In rate
 * mode message i is due at t0 + i/rate and starts on the first idle client
 * at or after that time; how far a start fell behind schedule is reported,
 * so a gateway too slow for the rate shows as lag, not as a fake rate.
 */
#include "bench/bench_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "bench/bench_multi.h"

#define LOAD_MAX_TEXT (64u * 1024u) /* longest "text" field we build */
#define LOAD_BODY_EXTRA 512u        /* id, from and JSON punctuation */
#define LOAD_POLL_MS 20             /* longest wait in the event loop */
#define LOAD_IDLE UINT64_MAX        /* client.msg when nothing is in flight */

struct load_client {
	CURL *easy;
	uint64_t msg; /* message in flight, or LOAD_IDLE */
	char *body;   /* LOAD_BODY_EXTRA + text_bytes bytes */
	size_t body_cap;
};

struct load_state {
	const struct load_spec *spec;
	struct load_result *res;
	struct bench_multi bm; /* owned */
	struct curl_slist *headers;
	struct load_client *clients;
	char *text;        /* the shared "text" value */
	uint64_t next;     /* next message to start */
	uint64_t done;     /* messages finished (any outcome) */
	unsigned inflight;
};

/* The answer body is not needed: the status says it all. */
static size_t load_discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb;
}

static int load_result_init(struct load_result *res, uint64_t n)
{
	memset(res, 0, sizeof(*res));
	res->n = n;
	res->start_us = calloc(n ? n : 1, sizeof(*res->start_us));
	res->accept_us = calloc(n ? n : 1, sizeof(*res->accept_us));
	return res->start_us && res->accept_us ? 0 : -1;
}

void load_result_free(struct load_result *res)
{
	if (!res)
		return;
	free(res->start_us);
	free(res->accept_us);
	res->start_us = NULL;
	res->accept_us = NULL;
}

/* Options every request of a client shares; 0 or -1. */
static int load_client_setup(struct load_state *st, struct load_client *c)
{
	const struct load_spec *sp = st->spec;
	CURLcode rc = CURLE_OK;

	c->msg = LOAD_IDLE;
	c->body_cap = LOAD_BODY_EXTRA + sp->text_bytes;
	c->body = malloc(c->body_cap);
	c->easy = curl_easy_init();
	if (!c->body || !c->easy)
		return -1;
	rc |= curl_easy_setopt(c->easy, CURLOPT_URL, sp->url);
	rc |= curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, st->headers);
	rc |= curl_easy_setopt(c->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	rc |= curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	/* Loopback only: never let an environment proxy take the traffic. */
	rc |= curl_easy_setopt(c->easy, CURLOPT_PROXY, "");
	rc |= curl_easy_setopt(c->easy, CURLOPT_NOPROXY, "*");
	rc |= curl_easy_setopt(c->easy, CURLOPT_TCP_NODELAY, 1L);
	rc |= curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, sp->timeout_ms);
	rc |= curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, load_discard);
	rc |= curl_easy_setopt(c->easy, CURLOPT_PRIVATE, (void *)c);
	return rc == CURLE_OK ? 0 : -1;
}

static int load_setup(struct load_state *st)
{
	const struct load_spec *sp = st->spec;
	char auth[512];
	struct curl_slist *h = NULL;

	if (bench_multi_init(&st->bm))
		return -1;
	st->clients = calloc(sp->conc, sizeof(*st->clients));
	st->text = malloc(sp->text_bytes + 1);
	if (!st->clients || !st->text)
		return -1;
	for (size_t i = 0; i < sp->text_bytes; i++)
		st->text[i] = (char)('a' + i % 26);
	st->text[sp->text_bytes] = '\0';
	/* "Expect:" off: no 100-continue round trip, whatever the body size. */
	h = curl_slist_append(NULL, "Content-Type: application/json");
	if (h)
		st->headers = curl_slist_append(h, "Expect:");
	if (!st->headers) {
		curl_slist_free_all(h);
		return -1;
	}
	if (sp->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", sp->token);
		h = curl_slist_append(st->headers, auth);
		if (!h)
			return -1;
	}
	curl_multi_setopt(st->bm.multi, CURLMOPT_MAXCONNECTS, (long)sp->conc);
	curl_multi_setopt(st->bm.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)sp->conc);
	for (unsigned i = 0; i < sp->conc; i++)
		if (load_client_setup(st, &st->clients[i]))
			return -1;
	return 0;
}

static void load_teardown(struct load_state *st)
{
	for (unsigned i = 0; st->clients && i < st->spec->conc; i++) {
		struct load_client *c = &st->clients[i];

		if (c->easy && c->msg != LOAD_IDLE)
			curl_multi_remove_handle(st->bm.multi, c->easy);
		curl_easy_cleanup(c->easy);
		free(c->body);
	}
	free(st->clients);
	bench_multi_free(&st->bm);
	curl_slist_free_all(st->headers);
	free(st->text);
}

/* Due time of message i in rate mode, relative to t0. */
static int64_t load_due_us(const struct load_state *st, uint64_t i)
{
	return st->res->t0_us + (int64_t)((double)i * 1e6 / st->spec->rate);
}

/* Starts message st->next on client c; 0 or -1. */
static int load_start(struct load_state *st, struct load_client *c, int64_t now)
{
	const struct load_spec *sp = st->spec;
	uint64_t i = st->next;
	int len = snprintf(c->body, c->body_cap,
			   "{\"id\":\"%s%llu\",\"from\":{\"id\":\"bench-sender-%u\"},"
			   "\"text\":\"%s\"}",
			   sp->id_prefix, (unsigned long long)i,
			   (unsigned)(i % sp->senders), st->text);

	if (len < 0 || (size_t)len >= c->body_cap)
		return -1;
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)len);
	if (sp->rate > 0 && now - load_due_us(st, i) > st->res->max_lag_us)
		st->res->max_lag_us = now - load_due_us(st, i);
	st->res->start_us[i] = now;
	if (curl_multi_add_handle(st->bm.multi, c->easy) != CURLM_OK)
		return -1;
	c->msg = i;
	st->next++;
	st->inflight++;
	st->res->sent++;
	return 0;
}

/* Gives every idle client the next due message; 0 or -1. */
static int load_start_due(struct load_state *st)
{
	int64_t now = bench_now_us();

	if (now >= st->spec->deadline_us) {
		st->res->timed_out = st->next < st->spec->n;
		return 0;
	}
	for (unsigned k = 0; k < st->spec->conc && st->next < st->spec->n; k++) {
		struct load_client *c = &st->clients[k];

		if (c->msg != LOAD_IDLE)
			continue;
		if (st->spec->rate > 0 && now < load_due_us(st, st->next))
			break;
		if (load_start(st, c, now))
			return -1;
	}
	return 0;
}

static void load_finish(struct load_state *st, CURLMsg *m, int64_t now)
{
	struct load_client *c = NULL;
	struct load_result *res = st->res;
	long code = 0;

	curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
	if (m->data.result == CURLE_OK)
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
	if (m->data.result != CURLE_OK || code <= 0 || code >= BENCH_MAX_STATUS) {
		if (!res->curl_errors++)
			snprintf(res->first_curl_error, sizeof(res->first_curl_error), "%s",
				 curl_easy_strerror(m->data.result));
		code = 0;
	}
	res->status[code]++;
	if (code == 202) {
		res->accepted++;
		res->accept_us[c->msg] = now;
	}
	res->t1_us = now;
	curl_multi_remove_handle(st->bm.multi, m->easy_handle);
	c->msg = LOAD_IDLE;
	st->inflight--;
	st->done++;
}

static void load_collect(struct load_state *st)
{
	int64_t now = bench_now_us();
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(st->bm.multi, &left)))
		if (m->msg == CURLMSG_DONE)
			load_finish(st, m, now);
}

/* Milliseconds to wait for sockets before the next due start. */
static int load_wait_ms(const struct load_state *st)
{
	int64_t until;

	if (st->spec->rate <= 0 || st->next >= st->spec->n)
		return LOAD_POLL_MS;
	until = load_due_us(st, st->next) - bench_now_us();
	if (until <= 0)
		return 0;
	/* Round up: a 0 ms wait for a start due in 0.4 ms would spin. */
	return (until + 999) / 1000 < LOAD_POLL_MS ? (int)((until + 999) / 1000) : LOAD_POLL_MS;
}

static int load_loop(struct load_state *st)
{
	const struct load_spec *sp = st->spec;
	int64_t hard_stop = sp->deadline_us + sp->timeout_ms * 1000;

	st->res->t0_us = bench_now_us();
	st->res->t1_us = st->res->t0_us;
	while (st->done < sp->n) {
		if (load_start_due(st))
			return -1;
		if (st->inflight == 0 && (st->res->timed_out || st->next >= sp->n))
			break;
		if (bench_multi_step(&st->bm, load_wait_ms(st)))
			return -1;
		load_collect(st);
		if (bench_now_us() > hard_stop)
			break; /* requests stuck past their own timeout: give up */
	}
	return 0;
}

int load_run(const struct load_spec *spec, struct load_result *res)
{
	struct load_state st;
	int rc = -1;

	memset(&st, 0, sizeof(st));
	st.spec = spec;
	st.res = res;
	if (load_result_init(res, spec->n))
		goto out;
	if (spec->text_bytes > LOAD_MAX_TEXT || spec->conc == 0 || spec->senders == 0) {
		fprintf(stderr, "bench-api: bad load parameters\n");
		goto out;
	}
	if (load_setup(&st)) {
		fprintf(stderr, "bench-api: cannot set up libcurl (out of memory?)\n");
		goto out;
	}
	rc = load_loop(&st);
	if (rc)
		fprintf(stderr, "bench-api: libcurl refused a request\n");
out:
	load_teardown(&st);
	return rc;
}

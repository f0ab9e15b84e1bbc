/*
 * test_sender.c - the shared reply sender against a small HTTP server played
 * by the test (one answer per request, from a script): a reply the provider
 * takes is reported sent with its id and journaled; transient failures are
 * retried (honouring Retry-After) until they work or the retry time is
 * over; permanent ones fail at once; credentials refused are noted once;
 * a delivery handed over again while in the sender, or after a restart once
 * journaled, is not sent twice; transfers start at the configured rate (per
 * second or per minute) and never more than `concurrency` run at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "connectors/outbox.h"
#include "connectors/sender.h"
#include "core/err.h"
#include "core/util.h"
#include "proto/wire.h"
#include "tests/unit/testutil.h"

/* ---- the provider: answers requests from a script ------------------------ */

#define MAX_SCRIPT 16

struct provider {
	int lfd, port;
	pthread_t th;
	pthread_mutex_t mu;
	const char *script[MAX_SCRIPT]; /* whole HTTP answers, in order */
	int n, next;                    /* past the end: the last one again */
	int requests;
	char last_body[512];
	int delay_ms; /* each answer waits this long */
	int stop;
};

/* read_request - one request's head and body (Content-Length) from fd. */
static int read_request(int fd, char *buf, size_t size, char *body, size_t bsize)
{
	size_t got = 0;
	char *end = NULL;
	long clen = 0;

	while (!end && got < size - 1) {
		ssize_t n = read(fd, buf + got, size - 1 - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	if (!end)
		return -1;
	if (strstr(buf, "Content-Length: "))
		clen = strtol(strstr(buf, "Content-Length: ") + 16, NULL, 10);
	end += 4;
	got -= (size_t)(end - buf);
	memmove(body, end, got < bsize - 1 ? got : bsize - 1);
	while ((long)got < clen && got < bsize - 1) {
		ssize_t n = read(fd, body + got, bsize - 1 - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	body[got < bsize - 1 ? got : bsize - 1] = '\0';
	return 0;
}

static void *provider_run(void *arg)
{
	struct provider *p = arg;

	for (;;) {
		char buf[4096], body[512];
		const char *ans;
		int fd = accept(p->lfd, NULL, NULL);

		if (fd < 0 || p->stop)
			break;
		if (read_request(fd, buf, sizeof(buf), body, sizeof(body)) == 0) {
			pthread_mutex_lock(&p->mu);
			ans = p->script[p->next < p->n ? p->next : p->n - 1];
			p->next++;
			p->requests++;
			snprintf(p->last_body, sizeof(p->last_body), "%s", body);
			pthread_mutex_unlock(&p->mu);
			if (p->delay_ms)
				usleep((useconds_t)p->delay_ms * 1000);
			if (write(fd, ans, strlen(ans)) < 0)
				break;
		}
		close(fd);
	}
	return NULL;
}

static void provider_start(struct provider *p)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(p->lfd >= 0);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(p->lfd, 16), 0);
	assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&a, &len), 0);
	p->port = ntohs(a.sin_port);
	pthread_mutex_init(&p->mu, NULL);
	assert_int_equal(pthread_create(&p->th, NULL, provider_run, p), 0);
}

static void provider_stop(struct provider *p)
{
	p->stop = 1;
	shutdown(p->lfd, SHUT_RDWR);
	close(p->lfd);
	pthread_join(p->th, NULL);
	pthread_mutex_destroy(&p->mu);
}

static int provider_requests(struct provider *p)
{
	int n;

	pthread_mutex_lock(&p->mu);
	n = p->requests;
	pthread_mutex_unlock(&p->mu);
	return n;
}

#define OK_200 "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\n{\"id\":\"m-77\"}"
#define BUSY_503 "HTTP/1.1 503 Busy\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
#define BAD_400 "HTTP/1.1 400 Bad\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{\"error\":\"no\"}"
#define AUTH_401 "HTTP/1.1 401 No\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

/* ---- a channel's job: POST the text, the answer's "id" is the ref -------- */

struct tjob {
	char url[128];
	char body[64];
	struct curl_slist *hdr;
};

static int tjob_setup(void *job, int step, CURL *h, char *why, size_t whylen)
{
	struct tjob *j = job;

	(void)step;
	(void)why;
	(void)whylen;
	curl_slist_free_all(j->hdr);
	j->hdr = curl_slist_append(NULL, "Content-Type: text/plain");
	curl_easy_setopt(h, CURLOPT_URL, j->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, j->hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, j->body);
	return 0;
}

static void tjob_classify(void *job, const struct sender_attempt *a, struct sender_outcome *o)
{
	(void)job;
	if (a->err != GW_OK || a->status >= 500) {
		o->verdict = SENDER_RETRY;
		o->retry_after_ms = a->retry_after_ms > 0 ? a->retry_after_ms : 0;
		snprintf(o->reason, sizeof(o->reason), "HTTP %ld", a->status);
	} else if (a->status == 401) {
		o->verdict = SENDER_FAIL;
		o->auth = 1;
		snprintf(o->reason, sizeof(o->reason), "token refused");
	} else if (a->status >= 400) {
		o->verdict = SENDER_FAIL;
		snprintf(o->reason, sizeof(o->reason), "HTTP %ld: %s", a->status, a->body);
	} else {
		o->verdict = SENDER_DONE;
		snprintf(o->ref_account, sizeof(o->ref_account), "acct");
		snprintf(o->ref_id, sizeof(o->ref_id), "%.*s", 4, strstr(a->body, "m-"));
	}
}

static void tjob_free(void *job)
{
	struct tjob *j = job;

	curl_slist_free_all(j->hdr);
	free(j);
}

static const struct sender_ops tops = {tjob_setup, tjob_classify, tjob_free};

static struct tjob *tjob_new(int port, const char *text)
{
	struct tjob *j = calloc(1, sizeof(*j));

	assert_non_null(j);
	snprintf(j->url, sizeof(j->url), "http://127.0.0.1:%d/send", port);
	snprintf(j->body, sizeof(j->body), "%s", text);
	return j;
}

/* ---- fixture: an outbox toward a ROUTER the test reads -------------------- */

struct fx {
	char dir[64], spool[128], journal[128], endpoint[160];
	void *zctx, *router;
	struct outbox *ob;
	struct sender_options so;
};

static void fx_init(struct fx *f)
{
	struct outbox_options o = {0};
	int zero = 0;

	test_tmpdir(f->dir, sizeof(f->dir), "sender");
	snprintf(f->spool, sizeof(f->spool), "%s/spool", f->dir);
	snprintf(f->journal, sizeof(f->journal), "%s/sent", f->dir);
	snprintf(f->endpoint, sizeof(f->endpoint), "ipc://%s/ingest", f->dir);
	f->zctx = zmq_ctx_new();
	f->router = zmq_socket(f->zctx, ZMQ_ROUTER);
	zmq_setsockopt(f->router, ZMQ_LINGER, &zero, sizeof(zero));
	assert_int_equal(zmq_bind(f->router, f->endpoint), 0);
	o.dir = f->spool;
	o.endpoint = f->endpoint;
	o.log_module = "test";
	o.max_entries = 100;
	o.max_inflight = 16;
	o.resend_ms = 200;
	o.map_size = 16u << 20;
	assert_int_equal(outbox_open(&o, &f->ob), GW_OK);
	f->so.set = (struct sender_settings){.concurrency = 2, .rate_per_s = 0,
					     .timeout_ms = 5000, .retry_for_s = 60};
	f->so.outbox = f->ob;
	f->so.journal_dir = f->journal;
	f->so.log_module = "test/sender";
}

static void fx_done(struct fx *f)
{
	outbox_close(f->ob);
	zmq_close(f->router);
	zmq_ctx_term(f->zctx);
	test_rmtree(f->dir);
}

/* A report as the router reads it. */
struct report {
	uint64_t id;
	char status[16], reason[300], ref_account[160], ref_id[300];
};

static void recv_str(void *sock, char *buf, size_t size)
{
	int n = zmq_recv(sock, buf, size - 1, 0);

	buf[n < 0 ? 0 : (size_t)n > size - 1 ? size - 1 : (size_t)n] = '\0';
}

/* next_report - polls the sender and pumps the outbox until a report
 * arrives at the router side (1) or timeout_ms passes (0). */
static int next_report(struct fx *f, struct sender *s, struct report *r, int timeout_ms)
{
	int64_t end = gw_mono_us() + (int64_t)timeout_ms * 1000;

	while (gw_mono_us() < end) {
		zmq_pollitem_t it = {f->router, 0, ZMQ_POLLIN, 0};
		unsigned char peer[256], kb[8];
		char tag[16];

		sender_poll(s);
		outbox_pump(f->ob);
		if (zmq_poll(&it, 1, 10) <= 0)
			continue;
		zmq_recv(f->router, peer, sizeof(peer), 0);
		recv_str(f->router, tag, sizeof(tag));
		if (strcmp(tag, WIRE_INGEST_REPORT) != 0) {
			int more = 1;
			size_t sz = sizeof(more);

			zmq_getsockopt(f->router, ZMQ_RCVMORE, &more, &sz);
			while (more) {
				recv_str(f->router, tag, sizeof(tag));
				zmq_getsockopt(f->router, ZMQ_RCVMORE, &more, &sz);
			}
			continue;
		}
		zmq_recv(f->router, kb, 8, 0);
		r->id = 0;
		for (int i = 0; i < 8; i++)
			r->id = (r->id << 8) | kb[i];
		recv_str(f->router, r->status, sizeof(r->status));
		recv_str(f->router, r->reason, sizeof(r->reason));
		recv_str(f->router, r->ref_account, sizeof(r->ref_account));
		recv_str(f->router, r->ref_id, sizeof(r->ref_id));
		return 1;
	}
	return 0;
}

/* ---- tests ------------------------------------------------------------------ */

/* 503 with Retry-After, then 200: one report "sent" with the provider's id;
 * the same reply handed over again later (a new sender: a restart) is
 * reported from the journal without a request. */
static void test_retry_then_sent_and_journal(void **state)
{
	struct provider p = {.script = {BUSY_503, OK_200}, .n = 2};
	struct fx f = {0};
	struct sender *s;
	struct report r;
	struct sender_stats st;

	(void)state;
	provider_start(&p);
	fx_init(&f);
	assert_int_equal(sender_create(&f.so, &s), GW_OK);
	assert_int_equal(sender_submit(s, 5, "reply-5-aa", &tops, tjob_new(p.port, "hello")),
			 GW_OK);
	/* Handed over again while in flight: taken, not sent twice. */
	assert_int_equal(sender_submit(s, 5, "reply-5-aa", &tops, tjob_new(p.port, "hello")),
			 GW_OK);
	assert_true(next_report(&f, s, &r, 8000));
	assert_int_equal(r.id, 5);
	assert_string_equal(r.status, "sent");
	assert_string_equal(r.ref_account, "acct");
	assert_string_equal(r.ref_id, "m-77");
	assert_int_equal(provider_requests(&p), 2);
	assert_string_equal(p.last_body, "hello");
	sender_stats(s, &st);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.retried, 1);
	assert_int_equal(st.queued, 0);
	sender_destroy(s);
	assert_int_equal(sender_create(&f.so, &s), GW_OK);
	assert_int_equal(sender_submit(s, 5, "reply-5-aa", &tops, tjob_new(p.port, "hello")),
			 GW_OK);
	assert_true(next_report(&f, s, &r, 5000));
	assert_string_equal(r.status, "sent");
	assert_string_equal(r.ref_id, "m-77");
	assert_int_equal(provider_requests(&p), 2);
	sender_stats(s, &st);
	assert_int_equal(st.journaled, 1);
	sender_destroy(s);
	fx_done(&f);
	provider_stop(&p);
}

/* A 4xx fails at once with the provider's words; a refused token fails and
 * is noted (once) in the stats until a reply goes through. */
static void test_permanent_and_auth(void **state)
{
	struct provider p = {.script = {BAD_400, AUTH_401, OK_200}, .n = 3};
	struct fx f = {0};
	struct sender *s;
	struct report r;
	struct sender_stats st;

	(void)state;
	provider_start(&p);
	fx_init(&f);
	f.so.set.concurrency = 1;
	assert_int_equal(sender_create(&f.so, &s), GW_OK);
	assert_int_equal(sender_submit(s, 1, "reply-1-x", &tops, tjob_new(p.port, "a")), GW_OK);
	assert_true(next_report(&f, s, &r, 5000));
	assert_string_equal(r.status, "failed");
	assert_non_null(strstr(r.reason, "HTTP 400"));
	assert_int_equal(sender_submit(s, 2, "reply-2-x", &tops, tjob_new(p.port, "b")), GW_OK);
	assert_true(next_report(&f, s, &r, 5000));
	assert_string_equal(r.status, "failed");
	sender_stats(s, &st);
	assert_string_equal(st.auth_error, "token refused");
	assert_int_equal(sender_submit(s, 3, "reply-3-x", &tops, tjob_new(p.port, "c")), GW_OK);
	assert_true(next_report(&f, s, &r, 5000));
	assert_string_equal(r.status, "sent");
	sender_stats(s, &st);
	assert_string_equal(st.auth_error, "");
	assert_int_equal(st.failed, 2);
	assert_int_equal(st.sent, 1);
	sender_destroy(s);
	fx_done(&f);
	provider_stop(&p);
}

/* With send_retry_for_s 0 a transient failure is final: "gave up". */
static void test_give_up(void **state)
{
	struct provider p = {.script = {BUSY_503}, .n = 1};
	struct fx f = {0};
	struct sender *s;
	struct report r;

	(void)state;
	provider_start(&p);
	fx_init(&f);
	f.so.set.retry_for_s = 0;
	assert_int_equal(sender_create(&f.so, &s), GW_OK);
	assert_int_equal(sender_submit(s, 9, "reply-9-x", &tops, tjob_new(p.port, "z")), GW_OK);
	assert_true(next_report(&f, s, &r, 5000));
	assert_string_equal(r.status, "failed");
	assert_non_null(strstr(r.reason, "gave up after 1 attempts"));
	assert_non_null(strstr(r.reason, "HTTP 503"));
	sender_destroy(s);
	fx_done(&f);
	provider_stop(&p);
}

/* Nothing listens: connection refused is transient, then given up. */
static void test_unreachable(void **state)
{
	struct fx f = {0};
	struct sender *s;
	struct report r;
	struct provider p = {.script = {OK_200}, .n = 1};
	int port;

	(void)state;
	provider_start(&p);
	port = p.port;
	provider_stop(&p); /* the port is free again */
	fx_init(&f);
	f.so.set.retry_for_s = 0;
	assert_int_equal(sender_create(&f.so, &s), GW_OK);
	assert_int_equal(sender_submit(s, 4, "reply-4-x", &tops, tjob_new(port, "z")), GW_OK);
	assert_true(next_report(&f, s, &r, 5000));
	assert_string_equal(r.status, "failed");
	assert_non_null(strstr(r.reason, "gave up"));
	sender_destroy(s);
	fx_done(&f);
}

/* A full sender says so (GW_EFULL): the router hands the delivery over
 * again later; fail_now reports at once. */
static void test_full_and_fail_now(void **state)
{
	struct provider p = {.script = {OK_200}, .n = 1};
	struct fx f = {0};
	struct sender *s;
	struct report r;

	(void)state;
	provider_start(&p);
	fx_init(&f);
	f.so.max_jobs = 1;
	assert_int_equal(sender_create(&f.so, &s), GW_OK);
	assert_int_equal(sender_submit(s, 1, "reply-1-y", &tops, tjob_new(p.port, "a")), GW_OK);
	assert_int_equal(sender_submit(s, 2, "reply-2-y", &tops, tjob_new(p.port, "b")), GW_EFULL);
	assert_true(next_report(&f, s, &r, 5000));
	assert_int_equal(r.id, 1);
	assert_int_equal(sender_fail_now(s, 2, "outside the window"), GW_OK);
	assert_true(next_report(&f, s, &r, 5000));
	assert_int_equal(r.id, 2);
	assert_string_equal(r.reason, "outside the window");
	sender_destroy(s);
	fx_done(&f);
	provider_stop(&p);
}

/* ---- rate and concurrency: a job that notes when it starts ----------------- */

#define RC_JOBS 8

static struct {
	pthread_mutex_t mu;
	int64_t start_us[RC_JOBS * 2];
	int starts, inflight, max_inflight;
} rc_seen = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int rcjob_setup(void *job, int step, CURL *h, char *why, size_t whylen)
{
	pthread_mutex_lock(&rc_seen.mu);
	if (rc_seen.starts < RC_JOBS * 2)
		rc_seen.start_us[rc_seen.starts] = gw_mono_us();
	rc_seen.starts++;
	if (++rc_seen.inflight > rc_seen.max_inflight)
		rc_seen.max_inflight = rc_seen.inflight;
	pthread_mutex_unlock(&rc_seen.mu);
	return tjob_setup(job, step, h, why, whylen);
}

static void rcjob_classify(void *job, const struct sender_attempt *a, struct sender_outcome *o)
{
	pthread_mutex_lock(&rc_seen.mu);
	rc_seen.inflight--;
	pthread_mutex_unlock(&rc_seen.mu);
	tjob_classify(job, a, o);
}

static const struct sender_ops rcops = {rcjob_setup, rcjob_classify, tjob_free};

/* run_jobs - `n` jobs at once through a sender with `set`; every one is
 * reported sent. rc_seen holds their starts. */
static void run_jobs(struct provider *p, struct sender_settings set, int n)
{
	struct fx f = {0};
	struct sender *s;
	struct report r;
	char id[32];

	pthread_mutex_lock(&rc_seen.mu);
	rc_seen.starts = rc_seen.inflight = rc_seen.max_inflight = 0;
	pthread_mutex_unlock(&rc_seen.mu);
	fx_init(&f);
	f.so.set = set;
	assert_int_equal(sender_create(&f.so, &s), GW_OK);
	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "reply-%d-rc", i + 1);
		assert_int_equal(sender_submit(s, (uint64_t)i + 1, id, &rcops,
					       tjob_new(p->port, "x")),
				 GW_OK);
	}
	for (int i = 0; i < n; i++) {
		assert_true(next_report(&f, s, &r, 10000));
		assert_string_equal(r.status, "sent");
	}
	sender_destroy(s);
	fx_done(&f);
	assert_int_equal(rc_seen.starts, n);
}

/* Rate 5/s: N jobs start at least (N-1)/5 s apart, first to last, 200 ms
 * between two; 120 a minute: 2/s. Concurrency 2 with a slow provider and
 * no rate: never more than 2 in flight, and 2 are. */
static void test_rate_and_concurrency(void **state)
{
	struct provider p = {.script = {OK_200}, .n = 1};
	struct sender_settings set = {.concurrency = 4, .rate_per_s = 5, .timeout_ms = 5000,
				      .retry_for_s = 60};
	int n = 6;

	(void)state;
	provider_start(&p);
	run_jobs(&p, set, n);
	assert_true(rc_seen.start_us[n - 1] - rc_seen.start_us[0] >= (n - 1) * 200000LL - 2000);
	for (int i = 1; i < n; i++)
		assert_true(rc_seen.start_us[i] - rc_seen.start_us[i - 1] >= 150000);
	assert_true(rc_seen.max_inflight <= 4);
	set.rate_per_s = 20;
	set.rate_per_min = 120;
	n = 3;
	run_jobs(&p, set, n);
	assert_true(rc_seen.start_us[n - 1] - rc_seen.start_us[0] >= (n - 1) * 500000LL - 2000);
	set = (struct sender_settings){.concurrency = 2, .timeout_ms = 5000, .retry_for_s = 60};
	p.delay_ms = 50;
	run_jobs(&p, set, RC_JOBS);
	assert_int_equal(rc_seen.max_inflight, 2);
	provider_stop(&p);
}

static void test_retry_after_values(void **state)
{
	(void)state;
	assert_int_equal(sender_retry_after_ms("120"), 120000);
	assert_int_equal(sender_retry_after_ms(" 0"), 0);
	assert_int_equal(sender_retry_after_ms("soon"), -1);
	assert_int_equal(sender_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_then_sent_and_journal),
		cmocka_unit_test(test_permanent_and_auth),
		cmocka_unit_test(test_give_up),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_full_and_fail_now),
		cmocka_unit_test(test_retry_after_values),
		cmocka_unit_test(test_rate_and_concurrency),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

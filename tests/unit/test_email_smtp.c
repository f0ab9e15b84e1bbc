/*
 * test_email_smtp.c - the SMTP job of a reply (connectors/email/
 * email_smtp.c) run by the real sender against a small SMTP server played
 * by the test, which answers each command as the test says: the envelope
 * and the login the server sees (PLAIN, XOAUTH2), and how each answer is
 * judged: 250 sent with the Message-ID as the reference, 4xx retried with
 * the same Message-ID, 5xx failed with the server's words, 535 failed as
 * refused credentials, no server retried until the retry time is over.
 * (The real server, TLS and the Sent copy: tests/integration/
 * test_email_reply.py against Postfix and Dovecot.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <zmq.h>

#include "connectors/email/email_smtp.h"
#include "connectors/outbox.h"
#include "connectors/sender.h"
#include "core/err.h"
#include "core/util.h"
#include "proto/wire.h"
#include "testutil.h"

#define MSGID "reply-3-00112233445566778899aabbccddeeff@acme.test"

/* ---- the server ------------------------------------------------------------------ */

struct smtpd {
	int lfd, port;
	pthread_t th;
	pthread_mutex_t mu;
	/* what to answer (the test's script) */
	const char *auth_answer; /* to the AUTH response; default 235 */
	const char *rcpt_answer; /* default 250 */
	int data_fails;          /* this many DATA ends answered 451 first */
	/* what it saw */
	char auth[512], mail[256], rcpt[256];
	int datas;               /* messages received whole */
	char last_msgid[300];
	int stop;
};

static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		char c;

		if (read(fd, &c, 1) != 1)
			return -1;
		buf[n++] = c;
		if (c == '\n')
			break;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static void say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		return;
}

/* data - the message up to "."; keeps its Message-Id. */
static void data(struct smtpd *d, int fd)
{
	char line[2048];
	int fail;

	say(fd, "354 go ahead\r\n");
	while (read_line(fd, line, sizeof(line)) == 0 && strcmp(line, ".") != 0) {
		if (strncasecmp(line, "Message-Id: <", 13) == 0) {
			pthread_mutex_lock(&d->mu);
			snprintf(d->last_msgid, sizeof(d->last_msgid), "%.*s",
				 (int)strcspn(line + 13, ">"), line + 13);
			pthread_mutex_unlock(&d->mu);
		}
	}
	pthread_mutex_lock(&d->mu);
	fail = d->data_fails > 0;
	d->data_fails -= fail;
	d->datas += !fail;
	pthread_mutex_unlock(&d->mu);
	say(fd, fail ? "451 4.3.0 queue full, try later\r\n" : "250 2.0.0 queued as 4F2A\r\n");
}

static void session(struct smtpd *d, int fd)
{
	char line[2048];

	say(fd, "220 mx.test ESMTP\r\n");
	while (read_line(fd, line, sizeof(line)) == 0) {
		pthread_mutex_lock(&d->mu);
		if (strncasecmp(line, "AUTH ", 5) == 0)
			snprintf(d->auth, sizeof(d->auth), "%.255s", line);
		else if (strncasecmp(line, "MAIL FROM:", 10) == 0)
			snprintf(d->mail, sizeof(d->mail), "%.200s", line);
		else if (strncasecmp(line, "RCPT TO:", 8) == 0)
			snprintf(d->rcpt, sizeof(d->rcpt), "%.200s", line);
		pthread_mutex_unlock(&d->mu);
		if (strncasecmp(line, "EHLO", 4) == 0) {
			say(fd, "250-mx.test\r\n250-AUTH PLAIN XOAUTH2\r\n250 8BITMIME\r\n");
		} else if (strncasecmp(line, "AUTH ", 5) == 0) {
			if (!strchr(line + 5, ' ')) { /* the response comes next */
				say(fd, "334 \r\n");
				read_line(fd, line, sizeof(line));
				pthread_mutex_lock(&d->mu);
				snprintf(d->auth + strlen(d->auth), sizeof(d->auth) - strlen(d->auth),
					 " %s", line);
				pthread_mutex_unlock(&d->mu);
			}
			say(fd, d->auth_answer ? d->auth_answer : "235 2.7.0 accepted\r\n");
		} else if (strncasecmp(line, "RCPT", 4) == 0) {
			say(fd, d->rcpt_answer ? d->rcpt_answer : "250 2.1.5 ok\r\n");
		} else if (strcasecmp(line, "DATA") == 0) {
			data(d, fd);
		} else if (strcasecmp(line, "QUIT") == 0) {
			say(fd, "221 2.0.0 bye\r\n");
			break;
		} else {
			say(fd, "250 2.0.0 ok\r\n");
		}
	}
}

static void *smtpd_run(void *arg)
{
	struct smtpd *d = arg;

	for (;;) {
		int fd = accept(d->lfd, NULL, NULL);

		if (fd < 0 || d->stop)
			break;
		session(d, fd);
		close(fd);
	}
	return NULL;
}

static void smtpd_start(struct smtpd *d)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(d->lfd >= 0);
	assert_int_equal(bind(d->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(d->lfd, 16), 0);
	assert_int_equal(getsockname(d->lfd, (struct sockaddr *)&a, &len), 0);
	d->port = ntohs(a.sin_port);
	pthread_mutex_init(&d->mu, NULL);
	assert_int_equal(pthread_create(&d->th, NULL, smtpd_run, d), 0);
}

static void smtpd_stop(struct smtpd *d)
{
	d->stop = 1;
	shutdown(d->lfd, SHUT_RDWR);
	close(d->lfd);
	pthread_join(d->th, NULL);
	pthread_mutex_destroy(&d->mu);
}

/* ---- fixture: an outbox toward a ROUTER the test reads, a sender ------------- */

struct fx {
	char dir[64], spool[128], journal[128], endpoint[160];
	void *zctx, *router;
	struct outbox *ob;
	struct sender *s;
	struct smtpd d;
	struct smtp_conf c;
};

static void fx_init(struct fx *f, long retry_for_s)
{
	struct outbox_options o = {0};
	struct sender_options so = {0};
	int zero = 0;

	smtpd_start(&f->d);
	test_tmpdir(f->dir, sizeof(f->dir), "smtp");
	snprintf(f->spool, sizeof(f->spool), "%s/spool", f->dir);
	snprintf(f->journal, sizeof(f->journal), "%s/sent", f->dir);
	snprintf(f->endpoint, sizeof(f->endpoint), "ipc://%s/ingest", f->dir);
	f->zctx = zmq_ctx_new();
	f->router = zmq_socket(f->zctx, ZMQ_ROUTER);
	zmq_setsockopt(f->router, ZMQ_LINGER, &zero, sizeof(zero));
	assert_int_equal(zmq_bind(f->router, f->endpoint), 0);
	o = (struct outbox_options){.dir = f->spool, .endpoint = f->endpoint, .log_module = "test",
				    .max_entries = 100, .max_inflight = 16, .resend_ms = 200,
				    .map_size = 16u << 20};
	assert_int_equal(outbox_open(&o, &f->ob), GW_OK);
	so.set = (struct sender_settings){.concurrency = 2, .rate_per_s = 0,
					  .timeout_ms = 5000, .retry_for_s = retry_for_s};
	so.outbox = f->ob;
	so.journal_dir = f->journal;
	so.log_module = "test/sender";
	assert_int_equal(sender_create(&so, &f->s), GW_OK);
	snprintf(f->c.url, sizeof(f->c.url), "smtp://127.0.0.1:%d", f->d.port);
	f->c.use_ssl = CURLUSESSL_NONE;
	f->c.username = "support";
	f->c.password = "s3cret";
	f->c.from = "support@acme.test";
	f->c.log_module = "test";
}

static void fx_done(struct fx *f)
{
	sender_destroy(f->s);
	outbox_close(f->ob);
	zmq_close(f->router);
	zmq_ctx_term(f->zctx);
	smtpd_stop(&f->d);
	test_rmtree(f->dir);
}

/* submit - reply `id` to jose@example.com. */
static void submit(struct fx *f, uint64_t id)
{
	static const char msg[] = "From: support@acme.test\r\nTo: jose@example.com\r\n"
				  "Subject: Re: x [#T-1]\r\nMessage-Id: <" MSGID ">\r\n\r\n"
				  "Hello\r\n.leading dot\r\n";
	struct email_reply r = {.len = sizeof(msg) - 1};
	struct smtp_job *job;
	char ext[64];

	r.data = malloc(sizeof(msg));
	assert_non_null(r.data);
	memcpy(r.data, msg, sizeof(msg));
	snprintf(r.to, sizeof(r.to), "jose@example.com");
	snprintf(r.message_id, sizeof(r.message_id), MSGID);
	assert_int_equal(smtp_job_new(&f->c, &r, id, &job), GW_OK);
	assert_null(r.data);
	snprintf(ext, sizeof(ext), "reply-%llu-00112233445566778899aabbccddeeff",
		 (unsigned long long)id);
	assert_int_equal(sender_submit(f->s, id, ext, &smtp_ops, job), GW_OK);
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

static void skip_rest(void *sock)
{
	int more = 1;
	size_t sz = sizeof(more);
	char tmp[64];

	zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz);
	while (more) {
		recv_str(sock, tmp, sizeof(tmp));
		zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz);
	}
}

/* next_report - polls the sender and pumps the outbox until a report
 * arrives (1) or timeout_ms passes (0). */
static int next_report(struct fx *f, struct report *r, int timeout_ms)
{
	int64_t end = gw_mono_us() + (int64_t)timeout_ms * 1000;

	while (gw_mono_us() < end) {
		zmq_pollitem_t it = {f->router, 0, ZMQ_POLLIN, 0};
		unsigned char peer[256], kb[8];
		char tag[16];

		sender_poll(f->s);
		outbox_pump(f->ob);
		if (zmq_poll(&it, 1, 10) <= 0)
			continue;
		zmq_recv(f->router, peer, sizeof(peer), 0);
		recv_str(f->router, tag, sizeof(tag));
		if (strcmp(tag, WIRE_INGEST_REPORT) != 0) {
			skip_rest(f->router);
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

static void b64(const char *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)n);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_sent_with_envelope_and_login(void **state)
{
	struct fx f = {0};
	struct report r;
	char want[128];

	(void)state;
	fx_init(&f, 60);
	submit(&f, 3);
	assert_int_equal(next_report(&f, &r, 10000), 1);
	assert_int_equal(r.id, 3);
	assert_string_equal(r.status, "sent");
	assert_string_equal(r.ref_account, "");
	assert_string_equal(r.ref_id, MSGID);
	assert_string_equal(f.d.mail, "MAIL FROM:<support@acme.test>");
	assert_string_equal(f.d.rcpt, "RCPT TO:<jose@example.com>");
	snprintf(want, sizeof(want), "AUTH PLAIN ");
	b64("\0support\0s3cret", 15, want + strlen(want));
	assert_string_equal(f.d.auth, want);
	assert_int_equal(f.d.datas, 1);
	assert_string_equal(f.d.last_msgid, MSGID);
	fx_done(&f);
}

static void test_xoauth2(void **state)
{
	static const char sasl[] = "user=support\x01" "auth=Bearer ya29.token\x01\x01";
	struct fx f = {0};
	struct report r;
	char want[256];

	(void)state;
	fx_init(&f, 60);
	f.c.password = NULL;
	f.c.bearer = "ya29.token";
	submit(&f, 4);
	assert_int_equal(next_report(&f, &r, 10000), 1);
	assert_string_equal(r.status, "sent");
	snprintf(want, sizeof(want), "AUTH XOAUTH2 ");
	b64(sasl, sizeof(sasl) - 1, want + strlen(want));
	assert_string_equal(f.d.auth, want);
	fx_done(&f);
}

/* 451 at the end of DATA: again later, the same message; then sent. */
static void test_4xx_retried(void **state)
{
	struct fx f = {0};
	struct report r;
	struct sender_stats st;

	(void)state;
	fx_init(&f, 60);
	f.d.data_fails = 1;
	submit(&f, 5);
	assert_int_equal(next_report(&f, &r, 15000), 1);
	assert_string_equal(r.status, "sent");
	assert_string_equal(r.ref_id, MSGID);
	sender_stats(f.s, &st);
	assert_int_equal(st.retried, 1);
	assert_int_equal(st.sent, 1);
	assert_int_equal(f.d.datas, 1);
	fx_done(&f);
}

static void test_5xx_failed_with_words(void **state)
{
	struct fx f = {0};
	struct report r;
	struct sender_stats st;

	(void)state;
	fx_init(&f, 60);
	f.d.rcpt_answer = "550 5.1.1 <jose@example.com>: Recipient address rejected: "
			  "User unknown\r\n";
	submit(&f, 6);
	assert_int_equal(next_report(&f, &r, 10000), 1);
	assert_string_equal(r.status, "failed");
	assert_string_equal(r.reason, "the SMTP server refused the reply: 550 5.1.1 "
			    "<jose@example.com>: Recipient address rejected: User unknown");
	sender_stats(f.s, &st);
	assert_int_equal(st.retried, 0);
	assert_string_equal(st.auth_error, "");
	assert_int_equal(f.d.datas, 0);
	fx_done(&f);
}

static void test_535_refused_login(void **state)
{
	struct fx f = {0};
	struct report r;
	struct sender_stats st;

	(void)state;
	fx_init(&f, 60);
	f.d.auth_answer = "535 5.7.8 Error: authentication failed\r\n";
	submit(&f, 7);
	assert_int_equal(next_report(&f, &r, 10000), 1);
	assert_string_equal(r.status, "failed");
	assert_string_equal(r.reason, "the SMTP server refused the login: 535 5.7.8 Error: "
			    "authentication failed");
	assert_null(strstr(r.reason, "s3cret"));
	sender_stats(f.s, &st);
	assert_string_equal(st.auth_error, r.reason);
	fx_done(&f);
}

/* No server: transient, retried until send_retry_for_s (0 here) is over. */
static void test_no_server_retried_then_failed(void **state)
{
	struct fx f = {0};
	struct report r;

	(void)state;
	fx_init(&f, 0);
	snprintf(f.c.url, sizeof(f.c.url), "smtp://127.0.0.1:1");
	submit(&f, 8);
	assert_int_equal(next_report(&f, &r, 10000), 1);
	assert_string_equal(r.status, "failed");
	assert_non_null(strstr(r.reason, "gave up after 1 attempts"));
	assert_non_null(strstr(r.reason, "SMTP: "));
	fx_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sent_with_envelope_and_login),
		cmocka_unit_test(test_xoauth2),
		cmocka_unit_test(test_4xx_retried),
		cmocka_unit_test(test_5xx_failed_with_words),
		cmocka_unit_test(test_535_refused_login),
		cmocka_unit_test(test_no_server_retried_then_failed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

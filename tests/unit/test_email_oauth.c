/*
 * test_email_oauth.c - the pure half of the email connector's OAuth 2.0
 * client (connectors/email/oauth_token.c): the token endpoint's answers
 * (a token, the RFC 6749 errors, what is refused and why), the refresh
 * timing and the backoff; and the `oauth` block's token endpoint presets
 * (email_config.c) and its check through the config loader; the token
 * cache (oauth.c) against a token endpoint played by the test: the form it
 * posts, a refresh after a refusal (once per token), a refused refresh
 * token that is not asked again at once, a rotated refresh token kept for
 * the next start (store/oauth_state.c). The exchange
 * with a real endpoint, Dovecot and Postfix:
 * tests/integration/test_email_oauth.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "connectors/email/email_config.h"
#include "connectors/email/oauth.h"
#include "connectors/email/oauth_token.h"
#include "core/config.h"
#include "core/err.h"
#include "core/util.h"
#include "store/oauth_state.h"
#include "testutil.h"

static int parse(long status, const char *body, struct oauth_answer *a)
{
	return oauth_parse_answer(status, body, strlen(body), a);
}

static void test_token_answer(void **state)
{
	struct oauth_answer *a = malloc(sizeof(*a));

	(void)state;
	assert_int_equal(parse(200, "{\"access_token\":\"ya29.a0Af-_x~+/=\",\"expires_in\":3599,"
			       "\"scope\":\"https://mail.google.com/\",\"token_type\":\"Bearer\"}",
			       a), GW_OK);
	assert_true(a->ok);
	assert_string_equal(a->access_token, "ya29.a0Af-_x~+/=");
	assert_int_equal(a->expires_in_s, 3599);
	assert_string_equal(a->refresh_token, "");
	/* Microsoft: a rotated refresh token; "bearer" in any case. */
	assert_int_equal(parse(200, "{\"token_type\":\"bearer\",\"expires_in\":4771,"
			       "\"access_token\":\"eyJ0.eyJ1.c2ln\",\"refresh_token\":\"0.AAA\"}",
			       a), GW_OK);
	assert_string_equal(a->refresh_token, "0.AAA");
	/* expires_in as a string (older endpoints), absent: the default. */
	assert_int_equal(parse(200, "{\"access_token\":\"t\",\"token_type\":\"Bearer\","
			       "\"expires_in\":\"3600\"}", a), GW_OK);
	assert_int_equal(a->expires_in_s, 3600);
	assert_int_equal(parse(200, "{\"access_token\":\"t\",\"token_type\":\"Bearer\"}", a),
			 GW_OK);
	assert_int_equal(a->expires_in_s, OAUTH_DEFAULT_EXPIRES_S);
	oauth_answer_clear(a);
	assert_string_equal(a->access_token, "");
	free(a);
}

static void test_error_answer(void **state)
{
	struct oauth_answer *a = malloc(sizeof(*a));

	(void)state;
	assert_int_equal(parse(400, "{\"error\":\"invalid_grant\",\"error_description\":"
			       "\"Token has been expired or revoked.\"}", a), GW_OK);
	assert_false(a->ok);
	assert_string_equal(a->error, "invalid_grant");
	assert_string_equal(a->description, "Token has been expired or revoked.");
	assert_true(oauth_refused_error(a->error));
	/* Control characters of a description never reach a log line. */
	assert_int_equal(parse(401, "{\"error\":\"invalid_client\",\"error_description\":"
			       "\"bad\\nclient\\u00e9\"}", a), GW_OK);
	assert_string_equal(a->description, "bad?client??");
	assert_true(oauth_refused_error("invalid_client"));
	assert_false(oauth_refused_error("temporarily_unavailable"));
	assert_false(oauth_refused_error("server_error"));
	free(a);
}

static void test_refused_answers(void **state)
{
	static const char *const bad[] = {
		"", "not json", "[1]", "{}",
		"{\"access_token\":\"\",\"token_type\":\"Bearer\"}",
		"{\"access_token\":\"a b\",\"token_type\":\"Bearer\"}",
		"{\"access_token\":\"t\\r\\nx\",\"token_type\":\"Bearer\"}",
		"{\"access_token\":\"t\",\"token_type\":\"mac\"}",
		"{\"access_token\":\"t\"}",
		"{\"access_token\":\"t\",\"token_type\":\"Bearer\",\"expires_in\":0}",
		"{\"access_token\":\"t\",\"token_type\":\"Bearer\",\"expires_in\":-5}",
		"{\"access_token\":\"t\",\"token_type\":\"Bearer\",\"expires_in\":\"12x\"}",
		"{\"access_token\":7,\"token_type\":\"Bearer\"}",
		"{\"access_token\":\"t\",\"access_token\":\"u\",\"token_type\":\"Bearer\"}",
		NULL};
	struct oauth_answer *a = malloc(sizeof(*a));

	(void)state;
	for (size_t i = 0; bad[i]; i++) {
		assert_int_equal(parse(200, bad[i], a), GW_EPROTO);
		assert_false(a->ok);
		assert_string_equal(a->access_token, "");
		assert_true(a->description[0]);
	}
	/* A 5xx page that is not JSON; an HTTP error without an error code. */
	assert_int_equal(parse(503, "<html>down</html>", a), GW_EPROTO);
	assert_string_equal(a->description, "HTTP 503, not a JSON object");
	assert_int_equal(parse(500, "{\"message\":\"boom\"}", a), GW_EPROTO);
	assert_string_equal(a->description, "HTTP 500 without an OAuth error code");
	/* A token longer than OAUTH_TOKEN_MAX. */
	{
		size_t n = OAUTH_TOKEN_MAX + 1;
		char *body = malloc(n + 64), *p = body;

		p += snprintf(p, 64, "{\"token_type\":\"Bearer\",\"access_token\":\"");
		memset(p, 'x', n);
		memcpy(p + n, "\"}", 3);
		assert_int_equal(oauth_parse_answer(200, body, strlen(body), a), GW_EPROTO);
		free(body);
	}
	free(a);
}

static void test_refresh_timing(void **state)
{
	(void)state;
	/* An hour-long token, 300 s margin: refreshed 55 minutes in. */
	assert_int_equal(oauth_refresh_at(1000, 3600, 300), 1000 + 3300 * 1000);
	/* A short one: no earlier than three quarters of its life. */
	assert_int_equal(oauth_refresh_at(0, 8, 300), 6000);
	assert_int_equal(oauth_refresh_at(0, 60, 0), 60000);
	/* Usable until 5 s before expiry, or a tenth of a short life. */
	assert_int_equal(oauth_usable_until(0, 3600), 3595000);
	assert_int_equal(oauth_usable_until(0, 8), 7200);
	assert_true(oauth_refresh_at(0, 8, 300) < oauth_usable_until(0, 8));
	assert_true(oauth_refresh_at(0, 3600, 300) < oauth_usable_until(0, 3600));
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(oauth_backoff_ms(1, 0), 1000);
	assert_int_equal(oauth_backoff_ms(2, 0), 2000);
	assert_int_equal(oauth_backoff_ms(10, 0), 300000);
	assert_int_equal(oauth_backoff_ms(1000, 0), 300000);
	assert_int_equal(oauth_backoff_ms(1, 1), 30000);
	assert_int_equal(oauth_backoff_ms(2, 1), 60000);
	assert_int_equal(oauth_backoff_ms(100, 1), 900000);
}

static void test_token_url_presets(void **state)
{
	struct email_oauth_settings o;
	char url[EMAIL_OAUTH_URL_MAX];

	(void)state;
	memset(&o, 0, sizeof(o));
	o.token_url = "google";
	o.tenant = "common";
	assert_int_equal(email_oauth_url(&o, url, sizeof(url)), GW_OK);
	assert_string_equal(url, "https://oauth2.googleapis.com/token");
	assert_null(email_oauth_scope(&o));
	o.token_url = "microsoft";
	assert_int_equal(email_oauth_url(&o, url, sizeof(url)), GW_OK);
	assert_string_equal(url, "https://login.microsoftonline.com/common/oauth2/v2.0/token");
	assert_non_null(strstr(email_oauth_scope(&o), "IMAP.AccessAsUser.All"));
	o.tenant = "contoso.onmicrosoft.com";
	assert_int_equal(email_oauth_url(&o, url, sizeof(url)), GW_OK);
	assert_string_equal(url, "https://login.microsoftonline.com/contoso.onmicrosoft.com/"
			    "oauth2/v2.0/token");
	o.tenant = "../evil";
	assert_int_equal(email_oauth_url(&o, url, sizeof(url)), GW_ECONFIG);
	o.token_url = "https://idp.example.com/oauth2/token";
	assert_int_equal(email_oauth_url(&o, url, sizeof(url)), GW_OK);
	o.token_url = "http://127.0.0.1:8080/token";
	assert_int_equal(email_oauth_url(&o, url, sizeof(url)), GW_OK);
	o.token_url = "http://idp.example.com/token"; /* plain HTTP off loopback */
	assert_int_equal(email_oauth_url(&o, url, sizeof(url)), GW_ECONFIG);
	o.token_url = "https://user:pw@idp.example.com/token";
	assert_int_equal(email_oauth_url(&o, url, sizeof(url)), GW_ECONFIG);
	o.token_url = "ftp://idp.example.com/token";
	assert_int_equal(email_oauth_url(&o, url, sizeof(url)), GW_ECONFIG);
	o.mechanism = EMAIL_OAUTH_AUTO;
	assert_string_equal(email_oauth_login_options(&o), "AUTH=OAUTHBEARER;AUTH=XOAUTH2");
	o.mechanism = EMAIL_OAUTH_XOAUTH2;
	assert_string_equal(email_oauth_login_options(&o), "AUTH=XOAUTH2");
}

#define MAILBOX "connectors:\n  - name: mail\n    type: email\n" \
		"    url: imaps://imap.gmail.com/INBOX\n    username: support@example.com\n"
#define OAUTH "      client_id: cid\n" \
		"      client_secret: ${GW_TEST_OAUTH_SECRET}\n" \
		"      refresh_token: ${GW_TEST_OAUTH_RT}\n" \
		"    smtp:\n      url: smtp://smtp.gmail.com\n"

/* load_mailbox - loads MAILBOX + an oauth block with token_url `url` (NULL:
 * no block); the connector's disabled reason ("" when on) into why. */
static int load_mailbox(const char *url, char *why, size_t whylen, struct gw_config **cfg)
{
	char dir[256], path[300], yaml[2048], err[1024];
	FILE *f;
	int rc;

	test_tmpdir(dir, sizeof(dir), "email_oauth");
	snprintf(path, sizeof(path), "%s/gateway.yaml", dir);
	snprintf(yaml, sizeof(yaml), MAILBOX "%s%s%s%s", url ? "    oauth:\n      token_url: " : "",
		 url ? url : "", url ? "\n" : "", url ? OAUTH : "");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(yaml, f);
	assert_int_equal(fclose(f), 0);
	rc = gw_config_load(path, NULL, cfg, err, sizeof(err));
	unlink(path);
	rmdir(dir);
	if (rc == GW_OK)
		snprintf(why, whylen, "%s", (*cfg)->connectors[0].disabled_reason
			 ? (*cfg)->connectors[0].disabled_reason : "");
	return rc;
}

static void test_oauth_block(void **state)
{
	struct gw_config *cfg = NULL;
	const struct email_settings *s;
	char why[512];

	(void)state;
	setenv("GW_TEST_OAUTH_SECRET", "client-secret", 1);
	setenv("GW_TEST_OAUTH_RT", "1//refresh", 1);
	/* No password anywhere: the block logs in to IMAP and SMTP. */
	assert_int_equal(load_mailbox("google", why, sizeof(why), &cfg), GW_OK);
	assert_string_equal(why, "");
	s = cfg->connectors[0].settings;
	assert_string_equal(s->oauth.refresh_token, "1//refresh");
	assert_string_equal(s->oauth.tenant, "common");
	assert_int_equal(s->oauth.mechanism, EMAIL_OAUTH_AUTO);
	assert_int_equal(s->oauth.refresh_margin_s, 300);
	assert_null(s->password);
	gw_config_free(cfg);
	/* Plain HTTP off loopback: the connector stays off, saying why. */
	assert_int_equal(load_mailbox("http://idp.example.com/token", why, sizeof(why), &cfg), GW_OK);
	assert_non_null(strstr(why, "oauth.token_url"));
	gw_config_free(cfg);
	/* The refresh token's variable unset: off, naming the key. */
	unsetenv("GW_TEST_OAUTH_RT");
	assert_int_equal(load_mailbox("microsoft", why, sizeof(why), &cfg), GW_OK);
	assert_non_null(strstr(why, "refresh_token"));
	assert_null(strstr(why, "client-secret"));
	gw_config_free(cfg);
	/* Neither a password nor the block. */
	assert_int_equal(load_mailbox(NULL, why, sizeof(why), &cfg), GW_OK);
	assert_non_null(strstr(why, "password"));
	gw_config_free(cfg);
	unsetenv("GW_TEST_OAUTH_SECRET");
}

/* ---- a token endpoint ------------------------------------------------------- */

struct endpoint {
	int lfd, port, requests;
	pthread_t th;
	pthread_mutex_t mu;
	const char *answer; /* the whole HTTP answer; NULL: a token "tok-<n>" for request n */
	char last_body[1024];
};

/* serve_one - reads one request (headers, then Content-Length bytes) and
 * answers it. */
static void serve_one(struct endpoint *ep, int fd)
{
	char buf[4096], out[1024];
	size_t len = 0;
	const char *hdr_end = NULL, *cl;
	ssize_t n;
	int want = -1, num;

	while (len + 1 < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		hdr_end = strstr(buf, "\r\n\r\n");
		cl = strstr(buf, "Content-Length: ");
		if (hdr_end && cl)
			want = (int)(hdr_end + 4 - buf) + (int)strtol(cl + 16, NULL, 10);
		if (want >= 0 && (int)len >= want)
			break;
	}
	pthread_mutex_lock(&ep->mu);
	num = ++ep->requests;
	snprintf(ep->last_body, sizeof(ep->last_body), "%s", hdr_end ? hdr_end + 4 : "");
	pthread_mutex_unlock(&ep->mu);
	if (ep->answer)
		n = snprintf(out, sizeof(out), "%s", ep->answer);
	else
		n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			     "Connection: close\r\n\r\n{\"access_token\":\"tok-%d\","
			     "\"token_type\":\"Bearer\",\"expires_in\":3600}", num);
	if (write(fd, out, (size_t)n) < 0)
		return;
}

static void *serve(void *arg)
{
	struct endpoint *ep = arg;
	int fd;

	while ((fd = accept(ep->lfd, NULL, NULL)) >= 0) {
		serve_one(ep, fd);
		close(fd);
	}
	return NULL;
}

static void endpoint_start(struct endpoint *ep, const char *answer)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);

	memset(ep, 0, sizeof(*ep));
	ep->answer = answer;
	pthread_mutex_init(&ep->mu, NULL);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ep->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(ep->lfd >= 0);
	assert_int_equal(bind(ep->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(ep->lfd, 8), 0);
	assert_int_equal(getsockname(ep->lfd, (struct sockaddr *)&a, &alen), 0);
	ep->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&ep->th, NULL, serve, ep), 0);
}

static void endpoint_stop(struct endpoint *ep)
{
	shutdown(ep->lfd, SHUT_RDWR);
	close(ep->lfd);
	pthread_join(ep->th, NULL);
	pthread_mutex_destroy(&ep->mu);
}

static int requests(struct endpoint *ep)
{
	int n;

	pthread_mutex_lock(&ep->mu);
	n = ep->requests;
	pthread_mutex_unlock(&ep->mu);
	return n;
}

/* poll_until_done - oauth_poll until a refresh ended (5 s at most). */
static void poll_until_done(struct oauth *o)
{
	struct timespec ts = {0, 5000000L};

	for (int i = 0; i < 1000; i++) {
		if (oauth_poll(o))
			return;
		nanosleep(&ts, NULL);
	}
	fail_msg("no refresh ended within 5 s");
}

/* cache_kept - a cache of `url` whose configured refresh token is `rt`,
 * keeping a rotated one in `path` (NULL: in memory only). */
static struct oauth *cache_kept(const char *url, const char *rt, const char *path)
{
	struct oauth_options opt = {
		.token_url = url, .client_id = "cid", .client_secret = "sec",
		.refresh_token = rt, .margin_s = 300, .timeout_ms = 5000,
		.log_module = "test", .state_path = path,
	};
	struct oauth *o = NULL;

	assert_int_equal(oauth_create(&opt, &o), GW_OK);
	return o;
}

/* cache_at - a cache whose token endpoint is `url`. */
static struct oauth *cache_at(const char *url)
{
	return cache_kept(url, "rt/1", NULL);
}

static struct oauth *cache_for(struct endpoint *ep)
{
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/token", ep->port);
	return cache_at(url);
}

/* refresh_with - one refresh of a new cache (configured token `rt`); the
 * endpoint must have been asked with `sent`, percent-encoded. */
static void refresh_with(struct endpoint *ep, const char *rt, const char *path,
			 const char *sent)
{
	char url[64], want[64];
	struct oauth *o;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/token", ep->port);
	snprintf(want, sizeof(want), "&refresh_token=%s&", sent);
	o = cache_kept(url, rt, path);
	poll_until_done(o);
	if (!strstr(ep->last_body, want))
		fail_msg("asked with %s, not %s", ep->last_body, want);
	oauth_destroy(o);
}

/* failures - the refreshes that failed so far. */
static uint64_t failures(struct oauth *o)
{
	uint64_t ok, failed;

	oauth_counts(o, &ok, &failed);
	assert_int_equal(ok, 0);
	return failed;
}

static void test_cache_refresh(void **state)
{
	struct endpoint ep;
	struct oauth *o;
	char tok[64], why[256];
	uint64_t gen = 0;

	(void)state;
	endpoint_start(&ep, NULL);
	o = cache_for(&ep);
	assert_int_equal(oauth_get(o, OAUTH_USABLE, tok, sizeof(tok), &gen), GW_EAGAIN);
	poll_until_done(o);
	assert_int_equal(oauth_get(o, OAUTH_USABLE, tok, sizeof(tok), &gen), GW_OK);
	assert_string_equal(tok, "tok-1");
	assert_int_equal(gen, 1);
	assert_string_equal(ep.last_body, "grant_type=refresh_token&refresh_token=rt%2F1"
			    "&client_id=cid&client_secret=sec");
	assert_int_equal(oauth_problem(o, why, sizeof(why), NULL), 0);
	/* Not due for an hour: nothing asked. */
	assert_int_equal(oauth_poll(o), 0);
	assert_int_equal(requests(&ep), 1);
	/* A server refused it: refreshed at once; an old refusal changes nothing. */
	oauth_refused(o, 1);
	assert_int_equal(oauth_get(o, OAUTH_USABLE, NULL, 0, NULL), GW_EAGAIN);
	assert_int_equal(oauth_get(o, OAUTH_LAST, tok, sizeof(tok), &gen), GW_OK);
	poll_until_done(o);
	assert_int_equal(oauth_get(o, OAUTH_USABLE, tok, sizeof(tok), &gen), GW_OK);
	assert_string_equal(tok, "tok-2");
	assert_int_equal(gen, 2);
	oauth_refused(o, 1);
	assert_int_equal(oauth_poll(o), 0);
	/* Refused again at once: the next forced refresh waits (no loop). */
	oauth_refused(o, 2);
	assert_int_equal(oauth_poll(o), 0);
	assert_int_equal(requests(&ep), 2);
	assert_int_equal(oauth_get(o, OAUTH_LAST, tok, 3, &gen), GW_ETOOBIG);
	oauth_destroy(o);
	endpoint_stop(&ep);
}

static void test_cache_refused(void **state)
{
	struct endpoint ep;
	struct oauth *o;
	char why[256];
	uint64_t ok, failed;
	int refused = 0;

	(void)state;
	endpoint_start(&ep, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
		       "Connection: close\r\n\r\n{\"error\":\"invalid_grant\",\"error_description\""
		       ":\"Token has been expired or revoked.\"}");
	o = cache_for(&ep);
	poll_until_done(o);
	assert_int_equal(oauth_get(o, OAUTH_USABLE, NULL, 0, NULL), GW_EAUTH);
	assert_int_equal(oauth_get(o, OAUTH_LAST, NULL, 0, NULL), GW_EAUTH);
	assert_int_equal(oauth_problem(o, why, sizeof(why), &refused), 1);
	assert_true(refused);
	assert_string_equal(why, "the refresh token was refused: consent again (invalid_grant: "
			    "Token has been expired or revoked.)");
	oauth_counts(o, &ok, &failed);
	assert_int_equal(ok, 0);
	assert_int_equal(failed, 1);
	/* The next try waits 30 s. */
	for (int i = 0; i < 20; i++)
		assert_int_equal(oauth_poll(o), 0);
	assert_int_equal(requests(&ep), 1);
	oauth_destroy(o);
	endpoint_stop(&ep);
}

/* A port bound but not listening: the connection is refused, a network
 * failure (GW_EIO): the next try comes a second later. */
static void test_cache_unreachable(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	char url[64], why[512];
	int fd = socket(AF_INET, SOCK_STREAM, 0), refused = 1;
	struct oauth *o;

	(void)state;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/token", ntohs(a.sin_port));
	o = cache_at(url);
	poll_until_done(o);
	assert_int_equal(oauth_problem(o, why, sizeof(why), &refused), 1);
	assert_false(refused);
	assert_non_null(strstr(why, "the token endpoint cannot be reached: "));
	assert_non_null(strstr(why, "(input/output error)"));
	assert_int_equal(oauth_get(o, OAUTH_USABLE, NULL, 0, NULL), GW_EIO);
	poll_until_done(o);
	assert_int_equal(failures(o), 2);
	oauth_destroy(o);
	close(fd);
}

/* A URL libcurl refuses (gw_curl_err: GW_EINVAL) is a setting to fix: it
 * says which, and the next try waits as long as after a refusal (30 s). */
static void test_cache_unusable_url(void **state)
{
	struct timespec ts = {0, 10000000L};
	struct oauth *o = cache_at("ftp://127.0.0.1:9/token");
	char why[512];
	int refused = 1;

	(void)state;
	poll_until_done(o);
	assert_int_equal(oauth_problem(o, why, sizeof(why), &refused), 1);
	assert_false(refused);
	assert_true(strncmp(why, "the token URL cannot be used (", 30) == 0);
	assert_non_null(strstr(why, "): check oauth.token_url"));
	assert_int_equal(oauth_get(o, OAUTH_USABLE, NULL, 0, NULL), GW_EIO);
	for (int i = 0; i < 150; i++) {
		assert_int_equal(oauth_poll(o), 0);
		nanosleep(&ts, NULL);
	}
	assert_int_equal(failures(o), 1);
	oauth_destroy(o);
}

/* A refresh token the endpoint rotates is kept (0600, without the
 * configured one) and used after a restart; when the config names another
 * token (consent given again), that one; an unreadable file is logged and
 * the configured token used. */
static void test_cache_rotated_token_kept(void **state)
{
	struct endpoint ep;
	char dir[64], path[128], *text = NULL, *kept = NULL, why[256];
	size_t len = 0;
	struct stat st;

	(void)state;
	endpoint_start(&ep, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		       "Connection: close\r\n\r\n{\"access_token\":\"tok\",\"token_type\":"
		       "\"Bearer\",\"expires_in\":3600,\"refresh_token\":\"rt/2\"}");
	test_tmpdir(dir, sizeof(dir), "oauth-state");
	snprintf(path, sizeof(path), "%s/mail.oauth", dir);
	refresh_with(&ep, "rt/1", path, "rt%2F1");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(gw_read_file(path, 65536, &text, &len), GW_OK);
	assert_non_null(strstr(text, "\"refresh_token\":\"rt/2\""));
	assert_null(strstr(text, "rt/1"));
	free(text);
	/* Restarted with the same config: the rotated token. */
	refresh_with(&ep, "rt/1", path, "rt%2F2");
	assert_int_equal(oauth_state_load(path, "rt/1", &kept, why, sizeof(why)), GW_OK);
	assert_string_equal(kept, "rt/2");
	free(kept);
	/* Consent given again: the config's new token; the file is not its. */
	assert_int_equal(oauth_state_load(path, "rt/9", &kept, why, sizeof(why)), GW_OK);
	assert_null(kept);
	refresh_with(&ep, "rt/9", path, "rt%2F9");
	/* Unreadable: the configured token (the file is rewritten after). */
	assert_int_equal(gw_write_file_durable(path, "{\"version\":1,", 12), GW_OK);
	assert_int_equal(oauth_state_load(path, "rt/9", &kept, why, sizeof(why)), GW_EPROTO);
	refresh_with(&ep, "rt/9", path, "rt%2F9");
	refresh_with(&ep, "rt/9", path, "rt%2F2");
	assert_int_equal(oauth_state_save(path, "rt/9", ""), GW_EINVAL);
	assert_int_equal(requests(&ep), 5);
	endpoint_stop(&ep);
	test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_answer),
		cmocka_unit_test(test_error_answer),
		cmocka_unit_test(test_refused_answers),
		cmocka_unit_test(test_refresh_timing),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_token_url_presets),
		cmocka_unit_test(test_oauth_block),
		cmocka_unit_test(test_cache_refresh),
		cmocka_unit_test(test_cache_refused),
		cmocka_unit_test(test_cache_unreachable),
		cmocka_unit_test(test_cache_unusable_url),
		cmocka_unit_test(test_cache_rotated_token_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

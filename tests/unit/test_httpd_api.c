/*
 * test_httpd_api.c - the API channel in-process: the real HTTP server
 * (connectors/httpd.c) and the api connector type on a reserved loopback
 * port, its outbox on an ipc:// sink this test reads in place of the
 * router (connector_fixture.h), driven byte for byte over raw sockets:
 * bodies into events, the deferred 202 once the group commit made them
 * durable, every refusal (401, 400, 404, 405, 411, 413, 415) with nothing
 * spooled, a chunked body, keep-alive, concurrent clients. No gatewayd, no router.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/err.h"
#include "proto/proto.h"
#include "tests/unit/connector_fixture.h"

#define TOKEN "test-token-0123456789abcdef"
#define MAX_BODY 4096
#define WAIT_MS 10000

static struct cfx fx;

static int group_setup(void **state)
{
	static const char *const lines[] = {
		"token: ${GATEWAY_API_TOKEN}",
		"max_body_bytes: 4096",
		NULL,
	};

	(void)state;
	setenv("GATEWAY_API_TOKEN", TOKEN, 1);
	cfx_start(&fx, "api", "api", lines);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	cfx_stop(&fx);
	return 0;
}

/* post - a POST of `body` to `path` on fd; `extra` header lines ("" none). */
static void post(int fd, const char *path, const char *auth, const char *ctype,
		 const char *body, const char *extra)
{
	char req[MAX_BODY * 2];

	snprintf(req, sizeof(req),
		 "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s%s%s%sContent-Length: %zu\r\n"
		 "%s\r\n%s",
		 path, auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "",
		 ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
		 strlen(body), extra, body);
	cfx_send(fd, req, -1);
}

static void post_message(int fd, const char *id, const char *text)
{
	char body[512];

	snprintf(body, sizeof(body),
		 "{\"id\":\"%s\",\"from\":{\"id\":\"+15550001111\",\"name\":\"Ana\"},"
		 "\"subject\":\"Order 1234\",\"text\":\"%s\"}", id, text);
	post(fd, "/v1/messages", "Bearer " TOKEN, "application/json", body, "");
}

/* expect - the response's status and JSON member `key` (NULL: not read). */
static void expect(int fd, int status, const char *key, const char *value)
{
	struct cfx_resp r;
	json_t *doc;

	cfx_read(fd, &r);
	if (r.status != status)
		fail_msg("HTTP %d, want %d: %s", r.status, status, r.body);
	if (!key)
		return;
	doc = json_loads(r.body, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, key)), value);
	json_decref(doc);
}

/* next_message - the next event handed to the router: message.received `id`. */
static void next_message(const char *id, const char *text)
{
	struct proto_event ev;

	if (!cfx_next(&fx, WAIT_MS, &ev))
		fail_msg("message %s never reached the router's socket", id);
	assert_int_equal(ev.type, PROTO_T_MESSAGE_RECEIVED);
	assert_string_equal(ev.u.message.external_id, id);
	assert_string_equal(ev.u.message.channel, "api");
	assert_string_equal(ev.u.message.account, "api");
	assert_string_equal(ev.u.message.from.address, "+15550001111");
	assert_string_equal(ev.u.message.from.name, "Ana");
	assert_string_equal(ev.u.message.subject, "Order 1234");
	assert_string_equal(ev.u.message.text, text);
	proto_event_clear(&ev);
}

/* nothing_spooled - no event reaches the router's socket meanwhile. */
static void nothing_spooled(void)
{
	struct proto_event ev;

	if (cfx_next(&fx, 300, &ev)) {
		fail_msg("a refused request was spooled: %s", proto_type_name(ev.type));
		proto_event_clear(&ev);
	}
}

static void test_message_accepted_once_durable(void **state)
{
	struct cfx_resp r;
	char ct[64];
	int fd = cfx_connect(&fx);

	(void)state;
	post_message(fd, "m-1", "Where is my order?");
	cfx_read(fd, &r);
	assert_int_equal(r.status, 202);
	assert_string_equal(r.body, "{\"status\":\"accepted\",\"id\":\"m-1\"}");
	assert_non_null(cfx_header(&r, "content-type", ct, sizeof(ct)));
	assert_string_equal(ct, "application/json");
	/* The outbox hands the router only what the commit made durable. */
	next_message("m-1", "Where is my order?");
	close(fd);
}

static void test_status_report(void **state)
{
	struct proto_event ev;
	int fd = cfx_connect(&fx);

	(void)state;
	post(fd, "/v1/messages/reply-7-abc/status", "Bearer " TOKEN, "application/json",
	     "{\"status\":\"delivered\",\"at\":1700000005000}", "");
	expect(fd, 202, "id", "reply-7-abc");
	assert_true(cfx_next(&fx, WAIT_MS, &ev));
	assert_int_equal(ev.type, PROTO_T_MESSAGE_STATUS);
	assert_string_equal(ev.u.status.external_id, "reply-7-abc");
	assert_string_equal(ev.u.status.status, "delivered");
	assert_int_equal(ev.u.status.status_at, 1700000005000LL);
	proto_event_clear(&ev);
	close(fd);
}

/* Refusals answered on a connection that stays usable: the body, when sent,
 * is read and dropped. */
static void test_refusals_keep_the_connection(void **state)
{
	struct cfx_resp r;
	char h[64];
	int fd = cfx_connect(&fx);

	(void)state;
	post(fd, "/v1/messages", NULL, "application/json", "{}", "");
	cfx_read(fd, &r);
	assert_int_equal(r.status, 401);
	assert_non_null(cfx_header(&r, "www-authenticate", h, sizeof(h)));
	assert_string_equal(h, "Bearer");
	post(fd, "/v1/messages", "Bearer wrong-token-0123456789abcd", "application/json", "{}", "");
	expect(fd, 401, "error", "unauthorized");
	post(fd, "/v1/messages", "Bearer " TOKEN, "text/plain", "{}", "");
	expect(fd, 415, "error", "unsupported_media_type");
	post(fd, "/v1/messages", "Bearer " TOKEN, "application/json", "{\"id\":", "");
	expect(fd, 400, "error", "invalid_json");
	post(fd, "/v1/messages", "Bearer " TOKEN, "application/json", "{\"id\":\"x\",\"text\":\"t\"}",
	     "");
	expect(fd, 400, "message", "from: required");
	post(fd, "/v1/messages", "Bearer " TOKEN, "application/json", "", "");
	expect(fd, 400, "message", "body: required");
	cfx_send(fd, "GET /v1/messages HTTP/1.1\r\nHost: x\r\n\r\n", -1);
	cfx_read(fd, &r);
	assert_int_equal(r.status, 405);
	assert_non_null(cfx_header(&r, "allow", h, sizeof(h)));
	assert_string_equal(h, "POST");
	cfx_send(fd, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", -1);
	cfx_read(fd, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(cfx_header(&r, "allow", h, sizeof(h)), "GET");
	cfx_send(fd, "GET /v2/elsewhere HTTP/1.1\r\nHost: x\r\n\r\n", -1);
	expect(fd, 404, "error", "not_found");
	cfx_send(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", -1);
	expect(fd, 200, "status", "ok");
	nothing_spooled();
	/* Still the same connection: a good message goes through. */
	post_message(fd, "m-after-refusals", "fine");
	expect(fd, 202, "id", "m-after-refusals");
	next_message("m-after-refusals", "fine");
	close(fd);
}

/* The framing refusals: answered at once, body unread, connection closed. */
static void framing_refused(const char *head, int status, const char *code)
{
	int fd = cfx_connect(&fx);

	cfx_send(fd, head, -1);
	expect(fd, status, "error", code);
	assert_true(cfx_closed(fd, WAIT_MS));
	close(fd);
}

static void test_framing_refusals_close(void **state)
{
	(void)state;
	framing_refused("POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
			"\r\nContent-Type: application/json\r\nContent-Length: 4097\r\n\r\n",
			413, "too_large");
	framing_refused("POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
			"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
			"zz\r\n{}\r\n0\r\n\r\n", 400, "invalid_request");
	framing_refused("POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
			"\r\nContent-Type: application/json\r\nContent-Length: ten\r\n\r\n",
			400, "invalid_request");
	/* Both headers: two parsers could disagree on where the body ends. */
	framing_refused("POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
			"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
			"Content-Length: 2\r\n\r\n{}", 400, "invalid_request");
	framing_refused("POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
			"\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n",
			501, "not_implemented");
	nothing_spooled();
}

/* A chunked body is read within max_body_bytes like any other; the
 * connection closes after its answer. */
static void test_chunked_body(void **state)
{
	static const char body[] =
		"{\"id\":\"chunked-1\",\"from\":{\"id\":\"+15550001111\",\"name\":\"Ana\"},"
		"\"subject\":\"Order 1234\",\"text\":\"in pieces\"}";
	char head[512];
	int fd = cfx_connect(&fx);
	size_t half = (sizeof(body) - 1) / 2;

	(void)state;
	snprintf(head, sizeof(head),
		 "POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
		 "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
		 "%zx;ext=1\r\n", half);
	cfx_send(fd, head, -1);
	cfx_send(fd, body, (long)half);
	snprintf(head, sizeof(head), "\r\n%zx\r\n", sizeof(body) - 1 - half);
	cfx_send(fd, head, -1);
	cfx_send(fd, body + half, (long)(sizeof(body) - 1 - half));
	cfx_send(fd, "\r\n0\r\n\r\n", -1);
	expect(fd, 202, "id", "chunked-1");
	next_message("chunked-1", "in pieces");
	assert_true(cfx_closed(fd, WAIT_MS));
	close(fd);
}

static void test_no_length(void **state)
{
	int fd = cfx_connect(&fx);

	(void)state;
	cfx_send(fd, "POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
		     "\r\nContent-Type: application/json\r\n\r\n", -1);
	expect(fd, 411, "error", "length_required");
	nothing_spooled();
	close(fd);
}

/* One connection, many requests: each answered once durable, the
 * connection kept open. */
static void test_keep_alive(void **state)
{
	char id[32];
	int fd = cfx_connect(&fx);

	(void)state;
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "ka-%d", i);
		post_message(fd, id, "one by one");
		expect(fd, 202, "id", id);
	}
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "ka-%d", i);
		next_message(id, "one by one");
	}
	assert_false(cfx_closed(fd, 100));
	close(fd);
}

/*
 * Requests written at once on one connection (HTTP/1.1 pipelining) must be
 * answered in order. Today they are not: a second or third POST waiting in
 * the socket while the first is answered leaves httpd.c's loop spinning in
 * libwebsockets (lws_service_do_ripe_rxflow) and serving no connection at
 * all, also when the POSTs are refused 401. Skipped until httpd.c handles
 * them; GW_TEST_HTTP_PIPELINING=1 runs it (last: it wedges the instance).
 */
static void test_pipelined_requests(void **state)
{
	char id[32];
	int fd;

	(void)state;
	if (!getenv("GW_TEST_HTTP_PIPELINING"))
		skip();
	fd = cfx_connect(&fx);
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "pipe-%d", i);
		post_message(fd, id, "pipelined");
	}
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "pipe-%d", i);
		expect(fd, 202, "id", id);
	}
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "pipe-%d", i);
		next_message(id, "pipelined");
	}
	close(fd);
}

/* Requests of many connections waiting together: one group commit may take
 * them all, and each gets its own answer. */
static void test_concurrent_clients(void **state)
{
	enum { N = 8 };
	int fds[N];
	char id[32];
	int seen[N] = {0};
	struct proto_event ev;

	(void)state;
	for (int i = 0; i < N; i++) {
		fds[i] = cfx_connect(&fx);
		snprintf(id, sizeof(id), "conc-%d", i);
		post_message(fds[i], id, "together");
	}
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "conc-%d", i);
		expect(fds[i], 202, "id", id);
		close(fds[i]);
	}
	for (int i = 0; i < N; i++) {
		int k;

		assert_true(cfx_next(&fx, WAIT_MS, &ev));
		assert_int_equal(sscanf(ev.u.message.external_id, "conc-%d", &k), 1);
		assert_true(k >= 0 && k < N && !seen[k]);
		seen[k] = 1;
		proto_event_clear(&ev);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_accepted_once_durable),
		cmocka_unit_test(test_status_report),
		cmocka_unit_test(test_refusals_keep_the_connection),
		cmocka_unit_test(test_framing_refusals_close),
		cmocka_unit_test(test_chunked_body),
		cmocka_unit_test(test_no_length),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_concurrent_clients),
		cmocka_unit_test(test_pipelined_requests),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

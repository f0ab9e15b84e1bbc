/*
 * test_httpd_meta.c - Meta's webhooks in-process: the real HTTP server and
 * the meta connector type on a reserved loopback port, its outbox on an
 * ipc:// sink this test reads in place of the router
 * (connector_fixture.h): the subscription handshake, a signed webhook
 * answered 200 once its events are durable (a batch all together), and
 * the refusals (signature bad or missing, wrong path, wrong method) with
 * nothing spooled. The whole gateway's view is tests/integration/test_meta.py.
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
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/err.h"
#include "core/util.h"
#include "proto/proto.h"
#include "tests/unit/connector_fixture.h"

#define SECRET "meta-app-secret-0123456789abcdef"
#define VERIFY "verify-token-42"
#define PATH "/webhooks/meta"
#define WAIT_MS 10000

static struct cfx fx;

static int group_setup(void **state)
{
	static const char *const lines[] = {
		"path: " PATH,
		"app_secret: ${GATEWAY_META_APP_SECRET}",
		"verify_token: ${GATEWAY_META_VERIFY_TOKEN}",
		NULL,
	};

	(void)state;
	setenv("GATEWAY_META_APP_SECRET", SECRET, 1);
	setenv("GATEWAY_META_VERIFY_TOKEN", VERIFY, 1);
	cfx_start(&fx, "meta-test", "meta", lines);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	cfx_stop(&fx);
	return 0;
}

/* The X-Hub-Signature-256 value of body, as Meta computes it. */
static void sign(const char *body, char *out, size_t outlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t off;

	assert_non_null(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
			     (const unsigned char *)body, strlen(body), mac, &n));
	off = (size_t)snprintf(out, outlen, "sha256=");
	for (unsigned int i = 0; i < n && off + 2 < outlen; i++)
		off += (size_t)snprintf(out + off, outlen - off, "%02x", mac[i]);
}

/* post - `body` to `path`, with the signature header `sig` (NULL: none). */
static void post(int fd, const char *path, const char *body, const char *sig)
{
	char *req = NULL;
	size_t n = strlen(body) + 512;

	req = malloc(n);
	assert_non_null(req);
	snprintf(req, n,
		 "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
		 "%s%s%sContent-Length: %zu\r\n\r\n%s",
		 path, sig ? "X-Hub-Signature-256: " : "", sig ? sig : "", sig ? "\r\n" : "",
		 strlen(body), body);
	cfx_send(fd, req, -1);
	free(req);
}

static void expect(int fd, int status, const char *want_body)
{
	struct cfx_resp r;

	cfx_read(fd, &r);
	if (r.status != status)
		fail_msg("HTTP %d, want %d: %s", r.status, status, r.body);
	if (want_body && !strstr(r.body, want_body))
		fail_msg("body %s does not hold %s", r.body, want_body);
}

static void nothing_spooled(void)
{
	struct proto_event ev;

	if (cfx_next(&fx, 300, &ev)) {
		fail_msg("a refused webhook was spooled: %s", proto_type_name(ev.type));
		proto_event_clear(&ev);
	}
}

/* A WhatsApp change with one text message per id, as Meta batches them. */
static char *batch(const char *const *ids, size_t n)
{
	char *b = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&b, &len);

	assert_non_null(f);
	fputs("{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"2234567890987654321\","
	      "\"changes\":[{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
	      "\"metadata\":{\"display_phone_number\":\"15550001111\",\"phone_number_id\":"
	      "\"2233445566778\"},\"contacts\":[{\"profile\":{\"name\":\"Dana\"},\"wa_id\":"
	      "\"15550003333\"}],\"messages\":[", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s{\"from\":\"15550003333\",\"id\":\"%s\",\"timestamp\":\"1700000100\","
			   "\"type\":\"text\",\"text\":{\"body\":\"text of %s\"}}",
			i ? "," : "", ids[i], ids[i]);
	fputs("]}}]}]}", f);
	assert_int_equal(fclose(f), 0);
	return b;
}

static void test_subscription_handshake(void **state)
{
	int fd = cfx_connect(&fx);
	struct cfx_resp r;

	(void)state;
	cfx_send(fd, "GET " PATH "?hub.mode=subscribe&hub.verify_token=" VERIFY
		     "&hub.challenge=1158201444 HTTP/1.1\r\nHost: x\r\n\r\n", -1);
	cfx_read(fd, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "1158201444");
	cfx_send(fd, "GET " PATH "?hub.mode=subscribe&hub.verify_token=wrong"
		     "&hub.challenge=1 HTTP/1.1\r\nHost: x\r\n\r\n", -1);
	expect(fd, 403, "forbidden");
	cfx_send(fd, "GET " PATH "?hub.mode=unsubscribe&hub.verify_token=" VERIFY
		     "&hub.challenge=1 HTTP/1.1\r\nHost: x\r\n\r\n", -1);
	expect(fd, 403, "forbidden");
	cfx_send(fd, "GET " PATH " HTTP/1.1\r\nHost: x\r\n\r\n", -1);
	expect(fd, 403, "forbidden");
	close(fd);
}

static void test_signed_fixture_accepted(void **state)
{
	char *body = NULL, sig[96];
	size_t len = 0;
	struct proto_event ev;
	int fd = cfx_connect(&fx);

	(void)state;
	assert_int_equal(gw_read_file(GW_FIXTURES "/meta/whatsapp/pywa/message__text.json",
				      1u << 20, &body, &len), GW_OK);
	sign(body, sig, sizeof(sig));
	post(fd, PATH, body, sig);
	expect(fd, 200, "{\"status\":\"accepted\",\"events\":1}");
	assert_true(cfx_next(&fx, WAIT_MS, &ev));
	assert_int_equal(ev.type, PROTO_T_MESSAGE_RECEIVED);
	assert_string_equal(ev.u.message.channel, "whatsapp");
	assert_string_equal(ev.u.message.external_id, "wamid.xyzxyz");
	assert_string_equal(ev.u.message.text, "Body Text");
	assert_string_equal(ev.u.message.from.name, "Test Name");
	proto_event_clear(&ev);
	free(body);
	close(fd);
}

/* A batch is one answer once all its events are durable, on a connection
 * that stays open for the next webhook. */
static void test_batch_all_together(void **state)
{
	static const char *const ids[] = {"wamid.b-1", "wamid.b-2", "wamid.b-3"};
	char *body = batch(ids, 3), sig[96];
	int seen[3] = {0}, fd = cfx_connect(&fx);
	struct proto_event ev;

	(void)state;
	sign(body, sig, sizeof(sig));
	post(fd, PATH, body, sig);
	expect(fd, 200, "\"events\":3");
	for (int i = 0; i < 3; i++) {
		assert_true(cfx_next(&fx, WAIT_MS, &ev));
		for (int k = 0; k < 3; k++)
			if (strcmp(ev.u.message.external_id, ids[k]) == 0)
				seen[k]++;
		proto_event_clear(&ev);
	}
	assert_true(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
	post(fd, PATH, body, sig); /* Meta's redelivery: the router dedups it */
	expect(fd, 200, "\"events\":3");
	for (int i = 0; i < 3; i++) {
		assert_true(cfx_next(&fx, WAIT_MS, &ev));
		proto_event_clear(&ev);
	}
	free(body);
	close(fd);
}

static void test_refusals_store_nothing(void **state)
{
	static const char *const ids[] = {"wamid.refused"};
	char *body = batch(ids, 1), sig[96];
	int fd = cfx_connect(&fx);

	(void)state;
	sign(body, sig, sizeof(sig));
	post(fd, PATH, body, NULL);
	expect(fd, 401, "unauthorized");
	sig[strlen(sig) - 1] = sig[strlen(sig) - 1] == '0' ? '1' : '0';
	post(fd, PATH, body, sig);
	expect(fd, 401, "unauthorized");
	post(fd, PATH, body, "sha1=0123");
	expect(fd, 401, "unauthorized");
	sign(body, sig, sizeof(sig));
	post(fd, "/webhooks/other", body, sig);
	expect(fd, 404, "not_found");
	cfx_send(fd, "DELETE " PATH " HTTP/1.1\r\nHost: x\r\n\r\n", -1);
	expect(fd, 405, "method_not_allowed");
	post(fd, PATH, "{\"object\":", NULL);
	expect(fd, 401, "unauthorized"); /* the signature before the JSON */
	nothing_spooled();
	free(body);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subscription_handshake),
		cmocka_unit_test(test_signed_fixture_accepted),
		cmocka_unit_test(test_batch_all_together),
		cmocka_unit_test(test_refusals_store_nothing),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

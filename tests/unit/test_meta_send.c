/*
 * test_meta_send.c - the Meta reply senders without a network: Meta's error
 * bodies sorted into retry, failure and refused credentials (graph.c); the
 * window rules and the refusals made before any request (wa_send.c,
 * ms_send.c); what the answers to a reply's steps decide; the echoes of
 * Messenger and Instagram replies in flight (ms_echo.c). The requests on
 * the wire are checked against the Graph stand-in by
 * tests/integration/test_meta_reply*.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "connectors/curl_err.h"
#include "connectors/meta/graph.h"
#include "connectors/meta/meta_out.h"
#include "core/err.h"
#include "store/attachments.h"
#include "testutil.h"

#define HOUR (3600LL * 1000)
#define NOW 1700000000000LL

/* ---- graph.c: Meta's errors ------------------------------------------------- */

static const char e131047[] =
	"{\"error\":{\"message\":\"(#131047) Re-engagement message\",\"type\":\"OAuthException\","
	"\"code\":131047,\"error_subcode\":2494010,\"error_data\":{\"messaging_product\":"
	"\"whatsapp\",\"details\":\"Message failed to send because more than 24 hours have "
	"passed since the customer last replied to this number.\"},\"fbtrace_id\":\"AbC\"}}";

static struct sender_outcome judge(long status, const char *body, CURLcode res)
{
	struct sender_attempt a = {0, 0, gw_curl_err(res), status, body, body ? strlen(body) : 0, -1,
				   res == CURLE_OK ? "" : "Operation timed out"};
	struct sender_outcome o;

	memset(&o, 0, sizeof(o));
	graph_judge(&a, "message", &o);
	return o;
}

static char *err_body(long long code, long long subcode)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "{\"error\":{\"message\":\"(#%lld) Some title\",\"type\":"
		 "\"OAuthException\",\"code\":%lld,\"error_subcode\":%lld,\"fbtrace_id\":\"x\"}}",
		 code, code, subcode);
	return buf;
}

static void test_error_read(void **state)
{
	struct graph_error e;

	(void)state;
	assert_int_equal(graph_error_read(e131047, &e), 1);
	assert_int_equal(e.code, 131047);
	assert_int_equal(e.subcode, 2494010);
	assert_string_equal(e.title, "Re-engagement message");
	assert_non_null(strstr(e.details, "more than 24 hours"));
	assert_int_equal(graph_error_read("<html>bad gateway</html>", &e), 0);
	assert_int_equal(e.code, 0);
	assert_int_equal(graph_error_read("{\"error\":{\"message\":\"Invalid OAuth access "
					  "token\",\"code\":190}}", &e), 1);
	assert_string_equal(e.title, "Invalid OAuth access token");
}

static void test_judge_table(void **state)
{
	static const struct {
		long long code, subcode;
		enum sender_verdict v;
		int slow, auth;
	} rows[] = {
		{130429, 0, SENDER_RETRY, 1, 0}, {131056, 0, SENDER_RETRY, 1, 0},
		{613, 0, SENDER_RETRY, 1, 0},    {80007, 0, SENDER_RETRY, 1, 0},
		{4, 0, SENDER_RETRY, 1, 0},      {131000, 0, SENDER_RETRY, 0, 0},
		{2, 0, SENDER_RETRY, 0, 0},      {1200, 0, SENDER_RETRY, 0, 0},
		{190, 463, SENDER_FAIL, 0, 1},   {10, 0, SENDER_FAIL, 0, 1},
		{200, 0, SENDER_FAIL, 0, 1},     {10, 2018278, SENDER_FAIL, 0, 0},
		{131026, 0, SENDER_FAIL, 0, 0},  {131021, 0, SENDER_FAIL, 0, 0},
		{100, 0, SENDER_FAIL, 0, 0},     {131047, 0, SENDER_FAIL, 0, 0},
	};
	struct sender_outcome o;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		o = judge(400, err_body(rows[i].code, rows[i].subcode), CURLE_OK);
		if (o.verdict != rows[i].v || o.slow_down != rows[i].slow || o.auth != rows[i].auth)
			fail_msg("code %lld/%lld: verdict %d slow %d auth %d", rows[i].code,
				 rows[i].subcode, o.verdict, o.slow_down, o.auth);
	}
	o = judge(400, e131047, CURLE_OK);
	assert_string_equal(o.reason, "message: 131047 Re-engagement message: Message failed to "
			    "send because more than 24 hours have passed since the customer "
			    "last replied to this number.");
	/* Without Meta's body: the transfer and the HTTP status decide. */
	o = judge(0, NULL, CURLE_OPERATION_TIMEDOUT);
	assert_int_equal(o.verdict, SENDER_RETRY);
	assert_string_equal(o.reason, "message: Operation timed out");
	o = judge(502, "<html>bad gateway</html>", CURLE_OK);
	assert_int_equal(o.verdict, SENDER_RETRY);
	assert_string_equal(o.reason, "message: HTTP 502");
	o = judge(429, "", CURLE_OK);
	assert_true(o.verdict == SENDER_RETRY && o.slow_down);
	o = judge(404, "not found", CURLE_OK);
	assert_true(o.verdict == SENDER_FAIL && !o.auth);
}

/* ---- building jobs ------------------------------------------------------------ */

struct msg {
	struct proto_message m;
	struct proto_party to;
	struct proto_attachment att[2];
	struct proto_template t;
	char *reply_to[1];
	char *params[2];
};

static void msg_init(struct msg *x, const char *channel, const char *text, int64_t inbound_at)
{
	memset(x, 0, sizeof(*x));
	x->to.address = "15550001111";
	x->m.to = &x->to;
	x->m.channel = (char *)channel;
	x->m.account = "1122334455667";
	x->m.external_id = "reply-1-0123456789abcdef0123456789abcdef";
	x->m.text = (char *)text;
	x->m.last_inbound_at = inbound_at;
}

static struct meta_send_ctx ctx_of(int human_agent)
{
	struct meta_send_ctx c = {
		.graph_url = "http://127.0.0.1:9/v21.0/",
		.token = "secret-token",
		.attach_dir = "/nonexistent/attachments",
		.account = "1122334455667",
		.reply_id = "reply-1-0123456789abcdef0123456789abcdef",
		.made_at = NOW,
		.human_agent = human_agent,
	};

	return c;
}

static const char *wa_account = "1122334455667";

static int wa_new(struct msg *x, char *why)
{
	struct meta_send_ctx c = ctx_of(0);
	void *job = NULL;
	int rc;

	why[0] = '\0';
	c.account = wa_account;
	rc = wa_job_new(&c, &x->m, &job, why, 256);
	if (rc == GW_OK)
		wa_send_ops.free(job);
	else
		assert_null(job);
	return rc;
}

static void test_wa_refusals(void **state)
{
	struct msg x;
	char why[256];

	(void)state;
	msg_init(&x, "whatsapp", "hello", NOW - 23 * HOUR);
	assert_int_equal(wa_new(&x, why), GW_OK);
	msg_init(&x, "whatsapp", "hello", NOW - 25 * HOUR);
	assert_int_equal(wa_new(&x, why), GW_EINVAL);
	assert_string_equal(why, "outside WhatsApp's 24-hour window: send a template");
	/* A template goes whenever. */
	x.t.name = "follow_up";
	x.t.language = "en";
	x.m.tmpl = &x.t;
	assert_int_equal(wa_new(&x, why), GW_OK);
	x.t.components = "{\"not\":\"an array\"}";
	assert_int_equal(wa_new(&x, why), GW_EINVAL);
	assert_string_equal(why, "template follow_up: components are not a JSON array");
	msg_init(&x, "whatsapp", "", NOW);
	assert_int_equal(wa_new(&x, why), GW_EINVAL);
	assert_string_equal(why, "nothing to send: no text, template or attachment");
	x.att[0] = (struct proto_attachment){.name = "a.pdf", .type = "application/pdf",
					     .ref = "file:/etc/passwd"};
	x.m.attachments = x.att;
	x.m.attachments_len = 1;
	assert_int_equal(wa_new(&x, why), GW_EINVAL);
	assert_non_null(strstr(why, "neither a stored blob"));
	x.att[0].ref = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	assert_int_equal(wa_new(&x, why), GW_EINVAL);
	assert_non_null(strstr(why, "is not in the attachment store"));
	x.att[0].ref = "https://example.com/a.pdf";
	assert_int_equal(wa_new(&x, why), GW_OK);
	/* The account is a path segment of the request: digits only. */
	wa_account = "../../me";
	assert_int_equal(wa_new(&x, why), GW_EINVAL);
	assert_string_equal(why, "account ../../me is not a WhatsApp phone number id");
	wa_account = "1122334455667";
}

static int ms_new(struct msg *x, int human_agent, char *why)
{
	struct meta_send_ctx c = ctx_of(human_agent);
	void *job = NULL;
	int rc;

	why[0] = '\0';
	c.account = "PAGE";
	rc = ms_job_new(&c, &x->m, &job, why, 256);
	if (rc == GW_OK)
		ms_send_ops.free(job);
	return rc;
}

static void test_ms_windows(void **state)
{
	struct msg x;
	char why[256];

	(void)state;
	msg_init(&x, "messenger", "hello", NOW - 20 * HOUR);
	assert_int_equal(ms_new(&x, 0, why), GW_OK);
	msg_init(&x, "messenger", "hello", NOW - 48 * HOUR);
	assert_int_equal(ms_new(&x, 0, why), GW_EINVAL);
	assert_string_equal(why, "outside Messenger's 24-hour window (human_agent_tag is off)");
	assert_int_equal(ms_new(&x, 1, why), GW_OK);
	msg_init(&x, "instagram", "hello", NOW - 8 * 24 * HOUR);
	assert_int_equal(ms_new(&x, 1, why), GW_EINVAL);
	assert_string_equal(why, "outside Instagram's 7-day human agent window");
	msg_init(&x, "messenger", "", NOW);
	x.t.name = "t";
	x.t.language = "en";
	x.m.tmpl = &x.t;
	assert_int_equal(ms_new(&x, 0, why), GW_EINVAL);
	assert_string_equal(why, "nothing to send: a Messenger reply needs a text or an "
			    "attachment (templates are WhatsApp's)");
}

/* ---- what the answers decide -------------------------------------------------- */

static struct sender_outcome classify(const struct sender_ops *ops, void *job, int step,
				      long status, const char *body)
{
	struct sender_attempt a = {step, 0, GW_OK, status, body, strlen(body), -1, ""};
	struct sender_outcome o;

	memset(&o, 0, sizeof(o));
	ops->classify(job, &a, &o);
	return o;
}

static void test_wa_steps(void **state)
{
	struct meta_send_ctx c = ctx_of(0);
	struct sender_outcome o;
	struct msg x;
	char why[256], dir[64], hex[ATTACH_HEX_LEN + 1];
	char ref[80];
	void *job = NULL;

	(void)state;
	test_tmpdir(dir, sizeof(dir), "meta-send");
	assert_int_equal(attach_put(dir, "%PDF", 4, 1024, hex), GW_OK);
	snprintf(ref, sizeof(ref), "sha256:%s", hex);
	c.attach_dir = dir;
	/* Text, an audio by link (no caption: the text goes first), a stored
	 * document (uploaded, then sent): steps text, audio, upload, document. */
	msg_init(&x, "whatsapp", "see these", NOW);
	x.att[0] = (struct proto_attachment){.name = "v.ogg", .type = "audio/ogg",
					     .ref = "https://example.com/v.ogg"};
	x.att[1] = (struct proto_attachment){.name = "a.pdf", .type = "application/pdf",
					     .ref = ref};
	x.m.attachments = x.att;
	x.m.attachments_len = 2;
	assert_int_equal(wa_job_new(&c, &x.m, &job, why, sizeof(why)), GW_OK);
	o = classify(&wa_send_ops, job, 0, 200, "{\"messages\":[{\"id\":\"wamid.1\"}]}");
	assert_int_equal(o.verdict, SENDER_NEXT);
	o = classify(&wa_send_ops, job, 1, 200, "{\"messages\":[{\"id\":\"wamid.2\"}]}");
	assert_int_equal(o.verdict, SENDER_NEXT);
	o = classify(&wa_send_ops, job, 2, 200, "{\"error\":\"no id\"}");
	assert_int_equal(o.verdict, SENDER_FAIL); /* an upload without a media id */
	o = classify(&wa_send_ops, job, 2, 200, "{\"id\":\"4490709327384033\"}");
	assert_int_equal(o.verdict, SENDER_NEXT);
	o = classify(&wa_send_ops, job, 3, 200, "{\"messages\":[{\"id\":\"wamid.3\"}]}");
	assert_int_equal(o.verdict, SENDER_DONE);
	assert_string_equal(o.ref_account, "1122334455667");
	assert_string_equal(o.ref_id, "wamid.3");
	/* Taken without an id that can be read: done all the same, no reference. */
	o = classify(&wa_send_ops, job, 3, 200, "not json");
	assert_int_equal(o.verdict, SENDER_DONE);
	assert_string_equal(o.ref_id, "");
	o = classify(&wa_send_ops, job, 3, 400, e131047);
	assert_int_equal(o.verdict, SENDER_FAIL);
	wa_send_ops.free(job);
	test_rmtree(dir);
}

static void test_ms_steps(void **state)
{
	struct meta_send_ctx c = ctx_of(0);
	struct sender_outcome o;
	struct msg x;
	char why[256];
	void *job = NULL;

	(void)state;
	c.account = "PAGE";
	msg_init(&x, "messenger", "here", NOW);
	x.att[0] = (struct proto_attachment){.name = "p.png", .type = "image/png",
					     .ref = "https://example.com/p.png"};
	x.m.attachments = x.att;
	x.m.attachments_len = 1;
	assert_int_equal(ms_job_new(&c, &x.m, &job, why, sizeof(why)), GW_OK);
	o = classify(&ms_send_ops, job, 0, 200, "{\"recipient_id\":\"1\",\"message_id\":\"m_1\"}");
	assert_int_equal(o.verdict, SENDER_NEXT);
	o = classify(&ms_send_ops, job, 1, 200, "{\"recipient_id\":\"1\",\"message_id\":\"m_2\"}");
	assert_int_equal(o.verdict, SENDER_DONE);
	assert_string_equal(o.ref_account, "PAGE");
	assert_string_equal(o.ref_id, "m_2");
	o = classify(&ms_send_ops, job, 1, 400, err_body(10, 2018278));
	assert_true(o.verdict == SENDER_FAIL && !o.auth);
	ms_send_ops.free(job);
}

/* ---- ms_echo.c: echoes of replies in flight -------------------------------- */

#define ECHO_REPLY "reply-9-0123456789abcdef0123456789abcdef"
#define ECHO_ITEM(to, mid, msg)                                                        \
	"{\"sender\":{\"id\":\"17841400000000001\"},\"recipient\":{\"id\":\"" to "\"},"  \
	"\"timestamp\":1700000000000,\"message\":{\"is_echo\":true,\"mid\":\"" mid "\"," msg "}}"

/* An Instagram reply (a text and one attachment) in flight: the echo of
 * its text and of one attachment become its "sent"; another text, a second
 * echo of the same text, a second attachment and the same text to another
 * customer stay message.sent. */
static void test_echoes_of_replies_in_flight(void **state)
{
	static const char body[] =
		"{\"object\":\"instagram\",\"entry\":[{\"id\":\"17841400000000001\","
		"\"time\":1700000000000,\"messaging\":["
		ECHO_ITEM("7000", "m1", "\"text\":\"Until 8 pm\"") ","
		ECHO_ITEM("7000", "m2", "\"text\":\"From the app\"") ","
		ECHO_ITEM("7000", "m3", "\"attachments\":[{\"type\":\"image\",\"payload\":"
					"{\"url\":\"https://cdn.example/a.jpg\"}}]") ","
		ECHO_ITEM("7000", "m4", "\"attachments\":[{\"type\":\"image\",\"payload\":"
					"{\"url\":\"https://cdn.example/b.jpg\"}}]") ","
		ECHO_ITEM("7000", "m5", "\"text\":\"Until 8 pm\"") ","
		ECHO_ITEM("7001", "m6", "\"text\":\"Until 8 pm\"") "]}]}";
	struct proto_party to = {.address = "7000"};
	struct proto_attachment att = {.name = "a.jpg", .type = "image/jpeg",
				       .ref = "https://example.com/a.jpg"};
	struct proto_message m = {.channel = "instagram", .account = "17841400000000001",
				  .external_id = ECHO_REPLY, .text = "Until 8 pm", .to = &to,
				  .attachments = &att, .attachments_len = 1};
	struct meta_events evs = {0};
	struct meta_parse_error perr = {0};
	struct ms_echoes *es;
	const struct proto_status *st;

	(void)state;
	assert_int_equal(ms_echoes_create(&es), GW_OK);
	assert_int_equal(ms_echoes_add(es, 9, &m), GW_OK);
	assert_int_equal(meta_parse(body, sizeof(body) - 1, NOW, &evs, &perr), GW_OK);
	assert_int_equal(evs.n, 6);
	assert_int_equal(ms_echoes_match(es, &evs), 2);
	for (size_t i = 0; i < evs.n; i++)
		assert_int_equal(evs.ev[i].type, i == 0 || i == 2 ? PROTO_T_MESSAGE_STATUS
							   : PROTO_T_MESSAGE_SENT);
	st = &evs.ev[0].u.status;
	assert_string_equal(st->external_id, ECHO_REPLY);
	assert_string_equal(st->status, "sent");
	assert_string_equal(st->status_id, ECHO_REPLY ":sent");
	assert_string_equal(st->provider_id, "m1");
	assert_string_equal(st->recipient, "7000");
	assert_string_equal(st->channel, "instagram");
	assert_string_equal(evs.ev[2].u.status.provider_id, "m3");
	for (size_t i = 0; i < evs.n; i++) {
		char *buf = NULL;
		size_t len = 0;
		struct proto_error err = {0};

		assert_int_equal(proto_encode(&evs.ev[i], &buf, &len, &err), GW_OK);
		free(buf);
	}
	meta_events_clear(&evs);
	ms_echoes_destroy(es);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_read),
		cmocka_unit_test(test_judge_table),
		cmocka_unit_test(test_wa_refusals),
		cmocka_unit_test(test_ms_windows),
		cmocka_unit_test(test_wa_steps),
		cmocka_unit_test(test_ms_steps),
		cmocka_unit_test(test_echoes_of_replies_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

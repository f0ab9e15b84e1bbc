/*
 * test_api_callback.c - the API channel's reply callbacks without a network:
 * the signature (known HMAC-SHA256 vectors, a fresh value per time), the
 * JSON body of a reply field by field (attachments inline or by URL, a
 * template, what is absent), how the receiver's answers are judged, the
 * excerpt of an error answer, and which callback URLs are accepted.
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

#include "connectors/curl_err.h"
#include "connectors/api/api_callback.h"
#include "core/err.h"
#include "proto/proto.h"
#include "store/attachments.h"

#define SECRET "whsec_0123456789abcdef"

/* ---- the signature ------------------------------------------------------------ */

/* The values a client computes with hmac.new(secret, b"<t>." + body, sha256). */
static void test_sign_vectors(void **state)
{
	static const char body[] = "{\"id\":\"reply-1\"}";
	char sig[API_CB_SIG_MAX];

	(void)state;
	assert_int_equal(api_callback_sign(SECRET, strlen(SECRET), 1700000000, body, strlen(body),
					   sig, sizeof(sig)), GW_OK);
	assert_string_equal(sig, "t=1700000000,v1=8e92e8dcd37143297dd24602fe2162ae80ba17c988f"
			    "0296a1eafecc8c39035f6");
	assert_int_equal(api_callback_sign(SECRET, strlen(SECRET), 1700000000, "", 0, sig,
					   sizeof(sig)), GW_OK);
	assert_string_equal(sig, "t=1700000000,v1=0e1fd9afd303fb6f213cc511093ec9783e6286d777c"
			    "fee89f917aebd54d9a963");
}

/* Another time, another secret or another byte: another signature. */
static void test_sign_changes(void **state)
{
	static const char body[] = "{\"id\":\"reply-1\"}";
	char a[API_CB_SIG_MAX], b[API_CB_SIG_MAX], c[API_CB_SIG_MAX], d[API_CB_SIG_MAX];

	(void)state;
	assert_int_equal(api_callback_sign(SECRET, strlen(SECRET), 1700000000, body, 16, a,
					   sizeof(a)), GW_OK);
	assert_int_equal(api_callback_sign(SECRET, strlen(SECRET), 1700000001, body, 16, b,
					   sizeof(b)), GW_OK);
	assert_int_equal(api_callback_sign("whsec_other_secret_00", 21, 1700000000, body, 16, c,
					   sizeof(c)), GW_OK);
	assert_int_equal(api_callback_sign(SECRET, strlen(SECRET), 1700000000, body, 15, d,
					   sizeof(d)), GW_OK);
	assert_int_equal(strncmp(b, "t=1700000001,v1=", 16), 0);
	assert_int_equal(strlen(b), 16 + 64);
	assert_string_not_equal(a + 16, b + 16);
	assert_string_not_equal(a, c);
	assert_string_not_equal(a, d);
	/* Too small a buffer, a negative time: refused. */
	assert_int_equal(api_callback_sign(SECRET, 1, 1, body, 16, a, 40), GW_EINVAL);
	assert_int_equal(api_callback_sign(SECRET, 1, -1, body, 16, a, sizeof(a)), GW_EINVAL);
}

/* ---- the body ------------------------------------------------------------------- */

/* A message.sent as the router makes one for message.send. */
static void reply_event(struct proto_event *ev)
{
	struct proto_message *m = &ev->u.message;

	assert_int_equal(proto_event_init(ev, PROTO_T_MESSAGE_SENT), GW_OK);
	ev->ts = 1700000000123LL;
	m->channel = strdup("api");
	m->account = strdup("acme");
	m->external_id = strdup("reply-12-0123456789abcdef0123456789abcdef");
	m->received_at = ev->ts;
	m->from.address = strdup("acme");
	m->from.name = strdup("Alice Agent");
	m->to = calloc(1, sizeof(*m->to));
	assert_non_null(m->to);
	m->to->address = strdup("+15550001111");
	m->to->name = strdup("Ana");
	m->text = strdup("We are on it \xc3\xa9");
	m->subject = strdup("Order 42");
	m->ticket_id = 7;
	m->direction = strdup("outbound");
	m->reply_to = calloc(2, sizeof(*m->reply_to));
	assert_non_null(m->reply_to);
	m->reply_to[0] = strdup("client-msg-0");
	m->reply_to[1] = strdup("client-msg-1");
	m->reply_to_len = 2;
}

static json_t *payload_json(const struct proto_event *ev, const struct api_cb_files *f)
{
	char *out = NULL, why[256];
	size_t len = 0;
	json_error_t jerr;
	json_t *doc;
	int rc = api_callback_payload(ev, 12, f, &out, &len, why, sizeof(why));

	if (rc != GW_OK)
		fail_msg("payload: %s: %s", gw_err_name(rc), why);
	assert_int_equal(strlen(out), len);
	assert_null(strchr(out, '\n')); /* compact */
	doc = json_loadb(out, len, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(doc);
	free(out);
	return doc;
}

static void test_payload_fields(void **state)
{
	struct api_cb_files f = {NULL, 0};
	struct proto_event ev;
	json_t *doc;

	(void)state;
	reply_event(&ev);
	doc = payload_json(&ev, &f);
	assert_string_equal(json_string_value(json_object_get(doc, "type")), "message.reply");
	assert_string_equal(json_string_value(json_object_get(doc, "id")),
			    "reply-12-0123456789abcdef0123456789abcdef");
	assert_int_equal(json_integer_value(json_object_get(doc, "delivery_id")), 12);
	assert_int_equal(json_integer_value(json_object_get(doc, "ticket_id")), 7);
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "to"), "id")),
			    "+15550001111");
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "to"), "name")),
			    "Ana");
	assert_string_equal(json_string_value(json_object_get(doc, "text")),
			    "We are on it \xc3\xa9");
	assert_string_equal(json_string_value(json_object_get(doc, "subject")), "Order 42");
	assert_string_equal(json_string_value(json_object_get(doc, "author")), "Alice Agent");
	assert_string_equal(json_string_value(json_object_get(doc, "in_reply_to")),
			    "client-msg-1");
	assert_int_equal(json_array_size(json_object_get(doc, "attachments")), 0);
	assert_true(json_is_array(json_object_get(doc, "attachments")));
	assert_null(json_object_get(doc, "template"));
	assert_int_equal(json_integer_value(json_object_get(doc, "created_at")), 1700000000123LL);
	assert_int_equal(json_object_size(doc), 11); /* no template */
	json_decref(doc);
	proto_event_clear(&ev);
}

/* What a reply lacks: null where the key always is, absent where optional. */
static void test_payload_absent(void **state)
{
	struct api_cb_files f = {NULL, 0};
	struct proto_event ev;
	struct proto_message *m = &ev.u.message;
	json_t *doc;

	(void)state;
	reply_event(&ev);
	free(m->subject);
	m->subject = NULL;
	free(m->from.name);
	m->from.name = NULL;
	free(m->to->name);
	m->to->name = NULL;
	m->ticket_id = 0;
	for (size_t i = 0; i < m->reply_to_len; i++)
		free(m->reply_to[i]);
	free(m->reply_to);
	m->reply_to = NULL;
	m->reply_to_len = 0;
	doc = payload_json(&ev, &f);
	assert_true(json_is_null(json_object_get(doc, "ticket_id")));
	assert_true(json_is_null(json_object_get(doc, "in_reply_to")));
	assert_null(json_object_get(doc, "subject"));
	assert_null(json_object_get(doc, "author"));
	assert_int_equal(json_object_size(json_object_get(doc, "to")), 1);
	json_decref(doc);
	proto_event_clear(&ev);
}

/* remove_store - the one blob `hex` of the store `root`, its folder, root. */
static void remove_store(const char *root, const char *hex)
{
	char path[600];

	assert_int_equal(attach_path(root, hex, path, sizeof(path)), GW_OK);
	assert_int_equal(unlink(path), 0);
	path[strlen(path) - ATTACH_HEX_LEN - 1] = '\0';
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(root), 0);
}

/* set_attach - attachment i: name, type, ref, size. */
static void set_attach(struct proto_message *m, size_t i, const char *name, const char *ref,
		       uint64_t size)
{
	m->attachments[i].name = strdup(name);
	m->attachments[i].type = strdup("image/png");
	m->attachments[i].ref = strdup(ref);
	m->attachments[i].size = size;
}

static void test_payload_attachments(void **state)
{
	char root[] = "/tmp/gw-apicb-XXXXXX", hex[ATTACH_HEX_LEN + 1], ref[80];
	struct api_cb_files f = {root, 5};
	struct proto_event ev;
	struct proto_message *m = &ev.u.message;
	json_t *doc, *a0, *a1;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(attach_put(root, "hello", 5, 1000, hex), GW_OK);
	snprintf(ref, sizeof(ref), "sha256:%s", hex);
	reply_event(&ev);
	m->attachments = calloc(2, sizeof(*m->attachments));
	assert_non_null(m->attachments);
	m->attachments_len = 2;
	set_attach(m, 0, "a.png", ref, 0);
	set_attach(m, 1, "b.png", "https://files.example.com/b.png", 77);
	doc = payload_json(&ev, &f);
	a0 = json_array_get(json_object_get(doc, "attachments"), 0);
	a1 = json_array_get(json_object_get(doc, "attachments"), 1);
	assert_string_equal(json_string_value(json_object_get(a0, "name")), "a.png");
	assert_string_equal(json_string_value(json_object_get(a0, "type")), "image/png");
	assert_string_equal(json_string_value(json_object_get(a0, "sha256")), hex);
	assert_int_equal(json_integer_value(json_object_get(a0, "size")), 5);
	assert_string_equal(json_string_value(json_object_get(a0, "data")), "aGVsbG8=");
	assert_null(json_object_get(a0, "url"));
	assert_string_equal(json_string_value(json_object_get(a1, "url")),
			    "https://files.example.com/b.png");
	assert_int_equal(json_integer_value(json_object_get(a1, "size")), 77);
	assert_null(json_object_get(a1, "data"));
	json_decref(doc);
	proto_event_clear(&ev);
	remove_store(root, hex);
}

/* Refusals: over the inline budget, a missing file, a bad stored ref, not
 * a reply, template components that are not JSON. */
static void test_payload_refused(void **state)
{
	char root[] = "/tmp/gw-apicb-XXXXXX", hex[ATTACH_HEX_LEN + 1], ref[80], why[256];
	struct api_cb_files f = {root, 4};
	struct proto_event ev;
	struct proto_message *m = &ev.u.message;
	char *out = (char *)1;
	size_t len = 1;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(attach_put(root, "hello", 5, 1000, hex), GW_OK);
	snprintf(ref, sizeof(ref), "sha256:%s", hex);
	reply_event(&ev);
	m->attachments = calloc(1, sizeof(*m->attachments));
	assert_non_null(m->attachments);
	m->attachments_len = 1;
	set_attach(m, 0, "a.png", ref, 5);
	assert_int_equal(api_callback_payload(&ev, 1, &f, &out, &len, why, sizeof(why)),
			 GW_ETOOBIG);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_non_null(strstr(why, "callback_max_inline_bytes"));
	f.inline_max = 5; /* exactly fits */
	assert_int_equal(api_callback_payload(&ev, 1, &f, &out, &len, why, sizeof(why)), GW_OK);
	free(out);
	free(m->attachments[0].ref);
	m->attachments[0].ref = strdup("sha256:00000000000000000000000000000000000000000000000000"
				       "00000000000000");
	assert_int_equal(api_callback_payload(&ev, 1, &f, &out, &len, why, sizeof(why)),
			 GW_ENOTFOUND);
	assert_non_null(strstr(why, "is missing"));
	free(m->attachments[0].ref);
	m->attachments[0].ref = strdup("sha256:../../etc/passwd");
	assert_int_equal(api_callback_payload(&ev, 1, &f, &out, &len, why, sizeof(why)),
			 GW_EINVAL);
	proto_event_clear(&ev);

	reply_event(&ev);
	m->tmpl = calloc(1, sizeof(*m->tmpl));
	m->tmpl->name = strdup("order_update");
	m->tmpl->language = strdup("en_US");
	m->tmpl->components = strdup("[{\"type\":");
	assert_int_equal(api_callback_payload(&ev, 1, &f, &out, &len, why, sizeof(why)),
			 GW_EINVAL);
	assert_non_null(strstr(why, "template.components"));
	ev.type = PROTO_T_MESSAGE_RECEIVED;
	assert_int_equal(api_callback_payload(&ev, 1, &f, &out, &len, why, sizeof(why)),
			 GW_EINVAL);
	ev.type = PROTO_T_MESSAGE_SENT;
	proto_event_clear(&ev);
	remove_store(root, hex);
}

static void test_payload_template(void **state)
{
	struct api_cb_files f = {NULL, 0};
	struct proto_event ev;
	struct proto_message *m = &ev.u.message;
	json_t *doc, *t;

	(void)state;
	reply_event(&ev);
	m->tmpl = calloc(1, sizeof(*m->tmpl));
	assert_non_null(m->tmpl);
	m->tmpl->name = strdup("order_update");
	m->tmpl->language = strdup("en_US");
	m->tmpl->params = calloc(2, sizeof(char *));
	m->tmpl->params[0] = strdup("Ana");
	m->tmpl->params[1] = strdup("42");
	m->tmpl->params_len = 2;
	m->tmpl->components = strdup("[{\"type\":\"header\"}]");
	doc = payload_json(&ev, &f);
	t = json_object_get(doc, "template");
	assert_string_equal(json_string_value(json_object_get(t, "name")), "order_update");
	assert_string_equal(json_string_value(json_object_get(t, "language")), "en_US");
	assert_int_equal(json_array_size(json_object_get(t, "params")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(t, "params"), 1)),
			    "42");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
				    json_object_get(t, "components"), 0), "type")), "header");
	json_decref(doc);
	proto_event_clear(&ev);
}

/* ---- the answer ------------------------------------------------------------------ */

static void judge(long status, CURLcode res, const char *body, int64_t retry_after,
		  struct sender_outcome *out)
{
	struct sender_attempt a = {0, 0, gw_curl_err(res), status, body, strlen(body), retry_after,
				   res == CURLE_OK ? "" : "Connection refused"};

	memset(out, 0, sizeof(*out));
	api_callback_judge(&a, "acme", "reply-3-abc", out);
}

static void test_judge(void **state)
{
	struct sender_outcome o;

	(void)state;
	judge(200, CURLE_OK, "{\"id\":\"theirs\"}", -1, &o);
	assert_int_equal(o.verdict, SENDER_DONE);
	assert_string_equal(o.ref_account, "acme");
	assert_string_equal(o.ref_id, "reply-3-abc");
	assert_int_equal(o.auth, 0);
	judge(204, CURLE_OK, "", -1, &o);
	assert_int_equal(o.verdict, SENDER_DONE);

	judge(503, CURLE_OK, "busy", 2000, &o);
	assert_int_equal(o.verdict, SENDER_RETRY);
	assert_int_equal(o.retry_after_ms, 2000);
	assert_int_equal(o.slow_down, 0);
	assert_string_equal(o.reason, "callback answered 503: busy");
	judge(429, CURLE_OK, "", 1000, &o);
	assert_int_equal(o.verdict, SENDER_RETRY);
	assert_int_equal(o.slow_down, 1);
	assert_string_equal(o.reason, "callback answered 429");
	judge(408, CURLE_OK, "", -1, &o);
	assert_int_equal(o.verdict, SENDER_RETRY);
	assert_int_equal(o.retry_after_ms, 0);
	judge(0, CURLE_COULDNT_CONNECT, "", -1, &o);
	assert_int_equal(o.verdict, SENDER_RETRY);
	assert_string_equal(o.reason, "callback: Connection refused");
	judge(0, CURLE_OPERATION_TIMEDOUT, "", -1, &o);
	assert_int_equal(o.verdict, SENDER_RETRY);

	judge(401, CURLE_OK, "{\"error\":\"bad signature\"}", -1, &o);
	assert_int_equal(o.verdict, SENDER_FAIL);
	assert_int_equal(o.auth, 1);
	assert_string_equal(o.reason, "callback answered 401 (the receiver refuses the signature: "
			    "check callback_secret): {\"error\":\"bad signature\"}");
	judge(403, CURLE_OK, "", -1, &o);
	assert_int_equal(o.auth, 1);
	judge(422, CURLE_OK, "{\"error\":\"unknown customer\"}\n", -1, &o);
	assert_int_equal(o.verdict, SENDER_FAIL);
	assert_int_equal(o.auth, 0);
	assert_string_equal(o.reason, "callback answered 422: {\"error\":\"unknown customer\"}");
	judge(302, CURLE_OK, "", -1, &o);
	assert_int_equal(o.verdict, SENDER_FAIL);
	assert_non_null(strstr(o.reason, "redirects are not followed"));
}

static void test_excerpt(void **state)
{
	char out[API_CB_EXCERPT_MAX + 1], small[12], *big;

	(void)state;
	api_callback_excerpt("a\r\n\tb  c ", 9, out, sizeof(out));
	assert_string_equal(out, "a b c");
	api_callback_excerpt("caf\xc3\xa9 \xff!", 9, out, sizeof(out));
	assert_string_equal(out, "caf?? ?!");
	api_callback_excerpt("caf\xc3\xa9", 5, out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9");
	api_callback_excerpt("0123456789abcdef", 16, small, sizeof(small));
	assert_string_equal(small, "01234567...");
	/* A cut inside a character drops the character. */
	api_callback_excerpt("0123456\xc3\xa9xyz", 12, small, sizeof(small));
	assert_string_equal(small, "0123456...");
	big = malloc(10000);
	assert_non_null(big);
	memset(big, 'x', 10000);
	api_callback_excerpt(big, 10000, out, sizeof(out));
	assert_int_equal(strlen(out), API_CB_EXCERPT_MAX);
	assert_string_equal(out + API_CB_EXCERPT_MAX - 3, "...");
	free(big);
	api_callback_excerpt("", 0, out, sizeof(out));
	assert_string_equal(out, "");
}

/* ---- the URL ------------------------------------------------------------------------ */

static int url_ok(const char *url, bool insecure)
{
	char why[256] = "";
	int rc = api_callback_url_check(url, insecure, why, sizeof(why));

	assert_true(rc == 0 ? why[0] == '\0' : strncmp(why, "callback_url: ", 14) == 0);
	return rc == 0;
}

static void test_url_check(void **state)
{
	(void)state;
	assert_true(url_ok("https://hooks.example.com/omnigate?x=1", false));
	assert_true(url_ok("HTTPS://hooks.example.com:8443/", false));
	assert_true(url_ok("http://127.0.0.1:9000/cb", false));
	assert_true(url_ok("http://127.9.8.7/cb", false));
	assert_true(url_ok("http://[::1]:9000/cb", false));
	assert_true(url_ok("http://localhost/cb", false));
	assert_false(url_ok("http://hooks.example.com/cb", false));
	assert_true(url_ok("http://hooks.example.com/cb", true));
	assert_false(url_ok("http://10.0.0.1/cb", false));
	assert_false(url_ok("http://127.0.0.1@evil.example.com/cb", false));
	assert_false(url_ok("https://user:pw@hooks.example.com/cb", false));
	assert_false(url_ok("ftp://hooks.example.com/cb", true));
	assert_false(url_ok("hooks.example.com/cb", true));
	assert_false(url_ok("", true));
	assert_false(url_ok("http://", true));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_vectors),
		cmocka_unit_test(test_sign_changes),
		cmocka_unit_test(test_payload_fields),
		cmocka_unit_test(test_payload_absent),
		cmocka_unit_test(test_payload_attachments),
		cmocka_unit_test(test_payload_refused),
		cmocka_unit_test(test_payload_template),
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_excerpt),
		cmocka_unit_test(test_url_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

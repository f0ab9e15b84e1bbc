/*
 * test_sms.c - the SMS channel's parts (connectors/sms/, store/
 * sms_contacts.c): the form decoder, X-Twilio-Signature (Twilio's own
 * vectors from twilio-python, valid, invalid, missing, malformed, replayed
 * with another URL, parameter order), the STOP/START keywords, webhooks
 * into events (a body Twilio sent, from twilio-go; MMS; status callbacks),
 * the Messages request and the judgement of its answers (Twilio's answer
 * and error body from twilio-go), the customers' numbers table and the
 * config check.
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
#include <curl/curl.h>
#include <jansson.h>

#include "connectors/curl_err.h"
#include "connectors/sms/sms_config.h"
#include "connectors/sms/sms_form.h"
#include "connectors/sms/sms_parse.h"
#include "connectors/sms/sms_reply.h"
#include "connectors/sms/sms_rest.h"
#include "connectors/sms/sms_sig.h"
#include "core/err.h"
#include "core/util.h"
#include "proto/proto.h"
#include "store/sms_contacts.h"
#include "tests/unit/testutil.h"

#define FIX GW_FIXTURES "/sms"
#define SID "AC58f1e8f2b1c6b88ca90a012a4be0c279"

static char *read_fixture(const char *rel, size_t *len)
{
	char path[512];
	char *data = NULL;

	snprintf(path, sizeof(path), "%s/%s", FIX, rel);
	assert_int_equal(gw_read_file(path, 1 << 20, &data, len), GW_OK);
	return data;
}

static void parse_ok(const char *body, struct sms_form *f)
{
	char why[160] = "";

	assert_int_equal(sms_form_parse(body, strlen(body), f, why, sizeof(why)), GW_OK);
}

static int parse_rc(const char *body)
{
	struct sms_form f = {0};
	char why[160] = "";
	int rc = sms_form_parse(body, strlen(body), &f, why, sizeof(why));

	if (rc != GW_OK)
		assert_true(why[0] != '\0');
	sms_form_clear(&f);
	return rc;
}

/* ---- the form ------------------------------------------------------------------ */

static void test_form_decode(void **state)
{
	struct sms_form f = {0};
	unsigned n = 7;

	(void)state;
	parse_ok("Body=Hello+there%21&From=%2B15550001111&&Flag&Empty=&Body=again&NumMedia=2", &f);
	assert_int_equal(f.n, 6);
	assert_string_equal(f.pair[0].name, "Body");
	assert_string_equal(f.pair[0].value, "Hello there!");
	assert_int_equal(f.pair[0].value_len, 12);
	assert_string_equal(sms_form_get(&f, "From"), "+15550001111");
	assert_string_equal(sms_form_get(&f, "Flag"), "");
	assert_string_equal(sms_form_get(&f, "Empty"), "");
	assert_string_equal(f.pair[4].value, "again"); /* repeated names kept, in order */
	assert_string_equal(sms_form_get(&f, "Body"), "Hello there!");
	assert_null(sms_form_get(&f, "body"));
	assert_int_equal(sms_form_count(&f, "NumMedia", 10, &n), GW_OK);
	assert_int_equal(n, 2);
	assert_int_equal(sms_form_count(&f, "NumMedia", 1, &n), GW_EPROTO);
	assert_int_equal(sms_form_count(&f, "Body", 10, &n), GW_EPROTO);
	assert_int_equal(sms_form_count(&f, "Absent", 10, &n), GW_OK);
	assert_int_equal(n, 0);
	sms_form_clear(&f);
	/* UTF-8 percent-encoded, and an empty body. */
	parse_ok("Body=%C3%A9t%C3%A9+%E2%9C%93", &f);
	assert_string_equal(sms_form_get(&f, "Body"), "\xc3\xa9t\xc3\xa9 \xe2\x9c\x93");
	sms_form_clear(&f);
	parse_ok("", &f);
	assert_int_equal(f.n, 0);
	sms_form_clear(&f);
}

static void test_form_refused(void **state)
{
	char name[SMS_FORM_NAME_MAX + 8], *many;
	size_t off = 0;

	(void)state;
	assert_int_equal(parse_rc("Body=%"), GW_EPROTO);
	assert_int_equal(parse_rc("Body=%4"), GW_EPROTO);
	assert_int_equal(parse_rc("Body=%zz"), GW_EPROTO);
	assert_int_equal(parse_rc("Body=a%00b"), GW_EPROTO);
	{
		struct sms_form f = {0};
		char why[160];

		assert_int_equal(sms_form_parse("Body=a\0b", 8, &f, why, sizeof(why)), GW_EPROTO);
	}
	assert_int_equal(parse_rc("%4=x"), GW_EPROTO);
	assert_int_equal(parse_rc("=x"), GW_EPROTO);
	memset(name, 'N', SMS_FORM_NAME_MAX + 1);
	snprintf(name + SMS_FORM_NAME_MAX + 1, 4, "=1");
	assert_int_equal(parse_rc(name), GW_ETOOBIG);
	name[SMS_FORM_NAME_MAX] = '=';
	assert_int_equal(parse_rc(name), GW_OK);
	many = malloc((SMS_FORM_MAX_PAIRS + 1) * 4 + 1);
	assert_non_null(many);
	for (int i = 0; i <= SMS_FORM_MAX_PAIRS; i++)
		off += (size_t)snprintf(many + off, 5, "a=1&");
	assert_int_equal(parse_rc(many), GW_ETOOBIG);
	many[SMS_FORM_MAX_PAIRS * 4] = '\0';
	assert_int_equal(parse_rc(many), GW_OK);
	free(many);
}

/* ---- the signature -------------------------------------------------------------- */

static void sign_form(const char *token, const char *url, const char *body, char *out)
{
	struct sms_sig_key *k = sms_sig_key_new(token, strlen(token));
	struct sms_form f = {0};

	assert_non_null(k);
	parse_ok(body, &f);
	assert_int_equal(sms_sig_sign(k, url, &f, out), GW_OK);
	sms_form_clear(&f);
	sms_sig_key_free(k);
}

static int verify_form(const char *token, const char *url, const char *body, const char *sig)
{
	struct sms_sig_key *k = sms_sig_key_new(token, strlen(token));
	struct sms_form f = {0};
	int rc;

	assert_non_null(k);
	parse_ok(body, &f);
	rc = sms_sig_verify(k, url, &f, sig);
	sms_form_clear(&f);
	sms_sig_key_free(k);
	return rc;
}

/* Twilio's vectors (tests/fixtures/sms/twilio-python/signatures.tsv). */
static void test_sig_vectors(void **state)
{
	size_t len = 0, rows = 0;
	char *data = read_fixture("twilio-python/signatures.tsv", &len), *save = NULL;

	(void)state;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[5], *s2 = NULL, sig[SMS_SIG_B64_LEN + 1];
		int k = 0;

		if (line[0] == '#')
			continue;
		for (char *t = strtok_r(line, "\t", &s2); t && k < 5; t = strtok_r(NULL, "\t", &s2))
			f[k++] = t;
		assert_int_equal(k, 5);
		assert_int_equal(verify_form(f[1], f[2], f[3], f[4]), SMS_SIG_OK);
		if (strncmp(f[0], "compute_", 8) == 0) {
			sign_form(f[1], f[2], f[3], sig);
			assert_string_equal(sig, f[4]);
		}
		rows++;
	}
	assert_int_equal(rows, 6);
	free(data);
}

#define URL "https://gw.example.com/webhooks/sms"
#define BODY "MessageSid=SM1&From=%2B15550001111&To=%2B15550009999&Body=Hi+there"

static void test_sig_cases(void **state)
{
	char sig[SMS_SIG_B64_LEN + 1], bad[SMS_SIG_B64_LEN + 1];

	(void)state;
	sign_form("tok", URL, BODY, sig);
	assert_int_equal(verify_form("tok", URL, BODY, sig), SMS_SIG_OK);
	/* the same pairs in another order: the same signature */
	assert_int_equal(verify_form("tok", URL, "Body=Hi+there&To=%2B15550009999&MessageSid=SM1"
				     "&From=%2B15550001111", sig), SMS_SIG_OK);
	/* invalid: one character changed, another token, a value changed or added */
	memcpy(bad, sig, sizeof(bad));
	bad[3] = bad[3] == 'A' ? 'B' : 'A';
	assert_int_equal(verify_form("tok", URL, BODY, bad), SMS_SIG_MISMATCH);
	assert_int_equal(verify_form("other", URL, BODY, sig), SMS_SIG_MISMATCH);
	assert_int_equal(verify_form("tok", URL, BODY "!", sig), SMS_SIG_MISMATCH);
	assert_int_equal(verify_form("tok", URL, BODY "&NumMedia=0", sig), SMS_SIG_MISMATCH);
	/* replayed with another URL: another path, host or scheme */
	assert_int_equal(verify_form("tok", URL "/status", BODY, sig), SMS_SIG_MISMATCH);
	assert_int_equal(verify_form("tok", "https://evil.example.com/webhooks/sms", BODY, sig),
			 SMS_SIG_MISMATCH);
	assert_int_equal(verify_form("tok", "http://gw.example.com/webhooks/sms", BODY, sig),
			 SMS_SIG_MISMATCH);
	/* the default port written out, or a port Twilio did not sign */
	assert_int_equal(verify_form("tok", "https://gw.example.com:443/webhooks/sms", BODY, sig),
			 SMS_SIG_OK);
	assert_int_equal(verify_form("tok", "https://gw.example.com:8443/webhooks/sms", BODY, sig),
			 SMS_SIG_OK);
	/* missing, malformed */
	assert_int_equal(verify_form("tok", URL, BODY, NULL), SMS_SIG_MISSING);
	assert_int_equal(verify_form("tok", URL, BODY, ""), SMS_SIG_MISSING);
	assert_int_equal(verify_form("tok", URL, BODY, "abc"), SMS_SIG_MALFORMED);
	sig[SMS_SIG_B64_LEN - 1] = 'A';
	assert_int_equal(verify_form("tok", URL, BODY, sig), SMS_SIG_MALFORMED);
	assert_int_equal(verify_form("tok", URL, BODY, "!!!!!!!!!!!!!!!!!!!!!!!!!!!="),
			 SMS_SIG_MALFORMED);
	assert_string_equal(sms_sig_result_name(SMS_SIG_MISMATCH), "mismatch");
}

/* ---- keywords --------------------------------------------------------------------- */

static void test_keywords(void **state)
{
	static const char *const stop[] = {"STOP", "stop", " Stop\r\n", "STOPALL", "unsubscribe",
					   "Cancel", "END", "quit", "\tQUIT "};
	static const char *const start[] = {"START", "yes", "Unstop", " start\n"};
	static const char *const none[] = {"", "stop please", "STOP!", "STOPP", "S TOP", "help",
					   "yes please", "ending", NULL};

	(void)state;
	for (size_t i = 0; i < sizeof(stop) / sizeof(stop[0]); i++)
		assert_int_equal(sms_keyword(stop[i]), SMS_KW_STOP);
	for (size_t i = 0; i < sizeof(start) / sizeof(start[0]); i++)
		assert_int_equal(sms_keyword(start[i]), SMS_KW_START);
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_int_equal(sms_keyword(none[i]), SMS_KW_NONE);
}

/* ---- webhooks into events ------------------------------------------------------------ */

static const struct sms_parse_meta meta = {"sms", "twilio-main", SID, 1700000000123};

static int parse_webhook(const char *body, int status_path, struct sms_parsed *p,
			 struct sms_parse_error *err)
{
	struct sms_form f = {0};
	int rc;

	parse_ok(body, &f);
	rc = sms_parse(&f, &meta, status_path, p, err);
	if (rc == GW_OK && p->what != SMS_WH_IGNORED) {
		char *buf = NULL;
		size_t len = 0;
		struct proto_error perr;

		assert_int_equal(proto_encode(&p->ev, &buf, &len, &perr), GW_OK);
		free(buf);
	}
	/* from/to point into the form: compared before it goes */
	if (rc == GW_OK && p->what == SMS_WH_MESSAGE) {
		assert_string_equal(p->from, p->ev.u.message.from.address);
		assert_string_equal(p->to, p->ev.u.message.recipients[0].address);
	}
	p->from = p->to = NULL;
	sms_form_clear(&f);
	return rc;
}

static void test_parse_fixture(void **state)
{
	struct sms_parse_error err;
	struct sms_parsed p;
	size_t len = 0;
	char *body = read_fixture("twilio-go/inbound-sms.form", &len);
	const struct proto_message *m = &p.ev.u.message;
	json_t *raw;

	(void)state;
	assert_int_equal(parse_webhook(body, 0, &p, &err), GW_OK);
	assert_int_equal(p.what, SMS_WH_MESSAGE);
	assert_int_equal(p.ev.type, PROTO_T_MESSAGE_RECEIVED);
	assert_string_equal(m->channel, "sms");
	assert_string_equal(m->account, "twilio-main");
	assert_string_equal(m->external_id, "SM1521fa559fb923c1ed64f56cd1bed8ef");
	assert_string_equal(m->from.address, "+19253920364");
	assert_string_equal(m->text, "twilio-go testing!");
	assert_int_equal(m->received_at, 1700000000123);
	assert_int_equal(m->recipients_len, 1);
	assert_string_equal(m->recipients[0].address, "+19253920364");
	assert_string_equal(m->recipients[0].role, "to");
	assert_null(m->kind);
	assert_int_equal(m->attachments_len, 0);
	assert_int_equal(p.keyword, SMS_KW_NONE);
	raw = json_loads(m->raw, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(raw, "FromCity")), "BRENTWOOD");
	assert_string_equal(json_string_value(json_object_get(raw, "NumSegments")), "1");
	json_decref(raw);
	sms_parsed_clear(&p);
	free(body);
}

static void test_parse_mms_and_keywords(void **state)
{
	struct sms_parse_error err;
	struct sms_parsed p;
	const struct proto_message *m = &p.ev.u.message;

	(void)state;
	assert_int_equal(parse_webhook("MessageSid=MM1&From=%2B15550001111&To=%2B15550009999&"
				       "NumMedia=3&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm%2F0&"
				       "MediaContentType0=image%2Fjpeg&MediaUrl2=https%3A%2F%2Fx%2F2&"
				       "MediaContentType2=application%2Fpdf", 0, &p, &err), GW_OK);
	assert_string_equal(m->text, "");
	assert_int_equal(m->attachments_len, 2);
	assert_string_equal(m->attachments[0].ref, "https://api.twilio.com/m/0");
	assert_string_equal(m->attachments[0].type, "image/jpeg");
	assert_string_equal(m->attachments[0].kind, "image");
	assert_string_equal(m->attachments[0].name, "");
	assert_string_equal(m->attachments[1].kind, "document");
	assert_string_equal(m->kind, "image");
	assert_int_equal(m->warnings_len, 1);
	assert_non_null(strstr(m->warnings[0], "MediaUrl1: missing"));
	sms_parsed_clear(&p);
	/* STOP: kept as a message, marked */
	assert_int_equal(parse_webhook("MessageSid=SM2&From=%2B15550001111&To=%2B1555&Body=+Stop+",
				       0, &p, &err), GW_OK);
	assert_int_equal(p.keyword, SMS_KW_STOP);
	assert_string_equal(m->kind, "opt_out");
	assert_string_equal(m->text, " Stop ");
	sms_parsed_clear(&p);
	/* Twilio's Advanced Opt-Out decides when it says so */
	assert_int_equal(parse_webhook("MessageSid=SM3&From=%2B1&To=%2B2&Body=Arrete&"
				       "OptOutType=STOP", 0, &p, &err), GW_OK);
	assert_int_equal(p.keyword, SMS_KW_STOP);
	sms_parsed_clear(&p);
	assert_int_equal(parse_webhook("MessageSid=SM4&From=%2B1&To=%2B2&Body=yes", 0, &p, &err),
			 GW_OK);
	assert_int_equal(p.keyword, SMS_KW_START);
	assert_string_equal(m->kind, "opt_in");
	sms_parsed_clear(&p);
}

static void test_parse_status(void **state)
{
	struct sms_parse_error err;
	struct sms_parsed p;
	const struct proto_status *s = &p.ev.u.status;

	(void)state;
	assert_int_equal(parse_webhook("MessageSid=SMa&MessageStatus=delivered&SmsStatus=delivered&"
				       "To=%2B15550001111&From=%2B15550009999&AccountSid=" SID,
				       1, &p, &err), GW_OK);
	assert_int_equal(p.what, SMS_WH_STATUS);
	assert_string_equal(s->external_id, "SMa");
	assert_string_equal(s->status, "delivered");
	assert_string_equal(s->status_id, "SMa:delivered");
	assert_string_equal(s->recipient, "+15550001111");
	assert_string_equal(s->account, "twilio-main");
	assert_int_equal(s->status_at, 1700000000123);
	assert_int_equal(s->errors_len, 0);
	sms_parsed_clear(&p);
	/* undelivered with its code; found on the message path too */
	assert_int_equal(parse_webhook("MessageSid=SMa&MessageStatus=undelivered&ErrorCode=30003",
				       0, &p, &err), GW_OK);
	assert_int_equal(p.what, SMS_WH_STATUS);
	assert_string_equal(s->status, "failed");
	assert_string_equal(s->status_id, "SMa:undelivered");
	assert_int_equal(s->errors_len, 1);
	assert_int_equal(s->errors[0].code, 30003);
	assert_string_equal(s->errors[0].title, "Unreachable destination handset");
	assert_non_null(strstr(s->errors[0].message, "docs/errors/30003"));
	sms_parsed_clear(&p);
	assert_int_equal(parse_webhook("MessageSid=SMa&MessageStatus=failed&ErrorCode=12345", 1,
				       &p, &err), GW_OK);
	assert_string_equal(s->errors[0].title, "Twilio error 12345");
	sms_parsed_clear(&p);
	assert_int_equal(parse_webhook("MessageSid=SMa&MessageStatus=failed", 1, &p, &err), GW_OK);
	assert_string_equal(s->errors[0].title, "failed");
	sms_parsed_clear(&p);
	/* no event: queued, sending, unknown statuses */
	for (int i = 0; i < 3; i++) {
		static const char *const w[] = {"queued", "sending", "partially_delivered"};
		char body[128];

		snprintf(body, sizeof(body), "MessageSid=SMa&MessageStatus=%s", w[i]);
		assert_int_equal(parse_webhook(body, 1, &p, &err), GW_OK);
		assert_int_equal(p.what, SMS_WH_IGNORED);
		assert_string_equal(p.status, w[i]);
		sms_parsed_clear(&p);
	}
}

/* parse_fixture_any - fixture `rel` parsed without the AccountSid check
 * (the fixtures' account is a placeholder); *p as sms_parse fills it. */
static void parse_fixture_any(const char *rel, int status_path, struct sms_parsed *p)
{
	static const struct sms_parse_meta any = {"sms", "twilio-main", NULL, 1700000000123};
	struct sms_parse_error err;
	struct sms_form f = {0};
	size_t len = 0;
	char *body = read_fixture(rel, &len);

	parse_ok(body, &f);
	assert_int_equal(sms_parse(&f, &any, status_path, p, &err), GW_OK);
	sms_form_clear(&f);
	free(body);
}

/* Chatwoot's test bodies (tests/fixtures/sms/chatwoot): a status callback
 * of a failed reply with its error, an MMS with two files. Parsed as the
 * connector does, and refused for another account's AccountSid. */
static void test_parse_chatwoot_fixtures(void **state)
{
	struct sms_parse_error err;
	struct sms_parsed p;
	const struct proto_status *s = &p.ev.u.status;
	const struct proto_message *m = &p.ev.u.message;
	size_t len = 0;
	char *body;

	(void)state;
	parse_fixture_any("chatwoot/status-failed-30008.form", 1, &p);
	assert_int_equal(p.what, SMS_WH_STATUS);
	assert_string_equal(s->external_id, "SMd560ac79e4a4d36b3ce59f1f50471986");
	assert_string_equal(s->status, "failed");
	assert_string_equal(s->status_id, "SMd560ac79e4a4d36b3ce59f1f50471986:failed");
	assert_int_equal(s->errors_len, 1);
	assert_int_equal(s->errors[0].code, 30008);
	assert_string_equal(s->errors[0].title, "Unknown error");
	assert_non_null(strstr(s->raw, "\"ErrorMessage\":\"Unknown error\""));
	sms_parsed_clear(&p);

	parse_fixture_any("chatwoot/mms-two-media.form", 0, &p);
	assert_int_equal(p.what, SMS_WH_MESSAGE);
	assert_string_equal(m->external_id, "SMxx");
	assert_string_equal(m->from.address, "+12345");
	assert_string_equal(m->text, "testing multiple media");
	assert_int_equal(m->attachments_len, 2);
	assert_string_equal(m->attachments[0].ref, "https://chatwoot-assets.local/sample.png");
	assert_string_equal(m->attachments[0].type, "image/png");
	assert_string_equal(m->attachments[1].ref, "https://chatwoot-assets.local/sample.jpg");
	assert_string_equal(m->attachments[1].type, "image/jpeg");
	assert_string_equal(m->kind, "image");
	sms_parsed_clear(&p);

	/* Their AccountSid is not this instance's: refused. */
	body = read_fixture("chatwoot/mms-two-media.form", &len);
	assert_int_equal(parse_webhook(body, 0, &p, &err), GW_EAUTH);
	sms_parsed_clear(&p);
	free(body);
}

static void test_parse_refused(void **state)
{
	struct sms_parse_error err;
	struct sms_parsed p;
	char body[600];

	(void)state;
	assert_int_equal(parse_webhook("From=%2B1&To=%2B2&Body=x", 0, &p, &err), GW_EMISSING);
	assert_string_equal(err.message, "MessageSid: required");
	assert_int_equal(parse_webhook("MessageSid=SM1&To=%2B2", 0, &p, &err), GW_EMISSING);
	assert_string_equal(err.message, "From: required");
	assert_int_equal(parse_webhook("MessageSid=SM1&From=%2B1", 0, &p, &err), GW_EMISSING);
	assert_int_equal(parse_webhook("MessageSid=SM1&From=%2B1&To=%2B2&NumMedia=x", 0, &p, &err),
			 GW_EPROTO);
	assert_int_equal(parse_webhook("MessageSid=SM1&From=%2B1&To=%2B2&Body=%FF", 0, &p, &err),
			 GW_EPROTO);
	assert_string_equal(err.message, "Body: not UTF-8");
	assert_int_equal(parse_webhook("MessageSid=SM1&From=%2B1&To=%2B2&AccountSid=ACother", 0, &p,
				       &err), GW_EAUTH);
	assert_int_equal(parse_webhook("MessageSid=SM1&From=%2B1&To=%2B2", 1, &p, &err),
			 GW_EMISSING);
	assert_string_equal(err.message, "MessageStatus: required");
	memset(body, 0, sizeof(body));
	memcpy(body, "MessageSid=", 11);
	memset(body + 11, 'S', 300);
	memcpy(body + 311, "&From=1&To=2", 12);
	assert_int_equal(parse_webhook(body, 0, &p, &err), GW_ETOOBIG);
}

/* ---- the Messages resource ------------------------------------------------------------ */

static void test_rest_request(void **state)
{
	static const char *const media[] = {"https://example.com/a b.png"};
	struct sms_rest_msg m = {"+15550001111", "+15550009999", "Hi & bye = 100% +ok", media, 1,
				 "https://gw.example.com/webhooks/sms/status"};
	struct sms_form f = {0};
	char url[256], *body = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(sms_rest_url("https://api.twilio.com", SID, url, sizeof(url)), GW_OK);
	assert_string_equal(url, "https://api.twilio.com/2010-04-01/Accounts/" SID "/Messages.json");
	assert_int_equal(sms_rest_url("https://api.twilio.com", SID, url, 40), GW_ETOOBIG);
	assert_int_equal(sms_rest_body(&m, &body, &len), GW_OK);
	assert_int_equal(strlen(body), len);
	assert_null(strpbrk(body, " +")); /* every value percent-encoded */
	parse_ok(body, &f);
	assert_int_equal(f.n, 5);
	assert_string_equal(sms_form_get(&f, "To"), "+15550001111");
	assert_string_equal(sms_form_get(&f, "From"), "+15550009999");
	assert_string_equal(sms_form_get(&f, "Body"), "Hi & bye = 100% +ok");
	assert_string_equal(sms_form_get(&f, "MediaUrl"), media[0]);
	assert_string_equal(sms_form_get(&f, "StatusCallback"),
			    "https://gw.example.com/webhooks/sms/status");
	sms_form_clear(&f);
	free(body);
	/* media only, no callback: no Body, no StatusCallback */
	m.body = "";
	m.status_callback = NULL;
	assert_int_equal(sms_rest_body(&m, &body, &len), GW_OK);
	parse_ok(body, &f);
	assert_int_equal(f.n, 3);
	assert_null(sms_form_get(&f, "Body"));
	sms_form_clear(&f);
	free(body);
}

static void judge(long status, CURLcode res, const char *body, int64_t retry_after,
		  struct sender_outcome *out, struct sms_rest_answer *ans)
{
	struct sender_attempt a = {0, 0, gw_curl_err(res), status, body, strlen(body), retry_after,
				   res == CURLE_OK ? "" : "Connection refused"};

	memset(out, 0, sizeof(*out));
	sms_rest_judge(&a, "twilio-main", out, ans);
}

static void test_rest_judge(void **state)
{
	struct sender_outcome o;
	struct sms_rest_answer seg = {9, 9};
	size_t len = 0;
	char *created = read_fixture("twilio-go/message-create.json", &len);
	char *notfound = read_fixture("twilio-go/error-20404.json", &len);

	(void)state;
	judge(201, CURLE_OK, created, -1, &o, &seg);
	assert_int_equal(o.verdict, SENDER_DONE);
	assert_string_equal(o.ref_account, "twilio-main");
	assert_string_equal(o.ref_id, "SM9b7db369463c439384fe9abb09751af8");
	assert_int_equal(seg.segments, 1);
	judge(201, CURLE_OK, "{\"sid\":\"SMx\",\"status\":\"queued\",\"num_segments\":\"3\"}", -1,
	      &o, &seg);
	assert_int_equal(seg.segments, 3);
	judge(200, CURLE_OK, "{}", -1, &o, &seg); /* taken, without a sid */
	assert_int_equal(o.verdict, SENDER_DONE);
	assert_string_equal(o.ref_id, "");
	assert_int_equal(seg.segments, 0);
	assert_int_equal(seg.error_code, 0);
	judge(400, CURLE_OK, "{\"code\": 21610, \"message\": \"Attempt to send to unsubscribed "
	      "recipient\", \"more_info\": \"https://www.twilio.com/docs/errors/21610\", "
	      "\"status\": 400}", -1, &o, &seg);
	assert_int_equal(o.verdict, SENDER_FAIL);
	assert_int_equal(o.auth, 0);
	assert_string_equal(o.reason, "Twilio error 21610 (HTTP 400): Attempt to send to "
			    "unsubscribed recipient");
	assert_int_equal(seg.error_code, SMS_REST_UNSUBSCRIBED);
	judge(400, CURLE_OK, "{\"code\": 21211, \"status\": 400}", -1, &o, &seg);
	assert_int_equal(seg.error_code, 21211);
	assert_string_equal(o.reason, "Twilio error 21211 (HTTP 400): Invalid 'To' phone number");
	judge(404, CURLE_OK, notfound, -1, &o, &seg);
	assert_int_equal(o.verdict, SENDER_FAIL);
	assert_non_null(strstr(o.reason, "Twilio error 20404 (HTTP 404): The requested resource"));
	judge(401, CURLE_OK, "{\"code\": 20003, \"message\": \"Authenticate\", \"status\": 401}",
	      -1, &o, &seg);
	assert_int_equal(o.verdict, SENDER_FAIL);
	assert_int_equal(o.auth, 1);
	assert_string_equal(o.reason, "Twilio error 20003 (HTTP 401): Authenticate (check "
			    "account_sid and auth_token)");
	judge(429, CURLE_OK, "{\"code\": 20429, \"message\": \"Too Many Requests\"}", 2000, &o,
	      &seg);
	assert_int_equal(o.verdict, SENDER_RETRY);
	assert_int_equal(o.slow_down, 1);
	assert_int_equal(o.retry_after_ms, 2000);
	judge(503, CURLE_OK, "<html>\n<b>down</b></html>", -1, &o, &seg);
	assert_int_equal(o.verdict, SENDER_RETRY);
	assert_int_equal(o.slow_down, 0);
	assert_string_equal(o.reason, "Twilio answered HTTP 503: <html> <b>down</b></html>");
	judge(0, CURLE_COULDNT_CONNECT, "", -1, &o, &seg);
	assert_int_equal(o.verdict, SENDER_RETRY);
	assert_string_equal(o.reason, "Twilio: Connection refused");
	judge(302, CURLE_OK, "", -1, &o, &seg);
	assert_int_equal(o.verdict, SENDER_FAIL);
	assert_non_null(strstr(o.reason, "redirects are not followed"));
	free(created);
	free(notfound);
}

/* ---- the customers' numbers ---------------------------------------------------------------- */

static void test_contacts(void **state)
{
	char dir[] = "/tmp/test_sms_contacts.XXXXXX", key[PROTO_MAX_ADDRESS + 2];
	struct sms_contacts *c = NULL;
	struct sms_contact r = {"+15550009999", 1, 111, 222}, got;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(sms_contacts_open(dir, 1 << 20, &c), GW_OK);
	assert_int_equal(sms_contacts_get(c, "+15550001111", &got), GW_ENOTFOUND);
	assert_int_equal(sms_contacts_put(c, "+15550001111", &r), GW_OK);
	sms_contacts_close(c);
	/* durable: read back after reopening */
	assert_int_equal(sms_contacts_open(dir, 1 << 20, &c), GW_OK);
	assert_int_equal(sms_contacts_get(c, "+15550001111", &got), GW_OK);
	assert_string_equal(got.number, "+15550009999");
	assert_int_equal(got.opted_out, 1);
	assert_int_equal(got.changed_at, 111);
	assert_int_equal(got.updated_at, 222);
	r.opted_out = 0;
	assert_int_equal(sms_contacts_put(c, "+15550001111", &r), GW_OK);
	assert_int_equal(sms_contacts_get(c, "+15550001111", &got), GW_OK);
	assert_int_equal(got.opted_out, 0);
	memset(key, '1', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_int_equal(sms_contacts_put(c, key, &r), GW_ETOOBIG);
	assert_int_equal(sms_contacts_get(c, key, &got), GW_ENOTFOUND);
	assert_int_equal(sms_contacts_put(c, "", &r), GW_ETOOBIG);
	sms_contacts_close(c);
	sms_contacts_close(NULL);
	test_rmtree(dir);
}

/* ---- the config check ------------------------------------------------------------------------- */

static int check(const char *sid, const char *public_url, const char *api_base,
		 const char *status_path)
{
	struct sms_settings s = {0};
	char why[256] = "";
	int rc;

	s.account_sid = (char *)sid;
	s.auth_token = "token";
	s.public_url = (char *)public_url;
	s.api_base = (char *)api_base;
	s.path = "/webhooks/sms";
	s.status_path = (char *)status_path;
	rc = sms_conf_type.check(&s, why, sizeof(why));
	assert_true(rc == GW_OK || why[0]);
	return rc;
}

static void test_config_check(void **state)
{
	const char *ok = "https://gw.example.com", *api = "https://api.twilio.com";
	const char *st = "/webhooks/sms/status";

	(void)state;
	assert_int_equal(check(SID, ok, api, st), GW_OK);
	assert_int_equal(check(SID, "https://gw.example.com:8443/omnigate", api, st), GW_OK);
	assert_int_equal(check(SID, ok, "http://127.0.0.1:9000", st), GW_OK);
	assert_int_equal(check("AC123", ok, api, st), GW_ECONFIG);
	assert_int_equal(check("XX58f1e8f2b1c6b88ca90a012a4be0c279", ok, api, st), GW_ECONFIG);
	assert_int_equal(check("AC58f1e8f2b1c6b88ca90a012a4be0c27/", ok, api, st), GW_ECONFIG);
	assert_int_equal(check(SID, "https://gw.example.com/", api, st), GW_ECONFIG);
	assert_int_equal(check(SID, "https://gw.example.com?a=1", api, st), GW_ECONFIG);
	assert_int_equal(check(SID, "ftp://gw.example.com", api, st), GW_ECONFIG);
	assert_int_equal(check(SID, "https://u:p@gw.example.com", api, st), GW_ECONFIG);
	assert_int_equal(check(SID, ok, "http://api.twilio.com", st), GW_ECONFIG);
	assert_int_equal(check(SID, ok, "https://api.twilio.com/", st), GW_ECONFIG);
	assert_int_equal(check(SID, ok, api, "/webhooks/sms"), GW_ECONFIG);
	assert_int_equal(check(SID, ok, api, "/healthz"), GW_ECONFIG);
	assert_int_equal(check(SID, ok, api, "status"), GW_ECONFIG);
	assert_string_equal(SMS_OPTED_OUT_REASON, "the customer opted out of SMS (STOP)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_decode),
		cmocka_unit_test(test_form_refused),
		cmocka_unit_test(test_sig_vectors),
		cmocka_unit_test(test_sig_cases),
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_parse_fixture),
		cmocka_unit_test(test_parse_mms_and_keywords),
		cmocka_unit_test(test_parse_status),
		cmocka_unit_test(test_parse_chatwoot_fixtures),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_rest_request),
		cmocka_unit_test(test_rest_judge),
		cmocka_unit_test(test_contacts),
		cmocka_unit_test(test_config_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

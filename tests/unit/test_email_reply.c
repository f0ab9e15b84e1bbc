/*
 * test_email_reply.c - a reply (message.sent) as the MIME message the
 * customer receives: the headers written, read back by the gateway's own
 * email parser (GMime) as a customer's mail client would; the Message-ID
 * that the parser reads from an answer's In-Reply-To equals the reference
 * the connector reports, so the answer threads into the reply's ticket;
 * the subject rules; the transfer encodings; attachments from the store;
 * every refusal with its reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "connectors/email/email_config.h"
#include "connectors/email/email_parse.h"
#include "connectors/email/email_reply.h"
#include "core/err.h"
#include "store/attachments.h"
#include "testutil.h"

#define EXT "reply-7-0123456789abcdef0123456789abcdef"

struct fx {
	char dir[64], other[80];
	char hex[ATTACH_HEX_LEN + 1];
	char ref[80];
	struct proto_party to;
	struct proto_attachment att;
	char *chain[3];
	struct proto_message m;
	struct email_reply_options opt;
};

static int fx_setup(void **state)
{
	static const char pdf[] = "%PDF-1.4 not really a pdf\n\x01\x02\x03";
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	email_parse_init();
	test_tmpdir(f->dir, sizeof(f->dir), "reply");
	snprintf(f->other, sizeof(f->other), "%s/none", f->dir);
	if (attach_put(f->dir, pdf, sizeof(pdf) - 1, 1 << 20, f->hex) != GW_OK)
		return -1;
	snprintf(f->ref, sizeof(f->ref), "sha256:%s", f->hex);
	f->to = (struct proto_party){.address = "jose@example.com", .name = "José Núñez"};
	f->att = (struct proto_attachment){.name = "facture août.pdf", .type = "application/pdf",
					   .ref = f->ref};
	f->chain[0] = "root@customer.test";
	f->chain[1] = "derived-0011"; /* a message that had no Message-ID */
	f->chain[2] = "Last.One@Customer.Test";
	f->m = (struct proto_message){
		.channel = "email", .account = "mail", .external_id = EXT,
		.from = {.address = "mail", .name = "Ann Agent"},
		.subject = "RE: Re: Order 1234 [#T-3]",
		.text = "Bonjour José,\nvotre commande est partie.\n-- Ann",
		.reply_to = f->chain, .reply_to_len = 3, .ticket_id = 5,
		.direction = "outbound", .to = &f->to,
	};
	f->opt = (struct email_reply_options){
		.from = "Support@ACME.test", .attach_dirs = {f->other, f->dir},
		.max_bytes = 1 << 20, .now_ms = 1764000000000LL,
	};
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	test_rmtree(f->dir);
	free(f);
	return 0;
}

/* header - the value of the first header `name` of raw message `s` (its
 * first line), into buf. */
static const char *header(const char *s, const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);

	buf[0] = '\0';
	for (const char *p = s; p && *p && strncmp(p, "\r\n", 2) != 0; p = strstr(p, "\r\n") + 2) {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			size_t len = strcspn(p + n + 2, "\r");

			snprintf(buf, size, "%.*s", (int)len, p + n + 2);
			return buf;
		}
		if (!strstr(p, "\r\n"))
			break;
	}
	return buf;
}

static void parse(const struct email_reply *r, struct email_result *res)
{
	struct email_parse_options po = {.account = "mail", .received_at = 1,
					 .max_message_bytes = 1 << 20};

	assert_int_equal(email_parse(r->data, r->len, &po, res), GW_OK);
	assert_int_equal(res->verdict, EMAIL_INGEST);
}

/* ---- the message -------------------------------------------------------------- */

static void test_headers_and_read_back(void **state)
{
	struct fx *f = *state;
	struct email_reply r;
	struct email_result res;
	const struct proto_message *m;
	char why[256], h[512];

	f->m.attachments = &f->att;
	f->m.attachments_len = 1;
	assert_int_equal(email_reply_build(&f->opt, &f->m, &r, why, sizeof(why)), GW_OK);
	/* CRLF everywhere, no bare LF; the headers a client shows. */
	for (size_t i = 0; i < r.len; i++)
		if (r.data[i] == '\n')
			assert_int_equal(r.data[i - 1], '\r');
	assert_string_equal(r.message_id, EXT "@acme.test");
	assert_string_equal(r.to, "jose@example.com");
	assert_string_equal(header(r.data, "Message-Id", h, sizeof(h)), "<" EXT "@acme.test>");
	assert_string_equal(header(r.data, "In-Reply-To", h, sizeof(h)),
			    "<Last.One@Customer.Test>");
	assert_string_equal(header(r.data, "References", h, sizeof(h)),
			    "<root@customer.test> <Last.One@Customer.Test>");
	assert_string_equal(header(r.data, "MIME-Version", h, sizeof(h)), "1.0");
	assert_non_null(strstr(header(r.data, "Date", h, sizeof(h)), "2025"));
	assert_null(strstr(r.data, "Auto-Submitted"));
	assert_null(strstr(r.data, "auto-submitted"));
	assert_non_null(strstr(r.data, "Content-Type: text/plain; charset=utf-8"));
	assert_non_null(strstr(r.data, "Content-Transfer-Encoding: quoted-printable"));
	assert_non_null(strstr(r.data, "multipart/mixed"));

	/* What a mail client (here GMime, through the gateway's parser) reads. */
	memset(&res, 0, sizeof(res));
	parse(&r, &res);
	m = &res.ev.u.message;
	assert_string_equal(m->external_id, r.message_id);
	assert_string_equal(m->from.address, "support@acme.test");
	assert_string_equal(m->from.name, "Ann Agent");
	assert_string_equal(m->subject, "Re: Order 1234 [#T-5]");
	assert_string_equal(m->text, f->m.text);
	assert_int_equal(m->recipients_len, 1);
	assert_string_equal(m->recipients[0].address, "jose@example.com");
	assert_int_equal(m->reply_to_len, 2);
	assert_string_equal(m->reply_to[1], "Last.One@Customer.Test");
	assert_int_equal(m->attachments_len, 1);
	assert_string_equal(m->attachments[0].name, "facture août.pdf");
	assert_string_equal(m->attachments[0].type, "application/pdf");
	assert_string_equal(m->attachments[0].ref, f->ref);
	email_result_clear(&res);
	email_reply_free(&r);
}

/* smtp.from defaults to the mailbox's username when that is an address;
 * from_name, when set, is the From's display name instead of the agent's. */
static void test_from_default_and_name(void **state)
{
	struct fx *f = *state;
	struct email_settings s;
	struct email_reply r;
	struct email_result res;
	char why[256];

	memset(&s, 0, sizeof(s));
	s.username = "support@acme.test";
	assert_null(email_settings_from(&s)); /* no smtp block */
	s.smtp.url = "smtp://127.0.0.1";
	assert_string_equal(email_settings_from(&s), "support@acme.test");
	s.smtp.from = "help@acme.test";
	assert_string_equal(email_settings_from(&s), "help@acme.test");
	s.smtp.from = NULL;
	s.username = "support";
	assert_null(email_settings_from(&s)); /* a login that is no address */

	f->opt.from_name = "ACME Support";
	assert_int_equal(email_reply_build(&f->opt, &f->m, &r, why, sizeof(why)), GW_OK);
	memset(&res, 0, sizeof(res));
	parse(&r, &res);
	assert_string_equal(res.ev.u.message.from.address, "support@acme.test");
	assert_string_equal(res.ev.u.message.from.name, "ACME Support");
	email_result_clear(&res);
	email_reply_free(&r);
}

/* An automatic message (acknowledgement, ...) carries Auto-Submitted:
 * auto-replied (RFC 3834), which the gateway's own parser flags as an
 * auto-reply; the human reply above carries none. */
static void test_automatic_auto_submitted(void **state)
{
	struct fx *f = *state;
	struct email_reply r;
	struct email_result res;
	char why[256], h[512];

	f->m.automatic = "acknowledgement";
	assert_int_equal(email_reply_build(&f->opt, &f->m, &r, why, sizeof(why)), GW_OK);
	f->m.automatic = NULL;
	assert_string_equal(header(r.data, "Auto-Submitted", h, sizeof(h)), "auto-replied");
	memset(&res, 0, sizeof(res));
	parse(&r, &res);
	assert_true(res.ev.u.message.auto_reply);
	email_result_clear(&res);
	email_reply_free(&r);
}

/* The customer's answer names our Message-ID in In-Reply-To: the parser's
 * reading of it is exactly the reference the connector reports, which the
 * router keeps as a key of the reply (reply_reference). */
static void test_answer_names_our_reference(void **state)
{
	struct fx *f = *state;
	struct email_reply r;
	struct email_result res;
	char why[256], id[300], answer[1024];
	const struct proto_message *m;
	int n;

	f->opt.from = "Help Desk <x@y>"; /* not an address */
	assert_int_equal(email_reply_build(&f->opt, &f->m, &r, why, sizeof(why)), GW_EINVAL);
	assert_string_equal(why, "smtp.from is not an address");
	f->opt.from = "support@Acme.Test";
	assert_int_equal(email_reply_build(&f->opt, &f->m, &r, why, sizeof(why)), GW_OK);
	header(r.data, "Message-Id", id, sizeof(id));
	n = snprintf(answer, sizeof(answer),
		     "From: Jose <jose@example.com>\r\nTo: support@acme.test\r\n"
		     "Subject: Re: Re: Order 1234 [#T-5]\r\nMessage-ID: <answer-1@example.com>\r\n"
		     "In-Reply-To: %s\r\nReferences: <root@customer.test> %s\r\n"
		     "\r\nThanks!\r\n", id, id);
	memset(&res, 0, sizeof(res));
	assert_int_equal(email_parse(answer, (size_t)n,
				     &(struct email_parse_options){.account = "mail",
								   .max_message_bytes = 1 << 20},
				     &res),
			 GW_OK);
	m = &res.ev.u.message;
	assert_true(m->reply_to_len >= 1);
	assert_string_equal(m->reply_to[m->reply_to_len - 1], r.message_id);
	email_result_clear(&res);
	email_reply_free(&r);
}

/* The same reply built twice (a retry, a restart) has the same Message-ID. */
static void test_message_id_stable(void **state)
{
	struct fx *f = *state;
	struct email_reply a, b;
	char why[256], ha[300], hb[300];

	assert_int_equal(email_reply_build(&f->opt, &f->m, &a, why, sizeof(why)), GW_OK);
	f->opt.now_ms += 3600000;
	assert_int_equal(email_reply_build(&f->opt, &f->m, &b, why, sizeof(why)), GW_OK);
	assert_string_equal(header(a.data, "Message-Id", ha, sizeof(ha)),
			    header(b.data, "Message-Id", hb, sizeof(hb)));
	assert_string_equal(a.message_id, b.message_id);
	email_reply_free(&a);
	email_reply_free(&b);
}

static void test_encodings(void **state)
{
	struct fx *f = *state;
	struct email_reply r;
	struct email_result res;
	char why[256], *longline;

	/* Plain ASCII in short lines: 7bit, no multipart. */
	f->m.text = "Your order has shipped.\nRegards";
	assert_int_equal(email_reply_build(&f->opt, &f->m, &r, why, sizeof(why)), GW_OK);
	assert_non_null(strstr(r.data, "Content-Transfer-Encoding: 7bit"));
	assert_non_null(strstr(r.data, "\r\n\r\nYour order has shipped.\r\nRegards"));
	assert_null(strstr(r.data, "multipart"));
	email_reply_free(&r);

	/* A line over 998 bytes: quoted-printable, read back whole. */
	longline = malloc(3001);
	assert_non_null(longline);
	memset(longline, 'a', 3000);
	longline[3000] = '\0';
	f->m.text = longline;
	assert_int_equal(email_reply_build(&f->opt, &f->m, &r, why, sizeof(why)), GW_OK);
	assert_non_null(strstr(r.data, "Content-Transfer-Encoding: quoted-printable"));
	for (const char *p = r.data; (p = strstr(p, "\r\n")); p += 2)
		assert_true(strcspn(p + 2, "\r") <= 998);
	memset(&res, 0, sizeof(res));
	parse(&r, &res);
	assert_string_equal(res.ev.u.message.text, longline);
	email_result_clear(&res);
	email_reply_free(&r);
	free(longline);

	/* Japanese: quoted-printable too (not base64), utf-8. */
	f->m.text = "ご注文は発送されました。";
	assert_int_equal(email_reply_build(&f->opt, &f->m, &r, why, sizeof(why)), GW_OK);
	assert_non_null(strstr(r.data, "Content-Transfer-Encoding: quoted-printable"));
	assert_non_null(strstr(r.data, "charset=utf-8"));
	memset(&res, 0, sizeof(res));
	parse(&r, &res);
	assert_string_equal(res.ev.u.message.text, "ご注文は発送されました。");
	email_result_clear(&res);
	email_reply_free(&r);
}

/* ---- the subject ------------------------------------------------------------------ */

static void test_subject(void **state)
{
	static const struct {
		const char *in;
		uint64_t ticket;
		const char *want;
	} cases[] = {
		{"Order 1234", 5, "Re: Order 1234 [#T-5]"},
		{"Re: Order 1234", 5, "Re: Order 1234 [#T-5]"},
		{"RE: re : Re[2]: Re(3):Order 1234", 5, "Re: Order 1234 [#T-5]"},
		{"Re: Order 1234 [#T-5]", 5, "Re: Order 1234 [#T-5]"},
		{"[#t-5] Order 1234", 5, "Re: Order 1234 [#T-5]"},
		{"Order [#T-3] 1234", 5, "Re: Order 1234 [#T-5]"},
		{"Reply about order", 5, "Re: Reply about order [#T-5]"},
		{"Order   1234\t", 5, "Re: Order 1234 [#T-5]"},
		{"", 5, "Re: [#T-5]"},
		{NULL, 12, "Re: [#T-12]"},
		{"Order 1234", 0, "Re: Order 1234"},
		{"", 0, "Re:"},
		{"[#T-] [#T-x] kept", 5, "Re: [#T-] [#T-x] kept [#T-5]"},
	};
	char out[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		email_reply_subject(cases[i].in, cases[i].ticket, out, sizeof(out));
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("subject %zu: %s -> \"%s\", want \"%s\"", i,
				 cases[i].in ? cases[i].in : "(null)", out, cases[i].want);
	}
	/* Cut to fit, on a character boundary, the token kept whole. */
	email_reply_subject("ééééééééééééééééééééé", 77, out, 24);
	assert_true(strlen(out) < 24);
	assert_non_null(strstr(out, " [#T-77]"));
}

/* ---- refusals ----------------------------------------------------------------------- */

static void expect_refusal(struct fx *f, int want, const char *why_want)
{
	struct email_reply r;
	char why[256];

	assert_int_equal(email_reply_build(&f->opt, &f->m, &r, why, sizeof(why)), want);
	assert_null(r.data);
	if (!strstr(why, why_want))
		fail_msg("why: \"%s\", want \"%s\" in it", why, why_want);
}

static void test_refusals(void **state)
{
	struct fx *f = *state;
	struct proto_attachment gone = {.name = "x.pdf", .type = "application/pdf",
					.ref = "sha256:00000000000000000000000000000000000000000000"
					       "00000000000000000000"};
	struct proto_attachment link = {.name = "x.pdf", .type = "application/pdf",
					.ref = "https://cdn.example.com/x.pdf"};
	struct proto_party phone = {.address = "+15550001111"};
	struct proto_template tmpl = {.name = "hello", .language = "en"};

	f->m.attachments_len = 1;
	f->m.attachments = &gone;
	expect_refusal(f, GW_EMISSING, "attachment 1: sha256:0000");
	f->m.attachments = &link;
	expect_refusal(f, GW_EINVAL, "attachment 1: email replies attach files of the "
		       "attachments store");
	f->m.attachments = &f->att;
	f->opt.max_bytes = 2000;
	expect_refusal(f, GW_ETOOBIG, "over smtp.max_message_bytes (2000)");
	f->opt.max_bytes = 1 << 20;
	f->m.attachments_len = 0;
	f->m.to = &phone;
	expect_refusal(f, GW_EINVAL, "the customer's address is not an email address");
	f->m.to = &f->to;
	f->m.tmpl = &tmpl;
	expect_refusal(f, GW_EINVAL, "email has no templates");
	f->m.tmpl = NULL;
	f->m.external_id = "reply-7-<x>";
	expect_refusal(f, GW_EINVAL, "no usable external_id");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_headers_and_read_back, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_automatic_auto_submitted, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_from_default_and_name, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_answer_names_our_reference, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_message_id_stable, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_encodings, fx_setup, fx_teardown),
		cmocka_unit_test(test_subject),
		cmocka_unit_test_setup_teardown(test_refusals, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

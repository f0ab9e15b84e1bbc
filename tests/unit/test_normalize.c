/* test_normalize.c - one spelling per email address and phone number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "router/rules/normalize.h"

static void email_ok(const char *in, const char *want)
{
	char out[256];

	memset(out, 'x', sizeof(out));
	if (norm_email(in, out, sizeof(out)) != GW_OK)
		fail_msg("norm_email(\"%s\") refused", in);
	if (strcmp(out, want) != 0)
		fail_msg("norm_email(\"%s\") = \"%s\", want \"%s\"", in, out, want);
}

static void email_bad(const char *in)
{
	char out[256];

	memset(out, 'x', sizeof(out));
	if (norm_email(in, out, sizeof(out)) != GW_EINVAL)
		fail_msg("norm_email(\"%s\") accepted as \"%s\"", in, out);
	assert_string_equal(out, "");
}

static void email_case_and_forms(void **state)
{
	(void)state;
	email_ok("Ann.Lee@Example.COM", "ann.lee@example.com");
	email_ok("  ann@example.com \r\n", "ann@example.com");
	email_ok("Ann <Ann.Lee+x@Example.COM>", "ann.lee+x@example.com");
	email_ok("\"Lee, Ann\" <ann@x.org>", "ann@x.org");
	email_ok("\"a<b\" < Ann@X.org >", "ann@x.org");
	email_ok("<ann@x.org>", "ann@x.org");
	email_ok("mailto:Ann@X.org", "ann@x.org");
	email_ok("MAILTO:ann@x.org?subject=Hello", "ann@x.org");
	email_ok("<mailto:ann@x.org>", "ann@x.org");
	/* Dots and tags are significant: kept. */
	email_ok("a.n.n+Tag@gmail.com", "a.n.n+tag@gmail.com");
	email_ok("o'brien!#$%&*=?^`{|}~@x.org", "o'brien!#$%&*=?^`{|}~@x.org");
	email_ok("ann@sub-1.mail_host.x.org", "ann@sub-1.mail_host.x.org");
	/* Internationalized domain: bytes kept, no IDN conversion. */
	email_ok("ann@B\xc3\xbc" "cher.DE", "ann@b\xc3\xbc" "cher.de");
}

static void email_quoted_local_part_kept(void **state)
{
	(void)state;
	email_ok("\"Ann Lee\"@Example.COM", "\"Ann Lee\"@example.com");
	email_ok("\"A@B\"@X.ORG", "\"A@B\"@x.org");
	email_ok("\"Say \\\"Hi\\\"\"@x.org", "\"Say \\\"Hi\\\"\"@x.org");
	email_ok("Ann <\"Ann.Lee\"@X.org>", "\"Ann.Lee\"@x.org");
}

static void email_invalid(void **state)
{
	(void)state;
	email_bad("");
	email_bad("   ");
	email_bad("ann.example.com");       /* no @ */
	email_bad("ann@b@example.com");     /* two @ */
	email_bad("@example.com");          /* empty local part */
	email_bad("\"\"@example.com");      /* empty quoted local part */
	email_bad("ann@");                  /* empty domain */
	email_bad("ann@example..com");      /* empty label */
	email_bad("ann@.example.com");      /* empty label */
	email_bad("ann@example.com.");      /* empty last label */
	email_bad("ann lee@example.com");   /* space */
	email_bad("ann@exa mple.com");      /* space */
	email_bad("ann@example.com extra"); /* trailing words */
	email_bad("\"ann@example.com");     /* unterminated quote */
	email_bad("\"ann\"x@example.com");  /* quote is not the whole part */
	email_bad("an(n)@example.com");     /* specials */
	email_bad("ann@[192.0.2.1]");       /* domain literal */
	email_bad("Ann ann@x.org>");        /* '>' without '<' */
	email_bad("Ann <>");
	email_bad("mailto:");
	email_bad("ann\x01@x.org");
	assert_int_equal(norm_email(NULL, NULL, 0), GW_EINVAL);
}

static void email_out_too_small(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(norm_email("ann@x.org", out, 10), GW_OK); /* 9 + NUL fits */
	assert_string_equal(out, "ann@x.org");
	assert_int_equal(norm_email("ann@x.org", out, 9), GW_ETOOBIG);
	assert_string_equal(out, "");
	assert_int_equal(norm_email("ann@x.org", NULL, 0), GW_ETOOBIG);
}

static void phone_ok(const char *in, const char *region, const char *want)
{
	char out[32];

	memset(out, 'x', sizeof(out));
	if (norm_phone(in, region, out, sizeof(out)) != GW_OK)
		fail_msg("norm_phone(\"%s\", %s) refused", in, region ? region : "NULL");
	if (strcmp(out, want) != 0)
		fail_msg("norm_phone(\"%s\") = \"%s\", want \"%s\"", in, out, want);
}

static void phone_bad(const char *in, const char *region)
{
	char out[32];

	memset(out, 'x', sizeof(out));
	if (norm_phone(in, region, out, sizeof(out)) != GW_EINVAL)
		fail_msg("norm_phone(\"%s\", %s) accepted as \"%s\"", in,
			 region ? region : "NULL", out);
	assert_string_equal(out, "");
}

static void phone_forms(void **state)
{
	(void)state;
	phone_ok("+33 6 12 34 56 78", NULL, "+33612345678");
	phone_ok("+33 6 12 34 56 78", "US", "+33612345678"); /* '+' wins over region */
	phone_ok("06 12 34 56 78", "FR", "+33612345678");
	phone_ok("06.12.34.56.78", "fr", "+33612345678"); /* region case-insensitive */
	phone_ok("(650) 253-0000", "US", "+16502530000");
	phone_ok("+1 650-253-0000", "", "+16502530000");
	phone_ok("030 123456", "DE", "+4930123456");
	phone_ok("tel:+49-30-123456", NULL, "+4930123456");
	/* Brazil: national forms in region BR, and a mobile number written
	 * with the eight digits it had before 2016 gets its ninth. */
	phone_ok("11 98765-4321", "BR", "+5511987654321");
	phone_ok("(11) 98765-4321", "br", "+5511987654321");
	phone_ok("+55 11 98765-4321", NULL, "+5511987654321");
	phone_ok("+55 11 8765-4321", NULL, "+5511987654321");
	phone_ok("11 8765-4321", "BR", "+5511987654321");
	/* A number valid as written stays as written. */
	phone_ok("+55 21 7654-3210", NULL, "+552176543210");
	/* A landline keeps its eight digits. */
	phone_ok("+55 11 3456-7890", NULL, "+551134567890");
}

static void wa_brazil(void **state)
{
	char out[32];

	(void)state;
	/* WhatsApp ids of Brazilian mobiles, with and without the ninth digit:
	 * one number. */
	assert_int_equal(norm_wa_id("551187654321", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "+5511987654321");
	assert_int_equal(norm_wa_id("5511987654321", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "+5511987654321");
	assert_int_equal(norm_wa_id("551134567890", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "+551134567890"); /* a landline range */
	assert_int_equal(norm_wa_id("552198765432", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "+5521998765432");
}

static void phone_invalid(void **state)
{
	char out[32];

	(void)state;
	phone_bad("06 12 34 56 78", NULL);   /* national form, no region */
	phone_bad("06 12 34 56 78", "");     /* same */
	phone_bad("06 12 34 56 78", "XX");   /* unknown region */
	phone_bad("+33 6 12", NULL);         /* too short */
	phone_bad("+33 6 12 34 56 78 90 12", NULL); /* too long */
	phone_bad("(650) 053-0000", "US");   /* US area codes never start with 0 */
	phone_bad("hello", "FR");
	phone_bad("", "FR");
	assert_int_equal(norm_phone(NULL, "FR", out, sizeof(out)), GW_EINVAL);
	assert_int_equal(norm_phone("+33612345678", NULL, out, 12), GW_ETOOBIG);
	assert_int_equal(norm_phone("+33612345678", NULL, out, 13), GW_OK);
	assert_string_equal(out, "+33612345678");
}

static void wa_id(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(norm_wa_id("4930123456", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "+4930123456");
	assert_int_equal(norm_wa_id("16502530000", out, sizeof(out)), GW_OK);
	assert_string_equal(out, "+16502530000");
	assert_int_equal(norm_wa_id("+4930123456", out, sizeof(out)), GW_EINVAL);
	assert_string_equal(out, "");
	assert_int_equal(norm_wa_id("030123456", out, sizeof(out)), GW_EINVAL);
	assert_int_equal(norm_wa_id("49 30 123456", out, sizeof(out)), GW_EINVAL);
	assert_int_equal(norm_wa_id("4930", out, sizeof(out)), GW_EINVAL);
	assert_int_equal(norm_wa_id("1234567890123456", out, sizeof(out)), GW_EINVAL);
	assert_int_equal(norm_wa_id("", out, sizeof(out)), GW_EINVAL);
	assert_int_equal(norm_wa_id(NULL, out, sizeof(out)), GW_EINVAL);
	assert_int_equal(norm_wa_id("4930123456", out, 11), GW_ETOOBIG);
}

static void region_validity(void **state)
{
	(void)state;
	assert_true(norm_region_valid("FR"));
	assert_true(norm_region_valid("US"));
	assert_true(norm_region_valid("de"));
	assert_false(norm_region_valid("XX"));
	assert_false(norm_region_valid("ZZ"));
	assert_false(norm_region_valid("001")); /* non-geographic entities */
	assert_false(norm_region_valid("FRA"));
	assert_false(norm_region_valid(""));
	assert_false(norm_region_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(email_case_and_forms),
		cmocka_unit_test(email_quoted_local_part_kept),
		cmocka_unit_test(email_invalid),
		cmocka_unit_test(email_out_too_small),
		cmocka_unit_test(phone_forms),
		cmocka_unit_test(phone_invalid),
		cmocka_unit_test(wa_brazil),
		cmocka_unit_test(wa_id),
		cmocka_unit_test(region_validity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

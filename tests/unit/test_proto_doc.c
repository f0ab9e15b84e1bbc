/*
 * test_proto_doc.c - docs/events.md's field tables generated from
 * proto/schema.def (proto/proto_doc.h): the columns, a page regenerated
 * around its prose, and every refusal. unit.events_doc diffs the real page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "proto/proto_doc.h"

struct out {
	char *buf;
	size_t len;
	char err[512];
	int rc;
};

static void tables(struct out *o)
{
	FILE *f = open_memstream(&o->buf, &o->len);

	assert_non_null(f);
	o->err[0] = '\0';
	o->rc = proto_doc_tables(f, o->err, sizeof(o->err));
	assert_int_equal(fclose(f), 0);
}

static void page(struct out *o, const char *text)
{
	FILE *f = open_memstream(&o->buf, &o->len);

	assert_non_null(f);
	o->err[0] = '\0';
	o->rc = proto_doc_page(f, text, strlen(text), o->err, sizeof(o->err));
	assert_int_equal(fclose(f), 0);
}

/* Every table, each block preceded by a line of prose: a valid page. */
static char *full_page(void)
{
	struct out t = {0};
	char *p = NULL, *s, *line;
	size_t len = 0;
	FILE *f = open_memstream(&p, &len);

	assert_non_null(f);
	tables(&t);
	assert_int_equal(t.rc, GW_OK);
	fputs("# Events\n\nProse before.\n", f);
	for (s = t.buf; (line = strsep(&s, "\n")) != NULL;) {
		if (strncmp(line, PROTO_DOC_BEGIN, strlen(PROTO_DOC_BEGIN)) == 0)
			fputs("Prose about the next object.\n\n", f);
		fprintf(f, "%s%s", line, s ? "\n" : "");
	}
	fputs("Prose after, without a final newline.", f);
	assert_int_equal(fclose(f), 0);
	free(t.buf);
	return p;
}

static void test_columns(void **state)
{
	struct out o = {0};

	(void)state;
	tables(&o);
	assert_int_equal(o.rc, GW_OK);
	assert_non_null(strstr(o.buf, "<!-- fields:party -->\n\n"
				      "| key | type | required | limit | meaning |\n"
				      "|---|---|---|---|---|\n"
				      "| `address` | string | yes | 320 | channel-specific address: "));
	/* Each kind's words, limits of strings and arrays, none for numbers. */
	assert_non_null(strstr(o.buf, "| `v` | uint | yes | | schema version, `1` |\n"));
	assert_non_null(strstr(o.buf, "| `reply_to` | array of strings | no | 64, each 256 | "));
	assert_non_null(strstr(o.buf, "| `attachments` | array of maps | no | 64 | "));
	assert_non_null(strstr(o.buf, "| `from` | map | yes | | "));
	assert_non_null(strstr(o.buf, "| `latitude` | number | yes | | degrees |\n"));
	assert_non_null(strstr(o.buf, "| `unsupported` | bool | no | | "));
	assert_non_null(strstr(o.buf, "| `code` | int | no | | "));
	/* `<` outside a code span is escaped, inside left alone. */
	assert_non_null(strstr(o.buf, "`command <id>: <reason>`"));
	/* Every object, recent and ticket_ref included, ends its block. */
	assert_non_null(strstr(o.buf, "<!-- fields:ticket_ref -->"));
	assert_non_null(strstr(o.buf, "<!-- fields:event -->"));
	assert_int_equal(o.buf[o.len - 1], '\n');
	free(o.buf);
}

static void test_page_regenerated(void **state)
{
	char *p = full_page(), *stale, *at;
	struct out o = {0}, again = {0};

	(void)state;
	page(&o, p);
	assert_int_equal(o.rc, GW_OK);
	assert_string_equal(o.buf, p); /* generated from itself: unchanged */
	/* A stale table (a row gone, another edited) comes back as generated. */
	stale = strdup(p);
	assert_non_null(stale);
	at = strstr(stale, "| `address` | string | yes | 320 |");
	assert_non_null(at);
	memcpy(at, "| `addr`", 8);
	at = strstr(stale, "| `name` | string | no | 256 | display name |\n");
	assert_non_null(at);
	memmove(at, strchr(at, '\n') + 1, strlen(strchr(at, '\n') + 1) + 1);
	page(&again, stale);
	assert_int_equal(again.rc, GW_OK);
	assert_string_equal(again.buf, p);
	free(stale);
	free(again.buf);
	free(o.buf);
	free(p);
}

/* The page with `from` (first occurrence) replaced by `to`. */
static char *edited(const char *p, const char *from, const char *to)
{
	const char *at = strstr(p, from);
	char *e;
	size_t n;

	assert_non_null(at);
	n = strlen(p) - strlen(from) + strlen(to) + 1;
	e = malloc(n);
	assert_non_null(e);
	snprintf(e, n, "%.*s%s%s", (int)(at - p), p, to, at + strlen(from));
	return e;
}

static void expect_refused(const char *text, const char *why)
{
	struct out o = {0};

	page(&o, text);
	assert_int_equal(o.rc, GW_EINVAL);
	if (!strstr(o.err, why))
		fail_msg("error \"%s\" does not say \"%s\"", o.err, why);
	free(o.buf);
}

static void test_refusals(void **state)
{
	char *p = full_page(), *e;

	(void)state;
	e = edited(p, "<!-- fields:party -->", "<!-- fields:partie -->");
	expect_refused(e, "<!-- fields:partie --> names no object of proto/schema.def");
	free(e);
	e = edited(p, "<!-- fields:party -->", "<!-- party -->");
	expect_refused(e, "no table of party: add a line <!-- fields:party -->");
	free(e);
	e = edited(p, "<!-- fields:choice -->", "<!-- fields:party -->");
	expect_refused(e, "a second table of party (the first at line ");
	free(e);
	/* The end of party's block gone: the next block begins first. */
	e = edited(p, "<!-- end -->\n\nProse about the next object.\n\n<!-- fields:attachment",
		   "\n\nProse about the next object.\n\n<!-- fields:attachment");
	expect_refused(e, "<!-- fields:party --> has no <!-- end --> before the next table");
	free(e);
	expect_refused("text\n<!-- fields:event -->\n| old |\n", "<!-- fields:event --> has no");
	expect_refused("no tables at all\n", "no table of ");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_columns),
		cmocka_unit_test(test_page_regenerated),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * doc.c - the field tables of docs/events.md from schema.def (see
 * proto_doc.h). The key, type, required and limit columns come from the
 * descriptor tables the codec walks (proto.c), the meaning from the `doc`
 * column of the same lines, so a field is declared, checked and documented
 * in one place.
 */
#include "proto/proto_doc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "core/err.h"
#include "proto/proto_desc.h"

/* The meanings of each object's fields, in the order of its descriptors. */
#define PROTO_OBJECT(obj) static const char *const doc_##obj[] = {
#define PROTO_FIELD(obj, member, key, kind, req, limit, sub, values, doc) doc,
#define PROTO_END(obj) };
#include "proto/schema.def"

struct doc_object {
	const struct proto_object *obj;
	const char *const *docs;
	size_t ndocs;
};

static const struct doc_object doc_objects[] = {
#define PROTO_OBJECT(obj) {&proto_obj_##obj, doc_##obj, sizeof(doc_##obj) / sizeof(doc_##obj[0])},
#include "proto/schema.def"
};

enum { DOC_N_OBJECTS = sizeof(doc_objects) / sizeof(doc_objects[0]) };

static int doc_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* doc_fail - the message into err (when given); GW_EINVAL. */
static int doc_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return GW_EINVAL;
}

/* The type column: what a consumer reads (docs/events.md, "Wire format"). */
static const char *doc_kind(enum proto_kind kind)
{
	switch (kind) {
	case PROTO_K_STRING:
	case PROTO_K_TYPE:
		return "string";
	case PROTO_K_UINT64:
	case PROTO_K_VERSION:
		return "uint";
	case PROTO_K_INT64:
		return "int";
	case PROTO_K_BOOL:
		return "bool";
	case PROTO_K_DOUBLE:
		return "number";
	case PROTO_K_OBJECT:
	case PROTO_K_OBJPTR:
		return "map";
	case PROTO_K_OBJARRAY:
		return "array of maps";
	case PROTO_K_STRARRAY:
		return "array of strings";
	}
	return "?";
}

/*
 * doc_cell - text for a Markdown table cell, on one line: `|` escaped, and
 * `<` outside code spans too, so "<id>" is not taken for HTML.
 */
static void doc_cell(FILE *f, const char *s)
{
	bool code = false;

	fputs(*s ? " " : "", f);
	for (; *s; s++) {
		code ^= *s == '`';
		if (*s == '|')
			fputs("\\|", f);
		else if (*s == '<' && !code)
			fputs("&lt;", f);
		else
			fputc(*s == '\n' ? ' ' : *s, f);
	}
	fputs(" |", f);
}

/* doc_values_named - each value of f's set appears in `doc` as `value`. */
static int doc_values_named(const char *obj, const struct proto_field *f, const char *doc,
			    char *err, size_t errlen)
{
	char want[96];

	for (const char *const *v = f->values; v && *v; v++) {
		snprintf(want, sizeof(want), "`%s`", *v);
		if (!strstr(doc, want))
			return doc_fail(err, errlen,
					"%s.%s: its meaning in proto/schema.def does not name "
					"the value %s", obj, f->key, want);
	}
	return GW_OK;
}

static void doc_row(FILE *f, const struct proto_field *fd, const char *doc)
{
	char limit[64] = "";

	if (fd->limit && fd->kind == PROTO_K_STRARRAY)
		snprintf(limit, sizeof(limit), "%zu, each %d", fd->limit,
			 PROTO_MAX_STRARRAY_ITEM);
	else if (fd->limit)
		snprintf(limit, sizeof(limit), "%zu", fd->limit);
	fprintf(f, "| `%s` |", fd->key);
	doc_cell(f, doc_kind(fd->kind));
	doc_cell(f, fd->required ? "yes" : "no");
	doc_cell(f, limit);
	doc_cell(f, doc);
	fputc('\n', f);
}

/* doc_table - one object's block: its marker lines around its table. */
static int doc_table(FILE *f, const struct doc_object *o, char *err, size_t errlen)
{
	int rc = GW_OK;

	if (o->ndocs != o->obj->nfields)
		return doc_fail(err, errlen, "%s: %zu meanings for %zu fields", o->obj->name,
				o->ndocs, o->obj->nfields);
	fprintf(f, PROTO_DOC_BEGIN "%s" PROTO_DOC_BEGIN_TAIL "\n\n", o->obj->name);
	fputs("| key | type | required | limit | meaning |\n|---|---|---|---|---|\n", f);
	for (size_t i = 0; i < o->ndocs && rc == GW_OK; i++) {
		rc = doc_values_named(o->obj->name, &o->obj->fields[i], o->docs[i], err, errlen);
		if (rc == GW_OK)
			doc_row(f, &o->obj->fields[i], o->docs[i]);
	}
	fputs("\n" PROTO_DOC_END "\n", f);
	return rc;
}

static int doc_flushed(FILE *out)
{
	return fflush(out) == 0 && !ferror(out) ? GW_OK : GW_EIO;
}

int proto_doc_tables(FILE *out, char *err, size_t errlen)
{
	int rc = GW_OK;

	for (size_t i = 0; i < DOC_N_OBJECTS && rc == GW_OK; i++) {
		if (i)
			fputc('\n', out);
		rc = doc_table(out, &doc_objects[i], err, errlen);
	}
	return rc ? rc : doc_flushed(out);
}

/* ---- the page ----------------------------------------------------------- */

struct doc_line {
	const char *s;
	size_t len;  /* without the '\n' */
	size_t next; /* offset of the next line */
};

static void doc_line_at(const char *page, size_t len, size_t off, struct doc_line *l)
{
	const char *nl = memchr(page + off, '\n', len - off);

	l->s = page + off;
	l->len = nl ? (size_t)(nl - l->s) : len - off;
	l->next = nl ? off + l->len + 1 : len;
}

static bool doc_line_is(const struct doc_line *l, const char *text)
{
	return l->len == strlen(text) && memcmp(l->s, text, l->len) == 0;
}

/* doc_begin_object - the object a `<!-- fields:OBJ -->` line names: its
 * index, -1 when the line is no marker, -2 when OBJ is unknown. */
static int doc_begin_object(const struct doc_line *l)
{
	size_t head = strlen(PROTO_DOC_BEGIN), tail = strlen(PROTO_DOC_BEGIN_TAIL);
	size_t n;

	if (l->len <= head + tail || memcmp(l->s, PROTO_DOC_BEGIN, head) != 0 ||
	    memcmp(l->s + l->len - tail, PROTO_DOC_BEGIN_TAIL, tail) != 0)
		return -1;
	n = l->len - head - tail;
	for (int i = 0; i < DOC_N_OBJECTS; i++)
		if (strlen(doc_objects[i].obj->name) == n &&
		    memcmp(doc_objects[i].obj->name, l->s + head, n) == 0)
			return i;
	return -2;
}

struct doc_page {
	const char *page;
	size_t len;
	size_t off;     /* the next line to read */
	size_t lineno;  /* of the line last read */
	size_t seen[DOC_N_OBJECTS]; /* line of each object's table, 0 = none */
	char *err;
	size_t errlen;
};

/* doc_block - after the marker line of object `i`: its block generated
 * again, the old one skipped up to and with its end marker. */
static int doc_block(FILE *out, struct doc_page *p, int i)
{
	size_t start = p->lineno;
	struct doc_line l;

	if (p->seen[i])
		return doc_fail(p->err, p->errlen, "line %zu: a second table of %s (the first "
				"at line %zu)", start, doc_objects[i].obj->name, p->seen[i]);
	p->seen[i] = start;
	while (p->off < p->len) {
		doc_line_at(p->page, p->len, p->off, &l);
		p->off = l.next;
		p->lineno++;
		if (doc_line_is(&l, PROTO_DOC_END))
			return doc_table(out, &doc_objects[i], p->err, p->errlen);
		if (doc_begin_object(&l) != -1)
			break;
	}
	return doc_fail(p->err, p->errlen, "line %zu: %s%s%s has no %s before the next "
			"table or the end", start, PROTO_DOC_BEGIN, doc_objects[i].obj->name,
			PROTO_DOC_BEGIN_TAIL, PROTO_DOC_END);
}

/* doc_all_seen - every object has its table in the page. */
static int doc_all_seen(const struct doc_page *p)
{
	for (int i = 0; i < DOC_N_OBJECTS; i++)
		if (!p->seen[i])
			return doc_fail(p->err, p->errlen, "no table of %s: add a line %s%s%s "
					"and a line %s where it belongs", doc_objects[i].obj->name,
					PROTO_DOC_BEGIN, doc_objects[i].obj->name,
					PROTO_DOC_BEGIN_TAIL, PROTO_DOC_END);
	return GW_OK;
}

int proto_doc_page(FILE *out, const char *page, size_t len, char *err, size_t errlen)
{
	struct doc_page p = {.page = page, .len = len, .err = err, .errlen = errlen};
	struct doc_line l;
	int rc = GW_OK, i;

	while (rc == GW_OK && p.off < len) {
		doc_line_at(page, len, p.off, &l);
		p.off = l.next;
		p.lineno++;
		i = doc_begin_object(&l);
		if (i == -2)
			rc = doc_fail(err, errlen, "line %zu: %.*s names no object of "
				      "proto/schema.def", p.lineno, (int)l.len, l.s);
		else if (i >= 0)
			rc = doc_block(out, &p, i);
		else
			fwrite(l.s, 1, l.next - (size_t)(l.s - page), out);
	}
	if (rc == GW_OK)
		rc = doc_all_seen(&p);
	return rc ? rc : doc_flushed(out);
}

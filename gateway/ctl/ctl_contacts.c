/*
 * ctl_contacts.c - customers from the command line:
 *   contacts import FILE [--format csv|jsonl]   a contact directory, sent to
 *       the router's contacts.import command in requests of at most
 *       IMPORT_CHUNK contacts; each request's command id is made from the
 *       SHA-256 of the file and the request's number, so that importing the
 *       same file again changes nothing (and a run cut short can simply be
 *       repeated)
 *   customer merge SOURCE TARGET [--command-id ID]   customer.merge
 *   customer unmerge MERGE_ID [--command-id ID]      customer.unmerge
 *
 * CSV (read with libcsv): a header row, then one contact per row. Columns
 * ref (or id), name, email, phone, whatsapp, messenger, instagram,
 * telegram, livechat and language (any case); several values in one cell
 * are separated by ';'; any other column is an attribute (column=value).
 * JSONL: one JSON object per line, in the shape of the command's contacts.
 * Problems are reported as FILE:LINE: reason; rows refused here or by the
 * router make the exit code 1 (the other rows are imported).
 */
#include "gateway/ctl/ctl.h"

#include <csv.h>
#include <ctype.h>
#include <msgpack.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/util.h"
#include "proto/proto.h"
#include "proto/wire.h"

#define IMPORT_MAX_FILE (256u * 1024u * 1024u)
#define IMPORT_CHUNK 500
/* Room in a request for the map around the contacts. */
#define IMPORT_CHUNK_BYTES (WIRE_MAX_IMPORT_BYTES - 4096u)
#define IMPORT_MAX_KEY 64 /* an attribute column's name */

/* What the file holds: contacts in the command's shape, with their lines. */
struct rows {
	const char *file;
	json_t *contacts; /* array of objects */
	size_t *lines;    /* line each contact starts on */
	size_t cap;
	size_t bad; /* rows refused here (reported on stderr) */
	int failed; /* the file cannot be read on: CTL_EXIT_ERROR */
};

__attribute__((format(printf, 3, 4)))
static void row_bad(struct rows *r, size_t line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%zu: ", r->file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	r->bad++;
}

/* rows_add - takes `obj` (a new reference) as the contact of `line`. */
static int rows_add(struct rows *r, json_t *obj, size_t line)
{
	size_t n = json_array_size(r->contacts);

	if (n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		size_t *v = realloc(r->lines, cap * sizeof(*v));

		if (!v) {
			json_decref(obj);
			return -1;
		}
		r->lines = v;
		r->cap = cap;
	}
	if (json_array_append_new(r->contacts, obj) != 0)
		return -1;
	r->lines[n] = line;
	return 0;
}

/* --- CSV ---------------------------------------------------------------------- */

enum col_kind { COL_REF, COL_NAME, COL_EMAIL, COL_PHONE, COL_LANGUAGE, COL_IDENT, COL_ATTR };

struct column {
	enum col_kind kind;
	char name[IMPORT_MAX_KEY + 1]; /* identity kind or attribute key */
};

static const struct {
	const char *name;
	enum col_kind kind;
} known_cols[] = {
	{"ref", COL_REF},           {"id", COL_REF},           {"name", COL_NAME},
	{"email", COL_EMAIL},       {"phone", COL_PHONE},      {"language", COL_LANGUAGE},
	{"whatsapp", COL_IDENT},    {"messenger", COL_IDENT},  {"instagram", COL_IDENT},
	{"telegram", COL_IDENT},    {"livechat", COL_IDENT},
};

struct csvr {
	struct rows *rows;
	size_t line;     /* line being read */
	size_t row_line; /* line the current row began on, 0 between rows */
	char **f;        /* fields of the current row */
	size_t nf, capf;
	struct column *cols; /* NULL until the header is read */
	size_t ncols;
	int oom;
};

/* trim - `s` (len bytes, not NUL-terminated) without surrounding blanks,
 * as a new string; NULL when out of memory. */
static char *trim(const char *s, size_t len)
{
	char *out;

	while (len && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	out = malloc(len + 1);
	if (out) {
		memcpy(out, s, len);
		out[len] = '\0';
	}
	return out;
}

static void on_field(void *s, size_t len, void *data)
{
	struct csvr *c = data;
	char *v;

	if (c->oom)
		return;
	if (c->nf == c->capf) {
		size_t cap = c->capf ? c->capf * 2 : 16;
		char **f = realloc(c->f, cap * sizeof(*f));

		if (!f) {
			c->oom = 1;
			return;
		}
		c->f = f;
		c->capf = cap;
	}
	v = trim(s ? s : "", s ? len : 0);
	if (!v)
		c->oom = 1;
	else
		c->f[c->nf++] = v;
}

/* column_of - what header cell `name` is; 0, or -1 with the reason given. */
static int column_of(struct csvr *c, const char *name, struct column *col)
{
	char low[IMPORT_MAX_KEY + 1];
	size_t i, n = strlen(name);

	if (!n || n > IMPORT_MAX_KEY || strchr(name, '=')) {
		row_bad(c->rows, c->row_line, "header: '%s' is not a column name (1 to %d "
			"characters, no '=')", name, IMPORT_MAX_KEY);
		return -1;
	}
	for (i = 0; i <= n; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	col->kind = COL_ATTR;
	snprintf(col->name, sizeof(col->name), "%s", name);
	for (i = 0; i < sizeof(known_cols) / sizeof(known_cols[0]); i++) {
		if (strcmp(low, known_cols[i].name) == 0) {
			col->kind = known_cols[i].kind;
			snprintf(col->name, sizeof(col->name), "%s", low);
		}
	}
	for (i = 0; i < c->ncols; i++) {
		if ((col->kind == COL_REF && c->cols[i].kind == COL_REF) ||
		    strcmp(c->cols[i].name, col->name) == 0) {
			row_bad(c->rows, c->row_line, "header: column '%s' given twice", name);
			return -1;
		}
	}
	return 0;
}

/* read_header - the columns; a header that cannot be used stops the file. */
static void read_header(struct csvr *c)
{
	int ref = 0;

	c->cols = calloc(c->nf ? c->nf : 1, sizeof(*c->cols));
	if (!c->cols) {
		c->oom = 1;
		return;
	}
	for (size_t i = 0; i < c->nf; i++) {
		if (column_of(c, c->f[i], &c->cols[i]) != 0) {
			c->rows->failed = 1;
			return;
		}
		ref |= c->cols[i].kind == COL_REF;
		c->ncols++;
	}
	if (!ref) {
		row_bad(c->rows, c->row_line, "header: no ref (or id) column");
		c->rows->failed = 1;
	}
}

/* add_values - each ';'-separated value of `cell` appended to the array
 * `key` of `obj` (as a string, or as {kind, address} when kind is set). */
static int add_values(json_t *obj, const char *key, const char *kind, const char *cell)
{
	json_t *arr = json_object_get(obj, key);

	if (!arr && (json_object_set_new(obj, key, json_array()) != 0 ||
		     !(arr = json_object_get(obj, key))))
		return -1;
	for (const char *p = cell; *p;) {
		size_t len = strcspn(p, ";");
		char *v = trim(p, len);
		json_t *item;

		if (!v)
			return -1;
		item = !v[0] ? NULL
		       : kind ? json_pack("{s:s,s:s}", "kind", kind, "address", v)
			      : json_string(v);
		free(v);
		if (item && json_array_append_new(arr, item) != 0)
			return -1;
		p += len + (p[len] == ';');
	}
	return 0;
}

/* add_cell - cell `v` of column `col` into the contact `obj`. */
static int add_cell(json_t *obj, const struct column *col, const char *v)
{
	json_t *attrs;

	if (!v[0])
		return 0;
	switch (col->kind) {
	case COL_REF: return json_object_set_new(obj, "ref", json_string(v));
	case COL_NAME: return json_object_set_new(obj, "name", json_string(v));
	case COL_LANGUAGE: return json_object_set_new(obj, "language", json_string(v));
	case COL_EMAIL: return add_values(obj, "emails", NULL, v);
	case COL_PHONE: return add_values(obj, "phones", NULL, v);
	case COL_IDENT: return add_values(obj, "identities", col->name, v);
	case COL_ATTR: break;
	}
	attrs = json_object_get(obj, "attributes");
	if (!attrs && (json_object_set_new(obj, "attributes", json_object()) != 0 ||
		       !(attrs = json_object_get(obj, "attributes"))))
		return -1;
	return json_object_set_new(attrs, col->name, json_string(v));
}

/* read_row - one data row as a contact (or a row refused with its line). */
static void read_row(struct csvr *c)
{
	json_t *obj;

	if (c->nf != c->ncols) {
		row_bad(c->rows, c->row_line, "%zu fields, the header has %zu", c->nf, c->ncols);
		return;
	}
	obj = json_object();
	for (size_t i = 0; obj && i < c->nf; i++)
		if (add_cell(obj, &c->cols[i], c->f[i]) != 0) {
			json_decref(obj);
			obj = NULL;
		}
	if (!obj) {
		c->oom = 1;
		return;
	}
	if (!json_object_get(obj, "ref")) {
		json_decref(obj);
		row_bad(c->rows, c->row_line, "ref is empty");
		return;
	}
	if (rows_add(c->rows, obj, c->row_line) != 0)
		c->oom = 1;
}

static void on_row(int term, void *data)
{
	struct csvr *c = data;

	(void)term;
	if (!c->oom && !c->rows->failed) {
		if (!c->cols)
			read_header(c);
		else
			read_row(c);
	}
	for (size_t i = 0; i < c->nf; i++)
		free(c->f[i]);
	c->nf = 0;
	c->row_line = 0;
}

/* blank_line - a line libcsv skips between rows. */
static int blank_line(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n')
			return 0;
	return 1;
}

/* csv_feed - the data line by line, so that each row knows the line it
 * began on (a row ends only at the end of a line). */
static int csv_feed(struct csvr *c, struct csv_parser *p, const char *data, size_t len)
{
	size_t off = 0;

	while (off < len && !c->oom && !c->rows->failed) {
		const char *nl = memchr(data + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (data + off)) + 1 : len - off;

		c->line++;
		if (!c->row_line && !blank_line(data + off, n))
			c->row_line = c->line;
		if (csv_parse(p, data + off, n, on_field, on_row, c) != n) {
			row_bad(c->rows, c->line, "%s", csv_strerror(csv_error(p)));
			c->rows->failed = 1;
			return -1;
		}
		off += n;
	}
	if (!c->oom && !c->rows->failed && csv_fini(p, on_field, on_row, c) != 0) {
		row_bad(c->rows, c->row_line ? c->row_line : c->line, "%s",
			csv_strerror(csv_error(p)));
		c->rows->failed = 1;
	}
	return c->oom || c->rows->failed ? -1 : 0;
}

static int read_csv(struct rows *r, const char *data, size_t len)
{
	struct csv_parser p;
	struct csvr c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.rows = r;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		return -1;
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3; /* a byte order mark, as spreadsheets write */
		len -= 3;
	}
	rc = csv_feed(&c, &p, data, len);
	if (rc == 0 && !c.cols) {
		fprintf(stderr, "%s: no header row\n", r->file);
		r->failed = 1;
		rc = -1;
	}
	if (c.oom)
		fprintf(stderr, "gatewayctl: out of memory\n");
	for (size_t i = 0; i < c.nf; i++)
		free(c.f[i]);
	free(c.f);
	free(c.cols);
	csv_free(&p);
	return c.oom ? -1 : 0;
}

/* --- JSONL ---------------------------------------------------------------------- */

/* all_space - a line with nothing but blanks. */
static int all_space(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)p[i]))
			return 0;
	return 1;
}

static int read_jsonl(struct rows *r, const char *data, size_t len)
{
	size_t off = 0, line = 0;

	while (off < len) {
		const char *nl = memchr(data + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (data + off)) : len - off;
		json_error_t jerr;
		json_t *obj;

		line++;
		if (!all_space(data + off, n)) {
			obj = json_loadb(data + off, n, JSON_REJECT_DUPLICATES, &jerr);
			if (!obj)
				row_bad(r, line, "not JSON: %s", jerr.text);
			else if (!json_is_object(obj)) {
				row_bad(r, line, "not a JSON object");
				json_decref(obj);
			} else if (rows_add(r, obj, line) != 0) {
				fprintf(stderr, "gatewayctl: out of memory\n");
				return -1;
			}
		}
		off += n + (nl != NULL);
	}
	return 0;
}

/* --- requests ---------------------------------------------------------------------- */

struct totals {
	uint64_t contacts, requests, duplicates;
	uint64_t created, updated, unchanged, conflicts, invalid;
};

/* A request: contacts [first, first + n) of the file. */
struct chunk {
	size_t first, n;
	msgpack_sbuffer body; /* the contacts, packed one after the other */
};

/* chunk_fill - packs contacts from c->first while they fit; a contact too
 * large for any request is refused (and skipped). */
static void chunk_fill(struct rows *r, struct chunk *c, size_t *next)
{
	msgpack_packer pk;
	size_t total = json_array_size(r->contacts);

	msgpack_packer_init(&pk, &c->body, msgpack_sbuffer_write);
	c->first = *next;
	c->n = 0;
	while (*next < total && c->n < IMPORT_CHUNK) {
		size_t before = c->body.size;

		proto_msgpack_pack_json(&pk, json_array_get(r->contacts, *next));
		if (c->body.size > IMPORT_CHUNK_BYTES) {
			c->body.size = before;
			if (c->n)
				break;
			row_bad(r, r->lines[*next], "contact too large for one request");
			c->first = ++*next;
			continue;
		}
		c->n++;
		++*next;
	}
}

/* pack_request - {command_id, contacts: [...]} of chunk `c` into `sb`. */
static void pack_request(const struct chunk *c, const char *command_id, msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "command_id", 10);
	msgpack_pack_str_with_body(&pk, command_id, strlen(command_id));
	msgpack_pack_str_with_body(&pk, "contacts", 8);
	msgpack_pack_array(&pk, (uint32_t)c->n);
	msgpack_sbuffer_write(sb, c->body.data, c->body.size);
}

static uint64_t u64_of(json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

/* line_of_ref - the line of the first contact of the chunk with `ref`. */
static size_t line_of_ref(const struct rows *r, const struct chunk *c, const char *ref)
{
	for (size_t i = c->first; ref && i < c->first + c->n; i++) {
		const char *s = json_string_value(json_object_get(json_array_get(r->contacts, i),
								  "ref"));
		if (s && strcmp(s, ref) == 0)
			return r->lines[i];
	}
	return r->lines[c->first];
}

/* report - what the router said about one request: counted, and each
 * conflict and invalid contact reported with its line. */
static void report(const struct rows *r, const struct chunk *c, json_t *res, struct totals *t)
{
	json_t *e;
	size_t i;

	t->requests++;
	t->duplicates += json_is_true(json_object_get(res, "duplicate"));
	t->created += u64_of(res, "created");
	t->updated += u64_of(res, "updated");
	t->unchanged += u64_of(res, "unchanged");
	json_array_foreach(json_object_get(res, "conflicts"), i, e) {
		const char *ref = json_string_value(json_object_get(e, "ref"));

		t->conflicts++;
		fprintf(stderr, "%s:%zu: ref %s: %s %s belongs to customer %llu: not moved\n",
			r->file, line_of_ref(r, c, ref), ref ? ref : "-",
			json_string_value(json_object_get(e, "kind")),
			json_string_value(json_object_get(e, "address")),
			(unsigned long long)u64_of(e, "customer_id"));
	}
	json_array_foreach(json_object_get(res, "invalid"), i, e) {
		uint64_t at = u64_of(e, "index");
		const char *ref = json_string_value(json_object_get(e, "ref"));

		t->invalid++;
		fprintf(stderr, "%s:%zu: ref %s: %s\n", r->file,
			at < c->n ? r->lines[c->first + at] : r->lines[c->first], ref ? ref : "-",
			json_string_value(json_object_get(e, "reason")));
	}
}

/* send_chunk - one contacts.import request and its report. */
static int send_chunk(struct ctl *ctl, const struct rows *r, const struct chunk *c,
		      const char *command_id, struct totals *t)
{
	struct ctl_reply rep = {0};
	msgpack_sbuffer sb;
	json_t *res = NULL;
	int rc;

	msgpack_sbuffer_init(&sb);
	pack_request(c, command_id, &sb);
	rc = ctl_request(ctl, WIRE_CMD_CONTACTS_IMPORT, sb.data, sb.size, &rep);
	if (rc == CTL_EXIT_OK && !(res = ctl_frame_json(&rep, 1))) {
		fprintf(stderr, "gatewayctl: malformed contacts.import reply from %s\n",
			ctl->command);
		rc = CTL_EXIT_ERROR;
	}
	if (rc == CTL_EXIT_OK)
		report(r, c, res, t);
	json_decref(res);
	ctl_reply_free(&rep);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

/* file_id - the SHA-256 of the file's bytes in hex: the base of the
 * requests' command ids. */
static int file_id(const char *data, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -1;
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static int send_all(struct ctl *ctl, struct rows *r, const char *hex, struct totals *t)
{
	size_t next = 0, total = json_array_size(r->contacts);
	char command_id[96];
	struct ctl_progress pr;
	int rc = CTL_EXIT_OK;

	ctl_progress_start(&pr, "contacts", total, 0);
	for (unsigned k = 0; rc == CTL_EXIT_OK && next < total; k++) {
		struct chunk c;

		msgpack_sbuffer_init(&c.body);
		chunk_fill(r, &c, &next);
		snprintf(command_id, sizeof(command_id), "contacts-%s-%u", hex, k);
		if (c.n) {
			t->contacts += c.n;
			rc = send_chunk(ctl, r, &c, command_id, t);
		}
		ctl_progress_step(&pr, c.n);
		msgpack_sbuffer_destroy(&c.body);
	}
	ctl_progress_end(&pr);
	if (rc == CTL_EXIT_DOWN)
		fprintf(stderr, "gatewayctl: the import may be partly done; running it again "
			"with the same file is safe\n");
	return rc;
}

static int print_totals(const struct ctl *ctl, const struct rows *r, const struct totals *t)
{
	json_t *j;
	char *text;

	if (!ctl->json) {
		printf("%s: %llu contacts in %llu requests: %llu created, %llu updated, %llu "
		       "unchanged, %llu conflicts, %llu invalid", r->file,
		       (unsigned long long)t->contacts, (unsigned long long)t->requests,
		       (unsigned long long)t->created, (unsigned long long)t->updated,
		       (unsigned long long)t->unchanged, (unsigned long long)t->conflicts,
		       (unsigned long long)(t->invalid + r->bad));
		if (t->duplicates)
			printf(" (%llu requests imported before: nothing done)",
			       (unsigned long long)t->duplicates);
		putchar('\n');
		return CTL_EXIT_OK;
	}
	j = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "file", r->file, "contacts",
		      (json_int_t)t->contacts, "requests", (json_int_t)t->requests, "duplicates",
		      (json_int_t)t->duplicates, "created", (json_int_t)t->created, "updated",
		      (json_int_t)t->updated, "unchanged", (json_int_t)t->unchanged, "conflicts",
		      (json_int_t)t->conflicts, "invalid", (json_int_t)(t->invalid + r->bad));
	text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	if (!text)
		return CTL_EXIT_ERROR;
	puts(text);
	free(text);
	return CTL_EXIT_OK;
}

/* format_of - --format, else the file's extension. */
static const char *format_of(const struct ctl *ctl)
{
	const char *dot = strrchr(ctl->file, '.');

	if (ctl->format)
		return ctl->format;
	if (dot && strcasecmp(dot, ".csv") == 0)
		return "csv";
	if (dot && (strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0))
		return "jsonl";
	return NULL;
}

int ctl_cmd_contacts_import(struct ctl *ctl)
{
	struct rows r = {.file = ctl->file};
	struct totals t = {0};
	const char *fmt = format_of(ctl);
	char *data = NULL, hex[65];
	size_t len = 0;
	int rc, err;

	if (!fmt || (strcmp(fmt, "csv") != 0 && strcmp(fmt, "jsonl") != 0)) {
		fprintf(stderr, "gatewayctl: %s: give --format csv or --format jsonl\n", ctl->file);
		return CTL_EXIT_USAGE;
	}
	err = gw_read_file(ctl->file, IMPORT_MAX_FILE, &data, &len);
	if (err != GW_OK) {
		fprintf(stderr, "gatewayctl: %s: %s\n", ctl->file, gw_strerror(err));
		return CTL_EXIT_ERROR;
	}
	r.contacts = json_array();
	rc = r.contacts && file_id(data, len, hex) == 0 ? 0 : -1;
	if (rc == 0)
		rc = strcmp(fmt, "csv") == 0 ? read_csv(&r, data, len) : read_jsonl(&r, data, len);
	if (rc != 0 || r.failed) {
		rc = CTL_EXIT_ERROR;
		goto out;
	}
	rc = send_all(ctl, &r, hex, &t);
	if (print_totals(ctl, &r, &t) != CTL_EXIT_OK && rc == CTL_EXIT_OK)
		rc = CTL_EXIT_ERROR;
	if (rc == CTL_EXIT_OK && (t.invalid || r.bad))
		rc = CTL_EXIT_ERROR;
out:
	json_decref(r.contacts);
	free(r.lines);
	free(data);
	return rc;
}

/* --- customer merge / unmerge ---------------------------------------------------------- */

/* run_merge - the command `cmd` with {command_id, k1: v1[, k2: v2]}; prints
 * `what` (done), the merge id and the seq of its event. */
static int run_merge(struct ctl *ctl, const char *cmd, const char *what, const char *k1,
		     uint64_t v1, const char *k2, uint64_t v2)
{
	const char *command_id;
	char made[33];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	json_t *res = NULL;
	int rc;

	command_id = ctl_command_id(ctl, made);
	if (!command_id)
		return CTL_EXIT_ERROR;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, k2 ? 3 : 2);
	msgpack_pack_str_with_body(&pk, "command_id", 10);
	msgpack_pack_str_with_body(&pk, command_id, strlen(command_id));
	msgpack_pack_str_with_body(&pk, k1, strlen(k1));
	msgpack_pack_uint64(&pk, v1);
	if (k2) {
		msgpack_pack_str_with_body(&pk, k2, strlen(k2));
		msgpack_pack_uint64(&pk, v2);
	}
	rc = ctl_command(ctl, cmd, sb.data, sb.size, command_id, &res);
	if (rc == CTL_EXIT_OK && ctl->json)
		rc = ctl_print_json(res);
	else if (rc == CTL_EXIT_OK)
		printf("%s: merge %llu, seq %llu%s, command id %s\n", what,
		       (unsigned long long)u64_of(res, "merge_id"),
		       (unsigned long long)u64_of(res, "seq"),
		       json_is_true(json_object_get(res, "duplicate")) ? " (done before)" : "",
		       command_id);
	json_decref(res);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

int ctl_cmd_customer_merge(struct ctl *ctl)
{
	char what[96];

	snprintf(what, sizeof(what), "customer %llu merged into customer %llu",
		 (unsigned long long)ctl->id, (unsigned long long)ctl->id2);
	return run_merge(ctl, WIRE_CMD_CUSTOMER_MERGE, what, "source_id", ctl->id, "target_id",
			 ctl->id2);
}

int ctl_cmd_customer_unmerge(struct ctl *ctl)
{
	return run_merge(ctl, WIRE_CMD_CUSTOMER_UNMERGE, "merge undone", "merge_id", ctl->id, NULL, 0);
}

/*
 * email_repair.c - malformed MIME that GMime reads worse than a careful
 * reader does (tests/integration/email_compare.py compares the two): the
 * message is mended where GMime went wrong and parsed again. Found by
 * looking at GMime's result (its tree, its warnings and their offsets), so
 * that only what GMime actually misread is touched:
 *
 *   bare CR line breaks   (old Mac mailers): GMime sees one long line and
 *                         no header at all; every CR not followed by LF
 *                         becomes LF before the first parse (same length,
 *                         so offsets and the derived id do not move)
 *   boundary= without ;   "Content-Type: multipart/mixed<CRLF> boundary=x"
 *                         (a folded parameter without its separator):
 *                         GMime reads no boundary, the multipart becomes one
 *                         part and its text and attachments are lost; the
 *                         ';' is put back
 *   no usable boundary    a multipart without a boundary parameter, or one
 *                         in which no delimiter line was found (a boundary
 *                         written in another case): read with the boundary
 *                         of the first delimiter-like line of its body
 *                         ("--x" followed by a header or a blank line)
 *   no blank line after   a line that is not a header where a header is
 *   the headers           expected, and no header after it up to the blank
 *                         line: GMime skips it as a bad header name (the
 *                         text is lost); a line break is put before it, so
 *                         that it starts the body, as RFC 5322 readers do
 * Each mending adds a warning. A mended message is parsed again, at most
 * EMAIL_REPAIR_PASSES times (a nested multipart shows its own faults only
 * once its parent is read right).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/email/email_parse_int.h"
#include "core/err.h"

#define EDITS_MAX 16      /* mendings per pass */
#define BOUNDARY_MAX 70   /* RFC 2046: 1 to 70 characters */

struct edit {
	size_t off, del; /* bytes [off, off + del) of the buffer are replaced */
	char ins[BOUNDARY_MAX + 24];
};

struct mend {
	struct eparse *x;
	const char *buf;
	size_t len;
	struct edit edit[EDITS_MAX];
	size_t n_edit, parts;
};

/* ---- line breaks ---- */

int email_repair_line_ends(const char *raw, size_t len, char **out)
{
	const char *p = raw, *end = raw + len;
	char *copy;

	*out = NULL;
	while (p < end && *p != '\r' && *p != '\n')
		p++;
	/* Only a message whose first line ends in a bare CR. */
	if (p == end || *p == '\n' || (p + 1 < end && p[1] == '\n'))
		return GW_OK;
	if (!(copy = malloc(len ? len : 1)))
		return GW_ENOMEM;
	for (size_t i = 0; i < len; i++)
		copy[i] = raw[i] == '\r' && (i + 1 == len || raw[i + 1] != '\n') ? '\n' : raw[i];
	*out = copy;
	return GW_OK;
}

/* ---- the buffer ---- */

/* The end of the line at p: its line break (or the end). */
static size_t eol(const struct mend *m, size_t p)
{
	const char *nl = memchr(m->buf + p, '\n', m->len - p);

	return nl ? (size_t)(nl - m->buf) : m->len;
}

/* Past the line break at p. */
static size_t next_line(const struct mend *m, size_t p)
{
	size_t e = eol(m, p);

	return e < m->len ? e + 1 : m->len;
}

static bool is_token(char c)
{
	return c > ' ' && c < 0x7f && c != ':';
}

/* A line "Name:" (a header), at p. */
static bool header_line(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && is_token(*q))
		q++;
	return q > p && q < end && *q == ':';
}

static bool blank_line(const struct mend *m, size_t p)
{
	size_t e = eol(m, p);

	return e == p || (e == p + 1 && m->buf[p] == '\r');
}

static void add_edit(struct mend *m, size_t off, size_t del, const char *ins)
{
	struct edit *e;

	if (m->n_edit == EDITS_MAX || off + del > m->len)
		return;
	for (size_t i = 0; i < m->n_edit; i++)
		if (off < m->edit[i].off + m->edit[i].del + 1 && m->edit[i].off < off + del + 1)
			return; /* touches another mending: left for the next pass */
	e = &m->edit[m->n_edit++];
	e->off = off;
	e->del = del;
	snprintf(e->ins, sizeof(e->ins), "%s", ins);
}

/* ---- headers ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The value of header `name` written at `off`: [*vs, *ve), folded lines
 * included, *ve at the line break that ends it. false when the buffer at
 * `off` is not that header. */
static bool header_value(const struct mend *m, gint64 off, const char *name, size_t *vs,
			 size_t *ve)
{
	size_t n = strlen(name), p, e;

	if (off < 0 || (size_t)off + n >= m->len ||
	    g_ascii_strncasecmp(m->buf + off, name, n) != 0)
		return false;
	for (p = (size_t)off + n; p < m->len && (m->buf[p] == ' ' || m->buf[p] == '\t'); p++)
		;
	if (p == m->len || m->buf[p] != ':')
		return false;
	*vs = p + 1;
	e = eol(m, p);
	while (e + 1 < m->len && (m->buf[e + 1] == ' ' || m->buf[e + 1] == '\t'))
		e = eol(m, e + 1);
	if (e > *vs && m->buf[e - 1] == '\r')
		e--;
	*ve = e;
	return true;
}

/* "boundary" [blanks] "=" in [vs, ve): where the name starts and where
 * its value starts (blanks skipped). */
static bool find_boundary(const struct mend *m, size_t vs, size_t ve, size_t *name, size_t *val)
{
	for (size_t p = vs; p + 8 < ve; p++) {
		size_t q = p + 8;

		if (g_ascii_strncasecmp(m->buf + p, "boundary", 8) != 0 ||
		    (p > vs && is_token(m->buf[p - 1]) && m->buf[p - 1] != ';'))
			continue;
		while (q < ve && is_blank(m->buf[q]))
			q++;
		if (q == ve || m->buf[q] != '=')
			continue;
		for (q++; q < ve && is_blank(m->buf[q]); q++)
			;
		*name = p;
		*val = q;
		return true;
	}
	return false;
}

/* The Content-Type header of `obj` as written: its value's span. */
static bool content_type_at(const struct mend *m, GMimeObject *obj, size_t *vs, size_t *ve)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	GMimeHeader *h = hl ? g_mime_header_list_get_header(hl, "Content-Type") : NULL;

	return h && header_value(m, g_mime_header_get_offset(h), "Content-Type", vs, ve);
}

/* ---- boundaries ---- */

/* A boundary RFC 2046 allows (bchars, not ending in a blank). */
static bool boundary_ok(const char *s, size_t n)
{
	if (n == 0 || n > BOUNDARY_MAX || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalnum(s[i]) && !strchr("'()+_,-./:=? ", s[i]))
			return false;
	return true;
}

/* The boundary shown by the first line "--x" of `text` that is followed by
 * a header line or a blank line (how a first part starts). */
static bool guess_boundary(const char *text, char *out, size_t size)
{
	const char *p = text;

	while (p && *p) {
		const char *e = strchr(p, '\n'), *next = e ? e + 1 : p + strlen(p);
		const char *next_end = strchr(next, '\n');
		size_t n = (size_t)((e ? e : next) - p);

		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n > 2 && p[0] == '-' && p[1] == '-' && boundary_ok(p + 2, n - 2) &&
		    (!*next || *next == '\n' || *next == '\r' ||
		     header_line(next, next_end ? next_end : next + strlen(next)))) {
			snprintf(out, size, "%.*s", (int)(n - 2), p + 2);
			return true;
		}
		p = next;
	}
	return false;
}

/* The end of a parameter value at p: past a "quoted string", or a token. */
static size_t value_end(const struct mend *m, size_t p, size_t ve)
{
	if (p < ve && m->buf[p] == '"') {
		for (p++; p < ve && m->buf[p] != '"'; p++)
			if (m->buf[p] == '\\')
				p++;
		return p < ve ? p + 1 : ve;
	}
	while (p < ve && m->buf[p] != ';' && !is_blank(m->buf[p]))
		p++;
	return p;
}

/* A multipart GMime read without its boundary or without any part. */
static void mend_multipart(struct mend *m, GMimeObject *obj)
{
	const char *b = g_mime_object_get_content_type_parameter(obj, "boundary");
	const char *prologue = g_mime_multipart_get_prologue(GMIME_MULTIPART(obj));
	size_t vs, ve, name, val, q;
	char guess[BOUNDARY_MAX + 1], ins[BOUNDARY_MAX + 24];

	if ((b && g_mime_multipart_get_count(GMIME_MULTIPART(obj)) > 0) ||
	    !content_type_at(m, obj, &vs, &ve))
		return;
	if (!b && find_boundary(m, vs, ve, &name, &val)) {
		for (q = name; q > vs && is_blank(m->buf[q - 1]); q--)
			;
		if (q > vs && m->buf[q - 1] != ';') {
			add_edit(m, q, 0, ";");
			eparse_warn(m->x, "mime: a boundary parameter without the ';' before it "
				    "was read");
		}
		return;
	}
	if (!prologue || !guess_boundary(prologue, guess, sizeof(guess)) ||
	    (b && strcmp(b, guess) == 0))
		return;
	snprintf(ins, sizeof(ins), b ? "\"%s\"" : "; boundary=\"%s\"", guess);
	if (b && find_boundary(m, vs, ve, &name, &val))
		add_edit(m, val, value_end(m, val, ve) - val, ins);
	else if (!b)
		add_edit(m, ve, 0, ins);
	eparse_warn(m->x, "mime: a multipart without a usable boundary was read with the one its "
		    "first delimiter line shows");
}

static void mend_object(struct mend *m, GMimeObject *obj, int depth)
{
	int n;

	if (!obj || depth > EMAIL_MAX_DEPTH || m->parts++ >= EMAIL_MAX_PARTS)
		return;
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *in = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (in)
			mend_object(m, g_mime_message_get_mime_part(in), depth + 1);
		return;
	}
	if (!GMIME_IS_MULTIPART(obj))
		return;
	mend_multipart(m, obj);
	n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
	for (int i = 0; i < n; i++)
		mend_object(m, g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), depth + 1);
}

/* ---- a body without its blank line ---- */

/* The line at `off`, which GMime skipped as a bad header name, starts the
 * body when it has no ':' and no header follows it up to a blank line,
 * a delimiter line or the end. */
static void mend_separator(struct mend *m, gint64 off)
{
	size_t o = (size_t)off, e, p;

	if (off < 0 || o >= m->len || blank_line(m, o))
		return;
	e = eol(m, o);
	if (memchr(m->buf + o, ':', e - o) || (m->buf[o] == '-' && o + 1 < m->len &&
					       m->buf[o + 1] == '-'))
		return;
	for (p = next_line(m, o); p < m->len && !blank_line(m, p); p = next_line(m, p)) {
		if (m->buf[p] == '-' && p + 1 < m->len && m->buf[p + 1] == '-')
			break;
		if (header_line(m->buf + p, m->buf + eol(m, p)))
			return;
	}
	add_edit(m, o, 0, e > o && m->buf[e - 1] == '\r' ? "\r\n" : "\n");
	eparse_warn(m->x, "mime: no blank line after a part's headers: the line that follows them "
		    "read as the start of its body");
}

/* ---- the mended copy ---- */

static int cmp_edit(const void *a, const void *b)
{
	const struct edit *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static int apply(struct mend *m, char **out, size_t *out_len)
{
	size_t add = 0, o = 0, at = 0;
	char *b;

	qsort(m->edit, m->n_edit, sizeof(m->edit[0]), cmp_edit);
	for (size_t i = 0; i < m->n_edit; i++)
		add += strlen(m->edit[i].ins);
	if (!(b = malloc(m->len + add + 1)))
		return GW_ENOMEM;
	for (size_t i = 0; i < m->n_edit; i++) {
		const struct edit *e = &m->edit[i];
		size_t n = strlen(e->ins);

		memcpy(b + o, m->buf + at, e->off - at);
		o += e->off - at;
		memcpy(b + o, e->ins, n);
		o += n;
		at = e->off + e->del;
	}
	memcpy(b + o, m->buf + at, m->len - at);
	o += m->len - at;
	b[o] = '\0';
	*out = b;
	*out_len = o;
	return GW_OK;
}

int email_repair(struct eparse *x, const char *buf, size_t len, char **out, size_t *out_len)
{
	struct mend *m = calloc(1, sizeof(*m));
	int rc = GW_OK;

	*out = NULL;
	*out_len = 0;
	if (!m)
		return GW_ENOMEM;
	m->x = x;
	m->buf = buf;
	m->len = len;
	for (size_t i = 0; i < x->n_bad_header; i++)
		mend_separator(m, x->bad_header[i]);
	if (x->msg)
		mend_object(m, g_mime_message_get_mime_part(x->msg), 0);
	if (m->n_edit)
		rc = apply(m, out, out_len);
	free(m);
	return rc;
}

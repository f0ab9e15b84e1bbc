/*
 * email_body.c - which parts of a message are its text and which are its
 * attachments, following the algorithm of RFC 8621 section 4.1.4 (JMAP's
 * textBody / htmlBody / attachments), so that the choice is the one mail
 * clients make and not an invention of ours:
 *   - multiparts are walked in order (at most EMAIL_MAX_DEPTH levels and
 *     EMAIL_MAX_PARTS leaf parts; past that a warning);
 *   - a part is "inline" when it is not Content-Disposition: attachment, is
 *     text/plain, text/html or an image, audio or video type, and is the first
 *     part of its multipart or (outside multipart/related) media or a text
 *     without a file name;
 *   - in multipart/alternative, text/plain goes to the text body and
 *     text/html to the HTML body; an alternative that has only one of the
 *     two lends it to the other;
 *   - elsewhere an inline part goes to both bodies, except that inside an
 *     alternative a plain part leaves the HTML body and an HTML part the
 *     text body.
 * The event's text is the text body: text/plain parts as they are, text/html
 * parts converted (email_html.c), joined by a blank line. When that is
 * blank and the HTML body is not, the HTML body's text is used.
 * Attachments are every other leaf in document order, and every image,
 * audio or video part even when shown inline (message/rfc822 parts too:
 * an attached email is one attachment, its parts are not read).
 *
 * Nested boundaries that are prefixes of each other: when an enclosing
 * boundary is a nested one followed by "--" ("b--" around "b"), its
 * delimiter line "--b--" is also the nested multipart's closing one, and
 * GMime, which tries the innermost boundary first, ends the nested
 * multipart there and keeps the enclosing multipart's next part as the
 * nested one's epilogue (a careful reader, which tries the enclosing
 * boundaries first, reads it as the next part). Such an epilogue, when it
 * starts with a Content- header, is read as the next part of the enclosing
 * multipart. Other epilogues ("end of message") are not read (RFC 2046).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/email/email_parse_int.h"
#include "core/err.h"
#include "core/log.h"
#include "store/attachments.h"

/* The boundaries of the multiparts around a part, innermost first. */
struct bound {
	const char *boundary; /* NULL when the multipart has none */
	const struct bound *up;
};

struct leaf {
	GMimeObject *obj;
	char type[PROTO_MAX_MEDIA_TYPE + 1]; /* lowercase type/subtype */
	bool in_text, in_html;
	const struct bound *bounds; /* the multiparts around it */
};

#define EMAIL_MAX_LOST 64 /* parts read back from epilogues */

struct body {
	struct eparse *x;
	GMimeObject *lost[EMAIL_MAX_LOST]; /* parsed from epilogues, owned */
	size_t n_lost;
	struct bound bound[EMAIL_MAX_PARTS]; /* one per multipart walked */
	size_t n_bound;
	struct leaf leaf[EMAIL_MAX_PARTS];
	size_t n_leaf;
	size_t text[EMAIL_MAX_PARTS], n_text; /* indexes into leaf, in order */
	size_t html[EMAIL_MAX_PARTS], n_html;
	size_t skipped;   /* leaves past EMAIL_MAX_PARTS */
	bool too_deep;
	size_t att_over;  /* attachments past PROTO_MAX_ATTACHMENTS */
};

/* ---- structure ---- */

static bool is_token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("!#$&^_.+-", c);
}

/* Content-Type "text" without a subtype (which GMime reads as
 * application/octet-stream, or as "text" and an empty subtype). */
static bool is_bare_text(GMimeObject *obj, const char *t, const char *s)
{
	const char *v = g_mime_object_get_header(obj, "Content-Type");
	size_t n;

	if (t && g_ascii_strcasecmp(t, "text") == 0)
		return !s || !*s;
	if (!v)
		return false;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strcspn(v, "; \t\r\n");
	return (n == 4 || (n == 5 && v[4] == '/')) && g_ascii_strncasecmp(v, "text", 4) == 0;
}

/* "type/subtype" in lowercase; application/octet-stream when unusable,
 * except "text" without a subtype: text/plain, as RFC 2045 (5.2) reads a
 * Content-Type it cannot parse. */
static void media_type(GMimeObject *obj, char *out, size_t size)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *t = ct ? g_mime_content_type_get_media_type(ct) : NULL;
	const char *s = ct ? g_mime_content_type_get_media_subtype(ct) : NULL;
	int n = snprintf(out, size, "%s/%s", t ? t : "", s ? s : "");
	bool ok = n > 2 && (size_t)n < size && t && *t && s && *s;

	if (is_bare_text(obj, t, s)) {
		snprintf(out, size, "text/plain");
		return;
	}

	for (char *p = out; ok && *p; p++) {
		*p = (char)g_ascii_tolower(*p);
		ok = *p == '/' ? p != out : is_token_char(*p);
	}
	if (!ok || strchr(out, '/') != strrchr(out, '/'))
		snprintf(out, size, "application/octet-stream");
}

static bool is_media(const char *type)
{
	return strncmp(type, "image/", 6) == 0 || strncmp(type, "audio/", 6) == 0 ||
	       strncmp(type, "video/", 6) == 0;
}

static const char *part_name(GMimeObject *obj)
{
	const char *name = NULL;

	if (GMIME_IS_PART(obj))
		name = g_mime_part_get_filename(GMIME_PART(obj));
	if (!name)
		name = g_mime_object_get_content_disposition_parameter(obj, "filename");
	if (!name)
		name = g_mime_object_get_content_type_parameter(obj, "name");
	return name;
}

static bool is_inline(GMimeObject *obj, const char *type, int i, const char *mtype)
{
	const char *disp = g_mime_object_get_disposition(obj);
	bool plain = strcmp(type, "text/plain") == 0, html = strcmp(type, "text/html") == 0;
	bool media = is_media(type);

	if (disp && g_ascii_strcasecmp(disp, "attachment") == 0)
		return false;
	if (!plain && !html && !media)
		return false;
	return i == 0 || (strcmp(mtype, "related") != 0 && (media || !part_name(obj)));
}

static void push(struct body *b, bool html, size_t i)
{
	if (html) {
		b->html[b->n_html++] = i;
		b->leaf[i].in_html = true;
	} else {
		b->text[b->n_text++] = i;
		b->leaf[i].in_text = true;
	}
}

/* The bodies a walk frame pushes to (RFC 8621's textBody/htmlBody that a
 * frame may set to null for the rest of its parts). */
struct frame {
	const char *mtype; /* subtype of the enclosing multipart */
	bool in_alt, text_on, html_on;
	const struct bound *bounds; /* the enclosing multiparts */
};

static void walk(struct body *b, GMimeObject *parent, struct frame f, int depth);

static void walk_multipart(struct body *b, GMimeObject *part, struct frame f, int depth)
{
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : NULL;
	struct frame sf = f;
	struct bound *self;

	if (depth >= EMAIL_MAX_DEPTH) {
		b->too_deep = true;
		return;
	}
	/* Past EMAIL_MAX_PARTS multiparts, their boundaries are not known to
	 * the checks that use them (the parts are read all the same). */
	if (b->n_bound < EMAIL_MAX_PARTS) {
		self = &b->bound[b->n_bound++];
		self->boundary = g_mime_object_get_content_type_parameter(part, "boundary");
		self->up = f.bounds;
		sf.bounds = self;
	}
	sf.mtype = sub ? sub : "mixed";
	sf.in_alt = f.in_alt || g_ascii_strcasecmp(sf.mtype, "alternative") == 0;
	walk(b, part, sf, depth + 1);
}

/* One leaf of the walk; returns the frame's bodies for its next parts. */
static void walk_leaf(struct body *b, GMimeObject *part, int i, struct frame *f)
{
	size_t li = b->n_leaf;
	struct leaf *l;
	bool plain, html;

	if (li == EMAIL_MAX_PARTS) {
		b->skipped++;
		return;
	}
	l = &b->leaf[b->n_leaf++];
	l->obj = part;
	l->bounds = f->bounds;
	media_type(part, l->type, sizeof(l->type));
	if (!is_inline(part, l->type, i, f->mtype))
		return;
	plain = strcmp(l->type, "text/plain") == 0;
	html = strcmp(l->type, "text/html") == 0;
	if (g_ascii_strcasecmp(f->mtype, "alternative") == 0) {
		if (plain || html)
			push(b, html, li);
		return;
	}
	if (f->in_alt && plain)
		f->html_on = false;
	if (f->in_alt && html)
		f->text_on = false;
	if (f->text_on)
		push(b, false, li);
	if (f->html_on)
		push(b, true, li);
}

/* An alternative that found only HTML (or only text) lends it to the other. */
static void lend(struct body *b, size_t text0, size_t html0)
{
	size_t nt = b->n_text, nh = b->n_html;

	if (text0 == nt && html0 != nh)
		for (size_t i = html0; i < nh; i++)
			push(b, false, b->html[i]);
	if (html0 == nh && text0 != nt)
		for (size_t i = text0; i < nt; i++)
			push(b, true, b->text[i]);
}

/* Whether the closing delimiter of boundary `nested` is a delimiter of one
 * of the enclosing multiparts `up` (see the top). */
static bool closed_by_enclosing(const char *nested, const struct bound *up)
{
	size_t n = nested ? strlen(nested) : 0;

	for (; n && up; up = up->up)
		if (up->boundary && strlen(up->boundary) == n + 2 &&
		    strncmp(up->boundary, nested, n) == 0 && strcmp(up->boundary + n, "--") == 0)
			return true;
	return false;
}

/* The part a multipart's epilogue holds (see the top), or NULL; `up` are
 * the multiparts around it. Kept in b->lost until the body is read. */
static GMimeObject *lost_part(struct body *b, GMimeObject *mp, const struct bound *up)
{
	const char *ep = g_mime_multipart_get_epilogue(GMIME_MULTIPART(mp)), *colon;
	GMimeParserOptions *opt;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeObject *obj;

	if (!closed_by_enclosing(g_mime_object_get_content_type_parameter(mp, "boundary"), up))
		return NULL;
	while (ep && (*ep == '\n' || *ep == '\r'))
		ep++;
	colon = ep ? strchr(ep, ':') : NULL;
	if (!colon || g_ascii_strncasecmp(ep, "Content-", 8) != 0 ||
	    strcspn(ep, " \t\n") < (size_t)(colon - ep) || b->n_lost == EMAIL_MAX_LOST)
		return NULL;
	/* GMime's warnings about the epilogue are not the message's. */
	opt = g_mime_parser_options_clone(b->x->popt);
	g_mime_parser_options_set_warning_callback(opt, NULL, NULL);
	stream = g_mime_stream_mem_new_with_buffer(ep, strlen(ep));
	parser = g_mime_parser_new_with_stream(stream);
	obj = g_mime_parser_construct_part(parser, opt);
	g_object_unref(parser);
	g_object_unref(stream);
	g_mime_parser_options_free(opt);
	if (obj) {
		b->lost[b->n_lost++] = obj;
		eparse_warn(b->x, "mime: a nested boundary is a prefix of the enclosing one: the "
			    "part after its closing delimiter read as the next part");
	}
	return obj;
}

/* Walks the children of `parent` (a multipart), or `parent` itself when it
 * is the message's single top-level part (f.mtype is then "mixed"). */
static void walk(struct body *b, GMimeObject *parent, struct frame f, int depth)
{
	GMimeMultipart *mp = GMIME_IS_MULTIPART(parent) && depth > 0 ? GMIME_MULTIPART(parent) : NULL;
	int n = mp ? g_mime_multipart_get_count(mp) : 1;
	size_t text0 = b->n_text, html0 = b->n_html;

	for (int i = 0; i < n; i++) {
		GMimeObject *part = mp ? g_mime_multipart_get_part(mp, i) : parent;

		if (!part)
			continue;
		if (!GMIME_IS_MULTIPART(part)) {
			walk_leaf(b, part, i, &f);
			continue;
		}
		walk_multipart(b, part, f, depth);
		if ((part = lost_part(b, part, f.bounds)) && GMIME_IS_MULTIPART(part))
			walk_multipart(b, part, f, depth);
		else if (part)
			walk_leaf(b, part, i + 1, &f);
	}
	if (g_ascii_strcasecmp(f.mtype, "alternative") == 0 && f.text_on && f.html_on)
		lend(b, text0, html0);
}

/* ---- bytes and charsets ---- */

GByteArray *email_part_bytes(GMimeObject *obj)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *arr;

	if (GMIME_IS_PART(obj)) {
		GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));

		if (content)
			g_mime_data_wrapper_write_to_stream(content, mem);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (m)
			g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, mem);
	}
	arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_object_unref(mem);
	return arr;
}

/* UTF-8 apart from NUL bytes (which estr_clean drops later). */
static bool utf8_ok(const char *s, size_t len)
{
	const char *end;

	while (len > 0) {
		if (g_utf8_validate(s, (gssize)len, &end))
			return true;
		if (*end != '\0')
			return false;
		len -= (size_t)(end - s) + 1;
		s = end + 1;
	}
	return true;
}

static bool charset_is(const char *cs, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (g_ascii_strcasecmp(cs, names[i]) == 0)
			return true;
	return false;
}

static GByteArray *convert(const char *cs, const GByteArray *in)
{
	GMimeFilter *filter = g_mime_filter_charset_new(cs, "UTF-8");
	GMimeStream *mem, *fs;
	GByteArray *arr;

	if (!filter)
		return NULL; /* iconv does not know the charset */
	if (in->len == 0) {
		g_object_unref(filter);
		return g_byte_array_new();
	}
	mem = g_mime_stream_mem_new();
	fs = g_mime_stream_filter_new(mem);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(fs), filter);
	g_object_unref(filter);
	g_mime_stream_write(fs, (const char *)in->data, in->len);
	g_mime_stream_flush(fs);
	g_object_unref(fs);
	arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_object_unref(mem);
	return arr;
}

/*
 * A text part's bytes in UTF-8 (not cleaned yet); takes `raw`. The declared
 * charset is converted with GMime's charset filter; UTF-8 (declared, or
 * ASCII/none declared but valid) is kept as is; 8-bit text without a usable
 * charset goes through GMime's fallback charsets, with a warning.
 */
static GByteArray *text_utf8(struct eparse *x, GMimeObject *obj, GByteArray *raw)
{
	static const char *const utf8[] = {"utf-8", "utf8"};
	static const char *const ascii[] = {"us-ascii", "ascii", "ansi_x3.4-1968"};
	const char *cs = g_mime_object_get_content_type_parameter(obj, "charset");
	GByteArray *out = NULL;
	char *dec;

	if (raw->len == 0 || (cs && charset_is(cs, utf8, 2)))
		return raw;
	if ((!cs || charset_is(cs, ascii, 3)) && utf8_ok((const char *)raw->data, raw->len))
		return raw;
	if (cs && !charset_is(cs, ascii, 3)) {
		out = convert(cs, raw);
		if (!out)
			eparse_warn(x, "text in unknown charset \"%.40s\", read with fallback charsets", cs);
	} else {
		eparse_warn(x, "8-bit text without a charset, read with fallback charsets");
	}
	if (!out) {
		dec = g_mime_utils_decode_8bit(x->popt, (const char *)raw->data, raw->len);
		out = dec ? g_byte_array_new_take((guint8 *)dec, strlen(dec)) : g_byte_array_new();
	}
	g_byte_array_free(raw, TRUE);
	return out;
}

/* ---- text ---- */

/* Appends a piece of clean text, a blank line apart from the previous one. */
static void add_piece(struct ebuf *text, const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return;
	if (text->len > 0)
		ebuf_add(text, "\n\n", text->p[text->len - 1] == '\n' ? 1 : 2);
	ebuf_add(text, s, n);
}

/* Whether the line at p (up to end) starts with the closing delimiter
 * "--<boundary>--" of one of `bounds`. */
static bool closing_line(const char *p, const char *end, const struct bound *bounds)
{
	size_t avail = (size_t)(end - p);

	if (avail < 4 || p[0] != '-' || p[1] != '-')
		return false;
	for (; bounds; bounds = bounds->up) {
		size_t n = bounds->boundary ? strlen(bounds->boundary) : 0;

		if (n && avail >= n + 4 && memcmp(p + 2, bounds->boundary, n) == 0 &&
		    p[n + 2] == '-' && p[n + 3] == '-')
			return true;
	}
	return false;
}

/*
 * A closing delimiter of a multipart around the part, with text after it
 * on its line ("--b-- end", "--b--=20"), is not one for GMime, which then
 * reads it, and the epilogue after it, as the part's text: the text ends
 * before it. (A closing delimiter as the line's whole is GMime's already.)
 */
static void cut_at_closing(struct body *b, const struct leaf *l, GByteArray *bytes)
{
	const char *p = (const char *)bytes->data, *end;

	if (!p || bytes->len == 0)
		return;
	end = p + bytes->len;
	while (l->bounds && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (closing_line(p, nl ? nl : end, l->bounds)) {
			g_byte_array_set_size(bytes, (guint)(p - (const char *)bytes->data));
			eparse_warn(b->x, "mime: a closing delimiter with text after it ended a text "
				    "part");
			return;
		}
		p = nl ? nl + 1 : end;
	}
}

/* The readable text of one text/plain or text/html leaf, cleaned. */
static char *leaf_text(struct body *b, const struct leaf *l, bool *cut)
{
	bool html = strcmp(l->type, "text/html") == 0;
	GByteArray *bytes = text_utf8(b->x, l->obj, email_part_bytes(l->obj));
	struct ebuf h;
	char *s, *t;

	cut_at_closing(b, l, bytes);

	if (!html) {
		s = estr_clean((const char *)bytes->data, bytes->len, ESTR_TEXT, PROTO_MAX_TEXT, cut);
		g_byte_array_free(bytes, TRUE);
		return s;
	}
	/* libxml2 is told the input is UTF-8: it must be. */
	s = estr_clean((const char *)bytes->data, bytes->len, ESTR_TEXT, SIZE_MAX - 1, NULL);
	g_byte_array_free(bytes, TRUE);
	if (!s)
		return NULL;
	ebuf_init(&h, PROTO_MAX_TEXT);
	email_html_text(s, strlen(s), &h);
	free(s);
	*cut = h.cut;
	s = ebuf_take(&h);
	if (!s)
		return NULL;
	t = estr_clean(s, strlen(s), ESTR_TEXT, PROTO_MAX_TEXT, NULL);
	free(s);
	return t;
}

static bool is_text_type(const char *type)
{
	return strcmp(type, "text/plain") == 0 || strcmp(type, "text/html") == 0;
}

/* Appends the text of the leaves listed in `idx` (media are skipped). */
static int add_texts(struct body *b, const size_t *idx, size_t n, struct ebuf *text)
{
	for (size_t i = 0; i < n && !text->cut; i++) {
		const struct leaf *l = &b->leaf[idx[i]];
		bool cut = false;
		char *s;

		if (!is_text_type(l->type))
			continue;
		s = leaf_text(b, l, &cut);
		if (!s)
			return GW_ENOMEM;
		add_piece(text, s);
		free(s);
		text->cut = text->cut || cut;
	}
	return text->nomem ? GW_ENOMEM : GW_OK;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isspace(s[i]))
			return false;
	return true;
}

static int read_text(struct body *b)
{
	struct ebuf text;
	int rc;

	ebuf_init(&text, PROTO_MAX_TEXT);
	rc = add_texts(b, b->text, b->n_text, &text);
	if (rc == GW_OK && blank(text.p, text.len)) {
		/* An empty plain alternative beside a real HTML one. */
		ebuf_free(&text);
		ebuf_init(&text, PROTO_MAX_TEXT);
		rc = add_texts(b, b->html, b->n_html, &text);
	}
	if (rc == GW_OK && text.cut)
		eparse_warn(b->x, "text cut to %u bytes", PROTO_MAX_TEXT);
	/* The line break before a boundary belongs to the boundary (RFC 2046);
	 * drop trailing blanks too, so that one text reads the same either way. */
	while (text.len > 0 && g_ascii_isspace(text.p[text.len - 1]))
		text.p[--text.len] = '\0';
	if (rc == GW_OK && !(b->x->m->text = ebuf_take(&text)))
		rc = GW_ENOMEM;
	ebuf_free(&text);
	return rc;
}

/* ---- attachments ---- */

static bool is_attachment(const struct leaf *l)
{
	return !((l->in_text || l->in_html) && is_text_type(l->type));
}

static const char *kind_of(const char *type)
{
	if (strncmp(type, "image/", 6) == 0)
		return "image";
	if (strncmp(type, "audio/", 6) == 0)
		return "audio";
	if (strncmp(type, "video/", 6) == 0)
		return "video";
	return "file";
}

/* Digest of the bytes, stored with their type when there is a store and
 * they fit. */
static int keep_bytes(struct body *b, const GByteArray *bytes, const char *type, size_t number,
		      char hex[ATTACH_HEX_LEN + 1])
{
	const struct email_parse_options *opt = b->x->opt;
	int rc;

	if (bytes->len > opt->max_attachment_bytes) {
		eparse_warn(b->x, "attachment %zu (%u bytes) is over the %zu-byte limit: bytes not kept",
			    number, bytes->len, opt->max_attachment_bytes);
		return attach_sha256_hex(bytes->data, bytes->len, hex);
	}
	if (!opt->attachment_dir)
		return attach_sha256_hex(bytes->data, bytes->len, hex);
	rc = attach_put(opt->attachment_dir, bytes->data, bytes->len, opt->max_attachment_bytes,
			hex);
	if (rc == GW_OK && attach_type_put(opt->attachment_dir, hex, type) != GW_OK)
		GW_WARN("email", "%s: attachment %zu: its media type not kept in %s: %s",
			opt->account ? opt->account : "-", number, opt->attachment_dir,
			g_strerror(errno));
	if (rc == GW_EIO || rc == GW_EINVAL) {
		GW_ERROR("email", "%s: attachment store %s: %s", opt->account ? opt->account : "-",
			 opt->attachment_dir, rc == GW_EIO ? g_strerror(errno) : "path too long");
		rc = GW_EIO;
	}
	return rc;
}

static int add_attachment(struct body *b, const struct leaf *l, size_t number)
{
	struct proto_message *m = b->x->m;
	struct proto_attachment *a = &m->attachments[m->attachments_len];
	const char *name = part_name(l->obj);
	char hex[ATTACH_HEX_LEN + 1];
	GByteArray *bytes = email_part_bytes(l->obj);
	bool cut = false;
	int rc = keep_bytes(b, bytes, l->type, number, hex);

	if (rc != GW_OK)
		goto out;
	m->attachments_len++; /* from here on the event owns (and frees) a */
	a->size = bytes->len;
	a->name = estr_clean(name ? name : "", name ? strlen(name) : 0, ESTR_LINE, PROTO_MAX_NAME,
			     &cut);
	a->type = strdup(l->type);
	a->kind = strdup(kind_of(l->type));
	a->ref = malloc(sizeof(ATTACH_REF_PREFIX) + ATTACH_HEX_LEN);
	if (!a->name || !a->type || !a->kind || !a->ref) {
		rc = GW_ENOMEM;
		goto out;
	}
	snprintf(a->ref, sizeof(ATTACH_REF_PREFIX) + ATTACH_HEX_LEN, "%s%s", ATTACH_REF_PREFIX, hex);
	if (cut)
		eparse_warn(b->x, "attachment %zu: name cut to %u bytes", number, PROTO_MAX_NAME);
out:
	g_byte_array_free(bytes, TRUE);
	return rc;
}

static int read_attachments(struct body *b)
{
	struct proto_message *m = b->x->m;
	size_t n = 0, number = 0;
	int rc = GW_OK;

	for (size_t i = 0; i < b->n_leaf; i++)
		n += is_attachment(&b->leaf[i]);
	if (n == 0)
		return GW_OK;
	m->attachments = calloc(n < PROTO_MAX_ATTACHMENTS ? n : PROTO_MAX_ATTACHMENTS,
				sizeof(*m->attachments));
	if (!m->attachments)
		return GW_ENOMEM;
	for (size_t i = 0; i < b->n_leaf && rc == GW_OK; i++) {
		if (!is_attachment(&b->leaf[i]))
			continue;
		number++;
		if (m->attachments_len == PROTO_MAX_ATTACHMENTS)
			b->att_over++;
		else
			rc = add_attachment(b, &b->leaf[i], number);
	}
	return rc;
}

int email_body_read(struct eparse *x)
{
	struct frame f = {.mtype = "mixed", .text_on = true, .html_on = true};
	GMimeObject *top = g_mime_message_get_mime_part(x->msg);
	struct body *b = calloc(1, sizeof(*b));
	int rc;

	if (!b)
		return GW_ENOMEM;
	b->x = x;
	if (top)
		walk(b, top, f, 0);
	rc = read_text(b);
	if (rc == GW_OK)
		rc = read_attachments(b);
	if (b->too_deep)
		eparse_warn(x, "MIME nesting deeper than %d levels: inner parts not read",
			    EMAIL_MAX_DEPTH);
	if (b->skipped)
		eparse_warn(x, "more than %d MIME parts: %zu parts not read", EMAIL_MAX_PARTS,
			    b->skipped);
	if (b->att_over)
		eparse_warn(x, "%zu more attachments not listed (at most %d)", b->att_over,
			    PROTO_MAX_ATTACHMENTS);
	for (size_t i = 0; i < b->n_lost; i++)
		g_object_unref(b->lost[i]);
	free(b);
	return rc;
}

/*
 * email_ids.c - the message ids a message names: its reply_to.
 *
 * References and In-Reply-To are read here by hand rather than with
 * g_mime_references_parse, which stops at the first token that is not a
 * msg-id: "References: <yes> <a@b> <c@d>" gave "yes" and dropped the real
 * ids after it. A careful reader keeps every plausible id:
 *   - the contents of each <...> (blanks inside, left by folding, dropped),
 *     with or without an '@' (some systems write ids without one);
 *   - a bare local@domain word outside brackets (RFC 5322 4.5.4's obsolete
 *     forms, old mailers);
 *   - nothing from (comments) or "quoted strings" ("Your message of ...");
 * every header of the name counts, in order.
 *
 * A delivery report (a bounce) rarely says In-Reply-To; it names the
 * message it reports on in other places, which are added after the header
 * ids (they are the closest): the Message-ID of a returned message
 * (message/rfc822) or header block (text/rfc822-headers), an
 * Original-Message-ID field (RFC 8098 disposition notifications, some
 * delivery reports), else a "Message-ID:" line of the text (bounces that
 * quote the returned headers in plain text). The router links a bounce of
 * the gateway's own reply to that reply's ticket through them.
 *
 * Kept: References' first id (the thread's root) and its last ones, then
 * In-Reply-To's, then a report's, each once and never the message's own
 * id; at most PROTO_MAX_REPLY_TO in the event (the root and the latest).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connectors/email/email_parse_int.h"
#include "core/err.h"

#define REF_CANDIDATES 128 /* References ids looked at: the first and the last ones */
#define REPORT_IDS_MAX 4   /* ids taken from a delivery report */
#define REPORT_SCAN_MAX (256u * 1024u) /* bytes of a report part scanned for ids */

struct span {
	const char *p;
	size_t n;
};

struct ids {
	char *id[REF_CANDIDATES + 2 * PROTO_MAX_REPLY_TO + REPORT_IDS_MAX];
	size_t n;
	size_t skipped; /* References ids not looked at */
};

/* ---- the tokenizer ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A character of a bare word: not a blank nor a delimiter of the syntax. */
static bool is_word(char c)
{
	return c && !is_blank(c) && !strchr("<>()\",;[]", c);
}

/* Past a (comment), nested, with \-escapes; at most to the end. */
static const char *skip_comment(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
	}
	return p;
}

/* Past a "quoted string", with \-escapes; at most to the end. */
static const char *skip_quoted(const char *p)
{
	for (p++; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return p;
}

/* <...> at p: its contents into *out and past it; NULL when no '>' closes
 * it before another '<' (the '<' is then skipped as junk). */
static const char *angle(const char *p, struct span *out)
{
	const char *q = p + 1;

	while (*q && *q != '>' && *q != '<')
		q++;
	if (*q != '>')
		return NULL;
	out->p = p + 1;
	out->n = (size_t)(q - p - 1);
	return q + 1;
}

static bool has_content(struct span s)
{
	for (size_t i = 0; i < s.n; i++)
		if (!is_blank(s.p[i]))
			return true;
	return false;
}

/* A bare word holding an address-like '@' (not first, not last). */
static bool bare_id(struct span s)
{
	const char *at = memchr(s.p, '@', s.n);

	return at && at != s.p && at != s.p + s.n - 1;
}

/* next_id - the next plausible id of the header value at *s; false at the end. */
static bool next_id(const char **s, struct span *out)
{
	const char *p = *s, *q;

	while (*p) {
		if (*p == '(') {
			p = skip_comment(p);
		} else if (*p == '"') {
			p = skip_quoted(p);
		} else if (*p == '<') {
			q = angle(p, out);
			p = q ? q : p + 1;
			if (q && has_content(*out)) {
				*s = p;
				return true;
			}
		} else if (is_word(*p)) {
			for (q = p; is_word(*q); q++)
				;
			out->p = p;
			out->n = (size_t)(q - p);
			p = q;
			if (bare_id(*out)) {
				*s = p;
				return true;
			}
		} else {
			p++;
		}
	}
	*s = p;
	return false;
}

/* ---- the list ---- */

/* Adds an id (its blanks dropped) unless empty, the message's own, or
 * already there; beyond the list's room it is counted as skipped. */
static int add_span(struct eparse *x, struct ids *ids, struct span s)
{
	char *raw = malloc(s.n + 1), *id = NULL;
	size_t n = 0;
	int rc;

	if (!raw)
		return GW_ENOMEM;
	for (size_t i = 0; i < s.n; i++)
		if (!is_blank(s.p[i]))
			raw[n++] = s.p[i];
	raw[n] = '\0';
	rc = email_norm_id(x, raw, &id);
	free(raw);
	if (rc != GW_OK || !id)
		return rc;
	for (size_t i = 0; i < ids->n && id; i++)
		if (strcmp(ids->id[i], id) == 0) {
			free(id);
			id = NULL;
		}
	if (id && strcmp(id, x->m->external_id) == 0) {
		free(id);
		id = NULL;
	}
	if (id && ids->n == sizeof(ids->id) / sizeof(ids->id[0])) {
		ids->skipped++;
		free(id);
		id = NULL;
	}
	if (id)
		ids->id[ids->n++] = id;
	return GW_OK;
}

/* The ids of a header as the reader meets them: the first (a thread's
 * root) and the last `keep` after it, however many there are. */
struct window {
	struct span first, ring[REF_CANDIDATES];
	size_t keep;  /* at most REF_CANDIDATES */
	size_t total; /* ids met, the first included */
};

static void window_push(struct window *w, struct span s)
{
	if (w->total == 0)
		w->first = s;
	else
		w->ring[(w->total - 1) % w->keep] = s;
	w->total++;
}

/* Adds the window's ids, oldest first; those it let go are counted. */
static int window_add(struct eparse *x, struct ids *ids, const struct window *w)
{
	size_t rest = w->total ? w->total - 1 : 0;
	size_t from = rest > w->keep ? rest - w->keep : 0;
	int rc = GW_OK;

	ids->skipped += from;
	if (w->total)
		rc = add_span(x, ids, w->first);
	for (size_t k = from; k < rest && rc == GW_OK; k++)
		rc = add_span(x, ids, w->ring[k % w->keep]);
	return rc;
}

/* The ids of every header `name`, in order: the first and the last `keep`. */
static int header_ids(struct eparse *x, struct ids *ids, const char *name, size_t keep)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(x->msg));
	int nh = g_mime_header_list_get_count(hl);
	struct window *w = calloc(1, sizeof(*w));
	struct span s;
	int rc;

	if (!w)
		return GW_ENOMEM;
	w->keep = keep;
	for (int i = 0; i < nh; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *v = g_mime_header_get_raw_value(h);

		if (!v || g_ascii_strcasecmp(g_mime_header_get_name(h), name) != 0)
			continue;
		while (next_id(&v, &s))
			window_push(w, s);
	}
	rc = window_add(x, ids, w);
	free(w);
	return rc;
}

/* ---- delivery reports ---- */

struct report {
	struct eparse *x;
	struct ids *ids;
	size_t found; /* ids the report gave, at most REPORT_IDS_MAX */
	size_t parts; /* leaves looked at, at most EMAIL_MAX_PARTS */
	int rc;
};

static void report_add(struct report *r, struct span s)
{
	if (r->rc == GW_OK && r->found < REPORT_IDS_MAX) {
		r->found++;
		r->rc = add_span(r->x, r->ids, s);
	}
}

/* Ends the line at p: past its line break, or at the end. */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl + 1 : end;
}

/* The first id of each "<field>: ..." line of `text` (leading blanks
 * allowed; a folded continuation read with its line). */
static void field_ids(struct report *r, const char *text, size_t len, const char *field)
{
	const char *p = text, *end = text + (len < REPORT_SCAN_MAX ? len : REPORT_SCAN_MAX);
	size_t flen = strlen(field);
	char value[PROTO_MAX_EXTERNAL_ID * 2];

	while (p < end && r->found < REPORT_IDS_MAX && r->rc == GW_OK) {
		const char *q = p, *next = line_end(p, end), *v;
		struct span s;
		size_t n = 0;

		while (q < next && (*q == ' ' || *q == '\t'))
			q++;
		if ((size_t)(next - q) <= flen || g_ascii_strncasecmp(q, field, flen) != 0 ||
		    q[flen] != ':') {
			p = next;
			continue;
		}
		for (q += flen + 1; q < end && n + 1 < sizeof(value); q++) {
			if (*q == '\n' && (q + 1 == end || (q[1] != ' ' && q[1] != '\t')))
				break;
			value[n++] = *q;
		}
		value[n] = '\0';
		v = value;
		if (next_id(&v, &s))
			report_add(r, s);
		p = line_end(q < end ? q : end, end);
	}
}

static void report_leaf(struct report *r, GMimeObject *part)
{
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	GByteArray *bytes;

	if (GMIME_IS_MESSAGE_PART(part)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
		const char *id = m ? g_mime_message_get_message_id(m) : NULL;

		if (id)
			report_add(r, (struct span){id, strlen(id)});
		return;
	}
	if (!ct || !GMIME_IS_PART(part))
		return;
	if (g_mime_content_type_is_type(ct, "text", "rfc822-headers")) {
		bytes = email_part_bytes(part);
		field_ids(r, (const char *)bytes->data, bytes->len, "Message-ID");
		g_byte_array_free(bytes, TRUE);
	} else if (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
		   g_mime_content_type_is_type(ct, "message", "disposition-notification")) {
		bytes = email_part_bytes(part);
		field_ids(r, (const char *)bytes->data, bytes->len, "Original-Message-ID");
		g_byte_array_free(bytes, TRUE);
	}
}

static void report_walk(struct report *r, GMimeObject *obj, int depth)
{
	int n;

	if (!obj || depth > EMAIL_MAX_DEPTH || r->parts >= EMAIL_MAX_PARTS)
		return;
	if (!GMIME_IS_MULTIPART(obj)) {
		r->parts++;
		report_leaf(r, obj);
		return;
	}
	n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
	for (int i = 0; i < n && r->rc == GW_OK; i++)
		report_walk(r, g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), depth + 1);
}

/* ---- reply_to ---- */

/* Moves the ids into the event: the first (the thread's root) and the
 * last PROTO_MAX_REPLY_TO - 1. */
static int ids_to_event(struct eparse *x, struct ids *ids)
{
	size_t drop = ids->n > PROTO_MAX_REPLY_TO ? ids->n - PROTO_MAX_REPLY_TO : 0;
	struct proto_message *m = x->m;

	if (ids->n == 0)
		return GW_OK;
	if (!(m->reply_to = calloc(ids->n - drop, sizeof(char *))))
		return GW_ENOMEM;
	m->reply_to[m->reply_to_len++] = ids->id[0];
	for (size_t i = 1; i < 1 + drop; i++)
		free(ids->id[i]);
	for (size_t i = 1 + drop; i < ids->n; i++)
		m->reply_to[m->reply_to_len++] = ids->id[i];
	ids->n = 0;
	if (ids->skipped + drop)
		eparse_warn(x, "%zu older References ids left out (at most %d are kept)",
			    ids->skipped + drop, PROTO_MAX_REPLY_TO);
	return GW_OK;
}

int email_ids_read(struct eparse *x)
{
	struct ids *ids = calloc(1, sizeof(*ids));
	struct report r = {.x = x, .ids = ids};
	int rc;

	if (!ids)
		return GW_ENOMEM;
	r.ids = ids;
	rc = header_ids(x, ids, "References", REF_CANDIDATES - 1);
	if (rc == GW_OK)
		rc = header_ids(x, ids, "In-Reply-To", PROTO_MAX_REPLY_TO - 1);
	if (rc == GW_OK && x->m->bounce) {
		report_walk(&r, g_mime_message_get_mime_part(x->msg), 0);
		if (r.rc == GW_OK && r.found == 0 && x->m->text)
			field_ids(&r, x->m->text, strlen(x->m->text), "Message-ID");
		rc = r.rc;
	}
	if (rc == GW_OK)
		rc = ids_to_event(x, ids);
	for (size_t i = 0; i < ids->n; i++)
		free(ids->id[i]);
	free(ids);
	return rc;
}

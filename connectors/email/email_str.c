/*
 * email_str.c - strings for the email parser: every byte that reaches the
 * event passes through estr_clean (valid UTF-8, no NUL, bounded), so that
 * proto_encode never refuses an event made from a malformed message.
 * Also the bounded text buffer and the warning list (email_parse_int.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/email/email_parse_int.h"
#include "core/err.h"

/* ---- UTF-8 ---- */

size_t estr_utf8_floor(const char *s, size_t len, size_t max)
{
	size_t n = max;

	if (max >= len)
		return len;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* What one input character becomes: a pointer to `n` bytes to emit. */
static const char *clean_char(const char *p, size_t avail, enum estr_mode mode, size_t *take,
			      size_t *n)
{
	static const char fffd[] = "\xef\xbf\xbd", sp[] = " ", nl[] = "\n", tab[] = "\t";
	unsigned char b = (unsigned char)p[0];
	gunichar c;

	*take = 1;
	*n = 1;
	if (b >= 0x80) {
		c = g_utf8_get_char_validated(p, (gssize)avail);
		if (c == (gunichar)-1 || c == (gunichar)-2) {
			*n = 3; /* one U+FFFD per invalid byte */
			return fffd;
		}
		*take = *n = (size_t)g_utf8_skip[b];
		return p;
	}
	if (b >= 0x20 && b != 0x7f)
		return p;
	if (mode == ESTR_LINE) {
		if (b == '\r' || b == '\n' || b == '\t')
			return sp;
		*n = 0;
		return p;
	}
	if (b == '\r') {
		if (avail > 1 && p[1] == '\n')
			*take = 2;
		return nl;
	}
	if (b == '\n')
		return nl;
	if (b == '\t')
		return tab;
	*n = 0; /* NUL and other controls carry nothing readable */
	return p;
}

char *estr_clean(const char *s, size_t len, enum estr_mode mode, size_t max, bool *cut)
{
	size_t cap = len > (SIZE_MAX - 1) / 3 ? SIZE_MAX - 1 : len * 3;
	size_t i = 0, o = 0;
	char *out;

	if (cut)
		*cut = false;
	if (cap > max)
		cap = max;
	out = malloc(cap + 1);
	if (!out)
		return NULL;
	while (i < len) {
		size_t take, n;
		const char *emit = clean_char(s + i, len - i, mode, &take, &n);

		if (o + n > cap) {
			if (cut)
				*cut = true;
			break;
		}
		memcpy(out + o, emit, n);
		o += n;
		i += take;
	}
	out[o] = '\0';
	return out;
}

char *estr_trim(char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t')
		memmove(s, s + 1, strlen(s));
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	return s;
}

/* ---- bounded buffer ---- */

void ebuf_init(struct ebuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

static bool ebuf_reserve(struct ebuf *b, size_t n)
{
	size_t want = b->len + n + 1, cap = b->cap ? b->cap : 256;
	char *p;

	if (want <= b->cap)
		return true;
	while (cap < want)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->nomem = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void ebuf_add(struct ebuf *b, const char *s, size_t n)
{
	if (b->cut || b->nomem)
		return;
	if (n > b->max - b->len) {
		n = estr_utf8_floor(s, n, b->max - b->len);
		b->cut = true;
	}
	if (n == 0 || !ebuf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void ebuf_addc(struct ebuf *b, char c)
{
	ebuf_add(b, &c, 1);
}

char *ebuf_take(struct ebuf *b)
{
	char *p = b->p;

	if (b->nomem) {
		ebuf_free(b);
		return NULL;
	}
	if (!p)
		p = calloc(1, 1);
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void ebuf_free(struct ebuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- warnings ---- */

void eparse_warn(struct eparse *x, const char *fmt, ...)
{
	char buf[EMAIL_WARN_MAX + 1], *w;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < x->n_warn; i++)
		if (strcmp(x->warn[i], buf) == 0)
			return;
	if (x->n_warn == PROTO_MAX_WARNINGS) {
		x->more_warn++;
		return;
	}
	/* vsnprintf may have cut a character in two; clean also drops controls. */
	w = estr_clean(buf, strlen(buf), ESTR_LINE, EMAIL_WARN_MAX, NULL);
	if (!w) {
		x->nomem = true;
		return;
	}
	x->warn[x->n_warn++] = w;
}

/* GMime's parser warnings as operators read them; index: GMimeParserWarning. */
static const char *const gmime_warning_text[] = {
	[GMIME_WARN_DUPLICATED_HEADER] = "a header that may appear once is repeated",
	[GMIME_WARN_DUPLICATED_PARAMETER] = "a header parameter is repeated",
	[GMIME_WARN_UNENCODED_8BIT_HEADER] = "unencoded 8-bit header text, decoded with fallback charsets",
	[GMIME_WARN_INVALID_CONTENT_TYPE] =
		"invalid Content-Type, read as application/octet-stream (a bare \"text\" as text/plain)",
	[GMIME_WARN_INVALID_RFC2047_HEADER_VALUE] = "invalid RFC 2047 encoded header value",
	[GMIME_WARN_MALFORMED_MULTIPART] = "malformed multipart: no parts found",
	[GMIME_WARN_TRUNCATED_MESSAGE] = "the message is truncated",
	[GMIME_WARN_MALFORMED_MESSAGE] = "the message is malformed",
	[GMIME_CRIT_INVALID_HEADER_NAME] = "invalid header name: part of the message may be skipped",
	[GMIME_CRIT_CONFLICTING_HEADER] = "conflicting headers",
	[GMIME_CRIT_CONFLICTING_PARAMETER] = "conflicting header parameters",
	[GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY] = "multipart without a boundary, read as one part",
	[GMIME_WARN_INVALID_PARAMETER] = "invalid header parameter",
	[GMIME_WARN_INVALID_ADDRESS_LIST] = "invalid address list",
	[GMIME_CRIT_NESTING_OVERFLOW] = "MIME nesting too deep: inner parts not read",
	[GMIME_WARN_PART_WITHOUT_CONTENT] = "a MIME part's headers end at a boundary",
	[GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT] = "a MIME part without headers or content",
};

#define N_GMIME_TEXT (sizeof(gmime_warning_text) / sizeof(gmime_warning_text[0]))

void eparse_gmime_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
			  gpointer user_data)
{
	struct eparse *x = user_data;

	(void)item; /* message text: never copied into warnings or logs */
	if (code == GMIME_CRIT_INVALID_HEADER_NAME && x->n_bad_header < EMAIL_BAD_HEADERS)
		x->bad_header[x->n_bad_header++] = offset;
	if ((unsigned)code < sizeof(x->gmime_warn) / sizeof(x->gmime_warn[0]) &&
	    x->gmime_warn[code] < UINT32_MAX)
		x->gmime_warn[code]++;
}

/* The GMime warnings as text, in code order, into `out` (at most `max`). */
static size_t gmime_warnings(struct eparse *x, char **out, size_t max)
{
	char buf[EMAIL_WARN_MAX];
	size_t n = 0;

	for (size_t c = 0; c < N_GMIME_TEXT && n < max; c++) {
		if (!x->gmime_warn[c])
			continue;
		if (x->gmime_warn[c] > 1)
			snprintf(buf, sizeof(buf), "mime: %s (%u times)",
				 gmime_warning_text[c] ? gmime_warning_text[c] : "parser warning",
				 x->gmime_warn[c]);
		else
			snprintf(buf, sizeof(buf), "mime: %s",
				 gmime_warning_text[c] ? gmime_warning_text[c] : "parser warning");
		out[n] = strdup(buf);
		if (!out[n])
			return SIZE_MAX;
		n++;
	}
	return n;
}

static size_t gmime_warning_count(const struct eparse *x)
{
	size_t n = 0;

	for (size_t c = 0; c < N_GMIME_TEXT; c++)
		n += x->gmime_warn[c] != 0;
	return n;
}

int eparse_warnings_finish(struct eparse *x)
{
	size_t g = gmime_warning_count(x);
	size_t total = g + x->n_warn + x->more_warn;
	size_t keep = total > PROTO_MAX_WARNINGS ? PROTO_MAX_WARNINGS - 1 : total;
	struct proto_message *m = x->m;
	char **list, buf[64];
	size_t n, i;

	if (total == 0)
		return GW_OK;
	list = calloc(PROTO_MAX_WARNINGS, sizeof(*list));
	if (!list)
		return GW_ENOMEM;
	m->warnings = list;
	n = gmime_warnings(x, list, keep);
	if (n == SIZE_MAX)
		return GW_ENOMEM; /* m->warnings is freed with the event */
	m->warnings_len = n;
	for (i = 0; i < x->n_warn && m->warnings_len < keep; i++) {
		list[m->warnings_len++] = x->warn[i];
		x->warn[i] = NULL;
	}
	if (total > keep) {
		snprintf(buf, sizeof(buf), "%zu more warnings not listed", total - keep);
		if (!(list[m->warnings_len] = strdup(buf)))
			return GW_ENOMEM;
		m->warnings_len++;
	}
	return GW_OK;
}

void eparse_warnings_free(struct eparse *x)
{
	for (size_t i = 0; i < x->n_warn; i++)
		free(x->warn[i]);
	x->n_warn = 0;
}

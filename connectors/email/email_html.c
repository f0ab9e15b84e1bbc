/*
 * email_html.c - the readable text of an HTML body, for mail that has no
 * text/plain alternative. libxml2's HTML parser builds the tree (it copes
 * with tag soup and decodes entities); this file only walks it, without
 * recursion, so a deep document cannot exhaust the stack:
 *   - script, style, head, title and template are left out;
 *   - block elements (p, div, li, tr, headings...) end lines, paragraphs,
 *     lists, tables, quotes and headings leave a blank line, br breaks one;
 *   - list items start with "- ", table cells are separated by a space;
 *   - runs of blanks (and no-break spaces) collapse to one space, except
 *     inside pre, which is kept as written.
 * The caller converted the HTML to UTF-8 already: the document's own
 * charset declaration is ignored.
 */
#include <limits.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>

#include "connectors/email/email_parse_int.h"

struct walker {
	struct ebuf *out;
	int pending_nl;  /* line breaks owed before the next text (0..2) */
	bool pending_sp; /* a blank owed before the next text */
	bool started;    /* some text was written (no leading breaks) */
	int pre;         /* depth of pre elements */
};

enum brk { BRK_NONE, BRK_CELL, BRK_LINE, BRK_PARA };

static const char *const skipped[] = {"script", "style", "head", "title", "template"};
static const char *const paragraphs[] = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol",
					 "table", "blockquote", "pre", "hr", "dl"};
static const char *const lines[] = {"div", "li", "tr", "dd", "dt", "section", "article",
				    "header", "footer", "address", "center", "form",
				    "fieldset", "nav", "aside", "main", "figure",
				    "figcaption", "caption", "option", "body"};

static bool in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

#define IN(name, list) in_list(name, list, sizeof(list) / sizeof(list[0]))

static enum brk break_of(const char *name)
{
	if (IN(name, paragraphs))
		return BRK_PARA;
	if (IN(name, lines))
		return BRK_LINE;
	if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0)
		return BRK_CELL;
	return BRK_NONE;
}

static void owe_break(struct walker *w, enum brk b)
{
	int nl = b == BRK_PARA ? 2 : b == BRK_LINE ? 1 : 0;

	if (b == BRK_CELL)
		w->pending_sp = true;
	if (w->started && w->pending_nl < nl)
		w->pending_nl = nl;
}

/* Pays what is owed (breaks or a blank), then writes `n` bytes. */
static void put(struct walker *w, const char *s, size_t n)
{
	if (w->started) {
		if (w->pending_nl)
			ebuf_add(w->out, "\n\n", (size_t)w->pending_nl);
		else if (w->pending_sp)
			ebuf_addc(w->out, ' ');
	}
	w->pending_nl = 0;
	w->pending_sp = false;
	w->started = true;
	ebuf_add(w->out, s, n);
}

/* Length of the blank at `s` (ASCII white space or U+00A0), 0 if none. */
static size_t blank_len(const char *s)
{
	if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f')
		return 1;
	if ((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0xa0)
		return 2;
	return 0;
}

static void put_text(struct walker *w, const char *s)
{
	if (w->pre) {
		if (*s)
			put(w, s, strlen(s));
		return;
	}
	while (*s) {
		size_t b = blank_len(s), n = 0;

		if (b) {
			w->pending_sp = true;
			s += b;
			continue;
		}
		while (s[n] && !blank_len(s + n))
			n++;
		put(w, s, n);
		s += n;
	}
}

static void open_element(struct walker *w, const char *name)
{
	owe_break(w, break_of(name));
	if (strcmp(name, "br") == 0 && w->started && w->pending_nl < 2)
		w->pending_nl++;
	if (strcmp(name, "li") == 0) {
		put(w, "-", 1);
		w->pending_sp = true;
	}
	if (strcmp(name, "pre") == 0)
		w->pre++;
}

static void close_element(struct walker *w, const char *name)
{
	if (strcmp(name, "pre") == 0 && w->pre > 0)
		w->pre--;
	owe_break(w, break_of(name));
}

/* The next node after `n` in document order when n's children are done. */
static xmlNode *climb(struct walker *w, xmlNode *n)
{
	while (n && !n->next) {
		n = n->parent;
		if (!n || n->type != XML_ELEMENT_NODE)
			return NULL;
		close_element(w, (const char *)n->name);
	}
	return n ? n->next : NULL;
}

static void walk(struct walker *w, xmlNode *n)
{
	while (n && !w->out->cut && !w->out->nomem) {
		const char *name = (const char *)n->name;

		if (n->type == XML_ELEMENT_NODE && name && !IN(name, skipped)) {
			open_element(w, name);
			if (n->children) {
				n = n->children;
				continue;
			}
			close_element(w, name);
		} else if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) &&
			   n->content) {
			put_text(w, (const char *)n->content);
		}
		n = climb(w, n);
	}
}

void email_html_text(const char *html, size_t len, struct ebuf *out)
{
	const int flags = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
			  HTML_PARSE_NONET | HTML_PARSE_IGNORE_ENC;
	struct walker w = {.out = out};
	htmlDocPtr doc;

	if (len == 0)
		return;
	if (len > INT_MAX)
		len = (size_t)INT_MAX; /* bounded by the message limit long before */
	doc = htmlReadMemory(html, (int)len, NULL, "UTF-8", flags);
	if (!doc)
		return;
	walk(&w, doc->children);
	xmlFreeDoc(doc);
}

void email_html_init(void)
{
	xmlInitParser();
}

/*
 * email_parse_int.h - the pieces of the email parser (email_parse.h), one
 * file per concern:
 *   email_parse.c   entry point, verdicts, the message's id, sender, recipients
 *   email_ids.c     reply_to: References, In-Reply-To, a report's original id
 *   email_repair.c  malformed MIME that GMime misreads, mended and parsed again
 *   email_body.c    which parts are the text and which are attachments
 *   email_html.c    HTML to readable text (libxml2's HTML parser)
 *   email_flags.c   auto-reply and bounce detection
 *   email_str.c     UTF-8 cleaning, bounded buffers, warnings
 *
 * Everything here works on one struct eparse, owned by one email_parse()
 * call. Strings put into the event are malloc'ed (proto_event_clear frees
 * them); GMime's strings are borrowed from the message and never kept.
 */
#ifndef GW_EMAIL_PARSE_INT_H
#define GW_EMAIL_PARSE_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <gmime/gmime.h>

#include "connectors/email/email_parse.h"

#define EMAIL_MAX_DEPTH 32        /* multipart levels walked; deeper is skipped */
#define EMAIL_MAX_PARTS 512       /* leaf parts looked at; the rest are skipped */
#define EMAIL_WARN_MAX 256        /* bytes of one warning (a proto string array entry) */
#define EMAIL_DERIVED_BODY 4096   /* body bytes hashed into a derived id */
#define EMAIL_ID_MAX 256          /* an id in external_id, dedup_key, reply_to */
#define EMAIL_REPAIR_PASSES 4     /* parses of a mended message after the first */
#define EMAIL_BAD_HEADERS 8       /* offsets of bad header lines kept per parse */

/* ---- email_str.c ---- */

/* A string that grows up to `max` bytes; past it, input is cut on a UTF-8
 * boundary and `cut` is set. `nomem` is set when an allocation failed. */
struct ebuf {
	char *p;
	size_t len, cap, max;
	bool cut, nomem;
};

void ebuf_init(struct ebuf *b, size_t max);
/* ebuf_add - appends `n` bytes of valid UTF-8 (a cut keeps whole characters). */
void ebuf_add(struct ebuf *b, const char *s, size_t n);
void ebuf_addc(struct ebuf *b, char c);
/* ebuf_take - the NUL-terminated string (caller frees; "" when empty) or
 * NULL on allocation failure; resets `b`. */
char *ebuf_take(struct ebuf *b);
void ebuf_free(struct ebuf *b);

/* How estr_clean treats control characters. */
enum estr_mode {
	ESTR_LINE, /* one line: CR, LF, TAB and other controls become a space */
	ESTR_TEXT, /* text: CRLF and CR become LF, TAB stays, other controls go */
};

/*
 * estr_clean - `len` bytes of `s` (any bytes) as a new valid UTF-8 string:
 * invalid sequences become U+FFFD, NUL and controls are handled per `mode`,
 * and the result is cut at `max` bytes on a character boundary (*cut set;
 * `cut` may be NULL). Returns NULL on allocation failure.
 */
char *estr_clean(const char *s, size_t len, enum estr_mode mode, size_t max, bool *cut);

/* estr_utf8_floor - the largest n <= max such that s[0..n) is whole characters. */
size_t estr_utf8_floor(const char *s, size_t len, size_t max);

/* estr_trim - `s` without leading and trailing ASCII blanks, in place. */
char *estr_trim(char *s);

/* ---- the parse ---- */

struct eparse {
	const struct email_parse_options *opt;
	GMimeParserOptions *popt;
	GMimeMessage *msg;
	const char *raw;   /* the message as given (after leading blank lines) */
	size_t raw_len;
	char *mended;      /* the message as last parsed, when mended (owned) */
	size_t body_off;   /* where the top-level body starts in raw */
	struct proto_message *m; /* the event's body being filled */
	/* Warnings made while reading, deduplicated, in order. */
	char *warn[PROTO_MAX_WARNINGS];
	size_t n_warn, more_warn;
	/* GMime's parser warnings, counted per GMimeParserWarning code. */
	unsigned gmime_warn[32];
	/* Where GMime met a bad header name (email_repair.c), in the buffer
	 * parsed last. */
	gint64 bad_header[EMAIL_BAD_HEADERS];
	size_t n_bad_header;
	bool nomem;
};

/* eparse_warn - records a warning (printf format, cut at EMAIL_WARN_MAX);
 * repeats of the same text are recorded once. */
void eparse_warn(struct eparse *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* eparse_gmime_warning - GMime's parser warning callback (user_data: x). */
void eparse_gmime_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
			  gpointer user_data);

/* eparse_warnings_finish - moves the warnings into x->m (GMime's first, at
 * most PROTO_MAX_WARNINGS, the last one summarizing the rest). */
int eparse_warnings_finish(struct eparse *x);

/* eparse_warnings_free - frees what eparse_warn kept (after a failure). */
void eparse_warnings_free(struct eparse *x);

/* ---- email_parse.c ---- */

/*
 * email_norm_id - a message id (without <>) as the event carries it into
 * *out (malloc'ed), or NULL when empty. An id over EMAIL_ID_MAX bytes
 * becomes "sha256-" and its SHA-256, so that it stays unique and the same
 * wherever it appears (Message-ID or References). GW_OK or GW_ENOMEM.
 */
int email_norm_id(struct eparse *x, const char *id, char **out);

/* ---- email_ids.c ---- */

/*
 * email_ids_read - sets x->m->reply_to: the ids of References and
 * In-Reply-To, and for a bounce (x->m->bounce, x->m->text set) the id of
 * the message it reports on. GW_OK or GW_ENOMEM.
 */
int email_ids_read(struct eparse *x);

/* ---- email_dsn.c ---- */

/*
 * email_dsn_read - for a bounce (x->m->bounce, reply_to read) whose report
 * names one of the gateway's replies and says a recipient failed: that
 * reply's message.status "failed" with the DSN's Status and
 * Diagnostic-Code into *status (initialized here; *has_status true, the
 * caller clears it). GW_OK (also when there is none) or GW_ENOMEM.
 */
int email_dsn_read(struct eparse *x, struct proto_event *status, bool *has_status);

/* ---- email_repair.c ---- */

/*
 * email_repair_line_ends - when the first line of `raw` ends in a bare CR
 * (no LF), *out is a copy (malloc'ed, `len` bytes) with every bare CR made
 * LF; otherwise *out is NULL. GW_OK or GW_ENOMEM.
 */
int email_repair_line_ends(const char *raw, size_t len, char **out);

/*
 * email_repair - after x->msg was parsed from `buf`: the mended message
 * into *out (malloc'ed, NUL-terminated, *out_len bytes) when GMime misread
 * something email_repair.c knows how to mend, with a warning for each;
 * *out NULL when there is nothing to mend. GW_OK or GW_ENOMEM.
 */
int email_repair(struct eparse *x, const char *buf, size_t len, char **out, size_t *out_len);

/* ---- email_body.c ---- */

/* email_part_bytes - the decoded bytes of a leaf (transfer encoding
 * undone); an attached message is its serialization. Never NULL (GLib
 * aborts on no memory); the caller frees it with g_byte_array_free. */
GByteArray *email_part_bytes(GMimeObject *obj);

/*
 * email_body_read - sets x->m->text and x->m->attachments from the MIME
 * structure; stores attachment bytes under opt->attachment_dir.
 * Returns GW_OK, GW_ENOMEM or GW_EIO (the store is not writable).
 */
int email_body_read(struct eparse *x);

/* ---- email_html.c ---- */

/*
 * email_html_text - appends the readable text of `len` bytes of UTF-8 HTML
 * to `out`: block elements end lines, scripts, styles and the head are
 * left out, runs of blanks collapse as a browser shows them.
 */
void email_html_text(const char *html, size_t len, struct ebuf *out);

/* email_html_init - initializes libxml2 once (from email_parse_init). */
void email_html_init(void);

/* ---- email_flags.c ---- */

/* email_flags_read - sets x->m->auto_reply, x->m->bounce and, when either
 * is set, x->m->automated_reason from headers, the top-level content type
 * and the sender. GW_OK or GW_ENOMEM. */
int email_flags_read(struct eparse *x);

/* email_is_list_post - a mailing-list post: List-Id, List-Post,
 * List-Unsubscribe or Precedence: list. */
bool email_is_list_post(struct eparse *x);

/* email_addr_is_daemon - the local part is mailer-daemon or postmaster. */
bool email_addr_is_daemon(const char *addr);

#endif

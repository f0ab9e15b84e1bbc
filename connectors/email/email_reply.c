/*
 * email_reply.c - a reply as a MIME message (email_reply.h). GMime builds
 * and writes every header and part: addresses and subjects with RFC 2047,
 * file names with RFC 2231, bodies with their transfer encodings. This file
 * only decides what goes in.
 */
#include "connectors/email/email_reply.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <gmime/gmime.h>

#include "core/err.h"
#include "core/util.h"
#include "store/attachments.h"

#define REPLY_ID_MAX 256     /* a message id in a header, without <> */
#define REPLY_LINE_MAX 998   /* RFC 5322: longest line, without CRLF */
#define REPLY_TOKEN_DIGITS 19

/* ---- the subject ------------------------------------------------------------------ */

/* skip_re - past every leading "Re:" ("RE :", "Re[2]:", "re(3):"). */
static const char *skip_re(const char *s)
{
	for (;;) {
		const char *q = s;

		while (*q == ' ' || *q == '\t')
			q++;
		if (strncasecmp(q, "re", 2) != 0)
			return q;
		q += 2;
		if (*q == '[' || *q == '(') {
			char close = *q == '[' ? ']' : ')';

			q++;
			while (isdigit((unsigned char)*q))
				q++;
			if (*q != close)
				return s;
			q++;
		}
		while (*q == ' ')
			q++;
		if (*q != ':')
			return s;
		s = q + 1;
	}
}

/* token_len - the length of a "[#T-<digits>]" at `s`, 0 when none. */
static size_t token_len(const char *s)
{
	size_t n = 0;

	if (s[0] != '[' || s[1] != '#' || (s[2] != 'T' && s[2] != 't') || s[3] != '-')
		return 0;
	while (n < REPLY_TOKEN_DIGITS && isdigit((unsigned char)s[4 + n]))
		n++;
	return n > 0 && s[4 + n] == ']' ? n + 5 : 0;
}

void email_reply_subject(const char *subject, uint64_t ticket, char *out, size_t size)
{
	const char *s = skip_re(subject ? subject : "");
	char token[32] = "";
	size_t n = 0, room;

	if (size < 8) { /* not even room for "Re: " and a word */
		if (size)
			out[0] = '\0';
		return;
	}
	if (ticket)
		snprintf(token, sizeof(token), "[#T-%llu]", (unsigned long long)ticket);
	n = (size_t)snprintf(out, size, "Re: ");
	room = size > strlen(token) + 2 ? size - strlen(token) - 2 : 0;
	while (*s && n + 1 < room) {
		size_t t = token_len(s);

		if (t) {
			s += t;
			continue;
		}
		/* Blanks collapse: none at the start, one between words. */
		if ((*s == ' ' || *s == '\t') && (n == 4 || out[n - 1] == ' ')) {
			s++;
			continue;
		}
		out[n++] = *s == '\t' ? ' ' : *s;
		s++;
	}
	out[n < size ? n : size - 1] = '\0';
	gw_utf8_trim(out);
	n = strlen(out);
	while (n > 4 && out[n - 1] == ' ')
		out[--n] = '\0';
	if (token[0] && n + strlen(token) + 2 <= size)
		snprintf(out + n, size - n, "%s%s", n > 4 ? " " : "", token);
	else if (n == 4)
		out[3] = '\0'; /* "Re:" alone, not "Re: " */
}

/* ---- ids and addresses ---------------------------------------------------------- */

/* addr_ok - one mailbox "local@domain": printable ASCII, no blanks, no
 * brackets, quotes or commas (what could end a header or an envelope). */
static bool addr_ok(const char *a)
{
	const char *at = a ? strrchr(a, '@') : NULL;

	if (!at || at == a || !at[1] || strlen(a) > PROTO_MAX_ADDRESS)
		return false;
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("<>()\",;:\\[]", *p))
			return false;
	return true;
}

/* msgid_ok - a message id to name in a header: "left@right" as addr_ok,
 * at most REPLY_ID_MAX bytes. */
static bool msgid_ok(const char *id)
{
	return id && strlen(id) <= REPLY_ID_MAX && addr_ok(id);
}

/* make_id - "<external_id>@<domain of from, lowercase>" into out. */
static int make_id(const char *ext, const char *from, struct email_reply *out, char *why,
		   size_t whylen)
{
	const char *dom = strrchr(from, '@') + 1;
	int n;

	if (!ext || !*ext || strspn(ext, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(ext)) {
		snprintf(why, whylen, "the reply has no usable external_id");
		return GW_EINVAL;
	}
	n = snprintf(out->message_id, sizeof(out->message_id), "%s@%s", ext, dom);
	if (n < 0 || (size_t)n > REPLY_ID_MAX) {
		snprintf(why, whylen, "the reply's Message-ID would be over %d bytes", REPLY_ID_MAX);
		return GW_EINVAL;
	}
	for (char *p = out->message_id + strlen(ext); *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return GW_OK;
}

/* set_threading - In-Reply-To (the last id, when it is a message id) and
 * References (every message id of the chain). */
static void set_threading(GMimeMessage *msg, const struct proto_message *m)
{
	GString *refs = g_string_new(NULL);
	char one[REPLY_ID_MAX + 3];

	for (size_t i = 0; i < m->reply_to_len; i++) {
		if (!msgid_ok(m->reply_to[i]))
			continue;
		g_string_append_printf(refs, "%s<%s>", refs->len ? " " : "", m->reply_to[i]);
	}
	if (m->reply_to_len && msgid_ok(m->reply_to[m->reply_to_len - 1])) {
		snprintf(one, sizeof(one), "<%s>", m->reply_to[m->reply_to_len - 1]);
		g_mime_object_set_header(GMIME_OBJECT(msg), "In-Reply-To", one, NULL);
	}
	if (refs->len)
		g_mime_object_set_header(GMIME_OBJECT(msg), "References", refs->str, NULL);
	g_string_free(refs, TRUE);
}

/* ---- parts ---------------------------------------------------------------------- */

/* plain_7bit - ASCII without NUL or bare CR, lines of at most 998 bytes. */
static bool plain_7bit(const char *s)
{
	size_t line = 0;

	for (; *s; s++) {
		if ((unsigned char)*s >= 0x80 || (*s == '\r' && s[1] != '\n'))
			return false;
		line = *s == '\n' ? 0 : line + 1;
		if (line > REPLY_LINE_MAX)
			return false;
	}
	return true;
}

/* set_content - `len` bytes (copied) as the part's content, in `enc`. */
static void set_content(GMimePart *part, const void *data, size_t len, GMimeContentEncoding enc)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(st, GMIME_CONTENT_ENCODING_DEFAULT);

	g_mime_part_set_content(part, w);
	g_mime_part_set_content_encoding(part, enc);
	g_object_unref(w);
	g_object_unref(st);
}

static GMimePart *text_part(const char *text)
{
	GMimePart *p = g_mime_part_new_with_type("text", "plain");

	g_mime_object_set_content_type_parameter(GMIME_OBJECT(p), "charset", "utf-8");
	set_content(p, text, strlen(text),
		    plain_7bit(text) ? GMIME_CONTENT_ENCODING_7BIT
				     : GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	return p;
}

/* media_type - "type/subtype" of an attachment, application/octet-stream
 * when it is not one. */
static void media_type(const char *t, char *type, size_t tn, char *sub, size_t sn)
{
	static const char tok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "0123456789!#$&-^_.+";
	const char *slash = t ? strchr(t, '/') : NULL;
	size_t a = slash ? (size_t)(slash - t) : 0;

	if (!slash || a == 0 || a >= tn || strspn(t, tok) != a || !slash[1] ||
	    strlen(slash + 1) >= sn || strspn(slash + 1, tok) != strlen(slash + 1)) {
		snprintf(type, tn, "application");
		snprintf(sub, sn, "octet-stream");
		return;
	}
	snprintf(type, tn, "%.*s", (int)a, t);
	snprintf(sub, sn, "%s", slash + 1);
}

/* read_blob - the bytes of `hex` from the first folder holding them, at
 * most `max` bytes. */
static int read_blob(const struct email_reply_options *opt, const char *hex, size_t max,
		     char **data, size_t *len)
{
	char path[4096];
	struct stat st;

	for (size_t i = 0; i < EMAIL_REPLY_DIRS; i++) {
		if (!opt->attach_dirs[i] ||
		    attach_path(opt->attach_dirs[i], hex, path, sizeof(path)) != GW_OK ||
		    stat(path, &st) != 0)
			continue;
		if ((uint64_t)st.st_size > (uint64_t)max)
			return GW_ETOOBIG;
		return gw_read_file(path, (size_t)st.st_size, data, len);
	}
	return GW_EMISSING;
}

/* attachment_part - attachment `i` of the reply as a base64 part; `budget`
 * is what the message may still grow by; its bytes into *bytes. */
static int attachment_part(const struct email_reply_options *opt,
			   const struct proto_attachment *a, size_t i, size_t budget,
			   GMimePart **out, size_t *bytes, char *why, size_t whylen)
{
	char type[64], sub[PROTO_MAX_MEDIA_TYPE], *data = NULL;
	size_t len = 0;
	int rc;

	if (strncmp(a->ref, ATTACH_REF_PREFIX, strlen(ATTACH_REF_PREFIX)) != 0) {
		snprintf(why, whylen, "attachment %zu: email replies attach files of the attachments "
			 "store (sha256:...), not links", i + 1);
		return GW_EINVAL;
	}
	rc = read_blob(opt, a->ref + strlen(ATTACH_REF_PREFIX), budget / 4 * 3, &data, &len);
	if (rc == GW_EMISSING || rc == GW_ENOTFOUND)
		snprintf(why, whylen, "attachment %zu: %.80s is not in the attachments store", i + 1,
			 a->ref);
	else if (rc == GW_ETOOBIG)
		snprintf(why, whylen, "attachment %zu: the reply would be over smtp.max_message_bytes "
			 "(%zu)", i + 1, opt->max_bytes);
	else if (rc)
		snprintf(why, whylen, "attachment %zu: cannot be read: %s", i + 1, gw_strerror(rc));
	if (rc)
		return rc == GW_ENOTFOUND ? GW_EMISSING : rc;
	media_type(a->type, type, sizeof(type), sub, sizeof(sub));
	*out = g_mime_part_new_with_type(type, sub);
	if (a->name && a->name[0])
		g_mime_part_set_filename(*out, a->name);
	else
		g_mime_object_set_disposition(GMIME_OBJECT(*out), "attachment");
	set_content(*out, data, len, GMIME_CONTENT_ENCODING_BASE64);
	free(data);
	*bytes = len;
	return GW_OK;
}

/* ---- the message ---------------------------------------------------------------- */

static int too_big(const struct email_reply_options *opt, char *why, size_t whylen)
{
	snprintf(why, whylen, "the reply is over smtp.max_message_bytes (%zu)", opt->max_bytes);
	return GW_ETOOBIG;
}

/*
 * body - the text alone, or a multipart/mixed of the text and the files.
 * What the message will weigh is counted as it grows (quoted-printable's
 * worst case for the text, base64 for the files, room for headers), so
 * that no file is read past max_bytes.
 */
static int body(const struct email_reply_options *opt, const struct proto_message *m,
		GMimeObject **out, char *why, size_t whylen)
{
	const char *text = m->text ? m->text : "";
	size_t used = strlen(text) * 3 + 4096;
	GMimeMultipart *mp;
	int rc = GW_OK;

	if (used > opt->max_bytes)
		return too_big(opt, why, whylen);
	if (m->attachments_len == 0) {
		*out = GMIME_OBJECT(text_part(text));
		return GW_OK;
	}
	mp = g_mime_multipart_new_with_subtype("mixed");
	if (*text)
		g_mime_multipart_add(mp, GMIME_OBJECT(text_part(text)));
	for (size_t i = 0; rc == GW_OK && i < m->attachments_len; i++) {
		GMimePart *p = NULL;
		size_t bytes = 0;

		rc = attachment_part(opt, &m->attachments[i], i, opt->max_bytes - used, &p, &bytes,
				     why, whylen);
		if (rc)
			break;
		g_mime_multipart_add(mp, GMIME_OBJECT(p));
		g_object_unref(p);
		used += (bytes + 2) / 3 * 4 + bytes / 38 + 512; /* base64, its CRLFs, headers */
		if (used > opt->max_bytes)
			rc = too_big(opt, why, whylen);
	}
	if (rc == GW_OK)
		*out = GMIME_OBJECT(mp);
	else
		g_object_unref(mp);
	return rc;
}

/* headers - From, To, Subject, Date, Message-ID, In-Reply-To, References,
 * Auto-Submitted. */
static void headers(GMimeMessage *msg, const struct email_reply_options *opt,
		    const struct proto_message *m, const struct email_reply *r)
{
	const char *name = opt->from_name ? opt->from_name : m->from.name;
	char subject[PROTO_MAX_SUBJECT + 64];
	GDateTime *date = g_date_time_new_from_unix_utc(opt->now_ms / 1000);

	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, name && *name ? name : NULL,
				   opt->from);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO,
				   m->to->name && *m->to->name ? m->to->name : NULL, r->to);
	email_reply_subject(m->subject, m->ticket_id, subject, sizeof(subject));
	g_mime_message_set_subject(msg, subject, "utf-8");
	if (date) {
		g_mime_message_set_date(msg, date);
		g_date_time_unref(date);
	}
	g_mime_message_set_message_id(msg, r->message_id);
	set_threading(msg, m);
	/* RFC 3834: an automatic message says so, so that the customer's
	 * auto-responder does not answer it; a person's reply never does. */
	if (m->automatic && *m->automatic)
		g_mime_object_set_header(GMIME_OBJECT(msg), "Auto-Submitted", "auto-replied", NULL);
}

/* check_input - what a reply needs before anything is built. */
static int check_input(const struct email_reply_options *opt, const struct proto_message *m,
		       struct email_reply *out, char *why, size_t whylen)
{
	if (!opt->from || !addr_ok(opt->from)) {
		snprintf(why, whylen, "smtp.from is not an address");
		return GW_EINVAL;
	}
	if (!m->to || !addr_ok(m->to->address)) {
		snprintf(why, whylen, "the customer's address is not an email address");
		return GW_EINVAL;
	}
	if (m->tmpl) {
		snprintf(why, whylen, "email has no templates: send a text");
		return GW_EINVAL;
	}
	snprintf(out->to, sizeof(out->to), "%s", m->to->address);
	return make_id(m->external_id, opt->from, out, why, whylen);
}

/* serialize - the message as CRLF text into out->data. */
static int serialize(GMimeMessage *msg, const struct email_reply_options *opt,
		     struct email_reply *out, char *why, size_t whylen)
{
	GMimeFormatOptions *fo = g_mime_format_options_new();
	GMimeStream *st = g_mime_stream_mem_new();
	GByteArray *ba;
	int rc = GW_OK;

	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	if (g_mime_object_write_to_stream(GMIME_OBJECT(msg), fo, st) < 0) {
		snprintf(why, whylen, "the message cannot be written");
		rc = GW_EIO;
		goto out;
	}
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(st));
	if (ba->len > opt->max_bytes) {
		rc = too_big(opt, why, whylen);
		goto out;
	}
	out->data = malloc(ba->len + 1);
	if (!out->data) {
		rc = GW_ENOMEM;
		goto out;
	}
	memcpy(out->data, ba->data, ba->len);
	out->data[ba->len] = '\0';
	out->len = ba->len;
out:
	g_object_unref(st);
	g_mime_format_options_free(fo);
	return rc;
}

int email_reply_build(const struct email_reply_options *opt, const struct proto_message *m,
		      struct email_reply *out, char *why, size_t whylen)
{
	GMimeMessage *msg = NULL;
	GMimeObject *part = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	rc = check_input(opt, m, out, why, whylen);
	if (rc == GW_OK)
		rc = body(opt, m, &part, why, whylen);
	if (rc)
		goto out;
	msg = g_mime_message_new(TRUE);
	headers(msg, opt, m, out);
	g_mime_message_set_mime_part(msg, part);
	rc = serialize(msg, opt, out, why, whylen);
out:
	if (part)
		g_object_unref(part);
	if (msg)
		g_object_unref(msg);
	if (rc == GW_ENOMEM && !why[0])
		snprintf(why, whylen, "out of memory");
	if (rc)
		email_reply_free(out);
	return rc;
}

void email_reply_free(struct email_reply *r)
{
	if (!r)
		return;
	free(r->data);
	memset(r, 0, sizeof(*r));
}

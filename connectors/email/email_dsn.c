/*
 * email_dsn.c - a bounce of one of the gateway's replies fails the reply.
 *
 * A delivery status notification (RFC 3464: multipart/report with a
 * message/delivery-status part) names the message it reports on; when
 * that is one of the gateway's replies (its Message-ID is the reply's
 * external_id "reply-<n>-<hex>" at a domain, email_reply.c) and a
 * recipient's Action is "failed", the parser adds, beside the bounce's own
 * message.received, a message.status "failed" of the reply:
 *
 *   external_id   the reply's Message-ID (without <>), the key the sender's
 *                 report recorded for every account of the channel
 *   status_id     "<Message-ID>:failed"
 *   errors[0]     title "bounced: <Status> <Diagnostic-Code>" (the
 *                 diagnostic without its "smtp;" type), code 0
 *   recipient     the Final-Recipient address
 *
 * The delivery-status fields are read with GMime's header parser: the part
 * is a series of header blocks (the per-message fields, then one block per
 * recipient) separated by blank lines. A "delayed" or "delivered" report
 * changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/email/email_parse_int.h"
#include "core/err.h"
#include "core/util.h"

#define DSN_BLOCKS_MAX 16 /* header blocks of a delivery-status part read */
#define DSN_TITLE_MAX 512

struct dsn {
	char status[32];
	char diagnostic[DSN_TITLE_MAX];
	char recipient[PROTO_MAX_ADDRESS + 1];
	int failed;
};

/* is_reply_id - "reply-<digits>-<32 hex>@domain": a reply's Message-ID. */
static int is_reply_id(const char *id)
{
	const char *at = strchr(id, '@');
	size_t digits, hex;

	if (!at || strncmp(id, "reply-", 6) != 0)
		return 0;
	id += 6;
	digits = strspn(id, "0123456789");
	if (digits == 0 || digits > 20 || id[digits] != '-')
		return 0;
	id += digits + 1;
	hex = strspn(id, "0123456789abcdef");
	return hex == 32 && id + hex == at;
}

/* field - the value of header `name` of `obj`, blanks trimmed, into buf. */
static void field(GMimeObject *obj, const char *name, char *buf, size_t size)
{
	const char *v = g_mime_object_get_header(obj, name);
	size_t n;

	buf[0] = '\0';
	if (!v)
		return;
	while (*v == ' ' || *v == '\t')
		v++;
	snprintf(buf, size, "%s", v);
	n = strlen(buf);
	while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\r' || buf[n - 1] == '\n'))
		buf[--n] = '\0';
	gw_utf8_trim(buf);
}

/* after_type - "rfc822; a@b" -> "a@b" (the value past its type). */
static const char *after_type(const char *v)
{
	const char *semi = strchr(v, ';');

	if (!semi)
		return v;
	for (semi++; *semi == ' ' || *semi == '\t'; semi++)
		;
	return semi;
}

/* dsn_block - one recipient block: the first failed one is kept. */
static void dsn_block(GMimeObject *blk, struct dsn *d)
{
	char action[32], diag[DSN_TITLE_MAX], rcpt[PROTO_MAX_ADDRESS + 16];

	field(blk, "Action", action, sizeof(action));
	if (d->failed || g_ascii_strcasecmp(action, "failed") != 0)
		return;
	d->failed = 1;
	field(blk, "Status", d->status, sizeof(d->status));
	field(blk, "Diagnostic-Code", diag, sizeof(diag));
	snprintf(d->diagnostic, sizeof(d->diagnostic), "%s", after_type(diag));
	field(blk, "Final-Recipient", rcpt, sizeof(rcpt));
	snprintf(d->recipient, sizeof(d->recipient), "%.*s", PROTO_MAX_ADDRESS, after_type(rcpt));
	gw_utf8_trim(d->recipient);
}

/* dsn_fields - the header blocks of a delivery-status part's bytes. */
static void dsn_fields(const GByteArray *bytes, struct dsn *d)
{
	gint64 off = 0;

	for (int i = 0; i < DSN_BLOCKS_MAX && off < (gint64)bytes->len && !d->failed; i++) {
		GMimeStream *st = g_mime_stream_mem_new_with_buffer(
			(const char *)bytes->data + off, bytes->len - (size_t)off);
		GMimeParser *p = g_mime_parser_new_with_stream(st);
		GMimeMessage *blk = g_mime_parser_construct_message(p, NULL);
		gint64 end = g_mime_parser_get_headers_end(p);

		if (blk)
			dsn_block(GMIME_OBJECT(blk), d);
		off = blk && end > 0 ? off + end : (gint64)bytes->len;
		while (off < (gint64)bytes->len && (bytes->data[off] == '\r' ||
						      bytes->data[off] == '\n'))
			off++;
		if (blk)
			g_object_unref(blk);
		g_object_unref(p);
		g_object_unref(st);
	}
}

static void dsn_walk(GMimeObject *obj, int depth, struct dsn *d)
{
	GMimeContentType *ct;
	GByteArray *bytes;

	if (!obj || depth > EMAIL_MAX_DEPTH || d->failed)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		int n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));

		for (int i = 0; i < n && i < EMAIL_MAX_PARTS; i++)
			dsn_walk(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), depth + 1, d);
		return;
	}
	ct = g_mime_object_get_content_type(obj);
	if (!GMIME_IS_PART(obj) || !ct ||
	    !g_mime_content_type_is_type(ct, "message", "delivery-status"))
		return;
	bytes = email_part_bytes(obj);
	if (bytes) {
		dsn_fields(bytes, d);
		g_byte_array_free(bytes, TRUE);
	}
}

/* dsn_status - the reply's failed status from `d` into `ev`. */
static int dsn_status(struct eparse *x, const char *reply, const struct dsn *d,
		      struct proto_event *ev)
{
	struct proto_status *s = &ev->u.status;
	char title[DSN_TITLE_MAX + 64], sid[PROTO_MAX_EXTERNAL_ID + 8];
	int rc = proto_event_init(ev, PROTO_T_MESSAGE_STATUS);

	if (rc != GW_OK)
		return rc;
	snprintf(title, sizeof(title), "bounced: %s%s%s", d->status[0] ? d->status : "5.0.0",
		 d->diagnostic[0] ? " " : "", d->diagnostic);
	gw_utf8_trim(title);
	snprintf(sid, sizeof(sid), "%s:failed", reply);
	s->status_at = x->m->received_at;
	s->channel = gw_strdup("email");
	s->account = gw_strdup(x->opt->account);
	s->external_id = gw_strdup(reply);
	s->status_id = gw_strdup(sid);
	s->status = gw_strdup("failed");
	s->recipient = d->recipient[0] ? gw_strdup(d->recipient) : NULL;
	s->errors = calloc(1, sizeof(*s->errors));
	if (s->errors) {
		s->errors_len = 1;
		s->errors[0].title = gw_strdup(title);
	}
	if (!s->channel || !s->account || !s->external_id || !s->status_id || !s->status ||
	    !s->errors || !s->errors[0].title || (d->recipient[0] && !s->recipient))
		return GW_ENOMEM;
	return GW_OK;
}

int email_dsn_read(struct eparse *x, struct proto_event *status, bool *has_status)
{
	const struct proto_message *m = x->m;
	const char *reply = NULL;
	struct dsn d;
	int rc;

	*has_status = false;
	if (!m->bounce)
		return GW_OK;
	for (size_t i = 0; i < m->reply_to_len; i++)
		if (is_reply_id(m->reply_to[i]))
			reply = m->reply_to[i]; /* the last: a report's own id */
	if (!reply || strlen(reply) > PROTO_MAX_EXTERNAL_ID)
		return GW_OK;
	memset(&d, 0, sizeof(d));
	dsn_walk(g_mime_message_get_mime_part(x->msg), 0, &d);
	if (!d.failed)
		return GW_OK;
	rc = dsn_status(x, reply, &d, status);
	if (rc != GW_OK) {
		proto_event_clear(status);
		return rc;
	}
	*has_status = true;
	return GW_OK;
}

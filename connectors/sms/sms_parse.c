/*
 * sms_parse.c - Twilio's webhooks into events (sms_parse.h).
 *
 * Every string put into an event is a malloc'ed copy owned by the event;
 * a failing helper has written err (the first failure wins) and returns
 * its code, which callers pass on.
 */
#include "connectors/sms/sms_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/err.h"
#include "core/util.h"
#include "proto/proto_desc.h"

#define SMS_MEDIA_MAX 64 /* NumMedia read at most (Twilio sends 10) */

/* ---- small helpers -------------------------------------------------------- */

static int sp_fail(struct sms_parse_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int sp_fail(struct sms_parse_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err->code)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

static int sp_dup(struct sms_parse_error *err, const char *s, char **out)
{
	*out = gw_strdup(s);
	return *out ? GW_OK : sp_fail(err, GW_ENOMEM, "out of memory");
}

/* sp_id - the first present of the parameters `names` (NULL-terminated),
 * required non-empty and at most `max` bytes, into *out (borrowed). */
static int sp_id(const struct sms_form *f, const char *const *names, size_t max,
		 struct sms_parse_error *err, const char **out)
{
	const char *v = NULL;

	for (size_t i = 0; names[i] && !v; i++)
		v = sms_form_get(f, names[i]);
	*out = v;
	if (!v || !v[0])
		return sp_fail(err, GW_EMISSING, "%s: required", names[0]);
	if (strlen(v) > max)
		return sp_fail(err, GW_ETOOBIG, "%s: longer than %zu bytes", names[0], max);
	return GW_OK;
}

/* sp_raw - every pair as a JSON object (a repeated name: its first value),
 * as text, or NULL when over PROTO_MAX_RAW. */
static int sp_raw(const struct sms_form *f, struct sms_parse_error *err, char **out)
{
	json_t *o = json_object();
	char *text;

	*out = NULL;
	for (size_t i = 0; o && i < f->n; i++) {
		json_t *v;

		if (json_object_get(o, f->pair[i].name))
			continue;
		v = json_stringn(f->pair[i].value, f->pair[i].value_len);
		/* Not UTF-8: left out of raw; the encoder judges the fields. */
		if (v && json_object_set_new(o, f->pair[i].name, v) != 0)
			break;
	}
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return sp_fail(err, GW_ENOMEM, "out of memory");
	if (strlen(text) <= PROTO_MAX_RAW)
		*out = text;
	else
		free(text);
	return GW_OK;
}

/* sp_utf8 - every name and value is UTF-8, as Twilio sends them (and as
 * every string of an event must be). */
static int sp_utf8(const struct sms_form *f, struct sms_parse_error *err)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct sms_pair *p = &f->pair[i];

		if (!proto_utf8_valid(p->name, strlen(p->name)))
			return sp_fail(err, GW_EPROTO, "parameter %zu: its name is not UTF-8", i + 1);
		if (!proto_utf8_valid(p->value, p->value_len))
			return sp_fail(err, GW_EPROTO, "%s: not UTF-8", p->name);
	}
	return GW_OK;
}

/* sp_account - a webhook of another account is refused. */
static int sp_account(const struct sms_form *f, const struct sms_parse_meta *m,
		      struct sms_parse_error *err)
{
	const char *sid = sms_form_get(f, "AccountSid");

	if (m->account_sid && sid && strcmp(sid, m->account_sid) != 0)
		return sp_fail(err, GW_EAUTH, "AccountSid: not this instance's account");
	return GW_OK;
}

/* ---- keywords ----------------------------------------------------------------- */

static const char *const sp_stop_words[] = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END",
					    "QUIT", NULL};
static const char *const sp_start_words[] = {"START", "YES", "UNSTOP", NULL};

static int sp_word_in(const char *s, size_t n, const char *const *words)
{
	for (size_t i = 0; words[i]; i++)
		if (strlen(words[i]) == n && strncasecmp(s, words[i], n) == 0)
			return 1;
	return 0;
}

enum sms_keyword sms_keyword(const char *body)
{
	static const char blank[] = " \t\r\n";
	size_t n;

	if (!body)
		return SMS_KW_NONE;
	body += strspn(body, blank);
	n = strlen(body);
	while (n > 0 && strchr(blank, body[n - 1]))
		n--;
	if (sp_word_in(body, n, sp_stop_words))
		return SMS_KW_STOP;
	if (sp_word_in(body, n, sp_start_words))
		return SMS_KW_START;
	return SMS_KW_NONE;
}

/* sp_keyword - Twilio's OptOutType when it gave one, else the body's. */
static enum sms_keyword sp_keyword(const struct sms_form *f, const char *body)
{
	const char *t = sms_form_get(f, "OptOutType");

	if (t && strcasecmp(t, "STOP") == 0)
		return SMS_KW_STOP;
	if (t && strcasecmp(t, "START") == 0)
		return SMS_KW_START;
	return sms_keyword(body);
}

/* ---- error codes ----------------------------------------------------------------- */

static const struct {
	long code;
	const char *title;
} sp_errors[] = {
	{20003, "Authentication error: the account SID or auth token is wrong"},
	{20429, "Too many requests"},
	{21211, "Invalid 'To' phone number"},
	{21408, "Permission to send an SMS has not been enabled for the region of the 'To' "
		"number"},
	{21602, "Message body is required"},
	{21606, "The 'From' number is not a message-capable Twilio number for this "
		"destination or account"},
	{21610, "Attempt to send to unsubscribed recipient"},
	{21612, "The 'To' phone number is not currently reachable via SMS"},
	{21614, "'To' number is not a valid mobile number"},
	{21617, "The message body exceeds the 1600 character limit"},
	{21620, "Invalid media URL"},
	{30001, "Queue overflow"},
	{30002, "Account suspended"},
	{30003, "Unreachable destination handset"},
	{30004, "Message blocked"},
	{30005, "Unknown destination handset"},
	{30006, "Landline or unreachable carrier"},
	{30007, "Message filtered by the carrier"},
	{30008, "Unknown error"},
	{30034, "Message from an unregistered number"},
};

const char *sms_error_title(long code)
{
	for (size_t i = 0; i < sizeof(sp_errors) / sizeof(sp_errors[0]); i++)
		if (sp_errors[i].code == code)
			return sp_errors[i].title;
	return NULL;
}

/* ---- incoming messages -------------------------------------------------------- */

static int sp_warn(struct proto_message *m, struct sms_parse_error *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* sp_warn - one more warning on the message (the first PROTO_MAX_WARNINGS). */
static int sp_warn(struct proto_message *m, struct sms_parse_error *err, const char *fmt, ...)
{
	char text[PROTO_MAX_EXTERNAL_ID + 1];
	va_list ap;

	if (!m->warnings && !(m->warnings = calloc(PROTO_MAX_WARNINGS, sizeof(*m->warnings))))
		return sp_fail(err, GW_ENOMEM, "out of memory");
	if (m->warnings_len == PROTO_MAX_WARNINGS)
		return GW_OK;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return sp_dup(err, text, &m->warnings[m->warnings_len++]);
}

static const char *sp_media_kind(const char *type)
{
	if (strncasecmp(type, "image/", 6) == 0)
		return "image";
	if (strncasecmp(type, "audio/", 6) == 0)
		return "audio";
	if (strncasecmp(type, "video/", 6) == 0)
		return "video";
	return "document";
}

/* sp_media_one - MediaUrl<i> and MediaContentType<i> as one more
 * attachment; a URL missing or too long is a warning. */
static int sp_media_one(const struct sms_form *f, unsigned i, struct proto_message *m,
			struct sms_parse_error *err)
{
	char name[32];
	const char *url, *type;
	struct proto_attachment *a;
	int rc;

	snprintf(name, sizeof(name), "MediaUrl%u", i);
	url = sms_form_get(f, name);
	if (!url || !url[0] || strlen(url) > PROTO_MAX_REF)
		return sp_warn(m, err, "%s: %s; that media is not in the message", name,
			       url && url[0] ? "longer than the limit of a ref" : "missing");
	snprintf(name, sizeof(name), "MediaContentType%u", i);
	type = sms_form_get(f, name);
	if (!type || !type[0] || strlen(type) > PROTO_MAX_MEDIA_TYPE)
		type = "application/octet-stream";
	a = &m->attachments[m->attachments_len++];
	rc = sp_dup(err, "", &a->name);
	if (rc == GW_OK)
		rc = sp_dup(err, type, &a->type);
	if (rc == GW_OK)
		rc = sp_dup(err, url, &a->ref);
	if (rc == GW_OK)
		rc = sp_dup(err, sp_media_kind(type), &a->kind);
	return rc;
}

static int sp_media(const struct sms_form *f, struct proto_message *m,
		    struct sms_parse_error *err)
{
	unsigned n = 0;
	int rc = GW_OK;

	if (sms_form_count(f, "NumMedia", SMS_MEDIA_MAX, &n) != GW_OK)
		return sp_fail(err, GW_EPROTO, "NumMedia: not a count of at most %d",
			       SMS_MEDIA_MAX);
	if (n == 0)
		return GW_OK;
	m->attachments = calloc(n, sizeof(*m->attachments));
	if (!m->attachments)
		return sp_fail(err, GW_ENOMEM, "out of memory");
	for (unsigned i = 0; rc == GW_OK && i < n; i++)
		rc = sp_media_one(f, i, m, err);
	return rc;
}

/* sp_message_head - the event, its ids and parties. */
static int sp_message_head(const struct sms_form *f, const struct sms_parse_meta *meta,
			   struct sms_parsed *out, struct sms_parse_error *err)
{
	static const char *const sid_names[] = {"MessageSid", "SmsMessageSid", "SmsSid", NULL};
	static const char *const from_name[] = {"From", NULL}, *const to_name[] = {"To", NULL};
	struct proto_message *m = &out->ev.u.message;
	const char *sid = NULL;
	int rc;

	rc = sp_id(f, sid_names, PROTO_MAX_EXTERNAL_ID, err, &sid);
	if (rc == GW_OK)
		rc = sp_id(f, from_name, PROTO_MAX_ADDRESS, err, &out->from);
	if (rc == GW_OK)
		rc = sp_id(f, to_name, PROTO_MAX_ADDRESS, err, &out->to);
	if (rc != GW_OK)
		return rc;
	rc = proto_event_init(&out->ev, PROTO_T_MESSAGE_RECEIVED);
	if (rc != GW_OK)
		return sp_fail(err, rc, "cannot make an event id");
	m->received_at = meta->received_at;
	rc = sp_dup(err, meta->channel, &m->channel);
	if (rc == GW_OK)
		rc = sp_dup(err, meta->account, &m->account);
	if (rc == GW_OK)
		rc = sp_dup(err, sid, &m->external_id);
	if (rc == GW_OK)
		rc = sp_dup(err, out->from, &m->from.address);
	m->recipients = rc == GW_OK ? calloc(1, sizeof(*m->recipients)) : NULL;
	if (rc == GW_OK && !m->recipients)
		rc = sp_fail(err, GW_ENOMEM, "out of memory");
	if (rc == GW_OK) {
		m->recipients_len = 1;
		rc = sp_dup(err, out->to, &m->recipients[0].address);
	}
	if (rc == GW_OK)
		rc = sp_dup(err, "to", &m->recipients[0].role);
	return rc;
}

/* sp_message - an incoming message: message.received. */
static int sp_message(const struct sms_form *f, const struct sms_parse_meta *meta,
		      struct sms_parsed *out, struct sms_parse_error *err)
{
	struct proto_message *m = &out->ev.u.message;
	const char *body = sms_form_get(f, "Body");
	const char *kind = NULL;
	int rc;

	out->what = SMS_WH_MESSAGE;
	rc = sp_message_head(f, meta, out, err);
	if (rc == GW_OK)
		rc = sp_dup(err, body ? body : "", &m->text);
	if (rc == GW_OK)
		rc = sp_media(f, m, err);
	if (rc != GW_OK)
		return rc;
	out->keyword = sp_keyword(f, body);
	if (out->keyword != SMS_KW_NONE)
		kind = out->keyword == SMS_KW_STOP ? "opt_out" : "opt_in";
	else if (m->attachments_len)
		kind = m->attachments[0].kind;
	if (kind)
		rc = sp_dup(err, kind, &m->kind);
	if (rc == GW_OK)
		rc = sp_raw(f, err, &m->raw);
	return rc;
}

/* ---- status callbacks ------------------------------------------------------------ */

static const struct {
	const char *twilio, *status;
} sp_statuses[] = {
	{"sent", "sent"},        {"delivered", "delivered"}, {"read", "read"},
	{"undelivered", "failed"}, {"failed", "failed"},    {"canceled", "failed"},
};

/* sp_status_of - our status of Twilio's `word`, NULL for one we skip. */
static const char *sp_status_of(const char *word)
{
	for (size_t i = 0; i < sizeof(sp_statuses) / sizeof(sp_statuses[0]); i++)
		if (strcmp(sp_statuses[i].twilio, word) == 0)
			return sp_statuses[i].status;
	return NULL;
}

/* sp_status_error - why a reply failed: Twilio's ErrorCode and its text. */
static int sp_status_error(const struct sms_form *f, struct proto_status *s, const char *word,
			   struct sms_parse_error *err)
{
	char title[128], msg[128];
	const char *known;
	unsigned code = 0;

	s->errors = calloc(1, sizeof(*s->errors));
	if (!s->errors)
		return sp_fail(err, GW_ENOMEM, "out of memory");
	s->errors_len = 1;
	if (sms_form_count(f, "ErrorCode", 999999999u, &code) != GW_OK)
		code = 0; /* unreadable: the status still says it failed */
	known = code ? sms_error_title(code) : NULL;
	if (known)
		snprintf(title, sizeof(title), "%s", known);
	else if (code)
		snprintf(title, sizeof(title), "Twilio error %u", code);
	else
		snprintf(title, sizeof(title), "%s", word);
	if (code)
		snprintf(msg, sizeof(msg), "MessageStatus %s; https://www.twilio.com/docs/errors/%u",
			 word, code);
	else
		snprintf(msg, sizeof(msg), "MessageStatus %s", word);
	s->errors[0].code = code;
	if (sp_dup(err, title, &s->errors[0].title) != GW_OK)
		return GW_ENOMEM;
	return sp_dup(err, msg, &s->errors[0].message);
}

/* sp_status_fill - the fields of a message.status about reply `sid`. */
static int sp_status_fill(const struct sms_form *f, const struct sms_parse_meta *meta,
			  const char *sid, const char *status, struct sms_parsed *out,
			  struct sms_parse_error *err)
{
	struct proto_status *s = &out->ev.u.status;
	const char *to = sms_form_get(f, "To");
	char id[PROTO_MAX_EXTERNAL_ID + 1];
	int rc;

	snprintf(id, sizeof(id), "%s:%s", sid, out->status);
	s->status_at = meta->received_at;
	rc = sp_dup(err, meta->channel, &s->channel);
	if (rc == GW_OK)
		rc = sp_dup(err, meta->account, &s->account);
	if (rc == GW_OK)
		rc = sp_dup(err, id, &s->status_id);
	if (rc == GW_OK)
		rc = sp_dup(err, sid, &s->external_id);
	if (rc == GW_OK)
		rc = sp_dup(err, status, &s->status);
	if (rc == GW_OK && to && to[0] && strlen(to) <= PROTO_MAX_ADDRESS)
		rc = sp_dup(err, to, &s->recipient);
	if (rc == GW_OK && strcmp(status, "failed") == 0)
		rc = sp_status_error(f, s, out->status, err);
	if (rc == GW_OK)
		rc = sp_raw(f, err, &s->raw);
	return rc;
}

/* sp_status - a status callback: message.status, or nothing. */
static int sp_status(const struct sms_form *f, const struct sms_parse_meta *meta,
		     struct sms_parsed *out, struct sms_parse_error *err)
{
	static const char *const sid_names[] = {"MessageSid", "SmsSid", NULL};
	static const char *const st_names[] = {"MessageStatus", "SmsStatus", NULL};
	const char *sid = NULL, *word = NULL, *status;
	int rc;

	/* Room for ":<status>" in the status_id. */
	rc = sp_id(f, sid_names, PROTO_MAX_EXTERNAL_ID - SMS_STATUS_MAX - 1, err, &sid);
	if (rc == GW_OK)
		rc = sp_id(f, st_names, SMS_STATUS_MAX, err, &word);
	if (rc != GW_OK)
		return rc;
	snprintf(out->status, sizeof(out->status), "%s", word);
	status = sp_status_of(word);
	out->what = status ? SMS_WH_STATUS : SMS_WH_IGNORED;
	if (!status)
		return GW_OK;
	rc = proto_event_init(&out->ev, PROTO_T_MESSAGE_STATUS);
	if (rc != GW_OK)
		return sp_fail(err, rc, "cannot make an event id");
	return sp_status_fill(f, meta, sid, status, out, err);
}

int sms_parse(const struct sms_form *f, const struct sms_parse_meta *m, int status_path,
	      struct sms_parsed *out, struct sms_parse_error *err)
{
	const char *word = sms_form_get(f, "MessageStatus");
	int rc;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	rc = sp_utf8(f, err);
	if (rc == GW_OK)
		rc = sp_account(f, m, err);
	if (rc != GW_OK)
		return rc;
	if (status_path || (word && word[0] && strcmp(word, "received") != 0 &&
			    strcmp(word, "receiving") != 0))
		rc = sp_status(f, m, out, err);
	else
		rc = sp_message(f, m, out, err);
	if (rc != GW_OK)
		sms_parsed_clear(out);
	return rc;
}

void sms_parsed_clear(struct sms_parsed *p)
{
	proto_event_clear(&p->ev);
}

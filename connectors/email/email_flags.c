/*
 * email_flags.c - is a message written by a machine? The router files
 * auto-replies and bounces without a ticket, since answering them can start
 * a mail loop (docs/channels/email.md, "What is flagged and why").
 *
 * auto_reply, from headers (names and values case-insensitive):
 *   Auto-Submitted            any value but "no" (RFC 3834: auto-replied,
 *                             auto-generated, auto-notified)
 *   X-Autoreply, X-Autorespond  present with a value other than "no"
 *   Precedence                bulk, junk, list or auto_reply
 *   X-Auto-Response-Suppress  lists All, OOF or AutoReply: Exchange marks
 *                             its own automatic replies and bulk senders
 *                             their mail this way (DR, RN, NRN alone only
 *                             turn off receipts, which people do too)
 * bounce:
 *   a top-level multipart/report (delivery status, disposition and
 *   feedback reports), a From whose local part is mailer-daemon or
 *   postmaster, an empty Return-Path (<>, what MTAs send reports with),
 *   or an X-Failed-Recipients header (Exim's bounces).
 */
#include <string.h>
#include <strings.h>

#include "connectors/email/email_parse_int.h"

/* The first token of a header value: up to ';', ',' or a blank. */
static size_t token_len(const char *s)
{
	size_t n = 0;

	while (s[n] && s[n] != ';' && s[n] != ',' && s[n] != ' ' && s[n] != '\t' &&
	       s[n] != '\r' && s[n] != '\n')
		n++;
	return n;
}

static const char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == ',')
		s++;
	return s;
}

static bool token_is(const char *s, size_t n, const char *word)
{
	return n == strlen(word) && strncasecmp(s, word, n) == 0;
}

static const char *header(struct eparse *x, const char *name)
{
	return g_mime_object_get_header((GMimeObject *)x->msg, name);
}

/* A header present whose first token is not "no" (empty counts as absent). */
static bool set_and_not_no(const char *v)
{
	size_t n;

	if (!v)
		return false;
	v = skip_blanks(v);
	n = token_len(v);
	return n > 0 && !token_is(v, n, "no");
}

/* Any token of a comma- or blank-separated list equal to one of `words`. */
static bool lists_any(const char *v, const char *const *words, size_t nwords)
{
	while (v && *(v = skip_blanks(v))) {
		size_t n = token_len(v);

		for (size_t i = 0; i < nwords; i++)
			if (token_is(v, n, words[i]))
				return true;
		v += n ? n : 1;
	}
	return false;
}

static bool is_auto_reply(struct eparse *x)
{
	static const char *const precedence[] = {"bulk", "junk", "list", "auto_reply"};
	static const char *const suppress[] = {"all", "oof", "autoreply"};
	const char *prec = header(x, "Precedence");

	if (set_and_not_no(header(x, "Auto-Submitted")))
		return true;
	if (set_and_not_no(header(x, "X-Autoreply")) || set_and_not_no(header(x, "X-Autorespond")))
		return true;
	if (prec && lists_any(prec, precedence, 4))
		return true;
	return lists_any(header(x, "X-Auto-Response-Suppress"), suppress, 3);
}

bool email_addr_is_daemon(const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t n = at ? (size_t)(at - addr) : strlen(addr);

	return token_is(addr, n, "mailer-daemon") || token_is(addr, n, "postmaster");
}

static bool from_daemon(InternetAddressList *list, int depth)
{
	int n = list ? internet_address_list_length(list) : 0;

	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);

		if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));

			if (addr && email_addr_is_daemon(addr))
				return true;
		} else if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < 2 &&
			   from_daemon(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)),
				       depth + 1)) {
			return true;
		}
	}
	return false;
}

static bool empty_return_path(const char *v)
{
	if (!v)
		return false;
	v = skip_blanks(v);
	if (*v++ != '<')
		return false;
	v = skip_blanks(v);
	return *v == '>';
}

static bool is_bounce(struct eparse *x)
{
	GMimeObject *top = g_mime_message_get_mime_part(x->msg);
	GMimeContentType *ct = top ? g_mime_object_get_content_type(top) : NULL;

	if (ct && g_mime_content_type_is_type(ct, "multipart", "report"))
		return true;
	if (from_daemon(g_mime_message_get_from(x->msg), 0))
		return true;
	if (empty_return_path(header(x, "Return-Path")))
		return true;
	return header(x, "X-Failed-Recipients") != NULL;
}

void email_flags_read(struct eparse *x)
{
	x->m->auto_reply = is_auto_reply(x);
	x->m->bounce = is_bounce(x);
}

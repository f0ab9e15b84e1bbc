/*
 * normalize.c - email addresses in one spelling (phone numbers are in
 * phone.cc, which wraps libphonenumber).
 *
 * The address is located first (trim, angle brackets, mailto:), then
 * checked and copied in one pass that lowercases what RFC 5321 lets us
 * treat as case-insensitive. Nothing is written to `out` before the whole
 * address is known to be valid, so callers never see half an answer.
 */
#include "router/rules/normalize.h"

#include <string.h>

#include "core/err.h"

/* A located address: a slice of the caller's string. */
struct email_span {
	const char *p;
	size_t len;
};

static int email_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static char email_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static void email_trim(struct email_span *s)
{
	while (s->len > 0 && email_space(s->p[0])) {
		s->p++;
		s->len--;
	}
	while (s->len > 0 && email_space(s->p[s->len - 1]))
		s->len--;
}

/*
 * "Ann <ann@x.org>" -> "ann@x.org". The last '<' is taken because a display
 * name may itself contain one ("a<b" <x@y>); an addr-spec cannot end in '>',
 * so a trailing '>' always closes brackets.
 */
static int email_unbracket(struct email_span *s)
{
	size_t i;

	if (s->len == 0 || s->p[s->len - 1] != '>')
		return GW_OK;
	for (i = s->len - 1; i > 0; i--) {
		if (s->p[i - 1] == '<') {
			s->p += i;
			s->len -= i + 1;
			email_trim(s);
			return GW_OK;
		}
	}
	return GW_EINVAL;
}

/*
 * "mailto:ann@x.org?subject=hi" -> "ann@x.org": in a mailto URI (RFC 6068)
 * '?' starts the header fields. Percent-escapes are not decoded: addresses
 * that need them are too rare to justify a URI decoder here.
 */
static void email_unmailto(struct email_span *s)
{
	static const char prefix[] = "mailto:";
	size_t n = sizeof(prefix) - 1, i;

	if (s->len < n)
		return;
	for (i = 0; i < n; i++)
		if (email_lower(s->p[i]) != prefix[i])
			return;
	s->p += n;
	s->len -= n;
	for (i = 0; i < s->len; i++) {
		if (s->p[i] == '?') {
			s->len = i;
			break;
		}
	}
	email_trim(s);
}

/* RFC 5322 specials and controls never appear unquoted in a local part. */
static int email_atom_char(unsigned char c)
{
	if (c <= 0x20 || c == 0x7f)
		return 0;
	return strchr("()<>[]:;@\\,\"", c) == NULL;
}

/* A domain is letters, digits, '-', '_' (seen in real hosts) and UTF-8
 * bytes of internationalized names, in dot-separated non-empty labels. */
static int email_domain_valid(const char *p, size_t len)
{
	size_t i, label = 0;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
		label++;
	}
	return label > 0;
}

/*
 * The length of the local part at the start of `s` (up to, not including,
 * its '@'), or 0 when it is not a valid local part followed by '@'. A quoted
 * local part is the quoted string alone ("a b"@x.org); '@' may occur inside.
 */
static size_t email_local_len(const char *p, size_t len)
{
	size_t i;

	if (len > 0 && p[0] == '"') {
		for (i = 1; i < len; i++) {
			unsigned char c = (unsigned char)p[i];
			if (c == '\\' && i + 1 < len) {
				i++;
				continue;
			}
			if (c == '"')
				return (i + 1 < len && p[i + 1] == '@') ? i + 1 : 0;
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return 0;
		}
		return 0;
	}
	for (i = 0; i < len && p[i] != '@'; i++)
		if (!email_atom_char((unsigned char)p[i]))
			return 0;
	return i < len ? i : 0;
}

int norm_email(const char *in, char *out, size_t size)
{
	struct email_span s;
	size_t local, i;
	int rc;

	if (out && size > 0)
		out[0] = '\0';
	if (!in)
		return GW_EINVAL;
	s.p = in;
	s.len = strlen(in);
	email_trim(&s);
	if ((rc = email_unbracket(&s)) != GW_OK)
		return rc;
	email_unmailto(&s);

	local = email_local_len(s.p, s.len);
	if (local == 0 || (local == 2 && s.p[0] == '"'))
		return GW_EINVAL; /* empty, "" or no '@' after it */
	/* What follows the '@' holds no second '@' by the domain's charset. */
	if (!email_domain_valid(s.p + local + 1, s.len - local - 1))
		return GW_EINVAL;
	if (!out || s.len + 1 > size)
		return GW_ETOOBIG;

	for (i = 0; i < s.len; i++)
		out[i] = (s.p[0] == '"' && i < local) ? s.p[i] : email_lower(s.p[i]);
	out[s.len] = '\0';
	return GW_OK;
}

/*
 * lc_file.c - content sniffing, media types and file names of live-chat
 * uploads (lc_file.h).
 */
#include "connectors/livechat/lc_file.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

/* ---- sniffing ----------------------------------------------------------------- */

struct lc_magic {
	const char *type;
	size_t off;
	const char *bytes;
	size_t len;
};

/* Signatures from the WHATWG MIME Sniffing standard, section 6.1 and 6.2. */
static const struct lc_magic lc_magics[] = {
	{"image/png", 0, "\x89PNG\r\n\x1a\n", 8},
	{"image/jpeg", 0, "\xff\xd8\xff", 3},
	{"image/gif", 0, "GIF87a", 6},
	{"image/gif", 0, "GIF89a", 6},
	{"application/pdf", 0, "%PDF-", 5},
};

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid. */
static size_t lc_utf8_len(const unsigned char *s, size_t n)
{
	size_t need;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0; /* overlong, a surrogate, or past Unicode */
	return need;
}

/* Plain text: valid UTF-8, no NUL, no control character but \t \n \f \r. */
static int lc_is_text(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = lc_utf8_len(s + i, len - i);

		if (n == 0)
			return 0;
		if (n == 1 && (s[i] < 0x20 || s[i] == 0x7f) && s[i] != '\t' && s[i] != '\n' &&
		    s[i] != '\f' && s[i] != '\r')
			return 0;
		i += n;
	}
	return 1;
}

const char *lc_sniff(const void *data, size_t len)
{
	const unsigned char *s = data;

	if (!s || len == 0)
		return NULL;
	for (size_t i = 0; i < sizeof(lc_magics) / sizeof(lc_magics[0]); i++) {
		const struct lc_magic *m = &lc_magics[i];

		if (len >= m->off + m->len && memcmp(s + m->off, m->bytes, m->len) == 0)
			return m->type;
	}
	if (len >= 14 && memcmp(s, "RIFF", 4) == 0 && memcmp(s + 8, "WEBPVP", 6) == 0)
		return "image/webp";
	return lc_is_text(s, len) ? "text/plain" : NULL;
}

/* ---- media types ------------------------------------------------------------- */

int lc_type_allowed(const char *list, const char *type)
{
	size_t tlen = strlen(type);
	const char *p = list;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n;

		while (*p == ' ' || *p == '\t')
			p++;
		n = end ? (size_t)(end - p) : strlen(p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == tlen && tlen > 0 && strncmp(p, type, n) == 0)
			return 1;
		p = end ? end + 1 : NULL;
	}
	return 0;
}

static int lc_type_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '+' ||
	       c == '.' || c == '_';
}

int lc_type_normalize(const char *in, char *out, size_t outlen)
{
	size_t n = 0, slashes = 0;

	if (!in || outlen == 0)
		return GW_EINVAL;
	out[0] = '\0';
	while (*in == ' ' || *in == '\t')
		in++;
	for (; *in && *in != ';' && *in != ' ' && *in != '\t'; in++) {
		char c = *in >= 'A' && *in <= 'Z' ? (char)(*in - 'A' + 'a') : *in;

		if (n + 1 >= outlen || n >= LC_FILE_TYPE_MAX)
			return GW_EINVAL;
		if (c == '/')
			slashes++;
		else if (!lc_type_char(c))
			return GW_EINVAL;
		out[n++] = c;
	}
	out[n] = '\0';
	if (slashes != 1 || n < 3 || out[0] == '/' || out[n - 1] == '/') {
		out[0] = '\0';
		return GW_EINVAL;
	}
	return GW_OK;
}

/* ---- names ---------------------------------------------------------------------- */

int lc_name_clean(const char *in, char *out, size_t outlen)
{
	const unsigned char *s, *base;
	size_t len, i = 0, n = 0, max = outlen - 1;

	out[0] = '\0';
	if (!in)
		return GW_EINVAL;
	len = strlen(in);
	s = base = (const unsigned char *)in;
	for (i = 0; i < len;) { /* validate, and find the last separator */
		size_t k = lc_utf8_len(s + i, len - i);

		if (k == 0)
			return GW_EINVAL;
		if (s[i] == '/' || s[i] == '\\')
			base = s + i + 1;
		i += k;
	}
	if (max > LC_FILE_NAME_MAX)
		max = LC_FILE_NAME_MAX;
	len -= (size_t)(base - s);
	for (i = 0; i < len;) {
		size_t k = lc_utf8_len(base + i, len - i);
		int drop = k == 1 && (base[i] < 0x20 || base[i] == 0x7f || base[i] == '"');

		if (!drop && n == 0 && k == 1 && (base[i] == '.' || base[i] == ' '))
			drop = 1; /* no hidden files, no leading blanks */
		if (!drop && n + k > max)
			break;
		if (!drop) {
			memcpy(out + n, base + i, k);
			n += k;
		}
		i += k;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return n ? GW_OK : GW_EINVAL;
}

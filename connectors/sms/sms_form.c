/*
 * sms_form.c - application/x-www-form-urlencoded bodies (sms_form.h).
 *
 * One pass: each name and value is decoded into one buffer of len + 2
 * bytes per pair at most (decoding never lengthens, and each string gets
 * its NUL), so the size is known before the first byte is written.
 */
#include "connectors/sms/sms_form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

static int sf_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * sf_decode - percent-decodes `len` bytes of `s` into `out` with a NUL;
 * the decoded length in *n. GW_EPROTO for a malformed escape or a NUL.
 */
static int sf_decode(const char *s, size_t len, char *out, size_t *n)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '+') {
			out[o++] = ' ';
			continue;
		}
		if (s[i] == '\0')
			return GW_EPROTO; /* a NUL, raw or escaped, ends no C string here */
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (len - i < 3)
			return GW_EPROTO;
		hi = sf_hex(s[i + 1]);
		lo = sf_hex(s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return GW_EPROTO;
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = '\0';
	*n = o;
	return GW_OK;
}

/* sf_pair - decodes the pair s[0..len) into the buffer at *at. */
static int sf_pair(struct sms_form *f, const char *s, size_t len, size_t *at, char *why,
		   size_t whylen)
{
	const char *eq = memchr(s, '=', len);
	size_t nlen = eq ? (size_t)(eq - s) : len, vlen = eq ? len - nlen - 1 : 0, n = 0;
	struct sms_pair *p = &f->pair[f->n];
	char *name = f->buf + *at;
	int rc;

	rc = sf_decode(s, nlen, name, &n);
	if (rc == GW_OK && (n == 0 || n > SMS_FORM_NAME_MAX)) {
		snprintf(why, whylen, "pair %zu: the name is %s", f->n + 1,
			 n == 0 ? "empty" : "too long");
		return n == 0 ? GW_EPROTO : GW_ETOOBIG;
	}
	if (rc != GW_OK) {
		snprintf(why, whylen, "pair %zu: a malformed %% escape or a NUL in the name",
			 f->n + 1);
		return rc;
	}
	*at += n + 1;
	p->name = name;
	p->value = f->buf + *at;
	rc = sf_decode(eq ? eq + 1 : s + len, vlen, f->buf + *at, &p->value_len);
	if (rc != GW_OK) {
		snprintf(why, whylen, "%s: a malformed %% escape or a NUL in the value", name);
		return rc;
	}
	*at += p->value_len + 1;
	f->n++;
	return GW_OK;
}

/* sf_pairs - every pair of the body; GW_OK or the first error. */
static int sf_pairs(struct sms_form *f, const char *body, size_t len, char *why,
		    size_t whylen)
{
	size_t at = 0, i = 0;
	int rc = GW_OK;

	while (rc == GW_OK && i < len) {
		const char *amp = memchr(body + i, '&', len - i);
		size_t plen = amp ? (size_t)(amp - (body + i)) : len - i;

		if (plen > 0 && f->n == SMS_FORM_MAX_PAIRS) {
			snprintf(why, whylen, "more than %d pairs", SMS_FORM_MAX_PAIRS);
			rc = GW_ETOOBIG;
		} else if (plen > 0) {
			rc = sf_pair(f, body + i, plen, &at, why, whylen);
		}
		i += plen + 1;
	}
	return rc;
}

int sms_form_parse(const char *body, size_t len, struct sms_form *f, char *why, size_t whylen)
{
	int rc;

	f->n = 0;
	/* Each pair adds two NULs to its bytes, one '&' at least separates
	 * two pairs: len + 2 per pair, and room for one more. */
	f->buf = malloc(len + 2 * (len / 2 + 2));
	if (!f->buf) {
		snprintf(why, whylen, "out of memory");
		return GW_ENOMEM;
	}
	rc = sf_pairs(f, body, len, why, whylen);
	if (rc != GW_OK)
		sms_form_clear(f);
	return rc;
}

void sms_form_clear(struct sms_form *f)
{
	free(f->buf);
	f->buf = NULL;
	f->n = 0;
}

const char *sms_form_get(const struct sms_form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->pair[i].name, name) == 0)
			return f->pair[i].value;
	return NULL;
}

int sms_form_count(const struct sms_form *f, const char *name, unsigned max, unsigned *out)
{
	const char *v = sms_form_get(f, name);
	unsigned long n = 0;

	*out = 0;
	if (!v || !v[0])
		return GW_OK;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return GW_EPROTO;
		n = n * 10 + (unsigned long)(*p - '0');
		if (n > max)
			return GW_EPROTO;
	}
	*out = (unsigned)n;
	return GW_OK;
}

/*
 * sms_form.h - an application/x-www-form-urlencoded body (what Twilio
 * POSTs to webhooks) decoded into name/value pairs.
 *
 * The body is split on '&' into pairs and each pair on its first '=';
 * names and values are percent-decoded ("%2B" -> '+') with '+' read as a
 * space. An empty pair ("a=1&&b=2") is skipped; a pair without '=' is a
 * name with an empty value. Pairs keep their order and repeated names
 * (signatures need every pair as sent).
 *
 * Bounds: at most SMS_FORM_MAX_PAIRS pairs and names of at most
 * SMS_FORM_NAME_MAX bytes; values are bounded by the body. Refused: a
 * malformed escape ("%", "%4", "%zz"), a NUL (raw or "%00"), a name that
 * is empty or too long, too many pairs. UTF-8 is not checked here
 * (the event encoder does).
 *
 * No I/O, no allocation but the one buffer; any thread.
 */
#ifndef GW_SMS_FORM_H
#define GW_SMS_FORM_H

#include <stddef.h>

#define SMS_FORM_MAX_PAIRS 256
#define SMS_FORM_NAME_MAX 128

struct sms_pair {
	const char *name;  /* NUL-terminated, points into the form's buffer */
	const char *value; /* NUL-terminated, may be "" */
	size_t value_len;
};

struct sms_form {
	struct sms_pair pair[SMS_FORM_MAX_PAIRS];
	size_t n;
	char *buf; /* owned: the decoded names and values */
};

/*
 * sms_form_parse - decodes `len` bytes of `body` (borrowed) into *f, which
 * owns its buffer afterwards (sms_form_clear). On an error *f is left
 * empty and `why` says what was wrong (no content). Returns GW_OK,
 * GW_EPROTO (malformed), GW_ETOOBIG (too many pairs, a name too long),
 * GW_ENOMEM.
 */
int sms_form_parse(const char *body, size_t len, struct sms_form *f, char *why, size_t whylen);

/* sms_form_clear - frees the buffer and empties *f; accepts an empty form. */
void sms_form_clear(struct sms_form *f);

/* sms_form_get - the value of the first pair named `name`, or NULL. */
const char *sms_form_get(const struct sms_form *f, const char *name);

/*
 * sms_form_count - a pair's value read as a count: ASCII digits only, at
 * most `max`; absent gives 0. Returns GW_OK, GW_EPROTO (not digits, or
 * over max).
 */
int sms_form_count(const struct sms_form *f, const char *name, unsigned max, unsigned *out);

#endif

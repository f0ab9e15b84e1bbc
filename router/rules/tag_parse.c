/*
 * tag_parse.c - the tag changes of a ticket.tag command (tag_parse.h).
 */
#include "router/rules/tag_parse.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

/* parse_word - one word (`len` bytes at `w`) into `c`. */
static int parse_word(const char *w, size_t len, struct tag_change *c, char *err, size_t errlen)
{
	c->remove = w[0] == '-';
	if (w[0] == '-' || w[0] == '+') {
		w++;
		len--;
	}
	if (len == 0 || len > PROTO_MAX_TAG) {
		snprintf(err, errlen, "changes: a tag is 1 to %d bytes", PROTO_MAX_TAG);
		return GW_EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		c->tag[i] = (char)tolower((unsigned char)w[i]);
	c->tag[len] = '\0';
	if (!gw_tag_valid(c->tag)) {
		snprintf(err, errlen, "changes: '%s' is not a tag (lowercase letters, digits, -, _, "
			 "., :)", c->tag);
		return GW_EINVAL;
	}
	return GW_OK;
}

int tag_parse_changes(const char *s, struct tag_change out[TAG_PARSE_MAX_WORDS], size_t *n,
		      char *err, size_t errlen)
{
	int rc = GW_OK;

	*n = 0;
	while (rc == GW_OK && *s) {
		size_t len = strcspn(s, " ,\t");

		if (len && *n == TAG_PARSE_MAX_WORDS) {
			snprintf(err, errlen, "changes: at most %d tags", TAG_PARSE_MAX_WORDS);
			return GW_EINVAL;
		}
		if (len)
			rc = parse_word(s, len, &out[(*n)++], err, errlen);
		s += len;
		s += strspn(s, " ,\t");
	}
	if (rc == GW_OK && *n == 0) {
		snprintf(err, errlen, "changes: no tag given");
		rc = GW_EMISSING;
	}
	return rc;
}

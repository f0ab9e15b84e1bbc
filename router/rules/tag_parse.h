/*
 * tag_parse.h - reading the tag changes of a ticket.tag command
 * (router/commands/tags.c; docs/routing.md, "Tags"): words separated by
 * spaces, tabs or commas, "+tag" (or "tag") adds, "-tag" removes; each tag
 * 1 to PROTO_MAX_TAG bytes of lowercase letters, digits, - _ . :
 * (uppercase letters are lowered). Pure: no state, any thread.
 */
#ifndef GW_TAG_PARSE_H
#define GW_TAG_PARSE_H

#include <stddef.h>

#include "proto/proto.h"

#define TAG_PARSE_MAX_WORDS 64 /* changes in one command at most */

/* One change: a tag and whether it is removed. */
struct tag_change {
	char tag[PROTO_MAX_TAG + 1];
	int remove;
};

/*
 * tag_parse_changes - the changes of `s` (NUL-terminated, borrowed) into
 * out[0..*n), at most TAG_PARSE_MAX_WORDS. Returns GW_OK; GW_EINVAL (a
 * word that is no tag, too many words) or GW_EMISSING (no word) with why
 * in err (names the word, never more than a tag).
 */
int tag_parse_changes(const char *s, struct tag_change out[TAG_PARSE_MAX_WORDS], size_t *n,
		      char *err, size_t errlen);

#endif

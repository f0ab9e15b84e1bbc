/*
 * fuzz_tag_parse.c - libFuzzer target for the tag changes of a ticket.tag
 * command (router/rules/tag_parse.h).
 *
 * Input: the changes text (cut at its first NUL). On GW_OK every change is
 * a valid tag and there is at least one; otherwise none is claimed valid
 * beyond the count and the error says why.
 * Seeds: tests/fuzz/corpus/tag_parse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "router/rules/tag_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tag_change ch[TAG_PARSE_MAX_WORDS];
	char *text = malloc(size + 1), err[256] = "";
	size_t n = 0;
	int rc;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = tag_parse_changes(text, ch, &n, err, sizeof(err));
	if (n > TAG_PARSE_MAX_WORDS)
		abort();
	if (rc == GW_OK) {
		if (n == 0)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!gw_tag_valid(ch[i].tag) || (ch[i].remove != 0 && ch[i].remove != 1))
				abort();
	} else if (!err[0] || (rc != GW_EINVAL && rc != GW_EMISSING)) {
		abort();
	}
	free(text);
	return 0;
}

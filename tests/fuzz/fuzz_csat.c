/*
 * fuzz_csat.c - libFuzzer target for the satisfaction rating read in a
 * customer's text (router/rules/csat_parse.h).
 *
 * Input: the text (cut at its first NUL). A score is 0 or 1..5; with a
 * score the comment lies inside the text, without one it is untouched.
 * Seeds: tests/fuzz/corpus/csat.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/rules/csat_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	const char *comment = NULL;
	unsigned score;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	score = csat_parse_rating(text, &comment);
	if (score > 5)
		abort();
	if (score && (comment < text || comment > text + strlen(text)))
		abort();
	if (!score && comment)
		abort();
	free(text);
	return 0;
}

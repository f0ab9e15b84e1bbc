/*
 * csat_parse.c - a satisfaction rating in a customer's text (csat_parse.h).
 */
#include "router/rules/csat_parse.h"

#include <string.h>

static int is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

unsigned csat_parse_rating(const char *s, const char **comment)
{
	unsigned score;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (*s < '1' || *s > '5')
		return 0;
	score = (unsigned)(*s++ - '0');
	if (is_alnum(*s))
		return 0;
	/* "4/5" is a rating out of 5; "4/50", "4/10" are not ratings. */
	if (s[0] == '/' && is_alnum(s[1])) {
		if (s[1] != '5' || is_alnum(s[2]))
			return 0;
		s += 2;
	}
	while (*s && strchr(" \t\r\n.,;:!-/", *s))
		s++;
	*comment = s;
	return score;
}

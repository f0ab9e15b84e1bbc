/*
 * match.c - the conditions the routing rules share (match.h).
 */
#define _GNU_SOURCE /* strcasestr: ASCII case folding, the router runs in the C locale */
#include "router/rules/match.h"

#include <string.h>

int match_list_has(const struct conf_strlist *l, const char *v)
{
	for (size_t i = 0; v && i < l->n; i++)
		if (strcmp(l->v[i], v) == 0)
			return 1;
	return 0;
}

int match_keywords(const struct conf_strlist *l, const struct proto_message *m)
{
	for (size_t i = 0; i < l->n; i++)
		if ((m->subject && strcasestr(m->subject, l->v[i])) ||
		    (m->text && strcasestr(m->text, l->v[i])))
			return 1;
	return 0;
}

int match_attributes(const struct conf_strlist *l, const struct proto_customer *c)
{
	for (size_t i = 0; i < l->n; i++) {
		size_t j = 0;

		while (c && j < c->attributes_len && strcmp(c->attributes[j], l->v[i]) != 0)
			j++;
		if (!c || j == c->attributes_len)
			return 0;
	}
	return 1;
}

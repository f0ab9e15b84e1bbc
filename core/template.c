/*
 * template.c - `{{name}}` placeholders replaced by a lookup's values
 * (template.h). One pass over the source; the output buffer is allocated
 * once, grows by doubling, and is never longer than the caller's limit.
 */
#include "core/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

struct tmpl_out {
	char *buf;
	size_t len, cap, max;
};

/* out_put - appends `n` bytes of `s`; GW_ETOOBIG past the limit. */
static int out_put(struct tmpl_out *o, const char *s, size_t n)
{
	size_t cap;
	char *nb;

	if (n > o->max - o->len)
		return GW_ETOOBIG;
	if (o->len + n + 1 > o->cap) {
		cap = o->cap ? o->cap : 256;
		while (cap < o->len + n + 1)
			cap *= 2;
		if (cap > o->max + 1)
			cap = o->max + 1;
		nb = realloc(o->buf, cap);
		if (!nb)
			return GW_ENOMEM;
		o->buf = nb;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
	return GW_OK;
}

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/*
 * read_name - the placeholder starting after "{{" at `p` into `name`;
 * *end is the first byte after its "}}". GW_EPROTO with `err` otherwise.
 */
static int read_name(const char *p, char name[GW_TMPL_NAME_MAX + 1], const char **end,
		     char *err, size_t errlen)
{
	size_t n = 0;

	while (*p == ' ')
		p++;
	while (name_char(*p) && n < GW_TMPL_NAME_MAX)
		name[n++] = *p++;
	name[n] = '\0';
	while (*p == ' ')
		p++;
	if (n == 0 || p[0] != '}' || p[1] != '}') {
		snprintf(err, errlen, "placeholder '{{%s...': %s", name,
			 n == 0 ? "no variable name" :
			 name_char(*p) ? "name too long" : "not closed by '}}' or a bad character");
		return GW_EPROTO;
	}
	*end = p + 2;
	return GW_OK;
}

/* render_var - the value of the placeholder `name` appended. */
static int render_var(struct tmpl_out *o, const char *name, gw_tmpl_lookup_fn fn, void *arg,
		      char *missing, char *err, size_t errlen)
{
	const char *v = fn ? fn(arg, name) : "";

	if (!v) {
		snprintf(err, errlen, "missing variable '%s'", name);
		if (missing)
			snprintf(missing, GW_TMPL_NAME_MAX + 1, "%s", name);
		return GW_EMISSING;
	}
	return out_put(o, v, strlen(v));
}

/* render - the loop of gw_tmpl_render; fn NULL: parse only. */
static int render(const char *src, gw_tmpl_lookup_fn fn, void *arg, struct tmpl_out *o,
		  char *missing, char *err, size_t errlen)
{
	char name[GW_TMPL_NAME_MAX + 1];
	const char *p = src, *open;
	int rc = GW_OK;

	while (rc == GW_OK && *p) {
		open = strstr(p, "{{");
		if (!open) {
			rc = out_put(o, p, strlen(p));
			break;
		}
		rc = out_put(o, p, (size_t)(open - p));
		if (rc == GW_OK && strncmp(open, "{{{{", 4) == 0) {
			rc = out_put(o, "{{", 2);
			p = open + 4;
			continue;
		}
		if (rc == GW_OK)
			rc = read_name(open + 2, name, &p, err, errlen);
		if (rc == GW_OK)
			rc = render_var(o, name, fn, arg, missing, err, errlen);
	}
	if (rc == GW_ETOOBIG)
		snprintf(err, errlen, "rendered text longer than %zu bytes", o->max);
	return rc;
}

int gw_tmpl_render(const char *src, gw_tmpl_lookup_fn fn, void *arg, size_t max, char **out,
		   char *missing, char *err, size_t errlen)
{
	struct tmpl_out o = {NULL, 0, 0, max};
	int rc;

	*out = NULL;
	err[0] = '\0';
	if (!src || !fn) {
		snprintf(err, errlen, "no template or no lookup");
		return GW_EINVAL;
	}
	rc = render(src, fn, arg, &o, missing, err, errlen);
	if (rc == GW_OK && !o.buf)
		rc = out_put(&o, "", 0); /* an empty text is still a string */
	if (rc)
		free(o.buf);
	else
		*out = o.buf;
	return rc;
}

int gw_tmpl_check(const char *src, char *err, size_t errlen)
{
	struct tmpl_out o = {NULL, 0, 0, (size_t)-1 / 2};
	int rc;

	err[0] = '\0';
	rc = render(src ? src : "", NULL, NULL, &o, NULL, err, errlen);
	free(o.buf);
	return rc;
}

/*
 * template.h - the renderer of canned responses and automatic messages
 * (docs/automation.md): a text with `{{name}}` placeholders, each replaced
 * by the value a lookup gives. Small and bounded: no loops, no conditions,
 * no escaping beyond the placeholder itself; the output never grows past
 * the caller's limit.
 *
 *   {{ customer.name }}   spaces inside the braces are allowed
 *   {{{{                  a literal "{{" ("}}" outside a placeholder is
 *                         literal as it is)
 *
 * A name is 1 to GW_TMPL_NAME_MAX bytes of [A-Za-z0-9_.-]. Pure functions:
 * any thread, no I/O.
 */
#ifndef GW_TEMPLATE_H
#define GW_TEMPLATE_H

#include "core/err.h"

#include <stddef.h>

#define GW_TMPL_NAME_MAX 128

/*
 * gw_tmpl_lookup_fn - the value of variable `name` (borrowed, NUL
 * terminated), borrowed until the render returns, or NULL when the
 * variable is unknown (the render then fails naming it).
 */
typedef const char *(*gw_tmpl_lookup_fn)(void *arg, const char *name);

/*
 * gw_tmpl_render - renders `src` (NUL terminated, borrowed) into *out
 * (malloc'ed, NUL terminated, owned by the caller) of at most `max` bytes
 * before the NUL. Errors, with `err` (errlen bytes) saying which in words:
 *   GW_EMISSING  a variable the lookup does not know ("missing variable
 *                'customer.name'"); *missing (may be NULL) gets its name
 *                when the caller gave a buffer of GW_TMPL_NAME_MAX + 1
 *   GW_EPROTO    a placeholder that is not closed, empty, or whose name is
 *                too long or has a character a name cannot have
 *   GW_ETOOBIG   the rendered text would pass `max` bytes
 *   GW_EINVAL    src or fn NULL
 *   GW_ENOMEM
 * On error *out is NULL.
 */
GW_MUST_CHECK int gw_tmpl_render(const char *src, gw_tmpl_lookup_fn fn, void *arg, size_t max, char **out,
		   char *missing, char *err, size_t errlen);

/*
 * gw_tmpl_check - whether `src` parses (GW_OK, or GW_EPROTO with `err`),
 * without looking any variable up: the config reader checks templates
 * with it.
 */
GW_MUST_CHECK int gw_tmpl_check(const char *src, char *err, size_t errlen);

#endif

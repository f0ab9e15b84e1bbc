/*
 * config.c - reads the YAML config file through the config tables.
 *
 * Two passes over the text: libyaml's event parser first, to report syntax
 * errors with line and column and to refuse aliases and extra documents
 * where their position is still known; then yaml_parser_load() builds the
 * node tree whose marks give every key its line. The walk fills each
 * section's struct row by row (config_tables.c; a connector type's table
 * from gw_connector_conf_find(); a CONF_SECTION row is a nested mapping
 * walked the same way into its own struct), applies defaults, and stops at
 * the first error, written as one line "FILE:LINE: KEY.PATH: what is
 * wrong". Cross-checks between sections (endpoints, listen addresses,
 * backoff bounds) run last; a CONF_LISTEN row inside a nested section is
 * not among them.
 *
 * Secret values never reach an error message: errors about a CONF_SECRET
 * row say what is wrong without quoting the value.
 */
#include "core/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "core/config_bus.h"
#include "core/config_tables.h"
#include "core/config_value.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define CONF_FILE_MAX (1024u * 1024u) /* a config file larger than this is a mistake */
#define CONF_KEYPATH_MAX 160
#define CONF_ENVNAME_MAX 128
#define CONF_MSG_MAX 640
#define CONF_LIST_MAX 1000 /* entries of a list, items of a string list */

struct loader {
	const char *file;      /* as given by the caller, for messages */
	const char *dir;       /* absolute folder of the file */
	yaml_document_t *doc;
	char **soft;           /* inside a connector entry: its disabled_reason */
	size_t soft_skip;      /* ...and the length of its key path's prefix
				* ("connectors[3]."), left out of the reason */
	char *err;
	size_t errlen;
};

/* A section's rows and the struct they fill. */
struct conf_target {
	const struct conf_section *sec;
	void *base;
};

/* A bound address, for the cross-check of listen addresses. */
struct conf_bind {
	char what[64];              /* key path: "connectors[1].listen" */
	int line;                   /* of the key, or of its entry for a default; 0: none */
	bool dflt;                  /* not written in the file */
	const char *endpoint;       /* router endpoints: the text */
	struct conf_listen addr;    /* port 0: not a TCP address */
};

static int conf_err(struct loader *ld, int line, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int conf_err(struct loader *ld, int line, const char *path, const char *fmt, ...)
{
	char msg[CONF_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ld->err && ld->errlen)
		snprintf(ld->err, ld->errlen, "%s:%d: %s%s%s", ld->file, line, path,
			 *path ? ": " : "", msg);
	return GW_ECONFIG;
}

static int conf_nomem(struct loader *ld)
{
	if (ld->err && ld->errlen)
		snprintf(ld->err, ld->errlen, "%s: out of memory", ld->file);
	return GW_ENOMEM;
}

/* ---- nodes ---------------------------------------------------------- */

static yaml_node_t *node_get(struct loader *ld, int index)
{
	return yaml_document_get_node(ld->doc, index);
}

static int node_line(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static const char *node_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A plain empty, "~" or "null" scalar: YAML's null, i.e. no value. */
static bool node_is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(node_text(n), nulls[i]) == 0)
			return true;
	return false;
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	default:
		return "a scalar";
	}
}

/* map_find - the value of `key` in mapping `map`, or NULL. */
static yaml_node_t *map_find(struct loader *ld, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_get(ld, p->key);

		if (k && k->type == YAML_SCALAR_NODE && strcmp(node_text(k), key) == 0)
			return node_get(ld, p->value);
	}
	return NULL;
}

/* map_key_line - the line of `key` in `map`, 0 when absent. */
static int map_key_line(struct loader *ld, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return 0;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_get(ld, p->key);

		if (k && k->type == YAML_SCALAR_NODE && strcmp(node_text(k), key) == 0)
			return node_line(k);
	}
	return 0;
}

/* ---- rows ----------------------------------------------------------- */

static bool row_is_string(const struct conf_entry *row)
{
	return row->kind == CONF_STRING || row->kind == CONF_SECRET || row->kind == CONF_PATH ||
	       row->kind == CONF_ENDPOINT;
}

static int set_string(struct loader *ld, const struct conf_entry *row, char **slot,
		      const char *val, int line, const char *kpath)
{
	long long max = row->max > 0 ? row->max : 0;
	char why[256];
	char *copy;

	if (row->kind == CONF_ENDPOINT && max == 0)
		max = GW_CONF_ENDPOINT_MAX;
	if (max > 0 && strlen(val) > (size_t)max)
		return conf_err(ld, line, kpath, "longer than %lld characters", max);
	if (row->kind == CONF_ENDPOINT && conf_endpoint_check(val, why, sizeof(why)))
		return conf_err(ld, line, kpath, "%s", why);
	if (row->kind == CONF_PATH && !*val)
		return conf_err(ld, line, kpath, "empty path");
	copy = row->kind == CONF_PATH ? conf_join_path(ld->dir, val) : strdup(val);
	if (!copy)
		return conf_nomem(ld);
	free(*slot);
	*slot = copy;
	return GW_OK;
}

static int set_int(struct loader *ld, const struct conf_entry *row, long long *slot,
		   const char *val, int line, const char *kpath)
{
	long long v = 0;
	char q[64];
	int prc = conf_parse_ll(val, &v);

	if (prc == GW_EINVAL)
		return conf_err(ld, line, kpath, "\"%s\" is not an integer",
				conf_echo(q, sizeof(q), val));
	if (prc != GW_OK)
		return conf_err(ld, line, kpath, "%s is out of range %lld..%lld",
				conf_echo(q, sizeof(q), val), row->min, row->max);
	if (v < row->min)
		return conf_err(ld, line, kpath, "%lld is below the minimum %lld", v, row->min);
	if (v > row->max)
		return conf_err(ld, line, kpath, "%lld is above the maximum %lld", v, row->max);
	*slot = v;
	return GW_OK;
}

/* set_duration - a CONF_DURATION value: seconds, a bare number minutes. */
static int set_duration(struct loader *ld, const struct conf_entry *row, long long *slot,
			const char *val, int line, const char *kpath)
{
	long long v = 0;
	char q[64];
	int prc = gw_duration_parse(val, 60, &v);

	if (prc == GW_EINVAL)
		return conf_err(ld, line, kpath, "\"%s\" is not a duration (\"90s\", \"5m\", "
				"\"1h30m\", \"2d\"; a bare number is minutes)",
				conf_echo(q, sizeof(q), val));
	if (prc != GW_OK || v > row->max)
		return conf_err(ld, line, kpath, "%s is above the maximum %llds",
				conf_echo(q, sizeof(q), val), row->max);
	if (v < row->min)
		return conf_err(ld, line, kpath, "%s is below the minimum %llds",
				conf_echo(q, sizeof(q), val), row->min);
	*slot = v;
	return GW_OK;
}

static int set_bool(struct loader *ld, bool *slot, const char *val, int line, const char *kpath)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	char q[64];

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(val, yes[i]) == 0 || strcasecmp(val, no[i]) == 0) {
			*slot = strcasecmp(val, yes[i]) == 0;
			return GW_OK;
		}
	}
	return conf_err(ld, line, kpath, "\"%s\" is not a boolean (true/false, yes/no, on/off)",
			conf_echo(q, sizeof(q), val));
}

/* strlist_add - appends a copy of `n` bytes at `val` to the list. */
static int strlist_add(struct loader *ld, const struct conf_entry *row, struct conf_strlist *l,
		       const char *val, size_t n, int line, const char *kpath)
{
	char **v;

	if (n == 0)
		return conf_err(ld, line, kpath, "empty item in the list");
	if (row->max > 0 && n > (size_t)row->max)
		return conf_err(ld, line, kpath, "item longer than %lld characters", row->max);
	if (l->n >= CONF_LIST_MAX)
		return conf_err(ld, line, kpath, "more than %d items", CONF_LIST_MAX);
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return conf_nomem(ld);
	l->v = v;
	v[l->n] = strndup(val, n);
	if (!v[l->n])
		return conf_nomem(ld);
	l->n++;
	return GW_OK;
}

static void strlist_free(struct conf_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* set_strlist_text - a list written as text, "a,b" (defaults). */
static int set_strlist_text(struct loader *ld, const struct conf_entry *row,
			    struct conf_strlist *l, const char *val, int line, const char *kpath)
{
	int rc = GW_OK;

	strlist_free(l);
	while (rc == GW_OK && *val) {
		size_t n = strcspn(val, ",");

		rc = strlist_add(ld, row, l, val, n, line, kpath);
		val += n + (val[n] == ',');
	}
	return rc;
}

/* set_strlist_node - a YAML sequence of scalars. */
static int set_strlist_node(struct loader *ld, const struct conf_entry *row, void *base,
			    const yaml_node_t *v, int line, const char *kpath)
{
	struct conf_strlist *l = (struct conf_strlist *)((char *)base + row->offset);
	int rc = GW_OK;

	if (v->type != YAML_SEQUENCE_NODE)
		return conf_err(ld, line, kpath, "expected a list ([a, b]), found %s",
				node_kind(v));
	strlist_free(l);
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     rc == GW_OK && it < v->data.sequence.items.top; it++) {
		yaml_node_t *item = node_get(ld, *it);

		if (!item || item->type != YAML_SCALAR_NODE || node_is_null(item))
			return conf_err(ld, item ? node_line(item) : line, kpath,
					"list items must be values, found %s",
					item ? node_kind(item) : "nothing");
		if (strlen(node_text(item)) != item->data.scalar.length)
			return conf_err(ld, node_line(item), kpath, "contains a NUL character");
		rc = strlist_add(ld, row, l, node_text(item), item->data.scalar.length,
				 node_line(item), kpath);
	}
	return rc;
}

/* conf_choice_index - the index of `val` in the comma-separated `choices`,
 * or -1. */
static int conf_choice_index(const char *choices, const char *val)
{
	size_t n = strlen(val);
	int i = 0;

	for (const char *c = choices; c && *c; i++) {
		const char *end = strchr(c, ',');
		size_t len = end ? (size_t)(end - c) : strlen(c);

		if (len == n && strncmp(c, val, n) == 0)
			return i;
		if (!end)
			break;
		c = end + 1;
	}
	return -1;
}

static int set_choice(struct loader *ld, const struct conf_entry *row, int *slot,
		      const char *val, int line, const char *kpath)
{
	char q[64];
	int i = conf_choice_index(row->choices, val);

	if (i < 0)
		return conf_err(ld, line, kpath, "\"%s\" is not one of %s",
				conf_echo(q, sizeof(q), val), row->choices);
	*slot = i;
	return GW_OK;
}

static int set_parsed(struct loader *ld, const struct conf_entry *row, void *base,
		      const char *val, int line, const char *kpath)
{
	void *slot = (char *)base + row->offset;
	char why[256], q[64];
	enum gw_log_level level;

	switch (row->kind) {
	case CONF_INT:
		return set_int(ld, row, slot, val, line, kpath);
	case CONF_DURATION:
		return set_duration(ld, row, slot, val, line, kpath);
	case CONF_BOOL:
		return set_bool(ld, slot, val, line, kpath);
	case CONF_LISTEN:
		if (conf_listen_parse(val, slot, why, sizeof(why)))
			return conf_err(ld, line, kpath, "%s", why);
		return GW_OK;
	case CONF_STRLIST:
		return set_strlist_text(ld, row, slot, val, line, kpath);
	case CONF_CHOICE:
		return set_choice(ld, row, slot, val, line, kpath);
	case CONF_LOGLEVEL:
		if (gw_log_level_parse(val, &level) != GW_OK)
			return conf_err(ld, line, kpath, "\"%s\" is not one of debug, info, warn, error",
					conf_echo(q, sizeof(q), val));
		*(int *)slot = (int)level;
		return GW_OK;
	default:
		return set_string(ld, row, slot, val, line, kpath);
	}
}

/*
 * secret_missing - a required secret without a value. Inside a connector
 * entry that only disables the connector (the first reason is kept);
 * elsewhere the load fails.
 */
static int secret_missing(struct loader *ld, int line, const char *kpath, const char *what)
{
	char reason[256];

	if (!ld->soft)
		return conf_err(ld, line, kpath, "%s", what);
	if (*ld->soft)
		return GW_OK;
	/* The key path within the entry: "token", "smtp.password". */
	snprintf(reason, sizeof(reason), "%s: %s",
		 strlen(kpath) > ld->soft_skip ? kpath + ld->soft_skip : kpath, what);
	*ld->soft = strdup(reason);
	return *ld->soft ? GW_OK : conf_nomem(ld);
}

/*
 * set_text - one value (from the file or a row's default): expands
 * "${NAME}", then parses it by the row's kind into base + row->offset.
 */
static int set_text(struct loader *ld, const struct conf_entry *row, void *base,
		    const char *text, int line, const char *kpath)
{
	bool required_secret = row->kind == CONF_SECRET && (row->flags & CONF_F_REQUIRED);
	char name[CONF_ENVNAME_MAX], what[CONF_ENVNAME_MAX + 48];
	const char *val = text;
	bool ref = false;

	if (conf_env_ref(text, name, sizeof(name), &ref) != GW_OK)
		return conf_err(ld, line, kpath, "\"${\" is only allowed as the whole value "
				"\"${NAME}\", NAME made of A-Z, a-z, 0-9 and _");
	if (ref) {
		val = getenv(name);
		if (!val || !*val) {
			snprintf(what, sizeof(what), "environment variable %s is %s", name,
				 val ? "empty" : "not set");
			if (row->kind == CONF_SECRET && !required_secret)
				return GW_OK;
			return required_secret ? secret_missing(ld, line, kpath, what)
					       : conf_err(ld, line, kpath, "%s", what);
		}
	} else if (required_secret && !*val) {
		return secret_missing(ld, line, kpath, "is empty");
	}
	return set_parsed(ld, row, base, val, line, kpath);
}

static int fill_section(struct loader *ld, yaml_node_t *map, int line, const char *path,
			const struct conf_target *t, size_t nt, const char *const *subs);

/* set_node - a row's value node from the file. */
static int set_node(struct loader *ld, const struct conf_entry *row, void *base,
		    yaml_node_t *v, int line, const char *kpath)
{
	const struct conf_target sub = {row->sub, (char *)base + row->offset};

	if (row->kind == CONF_SECTION)
		return fill_section(ld, v, line, kpath, &sub, 1, NULL);
	if (row->kind == CONF_STRLIST)
		return set_strlist_node(ld, row, base, v, line, kpath);
	if (v->type != YAML_SCALAR_NODE)
		return conf_err(ld, line, kpath, "expected a value, found %s", node_kind(v));
	if (node_is_null(v))
		return conf_err(ld, line, kpath, "no value (leave the key out to take the default)");
	if (strlen(node_text(v)) != v->data.scalar.length)
		return conf_err(ld, line, kpath, "contains a NUL character");
	return set_text(ld, row, base, node_text(v), line, kpath);
}

/* ---- sections ------------------------------------------------------- */

static const struct conf_entry *find_row(const struct conf_target *t, size_t nt,
					 const char *key, void **base)
{
	for (size_t i = 0; i < nt; i++) {
		for (size_t j = 0; j < t[i].sec->n_entries; j++) {
			if (strcmp(t[i].sec->entries[j].key, key) == 0) {
				*base = t[i].base;
				return &t[i].sec->entries[j];
			}
		}
	}
	return NULL;
}

static bool in_list(const char *const *list, const char *key)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strcmp(list[i], key) == 0)
			return true;
	return false;
}

static int unknown_key(struct loader *ld, int line, const char *kpath,
		       const struct conf_target *t, size_t nt, const char *const *subs)
{
	char known[400] = "";
	size_t n = 0;

	for (size_t i = 0; i < nt; i++)
		for (size_t j = 0; j < t[i].sec->n_entries && n < sizeof(known); j++)
			n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s", n ? ", " : "",
					      t[i].sec->entries[j].key);
	for (size_t i = 0; subs && subs[i] && n < sizeof(known); i++)
		n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s", n ? ", " : "", subs[i]);
	return conf_err(ld, line, kpath, "unknown key (known: %s)", known);
}

/* key_check - a pair's key: a scalar, no NUL, not seen before in `map`. */
static int key_check(struct loader *ld, yaml_node_t *map, yaml_node_pair_t *pair,
		     const char *path, char *kpath, size_t kplen)
{
	yaml_node_t *k = node_get(ld, pair->key);
	char q[64];

	if (!k || k->type != YAML_SCALAR_NODE || node_is_null(k))
		return conf_err(ld, k ? node_line(k) : node_line(map), path,
				"a key must be a name, found %s", k ? node_kind(k) : "nothing");
	snprintf(kpath, kplen, "%s%s%s", path, *path ? "." : "",
		 conf_echo(q, sizeof(q), node_text(k)));
	if (strlen(node_text(k)) != k->data.scalar.length)
		return conf_err(ld, node_line(k), kpath, "key contains a NUL character");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < pair; p++) {
		yaml_node_t *prev = node_get(ld, p->key);

		if (prev && prev->type == YAML_SCALAR_NODE &&
		    strcmp(node_text(prev), node_text(k)) == 0)
			return conf_err(ld, node_line(k), kpath, "duplicate key (first on line %d)",
					node_line(prev));
	}
	return GW_OK;
}

/* fill_pairs - every key of `map`: a row of a target, or one of `subs`. */
static int fill_pairs(struct loader *ld, yaml_node_t *map, const char *path,
		      const struct conf_target *t, size_t nt, const char *const *subs)
{
	char kpath[CONF_KEYPATH_MAX];
	int rc = GW_OK;

	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     rc == GW_OK && p < map->data.mapping.pairs.top; p++) {
		const struct conf_entry *row;
		yaml_node_t *k, *v;
		void *base = NULL;

		rc = key_check(ld, map, p, path, kpath, sizeof(kpath));
		if (rc)
			break;
		k = node_get(ld, p->key);
		v = node_get(ld, p->value);
		row = find_row(t, nt, node_text(k), &base);
		if (!row && in_list(subs, node_text(k)))
			continue;
		if (!row)
			rc = unknown_key(ld, node_line(k), kpath, t, nt, subs);
		else
			rc = set_node(ld, row, base, v, node_line(k), kpath);
	}
	return rc;
}

/* fill_absent - defaults for the rows not in `map` (NULL: none are). */
static int fill_absent(struct loader *ld, yaml_node_t *map, int line, const char *path,
		       const struct conf_target *t)
{
	char kpath[CONF_KEYPATH_MAX];
	int rc = GW_OK;

	for (size_t i = 0; rc == GW_OK && i < t->sec->n_entries; i++) {
		const struct conf_entry *row = &t->sec->entries[i];

		if (map_find(ld, map, row->key))
			continue;
		snprintf(kpath, sizeof(kpath), "%s%s%s", path, *path ? "." : "", row->key);
		if (row->flags & CONF_F_REQUIRED)
			rc = conf_err(ld, line, kpath, "required key missing");
		else if (row->kind == CONF_SECTION)
			continue; /* absent: stays zeroed, see config.h */
		else if (row->def)
			rc = set_text(ld, row, t->base, row->def, line, kpath);
	}
	return rc;
}

/*
 * fill_section - fills targets from mapping `map` (NULL or a null value:
 * all defaults; `line` is then where to report a missing required key).
 * Keys listed in `subs` are left to the caller.
 */
static int fill_section(struct loader *ld, yaml_node_t *map, int line, const char *path,
			const struct conf_target *t, size_t nt, const char *const *subs)
{
	int rc = GW_OK;

	if (map && node_is_null(map))
		map = NULL;
	if (map && map->type != YAML_MAPPING_NODE)
		return conf_err(ld, node_line(map), path, "expected a mapping, found %s",
				node_kind(map));
	if (map) {
		line = node_line(map);
		rc = fill_pairs(ld, map, path, t, nt, subs);
	}
	for (size_t i = 0; rc == GW_OK && i < nt; i++)
		rc = fill_absent(ld, map, line, path, &t[i]);
	return rc;
}

/* ---- connectors ----------------------------------------------------- */

static int unknown_type(struct loader *ld, int line, const char *kpath, const char *type)
{
	char known[256] = "", q[64];
	size_t n = 0;

	for (size_t i = 0; gw_connector_conf_types[i] && n < sizeof(known); i++)
		n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s", n ? ", " : "",
				      gw_connector_conf_types[i]->name);
	return conf_err(ld, line, kpath, "unknown connector type \"%s\" (known: %s)",
			conf_echo(q, sizeof(q), type), known);
}

/* find_type - the type named by the entry's `type` key, before its keys are read. */
static int find_type(struct loader *ld, yaml_node_t *item, const char *path,
		     const struct gw_connector_conf_type **out)
{
	yaml_node_t *v = map_find(ld, item, "type");
	char kpath[CONF_KEYPATH_MAX];
	int line = map_key_line(ld, item, "type");

	snprintf(kpath, sizeof(kpath), "%s.type", path);
	if (!v)
		return conf_err(ld, node_line(item), kpath, "required key missing");
	if (v->type != YAML_SCALAR_NODE || node_is_null(v))
		return conf_err(ld, line, kpath, "expected a connector type name");
	*out = gw_connector_conf_find(node_text(v));
	if (!*out)
		return unknown_type(ld, line, kpath, node_text(v));
	return GW_OK;
}

/* check_name - [a-z0-9_-]{1,32} and not used by an earlier entry. */
static int check_name(struct loader *ld, yaml_node_t *item, const char *path,
		      const struct gw_config *cfg, const struct gw_connector_conf *c)
{
	char kpath[CONF_KEYPATH_MAX], q[64];
	int line = map_key_line(ld, item, "name");
	size_t n = strlen(c->name);

	snprintf(kpath, sizeof(kpath), "%s.name", path);
	if (n == 0 || n > GW_CONF_NAME_MAX ||
	    strspn(c->name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
		return conf_err(ld, line, kpath, "\"%s\" must be 1 to %d of a-z, 0-9, _ and -",
				conf_echo(q, sizeof(q), c->name), GW_CONF_NAME_MAX);
	/* The other processes' status files are run/<name>.json too. */
	if (strcmp(c->name, "router") == 0 || strcmp(c->name, "gatewayd") == 0 ||
	    strcmp(c->name, "nats") == 0 || strcmp(c->name, "metrics") == 0 ||
	    strcmp(c->name, "integration") == 0)
		return conf_err(ld, line, kpath, "\"%s\" is the name of a gateway process",
				c->name);
	for (const struct gw_connector_conf *o = cfg->connectors; o < c; o++)
		if (strcmp(o->name, c->name) == 0)
			return conf_err(ld, line, kpath,
					"\"%s\" is already the name of connectors[%zu] (line %d)",
					c->name, (size_t)(o - cfg->connectors), o->line);
	return GW_OK;
}

/* load_connector - connectors[i]: common keys, then the type's own. */
static int load_connector(struct loader *ld, yaml_node_t *item, size_t i, struct gw_config *cfg)
{
	struct gw_connector_conf *c = &cfg->connectors[cfg->n_connectors];
	const struct gw_connector_conf_type *type = NULL;
	struct conf_target t[2];
	char path[48];
	int rc;

	snprintf(path, sizeof(path), "connectors[%zu]", i);
	if (!item || item->type != YAML_MAPPING_NODE)
		return conf_err(ld, item ? node_line(item) : 1, path,
				"expected a mapping (name, type, ...), found %s",
				item ? node_kind(item) : "nothing");
	c->line = node_line(item);
	cfg->n_connectors++; /* from here gw_config_free() frees what is filled */
	rc = find_type(ld, item, path, &type);
	if (rc)
		return rc;
	c->section = type->section;
	t[0] = (struct conf_target){&gw_conf_connector, c};
	if (c->section) {
		c->settings = calloc(1, c->section->struct_size ? c->section->struct_size : 1);
		if (!c->settings)
			return conf_nomem(ld);
		t[1] = (struct conf_target){c->section, c->settings};
	}
	ld->soft = &c->disabled_reason;
	ld->soft_skip = strlen(path) + 1;
	rc = fill_section(ld, item, c->line, path, t, c->section ? 2 : 1, NULL);
	ld->soft = NULL;
	if (rc)
		return rc;
	rc = check_name(ld, item, path, cfg, c);
	if (rc == GW_OK && !c->enabled) {
		free(c->disabled_reason);
		c->disabled_reason = strdup("disabled in config");
		rc = c->disabled_reason ? GW_OK : conf_nomem(ld);
	}
	return rc;
}

static int load_connectors(struct loader *ld, yaml_node_t *seq, struct gw_config *cfg)
{
	size_t n;
	int rc = GW_OK;

	if (!seq || node_is_null(seq))
		return GW_OK;
	if (seq->type != YAML_SEQUENCE_NODE)
		return conf_err(ld, node_line(seq), "connectors",
				"expected a sequence of entries (\"- name: ...\"), found %s",
				node_kind(seq));
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	cfg->connectors = calloc(n ? n : 1, sizeof(*cfg->connectors));
	if (!cfg->connectors)
		return conf_nomem(ld);
	for (size_t i = 0; rc == GW_OK && i < n; i++)
		rc = load_connector(ld, node_get(ld, seq->data.sequence.items.start[i]), i, cfg);
	return rc;
}

/* ---- lists of entries (routing.queues[], ...) ------------------------ */

/* load_list - `seq` (NULL or null: empty) into the array and count `l`
 * describes in `base`. */
/*
 * fill_section_soft - one list entry; with off_offset, a required secret
 * whose variable is unset turns the entry off alone (its reason at that
 * offset) instead of what the list's parent does with it.
 */
static int fill_section_soft(struct loader *ld, yaml_node_t *item, const char *ipath,
			     const struct conf_target *t, size_t off_offset)
{
	char **soft = ld->soft;
	size_t skip = ld->soft_skip;
	int rc;

	if (off_offset) {
		ld->soft = (char **)(void *)((char *)t->base + off_offset);
		ld->soft_skip = strlen(ipath) + 1;
	}
	rc = fill_section(ld, item, node_line(item), ipath, t, 1, NULL);
	ld->soft = soft;
	ld->soft_skip = skip;
	return rc;
}

static int load_list(struct loader *ld, yaml_node_t *seq, const char *path,
		     const struct conf_list *l, void *base)
{
	void **arr = (void **)((char *)base + l->arr_offset);
	size_t *n = (size_t *)((char *)base + l->n_offset);
	char ipath[CONF_KEYPATH_MAX + 24];
	size_t count;
	int rc = GW_OK;

	if (!seq || node_is_null(seq))
		return GW_OK;
	if (seq->type != YAML_SEQUENCE_NODE)
		return conf_err(ld, node_line(seq), path, "expected a list, found %s",
				node_kind(seq));
	count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (count > CONF_LIST_MAX)
		return conf_err(ld, node_line(seq), path, "more than %d entries", CONF_LIST_MAX);
	*arr = calloc(count ? count : 1, l->sec->struct_size);
	if (!*arr)
		return conf_nomem(ld);
	for (size_t i = 0; rc == GW_OK && i < count; i++) {
		yaml_node_t *item = node_get(ld, seq->data.sequence.items.start[i]);
		struct conf_target t = {l->sec, (char *)*arr + i * l->sec->struct_size};

		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		*n = i + 1; /* from here gw_config_free() frees the entry */
		if (!item || item->type != YAML_MAPPING_NODE)
			rc = conf_err(ld, item ? node_line(item) : node_line(seq), ipath,
				      "expected a mapping, found %s",
				      item ? node_kind(item) : "nothing");
		else
			rc = fill_section_soft(ld, item, ipath, &t, l->off_offset);
	}
	return rc;
}

/*
 * routing_err_line - the line of the list entry a cross-check error names
 * ("queues[1].agents: ..."), else of the routing section.
 */
static int routing_err_line(struct loader *ld, yaml_node_t *map, const char *why)
{
	char key[32];
	size_t i;
	yaml_node_t *seq, *item;

	if (!map || map->type != YAML_MAPPING_NODE)
		return 1;
	if (sscanf(why, "%31[a-z_][%zu]", key, &i) != 2)
		return node_line(map);
	seq = map_find(ld, map, key);
	if (!seq || seq->type != YAML_SEQUENCE_NODE ||
	    i >= (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start))
		return node_line(map);
	item = node_get(ld, seq->data.sequence.items.start[i]);
	return item ? node_line(item) : node_line(map);
}

/* load_routing - routing's own keys, its lists, then their cross-checks. */
static int load_routing(struct loader *ld, yaml_node_t *map, struct gw_config *cfg)
{
	static const char *const subs[] = {"channels", "business_hours", "queues", "agents",
					   "sla", "tag_rules", "escalations", NULL};
	const struct conf_target t = {&gw_conf_routing, &cfg->routing};
	char path[CONF_KEYPATH_MAX], why[CONF_MSG_MAX];
	int rc;

	rc = fill_section(ld, map, 1, "routing", &t, 1, subs);
	for (const struct conf_list *l = gw_conf_routing_lists; rc == GW_OK && l->key; l++) {
		snprintf(path, sizeof(path), "routing.%s", l->key);
		rc = load_list(ld, map && map->type == YAML_MAPPING_NODE ? map_find(ld, map, l->key)
									  : NULL,
			       path, l, &cfg->routing);
	}
	if (rc == GW_OK && gw_config_routing_check(&cfg->routing, why, sizeof(why)))
		rc = conf_err(ld, routing_err_line(ld, map, why), "routing", "%s", why);
	return rc;
}

static void free_section(const struct conf_section *sec, void *base);

int gw_config_routing_defaults(struct gw_config_routing *r, char *err, size_t errlen)
{
	struct loader ld = {.file = "(defaults)", .dir = "/", .err = err, .errlen = errlen};
	const struct conf_target t = {&gw_conf_routing, r};

	memset(r, 0, sizeof(*r));
	return fill_section(&ld, NULL, 0, "routing", &t, 1, NULL);
}

void gw_config_routing_free(struct gw_config_routing *r)
{
	for (const struct conf_list *l = gw_conf_routing_lists; r && l->key; l++) {
		char *arr = *(char **)((char *)r + l->arr_offset);
		size_t n = *(size_t *)((char *)r + l->n_offset);

		for (size_t i = 0; i < n; i++)
			free_section(l->sec, arr + i * l->sec->struct_size);
		free(arr);
	}
	if (r)
		free_section(&gw_conf_routing, r);
}

/* load_nats - the nats section (all defaults when absent), then its checks. */
static int load_nats(struct loader *ld, yaml_node_t *map, struct gw_config *cfg)
{
	const struct conf_target t = {&gw_conf_nats, &cfg->nats};
	const char *key = NULL, *why = NULL;
	char path[64];
	int rc, line;

	rc = fill_section(ld, map, 1, "nats", &t, 1, NULL);
	if (rc == GW_OK && gw_config_nats_check(&cfg->nats, &key, &why) != GW_OK) {
		line = map_key_line(ld, map, key);
		snprintf(path, sizeof(path), "nats.%s", key);
		rc = conf_err(ld, line ? line : (map ? node_line(map) : 1), path, "%s", why);
	}
	return rc;
}

/*
 * integration_all_off - when the section lists tokens or webhooks and every
 * one is off (its secret unset), the process is off too: the reason names
 * the first of them. GW_OK or GW_ENOMEM.
 */
static int integration_all_off(struct loader *ld, struct gw_config_integration *in)
{
	char reason[CONF_MSG_MAX];
	const char *kind = NULL, *name = NULL, *why = NULL;

	for (size_t i = 0; i < in->n_tokens; i++)
		if (!in->tokens[i].off_reason)
			return GW_OK;
	for (size_t i = 0; i < in->n_webhooks; i++)
		if (!in->webhooks[i].off_reason)
			return GW_OK;
	if (in->n_tokens) {
		kind = "token", name = in->tokens[0].name, why = in->tokens[0].off_reason;
	} else if (in->n_webhooks) {
		kind = "webhook", name = in->webhooks[0].name, why = in->webhooks[0].off_reason;
	}
	if (!kind || in->disabled_reason)
		return GW_OK;
	snprintf(reason, sizeof(reason), "no token or webhook is usable (%s '%s': %s)", kind,
		 name ? name : "?", why);
	in->disabled_reason = strdup(reason);
	return in->disabled_reason ? GW_OK : conf_nomem(ld);
}

/*
 * load_integration - integration's keys and lists when the section is
 * there. A token or webhook whose secret's variable is unset is off alone
 * (its off_reason); the process is off when every one of them is.
 */
static int load_integration(struct loader *ld, yaml_node_t *map, struct gw_config *cfg)
{
	static const char *const subs[] = {"tokens", "webhooks", NULL};
	struct gw_config_integration *in = &cfg->integration;
	const struct conf_target t = {&gw_conf_integration, in};
	char path[CONF_KEYPATH_MAX], why[CONF_MSG_MAX];
	int rc;

	if (!map)
		return GW_OK;
	in->present = true;
	ld->soft = &in->disabled_reason;
	ld->soft_skip = strlen("integration.");
	rc = fill_section(ld, node_is_null(map) ? NULL : map, node_line(map), "integration", &t,
			  1, subs);
	for (const struct conf_list *l = gw_conf_integration_lists; rc == GW_OK && l->key; l++) {
		snprintf(path, sizeof(path), "integration.%s", l->key);
		rc = load_list(ld, map->type == YAML_MAPPING_NODE ? map_find(ld, map, l->key) : NULL,
			       path, l, in);
	}
	ld->soft = NULL;
	if (rc == GW_OK && gw_config_integration_check(in, why, sizeof(why)))
		rc = conf_err(ld, node_line(map), "integration", "%s", why);
	if (rc == GW_OK)
		rc = integration_all_off(ld, in);
	if (rc == GW_OK && !in->enabled && !in->disabled_reason) {
		in->disabled_reason = strdup("disabled in config");
		rc = in->disabled_reason ? GW_OK : conf_nomem(ld);
	}
	return rc;
}

static void gw_config_integration_free(struct gw_config_integration *in)
{
	for (const struct conf_list *l = gw_conf_integration_lists; l->key; l++) {
		char *arr = *(char **)((char *)in + l->arr_offset);
		size_t n = *(size_t *)((char *)in + l->n_offset);

		for (size_t i = 0; i < n; i++) {
			char *entry = arr + i * l->sec->struct_size;

			if (l->off_offset)
				free(*(char **)(void *)(entry + l->off_offset));
			free_section(l->sec, entry);
		}
		free(arr);
	}
	free_section(&gw_conf_integration, in);
	free(in->disabled_reason);
}

/* load_automation - automation's keys, its lists, then their checks
 * (all defaults and no list when the section is absent). */
static int load_automation(struct loader *ld, yaml_node_t *map, struct gw_config *cfg)
{
	static const char *const subs[] = {"templates", "rules", NULL};
	struct gw_config_automation *a = &cfg->automation;
	const struct conf_target t = {&gw_conf_automation, a};
	char path[CONF_KEYPATH_MAX], why[CONF_MSG_MAX];
	int rc;

	rc = fill_section(ld, map, 1, "automation", &t, 1, subs);
	for (const struct conf_list *l = gw_conf_automation_lists; rc == GW_OK && l->key; l++) {
		snprintf(path, sizeof(path), "automation.%s", l->key);
		rc = load_list(ld, map && map->type == YAML_MAPPING_NODE ? map_find(ld, map, l->key)
									  : NULL,
			       path, l, a);
	}
	if (rc == GW_OK && gw_config_automation_check(a, why, sizeof(why)))
		rc = conf_err(ld, routing_err_line(ld, map, why), "automation", "%s", why);
	return rc;
}

static void gw_config_automation_free(struct gw_config_automation *a)
{
	for (const struct conf_list *l = gw_conf_automation_lists; l->key; l++) {
		char *arr = *(char **)((char *)a + l->arr_offset);
		size_t n = *(size_t *)((char *)a + l->n_offset);

		for (size_t i = 0; i < n; i++)
			free_section(l->sec, arr + i * l->sec->struct_size);
		free(arr);
	}
	free_section(&gw_conf_automation, a);
}

static int load_root(struct loader *ld, yaml_node_t *root, struct gw_config *cfg)
{
	static const char *const subs[] = {"router", "routing", "supervisor", "nats",
					   "metrics", "connectors", "integration", "automation",
					   "csat", NULL};
	const struct conf_target top = {&gw_conf_top, cfg};
	const struct conf_target router = {&gw_conf_router, &cfg->router};
	const struct conf_target sup = {&gw_conf_supervisor, &cfg->supervisor};
	const struct conf_target met = {&gw_conf_metrics, &cfg->metrics};
	const struct conf_target csat = {&gw_conf_csat, &cfg->csat};
	int rc;

	rc = fill_section(ld, root, 1, "", &top, 1, subs);
	if (rc == GW_OK)
		rc = fill_section(ld, map_find(ld, root, "router"), 1, "router", &router, 1, NULL);
	if (rc == GW_OK)
		rc = fill_section(ld, map_find(ld, root, "supervisor"), 1, "supervisor", &sup, 1,
				  NULL);
	if (rc == GW_OK)
		rc = load_nats(ld, map_find(ld, root, "nats"), cfg);
	if (rc == GW_OK)
		rc = fill_section(ld, map_find(ld, root, "metrics"), 1, "metrics", &met, 1, NULL);
	if (rc == GW_OK)
		rc = fill_section(ld, map_find(ld, root, "csat"), 1, "csat", &csat, 1, NULL);
	if (rc == GW_OK)
		rc = load_routing(ld, map_find(ld, root, "routing"), cfg);
	if (rc == GW_OK)
		rc = load_connectors(ld, map_find(ld, root, "connectors"), cfg);
	if (rc == GW_OK)
		rc = load_integration(ld, map_find(ld, root, "integration"), cfg);
	if (rc == GW_OK)
		rc = load_automation(ld, map_find(ld, root, "automation"), cfg);
	return rc;
}

/* ---- cross-checks --------------------------------------------------- */
/*
 * clash - reports the later of two clashing addresses, or the one written
 * in the file when the other is a default, naming the other's line.
 */
static int clash(struct loader *ld, const struct conf_bind *a, const struct conf_bind *b,
		 bool same_endpoint)
{
	const struct conf_bind *at = b->dflt && !a->dflt ? a : b, *other = at == b ? a : b;
	char where[48] = "default", addr[96];

	if (other->line)
		snprintf(where, sizeof(where), "%sline %d", other->dflt ? "default, " : "",
			 other->line);
	if (same_endpoint)
		conf_echo(addr, sizeof(addr), at->endpoint);
	else
		conf_listen_format(addr, sizeof(addr), &at->addr);
	return conf_err(ld, at->line ? at->line : 1, at->what, "%s is also used by %s (%s)", addr,
			other->what, where);
}

/* bind_router - the router's endpoints; a default one has line 0. */
static void bind_router(struct loader *ld, yaml_node_t *root, const struct gw_config *cfg,
			struct conf_bind *b)
{
	static const char *const keys[] = {"ingest", "publish", "command"};
	const char *eps[] = {cfg->router.ingest, cfg->router.publish, cfg->router.command};
	yaml_node_t *router = map_find(ld, root, "router");
	char host[64], why[128];
	bool v6;

	for (size_t i = 0; i < 3; i++) {
		snprintf(b[i].what, sizeof(b[i].what), "router.%s", keys[i]);
		b[i].line = map_key_line(ld, router, keys[i]);
		b[i].dflt = b[i].line == 0;
		b[i].endpoint = eps[i];
		if (strncmp(eps[i], "tcp://", 6) == 0 &&
		    conf_split_host_port(eps[i] + 6, host, sizeof(host), &b[i].addr.port, &v6, why,
				    sizeof(why)) == GW_OK)
			memcpy(b[i].addr.host, host, sizeof(host));
		else
			b[i].addr.port = 0;
	}
}

/* bind_connectors - every CONF_LISTEN row; a default one has its entry's line. */
static size_t bind_connectors(struct loader *ld, yaml_node_t *root, const struct gw_config *cfg,
			      struct conf_bind *b)
{
	yaml_node_t *seq = map_find(ld, root, "connectors");
	size_t n = 0;

	for (size_t i = 0; i < cfg->n_connectors; i++) {
		const struct gw_connector_conf *c = &cfg->connectors[i];
		yaml_node_t *item = node_get(ld, seq->data.sequence.items.start[i]);

		for (size_t j = 0; c->section && j < c->section->n_entries; j++) {
			const struct conf_entry *row = &c->section->entries[j];

			if (row->kind != CONF_LISTEN)
				continue;
			snprintf(b[n].what, sizeof(b[n].what), "connectors[%zu].%s", i, row->key);
			b[n].line = map_key_line(ld, item, row->key);
			b[n].dflt = b[n].line == 0;
			if (b[n].dflt)
				b[n].line = c->line;
			b[n].endpoint = NULL;
			b[n].addr = *(const struct conf_listen *)((const char *)c->settings +
								  row->offset);
			n++;
		}
	}
	return n;
}

static size_t count_listen_rows(const struct gw_config *cfg)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->n_connectors; i++)
		for (size_t j = 0; cfg->connectors[i].section &&
				   j < cfg->connectors[i].section->n_entries; j++)
			n += cfg->connectors[i].section->entries[j].kind == CONF_LISTEN;
	return n;
}

/* check_binds - no two router endpoints equal, no two TCP addresses overlap. */
static int check_binds(struct loader *ld, const struct conf_bind *b, size_t n)
{
	for (size_t j = 1; j < n; j++) {
		for (size_t i = 0; i < j; i++) {
			if (b[i].endpoint && b[j].endpoint && strcmp(b[i].endpoint, b[j].endpoint) == 0)
				return clash(ld, &b[i], &b[j], true);
			if (conf_listen_overlap(&b[i].addr, &b[j].addr))
				return clash(ld, &b[i], &b[j], false);
		}
	}
	return GW_OK;
}

static int check_backoff(struct loader *ld, yaml_node_t *root, const struct gw_config *cfg)
{
	yaml_node_t *sup = map_find(ld, root, "supervisor");
	int line = map_key_line(ld, sup, "backoff_min_ms");

	if (cfg->supervisor.backoff_min_ms <= cfg->supervisor.backoff_max_ms)
		return GW_OK;
	if (!line)
		line = map_key_line(ld, sup, "backoff_max_ms");
	return conf_err(ld, line ? line : 1, "supervisor.backoff_min_ms",
			"%lld is above backoff_max_ms %lld", cfg->supervisor.backoff_min_ms,
			cfg->supervisor.backoff_max_ms);
}

/* bind_integration - integration.listen, when the section is there. */
static size_t bind_integration(struct loader *ld, yaml_node_t *root,
			       const struct gw_config *cfg, struct conf_bind *b)
{
	yaml_node_t *map = map_find(ld, root, "integration");

	if (!cfg->integration.present)
		return 0;
	snprintf(b->what, sizeof(b->what), "integration.listen");
	b->line = map && map->type == YAML_MAPPING_NODE ? map_key_line(ld, map, "listen") : 0;
	b->dflt = b->line == 0;
	if (b->dflt)
		b->line = map ? node_line(map) : 1;
	b->endpoint = NULL;
	b->addr = cfg->integration.listen;
	return 1;
}

/* bind_metrics - metrics.listen when enabled (a disabled one binds nothing). */
static size_t bind_metrics(struct loader *ld, yaml_node_t *root, const struct gw_config *cfg,
			   struct conf_bind *b)
{
	yaml_node_t *m = map_find(ld, root, "metrics");

	if (!cfg->metrics.enabled)
		return 0;
	snprintf(b->what, sizeof(b->what), "metrics.listen");
	b->line = map_key_line(ld, m, "listen");
	b->dflt = b->line == 0;
	if (b->dflt)
		b->line = map_key_line(ld, m, "enabled");
	b->endpoint = NULL;
	b->addr = cfg->metrics.listen;
	return 1;
}

static int cross_check(struct loader *ld, yaml_node_t *root, const struct gw_config *cfg)
{
	size_t n = 5 + count_listen_rows(cfg); /* router 3, integration, metrics */
	struct conf_bind *b = calloc(n, sizeof(*b));
	int rc;

	if (!b)
		return conf_nomem(ld);
	bind_router(ld, root, cfg, b);
	n = 3 + bind_connectors(ld, root, cfg, b + 3);
	n += bind_integration(ld, root, cfg, b + n);
	n += bind_metrics(ld, root, cfg, b + n);
	rc = check_binds(ld, b, n);
	free(b);
	if (rc == GW_OK)
		rc = check_backoff(ld, root, cfg);
	return rc;
}

/* type_checks - a type's check() may disable an entry that validated. */
static int type_checks(struct loader *ld, struct gw_config *cfg)
{
	for (size_t i = 0; i < cfg->n_connectors; i++) {
		struct gw_connector_conf *c = &cfg->connectors[i];
		const struct gw_connector_conf_type *t = gw_connector_conf_find(c->type);
		char why[256] = "";

		if (c->disabled_reason || !t || !t->check ||
		    t->check(c->settings, why, sizeof(why)) == GW_OK)
			continue;
		c->disabled_reason = strdup(why[0] ? why : "settings cannot run");
		if (!c->disabled_reason)
			return conf_nomem(ld);
	}
	return GW_OK;
}

/* ---- file ----------------------------------------------------------- */

static int syntax_err(struct loader *ld, const yaml_parser_t *p)
{
	if (p->error == YAML_MEMORY_ERROR)
		return conf_nomem(ld);
	if (ld->err && ld->errlen)
		snprintf(ld->err, ld->errlen, "%s:%zu:%zu: YAML syntax error: %s%s%s", ld->file,
			 p->problem_mark.line + 1, p->problem_mark.column + 1,
			 p->problem ? p->problem : "invalid", p->context ? " " : "",
			 p->context ? p->context : "");
	return GW_ECONFIG;
}

/*
 * scan_events - the event pass: syntax errors, aliases and extra documents
 * are reported here, where libyaml still gives their position.
 */
static int scan_events(struct loader *ld, const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int docs = 0, rc = GW_OK;
	bool done = false;

	if (!yaml_parser_initialize(&p))
		return conf_nomem(ld);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (rc == GW_OK && !done) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = syntax_err(ld, &p);
			break;
		}
		if (ev.type == YAML_ALIAS_EVENT)
			rc = conf_err(ld, (int)ev.start_mark.line + 1, "",
				      "aliases (*name) are not supported: write the value out");
		else if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1)
			rc = conf_err(ld, (int)ev.start_mark.line + 1, "",
				      "only one YAML document is allowed");
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

static int load_doc(struct loader *ld, const char *text, size_t len, yaml_document_t *doc)
{
	yaml_parser_t p;
	int rc = GW_OK;

	if (!yaml_parser_initialize(&p))
		return conf_nomem(ld);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, doc))
		rc = syntax_err(ld, &p);
	yaml_parser_delete(&p);
	return rc;
}

/* read_text - sets cfg->path and cfg->dir and reads the file (bounded). */
static int read_text(struct loader *ld, struct gw_config *cfg, char **text, size_t *len)
{
	char *slash;
	int rc;

	cfg->path = realpath(ld->file, NULL);
	if (!cfg->path) {
		rc = errno == ENOENT ? GW_ENOTFOUND : errno == ENOMEM ? GW_ENOMEM : GW_ECONFIG;
		snprintf(ld->err, ld->errlen, "%s: cannot open: %s", ld->file, strerror(errno));
		return rc;
	}
	cfg->dir = strdup(cfg->path);
	if (!cfg->dir)
		return conf_nomem(ld);
	slash = strrchr(cfg->dir, '/');
	slash[slash == cfg->dir ? 1 : 0] = '\0';
	rc = gw_read_file(cfg->path, CONF_FILE_MAX, text, len);
	if (rc == GW_ENOMEM)
		return conf_nomem(ld);
	if (rc == GW_ETOOBIG)
		snprintf(ld->err, ld->errlen, "%s: larger than %u bytes", ld->file, CONF_FILE_MAX);
	else if (rc)
		snprintf(ld->err, ld->errlen, "%s: cannot read: %s", ld->file, gw_strerror(rc));
	return rc == GW_ENOTFOUND ? rc : rc ? GW_ECONFIG : GW_OK;
}

/* check_bus - the router's endpoints, now that state_dir is final. */
static int check_bus(struct loader *ld, yaml_node_t *root, struct gw_config *cfg)
{
	static const char *const keys[] = {"ingest", "publish", "command"};
	yaml_node_t *router = map_find(ld, root, "router");
	char why[512], what[32];
	int rc = GW_OK;

	for (int i = 0; rc == GW_OK && i < 3; i++) {
		rc = conf_bus_check(cfg, i, why, sizeof(why));
		if (rc == GW_ENOMEM)
			return conf_nomem(ld);
		if (rc == GW_OK)
			continue;
		snprintf(what, sizeof(what), "router.%s", keys[i]);
		rc = conf_err(ld, router ? map_key_line(ld, router, keys[i]) : 1, what, "%s", why);
	}
	return rc;
}

/* apply_override - a state_dir from the command line, relative to the cwd. */
static int apply_override(struct loader *ld, const char *dir, struct gw_config *cfg)
{
	char *cwd = NULL, *abs = NULL;
	int rc = GW_OK;

	if (!dir)
		return GW_OK;
	if (!*dir)
		return conf_err(ld, 1, "state_dir", "the override given is empty");
	cwd = dir[0] == '/' ? strdup("/") : getcwd(NULL, 0);
	if (!cwd) {
		snprintf(ld->err, ld->errlen, "%s: state_dir: current directory: %s", ld->file,
			 strerror(errno));
		return GW_ECONFIG;
	}
	abs = conf_join_path(cwd, dir);
	if (!abs) {
		rc = conf_nomem(ld);
		goto out;
	}
	free(cfg->state_dir);
	cfg->state_dir = abs;
out:
	free(cwd);
	return rc;
}

int gw_config_load(const char *path, const char *state_dir_override,
		   struct gw_config **out, char *err, size_t errlen)
{
	char nowhere[1];
	struct loader ld = {.file = path, .err = err ? err : nowhere,
			    .errlen = err ? errlen : sizeof(nowhere)};
	struct gw_config *cfg = NULL;
	yaml_document_t doc;
	bool have_doc = false;
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (ld.errlen)
		ld.err[0] = '\0';
	if (!path)
		return GW_EINVAL;
	cfg = calloc(1, sizeof(*cfg));
	rc = cfg ? read_text(&ld, cfg, &text, &len) : conf_nomem(&ld);
	if (rc == GW_OK)
		rc = scan_events(&ld, text, len);
	if (rc == GW_OK)
		rc = load_doc(&ld, text, len, &doc);
	if (rc)
		goto out;
	have_doc = true;
	ld.doc = &doc;
	ld.dir = cfg->dir;
	rc = load_root(&ld, yaml_document_get_root_node(&doc), cfg);
	if (rc == GW_OK)
		rc = apply_override(&ld, state_dir_override, cfg);
	if (rc == GW_OK)
		rc = check_bus(&ld, yaml_document_get_root_node(&doc), cfg);
	if (rc == GW_OK)
		rc = cross_check(&ld, yaml_document_get_root_node(&doc), cfg);
	if (rc == GW_OK)
		rc = type_checks(&ld, cfg);
	if (rc == GW_OK) {
		*out = cfg;
		cfg = NULL;
	}
out:
	if (have_doc)
		yaml_document_delete(&doc);
	if (text) /* the file may hold literal secrets */
		explicit_bzero(text, len);
	free(text);
	gw_config_free(cfg);
	return rc;
}

/* ---- the rest ------------------------------------------------------- */

/* free_section - frees the strings of a filled struct (secrets wiped first). */
static void free_section(const struct conf_section *sec, void *base)
{
	for (size_t i = 0; sec && base && i < sec->n_entries; i++) {
		const struct conf_entry *row = &sec->entries[i];
		char **slot = (char **)((char *)base + row->offset);

		if (row->kind == CONF_SECTION) {
			free_section(row->sub, slot);
			continue;
		}
		if (row->kind == CONF_STRLIST) {
			strlist_free((struct conf_strlist *)slot);
			continue;
		}
		if (!row_is_string(row) || !*slot)
			continue;
		if (row->kind == CONF_SECRET)
			explicit_bzero(*slot, strlen(*slot));
		free(*slot);
		*slot = NULL;
	}
}

void gw_config_free(struct gw_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_connectors; i++) {
		struct gw_connector_conf *c = &cfg->connectors[i];

		free_section(c->section, c->settings);
		free(c->settings);
		free_section(&gw_conf_connector, c);
		free(c->disabled_reason);
	}
	free(cfg->connectors);
	gw_config_integration_free(&cfg->integration);
	gw_config_automation_free(&cfg->automation);
	gw_config_routing_free(&cfg->routing);
	free_section(&gw_conf_nats, &cfg->nats);
	free_section(&gw_conf_router, &cfg->router);
	free_section(&gw_conf_metrics, &cfg->metrics);
	free_section(&gw_conf_csat, &cfg->csat);
	free_section(&gw_conf_top, cfg);
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
}

const struct gw_connector_conf *gw_config_find_connector(const struct gw_config *cfg,
							 const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->n_connectors; i++)
		if (cfg->connectors[i].name && strcmp(cfg->connectors[i].name, name) == 0)
			return &cfg->connectors[i];
	return NULL;
}

const char *gw_config_default_path(void)
{
	static char installed[4096];

	/* Installed: <sysconfdir>/omnigate/gateway.yaml; in the build tree: the
	 * example in the sources. Read once at start, single-threaded. */
	if (gw_exe_relative(GW_INSTALLED_CONFIG, installed, sizeof(installed)) == GW_OK)
		return installed;
	return GW_DEFAULT_CONFIG;
}

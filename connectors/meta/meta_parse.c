/*
 * meta_parse.c - entry point of the Meta body parsers (see meta_parse.h):
 * JSON loading, dispatch on `object`, the event list and the helpers that
 * whatsapp.c and messenger.c share (meta_int.h).
 */
#include "connectors/meta/meta_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "connectors/parse_common.h"
#include "core/err.h"

/* Longest digit string taken as a time: 18 digits cannot overflow int64. */
#define META_TIME_DIGITS 18

int meta_fail(struct meta_ctx *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = pc_vfail(&c->err->code, c->err->message, sizeof(c->err->message), code, fmt, ap);
	va_end(ap);
	return code;
}

void meta_pathf(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
}

int meta_push(struct meta_ctx *c, enum proto_type type, struct proto_event **ev)
{
	struct meta_events *l = c->out;
	int rc = pc_push(&l->ev, &l->n, &l->cap, META_MAX_EVENTS, type, c->received_at, ev);

	/* Every failure here is the body's: no item can be kept past it. */
	c->body_fault = rc != GW_OK;
	if (rc == GW_ETOOBIG)
		return meta_fail(c, rc, "body: more than %d events", META_MAX_EVENTS);
	if (rc == GW_ENOMEM)
		return meta_fail(c, rc, "out of memory");
	if (rc != GW_OK)
		return meta_fail(c, rc, "event: cannot make an id: %s", gw_strerror(rc));
	return GW_OK;
}

/* Drops the events from `mark` and clears an item's own error; false when
 * the error is the body's. */
static bool meta_item_undo(struct meta_ctx *c, size_t mark, int rc)
{
	struct meta_events *l = c->out;

	return pc_undo(l->ev, &l->n, mark, rc, c->body_fault, &c->err->code, c->err->message,
		       l->unreadable_why, sizeof(l->unreadable_why));
}

bool meta_item_recover(struct meta_ctx *c, size_t mark, int rc)
{
	if (!meta_item_undo(c, mark, rc))
		return false;
	c->out->unreadable++;
	return true;
}

bool meta_item_drop(struct meta_ctx *c, size_t mark, int rc)
{
	if (!meta_item_undo(c, mark, rc))
		return false;
	c->out->dropped++;
	return true;
}

void meta_events_clear(struct meta_events *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->n; i++)
		proto_event_clear(&list->ev[i]);
	free(list->ev);
	list->ev = NULL;
	list->n = 0;
	list->cap = 0;
	list->skipped = 0;
	list->skipped_status[0] = '\0';
	list->unreadable = 0;
	list->dropped = 0;
	list->unreadable_why[0] = '\0';
	list->provider_errors = 0;
	list->provider_error[0] = '\0';
}

const char *meta_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

const json_t *meta_obj(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_object(v) ? v : NULL;
}

const json_t *meta_arr(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_array(v) ? v : NULL;
}

const json_t *meta_array(struct meta_ctx *c, const json_t *obj, const char *key,
			 const char *path, int *rc)
{
	const json_t *v = json_object_get(obj, key);

	*rc = GW_OK;
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_array(v)) {
		*rc = meta_fail(c, GW_EPROTO, "%s%s%s: must be an array", path,
				path[0] ? "." : "", key);
		return NULL;
	}
	return v;
}

int meta_dup(struct meta_ctx *c, const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return GW_OK;
	*out = strdup(s);
	if (!*out)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	return GW_OK;
}

/* The id obj[key] as text in buf (integers in decimal); NULL when it is neither. */
static const char *meta_id_text(const json_t *v, char *buf, size_t buflen, size_t *len)
{
	if (json_is_string(v)) {
		*len = json_string_length(v);
		return json_string_value(v);
	}
	if (json_is_integer(v)) {
		int n = snprintf(buf, buflen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));

		*len = (size_t)n;
		return buf;
	}
	return NULL;
}

const char *meta_id_peek(const json_t *obj, const char *key, size_t max, char *buf,
			 size_t buflen)
{
	size_t len = 0;
	const char *s = meta_id_text(json_object_get(obj, key), buf, buflen, &len);

	/* A number cut by a short buf is no id. */
	return s && len > 0 && len <= max && (s != buf || len < buflen) ? s : NULL;
}

static int meta_id_copy(struct meta_ctx *c, const json_t *obj, const char *key, size_t max,
			const char *path, char **out, bool required)
{
	const json_t *v = json_object_get(obj, key);
	const char *dot = path[0] ? "." : "";
	char num[32];
	const char *s;
	size_t len = 0;

	*out = NULL;
	s = meta_id_text(v, num, sizeof(num), &len);
	if (!s || len == 0) {
		if (!required)
			return GW_OK;
		if (!v || json_is_null(v))
			return meta_fail(c, GW_EPROTO, "%s%s%s: required", path, dot, key);
		return meta_fail(c, GW_EPROTO, "%s%s%s: must be a non-empty string", path, dot,
				 key);
	}
	if (len > max)
		return meta_fail(c, GW_ETOOBIG, "%s%s%s: longer than %zu bytes", path, dot, key,
				 max);
	return meta_dup(c, s, out);
}

int meta_id(struct meta_ctx *c, const json_t *obj, const char *key, size_t max,
	    const char *path, char **out)
{
	return meta_id_copy(c, obj, key, max, path, out, true);
}

int meta_opt_id(struct meta_ctx *c, const json_t *obj, const char *key, size_t max,
		const char *path, char **out)
{
	return meta_id_copy(c, obj, key, max, path, out, false);
}

int meta_choice_id(struct meta_ctx *c, const json_t *obj, const char *key, const char *path,
		   char **out)
{
	char *payload = NULL;
	int rc;

	/* SIZE_MAX: the length is handled by hashing, not refused. */
	rc = meta_id_copy(c, obj, key, SIZE_MAX, path, &payload, true);
	if (rc == GW_OK)
		rc = meta_derive(c, out, "%s", payload);
	free(payload);
	return rc;
}

/* Bytes of `s` that fit in `max` without splitting a UTF-8 character. */
static size_t meta_utf8_fit(const char *s, size_t len, size_t max)
{
	size_t cut;

	if (len <= max)
		return len;
	cut = max;
	/* Back off over continuation bytes (10xxxxxx) to a character start. */
	while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
		cut--;
	return cut;
}

int meta_cut(struct meta_ctx *c, const char *s, size_t len, size_t max, char **out)
{
	size_t n = meta_utf8_fit(s, len, max);

	*out = malloc(n + 1);
	if (!*out)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	memcpy(*out, s, n);
	(*out)[n] = '\0';
	return GW_OK;
}

int meta_text(struct meta_ctx *c, const json_t *obj, const char *key, size_t max, char **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!json_is_string(v))
		return GW_OK;
	return meta_cut(c, json_string_value(v), json_string_length(v), max, out);
}

int meta_url(struct meta_ctx *c, const json_t *obj, const char *key, size_t max, char **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
		return GW_OK;
	return meta_dup(c, json_string_value(v), out);
}

/* A string of 1..18 ASCII digits as a count; -1 otherwise. */
static int64_t meta_digits(const char *s, size_t len)
{
	char *end = NULL;
	long long v;

	if (len == 0 || len > META_TIME_DIGITS)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end != s + len)
		return -1;
	return (int64_t)v;
}

int meta_time(struct meta_ctx *c, const json_t *obj, const char *key, int64_t unit_ms,
	      const char *path, int64_t *out)
{
	const json_t *v = json_object_get(obj, key);
	int64_t n = -1;

	*out = 0;
	if (!v || json_is_null(v))
		return GW_OK;
	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_string(v))
		n = meta_digits(json_string_value(v), json_string_length(v));
	if (n < 0 || n > INT64_MAX / unit_ms)
		return meta_fail(c, GW_EPROTO, "%s.%s: not an epoch time (%s)", path, key,
				 unit_ms == 1 ? "integer milliseconds" : "seconds as digits");
	*out = n * unit_ms;
	return GW_OK;
}

int meta_raw(struct meta_ctx *c, const json_t *v, char **out)
{
	char *s;

	*out = NULL;
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	if (strlen(s) > PROTO_MAX_RAW) {
		free(s);
		return GW_OK;
	}
	*out = s;
	return GW_OK;
}

/* SHA-256 of `len` bytes of `s` as lowercase hex into out[65]. */
static int meta_sha256_hex(struct meta_ctx *c, const char *s, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return meta_fail(c, GW_EIO, "id: digest failed");
	for (unsigned int i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[64] = '\0';
	return GW_OK;
}

int meta_hash16(struct meta_ctx *c, const char *s, size_t len, char out[17])
{
	char full[65];
	int rc = meta_sha256_hex(c, s, len, full);

	if (rc == GW_OK) {
		memcpy(out, full, 16);
		out[16] = '\0';
	}
	return rc;
}

int meta_item_hash16(struct meta_ctx *c, const json_t *item, char out[17])
{
	char *s = json_dumps(item, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	int rc;

	if (!s)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	rc = meta_hash16(c, s, strlen(s), out);
	free(s);
	return rc;
}

static int meta_derive_long(struct meta_ctx *c, char **out, size_t n, const char *fmt,
			    va_list ap) __attribute__((format(printf, 4, 0)));

/* Hashes the long form of a derived id (see meta_derive). */
static int meta_derive_long(struct meta_ctx *c, char **out, size_t n, const char *fmt,
			    va_list ap)
{
	char *full = malloc(n + 1);
	char hex[65];
	int rc;

	if (!full)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	vsnprintf(full, n + 1, fmt, ap);
	rc = meta_sha256_hex(c, full, n, hex);
	free(full);
	if (rc != GW_OK)
		return rc;
	*out = malloc(sizeof("sha256:") + 64);
	if (!*out)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	snprintf(*out, sizeof("sha256:") + 64, "sha256:%s", hex);
	return GW_OK;
}

int meta_derive(struct meta_ctx *c, char **out, const char *fmt, ...)
{
	char buf[PROTO_MAX_EXTERNAL_ID + 1];
	va_list ap, ap2;
	int n;
	int rc;

	*out = NULL;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		rc = meta_fail(c, GW_EIO, "id: cannot format");
	else if ((size_t)n > PROTO_MAX_EXTERNAL_ID)
		rc = meta_derive_long(c, out, (size_t)n, fmt, ap2);
	else
		rc = meta_dup(c, buf, out);
	va_end(ap2);
	va_end(ap);
	return rc;
}

int meta_party_new(struct meta_ctx *c, const char *address, const char *name,
		   struct proto_party **out)
{
	struct proto_party *p = calloc(1, sizeof(*p));
	int rc;

	*out = NULL;
	if (!p)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	rc = meta_dup(c, address, &p->address);
	if (rc == GW_OK && name)
		rc = meta_cut(c, name, strlen(name), PROTO_MAX_NAME, &p->name);
	if (rc != GW_OK) {
		free(p->address);
		free(p);
		return rc;
	}
	*out = p;
	return GW_OK;
}

int meta_reply_to(struct meta_ctx *c, struct proto_message *m, const char *id,
		  const char *path)
{
	if (strlen(id) > PROTO_MAX_EXTERNAL_ID)
		return meta_fail(c, GW_ETOOBIG, "%s: longer than %u bytes", path,
				 PROTO_MAX_EXTERNAL_ID);
	m->reply_to = calloc(1, sizeof(*m->reply_to));
	if (!m->reply_to)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	/* Counted first so that the event's clear frees it on any failure. */
	m->reply_to_len = 1;
	return meta_dup(c, id, &m->reply_to[0]);
}

const char *meta_media_type(const char *kind)
{
	static const struct {
		const char *kind, *type;
	} map[] = {
		{"image", "image/*"},   {"video", "video/*"},   {"audio", "audio/*"},
		{"ig_reel", "video/*"}, {"reel", "video/*"},    {"sticker", "image/webp"},
	};

	for (size_t i = 0; kind && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(kind, map[i].kind) == 0)
			return map[i].type;
	return "application/octet-stream";
}

int meta_buf_add(struct meta_ctx *c, struct meta_buf *b, const char *s, size_t len)
{
	size_t n;

	if (b->len >= b->max)
		return GW_OK;
	n = meta_utf8_fit(s, len, b->max - b->len);
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return meta_fail(c, GW_ENOMEM, "out of memory");
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return GW_OK;
}

int meta_buf_take(struct meta_ctx *c, struct meta_buf *b, char **out)
{
	*out = NULL;
	if (!b->p)
		return meta_dup(c, "", out);
	*out = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return GW_OK;
}

/* True when `v` nests no deeper than `left` more levels. */
static bool meta_depth_ok(const json_t *v, int left)
{
	const char *key;
	json_t *item;
	size_t i;

	if (!json_is_object(v) && !json_is_array(v))
		return true;
	if (left <= 0)
		return false;
	if (json_is_array(v)) {
		json_array_foreach(v, i, item)
			if (!meta_depth_ok(item, left - 1))
				return false;
		return true;
	}
	json_object_foreach((json_t *)v, key, item)
		if (!meta_depth_ok(item, left - 1))
			return false;
	return true;
}

/* Names a jansson load failure without quoting the body. */
static int meta_load_fail(struct meta_ctx *c, const json_error_t *je)
{
	const char *what;

	switch (json_error_code(je)) {
	case json_error_premature_end_of_input: what = "truncated"; break;
	case json_error_duplicate_key: what = "duplicate key"; break;
	case json_error_invalid_utf8: what = "invalid UTF-8"; break;
	case json_error_null_character:
	case json_error_null_byte_in_key: what = "NUL character"; break;
	case json_error_numeric_overflow: what = "number out of range"; break;
	case json_error_end_of_input_expected: what = "data after the JSON value"; break;
	default: what = "invalid syntax"; break;
	}
	return meta_fail(c, GW_EPROTO, "body: not JSON: %s at line %d, column %d", what,
			 je->line, je->column);
}

/* Checks the root and calls the parser of its `object`. */
static int meta_dispatch(struct meta_ctx *c, const json_t *root)
{
	const char *object;

	if (!json_is_object(root))
		return meta_fail(c, GW_EPROTO, "body: not a JSON object");
	if (!meta_depth_ok(root, META_MAX_DEPTH))
		return meta_fail(c, GW_EPROTO, "body: nested deeper than %d levels",
				 META_MAX_DEPTH);
	object = meta_str(root, "object");
	if (!object)
		return meta_fail(c, GW_EPROTO, "object: required string");
	if (strcmp(object, "whatsapp_business_account") == 0)
		return meta_whatsapp_parse(c, root);
	if (strcmp(object, "page") == 0)
		return meta_messenger_parse(c, root, "messenger");
	if (strcmp(object, "instagram") == 0)
		return meta_messenger_parse(c, root, "instagram");
	/* Meta's object names are short ASCII words: a bounded echo helps setup. */
	return meta_fail(c, GW_ETYPE, "object: \"%.32s\" is not handled", object);
}

int meta_parse(const void *body, size_t len, int64_t received_at, struct meta_events *out,
	       struct meta_parse_error *err)
{
	struct meta_parse_error scratch;
	struct meta_ctx c = {.out = out, .err = err ? err : &scratch,
			     .received_at = received_at};
	json_error_t je;
	json_t *root = NULL;
	int rc;

	c.err->code = GW_OK;
	c.err->message[0] = '\0';
	/* A list that is not empty belongs to the caller: never clear it here. */
	if (!body || !out || out->n != 0 || out->ev || out->skipped || out->unreadable ||
	    out->dropped || out->provider_errors)
		return meta_fail(&c, GW_EINVAL, "meta_parse: bad arguments");
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		rc = meta_load_fail(&c, &je);
		goto out;
	}
	rc = meta_dispatch(&c, root);
out:
	json_decref(root);
	if (rc != GW_OK)
		meta_events_clear(out);
	return rc;
}

bool meta_reply_id(const char *s)
{
	size_t digits, hex;

	if (!s || strncmp(s, "reply-", 6) != 0)
		return false;
	s += 6;
	digits = strspn(s, "0123456789");
	if (digits == 0 || digits > 20 || s[digits] != '-')
		return false;
	s += digits + 1;
	hex = strspn(s, "0123456789abcdef");
	return hex == 32 && s[hex] == '\0';
}

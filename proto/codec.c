/*
 * codec.c - msgpack encode and strict decode of events and records, driven
 * by the descriptor tables of schema.def (see proto_desc.h). No function
 * here names a field: the walk is the same for every object.
 */
#include <inttypes.h>
#include <math.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "proto/proto.h"
#include "proto/proto_desc.h"

/*
 * Where we are in the value, for error messages: "attachments[2].type".
 * The path is kept as a stack of (key, index) steps and only formatted when
 * an error is written: formatting it for every field cost a tenth of the
 * router's CPU. The schema nests far less than PATH_DEPTH; deeper steps are
 * counted but not shown, as the formatted path is bounded anyway.
 */
#define PATH_DEPTH 32
#define PATH_BYTES 128

struct path_step {
	const char *key; /* NULL: an array index */
	size_t index;
};

struct ctx {
	struct proto_error *err; /* may be NULL */
	struct path_step path[PATH_DEPTH];
	size_t depth;
};

/* The objects one msgpack map holds: an event is envelope + body. */
struct part {
	const struct proto_object *obj;
	void *base;
};

static void ctx_init(struct ctx *c, struct proto_error *err)
{
	memset(c, 0, sizeof(*c));
	c->err = err;
	if (err) {
		err->code = GW_OK;
		err->message[0] = '\0';
	}
}

/* Appends ".key" or "[i]" to the path; returns the depth to pop back to. */
static size_t path_push(struct ctx *c, const char *key, size_t index)
{
	if (c->depth < PATH_DEPTH)
		c->path[c->depth] = (struct path_step){ key, index };
	return c->depth++;
}

static void path_pop(struct ctx *c, size_t saved)
{
	c->depth = saved;
}

/* Writes the path into out (PATH_BYTES bytes), cut at PATH_BYTES - 1. */
static size_t path_format(const struct ctx *c, char *out)
{
	size_t len = 0, depth = c->depth < PATH_DEPTH ? c->depth : PATH_DEPTH;

	out[0] = '\0';
	for (size_t i = 0; i < depth; i++) {
		const struct path_step *st = &c->path[i];
		size_t room = PATH_BYTES - len;
		int n;

		if (st->key)
			n = snprintf(out + len, room, "%s%s", len ? "." : "", st->key);
		else
			n = snprintf(out + len, room, "[%zu]", st->index);
		if (n > 0)
			len += (size_t)n < room ? (size_t)n : room - 1;
	}
	return len;
}

/* Records a failure as "path: what" and returns `code`. */
__attribute__((format(printf, 3, 4))) static int fail(struct ctx *c, int code, const char *fmt,
							   ...)
{
	char *msg, path[PATH_BYTES];
	size_t size, n = 0;
	va_list ap;

	if (!c->err)
		return code;
	msg = c->err->message;
	size = sizeof(c->err->message);
	c->err->code = code;
	/* The path (at most 127 bytes) always fits; the rest may be cut. */
	if (path_format(c, path))
		n = (size_t)snprintf(msg, size, "%s: ", path);
	va_start(ap, fmt);
	vsnprintf(msg + n, size - n, fmt, ap);
	va_end(ap);
	return code;
}

int proto_utf8_valid(const void *s, size_t len)
{
	const unsigned char *p = s;
	size_t i = 0;

	while (i < len) {
		unsigned char b = p[i];
		size_t need;
		uint32_t cp, min;

		if (b < 0x80) {
			i++;
			continue;
		}
		if (b >= 0xc2 && b <= 0xdf) {
			need = 1, cp = b & 0x1f, min = 0x80;
		} else if ((b & 0xf0) == 0xe0) {
			need = 2, cp = b & 0x0f, min = 0x800;
		} else if (b >= 0xf0 && b <= 0xf4) {
			need = 3, cp = b & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		if (len - i - 1 < need)
			return 0;
		for (size_t k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* Overlong forms, UTF-16 surrogates and beyond U+10FFFF. */
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

/* The checks a string passes both ways: limit, no NUL, UTF-8. */
static int check_string(struct ctx *c, const char *s, size_t len, size_t limit)
{
	if (limit && len > limit)
		return fail(c, GW_ETOOBIG, "%zu bytes over limit %zu", len, limit);
	if (memchr(s, '\0', len))
		return fail(c, GW_EPROTO, "contains NUL");
	if (!proto_utf8_valid(s, len))
		return fail(c, GW_EPROTO, "invalid UTF-8");
	return GW_OK;
}

/* A string field with a value set holds one of its values, both ways. */
static int check_value(struct ctx *c, const struct proto_field *f, const char *s, size_t len)
{
	if (proto_value_allowed(f, s, len))
		return GW_OK;
	/* Strings with a value set are short (PROTO_MAX_KIND, _STATUS). */
	return fail(c, GW_EPROTO, "value \"%.*s\" not allowed", (int)(len < 32 ? len : 32), s);
}

/* Both ways: a double on the wire is a finite number. */
static int check_double(struct ctx *c, double v)
{
	if (!isfinite(v))
		return fail(c, GW_EPROTO, "not a finite number");
	return GW_OK;
}

/*
 * Pre-scan. msgpack-c's unpacker allocates room for every element of an
 * array or map as soon as it reads the header, before it knows the elements
 * exist: five bytes announcing 2^32 entries ask for 96 GiB. It has no limit
 * to set, so before handing it bytes we walk the headers ourselves, only to
 * check that every announced element is really there, and to bound depth
 * and the number of values. The values themselves are read by msgpack-c.
 */
struct scan {
	const unsigned char *p;
	size_t len, off, values, max_values;
};

static int scan_value(struct scan *s, unsigned depth);

static int scan_uint(struct scan *s, size_t bytes, uint64_t *v)
{
	if (s->len - s->off < bytes)
		return GW_EPROTO;
	*v = 0;
	for (size_t i = 0; i < bytes; i++)
		*v = (*v << 8) | s->p[s->off++];
	return GW_OK;
}

static int scan_skip(struct scan *s, uint64_t bytes)
{
	if (s->len - s->off < bytes)
		return GW_EPROTO;
	s->off += (size_t)bytes;
	return GW_OK;
}

/* The `n` values inside a container that is `depth` containers deep. */
static int scan_items(struct scan *s, unsigned depth, uint64_t n)
{
	int rc = GW_OK;

	if (depth > PROTO_MAX_DEPTH)
		return GW_EPROTO;
	/* Each value takes at least one byte. */
	if (n > s->len - s->off)
		return GW_EPROTO;
	for (uint64_t i = 0; i < n && !rc; i++)
		rc = scan_value(s, depth);
	return rc;
}

/* Header byte -> (bytes of length field, extra bytes, items per count). */
static int scan_sized(struct scan *s, unsigned char b, unsigned depth)
{
	static const struct {
		unsigned char lo, hi, lenbytes, extra, per_item;
	} forms[] = {
		{ 0xc4, 0xc4, 1, 0, 0 }, { 0xc5, 0xc5, 2, 0, 0 }, { 0xc6, 0xc6, 4, 0, 0 }, /* bin */
		{ 0xc7, 0xc7, 1, 1, 0 }, { 0xc8, 0xc8, 2, 1, 0 }, { 0xc9, 0xc9, 4, 1, 0 }, /* ext */
		{ 0xd9, 0xd9, 1, 0, 0 }, { 0xda, 0xda, 2, 0, 0 }, { 0xdb, 0xdb, 4, 0, 0 }, /* str */
		{ 0xdc, 0xdc, 2, 0, 1 }, { 0xdd, 0xdd, 4, 0, 1 },                          /* array */
		{ 0xde, 0xde, 2, 0, 2 }, { 0xdf, 0xdf, 4, 0, 2 },                          /* map */
	};
	uint64_t n;
	int rc;

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (b != forms[i].lo)
			continue;
		rc = scan_uint(s, forms[i].lenbytes, &n);
		if (rc)
			return rc;
		if (forms[i].per_item)
			return scan_items(s, depth + 1, n * forms[i].per_item);
		return scan_skip(s, n + forms[i].extra);
	}
	return GW_EPROTO; /* 0xc1, never used */
}

static int scan_value(struct scan *s, unsigned depth)
{
	/* Payload bytes of the fixed-size forms 0xca..0xd8. */
	static const unsigned char fixed[] = {
		4, 8,           /* float 32, 64 */
		1, 2, 4, 8,     /* uint 8..64 */
		1, 2, 4, 8,     /* int 8..64 */
		2, 3, 5, 9, 17, /* fixext 1..16 (type byte + data) */
	};
	unsigned char b;

	if (s->off >= s->len)
		return GW_EPROTO;
	if (++s->values > s->max_values)
		return GW_ETOOBIG;
	b = s->p[s->off++];
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return GW_OK;
	if (b <= 0x8f)
		return scan_items(s, depth + 1, (uint64_t)(b & 0x0f) * 2);
	if (b <= 0x9f)
		return scan_items(s, depth + 1, b & 0x0f);
	if (b <= 0xbf)
		return scan_skip(s, b & 0x1f);
	if (b >= 0xca && b <= 0xd8)
		return scan_skip(s, fixed[b - 0xca]);
	return scan_sized(s, b, depth);
}

int proto_msgpack_scan(const void *data, size_t len, size_t max_values, size_t *used)
{
	struct scan s = { .p = data, .len = len, .max_values = max_values };
	int rc = scan_value(&s, 0);

	if (rc == GW_OK)
		*used = s.off;
	return rc;
}

/*
 * Decoding. unpack_root turns the bytes into one msgpack map, then
 * decode_map fills the parts it holds from their descriptors.
 */
static int unpack_root(struct ctx *c, const void *data, size_t len, msgpack_unpacked *up,
		       const msgpack_object_map **map)
{
	size_t used = 0, off = 0;
	int rc;

	if (len > PROTO_MAX_EVENT_BYTES)
		return fail(c, GW_ETOOBIG, "%zu bytes over limit %u", len, PROTO_MAX_EVENT_BYTES);
	rc = proto_msgpack_scan(data, len, PROTO_MAX_VALUES, &used);
	if (rc == GW_ETOOBIG)
		return fail(c, rc, "more than %u values", PROTO_MAX_VALUES);
	if (rc)
		return fail(c, GW_EPROTO, "not msgpack (truncated, invalid or too deep)");
	if (used != len)
		return fail(c, GW_EPROTO, "%zu trailing bytes", len - used);
	switch (msgpack_unpack_next(up, data, len, &off)) {
	case MSGPACK_UNPACK_SUCCESS:
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		return fail(c, GW_ENOMEM, "out of memory");
	default:
		return fail(c, GW_EPROTO, "not msgpack");
	}
	if (off != len)
		return fail(c, GW_EPROTO, "%zu trailing bytes", len - off);
	if (up->data.type != MSGPACK_OBJECT_MAP)
		return fail(c, GW_EPROTO, "not a map");
	*map = &up->data.via.map;
	return GW_OK;
}

static int decode_map(struct ctx *c, const struct part *part, const msgpack_object_map *map);

/* `f` is NULL for the items of a STRARRAY (no value set). */
static int decode_string(struct ctx *c, const msgpack_object *o, const struct proto_field *f,
			 size_t limit, char **out)
{
	int rc;

	if (o->type != MSGPACK_OBJECT_STR)
		return fail(c, GW_ETYPE, "expected string");
	rc = check_string(c, o->via.str.ptr, o->via.str.size, limit);
	if (!rc && f)
		rc = check_value(c, f, o->via.str.ptr, o->via.str.size);
	if (rc)
		return rc;
	*out = malloc((size_t)o->via.str.size + 1);
	if (!*out)
		return fail(c, GW_ENOMEM, "out of memory");
	memcpy(*out, o->via.str.ptr, o->via.str.size);
	(*out)[o->via.str.size] = '\0';
	return GW_OK;
}

static int decode_int64(struct ctx *c, const msgpack_object *o, int64_t *out)
{
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*out = o->via.i64;
		return GW_OK;
	}
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return fail(c, GW_ETYPE, "expected integer");
	if (o->via.u64 > INT64_MAX)
		return fail(c, GW_ETOOBIG, "%" PRIu64 " out of range", o->via.u64);
	*out = (int64_t)o->via.u64;
	return GW_OK;
}

/* Any msgpack number; a double field may be given an integer. */
static int decode_double(struct ctx *c, const msgpack_object *o, double *out)
{
	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		*out = o->via.f64;
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*out = (double)o->via.u64;
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*out = (double)o->via.i64;
		break;
	default:
		return fail(c, GW_ETYPE, "expected number");
	}
	return check_double(c, *out);
}

/*
 * An optional nested map held by pointer: allocated here and stored at
 * once, so that clearing after a later failure frees it.
 */
static int decode_objptr(struct ctx *c, const struct proto_field *f, const msgpack_object *o,
			 void **p)
{
	if (o->type != MSGPACK_OBJECT_MAP)
		return fail(c, GW_ETYPE, "expected map");
	*p = calloc(1, f->sub->size);
	if (!*p)
		return fail(c, GW_ENOMEM, "out of memory");
	return decode_map(c, &(struct part){ f->sub, *p }, &o->via.map);
}

/* Checks an array header and allocates its zeroed items into the struct. */
static int decode_array_alloc(struct ctx *c, const struct proto_field *f, const msgpack_object *o,
			      size_t item_size, char *base)
{
	void **items = (void **)(base + f->offset);
	size_t n;

	if (o->type != MSGPACK_OBJECT_ARRAY)
		return fail(c, GW_ETYPE, "expected array");
	n = o->via.array.size;
	if (f->limit && n > f->limit)
		return fail(c, GW_ETOOBIG, "%zu entries over limit %zu", n, f->limit);
	if (n == 0)
		return GW_OK;
	*items = calloc(n, item_size);
	if (!*items)
		return fail(c, GW_ENOMEM, "out of memory");
	/* Set now so that clearing after a later failure frees the items. */
	*(size_t *)(base + f->len_offset) = n;
	return GW_OK;
}

static int decode_array(struct ctx *c, const struct proto_field *f, const msgpack_object *o,
			char *base)
{
	int obj = f->kind == PROTO_K_OBJARRAY;
	int rc = decode_array_alloc(c, f, o, obj ? f->sub->size : sizeof(char *), base);
	char *items = *(char **)(base + f->offset);

	for (size_t i = 0; !rc && items && i < o->via.array.size; i++) {
		const msgpack_object *e = &o->via.array.ptr[i];
		size_t saved = path_push(c, NULL, i);

		if (!obj) {
			rc = decode_string(c, e, NULL, PROTO_MAX_STRARRAY_ITEM, (char **)items + i);
		} else if (e->type != MSGPACK_OBJECT_MAP) {
			rc = fail(c, GW_ETYPE, "expected map");
		} else {
			struct part p = { f->sub, items + i * f->sub->size };

			rc = decode_map(c, &p, &e->via.map);
		}
		path_pop(c, saved);
	}
	return rc;
}

static int decode_envelope_kind(struct ctx *c, const struct proto_field *f,
				const msgpack_object *o, void *p)
{
	enum proto_type t;

	if (f->kind == PROTO_K_VERSION) {
		if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return fail(c, GW_ETYPE, "expected unsigned integer");
		if (o->via.u64 != PROTO_VERSION)
			return fail(c, GW_EVERSION, "unsupported version %" PRIu64, o->via.u64);
		*(uint32_t *)p = PROTO_VERSION;
		return GW_OK;
	}
	if (o->type != MSGPACK_OBJECT_STR)
		return fail(c, GW_ETYPE, "expected string");
	t = proto_type_parse(o->via.str.ptr, o->via.str.size);
	if (t == PROTO_T_NONE)
		return fail(c, GW_ETYPE, "unknown event type");
	*(enum proto_type *)p = t;
	return GW_OK;
}

static int decode_value(struct ctx *c, const struct proto_field *f, const msgpack_object *o,
			char *base)
{
	void *p = base + f->offset;

	switch (f->kind) {
	case PROTO_K_STRING:
		return decode_string(c, o, f, f->limit, (char **)p);
	case PROTO_K_UINT64:
		if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return fail(c, GW_ETYPE, "expected unsigned integer");
		*(uint64_t *)p = o->via.u64;
		return GW_OK;
	case PROTO_K_INT64:
		return decode_int64(c, o, (int64_t *)p);
	case PROTO_K_BOOL:
		if (o->type != MSGPACK_OBJECT_BOOLEAN)
			return fail(c, GW_ETYPE, "expected boolean");
		*(bool *)p = o->via.boolean;
		return GW_OK;
	case PROTO_K_DOUBLE:
		return decode_double(c, o, (double *)p);
	case PROTO_K_OBJPTR:
		return decode_objptr(c, f, o, (void **)p);
	case PROTO_K_OBJECT: {
		struct part sub = { f->sub, p };

		if (o->type != MSGPACK_OBJECT_MAP)
			return fail(c, GW_ETYPE, "expected map");
		return decode_map(c, &sub, &o->via.map);
	}
	case PROTO_K_OBJARRAY:
	case PROTO_K_STRARRAY:
		return decode_array(c, f, o, base);
	default:
		return decode_envelope_kind(c, f, o, p);
	}
}

/*
 * The envelope's `v` is read before anything else (a newer version may
 * change the rest), then `type` (it picks the body), then the other fields.
 */
static int field_phase(const struct proto_field *f)
{
	return f->kind == PROTO_K_VERSION ? 0 : f->kind == PROTO_K_TYPE ? 1 : 2;
}

/*
 * The index of `key` among the fields of `obj`, or -1. The search starts
 * at *hint, the field after the last one found, and wraps: the encoder
 * writes the fields in schema order, so a map it wrote is matched one
 * comparison per key instead of half the fields per key.
 */
static int field_find(const struct proto_object *obj, const msgpack_object_str *key,
		      size_t *hint)
{
	size_t n = obj->nfields, i = *hint < n ? *hint : 0;

	for (size_t k = 0; k < n; k++, i = i + 1 < n ? i + 1 : 0) {
		const struct proto_field *f = &obj->fields[i];

		if (f->key_len == key->size && memcmp(f->key, key->ptr, key->size) == 0) {
			*hint = i + 1;
			return (int)i;
		}
	}
	return -1;
}

/* Decodes the fields of `part` of phase `phase`, marking them in *seen. */
static int decode_phase(struct ctx *c, const struct part *part, const msgpack_object_map *map,
			int phase, uint64_t *seen)
{
	size_t hint = 0;
	int rc = GW_OK;

	for (uint32_t i = 0; i < map->size && !rc; i++) {
		const msgpack_object_kv *kv = &map->ptr[i];
		const struct proto_field *f;
		size_t saved;
		int idx;

		if (kv->key.type != MSGPACK_OBJECT_STR)
			return fail(c, GW_EPROTO, "map key is not a string");
		idx = field_find(part->obj, &kv->key.via.str, &hint);
		if (idx < 0 || field_phase(&part->obj->fields[idx]) != phase)
			continue; /* unknown keys are later additions: skip */
		f = &part->obj->fields[idx];
		saved = path_push(c, f->key, 0);
		if (*seen & (UINT64_C(1) << idx))
			rc = fail(c, GW_EPROTO, "duplicate key");
		else
			rc = decode_value(c, f, &kv->val, part->base);
		*seen |= UINT64_C(1) << idx;
		path_pop(c, saved);
	}
	return rc;
}

/* The phases `obj` has fields of, bit p for phase p: only the envelope has
 * the first two, and a pass over the map for a phase without fields would
 * only skip every key. */
static unsigned object_phases(const struct proto_object *obj)
{
	unsigned phases = 1u << 2; /* always one pass: it checks every key */

	for (size_t i = 0; i < obj->nfields; i++)
		phases |= 1u << field_phase(&obj->fields[i]);
	return phases;
}

static int check_required(struct ctx *c, const struct part *part, int phase, uint64_t seen)
{
	for (size_t i = 0; i < part->obj->nfields; i++) {
		const struct proto_field *f = &part->obj->fields[i];
		size_t saved;

		if (!f->required || field_phase(f) != phase || (seen & (UINT64_C(1) << i)))
			continue;
		saved = path_push(c, f->key, 0);
		fail(c, GW_EMISSING, "missing");
		path_pop(c, saved);
		return GW_EMISSING;
	}
	return GW_OK;
}

static int decode_map(struct ctx *c, const struct part *part, const msgpack_object_map *map)
{
	unsigned phases = object_phases(part->obj);
	uint64_t seen = 0;
	int rc = GW_OK;

	for (int phase = 0; phase < 3 && !rc; phase++) {
		if (!(phases & (1u << phase)))
			continue;
		rc = decode_phase(c, part, map, phase, &seen);
		if (!rc)
			rc = check_required(c, part, phase, seen);
	}
	return rc;
}

int proto_decode(const void *data, size_t len, struct proto_event *ev, struct proto_error *err)
{
	const struct proto_event_desc *d;
	const msgpack_object_map *map = NULL;
	msgpack_unpacked up;
	struct part env = { &proto_obj_event, ev };
	struct ctx c;
	int rc;

	ctx_init(&c, err);
	memset(ev, 0, sizeof(*ev));
	msgpack_unpacked_init(&up);
	rc = unpack_root(&c, data, len, &up, &map);
	if (rc)
		goto out;
	/* The envelope first: its `type` says which body the map carries. */
	rc = decode_map(&c, &env, map);
	if (rc)
		goto out;
	d = proto_event_desc(ev->type);
	rc = decode_map(&c, &(struct part){ d->body, (char *)ev + d->offset }, map);
out:
	msgpack_unpacked_destroy(&up);
	if (rc)
		proto_event_clear(ev);
	return rc;
}

static int decode_record(const void *data, size_t len, const struct proto_object *obj, void *rec,
			 struct proto_error *err)
{
	const msgpack_object_map *map = NULL;
	msgpack_unpacked up;
	struct part part = { obj, rec };
	struct ctx c;
	int rc;

	ctx_init(&c, err);
	memset(rec, 0, obj->size);
	msgpack_unpacked_init(&up);
	rc = unpack_root(&c, data, len, &up, &map);
	if (!rc)
		rc = decode_map(&c, &part, map);
	msgpack_unpacked_destroy(&up);
	if (rc)
		proto_object_clear(obj, rec);
	return rc;
}

int proto_object_decode(const void *data, size_t len, const struct proto_object *obj, void *rec,
			struct proto_error *err)
{
	return decode_record(data, len, obj, rec, err);
}

int proto_customer_decode(const void *data, size_t len, struct proto_customer *cu,
			  struct proto_error *err)
{
	return decode_record(data, len, &proto_obj_customer, cu, err);
}

int proto_ticket_decode(const void *data, size_t len, struct proto_ticket *t,
			struct proto_error *err)
{
	return decode_record(data, len, &proto_obj_ticket, t, err);
}

int proto_agent_decode(const void *data, size_t len, struct proto_agent *a,
		       struct proto_error *err)
{
	return decode_record(data, len, &proto_obj_agent, a, err);
}

int proto_merge_decode(const void *data, size_t len, struct proto_merge *m,
		       struct proto_error *err)
{
	return decode_record(data, len, &proto_obj_merge, m, err);
}

/*
 * Encoding: the same walk in the other direction, with the same checks, so
 * that whatever encode accepts, decode accepts.
 */
/* packed - the result `r` of a msgpack_pack_* call: its only failure is
 * running out of memory. */
static int packed(struct ctx *c, int r)
{
	return r == 0 ? GW_OK : fail(c, GW_ENOMEM, "out of memory");
}

static int encode_map(struct ctx *c, msgpack_packer *pk, const struct part *parts, size_t nparts);

/* `f` is NULL for the items of a STRARRAY (no value set). */
static int encode_string(struct ctx *c, msgpack_packer *pk, const struct proto_field *f,
			 const char *s, size_t limit)
{
	size_t len;
	int rc;

	if (!s)
		return fail(c, GW_EMISSING, "missing");
	len = strlen(s);
	rc = check_string(c, s, len, limit);
	if (!rc && f)
		rc = check_value(c, f, s, len);
	if (rc)
		return rc;
	return packed(c, msgpack_pack_str_with_body(pk, s, len));
}

static int encode_array(struct ctx *c, msgpack_packer *pk, const struct proto_field *f,
			const char *base)
{
	int obj = f->kind == PROTO_K_OBJARRAY;
	const char *items = *(char *const *)(base + f->offset);
	size_t n = *(const size_t *)(base + f->len_offset);
	int rc = GW_OK;

	if (f->limit && n > f->limit)
		return fail(c, GW_ETOOBIG, "%zu entries over limit %zu", n, f->limit);
	if (!items)
		return fail(c, GW_EMISSING, "%zu entries but no array", n);
	rc = packed(c, msgpack_pack_array(pk, n));
	for (size_t i = 0; i < n && !rc; i++) {
		size_t saved = path_push(c, NULL, i);

		if (obj) {
			struct part p = { f->sub, (void *)(items + i * f->sub->size) };

			rc = encode_map(c, pk, &p, 1);
		} else {
			rc = encode_string(c, pk, NULL, ((char *const *)items)[i],
					   PROTO_MAX_STRARRAY_ITEM);
		}
		path_pop(c, saved);
	}
	return rc;
}

static int encode_value(struct ctx *c, msgpack_packer *pk, const struct proto_field *f,
			const char *base)
{
	const void *p = base + f->offset;
	const char *name;

	switch (f->kind) {
	case PROTO_K_STRING:
		return encode_string(c, pk, f, *(char *const *)p, f->limit);
	case PROTO_K_UINT64:
		return packed(c, msgpack_pack_uint64(pk, *(const uint64_t *)p));
	case PROTO_K_INT64:
		return packed(c, msgpack_pack_int64(pk, *(const int64_t *)p));
	case PROTO_K_BOOL:
		return packed(c, *(const bool *)p ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
	case PROTO_K_DOUBLE:
		if (check_double(c, *(const double *)p))
			return GW_EPROTO;
		return packed(c, msgpack_pack_double(pk, *(const double *)p));
	case PROTO_K_OBJECT:
		return encode_map(c, pk, &(struct part){ f->sub, (void *)p }, 1);
	case PROTO_K_OBJPTR:
		return encode_map(c, pk, &(struct part){ f->sub, *(void *const *)p }, 1);
	case PROTO_K_OBJARRAY:
	case PROTO_K_STRARRAY:
		return encode_array(c, pk, f, base);
	case PROTO_K_VERSION:
		/* This encoder writes v1 only, whatever the struct says. */
		return packed(c, msgpack_pack_uint64(pk, PROTO_VERSION));
	case PROTO_K_TYPE:
		name = proto_type_name(*(const enum proto_type *)p);
		if (!name)
			return fail(c, GW_ETYPE, "invalid event type");
		return packed(c, msgpack_pack_str_with_body(pk, name, strlen(name)));
	}
	return fail(c, GW_ETYPE, "invalid field kind");
}

static int encode_field(struct ctx *c, msgpack_packer *pk, const struct proto_field *f,
			const char *base)
{
	int rc = packed(c, msgpack_pack_str_with_body(pk, f->key, f->key_len));

	return rc ? rc : encode_value(c, pk, f, base);
}

static int encode_map(struct ctx *c, msgpack_packer *pk, const struct part *parts, size_t nparts)
{
	size_t count = 0;
	int rc = GW_OK;

	for (size_t p = 0; p < nparts; p++)
		for (size_t i = 0; i < parts[p].obj->nfields; i++)
			count += (size_t)proto_field_present(&parts[p].obj->fields[i], parts[p].base);
	rc = packed(c, msgpack_pack_map(pk, count));
	for (size_t p = 0; p < nparts && !rc; p++) {
		for (size_t i = 0; i < parts[p].obj->nfields && !rc; i++) {
			const struct proto_field *f = &parts[p].obj->fields[i];
			size_t saved = path_push(c, f->key, 0);

			if (proto_field_present(f, parts[p].base))
				rc = encode_field(c, pk, f, parts[p].base);
			else if (f->required)
				rc = fail(c, GW_EMISSING, "missing");
			path_pop(c, saved);
		}
	}
	return rc;
}

static int encode_parts(const struct part *parts, size_t nparts, char **out, size_t *len,
			struct proto_error *err)
{
	msgpack_sbuffer sbuf;
	msgpack_packer pk;
	struct ctx c;
	int rc;

	ctx_init(&c, err);
	*out = NULL;
	*len = 0;
	msgpack_sbuffer_init(&sbuf);
	msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
	rc = encode_map(&c, &pk, parts, nparts);
	if (rc)
		goto out;
	if (sbuf.size > PROTO_MAX_EVENT_BYTES) {
		rc = fail(&c, GW_ETOOBIG, "%zu bytes over limit %u", sbuf.size,
			  PROTO_MAX_EVENT_BYTES);
		goto out;
	}
	*len = sbuf.size;
	*out = msgpack_sbuffer_release(&sbuf);
out:
	msgpack_sbuffer_destroy(&sbuf);
	return rc;
}

int proto_encode(const struct proto_event *ev, char **out, size_t *len, struct proto_error *err)
{
	const struct proto_event_desc *d = proto_event_desc(ev->type);
	struct part parts[2] = { { &proto_obj_event, (void *)ev } };
	struct ctx c;

	if (!d) {
		*out = NULL;
		*len = 0;
		ctx_init(&c, err);
		path_push(&c, "type", 0);
		return fail(&c, GW_ETYPE, "invalid event type");
	}
	parts[1] = (struct part){ d->body, (char *)ev + d->offset };
	return encode_parts(parts, 2, out, len, err);
}

int proto_customer_encode(const struct proto_customer *cu, char **out, size_t *len)
{
	struct part part = { &proto_obj_customer, (void *)cu };

	return encode_parts(&part, 1, out, len, NULL);
}

int proto_ticket_encode(const struct proto_ticket *t, char **out, size_t *len)
{
	struct part part = { &proto_obj_ticket, (void *)t };

	return encode_parts(&part, 1, out, len, NULL);
}

int proto_agent_encode(const struct proto_agent *a, char **out, size_t *len)
{
	struct part part = { &proto_obj_agent, (void *)a };

	return encode_parts(&part, 1, out, len, NULL);
}

int proto_merge_encode(const struct proto_merge *m, char **out, size_t *len)
{
	struct part part = { &proto_obj_merge, (void *)m };

	return encode_parts(&part, 1, out, len, NULL);
}

int proto_msgpack_check(const void *data, size_t len)
{
	size_t used = 0;
	int rc = proto_msgpack_scan(data, len, PROTO_MAX_VALUES, &used);

	return rc == GW_OK && used != len ? GW_EPROTO : rc;
}

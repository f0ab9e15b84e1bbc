/*
 * json.c - events and records as JSON (jansson), with the keys of their
 * msgpack maps, driven by the same descriptor tables as the codec; and a
 * generic msgpack -> JSON conversion for tools.
 */
#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "proto/proto_desc.h"

static json_t *json_from_object(const struct proto_object *obj, const void *base);

/* Counters never reach 2^63; a hostile size might, and stays approximate. */
static json_t *json_from_u64(uint64_t v)
{
	return v <= INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
}

static json_t *json_from_array(const struct proto_field *f, const char *base)
{
	const char *items = *(char *const *)(base + f->offset);
	size_t n = *(const size_t *)(base + f->len_offset);
	json_t *arr = json_array();

	for (size_t i = 0; arr && items && i < n; i++) {
		json_t *item;

		if (f->kind == PROTO_K_OBJARRAY)
			item = json_from_object(f->sub, items + i * f->sub->size);
		else
			item = json_string(((char *const *)items)[i] ? ((char *const *)items)[i] : "");
		if (json_array_append_new(arr, item) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

/* A new JSON value for one present field; NULL on failure. */
static json_t *json_from_field(const struct proto_field *f, const char *base)
{
	const void *p = base + f->offset;

	switch (f->kind) {
	case PROTO_K_STRING:
		return json_string(*(char *const *)p); /* NULL unless UTF-8 */
	case PROTO_K_UINT64:
		return json_from_u64(*(const uint64_t *)p);
	case PROTO_K_INT64:
		return json_integer((json_int_t)*(const int64_t *)p);
	case PROTO_K_BOOL:
		return json_boolean(*(const bool *)p);
	case PROTO_K_DOUBLE:
		/* NULL (a failed dump) for a value encode would refuse too. */
		return isfinite(*(const double *)p) ? json_real(*(const double *)p) : NULL;
	case PROTO_K_OBJECT:
		return json_from_object(f->sub, p);
	case PROTO_K_OBJPTR:
		return json_from_object(f->sub, *(void *const *)p);
	case PROTO_K_OBJARRAY:
	case PROTO_K_STRARRAY:
		return json_from_array(f, base);
	case PROTO_K_VERSION:
		return json_integer(PROTO_VERSION);
	case PROTO_K_TYPE: {
		const char *name = proto_type_name(*(const enum proto_type *)p);

		return name ? json_string(name) : NULL;
	}
	}
	return NULL;
}

/* Adds the present fields of `obj` at `base` to `json`; -1 on failure. */
static int json_add_fields(json_t *json, const struct proto_object *obj, const void *base)
{
	for (size_t i = 0; i < obj->nfields; i++) {
		const struct proto_field *f = &obj->fields[i];

		if (!proto_field_present(f, base))
			continue;
		if (json_object_set_new(json, f->key, json_from_field(f, base)) != 0)
			return -1;
	}
	return 0;
}

static json_t *json_from_object(const struct proto_object *obj, const void *base)
{
	json_t *json = json_object();

	if (json && json_add_fields(json, obj, base) != 0) {
		json_decref(json);
		json = NULL;
	}
	return json;
}

json_t *proto_to_json(const struct proto_event *ev)
{
	const struct proto_event_desc *d = proto_event_desc(ev->type);
	json_t *json = json_object();

	if (!json || !d)
		goto fail;
	if (json_add_fields(json, &proto_obj_event, ev) != 0)
		goto fail;
	if (json_add_fields(json, d->body, (const char *)ev + d->offset) != 0)
		goto fail;
	return json;
fail:
	json_decref(json);
	return NULL;
}

char *proto_dump_json(const struct proto_event *ev)
{
	json_t *json = proto_to_json(ev);
	char *text = NULL;

	if (json)
		text = json_dumps(json, JSON_COMPACT);
	json_decref(json);
	return text;
}

json_t *proto_customer_to_json(const struct proto_customer *c)
{
	return json_from_object(&proto_obj_customer, c);
}

json_t *proto_ticket_to_json(const struct proto_ticket *t)
{
	return json_from_object(&proto_obj_ticket, t);
}

/* Generic msgpack -> JSON, for tools that print command replies. */
static json_t *json_from_msgpack_value(const msgpack_object *o);

static json_t *json_hex(const char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char *buf = malloc(2 * len + 1);
	json_t *json;

	if (!buf)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		buf[2 * i] = hex[(unsigned char)data[i] >> 4];
		buf[2 * i + 1] = hex[(unsigned char)data[i] & 15];
	}
	json = json_stringn(buf, 2 * len);
	free(buf);
	return json;
}

static json_t *json_from_msgpack_map(const msgpack_object_map *map)
{
	json_t *json = json_object();

	for (uint32_t i = 0; json && i < map->size; i++) {
		const msgpack_object *k = &map->ptr[i].key;
		int rc = -1;

		/* Keys are strings in our maps; jansson needs them NUL-free. */
		if (k->type == MSGPACK_OBJECT_STR)
			rc = json_object_setn_new(json, k->via.str.ptr, k->via.str.size,
						  json_from_msgpack_value(&map->ptr[i].val));
		if (rc != 0) {
			json_decref(json);
			json = NULL;
		}
	}
	return json;
}

static json_t *json_from_msgpack_value(const msgpack_object *o)
{
	json_t *json;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return json_null();
	case MSGPACK_OBJECT_BOOLEAN:
		return json_boolean(o->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return json_from_u64(o->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return json_integer((json_int_t)o->via.i64);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return isfinite(o->via.f64) ? json_real(o->via.f64) : json_null();
	case MSGPACK_OBJECT_STR:
		return json_stringn(o->via.str.ptr, o->via.str.size);
	case MSGPACK_OBJECT_BIN:
		return json_hex(o->via.bin.ptr, o->via.bin.size);
	case MSGPACK_OBJECT_EXT:
		return json_hex(o->via.ext.ptr, o->via.ext.size);
	case MSGPACK_OBJECT_ARRAY:
		json = json_array();
		for (uint32_t i = 0; json && i < o->via.array.size; i++) {
			if (json_array_append_new(json, json_from_msgpack_value(&o->via.array.ptr[i]))) {
				json_decref(json);
				json = NULL;
			}
		}
		return json;
	case MSGPACK_OBJECT_MAP:
		return json_from_msgpack_map(&o->via.map);
	}
	return NULL;
}

json_t *proto_json_from_msgpack(const void *data, size_t len)
{
	msgpack_unpacked up;
	json_t *json = NULL;
	size_t used = 0, off = 0;

	/* Bounded by depth and by the bytes present (see proto_msgpack_scan). */
	if (proto_msgpack_scan(data, len, len, &used) != 0 || used != len)
		return NULL;
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, data, len, &off) == MSGPACK_UNPACK_SUCCESS && off == len)
		json = json_from_msgpack_value(&up.data);
	msgpack_unpacked_destroy(&up);
	return json;
}

void proto_msgpack_pack_json(void *packer, const json_t *j)
{
	msgpack_packer *pk = packer;
	const char *k;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		msgpack_pack_map(pk, (uint32_t)json_object_size(j));
		json_object_foreach((json_t *)j, k, v) {
			msgpack_pack_str_with_body(pk, k, strlen(k));
			proto_msgpack_pack_json(pk, v);
		}
		break;
	case JSON_ARRAY:
		msgpack_pack_array(pk, (uint32_t)json_array_size(j));
		json_array_foreach(j, i, v)
			proto_msgpack_pack_json(pk, v);
		break;
	case JSON_STRING:
		msgpack_pack_str_with_body(pk, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		msgpack_pack_int64(pk, json_integer_value(j));
		break;
	case JSON_REAL:
		msgpack_pack_double(pk, json_real_value(j));
		break;
	case JSON_TRUE:
		msgpack_pack_true(pk);
		break;
	case JSON_FALSE:
		msgpack_pack_false(pk);
		break;
	case JSON_NULL:
		msgpack_pack_nil(pk);
		break;
	}
}

/*
 * cmdargs.c - the arguments of a command: one msgpack map from the network,
 * read into a struct by a table of specs, with the same checks everywhere
 * (type, size, UTF-8, required) and an error that names the key. Also packs
 * the commands' answer maps, so that every answer starts the same way.
 */
#include "router/rules/routing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "proto/proto.h"
#include "proto/proto_desc.h"

static int key_is(const msgpack_object *k, const char *s)
{
	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(s) &&
	       memcmp(k->via.str.ptr, s, k->via.str.size) == 0;
}

static int take_str(const struct cmdarg *a, const msgpack_object *v, char **dst, char *err,
		    size_t errlen)
{
	if (v->type != MSGPACK_OBJECT_STR) {
		snprintf(err, errlen, "%s: expected a string", a->key);
		return GW_ETYPE;
	}
	if (v->via.str.size > a->max) {
		snprintf(err, errlen, "%s: longer than %zu bytes", a->key, a->max);
		return GW_ETOOBIG;
	}
	if (memchr(v->via.str.ptr, '\0', v->via.str.size) ||
	    !proto_utf8_valid(v->via.str.ptr, v->via.str.size)) {
		snprintf(err, errlen, "%s: not UTF-8 text", a->key);
		return GW_EPROTO;
	}
	free(*dst);
	*dst = strndup(v->via.str.ptr, v->via.str.size);
	return *dst ? GW_OK : GW_ENOMEM;
}

/* take_one_obj - the map `v` as a struct of a->obj into `rec` (a->obj->size
 * bytes, zeroed): packed again and read by the schema's decoder, so that a
 * command argument is checked exactly as the same object in an event. */
static int take_one_obj(const struct cmdarg *a, const msgpack_object *v, void *rec, char *err,
			size_t errlen)
{
	struct proto_error perr;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	if (v->type != MSGPACK_OBJECT_MAP) {
		snprintf(err, errlen, "%s: expected a map", a->key);
		return GW_ETYPE;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rc = msgpack_pack_object(&pk, *v) == 0 ? GW_OK : GW_ENOMEM;
	if (rc == GW_OK)
		rc = proto_object_decode(sb.data, sb.size, a->obj, rec, &perr);
	if (rc != GW_OK && rc != GW_ENOMEM)
		snprintf(err, errlen, "%s: %s", a->key, perr.message);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void free_objs(const struct cmdarg *a, void *slot)
{
	if (a->kind == CMDARG_OBJ) {
		void **p = slot;

		if (*p)
			proto_object_clear(a->obj, *p);
		free(*p);
		*p = NULL;
	} else {
		struct cmdarg_objs *o = slot;

		for (size_t i = 0; i < o->n; i++)
			proto_object_clear(a->obj, (char *)o->v + i * a->obj->size);
		free(o->v);
		memset(o, 0, sizeof(*o));
	}
}

/* take_objs - a CMDARG_OBJ map or a CMDARG_OBJS array of maps. */
static int take_objs(const struct cmdarg *a, const msgpack_object *v, void *slot, char *err,
		     size_t errlen)
{
	struct cmdarg_objs *o = slot;
	int rc = GW_OK;

	free_objs(a, slot);
	if (a->kind == CMDARG_OBJ) {
		void **p = slot;

		if (!(*p = calloc(1, a->obj->size)))
			return GW_ENOMEM;
		return take_one_obj(a, v, *p, err, errlen);
	}
	if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size > a->max) {
		snprintf(err, errlen, "%s: expected an array of at most %zu maps", a->key, a->max);
		return GW_ETYPE;
	}
	if (v->via.array.size && !(o->v = calloc(v->via.array.size, a->obj->size)))
		return GW_ENOMEM;
	for (uint32_t i = 0; rc == GW_OK && i < v->via.array.size; i++, o->n++)
		rc = take_one_obj(a, &v->via.array.ptr[i], (char *)o->v + i * a->obj->size, err,
				  errlen);
	return rc;
}

#define STRMAP_KEY_MAX 128
#define STRMAP_VALUE_MAX 4096

static void free_strmap(struct cmdarg_strmap *m)
{
	for (size_t i = 0; i < 2 * m->n; i++)
		free(m->kv[i]);
	free(m->kv);
	memset(m, 0, sizeof(*m));
}

/* take_strmap - a CMDARG_STRMAP: every key and value a UTF-8 string. */
static int take_strmap(const struct cmdarg *a, const msgpack_object *v,
		       struct cmdarg_strmap *m, char *err, size_t errlen)
{
	struct cmdarg k = {a->key, CMDARG_STR, STRMAP_KEY_MAX, 0, 0, NULL};
	struct cmdarg val = {a->key, CMDARG_STR, STRMAP_VALUE_MAX, 0, 0, NULL};
	int rc = GW_OK;

	free_strmap(m);
	if (v->type != MSGPACK_OBJECT_MAP || v->via.map.size > a->max) {
		snprintf(err, errlen, "%s: expected a map of at most %zu strings", a->key, a->max);
		return GW_ETYPE;
	}
	if (v->via.map.size && !(m->kv = calloc(2 * v->via.map.size, sizeof(*m->kv))))
		return GW_ENOMEM;
	for (uint32_t i = 0; rc == GW_OK && i < v->via.map.size; i++, m->n++) {
		rc = take_str(&k, &v->via.map.ptr[i].key, &m->kv[2 * i], err, errlen);
		if (rc == GW_OK)
			rc = take_str(&val, &v->via.map.ptr[i].val, &m->kv[2 * i + 1], err, errlen);
	}
	return rc;
}

static int take(const struct cmdarg *a, const msgpack_object *v, void *base, char *err,
		size_t errlen)
{
	void *slot = (char *)base + a->offset;

	if (a->kind == CMDARG_STRMAP)
		return take_strmap(a, v, slot, err, errlen);

	if (a->kind == CMDARG_STR)
		return take_str(a, v, slot, err, errlen);
	if (a->kind == CMDARG_OBJ || a->kind == CMDARG_OBJS)
		return take_objs(a, v, slot, err, errlen);
	if (a->kind == CMDARG_BOOL) {
		if (v->type != MSGPACK_OBJECT_BOOLEAN) {
			snprintf(err, errlen, "%s: expected true or false", a->key);
			return GW_ETYPE;
		}
		*(int *)slot = v->via.boolean ? 1 : 0;
		return GW_OK;
	}
	if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		snprintf(err, errlen, "%s: expected a non-negative integer", a->key);
		return GW_ETYPE;
	}
	*(uint64_t *)slot = v->via.u64;
	return GW_OK;
}

/* given_before - the key `key` is also one of the first `i` keys of `map`. */
static int given_before(const msgpack_object *map, uint32_t i, const char *key)
{
	for (uint32_t k = 0; k < i; k++)
		if (key_is(&map->via.map.ptr[k].key, key))
			return 1;
	return 0;
}

/* missing - a required argument absent, or empty as good as absent. */
static int missing(const struct cmdarg *a, const void *base)
{
	const void *slot = (const char *)base + a->offset;

	if (a->kind == CMDARG_STR)
		return !*(char *const *)slot || !**(char *const *)slot;
	if (a->kind == CMDARG_OBJ)
		return !*(void *const *)slot;
	if (a->kind == CMDARG_OBJS)
		return ((const struct cmdarg_objs *)slot)->n == 0;
	if (a->kind == CMDARG_BOOL)
		return *(const int *)slot == 0;
	if (a->kind == CMDARG_STRMAP)
		return ((const struct cmdarg_strmap *)slot)->n == 0;
	return *(const uint64_t *)slot == 0;
}

int cmdargs_parse(const void *data, size_t len, const struct cmdarg *spec, size_t n, void *base,
		  char *err, size_t errlen)
{
	msgpack_unpacked u;
	size_t off = 0;
	int rc = GW_OK;

	msgpack_unpacked_init(&u);
	if (len == 0 || proto_msgpack_check(data, len) != GW_OK ||
	    msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    u.data.type != MSGPACK_OBJECT_MAP) {
		snprintf(err, errlen, "arguments must be one msgpack map");
		rc = GW_EPROTO;
		goto out;
	}
	for (uint32_t i = 0; rc == GW_OK && i < u.data.via.map.size; i++) {
		const msgpack_object_kv *kv = &u.data.via.map.ptr[i];

		for (size_t j = 0; rc == GW_OK && j < n; j++) {
			if (!key_is(&kv->key, spec[j].key))
				continue;
			/* Which of two values counts is not for a parser to guess:
			 * the later one would silently replace the first. */
			if (given_before(&u.data, i, spec[j].key)) {
				snprintf(err, errlen, "%s: given twice", spec[j].key);
				rc = GW_EPROTO;
			} else {
				rc = take(&spec[j], &kv->val, base, err, errlen);
			}
		}
	}
	for (size_t j = 0; rc == GW_OK && j < n; j++) {
		if (spec[j].required && missing(&spec[j], base)) {
			snprintf(err, errlen, "%s: missing", spec[j].key);
			rc = GW_EMISSING;
		}
	}
out:
	msgpack_unpacked_destroy(&u);
	return rc;
}

void cmdargs_free(const struct cmdarg *spec, size_t n, void *base)
{
	for (size_t j = 0; j < n; j++) {
		void *slot = (char *)base + spec[j].offset;

		if (spec[j].kind == CMDARG_STR) {
			free(*(char **)slot);
			*(char **)slot = NULL;
		} else if (spec[j].kind == CMDARG_OBJ || spec[j].kind == CMDARG_OBJS) {
			free_objs(&spec[j], slot);
		} else if (spec[j].kind == CMDARG_STRMAP) {
			free_strmap(slot);
		}
	}
}

/* --- answers ---------------------------------------------------------------- */

void cmdans_key(msgpack_packer *pk, const char *key)
{
	msgpack_pack_str_with_body(pk, key, strlen(key));
}

void cmdans_str(msgpack_packer *pk, const char *key, const char *val)
{
	cmdans_key(pk, key);
	if (val)
		msgpack_pack_str_with_body(pk, val, strlen(val));
	else
		msgpack_pack_nil(pk);
}

void cmdans_u64(msgpack_packer *pk, const char *key, uint64_t val)
{
	cmdans_key(pk, key);
	msgpack_pack_uint64(pk, val);
}

void cmdans_bool(msgpack_packer *pk, const char *key, int val)
{
	cmdans_key(pk, key);
	if (val)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

void cmdans_head(msgpack_packer *pk, uint32_t n, uint64_t seq, int dup)
{
	msgpack_pack_map(pk, n);
	cmdans_u64(pk, "seq", seq);
	cmdans_bool(pk, "duplicate", dup);
}

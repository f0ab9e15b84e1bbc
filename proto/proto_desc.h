/*
 * proto_desc.h - internal to proto/: the descriptor tables that schema.def
 * expands into (proto.c), and the helpers the codec (codec.c) and the JSON
 * dump (json.c) share. Nothing outside proto/ includes this file.
 *
 * A descriptor says, for one member of one struct, where it lives (offset),
 * what it is on the wire (kind, key) and how it is bounded (limit); the
 * codec walks these tables instead of naming members, so the walk is the
 * same for every object and a field added to schema.def needs no code.
 */
#ifndef GW_PROTO_DESC_H
#define GW_PROTO_DESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

enum proto_kind {
	PROTO_K_STRING,   /* char *, NULL when absent */
	PROTO_K_UINT64,   /* uint64_t, 0 when absent */
	PROTO_K_INT64,    /* int64_t, 0 when absent */
	PROTO_K_BOOL,     /* bool, false when absent */
	PROTO_K_DOUBLE,   /* double, finite, 0 when absent */
	PROTO_K_OBJECT,   /* an embedded struct, a nested map */
	PROTO_K_OBJPTR,   /* struct *, a nested map, NULL when absent */
	PROTO_K_OBJARRAY, /* struct *, size_t count at len_offset */
	PROTO_K_STRARRAY, /* char **, size_t count at len_offset */
	PROTO_K_VERSION,  /* uint32_t, always PROTO_VERSION */
	PROTO_K_TYPE,     /* enum proto_type, on the wire its name */
};

/* Each string of a STRARRAY is a provider id, bounded like external_id. */
#define PROTO_MAX_STRARRAY_ITEM PROTO_MAX_EXTERNAL_ID

/*
 * Most msgpack values (of any kind, at any depth) one decoded event or
 * record may hold. A full v1 event holds well under a thousand; the bound
 * caps the memory msgpack-c allocates for a hostile input (it allocates
 * 24 bytes per value up front).
 */
#define PROTO_MAX_VALUES 65536u

/* Deepest nesting of maps and arrays accepted anywhere (msgpack-c's own). */
#define PROTO_MAX_DEPTH 32u

struct proto_object;

struct proto_field {
	const char *key;
	size_t key_len;
	enum proto_kind kind;
	int required;
	size_t offset;     /* of the member in its struct */
	size_t len_offset; /* OBJARRAY, STRARRAY: of the size_t count */
	size_t limit;      /* bytes (STRING), entries (arrays); 0 = none */
	const struct proto_object *sub; /* OBJECT, OBJPTR, OBJARRAY */
	const char *const *values; /* STRING: the allowed values, NULL-ended;
				    * NULL when any string is allowed */
};

struct proto_object {
	const char *name; /* "party", ... "event" */
	size_t size;      /* sizeof the struct: array stride, bytes to zero */
	const struct proto_field *fields;
	size_t nfields;
};

/* One event type: its wire name and where its body lives. */
struct proto_event_desc {
	const char *name;
	const struct proto_object *body;
	size_t offset; /* of the body in struct proto_event */
};

/* The tables generated from schema.def (proto.c). */
extern const struct proto_object proto_obj_party;
extern const struct proto_object proto_obj_attachment;
extern const struct proto_object proto_obj_location;
extern const struct proto_object proto_obj_recipient;
extern const struct proto_object proto_obj_reaction;
extern const struct proto_object proto_obj_choice;
extern const struct proto_object proto_obj_referral;
extern const struct proto_object proto_obj_template;
extern const struct proto_object proto_obj_status_error;
extern const struct proto_object proto_obj_message;
extern const struct proto_object proto_obj_status;
extern const struct proto_object proto_obj_change;
extern const struct proto_object proto_obj_identity;
extern const struct proto_object proto_obj_ticket_ref;
extern const struct proto_object proto_obj_recent;
extern const struct proto_object proto_obj_customer;
extern const struct proto_object proto_obj_ticket;
extern const struct proto_object proto_obj_sla_alert;
extern const struct proto_object proto_obj_agent;
extern const struct proto_object proto_obj_ticket_presence;
extern const struct proto_object proto_obj_typing;
extern const struct proto_object proto_obj_merge;
extern const struct proto_object proto_obj_event;

/* proto_event_desc - the descriptor of `type`; NULL when it is invalid. */
const struct proto_event_desc *proto_event_desc(enum proto_type type);

/*
 * proto_object_clear - frees what the struct at `base` (described by `obj`)
 * owns and zeroes it.
 */
void proto_object_clear(const struct proto_object *obj, void *base);

/*
 * proto_object_decode - decodes the msgpack map `data` (`len` bytes,
 * borrowed) into the struct at `rec` described by `obj`, with the checks of
 * proto_decode (types, bounds, required fields, value sets). On error `rec`
 * is left cleared and `err` (may be NULL) says where. Free with
 * proto_object_clear. Returns proto_decode()'s codes.
 */
struct proto_error;
int proto_object_decode(const void *data, size_t len, const struct proto_object *obj, void *rec,
			struct proto_error *err);

/* proto_field_present - whether encode and JSON dump write this field. */
int proto_field_present(const struct proto_field *f, const void *base);

/*
 * proto_value_allowed - 1 when the `len` bytes at `s` are one of the
 * field's allowed values (always when it has no value set).
 */
int proto_value_allowed(const struct proto_field *f, const char *s, size_t len);

/* proto_utf8_valid - 1 when the `len` bytes at `s` are well-formed UTF-8. */
int proto_utf8_valid(const void *s, size_t len);

/*
 * proto_msgpack_scan - checks, before msgpack-c allocates anything, that
 * `data` starts with one complete msgpack value nesting at most
 * PROTO_MAX_DEPTH containers and holding at most `max_values` values, and
 * stores its length in *used. GW_OK, GW_EPROTO (truncated, invalid byte,
 * too deep) or GW_ETOOBIG (too many values).
 */
int proto_msgpack_scan(const void *data, size_t len, size_t max_values, size_t *used);

#endif

/*
 * proto.c - the schema tables generated from schema.def, the compile-time
 * checks that tie them to the structs of proto.h, event types, init and
 * clear. The codec is in codec.c, the JSON dump in json.c.
 */
#include "proto/proto.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "proto/proto_desc.h"

/*
 * Per-kind helpers for the expansions below. `sub` is pasted only for the
 * kinds that nest an object, so other lines may say `none`.
 */
#define PROTO_REQ_REQUIRED 1
#define PROTO_REQ_OPTIONAL 0

#define PROTO_SUB_STRING(sub) NULL
#define PROTO_SUB_UINT64(sub) NULL
#define PROTO_SUB_INT64(sub) NULL
#define PROTO_SUB_BOOL(sub) NULL
#define PROTO_SUB_DOUBLE(sub) NULL
#define PROTO_SUB_OBJECT(sub) &proto_obj_##sub
#define PROTO_SUB_OBJPTR(sub) &proto_obj_##sub
#define PROTO_SUB_OBJARRAY(sub) &proto_obj_##sub
#define PROTO_SUB_STRARRAY(sub) NULL
#define PROTO_SUB_VERSION(sub) NULL
#define PROTO_SUB_TYPE(sub) NULL

/* The C type each kind requires of its member. */
#define PROTO_CTYPE_STRING(sub) char *
#define PROTO_CTYPE_UINT64(sub) uint64_t
#define PROTO_CTYPE_INT64(sub) int64_t
#define PROTO_CTYPE_BOOL(sub) bool
#define PROTO_CTYPE_DOUBLE(sub) double
#define PROTO_CTYPE_OBJECT(sub) struct proto_##sub
#define PROTO_CTYPE_OBJPTR(sub) struct proto_##sub *
#define PROTO_CTYPE_OBJARRAY(sub) struct proto_##sub *
#define PROTO_CTYPE_STRARRAY(sub) char **
#define PROTO_CTYPE_VERSION(sub) uint32_t
#define PROTO_CTYPE_TYPE(sub) enum proto_type

/* Arrays carry their count in the size_t member `<member>_len`. */
#define PROTO_MEMBER(obj, m) (((struct proto_##obj *)0)->m)
#define PROTO_LENOFF_STRING(obj, m) 0
#define PROTO_LENOFF_UINT64(obj, m) 0
#define PROTO_LENOFF_INT64(obj, m) 0
#define PROTO_LENOFF_BOOL(obj, m) 0
#define PROTO_LENOFF_DOUBLE(obj, m) 0
#define PROTO_LENOFF_OBJECT(obj, m) 0
#define PROTO_LENOFF_OBJPTR(obj, m) 0
#define PROTO_LENOFF_OBJARRAY(obj, m) offsetof(struct proto_##obj, m##_len)
#define PROTO_LENOFF_STRARRAY(obj, m) offsetof(struct proto_##obj, m##_len)
#define PROTO_LENOFF_VERSION(obj, m) 0
#define PROTO_LENOFF_TYPE(obj, m) 0

#define PROTO_LENSIZE_STRING(obj, m)
#define PROTO_LENSIZE_UINT64(obj, m)
#define PROTO_LENSIZE_INT64(obj, m)
#define PROTO_LENSIZE_BOOL(obj, m)
#define PROTO_LENSIZE_DOUBLE(obj, m)
#define PROTO_LENSIZE_OBJECT(obj, m)
#define PROTO_LENSIZE_OBJPTR(obj, m)
#define PROTO_LENSIZE_OBJARRAY(obj, m) +sizeof(PROTO_MEMBER(obj, m##_len))
#define PROTO_LENSIZE_STRARRAY(obj, m) +sizeof(PROTO_MEMBER(obj, m##_len))
#define PROTO_LENSIZE_VERSION(obj, m)
#define PROTO_LENSIZE_TYPE(obj, m)

#define PROTO_LENTYPE_OK(obj, m) _Generic(PROTO_MEMBER(obj, m##_len), size_t: 1, default: 0)
#define PROTO_LENOK_STRING(obj, m) 1
#define PROTO_LENOK_UINT64(obj, m) 1
#define PROTO_LENOK_INT64(obj, m) 1
#define PROTO_LENOK_BOOL(obj, m) 1
#define PROTO_LENOK_DOUBLE(obj, m) 1
#define PROTO_LENOK_OBJECT(obj, m) 1
#define PROTO_LENOK_OBJPTR(obj, m) 1
#define PROTO_LENOK_OBJARRAY(obj, m) PROTO_LENTYPE_OK(obj, m)
#define PROTO_LENOK_STRARRAY(obj, m) PROTO_LENTYPE_OK(obj, m)
#define PROTO_LENOK_VERSION(obj, m) 1
#define PROTO_LENOK_TYPE(obj, m) 1

/*
 * The `values` column: `none`, or a PROTO_VALUES set, which becomes a
 * NULL-ended array proto_values_<name>. Sets apply to strings only.
 */
#define proto_values_none NULL
enum { proto_valueset_none = 0 };
#define PROTO_VALUES(name, ...)                                                    \
	static const char *const proto_values_##name[] = { __VA_ARGS__, NULL }; \
	enum { proto_valueset_##name = 1 };
#include "proto/schema.def"
#define PROTO_VALUES_OK(kind, values) \
	(PROTO_K_##kind == PROTO_K_STRING || !proto_valueset_##values)

/*
 * Check 1: each line names a member of the right C type (and arrays a
 * size_t count); nested objects and the envelope's own fields are required.
 */
#define PROTO_FIELD(obj, member, key, kind, req, limit, sub, values, doc)             \
	_Static_assert(_Generic(PROTO_MEMBER(obj, member), PROTO_CTYPE_##kind(sub): 1,  \
				default: 0) && PROTO_LENOK_##kind(obj, member),        \
		       "schema.def: proto_" #obj "." #member " is not of kind " #kind); \
	_Static_assert((PROTO_K_##kind != PROTO_K_OBJECT && PROTO_K_##kind != PROTO_K_VERSION && \
			PROTO_K_##kind != PROTO_K_TYPE) || PROTO_REQ_##req,            \
		       "schema.def: proto_" #obj "." #member " must be REQUIRED");     \
	_Static_assert(PROTO_VALUES_OK(kind, values),                                   \
		       "schema.def: proto_" #obj "." #member ": value sets are for strings"); \
	_Static_assert(sizeof(doc) > 1, "schema.def: proto_" #obj "." #member " needs its meaning");
#include "proto/schema.def"

/*
 * Check 2: each struct is exactly the members listed (none forgotten). The
 * structs have no padding; if one gains some, account for it here.
 */
#define PROTO_OBJECT(obj) enum { proto_bytes_##obj = 0
#define PROTO_FIELD(obj, member, key, kind, req, limit, sub, values, doc) \
	+(int)sizeof(PROTO_MEMBER(obj, member)) PROTO_LENSIZE_##kind(obj, member)
#define PROTO_END(obj) };
#include "proto/schema.def"

#define PROTO_COVERS(obj, unlisted)                                           \
	_Static_assert(proto_bytes_##obj + (unlisted) == sizeof(struct proto_##obj), \
		       "schema.def does not list every member of struct proto_" #obj)
/* email_verified and phone_verified are each followed by padding up to the
 * struct's alignment. */
PROTO_COVERS(party, 2 * (_Alignof(char *) - sizeof(bool)));
PROTO_COVERS(recipient, 0);
PROTO_COVERS(attachment, 0);
PROTO_COVERS(location, 0);
PROTO_COVERS(reaction, 0);
PROTO_COVERS(choice, 0);
PROTO_COVERS(referral, 0);
PROTO_COVERS(template, 0);
PROTO_COVERS(status_error, 0);
/* The three bools (unsupported, auto_reply, bounce) are followed by padding
 * up to the next pointer. */
PROTO_COVERS(message, _Alignof(char *) - 3 * sizeof(bool));
PROTO_COVERS(status, 0);
PROTO_COVERS(change, 0);
PROTO_COVERS(customer, 0);
PROTO_COVERS(ticket, 0);
/* verified is followed by padding up to the struct's alignment. */
PROTO_COVERS(identity, _Alignof(char *) - sizeof(bool));
PROTO_COVERS(ticket_ref, 0);
PROTO_COVERS(recent, 0);
PROTO_COVERS(sla_alert, 0);
PROTO_COVERS(agent, 0);
PROTO_COVERS(ticket_presence, 0);
PROTO_COVERS(merge, 0);
PROTO_COVERS(typing, 0);
/* The event's body union is described by PROTO_EVENT lines instead. */
PROTO_COVERS(event, sizeof(((struct proto_event *)0)->u));

#define PROTO_OBJECT(obj) +1
enum { PROTO_N_OBJECTS = 0
#include "proto/schema.def"
};
_Static_assert(PROTO_N_OBJECTS == 23, "a new object in schema.def needs a PROTO_COVERS line");

/* Check 3: every event type has a body whose struct is its union member. */
#define PROTO_EVENT(type, name, body, member)                                          \
	_Static_assert(_Generic(((struct proto_event *)0)->u.member, struct proto_##body: 1, \
				default: 0),                                           \
		       "schema.def: " name " body is not proto_event.u." #member);
#include "proto/schema.def"

#define PROTO_EVENT(type, name, body, member) +1
enum { PROTO_N_EVENTS = 0
#include "proto/schema.def"
};
_Static_assert(PROTO_N_EVENTS == PROTO_T__COUNT - 1, "schema.def must map every event type");

/* The descriptor tables. (Parameters renamed: `.key = key` would paste.) */
#define PROTO_OBJECT(obj) static const struct proto_field proto_fields_##obj[] = {
#define PROTO_FIELD(o, m, k, kd, rq, lim, sb, vals, doc)      \
	{ .key = k,                                           \
	  .key_len = sizeof(k) - 1,                           \
	  .kind = PROTO_K_##kd,                               \
	  .required = PROTO_REQ_##rq,                         \
	  .offset = offsetof(struct proto_##o, m),            \
	  .len_offset = PROTO_LENOFF_##kd(o, m),              \
	  .limit = (lim),                                     \
	  .sub = PROTO_SUB_##kd(sb),                          \
	  .values = proto_values_##vals },
#define PROTO_END(obj)                                                                  \
	};                                                                                \
	_Static_assert(sizeof(proto_fields_##obj) / sizeof(proto_fields_##obj[0]) <= 64, \
		       "decode tracks the keys of one object in a 64-bit set");          \
	const struct proto_object proto_obj_##obj = {                                    \
		.name = #obj,                                                             \
		.size = sizeof(struct proto_##obj),                                       \
		.fields = proto_fields_##obj,                                             \
		.nfields = sizeof(proto_fields_##obj) / sizeof(proto_fields_##obj[0]),    \
	};
#include "proto/schema.def"

static const struct proto_event_desc proto_events[PROTO_T__COUNT] = {
#define PROTO_EVENT(type, name, body, member) \
	[type] = { name, &proto_obj_##body, offsetof(struct proto_event, u.member) },
#include "proto/schema.def"
};

const struct proto_event_desc *proto_event_desc(enum proto_type type)
{
	if ((int)type <= PROTO_T_NONE || type >= PROTO_T__COUNT)
		return NULL;
	return &proto_events[type];
}

const char *proto_type_name(enum proto_type type)
{
	const struct proto_event_desc *d = proto_event_desc(type);

	return d ? d->name : NULL;
}

enum proto_type proto_type_parse(const char *name, size_t len)
{
	for (int t = PROTO_T_NONE + 1; t < PROTO_T__COUNT; t++) {
		const char *n = proto_events[t].name;

		if (strlen(n) == len && memcmp(n, name, len) == 0)
			return (enum proto_type)t;
	}
	return PROTO_T_NONE;
}

int proto_event_init(struct proto_event *ev, enum proto_type type)
{
	char id[33];
	int rc;

	memset(ev, 0, sizeof(*ev));
	if (!proto_event_desc(type))
		return GW_EINVAL;
	rc = gw_random_id(id);
	if (rc)
		return rc;
	ev->id = gw_strdup(id);
	if (!ev->id)
		return GW_ENOMEM;
	ev->v = PROTO_VERSION;
	ev->type = type;
	ev->ts = gw_now_ms();
	return GW_OK;
}

/* Frees one field's allocations; the caller zeroes the struct after. */
static void field_clear(const struct proto_field *f, char *base)
{
	void *p = base + f->offset;

	switch (f->kind) {
	case PROTO_K_STRING:
		free(*(char **)p);
		break;
	case PROTO_K_OBJECT:
		proto_object_clear(f->sub, p);
		break;
	case PROTO_K_OBJPTR:
		if (*(void **)p)
			proto_object_clear(f->sub, *(void **)p);
		free(*(void **)p);
		break;
	case PROTO_K_OBJARRAY: {
		char *items = *(char **)p;
		size_t n = *(size_t *)(base + f->len_offset);

		for (size_t i = 0; items && i < n; i++)
			proto_object_clear(f->sub, items + i * f->sub->size);
		free(items);
		break;
	}
	case PROTO_K_STRARRAY: {
		char **items = *(char ***)p;
		size_t n = *(size_t *)(base + f->len_offset);

		for (size_t i = 0; items && i < n; i++)
			free(items[i]);
		free(items);
		break;
	}
	default:
		break;
	}
}

void proto_object_clear(const struct proto_object *obj, void *base)
{
	for (size_t i = 0; i < obj->nfields; i++)
		field_clear(&obj->fields[i], base);
	memset(base, 0, obj->size);
}

int proto_field_present(const struct proto_field *f, const void *base)
{
	const char *p = (const char *)base + f->offset;

	switch (f->kind) {
	case PROTO_K_STRING:
		return *(char *const *)p != NULL;
	case PROTO_K_UINT64:
		return f->required || *(const uint64_t *)p != 0;
	case PROTO_K_INT64:
		return f->required || *(const int64_t *)p != 0;
	case PROTO_K_BOOL:
		return f->required || *(const bool *)p;
	case PROTO_K_DOUBLE:
		return f->required || *(const double *)p != 0.0;
	case PROTO_K_OBJPTR:
		return *(void *const *)p != NULL;
	case PROTO_K_OBJARRAY:
	case PROTO_K_STRARRAY:
		return *(const size_t *)((const char *)base + f->len_offset) != 0;
	default:
		return 1;
	}
}

int proto_value_allowed(const struct proto_field *f, const char *s, size_t len)
{
	if (!f->values)
		return 1;
	for (const char *const *v = f->values; *v; v++)
		if (strlen(*v) == len && memcmp(*v, s, len) == 0)
			return 1;
	return 0;
}

void proto_event_clear(struct proto_event *ev)
{
	const struct proto_event_desc *d;

	if (!ev)
		return;
	d = proto_event_desc(ev->type);
	if (d)
		proto_object_clear(d->body, (char *)ev + d->offset);
	proto_object_clear(&proto_obj_event, ev);
}

void proto_customer_clear(struct proto_customer *c)
{
	if (c)
		proto_object_clear(&proto_obj_customer, c);
}

void proto_ticket_clear(struct proto_ticket *t)
{
	if (t)
		proto_object_clear(&proto_obj_ticket, t);
}

void proto_agent_clear(struct proto_agent *a)
{
	if (a)
		proto_object_clear(&proto_obj_agent, a);
}

void proto_merge_clear(struct proto_merge *m)
{
	if (m)
		proto_object_clear(&proto_obj_merge, m);
}

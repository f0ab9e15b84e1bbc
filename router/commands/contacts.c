/*
 * contacts.c - the contacts.import command: a directory of known customers
 * (a CRM export, an address book), so that each is recognized on every
 * channel from their first message.
 *
 *   args     {command_id, contacts: [{ref, name?, emails?: [..], phones?:
 *            [..], identities?: [{kind, address}], attributes?: {k: v},
 *            language?}]}, at most CONTACTS_MAX contacts
 *   checks   each contact strictly (types, sizes, known keys, addresses
 *            that normalize); a contact that fails is listed as invalid
 *            with the reason and nothing of it is imported; the others are
 *   once     per command_id (routing_once): the same import again answers
 *            the first seq with duplicate true and changes nothing
 *   customer the one holding ("ref", ref), else the one any of its
 *            identities leads to (held verified: a claim leads nowhere),
 *            else a new one; its identities are registered verified
 *            (source "import"); one another customer holds verified is a
 *            conflict and stays there; one another customer only claimed
 *            is taken, and that claimer flagged a probable match
 *            (router/rules/identity.h); the name is set when the customer
 *            has none; external_ref, attributes (replaced) and language
 *            take the directory's values
 *   events   customer.created or customer.updated, only when something
 *            changed; then customer.updated of each claimer flagged
 *   answer   {seq, duplicate, created, updated, unchanged,
 *            conflicts: [{ref, kind, address, customer_id}],
 *            invalid: [{index, ref, reason}]}
 */
#include "router/router.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "proto/proto_desc.h"
#include "router/rules/identity.h"

#define CONTACTS_MAX 1000
#define CONTACT_MAX_IDS 16     /* emails, phones and identities of one contact */
#define CONTACT_MAX_KEY 64     /* an attribute's key */
#define CONTACTS_MAX_COMMAND_ID 200
#define CONTACT_REASON 192

struct contact {
	size_t index; /* in the request's array */
	char *ref, *name, *language;
	struct ident *ids; /* normalized, verified */
	size_t n_ids;
	char **attrs; /* "key=value", sorted by key */
	size_t n_attrs;
	int has_attrs; /* the contact states its attributes (maybe none) */
};

struct invalid {
	size_t index;
	char *ref; /* NULL when the contact had none readable */
	char reason[CONTACT_REASON];
};

struct conflict {
	const char *ref; /* borrowed from its contact */
	struct ident id;
	uint64_t customer_id;
};

struct import {
	char *command_id;
	const char *region; /* routing.default_region */
	struct contact *v;
	size_t n;
	struct invalid *bad;
	size_t n_bad;
	struct conflict *conf;
	size_t n_conf, cap_conf;
	uint64_t created, updated, unchanged;
};

/* --- reading one contact --------------------------------------------------- */

static int key_is(const msgpack_object *k, const char *s)
{
	return k->via.str.size == strlen(s) && memcmp(k->via.str.ptr, s, k->via.str.size) == 0;
}

/* given_before - the string key at `i` of `map` is also one of its first
 * `i` keys. A key given twice is refused rather than read twice: the
 * readers size their arrays by the value they read, so a second value
 * would be read into room made for the first. */
static int given_before(const msgpack_object *map, uint32_t i)
{
	const msgpack_object *k = &map->via.map.ptr[i].key;

	for (uint32_t j = 0; j < i; j++) {
		const msgpack_object *e = &map->via.map.ptr[j].key;

		if (e->type == MSGPACK_OBJECT_STR && e->via.str.size == k->via.str.size &&
		    memcmp(e->via.str.ptr, k->via.str.ptr, k->via.str.size) == 0)
			return 1;
	}
	return 0;
}

/* take_str - a msgpack string of at most `max` bytes, UTF-8 without NUL or
 * control characters, into a new string *out; 0 with `why` otherwise. */
static int take_str(const msgpack_object *o, const char *what, size_t max, char **out,
		    char *why, size_t whylen)
{
	if (o->type != MSGPACK_OBJECT_STR) {
		snprintf(why, whylen, "%s: expected a string", what);
		return 0;
	}
	if (o->via.str.size == 0 || o->via.str.size > max) {
		snprintf(why, whylen, "%s: expected 1 to %zu bytes", what, max);
		return 0;
	}
	for (uint32_t i = 0; i < o->via.str.size; i++) {
		unsigned char ch = (unsigned char)o->via.str.ptr[i];

		if (ch < 0x20 || ch == 0x7f) {
			snprintf(why, whylen, "%s: control characters are not allowed", what);
			return 0;
		}
	}
	if (!proto_utf8_valid(o->via.str.ptr, o->via.str.size)) {
		snprintf(why, whylen, "%s: not UTF-8 text", what);
		return 0;
	}
	free(*out);
	/* msgpack strings are not NUL-terminated: copied by length. */
	*out = malloc(o->via.str.size + 1);
	if (!*out) {
		snprintf(why, whylen, "out of memory");
		return 0;
	}
	memcpy(*out, o->via.str.ptr, o->via.str.size);
	(*out)[o->via.str.size] = '\0';
	return 1;
}

/* add_ident - normalizes (kind, address) onto the contact's identities. */
static int add_ident(struct contact *c, const char *region, const char *kind,
		     const char *address, char *why, size_t whylen)
{
	struct ident id;

	if (c->n_ids >= CONTACT_MAX_IDS) {
		snprintf(why, whylen, "more than %d emails, phones and identities",
			 CONTACT_MAX_IDS);
		return 0;
	}
	if (ident_normalize(region, kind, address, &id, why, whylen) != GW_OK)
		return 0;
	id.flags = STORE_IDENT_VERIFIED;
	for (size_t i = 0; i < c->n_ids; i++)
		if (strcmp(c->ids[i].kind, id.kind) == 0 &&
		    strcmp(c->ids[i].address, id.address) == 0)
			return 1; /* said twice, e.g. two spellings of one number */
	c->ids[c->n_ids++] = id;
	return 1;
}

/* take_addresses - emails or phones: an array of address strings. */
static int take_addresses(struct contact *c, const char *region, const char *kind,
			  const msgpack_object *o, char *why, size_t whylen)
{
	char *s = NULL;
	int ok = o->type == MSGPACK_OBJECT_ARRAY;

	if (!ok)
		snprintf(why, whylen, "%ss: expected an array of strings", kind);
	for (uint32_t i = 0; ok && i < o->via.array.size; i++) {
		ok = take_str(&o->via.array.ptr[i], kind, PROTO_MAX_ADDRESS, &s, why, whylen) &&
		     add_ident(c, region, kind, s, why, whylen);
	}
	free(s);
	return ok;
}

/* take_identity - one {kind, address} map, and nothing else. */
static int take_identity(struct contact *c, const char *region, const msgpack_object *o,
			 char *why, size_t whylen)
{
	char *kind = NULL, *address = NULL;
	int ok = o->type == MSGPACK_OBJECT_MAP;

	if (!ok)
		snprintf(why, whylen, "identities: expected {kind, address} maps");
	for (uint32_t i = 0; ok && i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];

		if (kv->key.type == MSGPACK_OBJECT_STR && given_before(o, i)) {
			snprintf(why, whylen, "identities.%.*s: given twice",
				 (int)kv->key.via.str.size, kv->key.via.str.ptr);
			ok = 0;
		} else if (kv->key.type == MSGPACK_OBJECT_STR && key_is(&kv->key, "kind"))
			ok = take_str(&kv->val, "identities.kind", PROTO_MAX_CHANNEL, &kind, why,
				      whylen);
		else if (kv->key.type == MSGPACK_OBJECT_STR && key_is(&kv->key, "address"))
			ok = take_str(&kv->val, "identities.address", PROTO_MAX_ADDRESS,
				      &address, why, whylen);
		else {
			snprintf(why, whylen, "identities: only kind and address are allowed");
			ok = 0;
		}
	}
	if (ok && (!kind || !address)) {
		snprintf(why, whylen, "identities: kind and address are required");
		ok = 0;
	}
	if (ok)
		ok = add_ident(c, region, kind, address, why, whylen);
	free(kind);
	free(address);
	return ok;
}

static int take_identities(struct contact *c, const char *region, const msgpack_object *o,
			   char *why, size_t whylen)
{
	if (o->type != MSGPACK_OBJECT_ARRAY) {
		snprintf(why, whylen, "identities: expected an array");
		return 0;
	}
	for (uint32_t i = 0; i < o->via.array.size; i++)
		if (!take_identity(c, region, &o->via.array.ptr[i], why, whylen))
			return 0;
	return 1;
}

/* attr_key_ok - a key that reads back from "key=value". */
static int attr_key_ok(const char *k)
{
	return k[0] && !strchr(k, '=') && strlen(k) <= CONTACT_MAX_KEY;
}

static int attr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* take_attr - one key: value pair as "key=value" on the contact. */
static int take_attr(struct contact *c, const msgpack_object_kv *kv, char *why, size_t whylen)
{
	char *k = NULL, *v = NULL, *s = NULL;
	size_t len;
	int ok = take_str(&kv->key, "attributes key", CONTACT_MAX_KEY, &k, why, whylen) &&
		 take_str(&kv->val, "attributes value", PROTO_MAX_EXTERNAL_ID, &v, why, whylen);

	if (ok && !attr_key_ok(k)) {
		snprintf(why, whylen, "attributes: '%s' is not a key (no '=')", k);
		ok = 0;
	}
	len = ok ? strlen(k) + 1 + strlen(v) : 0;
	if (ok && len > PROTO_MAX_EXTERNAL_ID) {
		snprintf(why, whylen, "attributes: %s=...: longer than %d bytes", k,
			 PROTO_MAX_EXTERNAL_ID);
		ok = 0;
	}
	if (ok && !(s = malloc(len + 1))) {
		snprintf(why, whylen, "out of memory");
		ok = 0;
	}
	if (ok) {
		size_t kl = strlen(k);

		memcpy(s, k, kl);
		s[kl] = '=';
		memcpy(s + kl + 1, v, strlen(v) + 1);
		c->attrs[c->n_attrs++] = s;
	}
	free(k);
	free(v);
	return ok;
}

static int take_attrs(struct contact *c, const msgpack_object *o, char *why, size_t whylen)
{
	if (o->type != MSGPACK_OBJECT_MAP) {
		snprintf(why, whylen, "attributes: expected a map of strings");
		return 0;
	}
	if (o->via.map.size > PROTO_MAX_ATTRIBUTES) {
		snprintf(why, whylen, "attributes: more than %d", PROTO_MAX_ATTRIBUTES);
		return 0;
	}
	c->has_attrs = 1;
	c->attrs = calloc(o->via.map.size + 1, sizeof(*c->attrs));
	if (!c->attrs) {
		snprintf(why, whylen, "out of memory");
		return 0;
	}
	for (uint32_t i = 0; i < o->via.map.size; i++)
		if (!take_attr(c, &o->via.map.ptr[i], why, whylen))
			return 0;
	qsort(c->attrs, c->n_attrs, sizeof(*c->attrs), attr_cmp);
	for (size_t i = 1; i < c->n_attrs; i++) {
		size_t kl = strcspn(c->attrs[i], "=");

		if (kl == strcspn(c->attrs[i - 1], "=") &&
		    memcmp(c->attrs[i], c->attrs[i - 1], kl) == 0) {
			snprintf(why, whylen, "attributes: key '%.*s' given twice", (int)kl,
				 c->attrs[i]);
			return 0;
		}
	}
	return 1;
}

/* language_ok - a language tag: letters, digits and '-' ("en", "pt-BR"). */
static int language_ok(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return 0;
	return isalpha((unsigned char)s[0]);
}

/* take_field - one key of a contact map. */
static int take_field(struct contact *c, const char *region, const msgpack_object_kv *kv,
		      char *why, size_t whylen)
{
	const msgpack_object *k = &kv->key, *v = &kv->val;

	if (k->type != MSGPACK_OBJECT_STR) {
		snprintf(why, whylen, "keys must be strings");
		return 0;
	}
	if (key_is(k, "ref"))
		return take_str(v, "ref", PROTO_MAX_EXTERNAL_ID, &c->ref, why, whylen);
	if (key_is(k, "name"))
		return take_str(v, "name", PROTO_MAX_NAME, &c->name, why, whylen);
	if (key_is(k, "language")) {
		if (!take_str(v, "language", PROTO_MAX_KIND, &c->language, why, whylen))
			return 0;
		if (language_ok(c->language))
			return 1;
		snprintf(why, whylen, "language: '%s' is not a language tag", c->language);
		return 0;
	}
	if (key_is(k, "emails"))
		return take_addresses(c, region, IDENT_KIND_EMAIL, v, why, whylen);
	if (key_is(k, "phones"))
		return take_addresses(c, region, IDENT_KIND_PHONE, v, why, whylen);
	if (key_is(k, "identities"))
		return take_identities(c, region, v, why, whylen);
	if (key_is(k, "attributes"))
		return take_attrs(c, v, why, whylen);
	/* The key is the sender's bytes: named only when it is text. */
	if (proto_utf8_valid(k->via.str.ptr, k->via.str.size))
		snprintf(why, whylen, "unknown key '%.*s'",
			 (int)(k->via.str.size > 40 ? 40 : k->via.str.size), k->via.str.ptr);
	else
		snprintf(why, whylen, "unknown key (not UTF-8 text)");
	gw_utf8_trim(why);
	return 0;
}

static void contact_clear(struct contact *c)
{
	free(c->ref);
	free(c->name);
	free(c->language);
	free(c->ids);
	for (size_t i = 0; i < c->n_attrs; i++)
		free(c->attrs[i]);
	free(c->attrs);
	memset(c, 0, sizeof(*c));
}

/* read_contact - one entry of the array into `c`; 0 with `why` when the
 * contact is invalid (c keeps its ref, if read, for the report). */
static int read_contact(struct contact *c, const char *region, const msgpack_object *o,
			char *why, size_t whylen)
{
	if (o->type != MSGPACK_OBJECT_MAP) {
		snprintf(why, whylen, "a contact must be a map");
		return 0;
	}
	c->ids = calloc(CONTACT_MAX_IDS, sizeof(*c->ids));
	if (!c->ids) {
		snprintf(why, whylen, "out of memory");
		return 0;
	}
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key;

		if (k->type == MSGPACK_OBJECT_STR && given_before(o, i)) {
			/* Only known keys come this far: a second is the first. */
			snprintf(why, whylen, "%.*s: given twice", (int)k->via.str.size,
				 k->via.str.ptr);
			return 0;
		}
		if (!take_field(c, region, &o->via.map.ptr[i], why, whylen))
			return 0;
	}
	if (!c->ref) {
		snprintf(why, whylen, "ref: missing");
		return 0;
	}
	if (c->n_ids == 0) {
		snprintf(why, whylen, "no email, phone or identity to recognize the contact by");
		return 0;
	}
	return 1;
}

/* --- reading the request ------------------------------------------------------ */

/* add_invalid - lists contact `index` as invalid, taking its ref. */
static void add_invalid(struct import *im, size_t index, struct contact *c, const char *why)
{
	struct invalid *e = &im->bad[im->n_bad++];

	e->index = index;
	e->ref = c->ref;
	c->ref = NULL;
	snprintf(e->reason, sizeof(e->reason), "%s", why);
	/* Reasons quote the sender's text with byte limits: the answer must
	 * stay UTF-8 for its reader. */
	gw_utf8_trim(e->reason);
	contact_clear(c);
}

/* read_contacts - the contacts array `arr` into im->v and im->bad. */
static int read_contacts(struct import *im, const msgpack_object *arr, char *err, size_t errlen)
{
	char why[CONTACT_REASON];

	if (arr->type != MSGPACK_OBJECT_ARRAY) {
		snprintf(err, errlen, "contacts: expected an array");
		return GW_ETYPE;
	}
	if (arr->via.array.size == 0) {
		snprintf(err, errlen, "contacts: empty");
		return GW_EMISSING;
	}
	if (arr->via.array.size > CONTACTS_MAX) {
		snprintf(err, errlen, "contacts: more than %d in one request", CONTACTS_MAX);
		return GW_ETOOBIG;
	}
	im->v = calloc(arr->via.array.size, sizeof(*im->v));
	im->bad = calloc(arr->via.array.size, sizeof(*im->bad));
	if (!im->v || !im->bad)
		return GW_ENOMEM;
	for (uint32_t i = 0; i < arr->via.array.size; i++) {
		struct contact *c = &im->v[im->n];

		c->index = i;
		if (read_contact(c, im->region, &arr->via.array.ptr[i], why, sizeof(why)))
			im->n++;
		else
			add_invalid(im, i, c, why);
	}
	return GW_OK;
}

static const struct cmdarg import_args[] = {
	{"command_id", CMDARG_STR, CONTACTS_MAX_COMMAND_ID, 1, offsetof(struct import, command_id)},
};
#define N_IMPORT_ARGS (sizeof(import_args) / sizeof(import_args[0]))

/* read_request - command_id and the contacts from the msgpack `args`. */
static int read_request(struct import *im, const void *args, size_t len, char *err,
			size_t errlen)
{
	msgpack_unpacked u;
	size_t off = 0;
	int rc, found = 0;

	rc = cmdargs_parse(args, len, import_args, N_IMPORT_ARGS, im, err, errlen);
	if (rc)
		return rc;
	msgpack_unpacked_init(&u);
	/* cmdargs_parse checked the bytes: one map. */
	if (msgpack_unpack_next(&u, args, len, &off) != MSGPACK_UNPACK_SUCCESS) {
		msgpack_unpacked_destroy(&u);
		snprintf(err, errlen, "arguments must be one msgpack map");
		return GW_EPROTO;
	}
	for (uint32_t i = 0; rc == GW_OK && i < u.data.via.map.size; i++) {
		const msgpack_object_kv *kv = &u.data.via.map.ptr[i];

		if (kv->key.type != MSGPACK_OBJECT_STR || !key_is(&kv->key, "contacts"))
			continue;
		if (found) {
			/* A second array would be read into the first one's room. */
			snprintf(err, errlen, "contacts: given twice");
			rc = GW_EPROTO;
		} else {
			found = 1;
			rc = read_contacts(im, &kv->val, err, errlen);
		}
	}
	msgpack_unpacked_destroy(&u);
	if (rc == GW_OK && !found) {
		snprintf(err, errlen, "contacts: missing");
		rc = GW_EMISSING;
	}
	return rc;
}

static void import_free(struct import *im)
{
	for (size_t i = 0; i < im->n; i++)
		contact_clear(&im->v[i]);
	for (size_t i = 0; i < im->n_bad; i++)
		free(im->bad[i].ref);
	free(im->v);
	free(im->bad);
	free(im->conf);
	cmdargs_free(import_args, N_IMPORT_ARGS, im);
}

/* --- applying a contact --------------------------------------------------------- */

static int add_conflict(struct import *im, const struct contact *c, const struct ident *id,
			uint64_t customer_id)
{
	if (im->n_conf == im->cap_conf) {
		size_t cap = im->cap_conf ? im->cap_conf * 2 : 16;
		struct conflict *v = realloc(im->conf, cap * sizeof(*v));

		if (!v)
			return GW_ENOMEM;
		im->conf = v;
		im->cap_conf = cap;
	}
	im->conf[im->n_conf++] = (struct conflict){c->ref, *id, customer_id};
	return GW_OK;
}

/* find_contact - the customer the contact's ref, else its identities,
 * lead to (held verified); 0 when none. */
static int find_contact(struct batch *b, const struct contact *c, const struct ident *ref,
			uint64_t *id)
{
	int rc = ident_find(b, ref, id);

	for (size_t i = 0; rc == GW_ENOTFOUND && i < c->n_ids; i++)
		rc = ident_find(b, &c->ids[i], id);
	if (rc == GW_ENOTFOUND) {
		*id = 0;
		rc = GW_OK;
	}
	return rc;
}

/* set_str - *dst becomes a copy of `val` when it differs; *changed. */
static int set_str(char **dst, const char *val, int *changed)
{
	char *s;

	if (!val || (*dst && strcmp(*dst, val) == 0))
		return GW_OK;
	s = gw_strdup(val);
	if (!s)
		return GW_ENOMEM;
	free(*dst);
	*dst = s;
	*changed = 1;
	return GW_OK;
}

/* set_attrs - the directory's attributes replace the customer's. */
static int set_attrs(struct proto_customer *cu, const struct contact *c, int *changed)
{
	char **v = NULL;
	size_t i;

	if (!c->has_attrs)
		return GW_OK;
	if (cu->attributes_len == c->n_attrs) {
		for (i = 0; i < c->n_attrs && strcmp(cu->attributes[i], c->attrs[i]) == 0; i++)
			;
		if (i == c->n_attrs)
			return GW_OK;
	}
	if (c->n_attrs && !(v = calloc(c->n_attrs, sizeof(*v))))
		return GW_ENOMEM;
	for (i = 0; i < c->n_attrs; i++) {
		v[i] = gw_strdup(c->attrs[i]);
		if (!v[i]) {
			while (i--)
				free(v[i]);
			free(v);
			return GW_ENOMEM;
		}
	}
	for (i = 0; i < cu->attributes_len; i++)
		free(cu->attributes[i]);
	free(cu->attributes);
	cu->attributes = v;
	cu->attributes_len = c->n_attrs;
	*changed = 1;
	return GW_OK;
}

/* apply_fields - name (when none), external_ref, attributes, language. */
static int apply_fields(struct proto_customer *cu, const struct contact *c, int *changed)
{
	int rc = GW_OK;

	if (!cu->name && c->name)
		rc = set_str(&cu->name, c->name, changed);
	if (rc == GW_OK)
		rc = set_str(&cu->external_ref, c->ref, changed);
	if (rc == GW_OK)
		rc = set_str(&cu->language, c->language, changed);
	return rc == GW_OK ? set_attrs(cu, c, changed) : rc;
}

/* What attach_contact met for the ref and for each of c->ids. */
struct contact_clashes {
	struct ident_clash ref, ids[CONTACT_MAX_IDS];
};

/* attach_contact - the ref and every identity of the contact join `cu`;
 * those another customer holds are conflicts, except claims it took. */
static int attach_contact(struct batch *b, struct import *im, struct proto_customer *cu,
			  const struct contact *c, const struct ident *ref, int *changed,
			  struct contact_clashes *k)
{
	int rc = ident_attach(b, cu, ref, IDENT_SRC_IMPORT, changed, &k->ref);

	if (rc == GW_OK && k->ref.holder && !k->ref.taken)
		rc = add_conflict(im, c, ref, k->ref.customer);
	for (size_t i = 0; rc == GW_OK && i < c->n_ids; i++) {
		rc = ident_attach(b, cu, &c->ids[i], IDENT_SRC_IMPORT, changed, &k->ids[i]);
		if (rc == GW_OK && k->ids[i].holder && !k->ids[i].taken)
			rc = add_conflict(im, c, &c->ids[i], k->ids[i].customer);
	}
	return rc;
}

/* claims_settle - the claimers of what the contact took learn it. */
static int claims_settle(struct batch *b, const struct proto_customer *cu,
			 const struct contact *c, const struct ident *ref,
			 const struct contact_clashes *k)
{
	int rc = ident_claim_taken(b, &k->ref, ref, cu->customer_id);

	for (size_t i = 0; rc == GW_OK && i < c->n_ids; i++)
		rc = ident_claim_taken(b, &k->ids[i], &c->ids[i], cu->customer_id);
	return rc;
}

/* import_one - contact `c` into the store; counts what happened. */
static int import_one(struct batch *b, struct import *im, const struct contact *c)
{
	struct proto_customer cu;
	struct contact_clashes k;
	struct ident ref;
	uint64_t id;
	int rc, changed = 0, created = 0;

	memset(&cu, 0, sizeof(cu));
	memset(&k, 0, sizeof(k));
	rc = ident_make(&ref, IDENT_KIND_REF, c->ref, STORE_IDENT_VERIFIED);
	if (rc == GW_OK)
		rc = find_contact(b, c, &ref, &id);
	if (rc == GW_OK && id)
		rc = store_customer_get(b->txn, id, &cu);
	else if (rc == GW_OK) {
		rc = ident_customer_new(b, c->ids[0].kind, c->ids[0].address, c->name, &cu);
		created = 1;
	}
	if (rc == GW_OK)
		rc = attach_contact(b, im, &cu, c, &ref, &changed, &k);
	if (rc == GW_OK)
		rc = apply_fields(&cu, c, &changed);
	if (rc || (!created && !changed)) {
		im->unchanged += rc == GW_OK;
		goto out;
	}
	if (!created)
		cu.updated_at = gw_now_ms();
	rc = store_customer_put(b->txn, &cu);
	if (rc == GW_OK)
		rc = route_emit_customer(b, created ? PROTO_T_CUSTOMER_CREATED
						    : PROTO_T_CUSTOMER_UPDATED, &cu);
	if (rc == GW_OK)
		rc = claims_settle(b, &cu, c, &ref, &k);
	if (rc == GW_OK && created)
		im->created++;
	else if (rc == GW_OK)
		im->updated++;
out:
	proto_customer_clear(&cu);
	return rc;
}

static int import_txn(struct batch *b, void *arg)
{
	struct import *im = arg;
	int rc = GW_OK;

	/* A retried transaction starts again from nothing. */
	im->created = im->updated = im->unchanged = 0;
	im->n_conf = 0;
	for (size_t i = 0; rc == GW_OK && i < im->n; i++)
		rc = import_one(b, im, &im->v[i]);
	return rc;
}

/* --- the answer ----------------------------------------------------------------- */

static void pack_answer(const struct import *im, uint64_t seq, int dup, msgpack_sbuffer *out)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	cmdans_head(&pk, 7, seq, dup);
	cmdans_u64(&pk, "created", im->created);
	cmdans_u64(&pk, "updated", im->updated);
	cmdans_u64(&pk, "unchanged", im->unchanged);
	cmdans_key(&pk, "conflicts");
	msgpack_pack_array(&pk, (uint32_t)im->n_conf);
	for (size_t i = 0; i < im->n_conf; i++) {
		msgpack_pack_map(&pk, 4);
		cmdans_str(&pk, "ref", im->conf[i].ref);
		cmdans_str(&pk, "kind", im->conf[i].id.kind);
		cmdans_str(&pk, "address", im->conf[i].id.address);
		cmdans_u64(&pk, "customer_id", im->conf[i].customer_id);
	}
	cmdans_key(&pk, "invalid");
	msgpack_pack_array(&pk, (uint32_t)im->n_bad);
	for (size_t i = 0; i < im->n_bad; i++) {
		msgpack_pack_map(&pk, 3);
		cmdans_u64(&pk, "index", im->bad[i].index);
		cmdans_str(&pk, "ref", im->bad[i].ref);
		cmdans_str(&pk, "reason", im->bad[i].reason);
	}
}

int contacts_import(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
		    char *err, size_t errlen)
{
	const struct routing *rt = router_routing(r);
	struct import im;
	uint64_t seq = 0;
	int rc, dup = 0;

	memset(&im, 0, sizeof(im));
	im.region = rt && rt->cfg ? rt->cfg->default_region : NULL;
	rc = read_request(&im, args, len, err, errlen);
	if (rc == GW_OK && im.n)
		rc = routing_once(r, im.command_id, import_txn, &im, &seq, &dup);
	if (rc == GW_OK && dup)
		im.created = im.updated = im.unchanged = im.n_conf = 0;
	if (rc == GW_OK)
		pack_answer(&im, seq, dup, out);
	else if (!err[0] || rc == GW_ENOMEM || rc == GW_ESTORE)
		snprintf(err, errlen, "contacts.import failed: %s", gw_strerror(rc));
	import_free(&im);
	return rc;
}

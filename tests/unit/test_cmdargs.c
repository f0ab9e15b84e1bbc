/*
 * test_cmdargs.c - command arguments as the network may send them: keys
 * given twice (cmdargs_parse, contacts.import) and texts cut inside a
 * character (customer.unmerge), on a real router store. Arguments are
 * packed with msgpack_pack_* calls, since JSON cannot repeat a key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <msgpack.h>

#include "core/err.h"
#include "router/router.h"
#include "store/store.h"

#define FX_NAME "cmdargs"
#include "tests/unit/router_fixture.h"
#include "routing_defaults.h"

/* --- packing ------------------------------------------------------------------ */

static void pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void pk_kv(msgpack_packer *pk, const char *k, const char *v)
{
	pk_str(pk, k);
	pk_str(pk, v);
}

/* pk_contact - {ref, emails: [email]}, `extra` more entries to follow. */
static void pk_contact(msgpack_packer *pk, const char *ref, const char *email, uint32_t extra)
{
	msgpack_pack_map(pk, 2 + extra);
	pk_kv(pk, "ref", ref);
	pk_str(pk, "emails");
	msgpack_pack_array(pk, 1);
	pk_str(pk, email);
}

/* run - `fn` on the packed `in`; the answer as JSON in *answer (NULL on
 * error) and the error text in err. */
static int run(struct fx *f, routing_cmd_fn fn, const msgpack_sbuffer *in, json_t **answer,
	       char *err, size_t errlen)
{
	msgpack_sbuffer out;
	int rc;

	msgpack_sbuffer_init(&out);
	err[0] = '\0';
	rc = fn(f->r, in->data, in->size, &out, err, errlen);
	*answer = rc == GW_OK ? proto_json_from_msgpack(out.data, out.size) : NULL;
	if (rc == GW_OK)
		assert_non_null(*answer);
	msgpack_sbuffer_destroy(&out);
	return rc;
}

/* invalid_reason - the reason of the only invalid contact of `a`. */
static const char *invalid_reason(json_t *a)
{
	json_t *bad = json_object_get(a, "invalid");

	assert_int_equal(json_array_size(bad), 1);
	return json_string_value(json_object_get(json_array_get(bad, 0), "reason"));
}

/* --- cmdargs_parse -------------------------------------------------------------- */

struct two {
	char *name;
	uint64_t n;
};

static const struct cmdarg two_spec[] = {
	{"name", CMDARG_STR, 100, 1, offsetof(struct two, name)},
	{"n", CMDARG_UINT, 0, 0, offsetof(struct two, n)},
};

/* parse_two - {key1: v, key2: v, "name": "x"} through two_spec. */
static int parse_two(const char *key1, const char *key2, char *err, size_t errlen)
{
	msgpack_sbuffer b;
	msgpack_packer pk;
	struct two t = {NULL, 0};
	int rc;

	msgpack_sbuffer_init(&b);
	msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	pk_str(&pk, key1);
	msgpack_pack_uint64(&pk, 1);
	pk_str(&pk, key2);
	msgpack_pack_uint64(&pk, 2);
	pk_kv(&pk, "name", "x");
	err[0] = '\0';
	rc = cmdargs_parse(b.data, b.size, two_spec, 2, &t, err, errlen);
	cmdargs_free(two_spec, 2, &t);
	msgpack_sbuffer_destroy(&b);
	return rc;
}

static void test_cmdargs_key_twice(void **state)
{
	msgpack_sbuffer b;
	msgpack_packer pk;
	struct two t = {NULL, 0};
	char err[128];

	(void)state;
	/* A key of the specs twice: refused, whichever value would win. */
	assert_int_equal(parse_two("n", "n", err, sizeof(err)), GW_EPROTO);
	assert_string_equal(err, "n: given twice");
	msgpack_sbuffer_init(&b);
	msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	pk_kv(&pk, "name", "first");
	pk_kv(&pk, "name", "second");
	assert_int_equal(cmdargs_parse(b.data, b.size, two_spec, 2, &t, err, sizeof(err)),
			 GW_EPROTO);
	assert_string_equal(err, "name: given twice");
	cmdargs_free(two_spec, 2, &t);
	msgpack_sbuffer_destroy(&b);
	/* Unknown keys are ignored, even twice; distinct keys are fine. */
	assert_int_equal(parse_two("other", "other", err, sizeof(err)), GW_OK);
	assert_int_equal(parse_two("n", "other", err, sizeof(err)), GW_OK);
}

/* --- contacts.import ------------------------------------------------------------ */

/* A second "attributes" map, smaller than the first, in one contact: it
 * would be read into room made for its own size after the first's. */
static void test_import_attributes_twice(void **state)
{
	msgpack_sbuffer b;
	msgpack_packer pk;
	char err[256];
	json_t *a = NULL;
	struct fx f;

	(void)state;
	fx_open(&f);
	msgpack_sbuffer_init(&b);
	msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	pk_kv(&pk, "command_id", "imp-attrs");
	pk_str(&pk, "contacts");
	msgpack_pack_array(&pk, 2);
	pk_contact(&pk, "c-1", "ana@example.com", 2);
	pk_str(&pk, "attributes");
	msgpack_pack_map(&pk, 3);
	pk_kv(&pk, "a", "1");
	pk_kv(&pk, "b", "2");
	pk_kv(&pk, "c", "3");
	pk_str(&pk, "attributes");
	msgpack_pack_map(&pk, 1);
	pk_kv(&pk, "d", "4");
	pk_contact(&pk, "c-2", "bob@example.com", 0);
	assert_int_equal(run(&f, contacts_import, &b, &a, err, sizeof(err)), GW_OK);
	/* That contact is invalid; the other one is imported. */
	assert_string_equal(invalid_reason(a), "attributes: given twice");
	assert_int_equal(json_integer_value(json_object_get(a, "created")), 1);
	json_decref(a);
	msgpack_sbuffer_destroy(&b);
	fx_close(&f);
}

/* Other keys of a contact, and of an identity, given twice. */
static void test_import_field_twice(void **state)
{
	msgpack_sbuffer b;
	msgpack_packer pk;
	char err[256];
	json_t *a = NULL;
	struct fx f;

	(void)state;
	fx_open(&f);
	msgpack_sbuffer_init(&b);
	msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	pk_kv(&pk, "command_id", "imp-ref");
	pk_str(&pk, "contacts");
	msgpack_pack_array(&pk, 1);
	pk_contact(&pk, "c-1", "ana@example.com", 1);
	pk_kv(&pk, "ref", "c-9");
	assert_int_equal(run(&f, contacts_import, &b, &a, err, sizeof(err)), GW_OK);
	assert_string_equal(invalid_reason(a), "ref: given twice");
	json_decref(a);
	msgpack_sbuffer_clear(&b);
	msgpack_pack_map(&pk, 2);
	pk_kv(&pk, "command_id", "imp-id");
	pk_str(&pk, "contacts");
	msgpack_pack_array(&pk, 1);
	pk_contact(&pk, "c-1", "ana@example.com", 1);
	pk_str(&pk, "identities");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 3);
	pk_kv(&pk, "kind", "email");
	pk_kv(&pk, "address", "ana2@example.com");
	pk_kv(&pk, "kind", "phone");
	assert_int_equal(run(&f, contacts_import, &b, &a, err, sizeof(err)), GW_OK);
	assert_string_equal(invalid_reason(a), "identities.kind: given twice");
	json_decref(a);
	msgpack_sbuffer_destroy(&b);
	fx_close(&f);
}

/* A second "contacts" array, shorter than the first: it would be read into
 * room made for its own size after the first's contacts. Also command_id
 * twice, refused by cmdargs_parse. */
static void test_import_request_key_twice(void **state)
{
	msgpack_sbuffer b;
	msgpack_packer pk;
	char err[256];
	json_t *a = NULL;
	struct fx f;
	uint64_t head;

	(void)state;
	fx_open(&f);
	head = router_head(f.r);
	msgpack_sbuffer_init(&b);
	msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	pk_kv(&pk, "command_id", "imp-twice");
	pk_str(&pk, "contacts");
	msgpack_pack_array(&pk, 3);
	pk_contact(&pk, "c-1", "ana@example.com", 0);
	pk_contact(&pk, "c-2", "bob@example.com", 0);
	pk_contact(&pk, "c-3", "cy@example.com", 0);
	pk_str(&pk, "contacts");
	msgpack_pack_array(&pk, 1);
	pk_contact(&pk, "c-4", "dee@example.com", 0);
	assert_int_equal(run(&f, contacts_import, &b, &a, err, sizeof(err)), GW_EPROTO);
	assert_string_equal(err, "contacts: given twice");
	assert_int_equal(router_head(f.r), head);
	msgpack_sbuffer_clear(&b);
	msgpack_pack_map(&pk, 3);
	pk_kv(&pk, "command_id", "imp-a");
	pk_kv(&pk, "command_id", "imp-b");
	pk_str(&pk, "contacts");
	msgpack_pack_array(&pk, 1);
	pk_contact(&pk, "c-1", "ana@example.com", 0);
	assert_int_equal(run(&f, contacts_import, &b, &a, err, sizeof(err)), GW_EPROTO);
	assert_string_equal(err, "command_id: given twice");
	assert_int_equal(router_head(f.r), head);
	msgpack_sbuffer_destroy(&b);
	fx_close(&f);
}

/* --- customer.unmerge ----------------------------------------------------------- */

static int route_txn(struct batch *b, void *arg)
{
	enum route_result res;

	return route_event(b, arg, &res);
}

/* msg - routes an inbound mail from `from`; returns its customer id. */
static uint64_t msg(struct fx *f, const char *ext, const char *from)
{
	struct proto_event ev;
	uint64_t id;

	assert_int_equal(proto_event_init(&ev, PROTO_T_MESSAGE_RECEIVED), GW_OK);
	ev.u.message.channel = strdup("email");
	ev.u.message.account = strdup("acct");
	ev.u.message.external_id = strdup(ext);
	ev.u.message.received_at = 1700000000000;
	ev.u.message.from.address = strdup(from);
	ev.u.message.text = strdup(ext);
	assert_int_equal(router_txn(f->r, route_txn, &ev), GW_OK);
	id = ev.u.message.customer_id;
	assert_int_not_equal(id, 0);
	proto_event_clear(&ev);
	return id;
}

/* The unmerge record's cause quotes 40 bytes of the command id: with
 * two-byte characters after one ASCII byte, the 40th byte is the first
 * half of a character, which must not reach the record or the event. */
static void test_unmerge_command_id_cut_in_a_character(void **state)
{
	char id[64], want[64], err[256];
	msgpack_sbuffer b;
	msgpack_packer pk;
	struct store_txn *txn;
	struct proto_merge m;
	struct proto_event ev;
	json_t *a = NULL;
	struct fx f;
	uint64_t src, dst, mid, seq;

	(void)state;
	fx_open(&f);
	src = msg(&f, "<a1@x>", "ana@example.com");
	dst = msg(&f, "<b1@x>", "bob@example.com");
	msgpack_sbuffer_init(&b);
	msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	pk_kv(&pk, "command_id", "m-1");
	pk_str(&pk, "source_id");
	msgpack_pack_uint64(&pk, src);
	pk_str(&pk, "target_id");
	msgpack_pack_uint64(&pk, dst);
	assert_int_equal(run(&f, merge_customers, &b, &a, err, sizeof(err)), GW_OK);
	mid = (uint64_t)json_integer_value(json_object_get(a, "merge_id"));
	json_decref(a);
	/* "u" and twenty e-acute: 41 bytes. */
	id[0] = 'u';
	for (int i = 0; i < 20; i++)
		memcpy(id + 1 + 2 * i, "\xc3\xa9", 2);
	id[41] = '\0';
	msgpack_sbuffer_clear(&b);
	msgpack_pack_map(&pk, 2);
	pk_kv(&pk, "command_id", id);
	pk_str(&pk, "merge_id");
	msgpack_pack_uint64(&pk, mid);
	if (run(&f, merge_undo, &b, &a, err, sizeof(err)) != GW_OK)
		fail_msg("customer.unmerge: %s", err);
	seq = (uint64_t)json_integer_value(json_object_get(a, "seq"));
	json_decref(a);
	msgpack_sbuffer_destroy(&b);
	/* The cause keeps the nineteen whole characters. */
	snprintf(want, sizeof(want), "unmerge: command %.39s", id);
	assert_int_equal(store_txn_begin(router_store(f.r), 1, &txn), GW_OK);
	memset(&m, 0, sizeof(m));
	assert_int_equal(store_merge_get(txn, mid, &m), GW_OK);
	assert_string_equal(m.cause, want);
	proto_merge_clear(&m);
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(store_eventlog_decode(txn, seq, &ev), GW_OK);
	assert_int_equal(ev.type, PROTO_T_CUSTOMER_UNMERGED);
	assert_string_equal(ev.u.merge.cause, want);
	proto_event_clear(&ev);
	store_txn_abort(txn);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmdargs_key_twice),
		cmocka_unit_test(test_import_attributes_twice),
		cmocka_unit_test(test_import_field_twice),
		cmocka_unit_test(test_import_request_key_twice),
		cmocka_unit_test(test_unmerge_command_id_cut_in_a_character),
	};
	char err[256];
	int failed;

	/* The routing defaults, without language models. */
	if (routing_defaults_no_lang(&routing_cfg, err, sizeof(err)) != GW_OK)
		return 1;
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	gw_config_routing_free(&routing_cfg);
	return failed;
}

/*
 * test_proto.c - event schema v1: round trips of every event type and
 * record, the JSON dump, and every way strict decode and encode refuse.
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

#include "gateway/err.h"
#include "proto/proto.h"

static const struct proto_event zero_event;

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

/* A message.received with every field set. */
static void build_message(struct proto_event *ev)
{
	struct proto_message *m = &ev->u.message;

	assert_int_equal(proto_event_init(ev, PROTO_T_MESSAGE_RECEIVED), GW_OK);
	ev->seq = 42;
	m->channel = xstrdup("email");
	m->account = xstrdup("support@example.com");
	m->external_id = xstrdup("<abc@mail.example.com>");
	m->received_at = 1700000000123;
	m->from.address = xstrdup("ana@example.org");
	m->from.name = xstrdup("Ana Lúcia ✓");
	m->subject = xstrdup("Order #12");
	m->text = xstrdup("hello\nworld \"quoted\"");
	m->attachments_len = 2;
	m->attachments = calloc(2, sizeof(*m->attachments));
	assert_non_null(m->attachments);
	m->attachments[0].name = xstrdup("");
	m->attachments[0].type = xstrdup("image/png");
	m->attachments[0].size = 0;
	m->attachments[0].ref = xstrdup("https://media.example/1");
	m->attachments[1].name = xstrdup("invoice.pdf");
	m->attachments[1].type = xstrdup("application/pdf");
	m->attachments[1].size = 123456;
	m->attachments[1].ref = xstrdup("media:2");
	m->reply_to_len = 2;
	m->reply_to = calloc(2, sizeof(char *));
	assert_non_null(m->reply_to);
	m->reply_to[0] = xstrdup("<prev1@mail>");
	m->reply_to[1] = xstrdup("<prev2@mail>");
	m->customer_id = 7;
	m->thread_id = 8;
	m->ticket_id = 9;
}

static void fill_customer(struct proto_customer *c)
{
	c->customer_id = 7;
	c->thread_id = 8;
	c->channel = xstrdup("whatsapp");
	c->address = xstrdup("+15551234567");
	c->name = xstrdup("Ana");
	c->created_at = -1; /* int64 fields take negative values */
	c->open_ticket_id = 9;
	c->ticket_count = 3;
	c->message_count = 11;
}

static void fill_ticket(struct proto_ticket *t)
{
	t->ticket_id = 9;
	t->customer_id = 7;
	t->thread_id = 8;
	t->status = xstrdup("open");
	t->channel = xstrdup("email");
	t->subject = xstrdup("Order #12");
	t->opened_at = 1700000000000;
	t->updated_at = 1700000000500;
	t->message_count = 2;
	t->last_message_seq = 41;
}

/* Encodes, decodes, re-encodes: same bytes and same JSON both times. */
static void check_round_trip(const struct proto_event *ev, struct proto_event *out)
{
	struct proto_error err;
	char *buf = NULL, *buf2 = NULL, *j1, *j2;
	size_t len = 0, len2 = 0;

	assert_int_equal(proto_encode(ev, &buf, &len, &err), GW_OK);
	assert_int_equal(err.code, GW_OK);
	assert_int_equal(proto_decode(buf, len, out, &err), GW_OK);
	assert_int_equal(proto_encode(out, &buf2, &len2, NULL), GW_OK);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, buf2, len);
	j1 = proto_dump_json(ev);
	j2 = proto_dump_json(out);
	assert_non_null(j1);
	assert_non_null(j2);
	assert_string_equal(j1, j2);
	free(j1);
	free(j2);
	free(buf);
	free(buf2);
}

static void test_round_trip_message(void **state)
{
	struct proto_event ev, out;
	const struct proto_message *m = &out.u.message;

	(void)state;
	build_message(&ev);
	check_round_trip(&ev, &out);
	assert_int_equal(out.v, PROTO_VERSION);
	assert_int_equal(out.type, PROTO_T_MESSAGE_RECEIVED);
	assert_string_equal(out.id, ev.id);
	assert_int_equal(out.ts, ev.ts);
	assert_int_equal(out.seq, 42);
	assert_string_equal(m->channel, "email");
	assert_string_equal(m->account, "support@example.com");
	assert_string_equal(m->external_id, "<abc@mail.example.com>");
	assert_int_equal(m->received_at, 1700000000123);
	assert_string_equal(m->from.address, "ana@example.org");
	assert_string_equal(m->from.name, "Ana Lúcia ✓");
	assert_string_equal(m->subject, "Order #12");
	assert_string_equal(m->text, "hello\nworld \"quoted\"");
	assert_int_equal(m->attachments_len, 2);
	assert_string_equal(m->attachments[0].name, "");
	assert_int_equal(m->attachments[0].size, 0);
	assert_string_equal(m->attachments[1].type, "application/pdf");
	assert_int_equal(m->attachments[1].size, 123456);
	assert_string_equal(m->attachments[1].ref, "media:2");
	assert_int_equal(m->reply_to_len, 2);
	assert_string_equal(m->reply_to[1], "<prev2@mail>");
	assert_int_equal(m->customer_id, 7);
	assert_int_equal(m->thread_id, 8);
	assert_int_equal(m->ticket_id, 9);
	proto_event_clear(&ev);
	proto_event_clear(&out);
	assert_memory_equal(&out, &zero_event, sizeof(out));
}

/* A minimal message: optional fields absent stay absent. */
static void test_round_trip_message_minimal(void **state)
{
	struct proto_event ev, out;

	(void)state;
	assert_int_equal(proto_event_init(&ev, PROTO_T_MESSAGE_RECEIVED), GW_OK);
	ev.u.message.channel = xstrdup("api");
	ev.u.message.account = xstrdup("api");
	ev.u.message.external_id = xstrdup("x1");
	ev.u.message.from.address = xstrdup("u1");
	ev.u.message.text = xstrdup("");
	check_round_trip(&ev, &out);
	assert_null(out.u.message.subject);
	assert_null(out.u.message.from.name);
	assert_null(out.u.message.attachments);
	assert_int_equal(out.u.message.attachments_len, 0);
	assert_null(out.u.message.reply_to);
	assert_int_equal(out.seq, 0);
	assert_string_equal(out.u.message.text, "");
	proto_event_clear(&ev);
	proto_event_clear(&out);
}

static void test_round_trip_customer_created(void **state)
{
	struct proto_event ev, out;

	(void)state;
	assert_int_equal(proto_event_init(&ev, PROTO_T_CUSTOMER_CREATED), GW_OK);
	ev.seq = 5;
	fill_customer(&ev.u.customer);
	check_round_trip(&ev, &out);
	assert_int_equal(out.type, PROTO_T_CUSTOMER_CREATED);
	assert_int_equal(out.u.customer.customer_id, 7);
	assert_int_equal(out.u.customer.created_at, -1);
	assert_string_equal(out.u.customer.address, "+15551234567");
	assert_int_equal(out.u.customer.message_count, 11);
	proto_event_clear(&ev);
	proto_event_clear(&out);
}

static void test_round_trip_tickets(void **state)
{
	enum proto_type types[] = { PROTO_T_TICKET_CREATED, PROTO_T_TICKET_UPDATED };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct proto_event ev, out;

		assert_int_equal(proto_event_init(&ev, types[i]), GW_OK);
		ev.seq = 6 + i;
		fill_ticket(&ev.u.ticket);
		check_round_trip(&ev, &out);
		assert_int_equal(out.type, types[i]);
		assert_int_equal(out.seq, 6 + i);
		assert_string_equal(out.u.ticket.status, "open");
		assert_int_equal(out.u.ticket.updated_at, 1700000000500);
		assert_int_equal(out.u.ticket.last_message_seq, 41);
		proto_event_clear(&ev);
		proto_event_clear(&out);
	}
}

static void test_records(void **state)
{
	struct proto_customer c = { 0 }, c2;
	struct proto_ticket t = { 0 }, t2;
	struct proto_error err;
	char *buf;
	size_t len;
	json_t *j;

	(void)state;
	fill_customer(&c);
	assert_int_equal(proto_customer_encode(&c, &buf, &len), GW_OK);
	assert_int_equal(proto_customer_decode(buf, len, &c2, &err), GW_OK);
	assert_string_equal(c2.name, "Ana");
	assert_int_equal(c2.open_ticket_id, 9);
	free(buf);
	j = proto_customer_to_json(&c2);
	assert_int_equal(json_integer_value(json_object_get(j, "customer_id")), 7);
	assert_null(json_object_get(j, "v")); /* no envelope */
	json_decref(j);
	proto_customer_clear(&c2);

	fill_ticket(&t);
	assert_int_equal(proto_ticket_encode(&t, &buf, &len), GW_OK);
	/* A ticket is not a customer. */
	assert_int_equal(proto_customer_decode(buf, len, &c2, &err), GW_EMISSING);
	assert_memory_equal(&c2, &(struct proto_customer){ 0 }, sizeof(c2));
	assert_int_equal(proto_ticket_decode(buf, len, &t2, &err), GW_OK);
	assert_string_equal(t2.subject, "Order #12");
	free(buf);
	j = proto_ticket_to_json(&t2);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "open");
	json_decref(j);

	free(t.status);
	t.status = NULL;
	assert_int_equal(proto_ticket_encode(&t, &buf, &len), GW_EMISSING);
	assert_null(buf);
	proto_customer_clear(&c);
	proto_customer_clear(&c2);
	proto_ticket_clear(&t);
	proto_ticket_clear(&t2);
	proto_ticket_clear(NULL);
	proto_customer_clear(NULL);
}

static void test_json_dump(void **state)
{
	struct proto_event ev;
	char *text;
	json_t *j, *a;
	json_error_t jerr;

	(void)state;
	build_message(&ev);
	ev.u.message.customer_id = 0; /* optional 0: omitted */
	text = proto_dump_json(&ev);
	assert_non_null(text);
	assert_null(strchr(text, '\n'));
	j = json_loads(text, 0, &jerr);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "v")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "message.received");
	assert_string_equal(json_string_value(json_object_get(j, "id")), ev.id);
	assert_int_equal(json_integer_value(json_object_get(j, "ts")), ev.ts);
	assert_int_equal(json_integer_value(json_object_get(j, "seq")), 42);
	assert_string_equal(json_string_value(json_object_get(j, "channel")), "email");
	assert_string_equal(json_string_value(json_object_get(j, "text")), "hello\nworld \"quoted\"");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "from"), "name")),
			    "Ana Lúcia ✓");
	a = json_object_get(j, "attachments");
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "type")),
			    "application/pdf");
	assert_null(json_object_get(json_array_get(a, 0), "size"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "reply_to"), 0)),
			    "<prev1@mail>");
	assert_null(json_object_get(j, "customer_id"));
	assert_int_equal(json_integer_value(json_object_get(j, "ticket_id")), 9);
	assert_int_equal(json_object_size(j), 16);
	json_decref(j);
	free(text);
	proto_event_clear(&ev);
}

static void test_types_and_init(void **state)
{
	struct proto_event ev;

	(void)state;
	assert_string_equal(proto_type_name(PROTO_T_MESSAGE_RECEIVED), "message.received");
	assert_string_equal(proto_type_name(PROTO_T_CUSTOMER_CREATED), "customer.created");
	assert_string_equal(proto_type_name(PROTO_T_TICKET_CREATED), "ticket.created");
	assert_string_equal(proto_type_name(PROTO_T_TICKET_UPDATED), "ticket.updated");
	assert_null(proto_type_name(PROTO_T_NONE));
	assert_null(proto_type_name(PROTO_T__COUNT));
	assert_int_equal(proto_type_parse("ticket.updated", 14), PROTO_T_TICKET_UPDATED);
	assert_int_equal(proto_type_parse("ticket.updated", 13), PROTO_T_NONE);
	assert_int_equal(proto_type_parse("ticket.updatedx", 15), PROTO_T_NONE);
	assert_int_equal(proto_event_init(&ev, PROTO_T_TICKET_CREATED), GW_OK);
	assert_int_equal(ev.v, PROTO_VERSION);
	assert_int_equal(strlen(ev.id), 32);
	assert_true(ev.ts > 1600000000000);
	assert_int_equal(ev.seq, 0);
	proto_event_clear(&ev);
	assert_memory_equal(&ev, &zero_event, sizeof(ev));
	proto_event_clear(NULL);
	assert_int_equal(proto_event_init(&ev, PROTO_T_NONE), GW_EINVAL);
}

/*
 * Hand-made inputs: a JSON template turned into msgpack, so that each test
 * states the one thing it breaks.
 */
static void pack_json(msgpack_packer *pk, json_t *j)
{
	const char *key;
	json_t *val;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		msgpack_pack_map(pk, json_object_size(j));
		json_object_foreach (j, key, val) {
			msgpack_pack_str_with_body(pk, key, strlen(key));
			pack_json(pk, val);
		}
		break;
	case JSON_ARRAY:
		msgpack_pack_array(pk, json_array_size(j));
		json_array_foreach (j, i, val)
			pack_json(pk, val);
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

/* Packs `j` (stolen) into a new buffer. */
static char *pack(json_t *j, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	assert_non_null(j);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pack_json(&pk, j);
	json_decref(j);
	*len = sb.size;
	return msgpack_sbuffer_release(&sb);
}

/* Replaces the first `from` in the buffer by `to` of the same length. */
static void patch(char *buf, size_t len, const char *from, const char *to, size_t n)
{
	for (size_t i = 0; i + n <= len; i++) {
		if (memcmp(buf + i, from, n) == 0) {
			memcpy(buf + i, to, n);
			return;
		}
	}
	fail_msg("patch: %s not found", from);
}

static json_t *message_json(void)
{
	json_t *j = json_pack(
		"{s:i, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:I, s:{s:s, s:s}, s:s, s:s,"
		" s:[{s:s, s:s, s:i, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}], s:[s], s:i}",
		"v", 1, "type", "message.received", "id", "0123456789abcdef0123456789abcdef",
		"ts", (json_int_t)1700000000000, "seq", (json_int_t)3, "channel", "api", "account",
		"main", "external_id", "m-1", "received_at", (json_int_t)1700000000000, "from",
		"address", "+15551234567", "name", "Ana", "subject", "hi", "text", "hello",
		"attachments", "name", "a.png", "type", "image/png", "size", 10, "ref", "r1", "name",
		"b", "type", "text/plain", "ref", "r2", "name", "c", "type", "text/plain", "ref",
		"r3", "reply_to", "m-0", "customer_id", 4);

	assert_non_null(j);
	return j;
}

static json_t *attachment(json_t *j, size_t i)
{
	return json_array_get(json_object_get(j, "attachments"), i);
}

/* Decodes `buf` (freed here) and checks the error and the cleared event. */
static void expect_error_buf(char *buf, size_t len, int code, const char *message)
{
	struct proto_event ev;
	struct proto_error err;

	memset(&ev, 0xab, sizeof(ev));
	assert_int_equal(proto_decode(buf, len, &ev, &err), code);
	assert_int_equal(err.code, code);
	if (message)
		assert_string_equal(err.message, message);
	assert_memory_equal(&ev, &zero_event, sizeof(ev));
	free(buf);
}

static void expect_error(json_t *j, int code, const char *message)
{
	size_t len;
	char *buf = pack(j, &len);

	expect_error_buf(buf, len, code, message);
}

static void expect_ok(char *buf, size_t len)
{
	struct proto_event ev;
	struct proto_error err;

	assert_int_equal(proto_decode(buf, len, &ev, &err), GW_OK);
	proto_event_clear(&ev);
	free(buf);
}

static void test_template_decodes(void **state)
{
	size_t len;
	char *buf = pack(message_json(), &len);
	struct proto_event ev;

	(void)state;
	assert_int_equal(proto_decode(buf, len, &ev, NULL), GW_OK);
	assert_int_equal(ev.u.message.attachments_len, 3);
	assert_int_equal(ev.u.message.attachments[0].size, 10);
	assert_int_equal(ev.u.message.customer_id, 4);
	proto_event_clear(&ev);
	free(buf);
}

static void test_decode_version(void **state)
{
	json_t *j;

	(void)state;
	j = message_json();
	json_object_set_new(j, "v", json_integer(2));
	expect_error(j, GW_EVERSION, "v: unsupported version 2");
	/* The version is judged first, before an unknown type. */
	j = message_json();
	json_object_set_new(j, "v", json_integer(2));
	json_object_set_new(j, "type", json_string("message.v2thing"));
	expect_error(j, GW_EVERSION, "v: unsupported version 2");
	j = message_json();
	json_object_del(j, "v");
	expect_error(j, GW_EMISSING, "v: missing");
	j = message_json();
	json_object_set_new(j, "v", json_string("1"));
	expect_error(j, GW_ETYPE, "v: expected unsigned integer");
}

static void test_decode_type(void **state)
{
	json_t *j;

	(void)state;
	j = message_json();
	json_object_set_new(j, "type", json_string("message.deleted"));
	expect_error(j, GW_ETYPE, "type: unknown event type");
	j = message_json();
	json_object_del(j, "type");
	expect_error(j, GW_EMISSING, "type: missing");
	j = message_json();
	json_object_set_new(j, "type", json_integer(1));
	expect_error(j, GW_ETYPE, "type: expected string");
}

static void test_decode_wrong_field_type(void **state)
{
	json_t *j;

	(void)state;
	j = message_json();
	json_object_set_new(j, "channel", json_integer(5));
	expect_error(j, GW_ETYPE, "channel: expected string");
	j = message_json();
	json_object_set_new(j, "received_at", json_string("yesterday"));
	expect_error(j, GW_ETYPE, "received_at: expected integer");
	j = message_json();
	json_object_set_new(j, "customer_id", json_integer(-1));
	expect_error(j, GW_ETYPE, "customer_id: expected unsigned integer");
	j = message_json();
	json_object_set_new(j, "seq", json_real(1.0));
	expect_error(j, GW_ETYPE, "seq: expected unsigned integer");
	j = message_json();
	json_object_set_new(j, "subject", json_null());
	expect_error(j, GW_ETYPE, "subject: expected string");
	j = message_json();
	json_object_set_new(j, "from", json_string("ana"));
	expect_error(j, GW_ETYPE, "from: expected map");
	j = message_json();
	json_object_set_new(j, "attachments", json_object());
	expect_error(j, GW_ETYPE, "attachments: expected array");
	j = message_json();
	json_object_set_new(j, "reply_to", json_string("m-0"));
	expect_error(j, GW_ETYPE, "reply_to: expected array");
}

static void test_decode_wrong_nested_type(void **state)
{
	json_t *j;

	(void)state;
	j = message_json();
	json_object_set_new(json_object_get(j, "from"), "address", json_integer(1));
	expect_error(j, GW_ETYPE, "from.address: expected string");
	j = message_json();
	json_object_set_new(attachment(j, 2), "size", json_string("big"));
	expect_error(j, GW_ETYPE, "attachments[2].size: expected unsigned integer");
	j = message_json();
	json_array_set_new(json_object_get(j, "attachments"), 1, json_string("x"));
	expect_error(j, GW_ETYPE, "attachments[1]: expected map");
	j = message_json();
	json_array_append_new(json_object_get(j, "reply_to"), json_integer(7));
	expect_error(j, GW_ETYPE, "reply_to[1]: expected string");
}

static void test_decode_missing(void **state)
{
	json_t *j;

	(void)state;
	j = message_json();
	json_object_del(j, "text");
	expect_error(j, GW_EMISSING, "text: missing");
	j = message_json();
	json_object_del(j, "id");
	expect_error(j, GW_EMISSING, "id: missing");
	j = message_json();
	json_object_del(j, "from");
	expect_error(j, GW_EMISSING, "from: missing");
	j = message_json();
	json_object_del(json_object_get(j, "from"), "address");
	expect_error(j, GW_EMISSING, "from.address: missing");
	j = message_json();
	json_object_del(attachment(j, 1), "ref");
	expect_error(j, GW_EMISSING, "attachments[1].ref: missing");
	/* Optional fields may be absent. */
	j = message_json();
	json_object_del(j, "subject");
	json_object_del(j, "seq");
	json_object_del(j, "attachments");
	json_object_del(json_object_get(j, "from"), "name");
	{
		size_t len;
		char *buf = pack(j, &len);

		expect_ok(buf, len);
	}
}

static json_t *string_of(size_t n)
{
	char *s = malloc(n + 1);
	json_t *j;

	assert_non_null(s);
	memset(s, 'x', n);
	s[n] = '\0';
	j = json_string(s);
	free(s);
	return j;
}

static void test_decode_too_big(void **state)
{
	json_t *j, *arr;

	(void)state;
	j = message_json();
	json_object_set_new(j, "channel", string_of(PROTO_MAX_CHANNEL + 1));
	expect_error(j, GW_ETOOBIG, "channel: 33 bytes over limit 32");
	j = message_json();
	json_object_set_new(j, "channel", string_of(PROTO_MAX_CHANNEL)); /* at the limit */
	{
		size_t len;
		char *buf = pack(j, &len);

		expect_ok(buf, len);
	}
	j = message_json();
	json_object_set_new(attachment(j, 2), "type", string_of(300));
	expect_error(j, GW_ETOOBIG, "attachments[2].type: 300 bytes over limit 128");
	j = message_json();
	json_array_append_new(json_object_get(j, "reply_to"), string_of(PROTO_MAX_EXTERNAL_ID + 1));
	expect_error(j, GW_ETOOBIG, "reply_to[1]: 257 bytes over limit 256");
	j = message_json();
	json_object_set_new(j, "text", string_of(PROTO_MAX_TEXT + 1));
	expect_error(j, GW_ETOOBIG, "text: 1048577 bytes over limit 1048576");

	j = message_json();
	arr = json_object_get(j, "attachments");
	while (json_array_size(arr) < PROTO_MAX_ATTACHMENTS + 1)
		json_array_append(arr, json_array_get(arr, 0));
	expect_error(j, GW_ETOOBIG, "attachments: 65 entries over limit 64");

	/* The whole event over PROTO_MAX_EVENT_BYTES, by an unknown key. */
	j = message_json();
	json_object_set_new(j, "future", string_of(PROTO_MAX_EVENT_BYTES));
	expect_error(j, GW_ETOOBIG, NULL);
}

static void test_decode_framing(void **state)
{
	size_t len;
	char *buf;

	(void)state;
	/* Trailing bytes after a valid map. */
	buf = pack(message_json(), &len);
	buf = realloc(buf, len + 1);
	assert_non_null(buf);
	buf[len] = '\0';
	expect_error_buf(buf, len + 1, GW_EPROTO, "1 trailing bytes");
	/* Not a map. */
	buf = pack(json_pack("[i]", 1), &len);
	expect_error_buf(buf, len, GW_EPROTO, "not a map");
	/* Not msgpack, and nothing at all. */
	expect_error_buf(xstrdup("\xc1"), 1, GW_EPROTO, NULL);
	expect_error_buf(xstrdup(""), 0, GW_EPROTO, NULL);
	/* A 5-byte array announcing 2^32-1 entries is refused up front. */
	expect_error_buf(xstrdup("\x81\xa1x\xdd\xff\xff\xff\xff"), 8, GW_EPROTO, NULL);
	/* A map with a non-string key. */
	expect_error_buf(xstrdup("\x81\x01\x01"), 3, GW_EPROTO, "map key is not a string");
}

static void test_decode_truncated(void **state)
{
	struct proto_event ev, out;
	struct proto_error err;
	char *buf;
	size_t len;

	(void)state;
	build_message(&ev);
	assert_int_equal(proto_encode(&ev, &buf, &len, NULL), GW_OK);
	for (size_t n = 0; n < len; n++) {
		char *cut = malloc(n ? n : 1); /* exact size: ASan sees overreads */

		assert_non_null(cut);
		memcpy(cut, buf, n);
		assert_int_not_equal(proto_decode(cut, n, &out, &err), GW_OK);
		assert_int_equal(err.code, GW_EPROTO);
		assert_memory_equal(&out, &zero_event, sizeof(out));
		free(cut);
	}
	free(buf);
	proto_event_clear(&ev);
}

static void test_decode_utf8(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *message;
	} bad[] = {
		{ "\xff\xff", 2, "text: invalid UTF-8" },         /* never valid */
		{ "\xc0\xaf", 2, "text: invalid UTF-8" },         /* overlong '/' */
		{ "\xe2\x82", 2, "text: invalid UTF-8" },         /* cut sequence */
		{ "a\xe2\x82", 3, "text: invalid UTF-8" },        /* cut at the end */
		{ "\xf4\x90\x80\x80", 4, "text: invalid UTF-8" }, /* above U+10FFFF */
		{ "\xed\xa0\x80", 3, "text: invalid UTF-8" },     /* surrogate */
		{ "a\0b", 3, "text: contains NUL" },
	};
	static const char marks[] = "@@@@";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = message_json();
		size_t len;
		char *buf;

		json_object_set_new(j, "text", json_stringn(marks, bad[i].len));
		buf = pack(j, &len);
		patch(buf, len, marks, bad[i].bytes, bad[i].len);
		expect_error_buf(buf, len, GW_EPROTO, bad[i].message);
	}
	/* Valid multi-byte text passes: 2, 3 and 4 byte forms. */
	{
		json_t *j = message_json();
		size_t len;
		char *buf;

		json_object_set_new(j, "text", json_string("\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"));
		buf = pack(j, &len);
		expect_ok(buf, len);
	}
}

static void test_decode_duplicate_key(void **state)
{
	json_t *j = message_json();
	size_t len;
	char *buf;

	(void)state;
	json_object_set_new(j, "channeX", json_string("sms"));
	buf = pack(j, &len);
	patch(buf, len, "channeX", "channel", 7);
	expect_error_buf(buf, len, GW_EPROTO, "channel: duplicate key");

	j = message_json();
	json_object_set_new(json_object_get(j, "from"), "namX", json_string("Bo"));
	buf = pack(j, &len);
	patch(buf, len, "namX", "name", 4);
	expect_error_buf(buf, len, GW_EPROTO, "from.name: duplicate key");
}

static json_t *nested_arrays(int depth)
{
	json_t *j = json_array();

	for (int i = 1; i < depth; i++) {
		json_t *outer = json_array();

		json_array_append_new(outer, j);
		j = outer;
	}
	return j;
}

static void test_decode_unknown_keys(void **state)
{
	json_t *j = message_json();
	size_t len;
	char *buf;

	(void)state;
	json_object_set_new(j, "future_field", json_pack("{s:[i, s, {s:n}], s:f}", "a", 1, "b",
							   "c", "d", "e", 1.5));
	json_object_set_new(json_object_get(j, "from"), "future", json_true());
	json_object_set_new(attachment(j, 0), "future", json_integer(-3));
	/* Unknown values may nest up to the depth bound (map + 31 arrays). */
	json_object_set_new(j, "deep", nested_arrays(31));
	buf = pack(j, &len);
	expect_ok(buf, len);

	j = message_json();
	json_object_set_new(j, "deep", nested_arrays(32));
	expect_error(j, GW_EPROTO, NULL);
}

static void test_decode_int_ranges(void **state)
{
	json_t *j = message_json();
	size_t len;
	char *buf;
	struct proto_event ev;

	(void)state;
	json_object_set_new(j, "received_at", json_integer(-42));
	json_object_set_new(j, "customer_id", json_integer(INT64_MAX));
	buf = pack(j, &len);
	assert_int_equal(proto_decode(buf, len, &ev, NULL), GW_OK);
	assert_int_equal(ev.u.message.received_at, -42);
	assert_true(ev.u.message.customer_id == (uint64_t)INT64_MAX);
	proto_event_clear(&ev);
	free(buf);

	/* A uint64 above INT64_MAX in an int64 field is out of range. */
	j = message_json();
	json_object_set_new(j, "ts", json_integer(INT64_MAX));
	buf = pack(j, &len);
	patch(buf, len, "\xcf\x7f\xff\xff\xff\xff\xff\xff\xff",
	      "\xcf\x80\x00\x00\x00\x00\x00\x00\x00", 9);
	expect_error_buf(buf, len, GW_ETOOBIG, "ts: 9223372036854775808 out of range");
}

static void expect_encode_error(struct proto_event *ev, int code, const char *message)
{
	struct proto_error err;
	char *buf = (char *)1;
	size_t len = 1;

	assert_int_equal(proto_encode(ev, &buf, &len, &err), code);
	assert_int_equal(err.code, code);
	assert_string_equal(err.message, message);
	assert_null(buf);
	assert_int_equal(len, 0);
}

static void test_encode_rejects(void **state)
{
	struct proto_event ev;
	struct proto_message *m = &ev.u.message;
	char *saved;

	(void)state;
	build_message(&ev);
	saved = m->text;
	m->text = NULL;
	expect_encode_error(&ev, GW_EMISSING, "text: missing");
	m->text = saved;
	saved = m->from.address;
	m->from.address = NULL;
	expect_encode_error(&ev, GW_EMISSING, "from.address: missing");
	m->from.address = saved;
	saved = m->attachments[1].ref;
	m->attachments[1].ref = NULL;
	expect_encode_error(&ev, GW_EMISSING, "attachments[1].ref: missing");
	m->attachments[1].ref = saved;
	saved = ev.id;
	ev.id = NULL;
	expect_encode_error(&ev, GW_EMISSING, "id: missing");
	ev.id = saved;
	saved = m->reply_to[1];
	m->reply_to[1] = NULL;
	expect_encode_error(&ev, GW_EMISSING, "reply_to[1]: missing");
	m->reply_to[1] = saved;

	m->attachments_len = PROTO_MAX_ATTACHMENTS + 1;
	expect_encode_error(&ev, GW_ETOOBIG, "attachments: 65 entries over limit 64");
	m->attachments_len = 2;
	saved = m->channel;
	m->channel = xstrdup("a-channel-name-longer-than-32-bytes");
	expect_encode_error(&ev, GW_ETOOBIG, "channel: 35 bytes over limit 32");
	free(m->channel);
	m->channel = xstrdup("\xff");
	expect_encode_error(&ev, GW_EPROTO, "channel: invalid UTF-8");
	free(m->channel);
	m->channel = saved;
	ev.type = PROTO_T_NONE;
	expect_encode_error(&ev, GW_ETYPE, "type: invalid event type");
	ev.type = PROTO_T_MESSAGE_RECEIVED;
	proto_event_clear(&ev);
}

static void test_json_from_msgpack(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	json_t *j;
	char *text;
	size_t len;
	char *buf;

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4);
	msgpack_pack_str_with_body(&pk, "bin", 3);
	msgpack_pack_bin_with_body(&pk, "\x01\xab", 2);
	msgpack_pack_str_with_body(&pk, "n", 1);
	msgpack_pack_int64(&pk, -5);
	msgpack_pack_str_with_body(&pk, "list", 4);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_nil(&pk);
	msgpack_pack_true(&pk);
	msgpack_pack_str_with_body(&pk, "u", 1);
	msgpack_pack_uint64(&pk, 18446744073709551615u);
	j = proto_json_from_msgpack(sb.data, sb.size);
	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	assert_string_equal(text, "{\"bin\":\"01ab\",\"n\":-5,\"list\":[null,true],"
				  "\"u\":1.8446744073709552e19}");
	free(text);
	json_decref(j);
	/* Trailing bytes and truncation. */
	assert_null(proto_json_from_msgpack(sb.data, sb.size - 1));
	msgpack_pack_nil(&pk);
	assert_null(proto_json_from_msgpack(sb.data, sb.size));
	msgpack_sbuffer_destroy(&sb);
	/* Non-string keys. */
	assert_null(proto_json_from_msgpack("\x81\x01\x01", 3));
	/* Depth: 32 nested arrays are fine, 33 are not. */
	buf = pack(nested_arrays(32), &len);
	j = proto_json_from_msgpack(buf, len);
	assert_non_null(j);
	json_decref(j);
	free(buf);
	buf = pack(nested_arrays(33), &len);
	assert_null(proto_json_from_msgpack(buf, len));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_message),
		cmocka_unit_test(test_round_trip_message_minimal),
		cmocka_unit_test(test_round_trip_customer_created),
		cmocka_unit_test(test_round_trip_tickets),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_json_dump),
		cmocka_unit_test(test_types_and_init),
		cmocka_unit_test(test_template_decodes),
		cmocka_unit_test(test_decode_version),
		cmocka_unit_test(test_decode_type),
		cmocka_unit_test(test_decode_wrong_field_type),
		cmocka_unit_test(test_decode_wrong_nested_type),
		cmocka_unit_test(test_decode_missing),
		cmocka_unit_test(test_decode_too_big),
		cmocka_unit_test(test_decode_framing),
		cmocka_unit_test(test_decode_truncated),
		cmocka_unit_test(test_decode_utf8),
		cmocka_unit_test(test_decode_duplicate_key),
		cmocka_unit_test(test_decode_unknown_keys),
		cmocka_unit_test(test_decode_int_ranges),
		cmocka_unit_test(test_encode_rejects),
		cmocka_unit_test(test_json_from_msgpack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

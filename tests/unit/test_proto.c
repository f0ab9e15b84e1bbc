/*
 * test_proto.c - event schema v1: round trips of every event type and
 * record, the JSON dump, and every way strict decode and encode refuse.
 */
#include <math.h>
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

/* Whether the `n` bytes at `needle` occur in the buffer. */
static int has_bytes(const char *buf, size_t len, const char *needle, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(buf + i, needle, n) == 0)
			return 1;
	return 0;
}

static struct proto_party *new_party(const char *address, const char *name)
{
	struct proto_party *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->address = xstrdup(address);
	p->name = name ? xstrdup(name) : NULL;
	return p;
}

/* The Meta-channel additions to a message, every one set. */
static void add_message_extras(struct proto_message *m)
{
	m->attachments[1].kind = xstrdup("document");
	m->attachments[1].sha256 = xstrdup("2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae");
	m->attachments[1].caption = xstrdup("the invoice");
	m->to = new_party("+15550001111", "Shop");
	m->kind = xstrdup("location");
	m->raw_type = xstrdup("location");
	m->unsupported = true;
	m->location = calloc(1, sizeof(*m->location));
	assert_non_null(m->location);
	m->location->latitude = 38.7223;
	m->location->longitude = -9.1393;
	m->location->name = xstrdup("Praça do Comércio");
	m->location->address = xstrdup("Lisboa");
	m->location->url = xstrdup("https://maps.example/1");
	m->reaction = calloc(1, sizeof(*m->reaction));
	assert_non_null(m->reaction);
	m->reaction->message_id = xstrdup("wamid.1");
	m->reaction->emoji = xstrdup("👍🏽");
	m->choice = calloc(1, sizeof(*m->choice));
	assert_non_null(m->choice);
	m->choice->id = xstrdup("BTN_YES");
	m->choice->title = xstrdup("Yes");
	m->choice->description = xstrdup("confirm the order");
	m->referral = calloc(1, sizeof(*m->referral));
	assert_non_null(m->referral);
	m->referral->source = xstrdup("ADS");
	m->referral->type = xstrdup("ad");
	m->referral->id = xstrdup("6000123");
	m->referral->url = xstrdup("https://fb.example/ad");
	m->referral->ref = xstrdup("spring");
	m->referral->headline = xstrdup("Spring sale");
	m->referral->body = xstrdup("20% off");
	m->raw = xstrdup("{\"type\":\"location\"}");
	m->recipients = calloc(2, sizeof(*m->recipients));
	assert_non_null(m->recipients);
	m->recipients_len = 2;
	m->recipients[0].address = xstrdup("support@example.com");
	m->recipients[0].name = xstrdup("Support");
	m->recipients[0].role = xstrdup("to");
	m->recipients[1].address = xstrdup("sales@example.com");
	m->recipients[1].role = xstrdup("cc");
	m->dedup_key = xstrdup("<abc@example.com>");
	m->auto_reply = true;
	m->bounce = true;
	m->warnings = calloc(2, sizeof(*m->warnings));
	assert_non_null(m->warnings);
	m->warnings_len = 2;
	m->warnings[0] = xstrdup("subject: undecodable bytes replaced");
	m->warnings[1] = xstrdup("no Message-ID: id derived from the content");
}

/* A message.sent (an echo) with every field set. */
static void build_sent(struct proto_event *ev)
{
	build_message(ev);
	ev->type = PROTO_T_MESSAGE_SENT;
	ev->u.message.direction = xstrdup("outbound");
	add_message_extras(&ev->u.message);
}

/* A message.status with every field set. */
static void build_status(struct proto_event *ev)
{
	struct proto_status *s = &ev->u.status;

	assert_int_equal(proto_event_init(ev, PROTO_T_MESSAGE_STATUS), GW_OK);
	ev->seq = 43;
	s->channel = xstrdup("whatsapp");
	s->account = xstrdup("15550001111");
	s->status_id = xstrdup("wamid.9:failed");
	s->external_id = xstrdup("wamid.9");
	s->status = xstrdup("failed");
	s->status_at = 1700000000999;
	s->watermark = 1700000000000;
	s->recipient = xstrdup("+15551234567");
	s->errors_len = 2;
	s->errors = calloc(2, sizeof(*s->errors));
	assert_non_null(s->errors);
	s->errors[0].code = 131026;
	s->errors[0].title = xstrdup("Message undeliverable");
	s->errors[0].message = xstrdup("receiver incapable");
	s->errors[1].title = xstrdup("Other"); /* code 0, message absent */
	s->raw = xstrdup("{\"status\":\"failed\"}");
	s->message_seq = 40;
	s->customer_id = 7;
	s->ticket_id = 9;
}

/* A message.edited or message.deleted with every field set. */
static void build_change(struct proto_event *ev, enum proto_type type)
{
	struct proto_change *c = &ev->u.change;

	assert_int_equal(proto_event_init(ev, type), GW_OK);
	ev->seq = 44;
	c->channel = xstrdup("messenger");
	c->account = xstrdup("page-1");
	c->change_id = xstrdup("m_1:edit:2");
	c->external_id = xstrdup("m_1");
	c->changed_at = 1700000001000;
	c->text = xstrdup("hello again");
	c->from = new_party("psid-1", "Ana");
	c->message_seq = 40;
	c->customer_id = 7;
	c->ticket_id = 9;
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
	ev.u.message.from.email = xstrdup("ana@example.org");
	ev.u.message.from.email_verified = true;
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
	assert_string_equal(m->from.email, "ana@example.org");
	assert_true(m->from.email_verified);
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

static void test_round_trip_sent(void **state)
{
	struct proto_event ev, out;
	const struct proto_message *m = &out.u.message;

	(void)state;
	build_sent(&ev);
	check_round_trip(&ev, &out);
	assert_int_equal(out.type, PROTO_T_MESSAGE_SENT);
	assert_string_equal(m->direction, "outbound");
	assert_string_equal(m->to->address, "+15550001111");
	assert_string_equal(m->to->name, "Shop");
	assert_string_equal(m->kind, "location");
	assert_string_equal(m->raw_type, "location");
	assert_true(m->unsupported);
	assert_true(m->location->latitude == 38.7223);
	assert_true(m->location->longitude == -9.1393);
	assert_string_equal(m->location->name, "Praça do Comércio");
	assert_string_equal(m->location->address, "Lisboa");
	assert_string_equal(m->location->url, "https://maps.example/1");
	assert_string_equal(m->reaction->message_id, "wamid.1");
	assert_string_equal(m->reaction->emoji, "👍🏽");
	assert_string_equal(m->choice->id, "BTN_YES");
	assert_string_equal(m->choice->title, "Yes");
	assert_string_equal(m->choice->description, "confirm the order");
	assert_string_equal(m->referral->source, "ADS");
	assert_string_equal(m->referral->type, "ad");
	assert_string_equal(m->referral->id, "6000123");
	assert_string_equal(m->referral->url, "https://fb.example/ad");
	assert_string_equal(m->referral->ref, "spring");
	assert_string_equal(m->referral->headline, "Spring sale");
	assert_string_equal(m->referral->body, "20% off");
	assert_string_equal(m->raw, "{\"type\":\"location\"}");
	assert_string_equal(m->attachments[1].kind, "document");
	assert_int_equal(strlen(m->attachments[1].sha256), 64);
	assert_string_equal(m->attachments[1].caption, "the invoice");
	assert_null(m->attachments[0].kind);
	assert_string_equal(m->text, "hello\nworld \"quoted\"");
	proto_event_clear(&ev);
	proto_event_clear(&out);
	assert_memory_equal(&out, &zero_event, sizeof(out));
}

/* The extras are optional fields of message.received too. */
static void test_round_trip_received_extras(void **state)
{
	struct proto_event ev, out;

	(void)state;
	build_message(&ev);
	ev.u.message.direction = xstrdup("inbound");
	add_message_extras(&ev.u.message);
	ev.u.message.reaction->emoji[0] = '\0'; /* a removed reaction */
	check_round_trip(&ev, &out);
	assert_int_equal(out.type, PROTO_T_MESSAGE_RECEIVED);
	assert_string_equal(out.u.message.direction, "inbound");
	assert_string_equal(out.u.message.reaction->emoji, "");
	assert_int_equal(out.u.message.recipients_len, 2);
	assert_string_equal(out.u.message.recipients[1].role, "cc");
	assert_null(out.u.message.recipients[1].name);
	assert_string_equal(out.u.message.dedup_key, "<abc@example.com>");
	assert_true(out.u.message.auto_reply);
	assert_true(out.u.message.bounce);
	assert_int_equal(out.u.message.warnings_len, 2);
	proto_event_clear(&ev);
	proto_event_clear(&out);
}

static void test_recipient_role_checked(void **state)
{
	struct proto_event ev;
	char *buf = NULL;
	size_t len = 0;
	struct proto_error err;

	(void)state;
	build_message(&ev);
	add_message_extras(&ev.u.message);
	free(ev.u.message.recipients[0].role);
	ev.u.message.recipients[0].role = xstrdup("from");
	assert_int_equal(proto_encode(&ev, &buf, &len, &err), GW_EPROTO);
	assert_non_null(strstr(err.message, "recipients[0].role"));
	proto_event_clear(&ev);
}

static void test_round_trip_status(void **state)
{
	struct proto_event ev, out;
	const struct proto_status *s = &out.u.status;

	(void)state;
	build_status(&ev);
	check_round_trip(&ev, &out);
	assert_int_equal(out.type, PROTO_T_MESSAGE_STATUS);
	assert_int_equal(out.seq, 43);
	assert_string_equal(s->channel, "whatsapp");
	assert_string_equal(s->account, "15550001111");
	assert_string_equal(s->status_id, "wamid.9:failed");
	assert_string_equal(s->external_id, "wamid.9");
	assert_string_equal(s->status, "failed");
	assert_int_equal(s->status_at, 1700000000999);
	assert_int_equal(s->watermark, 1700000000000);
	assert_string_equal(s->recipient, "+15551234567");
	assert_int_equal(s->errors_len, 2);
	assert_int_equal(s->errors[0].code, 131026);
	assert_string_equal(s->errors[0].title, "Message undeliverable");
	assert_string_equal(s->errors[0].message, "receiver incapable");
	assert_int_equal(s->errors[1].code, 0);
	assert_null(s->errors[1].message);
	assert_string_equal(s->raw, "{\"status\":\"failed\"}");
	assert_int_equal(s->message_seq, 40);
	assert_int_equal(s->customer_id, 7);
	assert_int_equal(s->ticket_id, 9);
	proto_event_clear(&ev);
	proto_event_clear(&out);
	assert_memory_equal(&out, &zero_event, sizeof(out));

	/* Every value of the set passes. */
	{
		static const char *const all[] = { "sent", "delivered", "read", "failed", "deleted" };

		for (size_t i = 0; i < 5; i++) {
			build_status(&ev);
			free(ev.u.status.status);
			ev.u.status.status = xstrdup(all[i]);
			check_round_trip(&ev, &out);
			assert_string_equal(out.u.status.status, all[i]);
			proto_event_clear(&ev);
			proto_event_clear(&out);
		}
	}
}

static void test_round_trip_changes(void **state)
{
	enum proto_type types[] = { PROTO_T_MESSAGE_EDITED, PROTO_T_MESSAGE_DELETED };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct proto_event ev, out;
		const struct proto_change *c = &out.u.change;

		build_change(&ev, types[i]);
		check_round_trip(&ev, &out);
		assert_int_equal(out.type, types[i]);
		assert_string_equal(c->channel, "messenger");
		assert_string_equal(c->account, "page-1");
		assert_string_equal(c->change_id, "m_1:edit:2");
		assert_string_equal(c->external_id, "m_1");
		assert_int_equal(c->changed_at, 1700000001000);
		assert_string_equal(c->text, "hello again");
		assert_string_equal(c->from->address, "psid-1");
		assert_string_equal(c->from->name, "Ana");
		assert_int_equal(c->message_seq, 40);
		assert_int_equal(c->customer_id, 7);
		assert_int_equal(c->ticket_id, 9);
		proto_event_clear(&ev);
		proto_event_clear(&out);
		assert_memory_equal(&out, &zero_event, sizeof(out));
	}
}

/* Absent OBJPTR, false BOOL and 0 DOUBLE are not encoded. */
static void test_encode_omits_absent(void **state)
{
	struct proto_event ev;
	char *buf;
	size_t len;
	json_t *j;

	(void)state;
	build_message(&ev);
	ev.u.message.unsupported = false;
	assert_int_equal(proto_encode(&ev, &buf, &len, NULL), GW_OK);
	j = proto_json_from_msgpack(buf, len);
	assert_non_null(j);
	assert_null(json_object_get(j, "to"));
	assert_null(json_object_get(j, "unsupported"));
	assert_null(json_object_get(j, "location"));
	assert_null(json_object_get(j, "reaction"));
	assert_null(json_object_get(j, "choice"));
	assert_null(json_object_get(j, "referral"));
	assert_null(json_object_get(j, "direction"));
	assert_int_equal(json_object_size(j), 17);
	json_decref(j);
	free(buf);

	/* Set, they are: a bool as msgpack true, a double as float64. */
	ev.u.message.unsupported = true;
	ev.u.message.to = new_party("u2", NULL);
	assert_int_equal(proto_encode(&ev, &buf, &len, NULL), GW_OK);
	j = proto_json_from_msgpack(buf, len);
	assert_true(json_is_true(json_object_get(j, "unsupported")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "to"), "address")),
			    "u2");
	assert_int_equal(json_object_size(json_object_get(j, "to")), 1);
	json_decref(j);
	free(buf);
	proto_event_clear(&ev);

	/* A location at 0,0: required doubles are encoded even when 0. */
	build_message(&ev);
	ev.u.message.location = calloc(1, sizeof(*ev.u.message.location));
	assert_non_null(ev.u.message.location);
	assert_int_equal(proto_encode(&ev, &buf, &len, NULL), GW_OK);
	assert_true(has_bytes(buf, len, "\xa8latitude\xcb\0\0\0\0\0\0\0\0", 18));
	j = proto_json_from_msgpack(buf, len);
	assert_int_equal(json_object_size(json_object_get(j, "location")), 2);
	json_decref(j);
	free(buf);
	proto_event_clear(&ev);
}

static void test_json_dump_extras(void **state)
{
	struct proto_event ev;
	json_t *j, *loc;

	(void)state;
	build_sent(&ev);
	j = proto_to_json(&ev);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "message.sent");
	assert_true(json_is_true(json_object_get(j, "unsupported")));
	loc = json_object_get(j, "location");
	assert_true(json_is_real(json_object_get(loc, "latitude")));
	assert_true(json_real_value(json_object_get(loc, "longitude")) == -9.1393);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "to"), "name")),
			    "Shop");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "choice"), "id")),
			    "BTN_YES");
	json_decref(j);
	proto_event_clear(&ev);

	build_status(&ev);
	j = proto_to_json(&ev);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "errors")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j, "errors"),
									  0),
							    "code")),
			 131026);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "failed");
	json_decref(j);
	proto_event_clear(&ev);
}

static void test_round_trip_customer_created(void **state)
{
	struct proto_event ev, out;

	(void)state;
	assert_int_equal(proto_event_init(&ev, PROTO_T_CUSTOMER_CREATED), GW_OK);
	ev.seq = 5;
	fill_customer(&ev.u.customer);
	ev.u.customer.probable_match = 3;
	ev.u.customer.probable_match_reason = xstrdup("email a@b.c: claimed here");
	check_round_trip(&ev, &out);
	assert_int_equal(out.type, PROTO_T_CUSTOMER_CREATED);
	assert_int_equal(out.u.customer.customer_id, 7);
	assert_int_equal(out.u.customer.created_at, -1);
	assert_string_equal(out.u.customer.address, "+15551234567");
	assert_int_equal(out.u.customer.message_count, 11);
	assert_int_equal(out.u.customer.probable_match, 3);
	assert_string_equal(out.u.customer.probable_match_reason, "email a@b.c: claimed here");
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
	assert_string_equal(proto_type_name(PROTO_T_MESSAGE_SENT), "message.sent");
	assert_string_equal(proto_type_name(PROTO_T_MESSAGE_STATUS), "message.status");
	assert_string_equal(proto_type_name(PROTO_T_MESSAGE_EDITED), "message.edited");
	assert_string_equal(proto_type_name(PROTO_T_MESSAGE_DELETED), "message.deleted");
	assert_int_equal(proto_type_parse("message.deleted", 15), PROTO_T_MESSAGE_DELETED);
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
 * states the one thing it breaks. pack - `j` (stolen) packed into a new
 * buffer by proto_msgpack_pack_json.
 */
static char *pack(json_t *j, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	assert_non_null(j);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	proto_msgpack_pack_json(&pk, j);
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
	json_object_set_new(j, "type", json_string("message.v2thing"));
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

/* `j` (stolen) with the keys of every object in reverse order. */
static json_t *reversed_keys(json_t *j)
{
	const char *keys[64];
	size_t n = 0, i;
	json_t *out, *v;
	const char *k;

	if (json_is_array(j)) {
		out = json_array();
		json_array_foreach(j, i, v)
			json_array_append_new(out, reversed_keys(json_incref(v)));
		json_decref(j);
		return out;
	}
	if (!json_is_object(j))
		return j;
	json_object_foreach(j, k, v) {
		assert_true(n < sizeof(keys) / sizeof(keys[0]));
		keys[n++] = k;
	}
	out = json_object();
	while (n--)
		json_object_set_new(out, keys[n],
				    reversed_keys(json_incref(json_object_get(j, keys[n]))));
	json_decref(j);
	return out;
}

/* The decoder reads the keys of a map in any order (it looks first where
 * the encoder's order puts them): in reverse they give the same event, and
 * a repeated key is still found out. */
static void test_decode_any_key_order(void **state)
{
	struct proto_event a, b;
	struct proto_error err;
	char *buf, *ea, *eb;
	size_t len, la, lb;

	(void)state;
	buf = pack(message_json(), &len);
	assert_int_equal(proto_decode(buf, len, &a, &err), GW_OK);
	free(buf);
	buf = pack(reversed_keys(message_json()), &len);
	assert_int_equal(proto_decode(buf, len, &b, &err), GW_OK);
	free(buf);
	assert_int_equal(proto_encode(&a, &ea, &la, &err), GW_OK);
	assert_int_equal(proto_encode(&b, &eb, &lb, &err), GW_OK);
	assert_int_equal(la, lb);
	assert_memory_equal(ea, eb, la);
	assert_string_equal(b.u.message.from.name, "Ana");
	assert_int_equal(b.u.message.attachments_len, 3);
	assert_string_equal(b.u.message.attachments[2].ref, "r3");
	free(ea);
	free(eb);
	proto_event_clear(&a);
	proto_event_clear(&b);

	{
		json_t *j = message_json();

		json_object_set_new(j, "channeX", json_string("sms"));
		buf = pack(reversed_keys(j), &len);
		patch(buf, len, "channeX", "channel", 7);
		expect_error_buf(buf, len, GW_EPROTO, "channel: duplicate key");
	}
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

static json_t *status_json(void)
{
	json_t *j = json_pack("{s:i, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:[{s:i, s:s}]}",
			      "v", 1, "type", "message.status", "id", "s1", "ts",
			      (json_int_t)1700000000000, "channel", "whatsapp", "account", "a",
			      "status_id", "st-1", "external_id", "m-1", "status", "read",
			      "status_at", (json_int_t)1700000000000, "errors", "code", 1, "title",
			      "t");

	assert_non_null(j);
	return j;
}

static void test_decode_bool(void **state)
{
	json_t *j;
	size_t len;
	char *buf;
	struct proto_event ev;

	(void)state;
	j = message_json();
	json_object_set_new(j, "unsupported", json_integer(1));
	expect_error(j, GW_ETYPE, "unsupported: expected boolean");
	j = message_json();
	json_object_set_new(j, "unsupported", json_string("true"));
	expect_error(j, GW_ETYPE, "unsupported: expected boolean");
	j = message_json();
	json_object_set_new(j, "unsupported", json_null());
	expect_error(j, GW_ETYPE, "unsupported: expected boolean");
	/* An explicit false decodes, and is then not encoded. */
	j = message_json();
	json_object_set_new(j, "unsupported", json_false());
	buf = pack(j, &len);
	assert_int_equal(proto_decode(buf, len, &ev, NULL), GW_OK);
	assert_false(ev.u.message.unsupported);
	free(buf);
	assert_int_equal(proto_encode(&ev, &buf, &len, NULL), GW_OK);
	assert_false(has_bytes(buf, len, "unsupported", 11));
	free(buf);
	proto_event_clear(&ev);
}

static json_t *with_location(json_t *j, json_t *lat)
{
	json_object_set_new(j, "location", json_pack("{s:o, s:f}", "latitude", lat, "longitude",
						     -9.5));
	return j;
}

static void test_decode_double(void **state)
{
	json_t *j;
	size_t len;
	char *buf;
	struct proto_event ev;

	(void)state;
	expect_error(with_location(message_json(), json_string("north")), GW_ETYPE,
		     "location.latitude: expected number");
	expect_error(with_location(message_json(), json_true()), GW_ETYPE,
		     "location.latitude: expected number");
	/* NaN and the infinities, patched in as float64 over an 8-byte string. */
	{
		static const char *const bad[] = { "\xcb\x7f\xf8\0\0\0\0\0\0",
						   "\xcb\x7f\xf0\0\0\0\0\0\0",
						   "\xcb\xff\xf0\0\0\0\0\0\0" };

		for (size_t i = 0; i < 3; i++) {
			buf = pack(with_location(message_json(), json_string("@@@@@@@@")), &len);
			patch(buf, len, "\xa8@@@@@@@@", bad[i], 9);
			expect_error_buf(buf, len, GW_EPROTO, "location.latitude: not a finite number");
		}
	}
	/* Integers (positive, negative) and float32 are numbers too. */
	j = with_location(message_json(), json_integer(-33));
	json_object_set_new(json_object_get(j, "location"), "longitude", json_integer(151));
	buf = pack(j, &len);
	assert_int_equal(proto_decode(buf, len, &ev, NULL), GW_OK);
	assert_true(ev.u.message.location->latitude == -33.0);
	assert_true(ev.u.message.location->longitude == 151.0);
	proto_event_clear(&ev);
	free(buf);
	buf = pack(with_location(message_json(), json_string("@@@@")), &len);
	patch(buf, len, "\xa4@@@@", "\xca\x40\x20\x00\x00", 5); /* 2.5f */
	assert_int_equal(proto_decode(buf, len, &ev, NULL), GW_OK);
	assert_true(ev.u.message.location->latitude == 2.5);
	proto_event_clear(&ev);
	free(buf);
}

static void test_decode_objptr(void **state)
{
	json_t *j;

	(void)state;
	j = message_json();
	json_object_set_new(j, "to", json_string("+1555"));
	expect_error(j, GW_ETYPE, "to: expected map");
	j = message_json();
	json_object_set_new(j, "referral", json_pack("[s]", "ADS"));
	expect_error(j, GW_ETYPE, "referral: expected map");
	j = message_json();
	json_object_set_new(j, "choice", json_null());
	expect_error(j, GW_ETYPE, "choice: expected map");
	/* Required fields inside an optional object. */
	j = message_json();
	json_object_set_new(j, "to", json_pack("{s:s}", "name", "Shop"));
	expect_error(j, GW_EMISSING, "to.address: missing");
	j = message_json();
	json_object_set_new(j, "location", json_pack("{s:f}", "latitude", 1.0));
	expect_error(j, GW_EMISSING, "location.longitude: missing");
	j = message_json();
	json_object_set_new(j, "reaction", json_pack("{s:s}", "message_id", "m-0"));
	expect_error(j, GW_EMISSING, "reaction.emoji: missing");
	/* Errors deep inside, after the object was allocated. */
	j = message_json();
	json_object_set_new(j, "choice", json_pack("{s:s, s:i}", "id", "c", "title", 3));
	expect_error(j, GW_ETYPE, "choice.title: expected string");
	j = message_json();
	json_object_set_new(j, "referral", json_pack("{s:o}", "url", string_of(PROTO_MAX_REF + 1)));
	expect_error(j, GW_ETOOBIG, "referral.url: 2049 bytes over limit 2048");
	j = message_json();
	json_object_set_new(j, "to", json_pack("{s:s}", "addresX", "u"));
	json_object_set_new(json_object_get(j, "to"), "address", json_string("u"));
	{
		size_t len;
		char *buf = pack(j, &len);

		patch(buf, len, "addresX", "address", 7);
		expect_error_buf(buf, len, GW_EPROTO, "to.address: duplicate key");
	}
}

static void test_decode_value_sets(void **state)
{
	json_t *j;
	size_t len;
	char *buf;

	(void)state;
	j = message_json();
	json_object_set_new(j, "direction", json_string("sideways"));
	expect_error(j, GW_EPROTO, "direction: value \"sideways\" not allowed");
	j = message_json();
	json_object_set_new(j, "direction", json_string("Inbound"));
	expect_error(j, GW_EPROTO, "direction: value \"Inbound\" not allowed");
	j = message_json();
	json_object_set_new(j, "direction", json_string(""));
	expect_error(j, GW_EPROTO, "direction: value \"\" not allowed");
	j = message_json();
	json_object_set_new(j, "direction", json_string("outbound"));
	buf = pack(j, &len);
	expect_ok(buf, len);

	j = status_json();
	buf = pack(j, &len);
	expect_ok(buf, len);
	j = status_json();
	json_object_set_new(j, "status", json_string("seen"));
	expect_error(j, GW_EPROTO, "status: value \"seen\" not allowed");
	j = status_json();
	json_object_set_new(j, "status", json_string("read "));
	expect_error(j, GW_EPROTO, "status: value \"read \" not allowed");
	j = status_json();
	json_object_del(j, "status");
	expect_error(j, GW_EMISSING, "status: missing");
	j = status_json();
	json_object_del(j, "status_id");
	expect_error(j, GW_EMISSING, "status_id: missing");
	j = status_json();
	json_object_del(json_array_get(json_object_get(j, "errors"), 0), "title");
	expect_error(j, GW_EMISSING, "errors[0].title: missing");
	j = status_json();
	while (json_array_size(json_object_get(j, "errors")) < PROTO_MAX_ERRORS + 1)
		json_array_append_new(json_object_get(j, "errors"), json_pack("{s:s}", "title", "t"));
	expect_error(j, GW_ETOOBIG, "errors: 17 entries over limit 16");
	/* A ticket's status is not a delivery status. */
	j = status_json();
	json_object_set_new(j, "status", json_string("open"));
	expect_error(j, GW_EPROTO, "status: value \"open\" not allowed");
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

static void test_encode_rejects_extras(void **state)
{
	struct proto_event ev;
	struct proto_message *m = &ev.u.message;
	char *saved;

	(void)state;
	build_sent(&ev);
	saved = m->direction;
	m->direction = xstrdup("up");
	expect_encode_error(&ev, GW_EPROTO, "direction: value \"up\" not allowed");
	free(m->direction);
	m->direction = saved;
	m->location->latitude = NAN;
	expect_encode_error(&ev, GW_EPROTO, "location.latitude: not a finite number");
	m->location->latitude = -INFINITY;
	expect_encode_error(&ev, GW_EPROTO, "location.latitude: not a finite number");
	m->location->latitude = 1.0;
	saved = m->to->address;
	m->to->address = NULL;
	expect_encode_error(&ev, GW_EMISSING, "to.address: missing");
	m->to->address = saved;
	saved = m->reaction->emoji;
	m->reaction->emoji = NULL;
	expect_encode_error(&ev, GW_EMISSING, "reaction.emoji: missing");
	m->reaction->emoji = saved;
	proto_event_clear(&ev);

	build_status(&ev);
	saved = ev.u.status.status;
	ev.u.status.status = xstrdup("seen");
	expect_encode_error(&ev, GW_EPROTO, "status: value \"seen\" not allowed");
	free(ev.u.status.status);
	ev.u.status.status = saved;
	saved = ev.u.status.errors[1].title;
	ev.u.status.errors[1].title = NULL;
	expect_encode_error(&ev, GW_EMISSING, "errors[1].title: missing");
	ev.u.status.errors[1].title = saved;
	proto_event_clear(&ev);

	build_change(&ev, PROTO_T_MESSAGE_DELETED);
	saved = ev.u.change.change_id;
	ev.u.change.change_id = NULL;
	expect_encode_error(&ev, GW_EMISSING, "change_id: missing");
	ev.u.change.change_id = saved;
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
		cmocka_unit_test(test_round_trip_sent),
		cmocka_unit_test(test_round_trip_received_extras),
		cmocka_unit_test(test_recipient_role_checked),
		cmocka_unit_test(test_round_trip_status),
		cmocka_unit_test(test_round_trip_changes),
		cmocka_unit_test(test_encode_omits_absent),
		cmocka_unit_test(test_json_dump_extras),
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
		cmocka_unit_test(test_decode_any_key_order),
		cmocka_unit_test(test_decode_unknown_keys),
		cmocka_unit_test(test_decode_int_ranges),
		cmocka_unit_test(test_decode_bool),
		cmocka_unit_test(test_decode_double),
		cmocka_unit_test(test_decode_objptr),
		cmocka_unit_test(test_decode_value_sets),
		cmocka_unit_test(test_encode_rejects),
		cmocka_unit_test(test_encode_rejects_extras),
		cmocka_unit_test(test_json_from_msgpack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_telegram.c - the Telegram channel's pure parts: Updates into events
 * (every kind of tests/fixtures/telegram/nutgram, unknown kinds, malformed
 * bodies, getUpdates answers), the webhook's secret token check
 * (secret_token.json), the durable offset (store/telegram_state.h), the Bot
 * API's answers and URLs, the reading of a reply's answer and target, and
 * the config check.
 *
 * Fixtures: tests/fixtures/telegram/ (SOURCES.md names where each comes from).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "connectors/curl_err.h"
#include "connectors/telegram/telegram_config.h"
#include "connectors/telegram/tg_api.h"
#include "connectors/telegram/tg_parse.h"
#include "connectors/telegram/tg_reply.h"
#include "connectors/telegram/tg_secret.h"
#include "core/err.h"
#include "core/util.h"
#include "proto/proto.h"
#include "store/telegram_state.h"

#define RECV 1700000000123LL
#define ACCOUNT "tg-support"
#define NG "nutgram/"

static const struct tg_parse_opts opts = {ACCOUNT, RECV, "4242"};

/* ---- helpers ---------------------------------------------------------------- */

static char *load(const char *rel, size_t *len)
{
	char path[512];
	char *data = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/telegram/%s", GW_FIXTURES, rel);
	rc = gw_read_file(path, 4u << 20, &data, len);
	if (rc != GW_OK)
		fail_msg("cannot read %s: %s", path, gw_strerror(rc));
	return data;
}

/* Every event must encode and decode again: within the proto limits. */
static void assert_encodable(const struct tg_events *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct proto_error perr = {0};
		struct proto_event back;
		char *buf = NULL;
		size_t len = 0;
		int rc = proto_encode(&l->ev[i], &buf, &len, &perr);

		if (rc != GW_OK)
			fail_msg("event %zu does not encode: %s: %s", i, gw_err_name(rc),
				 perr.message);
		rc = proto_decode(buf, len, &back, &perr);
		if (rc != GW_OK)
			fail_msg("event %zu does not decode: %s", i, perr.message);
		proto_event_clear(&back);
		free(buf);
	}
}

static void parse_text(const char *body, struct tg_events *l)
{
	struct tg_parse_error err;
	int rc = tg_parse_update(body, strlen(body), &opts, l, &err);

	if (rc != GW_OK)
		fail_msg("refused: %s: %s", gw_err_name(rc), err.message);
	assert_encodable(l);
}

/* The one event of fixture `name`, which must be a message.received. */
static const struct proto_message *one_msg(const char *name, struct tg_events *l)
{
	size_t len = 0;
	char *body = load(name, &len);

	parse_text(body, l);
	free(body);
	assert_int_equal(l->n, 1);
	assert_int_equal(l->ev[0].type, PROTO_T_MESSAGE_RECEIVED);
	assert_string_equal(l->ev[0].u.message.channel, "telegram");
	assert_string_equal(l->ev[0].u.message.account, ACCOUNT);
	assert_int_equal(l->ev[0].u.message.received_at, RECV);
	return &l->ev[0].u.message;
}

/* `doc` (JSON text) with member `path` (a.b.c) replaced by `value` (JSON). */
static char *with(const char *doc, const char *path, const char *value)
{
	json_t *root = json_loads(doc, 0, NULL), *o = root;
	char key[64], *text;
	const char *p = path, *dot;

	assert_non_null(root);
	while ((dot = strchr(p, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - p), p);
		o = json_object_get(o, key);
		assert_non_null(o);
		p = dot + 1;
	}
	json_object_set_new(o, p, value ? json_loads(value, JSON_DECODE_ANY, NULL) : json_null());
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}

/* ---- messages ------------------------------------------------------------------ */

static void test_text(void **state)
{
	struct tg_events l;
	const struct proto_message *m = one_msg(NG "message.json", &l);

	(void)state;
	assert_string_equal(m->external_id, "456:123");
	assert_string_equal(m->from.address, "456");
	assert_string_equal(m->from.name, "Mario");
	assert_null(m->from.phone);
	assert_string_equal(m->text, "Ciao");
	assert_string_equal(m->kind, "text");
	assert_int_equal(m->sent_at, 1684984664000LL); /* its date, for reply windows */
	assert_int_equal(m->reply_to_len, 0);
	assert_non_null(strstr(m->raw, "\"message_id\":123"));
	assert_int_equal(l.updates, 1);
	assert_int_equal(l.max_update_id, 1);
	assert_int_equal(l.unreadable, 0);
	tg_events_clear(&l);

	m = one_msg(NG "text.json", &l);
	assert_string_equal(m->from.name, "Mario Bros");
	assert_string_equal(m->external_id, "12345678:123456");
	assert_int_equal(l.max_update_id, 123456789);
	tg_events_clear(&l);
}

static void test_photo_largest(void **state)
{
	struct tg_events l;
	const struct proto_message *m = one_msg(NG "photo.json", &l);
	const struct proto_attachment *a;

	(void)state;
	assert_string_equal(m->kind, "photo");
	assert_int_equal(m->attachments_len, 1);
	a = &m->attachments[0];
	/* The biggest file of the three sizes. */
	assert_string_equal(a->ref, "telegram-file:SEES");
	assert_int_equal(a->size, 104893);
	assert_string_equal(a->type, "image/jpeg");
	assert_string_equal(a->kind, "photo");
	assert_string_equal(a->name, "");
	assert_string_equal(a->caption, "asdasdasdasdasdasd");
	assert_string_equal(m->text, "asdasdasdasdasdasd");
	tg_events_clear(&l);
}

struct media_case {
	const char *file, *kind, *ref, *type, *name;
	uint64_t size;
};

static void test_media_kinds(void **state)
{
	static const struct media_case cases[] = {
		{"document.json", "document", "telegram-file:a1b2c34d5e6f7g8h9i", "application/pdf",
		 "document.pdf", 123456},
		{"voice.json", "voice", "telegram-file:dfghjjghdjhgd", "audio/ogg", "", 6448},
		{"audio.json", "audio", "telegram-file:dfhhdfhgdfghdf", "audio/mpeg", "dsagfds.mp3",
		 6858008},
		{"video.json", "video", "telegram-file:sdfsdfsdfsfsdfdsfdsfs", "video/mp4",
		 "sdfsdfsdf.mp4", 4713412},
		{"video_note.json", "video_note", "telegram-file:dfgfdgdfgdfggdfgdf", "video/mp4", "",
		 290925},
		{"sticker.json", "sticker", "telegram-file:yhufjikjhgjkghjffghgf", "image/webp", "",
		 38662},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[64];
		struct tg_events l;
		const struct proto_message *m;
		const struct proto_attachment *a;

		snprintf(name, sizeof(name), NG "%s", cases[i].file);
		m = one_msg(name, &l);
		assert_string_equal(m->kind, cases[i].kind);
		assert_int_equal(m->attachments_len, 1);
		a = &m->attachments[0];
		assert_string_equal(a->kind, cases[i].kind);
		assert_string_equal(a->ref, cases[i].ref);
		assert_string_equal(a->type, cases[i].type);
		assert_string_equal(a->name, cases[i].name);
		assert_int_equal(a->size, cases[i].size);
		if (strcmp(cases[i].kind, "sticker") == 0)
			assert_string_equal(m->text, "\xf0\x9f\xa4\xa3"); /* its emoji */
		tg_events_clear(&l);
	}
}

static void test_animation_not_document(void **state)
{
	struct tg_events l;
	const struct proto_message *m = one_msg(NG "animation.json", &l);

	(void)state;
	/* An animation also comes as a document, for older clients: one file. */
	assert_string_equal(m->kind, "animation");
	assert_int_equal(m->attachments_len, 1);
	assert_string_equal(m->attachments[0].kind, "animation");
	tg_events_clear(&l);
}

static void test_location_venue(void **state)
{
	struct tg_events l;
	const struct proto_message *m = one_msg(NG "location.json", &l);

	(void)state;
	assert_string_equal(m->kind, "location");
	assert_non_null(m->location);
	assert_true(m->location->latitude > 41.8999 && m->location->latitude < 41.9);
	assert_true(m->location->longitude > 12.501 && m->location->longitude < 12.5011);
	assert_string_equal(m->text, "");
	tg_events_clear(&l);

	m = one_msg(NG "venue.json", &l);
	assert_string_equal(m->kind, "venue");
	assert_string_equal(m->location->name, "McDonald's");
	assert_string_equal(m->location->address, "Via Giolitti 65");
	assert_string_equal(m->text, "McDonald's\nVia Giolitti 65");
	tg_events_clear(&l);
}

static void test_contact_of_someone_else(void **state)
{
	struct tg_events l;
	const struct proto_message *m = one_msg(NG "contact.json", &l);

	(void)state;
	assert_string_equal(m->kind, "contact");
	assert_string_equal(m->text, "911: 911");
	/* Another person's card: its number is only claimed by the sender
	 * (the router registers it as a claim, never who the sender is). */
	assert_string_equal(m->from.phone, "+911");
	assert_false(m->from.phone_verified);
	tg_events_clear(&l);
}

static void test_own_contact_is_a_verified_phone(void **state)
{
	size_t len = 0;
	char *body = load(NG "contact.json", &len);
	char *own = with(body, "message.contact",
			 "{\"phone_number\":\"79001234567\",\"first_name\":\"Mario\","
			 "\"user_id\":12345}");
	char *other = with(body, "message.contact",
			   "{\"phone_number\":\"+79001234567\",\"first_name\":\"Luigi\","
			   "\"user_id\":999}");
	struct tg_events l;

	(void)state;
	parse_text(own, &l);
	assert_string_equal(l.ev[0].u.message.from.phone, "+79001234567");
	assert_true(l.ev[0].u.message.from.phone_verified);
	assert_string_equal(l.ev[0].u.message.text, "Mario: 79001234567");
	tg_events_clear(&l);
	parse_text(other, &l);
	assert_string_equal(l.ev[0].u.message.from.phone, "+79001234567");
	assert_false(l.ev[0].u.message.from.phone_verified);
	tg_events_clear(&l);
	free(own);
	free(other);
	free(body);
}

/* The sender's username and language ride as party attributes. */
static void test_sender_attributes(void **state)
{
	struct tg_events l;
	const struct proto_message *m = one_msg(NG "contact.json", &l);

	(void)state;
	assert_int_equal(m->from.attributes_len, 2);
	assert_string_equal(m->from.attributes[0], "telegram.username=MarioBros");
	assert_string_equal(m->from.attributes[1], "telegram.language_code=it");
	assert_encodable(&l);
	tg_events_clear(&l);
}

/* A card's number: Telegram's digits become "+<digits>"; one typed with
 * separators but no '+' stays as written (the router reads it in
 * routing.default_region); anything else is no number. */
static void test_contact_number_forms(void **state)
{
	static const struct {
		const char *card, *phone;
	} cases[] = {
		{"\"+55 11 98765-4321\"", "+5511987654321"},
		{"\"(11) 98765-4321\"", "(11) 98765-4321"},
		{"\"5511987654321\"", "+5511987654321"},
		{"\"call me\"", NULL},
		{"\"+\"", NULL},
		{"\"123456789012345678\"", NULL},
	};
	size_t len = 0;
	char *body = load(NG "contact.json", &len);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char card[160];
		char *u;
		struct tg_events l;

		snprintf(card, sizeof(card), "{\"phone_number\":%s,\"user_id\":12345}",
			 cases[i].card);
		u = with(body, "message.contact", card);
		parse_text(u, &l);
		if (cases[i].phone) {
			assert_string_equal(l.ev[0].u.message.from.phone, cases[i].phone);
			assert_true(l.ev[0].u.message.from.phone_verified);
		} else {
			assert_null(l.ev[0].u.message.from.phone);
		}
		tg_events_clear(&l);
		free(u);
	}
	free(body);
}

static void test_reply_to_message(void **state)
{
	size_t len = 0;
	char *body = load(NG "text.json", &len);
	char *reply = with(body, "message.reply_to_message",
			   "{\"message_id\":9001,\"chat\":{\"id\":12345678,\"type\":\"private\"},"
			   "\"date\":1,\"text\":\"our reply\"}");
	struct tg_events l;

	(void)state;
	parse_text(reply, &l);
	assert_int_equal(l.ev[0].u.message.reply_to_len, 1);
	assert_string_equal(l.ev[0].u.message.reply_to[0], "12345678:9001");
	tg_events_clear(&l);
	free(reply);
	free(body);
}

static void test_unknown_content(void **state)
{
	struct tg_events l;
	const struct proto_message *m = one_msg(NG "dice.json", &l);

	(void)state;
	assert_string_equal(m->kind, "unknown");
	assert_true(m->unsupported);
	assert_string_equal(m->raw_type, "dice");
	assert_non_null(m->raw);
	assert_int_equal(l.unreadable, 0);
	tg_events_clear(&l);
}

/* ---- the other kinds ---------------------------------------------------------------- */

static void test_edited_message(void **state)
{
	size_t len = 0;
	char *body = load(NG "edited_message.json", &len);
	struct tg_events l;
	const struct proto_change *ch;

	(void)state;
	parse_text(body, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.ev[0].type, PROTO_T_MESSAGE_EDITED);
	ch = &l.ev[0].u.change;
	assert_string_equal(ch->external_id, "999999999:23762");
	assert_string_equal(ch->change_id, "999999999:23762:edit:1584985245");
	assert_string_equal(ch->text, "Editing this message");
	assert_int_equal(ch->changed_at, 1584985245000LL);
	assert_string_equal(ch->from->address, "999999999");
	assert_string_equal(ch->account, ACCOUNT);
	tg_events_clear(&l);
	free(body);
}

static void test_callback_query(void **state)
{
	struct tg_events l;
	const struct proto_message *m = one_msg(NG "callback_query.json", &l);

	(void)state;
	assert_string_equal(m->kind, "callback_query");
	assert_string_equal(m->external_id, "callback:666728699048485871");
	assert_string_equal(m->from.address, "222222222");
	assert_string_equal(m->choice->id, "thedata");
	assert_string_equal(m->text, "thedata");
	/* The bot's message the button was on: what threads it back. */
	assert_int_equal(m->reply_to_len, 1);
	assert_string_equal(m->reply_to[0], "222222222:69587");
	tg_events_clear(&l);

	m = one_msg(NG "callback_query_without_message.json", &l);
	assert_int_equal(m->reply_to_len, 0);
	assert_string_equal(m->choice->id, "thedata");
	tg_events_clear(&l);

	m = one_msg(NG "callback_query_inaccessible_message.json", &l);
	assert_string_equal(m->reply_to[0], "222222222:69587");
	tg_events_clear(&l);
}

static void test_callback_button_title(void **state)
{
	size_t len = 0;
	char *body = load(NG "callback_query.json", &len);
	char *b = with(body, "callback_query.data", "\"b\"");
	struct tg_events l;

	(void)state;
	parse_text(b, &l);
	assert_string_equal(l.ev[0].u.message.choice->id, "b");
	assert_string_equal(l.ev[0].u.message.choice->title, "dsa");
	assert_string_equal(l.ev[0].u.message.text, "dsa");
	tg_events_clear(&l);
	free(b);
	free(body);
}

static void test_my_chat_member(void **state)
{
	size_t len = 0;
	char *body = load(NG "my_chat_member.json", &len);
	char *kicked = with(body, "my_chat_member.new_chat_member.status", "\"kicked\"");
	char *back, *tmp;
	struct tg_events l;
	const struct proto_message *m;

	(void)state;
	m = one_msg(NG "my_chat_member.json", &l);
	assert_string_equal(m->kind, "chat_member");
	assert_true(m->auto_reply);
	assert_string_equal(m->raw_type, "my_chat_member");
	assert_int_equal(l.blocked, 0);
	tg_events_clear(&l);

	parse_text(kicked, &l);
	m = &l.ev[0].u.message;
	assert_string_equal(m->kind, "blocked");
	assert_string_equal(m->text, "[the user blocked the bot]");
	assert_string_equal(m->external_id, "member:987654321:123456789:kicked");
	assert_string_equal(m->from.address, "123456789");
	assert_true(m->auto_reply);
	assert_int_equal(l.blocked, 1);
	tg_events_clear(&l);

	tmp = with(body, "my_chat_member.old_chat_member.status", "\"kicked\"");
	back = with(tmp, "my_chat_member.new_chat_member.status", "\"member\"");
	parse_text(back, &l);
	assert_string_equal(l.ev[0].u.message.kind, "unblocked");
	assert_int_equal(l.unblocked, 1);
	tg_events_clear(&l);
	free(tmp);
	free(back);
	free(kicked);
	free(body);
}

static void test_unknown_kinds_kept(void **state)
{
	static const char *const kinds[] = {"channel_post", "chat_join_request",
					    "pre_checkout_query", "message_reaction",
					    "business_message", "chat_boost"};

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char name[64];
		struct tg_events l;
		const struct proto_message *m;

		snprintf(name, sizeof(name), NG "%s.json", kinds[i]);
		m = one_msg(name, &l);
		assert_string_equal(m->kind, "unknown");
		assert_true(m->unsupported);
		assert_string_equal(m->raw_type, kinds[i]);
		assert_non_null(m->raw);
		assert_non_null(strstr(m->raw, "\"update_id\""));
		assert_true(strncmp(m->external_id, "update:", 7) == 0);
		assert_int_equal(l.unreadable, 0);
		tg_events_clear(&l);
	}
}

static void test_poll_has_no_sender(void **state)
{
	size_t len = 0;
	char *body = load(NG "poll.json", &len);
	struct tg_events l;

	const struct proto_message *m;

	(void)state;
	parse_text(body, &l);
	/* Kept as unknown under the bot, flagged automated: filed, no ticket. */
	assert_int_equal(l.n, 1);
	assert_int_equal(l.updates, 1);
	assert_int_equal(l.unreadable, 0);
	assert_int_equal(l.dropped, 0);
	m = &l.ev[0].u.message;
	assert_string_equal(m->kind, "unknown");
	assert_string_equal(m->raw_type, "poll");
	assert_string_equal(m->from.address, "bot4242");
	assert_true(m->auto_reply);
	assert_non_null(strstr(m->automated_reason, "no sender"));
	assert_non_null(strstr(m->raw, "\"question\""));
	assert_true(strncmp(m->external_id, "update:123456789:", 17) == 0);
	assert_encodable(&l);
	tg_events_clear(&l);
	free(body);
}

/* Every fixture: accepted, at most one event, encodable, the same ids on
 * a second parse (a redelivery deduplicates). */
static void test_every_fixture(void **state)
{
	char dir[512];
	struct dirent *e;
	DIR *d;
	size_t files = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/telegram/nutgram", GW_FIXTURES);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char name[300];
		size_t len = 0;
		char *body;
		struct tg_events a, b;

		if (!strstr(e->d_name, ".json"))
			continue;
		snprintf(name, sizeof(name), NG "%s", e->d_name);
		body = load(name, &len);
		parse_text(body, &a);
		parse_text(body, &b);
		assert_true(a.n <= 1);
		assert_int_equal(a.n, b.n);
		assert_int_equal(a.updates, 1);
		assert_true(a.n == 1 || a.dropped == 1);
		if (a.n == 1 && a.ev[0].type == PROTO_T_MESSAGE_RECEIVED)
			assert_string_equal(a.ev[0].u.message.external_id,
					    b.ev[0].u.message.external_id);
		tg_events_clear(&a);
		tg_events_clear(&b);
		free(body);
		files++;
	}
	closedir(d);
	assert_true(files >= 105);
}

/* ---- malformed bodies ----------------------------------------------------------------- */

static void test_not_an_update(void **state)
{
	static const char *const bad[] = {
		"", "not json", "[]", "{}", "{\"update_id\":-1}", "{\"update_id\":\"5\"}",
		"{\"update_id\":1.5}", "42", "{\"message\":{\"text\":\"x\"}}",
		"{\"update_id\":1,\"update_id\":2}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tg_events l;
		struct tg_parse_error err;
		int rc = tg_parse_update(bad[i], strlen(bad[i]), &opts, &l, &err);

		if (rc != GW_EPROTO)
			fail_msg("body %zu (%s): %s, not GW_EPROTO", i, bad[i], gw_err_name(rc));
		assert_int_equal(err.code, GW_EPROTO);
		assert_true(err.message[0] != '\0');
		assert_int_equal(l.n, 0);
		assert_null(l.ev);
	}
}

static void test_unreadable_updates_kept_or_dropped(void **state)
{
	struct tg_events l;

	(void)state;
	/* No kind at all: kept as unknown, under the bot. */
	parse_text("{\"update_id\":5}", &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.unreadable, 0);
	assert_int_equal(l.dropped, 0);
	assert_int_equal(l.max_update_id, 5);
	assert_string_equal(l.ev[0].u.message.raw_type, "update");
	assert_string_equal(l.ev[0].u.message.from.address, "bot4242");
	assert_encodable(&l);
	tg_events_clear(&l);
	/* A message without its id, from a known chat: kept as unknown. */
	parse_text("{\"update_id\":6,\"message\":{\"chat\":{\"id\":77},\"text\":\"x\"}}", &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.unreadable, 1);
	assert_int_equal(l.dropped, 0);
	assert_string_equal(l.ev[0].u.message.kind, "unknown");
	assert_string_equal(l.ev[0].u.message.raw_type, "message");
	assert_string_equal(l.ev[0].u.message.from.address, "77");
	assert_non_null(strstr(l.unreadable_why, "message_id"));
	tg_events_clear(&l);
	/* A message of nobody: unreadable, kept under the bot (automated). */
	parse_text("{\"update_id\":7,\"message\":{\"text\":\"x\"}}", &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.unreadable, 1);
	assert_int_equal(l.dropped, 0);
	assert_string_equal(l.ev[0].u.message.from.address, "bot4242");
	assert_true(l.ev[0].u.message.auto_reply);
	tg_events_clear(&l);
	/* A kind that is not an object: the same. */
	parse_text("{\"update_id\":8,\"message\":\"hello\"}", &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.unreadable, 1);
	assert_int_equal(l.dropped, 0);
	tg_events_clear(&l);
}

static void test_get_updates_answer(void **state)
{
	size_t len = 0;
	char *a = load(NG "message.json", &len), *b = load(NG "edited_message.json", &len);
	char *body = malloc(strlen(a) + strlen(b) + 64);
	struct tg_events l;
	struct tg_parse_error err;
	int rc;

	(void)state;
	snprintf(body, strlen(a) + strlen(b) + 64, "{\"ok\":true,\"result\":[%s,42,{\"x\":1},%s]}",
		 a, b);
	rc = tg_parse_updates(body, strlen(body), &opts, &l, &err);
	assert_int_equal(rc, GW_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.updates, 2);
	assert_int_equal(l.unreadable, 2);
	assert_int_equal(l.dropped, 2);
	assert_int_equal(l.max_update_id, 62257549);
	assert_encodable(&l);
	tg_events_clear(&l);
	rc = tg_parse_updates("{\"ok\":true,\"result\":[]}", 23, &opts, &l, &err);
	assert_int_equal(rc, GW_OK);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.max_update_id, -1);
	rc = tg_parse_updates("{\"ok\":false,\"error_code\":409}", 30, &opts, &l, &err);
	assert_int_equal(rc, GW_EPROTO);
	free(body);
	free(a);
	free(b);
}

static void test_get_updates_too_many(void **state)
{
	size_t n = TG_MAX_UPDATES + 1, cap = n * 40 + 64, off;
	char *body = malloc(cap);
	struct tg_events l;
	struct tg_parse_error err;

	(void)state;
	off = (size_t)snprintf(body, cap, "{\"ok\":true,\"result\":[");
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(body + off, cap - off, "%s{\"update_id\":%zu}", i ? "," : "",
					i);
	snprintf(body + off, cap - off, "]}");
	assert_int_equal(tg_parse_updates(body, strlen(body), &opts, &l, &err), GW_ETOOBIG);
	assert_int_equal(l.n, 0);
	free(body);
}

/* ---- the secret token -------------------------------------------------------------------- */

/* A case's value: `key`, or `key_repeat` ([char, count]); NULL when null. */
static char *case_value(const json_t *c, const char *key)
{
	char rk[64];
	const json_t *rep;

	snprintf(rk, sizeof(rk), "%s_repeat", key);
	rep = json_object_get(c, rk);
	if (rep) {
		size_t n = (size_t)json_integer_value(json_array_get(rep, 1));
		char *s = malloc(n + 1);

		memset(s, json_string_value(json_array_get(rep, 0))[0], n);
		s[n] = '\0';
		return s;
	}
	return gw_strdup(json_string_value(json_object_get(c, key)));
}

static void test_secret_token_vectors(void **state)
{
	size_t len = 0, i;
	char *text = load("secret_token.json", &len);
	json_t *doc = json_loadb(text, len, 0, NULL), *c;

	(void)state;
	assert_non_null(doc);
	json_array_foreach(json_object_get(doc, "cases"), i, c) {
		char *conf = case_value(c, "configured"), *hdr = case_value(c, "header");
		enum tg_secret_result r = tg_secret_verify(conf, strlen(conf), hdr,
							   hdr ? strlen(hdr) : 0);
		const char *want = json_string_value(json_object_get(c, "expected"));

		if (strcmp(tg_secret_result_name(r), want) != 0)
			fail_msg("case %s: %s, expected %s",
				 json_string_value(json_object_get(c, "id")),
				 tg_secret_result_name(r), want);
		free(conf);
		free(hdr);
	}
	assert_true(i >= 10);
	json_decref(doc);
	free(text);
}

/* ---- the offset ----------------------------------------------------------------------------- */

static void test_offset_rules(void **state)
{
	struct telegram_state st = {0, 0};

	(void)state;
	/* Fresh: no offset sent, Telegram starts at its earliest. */
	assert_int_equal(telegram_state_request_offset(&st), 0);
	assert_int_equal(telegram_state_answered(&st, 0), 0);
	/* Updates 10..14 durable: offset 15, owed to Telegram. */
	assert_int_equal(telegram_state_advance(&st, 14), 1);
	assert_int_equal(st.offset, 15);
	assert_false(st.confirmed);
	assert_int_equal(telegram_state_request_offset(&st), 15);
	/* The same again changes nothing; an older id never lowers it. */
	assert_int_equal(telegram_state_advance(&st, 14), 0);
	assert_int_equal(telegram_state_advance(&st, 3), 0);
	assert_int_equal(st.offset, 15);
	/* An answer to another offset confirms nothing; to 15 it does. */
	assert_int_equal(telegram_state_answered(&st, 0), 0);
	assert_int_equal(telegram_state_answered(&st, 14), 0);
	assert_int_equal(telegram_state_answered(&st, 15), 1);
	assert_true(st.confirmed);
	assert_int_equal(telegram_state_answered(&st, 15), 0);
	/* Confirmed: no offset is sent (Telegram may restart its ids). */
	assert_int_equal(telegram_state_request_offset(&st), 0);
	/* Ids restarted lower after a week: they are taken as they come. */
	assert_int_equal(telegram_state_advance(&st, 7), 1);
	assert_int_equal(st.offset, 8);
	assert_int_equal(telegram_state_request_offset(&st), 8);
	/* Bounds. */
	assert_int_equal(telegram_state_advance(&st, -1), -1);
	assert_int_equal(telegram_state_advance(&st, INT64_MAX), -1);
	assert_int_equal(st.offset, 8);
}

static void test_offset_file(void **state)
{
	char dir[] = "/tmp/gw-tg-state-XXXXXX", path[256], why[128];
	struct telegram_state st = {4242, 0}, back;
	int fresh = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tg.state", dir);
	assert_int_equal(telegram_state_load(path, "123", &back, &fresh, why, sizeof(why)), GW_OK);
	assert_int_equal(fresh, 1);
	assert_int_equal(back.offset, 0);
	assert_int_equal(telegram_state_save(path, "123", &st), GW_OK);
	assert_int_equal(telegram_state_load(path, "123", &back, &fresh, why, sizeof(why)), GW_OK);
	assert_int_equal(fresh, 0);
	assert_int_equal(back.offset, 4242);
	assert_false(back.confirmed);
	st.confirmed = 1;
	assert_int_equal(telegram_state_save(path, "123", &st), GW_OK);
	assert_int_equal(telegram_state_load(path, "123", &back, &fresh, why, sizeof(why)), GW_OK);
	assert_true(back.confirmed);
	/* Another bot's token: its offsets say nothing here. */
	assert_int_equal(telegram_state_load(path, "999", &back, &fresh, why, sizeof(why)), GW_OK);
	assert_int_equal(fresh, 1);
	assert_int_equal(back.offset, 0);
	/* A damaged file is an error that says why, never a silent restart. */
	assert_int_equal(gw_write_file_durable(path, "{\"version\":1,\"bot\":\"123\",\"offset\":-4}",
					       37), GW_OK);
	assert_int_equal(telegram_state_load(path, "123", &back, &fresh, why, sizeof(why)),
			 GW_EPROTO);
	assert_non_null(strstr(why, "offset"));
	assert_int_equal(gw_write_file_durable(path, "garbage", 7), GW_OK);
	assert_int_equal(telegram_state_load(path, "123", &back, &fresh, why, sizeof(why)),
			 GW_EPROTO);
	unlink(path);
	rmdir(dir);
}

/* ---- the Bot API ------------------------------------------------------------------------------ */

static void test_answers_and_urls(void **state)
{
	static const char err429[] = "{\"ok\":false,\"error_code\":429,\"description\":"
				     "\"Too Many Requests: retry after 3\",\"parameters\":"
				     "{\"retry_after\":3}}";
	static const char sent[] = "{\"ok\":true,\"result\":{\"message_id\":9001,\"chat\":"
				   "{\"id\":-1001234,\"type\":\"supergroup\"},\"date\":1}}";
	struct tg_answer a;
	char buf[256];

	(void)state;
	assert_int_equal(tg_answer_parse(err429, strlen(err429), &a), GW_OK);
	assert_false(a.ok);
	assert_int_equal(a.error_code, 429);
	assert_int_equal(a.retry_after_s, 3);
	assert_string_equal(a.description, "Too Many Requests: retry after 3");
	assert_int_equal(tg_answer_parse("<html>bad gateway</html>", 24, &a), GW_EPROTO);
	assert_int_equal(a.retry_after_s, -1);
	assert_int_equal(tg_answer_sent(sent, strlen(sent), buf, sizeof(buf)), GW_OK);
	assert_string_equal(buf, "-1001234:9001");
	assert_int_equal(tg_answer_sent(err429, strlen(err429), buf, sizeof(buf)), GW_EPROTO);
	assert_int_equal(tg_method_url(buf, sizeof(buf), "https://api.telegram.org/", "1:AB",
				       "getUpdates"), GW_OK);
	assert_string_equal(buf, "https://api.telegram.org/bot1:AB/getUpdates");
	assert_int_equal(tg_file_url(buf, sizeof(buf), "http://127.0.0.1:9", "1:AB",
				     "photos/file_0.jpg"), GW_OK);
	assert_string_equal(buf, "http://127.0.0.1:9/file/bot1:AB/photos/file_0.jpg");
	assert_int_equal(tg_file_url(buf, sizeof(buf), "x", "t", "../etc/passwd"), GW_EINVAL);
	assert_int_equal(tg_file_url(buf, sizeof(buf), "x", "t", "/abs"), GW_EINVAL);
	assert_int_equal(tg_file_url(buf, sizeof(buf), "x", "t", "a b"), GW_EINVAL);
	assert_int_equal(tg_method_url(buf, 8, "https://api.telegram.org", "1:AB", "x"),
			 GW_ETOOBIG);
}

static void judge(long status, const char *body, CURLcode res, int last,
		  struct sender_outcome *out)
{
	struct sender_attempt a = {0, 0, gw_curl_err(res), status, body, body ? strlen(body) : 0, -1, ""};

	memset(out, 0, sizeof(*out));
	tg_reply_judge(&a, last, ACCOUNT, out);
}

static void test_reply_judge(void **state)
{
	struct sender_outcome o;

	(void)state;
	judge(200, "{\"ok\":true,\"result\":{\"message_id\":77,\"chat\":{\"id\":456}}}", CURLE_OK,
	      1, &o);
	assert_int_equal(o.verdict, SENDER_DONE);
	assert_string_equal(o.ref_id, "456:77");
	assert_string_equal(o.ref_account, ACCOUNT);
	judge(200, "{\"ok\":true,\"result\":{\"message_id\":76,\"chat\":{\"id\":456}}}", CURLE_OK,
	      0, &o);
	assert_int_equal(o.verdict, SENDER_NEXT);
	assert_string_equal(o.ref_id, "456:76");
	judge(429, "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry "
	      "after 3\",\"parameters\":{\"retry_after\":3}}", CURLE_OK, 1, &o);
	assert_int_equal(o.verdict, SENDER_RETRY);
	assert_true(o.slow_down);
	assert_int_equal(o.retry_after_ms, 3000);
	judge(403, "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: bot was blocked "
	      "by the user\"}", CURLE_OK, 1, &o);
	assert_int_equal(o.verdict, SENDER_FAIL);
	assert_false(o.auth);
	assert_string_equal(o.reason, "Telegram answered 403: Forbidden: bot was blocked by the "
			    "user");
	judge(401, "{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized\"}", CURLE_OK,
	      1, &o);
	assert_int_equal(o.verdict, SENDER_FAIL);
	assert_true(o.auth);
	judge(400, "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: chat not "
	      "found\"}", CURLE_OK, 1, &o);
	assert_int_equal(o.verdict, SENDER_FAIL);
	assert_non_null(strstr(o.reason, "chat not found"));
	judge(502, "<html>Bad Gateway</html>", CURLE_OK, 1, &o);
	assert_int_equal(o.verdict, SENDER_RETRY);
	assert_string_equal(o.reason, "Telegram answered 502");
	judge(0, NULL, CURLE_COULDNT_CONNECT, 1, &o);
	assert_int_equal(o.verdict, SENDER_RETRY);
}

static void test_reply_target(void **state)
{
	char *rt[2] = {"callback:x", "12345:678"};
	struct proto_party to = {.address = "12345"};
	struct proto_message m = {.reply_to = rt, .reply_to_len = 2, .to = &to};
	char chat[TG_CHAT_ID_MAX];
	int64_t id = -1;

	(void)state;
	assert_int_equal(tg_reply_target(&m, chat, &id), GW_OK);
	assert_string_equal(chat, "12345");
	assert_int_equal(id, 678);
	/* The last entry names no message: the customer's own chat. */
	m.reply_to_len = 1;
	assert_int_equal(tg_reply_target(&m, chat, &id), GW_OK);
	assert_string_equal(chat, "12345");
	assert_int_equal(id, 0);
	rt[0] = "-1001234:9";
	assert_int_equal(tg_reply_target(&m, chat, &id), GW_OK);
	assert_string_equal(chat, "-1001234");
	assert_int_equal(id, 9);
	m.reply_to_len = 0;
	to.address = "not-a-chat";
	assert_int_equal(tg_reply_target(&m, chat, &id), GW_EINVAL);
}

/* ---- config ------------------------------------------------------------------------------------ */

static void test_config_check(void **state)
{
	char *updates[] = {"message", "callback_query"};
	struct telegram_settings s = {
		.token = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11", .mode = "polling",
		.api_url = "https://api.telegram.org", .path = "/webhooks/telegram",
		.allowed_updates = {updates, 2},
	};
	char why[256], id[TG_BOT_ID_MAX + 1];

	(void)state;
	assert_int_equal(telegram_conf_type.check(&s, why, sizeof(why)), GW_OK);
	assert_int_equal(telegram_bot_id(s.token, id, sizeof(id)), GW_OK);
	assert_string_equal(id, "123456");
	s.token = "no-colon";
	assert_int_equal(telegram_conf_type.check(&s, why, sizeof(why)), GW_ECONFIG);
	assert_non_null(strstr(why, "token"));
	s.token = "123456:ABC";
	s.mode = "webhook";
	assert_int_equal(telegram_conf_type.check(&s, why, sizeof(why)), GW_ECONFIG);
	assert_non_null(strstr(why, "secret_token"));
	s.secret_token = "has space";
	assert_int_equal(telegram_conf_type.check(&s, why, sizeof(why)), GW_ECONFIG);
	s.secret_token = "Good_secret-0123";
	assert_int_equal(telegram_conf_type.check(&s, why, sizeof(why)), GW_OK);
	s.webhook_url = "http://example.com/hook";
	assert_int_equal(telegram_conf_type.check(&s, why, sizeof(why)), GW_ECONFIG);
	assert_non_null(strstr(why, "webhook_url"));
	s.webhook_url = NULL;
	s.mode = "push";
	assert_int_equal(telegram_conf_type.check(&s, why, sizeof(why)), GW_ECONFIG);
	s.mode = "polling";
	updates[1] = "Bad-Kind";
	assert_int_equal(telegram_conf_type.check(&s, why, sizeof(why)), GW_ECONFIG);
	assert_non_null(strstr(why, "allowed_updates"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_photo_largest),
		cmocka_unit_test(test_media_kinds),
		cmocka_unit_test(test_animation_not_document),
		cmocka_unit_test(test_location_venue),
		cmocka_unit_test(test_contact_of_someone_else),
		cmocka_unit_test(test_contact_number_forms),
		cmocka_unit_test(test_sender_attributes),
		cmocka_unit_test(test_own_contact_is_a_verified_phone),
		cmocka_unit_test(test_reply_to_message),
		cmocka_unit_test(test_unknown_content),
		cmocka_unit_test(test_edited_message),
		cmocka_unit_test(test_callback_query),
		cmocka_unit_test(test_callback_button_title),
		cmocka_unit_test(test_my_chat_member),
		cmocka_unit_test(test_unknown_kinds_kept),
		cmocka_unit_test(test_poll_has_no_sender),
		cmocka_unit_test(test_every_fixture),
		cmocka_unit_test(test_not_an_update),
		cmocka_unit_test(test_unreadable_updates_kept_or_dropped),
		cmocka_unit_test(test_get_updates_answer),
		cmocka_unit_test(test_get_updates_too_many),
		cmocka_unit_test(test_secret_token_vectors),
		cmocka_unit_test(test_offset_rules),
		cmocka_unit_test(test_offset_file),
		cmocka_unit_test(test_answers_and_urls),
		cmocka_unit_test(test_reply_judge),
		cmocka_unit_test(test_reply_target),
		cmocka_unit_test(test_config_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

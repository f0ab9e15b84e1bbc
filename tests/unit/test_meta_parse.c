/*
 * test_meta_parse.c - Meta webhook bodies (WhatsApp, Messenger, Instagram)
 * into events: every fixture shape gives the right events, ids are stable
 * across redeliveries, bad bodies are refused with the right code, and every
 * event produced is encodable (within the proto limits).
 *
 * Fixtures: tests/fixtures/meta/ (SOURCES.md names where each comes from).
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

#include "connectors/meta/meta_parse.h"
#include "core/err.h"
#include "core/util.h"
#include "proto/proto.h"

#define RECV 1700000000123LL
#define WA "whatsapp/pywa/"
#define MS "messenger/messenger4j/"
#define IG "instagram/chatwoot/"

/* Every event must encode and decode again: it is within the proto limits. */
static void assert_encodable(const struct meta_events *l)
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
			fail_msg("event %zu does not decode: %s: %s", i, gw_err_name(rc),
				 perr.message);
		assert_int_equal(back.type, l->ev[i].type);
		proto_event_clear(&back);
		free(buf);
	}
}

static int parse_buf(const char *body, size_t len, struct meta_events *l,
		     struct meta_parse_error *err)
{
	memset(l, 0, sizeof(*l));
	return meta_parse(body, len, RECV, l, err);
}

/* Parses a body that must be accepted; checks encodability. */
static void parse_ok(const char *body, size_t len, struct meta_events *l)
{
	struct meta_parse_error err;
	int rc = parse_buf(body, len, l, &err);

	if (rc != GW_OK)
		fail_msg("refused: %s: %s", gw_err_name(rc), err.message);
	assert_int_equal(err.code, GW_OK);
	assert_encodable(l);
}

static char *load(const char *rel, size_t *len)
{
	char path[512];
	char *data = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/meta/%s", GW_FIXTURES, rel);
	rc = gw_read_file(path, 4u << 20, &data, len);
	if (rc != GW_OK)
		fail_msg("cannot read %s: %s", path, gw_err_name(rc));
	return data;
}

/* Parses a fixture that must give exactly `n` events. */
static void parse_file(const char *rel, size_t n, struct meta_events *l)
{
	size_t len;
	char *body = load(rel, &len);

	parse_ok(body, len, l);
	free(body);
	if (l->n != n)
		fail_msg("%s: %zu events, want %zu", rel, l->n, n);
}

/* The only event of a fixture, which must be of `type`. */
static struct proto_event *one(const char *rel, enum proto_type type, struct meta_events *l)
{
	parse_file(rel, 1, l);
	assert_int_equal(l->ev[0].type, type);
	assert_int_equal(l->ev[0].ts, RECV);
	return &l->ev[0];
}

/* The message of a one-message fixture, with the envelope checked. */
static struct proto_message *wa_msg(const char *rel, struct meta_events *l)
{
	struct proto_message *m = &one(rel, PROTO_T_MESSAGE_RECEIVED, l)->u.message;

	assert_string_equal(m->channel, "whatsapp");
	assert_string_equal(m->account, "1122334455667");
	assert_int_equal(m->received_at, RECV);
	assert_non_null(m->text);
	assert_non_null(m->raw);
	assert_null(m->direction);
	return m;
}

static void assert_customer(const struct proto_message *m)
{
	assert_string_equal(m->from.address, "972987654321");
	assert_string_equal(m->from.name, "Test Name");
	assert_non_null(m->to);
	assert_string_equal(m->to->address, "972123456789");
}

/* Asserts the single reply_to id (NULL: none). */
static void assert_reply_to(const struct proto_message *m, const char *id)
{
	if (!id) {
		assert_int_equal(m->reply_to_len, 0);
		return;
	}
	assert_int_equal(m->reply_to_len, 1);
	assert_string_equal(m->reply_to[0], id);
}

static void assert_refused(const char *body, int want, const char *want_in_message)
{
	struct meta_events l;
	struct meta_parse_error err;
	int rc = parse_buf(body, strlen(body), &l, &err);

	if (rc != want)
		fail_msg("got %s (%s), want %s", gw_err_name(rc), err.message, gw_err_name(want));
	assert_int_equal(err.code, want);
	assert_int_equal(l.n, 0);
	assert_null(l.ev);
	if (want_in_message && !strstr(err.message, want_in_message))
		fail_msg("message \"%s\" lacks \"%s\"", err.message, want_in_message);
}

/* ---- WhatsApp: messages ---- */

static void test_wa_text(void **state)
{
	struct meta_events l;
	struct proto_message *m = wa_msg(WA "message__text.json", &l);
	json_t *raw;

	(void)state;
	assert_customer(m);
	assert_string_equal(m->external_id, "wamid.xyzxyz");
	assert_string_equal(m->kind, "text");
	assert_string_equal(m->raw_type, "text");
	assert_string_equal(m->text, "Body Text");
	assert_int_equal(m->sent_at, 1697043223000LL); /* its timestamp, for the window */
	assert_false(m->unsupported);
	assert_reply_to(m, NULL);
	assert_int_equal(m->attachments_len, 0);
	/* raw is the message object, compact. */
	raw = json_loads(m->raw, 0, NULL);
	assert_non_null(raw);
	assert_string_equal(json_string_value(json_object_get(raw, "id")), "wamid.xyzxyz");
	assert_null(strchr(m->raw, '\n'));
	json_decref(raw);
	meta_events_clear(&l);
}

static void assert_media(const struct proto_message *m, const char *kind, const char *ref,
			 const char *type, const char *sha256)
{
	assert_string_equal(m->kind, kind);
	assert_string_equal(m->raw_type, kind);
	assert_int_equal(m->attachments_len, 1);
	assert_string_equal(m->attachments[0].kind, kind);
	assert_string_equal(m->attachments[0].ref, ref);
	assert_string_equal(m->attachments[0].type, type);
	assert_string_equal(m->attachments[0].sha256, sha256);
	assert_int_equal(m->attachments[0].size, 0);
	assert_false(m->unsupported);
}

static void test_wa_image(void **state)
{
	struct meta_events l;
	struct proto_message *m = wa_msg(WA "message__image.json", &l);

	(void)state;
	assert_customer(m);
	assert_media(m, "image", "whatsapp-media:65463453", "image/jpeg", "4654+8g=");
	assert_string_equal(m->attachments[0].name, "");
	assert_null(m->attachments[0].caption);
	assert_string_equal(m->text, "");
	meta_events_clear(&l);

	/* A media URL in the body does not replace the media id: it expires. */
	m = wa_msg(WA "message__media_with_url.json", &l);
	assert_media(m, "image", "whatsapp-media:65463453", "image/jpeg", "4654+8g=");
	meta_events_clear(&l);
}

static void test_wa_video_document(void **state)
{
	struct meta_events l;
	struct proto_message *m = wa_msg(WA "message__video.json", &l);

	(void)state;
	assert_media(m, "video", "whatsapp-media:765756756", "video/mp4",
		     "Jh+2ij6PzUv/J2y+grrtegr/ZMzRxkEPwc24Oyib4s03w9Jc=");
	assert_string_equal(m->attachments[0].caption, "caption");
	assert_string_equal(m->text, "caption");
	/* context.forwarded is not a reply. */
	assert_reply_to(m, NULL);
	meta_events_clear(&l);

	m = wa_msg(WA "message__document.json", &l);
	assert_media(m, "document", "whatsapp-media:1234567890987654321", "application/pdf",
		     "grwfwe/ZPx0wAbdfbdeFUNItPZ0RylL8gGUvdt3YFqc18SY=");
	assert_string_equal(m->attachments[0].name, "filename.pdf");
	assert_string_equal(m->attachments[0].caption, "caption");
	assert_string_equal(m->text, "caption");
	meta_events_clear(&l);
}

static void test_wa_audio_sticker(void **state)
{
	static const char *const files[] = {"message__audio.json", "message__voice.json"};
	struct meta_events l;
	struct proto_message *m;
	char rel[128];

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		snprintf(rel, sizeof(rel), WA "%s", files[i]);
		m = wa_msg(rel, &l);
		assert_string_equal(m->kind, "audio");
		assert_string_equal(m->attachments[0].type, "audio/ogg; codecs=opus");
		assert_string_equal(m->attachments[0].ref, "whatsapp-media:1234567890987654321");
		assert_string_equal(m->text, "");
		meta_events_clear(&l);
	}
	m = wa_msg(WA "message__static_sticker.json", &l);
	assert_media(m, "sticker", "whatsapp-media:1234567890987654321", "image/webp",
		     "OmT4nhjUhCMIPNmj7eeOZeCYjTXkLxoOv85OMCFwSuc=");
	meta_events_clear(&l);
	m = wa_msg(WA "message__animated_sticker.json", &l);
	assert_media(m, "sticker", "whatsapp-media:1234567890987654321", "image/webp",
		     "HcwyCKrTKXHk0a00ms4HWIA76GY0Du6q4Z/iuwevw=");
	meta_events_clear(&l);
}

static void test_wa_location(void **state)
{
	struct meta_events l;
	struct proto_message *m = wa_msg(WA "message__chosen_location.json", &l);

	(void)state;
	assert_string_equal(m->kind, "location");
	assert_non_null(m->location);
	assert_true(m->location->latitude == 37.4611978);
	assert_true(m->location->longitude == -122.2164385);
	assert_string_equal(m->location->name, "Facebook HQ");
	assert_string_equal(m->location->address, "1 Hacker Way, Menlo Park, CA 94025");
	assert_string_equal(m->location->url, "https://maps.google.com/?cid=2000000000000000000");
	assert_string_equal(m->text, "Facebook HQ\n1 Hacker Way, Menlo Park, CA 94025");
	meta_events_clear(&l);

	m = wa_msg(WA "message__current_location.json", &l);
	assert_true(m->location->latitude == 12.25089);
	assert_true(m->location->longitude == 43.90539);
	assert_null(m->location->name);
	assert_null(m->location->address);
	assert_null(m->location->url);
	assert_string_equal(m->text, "");
	meta_events_clear(&l);
}

static void test_wa_contacts(void **state)
{
	struct meta_events l;
	struct proto_message *m = wa_msg(WA "message__contacts.json", &l);

	(void)state;
	assert_string_equal(m->kind, "contacts");
	assert_string_equal(m->text, "Chandler Bing: +1 555-555-5555\n"
				     "Monica: +1 666-666-6666\n"
				     "Rachel Green: +1 777-777-7777");
	/* The cards themselves (emails, addresses, ...) stay in raw. */
	assert_non_null(strstr(m->raw, "\"formatted_name\":\"Rachel Green\""));
	meta_events_clear(&l);
}

static void test_wa_interactive(void **state)
{
	struct meta_events l;
	struct proto_message *m = wa_msg(WA "callback_button__button.json", &l);

	(void)state;
	assert_string_equal(m->kind, "interactive");
	assert_non_null(m->choice);
	assert_string_equal(m->choice->id, "callback_data");
	assert_string_equal(m->choice->title, "title");
	assert_null(m->choice->description);
	assert_string_equal(m->text, "title");
	assert_reply_to(m, "wamid.xyzxyz");
	meta_events_clear(&l);

	m = wa_msg(WA "callback_selection__callback.json", &l);
	assert_string_equal(m->external_id, "wamid.zyzxyz");
	assert_string_equal(m->choice->id, "callback_data");
	assert_null(m->choice->description);
	meta_events_clear(&l);

	m = wa_msg(WA "callback_selection__description.json", &l);
	assert_string_equal(m->choice->title, "title");
	assert_string_equal(m->choice->description, "description");
	meta_events_clear(&l);

	/* A Flow's answer: its text, its data in raw. */
	m = wa_msg(WA "flow_completion__completion.json", &l);
	assert_string_equal(m->kind, "interactive");
	assert_string_equal(m->text, "Sent");
	assert_null(m->choice);
	assert_false(m->unsupported);
	assert_non_null(strstr(m->raw, "response_json"));
	meta_events_clear(&l);
}

static void test_wa_button(void **state)
{
	struct meta_events l;
	struct proto_message *m = wa_msg(WA "callback_button__quick_reply.json", &l);

	(void)state;
	assert_string_equal(m->kind, "button");
	assert_string_equal(m->external_id, "wamid.xsidjw");
	assert_string_equal(m->choice->id, "callback_data");
	assert_string_equal(m->choice->title, "title");
	assert_string_equal(m->text, "title");
	assert_reply_to(m, "wamid.xyzxyz==");
	meta_events_clear(&l);

	m = wa_msg(WA "callback_button__quick_reply_without_context.json", &l);
	assert_string_equal(m->choice->id, "callback_data");
	assert_reply_to(m, NULL);
	meta_events_clear(&l);
}

static void test_wa_reaction(void **state)
{
	static const char *const removed[] = {"message__unreaction_empty.json",
					      "message__unreaction_no_emoji.json"};
	struct meta_events l;
	struct proto_message *m = wa_msg(WA "message__reaction.json", &l);
	char rel[128];

	(void)state;
	assert_string_equal(m->kind, "reaction");
	assert_non_null(m->reaction);
	assert_string_equal(m->reaction->message_id, "wamid.yzxyzx=");
	assert_string_equal(m->reaction->emoji, "\xF0\x9F\x98\xAE");
	assert_string_equal(m->text, "\xF0\x9F\x98\xAE");
	assert_reply_to(m, "wamid.yzxyzx=");
	meta_events_clear(&l);

	for (size_t i = 0; i < 2; i++) {
		snprintf(rel, sizeof(rel), WA "%s", removed[i]);
		m = wa_msg(rel, &l);
		assert_string_equal(m->kind, "reaction");
		assert_string_equal(m->reaction->message_id, "wamid.yzxyzx=");
		assert_string_equal(m->reaction->emoji, "");
		assert_string_equal(m->text, "");
		meta_events_clear(&l);
	}
}

static void test_wa_order_system(void **state)
{
	struct meta_events l;
	struct proto_message *m = wa_msg(WA "message__order.json", &l);

	(void)state;
	assert_string_equal(m->kind, "order");
	assert_string_equal(m->text, "order: 3 items (catalog 354160437058781)");
	assert_non_null(strstr(m->raw, "FRENCH_FRIES"));
	meta_events_clear(&l);

	m = wa_msg(WA "system__identity_change.json", &l);
	assert_string_equal(m->kind, "system");
	assert_string_equal(m->text, "User identity changed");
	assert_string_equal(m->from.name, "User A");
	meta_events_clear(&l);

	/* No contacts in the body: no name. */
	m = wa_msg(WA "system__phone_number_change.json", &l);
	assert_string_equal(m->text, "User A changed from 972987654321 to 972912345678");
	assert_string_equal(m->from.address, "972987654321");
	assert_null(m->from.name);
	meta_events_clear(&l);
}

static void test_wa_referral_reply(void **state)
{
	struct meta_events l;
	struct proto_message *m = wa_msg(WA "message__referral.json", &l);

	(void)state;
	assert_string_equal(m->kind, "text");
	assert_string_equal(m->text, "BODY");
	assert_string_equal(m->external_id, "wamid.ID");
	assert_non_null(m->referral);
	assert_string_equal(m->referral->type, "ad or post");
	assert_string_equal(m->referral->id, "ADID");
	assert_string_equal(m->referral->url, "AD_OR_POST_FB_URL");
	assert_string_equal(m->referral->headline, "AD_TITLE");
	assert_string_equal(m->referral->body, "AD_DESCRIPTION");
	meta_events_clear(&l);

	m = wa_msg(WA "message__reply.json", &l);
	assert_string_equal(m->text, "replied text");
	assert_reply_to(m, "wamid.xyzxyz==");
	meta_events_clear(&l);

	m = wa_msg(WA "message__forwarded_many_times.json", &l);
	assert_string_equal(m->text, "text forwarded many times");
	assert_reply_to(m, NULL);
	meta_events_clear(&l);

	m = wa_msg(WA "message__forwarded.json", &l);
	assert_string_equal(m->text, "forwarded text");
	meta_events_clear(&l);
}

static void test_wa_unknown(void **state)
{
	static const char *const files[] = {"message__unsupported.json",
					    "message__unsupported_with_type.json"};
	struct meta_events l;
	struct proto_message *m;
	char rel[128];

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		snprintf(rel, sizeof(rel), WA "%s", files[i]);
		m = wa_msg(rel, &l);
		assert_string_equal(m->kind, "unknown");
		assert_string_equal(m->raw_type, "unsupported");
		assert_true(m->unsupported);
		assert_string_equal(m->text, "");
		assert_customer(m);
		assert_non_null(strstr(m->raw, "131051"));
		meta_events_clear(&l);
	}
	/* interactive without a reply object (Meta sent value.errors instead). */
	m = wa_msg(WA "message__interactive_message_with_err.json", &l);
	assert_string_equal(m->kind, "unknown");
	assert_string_equal(m->raw_type, "interactive");
	assert_true(m->unsupported);
	assert_string_equal(m->external_id, "wamid.wegrchytvwcggt=");
	assert_reply_to(m, "wamid.gvwegfretge==");
	meta_events_clear(&l);
}

static void test_wa_edit_revoke(void **state)
{
	struct meta_events l;
	struct proto_change *ch;

	(void)state;
	ch = &one(WA "deleted_message__revoke.json", PROTO_T_MESSAGE_DELETED, &l)->u.change;
	assert_string_equal(ch->channel, "whatsapp");
	assert_string_equal(ch->account, "<BUSINESS_PHONE_NUMBER_ID>");
	assert_string_equal(ch->external_id, "<ORIGINAL_WHATSAPP_MESSAGE_ID>");
	assert_string_equal(ch->change_id, "<ORIGINAL_WHATSAPP_MESSAGE_ID>:delete");
	assert_int_equal(ch->changed_at, 1697043223000LL);
	assert_string_equal(ch->from->address, "<WHATSAPP_USER_PHONE_NUMBER>");
	assert_null(ch->text);
	meta_events_clear(&l);

	ch = &one(WA "edited_message__image.json", PROTO_T_MESSAGE_EDITED, &l)->u.change;
	assert_string_equal(ch->account, "106540352242922");
	assert_string_equal(ch->external_id,
			    "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=");
	assert_string_equal(ch->change_id,
			    "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
			    ":edit:wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=");
	assert_string_equal(ch->text, "Updated image caption");
	assert_int_equal(ch->changed_at, 1749854575000LL);
	assert_string_equal(ch->from->address, "16505551234");
	meta_events_clear(&l);
}

static void test_wa_echoes(void **state)
{
	struct meta_events l;
	struct proto_message *m;
	struct proto_change *ch;

	(void)state;
	m = &one(WA "outgoing_message__text.json", PROTO_T_MESSAGE_SENT, &l)->u.message;
	assert_string_equal(m->direction, "outbound");
	assert_string_equal(m->from.address, "<BUSINESS_DISPLAY_PHONE_NUMBER>");
	assert_null(m->from.name);
	assert_string_equal(m->to->address, "<WHATSAPP_USER_PHONE_NUMBER>");
	assert_string_equal(m->external_id, "<WHATSAPP_MESSAGE_ID>");
	assert_string_equal(m->text, "Test message");
	assert_string_equal(m->kind, "text");
	meta_events_clear(&l);

	ch = &one(WA "outgoing_message__edit.json", PROTO_T_MESSAGE_EDITED, &l)->u.change;
	assert_string_equal(ch->external_id, "wamid.zzzzzz");
	assert_string_equal(ch->change_id, "wamid.zzzzzz:edit:wamid.yyyyyy");
	assert_string_equal(ch->text, "Text was edited");
	meta_events_clear(&l);

	ch = &one(WA "outgoing_message__delete.json", PROTO_T_MESSAGE_DELETED, &l)->u.change;
	assert_string_equal(ch->external_id, "wamid.zzzzzz");
	assert_string_equal(ch->change_id, "wamid.zzzzzz:delete");
	meta_events_clear(&l);
}

/* ---- WhatsApp: statuses, batches, ignored fields ---- */

static struct proto_status *wa_status(const char *rel, const char *account,
				      struct meta_events *l)
{
	struct proto_status *s = &one(rel, PROTO_T_MESSAGE_STATUS, l)->u.status;

	assert_string_equal(s->channel, "whatsapp");
	assert_string_equal(s->account, account);
	assert_non_null(s->raw);
	return s;
}

static void test_wa_statuses(void **state)
{
	static const struct {
		const char *file, *status, *id;
		int64_t at;
	} cases[] = {
		{"message_status__sent.json", "sent", "wamid.xyzxyz:sent", 1698266945000LL},
		{"message_status__delivered.json", "delivered", "wamid.xyzxyz:delivered",
		 1698266945000LL},
		{"message_status__read.json", "read", "wamid.xyzxyz:read", 1689380458000LL},
		{"message_status__played.json", "read", "wamid.xyzxyz:played", 1689380458000LL},
		{"message_status__with_tracker.json", "sent", "wamid.xyzxyz:sent", 1698266945000LL},
	};
	struct meta_events l;
	struct proto_status *s;
	char rel[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(rel, sizeof(rel), WA "%s", cases[i].file);
		s = wa_status(rel, "1122334455667", &l);
		assert_string_equal(s->status, cases[i].status);
		assert_string_equal(s->status_id, cases[i].id);
		assert_string_equal(s->external_id, "wamid.xyzxyz");
		assert_int_equal(s->status_at, cases[i].at);
		assert_string_equal(s->recipient, "972987654321");
		assert_int_equal(s->errors_len, 0);
		assert_int_equal(s->watermark, 0);
		meta_events_clear(&l);
	}
	s = wa_status(WA "message_status__group.json", "<BUSINESS_PHONE_NUMBER_ID>", &l);
	assert_string_equal(s->recipient, "fowefinoewcnw");
	assert_string_equal(s->status_id, "<WHATSAPP_MESSAGE_ID>:read");
	meta_events_clear(&l);
}

static void test_wa_status_failed(void **state)
{
	struct meta_events l;
	struct proto_status *s = wa_status(WA "message_status__failed.json", "1122334455667", &l);

	(void)state;
	assert_string_equal(s->status, "failed");
	assert_string_equal(s->status_id, "wamid.xyzxyz:failed");
	assert_int_equal(s->errors_len, 1);
	assert_int_equal(s->errors[0].code, 130472);
	assert_string_equal(s->errors[0].title, "User's number is part of an experiment");
	assert_string_equal(s->errors[0].message, "Failed to send message because this user's "
						  "phone number is part of an experiment");
	meta_events_clear(&l);
}

/* A status name the schema lacks gives no event, but is counted and named
 * (the connector logs it); the other statuses of the body still count. */
static void test_wa_status_unknown_name(void **state)
{
	static const char body[] =
		"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":"
		"[{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
		"\"metadata\":{\"phone_number_id\":\"2233\"},\"statuses\":["
		"{\"id\":\"wamid.b\",\"status\":\"Weird \\\"name\\\"\",\"timestamp\":\"1700000000\"},"
		"{\"id\":\"wamid.a\",\"status\":\"pending_review\",\"timestamp\":\"1700000000\"},"
		"{\"id\":\"wamid.c\",\"status\":\"delivered\",\"timestamp\":\"1700000000\"}]}}]}]}";
	struct meta_events l;

	(void)state;
	parse_ok(body, sizeof(body) - 1, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.ev[0].u.status.status, "delivered");
	assert_int_equal(l.skipped, 2);
	/* Only the characters of a status name are kept for the log. */
	assert_string_equal(l.skipped_status, "?eird??name?");
	meta_events_clear(&l);
	assert_int_equal(l.skipped, 0);
	assert_string_equal(l.skipped_status, "");
}

/* A missing timestamp identifies nothing: the time the body arrived, and
 * the messages beside it are kept. */
static void test_wa_no_timestamp(void **state)
{
	static const char body[] =
		"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":"
		"[{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
		"\"metadata\":{\"phone_number_id\":\"2233\"},"
		"\"contacts\":[{\"wa_id\":\"15550001111\",\"profile\":{\"name\":\"Ana\"}}],"
		"\"messages\":[{\"from\":\"15550001111\",\"id\":\"wamid.t\",\"type\":\"text\","
		"\"text\":{\"body\":\"hi\"}},"
		"{\"from\":\"15550001111\",\"id\":\"wamid.e\",\"type\":\"edit\",\"edit\":"
		"{\"original_message_id\":\"wamid.t\",\"message\":{\"type\":\"text\","
		"\"text\":{\"body\":\"hello\"}}}}],"
		"\"statuses\":[{\"id\":\"wamid.s\",\"status\":\"read\","
		"\"recipient_id\":\"15550001111\"}]}}]}]}";
	struct meta_events l;

	(void)state;
	parse_ok(body, sizeof(body) - 1, &l);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.ev[0].type, PROTO_T_MESSAGE_RECEIVED);
	assert_string_equal(l.ev[0].u.message.text, "hi");
	assert_int_equal(l.ev[1].type, PROTO_T_MESSAGE_EDITED);
	assert_int_equal(l.ev[1].u.change.changed_at, RECV);
	assert_string_equal(l.ev[1].u.change.text, "hello");
	assert_int_equal(l.ev[2].type, PROTO_T_MESSAGE_STATUS);
	assert_int_equal(l.ev[2].u.status.status_at, RECV);
	assert_string_equal(l.ev[2].u.status.status_id, "wamid.s:read");
	meta_events_clear(&l);
}

static void test_wa_batch(void **state)
{
	struct meta_events l;

	(void)state;
	parse_file("whatsapp/batch_two_entries.json", 4, &l);
	assert_int_equal(l.ev[0].type, PROTO_T_MESSAGE_RECEIVED);
	assert_string_equal(l.ev[0].u.message.external_id, "wamid.batch-1");
	assert_string_equal(l.ev[0].u.message.from.name, "Ann");
	assert_string_equal(l.ev[1].u.message.external_id, "wamid.batch-2");
	assert_string_equal(l.ev[1].u.message.from.name, "Bob");
	assert_int_equal(l.ev[2].type, PROTO_T_MESSAGE_STATUS);
	assert_string_equal(l.ev[2].u.status.status_id, "wamid.out-1:delivered");
	assert_int_equal(l.ev[3].type, PROTO_T_MESSAGE_RECEIVED);
	assert_string_equal(l.ev[3].u.message.account, "2233445566778");
	assert_string_equal(l.ev[3].u.message.from.name, "Cleo");
	assert_string_equal(l.ev[3].u.message.to->address, "15550001111");
	meta_events_clear(&l);
}

static void test_wa_ignored_fields(void **state)
{
	static const char *const files[] = {
		"account_update__account_deleted.json", "template_status_update__approved.json",
		"call_status__call_status.json", "user_marketing_preferences__signup.json"};
	struct meta_events l;
	char rel[128];

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(rel, sizeof(rel), WA "%s", files[i]);
		parse_file(rel, 0, &l);
		meta_events_clear(&l);
	}
}

/* A value's own errors[]: no event; counted, the first code and title kept. */
static void test_wa_value_errors(void **state)
{
	static const char body[] =
		"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":"
		"[{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
		"\"metadata\":{\"phone_number_id\":\"2233\"},\"errors\":["
		"{\"code\":131000,\"title\":\"Something went wrong\\n\"},{\"code\":1}]}}]}]}";
	struct meta_events l;

	(void)state;
	parse_ok(body, sizeof(body) - 1, &l);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.provider_errors, 2);
	assert_string_equal(l.provider_error, "131000 Something went wrong?");
	meta_events_clear(&l);
	assert_int_equal(l.provider_errors, 0);
}

/* ---- Messenger ---- */

static struct proto_message *ms_msg(const char *rel, enum proto_type type, struct meta_events *l)
{
	struct proto_message *m = &one(rel, type, l)->u.message;

	assert_string_equal(m->channel, "messenger");
	assert_int_equal(m->received_at, RECV);
	assert_non_null(m->text);
	assert_non_null(m->raw);
	return m;
}

static void test_ms_text(void **state)
{
	struct meta_events l;
	struct proto_message *m;

	(void)state;
	m = ms_msg(MS "WebhookTest.shouldHandleTextMessageEvent.json", PROTO_T_MESSAGE_RECEIVED,
		   &l);
	assert_string_equal(m->account, "PAGE_ID");
	assert_string_equal(m->external_id, "mid.1457764197618:41d102a3e1ae206a38");
	assert_string_equal(m->from.address, "USER_ID");
	assert_null(m->to);
	assert_null(m->direction);
	assert_string_equal(m->kind, "text");
	assert_string_equal(m->text, "hello, text message world!");
	assert_int_equal(m->sent_at, 1458692752478LL); /* its timestamp, for the window */
	meta_events_clear(&l);

	m = ms_msg(MS "DocumentationTest.shouldProcessReceivedEventsText.json",
		   PROTO_T_MESSAGE_RECEIVED, &l);
	assert_string_equal(m->account, "1717527131834678");
	assert_string_equal(m->from.address, "1256217357730577");
	assert_string_equal(m->text, "34wrr3wr");
	meta_events_clear(&l);

	m = ms_msg(MS "WebhookTest.shouldHandleTextMessageEventWithNlp.json",
		   PROTO_T_MESSAGE_RECEIVED, &l);
	assert_non_null(strstr(m->raw, "\"nlp\""));
	meta_events_clear(&l);
}

static void test_ms_attachments(void **state)
{
	struct meta_events l;
	struct proto_message *m;

	(void)state;
	m = ms_msg(MS "WebhookTest.shouldHandleAttachmentMessageEvent.json",
		   PROTO_T_MESSAGE_RECEIVED, &l);
	assert_string_equal(m->kind, "image");
	assert_string_equal(m->text, "");
	assert_int_equal(m->attachments_len, 2);
	assert_string_equal(m->attachments[0].ref, "http://image.url");
	assert_string_equal(m->attachments[0].type, "image/*");
	assert_string_equal(m->attachments[0].kind, "image");
	assert_string_equal(m->attachments[0].name, "");
	/* A fallback (shared link) has its URL beside the payload. */
	assert_string_equal(m->attachments[1].ref, "<URL_OF_THE_ATTACHMENT>");
	assert_string_equal(m->attachments[1].kind, "fallback");
	assert_string_equal(m->attachments[1].type, "application/octet-stream");
	assert_string_equal(m->attachments[1].name, "<TITLE_OF_THE_URL_ATTACHMENT>");
	assert_non_null(m->location);
	assert_true(m->location->latitude == 52.3765533);
	assert_true(m->location->longitude == 9.7389123);
	meta_events_clear(&l);
}

static void test_ms_quick_reply(void **state)
{
	struct meta_events l;
	struct proto_message *m;

	(void)state;
	m = ms_msg(MS "WebhookTest.shouldHandleQuickReplyMessageEvent.json",
		   PROTO_T_MESSAGE_RECEIVED, &l);
	assert_string_equal(m->kind, "quick_reply");
	assert_string_equal(m->text, "hello, world!");
	assert_string_equal(m->choice->id, "DEVELOPER_DEFINED_PAYLOAD");
	assert_string_equal(m->choice->title, "hello, world!");
	meta_events_clear(&l);
}

static void test_ms_postback(void **state)
{
	struct meta_events l;
	struct proto_message *m;
	const char *prefix = "<PSID>:postback:1458692752478:";

	(void)state;
	m = ms_msg(MS "WebhookTest.shouldHandlePostbackEvent.json", PROTO_T_MESSAGE_RECEIVED, &l);
	assert_string_equal(m->kind, "postback");
	assert_string_equal(m->raw_type, "postback");
	assert_string_equal(m->from.address, "<PSID>");
	assert_string_equal(m->account, "PAGE_ID");
	assert_string_equal(m->choice->id, "<USER_DEFINED_PAYLOAD>");
	assert_string_equal(m->choice->title, "<TITLE_FOR_THE_CTA>");
	assert_string_equal(m->text, "<TITLE_FOR_THE_CTA>");
	/* No mid: an id derived from sender, time and payload digest. */
	assert_int_equal(strncmp(m->external_id, prefix, strlen(prefix)), 0);
	assert_int_equal(strlen(m->external_id), strlen(prefix) + 16);
	assert_non_null(m->referral);
	assert_string_equal(m->referral->ref, "<REF DATA IF SPECIFIED IN THE AD>");
	assert_string_equal(m->referral->id, "<ID OF THE AD>");
	assert_string_equal(m->referral->source, "<SHORTLINK>");
	assert_string_equal(m->referral->type, "OPEN_THREAD");
	meta_events_clear(&l);

	m = ms_msg(MS "WebhookTest.shouldHandlePostbackEventWithoutReferral.json",
		   PROTO_T_MESSAGE_RECEIVED, &l);
	assert_null(m->referral);
	assert_string_equal(m->choice->id, "<USER_DEFINED_PAYLOAD>");
	meta_events_clear(&l);
}

static void test_ms_referrals(void **state)
{
	static const struct {
		const char *file, *source, *ref;
	} cases[] = {
		{"WebhookTest.shouldHandleAdReferralEvent.json", "ADS",
		 "<REF DATA IF SPECIFIED IN THE AD>"},
		{"WebhookTest.shouldHandleMeLinkReferralEvent.json", "SHORTLINK",
		 "<REF DATA PASSED IN M.ME PARAM>"},
		{"WebhookTest.shouldHandleParametricMessengerCodeReferralEvent.json",
		 "MESSENGER_CODE", "<REF DATA PASSED IN CODE>"},
		{"WebhookTest.shouldHandleDiscoverTabReferralEvent.json", "DISCOVER_TAB", NULL},
	};
	struct meta_events l;
	struct proto_message *m;
	char rel[160];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(rel, sizeof(rel), MS "%s", cases[i].file);
		m = ms_msg(rel, PROTO_T_MESSAGE_RECEIVED, &l);
		assert_string_equal(m->kind, "referral");
		assert_string_equal(m->external_id, "<USER_ID>:referral:1458692752478");
		assert_string_equal(m->from.address, "<USER_ID>");
		assert_string_equal(m->account, "<PAGE_ID>");
		assert_string_equal(m->text, "");
		assert_string_equal(m->referral->source, cases[i].source);
		assert_string_equal(m->referral->type, "OPEN_THREAD");
		if (cases[i].ref)
			assert_string_equal(m->referral->ref, cases[i].ref);
		else
			assert_null(m->referral->ref);
		meta_events_clear(&l);
	}
}

static void test_ms_receipts(void **state)
{
	struct meta_events l;
	struct proto_status *s;

	(void)state;
	parse_file(MS "WebhookTest.shouldHandleMessageReadEvent.json", 1, &l);
	s = &l.ev[0].u.status;
	assert_int_equal(l.ev[0].type, PROTO_T_MESSAGE_STATUS);
	assert_string_equal(s->channel, "messenger");
	assert_string_equal(s->account, "PAGE_ID");
	assert_string_equal(s->status, "read");
	assert_string_equal(s->status_id, "USER_ID:read:1458668856253");
	assert_null(s->external_id);
	assert_int_equal(s->watermark, 1458668856253LL);
	assert_int_equal(s->status_at, 1458668856463LL);
	assert_string_equal(s->recipient, "USER_ID");
	meta_events_clear(&l);

	parse_file(MS "WebhookTest.shouldHandleMessageDeliveredEventWithMids.json", 1, &l);
	s = &l.ev[0].u.status;
	assert_string_equal(s->status, "delivered");
	assert_string_equal(s->external_id, "mid.1458668856218:ed81099e15d3f4f233");
	assert_string_equal(s->status_id, "mid.1458668856218:ed81099e15d3f4f233:delivered");
	assert_int_equal(s->watermark, 1458668856253LL);
	/* No item timestamp: the entry's time. */
	assert_int_equal(s->status_at, 1458692752478LL);
	meta_events_clear(&l);

	parse_file(MS "WebhookTest.shouldHandleMessageDeliveredEventWithoutMids.json", 1, &l);
	s = &l.ev[0].u.status;
	assert_null(s->external_id);
	assert_string_equal(s->status_id, "USER_ID:delivered:1458668856253");
	meta_events_clear(&l);
}

static void test_ms_echo(void **state)
{
	struct meta_events l;
	struct proto_message *m;

	(void)state;
	m = ms_msg(MS "WebhookTest.shouldHandleTextEchoMessageEvent.json", PROTO_T_MESSAGE_SENT,
		   &l);
	assert_string_equal(m->direction, "outbound");
	assert_string_equal(m->from.address, "PAGE_ID");
	assert_string_equal(m->to->address, "USER_ID");
	assert_string_equal(m->text, "hello, text message world!");
	meta_events_clear(&l);

	/* A template has no URL to fetch: no attachment, the template in raw. */
	m = ms_msg(MS "WebhookTest.shouldHandleTemplateEchoMessageEvent.json",
		   PROTO_T_MESSAGE_SENT, &l);
	assert_string_equal(m->kind, "template");
	assert_int_equal(m->attachments_len, 0);
	assert_string_equal(m->to->address, "1256299999730577");
	assert_non_null(strstr(m->raw, "receipt"));
	meta_events_clear(&l);

	/* Named "echo" upstream but it is a plain customer message. */
	m = ms_msg(MS "DocumentationTest.echoExample.json", PROTO_T_MESSAGE_RECEIVED, &l);
	assert_string_equal(m->text, "Hello Chatbot");
	meta_events_clear(&l);
}

/*
 * The connector's own replies come back named: WhatsApp statuses carry the
 * reply's id in biz_opaque_callback_data, a Messenger echo in metadata
 * (wa_send.c, ms_send.c send it). Such a status is about the reply
 * (external_id its id, provider_id Meta's); an echo of a reply is its
 * "sent" status, not a second message. Anyone else's values change nothing.
 */
#define REPLY_EXT "reply-12-0123456789abcdef0123456789abcdef"

static const char wa_opaque_fmt[] =
	"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{"
	"\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
	"\"metadata\":{\"phone_number_id\":\"PHONE\"},\"statuses\":[{\"id\":\"wamid.R1\","
	"\"status\":\"delivered\",\"timestamp\":\"1700000000\",\"recipient_id\":\"155\","
	"\"biz_opaque_callback_data\":\"%s\"}]}}]}]}";

static const char ms_echo_fmt[] =
	"{\"object\":\"page\",\"entry\":[{\"id\":\"PAGE\",\"time\":1700000000500,"
	"\"messaging\":[{\"sender\":{\"id\":\"PAGE\"},\"recipient\":{\"id\":\"PSID\"},"
	"\"timestamp\":1700000000400,\"message\":{\"is_echo\":true,\"mid\":\"m_R1\","
	"\"metadata\":\"%s\",\"text\":\"hi\"}}]}]}";

static void test_reply_names(void **state)
{
	static const char *const others[] = {
		"reply-12-0123", "reply-x-0123456789abcdef0123456789abcdef",
		"REPLY-12-0123456789abcdef0123456789abcdef",
		"reply-12-0123456789ABCDEF0123456789abcdef", "campaign-7"};
	struct meta_events l;
	struct proto_status *s;
	char body[1024];

	(void)state;
	snprintf(body, sizeof(body), wa_opaque_fmt, REPLY_EXT);
	parse_ok(body, strlen(body), &l);
	assert_int_equal(l.n, 1);
	s = &l.ev[0].u.status;
	assert_string_equal(s->external_id, REPLY_EXT);
	assert_string_equal(s->provider_id, "wamid.R1");
	assert_string_equal(s->status_id, "wamid.R1:delivered");
	meta_events_clear(&l);
	snprintf(body, sizeof(body), ms_echo_fmt, REPLY_EXT);
	parse_ok(body, strlen(body), &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.ev[0].type, PROTO_T_MESSAGE_STATUS);
	s = &l.ev[0].u.status;
	assert_string_equal(s->status, "sent");
	assert_string_equal(s->external_id, REPLY_EXT);
	assert_string_equal(s->provider_id, "m_R1");
	assert_string_equal(s->status_id, REPLY_EXT ":sent");
	assert_string_equal(s->recipient, "PSID");
	assert_string_equal(s->account, "PAGE");
	assert_int_equal(s->status_at, 1700000000400LL);
	meta_events_clear(&l);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		snprintf(body, sizeof(body), wa_opaque_fmt, others[i]);
		parse_ok(body, strlen(body), &l);
		assert_string_equal(l.ev[0].u.status.external_id, "wamid.R1");
		assert_null(l.ev[0].u.status.provider_id);
		meta_events_clear(&l);
		snprintf(body, sizeof(body), ms_echo_fmt, others[i]);
		parse_ok(body, strlen(body), &l);
		assert_int_equal(l.ev[0].type, PROTO_T_MESSAGE_SENT);
		assert_string_equal(l.ev[0].u.message.external_id, "m_R1");
		meta_events_clear(&l);
	}
}

static const char ms_edit_body[] =
	"{\"object\":\"page\",\"entry\":[{\"id\":\"PAGE\",\"time\":1700000000500,"
	"\"messaging\":[{\"sender\":{\"id\":\"PSID\"},\"recipient\":{\"id\":\"PAGE\"},"
	"\"timestamp\":1700000000400,\"message_edit\":{\"mid\":\"m_abc\","
	"\"text\":\"fixed typo\",\"num_edit\":2}}]}]}";

static const char ms_reaction_body[] =
	"{\"object\":\"page\",\"entry\":[{\"id\":\"PAGE\",\"time\":1700000000500,\"messaging\":["
	"{\"sender\":{\"id\":\"PSID\"},\"recipient\":{\"id\":\"PAGE\"},\"timestamp\":1700000000400,"
	"\"reaction\":{\"mid\":\"m_abc\",\"action\":\"react\",\"emoji\":\"\\u2764\","
	"\"reaction\":\"love\"}},"
	"{\"sender\":{\"id\":\"PSID\"},\"recipient\":{\"id\":\"PAGE\"},\"timestamp\":1700000000450,"
	"\"reaction\":{\"mid\":\"m_abc\",\"action\":\"unreact\"}}]}]}";

static void test_ms_edit_reaction(void **state)
{
	struct meta_events l;
	struct proto_change *ch;
	struct proto_message *m;

	(void)state;
	parse_ok(ms_edit_body, strlen(ms_edit_body), &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.ev[0].type, PROTO_T_MESSAGE_EDITED);
	ch = &l.ev[0].u.change;
	assert_string_equal(ch->external_id, "m_abc");
	assert_string_equal(ch->change_id, "m_abc:edit:2");
	assert_string_equal(ch->text, "fixed typo");
	assert_int_equal(ch->changed_at, 1700000000400LL);
	assert_string_equal(ch->from->address, "PSID");
	meta_events_clear(&l);

	parse_ok(ms_reaction_body, strlen(ms_reaction_body), &l);
	assert_int_equal(l.n, 2);
	m = &l.ev[0].u.message;
	assert_string_equal(m->kind, "reaction");
	assert_string_equal(m->reaction->message_id, "m_abc");
	assert_string_equal(m->reaction->emoji, "\xE2\x9D\xA4");
	assert_string_equal(m->text, "\xE2\x9D\xA4");
	assert_string_equal(m->external_id, "m_abc:reaction:PSID:1700000000400");
	assert_reply_to(m, "m_abc");
	m = &l.ev[1].u.message;
	assert_string_equal(m->reaction->emoji, "");
	assert_string_equal(m->external_id, "m_abc:reaction:PSID:1700000000450");
	meta_events_clear(&l);
}

static void test_ms_unknown_items(void **state)
{
	static const struct {
		const char *file, *key, *from, *id;
	} cases[] = {
		{"WebhookTest.shouldHandleEventTypeThatIsUnsupported.json",
		 "EVENT_TYPE_THAT_IS_UNSUPPORTED", "USER_ID",
		 "USER_ID:EVENT_TYPE_THAT_IS_UNSUPPORTED:1458692752478"},
		{"WebhookTest.shouldHandleOptInEventWithSenderId.json", "optin", "USER_ID",
		 "USER_ID:optin:1234567890"},
		{"WebhookTest.shouldHandleOptInEventWithUserRef.json", "optin",
		 "REF_FROM_CHECKBOX_PLUGIN", "REF_FROM_CHECKBOX_PLUGIN:optin:1234567890"},
		{"WebhookTest.shouldHandleAccountLinkingEventWithStatusLinked.json",
		 "account_linking", "USER_ID", "USER_ID:account_linking:1234567890"},
		{"WebhookTest.shouldHandleAccountLinkingEventWithStatusUnlinked.json",
		 "account_linking", "USER_ID", "USER_ID:account_linking:1234567890"},
		/* Times as digit strings, as this body has them. */
		{"WebhookTest.shouldHandleInstantGameEvent.json", "game_play", "USER_ID",
		 "USER_ID:game_play:1458668856463"},
	};
	struct meta_events l;
	struct proto_message *m;
	char rel[160];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(rel, sizeof(rel), MS "%s", cases[i].file);
		m = ms_msg(rel, PROTO_T_MESSAGE_RECEIVED, &l);
		assert_string_equal(m->kind, "unknown");
		assert_string_equal(m->raw_type, cases[i].key);
		assert_true(m->unsupported);
		assert_string_equal(m->from.address, cases[i].from);
		assert_string_equal(m->external_id, cases[i].id);
		assert_string_equal(m->text, "");
		meta_events_clear(&l);
	}
}

/* ---- Instagram ---- */

static struct proto_message *ig_msg(const char *rel, enum proto_type type, struct meta_events *l)
{
	struct proto_message *m = &one(rel, type, l)->u.message;

	assert_string_equal(m->channel, "instagram");
	assert_string_equal(m->from.address, "Sender-id-1");
	assert_non_null(m->raw);
	return m;
}

static void test_ig_messages(void **state)
{
	struct meta_events l;
	struct proto_message *m;

	(void)state;
	m = ig_msg(IG "instagram_message_create_event.json", PROTO_T_MESSAGE_RECEIVED, &l);
	assert_string_equal(m->account, "instagram-message-id-123");
	assert_string_equal(m->external_id, "message-id-1");
	assert_string_equal(m->text, "This is the first message from the customer");
	meta_events_clear(&l);

	/* standby: a conversation another app owns; still the customer's message. */
	m = ig_msg(IG "instagram_message_standby_event.json", PROTO_T_MESSAGE_RECEIVED, &l);
	assert_string_equal(m->kind, "text");
	meta_events_clear(&l);

	m = ig_msg(IG "instagram_message_attachment_event.json", PROTO_T_MESSAGE_RECEIVED, &l);
	assert_string_equal(m->kind, "share");
	assert_string_equal(m->attachments[0].ref, "https://www.example.com/test.jpeg");
	meta_events_clear(&l);

	/* A story reply names a story, not a message: no reply_to, raw keeps it. */
	m = ig_msg(IG "instagram_story_reply_event.json", PROTO_T_MESSAGE_RECEIVED, &l);
	assert_string_equal(m->text, "This is the story reply");
	assert_reply_to(m, NULL);
	assert_non_null(strstr(m->raw, "\"story\""));
	meta_events_clear(&l);

	parse_file(IG "instagram_test_text_event.json", 1, &l);
	assert_string_equal(l.ev[0].u.message.text, "random_text");
	meta_events_clear(&l);
}

static void test_ig_story_mention(void **state)
{
	struct meta_events l;
	struct proto_message *m;

	(void)state;
	m = ig_msg(IG "instagram_story_mention_event.json", PROTO_T_MESSAGE_RECEIVED, &l);
	assert_string_equal(m->kind, "story_mention");
	assert_int_equal(m->attachments_len, 1);
	assert_string_equal(m->attachments[0].kind, "story_mention");
	assert_string_equal(m->attachments[0].ref, "https://www.example.com/test.jpeg");
	assert_string_equal(m->attachments[0].type, "application/octet-stream");
	meta_events_clear(&l);

	m = ig_msg(IG "instagram_story_mention_event_with_echo.json", PROTO_T_MESSAGE_SENT, &l);
	assert_string_equal(m->direction, "outbound");
	assert_string_equal(m->to->address, "chatwoot-app-user-id-1");
	meta_events_clear(&l);
}

static void test_ig_unsend_seen(void **state)
{
	struct meta_events l;
	struct proto_change *ch;
	struct proto_status *s;

	(void)state;
	ch = &one(IG "instagram_message_unsend_event.json", PROTO_T_MESSAGE_DELETED, &l)->u.change;
	assert_string_equal(ch->channel, "instagram");
	assert_string_equal(ch->external_id, "message-id-to-delete");
	assert_string_equal(ch->change_id, "message-id-to-delete:delete");
	assert_int_equal(ch->changed_at, 1631082844000LL);
	assert_string_equal(ch->from->address, "Sender-id-1");
	meta_events_clear(&l);

	s = &one(IG "messaging_seen_event.json", PROTO_T_MESSAGE_STATUS, &l)->u.status;
	assert_string_equal(s->status, "read");
	assert_string_equal(s->external_id, "message-id-1");
	assert_string_equal(s->status_id, "message-id-1:read");
	assert_int_equal(s->status_at, 1631082844000LL);
	meta_events_clear(&l);
}

/* ---- refusals, limits, determinism ---- */

static void test_unknown_object(void **state)
{
	struct meta_events l;
	struct meta_parse_error err;
	size_t len;
	char *body = load(MS "WebhookTest.shouldThrowExceptionIfObjectTypeIsNotPage.json", &len);

	(void)state;
	assert_int_equal(parse_buf(body, len, &l, &err), GW_ETYPE);
	assert_non_null(strstr(err.message, "object"));
	assert_int_equal(l.n, 0);
	free(body);
	assert_refused("{\"object\":\"user\",\"entry\":[]}", GW_ETYPE, "object");
}

static void test_malformed(void **state)
{
	struct meta_events l;
	struct meta_parse_error err;
	size_t len;
	char *body = load(WA "message__text.json", &len);

	(void)state;
	assert_refused("", GW_EPROTO, "not JSON");
	assert_refused("not json", GW_EPROTO, "not JSON");
	assert_refused("[1,2]", GW_EPROTO, "not a JSON object");
	assert_refused("{\"object\":\"page\",\"object\":\"page\",\"entry\":[]}", GW_EPROTO,
		       "duplicate");
	assert_refused("{\"object\":\"page\",\"entry\":[]} x", GW_EPROTO, "not JSON");
	assert_refused("{\"entry\":[]}", GW_EPROTO, "object");
	assert_refused("{\"object\":\"page\"}", GW_EPROTO, "entry");
	assert_refused("{\"object\":\"page\",\"entry\":{}}", GW_EPROTO, "entry");
	assert_refused("{\"object\":\"page\",\"entry\":[7]}", GW_EPROTO, "entry[0]");
	/* Truncated anywhere: refused, nothing left behind. */
	for (size_t cut = 1; cut < len - 1; cut += 37) {
		assert_int_equal(parse_buf(body, cut, &l, &err), GW_EPROTO);
		assert_int_equal(l.n, 0);
		assert_null(l.ev);
	}
	free(body);
}

static char *repeat(const char *unit, size_t times)
{
	size_t ul = strlen(unit);
	char *s = malloc(ul * times + 1);

	assert_non_null(s);
	for (size_t i = 0; i < times; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * times] = '\0';
	return s;
}

/*
 * One item that cannot be read: the body is accepted; the item is kept as
 * kind "unknown" with raw (want_n = 1) or dropped (want_n = 0), counted,
 * and the first reason names its path. Returns the external id kept.
 */
static char *assert_unreadable(const char *body, size_t want_n, const char *want_in_why)
{
	struct meta_events l;
	const struct proto_message *m;
	char *id = NULL;

	parse_ok(body, strlen(body), &l);
	assert_int_equal(l.n, want_n);
	assert_int_equal(l.unreadable, 1);
	assert_int_equal(l.dropped, want_n ? 0 : 1);
	if (!strstr(l.unreadable_why, want_in_why))
		fail_msg("reason \"%s\" lacks \"%s\"", l.unreadable_why, want_in_why);
	if (want_n) {
		m = &l.ev[0].u.message;
		assert_string_equal(m->kind, "unknown");
		assert_true(m->unsupported);
		assert_non_null(m->raw);
		assert_string_equal(m->text, "");
		id = strdup(m->external_id);
		assert_non_null(id);
	}
	meta_events_clear(&l);
	assert_int_equal(l.unreadable, 0);
	assert_string_equal(l.unreadable_why, "");
	return id;
}

static void test_missing_and_bad_fields(void **state)
{
	static const char no_id[] =
		"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{"
		"\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":"
		"\"1\"},\"messages\":[{\"from\":\"1\",\"type\":\"text\",\"timestamp\":"
		"\"1700000000\",\"text\":{\"body\":\"secret words\"}}]}}]}]}";
	char *id, *again, *long_mid, buf[1024];

	(void)state;
	/* Without its id a message is kept under a hash of itself: the same in a
	 * redelivery. The reason names the path, never the content. */
	id = assert_unreadable(no_id, 1, "entry[0].changes[0].value.messages[0].id: required");
	again = assert_unreadable(no_id, 1, "messages[0].id");
	assert_int_equal(strncmp(id, "unreadable:", 11), 0);
	assert_string_equal(id, again);
	free(id);
	free(again);
	/* An ISO date where WhatsApp sends epoch seconds: kept under its id. */
	id = assert_unreadable("{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{"
			       "\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":"
			       "\"1\"},\"messages\":[{\"from\":\"1\",\"id\":\"w\",\"type\":\"text\","
			       "\"timestamp\":\"2021-09-08T06:34:04+0000\"}]}}]}]}",
			       1, "messages[0].timestamp: not an epoch time");
	assert_string_equal(id, "w");
	free(id);
	/* An id sent as a number is an id all the same. */
	id = assert_unreadable("{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{"
			       "\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":"
			       "\"1\"},\"messages\":[{\"from\":\"1\",\"id\":12345,\"type\":\"text\","
			       "\"timestamp\":\"soon\"}]}}]}]}",
			       1, "messages[0].timestamp: not an epoch time");
	assert_string_equal(id, "12345");
	free(id);
	/* Kept under its mid, so that edits and reactions still find it. */
	id = assert_unreadable("{\"object\":\"instagram\",\"entry\":[{\"id\":\"1\",\"messaging\":[{"
			       "\"sender\":{\"id\":\"2\"},\"timestamp\":-5,\"message\":{\"mid\":\"m\"}}]}]}",
			       1, "messaging[0].timestamp");
	assert_string_equal(id, "m");
	free(id);
	id = assert_unreadable("{\"object\":\"page\",\"entry\":[{\"id\":\"1\",\"messaging\":[{"
			       "\"sender\":{\"id\":\"2\"},\"timestamp\":5,\"postback\":{\"payload\":"
			       "\"\"}}]}]}",
			       1, "messaging[0].postback.payload");
	assert_int_equal(strncmp(id, "2:unreadable:", 13), 0);
	free(id);
	/* Receipts and what the page sent itself are no customer's messages. */
	assert_null(assert_unreadable("{\"object\":\"page\",\"entry\":[{\"id\":\"1\",\"messaging\":[{"
				      "\"sender\":{\"id\":\"2\"},\"timestamp\":5,\"delivery\":"
				      "{\"watermark\":\"abc\"}}]}]}",
				      0, "messaging[0].delivery.watermark"));
	long_mid = repeat("m", PROTO_MAX_EXTERNAL_ID + 1);
	snprintf(buf, sizeof(buf), "{\"object\":\"instagram\",\"entry\":[{\"id\":\"1\","
		 "\"messaging\":[{\"sender\":{\"id\":\"2\"},\"timestamp\":5,\"read\":"
		 "{\"mid\":\"%s\"}}]}]}", long_mid);
	assert_null(assert_unreadable(buf, 0, "messaging[0].read.mid: longer than"));
	free(long_mid);
	assert_null(assert_unreadable("{\"object\":\"page\",\"entry\":[{\"id\":\"P\",\"messaging\":[{"
				      "\"sender\":{\"id\":\"P\"},\"recipient\":{\"id\":\"S\"},"
				      "\"timestamp\":5,\"message_edit\":{\"text\":\"x\"}}]}]}",
				      0, "messaging[0].message_edit.mid"));
	/* No sender: no customer to file it under. */
	assert_null(assert_unreadable("{\"object\":\"page\",\"entry\":[{\"id\":\"1\",\"messaging\":[{"
				      "\"timestamp\":5,\"message\":{\"mid\":\"m\",\"text\":\"hi\"}}]}]}",
				      0, "entry[0].messaging[0].sender.id: required"));
	/* A status is no customer's message: dropped. */
	assert_null(assert_unreadable("{\"object\":\"whatsapp_business_account\",\"entry\":[{"
				      "\"changes\":[{\"field\":\"messages\",\"value\":{\"metadata\":"
				      "{\"phone_number_id\":\"1\"},\"statuses\":[{\"id\":\"w\","
				      "\"timestamp\":\"5\"}]}}]}]}",
				      0, "statuses[0].status"));
	/* An echo without its customer is the page's, never a customer message. */
	assert_null(assert_unreadable("{\"object\":\"page\",\"entry\":[{\"id\":\"1\",\"messaging\":[{"
				      "\"sender\":{\"id\":\"1\"},\"timestamp\":5,\"message\":{\"mid\":"
				      "\"m\",\"is_echo\":true,\"text\":\"hi\"}}]}]}",
				      0, "recipient.id: required"));
	assert_null(assert_unreadable("{\"object\":\"whatsapp_business_account\",\"entry\":[{"
				      "\"changes\":[{\"field\":\"smb_message_echoes\",\"value\":{"
				      "\"metadata\":{\"phone_number_id\":\"1\"},\"message_echoes\":[{"
				      "\"from\":\"1\",\"id\":\"w\",\"timestamp\":\"1700000000\","
				      "\"type\":\"text\"}]}}]}]}",
				      0, "message_echoes[0].to: required"));
	/* What the structure of the body needs still refuses it. */
	assert_refused("{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{"
		       "\"field\":\"messages\",\"value\":{\"messages\":[{\"from\":\"1\","
		       "\"id\":\"w\",\"type\":\"text\"}]}}]}]}",
		       GW_EPROTO, "phone_number_id");
	/* Chatwoot-style ISO dates are not what Meta sends. */
	assert_refused("{\"object\":\"instagram\",\"entry\":[{\"id\":\"1\",\"time\":"
		       "\"2021-09-08T06:34:04+0000\",\"messaging\":[]}]}",
		       GW_EPROTO, "entry[0].time: not an epoch time");
	assert_refused("{\"object\":\"page\",\"entry\":[{\"messaging\":[{\"sender\":{\"id\":"
		       "\"2\"},\"message\":{\"mid\":\"m\"}}]}]}",
		       GW_EPROTO, "entry[0].id");
}

/* A bad item beside good ones: each good one as if alone, the bad one kept
 * as unknown; Meta is answered 200 and redelivers nothing. */
static void test_unreadable_beside_good(void **state)
{
	static const char wa[] =
		"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{"
		"\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"1\"},"
		"\"messages\":[{\"from\":\"5\",\"id\":\"wamid.bad\",\"timestamp\":\"1700000000\","
		"\"type\":\"interactive\",\"interactive\":{\"type\":\"button_reply\","
		"\"button_reply\":{\"id\":\"\",\"title\":\"Yes\"}}},"
		"{\"from\":\"5\",\"id\":\"wamid.good\",\"timestamp\":\"1700000001\","
		"\"type\":\"text\",\"text\":{\"body\":\"still here\"}}]}}]}]}";
	static const char ms[] =
		"{\"object\":\"page\",\"entry\":[{\"id\":\"P\",\"time\":1,\"messaging\":["
		"{\"sender\":{\"id\":\"S\"},\"recipient\":{\"id\":\"P\"},\"timestamp\":2,"
		"\"reaction\":{\"action\":\"react\",\"emoji\":\"x\"}},"
		"{\"sender\":{\"id\":\"S\"},\"recipient\":{\"id\":\"P\"},\"timestamp\":3,"
		"\"message\":{\"mid\":\"m_good\",\"text\":\"hello\"}}]}]}";
	struct meta_events l;

	(void)state;
	parse_ok(wa, sizeof(wa) - 1, &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.unreadable, 1);
	assert_non_null(strstr(l.unreadable_why, "messages[0].interactive"));
	assert_string_equal(l.ev[0].u.message.external_id, "wamid.bad");
	assert_string_equal(l.ev[0].u.message.kind, "unknown");
	assert_string_equal(l.ev[0].u.message.raw_type, "interactive");
	assert_string_equal(l.ev[0].u.message.from.address, "5");
	assert_string_equal(l.ev[1].u.message.external_id, "wamid.good");
	assert_string_equal(l.ev[1].u.message.text, "still here");
	meta_events_clear(&l);

	parse_ok(ms, sizeof(ms) - 1, &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.unreadable, 1);
	assert_non_null(strstr(l.unreadable_why, "messaging[0].reaction.mid"));
	assert_string_equal(l.ev[0].u.message.raw_type, "reaction");
	assert_true(l.ev[0].u.message.unsupported);
	assert_string_equal(l.ev[1].u.message.external_id, "m_good");
	meta_events_clear(&l);
}

/* Without any time, derived ids come from the item, not the arrival time. */
static void test_ms_no_time_ids(void **state)
{
	static const char body[] =
		"{\"object\":\"page\",\"entry\":[{\"id\":\"P\",\"messaging\":["
		"{\"sender\":{\"id\":\"S\"},\"recipient\":{\"id\":\"P\"},"
		"\"referral\":{\"ref\":\"ad\",\"source\":\"ADS\",\"type\":\"OPEN_THREAD\"}}]}]}";
	struct meta_events a, b;
	struct meta_parse_error err;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(meta_parse(body, sizeof(body) - 1, RECV, &a, &err), GW_OK);
	assert_int_equal(meta_parse(body, sizeof(body) - 1, RECV + 5000, &b, &err), GW_OK);
	assert_int_equal(strncmp(a.ev[0].u.message.external_id, "S:referral:h", 12), 0);
	assert_string_equal(a.ev[0].u.message.external_id, b.ev[0].u.message.external_id);
	meta_events_clear(&a);
	meta_events_clear(&b);
}

/* A customer known by a username has a business-scoped id instead of a number. */
static void test_wa_user_id(void **state)
{
	static const char body[] =
		"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{"
		"\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"1\"},"
		"\"contacts\":[{\"profile\":{\"name\":\"Uma\"},\"user_id\":\"US.42\"}],"
		"\"messages\":[{\"from_user_id\":\"US.42\",\"id\":\"wamid.u\","
		"\"timestamp\":\"1700000000\",\"type\":\"text\",\"text\":{\"body\":\"hi\"}}]}}]}]}";
	struct meta_events l;

	(void)state;
	parse_ok(body, strlen(body), &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.ev[0].u.message.from.address, "US.42");
	assert_string_equal(l.ev[0].u.message.from.name, "Uma");
	meta_events_clear(&l);
}

/* A WhatsApp body of `n` text messages with distinct ids. */
static char *wa_body_of(size_t n)
{
	json_t *msgs = json_array();
	json_t *root;
	char *s;

	for (size_t i = 0; i < n; i++) {
		char id[32];

		snprintf(id, sizeof(id), "wamid.n%zu", i);
		json_array_append_new(msgs, json_pack("{s:s,s:s,s:s,s:s,s:{s:s}}", "from", "1",
						      "id", id, "timestamp", "1700000000", "type",
						      "text", "text", "body", "x"));
	}
	root = json_pack("{s:s,s:[{s:[{s:s,s:{s:{s:s},s:o}}]}]}", "object",
			 "whatsapp_business_account", "entry", "changes", "field", "messages",
			 "value", "metadata", "phone_number_id", "1", "messages", msgs);
	assert_non_null(root);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	assert_non_null(s);
	return s;
}

/* A page body of n items "message" (or "delivery" when `member_fmt` has
 * mids) whose member is `member_fmt` with the item number printed in. */
/* `tmpl` with every "%zu" replaced by `i`, into buf (the template is data,
 * not a checked printf format). */
static void with_index(char *buf, size_t size, const char *tmpl, size_t i)
{
	size_t len = 0;

	for (const char *p = tmpl; *p && len + 24 < size;) {
		if (strncmp(p, "%zu", 3) == 0) {
			len += (size_t)snprintf(buf + len, size - len, "%zu", i);
			p += 3;
		} else {
			buf[len++] = *p++;
		}
	}
	buf[len] = '\0';
}

static char *ms_body_of(size_t n, const char *member_fmt)
{
	const char *member = strstr(member_fmt, "mids") ? "delivery" : "message";
	json_t *items = json_array();
	json_error_t je;
	json_t *root;
	char *s;

	for (size_t i = 0; i < n; i++) {
		char buf[128];
		json_t *v;

		with_index(buf, sizeof(buf), member_fmt, i);
		v = json_loads(buf, 0, &je);
		assert_non_null(v);
		json_array_append_new(items, json_pack("{s:{s:s},s:{s:s},s:I,s:o}", "sender", "id",
						       "S", "recipient", "id", "P", "timestamp",
						       (json_int_t)1700000000000, member, v));
	}
	root = json_pack("{s:s,s:[{s:s,s:o}]}", "object", "page", "entry", "id", "P", "messaging",
			 items);
	assert_non_null(root);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	assert_non_null(s);
	return s;
}

static void test_too_many_events(void **state)
{
	struct meta_events l;
	char *body = wa_body_of(META_MAX_EVENTS);

	(void)state;
	parse_ok(body, strlen(body), &l);
	assert_int_equal(l.n, META_MAX_EVENTS);
	meta_events_clear(&l);
	free(body);

	body = wa_body_of(META_MAX_EVENTS + 1);
	assert_refused(body, GW_ETOOBIG, "more than");
	free(body);

	/* The limit refuses a body, never one item of it, also where an item
	 * fails half way (the second of two delivery mids). */
	body = ms_body_of(META_MAX_EVENTS + 1, "{\"mid\":\"m%zu\",\"text\":\"x\"}");
	assert_refused(body, GW_ETOOBIG, "more than");
	free(body);
	body = ms_body_of(META_MAX_EVENTS / 2 + 1,
			  "{\"mids\":[\"a%zu\",\"b%zu\"],\"watermark\":1}");
	assert_refused(body, GW_ETOOBIG, "more than");
	free(body);
}

/* A WhatsApp text message whose body member is `text_json` (JSON). */
static char *wa_text_body(const char *id, const char *text)
{
	json_t *root = json_pack(
		"{s:s,s:[{s:[{s:s,s:{s:{s:s},s:[{s:s,s:s,s:s,s:s,s:{s:s}}]}}]}]}", "object",
		"whatsapp_business_account", "entry", "changes", "field", "messages", "value",
		"metadata", "phone_number_id", "1", "messages", "from", "1", "id", id,
		"timestamp", "1700000000", "type", "text", "text", "body", text);
	char *s;

	assert_non_null(root);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	assert_non_null(s);
	return s;
}


static void test_limits(void **state)
{
	struct meta_events l;
	char *long_id = repeat("i", PROTO_MAX_EXTERNAL_ID + 1);
	char *big = repeat("\xC3\xA9", 40000); /* 80000 bytes: raw over 64 KiB */
	char *body = wa_text_body(long_id, "hi");
	char *payload;

	(void)state;
	/* An id over its limit cannot be cut: the message is kept as unknown
	 * under a hash of itself. */
	free(assert_unreadable(body, 1, "messages[0].id: longer than"));
	free(body);

	/* A big message keeps its text; its raw copy is dropped. */
	body = wa_text_body("wamid.big", big);
	parse_ok(body, strlen(body), &l);
	assert_int_equal(strlen(l.ev[0].u.message.text), 80000);
	assert_null(l.ev[0].u.message.raw);
	meta_events_clear(&l);
	free(body);

	/* A postback payload over the choice id limit becomes its digest. */
	payload = repeat("p", 1000);
	body = malloc(4096);
	assert_non_null(body);
	snprintf(body, 4096,
		 "{\"object\":\"page\",\"entry\":[{\"id\":\"P\",\"time\":1,\"messaging\":[{"
		 "\"sender\":{\"id\":\"S\"},\"timestamp\":2,\"postback\":{\"mid\":\"m1\","
		 "\"title\":\"%s\",\"payload\":\"%s\"}}]}]}",
		 big + 78000, payload);
	parse_ok(body, strlen(body), &l);
	assert_int_equal(strncmp(l.ev[0].u.message.choice->id, "sha256:", 7), 0);
	assert_int_equal(strlen(l.ev[0].u.message.choice->id), 7 + 64);
	/* The 2000-byte title is cut to the limit on a character boundary. */
	assert_int_equal(strlen(l.ev[0].u.message.choice->title), PROTO_MAX_SHORT);
	meta_events_clear(&l);
	free(body);
	free(payload);
	free(big);
	free(long_id);
}

static void test_depth(void **state)
{
	char *open = repeat("[", 100);
	char *close = repeat("]", 100);
	char body[512];

	(void)state;
	snprintf(body, sizeof(body), "{\"object\":\"page\",\"entry\":[],\"x\":%s%s}", open, close);
	assert_refused(body, GW_EPROTO, "nested deeper");
	free(open);
	free(close);
}

/* The ids of every event, joined, for comparison. */
static void ids_of(const struct meta_events *l, char *out, size_t outlen)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < l->n && off < outlen; i++) {
		const struct proto_event *e = &l->ev[i];
		const char *id = e->type == PROTO_T_MESSAGE_STATUS ? e->u.status.status_id
			       : (e->type == PROTO_T_MESSAGE_EDITED ||
				  e->type == PROTO_T_MESSAGE_DELETED)
				       ? e->u.change.change_id
				       : e->u.message.external_id;
		int n = snprintf(out + off, outlen - off, "%s|", id);

		assert_true(n > 0);
		off += (size_t)n;
	}
}

static void test_determinism(void **state)
{
	static const char *const files[] = {
		MS "WebhookTest.shouldHandlePostbackEvent.json",
		MS "WebhookTest.shouldHandleAdReferralEvent.json",
		MS "WebhookTest.shouldHandleMessageReadEvent.json",
		MS "WebhookTest.shouldHandleMessageDeliveredEventWithoutMids.json",
		MS "WebhookTest.shouldHandleEventTypeThatIsUnsupported.json",
		WA "message_status__failed.json",
		WA "edited_message__image.json",
		"whatsapp/batch_two_entries.json",
	};
	struct meta_events a, b;
	char ida[2048], idb[2048];

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len;
		char *body = load(files[i], &len);

		parse_ok(body, len, &a);
		parse_ok(body, len, &b);
		assert_true(a.n > 0);
		assert_int_equal(a.n, b.n);
		ids_of(&a, ida, sizeof(ida));
		ids_of(&b, idb, sizeof(idb));
		assert_string_equal(ida, idb);
		meta_events_clear(&a);
		meta_events_clear(&b);
		free(body);
	}
	parse_ok(ms_reaction_body, strlen(ms_reaction_body), &a);
	parse_ok(ms_reaction_body, strlen(ms_reaction_body), &b);
	ids_of(&a, ida, sizeof(ida));
	ids_of(&b, idb, sizeof(idb));
	assert_string_equal(ida, idb);
	meta_events_clear(&a);
	meta_events_clear(&b);
}

static void test_list_contract(void **state)
{
	struct meta_events l = {0};
	struct meta_parse_error err;
	static const char body[] = "{\"object\":\"page\",\"entry\":[]}";

	(void)state;
	meta_events_clear(NULL);
	meta_events_clear(&l);
	/* No events is a success. */
	parse_ok(body, strlen(body), &l);
	assert_int_equal(l.n, 0);
	meta_events_clear(&l);
	/* A list that is not empty is the caller's: refused, left alone. */
	parse_ok(ms_edit_body, strlen(ms_edit_body), &l);
	assert_int_equal(meta_parse(body, strlen(body), RECV, &l, &err), GW_EINVAL);
	assert_int_equal(l.n, 1);
	meta_events_clear(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wa_text),
		cmocka_unit_test(test_wa_image),
		cmocka_unit_test(test_wa_video_document),
		cmocka_unit_test(test_wa_audio_sticker),
		cmocka_unit_test(test_wa_location),
		cmocka_unit_test(test_wa_contacts),
		cmocka_unit_test(test_wa_interactive),
		cmocka_unit_test(test_wa_button),
		cmocka_unit_test(test_wa_reaction),
		cmocka_unit_test(test_wa_order_system),
		cmocka_unit_test(test_wa_referral_reply),
		cmocka_unit_test(test_wa_unknown),
		cmocka_unit_test(test_wa_edit_revoke),
		cmocka_unit_test(test_wa_echoes),
		cmocka_unit_test(test_wa_statuses),
		cmocka_unit_test(test_wa_status_failed),
		cmocka_unit_test(test_wa_status_unknown_name),
		cmocka_unit_test(test_wa_no_timestamp),
		cmocka_unit_test(test_wa_batch),
		cmocka_unit_test(test_unreadable_beside_good),
		cmocka_unit_test(test_ms_no_time_ids),
		cmocka_unit_test(test_wa_ignored_fields),
		cmocka_unit_test(test_wa_value_errors),
		cmocka_unit_test(test_wa_user_id),
		cmocka_unit_test(test_ms_text),
		cmocka_unit_test(test_ms_attachments),
		cmocka_unit_test(test_ms_quick_reply),
		cmocka_unit_test(test_ms_postback),
		cmocka_unit_test(test_ms_referrals),
		cmocka_unit_test(test_ms_receipts),
		cmocka_unit_test(test_ms_echo),
		cmocka_unit_test(test_reply_names),
		cmocka_unit_test(test_ms_edit_reaction),
		cmocka_unit_test(test_ms_unknown_items),
		cmocka_unit_test(test_ig_messages),
		cmocka_unit_test(test_ig_story_mention),
		cmocka_unit_test(test_ig_unsend_seen),
		cmocka_unit_test(test_unknown_object),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_missing_and_bad_fields),
		cmocka_unit_test(test_too_many_events),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_list_contract),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

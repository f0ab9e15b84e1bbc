/*
 * tg_message.c - a Telegram Message into a message event (tg_parse_int.h):
 * its ids, sender, content (text, media, location, venue, contact, or a
 * kind the gateway does not read), the message it replies to and its JSON.
 */
#include "connectors/telegram/tg_parse_int.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define TG_PHONE_DIGITS_MAX 17
#define TG_PHONE_TEXT_MAX 40 /* a card's number as written, with separators */
#define TG_SIDE_MAX 1000000 /* pixels of a photo's side taken as such */

/* The media a Message may carry, in the order they are looked for: an
 * animation also comes as a document, for older clients. */
static const struct tg_media {
	const char *key;  /* the Message's member, also the kind */
	const char *mime; /* when the file has no mime_type */
} tg_media[] = {
	{"photo", "image/jpeg"},       {"animation", "video/mp4"},
	{"document", "application/octet-stream"}, {"audio", "audio/mpeg"},
	{"voice", "audio/ogg"},        {"video", "video/mp4"},
	{"video_note", "video/mp4"},   {"sticker", "image/webp"},
};

/* A Message's members that say nothing of its content. */
static const char *const tg_meta_keys[] = {
	"message_id", "message_thread_id", "from", "sender_chat", "sender_boost_count",
	"sender_business_bot", "date", "business_connection_id", "chat", "forward_origin",
	"forward_from", "forward_from_chat", "forward_from_message_id", "forward_signature",
	"forward_sender_name", "forward_date", "is_topic_message", "is_automatic_forward",
	"reply_to_message", "external_reply", "quote", "reply_to_story", "via_bot", "edit_date",
	"has_protected_content", "is_from_offline", "media_group_id", "author_signature",
	"entities", "caption_entities", "link_preview_options", "effect_id", "reply_markup",
	"has_media_spoiler", "show_caption_above_media", "caption", "paid_star_count",
	"direct_messages_topic", "sender_tag",
};

/* ---- ids and text --------------------------------------------------------- */

int tg_message_ids_peek(const json_t *msg, char chat[TG_ID_TEXT], char id[TG_ID_TEXT])
{
	int64_t cid, mid;

	if (tg_int(tg_obj(msg, "chat"), "id", &cid) != 0 || tg_int(msg, "message_id", &mid) != 0)
		return -1;
	snprintf(chat, TG_ID_TEXT, "%lld", (long long)cid);
	snprintf(id, TG_ID_TEXT, "%lld", (long long)mid);
	return 0;
}

int tg_message_ids(struct tg_ctx *c, const json_t *msg, const char *path,
		   char chat[TG_ID_TEXT], char id[TG_ID_TEXT])
{
	if (tg_message_ids_peek(msg, chat, id) != 0)
		return tg_fail(c, GW_EPROTO, "%s: chat.id or message_id missing or not an integer",
			       path);
	return GW_OK;
}

int tg_message_text(struct tg_ctx *c, const json_t *msg, char **out)
{
	int rc = tg_text(c, msg, "text", PROTO_MAX_TEXT, out);

	if (rc == GW_OK && !*out)
		rc = tg_text(c, msg, "caption", PROTO_MAX_TEXT, out);
	return rc;
}

/* ---- media ----------------------------------------------------------------- */

/* tg_largest - the largest size of a photo: the biggest file_size, then
 * the most pixels (Telegram lists them smallest first). */
static const json_t *tg_largest(const json_t *sizes)
{
	const json_t *best = NULL, *p;
	int64_t best_bytes = -1, best_px = -1;
	size_t i;

	json_array_foreach(sizes, i, p) {
		int64_t bytes = -1, w = 0, h = 0;

		if (!tg_str(p, "file_id"))
			continue;
		tg_int(p, "file_size", &bytes);
		/* Bounded, so that w * h cannot overflow on a forged size. */
		if (tg_int(p, "width", &w) != 0 || w < 0 || w > TG_SIDE_MAX)
			w = 0;
		if (tg_int(p, "height", &h) != 0 || h < 0 || h > TG_SIDE_MAX)
			h = 0;
		if (bytes > best_bytes || (bytes == best_bytes && w * h > best_px)) {
			best = p;
			best_bytes = bytes;
			best_px = w * h;
		}
	}
	return best;
}

/* tg_mime - the file's mime_type, or the kind's (a sticker's by its format). */
static const char *tg_mime(const json_t *f, const struct tg_media *md)
{
	const char *mime = tg_str(f, "mime_type");

	if (mime && mime[0] && strlen(mime) <= PROTO_MAX_MEDIA_TYPE && !strchr(mime, ' '))
		return mime;
	if (strcmp(md->key, "sticker") == 0 && json_is_true(json_object_get(f, "is_animated")))
		return "application/x-tgsticker";
	if (strcmp(md->key, "sticker") == 0 && json_is_true(json_object_get(f, "is_video")))
		return "video/webm";
	return md->mime;
}

static int tg_attachment(struct tg_ctx *c, const json_t *f, const struct tg_media *md,
			 const json_t *msg, struct proto_attachment *a)
{
	const char *fid = tg_str(f, "file_id");
	int64_t size = 0;
	int rc;

	if (!fid || !fid[0])
		return tg_fail(c, GW_EPROTO, "message.%s.file_id: missing", md->key);
	if (strlen(fid) + strlen(TG_FILE_REF_PREFIX) > PROTO_MAX_REF)
		return tg_fail(c, GW_ETOOBIG, "message.%s.file_id: over %d bytes", md->key,
			       PROTO_MAX_REF);
	if (tg_int(f, "file_size", &size) == 0 && size > 0)
		a->size = (uint64_t)size;
	rc = tg_printf(c, &a->ref, TG_FILE_REF_PREFIX "%s", fid);
	if (rc == GW_OK)
		rc = tg_dup(c, tg_mime(f, md), &a->type);
	if (rc == GW_OK)
		rc = tg_text(c, f, "file_name", PROTO_MAX_NAME, &a->name);
	if (rc == GW_OK && !a->name)
		rc = tg_dup(c, "", &a->name);
	if (rc == GW_OK)
		rc = tg_dup(c, md->key, &a->kind);
	if (rc == GW_OK)
		rc = tg_text(c, msg, "caption", PROTO_MAX_CAPTION, &a->caption);
	return rc;
}

/* tg_media_msg - a Message with a file: one attachment; the caption (a
 * sticker's emoji) as the text. */
static int tg_media_msg(struct tg_ctx *c, const json_t *msg, const struct tg_media *md,
			struct proto_message *m)
{
	const json_t *f = strcmp(md->key, "photo") == 0 ? tg_largest(json_object_get(msg, "photo"))
						       : tg_obj(msg, md->key);
	int rc;

	if (!f)
		return tg_fail(c, GW_EPROTO, "message.%s: no file in it", md->key);
	m->attachments = calloc(1, sizeof(*m->attachments));
	if (!m->attachments)
		return tg_fail(c, GW_ENOMEM, "out of memory");
	m->attachments_len = 1;
	rc = tg_attachment(c, f, md, msg, &m->attachments[0]);
	if (rc == GW_OK)
		rc = tg_dup(c, md->key, &m->kind);
	if (rc == GW_OK)
		rc = tg_text(c, msg, "caption", PROTO_MAX_TEXT, &m->text);
	if (rc == GW_OK && !m->text && strcmp(md->key, "sticker") == 0)
		rc = tg_text(c, f, "emoji", PROTO_MAX_TEXT, &m->text);
	if (rc == GW_OK && !m->text)
		rc = tg_dup(c, "", &m->text);
	return rc;
}

/* ---- location, venue, contact -------------------------------------------- */

static int tg_location(struct tg_ctx *c, const json_t *loc, const char *path,
		       struct proto_message *m)
{
	const json_t *lat = json_object_get(loc, "latitude"), *lon = json_object_get(loc, "longitude");

	if (!json_is_number(lat) || !json_is_number(lon) || !isfinite(json_number_value(lat)) ||
	    !isfinite(json_number_value(lon)))
		return tg_fail(c, GW_EPROTO, "%s: latitude or longitude missing", path);
	m->location = calloc(1, sizeof(*m->location));
	if (!m->location)
		return tg_fail(c, GW_ENOMEM, "out of memory");
	m->location->latitude = json_number_value(lat);
	m->location->longitude = json_number_value(lon);
	return GW_OK;
}

static int tg_venue(struct tg_ctx *c, const json_t *msg, struct proto_message *m)
{
	const json_t *v = tg_obj(msg, "venue");
	const json_t *loc = tg_obj(v, "location") ? tg_obj(v, "location") : tg_obj(msg, "location");
	struct proto_location *l;
	int rc = tg_location(c, loc, "message.venue.location", m);

	if (rc != GW_OK)
		return rc;
	l = m->location;
	rc = tg_text(c, v, "title", PROTO_MAX_SHORT, &l->name);
	if (rc == GW_OK)
		rc = tg_text(c, v, "address", PROTO_MAX_SHORT, &l->address);
	if (rc == GW_OK)
		rc = tg_printf(c, &m->text, "%s%s%s", l->name ? l->name : "",
			       l->name && l->address ? "\n" : "", l->address ? l->address : "");
	if (rc == GW_OK)
		rc = tg_dup(c, "venue", &m->kind);
	return rc;
}

/*
 * tg_phone - the number of a contact card as the event gives it: "+<digits>"
 * when written with '+' or as digits only (Telegram's own spelling, which
 * is international); as written when it has separators but no '+' ("(11)
 * 98765-4321": a card typed by hand), for the router to read in
 * routing.default_region. -1 when it is anything else or too long.
 */
static int tg_phone(const char *s, char *out, size_t outlen)
{
	size_t digits = 0, len = s ? strlen(s) : 0, k = 0;
	int plus = len && s[0] == '+';

	if (!len || len >= outlen)
		return -1;
	for (const char *p = s + plus; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (!strchr(" -.()", *p))
			return -1;
	}
	if (digits == 0 || digits > TG_PHONE_DIGITS_MAX)
		return -1;
	if (!plus && digits != len) {
		memcpy(out, s, len + 1);
		return 0;
	}
	out[k++] = '+';
	for (const char *p = s + plus; *p; p++)
		if (*p >= '0' && *p <= '9')
			out[k++] = *p;
	out[k] = '\0';
	return 0;
}

/*
 * tg_contact - a contact card: "Name: phone" as the text, and its number as
 * the sender's phone. When its user_id is the sender's own id, Telegram
 * vouches that the number is theirs (a client sends one's own card only
 * from the account's number): phone_verified. Anyone else's card is a
 * claim only (the router registers it as claimed: it never decides who
 * the sender is).
 */
static int tg_contact(struct tg_ctx *c, const json_t *msg, struct proto_message *m)
{
	const json_t *card = tg_obj(msg, "contact");
	const char *first = tg_str(card, "first_name"), *last = tg_str(card, "last_name");
	const char *phone = tg_str(card, "phone_number");
	char norm[TG_PHONE_TEXT_MAX], *text = NULL;
	int64_t uid, sender;
	int rc;

	rc = tg_printf(c, &text, "%s%s%s%s%s", first ? first : "", first && last ? " " : "",
		       last ? last : "", (first || last) && phone ? ": " : "", phone ? phone : "");
	if (rc == GW_OK)
		rc = tg_cut(c, text, strlen(text), PROTO_MAX_TEXT, &m->text);
	free(text);
	if (rc == GW_OK)
		rc = tg_dup(c, "contact", &m->kind);
	if (rc != GW_OK || tg_phone(phone, norm, sizeof(norm)) != 0)
		return rc;
	m->from.phone_verified = tg_int(card, "user_id", &uid) == 0 &&
				 tg_int(tg_obj(msg, "from"), "id", &sender) == 0 && uid == sender;
	return tg_dup(c, norm, &m->from.phone);
}

/* ---- content ------------------------------------------------------------------ */

/* tg_first_content - the first member that is not metadata: what a
 * Message the gateway does not read holds (dice, poll, new_chat_members). */
static const char *tg_first_content(const json_t *msg)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)msg, key, v) {
		size_t i, n = sizeof(tg_meta_keys) / sizeof(tg_meta_keys[0]);

		for (i = 0; i < n && strcmp(key, tg_meta_keys[i]) != 0; i++)
			;
		if (i == n && !json_is_null(v))
			return key;
	}
	return "message";
}

static int tg_unread(struct tg_ctx *c, const json_t *msg, struct proto_message *m)
{
	const char *what = tg_first_content(msg);
	int rc;

	m->unsupported = true;
	rc = tg_dup(c, "unknown", &m->kind);
	if (rc == GW_OK)
		rc = tg_cut(c, what, strlen(what), PROTO_MAX_KIND, &m->raw_type);
	if (rc == GW_OK)
		rc = tg_text(c, msg, "caption", PROTO_MAX_TEXT, &m->text);
	if (rc == GW_OK && !m->text)
		rc = tg_dup(c, "", &m->text);
	return rc;
}

static int tg_content(struct tg_ctx *c, const json_t *msg, struct proto_message *m)
{
	int rc;

	for (size_t i = 0; i < sizeof(tg_media) / sizeof(tg_media[0]); i++)
		if (json_is_object(json_object_get(msg, tg_media[i].key)) ||
		    json_is_array(json_object_get(msg, tg_media[i].key)))
			return tg_media_msg(c, msg, &tg_media[i], m);
	if (tg_obj(msg, "venue"))
		return tg_venue(c, msg, m);
	if (tg_obj(msg, "location")) {
		rc = tg_location(c, tg_obj(msg, "location"), "message.location", m);
		if (rc == GW_OK)
			rc = tg_dup(c, "location", &m->kind);
		return rc == GW_OK ? tg_dup(c, "", &m->text) : rc;
	}
	if (tg_obj(msg, "contact"))
		return tg_contact(c, msg, m);
	if (json_is_string(json_object_get(msg, "text"))) {
		rc = tg_text(c, msg, "text", PROTO_MAX_TEXT, &m->text);
		return rc == GW_OK ? tg_dup(c, "text", &m->kind) : rc;
	}
	return tg_unread(c, msg, m);
}

/* tg_sender - the user who wrote, else the chat it was sent on behalf of. */
static int tg_sender(struct tg_ctx *c, const json_t *msg, const char *path,
		     struct proto_party *p)
{
	char where[64];
	const char *key = tg_obj(msg, "from")          ? "from"
			  : tg_obj(msg, "sender_chat") ? "sender_chat"
						       : "chat";

	snprintf(where, sizeof(where), "%s.%s", path, key);
	return tg_party(c, tg_obj(msg, key), where, p);
}

static int tg_reply_to(struct tg_ctx *c, const json_t *msg, const char *chat,
		       struct proto_message *m)
{
	int64_t rid;

	if (tg_int(tg_obj(msg, "reply_to_message"), "message_id", &rid) != 0)
		return GW_OK;
	m->reply_to = calloc(1, sizeof(*m->reply_to));
	if (!m->reply_to)
		return tg_fail(c, GW_ENOMEM, "out of memory");
	m->reply_to_len = 1;
	return tg_printf(c, &m->reply_to[0], "%s:%lld", chat, (long long)rid);
}

int tg_message_fill(struct tg_ctx *c, const json_t *msg, const char *path,
		    struct proto_message *m)
{
	char chat[TG_ID_TEXT], id[TG_ID_TEXT];
	int rc = tg_message_ids(c, msg, path, chat, id);
	int64_t date;

	m->received_at = c->o->received_at;
	/* Telegram's date (s) of the message; none or out of range: omitted. */
	if (tg_int(msg, "date", &date) == 0 && date > 0 && date < INT64_MAX / 1000)
		m->sent_at = date * 1000;
	if (rc == GW_OK)
		rc = tg_dup(c, TG_CHANNEL, &m->channel);
	if (rc == GW_OK)
		rc = tg_dup(c, c->o->account, &m->account);
	if (rc == GW_OK)
		rc = tg_printf(c, &m->external_id, "%s:%s", chat, id);
	if (rc == GW_OK)
		rc = tg_sender(c, msg, path, &m->from);
	if (rc == GW_OK)
		rc = tg_content(c, msg, m);
	if (rc == GW_OK)
		rc = tg_reply_to(c, msg, chat, m);
	if (rc == GW_OK)
		rc = tg_raw(c, msg, &m->raw);
	return rc;
}

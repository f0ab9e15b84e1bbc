/*
 * whatsapp.c - WhatsApp Cloud API bodies (`object: whatsapp_business_account`)
 * into events. docs/channels/whatsapp.md, "Events", is the table of what
 * each shape becomes.
 *
 *   entry[].changes[] {field, value}
 *     field "messages":           value.messages[], value.statuses[]
 *     field "smb_message_echoes": value.message_echoes[] (messages the
 *                                 business sent from the WhatsApp Business
 *                                 app, on numbers that use both)
 *     any other field (account, template, call updates): nothing.
 *
 * Rule for bad input: a message or status that cannot be read (its id,
 * from, type or status missing or malformed, an id over its limit, a
 * timestamp that is not epoch seconds) never refuses the body, since Meta
 * would redeliver the same bytes and the messages beside it would wait with
 * it. A message is kept as kind "unknown" with raw under its id (or a hash
 * of it) when its sender can be read, else dropped; a status is dropped;
 * both are counted for the connector's log (meta_events.unreadable). A
 * missing timestamp takes the time the body arrived. Content the parser
 * does not know (a new type, a media object without its id, ...) is no
 * error: kind "unknown" with unsupported = true and raw. What refuses a
 * body is its structure: entry, changes, value, metadata.phone_number_id.
 */
#include "connectors/meta/meta_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define WA_CHANNEL "whatsapp"
#define WA_MEDIA_PREFIX "whatsapp-media:"

/* What every message of one change's value shares. */
struct wa_value {
	const json_t *value;    /* borrowed */
	const json_t *contacts; /* value.contacts, may be NULL */
	const char *account;    /* metadata.phone_number_id */
	const char *display;    /* metadata.display_phone_number, may be NULL */
	const char *path;       /* "entry[i].changes[j].value" */
	bool outbound;          /* message_echoes: sent by the business */
};

/* One message being parsed. */
struct wa_msg {
	const struct wa_value *v;
	const json_t *msg;      /* borrowed */
	const char *type;
	char path[META_PATH_MAX];
	int64_t at;             /* its timestamp, ms; 0 when absent */
};

/* The profile name that value.contacts gives for an address, or NULL. */
static const char *wa_contact_name(const struct wa_value *v, const char *addr)
{
	const json_t *item;
	size_t i;

	if (!v->contacts || !addr)
		return NULL;
	json_array_foreach(v->contacts, i, item) {
		const char *wa_id = meta_str(item, "wa_id");
		const char *user_id = meta_str(item, "user_id");

		if ((wa_id && strcmp(wa_id, addr) == 0) || (user_id && strcmp(user_id, addr) == 0))
			return meta_str(meta_obj(item, "profile"), "name");
	}
	return NULL;
}

/*
 * The key that holds an address: `key` ("from", "to") when present, else
 * `key`_user_id, the business-scoped user id Meta sends for customers who
 * use a username instead of showing their number.
 */
static const char *wa_addr_key(const json_t *msg, const char *key)
{
	if (json_object_get(msg, key))
		return key;
	if (strcmp(key, "from") == 0 && json_object_get(msg, "from_user_id"))
		return "from_user_id";
	if (strcmp(key, "to") == 0 && json_object_get(msg, "to_user_id"))
		return "to_user_id";
	return key;
}

/* Kind "unknown": the parser could not read this content; raw keeps it. */
static int wa_unknown(struct meta_ctx *c, struct proto_message *m)
{
	free(m->kind);
	m->unsupported = true;
	return meta_dup(c, "unknown", &m->kind);
}

static int wa_text(struct meta_ctx *c, struct wa_msg *w, struct proto_message *m)
{
	const json_t *t = meta_obj(w->msg, "text");

	if (!t)
		return wa_unknown(c, m);
	return meta_text(c, t, "body", PROTO_MAX_TEXT, &m->text);
}

/* The media id as an attachment ref "whatsapp-media:<id>". */
static int wa_media_ref(struct meta_ctx *c, const json_t *media, char **ref)
{
	const char *id = meta_str(media, "id");

	*ref = NULL;
	if (!id || !id[0] || strlen(id) + sizeof(WA_MEDIA_PREFIX) > PROTO_MAX_REF)
		return GW_OK;
	return meta_derive(c, ref, WA_MEDIA_PREFIX "%s", id);
}

static int wa_media(struct meta_ctx *c, struct wa_msg *w, struct proto_message *m)
{
	const json_t *media = meta_obj(w->msg, w->type);
	const char *mime = meta_str(media, "mime_type");
	struct proto_attachment *a;
	char *ref = NULL;
	int rc;

	rc = wa_media_ref(c, media, &ref);
	if (rc != GW_OK)
		return rc;
	if (!ref)
		return wa_unknown(c, m);
	a = calloc(1, sizeof(*a));
	if (!a) {
		free(ref);
		return meta_fail(c, GW_ENOMEM, "out of memory");
	}
	m->attachments = a;
	m->attachments_len = 1;
	a->ref = ref;
	/* A cut media type would be a wrong one: fall back to the generic. */
	if (!mime || !mime[0] || strlen(mime) > PROTO_MAX_MEDIA_TYPE)
		mime = "application/octet-stream";
	rc = meta_dup(c, mime, &a->type);
	if (rc == GW_OK)
		rc = meta_text(c, media, "filename", PROTO_MAX_NAME, &a->name);
	if (rc == GW_OK && !a->name)
		rc = meta_dup(c, "", &a->name);
	if (rc == GW_OK)
		rc = meta_dup(c, w->type, &a->kind);
	/* A digest is useless cut: meta_url drops one over its limit. */
	if (rc == GW_OK)
		rc = meta_url(c, media, "sha256", PROTO_MAX_SHA256, &a->sha256);
	if (rc == GW_OK)
		rc = meta_text(c, media, "caption", PROTO_MAX_CAPTION, &a->caption);
	if (rc == GW_OK && a->caption)
		rc = meta_dup(c, a->caption, &m->text);
	return rc;
}

/* "name\naddress", either alone, or NULL when neither is given. */
static int wa_location_text(struct meta_ctx *c, const struct proto_location *l, char **out)
{
	struct meta_buf b = {.max = PROTO_MAX_TEXT};
	int rc = GW_OK;

	*out = NULL;
	if (l->name)
		rc = meta_buf_add(c, &b, l->name, strlen(l->name));
	if (rc == GW_OK && l->name && l->address)
		rc = meta_buf_add(c, &b, "\n", 1);
	if (rc == GW_OK && l->address)
		rc = meta_buf_add(c, &b, l->address, strlen(l->address));
	if (rc == GW_OK && b.p)
		rc = meta_buf_take(c, &b, out);
	free(b.p);
	return rc;
}

static int wa_location(struct meta_ctx *c, struct wa_msg *w, struct proto_message *m)
{
	const json_t *loc = meta_obj(w->msg, "location");
	const json_t *lat = json_object_get(loc, "latitude");
	const json_t *lon = json_object_get(loc, "longitude");
	struct proto_location *l;
	int rc;

	if (!json_is_number(lat) || !json_is_number(lon) ||
	    fabs(json_number_value(lat)) > 90.0 || fabs(json_number_value(lon)) > 180.0)
		return wa_unknown(c, m);
	l = calloc(1, sizeof(*l));
	if (!l)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	m->location = l;
	l->latitude = json_number_value(lat);
	l->longitude = json_number_value(lon);
	rc = meta_text(c, loc, "name", PROTO_MAX_SHORT, &l->name);
	if (rc == GW_OK)
		rc = meta_text(c, loc, "address", PROTO_MAX_SHORT, &l->address);
	if (rc == GW_OK)
		rc = meta_url(c, loc, "url", PROTO_MAX_REF, &l->url);
	if (rc == GW_OK)
		rc = wa_location_text(c, l, &m->text);
	return rc;
}

/* One shared contact as "Name: +1 555, +1 666". */
static int wa_contact_line(struct meta_ctx *c, struct meta_buf *b, const json_t *card)
{
	const json_t *name = meta_obj(card, "name");
	const char *s = meta_str(name, "formatted_name");
	const json_t *phone;
	size_t i, n = 0;
	int rc = GW_OK;

	if (!s)
		s = meta_str(name, "first_name");
	if (!s)
		s = "?";
	rc = meta_buf_add(c, b, s, strlen(s));
	json_array_foreach(meta_arr(card, "phones"), i, phone) {
		const char *p = meta_str(phone, "phone");

		if (!p || rc != GW_OK)
			continue;
		rc = meta_buf_add(c, b, n++ ? ", " : ": ", 2);
		if (rc == GW_OK)
			rc = meta_buf_add(c, b, p, strlen(p));
	}
	return rc;
}

static int wa_contacts(struct meta_ctx *c, struct wa_msg *w, struct proto_message *m)
{
	const json_t *cards = meta_arr(w->msg, "contacts");
	struct meta_buf b = {.max = PROTO_MAX_TEXT};
	const json_t *card;
	size_t i;
	int rc = GW_OK;

	if (!cards)
		return wa_unknown(c, m);
	json_array_foreach(cards, i, card) {
		if (rc == GW_OK && i > 0)
			rc = meta_buf_add(c, &b, "\n", 1);
		if (rc == GW_OK)
			rc = wa_contact_line(c, &b, card);
	}
	if (rc == GW_OK)
		rc = meta_buf_take(c, &b, &m->text);
	free(b.p);
	return rc;
}

/* A choice from {id, title, description} keys; *ok false when id is missing. */
static int wa_choice(struct meta_ctx *c, struct proto_message *m, const json_t *obj,
		     const char *id_key, const char *title_key, const char *path)
{
	struct proto_choice *ch = calloc(1, sizeof(*ch));
	int rc;

	if (!ch)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	m->choice = ch;
	rc = meta_choice_id(c, obj, id_key, path, &ch->id);
	if (rc == GW_OK)
		rc = meta_text(c, obj, title_key, PROTO_MAX_SHORT, &ch->title);
	if (rc == GW_OK)
		rc = meta_text(c, obj, "description", PROTO_MAX_SHORT, &ch->description);
	if (rc == GW_OK && ch->title)
		rc = meta_dup(c, ch->title, &m->text);
	return rc;
}

static int wa_interactive(struct meta_ctx *c, struct wa_msg *w, struct proto_message *m)
{
	const json_t *it = meta_obj(w->msg, "interactive");
	const char *reply_keys[] = {"button_reply", "list_reply"};
	char path[META_PATH_MAX + 32];

	for (size_t i = 0; i < 2; i++) {
		const json_t *r = meta_obj(it, reply_keys[i]);

		if (r && meta_str(r, "id")) {
			meta_pathf(path, sizeof(path), "%s.interactive.%s", w->path, reply_keys[i]);
			return wa_choice(c, m, r, "id", "title", path);
		}
	}
	/* A Flow's answer: its data is in raw (nfm_reply.response_json). */
	if (meta_obj(it, "nfm_reply"))
		return meta_text(c, meta_obj(it, "nfm_reply"), "body", PROTO_MAX_TEXT, &m->text);
	return wa_unknown(c, m);
}

/* A template's quick-reply button: the payload names the choice. */
static int wa_button(struct meta_ctx *c, struct wa_msg *w, struct proto_message *m)
{
	const json_t *b = meta_obj(w->msg, "button");
	char path[META_PATH_MAX + 16];

	meta_pathf(path, sizeof(path), "%s.button", w->path);
	if (meta_str(b, "payload") && meta_str(b, "payload")[0])
		return wa_choice(c, m, b, "payload", "text", path);
	if (meta_str(b, "text") && meta_str(b, "text")[0])
		return wa_choice(c, m, b, "text", "text", path);
	return wa_unknown(c, m);
}

static int wa_reaction(struct meta_ctx *c, struct wa_msg *w, struct proto_message *m)
{
	const json_t *r = meta_obj(w->msg, "reaction");
	const char *target = meta_str(r, "message_id");
	const char *emoji = meta_str(r, "emoji");
	char path[META_PATH_MAX + 32];
	int rc;

	if (!target || !target[0])
		return wa_unknown(c, m);
	meta_pathf(path, sizeof(path), "%s.reaction.message_id", w->path);
	m->reaction = calloc(1, sizeof(*m->reaction));
	if (!m->reaction)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	rc = meta_id(c, r, "message_id", PROTO_MAX_EXTERNAL_ID, path, &m->reaction->message_id);
	/* No emoji, or "", is how WhatsApp says the reaction was removed. */
	if (rc == GW_OK)
		rc = meta_cut(c, emoji ? emoji : "", emoji ? strlen(emoji) : 0, PROTO_MAX_SHORT,
			      &m->reaction->emoji);
	if (rc == GW_OK)
		rc = meta_dup(c, m->reaction->emoji, &m->text);
	if (rc == GW_OK && !m->reply_to)
		rc = meta_reply_to(c, m, target, path);
	return rc;
}

/* "order: 3 items (catalog 123)" and the order's note on a second line. */
static int wa_order(struct meta_ctx *c, struct wa_msg *w, struct proto_message *m)
{
	const json_t *o = meta_obj(w->msg, "order");
	const char *catalog = meta_str(o, "catalog_id");
	const char *note = meta_str(o, "text");
	struct meta_buf b = {.max = PROTO_MAX_TEXT};
	size_t items = json_array_size(meta_arr(o, "product_items"));
	char head[64];
	int rc;

	if (!o)
		return wa_unknown(c, m);
	snprintf(head, sizeof(head), "order: %zu item%s", items, items == 1 ? "" : "s");
	rc = meta_buf_add(c, &b, head, strlen(head));
	if (rc == GW_OK && catalog && catalog[0]) {
		rc = meta_buf_add(c, &b, " (catalog ", 10);
		if (rc == GW_OK)
			rc = meta_buf_add(c, &b, catalog, strlen(catalog));
		if (rc == GW_OK)
			rc = meta_buf_add(c, &b, ")", 1);
	}
	if (rc == GW_OK && note && note[0]) {
		rc = meta_buf_add(c, &b, "\n", 1);
		if (rc == GW_OK)
			rc = meta_buf_add(c, &b, note, strlen(note));
	}
	if (rc == GW_OK)
		rc = meta_buf_take(c, &b, &m->text);
	free(b.p);
	return rc;
}

static int wa_system(struct meta_ctx *c, struct wa_msg *w, struct proto_message *m)
{
	const json_t *s = meta_obj(w->msg, "system");

	if (!s)
		return wa_unknown(c, m);
	return meta_text(c, s, "body", PROTO_MAX_TEXT, &m->text);
}

/* Where an ad or a post brought the customer from (click-to-WhatsApp). */
static int wa_referral(struct meta_ctx *c, struct wa_msg *w, struct proto_message *m)
{
	const json_t *r = meta_obj(w->msg, "referral");
	struct proto_referral *ref;
	int rc;

	if (!r)
		return GW_OK;
	ref = calloc(1, sizeof(*ref));
	if (!ref)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	m->referral = ref;
	rc = meta_text(c, r, "source_type", PROTO_MAX_SHORT, &ref->type);
	if (rc == GW_OK)
		rc = meta_url(c, r, "source_id", PROTO_MAX_SHORT, &ref->id);
	if (rc == GW_OK)
		rc = meta_url(c, r, "source_url", PROTO_MAX_REF, &ref->url);
	if (rc == GW_OK)
		rc = meta_text(c, r, "headline", PROTO_MAX_SHORT, &ref->headline);
	if (rc == GW_OK)
		rc = meta_text(c, r, "body", PROTO_MAX_SHORT, &ref->body);
	return rc;
}

typedef int (*wa_content_fn)(struct meta_ctx *c, struct wa_msg *w, struct proto_message *m);

static const struct {
	const char *type;
	wa_content_fn fn;
} wa_kinds[] = {
	{"text", wa_text},         {"image", wa_media},      {"audio", wa_media},
	{"video", wa_media},       {"document", wa_media},   {"sticker", wa_media},
	{"location", wa_location}, {"contacts", wa_contacts}, {"interactive", wa_interactive},
	{"button", wa_button},     {"reaction", wa_reaction}, {"order", wa_order},
	{"system", wa_system},
};

/* Fills kind, text and the parts of m that depend on the message type. */
static int wa_content(struct meta_ctx *c, struct wa_msg *w, struct proto_message *m)
{
	int rc;

	rc = meta_cut(c, w->type, strlen(w->type), PROTO_MAX_KIND, &m->raw_type);
	if (rc == GW_OK)
		rc = meta_dup(c, w->type, &m->kind);
	for (size_t i = 0; rc == GW_OK && i < sizeof(wa_kinds) / sizeof(wa_kinds[0]); i++)
		if (strcmp(w->type, wa_kinds[i].type) == 0) {
			rc = wa_kinds[i].fn(c, w, m);
			goto done;
		}
	/* "unsupported" and any type added after this parser. */
	if (rc == GW_OK)
		rc = wa_unknown(c, m);
done:
	if (rc == GW_OK)
		rc = wa_referral(c, w, m);
	if (rc == GW_OK && !m->text)
		rc = meta_dup(c, "", &m->text);
	return rc;
}

/* The sender and recipient: the customer and the business number, or the
 * other way round (and direction "outbound") for the business's own echoes. */
static int wa_parties(struct meta_ctx *c, struct wa_msg *w, struct proto_message *m)
{
	const struct wa_value *v = w->v;
	const char *name;
	char *to = NULL;
	int rc;

	rc = meta_id(c, w->msg, wa_addr_key(w->msg, "from"), PROTO_MAX_ADDRESS, w->path,
		     &m->from.address);
	name = v->outbound ? NULL : wa_contact_name(v, m->from.address);
	if (rc == GW_OK && name)
		rc = meta_cut(c, name, strlen(name), PROTO_MAX_NAME, &m->from.name);
	if (rc != GW_OK)
		return rc;
	if (v->outbound) {
		/* message.sent needs its recipient: the customer it is filed under. */
		rc = meta_id(c, w->msg, wa_addr_key(w->msg, "to"), PROTO_MAX_ADDRESS, w->path, &to);
		if (rc == GW_OK)
			rc = meta_party_new(c, to, wa_contact_name(v, to), &m->to);
		free(to);
		if (rc == GW_OK)
			rc = meta_dup(c, "outbound", &m->direction);
	} else if (v->display && v->display[0] && strlen(v->display) <= PROTO_MAX_ADDRESS) {
		rc = meta_party_new(c, v->display, NULL, &m->to);
	}
	return rc;
}

/* A new message event of the value: message.sent for the business's own
 * echoes, else message.received; channel, account and received_at set. */
static int wa_message_new(struct meta_ctx *c, const struct wa_value *v,
			  struct proto_message **out)
{
	struct proto_event *ev;
	int rc;

	rc = meta_push(c, v->outbound ? PROTO_T_MESSAGE_SENT : PROTO_T_MESSAGE_RECEIVED, &ev);
	if (rc != GW_OK)
		return rc;
	*out = &ev->u.message;
	(*out)->received_at = c->received_at;
	rc = meta_dup(c, WA_CHANNEL, &(*out)->channel);
	if (rc == GW_OK)
		rc = meta_dup(c, v->account, &(*out)->account);
	return rc;
}

/* A message the customer (or, for echoes, the business) sent. */
static int wa_message_event(struct meta_ctx *c, struct wa_msg *w)
{
	const json_t *ctx = meta_obj(w->msg, "context");
	struct proto_message *m;
	int rc;

	rc = wa_message_new(c, w->v, &m);
	if (rc == GW_OK) /* Meta's time of the message (0: none), for the window */
		m->sent_at = w->at;
	if (rc == GW_OK)
		rc = meta_id(c, w->msg, "id", PROTO_MAX_EXTERNAL_ID, w->path, &m->external_id);
	if (rc == GW_OK)
		rc = wa_parties(c, w, m);
	/* context.id is the message answered; context.from its sender (in raw). */
	if (rc == GW_OK && meta_str(ctx, "id") && meta_str(ctx, "id")[0])
		rc = meta_reply_to(c, m, meta_str(ctx, "id"), w->path);
	if (rc == GW_OK)
		rc = wa_content(c, w, m);
	if (rc == GW_OK)
		rc = meta_raw(c, w->msg, &m->raw);
	return rc;
}

/* The new text of an edit: text.body or the media caption. */
static int wa_edit_text(struct meta_ctx *c, const json_t *inner, char **out)
{
	const char *type = meta_str(inner, "type");
	const json_t *body;

	*out = NULL;
	if (!type)
		return GW_OK;
	body = meta_obj(inner, type);
	if (strcmp(type, "text") == 0)
		return meta_text(c, body, "body", PROTO_MAX_TEXT, out);
	return meta_text(c, body, "caption", PROTO_MAX_TEXT, out);
}

/* The author of an edit or withdrawal, named from contacts when inbound. */
static int wa_change_from(struct meta_ctx *c, struct wa_msg *w, struct proto_change *ch)
{
	const char *name;
	int rc;

	ch->from = calloc(1, sizeof(*ch->from));
	if (!ch->from)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	rc = meta_id(c, w->msg, wa_addr_key(w->msg, "from"), PROTO_MAX_ADDRESS, w->path,
		     &ch->from->address);
	name = w->v->outbound ? NULL : wa_contact_name(w->v, ch->from->address);
	if (rc == GW_OK && name)
		rc = meta_cut(c, name, strlen(name), PROTO_MAX_NAME, &ch->from->name);
	return rc;
}

/* type "edit" / "revoke": a change to an earlier message. */
static int wa_change_event(struct meta_ctx *c, struct wa_msg *w, const json_t *what,
			   const char *orig, bool edit)
{
	char path[META_PATH_MAX + 8];
	struct proto_event *ev;
	struct proto_change *ch;
	int rc;

	meta_pathf(path, sizeof(path), "%s.%s", w->path, w->type);
	rc = meta_push(c, edit ? PROTO_T_MESSAGE_EDITED : PROTO_T_MESSAGE_DELETED, &ev);
	if (rc != GW_OK)
		return rc;
	ch = &ev->u.change;
	ch->changed_at = w->at;
	rc = meta_dup(c, WA_CHANNEL, &ch->channel);
	if (rc == GW_OK)
		rc = meta_dup(c, w->v->account, &ch->account);
	if (rc == GW_OK)
		rc = meta_id(c, what, "original_message_id", PROTO_MAX_EXTERNAL_ID, path,
			     &ch->external_id);
	/* An edit has its own message id; a message is withdrawn only once. */
	if (rc == GW_OK && edit)
		rc = meta_derive(c, &ch->change_id, "%s:edit:%s", orig, meta_str(w->msg, "id"));
	else if (rc == GW_OK)
		rc = meta_derive(c, &ch->change_id, "%s:delete", orig);
	if (rc == GW_OK && edit)
		rc = wa_edit_text(c, meta_obj(what, "message"), &ch->text);
	if (rc == GW_OK)
		rc = wa_change_from(c, w, ch);
	return rc;
}

/* Edits and withdrawals when their shape is complete; otherwise NULL. */
static const json_t *wa_change_of(const struct wa_msg *w, bool *edit)
{
	const json_t *what;

	*edit = strcmp(w->type, "edit") == 0;
	if (!*edit && strcmp(w->type, "revoke") != 0)
		return NULL;
	what = meta_obj(w->msg, w->type);
	if (!meta_str(what, "original_message_id") || !meta_str(what, "original_message_id")[0])
		return NULL;
	if (*edit && !meta_str(w->msg, "id"))
		return NULL;
	return what;
}

static int wa_message(struct meta_ctx *c, const struct wa_value *v, const json_t *msg,
		      const char *key, size_t idx)
{
	struct wa_msg w = {.v = v, .msg = msg};
	const json_t *what;
	bool edit;
	int rc;

	meta_pathf(w.path, sizeof(w.path), "%s.%s[%zu]", v->path, key, idx);
	if (!json_is_object(msg))
		return meta_fail(c, GW_EPROTO, "%s: must be an object", w.path);
	w.type = meta_str(msg, "type");
	if (!w.type || !w.type[0])
		return meta_fail(c, GW_EPROTO, "%s.type: required", w.path);
	rc = meta_time(c, msg, "timestamp", 1000, w.path, &w.at);
	if (rc != GW_OK)
		return rc;
	what = wa_change_of(&w, &edit);
	if (!what)
		return wa_message_event(c, &w);
	if (w.at == 0)
		w.at = c->received_at;
	return wa_change_event(c, &w, what, meta_str(what, "original_message_id"), edit);
}

/*
 * A message wa_message() could not read: kind "unknown", unsupported, raw,
 * under its id when that can be read (else "unreadable:<hash of the
 * item>"), when its sender (and, for an echo, its recipient) can be read;
 * otherwise nothing (counted as dropped).
 */
static int wa_message_unreadable(struct meta_ctx *c, const struct wa_value *v,
				 const json_t *msg, const char *key, size_t idx)
{
	struct wa_msg w = {.v = v, .msg = msg};
	size_t mark = c->out->n;
	char ibuf[32];
	const char *id = meta_id_peek(msg, "id", PROTO_MAX_EXTERNAL_ID, ibuf, sizeof(ibuf));
	const char *type = meta_str(msg, "type");
	struct proto_message *m;
	char h[17];
	int rc;

	meta_pathf(w.path, sizeof(w.path), "%s.%s[%zu]", v->path, key, idx);
	if (!json_is_object(msg)) {
		c->out->dropped++;
		return GW_OK;
	}
	rc = wa_message_new(c, v, &m);
	if (rc == GW_OK)
		m->unsupported = true;
	if (rc == GW_OK && id)
		rc = meta_dup(c, id, &m->external_id);
	else if (rc == GW_OK)
		rc = meta_item_hash16(c, msg, h);
	if (rc == GW_OK && !id)
		rc = meta_derive(c, &m->external_id, "unreadable:%s", h);
	if (rc == GW_OK)
		rc = wa_parties(c, &w, m);
	if (rc == GW_OK)
		rc = meta_dup(c, "unknown", &m->kind);
	if (!type || !type[0])
		type = "unknown";
	if (rc == GW_OK)
		rc = meta_cut(c, type, strlen(type), PROTO_MAX_KIND, &m->raw_type);
	if (rc == GW_OK)
		rc = meta_dup(c, "", &m->text);
	if (rc == GW_OK)
		rc = meta_raw(c, msg, &m->raw);
	if (rc != GW_OK && meta_item_drop(c, mark, rc))
		rc = GW_OK;
	return rc;
}

/* errors[] of a failed status, at most PROTO_MAX_ERRORS (raw keeps all). */
static int wa_status_errors(struct meta_ctx *c, const json_t *arr, struct proto_status *s)
{
	size_t n = json_array_size(arr);
	int rc = GW_OK;

	if (n > PROTO_MAX_ERRORS)
		n = PROTO_MAX_ERRORS;
	if (n == 0)
		return GW_OK;
	s->errors = calloc(n, sizeof(*s->errors));
	if (!s->errors)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	for (size_t i = 0; rc == GW_OK && i < n; i++) {
		const json_t *e = json_array_get(arr, i);
		struct proto_status_error *pe = &s->errors[i];

		s->errors_len = i + 1;
		if (json_is_integer(json_object_get(e, "code")))
			pe->code = json_integer_value(json_object_get(e, "code"));
		rc = meta_text(c, e, "title", PROTO_MAX_SHORT, &pe->title);
		if (rc == GW_OK && !pe->title)
			rc = meta_text(c, e, "message", PROTO_MAX_SHORT, &pe->title);
		if (rc == GW_OK && !pe->title)
			rc = meta_dup(c, "error", &pe->title);
		/* details says why; message mostly repeats the title. */
		if (rc == GW_OK)
			rc = meta_text(c, meta_obj(e, "error_data"), "details", PROTO_MAX_SHORT,
				       &pe->message);
		if (rc == GW_OK && !pe->message)
			rc = meta_text(c, e, "message", PROTO_MAX_SHORT, &pe->message);
	}
	return rc;
}

/*
 * The event's status for WhatsApp's: the same name, except "played" (a voice
 * message was listened to), which is a read. NULL for a status the event
 * schema has no name for: such a report is skipped (no event; counted in
 * meta_events.skipped, which the connector logs).
 */
static const char *wa_status_name(const char *status)
{
	static const char *const same[] = {"sent", "delivered", "read", "failed", "deleted"};

	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		if (strcmp(status, same[i]) == 0)
			return same[i];
	if (strcmp(status, "played") == 0)
		return "read";
	return NULL;
}

/* Counts a status wa_status_name() has no name for; keeps the first name,
 * cut to the characters of a status name, for the connector's log line. */
static void wa_status_skipped(struct meta_events *out, const char *status)
{
	size_t i;

	if (out->skipped++ > 0)
		return;
	for (i = 0; i < META_SKIPPED_NAME_MAX && status[i]; i++) {
		char ch = status[i];

		out->skipped_status[i] = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
						 ch == '_' ? ch : '?';
	}
	out->skipped_status[i] = '\0';
}

/*
 * A status of one of the gateway's replies names it in
 * biz_opaque_callback_data (wa_send.c sends the reply's id there):
 * external_id becomes the reply's id, so that the router links the status
 * to the reply even when it comes before the connector's report of the
 * wamid; the wamid stays as provider_id. status_id keeps the wamid's.
 */
static int wa_status_reply(struct meta_ctx *c, const json_t *st, struct proto_status *s)
{
	const char *opaque = meta_str(st, "biz_opaque_callback_data");

	if (!meta_reply_id(opaque))
		return GW_OK;
	s->provider_id = s->external_id;
	s->external_id = NULL;
	return meta_dup(c, opaque, &s->external_id);
}

static int wa_status(struct meta_ctx *c, const struct wa_value *v, const json_t *st, size_t idx)
{
	char path[META_PATH_MAX];
	const char *status = meta_str(st, "status");
	struct proto_event *ev;
	struct proto_status *s;
	int rc;

	meta_pathf(path, sizeof(path), "%s.statuses[%zu]", v->path, idx);
	if (!json_is_object(st))
		return meta_fail(c, GW_EPROTO, "%s: must be an object", path);
	if (!status || !status[0])
		return meta_fail(c, GW_EPROTO, "%s.status: required", path);
	if (!wa_status_name(status)) {
		wa_status_skipped(c->out, status);
		return GW_OK;
	}
	rc = meta_push(c, PROTO_T_MESSAGE_STATUS, &ev);
	if (rc != GW_OK)
		return rc;
	s = &ev->u.status;
	rc = meta_dup(c, WA_CHANNEL, &s->channel);
	if (rc == GW_OK)
		rc = meta_dup(c, v->account, &s->account);
	if (rc == GW_OK)
		rc = meta_id(c, st, "id", PROTO_MAX_EXTERNAL_ID, path, &s->external_id);
	if (rc == GW_OK)
		rc = meta_dup(c, wa_status_name(status), &s->status);
	if (rc == GW_OK)
		rc = meta_time(c, st, "timestamp", 1000, path, &s->status_at);
	if (rc == GW_OK && s->status_at == 0)
		s->status_at = c->received_at;
	/* The provider's own status name keeps "played" apart from "read". */
	if (rc == GW_OK)
		rc = meta_derive(c, &s->status_id, "%s:%s", s->external_id, status);
	if (rc == GW_OK)
		rc = wa_status_reply(c, st, s);
	if (rc == GW_OK)
		rc = meta_opt_id(c, st, "recipient_id", PROTO_MAX_ADDRESS, path, &s->recipient);
	if (rc == GW_OK)
		rc = wa_status_errors(c, meta_arr(st, "errors"), s);
	if (rc == GW_OK)
		rc = meta_raw(c, st, &s->raw);
	return rc;
}

/* metadata of a value that carries messages: the account is required. */
static int wa_metadata(struct meta_ctx *c, struct wa_value *v)
{
	const json_t *md = meta_obj(v->value, "metadata");
	const char *id = meta_str(md, "phone_number_id");

	if (!id || !id[0])
		return meta_fail(c, GW_EPROTO, "%s.metadata.phone_number_id: required", v->path);
	if (strlen(id) > PROTO_MAX_ACCOUNT)
		return meta_fail(c, GW_ETOOBIG, "%s.metadata.phone_number_id: longer than %u bytes",
				 v->path, PROTO_MAX_ACCOUNT);
	v->account = id;
	v->display = meta_str(md, "display_phone_number");
	v->contacts = meta_arr(v->value, "contacts");
	return GW_OK;
}

/* value.errors[]: counted, the first kept for the log (Meta's own code and
 * title, printable ASCII only). */
static void wa_value_errors(struct meta_ctx *c, const json_t *errs)
{
	struct meta_events *l = c->out;
	const json_t *e = json_array_get(errs, 0);
	const char *title = meta_str(e, "title");
	char *p;

	if (json_array_size(errs) == 0)
		return;
	if (!l->provider_errors) {
		snprintf(l->provider_error, sizeof(l->provider_error), "%" JSON_INTEGER_FORMAT " %s",
			 json_integer_value(json_object_get(e, "code")), title ? title : "");
		for (p = l->provider_error; *p; p++)
			if (*p < 0x20 || *p > 0x7e)
				*p = '?';
	}
	l->provider_errors += json_array_size(errs);
}

/* Every message (or echo) and status of one change, in body order. */
static int wa_value_parse(struct meta_ctx *c, struct wa_value *v, const char *msg_key)
{
	const json_t *msgs, *stats = NULL, *item;
	size_t i;
	int rc;

	wa_value_errors(c, meta_arr(v->value, "errors"));
	msgs = meta_array(c, v->value, msg_key, v->path, &rc);
	if (rc == GW_OK)
		stats = v->outbound ? NULL : meta_array(c, v->value, "statuses", v->path, &rc);
	if (rc != GW_OK)
		return rc;
	if (json_array_size(msgs) == 0 && json_array_size(stats) == 0)
		return GW_OK;
	rc = wa_metadata(c, v);
	json_array_foreach(msgs, i, item) {
		size_t mark = c->out->n;

		if (rc != GW_OK)
			break;
		rc = wa_message(c, v, item, msg_key, i);
		if (rc != GW_OK && meta_item_recover(c, mark, rc))
			rc = wa_message_unreadable(c, v, item, msg_key, i);
	}
	json_array_foreach(stats, i, item) {
		size_t mark = c->out->n;

		if (rc != GW_OK)
			break;
		rc = wa_status(c, v, item, i);
		/* A status is no customer's message: dropped, counted. */
		if (rc != GW_OK && meta_item_recover(c, mark, rc)) {
			c->out->dropped++;
			rc = GW_OK;
		}
	}
	return rc;
}

static int wa_change(struct meta_ctx *c, const json_t *change, size_t ei, size_t ci)
{
	char path[META_PATH_MAX];
	struct wa_value v = {.path = path};
	const char *field;

	meta_pathf(path, sizeof(path), "entry[%zu].changes[%zu]", ei, ci);
	if (!json_is_object(change))
		return meta_fail(c, GW_EPROTO, "%s: must be an object", path);
	field = meta_str(change, "field");
	if (!field)
		return meta_fail(c, GW_EPROTO, "%s.field: required", path);
	if (strcmp(field, "messages") != 0 && strcmp(field, "smb_message_echoes") != 0)
		return GW_OK;
	v.value = meta_obj(change, "value");
	if (!v.value)
		return meta_fail(c, GW_EPROTO, "%s.value: required object", path);
	meta_pathf(path, sizeof(path), "entry[%zu].changes[%zu].value", ei, ci);
	v.outbound = strcmp(field, "smb_message_echoes") == 0;
	return wa_value_parse(c, &v, v.outbound ? "message_echoes" : "messages");
}

int meta_whatsapp_parse(struct meta_ctx *c, const json_t *root)
{
	const json_t *entries, *entry, *changes, *change;
	char path[META_PATH_MAX];
	size_t i, j;
	int rc;

	entries = meta_array(c, root, "entry", "", &rc);
	if (rc != GW_OK)
		return rc;
	if (!entries)
		return meta_fail(c, GW_EPROTO, "entry: required array");
	json_array_foreach(entries, i, entry) {
		meta_pathf(path, sizeof(path), "entry[%zu]", i);
		if (!json_is_object(entry))
			return meta_fail(c, GW_EPROTO, "%s: must be an object", path);
		changes = meta_array(c, entry, "changes", path, &rc);
		if (rc != GW_OK)
			return rc;
		json_array_foreach(changes, j, change) {
			rc = wa_change(c, change, i, j);
			if (rc != GW_OK)
				return rc;
		}
	}
	return GW_OK;
}

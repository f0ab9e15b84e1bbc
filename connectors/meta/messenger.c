/*
 * messenger.c - Messenger (`object: page`) and Instagram messaging
 * (`object: instagram`) bodies into events. Both use one shape:
 *
 *   entry[] {id, time, messaging[] | standby[]}
 *     item {sender {id}, recipient {id}, timestamp, <one of:>
 *           message | message_edit | postback | referral | reaction |
 *           read | delivery | anything else}
 *
 * `standby` carries the items of conversations another app owns (handover
 * protocol); they are the customer's messages all the same. entry.changes[]
 * (Instagram comments and mentions, page feed) is not messaging: ignored.
 * docs/channels/messenger.md and instagram.md, "Events", give the table.
 *
 * Times are epoch milliseconds (integers; digit strings are accepted too).
 * Items without a provider id (postbacks without mid, referrals, reactions,
 * receipts, unknown items) get ids derived from the item's own fields, so a
 * redelivered body yields the same ids and the router drops the duplicates:
 * its time, or without one a hash of the item (never the arrival time).
 *
 * An item that cannot be read (its sender, a mid, a payload missing or
 * malformed, an id over its limit) never refuses the body: a customer's
 * item is kept as kind "unknown" with raw (ms_item_unreadable), receipts,
 * echoes and items without a readable sender are dropped; both are counted
 * for the connector's log (meta_events.unreadable).
 */
#include "connectors/meta/meta_int.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

/* One messaging item being parsed. */
struct ms_item {
	const char *channel;  /* "messenger" or "instagram" */
	const char *account;  /* entry.id: the page or Instagram account */
	const json_t *it;     /* borrowed */
	const char *sender;   /* sender.id, may be NULL */
	const char *recipient; /* recipient.id, may be NULL */
	int64_t at;           /* item timestamp, else entry time, ms; 0 when neither */
	char stamp[24];       /* at in decimal, or "h<16 hex of the item>" without it */
	char path[META_PATH_MAX];
};

/* Members of an item that are not its payload. */
static const char *const ms_envelope[] = {"sender", "recipient", "timestamp", "prior_message",
					  NULL};

/* An id member (string or number) of a sub-object, e.g. sender.id. */
static const char *ms_party_id(const json_t *it, const char *key, char *buf, size_t buflen)
{
	return meta_id_peek(meta_obj(it, key), "id", SIZE_MAX, buf, buflen);
}

static int ms_require_sender(struct meta_ctx *c, const struct ms_item *w)
{
	if (!w->sender)
		return meta_fail(c, GW_EPROTO, "%s.sender.id: required", w->path);
	if (strlen(w->sender) > PROTO_MAX_ADDRESS)
		return meta_fail(c, GW_ETOOBIG, "%s.sender.id: longer than %u bytes", w->path,
				 PROTO_MAX_ADDRESS);
	return GW_OK;
}

/* A time for events that need one: the item's, the entry's, else arrival. */
static int64_t ms_time(struct meta_ctx *c, const struct ms_item *w)
{
	return w->at ? w->at : c->received_at;
}

/*
 * A new message event from the item: channel, account, from (the sender)
 * and, for echoes, to (the customer) and direction. The caller sets
 * external_id, kind and content; raw is the whole item.
 */
static int ms_message_new(struct meta_ctx *c, const struct ms_item *w, bool echo,
			  const char *from, struct proto_message **out)
{
	struct proto_event *ev;
	struct proto_message *m;
	int rc;

	rc = meta_push(c, echo ? PROTO_T_MESSAGE_SENT : PROTO_T_MESSAGE_RECEIVED, &ev);
	if (rc != GW_OK)
		return rc;
	m = &ev->u.message;
	*out = m;
	m->received_at = c->received_at;
	m->sent_at = w->at; /* the item's (else its entry's) time, 0: none */
	rc = meta_dup(c, w->channel, &m->channel);
	if (rc == GW_OK)
		rc = meta_dup(c, w->account, &m->account);
	if (rc == GW_OK)
		rc = meta_dup(c, from, &m->from.address);
	/* An echo goes from the page to the customer, never the reverse. */
	if (rc == GW_OK && echo)
		rc = meta_dup(c, "outbound", &m->direction);
	/* message.sent needs its recipient: the customer it is filed under. */
	if (rc == GW_OK && echo && !w->recipient)
		rc = meta_fail(c, GW_EPROTO, "%s.recipient.id: required for an echo", w->path);
	if (rc == GW_OK && echo && strlen(w->recipient) > PROTO_MAX_ADDRESS)
		rc = meta_fail(c, GW_ETOOBIG, "%s.recipient.id: longer than %u bytes", w->path,
			       PROTO_MAX_ADDRESS);
	if (rc == GW_OK && echo)
		rc = meta_party_new(c, w->recipient, NULL, &m->to);
	if (rc == GW_OK)
		rc = meta_raw(c, w->it, &m->raw);
	return rc;
}

/* Sets kind and raw_type (cut to their limit); unsupported for "unknown". */
static int ms_kind(struct meta_ctx *c, struct proto_message *m, const char *kind,
		   const char *raw_type)
{
	int rc;

	free(m->kind);
	free(m->raw_type);
	m->kind = m->raw_type = NULL;
	m->unsupported = strcmp(kind, "unknown") == 0;
	rc = meta_cut(c, kind, strlen(kind), PROTO_MAX_KIND, &m->kind);
	if (rc == GW_OK)
		rc = meta_cut(c, raw_type, strlen(raw_type), PROTO_MAX_KIND, &m->raw_type);
	return rc;
}

/* Where the conversation came from: an ad, a link, a Messenger code. */
static int ms_referral_of(struct meta_ctx *c, const json_t *r, struct proto_message *m)
{
	const json_t *ads = meta_obj(r, "ads_context_data");
	struct proto_referral *ref;
	int rc;

	if (!r)
		return GW_OK;
	ref = calloc(1, sizeof(*ref));
	if (!ref)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	m->referral = ref;
	rc = meta_text(c, r, "source", PROTO_MAX_SHORT, &ref->source);
	if (rc == GW_OK)
		rc = meta_text(c, r, "type", PROTO_MAX_SHORT, &ref->type);
	if (rc == GW_OK)
		rc = meta_url(c, r, "ad_id", PROTO_MAX_SHORT, &ref->id);
	if (rc == GW_OK)
		rc = meta_url(c, r, "referer_uri", PROTO_MAX_REF, &ref->url);
	if (rc == GW_OK)
		rc = meta_text(c, r, "ref", PROTO_MAX_SHORT, &ref->ref);
	if (rc == GW_OK)
		rc = meta_text(c, ads, "ad_title", PROTO_MAX_SHORT, &ref->headline);
	return rc;
}

/* A location attachment {payload {coordinates {lat, long}}, title, url}. */
static int ms_location(struct meta_ctx *c, const json_t *att, struct proto_message *m)
{
	const json_t *co = meta_obj(meta_obj(att, "payload"), "coordinates");
	const json_t *lat = json_object_get(co, "lat");
	const json_t *lon = json_object_get(co, "long");
	int rc;

	if (m->location || !json_is_number(lat) || !json_is_number(lon) ||
	    fabs(json_number_value(lat)) > 90.0 || fabs(json_number_value(lon)) > 180.0)
		return GW_OK;
	m->location = calloc(1, sizeof(*m->location));
	if (!m->location)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	m->location->latitude = json_number_value(lat);
	m->location->longitude = json_number_value(lon);
	rc = meta_text(c, att, "title", PROTO_MAX_SHORT, &m->location->name);
	if (rc == GW_OK)
		rc = meta_url(c, att, "url", PROTO_MAX_REF, &m->location->url);
	return rc;
}

/* The URL of an attachment: payload.url, or url / URL beside it (fallback). */
static const char *ms_attachment_url(const json_t *att)
{
	const char *url = meta_str(meta_obj(att, "payload"), "url");

	if (!url || !url[0])
		url = meta_str(att, "url");
	if (!url || !url[0])
		url = meta_str(att, "URL");
	return url && url[0] ? url : NULL;
}

static int ms_attachment(struct meta_ctx *c, const json_t *att, const char *kind,
			 const char *path, struct proto_message *m)
{
	const char *url = ms_attachment_url(att);
	struct proto_attachment *a;
	int rc;

	if (!url)
		return GW_OK; /* templates and the like: their content is in raw */
	if (strlen(url) > PROTO_MAX_REF)
		return meta_fail(c, GW_ETOOBIG, "%s.payload.url: longer than %u bytes", path,
				 PROTO_MAX_REF);
	a = &m->attachments[m->attachments_len++];
	rc = meta_dup(c, url, &a->ref);
	if (rc == GW_OK)
		rc = meta_dup(c, meta_media_type(kind), &a->type);
	if (rc == GW_OK)
		rc = meta_cut(c, kind, strlen(kind), PROTO_MAX_KIND, &a->kind);
	if (rc == GW_OK)
		rc = meta_text(c, meta_obj(att, "payload"), "title", PROTO_MAX_NAME, &a->name);
	if (rc == GW_OK && !a->name)
		rc = meta_text(c, att, "title", PROTO_MAX_NAME, &a->name);
	if (rc == GW_OK && !a->name)
		rc = meta_dup(c, "", &a->name);
	return rc;
}

/* attachments[]: media become attachments, a location the location. */
static int ms_attachments(struct meta_ctx *c, const struct ms_item *w, const json_t *arr,
			  struct proto_message *m, const char **first)
{
	char path[META_PATH_MAX + 40];
	size_t n = json_array_size(arr);
	const json_t *att;
	size_t i;
	int rc = GW_OK;

	*first = NULL;
	if (n == 0)
		return GW_OK;
	/* Past the proto limit the rest stays in raw. */
	m->attachments = calloc(n < PROTO_MAX_ATTACHMENTS ? n : PROTO_MAX_ATTACHMENTS,
				sizeof(*m->attachments));
	if (!m->attachments)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	json_array_foreach(arr, i, att) {
		const char *kind = meta_str(att, "type");

		if (!kind || !kind[0])
			kind = "file";
		if (!*first)
			*first = kind;
		meta_pathf(path, sizeof(path), "%s.message.attachments[%zu]", w->path, i);
		if (strcmp(kind, "location") == 0)
			rc = ms_location(c, att, m);
		else if (m->attachments_len < PROTO_MAX_ATTACHMENTS)
			rc = ms_attachment(c, att, kind, path, m);
		if (rc != GW_OK)
			break;
	}
	return rc;
}

/* quick_reply {payload}: the button the customer tapped. */
static int ms_quick_reply(struct meta_ctx *c, const json_t *msg, const char *path,
			  struct proto_message *m)
{
	const json_t *qr = meta_obj(msg, "quick_reply");
	int rc;

	if (!qr || !meta_str(qr, "payload"))
		return GW_OK;
	m->choice = calloc(1, sizeof(*m->choice));
	if (!m->choice)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	rc = meta_choice_id(c, qr, "payload", path, &m->choice->id);
	if (rc == GW_OK && m->text)
		rc = meta_cut(c, m->text, strlen(m->text), PROTO_MAX_SHORT, &m->choice->title);
	return rc;
}

/*
 * ms_change_new - a message.edited or message.deleted by the item's sender
 * about the message `mid` of `obj` (`path` names obj in errors), with its
 * channel, account and time; the caller adds change_id and what changed.
 */
static int ms_change_new(struct meta_ctx *c, const struct ms_item *w, enum proto_type type,
			 const json_t *obj, const char *path, struct proto_change **out)
{
	struct proto_event *ev;
	struct proto_change *ch;
	int rc;

	rc = meta_push(c, type, &ev);
	if (rc != GW_OK)
		return rc;
	ch = &ev->u.change;
	*out = ch;
	ch->changed_at = ms_time(c, w);
	rc = meta_dup(c, w->channel, &ch->channel);
	if (rc == GW_OK)
		rc = meta_dup(c, w->account, &ch->account);
	if (rc == GW_OK)
		rc = meta_id(c, obj, "mid", PROTO_MAX_EXTERNAL_ID, path, &ch->external_id);
	if (rc == GW_OK)
		rc = meta_party_new(c, w->sender, NULL, &ch->from);
	return rc;
}

/* message.is_deleted (Instagram unsend): the sender withdrew `mid`. */
static int ms_deleted(struct meta_ctx *c, const struct ms_item *w, const json_t *msg)
{
	char path[META_PATH_MAX + 8];
	struct proto_change *ch;
	int rc;

	meta_pathf(path, sizeof(path), "%s.message", w->path);
	rc = ms_change_new(c, w, PROTO_T_MESSAGE_DELETED, msg, path, &ch);
	if (rc == GW_OK)
		rc = meta_derive(c, &ch->change_id, "%s:delete", ch->external_id);
	return rc;
}

/* kind of a message from its content, when it has no type of its own. */
static const char *ms_message_kind(const json_t *msg, const struct proto_message *m,
				   const char *first_attachment)
{
	if (json_is_true(json_object_get(msg, "is_unsupported")))
		return "unknown";
	if (first_attachment)
		return first_attachment;
	if (m->choice)
		return "quick_reply";
	if (meta_str(msg, "text"))
		return "text";
	return "unknown";
}

static int ms_message_content(struct meta_ctx *c, const struct ms_item *w, const json_t *msg,
			      struct proto_message *m)
{
	char path[META_PATH_MAX + 40], rpath[META_PATH_MAX + 40];
	const char *first = NULL, *kind;
	const char *reply = meta_str(meta_obj(msg, "reply_to"), "mid");
	int rc;

	meta_pathf(path, sizeof(path), "%s.message.quick_reply", w->path);
	meta_pathf(rpath, sizeof(rpath), "%s.message.reply_to", w->path);
	rc = meta_text(c, msg, "text", PROTO_MAX_TEXT, &m->text);
	if (rc == GW_OK)
		rc = ms_attachments(c, w, meta_arr(msg, "attachments"), m, &first);
	if (rc == GW_OK)
		rc = ms_quick_reply(c, msg, path, m);
	/* reply_to.story (an Instagram story reply) has no message id: raw keeps it. */
	if (rc == GW_OK && reply && reply[0])
		rc = meta_reply_to(c, m, reply, rpath);
	if (rc == GW_OK)
		rc = ms_referral_of(c, meta_obj(msg, "referral"), m);
	kind = ms_message_kind(msg, m, first);
	if (rc == GW_OK)
		rc = ms_kind(c, m, kind, strcmp(kind, "unknown") == 0 ? "message" : kind);
	if (rc == GW_OK && !m->text)
		rc = meta_dup(c, "", &m->text);
	return rc;
}

/* A new message.status for the item; the caller sets the ids. */
static int ms_status_new(struct meta_ctx *c, const struct ms_item *w, const char *status,
			 int64_t watermark, struct proto_status **out);

/*
 * The echo of one of the gateway's own replies (ms_send.c sends the reply's
 * id as metadata, which the echo carries back): no second message.sent,
 * but a "sent" status of that reply (external_id its id, provider_id the
 * mid, recipient the customer), which the router links to it whether or
 * not the connector's report came first.
 */
static int ms_reply_echo(struct meta_ctx *c, const struct ms_item *w, const json_t *msg,
			 const char *reply_id, const char *path)
{
	struct proto_status *s = NULL;
	int rc;

	rc = ms_status_new(c, w, "sent", 0, &s);
	if (rc == GW_OK)
		rc = meta_dup(c, reply_id, &s->external_id);
	if (rc == GW_OK)
		rc = meta_derive(c, &s->status_id, "%s:sent", reply_id);
	if (rc == GW_OK)
		rc = meta_id(c, msg, "mid", PROTO_MAX_EXTERNAL_ID, path, &s->provider_id);
	free(s ? s->recipient : NULL);
	if (s)
		s->recipient = NULL;
	if (rc == GW_OK && w->recipient && strlen(w->recipient) <= PROTO_MAX_ADDRESS)
		rc = meta_dup(c, w->recipient, &s->recipient);
	return rc;
}

/* item.message: a customer's message, an echo of the page's, or an unsend. */
static int ms_message(struct meta_ctx *c, const struct ms_item *w)
{
	const json_t *msg = meta_obj(w->it, "message");
	bool echo = json_is_true(json_object_get(msg, "is_echo"));
	char path[META_PATH_MAX + 8];
	struct proto_message *m;
	int rc;

	meta_pathf(path, sizeof(path), "%s.message", w->path);
	if (!msg)
		return meta_fail(c, GW_EPROTO, "%s: must be an object", path);
	rc = ms_require_sender(c, w);
	if (rc != GW_OK)
		return rc;
	if (json_is_true(json_object_get(msg, "is_deleted")))
		return ms_deleted(c, w, msg);
	if (echo && meta_reply_id(meta_str(msg, "metadata")))
		return ms_reply_echo(c, w, msg, meta_str(msg, "metadata"), path);
	rc = ms_message_new(c, w, echo, w->sender, &m);
	if (rc == GW_OK)
		rc = meta_id(c, msg, "mid", PROTO_MAX_EXTERNAL_ID, path, &m->external_id);
	if (rc == GW_OK)
		rc = ms_message_content(c, w, msg, m);
	return rc;
}

/* item.message_edit {mid, text, num_edit}: the sender changed a message. */
static int ms_edit(struct meta_ctx *c, const struct ms_item *w)
{
	const json_t *ed = meta_obj(w->it, "message_edit");
	const json_t *num = json_object_get(ed, "num_edit");
	char path[META_PATH_MAX + 16];
	struct proto_change *ch;
	int rc;

	meta_pathf(path, sizeof(path), "%s.message_edit", w->path);
	rc = ms_require_sender(c, w);
	if (rc == GW_OK)
		rc = ms_change_new(c, w, PROTO_T_MESSAGE_EDITED, ed, path, &ch);
	if (rc != GW_OK)
		return rc;
	/* num_edit counts the edits of one message; the time stands in without it. */
	if (json_is_integer(num))
		rc = meta_derive(c, &ch->change_id, "%s:edit:%" JSON_INTEGER_FORMAT,
				 ch->external_id, json_integer_value(num));
	else
		rc = meta_derive(c, &ch->change_id, "%s:edit:t%s", ch->external_id, w->stamp);
	if (rc == GW_OK)
		rc = meta_text(c, ed, "text", PROTO_MAX_TEXT, &ch->text);
	return rc;
}

/* item.postback {mid, title, payload, referral}: a button was tapped. */
static int ms_postback(struct meta_ctx *c, const struct ms_item *w)
{
	const json_t *pb = meta_obj(w->it, "postback");
	const char *payload = meta_str(pb, "payload");
	char path[META_PATH_MAX + 16], h[17];
	struct proto_message *m;
	int rc;

	meta_pathf(path, sizeof(path), "%s.postback", w->path);
	rc = ms_require_sender(c, w);
	if (rc == GW_OK)
		rc = ms_message_new(c, w, false, w->sender, &m);
	if (rc == GW_OK)
		rc = meta_opt_id(c, pb, "mid", PROTO_MAX_EXTERNAL_ID, path, &m->external_id);
	if (rc == GW_OK && !m->external_id)
		rc = meta_hash16(c, payload ? payload : "", payload ? strlen(payload) : 0, h);
	if (rc == GW_OK && !m->external_id)
		rc = meta_derive(c, &m->external_id, "%s:postback:%s:%s", w->sender, w->stamp, h);
	if (rc == GW_OK)
		rc = ms_kind(c, m, payload ? "postback" : "unknown", "postback");
	if (rc == GW_OK && payload) {
		m->choice = calloc(1, sizeof(*m->choice));
		rc = m->choice ? meta_choice_id(c, pb, "payload", path, &m->choice->id)
			       : meta_fail(c, GW_ENOMEM, "out of memory");
		if (rc == GW_OK)
			rc = meta_text(c, pb, "title", PROTO_MAX_SHORT, &m->choice->title);
	}
	if (rc == GW_OK)
		rc = meta_text(c, pb, "title", PROTO_MAX_TEXT, &m->text);
	if (rc == GW_OK)
		rc = ms_referral_of(c, meta_obj(pb, "referral"), m);
	if (rc == GW_OK && !m->text)
		rc = meta_dup(c, "", &m->text);
	return rc;
}

/* item.referral: the customer came back through an ad, link or code. */
static int ms_referral(struct meta_ctx *c, const struct ms_item *w)
{
	struct proto_message *m;
	int rc;

	rc = ms_require_sender(c, w);
	if (rc == GW_OK)
		rc = ms_message_new(c, w, false, w->sender, &m);
	if (rc == GW_OK)
		rc = meta_derive(c, &m->external_id, "%s:referral:%s", w->sender, w->stamp);
	if (rc == GW_OK)
		rc = ms_kind(c, m, "referral", "referral");
	if (rc == GW_OK)
		rc = ms_referral_of(c, meta_obj(w->it, "referral"), m);
	if (rc == GW_OK)
		rc = meta_dup(c, "", &m->text);
	return rc;
}

/* The emoji of a reaction: "" on unreact, else emoji or the reaction's name. */
static const char *ms_emoji(const json_t *r)
{
	const char *action = meta_str(r, "action");
	const char *emoji = meta_str(r, "emoji");

	if (action && strcmp(action, "unreact") == 0)
		return "";
	if (!emoji || !emoji[0])
		emoji = meta_str(r, "reaction");
	return emoji ? emoji : "";
}

/* item.reaction {mid, action, emoji, reaction}. */
static int ms_reaction(struct meta_ctx *c, const struct ms_item *w)
{
	const json_t *r = meta_obj(w->it, "reaction");
	const char *emoji = ms_emoji(r);
	char path[META_PATH_MAX + 16];
	struct proto_message *m;
	int rc;

	meta_pathf(path, sizeof(path), "%s.reaction", w->path);
	rc = ms_require_sender(c, w);
	if (rc == GW_OK)
		rc = ms_message_new(c, w, false, w->sender, &m);
	if (rc != GW_OK)
		return rc;
	m->reaction = calloc(1, sizeof(*m->reaction));
	if (!m->reaction)
		return meta_fail(c, GW_ENOMEM, "out of memory");
	rc = meta_id(c, r, "mid", PROTO_MAX_EXTERNAL_ID, path, &m->reaction->message_id);
	if (rc == GW_OK)
		rc = meta_cut(c, emoji, strlen(emoji), PROTO_MAX_SHORT, &m->reaction->emoji);
	if (rc == GW_OK)
		rc = meta_derive(c, &m->external_id, "%s:reaction:%s:%s",
				 m->reaction->message_id, w->sender, w->stamp);
	if (rc == GW_OK)
		rc = ms_kind(c, m, "reaction", "reaction");
	if (rc == GW_OK)
		rc = meta_dup(c, m->reaction->emoji, &m->text);
	if (rc == GW_OK)
		rc = meta_reply_to(c, m, m->reaction->message_id, path);
	return rc;
}

/* A new message.status for the item; the caller sets the ids. */
static int ms_status_new(struct meta_ctx *c, const struct ms_item *w, const char *status,
			 int64_t watermark, struct proto_status **out)
{
	struct proto_event *ev;
	struct proto_status *s;
	int rc;

	rc = meta_push(c, PROTO_T_MESSAGE_STATUS, &ev);
	if (rc != GW_OK)
		return rc;
	s = &ev->u.status;
	*out = s;
	s->watermark = watermark;
	s->status_at = w->at ? w->at : (watermark ? watermark : c->received_at);
	rc = meta_dup(c, w->channel, &s->channel);
	if (rc == GW_OK)
		rc = meta_dup(c, w->account, &s->account);
	if (rc == GW_OK)
		rc = meta_dup(c, status, &s->status);
	/* The customer is the one who received or read. */
	if (rc == GW_OK)
		rc = meta_dup(c, w->sender, &s->recipient);
	if (rc == GW_OK)
		rc = meta_raw(c, w->it, &s->raw);
	return rc;
}

/* item.read {watermark} (Messenger) or {mid} (Instagram). */
static int ms_read(struct meta_ctx *c, const struct ms_item *w)
{
	const json_t *r = meta_obj(w->it, "read");
	char path[META_PATH_MAX + 8];
	struct proto_status *s;
	int64_t wm = 0;
	int rc;

	meta_pathf(path, sizeof(path), "%s.read", w->path);
	rc = ms_require_sender(c, w);
	if (rc == GW_OK)
		rc = meta_time(c, r, "watermark", 1, path, &wm);
	if (rc == GW_OK)
		rc = ms_status_new(c, w, "read", wm, &s);
	if (rc == GW_OK)
		rc = meta_opt_id(c, r, "mid", PROTO_MAX_EXTERNAL_ID, path, &s->external_id);
	if (rc == GW_OK && s->external_id)
		rc = meta_derive(c, &s->status_id, "%s:read", s->external_id);
	else if (rc == GW_OK && wm)
		rc = meta_derive(c, &s->status_id, "%s:read:%lld", w->sender, (long long)wm);
	else if (rc == GW_OK)
		rc = meta_derive(c, &s->status_id, "%s:read:%s", w->sender, w->stamp);
	return rc;
}

/* item.delivery {mids[], watermark}: one status per mid, else one watermark. */
static int ms_delivery(struct meta_ctx *c, const struct ms_item *w)
{
	const json_t *d = meta_obj(w->it, "delivery");
	char path[META_PATH_MAX + 16];
	const json_t *mid;
	struct proto_status *s;
	int64_t wm = 0;
	size_t i, n = 0;
	int rc;

	meta_pathf(path, sizeof(path), "%s.delivery", w->path);
	rc = ms_require_sender(c, w);
	if (rc == GW_OK)
		rc = meta_time(c, d, "watermark", 1, path, &wm);
	json_array_foreach(meta_arr(d, "mids"), i, mid) {
		if (rc != GW_OK || !json_is_string(mid) || json_string_length(mid) == 0)
			continue;
		if (json_string_length(mid) > PROTO_MAX_EXTERNAL_ID)
			return meta_fail(c, GW_ETOOBIG, "%s.mids[%zu]: longer than %u bytes", path,
					 i, PROTO_MAX_EXTERNAL_ID);
		n++;
		rc = ms_status_new(c, w, "delivered", wm, &s);
		if (rc == GW_OK)
			rc = meta_dup(c, json_string_value(mid), &s->external_id);
		if (rc == GW_OK)
			rc = meta_derive(c, &s->status_id, "%s:delivered", s->external_id);
	}
	if (rc != GW_OK || n > 0)
		return rc;
	rc = ms_status_new(c, w, "delivered", wm, &s);
	if (rc == GW_OK && wm)
		rc = meta_derive(c, &s->status_id, "%s:delivered:%lld", w->sender, (long long)wm);
	else if (rc == GW_OK)
		rc = meta_derive(c, &s->status_id, "%s:delivered:%s", w->sender, w->stamp);
	return rc;
}

/* The member that names an item's type: the first one not of the envelope. */
static const char *ms_item_key(const json_t *it)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)it, key, v) {
		size_t i = 0;

		(void)v;
		while (ms_envelope[i] && strcmp(ms_envelope[i], key) != 0)
			i++;
		if (!ms_envelope[i])
			return key;
	}
	return "unknown";
}

/*
 * Any other item (optin, account_linking, handover, game_play, ...): kept as
 * an unsupported message so nothing is lost. A checkbox-plugin optin has no
 * sender, only optin.user_ref, which then stands as the address.
 */
static int ms_unknown(struct meta_ctx *c, const struct ms_item *w)
{
	const char *key = ms_item_key(w->it);
	const char *from = w->sender;
	struct proto_message *m;
	int rc = GW_OK;

	if (!from)
		from = meta_str(meta_obj(w->it, "optin"), "user_ref");
	if (!from || !from[0] || strlen(from) > PROTO_MAX_ADDRESS)
		rc = ms_require_sender(c, w);
	if (rc == GW_OK)
		rc = ms_message_new(c, w, false, from, &m);
	if (rc == GW_OK)
		rc = meta_derive(c, &m->external_id, "%s:%s:%s", from, key, w->stamp);
	if (rc == GW_OK)
		rc = ms_kind(c, m, "unknown", key);
	if (rc == GW_OK)
		rc = meta_dup(c, "", &m->text);
	return rc;
}

typedef int (*ms_item_fn)(struct meta_ctx *c, const struct ms_item *w);

static const struct {
	const char *key;
	ms_item_fn fn;
} ms_items[] = {
	{"message", ms_message},   {"message_edit", ms_edit}, {"postback", ms_postback},
	{"referral", ms_referral}, {"reaction", ms_reaction},  {"read", ms_read},
	{"delivery", ms_delivery},
};

/* w->stamp: the item's time, or a hash of the item when it has none, so a
 * redelivery derives the same ids. */
static int ms_stamp(struct meta_ctx *c, struct ms_item *w)
{
	char h[17];
	int rc;

	if (w->at) {
		snprintf(w->stamp, sizeof(w->stamp), "%lld", (long long)w->at);
		return GW_OK;
	}
	rc = meta_item_hash16(c, w->it, h);
	if (rc == GW_OK)
		snprintf(w->stamp, sizeof(w->stamp), "h%s", h);
	return rc;
}

/*
 * An item ms_item() could not read: kind "unknown" with raw, under its
 * message's mid when that can be read (so edits, reactions and replies
 * still find it), else "<sender>:unreadable:<hash of the item>". Dropped
 * (counted) instead when it is no customer's message: a receipt, an echo,
 * anything the page itself sent, or an item without a readable sender.
 */
static int ms_item_unreadable(struct meta_ctx *c, const struct ms_item *w, const json_t *it)
{
	char sbuf[32], mbuf[32], h[17];
	const char *from = ms_party_id(it, "sender", sbuf, sizeof(sbuf));
	const json_t *msg = meta_obj(it, "message");
	const char *mid = meta_id_peek(msg, "mid", PROTO_MAX_EXTERNAL_ID, mbuf, sizeof(mbuf));
	const char *key = ms_item_key(it);
	/* Only what ms_message_new() reads: never w's per-item pointers. */
	struct ms_item u = {.channel = w->channel, .account = w->account, .it = it};
	size_t mark = c->out->n;
	struct proto_message *m;
	int rc;

	if (!from || strlen(from) > PROTO_MAX_ADDRESS || strcmp(from, w->account) == 0 ||
	    json_is_true(json_object_get(msg, "is_echo")) || strcmp(key, "read") == 0 ||
	    strcmp(key, "delivery") == 0) {
		c->out->dropped++;
		return GW_OK;
	}
	memcpy(u.path, w->path, sizeof(u.path));
	rc = ms_message_new(c, &u, false, from, &m);
	if (rc == GW_OK && mid)
		rc = meta_dup(c, mid, &m->external_id);
	else if (rc == GW_OK)
		rc = meta_item_hash16(c, it, h);
	if (rc == GW_OK && !mid)
		rc = meta_derive(c, &m->external_id, "%s:unreadable:%s", from, h);
	if (rc == GW_OK)
		rc = ms_kind(c, m, "unknown", key);
	if (rc == GW_OK)
		rc = meta_dup(c, "", &m->text);
	if (rc != GW_OK && meta_item_drop(c, mark, rc))
		rc = GW_OK;
	return rc;
}

static int ms_item(struct meta_ctx *c, struct ms_item *w, const json_t *it, int64_t entry_time)
{
	char sbuf[32], rbuf[32];
	int rc;

	if (!json_is_object(it))
		return meta_fail(c, GW_EPROTO, "%s: must be an object", w->path);
	w->it = it;
	w->sender = ms_party_id(it, "sender", sbuf, sizeof(sbuf));
	w->recipient = ms_party_id(it, "recipient", rbuf, sizeof(rbuf));
	rc = meta_time(c, it, "timestamp", 1, w->path, &w->at);
	if (rc != GW_OK)
		return rc;
	if (!w->at)
		w->at = entry_time;
	rc = ms_stamp(c, w);
	if (rc != GW_OK)
		return rc;
	for (size_t i = 0; i < sizeof(ms_items) / sizeof(ms_items[0]); i++)
		if (meta_obj(it, ms_items[i].key))
			return ms_items[i].fn(c, w);
	return ms_unknown(c, w);
}

/* messaging[] then standby[] of one entry, in body order. */
static int ms_entry(struct meta_ctx *c, const char *channel, const json_t *entry, size_t ei)
{
	static const char *const lists[] = {"messaging", "standby"};
	struct ms_item w = {.channel = channel};
	char path[META_PATH_MAX];
	int64_t time = 0;
	int rc;

	meta_pathf(path, sizeof(path), "entry[%zu]", ei);
	if (!json_is_object(entry))
		return meta_fail(c, GW_EPROTO, "%s: must be an object", path);
	rc = meta_time(c, entry, "time", 1, path, &time);
	for (size_t l = 0; rc == GW_OK && l < 2; l++) {
		const json_t *items = meta_array(c, entry, lists[l], path, &rc);
		const json_t *it;
		size_t i;

		if (rc == GW_OK && json_array_size(items) > 0 && !w.account) {
			w.account = meta_str(entry, "id");
			if (!w.account || !w.account[0])
				rc = meta_fail(c, GW_EPROTO, "%s.id: required string", path);
			else if (strlen(w.account) > PROTO_MAX_ACCOUNT)
				rc = meta_fail(c, GW_ETOOBIG, "%s.id: longer than %u bytes", path,
					       PROTO_MAX_ACCOUNT);
		}
		json_array_foreach(items, i, it) {
			size_t mark = c->out->n;

			if (rc != GW_OK)
				break;
			meta_pathf(w.path, sizeof(w.path), "%s.%s[%zu]", path, lists[l], i);
			rc = ms_item(c, &w, it, time);
			if (rc != GW_OK && meta_item_recover(c, mark, rc))
				rc = ms_item_unreadable(c, &w, it);
		}
	}
	return rc;
}

int meta_messenger_parse(struct meta_ctx *c, const json_t *root, const char *channel)
{
	const json_t *entries, *entry;
	size_t i;
	int rc;

	entries = meta_array(c, root, "entry", "", &rc);
	if (rc != GW_OK)
		return rc;
	if (!entries)
		return meta_fail(c, GW_EPROTO, "entry: required array");
	json_array_foreach(entries, i, entry) {
		rc = ms_entry(c, channel, entry, i);
		if (rc != GW_OK)
			return rc;
	}
	return GW_OK;
}

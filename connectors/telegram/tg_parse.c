/*
 * tg_parse.c - the Update and its kinds (tg_parse.h): JSON loading, the
 * event list, the helpers tg_message.c shares (tg_parse_int.h), and the
 * kinds that are not a Message's content: edits, callback queries, the
 * bot's membership of a chat, and every other kind, kept as unknown.
 */
#include "connectors/telegram/tg_parse_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/parse_common.h"
#include "core/err.h"
#include "core/util.h"
#include "store/attachments.h"

/* Deepest nesting of a body; Updates nest about 8 levels. */
#define TG_MAX_DEPTH 64

/* ---- helpers (tg_parse_int.h) -------------------------------------------- */

int tg_fail(struct tg_ctx *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = pc_vfail(&c->err->code, c->err->message, sizeof(c->err->message), code, fmt, ap);
	va_end(ap);
	return code;
}

int tg_push(struct tg_ctx *c, enum proto_type type, struct proto_event **ev)
{
	struct tg_events *l = c->out;
	int rc = pc_push(&l->ev, &l->n, &l->cap, TG_MAX_UPDATES, type, c->o->received_at, ev);

	c->body_fault = rc != GW_OK; /* the body's failure, not one Update's */
	if (rc == GW_ETOOBIG)
		return tg_fail(c, rc, "body: more than %d events", TG_MAX_UPDATES);
	if (rc == GW_ENOMEM)
		return tg_fail(c, rc, "out of memory");
	if (rc != GW_OK)
		return tg_fail(c, rc, "event: cannot make an id: %s", gw_strerror(rc));
	return GW_OK;
}

int tg_int(const json_t *obj, const char *key, int64_t *v)
{
	const json_t *j = json_object_get(obj, key);

	if (!json_is_integer(j))
		return -1;
	*v = (int64_t)json_integer_value(j);
	return 0;
}

const json_t *tg_obj(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_object(v) ? v : NULL;
}

const char *tg_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

int tg_dup(struct tg_ctx *c, const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return GW_OK;
	*out = strdup(s);
	return *out ? GW_OK : tg_fail(c, GW_ENOMEM, "out of memory");
}

int tg_printf(struct tg_ctx *c, char **out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	*out = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (!*out)
		return tg_fail(c, GW_ENOMEM, "out of memory");
	va_start(ap, fmt);
	vsnprintf(*out, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return GW_OK;
}

int tg_cut(struct tg_ctx *c, const char *s, size_t len, size_t max, char **out)
{
	*out = malloc((len > max ? max : len) + 1);
	if (!*out)
		return tg_fail(c, GW_ENOMEM, "out of memory");
	memcpy(*out, s, len > max ? max : len);
	(*out)[len > max ? max : len] = '\0';
	if (len > max)
		gw_utf8_cut(*out, max);
	return GW_OK;
}

int tg_text(struct tg_ctx *c, const json_t *obj, const char *key, size_t max, char **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!json_is_string(v))
		return GW_OK;
	return tg_cut(c, json_string_value(v), json_string_length(v), max, out);
}

int tg_raw(struct tg_ctx *c, const json_t *v, char **out)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	*out = NULL;
	if (!s)
		return tg_fail(c, GW_ENOMEM, "out of memory");
	if (strlen(s) <= PROTO_MAX_RAW)
		*out = s;
	else
		free(s);
	return GW_OK;
}

int tg_hash16(struct tg_ctx *c, const json_t *v, char out[17])
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	char hex[ATTACH_HEX_LEN + 1];
	int rc;

	if (!s)
		return tg_fail(c, GW_ENOMEM, "out of memory");
	rc = attach_sha256_hex(s, strlen(s), hex);
	free(s);
	if (rc != GW_OK)
		return tg_fail(c, rc, "cannot hash an update: %s", gw_strerror(rc));
	memcpy(out, hex, 16);
	out[16] = '\0';
	return GW_OK;
}

/* tg_name - "first last", else the username, else the title; NULL when none. */
static int tg_name(struct tg_ctx *c, const json_t *who, char **out)
{
	const char *first = tg_str(who, "first_name"), *last = tg_str(who, "last_name");
	char *full = NULL;
	int rc;

	*out = NULL;
	if (first && first[0] && last && last[0]) {
		rc = tg_printf(c, &full, "%s %s", first, last);
		if (rc == GW_OK)
			rc = tg_cut(c, full, strlen(full), PROTO_MAX_NAME, out);
		free(full);
		return rc;
	}
	if (first && first[0])
		return tg_text(c, who, "first_name", PROTO_MAX_NAME, out);
	if (last && last[0])
		return tg_text(c, who, "last_name", PROTO_MAX_NAME, out);
	if (tg_str(who, "username") && tg_str(who, "username")[0])
		return tg_text(c, who, "username", PROTO_MAX_NAME, out);
	return tg_text(c, who, "title", PROTO_MAX_NAME, out);
}

/* The sender's members carried as party attributes ("telegram.<member>=value"). */
static const char *const tg_attr_keys[] = {"username", "language_code"};
#define TG_N_ATTRS (sizeof(tg_attr_keys) / sizeof(tg_attr_keys[0]))

/* tg_attrs - who's username and language_code as p->attributes; a value
 * that is empty or would not fit an attribute is left out. */
static int tg_attrs(struct tg_ctx *c, const json_t *who, struct proto_party *p)
{
	int rc = GW_OK;

	for (size_t i = 0; rc == GW_OK && i < TG_N_ATTRS; i++) {
		const char *v = tg_str(who, tg_attr_keys[i]);

		if (!v || !v[0] || strlen(v) + strlen(tg_attr_keys[i]) + 10 > PROTO_MAX_EXTERNAL_ID)
			continue;
		if (!p->attributes) {
			p->attributes = calloc(TG_N_ATTRS, sizeof(*p->attributes));
			if (!p->attributes)
				return tg_fail(c, GW_ENOMEM, "out of memory");
		}
		rc = tg_printf(c, &p->attributes[p->attributes_len], "telegram.%s=%s",
			       tg_attr_keys[i], v);
		p->attributes_len += rc == GW_OK;
	}
	return rc;
}

int tg_party(struct tg_ctx *c, const json_t *who, const char *path, struct proto_party *p)
{
	int64_t id;
	int rc;

	if (!json_is_object(who) || tg_int(who, "id", &id) != 0)
		return tg_fail(c, GW_EPROTO, "%s.id: missing or not an integer", path);
	rc = tg_printf(c, &p->address, "%lld", (long long)id);
	if (rc == GW_OK)
		rc = tg_name(c, who, &p->name);
	if (rc == GW_OK)
		rc = tg_attrs(c, who, p);
	return rc;
}

/* ---- edited_message ------------------------------------------------------ */

static int tg_edited(struct tg_ctx *c, const json_t *msg, const char *kind)
{
	char chat[TG_ID_TEXT], id[TG_ID_TEXT], hash[17];
	struct proto_event *ev = NULL;
	struct proto_change *ch;
	int64_t edit_date = 0;
	int rc;

	rc = tg_message_ids(c, msg, kind, chat, id);
	if (rc == GW_OK)
		rc = tg_push(c, PROTO_T_MESSAGE_EDITED, &ev);
	if (rc != GW_OK)
		return rc;
	ch = &ev->u.change;
	ch->changed_at = c->o->received_at;
	if (tg_int(msg, "edit_date", &edit_date) == 0 && edit_date > 0 &&
	    edit_date < INT64_MAX / 1000)
		ch->changed_at = edit_date * 1000;
	rc = tg_dup(c, TG_CHANNEL, &ch->channel);
	if (rc == GW_OK)
		rc = tg_dup(c, c->o->account, &ch->account);
	if (rc == GW_OK)
		rc = tg_printf(c, &ch->external_id, "%s:%s", chat, id);
	/* Two edits of one message differ by their edit_date, or their content. */
	if (rc == GW_OK && edit_date > 0)
		rc = tg_printf(c, &ch->change_id, "%s:%s:edit:%lld", chat, id, (long long)edit_date);
	else if (rc == GW_OK && (rc = tg_hash16(c, msg, hash)) == GW_OK)
		rc = tg_printf(c, &ch->change_id, "%s:%s:edit:%s", chat, id, hash);
	if (rc == GW_OK)
		rc = tg_message_text(c, msg, &ch->text);
	if (rc == GW_OK && tg_obj(msg, "from")) {
		ch->from = calloc(1, sizeof(*ch->from));
		rc = ch->from ? tg_party(c, tg_obj(msg, "from"), "edited_message.from", ch->from)
			      : tg_fail(c, GW_ENOMEM, "out of memory");
	}
	return rc;
}

/* ---- callback_query ------------------------------------------------------- */

/* tg_button_text - the text of the inline button whose callback_data is
 * `data` on the message `msg`, or NULL. */
static const char *tg_button_text(const json_t *msg, const char *data)
{
	const json_t *rows = json_object_get(tg_obj(msg, "reply_markup"), "inline_keyboard");
	const json_t *row, *b;
	size_t i, j;

	json_array_foreach(rows, i, row) {
		json_array_foreach(row, j, b) {
			const char *cd = tg_str(b, "callback_data");

			if (cd && data && strcmp(cd, data) == 0)
				return tg_str(b, "text");
		}
	}
	return NULL;
}

static int tg_choice(struct tg_ctx *c, const json_t *q, struct proto_message *m)
{
	const char *data = tg_str(q, "data");
	const char *title;

	if (!data)
		data = tg_str(q, "game_short_name");
	if (!data || !data[0])
		return tg_dup(c, "", &m->text);
	if (strlen(data) > PROTO_MAX_EXTERNAL_ID)
		return tg_fail(c, GW_ETOOBIG, "callback_query.data: over %d bytes",
			       PROTO_MAX_EXTERNAL_ID);
	m->choice = calloc(1, sizeof(*m->choice));
	if (!m->choice)
		return tg_fail(c, GW_ENOMEM, "out of memory");
	title = tg_button_text(tg_obj(q, "message"), data);
	if (tg_dup(c, data, &m->choice->id) != GW_OK)
		return GW_ENOMEM;
	if (title && tg_cut(c, title, strlen(title), PROTO_MAX_SHORT, &m->choice->title) != GW_OK)
		return GW_ENOMEM;
	return tg_dup(c, title ? m->choice->title : data, &m->text);
}

static int tg_callback(struct tg_ctx *c, const json_t *q, const char *kind)
{
	const json_t *msg = tg_obj(q, "message");
	const char *qid = tg_str(q, "id");
	char chat[TG_ID_TEXT], id[TG_ID_TEXT];
	struct proto_event *ev = NULL;
	struct proto_message *m;
	int rc;

	(void)kind;
	if (!qid || !qid[0] || strlen(qid) > PROTO_MAX_EXTERNAL_ID - 9)
		return tg_fail(c, GW_EPROTO, "callback_query.id: missing or too long");
	rc = tg_push(c, PROTO_T_MESSAGE_RECEIVED, &ev);
	if (rc != GW_OK)
		return rc;
	m = &ev->u.message;
	m->received_at = c->o->received_at;
	rc = tg_dup(c, TG_CHANNEL, &m->channel);
	if (rc == GW_OK)
		rc = tg_dup(c, c->o->account, &m->account);
	if (rc == GW_OK)
		rc = tg_printf(c, &m->external_id, "callback:%s", qid);
	if (rc == GW_OK)
		rc = tg_party(c, tg_obj(q, "from"), "callback_query.from", &m->from);
	if (rc == GW_OK)
		rc = tg_dup(c, "callback_query", &m->kind);
	if (rc == GW_OK)
		rc = tg_choice(c, q, m);
	/* The message the button was on: the bot's own, a reply's reference. */
	if (rc == GW_OK && msg && tg_message_ids_peek(msg, chat, id) == 0) {
		m->reply_to = calloc(1, sizeof(*m->reply_to));
		rc = m->reply_to ? tg_printf(c, &m->reply_to[0], "%s:%s", chat, id)
				 : tg_fail(c, GW_ENOMEM, "out of memory");
		m->reply_to_len = rc == GW_OK;
	}
	return rc;
}

/* ---- my_chat_member ------------------------------------------------------- */

/* tg_word - a status as Telegram writes them (lowercase letters and _, at
 * most 32), or "?": it goes into an id and a text. */
static const char *tg_word(const char *s)
{
	size_t n = s ? strspn(s, "abcdefghijklmnopqrstuvwxyz_") : 0;

	return n > 0 && n <= 32 && !s[n] ? s : "?";
}

/* What a change of the bot's membership means to an operator. */
static const char *tg_member_kind(const json_t *u, const char *old, const char *new)
{
	const char *type = tg_str(tg_obj(u, "chat"), "type");
	int private_chat = type && strcmp(type, "private") == 0;

	if (private_chat && new && strcmp(new, "kicked") == 0)
		return "blocked";
	if (private_chat && new && strcmp(new, "member") == 0 && old && strcmp(old, "kicked") == 0)
		return "unblocked";
	return "chat_member";
}

static int tg_member_text(struct tg_ctx *c, const char *kind, const char *old, const char *new,
			  char **out)
{
	if (strcmp(kind, "blocked") == 0)
		return tg_dup(c, "[the user blocked the bot]", out);
	if (strcmp(kind, "unblocked") == 0)
		return tg_dup(c, "[the user unblocked the bot]", out);
	return tg_printf(c, out, "[the bot's status in this chat changed from %s to %s]",
			 tg_word(old), tg_word(new));
}

static int tg_member(struct tg_ctx *c, const json_t *u, const char *kind_name)
{
	const char *old = tg_str(tg_obj(u, "old_chat_member"), "status");
	const char *new = tg_str(tg_obj(u, "new_chat_member"), "status");
	const char *kind = tg_member_kind(u, old, new);
	struct proto_event *ev = NULL;
	struct proto_message *m;
	int64_t chat, date = 0;
	int rc;

	if (tg_int(tg_obj(u, "chat"), "id", &chat) != 0)
		return tg_fail(c, GW_EPROTO, "%s.chat.id: missing or not an integer", kind_name);
	tg_int(u, "date", &date);
	rc = tg_push(c, PROTO_T_MESSAGE_RECEIVED, &ev);
	if (rc != GW_OK)
		return rc;
	m = &ev->u.message;
	m->received_at = c->o->received_at;
	m->auto_reply = true; /* nobody to answer: filed without a ticket */
	rc = tg_dup(c, TG_CHANNEL, &m->channel);
	if (rc == GW_OK)
		rc = tg_dup(c, c->o->account, &m->account);
	if (rc == GW_OK)
		rc = tg_printf(c, &m->external_id, "member:%lld:%lld:%s", (long long)chat,
			       (long long)date, tg_word(new));
	if (rc == GW_OK)
		rc = tg_party(c, tg_obj(u, "from"), "my_chat_member.from", &m->from);
	if (rc == GW_OK)
		rc = tg_dup(c, kind, &m->kind);
	if (rc == GW_OK)
		rc = tg_dup(c, kind_name, &m->raw_type);
	if (rc == GW_OK)
		rc = tg_member_text(c, kind, old, new, &m->text);
	if (rc == GW_OK)
		rc = tg_raw(c, u, &m->raw);
	if (rc == GW_OK) {
		c->out->blocked += strcmp(kind, "blocked") == 0;
		c->out->unblocked += strcmp(kind, "unblocked") == 0;
	}
	return rc;
}

/* ---- message and every other kind ------------------------------------------- */

static int tg_message_kind(struct tg_ctx *c, const json_t *msg, const char *kind)
{
	struct proto_event *ev = NULL;
	int rc = tg_push(c, PROTO_T_MESSAGE_RECEIVED, &ev);

	return rc == GW_OK ? tg_message_fill(c, msg, kind, &ev->u.message) : rc;
}

/* tg_sender_of - where the sender of an unknown kind is: the first of
 * from, user, sender_chat, chat, voter_chat, actor_chat with an id. */
static const json_t *tg_sender_of(const json_t *obj)
{
	static const char *const keys[] = {"from", "user", "sender_chat", "chat", "voter_chat",
					   "actor_chat"};
	int64_t id;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (tg_int(tg_obj(obj, keys[i]), "id", &id) == 0)
			return tg_obj(obj, keys[i]);
	return NULL;
}

/*
 * tg_bot_party - the party of an update that names nobody (a `poll`, a
 * `poll_answer` of an anonymous poll): the bot itself, "bot<id>", so that
 * the update is filed (in that party's thread, without a ticket: the
 * message is flagged automated) rather than lost.
 */
static int tg_bot_party(struct tg_ctx *c, struct proto_message *m)
{
	const char *bot = c->o->bot_id && c->o->bot_id[0] ? c->o->bot_id : "";
	int rc = tg_printf(c, &m->from.address, "%s%s", TG_BOT_PREFIX, bot);

	m->auto_reply = true;
	if (rc == GW_OK)
		rc = tg_dup(c, "no sender: filed under the bot, without a ticket",
			    &m->automated_reason);
	return rc;
}

/*
 * tg_unknown - an update kept as kind unknown: the Update as raw, its kind
 * as raw_type, an id from update_id and the content (Telegram may start
 * update ids anew after a week without updates). The sender is its from,
 * user or chat; an update naming none is the bot's (tg_bot_party).
 */
static int tg_unknown(struct tg_ctx *c, const json_t *u, int64_t uid, const char *kind)
{
	const json_t *who = tg_sender_of(tg_obj(u, kind));
	struct proto_event *ev = NULL;
	struct proto_message *m;
	char hash[17];
	int rc;

	rc = tg_hash16(c, u, hash);
	if (rc == GW_OK)
		rc = tg_push(c, PROTO_T_MESSAGE_RECEIVED, &ev);
	if (rc != GW_OK)
		return rc;
	m = &ev->u.message;
	m->received_at = c->o->received_at;
	m->unsupported = true;
	rc = tg_dup(c, TG_CHANNEL, &m->channel);
	if (rc == GW_OK)
		rc = tg_dup(c, c->o->account, &m->account);
	if (rc == GW_OK)
		rc = tg_printf(c, &m->external_id, "update:%lld:%s", (long long)uid, hash);
	if (rc == GW_OK)
		rc = who ? tg_party(c, who, kind, &m->from) : tg_bot_party(c, m);
	if (rc == GW_OK)
		rc = tg_dup(c, "unknown", &m->kind);
	if (rc == GW_OK)
		rc = kind[0] ? tg_cut(c, kind, strlen(kind), PROTO_MAX_KIND, &m->raw_type)
			     : tg_dup(c, "update", &m->raw_type);
	if (rc == GW_OK)
		rc = tg_dup(c, "", &m->text);
	if (rc == GW_OK)
		rc = tg_raw(c, u, &m->raw);
	return rc;
}

/* The kinds read; every other one is kept as unknown. */
static const struct tg_kind {
	const char *key;
	int (*parse)(struct tg_ctx *c, const json_t *obj, const char *kind);
} tg_kinds[] = {
	{"message", tg_message_kind},
	{"edited_message", tg_edited},
	{"callback_query", tg_callback},
	{"my_chat_member", tg_member},
};

/* tg_kind_of - the Update's kind: its first member other than update_id. */
static const char *tg_kind_of(const json_t *u)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)u, key, v) {
		if (strcmp(key, "update_id") != 0 && !json_is_null(v))
			return key;
	}
	return "";
}

/* tg_recover - after an update failed with rc: undoes its events and
 * clears its own error (true), or false when the failure is the body's. */
static bool tg_recover(struct tg_ctx *c, size_t mark, int rc)
{
	struct tg_events *l = c->out;

	return pc_undo(l->ev, &l->n, mark, rc, c->body_fault, &c->err->code, c->err->message,
		       l->unreadable_why, sizeof(l->unreadable_why));
}

/*
 * tg_update - one Update. What cannot be read as its kind is kept as
 * unknown (counted unreadable), under the bot when it names nobody; only
 * an update whose unknown event cannot be made (too large) is dropped and
 * counted. Never a failure of the body.
 */
static int tg_update(struct tg_ctx *c, const json_t *u, int64_t uid)
{
	const char *kind = tg_kind_of(u);
	size_t mark = c->out->n;
	int rc = GW_ENOTFOUND, counted = 0;

	for (size_t i = 0; i < sizeof(tg_kinds) / sizeof(tg_kinds[0]); i++)
		if (strcmp(kind, tg_kinds[i].key) == 0) {
			const json_t *obj = tg_obj(u, kind);

			rc = obj ? tg_kinds[i].parse(c, obj, kind)
				 : tg_fail(c, GW_EPROTO, "%s: not an object", kind);
			break;
		}
	if (rc == GW_OK)
		return GW_OK;
	if (rc != GW_ENOTFOUND) {
		if (!tg_recover(c, mark, rc))
			return rc;
		c->out->unreadable++;
		counted = 1;
	}
	rc = tg_unknown(c, u, uid, kind);
	if (rc == GW_OK || !tg_recover(c, mark, rc))
		return rc;
	/* Not even kept as unknown (too large): dropped, counted once. */
	c->out->unreadable += !counted;
	c->out->dropped++;
	return GW_OK;
}

/* tg_update_at - an element of a body: an Update, or counted unreadable. */
static int tg_update_at(struct tg_ctx *c, const json_t *u, const char *path)
{
	struct tg_events *l = c->out;
	int64_t uid;

	if (!json_is_object(u) || tg_int(u, "update_id", &uid) != 0 || uid < 0)
		return tg_fail(c, GW_EPROTO, "%s: not an Update (no update_id)", path);
	l->updates++;
	if (uid > l->max_update_id)
		l->max_update_id = uid;
	return tg_update(c, u, uid);
}

/* ---- entry points ------------------------------------------------------------- */

static json_t *tg_load(struct tg_ctx *c, const void *body, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!root)
		tg_fail(c, GW_EPROTO, "not JSON: %s (line %d)", jerr.text, jerr.line);
	return root;
}

static void tg_start(struct tg_ctx *c, const struct tg_parse_opts *o, struct tg_events *out,
		     struct tg_parse_error *err)
{
	memset(out, 0, sizeof(*out));
	out->max_update_id = -1;
	memset(err, 0, sizeof(*err));
	c->out = out;
	c->err = err;
	c->o = o;
	c->body_fault = false;
}

static int tg_finish(struct tg_ctx *c, json_t *root, int rc)
{
	json_decref(root);
	if (rc != GW_OK) {
		tg_events_clear(c->out);
		c->out->max_update_id = -1;
		if (c->err->code == GW_OK)
			tg_fail(c, rc, "%s", gw_strerror(rc));
	}
	return rc;
}

int tg_parse_update(const void *body, size_t len, const struct tg_parse_opts *o,
		    struct tg_events *out, struct tg_parse_error *err)
{
	struct tg_ctx c;
	json_t *root;
	int rc;

	tg_start(&c, o, out, err);
	root = tg_load(&c, body, len);
	rc = root ? tg_update_at(&c, root, "body") : GW_EPROTO;
	return tg_finish(&c, root, rc);
}

int tg_parse_updates(const void *body, size_t len, const struct tg_parse_opts *o,
		     struct tg_events *out, struct tg_parse_error *err)
{
	const json_t *result;
	struct tg_ctx c;
	char path[32];
	json_t *root, *u;
	size_t i;
	int rc = GW_EPROTO;

	tg_start(&c, o, out, err);
	root = tg_load(&c, body, len);
	result = json_object_get(root, "result");
	if (root && (!json_is_true(json_object_get(root, "ok")) || !json_is_array(result)))
		tg_fail(&c, GW_EPROTO, "answer: not {\"ok\":true,\"result\":[...]}");
	else if (root && json_array_size(result) > TG_MAX_UPDATES)
		rc = tg_fail(&c, GW_ETOOBIG, "answer: more than %d updates", TG_MAX_UPDATES);
	else if (root)
		rc = GW_OK;
	json_array_foreach(rc == GW_OK ? result : NULL, i, u) {
		snprintf(path, sizeof(path), "result[%zu]", i);
		rc = tg_update_at(&c, u, path);
		if (rc == GW_EPROTO && c.err->code == GW_EPROTO && !c.body_fault) {
			/* Not an Update: nothing to keep, nothing to file it under. */
			if (!out->unreadable_why[0])
				snprintf(out->unreadable_why, sizeof(out->unreadable_why), "%s",
					 c.err->message);
			out->unreadable++;
			out->dropped++;
			c.err->code = GW_OK;
			c.err->message[0] = '\0';
			rc = GW_OK;
		}
		if (rc != GW_OK)
			break;
	}
	return tg_finish(&c, root, rc);
}

void tg_events_clear(struct tg_events *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		proto_event_clear(&l->ev[i]);
	free(l->ev);
	memset(l, 0, sizeof(*l));
	l->max_update_id = -1;
}

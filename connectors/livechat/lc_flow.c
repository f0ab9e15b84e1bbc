/*
 * lc_flow.c - what the live-chat frames mean: hello and resume, a visitor's
 * message in (outbox, conversation log, ack), a reply out (deliver op,
 * push, "seen").
 *
 * Nothing lost, nothing doubled (docs/channels/livechat.md):
 *   1. a message frame is encoded and outbox_add()ed, then waits in the
 *      group commit (connectors/commit.h) of this service round;
 *   2. on the outbox's commit thread, the spool's transaction makes it
 *      durable (it will reach the router, which deduplicates on
 *      external_id "<visitor>:<client_id>");
 *   3. then, on the same thread, the conversation log records it under
 *      the dedup key "c:<client_id>" (lc_log_batch: one synced
 *      transaction for the commit);
 *   4. only then, back on the service thread, the browser gets its ack;
 *      it keeps the message until then and sends it again after a
 *      reconnect. The service thread never waits for a flush.
 * A reply (the deliver op) takes the same way without an event: the grants
 * of its stored files and its log entry (dedup key "d:<delivery id>") are
 * written by the commit thread, then it is pushed to the visitor's tabs and
 * reported sent. A chat.typing event or a kept frame commits in the same
 * group commit with nobody to answer (gcommit_want).
 * A crash between 2 and 3 leaves the message in the spool but not in the
 * log and unacked: the resend is added to the outbox again (the router
 * drops the duplicate) and logged once. A resend of a logged message is
 * acked at once from the log without touching the outbox.
 *
 * Threading: the service thread (lws callbacks and outbox_pump()), except
 * lc_log_batch and lc_grant_files, on the commit thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "connectors/livechat/livechat_int.h"
#include "connectors/intake.h"
#include "connectors/outbox.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/proto.h"
#include "store/attachments.h"

/* ---- sending ------------------------------------------------------------------- */

void lc_send(struct lc_conn *c, const char *json, size_t len)
{
	struct lc_out *o;

	if (c->closing)
		return;
	if (c->out_n >= LC_OUT_MAX) {
		/* A reader that does not read: let it reconnect and resume. */
		GW_WARN(c->lc->inst->log_module, "closing the websocket of %s: %zu frames unread",
			c->ip, c->out_n);
		c->closing = 1;
		lws_callback_on_writable(c->wsi);
		return;
	}
	o = malloc(sizeof(*o) + LWS_PRE + len);
	if (!o)
		return;
	memset(&o->node, 0, sizeof(o->node));
	o->len = len;
	memcpy(o->buf + LWS_PRE, json, len);
	lws_dll2_add_tail(&o->node, &c->out);
	c->out_n++;
	lws_callback_on_writable(c->wsi);
}

/* Sends `o` (consumed) to `c`. */
static void lc_send_obj(struct lc_conn *c, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (s)
		lc_send(c, s, strlen(s));
	free(s);
	json_decref(o);
}

void lc_send_error(struct lc_conn *c, const char *code, const char *message)
{
	lc_send_obj(c, json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message",
				 message));
}

/* An error about one message: names its client_id so the widget can retry. */
static void lc_send_msg_error(struct lc_conn *c, const char *client_id, const char *code,
			      const char *message)
{
	lc_send_obj(c, json_pack("{s:s,s:s,s:s,s:s}", "type", "error", "code", code, "message",
				 message, "client_id", client_id));
}

/* The frame of a logged message (the same JSON the log stores). */
static char *lc_message_json(uint64_t id, const char *direction, const char *text, int64_t ts,
			     const char *client_id, const char *attachments)
{
	json_t *o = json_pack("{s:s,s:I,s:s,s:s,s:I,s:s?,s:o?}", "type", "message", "id",
			      (json_int_t)id, "direction", direction, "text", text, "ts",
			      (json_int_t)ts, "client_id", client_id, "attachments",
			      attachments ? json_loads(attachments, 0, NULL) : NULL);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

/* Sends `json` to every socket of `conversation` but `except`. */
static void lc_broadcast(struct livechat *lc, const char *conversation, const char *json,
			 const struct lc_conn *except)
{
	size_t len = strlen(json);

	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&lc->conns)) {
		struct lc_conn *c = lws_container_of(d, struct lc_conn, node);

		if (c != except && strcmp(c->conversation, conversation) == 0)
			lc_send(c, json, len);
	} lws_end_foreach_dll(d);
}

/* ---- hello ------------------------------------------------------------------- */

static void lc_history_cb(void *arg, uint64_t id, const char *json, size_t len)
{
	(void)id;
	lc_send(arg, json, len);
}

/* The visitor of a valid token, else a new one. */
static int lc_visitor(struct lc_conn *c, const char *token)
{
	struct livechat *lc = c->lc;
	int rc;

	if (token) {
		rc = lc_token_verify(lc->set->secret, token, gw_now_ms() / 1000, c->visitor);
		if (rc == GW_OK)
			return GW_OK;
		lc_send_error(c, "bad_token", "the token is invalid or expired: a new visitor starts");
	}
	return gw_random_id(c->visitor);
}

/* A valid site identity names the conversation; else the anonymous visitor. */
static void lc_identity(struct lc_conn *c, const json_t *identity)
{
	const char *set = c->lc->set->identity_secret, *name, *email;

	snprintf(c->conversation, sizeof(c->conversation), "visitor:%s", c->visitor);
	if (!identity)
		return;
	if (!set || !set[0] || lc_identity_verify(set, identity) != GW_OK) {
		lc_send_error(c, "bad_identity", "the identity is not signed by this site");
		return;
	}
	snprintf(c->conversation, sizeof(c->conversation), "site:%s",
		 json_string_value(json_object_get(identity, "id")));
	name = json_string_value(json_object_get(identity, "name"));
	email = json_string_value(json_object_get(identity, "email"));
	snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
	snprintf(c->email, sizeof(c->email), "%s", email ? email : "");
}

static void lc_on_hello(struct lc_conn *c, const struct lc_frame *f)
{
	struct livechat *lc = c->lc;
	char token[LC_TOKEN_MAX + 1], key[LC_FILES_KEY_MAX + 1];

	if (c->welcomed) {
		lc_send_error(c, "bad_frame", "hello was already sent");
		return;
	}
	if (lc_visitor(c, f->token) != GW_OK ||
	    lc_token_make(lc->set->secret, c->visitor, gw_now_ms() / 1000 + LC_TOKEN_TTL_S, token,
			  sizeof(token)) != GW_OK) {
		lc_send_error(c, "unavailable", "cannot issue a token; try again");
		return;
	}
	c->v = lc_visitor_take(lc, c->visitor);
	if (!c->v) {
		lc_send_error(c, "unavailable", "out of memory; try again");
		return;
	}
	lc_identity(c, f->identity);
	snprintf(c->lang, sizeof(c->lang), "%s", f->lang ? f->lang : "");
	if (lc_files_key_make(lc->set->secret, c->conversation,
			      gw_now_ms() / 1000 + LC_FILES_KEY_TTL_S, key, sizeof(key)) != GW_OK)
		key[0] = '\0'; /* no files for this socket */
	lc_send_obj(c, json_pack("{s:s,s:s,s:s,s:s,s:s?}", "type", "welcome", "token", token,
				 "visitor", c->visitor, "conversation", c->conversation,
				 "files_key", key[0] ? key : NULL));
	if (chatlog_since(lc->log, c->conversation, (uint64_t)f->last_seen, LC_HISTORY_MAX,
			  lc_history_cb, c) != GW_OK)
		lc_send_error(c, "unavailable", "cannot read the conversation");
	c->welcomed = 1;
	lws_dll2_add_tail(&c->node, &lc->conns);
	lc_avail_send(c);
}

/* ---- a visitor's message ------------------------------------------------------- */

/*
 * Token bucket of the visitor (all their tabs): messages_per_second, up to
 * messages_burst. 1 when allowed.
 */
static int lc_rate_ok(struct lc_conn *c)
{
	const struct livechat_settings *s = c->lc->set;
	struct lc_visitor *v = c->v;
	int64_t now = gw_mono_us();

	v->tokens += (double)(now - v->refill_us) * (double)s->messages_per_second / 1e6;
	if (v->tokens > (double)s->messages_burst)
		v->tokens = (double)s->messages_burst;
	v->refill_us = now;
	if (v->tokens < 1.0)
		return 0;
	v->tokens -= 1.0;
	return 1;
}

/* `email` and the visitor id as the event's raw JSON (NULL when no email);
 * written while the queue was away or closed, "answer_by_email": true (the
 * visitor left the address for that). */
static char *lc_raw(const struct lc_conn *c, const char *email)
{
	const char *st = c->lc->avail;
	json_t *o;
	char *s;

	if (!email || !email[0])
		return NULL;
	o = json_pack("{s:s,s:s}", "email", email, "visitor", c->visitor);
	if (o && (strcmp(st, "away") == 0 || strcmp(st, "closed") == 0))
		json_object_set_new(o, "answer_by_email", json_true());
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

/* The event's attachments from `files` (a JSON array of {ref,name,type,size}). */
static int lc_event_files(struct proto_message *m, const json_t *files)
{
	size_t i, n = json_array_size(files);
	const json_t *a;

	if (n == 0)
		return GW_OK;
	m->attachments = calloc(n, sizeof(*m->attachments));
	if (!m->attachments)
		return GW_ENOMEM;
	json_array_foreach(files, i, a) {
		struct proto_attachment *pa = &m->attachments[m->attachments_len++];
		const char *type = json_string_value(json_object_get(a, "type"));

		pa->name = gw_strdup(json_string_value(json_object_get(a, "name")));
		pa->type = gw_strdup(type);
		pa->ref = gw_strdup(json_string_value(json_object_get(a, "ref")));
		pa->size = (uint64_t)json_integer_value(json_object_get(a, "size"));
		pa->kind = gw_strdup(type ? lc_file_kind(type) : "file");
		if (!pa->name || !pa->type || !pa->ref || !pa->kind)
			return GW_ENOMEM;
	}
	return GW_OK;
}

/* Encodes the message.received of a message frame and adds it to the outbox
 * (intake_add: over the sender's limits it is held, *held set). */
static int lc_queue_event(struct lc_conn *c, const struct lc_frame *f, const json_t *files,
			  int64_t now, int *held)
{
	struct livechat *lc = c->lc;
	struct proto_event ev;
	struct proto_error perr;
	struct proto_message *m = &ev.u.message;
	char ext[LC_VISITOR_LEN + LC_CLIENT_ID_MAX + 2], chat[LC_ADDRESS_MAX + 8];
	const char *name = c->name[0] ? c->name : f->name;
	const char *email = c->email[0] ? c->email : f->email;
	int rc;

	rc = proto_event_init(&ev, PROTO_T_MESSAGE_RECEIVED);
	if (rc != GW_OK)
		return rc;
	snprintf(ext, sizeof(ext), "%s:%s", c->visitor, f->client_id);
	m->channel = gw_strdup("livechat");
	m->account = gw_strdup(lc->inst->conf->name);
	m->external_id = gw_strdup(ext);
	m->received_at = now;
	m->from.address = gw_strdup(c->conversation);
	m->from.name = name && name[0] ? gw_strdup(name) : NULL;
	m->text = gw_strdup(f->text);
	m->raw = lc_raw(c, email);
	/* What the visitor typed is a claim; the email of a valid site
	 * identity is verified by the site (router/rules/identity.h). */
	m->from.email = email && email[0] ? gw_strdup(email) : NULL;
	m->from.email_verified = c->email[0] != '\0';
	/* Names the conversation: the router resumes its ticket (a chat
	 * resume, docs/channels/livechat.md). */
	snprintf(chat, sizeof(chat), "chat:%s", c->conversation);
	m->reply_to = calloc(1, sizeof(*m->reply_to));
	if (m->reply_to && (m->reply_to[0] = gw_strdup(chat)) != NULL)
		m->reply_to_len = 1;
	if (!m->channel || !m->account || !m->external_id || !m->from.address || !m->text ||
	    (email && email[0] && !m->from.email) || !m->reply_to_len)
		rc = GW_ENOMEM;
	if (rc == GW_OK)
		rc = lc_event_files(m, files);
	if (rc == GW_OK)
		rc = intake_add(lc->inst, &ev, &perr, held);
	proto_event_clear(&ev);
	return rc;
}

static void lc_ack(struct lc_conn *c, const char *client_id, uint64_t id)
{
	lc_send_obj(c, json_pack("{s:s,s:s,s:I}", "type", "ack", "client_id", client_id, "id",
				 (json_int_t)id));
}

/*
 * The attachments of a message frame: each ref must be a file granted to
 * the conversation (an upload of its own, an agent's reply); *out gets a
 * JSON array of their {ref,name,type,size}, NULL when there are none.
 * Returns GW_OK, GW_ENOTFOUND (a ref not granted), GW_ENOMEM, GW_ESTORE.
 */
static int lc_message_files(struct lc_conn *c, const struct lc_frame *f, json_t **out)
{
	char meta[1024], ref[LC_REF_LEN + 1];
	json_t *arr = NULL, *o;
	int rc = GW_OK;

	*out = NULL;
	if (f->n_files == 0)
		return GW_OK;
	arr = json_array();
	for (size_t i = 0; arr && rc == GW_OK && i < f->n_files; i++) {
		rc = chatlog_file_get(c->lc->log, c->conversation, f->files[i], meta, sizeof(meta));
		o = rc == GW_OK ? json_loads(meta, 0, NULL) : NULL;
		snprintf(ref, sizeof(ref), ATTACH_REF_PREFIX "%s", f->files[i]);
		if (rc == GW_OK && (!o || json_object_set_new(o, "ref", json_string(ref)) ||
				    json_array_append_new(arr, o)))
			rc = GW_ENOMEM;
	}
	if (!arr || rc != GW_OK) {
		json_decref(arr);
		return arr ? rc : GW_ENOMEM;
	}
	*out = arr;
	return GW_OK;
}

/* A pending message of `c` for frame `f`, its event queued; NULL on error
 * (*rc says why). */
static struct lc_pending *lc_pending_new(struct lc_conn *c, const struct lc_frame *f,
					 const json_t *files, int64_t now, int *held, int *rc)
{
	struct lc_pending *p = calloc(1, sizeof(*p));

	*rc = p ? lc_queue_event(c, f, files, now, held) : GW_ENOMEM;
	if (*rc == GW_OK && !(p->text = gw_strdup(f->text)))
		*rc = GW_ENOMEM;
	if (*rc == GW_OK && files && !(p->attachments = json_dumps(files, JSON_COMPACT)))
		*rc = GW_ENOMEM;
	if (*rc != GW_OK && p) {
		free(p->text);
		free(p->attachments);
		free(p);
		p = NULL;
	}
	return p;
}

/* lc_pending_wait - `p` (filled) waits in the group commit; its log
 * entry borrows its fields. */
static void lc_pending_wait(struct livechat *lc, struct lc_pending *p)
{
	p->lc = lc;
	p->e.conversation = p->conversation;
	p->e.direction = p->delivery_id ? "out" : "in";
	p->e.text = p->text;
	p->e.client_id = p->delivery_id ? NULL : p->client_id;
	p->e.attachments = p->attachments;
	p->e.dedup = p->dedup;
	p->e.ts = p->ts;
	lws_dll2_add_tail(&p->node, &lc->pending);
	gcommit_wait(lc->gc, &p->wait, lc_committed);
}

static void lc_on_message(struct lc_conn *c, const struct lc_frame *f)
{
	struct livechat *lc = c->lc;
	struct lc_pending *p;
	char dedup[LC_CLIENT_ID_MAX + 3];
	uint64_t id = 0;
	int64_t now = gw_now_ms();
	json_t *files = NULL;
	int rc, held = 0;

	if (!c->welcomed) {
		lc_send_msg_error(c, f->client_id, "bad_frame", "send hello first");
		return;
	}
	if (!lc_rate_ok(c)) {
		lc->inst->stats.rejected++;
		lc_send_msg_error(c, f->client_id, "rate_limited", "too many messages; slow down");
		return;
	}
	snprintf(dedup, sizeof(dedup), "c:%s", f->client_id);
	if (chatlog_find(lc->log, c->conversation, dedup, &id) == GW_OK && id) {
		lc_ack(c, f->client_id, id); /* a resend of a logged message */
		return;
	}
	rc = lc_message_files(c, f, &files);
	if (rc == GW_ENOTFOUND) {
		lc_send_msg_error(c, f->client_id, "bad_frame",
				  "an attachment is not a file of this conversation");
		return;
	}
	p = rc == GW_OK ? lc_pending_new(c, f, files, now, &held, &rc) : NULL;
	json_decref(files);
	if (!p) {
		lc->inst->stats.failed++;
		lc_send_msg_error(c, f->client_id, "unavailable",
				  rc == GW_EFULL ? "the gateway is busy; try again"
						 : "cannot accept the message; try again");
		return;
	}
	p->conn = c;
	p->ts = now;
	snprintf(p->conversation, sizeof(p->conversation), "%s", c->conversation);
	snprintf(p->client_id, sizeof(p->client_id), "%s", f->client_id);
	snprintf(p->dedup, sizeof(p->dedup), "%s", dedup);
	lc_pending_wait(lc, p);
	/* Kept, acknowledged as usual once durable, but set aside until an
	 * operator releases it: the visitor is told to slow down. */
	if (held)
		lc_send_error(c, "slow_down", "you are sending too fast: your message is kept and "
			      "will be read later");
}

/*
 * lc_grant_files - commit thread: the stored files of reply `p` (its
 * attachments with a "sha256:" ref) are granted to its conversation
 * (chatlog_file_put of their {name,type,size}) before its log entry is
 * written, so that the visitor may fetch them once it is shown. A visitor's
 * message has nothing to grant (its files were granted by their upload).
 * Returns GW_OK, GW_ENOMEM, or chatlog_file_put's error.
 */
static int lc_grant_files(struct livechat *lc, const struct lc_pending *p)
{
	const size_t plen = strlen(ATTACH_REF_PREFIX);
	json_t *arr, *a, *o = NULL;
	char *meta = NULL;
	size_t i;
	int rc = GW_OK;

	if (!p->delivery_id || !p->attachments)
		return GW_OK;
	arr = json_loads(p->attachments, 0, NULL);
	if (!arr)
		return GW_ENOMEM;
	json_array_foreach(arr, i, a) {
		const char *ref = json_string_value(json_object_get(a, "ref"));

		if (rc != GW_OK || !ref || strncmp(ref, ATTACH_REF_PREFIX, plen) != 0)
			continue; /* an https URL: nothing stored */
		o = json_deep_copy(a);
		if (!o || json_object_del(o, "ref") || !(meta = json_dumps(o, JSON_COMPACT)))
			rc = GW_ENOMEM;
		else
			rc = chatlog_file_put(lc->log, p->conversation, ref + plen, meta);
		json_decref(o);
		free(meta);
		o = NULL;
		meta = NULL;
	}
	json_decref(arr);
	return rc;
}

int lc_log_batch(void *arg, struct gcommit_waiter *const *w, size_t n)
{
	struct livechat *lc = arg;
	struct chatlog_entry *e = calloc(n, sizeof(*e));
	struct lc_pending **msg = calloc(n, sizeof(*msg));
	size_t m = 0;
	int rc = e && msg ? GW_OK : GW_ENOMEM;

	/* Uploads first (each its own result), then the messages: chatlog_append
	 * wants an array, a copy of their entries, then back. */
	for (size_t i = 0; rc == GW_OK && i < n; i++) {
		struct lc_pending *p = lws_container_of(w[i], struct lc_pending, wait);

		if (p->upload) {
			lc_upload_store(lc, p->upload);
			continue;
		}
		msg[m] = p;
		e[m++] = p->e;
		rc = lc_grant_files(lc, p);
	}
	if (rc == GW_OK && m)
		rc = chatlog_append(lc->log, e, m);
	for (size_t i = 0; rc == GW_OK && i < m; i++) {
		msg[i]->e.id = e[i].id;
		msg[i]->e.duplicate = e[i].duplicate;
	}
	free(msg);
	free(e);
	return rc;
}

void lc_free_pending(struct lc_pending *p)
{
	if (!lws_dll2_is_detached(&p->node))
		lws_dll2_remove(&p->node);
	free(p->text);
	free(p->attachments);
	free(p);
}

static void lc_reply_logged(struct livechat *lc, struct lc_pending *p, int rc);

/* lc_committed - the group commit of `w`'s message ended: durable in the
 * spool and the log (rc GW_OK: the ack, and the other tabs see it) or not
 * (an error frame: the browser sends it again). */
void lc_committed(struct gcommit_waiter *w, int rc)
{
	struct lc_pending *p = lws_container_of(w, struct lc_pending, wait);
	struct livechat *lc = p->lc;

	if (lc->stopping) {
		/* The browser resends after its reconnect; an unreported reply
		 * is handed over again by the router. */
		lc_free_pending(p);
		return;
	}
	if (p->delivery_id) {
		lc_reply_logged(lc, p, rc);
		return;
	}
	if (rc == GW_OK && !p->e.duplicate) {
		char *json = lc_message_json(p->e.id, "in", p->text, p->ts, p->client_id,
					     p->attachments);

		/* The other tabs of the visitor show it too. */
		if (json)
			lc_broadcast(lc, p->conversation, json, p->conn);
		free(json);
	}
	if (rc == GW_OK)
		lc->inst->stats.accepted++;
	else
		lc->inst->stats.failed++;
	if (p->conn && rc == GW_OK)
		lc_ack(p->conn, p->client_id, p->e.id);
	else if (p->conn)
		lc_send_msg_error(p->conn, p->client_id, "unavailable",
				  "the message was not stored; it is sent again");
	lc_free_pending(p);
}

void lc_forget_conn(struct lc_conn *c)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&c->lc->pending)) {
		struct lc_pending *p = lws_container_of(d, struct lc_pending, node);

		if (p->conn == c)
			p->conn = NULL;
	} lws_end_foreach_dll(d);
}

/* ---- replies ------------------------------------------------------------------- */

static void lc_on_seen(struct lc_conn *c, const struct lc_frame *f)
{
	struct livechat *lc = c->lc;

	if (!c->welcomed)
		return;
	for (size_t i = 0; i < LC_SEEN_MAX; i++) {
		struct lc_seen *s = &lc->seen[i];

		if (s->delivery_id && s->id == (uint64_t)f->seen_id &&
		    strcmp(s->conversation, c->conversation) == 0) {
			if (outbox_report(lc->inst->outbox, s->delivery_id, "delivered", NULL) !=
			    GW_OK)
				GW_WARN(lc->inst->log_module, "delivery %llu: cannot report delivered",
					(unsigned long long)s->delivery_id);
			s->delivery_id = 0;
			return;
		}
	}
}

static void lc_remember_seen(struct livechat *lc, const char *conversation, uint64_t id,
			     uint64_t delivery_id)
{
	struct lc_seen *s = &lc->seen[lc->seen_next];

	lc->seen_next = (lc->seen_next + 1) % LC_SEEN_MAX;
	snprintf(s->conversation, sizeof(s->conversation), "%s", conversation);
	s->id = id;
	s->delivery_id = delivery_id;
}

/* The conversation a reply goes to, from its `to` address; NULL if not ours. */
static const char *lc_reply_target(const struct proto_event *ev)
{
	const struct proto_party *to = ev->u.message.to;

	if (ev->type != PROTO_T_MESSAGE_SENT || !to || !to->address)
		return NULL;
	if (strncmp(to->address, "visitor:", 8) != 0 && strncmp(to->address, "site:", 5) != 0)
		return NULL;
	if (strlen(to->address) >= LC_ADDRESS_MAX)
		return NULL;
	return to->address;
}

/* One attachment of a reply into `arr`: a stored blob ("sha256:<hex>", granted
 * to the conversation by lc_grant_files on the commit thread, so that its
 * sockets may fetch it) or an https URL. */
static int lc_reply_file(struct livechat *lc, const struct proto_attachment *a, json_t *arr)
{
	char path[4200];
	const char *hex = a->ref + strlen(ATTACH_REF_PREFIX);

	if (strncmp(a->ref, "https://", 8) == 0)
		return json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "url", a->ref, "name",
							    a->name, "type", a->type))
			       ? GW_ENOMEM : GW_OK;
	if (strncmp(a->ref, ATTACH_REF_PREFIX, strlen(ATTACH_REF_PREFIX)) != 0 ||
	    attach_path(lc->attach_dir, hex, path, sizeof(path)) != GW_OK || access(path, R_OK))
		return GW_ENOTFOUND;
	return json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:s}", "name", a->name, "type",
						    a->type, "size", (json_int_t)a->size, "ref",
						    a->ref))
		       ? GW_ENOMEM : GW_OK;
}

/* The attachments of a reply as the JSON array of the log (*out NULL: none). */
static int lc_reply_files(struct livechat *lc, const struct proto_message *m, char **out)
{
	json_t *arr;
	int rc = GW_OK;

	*out = NULL;
	if (m->attachments_len == 0)
		return GW_OK;
	arr = json_array();
	if (!arr)
		return GW_ENOMEM;
	for (size_t i = 0; rc == GW_OK && i < m->attachments_len; i++)
		rc = lc_reply_file(lc, &m->attachments[i], arr);
	if (rc == GW_OK && !(*out = json_dumps(arr, JSON_COMPACT)))
		rc = GW_ENOMEM;
	json_decref(arr);
	return rc;
}

/* lc_reply_logged - the group commit wrote a reply's log entry (rc
 * GW_OK): shown to the visitor's open tabs and reported sent; in the log,
 * it reaches the visitor now or on the next resume. A full log leaves it
 * unreported (the router hands it over again); another error fails it. */
static void lc_reply_logged(struct livechat *lc, struct lc_pending *p, int rc)
{
	if (rc == GW_OK && !p->e.duplicate) {
		char *json = lc_message_json(p->e.id, "out", p->text, p->ts, NULL,
					     p->attachments);

		if (json)
			lc_broadcast(lc, p->conversation, json, NULL);
		free(json);
	}
	if (rc == GW_OK) {
		lc_remember_seen(lc, p->conversation, p->e.id, p->delivery_id);
		rc = outbox_report(lc->inst->outbox, p->delivery_id, "sent", NULL);
	} else if (rc != GW_EFULL) {
		rc = outbox_report(lc->inst->outbox, p->delivery_id, "failed",
				   "the conversation log could not be written");
	}
	if (rc != GW_OK)
		GW_WARN(lc->inst->log_module, "delivery %llu: %s", (unsigned long long)p->delivery_id,
			gw_strerror(rc));
	lc_free_pending(p);
}

int lc_deliver(struct connector_instance *inst, const void *event, size_t len,
	       uint64_t delivery_id)
{
	struct livechat *lc = inst->ctx;
	struct proto_event ev;
	struct proto_error perr;
	struct lc_pending *p = NULL;
	char *files = NULL;
	const char *conv;
	int rc;

	memset(&perr, 0, sizeof(perr));
	rc = proto_decode(event, len, &ev, &perr);
	if (rc != GW_OK)
		return rc;
	conv = lc_reply_target(&ev);
	if (!conv) {
		GW_WARN(inst->log_module, "delivery %llu: not addressed to a visitor",
			(unsigned long long)delivery_id);
		rc = GW_EINVAL;
		goto out;
	}
	rc = lc_reply_files(lc, &ev.u.message, &files);
	if (rc != GW_OK) {
		GW_WARN(inst->log_module, "delivery %llu: an attachment is not a stored file or an "
			"https URL", (unsigned long long)delivery_id);
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->text = gw_strdup(ev.u.message.text ? ev.u.message.text : ""))) {
		free(p);
		rc = GW_EAGAIN; /* unreported: handed over again */
		goto out;
	}
	p->attachments = files; /* owned by p from here */
	files = NULL;
	p->delivery_id = delivery_id;
	p->ts = gw_now_ms();
	snprintf(p->conversation, sizeof(p->conversation), "%s", conv);
	snprintf(p->dedup, sizeof(p->dedup), "d:%llu", (unsigned long long)delivery_id);
	/* Logged on the commit thread (lc_log_batch), then lc_reply_logged. */
	lc_pending_wait(lc, p);
out:
	free(files);
	proto_event_clear(&ev);
	return rc;
}

/* ---- typing -------------------------------------------------------------------- */

/*
 * A "typing" frame: a chat.typing event for consumers, at most one per socket
 * every LC_TYPING_US (the others are dropped). It goes through the spool as
 * the messages do, but not through the per-sender limits (it is no message:
 * it must never be held in the quarantine); the router only publishes it.
 */
static void lc_on_typing(struct lc_conn *c)
{
	struct livechat *lc = c->lc;
	struct proto_event ev;
	int64_t now = gw_mono_us();
	int rc;

	if (!c->welcomed || now < c->typing_next_us)
		return;
	c->typing_next_us = now + LC_TYPING_US;
	rc = proto_event_init(&ev, PROTO_T_CHAT_TYPING);
	if (rc != GW_OK)
		return;
	ev.u.typing.channel = gw_strdup("livechat");
	ev.u.typing.account = gw_strdup(lc->inst->conf->name);
	ev.u.typing.address = gw_strdup(c->conversation);
	ev.u.typing.at = gw_now_ms();
	if (ev.u.typing.channel && ev.u.typing.account && ev.u.typing.address &&
	    outbox_add_event(lc->inst->outbox, &ev, NULL) == GW_OK)
		gcommit_want(lc->gc); /* durable in this round's commit, nobody to answer */
	proto_event_clear(&ev);
}

void lc_signal(struct connector_instance *inst, const void *event, size_t len)
{
	static const char frame[] = "{\"type\":\"typing\",\"from\":\"agent\"}";
	struct livechat *lc = inst->ctx;
	struct proto_event ev;
	struct proto_error perr;

	if (!lc || proto_decode(event, len, &ev, &perr) != GW_OK)
		return;
	if (ev.type == PROTO_T_CHAT_TYPING && ev.u.typing.address &&
	    strlen(ev.u.typing.address) < LC_ADDRESS_MAX)
		lc_broadcast(lc, ev.u.typing.address, frame, NULL);
	proto_event_clear(&ev);
}

/* ---- dispatch ------------------------------------------------------------------ */

/* lc_keep_frame - an unreadable frame of a visitor who said hello is kept
 * in the quarantine (bounded: intake.h), committed with the next batch. */
static void lc_keep_frame(struct lc_conn *c, const char *data, size_t len, const char *why)
{
	char reason[INTAKE_REASON_MAX];

	if (!c->welcomed)
		return;
	snprintf(reason, sizeof(reason), "unreadable frame of conversation %s: %s",
		 c->conversation, why);
	if (intake_keep(c->lc->inst, reason, "application/x-chat-frame", data, len) == GW_OK)
		gcommit_want(c->lc->gc);
}

void lc_on_frame(struct lc_conn *c, const char *data, size_t len)
{
	struct lc_frame f;
	char why[128] = "";
	int rc;

	rc = lc_frame_parse(data, len, (size_t)c->lc->set->max_message_bytes, &f, why, sizeof(why));
	if (rc != GW_OK) {
		c->errors++;
		lc_keep_frame(c, data, len, why);
		if (f.client_id)
			lc_send_msg_error(c, f.client_id, rc == GW_ETOOBIG ? "too_large" : "bad_frame",
					  why);
		else
			lc_send_error(c, rc == GW_ETOOBIG ? "too_large" : "bad_frame", why);
		lc_frame_clear(&f);
		return;
	}
	switch (f.type) {
	case LC_F_HELLO: lc_on_hello(c, &f); break;
	case LC_F_MESSAGE: lc_on_message(c, &f); break;
	case LC_F_SEEN: lc_on_seen(c, &f); break;
	case LC_F_PING: lc_send(c, "{\"type\":\"pong\"}", 15); break;
	case LC_F_TYPING: lc_on_typing(c); break;
	}
	lc_frame_clear(&f);
}

/*
 * meta_int.h - helpers shared by the Meta body parsers (meta_parse.c,
 * whatsapp.c, messenger.c). Private to connectors/meta/.
 *
 * Conventions of every helper below:
 *   - JSON values are borrowed from the parsed body; strings put into events
 *     are new malloc'ed copies owned by the event they are stored in.
 *   - A failing helper has already filled ctx->err (first failure wins) and
 *     returns its gw_err code; callers just propagate it.
 *   - Error messages name the JSON path (e.g. "entry[0].changes[1].value
 *     .messages[2].id"), never the provider's content.
 *
 * Limits: identifiers (external ids, accounts, addresses, refs, choice ids)
 * over their proto limit are refused with GW_ETOOBIG, since a cut id names
 * another object; display text (text, names, titles, captions) is cut at a
 * UTF-8 character boundary, since losing its tail beats losing the message.
 */
#ifndef GW_META_INT_H
#define GW_META_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "connectors/meta/meta_parse.h"

/* Longest JSON path printed in an error. */
#define META_PATH_MAX 96

/* Deepest nesting accepted in a body; Meta's bodies nest about 10 levels. */
#define META_MAX_DEPTH 64

/* State of one meta_parse() call. */
struct meta_ctx {
	struct meta_events *out;     /* borrowed: where events are appended */
	struct meta_parse_error *err; /* borrowed */
	int64_t received_at;
	bool body_fault;             /* a failure of the whole body (meta_push) */
};

/* The format parsers, called by meta_parse() with the body's root object. */
int meta_whatsapp_parse(struct meta_ctx *c, const json_t *root);
int meta_messenger_parse(struct meta_ctx *c, const json_t *root, const char *channel);

/* meta_fail - records the first error (code and message); returns code. */
int meta_fail(struct meta_ctx *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * meta_push - appends a new event of `type` (fresh id, ts = received_at) to
 * the list and points *ev at it; the list owns it. GW_ETOOBIG past
 * META_MAX_EVENTS, GW_ENOMEM, GW_EIO (no randomness for the event id).
 */
int meta_push(struct meta_ctx *c, enum proto_type type, struct proto_event **ev);

/*
 * meta_item_recover - after one item (a message, a status, a messaging
 * item) failed with `rc`: when the failure is the item's own (GW_EPROTO,
 * GW_ETOOBIG: a member missing or malformed, an id over its limit), drops
 * the events it made since `mark` (out->n before it), clears the error,
 * counts it in out->unreadable (first reason kept) and returns true, so
 * that the caller keeps it another way and goes on with the body. False
 * when the failure is the body's (memory, the event limit): rc stands.
 */
bool meta_item_recover(struct meta_ctx *c, size_t mark, int rc);

/* meta_item_drop - the same for an item that cannot be kept even as
 * unknown (already counted unreadable): counts it in out->dropped. */
bool meta_item_drop(struct meta_ctx *c, size_t mark, int rc);

/* meta_item_hash16 - 16 hex characters of SHA-256 of the item's JSON with
 * sorted keys: the same item in a redelivered body gives the same text. */
int meta_item_hash16(struct meta_ctx *c, const json_t *item, char out[17]);

/* meta_pathf - formats a JSON path for messages; a long one is cut. */
void meta_pathf(char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* meta_str - obj[key] when it is a string, else NULL (borrowed). */
const char *meta_str(const json_t *obj, const char *key);

/* meta_obj, meta_arr - obj[key] when it is an object / array, else NULL. */
const json_t *meta_obj(const json_t *obj, const char *key);
const json_t *meta_arr(const json_t *obj, const char *key);

/*
 * meta_array - obj[key] as an array: NULL when absent or null; GW_EPROTO
 * through *rc when present with another type. `path` names obj.
 */
const json_t *meta_array(struct meta_ctx *c, const json_t *obj, const char *key,
			 const char *path, int *rc);

/* meta_dup - copies `s` (NULL gives NULL). GW_ENOMEM. */
int meta_dup(struct meta_ctx *c, const char *s, char **out);

/*
 * meta_id - copies the identifier obj[key] into *out: a non-empty string,
 * or an integer written in decimal (some bodies send ids as numbers).
 * Required: absent, null or another type is GW_EPROTO; over `max` bytes
 * GW_ETOOBIG. `path` names obj.
 */
int meta_id(struct meta_ctx *c, const json_t *obj, const char *key, size_t max,
	    const char *path, char **out);

/*
 * meta_choice_id - the payload obj[key] (required, like meta_id) as a choice
 * id; one longer than PROTO_MAX_EXTERNAL_ID becomes "sha256:<hex>" of it
 * (the payload itself stays in raw), since Messenger payloads reach 1000
 * bytes and a body must not be refused for that.
 */
int meta_choice_id(struct meta_ctx *c, const json_t *obj, const char *key, const char *path,
		   char **out);

/*
 * meta_id_peek - the identifier obj[key] as meta_id reads it (a non-empty
 * string, or an integer written in decimal into buf) when it is there and
 * at most `max` bytes; else NULL. Never fails: for fallbacks that must not
 * record an error. The result is borrowed from obj or points into buf.
 */
const char *meta_id_peek(const json_t *obj, const char *key, size_t max, char *buf,
			 size_t buflen);

/* meta_opt_id - like meta_id but absent or of another type leaves *out NULL. */
int meta_opt_id(struct meta_ctx *c, const json_t *obj, const char *key, size_t max,
		const char *path, char **out);

/*
 * meta_text - copies the display string obj[key], cut to at most `max`
 * bytes at a character boundary. Absent or not a string leaves *out NULL
 * (optional content never fails a body). GW_ENOMEM only.
 */
int meta_text(struct meta_ctx *c, const json_t *obj, const char *key, size_t max, char **out);

/* meta_cut - copies `len` bytes of `s`, cut to `max` like meta_text. */
int meta_cut(struct meta_ctx *c, const char *s, size_t len, size_t max, char **out);

/* meta_url - copies an optional URL; one over `max` is dropped (a cut URL is wrong). */
int meta_url(struct meta_ctx *c, const json_t *obj, const char *key, size_t max, char **out);

/*
 * meta_time - obj[key] as ms since the epoch into *out. Accepted: a JSON
 * integer or a string of ASCII digits, counting `unit_ms` ms per unit (1000
 * for WhatsApp's seconds, 1 for Messenger's milliseconds). Absent or null
 * gives 0; anything else (ISO dates, negative, fractional, overflowing) is
 * GW_EPROTO naming the path.
 */
int meta_time(struct meta_ctx *c, const json_t *obj, const char *key, int64_t unit_ms,
	      const char *path, int64_t *out);

/*
 * meta_raw - the value re-serialized compactly into *out, or NULL when it
 * is larger than PROTO_MAX_RAW (raw is a courtesy copy, not worth refusing
 * the message for). GW_ENOMEM.
 */
int meta_raw(struct meta_ctx *c, const json_t *v, char **out);

/*
 * meta_derive - a deterministic id from printf-style parts: the same body
 * gives the same id. When the text is longer than PROTO_MAX_EXTERNAL_ID it
 * becomes "sha256:<64 hex>" of that text. GW_ENOMEM, GW_EIO (digest).
 */
int meta_derive(struct meta_ctx *c, char **out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* meta_hash16 - the first 16 hex characters of SHA-256 of `s` into out[17]. */
int meta_hash16(struct meta_ctx *c, const char *s, size_t len, char out[17]);

/* meta_party_new - a new party {address (required copy), name (may be NULL)}. */
int meta_party_new(struct meta_ctx *c, const char *address, const char *name,
		   struct proto_party **out);

/* meta_reply_to - sets m->reply_to to the one id `id` (copied). */
int meta_reply_to(struct meta_ctx *c, struct proto_message *m, const char *id,
		  const char *path);

/* meta_media_type - "image/any" style media type of an attachment type (see .c). */
const char *meta_media_type(const char *kind);

/*
 * meta_reply_id - true when `s` has the shape of a gateway reply's
 * external_id, "reply-<delivery id>-<32 lowercase hex>" (router/reply.c):
 * what the connector sends as WhatsApp's biz_opaque_callback_data and as a
 * Messenger message's metadata, which Meta's webhooks then carry back.
 */
bool meta_reply_id(const char *s);

/* A bounded growing string (text summaries); cut at a character boundary at max. */
struct meta_buf {
	char *p;
	size_t len, cap, max;
};

/* meta_buf_add - appends `len` bytes of `s` (what fits under max). GW_ENOMEM. */
int meta_buf_add(struct meta_ctx *c, struct meta_buf *b, const char *s, size_t len);

/* meta_buf_take - moves the text (or "" when empty) into *out. GW_ENOMEM. */
int meta_buf_take(struct meta_ctx *c, struct meta_buf *b, char **out);

#endif

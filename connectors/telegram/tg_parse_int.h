/*
 * tg_parse_int.h - helpers shared by the update parsers (tg_parse.c, the
 * Update and its kinds; tg_message.c, a Message's content). Private to
 * connectors/telegram/.
 *
 * Conventions, as in the Meta parsers: JSON values are borrowed from the
 * parsed body, strings put into events are new copies owned by the event;
 * a failing helper has filled ctx->err (first failure wins) and returns
 * its code; messages name the JSON path, never the content. Ids over
 * their proto limit are refused (GW_ETOOBIG: a cut id names another
 * object); display text is cut at a UTF-8 character boundary.
 */
#ifndef GW_TG_PARSE_INT_H
#define GW_TG_PARSE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "connectors/telegram/tg_parse.h"

#define TG_ID_TEXT 24 /* an int64 in decimal and a NUL */

/* State of one parse call. */
struct tg_ctx {
	struct tg_events *out;
	struct tg_parse_error *err;
	const struct tg_parse_opts *o;
	bool body_fault; /* the failure is the body's (memory, limits) */
};

/* tg_fail - records the first error; returns code. */
int tg_fail(struct tg_ctx *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* tg_push - appends a new event of `type` (fresh id, ts = received_at);
 * GW_ETOOBIG past TG_MAX_UPDATES, GW_ENOMEM, GW_EIO. */
int tg_push(struct tg_ctx *c, enum proto_type type, struct proto_event **ev);

/* tg_int - obj[key] as an integer into *v: 0, or -1 when it is not one. */
int tg_int(const json_t *obj, const char *key, int64_t *v);

/* tg_obj - obj[key] when it is an object, else NULL. */
const json_t *tg_obj(const json_t *obj, const char *key);

/* tg_str - obj[key] when it is a string, else NULL (borrowed). */
const char *tg_str(const json_t *obj, const char *key);

/* tg_dup - copies s (NULL gives NULL). GW_ENOMEM. */
int tg_dup(struct tg_ctx *c, const char *s, char **out);

/* tg_printf - a new string from a format. GW_ENOMEM. */
int tg_printf(struct tg_ctx *c, char **out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* tg_cut - copies `len` bytes of s, cut to `max` bytes at a character
 * boundary. GW_ENOMEM. */
int tg_cut(struct tg_ctx *c, const char *s, size_t len, size_t max, char **out);

/* tg_text - the display string obj[key] cut to `max`; absent or not a
 * string leaves *out NULL. GW_ENOMEM only. */
int tg_text(struct tg_ctx *c, const json_t *obj, const char *key, size_t max, char **out);

/* tg_raw - v as compact JSON, or NULL when over PROTO_MAX_RAW. GW_ENOMEM. */
int tg_raw(struct tg_ctx *c, const json_t *v, char **out);

/* tg_hash16 - 16 hex digits of SHA-256 of v's JSON with sorted keys. GW_ENOMEM, GW_EIO. */
int tg_hash16(struct tg_ctx *c, const json_t *v, char out[17]);

/*
 * tg_party - a user or chat object as a party: address its id (required,
 * an integer: GW_EPROTO naming `path` otherwise), name "first last", the
 * username or the chat's title; attributes "telegram.username=..." and
 * "telegram.language_code=..." when it has them. GW_ENOMEM.
 */
int tg_party(struct tg_ctx *c, const json_t *who, const char *path, struct proto_party *p);

/* tg_message_fill - a Message object into `m` (a message.received or
 * message.sent body). `path` names it. */
int tg_message_fill(struct tg_ctx *c, const json_t *msg, const char *path,
		    struct proto_message *m);

/* tg_message_ids - the chat id and message id of a Message into text;
 * GW_EPROTO naming `path` when either is missing. */
int tg_message_ids(struct tg_ctx *c, const json_t *msg, const char *path,
		   char chat[TG_ID_TEXT], char id[TG_ID_TEXT]);

/* tg_message_ids_peek - the same without recording an error: 0, or -1. */
int tg_message_ids_peek(const json_t *msg, char chat[TG_ID_TEXT], char id[TG_ID_TEXT]);

/* tg_message_text - the new text of an edited Message: text or caption;
 * NULL when it has neither. GW_ENOMEM. */
int tg_message_text(struct tg_ctx *c, const json_t *msg, char **out);

#endif

/*
 * tg_parse.h - Telegram Bot API updates into gateway events
 * (docs/channels/telegram.md, "What each update becomes"). Pure functions:
 * no I/O, no globals.
 *
 * One Update gives at most one event, on channel "telegram" and the
 * instance's account (the bot):
 *   message             message.received, external_id "<chat id>:<message id>",
 *                       kind text, photo (its largest size), document, voice,
 *                       audio, video, video_note, sticker, animation, location,
 *                       venue, contact, or unknown (with raw_type and raw);
 *                       files as "telegram-file:<file_id>" attachments, the
 *                       caption as the text, reply_to_message in reply_to
 *   edited_message      message.edited of "<chat id>:<message id>", new text
 *   callback_query      message.received kind callback_query with the button
 *                       pressed as `choice`, reply_to the message it was on
 *   my_chat_member      message.received kind blocked, unblocked or
 *                       chat_member, auto_reply (files no ticket)
 *   any other kind      message.received kind unknown, unsupported, raw_type
 *                       the kind, raw the Update; one that names nobody (a
 *                       poll) is the bot's: from "bot<id>", auto_reply
 * The sender is from.id (or the chat when there is no user); a contact card
 * whose user_id is the sender's own id also gives party.phone, verified.
 * Ids come from the update alone, so a redelivered update gives the same
 * ids and the router deduplicates it.
 */
#ifndef GW_TG_PARSE_H
#define GW_TG_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define TG_CHANNEL "telegram"
#define TG_FILE_REF_PREFIX "telegram-file:"
#define TG_BOT_PREFIX "bot" /* from.address "bot<id>": an update without a sender */
#define TG_MAX_UPDATES 1000  /* Updates of one getUpdates answer read at most */
#define TG_ERROR_MAX 192

/* The events of one body; each is owned by the list. */
struct tg_events {
	struct proto_event *ev;
	size_t n, cap;
	size_t updates;          /* Updates read (whatever became of them) */
	int64_t max_update_id;   /* highest update_id read; -1 when none */
	/* Updates (or answer elements) that could not be read as their kind
	 * says: kept as kind unknown when a sender could be found, else
	 * dropped (counted in both). The first reason names the JSON path. */
	size_t unreadable, dropped;
	char unreadable_why[TG_ERROR_MAX];
	size_t blocked, unblocked; /* my_chat_member of private chats */
};

struct tg_parse_opts {
	const char *account;  /* borrowed: `account` of every event (the bot) */
	int64_t received_at;  /* ms since the epoch: received_at and ts */
	const char *bot_id;   /* borrowed, may be NULL: the bot's id, for the
			       * party of an update that names nobody */
};

struct tg_parse_error {
	int code;                   /* a gw_err */
	char message[TG_ERROR_MAX]; /* names the JSON path, never the content */
};

/*
 * tg_parse_update - one webhook body: exactly one Update (a JSON object
 * with an integer update_id of 0 or more), into `out` (zeroed by the
 * caller). An Update whose content cannot be read is kept or dropped and
 * counted (out->unreadable), never refused. Refused, with `out` left
 * empty and `err` saying why: GW_EPROTO (not JSON, not an object, no
 * update_id), GW_ENOMEM, GW_EIO (no randomness for an event id).
 */
int tg_parse_update(const void *body, size_t len, const struct tg_parse_opts *o,
		    struct tg_events *out, struct tg_parse_error *err);

/*
 * tg_parse_updates - a getUpdates answer {"ok":true,"result":[Update,...]}
 * into `out` (zeroed). An element without an update_id is counted
 * unreadable and dropped. Refused as tg_parse_update, and GW_EPROTO when
 * the answer is not ok with a result array, GW_ETOOBIG past TG_MAX_UPDATES.
 */
int tg_parse_updates(const void *body, size_t len, const struct tg_parse_opts *o,
		     struct tg_events *out, struct tg_parse_error *err);

/* tg_events_clear - frees every event and zeroes the list; accepts an empty one. */
void tg_events_clear(struct tg_events *l);

#endif

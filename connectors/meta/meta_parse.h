/*
 * meta_parse.h - Meta webhook bodies (WhatsApp Cloud API, Messenger,
 * Instagram) into gateway events. Pure functions: no I/O, no globals.
 *
 * One POST body holds entries, changes and messages; each message, status,
 * reaction, edit, unsend or echo becomes one event. The body's top-level
 * `object` selects the format:
 *   "whatsapp_business_account"  entry[].changes[].value  (whatsapp.c)
 *   "page"                       entry[].messaging[]      (messenger.c)
 *   "instagram"                  entry[].messaging[]      (messenger.c)
 *
 * Events made (see docs/events.md):
 *   message.received  a customer's message (every type; unknown types are
 *                     kept with raw_type, unsupported = true and raw)
 *   message.sent      an echo of a message the business sent (is_echo)
 *   message.status    sent/delivered/read/failed, Messenger read/delivery;
 *                     the echo of one of the gateway's replies (its id in
 *                     metadata) is that reply's "sent", and a WhatsApp
 *                     status naming a reply in biz_opaque_callback_data is
 *                     about the reply (external_id the reply's id,
 *                     provider_id the wamid)
 *   message.edited, message.deleted
 * Each carries channel ("whatsapp", "messenger", "instagram"), account (the
 * WhatsApp phone_number_id, the page id or the Instagram account id) and
 * stable ids, so that a redelivered body yields the same ids again.
 */
#ifndef GW_META_PARSE_H
#define GW_META_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

/* Most events one body may yield; a larger body is refused (GW_ETOOBIG). */
#define META_MAX_EVENTS 1000

#define META_SKIPPED_NAME_MAX 32

/* Longest error message, with its NUL. */
#define META_ERROR_MAX 192

/* The events of one body; each is owned by the list. */
struct meta_events {
	struct proto_event *ev;
	size_t n, cap;
	/* WhatsApp statuses whose name the event schema lacks: no event, but
	 * the connector logs them (the first name, letters, digits and '_'). */
	size_t skipped;
	char skipped_status[META_SKIPPED_NAME_MAX + 1];
	/* Items (a message, a status, a messaging item) that could not be
	 * read: a member the format requires missing or malformed, an id over
	 * its limit. A message is kept as kind "unknown" with raw when its
	 * sender can be read; the others are dropped and also counted in
	 * `dropped`. The first reason names the JSON path, for the log. */
	size_t unreadable, dropped;
	char unreadable_why[META_ERROR_MAX];
	/* A WhatsApp value's own errors[] (Meta reporting a problem with the
	 * webhook or the account, not with one message): no event, but the
	 * connector logs them, the first as "<code> <title>" cut to fit. */
	size_t provider_errors;
	char provider_error[META_SKIPPED_NAME_MAX * 3];
};

struct meta_parse_error {
	int code;                     /* a gw_err */
	char message[META_ERROR_MAX]; /* names the JSON path, never quotes message text */
};

/*
 * meta_parse - parses `len` bytes of `body` (borrowed; the raw bytes whose
 * signature was checked) into `out`, which must be empty (zeroed). Every
 * event gets received_at (message bodies) = `received_at` (ms since epoch).
 * One item that cannot be read never refuses the body, since Meta would
 * redeliver the same bytes and every other message in them would wait with
 * it: see meta_events.unreadable. What refuses it, `out` left empty and
 * `err` saying why:
 *   GW_EPROTO    not JSON, not an object, `entry` or an entry's structure
 *                (changes, value, metadata.phone_number_id, the page id)
 *                missing or of the wrong type
 *   GW_ETYPE     an `object` this parser does not handle
 *   GW_ETOOBIG   more than META_MAX_EVENTS events, an account id over its limit
 *   GW_ENOMEM
 * A body with no events (e.g. only account updates) succeeds with n = 0.
 */
int meta_parse(const void *body, size_t len, int64_t received_at, struct meta_events *out,
	       struct meta_parse_error *err);

/* meta_events_clear - frees every event and the list; accepts an empty one. */
void meta_events_clear(struct meta_events *list);

#endif

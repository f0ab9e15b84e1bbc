/*
 * api_request.h - the body of POST /v1/messages: JSON in, a message.received
 * event out; and of POST /v1/messages/{id}/status: a message.status out.
 * Pure: no I/O, no lws, no global state, so it is unit-tested and fuzzed
 * on its own.
 *
 * Accepted body (docs/channels/api.md has the full contract):
 *
 *   {"id": "m-1", "from": {"id": "+33612345678", "name": "Ann"},
 *    "subject": "Order 12", "text": "Hello",
 *    "attachments": [{"name": "a.png", "type": "image/png", "size": 12,
 *                     "url": "https://..."}],
 *    "reply_to": ["m-0"]}
 *
 * The parser is strict: an unknown key at any level, a value of the wrong
 * JSON type, a missing required field or a value over its proto limit is an
 * error whose message names the field ("from.id: longer than 320 bytes").
 * Strings must be valid UTF-8 without NUL (jansson enforces both while
 * parsing); duplicate keys are refused.
 *
 * Threading: reentrant.
 */
#ifndef GW_CONNECTOR_API_REQUEST_H
#define GW_CONNECTOR_API_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

/* Machine-readable error codes, sent as the "error" member of a 400 body. */
#define API_ERR_INVALID_JSON "invalid_json"   /* not JSON, not an object */
#define API_ERR_MISSING "missing_field"       /* a required field is absent */
#define API_ERR_TYPE "invalid_type"           /* wrong JSON type */
#define API_ERR_VALUE "invalid_value"         /* empty, negative, ... */
#define API_ERR_TOO_LONG "too_long"           /* string or array over its limit */
#define API_ERR_UNKNOWN "unknown_field"       /* a key the API does not define */
#define API_ERR_INTERNAL "internal"           /* out of memory: answered 503 */

/* Why a body was refused: a code above and a message naming the field. */
struct api_request_error {
	const char *code; /* static string, one of API_ERR_* */
	char message[192];
};

/* What the connector adds to every message (borrowed strings). */
struct api_request_meta {
	const char *channel;  /* "api" */
	const char *account;  /* the instance's account */
	int64_t received_at;  /* ms since the epoch */
	size_t max_text;      /* `text` at most this many bytes (max_text_bytes);
			       * 0: PROTO_MAX_TEXT, which also caps it */
};

/*
 * api_request_parse - parses `len` bytes at `body` (borrowed, need not be
 * NUL-terminated) and fills `ev` as a new message.received event (fresh
 * event id, ts now, external_id = the body's "id"). On GW_OK the caller owns
 * `ev` and frees it with proto_event_clear(). On failure `ev` is left
 * cleared and `err` says why.
 *
 * Returns GW_OK, GW_EPROTO (not JSON or not an object), GW_EMISSING,
 * GW_ETYPE, GW_EINVAL (bad value or unknown key), GW_ETOOBIG, GW_ENOMEM or
 * GW_EIO (no randomness for the event id; both with code API_ERR_INTERNAL).
 */
int api_request_parse(const char *body, size_t len, const struct api_request_meta *meta,
		      struct proto_event *ev, struct api_request_error *err);

/*
 * Status reports: POST /v1/messages/{id}/status, the client saying what
 * became of a reply it took (docs/channels/api.md, "Replies"):
 *
 *   {"status": "delivered" | "read" | "failed", "reason": "...", "at": ms}
 *
 * "reason" (up to 1024 bytes) only with "failed"; "at" (ms since the epoch,
 * 10^12 at least: seconds are refused) defaults to meta->received_at.
 */
#define API_STATUS_ID_MAX (PROTO_MAX_EXTERNAL_ID - 10) /* room for ":delivered" */

/*
 * api_status_id_check - whether `id` (the path's {id}, NUL-terminated,
 * borrowed) may name a message: 1..API_STATUS_ID_MAX bytes of UTF-8.
 * Returns GW_OK, or GW_EINVAL / GW_ETOOBIG with `err` filled.
 */
int api_status_id_check(const char *id, struct api_request_error *err);

/*
 * api_status_parse - parses `len` bytes at `body` (borrowed) about message
 * `id` (borrowed, checked with api_status_id_check) into `ev`, a new
 * message.status event: channel and account from `meta`, status_id
 * "<id>:<status>", external_id `id`, status_at, and for a failure with a
 * reason one error titled with it. Ownership and errors as
 * api_request_parse.
 */
int api_status_parse(const char *body, size_t len, const char *id,
		     const struct api_request_meta *meta, struct proto_event *ev,
		     struct api_request_error *err);

#endif

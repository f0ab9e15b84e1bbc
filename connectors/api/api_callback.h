/*
 * api_callback.h - what the API channel sends to a client's callback_url for
 * each reply, and how it reads the answer (docs/channels/api.md, "Replies").
 *
 *   api_callback_payload    the JSON body of one reply, from its message.sent
 *   api_callback_sign       the X-Omnigate-Signature value of a body at time t
 *   api_callback_judge      what the client's answer means: sent, again
 *                           later, or failed (and whether it refused us)
 *   api_callback_url_check  whether a callback_url may be used
 *
 * The signature: HMAC-SHA256 keyed with callback_secret over the bytes
 * "<t>.<body>", where t is the unix time in seconds when the attempt
 * started, sent as "t=<t>,v1=<64 lowercase hex digits>". Each attempt signs
 * anew with a fresh t; the body is the same bytes on every attempt.
 *
 * No network, no global state: attachments are read from the folder given.
 * Threading: reentrant (the sender's worker thread calls them).
 */
#ifndef GW_CONNECTOR_API_CALLBACK_H
#define GW_CONNECTOR_API_CALLBACK_H

#include "connectors/api/api_config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "connectors/sender.h"
#include "proto/proto.h"

#define API_CB_TYPE "message.reply"  /* "type" of every callback body */
#define API_CB_SIG_HEADER "X-Omnigate-Signature"
#define API_CB_DELIVERY_HEADER "X-Omnigate-Delivery"
#define API_CB_SIG_MAX 96            /* "t=<20 digits>,v1=<64 hex>" and a NUL */
#define API_CB_EXCERPT_MAX 160       /* bytes of an error answer kept in a reason */

/* Where the attachments of a reply come from. */
struct api_cb_files {
	const char *dir;     /* <state_dir>/attachments (store/attachments.h) */
	uint64_t inline_max; /* bytes of stored files sent inline, in all */
};

/*
 * api_callback_payload - the callback body of reply `ev` (borrowed; a
 * message.sent naming the customer in `to`) for delivery `delivery_id`:
 *
 *   {"type":"message.reply","id":<external_id>,"delivery_id":N,
 *    "ticket_id":N|null,"to":{"id":...,"name"?:...},"text":...,
 *    "subject"?:...,"author"?:...,"in_reply_to":<last reply_to>|null,
 *    "attachments":[{"name","type","size","url"} |
 *                   {"name","type","size","sha256","data":<base64>}],
 *    "template"?:{"name","language","params":[...],"components"?:<JSON>},
 *    "created_at":<ms>}
 *
 * A stored attachment ("sha256:<hex>") is read from files->dir and sent
 * inline in base64; any other ref is sent as "url". On GW_OK *out (caller
 * frees) holds *len bytes of compact JSON and a NUL. Otherwise `why` says
 * what is wrong: GW_EINVAL (not a reply, template components that are not
 * JSON, a stored ref that is not one), GW_ENOTFOUND (a stored file is
 * missing), GW_ETOOBIG (stored files over files->inline_max), GW_EIO,
 * GW_ENOMEM.
 */
int api_callback_payload(const struct proto_event *ev, uint64_t delivery_id,
			 const struct api_cb_files *files, char **out, size_t *len, char *why,
			 size_t whylen);

/*
 * api_callback_sign - "t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>"
 * into `out` (`outlen` bytes, API_CB_SIG_MAX is enough). `secret` and `body`
 * are borrowed. Returns GW_OK, GW_EINVAL (out too small, t negative),
 * GW_EIO (OpenSSL failed).
 */
int api_callback_sign(const void *secret, size_t secret_len, int64_t t, const void *body,
		      size_t len, char *out, size_t outlen);

/*
 * api_callback_judge - the verdict on one attempt (`a`, borrowed) into
 * `out` (zeroed by the caller):
 *   2xx                         DONE, ref (account, reply_id)
 *   no answer (timeout, connection refused or reset, TLS), 408, 429, 5xx
 *                               RETRY, at least Retry-After; a 429 slows
 *                               every job down
 *   401, 403                    FAIL with auth: the receiver refuses our
 *                               signature (callback_secret differs)
 *   any other status            FAIL, with the status and an excerpt of the
 *                               answer (API_CB_EXCERPT_MAX bytes at most)
 */
void api_callback_judge(const struct sender_attempt *a, const char *account,
			const char *reply_id, struct sender_outcome *out);

/*
 * api_callback_excerpt - the first bytes of an answer `body` (`len` bytes,
 * borrowed), fit for a log line and an event: control characters become
 * spaces, runs of spaces one, invalid UTF-8 '?', at most `outlen` - 1 bytes
 * (API_CB_EXCERPT_MAX at most) and a NUL, cut between characters ("..."
 * marks a cut). No error.
 */
void api_callback_excerpt(const char *body, size_t len, char *out, size_t outlen);

/*
 * api_callback_url_check - 0 when `url` may be used as a callback_url: an
 * absolute http(s) URL (libcurl's parser) without user or password; http
 * only to a loopback host (127.0.0.0/8, ::1, localhost) unless `insecure`.
 * Otherwise -1 and `why` says what is wrong (without the URL's secrets).
 */
int api_callback_url_check(const char *url, bool insecure, char *why, size_t whylen);

#endif

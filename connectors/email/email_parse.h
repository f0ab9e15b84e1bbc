/*
 * email_parse.h - one RFC 5322 message (raw bytes as fetched over IMAP or
 * read from a file) into a message.received event, with GMime.
 *
 * What it extracts (docs/channels/email.md):
 *   external_id   Message-ID (without <>), or a stable id derived from the
 *                 content when it is missing (with a warning)
 *   dedup_key     the same id, so that one email in two mailboxes is one
 *   from          Reply-To when present, else From (address, name)
 *   recipients    To and Cc (role "to", "cc"), Delivered-To when present
 *   subject       RFC 2047 decoded, UTF-8
 *   text          text/plain preferred; HTML converted to readable text when
 *                 it is the only body; every charset converted to UTF-8
 *   attachments   every attachment and inline image: name, media type, size,
 *                 ref = "sha256:<hex>" of its bytes, stored content-addressed
 *                 under opt->attachment_dir (when set and within the limit)
 *   reply_to      In-Reply-To and References ids (without <>), oldest first
 *   auto_reply    Auto-Submitted other than "no", X-Autoreply, X-Autorespond,
 *                 Precedence bulk/junk/list/auto_reply, X-Auto-Response-Suppress
 *                 naming All, OOF or AutoReply (DR/RN/NRN alone are set by
 *                 people too)
 *   bounce        multipart/report, a mailer-daemon/postmaster sender, an
 *                 empty Return-Path (<>), X-Failed-Recipients
 *   warnings      what was malformed and how it was read
 *
 * Threading: reentrant once email_parse_init() has run (GMime's g_mime_init).
 */
#ifndef GW_EMAIL_PARSE_H
#define GW_EMAIL_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

struct email_parse_options {
	const char *account;         /* the mailbox's instance name (event account) */
	int64_t received_at;         /* ms since epoch */
	const char *attachment_dir;  /* content-addressed store; NULL: bytes not kept */
	size_t max_attachment_bytes; /* larger attachments: recorded, bytes not kept, warning */
	size_t max_message_bytes;    /* larger messages are quarantined */
	const char *const *own_addresses; /* the gateway's own addresses, lowercase */
	size_t n_own;
};

enum email_verdict {
	EMAIL_INGEST,     /* out->ev holds the event to hand to the router */
	EMAIL_IGNORE_OWN, /* sent from one of the gateway's own addresses: skip */
	EMAIL_QUARANTINE, /* cannot become an event: set aside with the reason */
};

struct email_result {
	enum email_verdict verdict;
	char reason[256];      /* why, for IGNORE_OWN and QUARANTINE */
	struct proto_event ev; /* EMAIL_INGEST only; owned, email_result_clear frees */
};

/* email_parse_init - initializes GMime once per process. */
void email_parse_init(void);

/*
 * email_parse - parses `len` bytes at `raw` (borrowed). Returns GW_OK with a
 * verdict in *out (which it initializes), or GW_ENOMEM / GW_EIO (attachment
 * store not writable). A malformed message is never an error: it becomes an
 * event with warnings, or a QUARANTINE verdict with the reason.
 */
int email_parse(const void *raw, size_t len, const struct email_parse_options *opt,
		struct email_result *out);

/* email_result_clear - frees what `out` owns; accepts a zeroed result. */
void email_result_clear(struct email_result *out);

#endif

/*
 * email_reply.h - a reply (the message.sent of a message.send) as the MIME
 * message the customer receives, built with GMime (docs/channels/email.md,
 * Replies):
 *
 *   From          the display name (from_name, else the agent's name) and
 *                 the sending address
 *   To            the customer: message.sent to.address (and its name)
 *   Subject       "Re: <subject> [#T-<ticket>]": one "Re:" however many the
 *                 subject had, and one ticket token, this ticket's (the
 *                 router's ticket_token rule reads it back)
 *   Date          now
 *   Message-ID    <reply-<delivery>-<hex>@<domain of the from address>>:
 *                 the reply's external_id, so the same on every attempt and
 *                 after a restart (a copy sent twice is one mail to clients)
 *   In-Reply-To   the message answered: the last id of reply_to
 *   References    the chain: every id of reply_to, oldest first
 *   MIME-Version, text/plain; charset=utf-8 (7bit when plain ASCII in
 *                 short lines, quoted-printable otherwise), and the
 *                 attachments (base64) in a multipart/mixed with it
 *
 * No Auto-Submitted header: a person's reply (RFC 3834), so that the
 * customer's autoresponder answers it as it would any mail. Ids of reply_to
 * that are not message ids (a "derived-" id of a message that had none)
 * are left out of In-Reply-To and References.
 *
 * Attachments name blobs of the attachments store ("sha256:<hex>", read
 * through store/attachments.h from the first folder of `attach_dirs` that
 * holds it); a URL is refused, the connector does not fetch it.
 *
 * Lines end with CRLF, as SMTP and IMAP APPEND carry them.
 *
 * Threading: reentrant once email_parse_init() has run (GMime's init).
 */
#ifndef GW_EMAIL_REPLY_H
#define GW_EMAIL_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define EMAIL_REPLY_DIRS 2 /* attachment folders looked in */

struct email_reply_options {
	const char *from;        /* the sending address (required) */
	const char *from_name;   /* display name; NULL: the agent's (from.name) */
	const char *attach_dirs[EMAIL_REPLY_DIRS]; /* NULL entries are skipped */
	size_t max_bytes;        /* the whole message at most */
	int64_t now_ms;          /* its Date */
};

struct email_reply {
	char *data;   /* the message (malloc'ed, NUL-terminated), CRLF lines */
	size_t len;
	char to[PROTO_MAX_ADDRESS + 1];          /* the envelope recipient */
	char message_id[PROTO_MAX_EXTERNAL_ID + 1]; /* without <>: as the email
						      * parser reads it back from
						      * an answer's In-Reply-To */
};

/*
 * email_reply_build - the message of reply `m` (a decoded message.sent,
 * borrowed) into `out` (zeroed first; free with email_reply_free). On an
 * error writes why, for the delivery's `failed` reason, into `why`:
 *   GW_EINVAL    no usable customer address, external_id or from address;
 *                a template (email has none); an attachment that is a URL
 *   GW_EMISSING  an attachment is not in the attachments store
 *   GW_ETOOBIG   the message is over max_bytes
 *   GW_EIO       an attachment cannot be read
 *   GW_ENOMEM
 */
int email_reply_build(const struct email_reply_options *opt, const struct proto_message *m,
		      struct email_reply *out, char *why, size_t whylen);

/* email_reply_free - frees what `r` owns; accepts a zeroed reply. */
void email_reply_free(struct email_reply *r);

/*
 * email_reply_subject - "Re: <subject> [#T-<ticket>]" into `out` (size
 * bytes): leading "Re:" (any case, "Re[2]:" too) and every "[#T-n]" of
 * `subject` (may be NULL) are dropped first; ticket 0: no token. The
 * subject is cut on a character boundary to fit. For tests and tools.
 */
void email_reply_subject(const char *subject, uint64_t ticket, char *out, size_t size);

#endif

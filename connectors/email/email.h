/*
 * email.h - the email channel: one IMAP mailbox per instance, read in UID
 * order and handed to the router gap-free (docs/channels/email.md).
 *
 *   email.c        the connector type: config table, the ingest loop,
 *                  durable progress, the action after durability
 *   email_state.c  the per-mailbox progress file (UIDVALIDITY, last UID)
 *   quarantine.c   messages that cannot become events, and their reingest
 *   imap.c         IMAP over libcurl (plus the IDLE wait libcurl lacks)
 *   email_parse.c  one RFC 5322 message into an event (GMime)
 *   email_send.c   replies: the `smtp` block, the deliver op, the sender
 *   email_reply.c  one reply into a MIME message (GMime)
 *   email_smtp.c   the sender's job: SMTP submission, the Sent copy
 */
#ifndef GW_CONNECTOR_EMAIL_H
#define GW_CONNECTOR_EMAIL_H

#include <stdbool.h>

#include "connectors/connector.h"
#include "connectors/sender.h"

/*
 * The `smtp` block of an instance: how its replies are sent. All zero when
 * the block is absent (url NULL): replies are off, each one failed with
 * the reason.
 */
struct email_smtp_settings {
	char *url;                  /* smtp://host[:587] or smtps://host[:465] */
	char *tls;                  /* auto, implicit, starttls, none */
	char *username;             /* SASL login; NULL: the mailbox's username */
	char *password;             /* secret */
	char *bearer_token;         /* secret: SASL XOAUTH2 instead of a password */
	char *ca_file;              /* NULL: the mailbox's ca_file, else the system's */
	char *from;                 /* NULL: the mailbox's username (an address) */
	char *from_name;            /* NULL: the agent's name */
	char *sent_folder;          /* a copy appended over IMAP; NULL: none */
	long long max_message_bytes; /* a reply with its attachments at most */
	struct sender_settings send; /* SENDER_CONF_ROWS */
};

/* Settings of one `type: email` instance, filled from its config table. */
struct email_settings {
	char *url;                      /* imap[s]://host[:port]/MAILBOX (required) */
	char *username;                 /* login (required) */
	char *password;                 /* secret (required) */
	char *tls;                      /* auto, implicit, starttls, none */
	char *ca_file;                  /* CA bundle for the server certificate; NULL: system */
	long long poll_interval_ms;     /* between checks when IDLE is not used */
	bool idle;                      /* wait with IMAP IDLE when the server has it */
	char *after;                    /* seen, move, none: what is done once durable */
	char *move_to;                  /* folder for after: move */
	char *own_addresses;            /* comma-separated addresses of the gateway */
	long long max_message_bytes;    /* larger messages are quarantined unread */
	long long max_attachment_bytes; /* larger attachments are not stored */
	long long fetch_batch;          /* messages per durable commit */
	long long spool_max;            /* accepted-but-unrouted events kept at most */
	long long spool_map_mb;         /* LMDB map size of the spool */
	char *attachment_dir;           /* default <state_dir>/attachments */
	struct email_smtp_settings smtp; /* the `smtp` block */
};

extern const struct connector_type connector_email;

#endif

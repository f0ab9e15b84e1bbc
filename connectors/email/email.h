/*
 * email.h - the email channel: one IMAP mailbox per instance, read in UID
 * order and handed to the router gap-free (docs/channels/email.md).
 *
 *   email.c        the connector type: config table, the ingest loop,
 *                  durable progress, the action after durability
 *   store/email_state.c  the per-mailbox progress file (UIDVALIDITY, last UID)
 *   store/quarantine.c   messages that cannot become events, and their reingest
 *   imap.c         IMAP over libcurl (plus the IDLE wait libcurl lacks)
 *   email_parse.c  one RFC 5322 message into an event (GMime)
 */
#ifndef GW_CONNECTOR_EMAIL_H
#define GW_CONNECTOR_EMAIL_H

#include <stdbool.h>

#include "connectors/connector.h"

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
};

extern const struct connector_type connector_email;

#endif

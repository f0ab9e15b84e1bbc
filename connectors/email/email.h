/*
 * email.h - the email channel: one IMAP mailbox per instance, read in UID
 * order and handed to the router gap-free (docs/channels/email.md).
 *
 *   email.c              the connector type: the ingest loop, durable
 *                        progress, the action after durability
 *   email_config.c       its config table and check (no libcurl)
 *   imap.c               IMAP over libcurl (plus the IDLE wait libcurl lacks)
 *   email_parse.c        one RFC 5322 message into an event (GMime)
 *   store/email_state.c  the per-mailbox progress file (UIDVALIDITY, last UID)
 *   store/quarantine.c   messages that cannot become events, and their reingest
 */
#ifndef GW_CONNECTOR_EMAIL_H
#define GW_CONNECTOR_EMAIL_H

#include "connectors/connector.h"
#include "connectors/email/email_config.h"

extern const struct connector_type connector_email;

#endif

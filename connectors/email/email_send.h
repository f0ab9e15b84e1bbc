/*
 * email_send.h - the reply side of an email instance: its `smtp` block,
 * the type's deliver op, and the sender (connectors/sender.h) whose worker
 * submits each reply over SMTP (email_smtp.h) so that the IMAP loop never
 * waits on a send.
 *
 * Without an `smtp` block an instance sends no replies: every delivery is
 * reported failed with "email connector X has no smtp block", and
 * `gatewayctl status` shows the same as "replies fail".
 *
 * Threading: the connector's thread (the one that runs the IMAP loop).
 */
#ifndef GW_EMAIL_SEND_H
#define GW_EMAIL_SEND_H

#include <stddef.h>
#include <stdint.h>

#include "connectors/connector.h"
#include "connectors/email/email.h"

struct email_send;
struct oauth;

/*
 * email_send_create - the reply side of `inst` (borrowed; outlives it):
 * resolves the smtp block and starts the sender, or, without a block, sets
 * inst->replies_off. `attach_dir` (copied) is the instance's attachment
 * folder; <state_dir>/attachments, where `gatewayctl send --attach` stores
 * files, is looked in too. `oauth` (borrowed, outlives it; NULL: none) is
 * the instance's access-token cache: SMTP logs in with its tokens unless
 * the smtp block has its own password or bearer_token, and so does the
 * copy to the Sent folder. *out owns the result. Returns GW_OK,
 * GW_ECONFIG (a URL that cannot be resolved), GW_ENOMEM, sender_create's
 * codes.
 */
int email_send_create(struct connector_instance *inst, const char *attach_dir,
		      struct oauth *oauth, struct email_send **out);

/* email_send_destroy - stops the sender (replies in flight are handed
 * over again by the router) and frees; accepts NULL. */
void email_send_destroy(struct email_send *es);

/*
 * email_send_deliver - the deliver op (connector.h): builds the reply's
 * message and hands it to the sender. A reply that cannot be built (a
 * missing attachment, too large, no usable address) is reported failed
 * with the reason; so is every reply while the token endpoint refuses the
 * refresh token and no access token is valid. Returns GW_OK; GW_EFULL or
 * GW_EAGAIN (busy, out of memory, no access token yet: not reported,
 * handed over again); GW_EPROTO and proto_decode's codes for an event
 * that does not decode (reported failed).
 */
int email_send_deliver(struct email_send *es, const void *event, size_t len,
		       uint64_t delivery_id);

/* email_send_poll - reports the replies the sender finished; cheap, call
 * it every tick. Accepts NULL. */
void email_send_poll(struct email_send *es);

#endif

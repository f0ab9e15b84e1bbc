/*
 * sms_reply.h - the SMS channel's replies: each message.sent the router
 * hands over (the type's deliver op) is checked on the loop, then sent
 * through Twilio's Messages resource (sms_rest.h) by the shared sender
 * (connectors/sender.h), off the event loop, retried while Twilio is
 * unavailable, and reported "sent" with Twilio's sid.
 *
 * Failed at once, without a request (sender_fail_now), with the reason:
 *   - the customer opted out (STOP, no START since): "the customer opted
 *     out of SMS (STOP)"
 *   - no number of this instance ever received a message from the
 *     customer: nothing to send From
 *   - a template, an attachment that is not an https URL, nothing to send
 *
 * Threading: every function here belongs to the connector's thread (the
 * one that runs httpd); the sender's worker only runs the job's ops.
 */
#ifndef GW_SMS_REPLY_H
#define GW_SMS_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "connectors/connector.h"
#include "connectors/sms/sms_config.h"

struct sms_contacts;
struct sms_replies;

#define SMS_OPTED_OUT_REASON "the customer opted out of SMS (STOP)"

struct sms_replies_options {
	struct connector_instance *inst; /* borrowed, outlives it: outbox, log
					  * module, state_dir; its `sender` is set */
	const struct sms_settings *set;  /* borrowed, outlives it */
	const char *account;             /* borrowed: the ref_account of replies */
	struct sms_contacts *contacts;   /* borrowed, outlives it: opt-outs and
					  * the numbers replies go out from */
	void (*wake)(void *arg);         /* replies finished: poll soon (any thread) */
	void *wake_arg;
};

/*
 * sms_replies_create - opens the journal (<state_dir>/sent/<instance>) and
 * starts the sender, set as opt->inst->sender for the status file. *out
 * owns it. Returns GW_OK, GW_ENOMEM, GW_EINVAL (a path or URL too long),
 * and sender_create's codes.
 */
int sms_replies_create(const struct sms_replies_options *opt, struct sms_replies **out);

/* sms_replies_destroy - stops the sender (replies in flight stay pending in
 * the router, which hands them over again) and frees; accepts NULL. */
void sms_replies_destroy(struct sms_replies *r);

/*
 * sms_replies_deliver - the deliver op: takes delivery `delivery_id` of the
 * encoded message.sent `event` (`len` bytes, borrowed for the call).
 * Returns GW_OK (taken, or reported failed), GW_EFULL or GW_EAGAIN (busy,
 * or the customers' table cannot be read: the router hands it over
 * again), GW_EPROTO/GW_EINVAL (not a reply the channel can send: the
 * outbox reports it failed).
 */
int sms_replies_deliver(struct sms_replies *r, const void *event, size_t len,
			uint64_t delivery_id);

/* sms_replies_poll - reports the replies the sender finished; never blocks.
 * Call when woken and at least every 100 ms. Accepts NULL. */
void sms_replies_poll(struct sms_replies *r);

#endif

/*
 * api_reply.h - the API channel's replies: each message.sent the router
 * hands over (the type's deliver op) is POSTed as signed JSON to the
 * instance's callback_url (api_callback.h) by the shared sender
 * (connectors/sender.h), off the event loop, retried while the receiver is
 * down, and reported "sent" once it answered 2xx.
 *
 * Without a callback_url there is no sender: every reply is reported
 * failed at once, "API connector <name> has no callback_url".
 *
 * Threading: every function here belongs to the connector's thread (the
 * one that runs httpd); the sender's worker only runs the job's ops.
 */
#ifndef GW_CONNECTOR_API_REPLY_H
#define GW_CONNECTOR_API_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "connectors/api/api.h"

struct api_replies;

struct api_replies_options {
	struct connector_instance *inst; /* borrowed, outlives it: outbox, log
					  * module, state_dir; its `sender` is set */
	const struct api_settings *set;  /* borrowed, outlives it */
	const char *account;             /* borrowed: the ref_account of replies */
	void (*wake)(void *arg);         /* replies finished: poll soon (any thread) */
	void *wake_arg;
};

/*
 * api_replies_create - the replies of one instance; with a callback_url,
 * opens its journal (<state_dir>/sent/<instance>) and starts the sender,
 * set as opt->inst->sender for the status file. *out owns it. Returns
 * GW_OK, GW_ENOMEM, GW_EINVAL (a path too long), and sender_create's codes.
 */
int api_replies_create(const struct api_replies_options *opt, struct api_replies **out);

/*
 * api_replies_destroy - stops the sender (replies in flight stay pending in
 * the router, which hands them over again) and frees; accepts NULL.
 */
void api_replies_destroy(struct api_replies *r);

/*
 * api_replies_deliver - the deliver op: takes delivery `delivery_id` of
 * the encoded message.sent `event` (`len` bytes, borrowed for the call).
 * Returns GW_OK (taken, or reported failed), GW_EFULL or GW_EAGAIN (busy:
 * the router hands it over again), GW_EPROTO/GW_EINVAL (not a reply the
 * channel can send: the outbox reports it failed).
 */
int api_replies_deliver(struct api_replies *r, const void *event, size_t len,
			uint64_t delivery_id);

/* api_replies_poll - reports the replies the sender finished; never blocks.
 * Call when woken and at least every 100 ms. Accepts NULL. */
void api_replies_poll(struct api_replies *r);

#endif

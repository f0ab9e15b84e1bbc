/*
 * tg_reply.h - the Telegram channel's replies (docs/channels/telegram.md,
 * "Replies"): each message.sent the router hands over (the type's deliver
 * op) is sent by the shared sender (connectors/sender.h), off the loop:
 *
 *   attachments  sendPhoto (an image) or sendDocument (anything else), one
 *                message each: a stored blob ("sha256:<hex>") uploaded as
 *                multipart/form-data, an http(s) URL passed for Telegram to
 *                fetch; the text rides as the first one's caption when it
 *                fits (1024 bytes)
 *   text         sendMessage, when it is not a caption
 * The chat is the one of the message answered (the last reply_to entry,
 * "<chat id>:<message id>"), else the customer's address (a private chat's
 * id is the user's id); the first message quotes the answered one
 * (reply_parameters, sent without the quote if it was deleted). A template
 * has no meaning on Telegram: its text is sent.
 *
 * Telegram's answers: 200 with ok -> sent, the message_id reported as
 * the reply's reference "<chat id>:<message id>" in the bot's account, so
 * that a customer's reply to it threads back; 429 -> again after
 * parameters.retry_after, every reply held (slow_down); 5xx, network ->
 * again with backoff; 401 -> failed, the token is refused; 403 (the user
 * blocked the bot), 400 and other 4xx -> failed with Telegram's
 * description.
 *
 * Threading: every function here belongs to the connector's thread; the
 * sender's worker runs the job's ops.
 */
#ifndef GW_TG_REPLY_H
#define GW_TG_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "connectors/connector.h"
#include "connectors/sender.h"
#include "connectors/telegram/telegram_config.h"

#define TG_CAPTION_MAX 1024 /* bytes of text sent as a caption at most */
#define TG_CHAT_ID_MAX 24

struct tg_replies;

struct tg_replies_options {
	struct connector_instance *inst; /* borrowed, outlives it: outbox, log
					  * module, state_dir; its `sender` is set */
	const struct telegram_settings *set; /* borrowed, outlives it */
	const char *account;             /* borrowed: ref_account of replies */
	void (*wake)(void *arg);         /* replies finished: poll soon (any thread) */
	void *wake_arg;
};

/*
 * tg_replies_create - opens the journal (<state_dir>/sent/<instance>) and
 * starts the sender, set as opt->inst->sender. *out owns it. Returns GW_OK,
 * GW_ENOMEM, GW_EINVAL (a path too long), and sender_create's codes.
 */
int tg_replies_create(const struct tg_replies_options *opt, struct tg_replies **out);

/* tg_replies_destroy - stops the sender and frees; accepts NULL. */
void tg_replies_destroy(struct tg_replies *r);

/*
 * tg_replies_deliver - the deliver op for delivery `delivery_id` of the
 * encoded message.sent `event` (`len` bytes, borrowed). Returns GW_OK
 * (taken, or reported failed: an attachment that cannot be sent),
 * GW_EFULL or GW_EAGAIN (busy: handed over again), GW_EPROTO/GW_EINVAL
 * (not a reply: the outbox reports it failed).
 */
int tg_replies_deliver(struct tg_replies *r, const void *event, size_t len,
		       uint64_t delivery_id);

/* tg_replies_poll - reports what the sender finished; never blocks. Call
 * when woken and at least every 100 ms. Accepts NULL. */
void tg_replies_poll(struct tg_replies *r);

/*
 * tg_reply_target - where reply `m` goes: the chat id into `chat`, and the
 * message it answers into *reply_to (0: none). The last reply_to entry
 * "<chat id>:<message id>" names both; otherwise the chat is to.address,
 * which must be an integer. GW_OK or GW_EINVAL (no usable chat).
 */
int tg_reply_target(const struct proto_message *m, char chat[TG_CHAT_ID_MAX],
		    int64_t *reply_to);

/*
 * tg_reply_judge - what one attempt's answer means (pure; unit-tested):
 * `last` says whether it was the reply's last message, `account` the
 * ref_account of a DONE. A DONE or NEXT of the step whose message is the
 * reply's reference has its "<chat id>:<message id>" in out->ref_id.
 */
void tg_reply_judge(const struct sender_attempt *a, int last, const char *account,
		    struct sender_outcome *out);

#endif

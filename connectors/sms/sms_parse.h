/*
 * sms_parse.h - one Twilio webhook (its decoded form, sms_form.h) into an
 * event (docs/channels/sms.md, "What each webhook becomes"):
 *
 *   incoming message   MessageSid, From, To, Body, NumMedia, MediaUrlN,
 *                      MediaContentTypeN, ...   -> message.received
 *   status callback    MessageSid, MessageStatus, ErrorCode, To, ...
 *                      -> message.status of the reply Twilio names by its
 *                      sid (sent, delivered, read, failed); queued,
 *                      accepted, scheduled, sending and statuses this
 *                      gateway does not know make no event
 *
 * An incoming message whose whole body is an opt-out keyword (STOP,
 * STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) or an opt-in one (START, YES,
 * UNSTOP), in any case, blanks around it ignored, is marked: its keyword
 * in the result and `kind` opt_out / opt_in. Twilio's Advanced Opt-Out
 * says the same in OptOutType (STOP, START), which wins when present.
 *
 * Identifiers over their proto limit are refused (a cut id names another
 * object); a media URL over PROTO_MAX_REF is dropped with a warning on the
 * message. Error messages name the parameter, never its content.
 *
 * No I/O; any thread.
 */
#ifndef GW_SMS_PARSE_H
#define GW_SMS_PARSE_H

#include <stdint.h>

#include "connectors/sms/sms_form.h"
#include "proto/proto.h"

#define SMS_STATUS_MAX 32 /* longest MessageStatus kept */

struct sms_parse_meta {
	const char *channel;     /* "sms" */
	const char *account;     /* `account` of the events */
	const char *account_sid; /* the instance's; a webhook naming another is
				  * refused. NULL: not checked */
	int64_t received_at;     /* ms: received_at and status_at */
};

enum sms_webhook {
	SMS_WH_MESSAGE = 0, /* an incoming message: ev is a message.received */
	SMS_WH_STATUS,      /* a status callback: ev is a message.status */
	SMS_WH_IGNORED,     /* a status callback that makes no event */
};

enum sms_keyword { SMS_KW_NONE = 0, SMS_KW_STOP, SMS_KW_START };

struct sms_parsed {
	enum sms_webhook what;
	struct proto_event ev;        /* SMS_WH_MESSAGE, SMS_WH_STATUS: owned */
	enum sms_keyword keyword;     /* SMS_WH_MESSAGE: STOP or START */
	const char *from;             /* SMS_WH_MESSAGE: the customer (borrowed
				       * from the form) */
	const char *to;               /* SMS_WH_MESSAGE: our number (borrowed) */
	char status[SMS_STATUS_MAX + 1]; /* status callbacks: Twilio's word */
};

struct sms_parse_error {
	int code;          /* the gw_err returned */
	char message[256]; /* names the parameter, no content */
};

/*
 * sms_parse - the webhook of form `f` (borrowed; out->from and out->to
 * point into it) into *out, which the caller clears with
 * sms_parsed_clear(). `status_path`: the request came to the status
 * callback path, where only a status callback is taken; on the message
 * path a form with a MessageStatus other than received is read as a status
 * callback too. Returns GW_OK, GW_EMISSING (a required parameter absent or
 * empty), GW_EPROTO (malformed, or a parameter that is not UTF-8),
 * GW_ETOOBIG (an id over its limit),
 * GW_EAUTH (another account's AccountSid), GW_ENOMEM, GW_EIO (no
 * randomness for the event id); err says which parameter.
 */
int sms_parse(const struct sms_form *f, const struct sms_parse_meta *m, int status_path,
	      struct sms_parsed *out, struct sms_parse_error *err);

/* sms_parsed_clear - frees the event; accepts a zeroed or failed result. */
void sms_parsed_clear(struct sms_parsed *p);

/* sms_keyword - the opt-out/opt-in keyword `body` is (see above), or
 * SMS_KW_NONE. NULL is none. */
enum sms_keyword sms_keyword(const char *body);

/* sms_error_title - the short text of Twilio error `code` for the codes a
 * message or a reply meets most (docs/channels/sms.md), or NULL. */
const char *sms_error_title(long code);

#endif

/*
 * sms_rest.h - Twilio's Messages resource as the SMS channel uses it to
 * send a reply (docs/channels/sms.md, "Replies"):
 *
 *   POST {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json
 *   basic auth AccountSid:auth_token, application/x-www-form-urlencoded:
 *     To=<customer>&From=<our number>&Body=<text>[&MediaUrl=<url>...]
 *     [&StatusCallback=<public_url + status_path>]
 *
 * and its answers:
 *
 *   201 {"sid": "SM...", "status": "queued", "num_segments": "2", ...}
 *       taken: DONE, the sid reported as the reply's provider id
 *   429, 5xx, a transport failure, Twilio errors 20429, 14107, 30001
 *       transient: RETRY (429 also slows every reply down)
 *   401, 403, error 20003
 *       the credentials are refused: FAIL, auth
 *   any other 4xx {"code": 21610, "message": "...", "more_info": ...,
 *       "status": 400}: FAIL with "Twilio error <code>: <message>"; 21610
 *       (the number replied STOP to Twilio) also marks the customer opted
 *       out (sms_reply.c)
 *
 * No I/O; the judge runs on the sender's worker, the rest anywhere.
 */
#ifndef GW_SMS_REST_H
#define GW_SMS_REST_H

#include <stddef.h>

#include "connectors/sender.h"

#define SMS_REST_PATH "/2010-04-01/Accounts/%s/Messages.json"

/* One reply. Strings borrowed for the call. */
struct sms_rest_msg {
	const char *to;              /* the customer, E.164 */
	const char *from;            /* our number the customer wrote to */
	const char *body;            /* the text, may be "" with media */
	const char *const *media;    /* https URLs Twilio fetches */
	size_t n_media;
	const char *status_callback; /* NULL: none asked */
};

/*
 * sms_rest_url - the Messages.json URL of account `sid` under `base`
 * (without a trailing '/') into `out`. Returns GW_OK, GW_ETOOBIG.
 */
int sms_rest_url(const char *base, const char *sid, char *out, size_t outlen);

/*
 * sms_rest_body - the form of `m`, every value percent-encoded, into *out
 * (malloc'ed, NUL-terminated; the caller frees) and *len. Returns GW_OK,
 * GW_ENOMEM.
 */
int sms_rest_body(const struct sms_rest_msg *m, char **out, size_t *len);

/* Twilio's error for a number that replied STOP: it takes nothing for it. */
#define SMS_REST_UNSUBSCRIBED 21610

/* What an answer said besides the verdict. */
struct sms_rest_answer {
	unsigned segments; /* taken: the segments Twilio bills, 0 when unsaid */
	long error_code;   /* refused: Twilio's error code, 0 when none */
};

/*
 * sms_rest_judge - the answer of one attempt (above) into `out`; a taken
 * reply's provider id is (`account`, its sid); *ans gets the segments
 * Twilio counted or its error code. Never fails.
 */
void sms_rest_judge(const struct sender_attempt *a, const char *account,
		    struct sender_outcome *out, struct sms_rest_answer *ans);

#endif

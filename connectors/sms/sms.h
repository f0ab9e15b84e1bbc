/*
 * sms.h - the SMS channel on Twilio's wire format (docs/channels/sms.md):
 * incoming messages and status callbacks POSTed by Twilio to the shared
 * HTTP server, replies through Twilio's Messages resource, STOP/START.
 */
#ifndef GW_CONNECTOR_SMS_H
#define GW_CONNECTOR_SMS_H

#include "connectors/connector.h"
#include "connectors/sms/sms_config.h"

extern const struct connector_type connector_sms;

/* The type's own counters (connector_instance.counters), shown by
 * `gatewayctl status` as sms.<name>; touched on the connector's thread
 * only. */
enum sms_counter {
	SMS_C_MESSAGES,      /* incoming messages queued (STOP/START included) */
	SMS_C_STATUSES,      /* status callbacks that made a message.status */
	SMS_C_OPT_OUTS,      /* numbers that opted out (STOP) */
	SMS_C_OPT_INS,       /* numbers that opted back in (START) */
	SMS_C_REFUSED,       /* webhooks refused 403: signature or AccountSid */
	SMS_C_STOPPED,       /* replies failed at once: the number opted out */
	SMS_C_MEDIA_STORED,  /* MMS files downloaded and stored */
	SMS_C_MEDIA_FAILED,  /* MMS files left with their URL */
	SMS_C_SEGMENTS,      /* segments of the replies Twilio took (it bills each) */
	SMS_C__COUNT
};
_Static_assert(SMS_C__COUNT <= CONNECTOR_COUNTERS_MAX, "the SMS counters fit the instance's");

#endif

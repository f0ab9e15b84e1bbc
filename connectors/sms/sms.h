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

#endif

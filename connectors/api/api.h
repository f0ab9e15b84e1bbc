/*
 * api.h - the API channel: POST /v1/messages for custom sources, replies
 * POSTed to the client's callback_url, their statuses reported back with
 * POST /v1/messages/{id}/status. See docs/channels/api.md for the HTTP
 * contract.
 */
#ifndef GW_CONNECTOR_API_H
#define GW_CONNECTOR_API_H

#include "connectors/api/api_config.h"
#include "connectors/connector.h"
#include "connectors/sender.h"

extern const struct connector_type connector_api;

#endif

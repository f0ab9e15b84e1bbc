/*
 * api.h - the API channel: POST /v1/messages for custom sources.
 * See docs/channels/api.md for the HTTP contract.
 */
#ifndef GW_CONNECTOR_API_H
#define GW_CONNECTOR_API_H

#include "connectors/api/api_config.h"
#include "connectors/connector.h"

extern const struct connector_type connector_api;

#endif

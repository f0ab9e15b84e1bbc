/*
 * livechat.h - the live-chat channel: a websocket server ("gateway-chat" at
 * /chat) for the browser widget served from the same port
 * (docs/channels/livechat.md).
 */
#ifndef GW_CONNECTOR_LIVECHAT_H
#define GW_CONNECTOR_LIVECHAT_H

#include "connectors/connector.h"
#include "connectors/livechat/livechat_config.h"

extern const struct connector_type connector_livechat;

#endif

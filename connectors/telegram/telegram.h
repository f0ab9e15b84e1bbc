/*
 * telegram.h - the Telegram channel: one bot per instance, its updates by
 * long polling or by webhook, replies through the Bot API
 * (docs/channels/telegram.md).
 */
#ifndef GW_CONNECTOR_TELEGRAM_H
#define GW_CONNECTOR_TELEGRAM_H

#include "connectors/connector.h"
#include "connectors/telegram/telegram_config.h"

extern const struct connector_type connector_telegram;

#endif

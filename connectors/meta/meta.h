/*
 * meta.h - the Meta channel: one webhook endpoint for one Meta app, which
 * receives WhatsApp Cloud API, Messenger and Instagram events of every
 * phone number, page and account subscribed to that app
 * (docs/channels/whatsapp.md, messenger.md, instagram.md).
 */
#ifndef GW_CONNECTOR_META_H
#define GW_CONNECTOR_META_H

#include "connectors/connector.h"
#include "connectors/meta/meta_config.h"
#include "connectors/sender.h"

extern const struct connector_type connector_meta;

#endif

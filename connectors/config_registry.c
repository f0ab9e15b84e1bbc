/*
 * config_registry.c - the light registry: every connector type's config
 * table and check (connectors/<name>/<name>_config.c), as config.h asks
 * for them. It knows nothing of the types' ops, so a process that only
 * reads the config (gatewayd, gateway-router, gatewayctl) links none of
 * the channels' libraries. The list comes from connectors/channels.def.
 */
#include "core/config.h"

#include <string.h>

#define GW_CHANNEL(name) extern const struct gw_connector_conf_type name##_conf_type;
#include "connectors/channels.def"
#undef GW_CHANNEL

const struct gw_connector_conf_type *const gw_connector_conf_types[] = {
#define GW_CHANNEL(name) &name##_conf_type,
#include "connectors/channels.def"
#undef GW_CHANNEL
	NULL,
};

const struct gw_connector_conf_type *gw_connector_conf_find(const char *type)
{
	for (size_t i = 0; type && gw_connector_conf_types[i]; i++)
		if (strcmp(gw_connector_conf_types[i]->name, type) == 0)
			return gw_connector_conf_types[i];
	return NULL;
}

const struct conf_section *gw_connector_section(const char *type)
{
	const struct gw_connector_conf_type *t = gw_connector_conf_find(type);

	return t ? t->section : NULL;
}

/*
 * registry.c - every connector type the gateway runs, as one const array
 * generated from connectors/channels.def. Linked by gateway-connector
 * only: each type brings its channel's libraries. Their config tables are
 * in the light registry (config_registry.c).
 */
#include "connectors/connector.h"

#include <string.h>

#define GW_CHANNEL(name) extern const struct connector_type connector_##name;
#include "connectors/channels.def"
#undef GW_CHANNEL

const struct connector_type *const connector_types[] = {
#define GW_CHANNEL(name) &connector_##name,
#include "connectors/channels.def"
#undef GW_CHANNEL
	NULL,
};

const struct connector_type *connector_type_find(const char *name)
{
	for (size_t i = 0; name && connector_types[i]; i++)
		if (strcmp(connector_types[i]->name, name) == 0)
			return connector_types[i];
	return NULL;
}

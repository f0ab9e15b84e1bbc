/*
 * registry.c - every connector type the gateway knows, as one const array.
 * A new channel adds its folder under connectors/ and one line here.
 */
#include "connectors/connector.h"

#include <string.h>

#include "connectors/api/api.h"
#include "connectors/livechat/livechat.h"
#include "connectors/email/email.h"
#include "connectors/meta/meta.h"

const struct connector_type *const connector_types[] = {
	&connector_api,
	&connector_meta,
	&connector_livechat,
	&connector_email,
	NULL,
};

const struct connector_type *connector_type_find(const char *name)
{
	for (size_t i = 0; name && connector_types[i]; i++)
		if (strcmp(connector_types[i]->name, name) == 0)
			return connector_types[i];
	return NULL;
}

const struct conf_section *gw_connector_section(const char *type)
{
	const struct connector_type *t = connector_type_find(type);

	return t ? t->config : NULL;
}

/*
 * routing_defaults.h - the routing section's defaults for unit tests,
 * without language models: languages are given, not detected, in these
 * tests (texts such as "hello" must not depend on detection).
 */
#ifndef GW_TEST_ROUTING_DEFAULTS_H
#define GW_TEST_ROUTING_DEFAULTS_H

#include <stdlib.h>

#include "core/config.h"
#include "core/err.h"

/* routing_defaults_no_lang - gw_config_routing_defaults(), then the
 * language list emptied. *cfg is the caller's (gw_config_routing_free). */
static inline int routing_defaults_no_lang(struct gw_config_routing *cfg, char *err,
					   size_t errlen)
{
	int rc = gw_config_routing_defaults(cfg, err, errlen);

	if (rc != GW_OK)
		return rc;
	for (size_t i = 0; i < cfg->languages.n; i++)
		free(cfg->languages.v[i]);
	free(cfg->languages.v);
	cfg->languages.v = NULL;
	cfg->languages.n = 0;
	return GW_OK;
}

#endif

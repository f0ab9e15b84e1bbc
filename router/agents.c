/*
 * agents.c - the helpdesk's commands on agents and assignment.
 */
#include "router/router.h"

#include <stdio.h>

#include "gateway/err.h"

#define HELPDESK_TODO(fn)                                                              \
	int fn(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,   \
	       char *err, size_t errlen)                                               \
	{                                                                              \
		(void)r;                                                               \
		(void)args;                                                            \
		(void)len;                                                             \
		(void)out;                                                             \
		snprintf(err, errlen, "%s: not available", #fn);                       \
		return GW_EINVAL;                                                      \
	}
HELPDESK_TODO(helpdesk_ticket_assign)
HELPDESK_TODO(helpdesk_agent_presence)

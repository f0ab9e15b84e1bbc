/*
 * sender_open.c - a connector instance's sender (sender.h, sender_open):
 * where its journal lives and what it reports to, the same for every
 * channel.
 */
#include "connectors/sender.h"

#include <stdio.h>
#include <string.h>

#include "connectors/connector.h"
#include "core/err.h"

int sender_open(struct connector_instance *inst, const struct sender_settings *set,
		void (*wake)(void *arg), void *wake_arg, struct sender **out)
{
	char journal[4096];
	struct sender_options so;
	int n = snprintf(journal, sizeof(journal), "%s/sent/%s", inst->config->state_dir,
			 inst->conf->name);

	*out = NULL;
	if (n < 0 || (size_t)n >= sizeof(journal))
		return GW_EINVAL;
	memset(&so, 0, sizeof(so));
	so.set = *set;
	so.outbox = inst->outbox;
	so.journal_dir = journal;
	so.log_module = inst->log_module;
	so.wake = wake;
	so.wake_arg = wake_arg;
	return sender_create(&so, out);
}

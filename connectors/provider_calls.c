/*
 * provider_calls.c - the per-process histograms of the calls to the
 * provider on the way in (see provider_calls.h).
 */
#include "connectors/provider_calls.h"

#include <pthread.h>

#include "connectors/sender.h"
#include "core/histo.h"

/* The reply histogram's bounds: one scale for both directions. */
static const double call_le[] = SENDER_LATENCY_LE;

static const char *const call_names[PROVIDER_CALL_KINDS] = {
	[PROVIDER_CALL_IMAP_FETCH] = "imap_fetch",
	[PROVIDER_CALL_TELEGRAM_GET_UPDATES] = "telegram_get_updates",
	[PROVIDER_CALL_MEDIA_DOWNLOAD] = "media_download",
};

static pthread_mutex_t calls_mu = PTHREAD_MUTEX_INITIALIZER;
static struct gw_histo calls[PROVIDER_CALL_KINDS]; /* under calls_mu; le NULL: unused */

void provider_call_observe(enum provider_call kind, double seconds)
{
	if ((unsigned)kind >= PROVIDER_CALL_KINDS)
		return;
	pthread_mutex_lock(&calls_mu);
	if (!calls[kind].le)
		gw_histo_init(&calls[kind], call_le, sizeof(call_le) / sizeof(call_le[0]));
	gw_histo_observe(&calls[kind], seconds);
	pthread_mutex_unlock(&calls_mu);
}

json_t *provider_calls_json(void)
{
	json_t *doc = json_object();
	int bad = !doc;

	pthread_mutex_lock(&calls_mu);
	for (int i = 0; !bad && i < PROVIDER_CALL_KINDS; i++)
		if (calls[i].le)
			bad = json_object_set_new(doc, call_names[i], gw_histo_json(&calls[i])) != 0;
	pthread_mutex_unlock(&calls_mu);
	if (bad) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/*
 * provider_calls.h - the time of the calls a connector makes TO its provider
 * on the way in (a media download, an IMAP fetch, a Telegram getUpdates
 * that returned something), one histogram per call kind, per process
 * (gateway-connector runs one instance). runtime_status.c writes them into
 * the status file ("histograms"."provider_call_seconds"), gateway-metrics
 * turns them into omnigate_connector_provider_call_duration_seconds.
 *
 * Threading: any thread may observe or read; a process-wide mutex
 * serializes both (like the reply sender's histogram under its mutex).
 */
#ifndef GW_PROVIDER_CALLS_H
#define GW_PROVIDER_CALLS_H

#include <jansson.h>

/* The kinds of call; each is the "call" label of the metric. */
enum provider_call {
	PROVIDER_CALL_IMAP_FETCH,          /* "imap_fetch": one IMAP fetch command */
	PROVIDER_CALL_TELEGRAM_GET_UPDATES, /* "telegram_get_updates": not the empty
					     * long polls that waited out */
	PROVIDER_CALL_MEDIA_DOWNLOAD,      /* "media_download": one file download */
	PROVIDER_CALL_KINDS
};

/* provider_call_observe - counts one call of `kind` that took `seconds`
 * (buckets SENDER_LATENCY_LE, the reply histogram's). A kind out of range
 * is ignored. Any thread. */
void provider_call_observe(enum provider_call kind, double seconds);

/*
 * provider_calls_json - {"<call>": histogram as gw_histo_json, ...} for the
 * kinds observed at least once (an empty object when none). New reference;
 * NULL when out of memory. Any thread.
 */
json_t *provider_calls_json(void);

#endif

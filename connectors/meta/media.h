/*
 * media.h - the Meta side of the shared downloader (connectors/download.h):
 * with media_download on, the files of WhatsApp, Messenger and Instagram
 * messages are fetched while their webhook is being answered, so that the
 * events name bytes the gateway keeps instead of what Meta forgets: a
 * WhatsApp media id (deleted after 30 days, its download URL valid for 5
 * minutes) or a Messenger/Instagram CDN URL (signed, valid for days).
 *
 * What is Meta's here is where the bytes are:
 *   WhatsApp   an attachment whose ref is "whatsapp-media:<id>":
 *              GET {graph_url}/{id} with "Authorization: Bearer
 *              <access_token>" -> {"url", "mime_type", "sha256",
 *              "file_size", "id"}, then GET url with the same header (the
 *              bytes must match the sha256);
 *   Messenger, Instagram
 *              an attachment of kind image, video, audio or file whose ref
 *              is its payload.url: GET that URL as it is, without a token
 *              (the CDN's URL is signed; a token is never sent to it).
 * Everything else is the downloader's: the worker off the loop, the time
 * budget per webhook (MEDIA_BUDGET_MS, well within the ~20 s Meta waits for
 * an answer), media_max_bytes, the content-addressed store (the ref becomes
 * "sha256:<hex>", its size the byte count, a generic type the download's),
 * and a failure that keeps the media id or the URL with its
 * download_error and one warning line; it never fails the webhook. The
 * media id or URL stays in the message's raw.
 *
 * The connector holds the webhook's answer (httpd_hold) while its events
 * are at the worker, queues them once they come back and answers once
 * they are durable: Meta gets nothing before.
 *
 * Threading: as download.h (media_create/destroy/submit/take_done/wanted
 * on the service thread; `notify` on the worker).
 */
#ifndef GW_META_MEDIA_H
#define GW_META_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "connectors/download.h"
#include "connectors/meta/meta_parse.h"

#define MEDIA_REF_PREFIX "whatsapp-media:"
#define MEDIA_BUDGET_MS 12000     /* per webhook, from its submission */

struct media;

struct media_options {
	const char *graph_url;    /* e.g. https://graph.facebook.com/v21.0; copied */
	const char *access_token; /* copied; never logged */
	const char *dir;          /* the attachment store, created if missing; copied */
	long long max_bytes;      /* larger media are not downloaded */
	const char *log_module;   /* copied */
	void (*notify)(void *arg); /* MAY be NULL: a job is done (worker thread) */
	void *arg;
};

/*
 * media_create - the downloader with Meta's source; *out owns it. Returns
 * GW_OK, GW_ENOMEM, GW_EIO (as dl_create).
 */
int media_create(const struct media_options *opt, struct media **out);

/* media_destroy - stops the worker (aborting a transfer), frees every job; accepts NULL. */
void media_destroy(struct media *m);

/* media_wanted - the attachments of `evs` to download (see above). */
size_t media_wanted(const struct media *m, const struct meta_events *evs);

/*
 * media_submit - queues the events of one webhook under `ticket`. On GW_OK
 * the job owns the events and *evs is left empty; on GW_EFULL (queue full)
 * or GW_ENOMEM *evs is unchanged and still the caller's.
 */
int media_submit(struct media *m, uint64_t ticket, struct meta_events *evs);

/*
 * media_take_done - moves one finished job into *ticket and *evs (the
 * caller owns the events afterwards). Returns 1 when it did, 0 when no job
 * is done.
 */
int media_take_done(struct media *m, uint64_t *ticket, struct meta_events *evs);

/* media_stats - files stored and failed so far (zeros for NULL). Any thread. */
void media_stats(const struct media *m, struct dl_stats *st);

#endif

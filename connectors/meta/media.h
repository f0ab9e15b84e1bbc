/*
 * media.h - downloads the media of WhatsApp messages (images, voice notes,
 * documents...) while their webhook is being answered, so that the events
 * name a local file instead of a media id that Meta forgets after 30 days
 * and whose download URL expires after 5 minutes.
 *
 * For every attachment whose ref is "whatsapp-media:<id>":
 *   GET {graph_url}/{id}  with "Authorization: Bearer <access_token>"
 *       -> {"url", "mime_type", "sha256", "file_size", "id"}
 *   GET url               with the same header, at most max_bytes
 * The bytes are stored as <dir>/<sha256 hex> (content-addressed: a file
 * already there is the same file), written to a temporary file, fsync'ed
 * and renamed, then the attachment's ref becomes "file:<path>" and its
 * size the byte count (its type the Graph mime_type when it had none).
 * The media id stays in the message's `raw`. A download that fails keeps
 * the "whatsapp-media:" ref and logs one warning: it never fails the
 * webhook.
 *
 * The downloads run on one worker thread so that the HTTP server keeps
 * serving meanwhile: the connector submits the events of a webhook with a
 * ticket (httpd_hold), the worker rewrites them, queues them as done and
 * calls `notify`; the service thread takes them back (media_take_done).
 * Each job has a time budget from its submission (MEDIA_BUDGET_MS, well
 * within the ~20 s Meta waits for an answer); an attachment not done in
 * time keeps its media id.
 *
 * Threading: media_create/destroy/submit/take_done on the service thread;
 * `notify` is called on the worker thread. media_fetch_all is blocking and
 * may be called from any one thread at a time when the worker is not used.
 */
#ifndef GW_META_MEDIA_H
#define GW_META_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "connectors/meta/meta_parse.h"

#define MEDIA_REF_PREFIX "whatsapp-media:"
#define MEDIA_BUDGET_MS 12000     /* per webhook, from its submission */
#define MEDIA_QUEUE_MAX 32        /* webhooks waiting for or in download */

struct media;

struct media_options {
	const char *graph_url;    /* e.g. https://graph.facebook.com/v21.0; copied */
	const char *access_token; /* copied; never logged */
	const char *dir;          /* where files go, created if missing; copied */
	long long max_bytes;      /* larger media are not downloaded */
	const char *log_module;   /* copied */
	void (*notify)(void *arg); /* MAY be NULL: a job is done (worker thread) */
	void *arg;
};

/*
 * media_create - creates the folder, sets up libcurl and starts the worker.
 * *out owns the downloader. Returns GW_OK, GW_ENOMEM, GW_EIO.
 */
int media_create(const struct media_options *opt, struct media **out);

/* media_destroy - stops the worker (aborting a transfer), frees every job; accepts NULL. */
void media_destroy(struct media *m);

/* media_wanted - the number of attachments in `evs` with a media id ref. */
size_t media_wanted(const struct meta_events *evs);

/*
 * media_submit - queues the events of one webhook under `ticket`. On GW_OK
 * the job owns the events and *evs is left empty; on GW_EFULL (queue full)
 * or GW_ENOMEM *evs is unchanged and still the caller's.
 */
int media_submit(struct media *m, uint64_t ticket, struct meta_events *evs);

/*
 * media_take_done - moves one finished job into *ticket and *evs (which
 * must be empty; the caller owns the events afterwards). Returns 1 when it
 * did, 0 when no job is done.
 */
int media_take_done(struct media *m, uint64_t *ticket, struct meta_events *evs);

/*
 * media_fetch_all - downloads the media of `evs` now, rewriting refs, until
 * `deadline_us` (gw_mono_us). Returns the number of attachments stored.
 */
size_t media_fetch_all(struct media *m, struct meta_events *evs, int64_t deadline_us);

#endif

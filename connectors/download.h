/*
 * download.h - the downloader every channel that keeps its providers' files
 * shares (WhatsApp media and Messenger/Instagram attachments in
 * connectors/meta/media.c, Telegram files in connectors/telegram/tg_files.c):
 * the bytes an event's attachment names at the provider are fetched before
 * the event is stored, into the content-addressed attachment store
 * (store/attachments.h), so that the event names bytes the gateway keeps
 * rather than a provider id or URL that expires.
 *
 * The channel says which attachments it wants and how to turn one into the
 * URL of its bytes (struct dl_source: a Graph media id, a getFile call, a
 * CDN URL as it is); the downloader does the rest, the same for every
 * channel:
 *   - off the loop: one worker thread takes jobs (the events of one webhook
 *     or one poll answer) from a bounded queue (DL_QUEUE_MAX), rewrites
 *     them, queues them as done and calls `notify`; the loop takes them
 *     back (dl_take_done) and stores them as usual, so nothing is
 *     acknowledged to the provider before the events (and the bytes) are
 *     durable;
 *   - bounded: each job has a time budget from its submission; each file
 *     at most max_bytes, announced (the provider's size, Content-Length)
 *     or as it streams; a transfer aborts at once when the downloader
 *     stops;
 *   - content-addressed: the bytes stream into a temporary file of the
 *     store while they are hashed, then become the blob of their SHA-256
 *     (attach_adopt: fsync'ed, renamed, the folder fsync'ed); the provider's
 *     digest, when it gave one, must match;
 *   - a stored attachment's ref becomes "sha256:<hex>", its size the byte
 *     count, and a type the provider left generic (empty, a wildcard subtype,
 *     "application/octet-stream") the type of the download;
 *   - a failure keeps the attachment's ref (the provider's id or URL) and
 *     says why in its `download_error` (docs/events.md), logs one warning
 *     line naming the attachment and the message (never the URL: it may
 *     hold a token or a signature) and never fails the job.
 *
 * Threading: dl_create/destroy/submit/take_done/wanted/stats on the owner
 * thread (the connector's loop); the source's callbacks and `notify` run on
 * the worker; dl_get_json and dl_why only inside `resolve`.
 */
#ifndef GW_DOWNLOAD_H
#define GW_DOWNLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "proto/proto.h"

#define DL_QUEUE_MAX 32   /* jobs waiting, in download or done, at most */
#define DL_URL_MAX 4096   /* longest URL of a file */
#define DL_WHY_MAX 160    /* longest failure reason, with its NUL */
#define DL_LABEL_MAX 160  /* longest name of an attachment in the log */

struct download;
struct dl_xfer; /* a transfer in progress on the worker (download.c) */

/* Where the bytes of one attachment are, as a source's resolve says. */
struct dl_target {
	char url[DL_URL_MAX];  /* http(s) URL of the bytes; may hold a secret */
	int auth;              /* 1: send the downloader's auth_header with it */
	char mime[PROTO_MAX_MEDIA_TYPE + 1]; /* the provider's media type, "" if none */
	char sha256[PROTO_MAX_SHA256 + 1];   /* the provider's digest (64 hex or the
					      * base64 of 32 bytes), "" if none */
	long long size;        /* the provider's announced size, -1 when unknown */
	char label[DL_LABEL_MAX]; /* names it in the log ("media 123"); preset to
				   * "attachment <n>", never a URL */
};

/* How one channel's attachments are found and resolved. */
struct dl_source {
	/*
	 * wants - 1 when attachment `a` of message `m` is to be downloaded
	 * (its ref names something at the provider), else 0. MUST be pure:
	 * called on the owner thread (dl_wanted) and on the worker.
	 */
	int (*wants)(void *arg, const struct proto_message *m, const struct proto_attachment *a);
	/*
	 * resolve - on the worker: fills *t (zeroed, size -1, label preset)
	 * for attachment `a` of message `m`. MAY call dl_get_json. Returns
	 * GW_OK, or a gw_err with the reason set (dl_why); the attachment is
	 * then left as it is.
	 */
	int (*resolve)(void *arg, struct dl_xfer *x, const struct proto_message *m,
		       const struct proto_attachment *a, struct dl_target *t);
	void *arg; /* borrowed; MUST stay valid and unchanged until dl_destroy */
};

struct dl_options {
	const char *dir;         /* the attachment store (created); copied */
	long long max_bytes;     /* larger files are not downloaded */
	const char *limit_key;   /* the config key of max_bytes, for reasons; copied */
	const char *provider;    /* "Meta", "Telegram": in reasons; copied */
	long long budget_ms;     /* per job, from its submission */
	const char *auth_header; /* MAY be NULL: "Authorization: Bearer ..." sent
				  * where a target asks; copied, never logged */
	const char *log_module;  /* copied */
	struct dl_source source;
	/* The channel's list of events a job carries: list_size bytes,
	 * copied in by dl_submit and back by dl_take_done; list_clear frees
	 * one the owner never took back (dl_destroy). */
	size_t list_size;
	void (*list_clear)(void *list);
	void (*notify)(void *arg); /* MAY be NULL: a job is done (worker thread) */
	void *arg;
};

struct dl_stats {
	uint64_t stored; /* files downloaded and stored */
	uint64_t failed; /* files left with their provider's ref */
};

/*
 * dl_create - creates the store folder, sets up libcurl and starts the
 * worker; *out owns the downloader. Returns GW_OK, GW_ENOMEM, GW_EINVAL
 * (list_size 0 or no wants/resolve), GW_EIO (folder, libcurl, thread).
 */
int dl_create(const struct dl_options *opt, struct download **out);

/* dl_destroy - stops the worker (aborting a transfer), frees every job
 * with list_clear; accepts NULL. */
void dl_destroy(struct download *d);

/* dl_wanted - the attachments of the `n` events at `ev` the source wants. */
size_t dl_wanted(const struct download *d, const struct proto_event *ev, size_t n);

/*
 * dl_submit - queues the channel's list `list` (list_size bytes, holding
 * the `n` events at `ev`) under `ticket`. On GW_OK the job owns the list
 * (copied) and the caller MUST NOT clear its own copy, only forget it
 * (e.g. zero it); on GW_EFULL (DL_QUEUE_MAX jobs) or GW_ENOMEM the list
 * is unchanged and still the caller's.
 */
int dl_submit(struct download *d, uint64_t ticket, const void *list, struct proto_event *ev,
	      size_t n);

/*
 * dl_take_done - moves one finished job into *ticket and `list` (list_size
 * bytes, overwritten; the caller owns the events afterwards). Returns 1
 * when it did, 0 when no job is done.
 */
int dl_take_done(struct download *d, uint64_t *ticket, void *list);

/* dl_stats - the counters; a NULL downloader gives zeros. Any thread. */
void dl_stats(const struct download *d, struct dl_stats *st);

/*
 * dl_get_json - inside resolve: GET `url` (sent with the auth header when
 * `auth`) on the worker's connection, within the job's budget, and parses
 * the answer (at most 64 KiB) into *out (the caller json_decref()s it).
 * `what` names the step in reasons ("metadata", "getFile"), never the URL.
 * Returns GW_OK with an object, or the reason set and GW_EIO (an HTTP
 * status other than 200), GW_EPROTO (not a JSON object), GW_EAGAIN (budget
 * spent), GW_ENOMEM, or libcurl's error as a gw_err.
 */
int dl_get_json(struct dl_xfer *x, const char *url, int auth, const char *what, json_t **out);

/*
 * dl_target_url - inside resolve: `url` (an http(s) URL the webhook gave,
 * fetched as it is) into t->url. Returns GW_OK, or GW_ETOOBIG with the
 * reason set when it does not fit.
 */
int dl_target_url(struct dl_xfer *x, struct dl_target *t, const char *url);

/* dl_is_url - 1 when `ref` is an http:// or https:// URL (a file a source
 * may fetch as it is), else 0; NULL is none. Any thread. */
int dl_is_url(const char *ref);

/* dl_why - inside resolve: sets the failure reason (printf-style). */
void dl_why(struct dl_xfer *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* dl_escape - inside resolve: `s` escaped for a URL into out; GW_OK,
 * GW_ETOOBIG (does not fit), GW_ENOMEM. */
int dl_escape(struct dl_xfer *x, const char *s, char *out, size_t outlen);

#endif

/*
 * tg_files.h - downloads the files of Telegram messages (file_download:
 * true) before their events are stored, so that the events name bytes in
 * the gateway's attachments folder rather than a file_id that only this
 * bot's token can fetch.
 *
 * For every attachment whose ref is "telegram-file:<file_id>":
 *   GET <api_url>/bot<token>/getFile?file_id=<file_id>
 *       -> {"ok":true,"result":{"file_id","file_size","file_path"}}
 *   GET <api_url>/file/bot<token>/<file_path>   at most max_bytes
 * The bytes are stored content-addressed (store/attachments.h) and the
 * ref becomes "sha256:<hex>", the size the byte count. A file over
 * max_bytes (announced or as it streams), or a download that fails, keeps
 * its "telegram-file:" ref and logs one line: it never holds the update
 * back. The file_id stays in the message's raw.
 *
 * Downloads run on one worker thread, so that the connector's loop keeps
 * serving: the connector submits the events of one update (webhook) or
 * one getUpdates answer (polling) with a ticket, the worker rewrites them,
 * queues them as done and calls `notify`; the loop takes them back. Each
 * job has a time budget from its submission.
 *
 * Threading: tg_files_create/destroy/submit/take_done/stats on the owner
 * thread; `notify` is called on the worker thread.
 */
#ifndef GW_TG_FILES_H
#define GW_TG_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "connectors/telegram/tg_parse.h"

#define TG_FILES_QUEUE_MAX 32  /* jobs waiting or in download */

struct tg_files;

struct tg_files_options {
	const char *api_url;       /* copied */
	const char *token;         /* copied; never logged */
	const char *dir;           /* the attachments folder (created); copied */
	long long max_bytes;       /* larger files are not downloaded */
	long long budget_ms;       /* per job, from its submission */
	const char *log_module;    /* copied */
	void (*notify)(void *arg); /* MAY be NULL: a job is done (worker thread) */
	void *arg;
};

struct tg_files_stats {
	uint64_t stored;  /* files downloaded and stored */
	uint64_t failed;  /* files left as telegram-file: refs */
};

/* tg_files_create - the folder, libcurl and the worker. *out owns it.
 * GW_OK, GW_ENOMEM, GW_EIO. */
int tg_files_create(const struct tg_files_options *opt, struct tg_files **out);

/* tg_files_destroy - stops the worker (aborting a transfer) and frees every
 * job; accepts NULL. */
void tg_files_destroy(struct tg_files *f);

/* tg_files_wanted - the attachments of `evs` with a telegram-file: ref. */
size_t tg_files_wanted(const struct tg_events *evs);

/*
 * tg_files_submit - queues the events of `evs` under `ticket`. On GW_OK the
 * job owns them and *evs is left empty; GW_EFULL (TG_FILES_QUEUE_MAX jobs)
 * or GW_ENOMEM leave *evs the caller's, unchanged.
 */
int tg_files_submit(struct tg_files *f, uint64_t ticket, struct tg_events *evs);

/*
 * tg_files_take_done - moves one finished job into *ticket and *evs (empty
 * before; the caller's after). 1 when it did, 0 when none is done.
 */
int tg_files_take_done(struct tg_files *f, uint64_t *ticket, struct tg_events *evs);

/* tg_files_stats - the counters. */
void tg_files_stats(struct tg_files *f, struct tg_files_stats *st);

#endif

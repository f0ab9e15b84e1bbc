/*
 * tg_files.h - the Telegram side of the shared downloader
 * (connectors/download.h): the files of Telegram messages (file_download:
 * true) are fetched before their events are stored, so that the events
 * name bytes in the gateway's attachments folder rather than a file_id
 * that only this bot's token can fetch.
 *
 * What is Telegram's here is how a file_id becomes a URL: for every
 * attachment whose ref is "telegram-file:<file_id>",
 *   GET <api_url>/bot<token>/getFile?file_id=<file_id>
 *       -> {"ok":true,"result":{"file_id","file_size","file_path"}}
 * and the bytes are at <api_url>/file/bot<token>/<file_path> (URLs that
 * hold the token: never logged). Everything else is the downloader's: the
 * worker off the loop, the time budget per job, max_bytes, the
 * content-addressed store (the ref becomes "sha256:<hex>"), and a failure
 * that keeps the "telegram-file:" ref with its download_error and one log
 * line; it never holds the update back. The file_id stays in raw.
 *
 * Threading: as download.h (tg_files_create/destroy/submit/take_done/
 * wanted on the owner thread; `notify` on the worker).
 */
#ifndef GW_TG_FILES_H
#define GW_TG_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "connectors/download.h"
#include "connectors/telegram/tg_parse.h"

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

/* tg_files_create - the downloader with Telegram's source. *out owns it.
 * GW_OK, GW_ENOMEM, GW_EIO (as dl_create). */
int tg_files_create(const struct tg_files_options *opt, struct tg_files **out);

/* tg_files_destroy - stops the worker, frees every job; accepts NULL. */
void tg_files_destroy(struct tg_files *f);

/* tg_files_wanted - the attachments of `evs` with a telegram-file: ref. */
size_t tg_files_wanted(const struct tg_files *f, const struct tg_events *evs);

/*
 * tg_files_submit - queues the events of `evs` under `ticket`. On GW_OK the
 * job owns them and *evs is left empty (max_update_id -1); GW_EFULL or
 * GW_ENOMEM leave *evs the caller's, unchanged (dl_submit).
 */
int tg_files_submit(struct tg_files *f, uint64_t ticket, struct tg_events *evs);

/* tg_files_take_done - one finished job into *ticket and *evs (the
 * caller's after). 1 when it did, 0 when none is done. */
int tg_files_take_done(struct tg_files *f, uint64_t *ticket, struct tg_events *evs);

/* tg_files_stats - the counters (zeros for NULL). */
void tg_files_stats(const struct tg_files *f, struct dl_stats *st);

#endif

/*
 * sms_media.h - the files of incoming MMS kept (docs/channels/sms.md,
 * "Media"): with `media_download` on, each MediaUrl<i> of a message is
 * fetched by the shared downloader (connectors/download.h) into the
 * attachment store before Twilio is answered, so the event names
 * "sha256:<hex>" bytes the gateway keeps instead of a Twilio URL that needs
 * the account's credentials and disappears when the media is deleted.
 *
 * The account's credentials (HTTP basic, AccountSid:auth_token) are sent
 * only to a URL under api_base, Twilio's own; a redirect to its storage
 * gets none (libcurl drops them on another host). A failure keeps the URL
 * and says why in the attachment's download_error.
 *
 * Threading: the connector's thread, except what download.h runs on its
 * worker.
 */
#ifndef GW_SMS_MEDIA_H
#define GW_SMS_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "connectors/download.h"
#include "connectors/sms/sms_parse.h"

#define SMS_MEDIA_BUDGET_MS 10000 /* per message: Twilio waits 15 s */

struct sms_media;

struct sms_media_options {
	const char *dir;         /* the attachment store; copied */
	const char *api_base;    /* credentials go under it only; copied */
	const char *account_sid; /* basic auth user */
	const char *auth_token;  /* basic auth password; never logged */
	long long max_bytes;     /* larger files keep their URL */
	const char *log_module;  /* copied */
	void (*notify)(void *arg); /* a message is done (worker thread) */
	void *arg;
};

/* sms_media_create - starts the downloader; *out owns it. Returns GW_OK,
 * GW_ENOMEM, GW_EINVAL (credentials too long), dl_create's codes. */
int sms_media_create(const struct sms_media_options *opt, struct sms_media **out);

/* sms_media_destroy - stops it, freeing messages not taken back; accepts
 * NULL. */
void sms_media_destroy(struct sms_media *m);

/* sms_media_wanted - how many files of message `p` are to be downloaded
 * (0 with a NULL downloader). */
size_t sms_media_wanted(const struct sms_media *m, const struct sms_parsed *p);

/*
 * sms_media_submit - hands message *p (its event owned; from/to are
 * forgotten) to the downloader under `ticket`. GW_OK: *p is zeroed, the
 * downloader owns it; GW_EFULL, GW_ENOMEM: *p is unchanged.
 */
int sms_media_submit(struct sms_media *m, uint64_t ticket, struct sms_parsed *p);

/* sms_media_take_done - one finished message into *ticket and *p (the
 * caller clears it); 1 when there was one, else 0. */
int sms_media_take_done(struct sms_media *m, uint64_t *ticket, struct sms_parsed *p);

/* sms_media_count - the files stored and failed so far; zeros for NULL. */
void sms_media_count(const struct sms_media *m, uint64_t *stored, uint64_t *failed);

#endif

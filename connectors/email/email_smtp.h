/*
 * email_smtp.h - one reply on its way: the sender's job (connectors/
 * sender.h) that submits the reply's MIME message over SMTP with libcurl
 * and, when a Sent folder is set, appends the same bytes there over IMAP.
 *
 *   step 0   SMTP submission: EHLO, STARTTLS (required when the TLS mode
 *            is starttls), AUTH (PLAIN or LOGIN with the password, XOAUTH2
 *            with a bearer token), MAIL FROM, RCPT TO, DATA (the message,
 *            uploaded by a read callback)
 *   step 1   IMAP APPEND to the Sent folder (only when set). A failure is
 *            logged and the reply counts as sent all the same: it was.
 *
 * How an attempt is judged (smtp_ops.classify):
 *   the end of DATA answered 2xx             DONE: "sent", with the reply's
 *                                            Message-ID as its reference
 *   535, 534, 530 or a refused login         FAIL with `auth`: the
 *                                            credentials (shown by status).
 *                                            With an OAuth token: the cache
 *                                            is told (oauth_refused) and the
 *                                            step is RETRIED until a newer
 *                                            token was tried; a newer token
 *                                            refused too is the FAIL
 *   another 4xx, a connection that fails or  RETRY, with the server's words
 *   times out, a transfer cut short
 *   another 5xx (550 unknown recipient,      FAIL, with the server's words
 *   552 too large, 554 refused)
 *   no STARTTLS offered, a certificate that  FAIL: a setting to fix, not
 *   cannot be verified                       something time cures
 *
 * The server's words are its last 4xx or 5xx reply line (libcurl hands SMTP
 * and IMAP reply lines to the header callback), cut to 200 bytes; secrets
 * never reach them (what the client sends is not a reply line).
 *
 * Threading: smtp_job_new on the owner thread; the ops run on the
 * sender's worker and read the job and its (read-only) smtp_conf only.
 */
#ifndef GW_EMAIL_SMTP_H
#define GW_EMAIL_SMTP_H

#include <stddef.h>

#include "connectors/email/email_reply.h"
#include "connectors/sender.h"

struct oauth;

#define SMTP_URL_MAX 1100

/* Where and how replies go, resolved once from the settings. Its strings
 * are borrowed from the settings (which outlive the sender). */
struct smtp_conf {
	char url[SMTP_URL_MAX];    /* smtp://host:port or smtps://host:port */
	long use_ssl;              /* CURLUSESSL_ALL (starttls) or CURLUSESSL_NONE */
	const char *username;
	const char *password;      /* NULL with a bearer token */
	const char *bearer;        /* XOAUTH2; NULL: the password */
	struct oauth *oauth;       /* the instance's access tokens (any thread);
				    * NULL: password or bearer */
	const char *login_options; /* "AUTH=XOAUTH2"... with oauth */
	const char *ca_file;       /* NULL: the system's CAs */
	const char *from;          /* the envelope sender, an address */
	/* The copy to the Sent folder: append_url "" when none. */
	char append_url[SMTP_URL_MAX]; /* imap[s]://host:port/<folder> */
	long append_ssl;
	const char *imap_username, *imap_password, *imap_ca_file;
	struct oauth *imap_oauth;  /* the Sent copy's login; NULL: imap_password */
	const char *log_module;    /* for the Sent copy's warning */
};

struct smtp_job;

/* The job's ops for sender_submit(). */
extern const struct sender_ops smtp_ops;

/*
 * smtp_job_new - a job sending `r` (its contents are moved into the job,
 * which owns them from now on, also on failure; `r` is zeroed) with the
 * settings `c` (borrowed; must outlive the job) for `delivery_id`.
 * Returns GW_OK or GW_ENOMEM.
 */
int smtp_job_new(const struct smtp_conf *c, struct email_reply *r, uint64_t delivery_id,
		 struct smtp_job **out);

#endif

/*
 * imap.h - the IMAP client of the email connector, on libcurl.
 *
 * One session reads one mailbox over one reused connection (one curl easy
 * handle driven by a multi handle, so that the caller's tick runs every
 * IMAP_TICK_MS while a command waits on the network):
 *
 *   imap_examine   EXAMINE the mailbox: UIDVALIDITY, UIDNEXT, EXISTS
 *   imap_search    UID SEARCH UID a:b (a bounded window)
 *   imap_info      UID FETCH set (RFC822.SIZE FLAGS)
 *   imap_fetch     the whole message of one UID (libcurl's ;UID= URL)
 *   imap_seen      UID STORE set +FLAGS.SILENT (\Seen)
 *   imap_move      UID MOVE set folder, or COPY + \Deleted + EXPUNGE
 *
 * Reading never changes the mailbox: libcurl fetches with BODY[], which
 * sets \Seen in a read-write session, so the mailbox is re-opened with
 * EXAMINE (read-only) before any fetch. When libcurl had to reconnect during
 * a fetch, its own SELECT made that one fetch read-write: the session
 * notices (CURLINFO_NUM_CONNECTS), clears the \Seen it set on a message
 * that was unseen before, and checks that UIDVALIDITY did not change.
 *
 * New mail: imap_idle_* keeps a second connection in IDLE (RFC 2177), which
 * libcurl does not implement. libcurl connects, negotiates TLS and logs in
 * (CURLOPT_CONNECT_ONLY); the few lines after that are written here by hand:
 *   g1 EXAMINE "mailbox"      -> wait for "g1 OK"
 *   g2 IDLE                   -> wait for "+"
 *   ... "* N EXISTS" (or RECENT) means new mail; the wait ends
 *   DONE                      -> wait for "g2 OK"; then IDLE again
 * An IDLE is ended and restarted every IMAP_IDLE_MAX_MS (servers drop an
 * IDLE after 30 minutes).
 *
 * Responses are read from libcurl's header callback, which gets every
 * response line; libcurl clips a line longer than half its buffer, so the
 * buffer is raised (IMAP_BUFFER_BYTES) and searches are windowed to fit.
 *
 * Threading: one thread owns a session.
 */
#ifndef GW_EMAIL_IMAP_H
#define GW_EMAIL_IMAP_H

#include <stddef.h>
#include <stdint.h>

#define IMAP_TICK_MS 20               /* the tick runs at least this often */
#define IMAP_IDLE_MAX_MS (25 * 60000) /* re-IDLE before servers give up (30 min) */
#define IMAP_SEARCH_WINDOW 8000u      /* UIDs per search: a bounded reply line */

enum imap_tls {
	IMAP_TLS_IMPLICIT, /* imaps:// */
	IMAP_TLS_STARTTLS, /* imap:// + STARTTLS, required */
	IMAP_TLS_NONE,     /* imap:// in clear (loopback only, checked by the caller) */
};

struct oauth;

/* Called while a command waits; returns non-zero to abort it (stopping). */
typedef int (*imap_tick_fn)(void *arg);

struct imap_options {
	const char *url;      /* imap[s]://host[:port]/MAILBOX, borrowed for the session */
	const char *username; /* borrowed */
	const char *password; /* borrowed; never logged; unused with oauth */
	/* OAuth 2.0 (oauth.h): when set, every login sends its current access
	 * token with the SASL mechanisms of login_options ("AUTH=XOAUTH2");
	 * a login refused with a token asks the cache for a new one and is
	 * tried once more. Borrowed for the session; the session's thread
	 * must be the cache's owner (it calls oauth_poll while it waits). */
	struct oauth *oauth;
	const char *login_options;
	enum imap_tls tls;
	const char *ca_file;  /* NULL: the system's CA store */
	const char *log_module;
	imap_tick_fn tick;
	void *arg;
};

struct imap_mailbox {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint32_t exists;
};

/* What UID FETCH (RFC822.SIZE FLAGS) said about one message. */
struct imap_msginfo {
	uint32_t uid;
	uint64_t size;
	int seen;    /* had \Seen */
	int present; /* 0: not in the mailbox (expunged) */
};

/* A fetched message. */
struct imap_buf {
	char *data; /* owned; reused between fetches */
	size_t len, cap;
};

struct imap;

/*
 * imap_create - a session for opt (strings borrowed for its life). Does not
 * connect yet. Returns GW_OK, GW_EINVAL (URL without a mailbox, bad
 * scheme for the TLS mode), GW_ENOMEM.
 */
int imap_create(const struct imap_options *opt, struct imap **out);

/* imap_destroy - closes both connections; accepts NULL. */
void imap_destroy(struct imap *im);

/* imap_mailbox_name - the mailbox of the URL, decoded (borrowed). */
const char *imap_mailbox_name(const struct imap *im);

/* imap_last_error - the reason of the last failure, for logs (borrowed). */
const char *imap_last_error(const struct imap *im);

/*
 * The commands below return GW_OK or:
 *   GW_EAUTH     the server refused the login (with oauth: also the
 *                retry with a new token), or no access token can be had
 *   GW_EPROTO    the server answered NO or BAD, or something unreadable
 *   GW_EIO       network, TLS or timeout
 *   GW_ECLOSED   the tick asked to stop
 *   GW_ENOMEM
 * and say why in imap_last_error().
 */

/* imap_examine - opens the mailbox read-only and reads its state. */
int imap_examine(struct imap *im, struct imap_mailbox *mb);

/*
 * imap_search - the UIDs in [from, to] (to - from < IMAP_SEARCH_WINDOW) in
 * ascending order into uids[] (max entries), their number in *n.
 */
int imap_search(struct imap *im, uint32_t from, uint32_t to, uint32_t *uids, size_t max,
		size_t *n);

/*
 * imap_info - size and \Seen of the n messages uids[] (ascending) into
 * info[] (n entries, in the same order; present = 0 for a UID that is gone).
 */
int imap_info(struct imap *im, const uint32_t *uids, size_t n, struct imap_msginfo *info);

/*
 * imap_fetch - the whole message `uid` into buf, at most max bytes. `seen`
 * says whether it had \Seen (to undo the flag a read-write fetch would
 * set); `uidvalidity` is the one the caller expects. Also returns:
 *   GW_ETOOBIG    over max: the transfer was aborted, buf holds nothing
 *   GW_ENOTFOUND  no such UID (expunged meanwhile)
 *   GW_EAGAIN     a reconnect found another UIDVALIDITY: examine again
 */
int imap_fetch(struct imap *im, uint32_t uid, int seen, uint32_t uidvalidity, size_t max,
	       struct imap_buf *buf);

/* imap_buf_free - frees what buf owns. */
void imap_buf_free(struct imap_buf *buf);

/* imap_seen - adds \Seen to the UIDs of `set` ("1:5,9"), read-write. */
int imap_seen(struct imap *im, const char *set);

/* imap_move - moves the UIDs of `set` to `folder` (ASCII), read-write. */
int imap_move(struct imap *im, const char *set, const char *folder);

/*
 * imap_has_idle - 1 when the server announced IDLE (known after the first
 * examine), 0 otherwise.
 */
int imap_has_idle(const struct imap *im);

/*
 * imap_idle_wait - waits on the IDLE connection (opening it and entering
 * IDLE first if needed) until new mail is announced (returns GW_OK and
 * *news = 1), or `timeout_ms` passed (GW_OK, *news = 0). `next_uid` is the
 * first UID the caller has not handled: a UIDNEXT past it when IDLE starts
 * is news too (mail that came before IDLE). The tick runs meanwhile;
 * GW_ECLOSED when it asks to stop. On an error the IDLE connection is
 * closed and opened again by the next call.
 */
int imap_idle_wait(struct imap *im, uint32_t next_uid, int timeout_ms, int *news);

/* imap_idle_close - ends IDLE and closes its connection (no-op if none). */
void imap_idle_close(struct imap *im);

#endif

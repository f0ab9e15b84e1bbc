/*
 * imap_int.h - what imap.c and imap_idle.c share: the session struct and
 * a few helpers. Not for other modules (they use imap.h).
 */
#ifndef GW_EMAIL_IMAP_INT_H
#define GW_EMAIL_IMAP_INT_H

#include <stdint.h>

#include <curl/curl.h>

#include "connectors/email/imap.h"

#define IMAP_BUFFER_BYTES (256L * 1024) /* libcurl clips lines past half of it */
#define IMAP_CAPS_MAX 2048
#define IMAP_ERR_MAX 256
#define IMAP_LINE_MAX 8192            /* IDLE connection: longer lines are skipped */
#define IMAP_CONNECT_TIMEOUT_S 30L
#define IMAP_LOW_SPEED_TIME_S 120L    /* a stalled command fails after this */
#define IMAP_MAXAGE_CONN_S 600L       /* reuse an idle connection this long */
#define IMAP_TOKEN_WAIT_MS 45000      /* a login waits this long for an access token */

/* What the header callback collects for the command in flight. */
enum imap_collect { COLLECT_NONE, COLLECT_SEARCH, COLLECT_INFO };

struct imap {
	struct imap_options opt;
	char *mailbox;      /* decoded name */
	char *quoted;       /* "name" as an IMAP quoted string, '%' escaped for curl */
	char *base_url;     /* scheme://host:port/ */
	char *mbox_url;     /* base_url + encoded mailbox */
	CURLM *multi;
	CURL *h;
	int examined;       /* the connection is in EXAMINE (read-only) state */
	char caps[IMAP_CAPS_MAX];
	struct imap_mailbox mb; /* from the last SELECT/EXAMINE responses */
	enum imap_collect collect;
	uint32_t *uids;     /* COLLECT_SEARCH target */
	size_t uids_max, uids_n;
	struct imap_msginfo *info; /* COLLECT_INFO target */
	size_t info_n;
	struct imap_buf *fetch; /* the fetch in flight; NULL for commands */
	size_t fetch_max;
	int too_big;
	int aborted;        /* the tick asked to stop */
	char curl_err[CURL_ERROR_SIZE];
	char err[IMAP_ERR_MAX];
	/* IDLE connection */
	CURLM *imulti;
	CURL *ih;
	int idling;         /* IDLE command active */
	unsigned tag;
	char line[IMAP_LINE_MAX];
	size_t line_len;
	int line_skip;      /* inside a line over IMAP_LINE_MAX */
	int64_t idle_since_us;
	uint64_t gen, igen;  /* generation of the access token of each connection */
};

/* imap_set_err - the reason of the failure at hand, written with printf's format. */
void imap_set_err(struct imap *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* imap_num - a decimal uint32 at *p (advanced); 0 when there is none. */
int imap_num(const char **p, const char *end, uint32_t *out);

/* imap_from_curl - a CURLcode as a GW_* code; the reason is kept. */
int imap_from_curl(struct imap *im, CURLcode res);

/*
 * imap_drive - runs handle h of multi m to its end, the tick every
 * IMAP_TICK_MS (CURLE_ABORTED_BY_CALLBACK when it asked to stop). keep:
 * the handle stays in m afterwards (CONNECT_ONLY connections live there).
 */
CURLcode imap_drive(struct imap *im, CURLM *m, CURL *h, int keep);

/* imap_setup_handle - server, TLS, login and timeout options of h. */
int imap_setup_handle(struct imap *im, CURL *h);

/*
 * imap_login - with oauth, sets the access token on h (waiting, with the
 * tick, for one whose generation is at least min_gen: after a refusal, a
 * newer one) and its generation into *gen; without, nothing. GW_OK,
 * GW_EAUTH (no token: refused refresh token, or none new in time, the
 * reason in im->err), GW_EIO (the token endpoint fails: backing off),
 * GW_ECLOSED (the tick asked to stop).
 */
int imap_login(struct imap *im, CURL *h, uint64_t min_gen, uint64_t *gen);

#endif

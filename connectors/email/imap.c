/*
 * imap.c - IMAP over libcurl for the email connector (see imap.h for what
 * each command does and why reading goes through EXAMINE).
 *
 * libcurl does the protocol: connection reuse, TLS, STARTTLS, login,
 * SELECT, literal handling in FETCH. This file builds the requests,
 * drives the easy handle through a multi handle so the caller's tick keeps
 * running, and reads the untagged responses it needs from the header
 * callback, which gets every response line. The one part written by hand,
 * the IDLE wait, is imap_idle.c.
 */
#define _GNU_SOURCE /* strcasestr, memmem, explicit_bzero */
#include "connectors/email/imap_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "connectors/curl_err.h"
#include "connectors/email/oauth.h"
#include "connectors/provider_calls.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

/* ---- small helpers -------------------------------------------------------- */

void imap_set_err(struct imap *im, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(im->err, sizeof(im->err), fmt, ap);
	va_end(ap);
}

const char *imap_last_error(const struct imap *im)
{
	return im->err;
}

const char *imap_mailbox_name(const struct imap *im)
{
	return im->mailbox;
}

int imap_has_idle(const struct imap *im)
{
	const char *p = im->caps;

	while ((p = strcasestr(p, "IDLE")) != NULL) {
		int start = p == im->caps || p[-1] == ' ';
		int end = p[4] == '\0' || p[4] == ' ' || p[4] == ']';

		if (start && end)
			return 1;
		p += 4;
	}
	return 0;
}

static int imap_has_cap(const struct imap *im, const char *cap)
{
	size_t n = strlen(cap);
	const char *p = im->caps;

	while ((p = strcasestr(p, cap)) != NULL) {
		if ((p == im->caps || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ' || p[n] == ']'))
			return 1;
		p += n;
	}
	return 0;
}

/* A decimal uint32 at *p; advances *p. Returns 0 when there is none. */
int imap_num(const char **p, const char *end, uint32_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	if (s >= end || !isdigit((unsigned char)*s))
		return 0;
	while (s < end && isdigit((unsigned char)*s)) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return 0;
		s++;
	}
	*p = s;
	*out = (uint32_t)v;
	return 1;
}

/* The number after `key` ("UID ", "RFC822.SIZE ") in [s, end), if any. */
static int imap_item(const char *s, const char *end, const char *key, uint32_t *out)
{
	size_t kl = strlen(key);

	for (const char *p = s; p + kl <= end; p++)
		if ((p == s || p[-1] == ' ' || p[-1] == '(') && strncasecmp(p, key, kl) == 0) {
			const char *q = p + kl;

			return imap_num(&q, end, out);
		}
	return 0;
}

/*
 * An IMAP quoted string for `s` (ASCII without CR/LF), with '%' written as
 * %25 because libcurl URL-decodes a custom request. NULL on a bad name.
 */
static char *imap_quote(const char *s)
{
	size_t n = strlen(s), j = 0;
	char *q = malloc(n * 3 + 3);

	if (!q)
		return NULL;
	q[j++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f) {
			free(q);
			return NULL;
		}
		if (c == '"' || c == '\\')
			q[j++] = '\\';
		if (c == '%') {
			memcpy(q + j, "%25", 3);
			j += 3;
			continue;
		}
		q[j++] = (char)c;
	}
	q[j++] = '"';
	q[j] = '\0';
	return q;
}

/* ---- response lines ----------------------------------------------------- */

static void imap_on_caps(struct imap *im, const char *s, const char *end)
{
	size_t n = (size_t)(end - s);

	if (n >= sizeof(im->caps))
		n = sizeof(im->caps) - 1;
	memcpy(im->caps, s, n);
	im->caps[n] = '\0';
}

static void imap_on_search(struct imap *im, const char *p, const char *end)
{
	uint32_t v;

	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		if (!imap_num(&p, end, &v))
			break;
		if (im->uids_n < im->uids_max)
			im->uids[im->uids_n++] = v;
	}
}

static void imap_on_fetch(struct imap *im, const char *p, const char *end)
{
	uint32_t uid, size;
	size_t lo = 0, hi = im->info_n;

	if (!imap_item(p, end, "UID ", &uid) || !imap_item(p, end, "RFC822.SIZE ", &size))
		return; /* an unsolicited flag update */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (im->info[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= im->info_n || im->info[lo].uid != uid)
		return;
	im->info[lo].present = 1;
	im->info[lo].size = size;
	for (const char *f = p; f + 5 <= end; f++)
		if (strncasecmp(f, "\\Seen", 5) == 0)
			im->info[lo].seen = 1;
}

/* One untagged line after "* ". */
static void imap_on_untagged(struct imap *im, const char *p, const char *end)
{
	uint32_t n;
	const char *q = p;

	if (end - p >= 16 && strncasecmp(p, "OK [UIDVALIDITY ", 16) == 0) {
		q = p + 16;
		if (imap_num(&q, end, &n))
			im->mb.uidvalidity = n;
	} else if (end - p >= 13 && strncasecmp(p, "OK [UIDNEXT ", 12) == 0) {
		q = p + 12;
		if (imap_num(&q, end, &n))
			im->mb.uidnext = n;
	} else if (end - p >= 11 && strncasecmp(p, "CAPABILITY ", 11) == 0) {
		imap_on_caps(im, p + 11, end);
	} else if (end - p >= 6 && strncasecmp(p, "SEARCH", 6) == 0) {
		if (im->collect == COLLECT_SEARCH)
			imap_on_search(im, p + 6, end);
	} else if (imap_num(&q, end, &n)) {
		if (end - q >= 7 && strncasecmp(q, " EXISTS", 7) == 0)
			im->mb.exists = n;
		else if (end - q >= 7 && strncasecmp(q, " FETCH ", 7) == 0 &&
			 im->collect == COLLECT_INFO)
			imap_on_fetch(im, q + 7, end);
	}
}

/* libcurl's header callback: one response line per call. */
static size_t imap_on_header(char *ptr, size_t size, size_t nitems, void *arg)
{
	struct imap *im = arg;
	size_t len = size * nitems;
	const char *end = ptr + len, *caps;

	while (end > ptr && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (end - ptr >= 2 && ptr[0] == '*' && ptr[1] == ' ')
		imap_on_untagged(im, ptr + 2, end);
	/* "* OK [CAPABILITY ...]" greetings and "A002 OK [CAPABILITY ...]" logins */
	caps = memmem(ptr, (size_t)(end - ptr), "[CAPABILITY ", 12);
	if (caps) {
		const char *close = memchr(caps, ']', (size_t)(end - caps));

		imap_on_caps(im, caps + 12, close ? close : end);
	}
	return len;
}

/* libcurl's write callback: a fetched message, or discarded command output. */
static size_t imap_on_body(char *ptr, size_t size, size_t nitems, void *arg)
{
	struct imap *im = arg;
	struct imap_buf *b = im->fetch;
	size_t len = size * nitems;

	if (!b)
		return len;
	if (b->len + len > im->fetch_max) {
		im->too_big = 1;
		return 0; /* aborts the transfer; libcurl closes the connection */
	}
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		char *p;

		while (cap < b->len + len + 1)
			cap *= 2;
		if (cap > im->fetch_max + 1)
			cap = im->fetch_max + 1;
		p = realloc(b->data, cap);
		if (!p)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

/* ---- performing one request --------------------------------------------- */

int imap_from_curl(struct imap *im, CURLcode res)
{
	const char *what = im->curl_err[0] ? im->curl_err : curl_easy_strerror(res);

	imap_set_err(im, "%s%s", what, "");
	/* Our write callback refused the bytes: over the limit, or no memory. */
	if (res == CURLE_WRITE_ERROR)
		return im->too_big ? GW_ETOOBIG : GW_ENOMEM;
	return gw_curl_err(res);
}

/*
 * Runs handle h of multi m to its end, calling the tick every
 * IMAP_TICK_MS. Returns the CURLcode (CURLE_ABORTED_BY_CALLBACK when the
 * tick asked to stop).
 */
CURLcode imap_drive(struct imap *im, CURLM *m, CURL *h, int keep)
{
	CURLcode res = CURLE_OK;
	CURLMsg *msg;
	int running = 1, left;

	if (curl_multi_add_handle(m, h) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	while (running) {
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			res = CURLE_SEND_ERROR;
			break;
		}
		if (!running)
			break;
		if (im->opt.tick && im->opt.tick(im->opt.arg)) {
			im->aborted = 1;
			res = CURLE_ABORTED_BY_CALLBACK;
			keep = 0;
			break;
		}
		curl_multi_poll(m, NULL, 0, IMAP_TICK_MS, NULL);
	}
	while ((msg = curl_multi_info_read(m, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == h && !im->aborted)
			res = msg->data.result;
	if (!keep)
		curl_multi_remove_handle(m, h);
	return res;
}

/* The options both connections share: server, TLS, login, timeouts. */
int imap_setup_handle(struct imap *im, CURL *h)
{
	CURLcode c = CURLE_OK;

	c |= curl_easy_setopt(h, CURLOPT_USERNAME, im->opt.username);
	if (im->opt.oauth)
		c |= curl_easy_setopt(h, CURLOPT_LOGIN_OPTIONS, im->opt.login_options);
	else
		c |= curl_easy_setopt(h, CURLOPT_PASSWORD, im->opt.password);
	c |= curl_easy_setopt(h, CURLOPT_USE_SSL, im->opt.tls == IMAP_TLS_NONE ? CURLUSESSL_NONE
									  : CURLUSESSL_ALL);
	if (im->opt.ca_file)
		c |= curl_easy_setopt(h, CURLOPT_CAINFO, im->opt.ca_file);
	c |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	c |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	c |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, IMAP_CONNECT_TIMEOUT_S);
	c |= curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	c |= curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, IMAP_LOW_SPEED_TIME_S);
	c |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	c |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, im->curl_err);
	c |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "imap,imaps");
	return c == CURLE_OK ? GW_OK : GW_ENOMEM;
}

/* imap_token_wait - one step of waiting for a token: the refresh goes on,
 * the tick runs, a tick's time passes. GW_ECLOSED when stopping. */
static int imap_token_wait(struct imap *im)
{
	struct timespec ts = {0, (long)IMAP_TICK_MS * 1000000L};

	oauth_poll(im->opt.oauth);
	if (im->opt.tick && im->opt.tick(im->opt.arg))
		return GW_ECLOSED;
	nanosleep(&ts, NULL);
	return GW_OK;
}

int imap_login(struct imap *im, CURL *h, uint64_t min_gen, uint64_t *gen)
{
	char tok[OAUTH_TOKEN_MAX + 1], why[256];
	int64_t deadline = gw_mono_us() + (int64_t)IMAP_TOKEN_WAIT_MS * 1000;
	int rc;

	if (!im->opt.oauth)
		return GW_OK;
	for (;;) {
		rc = oauth_get(im->opt.oauth, OAUTH_USABLE, tok, sizeof(tok), gen);
		if (rc == GW_OK && *gen >= min_gen)
			break;
		if (rc == GW_EAUTH || rc == GW_EIO || gw_mono_us() > deadline) {
			oauth_problem(im->opt.oauth, why, sizeof(why), NULL);
			imap_set_err(im, "no OAuth access token: %s", why[0] ? why
				     : "no new one came in time after the server refused the last");
			return rc == GW_EIO ? GW_EIO : GW_EAUTH;
		}
		rc = imap_token_wait(im);
		if (rc != GW_OK)
			return rc;
	}
	rc = curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, tok) == CURLE_OK ? GW_OK : GW_ENOMEM;
	explicit_bzero(tok, sizeof(tok));
	return rc;
}

static int imap_setup(struct imap *im)
{
	CURLcode c = CURLE_OK;

	im->multi = curl_multi_init();
	im->h = curl_easy_init();
	if (!im->multi || !im->h)
		return GW_ENOMEM;
	if (imap_setup_handle(im, im->h) != GW_OK)
		return GW_ENOMEM;
	c |= curl_easy_setopt(im->h, CURLOPT_HEADERFUNCTION, imap_on_header);
	c |= curl_easy_setopt(im->h, CURLOPT_HEADERDATA, im);
	c |= curl_easy_setopt(im->h, CURLOPT_WRITEFUNCTION, imap_on_body);
	c |= curl_easy_setopt(im->h, CURLOPT_WRITEDATA, im);
	c |= curl_easy_setopt(im->h, CURLOPT_BUFFERSIZE, IMAP_BUFFER_BYTES);
	c |= curl_easy_setopt(im->h, CURLOPT_MAXAGE_CONN, IMAP_MAXAGE_CONN_S);
	return c == CURLE_OK ? GW_OK : GW_ENOMEM;
}

/*
 * One request on the main connection: `url` with the custom command `cmd`
 * (NULL: libcurl's own request for the URL, e.g. a fetch). *reconnected
 * (may be NULL) says whether libcurl had to open a new connection, which
 * it then SELECTed read-write.
 */
static int imap_request_once(struct imap *im, const char *url, const char *cmd,
			     int *reconnected)
{
	long connects = 0;
	CURLcode res;

	im->curl_err[0] = '\0';
	im->err[0] = '\0';
	im->too_big = 0;
	if (curl_easy_setopt(im->h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(im->h, CURLOPT_CUSTOMREQUEST, cmd) != CURLE_OK)
		return GW_ENOMEM;
	res = imap_drive(im, im->multi, im->h, 0);
	curl_easy_getinfo(im->h, CURLINFO_NUM_CONNECTS, &connects);
	if (connects > 0)
		im->examined = 0;
	if (reconnected)
		*reconnected = connects > 0;
	if (im->aborted) {
		im->aborted = 0;
		im->examined = 0;
		imap_set_err(im, "stopped%s%s", "", "");
		return GW_ECLOSED;
	}
	if (res != CURLE_OK)
		im->examined = 0; /* libcurl closes the connection after a failure */
	return imap_from_curl(im, res);
}

/*
 * imap_request - imap_request_once with the login's token; a login refused
 * with an OAuth token is tried once more with a new one (a token revoked
 * or expired early). libcurl opens a new connection for a new token.
 */
static int imap_request(struct imap *im, const char *url, const char *cmd, int *reconnected)
{
	int rc = imap_login(im, im->h, 0, &im->gen), again = 0;

	if (rc == GW_OK)
		rc = imap_request_once(im, url, cmd, reconnected);
	if (rc == GW_EAUTH && im->opt.oauth) {
		oauth_refused(im->opt.oauth, im->gen);
		rc = imap_login(im, im->h, im->gen + 1, &im->gen);
		again = rc == GW_OK;
	}
	if (again) {
		int re = 0;

		rc = imap_request_once(im, url, cmd, &re);
		if (reconnected)
			*reconnected |= re;
	}
	return rc;
}

/* A custom command on the mailbox, written with printf's format. */
static int imap_command(struct imap *im, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int imap_command(struct imap *im, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd)) {
		imap_set_err(im, "command too long%s%s", "", "");
		return GW_EINVAL;
	}
	return imap_request(im, im->mbox_url, cmd, NULL);
}

/* ---- create / destroy ------------------------------------------------------ */

/* Splits opt->url into base URL, mailbox URL and decoded mailbox name. */
static int imap_parse_url(struct imap *im)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *path = NULL, *port = NULL;
	int rc = GW_EINVAL, n;
	size_t blen;

	if (!u)
		return GW_ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, im->opt.url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK)
		goto out;
	if (strcmp(scheme, im->opt.tls == IMAP_TLS_IMPLICIT ? "imaps" : "imap") != 0)
		goto out;
	if (!path || strlen(path) < 2 || strchr(path + 1, ';'))
		goto out;
	rc = GW_ENOMEM;
	im->mailbox = gw_strdup(path + 1);
	blen = strlen(scheme) + strlen(host) + strlen(port) + 8;
	im->base_url = malloc(blen);
	if (!im->mailbox || !im->base_url)
		goto out;
	n = snprintf(im->base_url, blen, "%s://%s:%s/", scheme, host, port);
	if (n < 0 || (size_t)n >= blen)
		goto out;
	rc = GW_OK;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

/* mbox_url: base_url + the mailbox percent-encoded by libcurl. */
static int imap_mbox_url(struct imap *im)
{
	char *enc = curl_easy_escape(NULL, im->mailbox, 0);
	size_t n;
	int rc = GW_ENOMEM;

	if (!enc)
		return GW_ENOMEM;
	n = strlen(im->base_url) + strlen(enc) + 1;
	im->mbox_url = malloc(n);
	if (im->mbox_url) {
		snprintf(im->mbox_url, n, "%s%s", im->base_url, enc);
		rc = GW_OK;
	}
	curl_free(enc);
	return rc;
}

int imap_create(const struct imap_options *opt, struct imap **out)
{
	struct imap *im = calloc(1, sizeof(*im));
	int rc = GW_ENOMEM;

	*out = NULL;
	if (!im)
		return GW_ENOMEM;
	im->opt = *opt;
	rc = imap_parse_url(im);
	if (rc == GW_OK)
		rc = imap_mbox_url(im);
	if (rc == GW_OK) {
		im->quoted = imap_quote(im->mailbox);
		rc = im->quoted ? GW_OK : GW_EINVAL;
	}
	if (rc == GW_OK)
		rc = imap_setup(im);
	if (rc != GW_OK) {
		imap_destroy(im);
		return rc;
	}
	*out = im;
	return GW_OK;
}

void imap_destroy(struct imap *im)
{
	if (!im)
		return;
	imap_idle_close(im);
	if (im->h && im->multi)
		curl_multi_remove_handle(im->multi, im->h);
	curl_easy_cleanup(im->h);
	curl_multi_cleanup(im->multi);
	free(im->mailbox);
	free(im->quoted);
	free(im->base_url);
	free(im->mbox_url);
	free(im);
}

/* ---- commands ---------------------------------------------------------------- */

int imap_examine(struct imap *im, struct imap_mailbox *mb)
{
	int rc;

	memset(&im->mb, 0, sizeof(im->mb));
	if (!im->caps[0]) {
		rc = imap_command(im, "CAPABILITY");
		if (rc != GW_OK)
			return rc;
	}
	rc = imap_command(im, "EXAMINE %s", im->quoted);
	if (rc != GW_OK)
		return rc;
	if (im->mb.uidvalidity == 0 || im->mb.uidnext == 0) {
		imap_set_err(im, "EXAMINE %s answered without UIDVALIDITY or UIDNEXT%s",
			     im->mailbox, "");
		return GW_EPROTO;
	}
	im->examined = 1;
	*mb = im->mb;
	return GW_OK;
}

int imap_search(struct imap *im, uint32_t from, uint32_t to, uint32_t *uids, size_t max,
		size_t *n)
{
	char range[32];
	int rc;

	*n = 0;
	if (to < from || to - from >= IMAP_SEARCH_WINDOW)
		return GW_EINVAL;
	snprintf(range, sizeof(range), "%u:%u", from, to);
	im->collect = COLLECT_SEARCH;
	im->uids = uids;
	im->uids_max = max;
	im->uids_n = 0;
	rc = imap_command(im, "UID SEARCH UID %s", range);
	im->collect = COLLECT_NONE;
	if (rc != GW_OK)
		return rc;
	/* Servers answer in ascending order; a reversed range "a:b" with a > the
	 * highest UID is not possible here (no '*'), so only sort defensively. */
	for (size_t i = 1; i < im->uids_n; i++)
		for (size_t j = i; j > 0 && uids[j - 1] > uids[j]; j--) {
			uint32_t t = uids[j];

			uids[j] = uids[j - 1];
			uids[j - 1] = t;
		}
	*n = im->uids_n;
	return GW_OK;
}

int imap_info(struct imap *im, const uint32_t *uids, size_t n, struct imap_msginfo *info)
{
	char set[32];
	int rc;

	if (n == 0)
		return GW_OK;
	for (size_t i = 0; i < n; i++) {
		memset(&info[i], 0, sizeof(info[i]));
		info[i].uid = uids[i];
	}
	snprintf(set, sizeof(set), "%u:%u", uids[0], uids[n - 1]);
	im->collect = COLLECT_INFO;
	im->info = info;
	im->info_n = n;
	rc = imap_command(im, "UID FETCH %s (RFC822.SIZE FLAGS)", set);
	im->collect = COLLECT_NONE;
	return rc;
}

/* Undoes the \Seen a read-write fetch set, then goes back to EXAMINE. */
static int imap_unseen(struct imap *im, uint32_t uid)
{
	char cmd[64];
	int rc;

	snprintf(cmd, sizeof(cmd), "UID STORE %u -FLAGS.SILENT (\\Seen)", uid);
	rc = imap_request(im, im->mbox_url, cmd, NULL);
	if (rc == GW_OK)
		GW_DEBUG(im->opt.log_module, "reconnected during the fetch of UID %u: its \\Seen "
			 "flag was cleared again", uid);
	return rc;
}

int imap_fetch(struct imap *im, uint32_t uid, int seen, uint32_t uidvalidity, size_t max,
	       struct imap_buf *buf)
{
	size_t n = strlen(im->mbox_url) + 32;
	char *url = malloc(n);
	int rc, reconnected = 0;
	struct imap_mailbox mb;
	int64_t took_us;

	if (!url)
		return GW_ENOMEM;
	snprintf(url, n, "%s/;UID=%u", im->mbox_url, uid);
	if (!im->examined) {
		rc = imap_examine(im, &mb);
		if (rc == GW_OK && mb.uidvalidity != uidvalidity)
			rc = GW_EAGAIN;
		if (rc != GW_OK)
			goto out;
	}
	buf->len = 0;
	im->fetch = buf;
	im->fetch_max = max;
	memset(&im->mb, 0, sizeof(im->mb));
	took_us = gw_mono_us();
	rc = imap_request(im, url, NULL, &reconnected);
	provider_call_observe(PROVIDER_CALL_IMAP_FETCH, (double)(gw_mono_us() - took_us) / 1e6);
	im->fetch = NULL;
	if (rc != GW_OK)
		buf->len = 0;
	if (!reconnected)
		goto out;
	/* libcurl's SELECT ran before this fetch: read-write, maybe another validity. */
	if (im->mb.uidvalidity && im->mb.uidvalidity != uidvalidity) {
		rc = GW_EAGAIN;
		goto out;
	}
	if (rc == GW_OK && !seen)
		rc = imap_unseen(im, uid);
out:
	free(url);
	return rc;
}

void imap_buf_free(struct imap_buf *buf)
{
	free(buf->data);
	memset(buf, 0, sizeof(*buf));
}

/* The actions need a read-write session: SELECT, then the command. */
static int imap_select(struct imap *im)
{
	im->examined = 0;
	return imap_command(im, "SELECT %s", im->quoted);
}

int imap_seen(struct imap *im, const char *set)
{
	int rc = imap_select(im);

	if (rc == GW_OK)
		rc = imap_command(im, "UID STORE %s +FLAGS.SILENT (\\Seen)", set);
	return rc;
}

int imap_move(struct imap *im, const char *set, const char *folder)
{
	char *q = imap_quote(folder);
	char cmd[1024];
	int rc, n;

	if (!q)
		return GW_EINVAL;
	rc = imap_select(im);
	if (rc != GW_OK)
		goto out;
	if (imap_has_cap(im, "MOVE")) {
		n = snprintf(cmd, sizeof(cmd), "UID MOVE %s %s", set, q);
		rc = n > 0 && (size_t)n < sizeof(cmd) ? imap_command(im, "%s", cmd) : GW_EINVAL;
		goto out;
	}
	/* RFC 6851's fallback: COPY, flag \Deleted, expunge (only these UIDs
	 * with UIDPLUS; otherwise every \Deleted message of the mailbox). */
	n = snprintf(cmd, sizeof(cmd), "UID COPY %s %s", set, q);
	rc = n > 0 && (size_t)n < sizeof(cmd) ? imap_command(im, "%s", cmd) : GW_EINVAL;
	if (rc == GW_OK)
		rc = imap_command(im, "UID STORE %s +FLAGS.SILENT (\\Deleted)", set);
	if (rc == GW_OK && imap_has_cap(im, "UIDPLUS"))
		rc = imap_command(im, "UID EXPUNGE %s", set);
	else if (rc == GW_OK)
		rc = imap_command(im, "EXPUNGE");
out:
	free(q);
	return rc;
}


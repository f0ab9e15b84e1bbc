/*
 * imap_idle.c - the IDLE wait of the email connector (imap.h): the one part
 * of its IMAP written by hand, because libcurl has no IDLE (RFC 2177).
 *
 * libcurl opens the connection, negotiates TLS or STARTTLS and logs in
 * (CURLOPT_CONNECT_ONLY; the handle stays in its own multi handle, where
 * curl_easy_send/recv find the connection). Then, line by line:
 *   gN EXAMINE "mailbox"   UIDNEXT past the caller's next UID: news already
 *   gN IDLE                "+ idling"; then "* N EXISTS" / "* N RECENT"
 *   DONE                   on news, or every IMAP_IDLE_MAX_MS; "gN OK"
 * Any other answer, a BYE or a silence past IMAP_IDLE_REPLY_MS closes the
 * connection; the next wait opens a new one.
 */
#define _GNU_SOURCE
#include "connectors/email/imap_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "connectors/email/oauth.h"
#include "core/err.h"
#include "core/util.h"

#define IMAP_IDLE_REPLY_MS 30000 /* wait for a tagged reply on the IDLE connection */

void imap_idle_close(struct imap *im)
{
	if (im->ih && im->imulti)
		curl_multi_remove_handle(im->imulti, im->ih);
	curl_easy_cleanup(im->ih);
	curl_multi_cleanup(im->imulti);
	im->ih = NULL;
	im->imulti = NULL;
	im->idling = 0;
	im->line_len = 0;
	im->line_skip = 0;
}

/* Waits until the IDLE socket is readable/writable, at most IMAP_TICK_MS. */
static int imap_idle_poll(struct imap *im, short events)
{
	curl_socket_t fd = CURL_SOCKET_BAD;
	struct pollfd p;

	if (curl_easy_getinfo(im->ih, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
	    fd == CURL_SOCKET_BAD)
		return GW_EIO;
	p.fd = fd;
	p.events = events;
	p.revents = 0;
	if (poll(&p, 1, IMAP_TICK_MS) < 0 && errno != EINTR)
		return GW_EIO;
	if (im->opt.tick && im->opt.tick(im->opt.arg))
		return GW_ECLOSED;
	return GW_OK;
}

static int imap_idle_send(struct imap *im, const char *text)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		size_t sent = 0;
		CURLcode c = curl_easy_send(im->ih, text + off, len - off, &sent);
		int rc;

		if (c == CURLE_AGAIN) {
			rc = imap_idle_poll(im, POLLOUT);
			if (rc != GW_OK)
				return rc;
			continue;
		}
		if (c != CURLE_OK) {
			imap_set_err(im, "IDLE connection: send: %s%s", curl_easy_strerror(c), "");
			return GW_EIO;
		}
		off += sent;
	}
	return GW_OK;
}

/*
 * Reads until a whole line is in im->line (returns GW_OK), nothing is
 * readable within one tick (GW_EAGAIN), or an error. Lines longer than
 * IMAP_LINE_MAX are skipped.
 */
static int imap_idle_line(struct imap *im)
{
	for (;;) {
		char c;
		size_t got = 0;
		CURLcode r = curl_easy_recv(im->ih, &c, 1, &got);

		if (r == CURLE_AGAIN) {
			int rc = imap_idle_poll(im, POLLIN);

			if (rc != GW_OK)
				return rc;
			r = curl_easy_recv(im->ih, &c, 1, &got);
			if (r == CURLE_AGAIN)
				return GW_EAGAIN;
		}
		if (r != CURLE_OK || got == 0) {
			imap_set_err(im, "IDLE connection: %s%s", r == CURLE_OK ? "closed by the server"
				     : curl_easy_strerror(r), "");
			return GW_EIO;
		}
		if (c == '\n') {
			int skip = im->line_skip;

			im->line_skip = 0;
			if (skip) {
				im->line_len = 0;
				continue;
			}
			while (im->line_len && im->line[im->line_len - 1] == '\r')
				im->line_len--;
			im->line[im->line_len] = '\0';
			im->line_len = 0;
			return GW_OK;
		}
		if (im->line_len + 1 >= sizeof(im->line))
			im->line_skip = 1;
		else
			im->line[im->line_len++] = c;
	}
}

/* "* N EXISTS" or "* N RECENT": the mailbox has news. Also reads UIDNEXT. */
static int imap_idle_news(const char *l, uint32_t *uidnext)
{
	const char *p = l + 2, *end = l + strlen(l);
	uint32_t n;

	if (strncmp(l, "* ", 2) != 0)
		return 0;
	if (strncasecmp(p, "OK [UIDNEXT ", 12) == 0) {
		p += 12;
		if (imap_num(&p, end, &n))
			*uidnext = n;
		return 0;
	}
	if (strncasecmp(p, "BYE", 3) == 0)
		return -1;
	if (!imap_num(&p, end, &n))
		return 0;
	return strcasecmp(p, " EXISTS") == 0 || (strcasecmp(p, " RECENT") == 0 && n > 0);
}

/* Sends "<tag> <cmd>" and reads to its tagged answer (or "+" when want_plus). */
static int imap_idle_cmd(struct imap *im, const char *cmd, int want_plus, uint32_t *uidnext)
{
	char tag[16], text[1100];
	int64_t deadline = gw_mono_us() + (int64_t)IMAP_IDLE_REPLY_MS * 1000;
	int rc;

	snprintf(tag, sizeof(tag), "g%u", ++im->tag);
	if ((size_t)snprintf(text, sizeof(text), "%s %s\r\n", tag, cmd) >= sizeof(text))
		return GW_EINVAL;
	rc = imap_idle_send(im, text);
	while (rc == GW_OK) {
		rc = imap_idle_line(im);
		if (rc == GW_EAGAIN) {
			rc = gw_mono_us() < deadline ? GW_OK : GW_EIO;
			if (rc != GW_OK)
				imap_set_err(im, "IDLE connection: no answer to %s%s", cmd, "");
			continue;
		}
		if (rc != GW_OK)
			break;
		if (imap_idle_news(im->line, uidnext) < 0)
			rc = GW_EIO;
		if (want_plus && im->line[0] == '+')
			return GW_OK;
		if (strncmp(im->line, tag, strlen(tag)) == 0 && im->line[strlen(tag)] == ' ') {
			const char *st = im->line + strlen(tag) + 1;

			if (strncasecmp(st, "OK", 2) == 0 && !want_plus)
				return GW_OK;
			imap_set_err(im, "IDLE connection: %s answered: %s", cmd, st);
			return GW_EPROTO;
		}
	}
	return rc;
}

/* Opens the IDLE connection: libcurl connects, TLS, login; nothing more. */
static int imap_idle_open(struct imap *im)
{
	CURLcode res;
	int rc;

	im->imulti = curl_multi_init();
	im->ih = curl_easy_init();
	if (!im->imulti || !im->ih || imap_setup_handle(im, im->ih) != GW_OK ||
	    curl_easy_setopt(im->ih, CURLOPT_URL, im->base_url) != CURLE_OK ||
	    curl_easy_setopt(im->ih, CURLOPT_CONNECT_ONLY, 1L) != CURLE_OK) {
		imap_idle_close(im);
		return GW_ENOMEM;
	}
	rc = imap_login(im, im->ih, 0, &im->igen);
	if (rc != GW_OK) {
		imap_idle_close(im);
		return rc;
	}
	im->curl_err[0] = '\0';
	/* Kept in its multi handle: curl_easy_send/recv find the connection there. */
	res = imap_drive(im, im->imulti, im->ih, 1);
	if (im->aborted) {
		im->aborted = 0;
		imap_idle_close(im);
		return GW_ECLOSED;
	}
	if (res != CURLE_OK) {
		rc = imap_from_curl(im, res);
		/* A refused token: the next open (a minute later) gets a new one. */
		if (rc == GW_EAUTH && im->opt.oauth)
			oauth_refused(im->opt.oauth, im->igen);
		imap_idle_close(im);
		return rc;
	}
	return GW_OK;
}

/*
 * Makes sure the IDLE connection is open and in IDLE; *news when UIDNEXT is
 * past next_uid (mail came before IDLE started).
 */
static int imap_idle_enter(struct imap *im, uint32_t next_uid, int *news)
{
	char cmd[1100];
	uint32_t uidnext = 0;
	int rc = GW_OK;

	if (!im->ih)
		rc = imap_idle_open(im);
	if (rc != GW_OK || im->idling)
		return rc;
	/* Mail that came before IDLE started shows in UIDNEXT, not as EXISTS. */
	if ((size_t)snprintf(cmd, sizeof(cmd), "EXAMINE %s", im->quoted) >= sizeof(cmd))
		return GW_EINVAL;
	rc = imap_idle_cmd(im, cmd, 0, &uidnext);
	if (rc != GW_OK)
		return rc;
	if (uidnext > next_uid) {
		*news = 1;
		return GW_OK;
	}
	rc = imap_idle_cmd(im, "IDLE", 1, &uidnext);
	if (rc == GW_OK) {
		im->idling = 1;
		im->idle_since_us = gw_mono_us();
	}
	return rc;
}

/* Ends IDLE: "DONE" and the tagged OK of the IDLE command. */
static int imap_idle_done(struct imap *im)
{
	char tag[16];
	uint32_t un = 0;
	int64_t deadline = gw_mono_us() + (int64_t)IMAP_IDLE_REPLY_MS * 1000;
	int rc = imap_idle_send(im, "DONE\r\n");

	snprintf(tag, sizeof(tag), "g%u ", im->tag);
	im->idling = 0;
	while (rc == GW_OK) {
		rc = imap_idle_line(im);
		if (rc == GW_EAGAIN) {
			rc = gw_mono_us() < deadline ? GW_OK : GW_EIO;
			continue;
		}
		if (rc == GW_OK && imap_idle_news(im->line, &un) < 0)
			rc = GW_EIO;
		if (rc == GW_OK && strncmp(im->line, tag, strlen(tag)) == 0)
			return GW_OK;
	}
	return rc;
}

int imap_idle_wait(struct imap *im, uint32_t next_uid, int timeout_ms, int *news)
{
	int64_t end = gw_mono_us() + (int64_t)timeout_ms * 1000;
	uint32_t un = 0;
	int rc;

	*news = 0;
	rc = imap_idle_enter(im, next_uid, news);
	while (rc == GW_OK && !*news && gw_mono_us() < end) {
		if (gw_mono_us() - im->idle_since_us > (int64_t)IMAP_IDLE_MAX_MS * 1000)
			break; /* DONE below, IDLE again on the next call */
		rc = imap_idle_line(im);
		if (rc == GW_EAGAIN) {
			rc = GW_OK;
			continue;
		}
		if (rc == GW_OK) {
			int r = imap_idle_news(im->line, &un);

			if (r < 0) {
				imap_set_err(im, "IDLE connection: the server said BYE%s%s", "", "");
				rc = GW_EIO;
			}
			*news = r > 0;
		}
	}
	if (rc == GW_OK && im->idling && (*news || gw_mono_us() - im->idle_since_us >
					  (int64_t)IMAP_IDLE_MAX_MS * 1000))
		rc = imap_idle_done(im);
	if (rc != GW_OK && rc != GW_ECLOSED)
		imap_idle_close(im);
	return rc;
}

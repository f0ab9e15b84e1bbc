/*
 * http_framing.c - how a request delimits its body (http_framing.h).
 */
#include "connectors/http_framing.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libwebsockets.h>

/* Content-Length: >= 0, -1 when absent, -2 when not a plain decimal number
 * (then the body cannot be delimited). */
static long long content_length(struct lws *wsi)
{
	char buf[24], *end;
	long long v;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return -1;
	if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0 ||
	    !isdigit((unsigned char)buf[0]))
		return -2;
	errno = 0;
	v = strtoll(buf, &end, 10);
	return errno || *end ? -2 : v;
}

/* Transfer-Encoding: 0 absent, 1 exactly "chunked", -1 anything else. */
static int transfer_encoding(struct lws *wsi)
{
	char te[64], *p = te;
	int n;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) <= 0)
		return 0;
	n = lws_hdr_copy(wsi, te, sizeof(te), WSI_TOKEN_HTTP_TRANSFER_ENCODING);
	if (n <= 0)
		return -1;
	while (n > 0 && (te[n - 1] == ' ' || te[n - 1] == '\t'))
		te[--n] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	return strcasecmp(p, "chunked") == 0 ? 1 : -1;
}

/* refused - the refusal into *f. */
static void refused(struct http_framing *f, int status, const char *code, const char *message)
{
	f->status = status;
	f->code = code;
	f->message = message;
}

void http_framing_read(struct lws *wsi, struct http_framing *f)
{
	int te = transfer_encoding(wsi);

	memset(f, 0, sizeof(*f));
	f->length = content_length(wsi);
	if (te != 0 && f->length != -1)
		refused(f, 400, "invalid_request", "Transfer-Encoding and Content-Length together");
	else if (te < 0)
		refused(f, 501, "not_implemented", "the only Transfer-Encoding accepted is chunked");
	else if (f->length == -2)
		refused(f, 400, "invalid_request", "Content-Length is not a number");
	else
		f->chunked = te > 0;
}

/*
 * http_framing.h - how an HTTP/1.1 request delimits its body (RFC 9112
 * section 6), read from libwebsockets' parsed headers, for both HTTP
 * servers: the connectors' (connectors/httpd_body.c) and the integration
 * API's (gateway/integration/http.c). Each keeps its own limits and
 * answers; the framing and its refusals are the same.
 *
 * Strict where laxness lets two parsers disagree on where a body ends (the
 * root of request smuggling): Transfer-Encoding and Content-Length
 * together, a coding other than exactly "chunked", and a Content-Length
 * that is not a plain decimal number are refused.
 *
 * Threading: the libwebsockets service thread of `wsi`.
 */
#ifndef GW_CONNECTOR_HTTP_FRAMING_H
#define GW_CONNECTOR_HTTP_FRAMING_H

struct lws;

struct http_framing {
	long long length;    /* Content-Length: >= 0; -1 absent; -2 not a plain decimal */
	int chunked;         /* Transfer-Encoding: chunked, alone */
	int status;          /* 0: acceptable; else the refusal's status, 400 or 501 */
	const char *code;    /* the refusal's error code ("invalid_request", ...), static */
	const char *message; /* the refusal's text, static */
};

/* http_framing_read - the framing of the request on `wsi` into *f. */
void http_framing_read(struct lws *wsi, struct http_framing *f);

#endif

/*
 * chunked.h - a decoder of HTTP/1.1 chunked request bodies (RFC 9112
 * section 7.1), fed as the bytes arrive, for the shared HTTP server
 * (httpd.c): libwebsockets 4.1 hands a chunked body over still encoded.
 *
 * Strict where laxness lets two parsers disagree on where a body ends (the
 * root of request smuggling): CRLF line ends only (a bare LF is an error),
 * hexadecimal sizes of at most 15 digits, no sign or blank before the size;
 * chunk extensions are skipped, trailer fields are read and dropped. Every
 * line is bounded: an extension or the trailer section over
 * CHUNKED_LINE_MAX bytes is an error.
 *
 * Threading: a decoder is used by one thread; no allocation.
 */
#ifndef GW_CONNECTOR_CHUNKED_H
#define GW_CONNECTOR_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#define CHUNKED_LINE_MAX 4096 /* longest chunk extension, and trailer section */

struct chunked {
	int state;
	unsigned digits;  /* of the size being read */
	uint64_t left;    /* data bytes of the current chunk still to come */
	size_t line;      /* bytes of the extension or trailer section so far */
	unsigned ext;     /* the size line's ';' was read */
	uint64_t total;   /* data bytes decoded so far */
};

/* chunked_init - a decoder at the start of a body. */
void chunked_init(struct chunked *c);

/*
 * chunked_decode - decodes the next `len` bytes of `in` (borrowed). The data
 * goes to `out` (cap bytes; *out_len written), or is dropped when out is
 * NULL (no cap then). *used is the bytes of `in` consumed: all of them,
 * unless the body ended (chunked_done) or an error stopped it.
 * Returns GW_OK; GW_EPROTO when the framing is malformed (the body cannot
 * be delimited: close the connection); GW_ETOOBIG when the data is longer
 * than `cap` (what fits was written, and consumed: the next call goes on
 * with the rest of the chunk).
 */
int chunked_decode(struct chunked *c, const char *in, size_t len, size_t *used, char *out,
		   size_t cap, size_t *out_len);

/* chunked_done - the last chunk and the trailer section have been read. */
int chunked_done(const struct chunked *c);

#endif

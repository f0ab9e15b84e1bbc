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
 * chunked_read decodes into a buffer that grows up to a limit: the body
 * reading both HTTP servers share (connectors/httpd_body.c and
 * gateway/integration/http.c), each keeping its own answers.
 *
 * Threading: a decoder, and a buffer, are used by one thread. The decoder
 * allocates nothing; a buffer owns its data.
 */
#ifndef GW_CONNECTOR_CHUNKED_H
#define GW_CONNECTOR_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#define CHUNKED_LINE_MAX 4096 /* longest chunk extension, and trailer section */
#define CHUNKED_BUF_FIRST 65536 /* first allocation of a chunked body's buffer */

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

/*
 * A body's buffer, bounded at creation. data is owned by the struct
 * (malloc'ed, cap + 1 bytes, or NULL); data[len] is always a NUL once
 * allocated; len <= cap <= max. A zeroed struct with max set is an empty
 * buffer (chunked_read allocates it).
 */
struct chunked_buf {
	char *data;
	size_t len;  /* data bytes held */
	size_t cap;  /* data bytes allocated (plus one for the NUL) */
	size_t max;  /* most data bytes it may hold */
};

/*
 * chunked_buf_init - allocates `b` for `first` data bytes (at most max)
 * and sets its limit to `max` (clamped below SIZE_MAX, for the NUL). b
 * must hold no buffer (zeroed, or after chunked_buf_free).
 * Returns GW_OK; GW_ENOMEM (b->data NULL, b->cap 0, b->max set).
 */
int chunked_buf_init(struct chunked_buf *b, size_t first, size_t max);

/*
 * chunked_buf_append - appends `len` bytes of `in` (borrowed) to b, as a
 * body with a Content-Length arrives; b grows if needed, never past max,
 * and stays NUL-terminated. GW_OK; GW_ETOOBIG when the bytes would take it
 * past max (nothing appended); GW_ENOMEM when it could not grow (b
 * unchanged).
 */
int chunked_buf_append(struct chunked_buf *b, const char *in, size_t len);

/* chunked_buf_free - frees b's data (NULL: nothing); len and cap become 0,
 * max is kept. */
void chunked_buf_free(struct chunked_buf *b);

/*
 * chunked_read - decodes the next *len bytes at *in (borrowed) into `b`,
 * which grows as the data needs: doubling from CHUNKED_BUF_FIRST (or its
 * chunked_buf_init size), up to b->max. b NULL drops the data (no limit
 * then), only the framing is read. *in and *len are advanced past the
 * bytes consumed.
 * Returns GW_OK: all of the input was consumed, or the body ended
 *   (chunked_done; the bytes after it are left in *in);
 * GW_EPROTO: the framing is malformed (the body cannot be delimited);
 * GW_ETOOBIG: the data is over b->max: b holds the first b->max bytes, and
 *   *in and *len the input after them, for the caller to drop (chunked_read
 *   with b NULL goes on from there);
 * GW_ENOMEM: b could not grow (b keeps what it held, *in what is left).
 */
int chunked_read(struct chunked *c, struct chunked_buf *b, const char **in, size_t *len);

#endif

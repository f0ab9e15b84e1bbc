/*
 * chunked.c - the chunked body decoder (chunked.h): a state machine over
 * the framing bytes, with the data of a chunk copied in one piece; and the
 * reading of a body into a buffer that grows up to its limit.
 */
#include "connectors/chunked.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define CHUNKED_DIGITS_MAX 15 /* 15 hex digits: sizes below 2^60 */

enum chunked_state {
	CH_SIZE = 0,  /* hex digits of a chunk size */
	CH_EXT,       /* after the size: blanks and extensions, up to CR */
	CH_SIZE_LF,   /* the LF of the size line */
	CH_DATA,      /* the chunk's data */
	CH_DATA_CR,   /* the CRLF after the data */
	CH_DATA_LF,
	CH_TRAILER_START, /* the start of a trailer line, or the final CRLF */
	CH_TRAILER,   /* a trailer field line, up to CR */
	CH_TRAILER_LF,
	CH_END_LF,    /* the LF of the final CRLF */
	CH_DONE,
	CH_ERROR,
};

void chunked_init(struct chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = CH_SIZE;
}

int chunked_done(const struct chunked *c)
{
	return c->state == CH_DONE;
}

static int hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* A byte of a size line: digits, then blanks or ';' extensions, then CR. */
static int chunked_size_byte(struct chunked *c, unsigned char ch)
{
	int v = hexval(ch);

	if (c->state == CH_SIZE && v >= 0) {
		if (++c->digits > CHUNKED_DIGITS_MAX)
			return CH_ERROR;
		c->left = c->left * 16 + (unsigned)v;
		return CH_SIZE;
	}
	if (c->digits == 0)
		return CH_ERROR;
	if (ch == '\r')
		return CH_SIZE_LF;
	/* Blanks, then ';' before any extension (RFC 9112 7.1.1). */
	if (!c->ext && ch != ';' && ch != ' ' && ch != '\t')
		return CH_ERROR;
	if (ch == ';')
		c->ext = 1;
	/* An extension: visible characters and blanks, bounded. */
	if ((ch < 0x20 && ch != '\t') || ch == 0x7f || ++c->line > CHUNKED_LINE_MAX)
		return CH_ERROR;
	return CH_EXT;
}

/* A byte of the trailer section: field lines, then an empty line. */
static int chunked_trailer_byte(struct chunked *c, unsigned char ch)
{
	if (c->state == CH_TRAILER_START && ch == '\r')
		return CH_END_LF;
	switch (c->state) {
	case CH_TRAILER_START: /* the first byte of a field line */
	case CH_TRAILER:
		if (ch == '\r')
			return CH_TRAILER_LF;
		if (ch == '\n' || ++c->line > CHUNKED_LINE_MAX)
			return CH_ERROR;
		return CH_TRAILER;
	case CH_TRAILER_LF:
		return ch == '\n' ? CH_TRAILER_START : CH_ERROR;
	default: /* CH_END_LF */
		return ch == '\n' ? CH_DONE : CH_ERROR;
	}
}

/* The next state after one framing byte (any state but CH_DATA). */
static int chunked_byte(struct chunked *c, unsigned char ch)
{
	switch (c->state) {
	case CH_SIZE:
	case CH_EXT:
		return chunked_size_byte(c, ch);
	case CH_SIZE_LF:
		if (ch != '\n')
			return CH_ERROR;
		c->line = 0;
		return c->left == 0 ? CH_TRAILER_START : CH_DATA;
	case CH_DATA_CR:
		return ch == '\r' ? CH_DATA_LF : CH_ERROR;
	case CH_DATA_LF:
		if (ch != '\n')
			return CH_ERROR;
		c->digits = 0;
		c->left = 0;
		c->line = 0;
		c->ext = 0;
		return CH_SIZE;
	default:
		return chunked_trailer_byte(c, ch);
	}
}

/* Copies (or drops) what `in` holds of the current chunk's data. */
static int chunked_data(struct chunked *c, const char *in, size_t len, size_t *i, char *out,
			size_t cap, size_t *out_len)
{
	size_t n = len - *i;
	int rc = GW_OK;

	if ((uint64_t)n > c->left)
		n = (size_t)c->left;
	if (out && n > cap - *out_len) {
		/* What fits is taken, and counted: a caller with a larger
		 * buffer goes on from the rest of the chunk. */
		n = cap - *out_len;
		rc = GW_ETOOBIG;
	}
	if (out) {
		memcpy(out + *out_len, in + *i, n);
		*out_len += n;
	}
	*i += n;
	c->left -= n;
	c->total += n;
	if (c->left == 0)
		c->state = CH_DATA_CR;
	return rc;
}

int chunked_decode(struct chunked *c, const char *in, size_t len, size_t *used, char *out,
		   size_t cap, size_t *out_len)
{
	size_t i = 0;
	int rc = GW_OK;

	*out_len = 0;
	while (i < len && c->state != CH_DONE && c->state != CH_ERROR) {
		if (c->state == CH_DATA) {
			rc = chunked_data(c, in, len, &i, out, cap, out_len);
			if (rc != GW_OK)
				break;
			continue;
		}
		c->state = chunked_byte(c, (unsigned char)in[i]);
		if (c->state != CH_ERROR)
			i++;
	}
	*used = i;
	if (c->state == CH_ERROR)
		return GW_EPROTO;
	return rc;
}

/* Reallocates b's data for `cap` data bytes and the NUL. */
static int chunked_buf_resize(struct chunked_buf *b, size_t cap)
{
	char *p = realloc(b->data, cap + 1);

	if (!p)
		return GW_ENOMEM;
	b->data = p;
	b->cap = cap;
	b->data[b->len] = '\0';
	return GW_OK;
}

int chunked_buf_init(struct chunked_buf *b, size_t first, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max < SIZE_MAX ? max : SIZE_MAX - 1;
	return chunked_buf_resize(b, first < b->max ? first : b->max);
}

void chunked_buf_free(struct chunked_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/*
 * Room for `need` data bytes (need <= max): the allocation doubles, never
 * past max (nor wrapping), and holds need at least. GW_ENOMEM (b unchanged).
 */
static int chunked_buf_reserve(struct chunked_buf *b, size_t need)
{
	size_t cap = b->cap > b->max / 2 ? b->max : b->cap * 2;

	if (need <= b->cap)
		return GW_OK;
	return chunked_buf_resize(b, cap > need ? cap : need);
}

int chunked_buf_append(struct chunked_buf *b, const char *in, size_t len)
{
	int rc;

	if (len > b->max - b->len)
		return GW_ETOOBIG;
	rc = chunked_buf_reserve(b, b->len + len);
	if (rc)
		return rc;
	memcpy(b->data + b->len, in, len);
	b->len += len;
	b->data[b->len] = '\0';
	return GW_OK;
}

/* Decodes the input in place of a body's buffer: the data is dropped. */
static int chunked_skip(struct chunked *c, const char **in, size_t *len)
{
	size_t used, n;
	int rc = chunked_decode(c, *in, *len, &used, NULL, 0, &n);

	*in += used;
	*len -= used;
	return rc;
}

int chunked_read(struct chunked *c, struct chunked_buf *b, const char **in, size_t *len)
{
	size_t used, n;
	int rc = GW_OK;

	if (!b)
		return chunked_skip(c, in, len);
	if (!b->data) {
		rc = chunked_buf_init(b, CHUNKED_BUF_FIRST, b->max);
		if (rc)
			goto out;
	}
	for (;;) {
		rc = chunked_decode(c, *in, *len, &used, b->data + b->len, b->cap - b->len, &n);
		*in += used;
		*len -= used;
		b->len += n;
		b->data[b->len] = '\0';
		if (rc != GW_ETOOBIG || b->cap >= b->max)
			break; /* done, malformed, or over max: GW_ETOOBIG stays */
		rc = chunked_buf_reserve(b, b->cap + 1);
		if (rc)
			break;
	}
out:
	return rc;
}

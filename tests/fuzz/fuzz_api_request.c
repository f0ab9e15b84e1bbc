/*
 * fuzz_api_request.c - libFuzzer target for what the API connector reads
 * from the network: the bodies of POST /v1/messages and of
 * POST /v1/messages/{id}/status (connectors/api/api_request.h), and the
 * excerpt it keeps of a callback receiver's error answer
 * (connectors/api/api_callback.h).
 *
 * Input: the path's {id}, a NUL, then the body (no NUL: the id is empty).
 * Whatever is accepted must encode (every value within the proto limits,
 * valid UTF-8); a refusal must leave the event cleared and say why. The
 * excerpt of any bytes must be UTF-8 without control characters, within its
 * bound. Seeds: tests/fuzz/corpus/api.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "connectors/api/api_callback.h"
#include "connectors/api/api_request.h"
#include "core/err.h"
#include "proto/proto.h"

static const struct api_request_meta meta = {"api", "fuzz", 1700000000000LL};

/* check - an accepted event encodes; a refused one is cleared, with why. */
static void check(int rc, struct proto_event *ev, const struct api_request_error *err)
{
	char *buf = NULL;
	size_t len = 0;

	if (rc != GW_OK) {
		if (ev->type != PROTO_T_NONE || !err->code || !err->message[0])
			abort();
		return;
	}
	if (proto_encode(ev, &buf, &len, NULL) != GW_OK)
		abort(); /* a value over a limit or not UTF-8 */
	free(buf);
	proto_event_clear(ev);
}

static void fuzz_excerpt(const char *data, size_t size)
{
	char out[API_CB_EXCERPT_MAX + 1];
	json_t *s;

	api_callback_excerpt(data, size, out, sizeof(out));
	if (strlen(out) > API_CB_EXCERPT_MAX)
		abort();
	for (const char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
	s = json_string(out); /* NULL when not UTF-8 */
	if (!s)
		abort();
	json_decref(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *nul = memchr(in, '\0', size);
	size_t idlen = nul ? (size_t)(nul - in) : 0;
	const char *body = nul ? nul + 1 : in;
	size_t blen = nul ? size - idlen - 1 : size;
	struct api_request_error err;
	struct proto_event ev;
	char *id = malloc(idlen + 1);

	if (!id)
		return 0;
	memcpy(id, in, idlen);
	id[idlen] = '\0';
	check(api_request_parse(body, blen, &meta, &ev, &err), &ev, &err);
	check(api_status_parse(body, blen, id, &meta, &ev, &err), &ev, &err);
	fuzz_excerpt(in, size);
	free(id);
	return 0;
}

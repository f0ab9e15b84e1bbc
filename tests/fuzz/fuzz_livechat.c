/*
 * fuzz_livechat.c - libFuzzer target for the live-chat websocket frames
 * (connectors/livechat/lc_proto.c): any bytes a browser may send as a text
 * frame are parsed, refused with a reason, or read into a frame that is
 * then freed; the visitor token and the site identity checks read the same
 * input.
 *   build-fuzz/bin/fuzz_livechat -rss_limit_mb=1024 corpus tests/fuzz/corpus/livechat
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "connectors/livechat/lc_proto.h"
#include "core/err.h"

#define FUZZ_MAX_TEXT 4096
#define FUZZ_SECRET "fuzzing-secret-0123456789"

static void check_token(const uint8_t *data, size_t size)
{
	char token[512], visitor[64];

	if (size >= sizeof(token))
		return;
	memcpy(token, data, size);
	token[size] = '\0';
	lc_token_verify(FUZZ_SECRET, token, 1700000000, visitor);
}

static void check_identity(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_DISABLE_EOF_CHECK, NULL);

	if (json_is_object(j))
		lc_identity_verify(FUZZ_SECRET, j);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lc_frame f;
	char why[128];

	memset(&f, 0, sizeof(f));
	if (lc_frame_parse((const char *)data, size, FUZZ_MAX_TEXT, &f, why, sizeof(why)) == GW_OK &&
	    f.text && f.text_len > FUZZ_MAX_TEXT)
		abort(); /* a text over the bound was accepted */
	lc_frame_clear(&f);
	check_token(data, size);
	check_identity(data, size);
	return 0;
}

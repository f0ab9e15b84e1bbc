/*
 * fuzz_livechat.c - libFuzzer target for the live-chat websocket frames
 * (connectors/livechat/lc_proto.c): any bytes a browser may send as a text
 * frame are parsed, refused with a reason, or read into a frame that is
 * then freed; the visitor token and the site identity checks read the same
 * input, and so do the checks of a file upload (connectors/livechat/
 * lc_file.c: content sniffing, the declared type and name from the query,
 * the files key).
 *   build-fuzz/bin/fuzz_livechat -rss_limit_mb=1024 corpus tests/fuzz/corpus/livechat
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "connectors/livechat/lc_file.h"
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

/* What an upload's query and body go through (lc_upload.c). */
static void check_upload(const uint8_t *data, size_t size)
{
	char s[2048], name[LC_FILE_NAME_MAX + 1], type[LC_FILE_TYPE_MAX + 1];
	char conv[LC_ADDRESS_MAX];
	const char *sniffed = lc_sniff(data, size);

	if (sniffed && !lc_type_allowed("image/png,image/jpeg,image/gif,image/webp,"
					"application/pdf,text/plain", sniffed))
		abort(); /* sniffing names a type it does not know */
	if (size >= sizeof(s))
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (lc_name_clean(s, name, sizeof(name)) == GW_OK &&
	    (strpbrk(name, "/\\\"\r\n") || strlen(name) > LC_FILE_NAME_MAX || name[0] == '.'))
		abort(); /* a separator, a control or a hidden name went through */
	if (lc_type_normalize(s, type, sizeof(type)) == GW_OK && strpbrk(type, "\r\n;\" "))
		abort();
	lc_files_key_verify(FUZZ_SECRET, s, 1700000000, conv);
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
	check_upload(data, size);
	return 0;
}

/*
 * email_state.c - the durable progress of one mailbox (email_state.h).
 */
#include "store/email_state.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/err.h"
#include "core/util.h"

#define STATE_VERSION 1
#define STATE_MAX_BYTES 65536

/* A JSON integer member in [0, UINT32_MAX]; 0 when absent. */
static int email_state_u32(json_t *doc, const char *key, uint32_t *out)
{
	json_t *v = json_object_get(doc, key);
	json_int_t n;

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v))
		return -1;
	n = json_integer_value(v);
	if (n < 0 || n > (json_int_t)UINT32_MAX)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

int email_state_load(const char *path, const char *url, struct email_state *st, int *fresh,
		     char *why, size_t whylen)
{
	char *text = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	json_error_t jerr;
	const char *saved_url;
	int rc;

	memset(st, 0, sizeof(*st));
	*fresh = 0;
	rc = gw_read_file(path, STATE_MAX_BYTES, &text, &len);
	if (rc == GW_ENOTFOUND) {
		*fresh = 1;
		rc = GW_OK;
		goto out;
	}
	if (rc != GW_OK)
		goto out;
	rc = GW_EPROTO;
	doc = json_loadb(text, len, 0, &jerr);
	if (!doc || !json_is_object(doc)) {
		snprintf(why, whylen, "not a JSON object (%s)", doc ? "" : jerr.text);
		goto out;
	}
	if (json_integer_value(json_object_get(doc, "version")) != STATE_VERSION) {
		snprintf(why, whylen, "version is not %d", STATE_VERSION);
		goto out;
	}
	saved_url = json_string_value(json_object_get(doc, "url"));
	if (!saved_url || strcmp(saved_url, url) != 0) {
		/* Another mailbox was configured: its progress says nothing here. */
		*fresh = 1;
		rc = GW_OK;
		goto out;
	}
	if (email_state_u32(doc, "uidvalidity", &st->uidvalidity) ||
	    email_state_u32(doc, "last_uid", &st->last_uid) ||
	    email_state_u32(doc, "pending_from", &st->pending_from) ||
	    st->pending_from > st->last_uid) {
		snprintf(why, whylen, "uidvalidity, last_uid or pending_from out of range");
		memset(st, 0, sizeof(*st));
		goto out;
	}
	rc = GW_OK;
out:
	json_decref(doc);
	free(text);
	return rc;
}

int email_state_save(const char *path, const char *url, const struct email_state *st)
{
	json_t *doc = json_pack("{s:i, s:s, s:I, s:I, s:I}", "version", STATE_VERSION, "url", url,
				"uidvalidity", (json_int_t)st->uidvalidity, "last_uid",
				(json_int_t)st->last_uid, "pending_from",
				(json_int_t)st->pending_from);
	char *text = NULL;
	int rc = GW_ENOMEM;

	if (!doc)
		goto out;
	text = json_dumps(doc, JSON_COMPACT);
	if (!text)
		goto out;
	rc = gw_write_file_durable(path, text, strlen(text));
out:
	free(text);
	json_decref(doc);
	return rc;
}

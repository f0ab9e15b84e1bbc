/*
 * email_state.c - the durable progress of one mailbox (email_state.h).
 */
#include "store/email_state.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "store/state_file.h"

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
	json_t *doc = NULL;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = state_file_load(path, STATE_MAX_BYTES, STATE_VERSION, "url", url, &doc, fresh, why,
			     whylen);
	if (rc != GW_OK || !doc)
		return rc;
	if (email_state_u32(doc, "uidvalidity", &st->uidvalidity) ||
	    email_state_u32(doc, "last_uid", &st->last_uid) ||
	    email_state_u32(doc, "pending_from", &st->pending_from) ||
	    st->pending_from > st->last_uid) {
		snprintf(why, whylen, "uidvalidity, last_uid or pending_from out of range");
		memset(st, 0, sizeof(*st));
		rc = GW_EPROTO;
	}
	json_decref(doc);
	return rc;
}

int email_state_save(const char *path, const char *url, const struct email_state *st)
{
	return state_file_save(path, json_pack("{s:i, s:s, s:I, s:I, s:I}", "version",
					       STATE_VERSION, "url", url, "uidvalidity",
					       (json_int_t)st->uidvalidity, "last_uid",
					       (json_int_t)st->last_uid, "pending_from",
					       (json_int_t)st->pending_from));
}

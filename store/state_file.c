/*
 * state_file.c - a channel's small versioned progress file (state_file.h).
 */
#include "store/state_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* state_file_check - `doc` is an object of `version` (-1 with why else). */
static int state_file_check(const json_t *doc, const json_error_t *jerr, int version, char *why,
			    size_t whylen)
{
	if (!doc || !json_is_object(doc)) {
		snprintf(why, whylen, "not a JSON object%s%s", doc ? "" : ": ",
			 doc ? "" : jerr->text);
		return -1;
	}
	if (json_integer_value(json_object_get(doc, "version")) != version) {
		snprintf(why, whylen, "version is not %d", version);
		return -1;
	}
	return 0;
}

int state_file_load(const char *path, size_t max_bytes, int version, const char *owner_key,
		    const char *owner, json_t **doc, int *fresh, char *why, size_t whylen)
{
	char *text = NULL;
	size_t len = 0;
	json_t *d = NULL;
	json_error_t jerr;
	const char *saved;
	int rc;

	*doc = NULL;
	*fresh = 0;
	rc = gw_read_file(path, max_bytes, &text, &len);
	if (rc == GW_ENOTFOUND) {
		*fresh = 1;
		rc = GW_OK;
		goto out;
	}
	if (rc != GW_OK)
		goto out;
	d = json_loadb(text, len, 0, &jerr);
	if (state_file_check(d, &jerr, version, why, whylen) != 0) {
		rc = GW_EPROTO;
		goto out;
	}
	saved = json_string_value(json_object_get(d, owner_key));
	if (!saved || strcmp(saved, owner) != 0) {
		*fresh = 1; /* another owner's: it says nothing here */
		goto out;
	}
	*doc = d;
	d = NULL;
out:
	json_decref(d);
	free(text);
	return rc;
}

int state_file_save(const char *path, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	int rc = text ? gw_write_file_durable(path, text, strlen(text)) : GW_ENOMEM;

	free(text);
	json_decref(doc);
	return rc;
}

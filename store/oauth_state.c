/*
 * oauth_state.c - the refresh token an email instance's token endpoint
 * rotated, kept durably (oauth_state.h).
 */
#include "store/oauth_state.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "core/util.h"
#include "store/attachments.h"
#include "store/state_file.h"

#define OAUTH_STATE_VERSION 1
#define OAUTH_STATE_MAX_BYTES (OAUTH_STATE_TOKEN_MAX * 2 + 1024)

/* configured_hash - the owner of the file: the configured token's SHA-256
 * in hex (the file never names the configured token itself). */
static int configured_hash(const char *configured, char hex[ATTACH_HEX_LEN + 1])
{
	return attach_sha256_hex(configured, strlen(configured), hex);
}

int oauth_state_load(const char *path, const char *configured, char **token, char *why,
		     size_t whylen)
{
	char hex[ATTACH_HEX_LEN + 1];
	json_t *doc = NULL;
	const char *t;
	int fresh = 0, rc;

	*token = NULL;
	rc = configured_hash(configured, hex);
	if (rc != GW_OK)
		return rc;
	rc = state_file_load(path, OAUTH_STATE_MAX_BYTES, OAUTH_STATE_VERSION, "configured", hex,
			     &doc, &fresh, why, whylen);
	if (rc != GW_OK || !doc)
		return rc;
	t = json_string_value(json_object_get(doc, "refresh_token"));
	if (!t || !t[0] || strlen(t) > OAUTH_STATE_TOKEN_MAX) {
		snprintf(why, whylen, "refresh_token: not a string of 1 to %d bytes",
			 OAUTH_STATE_TOKEN_MAX);
		rc = GW_EPROTO;
	} else {
		*token = gw_strdup(t);
		rc = *token ? GW_OK : GW_ENOMEM;
	}
	json_decref(doc);
	return rc;
}

int oauth_state_save(const char *path, const char *configured, const char *token)
{
	char hex[ATTACH_HEX_LEN + 1];
	json_t *doc;
	int rc;

	if (!token[0] || strlen(token) > OAUTH_STATE_TOKEN_MAX)
		return GW_EINVAL;
	rc = configured_hash(configured, hex);
	if (rc != GW_OK)
		return rc;
	doc = json_pack("{s:i, s:s, s:s}", "version", OAUTH_STATE_VERSION, "configured", hex,
			"refresh_token", token);
	return state_file_save(path, doc);
}

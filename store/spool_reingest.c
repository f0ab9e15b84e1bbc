/*
 * spool_reingest.c - a connector's reingest request and answer files
 * (spool_reingest.h).
 */
#include "store/spool_reingest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/util.h"

uint64_t spool_reingest_request_id(const char *name)
{
	char *end = NULL;
	unsigned long long v;

	if (name[0] < '1' || name[0] > '9')
		return 0;
	errno = 0;
	v = strtoull(name, &end, 10);
	if (errno || !end || strcmp(end, ".request") != 0)
		return 0;
	return (uint64_t)v;
}

int spool_reingest_answer(const char *dir, const char *instance, uint64_t id,
			  const char *result, const char *reason)
{
	char path[4200], sid[320];
	json_t *doc = NULL;
	char *text = NULL;
	int n, rc;

	n = snprintf(path, sizeof(path), "%s/%" PRIu64 ".done", dir, id);
	rc = n < 0 || (size_t)n >= sizeof(path) ? GW_EINVAL : GW_OK;
	if (rc)
		goto out;
	snprintf(sid, sizeof(sid), "%s/%" PRIu64, instance, id);
	doc = json_pack("{s:s,s:s,s:s,s:I}", "id", sid, "result", result, "reason",
			reason ? reason : "", "at", (json_int_t)gw_now_ms());
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	rc = text ? gw_write_file_atomic(path, text, strlen(text)) : GW_ENOMEM;
out:
	free(text);
	json_decref(doc);
	return rc;
}

/*
 * quarantine.c - the email connector's side of the quarantine
 * (quarantine.h): writing entries and answering reingest requests.
 * gatewayctl's side (list, show, request a reingest) is gateway/
 * ctl_quarantine.c; the layout is the contract between the two.
 */
#include "store/quarantine.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "store/email_state.h"
#include "core/err.h"
#include "core/util.h"

#define QUARANTINE_JSON_MAX 65536

struct quarantine {
	char dir[4096];
	char reqdir[4096];
	const char *instance;
	const char *mailbox;
};

int quarantine_valid_id(const char *id)
{
	size_t i = 0, dash = 0, n = strlen(id);

	if (n == 0 || n >= QUARANTINE_ID_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if (id[i] == '-' && !dash && i > 0 && i + 1 < n)
			dash = i;
		else if (id[i] < '0' || id[i] > '9')
			return 0;
	}
	return dash != 0;
}

int quarantine_open(const char *state_dir, const char *instance, const char *mailbox,
		    struct quarantine **out)
{
	struct quarantine *q = calloc(1, sizeof(*q));
	int rc = GW_EINVAL;

	*out = NULL;
	if (!q)
		return GW_ENOMEM;
	q->instance = instance;
	q->mailbox = mailbox;
	if (snprintf(q->dir, sizeof(q->dir), "%s/quarantine/%s", state_dir, instance) >=
		    (int)sizeof(q->dir) ||
	    snprintf(q->reqdir, sizeof(q->reqdir), "%s/reingest", q->dir) >= (int)sizeof(q->reqdir))
		goto out;
	rc = gw_mkdir_p(q->reqdir);
out:
	if (rc != GW_OK) {
		free(q);
		return rc;
	}
	*out = q;
	return GW_OK;
}

void quarantine_close(struct quarantine *q)
{
	free(q);
}

/* path = <dir>/<id><ext> */
static int quarantine_path(const char *dir, const char *id, const char *ext, char *path,
			   size_t size)
{
	int n = snprintf(path, size, "%s/%s%s", dir, id, ext);

	return n < 0 || (size_t)n >= size ? GW_EINVAL : GW_OK;
}

static int quarantine_write_json(const char *path, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	int rc = text ? gw_write_file_durable(path, text, strlen(text)) : GW_ENOMEM;

	free(text);
	return rc;
}

int quarantine_put(struct quarantine *q, uint32_t v, uint32_t uid, const void *raw, size_t len,
		   uint64_t size, const char *reason)
{
	char id[QUARANTINE_ID_MAX], full[QUARANTINE_ID_MAX + 256], path[4200];
	json_t *doc = NULL;
	int rc;

	snprintf(id, sizeof(id), "%u-%u", v, uid);
	snprintf(full, sizeof(full), "%s/%s", q->instance, id);
	if (raw) {
		rc = quarantine_path(q->dir, id, ".eml", path, sizeof(path));
		if (rc == GW_OK)
			rc = gw_write_file_durable(path, raw, len);
		if (rc != GW_OK)
			return rc;
	}
	doc = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:I, s:b}", "id", full, "instance",
			q->instance, "mailbox", q->mailbox, "uidvalidity", (json_int_t)v, "uid",
			(json_int_t)uid, "reason", reason, "quarantined_at",
			(json_int_t)gw_now_ms(), "size", (json_int_t)size, "stored", raw != NULL);
	rc = quarantine_path(q->dir, id, ".json", path, sizeof(path));
	if (rc == GW_OK)
		rc = quarantine_write_json(path, doc);
	json_decref(doc);
	return rc;
}

int quarantine_next_request(struct quarantine *q, char id[QUARANTINE_ID_MAX])
{
	DIR *d = opendir(q->reqdir);
	struct dirent *e;
	int rc = GW_ENOTFOUND;

	if (!d)
		return GW_ENOTFOUND;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n <= 8 || strcmp(e->d_name + n - 8, ".request") != 0 ||
		    n - 8 >= QUARANTINE_ID_MAX)
			continue;
		memcpy(id, e->d_name, n - 8);
		id[n - 8] = '\0';
		if (quarantine_valid_id(id)) {
			rc = GW_OK;
			break;
		}
	}
	closedir(d);
	return rc;
}

int quarantine_load(struct quarantine *q, const char *id, size_t max, char **raw, size_t *len)
{
	char path[4200];
	int rc;

	*raw = NULL;
	*len = 0;
	rc = quarantine_path(q->dir, id, ".json", path, sizeof(path));
	if (rc != GW_OK)
		return rc;
	if (access(path, F_OK) != 0)
		return GW_ENOTFOUND;
	rc = quarantine_path(q->dir, id, ".eml", path, sizeof(path));
	if (rc == GW_OK)
		rc = gw_read_file(path, max, raw, len);
	return rc == GW_ENOTFOUND ? GW_EMISSING : rc;
}

/* Replaces the reason in the entry's JSON. */
static int quarantine_set_reason(struct quarantine *q, const char *id, const char *reason)
{
	char path[4200], *text = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	int rc = quarantine_path(q->dir, id, ".json", path, sizeof(path));

	if (rc == GW_OK)
		rc = gw_read_file(path, QUARANTINE_JSON_MAX, &text, &len);
	if (rc != GW_OK)
		goto out;
	doc = json_loadb(text, len, 0, NULL);
	if (!doc || json_object_set_new(doc, "reason", json_string(reason)) != 0 ||
	    json_object_set_new(doc, "reingested_at", json_integer(gw_now_ms())) != 0) {
		rc = GW_EPROTO;
		goto out;
	}
	rc = quarantine_write_json(path, doc);
out:
	json_decref(doc);
	free(text);
	return rc;
}

/* Deletes the entry's files; one already gone is no error. */
static int quarantine_remove(struct quarantine *q, const char *id)
{
	static const char *const exts[] = {".eml", ".json"};
	char path[4200];
	int rc = GW_OK;

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		int prc = quarantine_path(q->dir, id, exts[i], path, sizeof(path));

		if (prc == GW_OK && unlink(path) != 0 && errno != ENOENT)
			prc = GW_EIO;
		if (rc == GW_OK)
			rc = prc;
	}
	return rc;
}

int quarantine_answer(struct quarantine *q, const char *id, const char *result,
		      const char *reason, int remove)
{
	char path[4200], full[QUARANTINE_ID_MAX + 256];
	json_t *doc;
	int rc = GW_OK, arc;

	if (remove)
		rc = quarantine_remove(q, id);
	else if (reason && reason[0])
		rc = quarantine_set_reason(q, id, reason);
	if (rc == GW_ENOTFOUND)
		rc = GW_OK; /* no entry to give the reason to: the answer says it */
	snprintf(full, sizeof(full), "%s/%s", q->instance, id);
	doc = json_pack("{s:s, s:s, s:s, s:I}", "id", full, "result", result, "reason",
			reason ? reason : "", "at", (json_int_t)gw_now_ms());
	arc = quarantine_path(q->reqdir, id, ".done", path, sizeof(path));
	if (arc == GW_OK)
		arc = quarantine_write_json(path, doc);
	json_decref(doc);
	/* The request goes even if the answer could not be written: no loop. */
	if (quarantine_path(q->reqdir, id, ".request", path, sizeof(path)) == GW_OK &&
	    unlink(path) != 0 && errno != ENOENT && arc == GW_OK)
		arc = GW_EIO;
	return rc != GW_OK ? rc : arc;
}

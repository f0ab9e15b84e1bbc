/*
 * tg_files.c - Telegram's source for the shared downloader (tg_files.h):
 * which attachments are Telegram files, and getFile to find their bytes.
 */
#include "connectors/telegram/tg_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "connectors/telegram/tg_api.h"
#include "core/err.h"
#include "core/util.h"

#define TG_FILES_PATH_MAX 1024 /* a getFile file_path */

struct tg_files {
	struct download *dl;
	char *api_url, *token; /* the source's, read on the worker */
};

static int tg_files_wants(void *arg, const struct proto_message *m,
			  const struct proto_attachment *a)
{
	(void)arg, (void)m;
	return a->ref && strncmp(a->ref, TG_FILE_REF_PREFIX, strlen(TG_FILE_REF_PREFIX)) == 0 &&
	       a->ref[strlen(TG_FILE_REF_PREFIX)] != '\0';
}

/* getFile's file_path and file_size of `file_id`. */
static int tg_files_get(struct tg_files *f, struct dl_xfer *x, const char *file_id,
			char *path, size_t pathlen, long long *size)
{
	char url[DL_URL_MAX], method[DL_URL_MAX], esc[DL_URL_MAX];
	json_t *root = NULL, *res;
	const char *fp;
	int rc = dl_escape(x, file_id, esc, sizeof(esc));

	if (rc == GW_OK && (size_t)snprintf(method, sizeof(method), "getFile?file_id=%s", esc)
			   >= sizeof(method))
		rc = GW_ETOOBIG;
	if (rc == GW_OK)
		rc = tg_method_url(url, sizeof(url), f->api_url, f->token, method);
	if (rc != GW_OK)
		dl_why(x, "getFile: a file_id that does not fit in a URL");
	if (rc == GW_OK)
		rc = dl_get_json(x, url, 0, "getFile", &root);
	OPENSSL_cleanse(url, sizeof(url));
	res = json_object_get(root, "result");
	fp = json_string_value(json_object_get(res, "file_path"));
	if (rc == GW_OK && (!json_is_true(json_object_get(root, "ok")) || !fp ||
			    (size_t)snprintf(path, pathlen, "%s", fp) >= pathlen)) {
		dl_why(x, "getFile: no file_path in the answer");
		rc = GW_EPROTO;
	}
	if (rc == GW_OK && json_is_integer(json_object_get(res, "file_size")))
		*size = (long long)json_integer_value(json_object_get(res, "file_size"));
	json_decref(root);
	return rc;
}

static int tg_files_resolve(void *arg, struct dl_xfer *x, const struct proto_message *m,
			    const struct proto_attachment *a, struct dl_target *t)
{
	struct tg_files *f = arg;
	char path[TG_FILES_PATH_MAX];
	int rc;

	(void)m;
	rc = tg_files_get(f, x, a->ref + strlen(TG_FILE_REF_PREFIX), path, sizeof(path),
			  &t->size);
	if (rc == GW_OK && (rc = tg_file_url(t->url, sizeof(t->url), f->api_url, f->token,
					     path)) != GW_OK)
		dl_why(x, "getFile: a file_path that cannot be fetched");
	return rc;
}

static void tg_files_list_clear(void *list)
{
	tg_events_clear(list);
}

int tg_files_create(const struct tg_files_options *opt, struct tg_files **out)
{
	struct tg_files *f = calloc(1, sizeof(*f));
	struct dl_options o = {
		.dir = opt->dir,
		.max_bytes = opt->max_bytes,
		.limit_key = "file_max_bytes",
		.provider = "Telegram",
		.budget_ms = opt->budget_ms,
		.log_module = opt->log_module ? opt->log_module : "telegram",
		.source = {.wants = tg_files_wants, .resolve = tg_files_resolve, .arg = f},
		.list_size = sizeof(struct tg_events),
		.list_clear = tg_files_list_clear,
		.notify = opt->notify,
		.arg = opt->arg,
	};
	int rc = f ? GW_OK : GW_ENOMEM;

	*out = NULL;
	if (rc == GW_OK) {
		f->api_url = gw_strdup(opt->api_url);
		f->token = gw_strdup(opt->token);
		if (!f->api_url || !f->token)
			rc = GW_ENOMEM;
	}
	if (rc == GW_OK)
		rc = dl_create(&o, &f->dl);
	if (rc != GW_OK) {
		tg_files_destroy(f);
		return rc;
	}
	*out = f;
	return GW_OK;
}

void tg_files_destroy(struct tg_files *f)
{
	if (!f)
		return;
	dl_destroy(f->dl); /* first: the worker reads the token */
	if (f->token)
		OPENSSL_cleanse(f->token, strlen(f->token));
	free(f->api_url);
	free(f->token);
	free(f);
}

size_t tg_files_wanted(const struct tg_files *f, const struct tg_events *evs)
{
	return f ? dl_wanted(f->dl, evs->ev, evs->n) : 0;
}

int tg_files_submit(struct tg_files *f, uint64_t ticket, struct tg_events *evs)
{
	int rc = dl_submit(f->dl, ticket, evs, evs->ev, evs->n);

	if (rc == GW_OK) {
		memset(evs, 0, sizeof(*evs));
		evs->max_update_id = -1;
	}
	return rc;
}

int tg_files_take_done(struct tg_files *f, uint64_t *ticket, struct tg_events *evs)
{
	return dl_take_done(f->dl, ticket, evs);
}

void tg_files_stats(const struct tg_files *f, struct dl_stats *st)
{
	dl_stats(f ? f->dl : NULL, st);
}

/*
 * tg_files.c - Telegram file downloads into the attachments folder
 * (tg_files.h).
 *
 * One worker thread takes jobs (the events of one update or answer) from a
 * bounded queue, downloads each file with libcurl and moves the job to the
 * done list. A transfer is bounded in bytes (max_bytes, checked as it
 * streams: the bytes are held in memory, at most max_bytes of them), in
 * time (the job's deadline) and aborts at once when the downloader stops.
 * attach_put() makes the bytes durable under their SHA-256.
 */
#include "connectors/telegram/tg_files.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "connectors/curl_err.h"
#include "connectors/telegram/tg_api.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/attachments.h"

#define TG_FILES_JSON_MAX (64 * 1024) /* a getFile answer */
#define TG_FILES_CONNECT_MS 5000
#define TG_FILES_URL_MAX 4096
#define TG_FILES_USER_AGENT "omnigate-telegram/1"

struct tg_job {
	uint64_t ticket;
	struct tg_events evs;
	int64_t deadline_us;
};

struct tg_files {
	char *api_url, *token, *dir, *module;
	long long max_bytes, budget_ms;
	void (*notify)(void *arg);
	void *arg;
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct tg_job *todo[TG_FILES_QUEUE_MAX]; /* FIFO of todo_n from todo_head */
	size_t todo_head, todo_n;
	struct tg_job *done[TG_FILES_QUEUE_MAX];
	size_t done_n, busy;
	atomic_int stop;
	atomic_uint_fast64_t stored, failed;
};

/* A transfer's state, on the worker. */
struct tg_xfer {
	struct tg_files *f;
	CURL *curl;
	int64_t deadline_us;
	char why[160]; /* the cause of the last failure, for the log */
};

/* A bounded memory sink. */
struct tg_buf {
	char *data;
	size_t len, cap, max;
	int over;
};

static void tg_job_free(struct tg_job *j)
{
	if (!j)
		return;
	tg_events_clear(&j->evs);
	free(j);
}

/* ---- libcurl ------------------------------------------------------------- */

static size_t tg_buf_write(char *p, size_t size, size_t n, void *arg)
{
	struct tg_buf *b = arg;
	size_t len = size * n;
	char *d;

	if (len > b->max - b->len) {
		b->over = 1;
		return 0; /* curl fails the transfer */
	}
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;

		while (cap < b->len + len)
			cap *= 2;
		if (cap > b->max)
			cap = b->max;
		d = realloc(b->data, cap);
		if (!d)
			return 0;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return len;
}

static int tg_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct tg_xfer *x = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return atomic_load(&x->f->stop) ? 1 : 0;
}

/* tg_get - GET `url` into b; GW_OK when it answered 200. `what` names it
 * in the reason (never the URL: it holds the token). */
static int tg_get(struct tg_xfer *x, const char *url, struct tg_buf *b, const char *what)
{
	int64_t left_ms = (x->deadline_us - gw_mono_us()) / 1000;
	long status = 0;
	CURLcode cc;
	CURL *c = x->curl;

	if (left_ms <= 0) {
		snprintf(x->why, sizeof(x->why), "time budget spent");
		return GW_EAGAIN;
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, TG_FILES_USER_AGENT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(left_ms < TG_FILES_CONNECT_MS ? left_ms : TG_FILES_CONNECT_MS));
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, tg_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tg_buf_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)b->max);
	cc = curl_easy_perform(c);
	if (b->over || cc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(x->why, sizeof(x->why), "%s: larger than file_max_bytes (%lld)", what,
			 x->f->max_bytes);
		return GW_ETOOBIG;
	}
	if (cc != CURLE_OK) {
		snprintf(x->why, sizeof(x->why), "%s: %s", what, curl_easy_strerror(cc));
		return gw_curl_err(cc);
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(x->why, sizeof(x->why), "%s: HTTP %ld", what, status);
		return GW_EIO;
	}
	return GW_OK;
}

/* ---- one file ------------------------------------------------------------- */

/* tg_file_path - getFile's file_path of `file_id` into path. */
static int tg_file_path(struct tg_xfer *x, const char *file_id, char *path, size_t pathlen)
{
	struct tg_buf b = {.max = TG_FILES_JSON_MAX};
	char url[TG_FILES_URL_MAX], method[TG_FILES_URL_MAX];
	char *esc = curl_easy_escape(x->curl, file_id, 0);
	json_t *root = NULL, *res;
	int rc = esc ? GW_OK : GW_ENOMEM;

	if (rc == GW_OK)
		snprintf(method, sizeof(method), "getFile?file_id=%s", esc);
	curl_free(esc);
	if (rc == GW_OK)
		rc = tg_method_url(url, sizeof(url), x->f->api_url, x->f->token, method);
	if (rc == GW_OK)
		rc = tg_get(x, url, &b, "getFile");
	OPENSSL_cleanse(url, sizeof(url));
	if (rc == GW_OK) {
		root = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
		res = json_object_get(root, "result");
		if (!json_is_true(json_object_get(root, "ok")) ||
		    !json_is_string(json_object_get(res, "file_path")) ||
		    snprintf(path, pathlen, "%s", json_string_value(json_object_get(res, "file_path")))
			    >= (int)pathlen) {
			snprintf(x->why, sizeof(x->why), "getFile: no file_path in the answer");
			rc = GW_EPROTO;
		}
	}
	json_decref(root);
	free(b.data);
	return rc;
}

/* tg_rewrite - the attachment now names the stored bytes. */
static int tg_rewrite(struct proto_attachment *a, const char *hex, size_t len)
{
	size_t n = strlen(ATTACH_REF_PREFIX) + ATTACH_HEX_LEN + 1;
	char *ref = malloc(n);

	if (!ref)
		return GW_ENOMEM;
	snprintf(ref, n, ATTACH_REF_PREFIX "%s", hex);
	free(a->ref);
	a->ref = ref;
	a->size = (uint64_t)len;
	return GW_OK;
}

static int tg_fetch_one(struct tg_xfer *x, struct proto_attachment *a, const char *file_id)
{
	struct tg_buf b = {.max = (size_t)x->f->max_bytes};
	char path[1024], url[TG_FILES_URL_MAX], hex[ATTACH_HEX_LEN + 1];
	int rc;

	if (a->size > (uint64_t)x->f->max_bytes) {
		snprintf(x->why, sizeof(x->why), "%llu bytes, over file_max_bytes (%lld)",
			 (unsigned long long)a->size, x->f->max_bytes);
		return GW_ETOOBIG;
	}
	rc = tg_file_path(x, file_id, path, sizeof(path));
	if (rc == GW_OK && (rc = tg_file_url(url, sizeof(url), x->f->api_url, x->f->token,
					     path)) != GW_OK)
		snprintf(x->why, sizeof(x->why), "getFile: a file_path that cannot be fetched");
	if (rc == GW_OK)
		rc = tg_get(x, url, &b, "download");
	OPENSSL_cleanse(url, sizeof(url));
	if (rc == GW_OK) {
		rc = attach_put(x->f->dir, b.data ? b.data : "", b.len, (uint64_t)x->f->max_bytes,
				hex);
		if (rc != GW_OK)
			snprintf(x->why, sizeof(x->why), "cannot store the file: %s",
				 gw_err_text(rc));
	}
	if (rc == GW_OK)
		rc = tg_rewrite(a, hex, b.len);
	free(b.data);
	return rc;
}

static void tg_fetch_message(struct tg_xfer *x, struct proto_message *m)
{
	size_t plen = strlen(TG_FILE_REF_PREFIX);

	for (size_t i = 0; i < m->attachments_len && !atomic_load(&x->f->stop); i++) {
		struct proto_attachment *a = &m->attachments[i];

		if (!a->ref || strncmp(a->ref, TG_FILE_REF_PREFIX, plen) != 0)
			continue;
		x->why[0] = '\0';
		if (tg_fetch_one(x, a, a->ref + plen) == GW_OK) {
			atomic_fetch_add(&x->f->stored, 1);
			continue;
		}
		atomic_fetch_add(&x->f->failed, 1);
		GW_WARN(x->f->module, "file of message %s not downloaded (%s); the event keeps its "
			"file_id", m->external_id ? m->external_id : "?",
			x->why[0] ? x->why : "error");
	}
}

static int tg_has_files(const struct proto_event *ev)
{
	return ev->type == PROTO_T_MESSAGE_RECEIVED && ev->u.message.attachments_len > 0;
}

size_t tg_files_wanted(const struct tg_events *evs)
{
	size_t n = 0, plen = strlen(TG_FILE_REF_PREFIX);

	for (size_t i = 0; i < evs->n; i++) {
		const struct proto_message *m = &evs->ev[i].u.message;

		for (size_t j = 0; tg_has_files(&evs->ev[i]) && j < m->attachments_len; j++)
			n += m->attachments[j].ref &&
			     strncmp(m->attachments[j].ref, TG_FILE_REF_PREFIX, plen) == 0;
	}
	return n;
}

/* ---- the worker ------------------------------------------------------------- */

static struct tg_job *tg_next(struct tg_files *f)
{
	struct tg_job *j = NULL;

	pthread_mutex_lock(&f->lock);
	while (!atomic_load(&f->stop) && f->todo_n == 0)
		pthread_cond_wait(&f->cond, &f->lock);
	if (!atomic_load(&f->stop)) {
		j = f->todo[f->todo_head];
		f->todo_head = (f->todo_head + 1) % TG_FILES_QUEUE_MAX;
		f->todo_n--;
		f->busy++;
	}
	pthread_mutex_unlock(&f->lock);
	return j;
}

static void tg_done(struct tg_files *f, struct tg_job *j)
{
	pthread_mutex_lock(&f->lock);
	/* Never full: todo + busy + done stay within TG_FILES_QUEUE_MAX. */
	f->done[f->done_n++] = j;
	f->busy--;
	pthread_mutex_unlock(&f->lock);
	if (f->notify)
		f->notify(f->arg);
}

static void *tg_worker(void *arg)
{
	struct tg_files *f = arg;
	struct tg_xfer x = {.f = f, .curl = curl_easy_init()};
	struct tg_job *j;

	while ((j = tg_next(f)) != NULL) {
		x.deadline_us = j->deadline_us;
		for (size_t i = 0; x.curl && i < j->evs.n && !atomic_load(&f->stop); i++)
			if (tg_has_files(&j->evs.ev[i]))
				tg_fetch_message(&x, &j->evs.ev[i].u.message);
		if (!x.curl)
			GW_WARN(f->module, "no libcurl handle: files of job %llu not downloaded",
				(unsigned long long)j->ticket);
		tg_done(f, j);
	}
	curl_easy_cleanup(x.curl);
	return NULL;
}

int tg_files_submit(struct tg_files *f, uint64_t ticket, struct tg_events *evs)
{
	struct tg_job *j;
	int rc = GW_OK;

	pthread_mutex_lock(&f->lock);
	if (f->todo_n + f->busy + f->done_n >= TG_FILES_QUEUE_MAX)
		rc = GW_EFULL;
	pthread_mutex_unlock(&f->lock);
	if (rc != GW_OK)
		return rc;
	j = calloc(1, sizeof(*j));
	if (!j)
		return GW_ENOMEM;
	j->ticket = ticket;
	j->evs = *evs;
	j->deadline_us = gw_mono_us() + f->budget_ms * 1000;
	memset(evs, 0, sizeof(*evs));
	evs->max_update_id = -1;
	pthread_mutex_lock(&f->lock);
	f->todo[(f->todo_head + f->todo_n) % TG_FILES_QUEUE_MAX] = j;
	f->todo_n++;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	return GW_OK;
}

int tg_files_take_done(struct tg_files *f, uint64_t *ticket, struct tg_events *evs)
{
	struct tg_job *j = NULL;

	pthread_mutex_lock(&f->lock);
	if (f->done_n > 0) {
		j = f->done[0];
		memmove(f->done, f->done + 1, (f->done_n - 1) * sizeof(f->done[0]));
		f->done_n--;
	}
	pthread_mutex_unlock(&f->lock);
	if (!j)
		return 0;
	*ticket = j->ticket;
	*evs = j->evs;
	free(j);
	return 1;
}

void tg_files_stats(struct tg_files *f, struct tg_files_stats *st)
{
	st->stored = f ? atomic_load(&f->stored) : 0;
	st->failed = f ? atomic_load(&f->failed) : 0;
}

/* ---- lifecycle ----------------------------------------------------------------- */

static int tg_files_init(struct tg_files *f, const struct tg_files_options *opt)
{
	f->api_url = gw_strdup(opt->api_url);
	f->token = gw_strdup(opt->token);
	f->dir = gw_strdup(opt->dir);
	f->module = gw_strdup(opt->log_module ? opt->log_module : "telegram");
	f->max_bytes = opt->max_bytes;
	f->budget_ms = opt->budget_ms;
	f->notify = opt->notify;
	f->arg = opt->arg;
	if (!f->api_url || !f->token || !f->dir || !f->module)
		return GW_ENOMEM;
	return gw_mkdir_p(f->dir);
}

int tg_files_create(const struct tg_files_options *opt, struct tg_files **out)
{
	struct tg_files *f = calloc(1, sizeof(*f));
	int rc;

	*out = NULL;
	if (!f)
		return GW_ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	/* Before the worker exists: curl_global_init is not thread-safe. */
	rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? GW_OK : GW_EIO;
	if (rc == GW_OK)
		rc = tg_files_init(f, opt);
	if (rc == GW_OK) {
		rc = pthread_create(&f->thread, NULL, tg_worker, f) == 0 ? GW_OK : GW_EIO;
		f->started = rc == GW_OK;
	}
	if (rc != GW_OK) {
		GW_ERROR(opt->log_module ? opt->log_module : "telegram",
			 "cannot start the file downloader into %s: %s", opt->dir, gw_strerror(rc));
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
	if (f->started) {
		pthread_mutex_lock(&f->lock);
		atomic_store(&f->stop, 1);
		pthread_cond_broadcast(&f->cond);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->thread, NULL);
	}
	for (size_t i = 0; i < f->todo_n; i++)
		tg_job_free(f->todo[(f->todo_head + i) % TG_FILES_QUEUE_MAX]);
	for (size_t i = 0; i < f->done_n; i++)
		tg_job_free(f->done[i]);
	if (f->token)
		OPENSSL_cleanse(f->token, strlen(f->token));
	free(f->api_url);
	free(f->token);
	free(f->dir);
	free(f->module);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

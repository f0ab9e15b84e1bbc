/*
 * media.c - WhatsApp media download into content-addressed files (media.h).
 *
 * One worker thread takes jobs (the events of one webhook) from a bounded
 * queue, downloads each attachment with libcurl and moves the job to the
 * done list. A transfer is bounded in bytes (max_bytes, checked as it
 * streams), in time (the job's deadline) and aborts at once when the
 * downloader stops. Bytes stream into a temporary file in the media folder
 * while they are hashed; the file is then fsync'ed and renamed to its
 * SHA-256, and the folder fsync'ed, so a stored name always holds the whole
 * content.
 */
#include "connectors/meta/media.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "connectors/curl_err.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/proto.h"

#define MEDIA_JSON_MAX (64 * 1024)   /* Graph metadata answer */
#define MEDIA_CONNECT_MS 3000
#define MEDIA_ID_MAX 128
#define MEDIA_URL_MAX 4096
#define MEDIA_MAX_REDIRS 3
#define MEDIA_USER_AGENT "omnigate-media/1"

struct media_job {
	uint64_t ticket;
	struct meta_events evs;
	int64_t deadline_us;
};

struct media {
	char *graph_url, *dir, *module;
	long long max_bytes;
	void (*notify)(void *arg);
	void *arg;
	struct curl_slist *auth; /* "Authorization: Bearer <token>" */
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct media_job *todo[MEDIA_QUEUE_MAX]; /* FIFO of todo_n from todo_head */
	size_t todo_head, todo_n;
	struct media_job *done[MEDIA_QUEUE_MAX];
	size_t done_n;
	size_t busy;             /* jobs taken by the worker, not yet done */
	atomic_int stop;
};

/* A transfer's state: the handle of the thread that runs it and its bounds. */
struct media_xfer {
	struct media *m;
	CURL *curl;
	int64_t deadline_us;
	CURLcode cc;   /* of the last transfer */
	char why[160]; /* the cause of the last failure, for the log */
};

static void media_job_free(struct media_job *j)
{
	if (!j)
		return;
	meta_events_clear(&j->evs);
	free(j);
}

/* ---- libcurl ------------------------------------------------------------ */

static int media_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct media_xfer *x = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return atomic_load(&x->m->stop) ? 1 : 0; /* non-zero aborts the transfer */
}

/* Options of every request; GW_OK, or GW_EAGAIN when the budget is spent. */
static int media_curl_setup(struct media_xfer *x, const char *url)
{
	int64_t left_ms = (x->deadline_us - gw_mono_us()) / 1000;
	CURL *c = x->curl;

	if (left_ms <= 0) {
		snprintf(x->why, sizeof(x->why), "time budget spent");
		return GW_EAGAIN;
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->m->auth);
	curl_easy_setopt(c, CURLOPT_USERAGENT, MEDIA_USER_AGENT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(left_ms < MEDIA_CONNECT_MS ? left_ms : MEDIA_CONNECT_MS));
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, media_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	return GW_OK;
}

/* Runs the prepared request; GW_OK when it answered 200. */
static int media_perform(struct media_xfer *x, const char *what)
{
	CURLcode cc = curl_easy_perform(x->curl);
	long status = 0;

	x->cc = cc;
	if (cc != CURLE_OK) {
		snprintf(x->why, sizeof(x->why), "%s: %s", what, curl_easy_strerror(cc));
		return gw_curl_err(cc);
	}
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(x->why, sizeof(x->why), "%s: HTTP %ld", what, status);
		return GW_EIO;
	}
	return GW_OK;
}

/* ---- metadata: GET {graph_url}/{id} ------------------------------------- */

struct media_buf {
	char *data;
	size_t len;
};

static size_t media_buf_write(char *p, size_t size, size_t n, void *arg)
{
	struct media_buf *b = arg;
	size_t len = size * n;

	if (len > MEDIA_JSON_MAX - b->len)
		return 0; /* over the bound: curl fails the transfer */
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return len;
}

/* The media id part of a ref, checked to be safe in a URL path. */
static int media_id_of(const char *ref, char *id, size_t idlen)
{
	size_t plen = strlen(MEDIA_REF_PREFIX), n;

	if (!ref || strncmp(ref, MEDIA_REF_PREFIX, plen) != 0)
		return -1;
	ref += plen;
	n = strlen(ref);
	if (n == 0 || n >= idlen || n > MEDIA_ID_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = ref[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '_' || c == '-' || c == '.'))
			return -1;
	}
	memcpy(id, ref, n + 1);
	return 0;
}

/* Graph's answer about one media id into *meta (caller json_decref()s). */
static int media_get_meta(struct media_xfer *x, const char *id, json_t **meta)
{
	struct media_buf b = {NULL, 0};
	char url[MEDIA_URL_MAX];
	json_error_t jerr;
	int rc, n = snprintf(url, sizeof(url), "%s/%s", x->m->graph_url, id);

	*meta = NULL;
	if (n < 0 || (size_t)n >= sizeof(url))
		return GW_EINVAL;
	b.data = malloc(MEDIA_JSON_MAX);
	if (!b.data)
		return GW_ENOMEM;
	rc = media_curl_setup(x, url);
	if (rc == GW_OK) {
		curl_easy_setopt(x->curl, CURLOPT_WRITEFUNCTION, media_buf_write);
		curl_easy_setopt(x->curl, CURLOPT_WRITEDATA, &b);
		rc = media_perform(x, "metadata");
	}
	if (rc == GW_OK) {
		*meta = json_loadb(b.data, b.len, 0, &jerr);
		if (!*meta || !json_is_object(*meta) || !json_is_string(json_object_get(*meta, "url"))) {
			snprintf(x->why, sizeof(x->why), "metadata: no media url in the answer");
			rc = GW_EPROTO;
		}
	}
	free(b.data);
	if (rc != GW_OK) {
		json_decref(*meta);
		*meta = NULL;
	}
	return rc;
}

/* ---- content: GET url, streamed into a temporary file ------------------- */

struct media_sink {
	int fd;
	EVP_MD_CTX *md;
	long long n, max;
	int over, failed;
};

static size_t media_sink_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct media_sink *s = arg;
	size_t len = size * nmemb, off = 0;

	if ((long long)len > s->max - s->n) {
		s->over = 1;
		return 0;
	}
	while (off < len) {
		ssize_t w = write(s->fd, p + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			s->failed = 1;
			return 0;
		}
		off += (size_t)w;
	}
	if (EVP_DigestUpdate(s->md, p, len) != 1) {
		s->failed = 1;
		return 0;
	}
	s->n += (long long)len;
	return len;
}

/* Downloads `url` into the open file `fd`; *n bytes, hex SHA-256 in `hex`. */
static int media_get_content(struct media_xfer *x, const char *url, int fd, long long *n,
			     char hex[65])
{
	struct media_sink s = {fd, EVP_MD_CTX_new(), 0, x->m->max_bytes, 0, 0};
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	int rc;

	if (!s.md || EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(s.md);
		return GW_ENOMEM;
	}
	rc = media_curl_setup(x, url);
	if (rc == GW_OK) {
		curl_easy_setopt(x->curl, CURLOPT_WRITEFUNCTION, media_sink_write);
		curl_easy_setopt(x->curl, CURLOPT_WRITEDATA, &s);
		curl_easy_setopt(x->curl, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(x->curl, CURLOPT_MAXREDIRS, (long)MEDIA_MAX_REDIRS);
		curl_easy_setopt(x->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->m->max_bytes);
		rc = media_perform(x, "download");
	}
	/* Over the limit as announced (Content-Length) or as it arrived: one reason. */
	if (s.over || (rc != GW_OK && x->cc == CURLE_FILESIZE_EXCEEDED))
		snprintf(x->why, sizeof(x->why), "larger than media_max_bytes (%lld)", s.max);
	else if (s.failed)
		snprintf(x->why, sizeof(x->why), "cannot write the file: %s", strerror(errno));
	if (rc == GW_OK && EVP_DigestFinal_ex(s.md, d, &dlen) != 1)
		rc = GW_EIO;
	EVP_MD_CTX_free(s.md);
	for (unsigned int i = 0; rc == GW_OK && i < dlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	*n = s.n;
	return rc;
}

/* ---- the provider's digest ---------------------------------------------- */

/*
 * Compares the provider's sha256 (64 hex digits, or the base64 of the 32
 * bytes) with ours; another form is not checked. 0 when it agrees or
 * cannot be read, -1 on a mismatch.
 */
static int media_check_digest(const char *theirs, const char *hex)
{
	unsigned char raw[48];
	char ours[65];
	size_t n = theirs ? strlen(theirs) : 0;

	if (n == 64 && strspn(theirs, "0123456789abcdefABCDEF") == 64)
		return strncasecmp(theirs, hex, 64) == 0 ? 0 : -1;
	if (n != 44 || EVP_DecodeBlock(raw, (const unsigned char *)theirs, 44) != 33)
		return 0;
	/* 44 base64 characters decode to 33 bytes with one '=' of padding. */
	for (int i = 0; i < 32; i++)
		snprintf(ours + 2 * i, 3, "%02x", raw[i]);
	return strncmp(ours, hex, 64) == 0 ? 0 : -1;
}

/* ---- storing ------------------------------------------------------------ */

/* Makes the temporary file durable under its content's name. */
static int media_commit_file(struct media_xfer *x, int fd, const char *tmp, const char *path)
{
	if (fsync(fd) != 0 || rename(tmp, path) != 0 || gw_fsync_dir(x->m->dir) != GW_OK) {
		snprintf(x->why, sizeof(x->why), "cannot store the file: %s", strerror(errno));
		return GW_EIO;
	}
	return GW_OK;
}

/* Sets ref "file:<path>", size, and the type when the parser had none. */
static int media_rewrite(struct proto_attachment *a, const char *path, long long n,
			 const char *mime)
{
	size_t len = strlen(path) + 6;
	char *ref = malloc(len);
	char *type = NULL;

	if (!ref)
		return GW_ENOMEM;
	if ((!a->type || !a->type[0]) && mime && mime[0]) {
		type = gw_strdup(mime);
		if (!type) {
			free(ref);
			return GW_ENOMEM;
		}
		free(a->type);
		a->type = type;
	}
	snprintf(ref, len, "file:%s", path);
	free(a->ref);
	a->ref = ref;
	a->size = (uint64_t)n;
	return GW_OK;
}

/* Downloads the content of `meta` into the media folder and rewrites `a`. */
static int media_store(struct media_xfer *x, struct proto_attachment *a, json_t *meta)
{
	const char *url = json_string_value(json_object_get(meta, "url"));
	const char *mime = json_string_value(json_object_get(meta, "mime_type"));
	const char *theirs = json_string_value(json_object_get(meta, "sha256"));
	char tmp[4096], path[4096], hex[65] = "", rid[33];
	long long n = 0;
	int fd = -1, rc;

	rc = gw_random_id(rid);
	if (rc != GW_OK)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", x->m->dir, rid);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(x->why, sizeof(x->why), "cannot create a file: %s", strerror(errno));
		return GW_EIO;
	}
	rc = media_get_content(x, url, fd, &n, hex);
	if (rc == GW_OK && media_check_digest(theirs, hex) != 0) {
		snprintf(x->why, sizeof(x->why), "content does not match Meta's sha256");
		rc = GW_EPROTO;
	}
	if (rc == GW_OK && snprintf(path, sizeof(path), "%s/%s", x->m->dir, hex) >= (int)sizeof(path))
		rc = GW_EINVAL;
	if (rc == GW_OK)
		rc = media_commit_file(x, fd, tmp, path);
	close(fd);
	if (rc != GW_OK) {
		unlink(tmp);
		return rc;
	}
	return media_rewrite(a, path, n, mime);
}

/* One attachment: metadata, then content. GW_OK when it was stored. */
static int media_fetch_one(struct media_xfer *x, struct proto_attachment *a, const char *id)
{
	json_t *meta = NULL;
	json_t *size;
	int rc = media_get_meta(x, id, &meta);

	if (rc != GW_OK)
		return rc;
	size = json_object_get(meta, "file_size");
	if (json_is_integer(size) && json_integer_value(size) > x->m->max_bytes) {
		snprintf(x->why, sizeof(x->why), "%lld bytes, over media_max_bytes (%lld)",
			 (long long)json_integer_value(size), x->m->max_bytes);
		rc = GW_ETOOBIG;
	} else {
		rc = media_store(x, a, meta);
	}
	json_decref(meta);
	return rc;
}

static size_t media_fetch_message(struct media_xfer *x, struct proto_message *msg)
{
	char id[MEDIA_ID_MAX + 1];
	size_t stored = 0;

	for (size_t i = 0; i < msg->attachments_len; i++) {
		struct proto_attachment *a = &msg->attachments[i];

		if (media_id_of(a->ref, id, sizeof(id)) != 0)
			continue;
		x->why[0] = '\0';
		if (media_fetch_one(x, a, id) == GW_OK) {
			stored++;
			continue;
		}
		GW_WARN(x->m->module, "media %s of message %s not downloaded (%s); the event keeps "
			"the media id", id, msg->external_id ? msg->external_id : "?",
			x->why[0] ? x->why : "error");
	}
	return stored;
}

static int media_has_attachments(const struct proto_event *ev)
{
	return (ev->type == PROTO_T_MESSAGE_RECEIVED || ev->type == PROTO_T_MESSAGE_SENT) &&
	       ev->u.message.attachments_len > 0;
}

static size_t media_fetch_with(struct media *m, CURL *curl, struct meta_events *evs,
			       int64_t deadline_us)
{
	struct media_xfer x = {.m = m, .curl = curl, .deadline_us = deadline_us};
	size_t stored = 0;

	for (size_t i = 0; i < evs->n && !atomic_load(&m->stop); i++)
		if (media_has_attachments(&evs->ev[i]))
			stored += media_fetch_message(&x, &evs->ev[i].u.message);
	return stored;
}

size_t media_fetch_all(struct media *m, struct meta_events *evs, int64_t deadline_us)
{
	CURL *curl = curl_easy_init();
	size_t stored;

	if (!curl)
		return 0;
	stored = media_fetch_with(m, curl, evs, deadline_us);
	curl_easy_cleanup(curl);
	return stored;
}

size_t media_wanted(const struct meta_events *evs)
{
	char id[MEDIA_ID_MAX + 1];
	size_t n = 0;

	for (size_t i = 0; i < evs->n; i++) {
		const struct proto_event *ev = &evs->ev[i];

		if (!media_has_attachments(ev))
			continue;
		for (size_t j = 0; j < ev->u.message.attachments_len; j++)
			n += media_id_of(ev->u.message.attachments[j].ref, id, sizeof(id)) == 0;
	}
	return n;
}

/* ---- the worker --------------------------------------------------------- */

/* Waits for a job; NULL when stopping. Takes the lock itself. */
static struct media_job *media_next(struct media *m)
{
	struct media_job *j = NULL;

	pthread_mutex_lock(&m->lock);
	while (!atomic_load(&m->stop) && m->todo_n == 0)
		pthread_cond_wait(&m->cond, &m->lock);
	if (!atomic_load(&m->stop)) {
		j = m->todo[m->todo_head];
		m->todo_head = (m->todo_head + 1) % MEDIA_QUEUE_MAX;
		m->todo_n--;
		m->busy++;
	}
	pthread_mutex_unlock(&m->lock);
	return j;
}

static void media_done(struct media *m, struct media_job *j)
{
	pthread_mutex_lock(&m->lock);
	/* Never full: todo + busy + done together stay within MEDIA_QUEUE_MAX. */
	m->done[m->done_n++] = j;
	m->busy--;
	pthread_mutex_unlock(&m->lock);
	if (m->notify)
		m->notify(m->arg);
}

static void *media_worker(void *arg)
{
	struct media *m = arg;
	CURL *curl = curl_easy_init();
	struct media_job *j;

	while ((j = media_next(m)) != NULL) {
		if (curl)
			media_fetch_with(m, curl, &j->evs, j->deadline_us);
		else
			GW_WARN(m->module, "no libcurl handle: media of ticket %llu not downloaded",
				(unsigned long long)j->ticket);
		media_done(m, j);
	}
	curl_easy_cleanup(curl);
	return NULL;
}

int media_submit(struct media *m, uint64_t ticket, struct meta_events *evs)
{
	struct media_job *j;
	int rc = GW_OK;

	pthread_mutex_lock(&m->lock);
	if (m->todo_n + m->busy + m->done_n >= MEDIA_QUEUE_MAX)
		rc = GW_EFULL;
	pthread_mutex_unlock(&m->lock);
	if (rc != GW_OK)
		return rc;
	j = calloc(1, sizeof(*j));
	if (!j)
		return GW_ENOMEM;
	j->ticket = ticket;
	j->evs = *evs;
	j->deadline_us = gw_mono_us() + (int64_t)MEDIA_BUDGET_MS * 1000;
	memset(evs, 0, sizeof(*evs));
	pthread_mutex_lock(&m->lock);
	m->todo[(m->todo_head + m->todo_n) % MEDIA_QUEUE_MAX] = j;
	m->todo_n++;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	return GW_OK;
}

int media_take_done(struct media *m, uint64_t *ticket, struct meta_events *evs)
{
	struct media_job *j = NULL;

	pthread_mutex_lock(&m->lock);
	if (m->done_n > 0) {
		j = m->done[0];
		memmove(m->done, m->done + 1, (m->done_n - 1) * sizeof(m->done[0]));
		m->done_n--;
	}
	pthread_mutex_unlock(&m->lock);
	if (!j)
		return 0;
	*ticket = j->ticket;
	*evs = j->evs;
	free(j);
	return 1;
}

/* ---- lifecycle ---------------------------------------------------------- */

static int media_init(struct media *m, const struct media_options *opt)
{
	size_t tlen = strlen(opt->access_token ? opt->access_token : "");
	char *auth = malloc(tlen + 32);
	size_t glen;

	m->graph_url = gw_strdup(opt->graph_url);
	m->dir = gw_strdup(opt->dir);
	m->module = gw_strdup(opt->log_module ? opt->log_module : "media");
	m->max_bytes = opt->max_bytes;
	m->notify = opt->notify;
	m->arg = opt->arg;
	if (auth) {
		snprintf(auth, tlen + 32, "Authorization: Bearer %s",
			 opt->access_token ? opt->access_token : "");
		m->auth = curl_slist_append(NULL, auth);
		OPENSSL_cleanse(auth, tlen + 32);
		free(auth);
	}
	if (!m->graph_url || !m->dir || !m->module || !m->auth)
		return GW_ENOMEM;
	glen = strlen(m->graph_url);
	while (glen > 0 && m->graph_url[glen - 1] == '/')
		m->graph_url[--glen] = '\0'; /* "{graph_url}/{id}" */
	return gw_mkdir_p(m->dir);
}

int media_create(const struct media_options *opt, struct media **out)
{
	struct media *m = calloc(1, sizeof(*m));
	int rc;

	*out = NULL;
	if (!m)
		return GW_ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	/* Before any thread exists: curl_global_init is not thread-safe. */
	rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? GW_OK : GW_EIO;
	if (rc == GW_OK)
		rc = media_init(m, opt);
	if (rc == GW_OK) {
		rc = pthread_create(&m->thread, NULL, media_worker, m) == 0 ? GW_OK : GW_EIO;
		m->started = rc == GW_OK;
	}
	if (rc != GW_OK) {
		GW_ERROR(opt->log_module ? opt->log_module : "media",
			 "cannot start the media downloader in %s: %s", opt->dir, gw_strerror(rc));
		media_destroy(m);
		return rc;
	}
	*out = m;
	return GW_OK;
}

void media_destroy(struct media *m)
{
	if (!m)
		return;
	if (m->started) {
		pthread_mutex_lock(&m->lock);
		atomic_store(&m->stop, 1);
		pthread_cond_broadcast(&m->cond);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->thread, NULL);
	}
	for (size_t i = 0; i < m->todo_n; i++)
		media_job_free(m->todo[(m->todo_head + i) % MEDIA_QUEUE_MAX]);
	for (size_t i = 0; i < m->done_n; i++)
		media_job_free(m->done[i]);
	curl_slist_free_all(m->auth);
	free(m->graph_url);
	free(m->dir);
	free(m->module);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

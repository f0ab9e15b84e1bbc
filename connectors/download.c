/*
 * download.c - the shared file downloader (download.h).
 *
 * One worker thread takes jobs from a bounded FIFO, walks the attachments
 * of their message events, asks the channel's source where each one's
 * bytes are, streams them with libcurl into a temporary file of the store
 * while hashing them, and hands the file to attach_adopt. A transfer is
 * bounded in bytes (CURLOPT_MAXFILESIZE for an announced length, the sink
 * for streamed bytes), in time (the job's deadline) and aborts at once
 * when the downloader stops (the progress callback).
 */
#include "connectors/download.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "connectors/curl_err.h"
#include "connectors/provider_calls.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/attachments.h"

#define DL_JSON_MAX (64 * 1024) /* a metadata answer */
#define DL_CONNECT_MS 5000
#define DL_MAX_REDIRS 3
#define DL_USER_AGENT "omnigate-download/1"
#define DL_PATH_MAX 4096

struct dl_job {
	uint64_t ticket;
	int64_t deadline_us;
	struct proto_event *ev; /* the events of the list, borrowed from it */
	size_t n;
	unsigned char list[]; /* the channel's list, list_size bytes */
};

struct download {
	char *dir, *module, *limit_key, *provider;
	long long max_bytes, budget_ms;
	struct curl_slist *auth; /* NULL without an auth_header */
	struct dl_source src;
	size_t list_size;
	void (*list_clear)(void *list);
	void (*notify)(void *arg);
	void *arg;
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct dl_job *todo[DL_QUEUE_MAX]; /* FIFO of todo_n from todo_head */
	size_t todo_head, todo_n;
	struct dl_job *done[DL_QUEUE_MAX];
	size_t done_n, busy;
	atomic_int stop;
	atomic_uint_fast64_t stored, failed;
};

struct dl_xfer {
	struct download *d;
	CURL *curl;
	int64_t deadline_us;
	CURLcode cc;
	char why[DL_WHY_MAX];
};

/* A bounded memory sink (metadata). */
struct dl_buf {
	char *data;
	size_t len;
};

/* The file sink: bytes into the temporary file and the digest. */
struct dl_sink {
	int fd;
	EVP_MD_CTX *md;
	long long n, max;
	int over, failed;
};

void dl_why(struct dl_xfer *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->why, sizeof(x->why), fmt, ap);
	va_end(ap);
	gw_utf8_trim(x->why);
}

int dl_target_url(struct dl_xfer *x, struct dl_target *t, const char *url)
{
	size_t n = strlen(url);

	if (n >= sizeof(t->url)) {
		dl_why(x, "a URL longer than %d bytes", DL_URL_MAX - 1);
		return GW_ETOOBIG;
	}
	memcpy(t->url, url, n + 1);
	return GW_OK;
}

int dl_is_url(const char *ref)
{
	return ref && (strncmp(ref, "https://", 8) == 0 || strncmp(ref, "http://", 7) == 0);
}

/* ---- libcurl -------------------------------------------------------------- */

static int dl_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct dl_xfer *x = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return atomic_load(&x->d->stop) ? 1 : 0; /* non-zero aborts the transfer */
}

/* The options of every request; GW_EAGAIN when the budget is spent. */
static int dl_setup(struct dl_xfer *x, const char *url, int auth)
{
	int64_t left_ms = (x->deadline_us - gw_mono_us()) / 1000;
	CURL *c = x->curl;

	if (left_ms <= 0) {
		dl_why(x, "time budget spent");
		return GW_EAGAIN;
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)DL_MAX_REDIRS);
	/* A redirect to another host gets no Authorization (libcurl's default,
	 * kept explicit): the token is for the provider only. */
	curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
	if (auth && x->d->auth)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->d->auth);
	curl_easy_setopt(c, CURLOPT_USERAGENT, DL_USER_AGENT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(left_ms < DL_CONNECT_MS ? left_ms : DL_CONNECT_MS));
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, dl_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	return GW_OK;
}

/* Runs the prepared request; GW_OK when it answered 200. */
static int dl_perform(struct dl_xfer *x, const char *what)
{
	long status = 0;

	x->cc = curl_easy_perform(x->curl);
	if (x->cc != CURLE_OK) {
		dl_why(x, "%s: %s", what, curl_easy_strerror(x->cc));
		return gw_curl_err(x->cc);
	}
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		dl_why(x, "%s: HTTP %ld", what, status);
		return GW_EIO;
	}
	return GW_OK;
}

static size_t dl_buf_write(char *p, size_t size, size_t n, void *arg)
{
	struct dl_buf *b = arg;
	size_t len = size * n;

	if (len > DL_JSON_MAX - b->len)
		return 0; /* over the bound: curl fails the transfer */
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return len;
}

int dl_get_json(struct dl_xfer *x, const char *url, int auth, const char *what, json_t **out)
{
	struct dl_buf b = {malloc(DL_JSON_MAX), 0};
	int rc = b.data ? GW_OK : GW_ENOMEM;

	*out = NULL;
	if (rc == GW_OK)
		rc = dl_setup(x, url, auth);
	if (rc == GW_OK) {
		curl_easy_setopt(x->curl, CURLOPT_WRITEFUNCTION, dl_buf_write);
		curl_easy_setopt(x->curl, CURLOPT_WRITEDATA, &b);
		rc = dl_perform(x, what);
	}
	if (rc == GW_OK) {
		*out = json_loadb(b.data, b.len, 0, NULL);
		if (!json_is_object(*out)) {
			dl_why(x, "%s: the answer is not a JSON object", what);
			json_decref(*out);
			*out = NULL;
			rc = GW_EPROTO;
		}
	}
	free(b.data);
	return rc;
}

int dl_escape(struct dl_xfer *x, const char *s, char *out, size_t outlen)
{
	char *esc = curl_easy_escape(x->curl, s, 0);
	int rc = GW_OK;

	if (!esc)
		return GW_ENOMEM;
	if ((size_t)snprintf(out, outlen, "%s", esc) >= outlen)
		rc = GW_ETOOBIG;
	curl_free(esc);
	return rc;
}

/* ---- the bytes ------------------------------------------------------------ */

static size_t dl_sink_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct dl_sink *s = arg;
	size_t len = size * nmemb;

	if ((long long)len > s->max - s->n) {
		s->over = 1;
		return 0;
	}
	if (gw_write_all(s->fd, p, len) != GW_OK || EVP_DigestUpdate(s->md, p, len) != 1) {
		s->failed = 1;
		return 0;
	}
	s->n += (long long)len;
	return len;
}

/* The digest of the bytes as 64 lowercase hex digits. */
static int dl_hex(EVP_MD_CTX *md, char hex[ATTACH_HEX_LEN + 1])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;

	if (EVP_DigestFinal_ex(md, d, &dlen) != 1 || dlen != 32)
		return GW_ENOMEM;
	for (unsigned int i = 0; i < dlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return GW_OK;
}

/* Streams the target's bytes into `fd`; *n bytes, their digest in hex. */
/* dl_observe - the time of the download just performed, for /metrics. */
static void dl_observe(struct dl_xfer *x)
{
	curl_off_t took_us = 0;

	curl_easy_getinfo(x->curl, CURLINFO_TOTAL_TIME_T, &took_us);
	provider_call_observe(PROVIDER_CALL_MEDIA_DOWNLOAD, (double)took_us / 1e6);
}

static int dl_stream(struct dl_xfer *x, const struct dl_target *t, int fd, long long *n,
		     char hex[ATTACH_HEX_LEN + 1])
{
	struct dl_sink s = {fd, EVP_MD_CTX_new(), 0, x->d->max_bytes, 0, 0};
	int rc = GW_OK;

	if (!s.md || EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1)
		rc = GW_ENOMEM;
	if (rc == GW_OK)
		rc = dl_setup(x, t->url, t->auth);
	if (rc == GW_OK) {
		curl_easy_setopt(x->curl, CURLOPT_WRITEFUNCTION, dl_sink_write);
		curl_easy_setopt(x->curl, CURLOPT_WRITEDATA, &s);
		curl_easy_setopt(x->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->d->max_bytes);
		rc = dl_perform(x, "download");
		dl_observe(x);
	}
	/* Over the limit as announced (Content-Length) or as it arrived: one reason. */
	if (s.over || (rc != GW_OK && x->cc == CURLE_FILESIZE_EXCEEDED)) {
		dl_why(x, "larger than %s (%lld)", x->d->limit_key, s.max);
		rc = GW_ETOOBIG;
	} else if (s.failed) {
		dl_why(x, "cannot write the file: %s", strerror(errno));
		rc = GW_EIO;
	}
	if (rc == GW_OK)
		rc = dl_hex(s.md, hex);
	EVP_MD_CTX_free(s.md);
	*n = s.n;
	return rc;
}

/*
 * The provider's sha256 (64 hex digits, or the base64 of the 32 bytes)
 * against ours; another form is not checked. 0 when it agrees or cannot be
 * read, -1 on a mismatch.
 */
static int dl_digest_differs(const char *theirs, const char *hex)
{
	unsigned char raw[48];
	char ours[65];
	size_t n = strlen(theirs);

	if (n == 64 && strspn(theirs, "0123456789abcdefABCDEF") == 64)
		return strncasecmp(theirs, hex, 64) == 0 ? 0 : -1;
	/* 44 base64 characters decode to 33 bytes with one '=' of padding. */
	if (n != 44 || EVP_DecodeBlock(raw, (const unsigned char *)theirs, 44) != 33)
		return 0;
	for (int i = 0; i < 32; i++)
		snprintf(ours + 2 * i, 3, "%02x", raw[i]);
	return strncmp(ours, hex, 64) == 0 ? 0 : -1;
}

/* Downloads the target into the store; its digest into hex, size into *n. */
static int dl_store(struct dl_xfer *x, const struct dl_target *t, long long *n,
		    char hex[ATTACH_HEX_LEN + 1])
{
	char tmp[DL_PATH_MAX];
	int fd = -1, rc;

	rc = attach_tmp_open(x->d->dir, tmp, sizeof(tmp), &fd);
	if (rc != GW_OK) {
		dl_why(x, "cannot create a file: %s", gw_err_text(rc));
		return rc;
	}
	rc = dl_stream(x, t, fd, n, hex);
	if (rc == GW_OK && t->sha256[0] && dl_digest_differs(t->sha256, hex)) {
		dl_why(x, "content does not match %s's sha256", x->d->provider);
		rc = GW_EPROTO;
	}
	if (rc == GW_OK) {
		rc = attach_adopt(x->d->dir, tmp, fd, hex, (uint64_t)*n);
		if (rc != GW_OK)
			dl_why(x, "cannot store the file: %s", gw_err_text(rc));
	} else {
		unlink(tmp);
	}
	close(fd);
	return rc;
}

/* ---- one attachment -------------------------------------------------------- */

/* A type the provider left generic, which the download's may replace. */
static int dl_type_generic(const char *type)
{
	size_t n = type ? strlen(type) : 0;

	return n == 0 || (n >= 2 && strcmp(type + n - 2, "/*") == 0) ||
	       strcmp(type, "application/octet-stream") == 0;
}

/* A media type "a/b" of token characters (parameters cut off) into out. */
static void dl_type_of(const char *ct, char *out, size_t outlen)
{
	size_t n = ct ? strcspn(ct, "; \t") : 0;
	const char *slash = ct ? memchr(ct, '/', n) : NULL;

	out[0] = '\0';
	if (!slash || slash == ct || (size_t)(slash - ct) + 1 == n || n >= outlen ||
	    strspn(ct, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		   "!#$&^_.+-/") < n || memchr(slash + 1, '/', n - (size_t)(slash - ct) - 1))
		return;
	memcpy(out, ct, n);
	out[n] = '\0';
	if (strcmp(out, "application/octet-stream") == 0)
		out[0] = '\0'; /* says nothing more than the generic type */
}

/* The attachment now names the stored bytes. */
static int dl_rewrite(struct dl_xfer *x, struct proto_attachment *a, const struct dl_target *t,
		      const char *hex, long long n)
{
	char type[PROTO_MAX_MEDIA_TYPE + 1] = "", *ref = NULL, *nt = NULL;
	const char *ct = NULL;
	size_t len = strlen(ATTACH_REF_PREFIX) + ATTACH_HEX_LEN + 1;

	if (dl_type_generic(a->type)) {
		if (!t->mime[0])
			curl_easy_getinfo(x->curl, CURLINFO_CONTENT_TYPE, &ct);
		dl_type_of(t->mime[0] ? t->mime : ct, type, sizeof(type));
	}
	ref = malloc(len);
	nt = type[0] ? gw_strdup(type) : NULL;
	if (!ref || (type[0] && !nt)) {
		free(ref);
		free(nt);
		dl_why(x, "out of memory");
		return GW_ENOMEM;
	}
	snprintf(ref, len, ATTACH_REF_PREFIX "%s", hex);
	free(a->ref);
	a->ref = ref;
	a->size = (uint64_t)n;
	if (nt) {
		free(a->type);
		a->type = nt;
	}
	free(a->download_error);
	a->download_error = NULL;
	return GW_OK;
}

static int dl_fetch_one(struct dl_xfer *x, const struct proto_message *m,
			struct proto_attachment *a, struct dl_target *t)
{
	char hex[ATTACH_HEX_LEN + 1];
	long long n = 0;
	int rc;

	/* A size the event announces already: too large costs no request. */
	if (a->size > (uint64_t)x->d->max_bytes) {
		dl_why(x, "%llu bytes, over %s (%lld)", (unsigned long long)a->size,
		       x->d->limit_key, x->d->max_bytes);
		return GW_ETOOBIG;
	}
	rc = x->d->src.resolve(x->d->src.arg, x, m, a, t);
	if (rc != GW_OK)
		return rc;
	if (t->size > x->d->max_bytes) {
		dl_why(x, "%lld bytes, over %s (%lld)", t->size, x->d->limit_key, x->d->max_bytes);
		return GW_ETOOBIG;
	}
	rc = dl_store(x, t, &n, hex);
	if (rc == GW_OK)
		rc = dl_rewrite(x, a, t, hex, n);
	if (rc == GW_OK && attach_type_put(x->d->dir, hex, a->type) != GW_OK)
		GW_WARN(x->d->module, "%s of message %s: its media type not kept: %s", t->label,
			m->external_id ? m->external_id : "?", strerror(errno));
	return rc;
}

/* Keeps the ref and says why on the attachment and in the log. */
static void dl_failed(struct dl_xfer *x, const struct proto_message *m,
		      struct proto_attachment *a, const struct dl_target *t)
{
	const char *why = x->why[0] ? x->why : "error";

	atomic_fetch_add(&x->d->failed, 1);
	free(a->download_error);
	a->download_error = gw_strdup(why); /* NULL on no memory: the log still says it */
	GW_WARN(x->d->module, "%s of message %s not downloaded (%s); the event keeps its ref",
		t->label, m->external_id ? m->external_id : "?", why);
}

static void dl_fetch_message(struct dl_xfer *x, struct proto_message *m)
{
	struct dl_target *t = malloc(sizeof(*t));

	if (!t) {
		GW_WARN(x->d->module, "out of memory: the files of message %s not downloaded",
			m->external_id ? m->external_id : "?");
		return;
	}
	for (size_t i = 0; i < m->attachments_len && !atomic_load(&x->d->stop); i++) {
		struct proto_attachment *a = &m->attachments[i];

		if (!x->d->src.wants(x->d->src.arg, m, a))
			continue;
		memset(t, 0, sizeof(*t));
		t->size = -1;
		snprintf(t->label, sizeof(t->label), "attachment %zu", i + 1);
		x->why[0] = '\0';
		if (dl_fetch_one(x, m, a, t) == GW_OK)
			atomic_fetch_add(&x->d->stored, 1);
		else
			dl_failed(x, m, a, t);
		OPENSSL_cleanse(t->url, sizeof(t->url)); /* it may hold a token */
	}
	free(t);
}

static int dl_has_attachments(const struct proto_event *ev)
{
	return (ev->type == PROTO_T_MESSAGE_RECEIVED || ev->type == PROTO_T_MESSAGE_SENT) &&
	       ev->u.message.attachments_len > 0;
}

size_t dl_wanted(const struct download *d, const struct proto_event *ev, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		const struct proto_message *m = &ev[i].u.message;

		for (size_t j = 0; dl_has_attachments(&ev[i]) && j < m->attachments_len; j++)
			w += d->src.wants(d->src.arg, m, &m->attachments[j]) ? 1 : 0;
	}
	return w;
}

/* ---- the worker ------------------------------------------------------------ */

/* Waits for a job; NULL when stopping. */
static struct dl_job *dl_next(struct download *d)
{
	struct dl_job *j = NULL;

	pthread_mutex_lock(&d->lock);
	while (!atomic_load(&d->stop) && d->todo_n == 0)
		pthread_cond_wait(&d->cond, &d->lock);
	if (!atomic_load(&d->stop)) {
		j = d->todo[d->todo_head];
		d->todo_head = (d->todo_head + 1) % DL_QUEUE_MAX;
		d->todo_n--;
		d->busy++;
	}
	pthread_mutex_unlock(&d->lock);
	return j;
}

static void dl_done(struct download *d, struct dl_job *j)
{
	pthread_mutex_lock(&d->lock);
	/* Never full: todo + busy + done together stay within DL_QUEUE_MAX. */
	d->done[d->done_n++] = j;
	d->busy--;
	pthread_mutex_unlock(&d->lock);
	if (d->notify)
		d->notify(d->arg);
}

static void *dl_worker(void *arg)
{
	struct download *d = arg;
	struct dl_xfer x = {.d = d, .curl = curl_easy_init()};
	struct dl_job *j;

	while ((j = dl_next(d)) != NULL) {
		x.deadline_us = j->deadline_us;
		for (size_t i = 0; x.curl && i < j->n && !atomic_load(&d->stop); i++)
			if (dl_has_attachments(&j->ev[i]))
				dl_fetch_message(&x, &j->ev[i].u.message);
		if (!x.curl)
			GW_WARN(d->module, "no libcurl handle: the files of job %llu not downloaded",
				(unsigned long long)j->ticket);
		dl_done(d, j);
	}
	curl_easy_cleanup(x.curl);
	return NULL;
}

int dl_submit(struct download *d, uint64_t ticket, const void *list, struct proto_event *ev,
	      size_t n)
{
	struct dl_job *j;
	int rc = GW_OK;

	pthread_mutex_lock(&d->lock);
	if (d->todo_n + d->busy + d->done_n >= DL_QUEUE_MAX)
		rc = GW_EFULL;
	pthread_mutex_unlock(&d->lock);
	if (rc != GW_OK)
		return rc;
	j = calloc(1, sizeof(*j) + d->list_size);
	if (!j)
		return GW_ENOMEM;
	j->ticket = ticket;
	j->ev = ev;
	j->n = n;
	j->deadline_us = gw_mono_us() + d->budget_ms * 1000;
	memcpy(j->list, list, d->list_size);
	pthread_mutex_lock(&d->lock);
	d->todo[(d->todo_head + d->todo_n) % DL_QUEUE_MAX] = j;
	d->todo_n++;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	return GW_OK;
}

int dl_take_done(struct download *d, uint64_t *ticket, void *list)
{
	struct dl_job *j = NULL;

	pthread_mutex_lock(&d->lock);
	if (d->done_n > 0) {
		j = d->done[0];
		memmove(d->done, d->done + 1, (d->done_n - 1) * sizeof(d->done[0]));
		d->done_n--;
	}
	pthread_mutex_unlock(&d->lock);
	if (!j)
		return 0;
	*ticket = j->ticket;
	memcpy(list, j->list, d->list_size);
	free(j);
	return 1;
}

void dl_stats(const struct download *d, struct dl_stats *st)
{
	st->stored = d ? atomic_load(&((struct download *)d)->stored) : 0;
	st->failed = d ? atomic_load(&((struct download *)d)->failed) : 0;
}

/* ---- lifecycle --------------------------------------------------------------- */

static int dl_init(struct download *d, const struct dl_options *opt)
{
	d->dir = gw_strdup(opt->dir);
	d->module = gw_strdup(opt->log_module ? opt->log_module : "download");
	d->limit_key = gw_strdup(opt->limit_key ? opt->limit_key : "max_bytes");
	d->provider = gw_strdup(opt->provider ? opt->provider : "the provider");
	d->max_bytes = opt->max_bytes;
	d->budget_ms = opt->budget_ms;
	d->src = opt->source;
	d->list_size = opt->list_size;
	d->list_clear = opt->list_clear;
	d->notify = opt->notify;
	d->arg = opt->arg;
	if (!d->dir || !d->module || !d->limit_key || !d->provider)
		return GW_ENOMEM;
	if (opt->auth_header && opt->auth_header[0]) {
		d->auth = curl_slist_append(NULL, opt->auth_header);
		if (!d->auth)
			return GW_ENOMEM;
	}
	if (!d->list_size || !d->src.wants || !d->src.resolve)
		return GW_EINVAL;
	return gw_mkdir_p(d->dir);
}

int dl_create(const struct dl_options *opt, struct download **out)
{
	struct download *d = calloc(1, sizeof(*d));
	int rc;

	*out = NULL;
	if (!d)
		return GW_ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	/* Before the worker exists: curl_global_init is not thread-safe. */
	rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? GW_OK : GW_EIO;
	if (rc == GW_OK)
		rc = dl_init(d, opt);
	if (rc == GW_OK) {
		rc = pthread_create(&d->thread, NULL, dl_worker, d) == 0 ? GW_OK : GW_EIO;
		d->started = rc == GW_OK;
	}
	if (rc != GW_OK) {
		GW_ERROR(opt->log_module ? opt->log_module : "download",
			 "cannot start the file downloader into %s: %s",
			 opt->dir ? opt->dir : "?", gw_strerror(rc));
		dl_destroy(d);
		return rc;
	}
	*out = d;
	return GW_OK;
}

static void dl_job_free(struct download *d, struct dl_job *j)
{
	if (d->list_clear)
		d->list_clear(j->list);
	free(j);
}

/* The header holds the token: wiped before it is freed. */
static void dl_auth_free(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		OPENSSL_cleanse(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

void dl_destroy(struct download *d)
{
	if (!d)
		return;
	if (d->started) {
		pthread_mutex_lock(&d->lock);
		atomic_store(&d->stop, 1);
		pthread_cond_broadcast(&d->cond);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->thread, NULL);
	}
	for (size_t i = 0; i < d->todo_n; i++)
		dl_job_free(d, d->todo[(d->todo_head + i) % DL_QUEUE_MAX]);
	for (size_t i = 0; i < d->done_n; i++)
		dl_job_free(d, d->done[i]);
	dl_auth_free(d->auth);
	free(d->dir);
	free(d->module);
	free(d->limit_key);
	free(d->provider);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/*
 * test_download.c - the shared file downloader (connectors/download.h)
 * against a small HTTP server played by the test, which serves files by
 * path: a file is stored under its SHA-256 and the attachment names it
 * (sha256:<hex>, its size, the download's type for a generic one); an
 * expired URL (403), a file over the limit (announced by the event, by
 * Content-Length, or only as it streams), a digest that does not match and
 * a resolve that fails keep the ref, say why in download_error and leave
 * no file behind; attachments the source does not want are left alone;
 * a full queue refuses the job and leaves it the caller's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "connectors/download.h"
#include "core/err.h"
#include "core/util.h"
#include "proto/proto.h"
#include "store/attachments.h"
#include "tests/unit/testutil.h"

#define MAX_BYTES 4096

/* ---- the provider: files by path ---------------------------------------- */

struct file {
	const char *path;    /* "/a.jpg" */
	int status;          /* 200, 403, 404 */
	const char *ctype;
	const char *body;    /* NULL: `len` bytes of 'x' */
	size_t len;
	int unsized;         /* no Content-Length: the connection closes */
};

struct server {
	int lfd, port;
	pthread_t th;
	pthread_mutex_t mu;
	const struct file *files;
	size_t nfiles;
	int requests;
	char last_auth[256];
};

static void serve_one(struct server *s, int fd, const char *req)
{
	char path[256] = "", head[512];
	const struct file *f = NULL;
	const char *auth = strstr(req, "Authorization: ");
	char *body;
	size_t len;

	sscanf(req, "GET %255s", path);
	pthread_mutex_lock(&s->mu);
	s->requests++;
	snprintf(s->last_auth, sizeof(s->last_auth), "%.*s",
		 auth ? (int)strcspn(auth, "\r\n") : 0, auth ? auth : "");
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < s->nfiles; i++)
		if (strcmp(s->files[i].path, path) == 0)
			f = &s->files[i];
	len = f ? (f->body ? strlen(f->body) : f->len) : 9;
	body = malloc(len + 1);
	assert_non_null(body);
	memset(body, 'x', len);
	if (!f)
		memcpy(body, "not found", len);
	else if (f->body)
		memcpy(body, f->body, len);
	if (f && f->unsized)
		snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: %s\r\n"
			 "Connection: close\r\n\r\n", f->status, f->ctype);
	else
		snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n", f ? f->status : 404,
			 f ? f->ctype : "text/plain", len);
	if (write(fd, head, strlen(head)) >= 0 && write(fd, body, len) < 0)
		len = 0;
	free(body);
}

static void *server_run(void *arg)
{
	struct server *s = arg;

	for (;;) {
		char req[4096] = "";
		size_t got = 0;
		int fd = accept(s->lfd, NULL, NULL);

		if (fd < 0)
			break;
		while (got < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
			ssize_t n = read(fd, req + got, sizeof(req) - 1 - got);

			if (n <= 0)
				break;
			got += (size_t)n;
			req[got] = '\0';
		}
		if (got > 0)
			serve_one(s, fd, req);
		close(fd);
	}
	return NULL;
}

static void server_start(struct server *s, const struct file *files, size_t n)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->files = files;
	s->nfiles = n;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 16), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	pthread_mutex_init(&s->mu, NULL);
	assert_int_equal(pthread_create(&s->th, NULL, server_run, s), 0);
}

static void server_stop(struct server *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	close(s->lfd);
	pthread_join(s->th, NULL);
	pthread_mutex_destroy(&s->mu);
}

/* ---- the source: "test:<path>" refs, "test-meta:<path>" via JSON ---------- */

struct src {
	int port;
	char sha256[80]; /* the provider's digest of every file, "" for none */
	int auth;
};

static int src_wants(void *arg, const struct proto_message *m, const struct proto_attachment *a)
{
	(void)arg, (void)m;
	return strncmp(a->ref, "test:", 5) == 0 || strncmp(a->ref, "test-meta:", 10) == 0;
}

static int src_resolve(void *arg, struct dl_xfer *x, const struct proto_message *m,
		       const struct proto_attachment *a, struct dl_target *t)
{
	struct src *s = arg;
	char url[256];
	json_t *j = NULL;
	int rc;

	(void)m;
	t->auth = s->auth;
	snprintf(t->sha256, sizeof(t->sha256), "%s", s->sha256);
	if (strncmp(a->ref, "test:", 5) == 0) {
		snprintf(t->url, sizeof(t->url), "http://127.0.0.1:%d%s", s->port, a->ref + 5);
		return GW_OK;
	}
	snprintf(t->label, sizeof(t->label), "meta %s", a->ref + 10);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, a->ref + 10);
	rc = dl_get_json(x, url, 1, "metadata", &j);
	if (rc == GW_OK)
		snprintf(t->url, sizeof(t->url), "http://127.0.0.1:%d%s", s->port,
			 json_string_value(json_object_get(j, "path")));
	json_decref(j);
	return rc;
}

/* ---- the channel's list and the wait for a job ----------------------------- */

struct list {
	struct proto_event *ev;
	size_t n;
};

static void list_clear(void *arg)
{
	struct list *l = arg;

	for (size_t i = 0; i < l->n; i++)
		proto_event_clear(&l->ev[i]);
	free(l->ev);
	l->ev = NULL;
	l->n = 0;
}

static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static int done_count;

static void on_done(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&done_mu);
	done_count++;
	pthread_cond_broadcast(&done_cv);
	pthread_mutex_unlock(&done_mu);
}

/* One message.received with one attachment per ref, of a generic image type. */
static void list_make(struct list *l, const char *const *refs, size_t n, uint64_t size)
{
	struct proto_message *m;

	l->ev = calloc(1, sizeof(*l->ev));
	assert_non_null(l->ev);
	assert_int_equal(proto_event_init(&l->ev[0], PROTO_T_MESSAGE_RECEIVED), GW_OK);
	l->n = 1;
	m = &l->ev[0].u.message;
	m->channel = strdup("messenger");
	m->external_id = strdup("m_1");
	m->attachments = calloc(n, sizeof(*m->attachments));
	assert_non_null(m->attachments);
	m->attachments_len = n;
	for (size_t i = 0; i < n; i++) {
		m->attachments[i].ref = strdup(refs[i]);
		m->attachments[i].type = strdup("image/*");
		m->attachments[i].name = strdup("");
		m->attachments[i].size = size;
	}
}

struct fx {
	char dir[128], store[160];
	struct server srv;
	struct src src;
	struct download *d;
};

static void fx_start(struct fx *f, const struct file *files, size_t n)
{
	struct dl_options o = {
		.max_bytes = MAX_BYTES, .limit_key = "media_max_bytes", .provider = "Meta",
		.budget_ms = 10000, .auth_header = "Authorization: Bearer tok", .log_module = "test",
		.source = {.wants = src_wants, .resolve = src_resolve, .arg = &f->src},
		.list_size = sizeof(struct list), .list_clear = list_clear, .notify = on_done,
	};

	memset(f, 0, sizeof(*f));
	test_tmpdir(f->dir, sizeof(f->dir), "download");
	snprintf(f->store, sizeof(f->store), "%s/attachments", f->dir);
	o.dir = f->store;
	server_start(&f->srv, files, n);
	f->src.port = f->srv.port;
	assert_int_equal(dl_create(&o, &f->d), GW_OK);
}

static void fx_stop(struct fx *f)
{
	dl_destroy(f->d);
	server_stop(&f->srv);
	test_rmtree(f->dir);
}

/* Submits `l` and waits for it to come back. */
static void fx_run(struct fx *f, struct list *l)
{
	uint64_t ticket = 0;
	int before;

	pthread_mutex_lock(&done_mu);
	before = done_count;
	pthread_mutex_unlock(&done_mu);
	assert_int_equal(dl_submit(f->d, 7, l, l->ev, l->n), GW_OK);
	memset(l, 0, sizeof(*l));
	pthread_mutex_lock(&done_mu);
	while (done_count == before)
		pthread_cond_wait(&done_cv, &done_mu);
	pthread_mutex_unlock(&done_mu);
	assert_int_equal(dl_take_done(f->d, &ticket, l), 1);
	assert_int_equal(ticket, 7);
}

/* The number of entries in the store folder (fan-out folders included). */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static const struct file FILES[] = {
	{"/a.jpg", 200, "image/jpeg; q=1", "the bytes of a", 0, 0},
	{"/expired.jpg", 403, "text/html", "URL signature expired", 0, 0},
	{"/big.bin", 200, "application/octet-stream", NULL, MAX_BYTES + 1, 0},
	{"/streamed.bin", 200, "application/octet-stream", NULL, MAX_BYTES * 3, 1},
	{"/meta.json", 200, "application/json", "{\"path\": \"/a.jpg\"}", 0, 0},
};
#define NFILES (sizeof(FILES) / sizeof(FILES[0]))

static struct proto_attachment *att(struct list *l, size_t i)
{
	return &l->ev[0].u.message.attachments[i];
}

/* A file is stored under its digest; the attachment names it. */
static void test_stored(void **state)
{
	static const char *const refs[] = {"test:/a.jpg", "https://example.test/other.png"};
	char hex[ATTACH_HEX_LEN + 1], path[512], want[80], type[ATTACH_TYPE_MAX + 1];
	struct dl_stats st;
	struct stat sb;
	struct list l;
	struct fx f;

	(void)state;
	fx_start(&f, FILES, NFILES);
	list_make(&l, refs, 2, 0);
	assert_int_equal(dl_wanted(f.d, l.ev, l.n), 1);
	fx_run(&f, &l);
	assert_int_equal(attach_sha256_hex("the bytes of a", 14, hex), GW_OK);
	snprintf(want, sizeof(want), "sha256:%s", hex);
	assert_string_equal(att(&l, 0)->ref, want);
	assert_int_equal(att(&l, 0)->size, 14);
	assert_string_equal(att(&l, 0)->type, "image/jpeg"); /* the generic type replaced */
	assert_null(att(&l, 0)->download_error);
	assert_int_equal(attach_path(f.store, hex, path, sizeof(path)), GW_OK);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 14);
	/* Its final type kept beside it, for GET /v1/attachments. */
	assert_int_equal(attach_type_get(f.store, hex, type, sizeof(type)), GW_OK);
	assert_string_equal(type, "image/jpeg");
	/* Not the source's: untouched. */
	assert_string_equal(att(&l, 1)->ref, "https://example.test/other.png");
	assert_null(att(&l, 1)->download_error);
	/* The target asked for no token: none was sent. */
	assert_string_equal(f.srv.last_auth, "");
	dl_stats(f.d, &st);
	assert_int_equal(st.stored, 1);
	assert_int_equal(st.failed, 0);
	/* The same bytes again: the same blob, nothing more in the store. */
	list_clear(&l);
	list_make(&l, refs, 1, 0);
	fx_run(&f, &l);
	assert_string_equal(att(&l, 0)->ref, want);
	assert_int_equal(entries(f.store), 1);
	list_clear(&l);
	fx_stop(&f);
}

/* Every failure keeps the ref, says why, and leaves no file. */
static void test_failures_keep_the_ref(void **state)
{
	static const char *const refs[] = {"test:/expired.jpg", "test:/big.bin",
					   "test:/streamed.bin", "test:/gone.jpg",
					   "test-meta:/missing.json"};
	static const char *const why[] = {
		"download: HTTP 403", "larger than media_max_bytes (4096)",
		"larger than media_max_bytes (4096)", "download: HTTP 404", "metadata: HTTP 404"};
	struct dl_stats st;
	struct list l;
	struct fx f;

	(void)state;
	fx_start(&f, FILES, NFILES);
	list_make(&l, refs, 5, 0);
	fx_run(&f, &l);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(att(&l, i)->ref, refs[i]);
		assert_non_null(att(&l, i)->download_error);
		assert_string_equal(att(&l, i)->download_error, why[i]);
		assert_string_equal(att(&l, i)->type, "image/*");
	}
	dl_stats(f.d, &st);
	assert_int_equal(st.stored, 0);
	assert_int_equal(st.failed, 5);
	assert_int_equal(entries(f.store), 0); /* not even a temporary file */
	list_clear(&l);
	fx_stop(&f);
}

/* A size the event announces over the limit costs no request. */
static void test_announced_size(void **state)
{
	static const char *const refs[] = {"test:/a.jpg"};
	struct list l;
	struct fx f;

	(void)state;
	fx_start(&f, FILES, NFILES);
	list_make(&l, refs, 1, MAX_BYTES + 1);
	fx_run(&f, &l);
	assert_string_equal(att(&l, 0)->ref, "test:/a.jpg");
	assert_string_equal(att(&l, 0)->download_error, "4097 bytes, over media_max_bytes (4096)");
	assert_int_equal(f.srv.requests, 0);
	list_clear(&l);
	fx_stop(&f);
}

/* The provider's digest: the bytes must match it (hex or base64). */
static void test_provider_digest(void **state)
{
	static const char *const refs[] = {"test-meta:/meta.json"};
	char hex[ATTACH_HEX_LEN + 1];
	struct list l;
	struct fx f;

	(void)state;
	fx_start(&f, FILES, NFILES);
	f.src.auth = 1;
	snprintf(f.src.sha256, sizeof(f.src.sha256), "%064d", 0);
	list_make(&l, refs, 1, 0);
	fx_run(&f, &l);
	assert_string_equal(att(&l, 0)->ref, "test-meta:/meta.json");
	assert_string_equal(att(&l, 0)->download_error, "content does not match Meta's sha256");
	assert_string_equal(f.srv.last_auth, "Authorization: Bearer tok");
	assert_int_equal(entries(f.store), 0);
	list_clear(&l);
	assert_int_equal(attach_sha256_hex("the bytes of a", 14, hex), GW_OK);
	snprintf(f.src.sha256, sizeof(f.src.sha256), "%s", hex);
	list_make(&l, refs, 1, 0);
	fx_run(&f, &l);
	assert_string_equal(att(&l, 0)->ref + 7, hex);
	list_clear(&l);
	fx_stop(&f);
}

/* A full queue refuses the job and leaves the list the caller's; jobs
 * never taken back are freed by dl_destroy. */
static void test_full_queue(void **state)
{
	static const char *const refs[] = {"test:/a.jpg"};
	struct list l[DL_QUEUE_MAX + 1];
	struct fx f;
	size_t i;

	(void)state;
	fx_start(&f, FILES, NFILES);
	for (i = 0; i < DL_QUEUE_MAX; i++) {
		list_make(&l[i], refs, 1, 0);
		assert_int_equal(dl_submit(f.d, i, &l[i], l[i].ev, l[i].n), GW_OK);
	}
	list_make(&l[i], refs, 1, 0);
	assert_int_equal(dl_submit(f.d, i, &l[i], l[i].ev, l[i].n), GW_EFULL);
	assert_string_equal(att(&l[i], 0)->ref, "test:/a.jpg");
	list_clear(&l[i]);
	fx_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stored),
		cmocka_unit_test(test_failures_keep_the_ref),
		cmocka_unit_test(test_announced_size),
		cmocka_unit_test(test_provider_digest),
		cmocka_unit_test(test_full_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * lc_upload.c - the files of a live-chat conversation over HTTP, on the
 * live-chat listener (docs/channels/livechat.md, "Files"):
 *
 *   POST /upload?k=<files key>&name=<file name>&type=<media type>
 *        the raw bytes as the body, with a Content-Length (no multipart:
 *        nothing to parse but the query). Refused: 401 (no valid files
 *        key), 411 (no length), 413 (over max_file_bytes), 415 (the
 *        declared type is not allowed, or the bytes are not what it says),
 *        400 (a name that is nothing once cleaned, an empty body), 503
 *        (LC_UPLOADS_MAX uploads at once, or the store failed). Accepted:
 *        the upload waits in the group commit (connectors/commit.h), whose
 *        commit thread stores the blob content-addressed (store/
 *        attachments.h: written, fsync'ed, renamed, folder fsync'ed) and
 *        grants it to the conversation of the key (a synced chatlog
 *        transaction); only then, back on the service thread, the request
 *        (kept open meanwhile) is answered 200
 *        {"ref":"sha256:<hex>","name","type","size"}. The service thread
 *        never writes nor syncs a file. The message naming the ref goes
 *        through the spool as any message (lc_flow.c).
 *   GET /files/<hex>?k=<files key>
 *        the blob, to the conversation it was granted to only (an upload of
 *        its own, or an agent's reply to it), with the type recorded at the
 *        grant, "X-Content-Type-Options: nosniff", a sandboxing CSP, and
 *        "Content-Disposition: attachment" for anything but an image.
 *
 * The files key (lc_proto.h) is given by the welcome frame to the sockets
 * of that conversation only; it is in the query so that the request stays
 * a "simple" one for browsers (no CORS preflight) and so that an <img> can
 * show an image.
 *
 * Threading: the service thread, except lc_upload_store (the commit
 * thread, on an upload the service thread leaves alone meanwhile).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "connectors/livechat/livechat_int.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/attachments.h"

#define LC_PATH_UPLOAD "/upload"
#define LC_PATH_FILES "/files/"
#define LC_META_MAX 1024
#define LC_ARG_MAX 1024

int lc_upload_path(struct lws *wsi)
{
	char uri[32];

	return lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0 &&
	       lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_POST_URI) > 0 &&
	       strcmp(uri, LC_PATH_UPLOAD) == 0;
}

int lc_files_path(struct lws *wsi)
{
	char uri[128];

	return lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0 &&
	       lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) > 0 &&
	       strncmp(uri, LC_PATH_FILES, strlen(LC_PATH_FILES)) == 0;
}

/* The query argument `name` (decoded by lws) into buf; NULL when absent. */
static const char *lc_arg(struct lws *wsi, const char *name, char *buf, int len)
{
	char key[16];

	snprintf(key, sizeof(key), "%s=", name);
	return lws_get_urlarg_by_name(wsi, key, buf, len);
}

/* The conversation of the request's files key (k=), or GW_EAUTH. */
static int lc_key_conversation(struct livechat *lc, struct lws *wsi,
			       char conversation[LC_ADDRESS_MAX])
{
	char buf[LC_FILES_KEY_MAX + 8];
	const char *k = lc_arg(wsi, "k", buf, (int)sizeof(buf));

	if (!k || lc_files_key_verify(lc->set->secret, k, gw_now_ms() / 1000, conversation) != GW_OK)
		return GW_EAUTH;
	return GW_OK;
}

/* The declared length; 0 when there is none (chunked) or it is not a number. */
static long long lc_length(struct lws *wsi)
{
	char buf[32], *end = NULL;
	long long n;

	if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return 0;
	errno = 0;
	n = strtoll(buf, &end, 10);
	return errno || *end || n < 0 ? 0 : n;
}

/* The declared name and type, checked, into r; 0, or the refusal's result. */
static int lc_upload_meta(struct livechat *lc, struct lws *wsi, struct lc_http *r)
{
	char buf[LC_ARG_MAX];
	const char *v = lc_arg(wsi, "type", buf, (int)sizeof(buf));

	if (!v || lc_type_normalize(v, r->type, sizeof(r->type)) != GW_OK)
		return lc_http_refuse_body(lc, wsi, r, 415, "unsupported_type",
					   "declare the file's media type (type=)");
	if (!lc_type_allowed(lc->set->file_types, r->type))
		return lc_http_refuse_body(lc, wsi, r, 415, "unsupported_type",
					   "this type of file is not accepted");
	v = lc_arg(wsi, "name", buf, (int)sizeof(buf));
	if (!v || lc_name_clean(v, r->name, sizeof(r->name)) != GW_OK)
		return lc_http_refuse_body(lc, wsi, r, 400, "bad_name",
					   "the file name is missing or invalid (name=)");
	return 1;
}

int lc_upload_begin(struct livechat *lc, struct lws *wsi, struct lc_http *r)
{
	char conv[LC_ADDRESS_MAX];
	long long n = lc_length(wsi);
	int rc;

	if (!r)
		return -1;
	memset(r, 0, sizeof(*r));
	if (lc_key_conversation(lc, wsi, conv) != GW_OK)
		return lc_http_refuse_body(lc, wsi, r, 401, "unauthorized",
					   "a valid files key (k=) is required");
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return lc_http_refuse_body(lc, wsi, r, 411, "length_required",
					   "send the file with its Content-Length");
	if (n <= 0)
		return lc_http_refuse_body(lc, wsi, r, 400, "empty", "the file is empty");
	if (n > lc->set->max_file_bytes)
		return lc_http_refuse_body(lc, wsi, r, 413, "too_large",
					   "the file is larger than this chat accepts");
	rc = lc_upload_meta(lc, wsi, r);
	if (rc != 1)
		return rc;
	if (lc->n_uploads >= LC_UPLOADS_MAX || !(r->body = malloc((size_t)n)))
		return lc_http_refuse_body(lc, wsi, r, 503, "unavailable",
					   "too many uploads at once; try again");
	lc->n_uploads++;
	r->upload = 1;
	r->body_max = (size_t)n;
	snprintf(r->conversation, sizeof(r->conversation), "%s", conv);
	return 0;
}

int lc_upload_body(struct livechat *lc, struct lws *wsi, struct lc_http *r, const void *in,
		   size_t len)
{
	(void)lc;
	(void)wsi;
	if (len > r->body_max - r->body_len)
		return -1; /* more than its Content-Length: lws refuses it anyway */
	memcpy(r->body + r->body_len, in, len);
	r->body_len += len;
	return 0;
}

/* Frees an upload that left the group commit; it counted in n_uploads. */
static void lc_upload_free(struct livechat *lc, struct lc_upload *u)
{
	free(u->body);
	free(u->meta);
	free(u);
	lc->n_uploads--;
}

void lc_upload_clear(struct livechat *lc, struct lc_http *r)
{
	if (r->job && r->job->finished)
		lc_upload_free(lc, r->job);
	else if (r->job)
		r->job->r = NULL; /* in the group commit: freed at its done */
	r->job = NULL;
	if (!r->upload)
		return;
	free(r->body);
	r->body = NULL;
	r->upload = 0;
	lc->n_uploads--;
}

/* The kind of an attachment of `type` (proto attachment.kind). */
const char *lc_file_kind(const char *type)
{
	if (strncmp(type, "image/", 6) == 0)
		return "image";
	return strcmp(type, "application/pdf") == 0 ? "document" : "file";
}

/* 200 with the JSON `body`, CORS when allowed, then the connection closes. */
static int lc_answer_json(struct lws *wsi, const char *body)
{
	unsigned char buf[LWS_PRE + 1024 + LC_META_MAX];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = start + 1024;
	size_t blen = strlen(body);

	if (blen > LC_META_MAX ||
	    lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "application/json", blen, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
					 (const unsigned char *)"close", 5, &p, end) ||
	    lc_http_cors(wsi, &p, end) || lws_finalize_http_header(wsi, &p, end))
		return -1;
	memcpy(p, body, blen);
	p += blen;
	lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP);
	return -1;
}

/* Checks what the bytes are against the declared type; NULL when they agree. */
static const char *lc_upload_lies(const struct livechat *lc, const struct lc_http *r)
{
	const char *sniffed = lc_sniff(r->body, r->body_len);

	if (!sniffed || !lc_type_allowed(lc->set->file_types, sniffed))
		return "the file's content is not of a type this chat accepts";
	if (strcmp(sniffed, r->type) != 0)
		return "the file's content does not match its declared type";
	return NULL;
}

void lc_upload_store(struct livechat *lc, struct lc_upload *u)
{
	u->store_rc = attach_put(lc->attach_dir, u->body, u->len, u->max_bytes, u->hex);
	if (u->store_rc == GW_OK)
		u->store_rc = attach_type_put(lc->attach_dir, u->hex, u->type);
	if (u->store_rc == GW_OK)
		u->store_rc = chatlog_file_put(lc->log, u->p.conversation, u->hex, u->meta);
}

/* The group commit's done of an upload (service thread): its request is
 * answered when it can be written, or the upload is freed when the request
 * closed meanwhile or the connector stops. */
static void lc_upload_done(struct gcommit_waiter *w, int rc)
{
	struct lc_pending *p = lws_container_of(w, struct lc_pending, wait);
	struct lc_upload *u = p->upload;
	struct livechat *lc = p->lc;

	u->rc = rc != GW_OK ? rc : u->store_rc;
	u->finished = 1;
	if (u->rc != GW_OK)
		GW_ERROR(lc->inst->log_module, "upload of %s not stored: %s", u->p.conversation,
			 gw_strerror(u->rc));
	else
		GW_INFO(lc->inst->log_module, "file %.12s (%s, %zu bytes) stored for %s", u->hex,
			u->type, u->len, u->p.conversation);
	if (!u->r) {
		lc_upload_free(lc, u);
		return;
	}
	if (!lc->stopping)
		lws_callback_on_writable(u->wsi);
}

/* The upload job of the whole body of r (which hands its body over). */
static int lc_upload_job(struct livechat *lc, struct lws *wsi, struct lc_http *r,
			 struct lc_upload **out)
{
	struct lc_upload *u = calloc(1, sizeof(*u));
	json_t *o = json_pack("{s:s,s:s,s:I}", "name", r->name, "type", r->type, "size",
			      (json_int_t)r->body_len);
	int rc = u && o && (u->meta = json_dumps(o, JSON_COMPACT)) ? GW_OK : GW_ENOMEM;

	json_decref(o);
	if (rc != GW_OK) {
		if (u)
			free(u->meta);
		free(u);
		return rc;
	}
	u->p.lc = lc;
	u->p.upload = u;
	snprintf(u->p.conversation, sizeof(u->p.conversation), "%s", r->conversation);
	snprintf(u->type, sizeof(u->type), "%s", r->type);
	u->body = r->body;
	u->len = r->body_len;
	u->max_bytes = (uint64_t)lc->set->max_file_bytes;
	u->r = r;
	u->wsi = wsi;
	r->body = NULL;
	r->upload = 0; /* n_uploads now counts the job */
	*out = u;
	return GW_OK;
}

int lc_upload_end(struct livechat *lc, struct lws *wsi, struct lc_http *r)
{
	const char *lie = lc_upload_lies(lc, r);
	struct lc_upload *u = NULL;

	if (r->body_len != r->body_max)
		return lc_http_refuse(lc, wsi, 400, "bad_length", "the body is shorter than its length");
	if (lie)
		return lc_http_refuse(lc, wsi, 415, "unsupported_type", lie);
	if (lc_upload_job(lc, wsi, r, &u) != GW_OK) {
		GW_ERROR(lc->inst->log_module, "upload of %s not stored: %s", r->conversation,
			 gw_strerror(GW_ENOMEM));
		return lc_http_refuse(lc, wsi, 503, "unavailable", "the file was not stored; try again");
	}
	/* Stored and granted on the commit thread; answered once durable. */
	r->job = u;
	gcommit_wait(lc->gc, &u->p.wait, lc_upload_done);
	return 0;
}

/* The 200 answer of a stored upload: its meta with the ref. */
static char *lc_upload_json(const struct lc_upload *u)
{
	json_t *o = json_loads(u->meta, 0, NULL);
	char *answer = NULL;

	if (o && json_object_set_new(o, "ref", json_sprintf("sha256:%s", u->hex)) == 0)
		answer = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return answer;
}

int lc_upload_answer(struct livechat *lc, struct lws *wsi, struct lc_http *r)
{
	char *answer;

	if (!r->job || !r->job->finished)
		return 0;
	answer = r->job->rc == GW_OK ? lc_upload_json(r->job) : NULL;
	if (!answer)
		return lc_http_refuse(lc, wsi, 503, "unavailable", "the file was not stored; try again");
	lc_answer_json(wsi, answer);
	free(answer);
	lc_upload_clear(lc, r);
	return -1;
}

/* ---- downloads ------------------------------------------------------------------ */

/* The headers of a file of `type`: never sniffed, never run, images inline. */
static int lc_file_headers(const char *type, char *buf, size_t len)
{
	int n = snprintf(buf, len,
			 "X-Content-Type-Options: nosniff\r\n"
			 "Content-Security-Policy: sandbox; default-src 'none'\r\n"
			 "Cache-Control: private, max-age=3600\r\n"
			 "Content-Disposition: %s\r\n",
			 strncmp(type, "image/", 6) == 0 ? "inline" : "attachment");

	return n < 0 || (size_t)n >= len ? -1 : n;
}

int lc_download(struct livechat *lc, struct lws *wsi)
{
	char uri[128], conv[LC_ADDRESS_MAX], meta[LC_META_MAX], path[4200], headers[512];
	const char *hex, *type;
	json_t *o = NULL;
	int n, rc;

	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
		return -1;
	hex = uri + strlen(LC_PATH_FILES);
	if (lc_key_conversation(lc, wsi, conv) != GW_OK)
		return lc_http_refuse(lc, wsi, 401, "unauthorized", "a valid files key (k=) is required");
	if (attach_path(lc->attach_dir, hex, path, sizeof(path)) != GW_OK ||
	    chatlog_file_get(lc->log, conv, hex, meta, sizeof(meta)) != GW_OK ||
	    !(o = json_loads(meta, 0, NULL)) ||
	    !(type = json_string_value(json_object_get(o, "type"))) || access(path, R_OK) != 0) {
		json_decref(o);
		return lc_http_refuse(lc, wsi, 404, "not_found", "no such file in this conversation");
	}
	n = lc_file_headers(type, headers, sizeof(headers));
	rc = n < 0 ? -1 : lws_serve_http_file(wsi, path, type, headers, n);
	json_decref(o);
	if (rc < 0)
		return -1;
	return rc > 0 && lws_http_transaction_completed(wsi) ? -1 : 0;
}

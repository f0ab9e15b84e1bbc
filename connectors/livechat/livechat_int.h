/*
 * livechat_int.h - state shared by the live-chat server files (livechat.c:
 * the type, the server and the websocket protocol; lc_flow.c: messages in,
 * replies out, acks and history). Private to connectors/livechat/.
 */
#ifndef GW_LIVECHAT_INT_H
#define GW_LIVECHAT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "connectors/chunked.h"
#include "connectors/commit.h"
#include "connectors/connector.h"
#include "connectors/listen_guard.h"
#include "store/attachments.h"
#include "store/chatlog.h"
#include "connectors/livechat/lc_file.h"
#include "connectors/livechat/lc_proto.h"
#include "connectors/livechat/livechat.h"

#define LC_OUT_MAX 2048          /* frames queued for one socket; past it: closed */
#define LC_HISTORY_MAX 1000      /* messages sent on resume at most */
#define LC_ERRORS_MAX 20         /* bad frames a socket may send before it is closed */
#define LC_SEEN_MAX 4096         /* replies awaiting a "seen", remembered at most */
#define LC_TOKEN_TTL_S (365LL * 24 * 3600)
#define LC_TYPING_US 2000000LL   /* one chat.typing per socket every 2 s at most */
#define LC_FILES_KEY_TTL_S (7LL * 24 * 3600) /* a files key, renewed at each welcome */

/* One frame waiting for the socket. */
struct lc_out {
	struct lws_dll2 node;
	size_t len;
	unsigned char buf[]; /* LWS_PRE + len */
};

/* A visitor with open sockets: the rate limit is theirs, whatever the tabs. */
struct lc_visitor {
	struct lc_visitor *next;    /* in its hash bucket */
	char visitor[LC_VISITOR_LEN + 1];
	unsigned refs;              /* welcomed sockets of this visitor */
	double tokens;              /* rate limit bucket */
	int64_t refill_us;
};

#define LC_VISITOR_BUCKETS 4096

/* One websocket: lws's per-session data of "gateway-chat". */
struct lc_conn {
	struct lws_dll2 node;       /* in lc->conns once welcomed */
	struct lws *wsi;
	struct livechat *lc;
	int welcomed;
	int closing;
	unsigned errors;
	size_t out_n;
	lws_dll2_owner_t out;       /* struct lc_out */
	char ip[64];
	char visitor[LC_VISITOR_LEN + 1];
	char conversation[LC_ADDRESS_MAX];
	char name[LC_NAME_MAX + 1];  /* a site identity's name, else "" */
	char lang[36];              /* the browser's language (hello), else "" */
	int64_t typing_next_us;     /* no chat.typing of this socket before (LC_TYPING_US) */
	char email[LC_EMAIL_MAX + 1]; /* a site identity's email (verified), else "" */
	struct lc_visitor *v;       /* once welcomed */
	char *rx;                   /* a frame being reassembled */
	size_t rx_len, rx_max;
	int rx_drop;                /* the frame is too large: dropping its rest */
};

/*
 * A visitor's message (or a reply) waiting in the group commit
 * (connectors/commit.h): its event in the spool (a reply has none), then
 * its entry in the conversation log (`e`, with its attachments; a reply's
 * stored files are granted first), written by lc_log_batch on the commit
 * thread, which reads the fields below `conn` and writes e.id and
 * e.duplicate while it is in flight.
 */
struct lc_pending {
	struct lws_dll2 node;       /* in lc->pending */
	struct gcommit_waiter wait;
	struct livechat *lc;
	struct lc_conn *conn;       /* NULL once its socket closed, or a reply
				     * (owner only) */
	uint64_t delivery_id;       /* a reply's; 0: a visitor's message */
	char conversation[LC_ADDRESS_MAX];
	char client_id[LC_CLIENT_ID_MAX + 1];
	char dedup[LC_CLIENT_ID_MAX + 3];
	int64_t ts;
	char *text;                 /* owned */
	char *attachments;          /* owned JSON array, NULL when none */
	struct chatlog_entry e;     /* borrows the fields above */
	struct lc_upload *upload;   /* a file upload (lc_upload.c): no event,
				     * no log entry; NULL for a message */
};

/*
 * A file upload waiting in the group commit (lc_upload.c): its blob is
 * written and fsync'ed, then granted to the conversation, by the commit
 * thread (lc_log_batch -> lc_upload_store), and the HTTP request is
 * answered from the done callback on the service thread. The commit
 * thread reads the fields above `hex` and writes hex and store_rc while it
 * is in flight. Owned by the group commit until done, then by its request
 * (`r`), or freed at done when the request closed meanwhile.
 */
struct lc_upload {
	struct lc_pending p;        /* p.wait, p.conversation, p.upload = this */
	unsigned char *body;        /* owned */
	size_t len;
	uint64_t max_bytes;
	char *meta;                 /* owned: the grant's {name,type,size} */
	char type[LC_FILE_TYPE_MAX + 1];
	char hex[ATTACH_HEX_LEN + 1]; /* the blob's sha256 once stored */
	int store_rc;               /* the commit thread's result */
	int rc;                     /* the result told to done */
	int finished;               /* done was called */
	struct lc_http *r;          /* the request awaiting the answer; NULL
				     * once closed (service thread only) */
	struct lws *wsi;
};

/* A reply shown to the visitor, awaiting the browser's "seen". */
struct lc_seen {
	char conversation[LC_ADDRESS_MAX];
	uint64_t id;
	uint64_t delivery_id;
};

/* A plain HTTP request: lws's per-session data of "http" (lc_http.c). */
struct lc_http {
	unsigned linger : 1;        /* a refused POST: its body is being dropped */
	unsigned chunked : 1;
	unsigned upload : 1;        /* a file upload being read (lc_upload.c) */
	struct lc_upload *job;      /* the upload once read: in the group
				     * commit, then answered */
	uint64_t seen;              /* bytes of it dropped */
	struct chunked ch;
	unsigned char *body;        /* an upload: owned, body_max bytes */
	size_t body_len, body_max;
	char conversation[LC_ADDRESS_MAX];
	char name[LC_FILE_NAME_MAX + 1];
	char type[LC_FILE_TYPE_MAX + 1];
};

#define LC_UPLOADS_MAX 8         /* uploads read at once; past it: 503 */

struct livechat {
	struct connector_instance *inst;
	const struct livechat_settings *set;
	struct lws_context *lws;
	struct listen_guard *guard;  /* floods: connections, requests per address */
	struct lws_protocols protocols[3];
	struct lws_http_mount mount;
	char web_dir[1024];
	char attach_dir[4096];       /* <state_dir>/attachments (store/attachments.h) */
	unsigned n_uploads;          /* uploads being read */
	char avail[16];              /* the queue's state: available, away, closed; "" unknown */
	int64_t avail_next_us;       /* next look at run/router.json */
	struct chatlog *log;
	struct gcommit *gc;         /* the group commit acks wait in */
	lws_sorted_usec_list_t tick_sul;
	lws_sorted_usec_list_t commit_sul; /* gcommit_run at the next round */
	int stopping;               /* run() ended: no more acks */
	int failed;
	lws_dll2_owner_t conns;     /* welcomed sockets */
	lws_dll2_owner_t pending;   /* struct lc_pending, not yet answered */
	long long n_conns;
	struct lc_visitor **visitors; /* LC_VISITOR_BUCKETS hash buckets */
	struct lc_seen *seen;       /* ring of LC_SEEN_MAX */
	size_t seen_next;
};

/* ---- lc_http.c ---- */

/* lc_http_callback - the callback of protocols[0] ("http"): flood limits,
 * the checks of every request and upgrade, then lws's file serving. */
int lc_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		     void *in, size_t len);

/* lc_http_deadline - the guard's on_deadline: closes `wsi`. */
void lc_http_deadline(void *arg, struct lws *wsi);

/* lc_http_refuse - counts, logs and answers `status` with the JSON error
 * {code, message}; returns -1 (lws closes the connection after). */
int lc_http_refuse(struct livechat *lc, struct lws *wsi, unsigned status, const char *code,
		   const char *message);

/* lc_http_refuse_body - lc_http_refuse for a request whose body is still
 * coming: the body is dropped (bounded) before closing. 0, or -1: close now. */
int lc_http_refuse_body(struct livechat *lc, struct lws *wsi, struct lc_http *r,
			unsigned status, const char *code, const char *message);

/* lc_http_cors - adds Access-Control-Allow-Origin when the request's Origin
 * is allowed (lc_http.c's Origin check); 0, or -1 when it does not fit. */
int lc_http_cors(struct lws *wsi, unsigned char **p, unsigned char *end);

/* lc_schedule_commit - the group commit's schedule: gcommit_run at the
 * start of the next service round. */
void lc_schedule_commit(void *arg);

/* ---- lc_upload.c: files of a conversation (docs/channels/livechat.md) ---- */

/* lc_upload_path, lc_files_path - is the request a POST /upload, a GET or
 * HEAD of /files/<...>? */
int lc_upload_path(struct lws *wsi);
int lc_files_path(struct lws *wsi);

/* lc_upload_begin - LWS_CALLBACK_HTTP of POST /upload: checks the files
 * key, the length and the declared type and name (refusing with 401, 411,
 * 413, 415, 400, 503), then reads the body into r. 0, or -1: close. */
int lc_upload_begin(struct livechat *lc, struct lws *wsi, struct lc_http *r);

/* lc_upload_body - a part of the body of an upload; -1 past its length. */
int lc_upload_body(struct livechat *lc, struct lws *wsi, struct lc_http *r, const void *in,
		   size_t len);

/* lc_upload_end - the whole body: sniffed (refused at once: -1), then
 * queued in the group commit, which stores it (fsync'ed) and grants it to
 * the conversation on the commit thread; 0: the request stays open until
 * lc_upload_answer. */
int lc_upload_end(struct livechat *lc, struct lws *wsi, struct lc_http *r);

/* lc_upload_answer - LWS_CALLBACK_HTTP_WRITEABLE of an upload whose commit
 * ended: 200 {ref,name,type,size}, or 503 when it was not stored. 0 when
 * the request has no answer yet, else -1 (the connection closes after). */
int lc_upload_answer(struct livechat *lc, struct lws *wsi, struct lc_http *r);

/* lc_upload_store - the group commit's after step of an upload (commit
 * thread): the blob written and fsync'ed (attach_put), then granted to the
 * conversation (chatlog_file_put). Sets u->hex and u->store_rc; returns
 * nothing: an upload's failure is its own, not its batch's. */
void lc_upload_store(struct livechat *lc, struct lc_upload *u);

/* lc_upload_clear - frees what an upload holds (its body being read, or
 * its answered job; a job still in the group commit is only detached from
 * the request, and freed at its done); accepts any r. */
void lc_upload_clear(struct livechat *lc, struct lc_http *r);

/* lc_file_kind - "image", "document" (PDF) or "file": attachment.kind. */
const char *lc_file_kind(const char *type);

/* lc_download - GET /files/<hex>?k=<files key>: the file, to the
 * conversation it was granted to only (401, 404 otherwise). */
int lc_download(struct livechat *lc, struct lws *wsi);

/* ---- lc_avail.c: the queue's availability (docs/channels/livechat.md) ---- */

/* lc_avail_tick - at most once a second: reads the queue's state from
 * run/router.json; when it changed, tells every welcomed socket. */
void lc_avail_tick(struct livechat *lc);

/* lc_avail_send - the {"type":"availability"} frame of now to `c`, when the
 * state is known. */
void lc_avail_send(struct lc_conn *c);

/* ---- lc_flow.c ---- */

/* lc_send - queues a JSON frame (copied) for `c`; closes it past LC_OUT_MAX. */
void lc_send(struct lc_conn *c, const char *json, size_t len);

/* lc_send_error - queues {"type":"error","code","message"}. */
void lc_send_error(struct lc_conn *c, const char *code, const char *message);

/* lc_on_frame - handles one whole text frame of `c`. */
void lc_on_frame(struct lc_conn *c, const char *data, size_t len);

/* lc_log_batch - the group commit's `after` (commit thread): the files of
 * a commit's uploads (lc_upload_store), then the conversation log entries
 * of its messages, one synced transaction. */
int lc_log_batch(void *arg, struct gcommit_waiter *const *w, size_t n);

/* lc_committed - the group commit's done of a pending message: its ack
 * (or error frame), then it is freed. */
void lc_committed(struct gcommit_waiter *w, int rc);

/* lc_free_pending - frees a message that left the group commit. */
void lc_free_pending(struct lc_pending *p);

/* lc_visitor_take - the rate state of `visitor`, one more reference; NULL: no memory. */
struct lc_visitor *lc_visitor_take(struct livechat *lc, const char *visitor);

/* lc_forget_conn - drops what refers to a closing socket. */
void lc_forget_conn(struct lc_conn *c);

/* lc_signal - the type's signal op: an agent's chat.typing is shown in the
 * conversation's widgets ({"type":"typing","from":"agent"}). */
void lc_signal(struct connector_instance *inst, const void *event, size_t len);

/* lc_deliver - the type's deliver op. */
int lc_deliver(struct connector_instance *inst, const void *event, size_t len,
	       uint64_t delivery_id);

#endif

/*
 * httpd_int.h - the state shared by the shared HTTP server's files
 * (httpd.c: requests, answers, the server, on the group commit of
 * connectors/commit.c; httpd_body.c: the
 * framing and reading of request bodies, their deadlines and the lingering
 * close). Private to connectors/httpd*.c.
 */
#ifndef GW_CONNECTOR_HTTPD_INT_H
#define GW_CONNECTOR_HTTPD_INT_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "connectors/chunked.h"
#include "connectors/commit.h"
#include "connectors/httpd.h"
#include "connectors/listen_guard.h"

#define HTTPD_HDR_MAX 512         /* response headers */

enum httpd_state {
	HTTPD_C_IDLE = 0, /* no request, or its answer was written */
	HTTPD_C_HANDLER,  /* in on_request: no answer yet */
	HTTPD_C_BODY,     /* reading a body for on_body */
	HTTPD_C_DISCARD,  /* reading a body to drop: the answer is known */
	HTTPD_C_PARSE,    /* in on_body: no answer yet */
	HTTPD_C_WAITING,  /* deferred: req->wait waits in the group commit */
	HTTPD_C_HELD,     /* held: waiting for httpd_resume */
	HTTPD_C_ANSWER,   /* answer known, waiting for the socket */
	HTTPD_C_LINGER,   /* answer written: dropping the body's rest, then closing */
};

/* One HTTP transaction: lws's per-session data. */
struct httpd_req {
	struct lws_dll2 node;      /* in h->held */
	struct gcommit_waiter wait; /* while HTTPD_C_WAITING */
	struct httpd *h;
	struct lws *wsi;
	enum httpd_state state;
	enum httpd_method method;
	long long content_length;  /* -1 when absent (or chunked) */
	uint64_t ticket;           /* while HTTPD_C_HELD */
	int status;                /* of the answer */
	unsigned retry_after;      /* Retry-After of a 429 (seconds), 0: none */
	const char *content_type;  /* of the answer, static */
	const char *allow;         /* Allow header of a 405, static */
	struct chunked_buf body;   /* max: the body's length (Content-Length),
				    * or max_body_bytes when chunked; 0: none */
	uint64_t body_seen;        /* bytes of the body received, kept or not */
	int64_t body_start_us;     /* its headers' end, for the body deadline */
	struct chunked ch;         /* the decoder of a chunked body */
	size_t answer_len;
	unsigned close : 1;        /* close the connection after the answer */
	unsigned answer_now : 1;   /* answer without reading the body first */
	unsigned linger : 1;       /* after the answer, drop the body's rest
				    * (bounded), then close */
	unsigned chunked : 1;      /* the body is chunked (ch decodes it) */
	unsigned body_done : 1;    /* the whole body was received */
	char path[HTTPD_PATH_MAX + 1];
	char answer[HTTPD_ANSWER_MAX];
	alignas(max_align_t) unsigned char data[]; /* req_data_size bytes */
};

struct httpd {
	struct httpd_options opt;
	struct connector_instance *inst;
	struct lws_context *lws;
	struct listen_guard *guard;
	struct lws_protocols protocols[2];
	struct gcommit *gc;         /* the group commit deferred answers wait in */
	lws_sorted_usec_list_t commit_sul; /* gcommit_run at the next round */
	lws_sorted_usec_list_t tick_sul;
	lws_dll2_owner_t held;      /* HTTPD_C_HELD */
	uint64_t next_ticket;
	int stopping;               /* httpd_stop: answer nothing more */
	int failed;                 /* an error that ends httpd_run() */
	int64_t log_window_us;      /* start of the current log-rate second */
	unsigned log_count, log_dropped;
	unsigned char out[LWS_PRE + HTTPD_HDR_MAX + HTTPD_ANSWER_MAX];
};

/* ---- httpd.c ---- */

/* httpd_ready - the answer is known: written once the socket is writable. */
void httpd_ready(struct httpd_req *req);

/* httpd_call_body - hands the whole body to on_body, which must answer. */
void httpd_call_body(struct httpd *h, struct httpd_req *req, const char *body, size_t len);

/* ---- httpd_body.c ---- */

/*
 * httpd_check_framing - reads how the body is framed (Content-Length,
 * Transfer-Encoding) before anything else, so that any refusal knows
 * whether it can drop the body or must close. Returns 0 when the request
 * goes on, 1 when it was refused.
 */
int httpd_check_framing(struct httpd *h, struct httpd_req *req);

/* httpd_start_body - starts reading the body on_request asked for. */
void httpd_start_body(struct httpd *h, struct httpd_req *req);

/* httpd_body_in - LWS_CALLBACK_HTTP_BODY; -1 closes the connection. */
int httpd_body_in(struct httpd *h, struct httpd_req *req, const char *in, size_t len);

/* httpd_body_end - LWS_CALLBACK_HTTP_BODY_COMPLETION; -1 closes. */
int httpd_body_end(struct httpd *h, struct httpd_req *req);

/* httpd_body_pending - bytes of the body are still to come. */
int httpd_body_pending(const struct httpd_req *req);

/* httpd_deadline - the guard's on_deadline: a body too slow is refused 408
 * (or its connection closed when its answer is out). */
void httpd_deadline(void *arg, struct lws *wsi);

#endif

/*
 * integration.h - gateway-integration: the HTTP integration API and the
 * outgoing webhooks (docs/integration.md, docs/internals/integration.md).
 *
 * A consumer of the router like any other: it reads and acts only through
 * the router's command socket (replay, ticket.get, customer.get,
 * ticket.list, message.send, the helpdesk commands) and its publish socket,
 * so the router stays the only writer of its store and the CURVE rights of
 * docs/security.md apply. Its own state (webhook cursors, idempotency keys)
 * is in <state_dir>/integration/ (store/integration.h).
 *
 *   main.c   process: config, signals, status file, the loop
 *   http.c   the HTTP/1.1 server on libwebsockets: framing, bounded bodies,
 *            answers (streamed from a file for attachments)
 *   api.c    routes, tokens and scopes, idempotency, JSON errors
 *   rcmd.c   request/reply on the router's command socket
 *   hooks.c  one worker thread per webhook subscription
 *
 * Threading: http.c, api.c and their rcmd run on the main thread; each
 * webhook worker has its own rcmd and SUB socket.
 */
#ifndef GW_INTEGRATION_H
#define GW_INTEGRATION_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <zmq.h>

#include "core/config.h"
#include "store/attachments.h"

#define IG_MOD "integration"
#define IG_PATH_MAX 1024
#define IG_KEY_MAX 128 /* longest Idempotency-Key */
#define IG_AUTH_MAX 1100

extern volatile sig_atomic_t ig_stop; /* set by SIGTERM/SIGINT */

/* ---- rcmd.c ---- */

/* One client of the router's command socket (REQ, relaxed + correlated). */
struct rcmd {
	void *zctx;                         /* borrowed */
	void *sock;                         /* NULL until first use / after a timeout */
	const struct gw_config_router *bus; /* borrowed */
	long timeout_ms;
};

/* The answer of one command: every frame after the status word. */
struct rcmd_reply {
	int ok;            /* "ok" (else "error": code and message below) */
	zmq_msg_t *frames; /* frames[0] is the result map, then any pairs */
	size_t n, cap;
	char code[32];     /* "GW_ENOTFOUND" when !ok */
	char message[512];
};

/*
 * rcmd_call - sends [cmd, args] (`len` bytes of msgpack, borrowed) and waits
 * timeout_ms for the answer into *r (free with rcmd_reply_free). GW_OK (an
 * answer came: ok or error), GW_EAGAIN (no answer in time: the socket is
 * recreated), GW_EBUS, GW_ENOMEM. Single thread per struct rcmd.
 */
int rcmd_call(struct rcmd *c, const char *cmd, const void *args, size_t len,
	      struct rcmd_reply *r);

/* rcmd_json - frame i of r converted from msgpack (new reference) or NULL. */
json_t *rcmd_json(const struct rcmd_reply *r, size_t i);

void rcmd_reply_free(struct rcmd_reply *r);
void rcmd_close(struct rcmd *c);

/* ---- http.c / api.c ---- */

enum ig_method { IG_OTHER = 0, IG_GET, IG_POST };

/* What the handler answers. */
struct ig_answer {
	int status;
	const char *content_type; /* static, or `type` */
	char type[ATTACH_TYPE_MAX + 1]; /* a stored attachment's media type */
	char *body;               /* malloc'ed, or NULL */
	size_t len;
	int fd;                   /* >= 0: stream `len` bytes of this file instead */
	const char *extra_name[3], *extra_value[3]; /* extra headers (static or in `hold`) */
	char hold[2][160];
};

/* One request as the handler sees it. */
struct ig_request {
	enum ig_method method;
	char path[IG_PATH_MAX + 1];
	char auth[IG_AUTH_MAX];       /* Authorization, "" when absent */
	char idem_key[IG_KEY_MAX + 1];
	int idem_bad;                 /* the Idempotency-Key was too long */
	const char *body;             /* POST: the body (borrowed), else NULL */
	size_t body_len;
	void *wsi;                    /* for ig_query, during the handler only */
	char peer[64];
	struct ig_answer ans;
};

/* ig_query - query parameter `name` (URL-decoded) into buf. GW_OK,
 * GW_ENOTFOUND, GW_ETOOBIG. Only while handling a GET. */
int ig_query(const struct ig_request *q, const char *name, char *buf, size_t len);

struct ig_api;

/* The server's view of the process. */
struct ig_http;
struct ig_stats;
int ig_http_create(const struct gw_config_integration *in, struct ig_api *api,
		   struct ig_http **out);
/* ig_http_stats - fills the server's counters of *s (conn_refused,
 * rate_limited, body_timeouts). */
void ig_http_stats(const struct ig_http *h, struct ig_stats *s);
/* ig_http_run - serves until ig_stop; `tick` runs about once a second. */
int ig_http_run(struct ig_http *h, void (*tick)(void *arg), void *arg);
void ig_http_destroy(struct ig_http *h);

/* api.c */
struct ig_stats {
	uint64_t requests, ok, client_errors, server_errors;
	uint64_t auth_throttled; /* 429: too many bad tokens from the address */
	uint64_t conn_refused;   /* http.c: connections refused at accept */
	uint64_t rate_limited;   /* http.c: 429, over requests_per_minute */
	uint64_t body_timeouts;  /* http.c: 408, a body too slow */
};
struct integ_db;
/* ig_api_create - `db` (store/integration.h) is borrowed and shared. */
int ig_api_create(const struct gw_config *cfg, void *zctx, struct integ_db *db,
		  struct ig_api **out);
void ig_api_destroy(struct ig_api *a);
/* ig_api_handle - answers q->ans (exactly once) and logs one line. */
void ig_api_handle(struct ig_api *a, struct ig_request *q);
void ig_api_stats(const struct ig_api *a, struct ig_stats *s);

/* Answers built by api.c, used by http.c for framing errors too. */
void ig_error(struct ig_request *q, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* ig_retry_after - adds `Retry-After: seconds` (at least 1) to q's answer. */
void ig_retry_after(struct ig_request *q, unsigned seconds);

/* ---- reports.c ---- */

struct store;
/*
 * ig_reports_get - GET /v1/reports: the report of the query's from, to and
 * by as a new JSON object (caller's), or NULL once q is answered with an
 * error (400 invalid_request, 503 router_unavailable when the store cannot
 * be read). *st is the router's store opened read-only on first use, kept
 * for the next requests (the caller closes it). Loop thread only.
 */
json_t *ig_reports_get(const struct gw_config *cfg, struct store **st, struct ig_request *q);

/* ---- hooks.c ---- */

struct ig_hooks;
/* ig_hooks_start - one worker thread per configured webhook. */
int ig_hooks_start(const struct gw_config *cfg, void *zctx, struct integ_db *db,
		   struct ig_hooks **out);
/* ig_hooks_status - a JSON array describing each worker (new reference). */
json_t *ig_hooks_status(struct ig_hooks *h);
/* ig_hooks_stop - asks every worker to stop, joins them, frees; NULL ok. */
void ig_hooks_stop(struct ig_hooks *h);

#endif

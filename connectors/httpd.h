/*
 * httpd.h - the HTTP/1.1 server that connectors taking requests from a
 * provider share (api, meta), on libwebsockets.
 *
 * It owns everything that is not the channel's: the listening socket, the
 * keep-alive connections, the framing of request bodies, the answers and
 * the periodic work of a connector process; deferred answers wait in the
 * group commit (connectors/commit.h), whose policy is not the server's. A connector
 * gives two callbacks and decides, per request, what to answer:
 *
 *   on_request(req)        request line and headers are in; the framing is
 *                          already checked (an unreadable Content-Length 400,
 *                          both Content-Length and Transfer-Encoding 400, a
 *                          transfer coding other than chunked 501: answered
 *                          at once and closing; a Content-Length over
 *                          max_body_bytes 413, answered at once, the body
 *                          then dropped up to 4 times max_body_bytes before
 *                          closing), and so is the address's token bucket
 *                          (429 with Retry-After). The callback answers
 *                          (httpd_answer, httpd_refuse) or returns
 *                          HTTPD_READ_BODY.
 *   on_body(req, body)     the whole body, read into a buffer bounded by its
 *                          Content-Length, or decoded from a chunked body
 *                          into one bounded by max_body_bytes (413 past it;
 *                          the connection closes after the answer of a
 *                          chunked request). The callback answers at once,
 *                          or outbox_add()s the request's events and calls
 *                          httpd_defer(), or httpd_hold()s the request while
 *                          other work (another thread) completes.
 *
 * Deferred answers: each waits in the group commit (gcommit_wait), run by a
 * zero-delay timer once per service round on the outbox's commit thread;
 * when its commit ends (httpd_wake, then gcommit_poll), each request is
 * answered: the answer its handler gave to httpd_defer() when the commit
 * worked, else 503 with Retry-After. A provider is told "accepted" only once its events are
 * durable. The loop keeps serving while the disk flushes.
 *
 * Floods (listen_guard.h, limits from httpd_config.h): connections per
 * address (429 and closed at accept), max_connections (the connection idle
 * the longest closed for a new one, else 503), header and keep-alive
 * timeouts, a token bucket of requests per address (429), and a body
 * deadline (408 and closed).
 *
 * Also served here: GET /healthz ({"status":"ok","spooled":N}, not counted
 * nor rate-limited), 400 and close for an Upgrade (h2c, websocket), 414 for
 * a path over HTTPD_PATH_MAX, one log line per refusal rate-limited to 50 a
 * second, and every HTTPD_TICK_US outbox_pump(), the on_tick handler and
 * connector_status_tick().
 *
 * Counters (inst->stats): requests (every request but /healthz), accepted
 * (2xx answers, deferred ones once durable), rejected (4xx), failed (5xx),
 * rate_limited (429 of the bucket, also in rejected), conn_refused
 * (connections closed at accept).
 *
 * Threading: everything runs on the thread that calls httpd_run(), except
 * httpd_wake(), which any thread may call.
 */
#ifndef GW_CONNECTOR_HTTPD_H
#define GW_CONNECTOR_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include "connectors/connector.h"
#include "connectors/httpd_config.h"
#include "core/config.h"

#define HTTPD_PATH_HEALTH "/healthz"
#define HTTPD_PATH_MAX 1024     /* longer request paths are answered 414 */
#define HTTPD_ANSWER_MAX 2048   /* longest answer body */

struct httpd;
struct httpd_req; /* one request; lives until it is answered or its connection closes */

enum httpd_method { HTTPD_M_OTHER = 0, HTTPD_M_GET, HTTPD_M_POST };

/* What on_request returns. */
enum httpd_next {
	HTTPD_ANSWERED = 0,  /* the callback answered (or refused) */
	HTTPD_READ_BODY = 1, /* read the body, then call on_body */
};

struct httpd_handlers {
	/*
	 * on_request - MUST answer `req` and return HTTPD_ANSWERED, or return
	 * HTTPD_READ_BODY: then a request with neither a Content-Length nor a
	 * chunked body is refused 411, and otherwise on_body follows once the
	 * body is in.
	 */
	int (*on_request)(void *arg, struct httpd_req *req);
	/*
	 * on_body - `body` (`len` bytes, len may be 0) is borrowed for the call.
	 * MUST answer, refuse, defer or hold `req` before it returns.
	 */
	void (*on_body)(void *arg, struct httpd_req *req, const char *body, size_t len);
	/* on_wake - MAY be NULL; called on the service thread after httpd_wake(). */
	void (*on_wake)(void *arg);
	/* on_tick - MAY be NULL; called on the service thread every
	 * HTTPD_TICK_US, after outbox_pump() (a sender's poll, sender.h). */
	void (*on_tick)(void *arg);
};

struct httpd_options {
	struct conf_listen listen;       /* copied */
	long long max_body_bytes;        /* larger bodies: 413 */
	long long max_connections;       /* at once, from every address */
	const struct httpd_limits *limits; /* borrowed, outlives the server;
					    * NULL: the defaults of HTTPD_CONF_ROWS */
	size_t req_data_size;            /* per-request scratch (httpd_req_data), zeroed */
	const char *www_authenticate;    /* MAY be NULL: WWW-Authenticate of a 401 */
	const char *endpoint;            /* path named in the "listening on" log line */
	struct connector_instance *inst; /* borrowed, outlives the server: stats,
					  * outbox, log_module */
	const struct httpd_handlers *handlers; /* borrowed, outlives the server */
	void *arg;                       /* passed to the handlers */
};

/*
 * httpd_create - listens on opt->listen. *out owns the server (free with
 * httpd_destroy). Returns GW_OK, GW_EINVAL (max_connections out of range),
 * GW_ENOMEM, GW_EIO (cannot listen: logged).
 */
int httpd_create(const struct httpd_options *opt, struct httpd **out);

/*
 * httpd_run - serves until connector_stopping() or a fatal outbox error. On
 * the way out, events still queued are committed (so nothing accepted is
 * lost) but no waiting client is answered: they retry, the router
 * deduplicates. Returns GW_OK or the error that stopped it.
 */
int httpd_run(struct httpd *h);

/*
 * httpd_destroy - closes every connection (no handler is called) and frees
 * the server; accepts NULL.
 */
void httpd_destroy(struct httpd *h);

/* httpd_wake - makes on_wake run soon on the service thread. Any thread. */
void httpd_wake(struct httpd *h);

/* ---- the request (valid in the callbacks, or after httpd_resume) ---- */

enum httpd_method httpd_req_method(const struct httpd_req *req);

/* httpd_req_path - the path, without the query; borrowed from req. */
const char *httpd_req_path(const struct httpd_req *req);

/* httpd_req_content_length - the announced body length, -1 when absent. */
long long httpd_req_content_length(const struct httpd_req *req);

/*
 * httpd_req_header - copies the value of header `name` (lowercase, e.g.
 * "x-hub-signature-256") and a NUL into `buf` (len bytes), its length into
 * *vlen (may be NULL). Returns GW_OK, GW_ENOTFOUND (absent), GW_ETOOBIG
 * (does not fit in `len` bytes). Valid in on_request only.
 */
int httpd_req_header(const struct httpd_req *req, const char *name, char *buf, size_t len,
		     size_t *vlen);

/*
 * httpd_req_query - copies the URL-decoded value of query parameter `name`
 * (the first occurrence) and a NUL into `buf` (len bytes), its length into
 * *vlen (may be NULL). Returns GW_OK, GW_ENOTFOUND (absent), GW_ETOOBIG
 * (does not fit). Valid in on_request only.
 */
int httpd_req_query(const struct httpd_req *req, const char *name, char *buf, size_t len,
		    size_t *vlen);

/* httpd_req_data - req_data_size bytes of scratch, zeroed for each request. */
void *httpd_req_data(struct httpd_req *req);

/* ---- answers: exactly one per request -------------------------------- */

/*
 * httpd_answer - answers `status` with `len` bytes of `body` (copied; at most
 * HTTPD_ANSWER_MAX, longer is cut) of `content_type` (a static string).
 */
void httpd_answer(struct httpd_req *req, int status, const char *content_type,
		  const void *body, size_t len);

/*
 * httpd_refuse - answers `status` (4xx/5xx) with {"error": code,
 * "message": ...} and logs one line naming the status, code, peer and
 * message: never put a secret or a body in it.
 */
void httpd_refuse(struct httpd_req *req, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * httpd_defer - the request's events were outbox_add()ed: after the next
 * group commit it is answered `status` with the JSON `json` (copied) if they
 * are durable, else 503.
 */
void httpd_defer(struct httpd_req *req, int status, const char *json);

/*
 * httpd_defer_as - httpd_defer() with an answer of another `content_type`
 * (a static string): `body` (copied, at most HTTPD_ANSWER_MAX bytes), e.g.
 * the empty TwiML document Twilio's webhooks expect.
 */
void httpd_defer_as(struct httpd_req *req, int status, const char *content_type,
		    const char *body);

/*
 * httpd_hold - the answer comes later: returns a ticket for httpd_resume.
 * The connection waits; if it closes meanwhile the ticket resolves to NULL.
 */
uint64_t httpd_hold(struct httpd_req *req);

/*
 * httpd_resume - the held request of `ticket`, or NULL when its connection
 * has closed; the caller then answers, refuses or defers it. Service thread.
 */
struct httpd_req *httpd_resume(struct httpd *h, uint64_t ticket);

/*
 * httpd_allow - the Allow header of a 405 answer (RFC 9110 15.5.6): the
 * methods the resource allows, a static string. Call before httpd_refuse.
 */
void httpd_allow(struct httpd_req *req, const char *methods);

/* httpd_retry_after - the Retry-After (seconds, at least 1) of a 429
 * answer. Call before httpd_refuse. */
void httpd_retry_after(struct httpd_req *req, long long seconds);

/* httpd_close_after - the connection closes once the answer is written. */
void httpd_close_after(struct httpd_req *req);

#endif

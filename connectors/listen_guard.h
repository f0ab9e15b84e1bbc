/*
 * listen_guard.h - what every libwebsockets listener (the connectors'
 * shared HTTP server httpd.c, the live chat's server, gateway-integration's
 * API) does against floods of connections and requests, from the limits of
 * its config (core/listen_limits.h; docs/security.md "Connection floods and
 * rate limits per address"):
 *
 *  - connections per client address: one over max_connections_per_ip is
 *    answered 429 and closed as soon as it is accepted, before lws gives
 *    it any state;
 *  - connections in all: at max_connections the connection idle the
 *    longest (waiting for a request's headers, or kept alive between
 *    requests) is closed to make room for the new one; when none is idle
 *    the new one is answered 503 and closed. A slow client cannot keep a
 *    prompt one waiting in the listen backlog;
 *  - header and idle timeouts: lws's own (timeout_secs_ah_idle,
 *    keepalive_timeout), set from the config by listen_guard_info();
 *  - a token bucket of requests per client address (listen_guard_request);
 *  - a deadline per connection (listen_guard_deadline), e.g. for a body.
 *
 * Every refusal is counted (the counters the options point at: for a
 * connector, conn_refused and rate_limited of its connector_stats) and
 * logged, one line per event held back by core/log.c when it repeats.
 *
 * Library gw_listen_guard (with addrlimit.c): gw_core and libwebsockets
 * only, so that a process that is no connector links it alone.
 *
 * Use: create the guard before the lws context; listen_guard_info() fills
 * the context's limits; the callback of the vhost's protocols[0] calls
 * listen_guard_callback() first for every reason (lws sends the accept,
 * the adoption and the destruction of every connection there, websockets
 * included).
 *
 * Threading: the lws service thread only.
 */
#ifndef GW_CONNECTOR_LISTEN_GUARD_H
#define GW_CONNECTOR_LISTEN_GUARD_H

#include <stdint.h>

#include <libwebsockets.h>

#include "core/listen_limits.h"

/* Connections over max_connections lws can hold while the ones closed to
 * make room for them finish closing. */
#define LISTEN_GUARD_SLACK 32

struct listen_guard;

struct listen_guard_options {
	long long max_connections;            /* all addresses together, >= 1 */
	const struct httpd_limits *limits;    /* borrowed, outlives the guard */
	const char *log_module;               /* borrowed, outlives the guard */
	uint64_t *conn_refused;               /* borrowed counters, outlive the guard: */
	uint64_t *rate_limited;               /* each refusal adds one */
	/* on_deadline - MAY be NULL: the deadline listen_guard_deadline() set
	 * for `wsi` has come; service thread. */
	void (*on_deadline)(void *arg, struct lws *wsi);
	void *arg;
};

/*
 * listen_guard_create - *out owns the guard (listen_guard_destroy): its
 * table of addresses and connection records are allocated here, bounded
 * by max_connections. Returns GW_OK, GW_EINVAL, GW_ENOMEM.
 */
int listen_guard_create(const struct listen_guard_options *opt, struct listen_guard **out);

/* listen_guard_destroy - frees the guard, after lws_context_destroy (which
 * reports every connection's end to it); accepts NULL. */
void listen_guard_destroy(struct listen_guard *g);

/*
 * listen_guard_info - sets the fields of `info` the limits decide: the
 * connection and header-table limits (max_connections and room for the
 * ones closing), the header timeout and the keep-alive timeout.
 */
void listen_guard_info(const struct listen_guard *g, struct lws_context_creation_info *info);

/*
 * listen_guard_callback - MUST be called first by the protocols[0]
 * callback. Returns 1 when `reason` was the guard's (accept, adoption,
 * destruction of a connection): the callback then returns *ret; else 0.
 */
int listen_guard_callback(struct listen_guard *g, struct lws *wsi,
			  enum lws_callback_reasons reason, void *user, void *in, int *ret);

/*
 * listen_guard_request - one request on `wsi`: GW_OK, or GW_EAGAIN when its
 * address is over requests_per_minute (counted in *rate_limited): answer
 * 429 with Retry-After: *retry_after_s.
 */
int listen_guard_request(struct listen_guard *g, struct lws *wsi, unsigned *retry_after_s);

/*
 * listen_guard_busy - `wsi` is in a request (busy 1: its headers are in),
 * or idle again (0: its answer is written, it waits for the next one).
 * Only idle connections are closed to make room for new ones.
 */
void listen_guard_busy(struct listen_guard *g, struct lws *wsi, int busy);

/*
 * listen_guard_deadline - on_deadline(arg, wsi) runs at `at_us`
 * (gw_mono_us() clock) unless the connection closes first; 0 cancels.
 * One deadline per connection: a new one replaces the last.
 */
void listen_guard_deadline(struct listen_guard *g, struct lws *wsi, int64_t at_us);

/* listen_guard_peer - the client address of `wsi`, or "?"; borrowed. */
const char *listen_guard_peer(const struct lws *wsi);

#endif

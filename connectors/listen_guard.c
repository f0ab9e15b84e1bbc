/*
 * listen_guard.c - limits per client address and in all for the
 * connectors' libwebsockets listeners (listen_guard.h).
 *
 * A connection is followed from lws's accept to its destruction:
 *
 *   FILTER_NETWORK_CONNECTION     the accepted fd and the peer's address:
 *                                 refused (429 or 503, closed) or given a
 *                                 record, pending
 *   SERVER_NEW_CLIENT_INSTANTIATED
 *                                 the wsi of that fd: the record is bound
 *                                 to it (lws's opaque user data) and
 *                                 joins the idle list
 *   WSI_DESTROY                   its address and record are released
 *
 * The records are allocated at creation (max_connections + the slack for
 * connections closing), so an accept never allocates.
 */
#include "connectors/listen_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "connectors/addrlimit.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define GUARD_ADDR_FACTOR 4       /* addresses remembered per connection record */
#define GUARD_DRAIN_MAX 4096      /* request bytes read before a refusal is written */
#define GUARD_ANSWER_MAX 320

/* One accepted connection. */
struct guard_conn {
	struct lws_dll2 idle;         /* in g->idle while it waits for a request */
	lws_sorted_usec_list_t sul;   /* its deadline (listen_guard_deadline) */
	struct listen_guard *g;
	struct lws *wsi;              /* NULL until adopted */
	struct addr_entry *addr;
	int fd;
	int next_free;
	unsigned char in_use, dying;
};

struct listen_guard {
	struct listen_guard_options opt;
	struct addrlimit *addrs;
	struct guard_conn *conns;     /* max_connections + LISTEN_GUARD_SLACK */
	size_t n_conns, n_in_use, n_dying;
	int free_head;
	struct guard_conn *pending;   /* accepted, not yet adopted by lws */
	lws_dll2_owner_t idle;        /* oldest idle first */
	struct lws_context *lws;
	char refuse_429[GUARD_ANSWER_MAX], refuse_503[GUARD_ANSWER_MAX];
	int len_429, len_503;
};

/* The whole answer of a connection refused at accept, written raw. */
static int guard_answer(char *buf, size_t size, const char *status, const char *code,
			const char *message)
{
	char body[192];
	int blen = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"message\":\"%s\"}", code,
			    message);
	int n;

	if (blen < 0 || (size_t)blen >= sizeof(body))
		return 0;
	n = snprintf(buf, size,
		     "HTTP/1.1 %s\r\nServer: omnigate\r\nContent-Type: application/json\r\n"
		     "Content-Length: %d\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s",
		     status, blen, body);
	return n > 0 && (size_t)n < size ? n : 0;
}

static int guard_records(struct listen_guard *g)
{
	g->n_conns = (size_t)g->opt.max_connections + LISTEN_GUARD_SLACK;
	g->conns = calloc(g->n_conns, sizeof(*g->conns));
	if (!g->conns)
		return GW_ENOMEM;
	for (size_t i = 0; i < g->n_conns; i++) {
		g->conns[i].g = g;
		g->conns[i].fd = -1;
		g->conns[i].next_free = i + 1 < g->n_conns ? (int)i + 1 : -1;
	}
	g->free_head = 0;
	return GW_OK;
}

int listen_guard_create(const struct listen_guard_options *opt, struct listen_guard **out)
{
	struct listen_guard *g;
	struct addrlimit_options ao;
	int rc;

	*out = NULL;
	if (opt->max_connections < 1 || opt->max_connections > 10000000 || !opt->limits ||
	    !opt->log_module || !opt->conn_refused || !opt->rate_limited)
		return GW_EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return GW_ENOMEM;
	g->opt = *opt;
	rc = guard_records(g);
	if (rc != GW_OK)
		goto out;
	memset(&ao, 0, sizeof(ao));
	ao.capacity = g->n_conns * GUARD_ADDR_FACTOR;
	ao.max_per_addr = opt->limits->max_connections_per_ip;
	ao.per_minute = opt->limits->requests_per_minute;
	ao.burst = opt->limits->requests_burst;
	rc = addrlimit_create(&ao, &g->addrs);
	if (rc != GW_OK)
		goto out;
	g->len_429 = guard_answer(g->refuse_429, sizeof(g->refuse_429), "429 Too Many Requests",
				  "too_many_connections",
				  "too many connections from this address; retry later");
	g->len_503 = guard_answer(g->refuse_503, sizeof(g->refuse_503),
				  "503 Service Unavailable", "unavailable",
				  "every connection is busy; retry later");
out:
	if (rc != GW_OK) {
		listen_guard_destroy(g);
		return rc;
	}
	*out = g;
	return GW_OK;
}

void listen_guard_destroy(struct listen_guard *g)
{
	if (!g)
		return;
	/* Every connection's end was reported: no deadline is scheduled. */
	addrlimit_destroy(g->addrs);
	free(g->conns);
	free(g);
}

void listen_guard_info(const struct listen_guard *g, struct lws_context_creation_info *info)
{
	const struct httpd_limits *l = g->opt.limits;

	/* Each connection holds its header table until it is answered. */
	info->max_http_header_pool2 = (unsigned int)g->n_conns;
	/* lws counts its listen socket and its wake pipe in this limit and
	 * stops accepting at it: the guard decides before lws would. */
	info->fd_limit_per_thread = (unsigned int)g->n_conns + 4;
	/* From the opening (or the first byte of the next request) to the end
	 * of the headers: lws's "holding a header table" timeout. */
	info->timeout_secs_ah_idle = (unsigned int)l->header_timeout_s;
	info->keepalive_timeout = (int)l->idle_timeout_s;
}

/* ---- records ------------------------------------------------------------ */

static struct guard_conn *guard_take(struct listen_guard *g)
{
	struct guard_conn *c;

	if (g->free_head < 0)
		return NULL;
	c = &g->conns[g->free_head];
	g->free_head = c->next_free;
	c->in_use = 1;
	c->dying = 0;
	c->wsi = NULL;
	c->addr = NULL;
	c->fd = -1;
	g->n_in_use++;
	return c;
}

static void guard_put(struct listen_guard *g, struct guard_conn *c)
{
	lws_sul_cancel(&c->sul);
	if (!lws_dll2_is_detached(&c->idle))
		lws_dll2_remove(&c->idle);
	addrlimit_release(g->addrs, c->addr);
	if (c->dying)
		g->n_dying--;
	c->addr = NULL;
	c->wsi = NULL;
	c->in_use = 0;
	c->dying = 0;
	c->next_free = g->free_head;
	g->free_head = (int)(c - g->conns);
	g->n_in_use--;
}

/* ---- accept ------------------------------------------------------------- */

/* The address text of a peer; IPv4-mapped IPv6 addresses as IPv4. */
static void guard_addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf,
			  (socklen_t)len);
	} else if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, (socklen_t)len);
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)len);
	} else {
		snprintf(buf, len, "local");
	}
}

/*
 * Answers a refused connection and lets lws close it: what the client sent
 * already is read first (bounded), so that the close is not a reset that
 * could discard the answer before the client reads it.
 */
static int guard_refuse(struct listen_guard *g, int fd, int busy)
{
	char drain[GUARD_DRAIN_MAX];
	const char *a = busy ? g->refuse_503 : g->refuse_429;
	int len = busy ? g->len_503 : g->len_429;

	(*g->opt.conn_refused)++;
	/* Nothing may have arrived yet (the usual case), and a peer that is
	 * gone or does not read only loses the reason: no error matters. */
	(void)recv(fd, drain, sizeof(drain), MSG_DONTWAIT);
	if (len > 0)
		(void)send(fd, a, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)shutdown(fd, SHUT_WR);
	return 1; /* lws closes the fd */
}

/*
 * At max_connections: closes the connection idle the longest to make room.
 * Returns 0 when there is room, -1 when every connection is busy.
 */
static int guard_make_room(struct listen_guard *g, const char *addr)
{
	struct guard_conn *victim;

	if (g->n_in_use - g->n_dying < (size_t)g->opt.max_connections &&
	    g->n_in_use < g->n_conns)
		return 0;
	if (g->n_dying >= LISTEN_GUARD_SLACK || !lws_dll2_get_head(&g->idle) ||
	    g->n_in_use >= g->n_conns)
		return -1;
	victim = lws_container_of(lws_dll2_get_head(&g->idle), struct guard_conn, idle);
	lws_dll2_remove(&victim->idle);
	victim->dying = 1;
	g->n_dying++;
	lws_set_timeout(victim->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	GW_WARN(g->opt.log_module,
		"%lld connections: closed an idle one of %s to make room for %s",
		g->opt.max_connections, addrlimit_addr(victim->addr), addr);
	return 0;
}

/* LWS_CALLBACK_FILTER_NETWORK_CONNECTION: non-zero closes the fd. */
static int guard_on_accept(struct listen_guard *g, struct lws *wsi,
			   const struct lws_filter_network_conn_args *a)
{
	char addr[ADDRLIMIT_ADDR_MAX];
	struct addr_entry *e = NULL;
	struct guard_conn *c;
	int rc;

	g->lws = lws_get_context(wsi);
	if (g->pending) /* lws did not adopt the last one: forget it */
		guard_put(g, g->pending);
	g->pending = NULL;
	guard_addr_text(&a->cli_addr, addr, sizeof(addr));
	rc = addrlimit_take(g->addrs, addr, &e);
	if (rc == GW_ETOOBIG) {
		GW_WARN(g->opt.log_module, "connection from %s refused: %lld connections "
			"from that address (max_connections_per_ip)", addr,
			g->opt.limits->max_connections_per_ip);
		return guard_refuse(g, a->accept_fd, 0);
	}
	c = rc == GW_OK && guard_make_room(g, addr) == 0 ? guard_take(g) : NULL;
	if (!c) {
		addrlimit_release(g->addrs, e);
		GW_WARN(g->opt.log_module, "connection from %s refused: %lld connections, "
			"none idle (max_connections)", addr, g->opt.max_connections);
		return guard_refuse(g, a->accept_fd, 1);
	}
	c->addr = e;
	c->fd = a->accept_fd;
	g->pending = c;
	return 0;
}

/* LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED: binds the pending record. */
static void guard_on_adopted(struct listen_guard *g, struct lws *wsi)
{
	struct guard_conn *c = g->pending;

	if (!c || c->fd != (int)lws_get_socket_fd(wsi))
		return;
	g->pending = NULL;
	c->wsi = wsi;
	lws_set_opaque_user_data(wsi, c);
	lws_dll2_add_tail(&c->idle, &g->idle);
}

int listen_guard_callback(struct listen_guard *g, struct lws *wsi,
			  enum lws_callback_reasons reason, void *user, void *in, int *ret)
{
	struct guard_conn *c;

	(void)in;
	*ret = 0;
	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		*ret = guard_on_accept(g, wsi, user);
		return 1;
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		guard_on_adopted(g, wsi);
		return 0; /* the caller may want it too */
	case LWS_CALLBACK_WSI_DESTROY:
		c = lws_get_opaque_user_data(wsi);
		if (c && c->g == g && c->wsi == wsi) {
			lws_set_opaque_user_data(wsi, NULL);
			guard_put(g, c);
		}
		return 0;
	default:
		return 0;
	}
}

/* ---- per request -------------------------------------------------------- */

static struct guard_conn *guard_conn_of(struct listen_guard *g, const struct lws *wsi)
{
	struct guard_conn *c = lws_get_opaque_user_data(wsi);

	return c && c->g == g && c->wsi == wsi ? c : NULL;
}

int listen_guard_request(struct listen_guard *g, struct lws *wsi, unsigned *retry_after_s)
{
	struct guard_conn *c = guard_conn_of(g, wsi);

	*retry_after_s = 0;
	if (!c || addrlimit_request(g->addrs, c->addr, gw_mono_us(), retry_after_s) == GW_OK)
		return GW_OK;
	(*g->opt.rate_limited)++;
	return GW_EAGAIN;
}

void listen_guard_busy(struct listen_guard *g, struct lws *wsi, int busy)
{
	struct guard_conn *c = guard_conn_of(g, wsi);

	if (!c || c->dying)
		return;
	if (!lws_dll2_is_detached(&c->idle))
		lws_dll2_remove(&c->idle);
	if (!busy)
		lws_dll2_add_tail(&c->idle, &g->idle);
}

static void guard_deadline_cb(lws_sorted_usec_list_t *sul)
{
	struct guard_conn *c = lws_container_of(sul, struct guard_conn, sul);
	struct listen_guard *g = c->g;

	if (c->in_use && c->wsi && g->opt.on_deadline)
		g->opt.on_deadline(g->opt.arg, c->wsi);
}

void listen_guard_deadline(struct listen_guard *g, struct lws *wsi, int64_t at_us)
{
	struct guard_conn *c = guard_conn_of(g, wsi);
	int64_t in_us;

	if (!c)
		return;
	if (at_us == 0) {
		lws_sul_cancel(&c->sul);
		return;
	}
	in_us = at_us - gw_mono_us();
	lws_sul_schedule(lws_get_context(wsi), 0, &c->sul, guard_deadline_cb,
			 in_us > 0 ? in_us : 0);
}

const char *listen_guard_peer(const struct lws *wsi)
{
	const struct guard_conn *c = lws_get_opaque_user_data(wsi);

	return c && c->in_use && c->addr ? addrlimit_addr(c->addr) : "?";
}

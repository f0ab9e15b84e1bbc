/*
 * metrics.c - gateway-metrics: serves the gateway's metrics in the
 * Prometheus text format at GET /metrics, on metrics.listen (libwebsockets'
 * HTTP server), for as long as gatewayd runs it (metrics.enabled).
 *   gateway-metrics --config FILE [--state-dir DIR]
 *
 * Each scrape gathers the page afresh (collect.h): the processes' status
 * files, the router's store read-only, /proc. The process writes its own
 * run/metrics.json once listening (gatewayd's readiness) and every second.
 * A separate process so that gatewayd and gatewayctl link no libwebsockets
 * and a slow scrape never holds up the supervisor or the router.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "connectors/listen_guard.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "gateway/metrics/collect.h"

#define MOD "metrics"
#define CHUNK (16 * 1024) /* body bytes per write */
#define HDR_MAX 1024
#define TICK_US (1000 * LWS_US_PER_MS)

static volatile sig_atomic_t stop_flag;

/* One HTTP connection's answer in flight. */
struct sess {
	struct expo page; /* the body, owned */
	const char *text; /* the body: page.buf or a constant */
	size_t len, off;
	int status;
	int headers_sent;
};

struct server {
	struct metrics_src src;
	struct listen_guard *guard; /* per-address limits (metrics.* keys) */
	uint64_t conn_refused, rate_limited;
	struct lws_context *lws;
	struct lws_protocols protocols[2];
	lws_sorted_usec_list_t tick;
	char status_path[PATH_MAX];
	int status_failing;
};

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void lws_log(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && line[n - 1] == '\n')
		n--;
	gw_log(level & LLL_ERR ? GW_LOG_ERROR : GW_LOG_WARN, MOD, "lws: %.*s", (int)n, line);
}

/* write_status - run/metrics.json, as every process writes its own. */
static void write_status(struct server *s)
{
	json_t *doc = json_pack("{s:s,s:s,s:I,s:I,s:I,s:{s:I,s:I,s:I}}", "process", "metrics",
				"name", "metrics", "pid", (json_int_t)getpid(), "started_at",
				(json_int_t)s->src.started_at_ms, "updated_at",
				(json_int_t)gw_now_ms(), "counters", "scrapes",
				(json_int_t)s->src.scrapes, "conn_refused",
				(json_int_t)s->conn_refused, "rate_limited",
				(json_int_t)s->rate_limited);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	int rc = text ? gw_write_file_atomic(s->status_path, text, strlen(text)) : GW_ENOMEM;

	if (rc != GW_OK && !s->status_failing)
		GW_WARN(MOD, "cannot write %s: %s", s->status_path, gw_err_text(rc));
	s->status_failing = rc != GW_OK;
	free(text);
	json_decref(doc);
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
	struct server *s = lws_container_of(sul, struct server, tick);

	write_status(s);
	lws_sul_schedule(s->lws, 0, &s->tick, on_tick, TICK_US);
}

/* answer - what a GET gets: the page for /metrics, else 404. */
static void answer(struct server *s, struct sess *ss, struct lws *wsi, const char *uri)
{
	int rc;

	(void)wsi;
	memset(ss, 0, sizeof(*ss));
	if (strcmp(uri, "/metrics") != 0) {
		ss->status = HTTP_STATUS_NOT_FOUND;
		ss->text = "not found: the metrics are at /metrics\n";
	} else {
		expo_init(&ss->page, METRICS_PAGE_MAX);
		rc = metrics_collect(&s->src, &ss->page);
		ss->status = rc == GW_OK ? HTTP_STATUS_OK : HTTP_STATUS_INTERNAL_SERVER_ERROR;
		ss->text = rc == GW_OK ? ss->page.buf : "cannot gather the metrics\n";
		if (rc != GW_OK)
			GW_WARN(MOD, "scrape failed: %s", gw_strerror(rc));
	}
	ss->len = ss->text ? strlen(ss->text) : 0;
}

/* on_writable - headers, then the body CHUNK bytes at a time. 0, or -1 to close. */
static int on_writable(struct sess *ss, struct lws *wsi)
{
	unsigned char buf[LWS_PRE + (CHUNK > HDR_MAX ? CHUNK : HDR_MAX)];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = start + HDR_MAX;
	size_t n;

	if (!ss->headers_sent) {
		const char *type = ss->status == HTTP_STATUS_OK ? EXPO_CONTENT_TYPE : "text/plain";

		if (lws_add_http_common_headers(wsi, (unsigned int)ss->status, type,
						(lws_filepos_t)ss->len, &p, end) ||
		    lws_finalize_write_http_header(wsi, start, &p, end))
			return -1;
		ss->headers_sent = 1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	n = ss->len - ss->off > CHUNK ? CHUNK : ss->len - ss->off;
	memcpy(start, ss->text + ss->off, n);
	ss->off += n;
	if (lws_write(wsi, start, n, ss->off == ss->len ? LWS_WRITE_HTTP_FINAL
							: LWS_WRITE_HTTP) < (int)n)
		return -1;
	if (ss->off < ss->len) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	expo_free(&ss->page);
	ss->text = NULL;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct server *s = lws_context_user(lws_get_context(wsi));
	struct sess *ss = user;
	unsigned retry = 0;
	int ret;

	if (s && s->guard && listen_guard_callback(s->guard, wsi, reason, user, in, &ret))
		return ret;
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
			/* Not a GET: answered and closed, a body is never read. */
			lws_return_http_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, NULL);
			return -1;
		}
		if (listen_guard_request(s->guard, wsi, &retry) != GW_OK) {
			/* Over the address's bucket (logged by the guard): closed. */
			lws_return_http_status(wsi, 429, "too many requests from this address");
			return -1;
		}
		answer(s, ss, wsi, in ? (const char *)in : "");
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_HTTP_BODY:
		return 0; /* a body is not read: the answer does not depend on it */
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return ss && ss->status ? on_writable(ss, wsi) : 0;
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (ss)
			expo_free(&ss->page);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* make_guard - the listener's limits against floods (metrics.* keys). */
static int make_guard(struct server *s, const struct gw_config *cfg)
{
	struct listen_guard_options g = {
		.max_connections = cfg->metrics.max_connections,
		.limits = &cfg->metrics.limits,
		.log_module = MOD,
		.conn_refused = &s->conn_refused,
		.rate_limited = &s->rate_limited,
	};

	return listen_guard_create(&g, &s->guard);
}

static int server_start(struct server *s, const struct gw_config *cfg)
{
	struct lws_context_creation_info info;
	const struct conf_listen *l = &cfg->metrics.listen;

	memset(&info, 0, sizeof(info));
	s->protocols[0] = (struct lws_protocols){"http", callback, sizeof(struct sess), 0,
						   0, NULL, 0};
	info.protocols = s->protocols;
	info.port = l->port;
	info.iface = strcmp(l->host, "localhost") == 0 ? "127.0.0.1" : l->host;
	if (!strchr(info.iface, ':'))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.options |= LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	info.user = s;
	info.server_string = "omnigate";
	listen_guard_info(s->guard, &info);
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	s->lws = lws_create_context(&info);
	if (!s->lws) {
		GW_ERROR(MOD, "cannot listen on %s:%d", l->host, l->port);
		return GW_EIO;
	}
	GW_INFO(MOD, "serving http://%s:%d/metrics", l->host, l->port);
	write_status(s);
	lws_sul_schedule(s->lws, 0, &s->tick, on_tick, TICK_US);
	return GW_OK;
}

static int serve(const struct gw_config *cfg)
{
	struct server *s = calloc(1, sizeof(*s));
	int rc = s ? GW_OK : GW_ENOMEM;

	if (rc == GW_OK)
		rc = metrics_src_init(&s->src, cfg->state_dir);
	if (s)
		s->src.kpi.routing = &cfg->routing;
	if (rc == GW_OK &&
	    (size_t)snprintf(s->status_path, sizeof(s->status_path), "%s/run/metrics.json",
			     cfg->state_dir) >= sizeof(s->status_path))
		rc = GW_EINVAL;
	if (rc == GW_OK)
		rc = make_guard(s, cfg);
	if (rc == GW_OK)
		rc = server_start(s, cfg);
	while (rc == GW_OK && !stop_flag)
		if (lws_service(s->lws, 0) < 0)
			rc = GW_EIO;
	if (s) {
		if (s->lws)
			lws_context_destroy(s->lws);
		listen_guard_destroy(s->guard); /* after the context: it reports every close */
		if (s->status_path[0])
			unlink(s->status_path);
		metrics_src_close(&s->src);
	}
	free(s);
	return rc;
}

int main(int argc, char **argv)
{
	struct gw_config *cfg = NULL;
	struct sigaction sa;
	int rc;

	rc = gw_config_daemon(argc, argv, "gateway-metrics", MOD, &cfg);
	if (rc != 0)
		return rc;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: the poll returns at once */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = serve(cfg);
	if (rc != GW_OK)
		GW_ERROR(MOD, "stopped: %s", gw_strerror(rc));
	gw_config_free(cfg);
	return rc == GW_OK ? 0 : 1;
}

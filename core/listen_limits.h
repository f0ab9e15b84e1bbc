/*
 * listen_limits.h - the limits every HTTP listener has against connection
 * floods and request floods (docs/security.md "Connection floods and rate
 * limits per address") and their config rows: the connectors' listeners
 * (connectors/httpd.h, the live chat) and gateway-integration's API. Plain
 * data and table rows, apart from listen_guard.h (libwebsockets) so that
 * the config tables (core/config_integration.c, the light registry
 * connectors/<name>/<name>_config.c) need no libwebsockets.
 */
#ifndef GW_CORE_LISTEN_LIMITS_H
#define GW_CORE_LISTEN_LIMITS_H

/* No include: core/config.h includes this file for struct httpd_limits, and
 * the rows below expand where the table is, which includes core/config.h. */

/* The limits of one listener (LISTEN_CONN_ROWS, LISTEN_RATE_ROWS, HTTPD_BODY_ROWS). */
struct httpd_limits {
	long long max_connections_per_ip; /* connections of one address at once; 0: none */
	long long header_timeout_s;       /* request line and headers within this */
	long long idle_timeout_s;         /* an idle keep-alive connection is closed after */
	long long requests_per_minute;    /* per address, sustained; 0: no limit */
	long long requests_burst;         /* per address, at once */
	long long body_timeout_s;         /* a body within this after its headers ... */
	long long body_min_rate;          /* ... plus 1 s per this many bytes; 0: no extension */
};

/*
 * LISTEN_CONN_ROWS(off, per_ip_def) - the rows of the connection limits for
 * a connector's table: `off` is its offsetof macro, the struct its member
 * `limits`, `per_ip_def` the default of max_connections_per_ip (YAML text).
 */
#define LISTEN_CONN_ROWS(off, per_ip_def)                                                  \
	{.kind = CONF_INT, .key = "max_connections_per_ip", .def = per_ip_def, .min = 0,     \
	 .max = 65536, .offset = off(limits.max_connections_per_ip),                        \
	 .desc = "connections one client address may hold at once (HTTP and websockets); "  \
		 "more are answered 429 and closed at once; 0: no limit"},                  \
	{.kind = CONF_INT, .key = "header_timeout_s", .def = "10", .min = 1, .max = 600,     \
	 .offset = off(limits.header_timeout_s),                                            \
	 .desc = "a connection must send a request line and its headers within this time "  \
		 "(from its opening, or from the first byte of its next request); else it is " \
		 "closed"},                                                                    \
	{.kind = CONF_INT, .key = "idle_timeout_s", .def = "30", .min = 1, .max = 3600,      \
	 .offset = off(limits.idle_timeout_s),                                              \
	 .desc = "an idle keep-alive connection is closed after this long"}

/*
 * LISTEN_RATE_ROWS(off, rpm_def, burst_def) - the rows of the token bucket
 * per client address: requests_per_minute (0: no limit) and requests_burst.
 */
#define LISTEN_RATE_ROWS(off, rpm_def, burst_def)                                          \
	{.kind = CONF_INT, .key = "requests_per_minute", .def = rpm_def, .min = 0,          \
	 .max = 6000000, .offset = off(limits.requests_per_minute),                          \
	 .desc = "requests one client address may make per minute, sustained (GET "        \
		 "/healthz aside); more are answered 429 with Retry-After; 0: no limit"},     \
	{.kind = CONF_INT, .key = "requests_burst", .def = burst_def, .min = 1,             \
	 .max = 1000000, .offset = off(limits.requests_burst),                               \
	 .desc = "requests one client address may make at once before requests_per_minute " \
		 "applies"}

/*
 * HTTPD_BODY_ROWS(off) - the rows of the body read timeout: body_timeout_s
 * plus one second per body_min_rate bytes received (0: no extension).
 */
#define HTTPD_BODY_ROWS(off)                                                               \
	{.kind = CONF_INT, .key = "body_timeout_s", .def = "20", .min = 1, .max = 3600,      \
	 .offset = off(limits.body_timeout_s),                                              \
	 .desc = "a request body must arrive within this time after its headers, plus one " \
		 "second per body_min_rate bytes received; else 408 and closed"},             \
	{.kind = CONF_INT, .key = "body_min_rate", .def = "1024", .min = 0,                 \
	 .max = 1073741824, .offset = off(limits.body_min_rate),                              \
	 .desc = "bytes a second that extend body_timeout_s while a body arrives; 0: "      \
		 "body_timeout_s alone"}

/*
 * HTTPD_CONF_ROWS(off, per_ip_def, rpm_def, burst_def) - every row of the
 * limits of a connector on the shared HTTP server (httpd.h).
 */
#define HTTPD_CONF_ROWS(off, per_ip_def, rpm_def, burst_def)                               \
	LISTEN_CONN_ROWS(off, per_ip_def), LISTEN_RATE_ROWS(off, rpm_def, burst_def),       \
		HTTPD_BODY_ROWS(off)

#endif

/*
 * sender_config.h - the settings every sending connector has and their
 * config rows, apart from sender.h so that the light config registry
 * (connectors/<name>/<name>_config.c) needs no libcurl.
 */
#ifndef GW_CONNECTOR_SENDER_CONFIG_H
#define GW_CONNECTOR_SENDER_CONFIG_H

#include "core/config.h"

/* The settings every sending connector has (SENDER_CONF_ROWS). */
struct sender_settings {
	long long concurrency; /* transfers at once */
	long long rate_per_s;  /* transfers started per second, 0: no limit */
	long long rate_per_min; /* ... and per minute, 0: no limit; both apply */
	long long timeout_ms;  /* one attempt */
	long long retry_for_s; /* transient failures retried this long */
};

/*
 * SENDER_CONF_ROWS(off) - the config rows of struct sender_settings, for a
 * connector's table; `off` is its offsetof macro and the struct is its
 * member `send` (docs/config.md lists them with each sending type).
 * SENDER_CONF_ROWS_RETRY(off, retry_def) - the same with another default
 * of send_retry_for_s (YAML text, seconds), for a channel whose receiver
 * may be down for hours (the API channel's callbacks).
 */
#define SENDER_CONF_ROWS(off) SENDER_CONF_ROWS_RETRY(off, "3600")
#define SENDER_CONF_ROWS_RETRY(off, retry_def)                                             \
	{.kind = CONF_INT, .key = "send_concurrency", .def = "4", .min = 1, .max = 64,      \
	 .offset = off(send.concurrency),                                                   \
	 .desc = "replies in flight to the provider at once"},                             \
	{.kind = CONF_INT, .key = "send_rate_per_s", .def = "20", .min = 0, .max = 100000,  \
	 .offset = off(send.rate_per_s),                                                    \
	 .desc = "replies started per second at most (the provider's limit); 0: no limit"}, \
	{.kind = CONF_INT, .key = "send_rate_per_min", .def = "0", .min = 0,               \
	 .max = 6000000, .offset = off(send.rate_per_min),                                  \
	 .desc = "replies started per minute at most, for a provider that counts by the "  \
		 "minute (Microsoft 365: 30); 0: no limit; send_rate_per_s applies too"},  \
	{.kind = CONF_INT, .key = "send_timeout_ms", .def = "30000", .min = 1000,           \
	 .max = 600000, .offset = off(send.timeout_ms),                                     \
	 .desc = "one attempt to send a reply fails after this long"},                     \
	{.kind = CONF_INT, .key = "send_retry_for_s", .def = retry_def, .min = 0,           \
	 .max = 604800, .offset = off(send.retry_for_s),                                    \
	 .desc = "a reply failing transiently (5xx, timeout, 429) is retried with "        \
		 "backoff this long, then reported failed"}

#endif

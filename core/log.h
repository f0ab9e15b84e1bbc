/*
 * log.h - one line per event on stderr:
 *
 *   2026-11-23T06:40:00.123Z info gateway-router[1234] router: committed 12 messages
 *   2026-11-23T06:40:00.123Z warn gateway-connector[99] api/api: 401 bad token from 127.0.0.1
 *
 * The prefix names the process, and the module (with the instance for a
 * connector). Bodies and secrets are never logged, only ids and causes.
 * Any thread may log; each line is written with one write(2).
 *
 * With the `json` format (gw_log_set_format) each record is one JSON object
 * on one line instead:
 *
 *   {"time":"2026-11-23T06:40:00.123Z","level":"warn","process":"gateway-connector",
 *    "pid":99,"module":"api/api","connector":"api","message":"401 bad token ...",
 *    "delivery":12}
 *
 * `connector` is the instance of a "type/instance" module; `seq`, `ticket`,
 * `customer` and `delivery` are numbers the message names ("delivery 12
 * failed", "head seq 40"), repeated as fields for log pipelines to filter on.
 *
 * A call site that logs more than 10 warnings or errors (100 info lines) in
 * 5 s is held back; when the 5 s are over one line says how many lines
 * like it were left out. Debug lines are never held back.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum gw_log_level {
	GW_LOG_DEBUG = 0,
	GW_LOG_INFO,
	GW_LOG_WARN,
	GW_LOG_ERROR,
};

enum gw_log_format {
	GW_LOG_TEXT = 0,
	GW_LOG_JSON,
};

/* gw_log_init - sets the process name (copied) and the minimum level. */
void gw_log_init(const char *process, enum gw_log_level level);

/* gw_log_flood_window - the flood control's window in us (0: the default
 * 5 s); for tests. */
void gw_log_flood_window(int64_t us);

/* gw_log_set_format - text (the default) or JSON records, from then on. */
void gw_log_set_format(enum gw_log_format format);

/* gw_log_set_level - changes the minimum level. */
void gw_log_set_level(enum gw_log_level level);

/* gw_log_enabled - true when lines of `level` are printed. */
int gw_log_enabled(enum gw_log_level level);

/* gw_log_level_parse - "debug", "info", "warn", "error" -> *level: GW_OK, or
 * GW_EINVAL for any other name (or NULL). */
int gw_log_level_parse(const char *name, enum gw_log_level *level);

/* gw_log_level_name - the name of `level`. */
const char *gw_log_level_name(enum gw_log_level level);

/* gw_log - prints one line; `module` names the module (and instance). */
void gw_log(enum gw_log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void gw_logv(enum gw_log_level level, const char *module, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#define GW_DEBUG(mod, ...) do { if (gw_log_enabled(GW_LOG_DEBUG)) gw_log(GW_LOG_DEBUG, mod, __VA_ARGS__); } while (0)
#define GW_INFO(mod, ...) gw_log(GW_LOG_INFO, mod, __VA_ARGS__)
#define GW_WARN(mod, ...) gw_log(GW_LOG_WARN, mod, __VA_ARGS__)
#define GW_ERROR(mod, ...) gw_log(GW_LOG_ERROR, mod, __VA_ARGS__)

#endif

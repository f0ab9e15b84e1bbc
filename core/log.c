/* log.c - one-line log records on stderr (see log.h). */
#include "core/log.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
/*
 * Flood control: each call site (its format string) may write LOG_BURST
 * lines (LOG_BURST_INFO for info) per LOG_WINDOW_US; past that its lines
 * are counted, and once the window is over one line says how many were
 * left out. A failure that repeats for every batch (a full disk, a peer
 * gone) stays readable, and the log stays small. Debug lines, asked for,
 * are never held back.
 */
#define LOG_WINDOW_US 5000000LL
#define LOG_SITES 64
#define LOG_BURST 10
#define LOG_BURST_INFO 100

struct log_site {
	const char *fmt;   /* the call site; NULL: free */
	char module[64];
	enum gw_log_level level;
	int64_t window_us; /* start of its window */
	unsigned count;    /* lines in this window */
	unsigned long held; /* left out in this window */
};

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t log_window_us = LOG_WINDOW_US;
static struct log_site log_sites[LOG_SITES];

static char log_process[48] = "gateway";
static enum gw_log_level log_min = GW_LOG_INFO;
static enum gw_log_format log_format = GW_LOG_TEXT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void gw_log_init(const char *process, enum gw_log_level level)
{
	snprintf(log_process, sizeof(log_process), "%s", process ? process : "gateway");
	log_min = level;
}

void gw_log_flood_window(int64_t us)
{
	pthread_mutex_lock(&log_mu);
	log_window_us = us > 0 ? us : LOG_WINDOW_US;
	pthread_mutex_unlock(&log_mu);
}

void gw_log_set_format(enum gw_log_format format)
{
	log_format = format;
}

void gw_log_set_level(enum gw_log_level level)
{
	log_min = level;
}

int gw_log_enabled(enum gw_log_level level)
{
	return level >= log_min;
}

int gw_log_level_parse(const char *name, enum gw_log_level *level)
{
	for (int i = 0; i < 4; i++)
		if (name && strcmp(name, level_names[i]) == 0) {
			*level = (enum gw_log_level)i;
			return GW_OK;
		}
	return GW_EINVAL;
}

const char *gw_log_level_name(enum gw_log_level level)
{
	if ((int)level < 0 || level > GW_LOG_ERROR)
		return "?";
	return level_names[level];
}

static int64_t log_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void log_write(enum gw_log_level level, const char *module, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void log_line(enum gw_log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void log_line(enum gw_log_level level, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(level, module, fmt, ap);
	va_end(ap);
}

/* log_report - the count of a site's lines left out, when its window is
 * over (called with log_mu held; writes without it being needed). */
static void log_report(struct log_site *ls, int64_t now)
{
	if (now - ls->window_us < log_window_us)
		return;
	if (ls->held)
		log_line(ls->level, ls->module, "%lu more lines like \"%.60s\" left out in %llds",
			 ls->held, ls->fmt, (long long)((now - ls->window_us) / 1000000));
	ls->window_us = now;
	ls->count = 0;
	ls->held = 0;
}

/* log_site_of - the site of `fmt`, taking a free or the stalest slot. */
static struct log_site *log_site_of(const char *fmt, const char *module,
				    enum gw_log_level level)
{
	struct log_site *old = &log_sites[0];

	for (int i = 0; i < LOG_SITES; i++) {
		if (log_sites[i].fmt == fmt)
			return &log_sites[i];
		if (!log_sites[i].fmt || log_sites[i].window_us < old->window_us)
			old = &log_sites[i];
	}
	memset(old, 0, sizeof(*old));
	old->fmt = fmt;
	old->level = level;
	snprintf(old->module, sizeof(old->module), "%s", module ? module : "-");
	old->window_us = log_mono_us();
	return old;
}

/* log_admit - whether this line is written; reports what was held back. */
static int log_admit(enum gw_log_level level, const char *module, const char *fmt)
{
	int64_t now = log_mono_us();
	struct log_site *ls;
	int ok;

	pthread_mutex_lock(&log_mu);
	for (int i = 0; i < LOG_SITES; i++)
		if (log_sites[i].fmt && log_sites[i].held)
			log_report(&log_sites[i], now);
	ls = log_site_of(fmt, module, level);
	log_report(ls, now);
	ok = ++ls->count <= (level == GW_LOG_INFO ? LOG_BURST_INFO : LOG_BURST);
	if (!ok)
		ls->held++;
	pthread_mutex_unlock(&log_mu);
	return ok;
}

void gw_logv(enum gw_log_level level, const char *module, const char *fmt, va_list ap)
{
	if (level < log_min)
		return;
	if (level > GW_LOG_DEBUG && !log_admit(level, module, fmt))
		return;
	log_write(level, module, fmt, ap);
}

/* log_time - the record's UTC time, "2026-11-23T06:40:00.123Z". */
static void log_time(char *buf, size_t size)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long)(tv.tv_usec / 1000));
}

/* log_emit - writes `line` (n bytes, room for one more) as one record:
 * control characters become spaces so that it stays one line. */
static void log_emit(char *line, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20)
			line[i] = ' ';
	line[n++] = '\n';
	/* One write(2) per record keeps lines whole when processes share stderr. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

/* log_emit_json - a JSON record and its newline in one write(2). */
static void log_emit_json(char *text)
{
	struct iovec iov[2] = {{text, strlen(text)}, {(char[]){"\n"}, 1}};

	if (writev(STDERR_FILENO, iov, 2) < 0)
		return;
}

/* log_number_after - the number that follows the word `word` in `msg`
 * ("delivery 12 failed" -> 12), or -1 when none does. */
static long long log_number_after(const char *msg, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = strstr(msg, word); p; p = strstr(p + 1, word)) {
		unsigned long long v = 0;
		const char *d = p + len;

		if ((p > msg && (isalnum((unsigned char)p[-1]) || p[-1] == '_')) || *d != ' ' ||
		    !isdigit((unsigned char)d[1]))
			continue;
		for (d++; isdigit((unsigned char)*d) && v < (1ULL << 60); d++)
			v = v * 10 + (unsigned long long)(*d - '0');
		return (long long)v;
	}
	return -1;
}

/* log_json_text - `s` as a JSON string; bytes that are not UTF-8 become '?'. */
static json_t *log_json_text(char *s)
{
	json_t *j = json_string(s);

	if (j)
		return j;
	for (char *p = s; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	return json_string(s);
}

/* log_write_json - the record as one JSON object. */
static void log_write_json(enum gw_log_level level, const char *module, char *msg)
{
	static const char *const fields[] = {"seq", "ticket", "customer", "delivery"};
	char when[64], conn[64] = "";
	const char *slash = module ? strchr(module, '/') : NULL;
	json_t *o = json_object();
	char *text = NULL;

	log_time(when, sizeof(when));
	if (slash)
		snprintf(conn, sizeof(conn), "%s", slash + 1);
	json_object_set_new(o, "time", json_string(when));
	json_object_set_new(o, "level", json_string(gw_log_level_name(level)));
	json_object_set_new(o, "process", log_json_text(log_process));
	json_object_set_new(o, "pid", json_integer((json_int_t)getpid()));
	json_object_set_new(o, "module", module ? json_string(module) : json_null());
	if (conn[0])
		json_object_set_new(o, "connector", log_json_text(conn));
	json_object_set_new(o, "message", log_json_text(msg));
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		long long v = log_number_after(msg, fields[i]);

		if (v >= 0)
			json_object_set_new(o, fields[i], json_integer((json_int_t)v));
	}
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		return;
	log_emit_json(text);
	free(text);
}

static void log_write(enum gw_log_level level, const char *module, const char *fmt, va_list ap)
{
	char line[2048], when[64];
	int n, m;

	if (log_format == GW_LOG_JSON) {
		if (vsnprintf(line, sizeof(line), fmt, ap) < 0)
			line[0] = '\0';
		log_write_json(level, module, line);
		return;
	}
	log_time(when, sizeof(when));
	n = snprintf(line, sizeof(line), "%s %s %s[%ld] %s: ", when, gw_log_level_name(level),
		     log_process, (long)getpid(), module ? module : "-");
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	log_emit(line, (size_t)n);
}

void gw_log(enum gw_log_level level, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gw_logv(level, module, fmt, ap);
	va_end(ap);
}

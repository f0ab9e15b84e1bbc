/* log.c - one-line log records on stderr (see log.h). */
#include "core/log.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"

static char log_process[48] = "gateway";
static enum gw_log_level log_min = GW_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void gw_log_init(const char *process, enum gw_log_level level)
{
	snprintf(log_process, sizeof(log_process), "%s", process ? process : "gateway");
	log_min = level;
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

void gw_logv(enum gw_log_level level, const char *module, const char *fmt, va_list ap)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	int n, m;

	if (level < log_min)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s[%ld] %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, (long)(tv.tv_usec / 1000), gw_log_level_name(level),
		     log_process, (long)getpid(), module ? module : "-");
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	/* Replace control characters so one record stays one line. */
	for (int i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20)
			line[i] = ' ';
	line[n++] = '\n';
	/* One write(2) per record keeps lines whole when processes share stderr. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void gw_log(enum gw_log_level level, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gw_logv(level, module, fmt, ap);
	va_end(ap);
}

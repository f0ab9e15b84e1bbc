/*
 * ctl_progress.c - a progress line for long jobs (see ctl.h): on stderr,
 * only when stderr is a terminal, shown when the job starts, then at most
 * five times a second, rewritten in place with "\r", and ended with a
 * newline.
 */
#include "gateway/ctl/ctl.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_EVERY_US 200000

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void progress_show(const struct ctl_progress *p, int64_t now)
{
	double secs = (double)(now - p->start_us) / 1e6;
	double rate = secs > 0 ? (double)p->done / secs : 0;

	fprintf(stderr, "\r%s: %llu", p->what, (unsigned long long)p->done);
	if (p->total)
		fprintf(stderr, "/%llu (%.0f%%)", (unsigned long long)p->total,
			100.0 * (double)p->done / (double)p->total);
	fprintf(stderr, ", %.0f/s", rate);
	if (p->total && rate > 0 && p->done < p->total)
		fprintf(stderr, ", ETA %.0fs", (double)(p->total - p->done) / rate);
	else if (p->total && p->done < p->total)
		fprintf(stderr, ", ETA ?"); /* nothing done yet: no rate to tell */
	fprintf(stderr, "\033[K");
}

void ctl_progress_start(struct ctl_progress *p, const char *what, uint64_t total, int quiet)
{
	p->on = !quiet && isatty(STDERR_FILENO);
	p->what = what;
	p->total = total;
	p->done = 0;
	p->start_us = p->shown_us = mono_us();
	if (p->on)
		progress_show(p, p->start_us); /* "0/N (0%), 0/s, ETA ?" at once */
}

void ctl_progress_step(struct ctl_progress *p, uint64_t n)
{
	int64_t now;

	p->done += n;
	if (!p->on)
		return;
	now = mono_us();
	if (now - p->shown_us < PROGRESS_EVERY_US)
		return;
	p->shown_us = now;
	progress_show(p, now);
}

void ctl_progress_end(struct ctl_progress *p)
{
	if (!p->on)
		return;
	progress_show(p, mono_us());
	fputc('\n', stderr);
	p->on = 0;
}

/*
 * collect.h - the page gateway-metrics serves: every metric of the gateway
 * gathered at scrape time, with nothing kept between scrapes but the store
 * handle (docs/operations.md, "Metrics", lists them all).
 *
 * Sources, all read-only:
 *   run/gatewayd.json     each process: up, restarts, start time, pid
 *   run/<name>.json       each process's counters and histograms since it
 *                         started (reset by a restart: hence the start time)
 *   store/ (LMDB)         what the router stored: survives restarts
 *   /proc/<pid>/stat      each process's resident memory and CPU time
 *
 * Threading: one thread (gateway-metrics's loop).
 */
#ifndef GW_METRICS_COLLECT_H
#define GW_METRICS_COLLECT_H

#include <stdint.h>

#include "gateway/metrics/expo.h"
#include "gateway/metrics/kpi.h"

struct store;

/* The most bytes a page may have, and processes it lists. */
#define METRICS_PAGE_MAX (8u * 1024u * 1024u)
#define METRICS_CHILDREN_MAX 256
/* The most queues counted by name; more are summed under "(other)". */
#define METRICS_QUEUES_MAX 256

/* The most event types counted by name (the schema has about 20). */
#define METRICS_TYPES_MAX 64
/* The most events read from the log in one scrape: the first scrapes of a
 * large log catch up over several, so that none takes long. */
#define METRICS_EVENTS_PER_SCRAPE 200000

struct metrics_type_count {
	char name[48];
	uint64_t n;
};

struct metrics_src {
	char state_dir[4096];
	/* The event log counted by type, up to scanned_seq: the log only grows,
	 * so each scrape reads only what is new. Counted again from seq 1 by a
	 * new process: the counts are stored facts. */
	uint64_t scanned_seq;
	struct metrics_type_count types[METRICS_TYPES_MAX];
	size_t ntypes;
	struct store *st;      /* opened read-only at the first scrape that finds it */
	int64_t started_at_ms; /* this process's start (wall clock) */
	uint64_t scrapes;      /* pages served */
	struct metrics_kpi kpi; /* today's report figures (kpi.h); set kpi.routing */
};

/* metrics_src_init - a source over `state_dir` (copied; GW_EINVAL when too long). */
int metrics_src_init(struct metrics_src *m, const char *state_dir);

/* metrics_src_close - closes the store; accepts a source never scraped. */
void metrics_src_close(struct metrics_src *m);

/*
 * metrics_collect - writes the whole page into `e`. What cannot be read (no
 * gatewayd.json yet, no store yet, a process gone) is left out and said by
 * the `omnigate_*_up` gauges; never an error by itself. Returns GW_OK or
 * expo_failed(e).
 */
int metrics_collect(struct metrics_src *m, struct expo *e);

#endif

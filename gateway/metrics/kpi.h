/*
 * kpi.h - the helpdesk figures of gateway/report/report.h for today (UTC)
 * so far, by channel, queue and agent, as gauges on the metrics page
 * (docs/operations.md, "Metrics"; docs/reports.md).
 *
 * The reports are kept between scrapes and fed only the events appended
 * since the last one; at midnight (UTC) they start a new window on the
 * tickets they know, so a scrape costs the new events, not the log.
 * Threading: gateway-metrics's loop thread.
 */
#ifndef GW_METRICS_KPI_H
#define GW_METRICS_KPI_H

#include <stdint.h>

#include "gateway/metrics/expo.h"

struct report;
struct store;
struct gw_config_routing;

#define KPI_DIMS 3 /* channel, queue, agent */

struct metrics_kpi {
	const struct gw_config_routing *routing; /* borrowed; NULL: every queue 24/7 */
	struct report *r[KPI_DIMS];              /* owned; NULL until the first scrape */
	int64_t day;                             /* the window's start (ms) */
};

/*
 * metrics_kpi_write - brings the reports up to the log's head in `st`
 * (borrowed, read-only) and writes their families into `e`. GW_OK, or the
 * error of report_create / report_from_store (the reports are then dropped
 * and built again from seq 1 at the next scrape; nothing is written).
 */
int metrics_kpi_write(struct metrics_kpi *k, struct store *st, struct expo *e);

/* metrics_kpi_free - frees the reports; accepts a zeroed kpi. */
void metrics_kpi_free(struct metrics_kpi *k);

#endif

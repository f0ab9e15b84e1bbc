/*
 * reports.c - GET /v1/reports?from=DATE&to=DATE&by=DIM: the helpdesk
 * figures of gateway/report/report.h over UTC days [from, to], computed
 * from the router's event log opened read-only (docs/integration.md,
 * docs/reports.md). The same module as `gatewayctl report`, so both give
 * the same figures.
 */
#include "gateway/integration/integration.h"

#include <stdio.h>

#include "core/config.h"
#include "core/err.h"
#include "gateway/report/report.h"
#include "store/store.h"

#define DAY_MS 86400000LL
#define REPORT_MAX_DAYS 366 /* one request computes at most a year */

/* window - from, to and by from the query; GW_OK or answered 400. */
static int window(struct ig_request *q, int64_t *from, int64_t *to, enum report_by *by)
{
	char f[16] = "", t[16] = "", b[16] = "day";
	int rc;

	rc = ig_query(q, "from", f, sizeof(f));
	if (rc == GW_OK)
		rc = ig_query(q, "to", t, sizeof(t));
	if (rc == GW_OK)
		rc = report_date_parse(f, from);
	if (rc == GW_OK)
		rc = report_date_parse(t, to);
	if (rc) {
		ig_error(q, 400, "invalid_request", "from and to: dates YYYY-MM-DD (UTC), both needed");
		return GW_EINVAL;
	}
	*to += DAY_MS;
	if (*to <= *from || *to - *from > REPORT_MAX_DAYS * DAY_MS) {
		ig_error(q, 400, "invalid_request", "to: from 'from' to at most %d days after it",
			 REPORT_MAX_DAYS - 1);
		return GW_EINVAL;
	}
	rc = ig_query(q, "by", b, sizeof(b));
	if ((rc != GW_OK && rc != GW_ENOTFOUND) || report_by_parse(b, by) != GW_OK) {
		ig_error(q, 400, "invalid_request", "by: one of channel, queue, agent, day, tag");
		return GW_EINVAL;
	}
	return GW_OK;
}

json_t *ig_reports_get(const struct gw_config *cfg, struct store **st, struct ig_request *q)
{
	enum report_by by = REPORT_BY_DAY;
	struct report *r = NULL;
	char dir[4096];
	int64_t from, to;
	json_t *j = NULL;
	int rc;

	if (window(q, &from, &to, &by))
		return NULL;
	snprintf(dir, sizeof(dir), "%s/store", cfg->state_dir);
	rc = *st ? GW_OK : store_open_readonly(dir, st);
	if (rc == GW_OK)
		rc = report_create(&cfg->routing, from, to, by, &r);
	if (rc == GW_OK)
		rc = report_from_store(r, *st);
	if (rc == GW_OK) {
		j = report_json(r);
		rc = j ? GW_OK : GW_ENOMEM;
	}
	if (rc)
		ig_error(q, 503, "router_unavailable", "the event log cannot be read: %s",
			 gw_strerror(rc));
	report_free(r);
	return j;
}

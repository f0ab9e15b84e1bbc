/*
 * kpi.c - today's report figures as gauges (kpi.h).
 */
#include "gateway/metrics/kpi.h"

#include <stdlib.h>

#include "core/err.h"
#include "core/util.h"
#include "gateway/report/report.h"

#define DAY_MS 86400000LL

static const enum report_by dims[KPI_DIMS] = {REPORT_BY_CHANNEL, REPORT_BY_QUEUE,
					      REPORT_BY_AGENT};

void metrics_kpi_free(struct metrics_kpi *k)
{
	for (int i = 0; i < KPI_DIMS; i++) {
		report_free(k->r[i]);
		k->r[i] = NULL;
	}
}

/* kpi_update - today's window, then the new events, for each dimension. */
static int kpi_update(struct metrics_kpi *k, struct store *st)
{
	int64_t today = gw_now_ms() / DAY_MS * DAY_MS;
	int rc = GW_OK;

	for (int i = 0; i < KPI_DIMS && rc == GW_OK; i++) {
		if (!k->r[i])
			rc = report_create(k->routing, today, today + DAY_MS, dims[i], &k->r[i]);
		else if (k->day != today)
			rc = report_rewindow(k->r[i], today, today + DAY_MS);
		if (rc == GW_OK)
			rc = report_from_store(k->r[i], st);
	}
	k->day = today;
	return rc;
}

static void family(struct expo *e, const char *name, const char *help)
{
	expo_family(e, name, "gauge", help);
}

/* write_counts - the counters of every row of every dimension. */
static void write_counts(struct metrics_kpi *k, struct expo *e)
{
	static const char *const what[] = {"opened", "reopened", "closed", "backlog", "fcr"};

	family(e, "omnigate_report_tickets", "Today (UTC) so far, by channel, queue or agent "
	       "(label by, value key): tickets opened, reopened, closed, open now (backlog), "
	       "closed with one reply (fcr); from the event log (docs/reports.md).");
	for (int d = 0; d < KPI_DIMS; d++)
		for (size_t i = 0; i < report_rows(k->r[d]); i++) {
			const struct report_row *row = report_row(k->r[d], i);
			const uint64_t v[] = {row->opened, row->reopened, row->closed, row->backlog,
					      row->fcr};

			for (size_t w = 0; w < sizeof(v) / sizeof(v[0]); w++)
				expo_sample(e, "omnigate_report_tickets", (const char *[]){"by",
					    report_by_name(dims[d]), "key", row->key, "what",
					    what[w], NULL}, (double)v[w]);
		}
}

static void write_sla(struct metrics_kpi *k, struct expo *e)
{
	family(e, "omnigate_report_sla", "Today (UTC) so far: tickets closed whose SLA clock "
	       "was met or breached (next response: each clock when it ends), by channel, queue "
	       "or agent.");
	for (int d = 0; d < KPI_DIMS; d++)
		for (size_t i = 0; i < report_rows(k->r[d]); i++) {
			const struct report_row *row = report_row(k->r[d], i);
			const char *by = report_by_name(dims[d]);

			expo_sample(e, "omnigate_report_sla", (const char *[]){"by", by, "key",
				    row->key, "clock", "first_response", "outcome", "met", NULL},
				    (double)row->sla_fr_met);
			expo_sample(e, "omnigate_report_sla", (const char *[]){"by", by, "key",
				    row->key, "clock", "first_response", "outcome", "breached",
				    NULL}, (double)row->sla_fr_breached);
			expo_sample(e, "omnigate_report_sla", (const char *[]){"by", by, "key",
				    row->key, "clock", "resolution", "outcome", "met", NULL},
				    (double)row->sla_res_met);
			expo_sample(e, "omnigate_report_sla", (const char *[]){"by", by, "key",
				    row->key, "clock", "resolution", "outcome", "breached", NULL},
				    (double)row->sla_res_breached);
			expo_sample(e, "omnigate_report_sla", (const char *[]){"by", by, "key",
				    row->key, "clock", "next_response", "outcome", "met", NULL},
				    (double)row->sla_nr_met);
			expo_sample(e, "omnigate_report_sla", (const char *[]){"by", by, "key",
				    row->key, "clock", "next_response", "outcome", "breached",
				    NULL}, (double)row->sla_nr_breached);
		}
}

/* write_times - median and p90 of each time figure that has samples. The
 * samples are sorted in place, which changes no figure. */
static void write_times(struct metrics_kpi *k, struct expo *e)
{
	static const char *const names[] = {"first_response", "resolution", "next_response"};

	family(e, "omnigate_report_seconds", "Today (UTC) so far: first-response, resolution "
	       "and next-response time in business seconds of the ticket's queue, median "
	       "(quantile 0.5) and p90, by channel, queue or agent; absent without a sample.");
	for (int d = 0; d < KPI_DIMS; d++)
		for (size_t i = 0; i < report_rows(k->r[d]); i++) {
			struct report_row *row = (struct report_row *)report_row(k->r[d], i);
			struct report_times *t[] = {&row->first_response, &row->resolution,
						    &row->next_response};

			for (int n = 0; n < 3; n++) {
				if (!t[n]->n)
					continue;
				expo_sample(e, "omnigate_report_seconds", (const char *[]){"by",
					    report_by_name(dims[d]), "key", row->key, "time",
					    names[n], "quantile", "0.5", NULL},
					    (double)report_median(t[n]->v, t[n]->n) / 1000.0);
				expo_sample(e, "omnigate_report_seconds", (const char *[]){"by",
					    report_by_name(dims[d]), "key", row->key, "time",
					    names[n], "quantile", "0.9", NULL},
					    (double)report_p90(t[n]->v, t[n]->n) / 1000.0);
			}
		}
}

static void write_csat(struct metrics_kpi *k, struct expo *e)
{
	family(e, "omnigate_report_csat_ratings", "Today (UTC) so far: satisfaction ratings "
	       "received (ticket.rated), by channel, queue or agent.");
	for (int d = 0; d < KPI_DIMS; d++)
		for (size_t i = 0; i < report_rows(k->r[d]); i++)
			expo_sample(e, "omnigate_report_csat_ratings", (const char *[]){"by",
				    report_by_name(dims[d]), "key", report_row(k->r[d], i)->key,
				    NULL}, (double)report_row(k->r[d], i)->csat_count);
	family(e, "omnigate_report_csat_average", "Today (UTC) so far: the average rating "
	       "(1 to 5), by channel, queue or agent; absent without a rating.");
	for (int d = 0; d < KPI_DIMS; d++)
		for (size_t i = 0; i < report_rows(k->r[d]); i++) {
			const struct report_row *row = report_row(k->r[d], i);

			if (row->csat_count)
				expo_sample(e, "omnigate_report_csat_average", (const char *[]){"by",
					    report_by_name(dims[d]), "key", row->key, NULL},
					    (double)row->csat_sum / (double)row->csat_count);
		}
}

int metrics_kpi_write(struct metrics_kpi *k, struct store *st, struct expo *e)
{
	int rc = kpi_update(k, st);

	if (rc) {
		metrics_kpi_free(k);
		return rc;
	}
	write_counts(k, e);
	write_sla(k, e);
	write_times(k, e);
	write_csat(k, e);
	return GW_OK;
}

/*
 * report_out.c - a report's rows as JSON, CSV or a text table (report.h).
 * Times are shown in seconds (JSON, CSV) or as "1h05m" (table); a figure
 * without samples or without a denominator is null, empty or "-".
 */
#include "gateway/report/report_int.h"

#include <inttypes.h>
#include <string.h>

#include "core/err.h"

/* The figures of one row, computed once. -1: none. */
struct figs {
	int64_t t[6];   /* first response, resolution, next response: median, p90 (ms) */
	double rate[5]; /* sla first response, resolution, next response, fcr, csat average */
};

static const char *const time_names[6] = {
	"first_response_median_s", "first_response_p90_s", "resolution_median_s",
	"resolution_p90_s", "next_response_median_s", "next_response_p90_s"};
#define N_RATES 5
#define N_COUNTS 12

static const char *const rate_names[N_RATES] = {
	"sla_first_response_met_rate", "sla_resolution_met_rate", "sla_next_response_met_rate",
	"fcr_rate", "csat_average"};
static const char *const count_names[N_COUNTS] = {
	"opened", "reopened", "closed", "backlog", "sla_first_response_met",
	"sla_first_response_breached", "sla_resolution_met", "sla_resolution_breached",
	"sla_next_response_met", "sla_next_response_breached", "fcr", "csat_count"};

static double ratio(uint64_t num, uint64_t den)
{
	return den ? (double)num / (double)den : -1.0;
}

static void figs_of(struct report_row *row, struct figs *f)
{
	struct report_times *ts[3] = {&row->first_response, &row->resolution, &row->next_response};

	for (int i = 0; i < 3; i++) {
		f->t[2 * i] = report_median(ts[i]->v, ts[i]->n);
		f->t[2 * i + 1] = report_p90(ts[i]->v, ts[i]->n);
	}
	f->rate[0] = ratio(row->sla_fr_met, row->sla_fr_met + row->sla_fr_breached);
	f->rate[1] = ratio(row->sla_res_met, row->sla_res_met + row->sla_res_breached);
	f->rate[2] = ratio(row->sla_nr_met, row->sla_nr_met + row->sla_nr_breached);
	f->rate[3] = ratio(row->fcr, row->closed);
	f->rate[4] = ratio(row->csat_sum, row->csat_count);
}

static void counts_of(const struct report_row *row, uint64_t c[N_COUNTS])
{
	c[0] = row->opened;
	c[1] = row->reopened;
	c[2] = row->closed;
	c[3] = row->backlog;
	c[4] = row->sla_fr_met;
	c[5] = row->sla_fr_breached;
	c[6] = row->sla_res_met;
	c[7] = row->sla_res_breached;
	c[8] = row->sla_nr_met;
	c[9] = row->sla_nr_breached;
	c[10] = row->fcr;
	c[11] = row->csat_count;
}

static json_t *row_json(const char *by, struct report_row *row)
{
	json_t *o = json_object();
	struct figs f;
	uint64_t c[N_COUNTS];
	int bad = !o;

	figs_of(row, &f);
	counts_of(row, c);
	bad |= json_object_set_new(o, by, json_string(row->key));
	for (int i = 0; i < N_COUNTS && !bad; i++)
		bad |= json_object_set_new(o, count_names[i], json_integer((json_int_t)c[i]));
	for (int i = 0; i < 6 && !bad; i++)
		bad |= json_object_set_new(o, time_names[i],
					   f.t[i] < 0 ? json_null() : json_integer(f.t[i] / 1000));
	for (int i = 0; i < N_RATES && !bad; i++)
		bad |= json_object_set_new(o, rate_names[i],
					   f.rate[i] < 0 ? json_null() : json_real(f.rate[i]));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *report_json(struct report *r)
{
	json_t *o, *rows = json_array();
	const char *by = report_by_name(r->by);

	o = json_pack("{s:I,s:I,s:s,s:o}", "from", (json_int_t)r->from_ms, "to",
		      (json_int_t)r->to_ms, "by", by, "rows", rows);
	for (size_t i = 0; o && i < r->n_rows; i++) {
		json_t *j = row_json(by, &r->rows[i]);

		if (!j || json_array_append_new(rows, j) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* csv_field - a key quoted as RFC 4180 wants when it needs it. */
static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

int report_write_csv(struct report *r, FILE *f)
{
	fputs(report_by_name(r->by), f);
	for (int i = 0; i < N_COUNTS; i++)
		fprintf(f, ",%s", count_names[i]);
	for (int i = 0; i < 6; i++)
		fprintf(f, ",%s", time_names[i]);
	for (int i = 0; i < N_RATES; i++)
		fprintf(f, ",%s", rate_names[i]);
	fputs("\r\n", f);
	for (size_t n = 0; n < r->n_rows; n++) {
		struct figs fg;
		uint64_t c[N_COUNTS];

		figs_of(&r->rows[n], &fg);
		counts_of(&r->rows[n], c);
		csv_field(f, r->rows[n].key);
		for (int i = 0; i < N_COUNTS; i++)
			fprintf(f, ",%" PRIu64, c[i]);
		for (int i = 0; i < 6; i++)
			fg.t[i] < 0 ? fputs(",", f) : fprintf(f, ",%" PRId64, fg.t[i] / 1000);
		for (int i = 0; i < N_RATES; i++)
			fg.rate[i] < 0 ? fputs(",", f) : fprintf(f, ",%.4f", fg.rate[i]);
		fputs("\r\n", f);
	}
	return ferror(f) ? GW_EIO : GW_OK;
}

/* dur - "2d03h", "1h05m", "4m10s", "12s", or "-" for none. */
static void dur(int64_t ms, char *out, size_t size)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		snprintf(out, size, "-");
	else if (s >= 86400)
		snprintf(out, size, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, size, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, size, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else
		snprintf(out, size, "%" PRId64 "s", s);
}

static void pct(double v, char *out, size_t size)
{
	if (v < 0)
		snprintf(out, size, "-");
	else
		snprintf(out, size, "%.0f%%", v * 100.0);
}

static void table_row(FILE *f, struct report_row *row)
{
	char t[6][24], p[4][8], csat[16];
	struct figs fg;

	figs_of(row, &fg);
	for (int i = 0; i < 6; i++)
		dur(fg.t[i], t[i], sizeof(t[i]));
	for (int i = 0; i < 4; i++)
		pct(fg.rate[i], p[i], sizeof(p[i]));
	if (fg.rate[4] < 0)
		snprintf(csat, sizeof(csat), "-");
	else
		snprintf(csat, sizeof(csat), "%.2f (%" PRIu64 ")", fg.rate[4], row->csat_count);
	fprintf(f,
		"%-20s %6" PRIu64 " %6" PRIu64 " %6" PRIu64 " %7" PRIu64
		" %7s %7s %7s %7s %7s %7s %5s %5s %5s %5s %s\n",
		row->key, row->opened, row->reopened, row->closed, row->backlog, t[0], t[1], t[2],
		t[3], t[4], t[5], p[0], p[1], p[2], p[3], csat);
}

int report_write_table(struct report *r, FILE *f)
{
	fprintf(f, "%-20s %6s %6s %6s %7s %7s %7s %7s %7s %7s %7s %5s %5s %5s %5s %s\n",
		report_by_name(r->by), "opened", "reopen", "closed", "backlog", "frt.med",
		"frt.p90", "res.med", "res.p90", "nrt.med", "nrt.p90", "slaFR", "slaRS", "slaNR",
		"fcr", "csat");
	for (size_t n = 0; n < r->n_rows; n++)
		table_row(f, &r->rows[n]);
	return ferror(f) ? GW_EIO : GW_OK;
}

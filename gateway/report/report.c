/*
 * report.c - the report's state: the tickets seen, the rows, and what each
 * event adds to them (report.h; the figures are defined there and in
 * docs/reports.md).
 */
#include "gateway/report/report_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/calendar.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/proto.h"

#define DAY_MS 86400000LL

static const char *const by_names[] = {"channel", "queue", "agent", "day", "tag"};

int report_by_parse(const char *s, enum report_by *by)
{
	for (size_t i = 0; i < sizeof(by_names) / sizeof(by_names[0]); i++)
		if (s && strcmp(s, by_names[i]) == 0) {
			*by = (enum report_by)i;
			return GW_OK;
		}
	return GW_EINVAL;
}

const char *report_by_name(enum report_by by)
{
	return (unsigned)by < sizeof(by_names) / sizeof(by_names[0]) ? by_names[by] : "?";
}

/* days_from_civil - days since 1970-01-01 of a proleptic Gregorian date
 * (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int report_date_parse(const char *s, int64_t *ms)
{
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y = 0, m = 0, d = 0;
	int64_t days;

	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return GW_EINVAL;
	for (int i = 0; i < 10; i++) {
		if (i == 4 || i == 7)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return GW_EINVAL;
	}
	y = (unsigned)((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + s[3] - '0');
	m = (unsigned)((s[5] - '0') * 10 + s[6] - '0');
	d = (unsigned)((s[8] - '0') * 10 + s[9] - '0');
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return GW_EINVAL;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return GW_EINVAL;
	days = days_from_civil(y, m, d);
	*ms = days * DAY_MS;
	return GW_OK;
}

/* --- interned names (channels, queues, agents) -------------------------- */

/* intern - the index of `s` ("" for NULL) in the report's names. */
static int intern(struct report *r, const char *s, uint16_t *out)
{
	char **nv;

	if (!s)
		s = "";
	for (size_t i = 0; i < r->n_names; i++)
		if (strcmp(r->names[i], s) == 0) {
			*out = (uint16_t)i;
			return GW_OK;
		}
	if (r->n_names >= REPORT_MAX_NAMES)
		return GW_EFULL;
	nv = realloc(r->names, (r->n_names + 1) * sizeof(*nv));
	if (!nv)
		return GW_ENOMEM;
	r->names = nv;
	r->names[r->n_names] = gw_strdup(s);
	if (!r->names[r->n_names])
		return GW_ENOMEM;
	*out = (uint16_t)r->n_names++;
	return GW_OK;
}

/* --- the tickets: open addressing on the ticket id ---------------------- */

static size_t slot_of(uint64_t id, size_t cap)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

static int grow_tickets(struct report *r)
{
	size_t cap = r->cap ? r->cap * 2 : 1024;
	struct rticket *nt = calloc(cap, sizeof(*nt));

	if (!nt)
		return GW_ENOMEM;
	for (size_t i = 0; i < r->cap; i++) {
		size_t s;

		if (!r->tickets[i].id)
			continue;
		for (s = slot_of(r->tickets[i].id, cap); nt[s].id; s = (s + 1) & (cap - 1))
			;
		nt[s] = r->tickets[i];
	}
	free(r->tickets);
	r->tickets = nt;
	r->cap = cap;
	return GW_OK;
}

struct rticket *report_ticket_find(struct report *r, uint64_t id)
{
	if (!r->cap || !id)
		return NULL;
	for (size_t s = slot_of(id, r->cap); r->tickets[s].id; s = (s + 1) & (r->cap - 1))
		if (r->tickets[s].id == id)
			return &r->tickets[s];
	return NULL;
}

/* ticket_add - the ticket `id`, added zeroed when new. */
int report_ticket_add(struct report *r, uint64_t id, struct rticket **out)
{
	size_t s;
	int rc;

	*out = report_ticket_find(r, id);
	if (*out)
		return GW_OK;
	if (r->n_tickets >= REPORT_MAX_TICKETS)
		return GW_EFULL;
	if ((r->n_tickets + 1) * 2 > r->cap) {
		rc = grow_tickets(r);
		if (rc)
			return rc;
	}
	for (s = slot_of(id, r->cap); r->tickets[s].id; s = (s + 1) & (r->cap - 1))
		;
	r->tickets[s].id = id;
	r->n_tickets++;
	*out = &r->tickets[s];
	return GW_OK;
}

/* --- rows ---------------------------------------------------------------- */

uint32_t report_str_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* row_slot - the index slot of `key`: where its row is, or the free slot
 * where it goes. */
static size_t row_slot(const struct report *r, const char *key)
{
	size_t s = report_str_hash(key) & (r->row_index_cap - 1);

	while (r->row_index[s] && strcmp(r->rows[r->row_index[s] - 1].key, key) != 0)
		s = (s + 1) & (r->row_index_cap - 1);
	return s;
}

/* report_rows_index - the index of the rows at `cap` slots (a power of
 * two, more than twice the rows), from the rows as they are now. */
int report_rows_index(struct report *r, size_t cap)
{
	uint32_t *ni = calloc(cap, sizeof(*ni));

	if (!ni)
		return GW_ENOMEM;
	free(r->row_index);
	r->row_index = ni;
	r->row_index_cap = cap;
	for (size_t i = 0; i < r->n_rows; i++)
		ni[row_slot(r, r->rows[i].key)] = (uint32_t)i + 1;
	return GW_OK;
}

/* row_add - a new zeroed row `key` at index slot `slot`. */
static int row_add(struct report *r, const char *key, size_t slot, struct report_row **out)
{
	struct report_row *nv;
	size_t cap;

	if (r->n_rows >= REPORT_MAX_ROWS)
		return GW_EFULL;
	if (r->n_rows == r->rows_cap) {
		cap = r->rows_cap ? r->rows_cap * 2 : 16;
		nv = realloc(r->rows, cap * sizeof(*nv));
		if (!nv)
			return GW_ENOMEM;
		r->rows = nv;
		r->rows_cap = cap;
	}
	*out = &r->rows[r->n_rows++];
	memset(*out, 0, sizeof(**out));
	snprintf((*out)->key, sizeof((*out)->key), "%s", key);
	r->row_index[slot] = (uint32_t)r->n_rows;
	return GW_OK;
}

int report_row_get(struct report *r, const char *key, struct report_row **out)
{
	size_t s;
	int rc;

	if ((r->n_rows + 1) * 2 > r->row_index_cap) {
		rc = report_rows_index(r, r->row_index_cap ? r->row_index_cap * 2 : 32);
		if (rc)
			return rc;
	}
	s = row_slot(r, key);
	if (!r->row_index[s])
		return row_add(r, key, s, out);
	*out = &r->rows[r->row_index[s] - 1];
	return GW_OK;
}

static void row_clear(struct report_row *row)
{
	free(row->first_response.v);
	free(row->resolution.v);
	free(row->next_response.v);
}

static void rows_clear(struct report *r)
{
	for (size_t i = 0; i < r->n_rows; i++)
		row_clear(&r->rows[i]);
	r->n_rows = 0;
	r->samples = 0;
	if (r->row_index)
		memset(r->row_index, 0, r->row_index_cap * sizeof(*r->row_index));
}

/* report_day_key - "YYYY-MM-DD" (UTC) of `ms`. */
void report_day_key(int64_t ms, char *key, size_t size)
{
	time_t t = (time_t)((ms >= 0 ? ms : 0) / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(key, size, "%Y-%m-%d", &tm);
}

size_t report_keys(const struct report *r, const struct rticket *t, int64_t ts,
		   char (*keys)[REPORT_KEY_MAX])
{
	const struct rtags *set = t->tags ? &r->tagsets[t->tags - 1] : NULL;
	const char *s = "";

	switch (r->by) {
	case REPORT_BY_CHANNEL: s = r->names[t->channel]; break;
	case REPORT_BY_QUEUE: s = r->names[t->queue]; break;
	case REPORT_BY_AGENT: s = r->names[t->agent]; break;
	case REPORT_BY_DAY: report_day_key(ts, keys[0], REPORT_KEY_MAX); return 1;
	case REPORT_BY_TAG:
		for (size_t i = 0; set && i < set->n; i++)
			snprintf(keys[i], REPORT_KEY_MAX, "%s", r->tag_names[set->v[i]]);
		if (set && set->n)
			return set->n;
		break;
	}
	snprintf(keys[0], REPORT_KEY_MAX, "%s", s[0] ? s : "-");
	return 1;
}

/* --- calendars ----------------------------------------------------------- */

static int add_calendar(struct report *r, const struct gw_config_routing *rt,
			const struct gw_routing_queue *q)
{
	char err[256] = "";
	uint16_t qi;
	int rc;

	for (size_t h = 0; h < rt->n_business_hours; h++) {
		if (strcmp(rt->business_hours[h].name, q->business_hours) != 0)
			continue;
		rc = intern(r, q->name, &qi);
		if (rc)
			return rc;
		rc = cal_parse(rt->business_hours[h].timezone, rt->business_hours[h].hours,
			       &r->cals[qi], err, sizeof(err));
		if (rc == GW_EINVAL) {
			GW_ERROR("report", "queue %s: %s", q->name, err);
			return GW_ECONFIG;
		}
		return rc;
	}
	return GW_OK; /* an unknown name is the config check's to refuse: 24/7 */
}

static int load_calendars(struct report *r, const struct gw_config_routing *rt)
{
	int rc = GW_OK;

	for (size_t i = 0; rt && i < rt->n_queues && rc == GW_OK; i++)
		if (rt->queues[i].business_hours && rt->queues[i].business_hours[0])
			rc = add_calendar(r, rt, &rt->queues[i]);
	return rc;
}

/* report_business_ms - business time between two instants in the calendar
 * of the queue interned at `queue` (24/7 without one). */
int64_t report_business_ms(const struct report *r, uint16_t queue, int64_t from, int64_t to)
{
	if (to <= from)
		return 0;
	if (queue < REPORT_MAX_NAMES && r->cals[queue])
		return cal_between(r->cals[queue], from, to);
	return to - from;
}

/* --- life cycle ---------------------------------------------------------- */

static void day_cursor_reset(struct report *r)
{
	r->day_end = (r->from_ms >= 0 ? r->from_ms / DAY_MS : 0) * DAY_MS + DAY_MS;
}

int report_create(const struct gw_config_routing *routing, int64_t from_ms, int64_t to_ms,
		  enum report_by by, struct report **out)
{
	struct report *r = NULL;
	uint16_t none;
	int rc = GW_EINVAL;

	*out = NULL;
	if (to_ms <= from_ms || (unsigned)by > REPORT_BY_TAG)
		goto out;
	rc = GW_ENOMEM;
	r = calloc(1, sizeof(*r));
	if (!r)
		goto out;
	r->from_ms = from_ms;
	r->to_ms = to_ms;
	r->by = by;
	day_cursor_reset(r);
	rc = intern(r, "", &none); /* index 0: no channel, queue or agent */
	if (rc)
		goto out;
	rc = load_calendars(r, routing);
out:
	if (rc) {
		report_free(r);
		r = NULL;
	}
	*out = r;
	return rc;
}

void report_free(struct report *r)
{
	if (!r)
		return;
	rows_clear(r);
	free(r->rows);
	free(r->row_index);
	free(r->tickets);
	for (size_t i = 0; i < REPORT_MAX_NAMES; i++)
		cal_free(r->cals[i]);
	for (size_t i = 0; i < r->n_names; i++)
		free(r->names[i]);
	free(r->names);
	report_tags_free(r);
	free(r);
}

int report_rewindow(struct report *r, int64_t from_ms, int64_t to_ms)
{
	if (to_ms <= from_ms)
		return GW_EINVAL;
	rows_clear(r);
	r->from_ms = from_ms;
	r->to_ms = to_ms;
	day_cursor_reset(r);
	return GW_OK;
}

size_t report_rows(const struct report *r)
{
	return r->n_rows;
}

const struct report_row *report_row(const struct report *r, size_t i)
{
	return i < r->n_rows ? &r->rows[i] : NULL;
}

uint64_t report_last_seq(const struct report *r)
{
	return r->last_seq;
}

uint64_t report_open_now(const struct report *r)
{
	return r->open_total;
}

int report_intern(struct report *r, const char *s, uint16_t *out)
{
	return intern(r, s, out);
}

/*
 * calendar.c - working hours in a time zone, and time counted in them
 * (see calendar.h).
 *
 * The schedule is kept twice: per weekday as sorted, merged minute ranges
 * (what was written), and as one list over the local week (minutes from
 * Monday 00:00, ranges that meet at midnight joined) which the walks use.
 *
 * Every walk goes piece by piece: from an instant, while the zone's UTC
 * offset stays the same (up to its next transition), local time moves with
 * UTC, so the next schedule edge is a plain subtraction away. A piece ends at
 * the next edge or transition, whichever comes first; a local day of 23 or 25
 * hours is only two pieces of different offsets. Between two transitions
 * (months apart) whole weeks are skipped at once, since each holds exactly
 * the week's open time.
 */
#include "core/calendar.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/tzone.h"

#define CAL_DAY_RANGES 32 /* open ranges on one weekday, after merging */
#define CAL_WORD_MAX 64
#define MIN_MS 60000LL
#define DAY_MS (1440 * MIN_MS)
#define WEEK_MS (7 * DAY_MS)
#define WEEK_MIN (7 * 1440)
/* Instants are handled up to year 10000 (and as far back); later answers are
 * INT64_MAX. Keeps every sum below far from int64 overflow. */
#define CAL_T_MAX 253402300800000LL
#define CAL_T_MIN (-CAL_T_MAX)
/* A safety net only: a walk needs a few pieces per open range per week, and
 * whole weeks between offset transitions are skipped. */
#define CAL_MAX_STEPS (1L << 26)

struct cal_range {
	uint16_t start, end; /* minutes, start < end */
};

struct cal {
	struct tz_zone *zone;
	struct cal_range day[7][CAL_DAY_RANGES]; /* 0 = Monday, in local time */
	int nday[7];
	struct cal_range week[7 * CAL_DAY_RANGES]; /* minutes of the local week */
	int nweek;
	int64_t week_open_ms; /* 0: never open; WEEK_MS: always open */
};

/* A stretch of time from some instant on which cal_is_open does not change
 * and the UTC offset is the same. */
struct cal_piece {
	int open;
	int64_t end;     /* first instant after the piece */
	int64_t seg_end; /* next offset transition, INT64_MAX if none */
};

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	int64_t r = a % b;

	return r < 0 ? r + b : r;
}

static int64_t clamp_t(int64_t t)
{
	return t > CAL_T_MAX ? CAL_T_MAX : t < CAL_T_MIN ? CAL_T_MIN : t;
}

/* ---- the hours grammar ---- */

/* One day name (exactly `len` characters) to 0..6, or -1. */
static int day_index(const char *s, size_t len)
{
	for (int i = 0; i < 7; i++)
		if (len == 3 && strncasecmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

/* "mon" or "fri-mon" (wrapping) into a mask of weekdays. */
static int parse_days(const char *w, unsigned *mask, char *err, size_t errlen)
{
	const char *dash = strchr(w, '-');
	size_t alen = dash ? (size_t)(dash - w) : strlen(w);
	const char *b = dash ? dash + 1 : w;
	int from = day_index(w, alen), to;

	if (from < 0) {
		set_err(err, errlen, "hours: '%s': unknown day '%.*s'", w, (int)alen, w);
		return GW_EINVAL;
	}
	to = dash ? day_index(b, strlen(b)) : from;
	if (to < 0) {
		set_err(err, errlen, "hours: '%s': unknown day '%s'", w, b);
		return GW_EINVAL;
	}
	*mask = 0;
	for (int d = from;; d = (d + 1) % 7) {
		*mask |= 1u << d;
		if (d == to)
			break;
	}
	return GW_OK;
}

/* "H:MM" or "HH:MM", 00:00..24:00, into minutes of the day; -1 if bad. */
static int parse_hhmm(const char *s, size_t len)
{
	int h = 0, m;
	size_t i = 0;

	while (i < len && i < 2 && isdigit((unsigned char)s[i]))
		h = h * 10 + (s[i++] - '0');
	if (i == 0 || len != i + 3 || s[i] != ':' || !isdigit((unsigned char)s[i + 1]) ||
	    !isdigit((unsigned char)s[i + 2]))
		return -1;
	m = (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

/* "09:00-18:00" into [*start, *end) minutes. */
static int parse_span(const char *w, int *start, int *end, char *err, size_t errlen)
{
	const char *dash = strchr(w, '-');
	size_t alen = dash ? (size_t)(dash - w) : strlen(w);

	if (!dash) {
		set_err(err, errlen, "hours: '%s': expected a range such as 09:00-18:00", w);
		return GW_EINVAL;
	}
	*start = parse_hhmm(w, alen);
	*end = parse_hhmm(dash + 1, strlen(dash + 1));
	if (*start < 0 || *end < 0) {
		if (*start < 0)
			set_err(err, errlen, "hours: '%s': bad time '%.*s'", w, (int)alen, w);
		else
			set_err(err, errlen, "hours: '%s': bad time '%s'", w, dash + 1);
		return GW_EINVAL;
	}
	if (*start >= *end) {
		set_err(err, errlen, "hours: '%s': start is not before end", w);
		return GW_EINVAL;
	}
	return GW_OK;
}

/* Splits at blanks, ',' and ';'. Returns the word's length (0 at the end)
 * and moves *p past it; *start is where it begins. */
static size_t next_word(const char **p, const char **start)
{
	const char *s = *p;
	size_t n = 0;

	while (*s && (isspace((unsigned char)*s) || *s == ',' || *s == ';'))
		s++;
	while (s[n] && !isspace((unsigned char)s[n]) && s[n] != ',' && s[n] != ';')
		n++;
	*start = s;
	*p = s + n;
	return n;
}

/* Turns the minute map of each day into sorted, merged ranges. */
static int ranges_from_map(struct cal *c, const uint8_t map[7][1440], char *err, size_t errlen)
{
	for (int d = 0; d < 7; d++) {
		c->nday[d] = 0;
		for (int m = 0; m < 1440;) {
			int s;

			if (!map[d][m]) {
				m++;
				continue;
			}
			for (s = m; m < 1440 && map[d][m]; m++)
				;
			if (c->nday[d] == CAL_DAY_RANGES) {
				set_err(err, errlen, "hours: more than %d ranges on %s",
					CAL_DAY_RANGES, day_names[d]);
				return GW_EINVAL;
			}
			c->day[d][c->nday[d]++] = (struct cal_range){(uint16_t)s, (uint16_t)m};
		}
	}
	return GW_OK;
}

/* Reads the words of `hours` into the minute map. Day specs written one
 * after another ("sat, sun 10:00-14:00") add up. */
static int parse_words(const char *hours, uint8_t map[7][1440], char *err, size_t errlen)
{
	char w[CAL_WORD_MAX], lastday[CAL_WORD_MAX] = "";
	const char *p = hours, *s;
	unsigned mask = 0, add;
	int after_day = 0, words = 0, a, b;
	size_t n;

	while ((n = next_word(&p, &s)) > 0) {
		words++;
		if (n >= sizeof(w)) {
			set_err(err, errlen, "hours: '%.20s...': too long", s);
			return GW_EINVAL;
		}
		memcpy(w, s, n);
		w[n] = '\0';
		if (isalpha((unsigned char)w[0])) {
			if (parse_days(w, &add, err, errlen) != GW_OK)
				return GW_EINVAL;
			mask = after_day ? mask | add : add;
			after_day = 1;
			memcpy(lastday, w, n + 1);
			continue;
		}
		if (!isdigit((unsigned char)w[0])) {
			set_err(err, errlen, "hours: '%s': expected a day or a time range", w);
			return GW_EINVAL;
		}
		if (!mask) {
			set_err(err, errlen, "hours: '%s': no day before this range", w);
			return GW_EINVAL;
		}
		if (parse_span(w, &a, &b, err, errlen) != GW_OK)
			return GW_EINVAL;
		for (int d = 0; d < 7; d++)
			if (mask & (1u << d))
				memset(&map[d][a], 1, (size_t)(b - a));
		after_day = 0;
	}
	if (words == 0) {
		set_err(err, errlen, "hours: empty");
		return GW_EINVAL;
	}
	if (after_day) {
		set_err(err, errlen, "hours: '%s': no time range follows", lastday);
		return GW_EINVAL;
	}
	return GW_OK;
}

/* Whether `s` is `word` alone (any case), blanks around allowed. */
static int is_only(const char *s, const char *word)
{
	size_t n = strlen(word);

	while (isspace((unsigned char)*s))
		s++;
	if (strncasecmp(s, word, n) != 0)
		return 0;
	for (s += n; isspace((unsigned char)*s); s++)
		;
	return *s == '\0';
}

static int parse_hours(struct cal *c, const char *hours, char *err, size_t errlen)
{
	uint8_t(*map)[1440] = NULL;
	int rc;

	if (!hours) {
		set_err(err, errlen, "hours: empty");
		return GW_EINVAL;
	}
	map = calloc(7, sizeof(*map));
	if (!map) {
		set_err(err, errlen, "hours: out of memory");
		return GW_ENOMEM;
	}
	if (is_only(hours, "24/7")) {
		memset(map, 1, 7 * sizeof(*map));
		rc = GW_OK;
	} else if (is_only(hours, "closed")) {
		rc = GW_OK; /* the map stays empty */
	} else {
		rc = parse_words(hours, map, err, errlen);
	}
	if (rc == GW_OK)
		rc = ranges_from_map(c, (const uint8_t(*)[1440])map, err, errlen);
	free(map);
	return rc;
}

/* The week list: every day's ranges in order, joined across midnights. */
static void build_week(struct cal *c)
{
	c->nweek = 0;
	c->week_open_ms = 0;
	for (int d = 0; d < 7; d++) {
		for (int i = 0; i < c->nday[d]; i++) {
			uint16_t s = (uint16_t)(d * 1440 + c->day[d][i].start);
			uint16_t e = (uint16_t)(d * 1440 + c->day[d][i].end);

			if (c->nweek > 0 && c->week[c->nweek - 1].end == s)
				c->week[c->nweek - 1].end = e;
			else
				c->week[c->nweek++] = (struct cal_range){s, e};
			c->week_open_ms += (int64_t)(e - s) * MIN_MS;
		}
	}
}

static int load_zone(struct cal *c, const char *tz, char *err, size_t errlen)
{
	int rc = tz_load(tz, &c->zone);

	switch (rc) {
	case GW_OK:
		return GW_OK;
	case GW_ENOMEM:
		set_err(err, errlen, "timezone: out of memory");
		return GW_ENOMEM;
	case GW_ENOTFOUND:
		set_err(err, errlen, "timezone: '%s' is not a known time zone", tz);
		return GW_EINVAL;
	case GW_EPROTO:
		set_err(err, errlen, "timezone: '%s': not a valid zone file", tz);
		return GW_EINVAL;
	default:
		set_err(err, errlen, "timezone: '%s': cannot read the zone file", tz);
		return GW_EINVAL;
	}
}

int cal_parse(const char *tz, const char *hours, struct cal **out, char *err, size_t errlen)
{
	struct cal *c = NULL;
	int rc;

	*out = NULL;
	set_err(err, errlen, "%s", "");
	c = calloc(1, sizeof(*c));
	if (!c) {
		set_err(err, errlen, "out of memory");
		rc = GW_ENOMEM;
		goto out;
	}
	rc = parse_hours(c, hours, err, errlen);
	if (rc == GW_OK)
		rc = load_zone(c, tz, err, errlen);
	if (rc != GW_OK)
		goto out;
	build_week(c);
	*out = c;
	c = NULL;
out:
	cal_free(c);
	return rc;
}

void cal_free(struct cal *c)
{
	if (!c)
		return;
	tz_free(c->zone);
	free(c);
}

/* ---- walking ---- */

/*
 * At `pos` ms into the local week: whether open, and the position (possibly
 * in the next week) where that changes. Not for never/always-open weeks.
 */
static int week_state(const struct cal *c, int64_t pos, int64_t *edge)
{
	int lo = 0, hi = c->nweek;

	while (lo < hi) { /* first range ending after pos */
		int mid = lo + (hi - lo) / 2;

		if (c->week[mid].end * MIN_MS > pos)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo == c->nweek) {
		*edge = WEEK_MS + c->week[0].start * MIN_MS;
		return 0;
	}
	if (c->week[lo].start * MIN_MS > pos) {
		*edge = c->week[lo].start * MIN_MS;
		return 0;
	}
	*edge = c->week[lo].end * MIN_MS;
	/* open through Sunday midnight into Monday's first range */
	if (c->week[lo].end == WEEK_MIN && c->week[0].start == 0)
		*edge = WEEK_MS + c->week[0].end * MIN_MS;
	return 1;
}

/* Local ms into the week (Monday 00:00 = 0); 1970-01-01 was a Thursday. */
static int64_t week_pos(int64_t t, int32_t off)
{
	return floor_mod(t + off * 1000LL + 3 * DAY_MS, WEEK_MS);
}

static int32_t offset_at(const struct cal *c, int64_t t, int64_t *seg_end)
{
	int64_t next_s;
	int32_t off = tz_offset_at(c->zone, t >= 0 ? t / 1000 : -((999 - t) / 1000), &next_s);

	if (seg_end)
		*seg_end = next_s > CAL_T_MAX / 1000 ? INT64_MAX : next_s * 1000;
	return off;
}

/* The piece starting at `t` (CAL_T_MIN <= t <= CAL_T_MAX); 0 < week open < week. */
static void piece_at(const struct cal *c, int64_t t, struct cal_piece *p)
{
	int32_t off = offset_at(c, t, &p->seg_end);
	int64_t pos = week_pos(t, off), edge;

	p->open = week_state(c, pos, &edge);
	p->end = t + (edge - pos);
	if (p->end > p->seg_end)
		p->end = p->seg_end;
}

/* Whole weeks that can be skipped from `t`: the offset stays the same for
 * all of them, and they end no later than `limit`. */
static int64_t whole_weeks(int64_t t, int64_t seg_end, int64_t limit)
{
	int64_t end = seg_end < limit ? seg_end : limit;

	return end > t ? (end - t) / WEEK_MS : 0;
}

int cal_is_open(const struct cal *c, int64_t t_ms)
{
	int64_t t = clamp_t(t_ms), edge;

	if (c->week_open_ms == 0 || c->week_open_ms == WEEK_MS)
		return c->week_open_ms != 0;
	return week_state(c, week_pos(t, offset_at(c, t, NULL)), &edge);
}

int64_t cal_add(const struct cal *c, int64_t start_ms, int64_t business_ms)
{
	int64_t t = clamp_t(start_ms), left = business_ms > 0 ? business_ms : 0;
	struct cal_piece p;

	if (c->week_open_ms == 0 || start_ms >= CAL_T_MAX)
		return INT64_MAX;
	if (c->week_open_ms == WEEK_MS)
		return left > CAL_T_MAX - t ? INT64_MAX : t + left;
	for (long step = 0; step < CAL_MAX_STEPS && t < CAL_T_MAX; step++) {
		piece_at(c, t, &p);
		if (left > c->week_open_ms) {
			/* leave at least a moment, so an end at a closing stays there */
			int64_t k = whole_weeks(t, p.seg_end, CAL_T_MAX + WEEK_MS);

			if (k > (left - 1) / c->week_open_ms)
				k = (left - 1) / c->week_open_ms;
			if (k > 0) {
				t += k * WEEK_MS;
				left -= k * c->week_open_ms;
				continue;
			}
		}
		if (p.open && left <= p.end - t)
			return t + left;
		if (p.open)
			left -= p.end - t;
		t = p.end;
	}
	return INT64_MAX;
}

int64_t cal_between(const struct cal *c, int64_t from_ms, int64_t to_ms)
{
	int64_t t = clamp_t(from_ms), to = clamp_t(to_ms), total = 0;
	struct cal_piece p;

	if (to <= t || c->week_open_ms == 0)
		return 0;
	if (c->week_open_ms == WEEK_MS)
		return to - t;
	for (long step = 0; step < CAL_MAX_STEPS && t < to; step++) {
		int64_t k, end;

		piece_at(c, t, &p);
		k = whole_weeks(t, p.seg_end, to);
		if (k > 0) {
			t += k * WEEK_MS;
			total += k * c->week_open_ms;
			continue;
		}
		end = p.end < to ? p.end : to;
		if (p.open)
			total += end - t;
		t = end;
	}
	return total;
}

int64_t cal_next_change(const struct cal *c, int64_t t_ms)
{
	int64_t t = clamp_t(t_ms);
	struct cal_piece p;
	int open;

	if (c->week_open_ms == 0 || c->week_open_ms == WEEK_MS || t_ms >= CAL_T_MAX)
		return INT64_MAX;
	piece_at(c, t, &p);
	open = p.open;
	/* an offset transition may end a piece without changing the state */
	for (long step = 0; step < CAL_MAX_STEPS && p.end < CAL_T_MAX; step++) {
		t = p.end;
		piece_at(c, t, &p);
		if (p.open != open)
			return t;
	}
	return INT64_MAX;
}

void cal_local(const struct cal *c, int64_t t_ms, int *weekday, int *minute, int *utc_offset_s)
{
	int64_t t = clamp_t(t_ms);
	int32_t off = offset_at(c, t, NULL);
	int64_t pos = week_pos(t, off);

	if (weekday)
		*weekday = (int)(pos / DAY_MS);
	if (minute)
		*minute = (int)(pos % DAY_MS / MIN_MS);
	if (utc_offset_s)
		*utc_offset_s = off;
}

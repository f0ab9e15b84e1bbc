/* test_calendar.c - working hours in a time zone (core/calendar.c) and the
 * TZif reader under it (core/tzone.c). Expected instants are written as
 * local wall time next to their epoch milliseconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/calendar.h"
#include "core/err.h"
#include "core/tzone.h"
#include "core/util.h"

#define HOUR_MS 3600000LL
#define MIN_MS 60000LL
#define DAY_MS (24 * HOUR_MS)
#define WEEK_MS (7 * DAY_MS)

#define OFFICE "mon-fri 09:00-18:00"

/* Europe/Paris, 2026 (DST from Sun 29 March 01:00 UTC) */
#define PAR_MON_0105_0900 1767600000000LL /* CET, +01:00 */
#define PAR_MON_0105_1000 1767603600000LL
#define PAR_MON_0105_1800 1767632400000LL
#define PAR_FRI_0109_1700 1767974400000LL
#define PAR_MON_0112_1000 1768208400000LL
#define PAR_MON_0323_1400 1774270800000LL
#define PAR_FRI_0327_1700 1774627200000LL
#define PAR_SAT_0328_0000 1774652400000LL
#define PAR_SUN_0329_0000 1774738800000LL
#define PAR_DST_START 1774746000000LL     /* 02:00 CET becomes 03:00 CEST */
#define PAR_MON_0330_0000 1774821600000LL /* CEST, +02:00 */
#define PAR_MON_0330_1000 1774857600000LL
#define PAR_TUE_0407_1500 1775566800000LL
#define PAR_MON_0706_0900 1783321200000LL
#define PAR_SUN_1025_0000 1792879200000LL
#define PAR_MON_1026_0000 1792969200000LL /* CET again */
/* Europe/Paris, 2090: past the file's last transition (2037), footer rules */
#define PAR_MON_2090_0102_0900 3787027200000LL
#define PAR_MON_2090_0703_0900 3802748400000LL
#define PAR_SUN_2090_0326_0000 3794166000000LL
#define PAR_DST_2090_START 3794173200000LL
#define PAR_MON_2090_0327_0000 3794248800000LL
/* America/New_York, 2026 (DST from Sun 8 March) */
#define NY_MON_0105_0900 1767621600000LL /* EST, -05:00 */
#define NY_FRI_0306_1700 1772834400000LL
#define NY_MON_0309_1000 1773064800000LL /* EDT, -04:00 */
#define NY_MON_0706_0900 1783342800000LL
/* Asia/Kolkata */
#define KOL_MON_0105_0900 1767583800000LL /* IST, +05:30 */

static struct cal *must_parse(const char *tz, const char *hours)
{
	struct cal *c = NULL;
	char err[256] = "";

	if (cal_parse(tz, hours, &c, err, sizeof(err)) != GW_OK)
		fail_msg("cal_parse(%s, %s): %s", tz ? tz : "NULL", hours, err);
	return c;
}

/* Parsing must fail with GW_EINVAL and an error naming `needle`. */
static void expect_error(const char *tz, const char *hours, const char *needle)
{
	struct cal *c = (struct cal *)1;
	char err[256] = "";

	assert_int_equal(cal_parse(tz, hours, &c, err, sizeof(err)), GW_EINVAL);
	assert_null(c);
	if (!strstr(err, needle))
		fail_msg("error for '%s' in '%s' is '%s', expected it to name '%s'", hours,
			 tz ? tz : "NULL", err, needle);
}

static void expect_local(const struct cal *c, int64_t t, int wday, int minute, int off)
{
	int w = -1, m = -1, o = -1;

	cal_local(c, t, &w, &m, &o);
	assert_int_equal(w, wday);
	assert_int_equal(m, minute);
	assert_int_equal(o, off);
}

static void parse_errors_name_the_token(void **state)
{
	(void)state;
	expect_error("Europe/Paris", "mon-fry 09:00-18:00", "unknown day 'fry'");
	expect_error("Europe/Paris", "mon-fry 09:00-18:00", "'mon-fry'");
	expect_error("Europe/Paris", "monday 09:00-18:00", "unknown day 'monday'");
	expect_error("Europe/Paris", "mon 09:00-25:00", "bad time '25:00'");
	expect_error("Europe/Paris", "mon 9h-18:00", "bad time '9h'");
	expect_error("Europe/Paris", "mon 09:60-18:00", "bad time '09:60'");
	expect_error("Europe/Paris", "mon 24:30-24:00", "bad time '24:30'");
	expect_error("Europe/Paris", "mon 09:00", "'09:00': expected a range");
	expect_error("Europe/Paris", "mon 18:00-09:00", "'18:00-09:00': start is not before end");
	expect_error("Europe/Paris", "mon 09:00-09:00", "start is not before end");
	expect_error("Europe/Paris", "", "hours: empty");
	expect_error("Europe/Paris", " ;, ", "hours: empty");
	expect_error("Europe/Paris", NULL, "hours: empty");
	expect_error("Europe/Paris", "09:00-18:00", "'09:00-18:00': no day before");
	expect_error("Europe/Paris", "mon-fri 09:00-18:00; sat", "'sat': no time range follows");
	expect_error("Europe/Paris", "mon *09:00-18:00", "'*09:00-18:00'");
}

static void unknown_zones_are_refused(void **state)
{
	(void)state;
	expect_error("Europe/Pariss", OFFICE,
		     "timezone: 'Europe/Pariss' is not a known time zone");
	/* outside the database, a folder, a file of the database that is not a zone */
	expect_error("../../../etc/passwd", OFFICE, "'../../../etc/passwd' is not a known");
	expect_error("Europe/../Europe/Paris", OFFICE, "is not a known time zone");
	expect_error("/usr/share/zoneinfo/Europe/Paris", OFFICE, "is not a known time zone");
	expect_error("Europe", OFFICE, "'Europe' is not a known time zone");
	expect_error("zone.tab", OFFICE, "'zone.tab': not a valid zone file");
}

static void tzdir_is_honoured(void **state)
{
	(void)state;
	assert_int_equal(setenv("TZDIR", "/nonexistent-zoneinfo", 1), 0);
	expect_error("Europe/Paris", OFFICE, "'Europe/Paris' is not a known time zone");
	assert_int_equal(unsetenv("TZDIR"), 0);
	cal_free(must_parse("Europe/Paris", OFFICE));
}

static void utc_needs_no_file(void **state)
{
	const char *names[] = {NULL, "", "UTC"};

	(void)state;
	assert_int_equal(setenv("TZDIR", "/nonexistent-zoneinfo", 1), 0);
	for (size_t i = 0; i < 3; i++) {
		struct cal *c = must_parse(names[i], OFFICE);

		/* Monday 2026-01-05 09:00 UTC */
		assert_true(cal_is_open(c, 1767603600000LL));
		assert_false(cal_is_open(c, 1767603600000LL - 1));
		expect_local(c, 1767603600000LL, 0, 9 * 60, 0);
		cal_free(c);
	}
	assert_int_equal(unsetenv("TZDIR"), 0);
	cal_free(NULL);
}

static void always_open(void **state)
{
	struct cal *c = must_parse("Europe/Paris", " 24/7 ");

	(void)state;
	for (int64_t t = PAR_SAT_0328_0000; t < PAR_MON_0330_0000; t += 7 * MIN_MS)
		assert_true(cal_is_open(c, t));
	assert_int_equal(cal_add(c, PAR_SAT_0328_0000, 5 * HOUR_MS),
			 PAR_SAT_0328_0000 + 5 * HOUR_MS);
	/* a weekend with the spring change is 47 real hours */
	assert_int_equal(cal_between(c, PAR_SAT_0328_0000, PAR_MON_0330_0000), 47 * HOUR_MS);
	assert_int_equal(cal_next_change(c, PAR_SAT_0328_0000), INT64_MAX);
	cal_free(c);
}

static void never_open(void **state)
{
	struct cal *c = must_parse("Europe/Paris", "closed");

	(void)state;
	assert_false(cal_is_open(c, PAR_MON_0105_1000));
	assert_int_equal(cal_add(c, PAR_MON_0105_1000, 0), INT64_MAX);
	assert_int_equal(cal_add(c, PAR_MON_0105_1000, HOUR_MS), INT64_MAX);
	assert_int_equal(cal_between(c, PAR_MON_0105_0900, PAR_MON_0706_0900), 0);
	assert_int_equal(cal_next_change(c, PAR_MON_0105_1000), INT64_MAX);
	cal_free(c);
}

static void paris_monday_morning(void **state)
{
	struct cal *c = must_parse("Europe/Paris", OFFICE);

	(void)state;
	/* winter: 09:00 CET is 08:00 UTC */
	assert_true(cal_is_open(c, PAR_MON_0105_0900));
	assert_false(cal_is_open(c, PAR_MON_0105_0900 - 1));
	assert_true(cal_is_open(c, PAR_MON_0105_1800 - 1));
	assert_false(cal_is_open(c, PAR_MON_0105_1800));
	expect_local(c, PAR_MON_0105_0900, 0, 9 * 60, 3600);
	/* summer: 09:00 CEST is 07:00 UTC */
	assert_true(cal_is_open(c, PAR_MON_0706_0900));
	assert_false(cal_is_open(c, PAR_MON_0706_0900 - 1));
	expect_local(c, PAR_MON_0706_0900, 0, 9 * 60, 7200);
	/* the weekend is closed */
	assert_false(cal_is_open(c, PAR_SAT_0328_0000 + 12 * HOUR_MS));
	expect_local(c, PAR_SAT_0328_0000 + 12 * HOUR_MS, 5, 12 * 60, 3600);
	cal_free(c);
}

static void add_across_weekend_and_dst(void **state)
{
	struct cal *c = must_parse("Europe/Paris", OFFICE);

	(void)state;
	/* Friday 17:00 + 2h: one on Friday, one on Monday */
	assert_int_equal(cal_add(c, PAR_FRI_0109_1700, 2 * HOUR_MS), PAR_MON_0112_1000);
	/* the same over the weekend where clocks move forward */
	assert_int_equal(cal_add(c, PAR_FRI_0327_1700, 2 * HOUR_MS), PAR_MON_0330_1000);
	expect_local(c, PAR_MON_0330_1000, 0, 10 * 60, 7200);
	/* exactly the day's remaining time ends at the closing, not the next opening */
	assert_int_equal(cal_add(c, PAR_MON_0105_1000, 8 * HOUR_MS), PAR_MON_0105_1800);
	/* whole weeks of work end at the last closing, not the next opening */
	assert_int_equal(cal_add(c, PAR_MON_0105_0900, 90 * HOUR_MS),
			 PAR_MON_0105_1800 + 11 * DAY_MS);
	/* 500 business hours = 11 weeks of 45h + 5h, within winter time */
	assert_int_equal(cal_add(c, PAR_MON_0105_0900, 500 * HOUR_MS), PAR_MON_0323_1400);
	/* 600 = 13 weeks + 15h, across the change */
	assert_int_equal(cal_add(c, PAR_MON_0105_0900, 600 * HOUR_MS), PAR_TUE_0407_1500);
	cal_free(c);
}

static void add_zero(void **state)
{
	struct cal *c = must_parse("Europe/Paris", OFFICE);

	(void)state;
	assert_int_equal(cal_add(c, PAR_MON_0105_1000, 0), PAR_MON_0105_1000);
	assert_int_equal(cal_add(c, PAR_MON_0105_0900, 0), PAR_MON_0105_0900);
	/* closed: the next opening (Monday 09:00 CET after a Saturday) */
	assert_int_equal(cal_add(c, PAR_SAT_0328_0000, 0), PAR_MON_0330_0000 + 9 * HOUR_MS);
	assert_int_equal(cal_add(c, PAR_MON_0105_1800, 0), PAR_MON_0105_0900 + DAY_MS);
	assert_int_equal(cal_add(c, PAR_MON_0105_1000, -5), PAR_MON_0105_1000);
	cal_free(c);
}

static void local_days_of_23_and_25_hours(void **state)
{
	struct cal *c = must_parse("Europe/Paris", "sun 00:00-24:00");
	struct cal *night = must_parse("Europe/Paris", "sun 02:00-04:00");

	(void)state;
	assert_int_equal(cal_between(c, PAR_SAT_0328_0000, PAR_MON_0330_0000), 23 * HOUR_MS);
	assert_int_equal(cal_between(c, PAR_SUN_1025_0000 - DAY_MS, PAR_MON_1026_0000),
			 25 * HOUR_MS);
	assert_int_equal(cal_add(c, PAR_SUN_0329_0000, 23 * HOUR_MS), PAR_MON_0330_0000);
	/* 02:00-03:00 does not exist that night: open from 03:00 CEST */
	assert_false(cal_is_open(night, PAR_DST_START - 1));
	assert_true(cal_is_open(night, PAR_DST_START));
	assert_int_equal(cal_next_change(night, PAR_SUN_0329_0000), PAR_DST_START);
	assert_int_equal(cal_next_change(night, PAR_DST_START), PAR_DST_START + HOUR_MS);
	assert_int_equal(cal_between(night, PAR_SUN_0329_0000, PAR_MON_0330_0000), HOUR_MS);
	/* in autumn 02:00-03:00 happens twice */
	assert_int_equal(cal_between(night, PAR_SUN_1025_0000, PAR_MON_1026_0000), 3 * HOUR_MS);
	cal_free(c);
	cal_free(night);
}

static void between_mirrors_add(void **state)
{
	const char *zones[] = {"Europe/Paris", "America/New_York", "Asia/Kolkata"};
	const int64_t amounts[] = {1, MIN_MS, HOUR_MS, 9 * HOUR_MS, 45 * HOUR_MS,
				   500 * HOUR_MS, 4000 * HOUR_MS};

	(void)state;
	for (size_t z = 0; z < 3; z++) {
		struct cal *c =
			must_parse(zones[z], "mon-fri 08:30-12:00, 13:00-17:45; sat 10:00-12:00");

		for (int64_t s = PAR_FRI_0327_1700 - 3 * DAY_MS; s < PAR_MON_0330_1000;
		     s += 5 * HOUR_MS + 7 * MIN_MS) {
			for (size_t i = 0; i < sizeof(amounts) / sizeof(amounts[0]); i++) {
				int64_t end = cal_add(c, s, amounts[i]);

				assert_true(end > s);
				assert_true(cal_is_open(c, end - 1));
				assert_int_equal(cal_between(c, s, end), amounts[i]);
			}
		}
		assert_int_equal(cal_between(c, PAR_MON_0105_1000, PAR_MON_0105_0900), 0);
		cal_free(c);
	}
}

/* The walks against business time counted minute by minute with cal_is_open. */
static void walks_agree_with_minute_count(void **state)
{
	const char *hours = "fri-mon 22:00-24:00, 00:00-01:30; sun 02:30-03:30; wed 12:00-12:01";
	struct cal *c = must_parse("Europe/Paris", hours);
	int64_t from = PAR_MON_0323_1400 - 3 * DAY_MS + 17 * MIN_MS, total = 0;
	long n = 0;

	(void)state;
	/* six weeks over the spring change, checked every 9h11m */
	for (int64_t t = from; t < from + 6 * WEEK_MS; t += MIN_MS, n++) {
		if (n % 551 == 0) {
			assert_int_equal(cal_between(c, from, t), total);
			if (total > 0)
				assert_int_equal(cal_between(c, from, cal_add(c, from, total)),
						 total);
		}
		total += cal_is_open(c, t) ? MIN_MS : 0;
	}
	cal_free(c);
}

static void new_york(void **state)
{
	struct cal *c = must_parse("America/New_York", OFFICE);

	(void)state;
	assert_true(cal_is_open(c, NY_MON_0105_0900));
	assert_false(cal_is_open(c, NY_MON_0105_0900 - 1));
	expect_local(c, NY_MON_0105_0900, 0, 9 * 60, -18000);
	assert_true(cal_is_open(c, NY_MON_0706_0900));
	assert_false(cal_is_open(c, NY_MON_0706_0900 - 1));
	expect_local(c, NY_MON_0706_0900, 0, 9 * 60, -14400);
	/* over the weekend of 8 March, when New York moves to EDT */
	assert_int_equal(cal_add(c, NY_FRI_0306_1700, 2 * HOUR_MS), NY_MON_0309_1000);
	assert_int_equal(cal_between(c, NY_FRI_0306_1700, NY_MON_0309_1000), 2 * HOUR_MS);
	cal_free(c);
}

static void kolkata_half_hour_offset(void **state)
{
	struct cal *c = must_parse("Asia/Kolkata", OFFICE);

	(void)state;
	assert_true(cal_is_open(c, KOL_MON_0105_0900));
	assert_false(cal_is_open(c, KOL_MON_0105_0900 - 1));
	expect_local(c, KOL_MON_0105_0900, 0, 9 * 60, 19800);
	/* 03:30 UTC on Monday is 09:00 IST */
	assert_int_equal(KOL_MON_0105_0900 % DAY_MS, 3 * HOUR_MS + 30 * MIN_MS);
	assert_int_equal(cal_next_change(c, KOL_MON_0105_0900), KOL_MON_0105_0900 + 9 * HOUR_MS);
	cal_free(c);
}

static void far_future_follows_footer_rule(void **state)
{
	struct cal *c = must_parse("Europe/Paris", OFFICE);
	struct cal *sun = must_parse("Europe/Paris", "sun 00:00-24:00");
	int64_t done;

	(void)state;
	assert_true(cal_is_open(c, PAR_MON_2090_0102_0900));
	assert_false(cal_is_open(c, PAR_MON_2090_0102_0900 - 1));
	expect_local(c, PAR_MON_2090_0102_0900, 0, 9 * 60, 3600);
	assert_true(cal_is_open(c, PAR_MON_2090_0703_0900));
	assert_false(cal_is_open(c, PAR_MON_2090_0703_0900 - 1));
	expect_local(c, PAR_MON_2090_0703_0900, 0, 9 * 60, 7200);
	/* last Sunday of March 2090, 01:00 UTC */
	expect_local(c, PAR_DST_2090_START - 1, 6, 1 * 60 + 59, 3600);
	expect_local(c, PAR_DST_2090_START, 6, 3 * 60, 7200);
	assert_int_equal(cal_between(sun, PAR_SUN_2090_0326_0000, PAR_MON_2090_0327_0000),
			 23 * HOUR_MS);
	/* walking there from 2026 skips whole weeks between transitions */
	done = cal_between(c, PAR_MON_0105_0900, PAR_MON_2090_0703_0900);
	assert_int_equal(done % (9 * HOUR_MS), 0);
	done = cal_between(c, PAR_MON_0105_0900, PAR_MON_2090_0703_0900 + HOUR_MS);
	assert_int_equal(cal_add(c, PAR_MON_0105_0900, done), PAR_MON_2090_0703_0900 + HOUR_MS);
	cal_free(c);
	cal_free(sun);
}

static void next_change(void **state)
{
	struct cal *c = must_parse("Europe/Paris", "mon-fri 09:00-12:30, 13:30-18:00");
	struct cal *late = must_parse("Europe/Paris", "mon 20:00-24:00; tue 00:00-02:00");
	struct cal *week = must_parse("UTC", "sat, sun 10:00-14:00; fri-mon 00:00-24:00");

	(void)state;
	assert_int_equal(cal_next_change(c, PAR_MON_0105_1000),
			 PAR_MON_0105_0900 + 3 * HOUR_MS + 30 * MIN_MS);
	assert_int_equal(cal_next_change(c, PAR_MON_0105_0900 + 3 * HOUR_MS + 30 * MIN_MS),
			 PAR_MON_0105_0900 + 4 * HOUR_MS + 30 * MIN_MS);
	/* at the closing itself, the change is the next opening */
	assert_int_equal(cal_next_change(c, PAR_MON_0105_1800), PAR_MON_0105_0900 + DAY_MS);
	assert_int_equal(cal_next_change(c, PAR_MON_0105_0900 - 1), PAR_MON_0105_0900);
	/* Friday evening: Monday morning, across the spring change */
	assert_int_equal(cal_next_change(c, PAR_FRI_0327_1700 + 2 * HOUR_MS),
			 PAR_MON_0330_0000 + 9 * HOUR_MS);
	/* midnight inside an open stretch is no change */
	assert_int_equal(cal_next_change(late, PAR_MON_0105_0900 + 12 * HOUR_MS),
			 PAR_MON_0105_0900 + 17 * HOUR_MS);
	/* "fri-mon" wraps and merges with sat/sun, open from Fri 00:00 to Tue 00:00 UTC */
	assert_int_equal(cal_next_change(week, PAR_SAT_0328_0000),
			 PAR_SAT_0328_0000 + 3 * DAY_MS + HOUR_MS);
	assert_int_equal(cal_between(week, PAR_SAT_0328_0000 - 2 * DAY_MS,
				     PAR_SAT_0328_0000 + 5 * DAY_MS),
			 4 * DAY_MS);
	cal_free(c);
	cal_free(late);
	cal_free(week);
}

static void ranges_merge(void **state)
{
	struct cal *c =
		must_parse("UTC", "MON 09:00-12:00, 11:00-13:00 9:30-10:00; mon 13:00-14:00");
	int64_t mon = 1767571200000LL; /* Monday 2026-01-05 00:00 UTC */

	(void)state;
	assert_int_equal(cal_between(c, mon, mon + DAY_MS), 5 * HOUR_MS);
	assert_int_equal(cal_next_change(c, mon + 9 * HOUR_MS), mon + 14 * HOUR_MS);
	assert_int_equal(cal_next_change(c, mon + 14 * HOUR_MS), mon + WEEK_MS + 9 * HOUR_MS);
	cal_free(c);
	/* day specs in a row add up */
	c = must_parse("UTC", "sat, sun 10:00-14:00");
	assert_int_equal(cal_between(c, mon, mon + WEEK_MS), 8 * HOUR_MS);
	assert_true(cal_is_open(c, mon + 5 * DAY_MS + 10 * HOUR_MS));
	cal_free(c);
}

static void tzif_reader_checks_files(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	struct tz_zone *z = NULL;
	/* a version 1 file: one transition at 1000 s to type 1 (+02:00) */
	static const uint8_t v1[] = {
		'T', 'Z', 'i', 'f', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4,
		0, 0, 0x03, 0xe8, 1,
		0, 0, 0x0e, 0x10, 0, 0, /* +01:00 */
		0, 0, 0x1c, 0x20, 1, 0, /* +02:00 */
		'A', 0, 'B', 0};
	int64_t next = 0;

	(void)state;
	assert_int_equal(tz_parse_tzif(v1, sizeof(v1), &z), GW_OK);
	assert_int_equal(tz_offset_at(z, 999, &next), 3600);
	assert_int_equal(next, 1000);
	assert_int_equal(tz_offset_at(z, 1000, &next), 7200);
	assert_int_equal(next, INT64_MAX);
	tz_free(z);
	assert_int_equal(tz_parse_tzif(v1, sizeof(v1) - 1, &z), GW_EPROTO);
	assert_null(z);

	assert_int_equal(gw_read_file("/usr/share/zoneinfo/Europe/Paris", 1 << 20, &buf, &len),
			 GW_OK);
	assert_int_equal(tz_parse_tzif((uint8_t *)buf, len, &z), GW_OK);
	tz_free(z);
	/* no closing newline after the footer */
	assert_int_equal(tz_parse_tzif((uint8_t *)buf, len - 1, &z), GW_EPROTO);
	buf[0] = 'X';
	assert_int_equal(tz_parse_tzif((uint8_t *)buf, len, &z), GW_EPROTO);
	free(buf);
}

/* A version 2 file with no transitions and one UTC type, then `footer`. */
static struct tz_zone *footer_zone(const char *footer, int expect_rc)
{
	uint8_t buf[256] = {0};
	size_t n = 0, flen = strlen(footer);
	struct tz_zone *z = NULL;

	for (int part = 0; part < 2; part++) {
		memcpy(buf + n, "TZif2", 5);
		buf[n + 39] = 1; /* typecnt */
		buf[n + 43] = 1; /* charcnt */
		n += 44 + 6 + 1; /* header, one type (UTC), one designation byte */
	}
	buf[n++] = '\n';
	memcpy(buf + n, footer, flen);
	n += flen;
	buf[n++] = '\n';
	assert_int_equal(tz_parse_tzif(buf, n, &z), expect_rc);
	return z;
}

static void expect_change(const struct tz_zone *z, int64_t at, int32_t before, int32_t after)
{
	int64_t next = 0;

	assert_int_equal(tz_offset_at(z, at - 1, &next), before);
	assert_int_equal(next, at);
	assert_int_equal(tz_offset_at(z, at, NULL), after);
}

static void footer_rule_forms(void **state)
{
	struct tz_zone *z;
	int64_t next = 0;

	(void)state;
	/* no rule: the US rules at the default 02:00 */
	z = footer_zone("EST5EDT", GW_OK);
	expect_change(z, 1772953200, -18000, -14400); /* 2026-03-08 07:00 UTC */
	expect_change(z, 1793512800, -14400, -18000); /* 2026-11-01 06:00 UTC */
	tz_free(z);
	/* Jn never counts 29 February, n does; times given after '/' */
	z = footer_zone("XXX-3YYY,J60/3,300", GW_OK);
	expect_change(z, 1772323200, 10800, 14400); /* 2026-03-01 03:00 local */
	expect_change(z, 1793138400, 14400, 10800); /* 2026-10-28 02:00 local */
	expect_change(z, 1835481600, 10800, 14400); /* 2028-03-01 */
	expect_change(z, 1856210400, 14400, 10800); /* 2028-10-27 */
	tz_free(z);
	/* negative DST, as Europe/Dublin: the standard offset is the summer one */
	z = footer_zone("IST-1GMT0,M10.5.0,M3.5.0/1", GW_OK);
	expect_change(z, 1774746000, 0, 3600);
	expect_change(z, 1792890000, 3600, 0);
	tz_free(z);
	z = footer_zone("<+0530>-5:30", GW_OK);
	assert_int_equal(tz_offset_at(z, 1774746000, &next), 19800);
	assert_int_equal(next, INT64_MAX);
	tz_free(z);
	z = footer_zone("", GW_OK);
	assert_int_equal(tz_offset_at(z, 1774746000, &next), 0);
	assert_int_equal(next, INT64_MAX);
	tz_free(z);
	assert_null(footer_zone("EST5EDT,M13.1.0,M11.1.0", GW_EPROTO));
	assert_null(footer_zone("EST5EDT,J0,J365", GW_EPROTO));
	assert_null(footer_zone("EST5EDT,M3.2.0", GW_EPROTO));
	assert_null(footer_zone("EST", GW_EPROTO));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_errors_name_the_token),
		cmocka_unit_test(unknown_zones_are_refused),
		cmocka_unit_test(tzdir_is_honoured),
		cmocka_unit_test(utc_needs_no_file),
		cmocka_unit_test(always_open),
		cmocka_unit_test(never_open),
		cmocka_unit_test(paris_monday_morning),
		cmocka_unit_test(add_across_weekend_and_dst),
		cmocka_unit_test(add_zero),
		cmocka_unit_test(local_days_of_23_and_25_hours),
		cmocka_unit_test(between_mirrors_add),
		cmocka_unit_test(walks_agree_with_minute_count),
		cmocka_unit_test(new_york),
		cmocka_unit_test(kolkata_half_hour_offset),
		cmocka_unit_test(far_future_follows_footer_rule),
		cmocka_unit_test(next_change),
		cmocka_unit_test(ranges_merge),
		cmocka_unit_test(tzif_reader_checks_files),
		cmocka_unit_test(footer_rule_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

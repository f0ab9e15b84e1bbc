/*
 * calendar.h - working hours in a time zone, and time counted in them.
 *
 * A calendar is a time zone (an IANA name from the system's tz database,
 * e.g. "Europe/Paris"; "UTC" when none) and a weekly schedule written as
 * text, one or more ranges separated by ';' or ',':
 *     "mon-fri 09:00-18:00"
 *     "mon-fri 09:00-12:30, 13:30-18:00; sat 10:00-14:00"
 *     "24/7"                    (always open)
 *     "closed"                  (never open, e.g. while on leave)
 * Day names are mon tue wed thu fri sat sun, a day or a range "mon-fri"
 * (wrapping ranges such as "fri-mon" allowed), case-insensitive; a day spec
 * applies to the time ranges that follow it until the next day spec, and day
 * specs written one after another add up ("sat, sun 10:00-14:00"). Times
 * are HH:MM (or H:MM) 00:00..24:00, start < end (no range over midnight:
 * write two). Overlapping or touching ranges are merged; at most 32 ranges
 * a day remain.
 *
 * Business time is counted in milliseconds inside the open ranges, in local
 * time of the zone (so daylight-saving changes are followed: a local hour
 * skipped in spring is not worked, one repeated in autumn is worked twice).
 * Instants are handled up to the year 10000; answers past it are INT64_MAX.
 *
 * Threading: a parsed calendar is read-only and may be shared. Time zone
 * conversions do not touch the process's TZ or call tzset(): the zone file
 * is read once by cal_parse (TZif from /usr/share/zoneinfo, or
 * $TZDIR; see tzone.h), and conversions use its transitions.
 */
#ifndef GW_CALENDAR_H
#define GW_CALENDAR_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

struct cal;

/*
 * cal_parse - parses `hours` (see above) in zone `tz` (NULL or "" = UTC)
 * into *out (owned by the caller, freed with cal_free). GW_OK, or GW_EINVAL
 * with `err` (`errlen` bytes) saying what is wrong ("hours: 'mon-fry': unknown
 * day 'fry'", "timezone: 'Europe/Pariss' is not a known time zone"; a
 * zone name with "..", a leading '/', or that is not a zone file is not
 * known), GW_ENOMEM. *out is NULL on error. `err` may be NULL.
 */
GW_MUST_CHECK int cal_parse(const char *tz, const char *hours, struct cal **out, char *err, size_t errlen);

/* cal_free - accepts NULL. */
void cal_free(struct cal *c);

/* cal_is_open - whether `t_ms` (ms since the epoch) is inside working hours. */
GW_MUST_CHECK int cal_is_open(const struct cal *c, int64_t t_ms);

/*
 * cal_add - the instant at which `business_ms` of working time have passed
 * since `start_ms` (counting only open time). With business_ms 0 it is
 * start_ms if open, else the next opening (a negative business_ms counts as
 * 0). A calendar that is never open returns INT64_MAX.
 */
int64_t cal_add(const struct cal *c, int64_t start_ms, int64_t business_ms);

/* cal_between - working time in ms between `from_ms` and `to_ms` (0 when
 * to <= from). */
int64_t cal_between(const struct cal *c, int64_t from_ms, int64_t to_ms);

/* cal_next_change - the next instant after `t_ms` at which cal_is_open
 * changes (opening or closing), INT64_MAX when it never does. The router
 * uses it to wake when an agent's working hours begin or end. */
int64_t cal_next_change(const struct cal *c, int64_t t_ms);

/* cal_local - local wall time of `t_ms` in the calendar's zone: weekday
 * (0 = Monday) and minute of the day; also the zone's UTC offset then in
 * seconds. For docs, logs and tests. */
void cal_local(const struct cal *c, int64_t t_ms, int *weekday, int *minute, int *utc_offset_s);

#endif

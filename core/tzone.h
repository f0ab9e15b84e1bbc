/*
 * tzone.h - a time zone read from the system's tz database (TZif files).
 *
 * A zone is loaded once from $TZDIR or /usr/share/zoneinfo and then only
 * read, so it may be shared between threads; nothing here touches the
 * process's TZ variable or calls tzset()/localtime(). Transitions come from
 * the file (the 64-bit section of version 2+ files when present); instants
 * after the last one follow the POSIX TZ string at the end of the file
 * ("CET-1CEST,M3.5.0,M10.5.0/3").
 */
#ifndef GW_TZONE_H
#define GW_TZONE_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

struct tz_zone;

/*
 * tz_load - loads the zone `name` ("Europe/Paris"; "UTC", NULL or "" need no
 * file) into *out (owned by the caller, freed with tz_free). Names with
 * "..", a leading '/', or that are not a regular file are refused.
 * GW_OK; GW_ENOTFOUND (no such zone, or a refused name), GW_EPROTO (the file
 * is not a valid TZif file, or uses leap seconds), GW_EIO, GW_ENOMEM.
 */
GW_MUST_CHECK int tz_load(const char *name, struct tz_zone **out);

/*
 * tz_parse_tzif - builds a zone from the `len` bytes of a TZif file at
 * `buf` (not kept) into *out (caller frees with tz_free). For tz_load and
 * tests. GW_OK, GW_EPROTO, GW_ENOMEM.
 */
GW_MUST_CHECK int tz_parse_tzif(const uint8_t *buf, size_t len, struct tz_zone **out);

/* tz_free - accepts NULL. */
void tz_free(struct tz_zone *z);

/*
 * tz_offset_at - the zone's UTC offset in seconds (east positive) at `t_s`
 * (seconds since the epoch), and in *next_s (may be NULL) the first instant
 * after `t_s` at which the offset may change, INT64_MAX when it never does.
 */
int32_t tz_offset_at(const struct tz_zone *z, int64_t t_s, int64_t *next_s);

#endif

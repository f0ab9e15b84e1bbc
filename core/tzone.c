/*
 * tzone.c - TZif reader and POSIX TZ rules (see tzone.h, tzfile(5), RFC 8536).
 *
 * Only UTC offsets are kept: the gateway counts working time in local wall
 * time, it never prints zone abbreviations. Files with leap-second records
 * ("right/" zones) are refused: their transition times are not POSIX times.
 */
#include "core/tzone.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/util.h"

#define TZ_FILE_MAX (1024u * 1024u)  /* the largest zone file is ~3 KiB */
#define TZ_FOOTER_MAX 128
#define TZ_OFF_MAX (26 * 3600)      /* sanity bound of a UTC offset */
#define TZ_T_LIMIT 10000000000000LL /* ~317,000 years: past it, no more changes */
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"

/* A POSIX TZ rule date: Jn (1..365, no Feb 29), n (0..365), Mm.w.d. */
struct tz_rule {
	char kind; /* 'J', 'N' or 'M' */
	int n, m, w, d;
	int32_t secs; /* local time of day of the change, may be <0 or >24h */
};

struct tz_posix {
	int32_t std_off, dst_off; /* UTC offsets, east positive */
	int has_dst;
	struct tz_rule start, end; /* start in standard time, end in DST */
};

struct tz_zone {
	size_t ntrans;
	int64_t *trans;   /* ascending transition instants, seconds */
	uint8_t *idx;     /* the local time type after each transition */
	size_t ntypes;
	int32_t *type_off; /* UTC offset of each local time type */
	int has_footer;
	struct tz_posix footer;
};

/* ---- civil calendar (proleptic Gregorian, days since 1970-01-01) ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t year_from_days(int64_t z)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	return yoe + era * 400 + (mp >= 10); /* months Jan, Feb end the shifted year */
}

/* ---- POSIX TZ string ---- */

/* Reads 1..maxdig digits as a number no larger than `max`. */
static const char *px_num(const char *p, int maxdig, int max, int *v)
{
	int n = 0, k = 0;

	if (!p)
		return NULL;
	while (k < maxdig && isdigit((unsigned char)p[k]))
		n = n * 10 + (p[k++] - '0');
	if (k == 0 || n > max)
		return NULL;
	*v = n;
	return p + k;
}

static const char *px_name(const char *p)
{
	const char *s = p;

	if (!p)
		return NULL;
	if (*p == '<') {
		s = ++p;
		while (*p && *p != '>')
			p++;
		return *p == '>' && p > s ? p + 1 : NULL;
	}
	while (isalpha((unsigned char)*p))
		p++;
	return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] with hh up to `maxh`, into seconds. */
static const char *px_time(const char *p, int maxh, int32_t *secs)
{
	int sign = 1, h = 0, m = 0, s = 0;

	if (!p)
		return NULL;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	p = px_num(p, 3, maxh, &h);
	if (p && *p == ':')
		p = px_num(p + 1, 2, 59, &m);
	if (p && *p == ':')
		p = px_num(p + 1, 2, 59, &s);
	if (p)
		*secs = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *px_rule(const char *p, struct tz_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->secs = 7200; /* POSIX: 02:00 when no /time */
	if (*p == 'J') {
		r->kind = 'J';
		p = px_num(p + 1, 3, 365, &r->n);
		if (p && r->n < 1)
			return NULL;
	} else if (*p == 'M') {
		r->kind = 'M';
		p = px_num(p + 1, 2, 12, &r->m);
		p = p && *p == '.' ? px_num(p + 1, 1, 5, &r->w) : NULL;
		p = p && *p == '.' ? px_num(p + 1, 1, 6, &r->d) : NULL;
		if (p && (r->m < 1 || r->w < 1))
			return NULL;
	} else {
		r->kind = 'N';
		p = px_num(p, 3, 365, &r->n);
	}
	if (p && *p == '/')
		p = px_time(p + 1, 167, &r->secs); /* RFC 8536 allows -167..167 hours */
	return p;
}

/* Parses a footer such as "CET-1CEST,M3.5.0,M10.5.0/3". GW_OK or GW_EPROTO. */
static int px_parse(const char *s, struct tz_posix *px)
{
	const char *p;
	int32_t off = 0;

	memset(px, 0, sizeof(*px));
	p = px_time(px_name(s), 24, &off);
	if (!p)
		return GW_EPROTO;
	px->std_off = px->dst_off = -off; /* POSIX offsets count west of Greenwich */
	if (*p == '\0')
		return GW_OK;
	px->has_dst = 1;
	p = px_name(p);
	if (p && *p && *p != ',') {
		p = px_time(p, 24, &off);
		px->dst_off = -off;
	} else {
		px->dst_off = px->std_off + 3600;
	}
	if (p && *p == '\0') /* no rule: the US rules, as tzcode assumes */
		p = ",M3.2.0,M11.1.0";
	p = p && *p == ',' ? px_rule(p + 1, &px->start) : NULL;
	p = p && *p == ',' ? px_rule(p + 1, &px->end) : NULL;
	return p && *p == '\0' ? GW_OK : GW_EPROTO;
}

/* The local instant (seconds, in the rule's own offset) of rule `r` in `y`. */
static int64_t rule_local(const struct tz_rule *r, int64_t y)
{
	int64_t day = days_from_civil(y, 1, 1);

	if (r->kind == 'J')
		day += r->n - 1 + (is_leap(y) && r->n >= 60);
	else if (r->kind == 'N')
		day += r->n;
	else {
		int64_t first = days_from_civil(y, r->m, 1);
		/* weekday, 0 = Sunday; 1970-01-01 was a Thursday */
		int wd = (int)(((first + 4) % 7 + 7) % 7);

		day = first + (r->d - wd + 7) % 7 + (int64_t)(r->w - 1) * 7;
		if (day >= first + days_in_month(y, r->m))
			day -= 7; /* week 5 means the last such day of the month */
	}
	return day * 86400 + r->secs;
}

/*
 * The footer's offset at `t` and its next change. Transitions of the years
 * around t's are compared, so rules near a year's end, southern-hemisphere
 * and negative DST (start after end in the year) need no special case. On a
 * tie (DST all year: one year's end is the next year's start) DST wins.
 */
static int32_t px_offset(const struct tz_posix *px, int64_t t, int64_t *next)
{
	int64_t y = year_from_days(floor_div(t, 86400)), best = INT64_MIN;
	int32_t off = px->std_off;

	*next = INT64_MAX;
	if (!px->has_dst)
		return off;
	for (int64_t yy = y - 1; yy <= y + 2; yy++) {
		int64_t e = rule_local(&px->end, yy) - px->dst_off;
		int64_t s = rule_local(&px->start, yy) - px->std_off;

		if (e <= t && e > best) {
			best = e;
			off = px->std_off;
		}
		if (s <= t && s >= best) {
			best = s;
			off = px->dst_off;
		}
		if (e > t && e < *next)
			*next = e;
		if (s > t && s < *next)
			*next = s;
	}
	return off;
}

/* ---- TZif ---- */

struct tzif_hdr {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static uint64_t tzif_block_size(const struct tzif_hdr *h, unsigned tsize)
{
	return (uint64_t)h->timecnt * (tsize + 1) + (uint64_t)h->typecnt * 6 + h->charcnt +
	       (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* Reads and checks the header at `off` whose data block uses `tsize`-byte times. */
static int tzif_hdr_read(const uint8_t *buf, size_t len, size_t off, unsigned tsize,
			 struct tzif_hdr *h)
{
	const uint8_t *p = buf + off;

	if (off > len || len - off < 44 || memcmp(p, "TZif", 4) != 0)
		return GW_EPROTO;
	h->version = (char)p[4];
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	if (h->typecnt == 0 || h->typecnt > 256 || h->leapcnt != 0 ||
	    (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt) ||
	    tzif_block_size(h, tsize) > len - off - 44)
		return GW_EPROTO;
	return GW_OK;
}

/* Copies the transitions and types of the data block at `p`. */
static int tzif_block_read(const uint8_t *p, const struct tzif_hdr *h, unsigned tsize,
			   struct tz_zone *z)
{
	const uint8_t *idx = p + (size_t)h->timecnt * tsize, *types = idx + h->timecnt;

	z->ntrans = h->timecnt;
	z->ntypes = h->typecnt;
	z->trans = calloc(h->timecnt ? h->timecnt : 1, sizeof(*z->trans));
	z->idx = calloc(h->timecnt ? h->timecnt : 1, 1);
	z->type_off = calloc(h->typecnt, sizeof(*z->type_off));
	if (!z->trans || !z->idx || !z->type_off)
		return GW_ENOMEM;
	for (size_t i = 0; i < h->typecnt; i++) {
		z->type_off[i] = (int32_t)be32(types + i * 6);
		if (z->type_off[i] < -TZ_OFF_MAX || z->type_off[i] > TZ_OFF_MAX)
			return GW_EPROTO;
	}
	for (size_t i = 0; i < h->timecnt; i++) {
		z->trans[i] = tsize == 8 ? be64(p + i * 8) : (int32_t)be32(p + i * 4);
		z->idx[i] = idx[i];
		if (idx[i] >= h->typecnt || (i > 0 && z->trans[i] <= z->trans[i - 1]))
			return GW_EPROTO;
	}
	return GW_OK;
}

/* The footer of a version 2+ file: "\nTZ string\n" at `off`; empty = none. */
static int tzif_footer_read(const uint8_t *buf, size_t len, size_t off, struct tz_zone *z)
{
	char s[TZ_FOOTER_MAX];
	size_t n = 0;

	if (off >= len || buf[off] != '\n')
		return GW_EPROTO;
	for (off++; off < len && buf[off] != '\n'; off++) {
		if (n + 1 >= sizeof(s))
			return GW_EPROTO;
		s[n++] = (char)buf[off];
	}
	if (off >= len)
		return GW_EPROTO;
	s[n] = '\0';
	if (n == 0)
		return GW_OK;
	z->has_footer = 1;
	return px_parse(s, &z->footer);
}

int tz_parse_tzif(const uint8_t *buf, size_t len, struct tz_zone **out)
{
	struct tz_zone *z = NULL;
	struct tzif_hdr h;
	size_t off = 0;
	unsigned tsize = 4;
	int rc;

	*out = NULL;
	rc = tzif_hdr_read(buf, len, 0, 4, &h);
	if (rc == GW_OK && h.version != '\0') {
		/* version 2+: skip the 32-bit data for the 64-bit copy that follows */
		off = 44 + (size_t)tzif_block_size(&h, 4);
		tsize = 8;
		rc = tzif_hdr_read(buf, len, off, 8, &h);
	}
	if (rc != GW_OK)
		goto out;
	z = calloc(1, sizeof(*z));
	if (!z) {
		rc = GW_ENOMEM;
		goto out;
	}
	rc = tzif_block_read(buf + off + 44, &h, tsize, z);
	if (rc == GW_OK && tsize == 8)
		rc = tzif_footer_read(buf, len, off + 44 + (size_t)tzif_block_size(&h, 8), z);
	if (rc != GW_OK)
		goto out;
	*out = z;
	z = NULL;
out:
	tz_free(z);
	return rc;
}

static int tz_utc(struct tz_zone **out)
{
	struct tz_zone *z = calloc(1, sizeof(*z));

	if (!z)
		return GW_ENOMEM;
	z->ntypes = 1;
	z->type_off = calloc(1, sizeof(*z->type_off));
	if (!z->type_off) {
		free(z);
		return GW_ENOMEM;
	}
	*out = z;
	return GW_OK;
}

int tz_load(const char *name, struct tz_zone **out)
{
	const char *dir = getenv("TZDIR");
	char path[4096];
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int rc, n;

	*out = NULL;
	if (!name || !*name || strcmp(name, "UTC") == 0)
		return tz_utc(out);
	/* a zone name is a path below the database, never outside it */
	if (name[0] == '/' || strstr(name, "..") || strlen(name) > 255)
		return GW_ENOTFOUND;
	if (!dir || !*dir)
		dir = TZ_DEFAULT_DIR;
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return GW_ENOTFOUND;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return GW_ENOTFOUND;
	rc = gw_read_file(path, TZ_FILE_MAX, &buf, &len);
	if (rc == GW_ETOOBIG)
		rc = GW_EPROTO;
	if (rc == GW_OK)
		rc = tz_parse_tzif((const uint8_t *)buf, len, out);
	free(buf);
	return rc;
}

void tz_free(struct tz_zone *z)
{
	if (!z)
		return;
	free(z->trans);
	free(z->idx);
	free(z->type_off);
	free(z);
}

/* Index of the last transition at or before `t`, or -1. */
static ptrdiff_t tz_find(const struct tz_zone *z, int64_t t)
{
	size_t lo = 0, hi = z->ntrans;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (z->trans[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ptrdiff_t)lo - 1;
}

int32_t tz_offset_at(const struct tz_zone *z, int64_t t_s, int64_t *next_s)
{
	int64_t next = INT64_MAX, t = t_s;
	ptrdiff_t i;
	int32_t off;

	/* keep the footer's calendar arithmetic far from int64 limits */
	if (t > TZ_T_LIMIT)
		t = TZ_T_LIMIT;
	else if (t < -TZ_T_LIMIT)
		t = -TZ_T_LIMIT;
	i = tz_find(z, t);
	if (i < 0 && z->ntrans > 0) {
		off = z->type_off[0]; /* before the first transition: type 0 (RFC 8536) */
		next = z->trans[0];
	} else if (i >= 0 && (size_t)i + 1 < z->ntrans) {
		off = z->type_off[z->idx[i]];
		next = z->trans[i + 1];
	} else if (z->has_footer) {
		off = px_offset(&z->footer, t, &next);
	} else {
		off = z->type_off[i >= 0 ? z->idx[i] : 0];
	}
	if (next <= t_s)
		next = INT64_MAX; /* t_s was clamped: past the limit nothing changes */
	if (next_s)
		*next_s = next;
	return off;
}

/*
 * report_int.h - the inside of a report, shared by report*.c only.
 */
#ifndef GW_REPORT_INT_H
#define GW_REPORT_INT_H

#include "gateway/report/report.h"

#define REPORT_MAX_NAMES 4096 /* distinct channels, queues and agents */

#define REPORT_MAX_KEYS REPORT_TICKET_TAGS /* rows one event adds to */

struct cal;

/* What a report keeps of one ticket (40 bytes). Names are indexes into
 * report.names. */
struct rticket {
	uint64_t id;            /* 0: a free slot */
	int64_t opened_at;      /* its creation or last reopening (event time) */
	int64_t awaiting_since; /* a customer message after a reply, 0 if none */
	uint32_t replies;       /* message.sent on it */
	uint32_t tags;          /* by tag: 1 + its index in report.tagsets; 0: never tagged */
	uint16_t channel, queue, agent;
	uint8_t open : 1, answered : 1, reopened : 1;
	uint8_t nr_done : 1; /* the outcome of its current next-response clock counted */
};

/* By tag: the tags a ticket has now, as indexes into report.tag_names, in
 * the order its last ticket event lists them, each once. */
struct rtags {
	uint16_t n;
	uint16_t v[REPORT_TICKET_TAGS];
};

struct report {
	int64_t from_ms, to_ms;
	enum report_by by;
	uint64_t last_seq;
	struct rticket *tickets; /* open addressing, cap a power of two */
	size_t cap, n_tickets;
	uint64_t open_total;     /* tickets open now */
	int64_t day_end;         /* by day: the end of the day whose backlog is next */
	struct report_row *rows;
	size_t n_rows, rows_cap;
	uint32_t *row_index;     /* hash of the rows' keys: 1 + row index, 0: free */
	size_t row_index_cap;    /* a power of two, over twice n_rows */
	size_t samples;          /* time samples in all rows */
	char **names;
	size_t n_names;
	struct cal *cals[REPORT_MAX_NAMES]; /* by queue name index, NULL: 24/7 */
	/* By tag only (report_tags.c): the tags seen, a hash of them, and the
	 * tag set of each ticket tagged once (rticket.tags). */
	char **tag_names;
	size_t n_tag_names;
	uint32_t *tag_hash;      /* 1 + index into tag_names, 0: free; cap a power of two */
	size_t tag_hash_cap;
	struct rtags *tagsets;
	size_t n_tagsets, tagsets_cap;
};

struct rticket *report_ticket_find(struct report *r, uint64_t id);
int report_ticket_add(struct report *r, uint64_t id, struct rticket **out);
/* report_row_get - the row of `key`, added zeroed when new (rows move
 * then). GW_OK, GW_EFULL (REPORT_MAX_ROWS), GW_ENOMEM. */
int report_row_get(struct report *r, const char *key, struct report_row **out);
/* report_rows_index - the rows' hash built again at `cap` slots (after
 * they are sorted). GW_OK or GW_ENOMEM. */
int report_rows_index(struct report *r, size_t cap);
/* report_str_hash - FNV-1a of `s`. */
uint32_t report_str_hash(const char *s);
int report_intern(struct report *r, const char *s, uint16_t *out);
void report_day_key(int64_t ms, char *key, size_t size);
/*
 * report_keys - the row keys of ticket `t` for an event at `ts` into
 * keys[0..n): its channel, queue, agent or day; by tag one key per tag it
 * has, or "-" without one. Returns n, 1 to REPORT_MAX_KEYS.
 */
size_t report_keys(const struct report *r, const struct rticket *t, int64_t ts,
		   char (*keys)[REPORT_KEY_MAX]);
/*
 * report_tags_take - by tag: the tags of ticket `t` become the `n` of `tags`
 * (borrowed; a ticket event's body), interned. GW_OK, GW_EFULL (more than
 * REPORT_TICKET_TAGS, REPORT_MAX_TAG_NAMES tags seen), GW_ENOMEM.
 */
int report_tags_take(struct report *r, struct rticket *t, char *const *tags, size_t n);
/* report_tags_free - the tag tables of report_tags_take. */
void report_tags_free(struct report *r);
int64_t report_business_ms(const struct report *r, uint16_t queue, int64_t from, int64_t to);

#endif

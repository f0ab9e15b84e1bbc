/*
 * report_int.h - the inside of a report, shared by report*.c only.
 */
#ifndef GW_REPORT_INT_H
#define GW_REPORT_INT_H

#include "report/report.h"

#define REPORT_MAX_NAMES 4096 /* distinct channels, queues and agents */

struct cal;

/* What a report keeps of one ticket. Names are indexes into report.names. */
struct rticket {
	uint64_t id;            /* 0: a free slot */
	int64_t opened_at;      /* its creation or last reopening (event time) */
	int64_t awaiting_since; /* a customer message after a reply, 0 if none */
	uint32_t replies;       /* message.sent on it */
	uint16_t channel, queue, agent;
	uint8_t open, answered, reopened;
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
	size_t samples;          /* time samples in all rows */
	char **names;
	size_t n_names;
	struct cal *cals[REPORT_MAX_NAMES]; /* by queue name index, NULL: 24/7 */
};

struct rticket *report_ticket_find(struct report *r, uint64_t id);
int report_ticket_add(struct report *r, uint64_t id, struct rticket **out);
int report_row_get(struct report *r, const char *key, struct report_row **out);
int report_intern(struct report *r, const char *s, uint16_t *out);
void report_day_key(int64_t ms, char *key, size_t size);
void report_key(const struct report *r, const struct rticket *t, int64_t ts, char *key,
		size_t size);
int64_t report_business_ms(const struct report *r, uint16_t queue, int64_t from, int64_t to);

#endif

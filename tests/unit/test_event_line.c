/*
 * test_event_line.c - the readable line of every event type
 * (gateway/ctl/event_line.h): an event of each type in proto/schema.def,
 * every field of its body set, prints more than "seq type". A type added to
 * the schema without its key fields on the line fails here.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/ctl/event_line.h"
#include "proto/proto.h"

/* fill_<obj> - sets every field of struct proto_<obj>, from the schema. */
#define FILL_STRING(p, m, sub) (p)->m = strdup("v-" #m)
#define FILL_UINT64(p, m, sub) (p)->m = 7
#define FILL_INT64(p, m, sub) (p)->m = 1767225600000LL
#define FILL_BOOL(p, m, sub) (p)->m = true
#define FILL_DOUBLE(p, m, sub) (p)->m = 1.5
#define FILL_VERSION(p, m, sub) (p)->m = 1
#define FILL_TYPE(p, m, sub) (void)0
#define FILL_OBJECT(p, m, sub) fill_##sub(&(p)->m)
#define FILL_OBJPTR(p, m, sub)                                                                   \
	do {                                                                                     \
		(p)->m = calloc(1, sizeof(*(p)->m));                                             \
		if ((p)->m)                                                                      \
			fill_##sub((p)->m);                                                      \
	} while (0)
#define FILL_OBJARRAY(p, m, sub)                                                                 \
	do {                                                                                     \
		(p)->m = calloc(1, sizeof(*(p)->m));                                             \
		if ((p)->m) {                                                                    \
			fill_##sub((p)->m);                                                      \
			(p)->m##_len = 1;                                                        \
		}                                                                                \
	} while (0)
#define FILL_STRARRAY(p, m, sub)                                                                 \
	do {                                                                                     \
		(p)->m = calloc(2, sizeof(*(p)->m));                                             \
		if ((p)->m) {                                                                    \
			(p)->m[0] = strdup("a-" #m);                                             \
			(p)->m[1] = strdup("b-" #m);                                             \
			(p)->m##_len = 2;                                                        \
		}                                                                                \
	} while (0)

#define PROTO_OBJECT(obj)                                                                        \
	static void fill_##obj(struct proto_##obj *p) __attribute__((unused));                   \
	static void fill_##obj(struct proto_##obj *p)                                            \
	{                                                                                        \
		(void)p;
#define PROTO_FIELD(obj, member, key, kind, req, limit, sub, values, doc)                       \
	FILL_##kind(p, member, sub);
#define PROTO_END(obj) }
#include "proto/schema.def"

struct type_case {
	enum proto_type type;
	const char *name;
	void (*fill)(struct proto_event *ev);
};

#define PROTO_EVENT(type, name, body, member)                                                    \
	static void fill_ev_##type(struct proto_event *ev)                                       \
	{                                                                                        \
		fill_##body(&ev->u.member);                                                      \
	}
#include "proto/schema.def"

static const struct type_case cases[] = {
#define PROTO_EVENT(type, name, body, member) {type, name, fill_ev_##type},
#include "proto/schema.def"
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* line_of - the line of a filled event of `c`'s type at seq 5 (free it). */
static char *line_of(const struct type_case *c)
{
	struct proto_event ev;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_int_equal(proto_event_init(&ev, c->type), 0);
	c->fill(&ev);
	ev.seq = 5;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	ctl_event_line(f, &ev);
	fclose(f);
	proto_event_clear(&ev);
	return buf;
}

static void every_type_has_key_fields(void **state)
{
	(void)state;
	assert_int_equal(N_CASES, PROTO_T__COUNT - 1); /* the schema lists every type */
	for (size_t i = 0; i < N_CASES; i++) {
		char head[128];
		char *line = line_of(&cases[i]);

		snprintf(head, sizeof(head), "5 %s ", cases[i].name);
		if (strncmp(line, head, strlen(head)) != 0 || !strchr(line + strlen(head), '='))
			fail_msg("%s: the line has no key fields: %s", cases[i].name, line);
		assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1); /* one line */
		free(line);
	}
}

/* The key field each type is read for. */
static void types_show_their_fields(void **state)
{
	static const struct {
		enum proto_type type;
		const char *want;
	} want[] = {
		{PROTO_T_TICKET_MERGED, " merged_into=7"},
		{PROTO_T_TICKET_SPLIT, " split_from=7"},
		{PROTO_T_TICKET_RATED, " csat=7 comment=v-csat_comment"},
		{PROTO_T_TICKET_UPDATED, " tags=a-tags,b-tags"},
		{PROTO_T_CHAT_TYPING, " channel=v-channel account=v-account address=v-address"},
		{PROTO_T_TICKET_SLA_WARNING, " due=2026-01-01T00:00:00Z"},
		{PROTO_T_MESSAGE_RECEIVED, " text=v-text"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		for (size_t j = 0; j < N_CASES; j++) {
			char *line;

			if (cases[j].type != want[i].type)
				continue;
			line = line_of(&cases[j]);
			if (!strstr(line, want[i].want))
				fail_msg("%s: no '%s' in: %s", cases[j].name, want[i].want, line);
			free(line);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_type_has_key_fields),
		cmocka_unit_test(types_show_their_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * event_line.h - the readable line of one event, as `gatewayctl tail` and
 * `gatewayctl replay` print it without --json:
 *
 *   41 ticket.merged ticket=14 customer=4 status=closed merged_into=12
 *
 * seq, type, then the key fields of the event's type as key=value (values
 * with blanks, quotes or '=' JSON-quoted; message texts cut to 60
 * characters). Every event type has key fields here: a type added to
 * proto/schema.def without them fails tests/unit/test_event_line.c.
 */
#ifndef GW_CTL_EVENT_LINE_H
#define GW_CTL_EVENT_LINE_H

#include <stdio.h>

struct proto_event;

/* ctl_event_line - writes the line of `ev` (borrowed) and a newline to `f`.
 * Any thread; no error (a write error shows on `f`). */
void ctl_event_line(FILE *f, const struct proto_event *ev);

#endif

/*
 * parse_common.c - the helpers the webhook parsers share (parse_common.h).
 */
#include "connectors/parse_common.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/util.h"

int pc_vfail(int *code, char *message, size_t size, int new_code, const char *fmt, va_list ap)
{
	if (*code != GW_OK)
		return new_code;
	*code = new_code;
	vsnprintf(message, size, fmt, ap);
	gw_utf8_trim(message);
	return new_code;
}

int pc_push(struct proto_event **ev, size_t *n, size_t *cap, size_t max, enum proto_type type,
	    int64_t ts, struct proto_event **out)
{
	struct proto_event *e;
	int rc;

	if (*n >= max)
		return GW_ETOOBIG;
	if (*n == *cap) {
		size_t grown = *cap ? *cap * 2 : 4;

		if (grown > max)
			grown = max;
		e = realloc(*ev, grown * sizeof(*e));
		if (!e)
			return GW_ENOMEM;
		*ev = e;
		*cap = grown;
	}
	e = &(*ev)[*n];
	rc = proto_event_init(e, type);
	if (rc != GW_OK)
		return rc;
	/* One body's events share one time: when it arrived. */
	e->ts = ts;
	(*n)++;
	*out = e;
	return GW_OK;
}

int pc_undo(struct proto_event *ev, size_t *n, size_t mark, int rc, int body_fault, int *code,
	    char *message, char *why, size_t whylen)
{
	if ((rc != GW_EPROTO && rc != GW_ETOOBIG) || body_fault || mark > *n)
		return 0;
	while (*n > mark)
		proto_event_clear(&ev[--*n]);
	if (!why[0])
		snprintf(why, whylen, "%s", message);
	*code = GW_OK;
	message[0] = '\0';
	return 1;
}

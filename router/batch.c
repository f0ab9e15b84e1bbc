/*
 * batch.c - the events of one routing transaction: each gets the next seq,
 * is encoded once, appended to the event log and kept for publishing after
 * the commit.
 */
#include "router/router.h"

#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

static int batch_grow(struct batch *b)
{
	size_t cap = b->cap ? b->cap * 2 : 256;
	struct batch_event *ev;

	if (b->nev < b->cap)
		return GW_OK;
	ev = realloc(b->ev, cap * sizeof(*ev));
	if (!ev)
		return GW_ENOMEM;
	b->ev = ev;
	b->cap = cap;
	return GW_OK;
}

int batch_emit(struct batch *b, struct proto_event *ev)
{
	struct proto_error perr;
	char *data = NULL;
	size_t len = 0;
	int rc;

	rc = batch_grow(b);
	if (rc)
		return rc;
	ev->seq = b->head + 1;
	ev->ts = gw_now_ms();
	rc = proto_encode(ev, &data, &len, &perr);
	if (rc) {
		GW_ERROR("router", "cannot encode %s: %s", proto_type_name(ev->type),
			 perr.message);
		goto out;
	}
	rc = store_eventlog_append(b->txn, ev->seq, proto_type_name(ev->type), data, len);
	if (rc)
		goto out;
	b->head = ev->seq;
	b->ev[b->nev].type = proto_type_name(ev->type);
	b->ev[b->nev].data = data;
	b->ev[b->nev].len = len;
	b->nev++;
	b->bytes += len;
	data = NULL;
out:
	free(data);
	if (rc)
		ev->seq = 0;
	return rc;
}

void batch_reset(struct batch *b)
{
	for (size_t i = 0; i < b->nev; i++)
		free(b->ev[i].data);
	b->nev = 0;
	b->bytes = 0;
	b->keep = 0;
}

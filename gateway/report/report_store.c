/*
 * report_store.c - a report fed from the router's event log (report.h).
 */
#include "gateway/report/report_int.h"

#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "proto/proto.h"
#include "store/store.h"

struct scan {
	struct report *r;
	int rc;
};

/* wanted - the event types a report reads; the others are not decoded. */
static int wanted(const char *type, size_t len)
{
	enum proto_type t = proto_type_parse(type, len);

	return t == PROTO_T_TICKET_CREATED || t == PROTO_T_TICKET_UPDATED ||
	       t == PROTO_T_TICKET_ASSIGNED || t == PROTO_T_TICKET_CLOSED ||
	       t == PROTO_T_TICKET_REOPENED || t == PROTO_T_TICKET_PRIORITY_CHANGED ||
	       t == PROTO_T_TICKET_MERGED || t == PROTO_T_TICKET_SPLIT || t == PROTO_T_TICKET_RATED ||
	       t == PROTO_T_MESSAGE_RECEIVED || t == PROTO_T_MESSAGE_SENT ||
	       t == PROTO_T_TICKET_SLA_BREACHED;
}

/* scan_fn - decodes and feeds one event; stops at the first event at or
 * after the window's end, which stays unread for a later window. */
static int scan_fn(void *arg, uint64_t seq, const char *type, size_t type_len, const void *data,
		   size_t len)
{
	struct scan *s = arg;
	struct proto_event ev;
	struct proto_error perr;

	if (!wanted(type, type_len)) {
		s->r->last_seq = seq;
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	if (proto_decode(data, len, &ev, &perr) != GW_OK) {
		GW_WARN("report", "event %llu skipped: %s", (unsigned long long)seq, perr.message);
		s->r->last_seq = seq;
		return 0;
	}
	if (ev.ts >= s->r->to_ms) {
		proto_event_clear(&ev);
		return 1;
	}
	ev.seq = seq;
	s->rc = report_feed(s->r, &ev);
	proto_event_clear(&ev);
	return s->rc != GW_OK;
}

int report_from_store(struct report *r, struct store *st)
{
	struct store_txn *txn = NULL;
	struct scan s = {r, GW_OK};
	int rc;

	rc = store_txn_begin(st, 1, &txn);
	if (rc)
		goto out;
	rc = store_eventlog_scan(txn, r->last_seq + 1, scan_fn, &s);
	if (rc == GW_OK)
		rc = s.rc;
	if (rc == GW_OK)
		rc = report_finish(r);
out:
	store_txn_abort(txn);
	return rc;
}

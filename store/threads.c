/*
 * threads.c - index tables `threads` ((thread_id, seq) -> empty) and
 * `ticket_msgs` ((ticket_id, seq) -> empty). A message itself lives once, in
 * the event log, as its message.received event; these tables list which
 * messages make up a customer's thread and a ticket, in order.
 * `ticket_trace` ((ticket_id, seq) -> empty) lists the ticket's own events
 * (created, assigned, closed, reopened, priority, SLA, merged): its history.
 */
#include "store/store_int.h"

int store_thread_append(struct store_txn *txn, uint64_t thread_id, uint64_t seq)
{
	return store_pair_put(txn, TBL_THREADS, thread_id, seq);
}

int store_ticket_msg_append(struct store_txn *txn, uint64_t ticket_id, uint64_t seq)
{
	return store_pair_put(txn, TBL_TICKET_MSGS, ticket_id, seq);
}

int store_ticket_msg_remove(struct store_txn *txn, uint64_t ticket_id, uint64_t seq)
{
	return store_pair_del(txn, TBL_TICKET_MSGS, ticket_id, seq);
}

int store_thread_scan(struct store_txn *txn, uint64_t thread_id, size_t max,
		      int (*fn)(void *arg, uint64_t seq), void *arg)
{
	return store_pair_scan(txn, TBL_THREADS, thread_id, max, fn, arg);
}

int store_thread_scan_newest(struct store_txn *txn, uint64_t thread_id, size_t max,
			     int (*fn)(void *arg, uint64_t seq), void *arg)
{
	return store_pair_scan_desc(txn, TBL_THREADS, thread_id, max, fn, arg);
}

int store_ticket_msgs(struct store_txn *txn, uint64_t ticket_id, size_t max,
		      int (*fn)(void *arg, uint64_t seq), void *arg)
{
	return store_pair_scan(txn, TBL_TICKET_MSGS, ticket_id, max, fn, arg);
}

int store_thread_remove(struct store_txn *txn, uint64_t thread_id, uint64_t seq)
{
	return store_pair_del(txn, TBL_THREADS, thread_id, seq);
}

int store_ticket_trace_append(struct store_txn *txn, uint64_t ticket_id, uint64_t seq)
{
	return store_pair_put(txn, TBL_TICKET_TRACE, ticket_id, seq);
}

int store_ticket_trace(struct store_txn *txn, uint64_t ticket_id, size_t max,
		       int (*fn)(void *arg, uint64_t seq), void *arg)
{
	return store_pair_scan(txn, TBL_TICKET_TRACE, ticket_id, max, fn, arg);
}

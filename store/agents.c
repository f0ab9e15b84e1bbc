/*
 * agents.c - tables `agents` (agent_id -> proto_agent, msgpack: presence and
 * load, which outlive a restart), `agent_tix` ((agent_id, ticket_id) ->
 * empty: the open tickets assigned to an agent) and `queue_wait`
 * ((queue, ticket_id) -> empty: open tickets of a queue waiting for an
 * agent, oldest first).
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"

#define AGENT_KEY_MAX 255

int store_agent_get(struct store_txn *txn, const char *agent_id, struct proto_agent *a)
{
	struct proto_error perr;
	MDB_val k = {strlen(agent_id), (void *)agent_id}, v;
	int rc;

	if (k.mv_size == 0 || k.mv_size > AGENT_KEY_MAX)
		return GW_ETOOBIG;
	rc = mdb_get(txn->txn, txn->st->dbi[TBL_AGENTS], &k, &v);
	if (rc)
		return store_err(rc, "agent get");
	rc = proto_agent_decode(v.mv_data, v.mv_size, a, &perr);
	if (rc)
		GW_ERROR("store", "agent %s: stored record does not decode: %s", agent_id,
			 perr.message);
	return rc;
}

int store_agent_put(struct store_txn *txn, const struct proto_agent *a)
{
	MDB_val k = {strlen(a->agent_id), a->agent_id}, v;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (k.mv_size == 0 || k.mv_size > AGENT_KEY_MAX)
		return GW_ETOOBIG;
	rc = proto_agent_encode(a, &buf, &len);
	if (rc)
		return rc;
	v.mv_data = buf;
	v.mv_size = len;
	rc = store_err(mdb_put(txn->txn, txn->st->dbi[TBL_AGENTS], &k, &v, 0), "agent put");
	free(buf);
	return rc;
}

int store_agent_ticket_add(struct store_txn *txn, const char *agent_id, uint64_t ticket_id)
{
	return store_strid_put(txn, TBL_AGENT_TIX, agent_id, ticket_id);
}

int store_agent_ticket_del(struct store_txn *txn, const char *agent_id, uint64_t ticket_id)
{
	return store_strid_del(txn, TBL_AGENT_TIX, agent_id, ticket_id);
}

int store_agent_tickets(struct store_txn *txn, const char *agent_id, size_t max,
			int (*fn)(void *arg, uint64_t ticket_id), void *arg)
{
	return store_strid_scan(txn, TBL_AGENT_TIX, agent_id, max, fn, arg);
}

int store_queue_wait_add(struct store_txn *txn, const char *queue, uint64_t ticket_id)
{
	return store_strid_put(txn, TBL_QUEUE_WAIT, queue, ticket_id);
}

int store_queue_wait_del(struct store_txn *txn, const char *queue, uint64_t ticket_id)
{
	return store_strid_del(txn, TBL_QUEUE_WAIT, queue, ticket_id);
}

int store_queue_waiting(struct store_txn *txn, const char *queue, size_t max,
			int (*fn)(void *arg, uint64_t ticket_id), void *arg)
{
	return store_strid_scan(txn, TBL_QUEUE_WAIT, queue, max, fn, arg);
}

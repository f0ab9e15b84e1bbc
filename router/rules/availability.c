/*
 * availability.c - whether each queue can answer a customer now, for the
 * channels that tell a customer before they write (the live chat's "away"
 * and "closed" notices, docs/channels/livechat.md "Away and closed").
 *
 * A queue is:
 *   closed     outside its business hours (routing.queues[].business_hours;
 *              none: around the clock);
 *   away       in its hours, it lists agents and none of them is online
 *              (agent.presence) inside its own working hours;
 *   available  otherwise. A queue that lists no agent is served by people
 *              the gateway does not know: available in its hours.
 * Capacity is not counted: an agent at capacity is busy, not away.
 *
 * The router writes the result into run/router.json ("queues") with its
 * status, every second: the connectors of the same host read it there, so
 * no socket, command or event is added for it. The default_queue appears
 * too, when it is not one of routing.queues[] (then available).
 *
 * Threading: the router's thread, inside a read transaction.
 */
#include "router/rules/assign.h"

#include <string.h>

#include "core/calendar.h"
#include "core/err.h"

/* Is agent `id` online inside its working hours at now_ms? */
static int agent_here(const struct routing *rt, struct store_txn *txn, const char *id,
		      int64_t now_ms)
{
	const struct gw_routing_agent *ac;
	struct proto_agent a;
	size_t index;
	int here = 0, rc;

	ac = routing_agent(rt, id, &index);
	if (!ac)
		return 0;
	memset(&a, 0, sizeof(a));
	rc = store_agent_get(txn, id, &a);
	if (rc == GW_OK)
		here = a.presence && strcmp(a.presence, "online") == 0;
	else if (rc == GW_ENOTFOUND) /* never changed: the config's first presence */
		here = !ac->presence || !ac->presence[0] || strcmp(ac->presence, "online") == 0;
	proto_agent_clear(&a);
	if (here && rt->agent_cal[index] && !cal_is_open(rt->agent_cal[index], now_ms))
		here = 0;
	return here;
}

/* {"state","agents","agents_here"} of queue `q` (index qi). */
static json_t *queue_state(const struct routing *rt, struct store_txn *txn, size_t qi,
			   int64_t now_ms)
{
	const struct gw_routing_queue *q = &rt->cfg->queues[qi];
	size_t here = 0;
	const char *state = "available";

	for (size_t i = 0; i < q->agents.n; i++)
		here += (size_t)agent_here(rt, txn, q->agents.v[i], now_ms);
	if (rt->queue_cal[qi] && !cal_is_open(rt->queue_cal[qi], now_ms))
		state = "closed";
	else if (q->agents.n > 0 && here == 0)
		state = "away";
	return json_pack("{s:s,s:I,s:I}", "state", state, "agents", (json_int_t)q->agents.n,
			 "agents_here", (json_int_t)here);
}

json_t *assign_availability(const struct routing *rt, struct store_txn *txn, int64_t now_ms)
{
	json_t *o = json_object();
	const char *def = rt->cfg->default_queue;

	for (size_t i = 0; o && i < rt->cfg->n_queues; i++) {
		if (json_object_set_new(o, rt->cfg->queues[i].name,
					queue_state(rt, txn, i, now_ms))) {
			json_decref(o);
			return NULL;
		}
	}
	if (o && def && def[0] && !json_object_get(o, def) &&
	    json_object_set_new(o, def, json_pack("{s:s,s:i,s:i}", "state", "available",
						  "agents", 0, "agents_here", 0))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

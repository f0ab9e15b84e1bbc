/*
 * assign.c - queues, agents and who works a ticket.
 */
#include "router/router.h"

#include <stdint.h>
#include <string.h>

#include "gateway/err.h"
#include "gateway/util.h"

int assign_ticket(struct batch *b, struct proto_ticket *t, const struct proto_message *m,
		  struct proto_customer *c)
{
	(void)m;
	(void)c;
	if (!t->queue) {
		t->queue = gw_strdup(b->rt->cfg->default_queue);
		if (!t->queue)
			return GW_ENOMEM;
	}
	return GW_OK;
}

int assign_release(struct batch *b, const struct proto_ticket *t)
{
	(void)b;
	(void)t;
	return GW_OK;
}

int assign_tick(struct batch *b, int64_t now_ms)
{
	(void)b;
	(void)now_ms;
	return GW_OK;
}

int64_t assign_next_ms(const struct routing *rt, int64_t now_ms)
{
	(void)rt;
	(void)now_ms;
	return INT64_MAX;
}

/*
 * sla.c - SLA clocks.
 */
#include "router/router.h"

#include "gateway/err.h"

int sla_start(struct batch *b, struct proto_ticket *t, int64_t now_ms)
{
	(void)b;
	(void)t;
	(void)now_ms;
	return GW_OK;
}

int sla_first_reply(struct batch *b, struct proto_ticket *t, int64_t at_ms)
{
	(void)b;
	(void)t;
	(void)at_ms;
	return GW_OK;
}

int sla_stop(struct batch *b, struct proto_ticket *t)
{
	(void)b;
	(void)t;
	return GW_OK;
}

int sla_retarget(struct batch *b, struct proto_ticket *t)
{
	(void)b;
	(void)t;
	return GW_OK;
}

int sla_fire(struct batch *b, int64_t now_ms)
{
	(void)b;
	(void)now_ms;
	return GW_OK;
}

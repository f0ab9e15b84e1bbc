/*
 * routing.c - the `routing` config made ready for the rules: the calendars
 * of queues and agents, the language models, and the per-channel policies.
 * Built once when the router starts; a config mistake that only shows here
 * (an unknown time zone, a language without a model) stops the router with
 * a message naming the key.
 */
#include "router/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/calendar.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "router/rules/lang.h"
#include "router/rules/normalize.h"

#define HOUR_MS (3600LL * 1000)

/* hours_of - the business_hours[] entry named `name`, or NULL. */
static const struct gw_routing_hours *hours_of(const struct gw_config_routing *cfg,
					       const char *name)
{
	for (size_t i = 0; i < cfg->n_business_hours; i++)
		if (strcmp(cfg->business_hours[i].name, name) == 0)
			return &cfg->business_hours[i];
	return NULL;
}

static int compile_queues(struct routing *rt, char *err, size_t errlen)
{
	const struct gw_config_routing *cfg = rt->cfg;
	char why[256];

	for (size_t i = 0; i < cfg->n_queues; i++) {
		const struct gw_routing_hours *h;

		if (!cfg->queues[i].business_hours[0])
			continue;
		h = hours_of(cfg, cfg->queues[i].business_hours);
		if (!h)
			continue; /* config check already refused it */
		if (cal_parse(h->timezone, h->hours, &rt->queue_cal[i], why, sizeof(why))) {
			snprintf(err, errlen, "routing.business_hours '%s': %s", h->name, why);
			return GW_EINVAL;
		}
	}
	return GW_OK;
}

static int compile_agents(struct routing *rt, char *err, size_t errlen)
{
	const struct gw_config_routing *cfg = rt->cfg;
	char why[256];

	for (size_t i = 0; i < cfg->n_agents; i++) {
		const struct gw_routing_agent *a = &cfg->agents[i];

		if (!a->hours[0])
			continue;
		if (cal_parse(a->timezone, a->hours, &rt->agent_cal[i], why, sizeof(why))) {
			snprintf(err, errlen, "routing.agents[%zu] (%s): %s", i, a->id, why);
			return GW_EINVAL;
		}
	}
	return GW_OK;
}

static int compile_lang(struct routing *rt, char *err, size_t errlen)
{
	const struct conf_strlist *l = &rt->cfg->languages;
	char why[256];

	if (l->n == 0)
		return GW_OK;
	if (lang_open((const char *const *)l->v, l->n, NULL, &rt->lang, why, sizeof(why))) {
		snprintf(err, errlen, "routing.languages: %s", why);
		return GW_EINVAL;
	}
	return GW_OK;
}

int routing_create(const struct gw_config_routing *cfg, struct routing **out, char *err,
		   size_t errlen)
{
	struct routing *rt = calloc(1, sizeof(*rt));
	int rc = GW_OK;

	*out = NULL;
	if (!rt)
		return GW_ENOMEM;
	rt->cfg = cfg;
	rt->queue_cal = calloc(cfg->n_queues + 1, sizeof(*rt->queue_cal));
	rt->agent_cal = calloc(cfg->n_agents + 1, sizeof(*rt->agent_cal));
	if (!rt->queue_cal || !rt->agent_cal) {
		rc = GW_ENOMEM;
		goto out;
	}
	if (cfg->default_region[0] && !norm_region_valid(cfg->default_region)) {
		snprintf(err, errlen, "routing.default_region: '%s' is not a known region",
			 cfg->default_region);
		rc = GW_EINVAL;
		goto out;
	}
	rc = compile_queues(rt, err, errlen);
	if (rc == GW_OK)
		rc = compile_agents(rt, err, errlen);
	if (rc == GW_OK)
		rc = compile_lang(rt, err, errlen);
out:
	if (rc) {
		routing_destroy(rt);
		return rc;
	}
	*out = rt;
	return GW_OK;
}

void routing_destroy(struct routing *rt)
{
	if (!rt)
		return;
	for (size_t i = 0; rt->queue_cal && i < rt->cfg->n_queues; i++)
		cal_free(rt->queue_cal[i]);
	for (size_t i = 0; rt->agent_cal && i < rt->cfg->n_agents; i++)
		cal_free(rt->agent_cal[i]);
	free(rt->queue_cal);
	free(rt->agent_cal);
	lang_close(rt->lang);
	free(rt);
}

const struct gw_routing_queue *routing_queue(const struct routing *rt, const char *name,
					     size_t *index)
{
	for (size_t i = 0; name && i < rt->cfg->n_queues; i++) {
		if (strcmp(rt->cfg->queues[i].name, name) == 0) {
			if (index)
				*index = i;
			return &rt->cfg->queues[i];
		}
	}
	return NULL;
}

const struct gw_routing_agent *routing_agent(const struct routing *rt, const char *id,
					     size_t *index)
{
	for (size_t i = 0; id && i < rt->cfg->n_agents; i++) {
		if (strcmp(rt->cfg->agents[i].id, id) == 0) {
			if (index)
				*index = i;
			return &rt->cfg->agents[i];
		}
	}
	return NULL;
}

static const struct gw_routing_channel *channel_policy(const struct routing *rt,
						       const char *channel)
{
	for (size_t i = 0; channel && i < rt->cfg->n_channels; i++)
		if (strcmp(rt->cfg->channels[i].channel, channel) == 0)
			return &rt->cfg->channels[i];
	return NULL;
}

const char *routing_scope(const struct routing *rt, const char *channel)
{
	const struct gw_routing_channel *p = channel_policy(rt, channel);

	return p && p->scope[0] ? p->scope : rt->cfg->scope;
}

int64_t routing_reopen_window_ms(const struct routing *rt, const char *channel)
{
	const struct gw_routing_channel *p = channel_policy(rt, channel);

	if (p && p->reopen_window_h >= 0)
		return p->reopen_window_h * HOUR_MS;
	return rt->cfg->reopen_window_h * HOUR_MS;
}

int routing_detect_language(const struct routing *rt, struct proto_message *m)
{
	char code[LANG_CODE_MAX + 1];

	if (!rt->lang || !m->text)
		return GW_OK;
	/* The body says more than a subject line; a bodiless message (a
	 * subject-only email) is judged by its subject. */
	if (!lang_detect(rt->lang, m->text, strlen(m->text), code) &&
	    !(m->subject && lang_detect(rt->lang, m->subject, strlen(m->subject), code)))
		return GW_OK;
	free(m->language);
	m->language = gw_strdup(code);
	return m->language ? GW_OK : GW_ENOMEM;
}

/* --- commands run once -------------------------------------------------- */

#define ONCE_CHANNEL "command" /* the dedup namespace reply.c uses too */

struct once_ctx {
	const char *command_id;
	int (*fn)(struct batch *b, void *arg);
	void *arg;
	uint64_t seq;
	int dup;
};

static int once_txn(struct batch *b, void *arg)
{
	struct once_ctx *o = arg;
	uint64_t first = b->head + 1;
	int rc = store_dedup_get(b->txn, ONCE_CHANNEL, "", o->command_id, &o->seq);

	if (rc == GW_OK) {
		o->dup = 1;
		return GW_OK; /* nothing emitted: nothing committed */
	}
	if (rc != GW_ENOTFOUND)
		return rc;
	rc = o->fn(b, o->arg);
	if (rc == GW_OK && b->nev == 0)
		return GW_OK;
	if (rc == GW_OK) {
		o->seq = first;
		rc = store_dedup_put(b->txn, ONCE_CHANNEL, "", o->command_id, first);
	}
	return rc;
}

int routing_once(struct router *r, const char *command_id,
		 int (*fn)(struct batch *b, void *arg), void *arg, uint64_t *seq, int *dup)
{
	struct once_ctx o = {command_id, fn, arg, 0, 0};
	int rc = router_txn(r, once_txn, &o);

	*seq = o.seq;
	*dup = o.dup;
	return rc;
}

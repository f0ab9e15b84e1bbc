/*
 * templates.c - the variables of canned responses and automatic messages
 * (templates.h), looked up for core/template.c's renderer.
 */
#include "router/templates.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/calendar.h"
#include "core/err.h"
#include "core/template.h"
#include "router/rules/routing.h"

/* The lookup's state: the context and a buffer for computed values. */
struct lookup {
	const struct templates_ctx *x;
	char buf[128];
};

const struct gw_automation_template *templates_find(const struct gw_config_automation *a,
						    const char *name, const char *language)
{
	const struct gw_automation_template *def = NULL;

	for (size_t i = 0; i < a->n_templates; i++) {
		const struct gw_automation_template *t = &a->templates[i];

		if (strcmp(t->name, name) != 0)
			continue;
		if (language && t->language[0] && strcmp(t->language, language) == 0)
			return t;
		if (!t->language[0])
			def = t;
	}
	return def;
}

/* queue_zone - the calendar and time zone name of the ticket's queue;
 * NULL when it is open around the clock. */
static const struct cal *queue_zone(const struct templates_ctx *x, const char **tz)
{
	const struct gw_routing_queue *q;
	size_t qi;

	*tz = "UTC";
	if (!x->ticket || !(q = routing_queue(x->rt, x->ticket->queue, &qi)) ||
	    !x->rt->queue_cal[qi])
		return NULL;
	for (size_t i = 0; i < x->rt->cfg->n_business_hours; i++)
		if (strcmp(x->rt->cfg->business_hours[i].name, q->business_hours) == 0)
			*tz = x->rt->cfg->business_hours[i].timezone;
	return x->rt->queue_cal[qi];
}

/* local_text - instant `t_ms` as "YYYY-MM-DD HH:MM <zone>" in the queue's
 * time zone (UTC for a queue open around the clock). */
static const char *local_text(struct lookup *l, int64_t t_ms)
{
	const char *tz;
	const struct cal *c = queue_zone(l->x, &tz);
	int wd, minute, off = 0;
	time_t secs;
	struct tm tm;

	if (c)
		cal_local(c, t_ms, &wd, &minute, &off);
	secs = (time_t)(t_ms / 1000 + off);
	if (!gmtime_r(&secs, &tm))
		return NULL;
	snprintf(l->buf, sizeof(l->buf), "%04d-%02d-%02d %02d:%02d %s", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tz);
	return l->buf;
}

/* customer_attr - the value of attribute `key` of the customer, or NULL. */
static const char *customer_attr(const struct proto_customer *c, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; c && i < c->attributes_len; i++)
		if (strncmp(c->attributes[i], key, n) == 0 && c->attributes[i][n] == '=')
			return c->attributes[i] + n + 1;
	return NULL;
}

/* agent_name - the author, else the ticket's agent's name, else its id. */
static const char *agent_name(const struct templates_ctx *x)
{
	const struct gw_routing_agent *ag;
	size_t i;

	if (x->author && x->author[0])
		return x->author;
	if (!x->ticket || !x->ticket->agent_id)
		return NULL;
	ag = routing_agent(x->rt, x->ticket->agent_id, &i);
	return ag && ag->name[0] ? ag->name : x->ticket->agent_id;
}

/* ticket_var - ticket.* and sla.* */
static const char *ticket_var(struct lookup *l, const char *name)
{
	const struct proto_ticket *t = l->x->ticket;
	const char *tz;

	if (!t)
		return NULL;
	if (strcmp(name, "ticket.id") == 0)
		snprintf(l->buf, sizeof(l->buf), "%llu", (unsigned long long)t->ticket_id);
	else if (strcmp(name, "ticket.token") == 0)
		snprintf(l->buf, sizeof(l->buf), "[#T-%llu]", (unsigned long long)t->ticket_id);
	else if (strcmp(name, "ticket.subject") == 0)
		return t->subject ? t->subject : "";
	else if (strcmp(name, "sla.first_response") == 0)
		return t->first_response_due ? local_text(l, t->first_response_due) : NULL;
	else if (strcmp(name, "sla.first_response_min") == 0 && t->first_response_due)
		snprintf(l->buf, sizeof(l->buf), "%lld",
			 (long long)((t->first_response_due - l->x->now_ms + 59999) / 60000));
	else if (strcmp(name, "hours.next_open") == 0 && queue_zone(l->x, &tz))
		return local_text(l, cal_add(queue_zone(l->x, &tz), l->x->now_ms, 0));
	else
		return NULL;
	return l->buf;
}

static const char *lookup(void *arg, const char *name)
{
	struct lookup *l = arg;
	const struct templates_ctx *x = l->x;
	const struct proto_customer *c = x->customer;

	for (size_t i = 0; i < x->n_vars; i++)
		if (strcmp(x->vars[2 * i], name) == 0)
			return x->vars[2 * i + 1];
	if (strcmp(name, "customer.name") == 0)
		return c && c->name ? c->name : x->sender_name ? x->sender_name : "";
	if (strncmp(name, "customer.attr.", 14) == 0)
		return customer_attr(c, name + 14);
	if (strcmp(name, "agent.name") == 0)
		return agent_name(x);
	return ticket_var(l, name);
}

int templates_render(const struct templates_ctx *x, const char *name, const char *language,
		     char **text, char **subject, char *err, size_t errlen)
{
	const struct gw_automation_template *t = templates_find(x->a, name, language);
	struct lookup l = {x, ""};
	char why[256];
	int rc;

	*text = *subject = NULL;
	if (!t) {
		snprintf(err, errlen, "no template '%s' (automation.templates)", name);
		return GW_ENOTFOUND;
	}
	rc = gw_tmpl_render(t->text, lookup, &l, TEMPLATES_MAX_TEXT, text, NULL, why,
			    sizeof(why));
	if (rc == GW_OK && t->subject[0])
		rc = gw_tmpl_render(t->subject, lookup, &l, PROTO_MAX_SUBJECT, subject, NULL, why,
				    sizeof(why));
	if (rc) {
		snprintf(err, errlen, "template '%s'%s%s: %s", name, t->language[0] ? " in " : "",
			 t->language, why);
		free(*text);
		*text = NULL;
	}
	return rc;
}

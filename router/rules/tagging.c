/*
 * tagging.c - tags and priority by rules (routing.tag_rules[], docs/
 * routing.md "Tags and priority by rules"), and the tag list of a ticket.
 *
 *   when      a rule `on: open` runs when a message opens or reopens a
 *             ticket; `on: message` for every customer message, the
 *             opening one too
 *   match     every non-empty list holds: keywords (any, in subject or
 *             text, ASCII case-insensitive), channels, accounts, languages
 *             (the message's detected language, else the ticket's),
 *             attributes (all, on the customer); hours: `business` inside
 *             the ticket's queue's business hours (a queue without hours is
 *             always open), `off` outside them
 *   effect    every matching rule adds its tags (once each; at most
 *             PROTO_MAX_TAGS, more are left out with a warning) and raises
 *             the priority to its own (never lowers it); the names of the
 *             rules that changed something go into the cause of the event
 */
#include "router/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/calendar.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "router/rules/match.h"

int tag_rule_matches(const struct gw_routing_tag_rule *r, const struct proto_message *m,
		     const struct proto_customer *c, const char *language, int business)
{
	if (r->channels.n && !match_list_has(&r->channels, m->channel))
		return 0;
	if (r->accounts.n && !match_list_has(&r->accounts, m->account))
		return 0;
	if (r->languages.n && !match_list_has(&r->languages, language))
		return 0;
	if (r->keywords.n && !match_keywords(&r->keywords, m))
		return 0;
	if ((strcmp(r->hours, "business") == 0 && !business) ||
	    (strcmp(r->hours, "off") == 0 && business))
		return 0;
	return match_attributes(&r->attributes, c);
}

int tagging_priority_rank(const char *p)
{
	static const char *const order[] = {"low", "normal", "high", "urgent"};

	for (int i = 0; i < 4; i++)
		if (p && strcmp(p, order[i]) == 0)
			return i;
	return 1; /* absent: normal */
}

int ticket_tag_add(struct proto_ticket *t, const char *tag, int *changed)
{
	char **v;

	for (size_t i = 0; i < t->tags_len; i++)
		if (strcmp(t->tags[i], tag) == 0)
			return GW_OK;
	if (t->tags_len >= PROTO_MAX_TAGS)
		return GW_EFULL;
	v = realloc(t->tags, (t->tags_len + 1) * sizeof(*v));
	if (!v)
		return GW_ENOMEM;
	t->tags = v;
	if (!(t->tags[t->tags_len] = gw_strdup(tag)))
		return GW_ENOMEM;
	t->tags_len++;
	*changed = 1;
	return GW_OK;
}

int ticket_tag_remove(struct proto_ticket *t, const char *tag, int *changed)
{
	for (size_t i = 0; i < t->tags_len; i++) {
		if (strcmp(t->tags[i], tag) != 0)
			continue;
		free(t->tags[i]);
		memmove(&t->tags[i], &t->tags[i + 1], (t->tags_len - i - 1) * sizeof(*t->tags));
		t->tags_len--;
		*changed = 1;
		return GW_OK;
	}
	return GW_OK;
}

/* rule_apply - the effect of matching rule `r` on `t`: *changed gains
 * TAGGING_TAGS and/or TAGGING_PRIORITY. */
static int rule_apply(const struct gw_routing_tag_rule *r, struct proto_ticket *t, int *changed)
{
	int added = 0, rc = GW_OK;

	for (size_t i = 0; rc == GW_OK && i < r->tags.n; i++)
		rc = ticket_tag_add(t, r->tags.v[i], &added);
	if (rc == GW_EFULL) {
		GW_WARN("router", "ticket %llu: %d tags already, rule %s adds no more",
			(unsigned long long)t->ticket_id, PROTO_MAX_TAGS, r->name);
		rc = GW_OK;
	}
	if (added)
		*changed |= TAGGING_TAGS;
	if (rc == GW_OK && r->priority[0] &&
	    tagging_priority_rank(r->priority) > tagging_priority_rank(t->priority)) {
		char *p = gw_strdup(r->priority);

		if (!p)
			return GW_ENOMEM;
		free(t->priority);
		t->priority = p;
		*changed |= TAGGING_PRIORITY;
	}
	return rc;
}

/* in_business_hours - whether now is inside the ticket's queue's hours. */
static int in_business_hours(const struct routing *rt, const struct proto_ticket *t)
{
	size_t qi;

	if (!routing_queue(rt, t->queue, &qi) || !rt->queue_cal[qi])
		return 1;
	return cal_is_open(rt->queue_cal[qi], gw_now_ms());
}

/* note_rule - appends ", name" (or "tag rules: name") to `why`. */
static void note_rule(char *why, size_t size, const char *name)
{
	size_t n = strlen(why);

	if (n + 1 >= size)
		return;
	snprintf(why + n, size - n, "%s%s", strstr(why, "tag rules: ") ? ", " : "; tag rules: ",
		 name);
	gw_utf8_trim(why);
}

int tagging_apply(struct batch *b, struct proto_ticket *t, const struct proto_message *m,
		  const struct proto_customer *c, int opening, char *why, size_t whylen,
		  int *changed)
{
	const struct gw_config_routing *cfg = b->rt->cfg;
	const char *language = m->language ? m->language : t->language;
	int business = -1, rc = GW_OK;

	*changed = 0;
	for (size_t i = 0; rc == GW_OK && i < cfg->n_tag_rules; i++) {
		const struct gw_routing_tag_rule *r = &cfg->tag_rules[i];
		int did = 0;

		if (!opening && strcmp(r->on, "open") == 0)
			continue;
		if (business < 0)
			business = in_business_hours(b->rt, t);
		if (!tag_rule_matches(r, m, c, language, business))
			continue;
		rc = rule_apply(r, t, &did);
		if (did)
			note_rule(why, whylen, r->name);
		*changed |= did;
	}
	return rc;
}

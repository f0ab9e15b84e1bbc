/*
 * csat.c - the customer satisfaction survey (the `csat` section,
 * docs/reports.md): marked on a ticket when it closes, sent as a reply once
 * the close is durable, and the rule that takes a customer's rating of it
 * (routing.h).
 *
 * The survey goes through message.send (reply.c) under the command id
 * csat-<ticket>-<survey_sent_at>: the reply path's idempotency makes it go
 * once even when the close is repeated. Sent after the close's commit, it
 * is lost if the router dies in between (the close stands; no survey).
 */
#include "router/router.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "router/rules/csat_parse.h"

#define SURVEY_MAX 2048 /* the survey's text: question and link */

static int listed(const struct conf_strlist *l, const char *v)
{
	if (l->n == 0)
		return 1;
	for (size_t i = 0; v && i < l->n; i++)
		if (strcmp(l->v[i], v) == 0)
			return 1;
	return 0;
}

int csat_on_close(struct batch *b, struct proto_ticket *t)
{
	const struct gw_config_csat *cs = b->rt->csat;

	if (cs && cs->enabled && !t->merged_into && listed(&cs->channels, t->channel) &&
	    listed(&cs->queues, t->queue))
		t->survey_sent_at = gw_now_ms();
	return GW_OK;
}

/* survey_text - the question in the ticket's language, then the link. */
static void survey_text(const struct gw_config_csat *cs, const struct proto_ticket *t,
			char *out, size_t size)
{
	const char *q = cs->text, *link = cs->link ? cs->link : "", *mark;
	size_t n = t->language ? strlen(t->language) : 0;
	int w;

	for (size_t i = 0; n && i < cs->texts.n; i++)
		if (strncmp(cs->texts.v[i], t->language, n) == 0 && cs->texts.v[i][n] == '=')
			q = cs->texts.v[i] + n + 1;
	w = snprintf(out, size, "%s", q);
	if (!*link || w < 0 || (size_t)w >= size)
		return;
	mark = strstr(link, "{ticket}");
	if (mark)
		snprintf(out + w, size - (size_t)w, "\n%.*s%llu%s", (int)(mark - link), link,
			 (unsigned long long)t->ticket_id, mark + 8);
	else
		snprintf(out + w, size - (size_t)w, "\n%s", link);
	gw_utf8_trim(out);
}

/* survey_of - the ticket if it is marked for a survey: its command id and
 * text. GW_OK with *due 1, or *due 0. */
static int survey_of(struct router *r, uint64_t ticket_id, char *cmd_id, size_t cmd_size,
		     char *text, size_t text_size, int *due)
{
	const struct routing *rt = router_routing(r);
	struct store_txn *txn = NULL;
	struct proto_ticket t;
	int rc;

	*due = 0;
	memset(&t, 0, sizeof(t));
	rc = store_txn_begin(router_store(r), 1, &txn);
	if (rc == GW_OK)
		rc = store_ticket_get(txn, ticket_id, &t);
	if (rc == GW_OK && t.survey_sent_at && rt->csat && strcmp(t.status, "closed") == 0) {
		snprintf(cmd_id, cmd_size, "csat-%llu-%lld", (unsigned long long)ticket_id,
			 (long long)t.survey_sent_at);
		survey_text(rt->csat, &t, text, text_size);
		*due = 1;
	}
	store_txn_abort(txn);
	proto_ticket_clear(&t);
	return rc;
}

void csat_send_survey(struct router *r, uint64_t ticket_id)
{
	char cmd_id[80], text[SURVEY_MAX], err[256] = "";
	msgpack_sbuffer args, out;
	msgpack_packer pk;
	uint64_t delivery = 0;
	int due = 0, rc;

	rc = survey_of(r, ticket_id, cmd_id, sizeof(cmd_id), text, sizeof(text), &due);
	if (rc || !due)
		return;
	msgpack_sbuffer_init(&args);
	msgpack_sbuffer_init(&out);
	msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_str_with_body(&pk, "command_id", 10);
	msgpack_pack_str_with_body(&pk, cmd_id, strlen(cmd_id));
	msgpack_pack_str_with_body(&pk, "ticket_id", 9);
	msgpack_pack_uint64(&pk, ticket_id);
	msgpack_pack_str_with_body(&pk, "text", 4);
	msgpack_pack_str_with_body(&pk, text, strlen(text));
	rc = reply_message_send(r, args.data, args.size, &out, &delivery, err, sizeof(err));
	if (rc == GW_OK)
		deliver_one(r, delivery);
	if (rc)
		GW_WARN("router", "ticket %llu: the satisfaction survey was not sent: %s",
			(unsigned long long)ticket_id, err[0] ? err : gw_strerror(rc));
	else
		GW_INFO("router", "ticket %llu: satisfaction survey sent (%s)",
			(unsigned long long)ticket_id, cmd_id);
	msgpack_sbuffer_destroy(&args);
	msgpack_sbuffer_destroy(&out);
}

/* --- the rating rule ------------------------------------------------------- */

/* last_closed - the customer's most recent last ticket (any scope). */
static uint64_t last_closed(const struct proto_customer *c)
{
	uint64_t id = 0;
	int64_t at = 0;

	for (size_t i = 0; i < c->last_tickets_len; i++)
		if (c->last_tickets[i].at >= at) {
			at = c->last_tickets[i].at;
			id = c->last_tickets[i].ticket_id;
		}
	return id;
}

static int take_rating(struct proto_event *msg, struct proto_ticket *t, unsigned score,
		       const char *comment, int64_t now)
{
	char reason[PROTO_MAX_SHORT + 1];

	free(t->csat_comment);
	t->csat_comment = *comment ? gw_strdup(comment) : NULL;
	if (*comment && !t->csat_comment)
		return GW_ENOMEM;
	if (t->csat_comment)
		gw_utf8_cut(t->csat_comment, PROTO_MAX_SHORT);
	t->csat_score = score;
	snprintf(reason, sizeof(reason), "a rating of %u for closed ticket %llu, whose "
		 "satisfaction survey went out %lld min ago", score,
		 (unsigned long long)t->ticket_id, (long long)((now - t->survey_sent_at) / 60000));
	free(msg->u.message.thread_rule);
	free(msg->u.message.thread_reason);
	msg->u.message.thread_rule = gw_strdup("csat");
	msg->u.message.thread_reason = gw_strdup(reason);
	return msg->u.message.thread_rule && msg->u.message.thread_reason ? GW_OK : GW_ENOMEM;
}

int csat_rating(struct batch *b, struct proto_event *msg, const struct proto_customer *c,
		struct proto_ticket *t, int *rated)
{
	const struct gw_config_csat *cs = b->rt->csat;
	const char *comment = "";
	int64_t now = gw_now_ms();
	unsigned score;
	uint64_t id;
	int rc;

	*rated = 0;
	if (!cs || !cs->enabled || c->open_ticket_id || c->open_tickets_len)
		return GW_OK;
	score = csat_parse_rating(msg->u.message.text ? msg->u.message.text : "", &comment);
	id = last_closed(c);
	if (!score || !id)
		return GW_OK;
	proto_ticket_clear(t);
	memset(t, 0, sizeof(*t));
	rc = store_ticket_get(b->txn, id, t);
	if (rc == GW_ENOTFOUND)
		return GW_OK;
	if (rc || t->customer_id != c->customer_id || strcmp(t->status, "closed") != 0 ||
	    !t->survey_sent_at || now - t->survey_sent_at > cs->window_s * 1000) {
		proto_ticket_clear(t);
		memset(t, 0, sizeof(*t));
		return rc;
	}
	*rated = 1;
	return take_rating(msg, t, score, comment, now);
}

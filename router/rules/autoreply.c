/*
 * autoreply.c - automatic messages (autoreply.h): which rule applies, the
 * window per customer, and the entries of the store's autoreply table.
 */
#include "router/rules/autoreply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/calendar.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "router/router.h"

#define AUTOREPLY_FIRE_MAX 64 /* entries handled per tick */

/* Window keys of the kinds (store_autoreply_last_*). */
enum { WIN_ACK = 1, WIN_OUT_OF_HOURS = 2, WIN_STILL_WAITING = 3 };

struct due {
	int64_t due;
	uint64_t ticket_id;
	unsigned kind;
};

struct due_list {
	struct due v[AUTOREPLY_FIRE_MAX];
	size_t n;
};

/* One entry being fired. */
struct fire {
	const struct due *e;
	const struct gw_config *cfg;
	int64_t now;
	uint64_t delivery_id; /* set when a message was made */
	char why[512];        /* why nothing was sent, for the log */
};

int autoreply_ticket_opened(struct batch *b, const struct proto_ticket *t)
{
	return store_autoreply_add(b->txn, gw_now_ms(), t->ticket_id, AUTOREPLY_OPENED);
}

static int matches(const char *row, const char *value)
{
	return !row[0] || (value && strcmp(row, value) == 0);
}

/* rule_of - the first rule of `kind` for the ticket's channel and queue. */
static const struct gw_automation_rule *rule_of(const struct gw_config_automation *a,
						const char *kind, const struct proto_ticket *t)
{
	for (size_t i = 0; i < a->n_rules; i++) {
		const struct gw_automation_rule *r = &a->rules[i];

		if (strcmp(r->kind, kind) == 0 && matches(r->channel, t->channel) &&
		    matches(r->queue, t->queue))
			return r;
	}
	return NULL;
}

/* outside_hours - whether the ticket opened while its queue was closed. */
static int outside_hours(const struct routing *rt, const struct proto_ticket *t)
{
	size_t qi;

	if (!routing_queue(rt, t->queue, &qi) || !rt->queue_cal[qi])
		return 0;
	return !cal_is_open(rt->queue_cal[qi], t->opened_at);
}

/* schedule_waiting - the still-waiting entry of a ticket just opened. */
static int schedule_waiting(struct batch *b, const struct gw_config_automation *a,
			    const struct proto_ticket *t)
{
	const struct gw_automation_rule *r = rule_of(a, "still_waiting", t);

	if (!r || !r->template_name[0])
		return GW_OK;
	return store_autoreply_add(b->txn, t->opened_at + r->after_s * 1000, t->ticket_id,
				   AUTOREPLY_STILL_WAITING);
}

/* choose - the rule and kind of entry `f` for ticket `t`; NULL when
 * nothing is to be sent (f->why says why when it is worth a log line). */
static const struct gw_automation_rule *choose(struct fire *f, const struct routing *rt,
					       const struct proto_ticket *t, const char **kind,
					       unsigned *win)
{
	const struct gw_config_automation *a = &f->cfg->automation;
	const struct gw_automation_rule *r = NULL;

	if (f->e->kind == AUTOREPLY_STILL_WAITING) {
		*kind = "still_waiting";
		*win = WIN_STILL_WAITING;
		if (t->first_response_at) {
			snprintf(f->why, sizeof(f->why), "answered already");
			return NULL;
		}
		r = rule_of(a, *kind, t);
	} else if (outside_hours(rt, t) && (r = rule_of(a, "out_of_hours", t)) &&
		   r->template_name[0]) {
		*kind = "out_of_hours";
		*win = WIN_OUT_OF_HOURS;
	} else {
		*kind = "acknowledgement";
		*win = WIN_ACK;
		r = rule_of(a, *kind, t);
	}
	/* No rule in this scope: nothing to say, every ticket would log it. */
	return r && r->template_name[0] ? r : NULL;
}

/* within_window - whether the customer had a message of `win` lately. */
static int within_window(struct batch *b, struct fire *f, const struct proto_ticket *t,
			 unsigned win, int *inside)
{
	int64_t at = 0;
	int rc = store_autoreply_last_get(b->txn, t->customer_id, win, &at);

	*inside = 0;
	if (rc == GW_ENOTFOUND)
		return GW_OK;
	if (rc == GW_OK && f->cfg->automation.window_s &&
	    f->now - at < f->cfg->automation.window_s * 1000) {
		*inside = 1;
		snprintf(f->why, sizeof(f->why), "customer %llu had one %lld s ago (window %lld s)",
			 (unsigned long long)t->customer_id, (long long)((f->now - at) / 1000),
			 f->cfg->automation.window_s);
	}
	return rc;
}

/* send_for - the message of rule `r` about ticket `t`. */
static int send_for(struct batch *b, struct fire *f, const struct proto_ticket *t,
		    const struct gw_automation_rule *r, const char *kind, unsigned win)
{
	struct reply_auto au = {t->ticket_id, kind, r->template_name, r->whatsapp_template,
				r->whatsapp_language};
	uint64_t seq = 0;
	int rc, inside;

	rc = within_window(b, f, t, win, &inside);
	if (rc || inside)
		return rc;
	rc = reply_auto_send(b, f->cfg, &au, &f->delivery_id, &seq, f->why, sizeof(f->why));
	if (rc == GW_OK)
		rc = store_autoreply_last_put(b->txn, t->customer_id, win, f->now);
	if (rc == GW_OK)
		GW_INFO("autoreply", "ticket %llu: %s (template %s): delivery %llu, seq %llu",
			(unsigned long long)t->ticket_id, kind, r->template_name,
			(unsigned long long)f->delivery_id, (unsigned long long)seq);
	return rc;
}

/* fire_txn - entry f->e (deleted here): the message it stands for. */
static int fire_txn(struct batch *b, void *arg)
{
	struct fire *f = arg;
	const struct gw_automation_rule *r;
	struct proto_ticket t;
	const char *kind = NULL;
	unsigned win = 0;
	int rc;

	memset(&t, 0, sizeof(t));
	b->keep = 1;
	rc = store_autoreply_del(b->txn, f->e->due, f->e->ticket_id, f->e->kind);
	if (rc == GW_OK)
		rc = store_ticket_get(b->txn, f->e->ticket_id, &t);
	if (rc)
		goto out;
	if (f->e->kind == AUTOREPLY_OPENED)
		rc = schedule_waiting(b, &f->cfg->automation, &t);
	if (rc)
		goto out;
	if (!f->cfg->automation.enabled || !t.status || strcmp(t.status, "open") != 0)
		goto out; /* off, or closed meanwhile: nothing to send, nothing to say */
	r = choose(f, b->rt, &t, &kind, &win);
	if (r)
		rc = send_for(b, f, &t, r, kind, win);
out:
	proto_ticket_clear(&t);
	return rc;
}

/* drop_txn - deletes entry f->e without sending: its message cannot be
 * sent. The still-waiting entry of an opening stays due. */
static int drop_txn(struct batch *b, void *arg)
{
	const struct fire *f = arg;
	struct proto_ticket t;
	int rc;

	memset(&t, 0, sizeof(t));
	b->keep = 1;
	rc = store_autoreply_del(b->txn, f->e->due, f->e->ticket_id, f->e->kind);
	if (rc == GW_OK && f->e->kind == AUTOREPLY_OPENED &&
	    store_ticket_get(b->txn, f->e->ticket_id, &t) == GW_OK)
		rc = schedule_waiting(b, &f->cfg->automation, &t);
	proto_ticket_clear(&t);
	return rc;
}

/* A failure that sending again will not cure: the entry is dropped. */
static int permanent(int rc)
{
	return rc == GW_ENOTFOUND || rc == GW_EINVAL || rc == GW_EMISSING || rc == GW_EPERM ||
	       rc == GW_EPROTO || rc == GW_ETOOBIG || rc == GW_ETYPE || rc == GW_EVERSION;
}

static int collect(void *arg, int64_t due, uint64_t ticket_id, unsigned kind)
{
	struct due_list *l = arg;

	l->v[l->n].due = due;
	l->v[l->n].ticket_id = ticket_id;
	l->v[l->n++].kind = kind;
	return 0;
}

/* fire_one - entry `e`: sent, dropped with its reason, or kept on a store
 * failure. */
static int fire_one(struct router *r, const struct due *e, int64_t now)
{
	struct fire f = {e, router_config(r), now, 0, ""};
	int rc = router_txn(r, fire_txn, &f);

	if (rc == GW_OK && f.delivery_id)
		deliver_one(r, f.delivery_id);
	else if (rc == GW_OK && f.why[0])
		GW_INFO("autoreply", "ticket %llu: nothing sent: %s",
			(unsigned long long)e->ticket_id, f.why);
	if (rc && permanent(rc)) {
		GW_WARN("autoreply", "ticket %llu: not sent (%s): %s",
			(unsigned long long)e->ticket_id, gw_err_name(rc),
			f.why[0] ? f.why : gw_strerror(rc));
		rc = router_txn(r, drop_txn, &f);
	}
	if (rc)
		GW_WARN("autoreply", "ticket %llu: %s; tried again in a moment",
			(unsigned long long)e->ticket_id, gw_strerror(rc));
	return rc;
}

int autoreply_tick(struct router *r, int64_t now_ms)
{
	struct due_list *l = malloc(sizeof(*l));
	struct store_txn *txn = NULL;
	int rc, first = GW_OK;

	if (!l)
		return GW_ENOMEM;
	l->n = 0;
	rc = store_txn_begin(router_store(r), 1, &txn);
	if (rc == GW_OK)
		rc = store_autoreply_scan(txn, now_ms, AUTOREPLY_FIRE_MAX, collect, l);
	store_txn_abort(txn);
	for (size_t i = 0; rc == GW_OK && i < l->n; i++) {
		int one = fire_one(r, &l->v[i], now_ms);

		if (one && first == GW_OK)
			first = one;
	}
	free(l);
	return rc ? rc : first;
}

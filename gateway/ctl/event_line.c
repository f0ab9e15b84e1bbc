/*
 * event_line.c - the readable line of an event (event_line.h) and the value
 * formatting gatewayctl's other readable output shares (ctl.h).
 */
#include "gateway/ctl/event_line.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "gateway/ctl/ctl.h"
#include "proto/proto.h"

#define TEXT_EXCERPT_CHARS 60
#define TAGS_LINE_BYTES 512 /* tags on a line, cut beyond */

/* ---- values ---- */

void ctl_put_value(FILE *f, const char *s)
{
	int quote = !*s;
	json_t *j;
	char *text;

	for (const char *p = s; *p && !quote; p++)
		quote = (unsigned char)*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' ||
			*p == 0x7f;
	if (!quote) {
		fputs(s, f);
		return;
	}
	j = json_string(s);
	text = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	/* Not valid UTF-8 (cannot come from a decoded event) or no memory. */
	fputs(text ? text : "\"?\"", f);
	free(text);
	json_decref(j);
}

void ctl_excerpt(const char *s, size_t max, char *buf, size_t size)
{
	size_t chars = 0, i = 0;

	/* Count characters, not bytes: never cut inside a UTF-8 sequence. */
	while (s[i] && chars < max) {
		size_t n = 1;

		while ((s[i + n] & 0xc0) == 0x80)
			n++;
		i += n;
		chars++;
	}
	if (i + 4 > size)
		i = 0;
	snprintf(buf, size, "%.*s%s", (int)i, s, s[i] ? "..." : "");
}

void ctl_format_time(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "-");
}

static void kv_str(FILE *f, const char *key, const char *v)
{
	if (!v)
		return;
	fprintf(f, " %s=", key);
	ctl_put_value(f, v);
}

static void kv_u64(FILE *f, const char *key, uint64_t v)
{
	if (v)
		fprintf(f, " %s=%llu", key, (unsigned long long)v);
}

/* kv_text - an excerpt of a text (a message, a comment). */
static void kv_text(FILE *f, const char *key, const char *v)
{
	char text[TEXT_EXCERPT_CHARS * 4 + 8];

	if (!v)
		return;
	ctl_excerpt(v, TEXT_EXCERPT_CHARS, text, sizeof(text));
	kv_str(f, key, text);
}

/* kv_list - strings joined by ',' (tags), cut at TAGS_LINE_BYTES. */
static void kv_list(FILE *f, const char *key, char *const *v, size_t n)
{
	char buf[TAGS_LINE_BYTES];
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used + 1 < sizeof(buf); i++) {
		int k = snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? "," : "", v[i]);

		if (k < 0 || (size_t)k >= sizeof(buf) - used)
			break;
		used += (size_t)k;
	}
	if (used)
		kv_str(f, key, buf);
}

/* ---- bodies ---- */

static void print_message(FILE *f, const struct proto_message *m)
{
	kv_str(f, "channel", m->channel);
	kv_str(f, "account", m->account);
	kv_str(f, "external_id", m->external_id);
	kv_u64(f, "customer", m->customer_id);
	kv_u64(f, "thread", m->thread_id);
	kv_u64(f, "ticket", m->ticket_id);
	kv_str(f, "from", m->from.address);
	kv_text(f, "text", m->text ? m->text : "");
}

static void print_ticket(FILE *f, const struct proto_ticket *t)
{
	kv_u64(f, "ticket", t->ticket_id);
	kv_u64(f, "customer", t->customer_id);
	kv_str(f, "status", t->status);
	kv_str(f, "channel", t->channel);
	kv_str(f, "priority", t->priority);
	kv_str(f, "queue", t->queue);
	kv_str(f, "agent", t->agent_id);
	kv_u64(f, "messages", t->message_count);
	kv_u64(f, "last_seq", t->last_message_seq);
	kv_u64(f, "reopens", t->reopen_count);
	kv_list(f, "tags", t->tags, t->tags_len);
	kv_u64(f, "merged_into", t->merged_into);
	kv_u64(f, "split_from", t->split_from);
	kv_u64(f, "splits", t->splits_len);
	kv_u64(f, "csat", t->csat_score);
	kv_str(f, "reason", t->assign_reason);
	kv_str(f, "cause", t->cause);
}

/* print_rated - ticket.rated: the rating first, then the ticket. */
static void print_rated(FILE *f, const struct proto_ticket *t)
{
	kv_u64(f, "ticket", t->ticket_id);
	kv_u64(f, "customer", t->customer_id);
	kv_u64(f, "csat", t->csat_score);
	kv_text(f, "comment", t->csat_comment);
	kv_str(f, "queue", t->queue);
	kv_str(f, "agent", t->agent_id);
	kv_str(f, "cause", t->cause);
}

static void print_customer(FILE *f, const struct proto_customer *c)
{
	kv_u64(f, "customer", c->customer_id);
	kv_u64(f, "thread", c->thread_id);
	kv_str(f, "channel", c->channel);
	kv_str(f, "address", c->address);
	kv_str(f, "name", c->name);
	kv_u64(f, "open_ticket", c->open_ticket_id);
	kv_u64(f, "merged_into", c->merged_into);
	kv_u64(f, "probable_match", c->probable_match);
}

static void print_merge(FILE *f, const struct proto_merge *m)
{
	kv_u64(f, "merge", m->merge_id);
	kv_u64(f, "source", m->source_customer_id);
	kv_u64(f, "target", m->target_customer_id);
	kv_u64(f, "identities", m->identities_len);
	kv_u64(f, "tickets", m->tickets_len);
	kv_str(f, "cause", m->cause);
}

static void print_sla(FILE *f, const struct proto_sla_alert *s)
{
	char due[32];

	kv_u64(f, "ticket", s->ticket_id);
	kv_u64(f, "customer", s->customer_id);
	kv_str(f, "clock", s->clock);
	ctl_format_time(s->due_at, due, sizeof(due));
	kv_str(f, "due", due);
	kv_str(f, "queue", s->queue);
	kv_str(f, "agent", s->agent_id);
	kv_u64(f, "target_minutes", s->target_minutes);
}

static void print_agent(FILE *f, const struct proto_agent *a)
{
	kv_str(f, "agent", a->agent_id);
	kv_str(f, "presence", a->presence);
	kv_u64(f, "open_tickets", a->open_tickets);
	kv_u64(f, "capacity", a->capacity);
	kv_str(f, "cause", a->cause);
}

static void print_presence(FILE *f, const struct proto_ticket_presence *p)
{
	kv_u64(f, "ticket", p->ticket_id);
	kv_str(f, "agent", p->agent_id);
	kv_str(f, "assignee", p->assignee);
}

static void print_typing(FILE *f, const struct proto_typing *t)
{
	kv_str(f, "channel", t->channel);
	kv_str(f, "account", t->account);
	kv_str(f, "address", t->address);
}

static void print_change(FILE *f, const struct proto_event *ev)
{
	if (ev->type == PROTO_T_MESSAGE_STATUS) {
		kv_str(f, "channel", ev->u.status.channel);
		kv_str(f, "external_id", ev->u.status.external_id);
		kv_str(f, "status", ev->u.status.status);
		kv_u64(f, "message_seq", ev->u.status.message_seq);
		kv_u64(f, "customer", ev->u.status.customer_id);
		kv_u64(f, "ticket", ev->u.status.ticket_id);
		return;
	}
	kv_str(f, "channel", ev->u.change.channel);
	kv_str(f, "external_id", ev->u.change.external_id);
	kv_u64(f, "message_seq", ev->u.change.message_seq);
	kv_u64(f, "customer", ev->u.change.customer_id);
	kv_u64(f, "ticket", ev->u.change.ticket_id);
}

/* print_body - the key fields by the body the type carries (schema.def's
 * PROTO_EVENT lines); no default: -Wswitch names a type left out. */
static void print_body(FILE *f, const struct proto_event *ev)
{
	switch (ev->type) {
	case PROTO_T_NONE:
	case PROTO_T__COUNT:
		break;
	case PROTO_T_MESSAGE_RECEIVED:
	case PROTO_T_MESSAGE_SENT:
		print_message(f, &ev->u.message);
		break;
	case PROTO_T_MESSAGE_STATUS:
	case PROTO_T_MESSAGE_EDITED:
	case PROTO_T_MESSAGE_DELETED:
		print_change(f, ev);
		break;
	case PROTO_T_CUSTOMER_CREATED:
	case PROTO_T_CUSTOMER_UPDATED:
		print_customer(f, &ev->u.customer);
		break;
	case PROTO_T_CUSTOMER_MERGED:
	case PROTO_T_CUSTOMER_UNMERGED:
		print_merge(f, &ev->u.merge);
		break;
	case PROTO_T_TICKET_CREATED:
	case PROTO_T_TICKET_UPDATED:
	case PROTO_T_TICKET_ASSIGNED:
	case PROTO_T_TICKET_CLOSED:
	case PROTO_T_TICKET_REOPENED:
	case PROTO_T_TICKET_PRIORITY_CHANGED:
	case PROTO_T_TICKET_ESCALATED:
	case PROTO_T_TICKET_MERGED:
	case PROTO_T_TICKET_SPLIT:
		print_ticket(f, &ev->u.ticket);
		break;
	case PROTO_T_TICKET_RATED:
		print_rated(f, &ev->u.ticket);
		break;
	case PROTO_T_TICKET_SLA_WARNING:
	case PROTO_T_TICKET_SLA_BREACHED:
		print_sla(f, &ev->u.sla);
		break;
	case PROTO_T_AGENT_PRESENCE:
		print_agent(f, &ev->u.agent);
		break;
	case PROTO_T_TICKET_VIEWING:
	case PROTO_T_TICKET_TYPING:
		print_presence(f, &ev->u.presence);
		break;
	case PROTO_T_CHAT_TYPING:
		print_typing(f, &ev->u.typing);
		break;
	}
}

void ctl_event_line(FILE *f, const struct proto_event *ev)
{
	const char *name = proto_type_name(ev->type);

	fprintf(f, "%llu %s", (unsigned long long)ev->seq, name ? name : "?");
	print_body(f, ev);
	fputc('\n', f);
}

/*
 * ctl_query.c - `gatewayctl ticket ID` and `gatewayctl customer ID`: one
 * request to the command socket, the reply as indented JSON (--json) or as
 * a short readable summary. Field names are those of proto/schema.def.
 */
#include "gateway/ctl/ctl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "proto/wire.h"

#define EXCERPT_CHARS 60

static const char *str_of(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "-";
}

static unsigned long long u64_of(json_t *obj, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(obj, key));

	return v > 0 ? (unsigned long long)v : 0;
}

static const char *time_of(json_t *obj, const char *key, char *buf, size_t size)
{
	ctl_format_time(json_integer_value(json_object_get(obj, key)), buf, size);
	return buf;
}

/* A text excerpt fit for one table cell: control characters become blanks. */
static void cell_excerpt(const char *s, char *buf, size_t size)
{
	ctl_excerpt(s, EXCERPT_CHARS, buf, size);
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = ' ';
}

static int query(struct ctl *ctl, const char *cmd, json_t **out)
{
	struct ctl_reply r = {0};
	char *args = NULL;
	size_t len = 0;
	int rc = ctl_args_u64("id", ctl->id, NULL, 0, &args, &len);

	*out = NULL;
	if (rc == CTL_EXIT_OK)
		rc = ctl_request(ctl, cmd, args, len, &r);
	if (rc == CTL_EXIT_OK && !(*out = ctl_frame_json(&r, 1))) {
		fprintf(stderr, "gatewayctl: malformed %s reply from %s\n", cmd, ctl->command);
		rc = CTL_EXIT_ERROR;
	}
	ctl_reply_free(&r);
	free(args);
	return rc;
}

static int print_json(json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(2));

	if (!text) {
		fprintf(stderr, "gatewayctl: out of memory\n");
		return CTL_EXIT_ERROR;
	}
	puts(text);
	free(text);
	return CTL_EXIT_OK;
}

static void print_messages(json_t *msgs)
{
	char when[32], text[EXCERPT_CHARS * 4 + 8];
	size_t i;
	json_t *m;

	printf("\n  %-8s %-20s %-17s %-10s %-24s %s\n", "SEQ", "TIME", "EVENT", "CHANNEL",
	       "FROM", "TEXT");
	json_array_foreach(msgs, i, m) {
		/* An outbound message shows its recipient; an edit or a delete
		 * has no sender of its own. */
		const char *type = str_of(m, "type");
		int sent = strcmp(type, "message.sent") == 0;
		json_t *who = json_object_get(m, sent ? "to" : "from");
		const char *t = json_string_value(json_object_get(m, "text"));

		cell_excerpt(t ? t : "", text, sizeof(text));
		printf("  %-8llu %-20s %-17s %-10s %s%-22s %s\n", u64_of(m, "seq"),
		       time_of(m, "ts", when, sizeof(when)), type, str_of(m, "channel"),
		       sent ? "> " : "  ", str_of(who, "address"), text);
	}
}

/* A label and its value, aligned: "  queue        support". */
static void row(const char *label, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void row(const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("  %-13s", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* row_text - a label and a text from the record, printed safely; nothing
 * when the record has no such text. */
static void row_text(const char *label, json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));

	if (!v)
		return;
	printf("  %-13s", label);
	ctl_put_value(stdout, v);
	putchar('\n');
}

/* row_id - an id, or "none" for 0 (a customer with no open ticket). */
static void row_id(const char *label, json_t *obj, const char *key)
{
	unsigned long long v = u64_of(obj, key);

	if (v)
		row(label, "%llu", v);
	else
		row(label, "none");
}

static void print_ticket_sla(json_t *t)
{
	char due[32], at[32];

	if (json_integer_value(json_object_get(t, "first_response_due")) > 0)
		row("first reply", "due %s, %s",
		    time_of(t, "first_response_due", due, sizeof(due)),
		    str_of(t, "sla_first_response"));
	if (json_integer_value(json_object_get(t, "first_response_at")) > 0)
		row("answered", "%s", time_of(t, "first_response_at", at, sizeof(at)));
	if (json_integer_value(json_object_get(t, "resolution_due")) > 0)
		row("resolution", "due %s, %s", time_of(t, "resolution_due", due, sizeof(due)),
		    str_of(t, "sla_resolution"));
}

static void print_ticket(json_t *reply)
{
	json_t *t = json_object_get(reply, "ticket");
	json_t *msgs = json_object_get(reply, "messages");
	char when[32];

	printf("ticket %llu: %s, channel %s\n", u64_of(t, "ticket_id"), str_of(t, "status"),
	       str_of(t, "channel"));
	row("customer", "%llu", u64_of(t, "customer_id"));
	row("thread", "%llu", u64_of(t, "thread_id"));
	row_text("subject", t, "subject");
	row_text("priority", t, "priority");
	row_text("queue", t, "queue");
	row_text("agent", t, "agent_id");
	row_text("language", t, "language");
	row("opened", "%s", time_of(t, "opened_at", when, sizeof(when)));
	row("updated", "%s", time_of(t, "updated_at", when, sizeof(when)));
	if (json_integer_value(json_object_get(t, "closed_at")) > 0)
		row("closed", "%s", time_of(t, "closed_at", when, sizeof(when)));
	print_ticket_sla(t);
	row("messages", "%llu (last seq %llu)", u64_of(t, "message_count"),
	    u64_of(t, "last_message_seq"));
	if (json_array_size(msgs) > 0)
		print_messages(msgs);
}

static void print_tickets(json_t *tickets)
{
	char opened[32], updated[32], subject[EXCERPT_CHARS * 4 + 8];
	size_t i;
	json_t *t;

	printf("\n  %-8s %-8s %-10s %-20s %-20s %-6s %s\n", "TICKET", "STATUS", "CHANNEL",
	       "OPENED", "UPDATED", "MSGS", "SUBJECT");
	json_array_foreach(tickets, i, t) {
		const char *s = json_string_value(json_object_get(t, "subject"));

		cell_excerpt(s ? s : "", subject, sizeof(subject));
		printf("  %-8llu %-8s %-10s %-20s %-20s %-6llu %s\n", u64_of(t, "ticket_id"),
		       str_of(t, "status"), str_of(t, "channel"),
		       time_of(t, "opened_at", opened, sizeof(opened)),
		       time_of(t, "updated_at", updated, sizeof(updated)),
		       u64_of(t, "message_count"), subject);
	}
}

/* print_match - where a merge is due: merged already, or a probable match
 * (router/rules/identity.h) with the command that settles it. */
static void print_match(json_t *c)
{
	unsigned long long id = u64_of(c, "customer_id"), other = u64_of(c, "probable_match");
	const char *why = json_string_value(json_object_get(c, "probable_match_reason"));

	if (u64_of(c, "merged_into")) {
		printf("  merged into customer %llu\n", u64_of(c, "merged_into"));
		return;
	}
	if (!other)
		return;
	printf("  probable match: customer %llu", other);
	if (why) {
		printf(": ");
		ctl_put_value(stdout, why);
	}
	printf("\n  if they are one person: gatewayctl customer merge %llu %llu\n", id, other);
}

static void print_customer(json_t *reply)
{
	json_t *c = json_object_get(reply, "customer");
	json_t *tickets = json_object_get(reply, "tickets");
	char created[32];

	printf("customer %llu: %s on %s\n", u64_of(c, "customer_id"), str_of(c, "address"),
	       str_of(c, "channel"));
	row_text("name", c, "name");
	row_text("language", c, "language");
	row_text("last agent", c, "last_agent");
	row("thread", "%llu", u64_of(c, "thread_id"));
	row("created", "%s", time_of(c, "created_at", created, sizeof(created)));
	row_id("open ticket", c, "open_ticket_id");
	row("tickets", "%llu", u64_of(c, "ticket_count"));
	row("messages", "%llu", u64_of(c, "message_count"));
	print_match(c);
	if (json_array_size(tickets) > 0)
		print_tickets(tickets);
}

static int run_query(struct ctl *ctl, const char *cmd, void (*print)(json_t *))
{
	json_t *reply = NULL;
	int rc = query(ctl, cmd, &reply);

	if (rc == CTL_EXIT_OK) {
		if (ctl->json)
			rc = print_json(reply);
		else
			print(reply);
	}
	json_decref(reply);
	return rc;
}

int ctl_cmd_ticket(struct ctl *ctl)
{
	return run_query(ctl, WIRE_CMD_TICKET_GET, print_ticket);
}

int ctl_cmd_customer(struct ctl *ctl)
{
	return run_query(ctl, WIRE_CMD_CUSTOMER_GET, print_customer);
}

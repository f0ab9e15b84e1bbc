/*
 * templates.h - canned responses and the texts of automatic messages: the
 * config's `automation.templates[]` rendered for one ticket and customer
 * (docs/automation.md). Runs on the router's thread, inside a transaction;
 * reads only what it is given.
 *
 * Variables:
 *   customer.name         the customer's name, else the sender's display
 *                         name on the ticket's channel, else ""
 *   customer.attr.X       the customer's attribute X (contacts import)
 *   ticket.id             the ticket's number ("123"); ticket.token its
 *                         token "[#T-123]" (a reply with it in the subject
 *                         joins the ticket); ticket.subject ("" when none)
 *   agent.name            the message's author, else the ticket's agent's
 *                         name (routing.agents[]), else the agent id
 *   sla.first_response    the first-response due time, "YYYY-MM-DD HH:MM
 *                         <zone>" in the queue's time zone;
 *                         sla.first_response_min the minutes left to it
 *   hours.next_open       the queue's next opening (now while it is open),
 *                         in the same form
 *   anything else         a variable the caller gives (--var k=v)
 * A variable the template uses that none of these defines (no agent, no
 * SLA target, a queue open around the clock, an unknown name) fails the
 * render with GW_EMISSING naming it: nothing is sent.
 */
#ifndef GW_ROUTER_TEMPLATES_H
#define GW_ROUTER_TEMPLATES_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "proto/proto.h"

struct routing;

#define TEMPLATES_MAX_VARS 32      /* variables a command may give */
#define TEMPLATES_MAX_VALUE 4096   /* bytes of one variable's value */
#define TEMPLATES_MAX_TEXT 65536   /* bytes of a rendered text */

/* What a template is rendered with; every pointer borrowed, any may be
 * NULL but `a` and `rt`. */
struct templates_ctx {
	const struct gw_config_automation *a;
	const struct routing *rt;
	const struct proto_ticket *ticket;
	const struct proto_customer *customer;
	const char *sender_name; /* the customer's display name on the channel */
	const char *author;      /* who sends it (message.send's author) */
	const char *const *vars; /* n_vars pairs: name, value */
	size_t n_vars;
	int64_t now_ms;
};

/*
 * templates_find - the entry of template `name` for `language` (NULL or
 * unknown: the default entry, language ""), or NULL when the name has
 * neither. Borrowed from the config.
 */
const struct gw_automation_template *templates_find(const struct gw_config_automation *a,
						    const char *name, const char *language);

/*
 * templates_render - renders template `name` in `language` into *text and
 * *subject (malloc'ed, the caller frees; *subject NULL when the entry has
 * none). GW_OK; GW_ENOTFOUND (no such template), GW_EMISSING (a variable
 * nothing defines), GW_EPROTO, GW_ETOOBIG, GW_ENOMEM with `err` saying
 * which in words ("template 'ack': missing variable 'agent.name'").
 */
int templates_render(const struct templates_ctx *x, const char *name, const char *language,
		     char **text, char **subject, char *err, size_t errlen);

#endif

/*
 * match.h - the conditions the routing rules share: the queue rules
 * (assign.c), the tag rules (tagging.c) and the escalation rules
 * (escalation.c) each test a value against a config list, keywords against
 * a message and attributes against a customer. What an empty list means
 * (most rules read it as "any") is each rule's own: these answer only as
 * written below.
 *
 * Threading: pure functions.
 */
#ifndef GW_ROUTER_RULES_MATCH_H
#define GW_ROUTER_RULES_MATCH_H

#include "core/config.h"
#include "proto/proto.h"

/* match_list_has - `v` is one of `l` (exact bytes); 0 for a NULL v. */
int match_list_has(const struct conf_strlist *l, const char *v);

/*
 * match_keywords - one of `l` is in the message's subject or text, ASCII
 * case-insensitive (the router runs in the C locale); 0 for an empty l.
 */
int match_keywords(const struct conf_strlist *l, const struct proto_message *m);

/*
 * match_attributes - every "key=value" of `l` is one of the customer's
 * attributes; 1 for an empty l, 0 for a NULL customer otherwise.
 */
int match_attributes(const struct conf_strlist *l, const struct proto_customer *c);

#endif

/*
 * tags.c - the ticket.tag command: tags added to and removed from a ticket
 * by hand (rules add them too: rules/tagging.c).
 *
 *   args    {command_id, ticket_id, changes}: changes is words separated by
 *           spaces or commas, "+tag" (or "tag") adds, "-tag" removes; each
 *           tag 1 to 64 of lowercase letters, digits, - _ . : (uppercase
 *           letters are lowered)
 *   once    per command_id (routing_once): the same id again answers the
 *           first seq with duplicate: true and changes nothing
 *   events  ticket.updated with cause "command <id>: tags +a -b", indexed
 *           in the ticket's trace; nothing when no tag changed (seq 0)
 *   answer  {seq, duplicate, ticket_id, tags: [...]} (tags as they are now)
 */
#include "router/router.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_tables.h"
#include "core/err.h"
#include "core/util.h"
#include "router/rules/tag_parse.h"

#define TAG_MAX_COMMAND_ID 200 /* as message.send */
#define TAG_MAX_CHANGES 2048

struct tag_args {
	char *command_id, *changes;
	uint64_t ticket_id;
};

static const struct cmdarg tag_spec[] = {
	{"command_id", CMDARG_STR, TAG_MAX_COMMAND_ID, 1, offsetof(struct tag_args, command_id)},
	{"ticket_id", CMDARG_UINT, 0, 1, offsetof(struct tag_args, ticket_id)},
	{"changes", CMDARG_STR, TAG_MAX_CHANGES, 1, offsetof(struct tag_args, changes)},
};

#define N_TAG_SPEC (sizeof(tag_spec) / sizeof(tag_spec[0]))

struct tag_ctx {
	const struct tag_args *a;
	struct tag_change ch[TAG_PARSE_MAX_WORDS];
	size_t n;
	struct proto_ticket now; /* the ticket after the command, for the answer */
	char *err;
	size_t errlen;
};

/* parse_changes - x->a->changes into x->ch (rules/tag_parse.h). */
static int parse_changes(struct tag_ctx *x)
{
	return tag_parse_changes(x->a->changes, x->ch, &x->n, x->err, x->errlen);
}

/* apply_changes - the changes on `t`; the cause lists those that did. */
static int apply_changes(struct tag_ctx *x, struct proto_ticket *t, char *cause, size_t size,
			 int *changed)
{
	size_t len = (size_t)snprintf(cause, size, "command %s: tags", x->a->command_id);
	int rc = GW_OK;

	for (size_t i = 0; rc == GW_OK && i < x->n; i++) {
		int did = 0;

		rc = x->ch[i].remove ? ticket_tag_remove(t, x->ch[i].tag, &did)
				     : ticket_tag_add(t, x->ch[i].tag, &did);
		if (rc == GW_EFULL)
			snprintf(x->err, x->errlen, "ticket %llu has %d tags already",
				 (unsigned long long)t->ticket_id, PROTO_MAX_TAGS);
		if (did && len < size)
			len += (size_t)snprintf(cause + len, size - len, " %c%s",
						x->ch[i].remove ? '-' : '+', x->ch[i].tag);
		*changed |= did;
	}
	gw_utf8_trim(cause);
	return rc == GW_EFULL ? GW_EINVAL : rc;
}

static int tag_txn(struct batch *b, void *arg)
{
	struct tag_ctx *x = arg;
	char cause[PROTO_MAX_SHORT + 1];
	int changed = 0, rc;

	rc = store_ticket_get(b->txn, x->a->ticket_id, &x->now);
	if (rc == GW_ENOTFOUND)
		snprintf(x->err, x->errlen, "no ticket %llu", (unsigned long long)x->a->ticket_id);
	if (rc == GW_OK)
		rc = apply_changes(x, &x->now, cause, sizeof(cause), &changed);
	if (rc || !changed)
		return rc;
	x->now.updated_at = gw_now_ms();
	rc = store_ticket_put(b->txn, &x->now);
	if (rc == GW_OK)
		rc = route_emit_ticket(b, PROTO_T_TICKET_UPDATED, &x->now, cause);
	if (rc == GW_OK)
		rc = store_ticket_trace_append(b->txn, x->now.ticket_id, b->head);
	return rc;
}

/* current_tags - for a repeated command: the ticket as it is now. */
static void current_tags(struct router *r, struct tag_ctx *x)
{
	struct store_txn *txn = NULL;

	proto_ticket_clear(&x->now);
	/* Not found or unreadable: answered without the current tags. */
	if (store_txn_begin(router_store(r), 1, &txn) == GW_OK &&
	    store_ticket_get(txn, x->a->ticket_id, &x->now) != GW_OK)
		proto_ticket_clear(&x->now);
	store_txn_abort(txn);
}

static void pack_answer(const struct tag_ctx *x, uint64_t seq, int dup, msgpack_sbuffer *out)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	cmdans_head(&pk, 4, seq, dup);
	cmdans_u64(&pk, "ticket_id", x->a->ticket_id);
	cmdans_key(&pk, "tags");
	msgpack_pack_array(&pk, (uint32_t)x->now.tags_len);
	for (size_t i = 0; i < x->now.tags_len; i++)
		msgpack_pack_str_with_body(&pk, x->now.tags[i], strlen(x->now.tags[i]));
}

int tags_ticket_tag(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
		    char *err, size_t errlen)
{
	struct tag_args a;
	struct tag_ctx *x = calloc(1, sizeof(*x));
	uint64_t seq = 0;
	int dup = 0, rc;

	memset(&a, 0, sizeof(a));
	err[0] = '\0';
	if (!x)
		return GW_ENOMEM;
	x->a = &a;
	x->err = err;
	x->errlen = errlen;
	rc = cmdargs_parse(args, len, tag_spec, N_TAG_SPEC, &a, err, errlen);
	if (rc == GW_OK)
		rc = parse_changes(x);
	if (rc == GW_OK)
		rc = routing_once(r, a.command_id, tag_txn, x, &seq, &dup);
	if (rc == GW_OK && (dup || !seq))
		current_tags(r, x);
	if (rc == GW_OK)
		pack_answer(x, seq, dup, out);
	else if (!err[0])
		snprintf(err, errlen, "%s", gw_strerror(rc));
	proto_ticket_clear(&x->now);
	cmdargs_free(tag_spec, N_TAG_SPEC, &a);
	free(x);
	return rc;
}

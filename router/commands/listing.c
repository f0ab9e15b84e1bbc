/*
 * listing.c - ticket.list: the stored tickets in id order, filtered by
 * status, queue, agent and tag, a page at a time (docs/events.md, "Other
 * commands"). Read only: a consumer key may run it.
 */
#include "router/rules/routing.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "core/err.h"
#include "proto/proto.h"
#include "router/router.h"
#include "store/store.h"

#define LIST_DEFAULT 50
#define LIST_MAX 1000
#define LIST_SCAN_MAX 20000 /* tickets looked at by one request */

struct list_args {
	char *status, *queue, *agent_id, *tag;
	uint64_t from, limit;
};

static const struct cmdarg list_spec[] = {
	{"status", CMDARG_STR, PROTO_MAX_STATUS, 0, offsetof(struct list_args, status)},
	{"queue", CMDARG_STR, PROTO_MAX_AGENT, 0, offsetof(struct list_args, queue)},
	{"agent_id", CMDARG_STR, PROTO_MAX_AGENT, 0, offsetof(struct list_args, agent_id)},
	{"tag", CMDARG_STR, PROTO_MAX_TAG, 0, offsetof(struct list_args, tag)},
	{"from", CMDARG_UINT, 0, 0, offsetof(struct list_args, from)},
	{"limit", CMDARG_UINT, 0, 0, offsetof(struct list_args, limit)},
};

#define N_SPEC(s) (sizeof(s) / sizeof((s)[0]))

struct list_ctx {
	const struct list_args *a;
	msgpack_sbuffer body; /* the matching records, packed one after the other */
	size_t n;
	int err;
};

static int field_is(const char *want, const char *have)
{
	return !want || !*want || (have && strcmp(want, have) == 0);
}

/* has_tag - no tag asked for, or the ticket has it. */
static int has_tag(const char *want, const struct proto_ticket *t)
{
	for (size_t i = 0; want && *want && i < t->tags_len; i++)
		if (strcmp(want, t->tags[i]) == 0)
			return 1;
	return !want || !*want;
}

/* list_one - keeps the ticket when it passes the filters; stops at limit. */
static int list_one(void *arg, uint64_t id, const void *data, size_t len)
{
	struct list_ctx *l = arg;
	struct proto_ticket t;
	struct proto_error perr;
	int keep;

	(void)id;
	memset(&t, 0, sizeof(t));
	if (proto_ticket_decode(data, len, &t, &perr) != GW_OK)
		return 0; /* logged by the store's readers; skipped here */
	keep = field_is(l->a->status, t.status) && field_is(l->a->queue, t.queue) &&
	       field_is(l->a->agent_id, t.agent_id) && has_tag(l->a->tag, &t);
	proto_ticket_clear(&t);
	if (!keep)
		return 0;
	msgpack_sbuffer_write(&l->body, data, len);
	return ++l->n >= l->a->limit;
}

static int list_check(struct list_args *a, char *err, size_t errlen)
{
	if (a->limit == 0)
		a->limit = LIST_DEFAULT;
	if (a->limit > LIST_MAX) {
		snprintf(err, errlen, "limit: at most %d", LIST_MAX);
		return GW_EINVAL;
	}
	if (a->status && *a->status && strcmp(a->status, "open") != 0 &&
	    strcmp(a->status, "closed") != 0) {
		snprintf(err, errlen, "status: '%s' is not one of open, closed", a->status);
		return GW_EINVAL;
	}
	if (a->from == 0)
		a->from = 1;
	return GW_OK;
}

int ticket_list(struct router *r, const void *args, size_t len, msgpack_sbuffer *out,
		char *err, size_t errlen)
{
	struct list_args a = {0};
	struct list_ctx l = {.a = &a};
	struct store_txn *txn = NULL;
	msgpack_packer pk;
	uint64_t next = 0;
	int rc;

	msgpack_sbuffer_init(&l.body);
	rc = cmdargs_parse(args, len, list_spec, N_SPEC(list_spec), &a, err, errlen);
	if (rc == GW_OK)
		rc = list_check(&a, err, errlen);
	if (rc == GW_OK)
		rc = store_txn_begin(router_store(r), 1, &txn);
	if (rc == GW_OK)
		rc = store_ticket_scan(txn, a.from, LIST_SCAN_MAX, list_one, &l, &next);
	if (rc)
		goto out;
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "tickets", 7);
	msgpack_pack_array(&pk, (uint32_t)l.n);
	msgpack_sbuffer_write(out, l.body.data, l.body.size);
	msgpack_pack_str_with_body(&pk, "next", 4);
	msgpack_pack_uint64(&pk, next);
out:
	if (rc && rc != GW_EINVAL && !*err)
		snprintf(err, errlen, "ticket list failed: store error");
	store_txn_abort(txn);
	msgpack_sbuffer_destroy(&l.body);
	cmdargs_free(list_spec, N_SPEC(list_spec), &a);
	return rc;
}

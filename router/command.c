/*
 * command.c - the router's command socket: replay, queries, status and
 * message.send (its logic is in reply.c).
 * Frames and commands are described in proto/wire.h and docs/events.md.
 * Requests come from REQ sockets (with an empty delimiter frame) or DEALER
 * sockets (with or without one); the reply mirrors the envelope.
 */
#include "router/router.h"

#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "core/err.h"
#include "core/log.h"
#include "proto/wire.h"

#define CMD_MAX_FRAMES 4
#define CMD_MAX_LISTED 1000 /* messages or tickets listed by one query */

struct cmd_ctx {
	struct router *r;
	void *sock;
	zmq_msg_t *peer;
	int delimited;   /* the request had an empty delimiter frame */
	uint64_t id, from, limit;
	const void *args; /* the request's argument frame, borrowed */
	size_t args_len;
	char err[160];
};

static void send_envelope(struct cmd_ctx *c)
{
	zmq_msg_t copy;

	zmq_msg_init(&copy);
	zmq_msg_copy(&copy, c->peer);
	zmq_msg_send(&copy, c->sock, ZMQ_SNDMORE);
	zmq_msg_close(&copy);
	if (c->delimited)
		zmq_send(c->sock, "", 0, ZMQ_SNDMORE);
}

static void reply_error(struct cmd_ctx *c, int code, const char *message)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	const char *name = gw_err_name(code);

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "code", 4);
	msgpack_pack_str_with_body(&pk, name, strlen(name));
	msgpack_pack_str_with_body(&pk, "message", 7);
	msgpack_pack_str_with_body(&pk, message, strlen(message));
	send_envelope(c);
	zmq_send(c->sock, WIRE_REPLY_ERROR, strlen(WIRE_REPLY_ERROR), ZMQ_SNDMORE);
	zmq_send(c->sock, sb.data, sb.size, 0);
	msgpack_sbuffer_destroy(&sb);
}

static void reply_ok(struct cmd_ctx *c, const msgpack_sbuffer *sb)
{
	send_envelope(c);
	zmq_send(c->sock, WIRE_REPLY_OK, strlen(WIRE_REPLY_OK), ZMQ_SNDMORE);
	zmq_send(c->sock, sb->data, sb->size, 0);
}

/* parse_args - reads the uint arguments this module knows from the map. */
static int parse_args(struct cmd_ctx *c, const void *data, size_t len)
{
	msgpack_unpacked u;
	size_t off = 0;
	int rc = GW_OK;

	if (len == 0)
		return GW_OK;
	msgpack_unpacked_init(&u);
	if (proto_msgpack_check(data, len) != GW_OK ||
	    msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    u.data.type != MSGPACK_OBJECT_MAP || off != len) {
		snprintf(c->err, sizeof(c->err), "arguments must be one msgpack map");
		rc = GW_EPROTO;
		goto out;
	}
	for (uint32_t i = 0; i < u.data.via.map.size; i++) {
		const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
		uint64_t *dst = NULL;

		if (kv->key.type != MSGPACK_OBJECT_STR)
			continue;
		if (kv->key.via.str.size == 2 && memcmp(kv->key.via.str.ptr, "id", 2) == 0)
			dst = &c->id;
		else if (kv->key.via.str.size == 4 && memcmp(kv->key.via.str.ptr, "from", 4) == 0)
			dst = &c->from;
		else if (kv->key.via.str.size == 5 && memcmp(kv->key.via.str.ptr, "limit", 5) == 0)
			dst = &c->limit;
		if (!dst)
			continue;
		if (kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
			snprintf(c->err, sizeof(c->err), "%.*s: expected a non-negative integer",
				 (int)kv->key.via.str.size, kv->key.via.str.ptr);
			rc = GW_ETYPE;
			goto out;
		}
		*dst = kv->val.via.u64;
	}
out:
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* --- replay ------------------------------------------------------------ */

struct replay_item {
	const char *type;
	size_t type_len;
	const void *data;
	size_t len;
};

struct replay_ctx {
	struct replay_item *items;
	size_t n, max, bytes;
	uint64_t next;
};

static int replay_collect(void *arg, uint64_t seq, const char *type, size_t type_len,
			  const void *data, size_t len)
{
	struct replay_ctx *rc = arg;

	if (rc->n >= rc->max || (rc->n > 0 && rc->bytes + len > WIRE_REPLAY_MAX_BYTES))
		return 1;
	rc->items[rc->n++] = (struct replay_item){type, type_len, data, len};
	rc->bytes += len;
	rc->next = seq + 1;
	return 0;
}

static void pack_uint_field(msgpack_packer *pk, const char *key, uint64_t v)
{
	msgpack_pack_str_with_body(pk, key, strlen(key));
	msgpack_pack_uint64(pk, v);
}

static void cmd_replay(struct cmd_ctx *c)
{
	struct replay_ctx rc = {0};
	struct store_txn *txn = NULL;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint64_t head = 0;
	int err;

	c->from = c->from ? c->from : 1;
	rc.max = c->limit ? c->limit : WIRE_REPLAY_DEFAULT_LIMIT;
	if (rc.max > WIRE_REPLAY_MAX_LIMIT)
		rc.max = WIRE_REPLAY_MAX_LIMIT;
	rc.next = c->from;
	rc.items = calloc(rc.max, sizeof(*rc.items));
	err = rc.items ? store_txn_begin(router_store(c->r), 1, &txn) : GW_ENOMEM;
	if (err == GW_OK)
		err = store_eventlog_head(txn, &head);
	if (err == GW_OK)
		err = store_eventlog_scan(txn, c->from, replay_collect, &rc);
	if (err) {
		reply_error(c, err, "replay failed: store error");
		goto out;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4);
	pack_uint_field(&pk, "from", c->from);
	/* With no event found, `from` is past the head: the consumer is up to
	 * date and asks again from the same place. */
	pack_uint_field(&pk, "next", rc.n ? rc.next : c->from);
	pack_uint_field(&pk, "head", head);
	pack_uint_field(&pk, "count", rc.n);
	send_envelope(c);
	zmq_send(c->sock, WIRE_REPLY_OK, strlen(WIRE_REPLY_OK), ZMQ_SNDMORE);
	zmq_send(c->sock, sb.data, sb.size, rc.n ? ZMQ_SNDMORE : 0);
	msgpack_sbuffer_destroy(&sb);
	for (size_t i = 0; i < rc.n; i++) {
		zmq_send(c->sock, rc.items[i].type, rc.items[i].type_len, ZMQ_SNDMORE);
		zmq_send(c->sock, rc.items[i].data, rc.items[i].len, i + 1 < rc.n ? ZMQ_SNDMORE : 0);
	}
out:
	store_txn_abort(txn);
	free(rc.items);
}

/* --- ticket.get and customer.get --------------------------------------- */

struct list_ctx {
	uint64_t *ids;
	size_t n;
};

static int list_collect(void *arg, uint64_t id)
{
	struct list_ctx *l = arg;

	l->ids[l->n++] = id;
	return 0;
}

/* pack_raw - writes an already encoded msgpack value into the buffer. */
static void pack_raw(msgpack_sbuffer *sb, const void *data, size_t len)
{
	msgpack_sbuffer_write(sb, data, len);
}

/* An index of a ticket's events (its messages, its trace). */
typedef int (*ticket_index_fn)(struct store_txn *txn, uint64_t ticket_id, size_t max,
			       int (*fn)(void *arg, uint64_t seq), void *arg);

/* pack_ticket_events - the events the index lists, as an array. */
static int pack_ticket_events(struct store_txn *txn, msgpack_packer *pk, msgpack_sbuffer *sb,
			      uint64_t ticket_id, ticket_index_fn index)
{
	uint64_t ids[CMD_MAX_LISTED];
	struct list_ctx l = {ids, 0};
	int rc = index(txn, ticket_id, CMD_MAX_LISTED, list_collect, &l);

	if (rc)
		return rc;
	/* The newest messages matter most: past the byte bound, list the
	 * last ones that fit (the ticket record has the full count). */
	size_t first = l.n, bytes = 0;

	while (first > 0) {
		const char *type;
		const void *data;
		size_t tlen, len;

		rc = store_eventlog_get(txn, ids[first - 1], &type, &tlen, &data, &len);
		if (rc)
			return rc;
		if (bytes + len > WIRE_REPLAY_MAX_BYTES && first < l.n)
			break;
		bytes += len;
		first--;
	}
	msgpack_pack_array(pk, (uint32_t)(l.n - first));
	for (size_t i = first; i < l.n; i++) {
		const char *type;
		const void *data;
		size_t tlen, len;

		rc = store_eventlog_get(txn, ids[i], &type, &tlen, &data, &len);
		if (rc)
			return rc;
		pack_raw(sb, data, len);
	}
	return GW_OK;
}

static int pack_ticket_messages(struct store_txn *txn, msgpack_packer *pk,
				msgpack_sbuffer *sb, uint64_t ticket_id)
{
	return pack_ticket_events(txn, pk, sb, ticket_id, store_ticket_msgs);
}

/* pack_ticket_trace - the ticket's own steps: created, assigned, closed,
 * SLA warnings... (route_emit_ticket and sla.c index them). */
static int pack_ticket_trace(struct store_txn *txn, msgpack_packer *pk, msgpack_sbuffer *sb,
			     uint64_t ticket_id)
{
	return pack_ticket_events(txn, pk, sb, ticket_id, store_ticket_trace);
}

static int pack_customer_tickets(struct store_txn *txn, msgpack_packer *pk,
				 msgpack_sbuffer *sb, uint64_t customer_id)
{
	uint64_t ids[CMD_MAX_LISTED];
	struct list_ctx l = {ids, 0};
	int rc = store_customer_tickets(txn, customer_id, CMD_MAX_LISTED, list_collect, &l);

	if (rc)
		return rc;
	msgpack_pack_array(pk, (uint32_t)l.n);
	for (size_t i = 0; i < l.n && rc == GW_OK; i++) {
		const void *rec;
		size_t len;

		rc = store_ticket_raw(txn, ids[i], &rec, &len);
		if (rc == GW_OK)
			pack_raw(sb, rec, len);
	}
	return rc;
}

typedef int (*pack_list_fn)(struct store_txn *txn, msgpack_packer *pk, msgpack_sbuffer *sb,
			    uint64_t id);

/* A query: one stored record by id, and the lists that hang off it. */
struct query {
	const char *what;     /* "ticket": the reply's key and error wording */
	int (*get_raw)(struct store_txn *txn, uint64_t id, const void **data, size_t *len);
	const char *list_key[2]; /* "messages"; NULL: no second list */
	pack_list_fn pack_list[2];
};

static const struct query query_ticket = {"ticket", store_ticket_raw,
					  {"messages", "trace"},
					  {pack_ticket_messages, pack_ticket_trace}};
static const struct query query_customer = {"customer", store_customer_raw,
					    {"tickets", NULL},
					    {pack_customer_tickets, NULL}};

/* cmd_query - answers {what: record, list_key: [...], ...} for c->id. The stored
 * records are msgpack already: they are sent on as they are. */
static void cmd_query(struct cmd_ctx *c, const struct query *q)
{
	struct store_txn *txn = NULL;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	const void *rec;
	size_t len;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rc = store_txn_begin(router_store(c->r), 1, &txn);
	if (rc == GW_OK)
		rc = q->get_raw(txn, c->id, &rec, &len);
	if (rc == GW_OK) {
		msgpack_pack_map(&pk, q->list_key[1] ? 3 : 2);
		msgpack_pack_str_with_body(&pk, q->what, strlen(q->what));
		pack_raw(&sb, rec, len);
	}
	for (size_t i = 0; rc == GW_OK && i < 2 && q->list_key[i]; i++) {
		msgpack_pack_str_with_body(&pk, q->list_key[i], strlen(q->list_key[i]));
		rc = q->pack_list[i](txn, &pk, &sb, c->id);
	}
	if (rc == GW_ENOTFOUND) {
		snprintf(c->err, sizeof(c->err), "no %s %llu", q->what, (unsigned long long)c->id);
		reply_error(c, rc, c->err);
	} else if (rc) {
		snprintf(c->err, sizeof(c->err), "%s lookup failed: store error", q->what);
		reply_error(c, rc, c->err);
	} else {
		reply_ok(c, &sb);
	}
	store_txn_abort(txn);
	msgpack_sbuffer_destroy(&sb);
}

static void cmd_ticket_get(struct cmd_ctx *c)
{
	cmd_query(c, &query_ticket);
}

static void cmd_customer_get(struct cmd_ctx *c)
{
	cmd_query(c, &query_customer);
}

/* --- status ----------------------------------------------------------- */

static void cmd_status(struct cmd_ctx *c)
{
	struct router_stats s;
	int64_t started;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	const struct {
		const char *key;
		uint64_t *v;
	} f[] = {
		{"received", &s.received},   {"stored", &s.stored},
		{"duplicates", &s.duplicates}, {"rejected", &s.rejected},
		{"events", &s.events},       {"batches", &s.batches},
		{"commit_failures", &s.commit_failures}, {"commands", &s.commands},
		{"max_batch", &s.max_batch},
	};

	router_get_stats(c->r, &s, &started);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4);
	pack_uint_field(&pk, "pid", (uint64_t)getpid());
	msgpack_pack_str_with_body(&pk, "started_at", 10);
	msgpack_pack_int64(&pk, started);
	pack_uint_field(&pk, "head_seq", router_head(c->r));
	msgpack_pack_str_with_body(&pk, "counters", 8);
	msgpack_pack_map(&pk, sizeof(f) / sizeof(f[0]));
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		pack_uint_field(&pk, f[i].key, *f[i].v);
	reply_ok(c, &sb);
	msgpack_sbuffer_destroy(&sb);
}

/* --- message.send ------------------------------------------------------ */

/* cmd_message_send - answers first, then hands the reply to its connector. */
static void cmd_message_send(struct cmd_ctx *c)
{
	msgpack_sbuffer sb;
	uint64_t id = 0;
	char err[256];
	int rc;

	msgpack_sbuffer_init(&sb);
	rc = reply_message_send(c->r, c->args, c->args_len, &sb, &id, err, sizeof(err));
	if (rc)
		reply_error(c, rc, err);
	else
		reply_ok(c, &sb);
	msgpack_sbuffer_destroy(&sb);
	if (rc == GW_OK)
		deliver_one(c->r, id);
}

/* --- helpdesk, contacts and merges (routing.h) --------------------------- */

static void run_routing_cmd(struct cmd_ctx *c, routing_cmd_fn fn)
{
	msgpack_sbuffer sb;
	char err[256] = "";
	int rc;

	msgpack_sbuffer_init(&sb);
	rc = fn(c->r, c->args, c->args_len, &sb, err, sizeof(err));
	if (rc)
		reply_error(c, rc, err[0] ? err : gw_err_name(rc));
	else
		reply_ok(c, &sb);
	msgpack_sbuffer_destroy(&sb);
}

#define ROUTING_CMD(name, fn)                     \
	static void cmd_##name(struct cmd_ctx *c) \
	{                                         \
		run_routing_cmd(c, fn);           \
	}
ROUTING_CMD(ticket_close, helpdesk_ticket_close)
ROUTING_CMD(ticket_reopen, helpdesk_ticket_reopen)
ROUTING_CMD(ticket_assign, helpdesk_ticket_assign)
ROUTING_CMD(ticket_priority, helpdesk_ticket_set_priority)
ROUTING_CMD(agent_presence, helpdesk_agent_presence)
ROUTING_CMD(contacts_import, contacts_import)
ROUTING_CMD(customer_merge, merge_customers)
ROUTING_CMD(customer_unmerge, merge_undo)
ROUTING_CMD(ticket_list, ticket_list)
ROUTING_CMD(ticket_viewing, presence_ticket_viewing)
ROUTING_CMD(ticket_typing, presence_ticket_typing)
ROUTING_CMD(ticket_tag, tags_ticket_tag)
ROUTING_CMD(ticket_merge, ticket_merge)
ROUTING_CMD(ticket_split, ticket_split)

/* chat.typing: passed to the connector, nothing stored (commands/typing.c). */
static void cmd_chat_typing(struct cmd_ctx *c)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc = chat_typing_command(c->r, c->args, c->args_len, c->err, sizeof(c->err));

	if (rc) {
		reply_error(c, rc, c->err[0] ? c->err : gw_strerror(rc));
		return;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 0);
	reply_ok(c, &sb);
	msgpack_sbuffer_destroy(&sb);
}

/* --- dispatch ----------------------------------------------------------- */

/* Commands a "consumer" key (read only, router/zap.c) may run: the first
 * N_READ_ONLY of the table. */
#define N_READ_ONLY 5

static const struct {
	const char *name;
	void (*fn)(struct cmd_ctx *c);
} commands[] = {
	{WIRE_CMD_REPLAY, cmd_replay},
	{WIRE_CMD_TICKET_GET, cmd_ticket_get},
	{WIRE_CMD_CUSTOMER_GET, cmd_customer_get},
	{WIRE_CMD_TICKET_LIST, cmd_ticket_list},
	{WIRE_CMD_STATUS, cmd_status},
	{WIRE_CMD_MESSAGE_SEND, cmd_message_send},
	{WIRE_CMD_TICKET_CLOSE, cmd_ticket_close},
	{WIRE_CMD_TICKET_REOPEN, cmd_ticket_reopen},
	{WIRE_CMD_TICKET_ASSIGN, cmd_ticket_assign},
	{WIRE_CMD_TICKET_PRIORITY, cmd_ticket_priority},
	{WIRE_CMD_AGENT_PRESENCE, cmd_agent_presence},
	{WIRE_CMD_CONTACTS_IMPORT, cmd_contacts_import},
	{WIRE_CMD_CUSTOMER_MERGE, cmd_customer_merge},
	{WIRE_CMD_CUSTOMER_UNMERGE, cmd_customer_unmerge},
	{WIRE_CMD_TICKET_VIEWING, cmd_ticket_viewing},
	{WIRE_CMD_TICKET_TYPING, cmd_ticket_typing},
	{WIRE_CMD_TICKET_TAG, cmd_ticket_tag},
	{WIRE_CMD_CHAT_TYPING, cmd_chat_typing},
	{WIRE_CMD_TICKET_MERGE, cmd_ticket_merge},
	{WIRE_CMD_TICKET_SPLIT, cmd_ticket_split},
};

/* read_only - the request came from a CURVE client allowed only to read
 * (its User-Id, set by the ZAP handler); ipc and loopback clients have
 * none and may do everything. */
static int read_only(zmq_msg_t *frame)
{
	const char *user = zmq_msg_gets(frame, "User-Id");

	return user && strcmp(user, "consumer") == 0;
}

static void dispatch(struct cmd_ctx *c, zmq_msg_t *name, zmq_msg_t *args)
{
	size_t nlen = zmq_msg_size(name);
	const char *n = zmq_msg_data(name);
	size_t max = WIRE_MAX_COMMAND_BYTES;
	int rc;

	/* A reply carries its text: room for the longest one. */
	if (nlen == strlen(WIRE_CMD_MESSAGE_SEND) && memcmp(n, WIRE_CMD_MESSAGE_SEND, nlen) == 0)
		max += PROTO_MAX_TEXT;
	if (nlen == strlen(WIRE_CMD_CONTACTS_IMPORT) &&
	    memcmp(n, WIRE_CMD_CONTACTS_IMPORT, nlen) == 0)
		max = WIRE_MAX_IMPORT_BYTES;
	if (args && zmq_msg_size(args) > max) {
		reply_error(c, GW_ETOOBIG, "request too large");
		return;
	}
	c->args = args ? zmq_msg_data(args) : NULL;
	c->args_len = args ? zmq_msg_size(args) : 0;
	rc = parse_args(c, c->args, c->args_len);
	if (rc) {
		reply_error(c, rc, c->err);
		return;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strlen(commands[i].name) != nlen || memcmp(commands[i].name, n, nlen) != 0)
			continue;
		if (i >= N_READ_ONLY && read_only(name)) {
			snprintf(c->err, sizeof(c->err), "%s: this client's key may only read "
				 "(router.curve_consumers)", commands[i].name);
			reply_error(c, GW_EPERM, c->err);
			return;
		}
		commands[i].fn(c);
		return;
	}
	snprintf(c->err, sizeof(c->err), "unknown command '%.*s'", (int)(nlen > 64 ? 64 : nlen), n);
	reply_error(c, GW_EINVAL, c->err);
}

int command_handle(struct router *r)
{
	zmq_msg_t f[CMD_MAX_FRAMES];
	struct cmd_ctx c;
	int n = 0, more = 1, i = 1;

	memset(&c, 0, sizeof(c));
	c.r = r;
	c.sock = router_command_socket(r);
	while (more) {
		zmq_msg_t spare, *m = n < CMD_MAX_FRAMES ? &f[n] : &spare;

		zmq_msg_init(m);
		if (zmq_msg_recv(m, c.sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
			zmq_msg_close(m);
			break;
		}
		more = zmq_msg_more(m);
		if (m == &spare)
			zmq_msg_close(m);
		else
			n++;
	}
	if (n == 0)
		return 0;
	c.peer = &f[0];
	if (n > 1 && zmq_msg_size(&f[1]) == 0) {
		c.delimited = 1;
		i = 2;
	}
	if (n <= i || n > i + 2)
		reply_error(&c, GW_EPROTO, "expected frames [command, args]");
	else
		dispatch(&c, &f[i], n > i + 1 ? &f[i + 1] : NULL);
	for (int k = 0; k < n; k++)
		zmq_msg_close(&f[k]);
	return 1;
}

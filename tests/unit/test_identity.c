/*
 * test_identity.c - identities across channels, the contacts.import
 * command and customer merges, on a real router store (no sockets used:
 * messages are routed and commands run in the router's own transactions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <msgpack.h>

#include "core/err.h"
#include "router/router.h"
#include "store/store.h"

#define FX_NAME "ident"
#include "tests/unit/router_fixture.h"
#include "routing_defaults.h"

/* --- routing messages ------------------------------------------------------- */

struct routed {
	struct proto_event *ev;
	enum route_result res;
};

static int route_txn(struct batch *b, void *arg)
{
	struct routed *x = arg;

	return route_event(b, x->ev, &x->res);
}

/* msg_p - routes an inbound message whose sender gave `email` and `phone`
 * (NULL: none), each verified by the channel when its flag says so;
 * returns its customer id, its ticket in *ticket (NULL: not wanted). */
static uint64_t msg_p(struct fx *f, const char *channel, const char *ext, const char *from,
		      const char *email, bool verified, const char *phone, bool phone_verified,
		      uint64_t *ticket)
{
	struct proto_event ev;
	struct routed x = {&ev, ROUTE_DUPLICATE};
	uint64_t id;

	assert_int_equal(proto_event_init(&ev, PROTO_T_MESSAGE_RECEIVED), GW_OK);
	ev.u.message.channel = strdup(channel);
	ev.u.message.account = strdup("acct");
	ev.u.message.external_id = strdup(ext);
	ev.u.message.received_at = 1700000000000;
	ev.u.message.from.address = strdup(from);
	ev.u.message.from.email = email ? strdup(email) : NULL;
	ev.u.message.from.email_verified = verified;
	ev.u.message.from.phone = phone ? strdup(phone) : NULL;
	ev.u.message.from.phone_verified = phone_verified;
	ev.u.message.text = strdup(ext); /* distinct texts: no duplicate rule */
	assert_int_equal(router_txn(f->r, route_txn, &x), GW_OK);
	assert_int_equal(x.res, ROUTE_STORED);
	id = ev.u.message.customer_id;
	if (ticket)
		*ticket = ev.u.message.ticket_id;
	proto_event_clear(&ev);
	return id;
}

/* msg_attrs - routes an inbound message whose sender carries the
 * attributes `attrs` (NULL-terminated); returns its customer id. */
static uint64_t msg_attrs(struct fx *f, const char *channel, const char *ext, const char *from,
			  const char *const *attrs)
{
	struct proto_event ev;
	struct routed x = {&ev, ROUTE_DUPLICATE};
	uint64_t id;
	size_t n = 0;

	while (attrs[n])
		n++;
	assert_int_equal(proto_event_init(&ev, PROTO_T_MESSAGE_RECEIVED), GW_OK);
	ev.u.message.channel = strdup(channel);
	ev.u.message.account = strdup("acct");
	ev.u.message.external_id = strdup(ext);
	ev.u.message.received_at = 1700000000000;
	ev.u.message.from.address = strdup(from);
	ev.u.message.from.attributes = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		ev.u.message.from.attributes[i] = strdup(attrs[i]);
	ev.u.message.from.attributes_len = n;
	ev.u.message.text = strdup(ext);
	assert_int_equal(router_txn(f->r, route_txn, &x), GW_OK);
	assert_int_equal(x.res, ROUTE_STORED);
	id = ev.u.message.customer_id;
	proto_event_clear(&ev);
	return id;
}

/* msg_v - routes an inbound message whose sender gave `email` (NULL:
 * none), verified by the channel when `verified`. */
static uint64_t msg_v(struct fx *f, const char *channel, const char *ext, const char *from,
		      const char *email, bool verified, uint64_t *ticket)
{
	return msg_p(f, channel, ext, from, email, verified, NULL, false, ticket);
}

/* msg - routes an inbound message whose sender typed `email` (a claim). */
static uint64_t msg(struct fx *f, const char *channel, const char *ext, const char *from,
		    const char *email, uint64_t *ticket)
{
	return msg_v(f, channel, ext, from, email, false, ticket);
}

/* --- reading the store ------------------------------------------------------- */

static struct store_txn *rtxn(struct fx *f)
{
	struct store_txn *txn;

	assert_int_equal(store_txn_begin(router_store(f->r), 1, &txn), GW_OK);
	return txn;
}

/* holder - the customer the store names for (kind, address), 0 if none. */
static uint64_t holder(struct fx *f, const char *kind, const char *address, unsigned *flags)
{
	struct store_txn *txn = rtxn(f);
	uint64_t id = 0;
	unsigned fl = 0;
	int rc = store_identity_lookup(txn, kind, address, &id, &fl);

	store_txn_abort(txn);
	assert_true(rc == GW_OK || rc == GW_ENOTFOUND);
	if (flags)
		*flags = fl;
	return rc == GW_OK ? id : 0;
}

static void customer(struct fx *f, uint64_t id, struct proto_customer *c)
{
	struct store_txn *txn = rtxn(f);

	memset(c, 0, sizeof(*c));
	assert_int_equal(store_customer_get(txn, id, c), GW_OK);
	store_txn_abort(txn);
}

static void ticket(struct fx *f, uint64_t id, struct proto_ticket *t)
{
	struct store_txn *txn = rtxn(f);

	memset(t, 0, sizeof(*t));
	assert_int_equal(store_ticket_get(txn, id, t), GW_OK);
	store_txn_abort(txn);
}

/* listed - the entry of (kind, address) on c's list, or NULL. */
static const struct proto_identity *listed(const struct proto_customer *c, const char *kind,
					   const char *address)
{
	for (size_t i = 0; i < c->identities_len; i++)
		if (strcmp(c->identities[i].kind, kind) == 0 &&
		    strcmp(c->identities[i].address, address) == 0)
			return &c->identities[i];
	return NULL;
}

struct idlist {
	uint64_t v[64];
	size_t n;
};

static int collect(void *arg, uint64_t id)
{
	struct idlist *l = arg;

	if (l->n < 64)
		l->v[l->n++] = id;
	return 0;
}

static int has(const struct idlist *l, uint64_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == id)
			return 1;
	return 0;
}

static struct idlist tickets_of(struct fx *f, uint64_t customer_id)
{
	struct idlist l = {{0}, 0};
	struct store_txn *txn = rtxn(f);

	assert_int_equal(store_customer_tickets(txn, customer_id, 64, collect, &l), GW_OK);
	store_txn_abort(txn);
	return l;
}

static struct idlist thread_of(struct fx *f, uint64_t thread_id)
{
	struct idlist l = {{0}, 0};
	struct store_txn *txn = rtxn(f);

	assert_int_equal(store_thread_scan(txn, thread_id, 64, collect, &l), GW_OK);
	store_txn_abort(txn);
	return l;
}

/* event_type - the type of the event at `seq`. */
static enum proto_type event_type(struct fx *f, uint64_t seq)
{
	struct store_txn *txn = rtxn(f);
	struct proto_event ev;
	enum proto_type t;

	memset(&ev, 0, sizeof(ev));
	assert_int_equal(store_eventlog_decode(txn, seq, &ev), GW_OK);
	t = ev.type;
	proto_event_clear(&ev);
	store_txn_abort(txn);
	return t;
}

/* event_customer - the customer record of the customer event at `seq`. */
static enum proto_type event_customer(struct fx *f, uint64_t seq, struct proto_customer *c)
{
	struct store_txn *txn = rtxn(f);
	struct proto_event ev;
	enum proto_type t;

	memset(&ev, 0, sizeof(ev));
	assert_int_equal(store_eventlog_decode(txn, seq, &ev), GW_OK);
	store_txn_abort(txn);
	t = ev.type;
	assert_true(t == PROTO_T_CUSTOMER_CREATED || t == PROTO_T_CUSTOMER_UPDATED);
	*c = ev.u.customer;
	memset(&ev.u.customer, 0, sizeof(ev.u.customer));
	proto_event_clear(&ev);
	return t;
}

/* --- commands ------------------------------------------------------------------ */

/* cmd - runs `fn` with the JSON `args` as msgpack; returns its code, the
 * answer (or NULL) in *answer and the error text in err. */
static int cmd(struct fx *f, routing_cmd_fn fn, const char *args, json_t **answer, char *err,
	       size_t errlen)
{
	json_error_t jerr;
	json_t *j = json_loads(args, 0, &jerr);
	msgpack_sbuffer in, out;
	msgpack_packer pk;
	int rc;

	assert_non_null(j);
	msgpack_sbuffer_init(&in);
	msgpack_sbuffer_init(&out);
	msgpack_packer_init(&pk, &in, msgpack_sbuffer_write);
	proto_msgpack_pack_json(&pk, j);
	json_decref(j);
	err[0] = '\0';
	rc = fn(f->r, in.data, in.size, &out, err, errlen);
	*answer = rc == GW_OK ? proto_json_from_msgpack(out.data, out.size) : NULL;
	if (rc == GW_OK)
		assert_non_null(*answer);
	msgpack_sbuffer_destroy(&in);
	msgpack_sbuffer_destroy(&out);
	return rc;
}

static json_t *cmd_ok(struct fx *f, routing_cmd_fn fn, const char *args)
{
	char err[256];
	json_t *a = NULL;
	int rc = cmd(f, fn, args, &a, err, sizeof(err));

	if (rc != GW_OK)
		fail_msg("%s: %s", args, err);
	return a;
}

static uint64_t num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_true(json_is_integer(v));
	return (uint64_t)json_integer_value(v);
}

/* --- identity_resolve --------------------------------------------------------- */

static void test_resolve_across_channels(void **state)
{
	struct proto_customer c;
	struct fx f;
	uint64_t ana, wa, chat, head;
	unsigned flags;

	(void)state;
	fx_open(&f);
	/* The email channel: the address normalized, verified. */
	ana = msg(&f, "email", "<m1@x>", "Ana@Example.COM", NULL, NULL);
	assert_int_equal(holder(&f, "email", "ana@example.com", &flags), ana);
	assert_int_equal(flags, STORE_IDENT_VERIFIED);
	/* WhatsApp: the wa_id and the phone number it is. */
	wa = msg(&f, "whatsapp", "wamid.1", "33612345678", NULL, NULL);
	assert_int_not_equal(wa, ana);
	assert_int_equal(holder(&f, "whatsapp", "33612345678", NULL), wa);
	assert_int_equal(holder(&f, "phone", "+33612345678", NULL), wa);
	customer(&f, wa, &c);
	assert_int_equal(c.identities_len, 2);
	assert_string_equal(c.identities[0].kind, "whatsapp");
	assert_string_equal(c.identities[1].source, "message");
	assert_true(c.identities[1].verified);
	proto_customer_clear(&c);
	/* An API sender that is an E.164 number: the same phone, the same
	 * customer, who gains the API identity (customer.updated first). */
	head = router_head(f.r);
	assert_int_equal(msg(&f, "api", "a1", "+33612345678", NULL, NULL), wa);
	assert_int_equal(event_type(&f, head + 1), PROTO_T_CUSTOMER_UPDATED);
	assert_int_equal(holder(&f, "api", "+33612345678", NULL), wa);
	/* The same again: nothing new, no customer.updated. */
	head = router_head(f.r);
	assert_int_equal(msg(&f, "api", "a2", "+33612345678", NULL, NULL), wa);
	assert_int_equal(event_type(&f, head + 1), PROTO_T_MESSAGE_RECEIVED);
	/* An API sender that is an email address is that address. */
	assert_int_equal(msg(&f, "api", "a3", "ANA@example.com", NULL, NULL), ana);
	/* A number that does not parse: its channel identity only. */
	chat = msg(&f, "api", "a4", "+1555", NULL, NULL);
	customer(&f, chat, &c);
	assert_int_equal(c.identities_len, 1);
	proto_customer_clear(&c);
	fx_close(&f);
}

/* A direct call, as route.c makes it: the caller stores a new customer. */
struct resolve {
	const char *channel;
	struct proto_party who;
	uint64_t id;
	int created;
	size_t nev;
};

static int resolve_txn(struct batch *b, void *arg)
{
	struct resolve *x = arg;
	struct proto_customer c;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = identity_resolve(b, x->channel, &x->who, &c, &x->created);
	if (rc == GW_OK && x->created)
		rc = store_customer_put(b->txn, &c);
	x->id = c.customer_id;
	x->nev = b->nev;
	proto_customer_clear(&c);
	return rc;
}

static struct resolve resolve(struct fx *f, const char *channel, const char *address,
			      const char *name, const char *email)
{
	struct resolve x = {channel, {(char *)address, (char *)name, (char *)email}, 0, 0, 0};

	assert_int_equal(router_txn(f->r, resolve_txn, &x), GW_OK);
	return x;
}

static void test_identity_resolve(void **state)
{
	struct proto_customer c;
	struct resolve x;
	struct fx f;
	uint64_t wa;

	(void)state;
	fx_open(&f);
	x = resolve(&f, "whatsapp", "4915112345678", "Bo", NULL);
	assert_true(x.created);
	assert_int_equal(x.nev, 1); /* customer.created */
	wa = x.id;
	customer(&f, wa, &c);
	assert_string_equal(c.channel, "whatsapp");
	assert_string_equal(c.address, "4915112345678");
	assert_string_equal(c.name, "Bo");
	assert_int_equal(c.identities_len, 2);
	proto_customer_clear(&c);
	/* Known: nothing created, nothing emitted. */
	x = resolve(&f, "whatsapp", "4915112345678", NULL, NULL);
	assert_false(x.created);
	assert_int_equal(x.id, wa);
	assert_int_equal(x.nev, 0);
	/* The same number on the API channel, with a claimed address: one
	 * customer.updated, and the record is stored by identity_resolve. */
	x = resolve(&f, "api", "+49 151 12345678", NULL, "bo@example.com");
	assert_false(x.created);
	assert_int_equal(x.id, wa);
	assert_int_equal(x.nev, 1);
	assert_int_equal(event_type(&f, router_head(f.r)), PROTO_T_CUSTOMER_UPDATED);
	customer(&f, wa, &c);
	assert_int_equal(c.identities_len, 4);
	assert_non_null(listed(&c, "api", "+49 151 12345678"));
	assert_false(listed(&c, "email", "bo@example.com")->verified);
	proto_customer_clear(&c);
	fx_close(&f);
}

/* A claimed email of a known customer: a new customer flagged a probable
 * match of it; the known customer, its identity and its ticket untouched. */
static void test_claim_of_known_customer(void **state)
{
	struct proto_customer c;
	struct proto_ticket tk;
	struct idlist l;
	char args[128];
	struct fx f;
	uint64_t ana, t_ana, v1, t_v1, head;
	unsigned flags;

	(void)state;
	fx_open(&f);
	ana = msg(&f, "email", "<m1@x>", "ana@example.com", NULL, &t_ana);
	head = router_head(f.r);
	v1 = msg(&f, "livechat", "c1", "visitor:v1", " Ana@Example.com ", &t_v1);
	assert_int_not_equal(v1, ana);
	assert_int_not_equal(t_v1, t_ana);
	/* Announced with customer.created carrying the match and why. */
	assert_int_equal(event_customer(&f, head + 1, &c), PROTO_T_CUSTOMER_CREATED);
	assert_int_equal(c.customer_id, v1);
	assert_int_equal(c.probable_match, ana);
	assert_string_equal(c.probable_match_reason,
			    "email ana@example.com: claimed here, held verified by customer 1");
	proto_customer_clear(&c);
	/* The visitor's customer: its chat identity, not the address. */
	assert_int_equal(holder(&f, "livechat", "visitor:v1", NULL), v1);
	customer(&f, v1, &c);
	assert_int_equal(c.probable_match, ana);
	assert_null(listed(&c, "email", "ana@example.com"));
	proto_customer_clear(&c);
	/* Ana: her address verified and hers, no match, one ticket with one
	 * message, none of the visitor's. */
	assert_int_equal(holder(&f, "email", "ana@example.com", &flags), ana);
	assert_int_equal(flags, STORE_IDENT_VERIFIED);
	customer(&f, ana, &c);
	assert_int_equal(c.probable_match, 0);
	assert_int_equal(c.message_count, 1);
	assert_int_equal(c.identities_len, 1);
	proto_customer_clear(&c);
	l = tickets_of(&f, ana);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0], t_ana);
	ticket(&f, t_ana, &tk);
	assert_int_equal(tk.message_count, 1);
	proto_ticket_clear(&tk);
	assert_false(has((l = tickets_of(&f, v1), &l), t_ana));
	/* Her next mail is hers. */
	assert_int_equal(msg(&f, "email", "<m2@x>", "ana@example.com", NULL, NULL), ana);
	/* The operator merges the visitor into Ana: the match is settled. */
	snprintf(args, sizeof(args),
		 "{\"command_id\": \"m-1\", \"source_id\": %llu, \"target_id\": %llu}",
		 (unsigned long long)v1, (unsigned long long)ana);
	json_decref(cmd_ok(&f, merge_customers, args));
	customer(&f, v1, &c);
	assert_int_equal(c.merged_into, ana);
	assert_int_equal(c.probable_match, 0);
	assert_null(c.probable_match_reason);
	proto_customer_clear(&c);
	assert_int_equal(msg(&f, "livechat", "c2", "visitor:v1", NULL, NULL), ana);
	fx_close(&f);
}

/* A returning visitor keeps its customer, claim or not, and nothing is
 * announced again; a known visitor who claims another's address is
 * flagged (customer.updated) and stays who it is. */
static void test_claim_returning_visitor(void **state)
{
	struct proto_customer c;
	struct fx f;
	uint64_t ana, v1, v3, head;

	(void)state;
	fx_open(&f);
	ana = msg(&f, "email", "<m1@x>", "ana@example.com", NULL, NULL);
	v1 = msg(&f, "livechat", "c1", "visitor:v1", "ana@example.com", NULL);
	head = router_head(f.r);
	assert_int_equal(msg(&f, "livechat", "c2", "visitor:v1", "ana@example.com", NULL), v1);
	assert_int_equal(event_type(&f, head + 1), PROTO_T_MESSAGE_RECEIVED);
	assert_int_equal(msg(&f, "livechat", "c3", "visitor:v1", NULL, NULL), v1);
	/* A visitor known before it claims the address. */
	v3 = msg(&f, "livechat", "c4", "visitor:v3", NULL, NULL);
	head = router_head(f.r);
	assert_int_equal(msg(&f, "livechat", "c5", "visitor:v3", "ana@example.com", NULL), v3);
	assert_int_equal(event_customer(&f, head + 1, &c), PROTO_T_CUSTOMER_UPDATED);
	assert_int_equal(c.customer_id, v3);
	assert_int_equal(c.probable_match, ana);
	proto_customer_clear(&c);
	assert_int_equal(holder(&f, "email", "ana@example.com", NULL), ana);
	/* An invalid claim is ignored. */
	assert_int_equal(msg(&f, "livechat", "c6", "visitor:v3", "not an address", NULL), v3);
	fx_close(&f);
}

/* A claim of an address nobody holds is the visitor's, as a claim; the real
 * owner's verified email then makes the owner's own customer, who takes
 * the address; the visitor keeps its history, flagged a probable match. */
static void test_claim_yields_to_proof(void **state)
{
	struct proto_customer c;
	struct fx f;
	uint64_t v2, t_v2, bo, t_bo, head;
	unsigned flags;

	(void)state;
	fx_open(&f);
	v2 = msg(&f, "livechat", "c1", "visitor:v2", "bo@example.com", &t_v2);
	assert_int_equal(holder(&f, "email", "bo@example.com", &flags), v2);
	assert_int_equal(flags, 0);
	customer(&f, v2, &c);
	assert_false(listed(&c, "email", "bo@example.com")->verified);
	assert_string_equal(listed(&c, "email", "bo@example.com")->source, "claim");
	assert_int_equal(c.probable_match, 0);
	proto_customer_clear(&c);
	/* Mail from that address: the owner's own customer. */
	head = router_head(f.r);
	bo = msg(&f, "email", "<b1@x>", "bo@example.com", NULL, &t_bo);
	assert_int_not_equal(bo, v2);
	assert_int_not_equal(t_bo, t_v2);
	assert_int_equal(holder(&f, "email", "bo@example.com", &flags), bo);
	assert_int_equal(flags, STORE_IDENT_VERIFIED);
	customer(&f, bo, &c);
	assert_true(listed(&c, "email", "bo@example.com")->verified);
	assert_string_equal(listed(&c, "email", "bo@example.com")->source, "message");
	assert_int_equal(c.probable_match, 0);
	proto_customer_clear(&c);
	/* customer.created of the owner, then customer.updated of the claimer:
	 * the claim gone from its list, flagged a probable match. */
	assert_int_equal(event_customer(&f, head + 1, &c), PROTO_T_CUSTOMER_CREATED);
	assert_int_equal(c.customer_id, bo);
	proto_customer_clear(&c);
	assert_int_equal(event_customer(&f, head + 2, &c), PROTO_T_CUSTOMER_UPDATED);
	assert_int_equal(c.customer_id, v2);
	assert_int_equal(c.probable_match, bo);
	assert_null(listed(&c, "email", "bo@example.com"));
	assert_string_equal(c.probable_match_reason,
			    "email bo@example.com: claimed here, verified since by customer 2");
	assert_int_equal(c.message_count, 1); /* its history stays */
	proto_customer_clear(&c);
	assert_int_equal(tickets_of(&f, v2).n, 1);
	/* Later mail goes to the owner; the visitor, claiming again, stays
	 * itself, and the address stays the owner's. */
	assert_int_equal(msg(&f, "email", "<b2@x>", "bo@example.com", NULL, NULL), bo);
	head = router_head(f.r);
	assert_int_equal(msg(&f, "livechat", "c2", "visitor:v2", "bo@example.com", NULL), v2);
	assert_int_equal(event_type(&f, head + 1), PROTO_T_MESSAGE_RECEIVED);
	assert_int_equal(holder(&f, "email", "bo@example.com", NULL), bo);
	fx_close(&f);
}

/* A site-signed identity's email is verified by the site: it joins the
 * customer of that address at once, and takes it from a claimer. */
static void test_site_signed_email(void **state)
{
	struct proto_customer c;
	struct fx f;
	uint64_t ana, v9, cy, head;
	unsigned flags;

	(void)state;
	fx_open(&f);
	ana = msg(&f, "email", "<m1@x>", "ana@example.com", NULL, NULL);
	head = router_head(f.r);
	assert_int_equal(msg_v(&f, "livechat", "s1", "site:u42", "Ana@example.com", true, NULL),
			 ana);
	assert_int_equal(event_customer(&f, head + 1, &c), PROTO_T_CUSTOMER_UPDATED);
	assert_int_equal(c.probable_match, 0);
	assert_non_null(listed(&c, "livechat", "site:u42"));
	proto_customer_clear(&c);
	assert_int_equal(holder(&f, "livechat", "site:u42", NULL), ana);
	assert_int_equal(holder(&f, "email", "ana@example.com", &flags), ana);
	assert_int_equal(flags, STORE_IDENT_VERIFIED);
	/* An address a visitor only claimed: the site's user takes it. */
	v9 = msg(&f, "livechat", "c1", "visitor:v9", "cy@example.com", NULL);
	cy = msg_v(&f, "livechat", "s2", "site:u7", "cy@example.com", true, NULL);
	assert_int_not_equal(cy, v9);
	assert_int_equal(holder(&f, "email", "cy@example.com", &flags), cy);
	assert_int_equal(flags, STORE_IDENT_VERIFIED);
	customer(&f, v9, &c);
	assert_int_equal(c.probable_match, cy);
	proto_customer_clear(&c);
	/* Mail from it is the site user's. */
	assert_int_equal(msg(&f, "email", "<c1@x>", "cy@example.com", NULL, NULL), cy);
	fx_close(&f);
}

/* merged_event - the customer.merged event at or after `from`: 1 and
 * its source, target and cause (caller frees) when there is one. */
static int merged_event(struct fx *f, uint64_t from, uint64_t *src, uint64_t *dst, char **cause)
{
	struct store_txn *txn = rtxn(f);
	uint64_t head = router_head(f->r);
	int found = 0;

	for (uint64_t seq = from; !found && seq <= head; seq++) {
		struct proto_event ev;

		memset(&ev, 0, sizeof(ev));
		assert_int_equal(store_eventlog_decode(txn, seq, &ev), GW_OK);
		if (ev.type == PROTO_T_CUSTOMER_MERGED) {
			*src = ev.u.merge.source_customer_id;
			*dst = ev.u.merge.target_customer_id;
			*cause = strdup(ev.u.merge.cause);
			found = 1;
		}
		proto_event_clear(&ev);
	}
	store_txn_abort(txn);
	return found;
}

/* A phone number a Telegram user shared as their own contact (verified by
 * Telegram) joins the customer who writes by SMS and WhatsApp from it; a
 * number only typed is a claim: a probable match, never the customer. */
static void test_shared_phone(void **state)
{
	struct proto_customer c;
	struct fx f;
	uint64_t ana, tg, other, head, src = 0, dst = 0, tk1, tk2;
	unsigned flags;
	char *cause = NULL;

	(void)state;
	fx_open(&f);
	ana = msg(&f, "sms", "SM1", "+33612345678", NULL, NULL);
	assert_int_equal(msg(&f, "whatsapp", "wamid.1", "33612345678", NULL, NULL), ana);
	/* Her first Telegram message (/start): a new chat, not yet linked. */
	tg = msg(&f, "telegram", "42:1", "4242", NULL, &tk1);
	assert_int_not_equal(tg, ana);
	/* She shares her own contact: Telegram vouches for the number, held
	 * verified by Ana; the chat's customer holds nothing but the chat, so
	 * it is merged into Ana (customer.merged, its cause saying why), and
	 * the message, the chat's ticket and the Telegram identity are hers. */
	head = router_head(f.r);
	assert_int_equal(msg_p(&f, "telegram", "42:2", "4242", NULL, false, "+33 6 12 34 56 78",
			       true, &tk2),
			 ana);
	assert_true(merged_event(&f, head + 1, &src, &dst, &cause));
	assert_int_equal(src, tg);
	assert_int_equal(dst, ana);
	assert_string_equal(cause, "automatic: phone +33612345678 verified on telegram, held "
				   "verified by customer 1");
	free(cause);
	assert_int_equal(holder(&f, "phone", "+33612345678", &flags), ana);
	assert_int_equal(flags, STORE_IDENT_VERIFIED);
	assert_int_equal(holder(&f, "telegram", "4242", NULL), ana);
	customer(&f, tg, &c);
	assert_int_equal(c.merged_into, ana);
	proto_customer_clear(&c);
	{
		struct proto_ticket t;

		ticket(&f, tk1, &t);
		assert_int_equal(t.customer_id, ana);
		proto_ticket_clear(&t);
	}
	assert_int_equal(msg(&f, "telegram", "42:3", "4242", NULL, NULL), ana);
	/* A new Telegram user whose first message shares their own number:
	 * the verified number finds Ana, and the chat joins her. */
	assert_int_equal(msg_p(&f, "telegram", "77:1", "7777", NULL, false, "+33612345678", true,
			       NULL),
			 ana);
	assert_int_equal(holder(&f, "telegram", "7777", NULL), ana);
	/* A number only typed decides nothing. */
	other = msg_p(&f, "telegram", "88:1", "8888", NULL, false, "+33612345678", false, NULL);
	assert_int_not_equal(other, ana);
	customer(&f, other, &c);
	assert_int_equal(c.probable_match, ana);
	proto_customer_clear(&c);
	/* A number that is none: ignored. */
	assert_int_not_equal(msg_p(&f, "telegram", "99:1", "9999", NULL, false, "call me", true,
				   NULL),
			     ana);
	fx_close(&f);
}

/* Attributes the channel tells (a Telegram username) are set on the
 * customer, sorted, a key's value replaced; unchanged ones announce
 * nothing. */
static void test_party_attributes(void **state)
{
	static const char *const first[] = {"telegram.username=ana_br",
					    "telegram.language_code=pt-br", NULL};
	static const char *const renamed[] = {"telegram.username=ana_lima", NULL};
	struct proto_customer c;
	struct fx f;
	uint64_t ana, head;

	(void)state;
	fx_open(&f);
	ana = msg_attrs(&f, "telegram", "42:1", "4242", first);
	customer(&f, ana, &c);
	assert_int_equal(c.attributes_len, 2);
	assert_string_equal(c.attributes[0], "telegram.language_code=pt-br");
	assert_string_equal(c.attributes[1], "telegram.username=ana_br");
	proto_customer_clear(&c);
	/* The same again (the fast path of a known sender): nothing changes. */
	head = router_head(f.r);
	assert_int_equal(msg_attrs(&f, "telegram", "42:2", "4242", first), ana);
	for (uint64_t seq = head + 1; seq <= router_head(f.r); seq++)
		assert_int_not_equal(event_type(&f, seq), PROTO_T_CUSTOMER_UPDATED);
	/* A new username replaces the old one: customer.updated. */
	head = router_head(f.r);
	assert_int_equal(msg_attrs(&f, "telegram", "42:3", "4242", renamed), ana);
	assert_int_equal(event_customer(&f, head + 1, &c), PROTO_T_CUSTOMER_UPDATED);
	assert_int_equal(c.attributes_len, 2);
	assert_string_equal(c.attributes[1], "telegram.username=ana_lima");
	proto_customer_clear(&c);
	fx_close(&f);
}

/* A customer with more than its chat (here a verified email) is not merged
 * on its own: it is flagged a probable match of the phone's customer. */
static void test_shared_phone_probable_match(void **state)
{
	struct proto_customer c;
	struct fx f;
	uint64_t ana, tg, head, src, dst;
	char *cause = NULL;

	(void)state;
	fx_open(&f);
	ana = msg(&f, "sms", "SM1", "+33612345678", NULL, NULL);
	tg = msg_v(&f, "telegram", "42:1", "4242", "bo@example.com", true, NULL);
	assert_int_not_equal(tg, ana);
	head = router_head(f.r);
	assert_int_equal(msg_p(&f, "telegram", "42:2", "4242", NULL, false, "+33612345678", true,
			       NULL),
			 tg);
	assert_false(merged_event(&f, head + 1, &src, &dst, &cause));
	assert_int_equal(holder(&f, "phone", "+33612345678", NULL), ana);
	customer(&f, tg, &c);
	assert_int_equal(c.probable_match, ana);
	assert_string_equal(c.probable_match_reason,
			    "phone +33612345678: verified here, held verified by customer 1");
	proto_customer_clear(&c);
	fx_close(&f);
}

/* --- contacts.import ------------------------------------------------------------ */

#define IMPORT_1                                                                               \
	"{\"command_id\": \"imp-1\", \"contacts\": ["                                           \
	"{\"ref\": \"c-1\", \"name\": \"Ana\", \"emails\": [\"Ana@Example.com\"],"              \
	" \"phones\": [\"+33 6 12 34 56 78\"], \"attributes\": {\"tier\": \"gold\","           \
	" \"city\": \"Lyon\"}, \"language\": \"fr\"},"                                         \
	"{\"ref\": \"c-2\", \"emails\": [\"bob@example.com\"],"                                 \
	" \"identities\": [{\"kind\": \"whatsapp\", \"address\": \"+33611111111\"}]},"          \
	"{\"ref\": \"c-3\", \"emails\": [\"not-an-email\"]},"                                   \
	"{\"ref\": \"c-4\", \"phones\": [\"+33612345679\"], \"colour\": \"red\"}"               \
	"]}"

static void test_import(void **state)
{
	struct proto_customer c;
	json_t *a, *e;
	struct fx f;
	uint64_t bob, wa, ana, head;

	(void)state;
	fx_open(&f);
	bob = msg(&f, "email", "<b1@x>", "bob@example.com", NULL, NULL);
	wa = msg(&f, "whatsapp", "wamid.w", "33611111111", NULL, NULL);
	head = router_head(f.r);
	a = cmd_ok(&f, contacts_import, IMPORT_1);
	assert_int_equal(num(a, "seq"), head + 1);
	assert_false(json_is_true(json_object_get(a, "duplicate")));
	assert_int_equal(num(a, "created"), 1);
	assert_int_equal(num(a, "updated"), 1);
	assert_int_equal(num(a, "unchanged"), 0);
	/* Bob's WhatsApp is another customer's: a conflict, not moved. */
	assert_int_equal(json_array_size(json_object_get(a, "conflicts")), 1);
	e = json_array_get(json_object_get(a, "conflicts"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "ref")), "c-2");
	assert_string_equal(json_string_value(json_object_get(e, "kind")), "whatsapp");
	assert_string_equal(json_string_value(json_object_get(e, "address")), "33611111111");
	assert_int_equal(num(e, "customer_id"), wa);
	assert_int_equal(holder(&f, "whatsapp", "33611111111", NULL), wa);
	/* Two invalid contacts, with their index and why. */
	assert_int_equal(json_array_size(json_object_get(a, "invalid")), 2);
	e = json_array_get(json_object_get(a, "invalid"), 0);
	assert_int_equal(num(e, "index"), 2);
	assert_string_equal(json_string_value(json_object_get(e, "ref")), "c-3");
	assert_non_null(strstr(json_string_value(json_object_get(e, "reason")), "email"));
	e = json_array_get(json_object_get(a, "invalid"), 1);
	assert_int_equal(num(e, "index"), 3);
	assert_non_null(strstr(json_string_value(json_object_get(e, "reason")), "colour"));
	assert_int_equal(holder(&f, "phone", "+33612345679", NULL), 0);
	json_decref(a);
	/* Ana: created with her normalized identities, verified, imported. */
	ana = holder(&f, "ref", "c-1", NULL);
	assert_true(ana > wa);
	assert_int_equal(holder(&f, "email", "ana@example.com", NULL), ana);
	assert_int_equal(holder(&f, "phone", "+33612345678", NULL), ana);
	customer(&f, ana, &c);
	assert_string_equal(c.name, "Ana");
	assert_string_equal(c.external_ref, "c-1");
	assert_string_equal(c.language, "fr");
	assert_int_equal(c.attributes_len, 2);
	assert_string_equal(c.attributes[0], "city=Lyon");
	assert_string_equal(c.attributes[1], "tier=gold");
	assert_string_equal(listed(&c, "phone", "+33612345678")->source, "import");
	assert_true(listed(&c, "phone", "+33612345678")->verified);
	proto_customer_clear(&c);
	/* Bob: found by his address, given his ref. */
	assert_int_equal(holder(&f, "ref", "c-2", NULL), bob);
	/* Ana's first WhatsApp message is hers: no new customer. */
	head = router_head(f.r);
	assert_int_equal(msg(&f, "whatsapp", "wamid.a", "33612345678", NULL, NULL), ana);
	assert_int_equal(event_type(&f, head + 1), PROTO_T_CUSTOMER_UPDATED);
	/* The same command again: its first seq, nothing done. */
	head = router_head(f.r);
	a = cmd_ok(&f, contacts_import, IMPORT_1);
	assert_true(json_is_true(json_object_get(a, "duplicate")));
	assert_int_equal(router_head(f.r), head);
	json_decref(a);
	fx_close(&f);
}

/* A directory is proof: an address a visitor only claimed is not how the
 * contact is found, and the imported customer takes it. */
static void test_import_takes_claim(void **state)
{
	struct proto_customer c;
	json_t *a;
	struct fx f;
	uint64_t v, dee;
	unsigned flags;

	(void)state;
	fx_open(&f);
	v = msg(&f, "livechat", "c1", "visitor:vd", "dee@example.com", NULL);
	a = cmd_ok(&f, contacts_import,
		   "{\"command_id\": \"imp-d\", \"contacts\": [{\"ref\": \"c-9\","
		   " \"name\": \"Dee\", \"emails\": [\"dee@example.com\"]}]}");
	assert_int_equal(num(a, "created"), 1);
	assert_int_equal(json_array_size(json_object_get(a, "conflicts")), 0);
	json_decref(a);
	dee = holder(&f, "ref", "c-9", NULL);
	assert_int_not_equal(dee, v);
	assert_int_equal(holder(&f, "email", "dee@example.com", &flags), dee);
	assert_int_equal(flags, STORE_IDENT_VERIFIED);
	customer(&f, v, &c);
	assert_int_equal(c.probable_match, dee);
	assert_null(listed(&c, "email", "dee@example.com"));
	proto_customer_clear(&c);
	customer(&f, dee, &c);
	assert_string_equal(listed(&c, "email", "dee@example.com")->source, "import");
	proto_customer_clear(&c);
	fx_close(&f);
}

static void test_import_again_and_errors(void **state)
{
	char err[256];
	json_t *a = NULL;
	struct fx f;
	uint64_t head;

	(void)state;
	fx_open(&f);
	json_decref(cmd_ok(&f, contacts_import, IMPORT_1));
	/* The same directory under another id: nothing changed, no event. */
	head = router_head(f.r);
	a = cmd_ok(&f, contacts_import,
		   "{\"command_id\": \"imp-2\", \"contacts\": [{\"ref\": \"c-1\", \"name\": \"Ann\","
		   " \"emails\": [\"ana@example.com\"], \"phones\": [\"+33612345678\"],"
		   " \"attributes\": {\"city\": \"Lyon\", \"tier\": \"gold\"}, \"language\": \"fr\"}]}");
	assert_int_equal(num(a, "unchanged"), 1);
	assert_int_equal(num(a, "seq"), 0);
	assert_int_equal(router_head(f.r), head);
	json_decref(a);
	/* New attributes replace the old ones: updated. */
	a = cmd_ok(&f, contacts_import,
		   "{\"command_id\": \"imp-3\", \"contacts\": [{\"ref\": \"c-1\","
		   " \"emails\": [\"ana@example.com\"], \"attributes\": {\"tier\": \"silver\"}}]}");
	assert_int_equal(num(a, "updated"), 1);
	assert_int_equal(event_type(&f, num(a, "seq")), PROTO_T_CUSTOMER_UPDATED);
	json_decref(a);
	/* Requests that are wrong as a whole. */
	assert_int_equal(cmd(&f, contacts_import, "{\"contacts\": []}", &a, err, sizeof(err)),
			 GW_EMISSING);
	assert_int_equal(cmd(&f, contacts_import, "{\"command_id\": \"x\", \"contacts\": []}", &a,
			     err, sizeof(err)),
			 GW_EMISSING);
	assert_int_equal(cmd(&f, contacts_import, "{\"command_id\": \"x\", \"contacts\": {}}", &a,
			     err, sizeof(err)),
			 GW_ETYPE);
	assert_non_null(strstr(err, "contacts"));
	fx_close(&f);
}

/* --- customer.merge and customer.unmerge ------------------------------------------ */

static void test_merge_unmerge(void **state)
{
	struct proto_customer s, t;
	struct proto_ticket tk;
	struct idlist l;
	char args[256], err[256];
	json_t *a = NULL;
	struct fx f;
	uint64_t src, dst, t_src, t_dst, seq_src, head, mid, late;

	(void)state;
	fx_open(&f);
	src = msg(&f, "email", "<s1@x>", "sam@example.com", NULL, &t_src);
	seq_src = router_head(f.r);
	dst = msg(&f, "whatsapp", "wamid.s", "33698765432", NULL, &t_dst);
	assert_int_not_equal(src, dst);
	/* Merge the mail customer into the WhatsApp one. */
	head = router_head(f.r);
	snprintf(args, sizeof(args),
		 "{\"command_id\": \"m-1\", \"source_id\": %llu, \"target_id\": %llu}",
		 (unsigned long long)src, (unsigned long long)dst);
	a = cmd_ok(&f, merge_customers, args);
	mid = num(a, "merge_id");
	assert_int_equal(num(a, "seq"), head + 1);
	json_decref(a);
	assert_int_equal(event_type(&f, head + 1), PROTO_T_CUSTOMER_MERGED);
	assert_int_equal(event_type(&f, head + 2), PROTO_T_CUSTOMER_UPDATED);
	assert_int_equal(event_type(&f, head + 3), PROTO_T_CUSTOMER_UPDATED);
	assert_int_equal(event_type(&f, head + 4), PROTO_T_TICKET_UPDATED);
	assert_int_equal(router_head(f.r), head + 4);
	assert_int_equal(holder(&f, "email", "sam@example.com", NULL), dst);
	ticket(&f, t_src, &tk);
	assert_int_equal(tk.customer_id, dst);
	assert_string_equal(tk.cause, "merged into customer 2");
	proto_ticket_clear(&tk);
	l = tickets_of(&f, dst);
	assert_true(has(&l, t_src) && has(&l, t_dst));
	assert_int_equal(tickets_of(&f, src).n, 0);
	customer(&f, src, &s);
	customer(&f, dst, &t);
	assert_int_equal(s.merged_into, dst);
	assert_int_equal(s.identities_len, 0);
	assert_string_equal(listed(&t, "email", "sam@example.com")->source, "merge");
	assert_int_equal(t.message_count, 2);
	assert_int_equal(t.open_ticket_id, t_dst);
	assert_true(has((l = thread_of(&f, t.thread_id), &l), seq_src));
	proto_customer_clear(&t);
	/* The same command again names the same merge; another merge of the
	 * source, or of a customer into itself, or of nobody, is refused. */
	a = cmd_ok(&f, merge_customers, args);
	assert_true(json_is_true(json_object_get(a, "duplicate")));
	assert_int_equal(num(a, "merge_id"), mid);
	json_decref(a);
	snprintf(args, sizeof(args), "{\"command_id\": \"m-2\", \"source_id\": %llu, "
		 "\"target_id\": %llu}", (unsigned long long)src, (unsigned long long)dst);
	assert_int_equal(cmd(&f, merge_customers, args, &a, err, sizeof(err)), GW_EINVAL);
	assert_non_null(strstr(err, "merged into"));
	assert_int_equal(cmd(&f, merge_customers, "{\"command_id\": \"m-3\", \"source_id\": 2, "
			     "\"target_id\": 2}", &a, err, sizeof(err)), GW_EINVAL);
	assert_int_equal(cmd(&f, merge_customers, "{\"command_id\": \"m-4\", \"source_id\": 99, "
			     "\"target_id\": 2}", &a, err, sizeof(err)), GW_ENOTFOUND);
	assert_int_equal(cmd(&f, merge_customers, "{\"command_id\": \"m-5\", \"source_id\": 1}",
			     &a, err, sizeof(err)), GW_EMISSING);
	/* Mail from the source's address now lands with the target. */
	assert_int_equal(msg(&f, "email", "<s2@x>", "sam@example.com", NULL, NULL), dst);
	late = router_head(f.r) - 1; /* its message.received, before ticket.updated */
	assert_int_equal(event_type(&f, late), PROTO_T_MESSAGE_RECEIVED);
	/* Unmerge: identities, tickets and thread entries go back. */
	snprintf(args, sizeof(args), "{\"command_id\": \"u-1\", \"merge_id\": %llu}",
		 (unsigned long long)mid);
	head = router_head(f.r);
	a = cmd_ok(&f, merge_undo, args);
	assert_int_equal(num(a, "merge_id"), mid);
	json_decref(a);
	assert_int_equal(event_type(&f, head + 1), PROTO_T_CUSTOMER_UNMERGED);
	assert_int_equal(holder(&f, "email", "sam@example.com", NULL), src);
	ticket(&f, t_src, &tk);
	assert_int_equal(tk.customer_id, src);
	assert_int_equal(tk.thread_id, s.thread_id);
	proto_ticket_clear(&tk);
	assert_true(has((l = tickets_of(&f, src), &l), t_src));
	assert_false(has((l = tickets_of(&f, dst), &l), t_src));
	proto_customer_clear(&s);
	customer(&f, src, &s);
	customer(&f, dst, &t);
	assert_int_equal(s.merged_into, 0);
	assert_non_null(listed(&s, "email", "sam@example.com"));
	assert_null(listed(&t, "email", "sam@example.com"));
	assert_int_equal(s.open_ticket_id, t_src);
	l = thread_of(&f, t.thread_id);
	assert_false(has(&l, seq_src));
	assert_true(has(&l, late)); /* arrived after the merge: stays */
	proto_customer_clear(&s);
	proto_customer_clear(&t);
	/* Twice is an error; so is an unknown merge. */
	snprintf(args, sizeof(args), "{\"command_id\": \"u-2\", \"merge_id\": %llu}",
		 (unsigned long long)mid);
	assert_int_equal(cmd(&f, merge_undo, args, &a, err, sizeof(err)), GW_EINVAL);
	assert_non_null(strstr(err, "undone already"));
	assert_int_equal(cmd(&f, merge_undo, "{\"command_id\": \"u-3\", \"merge_id\": 77}", &a, err,
			     sizeof(err)),
			 GW_ENOTFOUND);
	/* The source is itself again. */
	assert_int_equal(msg(&f, "email", "<s3@x>", "sam@example.com", NULL, NULL), src);
	fx_close(&f);
}

/*
 * One customer per phone number whatever its spelling: an SMS or API
 * sender written nationally in routing.default_region, a WhatsApp id of a
 * Brazilian mobile without its ninth digit, and the E.164 form are one
 * number. Bare digits on the API channel are an id, never a guessed phone.
 */
static void test_phone_spellings(void **state)
{
	struct fx f;
	char *saved = routing_cfg.default_region;
	uint64_t sms, api, wa, id;

	(void)state;
	routing_cfg.default_region = "BR";
	fx_open(&f);
	sms = msg(&f, "sms", "SM1", "+5511987654321", NULL, NULL);
	assert_int_equal(holder(&f, "phone", "+5511987654321", NULL), sms);
	api = msg(&f, "api", "a1", "(11) 98765-4321", NULL, NULL);
	assert_int_equal(api, sms);
	wa = msg(&f, "whatsapp", "wamid.1", "551187654321", NULL, NULL);
	assert_int_equal(wa, sms);
	assert_int_equal(msg(&f, "sms", "SM2", "11987654321", NULL, NULL), sms);
	/* Bare digits on the API channel: a client's own id. */
	id = msg(&f, "api", "a2", "11987654321", NULL, NULL);
	assert_int_not_equal(id, sms);
	/* What libphonenumber cannot read stays the channel's id. */
	assert_int_not_equal(msg(&f, "sms", "SM3", "12345", NULL, NULL), sms);
	fx_close(&f);
	routing_cfg.default_region = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phone_spellings),
		cmocka_unit_test(test_identity_resolve),
		cmocka_unit_test(test_resolve_across_channels),
		cmocka_unit_test(test_claim_of_known_customer),
		cmocka_unit_test(test_claim_returning_visitor),
		cmocka_unit_test(test_claim_yields_to_proof),
		cmocka_unit_test(test_site_signed_email),
		cmocka_unit_test(test_shared_phone),
		cmocka_unit_test(test_shared_phone_probable_match),
		cmocka_unit_test(test_party_attributes),
		cmocka_unit_test(test_import),
		cmocka_unit_test(test_import_takes_claim),
		cmocka_unit_test(test_import_again_and_errors),
		cmocka_unit_test(test_merge_unmerge),
	};
	char err[256];
	int failed;

	/* The routing defaults, without language models. */
	if (routing_defaults_no_lang(&routing_cfg, err, sizeof(err)) != GW_OK)
		return 1;
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	gw_config_routing_free(&routing_cfg);
	return failed;
}

/*
 * identity.c - who the sender of a message is: the identities a message
 * shows lead to a customer (router/rules/identity.h states the rules).
 *
 * A message shows up to four identities:
 *   1. its channel identity, verified: (channel, sender address), with the
 *      email channel's address normalized as an email address;
 *   2. the cross-channel identities that address implies, verified: a
 *      WhatsApp wa_id is a phone number; an API (or other) sender that is
 *      a valid E.164 number or email address is that number or address;
 *   3. the email address the sender gave (who->email, e.g. a chat's
 *      pre-chat form): claimed, unless the connector says the channel
 *      verified it (who->email_verified: a live chat's site-signed
 *      identity);
 *   4. the phone number the sender gave (who->phone): claimed, unless the
 *      channel verified it (who->phone_verified: a Telegram user sharing
 *      their own contact).
 * The sender is the customer of the first verified identity found
 * registered as verified (following merges); when there is none, a new
 * customer. Then every identity of the message joins that customer where
 * it is free, and where it is not:
 *   - a claim held by another customer stays there, and the sender becomes
 *     a probable match of that customer (what a chat visitor types never
 *     files the chat into someone else's conversation);
 *   - a verified identity another customer holds only as a claim is taken
 *     from it (a claim yields to proof), and that claimer becomes a
 *     probable match of the sender, keeping its history;
 *   - a verified identity another customer holds verified stays there (a
 *     warning says so): joining two customers is an operator's merge.
 */
#include "router/router.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "router/rules/identity.h"
#include "router/rules/normalize.h"

#define IDENT_MSG_MAX 4
#define EMAIL_CHANNEL "email"

int ident_make(struct ident *id, const char *kind, const char *address, unsigned flags)
{
	size_t kl = kind ? strlen(kind) : 0, al = address ? strlen(address) : 0;

	if (!kl || !al)
		return GW_EINVAL;
	if (kl >= sizeof(id->kind) || al >= sizeof(id->address))
		return GW_ETOOBIG;
	memcpy(id->kind, kind, kl + 1);
	memcpy(id->address, address, al + 1);
	id->flags = flags;
	return GW_OK;
}

/*
 * follow_get - ident_follow, keeping the record of the customer reached in
 * *c (zeroed by the caller; the caller's to clear, also on an error), so
 * that the caller does not read it a second time.
 */
static int follow_get(struct batch *b, uint64_t id, uint64_t *final, struct proto_customer *c)
{
	uint64_t cur = id;
	int rc;

	*final = id;
	for (int hops = 0; hops <= IDENT_MAX_CHAIN; hops++) {
		struct proto_customer next;

		memset(&next, 0, sizeof(next));
		rc = store_customer_get(b->txn, cur, &next);
		if (rc == GW_ENOTFOUND && hops > 0) {
			/* A link to nowhere: the last customer reached holds. */
			GW_WARN("router", "customer %llu: merged into missing customer %llu",
				(unsigned long long)*final, (unsigned long long)cur);
			return GW_OK;
		}
		if (rc) {
			proto_customer_clear(&next);
			return rc;
		}
		proto_customer_clear(c);
		*c = next;
		*final = cur;
		if (!c->merged_into)
			return GW_OK;
		cur = c->merged_into;
	}
	GW_WARN("router", "customer %llu: merge chain longer than %d links",
		(unsigned long long)id, IDENT_MAX_CHAIN);
	return GW_OK;
}

int ident_follow(struct batch *b, uint64_t id, uint64_t *final)
{
	struct proto_customer c;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = follow_get(b, id, final, &c);
	proto_customer_clear(&c);
	return rc;
}

int ident_find(struct batch *b, const struct ident *id, uint64_t *customer)
{
	uint64_t holder;
	unsigned flags;
	int rc = store_identity_lookup(b->txn, id->kind, id->address, &holder, &flags);

	if (rc == GW_OK && !(flags & STORE_IDENT_VERIFIED))
		rc = GW_ENOTFOUND; /* a claim leads nowhere */
	return rc ? rc : ident_follow(b, holder, customer);
}

/* list_index - the position of (kind, address) on c's list, or -1. */
static long list_index(const struct proto_customer *c, const char *kind, const char *address)
{
	for (size_t i = 0; i < c->identities_len; i++)
		if (strcmp(c->identities[i].kind, kind) == 0 &&
		    strcmp(c->identities[i].address, address) == 0)
			return (long)i;
	return -1;
}

/* list_mark_verified - the listed identity `e` is now verified by `source`. */
static int list_mark_verified(struct proto_identity *e, const char *source, int *changed)
{
	char *s = gw_strdup(source);

	if (!s)
		return GW_ENOMEM;
	free(e->source);
	e->source = s;
	e->verified = true;
	*changed = 1;
	return GW_OK;
}

int ident_list_put(struct proto_customer *c, const struct ident *id, const char *source,
		   int *changed)
{
	long at = list_index(c, id->kind, id->address);
	struct proto_identity *v, *e;

	if (at >= 0) {
		e = &c->identities[at];
		if ((id->flags & STORE_IDENT_VERIFIED) && !e->verified)
			return list_mark_verified(e, source, changed);
		return GW_OK;
	}
	if (c->identities_len >= PROTO_MAX_IDENTITIES) {
		GW_WARN("router", "customer %llu: more than %d identities, %s:%s not listed",
			(unsigned long long)c->customer_id, PROTO_MAX_IDENTITIES, id->kind,
			id->address);
		return GW_OK;
	}
	v = realloc(c->identities, (c->identities_len + 1) * sizeof(*v));
	if (!v)
		return GW_ENOMEM;
	c->identities = v;
	e = &v[c->identities_len];
	memset(e, 0, sizeof(*e));
	e->kind = gw_strdup(id->kind);
	e->address = gw_strdup(id->address);
	e->source = gw_strdup(source);
	e->verified = (id->flags & STORE_IDENT_VERIFIED) != 0;
	if (!e->kind || !e->address || !e->source) {
		free(e->kind);
		free(e->address);
		free(e->source);
		return GW_ENOMEM;
	}
	c->identities_len++;
	*changed = 1;
	return GW_OK;
}

int ident_list_del(struct proto_customer *c, const char *kind, const char *address)
{
	long at = list_index(c, kind, address);
	struct proto_identity *e;

	if (at < 0)
		return 0;
	e = &c->identities[at];
	free(e->kind);
	free(e->address);
	free(e->source);
	memmove(e, e + 1, (c->identities_len - (size_t)at - 1) * sizeof(*e));
	c->identities_len--;
	return 1;
}

/* attach_held - `id` is registered to c already (flags as stored): it is
 * upgraded to verified when `id` is, and listed if it was not. */
static int attach_held(struct batch *b, struct proto_customer *c, const struct ident *id,
		       unsigned flags, const char *source, int *changed)
{
	struct ident eff = *id;
	int rc;

	eff.flags = flags | id->flags;
	if (eff.flags != flags) {
		rc = store_identity_set(b->txn, id->kind, id->address, c->customer_id, eff.flags);
		if (rc)
			return rc;
		*changed = 1;
	}
	return ident_list_put(c, &eff, source, changed);
}

/* take_claim - `id`, verified, takes the claim `clash` describes for c. */
static int take_claim(struct batch *b, struct proto_customer *c, const struct ident *id,
		      const char *source, int *changed, struct ident_clash *clash)
{
	int rc = store_identity_set(b->txn, id->kind, id->address, c->customer_id, id->flags);

	if (rc)
		return rc;
	GW_INFO("router", "customer %llu: a verified %s identity takes the claim of customer %llu",
		(unsigned long long)c->customer_id, id->kind, (unsigned long long)clash->customer);
	clash->taken = 1;
	*changed = 1;
	return ident_list_put(c, id, source, changed);
}

int ident_attach(struct batch *b, struct proto_customer *c, const struct ident *id,
		 const char *source, int *changed, struct ident_clash *clash)
{
	uint64_t holder, final;
	unsigned flags;
	int rc;

	memset(clash, 0, sizeof(*clash));
	rc = store_identity_lookup(b->txn, id->kind, id->address, &holder, &flags);
	if (rc == GW_OK && holder == c->customer_id)
		return attach_held(b, c, id, flags, source, changed);
	if (rc == GW_OK) {
		rc = ident_follow(b, holder, &final);
		if (rc == GW_OK && final == c->customer_id)
			return GW_OK; /* held through a merge into c */
		if (rc == GW_OK) {
			*clash = (struct ident_clash){holder, final, flags, 0};
			if ((id->flags & STORE_IDENT_VERIFIED) && !(flags & STORE_IDENT_VERIFIED))
				return take_claim(b, c, id, source, changed, clash);
			return GW_OK; /* someone else's: left there */
		}
	}
	/* Unregistered, or its customer is gone: it is c's now. */
	if (rc != GW_ENOTFOUND)
		return rc;
	rc = store_identity_set(b->txn, id->kind, id->address, c->customer_id, id->flags);
	if (rc)
		return rc;
	*changed = 1;
	return ident_list_put(c, id, source, changed);
}

int ident_match_set(struct proto_customer *c, uint64_t other, const struct ident *id,
		    const char *why, int *changed)
{
	char reason[PROTO_MAX_CHANNEL + PROTO_MAX_ADDRESS + 160], *r;

	if (!other || other == c->customer_id || c->probable_match == other)
		return GW_OK;
	snprintf(reason, sizeof(reason), "%s %s: %s customer %llu", id->kind, id->address, why,
		 (unsigned long long)other);
	r = gw_strdup(reason);
	if (!r)
		return GW_ENOMEM;
	free(c->probable_match_reason);
	c->probable_match_reason = r;
	c->probable_match = other;
	*changed = 1;
	GW_INFO("router", "customer %llu: probable match of customer %llu (%s identity)",
		(unsigned long long)c->customer_id, (unsigned long long)other, id->kind);
	return GW_OK;
}

/* claimer_update - customer `id` loses `lost` from its list (NULL: none)
 * and, unless merged away, becomes a probable match of `to`; stored and
 * announced when that changed it. */
static int claimer_update(struct batch *b, uint64_t id, const struct ident *lost,
			  const struct ident *why, uint64_t to)
{
	struct proto_customer c;
	int rc, changed = 0;

	memset(&c, 0, sizeof(c));
	rc = store_customer_get(b->txn, id, &c);
	if (rc == GW_OK && lost)
		changed = ident_list_del(&c, lost->kind, lost->address);
	if (rc == GW_OK && !c.merged_into)
		rc = ident_match_set(&c, to, why, "claimed here, verified since by", &changed);
	if (rc == GW_OK && changed) {
		c.updated_at = gw_now_ms();
		rc = store_customer_put(b->txn, &c);
		if (rc == GW_OK)
			rc = route_emit_customer(b, PROTO_T_CUSTOMER_UPDATED, &c);
	}
	proto_customer_clear(&c);
	return rc;
}

int ident_claim_taken(struct batch *b, const struct ident_clash *clash, const struct ident *id,
		      uint64_t to)
{
	int rc;

	if (!clash->taken)
		return GW_OK;
	rc = claimer_update(b, clash->holder, id, id, to);
	if (rc == GW_OK && clash->customer != clash->holder)
		rc = claimer_update(b, clash->customer, NULL, id, to);
	return rc == GW_ENOTFOUND ? GW_OK : rc;
}

int ident_customer_new(struct batch *b, const char *channel, const char *address,
		       const char *name, struct proto_customer *c)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = route_next_id(b, ROUTE_NEXT_CUSTOMER, &c->customer_id);
	if (rc == GW_OK)
		rc = route_next_id(b, ROUTE_NEXT_THREAD, &c->thread_id);
	if (rc)
		return rc;
	c->channel = gw_strdup(channel);
	c->address = gw_strdup(address);
	c->name = gw_strdup(name);
	c->created_at = gw_now_ms();
	if (!c->channel || !c->address || (name && !c->name))
		return GW_ENOMEM;
	return GW_OK;
}

/* --- normalizing what a directory says ----------------------------------- */

/* kind_ok - a kind a directory may name: [a-z0-9_-]+, not "ref". */
static int kind_ok(const char *kind)
{
	if (!kind[0] || strcmp(kind, IDENT_KIND_REF) == 0)
		return 0;
	for (const char *p = kind; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_' &&
		    *p != '-')
			return 0;
	return 1;
}

/* trimmed - `in` without surrounding blanks into buf; 0 if too long. */
static int trimmed(const char *in, char *buf, size_t size)
{
	size_t n;

	while (isspace((unsigned char)*in))
		in++;
	n = strlen(in);
	while (n && isspace((unsigned char)in[n - 1]))
		n--;
	if (n >= size)
		return 0;
	memcpy(buf, in, n);
	buf[n] = '\0';
	return 1;
}

/* plain_ok - an address of a channel-native kind: no control characters. */
static int plain_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return s[0] != '\0';
}

/* what_of - what an address of `kind` is, for error messages. */
static const char *what_of(const char *kind)
{
	if (strcmp(kind, IDENT_KIND_EMAIL) == 0)
		return "email address";
	if (strcmp(kind, IDENT_KIND_PHONE) == 0 || strcmp(kind, IDENT_KIND_WHATSAPP) == 0)
		return "phone number";
	return "address";
}

int ident_normalize(const char *region, const char *kind, const char *address,
		    struct ident *out, char *why, size_t whylen)
{
	char raw[PROTO_MAX_ADDRESS + 1], e164[32];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!kind_ok(kind) || strlen(kind) > PROTO_MAX_CHANNEL) {
		snprintf(why, whylen, "'%.40s' is not an identity kind", kind);
		return GW_EINVAL;
	}
	if (!trimmed(address, raw, sizeof(raw)) || !plain_ok(raw)) {
		snprintf(why, whylen, "%s: '%.60s' is not an address", kind, address);
		return GW_EINVAL;
	}
	if (strcmp(kind, IDENT_KIND_EMAIL) == 0)
		rc = norm_email(raw, out->address, sizeof(out->address));
	else if (strcmp(kind, IDENT_KIND_PHONE) == 0)
		rc = norm_phone(raw, region, out->address, sizeof(out->address));
	else if (strcmp(kind, IDENT_KIND_WHATSAPP) == 0) {
		/* A wa_id is the number's digits; people write the number. */
		rc = raw[strspn(raw, "0123456789")] == '\0'
			     ? norm_wa_id(raw, e164, sizeof(e164))
			     : norm_phone(raw, region, e164, sizeof(e164));
		if (rc == GW_OK)
			rc = ident_make(out, kind, e164 + 1, 0);
	} else
		rc = ident_make(out, kind, raw, 0);
	if (rc) {
		snprintf(why, whylen, "%s: '%.60s' is not a valid %s", kind, raw, what_of(kind));
		return GW_EINVAL;
	}
	snprintf(out->kind, sizeof(out->kind), "%s", kind);
	return GW_OK;
}

/* --- the identities of a message ------------------------------------------ */

struct msg_idents {
	struct ident v[IDENT_MSG_MAX];
	const char *source[IDENT_MSG_MAX];
	struct ident_clash clash[IDENT_MSG_MAX]; /* what attach_all met */
	size_t n;
};

/* add_ident - appends (kind, address) unless listed already or invalid. */
static void add_ident(struct msg_idents *m, const char *kind, const char *address,
		      unsigned flags, const char *source)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].kind, kind) == 0 && strcmp(m->v[i].address, address) == 0)
			return;
	if (m->n < IDENT_MSG_MAX && ident_make(&m->v[m->n], kind, address, flags) == GW_OK)
		m->source[m->n++] = source;
}

/* channel_ident - the sender's identity on its own channel. The email
 * channel's address is an email address: normalized, or lowercased as it
 * always was stored when it does not parse. */
static void channel_ident(struct msg_idents *m, const char *channel, const char *address)
{
	char buf[PROTO_MAX_ADDRESS + 1];
	size_t i;

	if (strcmp(channel, EMAIL_CHANNEL) != 0) {
		add_ident(m, channel, address, STORE_IDENT_VERIFIED, IDENT_SRC_MESSAGE);
		return;
	}
	if (norm_email(address, buf, sizeof(buf)) != GW_OK) {
		for (i = 0; address[i] && i + 1 < sizeof(buf); i++)
			buf[i] = (char)tolower((unsigned char)address[i]);
		buf[i] = '\0';
	}
	add_ident(m, IDENT_KIND_EMAIL, buf, STORE_IDENT_VERIFIED, IDENT_SRC_MESSAGE);
}

/*
 * phone_form - how `address` looks as a phone number: 0 not one (a letter,
 * too few digits), 1 written nationally with separators or a trunk '0'
 * ("11 98765-4321", "06 12 34 56 78"), 2 international ('+' or "00"), 3
 * bare digits ("5511987654321": an id as much as a number).
 */
static int phone_form(const char *address)
{
	size_t digits = 0, seps = 0;

	for (const char *p = address; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (strchr(" -.()", *p))
			seps++;
		else if (!(*p == '+' && p == address))
			return 0;
	}
	if (digits < 6 || digits > 17)
		return 0;
	if (address[0] == '+' || strncmp(address, "00", 2) == 0)
		return 2;
	return seps || address[0] == '0' ? 1 : 3;
}

/* phone_channel - a channel whose sender addresses are phone numbers. */
static int phone_channel(const char *channel)
{
	return strcmp(channel, "sms") == 0;
}

/*
 * implied_idents - the cross-channel identities the sender address is: a
 * WhatsApp id is a phone number; an SMS sender is one, read in
 * routing.default_region when written nationally; an API (or other) sender
 * is one when written internationally, or nationally with separators or a
 * trunk 0 (bare digits there are an id, never guessed), or else an email
 * address when it is one. What libphonenumber cannot read stays the
 * channel's id only.
 */
static void implied_idents(struct msg_idents *m, const struct routing *rt, const char *channel,
			   const char *address)
{
	const char *region = rt && rt->cfg ? rt->cfg->default_region : NULL;
	char buf[PROTO_MAX_ADDRESS + 1];
	int form = phone_form(address);

	if (strcmp(channel, EMAIL_CHANNEL) == 0)
		return;
	if (strcmp(channel, IDENT_KIND_WHATSAPP) == 0) {
		if (norm_wa_id(address, buf, sizeof(buf)) == GW_OK)
			add_ident(m, IDENT_KIND_PHONE, buf, STORE_IDENT_VERIFIED,
				  IDENT_SRC_MESSAGE);
		return;
	}
	if ((form == 1 || form == 2 || (form == 3 && phone_channel(channel))) &&
	    norm_phone(address, region, buf, sizeof(buf)) == GW_OK)
		add_ident(m, IDENT_KIND_PHONE, buf, STORE_IDENT_VERIFIED, IDENT_SRC_MESSAGE);
	else if (!form && strchr(address, '@') && norm_email(address, buf, sizeof(buf)) == GW_OK)
		add_ident(m, IDENT_KIND_EMAIL, buf, STORE_IDENT_VERIFIED, IDENT_SRC_MESSAGE);
}

/* message_idents - what the message shows, in lookup order. */
static void message_idents(struct msg_idents *m, const struct routing *rt, const char *channel,
			   const struct proto_party *who)
{
	char buf[PROTO_MAX_ADDRESS + 1];

	m->n = 0;
	channel_ident(m, channel, who->address);
	implied_idents(m, rt, channel, who->address);
	/* Typed by the sender: claimed, and only in its normal spelling;
	 * verified when the channel vouches for it (a site-signed chat). */
	if (who->email && norm_email(who->email, buf, sizeof(buf)) == GW_OK)
		add_ident(m, IDENT_KIND_EMAIL, buf, who->email_verified ? STORE_IDENT_VERIFIED : 0,
			  who->email_verified ? IDENT_SRC_MESSAGE : IDENT_SRC_CLAIM);
	/* The same for a phone number the sender gave: verified when the
	 * channel vouches for it (a Telegram user's own shared contact). */
	if (who->phone &&
	    norm_phone(who->phone, rt && rt->cfg ? rt->cfg->default_region : NULL, buf,
		       sizeof(buf)) == GW_OK)
		add_ident(m, IDENT_KIND_PHONE, buf, who->phone_verified ? STORE_IDENT_VERIFIED : 0,
			  who->phone_verified ? IDENT_SRC_MESSAGE : IDENT_SRC_CLAIM);
}

/* find_customer - the customer of the first verified identity registered
 * as verified, or 0: a claim, the message's or the store's, decides
 * nothing. */
static int find_customer(struct batch *b, const struct msg_idents *m, uint64_t *id)
{
	int rc;

	for (size_t i = 0; i < m->n; i++) {
		if (!(m->v[i].flags & STORE_IDENT_VERIFIED))
			continue;
		rc = ident_find(b, &m->v[i], id);
		if (rc != GW_ENOTFOUND)
			return rc;
	}
	*id = 0;
	return GW_OK;
}

/* clash_seen - what the clash of the message's identity `i` means for c:
 * a claim of another's address flags c a probable match of it; so does a
 * verified identity held verified elsewhere, which stays there (only a
 * merge joins them; fresh_join made it when c was nothing but a chat). A
 * taken claim is settled once c is announced (claims_settle). */
static int clash_seen(struct proto_customer *c, const struct msg_idents *m, size_t i,
		      int *changed)
{
	const struct ident_clash *k = &m->clash[i];
	const struct ident *id = &m->v[i];

	if (!k->holder || k->taken)
		return GW_OK;
	if (!(id->flags & STORE_IDENT_VERIFIED))
		return ident_match_set(c, k->customer, id,
				       (k->flags & STORE_IDENT_VERIFIED)
					       ? "claimed here, held verified by"
					       : "claimed here, claimed before by",
				       changed);
	GW_INFO("router",
		"a verified %s identity of a message from customer %llu belongs to customer %llu: "
		"left there, a probable match (merge the customers to join them)",
		id->kind, (unsigned long long)c->customer_id, (unsigned long long)k->customer);
	return ident_match_set(c, k->customer, id, "verified here, held verified by", changed);
}

/* attach_all - the message's identities join `c` where they are free;
 * m->clash says what happened where they were not. */
static int attach_all(struct batch *b, struct proto_customer *c, struct msg_idents *m,
		      int *changed)
{
	int rc = GW_OK;

	for (size_t i = 0; rc == GW_OK && i < m->n; i++) {
		rc = ident_attach(b, c, &m->v[i], m->source[i], changed, &m->clash[i]);
		if (rc == GW_OK)
			rc = clash_seen(c, m, i, changed);
	}
	return rc;
}

/* claims_settle - the claimers whose claims the message's verified
 * identities took learn it (after c is announced). */
static int claims_settle(struct batch *b, const struct proto_customer *c,
			 const struct msg_idents *m)
{
	int rc = GW_OK;

	for (size_t i = 0; rc == GW_OK && i < m->n; i++)
		rc = ident_claim_taken(b, &m->clash[i], &m->v[i], c->customer_id);
	return rc;
}

/*
 * known_sender - the fast path of a sender seen before: its channel
 * identity is registered and verified, and it typed no address. The
 * identities its address implies (a WhatsApp id's phone number) were
 * registered with the channel identity, when it was first met, so
 * normalizing them again (libphonenumber costs tens of µs) would find
 * nothing new. GW_ENOTFOUND sends the caller down the full path.
 */
static int known_sender(struct batch *b, const char *channel, const struct proto_party *who,
			struct proto_customer *c)
{
	struct msg_idents m;
	uint64_t holder, id;
	unsigned flags;
	int rc;

	if (who->email || who->phone)
		return GW_ENOTFOUND;
	m.n = 0;
	channel_ident(&m, channel, who->address);
	if (m.n != 1)
		return GW_ENOTFOUND;
	rc = store_identity_lookup(b->txn, m.v[0].kind, m.v[0].address, &holder, &flags);
	if (rc)
		return rc;
	if (!(flags & STORE_IDENT_VERIFIED) || !holder)
		return GW_ENOTFOUND; /* a claim to confirm: the full path upgrades it */
	/* The merge chain is followed on the records themselves: the one
	 * reached is the one returned, read once. */
	rc = follow_get(b, holder, &id, c);
	if (rc) {
		proto_customer_clear(c);
		memset(c, 0, sizeof(*c));
	}
	return rc;
}

/* only_channel - c lists nothing but the message's channel identity m->v[0]:
 * a customer that began with this chat and was never linked to more. */
static int only_channel(const struct proto_customer *c, const struct msg_idents *m)
{
	return m->n && c->identities_len == 1 &&
	       strcmp(c->identities[0].kind, m->v[0].kind) == 0 &&
	       strcmp(c->identities[0].address, m->v[0].address) == 0;
}

/* verified_elsewhere - the first identity of m past the channel's that is
 * verified and held verified by a customer other than `self`: its index
 * and where it leads, or *to = 0. */
static int verified_elsewhere(struct batch *b, const struct msg_idents *m, uint64_t self,
			      size_t *at, uint64_t *to)
{
	int rc;

	*to = 0;
	for (size_t i = 1; i < m->n; i++) {
		if (!(m->v[i].flags & STORE_IDENT_VERIFIED))
			continue;
		rc = ident_find(b, &m->v[i], to);
		if (rc == GW_ENOTFOUND || (rc == GW_OK && *to == self)) {
			*to = 0;
			continue;
		}
		*at = i;
		return rc;
	}
	return GW_OK;
}

/*
 * fresh_join - c was found by the message's channel identity and holds
 * nothing else, and the message proves a verified identity another
 * customer holds verified (a Telegram user who wrote first, then shared
 * their own phone number): c is merged into that customer, which c now
 * holds instead. A customer with more to it is left to clash_seen.
 */
static int fresh_join(struct batch *b, const struct msg_idents *m, struct proto_customer *c)
{
	char cause[PROTO_MAX_CHANNEL * 2 + PROTO_MAX_ADDRESS + 96];
	uint64_t to, from = c->customer_id;
	size_t at = 0;
	int rc;

	if (!only_channel(c, m))
		return GW_OK;
	rc = verified_elsewhere(b, m, from, &at, &to);
	if (rc || !to)
		return rc;
	snprintf(cause, sizeof(cause), "automatic: %s %s verified on %s, held verified by customer %llu",
		 m->v[at].kind, m->v[at].address, m->v[0].kind, (unsigned long long)to);
	gw_utf8_trim(cause);
	rc = merge_customers_in(b, from, to, cause, NULL);
	if (rc)
		return rc;
	GW_INFO("router", "customer %llu: merged into customer %llu (a verified %s identity)",
		(unsigned long long)from, (unsigned long long)to, m->v[at].kind);
	proto_customer_clear(c);
	memset(c, 0, sizeof(*c));
	return store_customer_get(b->txn, to, c);
}

/* --- attributes the channel tells ----------------------------------------- */

static int attr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* attr_set - "key=value" `kv` on c: replaces the value of its key, else is
 * added (up to PROTO_MAX_ATTRIBUTES); *changed set when c changed. */
static int attr_set(struct proto_customer *c, const char *kv, int *changed)
{
	const char *eq = strchr(kv, '=');
	size_t kl = eq ? (size_t)(eq - kv) + 1 : 0;
	char *dup, **v;

	if (!kl || kl == 1)
		return GW_OK; /* not key=value: ignored */
	for (size_t i = 0; i < c->attributes_len; i++) {
		if (strncmp(c->attributes[i], kv, kl) != 0)
			continue;
		if (strcmp(c->attributes[i], kv) == 0)
			return GW_OK;
		if (!(dup = gw_strdup(kv)))
			return GW_ENOMEM;
		free(c->attributes[i]);
		c->attributes[i] = dup;
		*changed = 1;
		return GW_OK;
	}
	if (c->attributes_len >= PROTO_MAX_ATTRIBUTES)
		return GW_OK;
	v = realloc(c->attributes, (c->attributes_len + 1) * sizeof(*v));
	if (!v)
		return GW_ENOMEM;
	c->attributes = v;
	if (!(v[c->attributes_len] = gw_strdup(kv)))
		return GW_ENOMEM;
	c->attributes_len++;
	*changed = 1;
	return GW_OK;
}

/* attrs_take - the party's attributes set on c, kept sorted. */
static int attrs_take(struct proto_customer *c, const struct proto_party *who, int *changed)
{
	int rc = GW_OK, mine = 0;

	for (size_t i = 0; rc == GW_OK && i < who->attributes_len; i++)
		rc = attr_set(c, who->attributes[i], &mine);
	if (mine) {
		qsort(c->attributes, c->attributes_len, sizeof(*c->attributes), attr_cmp);
		*changed = 1;
	}
	return rc;
}

/* announce - a new customer (stored by the caller) or a changed one
 * (stored here: a message filed without a ticket does not store it). */
static int announce(struct batch *b, struct proto_customer *c, int created, int changed)
{
	int rc;

	if (created)
		return route_emit_customer(b, PROTO_T_CUSTOMER_CREATED, c);
	if (!changed)
		return GW_OK;
	c->updated_at = gw_now_ms();
	rc = store_customer_put(b->txn, c);
	return rc ? rc : route_emit_customer(b, PROTO_T_CUSTOMER_UPDATED, c);
}

int identity_resolve(struct batch *b, const char *channel, const struct proto_party *who,
		     struct proto_customer *c, int *created)
{
	struct msg_idents m;
	uint64_t id;
	int rc, changed = 0;

	*created = 0;
	rc = known_sender(b, channel, who, c);
	if (rc == GW_OK)
		rc = attrs_take(c, who, &changed);
	if (rc == GW_OK)
		return announce(b, c, 0, changed);
	if (rc != GW_ENOTFOUND)
		return rc;
	message_idents(&m, b->rt, channel, who);
	rc = find_customer(b, &m, &id);
	if (rc)
		return rc;
	if (id) {
		rc = store_customer_get(b->txn, id, c);
		if (rc == GW_OK)
			rc = fresh_join(b, &m, c);
	} else {
		rc = ident_customer_new(b, channel, who->address, who->name, c);
		*created = rc == GW_OK;
	}
	if (rc == GW_OK)
		rc = attach_all(b, c, &m, &changed);
	if (rc == GW_OK)
		rc = attrs_take(c, who, &changed);
	if (rc == GW_OK)
		rc = announce(b, c, *created, changed);
	return rc ? rc : claims_settle(b, c, &m);
}

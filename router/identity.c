/*
 * identity.c - who the sender of a message is: identities (kind, address)
 * lead to customers.
 */
#include "router/router.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "gateway/err.h"
#include "gateway/util.h"

#define EMAIL_CHANNEL "email"

/*
 * claimed_email - the customer known by the email address a sender gave
 * (who->email, e.g. a chat's pre-chat form), lowercased as the email
 * channel stores its addresses; *id 0 when none. `key` receives the
 * lowercased address for registering it.
 */
static int claimed_email(struct batch *b, const struct proto_party *who, char *key,
			 size_t keylen, uint64_t *id)
{
	size_t n = 0;
	int rc;

	*id = 0;
	key[0] = '\0';
	if (!who->email || !who->email[0] || strlen(who->email) >= keylen)
		return GW_OK;
	for (; who->email[n]; n++)
		key[n] = (char)tolower((unsigned char)who->email[n]);
	key[n] = '\0';
	rc = store_identity_get(b->txn, EMAIL_CHANNEL, key, id);
	return rc == GW_ENOTFOUND ? GW_OK : rc;
}

/*
 * customer_resolve - the customer of (channel, who->address) into `c`. An
 * unknown sender who gave an email address (who->email) joins the customer
 * known by it, so a chat visitor who types the address they email from
 * continues that customer's history; otherwise a new customer is created
 * (*created = 1), and the email address is registered for it.
 */
int identity_resolve(struct batch *b, const char *channel, const struct proto_party *who,
			    struct proto_customer *c, int *created)
{
	char email[PROTO_MAX_ADDRESS + 1];
	uint64_t id;
	int rc;

	*created = 0;
	rc = store_identity_get(b->txn, channel, who->address, &id);
	if (rc == GW_OK)
		return store_customer_get(b->txn, id, c);
	if (rc != GW_ENOTFOUND)
		return rc;
	rc = claimed_email(b, who, email, sizeof(email), &id);
	if (rc == GW_OK && id) {
		rc = store_identity_put(b->txn, channel, who->address, id);
		return rc == GW_OK ? store_customer_get(b->txn, id, c) : rc;
	}
	if (rc)
		return rc;
	memset(c, 0, sizeof(*c));
	rc = route_next_id(b, ROUTE_NEXT_CUSTOMER, &c->customer_id);
	if (rc == GW_OK)
		rc = route_next_id(b, ROUTE_NEXT_THREAD, &c->thread_id);
	if (rc)
		return rc;
	*created = 1;
	c->channel = gw_strdup(channel);
	c->address = gw_strdup(who->address);
	c->name = gw_strdup(who->name);
	c->created_at = gw_now_ms();
	if (!c->channel || !c->address || (who->name && !c->name))
		return GW_ENOMEM;
	rc = store_identity_put(b->txn, channel, who->address, c->customer_id);
	if (rc == GW_OK && email[0] && strcmp(channel, EMAIL_CHANNEL) != 0)
		rc = store_identity_put(b->txn, EMAIL_CHANNEL, email, c->customer_id);
	if (rc == GW_OK)
		rc = route_emit_customer(b, PROTO_T_CUSTOMER_CREATED, c);
	return rc;
}


/*
 * threading.c - which ticket a message joins, and why.
 *
 * thread_place tries the rules below in order; the first that takes the
 * message names itself in m->thread_rule and says in m->thread_reason what
 * matched (ids, ages, windows), so that an operator can tell why a message
 * landed where it did (docs/threading.md):
 *   reply_reference    an id of reply_to is a message of this customer's
 *                      ticket (the dedup table keeps each message's ticket)
 *   ticket_token       "[#T-123]" in the subject names this customer's ticket
 *   probable_duplicate the same text came from this customer on another
 *                      channel within routing.duplicate_window_s
 *   open_ticket        the customer's open ticket in the channel's scope
 *   reopened           the scope's last ticket closed within the reopen window
 *   new_ticket         none of the above
 * A reference or token naming another customer's ticket is ignored with a
 * warning on the message: knowing an id must not let anyone write into
 * someone else's ticket.
 *
 * Auto-replies and bounces do not go through these rules: thread_automated
 * ("automated") files them in the ticket their reply_to names, a ticket of
 * their sender or of a reply the gateway sent, as it is (never opened nor
 * reopened), else in none.
 *
 * Scopes (routing_scope): "customer" keeps one open ticket per customer
 * (c->open_ticket_id), "channel" one per customer and channel
 * (c->open_tickets, by channel). c->last_tickets holds the last ticket of
 * each scope (no channel for scope customer): what a later message may
 * reopen. A ticket records the scope it was opened in and is registered
 * and unregistered there. A ticket named by a reference or token that is
 * closed while another ticket is open in that scope is not reopened: the
 * message goes to the open one, so that a scope never has two.
 *
 * Chat resume: a reply_to entry "chat:<sender address>" names the sender's
 * chat conversation; thread_filed keeps the conversation's latest message
 * and ticket in the dedup table, so that the next message of the
 * conversation finds its ticket as a reply would. The key is (channel
 * "<channel>#conv", account, "chat:<address>"): channel names never hold a
 * '#', so no message id a connector hands over can take or overwrite it (a
 * message whose id is "chat:bob" is not a duplicate of bob's conversation).
 * Keys written before, under the message's own channel, are still read.
 */
#include "router/router.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define SCOPE_CHANNEL "channel"
#define CHAT_PREFIX "chat:"
#define CHAT_PREFIX_LEN 5
#define CONV_SUFFIX "#conv" /* the dedup namespace of conversations */
#define TOKEN_MAX_DIGITS 18 /* always fits in a uint64_t */
#define DUP_MIN_TEXT 12     /* "ok thanks" and the like are said twice on purpose */
#define HOUR_MS (3600LL * 1000)
#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

/* One placement in progress. */
struct place {
	struct batch *b;
	struct proto_message *m;
	struct proto_customer *c;
	struct proto_ticket *t; /* the caller's, filled by the rule that takes it */
	struct placement *p;
	const char *scope;      /* of the message's channel */
	int64_t now;
	int64_t window_ms;      /* reopen window of the message's channel; 0: never */
	char declined[700];     /* what earlier rules passed over, or "" */
};

/* --- words ----------------------------------------------------------------- */

/* claim - names the rule that placed the message and why (after what
 * earlier rules passed over). GW_OK or GW_ENOMEM. */
static int claim(struct place *pl, const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int claim(struct place *pl, const char *rule, const char *fmt, ...)
{
	struct proto_message *m = pl->m;
	char why[1024], all[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	gw_utf8_trim(why);
	snprintf(all, sizeof(all), "%s%s", pl->declined, why);
	gw_utf8_trim(all);
	gw_utf8_cut(all, PROTO_MAX_SHORT);
	free(m->thread_rule);
	free(m->thread_reason);
	m->thread_rule = gw_strdup(rule);
	m->thread_reason = gw_strdup(all);
	return m->thread_rule && m->thread_reason ? GW_OK : GW_ENOMEM;
}

/* warn - adds a warning to the message (none past PROTO_MAX_WARNINGS).
 * GW_OK or GW_ENOMEM. */
static int warn(struct proto_message *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int warn(struct proto_message *m, const char *fmt, ...)
{
	char line[1024], **v;
	va_list ap;

	if (m->warnings_len >= PROTO_MAX_WARNINGS)
		return GW_OK;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	gw_utf8_trim(line);
	gw_utf8_cut(line, PROTO_MAX_EXTERNAL_ID);
	v = realloc(m->warnings, (m->warnings_len + 1) * sizeof(*v));
	if (!v)
		return GW_ENOMEM;
	m->warnings = v;
	v[m->warnings_len] = gw_strdup(line);
	if (!v[m->warnings_len])
		return GW_ENOMEM;
	m->warnings_len++;
	return GW_OK;
}

/* age_text - a duration as a person reads it: "40 s", "2 min", "5 h", "9 days". */
static const char *age_text(int64_t ms, char *buf, size_t len)
{
	long long s = ms < 0 ? 0 : (long long)(ms / 1000);

	if (s < 120)
		snprintf(buf, len, "%lld s", s);
	else if (s < 120 * 60)
		snprintf(buf, len, "%lld min", s / 60);
	else if (s < 48 * 3600)
		snprintf(buf, len, "%lld h", s / 3600);
	else
		snprintf(buf, len, "%lld days", s / 86400);
	return buf;
}

/* --- the customer's ticket lists --------------------------------------------- */

static int is_channel_scope(const char *scope)
{
	return scope && strcmp(scope, SCOPE_CHANNEL) == 0;
}

/* ticket_scope - the scope a ticket was opened in; older tickets: customer. */
static const char *ticket_scope(const struct proto_ticket *t)
{
	return t->scope ? t->scope : "customer";
}

/* scope_key - the channel a list entry of `scope` is kept under: the
 * channel for scope channel, none (NULL) for scope customer. */
static const char *scope_key(const char *scope, const char *channel)
{
	return is_channel_scope(scope) ? channel : NULL;
}

/* ref_index - the entry kept under `key` (NULL or "": none), or n. */
static size_t ref_index(const struct proto_ticket_ref *v, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		const char *k = v[i].channel;

		if ((!k || !k[0]) ? (!key || !key[0]) : (key && strcmp(k, key) == 0))
			return i;
	}
	return n;
}

static void ref_drop(struct proto_ticket_ref *v, size_t *n, size_t i)
{
	free(v[i].channel);
	memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
	(*n)--;
}

/* ref_set - the entry under `key` names ticket `id` since `at`: updated,
 * or added (the oldest dropped when the list is full). GW_OK, GW_ENOMEM. */
static int ref_set(struct proto_ticket_ref **v, size_t *n, const char *key, uint64_t id,
		   int64_t at)
{
	size_t i = ref_index(*v, *n, key);
	struct proto_ticket_ref *nv;
	char *ch = NULL;

	if (i < *n) {
		(*v)[i].ticket_id = id;
		(*v)[i].at = at;
		return GW_OK;
	}
	if (key && key[0] && !(ch = gw_strdup(key)))
		return GW_ENOMEM;
	if (*n >= PROTO_MAX_OPEN_TICKETS)
		ref_drop(*v, n, 0);
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv) {
		free(ch);
		return GW_ENOMEM;
	}
	*v = nv;
	nv[*n] = (struct proto_ticket_ref){.ticket_id = id, .channel = ch, .at = at};
	(*n)++;
	return GW_OK;
}

/* open_id - the customer's open ticket of `scope` (for `channel`), or 0. */
static uint64_t open_id(const struct proto_customer *c, const char *scope, const char *channel)
{
	size_t i;

	if (!is_channel_scope(scope))
		return c->open_ticket_id;
	i = ref_index(c->open_tickets, c->open_tickets_len, channel);
	return i < c->open_tickets_len ? c->open_tickets[i].ticket_id : 0;
}

/* set_open - ticket `id` is the open ticket of `scope` (for `channel`);
 * 0: none is. GW_OK or GW_ENOMEM. */
static int set_open(struct proto_customer *c, const char *scope, const char *channel,
		    uint64_t id, int64_t at)
{
	size_t i;

	if (!is_channel_scope(scope)) {
		c->open_ticket_id = id;
		return GW_OK;
	}
	if (id)
		return ref_set(&c->open_tickets, &c->open_tickets_len, channel, id, at);
	i = ref_index(c->open_tickets, c->open_tickets_len, channel);
	if (i < c->open_tickets_len)
		ref_drop(c->open_tickets, &c->open_tickets_len, i);
	return GW_OK;
}

int thread_ticket_closed(struct batch *b, struct proto_customer *c, const struct proto_ticket *t)
{
	int64_t at = t->closed_at ? t->closed_at : gw_now_ms();
	int rc;

	(void)b;
	if (c->open_ticket_id == t->ticket_id)
		c->open_ticket_id = 0;
	/* A ticket a probable duplicate also opened for another channel is
	 * that channel's last ticket too. */
	for (size_t i = 0; i < c->open_tickets_len;) {
		if (c->open_tickets[i].ticket_id != t->ticket_id) {
			i++;
			continue;
		}
		rc = ref_set(&c->last_tickets, &c->last_tickets_len, c->open_tickets[i].channel,
			     t->ticket_id, at);
		if (rc)
			return rc;
		ref_drop(c->open_tickets, &c->open_tickets_len, i);
	}
	return ref_set(&c->last_tickets, &c->last_tickets_len,
		       scope_key(ticket_scope(t), t->channel), t->ticket_id, at);
}

int thread_ticket_reopened(struct batch *b, struct proto_customer *c,
			   const struct proto_ticket *t)
{
	(void)b;
	return set_open(c, ticket_scope(t), t->channel, t->ticket_id, gw_now_ms());
}

/* --- tickets ------------------------------------------------------------------- */

/* load - ticket `id` into `t` (cleared first); *found 0 when there is none. */
static int load(struct batch *b, uint64_t id, struct proto_ticket *t, int *found)
{
	int rc;

	memset(t, 0, sizeof(*t));
	*found = 0;
	if (!id)
		return GW_OK;
	rc = store_ticket_get(b->txn, id, t);
	if (rc == GW_ENOTFOUND) {
		proto_ticket_clear(t);
		memset(t, 0, sizeof(*t));
		return GW_OK;
	}
	*found = rc == GW_OK;
	/* A merged ticket stands for the one it was merged into. */
	if (rc == GW_OK && t->merged_into)
		rc = ticket_follow_merge(b, t);
	return rc;
}

static int is_open(const struct proto_ticket *t)
{
	return t->status && strcmp(t->status, "open") == 0;
}

/* take - the message joins ticket `t`: moved into the caller's. */
static void take(struct place *pl, struct proto_ticket *t)
{
	*pl->t = *t;
	memset(t, 0, sizeof(*t));
}

int thread_open_ticket(struct batch *b, const struct proto_customer *c, const char *channel,
		       struct proto_ticket *t)
{
	int found, rc = load(b, open_id(c, routing_scope(b->rt, channel), channel), t, &found);

	/* A ticket closed behind the lists' back is no open ticket. */
	if (rc == GW_OK && found && (!is_open(t) || t->customer_id != c->customer_id)) {
		proto_ticket_clear(t);
		memset(t, 0, sizeof(*t));
	}
	return rc;
}

/* open_new - a new ticket for the message, linked to `previous` (0: none),
 * the open and last ticket of the message's scope. */
static int open_new(struct place *pl, uint64_t previous)
{
	const struct proto_message *m = pl->m;
	struct proto_ticket *t = pl->t;
	int rc = route_next_id(pl->b, ROUTE_NEXT_TICKET, &t->ticket_id);

	if (rc)
		return rc;
	t->customer_id = pl->c->customer_id;
	t->thread_id = pl->c->thread_id;
	t->status = gw_strdup("open");
	t->channel = gw_strdup(m->channel);
	t->subject = gw_strdup(m->subject);
	t->scope = gw_strdup(pl->scope);
	t->opened_at = t->updated_at = pl->now;
	t->previous_ticket_id = previous;
	if (!t->status || !t->channel || !t->scope || (m->subject && !t->subject))
		return GW_ENOMEM;
	pl->p->opened = 1;
	rc = set_open(pl->c, pl->scope, m->channel, t->ticket_id, pl->now);
	if (rc == GW_OK)
		rc = ref_set(&pl->c->last_tickets, &pl->c->last_tickets_len,
			     scope_key(pl->scope, m->channel), t->ticket_id, pl->now);
	return rc;
}

/* reopen - closed ticket `t` is open again and the message joins it. */
static int reopen(struct place *pl, struct proto_ticket *t)
{
	char *open = gw_strdup("open");

	if (!open)
		return GW_ENOMEM;
	free(t->status);
	t->status = open;
	t->closed_at = 0;
	t->reopen_count++;
	t->updated_at = pl->now;
	take(pl, t);
	pl->p->reopened = 1;
	return thread_ticket_reopened(pl->b, pl->c, pl->t);
}

/* within_window - whether closed ticket `t` may still be reopened. */
static int within_window(const struct place *pl, const struct proto_ticket *t)
{
	return pl->window_ms > 0 && t->closed_at > 0 && pl->now - t->closed_at <= pl->window_ms;
}

/* note_declined - remembers why a named ticket was passed over; what does
 * not fit is cut, at a character's end (`what` holds provider ids), and
 * once full no more is noted. */
static void note_declined(struct place *pl, const char *what, uint64_t open)
{
	size_t n = strlen(pl->declined);

	if (n + 4 >= sizeof(pl->declined)) /* a cut drops at most 3 bytes */
		return;
	snprintf(pl->declined + n, sizeof(pl->declined) - n,
		 "%s, closed while ticket %llu is open; ", what, (unsigned long long)open);
	gw_utf8_trim(pl->declined);
}

/*
 * take_named - the message goes to this customer's ticket `t` (loaded;
 * moved into pl->t when taken) that `rule` found, `what` saying how. Open:
 * joined. Closed: reopened within the reopen window, else a new ticket
 * linked to it; unless another ticket is open in the scope concerned, when
 * the rule passes (*done 0) and the open ticket rule takes the message.
 */
static int take_named(struct place *pl, struct proto_ticket *t, const char *rule,
		      const char *what, int *done)
{
	int reopens = within_window(pl, t);
	uint64_t other = reopens ? open_id(pl->c, ticket_scope(t), t->channel)
				 : open_id(pl->c, pl->scope, pl->m->channel);
	long long hours = (long long)(pl->window_ms / HOUR_MS);
	uint64_t id = t->ticket_id;
	char ago[32];
	int rc;

	*done = 0;
	if (is_open(t)) {
		take(pl, t);
		*done = 1;
		return claim(pl, rule, "%s", what);
	}
	if (other && other != id) {
		note_declined(pl, what, other);
		return GW_OK;
	}
	*done = 1;
	age_text(pl->now - t->closed_at, ago, sizeof(ago));
	if (reopens) {
		rc = reopen(pl, t);
		return rc ? rc : claim(pl, rule, "%s, closed %s ago, within the %lld h reopen "
					 "window: reopened", what, ago, hours);
	}
	rc = open_new(pl, id);
	if (rc)
		return rc;
	if (hours == 0)
		return claim(pl, rule, "%s, closed %s ago (reopening is off): new ticket %llu "
			     "linked to it", what, ago, (unsigned long long)pl->t->ticket_id);
	return claim(pl, rule, "%s, closed %s ago, past the %lld h reopen window: new ticket "
		     "%llu linked to it", what, ago, hours, (unsigned long long)pl->t->ticket_id);
}

/* foreign - a reference or token named another customer's ticket `t`. */
static void foreign(const struct place *pl, const struct proto_ticket *t, const char *named)
{
	GW_INFO("router", "message %s of customer %llu: %s names ticket %llu of customer %llu: "
		"ignored", pl->m->external_id, (unsigned long long)pl->c->customer_id, named,
		(unsigned long long)t->ticket_id, (unsigned long long)t->customer_id);
}

/* --- rule 1: reply references ---------------------------------------------------- */

/* conv_channel - the dedup channel of `channel`'s chat conversations.
 * GW_OK, or GW_ETOOBIG for a channel longer than channel names are. */
static int conv_channel(char *buf, size_t len, const char *channel)
{
	int n = snprintf(buf, len, "%s" CONV_SUFFIX, channel);

	return n >= 0 && (size_t)n < len ? GW_OK : GW_ETOOBIG;
}

/* ref_lookup - the message and ticket of id `id` on the message's channel:
 * a chat conversation's latest, under its account, then as a key valid in
 * every account (an email's Message-ID). *ticket 0: unknown, or a message
 * filed without a ticket. */
static int ref_lookup(struct place *pl, const char *id, uint64_t *seq, uint64_t *ticket)
{
	const struct proto_message *m = pl->m;
	char conv[PROTO_MAX_CHANNEL + sizeof(CONV_SUFFIX)];
	int rc = GW_ENOTFOUND;

	if (strncmp(id, CHAT_PREFIX, CHAT_PREFIX_LEN) == 0 &&
	    conv_channel(conv, sizeof(conv), m->channel) == GW_OK)
		rc = store_dedup_get_ref(pl->b->txn, conv, m->account, id, seq, ticket);
	if (rc == GW_ENOTFOUND)
		rc = store_dedup_get_ref(pl->b->txn, m->channel, m->account, id, seq, ticket);
	if (rc == GW_ENOTFOUND)
		rc = store_dedup_get_ref(pl->b->txn, m->channel, "", id, seq, ticket);
	if (rc == GW_ENOTFOUND || rc == GW_ETOOBIG) {
		*ticket = 0;
		return GW_OK;
	}
	return rc;
}

/* reference_one - rule 1 for one id of reply_to. */
static int reference_one(struct place *pl, const char *id, int *warned, int *done)
{
	struct proto_ticket t;
	uint64_t seq = 0, tid = 0;
	char what[PROTO_MAX_EXTERNAL_ID + 128];
	int found = 0, rc = ref_lookup(pl, id, &seq, &tid);

	*done = 0;
	memset(&t, 0, sizeof(t));
	if (rc == GW_OK && tid)
		rc = load(pl->b, tid, &t, &found);
	if (rc || !found)
		goto out;
	if (t.customer_id != pl->c->customer_id) {
		foreign(pl, &t, id);
		/* One warning for the message, however many ids name such tickets. */
		if (!*warned)
			rc = warn(pl->m, "reply_to names a ticket of another customer, ignored: %s",
				  id);
		*warned = 1;
		goto out;
	}
	if (strncmp(id, CHAT_PREFIX, CHAT_PREFIX_LEN) == 0)
		snprintf(what, sizeof(what), "chat conversation %s was last in ticket %llu "
			 "(message %llu)", id + CHAT_PREFIX_LEN, (unsigned long long)tid,
			 (unsigned long long)seq);
	else
		snprintf(what, sizeof(what), "reply_to <%s> is message %llu of ticket %llu", id,
			 (unsigned long long)seq, (unsigned long long)tid);
	gw_utf8_trim(what); /* sized to fit; cut cleanly should the limits change */
	rc = take_named(pl, &t, "reply_reference", what, done);
out:
	proto_ticket_clear(&t);
	return rc;
}

/* rule_reference - the ids of reply_to, the closest first: an email lists
 * References oldest first, then In-Reply-To. */
static int rule_reference(struct place *pl, int *done)
{
	const struct proto_message *m = pl->m;
	int rc = GW_OK, warned = 0;

	*done = 0;
	for (size_t k = 0; k < m->reply_to_len && rc == GW_OK && !*done; k++)
		rc = reference_one(pl, m->reply_to[m->reply_to_len - 1 - k], &warned, done);
	return rc;
}

/* --- rule 2: ticket token ---------------------------------------------------------- */

/* token_find - the ticket id of the first "[#T-<digits>]" of `s` (the T in
 * either case, nothing else inside the brackets), 0 when none. */
static uint64_t token_find(const char *s)
{
	for (const char *p = s ? strstr(s, "[#") : NULL; p; p = strstr(p + 1, "[#")) {
		const char *q = p + 2;
		uint64_t id = 0;
		size_t n = 0;

		if ((*q != 'T' && *q != 't') || q[1] != '-')
			continue;
		for (q += 2; *q >= '0' && *q <= '9' && n < TOKEN_MAX_DIGITS; q++, n++)
			id = id * 10 + (uint64_t)(*q - '0');
		if (n > 0 && *q == ']' && id)
			return id;
	}
	return 0;
}

static int rule_token(struct place *pl, int *done)
{
	uint64_t id = token_find(pl->m->subject);
	unsigned long long lid = (unsigned long long)id;
	struct proto_ticket t;
	char what[128], named[64];
	int found, rc;

	*done = 0;
	if (!id)
		return GW_OK;
	rc = load(pl->b, id, &t, &found);
	if (rc == GW_OK && !found)
		rc = warn(pl->m, "[#T-%llu] names no ticket: ignored", lid);
	if (rc || !found)
		goto out;
	if (t.customer_id != pl->c->customer_id) {
		snprintf(named, sizeof(named), "subject token [#T-%llu]", lid);
		foreign(pl, &t, named);
		rc = warn(pl->m, "[#T-%llu] names a ticket of another customer: ignored", lid);
		goto out;
	}
	snprintf(what, sizeof(what), "subject token [#T-%llu] names this customer's ticket %llu",
		 lid, lid);
	rc = take_named(pl, &t, "ticket_token", what, done);
out:
	proto_ticket_clear(&t);
	return rc;
}

/* --- rule 3: probable duplicates --------------------------------------------------- */

/*
 * text_hash - FNV-1a of `s` normalized: ASCII letters lowercased, ASCII
 * punctuation dropped, runs of spaces and controls made one space (none at
 * the ends), other bytes as they are; *len the normalized length. Not a
 * cryptographic hash on purpose: it only compares one customer's own texts.
 */
static uint64_t text_hash(const char *s, size_t *len)
{
	uint64_t h = FNV_OFFSET;
	size_t n = 0;
	int space = 0;

	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch <= ' ' || ch == 0x7f) {
			space = n > 0;
			continue;
		}
		if (ch < 0x80 && !(ch >= '0' && ch <= '9') && !(ch >= 'a' && ch <= 'z') &&
		    !(ch >= 'A' && ch <= 'Z'))
			continue; /* ASCII punctuation */
		if (space) {
			h = (h ^ ' ') * FNV_PRIME;
			n++;
			space = 0;
		}
		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch | 0x20);
		h = (h ^ ch) * FNV_PRIME;
		n++;
	}
	*len = n;
	return h;
}

static int64_t dup_window_ms(const struct place *pl)
{
	return pl->b->rt->cfg->duplicate_window_s * 1000;
}

/* dup_join - the message repeats recent text `r`, filed in open ticket `t`. */
static int dup_join(struct place *pl, const struct proto_recent *r, struct proto_ticket *t)
{
	char ago[32];
	int rc = GW_OK;

	take(pl, t);
	pl->m->duplicate_of = r->seq;
	/* The channel goes on in that ticket when it has none open. */
	if (!open_id(pl->c, pl->scope, pl->m->channel))
		rc = set_open(pl->c, pl->scope, pl->m->channel, pl->t->ticket_id, pl->now);
	if (rc)
		return rc;
	return claim(pl, "probable_duplicate", "same text as message %llu sent on %s %s ago "
		     "(ticket %llu)", (unsigned long long)r->seq, r->channel,
		     age_text(pl->now - r->at, ago, sizeof(ago)),
		     (unsigned long long)pl->t->ticket_id);
}

static int rule_duplicate(struct place *pl, int *done)
{
	const struct proto_customer *c = pl->c;
	int64_t window = dup_window_ms(pl);
	size_t len;
	uint64_t h;
	int rc = GW_OK;

	*done = 0;
	if (window <= 0)
		return GW_OK;
	h = text_hash(pl->m->text, &len);
	for (size_t k = 0; len >= DUP_MIN_TEXT && k < c->recent_len && !*done && !rc; k++) {
		const struct proto_recent *r = &c->recent[c->recent_len - 1 - k];
		struct proto_ticket t;
		int found;

		if (r->hash != h || !r->channel || strcmp(r->channel, pl->m->channel) == 0 ||
		    pl->now - r->at > window || !r->ticket_id)
			continue;
		rc = load(pl->b, r->ticket_id, &t, &found);
		if (rc == GW_OK && found && is_open(&t) && t.customer_id == c->customer_id) {
			*done = 1;
			rc = dup_join(pl, r, &t);
		}
		proto_ticket_clear(&t);
	}
	return rc;
}

/* --- rules 4, 5, 6: the scope's open ticket, its last one, a new one --------------- */

/* scope_words - "scope customer" or "scope channel (whatsapp)". */
static const char *scope_words(const struct place *pl, char *buf, size_t len)
{
	if (is_channel_scope(pl->scope))
		snprintf(buf, len, "scope channel, %s", pl->m->channel);
	else
		snprintf(buf, len, "scope %s", pl->scope);
	return buf;
}

static int rule_open(struct place *pl, int *done)
{
	uint64_t id = open_id(pl->c, pl->scope, pl->m->channel);
	struct proto_ticket t;
	char sw[64];
	int found, rc;

	*done = 0;
	if (!id)
		return GW_OK;
	rc = load(pl->b, id, &t, &found);
	if (rc == GW_OK && found && is_open(&t) && t.customer_id == pl->c->customer_id) {
		take(pl, &t);
		*done = 1;
		rc = claim(pl, "open_ticket", "the customer's open ticket %llu (%s)",
			   (unsigned long long)id, scope_words(pl, sw, sizeof(sw)));
	} else if (rc == GW_OK) {
		/* Closed behind the lists' back (or gone): no longer open. */
		rc = set_open(pl->c, pl->scope, pl->m->channel, 0, 0);
	}
	proto_ticket_clear(&t);
	return rc;
}

/* last_ticket - the scope's last ticket of this customer into `t`. */
static int last_ticket(struct place *pl, struct proto_ticket *t, int *found)
{
	const struct proto_customer *c = pl->c;
	size_t i = ref_index(c->last_tickets, c->last_tickets_len,
			     scope_key(pl->scope, pl->m->channel));
	int rc = load(pl->b, i < c->last_tickets_len ? c->last_tickets[i].ticket_id : 0, t,
		      found);

	if (rc == GW_OK && *found && t->customer_id != c->customer_id)
		*found = 0;
	return rc;
}

/* rule_last - reopens the scope's last ticket within the reopen window,
 * or opens a new ticket, linked to it when there is one. */
static int rule_last(struct place *pl)
{
	long long hours = (long long)(pl->window_ms / HOUR_MS);
	struct proto_ticket t;
	char sw[64], ago[32];
	int found, rc = last_ticket(pl, &t, &found);
	unsigned long long id = (unsigned long long)t.ticket_id;

	scope_words(pl, sw, sizeof(sw));
	if (rc == GW_OK && !found) {
		rc = open_new(pl, 0);
		if (rc == GW_OK)
			rc = claim(pl, "new_ticket", "new ticket: none before in %s", sw);
	} else if (rc == GW_OK && is_open(&t)) {
		/* Open but no longer listed as open: listed again. */
		take(pl, &t);
		rc = set_open(pl->c, pl->scope, pl->m->channel, id, pl->now);
		if (rc == GW_OK)
			rc = claim(pl, "open_ticket", "the customer's open ticket %llu (%s)", id, sw);
	} else if (rc == GW_OK && within_window(pl, &t)) {
		age_text(pl->now - t.closed_at, ago, sizeof(ago));
		rc = reopen(pl, &t);
		if (rc == GW_OK)
			rc = claim(pl, "reopened", "ticket %llu closed %s ago, within the %lld h "
				   "reopen window", id, ago, hours);
	} else if (rc == GW_OK) {
		age_text(pl->now - t.closed_at, ago, sizeof(ago));
		rc = open_new(pl, id);
		if (rc == GW_OK && hours > 0)
			rc = claim(pl, "new_ticket", "new ticket; the previous one, %llu, closed %s "
				   "ago, past the %lld h reopen window", id, ago, hours);
		else if (rc == GW_OK)
			rc = claim(pl, "new_ticket", "new ticket; the previous one, %llu, closed %s "
				   "ago (reopening is off)", id, ago);
	}
	proto_ticket_clear(&t);
	return rc;
}

/* --- automated messages: auto-replies and bounces ----------------------------------- */

/* automated_kind - "a bounce (<sign>)" or "an auto-reply (<sign>)". */
static const char *automated_kind(const struct proto_message *m, char *buf, size_t len)
{
	const char *kind = m->bounce ? "a bounce" : "an auto-reply";

	if (m->automated_reason && m->automated_reason[0])
		snprintf(buf, len, "%s (%s)", kind, m->automated_reason);
	else
		snprintf(buf, len, "%s", kind);
	gw_utf8_trim(buf);
	return buf;
}

/* sent_by_gateway - whether the event at `seq` is a message.sent: a reply
 * the gateway sent (or an outbound message it was told of). An event that
 * cannot be read is not one (logged). */
static int sent_by_gateway(struct batch *b, uint64_t seq, int *yes)
{
	struct proto_event ev;
	int rc = store_eventlog_decode(b->txn, seq, &ev);

	*yes = 0;
	if (rc == GW_ESTORE || rc == GW_ENOMEM || rc == GW_EFULL)
		return rc; /* the batch is retried */
	if (rc) {
		GW_WARN("router", "event %llu named by the dedup table is unreadable: %s",
			(unsigned long long)seq, gw_err_name(rc));
		return GW_OK;
	}
	*yes = ev.type == PROTO_T_MESSAGE_SENT;
	proto_event_clear(&ev);
	return GW_OK;
}

/* reply_local - "reply-<n>-<hex>" of "reply-<n>-<hex>@<domain>" into buf:
 * the external_id of the router's reply (commands/reply.c) whose email
 * went out with that Message-ID, for when the connector's report of it was
 * not kept. 0 when `id` is not of that form. */
static int reply_local(const char *id, char *buf, size_t len)
{
	const char *at = strrchr(id, '@');
	size_t n = at ? (size_t)(at - id) : 0;

	if (!at || strncmp(id, "reply-", 6) != 0 || n >= len)
		return 0;
	memcpy(buf, id, n);
	buf[n] = '\0';
	return 1;
}

/*
 * automated_one - whether id `id` of reply_to names the ticket the
 * automated message concerns: a ticket of its sender, or the ticket of a
 * reply the gateway sent (a bounce comes from the mail system that could
 * not deliver it, never from the customer). Another customer's message is
 * ignored with a warning, as rule 1 does.
 */
static int automated_one(struct place *pl, const char *id, const char *kind, int *warned,
			 int *done)
{
	char local[PROTO_MAX_EXTERNAL_ID + 1];
	uint64_t seq = 0, tid = 0;
	struct proto_ticket t;
	int found = 0, ours = 0, rc = ref_lookup(pl, id, &seq, &tid);

	*done = 0;
	memset(&t, 0, sizeof(t));
	if (rc == GW_OK && !tid && reply_local(id, local, sizeof(local)))
		rc = ref_lookup(pl, local, &seq, &tid);
	if (rc == GW_OK && tid)
		rc = load(pl->b, tid, &t, &found);
	if (rc == GW_OK && found && t.customer_id != pl->c->customer_id)
		rc = sent_by_gateway(pl->b, seq, &ours);
	if (rc || !found)
		goto out;
	if (t.customer_id != pl->c->customer_id && !ours) {
		foreign(pl, &t, id);
		if (!*warned)
			rc = warn(pl->m, "reply_to names a ticket of another customer, ignored: %s", id);
		*warned = 1;
		goto out;
	}
	*done = 1;
	rc = claim(pl, "automated", "%s: reply_to <%s> is message %llu of ticket %llu (%s)%s; "
		   "filed in that ticket, which it neither reopens nor answers", kind, id,
		   (unsigned long long)seq, (unsigned long long)tid,
		   is_open(&t) ? "open" : "closed", ours ? ", a reply the gateway sent" : "");
	take(pl, &t);
out:
	proto_ticket_clear(&t);
	return rc;
}

int thread_automated(struct batch *b, struct proto_event *msg, struct proto_customer *c,
		     struct proto_ticket *t)
{
	struct placement p = {0, 0};
	struct place pl = {
		.b = b, .m = &msg->u.message, .c = c, .t = t, .p = &p,
		.scope = routing_scope(b->rt, msg->u.message.channel), .now = gw_now_ms(),
	};
	const struct proto_message *m = pl.m;
	char kind[PROTO_MAX_SHORT / 2];
	int done = 0, warned = 0, rc = GW_OK;

	automated_kind(m, kind, sizeof(kind));
	for (size_t k = 0; k < m->reply_to_len && rc == GW_OK && !done; k++)
		rc = automated_one(&pl, m->reply_to[m->reply_to_len - 1 - k], kind, &warned, &done);
	if (rc || done)
		return rc;
	/* Not even the sender's open ticket: what does not name its ticket
	 * (a newsletter, a notice) is no part of a conversation. */
	return claim(&pl, "automated", "%s: reply_to names no ticket of the sender nor a reply "
		     "of the gateway: filed in the sender's thread without a ticket", kind);
}

/* --- the entry points ---------------------------------------------------------------- */

int thread_place(struct batch *b, struct proto_event *msg, struct proto_customer *c,
		 struct proto_ticket *t, struct placement *p)
{
	static int (*const rules[])(struct place *pl, int *done) = {
		rule_reference, rule_token, rule_duplicate, rule_open,
	};
	struct place pl = {
		.b = b, .m = &msg->u.message, .c = c, .t = t, .p = p,
		.scope = routing_scope(b->rt, msg->u.message.channel), .now = gw_now_ms(),
		.window_ms = routing_reopen_window_ms(b->rt, msg->u.message.channel),
	};
	int done = 0, rc = GW_OK;

	p->opened = p->reopened = 0;
	pl.m->duplicate_of = 0; /* the router's finding, whatever came in */
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]) && !done && !rc; i++)
		rc = rules[i](&pl, &done);
	if (rc == GW_OK && !done)
		rc = rule_last(&pl);
	return rc;
}

/* recent_keep - remembers the message's text for duplicate detection:
 * entries older than the window go, the newest is last. */
static int recent_keep(struct batch *b, const struct proto_event *msg, struct proto_customer *c,
		       const struct proto_ticket *t)
{
	int64_t window = b->rt->cfg->duplicate_window_s * 1000;
	struct proto_recent *v;
	size_t len, i = 0;
	uint64_t h = text_hash(msg->u.message.text, &len);

	while (i < c->recent_len) {
		if (window > 0 && msg->ts - c->recent[i].at <= window) {
			i++;
			continue;
		}
		free(c->recent[i].channel);
		memmove(&c->recent[i], &c->recent[i + 1], (c->recent_len - i - 1) * sizeof(c->recent[0]));
		c->recent_len--;
	}
	if (window <= 0 || len < DUP_MIN_TEXT)
		return GW_OK;
	if (c->recent_len >= PROTO_MAX_RECENT) {
		free(c->recent[0].channel);
		memmove(&c->recent[0], &c->recent[1], (c->recent_len - 1) * sizeof(c->recent[0]));
		c->recent_len--;
	}
	v = realloc(c->recent, (c->recent_len + 1) * sizeof(*v));
	if (!v)
		return GW_ENOMEM;
	c->recent = v;
	v[c->recent_len] = (struct proto_recent){.hash = h, .seq = msg->seq,
		.ticket_id = t->ticket_id, .channel = gw_strdup(msg->u.message.channel),
		.at = msg->ts};
	if (!v[c->recent_len].channel)
		return GW_ENOMEM;
	c->recent_len++;
	return GW_OK;
}

/* chat_keep - a message naming its sender's conversation ("chat:<from>")
 * is the conversation's latest: the next one finds its ticket. Only the
 * sender's own: naming someone else's conversation must not move it. Kept
 * under the conversations' channel, apart from the message ids. */
static int chat_keep(struct batch *b, const struct proto_event *msg, const struct proto_ticket *t)
{
	const struct proto_message *m = &msg->u.message;
	char conv[PROTO_MAX_CHANNEL + sizeof(CONV_SUFFIX)];

	for (size_t i = 0; i < m->reply_to_len; i++) {
		const char *id = m->reply_to[i];

		if (strncmp(id, CHAT_PREFIX, CHAT_PREFIX_LEN) != 0 || !m->from.address ||
		    strcmp(id + CHAT_PREFIX_LEN, m->from.address) != 0)
			continue;
		/* A channel longer than channel names are has no conversations. */
		if (conv_channel(conv, sizeof(conv), m->channel) != GW_OK)
			return GW_OK;
		return store_dedup_set_ref(b->txn, conv, m->account, id, msg->seq, t->ticket_id);
	}
	return GW_OK;
}

int thread_filed(struct batch *b, const struct proto_event *msg, struct proto_customer *c,
		 const struct proto_ticket *t)
{
	int rc = recent_keep(b, msg, c, t);

	if (rc == GW_OK)
		rc = chat_keep(b, msg, t);
	return rc;
}

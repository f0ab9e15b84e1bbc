/*
 * ms_echo.c - the echoes of Messenger and Instagram replies still in
 * flight (see meta_out.h, "echoes").
 *
 * Meta sends the echo of a message the account sent as a webhook, and may
 * send it before it answers the Send API request. A Messenger echo carries
 * the reply's id back in `metadata` (messenger.c makes it a status of the
 * reply); an Instagram echo carries no metadata, and before the sender's
 * report the router does not know its mid yet: it would be stored as a
 * second, outbound message.sent of our own reply. So the connector keeps,
 * for each reply handed to the sender, the (channel, account, customer)
 * it goes to, a SHA-256 of its text and the number of its attachments,
 * and turns an echo without metadata that matches one into a "sent"
 * status of that reply (external_id the reply's id, provider_id the
 * echo's mid), as a Messenger echo with metadata is. A text echo consumes
 * the text, an attachment echo one attachment, so that each part matches
 * once.
 *
 * An entry lives while its delivery is in the sender and ECHO_GRACE_MS
 * after (the report and an echo read at the same moment), at most
 * ECHO_MAX entries (the oldest is dropped first: its echo, if it comes
 * before the report, is stored as a message.sent again).
 *
 * Threading: the connector's service thread only.
 */
#include "connectors/meta/meta_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "core/util.h"

#define ECHO_MAX 1024
#define ECHO_GRACE_MS 10000

struct ms_echo {
	uint64_t delivery_id;
	char channel[PROTO_MAX_CHANNEL + 1];
	char account[PROTO_MAX_ACCOUNT + 1];
	char recipient[PROTO_MAX_ADDRESS + 1];
	char reply_id[PROTO_MAX_EXTERNAL_ID + 1];
	unsigned char digest[32];
	int has_text;        /* the text part is not matched yet */
	size_t attach_left;  /* attachment parts not matched yet */
	int64_t left_at;     /* when seen out of the sender, 0 while in it */
};

struct ms_echoes {
	struct ms_echo e[ECHO_MAX];
	size_t n; /* in order of submission */
};

static int echo_digest(const char *text, unsigned char out[32])
{
	unsigned int len = 0;

	if (!EVP_Digest(text, strlen(text), out, &len, EVP_sha256(), NULL) || len != 32)
		return GW_ENOMEM;
	return GW_OK;
}

int ms_echoes_create(struct ms_echoes **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? GW_OK : GW_ENOMEM;
}

void ms_echoes_destroy(struct ms_echoes *es)
{
	free(es);
}

static void echo_remove(struct ms_echoes *es, size_t i)
{
	memmove(&es->e[i], &es->e[i + 1], (es->n - i - 1) * sizeof(es->e[0]));
	es->n--;
}

int ms_echoes_add(struct ms_echoes *es, uint64_t delivery_id, const struct proto_message *m)
{
	struct ms_echo *e;
	const char *text = m->text ? m->text : "";
	int rc;

	if (!m->to || !m->to->address || !m->channel || !m->account || !m->external_id)
		return GW_EINVAL;
	if (es->n == ECHO_MAX)
		echo_remove(es, 0);
	e = &es->e[es->n];
	memset(e, 0, sizeof(*e));
	e->delivery_id = delivery_id;
	snprintf(e->channel, sizeof(e->channel), "%s", m->channel);
	snprintf(e->account, sizeof(e->account), "%s", m->account);
	snprintf(e->recipient, sizeof(e->recipient), "%s", m->to->address);
	snprintf(e->reply_id, sizeof(e->reply_id), "%s", m->external_id);
	e->has_text = text[0] != '\0';
	e->attach_left = m->attachments_len;
	rc = e->has_text ? echo_digest(text, e->digest) : GW_OK;
	if (rc == GW_OK)
		es->n++;
	return rc;
}

void ms_echoes_sweep(struct ms_echoes *es, const struct sender *s, int64_t now_ms)
{
	size_t i = 0;

	while (i < es->n) {
		struct ms_echo *e = &es->e[i];

		if (!e->left_at && !sender_has(s, e->delivery_id))
			e->left_at = now_ms;
		if ((e->left_at && now_ms - e->left_at > ECHO_GRACE_MS) ||
		    (!e->has_text && !e->attach_left))
			echo_remove(es, i);
		else
			i++;
	}
}

/* echo_find - the oldest entry whose unmatched part `m` (an echo) is,
 * consumed; NULL when none. */
static struct ms_echo *echo_find(struct ms_echoes *es, const struct proto_message *m)
{
	const char *text = m->text ? m->text : "";
	unsigned char d[32];
	int has_text = text[0] != '\0';

	if (has_text && echo_digest(text, d) != GW_OK)
		return NULL;
	for (size_t i = 0; i < es->n; i++) {
		struct ms_echo *e = &es->e[i];

		if (strcmp(e->channel, m->channel) || strcmp(e->account, m->account) ||
		    strcmp(e->recipient, m->to->address))
			continue;
		if (has_text && e->has_text && memcmp(e->digest, d, sizeof(d)) == 0) {
			e->has_text = 0;
			return e;
		}
		if (!has_text && m->attachments_len > 0 && e->attach_left > 0) {
			e->attach_left--;
			return e;
		}
	}
	return NULL;
}

/* echo_status - the "sent" status of reply `reply_id` that the echo in
 * *ev stands for, replacing it (its id and time kept). */
static int echo_status(struct proto_event *ev, const char *reply_id)
{
	struct proto_message *m = &ev->u.message;
	struct proto_event st;
	struct proto_status *s = &st.u.status;
	char sid[PROTO_MAX_EXTERNAL_ID + 8];
	int rc;

	rc = proto_event_init(&st, PROTO_T_MESSAGE_STATUS);
	if (rc != GW_OK)
		return rc;
	snprintf(sid, sizeof(sid), "%s:sent", reply_id);
	s->status_at = ev->ts;
	s->external_id = gw_strdup(reply_id);
	s->status_id = gw_strdup(sid);
	s->status = gw_strdup("sent");
	if (!s->external_id || !s->status_id || !s->status) {
		proto_event_clear(&st);
		return GW_ENOMEM;
	}
	/* The rest is the echo's own, moved over. */
	s->channel = m->channel;
	s->account = m->account;
	s->provider_id = m->external_id;
	s->recipient = m->to->address;
	s->raw = m->raw;
	m->channel = m->account = m->external_id = m->to->address = m->raw = NULL;
	free(st.id);
	st.id = ev->id;
	st.ts = ev->ts;
	ev->id = NULL;
	proto_event_clear(ev);
	*ev = st;
	return GW_OK;
}

size_t ms_echoes_match(struct ms_echoes *es, struct meta_events *evs)
{
	size_t done = 0;

	for (size_t i = 0; es->n && i < evs->n; i++) {
		struct proto_event *ev = &evs->ev[i];
		const struct proto_message *m = &ev->u.message;
		struct ms_echo *e;

		if (ev->type != PROTO_T_MESSAGE_SENT || !m->channel || !m->account || !m->to ||
		    !m->to->address || !m->external_id ||
		    (strcmp(m->channel, "messenger") && strcmp(m->channel, "instagram")))
			continue;
		e = echo_find(es, m);
		if (e && echo_status(ev, e->reply_id) == GW_OK)
			done++;
	}
	return done;
}

/*
 * meta_out.c - replies of the Meta connector: the deliver op, the tokens,
 * the sender and the accounts announced to the router (see meta_out.h).
 *
 * Credentials: WhatsApp replies use `access_token` (a system user token
 * with whatsapp_business_messaging); Messenger and Instagram replies use
 * the page access token of the account the customer wrote to, named by
 * `page_tokens` entries "<page or Instagram account id>=<ENV>" and read
 * from the environment variable ENV once, at start. A channel or an
 * account without its token has its replies reported failed at once, with
 * the reason, and `gatewayctl status` shows "replies off: ..." for it.
 * Tokens live in this process only, wiped when it stops; they are never
 * logged.
 */
#include "connectors/meta/meta_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "connectors/meta/meta.h"
#include "connectors/outbox.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/meta_accounts.h"

#define MO_OFF_MAX 512        /* why replies are off, for the status */
#define MO_ACCOUNTS_MAX META_ACCOUNTS_MAX /* accounts announced (outbox_serve's bound) */
#define MO_ENV_MAX 128        /* longest environment variable name */

struct mo_token {
	char account[PROTO_MAX_ACCOUNT + 1];
	char env[MO_ENV_MAX + 1];
	char *token; /* NULL: the variable is not set */
};

struct meta_out {
	struct connector_instance *inst;
	const struct meta_settings *set;
	struct sender *sender;
	struct ms_echoes *echoes;
	struct mo_token *tokens;
	size_t ntokens;
	char off[MO_OFF_MAX];
	char attach_dir[4096];
	char accounts_path[4096];
	struct meta_account accounts[MO_ACCOUNTS_MAX];
	size_t naccounts;
	int accounts_full_logged;
};

/* ---- tokens ----------------------------------------------------------------- */

/* mo_off_add - appends "; what" to the reasons replies are off. */
static void mo_off_add(struct meta_out *o, const char *what)
{
	size_t n = strlen(o->off);

	snprintf(o->off + n, sizeof(o->off) - n, "%s%s", n ? "; " : "", what);
}

/* mo_tokens - the page tokens from the environment (entries already
 * checked by meta_check: "<account>=<ENV>"). */
static int mo_tokens(struct meta_out *o)
{
	const struct conf_strlist *l = &o->set->page_tokens;
	char what[PROTO_MAX_ACCOUNT + MO_ENV_MAX + 64];

	o->tokens = l->n ? calloc(l->n, sizeof(*o->tokens)) : NULL;
	if (l->n && !o->tokens)
		return GW_ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		struct mo_token *t = &o->tokens[o->ntokens++];
		const char *eq = strchr(l->v[i], '=');
		const char *val;

		snprintf(t->account, sizeof(t->account), "%.*s", (int)(eq - l->v[i]), l->v[i]);
		snprintf(t->env, sizeof(t->env), "%s", eq + 1);
		val = getenv(t->env);
		if (val && val[0] && !(t->token = strdup(val)))
			return GW_ENOMEM;
		if (!t->token) {
			snprintf(what, sizeof(what), "account %s: %s is not set", t->account,
				 t->env);
			mo_off_add(o, what);
		}
	}
	if (!o->set->access_token || !o->set->access_token[0])
		mo_off_add(o, "WhatsApp: access_token is not set");
	if (!l->n)
		mo_off_add(o, "Messenger and Instagram: page_tokens is empty");
	return GW_OK;
}

static const struct mo_token *mo_token_of(const struct meta_out *o, const char *account)
{
	for (size_t i = 0; i < o->ntokens; i++)
		if (strcmp(o->tokens[i].account, account) == 0)
			return &o->tokens[i];
	return NULL;
}

/* ---- accounts announced to the router ------------------------------------ */

/* mo_accounts_save - the accounts for the next start (store/meta_accounts.h). */
static void mo_accounts_save(struct meta_out *o)
{
	int rc = meta_accounts_save(o->accounts_path, o->accounts, o->naccounts);

	if (rc != GW_OK)
		GW_WARN(o->inst->log_module, "cannot write %s: %s (replies to its accounts wait "
			"for their next message after a restart)", o->accounts_path,
			gw_strerror(rc));
}

/* mo_account_add - announces (channel, account) and keeps it; 1 when new. */
static int mo_account_add(struct meta_out *o, const char *channel, const char *account)
{
	struct meta_account *a;

	for (size_t i = 0; i < o->naccounts; i++)
		if (strcmp(o->accounts[i].channel, channel) == 0 &&
		    strcmp(o->accounts[i].account, account) == 0)
			return 0;
	if (o->naccounts == MO_ACCOUNTS_MAX || strlen(channel) > PROTO_MAX_CHANNEL ||
	    strlen(account) > PROTO_MAX_ACCOUNT || strpbrk(channel, " \n") ||
	    strpbrk(account, " \n")) {
		if (o->naccounts == MO_ACCOUNTS_MAX && !o->accounts_full_logged++)
			GW_WARN(o->inst->log_module, "more than %d accounts: replies to the others "
				"wait for their next message after a restart", MO_ACCOUNTS_MAX);
		return 0;
	}
	a = &o->accounts[o->naccounts++];
	snprintf(a->channel, sizeof(a->channel), "%s", channel);
	snprintf(a->account, sizeof(a->account), "%s", account);
	if (outbox_serve(o->inst->outbox, channel, account) != GW_OK)
		GW_WARN(o->inst->log_module, "cannot announce %s account %s", channel, account);
	return 1;
}

/* mo_account_loaded - meta_accounts_load's callback: one line of the file. */
static void mo_account_loaded(void *arg, const char *channel, const char *account)
{
	mo_account_add(arg, channel, account);
}

/* mo_accounts_load - the accounts of earlier runs, announced again. */
static void mo_accounts_load(struct meta_out *o)
{
	if (meta_accounts_load(o->accounts_path, mo_account_loaded, o) != GW_OK)
		return; /* none yet (or unreadable: as none, the accounts come again) */
	if (o->naccounts)
		GW_INFO(o->inst->log_module, "replies: %zu accounts announced from earlier runs",
			o->naccounts);
}

void meta_out_seen(struct meta_out *o, const struct meta_events *evs)
{
	int added = 0;

	for (size_t i = 0; o && i < evs->n; i++) {
		const struct proto_event *e = &evs->ev[i];
		const char *ch = NULL, *acct = NULL;

		if (e->type == PROTO_T_MESSAGE_RECEIVED || e->type == PROTO_T_MESSAGE_SENT) {
			ch = e->u.message.channel;
			acct = e->u.message.account;
		} else if (e->type == PROTO_T_MESSAGE_STATUS) {
			ch = e->u.status.channel;
			acct = e->u.status.account;
		}
		if (ch && acct && ch[0] && acct[0])
			added |= mo_account_add(o, ch, acct);
	}
	if (added)
		mo_accounts_save(o);
}

/* ---- the lifecycle -------------------------------------------------------- */

static int mo_paths(struct meta_out *o)
{
	const char *sd = o->inst->config->state_dir, *name = o->inst->conf->name;
	int b = snprintf(o->attach_dir, sizeof(o->attach_dir), "%s/attachments", sd);
	int c = snprintf(o->accounts_path, sizeof(o->accounts_path), "%s/sent/%s/accounts", sd,
			 name);

	if (b < 0 || c < 0 || (size_t)b >= sizeof(o->attach_dir) ||
	    (size_t)c >= sizeof(o->accounts_path))
		return GW_EINVAL;
	return GW_OK;
}

int meta_out_create(struct connector_instance *inst, void (*wake)(void *arg), void *wake_arg,
		    struct meta_out **out)
{
	struct meta_out *o = calloc(1, sizeof(*o));
	int rc;

	*out = NULL;
	if (!o)
		return GW_ENOMEM;
	o->inst = inst;
	o->set = inst->settings;
	rc = mo_paths(o);
	if (rc == GW_OK)
		rc = mo_tokens(o);
	if (rc == GW_OK)
		rc = ms_echoes_create(&o->echoes);
	if (rc == GW_OK)
		rc = sender_open(inst, &o->set->send, wake, wake_arg, &o->sender);
	if (rc != GW_OK) {
		meta_out_destroy(o);
		return rc;
	}
	mo_accounts_load(o);
	inst->sender = o->sender;
	inst->replies_off = o->off;
	if (o->off[0])
		GW_WARN(inst->log_module, "replies off: %s", o->off);
	*out = o;
	return GW_OK;
}

void meta_out_destroy(struct meta_out *o)
{
	if (!o)
		return;
	if (o->inst && o->inst->sender == o->sender) {
		o->inst->sender = NULL;
		o->inst->replies_off = NULL;
	}
	sender_destroy(o->sender);
	ms_echoes_destroy(o->echoes);
	for (size_t i = 0; i < o->ntokens; i++)
		if (o->tokens[i].token) {
			OPENSSL_cleanse(o->tokens[i].token, strlen(o->tokens[i].token));
			free(o->tokens[i].token);
		}
	free(o->tokens);
	free(o);
}

void meta_out_poll(struct meta_out *o)
{
	if (!o)
		return;
	sender_poll(o->sender);
	ms_echoes_sweep(o->echoes, o->sender, gw_now_ms());
}

size_t meta_out_echoes(struct meta_out *o, struct meta_events *evs)
{
	if (!o)
		return 0;
	ms_echoes_sweep(o->echoes, o->sender, gw_now_ms());
	return ms_echoes_match(o->echoes, evs);
}

/* ---- the deliver op --------------------------------------------------------- */

/* mo_credentials - the token of the reply's channel and account, or why
 * there is none (*why set, NULL returned). */
static const char *mo_credentials(const struct meta_out *o, const struct proto_message *m,
				  const struct sender_ops **ops, char *why, size_t whylen)
{
	const struct mo_token *t;

	if (strcmp(m->channel, "whatsapp") == 0) {
		*ops = &wa_send_ops;
		if (o->set->access_token && o->set->access_token[0])
			return o->set->access_token;
		snprintf(why, whylen, "WhatsApp replies are off: access_token is not set");
		return NULL;
	}
	if (strcmp(m->channel, "messenger") != 0 && strcmp(m->channel, "instagram") != 0) {
		snprintf(why, whylen, "channel %.32s is not the meta connector's", m->channel);
		return NULL;
	}
	*ops = &ms_send_ops;
	t = mo_token_of(o, m->account);
	if (t && t->token)
		return t->token;
	if (t)
		snprintf(why, whylen, "%s replies are off for account %.64s: %s is not set",
			 strcmp(m->channel, "instagram") == 0 ? "Instagram" : "Messenger",
			 m->account, t->env);
	else
		snprintf(why, whylen, "%s replies are off for account %.64s: no page_tokens entry",
			 strcmp(m->channel, "instagram") == 0 ? "Instagram" : "Messenger",
			 m->account);
	return NULL;
}

/* mo_job - the job of reply `ev`, or GW_EINVAL with why (fail it now). */
static int mo_job(const struct meta_out *o, const struct proto_event *ev,
		  const struct sender_ops **ops, void **job, char *why, size_t whylen)
{
	const struct proto_message *m = &ev->u.message;
	struct meta_send_ctx c = {
		.graph_url = o->set->graph_url,
		.attach_dir = o->attach_dir,
		.account = m->account,
		.reply_id = m->external_id,
		/* The reply's own time, so that a delivery handed over again is
		 * judged as it was the first time. */
		.made_at = ev->ts > 0 ? ev->ts : gw_now_ms(),
		.human_agent = o->set->human_agent_tag,
	};

	c.token = mo_credentials(o, m, ops, why, whylen);
	if (!c.token)
		return GW_EINVAL;
	if (*ops == &wa_send_ops)
		return wa_job_new(&c, m, job, why, whylen);
	return ms_job_new(&c, m, job, why, whylen);
}

int meta_out_deliver(struct meta_out *o, const void *event, size_t len, uint64_t delivery_id)
{
	const struct sender_ops *ops = NULL;
	struct proto_event ev;
	struct proto_error perr;
	char why[SENDER_REASON_MAX] = "";
	void *job = NULL;
	int rc, had;

	meta_out_poll(o);
	memset(&perr, 0, sizeof(perr));
	rc = proto_decode(event, len, &ev, &perr);
	if (rc != GW_OK)
		return rc;
	if (ev.type != PROTO_T_MESSAGE_SENT || !ev.u.message.to || !ev.u.message.to->address ||
	    !ev.u.message.channel || !ev.u.message.account || !ev.u.message.external_id) {
		GW_WARN(o->inst->log_module, "delivery %llu: not a reply to a customer",
			(unsigned long long)delivery_id);
		rc = GW_EINVAL;
		goto out;
	}
	had = sender_has(o->sender, delivery_id);
	rc = mo_job(o, &ev, &ops, &job, why, sizeof(why));
	if (rc == GW_EINVAL)
		rc = sender_fail_now(o->sender, delivery_id, why);
	else if (rc == GW_OK)
		rc = sender_submit(o->sender, delivery_id, ev.u.message.external_id, ops, job);
	/* Its echo may come before the Send API's answer (ms_echo.c). */
	if (rc == GW_OK && !had && ops == &ms_send_ops && sender_has(o->sender, delivery_id) &&
	    ms_echoes_add(o->echoes, delivery_id, &ev.u.message) != GW_OK)
		GW_WARN(o->inst->log_module, "delivery %llu: its echo cannot be told from a "
			"new message", (unsigned long long)delivery_id);
out:
	proto_event_clear(&ev);
	return rc;
}

/*
 * email.c - the `email` connector type: one IMAP mailbox per instance
 * (docs/channels/email.md).
 *
 * The loop reads the mailbox in UID order, a batch of fetch_batch messages
 * at a time:
 *
 *   EXAMINE              UIDVALIDITY and UIDNEXT (a new UIDVALIDITY starts
 *                        over from UID 1; Message-ID dedup absorbs repeats)
 *   UID SEARCH           the UIDs above the last durable one, in windows
 *   per message          size check, fetch, email_parse():
 *                          ingest      -> proto_encode -> outbox_add
 *                          own address -> counted, skipped
 *                          quarantine  -> quarantine_put (fsync'ed)
 *   group commit         the batch's events are durable (connectors/commit.h:
 *                        the batch's acknowledgement waits for them; the
 *                        loop, which blocks on IMAP anyway, waits too)
 *   state file           last_uid = the batch's last UID (fsync'ed)
 *   action               \Seen or move for the UIDs now durable; a failure
 *                        is remembered (pending_from) and retried later,
 *                        and never holds up reading
 *
 * So a crash anywhere repeats at most one batch (deduplicated downstream)
 * and never skips a message, however long the connector was down.
 *
 * New mail is noticed by IMAP IDLE on a second connection when the server
 * has it and `idle` is on, and in any case by a check every
 * poll_interval_ms. Reingest requests from `gatewayctl quarantine
 * reingest` are served every second. While waiting on the network, the
 * tick pumps the outbox every IMAP_TICK_MS and notices a stop.
 *
 * With an `oauth` block, IMAP and SMTP log in with OAuth 2.0 access
 * tokens (oauth.h): the cache belongs to this thread, the tick advances
 * its refreshes, and a refused refresh token becomes the instance's
 * warning in the status file.
 *
 * Replies (the deliver op) are built and handed to the sender at once
 * (email_send.c); its worker submits them over SMTP, and the tick reports
 * the ones it finished, so the loop never waits on a send.
 *
 * Threading: everything runs on the thread that calls run().
 */
#include "connectors/email/email.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "connectors/email/email_parse.h"
#include "connectors/email/email_send.h"
#include "connectors/email/imap.h"
#include "connectors/commit.h"
#include "connectors/email/oauth.h"
#include "connectors/intake.h"
#include "connectors/outbox.h"
#include "connectors/runtime.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/proto.h"
#include "store/email_state.h"
#include "store/quarantine.h"

#define EMAIL_OWN_MAX 64               /* own addresses at most */
#define EMAIL_BACKOFF_MIN_MS 1000
#define EMAIL_BACKOFF_MAX_MS 60000
#define EMAIL_ACTION_RETRY_MS 60000    /* a failed \Seen or move is tried again after */
#define EMAIL_IDLE_RETRY_MS 60000      /* a failed IDLE connection is tried again after */
#define EMAIL_REINGEST_MS 1000         /* reingest requests are looked for this often */
#define EMAIL_FETCH_FAILS 3            /* fetches refused in a row before quarantine */

enum email_after { AFTER_SEEN, AFTER_MOVE, AFTER_NONE };

struct email {
	struct connector_instance *inst;
	const struct email_settings *set;
	const char *module;
	struct imap *imap;
	struct quarantine *q;
	struct gcommit *gc;         /* the batch's acknowledgement waits here */
	struct gcommit_waiter ack;
	int ack_rc;                 /* the result ack was called with */
	struct email_state st;
	char state_path[4096];
	char oauth_path[4096];        /* the rotated refresh token (store/oauth_state.h) */
	char attach_dir[4096];
	char *own_buf;              /* lowercase copy of own_addresses, split in place */
	const char *own[EMAIL_OWN_MAX];
	size_t n_own;
	char own_from[PROTO_MAX_ADDRESS + 1]; /* smtp.from, lowercase */
	struct email_send *send;    /* replies */
	struct oauth *oauth;        /* access tokens (oauth block), NULL: password */
	int oauth_warning;          /* inst->warning is the token problem's */
	uint64_t oauth_seen;        /* refreshes (ok and failed) the status shows */
	enum email_after after;
	uint32_t *queue;            /* UIDs found by the last search, ascending */
	size_t queue_n, queue_pos;
	uint32_t window_end;        /* the last UID the search covered */
	uint32_t uidnext;           /* from the last EXAMINE */
	struct imap_msginfo *info;  /* fetch_batch entries */
	struct imap_buf buf;
	uint32_t fail_uid;          /* the UID whose fetch keeps failing */
	int fail_count;
	size_t added;               /* events added in the batch being built */
	int64_t next_action_us;
	int64_t idle_retry_us;
	int64_t pump_warn_us;       /* outbox pump failures are logged this rarely */
	uint64_t ignored, quarantined;
};

/* ---- settings ---------------------------------------------------------------- */

/* The address replies come from is an own address: its copies (a Sent
 * folder that is the inbox, a Bcc) never become tickets. */
static void email_own_from(struct email *e)
{
	const char *from = email_settings_from(e->set);

	if (!from || e->n_own == EMAIL_OWN_MAX)
		return;
	snprintf(e->own_from, sizeof(e->own_from), "%s", from);
	for (char *p = e->own_from; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (size_t i = 0; i < e->n_own; i++)
		if (strcmp(e->own[i], e->own_from) == 0)
			return;
	e->own[e->n_own++] = e->own_from;
}

/* own_addresses: lowercase, split at commas, blanks trimmed. */
static int email_own_addresses(struct email *e)
{
	char *p;

	if (!e->set->own_addresses) {
		email_own_from(e);
		return GW_OK;
	}
	e->own_buf = gw_strdup(e->set->own_addresses);
	if (!e->own_buf)
		return GW_ENOMEM;
	for (p = e->own_buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	p = e->own_buf;
	while (*p) {
		char *start = p, *end;

		while (*p && *p != ',')
			p++;
		end = p;
		if (*p)
			*p++ = '\0';
		while (*start == ' ' || *start == '\t')
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*start)
			continue;
		if (e->n_own == EMAIL_OWN_MAX) {
			GW_WARN(e->module, "own_addresses: only the first %d are used", EMAIL_OWN_MAX);
			break;
		}
		e->own[e->n_own++] = start;
	}
	email_own_from(e);
	return GW_OK;
}

/* ---- the tick: outbox, status, stop ------------------------------------------- */

/* Counters of the type (status file): refreshes of the access token. */
enum { EMAIL_C_TOKEN_REFRESHES, EMAIL_C_TOKEN_FAILURES };

/*
 * email_oauth_tick - advances a refresh of the access token; when one
 * ended (here or in an IMAP login's wait: the counts moved), the status
 * follows: a refused refresh token (or client) is the connector's warning
 * until a refresh works again.
 */
static void email_oauth_tick(struct email *e)
{
	char why[CONNECTOR_WARNING_MAX];
	uint64_t ok = 0, failed = 0;
	int refused = 0;

	if (!e->oauth)
		return;
	oauth_poll(e->oauth);
	oauth_counts(e->oauth, &ok, &failed);
	if (ok + failed == e->oauth_seen)
		return;
	e->oauth_seen = ok + failed;
	e->inst->counters[EMAIL_C_TOKEN_REFRESHES].value = ok;
	e->inst->counters[EMAIL_C_TOKEN_FAILURES].value = failed;
	if (oauth_problem(e->oauth, why, sizeof(why), &refused) && refused) {
		snprintf(e->inst->warning, sizeof(e->inst->warning), "%s", why);
		e->oauth_warning = 1;
	} else if (!refused && e->oauth_warning) {
		e->inst->warning[0] = '\0';
		e->oauth_warning = 0;
	}
	connector_status_write(e->inst);
}

static int email_tick(void *arg)
{
	struct email *e = arg;

	email_oauth_tick(e);
	if (outbox_pump(e->inst->outbox) != GW_OK && gw_mono_us() >= e->pump_warn_us) {
		GW_WARN(e->module, "the outbox cannot send or delete entries (see above)");
		e->pump_warn_us = gw_mono_us() + 10000000;
	}
	email_send_poll(e->send);
	connector_status_tick(e->inst);
	return connector_stopping();
}

/* ---- progress ------------------------------------------------------------------- */

static int email_save(struct email *e)
{
	int rc = email_state_save(e->state_path, e->set->url, &e->st);

	if (rc != GW_OK)
		GW_ERROR(e->module, "cannot write %s: %s", e->state_path, gw_strerror(rc));
	return rc;
}

/* A UIDVALIDITY other than the stored one: every UID is new. */
static int email_new_validity(struct email *e, uint32_t v)
{
	if (e->st.uidvalidity)
		GW_WARN(e->module, "UIDVALIDITY of %s changed from %u to %u: reading it again "
			"from UID 1 (repeats are deduplicated by Message-ID)",
			imap_mailbox_name(e->imap), e->st.uidvalidity, v);
	else
		GW_INFO(e->module, "first read of %s (UIDVALIDITY %u): from UID 1",
			imap_mailbox_name(e->imap), v);
	if (e->st.pending_from)
		GW_WARN(e->module, "the action on UIDs %u:%u of the old UIDVALIDITY is dropped",
			e->st.pending_from, e->st.last_uid);
	e->st.uidvalidity = v;
	e->st.last_uid = 0;
	e->st.pending_from = 0;
	e->queue_n = e->queue_pos = 0;
	return email_save(e);
}

/*
 * Everything up to `uid` is handled: durable, quarantined or skipped. With
 * `act`, the action after durability is owed from `first` on.
 */
static int email_advance(struct email *e, uint32_t first, uint32_t uid, int act)
{
	if (uid <= e->st.last_uid)
		return GW_OK;
	if (act && e->after != AFTER_NONE && !e->st.pending_from)
		e->st.pending_from = first;
	e->st.last_uid = uid;
	return email_save(e);
}

/* ---- the action after durability ------------------------------------------- */

static int email_act(struct email *e)
{
	char set[32];
	int rc;

	if (!e->st.pending_from || gw_mono_us() < e->next_action_us)
		return GW_OK;
	snprintf(set, sizeof(set), "%u:%u", e->st.pending_from, e->st.last_uid);
	if (e->after == AFTER_MOVE)
		rc = imap_move(e->imap, set, e->set->move_to);
	else
		rc = imap_seen(e->imap, set);
	if (rc == GW_ECLOSED)
		return rc;
	if (rc != GW_OK) {
		GW_WARN(e->module, "cannot %s UIDs %s: %s; tried again in %d s (reading goes on)",
			e->after == AFTER_MOVE ? "move" : "flag \\Seen", set, imap_last_error(e->imap),
			EMAIL_ACTION_RETRY_MS / 1000);
		e->next_action_us = gw_mono_us() + (int64_t)EMAIL_ACTION_RETRY_MS * 1000;
		return GW_OK;
	}
	GW_DEBUG(e->module, "%s UIDs %s", e->after == AFTER_MOVE ? "moved" : "flagged", set);
	e->st.pending_from = 0;
	return email_save(e);
}

/* ---- one message ------------------------------------------------------------------- */

static void email_parse_opts(struct email *e, struct email_parse_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->account = e->inst->conf->name;
	opt->received_at = gw_now_ms();
	opt->attachment_dir = e->attach_dir;
	opt->max_attachment_bytes = (size_t)e->set->max_attachment_bytes;
	opt->max_message_bytes = (size_t)e->set->max_message_bytes;
	opt->own_addresses = e->own;
	opt->n_own = e->n_own;
}

static int email_quarantine(struct email *e, uint32_t uid, const void *raw, size_t len,
			    uint64_t size, const char *reason)
{
	int rc = quarantine_put(e->q, e->st.uidvalidity, uid, raw, len, size, reason);

	if (rc != GW_OK) {
		GW_ERROR(e->module, "cannot quarantine UID %u: %s", uid, gw_strerror(rc));
		return rc;
	}
	e->quarantined++;
	e->inst->stats.rejected++;
	GW_WARN(e->module, "UID %u quarantined as %s/%u-%u: %s", uid, e->inst->conf->name,
		e->st.uidvalidity, uid, reason);
	return GW_OK;
}

/*
 * Encodes and queues the event of a parsed message. GW_OK when queued or
 * quarantined (cannot be encoded); GW_EFULL and other errors stop the batch.
 */
static int email_queue(struct email *e, uint32_t uid, struct email_result *res,
		       const char *raw, size_t len)
{
	struct proto_error perr;
	char reason[300];
	int rc;

	/* Over its sender's limits (a mail loop, a flood) it is held in the
	 * spool's quarantine, in the same commit (intake.h). */
	rc = intake_add(e->inst, &res->ev, &perr, NULL);
	/* A bounce of a reply fails the reply too (email_dsn.c). */
	if (rc == GW_OK && res->has_status) {
		int src = intake_add(e->inst, &res->status, &perr, NULL);

		if (src == GW_OK)
			GW_INFO(e->module, "UID %u is a bounce of reply <%s>: it failed", uid,
				res->status.u.status.external_id);
		else
			GW_WARN(e->module, "UID %u is a bounce of reply <%s>, whose failed status "
				"cannot be queued: %s", uid, res->status.u.status.external_id,
				gw_strerror(src));
	}
	if (rc == GW_OK) {
		e->added++;
		return GW_OK;
	}
	if (rc == GW_EFULL || rc == GW_ENOMEM)
		return rc;
	snprintf(reason, sizeof(reason), "cannot become an event: %s",
		 perr.message[0] ? perr.message : gw_strerror(rc));
	return email_quarantine(e, uid, raw, len, len, reason);
}

/* Parses the fetched message and acts on the verdict. */
static int email_handle(struct email *e, uint32_t uid, const char *raw, size_t len)
{
	struct email_parse_options opt;
	struct email_result res;
	int rc;

	memset(&res, 0, sizeof(res));
	email_parse_opts(e, &opt);
	rc = email_parse(raw, len, &opt, &res);
	if (rc != GW_OK) {
		GW_ERROR(e->module, "cannot parse UID %u: %s", uid, gw_strerror(rc));
		goto out;
	}
	switch (res.verdict) {
	case EMAIL_INGEST:
		rc = email_queue(e, uid, &res, raw, len);
		break;
	case EMAIL_IGNORE_OWN:
		e->ignored++;
		GW_INFO(e->module, "UID %u skipped: %s", uid, res.reason);
		break;
	case EMAIL_QUARANTINE:
	default:
		rc = email_quarantine(e, uid, raw, len, len, res.reason);
		break;
	}
out:
	email_result_clear(&res);
	return rc;
}

/* A fetch the server keeps refusing becomes a quarantine entry. */
static int email_fetch_refused(struct email *e, uint32_t uid, uint64_t size)
{
	char reason[300];

	if (e->fail_uid != uid) {
		e->fail_uid = uid;
		e->fail_count = 0;
	}
	if (++e->fail_count < EMAIL_FETCH_FAILS)
		return GW_EPROTO;
	snprintf(reason, sizeof(reason), "the server refused the fetch %d times: %s",
		 e->fail_count, imap_last_error(e->imap));
	return email_quarantine(e, uid, NULL, 0, size, reason);
}

/* One message of the batch: GW_OK when it is handled (its UID may pass). */
static int email_one(struct email *e, const struct imap_msginfo *mi)
{
	char reason[160];
	int rc;

	e->inst->stats.requests++;
	if (!mi->present) {
		GW_DEBUG(e->module, "UID %u is gone (expunged meanwhile)", mi->uid);
		return GW_OK;
	}
	if (mi->size > (uint64_t)e->set->max_message_bytes)
		goto too_big;
	rc = imap_fetch(e->imap, mi->uid, mi->seen, e->st.uidvalidity,
			(size_t)e->set->max_message_bytes, &e->buf);
	if (rc == GW_ETOOBIG)
		goto too_big;
	if (rc == GW_ENOTFOUND) {
		GW_DEBUG(e->module, "UID %u is gone (expunged meanwhile)", mi->uid);
		return GW_OK;
	}
	if (rc == GW_EPROTO)
		return email_fetch_refused(e, mi->uid, mi->size);
	if (rc != GW_OK)
		return rc;
	return email_handle(e, mi->uid, e->buf.data ? e->buf.data : "", e->buf.len);
too_big:
	snprintf(reason, sizeof(reason), "%llu bytes, over max_message_bytes %lld: not read",
		 (unsigned long long)mi->size, e->set->max_message_bytes);
	return email_quarantine(e, mi->uid, NULL, 0, mi->size, reason);
}

/* ---- a batch ------------------------------------------------------------------------- */

static void email_durable(struct gcommit_waiter *w, int rc)
{
	struct email *e = (struct email *)(void *)((char *)w - offsetof(struct email, ack));

	e->ack_rc = rc;
}

/*
 * email_make_durable - what the batch added is made durable by the group
 * commit before anything acknowledges it (the progress, \Seen, a reingest
 * answer). The loop waits: it blocks on IMAP anyway. Returns GW_OK or the
 * commit's error.
 */
static int email_make_durable(struct email *e)
{
	e->ack_rc = GW_ECLOSED;
	gcommit_wait(e->gc, &e->ack, email_durable);
	(void)gcommit_flush(e->gc);
	gcommit_cancel(e->gc, &e->ack); /* settled by the flush: a no-op */
	return e->ack_rc;
}

/* Commits the batch's events and moves the progress past its handled UIDs. */
static int email_commit(struct email *e, uint32_t first, uint32_t last)
{
	int rc = GW_OK;

	if (outbox_queued(e->inst->outbox) > 0) {
		rc = email_make_durable(e);
		if (rc != GW_OK) {
			GW_ERROR(e->module, "cannot commit %zu messages: %s", e->added, gw_strerror(rc));
			e->inst->stats.failed += e->added;
			return rc;
		}
		e->inst->stats.accepted += e->added;
	}
	return email_advance(e, first, last, 1);
}

static int email_batch(struct email *e)
{
	size_t n = e->queue_n - e->queue_pos, done = 0;
	const uint32_t *uids = e->queue + e->queue_pos;
	uint32_t last;
	int rc, stop = GW_OK;

	if (n > (size_t)e->set->fetch_batch)
		n = (size_t)e->set->fetch_batch;
	rc = imap_info(e->imap, uids, n, e->info);
	if (rc != GW_OK)
		return rc;
	e->added = 0;
	for (done = 0; done < n; done++) {
		/* Parsing is CPU work between network waits: pump and look for a stop. */
		if (email_tick(e)) {
			stop = GW_ECLOSED;
			break;
		}
		stop = email_one(e, &e->info[done]);
		if (stop != GW_OK)
			break;
	}
	if (done == 0)
		return stop;
	last = uids[done - 1];
	if (e->queue_pos + done == e->queue_n)
		last = e->window_end; /* nothing else exists up to the window's end */
	rc = email_commit(e, uids[0], last);
	if (rc != GW_OK)
		return rc;
	e->queue_pos += done;
	GW_DEBUG(e->module, "UIDs %u:%u done (%zu events)", uids[0], last, e->added);
	return stop;
}

/* EXAMINE, validity, and the next window of UIDs into the queue. */
static int email_refresh(struct email *e)
{
	struct imap_mailbox mb;
	size_t n = 0;
	int rc = imap_examine(e->imap, &mb);

	if (rc != GW_OK)
		return rc;
	if (mb.uidvalidity != e->st.uidvalidity) {
		rc = email_new_validity(e, mb.uidvalidity);
		if (rc != GW_OK)
			return rc;
	}
	e->uidnext = mb.uidnext;
	e->queue_n = e->queue_pos = 0;
	while (e->st.last_uid + 1 < mb.uidnext) {
		uint32_t from = e->st.last_uid + 1, to = mb.uidnext - 1;

		if (to - from >= IMAP_SEARCH_WINDOW)
			to = from + IMAP_SEARCH_WINDOW - 1;
		rc = imap_search(e->imap, from, to, e->queue, IMAP_SEARCH_WINDOW, &n);
		if (rc != GW_OK)
			return rc;
		e->window_end = to;
		if (n > 0) {
			e->queue_n = n;
			return GW_OK;
		}
		/* An empty window: those UIDs were expunged or never used. */
		rc = email_advance(e, from, to, 0);
		if (rc != GW_OK)
			return rc;
	}
	return GW_OK;
}

/*
 * One step of work: a fresh look at the mailbox when the queue is empty,
 * then one batch, then the owed action. *more when work is left.
 */
static int email_cycle(struct email *e, int *more)
{
	int rc = GW_OK;

	*more = 0;
	if (e->queue_pos >= e->queue_n)
		rc = email_refresh(e);
	if (rc == GW_OK && e->queue_pos < e->queue_n)
		rc = email_batch(e);
	if (rc == GW_OK || rc == GW_EFULL)
		if (email_act(e) == GW_ECLOSED)
			rc = GW_ECLOSED;
	*more = e->queue_pos < e->queue_n || e->st.last_uid + 1 < e->uidnext;
	if (rc == GW_EAGAIN) {
		/* A reconnect met another UIDVALIDITY: look again at once. */
		e->queue_n = e->queue_pos = 0;
		*more = 1;
		rc = GW_OK;
	}
	return rc;
}

/* ---- reingest ------------------------------------------------------------------------- */

/* Answers a reingest request; a failure is logged (the request is gone
 * either way, see quarantine_answer). */
static void email_answer(struct email *e, const char *id, const char *result,
			 const char *reason, int remove)
{
	int rc = quarantine_answer(e->q, id, result, reason, remove);

	if (rc != GW_OK)
		GW_WARN(e->module, "reingest of %s/%s: the answer \"%s\" was not fully recorded: %s",
			e->inst->conf->name, id, result, gw_strerror(rc));
}

/* Queues and commits the event of a reingested message, then answers. */
static int email_reingest_commit(struct email *e, const char *id, struct email_result *res)
{
	struct proto_error perr;
	char reason[300];
	size_t mark = outbox_queued(e->inst->outbox);
	int rc;

	rc = outbox_add_event(e->inst->outbox, &res->ev, &perr);
	if (rc != GW_OK && perr.message[0]) {
		snprintf(reason, sizeof(reason), "cannot become an event: %s", perr.message);
		email_answer(e, id, "quarantined", reason, 0);
		return GW_OK;
	}
	/* A bounce of a reply fails the reply too (email_dsn.c): both or none. */
	if (rc == GW_OK && res->has_status) {
		rc = outbox_add_event(e->inst->outbox, &res->status, &perr);
		if (rc != GW_OK)
			outbox_rollback(e->inst->outbox, mark);
	}
	if (rc == GW_OK)
		rc = email_make_durable(e);
	if (rc != GW_OK)
		return rc; /* the request stays: tried again later */
	e->inst->stats.accepted++;
	email_answer(e, id, "ingested", "", 1);
	return GW_OK;
}

static int email_reingest_one(struct email *e, const char *id)
{
	struct email_parse_options opt;
	struct email_result res;
	char *raw = NULL, reason[300];
	size_t len = 0;
	int rc;

	memset(&res, 0, sizeof(res));
	rc = quarantine_load(e->q, id, (size_t)e->set->max_message_bytes, &raw, &len);
	if (rc != GW_OK) {
		snprintf(reason, sizeof(reason), "%s", rc == GW_ENOTFOUND ? "no such entry" :
			 rc == GW_EMISSING ? "no stored copy (it was over max_message_bytes)" :
			 gw_strerror(rc));
		email_answer(e, id, "error", reason, 0);
		return GW_OK;
	}
	email_parse_opts(e, &opt);
	rc = email_parse(raw, len, &opt, &res);
	if (rc != GW_OK)
		goto out;
	if (res.verdict == EMAIL_QUARANTINE) {
		email_answer(e, id, "quarantined", res.reason, 0);
	} else if (res.verdict == EMAIL_IGNORE_OWN) {
		email_answer(e, id, "ignored", res.reason, 1);
	} else {
		rc = email_reingest_commit(e, id, &res);
	}
	GW_INFO(e->module, "reingest of %s/%s: %s", e->inst->conf->name, id,
		res.verdict == EMAIL_INGEST ? "ingested" : res.reason);
out:
	email_result_clear(&res);
	free(raw);
	return rc;
}

/* Serves the reingest requests gatewayctl left; the next one waits on an error. */
static void email_reingest(struct email *e)
{
	char id[QUARANTINE_ID_MAX];
	int n = 0;

	while (n++ < 100 && quarantine_next_request(e->q, id) == GW_OK) {
		int rc = email_reingest_one(e, id);

		if (rc != GW_OK) {
			GW_WARN(e->module, "reingest of %s/%s: %s; tried again later",
				e->inst->conf->name, id, gw_strerror(rc));
			break;
		}
	}
}

/* ---- the connector type ----------------------------------------------------------- */

static int email_paths(struct email *e)
{
	const char *sd = e->inst->config->state_dir;
	char dir[4096];
	int n;

	n = snprintf(dir, sizeof(dir), "%s/email", sd);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return GW_EINVAL;
	if (gw_mkdir_p(dir) != GW_OK)
		return GW_EIO;
	n = snprintf(e->state_path, sizeof(e->state_path), "%s/%s.state", dir,
		     e->inst->conf->name);
	if (n < 0 || (size_t)n >= sizeof(e->state_path))
		return GW_EINVAL;
	n = snprintf(e->oauth_path, sizeof(e->oauth_path), "%s/%s.oauth", dir,
		     e->inst->conf->name);
	if (n < 0 || (size_t)n >= sizeof(e->oauth_path))
		return GW_EINVAL;
	n = snprintf(e->attach_dir, sizeof(e->attach_dir), "%s",
		     e->set->attachment_dir ? e->set->attachment_dir : "");
	if (!e->set->attachment_dir)
		n = snprintf(e->attach_dir, sizeof(e->attach_dir), "%s/attachments", sd);
	if (n < 0 || (size_t)n >= sizeof(e->attach_dir))
		return GW_EINVAL;
	return gw_mkdir_p(e->attach_dir) == GW_OK ? GW_OK : GW_EIO;
}

static int email_load_state(struct email *e)
{
	char why[256] = "";
	int fresh = 0, rc;

	rc = email_state_load(e->state_path, e->set->url, &e->st, &fresh, why, sizeof(why));
	if (rc != GW_OK) {
		GW_ERROR(e->module, "%s: %s; move it away to read the mailbox from UID 1 again",
			 e->state_path, why[0] ? why : gw_strerror(rc));
		return rc;
	}
	if (!fresh)
		GW_INFO(e->module, "resuming %s after UID %u (UIDVALIDITY %u)", e->set->url,
			e->st.last_uid, e->st.uidvalidity);
	return GW_OK;
}

/* email_open_oauth - the access-token cache of the `oauth` block, if any. */
static int email_open_oauth(struct email *e)
{
	const struct email_oauth_settings *s = &e->set->oauth;
	char url[EMAIL_OAUTH_URL_MAX];
	struct oauth_options opt = {
		.token_url = url,
		.client_id = s->client_id,
		.client_secret = s->client_secret && s->client_secret[0] ? s->client_secret : NULL,
		.refresh_token = s->refresh_token,
		.scope = email_oauth_scope(s),
		.ca_file = s->ca_file,
		.margin_s = s->refresh_margin_s,
		.timeout_ms = (long)s->timeout_ms,
		.log_module = e->module,
		.state_path = e->oauth_path,
	};

	if (!s->token_url)
		return GW_OK;
	if (email_oauth_url(s, url, sizeof(url)) != GW_OK)
		return GW_ECONFIG;
	e->inst->counters[EMAIL_C_TOKEN_REFRESHES].name = "token_refreshes";
	e->inst->counters[EMAIL_C_TOKEN_FAILURES].name = "token_failures";
	GW_INFO(e->module, "logging in with OAuth 2.0 (%s); token endpoint %s",
		s->mechanism == EMAIL_OAUTH_XOAUTH2 ? "XOAUTH2"
		: s->mechanism == EMAIL_OAUTH_OAUTHBEARER ? "OAUTHBEARER"
		: "OAUTHBEARER when offered, else XOAUTH2", url);
	return oauth_create(&opt, &e->oauth);
}

static int email_open_imap(struct email *e)
{
	struct imap_options opt = {
		.url = e->set->url,
		.username = e->set->username,
		.password = e->set->password,
		.oauth = e->oauth,
		.login_options = email_oauth_login_options(&e->set->oauth),
		.ca_file = e->set->ca_file,
		.log_module = e->module,
		.tick = email_tick,
		.arg = e,
	};

	if (email_settings_tls(e->set, &opt.tls) != GW_OK)
		return GW_ECONFIG;
	return imap_create(&opt, &e->imap);
}

/* The group commit, flushed by the loop itself (no wake, no schedule). */
static int email_gcommit(struct email *e)
{
	struct gcommit_options g = {
		.outbox = e->inst->outbox,
		.log_module = e->module,
	};

	return gcommit_create(&g, &e->gc);
}

static int email_create(struct connector_instance *inst)
{
	struct email *e = calloc(1, sizeof(*e));
	int rc;

	inst->ctx = e;
	if (!e)
		return GW_ENOMEM;
	e->inst = inst;
	e->set = inst->settings;
	e->module = inst->log_module;
	e->after = strcmp(e->set->after, "move") == 0   ? AFTER_MOVE
		   : strcmp(e->set->after, "none") == 0 ? AFTER_NONE
							: AFTER_SEEN;
	e->queue = calloc(IMAP_SEARCH_WINDOW, sizeof(*e->queue));
	e->info = calloc((size_t)e->set->fetch_batch, sizeof(*e->info));
	if (!e->queue || !e->info)
		return GW_ENOMEM;
	email_parse_init();
	rc = email_own_addresses(e);
	if (rc == GW_OK)
		rc = email_paths(e);
	if (rc == GW_OK)
		rc = email_open_oauth(e);
	if (rc == GW_OK)
		rc = email_send_create(inst, e->attach_dir, e->oauth, &e->send);
	if (rc == GW_OK)
		rc = email_load_state(e);
	if (rc == GW_OK)
		rc = email_open_imap(e);
	if (rc == GW_OK)
		rc = quarantine_open(inst->config->state_dir, inst->conf->name,
				     imap_mailbox_name(e->imap), &e->q);
	if (rc == GW_OK)
		rc = email_gcommit(e);
	return rc;
}

/* Sleeps one tick (no IDLE). */
static void email_nap(void)
{
	struct timespec ts = {0, (long)IMAP_TICK_MS * 1000000L};

	nanosleep(&ts, NULL);
}

/*
 * Waits up to `ms` for news: on the IDLE connection when it is usable,
 * otherwise one tick. Returns 1 when the mailbox has new mail.
 */
static int email_wait(struct email *e, int ms)
{
	int news = 0, rc;

	if (!e->set->idle || !imap_has_idle(e->imap) || gw_mono_us() < e->idle_retry_us) {
		email_nap();
		email_tick(e);
		return 0;
	}
	rc = imap_idle_wait(e->imap, e->st.last_uid + 1, ms, &news);
	if (rc != GW_OK && rc != GW_ECLOSED) {
		GW_WARN(e->module, "IDLE: %s; polling every %lld ms, IDLE again in %d s",
			imap_last_error(e->imap), e->set->poll_interval_ms,
			EMAIL_IDLE_RETRY_MS / 1000);
		e->idle_retry_us = gw_mono_us() + (int64_t)EMAIL_IDLE_RETRY_MS * 1000;
	}
	return news;
}

/* Logs a failed cycle and returns the backoff before the next one. */
static int email_backoff(struct email *e, int rc, int prev_ms)
{
	int ms = prev_ms ? prev_ms * 2 : EMAIL_BACKOFF_MIN_MS;

	if (ms > EMAIL_BACKOFF_MAX_MS)
		ms = EMAIL_BACKOFF_MAX_MS;
	if (rc == GW_EFULL)
		GW_WARN(e->module, "the spool is full: reading paused for %d ms", ms);
	else
		GW_WARN(e->module, "%s: %s; again in %d ms", gw_strerror(rc),
			imap_last_error(e->imap)[0] ? imap_last_error(e->imap) : "-", ms);
	return ms;
}

static int email_run(struct connector_instance *inst)
{
	struct email *e = inst->ctx;
	int64_t next_cycle = 0, next_reingest = 0;
	int backoff = 0, more = 0, rc = GW_OK;

	while (!connector_stopping()) {
		int64_t now = gw_mono_us();

		if (now >= next_reingest) {
			email_reingest(e);
			next_reingest = now + (int64_t)EMAIL_REINGEST_MS * 1000;
		}
		if (now >= next_cycle) {
			rc = email_cycle(e, &more);
			if (rc == GW_ECLOSED)
				break;
			backoff = rc == GW_OK ? 0 : email_backoff(e, rc, backoff);
			next_cycle = gw_mono_us() + (int64_t)(rc != GW_OK ? backoff
							      : more ? 0 : e->set->poll_interval_ms) * 1000;
			connector_status_tick(inst);
			continue;
		}
		if (email_wait(e, (int)((next_cycle - now) / 1000 < EMAIL_REINGEST_MS
					? (next_cycle - now) / 1000 : EMAIL_REINGEST_MS)) && !backoff)
			next_cycle = 0;
	}
	GW_INFO(e->module, "stopping after UID %u: %llu ignored (own address), %llu quarantined "
		"since start", e->st.last_uid, (unsigned long long)e->ignored,
		(unsigned long long)e->quarantined);
	return GW_OK;
}

static void email_destroy(struct connector_instance *inst)
{
	struct email *e = inst->ctx;

	if (!e)
		return;
	gcommit_close(e->gc);
	email_send_destroy(e->send);
	imap_destroy(e->imap);
	oauth_destroy(e->oauth);
	quarantine_close(e->q);
	imap_buf_free(&e->buf);
	free(e->queue);
	free(e->info);
	free(e->own_buf);
	free(e);
	inst->ctx = NULL;
}

static int email_deliver(struct connector_instance *inst, const void *event, size_t len,
			 uint64_t delivery_id)
{
	struct email *e = inst->ctx;

	return email_send_deliver(e->send, event, len, delivery_id);
}

const struct connector_type connector_email = {
	.name = "email",
	.channel = "email",
	.conf = &email_conf_type,
	.create = email_create,
	.run = email_run,
	.destroy = email_destroy,
	.deliver = email_deliver,
};

/*
 * email_send.c - replies of an email instance (email_send.h): the `smtp`
 * block's rows and checks, the deliver op, the sender.
 *
 * A delivery becomes a MIME message at once, on the connector's thread
 * (email_reply.c: GMime, the attachments read from the store), and a job
 * for the sender, whose worker runs the SMTP transfer (email_smtp.c). The
 * sender's journal (<state_dir>/sent/<instance>) remembers each reply the
 * server took, so a reply handed over again after a restart is reported
 * from there, not sent twice; in the moment between the server's 250 and
 * the journal's sync, a SIGKILL sends it again with the same Message-ID.
 */
#include "connectors/email/email_send.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "connectors/email/email_reply.h"
#include "connectors/email/email_smtp.h"
#include "connectors/email/oauth.h"
#include "connectors/outbox.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/proto.h"

#define SMTP_OFF_MAX 160

struct email_send {
	struct connector_instance *inst;
	const struct email_settings *set;
	struct smtp_conf conf;
	struct sender *sender;
	struct oauth *oauth;    /* borrowed; NULL: passwords */
	char attach_dirs[EMAIL_REPLY_DIRS][4096];
	char off[SMTP_OFF_MAX]; /* inst->replies_off when there is no sender */
};

/* ---- settings ------------------------------------------------------------------ */

/*
 * url_resolve - `url` of `schemes` ("smtp", "smtps" or "imap", "imaps")
 * with its port made explicit (`ports`: the defaults of both) and the path
 * `path` (NULL: none allowed), into `out`; its scheme and host too.
 */
static int url_resolve(const char *url, const char *const schemes[2], const char *const ports[2],
		       const char *path, char *out, size_t outlen, char *scheme, char *host)
{
	CURLU *u = curl_url();
	char *sc = NULL, *h = NULL, *user = NULL, *port = NULL, *p = NULL, *full = NULL;
	int rc = -1, i;

	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_NO_USER ||
	    curl_url_get(u, CURLUPART_SCHEME, &sc, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK)
		goto out;
	i = strcmp(sc, schemes[0]) == 0 ? 0 : strcmp(sc, schemes[1]) == 0 ? 1 : -1;
	if (i < 0 || strlen(h) >= 256)
		goto out;
	if (!path && curl_url_get(u, CURLUPART_PATH, &p, 0) == CURLUE_OK && strcmp(p, "/") != 0)
		goto out;
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_NO_PORT &&
	    curl_url_set(u, CURLUPART_PORT, ports[i], 0) != CURLUE_OK)
		goto out;
	if ((path && curl_url_set(u, CURLUPART_PATH, path, CURLU_URLENCODE) != CURLUE_OK) ||
	    curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK || strlen(full) >= outlen)
		goto out;
	snprintf(out, outlen, "%s", full);
	snprintf(scheme, 16, "%s", sc);
	snprintf(host, 256, "%s", h);
	rc = 0;
out:
	curl_free(sc);
	curl_free(h);
	curl_free(user);
	curl_free(port);
	curl_free(p);
	curl_free(full);
	curl_url_cleanup(u);
	return rc;
}

static const char *const smtp_schemes[2] = {"smtp", "smtps"};
static const char *const smtp_ports[2] = {"587", "465"};
static const char *const imap_schemes[2] = {"imap", "imaps"};
static const char *const imap_ports[2] = {"143", "993"};

/* ---- the sender ------------------------------------------------------------------- */

/* resolve - the smtp_conf of the settings (checked before). */
static int resolve(struct email_send *es)
{
	const struct email_settings *s = es->set;
	const struct email_smtp_settings *m = &s->smtp;
	struct smtp_conf *c = &es->conf;
	char scheme[16], host[256], path[300];

	if (url_resolve(m->url, smtp_schemes, smtp_ports, NULL, c->url, sizeof(c->url), scheme,
			host))
		return GW_ECONFIG;
	c->use_ssl = strcmp(m->tls, "none") == 0 ? CURLUSESSL_NONE : CURLUSESSL_ALL;
	c->username = m->username ? m->username : s->username;
	c->bearer = m->bearer_token && *m->bearer_token ? m->bearer_token : NULL;
	c->password = c->bearer ? NULL : m->password;
	/* The oauth block's tokens, unless the block has its own secret. */
	if (!c->bearer && !(m->password && *m->password) && es->oauth) {
		c->oauth = es->oauth;
		c->password = NULL;
	}
	c->login_options = email_oauth_login_options(&s->oauth);
	c->ca_file = m->ca_file ? m->ca_file : s->ca_file;
	c->from = email_settings_from(s);
	c->log_module = es->inst->log_module;
	if (!m->sent_folder)
		return GW_OK;
	snprintf(path, sizeof(path), "/%s", m->sent_folder);
	if (url_resolve(s->url, imap_schemes, imap_ports, path, c->append_url,
			sizeof(c->append_url), scheme, host))
		return GW_ECONFIG;
	c->append_ssl = strcmp(s->tls, "none") == 0 ? CURLUSESSL_NONE : CURLUSESSL_ALL;
	c->imap_username = s->username;
	c->imap_password = s->password;
	c->imap_oauth = es->oauth;
	c->imap_ca_file = s->ca_file;
	return GW_OK;
}

static int start_sender(struct email_send *es)
{
	return sender_open(es->inst, &es->set->smtp.send, NULL, NULL, &es->sender);
}

int email_send_create(struct connector_instance *inst, const char *attach_dir,
		      struct oauth *oauth, struct email_send **out)
{
	struct email_send *es = calloc(1, sizeof(*es));
	int rc = GW_OK;

	*out = NULL;
	if (!es)
		return GW_ENOMEM;
	es->inst = inst;
	es->set = inst->settings;
	es->oauth = oauth;
	snprintf(es->attach_dirs[0], sizeof(es->attach_dirs[0]), "%s", attach_dir);
	snprintf(es->attach_dirs[1], sizeof(es->attach_dirs[1]), "%s/attachments",
		 inst->config->state_dir);
	if (!es->set->smtp.url) {
		snprintf(es->off, sizeof(es->off), "email connector %s has no smtp block",
			 inst->conf->name);
		inst->replies_off = es->off;
		GW_INFO(inst->log_module, "replies are off: no smtp block");
	} else {
		rc = resolve(es);
		if (rc == GW_OK)
			rc = start_sender(es);
		inst->sender = es->sender;
	}
	if (rc) {
		email_send_destroy(es);
		return rc;
	}
	*out = es;
	return GW_OK;
}

void email_send_destroy(struct email_send *es)
{
	if (!es)
		return;
	if (es->inst->sender == es->sender)
		es->inst->sender = NULL;
	if (es->inst->replies_off == es->off)
		es->inst->replies_off = NULL;
	sender_destroy(es->sender);
	free(es);
}

void email_send_poll(struct email_send *es)
{
	if (es && es->sender)
		sender_poll(es->sender);
}

/* ---- deliver -------------------------------------------------------------------- */

/* submit - builds reply `m` and hands it to the sender. */
static int submit(struct email_send *es, const struct proto_message *m, uint64_t id)
{
	struct email_reply_options opt = {
		.from = es->conf.from,
		.from_name = es->set->smtp.from_name,
		.attach_dirs = {es->attach_dirs[0], es->attach_dirs[1]},
		.max_bytes = (size_t)es->set->smtp.max_message_bytes,
		.now_ms = gw_now_ms(),
	};
	struct email_reply r;
	struct smtp_job *job = NULL;
	char why[SENDER_REASON_MAX];
	int rc = email_reply_build(&opt, m, &r, why, sizeof(why));

	if (rc == GW_ENOMEM)
		return GW_EAGAIN;
	if (rc)
		return sender_fail_now(es->sender, id, why);
	rc = smtp_job_new(&es->conf, &r, id, &job);
	if (rc == GW_OK)
		rc = sender_submit(es->sender, id, m->external_id, &smtp_ops, job);
	if (rc == GW_OK)
		GW_DEBUG(es->inst->log_module, "delivery %llu: Message-ID <%s> queued",
			 (unsigned long long)id, m->external_id);
	return rc == GW_ENOMEM ? GW_EAGAIN : rc;
}

/*
 * token_ready - whether SMTP has an access token to log in with: GW_OK
 * (a usable one; or an older one, and the sender's retries wait for a
 * newer one if the server refuses it), GW_EAGAIN (none yet: handed over
 * again), GW_ECLOSED (no usable token and the refresh token is refused:
 * the reply was reported failed with why).
 */
static int token_ready(struct email_send *es, uint64_t id)
{
	char why[SENDER_REASON_MAX];
	int refused = 0, rc;

	if (!es->conf.oauth || oauth_get(es->conf.oauth, OAUTH_USABLE, NULL, 0, NULL) == GW_OK)
		return GW_OK;
	if (oauth_problem(es->conf.oauth, why, sizeof(why), &refused) && refused) {
		rc = sender_fail_now(es->sender, id, why);
		return rc == GW_OK ? GW_ECLOSED : rc;
	}
	rc = oauth_get(es->conf.oauth, OAUTH_LAST, NULL, 0, NULL);
	return rc == GW_OK ? GW_OK : GW_EAGAIN;
}

int email_send_deliver(struct email_send *es, const void *event, size_t len,
		       uint64_t delivery_id)
{
	struct proto_event ev;
	struct proto_error perr;
	int rc;

	if (!es->sender)
		return outbox_report(es->inst->outbox, delivery_id, "failed", es->off);
	if (sender_has(es->sender, delivery_id))
		return GW_OK; /* handed over again while it is being sent */
	rc = token_ready(es, delivery_id);
	if (rc != GW_OK)
		return rc == GW_ECLOSED ? GW_OK : rc;
	memset(&perr, 0, sizeof(perr));
	rc = proto_decode(event, len, &ev, &perr);
	if (rc != GW_OK) {
		GW_WARN(es->inst->log_module, "delivery %llu does not decode: %s",
			(unsigned long long)delivery_id, perr.message);
		return rc;
	}
	if (ev.type != PROTO_T_MESSAGE_SENT)
		rc = sender_fail_now(es->sender, delivery_id, "not a message.sent");
	else
		rc = submit(es, &ev.u.message, delivery_id);
	proto_event_clear(&ev);
	return rc;
}

/*
 * ms_send.c - a reply to a Messenger or Instagram customer through the Send
 * API (docs/channels/messenger.md and instagram.md, "Replies"):
 *
 *   POST {graph_url}/me/messages
 *   Authorization: Bearer <page access token of the account>
 *   {"recipient": {"id": "<PSID or IGSID>"},
 *    "messaging_type": "RESPONSE",
 *    "message": {"text": "...", "metadata": "<the reply's id>"}}
 *   -> 200 {"recipient_id": "<PSID>", "message_id": "m_..."}
 *
 * messaging_type RESPONSE when the reply was made within 24 hours of the
 * customer's last message; MESSAGE_TAG with tag HUMAN_AGENT within 7 days
 * when the connector may use it (human_agent_tag); otherwise the reply is
 * refused at once (ms_job_new says why), no request made.
 *
 * One reply is one message per part, in order as the sender's steps: the
 * text, then each attachment as {"attachment": {"type", "payload": {"url",
 * "is_reusable": true}}}; a stored blob ("sha256:<hex>") goes in the same
 * request as a multipart upload (recipient, messaging_type, tag, message
 * as JSON text fields, the file as `filedata`). Every part carries the
 * reply's id as `metadata`, which Meta hands back in the echo webhook, so
 * that the echo is recognised as this reply (messenger.c). The last
 * part's message_id is the reply's reference, in the account the webhooks
 * name (the page or the Instagram account).
 */
#include "connectors/meta/meta_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/meta/graph.h"
#include "core/err.h"

#define MS_URL_MAX 2048

struct ms_part {
	json_t *msg;     /* the whole request body */
	struct meta_file file; /* a stored blob sent with it (multipart); path NULL: none */
};

struct ms_job {
	char url[MS_URL_MAX];
	char *auth; /* the bearer header line: a secret */
	char account[PROTO_MAX_ACCOUNT + 1];
	struct ms_part parts[META_MAX_PARTS];
	size_t nparts;
	struct graph_req req;
};

/* ---- building the parts ---------------------------------------------------- */

static const char *ms_channel_title(const char *channel)
{
	return channel && strcmp(channel, "instagram") == 0 ? "Instagram" : "Messenger";
}

/* ms_window - RESPONSE, the HUMAN_AGENT tag (*tag set), or GW_EINVAL with why. */
static int ms_window(const struct meta_send_ctx *c, const struct proto_message *m,
		     const char **type, const char **tag, char *why, size_t whylen)
{
	int64_t age = m->last_inbound_at > 0 ? c->made_at - m->last_inbound_at : 0;
	const char *ch = ms_channel_title(m->channel);

	*type = "RESPONSE";
	*tag = NULL;
	if (age <= META_WINDOW_MS)
		return GW_OK;
	if (c->human_agent && age <= META_HUMAN_AGENT_MS) {
		*type = "MESSAGE_TAG";
		*tag = "HUMAN_AGENT";
		return GW_OK;
	}
	if (c->human_agent)
		snprintf(why, whylen, "outside %s's 7-day human agent window", ch);
	else
		snprintf(why, whylen, "outside %s's 24-hour window (human_agent_tag is off)", ch);
	return GW_EINVAL;
}

/* ms_attachment_type - image, video, audio or file. */
static const char *ms_attachment_type(const struct proto_attachment *a)
{
	if (strncmp(a->type, "image/", 6) == 0)
		return "image";
	if (strncmp(a->type, "video/", 6) == 0)
		return "video";
	if (strncmp(a->type, "audio/", 6) == 0)
		return "audio";
	return "file";
}

/* ms_part_new - the next part with `message` (taken). */
static int ms_part_new(struct ms_job *j, const struct meta_send_ctx *c,
		       const struct proto_message *m, const char *type, const char *tag,
		       json_t *message)
{
	struct ms_part *p = &j->parts[j->nparts];

	if (!message || json_object_set_new(message, "metadata", json_string(c->reply_id))) {
		json_decref(message);
		return GW_ENOMEM;
	}
	p->msg = json_pack("{s:{s:s},s:s,s:o}", "recipient", "id", m->to->address,
			   "messaging_type", type, "message", message);
	if (!p->msg)
		return GW_ENOMEM;
	j->nparts++;
	if (tag && json_object_set_new(p->msg, "tag", json_string(tag)))
		return GW_ENOMEM;
	return GW_OK;
}

/* ms_payload - {url, is_reusable} for a URL; {is_reusable} for a stored
 * blob, whose path, type and name go to the part (a multipart request). */
static int ms_payload(struct ms_part *p, const struct meta_send_ctx *c,
		      const struct proto_attachment *a, json_t **out, char *why, size_t whylen)
{
	int rc = meta_file_of(c->attach_dir, a, &p->file, why, whylen);

	if (rc != GW_OK)
		return rc;
	if (p->file.path)
		*out = json_pack("{s:b}", "is_reusable", 1);
	else
		*out = json_pack("{s:s,s:b}", "url", a->ref, "is_reusable", 1);
	return *out ? GW_OK : GW_ENOMEM;
}

static int ms_parts(struct ms_job *j, const struct meta_send_ctx *c,
		    const struct proto_message *m, char *why, size_t whylen)
{
	const char *type, *tag;
	int rc;

	rc = ms_window(c, m, &type, &tag, why, whylen);
	if (rc == GW_OK && m->text && m->text[0])
		rc = ms_part_new(j, c, m, type, tag, json_pack("{s:s}", "text", m->text));
	for (size_t i = 0; rc == GW_OK && i < m->attachments_len; i++) {
		const struct proto_attachment *a = &m->attachments[i];
		json_t *payload = NULL;

		rc = ms_payload(&j->parts[j->nparts], c, a, &payload, why, whylen);
		if (rc == GW_OK)
			rc = ms_part_new(j, c, m, type, tag,
					 json_pack("{s:{s:s,s:o}}", "attachment", "type",
						   ms_attachment_type(a), "payload", payload));
		else
			json_decref(payload);
	}
	if (rc == GW_OK && j->nparts == 0) {
		snprintf(why, whylen, "nothing to send: a %s reply needs a text or an attachment%s",
			 ms_channel_title(m->channel),
			 m->tmpl ? " (templates are WhatsApp's)" : "");
		rc = GW_EINVAL;
	}
	return rc;
}

/* ---- the job ------------------------------------------------------------- */

static void ms_free(void *job)
{
	struct ms_job *j = job;

	if (!j)
		return;
	for (size_t i = 0; i < META_MAX_PARTS; i++) {
		json_decref(j->parts[i].msg);
		meta_file_clear(&j->parts[i].file);
	}
	graph_secret_free(j->auth);
	graph_req_clear(&j->req);
	free(j);
}

int ms_job_new(const struct meta_send_ctx *c, const struct proto_message *m, void **job,
	       char *why, size_t whylen)
{
	struct ms_job *j = calloc(1, sizeof(*j));
	size_t n = strlen(c->graph_url);
	int rc = GW_ENOMEM, len;

	*job = NULL;
	if (!j)
		return GW_ENOMEM;
	while (n > 0 && c->graph_url[n - 1] == '/')
		n--;
	len = snprintf(j->url, sizeof(j->url), "%.*s/me/messages", (int)n, c->graph_url);
	snprintf(j->account, sizeof(j->account), "%s", c->account);
	if (len < 0 || (size_t)len >= sizeof(j->url)) {
		snprintf(why, whylen, "graph_url is too long");
		rc = GW_EINVAL;
	} else {
		rc = graph_bearer(c->token, &j->auth);
	}
	if (rc == GW_OK)
		rc = ms_parts(j, c, m, why, whylen);
	if (rc != GW_OK) {
		ms_free(j);
		return rc;
	}
	*job = j;
	return GW_OK;
}

/* ---- the sender's ops (worker thread) ------------------------------------- */

/* ms_setup_mime - the part as a multipart request with its file. */
static int ms_setup_mime(struct ms_job *j, struct ms_part *p, CURL *h, char *why,
			 size_t whylen)
{
	const char *keys[] = {"recipient", "messaging_type", "tag", "message"};
	int rc;

	if (graph_req_mime(&j->req, h, j->url, j->auth, why, whylen) != 0)
		return -1;
	rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(p->msg, keys[i]);
		char *text;

		if (!v)
			continue;
		text = json_is_string(v) ? strdup(json_string_value(v))
					 : json_dumps(v, JSON_COMPACT);
		rc = text ? graph_mime_text(j->req.mime, keys[i], text) : -1;
		free(text);
	}
	if (rc == 0)
		rc = graph_mime_file(j->req.mime, "filedata", p->file.path, p->file.type,
					     p->file.name);
	if (rc != 0) {
		snprintf(why, whylen, "cannot prepare the attachment upload");
		return -1;
	}
	graph_req_send_mime(&j->req, h);
	return 0;
}

static int ms_setup(void *job, int step, CURL *h, char *why, size_t whylen)
{
	struct ms_job *j = job;
	struct ms_part *p;

	if (step < 0 || (size_t)step >= j->nparts) {
		snprintf(why, whylen, "no step %d", step);
		return -1;
	}
	p = &j->parts[step];
	if (p->file.path)
		return ms_setup_mime(j, p, h, why, whylen);
	return graph_req_json(&j->req, h, j->url, j->auth, p->msg, why, whylen);
}

static void ms_classify(void *job, const struct sender_attempt *a, struct sender_outcome *out)
{
	struct ms_job *j = job;
	json_t *doc;
	const char *mid;

	if (a->err != GW_OK || a->status < 200 || a->status > 299) {
		graph_judge(a, "message", out);
		return;
	}
	out->verdict = (size_t)a->step + 1 < j->nparts ? SENDER_NEXT : SENDER_DONE;
	doc = graph_answer(a);
	mid = json_string_value(json_object_get(doc, "message_id"));
	if (out->verdict == SENDER_DONE && mid && mid[0] && strlen(mid) <= PROTO_MAX_EXTERNAL_ID) {
		snprintf(out->ref_account, sizeof(out->ref_account), "%s", j->account);
		snprintf(out->ref_id, sizeof(out->ref_id), "%s", mid);
	}
	json_decref(doc);
}

const struct sender_ops ms_send_ops = {
	.setup = ms_setup,
	.classify = ms_classify,
	.free = ms_free,
};

/*
 * wa_send.c - a reply to a WhatsApp customer through the Cloud API
 * (docs/channels/whatsapp.md, "Replies"):
 *
 *   POST {graph_url}/{phone_number_id}/messages
 *   Authorization: Bearer <access_token>
 *   {"messaging_product": "whatsapp", "recipient_type": "individual",
 *    "to": "<wa_id>", "biz_opaque_callback_data": "<the reply's id>",
 *    "context": {"message_id": "<wamid answered>"},
 *    "type": "text", "text": {"body": "..."}}
 *   -> 200 {"messaging_product": "whatsapp", "contacts": [...],
 *           "messages": [{"id": "wamid..."}]}
 *
 * One reply is one or more WhatsApp messages (parts), sent in order as the
 * sender's steps: a template (message.sent `tmpl`: name, language.code and
 * the components given as JSON, or body parameters from params); else the
 * text, which rides as the caption of the first attachment when that is an
 * image, video or document; then one message per attachment: an https://
 * URL goes by `link`, a stored blob ("sha256:<hex>") is first uploaded with
 * POST {graph_url}/{phone_number_id}/media (multipart: messaging_product,
 * type, file) as a step of its own and then sent by the `id` it got.
 * context goes with the first part only, biz_opaque_callback_data with
 * every part, so that Meta's statuses of each name the reply. The last
 * part's wamid is the reply's reference (reported with the phone number id
 * as its account).
 *
 * The window: a free-form reply (no template) to a customer who last wrote
 * more than 24 hours before the reply was made is refused (wa_job_new
 * says why) without any request: Meta would refuse it with 131047.
 */
#include "connectors/meta/meta_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/meta/graph.h"
#include "core/err.h"

#define WA_MAX_STEPS (2 * META_MAX_PARTS)
#define WA_URL_MAX 2048

struct wa_part {
	json_t *msg;      /* the whole request body; an upload's id goes into msg[kind] */
	const char *kind; /* "text", "template", "image", ... (static) */
	struct meta_file file; /* a stored blob uploaded first; path NULL: none */
};

struct wa_job {
	char messages_url[WA_URL_MAX], media_url[WA_URL_MAX];
	char *auth; /* the bearer header line: a secret */
	char account[PROTO_MAX_ACCOUNT + 1];
	struct wa_part parts[META_MAX_PARTS];
	size_t nparts;
	unsigned short steps[WA_MAX_STEPS]; /* part * 2, + 1 for its message */
	size_t nsteps;
	struct graph_req req;
};

/* ---- building the parts ---------------------------------------------------- */

/* wa_kind - the WhatsApp message type of an attachment. */
static const char *wa_kind(const struct proto_attachment *a)
{
	static const char *const kinds[] = {"image", "video", "audio", "document", "sticker"};

	for (size_t i = 0; a->kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(a->kind, kinds[i]) == 0)
			return kinds[i];
	if (strncmp(a->type, "image/", 6) == 0)
		return "image";
	if (strncmp(a->type, "video/", 6) == 0)
		return "video";
	if (strncmp(a->type, "audio/", 6) == 0)
		return "audio";
	return "document";
}

static int wa_captioned(const char *kind)
{
	return strcmp(kind, "image") == 0 || strcmp(kind, "video") == 0 ||
	       strcmp(kind, "document") == 0;
}

/* wa_part_new - the next part: the envelope of every message and `kind`
 * with its object `obj` (taken). */
static int wa_part_new(struct wa_job *j, const struct meta_send_ctx *c,
		       const struct proto_message *m, const char *kind, json_t *obj)
{
	struct wa_part *p = &j->parts[j->nparts];
	const char *answered = m->reply_to_len ? m->reply_to[m->reply_to_len - 1] : NULL;

	p->kind = kind;
	p->msg = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "messaging_product", "whatsapp",
			   "recipient_type", "individual", "to", m->to->address,
			   "biz_opaque_callback_data", c->reply_id, "type", kind, kind, obj);
	if (!p->msg)
		return GW_ENOMEM;
	j->nparts++;
	/* The answered message, when it is WhatsApp's own (a wamid). */
	if (j->nparts == 1 && answered && strncmp(answered, "wamid.", 6) == 0 &&
	    json_object_set_new(p->msg, "context", json_pack("{s:s}", "message_id", answered)))
		return GW_ENOMEM;
	return GW_OK;
}

/* wa_components - the template's components: its JSON as given, else a
 * body with one text parameter per param, else none (NULL, GW_OK). */
static int wa_components(const struct proto_template *t, json_t **out, char *why, size_t whylen)
{
	json_t *params;

	*out = NULL;
	if (t->components && t->components[0]) {
		*out = json_loads(t->components, JSON_REJECT_DUPLICATES, NULL);
		if (json_is_array(*out))
			return GW_OK;
		json_decref(*out);
		*out = NULL;
		snprintf(why, whylen, "template %s: components are not a JSON array", t->name);
		return GW_EINVAL;
	}
	if (!t->params_len)
		return GW_OK;
	params = json_array();
	for (size_t i = 0; params && i < t->params_len; i++)
		if (json_array_append_new(params, json_pack("{s:s,s:s}", "type", "text", "text",
							    t->params[i])))
			break;
	if (!params || json_array_size(params) != t->params_len) {
		json_decref(params);
		return GW_ENOMEM;
	}
	*out = json_pack("[{s:s,s:o}]", "type", "body", "parameters", params);
	return *out ? GW_OK : GW_ENOMEM;
}

static int wa_template(struct wa_job *j, const struct meta_send_ctx *c,
		       const struct proto_message *m, char *why, size_t whylen)
{
	const struct proto_template *t = m->tmpl;
	json_t *comps = NULL, *obj;
	int rc;

	rc = wa_components(t, &comps, why, whylen);
	if (rc != GW_OK)
		return rc;
	obj = json_pack("{s:s,s:{s:s}}", "name", t->name, "language", "code", t->language);
	if (obj && comps && json_object_set_new(obj, "components", comps) == 0)
		comps = NULL;
	json_decref(comps);
	if (!obj || comps)
		return GW_ENOMEM;
	return wa_part_new(j, c, m, "template", obj);
}

/* wa_media_obj - {link} for a URL; {} for a stored blob, whose path, type
 * and name go to the part for the upload step. */
static int wa_media_obj(struct wa_part *p, const struct meta_send_ctx *c,
			const struct proto_attachment *a, json_t **obj, char *why, size_t whylen)
{
	int rc = meta_file_of(c->attach_dir, a, &p->file, why, whylen);

	if (rc != GW_OK)
		return rc;
	*obj = p->file.path ? json_object() : json_pack("{s:s}", "link", a->ref);
	return *obj ? GW_OK : GW_ENOMEM;
}

static int wa_attachment(struct wa_job *j, const struct meta_send_ctx *c,
			 const struct proto_message *m, size_t i, const char *caption, char *why,
			 size_t whylen)
{
	const struct proto_attachment *a = &m->attachments[i];
	const char *kind = wa_kind(a);
	json_t *obj = NULL;
	int rc;

	rc = wa_media_obj(&j->parts[j->nparts], c, a, &obj, why, whylen);
	if (rc == GW_OK && caption && json_object_set_new(obj, "caption", json_string(caption)))
		rc = GW_ENOMEM;
	if (rc == GW_OK && strcmp(kind, "document") == 0 && a->name[0] &&
	    json_object_set_new(obj, "filename", json_string(a->name)))
		rc = GW_ENOMEM;
	if (rc == GW_OK)
		return wa_part_new(j, c, m, kind, obj);
	json_decref(obj);
	return rc;
}

/* wa_parts - the template, or the text (alone or as the first caption),
 * then one part per attachment. */
static int wa_parts(struct wa_job *j, const struct meta_send_ctx *c,
		    const struct proto_message *m, char *why, size_t whylen)
{
	const char *text = m->text && m->text[0] && !m->tmpl ? m->text : NULL;
	int caption = text && m->attachments_len && wa_captioned(wa_kind(&m->attachments[0]));
	int rc = GW_OK;

	if (m->tmpl)
		rc = wa_template(j, c, m, why, whylen);
	else if (text && !caption)
		rc = wa_part_new(j, c, m, "text", json_pack("{s:s}", "body", text));
	for (size_t i = 0; rc == GW_OK && i < m->attachments_len; i++)
		rc = wa_attachment(j, c, m, i, i == 0 && caption ? text : NULL, why, whylen);
	if (rc == GW_OK && j->nparts == 0) {
		snprintf(why, whylen, "nothing to send: no text, template or attachment");
		rc = GW_EINVAL;
	}
	return rc;
}

/* ---- the job ------------------------------------------------------------- */

static void wa_free(void *job)
{
	struct wa_job *j = job;

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

/* wa_urls - the two endpoints of the phone number; GW_EINVAL for an
 * account that is no Graph node id (it would change the path). */
static int wa_urls(struct wa_job *j, const struct meta_send_ctx *c, char *why, size_t whylen)
{
	size_t n = strlen(c->graph_url);
	int a, b;

	if (!c->account[0] || strspn(c->account, "0123456789") != strlen(c->account)) {
		snprintf(why, whylen, "account %.64s is not a WhatsApp phone number id",
			 c->account);
		return GW_EINVAL;
	}
	while (n > 0 && c->graph_url[n - 1] == '/')
		n--;
	a = snprintf(j->messages_url, sizeof(j->messages_url), "%.*s/%s/messages", (int)n,
		     c->graph_url, c->account);
	b = snprintf(j->media_url, sizeof(j->media_url), "%.*s/%s/media", (int)n, c->graph_url,
		     c->account);
	if (a < 0 || b < 0 || (size_t)a >= sizeof(j->messages_url) ||
	    (size_t)b >= sizeof(j->media_url)) {
		snprintf(why, whylen, "graph_url is too long");
		return GW_EINVAL;
	}
	snprintf(j->account, sizeof(j->account), "%s", c->account);
	return GW_OK;
}

int wa_job_new(const struct meta_send_ctx *c, const struct proto_message *m, void **job,
	       char *why, size_t whylen)
{
	struct wa_job *j = NULL;
	int rc = GW_EINVAL;

	*job = NULL;
	if (!m->tmpl && m->last_inbound_at > 0 &&
	    c->made_at - m->last_inbound_at > META_WINDOW_MS) {
		snprintf(why, whylen, "outside WhatsApp's 24-hour window: send a template");
		goto out;
	}
	rc = GW_ENOMEM;
	j = calloc(1, sizeof(*j));
	if (!j)
		goto out;
	rc = wa_urls(j, c, why, whylen);
	if (rc == GW_OK)
		rc = graph_bearer(c->token, &j->auth);
	if (rc == GW_OK)
		rc = wa_parts(j, c, m, why, whylen);
	for (size_t i = 0; rc == GW_OK && i < j->nparts; i++) {
		if (j->parts[i].file.path)
			j->steps[j->nsteps++] = (unsigned short)(i * 2);
		j->steps[j->nsteps++] = (unsigned short)(i * 2 + 1);
	}
out:
	if (rc == GW_OK)
		*job = j;
	else
		wa_free(j);
	return rc;
}

/* ---- the sender's ops (worker thread) ------------------------------------- */

static int wa_setup(void *job, int step, CURL *h, char *why, size_t whylen)
{
	struct wa_job *j = job;
	struct wa_part *p;
	int msg;

	if (step < 0 || (size_t)step >= j->nsteps) {
		snprintf(why, whylen, "no step %d", step);
		return -1;
	}
	p = &j->parts[j->steps[step] / 2];
	msg = j->steps[step] % 2;
	if (msg)
		return graph_req_json(&j->req, h, j->messages_url, j->auth, p->msg, why, whylen);
	if (graph_req_mime(&j->req, h, j->media_url, j->auth, why, whylen) != 0)
		return -1;
	if (graph_mime_text(j->req.mime, "messaging_product", "whatsapp") != 0 ||
	    graph_mime_text(j->req.mime, "type", p->file.type) != 0 ||
	    graph_mime_file(j->req.mime, "file", p->file.path, p->file.type, p->file.name) != 0) {
		snprintf(why, whylen, "cannot prepare the media upload");
		return -1;
	}
	graph_req_send_mime(&j->req, h);
	return 0;
}

/* wa_uploaded - the media id of an upload's answer into its message. */
static void wa_uploaded(struct wa_part *p, json_t *doc, struct sender_outcome *out)
{
	const char *id = json_string_value(json_object_get(doc, "id"));

	if (!id || !id[0] ||
	    json_object_set_new(json_object_get(p->msg, p->kind), "id", json_string(id)) != 0) {
		out->verdict = SENDER_FAIL;
		snprintf(out->reason, sizeof(out->reason),
			 "media upload: no media id in the answer");
		return;
	}
	out->verdict = SENDER_NEXT;
}

static void wa_classify(void *job, const struct sender_attempt *a, struct sender_outcome *out)
{
	struct wa_job *j = job;
	int msg = j->steps[a->step] % 2;
	struct wa_part *p = &j->parts[j->steps[a->step] / 2];
	json_t *doc;
	const char *wamid;

	if (a->err != GW_OK || a->status < 200 || a->status > 299) {
		graph_judge(a, msg ? "message" : "media upload", out);
		return;
	}
	doc = graph_answer(a);
	if (!msg) {
		wa_uploaded(p, doc, out);
		json_decref(doc);
		return;
	}
	/* Taken: a later part goes on; the last one is the reply's reference
	 * (none when the answer cannot be read: it was taken all the same). */
	out->verdict = (size_t)a->step + 1 < j->nsteps ? SENDER_NEXT : SENDER_DONE;
	wamid = json_string_value(
		json_object_get(json_array_get(json_object_get(doc, "messages"), 0), "id"));
	if (out->verdict == SENDER_DONE && wamid && strlen(wamid) <= PROTO_MAX_EXTERNAL_ID) {
		snprintf(out->ref_account, sizeof(out->ref_account), "%s", j->account);
		snprintf(out->ref_id, sizeof(out->ref_id), "%s", wamid);
	}
	json_decref(doc);
}

const struct sender_ops wa_send_ops = {
	.setup = wa_setup,
	.classify = wa_classify,
	.free = wa_free,
};

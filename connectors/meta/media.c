/*
 * media.c - Meta's source for the shared downloader (media.h): which
 * attachments are WhatsApp media or Messenger/Instagram files, and where
 * their bytes are.
 */
#include "connectors/meta/media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "connectors/download.h"
#include "core/err.h"
#include "core/util.h"

#define MEDIA_ID_MAX 128
#define MEDIA_AUTH_MAX 1100 /* "Authorization: Bearer " and a META_SECRET_MAX token */

struct media {
	struct download *dl;
	char *graph_url; /* without a trailing '/', read on the worker */
};

/* The media id of a "whatsapp-media:" ref, checked to be safe in a URL
 * path; NULL when the ref is not one. */
static const char *media_id_of(const char *ref)
{
	size_t plen = strlen(MEDIA_REF_PREFIX), n;

	if (!ref || strncmp(ref, MEDIA_REF_PREFIX, plen) != 0)
		return NULL;
	ref += plen;
	n = strlen(ref);
	if (n == 0 || n > MEDIA_ID_MAX ||
	    strspn(ref, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-.") != n)
		return NULL;
	return ref;
}

/* A Messenger or Instagram file: its kind is one Meta hosts on its CDN,
 * its ref that URL. Shares, reels and templates are links, not files. */
static int media_cdn_file(const struct proto_message *m, const struct proto_attachment *a)
{
	static const char *const kinds[] = {"image", "video", "audio", "file"};
	int kind = 0;

	if (!m->channel || (strcmp(m->channel, "messenger") != 0 &&
			    strcmp(m->channel, "instagram") != 0) || !a->kind || !a->ref)
		return 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		kind |= strcmp(a->kind, kinds[i]) == 0;
	return kind && dl_is_url(a->ref);
}

static int media_wants(void *arg, const struct proto_message *m,
		       const struct proto_attachment *a)
{
	(void)arg;
	return media_id_of(a->ref) != NULL || media_cdn_file(m, a);
}

/* Copies a string member of Graph's answer, when it is one that fits. */
static void media_copy(const json_t *o, const char *key, char *out, size_t outlen)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s && strlen(s) < outlen)
		memcpy(out, s, strlen(s) + 1);
}

/* WhatsApp: Graph's metadata of the media id gives the URL of the bytes. */
static int media_wa_resolve(struct media *me, struct dl_xfer *x, const char *id,
			    struct dl_target *t)
{
	char url[DL_URL_MAX];
	json_t *meta = NULL, *size;
	int rc;

	snprintf(t->label, sizeof(t->label), "media %s", id);
	if ((size_t)snprintf(url, sizeof(url), "%s/%s", me->graph_url, id) >= sizeof(url)) {
		dl_why(x, "metadata: graph_url too long");
		return GW_EINVAL;
	}
	rc = dl_get_json(x, url, 1, "metadata", &meta);
	if (rc == GW_OK && (!json_is_string(json_object_get(meta, "url")) ||
			    strlen(json_string_value(json_object_get(meta, "url"))) >=
				    sizeof(t->url))) {
		dl_why(x, "metadata: no media url in the answer");
		rc = GW_EPROTO;
	}
	if (rc == GW_OK) {
		media_copy(meta, "url", t->url, sizeof(t->url));
		media_copy(meta, "mime_type", t->mime, sizeof(t->mime));
		media_copy(meta, "sha256", t->sha256, sizeof(t->sha256));
		size = json_object_get(meta, "file_size");
		if (json_is_integer(size) && json_integer_value(size) >= 0)
			t->size = (long long)json_integer_value(size);
		t->auth = 1;
	}
	json_decref(meta);
	return rc;
}

static int media_resolve(void *arg, struct dl_xfer *x, const struct proto_message *m,
			 const struct proto_attachment *a, struct dl_target *t)
{
	const char *id = media_id_of(a->ref);

	(void)m;
	if (id)
		return media_wa_resolve(arg, x, id, t);
	/* Messenger, Instagram: the CDN URL as the webhook gave it. */
	return dl_target_url(x, t, a->ref);
}

static void media_list_clear(void *list)
{
	meta_events_clear(list);
}

/* The downloader's options for `opt`, its auth header into `auth`. */
static void media_dl_options(const struct media_options *opt, struct media *me, char *auth,
			     size_t authlen, struct dl_options *o)
{
	snprintf(auth, authlen, "Authorization: Bearer %s",
		 opt->access_token ? opt->access_token : "");
	*o = (struct dl_options){
		.dir = opt->dir,
		.max_bytes = opt->max_bytes,
		.limit_key = "media_max_bytes",
		.provider = "Meta",
		.budget_ms = MEDIA_BUDGET_MS,
		.auth_header = opt->access_token && opt->access_token[0] ? auth : NULL,
		.log_module = opt->log_module ? opt->log_module : "media",
		.source = {.wants = media_wants, .resolve = media_resolve, .arg = me},
		.list_size = sizeof(struct meta_events),
		.list_clear = media_list_clear,
		.notify = opt->notify,
		.arg = opt->arg,
	};
}

int media_create(const struct media_options *opt, struct media **out)
{
	struct media *me = calloc(1, sizeof(*me));
	char auth[MEDIA_AUTH_MAX];
	struct dl_options o;
	size_t glen;
	int rc = me ? GW_OK : GW_ENOMEM;

	*out = NULL;
	if (rc == GW_OK && !(me->graph_url = gw_strdup(opt->graph_url ? opt->graph_url : "")))
		rc = GW_ENOMEM;
	if (rc == GW_OK) {
		glen = strlen(me->graph_url);
		while (glen > 0 && me->graph_url[glen - 1] == '/')
			me->graph_url[--glen] = '\0'; /* "{graph_url}/{id}" */
		media_dl_options(opt, me, auth, sizeof(auth), &o);
		rc = dl_create(&o, &me->dl);
		OPENSSL_cleanse(auth, sizeof(auth));
	}
	if (rc != GW_OK) {
		media_destroy(me);
		return rc;
	}
	*out = me;
	return GW_OK;
}

void media_destroy(struct media *m)
{
	if (!m)
		return;
	dl_destroy(m->dl);
	free(m->graph_url);
	free(m);
}

size_t media_wanted(const struct media *m, const struct meta_events *evs)
{
	return m ? dl_wanted(m->dl, evs->ev, evs->n) : 0;
}

int media_submit(struct media *m, uint64_t ticket, struct meta_events *evs)
{
	int rc = dl_submit(m->dl, ticket, evs, evs->ev, evs->n);

	if (rc == GW_OK)
		memset(evs, 0, sizeof(*evs));
	return rc;
}

int media_take_done(struct media *m, uint64_t *ticket, struct meta_events *evs)
{
	return dl_take_done(m->dl, ticket, evs);
}

void media_stats(const struct media *m, struct dl_stats *st)
{
	dl_stats(m ? m->dl : NULL, st);
}

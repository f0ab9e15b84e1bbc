/*
 * sms_media.c - Twilio's source for the shared downloader (sms_media.h):
 * which attachments are MMS files, and where their bytes are.
 */
#include "connectors/sms/sms_media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/err.h"
#include "core/util.h"

#define SMS_MEDIA_CRED_MAX 1200 /* "AC...:" and an SMS_SECRET_MAX token */
#define SMS_MEDIA_AUTH_MAX 1700 /* "Authorization: Basic " and its base64 */

struct sms_media {
	struct download *dl;
	char *api_base; /* without a trailing '/', read on the worker */
};

/* The downloader's list of one message: its event, on the heap so that the
 * job's copy of the list points at the same event (download.h). */
struct sms_media_list {
	struct proto_event *ev; /* owned */
};

/* A file of an MMS: an http(s) URL (MediaUrl<i>) on a message. */
static int sms_media_wants(void *arg, const struct proto_message *m,
			   const struct proto_attachment *a)
{
	(void)arg;
	(void)m;
	return dl_is_url(a->ref);
}

static int sms_media_resolve(void *arg, struct dl_xfer *x, const struct proto_message *m,
			     const struct proto_attachment *a, struct dl_target *t)
{
	const struct sms_media *me = arg;
	size_t blen = strlen(me->api_base);

	(void)m;
	if (dl_target_url(x, t, a->ref) != GW_OK)
		return GW_ETOOBIG;
	/* The credentials only to Twilio's own API, never to a URL elsewhere. */
	t->auth = strncmp(a->ref, me->api_base, blen) == 0 && a->ref[blen] == '/';
	if (a->type && strlen(a->type) < sizeof(t->mime))
		memcpy(t->mime, a->type, strlen(a->type) + 1);
	return GW_OK;
}

static void sms_media_list_clear(void *list)
{
	struct sms_media_list *l = list;

	if (l->ev)
		proto_event_clear(l->ev);
	free(l->ev);
	l->ev = NULL;
}

/* sms_media_auth - "Authorization: Basic base64(sid:token)" into out. */
static int sms_media_auth(const struct sms_media_options *opt, char *out, size_t outlen)
{
	char cred[SMS_MEDIA_CRED_MAX];
	const char *pre = "Authorization: Basic ";
	size_t plen = strlen(pre);
	int n = snprintf(cred, sizeof(cred), "%s:%s", opt->account_sid ? opt->account_sid : "",
			 opt->auth_token ? opt->auth_token : "");
	int rc = GW_OK;

	if (n < 0 || (size_t)n >= sizeof(cred) || plen + 4 * (((size_t)n + 2) / 3) + 1 > outlen) {
		rc = GW_EINVAL;
		goto out;
	}
	memcpy(out, pre, plen);
	EVP_EncodeBlock((unsigned char *)out + plen, (const unsigned char *)cred, n);
out:
	OPENSSL_cleanse(cred, sizeof(cred));
	return rc;
}

static int sms_media_start(struct sms_media *me, const struct sms_media_options *opt)
{
	char auth[SMS_MEDIA_AUTH_MAX];
	struct dl_options o;
	int rc = sms_media_auth(opt, auth, sizeof(auth));

	if (rc != GW_OK)
		goto out;
	o = (struct dl_options){
		.dir = opt->dir,
		.max_bytes = opt->max_bytes,
		.limit_key = "media_max_bytes",
		.provider = "Twilio",
		.budget_ms = SMS_MEDIA_BUDGET_MS,
		.auth_header = auth,
		.log_module = opt->log_module ? opt->log_module : "sms",
		.source = {.wants = sms_media_wants, .resolve = sms_media_resolve, .arg = me},
		.list_size = sizeof(struct sms_media_list),
		.list_clear = sms_media_list_clear,
		.notify = opt->notify,
		.arg = opt->arg,
	};
	rc = dl_create(&o, &me->dl);
out:
	OPENSSL_cleanse(auth, sizeof(auth));
	return rc;
}

int sms_media_create(const struct sms_media_options *opt, struct sms_media **out)
{
	struct sms_media *me = calloc(1, sizeof(*me));
	size_t blen;
	int rc = me ? GW_OK : GW_ENOMEM;

	*out = NULL;
	if (rc == GW_OK && !(me->api_base = gw_strdup(opt->api_base ? opt->api_base : "")))
		rc = GW_ENOMEM;
	if (rc == GW_OK) {
		blen = strlen(me->api_base);
		while (blen > 0 && me->api_base[blen - 1] == '/')
			me->api_base[--blen] = '\0';
		rc = sms_media_start(me, opt);
	}
	if (rc != GW_OK) {
		sms_media_destroy(me);
		return rc;
	}
	*out = me;
	return GW_OK;
}

void sms_media_destroy(struct sms_media *m)
{
	if (!m)
		return;
	dl_destroy(m->dl);
	free(m->api_base);
	free(m);
}

size_t sms_media_wanted(const struct sms_media *m, const struct sms_parsed *p)
{
	if (!m || p->what != SMS_WH_MESSAGE)
		return 0;
	return dl_wanted(m->dl, &p->ev, 1);
}

int sms_media_submit(struct sms_media *m, uint64_t ticket, struct sms_parsed *p)
{
	struct sms_media_list l = {malloc(sizeof(*l.ev))};
	int rc;

	if (!l.ev)
		return GW_ENOMEM;
	*l.ev = p->ev; /* moved: the job owns it on GW_OK */
	rc = dl_submit(m->dl, ticket, &l, l.ev, 1);
	if (rc != GW_OK) {
		free(l.ev);
		return rc;
	}
	memset(p, 0, sizeof(*p));
	return GW_OK;
}

int sms_media_take_done(struct sms_media *m, uint64_t *ticket, struct sms_parsed *p)
{
	struct sms_media_list l;

	if (!dl_take_done(m->dl, ticket, &l))
		return 0;
	memset(p, 0, sizeof(*p));
	p->what = SMS_WH_MESSAGE;
	p->ev = *l.ev;
	free(l.ev);
	return 1;
}

void sms_media_count(const struct sms_media *m, uint64_t *stored, uint64_t *failed)
{
	struct dl_stats st;

	dl_stats(m ? m->dl : NULL, &st);
	*stored = st.stored;
	*failed = st.failed;
}

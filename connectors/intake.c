/*
 * intake.c - limits, holds, kept bodies and reingest for every channel
 * (intake.h).
 *
 * A sender is SHA-256(channel NUL account NUL from.address), cut to
 * LIMITS_ID_LEN bytes; what a message says is a 64-bit FNV-1a digest of its
 * text and its attachments' refs, so that the same auto-reply repeated is
 * seen as such whatever its id.
 *
 * Reingest requests are files, as for the email quarantine
 * (store/quarantine.h): `gatewayctl quarantine reingest <instance>/<N>`
 * writes <spool>/reingest/<N>.request; intake_poll takes it, serves it and
 * answers in <N>.done (the files: store/spool_reingest.h) with result
 * "released" (a held message, now queued as if it arrived now), "ingested"
 * (a body that now makes events), "quarantined" (it still does not: the
 * new reason is kept) or "error".
 */
#include "connectors/intake.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "connectors/outbox.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/proto.h"
#include "store/spool_quarantine.h"
#include "store/spool_reingest.h"

#define INTAKE_CAPTURE_MAX 256      /* events one reingested body may make */
#define INTAKE_POLL_MAX 16          /* requests served per poll */
#define INTAKE_FULL_LOG_MS 60000    /* a full quarantine is logged this often */

struct intake {
	struct connector_instance *inst;
	struct limits_settings set;
	struct limits *lim;
	intake_reingest_fn reingest;
	char dir[4096]; /* <state_dir>/spool/<instance>/reingest */
	int capturing;  /* a reingest runs: intake_add collects into `cap` */
	struct outbox_blob cap[INTAKE_CAPTURE_MAX];
	size_t ncap;
	int cap_overflow;
	int64_t full_logged_ms;
	int not_kept; /* the last intake_put found the quarantine full */
	const char *reingest_ext; /* during a reingest: its record's external_id */
};

/* ---- settings ------------------------------------------------------------ */

/* intake_setting - an integer key of the instance's table, else `def`. */
static long long intake_setting(const struct gw_connector_conf *conf, const char *key,
				long long def)
{
	const struct conf_section *sec = conf->section;

	if (!sec || !conf->settings)
		return def;
	for (size_t i = 0; i < sec->n_entries; i++) {
		const struct conf_entry *e = &sec->entries[i];

		if (e->kind == CONF_INT && strcmp(e->key, key) == 0) {
			long long v;

			memcpy(&v, (const char *)conf->settings + e->offset, sizeof(v));
			return v;
		}
	}
	return def;
}

static void intake_read_settings(const struct gw_connector_conf *c, struct limits_settings *s)
{
	s->sender_per_minute = intake_setting(c, "sender_rate_per_minute",
					      LIMITS_DEF_SENDER_PER_MINUTE);
	s->sender_burst = intake_setting(c, "sender_burst", LIMITS_DEF_SENDER_BURST);
	s->senders_max = intake_setting(c, "sender_tracked_max", LIMITS_DEF_SENDERS_MAX);
	s->loop_repeats = intake_setting(c, "loop_repeats", LIMITS_DEF_LOOP_REPEATS);
	s->loop_window_s = intake_setting(c, "loop_window_s", LIMITS_DEF_LOOP_WINDOW_S);
	s->automated_per_hour = intake_setting(c, "automated_rate_per_hour",
					       LIMITS_DEF_AUTOMATED_PER_HOUR);
	s->automated_burst = intake_setting(c, "automated_burst", LIMITS_DEF_AUTOMATED_BURST);
	s->quarantine_max = intake_setting(c, "quarantine_max_entries",
					   LIMITS_DEF_QUARANTINE_MAX);
	s->quarantine_max_mb = intake_setting(c, "quarantine_max_mb",
					      LIMITS_DEF_QUARANTINE_MAX_MB);
}

int intake_create(struct connector_instance *inst, const char *state_dir,
		  intake_reingest_fn reingest, struct intake **out)
{
	struct intake *in = calloc(1, sizeof(*in));
	int rc, n;

	*out = NULL;
	if (!in)
		return GW_ENOMEM;
	in->inst = inst;
	in->reingest = reingest;
	intake_read_settings(inst->conf, &in->set);
	n = snprintf(in->dir, sizeof(in->dir), "%s/spool/%s/reingest", state_dir,
		     inst->conf->name);
	rc = n < 0 || (size_t)n >= sizeof(in->dir) ? GW_EINVAL : GW_OK;
	if (rc == GW_OK)
		rc = gw_mkdir_p(in->dir);
	if (rc == GW_OK)
		rc = limits_create(&in->set, &in->lim);
	if (rc != GW_OK) {
		intake_destroy(in);
		return rc;
	}
	*out = in;
	return GW_OK;
}

static void intake_cap_clear(struct intake *in)
{
	for (size_t i = 0; i < in->ncap; i++)
		free((void *)in->cap[i].data);
	in->ncap = 0;
	in->cap_overflow = 0;
}

void intake_destroy(struct intake *in)
{
	if (!in)
		return;
	intake_cap_clear(in);
	limits_destroy(in->lim);
	free(in);
}

/* ---- the limits ---------------------------------------------------------- */

static void intake_sender(const struct proto_message *m, unsigned char id[LIMITS_ID_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	const char *parts[3] = {m->channel, m->account, m->from.address};

	memset(id, 0, LIMITS_ID_LEN);
	if (!c)
		return;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1) {
		for (size_t i = 0; i < 3; i++)
			EVP_DigestUpdate(c, parts[i] ? parts[i] : "", parts[i] ? strlen(parts[i]) + 1 : 1);
		if (EVP_DigestFinal_ex(c, md, &mdlen) == 1 && mdlen >= LIMITS_ID_LEN)
			memcpy(id, md, LIMITS_ID_LEN);
	}
	EVP_MD_CTX_free(c);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h * 1099511628211ull; /* a separator */
}

static uint64_t intake_content(const struct proto_message *m)
{
	uint64_t h = fnv1a(14695981039346656037ull, m->text);

	for (size_t i = 0; i < m->attachments_len; i++)
		h = fnv1a(h, m->attachments[i].ref);
	return h;
}

enum limits_verdict intake_check(struct connector_instance *inst, const struct proto_event *ev,
				 int64_t *retry_ms)
{
	const struct proto_message *m = &ev->u.message;
	struct intake *in = inst->intake;
	struct limits_msg lm;
	enum limits_verdict v;

	if (retry_ms)
		*retry_ms = 0;
	if (!in || in->capturing || ev->type != PROTO_T_MESSAGE_RECEIVED)
		return LIMITS_PASS;
	intake_sender(m, lm.sender);
	lm.content = intake_content(m);
	lm.automated = m->auto_reply || m->bounce;
	v = limits_check(in->lim, &lm, gw_mono_us() / 1000, retry_ms);
	if (v == LIMITS_RATE)
		in->inst->stats.rate_limited++;
	else if (v != LIMITS_PASS)
		in->inst->stats.loops++;
	return v;
}

/* ---- the quarantine ------------------------------------------------------ */

/* intake_room - whether a record of `len` bytes fits in the quarantine;
 * when not, it is counted and logged (once a minute). */
static int intake_room(struct intake *in, size_t len, const char *what)
{
	struct outbox_stats st;
	int64_t now = gw_now_ms();

	outbox_get_stats(in->inst->outbox, &st);
	if (st.quarantined + 1 <= (uint64_t)in->set.quarantine_max &&
	    st.quarantine_bytes + len <= (uint64_t)in->set.quarantine_max_mb * 1024u * 1024u)
		return 1;
	in->inst->stats.quarantine_full++;
	if (now - in->full_logged_ms >= INTAKE_FULL_LOG_MS) {
		GW_ERROR(in->inst->log_module, "the quarantine is full (%" PRIu64 " entries, %" PRIu64
			 " bytes; quarantine_max_entries %lld, quarantine_max_mb %lld): %s not "
			 "kept (%" PRIu64 " so far); list and reingest or raise the bounds",
			 st.quarantined, st.quarantine_bytes, in->set.quarantine_max,
			 in->set.quarantine_max_mb, what, in->inst->stats.quarantine_full);
		in->full_logged_ms = now;
	}
	return 0;
}

/* intake_put - encodes `r` and queues it for the next commit. */
static int intake_put(struct intake *in, const struct spoolq_rec *r, const char *what)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = spoolq_encode(r, &buf, &len);

	in->not_kept = 0;
	if (rc == GW_OK && !intake_room(in, len, what)) {
		in->not_kept = 1;
		free(buf);
		return GW_OK;
	}
	if (rc == GW_OK)
		rc = outbox_add_quarantine(in->inst->outbox, buf, len);
	free(buf);
	return rc;
}

static void intake_rec_init(struct intake *in, struct spoolq_rec *r, enum spoolq_kind kind,
			    const char *reason)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->at = gw_now_ms();
	snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
	snprintf(r->channel, sizeof(r->channel), "%s", in->inst->conf->type);
}

int intake_keep(struct connector_instance *inst, const char *reason, const char *content_type,
		const void *body, size_t len)
{
	return intake_keep_about(inst, reason, content_type, NULL, body, len);
}

const char *intake_reingest_external_id(const struct connector_instance *inst)
{
	const struct intake *in = inst->intake;

	return in && in->capturing && in->reingest_ext ? in->reingest_ext : "";
}

int intake_keep_about(struct connector_instance *inst, const char *reason,
		      const char *content_type, const char *external_id, const void *body,
		      size_t len)
{
	struct intake *in = inst->intake;
	struct spoolq_rec r;
	int rc;

	if (!in || in->capturing)
		return GW_OK; /* a reingest keeps its own entry */
	intake_rec_init(in, &r, SPOOLQ_BODY, reason);
	snprintf(r.content_type, sizeof(r.content_type), "%s", content_type ? content_type : "");
	snprintf(r.external_id, sizeof(r.external_id), "%s", external_id ? external_id : "");
	r.data = body;
	r.len = len;
	rc = intake_put(in, &r, "an unreadable input");
	if (rc == GW_OK && in->not_kept)
		rc = GW_EFULL;
	else if (rc == GW_OK)
		in->inst->stats.kept++;
	else if (rc == GW_ETOOBIG)
		GW_WARN(in->inst->log_module, "an unreadable input of %zu bytes is too large to be "
			"kept", len);
	return rc;
}

/* intake_reason - why a message of `v` is held, into `buf`. */
static void intake_reason(const struct intake *in, enum limits_verdict v, char *buf,
			  size_t size)
{
	const struct limits_settings *s = &in->set;

	if (v == LIMITS_RATE)
		snprintf(buf, size, "rate_limited: the sender is over %lld messages a minute "
			 "(burst %lld)", s->sender_per_minute, s->sender_burst);
	else if (v == LIMITS_LOOP)
		snprintf(buf, size, "loop: the same message more than %lld times in %lld s",
			 s->loop_repeats, s->loop_window_s);
	else
		snprintf(buf, size, "automated: the sender's auto-replies are over %lld an hour",
			 s->automated_per_hour);
}

/* intake_hold - `ev`, encoded as `buf`, kept as a held message. */
static int intake_hold(struct intake *in, const struct proto_event *ev, enum limits_verdict v,
		       const char *buf, size_t len)
{
	const struct proto_message *m = &ev->u.message;
	struct spoolq_rec r;
	char why[INTAKE_REASON_MAX];
	int rc;

	intake_reason(in, v, why, sizeof(why));
	intake_rec_init(in, &r, SPOOLQ_HELD, why);
	snprintf(r.channel, sizeof(r.channel), "%s", m->channel ? m->channel : "");
	snprintf(r.sender, sizeof(r.sender), "%s", m->from.address ? m->from.address : "");
	snprintf(r.external_id, sizeof(r.external_id), "%s", m->external_id ? m->external_id : "");
	snprintf(r.content_type, sizeof(r.content_type), "%s", SPOOLQ_EVENT_TYPE);
	r.data = buf;
	r.len = len;
	rc = intake_put(in, &r, "a held message");
	if (rc == GW_OK && in->not_kept)
		return GW_EFULL; /* not kept: the provider is told to retry */
	if (rc == GW_OK) {
		in->inst->stats.held++;
		GW_INFO(in->inst->log_module, "message %s held: %s", r.external_id,
			limits_verdict_name(v));
	}
	return rc;
}

/* intake_capture - a reingest's event, kept for its transaction. */
static int intake_capture(struct intake *in, char *buf, size_t len)
{
	if (in->ncap >= INTAKE_CAPTURE_MAX) {
		in->cap_overflow = 1;
		free(buf);
		return GW_EFULL;
	}
	in->cap[in->ncap].data = buf;
	in->cap[in->ncap].len = len;
	in->ncap++;
	return GW_OK;
}

int intake_add(struct connector_instance *inst, const struct proto_event *ev,
	       struct proto_error *err, int *held)
{
	struct intake *in = inst->intake;
	enum limits_verdict v;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (held)
		*held = 0;
	if (err)
		memset(err, 0, sizeof(*err));
	rc = proto_encode(ev, &buf, &len, err);
	if (rc != GW_OK)
		return rc;
	if (in && in->capturing)
		return intake_capture(in, buf, len);
	v = intake_check(inst, ev, NULL);
	if (v == LIMITS_PASS)
		rc = outbox_add(inst->outbox, buf, len);
	else
		rc = intake_hold(in, ev, v, buf, len);
	if (rc == GW_OK && held)
		*held = v != LIMITS_PASS;
	free(buf);
	return rc;
}

/* ---- reingest ------------------------------------------------------------ */

/* intake_answer - writes <N>.done (store/spool_reingest.h). */
static void intake_answer(struct intake *in, uint64_t id, const char *result, const char *reason)
{
	const char *name = in->inst->conf->name;

	if (spool_reingest_answer(in->dir, name, id, result, reason) != GW_OK)
		GW_WARN(in->inst->log_module, "cannot answer the reingest of %s/%" PRIu64, name,
			id);
	GW_INFO(in->inst->log_module, "reingest of %s/%" PRIu64 ": %s%s%s", name, id, result,
		reason && reason[0] ? ": " : "", reason ? reason : "");
}

/* intake_reparse - body record `r` (id) read again by the type. */
static void intake_reparse(struct intake *in, uint64_t id, struct spoolq_rec *r)
{
	char why[INTAKE_REASON_MAX] = "";
	char *rec = NULL;
	size_t rlen = 0;
	int rc;

	if (!in->reingest) {
		intake_answer(in, id, "error", "this channel cannot read its inputs again");
		return;
	}
	in->capturing = 1;
	in->reingest_ext = r->external_id;
	rc = in->reingest(in->inst, r->content_type, r->data, r->len, why, sizeof(why));
	in->reingest_ext = NULL;
	in->capturing = 0;
	if (rc == GW_OK && in->cap_overflow)
		snprintf(why, sizeof(why), "more than %d events", INTAKE_CAPTURE_MAX);
	if (rc == GW_OK && !in->cap_overflow) {
		rc = outbox_q_resolve(in->inst->outbox, id, NULL, 0, in->cap, in->ncap);
		snprintf(why, sizeof(why), "%zu events queued", in->ncap);
		intake_answer(in, id, rc == GW_OK ? "ingested" : "error",
			      rc == GW_OK ? why : gw_strerror(rc));
	} else {
		snprintf(r->reason, sizeof(r->reason), "%s", why[0] ? why : "unreadable");
		r->at = gw_now_ms();
		rc = spoolq_encode(r, &rec, &rlen);
		if (rc == GW_OK)
			rc = outbox_q_resolve(in->inst->outbox, id, rec, rlen, NULL, 0);
		intake_answer(in, id, rc == GW_OK ? "quarantined" : "error",
			      rc == GW_OK ? r->reason : gw_strerror(rc));
	}
	free(rec);
	intake_cap_clear(in);
}

/* intake_serve - one request: entry `id` released or read again. */
static void intake_serve(struct intake *in, uint64_t id)
{
	struct outbox_blob ev;
	struct spoolq_rec r;
	char *data = NULL;
	size_t len = 0;
	int rc = outbox_q_get(in->inst->outbox, id, &data, &len);

	if (rc == GW_OK)
		rc = spoolq_decode(data, len, &r);
	if (rc != GW_OK) {
		intake_answer(in, id, "error", rc == GW_ENOTFOUND ? "no such entry"
								  : gw_strerror(rc));
	} else if (r.kind == SPOOLQ_HELD) {
		ev.data = r.data;
		ev.len = r.len;
		rc = outbox_q_resolve(in->inst->outbox, id, NULL, 0, &ev, 1);
		intake_answer(in, id, rc == GW_OK ? "released" : "error",
			      rc == GW_OK ? "queued for the router, limits bypassed"
					  : gw_strerror(rc));
	} else {
		intake_reparse(in, id, &r);
	}
	free(data);
}

void intake_poll(struct intake *in)
{
	DIR *d;
	struct dirent *e;
	char path[4400];
	int served = 0;

	if (!in || !(d = opendir(in->dir)))
		return;
	while (served < INTAKE_POLL_MAX && (e = readdir(d)) != NULL) {
		uint64_t id = spool_reingest_request_id(e->d_name);

		if (!id)
			continue;
		snprintf(path, sizeof(path), "%s/%s", in->dir, e->d_name);
		if (unlink(path) != 0)
			continue; /* served once only */
		intake_serve(in, id);
		served++;
	}
	closedir(d);
}

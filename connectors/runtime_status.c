/*
 * runtime_status.c - the stop flag and the status file of the one connector
 * instance this process runs (see runtime.h).
 */
#include "connectors/runtime.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "connectors/intake.h"
#include "connectors/outbox.h"
#include "connectors/provider_calls.h"
#include "connectors/sender.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

/* Writes at most this often from connector_status_tick(). */
#define STATUS_PERIOD_US 1000000

static volatile sig_atomic_t stop_requested;

/* Per process: gateway-connector runs one instance. */
static struct {
	char path[4096];
	int64_t started_at; /* ms since the epoch */
	int64_t last_us;    /* gw_mono_us() of the last write attempt */
	int failing;        /* a failure was logged; log again only after a success */
} status;

void connector_request_stop(void)
{
	stop_requested = 1;
}

int connector_stopping(void)
{
	return stop_requested != 0;
}

int connector_status_init(const struct connector_instance *inst, const char *state_dir)
{
	int n = snprintf(status.path, sizeof(status.path), "%s/run/%s.json", state_dir,
			 inst->conf->name);

	if (n < 0 || (size_t)n >= sizeof(status.path)) {
		status.path[0] = '\0';
		return GW_EINVAL;
	}
	status.started_at = gw_now_ms();
	status.last_us = 0;
	status.failing = 0;
	return GW_OK;
}

static json_t *status_outbox_json(const struct outbox *ob)
{
	struct outbox_stats st;

	memset(&st, 0, sizeof(st));
	if (ob)
		outbox_get_stats(ob, &st);
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			 "spooled", (json_int_t)st.spooled, "queued", (json_int_t)st.queued,
			 "committed", (json_int_t)st.committed, "acked", (json_int_t)st.acked,
			 "duplicates", (json_int_t)st.duplicates,
			 "rejected", (json_int_t)st.rejected, "resent", (json_int_t)st.resent);
}

/* status_replies - the sender's counters, and why the provider refuses the
 * credentials when it does, or why the instance sends none ("send_error"
 * in the document). */
static int status_replies(struct sender *snd, json_t *doc)
{
	struct sender_stats st;
	json_t *r;

	if (!snd)
		return 0;
	sender_stats(snd, &st);
	r = json_pack("{s:I,s:I,s:I,s:I,s:I}", "sent", (json_int_t)st.sent,
		      "failed", (json_int_t)st.failed, "retried", (json_int_t)st.retried,
		      "journaled", (json_int_t)st.journaled, "queued", (json_int_t)st.queued);
	if (!r || json_object_set_new(json_object_get(doc, "counters"), "replies", r) != 0)
		return -1;
	/* Read by gateway-metrics (docs/operations.md, "Metrics"). */
	r = json_pack("{s:o*}", "reply_seconds", gw_histo_json(&st.latency));
	if (!r || json_object_set_new(doc, "histograms", r) != 0)
		return -1;
	if (st.auth_error[0] && json_object_set_new(doc, "send_error",
						    json_string(st.auth_error)) != 0)
		return -1;
	return 0;
}

/* status_calls - the time of the calls to the provider on the way in
 * ("provider_call_seconds" in "histograms", connectors/provider_calls.h),
 * read by gateway-metrics. */
static int status_calls(json_t *doc)
{
	json_t *h = json_object_get(doc, "histograms");

	if (!h) {
		h = json_object();
		if (!h || json_object_set_new(doc, "histograms", h) != 0)
			return -1;
	}
	return json_object_set_new(h, "provider_call_seconds", provider_calls_json());
}

/* status_limits - the counters of connectors/intake.h into "counters". */
static int status_limits(const struct connector_instance *inst, json_t *doc)
{
	const struct connector_stats *s = &inst->stats;
	struct outbox_stats st;
	json_t *c = json_object_get(doc, "counters");

	memset(&st, 0, sizeof(st));
	if (inst->outbox)
		outbox_get_stats(inst->outbox, &st);
	/* rate_limited is in the document already (shared with the listener's
	 * per-address bucket, status_json). */
	return json_object_set_new(c, "held", json_integer((json_int_t)s->held)) ||
	       json_object_set_new(c, "loops", json_integer((json_int_t)s->loops)) ||
	       json_object_set_new(c, "kept", json_integer((json_int_t)s->kept)) ||
	       json_object_set_new(c, "quarantine_full",
				   json_integer((json_int_t)s->quarantine_full)) ||
	       json_object_set_new(c, "quarantined", json_integer((json_int_t)st.quarantined));
}

/* status_own - the type's own counters ("<type>" in "counters") and its
 * warning, when it has them. */
static int status_own(const struct connector_instance *inst, json_t *doc)
{
	json_t *own = json_object(), *w;
	int rc = own ? 0 : -1;

	for (size_t i = 0; rc == 0 && i < CONNECTOR_COUNTERS_MAX; i++)
		if (inst->counters[i].name)
			rc = json_object_set_new(own, inst->counters[i].name,
						 json_integer((json_int_t)inst->counters[i].value));
	if (rc == 0 && json_object_size(own) > 0)
		rc = json_object_set(json_object_get(doc, "counters"), inst->conf->type, own);
	json_decref(own);
	/* A warning that is not UTF-8 (a provider's words cut badly) is left
	 * out rather than failing the whole file. */
	w = inst->warning[0] ? json_string(inst->warning) : NULL;
	if (rc == 0 && w)
		rc = json_object_set_new(doc, "warning", w);
	else
		json_decref(w);
	return rc;
}

static json_t *status_json(const struct connector_instance *inst)
{
	const struct connector_stats *s = &inst->stats;
	json_t *outbox = status_outbox_json(inst->outbox), *doc;

	if (!outbox)
		return NULL;
	/* "o" steals the reference to `outbox`, also when packing fails. */
	doc = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}}",
			 "process", "connector", "name", inst->conf->name,
			 "type", inst->conf->type, "pid", (json_int_t)getpid(),
			 "started_at", (json_int_t)status.started_at,
			 "updated_at", (json_int_t)gw_now_ms(), "counters",
			 "requests", (json_int_t)s->requests, "accepted", (json_int_t)s->accepted,
			 "rejected", (json_int_t)s->rejected, "failed", (json_int_t)s->failed,
			 "unreadable", (json_int_t)s->unreadable, "dropped", (json_int_t)s->dropped,
			 "rate_limited", (json_int_t)s->rate_limited,
			 "conn_refused", (json_int_t)s->conn_refused, "outbox", outbox);
	if (doc && status_limits(inst, doc) != 0) {
		json_decref(doc);
		return NULL;
	}
	if (doc && inst->replies_off && inst->replies_off[0] &&
	    json_object_set_new(doc, "replies_off", json_string(inst->replies_off)) != 0) {
		json_decref(doc);
		return NULL;
	}
	if (doc && (status_replies(inst->sender, doc) != 0 || status_calls(doc) != 0 ||
		    status_own(inst, doc) != 0)) {
		json_decref(doc);
		doc = NULL;
	}
	return doc;
}

int connector_status_write(struct connector_instance *inst)
{
	json_t *doc = NULL;
	char *text = NULL;
	int rc = GW_ENOMEM;

	status.last_us = gw_mono_us();
	if (!status.path[0])
		return GW_EINVAL;
	doc = status_json(inst);
	if (doc)
		text = json_dumps(doc, JSON_COMPACT);
	if (text)
		rc = gw_write_file_atomic(status.path, text, strlen(text));
	if (rc != GW_OK && !status.failing)
		GW_WARN(inst->log_module, "cannot write the status file %s: %s", status.path,
			gw_err_text(rc));
	status.failing = rc != GW_OK;
	free(text);
	json_decref(doc);
	return rc;
}

void connector_status_tick(struct connector_instance *inst)
{
	if (gw_mono_us() - status.last_us >= STATUS_PERIOD_US) {
		intake_poll(inst->intake);
		connector_status_write(inst);
	}
}

void connector_status_remove(void)
{
	if (status.path[0])
		unlink(status.path);
}

/*
 * ctl_webhooks.c - `gatewayctl webhooks status|pause|resume|rewind`: the
 * durable cursors of gateway-integration's webhook subscriptions
 * (store/integration.h, <state_dir>/integration/). The cursor table is
 * read and written directly (LMDB lets two processes share it); the worker
 * of a subscription sees a change at its next step, and within half a
 * second while it waits to retry. No HTTP library is needed here.
 */
#include "gateway/ctl/ctl.h"

#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "core/config.h"
#include "core/err.h"
#include "store/integration.h"

/* wh_head - the router's head seq, or 0 when it does not answer. */
static uint64_t wh_head(struct ctl *ctl)
{
	struct ctl_reply r = {0};
	json_t *j;
	uint64_t head = 0;
	long saved = ctl->timeout_ms;

	ctl->timeout_ms = saved > 2000 ? 2000 : saved;
	if (ctl->command && ctl_request(ctl, "status", "\x80", 1, &r) == CTL_EXIT_OK) {
		j = ctl_frame_json(&r, 1);
		head = (uint64_t)json_integer_value(json_object_get(j, "head_seq"));
		json_decref(j);
	}
	ctl_reply_free(&r);
	ctl->timeout_ms = saved;
	return head;
}

static json_t *wh_row(const char *name, const struct integ_cursor *c, uint64_t head)
{
	return json_pack("{sssIsIsbsIsIsIss}", "name", name, "cursor", (json_int_t)c->seq,
			 "pending", (json_int_t)(head > c->seq ? head - c->seq : 0), "paused",
			 c->paused, "delivered", (json_int_t)c->delivered, "failures",
			 (json_int_t)c->failures, "updated_at", (json_int_t)c->updated_at,
			 "last_error", c->last_error);
}

static int wh_status(struct ctl *ctl, struct integ_db *db)
{
	const struct gw_config_integration *in = ctl->integ;
	uint64_t head = wh_head(ctl);
	struct integ_cursor c;

	if (!ctl->json)
		printf("%-24s %10s %10s %8s %10s %8s  %s\n", "SUBSCRIPTION", "CURSOR", "PENDING",
		       "STATE", "DELIVERED", "FAILURES", "LAST ERROR");
	for (size_t i = 0; i < in->n_webhooks; i++) {
		const char *name = in->webhooks[i].name;
		json_t *row;

		if (integ_cursor_get(db, name, &c) != GW_OK)
			return CTL_EXIT_ERROR;
		row = wh_row(name, &c, head);
		if (ctl->json) {
			char *t = json_dumps(row, JSON_COMPACT);

			if (t)
				puts(t);
			free(t);
		} else {
			printf("%-24s %10llu %10llu %8s %10llu %8llu  %s\n", name,
			       (unsigned long long)c.seq,
			       (unsigned long long)json_integer_value(json_object_get(row, "pending")),
			       c.paused ? "paused" : "running", (unsigned long long)c.delivered,
			       (unsigned long long)c.failures, c.last_error);
		}
		json_decref(row);
	}
	return CTL_EXIT_OK;
}

static int wh_known(const struct gw_config_integration *in, const char *name)
{
	for (size_t i = 0; name && i < in->n_webhooks; i++)
		if (strcmp(in->webhooks[i].name, name) == 0)
			return 1;
	return 0;
}

/* wh_control - pause, resume or rewind one subscription. */
static int wh_control(struct ctl *ctl, struct integ_db *db)
{
	const char *sub = ctl->q_sub, *name = ctl->q_arg;
	unsigned long long seq = 0;
	char *end = NULL;
	int rewind = strcmp(sub, "rewind") == 0;

	if (!wh_known(ctl->integ, name)) {
		fprintf(stderr, "gatewayctl: %s: no webhook subscription named '%s' in the config\n",
			sub, name ? name : "");
		return name ? CTL_EXIT_NOTFOUND : CTL_EXIT_USAGE;
	}
	if (rewind && ctl->q_arg2)
		seq = strtoull(ctl->q_arg2, &end, 10);
	if (rewind && (!ctl->q_arg2 || *end || seq == 0)) {
		fprintf(stderr, "gatewayctl: webhooks rewind SUB SEQ: SEQ is a seq from 1\n");
		return CTL_EXIT_USAGE;
	}
	if (!rewind && ctl->q_arg2) {
		fprintf(stderr, "gatewayctl: webhooks %s takes one SUB\n", sub);
		return CTL_EXIT_USAGE;
	}
	if (integ_cursor_control(db, name, rewind ? -1 : strcmp(sub, "pause") == 0,
				 rewind ? seq : 0) != GW_OK)
		return CTL_EXIT_ERROR;
	if (rewind)
		printf("%s: the next event delivered is seq %llu\n", name, seq);
	else
		printf("%s: %s\n", name, strcmp(sub, "pause") == 0 ? "paused" : "running");
	return CTL_EXIT_OK;
}

int ctl_cmd_webhooks(struct ctl *ctl)
{
	struct integ_db *db = NULL;
	int rc;

	if (!ctl->integ || !ctl->integ->present) {
		fprintf(stderr, "gatewayctl: the config has no integration section\n");
		return CTL_EXIT_CONFIG;
	}
	if (strcmp(ctl->q_sub, "status") != 0 && strcmp(ctl->q_sub, "pause") != 0 &&
	    strcmp(ctl->q_sub, "resume") != 0 && strcmp(ctl->q_sub, "rewind") != 0) {
		fprintf(stderr, "gatewayctl: webhooks status|pause SUB|resume SUB|rewind SUB SEQ\n");
		return CTL_EXIT_USAGE;
	}
	if (integ_db_open(ctl->state_dir, ctl->integ->map_size_mb, &db) != GW_OK) {
		fprintf(stderr, "gatewayctl: cannot open %s/integration (run as the gateway's "
			"user)\n", ctl->state_dir);
		return CTL_EXIT_ERROR;
	}
	if (strcmp(ctl->q_sub, "status") == 0)
		rc = ctl->q_arg ? CTL_EXIT_USAGE : wh_status(ctl, db);
	else
		rc = wh_control(ctl, db);
	integ_db_close(db);
	return rc;
}

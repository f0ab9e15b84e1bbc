/*
 * lc_avail.c - whether the chat's queue can answer now, shown by the widget
 * before the visitor writes (docs/channels/livechat.md, "Away and closed").
 *
 * The router writes every queue's state into run/router.json ("queues",
 * router/rules/availability.c) every second; this file reads it at most
 * once a second from the service loop and, when the state of the chat's
 * queue (`queue`, else routing.default_queue) changed, sends every welcomed
 * socket {"type":"availability","state","text"}: the text of away_text or
 * closed_text in the socket's language, null when available. A file that is
 * missing, unreadable or not updated for LC_AVAIL_STALE_MS (the router is
 * down) leaves the state unknown: nothing is claimed, and the widget shows
 * no notice. Messages are taken whatever the state.
 *
 * Threading: the service thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "connectors/livechat/livechat_int.h"
#include "core/err.h"
#include "core/util.h"

#define LC_AVAIL_PERIOD_US 1000000LL
#define LC_AVAIL_STALE_MS 10000
#define LC_AVAIL_FILE_MAX (1 << 20)
#define LC_AVAIL_TEXT_MAX 1024

/* The state of the chat's queue in the router's status, "" when unknown. */
static void lc_avail_read(struct livechat *lc, char *state, size_t len)
{
	const char *queue = lc->set->queue && lc->set->queue[0] ? lc->set->queue
				  : lc->inst->config->routing.default_queue;
	char path[4200], *text = NULL;
	size_t n = 0;
	json_t *o = NULL;
	const char *s;

	state[0] = '\0';
	snprintf(path, sizeof(path), "%s/run/router.json", lc->inst->config->state_dir);
	if (!queue || gw_read_file(path, LC_AVAIL_FILE_MAX, &text, &n) != GW_OK)
		return;
	o = json_loadb(text, n, 0, NULL);
	free(text);
	if (json_integer_value(json_object_get(o, "updated_at")) + LC_AVAIL_STALE_MS >= gw_now_ms()) {
		s = json_string_value(json_object_get(
			json_object_get(json_object_get(o, "queues"), queue), "state"));
		if (s)
			snprintf(state, len, "%s", s);
	}
	json_decref(o);
}

void lc_avail_send(struct lc_conn *c)
{
	struct livechat *lc = c->lc;
	const char *list = NULL;
	char text[LC_AVAIL_TEXT_MAX];
	json_t *o;
	char *s;

	if (!lc->avail[0])
		return;
	if (strcmp(lc->avail, "away") == 0)
		list = lc->set->away_text;
	else if (strcmp(lc->avail, "closed") == 0)
		list = lc->set->closed_text;
	if (!list || lc_text_for(list, c->lang, text, sizeof(text)) != GW_OK)
		text[0] = '\0';
	o = json_pack("{s:s,s:s,s:s?}", "type", "availability", "state", lc->avail, "text",
		      text[0] ? text : NULL);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (s)
		lc_send(c, s, strlen(s));
	free(s);
	json_decref(o);
}

void lc_avail_tick(struct livechat *lc)
{
	int64_t now = gw_mono_us();
	char state[sizeof(lc->avail)];

	if (now < lc->avail_next_us)
		return;
	lc->avail_next_us = now + LC_AVAIL_PERIOD_US;
	lc_avail_read(lc, state, sizeof(state));
	if (strcmp(state, lc->avail) == 0)
		return;
	snprintf(lc->avail, sizeof(lc->avail), "%s", state);
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&lc->conns)) {
		lc_avail_send(lws_container_of(d, struct lc_conn, node));
	} lws_end_foreach_dll(d);
}

/*
 * livechat.c - the `livechat` connector type: one libwebsockets context
 * serving the widget's files (web_dir, "/" is the demo page) and the
 * websocket protocol "gateway-chat" at /chat (docs/channels/livechat.md).
 *
 * This file holds the server and the websocket life cycle: the
 * reassembly of fragmented frames bounded by max_message_bytes, and the
 * writing of queued frames. The checks of every connection, request and
 * handshake (limits per address, path, subprotocol, Origin) are
 * lc_http.c's; what a frame means is lc_flow.c's; the config table is
 * livechat_config.c's.
 *
 * Threading: everything runs on the thread that calls run(), except the
 * group commit's disk work (connectors/commit.h: the spool, then the
 * conversation log, on the outbox's commit thread).
 */
#include "connectors/livechat/livechat.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/livechat/livechat_int.h"
#include "connectors/outbox.h"
#include "connectors/runtime.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#ifndef LIVECHAT_WEB_DIR            /* the source tree's web/ (CMake) */
#define LIVECHAT_WEB_DIR "/usr/share/omnigate/livechat"
#endif
#ifndef LIVECHAT_WEB_DIR_INSTALLED  /* relative to the program's folder (CMake) */
#define LIVECHAT_WEB_DIR_INSTALLED "../share/omnigate/livechat"
#endif

#define LC_TICK_US 5000           /* outbox_pump() and status period */
#define LC_PATH_CHAT "/chat"
#define LC_PROTOCOL "gateway-chat"
#define LC_SERV_BUF 16384         /* lws read size */
#define LC_FRAME_OVERHEAD 1024    /* JSON around the text of a message frame */

#define lc_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* lws logs carry no context: they go to the module of the one instance. */
static char lc_lws_module[96] = "livechat";

static void lc_lws_log(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	gw_log(level & LLL_ERR ? GW_LOG_ERROR : GW_LOG_WARN, lc_lws_module, "lws: %.*s",
	       (int)n, line);
}

/* ---- the websocket ------------------------------------------------------------ */

/*
 * LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION of "gateway-chat": the handshake
 * passed lc_http.c's checks (path, subprotocol, Origin, the limits per
 * address); the socket is set up here.
 */
static int lc_filter(struct livechat *lc, struct lc_conn *c, struct lws *wsi)
{
	memset(c, 0, sizeof(*c));
	c->wsi = wsi;
	snprintf(c->ip, sizeof(c->ip), "%s", listen_guard_peer(wsi));
	c->lc = lc; /* from here on, closing it releases what it holds */
	lc->n_conns++;
	return 0;
}

/* ---- visitors (rate limit state shared by their sockets) -------------------- */

static unsigned lc_visitor_hash(const char *v)
{
	unsigned h = 2166136261u; /* FNV-1a; the ids are random already */

	for (; *v; v++)
		h = (h ^ (unsigned char)*v) * 16777619u;
	return h % LC_VISITOR_BUCKETS;
}

struct lc_visitor *lc_visitor_take(struct livechat *lc, const char *visitor)
{
	struct lc_visitor **b = &lc->visitors[lc_visitor_hash(visitor)], *v;

	for (v = *b; v; v = v->next)
		if (strcmp(v->visitor, visitor) == 0) {
			v->refs++;
			return v;
		}
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	snprintf(v->visitor, sizeof(v->visitor), "%s", visitor);
	v->refs = 1;
	v->tokens = (double)lc->set->messages_burst;
	v->refill_us = gw_mono_us();
	v->next = *b;
	*b = v;
	return v;
}

/* Drops a reference; the last one frees it (a new socket starts a full bucket). */
static void lc_visitor_release(struct livechat *lc, struct lc_visitor *v)
{
	struct lc_visitor **p;

	if (!v || --v->refs > 0)
		return;
	for (p = &lc->visitors[lc_visitor_hash(v->visitor)]; *p; p = &(*p)->next)
		if (*p == v) {
			*p = v->next;
			break;
		}
	free(v);
}

/* ---- frames in and out ------------------------------------------------------- */

static size_t lc_frame_max(const struct livechat *lc)
{
	/* JSON escapes a byte into at most 6 (\u00XX). */
	return (size_t)lc->set->max_message_bytes * 6 + LC_FRAME_OVERHEAD;
}

/* A fragment of a text frame: reassembled, bounded, then handled. */
static void lc_on_receive(struct lc_conn *c, const char *in, size_t len)
{
	struct lws *wsi = c->wsi;
	int final = lws_is_final_fragment(wsi);

	if (lws_frame_is_binary(wsi)) {
		c->rx_drop = 1;
	} else if (!c->rx_drop) {
		if (c->rx_len + len > lc_frame_max(c->lc)) {
			c->rx_drop = 1;
		} else {
			if (c->rx_len + len + 1 > c->rx_max) {
				size_t want = c->rx_len + len + 1;
				char *p = realloc(c->rx, want);

				if (!p) {
					c->rx_drop = 1;
					goto done;
				}
				c->rx = p;
				c->rx_max = want;
			}
			memcpy(c->rx + c->rx_len, in, len);
			c->rx_len += len;
		}
	}
done:
	if (!final)
		return;
	if (c->rx_drop) {
		c->errors++;
		lc_send_error(c, lws_frame_is_binary(wsi) ? "bad_frame" : "too_large",
			      lws_frame_is_binary(wsi) ? "frames are JSON text"
						       : "the frame is too large");
	} else {
		lc_on_frame(c, c->rx, c->rx_len);
	}
	c->rx_len = 0;
	c->rx_drop = 0;
	if (c->errors > LC_ERRORS_MAX && !c->closing) {
		GW_WARN(c->lc->inst->log_module, "closing the websocket of %s: %u bad frames",
			c->ip, c->errors);
		c->closing = 1;
		lws_callback_on_writable(wsi);
	}
}

/* Writes the first queued frame; asks for another callback if more wait. */
static int lc_on_writable(struct lc_conn *c)
{
	struct lws_dll2 *d = lws_dll2_get_head(&c->out);
	struct lc_out *o;

	if (!d)
		return c->closing ? -1 : 0;
	o = lws_container_of(d, struct lc_out, node);
	lws_dll2_remove(d);
	c->out_n--;
	if (lws_write(c->wsi, o->buf + LWS_PRE, o->len, LWS_WRITE_TEXT) < (int)o->len) {
		free(o);
		return -1;
	}
	free(o);
	if (lws_dll2_get_head(&c->out) || c->closing)
		lws_callback_on_writable(c->wsi);
	return 0;
}

static void lc_on_closed(struct livechat *lc, struct lc_conn *c)
{
	if (!c->lc)
		return; /* refused at the handshake */
	lc_forget_conn(c);
	lc_visitor_release(lc, c->v);
	c->v = NULL;
	if (!lws_dll2_is_detached(&c->node))
		lws_dll2_remove(&c->node);
	while (lws_dll2_get_head(&c->out)) {
		struct lws_dll2 *d = lws_dll2_get_head(&c->out);

		lws_dll2_remove(d);
		free(lws_container_of(d, struct lc_out, node));
	}
	free(c->rx);
	c->rx = NULL;
	lc->n_conns--;
	c->lc = NULL;
}

static int lc_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		       void *in, size_t len)
{
	struct livechat *lc = lws_context_user(lws_get_context(wsi));
	struct lc_conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* Sent to every protocol: this one polls the group commit. */
		if (lc && lc->gc)
			(void)gcommit_poll(lc->gc);
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return lc_filter(lc, c, wsi);
	case LWS_CALLBACK_ESTABLISHED:
		lc->inst->stats.requests++;
		return 0;
	case LWS_CALLBACK_RECEIVE:
		if (c->lc)
			lc_on_receive(c, in, len);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return c->lc ? lc_on_writable(c) : -1;
	case LWS_CALLBACK_CLOSED:
	case LWS_CALLBACK_WSI_DESTROY:
		if (c)
			lc_on_closed(lc, c);
		return 0;
	default:
		return 0;
	}
}

/* ---- the server --------------------------------------------------------------- */

static void lc_tick_cb(lws_sorted_usec_list_t *sul)
{
	struct livechat *lc = lc_container_of(sul, struct livechat, tick_sul);
	int rc;

	(void)gcommit_poll(lc->gc); /* a wake is never missed for long */
	rc = outbox_pump(lc->inst->outbox);

	if (rc != GW_OK && lc->failed == GW_OK) {
		GW_ERROR(lc->inst->log_module, "outbox: %s", gw_strerror(rc));
		lc->failed = rc;
	}
	connector_status_tick(lc->inst);
	lc_avail_tick(lc);
	lws_sul_schedule(lc->lws, 0, &lc->tick_sul, lc_tick_cb, LC_TICK_US);
}

static int lc_listen(struct livechat *lc)
{
	const struct conf_listen *l = &lc->set->listen;
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	lc->protocols[0].name = "http";
	lc->protocols[0].callback = lc_http_callback;
	lc->protocols[0].per_session_data_size = sizeof(struct lc_http);
	lc->protocols[1].name = LC_PROTOCOL;
	lc->protocols[1].callback = lc_callback;
	lc->protocols[1].per_session_data_size = sizeof(struct lc_conn);
	lc->protocols[1].rx_buffer_size = 16384;
	lc->mount.mountpoint = "/";
	lc->mount.mountpoint_len = 1;
	lc->mount.origin = lc->web_dir;
	lc->mount.def = "index.html";
	lc->mount.origin_protocol = LWSMPRO_FILE;
	lc->mount.cache_max_age = 300;
	lc->mount.cache_reusable = 1;
	lc->mount.cache_revalidate = 1;
	/* A POST reaches lc_http_callback before any file is served. */
	lc->mount.protocol = "http";
	info.mounts = &lc->mount;
	info.protocols = lc->protocols;
	info.port = l->port;
	info.iface = strcmp(l->host, "localhost") == 0 ? "127.0.0.1" : l->host;
	if (!strchr(info.iface, ':'))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.options |= LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	info.user = lc;
	info.server_string = "omnigate";
	info.pt_serv_buf_size = LC_SERV_BUF;
	/* Connection limits, header and keep-alive timeouts. */
	listen_guard_info(lc->guard, &info);
	info.ka_time = 0;
	lc->lws = lws_create_context(&info);
	if (!lc->lws) {
		GW_ERROR(lc->inst->log_module, "cannot listen on %s:%d", l->host, l->port);
		return GW_EIO;
	}
	GW_INFO(lc->inst->log_module, "listening on http://%s:%d (websocket %s, files %s)",
		l->host, l->port, LC_PATH_CHAT, lc->web_dir);
	return GW_OK;
}

static int lc_open_log(struct livechat *lc)
{
	char dir[4096];
	int n = snprintf(dir, sizeof(dir), "%s/livechat/%s", lc->inst->config->state_dir,
			 lc->inst->conf->name);

	if (n < 0 || (size_t)n >= sizeof(dir))
		return GW_EINVAL;
	/* Files go with every channel's attachments (store/attachments.h). */
	n = snprintf(lc->attach_dir, sizeof(lc->attach_dir), "%s/attachments",
		     lc->inst->config->state_dir);
	if (n < 0 || (size_t)n >= sizeof(lc->attach_dir))
		return GW_EINVAL;
	return chatlog_open(dir, (size_t)lc->set->chatlog_map_mb * 1024u * 1024u, &lc->log);
}

/* web_dir, else the files installed with the program, else the source tree's. */
static void lc_find_web_dir(struct livechat *lc)
{
	if (lc->set->web_dir)
		snprintf(lc->web_dir, sizeof(lc->web_dir), "%s", lc->set->web_dir);
	else if (gw_exe_relative(LIVECHAT_WEB_DIR_INSTALLED, lc->web_dir,
				 sizeof(lc->web_dir)) != GW_OK)
		snprintf(lc->web_dir, sizeof(lc->web_dir), "%s", LIVECHAT_WEB_DIR);
}

static int lc_guard(struct livechat *lc)
{
	struct listen_guard_options g = {
		.max_connections = lc->set->max_connections,
		.limits = &lc->set->limits,
		.log_module = lc->inst->log_module,
		.conn_refused = &lc->inst->stats.conn_refused,
		.rate_limited = &lc->inst->stats.rate_limited,
		.on_deadline = lc_http_deadline,
		.arg = lc,
	};

	return listen_guard_create(&g, &lc->guard);
}

/* The commit thread's wake: gcommit_poll on the service thread
 * (LWS_CALLBACK_EVENT_WAIT_CANCELLED). */
static void lc_wake(void *arg)
{
	struct livechat *lc = arg;

	lws_cancel_service(lc->lws);
}

static int lc_gcommit(struct livechat *lc)
{
	struct gcommit_options g = {
		.outbox = lc->inst->outbox,
		.log_module = lc->inst->log_module,
		.arg = lc,
		.wake = lc_wake,
		.schedule = lc_schedule_commit,
		.after = lc_log_batch,
	};

	return gcommit_create(&g, &lc->gc);
}

static int lc_create(struct connector_instance *inst)
{
	struct livechat *lc = calloc(1, sizeof(*lc));
	int rc;

	inst->ctx = lc;
	if (!lc)
		return GW_ENOMEM;
	lc->inst = inst;
	lc->set = inst->settings;
	lc->seen = calloc(LC_SEEN_MAX, sizeof(*lc->seen));
	lc->visitors = calloc(LC_VISITOR_BUCKETS, sizeof(*lc->visitors));
	if (!lc->seen || !lc->visitors)
		return GW_ENOMEM;
	lc_find_web_dir(lc);
	snprintf(lc_lws_module, sizeof(lc_lws_module), "%s", inst->log_module);
	lws_set_log_level(LLL_ERR | LLL_WARN, lc_lws_log);
	rc = lc_open_log(lc);
	if (rc != GW_OK) {
		GW_ERROR(inst->log_module, "cannot open the conversation log: %s", gw_strerror(rc));
		return rc;
	}
	rc = lc_guard(lc);
	if (rc == GW_OK)
		rc = lc_listen(lc);
	if (rc == GW_OK)
		rc = lc_gcommit(lc);
	return rc;
}

static void lc_commit_cb(lws_sorted_usec_list_t *sul)
{
	struct livechat *lc = lc_container_of(sul, struct livechat, commit_sul);

	(void)gcommit_run(lc->gc); /* a failure was told to its visitors */
}

void lc_schedule_commit(void *arg)
{
	struct livechat *lc = arg;

	lws_sul_schedule(lc->lws, 0, &lc->commit_sul, lc_commit_cb, 0);
}

static int lc_run(struct connector_instance *inst)
{
	struct livechat *lc = inst->ctx;

	lws_sul_schedule(lc->lws, 0, &lc->tick_sul, lc_tick_cb, LC_TICK_US);
	while (!connector_stopping() && lc->failed == GW_OK) {
		if (lws_service(lc->lws, 0) < 0 && !connector_stopping()) {
			GW_ERROR(inst->log_module, "lws service failed");
			lc->failed = GW_EIO;
		}
	}
	lws_sul_cancel(&lc->tick_sul);
	lws_sul_cancel(&lc->commit_sul);
	/* What was read is made durable; its sender gets no ack and resends. */
	lc->stopping = 1;
	(void)gcommit_flush(lc->gc);
	return lc->failed;
}

static void lc_destroy(struct connector_instance *inst)
{
	struct livechat *lc = inst->ctx;

	if (!lc)
		return;
	/* First, while the wake still has a context to reach: what is queued
	 * is committed and each pending message freed (no ack: stopping). */
	lc->stopping = 1;
	gcommit_close(lc->gc);
	lc->gc = NULL;
	if (lc->lws)
		lws_context_destroy(lc->lws);
	listen_guard_destroy(lc->guard);
	chatlog_close(lc->log);
	/* Every socket is closed: the visitors' entries are gone with them. */
	free(lc->visitors);
	free(lc->seen);
	free(lc);
	inst->ctx = NULL;
}

const struct connector_type connector_livechat = {
	.name = "livechat",
	.channel = "livechat",
	.conf = &livechat_conf_type,
	.create = lc_create,
	.run = lc_run,
	.destroy = lc_destroy,
	.deliver = lc_deliver,
	.signal = lc_signal,
};

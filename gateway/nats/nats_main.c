/*
 * nats_main.c - gateway-nats: copies the gateway's event log into a NATS
 * JetStream stream, each event once and in seq order (docs/nats.md).
 *   gateway-nats --config FILE [--state-dir DIR]
 *
 * gatewayd runs it when the config's `nats.enabled` is true. It is a
 * consumer of the router like any other (docs/events.md): it replays the
 * log from the seq after the stream's last message, in windows of
 * nats.window events, and waits on the bus (events, heartbeats) when it has
 * caught up. The stream is its only memory: after a restart, a lost
 * server or a refused publish it reads the stream's last message again and
 * goes on from there; Nats-Msg-Id makes a republished event a no-op.
 *
 * Writes <state_dir>/run/nats.json (counters, `gatewayctl status`) every
 * second. Exit codes: 0 stopped by SIGTERM/SIGINT, 78 (EX_CONFIG) the
 * config disables it or the stream cannot be used as configured, 1 other.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <nats/nats.h>
#include <zmq.h>

#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "gateway/nats/jspub.h"
#include "gateway/nats/natsbus.h"
#include "proto/proto.h"

#define MOD "nats"
#define EXIT_DISABLED 78
#define REPLAY_TIMEOUT_MS 5000
#define IDLE_WAIT_MS 1000
#define STATUS_INTERVAL_MS 1000
#define TYPE_MAX 64
#define NATS_CLOSE_WAIT_MS 2000

static volatile sig_atomic_t stop_flag;

struct fwd {
	const struct gw_config *cfg;
	const struct gw_config_nats *conf;
	struct jspub *js;
	struct natsbus *bus;
	struct jsevent *ev;   /* one window */
	char **json;          /* payloads made for the window (payload: json) */
	char (*types)[TYPE_MAX];
	int json_payload;
	int ready;            /* connected and the stream checked */
	int synced;           /* `last` is the stream's */
	uint64_t last;        /* seq of the stream's last event */
	uint64_t head;        /* the log's head, from the last replay */
	uint64_t published, resyncs;
	int64_t started_at, next_status;
	char status_path[PATH_MAX];
};

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	/* No SA_RESTART: zmq_poll returns at once on SIGTERM. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- status file ---- */

static void write_status(struct fwd *f)
{
	json_t *doc = json_pack("{s:I, s:I, s:I, s:s, s:I, s:{s:I, s:I, s:I, s:b}}",
				"pid", (json_int_t)getpid(), "started_at",
				(json_int_t)f->started_at, "updated_at", (json_int_t)gw_now_ms(),
				"stream", f->conf->stream, "head_seq", (json_int_t)f->head,
				"counters", "published", (json_int_t)f->published, "last_seq",
				(json_int_t)f->last, "resyncs", (json_int_t)f->resyncs,
				"connected", f->js && jspub_connected(f->js));
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	if (!text || gw_write_file_atomic(f->status_path, text, strlen(text)) != GW_OK)
		GW_WARN(MOD, "cannot write %s", f->status_path);
	free(text);
	json_decref(doc);
	f->next_status = gw_mono_us() / 1000 + STATUS_INTERVAL_MS;
}

static void status_tick(struct fwd *f)
{
	if (gw_mono_us() / 1000 >= f->next_status)
		write_status(f);
}

/* ---- the forwarder ---- */

static int fwd_init(struct fwd *f, const struct gw_config *cfg)
{
	size_t w = (size_t)cfg->nats.window;
	int n;

	f->cfg = cfg;
	f->conf = &cfg->nats;
	f->json_payload = strcmp(cfg->nats.payload, "json") == 0;
	f->started_at = gw_now_ms();
	n = snprintf(f->status_path, sizeof(f->status_path), "%s/run/nats.json",
		     cfg->state_dir);
	if (n < 0 || (size_t)n >= sizeof(f->status_path))
		return GW_EINVAL;
	f->ev = calloc(w, sizeof(*f->ev));
	f->json = calloc(w, sizeof(*f->json));
	f->types = calloc(w, sizeof(*f->types));
	if (!f->ev || !f->json || !f->types)
		return GW_ENOMEM;
	return jspub_create(f->conf, &f->js);
}

static void fwd_free(struct fwd *f)
{
	jspub_destroy(f->js);
	natsbus_close(f->bus);
	free(f->ev);
	free(f->json);
	free(f->types);
	unlink(f->status_path);
}

/* start_from_head - the stream lost every message (aged out): go on from
 * the log's head, since where the stream stopped cannot be known. */
static int start_from_head(struct fwd *f)
{
	struct natsbus_replay r;
	int rc = natsbus_replay(f->bus, 1, 1, REPLAY_TIMEOUT_MS, &r);

	if (rc == GW_OK) {
		f->last = r.head;
		GW_WARN(MOD, "stream %s is empty but held messages (aged out): going on after "
			"the log's head, seq %llu", f->conf->stream, (unsigned long long)r.head);
	}
	natsbus_replay_free(&r);
	return rc;
}

/* fwd_sync - connected, the stream checked, `last` read from it. */
static int fwd_sync(struct fwd *f)
{
	struct jspos pos;
	int rc = GW_OK;

	/* Connects the first time; checks (or creates again) the stream every
	 * time, since a server may have come back without it. */
	rc = jspub_connect(f->js);
	f->ready |= rc == GW_OK;
	if (rc != GW_OK)
		return rc;
	rc = jspub_resync(f->js, &pos);
	if (rc != GW_OK)
		return rc;
	f->last = pos.gw_seq;
	if (!pos.known)
		rc = start_from_head(f);
	if (rc != GW_OK)
		return rc;
	f->synced = 1;
	GW_INFO(MOD, "stream %s holds events up to seq %llu (stream seq %llu): publishing "
		"from %llu", f->conf->stream, (unsigned long long)f->last,
		(unsigned long long)pos.stream_seq, (unsigned long long)f->last + 1);
	return GW_OK;
}

/* take_event - event `i` of the replay into the window; GW_EPROTO when its
 * seq is not the one that must follow. */
static int take_event(struct fwd *f, const struct natsbus_replay *r, size_t i)
{
	const zmq_msg_t *tf = &r->frames[2 + 2 * i], *bf = &r->frames[3 + 2 * i];
	size_t tlen = zmq_msg_size((zmq_msg_t *)tf);
	const void *body = zmq_msg_data((zmq_msg_t *)bf);
	size_t blen = zmq_msg_size((zmq_msg_t *)bf);
	json_t *j = proto_json_from_msgpack(body, blen);
	json_int_t seq = json_integer_value(json_object_get(j, "seq"));
	int rc = GW_OK;

	if (!j || tlen == 0 || tlen >= TYPE_MAX || (uint64_t)seq != f->last + 1 + i) {
		GW_ERROR(MOD, "replay gave an unexpected event (seq %lld where %llu was due)",
			 (long long)seq, (unsigned long long)(f->last + 1 + i));
		rc = GW_EPROTO;
		goto out;
	}
	memcpy(f->types[i], zmq_msg_data((zmq_msg_t *)tf), tlen);
	f->types[i][tlen] = '\0';
	f->ev[i] = (struct jsevent){.type = f->types[i], .data = body, .len = blen,
				    .seq = (uint64_t)seq};
	if (f->json_payload) {
		f->json[i] = json_dumps(j, JSON_COMPACT);
		rc = f->json[i] ? GW_OK : GW_ENOMEM;
		f->ev[i].data = f->json[i];
		f->ev[i].len = f->json[i] ? strlen(f->json[i]) : 0;
	}
out:
	json_decref(j);
	return rc;
}

/* publish_window - the replayed events into the stream. */
static int publish_window(struct fwd *f, const struct natsbus_replay *r)
{
	size_t n = (size_t)r->count, made = 0, done = 0;
	int rc = GW_OK;

	for (; made < n && rc == GW_OK; made++)
		rc = take_event(f, r, made);
	if (rc == GW_OK)
		rc = jspub_publish(f->js, f->ev, n, &done);
	for (size_t i = 0; i < made; i++) {
		free(f->json[i]);
		f->json[i] = NULL;
	}
	f->last += done;
	f->published += done;
	return rc;
}

/*
 * fwd_step - one replay window published. Returns GW_OK (something was
 * published), GW_ENOTFOUND (caught up: nothing to do), GW_EAGAIN (the
 * router or the stream did not answer), others as publish_window.
 */
static int fwd_step(struct fwd *f)
{
	struct natsbus_replay r;
	int rc = natsbus_replay(f->bus, f->last + 1, (unsigned)f->conf->window,
				REPLAY_TIMEOUT_MS, &r);

	if (rc == GW_OK) {
		f->head = r.head;
		rc = r.count == 0 ? GW_ENOTFOUND : publish_window(f, &r);
	}
	natsbus_replay_free(&r);
	return rc;
}

/* run - until SIGTERM; returns the exit code. */
static int run(struct fwd *f)
{
	int rc;

	while (!stop_flag) {
		status_tick(f);
		if (f->ready && jspub_reconnected(f->js) && f->synced) {
			GW_INFO(MOD, "reconnected to NATS: reading the stream's last message again");
			f->synced = 0;
		}
		rc = f->synced ? fwd_step(f) : fwd_sync(f);
		if (rc == GW_ECONFIG || rc == GW_ENOMEM)
			return rc == GW_ECONFIG ? EXIT_DISABLED : 1;
		if (rc == GW_OK)
			continue;
		if (rc == GW_ENOTFOUND) {
			natsbus_wait(f->bus, IDLE_WAIT_MS);
			continue;
		}
		/* A refused or lost publish, or a stream in an unexpected state:
		 * read it again, after a pause (which drains the bus). */
		if (f->synced)
			f->resyncs++;
		f->synced = 0;
		natsbus_wait(f->bus, (int)f->conf->reconnect_wait_ms);
	}
	return 0;
}

/* load - the config (gw_config_daemon), with nats.enabled; 0, or the exit
 * status. */
static int load(int argc, char **argv, struct gw_config **cfg)
{
	int rc = gw_config_daemon(argc, argv, "gateway-nats", MOD, cfg);

	if (rc != 0)
		return rc;
	if (!(*cfg)->nats.enabled) {
		GW_WARN(MOD, "nats.enabled is false in the config: nothing to do");
		return EXIT_DISABLED;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct gw_config *cfg = NULL;
	struct fwd f = {0};
	int rc;

	rc = load(argc, argv, &cfg);
	if (rc != 0)
		goto out;
	install_signals();
	rc = fwd_init(&f, cfg);
	if (rc == GW_OK)
		rc = natsbus_open(cfg, &f.bus);
	if (rc != GW_OK) {
		GW_ERROR(MOD, "cannot start: %s", gw_strerror(rc));
		rc = 1;
		goto out;
	}
	write_status(&f);
	rc = run(&f);
	GW_INFO(MOD, "stopped after seq %llu (%llu published)", (unsigned long long)f.last,
		(unsigned long long)f.published);
out:
	fwd_free(&f);
	gw_config_free(cfg);
	/* Waits for libnats' threads, so that nothing of it is left at exit. */
	nats_CloseAndWait(NATS_CLOSE_WAIT_MS);
	return rc;
}

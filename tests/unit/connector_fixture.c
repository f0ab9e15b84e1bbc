/*
 * connector_fixture.c - a real connector instance inside a unit test
 * (connector_fixture.h).
 */
#include "tests/unit/connector_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "connectors/outbox.h"
#include "connectors/runtime.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "proto/wire.h"
#include "tests/unit/testutil.h"

static void write_config(struct cfx *f, const char *path, const char *name, const char *type,
			 const char *const *lines)
{
	FILE *c = fopen(path, "w");

	assert_non_null(c);
	fprintf(c, "state_dir: \"%s/state\"\nlog_level: warn\nrouter:\n"
		   "  ingest: \"ipc://%s/ingest\"\n  publish: \"ipc://%s/publish\"\n"
		   "  command: \"ipc://%s/command\"\n",
		f->dir, f->dir, f->dir, f->dir);
	fprintf(c, "connectors:\n  - name: %s\n    type: %s\n    listen: \"127.0.0.1:%d\"\n",
		name, type, f->port);
	for (size_t i = 0; lines && lines[i]; i++)
		fprintf(c, "    %s\n", lines[i]);
	assert_int_equal(fclose(c), 0);
}

/* The sink: what the router binds, before the outbox connects. */
static void open_sink(struct cfx *f)
{
	char ep[128];
	int zero = 0;

	f->zctx = zmq_ctx_new();
	assert_non_null(f->zctx);
	f->sink = zmq_socket(f->zctx, ZMQ_ROUTER);
	assert_non_null(f->sink);
	zmq_setsockopt(f->sink, ZMQ_LINGER, &zero, sizeof(zero));
	snprintf(ep, sizeof(ep), "ipc://%s/ingest", f->dir);
	assert_int_equal(zmq_bind(f->sink, ep), 0);
}

/* The outbox as connectors/runtime.c opens it. */
static void open_outbox(struct cfx *f)
{
	char dir[256];
	struct outbox_options o = {0};

	snprintf(dir, sizeof(dir), "%s/state/spool/%s", f->dir, f->inst.conf->name);
	assert_int_equal(gw_mkdir_p(dir), GW_OK);
	o.dir = dir;
	o.endpoint = f->cfg->router.ingest;
	o.log_module = f->inst.log_module;
	o.max_entries = 100000;
	o.map_size = 64u << 20;
	o.max_inflight = 1024;
	o.resend_ms = 2000;
	o.instance = f->inst.conf->name;
	o.channel = f->type->channel;
	o.bus = &f->cfg->router;
	assert_int_equal(outbox_open(&o, &f->inst.outbox), GW_OK);
}

static void *run_instance(void *arg)
{
	struct cfx *f = arg;

	f->run_rc = f->type->run(&f->inst);
	return NULL;
}

void cfx_start(struct cfx *f, const char *name, const char *type, const char *const *lines)
{
	char path[128], run[128], err[512] = "";
	int rc;

	memset(f, 0, sizeof(*f));
	test_tmpdir(f->dir, sizeof(f->dir), type);
	f->port = test_free_port();
	snprintf(path, sizeof(path), "%s/gateway.yaml", f->dir);
	write_config(f, path, name, type, lines);
	rc = gw_config_load(path, NULL, &f->cfg, err, sizeof(err));
	if (rc != GW_OK)
		fail_msg("config: %s", err);
	gw_log_init("test-connector", (enum gw_log_level)f->cfg->log_level);
	f->inst.config = f->cfg;
	f->inst.conf = gw_config_find_connector(f->cfg, name);
	assert_non_null(f->inst.conf);
	f->inst.settings = f->inst.conf->settings;
	f->type = connector_type_find(type);
	assert_non_null(f->type);
	snprintf(f->inst.log_module, sizeof(f->inst.log_module), "%s/%s", type, name);
	snprintf(run, sizeof(run), "%s/state/run", f->dir);
	assert_int_equal(gw_mkdir_p(run), GW_OK);
	assert_int_equal(connector_status_init(&f->inst, f->cfg->state_dir), GW_OK);
	open_sink(f);
	open_outbox(f);
	assert_int_equal(f->type->create(&f->inst), GW_OK);
	assert_int_equal(pthread_create(&f->thread, NULL, run_instance, f), 0);
	f->running = 1;
}

void cfx_stop(struct cfx *f)
{
	if (f->running) {
		connector_request_stop();
		assert_int_equal(pthread_join(f->thread, NULL), 0);
		f->running = 0;
		assert_int_equal(f->run_rc, GW_OK);
	}
	if (f->type)
		f->type->destroy(&f->inst);
	outbox_close(f->inst.outbox);
	f->inst.outbox = NULL;
	if (f->sink)
		zmq_close(f->sink);
	if (f->zctx)
		zmq_ctx_term(f->zctx);
	gw_config_free(f->cfg);
	test_rmtree(f->dir);
	memset(f, 0, sizeof(*f));
}

/* ---- the sink ----------------------------------------------------------- */

/* recv_frames - one whole message into frames (at most n); their count,
 * 0 when none came within timeout_ms. */
static int recv_frames(void *sock, zmq_msg_t *fr, int n, int timeout_ms)
{
	zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
	int got = 0, more = 1;

	if (zmq_poll(&it, 1, timeout_ms) <= 0)
		return 0;
	while (more) {
		zmq_msg_t m;

		zmq_msg_init(&m);
		assert_true(zmq_msg_recv(&m, sock, 0) >= 0);
		more = zmq_msg_more(&m);
		if (got < n)
			zmq_msg_move(&fr[got++], &m);
		zmq_msg_close(&m);
	}
	return got;
}

static int frame_is(zmq_msg_t *m, const char *s)
{
	return zmq_msg_size(m) == strlen(s) && memcmp(zmq_msg_data(m), s, strlen(s)) == 0;
}

/* ack - ["ack", key, "stored", ""] to the peer of frames fr. */
static void ack(struct cfx *f, zmq_msg_t *fr)
{
	zmq_send(f->sink, zmq_msg_data(&fr[0]), zmq_msg_size(&fr[0]), ZMQ_SNDMORE);
	zmq_send(f->sink, WIRE_INGEST_ACK, strlen(WIRE_INGEST_ACK), ZMQ_SNDMORE);
	zmq_send(f->sink, zmq_msg_data(&fr[2]), zmq_msg_size(&fr[2]), ZMQ_SNDMORE);
	zmq_send(f->sink, WIRE_RESULT_STORED, strlen(WIRE_RESULT_STORED), ZMQ_SNDMORE);
	zmq_send(f->sink, "", 0, 0);
}

int cfx_next(struct cfx *f, int timeout_ms, struct proto_event *ev)
{
	int64_t deadline = gw_now_ms() + timeout_ms;
	zmq_msg_t fr[4];
	int n, got = 0;

	while (!got && gw_now_ms() < deadline) {
		for (int i = 0; i < 4; i++)
			zmq_msg_init(&fr[i]);
		n = recv_frames(f->sink, fr, 4, (int)(deadline - gw_now_ms()));
		if (n == 4 && frame_is(&fr[1], WIRE_INGEST_MSG)) {
			assert_int_equal(proto_decode(zmq_msg_data(&fr[3]), zmq_msg_size(&fr[3]),
						      ev, NULL), GW_OK);
			ack(f, fr);
			got = 1;
		}
		for (int i = 0; i < 4; i++)
			zmq_msg_close(&fr[i]);
	}
	return got;
}

/* ---- HTTP --------------------------------------------------------------- */

int cfx_connect(const struct cfx *f)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
	struct timeval tv = {.tv_sec = 10};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		fail_msg("connect to 127.0.0.1:%d: %s", f->port, strerror(errno));
	return fd;
}

void cfx_send(int fd, const char *data, long len)
{
	size_t n = len < 0 ? strlen(data) : (size_t)len;

	assert_int_equal(gw_write_all(fd, data, n), GW_OK);
}

/* read_exact - exactly `n` bytes into buf; fails on a timeout or when the
 * server closed first. Responses are read to their last byte and no
 * further, so pipelined answers stay in the socket for the next read. */
static void read_exact(int fd, char *buf, size_t n)
{
	size_t have = 0;
	ssize_t got;

	while (have < n) {
		got = recv(fd, buf + have, n - have, 0);
		if (got <= 0)
			fail_msg("reading the response: %s",
				 got == 0 ? "the server closed the connection" : strerror(errno));
		have += (size_t)got;
	}
}

void cfx_read(int fd, struct cfx_resp *r)
{
	char len_text[32];
	size_t have = 0, want;

	memset(r, 0, sizeof(*r));
	/* The head a byte at a time, up to its blank line. */
	while (have < 4 || memcmp(r->head + have - 4, "\r\n\r\n", 4) != 0) {
		assert_true(have < CFX_HEAD_MAX - 1);
		read_exact(fd, r->head + have, 1);
		have++;
	}
	r->head[have - 2] = '\0'; /* keep the last header's CRLF */
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
	want = cfx_header(r, "content-length", len_text, sizeof(len_text))
		       ? strtoul(len_text, NULL, 10) : 0;
	assert_true(want < CFX_BODY_MAX);
	read_exact(fd, r->body, want);
	r->body_len = want;
}

const char *cfx_header(const struct cfx_resp *r, const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);

	for (const char *l = strstr(r->head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
		const char *v = l + 2, *e;

		if (strncasecmp(v, name, n) != 0 || v[n] != ':')
			continue;
		v += n + 1;
		v += strspn(v, " \t");
		e = strstr(v, "\r\n");
		snprintf(buf, len, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
		return buf;
	}
	return NULL;
}

int cfx_closed(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	return recv(fd, &c, 1, MSG_PEEK) == 0 || (p.revents & (POLLHUP | POLLERR));
}

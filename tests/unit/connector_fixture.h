/*
 * connector_fixture.h - one real connector instance run inside a unit test
 * (Fluent Bit's runtime tests): the config file, the outbox and the type's
 * create -> run -> destroy as gateway-connector runs them
 * (connectors/runtime.c), run() on a thread of the test, and in place of
 * the router a ZeroMQ ROUTER on an ipc:// sink that the test reads and
 * acknowledges. A small HTTP/1.1 client on raw sockets drives the
 * connector's listener byte for byte (framing, keep-alive, pipelining).
 *
 * connector_stopping() is one flag per process: a test program starts one
 * instance (cfx_start in its group setup) and stops it once (cfx_stop in
 * its group teardown). Every function fails the running test when it
 * cannot do its job. Only the test's thread calls them.
 */
#ifndef GW_TEST_CONNECTOR_FIXTURE_H
#define GW_TEST_CONNECTOR_FIXTURE_H

#include <pthread.h>
#include <stddef.h>

#include "connectors/connector.h"
#include "proto/proto.h"

struct cfx {
	char dir[64];                     /* the test's folder: config, state */
	int port;                         /* the instance's listen port */
	struct gw_config *cfg;
	const struct connector_type *type;
	struct connector_instance inst;
	void *zctx, *sink;                /* the router's side of ingest */
	pthread_t thread;
	int running;
	int run_rc;                       /* what run() returned */
};

/*
 * cfx_start - writes a config with one connector `name` of `type` listening
 * on a reserved loopback port, with `lines` (NULL-ended, each a key: value
 * line of its entry, e.g. "token: ${GATEWAY_API_TOKEN}") added, loads it,
 * and starts the instance. Environment variables the lines name must be
 * set before.
 */
void cfx_start(struct cfx *f, const char *name, const char *type, const char *const *lines);

/* cfx_stop - stops the instance (connector_request_stop), frees it all. */
void cfx_stop(struct cfx *f);

/*
 * cfx_next - the next event the outbox hands over within `timeout_ms`,
 * decoded into `ev` (cleared by the caller with proto_event_clear) and
 * acknowledged "stored"; hellos are skipped. 1, or 0 when none came.
 */
int cfx_next(struct cfx *f, int timeout_ms, struct proto_event *ev);

/* ---- HTTP ---------------------------------------------------------------- */

#define CFX_HEAD_MAX 4096
#define CFX_BODY_MAX 8192

struct cfx_resp {
	int status;
	char head[CFX_HEAD_MAX]; /* status line and headers, NUL-terminated */
	char body[CFX_BODY_MAX]; /* NUL-terminated */
	size_t body_len;
};

/* cfx_connect - a new connection to the instance (10 s receive timeout). */
int cfx_connect(const struct cfx *f);

/* cfx_send - writes all `len` bytes of `data` (NUL-terminated: len -1). */
void cfx_send(int fd, const char *data, long len);

/* cfx_read - one whole response (its Content-Length body included). */
void cfx_read(int fd, struct cfx_resp *r);

/* cfx_header - the value of header `name` (any case) into buf, or NULL. */
const char *cfx_header(const struct cfx_resp *r, const char *name, char *buf, size_t len);

/* cfx_closed - 1 when the server closes `fd` within timeout_ms, 0 when
 * it stays open (nothing is read from it). */
int cfx_closed(int fd, int timeout_ms);

#endif

/*
 * ctl_client.c - gatewayctl's request/reply on the router's command socket
 * (frames in proto/wire.h). Every wait is bounded by --timeout-ms; a REQ
 * socket that timed out is closed, since REQ cannot send again before it got
 * the reply it waits for. Also the part every once-per-command-id command
 * shares: its id, its answer map, the retry hint.
 */
#include "gateway/ctl/ctl.h"

#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus.h"
#include "core/err.h"
#include "core/util.h"
#include "proto/proto.h"
#include "proto/wire.h"

/* A replay reply: ok, result, then a type and an event per event. */
#define CTL_MAX_FRAMES (2 + 2 * WIRE_REPLAY_MAX_LIMIT + 2)

volatile sig_atomic_t ctl_stop;

static void on_signal(int sig)
{
	(void)sig;
	ctl_stop = 1;
}

void ctl_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: zmq_poll returns EINTR and the loops see ctl_stop. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void close_req(struct ctl *ctl)
{
	if (ctl->req)
		zmq_close(ctl->req);
	ctl->req = NULL;
}

void ctl_close(struct ctl *ctl)
{
	close_req(ctl);
	if (ctl->zctx)
		zmq_ctx_term(ctl->zctx);
	ctl->zctx = NULL;
}

int ctl_bus_setup(struct ctl *ctl, void *sock, const char *endpoint)
{
	char why[512];

	if (!ctl->bus || bus_client_setup(sock, ctl->bus, endpoint, why, sizeof(why)) == GW_OK)
		return CTL_EXIT_OK;
	fprintf(stderr, "gatewayctl: %s (run as the gateway's user)\n", why);
	return CTL_EXIT_CONFIG;
}

static int open_req(struct ctl *ctl)
{
	int linger = 0, timeo = (int)ctl->timeout_ms;
	int64_t maxmsg = CTL_MAX_FRAME_BYTES;

	if (!ctl->zctx)
		ctl->zctx = zmq_ctx_new();
	ctl->req = ctl->zctx ? zmq_socket(ctl->zctx, ZMQ_REQ) : NULL;
	if (!ctl->req) {
		fprintf(stderr, "gatewayctl: cannot create a socket: %s\n", zmq_strerror(errno));
		return CTL_EXIT_ERROR;
	}
	zmq_setsockopt(ctl->req, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(ctl->req, ZMQ_SNDTIMEO, &timeo, sizeof(timeo));
	zmq_setsockopt(ctl->req, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (ctl_bus_setup(ctl, ctl->req, ctl->command) != CTL_EXIT_OK) {
		close_req(ctl);
		return CTL_EXIT_CONFIG;
	}
	if (zmq_connect(ctl->req, ctl->command) != 0) {
		fprintf(stderr, "gatewayctl: bad command endpoint %s: %s\n", ctl->command,
			zmq_strerror(errno));
		close_req(ctl);
		return CTL_EXIT_CONFIG;
	}
	return CTL_EXIT_OK;
}

static int no_answer(struct ctl *ctl)
{
	fprintf(stderr,
		"gatewayctl: no answer from the router at %s within %ld ms (is gatewayd running?)\n",
		ctl->command, ctl->timeout_ms);
	close_req(ctl);
	return CTL_EXIT_DOWN;
}

/* Waits for the first frame until the deadline; 0 ready, else an exit code. */
static int wait_readable(struct ctl *ctl, int64_t deadline_us)
{
	zmq_pollitem_t item = {.socket = ctl->req, .events = ZMQ_POLLIN};

	for (;;) {
		int64_t left = (deadline_us - gw_mono_us()) / 1000;
		int n;

		if (ctl_stop) {
			close_req(ctl);
			return CTL_EXIT_INTERRUPTED;
		}
		if (left < 0)
			return no_answer(ctl);
		n = zmq_poll(&item, 1, (long)left);
		if (n > 0)
			return CTL_EXIT_OK;
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "gatewayctl: poll: %s\n", zmq_strerror(errno));
			close_req(ctl);
			return CTL_EXIT_ERROR;
		}
	}
}

static int add_frame(struct ctl_reply *r, zmq_msg_t *msg)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		zmq_msg_t *f = realloc(r->frames, cap * sizeof(*f));

		if (!f)
			return -1;
		r->frames = f;
		r->cap = cap;
	}
	r->frames[r->n++] = *msg;
	return 0;
}

/* Reads every frame of one reply (they arrive together). */
static int read_frames(struct ctl *ctl, struct ctl_reply *r)
{
	int more = 1;

	while (more) {
		zmq_msg_t msg;
		size_t sz = sizeof(more);

		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, ctl->req, 0) < 0) {
			zmq_msg_close(&msg);
			return no_answer(ctl);
		}
		if (r->n >= CTL_MAX_FRAMES || add_frame(r, &msg) != 0) {
			zmq_msg_close(&msg);
			fprintf(stderr, "gatewayctl: reply too large\n");
			close_req(ctl);
			return CTL_EXIT_ERROR;
		}
		zmq_getsockopt(ctl->req, ZMQ_RCVMORE, &more, &sz);
	}
	return CTL_EXIT_OK;
}

static int frame_is(const struct ctl_reply *r, size_t i, const char *s)
{
	size_t len;
	const void *p = ctl_frame(r, i, &len);

	return p && len == strlen(s) && memcmp(p, s, len) == 0;
}

/* An "error" reply: prints its message; GW_ENOTFOUND has its own exit code. */
static int report_error(const struct ctl_reply *r)
{
	json_t *j = r->n > 1 ? ctl_frame_json(r, 1) : NULL;
	const char *code = json_string_value(json_object_get(j, "code"));
	const char *msg = json_string_value(json_object_get(j, "message"));
	int rc = code && strcmp(code, "GW_ENOTFOUND") == 0 ? CTL_EXIT_NOTFOUND : CTL_EXIT_ERROR;

	fprintf(stderr, "gatewayctl: %s\n", msg ? msg : code ? code : "the router failed");
	json_decref(j);
	return rc;
}

static int send_request(struct ctl *ctl, const char *cmd, const void *args, size_t len)
{
	if (zmq_send(ctl->req, cmd, strlen(cmd), ZMQ_SNDMORE) < 0 ||
	    zmq_send(ctl->req, args, len, 0) < 0) {
		if (errno == EAGAIN)
			return no_answer(ctl);
		fprintf(stderr, "gatewayctl: send to %s: %s\n", ctl->command, zmq_strerror(errno));
		close_req(ctl);
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
}

int ctl_request(struct ctl *ctl, const char *cmd, const void *args, size_t len,
		struct ctl_reply *reply)
{
	int64_t deadline = gw_mono_us() + (int64_t)ctl->timeout_ms * 1000;
	int rc = CTL_EXIT_OK;

	memset(reply, 0, sizeof(*reply));
	if (!ctl->req)
		rc = open_req(ctl);
	if (rc == CTL_EXIT_OK)
		rc = send_request(ctl, cmd, args, len);
	if (rc == CTL_EXIT_OK)
		rc = wait_readable(ctl, deadline);
	if (rc == CTL_EXIT_OK)
		rc = read_frames(ctl, reply);
	if (rc != CTL_EXIT_OK)
		goto out;
	if (frame_is(reply, 0, WIRE_REPLY_ERROR)) {
		rc = report_error(reply);
	} else if (!frame_is(reply, 0, WIRE_REPLY_OK) || reply->n < 2) {
		fprintf(stderr, "gatewayctl: malformed reply from %s\n", ctl->command);
		rc = CTL_EXIT_ERROR;
	}
out:
	if (rc != CTL_EXIT_OK)
		ctl_reply_free(reply);
	return rc;
}

void ctl_reply_free(struct ctl_reply *r)
{
	for (size_t i = 0; i < r->n; i++)
		zmq_msg_close(&r->frames[i]);
	free(r->frames);
	memset(r, 0, sizeof(*r));
}

const void *ctl_frame(const struct ctl_reply *r, size_t i, size_t *len)
{
	if (i >= r->n) {
		*len = 0;
		return NULL;
	}
	*len = zmq_msg_size(&r->frames[i]);
	return zmq_msg_data(&r->frames[i]);
}

json_t *ctl_frame_json(const struct ctl_reply *r, size_t i)
{
	size_t len;
	const void *p = ctl_frame(r, i, &len);

	return p ? proto_json_from_msgpack(p, len) : NULL;
}

static int pack_kv(msgpack_packer *pk, const char *k, uint64_t v)
{
	return msgpack_pack_str_with_body(pk, k, strlen(k)) | msgpack_pack_uint64(pk, v);
}

int ctl_args_u64(const char *k1, uint64_t v1, const char *k2, uint64_t v2, char **out,
		 size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int bad;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	bad = msgpack_pack_map(&pk, k2 ? 2 : 1);
	bad |= pack_kv(&pk, k1, v1);
	if (k2)
		bad |= pack_kv(&pk, k2, v2);
	if (bad || !sb.data) {
		msgpack_sbuffer_destroy(&sb);
		fprintf(stderr, "gatewayctl: out of memory\n");
		return CTL_EXIT_ERROR;
	}
	*len = sb.size;
	*out = msgpack_sbuffer_release(&sb);
	return CTL_EXIT_OK;
}

/* --- commands run once per command id ------------------------------------ */

const char *ctl_command_id(const struct ctl *ctl, char buf[33])
{
	if (ctl->command_id)
		return ctl->command_id;
	if (gw_random_id(buf) != 0) {
		fprintf(stderr, "gatewayctl: cannot make a command id\n");
		return NULL;
	}
	return buf;
}

int ctl_command(struct ctl *ctl, const char *cmd, const void *args, size_t len,
		const char *command_id, json_t **res)
{
	struct ctl_reply r = {0};
	int rc = ctl_request(ctl, cmd, args, len, &r);

	*res = NULL;
	if (rc == CTL_EXIT_OK)
		*res = ctl_frame_json(&r, 1);
	if (rc == CTL_EXIT_OK && !json_is_object(*res)) {
		fprintf(stderr, "gatewayctl: malformed %s reply from %s\n", cmd, ctl->command);
		rc = CTL_EXIT_ERROR;
	}
	if (rc == CTL_EXIT_OK && json_object_set_new(*res, "command_id", json_string(command_id))) {
		fprintf(stderr, "gatewayctl: out of memory\n");
		rc = CTL_EXIT_ERROR;
	}
	if (rc == CTL_EXIT_DOWN)
		/* It may have run: the same id is safe to repeat. */
		fprintf(stderr, "gatewayctl: retry with --command-id %s\n", command_id);
	if (rc != CTL_EXIT_OK) {
		json_decref(*res);
		*res = NULL;
	}
	ctl_reply_free(&r);
	return rc;
}

int ctl_print_json(const json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(2));

	if (!text)
		return CTL_EXIT_ERROR;
	puts(text);
	free(text);
	return CTL_EXIT_OK;
}

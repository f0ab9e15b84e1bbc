/*
 * ctl_events.c - `gatewayctl tail` and `gatewayctl replay`.
 *
 * Both print events in seq order without gaps or repeats. replay asks the
 * command socket for batches. tail subscribes to the bus first, then (with
 * --from) replays up to the head, then follows live events; a seq jump, or a
 * heartbeat whose head_seq is past what was printed, is filled by replay
 * before going on, and live events already printed by a replay are dropped.
 * Live events that arrive during a replay wait in the SUB socket's queue.
 */
#include "gateway/ctl/ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "core/err.h"
#include "core/util.h"
#include "gateway/ctl/event_line.h"
#include "gateway/ctl/seqtrack.h"
#include "proto/proto.h"
#include "proto/wire.h"

#define TAIL_POLL_MS 500
#define TAIL_SILENCE_MIN_US (5 * 1000000LL) /* three heartbeats missed, at least */
#define TAIL_RCVHWM 10000               /* live events queued during a replay */

struct printer {
	struct ctl *ctl;
	struct seqtrack track;
	uint64_t fill_to; /* the replay in progress stops after this seq */
	uint64_t max;     /* events to print at most; 0: no limit */
	uint64_t printed;
	struct ctl_progress progress; /* replay's, when stdout is not a terminal */
};

static void print_event(const struct ctl *ctl, const struct proto_event *ev)
{
	char *line;

	if (!ctl->json) {
		ctl_event_line(stdout, ev);
	} else if ((line = proto_dump_json(ev)) != NULL) {
		puts(line);
		free(line);
	} else {
		fprintf(stderr, "gatewayctl: out of memory printing event %llu\n",
			(unsigned long long)ev->seq);
	}
	fflush(stdout);
}

/* One line {"type":..,"error":..[,"seq":N]} on stderr for an undecodable event. */
static void print_bad(const char *type, size_t tlen, const char *why, uint64_t seq)
{
	json_t *j = json_pack("{s:s%, s:s}", "type", type, tlen, "error", why);
	char *text;

	if (j && seq)
		json_object_set_new(j, "seq", json_integer((json_int_t)seq));
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	fprintf(stderr, "%s\n", text ? text : "{\"error\":\"undecodable event\"}");
	free(text);
	json_decref(j);
}

/* ---- one event ---- */

/* The seq of an event that does not decode, so the tracker can move past it. */
static uint64_t raw_seq(const void *data, size_t len)
{
	json_t *j = proto_json_from_msgpack(data, len);
	json_int_t seq = json_integer_value(json_object_get(j, "seq"));

	json_decref(j);
	return seq > 0 ? (uint64_t)seq : 0;
}

/*
 * Decodes an event into `ev`. Returns its seq, 0 when it has none; on a
 * decode failure reports it, leaves `ev` cleared and sets *bad.
 */
static uint64_t decode(const char *type, size_t tlen, const void *data, size_t len,
		       struct proto_event *ev, int *bad)
{
	struct proto_error err = {0};
	uint64_t seq;

	*bad = 0;
	if (proto_decode(data, len, ev, &err) == GW_OK)
		return ev->seq;
	*bad = 1;
	seq = raw_seq(data, len);
	print_bad(type, tlen, err.message[0] ? err.message : "undecodable", seq);
	return seq;
}

/* Hands out the event that is next in line. */
static void emit(struct printer *p, const struct proto_event *ev, uint64_t seq, int bad)
{
	seqtrack_accept(&p->track, seq);
	if (!bad)
		print_event(p->ctl, ev);
	p->printed++;
	ctl_progress_step(&p->progress, 1);
}

static int want_more(const struct printer *p)
{
	return !ctl_stop && (p->max == 0 || p->printed < p->max) &&
	       seqtrack_next(&p->track) <= p->fill_to;
}

static void take_replayed(struct printer *p, const char *type, size_t tlen, const void *data,
			  size_t len)
{
	struct proto_event ev;
	uint64_t a = 0, b = 0;
	int bad;
	uint64_t seq = decode(type, tlen, data, len, &ev, &bad);

	if (seq == 0 || seq > p->fill_to || (p->max && p->printed >= p->max))
		goto out;
	switch (seqtrack_check(&p->track, seq, &a, &b)) {
	case SEQ_GAP:
		fprintf(stderr, "gatewayctl: events %llu..%llu are missing from the replay\n",
			(unsigned long long)a, (unsigned long long)b);
		seqtrack_skip_to(&p->track, b);
		emit(p, &ev, seq, bad);
		break;
	case SEQ_NEXT:
		emit(p, &ev, seq, bad);
		break;
	default:
		break;
	}
out:
	proto_event_clear(&ev);
}

/* ---- replay ---- */

struct batch {
	uint64_t next, head, count;
};

static int get_u64(json_t *obj, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* The replay result {from, next, head, count}, checked against the frames. */
static int parse_batch(const struct ctl *ctl, const struct ctl_reply *r, struct batch *b)
{
	json_t *j = ctl_frame_json(r, 1);
	int bad = !j || get_u64(j, "next", &b->next) || get_u64(j, "head", &b->head) ||
		  get_u64(j, "count", &b->count) || b->count > WIRE_REPLAY_MAX_LIMIT ||
		  r->n != 2 + 2 * b->count;

	json_decref(j);
	if (bad) {
		fprintf(stderr, "gatewayctl: malformed replay reply from %s\n", ctl->command);
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
}

static uint64_t batch_limit(const struct printer *p, uint64_t from)
{
	uint64_t limit = WIRE_REPLAY_DEFAULT_LIMIT;

	if (p->fill_to - from < limit)
		limit = p->fill_to - from + 1;
	if (p->max && p->max - p->printed < limit)
		limit = p->max - p->printed;
	return limit;
}

static int replay_batch(struct printer *p, struct batch *b)
{
	uint64_t from = seqtrack_next(&p->track);
	struct ctl_reply r = {0};
	char *args = NULL;
	size_t alen = 0;
	int rc = ctl_args_u64("from", from, "limit", batch_limit(p, from), &args, &alen);

	if (rc == CTL_EXIT_OK)
		rc = ctl_request(p->ctl, WIRE_CMD_REPLAY, args, alen, &r);
	if (rc == CTL_EXIT_OK)
		rc = parse_batch(p->ctl, &r, b);
	for (size_t i = 0; rc == CTL_EXIT_OK && i < b->count; i++) {
		size_t tlen, len;
		const char *type = ctl_frame(&r, 2 + 2 * i, &tlen);
		const void *data = ctl_frame(&r, 3 + 2 * i, &len);

		take_replayed(p, type, tlen, data, len);
	}
	ctl_reply_free(&r);
	free(args);
	return rc;
}

static void skip_missing(struct printer *p, uint64_t a, uint64_t b)
{
	fprintf(stderr, "gatewayctl: events %llu..%llu are not available; skipped\n",
		(unsigned long long)a, (unsigned long long)b);
	seqtrack_skip_to(&p->track, b);
}

/*
 * Replays from the tracker's next seq until `to` (UINT64_MAX: the head), the
 * limit or a stop. `strict`: the events up to `to` exist (a live event or a
 * heartbeat said so); any the router cannot give are reported and skipped.
 */
static int replay_until(struct printer *p, uint64_t to, int strict)
{
	struct batch b = {0};
	int rc = CTL_EXIT_OK;

	p->fill_to = to;
	while (rc == CTL_EXIT_OK && want_more(p)) {
		uint64_t from = seqtrack_next(&p->track);

		rc = replay_batch(p, &b);
		if (rc != CTL_EXIT_OK || b.next > b.head)
			break; /* failed, or the head is reached */
		if (seqtrack_next(&p->track) != from)
			continue;
		/* No progress: past undecodable events, or nothing more. */
		if (b.next <= from)
			break;
		skip_missing(p, from, b.next - 1 < to ? b.next - 1 : to);
	}
	if (rc == CTL_EXIT_OK && strict && !ctl_stop && seqtrack_next(&p->track) <= to)
		skip_missing(p, seqtrack_next(&p->track), to);
	if (rc == CTL_EXIT_OK && ctl_stop)
		rc = CTL_EXIT_INTERRUPTED;
	return rc;
}

int ctl_cmd_replay(struct ctl *ctl)
{
	struct printer p = {.ctl = ctl, .max = ctl->has_limit ? ctl->limit : 0};
	uint64_t total = ctl->has_to ? ctl->to - ctl->from + 1 : 0;
	int rc;

	if (p.max && (!total || p.max < total))
		total = p.max;
	ctl_catch_signals();
	seqtrack_init_from(&p.track, ctl->from);
	/* Events on the terminal are their own progress. */
	ctl_progress_start(&p.progress, "events", total, isatty(STDOUT_FILENO));
	rc = replay_until(&p, ctl->has_to ? ctl->to : UINT64_MAX, 0);
	ctl_progress_end(&p.progress);
	return rc;
}

/* ---- tail ---- */

struct tail {
	struct printer p;
	void *sub;
	int64_t last_rx_us;
	int warned;
};

static int open_sub(struct tail *t)
{
	struct ctl *ctl = t->p.ctl;
	int linger = 0, hwm = TAIL_RCVHWM;
	int64_t maxmsg = PROTO_MAX_EVENT_BYTES + 4096;

	if (!ctl->zctx)
		ctl->zctx = zmq_ctx_new();
	t->sub = ctl->zctx ? zmq_socket(ctl->zctx, ZMQ_SUB) : NULL;
	if (!t->sub) {
		fprintf(stderr, "gatewayctl: cannot create a socket: %s\n", zmq_strerror(errno));
		return CTL_EXIT_ERROR;
	}
	zmq_setsockopt(t->sub, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(t->sub, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(t->sub, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	zmq_setsockopt(t->sub, ZMQ_SUBSCRIBE, "", 0);
	if (ctl_bus_setup(ctl, t->sub, ctl->publish) != CTL_EXIT_OK)
		return CTL_EXIT_CONFIG;
	if (zmq_connect(t->sub, ctl->publish) != 0) {
		fprintf(stderr, "gatewayctl: bad publish endpoint %s: %s\n", ctl->publish,
			zmq_strerror(errno));
		return CTL_EXIT_CONFIG;
	}
	return CTL_EXIT_OK;
}

static int tail_heartbeat(struct tail *t, const void *data, size_t len)
{
	json_t *j = proto_json_from_msgpack(data, len);
	uint64_t head = 0, a = 0, b = 0;
	int rc = CTL_EXIT_OK;

	if (j && get_u64(j, "head_seq", &head) == 0 && seqtrack_head(&t->p.track, head, &a, &b))
		rc = replay_until(&t->p, b, 1);
	json_decref(j);
	return rc;
}

static int tail_event(struct tail *t, const char *type, size_t tlen, const void *data,
		      size_t len)
{
	struct proto_event ev;
	uint64_t a = 0, b = 0;
	int bad, rc = CTL_EXIT_OK;
	uint64_t seq = decode(type, tlen, data, len, &ev, &bad);
	enum seq_verdict v = seq ? seqtrack_check(&t->p.track, seq, &a, &b) : SEQ_BAD;

	if (v == SEQ_GAP) {
		rc = replay_until(&t->p, b, 1);
		v = seqtrack_check(&t->p.track, seq, NULL, NULL);
	}
	if (rc == CTL_EXIT_OK && v == SEQ_NEXT)
		emit(&t->p, &ev, seq, bad);
	proto_event_clear(&ev);
	return rc;
}

/* Receives the next frame of the message being read; 0 or -1 (none). */
static int recv_frame(void *sock, zmq_msg_t *m, int *more)
{
	size_t sz = sizeof(*more);

	zmq_msg_init(m);
	if (zmq_msg_recv(m, sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(m);
		*more = 0;
		return -1;
	}
	zmq_getsockopt(sock, ZMQ_RCVMORE, more, &sz);
	return 0;
}

static int dispatch(struct tail *t, zmq_msg_t *type, zmq_msg_t *body)
{
	const char *name = zmq_msg_data(type);
	size_t tlen = zmq_msg_size(type);

	if (tlen == strlen(WIRE_HEARTBEAT) && memcmp(name, WIRE_HEARTBEAT, tlen) == 0)
		return tail_heartbeat(t, zmq_msg_data(body), zmq_msg_size(body));
	return tail_event(t, name, tlen, zmq_msg_data(body), zmq_msg_size(body));
}

/* Reads one [type, event] message (extra frames are dropped) and handles it. */
static int tail_receive(struct tail *t)
{
	zmq_msg_t type, body, extra;
	int more = 0, rc = CTL_EXIT_OK;

	/* Multipart messages arrive whole: after the first frame the rest is there. */
	if (recv_frame(t->sub, &type, &more) != 0)
		return CTL_EXIT_OK;
	if (more && recv_frame(t->sub, &body, &more) == 0) {
		rc = dispatch(t, &type, &body);
		zmq_msg_close(&body);
	}
	while (more && recv_frame(t->sub, &extra, &more) == 0)
		zmq_msg_close(&extra);
	zmq_msg_close(&type);
	return rc;
}

static void check_silence(struct tail *t)
{
	int64_t limit = t->p.ctl->heartbeat_ms * 3000;

	if (limit < TAIL_SILENCE_MIN_US)
		limit = TAIL_SILENCE_MIN_US;
	if (t->warned || gw_mono_us() - t->last_rx_us < limit)
		return;
	fprintf(stderr, "gatewayctl: nothing from %s for %lld s (is gatewayd running?); "
		"still waiting\n", t->p.ctl->publish, (long long)(limit / 1000000));
	t->warned = 1;
}

static int tail_loop(struct tail *t)
{
	zmq_pollitem_t item = {.socket = t->sub, .events = ZMQ_POLLIN};
	int rc = CTL_EXIT_OK;

	t->last_rx_us = gw_mono_us();
	while (rc == CTL_EXIT_OK && !ctl_stop) {
		int n = zmq_poll(&item, 1, TAIL_POLL_MS);

		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "gatewayctl: poll: %s\n", zmq_strerror(errno));
			rc = CTL_EXIT_ERROR;
		} else if (n <= 0) {
			check_silence(t);
		} else {
			t->last_rx_us = gw_mono_us();
			t->warned = 0;
			rc = tail_receive(t);
		}
	}
	return rc;
}

int ctl_cmd_tail(struct ctl *ctl)
{
	struct tail t = {.p = {.ctl = ctl, .fill_to = UINT64_MAX}};
	int rc;

	ctl_catch_signals();
	/* Subscribe before replaying so nothing falls between the two. */
	rc = open_sub(&t);
	if (ctl->has_from)
		seqtrack_init_from(&t.p.track, ctl->from);
	else
		seqtrack_init(&t.p.track);
	if (rc == CTL_EXIT_OK && ctl->has_from)
		rc = replay_until(&t.p, UINT64_MAX, 0);
	if (rc == CTL_EXIT_OK)
		rc = tail_loop(&t);
	if (t.sub)
		zmq_close(t.sub);
	/* Stopping on a signal is the normal end of a tail. */
	return rc == CTL_EXIT_INTERRUPTED ? CTL_EXIT_OK : rc;
}

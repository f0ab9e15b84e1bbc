/*
 * natsbus.h - gateway-nats' side of the router, the same as any consumer's
 * (docs/events.md): a SUB socket on the publish endpoint, used only to
 * learn that something new exists (an event or a heartbeat), and `replay`
 * requests on the command endpoint, which return the events in seq order.
 * CURVE on tcp:// endpoints as core/bus.h sets it up.
 *
 * Ownership: a natsbus owns its sockets; the config is borrowed and must
 * outlive it. Threading: one thread.
 */
#ifndef GW_NATS_NATSBUS_H
#define GW_NATS_NATSBUS_H

#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "core/config.h"

struct natsbus;

/* A replay reply: its frames, kept alive while the events are used. */
struct natsbus_replay {
	zmq_msg_t *frames; /* "ok", result, then type and event per event */
	size_t n, cap;
	uint64_t head;     /* the last seq in the log */
	uint64_t count;    /* events in it: frames 2 + 2i and 3 + 2i */
};

/*
 * natsbus_open - connects a SUB socket (every frame) and a REQ socket to
 * the router's endpoints of `cfg` (borrowed). *out owns the result.
 * Returns GW_OK, GW_ENOMEM, GW_EBUS, or the error of bus_client_setup
 * (a CURVE key file unreadable; logged).
 */
int natsbus_open(const struct gw_config *cfg, struct natsbus **out);

/*
 * natsbus_replay - asks for the events from seq `from`, at most `limit`
 * (1..10000), waiting `timeout_ms` at most. On GW_OK *r holds the reply
 * (free with natsbus_replay_free, also after a failure). Returns GW_OK;
 * GW_EAGAIN (no answer in time: the request socket is made anew);
 * GW_EPROTO (an error reply or malformed frames; logged); GW_ENOMEM.
 */
int natsbus_replay(struct natsbus *b, uint64_t from, unsigned limit, int timeout_ms,
		   struct natsbus_replay *r);

/* natsbus_replay_free - closes the frames of *r and zeroes it. */
void natsbus_replay_free(struct natsbus_replay *r);

/*
 * natsbus_wait - waits up to `timeout_ms` for anything on the bus, then
 * drops everything queued (events are read by replay). Returns 1 when
 * something came, 0 when not (or on a signal).
 */
int natsbus_wait(struct natsbus *b, int timeout_ms);

/* natsbus_close - closes the sockets, frees `b`; accepts NULL. */
void natsbus_close(struct natsbus *b);

#endif

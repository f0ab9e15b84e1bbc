/*
 * jspub.h - gateway-nats' JetStream side (libnats): the connection, the
 * stream (created when missing, checked when present), where the stream
 * stands (the gateway seq of its last message), and the publishing of a
 * window of events, each once and in seq order.
 *
 * Each event is published to `<subject_prefix>.<type>` with the headers
 *   Nats-Msg-Id    <gateway_id>-<seq>   JetStream's duplicate key
 *   Omnigate-Seq   <seq>
 *   Omnigate-Type  <type>
 *   Content-Type   application/json | application/msgpack
 * and `Nats-Expected-Last-Sequence` set to the stream sequence it must
 * follow: JetStream refuses a message whose predecessor did not make it,
 * so the stream can never hold a hole; whatever fails, the publisher reads
 * the stream's last message again (jspub_resync) and goes on from there.
 *
 * Ownership: a jspub owns its connection; the config it was made from is
 * borrowed and must outlive it. Threading: every function from one thread
 * (the caller's); libnats runs its own threads, whose acknowledgements
 * this module collects under its lock. Secrets are never logged.
 */
#ifndef GW_NATS_JSPUB_H
#define GW_NATS_JSPUB_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

struct jspub;

/* One event to publish, borrowed: its type, its payload (JSON or msgpack,
 * as nats.payload says) and its seq. */
struct jsevent {
	const char *type; /* the event type, NUL-terminated */
	const void *data; /* the payload */
	size_t len;
	uint64_t seq;
};

/* Where the stream stands. */
struct jspos {
	uint64_t gw_seq;     /* gateway seq of the stream's last message; 0: none */
	uint64_t stream_seq; /* JetStream's last sequence (even if aged out) */
	int known;           /* 0: the stream is empty but had messages (aged
			      * out): where the gateway's log stood is unknown */
};

/*
 * jspub_create - a publisher for `conf` (borrowed). Connects nothing yet.
 * *out owns it. Returns GW_OK or GW_ENOMEM.
 */
int jspub_create(const struct gw_config_nats *conf, struct jspub **out);

/*
 * jspub_connect - connects to the servers (once; libnats reconnects by
 * itself afterwards) and makes the stream ready: created with the config's
 * subjects, storage, replicas and limits when missing, checked otherwise.
 * Returns GW_OK; GW_EAGAIN when no server answered or JetStream is not
 * ready (retry later; logged); GW_ECONFIG when the existing stream does not
 * hold the subjects or the options are refused (logged; retrying will not
 * help); GW_ENOMEM.
 */
int jspub_connect(struct jspub *p);

/*
 * jspub_resync - reads where the stream stands into *pos and bases the
 * next jspub_publish on it. Returns GW_OK; GW_EAGAIN (no answer: retry);
 * GW_EPROTO when the last message carries no Omnigate-Seq (something else
 * publishes into the stream; logged).
 */
int jspub_resync(struct jspub *p, struct jspos *pos);

/*
 * jspub_publish - publishes events ev[0..n) (consecutive seqs following
 * the stream's last message as of the last resync or publish) and waits
 * for every acknowledgement, at most ack_timeout_ms. Returns GW_OK when
 * JetStream stored *done of them (all `n`, or only the first when the
 * stream never held a message), in order; GW_EAGAIN when any failed or
 * timed out (call jspub_resync: the stream holds a prefix of them);
 * GW_EINVAL (n is 0 or above the window).
 */
int jspub_publish(struct jspub *p, const struct jsevent *ev, size_t n, size_t *done);

/*
 * jspub_reconnected - 1 once after libnats reconnected to a server (which
 * may have lost the stream's unsynced tail): the caller resyncs.
 */
int jspub_reconnected(struct jspub *p);

/* jspub_connected - 1 while connected to a server. */
int jspub_connected(struct jspub *p);

/* jspub_destroy - closes the connection, waits for libnats' threads to end
 * (nats_CloseAndWait: the library is closed for the process), frees `p`;
 * accepts NULL. */
void jspub_destroy(struct jspub *p);

#endif

/*
 * connector.h - the contract between the connector runtime and a channel.
 *
 * A connector *type* is a const struct connector_type filled with designated
 * initializers in connectors/<name>/<name>.c; its config table and check
 * are a struct gw_connector_conf_type (core/config.h) in
 * connectors/<name>/<name>_config.c. Both are listed by one line of
 * connectors/channels.def. An *instance* is one connectors[] entry of the
 * config, run as its own process (gateway-connector --instance NAME) by
 * gatewayd.
 *
 * The runtime (connectors/runtime.c) loads the config, opens the instance's
 * outbox (connectors/outbox.h) and calls, in order:
 *   create -> run -> destroy
 *
 * A type:
 *  - MUST hand every message to the outbox and acknowledge its provider only
 *    after the group commit (connectors/commit.h) reported it durable: the
 *    acknowledgement is a gcommit waiter; httpd's httpd_defer does it.
 *  - MUST pass each event through intake_add(inst, ...) (or, for a
 *    client that retries, intake_check() first), so that per-sender limits
 *    and loop detection apply, and keep what it cannot read with
 *    intake_keep() (after authentication; never a forged input). See
 *    connectors/intake.h and docs/internals/limits.md.
 *  - MUST return from run() soon (within ~100 ms) after connector_stopping()
 *    turns true, and call outbox_pump() at least every 50 ms while running.
 *  - MUST NOT log message bodies or secrets.
 *  - SHOULD update its counters in `inst->stats` for `gatewayctl status`.
 */
#ifndef GW_CONNECTOR_H
#define GW_CONNECTOR_H

#include <stdint.h>

#include "core/config.h"

struct outbox;
struct sender;
struct intake;

/* Counters shown by `gatewayctl status` (written to the status file). */
struct connector_stats {
	uint64_t requests;  /* provider requests/messages seen */
	uint64_t accepted;  /* made durable and acknowledged */
	uint64_t rejected;  /* answered with an error (4xx) */
	uint64_t failed;    /* answered 5xx (not durable) */
	/* Items of a request that could not be read, a request being kept
	 * (Meta: a message kept as unknown, or dropped); `dropped` of them
	 * made no event at all. Counted when read, so a retried body counts
	 * again. */
	uint64_t unreadable;
	uint64_t dropped;
	/* Rate limits: requests answered 429 by the bucket of their address
	 * (listen_guard.h, also counted in rejected) and messages over a
	 * sender's rate (connectors/intake.h: held, or answered 429 by the
	 * API); connections closed at accept (too many from one address, or
	 * every connection busy); messages held in the quarantine (rate or
	 * loop), loops and automated floods, unreadable inputs kept in the
	 * quarantine, and what a full quarantine could not keep. */
	uint64_t rate_limited;
	uint64_t conn_refused;
	uint64_t held;
	uint64_t loops;
	uint64_t kept;
	uint64_t quarantine_full;
};

/* Most counters of a type's own (connector_instance.counters). */
#define CONNECTOR_COUNTERS_MAX 12
#define CONNECTOR_WARNING_MAX 256

/* A counter of the type's own, shown by `gatewayctl status` as
 * <type>.<name>=<value> (e.g. telegram.conflicts=2). */
struct connector_counter {
	const char *name; /* a static string; NULL: the slot is unused */
	uint64_t value;
};

struct connector_instance {
	const struct gw_config *config;        /* borrowed, whole file */
	const struct gw_connector_conf *conf;  /* borrowed, this entry */
	const void *settings;                  /* == conf->settings */
	struct outbox *outbox;                 /* borrowed from the runtime */
	struct intake *intake;                 /* borrowed from the runtime: the
						* limits and the quarantine
						* (connectors/intake.h) */
	struct sender *sender;                 /* the type's, NULL if it sends
						* none: its counters are shown */
	const char *replies_off;               /* the type's, NULL or "" when its
						* replies can go out; else why
						* not (some or all), shown by
						* `gatewayctl status` */
	struct connector_stats stats;
	char log_module[96];                   /* "api/<instance>" for logs */
	void *ctx;                             /* the type's own state */
	/* The type's own counters (names set by create), in the status file. */
	struct connector_counter counters[CONNECTOR_COUNTERS_MAX];
	/* A condition the operator must act on now (another program reads the
	 * same account, the provider refuses the credentials): one line, never
	 * a secret; "" when none. `gatewayctl status` shows it. */
	char warning[CONNECTOR_WARNING_MAX];
};

struct connector_type {
	const char *name;                   /* config `type:` value, == conf->name */
	const char *channel;                /* `channel` of its events */
	/* conf - its keys and check (<name>_config.c); the runtime runs the
	 * check again before create. */
	const struct gw_connector_conf_type *conf;
	/* create - sets inst->ctx. Returns GW_OK or an error (logged, exit). */
	int (*create)(struct connector_instance *inst);
	/* run - serves until connector_stopping(); returns GW_OK or an error. */
	int (*run)(struct connector_instance *inst);
	/* destroy - frees inst->ctx; accepts a failed create. */
	void (*destroy)(struct connector_instance *inst);
	/*
	 * deliver - MAY be NULL: the channel cannot send replies yet. Called
	 * from outbox_pump() on the connector's thread for each outbound
	 * message the router hands over: `event`/`len` (borrowed for the call)
	 * is an encoded message.sent naming the customer in `to`, with
	 * `external_id` the gateway's id of the reply. The type MUST later
	 * report what happened with outbox_report(inst->outbox, delivery_id,
	 * ...): "sent" once the provider (or the browser) took it,
	 * "delivered"/"read" when it confirms, "failed" with a reason.
	 * The same delivery_id may be handed over again after a restart of
	 * either side; the type SHOULD not show it twice (connectors/sender.h
	 * does this for channels that send over libcurl). Returns GW_OK when it
	 * took the message; GW_EFULL or GW_EAGAIN when it is too busy to take
	 * it now (not reported: the router hands it over again in a few
	 * seconds); any other error is reported failed.
	 */
	int (*deliver)(struct connector_instance *inst, const void *event, size_t len,
		       uint64_t delivery_id);
	/*
	 * signal - MAY be NULL. Called from outbox_pump() on the connector's
	 * thread for an event the router passes on without keeping it (an
	 * agent's chat.typing): `event`/`len` borrowed for the call. The type
	 * SHOULD show it if it can; it is never reported and may be lost.
	 */
	void (*signal)(struct connector_instance *inst, const void *event, size_t len);
	/*
	 * reingest - MAY be NULL (the channel keeps no inputs). Called on the
	 * connector's thread when an operator reingests an input this type
	 * kept with intake_keep(): parses `len` bytes of `body` (its
	 * `content_type` as kept) again with the current code and
	 * intake_add()s each event (they are collected, then written with the
	 * entry's removal in one transaction; limits do not apply). Returns
	 * GW_OK, or an error with `why` (whylen bytes) saying why it still
	 * cannot be read (the entry stays, with that reason).
	 */
	int (*reingest)(struct connector_instance *inst, const char *content_type,
			const void *body, size_t len, char *why, size_t whylen);
};

/* connector_type_find - the registered type named `name`, or NULL. */
const struct connector_type *connector_type_find(const char *name);

/* connector_types - NULL-terminated list of every registered type. */
extern const struct connector_type *const connector_types[];

/* connector_stopping - true once SIGTERM/SIGINT arrived. Async-safe flag. */
int connector_stopping(void);

#endif

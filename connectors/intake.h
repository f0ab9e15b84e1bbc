/*
 * intake.h - what every channel does with what it takes in, between its
 * parser and the outbox: per-sender limits and loop detection
 * (connectors/limits.h), holding what is over them, keeping what could not
 * be read (the quarantine, store/spool_quarantine.h), and serving
 * `gatewayctl quarantine reingest` for the instance.
 *
 * The runtime creates one per instance (inst->intake) after the outbox and
 * before the type's create; a channel calls:
 *
 *   intake_add(inst, &ev, &perr, &held)
 *       instead of outbox_add_event for every event it makes: a
 *       message.received is checked against its sender's limits; within
 *       them it is queued for the outbox's next commit, over them it is
 *       held: its encoded event is queued as a quarantine record in the
 *       SAME commit (no fsync of its own), with the verdict as reason, and
 *       *held says so. Either way the provider is answered as usual once
 *       the commit is durable (Meta's 200, an email's progress, ...).
 *   intake_check(inst, &ev, &retry_ms)
 *       the verdict only, for a channel whose client retries (the API: a
 *       429 with Retry-After, nothing kept); then it queues the event with
 *       outbox_add_event itself when it passes.
 *   intake_keep(inst, reason, content_type, body, len)
 *       an input that made no event (a body that does not parse after its
 *       signature was checked, a required field missing, an item over a
 *       limit) kept byte for byte with its reason, in the next commit.
 *       Never for an input that failed authentication: that is not kept.
 *   connector_type.reingest (connector.h)
 *       parses a kept body again with the current code and intake_add()s
 *       its events; intake_poll runs it for `gatewayctl quarantine
 *       reingest` (the limits are bypassed, the events and the removal of
 *       the record are written in one transaction).
 *
 * The quarantine is bounded (quarantine_max_entries, quarantine_max_mb):
 * when full, a held message or a body is not kept; it is counted
 * (quarantine_full) and logged once a minute at most, and intake_add /
 * intake_keep return GW_EFULL so that the channel answers as for a full
 * spool (the provider retries later) or refuses as before.
 *
 * Counters (inst->stats, `gatewayctl status`): rate_limited (over the
 * sender's rate, held or answered 429), held (kept in the quarantine
 * because of a limit or a loop), loops (held as a loop or automated
 * flood), kept (bodies kept), quarantine_full.
 *
 * The calls take the instance: with no intake (inst->intake NULL, a unit
 * test's instance) intake_add is outbox_add_event, intake_check passes and
 * intake_keep keeps nothing.
 *
 * Threading: the instance's thread (the one that owns the outbox).
 */
#ifndef GW_CONNECTOR_INTAKE_H
#define GW_CONNECTOR_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "connectors/connector.h"
#include "connectors/limits.h"

struct intake;
struct proto_event;
struct proto_error;

#define INTAKE_REASON_MAX 512

/*
 * intake_reingest_fn - connector_type.reingest: reads `len` bytes of a kept
 * `body` (of `content_type`) again and intake_add()s each event it makes.
 * GW_OK when it made them (they are written with the record's removal);
 * any error: it still cannot be read, `why` (whylen bytes) says why.
 */
typedef int (*intake_reingest_fn)(struct connector_instance *inst, const char *content_type,
				  const void *body, size_t len, char *why, size_t whylen);

/*
 * intake_create - the intake of `inst` (whose outbox must be open): the
 * limits are read from the instance's config by key (LIMITS_CONF_ROWS; a
 * type without them gets the defaults), the reingest folder is
 * <state_dir>/spool/<instance>/reingest; `reingest` is the type's op (may
 * be NULL). *out owns it. Returns GW_OK,
 * GW_ENOMEM, GW_EINVAL (a path too long), GW_EIO.
 */
int intake_create(struct connector_instance *inst, const char *state_dir,
		  intake_reingest_fn reingest, struct intake **out);

/* intake_destroy - accepts NULL. */
void intake_destroy(struct intake *in);

/*
 * intake_check - the verdict of the limits for `ev` now (counted in the
 * limiter: call it once per message). Events other than message.received,
 * and all of them during a reingest, pass. Over a limit, *retry_ms (may be
 * NULL) is how long until the sender is under it; rate_limited or loops is
 * counted.
 */
enum limits_verdict intake_check(struct connector_instance *inst, const struct proto_event *ev,
				 int64_t *retry_ms);

/*
 * intake_add - checks `ev` (intake_check) and queues it for the next commit,
 * or holds it (see above); *held (may be NULL) is 1 when it was held. During
 * a reingest the event is collected for the reingest's transaction instead.
 * Returns outbox_add_event's codes (err filled for an event that cannot be
 * encoded); GW_EFULL also when the message should be held but the
 * quarantine is full (counted, logged): answer as for a full spool (503,
 * pause), so that the provider retries later and nothing is lost.
 */
int intake_add(struct connector_instance *inst, const struct proto_event *ev,
	       struct proto_error *err, int *held);

/*
 * intake_keep - queues `len` bytes of `body` (borrowed) with `reason` and
 * its `content_type` ("" when unknown) for the next commit: once it is
 * durable, the input may be acknowledged. Returns GW_OK (kept, or no
 * intake, or during a reingest), GW_EFULL (the quarantine or the commit
 * queue is full: not kept, counted and logged), GW_ENOMEM. A body over
 * SPOOLQ_DATA_MAX is not kept: GW_ETOOBIG (logged).
 */
int intake_keep(struct connector_instance *inst, const char *reason, const char *content_type,
		const void *body, size_t len);

/*
 * intake_keep_about - as intake_keep, for an input about an item the body
 * does not name (an API status report: the message id is in its path):
 * `external_id` (borrowed, cut to PROTO_MAX_EXTERNAL_ID bytes) is kept
 * with it, shown by `gatewayctl quarantine`, and given back on reingest
 * by intake_reingest_external_id. Same returns.
 */
int intake_keep_about(struct connector_instance *inst, const char *reason,
		      const char *content_type, const char *external_id, const void *body,
		      size_t len);

/*
 * intake_reingest_external_id - inside the type's reingest op (the
 * connector's thread): the external_id the input was kept with ("" when
 * none); "" outside a reingest. Borrowed until the op returns.
 */
const char *intake_reingest_external_id(const struct connector_instance *inst);

/*
 * intake_poll - serves the pending reingest requests (at most a few per
 * call). The runtime calls it from connector_status_tick, about once a
 * second; cheap when there is none.
 */
void intake_poll(struct intake *in);

#endif

/*
 * runtime.h - services the connector runtime offers to a running type:
 * the stop flag and the status file.
 *
 * A gateway-connector process runs exactly one instance, so this state is
 * per process (file-static in connectors/runtime_status.c). It lives in the
 * gw_connector_runtime library, not in runtime.c's main(), so that a type
 * and the tests link without the executable.
 *
 * The status file <state_dir>/run/<instance>.json is what `gatewayctl
 * status` reads:
 *   {"process":"connector","name":..,"type":..,"pid":..,"started_at":ms,
 *    "updated_at":ms,"counters":{"requests":..,"accepted":..,"rejected":..,
 *    "failed":..,"unreadable":..,"dropped":..,"outbox":{"spooled":..,"queued":..,"committed":..,
 *    "acked":..,"duplicates":..,"rejected":..,"resent":..},
 *    "replies":{"sent":..,"failed":..,"retried":..,"journaled":..,"queued":..},
 *    "<type>":{<the type's own counters>}},
 *    "send_error":"..","replies_off":"..","warning":".."}
 * ("replies" for a type that sends through connectors/sender.h; "send_error"
 * while its provider refuses the credentials, or why an instance sends no
 * replies at all: connector_instance.replies_off; "<type>" when the type
 * named counters in inst->counters; "warning" while inst->warning is set).
 * It is replaced atomically (gw_write_file_atomic), never half-written.
 *
 * Threading: the thread that runs the instance; connector_request_stop()
 * is also async-signal-safe.
 */
#ifndef GW_CONNECTOR_RUNTIME_H
#define GW_CONNECTOR_RUNTIME_H

#include "connectors/connector.h"

/*
 * connector_request_stop - makes connector_stopping() true. Only sets a
 * sig_atomic_t, so a signal handler may call it.
 */
void connector_request_stop(void);

/*
 * connector_status_init - remembers where the status file of `inst` goes
 * (<state_dir>/run/<instance>.json, the folder must exist) and the start
 * time. `inst` stays borrowed by the caller. Returns GW_OK or GW_EINVAL
 * (path too long).
 */
int connector_status_init(const struct connector_instance *inst, const char *state_dir);

/*
 * connector_status_write - writes the status file now from inst->stats and
 * the outbox counters (inst->outbox may be NULL). Returns GW_OK, GW_EIO,
 * GW_ENOMEM; a failure is logged once and is never fatal for the caller.
 */
int connector_status_write(struct connector_instance *inst);

/*
 * connector_status_tick - writes the status file if the last write is at
 * least a second old. Cheap to call every loop iteration (one clock read).
 */
void connector_status_tick(struct connector_instance *inst);

/* connector_status_remove - deletes the status file (clean exit). */
void connector_status_remove(void);

#endif

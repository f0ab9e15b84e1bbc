/*
 * spool_reingest.h - the files through which `gatewayctl quarantine
 * reingest` asks a connector to serve an entry of its spool's quarantine
 * (spool_quarantine.h) again, and the connector answers:
 *
 *   <state_dir>/spool/<instance>/reingest/<N>.request   gatewayctl's ask
 *   <state_dir>/spool/<instance>/reingest/<N>.done      the answer
 *
 * N is the entry's id (decimal, no leading zero). The answer is a JSON
 * document {"id":"<instance>/<N>","result":R,"reason":"...","at":ms} with R
 * "released", "ingested", "quarantined" or "error"; gatewayctl prints and
 * deletes it. The email connector's quarantine answers the same way
 * (quarantine.h).
 *
 * The answer is replaced atomically (never half-written), not fsync'ed:
 * gatewayctl waits on it, and a power cut loses only an answer nobody
 * waits for any more.
 *
 * Threading: pure functions of their arguments and the file system; any
 * thread.
 */
#ifndef GW_STORE_SPOOL_REINGEST_H
#define GW_STORE_SPOOL_REINGEST_H

#include "core/err.h"

#include <stdint.h>

/*
 * spool_reingest_request_id - N of a request file's name "<N>.request"
 * (borrowed), else 0 (another file, a leading zero, N over 2^64 - 1).
 */
uint64_t spool_reingest_request_id(const char *name);

/*
 * spool_reingest_answer - writes <dir>/<id>.done for entry `id` of
 * `instance` (all borrowed; `reason` may be NULL: ""), its "at" now.
 * GW_OK, GW_EINVAL (path too long), GW_ENOMEM, GW_EIO (errno the cause).
 */
GW_MUST_CHECK int spool_reingest_answer(const char *dir, const char *instance, uint64_t id,
					const char *result, const char *reason);

#endif

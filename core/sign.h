/*
 * sign.h - the gateway's signature of an HTTP body it sends: the API
 * channel's reply callbacks (connectors/api/api_callback.c) and the
 * integration webhooks (gateway/integration/) share it, so a receiver
 * verifies both the same way (docs/channels/api.md, docs/integration.md).
 *
 * The value: "t=<t>,v1=<64 lowercase hex digits>", the HMAC-SHA256 keyed
 * with the secret over the bytes "<t>.<body>", t the unix time in seconds.
 *
 * Threading: reentrant. No global state.
 */
#ifndef GW_SIGN_H
#define GW_SIGN_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#define GW_SIGN_MAX 96 /* "t=<20 digits>,v1=<64 hex>" and a NUL */

/*
 * gw_sign - the signature of `body` (`len` bytes, borrowed) at time `t` with
 * `secret` (borrowed) into `out` (`outlen` bytes, GW_SIGN_MAX is enough).
 * Returns GW_OK, GW_EINVAL (out too small, t negative), GW_EIO (OpenSSL).
 */
GW_MUST_CHECK int gw_sign(const void *secret, size_t secret_len, int64_t t, const void *body, size_t len,
	    char *out, size_t outlen);

#endif

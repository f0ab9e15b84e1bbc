/*
 * bus.h - who may talk on the router's ZeroMQ sockets (docs/security.md).
 *
 * ipc:// endpoints (the default) live in <state_dir>/sock/, a folder only
 * the gateway's user can enter: the file system is the access control.
 * tcp:// endpoints, when router.curve_key is set, use ZeroMQ's CURVE:
 * encrypted, and a client must prove a key pair whose public half the
 * router allows (router/zap.c checks it). Without curve_key, only loopback
 * tcp:// is accepted, with router.plain_loopback (core/config_bus.c) and a
 * warning at start. The gateway's own clients prove the router's key, or
 * router.curve_client_key when set (with its rights only).
 *
 * Key files are those of `gatewayctl keys generate NAME`: NAME.key holds
 * both halves and must stay private (mode 0600); NAME.pub holds the public
 * half, to hand to whoever must allow it. Both use the ZeroMQ certificate
 * syntax, so other ZeroMQ tools read them:
 *     public-key = "<40 characters of Z85>"
 *     secret-key = "<40 characters of Z85>"      (NAME.key only)
 * An allow-list file holds public keys, one per line: a .pub file's line,
 * or the bare 40-character key (anything after a blank is a comment); a
 * line starting with `#` is a comment.
 *
 * Threading: every function is reentrant.
 */
#ifndef GW_BUS_H
#define GW_BUS_H

#include "core/err.h"

#include <stddef.h>

#include "core/config.h"

#define BUS_Z85_LEN 40 /* a CURVE key in Z85 */

struct bus_key {
	char pub[BUS_Z85_LEN + 1];
	char sec[BUS_Z85_LEN + 1]; /* "" when only the public half is known */
};

/*
 * bus_key_read - the key in the file at `path` (a .key or .pub file, or a
 * bare public key) into *k. Returns GW_OK, GW_EIO (cannot read: errno),
 * GW_EPROTO (no key in it), with why written.
 */
GW_MUST_CHECK int bus_key_read(const char *path, struct bus_key *k, char *why, size_t whylen);

/*
 * bus_key_generate - a new key pair written as DIR/NAME.key (0600, both
 * halves) and DIR/NAME.pub (0644); refuses to overwrite either. *k holds
 * it. Returns GW_OK, GW_EEXIST, GW_EIO, GW_EINVAL (a name with '/' or too
 * long, or CURVE not built into libzmq), with why written.
 */
GW_MUST_CHECK int bus_key_generate(const char *dir, const char *name, struct bus_key *k, char *why,
		     size_t whylen);

/*
 * bus_keys_load - the public keys listed in the allow-list file `path`, as
 * a malloc'ed array of *n entries (*out; caller frees). NULL path: none.
 * Returns GW_OK, GW_EIO, GW_EPROTO (a line that is no key: its number in
 * why), GW_ENOMEM.
 */
GW_MUST_CHECK int bus_keys_load(const char *path, struct bus_key **out, size_t *n, char *why, size_t whylen);

/*
 * bus_server_setup - makes `sock` (not yet bound) a CURVE server with key
 * `k` whose clients the ZAP handler checks in `domain` ("ingest",
 * "publish", "command"). Returns GW_OK or GW_EBUS.
 */
GW_MUST_CHECK int bus_server_setup(void *sock, const struct bus_key *k, const char *domain);

/*
 * bus_client_setup - before `sock` connects to the router's `endpoint`:
 * when it is tcp:// and r->curve_key or r->curve_client_key is set, the
 * socket becomes a CURVE client proving r->curve_client_key (else the
 * router's own curve_key: full rights) and checking the server's key
 * r->curve_server_public (else curve_key's public half). Returns GW_OK, or
 * the error of bus_key_read (a key file unreadable: run as the gateway's
 * user), GW_EPROTO (a client file without its secret half), GW_ECONFIG
 * (no client key, or curve_client_key without a server key) or GW_EBUS,
 * with why.
 */
GW_MUST_CHECK int bus_client_setup(void *sock, const struct gw_config_router *r, const char *endpoint,
		     char *why, size_t whylen);

/* bus_uses_curve - 1 when `endpoint` runs CURVE under this config: tcp://
 * with curve_key (the router's host), curve_client_key or
 * curve_server_public (a client's). */
GW_MUST_CHECK int bus_uses_curve(const struct gw_config_router *r, const char *endpoint);

#endif

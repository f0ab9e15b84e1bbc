/*
 * config_value.h - the syntaxes of scalar config values (internal to
 * gw_config). Every function is pure and reentrant. Those that can refuse a
 * value return GW_ECONFIG and write why into `why` (whylen bytes), quoting
 * at most CONF_ECHO_MAX characters of the value: never call them with a
 * secret unless `why` is discarded.
 */
#ifndef GW_CONFIG_VALUE_H
#define GW_CONFIG_VALUE_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

#define CONF_ECHO_MAX 40 /* longest piece of a value quoted in an error */

/*
 * conf_echo - copies at most CONF_ECHO_MAX characters of `s` into `buf`
 * (len bytes, "..." marks a cut), control characters replaced by '?', so an
 * error quoting it stays one short line. Returns `buf`.
 */
const char *conf_echo(char *buf, size_t len, const char *s);

/*
 * conf_parse_ll - the whole of `s` as a decimal integer (strtoll; no
 * spaces, no hex). Returns GW_OK, GW_EINVAL (not an integer) or GW_ETOOBIG
 * (out of the range of long long).
 */
GW_MUST_CHECK int conf_parse_ll(const char *s, long long *out);

/*
 * conf_env_ref - whether `s` names an environment variable: *is_ref true
 * when `s` is exactly "${NAME}" (NAME, [A-Za-z_][A-Za-z0-9_]* shorter than
 * namelen, copied into `name`), false when "${" does not appear. Returns
 * GW_OK, or GW_ECONFIG when "${" appears in any other form.
 */
GW_MUST_CHECK int conf_env_ref(const char *s, char *name, size_t namelen, bool *is_ref);

/*
 * conf_join_path - `rel` resolved against the absolute folder `base`
 * (leading "./" dropped; an absolute `rel` is kept). Returns a new string
 * (caller frees) or NULL when out of memory.
 */
char *conf_join_path(const char *base, const char *rel);

/*
 * conf_split_host_port - "host:port" or "[v6]:port": copies the host
 * (without brackets, shorter than hostlen) into `host`, the port (1..65535)
 * into *port, and whether it was bracketed into *v6. The host is not
 * checked further. Returns GW_OK or GW_ECONFIG with why.
 */
GW_MUST_CHECK int conf_split_host_port(const char *s, char *host, size_t hostlen, int *port, bool *v6,
			 char *why, size_t whylen);

/*
 * conf_listen_parse - a CONF_LISTEN value into *out: the host must be a
 * numeric IPv4 address, a bracketed numeric IPv6 address or "localhost".
 * Returns GW_OK or GW_ECONFIG with why.
 */
GW_MUST_CHECK int conf_listen_parse(const char *s, struct conf_listen *out, char *why, size_t whylen);

/*
 * conf_endpoint_check - a ZeroMQ endpoint: tcp://host:port, ipc://path or
 * inproc://name. Returns GW_OK or GW_ECONFIG with why.
 */
GW_MUST_CHECK int conf_endpoint_check(const char *s, char *why, size_t whylen);

/*
 * conf_listen_overlap - whether binding both addresses would clash: same
 * port and the same host (localhost = 127.0.0.1), or either a wildcard
 * ("*", 0.0.0.0, ::). Port 0 means "not an address" and never clashes.
 */
bool conf_listen_overlap(const struct conf_listen *a, const struct conf_listen *b);

/* conf_listen_format - "host:port", or "[host]:port" for IPv6. */
void conf_listen_format(char *buf, size_t len, const struct conf_listen *l);

#endif

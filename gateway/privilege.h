/*
 * privilege.h - least privilege for gatewayd (docs/security.md).
 *
 * Started as root with `user:` set, gatewayd gives state_dir (and all it
 * holds) to that user and becomes it before it starts anything: the
 * router and the connectors inherit the user. Nothing the gateway opens
 * needs root; its listeners default to high ports on loopback, and when
 * one is below 1024 CAP_NET_BIND_SERVICE alone is kept, as an ambient
 * capability that the processes gatewayd starts inherit (every other
 * capability is dropped).
 *
 * Threading: call once, early, before any thread starts.
 */
#ifndef GW_PRIVILEGE_H
#define GW_PRIVILEGE_H

#include "core/config.h"

/*
 * privilege_drop - as above. Without `user:` nothing changes (a warning
 * when running as root); as a non-root user it must be that user. Returns
 * GW_OK, GW_ECONFIG (no such account, or not root and another user: logged)
 * or GW_EIO (chown or setuid failed: logged).
 */
int privilege_drop(const struct gw_config *cfg);

/*
 * privilege_check_files - for --check-config: with `user:` set, a warning
 * on stderr for each file the processes read as that user (the config,
 * the CURVE key files and lists) that its mode bits, or a folder above it,
 * keep from that user. Nothing without `user:` or an unknown account.
 */
void privilege_check_files(const struct gw_config *cfg);

#endif

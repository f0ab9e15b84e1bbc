/*
 * ctl_qspool.h - the quarantine of every connector's spool for `gatewayctl
 * quarantine` (store/spool_quarantine.h): held messages and unreadable
 * inputs of the api, meta, live-chat (and email held) instances, read from
 * <state_dir>/spool/<instance>/ without the connector's help (a read-only
 * LMDB open, also while it runs). Their ids are "<instance>/<N>".
 *
 * Threading: gatewayctl's one thread.
 */
#ifndef GW_CTL_QSPOOL_H
#define GW_CTL_QSPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * ctlq_spool_list - appends an object per entry of every spool under
 * <state_dir>/spool to `arr` (at most `max` in all): {"id","instance",
 * "channel","kind","quarantined_at","size","reason","sender",
 * "external_id","content_type","stored":true}. Spools that cannot be read
 * are skipped (a warning on stderr).
 */
void ctlq_spool_list(const char *state_dir, json_t *arr, size_t max);

/*
 * ctlq_spool_show - entry `n` of `instance` as such an object with its
 * bytes: "text" when they are UTF-8 without NUL, else "hexdump". NULL when
 * there is no such entry (or no memory).
 */
json_t *ctlq_spool_show(const char *state_dir, const char *instance, uint64_t n);

#endif

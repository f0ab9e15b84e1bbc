/*
 * util.h - small helpers shared by every process: clocks, random ids, files.
 */
#ifndef GW_UTIL_H
#define GW_UTIL_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

/* gw_now_ms - wall-clock time in milliseconds since the Unix epoch. */
int64_t gw_now_ms(void);

/* gw_mono_us - a monotonic clock in microseconds, for intervals only. */
int64_t gw_mono_us(void);

/*
 * gw_random_id - writes a random 128-bit id as 32 lowercase hex characters
 * and a NUL into `out` (which must hold 33 bytes). Uses OpenSSL's CSPRNG.
 * Returns GW_OK or GW_EIO.
 */
GW_MUST_CHECK int gw_random_id(char out[33]);

/* gw_mkdir_p - creates `path` and its parents (mode 0700). GW_OK or GW_EIO. */
GW_MUST_CHECK int gw_mkdir_p(const char *path);

/*
 * gw_write_file_atomic - replaces the file at `path` with `len` bytes of
 * `data` by writing a temporary file beside it and renaming it, so readers
 * never see a half-written file. Not fsync'ed: for status files only.
 * GW_OK, GW_EINVAL (path too long) or GW_EIO with errno the cause (ENOSPC
 * on a full disk): gw_err_text says which.
 */
GW_MUST_CHECK int gw_write_file_atomic(const char *path, const void *data, size_t len);

/* gw_write_all - writes all `len` bytes to `fd`, retrying short writes and
 * EINTR. GW_OK or GW_EIO. */
GW_MUST_CHECK int gw_write_all(int fd, const void *data, size_t len);

/* gw_fsync_dir - fsyncs the folder `dir`, so that a rename or a new entry in
 * it survives a crash. GW_OK or GW_EIO. */
GW_MUST_CHECK int gw_fsync_dir(const char *dir);

/*
 * gw_sync_hook_set - tests: fn(arg, dir) runs on the calling thread before
 * each gw_fsync_dir (every durable file of gw_write_file_durable and every
 * blob of store/attachments.h goes through one), so that a test may see
 * which thread syncs and make a sync slow. NULL: none (the default). Any
 * thread; a call already in fn finishes with the old hook.
 */
void gw_sync_hook_set(void (*fn)(void *arg, const char *dir), void *arg);

/*
 * gw_write_file_durable - as gw_write_file_atomic, and durable when it
 * returns GW_OK: the file is fsync'ed before the rename and its folder
 * after. For state that must survive a power cut (e.g. the last committed
 * IMAP UID). GW_OK, GW_EINVAL (path too long), GW_EIO, GW_ENOMEM.
 */
GW_MUST_CHECK int gw_write_file_durable(const char *path, const void *data, size_t len);

/*
 * gw_read_file - reads at most `max` bytes of `path` into a new NUL-terminated
 * buffer stored in *out (caller frees) and its length in *len.
 * GW_ENOTFOUND, GW_ETOOBIG (file over `max`), GW_EIO, GW_ENOMEM.
 */
GW_MUST_CHECK int gw_read_file(const char *path, size_t max, char **out, size_t *len);

/*
 * gw_exe_dir - the folder of the running executable (/proc/self/exe) into
 * `buf` (size bytes): the gateway's programs find each other there. GW_OK,
 * GW_EIO (no /proc), GW_EINVAL (does not fit).
 */
GW_MUST_CHECK int gw_exe_dir(char *buf, size_t size);

/*
 * gw_exe_relative - "<folder of the running executable>/<rel>" into `buf`
 * (size bytes) when that file or folder exists: how an installed program
 * finds what was installed with it (rel is e.g. "../share/omnigate/x",
 * computed from the install layout at build time). GW_OK, GW_ENOTFOUND (not
 * there: e.g. running from the build tree), GW_EIO, GW_EINVAL (too long).
 */
GW_MUST_CHECK int gw_exe_relative(const char *rel, char *buf, size_t size);

/* gw_strdup - strdup that accepts NULL (returns NULL). */
char *gw_strdup(const char *s);

/*
 * gw_ct_equal - compares two byte strings in time that depends only on their
 * lengths (for secrets and signatures). Returns 1 when equal.
 */
GW_MUST_CHECK int gw_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/*
 * gw_utf8_trim - drops, in place, a UTF-8 sequence cut short at the end of
 * the NUL-terminated `s` (a lead byte without all its continuation bytes),
 * as a bounded snprintf leaves when its limit falls inside a character.
 * Everything else, invalid bytes included, is left as it is. No error.
 */
void gw_utf8_trim(char *s);

/*
 * gw_utf8_cut - shortens the NUL-terminated UTF-8 `s` in place to at most
 * `max` bytes without splitting a character (continuation bytes at the cut
 * go with it). Shorter strings are left as they are. No error.
 */
void gw_utf8_cut(char *s, size_t max);

#define GW_TAG_MAX 64 /* bytes of a ticket tag (PROTO_MAX_TAG) */

/* gw_tag_valid - 1 when `tag` is a ticket tag: 1 to 64 bytes of lowercase
 * letters, digits and - _ . : (the config's tag rules, ticket.tag). */
GW_MUST_CHECK int gw_tag_valid(const char *tag);

#define GW_DURATION_MAX_LEN 32 /* longest duration text gw_duration_parse reads */

/*
 * gw_duration_parse - a duration as people write it, into *out_s seconds:
 * one or more parts, each a decimal number and a unit (`s`, `m`, `h`, `d`),
 * largest unit first and each unit once ("90s", "5m", "1h30m", "2d"); or a
 * bare number, read in units of `bare_unit_s` seconds (60: minutes), so
 * that an older value without a unit keeps its meaning. No spaces, signs
 * or fractions; at most GW_DURATION_MAX_LEN bytes. Pure and reentrant;
 * *out_s is written only on success. Returns GW_OK, GW_EINVAL (not a
 * duration, or bare_unit_s < 1) or GW_ETOOBIG (too long a text, or more
 * seconds than a long long holds).
 */
int gw_duration_parse(const char *s, long long bare_unit_s, long long *out_s);

#endif

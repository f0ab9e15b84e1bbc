/*
 * attachments.h - a content-addressed store for the bytes of attachments
 * (email parts today; any channel that keeps media bytes may use it).
 *
 * A blob lives at <dir>/<first 2 hex digits>/<64 hex digits of its SHA-256>.
 * It is written to a temporary file in the same folder, fsync'ed, renamed to
 * its digest and the folder fsync'ed, so a name that exists always holds the
 * whole blob. Storing the same bytes twice is a no-op: the name is the
 * content. The fan-out folder keeps any one folder small.
 *
 * Events refer to a blob as "sha256:<hex>" (ATTACH_REF_PREFIX); the store
 * folder is a deployment setting, so the ref does not name it.
 *
 * Each blob may have its media type beside it, <hex>.type (one line, the
 * type the sender declared when the bytes were first stored), written the
 * same way; a blob stored before types were kept has none.
 *
 * Threading: every function is reentrant; several processes may store into
 * the same folder at once (temporary names are unique, rename is atomic).
 */
#ifndef GW_ATTACHMENTS_H
#define GW_ATTACHMENTS_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#define ATTACH_REF_PREFIX "sha256:"
#define ATTACH_HEX_LEN 64 /* hex digits of a SHA-256 */
#define ATTACH_TYPE_MAX 127 /* bytes of a stored media type */

/*
 * attach_sha256_hex - the SHA-256 of `len` bytes at `data` (borrowed) as 64
 * lowercase hex digits and a NUL in `hex`. Returns GW_OK or GW_ENOMEM.
 */
GW_MUST_CHECK int attach_sha256_hex(const void *data, size_t len, char hex[ATTACH_HEX_LEN + 1]);

/*
 * attach_put - stores `len` bytes at `data` (borrowed) under `dir` (created
 * with its parents when missing, mode 0700) and writes their digest into
 * `hex`. A blob already stored with that digest and size is left as it is.
 * Returns GW_OK, GW_ETOOBIG (len > max_bytes: nothing written, `hex` still
 * set), GW_EINVAL (path too long), GW_EIO (a system call failed; errno is
 * kept), GW_ENOMEM.
 */
GW_MUST_CHECK int attach_put(const char *dir, const void *data, size_t len, uint64_t max_bytes,
	       char hex[ATTACH_HEX_LEN + 1]);

/*
 * attach_path - the file name of digest `hex` under `dir` into `buf`.
 * Returns GW_OK, or GW_EINVAL when `hex` is not 64 lowercase hex digits or
 * the name does not fit in `size` bytes.
 */
GW_MUST_CHECK int attach_path(const char *dir, const char *hex, char *buf, size_t size);

/*
 * attach_tmp_open - a new, unique, empty temporary file in `dir` (created
 * with its parents when missing, mode 0700) for bytes that arrive in
 * pieces; its name goes into `tmp` (size bytes) and its descriptor, open
 * for writing, into *fd (the caller's: it closes it). The caller writes
 * the bytes, then hands the file to attach_adopt. Returns GW_OK, GW_EINVAL
 * (name too long), GW_EIO (errno kept).
 */
GW_MUST_CHECK int attach_tmp_open(const char *dir, char *tmp, size_t size, int *fd);

/*
 * attach_adopt - makes the complete temporary file `tmp` (from
 * attach_tmp_open on the same `dir`, `len` bytes whose digest is `hex`,
 * its descriptor `fd` still open) the blob of `hex`: fsync'ed, renamed to
 * its name, the folders fsync'ed. A blob already stored with that digest
 * and size is kept and `tmp` removed. `tmp` never remains, whatever the
 * result; `fd` stays the caller's. Returns GW_OK, GW_EINVAL (`hex` is not
 * a digest, path too long), GW_EIO (errno kept).
 */
GW_MUST_CHECK int attach_adopt(const char *dir, const char *tmp, int fd, const char *hex, uint64_t len);

/*
 * attach_type_put - records `type` (borrowed; may be NULL) as the media
 * type of blob `hex` under `dir`, in <dir>/<2 hex>/<hex>.type: "a/b" of
 * token characters, parameters after ';' cut off, lowercased, at most
 * ATTACH_TYPE_MAX bytes; written to a temporary file, fsync'ed, renamed and
 * the folder fsync'ed (call it after the blob is stored). The first type
 * recorded stays: the bytes are the same whoever declares them. Nothing is
 * written for a NULL, empty, generic (application/octet-stream, a wildcard)
 * or malformed type; the blob is then served with a type guessed from its
 * bytes. Returns GW_OK (also when nothing was written), GW_EINVAL (`hex` is
 * not a digest, path too long), GW_EIO (errno kept).
 */
GW_MUST_CHECK int attach_type_put(const char *dir, const char *hex, const char *type);

/*
 * attach_type_get - the media type recorded for blob `hex` under `dir`
 * into `buf` (size bytes, at least ATTACH_TYPE_MAX + 1), checked again as
 * attach_type_put writes it. Returns GW_OK, GW_ENOTFOUND (none recorded),
 * GW_EINVAL (`hex` not a digest, `size` too small, the file does not hold a
 * media type), GW_EIO (errno kept).
 */
GW_MUST_CHECK int attach_type_get(const char *dir, const char *hex, char *buf, size_t size);

#endif

/*
 * lc_file.h - the pure checks of a live-chat file upload, kept apart from the
 * server so that they are unit-tested and fuzzed alone: what the bytes are
 * (content sniffing by magic bytes), whether a media type is in the allowed
 * list, and a safe display name for the file.
 *
 * Threading: reentrant; nothing is allocated.
 */
#ifndef GW_LIVECHAT_FILE_H
#define GW_LIVECHAT_FILE_H

#include <stddef.h>

#define LC_FILE_NAME_MAX 200   /* bytes of a cleaned file name at most */
#define LC_FILE_TYPE_MAX 127   /* bytes of a declared media type at most */

/*
 * lc_sniff - the media type that the first bytes of `data` (`len` bytes,
 * borrowed) show: "image/png", "image/jpeg", "image/gif", "image/webp",
 * "application/pdf", or "text/plain" for valid UTF-8 without NUL or
 * control characters other than tab, newline, carriage return and form
 * feed. NULL when the bytes are none of these (or empty). The returned
 * string is static.
 */
const char *lc_sniff(const void *data, size_t len);

/*
 * lc_type_allowed - 1 when `type` (exact, lowercase) is an item of the
 * comma-separated `list` (blanks around items ignored), else 0. A NULL or
 * empty list allows nothing.
 */
int lc_type_allowed(const char *list, const char *type);

/*
 * lc_type_normalize - the declared media type `in` without its parameters
 * (";charset=..."), blanks trimmed, lowercased, into out[outlen]. Returns
 * GW_OK, or GW_EINVAL when it is empty, longer than LC_FILE_TYPE_MAX or not
 * of the form token/token.
 */
int lc_type_normalize(const char *in, char *out, size_t outlen);

/*
 * lc_name_clean - a display name for the file named `in` (UTF-8, as the
 * browser sent it) into out[outlen] (outlen > 0): the part after the last
 * '/' or '\\', control characters (below 0x20, 0x7f) and the quotes '"'
 * dropped, leading dots and blanks dropped, cut to LC_FILE_NAME_MAX bytes
 * (and outlen - 1) on a character boundary. Returns GW_OK, or GW_EINVAL
 * (out set to "") when `in` is not valid UTF-8 or nothing is left.
 */
int lc_name_clean(const char *in, char *out, size_t outlen);

#endif

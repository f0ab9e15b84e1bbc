/*
 * normalize.h - one spelling per address, so that the same customer is found
 * whatever the channel or the way they typed it.
 *
 * Email (RFC 5321/5322): surrounding spaces and a "mailto:" prefix dropped;
 * an address in angle brackets ("Ann <ann@x.org>") reduced to its addr-spec;
 * the domain lowercased (domains are case-insensitive); the local part
 * lowercased too unless quoted, because RFC 5321 asks hosts not to rely on
 * case in local parts and every major provider ignores it; dots and
 * "+tags" in the local part kept (they are significant per RFC; Gmail's
 * dot-blindness is a provider policy, not applied). Exactly one '@' (one
 * inside a quoted local part does not count), a non-empty local part with
 * no spaces or RFC 5322 specials unless quoted, a domain of letters,
 * digits, '-', '_' or UTF-8 bytes with no empty labels (no domain
 * literals). In a mailto: URI the "?headers" part is dropped. Nothing else
 * is changed (no IDN conversion, no percent-decoding).
 *
 * Phone numbers: parsed and checked by libphonenumber (Debian's
 * libphonenumber) and written in E.164 ("+4930123456"). A number without a
 * leading '+' or international prefix is read in `region` (ISO 3166
 * alpha-2, e.g. "FR", either case; NULL or "" for none: then only
 * international forms parse). A WhatsApp id (wa_id, E.164 digits without
 * '+') is read as international. A Brazilian mobile number written with
 * the eight digits it had before 2016 (+55 11 8765-4321, as WhatsApp ids
 * often still are) is given its ninth digit (+5511987654321): one number,
 * one spelling.
 *
 * On any error `out` holds "" (when `size` > 0).
 */
#ifndef GW_NORMALIZE_H
#define GW_NORMALIZE_H

#include <stddef.h>

/* norm_email - the normalized address of `in` into `out` (`size` bytes).
 * GW_OK, GW_EINVAL (not an address, or `in` NULL), GW_ETOOBIG (out NULL or
 * too small; checked after validity). */
int norm_email(const char *in, char *out, size_t size);

/* norm_phone - E.164 of `in` into `out` (`size` bytes; 17 always do).
 * GW_OK, GW_EINVAL (`in` NULL, not a valid number in libphonenumber's
 * metadata, or a national form with no or an unknown region), GW_ETOOBIG,
 * GW_ENOMEM. Safe from any thread. */
int norm_phone(const char *in, const char *region, char *out, size_t size);

/* norm_wa_id - a WhatsApp wa_id ("4930123456") as E.164 ("+4930123456"),
 * validated as norm_phone does. GW_OK, GW_EINVAL (NULL, not 1-15 digits
 * only, or not a valid number), GW_ETOOBIG, GW_ENOMEM. */
int norm_wa_id(const char *wa_id, char *out, size_t size);

/* norm_region_valid - 1 when `region` (either case) is a region
 * libphonenumber has numbering metadata for, else 0 (also for NULL, "",
 * "ZZ" and the non-geographic "001"). For config checks: builds the set of
 * regions on every call. */
int norm_region_valid(const char *region);

#endif

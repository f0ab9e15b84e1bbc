/*
 * parse_common.h - what the channels' webhook parsers share (Meta's
 * meta_parse.c, Telegram's tg_parse.c): the first error of a parse, and
 * the bounded list of events a body becomes. Each parser keeps its own
 * context and wording; these are the mechanics under meta_fail/tg_fail
 * and meta_push/tg_push.
 *
 * Pure functions: no I/O but the randomness of a new event id; any thread.
 */
#ifndef GW_PARSE_COMMON_H
#define GW_PARSE_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

/*
 * pc_vfail - records a failure in *code and `message` (`size` bytes,
 * formatted from fmt/ap, a UTF-8 sequence cut at its end dropped) unless
 * one is recorded already: the first failure is the cause, later ones its
 * consequences. Returns `new_code`, for `return pc_vfail(...)`.
 */
int pc_vfail(int *code, char *message, size_t size, int new_code, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

/*
 * pc_push - appends a new event of `type` (a fresh id, ts = `ts`) to the
 * array *ev of *n events (room for *cap), growing it up to `max` events;
 * *out points at it and the array owns it. Returns GW_OK, GW_ETOOBIG (`max`
 * events already), GW_ENOMEM, or GW_EIO (no randomness for the id); on
 * failure the list is as it was.
 */
int pc_push(struct proto_event **ev, size_t *n, size_t *cap, size_t max, enum proto_type type,
	    int64_t ts, struct proto_event **out);

#endif

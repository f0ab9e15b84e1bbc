/*
 * parse_common.h - what the channels' webhook parsers share (Meta's
 * meta_parse.c, Telegram's tg_parse.c): the first error of a parse, and
 * the bounded list of events a body becomes, an item that cannot be read
 * undone. Each parser keeps its own context and wording; these are the
 * mechanics under meta_fail/tg_fail, meta_push/tg_push and
 * meta_item_undo/tg_recover.
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

/*
 * pc_undo - an item of a body (a Meta message or status, a Telegram
 * Update) failed with `rc`. When the failure is the item's own (GW_EPROTO
 * or GW_ETOOBIG, not `body_fault`: a failure of the whole body, such as
 * memory) and mark <= *n: drops the events the item added (ev[mark] on),
 * keeps the recorded reason (`message`) in `why` (`whylen` bytes) unless a
 * reason is kept there already, clears the failure (*code GW_OK, message
 * "") and returns 1: the parse goes on with the next item. Else 0.
 */
int pc_undo(struct proto_event *ev, size_t *n, size_t mark, int rc, int body_fault, int *code,
	    char *message, char *why, size_t whylen);

#endif

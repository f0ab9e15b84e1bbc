/*
 * autoreply.h - automatic messages (docs/automation.md): the acknowledgement
 * of a new ticket, the out-of-hours notice that replaces it when the
 * ticket's queue is closed, and the still-waiting notice after
 * automation.rules[].after_s seconds without a reply. Each goes out through
 * the reply path (reply_auto_send): stored, published and delivered like an
 * agent's reply, with `automatic` set on its message.sent.
 *
 * Durable: what is to come is an entry of the store's autoreply table,
 * written in the transaction that opened the ticket, and each message
 * sent records its time per customer and kind (the window), so a restart
 * neither loses nor repeats one. Runs on the router's thread.
 */
#ifndef GW_AUTOREPLY_H
#define GW_AUTOREPLY_H

#include <stdint.h>

#include "proto/proto.h"

struct batch;
struct router;

/* Entries of the autoreply table (store_autoreply_add). */
#define AUTOREPLY_OPENED 1u        /* a ticket opened: acknowledgement or out of hours */
#define AUTOREPLY_STILL_WAITING 2u /* no reply yet */

/*
 * autoreply_ticket_opened - in the batch that opens ticket `t` (borrowed):
 * an entry due now, which autoreply_tick turns into the acknowledgement or
 * out-of-hours notice (and the still-waiting entry) once the batch is
 * committed. GW_OK or a store error.
 */
int autoreply_ticket_opened(struct batch *b, const struct proto_ticket *t);

/*
 * autoreply_tick - every entry due at `now_ms` (a bounded number per call),
 * each in a transaction of its own: sends what the rules say and hands it
 * to its connector. A message the rules or the provider forbid (automated
 * sender, within the window, WhatsApp window, a template variable nothing
 * defines) is dropped with one log line saying why. A store failure keeps
 * the entry for the next tick; returns the first such error, else GW_OK.
 */
int autoreply_tick(struct router *r, int64_t now_ms);

#endif

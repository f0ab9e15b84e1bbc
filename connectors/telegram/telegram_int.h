/*
 * telegram_int.h - what the Telegram connector's two modes share
 * (telegram.c: the type and webhook mode; tg_poll.c: polling mode).
 * Private to connectors/telegram/.
 */
#ifndef GW_TELEGRAM_INT_H
#define GW_TELEGRAM_INT_H

#include <stddef.h>

#include "connectors/connector.h"
#include "connectors/telegram/tg_parse.h"

/* The connector's own counters (inst->counters), `gatewayctl status`
 * shows them as telegram.<name>. */
enum tg_counter {
	TG_C_UPDATES = 0,  /* Updates read (webhook POSTs, getUpdates results) */
	TG_C_BLOCKED,      /* users who blocked the bot (my_chat_member) */
	TG_C_UNBLOCKED,    /* users who unblocked it */
	TG_C_CONFLICTS,    /* getUpdates answered 409 Conflict */
	TG_C_RATE_LIMITED, /* getUpdates answered 429 */
	TG_C_FILES_STORED, /* files downloaded into the attachments */
	TG_C_FILES_FAILED, /* files left as telegram-file: refs */
	TG_C__COUNT
};

/* tg_counters_init - names the counters in inst->counters. */
void tg_counters_init(struct connector_instance *inst);

/*
 * tg_note - counts what one body gave (updates, blocked, unblocked,
 * unreadable, dropped) and logs one line for the updates that could not
 * be read (the reason names a JSON path, never content).
 */
void tg_note(struct connector_instance *inst, const struct tg_events *evs);

/*
 * tg_queue - outbox_add()s every event of `evs`, all or none. An event that
 * does not encode (a parser's fault, never the provider's) is left out,
 * counted unreadable and dropped, and logged. Returns GW_OK, or
 * outbox_add's error (GW_EFULL: the spool is full) with nothing queued.
 * Fills *queued with the number added.
 */
int tg_queue(struct connector_instance *inst, const struct tg_events *evs, size_t *queued);

#endif

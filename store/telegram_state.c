/*
 * telegram_state.c - the durable long-polling progress of one Telegram bot
 * (telegram_state.h).
 */
#include "store/telegram_state.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "store/state_file.h"

#define TG_STATE_VERSION 1
#define TG_STATE_MAX_BYTES 4096

/* tg_state_parse - the members of `doc` into *st; -1 (why set) when they
 * are out of range. */
static int tg_state_parse(json_t *doc, struct telegram_state *st, char *why, size_t whylen)
{
	json_t *off = json_object_get(doc, "offset"), *conf = json_object_get(doc, "confirmed");

	if (!json_is_integer(off) || json_integer_value(off) < 0) {
		snprintf(why, whylen, "offset: not an integer of 0 or more");
		return -1;
	}
	if (conf && !json_is_boolean(conf)) {
		snprintf(why, whylen, "confirmed: not true or false");
		return -1;
	}
	st->offset = (int64_t)json_integer_value(off);
	st->confirmed = json_is_true(conf);
	return 0;
}

int telegram_state_load(const char *path, const char *bot, struct telegram_state *st,
			int *fresh, char *why, size_t whylen)
{
	json_t *doc = NULL;
	int rc;

	memset(st, 0, sizeof(*st));
	/* Another bot's file: its offsets say nothing here (fresh). */
	rc = state_file_load(path, TG_STATE_MAX_BYTES, TG_STATE_VERSION, "bot", bot, &doc, fresh,
			     why, whylen);
	if (rc != GW_OK || !doc)
		return rc;
	if (tg_state_parse(doc, st, why, whylen) != 0) {
		memset(st, 0, sizeof(*st));
		rc = GW_EPROTO;
	}
	json_decref(doc);
	return rc;
}

int telegram_state_save(const char *path, const char *bot, const struct telegram_state *st)
{
	return state_file_save(path, json_pack("{s:i, s:s, s:I, s:b}", "version",
					       TG_STATE_VERSION, "bot", bot, "offset",
					       (json_int_t)st->offset, "confirmed", st->confirmed));
}

int64_t telegram_state_request_offset(const struct telegram_state *st)
{
	return st->confirmed ? 0 : st->offset;
}

int telegram_state_advance(struct telegram_state *st, int64_t max_update_id)
{
	int64_t next;

	if (max_update_id < 0 || max_update_id == INT64_MAX)
		return -1;
	next = max_update_id + 1;
	/* Unconfirmed, the stored offset is still owed to Telegram: never
	 * lower it. Confirmed, the updates came without an offset, from
	 * wherever Telegram's ids are now. */
	if (!st->confirmed && next < st->offset)
		next = st->offset;
	if (next == st->offset && !st->confirmed)
		return 0;
	st->offset = next;
	st->confirmed = 0;
	return 1;
}

int telegram_state_answered(struct telegram_state *st, int64_t offset)
{
	if (st->confirmed || offset <= 0 || offset != st->offset)
		return 0;
	st->confirmed = 1;
	return 1;
}

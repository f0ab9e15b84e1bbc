/*
 * config_csat.c - the table of `csat`: the satisfaction survey sent after a
 * ticket closes and the ratings it takes (router/rules/csat.c,
 * docs/reports.md).
 */
#include "core/config_tables.h"

#include <stddef.h>

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))

static const struct conf_entry csat_rows[] = {
	{.kind = CONF_BOOL, .key = "enabled", .def = "false",
	 .offset = offsetof(struct gw_config_csat, enabled),
	 .desc = "`true`: when a ticket of the channels and queues below closes "
		 "(`ticket.close`), the customer gets the survey on the ticket's channel, as a "
		 "reply; an answer that is a rating within `window_s` becomes `ticket.rated`."},
	{.kind = CONF_STRLIST, .key = "channels", .max = 32,
	 .offset = offsetof(struct gw_config_csat, channels),
	 .desc = "Channels whose tickets get the survey (`api`, `whatsapp`, ...); empty: all."},
	{.kind = CONF_STRLIST, .key = "queues", .max = 64,
	 .offset = offsetof(struct gw_config_csat, queues),
	 .desc = "Queues whose tickets get the survey; empty: all."},
	{.kind = CONF_INT, .key = "window_s", .def = "259200", .min = 1, .max = 31536000,
	 .offset = offsetof(struct gw_config_csat, window_s),
	 .desc = "A rating (a digit 1 to 5 first in the text, then maybe a comment) this many "
		 "seconds after the survey at most (default 72 h) is taken; later it is a message "
		 "as any other."},
	{.kind = CONF_STRING, .key = "text", .max = 1024,
	 .def = "How would you rate our help? Reply with a number from 1 (bad) to 5 (great), "
		"and a comment if you like.",
	 .offset = offsetof(struct gw_config_csat, text),
	 .desc = "The survey's question when the ticket's language has none in `texts`."},
	{.kind = CONF_STRLIST, .key = "texts", .max = 1100,
	 .offset = offsetof(struct gw_config_csat, texts),
	 .desc = "The question per language, each `<language>=<text>` (`fr=Notez notre aide "
		 "de 1 à 5`): the ticket's detected language picks one."},
	{.kind = CONF_STRING, .key = "link", .def = "", .max = 512,
	 .offset = offsetof(struct gw_config_csat, link),
	 .desc = "A survey page: when set, its URL follows the question (with `{ticket}` "
		 "replaced by the ticket's id)."},
};

const struct conf_section gw_conf_csat = {
	.name = "csat",
	.entries = csat_rows,
	.n_entries = N_ROWS(csat_rows),
	.struct_size = sizeof(struct gw_config_csat),
	.desc = "The customer satisfaction survey (CSAT) after a ticket closes.",
};

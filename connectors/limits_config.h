/*
 * limits_config.h - the per-sender limits and the quarantine bound every
 * connector type has, and their config rows, apart from limits.h and
 * intake.h so that the light config registry (connectors/<name>/
 * <name>_config.c) links nothing new.
 *
 * A type lists LIMITS_CONF_ROWS(off) in its table and has a member
 * `struct limits_settings senders;` in its settings struct. The runtime
 * reads the values through the table by key (limits_settings_read in
 * intake.c), so that it needs no knowledge of each type's struct; a type
 * without the rows gets the defaults below.
 */
#ifndef GW_CONNECTOR_LIMITS_CONFIG_H
#define GW_CONNECTOR_LIMITS_CONFIG_H

#include "core/config.h"

/* The defaults, also used for a type whose table lacks the rows. */
#define LIMITS_DEF_SENDER_PER_MINUTE 30
#define LIMITS_DEF_SENDER_BURST 20
#define LIMITS_DEF_SENDERS_MAX 10000
#define LIMITS_DEF_LOOP_REPEATS 5
#define LIMITS_DEF_LOOP_WINDOW_S 600
#define LIMITS_DEF_AUTOMATED_PER_HOUR 10
#define LIMITS_DEF_AUTOMATED_BURST 5
#define LIMITS_DEF_QUARANTINE_MAX 10000
#define LIMITS_DEF_QUARANTINE_MAX_MB 256

/* The settings of LIMITS_CONF_ROWS (docs/security.md, "Rate limits"). */
struct limits_settings {
	long long sender_per_minute; /* a sender's messages a minute; 0: no limit */
	long long sender_burst;      /* ... at once, after a quiet spell */
	long long senders_max;       /* senders remembered (least recent forgotten) */
	long long loop_repeats;      /* the same content more often than this in */
	long long loop_window_s;     /* ... this window is a loop; 0: no detection */
	long long automated_per_hour; /* auto-replies and bounces of a sender; 0: as others */
	long long automated_burst;
	long long quarantine_max;    /* held and kept entries at most */
	long long quarantine_max_mb; /* ... and their bytes */
};

#define LIMITS_STR_(x) #x
#define LIMITS_STR(x) LIMITS_STR_(x)

/*
 * LIMITS_CONF_ROWS(off) - the config rows of struct limits_settings, for a
 * connector's table; `off` is its offsetof macro and the struct is its
 * member `senders`. The keys are the same in every type: the runtime reads
 * them by name.
 */
#define LIMITS_CONF_ROWS(off)                                                                \
	{.kind = CONF_INT, .key = "sender_rate_per_minute",                                  \
	 .def = LIMITS_STR(LIMITS_DEF_SENDER_PER_MINUTE), .min = 0, .max = 1000000,           \
	 .offset = off(senders.sender_per_minute),                                             \
	 .desc = "messages one sender may send a minute, sustained; over it they are held "   \
		 "(the API channel answers 429); 0: no limit"},                              \
	{.kind = CONF_INT, .key = "sender_burst", .def = LIMITS_STR(LIMITS_DEF_SENDER_BURST), \
	 .min = 1, .max = 1000000, .offset = off(senders.sender_burst),                        \
	 .desc = "messages one sender may send at once after a quiet spell"},                 \
	{.kind = CONF_INT, .key = "sender_tracked_max",                                       \
	 .def = LIMITS_STR(LIMITS_DEF_SENDERS_MAX), .min = 16, .max = 10000000,               \
	 .offset = off(senders.senders_max),                                                   \
	 .desc = "senders whose rate is remembered; past it the least recent is forgotten "   \
		 "(about 200 bytes each)"},                                                   \
	{.kind = CONF_INT, .key = "loop_repeats", .def = LIMITS_STR(LIMITS_DEF_LOOP_REPEATS), \
	 .min = 0, .max = 1000000, .offset = off(senders.loop_repeats),                        \
	 .desc = "a sender repeating the same message more often than this within "          \
		 "loop_window_s is a loop: the repeats are held; 0: no loop detection"},      \
	{.kind = CONF_INT, .key = "loop_window_s", .def = LIMITS_STR(LIMITS_DEF_LOOP_WINDOW_S), \
	 .min = 1, .max = 604800, .offset = off(senders.loop_window_s),                        \
	 .desc = "the window of loop_repeats, in seconds"},                                   \
	{.kind = CONF_INT, .key = "automated_rate_per_hour",                                  \
	 .def = LIMITS_STR(LIMITS_DEF_AUTOMATED_PER_HOUR), .min = 0, .max = 1000000,          \
	 .offset = off(senders.automated_per_hour),                                            \
	 .desc = "auto-replies and bounces one sender may send an hour, sustained; over it "  \
		 "they are held as a loop; 0: counted as other messages only"},              \
	{.kind = CONF_INT, .key = "automated_burst",                                          \
	 .def = LIMITS_STR(LIMITS_DEF_AUTOMATED_BURST), .min = 1, .max = 1000000,             \
	 .offset = off(senders.automated_burst),                                               \
	 .desc = "auto-replies and bounces one sender may send at once"},                     \
	{.kind = CONF_INT, .key = "quarantine_max_entries",                                   \
	 .def = LIMITS_STR(LIMITS_DEF_QUARANTINE_MAX), .min = 1, .max = 100000000,            \
	 .offset = off(senders.quarantine_max),                                                \
	 .desc = "held messages and unreadable inputs kept at most in the quarantine (in "    \
		 "the spool); when full, more are not taken: see docs/security.md"},          \
	{.kind = CONF_INT, .key = "quarantine_max_mb",                                        \
	 .def = LIMITS_STR(LIMITS_DEF_QUARANTINE_MAX_MB), .min = 1, .max = 1048576,           \
	 .offset = off(senders.quarantine_max_mb),                                             \
	 .desc = "bytes of the quarantine at most, in MiB; keep it under spool_map_mb"}

#endif

/*
 * limits.h - per-sender rate limits and loop detection: the decision only.
 * What a connector does with a message over a limit (hold it, or answer
 * 429) is intake.h's.
 *
 * For each sender, in a map bounded at creation (limits_settings.
 * senders_max entries, the least recently seen forgotten first):
 *   - a token bucket: sender_per_minute sustained, sender_burst at once;
 *   - a second, slower bucket for automated messages (auto-replies,
 *     bounces): automated_per_hour, automated_burst;
 *   - the digests of its last LIMITS_RECENT contents, each with the time
 *     it was first seen and how often since: the same content more than
 *     loop_repeats times within loop_window_s is a loop.
 * A message over a limit takes no token, so a sender who slows down gets
 * through again as the bucket refills; repeats count whatever the verdict,
 * so a loop stays a loop while it goes on.
 *
 * A sender is an opaque id of LIMITS_ID_LEN bytes (intake.c: the first
 * bytes of SHA-256 of channel, account and address), the content a 64-bit
 * digest; the map's buckets are indexed by the id's first bytes, so ids
 * must be uniform (a digest, not a counter).
 *
 * Threading: one thread owns a struct limits. No I/O, no clock: the caller
 * passes the time.
 */
#ifndef GW_CONNECTOR_LIMITS_H
#define GW_CONNECTOR_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "connectors/limits_config.h"

#define LIMITS_ID_LEN 16 /* bytes of a sender id */
#define LIMITS_RECENT 4  /* contents remembered per sender */

enum limits_verdict {
	LIMITS_PASS = 0,  /* under every limit: the message took its tokens */
	LIMITS_RATE,      /* over sender_rate_per_minute / sender_burst */
	LIMITS_LOOP,      /* the same content over loop_repeats in loop_window_s */
	LIMITS_AUTOMATED, /* an automated message over automated_rate_per_hour */
};

/* One message, as the limiter sees it. */
struct limits_msg {
	unsigned char sender[LIMITS_ID_LEN];
	uint64_t content; /* digest of what it says (text, attachments, ...) */
	int automated;    /* an auto-reply or a bounce */
};

struct limits;

/*
 * limits_create - a limiter with the settings `s` (copied). *out owns it
 * (free with limits_destroy). Returns GW_OK, GW_EINVAL (senders_max 0 or
 * over 100,000,000), GW_ENOMEM.
 */
int limits_create(const struct limits_settings *s, struct limits **out);

/* limits_destroy - accepts NULL. */
void limits_destroy(struct limits *l);

/*
 * limits_check - counts message `m` at `now_ms` (any monotonic or wall
 * clock in ms, the same for every call) and says whether it is within the
 * limits. Over one, *retry_after_ms (may be NULL) is how long until the
 * sender is under it again (at least 1). Never fails: a sender new to a
 * full map takes the place of the least recent one.
 */
enum limits_verdict limits_check(struct limits *l, const struct limits_msg *m, int64_t now_ms,
				 int64_t *retry_after_ms);

/* limits_verdict_name - "pass", "rate_limited", "loop" or "automated". */
const char *limits_verdict_name(enum limits_verdict v);

/* limits_tracked - the senders remembered now (at most senders_max). */
size_t limits_tracked(const struct limits *l);

#endif

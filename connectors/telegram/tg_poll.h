/*
 * tg_poll.h - polling mode: the bot's updates by long polling
 * (getUpdates), with a durable offset (store/telegram_state.h).
 *
 * One getUpdates at a time, on a curl multi handle driven by the
 * connector's own loop, which waits at most TG_POLL_TICK_MS for it, so that
 * outbox_pump(), the replies' poll and the status file run every tick
 * while Telegram holds the long poll:
 *
 *   getUpdates   POST {offset?, limit, timeout, allowed_updates}
 *   answer       parsed (tg_parse_updates); with file_download its files
 *                are fetched first (tg_files.h), the loop ticking meanwhile
 *   durable      every event outbox_add()ed, all or none, and made
 *                durable by the group commit (connectors/commit.h) on
 *                the outbox's commit thread; the loop ticks meanwhile
 *   offset       only then the state file says offset = last update_id + 1
 *                (fsync'ed); the next getUpdates sends it, which tells
 *                Telegram to forget those updates
 * A crash anywhere repeats at most the last answer's updates (the router
 * deduplicates them) and never skips one.
 *
 * Refusals: 409 Conflict (another getUpdates on the same bot, or a webhook
 * set) and 401/404 (the token) set inst->warning, shown by `gatewayctl
 * status`, and are logged once per episode; polling backs off (1 s,
 * doubling to 30 s). 429 waits parameters.retry_after. An answer over
 * poll_max_bytes is asked for again with limit 1.
 *
 * Threading: the connector's thread, except tg_poll_wake (any thread).
 */
#ifndef GW_TG_POLL_H
#define GW_TG_POLL_H

#include "connectors/connector.h"
#include "connectors/telegram/telegram_config.h"
#include "connectors/telegram/tg_files.h"

#define TG_POLL_TICK_MS 50

struct tg_poll;

struct tg_poll_options {
	struct connector_instance *inst;     /* borrowed, outlives it */
	const struct telegram_settings *set; /* borrowed, outlives it */
	const char *bot_id;                  /* borrowed: the state file's owner */
	const char *account;                 /* borrowed: `account` of the events */
	struct tg_files *files;              /* borrowed; NULL: no downloads */
	void (*tick)(void *arg);             /* every tick: the replies' poll */
	void *arg;
};

/*
 * tg_poll_create - loads the state file (<state_dir>/telegram/<instance>
 * .state, its folder created) and sets up libcurl. *out owns it. Returns
 * GW_OK, GW_ENOMEM, GW_EINVAL (a path too long), GW_EIO, GW_EPROTO (a state
 * file that cannot be read: logged with what to do).
 */
int tg_poll_create(const struct tg_poll_options *opt, struct tg_poll **out);

/* tg_poll_run - polls until connector_stopping(). Returns GW_OK. */
int tg_poll_run(struct tg_poll *p);

/* tg_poll_wake - makes the loop tick now (replies or files finished). Any thread. */
void tg_poll_wake(struct tg_poll *p);

/* tg_poll_destroy - aborts a getUpdates in flight and frees; accepts NULL. */
void tg_poll_destroy(struct tg_poll *p);

#endif

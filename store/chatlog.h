/*
 * chatlog.h - the conversation log of one live-chat instance: every message
 * a visitor sent and every reply, per conversation, so that a reload, a
 * second tab or a reconnect shows the whole conversation (resume after
 * `last_seen`).
 *
 * Its own LMDB environment (<state_dir>/livechat/<instance>/), two tables:
 *   log  (conversation '\0' seq:8 BE) -> JSON {id,direction,text,ts,client_id,
 *                                              attachments}
 *   keys (conversation '\0' dedup key) -> seq:8 BE, and
 *        (conversation '\0' "#")       -> last seq, and
 *        (conversation '\0' "f:" hex)   -> JSON {name,type,size} of a file the
 *                                          conversation may read (a grant)
 * A conversation is named by its address ("visitor:<id>" or "site:<id>");
 * ids are per conversation, from 1, gap-free. The dedup key of an entry
 * ("c:<client_id>" for a visitor's message, "d:<delivery id>" for a reply)
 * makes an append idempotent: appending it again gives back the first id.
 *
 * Threading: one thread owns a chatlog; one other thread may call
 * chatlog_append and chatlog_file_put meanwhile (the live chat's group
 * commit, on the outbox's commit thread: a batch's entries and a reply's
 * file grants): LMDB serializes the writers, the environment is MDB_NOTLS
 * and the struct holds nothing else.
 */
#ifndef GW_STORE_CHATLOG_H
#define GW_STORE_CHATLOG_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

struct chatlog;

struct chatlog_entry {
	const char *conversation; /* borrowed: "visitor:<id>" or "site:<id>" */
	const char *direction;    /* "in" or "out" */
	const char *text;         /* borrowed */
	const char *client_id;    /* borrowed, may be NULL */
	const char *dedup;        /* borrowed dedup key */
	const char *attachments;  /* borrowed JSON array of {ref,name,type,size}, or NULL */
	int64_t ts;               /* ms since epoch */
	/* set by chatlog_append: */
	uint64_t id;
	int duplicate;            /* the dedup key was already there */
};

/* chatlog_open - opens (creating) the log in `dir`. *out owns it. */
GW_MUST_CHECK int chatlog_open(const char *dir, size_t map_size, struct chatlog **out);

/* chatlog_close - accepts NULL. */
void chatlog_close(struct chatlog *cl);

/*
 * chatlog_append - appends `n` entries in one synced transaction; an
 * entry whose dedup key is known gets its first id and duplicate = 1.
 * Returns GW_OK (all durable), GW_ESTORE, GW_EFULL (map full), GW_ENOMEM.
 */
GW_MUST_CHECK int chatlog_append(struct chatlog *cl, struct chatlog_entry *e, size_t n);

/*
 * chatlog_find - the id of the entry of `conversation` with dedup key
 * `dedup`, or 0 when there is none. Returns GW_OK or GW_ESTORE.
 */
GW_MUST_CHECK int chatlog_find(struct chatlog *cl, const char *conversation, const char *dedup, uint64_t *id);

/*
 * chatlog_since - calls fn(arg, id, json, len) for the entries of
 * `conversation` after id `after`, oldest first, at most `max` of them
 * (json borrowed for the call). Returns GW_OK or GW_ESTORE.
 */
GW_MUST_CHECK int chatlog_since(struct chatlog *cl, const char *conversation, uint64_t after, size_t max,
		  void (*fn)(void *arg, uint64_t id, const char *json, size_t len), void *arg);

/*
 * chatlog_file_put - grants `conversation` the stored file of digest `hex`
 * (64 hex digits) with its description `meta` (JSON text, borrowed), in one
 * synced transaction; granting it again replaces the description.
 * Returns GW_OK, GW_ETOOBIG (key or value too long), GW_ESTORE, GW_EFULL.
 */
GW_MUST_CHECK int chatlog_file_put(struct chatlog *cl, const char *conversation, const char *hex,
		     const char *meta);

/*
 * chatlog_file_get - the description of the file `hex` granted to
 * `conversation`, NUL-terminated into meta[metalen]. Returns GW_OK,
 * GW_ENOTFOUND (not granted to it), GW_ETOOBIG (does not fit), GW_ESTORE.
 */
GW_MUST_CHECK int chatlog_file_get(struct chatlog *cl, const char *conversation, const char *hex, char *meta,
		     size_t metalen);

#endif

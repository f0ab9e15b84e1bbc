/*
 * addrlimit.h - what a listener remembers per client address: how many
 * connections it holds (max_connections_per_ip) and its token bucket of
 * requests (requests_per_minute, requests_burst). Plain data, no
 * libwebsockets: listen_guard.c feeds it from the accept and request
 * callbacks; gateway-integration counts bad tokens per address with one.
 *
 * The table is bounded at creation: `capacity` addresses. An address is
 * kept while it holds a connection, and afterwards (with its bucket) until
 * its slot is needed by another address, the least recently released
 * first; so a client that opens a connection per request keeps its bucket.
 *
 * Threading: one thread (the listener's service thread) uses a table.
 */
#ifndef GW_CONNECTOR_ADDRLIMIT_H
#define GW_CONNECTOR_ADDRLIMIT_H

#include <stddef.h>
#include <stdint.h>

#define ADDRLIMIT_ADDR_MAX 48 /* longest address text, with its NUL (INET6_ADDRSTRLEN) */

struct addrlimit;
struct addr_entry; /* one address; valid until its last connection is released */

struct addrlimit_options {
	size_t capacity;         /* addresses remembered at most (>= 1) */
	long long max_per_addr;  /* connections of one address at once; 0: no limit */
	long long per_minute;    /* requests a minute per address, sustained; 0: no limit */
	long long burst;         /* requests at once (the bucket's size, >= 1) */
};

/*
 * addrlimit_create - an empty table; *out owns it (addrlimit_destroy).
 * Returns GW_OK, GW_EINVAL (capacity 0), GW_ENOMEM.
 */
int addrlimit_create(const struct addrlimit_options *opt, struct addrlimit **out);

/* addrlimit_destroy - frees the table and every entry; accepts NULL. */
void addrlimit_destroy(struct addrlimit *al);

/*
 * addrlimit_take - counts one more connection of `addr` (text, at most
 * ADDRLIMIT_ADDR_MAX - 1 bytes: longer is cut). *e is its entry, borrowed
 * until addrlimit_release. Returns GW_OK; GW_ETOOBIG when the address
 * already holds max_per_addr connections (nothing counted); GW_EFULL when
 * every remembered address holds a connection and none can be forgotten.
 */
int addrlimit_take(struct addrlimit *al, const char *addr, struct addr_entry **e);

/* addrlimit_release - one connection of `e` closed; `e` may be forgotten
 * from here on when it was its last. */
void addrlimit_release(struct addrlimit *al, struct addr_entry *e);

/*
 * addrlimit_request - one request of `e` at `now_us` (a monotonic clock):
 * GW_OK when its bucket has a token (taken), else GW_EAGAIN and
 * *retry_after_s (>= 1) the seconds until it has one. Always GW_OK when
 * per_minute is 0.
 */
int addrlimit_request(struct addrlimit *al, struct addr_entry *e, int64_t now_us,
		      unsigned *retry_after_s);

/*
 * addrlimit_peek - as addrlimit_request, without taking the token: GW_OK
 * when the bucket of `e` has one at `now_us`, else GW_EAGAIN and
 * *retry_after_s (>= 1). For a bucket of failures (bad credentials): peek
 * before the check, take one for each failure.
 */
int addrlimit_peek(struct addrlimit *al, struct addr_entry *e, int64_t now_us,
		   unsigned *retry_after_s);

/* addrlimit_addr - the address text of `e`, borrowed from it. */
const char *addrlimit_addr(const struct addr_entry *e);

/* addrlimit_conns - the connections `e` holds. */
long long addrlimit_conns(const struct addr_entry *e);

/* addrlimit_count - addresses remembered now (with or without connections). */
size_t addrlimit_count(const struct addrlimit *al);

#endif

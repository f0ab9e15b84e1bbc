/*
 * bench_multi.h - a libcurl multi handle driven by its socket interface
 * (curl_multi_socket_action) over epoll, for the load generators.
 *
 * curl_multi_perform() visits every transfer on each call and checks each
 * socket with a poll() of its own, so with 64 clients an answer waits for
 * the loop to pass over all the others before its client sends again. Here
 * libcurl is told only of the sockets that are ready and of its timers: the
 * CPU per request is about the same, but a client whose answer arrived
 * starts its next request sooner, which a closed-loop load depends on.
 *
 * One thread: the multi handle and the epoll descriptor are the caller's
 * for the lifetime of the struct. Finished transfers are read with
 * curl_multi_info_read(bm->multi, ...) as usual.
 */
#ifndef GW_BENCH_MULTI_H
#define GW_BENCH_MULTI_H

#include <stdint.h>

#include <curl/curl.h>

struct bench_multi {
	CURLM *multi;        /* owned */
	int epfd;            /* owned; -1 when closed */
	int64_t timer_us;    /* when libcurl wants CURL_SOCKET_TIMEOUT; -1: never */
};

/* bench_multi_init - a new multi handle and epoll set; 0, or -1 (nothing
 * to free). */
int bench_multi_init(struct bench_multi *bm);

/* bench_multi_free - frees both; the easy handles must be removed first.
 * A zeroed struct (never set up) is left alone. */
void bench_multi_free(struct bench_multi *bm);

/*
 * bench_multi_step - waits at most `max_ms` for a ready socket or libcurl's
 * timer, and lets libcurl act on what happened (and on a handle added since
 * the last step). Returns 0, or -1 when epoll failed.
 */
int bench_multi_step(struct bench_multi *bm, int max_ms);

#endif

/*
 * bench_multi.c - libcurl's socket interface over epoll (bench_multi.h).
 */
#include "bench/bench_multi.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench/bench_api.h" /* bench_now_us */

#define BM_EVENTS 256 /* epoll events taken per wait */

/* CURLMOPT_SOCKETFUNCTION: keeps the epoll set in step with what libcurl
 * waits for on socket `s`. socketp is non-NULL once `s` is in the set. */
static int bm_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct bench_multi *bm = userp;
	struct epoll_event ev;
	static char in_set; /* the marker stored as socketp */

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (socketp)
			epoll_ctl(bm->epfd, EPOLL_CTL_DEL, s, NULL);
		curl_multi_assign(bm->multi, s, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.data.fd = s;
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
	if (epoll_ctl(bm->epfd, socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) != 0 &&
	    !(socketp == NULL && errno == EEXIST &&
	      epoll_ctl(bm->epfd, EPOLL_CTL_MOD, s, &ev) == 0))
		return -1;
	curl_multi_assign(bm->multi, s, &in_set);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 cancels the timer, 0 means at once. */
static int bm_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct bench_multi *bm = userp;

	(void)multi;
	bm->timer_us = timeout_ms < 0 ? -1 : bench_now_us() + (int64_t)timeout_ms * 1000;
	return 0;
}

int bench_multi_init(struct bench_multi *bm)
{
	memset(bm, 0, sizeof(*bm));
	bm->timer_us = -1;
	bm->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (bm->epfd < 0)
		return -1;
	bm->multi = curl_multi_init();
	if (!bm->multi) {
		close(bm->epfd);
		bm->epfd = -1;
		return -1;
	}
	curl_multi_setopt(bm->multi, CURLMOPT_SOCKETFUNCTION, bm_socket_cb);
	curl_multi_setopt(bm->multi, CURLMOPT_SOCKETDATA, bm);
	curl_multi_setopt(bm->multi, CURLMOPT_TIMERFUNCTION, bm_timer_cb);
	curl_multi_setopt(bm->multi, CURLMOPT_TIMERDATA, bm);
	return 0;
}

void bench_multi_free(struct bench_multi *bm)
{
	if (!bm->multi)
		return; /* never set up (a zeroed struct): nothing to close */
	curl_multi_cleanup(bm->multi);
	close(bm->epfd);
	bm->multi = NULL;
	bm->epfd = -1;
}

/* Runs libcurl's timer when it is due. */
static void bm_timer_due(struct bench_multi *bm)
{
	int running;

	if (bm->timer_us >= 0 && bench_now_us() >= bm->timer_us) {
		bm->timer_us = -1; /* libcurl sets it again if it wants */
		curl_multi_socket_action(bm->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
}

int bench_multi_step(struct bench_multi *bm, int max_ms)
{
	struct epoll_event evs[BM_EVENTS];
	int n, running, wait_ms = max_ms;

	bm_timer_due(bm); /* a handle just added asks for a 0 ms timer */
	if (bm->timer_us >= 0) {
		int64_t left = bm->timer_us - bench_now_us();
		int t = left <= 0 ? 0 : (int)((left + 999) / 1000);

		if (t < wait_ms)
			wait_ms = t;
	}
	n = epoll_wait(bm->epfd, evs, BM_EVENTS, wait_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++) {
		int flags = (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR) ? CURL_CSELECT_IN : 0) |
			    (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			    (evs[i].events & EPOLLERR ? CURL_CSELECT_ERR : 0);

		curl_multi_socket_action(bm->multi, evs[i].data.fd, flags, &running);
	}
	bm_timer_due(bm);
	return 0;
}

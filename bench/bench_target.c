/*
 * bench_target.c - the clock the benchmarks share, and the check that keeps
 * them on this machine: every target they send to or read from must be a
 * loopback address (or an ipc:// path), so a mistyped option cannot load
 * another host.
 */
#include "bench/bench_api.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

int64_t bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int bench_loopback_host(const char *host)
{
	size_t len = strlen(host);

	if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
	    strcmp(host, "[::1]") == 0)
		return 1;
	/* 127.0.0.0/8, written as a dotted quad. */
	if (strncmp(host, "127.", 4) != 0 || len > 15)
		return 0;
	for (size_t i = 4; i < len; i++)
		if ((host[i] < '0' || host[i] > '9') && host[i] != '.')
			return 0;
	return 1;
}

/* An http:// URL whose host is loopback; 0 or -1 (message on stderr). */
int bench_check_url(const char *prog, const char *what, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int ok = 0;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		ok = strcmp(scheme, "http") == 0 && bench_loopback_host(host);
	if (!ok)
		fprintf(stderr, "%s: %s must be an http:// URL on a loopback address\n", prog,
			what);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok ? 0 : -1;
}

/* tcp://<loopback>:port or ipc://path; 0 or -1 (message on stderr). */
int bench_check_endpoint(const char *prog, const char *what, const char *ep)
{
	char host[64];
	const char *h, *colon;

	if (strncmp(ep, "ipc://", 6) == 0)
		return 0;
	if (strncmp(ep, "tcp://", 6) != 0)
		goto bad;
	h = ep + 6;
	colon = strrchr(h, ':');
	if (!colon || colon == h || (size_t)(colon - h) >= sizeof(host))
		goto bad;
	memcpy(host, h, (size_t)(colon - h));
	host[colon - h] = '\0';
	if (bench_loopback_host(host))
		return 0;
bad:
	fprintf(stderr, "%s: %s must be tcp://<loopback>:port or ipc://path\n", prog,
		what);
	return -1;
}

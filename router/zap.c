/*
 * zap.c - the router's ZAP handler (ZeroMQ RFC 27): decides, for every
 * CURVE client of a tcp:// endpoint, whether its public key may connect to
 * that socket, and names its right in the User-Id the command handler reads
 * (command.c): "gateway" (the router's own key: the gateway's processes),
 * "command", "consumer" or "connector".
 *
 *   ingest    gateway, connector
 *   publish   gateway, command, consumer
 *   command   gateway, command, consumer (consumer: read-only commands)
 *
 * A refused client is logged (one line a second at most, with a count of
 * those left out) with its address and key, so that an operator can add
 * the key or find the intruder.
 *
 * Threading: the handler runs on its own thread with an inproc REP socket
 * on the router's ZeroMQ context; the allow-lists are read before it starts
 * and not changed after.
 */
#include "router/zap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "core/bus.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES 7 /* version, id, domain, address, identity, mechanism, key */
#define ZAP_LOG_US 1000000

enum zap_right { RIGHT_NONE = 0, RIGHT_CONSUMER, RIGHT_CONNECTOR, RIGHT_COMMAND, RIGHT_GATEWAY };

struct zap {
	void *zctx, *sock;
	pthread_t thread;
	int started;
	struct bus_key own;
	struct bus_key *lists[3]; /* consumers, commanders, connectors */
	size_t n[3];
	int64_t next_log_us;
	unsigned long unlogged;
};

static const enum zap_right list_right[3] = {RIGHT_CONSUMER, RIGHT_COMMAND, RIGHT_CONNECTOR};

/* right_of - what the key `pub` (Z85) may do on socket `domain`. */
static enum zap_right right_of(const struct zap *z, const char *domain, const char *pub)
{
	enum zap_right best = strcmp(pub, z->own.pub) == 0 ? RIGHT_GATEWAY : RIGHT_NONE;
	int ingest = strcmp(domain, "ingest") == 0;

	for (int l = 0; l < 3 && best != RIGHT_GATEWAY; l++)
		for (size_t i = 0; i < z->n[l]; i++)
			if (strcmp(z->lists[l][i].pub, pub) == 0 && list_right[l] > best &&
			    (list_right[l] == RIGHT_CONNECTOR) == ingest)
				best = list_right[l];
	return best;
}

static const char *right_name(enum zap_right r)
{
	static const char *const names[] = {"", "consumer", "connector", "command", "gateway"};

	return names[r];
}

/* log_refusal - one line a second at most. */
static void log_refusal(struct zap *z, const char *domain, const char *addr, const char *pub)
{
	int64_t now = gw_mono_us();

	if (now < z->next_log_us) {
		z->unlogged++;
		return;
	}
	GW_WARN("router", "refused a client on %s from %s: its key %s is not allowed there%s",
		domain, addr, pub, z->unlogged ? " (more refusals were not logged)" : "");
	z->unlogged = 0;
	z->next_log_us = now + ZAP_LOG_US;
}

static void frame_text(zmq_msg_t *m, char *buf, size_t size)
{
	size_t l = zmq_msg_size(m) < size - 1 ? zmq_msg_size(m) : size - 1;

	memcpy(buf, zmq_msg_data(m), l);
	buf[l] = '\0';
}

/* answer - [version, id, status, text, user id, metadata]. */
static void answer(void *sock, zmq_msg_t *id, const char *status, const char *text,
		   const char *user)
{
	zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
	zmq_send(sock, zmq_msg_data(id), zmq_msg_size(id), ZMQ_SNDMORE);
	zmq_send(sock, status, strlen(status), ZMQ_SNDMORE);
	zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
	zmq_send(sock, "", 0, 0);
}

/* decide - one request of ZAP_FRAMES frames. */
static void decide(struct zap *z, zmq_msg_t *f)
{
	char domain[32], addr[64], mech[16], pub[BUS_Z85_LEN + 1] = "";
	enum zap_right r = RIGHT_NONE;

	frame_text(&f[2], domain, sizeof(domain));
	frame_text(&f[3], addr, sizeof(addr));
	frame_text(&f[5], mech, sizeof(mech));
	if (strcmp(mech, "CURVE") == 0 && zmq_msg_size(&f[6]) == 32 &&
	    zmq_z85_encode(pub, zmq_msg_data(&f[6]), 32))
		r = right_of(z, domain, pub);
	if (r == RIGHT_NONE) {
		log_refusal(z, domain, addr, pub[0] ? pub : "(none)");
		answer(z->sock, &f[1], "400", "key not allowed", "");
		return;
	}
	answer(z->sock, &f[1], "200", "OK", right_name(r));
}

static void *zap_run(void *arg)
{
	struct zap *z = arg;

	for (;;) {
		zmq_msg_t f[ZAP_FRAMES];
		int n = 0, more = 1;

		while (more) {
			zmq_msg_t spare, *m = n < ZAP_FRAMES ? &f[n] : &spare;

			zmq_msg_init(m);
			if (zmq_msg_recv(m, z->sock, 0) < 0) {
				zmq_msg_close(m);
				for (int i = 0; i < n; i++)
					zmq_msg_close(&f[i]);
				zmq_close(z->sock); /* the context is shutting down */
				z->sock = NULL;
				return NULL;
			}
			more = zmq_msg_more(m);
			if (m == &spare)
				zmq_msg_close(m);
			else
				n++;
		}
		if (n == ZAP_FRAMES)
			decide(z, f);
		else if (n >= 2)
			answer(z->sock, &f[1], "500", "malformed ZAP request", "");
		for (int i = 0; i < n; i++)
			zmq_msg_close(&f[i]);
	}
}

/* zap_lists - the router's key and the three allow-lists. */
static int zap_lists(struct zap *z, const struct gw_config_router *cfg, char *why, size_t len)
{
	const char *paths[3] = {cfg->curve_consumers, cfg->curve_commanders, cfg->curve_connectors};
	int rc = bus_key_read(cfg->curve_key, &z->own, why, len);

	if (rc == GW_OK && !z->own.sec[0]) {
		snprintf(why, len, "%s holds no secret key", cfg->curve_key);
		rc = GW_EPROTO;
	}
	for (int i = 0; rc == GW_OK && i < 3; i++)
		rc = bus_keys_load(paths[i], &z->lists[i], &z->n[i], why, len);
	return rc;
}

int zap_start(void *zctx, const struct gw_config_router *cfg, struct zap **out)
{
	struct zap *z = calloc(1, sizeof(*z));
	char why[512] = "";
	int rc, zero = 0;

	*out = NULL;
	if (!z)
		return GW_ENOMEM;
	z->zctx = zctx;
	rc = zap_lists(z, cfg, why, sizeof(why));
	if (rc)
		GW_ERROR("router", "CURVE: %s", why);
	if (rc == GW_OK && (!(z->sock = zmq_socket(zctx, ZMQ_REP)) ||
			    zmq_setsockopt(z->sock, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
			    zmq_bind(z->sock, ZAP_ENDPOINT) != 0))
		rc = GW_EBUS;
	if (rc == GW_OK && pthread_create(&z->thread, NULL, zap_run, z) != 0)
		rc = GW_EIO;
	z->started = rc == GW_OK;
	if (rc) {
		zap_stop(z);
		return rc;
	}
	GW_INFO("router", "CURVE on tcp endpoints: %zu consumer, %zu command, %zu connector "
		"keys allowed besides the router's own", z->n[0], z->n[1], z->n[2]);
	*out = z;
	return GW_OK;
}

const char *zap_public_key(const struct zap *z)
{
	return z->own.pub;
}

const struct bus_key *zap_key(const struct zap *z)
{
	return &z->own;
}

void zap_stop(struct zap *z)
{
	if (!z)
		return;
	/* The thread ends (closing its socket) when the context shuts down:
	 * shut it down first, the router is stopping anyway. */
	if (z->started) {
		zmq_ctx_shutdown(z->zctx);
		pthread_join(z->thread, NULL);
	}
	if (z->sock)
		zmq_close(z->sock);
	for (int i = 0; i < 3; i++)
		free(z->lists[i]);
	explicit_bzero(&z->own, sizeof(z->own));
	free(z);
}

/*
 * consumer.c - reads Omnigate's events from the NATS JetStream stream that
 * gateway-nats fills (docs/nats.md), with a durable pull consumer of the C
 * client libnats (Debian: libnats-dev). The server keeps the consumer's
 * position: each event is acknowledged once processed, and a consumer
 * started again with the same --durable name goes on after the last one
 * acknowledged; a new name starts at the stream's first event.
 *
 * Build: `make` in this folder, or the project's build
 * (build/bin/example-nats-consumer). With the gateway's `nats:` section
 * enabled and a `nats-server -js` running:
 *
 *     ./build/bin/example-nats-consumer --durable helpdesk
 *
 * prints one line per event: "<seq> <type> <subject>".
 * Options: --server URL (default nats://127.0.0.1:4222), --stream NAME
 * (default OMNIGATE), --subject FILTER (default omnigate.events.>, e.g.
 * omnigate.events.ticket.>), --durable NAME (default example), --count N
 * (exit after N events).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#define BATCH 100
#define FETCH_WAIT_MS 1000
#define NATS_CLOSE_WAIT_MS 2000

struct opts {
	const char *server, *stream, *subject, *durable;
	unsigned long long count;
};

static int parse_args(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){"nats://127.0.0.1:4222", "OMNIGATE", "omnigate.events.>", "example", 0};
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--server") == 0)
			o->server = argv[i + 1];
		else if (strcmp(argv[i], "--stream") == 0)
			o->stream = argv[i + 1];
		else if (strcmp(argv[i], "--subject") == 0)
			o->subject = argv[i + 1];
		else if (strcmp(argv[i], "--durable") == 0)
			o->durable = argv[i + 1];
		else if (strcmp(argv[i], "--count") == 0)
			o->count = strtoull(argv[i + 1], NULL, 10);
		else
			return -1;
	}
	return argc % 2 == 1 ? 0 : -1;
}

/* handle - one event: processed, then acknowledged (the durable position). */
static natsStatus handle(natsMsg *m)
{
	const char *seq = "?", *type = "?";

	natsMsgHeader_Get(m, "Omnigate-Seq", &seq);
	natsMsgHeader_Get(m, "Omnigate-Type", &type);
	/* Your work goes here: natsMsg_GetData(m) is the event as JSON (or
	 * msgpack when the gateway's nats.payload says so). */
	printf("%s %s %s\n", seq, type, natsMsg_GetSubject(m));
	fflush(stdout);
	return natsMsg_Ack(m, NULL);
}

/* consume - fetches batches until `count` events (0: forever). */
static natsStatus consume(natsSubscription *sub, unsigned long long count)
{
	unsigned long long done = 0;
	natsStatus s = NATS_OK;
	jsErrCode jerr = 0;

	while (s == NATS_OK && (count == 0 || done < count)) {
		natsMsgList list = {0};

		s = natsSubscription_Fetch(&list, sub, BATCH, FETCH_WAIT_MS, &jerr);
		if (s == NATS_TIMEOUT) {
			s = NATS_OK; /* nothing new yet */
			continue;
		}
		for (int i = 0; s == NATS_OK && i < list.Count; i++, done++)
			s = handle(list.Msgs[i]);
		natsMsgList_Destroy(&list);
	}
	return s;
}

int main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	natsSubscription *sub = NULL;
	jsCtx *js = NULL;
	jsSubOptions so;
	jsErrCode jerr = 0;
	struct opts o;
	natsStatus s;

	if (parse_args(argc, argv, &o) != 0) {
		fprintf(stderr, "usage: consumer [--server URL] [--stream NAME] [--subject F] "
			"[--durable NAME] [--count N]\n");
		return 64;
	}
	s = natsConnection_ConnectTo(&nc, o.server);
	if (s == NATS_OK)
		s = natsConnection_JetStream(&js, nc, NULL);
	if (s == NATS_OK)
		s = jsSubOptions_Init(&so);
	so.Stream = o.stream;
	/* A durable pull consumer: created on first use, kept by the server. */
	if (s == NATS_OK)
		s = js_PullSubscribe(&sub, js, o.subject, o.durable, NULL, &so, &jerr);
	if (s == NATS_OK)
		s = consume(sub, o.count);
	if (s != NATS_OK)
		fprintf(stderr, "consumer: %s (JetStream error %d)\n", natsStatus_GetText(s),
			(int)jerr);
	/* Destroy, not Unsubscribe: the durable consumer stays on the server. */
	natsSubscription_Destroy(sub);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	/* Waits for libnats' threads, so that nothing of it is left at exit. */
	nats_CloseAndWait(NATS_CLOSE_WAIT_MS);
	return s == NATS_OK ? 0 : 1;
}

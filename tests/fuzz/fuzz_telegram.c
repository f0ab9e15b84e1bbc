/*
 * fuzz_telegram.c - libFuzzer target for the Telegram update parser
 * (connectors/telegram/tg_parse.h), both of its entry points: a webhook
 * body (one Update) and a getUpdates answer (the same bytes wrapped as
 * {"ok":true,"result":[<bytes>]}), and the Bot API answer reader
 * (tg_api.h) the replies and the poller use.
 *
 * Whatever is accepted must give events that encode (every value within
 * the proto limits, valid UTF-8), at most one per Update, and a second
 * parse of the same bytes, later, must give the same ids: a redelivered
 * update must deduplicate. Counts stay consistent (dropped among
 * unreadable). A refusal must leave the list empty. Seeds:
 * tests/fixtures/telegram/nutgram/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/telegram/tg_api.h"
#include "connectors/telegram/tg_parse.h"
#include "core/err.h"
#include "proto/proto.h"

/* The dedup id of an event: external_id or change_id. */
static const char *dedup_id(const struct proto_event *e)
{
	return e->type == PROTO_T_MESSAGE_EDITED ? e->u.change.change_id
						 : e->u.message.external_id;
}

static void check(const struct tg_events *a, const struct tg_events *b, int rc, int rc2,
		  const struct tg_parse_error *err)
{
	if (rc != GW_OK) {
		if (a->n != 0 || a->ev || err->code != rc || rc2 != rc)
			abort(); /* a refusal left events behind, or changed its mind */
		return;
	}
	if (rc2 != GW_OK || a->n != b->n || a->n > a->updates || a->dropped > a->unreadable)
		abort();
	if (a->unreadable && !a->unreadable_why[0])
		abort();
	for (size_t i = 0; i < a->n; i++) {
		char *buf = NULL;
		size_t len = 0;

		if (proto_encode(&a->ev[i], &buf, &len, NULL) != GW_OK)
			abort(); /* an event over a limit or not UTF-8 */
		free(buf);
		if (strcmp(dedup_id(&a->ev[i]), dedup_id(&b->ev[i])) != 0)
			abort(); /* ids must depend on the body alone */
	}
}

static void one(const char *body, size_t len, int answer)
{
	struct tg_parse_opts o1 = {"tg", 1700000000000LL}, o2 = {"tg", 1700000012345LL};
	struct tg_events a, b;
	struct tg_parse_error err, err2;
	int rc, rc2;

	if (answer) {
		rc = tg_parse_updates(body, len, &o1, &a, &err);
		rc2 = tg_parse_updates(body, len, &o2, &b, &err2);
	} else {
		rc = tg_parse_update(body, len, &o1, &a, &err);
		rc2 = tg_parse_update(body, len, &o2, &b, &err2);
	}
	check(&a, &b, rc, rc2, &err);
	tg_events_clear(&a);
	tg_events_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char pre[] = "{\"ok\":true,\"result\":[", post[] = "]}";
	char *wrapped = malloc(size + sizeof(pre) + sizeof(post));
	struct tg_answer ans;
	char ref[64];

	one((const char *)data, size, 0);
	if (!wrapped)
		return 0;
	memcpy(wrapped, pre, sizeof(pre) - 1);
	memcpy(wrapped + sizeof(pre) - 1, data, size);
	memcpy(wrapped + sizeof(pre) - 1 + size, post, sizeof(post));
	one(wrapped, size + sizeof(pre) - 1 + sizeof(post) - 1, 1);
	free(wrapped);
	tg_answer_parse((const char *)data, size, &ans);
	if (ans.retry_after_s < -1 || strlen(ans.description) >= sizeof(ans.description))
		abort();
	tg_answer_sent((const char *)data, size, ref, sizeof(ref));
	return 0;
}

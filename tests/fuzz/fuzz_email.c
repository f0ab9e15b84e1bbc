/*
 * fuzz_email.c - libFuzzer target for the email parser
 * (connectors/email/email_parse.h).
 *
 * Any bytes must give GW_OK and a verdict: a malformed message is an event
 * with warnings or a quarantine with a reason, never an error or a crash.
 * An ingested event must encode (every value within the proto limits, valid
 * UTF-8), and a second parse of the same bytes must give the same id and
 * text: a message fetched twice must deduplicate. Attachments are hashed
 * but not stored. Seeds: tests/fixtures/email/ (e.g. copy a few folders
 * into a corpus folder; the whole set is about 8 MB).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/email/email_parse.h"
#include "core/err.h"
#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ingested(const uint8_t *data, size_t size,
			   const struct email_parse_options *opt, const struct email_result *a)
{
	struct email_result b;
	char *buf = NULL;
	size_t len = 0;

	if (proto_encode(&a->ev, &buf, &len, NULL) != GW_OK)
		abort(); /* an event over a limit or not UTF-8 */
	free(buf);
	if (email_parse(data, size, opt, &b) != GW_OK || b.verdict != EMAIL_INGEST)
		abort();
	if (strcmp(a->ev.u.message.external_id, b.ev.u.message.external_id) != 0 ||
	    strcmp(a->ev.u.message.text, b.ev.u.message.text) != 0)
		abort(); /* ids and text depend on the bytes only */
	email_result_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const own[] = {"support@example.com"};
	const struct email_parse_options opt = {
		.account = "fuzz",
		.received_at = 1700000000000LL,
		.max_attachment_bytes = 1u << 20,
		.max_message_bytes = 4u << 20,
		.own_addresses = own,
		.n_own = 1,
	};
	struct email_result a;

	email_parse_init();
	if (email_parse(data, size, &opt, &a) != GW_OK)
		abort(); /* without a store only GW_ENOMEM could fail */
	if (a.verdict == EMAIL_INGEST)
		check_ingested(data, size, &opt, &a);
	else if (a.reason[0] == '\0' || a.ev.type != PROTO_T_NONE)
		abort(); /* a refusal says why and leaves no event */
	email_result_clear(&a);
	return 0;
}

/*
 * fuzz_sms.c - libFuzzer target for what the SMS connector reads from the
 * network: Twilio's webhook bodies (connectors/sms/sms_form.h decoded,
 * signature-checked by sms_sig.h, read by sms_parse.h on both paths) and
 * the answers of Twilio's Messages resource (sms_rest.h).
 *
 * Input: the webhook body; the same bytes are also judged as an answer,
 * with an HTTP status taken from the input's length. A decoded form's
 * pairs must lie within the buffer's bounds; an accepted webhook must
 * encode (every value within the proto limits, valid UTF-8); a refused one
 * must leave the event cleared and say why; a judgement must be a known
 * verdict with a reason when it is not DONE, a reference within its bound.
 * Seeds: tests/fuzz/corpus/sms.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/sms/sms_form.h"
#include "connectors/sms/sms_parse.h"
#include "connectors/sms/sms_rest.h"
#include "connectors/sms/sms_sig.h"
#include "core/err.h"
#include "proto/proto.h"

static const struct sms_parse_meta meta = {"sms", "fuzz", "AC0123456789abcdef0123456789abcdef",
					   1700000000000LL};

/* check - an accepted webhook encodes; a refused one is cleared, with why. */
static void check(int rc, struct sms_parsed *p, const struct sms_parse_error *err)
{
	char *buf = NULL;
	size_t len = 0;

	if (rc != GW_OK) {
		if (p->ev.type != PROTO_T_NONE || !err->code || !err->message[0])
			abort();
		return;
	}
	if (p->what != SMS_WH_IGNORED && proto_encode(&p->ev, &buf, &len, NULL) != GW_OK)
		abort(); /* a value over a limit or not UTF-8 */
	free(buf);
	sms_parsed_clear(p);
}

static void fuzz_webhook(const char *body, size_t size)
{
	static struct sms_sig_key *key;
	struct sms_parse_error err;
	struct sms_parsed p;
	struct sms_form f = {0};
	char why[160];

	if (sms_form_parse(body, size, &f, why, sizeof(why)) != GW_OK) {
		if (f.n != 0 || f.buf)
			abort();
		return;
	}
	for (size_t i = 0; i < f.n; i++)
		if (!f.pair[i].name[0] || strlen(f.pair[i].value) != f.pair[i].value_len)
			abort();
	if (!key)
		key = sms_sig_key_new("fuzz-token", 10);
	if (key && sms_sig_verify(key, "https://gw.example.com/webhooks/sms", &f,
				  "AAAAAAAAAAAAAAAAAAAAAAAAAAA=") == SMS_SIG_OK)
		abort();
	check(sms_parse(&f, &meta, 0, &p, &err), &p, &err);
	check(sms_parse(&f, &meta, 1, &p, &err), &p, &err);
	sms_keyword(sms_form_get(&f, "Body"));
	sms_form_clear(&f);
}

static void fuzz_answer(const char *body, size_t size)
{
	static const long statuses[] = {200, 201, 400, 401, 404, 429, 500, 503};
	struct sender_attempt a = {0, 0, CURLE_OK, statuses[size % 8], body, size, -1, ""};
	struct sender_outcome o;
	struct sms_rest_answer ans;

	memset(&o, 0, sizeof(o));
	sms_rest_judge(&a, "fuzz", &o, &ans);
	if (o.verdict != SENDER_DONE && o.verdict != SENDER_RETRY && o.verdict != SENDER_FAIL)
		abort();
	if (o.verdict != SENDER_DONE && !o.reason[0])
		abort();
	if (strlen(o.ref_id) > PROTO_MAX_EXTERNAL_ID || ans.segments >= 100000)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The answer is NUL-terminated for the judge, as the sender gives it. */
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_webhook(text, size);
	fuzz_answer(text, size);
	free(text);
	return 0;
}

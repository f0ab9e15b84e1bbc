/*
 * fuzz_oauth.c - libFuzzer target for the email connector's reading of an
 * OAuth 2.0 token endpoint's answer (connectors/email/oauth_token.h). The
 * first byte picks the HTTP status (200, 400, 401, 503), the rest is the
 * body.
 *
 * Whatever the bytes: a token is accepted only with a usable access token
 * (printable ASCII, no blanks, bounded) and a positive lifetime; an error
 * has a printable code and description; a refusal leaves no token behind
 * and says why; parsing twice gives the same verdict.
 *   build-fuzz/bin/fuzz_oauth -rss_limit_mb=1024 corpus tests/fuzz/corpus/oauth
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/email/oauth_token.h"
#include "core/err.h"

static int printable(const char *s, int blanks)
{
	for (; *s; s++)
		if ((unsigned char)*s < (blanks ? 0x20 : 0x21) || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static void check(int rc, const struct oauth_answer *a)
{
	if (rc != GW_OK && rc != GW_EPROTO)
		abort();
	if (rc == GW_EPROTO && (a->ok || a->access_token[0] || !a->description[0]))
		abort(); /* a refusal left a token, or said nothing */
	if (rc == GW_OK && a->ok &&
	    (!a->access_token[0] || !printable(a->access_token, 0) ||
	     !printable(a->refresh_token, 0) || a->expires_in_s < 1 ||
	     a->expires_in_s > OAUTH_MAX_EXPIRES_S))
		abort();
	if (!printable(a->error, 1) || !printable(a->description, 1))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {200, 400, 401, 503};
	struct oauth_answer *a, *b;
	long status;
	int rc, rc2;

	if (size < 1)
		return 0;
	status = statuses[data[0] % 4];
	a = malloc(sizeof(*a));
	b = malloc(sizeof(*b));
	if (!a || !b)
		abort();
	rc = oauth_parse_answer(status, (const char *)data + 1, size - 1, a);
	check(rc, a);
	rc2 = oauth_parse_answer(status, (const char *)data + 1, size - 1, b);
	if (rc2 != rc || a->ok != b->ok || strcmp(a->access_token, b->access_token) != 0 ||
	    strcmp(a->error, b->error) != 0 || a->expires_in_s != b->expires_in_s)
		abort();
	oauth_answer_clear(a);
	oauth_answer_clear(b);
	free(a);
	free(b);
	return 0;
}

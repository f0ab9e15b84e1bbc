/*
 * tg_secret.c - the webhook's secret token check (tg_secret.h).
 */
#include "connectors/telegram/tg_secret.h"

#include "connectors/telegram/telegram_config.h"
#include "core/util.h"

enum tg_secret_result tg_secret_verify(const char *secret, size_t slen, const char *header,
				       size_t hlen)
{
	if (!header)
		return TG_SECRET_MISSING;
	if (!telegram_secret_token_ok(header, hlen))
		return TG_SECRET_MALFORMED;
	/* Only the lengths can leak, as for any constant-time compare. */
	return gw_ct_equal(header, hlen, secret, slen) ? TG_SECRET_OK : TG_SECRET_WRONG;
}

const char *tg_secret_result_name(enum tg_secret_result r)
{
	switch (r) {
	case TG_SECRET_OK: return "ok";
	case TG_SECRET_MISSING: return "missing";
	case TG_SECRET_MALFORMED: return "malformed";
	default: return "wrong";
	}
}

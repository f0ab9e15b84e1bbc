/*
 * tg_api.c - the Bot API's answers and URLs (tg_api.h).
 */
#include "connectors/telegram/tg_api.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "core/util.h"

int tg_answer_parse(const char *body, size_t len, struct tg_answer *a)
{
	json_t *root = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
	json_t *params, *ra;
	const char *desc;

	memset(a, 0, sizeof(*a));
	a->retry_after_s = -1;
	if (!json_is_object(root) || !json_is_boolean(json_object_get(root, "ok"))) {
		json_decref(root);
		return GW_EPROTO;
	}
	a->ok = json_is_true(json_object_get(root, "ok"));
	if (json_is_integer(json_object_get(root, "error_code")))
		a->error_code = (long)json_integer_value(json_object_get(root, "error_code"));
	desc = json_string_value(json_object_get(root, "description"));
	if (desc) {
		snprintf(a->description, sizeof(a->description), "%s", desc);
		gw_utf8_trim(a->description);
	}
	params = json_object_get(root, "parameters");
	ra = json_object_get(params, "retry_after");
	if (json_is_integer(ra) && json_integer_value(ra) >= 0)
		a->retry_after_s = (int64_t)json_integer_value(ra);
	json_decref(root);
	return GW_OK;
}

int tg_answer_sent(const char *body, size_t len, char *out, size_t outlen)
{
	json_t *root = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
	json_t *res = json_object_get(root, "result");
	json_t *chat = json_object_get(json_object_get(res, "chat"), "id");
	json_t *mid = json_object_get(res, "message_id");
	int n, rc = GW_EPROTO;

	if (json_is_true(json_object_get(root, "ok")) && json_is_integer(chat) &&
	    json_is_integer(mid)) {
		n = snprintf(out, outlen, "%lld:%lld", (long long)json_integer_value(chat),
			     (long long)json_integer_value(mid));
		rc = n > 0 && (size_t)n < outlen ? GW_OK : GW_ETOOBIG;
	}
	json_decref(root);
	return rc;
}

/* tg_base_len - the length of base without the '/'s that end it. */
static size_t tg_base_len(const char *base)
{
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	return n;
}

int tg_method_url(char *out, size_t outlen, const char *base, const char *token,
		  const char *method)
{
	int n = snprintf(out, outlen, "%.*s/bot%s/%s", (int)tg_base_len(base), base, token,
			 method);

	return n > 0 && (size_t)n < outlen ? GW_OK : GW_ETOOBIG;
}

int tg_file_url(char *out, size_t outlen, const char *base, const char *token,
		const char *file_path)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				 "0123456789._-/";
	int n;

	if (!file_path || !file_path[0] || file_path[0] == '/' || strstr(file_path, "..") ||
	    strspn(file_path, ok) != strlen(file_path))
		return GW_EINVAL;
	n = snprintf(out, outlen, "%.*s/file/bot%s/%s", (int)tg_base_len(base), base, token,
		     file_path);
	return n > 0 && (size_t)n < outlen ? GW_OK : GW_ETOOBIG;
}

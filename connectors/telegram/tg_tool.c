/*
 * tg_tool.c - main() of gateway-telegram, which `gatewayctl telegram` runs
 * (so that gatewayctl itself links no libcurl): the Bot API calls an
 * operator makes about one bot of the config (docs/channels/telegram.md):
 *
 *   gateway-telegram --config FILE set-webhook INSTANCE [--url URL]
 *       setWebhook with the URL (--url, else the instance's webhook_url),
 *       its secret_token and allowed_updates; webhook mode only
 *   gateway-telegram --config FILE delete-webhook INSTANCE
 *       deleteWebhook: getUpdates (polling mode) works again
 *   gateway-telegram --config FILE info INSTANCE
 *       getWebhookInfo, printed as JSON
 *
 * Exit codes, as gatewayctl's: 0 done, 1 Telegram refused it or could not
 * be reached, 2 the config (or the instance) does not allow it, 64 usage.
 * Messages start with "gatewayctl:", the command the user typed. The token
 * and the secret are never printed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "connectors/curl_err.h"
#include "connectors/telegram/telegram_config.h"
#include "connectors/telegram/tg_api.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"

#define TT_EXIT_OK 0
#define TT_EXIT_ERROR 1
#define TT_EXIT_CONFIG 2
#define TT_EXIT_USAGE 64
#define TT_TIMEOUT_MS 30000L
#define TT_ANSWER_MAX (1024 * 1024)
#define TT_URL_MAX (TG_URL_MAX + TG_TOKEN_MAX + 64)

struct tt_args {
	const char *config, *command, *instance, *url;
};

struct tt_buf {
	char *data;
	size_t len;
};

static void tt_usage(FILE *f)
{
	fprintf(f, "usage: gateway-telegram --config FILE set-webhook INSTANCE [--url URL]\n"
		   "       gateway-telegram --config FILE delete-webhook INSTANCE\n"
		   "       gateway-telegram --config FILE info INSTANCE\n");
}

static int tt_parse_args(int argc, char **argv, struct tt_args *a)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"url", required_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, "c:u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case 'u': a->url = optarg; break;
		default: tt_usage(c == 'h' ? stdout : stderr); return -1;
		}
	}
	if (optind + 2 != argc || !a->config) {
		tt_usage(stderr);
		return -1;
	}
	a->command = argv[optind];
	a->instance = argv[optind + 1];
	if (strcmp(a->command, "set-webhook") != 0 && strcmp(a->command, "delete-webhook") != 0 &&
	    strcmp(a->command, "info") != 0) {
		fprintf(stderr, "gatewayctl: telegram: unknown subcommand '%s'\n", a->command);
		tt_usage(stderr);
		return -1;
	}
	if (a->url && strcmp(a->command, "set-webhook") != 0) {
		fprintf(stderr, "gatewayctl: telegram: --url goes with set-webhook only\n");
		return -1;
	}
	return 0;
}

/* ---- the instance ------------------------------------------------------------ */

/* tt_instance - the settings of the telegram instance named `name`; NULL
 * (the reason printed) when there is none or it cannot run. */
static const struct telegram_settings *tt_instance(const struct gw_config *cfg,
						   const char *name)
{
	const struct gw_connector_conf *c = gw_config_find_connector(cfg, name);

	if (!c) {
		fprintf(stderr, "gatewayctl: telegram: no connector named '%s' in %s\n", name,
			cfg->path);
		return NULL;
	}
	if (strcmp(c->type, "telegram") != 0) {
		fprintf(stderr, "gatewayctl: telegram: connector '%s' is of type %s, not telegram\n",
			name, c->type);
		return NULL;
	}
	if (c->disabled_reason) {
		fprintf(stderr, "gatewayctl: telegram: connector '%s' is off: %s\n", name,
			c->disabled_reason);
		return NULL;
	}
	return c->settings;
}

/* ---- one call -------------------------------------------------------------------- */

static size_t tt_write(char *p, size_t size, size_t n, void *arg)
{
	struct tt_buf *b = arg;
	size_t len = size * n;
	char *d;

	if (len > TT_ANSWER_MAX - b->len)
		return 0;
	d = realloc(b->data, b->len + len + 1);
	if (!d)
		return 0;
	memcpy(d + b->len, p, len);
	b->data = d;
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

/* tt_call - POSTs `body` (JSON) to `method`; the answer into *ans (the
 * caller frees ans->data). TT_EXIT_OK when Telegram answered ok. */
static int tt_call(const struct telegram_settings *s, const char *method, const char *body,
		   struct tt_buf *ans)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char url[TT_URL_MAX], err[CURL_ERROR_SIZE] = "";
	struct tg_answer a;
	CURL *c = curl_easy_init();
	CURLcode cc = CURLE_FAILED_INIT;
	long status = 0;

	if (c && h && tg_method_url(url, sizeof(url), s->api_url, s->token, method) == GW_OK) {
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, TT_TIMEOUT_MS);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tt_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, ans);
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	}
	OPENSSL_cleanse(url, sizeof(url));
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (cc != CURLE_OK) {
		fprintf(stderr, "gatewayctl: telegram: %s: %s (%s)\n", method,
			err[0] ? err : curl_easy_strerror(cc), gw_strerror(gw_curl_err(cc)));
		return TT_EXIT_ERROR;
	}
	tg_answer_parse(ans->data, ans->len, &a);
	if (status == 200 && a.ok)
		return TT_EXIT_OK;
	fprintf(stderr, "gatewayctl: telegram: %s: Telegram answered %ld%s%s\n", method, status,
		a.description[0] ? ": " : "", a.description);
	return TT_EXIT_ERROR;
}

/* tt_print - "method: ok (description)", or the result as JSON (info). */
static void tt_print(const char *method, const struct tt_buf *ans, int whole)
{
	json_t *root = json_loadb(ans->data ? ans->data : "", ans->len, 0, NULL);
	const char *desc = json_string_value(json_object_get(root, "description"));
	char *text = NULL;

	if (whole)
		text = json_dumps(json_object_get(root, "result"), JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text)
		printf("%s\n", text);
	else
		printf("%s: ok%s%s%s\n", method, desc ? " (" : "", desc ? desc : "", desc ? ")" : "");
	free(text);
	json_decref(root);
}

/* ---- the commands ---------------------------------------------------------------- */

/* tt_webhook_body - setWebhook's body, the secret in it; NULL (why printed). */
static char *tt_webhook_body(const struct telegram_settings *s, const char *url)
{
	json_t *au = json_array();
	json_t *o = json_pack("{s:s,s:s,s:o}", "url", url, "secret_token", s->secret_token, "allowed_updates", au);
	char *text = NULL;
	int rc = o ? 0 : -1;

	for (size_t i = 0; rc == 0 && i < s->allowed_updates.n; i++)
		rc = json_array_append_new(au, json_string(s->allowed_updates.v[i]));
	if (rc == 0)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		fprintf(stderr, "gatewayctl: telegram: out of memory\n");
	return text;
}

static int tt_set_webhook(const struct telegram_settings *s, const char *name, const char *url)
{
	struct tt_buf ans = {NULL, 0};
	char *body;
	int rc;

	if (telegram_mode(s) != TG_MODE_WEBHOOK) {
		fprintf(stderr, "gatewayctl: telegram: connector '%s' is in polling mode: set "
			"`mode: webhook` (and restart it) before registering a webhook\n", name);
		return TT_EXIT_CONFIG;
	}
	if (!url || !url[0]) {
		fprintf(stderr, "gatewayctl: telegram: no URL: give --url or set webhook_url of "
			"connector '%s'\n", name);
		return TT_EXIT_USAGE;
	}
	if (strncasecmp(url, "https://", 8) != 0) {
		fprintf(stderr, "gatewayctl: telegram: the webhook URL must be https:// (Telegram "
			"calls webhooks over HTTPS only)\n");
		return TT_EXIT_USAGE;
	}
	body = tt_webhook_body(s, url);
	if (!body)
		return TT_EXIT_ERROR;
	rc = tt_call(s, "setWebhook", body, &ans);
	OPENSSL_cleanse(body, strlen(body));
	free(body);
	if (rc == TT_EXIT_OK)
		tt_print("setWebhook", &ans, 0);
	free(ans.data);
	return rc;
}

static int tt_run(const struct tt_args *a, const struct telegram_settings *s)
{
	struct tt_buf ans = {NULL, 0};
	int info = strcmp(a->command, "info") == 0;
	const char *method = info ? "getWebhookInfo" : "deleteWebhook";
	int rc;

	if (strcmp(a->command, "set-webhook") == 0)
		return tt_set_webhook(s, a->instance, a->url ? a->url : s->webhook_url);
	rc = tt_call(s, method, "{}", &ans);
	if (rc == TT_EXIT_OK)
		tt_print(method, &ans, info);
	free(ans.data);
	return rc;
}

int main(int argc, char **argv)
{
	const struct telegram_settings *s;
	struct gw_config *cfg = NULL;
	struct tt_args a;
	char err[512] = "";
	int rc;

	gw_log_init("gatewayctl", GW_LOG_WARN);
	if (tt_parse_args(argc, argv, &a) != 0)
		return TT_EXIT_USAGE;
	rc = gw_config_load(a.config, NULL, &cfg, err, sizeof(err));
	if (rc != GW_OK) {
		fprintf(stderr, "gatewayctl: %s\n", err[0] ? err : gw_strerror(rc));
		return TT_EXIT_CONFIG;
	}
	s = tt_instance(cfg, a.instance);
	rc = TT_EXIT_CONFIG;
	if (s && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {
		rc = tt_run(&a, s);
		curl_global_cleanup();
	}
	gw_config_free(cfg);
	return rc;
}

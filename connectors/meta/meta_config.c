/*
 * meta_config.c - the config table of the `meta` connector type and its
 * check (meta_config.h), read by every process through the light registry.
 */
#include "connectors/meta/meta_config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "connectors/httpd.h"
#include "proto/proto.h"
#include "core/err.h"

#define META_WEBHOOK_PATH_MAX 256 /* longest webhook path */
#define META_URL_MAX 1024         /* longest graph_url */

#define META_PAGE_TOKEN_MAX (PROTO_MAX_ACCOUNT + 1 + META_ENV_MAX)
#define META_OFF(m) offsetof(struct meta_settings, m)

static const struct conf_entry meta_conf_entries[] = {
	{.kind = CONF_LISTEN, .key = "listen", .def = "127.0.0.1:8089", .offset = META_OFF(listen),
	 .desc = "address:port the webhook server listens on; keep it on loopback behind a "
		 "TLS proxy"},
	{.kind = CONF_STRING, .key = "path", .def = "/webhooks/meta",
	 .max = META_WEBHOOK_PATH_MAX, .offset = META_OFF(path),
	 .desc = "path of the webhook (the callback URL set in the Meta app ends with it)"},
	{.kind = CONF_SECRET, .key = "app_secret", .max = META_SECRET_MAX,
	 .flags = CONF_F_REQUIRED, .offset = META_OFF(app_secret),
	 .desc = "the app secret (App settings > Basic) that signs every POST; use ${ENV}"},
	{.kind = CONF_SECRET, .key = "verify_token", .max = META_SECRET_MAX,
	 .flags = CONF_F_REQUIRED, .offset = META_OFF(verify_token),
	 .desc = "the verify token typed into the app's webhook settings; use ${ENV}"},
	{.kind = CONF_INT, .key = "max_body_bytes", .def = "1048576", .min = 1024,
	 .max = 67108864, .offset = META_OFF(max_body_bytes),
	 .desc = "webhooks with a larger body are answered 413 without reading it"},
	{.kind = CONF_INT, .key = "max_connections", .def = "1024", .min = 1, .max = 65536,
	 .offset = META_OFF(max_connections),
	 .desc = "concurrent HTTP connections; past it the one idle the longest is closed for "
		 "a new one, or the new one is answered 503 when none is idle"},
	{.kind = CONF_INT, .key = "spool_max", .def = "1000000", .min = 1000, .max = 100000000,
	 .offset = META_OFF(spool_max),
	 .desc = "accepted events not yet routed kept at most; past it webhooks get 503"},
	{.kind = CONF_INT, .key = "spool_map_mb", .def = "1024", .min = 16, .max = 1048576,
	 .offset = META_OFF(spool_map_mb),
	 .desc = "LMDB map size of the spool in MiB (disk is used only as it fills)"},
	LIMITS_CONF_ROWS(META_OFF),
	{.kind = CONF_BOOL, .key = "media_download", .def = "false",
	 .offset = META_OFF(media_download),
	 .desc = "download the files of messages (WhatsApp media, Messenger and Instagram "
		 "attachments) into media_dir while the webhook is answered"},
	{.kind = CONF_STRING, .key = "graph_url", .def = "https://graph.facebook.com/v21.0",
	 .max = META_URL_MAX, .offset = META_OFF(graph_url),
	 .desc = "Graph API base URL, for replies and media downloads"},
	{.kind = CONF_SECRET, .key = "access_token", .max = META_SECRET_MAX,
	 .offset = META_OFF(access_token),
	 .desc = "Graph API token (a system user token with whatsapp_business_messaging): "
		 "WhatsApp replies, and media downloads (required when media_download is on); "
		 "use ${ENV}"},
	{.kind = CONF_INT, .key = "media_max_bytes", .def = "16777216", .min = 1024,
	 .max = 1073741824, .offset = META_OFF(media_max_bytes),
	 .desc = "larger files are not downloaded (the event keeps the media id or URL, and "
		 "says why in download_error)"},
	{.kind = CONF_PATH, .key = "media_dir", .max = 1024, .offset = META_OFF(media_dir),
	 .desc = "the attachment store downloads go to (refs sha256:<hex>); default "
		 "<state_dir>/attachments, the one GET /v1/attachments reads"},
	{.kind = CONF_STRLIST, .key = "page_tokens", .max = META_PAGE_TOKEN_MAX,
	 .offset = META_OFF(page_tokens),
	 .desc = "Messenger and Instagram replies: entries \"<page or Instagram account "
		 "id>=<ENV>\", the page access token of that account read from the environment "
		 "variable ENV"},
	{.kind = CONF_BOOL, .key = "human_agent_tag", .def = "false",
	 .offset = META_OFF(human_agent_tag),
	 .desc = "Messenger and Instagram: answer up to 7 days after the customer's last "
		 "message with the HUMAN_AGENT tag (the app needs that permission); off: 24 "
		 "hours"},
	SENDER_CONF_ROWS(META_OFF),
	/* Meta's webhooks come from a few shared addresses, every customer's
	 * messages through them: a generous bucket. */
	HTTPD_CONF_ROWS(META_OFF, "64", "60000", "10000"),
};

const struct conf_section meta_conf_section = {
	.name = "connectors[type=meta]",
	.entries = meta_conf_entries,
	.n_entries = sizeof(meta_conf_entries) / sizeof(meta_conf_entries[0]),
	.struct_size = sizeof(struct meta_settings),
	.desc = "The webhook of one Meta app: WhatsApp Cloud API, Messenger and "
		"Instagram messages of every number, page and account subscribed to it "
		"(docs/channels/whatsapp.md, messenger.md, instagram.md).",
};

/* Each page_tokens entry is "<account id>=<ENV>", ENV a variable name. */
static int meta_check_page_tokens(const struct conf_strlist *l, char *why, size_t whylen)
{
	static const char env_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					"0123456789_";

	for (size_t i = 0; i < l->n; i++) {
		const char *eq = strchr(l->v[i], '=');
		size_t alen = eq ? (size_t)(eq - l->v[i]) : 0;

		if (!eq || alen == 0 || alen > PROTO_MAX_ACCOUNT ||
		    strcspn(l->v[i], " \t\n") < alen || !eq[1] ||
		    strlen(eq + 1) > META_ENV_MAX || strspn(eq + 1, env_chars) != strlen(eq + 1) ||
		    (eq[1] >= '0' && eq[1] <= '9')) {
			snprintf(why, whylen, "page_tokens[%zu]: expected \"<page or Instagram "
				 "account id>=<ENVIRONMENT_VARIABLE>\"", i);
			return GW_ECONFIG;
		}
	}
	return GW_OK;
}

static int meta_check(const void *settings, char *why, size_t whylen)
{
	const struct meta_settings *s = settings;

	if (!s || !s->app_secret || !s->app_secret[0]) {
		snprintf(why, whylen, "app_secret: empty; set the app secret");
		return GW_ECONFIG;
	}
	if (!s->verify_token || !s->verify_token[0]) {
		snprintf(why, whylen, "verify_token: empty; set a verify token");
		return GW_ECONFIG;
	}
	if (!s->path || s->path[0] != '/' || strcmp(s->path, HTTPD_PATH_HEALTH) == 0) {
		snprintf(why, whylen, "path: must start with / and not be " HTTPD_PATH_HEALTH);
		return GW_ECONFIG;
	}
	if (s->media_download && (!s->access_token || !s->access_token[0])) {
		snprintf(why, whylen, "access_token: required when media_download is on");
		return GW_ECONFIG;
	}
	return meta_check_page_tokens(&s->page_tokens, why, whylen);
}

static const char *meta_attach_dir(const void *settings)
{
	return ((const struct meta_settings *)settings)->media_dir;
}

const struct gw_connector_conf_type meta_conf_type = {
	.name = "meta",
	.section = &meta_conf_section,
	.check = meta_check,
	.attach_dir = meta_attach_dir,
};

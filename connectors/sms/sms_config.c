/*
 * sms_config.c - the config table of the `sms` connector type and its
 * check (sms_config.h), read by every process through the light registry:
 * libc only, the URLs checked by hand.
 */
#include "connectors/sms/sms_config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "connectors/httpd.h"
#include "core/err.h"
#include "proto/proto.h"

#define SMS_OFF(m) offsetof(struct sms_settings, m)

static const struct conf_entry sms_conf_entries[] = {
	{.kind = CONF_LISTEN, .key = "listen", .def = "127.0.0.1:8092", .offset = SMS_OFF(listen),
	 .desc = "address:port the webhook server listens on; keep it on loopback behind a "
		 "TLS proxy"},
	{.kind = CONF_STRING, .key = "path", .def = "/webhooks/sms", .max = SMS_PATH_MAX,
	 .offset = SMS_OFF(path),
	 .desc = "path of the incoming-message webhook (\"A message comes in\" of the number "
		 "ends with it)"},
	{.kind = CONF_STRING, .key = "status_path", .def = "/webhooks/sms/status",
	 .max = SMS_PATH_MAX, .offset = SMS_OFF(status_path),
	 .desc = "path of the status callbacks of replies (sent as each reply's StatusCallback)"},
	{.kind = CONF_STRING, .key = "public_url", .max = SMS_URL_MAX, .flags = CONF_F_REQUIRED,
	 .offset = SMS_OFF(public_url),
	 .desc = "scheme://host[:port][/prefix] at which Twilio reaches this listener through "
		 "your proxy, no trailing /: the URLs Twilio signs are public_url + path"},
	{.kind = CONF_SECRET, .key = "account_sid", .max = SMS_SID_LEN, .flags = CONF_F_REQUIRED,
	 .offset = SMS_OFF(account_sid),
	 .desc = "the Twilio account SID (AC followed by 32 hex digits); use ${ENV}"},
	{.kind = CONF_SECRET, .key = "auth_token", .max = SMS_SECRET_MAX,
	 .flags = CONF_F_REQUIRED, .offset = SMS_OFF(auth_token),
	 .desc = "the account's auth token: checks X-Twilio-Signature, and the password of "
		 "the REST API; use ${ENV}"},
	{.kind = CONF_STRING, .key = "account", .max = PROTO_MAX_ACCOUNT,
	 .offset = SMS_OFF(account),
	 .desc = "`account` of the events this instance emits; default: the instance name"},
	{.kind = CONF_STRING, .key = "api_base", .def = "https://api.twilio.com",
	 .max = SMS_URL_MAX, .offset = SMS_OFF(api_base),
	 .desc = "Twilio's REST API base URL; https (plain http only to a loopback address)"},
	{.kind = CONF_BOOL, .key = "status_callback", .def = "true",
	 .offset = SMS_OFF(status_callback),
	 .desc = "replies ask Twilio for status callbacks at public_url + status_path"},
	{.kind = CONF_BOOL, .key = "media_download", .def = "true",
	 .offset = SMS_OFF(media_download),
	 .desc = "download the files of MMS (MediaUrl<i>) into <state_dir>/attachments before "
		 "Twilio is answered, so events name kept bytes (`sha256:`), not Twilio URLs"},
	{.kind = CONF_INT, .key = "media_max_bytes", .def = "5242880", .min = 1024,
	 .max = 1073741824, .offset = SMS_OFF(media_max_bytes),
	 .desc = "larger files are not downloaded (the event keeps the URL, and "
		 "download_error says why); Twilio's own limit is 5 MB per message"},
	{.kind = CONF_INT, .key = "max_body_bytes", .def = "65536", .min = 1024, .max = 1048576,
	 .offset = SMS_OFF(max_body_bytes),
	 .desc = "webhooks with a larger body are answered 413 without reading it"},
	{.kind = CONF_INT, .key = "max_connections", .def = "1024", .min = 1, .max = 65536,
	 .offset = SMS_OFF(max_connections),
	 .desc = "concurrent HTTP connections; more wait in the listen backlog"},
	{.kind = CONF_INT, .key = "spool_max", .def = "1000000", .min = 1000, .max = 100000000,
	 .offset = SMS_OFF(spool_max),
	 .desc = "accepted events not yet routed kept at most; past it webhooks get 503"},
	{.kind = CONF_INT, .key = "spool_map_mb", .def = "1024", .min = 16, .max = 1048576,
	 .offset = SMS_OFF(spool_map_mb),
	 .desc = "LMDB map size of the spool in MiB (disk is used only as it fills)"},
	{.kind = CONF_INT, .key = "contacts_map_mb", .def = "256", .min = 1, .max = 1048576,
	 .offset = SMS_OFF(contacts_map_mb),
	 .desc = "LMDB map size in MiB of the customers' numbers (the number each wrote to, "
		 "STOP); about 2 million customers per 256 MiB"},
	SENDER_CONF_ROWS(SMS_OFF),
	LIMITS_CONF_ROWS(SMS_OFF),
	/* Twilio's webhooks come from a few shared addresses: Meta's limits. */
	HTTPD_CONF_ROWS(SMS_OFF, "64", "60000", "10000"),
};

const struct conf_section sms_conf_section = {
	.name = "connectors[type=sms]",
	.entries = sms_conf_entries,
	.n_entries = sizeof(sms_conf_entries) / sizeof(sms_conf_entries[0]),
	.struct_size = sizeof(struct sms_settings),
	.desc = "SMS through Twilio: the numbers of one account whose incoming-message "
		"webhook points here, replies through its REST API from the number the "
		"customer wrote to, delivery statuses, STOP/START (docs/channels/sms.md).",
};

/* sms_loopback - the host at `h` (up to ':', '/' or the end) is 127.x,
 * [::1] or localhost. */
static int sms_loopback(const char *h)
{
	size_t n = strcspn(h, ":/?#");

	if (h[0] == '[')
		return strncmp(h, "[::1]", 5) == 0;
	return (n == 9 && strncasecmp(h, "localhost", 9) == 0) || strncmp(h, "127.", 4) == 0;
}

/* sms_url_host - the host part of an http(s) URL, or NULL when `url` has
 * another scheme, no host, credentials or blanks. *https says which. */
static const char *sms_url_host(const char *url, int *https)
{
	const char *h = NULL;

	*https = strncasecmp(url, "https://", 8) == 0;
	if (*https)
		h = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		h = url + 7;
	if (!h || !h[0] || strchr(":/?#", h[0]) || strpbrk(url, " \t\r\n") ||
	    memchr(h, '@', strcspn(h, "/?#")))
		return NULL;
	return h;
}

static int check_public_url(const char *url, char *why, size_t whylen)
{
	int https;
	size_t n = strlen(url);

	if (!sms_url_host(url, &https)) {
		snprintf(why, whylen, "public_url: must be an http:// or https:// URL with a host, "
			 "without user, password or blanks");
		return GW_ECONFIG;
	}
	if (strpbrk(url, "?#") || url[n - 1] == '/') {
		snprintf(why, whylen, "public_url: no query, fragment or trailing /: the path is "
			 "appended to it");
		return GW_ECONFIG;
	}
	return GW_OK;
}

static int check_api_base(const char *url, char *why, size_t whylen)
{
	int https;
	const char *h = sms_url_host(url, &https);

	if (!h || strpbrk(url, "?#") || url[strlen(url) - 1] == '/') {
		snprintf(why, whylen, "api_base: must be an https:// URL with a host, no query "
			 "and no trailing /");
		return GW_ECONFIG;
	}
	if (!https && !sms_loopback(h)) {
		snprintf(why, whylen, "api_base: plain http only to a loopback address (the auth "
			 "token goes with every request)");
		return GW_ECONFIG;
	}
	return GW_OK;
}

/* check_sid - "AC" and 32 hex digits: it goes into the REST URL's path. */
static int check_sid(const char *sid, char *why, size_t whylen)
{
	size_t n = sid ? strlen(sid) : 0;

	if (n == SMS_SID_LEN && strncmp(sid, "AC", 2) == 0 &&
	    strspn(sid + 2, "0123456789abcdefABCDEF") == SMS_SID_LEN - 2)
		return GW_OK;
	snprintf(why, whylen, "account_sid: %s; a Twilio account SID is AC followed by 32 hex "
		 "digits", n ? "malformed" : "empty");
	return GW_ECONFIG;
}

static int check_path(const char *key, const char *path, char *why, size_t whylen)
{
	if (path && path[0] == '/' && strcmp(path, HTTPD_PATH_HEALTH) != 0 &&
	    !strpbrk(path, "?# \t"))
		return GW_OK;
	snprintf(why, whylen, "%s: must start with /, have no query or blanks and not be "
		 HTTPD_PATH_HEALTH, key);
	return GW_ECONFIG;
}

static int sms_check(const void *settings, char *why, size_t whylen)
{
	const struct sms_settings *s = settings;
	int rc;

	if (!s || !s->auth_token || !s->auth_token[0]) {
		snprintf(why, whylen, "auth_token: empty; set the account's auth token");
		return GW_ECONFIG;
	}
	rc = check_sid(s->account_sid, why, whylen);
	if (rc == GW_OK)
		rc = check_public_url(s->public_url ? s->public_url : "", why, whylen);
	if (rc == GW_OK)
		rc = check_api_base(s->api_base ? s->api_base : "", why, whylen);
	if (rc == GW_OK)
		rc = check_path("path", s->path, why, whylen);
	if (rc == GW_OK)
		rc = check_path("status_path", s->status_path, why, whylen);
	if (rc == GW_OK && strcmp(s->path, s->status_path) == 0) {
		snprintf(why, whylen, "status_path: must differ from path");
		rc = GW_ECONFIG;
	}
	return rc;
}

const struct gw_connector_conf_type sms_conf_type = {
	.name = "sms",
	.section = &sms_conf_section,
	.check = sms_check,
};

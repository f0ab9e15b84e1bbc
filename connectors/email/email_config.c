/*
 * email_config.c - the config table of the `email` connector type and its
 * check (email_config.h), read by every process through the light
 * registry. The mailbox URL is split here by hand, not by libcurl, so that
 * reading the config needs no libcurl; imap.c hands the same URL to libcurl.
 */
#include "connectors/email/email_config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"

#define EMAIL_SECRET_MAX 1024
#define EMAIL_URL_MAX 1024
#define EMAIL_SCHEME_MAX 16
#define EMAIL_HOST_MAX 256

#define EMAIL_OFF(m) offsetof(struct email_settings, m)
#define SMTP_OFF(m) offsetof(struct email_smtp_settings, m)
#define SMTP_SECRET_MAX 1024
#define SMTP_TOKEN_MAX 8192

static const struct conf_entry smtp_rows[] = {
	{.kind = CONF_STRING, .key = "url", .max = 1024, .flags = CONF_F_REQUIRED,
	 .offset = SMTP_OFF(url),
	 .desc = "the submission server: smtp://host[:587] (STARTTLS) or smtps://host[:465] "
		 "(TLS from the first byte); without a port, 587 and 465"},
	{.kind = CONF_STRING, .key = "tls", .def = "auto", .max = 16, .offset = SMTP_OFF(tls),
	 .desc = "auto (implicit for smtps://, starttls for smtp://), implicit, starttls "
		 "(required: a server without it is refused), or none (plain SMTP, loopback "
		 "hosts only)"},
	{.kind = CONF_STRING, .key = "username", .max = 320, .offset = SMTP_OFF(username),
	 .desc = "SMTP login; default: the mailbox's username"},
	{.kind = CONF_SECRET, .key = "password", .max = SMTP_SECRET_MAX,
	 .offset = SMTP_OFF(password),
	 .desc = "SMTP password or app password; use ${ENV}. One of password and "
		 "bearer_token must have a value, else the connector stays off"},
	{.kind = CONF_SECRET, .key = "bearer_token", .max = SMTP_TOKEN_MAX,
	 .offset = SMTP_OFF(bearer_token),
	 .desc = "an OAuth 2.0 access token for SASL XOAUTH2 instead of the password; use "
		 "${ENV}"},
	{.kind = CONF_PATH, .key = "ca_file", .max = 1024, .offset = SMTP_OFF(ca_file),
	 .desc = "PEM file of the CA that signed the server's certificate; default: the "
		 "mailbox's ca_file, else the system's"},
	{.kind = CONF_STRING, .key = "from", .max = 320, .offset = SMTP_OFF(from),
	 .desc = "the address replies come from (also the envelope sender); default: the "
		 "mailbox's username when it is an address. Mail from it is never ingested"},
	{.kind = CONF_STRING, .key = "from_name", .max = 256, .offset = SMTP_OFF(from_name),
	 .desc = "display name of From; default: the name of the agent who wrote the reply"},
	{.kind = CONF_STRING, .key = "sent_folder", .max = 256, .offset = SMTP_OFF(sent_folder),
	 .desc = "folder of the mailbox a copy of each sent reply is appended to over IMAP "
		 "(e.g. Sent; ASCII name, must exist); default: no copy"},
	{.kind = CONF_INT, .key = "max_message_bytes", .def = "26214400", .min = 1024,
	 .max = 1073741824, .offset = SMTP_OFF(max_message_bytes),
	 .desc = "a reply larger than this with its attachments fails (most servers take "
		 "25 MiB)"},
	SENDER_CONF_ROWS(SMTP_OFF),
};

const struct conf_section email_smtp_section = {
	.name = "connectors[type=email].smtp",
	.entries = smtp_rows,
	.n_entries = sizeof(smtp_rows) / sizeof(smtp_rows[0]),
	.struct_size = sizeof(struct email_smtp_settings),
	.desc = "How an email connector sends replies (docs/channels/email.md, Replies). "
		"Without this block its replies fail with \"email connector NAME has no smtp "
		"block\".",
};

#define OAUTH_OFF(m) offsetof(struct email_oauth_settings, m)
#define OAUTH_GOOGLE_URL "https://oauth2.googleapis.com/token"
#define OAUTH_MICROSOFT_URL "https://login.microsoftonline.com/%s/oauth2/v2.0/token"
#define OAUTH_MICROSOFT_SCOPE                                                              \
	"https://outlook.office.com/IMAP.AccessAsUser.All "                                \
	"https://outlook.office.com/SMTP.Send offline_access"

static const struct conf_entry oauth_rows[] = {
	{.kind = CONF_STRING, .key = "token_url", .max = 1024, .flags = CONF_F_REQUIRED,
	 .offset = OAUTH_OFF(token_url),
	 .desc = "the provider's token endpoint: google (https://oauth2.googleapis.com/token), "
		 "microsoft (https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token), or "
		 "any https:// URL (http:// on loopback hosts only)"},
	{.kind = CONF_STRING, .key = "tenant", .def = "common", .max = 128,
	 .offset = OAUTH_OFF(tenant),
	 .desc = "token_url: microsoft only: the Entra tenant (common, organizations, "
		 "consumers, the directory's id or domain)"},
	{.kind = CONF_STRING, .key = "client_id", .max = 512, .flags = CONF_F_REQUIRED,
	 .offset = OAUTH_OFF(client_id), .desc = "the OAuth client (application) id"},
	{.kind = CONF_SECRET, .key = "client_secret", .max = 1024,
	 .offset = OAUTH_OFF(client_secret),
	 .desc = "the client's secret; use ${ENV}; none for a public client"},
	{.kind = CONF_SECRET, .key = "refresh_token", .max = 8192, .flags = CONF_F_REQUIRED,
	 .offset = OAUTH_OFF(refresh_token),
	 .desc = "the refresh token the mailbox's owner granted (docs/channels/email.md); use "
		 "${ENV}: unset, the connector stays off"},
	{.kind = CONF_STRING, .key = "scope", .max = 1024, .offset = OAUTH_OFF(scope),
	 .desc = "scope sent with each refresh; default: none for google and URLs, "
		 "IMAP.AccessAsUser.All, SMTP.Send and offline_access of "
		 "https://outlook.office.com for microsoft"},
	{.kind = CONF_CHOICE, .key = "mechanism", .def = "auto",
	 .choices = "auto,xoauth2,oauthbearer", .offset = OAUTH_OFF(mechanism),
	 .desc = "SASL mechanism: auto (OAUTHBEARER when the server offers it, else "
		 "XOAUTH2), xoauth2 or oauthbearer"},
	{.kind = CONF_INT, .key = "refresh_margin_s", .def = "300", .min = 0, .max = 86400,
	 .offset = OAUTH_OFF(refresh_margin_s),
	 .desc = "an access token is refreshed this long before it expires (at most a "
		 "quarter of its life)"},
	{.kind = CONF_PATH, .key = "ca_file", .max = 1024, .offset = OAUTH_OFF(ca_file),
	 .desc = "PEM file of the CA that signed the token endpoint's certificate; default: "
		 "the system's (not the mailbox's ca_file)"},
	{.kind = CONF_INT, .key = "timeout_ms", .def = "30000", .min = 1000, .max = 300000,
	 .offset = OAUTH_OFF(timeout_ms),
	 .desc = "one request to the token endpoint fails after this long"},
};

const struct conf_section email_oauth_section = {
	.name = "connectors[type=email].oauth",
	.entries = oauth_rows,
	.n_entries = sizeof(oauth_rows) / sizeof(oauth_rows[0]),
	.struct_size = sizeof(struct email_oauth_settings),
	.desc = "OAuth 2.0 login of an email connector, for IMAP and SMTP alike "
		"(docs/channels/email.md, OAuth 2.0): access tokens obtained with a refresh "
		"token and sent with SASL XOAUTH2 or OAUTHBEARER instead of the password.",
};

static const struct conf_entry email_conf_entries[] = {
	{.kind = CONF_STRING, .key = "url", .max = EMAIL_URL_MAX, .flags = CONF_F_REQUIRED,
	 .offset = EMAIL_OFF(url),
	 .desc = "the mailbox: imaps://host[:993]/INBOX or imap://host[:143]/INBOX"},
	{.kind = CONF_STRING, .key = "username", .max = 320, .flags = CONF_F_REQUIRED,
	 .offset = EMAIL_OFF(username), .desc = "IMAP login"},
	{.kind = CONF_SECRET, .key = "password", .max = EMAIL_SECRET_MAX,
	 .offset = EMAIL_OFF(password),
	 .desc = "IMAP password or app password; use ${ENV}. Required unless the oauth block "
		 "is given"},
	{.kind = CONF_STRING, .key = "tls", .def = "auto", .max = 16, .offset = EMAIL_OFF(tls),
	 .desc = "auto (implicit for imaps://, starttls for imap://), implicit, starttls, or "
		 "none (plain IMAP, loopback hosts only)"},
	{.kind = CONF_PATH, .key = "ca_file", .max = 1024, .offset = EMAIL_OFF(ca_file),
	 .desc = "PEM file of the CA that signed the server's certificate; default: the "
		 "system's"},
	{.kind = CONF_INT, .key = "poll_interval_ms", .def = "30000", .min = 1000,
	 .max = 86400000, .offset = EMAIL_OFF(poll_interval_ms),
	 .desc = "the mailbox is checked this often (also with IDLE, as a safety net)"},
	{.kind = CONF_BOOL, .key = "idle", .def = "true", .offset = EMAIL_OFF(idle),
	 .desc = "wait for new mail with IMAP IDLE when the server offers it"},
	{.kind = CONF_STRING, .key = "after", .def = "seen", .max = 16, .offset = EMAIL_OFF(after),
	 .desc = "once a message is durable: seen (flag \\Seen), move (to move_to) or none"},
	{.kind = CONF_STRING, .key = "move_to", .max = 256, .offset = EMAIL_OFF(move_to),
	 .desc = "folder the messages go to with after: move (ASCII name, must exist)"},
	{.kind = CONF_STRING, .key = "own_addresses", .max = 8192,
	 .offset = EMAIL_OFF(own_addresses),
	 .desc = "comma-separated addresses of the gateway itself: mail from them is skipped"},
	{.kind = CONF_INT, .key = "max_message_bytes", .def = "26214400", .min = 1024,
	 .max = 1073741824, .offset = EMAIL_OFF(max_message_bytes),
	 .desc = "larger messages are not read: quarantined with the reason"},
	{.kind = CONF_INT, .key = "max_attachment_bytes", .def = "10485760", .min = 0,
	 .max = 1073741824, .offset = EMAIL_OFF(max_attachment_bytes),
	 .desc = "larger attachments are listed in the event but their bytes are not stored"},
	{.kind = CONF_INT, .key = "fetch_batch", .def = "100", .min = 1, .max = 1000,
	 .offset = EMAIL_OFF(fetch_batch), .desc = "messages read per durable commit"},
	{.kind = CONF_INT, .key = "spool_max", .def = "1000000", .min = 1000, .max = 100000000,
	 .offset = EMAIL_OFF(spool_max),
	 .desc = "read messages not yet routed kept at most; past it reading pauses"},
	{.kind = CONF_INT, .key = "spool_map_mb", .def = "1024", .min = 16, .max = 1048576,
	 .offset = EMAIL_OFF(spool_map_mb),
	 .desc = "LMDB map size of the spool in MiB (disk is used only as it fills)"},
	LIMITS_CONF_ROWS(EMAIL_OFF),
	{.kind = CONF_PATH, .key = "attachment_dir", .max = 1024,
	 .offset = EMAIL_OFF(attachment_dir),
	 .desc = "folder of stored attachments, named by their SHA-256; default "
		 "<state_dir>/attachments"},
	{.kind = CONF_SECTION, .key = "smtp", .offset = EMAIL_OFF(smtp),
	 .desc = "how replies are sent (SMTP submission); without it replies fail with a reason",
	 .sub = &email_smtp_section},
	{.kind = CONF_SECTION, .key = "oauth", .offset = EMAIL_OFF(oauth),
	 .desc = "log in with OAuth 2.0 access tokens (IMAP and SMTP) instead of the password",
	 .sub = &email_oauth_section},
};

const struct conf_section email_conf_section = {
	.name = "connectors[type=email]",
	.entries = email_conf_entries,
	.n_entries = sizeof(email_conf_entries) / sizeof(email_conf_entries[0]),
	.struct_size = sizeof(struct email_settings),
	.desc = "One IMAP mailbox, read in UID order without gaps; each message becomes "
		"a message.received event (docs/channels/email.md).",
};

/* ---- the mailbox URL ----------------------------------------------------------- */

static const char *const imap_schemes[] = {"imaps", "imap", NULL};
static const char *const smtp_schemes[] = {"smtps", "smtp", NULL};

/* One of `schemes` + "://" (any case): the scheme, lowercase, and what
 * follows. */
static const char *email_url_scheme(const char *url, const char *const *schemes, char *scheme,
				    size_t ssize)
{
	for (size_t i = 0; schemes[i]; i++) {
		size_t n = strlen(schemes[i]);

		if (strncasecmp(url, schemes[i], n) == 0 && strncmp(url + n, "://", 3) == 0) {
			snprintf(scheme, ssize, "%s", schemes[i]);
			return url + n + 3;
		}
	}
	return NULL;
}

/* ":PORT" at p, 1..65535, or nothing; *end after it. */
static int email_url_port(const char *p, const char **end)
{
	size_t n;

	*end = p;
	if (*p != ':')
		return GW_OK;
	n = strspn(p + 1, "0123456789");
	if (n == 0 || n > 5 || strtol(p + 1, NULL, 10) < 1 || strtol(p + 1, NULL, 10) > 65535)
		return GW_ECONFIG;
	*end = p + 1 + n;
	return GW_OK;
}

/*
 * host[:port] at p: a name or an IPv4 address, or an IPv6 address in
 * brackets (kept). A login ("user:pass@host") is refused: it would end up
 * in logs. The host goes into host; *rest points after the port.
 */
static int email_url_host(const char *p, char *host, size_t hsize, const char **rest)
{
	size_t n;

	if (*p == '[') {
		n = strspn(p + 1, "0123456789abcdefABCDEF:.");
		if (n == 0 || p[1 + n] != ']')
			return GW_ECONFIG;
		n += 2;
	} else {
		n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
	}
	if (n == 0 || n >= hsize)
		return GW_ECONFIG;
	memcpy(host, p, n);
	host[n] = '\0';
	return email_url_port(p + n, rest);
}

/* "/MAILBOX": printable ASCII, no ';' (libcurl's options), '?' or '#'. */
static int email_url_path(const char *p)
{
	if (p[0] != '/' || p[1] == '\0')
		return GW_ECONFIG;
	for (; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr(";?#", *p))
			return GW_ECONFIG;
	return GW_OK;
}

/* Scheme and host of an IMAP URL with a mailbox: GW_OK or GW_ECONFIG. */
static int email_url_parts(const char *url, char *scheme, size_t ssize, char *host,
			   size_t hsize)
{
	const char *p = url ? email_url_scheme(url, imap_schemes, scheme, ssize) : NULL;
	int rc = p ? email_url_host(p, host, hsize, &p) : GW_ECONFIG;

	if (rc == GW_OK)
		rc = email_url_path(p);
	return rc;
}

static int email_tls_mode(const struct email_settings *s, const char *scheme,
			  enum imap_tls *mode)
{
	int imaps = strcmp(scheme, "imaps") == 0;

	if (strcmp(s->tls, "auto") == 0)
		*mode = imaps ? IMAP_TLS_IMPLICIT : IMAP_TLS_STARTTLS;
	else if (strcmp(s->tls, "implicit") == 0 && imaps)
		*mode = IMAP_TLS_IMPLICIT;
	else if (strcmp(s->tls, "starttls") == 0 && !imaps)
		*mode = IMAP_TLS_STARTTLS;
	else if (strcmp(s->tls, "none") == 0 && !imaps)
		*mode = IMAP_TLS_NONE;
	else
		return GW_ECONFIG;
	return GW_OK;
}

int email_settings_tls(const struct email_settings *s, enum imap_tls *mode)
{
	char scheme[EMAIL_SCHEME_MAX], host[EMAIL_HOST_MAX];
	int rc = email_url_parts(s->url, scheme, sizeof(scheme), host, sizeof(host));

	if (rc == GW_OK)
		rc = email_tls_mode(s, scheme, mode);
	return rc;
}

/* ---- the check ---------------------------------------------------------------- */

static int email_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
	       strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0;
}

static int email_ascii_folder(const char *s)
{
	if (!s || !s[0])
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int email_check_after(const struct email_settings *s, char *why, size_t whylen)
{
	if (strcmp(s->after, "seen") != 0 && strcmp(s->after, "move") != 0 &&
	    strcmp(s->after, "none") != 0) {
		snprintf(why, whylen, "after: must be seen, move or none");
		return GW_ECONFIG;
	}
	if (strcmp(s->after, "move") == 0 && !email_ascii_folder(s->move_to)) {
		snprintf(why, whylen, "move_to: an ASCII folder name is required with after: move");
		return GW_ECONFIG;
	}
	return GW_OK;
}

/* ---- the smtp block ---------------------------------------------------------- */

static int email_addr_like(const char *s)
{
	const char *at = s ? strchr(s, '@') : NULL;

	return at && at != s && at[1] && !strchr(at + 1, '@') && !strpbrk(s, " \t\r\n<>,;\"");
}

const char *email_settings_from(const struct email_settings *s)
{
	if (!s->smtp.url)
		return NULL;
	if (s->smtp.from)
		return s->smtp.from;
	return email_addr_like(s->username) ? s->username : NULL;
}

/* smtp_url - smtp[s]://host[:port] with nothing after but a "/": its
 * scheme and host. GW_OK or GW_ECONFIG. */
static int smtp_url(const char *url, char *scheme, size_t ssize, char *host, size_t hsize)
{
	const char *p = url ? email_url_scheme(url, smtp_schemes, scheme, ssize) : NULL;
	int rc = p ? email_url_host(p, host, hsize, &p) : GW_ECONFIG;

	if (rc == GW_OK && *p && strcmp(p, "/") != 0)
		rc = GW_ECONFIG;
	return rc;
}

/* smtp_tls - the block's tls against its URL's scheme. */
static int smtp_tls(const char *tls, const char *scheme, const char *host, char *why,
		    size_t whylen)
{
	int imp = strcmp(scheme, "smtps") == 0;

	if (strcmp(tls, "auto") == 0 || (strcmp(tls, "implicit") == 0 && imp) ||
	    ((strcmp(tls, "starttls") == 0 || strcmp(tls, "none") == 0) && !imp)) {
		if (strcmp(tls, "none") != 0 || email_loopback(host))
			return GW_OK;
		snprintf(why, whylen, "smtp.tls: none is allowed for loopback hosts only, not %s",
			 host);
		return GW_ECONFIG;
	}
	snprintf(why, whylen, "smtp.tls: %s does not fit a %s:// url (implicit goes with "
		 "smtps://, starttls and none with smtp://)", tls, scheme);
	return GW_ECONFIG;
}

/* email_check_smtp - the `smtp` block, when there is one. */
static int email_check_smtp(const struct email_settings *s, char *why, size_t whylen)
{
	const struct email_smtp_settings *m = &s->smtp;
	char scheme[EMAIL_SCHEME_MAX], host[EMAIL_HOST_MAX];

	if (!m->url)
		return GW_OK;
	if (smtp_url(m->url, scheme, sizeof(scheme), host, sizeof(host)) != GW_OK) {
		snprintf(why, whylen, "smtp.url: not smtp://host[:port] or smtps://host[:port] "
			 "(without a login or a path: use smtp.username and smtp.password)");
		return GW_ECONFIG;
	}
	if (smtp_tls(m->tls, scheme, host, why, whylen) != GW_OK)
		return GW_ECONFIG;
	if (!email_settings_from(s) || !email_addr_like(email_settings_from(s))) {
		snprintf(why, whylen, "smtp.from: %s", m->from ? "not an address"
				      : "required: the mailbox's username is not an address");
		return GW_ECONFIG;
	}
	if (!(m->password && *m->password) && !(m->bearer_token && *m->bearer_token) &&
	    !s->oauth.token_url) {
		snprintf(why, whylen, "smtp: neither password nor bearer_token has a value (is the "
			 "environment variable it names set?)");
		return GW_ECONFIG;
	}
	if (m->sent_folder && !email_ascii_folder(m->sent_folder)) {
		snprintf(why, whylen, "smtp.sent_folder: an ASCII folder name is required");
		return GW_ECONFIG;
	}
	return GW_OK;
}

/* ---- the oauth block ------------------------------------------------------------ */

/* oauth_tenant_ok - letters, digits, '.', '-' and '_' (a name or a GUID). */
static int oauth_tenant_ok(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	return n > 0 && strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			       "0123456789.-_") == n;
}

/* oauth_url_ok - https://host[:port][/path], or http:// on a loopback host. */
static int oauth_url_ok(const char *url)
{
	static const char *const schemes[] = {"https", "http", NULL};
	char scheme[EMAIL_SCHEME_MAX], host[EMAIL_HOST_MAX];
	const char *p = email_url_scheme(url, schemes, scheme, sizeof(scheme));

	if (!p || email_url_host(p, host, sizeof(host), &p) != GW_OK)
		return 0;
	if (*p && *p != '/')
		return 0;
	for (; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '#')
			return 0;
	return strcmp(scheme, "https") == 0 || email_loopback(host);
}

int email_oauth_url(const struct email_oauth_settings *o, char *out, size_t outlen)
{
	int n;

	if (!o->token_url)
		return GW_ECONFIG;
	if (strcmp(o->token_url, "google") == 0)
		n = snprintf(out, outlen, "%s", OAUTH_GOOGLE_URL);
	else if (strcmp(o->token_url, "microsoft") == 0 && oauth_tenant_ok(o->tenant))
		n = snprintf(out, outlen, OAUTH_MICROSOFT_URL, o->tenant);
	else if (oauth_url_ok(o->token_url))
		n = snprintf(out, outlen, "%s", o->token_url);
	else
		return GW_ECONFIG;
	return n > 0 && (size_t)n < outlen ? GW_OK : GW_ECONFIG;
}

const char *email_oauth_scope(const struct email_oauth_settings *o)
{
	if (o->scope && o->scope[0])
		return o->scope;
	if (o->token_url && strcmp(o->token_url, "microsoft") == 0)
		return OAUTH_MICROSOFT_SCOPE;
	return NULL;
}

const char *email_oauth_login_options(const struct email_oauth_settings *o)
{
	if (o->mechanism == EMAIL_OAUTH_XOAUTH2)
		return "AUTH=XOAUTH2";
	if (o->mechanism == EMAIL_OAUTH_OAUTHBEARER)
		return "AUTH=OAUTHBEARER";
	return "AUTH=OAUTHBEARER;AUTH=XOAUTH2";
}

/* email_check_oauth - the `oauth` block, when there is one. */
static int email_check_oauth(const struct email_oauth_settings *o, char *why, size_t whylen)
{
	char url[EMAIL_OAUTH_URL_MAX];

	if (strcmp(o->token_url, "microsoft") == 0 && !oauth_tenant_ok(o->tenant)) {
		snprintf(why, whylen, "oauth.tenant: letters, digits, '.', '-' and '_' only");
		return GW_ECONFIG;
	}
	if (email_oauth_url(o, url, sizeof(url)) != GW_OK) {
		snprintf(why, whylen, "oauth.token_url: google, microsoft, or an https:// URL "
			 "(http:// for loopback hosts only), without a login");
		return GW_ECONFIG;
	}
	if (!o->refresh_token || !o->refresh_token[0] || !o->client_id || !o->client_id[0]) {
		snprintf(why, whylen, "oauth: client_id and refresh_token need a value (is the "
			 "environment variable set?)");
		return GW_ECONFIG;
	}
	return GW_OK;
}

static int email_check(const void *settings, char *why, size_t whylen)
{
	const struct email_settings *s = settings;
	char scheme[EMAIL_SCHEME_MAX], host[EMAIL_HOST_MAX];
	enum imap_tls mode;

	if (!s)
		return GW_ECONFIG;
	if (s->oauth.token_url) {
		if (email_check_oauth(&s->oauth, why, whylen) != GW_OK)
			return GW_ECONFIG;
	} else if (!s->password || !s->password[0]) {
		snprintf(why, whylen, "password: empty; set the IMAP password (or an oauth block)");
		return GW_ECONFIG;
	}
	if (email_url_parts(s->url, scheme, sizeof(scheme), host, sizeof(host)) != GW_OK) {
		snprintf(why, whylen, "url: not imap://host/MAILBOX or imaps://host/MAILBOX "
			 "(without a login: use username and password)");
		return GW_ECONFIG;
	}
	if (email_tls_mode(s, scheme, &mode) != GW_OK) {
		snprintf(why, whylen, "tls: %s does not fit a %s:// url (implicit goes with "
			 "imaps://, starttls and none with imap://)", s->tls, scheme);
		return GW_ECONFIG;
	}
	if (mode == IMAP_TLS_NONE && !email_loopback(host)) {
		snprintf(why, whylen, "tls: none is allowed for loopback hosts only, not %s", host);
		return GW_ECONFIG;
	}
	if (email_check_after(s, why, whylen) != GW_OK)
		return GW_ECONFIG;
	return email_check_smtp(s, why, whylen);
}

static const char *email_attach_dir(const void *settings)
{
	return ((const struct email_settings *)settings)->attachment_dir;
}

const struct gw_connector_conf_type email_conf_type = {
	.name = "email",
	.section = &email_conf_section,
	.check = email_check,
	.attach_dir = email_attach_dir,
};

/*
 * email_config.h - the settings of one `type: email` instance and their
 * config table (email_config.c). Needs nothing beyond core/config.h and
 * libc (the URL is checked without libcurl): every process that reads the
 * config links it (connectors/channels.def).
 */
#ifndef GW_CONNECTOR_EMAIL_CONFIG_H
#define GW_CONNECTOR_EMAIL_CONFIG_H

#include <stdbool.h>

#include "connectors/email/imap.h"
#include "connectors/sender_config.h"
#include "connectors/limits_config.h"
#include "core/config.h"

/*
 * The `smtp` block of an instance: how its replies are sent. All zero when
 * the block is absent (url NULL): replies are off, each one failed with
 * the reason.
 */
struct email_smtp_settings {
	char *url;                  /* smtp://host[:587] or smtps://host[:465] */
	char *tls;                  /* auto, implicit, starttls, none */
	char *username;             /* SASL login; NULL: the mailbox's username */
	char *password;             /* secret */
	char *bearer_token;         /* secret: SASL XOAUTH2 instead of a password */
	char *ca_file;              /* NULL: the mailbox's ca_file, else the system's */
	char *from;                 /* NULL: the mailbox's username (an address) */
	char *from_name;            /* NULL: the agent's name */
	char *sent_folder;          /* a copy appended over IMAP; NULL: none */
	long long max_message_bytes; /* a reply with its attachments at most */
	struct sender_settings send; /* SENDER_CONF_ROWS */
};

/*
 * The `oauth` block of an instance: log in to IMAP and SMTP with OAuth 2.0
 * access tokens (SASL XOAUTH2 or OAUTHBEARER) obtained with a refresh
 * token (connectors/email/oauth.h). All zero when the block is absent
 * (token_url NULL): the password logs in.
 */
struct email_oauth_settings {
	char *token_url;            /* google, microsoft, or an http(s) URL */
	char *tenant;               /* microsoft's tenant: common, organizations, an id */
	char *client_id;
	char *client_secret;        /* secret; NULL: a public client */
	char *refresh_token;        /* secret */
	char *scope;                /* NULL: the preset's, else none */
	int mechanism;              /* enum email_oauth_mech */
	long long refresh_margin_s; /* refresh this long before expiry */
	long long timeout_ms;       /* one request to the token endpoint */
	char *ca_file;              /* the endpoint's CA; NULL: the system's */
};

/* The SASL mechanisms of `oauth.mechanism` (the CONF_CHOICE's order). */
enum email_oauth_mech {
	EMAIL_OAUTH_AUTO,        /* OAUTHBEARER when the server offers it, else XOAUTH2 */
	EMAIL_OAUTH_XOAUTH2,
	EMAIL_OAUTH_OAUTHBEARER,
};

#define EMAIL_OAUTH_URL_MAX 1100

/* Settings of one `type: email` instance, filled from its config table. */
struct email_settings {
	char *url;                      /* imap[s]://host[:port]/MAILBOX (required) */
	char *username;                 /* login (required) */
	char *password;                 /* secret (required without oauth) */
	char *tls;                      /* auto, implicit, starttls, none */
	char *ca_file;                  /* CA bundle for the server certificate; NULL: system */
	long long poll_interval_ms;     /* between checks when IDLE is not used */
	bool idle;                      /* wait with IMAP IDLE when the server has it */
	char *after;                    /* seen, move, none: what is done once durable */
	char *move_to;                  /* folder for after: move */
	char *own_addresses;            /* comma-separated addresses of the gateway */
	long long max_message_bytes;    /* larger messages are quarantined unread */
	long long max_attachment_bytes; /* larger attachments are not stored */
	long long fetch_batch;          /* messages per durable commit */
	long long spool_max;            /* accepted-but-unrouted events kept at most */
	long long spool_map_mb;         /* LMDB map size of the spool */
	char *attachment_dir;           /* default <state_dir>/attachments */
	struct email_smtp_settings smtp; /* the `smtp` block */
	struct email_oauth_settings oauth; /* the `oauth` block */
	struct limits_settings senders; /* LIMITS_CONF_ROWS: per-sender limits, quarantine */
};

/* email_smtp_section - the rows of the `smtp` block. */
extern const struct conf_section email_smtp_section;

/*
 * email_settings_from - the address replies come from: smtp.from, else the
 * mailbox's username when it is an address; NULL without an smtp block.
 * Borrowed from the settings.
 */
const char *email_settings_from(const struct email_settings *s);

/* email_oauth_section - the rows of the `oauth` block. */
extern const struct conf_section email_oauth_section;

/*
 * email_oauth_url - the token endpoint of the `oauth` block `o` (borrowed):
 * the preset's URL (google; microsoft with its tenant) or the URL given,
 * into out (outlen bytes). GW_OK, or GW_ECONFIG when it is none of them
 * (https://, or http:// on a loopback host only) or does not fit. Pure.
 */
int email_oauth_url(const struct email_oauth_settings *o, char *out, size_t outlen);

/*
 * email_oauth_scope - the scope sent with each refresh: oauth.scope, else
 * the Microsoft preset's (IMAP, SMTP and offline_access on
 * outlook.office.com), else NULL (none: the grant's own scopes). Borrowed.
 */
const char *email_oauth_scope(const struct email_oauth_settings *o);

/*
 * email_oauth_login_options - libcurl's CURLOPT_LOGIN_OPTIONS for the
 * block's mechanism: "AUTH=OAUTHBEARER;AUTH=XOAUTH2" (auto: libcurl takes
 * OAUTHBEARER when the server offers it), "AUTH=XOAUTH2" or
 * "AUTH=OAUTHBEARER". Static string.
 */
const char *email_oauth_login_options(const struct email_oauth_settings *o);

/* email_conf_section - the keys of `type: email`, filling struct email_settings. */
extern const struct conf_section email_conf_section;

/*
 * email_conf_type - the section and its check: a password or an `oauth`
 * block (a token endpoint that resolves, a tenant of letters, digits, '.'
 * and '-'), an IMAP URL
 * imap[s]://host[:port]/MAILBOX without a login, a tls mode that fits the
 * scheme (none for loopback hosts only), an `after` and its folder; an
 * `smtp` block with an smtp[s]://host[:port] URL, a tls mode that fits it,
 * a from address, a password, a bearer token or the `oauth` block, an
 * ASCII sent_folder.
 */
extern const struct gw_connector_conf_type email_conf_type;

/*
 * email_settings_tls - the TLS mode of settings `s` (borrowed) from its url
 * and tls keys. GW_OK with *mode set, or GW_ECONFIG when they do not fit
 * (never for settings that passed the check). Pure; any thread.
 */
int email_settings_tls(const struct email_settings *s, enum imap_tls *mode);

#endif

/*
 * lc_proto.h - the pure parts of the live-chat protocol, kept apart from the
 * server so that they are unit-tested alone: visitor tokens, site-signed
 * identities and the parsing of client frames.
 *
 * Visitor token: "v1.<visitor>.<expiry>.<mac>" where visitor is 32 hex
 * characters (128 random bits), expiry seconds since the epoch and mac the
 * lowercase hex HMAC-SHA256 of "v1.<visitor>.<expiry>" under `secret`.
 *
 * Threading: reentrant.
 */
#ifndef GW_LIVECHAT_PROTO_H
#define GW_LIVECHAT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define LC_VISITOR_LEN 32      /* hex characters of a visitor id */
#define LC_TOKEN_MAX 160       /* longest token */
#define LC_CLIENT_ID_MAX 64    /* longest client_id */
#define LC_SITE_ID_MAX 128     /* longest site identity id */
#define LC_NAME_MAX 256
#define LC_EMAIL_MAX 320
#define LC_ADDRESS_MAX 160     /* "visitor:<id>" or "site:<id>" */
#define LC_FILES_KEY_MAX (3 + 20 + 1 + 2 * LC_ADDRESS_MAX + 1 + 64) /* longest files key */
#define LC_MSG_FILES_MAX 10    /* attachments of one message at most */
#define LC_REF_LEN 71          /* "sha256:" and 64 hex digits */

/* lc_token_make - signs a token for `visitor` valid until `expiry` (s). */
int lc_token_make(const char *secret, const char *visitor, int64_t expiry, char *out,
		  size_t outlen);

/*
 * lc_token_verify - copies the visitor of a valid, unexpired token (at
 * `now`, seconds) into visitor[LC_VISITOR_LEN + 1]. Constant-time MAC
 * comparison. Returns GW_OK, GW_EPROTO (malformed), GW_EAUTH (bad MAC or
 * expired), GW_EIO (no HMAC).
 */
int lc_token_verify(const char *secret, const char *token, int64_t now,
		    char visitor[LC_VISITOR_LEN + 1]);

/*
 * lc_files_key_make - the files key of `conversation` valid until `expiry`
 * (s): "f1.<expiry>.<conversation in hex>.<mac>", mac the hex HMAC-SHA256
 * of what precedes ".<mac>" under `secret`. Given to the sockets of that
 * conversation only (welcome), it lets the widget upload files into it and
 * download the files granted to it. Returns GW_OK, GW_ETOOBIG (outlen too
 * small or conversation too long), GW_EIO (no HMAC).
 */
int lc_files_key_make(const char *secret, const char *conversation, int64_t expiry, char *out,
		      size_t outlen);

/*
 * lc_files_key_verify - the conversation of a valid, unexpired files key
 * (at `now`, seconds) into conversation[LC_ADDRESS_MAX]. Constant-time MAC
 * comparison. Returns GW_OK, GW_EPROTO (malformed), GW_EAUTH (bad MAC or
 * expired), GW_EIO.
 */
int lc_files_key_verify(const char *secret, const char *key, int64_t now,
			char conversation[LC_ADDRESS_MAX]);

/*
 * lc_identity_verify - checks a site-signed identity {"id","name","email",
 * "sig"} (sig: hex HMAC-SHA256 of "id|email|name" under `secret`, absent
 * fields as ""). Returns GW_OK, GW_EPROTO, GW_EAUTH.
 */
int lc_identity_verify(const char *secret, const json_t *identity);

enum lc_frame_type {
	LC_F_HELLO = 1,
	LC_F_MESSAGE,
	LC_F_SEEN,
	LC_F_PING,
	LC_F_TYPING,
};

/*
 * lc_text_for - the text of language `lang` (a browser's "fr-CA": its
 * primary subtag "fr" is matched; may be NULL) from `list`
 * ("en=Hello|fr=Bonjour"), else the "en" one, else the first item (all of
 * it when it has no "xx="), into out[outlen] (cut on a UTF-8 boundary).
 * Returns GW_OK, or GW_ENOTFOUND when the list is empty (out is "").
 */
int lc_text_for(const char *list, const char *lang, char *out, size_t outlen);

/* A parsed client frame; strings borrowed from `root` (free with json_decref). */
struct lc_frame {
	enum lc_frame_type type;
	json_t *root;              /* owned */
	const char *token;         /* hello: may be NULL */
	int64_t last_seen;         /* hello: 0 when null/absent */
	const json_t *identity;    /* hello: may be NULL */
	const char *lang;          /* hello: the browser's language, may be NULL */
	const char *client_id;     /* message */
	const char *text;          /* message */
	size_t text_len;
	const char *name, *email;  /* message: may be NULL */
	const char *files[LC_MSG_FILES_MAX]; /* message: the 64 hex digits of each
				    * "sha256:<hex>" ref of its attachments */
	size_t n_files;
	int64_t seen_id;           /* seen */
};

/*
 * lc_frame_parse - parses one text frame of `len` bytes. A message has a
 * non-empty text, or attachments [{"ref":"sha256:<hex>"}] (at most
 * LC_MSG_FILES_MAX), or both. On error returns
 * GW_EPROTO (code "bad_frame") or GW_ETOOBIG (text over max_text: code
 * "too_large") and writes a short reason into why. The caller frees with
 * lc_frame_clear().
 */
int lc_frame_parse(const char *data, size_t len, size_t max_text, struct lc_frame *f,
		   char *why, size_t whylen);

void lc_frame_clear(struct lc_frame *f);

#endif

/*
 * email_parse.c - one RFC 5322 message into a message.received event
 * (email_parse.h). GMime does the MIME work: headers, RFC 2047 and 2231,
 * charsets, multipart structure, addresses and message ids. This file picks
 * the fields, decides the verdict and keeps every value within the proto
 * limits; email_repair.c mends what GMime misreads (the message is parsed
 * again), email_body.c picks the text and the attachments, email_ids.c the
 * ids it answers.
 *
 * Verdicts, in the order they are decided:
 *   QUARANTINE  over max_message_bytes; not readable as a message at all
 *   IGNORE_OWN  a From or Sender address is one of the gateway's own
 *   QUARANTINE  no usable From address ("no sender")
 *   QUARANTINE  the event would not encode (a bug guard: never expected)
 *   INGEST      everything else, with warnings for what was malformed
 *
 * Addresses are lowercased (ASCII letters): one customer writing as
 * Jane@Example.com and jane@example.com is one customer.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "connectors/email/email_parse_int.h"
#include "core/err.h"
#include "store/attachments.h"

#define EMAIL_DERIVED_PREFIX "derived-"
#define EMAIL_LONG_ID_PREFIX "sha256-"

static pthread_once_t email_once = PTHREAD_ONCE_INIT;

static void init_once(void)
{
	g_mime_init();
	email_html_init();
}

void email_parse_init(void)
{
	pthread_once(&email_once, init_once);
}

void email_result_clear(struct email_result *out)
{
	if (!out)
		return;
	proto_event_clear(&out->ev);
	if (out->has_status)
		proto_event_clear(&out->status);
	memset(out, 0, sizeof(*out));
}

static void set_verdict(struct email_result *out, enum email_verdict v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_verdict(struct email_result *out, enum email_verdict v, const char *fmt, ...)
{
	va_list ap;

	out->verdict = v;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

static int dup_to(char **dst, const char *s)
{
	*dst = strdup(s ? s : "");
	return *dst ? GW_OK : GW_ENOMEM;
}

/* ---- addresses ---- */

/* Someone can be written to: local@domain, both parts non-empty. */
static bool usable_addr(const char *s)
{
	const char *at = strrchr(s, '@');

	return at && at != s && at[1] != '\0' && strcmp(s, "\"\"") != 0;
}

/* An address as the event carries it, or *out = NULL when unusable. */
static int clean_addr(struct eparse *x, const char *addr, char **out)
{
	bool cut = false;
	char *s;

	*out = NULL;
	if (!addr)
		return GW_OK;
	s = estr_clean(addr, strlen(addr), ESTR_LINE, PROTO_MAX_ADDRESS, &cut);
	if (!s)
		return GW_ENOMEM;
	estr_trim(s);
	for (char *p = s; *p; p++)
		*p = (char)g_ascii_tolower(*p);
	if (cut)
		eparse_warn(x, "an address over %u bytes was left out", PROTO_MAX_ADDRESS);
	if (cut || !usable_addr(s)) {
		free(s);
		return GW_OK;
	}
	*out = s;
	return GW_OK;
}

/* A display name as the event carries it; NULL when empty. */
static int clean_name(struct eparse *x, const char *name, char **out)
{
	bool cut = false;

	*out = NULL;
	if (!name)
		return GW_OK;
	if (!(*out = estr_clean(name, strlen(name), ESTR_LINE, PROTO_MAX_NAME, &cut)))
		return GW_ENOMEM;
	if (cut)
		eparse_warn(x, "a display name was cut to %u bytes", PROTO_MAX_NAME);
	if (!*estr_trim(*out)) {
		free(*out);
		*out = NULL;
	}
	return GW_OK;
}

/* Calls fn for each mailbox of `list`, group members included, until fn
 * returns non-zero (which is returned). */
typedef int (*mailbox_fn)(struct eparse *x, InternetAddressMailbox *mb, void *arg);

static int each_mailbox(struct eparse *x, InternetAddressList *list, mailbox_fn fn, void *arg,
			int depth)
{
	int n = list ? internet_address_list_length(list) : 0, rc = 0;

	for (int i = 0; i < n && rc == 0; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);

		if (INTERNET_ADDRESS_IS_MAILBOX(ia))
			rc = fn(x, INTERNET_ADDRESS_MAILBOX(ia), arg);
		else if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < 2)
			rc = each_mailbox(x, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)),
					  fn, arg, depth + 1);
	}
	return rc;
}

/* ---- verdicts: own address, sender ---- */

struct own_match {
	char addr[PROTO_MAX_ADDRESS + 1];
};

static int match_own(struct eparse *x, InternetAddressMailbox *mb, void *arg)
{
	struct own_match *om = arg;
	char *a = NULL;
	int hit = 0;

	if (clean_addr(x, internet_address_mailbox_get_addr(mb), &a) != GW_OK)
		return -1;
	for (size_t i = 0; a && i < x->opt->n_own && !hit; i++)
		hit = x->opt->own_addresses[i] && g_ascii_strcasecmp(a, x->opt->own_addresses[i]) == 0;
	if (hit)
		snprintf(om->addr, sizeof(om->addr), "%s", a);
	free(a);
	return hit;
}

/* 1: sent by us, 0: not, -1: no memory. */
static int sent_by_own(struct eparse *x, char *addr, size_t size)
{
	struct own_match om;
	int rc = each_mailbox(x, g_mime_message_get_from(x->msg), match_own, &om, 0);

	if (rc == 0)
		rc = each_mailbox(x, g_mime_message_get_sender(x->msg), match_own, &om, 0);
	if (rc == 1)
		snprintf(addr, size, "%s", om.addr);
	return rc;
}

/* The first usable mailbox into a party; 1 when found, -1 on no memory. */
static int take_party(struct eparse *x, InternetAddressMailbox *mb, void *arg)
{
	struct proto_party *p = arg;

	if (clean_addr(x, internet_address_mailbox_get_addr(mb), &p->address) != GW_OK)
		return -1;
	if (!p->address)
		return 0;
	if (clean_name(x, internet_address_get_name(INTERNET_ADDRESS(mb)), &p->name) != GW_OK)
		return -1;
	return 1;
}

/* Whether `addr` (lowercase) is the list's own posting address, from
 * List-Post: <mailto:list@example.org> (a list that sets Reply-To to itself
 * so that answers go to the list). */
static bool is_list_address(struct eparse *x, const char *addr)
{
	const char *v = g_mime_object_get_header(GMIME_OBJECT(x->msg), "List-Post");
	const char *p = v ? strstr(v, "mailto:") : NULL;
	size_t n = 0;

	if (!p)
		return false;
	p += 7;
	while (p[n] && !strchr(">?, \t\r\n", p[n]))
		n++;
	return n > 0 && strlen(addr) == n && g_ascii_strncasecmp(p, addr, n) == 0;
}

/*
 * From, or Reply-To when it has a usable address that is not the mailing
 * list's own: a list post's author is in From, whatever Reply-To says.
 * 1 found, 0 none, -1 ENOMEM.
 */
static int read_sender(struct eparse *x, struct proto_party *from)
{
	struct proto_party reply = {0};
	int rc = each_mailbox(x, g_mime_message_get_from(x->msg), take_party, from, 0);

	if (rc != 1)
		return rc;
	rc = each_mailbox(x, g_mime_message_get_reply_to(x->msg), take_party, &reply, 0);
	if (rc == 1 && is_list_address(x, reply.address))
		rc = 0;
	if (rc == 1) {
		free(from->address);
		free(from->name);
		*from = reply;
		return 1;
	}
	free(reply.address);
	free(reply.name);
	return rc < 0 ? -1 : 1;
}

/* ---- recipients ---- */

struct rcpt_ctx {
	const char *role;
	size_t dropped;
};

static bool has_recipient(const struct proto_message *m, const char *addr, const char *role)
{
	for (size_t i = 0; i < m->recipients_len; i++)
		if (strcmp(m->recipients[i].address, addr) == 0 &&
		    strcmp(m->recipients[i].role, role) == 0)
			return true;
	return false;
}

static int add_rcpt(struct eparse *x, InternetAddressMailbox *mb, void *arg)
{
	struct rcpt_ctx *rc = arg;
	struct proto_message *m = x->m;
	struct proto_recipient *r = &m->recipients[m->recipients_len];
	char *addr = NULL;

	if (clean_addr(x, internet_address_mailbox_get_addr(mb), &addr) != GW_OK)
		return -1;
	if (!addr || has_recipient(m, addr, rc->role)) {
		free(addr);
		return 0;
	}
	if (m->recipients_len == PROTO_MAX_RECIPIENTS) {
		rc->dropped++;
		free(addr);
		return 0;
	}
	r->address = addr;
	m->recipients_len++;
	if (!(r->role = strdup(rc->role)))
		return -1;
	return clean_name(x, internet_address_get_name(INTERNET_ADDRESS(mb)), &r->name) ? -1 : 0;
}

/* Every Delivered-To header (one per delivery hop), in order. */
static int add_delivered_to(struct eparse *x, struct rcpt_ctx *rc)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(x->msg));
	int n = g_mime_header_list_get_count(hl), err = 0;

	for (int i = 0; i < n && err == 0; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *v = g_mime_header_get_value(h);
		InternetAddressList *list;

		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "Delivered-To") != 0 || !v)
			continue;
		list = internet_address_list_parse(x->popt, v);
		err = each_mailbox(x, list, add_rcpt, rc, 0);
		if (list)
			g_object_unref(list);
	}
	return err;
}

static int read_recipients(struct eparse *x)
{
	struct rcpt_ctx to = {.role = "to"}, cc = {.role = "cc"}, dt = {.role = "delivered_to"};
	size_t dropped;

	x->m->recipients = calloc(PROTO_MAX_RECIPIENTS, sizeof(*x->m->recipients));
	if (!x->m->recipients)
		return GW_ENOMEM;
	if (each_mailbox(x, g_mime_message_get_to(x->msg), add_rcpt, &to, 0) < 0 ||
	    each_mailbox(x, g_mime_message_get_cc(x->msg), add_rcpt, &cc, 0) < 0 ||
	    add_delivered_to(x, &dt) < 0)
		return GW_ENOMEM;
	dropped = to.dropped + cc.dropped + dt.dropped;
	if (dropped)
		eparse_warn(x, "%zu more recipients not listed (at most %d)", dropped,
			    PROTO_MAX_RECIPIENTS);
	return GW_OK;
}

/* ---- ids ---- */

static int sha256_update(EVP_MD_CTX *md, const void *p, size_t n)
{
	/* Each field ends with a NUL so that fields cannot run into each other. */
	return EVP_DigestUpdate(md, p, n) == 1 && EVP_DigestUpdate(md, "", 1) == 1;
}

/* prefix + hex SHA-256 of the fields (NULL fields hash as ""). */
static char *hash_id(const char *prefix, const char *const *f, const size_t *flen, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	size_t plen = strlen(prefix);
	char *id = NULL;
	bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;

	for (size_t i = 0; ok && i < n; i++)
		ok = sha256_update(md, f[i] ? f[i] : "", f[i] ? flen[i] : 0);
	ok = ok && EVP_DigestFinal_ex(md, d, &dlen) == 1 && (id = malloc(plen + 2 * dlen + 1));
	if (ok) {
		memcpy(id, prefix, plen);
		for (unsigned int i = 0; i < dlen; i++) {
			id[plen + 2 * i] = digits[d[i] >> 4];
			id[plen + 2 * i + 1] = digits[d[i] & 15];
		}
		id[plen + 2 * dlen] = '\0';
	}
	EVP_MD_CTX_free(md);
	return id;
}

int email_norm_id(struct eparse *x, const char *id, char **out)
{
	bool cut = false;
	char *s;
	size_t n;

	*out = NULL;
	if (!id)
		return GW_OK;
	n = strlen(id);
	s = estr_clean(id, n, ESTR_LINE, EMAIL_ID_MAX, &cut);
	if (!s)
		return GW_ENOMEM;
	if (cut) {
		free(s);
		eparse_warn(x, "a message id over %d bytes was replaced by its SHA-256", EMAIL_ID_MAX);
		s = hash_id(EMAIL_LONG_ID_PREFIX, &id, &n, 1);
		if (!s)
			return GW_ENOMEM;
	}
	if (!*estr_trim(s)) {
		free(s);
		return GW_OK;
	}
	*out = s;
	return GW_OK;
}

/* The raw (undecoded) value of the first header `name`, or NULL. */
static const char *raw_header(struct eparse *x, const char *name, size_t *len)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(x->msg));
	GMimeHeader *h = g_mime_header_list_get_header(hl, name);
	const char *v = h ? g_mime_header_get_raw_value(h) : NULL;

	*len = v ? strlen(v) : 0;
	return v;
}

/* Message-ID, or an id derived from what does not change between fetches
 * of the same message: Date, From, Subject and the start of the body. */
static int read_id(struct eparse *x)
{
	const char *f[4];
	size_t flen[4];
	int rc = email_norm_id(x, g_mime_message_get_message_id(x->msg), &x->m->external_id);

	if (rc != GW_OK || x->m->external_id)
		goto out;
	f[0] = raw_header(x, "Date", &flen[0]);
	f[1] = raw_header(x, "From", &flen[1]);
	f[2] = raw_header(x, "Subject", &flen[2]);
	f[3] = x->raw + x->body_off;
	flen[3] = x->raw_len - x->body_off;
	if (flen[3] > EMAIL_DERIVED_BODY)
		flen[3] = EMAIL_DERIVED_BODY;
	x->m->external_id = hash_id(EMAIL_DERIVED_PREFIX, f, flen, 4);
	if (!x->m->external_id)
		return GW_ENOMEM;
	eparse_warn(x, "no Message-ID: id derived from Date, From, Subject and body");
out:
	if (rc == GW_OK && !(x->m->dedup_key = strdup(x->m->external_id)))
		rc = GW_ENOMEM;
	return rc;
}

/* ---- the event ---- */

static int read_subject(struct eparse *x)
{
	const char *s = g_mime_message_get_subject(x->msg);
	bool cut = false;

	if (!s)
		return GW_OK;
	if (!(x->m->subject = estr_clean(s, strlen(s), ESTR_LINE, PROTO_MAX_SUBJECT, &cut)))
		return GW_ENOMEM;
	if (cut)
		eparse_warn(x, "subject cut to %u bytes", PROTO_MAX_SUBJECT);
	if (!*estr_trim(x->m->subject)) {
		free(x->m->subject);
		x->m->subject = NULL;
	}
	return GW_OK;
}

static int read_fields(struct eparse *x)
{
	int rc;

	if ((rc = read_id(x)) != GW_OK || (rc = read_subject(x)) != GW_OK ||
	    (rc = read_recipients(x)) != GW_OK)
		return rc;
	if ((rc = email_flags_read(x)) != GW_OK)
		return rc;
	/* The ids after the body: a bounce's text may name the message it reports on. */
	if ((rc = email_body_read(x)) != GW_OK || (rc = email_ids_read(x)) != GW_OK)
		return rc;
	if (x->nomem)
		return GW_ENOMEM;
	return eparse_warnings_finish(x);
}

static int build(struct eparse *x, struct email_result *out)
{
	struct proto_message *m = &out->ev.u.message;
	int rc = proto_event_init(&out->ev, PROTO_T_MESSAGE_RECEIVED), found;

	if (rc != GW_OK)
		return rc;
	x->m = m;
	if ((rc = dup_to(&m->channel, "email")) != GW_OK ||
	    (rc = dup_to(&m->account, x->opt->account)) != GW_OK)
		return rc;
	m->received_at = x->opt->received_at;
	found = read_sender(x, &m->from);
	if (found < 0)
		return GW_ENOMEM;
	if (found == 0) {
		set_verdict(out, EMAIL_QUARANTINE, "no sender: no usable From address");
		return GW_OK;
	}
	return read_fields(x);
}

/* The router refuses what does not encode: such a message is set aside. */
static int check_encodes(struct email_result *out)
{
	struct proto_error err = {0};
	char *buf = NULL;
	size_t len = 0;
	int rc = proto_encode(&out->ev, &buf, &len, &err);

	free(buf);
	if (rc == GW_ENOMEM)
		return rc;
	if (rc != GW_OK)
		set_verdict(out, EMAIL_QUARANTINE, "event does not encode: %s", err.message);
	return GW_OK;
}

/* ---- parsing ---- */

/* Bytes of whole blank lines before the first header (some stores and
 * exports leave them; GMime would read no header at all). */
static size_t leading_blank_lines(const char *p, size_t len)
{
	size_t i = 0, start = 0;

	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) {
		if (p[i] == '\n')
			start = i + 1;
		i++;
	}
	return start;
}

/* Parses `len` bytes at `buf` into x->msg; the offset where the top-level
 * headers end into *headers_end. GMime's warnings are those of this parse. */
static void parse_buffer(struct eparse *x, const char *buf, size_t len, gint64 *headers_end)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(buf, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);

	memset(x->gmime_warn, 0, sizeof(x->gmime_warn));
	x->n_bad_header = 0;
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	x->msg = g_mime_parser_construct_message(parser, x->popt);
	*headers_end = g_mime_parser_get_headers_end(parser);
	g_object_unref(parser);
	g_object_unref(stream);
}

/* Parses x->raw, mended (email_repair.c) where GMime misread it. */
static void parse_mended(struct eparse *x)
{
	const char *buf = x->raw;
	size_t len = x->raw_len, next_len;
	gint64 end, ignored;
	char *next = NULL;

	if (email_repair_line_ends(x->raw, x->raw_len, &x->mended) != GW_OK)
		x->nomem = true;
	if (x->mended) {
		buf = x->mended;
		eparse_warn(x, "mime: bare CR line breaks read as line ends");
	}
	parse_buffer(x, buf, len, &end);
	/* The derived id hashes the body of x->raw: where its headers end
	 * (mending the line ends keeps every offset). */
	x->body_off = end < 0 || (uint64_t)end > x->raw_len ? x->raw_len : (size_t)end;
	for (int pass = 0; x->msg && pass < EMAIL_REPAIR_PASSES; pass++) {
		if (email_repair(x, buf, len, &next, &next_len) != GW_OK)
			x->nomem = true;
		if (!next)
			break;
		g_object_unref(x->msg);
		free(x->mended);
		x->mended = next;
		buf = next;
		len = next_len;
		parse_buffer(x, buf, len, &ignored);
	}
}

static void read_message(struct eparse *x, const char *raw, size_t len)
{
	static const char *fallback[] = {"UTF-8", "windows-1252", "iso-8859-1", NULL};
	size_t skip = 0;

	/* A UTF-8 byte order mark (files saved by some editors) hides the first
	 * header name from GMime. */
	if (len >= 3 && memcmp(raw, "\xef\xbb\xbf", 3) == 0) {
		skip = 3;
		eparse_warn(x, "a byte order mark before the headers skipped");
	}
	if (leading_blank_lines(raw + skip, len - skip)) {
		skip += leading_blank_lines(raw + skip, len - skip);
		eparse_warn(x, "blank lines before the headers skipped");
	}
	x->raw = raw + skip;
	x->raw_len = len - skip;
	x->popt = g_mime_parser_options_new();
	g_mime_parser_options_set_allow_addresses_without_domain(x->popt, TRUE);
	g_mime_parser_options_set_fallback_charsets(x->popt, fallback);
	g_mime_parser_options_set_warning_callback(x->popt, eparse_gmime_warning, x);
	parse_mended(x);
}

static void eparse_free(struct eparse *x)
{
	if (x->msg)
		g_object_unref(x->msg);
	if (x->popt)
		g_mime_parser_options_free(x->popt);
	free(x->mended);
	eparse_warnings_free(x);
}

int email_parse(const void *raw, size_t len, const struct email_parse_options *opt,
		struct email_result *out)
{
	struct eparse x = {.opt = opt};
	char own[PROTO_MAX_ADDRESS + 1];
	int rc = GW_OK, r;

	memset(out, 0, sizeof(*out));
	if (!opt || (!raw && len))
		return GW_EINVAL;
	email_parse_init();
	if (len > opt->max_message_bytes || len > G_MAXUINT) {
		set_verdict(out, EMAIL_QUARANTINE, "message of %zu bytes is over the %zu-byte limit",
			    len, opt->max_message_bytes);
		return GW_OK;
	}
	read_message(&x, raw ? raw : "", len);
	if (!x.msg) {
		set_verdict(out, EMAIL_QUARANTINE, "not readable as a message: no header found");
		goto out;
	}
	r = sent_by_own(&x, own, sizeof(own));
	if (r < 0) {
		rc = GW_ENOMEM;
		goto out;
	}
	if (r == 1) {
		set_verdict(out, EMAIL_IGNORE_OWN, "sent from own address %s", own);
		goto out;
	}
	rc = build(&x, out);
	if (rc == GW_OK && out->verdict == EMAIL_INGEST)
		rc = check_encodes(out);
	if (rc == GW_OK && out->verdict == EMAIL_INGEST)
		rc = email_dsn_read(&x, &out->status, &out->has_status);
out:
	if (rc != GW_OK || out->verdict != EMAIL_INGEST) {
		proto_event_clear(&out->ev);
		if (out->has_status)
			proto_event_clear(&out->status);
		out->has_status = false;
	}
	eparse_free(&x);
	return rc;
}

/*
 * email_smtp.c - the SMTP job of a reply (email_smtp.h): the easy handle
 * of each step, and the verdict on each attempt.
 */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include "connectors/email/email_smtp.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/email/oauth.h"
#include "core/err.h"
#include "core/log.h"

#define SMTP_WORDS_MAX 200 /* bytes of the server's reply kept for a reason */
#define SMTP_TOKEN_RETRY_MS 2000 /* a refused token: tried again after */

struct smtp_job {
	const struct smtp_conf *c;
	struct email_reply r;
	uint64_t delivery_id;
	size_t off;               /* the upload's position */
	struct curl_slist *rcpt;  /* "<customer>" */
	char mail_from[PROTO_MAX_ADDRESS + 3];
	char words[SMTP_WORDS_MAX + 1]; /* the server's last reply line */
	uint64_t gen;             /* the access token of the attempt (oauth) */
	uint64_t refused_gen;     /* the first one the server refused, 0: none */
};

static void job_free(void *arg)
{
	struct smtp_job *j = arg;

	if (!j)
		return;
	email_reply_free(&j->r);
	curl_slist_free_all(j->rcpt);
	free(j);
}

int smtp_job_new(const struct smtp_conf *c, struct email_reply *r, uint64_t delivery_id,
		 struct smtp_job **out)
{
	struct smtp_job *j = calloc(1, sizeof(*j));
	char rcpt[PROTO_MAX_ADDRESS + 3];

	*out = NULL;
	if (!j) {
		email_reply_free(r);
		return GW_ENOMEM;
	}
	j->c = c;
	j->r = *r;
	memset(r, 0, sizeof(*r));
	j->delivery_id = delivery_id;
	snprintf(j->mail_from, sizeof(j->mail_from), "<%s>", c->from);
	snprintf(rcpt, sizeof(rcpt), "<%s>", j->r.to);
	j->rcpt = curl_slist_append(NULL, rcpt);
	if (!j->rcpt) {
		job_free(j);
		return GW_ENOMEM;
	}
	*out = j;
	return GW_OK;
}

/* ---- transfers ------------------------------------------------------------------- */

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct smtp_job *j = arg;
	size_t left = j->r.len - j->off, len = size * n < left ? size * n : left;

	memcpy(buf, j->r.data + j->off, len);
	j->off += len;
	return len;
}

/* on_reply - each reply line of the server (libcurl gives SMTP and IMAP
 * replies to the header callback): the last 4xx or 5xx one is kept (not a
 * later "221 bye" to the QUIT after it). */
static size_t on_reply(char *p, size_t size, size_t n, void *arg)
{
	struct smtp_job *j = arg;
	size_t len = size * n, keep = len;

	if (len >= 3 && (p[0] == '4' || p[0] == '5') && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2])) {
		while (keep && (p[keep - 1] == '\r' || p[keep - 1] == '\n'))
			keep--;
		if (keep > SMTP_WORDS_MAX)
			keep = SMTP_WORDS_MAX;
		memcpy(j->words, p, keep);
		j->words[keep] = '\0';
		for (char *q = j->words; *q; q++)
			if ((unsigned char)*q < 0x20)
				*q = ' ';
	}
	return len;
}

/* upload - what both steps share: the message as the upload. The sender
 * set its own header capture (HTTP's Retry-After); ours replaces it. */
static void upload(struct smtp_job *j, CURL *h, const char *url, const char *protocols,
		   long use_ssl, const char *ca_file)
{
	j->off = 0;
	j->words[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(h, CURLOPT_USE_SSL, use_ssl);
	if (ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, j);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->r.len);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_reply);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, j);
}

/*
 * set_token - the last access token of `o` and the SASL mechanisms on h
 * (an expired one too: the server judges, and a refusal waits for a new
 * one); its generation into *gen. 0, or 1 with why when there is none.
 */
static int set_token(struct oauth *o, const char *login_options, CURL *h, uint64_t *gen,
		     char *why, size_t whylen)
{
	char tok[OAUTH_TOKEN_MAX + 1];
	int rc = oauth_get(o, OAUTH_LAST, tok, sizeof(tok), gen);

	if (rc != GW_OK) {
		snprintf(why, whylen, "no OAuth access token: %s", gw_strerror(rc));
		return 1;
	}
	curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, tok);
	curl_easy_setopt(h, CURLOPT_LOGIN_OPTIONS, login_options);
	explicit_bzero(tok, sizeof(tok));
	return 0;
}

static int job_setup(void *arg, int step, CURL *h, char *why, size_t whylen)
{
	struct smtp_job *j = arg;
	const struct smtp_conf *c = j->c;
	uint64_t gen = 0;

	if (step == 1) {
		upload(j, h, c->append_url, "imap,imaps", c->append_ssl, c->imap_ca_file);
		curl_easy_setopt(h, CURLOPT_USERNAME, c->imap_username);
		if (c->imap_oauth)
			return set_token(c->imap_oauth, c->login_options, h, &gen, why, whylen);
		curl_easy_setopt(h, CURLOPT_PASSWORD, c->imap_password);
		return 0;
	}
	if (step != 0) {
		snprintf(why, whylen, "no step %d", step);
		return 1;
	}
	upload(j, h, c->url, "smtp,smtps", c->use_ssl, c->ca_file);
	curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
	if (c->oauth) {
		if (set_token(c->oauth, c->login_options, h, &j->gen, why, whylen))
			return 1;
	} else if (c->bearer) {
		curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, c->bearer);
		curl_easy_setopt(h, CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2");
	} else {
		curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
	}
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, j->mail_from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, j->rcpt);
	return 0;
}

/* ---- verdicts --------------------------------------------------------------------- */

static void done(struct smtp_job *j, struct sender_outcome *out)
{
	out->verdict = SENDER_DONE;
	/* A Message-ID is valid in every account of the channel. */
	out->ref_account[0] = '\0';
	snprintf(out->ref_id, sizeof(out->ref_id), "%s", j->r.message_id);
}

/* words - the server's words, else curl's. */
static const char *words(const struct smtp_job *j, const struct sender_attempt *a)
{
	return j->words[0] ? j->words : a->error;
}

/*
 * token_refused - the server refused the login with an OAuth token: the
 * cache refreshes it, and the step is tried again (RETRY) as long as the
 * refused token is the only one tried; a newer token refused too, or a
 * refresh token the endpoint refuses, is the FAIL (with `auth`).
 */
static void token_refused(struct smtp_job *j, const struct sender_attempt *a,
			  struct sender_outcome *out)
{
	char problem[SENDER_REASON_MAX];
	int refused = 0;

	oauth_refused(j->c->oauth, j->gen);
	if (!j->refused_gen)
		j->refused_gen = j->gen;
	if (oauth_problem(j->c->oauth, problem, sizeof(problem), &refused) && refused) {
		out->auth = 1;
		snprintf(out->reason, sizeof(out->reason), "%s", problem);
		return;
	}
	if (j->gen > j->refused_gen) {
		out->auth = 1;
		snprintf(out->reason, sizeof(out->reason), "SMTP refused the new access token: %s",
			 words(j, a));
		return;
	}
	out->verdict = SENDER_RETRY;
	out->retry_after_ms = SMTP_TOKEN_RETRY_MS;
	snprintf(out->reason, sizeof(out->reason), "SMTP refused the access token (a new "
		 "one is tried): %s", words(j, a));
}

/* classify_failure - a step 0 attempt that did not end in 2xx. */
static void classify_failure(struct smtp_job *j, const struct sender_attempt *a,
			     struct sender_outcome *out)
{
	long code = a->status;

	out->verdict = SENDER_FAIL;
	if (j->c->oauth && (a->err == GW_EAUTH || code == 535 || code == 534 ||
			    code == 530)) {
		token_refused(j, a, out);
	} else if (a->err == GW_EAUTH || code == 535 || code == 534 || code == 530) {
		out->auth = 1;
		snprintf(out->reason, sizeof(out->reason), "the SMTP server refused the login: %s",
			 words(j, a));
	} else if (a->err == GW_ETLS) {
		/* curl's words say which: no STARTTLS, or the certificate. */
		snprintf(out->reason, sizeof(out->reason), "the SMTP server's certificate cannot be "
			 "verified (smtp.ca_file), or it does not offer STARTTLS: %s", a->error);
	} else if (code >= 500 && code <= 599) {
		snprintf(out->reason, sizeof(out->reason), "the SMTP server refused the reply: %s",
			 words(j, a));
	} else {
		out->verdict = SENDER_RETRY;
		snprintf(out->reason, sizeof(out->reason), "SMTP: %s", words(j, a));
	}
}

static void job_classify(void *arg, const struct sender_attempt *a, struct sender_outcome *out)
{
	struct smtp_job *j = arg;

	if (a->step == 1) {
		if (a->err != GW_OK)
			GW_WARN(j->c->log_module, "delivery %llu: sent; its copy to the Sent folder "
				"failed: %s", (unsigned long long)j->delivery_id, words(j, a));
		done(j, out);
		return;
	}
	if (a->err == GW_OK && a->status >= 200 && a->status <= 299) {
		if (j->c->append_url[0])
			out->verdict = SENDER_NEXT;
		else
			done(j, out);
		return;
	}
	classify_failure(j, a, out);
}

const struct sender_ops smtp_ops = {
	.setup = job_setup,
	.classify = job_classify,
	.free = job_free,
};

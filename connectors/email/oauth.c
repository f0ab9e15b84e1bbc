/*
 * oauth.c - the access-token cache of an email instance (oauth.h): the
 * refresh_token grant over libcurl, driven without blocking from the
 * owner's tick, and the token handed to any thread under a mutex.
 */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include "connectors/email/oauth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "connectors/curl_err.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/oauth_state.h"

#define OAUTH_FORCED_GAP_MS 10000 /* refreshes after a refusal: one per 10 s at most */
#define OAUTH_CONNECT_TIMEOUT_MS 10000L
#define OAUTH_PROBLEM_MAX 512

enum oauth_state { OAUTH_OK, OAUTH_FAILED, OAUTH_REFUSED };

struct oauth {
	/* the owner's: settings and the refresh in flight */
	char *token_url, *client_id, *client_secret, *refresh_token, *scope, *ca_file;
	char *configured;             /* the config's refresh token (rotated: not the same) */
	char *state_path;             /* NULL: a rotated refresh token is not kept */
	int64_t margin_s;
	long timeout_ms;
	char module[96];
	CURLM *multi;
	CURL *h;
	struct curl_slist *headers;
	int running;
	char *form;                   /* the request body: holds secrets */
	char *answer;                 /* the answer, OAUTH_ANSWER_MAX at most */
	size_t answer_len;
	int too_big;
	int failures;                 /* failed refreshes in a row */
	int64_t last_forced_ms;       /* the last refresh a refusal asked for */
	char curl_err[CURL_ERROR_SIZE];
	/* shared: under mu */
	pthread_mutex_t mu;
	char token[OAUTH_TOKEN_MAX + 1];
	uint64_t gen, refused_gen;
	int64_t refresh_at_ms, usable_until_ms, next_try_ms;
	enum oauth_state state;
	char problem[OAUTH_PROBLEM_MAX];
	uint64_t n_ok, n_failed;
};

static int64_t now_ms(void)
{
	return gw_mono_us() / 1000;
}

/* wipe_free - frees a string that may hold a secret. */
static void wipe_free(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

/* ---- create / destroy ---------------------------------------------------------- */

static int copy_options(struct oauth *o, const struct oauth_options *opt)
{
	o->token_url = gw_strdup(opt->token_url);
	o->client_id = gw_strdup(opt->client_id);
	o->client_secret = gw_strdup(opt->client_secret);
	o->refresh_token = gw_strdup(opt->refresh_token);
	o->configured = gw_strdup(opt->refresh_token);
	o->state_path = opt->state_path ? gw_strdup(opt->state_path) : NULL;
	o->scope = gw_strdup(opt->scope);
	o->ca_file = gw_strdup(opt->ca_file);
	o->margin_s = opt->margin_s;
	o->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : 30000;
	snprintf(o->module, sizeof(o->module), "%s", opt->log_module ? opt->log_module : "oauth");
	if (!o->token_url || !o->client_id || !o->refresh_token || !o->configured ||
	    (opt->client_secret && !o->client_secret) || (opt->scope && !o->scope) ||
	    (opt->ca_file && !o->ca_file) || (opt->state_path && !o->state_path))
		return GW_ENOMEM;
	return GW_OK;
}

/* load_rotated - the refresh token kept in state_path for the configured
 * one, if any, in place of it; one that cannot be read is logged and the
 * configured one used (if the provider refuses that, consent again).
 * Returns GW_OK or GW_ENOMEM. */
static int load_rotated(struct oauth *o)
{
	char why[256] = "", *kept = NULL;
	int rc;

	if (!o->state_path)
		return GW_OK;
	rc = oauth_state_load(o->state_path, o->configured, &kept, why, sizeof(why));
	if (rc == GW_ENOMEM)
		return rc;
	if (rc != GW_OK) {
		GW_WARN(o->module, "%s: %s; using the configured refresh token", o->state_path,
			why[0] ? why : gw_strerror(rc));
		return GW_OK;
	}
	if (kept) {
		wipe_free(o->refresh_token);
		o->refresh_token = kept;
		GW_INFO(o->module, "using the refresh token the token endpoint rotated (%s)",
			o->state_path);
	}
	return GW_OK;
}

int oauth_create(const struct oauth_options *opt, struct oauth **out)
{
	struct oauth *o = calloc(1, sizeof(*o));
	int rc;

	*out = NULL;
	if (!o)
		return GW_ENOMEM;
	if (pthread_mutex_init(&o->mu, NULL) != 0) {
		free(o);
		return GW_EIO;
	}
	rc = copy_options(o, opt);
	if (rc == GW_OK)
		rc = load_rotated(o);
	o->answer = rc == GW_OK ? malloc(OAUTH_ANSWER_MAX + 1) : NULL;
	o->multi = o->answer ? curl_multi_init() : NULL;
	o->h = o->multi ? curl_easy_init() : NULL;
	o->headers = o->h ? curl_slist_append(NULL, "Accept: application/json") : NULL;
	if (!o->headers) {
		oauth_destroy(o);
		return rc == GW_OK ? GW_EIO : rc;
	}
	*out = o;
	return GW_OK;
}

/* end_request - takes the handle out of the multi and wipes the request
 * and its answer. */
static void end_request(struct oauth *o)
{
	if (o->running)
		curl_multi_remove_handle(o->multi, o->h);
	o->running = 0;
	wipe_free(o->form);
	o->form = NULL;
	if (o->answer)
		explicit_bzero(o->answer, o->answer_len);
	o->answer_len = 0;
}

void oauth_destroy(struct oauth *o)
{
	if (!o)
		return;
	end_request(o);
	curl_slist_free_all(o->headers);
	curl_easy_cleanup(o->h);
	curl_multi_cleanup(o->multi);
	free(o->answer);
	free(o->token_url);
	free(o->client_id);
	wipe_free(o->client_secret);
	wipe_free(o->refresh_token);
	wipe_free(o->configured);
	free(o->state_path);
	free(o->scope);
	free(o->ca_file);
	explicit_bzero(o->token, sizeof(o->token));
	pthread_mutex_destroy(&o->mu);
	free(o);
}

/* ---- the request ------------------------------------------------------------------ */

/* add_field - "&name=<value percent-encoded>" (no '&' first) onto *form. */
static int add_field(char **form, const char *name, const char *value)
{
	char *enc = curl_easy_escape(NULL, value, 0), *next;
	size_t old = *form ? strlen(*form) : 0, n;

	if (!enc)
		return GW_ENOMEM;
	n = old + strlen(name) + strlen(enc) + 3;
	next = malloc(n);
	if (next)
		snprintf(next, n, "%s%s%s=%s", *form ? *form : "", old ? "&" : "", name, enc);
	explicit_bzero(enc, strlen(enc));
	curl_free(enc);
	if (!next)
		return GW_ENOMEM;
	wipe_free(*form);
	*form = next;
	return GW_OK;
}

static int build_form(struct oauth *o)
{
	int rc = add_field(&o->form, "grant_type", "refresh_token");

	if (rc == GW_OK)
		rc = add_field(&o->form, "refresh_token", o->refresh_token);
	if (rc == GW_OK)
		rc = add_field(&o->form, "client_id", o->client_id);
	if (rc == GW_OK && o->client_secret)
		rc = add_field(&o->form, "client_secret", o->client_secret);
	if (rc == GW_OK && o->scope)
		rc = add_field(&o->form, "scope", o->scope);
	return rc;
}

/* on_answer - libcurl's write callback: the answer, bounded. */
static size_t on_answer(char *ptr, size_t size, size_t n, void *arg)
{
	struct oauth *o = arg;
	size_t len = size * n;

	if (o->answer_len + len > OAUTH_ANSWER_MAX) {
		o->too_big = 1;
		return 0;
	}
	memcpy(o->answer + o->answer_len, ptr, len);
	o->answer_len += len;
	return len;
}

static int start_request(struct oauth *o)
{
	CURLcode c = CURLE_OK;
	int rc = build_form(o);

	if (rc != GW_OK)
		return rc;
	curl_easy_reset(o->h);
	o->answer_len = 0;
	o->too_big = 0;
	o->curl_err[0] = '\0';
	c |= curl_easy_setopt(o->h, CURLOPT_URL, o->token_url);
	c |= curl_easy_setopt(o->h, CURLOPT_PROTOCOLS_STR, "http,https");
	c |= curl_easy_setopt(o->h, CURLOPT_POSTFIELDS, o->form);
	c |= curl_easy_setopt(o->h, CURLOPT_POSTFIELDSIZE, (long)strlen(o->form));
	c |= curl_easy_setopt(o->h, CURLOPT_HTTPHEADER, o->headers);
	c |= curl_easy_setopt(o->h, CURLOPT_WRITEFUNCTION, on_answer);
	c |= curl_easy_setopt(o->h, CURLOPT_WRITEDATA, o);
	c |= curl_easy_setopt(o->h, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	c |= curl_easy_setopt(o->h, CURLOPT_CONNECTTIMEOUT_MS, OAUTH_CONNECT_TIMEOUT_MS);
	c |= curl_easy_setopt(o->h, CURLOPT_NOSIGNAL, 1L);
	c |= curl_easy_setopt(o->h, CURLOPT_ERRORBUFFER, o->curl_err);
	c |= curl_easy_setopt(o->h, CURLOPT_USERAGENT, "omnigate");
	if (o->ca_file)
		c |= curl_easy_setopt(o->h, CURLOPT_CAINFO, o->ca_file);
	if (c != CURLE_OK || curl_multi_add_handle(o->multi, o->h) != CURLM_OK)
		return GW_ENOMEM;
	o->running = 1;
	return GW_OK;
}

/* ---- the outcome ----------------------------------------------------------------- */

/*
 * failed - a refresh that failed: the backoff (the long one when the
 * endpoint refused, or a setting must change first: `fix`), the problem,
 * a log line.
 */
static void failed(struct oauth *o, int refused, int fix, const char *what)
{
	int64_t wait = oauth_backoff_ms(++o->failures, refused || fix);

	pthread_mutex_lock(&o->mu);
	o->state = refused ? OAUTH_REFUSED : OAUTH_FAILED;
	o->next_try_ms = now_ms() + wait;
	snprintf(o->problem, sizeof(o->problem), "%s", what);
	o->n_failed++;
	pthread_mutex_unlock(&o->mu);
	GW_WARN(o->module, "cannot refresh the OAuth access token: %s; next try in %lld s", what,
		(long long)(wait / 1000));
}

/* take_rotated - a refresh token the endpoint handed back in place of
 * ours: used from now on, and kept in state_path for the next start (a
 * failure to keep it is logged: a restart then uses the configured one). */
static void take_rotated(struct oauth *o, const char *token)
{
	char *rt;
	int rc;

	if (!token[0] || strcmp(token, o->refresh_token) == 0)
		return;
	rt = gw_strdup(token);
	if (!rt) {
		GW_WARN(o->module, "out of memory: the rotated refresh token is not used");
		return;
	}
	wipe_free(o->refresh_token);
	o->refresh_token = rt;
	if (!o->state_path)
		return;
	rc = oauth_state_save(o->state_path, o->configured, rt);
	if (rc != GW_OK)
		GW_WARN(o->module, "cannot keep the rotated refresh token in %s: %s; a restart "
			"will use the configured one", o->state_path, gw_strerror(rc));
}

/* obtained - a new token: kept, the refresh timing set, a rotated refresh
 * token taken over. */
static void obtained(struct oauth *o, struct oauth_answer *a)
{
	int64_t now = now_ms();
	uint64_t gen;

	take_rotated(o, a->refresh_token);
	pthread_mutex_lock(&o->mu);
	memcpy(o->token, a->access_token, strlen(a->access_token) + 1);
	gen = ++o->gen;
	o->refresh_at_ms = oauth_refresh_at(now, a->expires_in_s, o->margin_s);
	o->usable_until_ms = oauth_usable_until(now, a->expires_in_s);
	o->state = OAUTH_OK;
	o->problem[0] = '\0';
	o->n_ok++;
	pthread_mutex_unlock(&o->mu);
	o->failures = 0;
	GW_INFO(o->module, "OAuth access token %llu obtained, valid %lld s, refreshed in %lld s",
		(unsigned long long)gen, (long long)a->expires_in_s,
		(long long)((o->refresh_at_ms - now) / 1000));
}

/* judge - what the endpoint answered. */
static void judge(struct oauth *o, long status, struct oauth_answer *a)
{
	char what[OAUTH_PROBLEM_MAX];
	int rc = oauth_parse_answer(status, o->answer, o->answer_len, a);
	int refused = rc == GW_OK && !a->ok && oauth_refused_error(a->error) && status < 500;

	if (rc == GW_OK && a->ok) {
		obtained(o, a);
		return;
	}
	if (rc != GW_OK)
		snprintf(what, sizeof(what), "the token endpoint answered HTTP %ld: %s", status,
			 a->description);
	else if (strcmp(a->error, "invalid_grant") == 0)
		snprintf(what, sizeof(what), "the refresh token was refused: consent again "
			 "(%s%s%s)", a->error, a->description[0] ? ": " : "", a->description);
	else if (refused)
		snprintf(what, sizeof(what), "the token endpoint refused the client (%s%s%s): check "
			 "oauth.client_id, client_secret and scope", a->error,
			 a->description[0] ? ": " : "", a->description);
	else
		snprintf(what, sizeof(what), "the token endpoint answered HTTP %ld %s%s%s", status,
			 a->error, a->description[0] ? ": " : "", a->description);
	failed(o, refused, 0, what);
}

/*
 * transfer_failed - libcurl ended the request with `res`: why, by its
 * gw_err (gw_curl_err). A URL libcurl cannot use or a certificate it
 * cannot verify is a setting to fix, not a network blip: it waits as long
 * as a refusal.
 */
static void transfer_failed(struct oauth *o, CURLcode res)
{
	const char *detail = o->curl_err[0] ? o->curl_err : curl_easy_strerror(res);
	char what[OAUTH_PROBLEM_MAX];
	int err = o->too_big ? GW_ETOOBIG : gw_curl_err(res);

	if (err == GW_ETLS)
		snprintf(what, sizeof(what), "the token endpoint's TLS certificate cannot be "
			 "verified (%s): check oauth.ca_file", detail);
	else if (err == GW_EINVAL)
		snprintf(what, sizeof(what), "the token URL cannot be used (%s): check "
			 "oauth.token_url", detail);
	else if (err == GW_ETOOBIG)
		snprintf(what, sizeof(what), "the token endpoint's answer is over %u bytes",
			 OAUTH_ANSWER_MAX);
	else
		snprintf(what, sizeof(what), "the token endpoint cannot be reached: %s (%s)",
			 detail, gw_strerror(err));
	failed(o, 0, err == GW_ETLS || err == GW_EINVAL, what);
}

/* finish - the request ended with `res`. */
static void finish(struct oauth *o, CURLcode res)
{
	struct oauth_answer *a = NULL;
	long status = 0;

	curl_easy_getinfo(o->h, CURLINFO_RESPONSE_CODE, &status);
	if (res != CURLE_OK) {
		transfer_failed(o, res);
		return;
	}
	a = malloc(sizeof(*a));
	if (!a) {
		failed(o, 0, 0, "out of memory");
		return;
	}
	judge(o, status, a);
	oauth_answer_clear(a);
	free(a);
}

/* ---- polling ------------------------------------------------------------------------ */

/* due - a refresh should start now. */
static int due(struct oauth *o)
{
	int64_t now = now_ms();
	int forced, yes;

	pthread_mutex_lock(&o->mu);
	forced = o->gen > 0 && o->refused_gen == o->gen && now < o->refresh_at_ms;
	yes = now >= o->next_try_ms &&
	      (o->gen == 0 || o->refused_gen == o->gen || now >= o->refresh_at_ms);
	pthread_mutex_unlock(&o->mu);
	if (yes && forced) {
		if (o->last_forced_ms && now - o->last_forced_ms < OAUTH_FORCED_GAP_MS)
			return 0;
		o->last_forced_ms = now;
	}
	return yes;
}

int oauth_poll(struct oauth *o)
{
	CURLcode res = CURLE_OK;
	CURLMsg *msg;
	int running = 0, left, rc;

	if (!o->running) {
		if (!due(o))
			return 0;
		rc = start_request(o);
		if (rc != GW_OK) {
			end_request(o);
			failed(o, 0, 0, "cannot start the request (out of memory)");
			return 1;
		}
	}
	if (curl_multi_perform(o->multi, &running) != CURLM_OK)
		res = CURLE_SEND_ERROR;
	else if (running)
		return 0;
	while ((msg = curl_multi_info_read(o->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == o->h)
			res = msg->data.result;
	finish(o, res);
	end_request(o);
	return 1;
}

/* ---- any thread ------------------------------------------------------------------ */

int oauth_get(struct oauth *o, enum oauth_want want, char *tok, size_t len, uint64_t *gen)
{
	int64_t now = now_ms();
	int rc;

	pthread_mutex_lock(&o->mu);
	if (o->gen > 0 && (want == OAUTH_LAST ||
			   (now < o->usable_until_ms && o->refused_gen != o->gen)))
		rc = GW_OK;
	else if (o->state == OAUTH_REFUSED)
		rc = GW_EAUTH;
	else if (o->state == OAUTH_FAILED && now < o->next_try_ms)
		rc = GW_EIO;
	else
		rc = GW_EAGAIN;
	if (rc == GW_OK && tok && strlen(o->token) >= len)
		rc = GW_ETOOBIG;
	if (rc == GW_OK && tok)
		memcpy(tok, o->token, strlen(o->token) + 1);
	if (rc == GW_OK && gen)
		*gen = o->gen;
	pthread_mutex_unlock(&o->mu);
	return rc;
}

void oauth_refused(struct oauth *o, uint64_t gen)
{
	int first;

	pthread_mutex_lock(&o->mu);
	first = gen > 0 && gen == o->gen && o->refused_gen != gen;
	if (first)
		o->refused_gen = gen;
	pthread_mutex_unlock(&o->mu);
	if (first)
		GW_INFO(o->module, "the server refused OAuth access token %llu: refreshing it",
			(unsigned long long)gen);
}

uint64_t oauth_generation(struct oauth *o)
{
	uint64_t g;

	pthread_mutex_lock(&o->mu);
	g = o->gen;
	pthread_mutex_unlock(&o->mu);
	return g;
}

int oauth_problem(struct oauth *o, char *why, size_t len, int *refused)
{
	int bad;

	pthread_mutex_lock(&o->mu);
	bad = o->state != OAUTH_OK;
	snprintf(why, len, "%s", bad ? o->problem : "");
	if (refused)
		*refused = o->state == OAUTH_REFUSED;
	pthread_mutex_unlock(&o->mu);
	return bad;
}

void oauth_counts(struct oauth *o, uint64_t *ok, uint64_t *failed_n)
{
	pthread_mutex_lock(&o->mu);
	*ok = o->n_ok;
	*failed_n = o->n_failed;
	pthread_mutex_unlock(&o->mu);
}

/*
 * sender.c - the worker that sends replies over libcurl (see sender.h).
 *
 * A job moves through three lists: `in` (submitted, owner -> worker, under
 * the lock), the worker's own `wait` (due at due_us; running ones are only
 * on the multi handle), and `done` (worker -> owner, under the lock). The
 * owner keeps the delivery ids in the sender in a small hash set, so that a
 * delivery handed over again is not sent twice while its job lives.
 */
#include "connectors/sender.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connectors/outbox.h"
#include "connectors/curl_err.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/sentlog.h"

#define SENDER_DEFAULT_MAX_JOBS 10000
#define SENDER_POLL_MAX_MS 1000
#define SENDER_BACKOFF_MIN_MS 1000
#define SENDER_BACKOFF_MAX_MS 300000
#define SENDER_CONNECT_MS 10000

static const double latency_le[] = SENDER_LATENCY_LE;
#define SENDER_JOURNAL_KEEP_MS (7LL * 24 * 3600 * 1000)
#define SENDER_PRUNE_US (3600LL * 1000000)

struct sjob {
	struct sjob *next;
	uint64_t delivery_id;
	char reply_id[PROTO_MAX_EXTERNAL_ID + 1];
	const struct sender_ops *ops;
	void *job;
	int step, attempt, attempts; /* attempt: of this step; attempts: in all */
	int64_t first_us, due_us;
	CURL *h;                     /* while a transfer runs */
	char *body;
	size_t body_len;
	int64_t retry_after_ms;
	char errbuf[CURL_ERROR_SIZE];
	struct sender_outcome out;
};

struct sjob_list {
	struct sjob *head, *tail;
};

struct sender {
	struct sender_settings set;
	struct outbox *ob;
	char module[96];
	void (*wake)(void *arg);
	void *wake_arg;
	size_t max_jobs;
	struct sentlog *journal;
	CURLM *multi;
	pthread_t thread;
	int started;
	/* shared, under mu */
	pthread_mutex_t mu;
	struct sjob_list in, done;
	int stop;
	struct sender_stats st;
	/* the worker's */
	struct sjob_list wait;
	struct sjob_list run; /* transfers on the multi handle */
	long running;
	double tokens;
	int64_t tokens_us, hold_until_us, prune_us;
	int journal_failing;
	/* the owner's */
	uint64_t *ids; /* open addressing, 0 = free; capacity ids_cap (2^n) */
	size_t ids_cap, n_ids;
	struct sjob_list unreported;
};

/* ---- lists and the id set ------------------------------------------------ */

static void list_push(struct sjob_list *l, struct sjob *j)
{
	j->next = NULL;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static void list_append(struct sjob_list *l, struct sjob_list *more)
{
	if (!more->head)
		return;
	if (l->tail)
		l->tail->next = more->head;
	else
		l->head = more->head;
	l->tail = more->tail;
	more->head = more->tail = NULL;
}

static void job_free(struct sjob *j)
{
	if (!j)
		return;
	if (j->ops && j->ops->free)
		j->ops->free(j->job);
	free(j->body);
	free(j);
}

static void list_free(struct sjob_list *l)
{
	while (l->head) {
		struct sjob *j = l->head;

		l->head = j->next;
		job_free(j);
	}
	l->tail = NULL;
}

static size_t id_slot(const struct sender *s, uint64_t id)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ULL) >> 17) & (s->ids_cap - 1);
}

static int ids_has(const struct sender *s, uint64_t id)
{
	for (size_t i = id_slot(s, id); s->ids[i]; i = (i + 1) & (s->ids_cap - 1))
		if (s->ids[i] == id)
			return 1;
	return 0;
}

static void ids_add(struct sender *s, uint64_t id)
{
	size_t i = id_slot(s, id);

	while (s->ids[i])
		i = (i + 1) & (s->ids_cap - 1);
	s->ids[i] = id;
	s->n_ids++;
}

/* ids_del - removes `id`, shifting the entries of its probe run back. */
static void ids_del(struct sender *s, uint64_t id)
{
	size_t mask = s->ids_cap - 1, i = id_slot(s, id), j;

	while (s->ids[i] && s->ids[i] != id)
		i = (i + 1) & mask;
	if (!s->ids[i])
		return;
	s->ids[i] = 0;
	s->n_ids--;
	for (j = (i + 1) & mask; s->ids[j]; j = (j + 1) & mask) {
		size_t home = id_slot(s, s->ids[j]);

		/* Move it back when its home is not within (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			s->ids[i] = s->ids[j];
			s->ids[j] = 0;
			i = j;
		}
	}
}

/* ---- the worker: one transfer ---------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sjob *j = arg;
	size_t len = size * n, room = SENDER_BODY_MAX - j->body_len;

	if (len > room)
		len = room;
	memcpy(j->body + j->body_len, p, len);
	j->body_len += len;
	j->body[j->body_len] = '\0';
	return size * n; /* the rest is read and dropped */
}

int64_t sender_retry_after_ms(const char *v)
{
	char *end = NULL;
	long long secs;
	time_t at;

	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		secs = strtoll(v, &end, 10);
		return secs >= 0 && secs < 86400 * 7 ? secs * 1000 : -1;
	}
	at = curl_getdate(v, NULL);
	if (at < 0)
		return -1;
	return at * 1000LL > gw_now_ms() ? at * 1000LL - gw_now_ms() : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct sjob *j = arg;
	size_t len = size * n;
	char line[128];

	if (len > 12 && len < sizeof(line) && strncasecmp(p, "retry-after:", 12) == 0) {
		memcpy(line, p + 12, len - 12);
		line[len - 12] = '\0';
		line[strcspn(line, "\r\n")] = '\0';
		j->retry_after_ms = sender_retry_after_ms(line);
	}
	return len;
}

/* transfer_setup - a fresh easy handle for the job's step, answer capture
 * and timeouts set, then the job's own setup. */
static int transfer_setup(struct sender *s, struct sjob *j)
{
	char why[SENDER_REASON_MAX] = "";

	j->h = curl_easy_init();
	j->body = malloc(SENDER_BODY_MAX + 1);
	if (!j->h || !j->body) {
		snprintf(j->out.reason, sizeof(j->out.reason), "out of memory");
		return GW_ENOMEM;
	}
	j->body_len = 0;
	j->body[0] = '\0';
	j->retry_after_ms = -1;
	j->errbuf[0] = '\0';
	curl_easy_setopt(j->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(j->h, CURLOPT_TIMEOUT_MS, (long)s->set.timeout_ms);
	curl_easy_setopt(j->h, CURLOPT_CONNECTTIMEOUT_MS, (long)SENDER_CONNECT_MS);
	curl_easy_setopt(j->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(j->h, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(j->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(j->h, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(j->h, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(j->h, CURLOPT_PRIVATE, j);
	if (j->ops->setup(j->job, j->step, j->h, why, sizeof(why)) != 0) {
		snprintf(j->out.reason, sizeof(j->out.reason), "%s",
			 why[0] ? why : "the reply cannot be sent");
		return GW_EINVAL;
	}
	return GW_OK;
}

static void transfer_end(struct sjob *j)
{
	if (j->h)
		curl_easy_cleanup(j->h);
	j->h = NULL;
	free(j->body);
	j->body = NULL;
}

/* ---- the worker: what happens after an attempt -------------------------- */

static int64_t backoff_ms(int attempt)
{
	int64_t ms = SENDER_BACKOFF_MIN_MS;

	for (int i = 1; i < attempt && ms < SENDER_BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > SENDER_BACKOFF_MAX_MS)
		ms = SENDER_BACKOFF_MAX_MS;
	/* Up to a fifth more, so that a burst failed together spreads out. */
	return ms + (int64_t)((uint64_t)gw_mono_us() % (uint64_t)(ms / 5 + 1));
}

/* note_auth - the credentials were refused (logged once) or accepted. */
static void note_auth(struct sender *s, const struct sjob *j)
{
	pthread_mutex_lock(&s->mu);
	if (j->out.auth && !s->st.auth_error[0]) {
		GW_ERROR(s->module, "the provider refuses the credentials: %s (replies fail "
			 "until they are fixed)", j->out.reason);
		snprintf(s->st.auth_error, sizeof(s->st.auth_error), "%s", j->out.reason);
	} else if (!j->out.auth && j->out.verdict == SENDER_DONE && s->st.auth_error[0]) {
		GW_INFO(s->module, "the provider accepts the credentials again");
		s->st.auth_error[0] = '\0';
	}
	pthread_mutex_unlock(&s->mu);
}

/* retry_or_fail - a transient failure: again later, or failed once the
 * job has been tried for retry_for_s. */
static void retry_or_fail(struct sender *s, struct sjob *j, struct sjob_list *fin)
{
	int64_t now = gw_mono_us(), wait_ms;
	char why[SENDER_REASON_MAX + 64];

	j->attempt++;
	if (now - j->first_us >= s->set.retry_for_s * 1000000LL) {
		snprintf(why, sizeof(why), "gave up after %d attempts in %llds: %s", j->attempts,
			 (long long)((now - j->first_us) / 1000000), j->out.reason);
		snprintf(j->out.reason, sizeof(j->out.reason), "%.*s", SENDER_REASON_MAX - 1, why);
		gw_utf8_trim(j->out.reason);
		j->out.verdict = SENDER_FAIL;
		list_push(fin, j);
		return;
	}
	wait_ms = backoff_ms(j->attempt);
	if (j->out.retry_after_ms > wait_ms)
		wait_ms = j->out.retry_after_ms;
	j->due_us = now + wait_ms * 1000;
	if (j->out.slow_down && j->due_us > s->hold_until_us)
		s->hold_until_us = j->due_us;
	GW_WARN(s->module, "delivery %llu: attempt %d failed (%s); again in %lld ms",
		(unsigned long long)j->delivery_id, j->attempts, j->out.reason, (long long)wait_ms);
	pthread_mutex_lock(&s->mu);
	s->st.retried++;
	pthread_mutex_unlock(&s->mu);
	list_push(&s->wait, j);
}

/* judge - classify the finished transfer of `j` and act on the verdict:
 * DONE into `journal`, FAIL into `fin`, NEXT and RETRY back to wait. */
static void judge(struct sender *s, struct sjob *j, CURLcode res, struct sjob_list *journal,
		  struct sjob_list *fin)
{
	struct sender_attempt a = {j->step, j->attempt, gw_curl_err(res), 0, j->body, j->body_len,
				   j->retry_after_ms, j->errbuf};
	curl_off_t took_us = 0;

	curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &a.status);
	curl_easy_getinfo(j->h, CURLINFO_TOTAL_TIME_T, &took_us);
	pthread_mutex_lock(&s->mu);
	gw_histo_observe(&s->st.latency, (double)took_us / 1e6);
	pthread_mutex_unlock(&s->mu);
	if (!a.error[0] && res != CURLE_OK)
		a.error = curl_easy_strerror(res);
	memset(&j->out, 0, sizeof(j->out));
	j->attempts++;
	j->ops->classify(j->job, &a, &j->out);
	transfer_end(j);
	gw_utf8_trim(j->out.reason);
	note_auth(s, j);
	switch (j->out.verdict) {
	case SENDER_DONE: list_push(journal, j); break;
	case SENDER_NEXT:
		j->step++;
		j->attempt = 0;
		j->due_us = 0;
		list_push(&s->wait, j);
		break;
	case SENDER_RETRY: retry_or_fail(s, j, fin); break;
	default: list_push(fin, j); break;
	}
}

/* ---- the worker: journal -------------------------------------------------- */

/* journal_hit - a job whose reply the journal holds is done already. */
static int journal_hit(struct sender *s, struct sjob *j)
{
	struct sentlog_rec rec;

	if (!j->reply_id[0] || sentlog_get(s->journal, j->reply_id, &rec) != GW_OK)
		return 0;
	j->out.verdict = SENDER_DONE;
	snprintf(j->out.ref_account, sizeof(j->out.ref_account), "%s", rec.ref_account);
	snprintf(j->out.ref_id, sizeof(j->out.ref_id), "%s", rec.ref_id);
	GW_INFO(s->module, "delivery %llu: the provider took it before; reported again, "
		"not sent twice", (unsigned long long)j->delivery_id);
	pthread_mutex_lock(&s->mu);
	s->st.journaled++;
	pthread_mutex_unlock(&s->mu);
	return 1;
}

/* journal_write - the DONE jobs of `l` into the journal in one synced
 * transaction, then onto `fin`. A journal that cannot be written is logged
 * (once until it works again); the replies are reported all the same. */
static void journal_write(struct sender *s, struct sjob_list *l, struct sjob_list *fin)
{
	struct sentlog_rec *recs;
	size_t n = 0;
	int rc = GW_ENOMEM;

	for (struct sjob *j = l->head; j; j = j->next)
		n++;
	recs = n ? calloc(n, sizeof(*recs)) : NULL;
	if (n && recs) {
		n = 0;
		for (struct sjob *j = l->head; j; j = j->next, n++) {
			snprintf(recs[n].key, sizeof(recs[n].key), "%s", j->reply_id);
			recs[n].at = gw_now_ms();
			snprintf(recs[n].ref_account, sizeof(recs[n].ref_account), "%s",
				 j->out.ref_account);
			snprintf(recs[n].ref_id, sizeof(recs[n].ref_id), "%s", j->out.ref_id);
		}
		rc = sentlog_put(s->journal, recs, n);
	}
	if (n && rc != GW_OK && !s->journal_failing)
		GW_ERROR(s->module, "cannot write the journal of sent replies: %s (a reply "
			 "handed over again may be sent twice)", gw_strerror(rc));
	if (n)
		s->journal_failing = rc != GW_OK;
	free(recs);
	list_append(fin, l);
}

/* ---- the worker loop ---------------------------------------------------- */

/* sender_rate - transfers per second the limits allow, the stricter of
 * rate_per_s and rate_per_min; 0: no limit. */
static double sender_rate(const struct sender_settings *set)
{
	double per_s = (double)set->rate_per_s, per_min = (double)set->rate_per_min / 60.0;

	if (per_s > 0 && per_min > 0)
		return per_s < per_min ? per_s : per_min;
	return per_s > 0 ? per_s : per_min;
}

/* take_token - the rate limit: 0 when a transfer may start now, else the
 * us until one may. */
static int64_t take_token(struct sender *s, int64_t now)
{
	double rate = sender_rate(&s->set);

	if (rate <= 0)
		return 0;
	s->tokens += (double)(now - s->tokens_us) * rate / 1e6;
	/* A burst of a tenth of a second at most, or one: after a quiet time
	 * the provider still sees the rate, not a second's worth at once. */
	if (s->tokens > (rate > 10.0 ? rate / 10.0 : 1.0))
		s->tokens = rate > 10.0 ? rate / 10.0 : 1.0;
	s->tokens_us = now;
	if (s->tokens < 1.0)
		return (int64_t)((1.0 - s->tokens) * 1e6 / rate) + 1;
	s->tokens -= 1.0;
	return 0;
}

/* start_one - starts the transfer of `j`, or fails it into `fin`. */
static void start_one(struct sender *s, struct sjob *j, struct sjob_list *fin)
{
	memset(&j->out, 0, sizeof(j->out));
	if (transfer_setup(s, j) != GW_OK || curl_multi_add_handle(s->multi, j->h) != CURLM_OK) {
		transfer_end(j);
		if (!j->out.reason[0])
			snprintf(j->out.reason, sizeof(j->out.reason), "cannot start a transfer");
		j->out.verdict = SENDER_FAIL;
		list_push(fin, j);
		return;
	}
	list_push(&s->run, j);
	s->running++;
}

/* list_unlink - takes `j` off `l` (`prev` its predecessor, NULL if first). */
static void list_unlink(struct sjob_list *l, struct sjob *prev, struct sjob *j)
{
	if (prev)
		prev->next = j->next;
	else
		l->head = j->next;
	if (l->tail == j)
		l->tail = prev;
	j->next = NULL;
}

/* start_due - starts what is due, within the limits; returns the ms until
 * something more may start (SENDER_POLL_MAX_MS at most). */
static long start_due(struct sender *s, struct sjob_list *fin)
{
	int64_t now = gw_mono_us(), next = now + SENDER_POLL_MAX_MS * 1000LL, wait;
	struct sjob *j = s->wait.head, *prev = NULL;

	if (now < s->hold_until_us)
		return (long)((s->hold_until_us - now) / 1000) + 1;
	while (j && s->running < s->set.concurrency) {
		struct sjob *nx = j->next;

		if (j->due_us > now) {
			if (j->due_us < next)
				next = j->due_us;
			prev = j;
		} else if ((wait = take_token(s, now)) > 0) {
			return (long)(wait / 1000) + 1;
		} else {
			list_unlink(&s->wait, prev, j);
			start_one(s, j, fin);
		}
		j = nx;
	}
	return (long)((next - now) / 1000);
}

/* run_remove - `j` is no longer running. */
static void run_remove(struct sender *s, struct sjob *j)
{
	struct sjob *prev = NULL;

	for (struct sjob *x = s->run.head; x; prev = x, x = x->next) {
		if (x == j) {
			list_unlink(&s->run, prev, j);
			break;
		}
	}
	s->running--;
}

/* collect - every finished transfer, judged. */
static void collect(struct sender *s, struct sjob_list *journal, struct sjob_list *fin)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(s->multi, &left))) {
		struct sjob *j = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
		curl_multi_remove_handle(s->multi, m->easy_handle);
		run_remove(s, j);
		judge(s, j, m->data.result, journal, fin);
	}
}

/* take_in - the submitted jobs: journal hits are done, the rest wait. */
static int take_in(struct sender *s, struct sjob_list *fin)
{
	struct sjob_list in;
	int stop;

	pthread_mutex_lock(&s->mu);
	in = s->in;
	s->in.head = s->in.tail = NULL;
	stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	while (in.head) {
		struct sjob *j = in.head;

		in.head = j->next;
		list_push(journal_hit(s, j) ? fin : &s->wait, j);
	}
	return stop;
}

/* hand_back - the finished jobs to the owner, who is woken. */
static void hand_back(struct sender *s, struct sjob_list *fin)
{
	if (!fin->head)
		return;
	pthread_mutex_lock(&s->mu);
	list_append(&s->done, fin);
	pthread_mutex_unlock(&s->mu);
	if (s->wake)
		s->wake(s->wake_arg);
}

static void maybe_prune(struct sender *s)
{
	size_t n = 0;

	if (gw_mono_us() < s->prune_us)
		return;
	s->prune_us = gw_mono_us() + SENDER_PRUNE_US;
	if (sentlog_prune(s->journal, gw_now_ms() - SENDER_JOURNAL_KEEP_MS, &n) == GW_OK && n)
		GW_INFO(s->module, "journal: %zu records older than a week pruned", n);
}

static void *worker(void *arg)
{
	struct sender *s = arg;

	for (;;) {
		struct sjob_list journal = {0}, fin = {0};
		long wait_ms;
		int still;

		if (take_in(s, &fin)) {
			list_free(&fin);
			break;
		}
		wait_ms = start_due(s, &fin);
		hand_back(s, &fin);
		curl_multi_poll(s->multi, NULL, 0, (int)(wait_ms < 1 ? 1 : wait_ms), NULL);
		curl_multi_perform(s->multi, &still);
		collect(s, &journal, &fin);
		journal_write(s, &journal, &fin);
		hand_back(s, &fin);
		maybe_prune(s);
	}
	return NULL;
}

/* ---- the owner ------------------------------------------------------------ */

static int sender_init(struct sender *s, const struct sender_options *opt)
{
	size_t cap = 16;

	s->set = opt->set;
	s->ob = opt->outbox;
	snprintf(s->module, sizeof(s->module), "%s", opt->log_module);
	s->wake = opt->wake;
	s->wake_arg = opt->wake_arg;
	s->max_jobs = opt->max_jobs ? opt->max_jobs : SENDER_DEFAULT_MAX_JOBS;
	while (cap < 2 * s->max_jobs)
		cap *= 2;
	s->ids_cap = cap;
	s->ids = calloc(cap, sizeof(*s->ids));
	s->multi = curl_multi_init();
	if (!s->ids || !s->multi)
		return GW_ENOMEM;
	curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)s->set.concurrency);
	curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)s->set.concurrency);
	s->tokens = sender_rate(&s->set) > 0 ? 1.0 : 0.0;
	s->tokens_us = gw_mono_us();
	gw_histo_init(&s->st.latency, latency_le, sizeof(latency_le) / sizeof(latency_le[0]));
	return sentlog_open(opt->journal_dir, &s->journal);
}

int sender_create(const struct sender_options *opt, struct sender **out)
{
	struct sender *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s)
		return GW_ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	rc = sender_init(s, opt);
	if (rc == GW_OK && pthread_create(&s->thread, NULL, worker, s) != 0)
		rc = GW_EIO;
	s->started = rc == GW_OK;
	if (rc) {
		sender_destroy(s);
		return rc;
	}
	*out = s;
	return GW_OK;
}

/* drop_running - the transfers still on the multi handle, removed and
 * freed (after the worker stopped). */
static void drop_running(struct sender *s)
{
	while (s->run.head) {
		struct sjob *j = s->run.head;

		s->run.head = j->next;
		curl_multi_remove_handle(s->multi, j->h);
		transfer_end(j);
		job_free(j);
	}
	s->run.tail = NULL;
}

void sender_destroy(struct sender *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		pthread_mutex_unlock(&s->mu);
		curl_multi_wakeup(s->multi);
		pthread_join(s->thread, NULL);
	}
	if (s->multi) {
		drop_running(s);
		curl_multi_cleanup(s->multi);
	}
	list_free(&s->in);
	list_free(&s->wait);
	list_free(&s->done);
	list_free(&s->unreported);
	sentlog_close(s->journal);
	pthread_mutex_destroy(&s->mu);
	free(s->ids);
	free(s);
}

int sender_submit(struct sender *s, uint64_t delivery_id, const char *reply_id,
		  const struct sender_ops *ops, void *job)
{
	struct sjob *j;

	if (ids_has(s, delivery_id) || s->n_ids >= s->max_jobs) {
		if (ops->free)
			ops->free(job);
		return ids_has(s, delivery_id) ? GW_OK : GW_EFULL;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		if (ops->free)
			ops->free(job);
		return GW_ENOMEM;
	}
	j->delivery_id = delivery_id;
	snprintf(j->reply_id, sizeof(j->reply_id), "%s", reply_id ? reply_id : "");
	j->ops = ops;
	j->job = job;
	j->first_us = gw_mono_us();
	ids_add(s, delivery_id);
	pthread_mutex_lock(&s->mu);
	list_push(&s->in, j);
	pthread_mutex_unlock(&s->mu);
	curl_multi_wakeup(s->multi);
	return GW_OK;
}

int sender_has(const struct sender *s, uint64_t delivery_id)
{
	return ids_has(s, delivery_id);
}

int sender_decode_reply(const char *log_module, const void *event, size_t len,
			uint64_t delivery_id, struct proto_event *ev)
{
	struct proto_error perr;
	int rc;

	memset(&perr, 0, sizeof(perr));
	rc = proto_decode(event, len, ev, &perr);
	if (rc != GW_OK) {
		GW_WARN(log_module, "delivery %llu: unreadable reply: %s",
			(unsigned long long)delivery_id, gw_strerror(rc));
		return rc;
	}
	if (ev->type != PROTO_T_MESSAGE_SENT || !ev->u.message.external_id || !ev->u.message.to) {
		GW_WARN(log_module, "delivery %llu: not a reply to a customer",
			(unsigned long long)delivery_id);
		proto_event_clear(ev);
		return GW_EINVAL;
	}
	return GW_OK;
}

int sender_fail_now(struct sender *s, uint64_t delivery_id, const char *reason)
{
	int rc = outbox_report(s->ob, delivery_id, "failed", reason);

	GW_INFO(s->module, "delivery %llu failed: %s", (unsigned long long)delivery_id, reason);
	if (rc == GW_OK) {
		pthread_mutex_lock(&s->mu);
		s->st.failed++;
		pthread_mutex_unlock(&s->mu);
	}
	return rc;
}

/* report_one - the outcome of `j` to the router; GW_EFULL keeps it. */
static int report_one(struct sender *s, struct sjob *j)
{
	const struct sender_outcome *o = &j->out;
	int done = o->verdict == SENDER_DONE, rc;

	if (done)
		rc = outbox_report_ref(s->ob, j->delivery_id, o->status[0] ? o->status : "sent",
				       NULL, o->ref_account, o->ref_id);
	else
		rc = outbox_report(s->ob, j->delivery_id, "failed", o->reason);
	if (rc == GW_EFULL)
		return rc;
	if (rc != GW_OK)
		GW_WARN(s->module, "delivery %llu: the report cannot be queued: %s",
			(unsigned long long)j->delivery_id, gw_strerror(rc));
	if (done)
		GW_INFO(s->module, "delivery %llu sent%s%s", (unsigned long long)j->delivery_id,
			o->ref_id[0] ? ": " : "", o->ref_id);
	else
		GW_WARN(s->module, "delivery %llu failed: %s", (unsigned long long)j->delivery_id,
			o->reason);
	pthread_mutex_lock(&s->mu);
	if (done)
		s->st.sent++;
	else
		s->st.failed++;
	pthread_mutex_unlock(&s->mu);
	return GW_OK;
}

int sender_poll(struct sender *s)
{
	pthread_mutex_lock(&s->mu);
	list_append(&s->unreported, &s->done);
	pthread_mutex_unlock(&s->mu);
	while (s->unreported.head) {
		struct sjob *j = s->unreported.head;

		if (report_one(s, j) == GW_EFULL)
			break; /* the report ring is full: the next poll goes on */
		s->unreported.head = j->next;
		if (!s->unreported.head)
			s->unreported.tail = NULL;
		ids_del(s, j->delivery_id);
		job_free(j);
	}
	return GW_OK;
}

void sender_stats(struct sender *s, struct sender_stats *st)
{
	pthread_mutex_lock(&s->mu);
	*st = s->st;
	pthread_mutex_unlock(&s->mu);
	st->queued = s->n_ids;
}

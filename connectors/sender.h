/*
 * sender.h - replies on their way to a provider over libcurl, off the
 * connector's event loop: the sending half every channel shares.
 *
 * A channel's deliver op (connector.h) decodes the message.sent, builds a
 * *job* (its own struct: the request, the secrets it needs) and hands it to
 * the sender with sender_submit(). The sender's worker thread runs every
 * transfer on one curl multi handle:
 *
 *   journal    a reply already in the journal (the provider took it before
 *              a restart) is reported again from there, never sent twice
 *   limits     at most `concurrency` transfers at once and `rate_per_s`
 *              started per second, `rate_per_min` per minute (a token
 *              bucket at the stricter rate, holding a tenth of a second's
 *              worth or one token: below 10/s, starts are 1/rate apart)
 *   attempt    ops->setup() prepares the easy handle for the job's current
 *              step; the answer (status, body, Retry-After) goes to
 *              ops->classify(), which decides:
 *                DONE   the provider took it: journaled (synced to disk),
 *                       then reported "sent" with the provider's id
 *                NEXT   this step worked, run the next one (an upload
 *                       before the message, a copy to a Sent folder)
 *                RETRY  transient (5xx, timeout, 429, a rate-limit code):
 *                       again after an exponential backoff (at least the
 *                       provider's Retry-After), failed once `retry_for_ms`
 *                       have passed since the first attempt; `slow_down`
 *                       holds every job for that time
 *                FAIL   permanent (4xx, invalid recipient, outside a
 *                       window): reported "failed" with the reason
 *              An answer that says the credentials were refused (`auth`) is
 *              logged once and kept in the stats until a reply goes through.
 *
 * The owner thread (the connector's loop) calls sender_poll() whenever the
 * wake callback fired, and at least every 100 ms: each finished job is
 * reported to the router (outbox_report_ref) and freed. A delivery the
 * router hands over again while its job is still in the sender is ignored.
 *
 * Threading: sender_create, sender_submit, sender_poll, sender_stats and
 * sender_destroy belong to the owner thread. ops->setup and ops->classify run
 * on the worker thread and must touch only their job; ops->free may run on
 * either.
 */
#ifndef GW_CONNECTOR_SENDER_H
#define GW_CONNECTOR_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "connectors/sender_config.h"
#include "core/config.h"
#include "core/histo.h"
#include "proto/proto.h"

struct outbox;
struct sender;

#define SENDER_REASON_MAX 256
#define SENDER_BODY_MAX (64u * 1024u) /* bytes of an answer kept for classify */

/* What one attempt got back (worker thread, borrowed for classify). */
struct sender_attempt {
	int step;                /* the job's step, from 0 */
	int attempt;             /* attempts of this step before this one */
	int err;                 /* the transfer's result as gw_err (gw_curl_err) */
	long status;             /* HTTP status, or the SMTP/IMAP reply code */
	const char *body;        /* the answer, NUL-terminated, at most */
	size_t body_len;         /* SENDER_BODY_MAX bytes (more is dropped) */
	int64_t retry_after_ms;  /* the Retry-After header, -1 when none */
	const char *error;       /* curl's error text, "" when none */
};

enum sender_verdict {
	SENDER_DONE = 0, /* the provider took the reply */
	SENDER_NEXT,     /* run the job's next step */
	SENDER_RETRY,    /* transient: try this step again later */
	SENDER_FAIL,     /* permanent */
};

/* classify's decision; zeroed before the call. */
struct sender_outcome {
	enum sender_verdict verdict;
	int auth;                /* the provider refused the credentials */
	int slow_down;           /* RETRY: hold every job, not only this one */
	int64_t retry_after_ms;  /* RETRY: at least this long (0: the backoff) */
	char status[16];         /* DONE: what to report, "sent" when empty */
	char ref_account[PROTO_MAX_ACCOUNT + 1]; /* DONE: the provider's id of */
	char ref_id[PROTO_MAX_EXTERNAL_ID + 1];  /* the reply, "" if none */
	char reason[SENDER_REASON_MAX];          /* RETRY, FAIL: why */
};

struct sender_ops {
	/*
	 * setup - configures `h` (reset, with the sender's timeouts and its
	 * answer capture already set) for `step` of the job: URL, method,
	 * headers, body, credentials. What h points at belongs to the job and
	 * must live until classify returns. On an error returns non-zero and
	 * writes why: the job fails.
	 */
	int (*setup)(void *job, int step, CURL *h, char *why, size_t whylen);
	/* classify - judges the attempt into `out`. */
	void (*classify)(void *job, const struct sender_attempt *a, struct sender_outcome *out);
	/* free - frees the job; may be NULL when it owns nothing. */
	void (*free)(void *job);
};

struct sender_options {
	struct sender_settings set;   /* copied */
	struct outbox *outbox;        /* borrowed: reports go here */
	const char *journal_dir;      /* <state_dir>/sent/<instance> */
	const char *log_module;       /* copied */
	/* wake - MAY be NULL; called on the worker thread when jobs finished,
	 * so that the owner's loop polls soon (httpd_wake). */
	void (*wake)(void *arg);
	void *wake_arg;
	size_t max_jobs;              /* jobs held at most; 0: 10000 */
};

/* The bounds of sender_stats.latency, in seconds. */
#define SENDER_LATENCY_LE {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

/* Counters, for the status file. */
struct sender_stats {
	uint64_t sent;       /* reported sent (or delivered) */
	uint64_t failed;     /* reported failed */
	uint64_t retried;    /* attempts that will be tried again */
	uint64_t journaled;  /* handed over again, reported from the journal */
	uint64_t queued;     /* jobs in the sender now */
	struct gw_histo latency; /* seconds of each transfer with the provider
				  * (every attempt and step), SENDER_LATENCY_LE */
	char auth_error[SENDER_REASON_MAX]; /* the provider refuses the
					     * credentials: why; "" when not */
};

/*
 * sender_create - opens the journal and starts the worker. *out owns the
 * sender. Returns GW_OK, GW_ENOMEM, GW_ESTORE/GW_EIO (the journal), GW_EIO
 * (thread or curl).
 */
int sender_create(const struct sender_options *opt, struct sender **out);

struct connector_instance;

/*
 * sender_open - sender_create for connector instance `inst`, as every
 * channel opens its sender: the journal in <state_dir>/sent/<instance>,
 * the instance's log module, reports to its outbox, `set` (copied) its
 * attempts and limits, `wake` (may be NULL) and `wake_arg` as in
 * sender_options. *out owns it; the caller sets inst->sender. Returns
 * GW_EINVAL when the journal's path is too long, else as sender_create.
 */
int sender_open(struct connector_instance *inst, const struct sender_settings *set,
		void (*wake)(void *arg), void *wake_arg, struct sender **out);

/*
 * sender_destroy - stops the worker, drops the jobs in flight unreported
 * (the router hands them over again) and closes the journal; accepts NULL.
 */
void sender_destroy(struct sender *s);

/*
 * sender_submit - hands job `job` (ops->free releases it; the sender owns it
 * from now on, also when this fails) for delivery `delivery_id`, whose
 * message.sent has external_id `reply_id` (the journal's key). Returns
 * GW_OK (taken, or the delivery is already in the sender: the job is
 * freed), GW_EFULL (max_jobs held: the router hands it over again later),
 * GW_ENOMEM.
 */
int sender_submit(struct sender *s, uint64_t delivery_id, const char *reply_id,
		  const struct sender_ops *ops, void *job);

/*
 * sender_decode_reply - the deliver op's first step: decodes the encoded
 * event of delivery `delivery_id` (`len` bytes at `event`, borrowed) into
 * *ev, which must be a message.sent to a customer (an external_id and a
 * `to`). On GW_OK the caller clears *ev (proto_event_clear); otherwise it
 * is cleared and the failure logged under `log_module`. Returns GW_OK,
 * proto_decode's codes, GW_EINVAL (not a reply to a customer). Any thread.
 */
int sender_decode_reply(const char *log_module, const void *event, size_t len,
			uint64_t delivery_id, struct proto_event *ev);

/*
 * sender_fail_now - reports delivery `delivery_id` failed with `reason`
 * without sending anything (a check the channel can make at once: a reply
 * outside the provider's window, a recipient that opted out). Counted as
 * failed. Returns outbox_report's codes.
 */
int sender_fail_now(struct sender *s, uint64_t delivery_id, const char *reason);

/*
 * sender_has - 1 when delivery `delivery_id` is in the sender (submitted and
 * not reported yet), else 0: a delivery handed over again while its job
 * runs need not be prepared a second time.
 */
int sender_has(const struct sender *s, uint64_t delivery_id);

/* sender_poll - reports the finished jobs; never blocks. Returns GW_OK. */
int sender_poll(struct sender *s);

/* sender_stats - a copy of the counters. */
void sender_stats(struct sender *s, struct sender_stats *st);

/*
 * sender_retry_after_ms - a Retry-After value (seconds, or an HTTP date)
 * in ms from now; -1 when it cannot be read. Any thread.
 */
int64_t sender_retry_after_ms(const char *value);

#endif

/*
 * meta_out.h - replies of the Meta connector: the `deliver` op's half of
 * the connector (meta_out.c) and the two senders it hands jobs to,
 * WhatsApp Cloud API (wa_send.c) and the Send API of Messenger and
 * Instagram (ms_send.c), all on the shared sender (connectors/sender.h).
 * Private to connectors/meta/. docs/channels/whatsapp.md, messenger.md and
 * instagram.md, "Replies", say what an operator sets up and sees.
 *
 *   deliver    decode the message.sent, pick the channel's credentials,
 *              apply the window rules (a refusal is reported failed at once,
 *              nothing sent), build the job, sender_submit()
 *   poll       sender_poll() on the service thread, when the sender woke it
 *   accounts   every (channel, account) a webhook named is announced to the
 *              router (outbox_serve) and kept in <state_dir>/sent/<instance>/
 *              accounts, so that replies to it find this connector also
 *              after either side restarted, before a new message comes
 *   echoes     the Messenger and Instagram replies in flight are kept
 *              (ms_echo.c), so that Meta's echo of one, which may come
 *              before the Send API's answer and, on Instagram, carries no
 *              metadata, becomes a "sent" status of the reply rather than
 *              a second message.sent
 *
 * Threading: meta_out_* run on the connector's service thread; the jobs'
 * ops on the sender's worker.
 */
#ifndef GW_META_OUT_H
#define GW_META_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "connectors/connector.h"
#include "connectors/meta/meta_parse.h"
#include "connectors/sender.h"
#include "proto/proto.h"

/* The 24-hour customer-service window of WhatsApp and Messenger, and
 * Messenger's 7 days for a human agent's answer (HUMAN_AGENT tag). */
#define META_WINDOW_MS (24LL * 3600 * 1000)
#define META_HUMAN_AGENT_MS (7LL * 24 * 3600 * 1000)

/* Parts of one reply at most: a text and its attachments. */
#define META_MAX_PARTS (1 + PROTO_MAX_ATTACHMENTS)

struct meta_out;

/* What building a job needs from the connector (all borrowed for the call). */
struct meta_send_ctx {
	const char *graph_url;  /* no trailing slash needed */
	const char *token;      /* the access token (secret): copied into the job */
	const char *attach_dir; /* <state_dir>/attachments: blobs "sha256:<hex>" */
	const char *account;    /* the phone_number_id, page or Instagram account */
	const char *reply_id;   /* the message.sent's external_id */
	int64_t made_at;        /* when the reply was made (its ts), ms */
	int human_agent;        /* Messenger: the HUMAN_AGENT tag may be used */
};

/* A stored blob a reply sends as a file (an upload, or a multipart part). */
struct meta_file {
	char *path; /* its file in the attachment store; NULL: none */
	char *type; /* its media type */
	char *name; /* its name, "file" when the attachment has none */
};

/*
 * meta_file_of - where attachment `a` of a reply comes from: an https://
 * URL Meta fetches itself (GW_OK, f->path NULL), or a blob of the store
 * under `attach_dir` (GW_OK, *f set: meta_file_clear). GW_EINVAL with
 * `why` when its ref is neither, or the blob is not in the store;
 * GW_ENOMEM.
 */
int meta_file_of(const char *attach_dir, const struct proto_attachment *a, struct meta_file *f,
		 char *why, size_t whylen);

/* meta_file_clear - frees what meta_file_of set; a zeroed one is fine. */
void meta_file_clear(struct meta_file *f);

/*
 * wa_job_new / ms_job_new - the job of one reply `m` (a decoded
 * message.sent, borrowed) for sender_submit with wa_send_ops / ms_send_ops.
 * Returns GW_OK (*job owned by the caller until submitted), GW_EINVAL with
 * `why` written when the reply cannot go out as it is (outside the window,
 * nothing to send, an attachment that is neither stored nor an https://
 * URL, template components that are not JSON): fail it at once, or
 * GW_ENOMEM.
 */
int wa_job_new(const struct meta_send_ctx *c, const struct proto_message *m, void **job,
	       char *why, size_t whylen);
int ms_job_new(const struct meta_send_ctx *c, const struct proto_message *m, void **job,
	       char *why, size_t whylen);
extern const struct sender_ops wa_send_ops;
extern const struct sender_ops ms_send_ops;

/*
 * meta_out_create - reads the tokens (access_token, page_tokens from the
 * environment), opens the sender (journal <state_dir>/sent/<instance>)
 * and announces the accounts kept from earlier runs. `wake` is called on
 * the sender's worker when jobs finished (httpd_wake). Sets inst->sender
 * and inst->replies_off. Returns GW_OK or the codes of sender_create().
 */
int meta_out_create(struct connector_instance *inst, void (*wake)(void *arg), void *wake_arg,
		    struct meta_out **out);

/* meta_out_destroy - stops the sender (jobs in flight are handed over
 * again by the router) and wipes the tokens; accepts NULL. */
void meta_out_destroy(struct meta_out *o);

/* meta_out_deliver - the deliver op (connector.h); its return codes. */
int meta_out_deliver(struct meta_out *o, const void *event, size_t len, uint64_t delivery_id);

/* meta_out_poll - reports the finished jobs (sender_poll). */
void meta_out_poll(struct meta_out *o);

/*
 * meta_out_echoes - turns each echo in `evs` (a message.sent of Messenger
 * or Instagram) that is a part of a reply in flight into that reply's
 * "sent" status, in place. Returns how many it turned.
 */
size_t meta_out_echoes(struct meta_out *o, struct meta_events *evs);

/*
 * The echoes of replies in flight (ms_echo.c), for meta_out.c:
 *   ms_echoes_create   *out owns the table; GW_OK or GW_ENOMEM
 *   ms_echoes_add      reply `m` (borrowed) of delivery `delivery_id` was
 *                      handed to the sender; GW_OK, GW_EINVAL (no
 *                      recipient or id), GW_ENOMEM (no digest)
 *   ms_echoes_sweep    forgets the replies out of sender `s` for a while
 *   ms_echoes_match    what meta_out_echoes does
 */
struct ms_echoes;
int ms_echoes_create(struct ms_echoes **out);
void ms_echoes_destroy(struct ms_echoes *es);
int ms_echoes_add(struct ms_echoes *es, uint64_t delivery_id, const struct proto_message *m);
void ms_echoes_sweep(struct ms_echoes *es, const struct sender *s, int64_t now_ms);
size_t ms_echoes_match(struct ms_echoes *es, struct meta_events *evs);

/* meta_out_seen - the (channel, account) of each event of a webhook body
 * queued: a new one is announced and kept (at most 64). */
void meta_out_seen(struct meta_out *o, const struct meta_events *evs);

#endif

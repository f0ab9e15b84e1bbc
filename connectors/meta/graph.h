/*
 * graph.h - the Graph API as the Meta reply senders (wa_send.c, ms_send.c)
 * use it: the bearer header, request set-up and the judgement of an
 * answer that did not take the reply. Private to connectors/meta/.
 *
 * Meta's error body (Graph API, WhatsApp Cloud API and Send API alike):
 *
 *   {"error": {"message": "(#131047) Re-engagement message",
 *              "type": "OAuthException", "code": 131047,
 *              "error_subcode": 2494010,
 *              "error_data": {"messaging_product": "whatsapp",
 *                             "details": "Message failed to send because ..."},
 *              "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}}
 *
 * The title is the message without its "(#code) " prefix. graph_judge()
 * sorts an answer by the codes Meta documents (docs/channels/whatsapp.md,
 * messenger.md, "Replies"):
 *   rate limits       4, 17, 32, 613, 80007, 130429, 131056: RETRY, every
 *                     job held (slow_down), at least Retry-After
 *   temporary         1, 2, 1200, 131000, 131016, 133004, HTTP 5xx without a
 *                     code, transfer errors and timeouts: RETRY
 *   credentials       190, 102, 10 (but its Messenger window subcode
 *                     2018278), 200-299: FAIL with auth set
 *   anything else     FAIL with "<code> <title>: <details>"
 *
 * Threading: every function is reentrant (the sender's worker calls them).
 */
#ifndef GW_META_GRAPH_H
#define GW_META_GRAPH_H

#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

#include "connectors/sender.h"

#define GRAPH_TITLE_MAX 160
#define GRAPH_DETAILS_MAX 320

/* Meta's error object, read from an answer's body. */
struct graph_error {
	long long code;     /* 0 when absent */
	long long subcode;  /* error_subcode, 0 when absent */
	char title[GRAPH_TITLE_MAX];     /* message without "(#code) ", "" when absent */
	char details[GRAPH_DETAILS_MAX]; /* error_data.details, "" when absent */
};

/* A request the job keeps until its classify returned (sender.h). */
struct graph_req {
	char *body;               /* JSON text, owned */
	struct curl_slist *hdr;   /* owned */
	curl_mime *mime;          /* owned: a multipart upload */
};

/*
 * graph_error_read - Meta's error object of `body` (NUL-terminated, as the
 * sender captures it) into `e`. Returns 1 when the body holds one, else 0
 * (e zeroed).
 */
int graph_error_read(const char *body, struct graph_error *e);

/*
 * graph_judge - fills `out` for an attempt that did not take the reply (a
 * transfer error, or an HTTP status outside 2xx), by the table above.
 * `what` names the step in the reason ("message", "media upload").
 */
void graph_judge(const struct sender_attempt *a, const char *what, struct sender_outcome *out);

/*
 * graph_answer - the 2xx answer's JSON object, or NULL when the body is not
 * one (the caller owns the reference).
 */
json_t *graph_answer(const struct sender_attempt *a);

/*
 * graph_bearer - "Authorization: Bearer <token>" into *out (malloc'ed; a
 * secret: free it with graph_secret_free). GW_OK, GW_ENOMEM.
 */
int graph_bearer(const char *token, char **out);

/* graph_secret_free - wipes and frees a secret string; accepts NULL. */
void graph_secret_free(char *s);

/*
 * graph_req_json - sets `h` up for POST `url` with the JSON `msg`
 * (borrowed; serialized into r->body) and the bearer header `auth`
 * (borrowed; copied into r->hdr). What an earlier attempt left in `r` is
 * freed first. 0 on success; non-zero with `why` written (memory).
 */
int graph_req_json(struct graph_req *r, CURL *h, const char *url, const char *auth,
		   const json_t *msg, char *why, size_t whylen);

/*
 * graph_req_mime - the same for a multipart POST: `r->mime` is made here
 * and the caller adds its parts to it after a 0 return; it is sent with
 * CURLOPT_MIMEPOST once graph_req_send_mime() is called.
 */
int graph_req_mime(struct graph_req *r, CURL *h, const char *url, const char *auth, char *why,
		   size_t whylen);
void graph_req_send_mime(struct graph_req *r, CURL *h);

/* graph_mime_text - adds the text field `name` = `value`; 0 or -1. */
int graph_mime_text(curl_mime *m, const char *name, const char *value);

/* graph_mime_file - adds the file field `name` from `path` with its media
 * type and file name; 0 or -1. */
int graph_mime_file(curl_mime *m, const char *name, const char *path, const char *type,
		    const char *filename);

/* graph_req_clear - frees what `r` holds; the struct may be reused. */
void graph_req_clear(struct graph_req *r);

#endif

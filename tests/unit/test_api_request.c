/*
 * test_api_request.c - the POST /v1/messages body parser: valid bodies become
 * the right event, and every invalid one is refused with the right code and
 * a message that names the field; the same for the status reports of
 * POST /v1/messages/{id}/status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "connectors/api/api_request.h"
#include "core/err.h"
#include "proto/proto.h"

static const struct api_request_meta meta = {"api", "acme", 1700000000123LL};

/* Parses a NUL-terminated body; the event is cleared again on success. */
static int parse_len(const char *body, size_t len, struct api_request_error *err)
{
	struct proto_event ev;
	int rc = api_request_parse(body, len, &meta, &ev, err);

	proto_event_clear(&ev);
	return rc;
}

static int parse(const char *body, struct api_request_error *err)
{
	return parse_len(body, strlen(body), err);
}

/* Asserts a refusal: return code, error code, and the message's start. */
#define assert_refused(body, want_rc, want_code, want_prefix)                        \
	do {                                                                         \
		struct api_request_error e_;                                         \
		assert_int_equal(parse((body), &e_), (want_rc));                     \
		assert_string_equal(e_.code, (want_code));                           \
		if (strncmp(e_.message, (want_prefix), strlen(want_prefix)) != 0)    \
			fail_msg("message \"%s\" does not start with \"%s\"",        \
				 e_.message, (want_prefix));                         \
	} while (0)

/* A body with `n` bytes of 'x' in place of the one "%s" of `tmpl` (spliced
 * by hand: the template is data, not a checked printf format). */
static char *body_with(const char *tmpl, size_t n)
{
	const char *at = strstr(tmpl, "%s");
	size_t head, tail;
	char *out;

	assert_non_null(at);
	head = (size_t)(at - tmpl);
	tail = strlen(at + 2);
	out = malloc(head + n + tail + 1);
	assert_non_null(out);
	memcpy(out, tmpl, head);
	memset(out + head, 'x', n);
	memcpy(out + head + n, at + 2, tail + 1);
	return out;
}

static void assert_refused_len(const char *fmt, size_t n, int want_rc, const char *want_code,
			       const char *want_prefix)
{
	char *body = body_with(fmt, n);

	assert_refused(body, want_rc, want_code, want_prefix);
	free(body);
}

static void assert_accepted_len(const char *fmt, size_t n)
{
	struct api_request_error err;
	char *body = body_with(fmt, n);
	int rc = parse(body, &err);

	if (rc != GW_OK)
		fail_msg("refused (%s: %s)", err.code, err.message);
	free(body);
}

static void test_minimal(void **state)
{
	const char *body = "{\"id\":\"m-1\",\"from\":{\"id\":\"+33612345678\"},\"text\":\"hi\"}";
	struct api_request_error err;
	struct proto_event ev;
	const struct proto_message *m = &ev.u.message;

	(void)state;
	assert_int_equal(api_request_parse(body, strlen(body), &meta, &ev, &err), GW_OK);
	assert_int_equal(ev.type, PROTO_T_MESSAGE_RECEIVED);
	assert_int_equal(ev.v, PROTO_VERSION);
	assert_non_null(ev.id);
	assert_int_equal(strlen(ev.id), 32);
	assert_string_equal(m->channel, "api");
	assert_string_equal(m->account, "acme");
	assert_string_equal(m->external_id, "m-1");
	assert_true(m->received_at == 1700000000123LL);
	assert_string_equal(m->from.address, "+33612345678");
	assert_null(m->from.name);
	assert_null(m->subject);
	assert_string_equal(m->text, "hi");
	assert_int_equal(m->attachments_len, 0);
	assert_int_equal(m->reply_to_len, 0);
	proto_event_clear(&ev);
}

static const char full_body[] =
	"{\"id\":\"ord-42\",\"from\":{\"id\":\"ann@example.com\",\"name\":\"Ann \\u00c9\"},"
	"\"subject\":\"Order 42\",\"text\":\"Where is \\\"it\\\"?\\n\","
	"\"attachments\":[{\"name\":\"a.png\",\"type\":\"image/png\",\"size\":1234,"
	"\"url\":\"https://files.example.com/a.png\"},{\"type\":\"application/pdf\"}],"
	"\"reply_to\":[\"ord-41\",\"ord-40\"]}";

static void assert_full(const struct proto_message *m)
{
	assert_string_equal(m->external_id, "ord-42");
	assert_string_equal(m->from.address, "ann@example.com");
	assert_string_equal(m->from.name, "Ann \xc3\x89");
	assert_string_equal(m->subject, "Order 42");
	assert_string_equal(m->text, "Where is \"it\"?\n");
	assert_int_equal(m->attachments_len, 2);
	assert_string_equal(m->attachments[0].name, "a.png");
	assert_string_equal(m->attachments[0].type, "image/png");
	assert_true(m->attachments[0].size == 1234);
	assert_string_equal(m->attachments[0].ref, "https://files.example.com/a.png");
	/* Absent name and url become "", absent size 0. */
	assert_string_equal(m->attachments[1].name, "");
	assert_string_equal(m->attachments[1].type, "application/pdf");
	assert_true(m->attachments[1].size == 0);
	assert_string_equal(m->attachments[1].ref, "");
	assert_int_equal(m->reply_to_len, 2);
	assert_string_equal(m->reply_to[0], "ord-41");
	assert_string_equal(m->reply_to[1], "ord-40");
}

/* Every field set; the event also survives an encode/decode round trip. */
static void test_full(void **state)
{
	struct api_request_error err;
	struct proto_error perr;
	struct proto_event ev, back;
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(api_request_parse(full_body, strlen(full_body), &meta, &ev, &err), GW_OK);
	assert_full(&ev.u.message);
	assert_int_equal(proto_encode(&ev, &buf, &len, &perr), GW_OK);
	assert_int_equal(proto_decode(buf, len, &back, &perr), GW_OK);
	assert_full(&back.u.message);
	assert_string_equal(back.id, ev.id);
	free(buf);
	proto_event_clear(&back);
	proto_event_clear(&ev);
}

static void test_optional_null_and_empty_text(void **state)
{
	struct api_request_error err;

	(void)state;
	/* null is the same as absent for optional fields. */
	assert_int_equal(parse("{\"id\":\"a\",\"from\":{\"id\":\"u\",\"name\":null},"
			       "\"subject\":null,\"text\":\"t\",\"attachments\":null,"
			       "\"reply_to\":null}", &err), GW_OK);
	/* Empty text is fine with an attachment ... */
	assert_int_equal(parse("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"\","
			       "\"attachments\":[{\"type\":\"image/png\",\"size\":0}]}", &err),
			 GW_OK);
	/* ... and not without one. */
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"\"}", GW_EINVAL,
		       API_ERR_VALUE, "text:");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"\",\"attachments\":[]}",
		       GW_EINVAL, API_ERR_VALUE, "text:");
}

static void test_malformed_json(void **state)
{
	struct api_request_error err;

	(void)state;
	assert_refused("", GW_EPROTO, API_ERR_INVALID_JSON, "body");
	assert_refused("{", GW_EPROTO, API_ERR_INVALID_JSON, "body");
	assert_refused("{\"id\":}", GW_EPROTO, API_ERR_INVALID_JSON, "body");
	assert_refused("{} trailing", GW_EPROTO, API_ERR_INVALID_JSON, "body");
	assert_refused("[1,2]", GW_EPROTO, API_ERR_INVALID_JSON, "body: must be a JSON object");
	assert_refused("\"text\"", GW_EPROTO, API_ERR_INVALID_JSON, "body");
	assert_refused("{\"id\":\"a\",\"id\":\"b\",\"from\":{\"id\":\"u\"},\"text\":\"t\"}",
		       GW_EPROTO, API_ERR_INVALID_JSON, "body");
	assert_int_equal(parse_len(NULL, 0, &err), GW_EPROTO);
	/* The message never quotes the body (jansson's "near '...'" is cut). */
	assert_int_equal(parse("{\"id\": s3cr3t-body}", &err), GW_EPROTO);
	assert_null(strstr(err.message, "s3cr3t"));
	assert_null(strstr(err.message, "near"));
}

static void test_wrong_types(void **state)
{
	(void)state;
	assert_refused("{\"id\":1,\"from\":{\"id\":\"u\"},\"text\":\"t\"}", GW_ETYPE, API_ERR_TYPE,
		       "id:");
	assert_refused("{\"id\":\"a\",\"from\":\"u\",\"text\":\"t\"}", GW_ETYPE, API_ERR_TYPE,
		       "from:");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":7},\"text\":\"t\"}", GW_ETYPE, API_ERR_TYPE,
		       "from.id:");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\",\"name\":true},\"text\":\"t\"}",
		       GW_ETYPE, API_ERR_TYPE, "from.name:");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":5}", GW_ETYPE, API_ERR_TYPE,
		       "text:");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"subject\":[]}",
		       GW_ETYPE, API_ERR_TYPE, "subject:");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"attachments\":{}}",
		       GW_ETYPE, API_ERR_TYPE, "attachments:");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"attachments\":[\"x\"]}",
		       GW_ETYPE, API_ERR_TYPE, "attachments[0]:");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"attachments\":"
		       "[{\"type\":\"a/b\",\"size\":\"12\"}]}", GW_ETYPE, API_ERR_TYPE,
		       "attachments[0].size:");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"attachments\":"
		       "[{\"type\":\"a/b\",\"size\":1.5}]}", GW_ETYPE, API_ERR_TYPE,
		       "attachments[0].size:");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"attachments\":"
		       "[{\"type\":\"a/b\",\"url\":3}]}", GW_ETYPE, API_ERR_TYPE,
		       "attachments[0].url:");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"reply_to\":\"x\"}",
		       GW_ETYPE, API_ERR_TYPE, "reply_to:");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"reply_to\":[\"x\",2]}",
		       GW_ETYPE, API_ERR_TYPE, "reply_to[1]:");
}

static void test_missing(void **state)
{
	(void)state;
	assert_refused("{\"from\":{\"id\":\"u\"},\"text\":\"t\"}", GW_EMISSING, API_ERR_MISSING,
		       "id:");
	assert_refused("{\"id\":\"a\",\"text\":\"t\"}", GW_EMISSING, API_ERR_MISSING, "from:");
	assert_refused("{\"id\":\"a\",\"from\":{\"name\":\"n\"},\"text\":\"t\"}", GW_EMISSING,
		       API_ERR_MISSING, "from.id:");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"}}", GW_EMISSING, API_ERR_MISSING,
		       "text:");
	assert_refused("{\"id\":null,\"from\":{\"id\":\"u\"},\"text\":\"t\"}", GW_ETYPE,
		       API_ERR_TYPE, "id:");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"attachments\":"
		       "[{\"name\":\"x\"}]}", GW_EMISSING, API_ERR_MISSING, "attachments[0].type:");
	assert_refused("{\"id\":\"\",\"from\":{\"id\":\"u\"},\"text\":\"t\"}", GW_EINVAL,
		       API_ERR_VALUE, "id:");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"\"},\"text\":\"t\"}", GW_EINVAL,
		       API_ERR_VALUE, "from.id:");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"reply_to\":[\"\"]}",
		       GW_EINVAL, API_ERR_VALUE, "reply_to[0]:");
}

static void test_lengths(void **state)
{
	(void)state;
	assert_accepted_len("{\"id\":\"%s\",\"from\":{\"id\":\"u\"},\"text\":\"t\"}",
			    PROTO_MAX_EXTERNAL_ID);
	assert_refused_len("{\"id\":\"%s\",\"from\":{\"id\":\"u\"},\"text\":\"t\"}",
			   PROTO_MAX_EXTERNAL_ID + 1, GW_ETOOBIG, API_ERR_TOO_LONG, "id:");
	assert_accepted_len("{\"id\":\"a\",\"from\":{\"id\":\"%s\"},\"text\":\"t\"}",
			    PROTO_MAX_ADDRESS);
	assert_refused_len("{\"id\":\"a\",\"from\":{\"id\":\"%s\"},\"text\":\"t\"}",
			   PROTO_MAX_ADDRESS + 1, GW_ETOOBIG, API_ERR_TOO_LONG, "from.id:");
	assert_refused_len("{\"id\":\"a\",\"from\":{\"id\":\"u\",\"name\":\"%s\"},\"text\":\"t\"}",
			   PROTO_MAX_NAME + 1, GW_ETOOBIG, API_ERR_TOO_LONG, "from.name:");
	assert_refused_len("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"subject\":\"%s\",\"text\":\"t\"}",
			   PROTO_MAX_SUBJECT + 1, GW_ETOOBIG, API_ERR_TOO_LONG, "subject:");
	assert_accepted_len("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"%s\"}", PROTO_MAX_TEXT);
	assert_refused_len("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"%s\"}",
			   PROTO_MAX_TEXT + 1, GW_ETOOBIG, API_ERR_TOO_LONG, "text:");
	assert_refused_len("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"attachments\":"
			   "[{\"type\":\"%s\"}]}", PROTO_MAX_MEDIA_TYPE + 1, GW_ETOOBIG,
			   API_ERR_TOO_LONG, "attachments[0].type:");
	assert_refused_len("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"attachments\":"
			   "[{\"type\":\"a/b\",\"url\":\"%s\"}]}", PROTO_MAX_REF + 1, GW_ETOOBIG,
			   API_ERR_TOO_LONG, "attachments[0].url:");
	assert_refused_len("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"attachments\":"
			   "[{\"type\":\"a/b\",\"name\":\"%s\"}]}", PROTO_MAX_NAME + 1, GW_ETOOBIG,
			   API_ERR_TOO_LONG, "attachments[0].name:");
	assert_refused_len("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"reply_to\":"
			   "[\"%s\"]}", PROTO_MAX_EXTERNAL_ID + 1, GW_ETOOBIG, API_ERR_TOO_LONG,
			   "reply_to[0]:");
}

/* `n` copies of `item` joined by commas inside a message body's `key` array. */
static char *body_with_array(const char *key, const char *item, size_t n)
{
	size_t cap = 128 + n * (strlen(item) + 1);
	char *out = malloc(cap);
	size_t off;

	assert_non_null(out);
	off = (size_t)snprintf(out, cap, "{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"%s\":[",
			       key);
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(out + off, cap - off, "%s%s", i ? "," : "", item);
	snprintf(out + off, cap - off, "]}");
	return out;
}

static void test_array_limits(void **state)
{
	static const char att[] = "{\"type\":\"text/plain\"}";
	struct api_request_error err;
	char *body;

	(void)state;
	body = body_with_array("attachments", att, PROTO_MAX_ATTACHMENTS);
	assert_int_equal(parse(body, &err), GW_OK);
	free(body);
	body = body_with_array("attachments", att, PROTO_MAX_ATTACHMENTS + 1);
	assert_refused(body, GW_ETOOBIG, API_ERR_TOO_LONG, "attachments:");
	free(body);
	body = body_with_array("reply_to", "\"r\"", PROTO_MAX_REPLY_TO);
	assert_int_equal(parse(body, &err), GW_OK);
	free(body);
	body = body_with_array("reply_to", "\"r\"", PROTO_MAX_REPLY_TO + 1);
	assert_refused(body, GW_ETOOBIG, API_ERR_TOO_LONG, "reply_to:");
	free(body);
}

static void test_sizes(void **state)
{
	struct api_request_error err;

	(void)state;
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"attachments\":"
		       "[{\"type\":\"a/b\",\"size\":-1}]}", GW_EINVAL, API_ERR_VALUE,
		       "attachments[0].size:");
	assert_int_equal(parse("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"attachments\":"
			       "[{\"type\":\"a/b\",\"size\":9007199254740993}]}", &err), GW_OK);
	/* Out of the 64-bit range: jansson refuses it while parsing. */
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"attachments\":"
		       "[{\"type\":\"a/b\",\"size\":99999999999999999999}]}", GW_EPROTO,
		       API_ERR_INVALID_JSON, "body");
}

static void test_bad_strings(void **state)
{
	static const char nul_inside[] = "{\"id\":\"a\0b\",\"from\":{\"id\":\"u\"},\"text\":\"t\"}";
	struct api_request_error err;

	(void)state;
	/* Invalid UTF-8, an escaped NUL, a raw NUL byte, a lone surrogate. */
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"\xff\xfe\"},\"text\":\"t\"}", GW_EPROTO,
		       API_ERR_INVALID_JSON, "body");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\\u0000x\"}", GW_EPROTO,
		       API_ERR_INVALID_JSON, "body");
	assert_int_equal(parse_len(nul_inside, sizeof(nul_inside) - 1, &err), GW_EPROTO);
	assert_string_equal(err.code, API_ERR_INVALID_JSON);
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"\\ud800\"}", GW_EPROTO,
		       API_ERR_INVALID_JSON, "body");
	/* Overlong encoding of '/'. */
	assert_refused("{\"id\":\"\xc0\xaf\",\"from\":{\"id\":\"u\"},\"text\":\"t\"}", GW_EPROTO,
		       API_ERR_INVALID_JSON, "body");
}

static void test_unknown_keys(void **state)
{
	(void)state;
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"channel\":\"x\"}",
		       GW_EINVAL, API_ERR_UNKNOWN, "channel: unknown field");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\",\"phone\":\"1\"},\"text\":\"t\"}",
		       GW_EINVAL, API_ERR_UNKNOWN, "from.phone: unknown field");
	assert_refused("{\"id\":\"a\",\"from\":{\"id\":\"u\"},\"text\":\"t\",\"attachments\":"
		       "[{\"type\":\"a/b\"},{\"type\":\"a/b\",\"data\":\"AA==\"}]}", GW_EINVAL,
		       API_ERR_UNKNOWN, "attachments[1].data: unknown field");
}

/* A hostile key name is cut in the message, which always stays bounded. */
static void test_long_unknown_key(void **state)
{
	struct api_request_error err;
	char *body = body_with("{\"%s\":1}", 5000);

	(void)state;
	assert_int_equal(parse(body, &err), GW_EINVAL);
	assert_string_equal(err.code, API_ERR_UNKNOWN);
	assert_true(strlen(err.message) < sizeof(err.message));
	free(body);
}

/* ---- POST /v1/messages/{id}/status ------------------------------------------ */

static int parse_status(const char *id, const char *body, struct proto_event *ev,
			struct api_request_error *err)
{
	return api_status_parse(body, strlen(body), id, &meta, ev, err);
}

#define assert_status_refused(id, body, want_rc, want_code, want_prefix)               \
	do {                                                                         \
		struct api_request_error e_;                                         \
		struct proto_event ev_;                                              \
		assert_int_equal(parse_status((id), (body), &ev_, &e_), (want_rc));  \
		assert_int_equal(ev_.type, PROTO_T_NONE);                            \
		assert_string_equal(e_.code, (want_code));                           \
		if (strncmp(e_.message, (want_prefix), strlen(want_prefix)) != 0)    \
			fail_msg("message \"%s\" does not start with \"%s\"",        \
				 e_.message, (want_prefix));                         \
	} while (0)

/* A report becomes message.status: ids, status, time, the reason as error. */
static void test_status_report(void **state)
{
	struct api_request_error err;
	struct proto_event ev;
	struct proto_status *s = &ev.u.status;

	(void)state;
	assert_int_equal(parse_status("reply-7-ab", "{\"status\":\"delivered\"}", &ev, &err),
			 GW_OK);
	assert_int_equal(ev.type, PROTO_T_MESSAGE_STATUS);
	assert_string_equal(s->channel, "api");
	assert_string_equal(s->account, "acme");
	assert_string_equal(s->external_id, "reply-7-ab");
	assert_string_equal(s->status_id, "reply-7-ab:delivered");
	assert_string_equal(s->status, "delivered");
	assert_int_equal(s->status_at, meta.received_at);
	assert_int_equal(s->errors_len, 0);
	proto_event_clear(&ev);

	assert_int_equal(parse_status("r-1", "{\"status\":\"failed\",\"reason\":\"phone off\","
					     "\"at\":1700000000999}", &ev, &err), GW_OK);
	assert_string_equal(s->status_id, "r-1:failed");
	assert_int_equal(s->status_at, 1700000000999LL);
	assert_int_equal(s->errors_len, 1);
	assert_string_equal(s->errors[0].title, "phone off");
	proto_event_clear(&ev);

	assert_int_equal(parse_status("r-1", "{\"status\":\"read\",\"reason\":null,"
					     "\"at\":null}", &ev, &err), GW_OK);
	assert_string_equal(s->status, "read");
	proto_event_clear(&ev);
}

static void test_status_refused(void **state)
{
	(void)state;
	assert_status_refused("r-1", "", GW_EPROTO, API_ERR_INVALID_JSON, "body is not");
	assert_status_refused("r-1", "[]", GW_EPROTO, API_ERR_INVALID_JSON, "body: must be");
	assert_status_refused("r-1", "{}", GW_EMISSING, API_ERR_MISSING, "status: required");
	assert_status_refused("r-1", "{\"status\":\"sent\"}", GW_EINVAL, API_ERR_VALUE,
			      "status: must be \"delivered\"");
	assert_status_refused("r-1", "{\"status\":7}", GW_ETYPE, API_ERR_TYPE,
			      "status: must be a string");
	assert_status_refused("r-1", "{\"status\":\"read\",\"reason\":\"x\"}", GW_EINVAL,
			      API_ERR_VALUE, "reason: only with status \"failed\"");
	assert_status_refused("r-1", "{\"status\":\"failed\",\"reason\":\"\"}", GW_EINVAL,
			      API_ERR_VALUE, "reason: must not be empty");
	assert_status_refused("r-1", "{\"status\":\"read\",\"at\":1700000000}", GW_EINVAL,
			      API_ERR_VALUE, "at: must be milliseconds");
	assert_status_refused("r-1", "{\"status\":\"read\",\"at\":\"now\"}", GW_ETYPE,
			      API_ERR_TYPE, "at: must be an integer");
	assert_status_refused("r-1", "{\"status\":\"read\",\"when\":1}", GW_EINVAL,
			      API_ERR_UNKNOWN, "when: unknown field");
	assert_status_refused("r-1", "{\"status\":\"read\",\"status\":\"read\"}", GW_EPROTO,
			      API_ERR_INVALID_JSON, "body is not");
}

/* The id of the path: 1..API_STATUS_ID_MAX bytes of UTF-8, and the
 * status id it makes stays within the event's bound. */
static void test_status_ids(void **state)
{
	char id[API_STATUS_ID_MAX + 2];
	struct api_request_error err;
	struct proto_event ev;

	(void)state;
	assert_status_refused("", "{\"status\":\"read\"}", GW_EINVAL, API_ERR_VALUE,
			      "id: must not be empty");
	assert_status_refused("a\xff", "{\"status\":\"read\"}", GW_EINVAL, API_ERR_VALUE,
			      "id: must be UTF-8");
	memset(id, 'x', API_STATUS_ID_MAX + 1);
	id[API_STATUS_ID_MAX + 1] = '\0';
	assert_status_refused(id, "{\"status\":\"read\"}", GW_ETOOBIG, API_ERR_TOO_LONG,
			      "id: longer than 246 bytes");
	assert_int_equal(api_status_id_check(id, &err), GW_ETOOBIG);
	id[API_STATUS_ID_MAX] = '\0';
	assert_int_equal(api_status_id_check(id, &err), GW_OK);
	assert_int_equal(parse_status(id, "{\"status\":\"delivered\"}", &ev, &err), GW_OK);
	assert_int_equal(strlen(ev.u.status.status_id), PROTO_MAX_EXTERNAL_ID);
	proto_event_clear(&ev);
	assert_int_equal(api_status_id_check("caf\xc3\xa9", &err), GW_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_optional_null_and_empty_text),
		cmocka_unit_test(test_malformed_json),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_array_limits),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_bad_strings),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_long_unknown_key),
		cmocka_unit_test(test_status_report),
		cmocka_unit_test(test_status_refused),
		cmocka_unit_test(test_status_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

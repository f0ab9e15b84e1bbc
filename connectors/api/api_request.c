/*
 * api_request.c - validates a POST /v1/messages body and turns it into a
 * message.received event (see api_request.h).
 *
 * Every check names the offending field with its JSON path so an integrator
 * can fix the request from the 400 answer alone.
 */
#include "connectors/api/api_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"

/* Longest JSON path we print in a message ("attachments[63].name"). */
#define API_PATH_MAX 48

/* Keys the API defines, per object. Anything else is refused. */
static const char *const top_keys[] = {"id", "from", "subject", "text", "attachments",
				       "reply_to", NULL};
static const char *const from_keys[] = {"id", "name", NULL};
static const char *const attachment_keys[] = {"name", "type", "size", "url", NULL};

/* A string field: where it lives, whether it must be there, its bounds. */
struct api_str_rule {
	const char *key;
	int required;
	size_t min; /* bytes */
	size_t max; /* bytes */
};

static int api_fail(struct api_request_error *err, const char *code, int rc,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int api_fail(struct api_request_error *err, const char *code, int rc,
		    const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return rc;
}

/* "from" + "id" -> "from.id"; a top-level key stays as it is. */
static void api_path(char *out, size_t outlen, const char *parent, const char *key)
{
	if (parent && parent[0])
		snprintf(out, outlen, "%s.%s", parent, key);
	else
		snprintf(out, outlen, "%s", key);
}

static int api_check_keys(const json_t *obj, const char *const *allowed, const char *parent,
			  struct api_request_error *err)
{
	const char *key;
	json_t *value;

	json_object_foreach((json_t *)obj, key, value) {
		size_t i = 0;

		(void)value;
		while (allowed[i] && strcmp(allowed[i], key) != 0)
			i++;
		if (!allowed[i]) {
			char path[API_PATH_MAX + 72];

			/* The key comes from the client: print a bounded prefix. */
			if (parent && parent[0])
				snprintf(path, sizeof(path), "%s.%.64s", parent, key);
			else
				snprintf(path, sizeof(path), "%.64s", key);
			return api_fail(err, API_ERR_UNKNOWN, GW_EINVAL,
					"%s: unknown field", path);
		}
	}
	return GW_OK;
}

/* api_string_fail - the error for v = obj[rule->key], which failed a check
 * of api_get_string. The path is formatted here only: most fields are fine. */
static int api_string_fail(const json_t *v, const char *parent, const struct api_str_rule *rule,
			   struct api_request_error *err)
{
	char path[API_PATH_MAX];
	size_t len = json_string_length(v);

	api_path(path, sizeof(path), parent, rule->key);
	if (!v)
		return api_fail(err, API_ERR_MISSING, GW_EMISSING, "%s: required", path);
	if (!json_is_string(v))
		return api_fail(err, API_ERR_TYPE, GW_ETYPE, "%s: must be a string", path);
	if (len > rule->max)
		return api_fail(err, API_ERR_TOO_LONG, GW_ETOOBIG,
				"%s: longer than %zu bytes", path, rule->max);
	return api_fail(err, API_ERR_VALUE, GW_EINVAL, "%s: must not be empty", path);
}

/*
 * api_get_string - copies obj[rule->key] into *out (malloc'ed, caller frees).
 * An absent optional field, or one set to null, leaves *out NULL.
 */
static int api_get_string(const json_t *obj, const char *parent, const struct api_str_rule *rule,
			  char **out, struct api_request_error *err)
{
	const json_t *v = json_object_get(obj, rule->key);
	size_t len = json_string_length(v); /* 0 unless a string */

	*out = NULL;
	if ((!v || json_is_null(v)) && !rule->required)
		return GW_OK;
	if (!v || !json_is_string(v) || len > rule->max || len < rule->min)
		return api_string_fail(v, parent, rule, err);
	/* jansson refuses NUL without JSON_ALLOW_NUL, so len == strlen. */
	*out = strdup(json_string_value(v));
	if (!*out)
		return api_fail(err, API_ERR_INTERNAL, GW_ENOMEM, "out of memory");
	return GW_OK;
}

/* An optional member that must be `want` when present (null = absent). */
static const json_t *api_get_typed(const json_t *obj, const char *key, json_type want,
				   const char *what, int *rc, struct api_request_error *err)
{
	const json_t *v = json_object_get(obj, key);

	*rc = GW_OK;
	if (!v || json_is_null(v))
		return NULL;
	if (json_typeof(v) != want) {
		*rc = api_fail(err, API_ERR_TYPE, GW_ETYPE, "%s: must be %s", key, what);
		return NULL;
	}
	return v;
}

static int api_parse_from(const json_t *root, struct proto_party *from,
			  struct api_request_error *err)
{
	static const struct api_str_rule id_rule = {"id", 1, 1, PROTO_MAX_ADDRESS};
	static const struct api_str_rule name_rule = {"name", 0, 0, PROTO_MAX_NAME};
	const json_t *obj = json_object_get(root, "from");
	int rc;

	if (!obj)
		return api_fail(err, API_ERR_MISSING, GW_EMISSING, "from: required");
	if (!json_is_object(obj))
		return api_fail(err, API_ERR_TYPE, GW_ETYPE, "from: must be an object");
	rc = api_check_keys(obj, from_keys, "from", err);
	if (rc == GW_OK)
		rc = api_get_string(obj, "from", &id_rule, &from->address, err);
	if (rc == GW_OK)
		rc = api_get_string(obj, "from", &name_rule, &from->name, err);
	return rc;
}

static int api_parse_size(const json_t *obj, const char *parent, uint64_t *size,
			  struct api_request_error *err)
{
	const json_t *v = json_object_get(obj, "size");

	*size = 0;
	if (!v || json_is_null(v))
		return GW_OK;
	if (!json_is_integer(v))
		return api_fail(err, API_ERR_TYPE, GW_ETYPE, "%s.size: must be an integer", parent);
	if (json_integer_value(v) < 0)
		return api_fail(err, API_ERR_VALUE, GW_EINVAL, "%s.size: must not be negative",
				parent);
	*size = (uint64_t)json_integer_value(v);
	return GW_OK;
}

static int api_parse_attachment(const json_t *obj, size_t idx, struct proto_attachment *a,
				struct api_request_error *err)
{
	static const struct api_str_rule name_rule = {"name", 0, 0, PROTO_MAX_NAME};
	static const struct api_str_rule type_rule = {"type", 1, 1, PROTO_MAX_MEDIA_TYPE};
	static const struct api_str_rule url_rule = {"url", 0, 0, PROTO_MAX_REF};
	char parent[API_PATH_MAX];
	int rc;

	snprintf(parent, sizeof(parent), "attachments[%zu]", idx);
	if (!json_is_object(obj))
		return api_fail(err, API_ERR_TYPE, GW_ETYPE, "%s: must be an object", parent);
	rc = api_check_keys(obj, attachment_keys, parent, err);
	if (rc == GW_OK)
		rc = api_get_string(obj, parent, &name_rule, &a->name, err);
	if (rc == GW_OK)
		rc = api_get_string(obj, parent, &type_rule, &a->type, err);
	if (rc == GW_OK)
		rc = api_get_string(obj, parent, &url_rule, &a->ref, err);
	if (rc == GW_OK)
		rc = api_parse_size(obj, parent, &a->size, err);
	/* The event requires name and ref; absent means "" (not given). */
	if (rc == GW_OK && !a->name)
		a->name = strdup("");
	if (rc == GW_OK && !a->ref)
		a->ref = strdup("");
	if (rc == GW_OK && (!a->name || !a->ref))
		rc = api_fail(err, API_ERR_INTERNAL, GW_ENOMEM, "out of memory");
	return rc;
}

static int api_parse_attachments(const json_t *root, struct proto_message *m,
				 struct api_request_error *err)
{
	const json_t *arr;
	size_t n;
	int rc;

	arr = api_get_typed(root, "attachments", JSON_ARRAY, "an array", &rc, err);
	if (!arr)
		return rc;
	n = json_array_size(arr);
	if (n > PROTO_MAX_ATTACHMENTS)
		return api_fail(err, API_ERR_TOO_LONG, GW_ETOOBIG,
				"attachments: more than %u entries", PROTO_MAX_ATTACHMENTS);
	if (n == 0)
		return GW_OK;
	m->attachments = calloc(n, sizeof(*m->attachments));
	if (!m->attachments)
		return api_fail(err, API_ERR_INTERNAL, GW_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		/* Counted first so a failure half-way frees what was filled. */
		m->attachments_len = i + 1;
		rc = api_parse_attachment(json_array_get(arr, i), i, &m->attachments[i], err);
		if (rc != GW_OK)
			return rc;
	}
	return GW_OK;
}

static int api_parse_reply_to(const json_t *root, struct proto_message *m,
			      struct api_request_error *err)
{
	const json_t *arr;
	size_t n;
	int rc;

	arr = api_get_typed(root, "reply_to", JSON_ARRAY, "an array of strings", &rc, err);
	if (!arr)
		return rc;
	n = json_array_size(arr);
	if (n > PROTO_MAX_REPLY_TO)
		return api_fail(err, API_ERR_TOO_LONG, GW_ETOOBIG,
				"reply_to: more than %u entries", PROTO_MAX_REPLY_TO);
	if (n == 0)
		return GW_OK;
	m->reply_to = calloc(n, sizeof(*m->reply_to));
	if (!m->reply_to)
		return api_fail(err, API_ERR_INTERNAL, GW_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(arr, i);
		size_t len;

		if (!json_is_string(v))
			return api_fail(err, API_ERR_TYPE, GW_ETYPE,
					"reply_to[%zu]: must be a string", i);
		len = json_string_length(v);
		if (len == 0)
			return api_fail(err, API_ERR_VALUE, GW_EINVAL,
					"reply_to[%zu]: must not be empty", i);
		if (len > PROTO_MAX_EXTERNAL_ID)
			return api_fail(err, API_ERR_TOO_LONG, GW_ETOOBIG,
					"reply_to[%zu]: longer than %u bytes", i,
					PROTO_MAX_EXTERNAL_ID);
		m->reply_to[i] = strdup(json_string_value(v));
		if (!m->reply_to[i])
			return api_fail(err, API_ERR_INTERNAL, GW_ENOMEM, "out of memory");
		m->reply_to_len = i + 1;
	}
	return GW_OK;
}

/* api_parse_text - subject and text; the text at most `max_text` bytes
 * (0 or over PROTO_MAX_TEXT: PROTO_MAX_TEXT). */
static int api_parse_text(const json_t *root, size_t max_text, struct proto_message *m,
			  struct api_request_error *err)
{
	static const struct api_str_rule subject_rule = {"subject", 0, 0, PROTO_MAX_SUBJECT};
	struct api_str_rule text_rule = {"text", 1, 0, PROTO_MAX_TEXT};
	int rc;

	if (max_text && max_text < PROTO_MAX_TEXT)
		text_rule.max = max_text;

	rc = api_get_string(root, NULL, &subject_rule, &m->subject, err);
	if (rc == GW_OK)
		rc = api_get_string(root, NULL, &text_rule, &m->text, err);
	/* A message must carry something: words, files, or both. */
	if (rc == GW_OK && m->text[0] == '\0' && m->attachments_len == 0)
		rc = api_fail(err, API_ERR_VALUE, GW_EINVAL,
			      "text: must not be empty when there are no attachments");
	return rc;
}

/* Fills the message body of `ev` from the validated JSON object `root`. */
static int api_fill(const json_t *root, const struct api_request_meta *meta,
		    struct proto_message *m, struct api_request_error *err)
{
	static const struct api_str_rule id_rule = {"id", 1, 1, PROTO_MAX_EXTERNAL_ID};
	int rc;

	rc = api_check_keys(root, top_keys, NULL, err);
	if (rc == GW_OK)
		rc = api_get_string(root, NULL, &id_rule, &m->external_id, err);
	if (rc == GW_OK)
		rc = api_parse_from(root, &m->from, err);
	if (rc == GW_OK)
		rc = api_parse_attachments(root, m, err);
	if (rc == GW_OK)
		rc = api_parse_reply_to(root, m, err);
	if (rc == GW_OK)
		rc = api_parse_text(root, meta->max_text, m, err);
	if (rc != GW_OK)
		return rc;
	m->channel = strdup(meta->channel);
	m->account = strdup(meta->account);
	m->received_at = meta->received_at;
	if (!m->channel || !m->account)
		return api_fail(err, API_ERR_INTERNAL, GW_ENOMEM, "out of memory");
	return GW_OK;
}

/*
 * jansson's text ends with "near '<token>'", a piece of the body; it is cut
 * off so that the message (which is also logged) never quotes the body.
 */
static int api_json_error(const json_error_t *jerr, struct api_request_error *err)
{
	char text[JSON_ERROR_TEXT_LENGTH];
	char *near;

	snprintf(text, sizeof(text), "%s", jerr->text);
	near = strstr(text, " near ");
	if (near)
		*near = '\0';
	return api_fail(err, API_ERR_INVALID_JSON, GW_EPROTO,
			"body is not a valid JSON object: %s (line %d, column %d)", text,
			jerr->line, jerr->column);
}

/*
 * api_load_object - the body as a JSON object into *root (caller decrefs).
 * The body is bounded by max_body_bytes before it gets here, and jansson
 * bounds nesting (JSON_PARSER_MAX_DEPTH), so parsing is bounded in memory
 * and stack. Without JSON_DECODE_ANY only an object or an array is
 * accepted at the top.
 */
static int api_load_object(const char *body, size_t len, json_t **root,
			   struct api_request_error *err)
{
	json_error_t jerr;

	err->code = NULL;
	err->message[0] = '\0';
	*root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*root)
		return api_json_error(&jerr, err);
	if (!json_is_object(*root))
		return api_fail(err, API_ERR_INVALID_JSON, GW_EPROTO, "body: must be a JSON object");
	return GW_OK;
}

int api_request_parse(const char *body, size_t len, const struct api_request_meta *meta,
		      struct proto_event *ev, struct api_request_error *err)
{
	json_t *root = NULL;
	int rc;

	memset(ev, 0, sizeof(*ev));
	rc = api_load_object(body, len, &root, err);
	if (rc != GW_OK)
		goto out;
	rc = proto_event_init(ev, PROTO_T_MESSAGE_RECEIVED);
	if (rc != GW_OK) {
		api_fail(err, API_ERR_INTERNAL, rc, "cannot create the event: %s", gw_strerror(rc));
		goto out;
	}
	rc = api_fill(root, meta, &ev->u.message, err);
out:
	if (rc != GW_OK)
		proto_event_clear(ev);
	json_decref(root);
	return rc;
}

/* ---- status reports ------------------------------------------------------- */

static const char *const status_keys[] = {"status", "reason", "at", NULL};
static const char *const status_values[] = {"delivered", "read", "failed", NULL};

/* Earliest "at": 2001-09-09 in ms; a smaller number is seconds by mistake. */
#define API_STATUS_AT_MIN 1000000000000LL

int api_status_id_check(const char *id, struct api_request_error *err)
{
	size_t len = strlen(id);
	json_t *s;

	err->code = NULL;
	err->message[0] = '\0';
	if (len == 0)
		return api_fail(err, API_ERR_VALUE, GW_EINVAL, "id: must not be empty");
	if (len > API_STATUS_ID_MAX)
		return api_fail(err, API_ERR_TOO_LONG, GW_ETOOBIG, "id: longer than %u bytes",
				(unsigned)API_STATUS_ID_MAX);
	/* jansson refuses a string that is not UTF-8. */
	s = json_stringn(id, len);
	json_decref(s);
	return s ? GW_OK : api_fail(err, API_ERR_VALUE, GW_EINVAL, "id: must be UTF-8");
}

static int api_status_value(const char *status, struct api_request_error *err)
{
	for (size_t i = 0; status_values[i]; i++)
		if (strcmp(status, status_values[i]) == 0)
			return GW_OK;
	return api_fail(err, API_ERR_VALUE, GW_EINVAL,
			"status: must be \"delivered\", \"read\" or \"failed\"");
}

static int api_status_at(const json_t *root, int64_t now, int64_t *at,
			 struct api_request_error *err)
{
	const json_t *v = json_object_get(root, "at");

	*at = now;
	if (!v || json_is_null(v))
		return GW_OK;
	if (!json_is_integer(v))
		return api_fail(err, API_ERR_TYPE, GW_ETYPE, "at: must be an integer (ms)");
	if (json_integer_value(v) < API_STATUS_AT_MIN)
		return api_fail(err, API_ERR_VALUE, GW_EINVAL,
				"at: must be milliseconds since the epoch (this is too small)");
	*at = (int64_t)json_integer_value(v);
	return GW_OK;
}

/* api_status_reason - "reason", only with "failed", as the one error. */
static int api_status_reason(const json_t *root, struct proto_status *s,
			     struct api_request_error *err)
{
	static const struct api_str_rule reason_rule = {"reason", 0, 1, PROTO_MAX_SHORT};
	char *reason = NULL;
	int rc = api_get_string(root, NULL, &reason_rule, &reason, err);

	if (rc != GW_OK || !reason)
		return rc;
	if (strcmp(s->status, "failed") != 0) {
		free(reason);
		return api_fail(err, API_ERR_VALUE, GW_EINVAL, "reason: only with status \"failed\"");
	}
	s->errors = calloc(1, sizeof(*s->errors));
	if (!s->errors) {
		free(reason);
		return api_fail(err, API_ERR_INTERNAL, GW_ENOMEM, "out of memory");
	}
	s->errors[0].title = reason;
	s->errors_len = 1;
	return GW_OK;
}

/* api_status_ids - channel, account, external_id and status_id. */
static int api_status_ids(struct proto_status *s, const char *id,
			  const struct api_request_meta *meta, struct api_request_error *err)
{
	char sid[PROTO_MAX_EXTERNAL_ID + 1];
	int n = snprintf(sid, sizeof(sid), "%s:%s", id, s->status);

	if (n < 0 || (size_t)n >= sizeof(sid))
		return api_fail(err, API_ERR_TOO_LONG, GW_ETOOBIG, "id: longer than %u bytes",
				(unsigned)API_STATUS_ID_MAX);
	s->channel = strdup(meta->channel);
	s->account = strdup(meta->account);
	s->external_id = strdup(id);
	s->status_id = strdup(sid);
	if (!s->channel || !s->account || !s->external_id || !s->status_id)
		return api_fail(err, API_ERR_INTERNAL, GW_ENOMEM, "out of memory");
	return GW_OK;
}

static int api_status_fill(const json_t *root, const char *id,
			   const struct api_request_meta *meta, struct proto_status *s,
			   struct api_request_error *err)
{
	static const struct api_str_rule status_rule = {"status", 1, 1, PROTO_MAX_STATUS};
	int rc;

	rc = api_check_keys(root, status_keys, NULL, err);
	if (rc == GW_OK)
		rc = api_get_string(root, NULL, &status_rule, &s->status, err);
	if (rc == GW_OK)
		rc = api_status_value(s->status, err);
	if (rc == GW_OK)
		rc = api_status_reason(root, s, err);
	if (rc == GW_OK)
		rc = api_status_at(root, meta->received_at, &s->status_at, err);
	if (rc == GW_OK)
		rc = api_status_ids(s, id, meta, err);
	return rc;
}

int api_status_parse(const char *body, size_t len, const char *id,
		     const struct api_request_meta *meta, struct proto_event *ev,
		     struct api_request_error *err)
{
	json_t *root = NULL;
	int rc;

	memset(ev, 0, sizeof(*ev));
	rc = api_status_id_check(id, err);
	if (rc == GW_OK)
		rc = api_load_object(body, len, &root, err);
	if (rc != GW_OK)
		goto out;
	rc = proto_event_init(ev, PROTO_T_MESSAGE_STATUS);
	if (rc != GW_OK) {
		api_fail(err, API_ERR_INTERNAL, rc, "cannot create the event: %s", gw_strerror(rc));
		goto out;
	}
	rc = api_status_fill(root, id, meta, &ev->u.status, err);
out:
	if (rc != GW_OK)
		proto_event_clear(ev);
	json_decref(root);
	return rc;
}

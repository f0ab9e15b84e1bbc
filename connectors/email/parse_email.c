/*
 * parse_email.c - main() of gateway-parse-email FILE..., which `gatewayctl
 * parse-email FILE...` runs (so that gatewayctl itself links no GMime):
 * what the email connector would make of message files (RFC 5322, e.g.
 * saved from a mail client as .eml), without a running gateway. For one
 * file, prints one JSON object:
 *   {"verdict": "ingest", "event": {...}}          exit 0
 *   {"verdict": "quarantine"|"ignore_own", "reason": "..."}   exit 1
 * and exits 2 when the file cannot be read. For several files, one object
 * per line in the order given, each with its "file" first, {"file": F,
 * "error": "..."} for a file that cannot be read or parsed; the exit code
 * is the highest of the files' (so 0 when every one would be ingested).
 * Attachments are hashed but not stored, and no address counts as the
 * gateway's own. Messages on stderr start with "gatewayctl:", the command
 * the user typed.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "connectors/email/email_parse.h"
#include "core/err.h"
#include "core/util.h"

#define PE_EXIT_OK 0
#define PE_EXIT_ERROR 1
#define PE_EXIT_UNREADABLE 2
#define PE_EXIT_USAGE 64 /* EX_USAGE */
/* Limits for the check: generous, so that only absurd files are refused. */
#define PE_MAX_MESSAGE (64u * 1024u * 1024u)
#define PE_MAX_ATTACHMENT (64u * 1024u * 1024u)

static const char *verdict_name(enum email_verdict v)
{
	switch (v) {
	case EMAIL_INGEST: return "ingest";
	case EMAIL_IGNORE_OWN: return "ignore_own";
	default: return "quarantine";
	}
}

/* Prints `o` (consumed): indented alone, on one line after others. */
static int print_object(json_t *o, int batch)
{
	char *text = o ? json_dumps(o, batch ? JSON_COMPACT | JSON_PRESERVE_ORDER
					      : JSON_INDENT(2) | JSON_PRESERVE_ORDER)
		       : NULL;

	json_decref(o);
	if (!text) {
		fprintf(stderr, "gatewayctl: %s\n", gw_strerror(GW_ENOMEM));
		return GW_ENOMEM;
	}
	printf("%s\n", text);
	free(text);
	return GW_OK;
}

/* A new object with "file" first when several files are read. */
static json_t *result_object(const char *file, int batch)
{
	json_t *o = json_object();

	if (o && batch)
		json_object_set_new(o, "file", json_string(file));
	return o;
}

/* Prints the verdict object; returns the exit code. */
static int print_result(const char *file, int batch, const struct email_result *res)
{
	json_t *o = result_object(file, batch);
	int rc = res->verdict == EMAIL_INGEST ? PE_EXIT_OK : PE_EXIT_ERROR;

	if (o) {
		json_object_set_new(o, "verdict", json_string(verdict_name(res->verdict)));
		if (res->verdict == EMAIL_INGEST)
			json_object_set_new(o, "event", proto_to_json(&res->ev));
		else
			json_object_set_new(o, "reason", json_string(res->reason));
	}
	if (print_object(o, batch) != GW_OK)
		return PE_EXIT_ERROR;
	if (res->verdict != EMAIL_INGEST)
		fprintf(stderr, "gatewayctl: %s%s%s: %s\n", batch ? file : "", batch ? ": " : "",
			verdict_name(res->verdict), res->reason);
	return rc;
}

/* A file that could not be read or parsed: on stderr, and in the output
 * when several files are read. Returns `code`. */
static int print_error(const char *file, int batch, int err, int code)
{
	fprintf(stderr, "gatewayctl: %s: %s\n", file, gw_strerror(err));
	if (batch) {
		json_t *o = result_object(file, batch);

		if (o)
			json_object_set_new(o, "error", json_string(gw_strerror(err)));
		print_object(o, batch);
	}
	return code;
}

static int parse_email(const char *file, int batch)
{
	struct email_parse_options opt = {
		.account = "gatewayctl",
		.received_at = gw_now_ms(),
		.max_attachment_bytes = PE_MAX_ATTACHMENT,
		.max_message_bytes = PE_MAX_MESSAGE,
	};
	struct email_result res = {0};
	char *raw = NULL;
	size_t len = 0;
	int rc = gw_read_file(file, PE_MAX_MESSAGE, &raw, &len);

	if (rc == GW_ETOOBIG) {
		res.verdict = EMAIL_QUARANTINE;
		snprintf(res.reason, sizeof(res.reason), "message is over the %u-byte limit",
			 PE_MAX_MESSAGE);
		return print_result(file, batch, &res);
	}
	if (rc != GW_OK)
		return print_error(file, batch, rc, PE_EXIT_UNREADABLE);
	rc = email_parse(raw, len, &opt, &res);
	free(raw);
	if (rc != GW_OK)
		return print_error(file, batch, rc, PE_EXIT_ERROR);
	rc = print_result(file, batch, &res);
	email_result_clear(&res);
	return rc;
}

int main(int argc, char **argv)
{
	int worst = PE_EXIT_OK;

	if (argc < 2) {
		fprintf(stderr, "usage: gateway-parse-email FILE...\n");
		return PE_EXIT_USAGE;
	}
	email_parse_init();
	for (int i = 1; i < argc; i++) {
		int rc = parse_email(argv[i], argc > 2);

		if (rc > worst)
			worst = rc;
	}
	return worst;
}

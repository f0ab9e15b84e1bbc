/*
 * parse_email.c - main() of gateway-parse-email FILE, which `gatewayctl
 * parse-email FILE` runs (so that gatewayctl itself links no GMime): what
 * the email connector would make of one message file (RFC 5322, e.g. saved
 * from a mail client as .eml), without a running gateway. Prints one JSON
 * object:
 *   {"verdict": "ingest", "event": {...}}          exit 0
 *   {"verdict": "quarantine"|"ignore_own", "reason": "..."}   exit 1
 * and exits 2 when the file cannot be read. Attachments are hashed but not
 * stored, and no address counts as the gateway's own. Messages on stderr
 * start with "gatewayctl:", the command the user typed.
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

/* Prints the verdict object; returns the exit code. */
static int print_result(const struct email_result *res)
{
	json_t *o = json_object();
	char *text = NULL;
	int rc = res->verdict == EMAIL_INGEST ? PE_EXIT_OK : PE_EXIT_ERROR;

	if (!o)
		goto nomem;
	json_object_set_new(o, "verdict", json_string(verdict_name(res->verdict)));
	if (res->verdict == EMAIL_INGEST)
		json_object_set_new(o, "event", proto_to_json(&res->ev));
	else
		json_object_set_new(o, "reason", json_string(res->reason));
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		goto nomem;
	printf("%s\n", text);
	free(text);
	if (res->verdict != EMAIL_INGEST)
		fprintf(stderr, "gatewayctl: %s: %s\n", verdict_name(res->verdict), res->reason);
	return rc;
nomem:
	fprintf(stderr, "gatewayctl: %s\n", gw_strerror(GW_ENOMEM));
	return PE_EXIT_ERROR;
}

static int parse_email(const char *file)
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
		return print_result(&res);
	}
	if (rc != GW_OK) {
		fprintf(stderr, "gatewayctl: %s: %s\n", file, gw_strerror(rc));
		return PE_EXIT_UNREADABLE;
	}
	email_parse_init();
	rc = email_parse(raw, len, &opt, &res);
	free(raw);
	if (rc != GW_OK) {
		fprintf(stderr, "gatewayctl: %s: %s\n", file, gw_strerror(rc));
		return PE_EXIT_ERROR;
	}
	rc = print_result(&res);
	email_result_clear(&res);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gateway-parse-email FILE\n");
		return PE_EXIT_USAGE;
	}
	return parse_email(argv[1]);
}

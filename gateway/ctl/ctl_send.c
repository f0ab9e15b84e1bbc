/*
 * ctl_send.c - `gatewayctl send TICKET [TEXT]`: a reply to the customer of a
 * ticket through the router's message.send command. The command id makes a
 * retry safe: the same id again returns the first result and sends nothing
 * twice. Without --command-id a random one is made and printed, so that a
 * caller that timed out can ask again with it.
 *
 *   --template NAME --lang L [--param P]...   a provider template (WhatsApp)
 *   --template NAME [--var K=V]...            a canned response of the config
 *                                             (automation.templates), rendered
 *                                             by the router: {canned, vars}
 *   --attach FILE...                          files stored content-addressed
 *                                             in <state_dir>/attachments and
 *                                             sent as "sha256:<hex>" refs
 *   --subject S                               instead of the ticket's
 *   --agent ID [--force]                      the agent replying: refused on a
 *                                             ticket assigned to another agent
 *                                             unless --force (agent collision)
 *   --wait                                    wait for the delivery's first
 *                                             outcome (sent, delivered, read or
 *                                             failed) from the event log; exit 1
 *                                             on failed, with its reason
 */
#include "gateway/ctl/ctl.h"

#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/err.h"
#include "core/util.h"
#include "proto/wire.h"
#include "store/attachments.h"

#define SEND_ATTACH_MAX_BYTES (100LL * 1024 * 1024) /* one --attach file */
#define SEND_WAIT_POLL_MS 200
#define SEND_WAIT_REPLAY 1000 /* events asked for per replay while waiting */

static void pack_str(msgpack_packer *pk, const char *key, const char *val)
{
	msgpack_pack_str_with_body(pk, key, strlen(key));
	msgpack_pack_str_with_body(pk, val, strlen(val));
}

/* pack_template - {name, language, params}. */
static void pack_template(msgpack_packer *pk, const struct ctl *ctl)
{
	msgpack_pack_str_with_body(pk, "template", 8);
	msgpack_pack_map(pk, 2 + !!ctl->n_params);
	pack_str(pk, "name", ctl->tmpl_name);
	pack_str(pk, "language", ctl->tmpl_lang);
	if (!ctl->n_params)
		return;
	msgpack_pack_str_with_body(pk, "params", 6);
	msgpack_pack_array(pk, ctl->n_params);
	for (size_t i = 0; i < ctl->n_params; i++)
		msgpack_pack_str_with_body(pk, ctl->params[i], strlen(ctl->params[i]));
}

/* pack_canned - canned: NAME, and vars: {K: V} of the --var options. */
static void pack_canned(msgpack_packer *pk, const struct ctl *ctl)
{
	pack_str(pk, "canned", ctl->tmpl_name);
	if (!ctl->n_vars)
		return;
	msgpack_pack_str_with_body(pk, "vars", 4);
	msgpack_pack_map(pk, ctl->n_vars);
	for (size_t i = 0; i < ctl->n_vars; i++) {
		const char *eq = strchr(ctl->vars[i], '=');

		msgpack_pack_str_with_body(pk, ctl->vars[i], (size_t)(eq - ctl->vars[i]));
		msgpack_pack_str_with_body(pk, eq + 1, strlen(eq + 1));
	}
}

/* One stored --attach file. */
struct send_file {
	char ref[sizeof(ATTACH_REF_PREFIX) + ATTACH_HEX_LEN];
	const char *name; /* base name, borrowed from argv */
	const char *type;
	long long size;
};

/* pack_attachments - [{name, type, size, ref}]. */
static void pack_attachments(msgpack_packer *pk, const struct send_file *f, size_t n)
{
	msgpack_pack_str_with_body(pk, "attachments", 11);
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++) {
		msgpack_pack_map(pk, 4);
		pack_str(pk, "name", f[i].name);
		pack_str(pk, "type", f[i].type);
		msgpack_pack_str_with_body(pk, "size", 4);
		msgpack_pack_uint64(pk, (uint64_t)f[i].size);
		pack_str(pk, "ref", f[i].ref);
	}
}

/* pack_send - the message.send arguments into `sb`. */
static void pack_send(const struct ctl *ctl, const char *command_id, const struct send_file *f,
		      msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2 + !!ctl->text + !!ctl->channel + !!ctl->author + !!ctl->subject +
				      !!ctl->tmpl_name + !!(ctl->n_vars && !ctl->tmpl_lang) +
				      !!ctl->n_attach + !!ctl->agent + !!ctl->force);
	pack_str(&pk, "command_id", command_id);
	msgpack_pack_str_with_body(&pk, "ticket_id", 9);
	msgpack_pack_uint64(&pk, ctl->id);
	if (ctl->text)
		pack_str(&pk, "text", ctl->text);
	if (ctl->channel)
		pack_str(&pk, "channel", ctl->channel);
	if (ctl->author)
		pack_str(&pk, "author", ctl->author);
	if (ctl->subject)
		pack_str(&pk, "subject", ctl->subject);
	if (ctl->agent)
		pack_str(&pk, "agent_id", ctl->agent);
	if (ctl->force) {
		msgpack_pack_str_with_body(&pk, "force", 5);
		msgpack_pack_true(&pk);
	}
	if (ctl->tmpl_name && ctl->tmpl_lang)
		pack_template(&pk, ctl);
	else if (ctl->tmpl_name)
		pack_canned(&pk, ctl);
	if (ctl->n_attach)
		pack_attachments(&pk, f, ctl->n_attach);
}

/* media_type - a media type from a file name's extension; the default is
 * application/octet-stream. */
static const char *media_type(const char *name)
{
	static const char *const map[][2] = {
		{"png", "image/png"}, {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"},
		{"gif", "image/gif"}, {"webp", "image/webp"}, {"pdf", "application/pdf"},
		{"txt", "text/plain"}, {"csv", "text/csv"}, {"mp4", "video/mp4"},
		{"mp3", "audio/mpeg"}, {"ogg", "audio/ogg"}, {"zip", "application/zip"},
		{"doc", "application/msword"}, {"xlsx",
		 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(dot + 1, map[i][0]) == 0)
			return map[i][1];
	return "application/octet-stream";
}

/* store_file - reads --attach `path` and stores it in the attachments
 * folder of the state directory. */
static int store_file(const struct ctl *ctl, const char *path, struct send_file *f)
{
	char dir[4096], hex[ATTACH_HEX_LEN + 1];
	const char *slash = strrchr(path, '/');
	char *data = NULL;
	size_t len = 0;
	int rc;

	rc = gw_read_file(path, (size_t)SEND_ATTACH_MAX_BYTES, &data, &len);
	if (rc != GW_OK) {
		fprintf(stderr, "gatewayctl: --attach %s: %s\n", path,
			rc == GW_ETOOBIG ? "larger than 100 MiB" : strerror(errno));
		return CTL_EXIT_ERROR;
	}
	snprintf(dir, sizeof(dir), "%s/attachments", ctl->state_dir);
	f->name = slash ? slash + 1 : path;
	f->type = media_type(f->name);
	rc = attach_put(dir, data, len, (uint64_t)SEND_ATTACH_MAX_BYTES, hex);
	if (rc == GW_OK)
		rc = attach_type_put(dir, hex, f->type);
	free(data);
	if (rc != GW_OK) {
		fprintf(stderr, "gatewayctl: --attach %s: cannot store it in %s: %s\n", path, dir,
			gw_strerror(rc));
		return CTL_EXIT_ERROR;
	}
	snprintf(f->ref, sizeof(f->ref), ATTACH_REF_PREFIX "%s", hex);
	f->size = (long long)len;
	return CTL_EXIT_OK;
}

static int print_result(const struct ctl *ctl, const json_t *res, const char *command_id)
{
	if (ctl->json && !ctl->wait)
		return ctl_print_json(res);
	if (ctl->json)
		return CTL_EXIT_OK;
	printf("delivery %lld queued: seq %lld, channel %s, account %s, command id %s\n",
	       (long long)json_integer_value(json_object_get(res, "delivery_id")),
	       (long long)json_integer_value(json_object_get(res, "seq")),
	       json_string_value(json_object_get(res, "channel")),
	       json_string_value(json_object_get(res, "account")), command_id);
	return CTL_EXIT_OK;
}

/* --- --wait ---------------------------------------------------------------- */

/* outcome_of - the status event `ev` when it is an outcome of message
 * `seq` (not "queued"); NULL otherwise. */
static const char *outcome_of(const json_t *ev, uint64_t seq)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	const char *st = json_string_value(json_object_get(ev, "status"));

	if (!type || strcmp(type, "message.status") != 0 || !st || strcmp(st, "queued") == 0)
		return NULL;
	if ((uint64_t)json_integer_value(json_object_get(ev, "message_seq")) != seq)
		return NULL;
	return st;
}

/* report_outcome - prints the outcome (and the failure's reason). */
static int report_outcome(const struct ctl *ctl, json_t *ev, const char *st)
{
	const char *why = json_string_value(
		json_object_get(json_array_get(json_object_get(ev, "errors"), 0), "title"));

	if (ctl->json)
		ctl_print_json(ev);
	else if (strcmp(st, "failed") == 0)
		printf("delivery failed: %s\n", why ? why : "(no reason given)");
	else
		printf("delivery %s\n", st);
	return strcmp(st, "failed") == 0 ? CTL_EXIT_ERROR : CTL_EXIT_OK;
}

/* scan_replay - looks through one replay answer for the outcome; *from
 * moves past what was read. Returns -1 (not yet) or an exit code. */
static int scan_replay(const struct ctl *ctl, struct ctl_reply *rep, uint64_t seq,
		       uint64_t *from)
{
	json_t *head = ctl_frame_json(rep, 1);
	int rc = -1;

	if (head)
		*from = (uint64_t)json_integer_value(json_object_get(head, "next"));
	json_decref(head);
	for (size_t i = 3; rc < 0 && i < rep->n; i += 2) {
		json_t *ev = ctl_frame_json(rep, i);
		const char *st = ev ? outcome_of(ev, seq) : NULL;

		if (st)
			rc = report_outcome(ctl, ev, st);
		json_decref(ev);
	}
	return rc;
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* wait_outcome - replays the log from the reply's seq until a status of it
 * that is not "queued" shows, or ctl->wait_ms passes. */
static int wait_outcome(struct ctl *ctl, uint64_t seq)
{
	struct timespec t0, t;
	uint64_t from = seq;
	int rc = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (rc < 0 && !ctl_stop) {
		struct ctl_reply rep = {0};
		char *args = NULL;
		size_t len = 0;

		rc = ctl_args_u64("from", from, "limit", SEND_WAIT_REPLAY, &args, &len);
		if (rc == CTL_EXIT_OK)
			rc = ctl_request(ctl, WIRE_CMD_REPLAY, args, len, &rep);
		free(args);
		if (rc == CTL_EXIT_OK)
			rc = scan_replay(ctl, &rep, seq, &from);
		ctl_reply_free(&rep);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (rc < 0 && (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >=
				      ctl->wait_ms) {
			fprintf(stderr, "gatewayctl: no outcome of the delivery within %ld ms "
				"(it stays queued and is retried)\n", ctl->wait_ms);
			return CTL_EXIT_DOWN;
		}
		if (rc < 0)
			nap_ms(SEND_WAIT_POLL_MS);
	}
	return rc < 0 ? CTL_EXIT_INTERRUPTED : rc;
}

/* store_files - every --attach file; their refs into f[]. */
static int store_files(const struct ctl *ctl, struct send_file *f)
{
	int rc = CTL_EXIT_OK;

	for (size_t i = 0; rc == CTL_EXIT_OK && i < ctl->n_attach; i++)
		rc = store_file(ctl, ctl->attach[i], &f[i]);
	return rc;
}

int ctl_cmd_send(struct ctl *ctl)
{
	struct send_file files[CTL_MAX_ATTACH];
	msgpack_sbuffer sb;
	char made[33];
	const char *command_id = ctl_command_id(ctl, made);
	json_t *res = NULL;
	int rc;

	if (!command_id)
		return CTL_EXIT_ERROR;
	rc = store_files(ctl, files);
	if (rc != CTL_EXIT_OK)
		return rc;
	msgpack_sbuffer_init(&sb);
	pack_send(ctl, command_id, files, &sb);
	rc = ctl_command(ctl, WIRE_CMD_MESSAGE_SEND, sb.data, sb.size, command_id, &res);
	if (rc == CTL_EXIT_OK)
		rc = print_result(ctl, res, command_id);
	if (rc == CTL_EXIT_OK && ctl->wait)
		rc = wait_outcome(ctl, (uint64_t)json_integer_value(json_object_get(res, "seq")));
	json_decref(res);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

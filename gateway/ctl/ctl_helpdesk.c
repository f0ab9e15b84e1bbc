/*
 * ctl_helpdesk.c - the helpdesk commands of gatewayctl:
 *   ticket close ID [--reason R]             ticket.close
 *   ticket reopen ID [--reason R]            ticket.reopen
 *   ticket assign ID [--agent A] [--queue Q] ticket.assign
 *   ticket priority ID low|normal|high|urgent ticket.set_priority
 *   agent presence AGENT online|away|offline agent.presence
 *   ticket tag ID +a -b c                    ticket.tag
 *   chat typing ACCOUNT ADDRESS              chat.typing (nothing stored)
 * Each is one request to the router's command socket, run once per command
 * id: the same --command-id again prints the first result (duplicate=true)
 * and changes nothing. Without --command-id a random id is made and
 * printed, so that a caller that timed out can repeat the command safely.
 */
#include "gateway/ctl/ctl.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "proto/wire.h"

/* One string argument of a request; NULL values are left out. */
struct hd_str {
	const char *key, *val;
};

/*
 * pack_request - {command_id, [id_key: id], strs...} into `sb`. `id_key`
 * NULL: no number.
 */
static void pack_request(msgpack_sbuffer *sb, const char *command_id, const char *id_key,
			 uint64_t id, const struct hd_str *s, size_t n)
{
	msgpack_packer pk;
	uint32_t count = 1 + !!id_key;

	for (size_t i = 0; i < n; i++)
		count += s[i].val != NULL;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, count);
	msgpack_pack_str_with_body(&pk, "command_id", 10);
	msgpack_pack_str_with_body(&pk, command_id, strlen(command_id));
	if (id_key) {
		msgpack_pack_str_with_body(&pk, id_key, strlen(id_key));
		msgpack_pack_uint64(&pk, id);
	}
	for (size_t i = 0; i < n; i++) {
		if (!s[i].val)
			continue;
		msgpack_pack_str_with_body(&pk, s[i].key, strlen(s[i].key));
		msgpack_pack_str_with_body(&pk, s[i].val, strlen(s[i].val));
	}
}

/* print_value - one answer value: a string as ctl_put_value, anything
 * else as compact JSON. */
static void print_value(json_t *v)
{
	char *text;

	if (json_is_string(v)) {
		ctl_put_value(stdout, json_string_value(v));
		return;
	}
	text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	fputs(text ? text : "?", stdout);
	free(text);
}

/*
 * print_answer - the router's answer with the command id: indented JSON
 * (--json), or one line "COMMAND ok: key=value ... command_id=ID".
 */
static int print_answer(const struct ctl *ctl, const char *cmd, json_t *res)
{
	const char *key;
	json_t *v;

	if (ctl->json)
		return ctl_print_json(res);
	printf("%s ok:", cmd);
	json_object_foreach(res, key, v) {
		printf(" %s=", key);
		print_value(v);
	}
	putchar('\n');
	return CTL_EXIT_OK;
}

/*
 * run - sends the request (with the command id, made here when the user
 * gave none) and prints the answer. Exit codes as ctl_command.
 */
static int run(struct ctl *ctl, const char *cmd, const char *id_key, uint64_t id,
	       const struct hd_str *s, size_t n)
{
	msgpack_sbuffer sb;
	char made[33];
	const char *command_id = ctl_command_id(ctl, made);
	json_t *res = NULL;
	int rc;

	if (!command_id)
		return CTL_EXIT_ERROR;
	msgpack_sbuffer_init(&sb);
	pack_request(&sb, command_id, id_key, id, s, n);
	rc = ctl_command(ctl, cmd, sb.data, sb.size, command_id, &res);
	if (rc == CTL_EXIT_OK)
		rc = print_answer(ctl, cmd, res);
	json_decref(res);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

int ctl_cmd_ticket_close(struct ctl *ctl)
{
	const struct hd_str s[] = {{"reason", ctl->reason}};

	return run(ctl, WIRE_CMD_TICKET_CLOSE, "ticket_id", ctl->id, s, 1);
}

int ctl_cmd_ticket_reopen(struct ctl *ctl)
{
	const struct hd_str s[] = {{"reason", ctl->reason}};

	return run(ctl, WIRE_CMD_TICKET_REOPEN, "ticket_id", ctl->id, s, 1);
}

int ctl_cmd_ticket_assign(struct ctl *ctl)
{
	const struct hd_str s[] = {{"agent_id", ctl->agent}, {"queue", ctl->queue}};

	return run(ctl, WIRE_CMD_TICKET_ASSIGN, "ticket_id", ctl->id, s, 2);
}

int ctl_cmd_ticket_priority(struct ctl *ctl)
{
	const struct hd_str s[] = {{"priority", ctl->text}};

	return run(ctl, WIRE_CMD_TICKET_PRIORITY, "ticket_id", ctl->id, s, 1);
}

int ctl_cmd_chat_typing(struct ctl *ctl)
{
	const struct hd_str s[] = {{"account", ctl->name}, {"address", ctl->text}};

	return run(ctl, WIRE_CMD_CHAT_TYPING, NULL, 0, s, 2);
}

int ctl_cmd_agent_presence(struct ctl *ctl)
{
	const struct hd_str s[] = {{"agent_id", ctl->name}, {"presence", ctl->text}};

	return run(ctl, WIRE_CMD_AGENT_PRESENCE, NULL, 0, s, 2);
}

int ctl_cmd_ticket_tag(struct ctl *ctl)
{
	const struct hd_str s[] = {{"changes", ctl->tag_words}};

	if (!ctl->tag_words[0]) {
		fprintf(stderr, "gatewayctl: ticket tag needs tags: +TAG adds, -TAG removes\n");
		return CTL_EXIT_USAGE;
	}
	return run(ctl, WIRE_CMD_TICKET_TAG, "ticket_id", ctl->id, s, 1);
}

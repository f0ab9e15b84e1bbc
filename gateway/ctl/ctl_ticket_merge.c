/*
 * ctl_ticket_merge.c - gatewayctl ticket merge TICKET TARGET and ticket
 * split TICKET MESSAGE_SEQ (router/commands/ticket_merge.c): one request
 * each, run once per command id (a random one printed when --command-id
 * is not given, so that a retry after a timeout is safe).
 */
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

#include "gateway/ctl/ctl.h"
#include "proto/wire.h"

static unsigned long long u64_in(json_t *res, const char *key)
{
	return (unsigned long long)json_integer_value(json_object_get(res, key));
}

/* run_tm - `cmd` with {command_id, ticket_id: ctl->id, key2: ctl->id2}. */
static int run_tm(struct ctl *ctl, const char *cmd, const char *key2, json_t **res,
		  const char **command_id, char made[33])
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	*command_id = ctl_command_id(ctl, made);
	if (!*command_id)
		return CTL_EXIT_ERROR;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_str_with_body(&pk, "command_id", 10);
	msgpack_pack_str_with_body(&pk, *command_id, strlen(*command_id));
	msgpack_pack_str_with_body(&pk, "ticket_id", 9);
	msgpack_pack_uint64(&pk, ctl->id);
	msgpack_pack_str_with_body(&pk, key2, strlen(key2));
	msgpack_pack_uint64(&pk, ctl->id2);
	rc = ctl_command(ctl, cmd, sb.data, sb.size, *command_id, res);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

int ctl_cmd_ticket_merge(struct ctl *ctl)
{
	const char *command_id = NULL;
	json_t *res = NULL;
	char made[33];
	int rc = run_tm(ctl, WIRE_CMD_TICKET_MERGE, "target_id", &res, &command_id, made);

	if (rc == CTL_EXIT_OK && ctl->json)
		rc = ctl_print_json(res);
	else if (rc == CTL_EXIT_OK)
		printf("ticket %llu merged into ticket %llu (%s): seq %llu%s, command id %s\n",
		       u64_in(res, "ticket_id"), u64_in(res, "target_id"),
		       json_string_value(json_object_get(res, "status")), u64_in(res, "seq"),
		       json_is_true(json_object_get(res, "duplicate")) ? " (done before)" : "",
		       command_id);
	json_decref(res);
	return rc;
}

int ctl_cmd_ticket_split(struct ctl *ctl)
{
	const char *command_id = NULL;
	json_t *res = NULL;
	char made[33];
	int rc = run_tm(ctl, WIRE_CMD_TICKET_SPLIT, "message_seq", &res, &command_id, made);

	if (rc == CTL_EXIT_OK && ctl->json)
		rc = ctl_print_json(res);
	else if (rc == CTL_EXIT_OK)
		printf("message %llu split off ticket %llu into new ticket %llu: seq %llu%s, "
		       "command id %s\n", (unsigned long long)ctl->id2, u64_in(res, "ticket_id"),
		       u64_in(res, "new_ticket_id"), u64_in(res, "seq"),
		       json_is_true(json_object_get(res, "duplicate")) ? " (done before)" : "",
		       command_id);
	json_decref(res);
	return rc;
}

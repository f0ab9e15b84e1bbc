/*
 * ctl_send.c - `gatewayctl send TICKET TEXT`: a reply to the customer of a
 * ticket through the router's message.send command. The command id makes a
 * retry safe: the same id again returns the first result and sends nothing
 * twice. Without --command-id a random one is made and printed, so that a
 * caller that timed out can ask again with it.
 */
#include "gateway/ctl/ctl.h"

#include <msgpack.h>
#include <string.h>

#include "proto/wire.h"

static void pack_str(msgpack_packer *pk, const char *key, const char *val)
{
	msgpack_pack_str_with_body(pk, key, strlen(key));
	msgpack_pack_str_with_body(pk, val, strlen(val));
}

/* pack_send - the message.send arguments into `sb`. */
static void pack_send(const struct ctl *ctl, const char *command_id, msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3 + !!ctl->channel + !!ctl->author);
	pack_str(&pk, "command_id", command_id);
	msgpack_pack_str_with_body(&pk, "ticket_id", 9);
	msgpack_pack_uint64(&pk, ctl->id);
	pack_str(&pk, "text", ctl->text);
	if (ctl->channel)
		pack_str(&pk, "channel", ctl->channel);
	if (ctl->author)
		pack_str(&pk, "author", ctl->author);
}

static int print_result(const struct ctl *ctl, const json_t *res, const char *command_id)
{
	if (ctl->json)
		return ctl_print_json(res);
	printf("delivery %lld queued: seq %lld, channel %s, account %s, command id %s\n",
	       (long long)json_integer_value(json_object_get(res, "delivery_id")),
	       (long long)json_integer_value(json_object_get(res, "seq")),
	       json_string_value(json_object_get(res, "channel")),
	       json_string_value(json_object_get(res, "account")), command_id);
	return CTL_EXIT_OK;
}

int ctl_cmd_send(struct ctl *ctl)
{
	msgpack_sbuffer sb;
	char made[33];
	const char *command_id = ctl_command_id(ctl, made);
	json_t *res = NULL;
	int rc;

	if (!command_id)
		return CTL_EXIT_ERROR;
	msgpack_sbuffer_init(&sb);
	pack_send(ctl, command_id, &sb);
	rc = ctl_command(ctl, WIRE_CMD_MESSAGE_SEND, sb.data, sb.size, command_id, &res);
	if (rc == CTL_EXIT_OK)
		rc = print_result(ctl, res, command_id);
	json_decref(res);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

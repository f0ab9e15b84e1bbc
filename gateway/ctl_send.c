/*
 * ctl_send.c - `gatewayctl send TICKET TEXT`: a reply to the customer of a
 * ticket through the router's message.send command. The command id makes a
 * retry safe: the same id again returns the first result and sends nothing
 * twice. Without --command-id a random one is made and printed, so that a
 * caller that timed out can ask again with it.
 */
#include "gateway/ctl.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/util.h"
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

static int print_result(const struct ctl *ctl, json_t *res, const char *command_id)
{
	char *text;

	if (json_object_set_new(res, "command_id", json_string(command_id)) != 0)
		return CTL_EXIT_ERROR;
	if (ctl->json) {
		text = json_dumps(res, JSON_INDENT(2));
		if (!text)
			return CTL_EXIT_ERROR;
		puts(text);
		free(text);
		return CTL_EXIT_OK;
	}
	printf("delivery %lld queued: seq %lld, channel %s, account %s, command id %s\n",
	       (long long)json_integer_value(json_object_get(res, "delivery_id")),
	       (long long)json_integer_value(json_object_get(res, "seq")),
	       json_string_value(json_object_get(res, "channel")),
	       json_string_value(json_object_get(res, "account")), command_id);
	return CTL_EXIT_OK;
}

int ctl_cmd_send(struct ctl *ctl)
{
	struct ctl_reply r = {0};
	msgpack_sbuffer sb;
	char made[33];
	const char *command_id = ctl->command_id;
	json_t *res = NULL;
	int rc = CTL_EXIT_OK;

	if (!command_id) {
		if (gw_random_id(made) != 0) {
			fprintf(stderr, "gatewayctl: cannot make a command id\n");
			return CTL_EXIT_ERROR;
		}
		command_id = made;
	}
	msgpack_sbuffer_init(&sb);
	pack_send(ctl, command_id, &sb);
	rc = ctl_request(ctl, WIRE_CMD_MESSAGE_SEND, sb.data, sb.size, &r);
	if (rc == CTL_EXIT_OK && !(res = ctl_frame_json(&r, 1))) {
		fprintf(stderr, "gatewayctl: malformed message.send reply from %s\n", ctl->command);
		rc = CTL_EXIT_ERROR;
	}
	if (rc == CTL_EXIT_OK)
		rc = print_result(ctl, res, command_id);
	else if (rc == CTL_EXIT_DOWN)
		/* The reply may have been stored: the same id is safe to retry. */
		fprintf(stderr, "gatewayctl: retry with --command-id %s\n", command_id);
	json_decref(res);
	ctl_reply_free(&r);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

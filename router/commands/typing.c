/*
 * typing.c - chat.typing {account, address, channel?}: an agent is typing
 * in the conversation `address` of the connector instance `account`
 * (channel default "livechat"). The router encodes a chat.typing event and
 * passes it to that connector as a signal (deliver_signal): it is not kept,
 * not published, and nothing is reported; the connector shows it if it can
 * (the live chat: "Agent is typing..." in the conversation's widgets).
 * GW_ENOTFOUND when no connector of that channel and account is connected.
 * Nothing is stored: a command_id is accepted and ignored.
 */
#include "router/router.h"
#include "router/rules/routing.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

struct typing_args {
	char *command_id, *channel, *account, *address;
};

/* command_id is accepted (gatewayctl sends one with every command) and
 * unused: nothing is stored, so there is nothing to run once. */
static const struct cmdarg typing_spec[] = {
	{"command_id", CMDARG_STR, 200, 0, offsetof(struct typing_args, command_id)},
	{"channel", CMDARG_STR, PROTO_MAX_CHANNEL, 0, offsetof(struct typing_args, channel)},
	{"account", CMDARG_STR, PROTO_MAX_ACCOUNT, 1, offsetof(struct typing_args, account)},
	{"address", CMDARG_STR, PROTO_MAX_ADDRESS, 1, offsetof(struct typing_args, address)},
};
#define N_TYPING_SPEC (sizeof(typing_spec) / sizeof(typing_spec[0]))

int chat_typing_command(struct router *r, const void *args, size_t len, char *err,
			size_t errlen)
{
	struct typing_args a;
	struct proto_event ev;
	struct proto_error perr;
	char *buf = NULL;
	size_t blen = 0;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = proto_event_init(&ev, PROTO_T_CHAT_TYPING);
	if (rc)
		return rc;
	rc = cmdargs_parse(args, len, typing_spec, N_TYPING_SPEC, &a, err, errlen);
	if (rc)
		goto out;
	ev.u.typing.channel = gw_strdup(a.channel ? a.channel : "livechat");
	ev.u.typing.account = gw_strdup(a.account);
	ev.u.typing.address = gw_strdup(a.address);
	ev.u.typing.at = gw_now_ms();
	rc = ev.u.typing.channel && ev.u.typing.account && ev.u.typing.address ? GW_OK
									       : GW_ENOMEM;
	if (rc == GW_OK)
		rc = proto_encode(&ev, &buf, &blen, &perr);
	if (rc == GW_OK)
		rc = deliver_signal(r, ev.u.typing.channel, ev.u.typing.account, buf, blen);
	if (rc == GW_ENOTFOUND)
		snprintf(err, errlen, "no %s connector %s is connected", ev.u.typing.channel,
			 ev.u.typing.account);
out:
	free(buf);
	cmdargs_free(typing_spec, N_TYPING_SPEC, &a);
	proto_event_clear(&ev);
	return rc;
}

/*
 * wire.h - the ZeroMQ frames between processes. All integers in frames are
 * big-endian; all maps are msgpack. See docs/internals/wire.md.
 *
 * Ingest (connector DEALER -> router ROUTER, router.ingest endpoint):
 *   connector: [ "msg", key(8 bytes, spool key), event(msgpack, no seq) ]
 *   router:    [ "ack", key(8 bytes), result, reason ]
 *      result is "stored" (committed now), "duplicate" (committed before) or
 *      "rejected" (will never be accepted; reason says why). After any of
 *      these the connector may forget the message.
 *
 * Downstream (router PUB, router.publish endpoint), every message two frames:
 *   [ type, event(msgpack map with seq) ]
 *   and once a second [ "gateway.heartbeat", {v, ts, head_seq} ] so that a
 *   consumer notices a missed tail even when no traffic follows it.
 *
 * Commands (client REQ or DEALER -> router ROUTER, router.command endpoint):
 *   request: [ command, args(msgpack map) ]
 *   reply:   [ "ok", result(msgpack map), ...more frames for replay ]
 *         or [ "error", {code: "GW_E...", message: "..."} ]
 *   commands:
 *     "replay"      {from: N, limit: L}  -> ["ok", {from, next, head, count},
 *                                           type1, event1, type2, event2, ...]
 *     "ticket.get"  {id: N}   -> ["ok", {ticket: {...}, messages: [event...]}]
 *     "customer.get"{id: N}   -> ["ok", {customer: {...}, tickets: [{...}]}]
 *     "status"      {}        -> ["ok", {pid, started_at, head_seq, counters...}]
 */
#ifndef GW_WIRE_H
#define GW_WIRE_H

#define WIRE_INGEST_MSG "msg"
#define WIRE_INGEST_ACK "ack"
#define WIRE_RESULT_STORED "stored"
#define WIRE_RESULT_DUPLICATE "duplicate"
#define WIRE_RESULT_REJECTED "rejected"

/* Replies, on the ingest socket (connectors/outbox.h):
 *   connector: [ "hello", instance, channel ]  once connected, and again
 *              after silence, so the router knows where to deliver; and
 *              [ "hello", account, channel ] for each other pair it serves
 *              (outbox_serve: Meta's numbers and pages)
 *   router:    [ "deliver", delivery_id (8 bytes), event (message.sent) ]
 *   connector: [ "report", delivery_id (8 bytes), status, reason,
 *                ref_account, ref_id ]
 *              ref_id (may be empty) is the provider's id of the reply, in
 *              the key space ref_account of its channel; the router records
 *              it so that statuses and answers naming it find the reply. A
 *              report of four frames (no reference) is still read.
 */
#define WIRE_INGEST_HELLO "hello"
#define WIRE_INGEST_DELIVER "deliver"
/* ["signal", event]: router -> connector, an event passed on and not kept
 * (chat.typing of an agent); nothing is reported. */
#define WIRE_INGEST_SIGNAL "signal"
#define WIRE_INGEST_REPORT "report"

#define WIRE_HEARTBEAT "gateway.heartbeat"

#define WIRE_REPLY_OK "ok"
#define WIRE_REPLY_ERROR "error"

#define WIRE_CMD_REPLAY "replay"
#define WIRE_CMD_TICKET_GET "ticket.get"
#define WIRE_CMD_CUSTOMER_GET "customer.get"
#define WIRE_CMD_TICKET_LIST "ticket.list" /* {status?, queue?, agent_id?, tag?, from?, limit?} */
#define WIRE_CMD_STATUS "status"
/* "message.send" {command_id, ticket_id | customer_id, text, channel?,
 *                 author?} -> ["ok", {delivery_id, seq, channel, account}] */
#define WIRE_CMD_MESSAGE_SEND "message.send"
/* Helpdesk commands (docs/events.md, "Commands"); each takes a command_id
 * and is run once per id; the answer is {seq, duplicate, ...}. */
#define WIRE_CMD_TICKET_CLOSE "ticket.close"       /* {command_id, ticket_id, reason?} */
#define WIRE_CMD_TICKET_REOPEN "ticket.reopen"     /* {command_id, ticket_id, reason?} */
#define WIRE_CMD_TICKET_ASSIGN "ticket.assign"     /* {command_id, ticket_id, agent_id?, queue?} */
#define WIRE_CMD_TICKET_PRIORITY "ticket.set_priority" /* {command_id, ticket_id, priority} */
#define WIRE_CMD_AGENT_PRESENCE "agent.presence"   /* {command_id, agent_id, presence} */
/* Agent collision: {ticket_id, agent_id}, published, rate-limited, no command_id */
#define WIRE_CMD_TICKET_VIEWING "ticket.viewing"
#define WIRE_CMD_TICKET_TYPING "ticket.typing"
/* Tags: {command_id, ticket_id, changes: "+a -b"} */
#define WIRE_CMD_TICKET_TAG "ticket.tag"
#define WIRE_CMD_CHAT_TYPING "chat.typing"         /* {account, address, channel?} */
/* Customers: a directory import and merges. */
#define WIRE_CMD_CONTACTS_IMPORT "contacts.import" /* {command_id, contacts: [...]} */
#define WIRE_CMD_CUSTOMER_MERGE "customer.merge"   /* {command_id, source_id, target_id} */
#define WIRE_CMD_CUSTOMER_UNMERGE "customer.unmerge" /* {command_id, merge_id} */
/* Ticket merge and split (router/commands/ticket_merge.c). */
#define WIRE_CMD_TICKET_MERGE "ticket.merge" /* {command_id, ticket_id, target_id} */
#define WIRE_CMD_TICKET_SPLIT "ticket.split" /* {command_id, ticket_id, message_seq} */

/* Replay batches: default and maximum events per reply. */
#define WIRE_REPLAY_DEFAULT_LIMIT 1000
#define WIRE_REPLAY_MAX_LIMIT 10000
/* A replay reply stops adding events past this many bytes. */
#define WIRE_REPLAY_MAX_BYTES (16u * 1024u * 1024u)

/* Largest command request accepted (both frames). */
#define WIRE_MAX_COMMAND_BYTES (64u * 1024u)
/* A contacts.import request carries up to this many bytes of contacts. */
#define WIRE_MAX_IMPORT_BYTES (4u * 1024u * 1024u)

#endif

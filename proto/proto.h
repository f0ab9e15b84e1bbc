/*
 * proto.h - event schema v1: the msgpack maps that connectors hand to the
 * router and that the router publishes on the downstream bus.
 *
 * The schema is declared once, in proto/schema.def (an X-macro list of every
 * object and field with its type, key, limit and whether it is required).
 * That one declaration expands into the descriptor tables that drive encode,
 * decode, free and JSON dump, and into compile-time checks that the structs
 * below have exactly those members with those C types, so a field cannot be
 * added in one place and forgotten in another. docs/events.md documents each
 * field.
 *
 * Wire form: a msgpack map with string keys. Every event carries
 *   v (uint, = PROTO_VERSION), type (string), id (string), ts (int, ms since
 *   the Unix epoch) and, once routed, seq (uint, gap-free, from 1).
 * followed by the fields of its type, flattened into the same map.
 * Decoding is strict: an unknown `v` or `type`, a field of the wrong msgpack
 * type, a missing required field or a value over its limit is an error code
 * and a message naming the field, never a crash. Unknown keys are skipped so
 * that fields added later within v1 do not break older readers.
 *
 * Threading: every function is reentrant; a struct is used by one thread.
 */
#ifndef GW_PROTO_H
#define GW_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define PROTO_VERSION 1

/* Upper bound of one encoded event, checked by encode and decode. */
#define PROTO_MAX_EVENT_BYTES (4u * 1024u * 1024u)

/* Field limits (bytes of UTF-8 for strings, entries for arrays). */
#define PROTO_MAX_ID 64
#define PROTO_MAX_CHANNEL 32
#define PROTO_MAX_ACCOUNT 128
#define PROTO_MAX_EXTERNAL_ID 256
#define PROTO_MAX_ADDRESS 320
#define PROTO_MAX_NAME 256
#define PROTO_MAX_SUBJECT 1024
#define PROTO_MAX_TEXT (1024u * 1024u)
#define PROTO_MAX_MEDIA_TYPE 128
#define PROTO_MAX_REF 2048
#define PROTO_MAX_ATTACHMENTS 64
#define PROTO_MAX_REPLY_TO 64
#define PROTO_MAX_STATUS 32
#define PROTO_MAX_KIND 32          /* message kind, raw_type, direction */
#define PROTO_MAX_RAW (64u * 1024u) /* provider JSON kept with a message */
#define PROTO_MAX_SHA256 128
#define PROTO_MAX_CAPTION 4096
#define PROTO_MAX_ERRORS 16
#define PROTO_MAX_SHORT 1024       /* titles, headlines, short provider texts */
#define PROTO_MAX_RECIPIENTS 64
#define PROTO_MAX_WARNINGS 16
#define PROTO_MAX_IDENTITIES 32    /* identities listed on a customer */
#define PROTO_MAX_ATTRIBUTES 32    /* "key=value" attributes of a customer */
#define PROTO_MAX_AGENT 64         /* agent and queue names */
#define PROTO_MAX_OPEN_TICKETS 16  /* per-channel open/last tickets of a customer */
#define PROTO_MAX_RECENT 8         /* recent texts kept for duplicate detection */
#define PROTO_MAX_TICKET_CHANNELS 16
#define PROTO_MAX_MERGE_TICKETS 1000
#define PROTO_MAX_SPLITS 64        /* tickets split off one ticket */
#define PROTO_MAX_TEMPLATE_PARAMS 32 /* body parameters of a template message */
#define PROTO_MAX_TAGS 32          /* tags of a ticket */
#define PROTO_MAX_TAG 64           /* bytes of one tag */

enum proto_type {
	PROTO_T_NONE = 0,
	PROTO_T_MESSAGE_RECEIVED, /* "message.received": an inbound message */
	PROTO_T_CUSTOMER_CREATED, /* "customer.created" */
	PROTO_T_TICKET_CREATED,   /* "ticket.created" */
	PROTO_T_TICKET_UPDATED,   /* "ticket.updated": a message joined it */
	PROTO_T_MESSAGE_SENT,     /* "message.sent": an outbound message (e.g. a page echo) */
	PROTO_T_MESSAGE_STATUS,   /* "message.status": sent/delivered/read/failed */
	PROTO_T_MESSAGE_EDITED,   /* "message.edited": the sender changed a message */
	PROTO_T_MESSAGE_DELETED,  /* "message.deleted": the sender withdrew a message */
	PROTO_T_CUSTOMER_UPDATED, /* "customer.updated": identities or attributes changed */
	PROTO_T_CUSTOMER_MERGED,  /* "customer.merged" */
	PROTO_T_CUSTOMER_UNMERGED, /* "customer.unmerged" */
	PROTO_T_TICKET_ASSIGNED,  /* "ticket.assigned": queue and/or agent set */
	PROTO_T_TICKET_CLOSED,    /* "ticket.closed" */
	PROTO_T_TICKET_REOPENED,  /* "ticket.reopened" */
	PROTO_T_TICKET_PRIORITY_CHANGED, /* "ticket.priority_changed" */
	PROTO_T_TICKET_SLA_WARNING,  /* "ticket.sla_warning" */
	PROTO_T_TICKET_SLA_BREACHED, /* "ticket.sla_breached" */
	PROTO_T_AGENT_PRESENCE,   /* "agent.presence" */
	/* Agent collision: */
	PROTO_T_TICKET_VIEWING,   /* "ticket.viewing": an agent has the ticket open */
	PROTO_T_TICKET_TYPING,    /* "ticket.typing": an agent is writing a reply */
	/* Escalation rules: */
	PROTO_T_TICKET_ESCALATED, /* "ticket.escalated": a rule with notify fired */
	PROTO_T_CHAT_TYPING,      /* "chat.typing": a customer is typing (not stored) */
	/* Ticket merge and split (issue 22). */
	PROTO_T_TICKET_MERGED,    /* "ticket.merged": merged into merged_into */
	PROTO_T_TICKET_SPLIT,     /* "ticket.split": a new ticket split off split_from */
	/* CSAT (issue 22). */
	PROTO_T_TICKET_RATED,     /* "ticket.rated": csat_score (and csat_comment) */
	PROTO_T__COUNT
};

/* The sender of a message. */
struct proto_party {
	char *address; /* required: channel-specific address (E.164, email, user id) */
	char *name;    /* optional display name, NULL when absent */
	/* optional: an email address the sender gave on a channel whose address
	 * is not one (a chat's pre-chat form). Claimed unless email_verified:
	 * a claim never decides the customer (router/rules/identity.c). */
	char *email;
	/* optional: the channel itself vouches for `email` (a live chat's
	 * site-signed identity); set by connectors only, never from what a
	 * sender typed. */
	bool email_verified;
	/* optional: the sender's own phone number, in international form
	 * ("+<digits>") when the channel gives one (a Telegram user sharing
	 * their own contact card); phone_verified when the channel vouches
	 * that the number is the sender's (Telegram checks it), false when
	 * it is only what the sender typed (another person's contact card). */
	char *phone;
	bool phone_verified;
	/* optional: "key=value" facts the channel tells about the sender (a
	 * Telegram username); the router sets them on the customer. */
	char **attributes;
	size_t attributes_len;
};

/* An attachment as the provider described it; bytes are not carried. */
struct proto_attachment {
	char *name;    /* required: file name ("" when the provider gave none) */
	char *type;    /* required: media type, e.g. "image/png" */
	uint64_t size; /* bytes, 0 when unknown */
	char *ref;     /* required: where to fetch it (URL, media id, store key) */
	char *kind;    /* optional: image, audio, video, document, sticker, file, ... */
	char *sha256;  /* optional: the provider's digest of the bytes */
	char *caption; /* optional */
	char *download_error; /* optional: why the connector kept no copy of the bytes */
};

/* A shared location (WhatsApp location, Messenger location attachment). */
struct proto_location {
	double latitude;  /* required */
	double longitude; /* required */
	char *name;       /* optional */
	char *address;    /* optional */
	char *url;        /* optional */
};

/* One addressee of a message (email To/Cc). */
struct proto_recipient {
	char *address; /* required */
	char *name;    /* optional */
	char *role;    /* required: to, cc, bcc, delivered_to */
};

/* A reaction to an earlier message; emoji "" means the reaction was removed. */
struct proto_reaction {
	char *message_id; /* required: provider id of the message reacted to */
	char *emoji;      /* required, "" on removal */
};

/* A choice the customer picked: interactive button or list reply, template
 * button, quick reply, postback. */
struct proto_choice {
	char *id;          /* required: the payload or id given when it was offered */
	char *title;       /* optional: the text the customer saw */
	char *description; /* optional */
};

/* Where a conversation came from: an ad, a post, an m.me link. */
struct proto_referral {
	char *source;   /* optional: "ADS", "POST", "SHORTLINK", ... */
	char *type;     /* optional: source type ("ad", "post", "OPEN_THREAD") */
	char *id;       /* optional: source id (ad id, post id) */
	char *url;      /* optional */
	char *ref;      /* optional: the ref parameter of a link */
	char *headline; /* optional */
	char *body;     /* optional */
};

/* A template message (WhatsApp): sent by name, filled with parameters. */
struct proto_template {
	char *name;        /* required: the template's name at the provider */
	char *language;    /* required: its language code ("en_US") */
	char **params;     /* body parameters {{1}}, {{2}}, ... in order */
	size_t params_len;
	char *components;  /* optional: the provider's components array as JSON
			    * text, sent as it is (headers, buttons) */
};

/* An error reported with a failed delivery. */
struct proto_status_error {
	int64_t code;  /* provider error code, 0 when none */
	char *title;   /* required */
	char *message; /* optional */
};

/* Body of message.received. */
struct proto_message {
	char *channel;     /* required: "api", "email", "whatsapp", ... */
	char *account;     /* required: connector instance, mailbox or number */
	char *external_id; /* required: the provider's id for the message */
	int64_t received_at; /* required: ms since epoch, when the connector got it */
	/* optional: ms since epoch, when the customer sent it per the provider
	 * (WhatsApp, Messenger: timestamp; Telegram: date), 0 when it gives
	 * none; never a sender-set time such as an email's Date */
	int64_t sent_at;
	struct proto_party from;
	char *subject; /* optional */
	char *text;    /* required, may be "" */
	struct proto_attachment *attachments;
	size_t attachments_len;
	char **reply_to; /* provider ids this message answers */
	size_t reply_to_len;
	uint64_t customer_id; /* 0 until routed */
	uint64_t thread_id;   /* 0 until routed */
	uint64_t ticket_id;   /* 0 until routed (stays 0 for an outbound
			       * message when the customer has no open ticket) */
	char *direction;      /* optional: "inbound" (when absent) or "outbound" */
	struct proto_party *to; /* optional: the recipient (outbound: the customer) */
	char *kind;           /* optional: content kind, "text" when absent */
	char *raw_type;       /* optional: the provider's own type name */
	bool unsupported;     /* a type the gateway does not know: see raw */
	bool auto_reply;      /* sent by a machine (auto-reply, vacation, list): no ticket */
	bool bounce;          /* a bounce or delivery report: no ticket */
	struct proto_location *location; /* optional */
	struct proto_reaction *reaction; /* optional */
	struct proto_choice *choice;     /* optional */
	struct proto_referral *referral; /* optional */
	char *raw;            /* optional: the provider's JSON of the message */
	struct proto_recipient *recipients; /* who it was written to (email To, Cc) */
	size_t recipients_len;
	/* optional: an id that is the same whichever account received the
	 * message (an email's Message-ID, seen in two mailboxes): when set,
	 * the router dedups on (channel, dedup_key) instead of
	 * (channel, account, external_id). */
	char *dedup_key;
	char **warnings; /* what could not be read cleanly, for operators */
	size_t warnings_len;
	/* Set by the router: which threading rule filed the message in its
	 * ticket, and why in words (router/rules/threading.c, docs/routing.md). */
	char *thread_rule;   /* reply_reference, ticket_token, ... */
	char *thread_reason; /* "In-Reply-To <a@b> is message 12 of ticket 3" */
	uint64_t duplicate_of; /* seq of the message this probably repeats */
	char *language;      /* detected language code ("en"), NULL if unknown */
	/* Outbound (message.sent of message.send) only: */
	struct proto_template *tmpl; /* optional: send this template instead of text */
	/* when the customer wrote the message this reply answers (ms): the
	 * earlier of its sent_at (when set) and its received_at; a connector
	 * whose provider limits free-form replies to a window after the
	 * customer wrote (WhatsApp, Messenger) checks it */
	int64_t last_inbound_at;
	/* optional: why auto_reply or bounce is set, the sign that said so
	 * ("Auto-Submitted: auto-replied", "multipart/report"); NULL otherwise */
	char *automated_reason;
	/* Agent collision, message.sent of message.send only: */
	char *agent_id;    /* the agent who sent the reply, NULL: not named */
	char *forced_over; /* the assignee a forced reply went over, NULL: none */
	/* Automatic messages: acknowledgement, out_of_hours, still_waiting;
	 * NULL for a human reply (a canned response an agent sent too). */
	char *automatic;
};

/*
 * Body of message.status: what happened to a message (usually one the
 * business sent). external_id names that message; for watermark receipts
 * (Messenger "read up to") it may be absent and `watermark` set instead.
 */
struct proto_status {
	char *channel;      /* required */
	char *account;      /* required */
	char *status_id;    /* required: stable id of this status report, for dedup */
	char *external_id;  /* optional: the message it is about */
	char *status;       /* required: queued, sent, delivered, read, failed, deleted */
	int64_t status_at;  /* required: ms since epoch, provider's time */
	int64_t watermark;  /* optional: every message up to this time (ms) */
	char *recipient;    /* optional: the address the message went to */
	struct proto_status_error *errors;
	size_t errors_len;
	char *raw;          /* optional: the provider's JSON of the status */
	uint64_t message_seq; /* set by the router when it knows the message */
	uint64_t customer_id; /* set by the router when it knows the message */
	uint64_t ticket_id;   /* set by the router when it knows the message */
	/* optional: the provider's id of the message (a reply's wamid, mid,
	 * Message-ID), when the connector reported one */
	char *provider_id;
};

/* Body of message.edited and message.deleted. */
struct proto_change {
	char *channel;      /* required */
	char *account;      /* required */
	char *change_id;    /* required: stable id of this change, for dedup */
	char *external_id;  /* required: the message changed */
	int64_t changed_at; /* required: ms since epoch */
	char *text;         /* optional: the new text (edits) */
	struct proto_party *from; /* optional */
	uint64_t message_seq; /* set by the router when it knows the message */
	uint64_t customer_id; /* set by the router when it knows the message */
	uint64_t ticket_id;   /* set by the router when it knows the message */
};

/* One way to reach a customer: kind is a channel ("whatsapp", "livechat")
 * or a cross-channel address kind ("email", "phone"). */
struct proto_identity {
	char *kind;    /* required */
	char *address; /* required: normalized (router/rules/normalize.h) */
	char *source;  /* optional: message, import, claim */
	bool verified; /* the channel delivered it (not typed by the customer) */
};

/* A ticket as listed on a customer or a merge record. */
struct proto_ticket_ref {
	uint64_t ticket_id; /* required */
	char *channel;      /* optional: the channel it is scoped to */
	int64_t at;         /* optional: when it was opened / closed */
};

/* A recent customer text, for probable-duplicate detection. */
struct proto_recent {
	uint64_t hash;      /* required: of the normalized text */
	uint64_t seq;       /* required: its message.received */
	uint64_t ticket_id; /* ticket it was filed in */
	char *channel;      /* required */
	int64_t at;         /* required: ms since the epoch */
};

/* Body of customer.created/updated; also the stored customer record. */
struct proto_customer {
	uint64_t customer_id; /* required */
	uint64_t thread_id;   /* required */
	char *channel;        /* required: channel of the first identity */
	char *address;        /* required: address of the first identity */
	char *name;           /* optional */
	int64_t created_at;   /* required */
	uint64_t open_ticket_id; /* 0 when none is open */
	uint64_t ticket_count;
	uint64_t message_count;
	struct proto_identity *identities; /* every identity, first one first */
	size_t identities_len;
	char *external_ref;   /* id in an imported contact directory */
	char **attributes;    /* "key=value", from the directory */
	size_t attributes_len;
	char *language;       /* last detected or imported language */
	uint64_t merged_into; /* set when merged into that customer */
	char *last_agent;     /* agent who last served the customer */
	struct proto_ticket_ref *open_tickets; /* per-channel scope: open ones */
	size_t open_tickets_len;
	struct proto_ticket_ref *last_tickets; /* last ticket per scope, for reopening */
	size_t last_tickets_len;
	struct proto_recent *recent; /* last texts, newest last */
	size_t recent_len;
	int64_t updated_at;
	/* optional: another customer this one is probably the same person as
	 * (an address both hold, claimed by one): a merge to consider, never
	 * made by the router itself; 0 when none. */
	uint64_t probable_match;
	char *probable_match_reason; /* optional: why, in words */
};

/* Body of ticket.created and ticket.updated; also the stored ticket record. */
struct proto_ticket {
	uint64_t ticket_id;   /* required */
	uint64_t customer_id; /* required */
	uint64_t thread_id;   /* required */
	char *status;         /* required: "open" or "closed" */
	char *channel;        /* required: channel of the opening message */
	char *subject;        /* optional: subject of the opening message */
	int64_t opened_at;    /* required */
	int64_t updated_at;   /* required */
	uint64_t message_count;
	uint64_t last_message_seq; /* seq of the last message.received */
	char *scope;          /* customer (default) or channel */
	char **channels;      /* channels the customer wrote from in it */
	size_t channels_len;
	char *priority;       /* low, normal (when absent), high, urgent */
	char *language;
	char *queue;          /* queue (team) it is routed to */
	char *agent_id;       /* assigned agent, NULL when waiting */
	int64_t assigned_at;
	char *assign_reason;  /* "sticky: last served the customer", ... */
	uint64_t previous_ticket_id; /* the closed ticket this one follows */
	uint64_t reopen_count;
	uint64_t duplicate_count; /* probable duplicates joined */
	int64_t closed_at;
	int64_t first_response_at;
	int64_t first_response_due; /* 0: no first-response target */
	int64_t resolution_due;     /* 0: no resolution target */
	int64_t sla_started_at;     /* when the running clocks started: opened_at or a reopening */
	char *sla_first_response;   /* running, warning, breached, met, stopped */
	char *sla_resolution;
	char *cause;          /* what made the last change: "message 12", "command c-7" */
	/* The next-response clock (router/rules/sla.c): */
	int64_t next_response_due;        /* 0: no reply owed, or no target */
	int64_t next_response_started_at; /* the customer's first message after a reply */
	char *sla_next_response;          /* running, warning, breached, met, stopped */
	/* Tags (router/rules/tagging.c, ticket.tag): */
	char **tags;
	size_t tags_len;
	/* Ticket merge and split (issue 22). */
	uint64_t merged_into; /* the survivor of a merge, 0: not merged */
	uint64_t split_from;  /* the ticket it was split off, 0: none */
	struct proto_ticket_ref *splits; /* tickets split off it */
	size_t splits_len;
	/* CSAT (issue 22). */
	int64_t survey_sent_at; /* 0: no survey sent */
	uint64_t csat_score;    /* 1..5, 0: not rated */
	char *csat_comment;
};

/* Body of ticket.sla_warning and ticket.sla_breached. */
struct proto_sla_alert {
	uint64_t ticket_id;   /* required */
	uint64_t customer_id; /* required */
	char *clock;          /* required: first_response or resolution */
	int64_t due_at;       /* required */
	uint64_t target_minutes; /* business minutes of the target (whole ones) */
	uint64_t target_seconds; /* business seconds of the target */
	char *queue;
	char *priority;
	char *agent_id;
};

/* Body of ticket.viewing and ticket.typing (agent collision). */
struct proto_ticket_presence {
	uint64_t ticket_id; /* required */
	char *agent_id;     /* required */
	char *activity;     /* required: viewing or typing */
	char *assignee;     /* the ticket's agent, NULL: none */
	uint64_t customer_id;
};

/* Body of chat.typing: a customer typing in a conversation. */
struct proto_typing {
	char *channel; /* required */
	char *account; /* required */
	char *address; /* required: the conversation (from.address of its messages) */
	int64_t at;    /* required: ms since the epoch */
};

/* Body of agent.presence; also the stored agent state. */
struct proto_agent {
	char *agent_id;  /* required */
	char *presence;  /* required: online, away, offline */
	char *name;
	uint64_t open_tickets; /* open tickets assigned now */
	uint64_t capacity;     /* most open tickets at once, 0 = no limit */
	int64_t changed_at;
	char *cause;     /* "command c-3", "working hours ended" */
};

/* Body of customer.merged and customer.unmerged; also the stored merge. */
struct proto_merge {
	uint64_t merge_id;           /* required */
	uint64_t source_customer_id; /* required: merged away */
	uint64_t target_customer_id; /* required: kept */
	struct proto_identity *identities; /* what moved */
	size_t identities_len;
	struct proto_ticket_ref *tickets;  /* tickets that moved */
	size_t tickets_len;
	int64_t merged_at;   /* required */
	int64_t unmerged_at; /* set once undone */
	char *cause;
};

struct proto_event {
	uint32_t v;
	enum proto_type type;
	char *id;   /* required: unique event id (32 hex chars when we make it) */
	int64_t ts; /* required: ms since epoch, when the event was made */
	uint64_t seq; /* 0 until routed */
	union {
		struct proto_message message;   /* PROTO_T_MESSAGE_RECEIVED, _SENT */
		struct proto_status status;     /* PROTO_T_MESSAGE_STATUS */
		struct proto_change change;     /* PROTO_T_MESSAGE_EDITED, _DELETED */
		struct proto_customer customer; /* PROTO_T_CUSTOMER_CREATED */
		struct proto_ticket ticket;     /* PROTO_T_TICKET_* but SLA and presence */
		struct proto_sla_alert sla;     /* PROTO_T_TICKET_SLA_* */
		struct proto_agent agent;       /* PROTO_T_AGENT_PRESENCE */
		struct proto_typing typing;     /* PROTO_T_CHAT_TYPING */
		struct proto_merge merge;       /* PROTO_T_CUSTOMER_(UN)MERGED */
		struct proto_ticket_presence presence; /* PROTO_T_TICKET_VIEWING, _TYPING */
	} u;
};

/* A decode error: a gw_err code and a message naming the field. */
struct proto_error {
	int code;
	char message[192];
};

/* proto_type_name - "message.received" etc.; NULL for an invalid type. */
const char *proto_type_name(enum proto_type type);

/* proto_type_parse - name -> type; PROTO_T_NONE when unknown. */
enum proto_type proto_type_parse(const char *name, size_t len);

/*
 * proto_event_init - zeroes `ev`, sets v, type, a fresh random id and ts=now.
 * Returns GW_OK, GW_ENOMEM or GW_EIO (no randomness).
 */
int proto_event_init(struct proto_event *ev, enum proto_type type);

/*
 * proto_event_clear - frees every string and array that `ev` owns and zeroes
 * it. Accepts NULL and a zeroed event. All char* members of a decoded or
 * hand-built event are owned by it (malloc'ed).
 */
void proto_event_clear(struct proto_event *ev);

/*
 * proto_encode - encodes `ev` (borrowed) as a msgpack map into a new buffer
 * stored in *out (caller frees with free()) and its length in *len.
 * Checks required fields and limits as decode does, so nothing encodable is
 * undecodable. Returns GW_OK, GW_EMISSING, GW_ETOOBIG, GW_ETYPE, GW_EPROTO
 * (a string that is not UTF-8 or holds a NUL), GW_ENOMEM;
 * with `err` (may be NULL) filled on failure.
 */
int proto_encode(const struct proto_event *ev, char **out, size_t *len,
		 struct proto_error *err);

/*
 * proto_decode - decodes `len` bytes at `data` (borrowed) into `ev`, which
 * it initializes. On failure `ev` is left cleared (nothing to free) and `err`
 * (may be NULL) says why: GW_EPROTO (not msgpack, not a map, trailing bytes),
 * GW_EVERSION, GW_ETYPE (unknown type, wrong field type), GW_EMISSING,
 * GW_ETOOBIG, GW_ENOMEM.
 */
int proto_decode(const void *data, size_t len, struct proto_event *ev,
		 struct proto_error *err);

/*
 * proto_to_json - the event as a new JSON object (caller json_decref()s), with
 * the same keys as the msgpack map. NULL on allocation failure.
 */
json_t *proto_to_json(const struct proto_event *ev);

/*
 * proto_dump_json - the event as compact JSON text on one line, in a new
 * string (caller frees). NULL on allocation failure.
 */
char *proto_dump_json(const struct proto_event *ev);

/*
 * Records stored by the router reuse the bodies above, encoded alone (no
 * envelope) with the same rules. Ownership as for events.
 */
int proto_customer_encode(const struct proto_customer *c, char **out, size_t *len);
int proto_customer_decode(const void *data, size_t len, struct proto_customer *c,
			  struct proto_error *err);
void proto_customer_clear(struct proto_customer *c);
json_t *proto_customer_to_json(const struct proto_customer *c);

int proto_ticket_encode(const struct proto_ticket *t, char **out, size_t *len);
int proto_ticket_decode(const void *data, size_t len, struct proto_ticket *t,
			struct proto_error *err);
void proto_ticket_clear(struct proto_ticket *t);
json_t *proto_ticket_to_json(const struct proto_ticket *t);

int proto_agent_encode(const struct proto_agent *a, char **out, size_t *len);
int proto_agent_decode(const void *data, size_t len, struct proto_agent *a,
		       struct proto_error *err);
void proto_agent_clear(struct proto_agent *a);

int proto_merge_encode(const struct proto_merge *m, char **out, size_t *len);
int proto_merge_decode(const void *data, size_t len, struct proto_merge *m,
		       struct proto_error *err);
void proto_merge_clear(struct proto_merge *m);

/*
 * proto_msgpack_check - GW_OK when `len` bytes at `data` are exactly one
 * msgpack value of bounded nesting and size, so that msgpack-c may unpack
 * it without reserving memory for counts the bytes do not hold (a 5-byte
 * map header can announce four billion entries). GW_EPROTO (truncated,
 * invalid, too deep, trailing bytes) or GW_ETOOBIG. Use before any
 * msgpack_unpack_next() on bytes from outside the process.
 */
int proto_msgpack_check(const void *data, size_t len);

/*
 * proto_json_from_msgpack - converts any msgpack value (e.g. a command reply)
 * into JSON, for tools; NULL when `data` is not one complete msgpack value or
 * nests deeper than 32 levels. Binary strings become base64-free hex strings.
 */
json_t *proto_json_from_msgpack(const void *data, size_t len);

/*
 * proto_msgpack_pack_json - the reverse: `j` (borrowed) packed with `pk`
 * (a msgpack_packer *, void here so that this header needs no msgpack.h);
 * objects become maps, integers int64, reals float64, null nil. No error of
 * its own: a packer whose buffer runs out of memory leaves the value short.
 */
void proto_msgpack_pack_json(void *pk, const json_t *j);

#endif

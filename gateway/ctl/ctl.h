/*
 * ctl.h - the pieces of gatewayctl (the command-line client), one file per
 * concern:
 *   gatewayctl.c   options, config, dispatch
 *   ctl_client.c   request/reply on the router's command socket, timeouts;
 *                  commands run once per command id (id, answer, retry)
 *   ctl_events.c   tail and replay, gap filling (seqtrack.h)
 *   event_line.c   the readable line of each event type (event_line.h)
 *   ctl_query.c    ticket and customer lookups
 *   ctl_status.c   status from the state directory's run/ files
 *   ctl_send.c     send: a reply through the message.send command
 *   ctl_contacts.c contacts import, customer merge and unmerge
 *   ctl_helpdesk.c ticket close/reopen/assign/priority, agent presence
 *   ctl_quarantine.c  the email connector's quarantine: list, show, reingest
 *   ctl_webhooks.c the webhook cursors of gateway-integration: status, pause,
 *                  resume, rewind
 *   ctl_parse_email.c parse-email: runs gateway-parse-email (email connector)
 *   ctl_telegram.c telegram set-webhook|delete-webhook|info: runs
 *                  gateway-telegram (Telegram connector)
 *
 * Every ctl_cmd_* returns the process exit code (CTL_EXIT_*) and has printed
 * whatever the user needs to know. Single-threaded.
 */
#ifndef GW_CTL_H
#define GW_CTL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <zmq.h>

#include "core/config.h"

struct gw_config_integration;
struct gw_config_routing;

/* Exit codes (docs/cli.md). */
#define CTL_EXIT_OK 0
#define CTL_EXIT_ERROR 1       /* the router answered with an error; bad data */
#define CTL_EXIT_CONFIG 2      /* the config does not load */
#define CTL_EXIT_DOWN 3        /* gatewayd not running, or no answer in time */
#define CTL_EXIT_NOTFOUND 4    /* no such ticket or customer */
#define CTL_EXIT_USAGE 64      /* EX_USAGE */
#define CTL_EXIT_INTERRUPTED 130 /* SIGINT/SIGTERM during a request */

/* send: --param and --attach given at most this many times. */
#define CTL_MAX_VARS 32 /* send --var, as message.send takes */
#define CTL_MAX_PARAMS 32
#define CTL_MAX_ATTACH 16

/* Largest frame accepted from the router; bigger replies are refused. */
#define CTL_MAX_FRAME_BYTES (64LL * 1024 * 1024)

/* What the options and the config resolved to. Strings are borrowed. */
struct ctl {
	const char *publish;   /* router.publish endpoint */
	const char *command;   /* router.command endpoint */
	const char *state_dir;
	long timeout_ms;
	long long heartbeat_ms; /* router.heartbeat_ms, for tail's silence warning */
	int json;              /* --json */
	int has_from, has_to, has_limit;
	uint64_t from, to, limit;
	uint64_t id;           /* ticket / customer / merge ID */
	uint64_t id2;          /* customer merge: the TARGET */
	const char *text;      /* send: the reply's text, NULL if absent */
	const char *channel, *author, *command_id; /* send: options, NULL if absent */
	const char *subject, *tmpl_name, *tmpl_lang; /* send: options, NULL if absent */
	const char *params[CTL_MAX_PARAMS]; /* send: --param, in order */
	size_t n_params;
	const char *vars[CTL_MAX_VARS]; /* send: --var k=v of a canned response */
	size_t n_vars;
	const char *attach[CTL_MAX_ATTACH]; /* send: --attach files */
	size_t n_attach;
	int wait;              /* send --wait */
	int force;             /* send --force: reply over the ticket's assignee */
	char tag_words[2048];  /* ticket tag: "+a -b c", "" if none */
	long wait_ms;          /* how long --wait waits */
	const char *file;      /* backup: the destination; contacts import: the file */
	char *const *files;    /* parse-email: every message file (n_files, borrowed from argv) */
	int n_files;
	const char *format;    /* contacts import: --format csv|jsonl, NULL if absent */
	const char *reason, *agent, *queue; /* helpdesk commands, send: options, NULL if absent */
	const char *name;      /* agent presence: the agent id; keys: the key's name */
	const char *dir;       /* keys generate: --dir, NULL if absent */
	long watch_s;          /* status --watch: seconds between two; 0: once */
	const char *q_sub;     /* quarantine: list, show or reingest */
	const char *q_arg;     /* quarantine: the ID, NULL for list; telegram: the
				* instance; webhooks: SUB */
	const char *q_arg2;    /* webhooks rewind: SEQ; NULL when absent */
	int all;               /* quarantine reingest --all */
	const struct gw_config_integration *integ; /* the config's integration section */
	const char *url;       /* telegram set-webhook: --url, NULL if absent */
	const char *from_s, *to_s; /* --from, --to as given (report: dates) */
	const char *by;        /* report: --by, NULL if absent */
	int csv;               /* report: --csv */
	const struct gw_config_routing *routing; /* the config's routing, NULL when
						 * no config was read */
	const char *config_path; /* the config file read, NULL when none was */
	const struct gw_config_router *bus; /* the CURVE settings (bus_conf),
					     * NULL when no config was read */
	struct gw_config_router bus_conf; /* the config's router section, its
					   * client key from --curve-key */
	void *zctx;            /* ZeroMQ context, created on first use */
	void *req;             /* REQ socket, NULL until the first request */
};

/* Set by the SIGINT/SIGTERM handler; long waits return soon after. */
extern volatile sig_atomic_t ctl_stop;

/* ctl_catch_signals - SIGINT/SIGTERM set ctl_stop (no SA_RESTART). */
void ctl_catch_signals(void);

/* ---- ctl_client.c ---- */

/* A reply: every frame as received. */
struct ctl_reply {
	zmq_msg_t *frames;
	size_t n, cap;
};

/*
 * ctl_request - sends [cmd, args] (args: `len` bytes of msgpack, borrowed)
 * to the command endpoint and waits at most ctl->timeout_ms for the answer.
 * On CTL_EXIT_OK `reply` holds an "ok" reply (free with ctl_reply_free).
 * Otherwise the reason is printed and the exit code returned: CTL_EXIT_DOWN
 * (no answer), CTL_EXIT_ERROR or CTL_EXIT_NOTFOUND (an "error" reply or a
 * malformed one), CTL_EXIT_CONFIG (a bad endpoint), CTL_EXIT_INTERRUPTED.
 */
int ctl_request(struct ctl *ctl, const char *cmd, const void *args, size_t len,
		struct ctl_reply *reply);

/*
 * ctl_bus_setup - before `sock` connects to the router's `endpoint`: CURVE
 * with the config's router key on a tcp:// endpoint when curve_key is set
 * (core/bus.h). CTL_EXIT_OK or CTL_EXIT_CONFIG (the reason printed).
 */
int ctl_bus_setup(struct ctl *ctl, void *sock, const char *endpoint);

/* ctl_reply_free - releases the frames; accepts an empty reply. */
void ctl_reply_free(struct ctl_reply *r);

/* ctl_frame - frame `i` of `r` (borrowed) and its size in *len. */
const void *ctl_frame(const struct ctl_reply *r, size_t i, size_t *len);

/* ctl_frame_json - frame `i` converted from msgpack; new reference or NULL. */
json_t *ctl_frame_json(const struct ctl_reply *r, size_t i);

/*
 * ctl_args_u64 - packs {k1: v1[, k2: v2]} (k2 may be NULL) as msgpack into a
 * new buffer *out (caller frees). Returns 0 or CTL_EXIT_ERROR (no memory).
 */
int ctl_args_u64(const char *k1, uint64_t v1, const char *k2, uint64_t v2, char **out,
		 size_t *len);

/*
 * ctl_command_id - the id of a command the router runs once per id:
 * --command-id, or a random one written into `buf` (a retry with it is
 * safe). Returns the id (borrowed from ctl or buf), or NULL with the reason
 * printed when none can be made.
 */
const char *ctl_command_id(const struct ctl *ctl, char buf[33]);

/*
 * ctl_command - ctl_request for such a command: on CTL_EXIT_OK *res is the
 * answer map (new reference) with "command_id" added. Otherwise *res is
 * NULL, the reason printed, and the exit code that of ctl_request, or
 * CTL_EXIT_ERROR (an answer that is no map, no memory); on CTL_EXIT_DOWN
 * the user is told to retry with the same id, since the command may have
 * run.
 */
int ctl_command(struct ctl *ctl, const char *cmd, const void *args, size_t len,
		const char *command_id, json_t **res);

/* ctl_print_json - `j` (borrowed) as indented JSON on stdout (--json).
 * CTL_EXIT_OK, or CTL_EXIT_ERROR (no memory). */
int ctl_print_json(const json_t *j);

/* ctl_close - closes the sockets and the context; accepts a fresh ctl. */
void ctl_close(struct ctl *ctl);

/* ---- commands ---- */
/* ctl_progress.c: a progress line (count, percent and ETA when the total
 * is known, rate) on stderr for a long job, shown only when stderr is a
 * terminal and `quiet` is 0; the caller's thread only. */
struct ctl_progress {
	int on;
	const char *what;  /* "imported", borrowed */
	uint64_t total;    /* 0: unknown */
	uint64_t done;
	int64_t start_us, shown_us;
};

void ctl_progress_start(struct ctl_progress *p, const char *what, uint64_t total, int quiet);
void ctl_progress_step(struct ctl_progress *p, uint64_t n);
void ctl_progress_end(struct ctl_progress *p); /* the last figures and a newline */

/* ctl_help.c: the global usage; one command's usage (full: with what it
 * does and examples; -1 for an unknown name); the nearest command names to
 * a mistyped word ("did you mean: ticket?"), nothing when none is near. */
void ctl_usage(FILE *f);
int ctl_command_usage(FILE *f, const char *name, int full);
void ctl_suggest(FILE *f, const char *word);
/* ctl_suggest_sub - for "ticket clsoe": "did you mean: ticket close?", or
 * the subcommands of the first word when none is near. */
void ctl_suggest_sub(FILE *f, const char *words);
/* ctl_nearest - the name of names[0..n) nearest to `word` (fewest letters
 * changed), NULL when none is near enough to be a typo of it. */
const char *ctl_nearest(const char *word, const char *const *names, size_t n);
/* ctl_man - the gatewayctl(8) man page (roff) from the same table as the
 * help, with `version` in its header (gateway-ctl-man). */
void ctl_man(FILE *f, const char *version);

int ctl_cmd_tail(struct ctl *ctl);
int ctl_cmd_replay(struct ctl *ctl);
int ctl_cmd_ticket(struct ctl *ctl);
int ctl_cmd_customer(struct ctl *ctl);
int ctl_cmd_status(struct ctl *ctl);
int ctl_cmd_send(struct ctl *ctl);
int ctl_cmd_quarantine(struct ctl *ctl); /* ctl_quarantine.c */
int ctl_cmd_webhooks(struct ctl *ctl);   /* ctl_webhooks.c */
int ctl_cmd_parse_email(struct ctl *ctl); /* ctl_parse_email.c */
int ctl_cmd_telegram(struct ctl *ctl); /* ctl_telegram.c: q_sub, q_arg, url */
int ctl_cmd_contacts_import(struct ctl *ctl); /* ctl_contacts.c */
int ctl_cmd_customer_merge(struct ctl *ctl);
int ctl_cmd_customer_unmerge(struct ctl *ctl);
/* ctl_helpdesk.c: ctl->id the ticket; priority and presence in ctl->text,
 * the agent of presence in ctl->name. */
int ctl_cmd_ticket_close(struct ctl *ctl);
int ctl_cmd_ticket_reopen(struct ctl *ctl);
int ctl_cmd_ticket_assign(struct ctl *ctl);
int ctl_cmd_ticket_priority(struct ctl *ctl);
int ctl_cmd_ticket_tag(struct ctl *ctl);
int ctl_cmd_agent_presence(struct ctl *ctl);
int ctl_cmd_chat_typing(struct ctl *ctl);
/* ctl_keys.c: the key's name in ctl->name, --dir in ctl->dir. */
int ctl_cmd_keys_generate(struct ctl *ctl);
int ctl_cmd_backup(struct ctl *ctl); /* ctl_backup.c */
int ctl_cmd_report(struct ctl *ctl); /* ctl_report.c */
int ctl_cmd_ticket_merge(struct ctl *ctl); /* ctl_ticket_merge.c */
int ctl_cmd_ticket_split(struct ctl *ctl); /* ctl_ticket_merge.c */

/* ---- shared helpers (event_line.c) ---- */

/* ctl_put_value - prints `s` bare, or JSON-quoted if it has blanks, quotes or '='. */
void ctl_put_value(FILE *f, const char *s);

/* ctl_excerpt - the first `max` characters of UTF-8 `s`, "..." if cut, into buf. */
void ctl_excerpt(const char *s, size_t max, char *buf, size_t size);

/* ctl_format_time - ms since the epoch as "2026-11-23T06:40:00Z"; "-" for 0. */
void ctl_format_time(int64_t ms, char *buf, size_t size);

#endif

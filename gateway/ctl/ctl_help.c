/*
 * ctl_help.c - the help of every gatewayctl command, from one table: the
 * global usage (`gatewayctl --help`) lists each command's synopsis and
 * summary, `gatewayctl COMMAND --help` prints its synopsis, what it does and
 * examples, and a mistyped command is answered with the nearest names.
 */
#include "gateway/ctl/ctl.h"

#include <string.h>

#include "core/config.h"

struct help {
	const char *name;     /* "ticket close" */
	const char *synopsis; /* operands and options */
	const char *summary;  /* one line */
	const char *details;  /* what it does, options, examples; lines end in \n */
};

static const struct help helps[] = {
	{"tail", "[--from N] [--json]", "print bus events as they come (Ctrl-C stops)",
	 "Subscribes to the bus and prints one line per event (--json: the event as\n"
	 "JSON). A gap in the sequence is filled by a replay, so no event is missed;\n"
	 "--from N first prints the stored events from seq N.\n"
	 "\nexamples:\n  gatewayctl tail\n  gatewayctl tail --from 1 --json | jq .type\n"},
	{"replay", "--from N [--to M] [--limit L] [--json]",
	 "print stored events from seq N, then exit",
	 "Reads the event log from seq N (to M, or at most L events). On a terminal\n"
	 "a progress line (count, rate, ETA) shows on stderr when stdout is a file.\n"
	 "\nexamples:\n  gatewayctl replay --from 1 --limit 20\n"
	 "  gatewayctl replay --from 1 --json > events.jsonl\n"},
	{"status", "[--json] [--watch[=SECONDS]]", "processes, their state and counters",
	 "Reads the status file gatewayd keeps in the state directory: every\n"
	 "process, its state, restarts and counters, and each connector's replies.\n"
	 "--watch repeats it every SECONDS (default 2) until Ctrl-C.\n"
	 "\nexamples:\n  gatewayctl status\n  gatewayctl status --watch=5\n"},
	{"ticket", "ID [--json]", "a ticket, its messages (and trace with --json)",
	 "\nexamples:\n  gatewayctl ticket 12\n  gatewayctl ticket 12 --json | jq .trace\n"},
	{"ticket close", "ID [--reason R] [--command-id ID] [--json]",
	 "close a ticket (its SLA clocks stop)",
	 "\nexample:\n  gatewayctl ticket close 12 --reason \"answered by phone\"\n"},
	{"ticket reopen", "ID [--reason R] [--command-id ID] [--json]",
	 "reopen a closed ticket", "\nexample:\n  gatewayctl ticket reopen 12\n"},
	{"ticket assign", "ID [--agent A] [--queue Q] [--command-id ID] [--json]",
	 "assign a ticket to an agent or a queue",
	 "Without --agent the queue's rules pick the agent.\n"
	 "\nexamples:\n  gatewayctl ticket assign 12 --agent alice\n"
	 "  gatewayctl ticket assign 12 --queue billing\n"},
	{"ticket priority", "ID low|normal|high|urgent [--command-id ID] [--json]",
	 "change a ticket's priority", "\nexample:\n  gatewayctl ticket priority 12 high\n"},
	{"ticket tag", "ID +TAG|-TAG... [--command-id ID] [--json]", "add and remove a ticket's tags",
	 "+TAG (or TAG) adds, -TAG removes; tags are lowercase letters, digits,\n"
	 "- _ . : (up to 64). Rules add tags too (routing.tag_rules).\n"
	 "\nexample:\n  gatewayctl ticket tag 12 +vip -billing\n"},
	{"ticket merge", "TICKET TARGET [--command-id ID] [--json]",
	 "merge TICKET into TARGET, a ticket of the same customer",
	 "TARGET gets TICKET's messages and trace and keeps its own SLA clocks;\n"
	 "TICKET is closed and points to TARGET, where later messages naming it go.\n"
	 "\nexample:\n  gatewayctl ticket merge 14 12\n"},
	{"ticket split", "TICKET MESSAGE_SEQ [--command-id ID] [--json]",
	 "move a message of TICKET to a new ticket linked to it",
	 "MESSAGE_SEQ is the seq of the message (gatewayctl ticket TICKET lists them).\n"
	 "\nexample:\n  gatewayctl ticket split 12 311\n"},
	{"agent presence", "AGENT online|away|offline [--command-id ID] [--json]",
	 "set an agent's presence",
	 "An agent going offline hands their open tickets on to others.\n"
	 "\nexample:\n  gatewayctl agent presence alice away\n"},
	{"chat typing", "ACCOUNT ADDRESS [--json]",
	 "show \"Agent is typing\" in a live chat",
	 "ACCOUNT is the livechat connector's name, ADDRESS the conversation\n"
	 "(from.address of its messages). Nothing is stored; send it again every\n"
	 "few seconds while typing.\n"
	 "\nexample:\n  gatewayctl chat typing livechat visitor:5f0c...\n"},
	{"customer", "ID [--json]", "a customer and their tickets",
	 "\nexample:\n  gatewayctl customer 4\n"},
	{"customer merge", "SOURCE TARGET [--command-id ID] [--json]",
	 "merge customer SOURCE into TARGET",
	 "SOURCE's identities and tickets move to TARGET; the merge can be undone.\n"
	 "\nexample:\n  gatewayctl customer merge 7 4\n"},
	{"customer unmerge", "MERGE_ID [--command-id ID] [--json]", "undo a merge",
	 "\nexample:\n  gatewayctl customer unmerge 3\n"},
	{"send", "TICKET [TEXT] [--channel C] [--author NAME] [--subject S]\n"
		 "       [--template NAME --lang L [--param P]...] [--attach FILE]...\n"
		 "       [--template NAME [--var K=V]...]\n"
		 "       [--agent ID [--force]] [--wait] [--command-id ID] [--json]",
	 "reply to the customer of a ticket on their channel",
	 "The reply is stored, published and handed to the channel's connector.\n"
	 "--wait waits for the delivery's first outcome and exits 1 when it failed,\n"
	 "printing the reason. --command-id makes a retried command send once.\n"
	 "--template NAME without --lang sends a canned response of the config\n"
	 "(automation.templates) in the customer's language, its variables\n"
	 "filled ({{customer.name}}, {{ticket.id}}, ... and each --var); one\n"
	 "nothing defines is an error and nothing is sent.\n"
	 "--agent names the agent replying: a ticket assigned to another agent\n"
	 "refuses the reply unless --force (recorded on the reply and the ticket).\n"
	 "\nexamples:\n  gatewayctl send 12 \"Your order left today.\" --wait\n"
	 "  gatewayctl send 12 \"Taking over.\" --agent bob --force\n"
	 "  gatewayctl send 12 --template order_update --lang en --param 4711\n"
	 "  gatewayctl send 12 --template shipped --var tracking=1Z999\n"
	 "  gatewayctl send 12 \"The invoice\" --attach invoice.pdf\n"},
	{"quarantine", "list|show ID|reingest ID|reingest --all [--json]",
	 "messages set aside, and why",
	 "list: every message kept because it could not be read; show: one of\n"
	 "them; reingest: parse it again and ingest it if it now passes; --all:\n"
	 "every listed one, with a progress line on a terminal (done/total, rate,\n"
	 "ETA) and a summary.\n"
	 "\nexamples:\n  gatewayctl quarantine list\n  gatewayctl quarantine reingest api/3\n"
	 "  gatewayctl quarantine reingest --all\n"},
	{"webhooks", "status [--json] | pause SUB | resume SUB | rewind SUB SEQ",
	 "the webhook subscriptions' cursors",
	 "status: each subscription's cursor, pending events, state, failures and\n"
	 "last error; pause and resume its deliveries; rewind: deliver again from\n"
	 "seq SEQ. Works on <state_dir>/integration/ directly (docs/integration.md).\n"
	 "\nexamples:\n  gatewayctl webhooks status\n  gatewayctl webhooks rewind helpdesk 1000\n"},
	{"parse-email", "FILE... [--json]", "the event each message file would become (JSON)",
	 "Several files: one JSON object per line, each with its \"file\"; the exit\n"
	 "code is the worst of the files'.\n"
	 "\nexamples:\n  gatewayctl parse-email message.eml\n"
	 "  gatewayctl parse-email saved/*.eml\n"},
	{"telegram", "set-webhook|delete-webhook|info INSTANCE [--url URL]",
	 "a Telegram bot's webhook at Telegram",
	 "set-webhook registers the instance's webhook URL (--url, or its webhook_url)\n"
	 "with its secret token and the update kinds it reads; delete-webhook removes\n"
	 "it, so that polling works again; info prints what Telegram knows (JSON).\n"
	 "\nexamples:\n  gatewayctl telegram set-webhook support-bot\n"
	 "  gatewayctl telegram info support-bot\n"},
	{"contacts import", "FILE [--format csv|jsonl] [--json]",
	 "import a contact directory (safe to repeat)",
	 "Each row becomes or updates a customer with its identities. On a terminal\n"
	 "a progress line (count, rate, ETA) shows on stderr.\n"
	 "\nexample:\n  gatewayctl contacts import crm.csv\n"},
	{"keys generate", "NAME [--dir DIR] [--json]",
	 "a CURVE key pair NAME.key and NAME.pub",
	 "For tcp:// endpoints (docs/security.md): NAME.key stays with its owner,\n"
	 "NAME.pub goes into the router's allow-lists.\n"
	 "\nexample:\n  gatewayctl keys generate helpdesk --dir /etc/omnigate/keys\n"},
	{"backup", "DIR [--json]", "a consistent copy of every LMDB environment",
	 "Copies (and compacts) the router's store and every other LMDB environment\n"
	 "of the state directory into DIR while the gateway runs, with a manifest.\n"
	 "Restore: stop gatewayd, replace the state directory's files by the copies\n"
	 "(docs/operations.md).\n"
	 "\nexample:\n  gatewayctl backup /var/backups/omnigate/$(date +%F)\n"},
	{"report", "--from DATE --to DATE [--by channel|queue|agent|day|tag] [--csv|--json]",
	 "helpdesk figures computed from the event log",
	 "Tickets opened, reopened, closed and open at the end of the day (backlog);\n"
	 "first-response, resolution and next-response time (median, p90) in the\n"
	 "business hours of each ticket's queue; SLA compliance; first-contact\n"
	 "resolution; CSAT. DATEs are UTC days, both included; --by day is the\n"
	 "default. --by tag counts a ticket in the row of each tag it has when an\n"
	 "event happens (\"-\": none), so rows do not add up to the total.\n"
	 "Reads the store read-only beside the router (docs/reports.md).\n"
	 "\nexample:\n  gatewayctl report --from 2026-03-02 --to 2026-03-08 --by queue --csv\n"},
};

#define N_HELPS (sizeof(helps) / sizeof(helps[0]))

static const struct help *help_of(const char *name)
{
	for (size_t i = 0; i < N_HELPS; i++)
		if (strcmp(helps[i].name, name) == 0)
			return &helps[i];
	return NULL;
}

/* The options every command takes, for the usage and the man page. */
static const struct {
	const char *name; /* "--config" */
	const char *arg;  /* "FILE", or NULL */
	const char *text;
} globals[] = {
	{"--config", "FILE", "config file (default "}, /* + the path, global_text */
	{"--state-dir", "DIR", "state directory (default: the config's state_dir)"},
	{"--endpoint-publish", "E", "bus endpoint (default: the config's router.publish)"},
	{"--endpoint-command", "E", "command endpoint (default: router.command)"},
	{"--curve-key", "FILE", "CURVE client key pair to prove on tcp:// (default: "
				"$GATEWAY_CURVE_KEY, else router.curve_client_key, else the router's "
				"curve_key)"},
	{"--timeout-ms", "N", "wait at most N ms for each answer"},
	{"-h, --help", NULL, "this text; after a command, that command's help"},
	{"--version", NULL, "the version"},
};

#define N_GLOBALS (sizeof(globals) / sizeof(globals[0]))
#define EXIT_CODES                                                                               \
	"0 ok, 1 error, 2 bad config, 3 gatewayd not running or no\n"                            \
	"answer, 4 not found, 64 bad usage.\n"

/* global_text - the text of option i; --config's ends with the default
 * path, which only the running program knows. */
static void global_text(size_t i, char *buf, size_t size)
{
	if (i == 0)
		snprintf(buf, size, "%s%s)", globals[i].text, gw_config_default_path());
	else
		snprintf(buf, size, "%s", globals[i].text);
}

void ctl_usage(FILE *f)
{
	char opt[64], text[256];

	fprintf(f, "usage: gatewayctl [OPTIONS] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < N_HELPS; i++)
		fprintf(f, "  %s %s\n      %s\n", helps[i].name, helps[i].synopsis,
			helps[i].summary);
	fprintf(f, "\noptions:\n");
	for (size_t i = 0; i < N_GLOBALS; i++) {
		snprintf(opt, sizeof(opt), "%s%s%s", globals[i].name, globals[i].arg ? " " : "",
			 globals[i].arg ? globals[i].arg : "");
		global_text(i, text, sizeof(text));
		fprintf(f, "  %-24s %s\n", opt, text);
	}
	fprintf(f, "\nexit codes: " EXIT_CODES);
}

int ctl_command_usage(FILE *f, const char *name, int full)
{
	const struct help *h = help_of(name);

	if (!h)
		return -1;
	fprintf(f, "usage: gatewayctl %s %s\n", h->name, h->synopsis);
	if (full)
		fprintf(f, "\n%s.\n%s%s", h->summary, h->details[0] == '\n' ? "" : "\n",
			h->details);
	else
		fprintf(f, "(gatewayctl %s --help for more)\n", h->name);
	return 0;
}

/* distance - the edit distance of a and b (each at most 63 characters
 * taken), as the smallest count of inserted, deleted or changed letters. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strnlen(a, 63), lb = strnlen(b, 63), prev[64], cur[64];

	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(prev));
	}
	return prev[lb];
}

/* first_word - the first word of a command name into buf. */
static const char *first_word(const char *name, char *buf, size_t size)
{
	size_t n = strcspn(name, " ");

	snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), name);
	return buf;
}

/* near_enough - a distance a typo can explain: a third of the word, or 2. */
static int near_enough(size_t d, const char *word)
{
	return d <= strlen(word) / 3 + 1 || d <= 2;
}

const char *ctl_nearest(const char *word, const char *const *names, size_t n)
{
	size_t best = (size_t)-1;
	const char *name = NULL;

	for (size_t i = 0; i < n; i++) {
		size_t d = distance(word, names[i]);

		if (d < best) {
			best = d;
			name = names[i];
		}
	}
	return name && near_enough(best, word) ? name : NULL;
}

void ctl_suggest_sub(FILE *f, const char *words)
{
	const char *names[N_HELPS], *best;
	size_t n = 0, w = strcspn(words, " ");

	for (size_t i = 0; i < N_HELPS; i++)
		if (strncmp(helps[i].name, words, w) == 0 && helps[i].name[w] == ' ')
			names[n++] = helps[i].name;
	best = ctl_nearest(words, names, n);
	if (best)
		fprintf(f, "did you mean: %s?\n", best);
	else if (n) {
		fprintf(f, "%.*s commands:", (int)w, words);
		for (size_t i = 0; i < n; i++)
			fprintf(f, " %s%s", names[i] + w + 1, i + 1 < n ? "," : "\n");
	}
}

void ctl_suggest(FILE *f, const char *word)
{
	size_t best = (size_t)-1;
	char w[64], last[64] = "";

	for (size_t i = 0; i < N_HELPS; i++) {
		size_t d = distance(word, first_word(helps[i].name, w, sizeof(w)));

		if (d < best)
			best = d;
	}
	if (!near_enough(best, word))
		return;
	fprintf(f, "did you mean:");
	for (size_t i = 0; i < N_HELPS; i++) {
		first_word(helps[i].name, w, sizeof(w));
		if (distance(word, w) != best || strcmp(w, last) == 0)
			continue;
		fprintf(f, " %s", w);
		snprintf(last, sizeof(last), "%s", w);
	}
	fprintf(f, "?\n");
}

/* ---- the man page (gateway-ctl-man) ---- */

/* roff - `s` (up to `n` bytes) with roff's specials escaped: '-', '\\',
 * and a '.' or '\'' that would start a request. */
static void roff(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i]; i++) {
		if (i == 0 && (s[i] == '.' || s[i] == '\''))
			fputs("\\&", f);
		if (s[i] == '-' || s[i] == '\\')
			fputc('\\', f);
		fputc(s[i] == '\n' ? ' ' : s[i], f);
	}
}

/* man_synopsis - a synopsis on one line (send's spans several). */
static void man_synopsis(FILE *f, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, "\n");

		roff(f, s, n);
		s += n;
		if (*s == '\n') {
			fputc(' ', f);
			s += 1 + strspn(s + 1, " ");
		}
	}
}

/* man_details - a command's details: text lines filled, examples (lines
 * indented by two spaces) verbatim, the "example(s):" lines left out. */
static void man_details(FILE *f, const char *d)
{
	int verbatim = 0;

	while (*d) {
		size_t n = strcspn(d, "\n");

		if (n >= 2 && d[0] == ' ' && d[1] == ' ') {
			fputs(verbatim ? "" : ".RS\n.nf\n", f);
			verbatim = 1;
			roff(f, d + 2, n - 2);
			fputc('\n', f);
		} else if (n && strncmp(d, "example", 7) != 0) {
			fputs(verbatim ? ".fi\n.RE\n" : "", f);
			verbatim = 0;
			roff(f, d, n);
			fputc('\n', f);
		}
		d += n + (d[n] == '\n');
	}
	fputs(verbatim ? ".fi\n.RE\n" : "", f);
}

static void man_head(FILE *f, const char *version)
{
	fprintf(f, ".\\\" Generated from gateway/ctl/ctl_help.c by gateway-ctl-man: do not edit.\n"
		   ".TH GATEWAYCTL 8 \"\" \"omnigate %s\" \"System Administration\"\n"
		   ".SH NAME\ngatewayctl \\- command\\-line client of the Omnigate gateway\n"
		   ".SH SYNOPSIS\n.B gatewayctl\n.RI [ OPTIONS ]\n.I COMMAND\n.RI [ ARGS ]\n"
		   ".br\n.B gatewayctl\n.I COMMAND\n.B \\-\\-help\n"
		   ".SH DESCRIPTION\n.B gatewayctl\n"
		   "reads the gateway's events, tickets and customers, sends replies and\n"
		   "helpdesk commands, and looks after the gateway: status, quarantine,\n"
		   "contacts, webhooks, keys, reports and backups. It finds the router's\n"
		   "sockets and the state directory from the config.\n"
		   ".B gatewayctl COMMAND \\-\\-help\n"
		   "prints that command's usage, what it does and examples; a mistyped\n"
		   "command or option is answered with the nearest one.\n",
		version);
}

void ctl_man(FILE *f, const char *version)
{
	char text[256];

	man_head(f, version);
	fputs(".SH COMMANDS\n", f);
	for (size_t i = 0; i < N_HELPS; i++) {
		fputs(".TP\n.BR \"", f);
		roff(f, helps[i].name, strlen(helps[i].name));
		fputs("\" \" ", f);
		man_synopsis(f, helps[i].synopsis);
		fputs("\"\n", f);
		roff(f, helps[i].summary, strlen(helps[i].summary));
		fputs(".\n.br\n", f);
		man_details(f, helps[i].details);
	}
	fputs(".SH OPTIONS\n", f);
	for (size_t i = 0; i < N_GLOBALS; i++) {
		fputs(".TP\n.B \"", f);
		roff(f, globals[i].name, strlen(globals[i].name));
		fputs(globals[i].arg ? "\" " : "\"\n", f);
		if (globals[i].arg)
			fprintf(f, "%s\n", globals[i].arg);
		global_text(i, text, sizeof(text));
		roff(f, text, strlen(text));
		fputs(".\n", f);
	}
	fputs(".SH EXIT STATUS\n" EXIT_CODES ".SH SEE ALSO\n.BR gatewayd (8).\n"
	      "The project's docs/cli.md describes every command in full, docs/operations.md\n"
	      "the gateway's operation.\n", f);
}

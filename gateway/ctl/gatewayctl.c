/*
 * gatewayctl.c - the gateway's command-line client: options, config, and
 * dispatch to the commands in ctl_*.c (see ctl.h). Options may come before
 * or after the command; each command accepts only its own.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "gateway/ctl/ctl.h"

#ifndef GW_VERSION
#define GW_VERSION "0.0.0"
#endif

#define TIMEOUT_DEFAULT_MS 5000
#define WAIT_DEFAULT_MS 30000 /* send --wait, unless --timeout-ms says otherwise */
#define TIMEOUT_MAX_MS 3600000

/* Command options; a command lists those it accepts. */
#define OPT_JSON 1u
#define OPT_FROM 2u
#define OPT_TO 4u
#define OPT_LIMIT 8u
#define OPT_CHANNEL 16u
#define OPT_AUTHOR 32u
#define OPT_COMMAND_ID 64u
#define OPT_FORMAT 128u
#define OPT_REASON 256u
#define OPT_AGENT 512u
#define OPT_QUEUE 1024u
#define OPT_SEND_EXTRA 2048u /* --template, --lang, --param, --var, --attach, --subject, --wait,
			      * --force */
#define OPT_DIR 4096u
#define OPT_URL 8192u
#define OPT_WATCH 16384u
#define OPT_BY 32768u
#define OPT_CSV 65536u
#define OPT_ALL 131072u /* quarantine reingest --all */
#define OPT_COUNT 18

/* What a command needs resolved before it runs. */
#define NEED_PUBLISH 1u
#define NEED_COMMAND 2u
#define NEED_STATE 4u
#define NEED_ID 8u
#define NEED_FILE 16u /* one FILE operand */
#define NEED_SUB 32u  /* a subcommand and an optional operand */
#define NEED_TEXT 64u /* a second operand: the text */
#define NEED_ID2 128u /* a second operand: another ID */
#define NEED_NAME 256u /* a first operand that is a name (an agent), not a number */
#define NEED_TEXT_OPT 512u /* the text may be left out (send with a template or files) */
#define NEED_FILES 1024u /* one FILE operand or more */

/* The options of the helpdesk commands. */
#define HD_OPTS (OPT_JSON | OPT_COMMAND_ID)

struct command {
	const char *name;
	int (*run)(struct ctl *ctl);
	unsigned opts;
	unsigned needs;
	const char *const *subs; /* NEED_SUB: its subcommands, NULL-terminated */
};

static const char *const quarantine_subs[] = {"list", "show", "reingest", NULL};
static const char *const webhooks_subs[] = {"status", "pause", "resume", "rewind", NULL};
static const char *const telegram_subs[] = {"set-webhook", "delete-webhook", "info", NULL};

static const struct command commands[] = {
	{"tail", ctl_cmd_tail, OPT_JSON | OPT_FROM, NEED_PUBLISH | NEED_COMMAND},
	{"replay", ctl_cmd_replay, OPT_JSON | OPT_FROM | OPT_TO | OPT_LIMIT, NEED_COMMAND},
	{"status", ctl_cmd_status, OPT_JSON | OPT_WATCH, NEED_STATE},
	{"ticket", ctl_cmd_ticket, OPT_JSON, NEED_COMMAND | NEED_ID},
	{"customer", ctl_cmd_customer, OPT_JSON, NEED_COMMAND | NEED_ID},
	{"send", ctl_cmd_send,
	 OPT_JSON | OPT_CHANNEL | OPT_AUTHOR | OPT_COMMAND_ID | OPT_SEND_EXTRA | OPT_AGENT,
	 NEED_COMMAND | NEED_STATE | NEED_ID | NEED_TEXT | NEED_TEXT_OPT},
	{"quarantine", ctl_cmd_quarantine, OPT_JSON | OPT_ALL, NEED_STATE | NEED_SUB,
	 quarantine_subs},
	{"webhooks", ctl_cmd_webhooks, OPT_JSON, NEED_STATE | NEED_SUB, webhooks_subs},
	{"parse-email", ctl_cmd_parse_email, OPT_JSON, NEED_FILES},
	{"telegram", ctl_cmd_telegram, OPT_URL, NEED_STATE | NEED_SUB, telegram_subs},
	/* Two-word commands: the first word alone may be another command. */
	{"contacts import", ctl_cmd_contacts_import, OPT_JSON | OPT_FORMAT,
	 NEED_COMMAND | NEED_FILE},
	{"customer merge", ctl_cmd_customer_merge, OPT_JSON | OPT_COMMAND_ID,
	 NEED_COMMAND | NEED_ID | NEED_ID2},
	{"customer unmerge", ctl_cmd_customer_unmerge, OPT_JSON | OPT_COMMAND_ID,
	 NEED_COMMAND | NEED_ID},
	{"ticket close", ctl_cmd_ticket_close, HD_OPTS | OPT_REASON, NEED_COMMAND | NEED_ID},
	{"ticket reopen", ctl_cmd_ticket_reopen, HD_OPTS | OPT_REASON, NEED_COMMAND | NEED_ID},
	{"ticket assign", ctl_cmd_ticket_assign, HD_OPTS | OPT_AGENT | OPT_QUEUE,
	 NEED_COMMAND | NEED_ID},
	{"ticket priority", ctl_cmd_ticket_priority, HD_OPTS, NEED_COMMAND | NEED_ID | NEED_TEXT},
	{"ticket tag", ctl_cmd_ticket_tag, HD_OPTS, NEED_COMMAND | NEED_ID},
	{"ticket merge", ctl_cmd_ticket_merge, HD_OPTS, NEED_COMMAND | NEED_ID | NEED_ID2},
	{"ticket split", ctl_cmd_ticket_split, HD_OPTS, NEED_COMMAND | NEED_ID | NEED_ID2},
	{"agent presence", ctl_cmd_agent_presence, HD_OPTS, NEED_COMMAND | NEED_NAME | NEED_TEXT},
	{"chat typing", ctl_cmd_chat_typing, HD_OPTS, NEED_COMMAND | NEED_NAME | NEED_TEXT},
	{"keys generate", ctl_cmd_keys_generate, OPT_JSON | OPT_DIR, NEED_NAME},
	{"backup", ctl_cmd_backup, OPT_JSON, NEED_STATE | NEED_FILE},
	{"report", ctl_cmd_report, OPT_JSON | OPT_CSV | OPT_FROM | OPT_TO | OPT_BY, NEED_STATE},
};

struct args {
	const char *config;
	const char *state_dir;
	const char *publish;
	const char *command;
	char *curve_key; /* --curve-key, else $GATEWAY_CURVE_KEY; NULL: the config's */
	unsigned seen; /* OPT_* given */
	int help;      /* --help: the command's help (or the global one) */
	const struct command *cmd;
	const char *bad; /* the first option getopt refused, NULL: none */
	int bad_opt;     /* its optopt: 0 for an unknown long option */
};

/* The command whose usage an error prints; NULL: the global usage. */
static const char *usage_cmd;

static void usage(FILE *f)
{
	if (!usage_cmd || ctl_command_usage(f, usage_cmd, 0) != 0)
		ctl_usage(f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "gatewayctl: " and the message, then the usage; EX_USAGE. */
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gatewayctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage(stderr);
	return CTL_EXIT_USAGE;
}

/* A whole decimal number in [min, max]; no sign, blanks or trailing text. */
static int parse_u64(const char *s, const char *what, uint64_t min, uint64_t max,
		     uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	fprintf(stderr, "gatewayctl: %s: '%s' is not a number from %llu to %llu\n", what, s,
		(unsigned long long)min, (unsigned long long)max);
	return CTL_EXIT_USAGE;
}

/* Every long option; opt_bit says which command options they are. */
static const struct option longopts[] = {
	{"config", required_argument, NULL, 'c'},
	{"state-dir", required_argument, NULL, 's'},
	{"endpoint-publish", required_argument, NULL, 'P'},
	{"endpoint-command", required_argument, NULL, 'C'},
	{"curve-key", required_argument, NULL, 'K'},
	{"timeout-ms", required_argument, NULL, 't'},
	{"json", no_argument, NULL, 'j'},
	{"from", required_argument, NULL, 'f'},
	{"to", required_argument, NULL, 'T'},
	{"limit", required_argument, NULL, 'l'},
	{"channel", required_argument, NULL, 'H'},
	{"author", required_argument, NULL, 'A'},
	{"command-id", required_argument, NULL, 'I'},
	{"format", required_argument, NULL, 'F'},
	{"reason", required_argument, NULL, 'R'},
	{"agent", required_argument, NULL, 'G'},
	{"queue", required_argument, NULL, 'Q'},
	{"template", required_argument, NULL, 'M'},
	{"lang", required_argument, NULL, 'L'},
	{"param", required_argument, NULL, 'p'},
	{"var", required_argument, NULL, 'v'},
	{"attach", required_argument, NULL, 'a'},
	{"subject", required_argument, NULL, 'S'},
	{"wait", no_argument, NULL, 'W'},
	{"force", no_argument, NULL, 'Z'},
	{"dir", required_argument, NULL, 'D'},
	{"url", required_argument, NULL, 'U'},
	{"watch", optional_argument, NULL, 'w'},
	{"by", required_argument, NULL, 'B'},
	{"csv", no_argument, NULL, 'X'},
	{"all", no_argument, NULL, 'Y'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* opt_bit - the OPT_* of a long option's val; 0 for the global options. */
static unsigned opt_bit(int val)
{
	static const char bits[OPT_COUNT] = {'j', 'f', 'T', 'l', 'H', 'A', 'I', 'F', 'R',
					      'G', 'Q', 0,   'D', 'U', 'w', 'B', 'X', 'Y'};

	if (val && strchr("MLpvaSWZ", val))
		return OPT_SEND_EXTRA;
	for (unsigned i = 0; i < OPT_COUNT; i++)
		if (bits[i] && bits[i] == val)
			return 1u << i;
	return 0;
}

/* peek_command - the command the operands at optind name, NULL: none. */
static const struct command *peek_command(int argc, char **argv)
{
	const struct command *c = NULL;
	char two[64];

	if (optind + 1 < argc) {
		snprintf(two, sizeof(two), "%s %s", argv[optind], argv[optind + 1]);
		c = find_command(two);
	}
	return c ? c : optind < argc ? find_command(argv[optind]) : NULL;
}

/* suggest_option - "did you mean: --watch?" for a long option near `bad`
 * among those of `cmd` (all, when NULL) and the global ones. */
static void suggest_option(const char *bad, const struct command *cmd)
{
	const char *names[sizeof(longopts) / sizeof(longopts[0])], *near;
	char word[64];
	size_t n = 0;

	if (bad[0] != '-' || bad[1] != '-')
		return;
	snprintf(word, sizeof(word), "%.*s", (int)strcspn(bad + 2, "="), bad + 2);
	for (size_t i = 0; longopts[i].name; i++) {
		unsigned bit = opt_bit(longopts[i].val);

		if (!cmd || !bit || (cmd->opts & bit))
			names[n++] = longopts[i].name;
	}
	near = ctl_nearest(word, names, n);
	if (near && strcmp(near, word) != 0)
		fprintf(stderr, "did you mean: --%s?\n", near);
}

/*
 * bad_option - the answer to an option getopt refused: what is wrong, the
 * nearest option of the command, and the command's usage (not the global
 * one); EX_USAGE.
 */
static int bad_option(int argc, char **argv, const struct args *a)
{
	const struct command *cmd = peek_command(argc, argv);
	int is_long = a->bad[0] == '-' && a->bad[1] == '-';

	if (!is_long)
		fprintf(stderr, "gatewayctl: unknown option '-%c'\n", a->bad_opt ? a->bad_opt : '?');
	else if (!a->bad_opt)
		fprintf(stderr, "gatewayctl: unknown option '%.*s'\n", (int)strcspn(a->bad, "="),
			a->bad);
	else
		fprintf(stderr, "gatewayctl: option '%.*s' %s\n", (int)strcspn(a->bad, "="), a->bad,
			strchr(a->bad, '=') ? "takes no value" : "needs a value");
	if (is_long && !a->bad_opt)
		suggest_option(a->bad, cmd);
	if (cmd)
		ctl_command_usage(stderr, cmd->name, 0);
	else
		fprintf(stderr, "(gatewayctl --help lists the commands and options)\n");
	return CTL_EXIT_USAGE;
}

/* unknown_sub - "ticket clsoe": the nearest subcommand; EX_USAGE. */
static int unknown_sub(const char *word, const char *sub)
{
	char two[128];

	snprintf(two, sizeof(two), "%s %s", word, sub);
	fprintf(stderr, "gatewayctl: unknown command '%s'\n", two);
	ctl_suggest_sub(stderr, two);
	fprintf(stderr, "(gatewayctl --help lists the commands)\n");
	return CTL_EXIT_USAGE;
}

/* check_sub - a NEED_SUB command's subcommand is one of its own: -1 to go
 * on, or EX_USAGE with the nearest one and the command's usage. */
static int check_sub(const struct command *cmd, const char *sub)
{
	const char *near;
	size_t n = 0;

	if (!cmd->subs)
		return -1;
	while (cmd->subs[n])
		if (strcmp(cmd->subs[n++], sub) == 0)
			return -1;
	fprintf(stderr, "gatewayctl: unknown subcommand '%s %s'\n", cmd->name, sub);
	near = ctl_nearest(sub, cmd->subs, n);
	if (near)
		fprintf(stderr, "did you mean: %s %s?\n", cmd->name, near);
	ctl_command_usage(stderr, cmd->name, 0);
	return CTL_EXIT_USAGE;
}

/* has_subcommands - `word` begins a two-word command ("contacts"). */
static int has_subcommands(const char *word)
{
	size_t n = strlen(word);

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strncmp(commands[i].name, word, n) == 0 && commands[i].name[n] == ' ')
			return 1;
	return 0;
}

/*
 * find_words - the command at argv[optind]: a two-word one ("customer
 * merge") when the next operand makes one, else the one-word one. *words
 * says how many operands it took; -1 (and usage printed) when none.
 */
static int find_words(int argc, char **argv, struct args *a, int *words)
{
	char two[64];

	if (optind + 1 < argc) {
		snprintf(two, sizeof(two), "%s %s", argv[optind], argv[optind + 1]);
		a->cmd = find_command(two);
		*words = 2;
		if (a->cmd)
			return -1;
	}
	*words = 1;
	a->cmd = find_command(argv[optind]);
	/* "ticket clsoe 3": a word that is no ID after a family of commands. */
	if (has_subcommands(argv[optind]) && optind + 1 < argc &&
	    !(a->cmd && argv[optind + 1][0] >= '0' && argv[optind + 1][0] <= '9'))
		return unknown_sub(argv[optind], argv[optind + 1]);
	if (a->cmd)
		return -1;
	if (has_subcommands(argv[optind]))
		return usage_error("%s needs a subcommand (see --help)", argv[optind]);
	fprintf(stderr, "gatewayctl: unknown command '%s'\n", argv[optind]);
	ctl_suggest(stderr, argv[optind]);
	fprintf(stderr, "(gatewayctl --help lists the commands)\n");
	return CTL_EXIT_USAGE;
}

/* tag_word - whether `s` is a word of `ticket tag`: [+-]tag, not an option. */
static int tag_word(const char *s)
{
	if (s[0] == '-' && s[1] == '-')
		return 0;
	if (s[0] == '+' || s[0] == '-')
		s++;
	return *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			       "-_.:") == strlen(s);
}

/* takes_value - a long option written without "=" whose value follows. */
static int takes_value(const char *s)
{
	static const char *const flags[] = {"--json", "--help", "--wait", "--force", "--watch", "--csv",
					    "--all", "--version", NULL};

	if (s[0] != '-' || s[1] != '-' || strchr(s, '='))
		return 0;
	for (size_t i = 0; flags[i]; i++)
		if (strcmp(s, flags[i]) == 0)
			return 0;
	return 1;
}

/*
 * take_tag_words - `ticket tag ID +a -b c`: the words after the ID, which
 * getopt would take for options ("-b"), are moved out of argv into
 * ctl->tag_words (space-separated, bounded); returns the new argc.
 */
static int take_tag_words(int argc, char **argv, struct ctl *ctl)
{
	size_t len = 0;
	int i = 1, out;

	while (i + 2 < argc && !(strcmp(argv[i], "ticket") == 0 && strcmp(argv[i + 1], "tag") == 0))
		i++;
	if (i + 2 >= argc)
		return argc;
	for (out = i += 3; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (takes_value(argv[i]) && i + 1 < argc) {
			argv[out++] = argv[i++]; /* the option and its value stay */
			argv[out++] = argv[i];
			continue;
		}
		if (!tag_word(argv[i]) || len + n + 2 > sizeof(ctl->tag_words)) {
			argv[out++] = argv[i];
			continue;
		}
		if (len)
			ctl->tag_words[len++] = ' ';
		memcpy(ctl->tag_words + len, argv[i], n + 1);
		len += n;
	}
	argv[out] = NULL;
	return out;
}

/* take_send_option - one of send's own options; -1 to go on or an exit code. */
static int take_send_option(int ch, struct ctl *ctl)
{
	switch (ch) {
	case 'M': ctl->tmpl_name = optarg; return -1;
	case 'L': ctl->tmpl_lang = optarg; return -1;
	case 'S': ctl->subject = optarg; return -1;
	case 'W': ctl->wait = 1; return -1;
	case 'Z': ctl->force = 1; return -1;
	case 'p':
		if (ctl->n_params == CTL_MAX_PARAMS)
			return usage_error("at most %s --param options", "32");
		ctl->params[ctl->n_params++] = optarg;
		return -1;
	case 'v':
		if (ctl->n_vars == CTL_MAX_VARS)
			return usage_error("at most %s --var options", "32");
		if (!strchr(optarg, '=') || optarg[0] == '=')
			return usage_error("--var %s: expected NAME=VALUE", optarg);
		ctl->vars[ctl->n_vars++] = optarg;
		return -1;
	default:
		if (ctl->n_attach == CTL_MAX_ATTACH)
			return usage_error("at most %s --attach options", "16");
		ctl->attach[ctl->n_attach++] = optarg;
		return -1;
	}
}

/* check_send - what send's options need of each other. */
static int check_send(const struct ctl *ctl)
{
	if (ctl->force && !ctl->agent)
		return usage_error("%s", "--force needs --agent (the agent replying)");
	/* --template with --lang: a provider template; alone: a canned
	 * response of the config (automation.templates). */
	if (ctl->tmpl_lang && !ctl->tmpl_name)
		return usage_error("%s", "--lang needs --template");
	if (ctl->n_params && !ctl->tmpl_lang)
		return usage_error("%s", "--param needs --template and --lang");
	if (ctl->n_vars && (!ctl->tmpl_name || ctl->tmpl_lang))
		return usage_error("%s", "--var needs --template NAME without --lang");
	if (ctl->text && ctl->tmpl_name && !ctl->tmpl_lang)
		return usage_error("%s", "a canned response (--template without --lang) "
				   "takes no TEXT");
	if (!ctl->text && !ctl->tmpl_name && !ctl->n_attach)
		return usage_error("%s", "send needs a TEXT, --template or --attach");
	return -1;
}

/* Handles one option; returns -1 to go on or an exit code. */
static int take_option(int ch, struct args *a, struct ctl *ctl)
{
	uint64_t v = 0;
	int rc = 0;

	switch (ch) {
	case 'c': a->config = optarg; return -1;
	case 's': a->state_dir = optarg; return -1;
	case 'P': a->publish = optarg; return -1;
	case 'C': a->command = optarg; return -1;
	case 'K': a->curve_key = optarg; return -1;
	case 'j': a->seen |= OPT_JSON; ctl->json = 1; return -1;
	case 't':
		rc = parse_u64(optarg, "--timeout-ms", 1, TIMEOUT_MAX_MS, &v);
		ctl->timeout_ms = ctl->wait_ms = (long)v;
		break;
	/* --from and --to are seqs or dates (report): read with the command. */
	case 'f': a->seen |= OPT_FROM; ctl->from_s = optarg; return -1;
	case 'T': a->seen |= OPT_TO; ctl->to_s = optarg; return -1;
	case 'B': a->seen |= OPT_BY; ctl->by = optarg; return -1;
	case 'X': a->seen |= OPT_CSV; ctl->csv = 1; return -1;
	case 'Y': a->seen |= OPT_ALL; ctl->all = 1; return -1;
	case 'l':
		a->seen |= OPT_LIMIT;
		rc = parse_u64(optarg, "--limit", 1, UINT64_MAX, &ctl->limit);
		break;
	case 'H': a->seen |= OPT_CHANNEL; ctl->channel = optarg; return -1;
	case 'A': a->seen |= OPT_AUTHOR; ctl->author = optarg; return -1;
	case 'I': a->seen |= OPT_COMMAND_ID; ctl->command_id = optarg; return -1;
	case 'F': a->seen |= OPT_FORMAT; ctl->format = optarg; return -1;
	case 'R': a->seen |= OPT_REASON; ctl->reason = optarg; return -1;
	case 'G': a->seen |= OPT_AGENT; ctl->agent = optarg; return -1;
	case 'Q': a->seen |= OPT_QUEUE; ctl->queue = optarg; return -1;
	case 'D': a->seen |= OPT_DIR; ctl->dir = optarg; return -1;
	case 'U': a->seen |= OPT_URL; ctl->url = optarg; return -1;
	case 'w':
		a->seen |= OPT_WATCH;
		ctl->watch_s = 2;
		if (optarg)
			rc = parse_u64(optarg, "--watch", 1, 3600, &v);
		if (optarg && !rc)
			ctl->watch_s = (long)v;
		break;
	case 'M': case 'L': case 'p': case 'a': case 'S': case 'W': case 'v': case 'Z':
		a->seen |= OPT_SEND_EXTRA;
		return take_send_option(ch, ctl);
	case 'h': a->help = 1; return -1;
	case 'V': printf("gatewayctl %s\n", GW_VERSION); return CTL_EXIT_OK;
	default: usage(stderr); return CTL_EXIT_USAGE;
	}
	return rc ? rc : -1;
}

/* take_range - --from and --to: seqs, or dates for report (which needs
 * them); -1 to go on, or an exit code. */
static int take_range(const struct args *a, struct ctl *ctl)
{
	if (strcmp(a->cmd->name, "report") == 0) {
		if (!ctl->from_s || !ctl->to_s)
			return usage_error("%s", "report needs --from DATE and --to DATE");
		if (ctl->json && ctl->csv)
			return usage_error("%s", "--json and --csv exclude each other");
		return -1;
	}
	if ((a->seen & OPT_FROM) &&
	    parse_u64(ctl->from_s, "--from", 1, UINT64_MAX, &ctl->from) != 0)
		return CTL_EXIT_USAGE;
	if ((a->seen & OPT_TO) && parse_u64(ctl->to_s, "--to", 1, UINT64_MAX, &ctl->to) != 0)
		return CTL_EXIT_USAGE;
	if (strcmp(a->cmd->name, "replay") == 0 && !(a->seen & OPT_FROM))
		return usage_error("%s", "replay needs --from N");
	if ((a->seen & OPT_TO) && ctl->to < ctl->from)
		return usage_error("%s", "--to is below --from");
	return -1;
}

/* take_command - the command (its words in *words), or --help's answer:
 * -1 to go on, or an exit code. */
static int take_command(int argc, char **argv, struct args *a, int *words)
{
	int rc;

	if (optind >= argc && a->help) {
		ctl_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (optind >= argc)
		return usage_error("%s", "no command given");
	if ((rc = find_words(argc, argv, a, words)) >= 0)
		return rc;
	usage_cmd = a->cmd->name;
	if (a->help) {
		ctl_command_usage(stdout, a->cmd->name, 1);
		return CTL_EXIT_OK;
	}
	return -1;
}

/* take_sub - a NEED_SUB command's subcommand and operands (words[1..n)):
 * -1 to go on, or an exit code. */
static int take_sub(const struct command *cmd, char **words, int n, struct ctl *ctl)
{
	int rc;

	if (n >= 2 && (rc = check_sub(cmd, words[1])) >= 0)
		return rc;
	if (ctl->all && (n != 2 || strcmp(words[1], "reingest") != 0))
		return usage_error("%s", "--all goes with `quarantine reingest` alone");
	/* Only `webhooks rewind SUB SEQ` takes two operands after its word. */
	if (n < 2 || n > 4 || (n == 4 && strcmp(cmd->name, "webhooks") != 0))
		return usage_error("%s needs a subcommand (see --help)", cmd->name);
	ctl->q_sub = words[1];
	ctl->q_arg = n >= 3 ? words[2] : NULL;
	ctl->q_arg2 = n == 4 ? words[3] : NULL;
	return -1;
}

/* take_files - the FILE operands of a command that takes one or more
 * (ops[0] is the command's last word, n counts it): -1 when taken,
 * CTL_EXIT_USAGE when there is none. */
static int take_files(const struct command *cmd, char **ops, int n, struct ctl *ctl)
{
	if (n < 2)
		return usage_error("%s needs a FILE", cmd->name);
	ctl->files = ops + 1;
	ctl->n_files = n - 1;
	return -1;
}

/* The command and its ID; checks that every option given belongs to it. */
static int take_operands(int argc, char **argv, struct args *a, struct ctl *ctl)
{
	static const char *const opt_names[OPT_COUNT] = {
		"--json", "--from", "--to", "--limit", "--channel", "--author", "--command-id",
		"--format", "--reason", "--agent", "--queue",
		"--template/--lang/--param/--attach/--subject/--wait/--force", "--dir", "--url",
		"--watch", "--by", "--csv", "--all"};
	int n = argc - optind, want, words = 1, rc, base;

	if ((rc = take_command(argc, argv, a, &words)) >= 0)
		return rc;
	/* argv[base] is the command's last word; its operands follow. */
	base = optind + words - 1;
	n -= words - 1;
	for (unsigned i = 0; i < OPT_COUNT; i++)
		if ((a->seen & (1u << i)) && !(a->cmd->opts & (1u << i)))
			return usage_error("%s is not an option of this command", opt_names[i]);
	if (a->cmd->needs & NEED_SUB)
		return take_sub(a->cmd, argv + base, n, ctl);
	if (a->cmd->needs & NEED_FILES)
		return take_files(a->cmd, argv + base, n, ctl);
	want = 1 + !!(a->cmd->needs & (NEED_ID | NEED_FILE | NEED_NAME)) +
	       !!(a->cmd->needs & (NEED_TEXT | NEED_ID2));
	if ((a->cmd->needs & NEED_TEXT_OPT) && n == want - 1)
		want--;
	if (n != want)
		return usage_error((a->cmd->needs & NEED_ID2)   ? "%s needs two IDs"
				   : (a->cmd->needs & NEED_NAME) && want == 2 ? "%s needs a NAME"
				   : (a->cmd->needs & NEED_NAME) ? "%s needs an agent and a state"
				   : want == 3                  ? "%s needs an ID and a text"
				   : (a->cmd->needs & NEED_ID)   ? "%s needs exactly one ID"
				   : (a->cmd->needs & NEED_FILE) ? "%s needs exactly one FILE"
								 : "%s takes no arguments",
				   a->cmd->name);
	if (a->cmd->needs & NEED_FILE)
		ctl->file = argv[base + 1];
	if (a->cmd->needs & NEED_NAME)
		ctl->name = argv[base + 1];
	if ((a->cmd->needs & NEED_TEXT) && n > 2)
		ctl->text = argv[base + 2];
	if ((a->cmd->needs & NEED_ID) &&
	    parse_u64(argv[base + 1], "ID", 1, UINT64_MAX, &ctl->id) != 0)
		return CTL_EXIT_USAGE;
	if ((a->cmd->needs & NEED_ID2) &&
	    parse_u64(argv[base + 2], "ID", 1, UINT64_MAX, &ctl->id2) != 0)
		return CTL_EXIT_USAGE;
	if ((rc = take_range(a, ctl)) >= 0)
		return rc;
	if (strcmp(a->cmd->name, "send") == 0 && (rc = check_send(ctl)) >= 0)
		return rc;
	ctl->has_from = !!(a->seen & OPT_FROM);
	ctl->has_to = !!(a->seen & OPT_TO);
	ctl->has_limit = !!(a->seen & OPT_LIMIT);
	return -1;
}

static int parse_args(int argc, char **argv, struct args *a, struct ctl *ctl)
{
	int ch, rc;

	argc = take_tag_words(argc, argv, ctl);
	opterr = 0; /* bad_option says it, with the command's usage */
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		if (ch == '?') {
			/* Go on: the operands tell which command's usage to print. */
			if (!a->bad) {
				a->bad = argv[optind - 1];
				a->bad_opt = optopt;
			}
			continue;
		}
		if ((rc = take_option(ch, a, ctl)) >= 0)
			return rc;
	}
	if (a->bad)
		return bad_option(argc, argv, a);
	return take_operands(argc, argv, a, ctl);
}

/* Fills what the options left open from the config file. */
static int resolve(const struct args *a, struct ctl *ctl, struct gw_config **cfg)
{
	unsigned needs = a->cmd->needs;
	char err[512] = "";
	int rc;

	if (!((needs & NEED_PUBLISH) && !a->publish) && !((needs & NEED_COMMAND) && !a->command) &&
	    !((needs & NEED_STATE) && !a->state_dir) && !a->config && !a->curve_key)
		return -1;
	rc = gw_config_load(a->config ? a->config : gw_config_default_path(), a->state_dir, cfg,
			    err, sizeof(err));
	if (rc != GW_OK) {
		fprintf(stderr, "gatewayctl: %s\n", err[0] ? err : gw_strerror(rc));
		return CTL_EXIT_CONFIG;
	}
	if (!ctl->publish)
		ctl->publish = (*cfg)->router.publish;
	if (!ctl->command)
		ctl->command = (*cfg)->router.command;
	if (!ctl->state_dir)
		ctl->state_dir = (*cfg)->state_dir;
	ctl->config_path = (*cfg)->path;
	ctl->heartbeat_ms = (*cfg)->router.heartbeat_ms;
	/* A client key of its own: the rights of its list, not the router's. */
	ctl->bus_conf = (*cfg)->router;
	if (a->curve_key)
		ctl->bus_conf.curve_client_key = a->curve_key;
	ctl->bus = &ctl->bus_conf;
	ctl->integ = &(*cfg)->integration;
	ctl->routing = &(*cfg)->routing;
	return -1;
}

int main(int argc, char **argv)
{
	struct ctl ctl = {.timeout_ms = TIMEOUT_DEFAULT_MS, .heartbeat_ms = 1000,
			  .wait_ms = WAIT_DEFAULT_MS};
	struct args a = {0};
	struct gw_config *cfg = NULL;
	int rc;

	/* The config loader may log; only problems matter to a CLI. */
	gw_log_init("gatewayctl", GW_LOG_WARN);
	rc = parse_args(argc, argv, &a, &ctl);
	if (rc >= 0)
		goto out;
	ctl.publish = a.publish;
	ctl.command = a.command;
	if (!a.curve_key && getenv("GATEWAY_CURVE_KEY") && getenv("GATEWAY_CURVE_KEY")[0])
		a.curve_key = getenv("GATEWAY_CURVE_KEY");
	ctl.state_dir = a.state_dir;
	rc = resolve(&a, &ctl, &cfg);
	if (rc >= 0)
		goto out;
	rc = a.cmd->run(&ctl);
out:
	ctl_close(&ctl);
	gw_config_free(cfg);
	return rc;
}

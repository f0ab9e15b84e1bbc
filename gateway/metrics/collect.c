/*
 * collect.c - every metric of the gateway, gathered at scrape time (see
 * collect.h). One function per source; each writes whole families.
 */
#include "gateway/metrics/collect.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/err.h"
#include "core/util.h"
#include "store/store.h"

#define STATUS_MAX_BYTES (1024 * 1024)

/* One process as gatewayd.json lists it, with its own status file. */
struct child {
	const char *name, *kind, *type; /* borrowed from the gatewayd document */
	json_int_t pid;                 /* > 0 while running */
	int running;
	double restarts;
	json_t *status;                 /* owned; NULL when none */
};

struct page {
	struct metrics_src *m;
	struct expo *e;
	json_t *gw;       /* gatewayd.json; NULL when gatewayd is not running */
	struct child ch[METRICS_CHILDREN_MAX];
	size_t n;
};

int metrics_src_init(struct metrics_src *m, const char *state_dir)
{
	memset(m, 0, sizeof(*m));
	m->started_at_ms = gw_now_ms();
	if (strlen(state_dir) >= sizeof(m->state_dir))
		return GW_EINVAL;
	memcpy(m->state_dir, state_dir, strlen(state_dir) + 1);
	return GW_OK;
}

void metrics_src_close(struct metrics_src *m)
{
	store_close(m->st);
	m->st = NULL;
	metrics_kpi_free(&m->kpi);
}

static json_t *load_json(const char *dir, const char *name)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	json_t *j = NULL;
	int n = snprintf(path, sizeof(path), "%s/run/%s.json", dir, name);

	/* A name is a config key, never a path. */
	if (n > 0 && (size_t)n < sizeof(path) && !strchr(name, '/') &&
	    gw_read_file(path, STATUS_MAX_BYTES, &text, &len) == GW_OK)
		j = json_loadb(text, len, 0, NULL);
	free(text);
	return j;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* json_num - a number at a dotted path of objects ("replies.sent"), or -1. */
static double json_num(json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.')) && (size_t)(dot - path) < sizeof(key)) {
		memcpy(key, path, (size_t)(dot - path));
		key[dot - path] = '\0';
		o = json_object_get(o, key);
		path = dot + 1;
	}
	o = json_object_get(o, path);
	return json_is_number(o) ? json_number_value(o) : -1;
}

static void load_children(struct page *p)
{
	json_t *arr = json_object_get(p->gw, "children"), *c;
	size_t i;

	json_array_foreach(arr, i, c) {
		struct child *ch = &p->ch[p->n];

		if (p->n == METRICS_CHILDREN_MAX || !str(c, "name"))
			break;
		ch->name = str(c, "name");
		ch->kind = str(c, "kind") ? str(c, "kind") : "";
		ch->type = str(c, "type") ? str(c, "type") : "";
		ch->running = str(c, "state") && strcmp(str(c, "state"), "running") == 0;
		ch->pid = ch->running ? json_integer_value(json_object_get(c, "pid")) : 0;
		ch->restarts = (double)json_integer_value(json_object_get(c, "restarts"));
		ch->status = load_json(p->m->state_dir, ch->name);
		/* A status file left by an earlier run says nothing of this one. */
		if (ch->status && json_integer_value(json_object_get(ch->status, "pid")) != ch->pid) {
			json_decref(ch->status);
			ch->status = NULL;
		}
		p->n++;
	}
}

/* ---- processes: up, restarts, start time, memory, CPU -------------------- */

/* proc_stat - resident bytes and CPU seconds of `pid` from /proc; -1 when gone. */
static int proc_stat(json_int_t pid, double *rss, double *cpu)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime;
	long long pages;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
	f = pid > 0 ? fopen(path, "r") : NULL;
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "PID (COMM) S ..." : COMM may hold blanks; fields from 3 follow ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
			 "%*d %*d %*d %*d %*d %*d %*u %*u %lld", &utime, &stime, &pages) != 3)
		return -1;
	*cpu = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
	*rss = (double)pages * (double)sysconf(_SC_PAGESIZE);
	return 0;
}

static void procs_family(struct page *p, const char *name, const char *type,
			 const char *help, int rss)
{
	json_int_t gpid = json_integer_value(json_object_get(p->gw, "pid"));
	double r, c;

	expo_family(p->e, name, type, help);
	if (p->gw && proc_stat(gpid, &r, &c) == 0)
		expo_sample(p->e, name, (const char *[]){"process", "gatewayd", NULL}, rss ? r : c);
	for (size_t i = 0; i < p->n; i++)
		if (proc_stat(p->ch[i].pid, &r, &c) == 0)
			expo_sample(p->e, name, (const char *[]){"process", p->ch[i].name, NULL},
				    rss ? r : c);
	if (!p->gw && proc_stat((json_int_t)getpid(), &r, &c) == 0)
		expo_sample(p->e, name, (const char *[]){"process", "metrics", NULL}, rss ? r : c);
}

static void write_processes(struct page *p)
{
	struct expo *e = p->e;
	json_t *started;

	expo_family(e, "omnigate_up", "gauge", "1 when gatewayd is running (its status file "
		    "is there), else 0.");
	expo_sample(e, "omnigate_up", NULL, p->gw ? 1 : 0);
	expo_family(e, "omnigate_process_up", "gauge", "1 when the process is running, 0 when "
		    "it waits for a restart or is disabled.");
	for (size_t i = 0; i < p->n; i++)
		expo_sample(e, "omnigate_process_up", (const char *[]){"process", p->ch[i].name,
			    "kind", p->ch[i].kind, NULL}, p->ch[i].running);
	expo_family(e, "omnigate_process_restarts_total", "counter", "Restarts of the process "
		    "by gatewayd since gatewayd started (omnigate_process_start_time_seconds"
		    "{process=\"gatewayd\"}).");
	for (size_t i = 0; i < p->n; i++)
		expo_sample(e, "omnigate_process_restarts_total", (const char *[]){"process",
			    p->ch[i].name, "kind", p->ch[i].kind, NULL}, p->ch[i].restarts);
	expo_family(e, "omnigate_process_start_time_seconds", "gauge", "When the process "
		    "started (Unix time): its *_total counters count from then.");
	started = json_object_get(p->gw, "started_at");
	if (json_is_integer(started))
		expo_sample(e, "omnigate_process_start_time_seconds", (const char *[]){"process",
			    "gatewayd", NULL}, (double)json_integer_value(started) / 1000.0);
	for (size_t i = 0; i < p->n; i++)
		if (p->ch[i].status)
			expo_sample(e, "omnigate_process_start_time_seconds", (const char *[]){
				    "process", p->ch[i].name, NULL}, json_num(p->ch[i].status,
				    "started_at") / 1000.0);
	procs_family(p, "omnigate_process_resident_memory_bytes", "gauge",
		     "Resident memory of the process (/proc/PID/stat).", 1);
	procs_family(p, "omnigate_process_cpu_seconds_total", "counter",
		     "User and system CPU time of the process since it started.", 0);
}

/* ---- connectors: their status files ---------------------------------------- */

/* A counter of each connector's status file: its path in "counters". */
static const struct {
	const char *name, *path, *help;
} connector_counters[] = {
	{"omnigate_connector_requests_total", "requests", "Requests, updates or mails the "
	 "connector received from its provider."},
	{"omnigate_connector_accepted_total", "accepted", "Messages made durable in the "
	 "connector's spool (answered 2xx)."},
	{"omnigate_connector_rejected_total", "rejected", "Requests refused as the sender's "
	 "fault (4xx: bad token, signature, body)."},
	{"omnigate_connector_failed_total", "failed", "Requests that failed on the gateway's "
	 "side (5xx: spool full or failing)."},
	{"omnigate_connector_unreadable_total", "unreadable", "Provider items that could not "
	 "be read into an event."},
	{"omnigate_connector_dropped_total", "dropped", "Items left out on purpose (unknown "
	 "kinds, echoes of the gateway's own replies)."},
	{"omnigate_connector_rate_limited_total", "rate_limited", "Requests or messages over "
	 "a rate limit: the per-address and per-sender limits, or the provider limiting the "
	 "connector."},
	{"omnigate_connector_replies_sent_total", "replies.sent", "Replies the provider "
	 "took (reported sent)."},
	{"omnigate_connector_replies_failed_total", "replies.failed", "Replies reported "
	 "failed."},
	{"omnigate_connector_replies_retried_total", "replies.retried", "Reply attempts that "
	 "will be tried again (transient provider errors)."},
	{"omnigate_connector_spool_acked_total", "outbox.acked", "Spooled events the router "
	 "acknowledged."},
};

static double connector_value(const struct child *c, const char *path)
{
	char own[128];
	json_t *counters = json_object_get(c->status, "counters");

	/* "@x": the type's own counter counters.<type>.x. */
	if (path[0] != '@')
		return json_num(counters, path);
	snprintf(own, sizeof(own), "%s.%s", c->type, path + 1);
	return json_num(counters, own);
}

static void write_connectors(struct page *p)
{
	for (size_t k = 0; k < sizeof(connector_counters) / sizeof(connector_counters[0]); k++) {
		expo_family(p->e, connector_counters[k].name, "counter", connector_counters[k].help);
		for (size_t i = 0; i < p->n; i++) {
			const struct child *c = &p->ch[i];
			double v = c->status && strcmp(c->kind, "connector") == 0
					   ? connector_value(c, connector_counters[k].path)
					   : -1;

			if (v >= 0)
				expo_sample(p->e, connector_counters[k].name, (const char *[]){
					    "connector", c->name, "type", c->type, NULL}, v);
		}
	}
}

/* quarantined - entries (<id>.json) in <state_dir>/quarantine/<name>/ (the
 * email connector's mail that made no event); -1 when there is no such folder. */
static double quarantined(const char *state_dir, const char *name)
{
	char path[PATH_MAX];
	struct dirent *de;
	double n = 0;
	DIR *d;
	int len = snprintf(path, sizeof(path), "%s/quarantine/%s", state_dir, name);

	d = len > 0 && (size_t)len < sizeof(path) ? opendir(path) : NULL;
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		n += l > 5 && strcmp(de->d_name + l - 5, ".json") == 0;
	}
	closedir(d);
	return n;
}

static void write_quarantine(struct page *p)
{
	const char *name = "omnigate_connector_quarantined";

	expo_family(p->e, name, "gauge", "Items in the connector's quarantine now: held in "
		    "its spool (over a limit, loops, unreadable bodies) and, for email, mail set "
		    "aside in its quarantine folder.");
	for (size_t i = 0; i < p->n; i++) {
		int conn = strcmp(p->ch[i].kind, "connector") == 0;
		double files = conn ? quarantined(p->m->state_dir, p->ch[i].name) : -1;
		double held = conn && p->ch[i].status ? connector_value(&p->ch[i], "quarantined")
						      : -1;
		double v = files < 0 && held < 0 ? -1 : (files > 0 ? files : 0) + (held > 0 ? held : 0);

		if (v >= 0)
			expo_sample(p->e, name, (const char *[]){"connector", p->ch[i].name,
				    "type", p->ch[i].type, NULL}, v);
	}
}

/* ---- histograms of the status files ---------------------------------------- */

/* histo_series - one series from {"le": [...], "buckets": [...], "sum", "count"}. */
static void histo_series(struct expo *e, const char *name, const char *const *labels,
			 json_t *h)
{
	json_t *le = json_object_get(h, "le"), *b = json_object_get(h, "buckets");
	double bounds[32];
	uint64_t cum[32];
	size_t n = json_array_size(le);

	if (!json_is_object(h) || n != json_array_size(b) || n > 32)
		return;
	for (size_t i = 0; i < n; i++) {
		bounds[i] = json_number_value(json_array_get(le, i));
		cum[i] = (uint64_t)json_integer_value(json_array_get(b, i));
	}
	expo_histogram(e, name, labels, bounds, cum, n, json_num(h, "sum"),
		       (uint64_t)json_integer_value(json_object_get(h, "count")));
}

/* write_calls - each connector's calls to its provider on the way in, one
 * series per call kind ("provider_call_seconds", connectors/provider_calls.h). */
static void write_calls(struct page *p)
{
	const char *fam = "omnigate_connector_provider_call_duration_seconds";

	expo_family(p->e, fam, "histogram", "Time of each call a connector makes to its "
		    "provider on the way in (media download, IMAP fetch, Telegram getUpdates "
		    "with updates or an error), in seconds.");
	for (size_t i = 0; i < p->n; i++) {
		json_t *calls, *h;
		const char *call;

		if (!p->ch[i].status || strcmp(p->ch[i].kind, "connector") != 0)
			continue;
		calls = json_object_get(json_object_get(p->ch[i].status, "histograms"),
					"provider_call_seconds");
		json_object_foreach(calls, call, h)
			histo_series(p->e, fam, (const char *[]){"connector", p->ch[i].name,
				     "type", p->ch[i].type, "call", call, NULL}, h);
	}
}

static void write_histograms(struct page *p)
{
	const char *reply = "omnigate_connector_reply_duration_seconds";

	expo_family(p->e, reply, "histogram", "Time of each transfer of a reply with the "
		    "provider (every attempt), in seconds.");
	for (size_t i = 0; i < p->n; i++)
		if (p->ch[i].status && strcmp(p->ch[i].kind, "connector") == 0)
			histo_series(p->e, reply, (const char *[]){"connector", p->ch[i].name,
				     "type", p->ch[i].type, NULL}, json_object_get(json_object_get(
				     p->ch[i].status, "histograms"), "reply_seconds"));
	write_calls(p);
	for (size_t i = 0; i < p->n; i++) {
		json_t *h = json_object_get(p->ch[i].status, "histograms");

		if (strcmp(p->ch[i].kind, "router") != 0)
			continue;
		expo_family(p->e, "omnigate_router_batch_size", "histogram", "Messages in each "
			    "batch the router committed.");
		histo_series(p->e, "omnigate_router_batch_size", NULL,
			     json_object_get(h, "batch_size"));
		expo_family(p->e, "omnigate_router_commit_duration_seconds", "histogram",
			    "Time of each batch's commit (synced to disk), in seconds.");
		histo_series(p->e, "omnigate_router_commit_duration_seconds", NULL,
			     json_object_get(h, "commit_seconds"));
		break;
	}
}

/* ---- the router's counters ------------------------------------------------- */

static const struct {
	const char *name, *key, *help;
} router_counters[] = {
	{"omnigate_router_received_total", "received", "Messages the router read from the "
	 "connectors."},
	{"omnigate_router_routed_total", "stored", "Messages routed and committed."},
	{"omnigate_router_duplicates_total", "duplicates", "Messages answered duplicate "
	 "(already stored)."},
	{"omnigate_router_rejected_total", "rejected", "Messages refused by the router."},
	{"omnigate_router_events_total", "events", "Events appended to the log and "
	 "published."},
	{"omnigate_router_batches_total", "batches", "Transactions committed."},
	{"omnigate_router_commit_failures_total", "commit_failures", "Batches that could not "
	 "be committed (the connectors send them again)."},
	{"omnigate_router_commands_total", "commands", "Command requests served."},
};

static void write_router(struct page *p)
{
	json_t *counters = NULL;

	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->ch[i].kind, "router") == 0)
			counters = json_object_get(p->ch[i].status, "counters");
	for (size_t k = 0; k < sizeof(router_counters) / sizeof(router_counters[0]); k++) {
		double v = json_num(counters, router_counters[k].key);

		expo_family(p->e, router_counters[k].name, "counter", router_counters[k].help);
		if (v >= 0)
			expo_sample(p->e, router_counters[k].name, NULL, v);
	}
}

/* ---- what the store holds ------------------------------------------------- */

static const char *const sla_clocks[] = {"first_response", "resolution"};
static const char *const sla_states[] = {"running", "warning", "breached", "met", "stopped"};
#define N_CLOCKS 2
#define N_STATES 5

struct queue_count {
	char *name;
	uint64_t open, waiting;
};

struct census {
	struct queue_count q[METRICS_QUEUES_MAX + 1]; /* the last: "(other)" */
	size_t nq;
	uint64_t sla[N_CLOCKS][N_STATES];
	uint64_t open;
};

static struct queue_count *queue_of(struct census *c, const char *name)
{
	for (size_t i = 0; i < c->nq; i++)
		if (strcmp(c->q[i].name, name) == 0)
			return &c->q[i];
	if (c->nq < METRICS_QUEUES_MAX) {
		c->q[c->nq].name = strdup(name);
		if (c->q[c->nq].name)
			return &c->q[c->nq++];
	}
	return &c->q[METRICS_QUEUES_MAX];
}

static void count_sla(struct census *c, int clock, const char *state)
{
	for (int s = 0; state && s < N_STATES; s++)
		if (strcmp(state, sla_states[s]) == 0)
			c->sla[clock][s]++;
}

static int on_ticket(void *arg, const struct proto_ticket *t)
{
	struct census *c = arg;

	count_sla(c, 0, t->sla_first_response);
	count_sla(c, 1, t->sla_resolution);
	if (t->status && strcmp(t->status, "open") == 0) {
		queue_of(c, t->queue ? t->queue : "")->open++;
		c->open++;
	}
	return 0;
}

static int on_waiting(void *arg, const char *queue)
{
	queue_of(arg, queue)->waiting++;
	return 0;
}

static void write_queues(struct expo *e, struct census *c)
{
	c->q[METRICS_QUEUES_MAX].name = "(other)";
	expo_family(e, "omnigate_tickets_open", "gauge", "Open tickets, by queue (\"\": none).");
	for (size_t i = 0; i <= METRICS_QUEUES_MAX; i++)
		if (i < c->nq || (i == METRICS_QUEUES_MAX && c->q[i].open + c->q[i].waiting))
			expo_sample(e, "omnigate_tickets_open", (const char *[]){"queue",
				    c->q[i].name, NULL}, (double)c->q[i].open);
	expo_family(e, "omnigate_tickets_waiting", "gauge", "Tickets waiting for an agent "
		    "(unassigned), by queue.");
	for (size_t i = 0; i <= METRICS_QUEUES_MAX; i++)
		if (i < c->nq || (i == METRICS_QUEUES_MAX && c->q[i].open + c->q[i].waiting))
			expo_sample(e, "omnigate_tickets_waiting", (const char *[]){"queue",
				    c->q[i].name, NULL}, (double)c->q[i].waiting);
	expo_family(e, "omnigate_tickets_sla", "gauge", "Tickets by the state of an SLA clock: "
		    "warning (the warning share of the target is used), breached (the target "
		    "passed), running, met, stopped.");
	for (int k = 0; k < N_CLOCKS; k++)
		for (int s = 0; s < N_STATES; s++)
			expo_sample(e, "omnigate_tickets_sla", (const char *[]){"clock",
				    sla_clocks[k], "state", sla_states[s], NULL},
				    (double)c->sla[k][s]);
}

static void write_counts(struct expo *e, const struct store_counts *n)
{
	expo_family(e, "omnigate_store_tickets_total", "counter", "Tickets created, ever.");
	expo_sample(e, "omnigate_store_tickets_total", NULL, (double)n->tickets);
	expo_family(e, "omnigate_store_customers", "gauge", "Customers stored.");
	expo_sample(e, "omnigate_store_customers", NULL, (double)n->customers);
	expo_family(e, "omnigate_store_replies_total", "counter", "Replies (deliveries) "
		    "created, ever.");
	expo_sample(e, "omnigate_store_replies_total", NULL, (double)n->deliveries);
	expo_family(e, "omnigate_deliveries_pending", "gauge", "Replies no connector has "
		    "reported on yet.");
	expo_sample(e, "omnigate_deliveries_pending", NULL, (double)n->deliveries_pending);
	expo_family(e, "omnigate_eventlog_head_seq", "gauge", "The seq of the newest event "
		    "in the log.");
	expo_sample(e, "omnigate_eventlog_head_seq", NULL, (double)n->head_seq);
}

static int on_event(void *arg, uint64_t seq, const char *type, size_t type_len,
		    const void *data, size_t len)
{
	struct metrics_src *m = arg;
	size_t i;

	(void)data;
	(void)len;
	if (type_len >= sizeof(m->types[0].name))
		type_len = sizeof(m->types[0].name) - 1;
	for (i = 0; i < m->ntypes; i++)
		if (strlen(m->types[i].name) == type_len &&
		    memcmp(m->types[i].name, type, type_len) == 0)
			break;
	if (i == m->ntypes && m->ntypes < METRICS_TYPES_MAX) {
		memcpy(m->types[i].name, type, type_len);
		m->types[i].name[type_len] = '\0';
		m->ntypes++;
	}
	if (i < m->ntypes)
		m->types[i].n++;
	m->scanned_seq = seq;
	return seq % METRICS_EVENTS_PER_SCRAPE == 0; /* the rest at the next scrape */
}

static void write_events(struct expo *e, const struct metrics_src *m)
{
	expo_family(e, "omnigate_events_total", "counter", "Events in the router's log, by "
		    "type (message.received: messages routed; ticket.sla_warning, "
		    "ticket.sla_breached: SLA warnings and breaches): stored, so they survive "
		    "restarts.");
	for (size_t i = 0; i < m->ntypes; i++)
		expo_sample(e, "omnigate_events_total", (const char *[]){"type",
			    m->types[i].name, NULL}, (double)m->types[i].n);
}

/* store_census - one read transaction over the router's store. */
static int store_census(struct metrics_src *m, struct expo *e)
{
	char dir[PATH_MAX + 8];
	struct store_txn *txn = NULL;
	struct store_counts n;
	struct census *c = calloc(1, sizeof(*c));
	int rc = c ? GW_OK : GW_ENOMEM;

	snprintf(dir, sizeof(dir), "%s/store", m->state_dir);
	if (rc == GW_OK && !m->st)
		rc = store_open_readonly(dir, &m->st);
	if (rc == GW_OK)
		rc = store_txn_begin(m->st, 1, &txn);
	if (rc == GW_OK)
		rc = store_census_counts(txn, &n);
	if (rc == GW_OK)
		rc = store_census_tickets(txn, on_ticket, c);
	if (rc == GW_OK)
		rc = store_census_waiting(txn, on_waiting, c);
	if (rc == GW_OK && m->scanned_seq < n.head_seq)
		rc = store_eventlog_scan(txn, m->scanned_seq + 1, on_event, m);
	store_txn_abort(txn);
	if (rc == GW_OK) {
		write_counts(e, &n);
		write_events(e, m);
		write_queues(e, c);
		rc = metrics_kpi_write(&m->kpi, m->st, e);
	}
	for (size_t i = 0; c && i < c->nq; i++)
		free(c->q[i].name);
	free(c);
	return rc;
}

/* ---- the page ---------------------------------------------------------- */

static void write_self(struct metrics_src *m, struct expo *e, int store_rc, int64_t t0)
{
	expo_family(e, "omnigate_store_up", "gauge", "1 when the router's store could be "
		    "read for this scrape.");
	expo_sample(e, "omnigate_store_up", NULL, store_rc == GW_OK);
	expo_family(e, "omnigate_metrics_scrapes_total", "counter", "Pages served by "
		    "gateway-metrics.");
	expo_sample(e, "omnigate_metrics_scrapes_total", NULL, (double)m->scrapes);
	expo_family(e, "omnigate_metrics_scrape_duration_seconds", "gauge", "Time this page "
		    "took to gather, in seconds.");
	expo_sample(e, "omnigate_metrics_scrape_duration_seconds", NULL,
		    (double)(gw_mono_us() - t0) / 1e6);
}

int metrics_collect(struct metrics_src *m, struct expo *e)
{
	struct page *p = calloc(1, sizeof(*p));
	int64_t t0 = gw_mono_us();
	int store_rc;

	if (!p)
		return GW_ENOMEM;
	m->scrapes++;
	p->m = m;
	p->e = e;
	p->gw = load_json(m->state_dir, "gatewayd");
	load_children(p);
	write_processes(p);
	write_connectors(p);
	write_quarantine(p);
	write_router(p);
	write_histograms(p);
	store_rc = store_census(m, e);
	if (store_rc != GW_OK) {
		/* The router may have been down at the first try: open again next time. */
		metrics_src_close(m);
	}
	write_self(m, e, store_rc, t0);
	for (size_t i = 0; i < p->n; i++)
		json_decref(p->ch[i].status);
	json_decref(p->gw);
	free(p);
	return expo_failed(e);
}

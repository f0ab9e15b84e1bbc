/*
 * ctl_quarantine.c - `gatewayctl quarantine list|show ID|reingest ID|--all`
 * across every channel: the email messages an email connector set aside
 * (store/quarantine.h has the layout under <state_dir>/quarantine/
 * <instance>/, ids "<instance>/<V>-<U>") and the quarantine of every
 * connector's spool (held messages and unreadable inputs, ctl_qspool.h,
 * ids "<instance>/<N>", reingest requests under <state_dir>/spool/
 * <instance>/reingest/).
 *
 * list and show read the files only. reingest leaves a request file that
 * the running connector picks up within a second: it parses the stored copy
 * again with its current parser and, when the message now becomes an
 * event, commits it to its outbox and deletes the entry; its answer comes
 * back in a .done file, which this command prints and deletes. No socket is
 * needed, so these commands work while the router is down.
 */
#include "gateway/ctl/ctl.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "gateway/ctl/ctl_qspool.h"

#define Q_JSON_MAX (64 * 1024)
#define Q_LIST_MAX 100000  /* entries listed at most */
#define Q_POLL_MS 50

/* "<instance>/<V>-<U>" (1, an email entry) or "<instance>/<N>" (2, a
 * spool's entry) split and checked; 0 when it is not such an id. */
static int q_split_id(const char *id, char *inst, size_t isize, char *entry, size_t esize)
{
	const char *slash = strchr(id, '/');
	size_t il;
	int dash = 0;

	if (!slash || slash == id || strchr(slash + 1, '/'))
		return 0;
	il = (size_t)(slash - id);
	if (il >= isize || strlen(slash + 1) >= esize || strlen(slash + 1) < 1)
		return 0;
	if ((il == 1 && id[0] == '.') || (il == 2 && id[0] == '.' && id[1] == '.'))
		return 0;
	for (const char *p = slash + 1; *p; p++) {
		if (*p == '-' && !dash && p > slash + 1 && p[1])
			dash = 1;
		else if (*p < '0' || *p > '9')
			return 0;
	}
	memcpy(inst, id, il);
	inst[il] = '\0';
	snprintf(entry, esize, "%s", slash + 1);
	if (!dash)
		return entry[0] != '0' ? 2 : 0;
	return strlen(entry) >= 3 ? 1 : 0;
}

static json_t *q_load(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	json_t *j = NULL;

	if (gw_read_file(path, Q_JSON_MAX, &text, &len) == GW_OK)
		j = json_loadb(text, len, 0, NULL);
	free(text);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* Appends the entries (<dir>/<id>.json) of one instance to `arr`. */
static void q_scan_instance(const char *dir, json_t *arr)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4400];

	if (!d)
		return;
	while ((e = readdir(d)) != NULL && json_array_size(arr) < Q_LIST_MAX) {
		size_t n = strlen(e->d_name);
		json_t *j;

		if (n <= 5 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path))
			continue;
		j = q_load(path);
		if (j && json_array_append_new(arr, j) != 0)
			json_decref(j);
	}
	closedir(d);
}

static int q_by_time(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "quarantined_at"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "quarantined_at"));

	return x < y ? -1 : x > y;
}

/* Every entry of every instance, oldest first; NULL on no memory. */
static json_t *q_all(const char *state_dir)
{
	char dir[4096], sub[4400];
	json_t *arr = json_array(), *sorted;
	json_t **v;
	DIR *d;
	struct dirent *e;
	size_t n, i;

	snprintf(dir, sizeof(dir), "%s/quarantine", state_dir);
	d = arr ? opendir(dir) : NULL;
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		q_scan_instance(sub, arr);
	}
	if (d)
		closedir(d);
	if (arr)
		ctlq_spool_list(state_dir, arr, Q_LIST_MAX);
	n = arr ? json_array_size(arr) : 0;
	v = calloc(n ? n : 1, sizeof(*v));
	sorted = json_array();
	if (!v || !sorted) {
		free(v);
		json_decref(sorted);
		json_decref(arr);
		return NULL;
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(arr, i);
	qsort(v, n, sizeof(*v), q_by_time);
	for (i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	json_decref(arr);
	return sorted;
}

static int q_list(struct ctl *ctl)
{
	json_t *all = q_all(ctl->state_dir), *j;
	size_t i;
	char when[32];

	if (!all) {
		fprintf(stderr, "gatewayctl: out of memory\n");
		return CTL_EXIT_ERROR;
	}
	if (ctl->json) {
		json_dumpf(all, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(all);
		return CTL_EXIT_OK;
	}
	if (json_array_size(all) == 0)
		printf("no quarantined messages\n");
	else
		printf("%-32s %-10s %-6s %-20s %10s %-6s %s\n", "ID", "CHANNEL", "KIND",
		       "QUARANTINED", "BYTES", "STORED", "REASON");
	json_array_foreach(all, i, j) {
		const char *ch = json_string_value(json_object_get(j, "channel"));
		const char *kind = json_string_value(json_object_get(j, "kind"));

		ctl_format_time(json_integer_value(json_object_get(j, "quarantined_at")), when,
				sizeof(when));
		printf("%-32s %-10s %-6s %-20s %10lld %-6s %s\n",
		       json_string_value(json_object_get(j, "id")), ch ? ch : "email",
		       kind ? kind : "mail", when,
		       (long long)json_integer_value(json_object_get(j, "size")),
		       json_is_true(json_object_get(j, "stored")) ? "yes" : "no",
		       json_string_value(json_object_get(j, "reason")));
	}
	json_decref(all);
	return CTL_EXIT_OK;
}

/* The paths of entry `id`: <qdir> = <state_dir>/quarantine/<instance> for
 * an email entry, <state_dir>/spool/<instance> for a spool's (*spool set). */
static int q_paths(struct ctl *ctl, char *qdir, size_t qsize, char *entry, size_t esize,
		   int *spool)
{
	char inst[256];
	int kind = ctl->q_arg ? q_split_id(ctl->q_arg, inst, sizeof(inst), entry, esize) : 0;

	if (!kind) {
		fprintf(stderr, "gatewayctl: '%s' is not a quarantine ID (INSTANCE/N or "
			"INSTANCE/V-U, see `gatewayctl quarantine list`)\n",
			ctl->q_arg ? ctl->q_arg : "");
		return CTL_EXIT_USAGE;
	}
	*spool = kind == 2;
	snprintf(qdir, qsize, "%s/%s/%s", ctl->state_dir, *spool ? "spool" : "quarantine", inst);
	return CTL_EXIT_OK;
}

/* q_show_spool - a spool's entry `entry` of the instance named in q_arg. */
static int q_show_spool(struct ctl *ctl, const char *entry)
{
	char inst[256];
	json_t *j;

	snprintf(inst, sizeof(inst), "%.*s", (int)(strchr(ctl->q_arg, '/') - ctl->q_arg),
		 ctl->q_arg);
	j = ctlq_spool_show(ctl->state_dir, inst, strtoull(entry, NULL, 10));
	if (!j) {
		fprintf(stderr, "gatewayctl: no quarantined message %s\n", ctl->q_arg);
		return CTL_EXIT_NOTFOUND;
	}
	if (!ctl->json && json_is_string(json_object_get(j, "hexdump"))) {
		json_t *hex = json_incref(json_object_get(j, "hexdump"));

		json_object_del(j, "hexdump");
		json_dumpf(j, stdout, JSON_INDENT(2));
		printf("\n%s", json_string_value(hex));
		json_decref(hex);
	} else {
		json_dumpf(j, stdout, ctl->json ? JSON_COMPACT : JSON_INDENT(2));
		fputc('\n', stdout);
	}
	json_decref(j);
	return CTL_EXIT_OK;
}

static int q_show(struct ctl *ctl)
{
	char qdir[4096], entry[64], path[4400];
	json_t *j;
	int spool = 0, rc = q_paths(ctl, qdir, sizeof(qdir), entry, sizeof(entry), &spool);

	if (rc != CTL_EXIT_OK)
		return rc;
	if (spool)
		return q_show_spool(ctl, entry);
	snprintf(path, sizeof(path), "%s/%s.json", qdir, entry);
	j = q_load(path);
	if (!j) {
		fprintf(stderr, "gatewayctl: no quarantined message %s\n", ctl->q_arg);
		return CTL_EXIT_NOTFOUND;
	}
	snprintf(path, sizeof(path), "%s/%s.eml", qdir, entry);
	if (access(path, R_OK) == 0)
		json_object_set_new(j, "file", json_string(path));
	json_dumpf(j, stdout, ctl->json ? JSON_COMPACT : JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(j);
	return CTL_EXIT_OK;
}

static void q_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Waits for the connector's answer and prints it. */
static int q_wait_answer(struct ctl *ctl, const char *done)
{
	long waited = 0;
	const char *result;
	json_t *j = NULL;
	int rc;

	while (!(j = q_load(done)) && waited < ctl->timeout_ms && !ctl_stop) {
		q_sleep_ms(Q_POLL_MS);
		waited += Q_POLL_MS;
	}
	if (!j) {
		printf("reingest of %s requested; no answer within %ld ms: the connector takes "
		       "it when it runs\n", ctl->q_arg, ctl->timeout_ms);
		return ctl_stop ? CTL_EXIT_INTERRUPTED : CTL_EXIT_DOWN;
	}
	unlink(done);
	result = json_string_value(json_object_get(j, "result"));
	result = result ? result : "error";
	if (ctl->json) {
		json_dumpf(j, stdout, JSON_COMPACT);
		fputc('\n', stdout);
	} else {
		printf("%s: %s%s%s\n", ctl->q_arg, result,
		       *json_string_value(json_object_get(j, "reason")) ? ": " : "",
		       json_string_value(json_object_get(j, "reason")));
	}
	rc = strcmp(result, "ingested") == 0 || strcmp(result, "ignored") == 0 ||
			     strcmp(result, "released") == 0
		     ? CTL_EXIT_OK
		     : CTL_EXIT_ERROR;
	json_decref(j);
	return rc;
}

/*
 * q_request - leaves the reingest request of entry ctl->q_arg for its
 * connector; the path of its answer into done. CTL_EXIT_OK, or the exit
 * code of what is wrong (printed).
 */
static int q_request(struct ctl *ctl, char *done, size_t dsize)
{
	char qdir[4096], entry[64], path[4400], stamp[64];
	int spool = 0, rc = q_paths(ctl, qdir, sizeof(qdir), entry, sizeof(entry), &spool), n;
	json_t *j = NULL;

	if (rc != CTL_EXIT_OK)
		return rc;
	snprintf(path, sizeof(path), "%s/%s.json", qdir, entry);
	if (spool) {
		char inst[256];

		snprintf(inst, sizeof(inst), "%.*s", (int)(strchr(ctl->q_arg, '/') - ctl->q_arg),
			 ctl->q_arg);
		j = ctlq_spool_show(ctl->state_dir, inst, strtoull(entry, NULL, 10));
		json_decref(j);
	}
	if (spool ? !j : access(path, F_OK) != 0) {
		fprintf(stderr, "gatewayctl: no quarantined message %s\n", ctl->q_arg);
		return CTL_EXIT_NOTFOUND;
	}
	snprintf(done, dsize, "%s/reingest/%s.done", qdir, entry);
	unlink(done);
	snprintf(path, sizeof(path), "%s/reingest/%s.request", qdir, entry);
	n = snprintf(stamp, sizeof(stamp), "{\"requested_at\":%lld}\n", (long long)gw_now_ms());
	if (gw_write_file_atomic(path, stamp, (size_t)n) != GW_OK) {
		fprintf(stderr, "gatewayctl: cannot write %s\n", path);
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
}

static int q_reingest(struct ctl *ctl)
{
	char done[4400];
	int rc = q_request(ctl, done, sizeof(done));

	if (rc != CTL_EXIT_OK)
		return rc;
	ctl_catch_signals();
	return q_wait_answer(ctl, done);
}

/* The outcomes of reingest --all. */
struct q_all_run {
	json_t *pending; /* {id: done path} still waiting for an answer */
	size_t ok, failed;
	struct ctl_progress progress;
};

/* q_collect - takes the answers that came; 1 when one did. */
static int q_collect(struct ctl *ctl, struct q_all_run *r)
{
	const char *id;
	json_t *path, *j;
	void *tmp;
	int got = 0;

	json_object_foreach_safe(r->pending, tmp, id, path) {
		const char *res;

		if (!(j = q_load(json_string_value(path))))
			continue;
		unlink(json_string_value(path));
		res = json_string_value(json_object_get(j, "result"));
		if (res && (!strcmp(res, "ingested") || !strcmp(res, "ignored") ||
			    !strcmp(res, "released")))
			r->ok++;
		else
			r->failed++;
		if (ctl->json) {
			json_object_set_new(j, "id", json_string(id));
			json_dumpf(j, stdout, JSON_COMPACT);
			fputc('\n', stdout);
		}
		json_decref(j);
		json_object_del(r->pending, id);
		ctl_progress_step(&r->progress, 1);
		got = 1;
	}
	return got;
}

/* q_request_all - a request for every entry listed; r->pending their answers. */
static void q_request_all(struct ctl *ctl, json_t *all, struct q_all_run *r)
{
	const char *saved = ctl->q_arg;
	char done[4400];
	size_t i;
	json_t *e;

	json_array_foreach(all, i, e) {
		ctl->q_arg = json_string_value(json_object_get(e, "id"));
		if (ctl->q_arg && q_request(ctl, done, sizeof(done)) == CTL_EXIT_OK)
			json_object_set_new(r->pending, ctl->q_arg, json_string(done));
		else
			r->failed++;
	}
	ctl->q_arg = saved;
}

/*
 * q_reingest_all - reingest --all: a request for every listed entry at once,
 * then their answers as they come (a progress line on a terminal), until
 * none came for --timeout-ms. Exit 0 when each was ingested, ignored or
 * released; 1 when one was not; 3 when answers are missing.
 */
static int q_reingest_all(struct ctl *ctl)
{
	json_t *all = q_all(ctl->state_dir);
	struct q_all_run r = {.pending = json_object()};
	long waited = 0;
	size_t missing;

	if (!all || !r.pending) {
		json_decref(all);
		json_decref(r.pending);
		fprintf(stderr, "gatewayctl: out of memory\n");
		return CTL_EXIT_ERROR;
	}
	ctl_catch_signals();
	q_request_all(ctl, all, &r);
	ctl_progress_start(&r.progress, "reingested", json_object_size(r.pending), 0);
	while (json_object_size(r.pending) && waited < ctl->timeout_ms && !ctl_stop) {
		waited = q_collect(ctl, &r) ? 0 : waited + Q_POLL_MS;
		ctl_progress_step(&r.progress, 0);
		q_sleep_ms(Q_POLL_MS);
	}
	ctl_progress_end(&r.progress);
	missing = json_object_size(r.pending);
	if (!ctl->json)
		printf("%zu of %zu reingested, %zu still quarantined, %zu without an answer\n",
		       r.ok, json_array_size(all), r.failed, missing);
	json_decref(all);
	json_decref(r.pending);
	return ctl_stop ? CTL_EXIT_INTERRUPTED : missing ? CTL_EXIT_DOWN
			: r.failed ? CTL_EXIT_ERROR : CTL_EXIT_OK;
}

int ctl_cmd_quarantine(struct ctl *ctl)
{
	if (strcmp(ctl->q_sub, "list") == 0 && !ctl->q_arg)
		return q_list(ctl);
	if (strcmp(ctl->q_sub, "show") == 0 && ctl->q_arg)
		return q_show(ctl);
	if (strcmp(ctl->q_sub, "reingest") == 0 && ctl->all && !ctl->q_arg)
		return q_reingest_all(ctl);
	if (strcmp(ctl->q_sub, "reingest") == 0 && ctl->q_arg)
		return q_reingest(ctl);
	fprintf(stderr, "gatewayctl: quarantine list | show ID | reingest ID|--all\n");
	return CTL_EXIT_USAGE;
}

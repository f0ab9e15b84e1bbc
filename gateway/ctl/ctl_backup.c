/*
 * ctl_backup.c - `gatewayctl backup DIR`: a copy of the state directory
 * while the gateway runs. Every LMDB environment (a folder holding
 * data.mdb) is copied with mdb_env_copy2(MDB_CP_COMPACT) inside one read
 * transaction, so each copy is consistent; the other files (progress files,
 * attachments, quarantined messages) are copied as they are. run/ and sock/
 * (the live processes' files) are left out.
 *
 * Order: every other environment before the router's store (store/), so a
 * message a connector's spool handed over after its copy was made is in
 * the store's copy; restored, the spools hand over at most messages the
 * router already has, which it counts as duplicates. The manifest
 * backup.json lists what was copied.
 */
#include "gateway/ctl/ctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"

#define BACKUP_DEPTH 8
#define BACKUP_MAX_ENVS 1024

struct backup {
	const char *src;   /* the state directory */
	const char *dst;   /* DIR */
	char *envs[BACKUP_MAX_ENVS]; /* relative paths of the environments */
	size_t n_envs;
	unsigned long long files, bytes;
	json_t *copied;    /* the manifest's list */
	struct ctl_progress progress;
};

/* join - base/rel into buf (PATH_MAX); GW_EINVAL when too long. */
static int join(char *buf, const char *base, const char *rel)
{
	int n = snprintf(buf, PATH_MAX, "%s%s%s", base, rel[0] ? "/" : "", rel);

	return n < 0 || n >= PATH_MAX ? GW_EINVAL : GW_OK;
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int has_data_mdb(const char *dir)
{
	char p[PATH_MAX];

	return (size_t)snprintf(p, sizeof(p), "%s/data.mdb", dir) < sizeof(p) &&
	       access(p, F_OK) == 0;
}

/* copy_file - src to dst (created 0600, synced). */
static int copy_file(struct backup *b, const char *src, const char *dst)
{
	char buf[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = GW_EIO;
	ssize_t n;

	if (in < 0)
		return errno == ENOENT ? GW_OK : GW_EIO; /* gone meanwhile: a spent file */
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		goto out;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (gw_write_all(out, buf, (size_t)n) != GW_OK)
			goto out;
		b->bytes += (unsigned long long)n;
	}
	if (n == 0 && fsync(out) == 0)
		rc = GW_OK;
	b->files++;
out:
	if (out >= 0)
		close(out);
	close(in);
	return rc;
}

/* copy_env - the environment at src/rel into dst/rel, compacted. */
static int copy_env(struct backup *b, const char *rel)
{
	char from[PATH_MAX], to[PATH_MAX];
	MDB_env *env = NULL;
	int rc;

	if (join(from, b->src, rel) != GW_OK || join(to, b->dst, rel) != GW_OK)
		return GW_EINVAL;
	if (gw_mkdir_p(to) != GW_OK)
		return GW_EIO;
	rc = mdb_env_create(&env);
	if (rc == 0)
		mdb_env_set_maxdbs(env, 64);
	if (rc == 0)
		rc = mdb_env_open(env, from, MDB_RDONLY | MDB_NOTLS, 0600);
	if (rc == 0)
		rc = mdb_env_copy2(env, to, MDB_CP_COMPACT);
	if (rc != 0)
		fprintf(stderr, "gatewayctl: %s: %s\n", from, mdb_strerror(rc));
	mdb_env_close(env);
	if (rc == 0)
		json_array_append_new(b->copied, json_pack("{s:s, s:s}", "path", rel,
							   "kind", "lmdb"));
	ctl_progress_step(&b->progress, 1);
	return rc == 0 ? GW_OK : GW_EIO;
}

static int walk(struct backup *b, const char *rel, int depth);

/* walk_entry - one entry of a folder: an environment to copy later, a
 * folder to walk, or a file to copy now. */
static int walk_entry(struct backup *b, const char *rel, int depth)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (join(from, b->src, rel) != GW_OK || join(to, b->dst, rel) != GW_OK)
		return GW_EINVAL;
	if (is_dir(from) && has_data_mdb(from)) {
		if (b->n_envs == BACKUP_MAX_ENVS || !(b->envs[b->n_envs] = strdup(rel)))
			return GW_ENOMEM;
		b->n_envs++;
		return GW_OK;
	}
	if (is_dir(from))
		return gw_mkdir_p(to) == GW_OK ? walk(b, rel, depth + 1) : GW_EIO;
	return copy_file(b, from, to);
}

static int skipped(const char *rel, const char *name)
{
	return name[0] == '.' || (!rel[0] && (strcmp(name, "run") == 0 || strcmp(name, "sock") == 0));
}

static int walk(struct backup *b, const char *rel, int depth)
{
	char dir[PATH_MAX], sub[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int rc = GW_OK;

	if (join(dir, b->src, rel) != GW_OK)
		return GW_EINVAL;
	if (depth > BACKUP_DEPTH || !(d = opendir(dir)))
		return depth > BACKUP_DEPTH ? GW_OK : GW_EIO;
	while (rc == GW_OK && (e = readdir(d)) != NULL) {
		if (skipped(rel, e->d_name))
			continue;
		if (rel[0] ? join(sub, rel, e->d_name) : join(sub, e->d_name, ""))
			continue;
		rc = walk_entry(b, sub, depth);
	}
	closedir(d);
	return rc;
}

/* copy_envs - every environment, the router's store last. */
static int copy_envs(struct backup *b)
{
	ssize_t store = -1;
	int rc = GW_OK;

	ctl_progress_start(&b->progress, "environments", b->n_envs, 0);
	for (size_t i = 0; rc == GW_OK && i < b->n_envs; i++) {
		if (strcmp(b->envs[i], "store") == 0)
			store = (ssize_t)i;
		else
			rc = copy_env(b, b->envs[i]);
	}
	if (rc == GW_OK && store >= 0)
		rc = copy_env(b, b->envs[store]);
	ctl_progress_end(&b->progress);
	return rc;
}

/* empty_target - DIR is created (0700), or exists and is empty. */
static int empty_target(const char *dst)
{
	DIR *d;
	struct dirent *e;
	int used = 0;

	if (gw_mkdir_p(dst) != GW_OK || !(d = opendir(dst))) {
		fprintf(stderr, "gatewayctl: %s: cannot create it: %s\n", dst, strerror(errno));
		return CTL_EXIT_ERROR;
	}
	while (!used && (e = readdir(d)) != NULL)
		used = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	if (used)
		fprintf(stderr, "gatewayctl: %s is not empty: a backup goes into a new folder\n",
			dst);
	return used ? CTL_EXIT_USAGE : CTL_EXIT_OK;
}

/* inside - whether path (existing or not) lies in dir. */
static int inside(const char *path, const char *dir)
{
	char rdir[PATH_MAX], rpath[PATH_MAX], parent[PATH_MAX];
	char *slash;
	size_t n;

	if (!realpath(dir, rdir))
		return 0;
	snprintf(parent, sizeof(parent), "%s", path);
	while (!realpath(parent, rpath)) {
		slash = strrchr(parent, '/');
		if (!slash || slash == parent)
			return parent[0] != '/' && inside(".", dir);
		*slash = '\0';
	}
	n = strlen(rdir);
	return strncmp(rpath, rdir, n) == 0 && (rpath[n] == '/' || rpath[n] == '\0');
}

static int write_manifest(struct backup *b, int json_out)
{
	char path[PATH_MAX], *text;
	json_t *m = json_pack("{s:I, s:s, s:O, s:I, s:I}", "created_at",
			      (json_int_t)time(NULL), "state_dir", b->src, "environments",
			      b->copied, "files", (json_int_t)b->files, "file_bytes",
			      (json_int_t)b->bytes);
	int rc = GW_ENOMEM;

	text = m ? json_dumps(m, JSON_INDENT(2)) : NULL;
	if (text && join(path, b->dst, "backup.json") == GW_OK)
		rc = gw_write_file_durable(path, text, strlen(text));
	if (rc == GW_OK && json_out)
		puts(text);
	else if (rc == GW_OK)
		printf("backup of %s in %s: %zu environments, %llu files (%llu bytes)\n", b->src,
		       b->dst, json_array_size(b->copied), b->files, b->bytes);
	free(text);
	json_decref(m);
	return rc;
}

int ctl_cmd_backup(struct ctl *ctl)
{
	struct backup b = {.src = ctl->state_dir, .dst = ctl->file, .copied = json_array()};
	int rc;

	if (!is_dir(b.src)) {
		fprintf(stderr, "gatewayctl: %s: no state directory\n", b.src);
		rc = CTL_EXIT_CONFIG;
		goto out;
	}
	if (inside(b.dst, b.src)) {
		fprintf(stderr, "gatewayctl: %s is inside the state directory %s\n", b.dst, b.src);
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	rc = empty_target(b.dst);
	if (rc != CTL_EXIT_OK)
		goto out;
	rc = walk(&b, "", 0);
	if (rc == GW_OK)
		rc = copy_envs(&b);
	if (rc == GW_OK)
		rc = write_manifest(&b, ctl->json);
	if (rc != GW_OK)
		fprintf(stderr, "gatewayctl: backup into %s failed: %s\n", b.dst, gw_strerror(rc));
	rc = rc == GW_OK ? CTL_EXIT_OK : CTL_EXIT_ERROR;
out:
	for (size_t i = 0; i < b.n_envs; i++)
		free(b.envs[i]);
	json_decref(b.copied);
	return rc;
}

/*
 * privilege.c - gatewayd started as root becomes the configured user
 * (privilege.h, docs/security.md).
 */
#define _GNU_SOURCE /* nftw, initgroups */
#include "gateway/privilege.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define CHOWN_FDS 32 /* descriptors nftw may hold open */
#define PRIV_GROUPS_MAX 256 /* groups of the user looked at by the file check */

static uid_t chown_uid;
static gid_t chown_gid;
static int chown_errno;

/* chown_one - one entry of the state directory; symbolic links are not
 * followed (nor changed), so a link placed there cannot aim the chown at a
 * file elsewhere. */
static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_SL || flag == FTW_SLN)
		return 0;
	if ((st->st_uid != chown_uid || st->st_gid != chown_gid) &&
	    lchown(path, chown_uid, chown_gid) != 0) {
		chown_errno = errno;
		return 1;
	}
	return 0;
}

/* own_state - state_dir and everything in it belong to uid:gid. */
static int own_state(const char *dir, uid_t uid, gid_t gid)
{
	chown_uid = uid;
	chown_gid = gid;
	chown_errno = 0;
	if (nftw(dir, chown_one, CHOWN_FDS, FTW_PHYS | FTW_MOUNT) != 0) {
		GW_ERROR("gatewayd", "cannot give %s to the gateway's user: %s", dir,
			 strerror(chown_errno ? chown_errno : errno));
		return GW_EIO;
	}
	return GW_OK;
}

/*
 * low_port - the lowest listener port under 1024 of what gatewayd will
 * start (enabled connectors' listen rows, gateway-integration, metrics), or
 * 0: binding it needs CAP_NET_BIND_SERVICE.
 */
static int low_port(const struct gw_config *cfg)
{
	int low = 0;

	for (size_t i = 0; i < cfg->n_connectors; i++) {
		const struct gw_connector_conf *c = &cfg->connectors[i];

		for (size_t j = 0; c->enabled && c->section && j < c->section->n_entries; j++) {
			const struct conf_entry *row = &c->section->entries[j];
			const struct conf_listen *l;

			if (row->kind != CONF_LISTEN)
				continue;
			l = (const struct conf_listen *)((const char *)c->settings + row->offset);
			if (l->port > 0 && l->port < 1024 && (!low || l->port < low))
				low = l->port;
		}
	}
	if (cfg->integration.enabled && cfg->integration.listen.port < 1024 &&
	    (!low || cfg->integration.listen.port < low))
		low = cfg->integration.listen.port;
	if (cfg->metrics.enabled && cfg->metrics.listen.port < 1024 &&
	    (!low || cfg->metrics.listen.port < low))
		low = cfg->metrics.listen.port;
	return low;
}

/*
 * keep_bind_cap - after setuid with PR_SET_KEEPCAPS: CAP_NET_BIND_SERVICE
 * alone stays (permitted, effective, inheritable) and is made ambient, so
 * that the router and the connectors gatewayd executes get it too; every
 * other capability is dropped.
 */
static int keep_bind_cap(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = data[0].inheritable =
		1u << CAP_NET_BIND_SERVICE;
	if (syscall(SYS_capset, &hdr, data) != 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) != 0 ||
	    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
		GW_ERROR("gatewayd", "cannot keep CAP_NET_BIND_SERVICE: %s", strerror(errno));
		return GW_EIO;
	}
	return GW_OK;
}

/* become - the groups, group and user of `pw`, for good; with `keep_bind`
 * CAP_NET_BIND_SERVICE stays (keep_bind_cap). */
static int become(const struct passwd *pw, int keep_bind)
{
	if (keep_bind && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
		GW_ERROR("gatewayd", "cannot keep CAP_NET_BIND_SERVICE: %s", strerror(errno));
		return GW_EIO;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		GW_ERROR("gatewayd", "cannot become user %s: %s", pw->pw_name, strerror(errno));
		return GW_EIO;
	}
	if (keep_bind && keep_bind_cap() != GW_OK)
		return GW_EIO;
	if (setuid(0) == 0) { /* must be impossible now */
		GW_ERROR("gatewayd", "still able to become root after dropping to %s",
			 pw->pw_name);
		return GW_EIO;
	}
	return GW_OK;
}

int privilege_drop(const struct gw_config *cfg)
{
	struct passwd *pw;
	int rc, low = low_port(cfg);

	if (!cfg->user || !cfg->user[0]) {
		if (geteuid() == 0)
			GW_WARN("gatewayd", "running as root: set `user:` in the config to an "
				"unprivileged account");
		return GW_OK;
	}
	errno = 0;
	pw = getpwnam(cfg->user);
	if (!pw) {
		GW_ERROR("gatewayd", "user: no account named %s%s%s", cfg->user,
			 errno ? ": " : "", errno ? strerror(errno) : "");
		return GW_ECONFIG;
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return GW_OK;
		GW_ERROR("gatewayd", "user: %s, but started as uid %ld, not root: cannot switch",
			 cfg->user, (long)geteuid());
		return GW_ECONFIG;
	}
	rc = gw_mkdir_p(cfg->state_dir);
	if (rc == GW_OK)
		rc = own_state(cfg->state_dir, pw->pw_uid, pw->pw_gid);
	if (rc == GW_OK)
		rc = become(pw, low != 0);
	if (rc == GW_OK)
		GW_INFO("gatewayd", "running as %s (uid %ld)%s", pw->pw_name, (long)pw->pw_uid,
			low ? ", with CAP_NET_BIND_SERVICE alone for the listener ports under 1024"
			    : "");
	return rc;
}

/* mode_allows - the bits of `st` that apply to `pw` (owner, one of its
 * groups, or others) include `want` (4 read, 1 search). */
static int mode_allows(const struct passwd *pw, const gid_t *groups, int ngroups,
		       const struct stat *st, unsigned want)
{
	int in_group = 0;

	for (int g = 0; g < ngroups; g++)
		in_group |= groups[g] == st->st_gid;
	if (st->st_uid == pw->pw_uid)
		return ((st->st_mode >> 6) & want) != 0;
	return ((in_group ? st->st_mode >> 3 : st->st_mode) & want) != 0;
}

/* can_read - whether `pw` (its uid, its groups) may read `path` by the
 * mode bits, and search every folder above it; root may. An absent file
 * passes: the loader reports it. */
static int can_read(const struct passwd *pw, const gid_t *groups, int ngroups,
		    const char *path)
{
	char p[PATH_MAX];
	struct stat st;
	char *slash;

	if (pw->pw_uid == 0 || stat(path, &st) != 0)
		return 1;
	if (!mode_allows(pw, groups, ngroups, &st, 4))
		return 0;
	snprintf(p, sizeof(p), "%s", path);
	while ((slash = strrchr(p, '/')) != NULL) {
		*slash = '\0';
		if (stat(p[0] ? p : "/", &st) != 0)
			return 1;
		if (!mode_allows(pw, groups, ngroups, &st, 1))
			return 0;
		if (!p[0])
			break;
	}
	return 1;
}

void privilege_check_files(const struct gw_config *cfg)
{
	const char *files[] = {cfg->path, cfg->router.curve_key, cfg->router.curve_client_key,
			       cfg->router.curve_server_public, cfg->router.curve_consumers,
			       cfg->router.curve_commanders, cfg->router.curve_connectors};
	gid_t groups[PRIV_GROUPS_MAX];
	int ngroups = PRIV_GROUPS_MAX;
	struct passwd *pw;

	if (!cfg->user || !cfg->user[0] || !(pw = getpwnam(cfg->user)))
		return;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) < 0)
		ngroups = 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i] && !can_read(pw, groups, ngroups, files[i]))
			fprintf(stderr, "gatewayd: warning: user %s cannot read %s: the processes "
				"that run as it will fail to (give it to that user or its group)\n",
				pw->pw_name, files[i]);
}

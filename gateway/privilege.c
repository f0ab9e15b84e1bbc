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
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define CHOWN_FDS 32 /* descriptors nftw may hold open */

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

/* become - the groups, group and user of `pw`, for good. */
static int become(const struct passwd *pw)
{
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		GW_ERROR("gatewayd", "cannot become user %s: %s", pw->pw_name, strerror(errno));
		return GW_EIO;
	}
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
	int rc;

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
		rc = become(pw);
	if (rc == GW_OK)
		GW_INFO("gatewayd", "running as %s (uid %ld)", pw->pw_name, (long)pw->pw_uid);
	return rc;
}

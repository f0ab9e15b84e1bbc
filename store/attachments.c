/*
 * attachments.c - the content-addressed attachment store (attachments.h).
 */
#include "store/attachments.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "core/util.h"

#define ATTACH_PATH_MAX 4096

int attach_sha256_hex(const void *data, size_t len, char hex[ATTACH_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return GW_ENOMEM; /* OpenSSL fails here only when it cannot allocate */
	for (unsigned int i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[ATTACH_HEX_LEN] = '\0';
	return GW_OK;
}

static int is_hex_digest(const char *hex)
{
	size_t i;

	for (i = 0; hex[i]; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return 0;
	return i == ATTACH_HEX_LEN;
}

int attach_path(const char *dir, const char *hex, char *buf, size_t size)
{
	int n;

	if (!is_hex_digest(hex))
		return GW_EINVAL;
	n = snprintf(buf, size, "%s/%.2s/%s", dir, hex, hex);
	return n < 0 || (size_t)n >= size ? GW_EINVAL : GW_OK;
}

/* A blob is there when a regular file of the right size has its name. */
static int already_stored(const char *path, size_t len)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == len;
}

/* Writes the bytes to a new unique temporary file in `sub`, fsync'ed. */
static int write_tmp(const char *sub, const void *data, size_t len, char *tmp, size_t size)
{
	int fd, rc;

	if ((size_t)snprintf(tmp, size, "%s/.tmp-XXXXXX", sub) >= size)
		return GW_EINVAL;
	fd = mkstemp(tmp);
	if (fd < 0) {
		tmp[0] = '\0';
		return GW_EIO;
	}
	rc = gw_write_all(fd, data, len);
	if (rc == GW_OK && fsync(fd) != 0)
		rc = GW_EIO;
	if (close(fd) != 0 && rc == GW_OK)
		rc = GW_EIO;
	return rc;
}

int attach_put(const char *dir, const void *data, size_t len, uint64_t max_bytes,
	       char hex[ATTACH_HEX_LEN + 1])
{
	char path[ATTACH_PATH_MAX], sub[ATTACH_PATH_MAX], tmp[ATTACH_PATH_MAX] = "";
	struct stat st;
	int rc, sub_existed;

	rc = attach_sha256_hex(data, len, hex);
	if (rc != GW_OK)
		goto out;
	if (len > max_bytes) {
		rc = GW_ETOOBIG;
		goto out;
	}
	rc = attach_path(dir, hex, path, sizeof(path));
	if (rc != GW_OK || already_stored(path, len))
		goto out;
	if ((size_t)snprintf(sub, sizeof(sub), "%s/%.2s", dir, hex) >= sizeof(sub)) {
		rc = GW_EINVAL;
		goto out;
	}
	sub_existed = stat(sub, &st) == 0;
	if ((rc = gw_mkdir_p(sub)) != GW_OK)
		goto out;
	if ((rc = write_tmp(sub, data, len, tmp, sizeof(tmp))) != GW_OK)
		goto out;
	if (rename(tmp, path) != 0) {
		rc = GW_EIO;
		goto out;
	}
	tmp[0] = '\0';
	/* The new name, and a new fan-out folder, must survive a crash too. */
	rc = gw_fsync_dir(sub);
	if (rc == GW_OK && !sub_existed)
		rc = gw_fsync_dir(dir);
out:
	if (tmp[0]) {
		int saved = errno;

		unlink(tmp);
		errno = saved;
	}
	return rc;
}

int attach_tmp_open(const char *dir, char *tmp, size_t size, int *fd)
{
	int rc;

	*fd = -1;
	rc = gw_mkdir_p(dir);
	if (rc != GW_OK)
		return rc;
	if ((size_t)snprintf(tmp, size, "%s/.tmp-XXXXXX", dir) >= size)
		return GW_EINVAL;
	*fd = mkstemp(tmp);
	if (*fd < 0) {
		tmp[0] = '\0';
		return GW_EIO;
	}
	return GW_OK;
}

int attach_adopt(const char *dir, const char *tmp, int fd, const char *hex, uint64_t len)
{
	char path[ATTACH_PATH_MAX], sub[ATTACH_PATH_MAX];
	struct stat st;
	int rc, sub_existed, gone = 0;

	rc = attach_path(dir, hex, path, sizeof(path));
	if (rc != GW_OK || already_stored(path, (size_t)len))
		goto out;
	if ((size_t)snprintf(sub, sizeof(sub), "%s/%.2s", dir, hex) >= sizeof(sub)) {
		rc = GW_EINVAL;
		goto out;
	}
	sub_existed = stat(sub, &st) == 0;
	if ((rc = gw_mkdir_p(sub)) != GW_OK)
		goto out;
	if (fsync(fd) != 0 || rename(tmp, path) != 0) {
		rc = GW_EIO;
		goto out;
	}
	gone = 1;
	/* The new name, and a new fan-out folder, must survive a crash too. */
	rc = gw_fsync_dir(sub);
	if (rc == GW_OK && !sub_existed)
		rc = gw_fsync_dir(dir);
out:
	if (!gone) {
		int saved = errno;

		unlink(tmp);
		errno = saved;
	}
	return rc;
}

/* ---- media types ------------------------------------------------------------ */

/*
 * type_clean - `type` as "a/b" of token characters (RFC 9110), parameters
 * cut off, lowercased, into out (ATTACH_TYPE_MAX + 1 bytes); "" when it is
 * missing, malformed or says nothing (octet-stream, a wildcard).
 */
static void type_clean(const char *type, char out[ATTACH_TYPE_MAX + 1])
{
	static const char tchar[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789!#$&^_.+-'|~`%";
	size_t n = type ? strcspn(type, "; \t") : 0, a;

	out[0] = '\0';
	if (n == 0 || n > ATTACH_TYPE_MAX)
		return;
	a = strspn(type, tchar);
	if (a == 0 || type[a] != '/' || a + 1 == n || strspn(type + a + 1, tchar) != n - a - 1)
		return;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(type[i] >= 'A' && type[i] <= 'Z' ? type[i] - 'A' + 'a' : type[i]);
	out[n] = '\0';
	if (strcmp(out, "application/octet-stream") == 0 || strcmp(out + a, "/*") == 0)
		out[0] = '\0';
}

static int type_path(const char *dir, const char *hex, char *buf, size_t size)
{
	char blob[ATTACH_PATH_MAX];
	int rc = attach_path(dir, hex, blob, sizeof(blob));

	if (rc == GW_OK && (size_t)snprintf(buf, size, "%s.type", blob) >= size)
		rc = GW_EINVAL;
	return rc;
}

int attach_type_put(const char *dir, const char *hex, const char *type)
{
	char path[ATTACH_PATH_MAX], sub[ATTACH_PATH_MAX], tmp[ATTACH_PATH_MAX] = "";
	char clean[ATTACH_TYPE_MAX + 2];
	struct stat st;
	size_t n;
	int rc;

	rc = type_path(dir, hex, path, sizeof(path));
	type_clean(type, clean);
	if (rc != GW_OK || !clean[0] || stat(path, &st) == 0)
		goto out;
	if ((size_t)snprintf(sub, sizeof(sub), "%s/%.2s", dir, hex) >= sizeof(sub)) {
		rc = GW_EINVAL;
		goto out;
	}
	n = strlen(clean);
	clean[n] = '\n'; /* one line, for people who look */
	clean[n + 1] = '\0';
	if ((rc = gw_mkdir_p(sub)) != GW_OK)
		goto out;
	if ((rc = write_tmp(sub, clean, strlen(clean), tmp, sizeof(tmp))) != GW_OK)
		goto out;
	if (rename(tmp, path) != 0) {
		rc = GW_EIO;
		goto out;
	}
	tmp[0] = '\0';
	rc = gw_fsync_dir(sub);
out:
	if (tmp[0]) {
		int saved = errno;

		unlink(tmp);
		errno = saved;
	}
	return rc;
}

int attach_type_get(const char *dir, const char *hex, char *buf, size_t size)
{
	char path[ATTACH_PATH_MAX], raw[ATTACH_TYPE_MAX + 2];
	ssize_t n = 0;
	int fd = -1, rc;

	rc = type_path(dir, hex, path, sizeof(path));
	if (rc == GW_OK && size <= ATTACH_TYPE_MAX)
		rc = GW_EINVAL;
	if (rc != GW_OK)
		goto out;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = errno == ENOENT ? GW_ENOTFOUND : GW_EIO;
		goto out;
	}
	n = read(fd, raw, sizeof(raw) - 1);
	if (n < 0) {
		rc = GW_EIO;
		goto out;
	}
	raw[n] = '\0';
	raw[strcspn(raw, "\n")] = '\0';
	type_clean(raw, buf);
	if (!buf[0])
		rc = GW_EINVAL;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * meta_accounts.c - the Meta connector's accounts file (meta_accounts.h).
 */
#include "store/meta_accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

int meta_accounts_save(const char *path, const struct meta_account *a, size_t n)
{
	char *text = malloc(META_ACCOUNTS_FILE_MAX + 1);
	size_t len = 0;
	int rc = GW_ENOMEM;

	if (!text)
		goto out;
	/* Each line fits: META_ACCOUNTS_FILE_MAX counts the longest ones. */
	for (size_t i = 0; i < n && i < META_ACCOUNTS_MAX && len < META_ACCOUNTS_FILE_MAX; i++) {
		int w = snprintf(text + len, META_ACCOUNTS_FILE_MAX + 1 - len, "%s %s\n",
				 a[i].channel, a[i].account);

		len += w > 0 ? (size_t)w : 0;
	}
	if (len > META_ACCOUNTS_FILE_MAX)
		len = META_ACCOUNTS_FILE_MAX;
	rc = gw_write_file_atomic(path, text, len);
out:
	free(text);
	return rc;
}

int meta_accounts_load(const char *path,
		       void (*fn)(void *arg, const char *channel, const char *account), void *arg)
{
	char *text = NULL, *line, *end;
	size_t len = 0;
	int rc = gw_read_file(path, META_ACCOUNTS_FILE_MAX, &text, &len);

	if (rc)
		goto out;
	for (line = text; line < text + len; line = end + 1) {
		char *sp;

		end = memchr(line, '\n', (size_t)(text + len - line));
		if (!end)
			break;
		*end = '\0';
		sp = strchr(line, ' ');
		if (sp && sp > line && sp[1]) {
			*sp = '\0';
			fn(arg, line, sp + 1);
		}
	}
out:
	free(text);
	return rc;
}

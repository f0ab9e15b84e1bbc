/*
 * meta_file.c - where an attachment of a WhatsApp, Messenger or Instagram
 * reply comes from (meta_out.h, meta_file_of): a URL Meta fetches, or a
 * blob of the attachment store the reply uploads.
 */
#include "connectors/meta/meta_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "store/attachments.h"

int meta_file_of(const char *attach_dir, const struct proto_attachment *a, struct meta_file *f,
		 char *why, size_t whylen)
{
	const char *hex = a->ref + strlen(ATTACH_REF_PREFIX);
	char path[4096];

	memset(f, 0, sizeof(*f));
	if (strncmp(a->ref, "https://", 8) == 0)
		return GW_OK;
	if (strncmp(a->ref, ATTACH_REF_PREFIX, strlen(ATTACH_REF_PREFIX)) != 0 ||
	    attach_path(attach_dir, hex, path, sizeof(path)) != GW_OK) {
		snprintf(why, whylen, "attachment %.64s: its ref is neither a stored blob "
			 "(sha256:<hex>) nor an https:// URL", a->name);
		return GW_EINVAL;
	}
	if (access(path, R_OK) != 0) {
		snprintf(why, whylen, "attachment %.64s: sha256:%.12s... is not in the attachment "
			 "store", a->name, hex);
		return GW_EINVAL;
	}
	f->path = strdup(path);
	f->type = strdup(a->type);
	f->name = strdup(a->name[0] ? a->name : "file");
	if (f->path && f->type && f->name)
		return GW_OK;
	meta_file_clear(f);
	return GW_ENOMEM;
}

void meta_file_clear(struct meta_file *f)
{
	free(f->path);
	free(f->type);
	free(f->name);
	memset(f, 0, sizeof(*f));
}

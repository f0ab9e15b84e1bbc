/* err.c - names and texts of the project's error codes. */
#include "core/err.h"

#include <errno.h>
#include <string.h>

struct err_text {
	const char *name;
	const char *text;
};

static const struct err_text err_texts[GW__ERR_COUNT] = {
	[GW_OK] = {"GW_OK", "success"},
	[GW_ENOMEM] = {"GW_ENOMEM", "out of memory"},
	[GW_EINVAL] = {"GW_EINVAL", "invalid argument"},
	[GW_EPROTO] = {"GW_EPROTO", "malformed data"},
	[GW_EVERSION] = {"GW_EVERSION", "unknown schema version"},
	[GW_ETYPE] = {"GW_ETYPE", "unknown type or wrong field type"},
	[GW_EMISSING] = {"GW_EMISSING", "required field missing"},
	[GW_ETOOBIG] = {"GW_ETOOBIG", "value over its size limit"},
	[GW_ENOTFOUND] = {"GW_ENOTFOUND", "not found"},
	[GW_EEXIST] = {"GW_EEXIST", "already exists"},
	[GW_EFULL] = {"GW_EFULL", "queue or storage full"},
	[GW_EAGAIN] = {"GW_EAGAIN", "temporarily unavailable"},
	[GW_EIO] = {"GW_EIO", "input/output error"},
	[GW_ESTORE] = {"GW_ESTORE", "storage error"},
	[GW_ECONFIG] = {"GW_ECONFIG", "invalid configuration"},
	[GW_EAUTH] = {"GW_EAUTH", "authentication failed"},
	[GW_EBUS] = {"GW_EBUS", "message bus error"},
	[GW_ECLOSED] = {"GW_ECLOSED", "closed"},
	[GW_EPERM] = {"GW_EPERM", "not allowed"},
	[GW_ETLS] = {"GW_ETLS", "TLS refused or certificate not verified"},
};

const char *gw_strerror(int err)
{
	if (err < 0 || err >= GW__ERR_COUNT)
		return "unknown error";
	return err_texts[err].text;
}

const char *gw_err_text(int err)
{
	return err == GW_EIO && errno ? strerror(errno) : gw_strerror(err);
}

const char *gw_err_name(int err)
{
	if (err < 0 || err >= GW__ERR_COUNT)
		return "GW_E?";
	return err_texts[err].name;
}

int gw_err_from_errno(int errnum)
{
	switch (errnum) {
	case 0:
		return GW_OK;
	case ENOMEM:
		return GW_ENOMEM;
	case EINVAL:
		return GW_EINVAL;
	case EAGAIN:
	case EINTR:
		return GW_EAGAIN;
	case ENOENT:
		return GW_ENOTFOUND;
	case EEXIST:
		return GW_EEXIST;
	case ENOSPC:
	case EDQUOT:
		return GW_EFULL;
	case EMSGSIZE:
	case E2BIG:
		return GW_ETOOBIG;
	default:
		return GW_EIO;
	}
}

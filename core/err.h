/*
 * err.h - the project's one error enum.
 *
 * Every function that can fail returns an `int` that is either GW_OK (0) or
 * one of the positive codes below. Codes of dependencies (MDB_*, errno from
 * ZeroMQ, libwebsockets, CURLcode) are translated into these in one place per
 * dependency (store/store.c for LMDB, gw_err_from_errno() for ZeroMQ and
 * system calls, connectors/curl_err.c for libcurl), so callers never see a
 * foreign code.
 */
#ifndef GW_ERR_H
#define GW_ERR_H

/*
 * GW_MUST_CHECK - on the prototype of a function whose gw_err must not be
 * dropped: a caller that ignores it does not compile (-Werror). A cast to
 * void does not silence it: a result ignored on purpose is assigned and
 * its reason written beside it.
 */
#define GW_MUST_CHECK __attribute__((warn_unused_result))

enum gw_err {
	GW_OK = 0,
	GW_ENOMEM,     /* an allocation failed */
	GW_EINVAL,     /* a caller passed an invalid argument */
	GW_EPROTO,     /* malformed encoded data (msgpack, JSON, frames) */
	GW_EVERSION,   /* unknown schema version */
	GW_ETYPE,      /* unknown event type, or a field of the wrong type */
	GW_EMISSING,   /* a required field is missing */
	GW_ETOOBIG,    /* a value, body or record is over its limit */
	GW_ENOTFOUND,  /* no such record */
	GW_EEXIST,     /* the record already exists (e.g. a duplicate) */
	GW_EFULL,      /* a bounded queue, spool or map is full */
	GW_EAGAIN,     /* try again later (nothing was changed) */
	GW_EIO,        /* a system call failed; errno-derived */
	GW_ESTORE,     /* LMDB failed; details in the log */
	GW_ECONFIG,    /* invalid configuration */
	GW_EAUTH,      /* authentication failed */
	GW_EBUS,       /* ZeroMQ failed */
	GW_ECLOSED,    /* the peer or the component is shut down */
	GW_EPERM,      /* authenticated, but not allowed to do this */
	GW_ETLS,       /* TLS refused: no STARTTLS, or a peer certificate not verified */
	GW__ERR_COUNT
};

/* gw_strerror - a static, human-readable text for `err`; never NULL. */
const char *gw_strerror(int err);

/*
 * gw_err_text - gw_strerror, except that GW_EIO reads errno (as the failing
 * call left it: read it at once), so that a log says "No space left on
 * device" rather than "I/O error". Never NULL.
 */
const char *gw_err_text(int err);

/* gw_err_name - the symbolic name ("GW_ETOOBIG") of `err`; never NULL. */
const char *gw_err_name(int err);

/* gw_err_from_errno - maps a system errno (also ZeroMQ's) to a gw_err. */
int gw_err_from_errno(int errnum);

#endif

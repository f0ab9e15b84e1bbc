/*
 * curl_err.c - libcurl's codes as gw_err (curl_err.h).
 */
#include "connectors/curl_err.h"

#include "core/err.h"

int gw_curl_err(CURLcode res)
{
	switch (res) {
	case CURLE_OK: return GW_OK;
	case CURLE_LOGIN_DENIED: return GW_EAUTH;
	case CURLE_OUT_OF_MEMORY: return GW_ENOMEM;
	case CURLE_REMOTE_FILE_NOT_FOUND: return GW_ENOTFOUND;
	case CURLE_FILESIZE_EXCEEDED: return GW_ETOOBIG;
	case CURLE_USE_SSL_FAILED:
	case CURLE_PEER_FAILED_VERIFICATION:
		return GW_ETLS;
	case CURLE_QUOTE_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_RANGE_ERROR:
		return GW_EPROTO;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_NOT_BUILT_IN:
	case CURLE_UNKNOWN_OPTION:
	case CURLE_BAD_FUNCTION_ARGUMENT:
		return GW_EINVAL;
	default:
		return GW_EIO;
	}
}

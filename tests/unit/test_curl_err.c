/*
 * test_curl_err.c - libcurl's codes as gw_err (connectors/curl_err.h), the
 * one mapping the sender, the downloads and the email connector use: one
 * case per class, and the codes that must stay in the default (GW_EIO)
 * because their channels retry them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "connectors/curl_err.h"
#include "core/err.h"

static void test_ok(void **state)
{
	(void)state;
	assert_int_equal(gw_curl_err(CURLE_OK), GW_OK);
}

static void test_auth(void **state)
{
	(void)state;
	assert_int_equal(gw_curl_err(CURLE_LOGIN_DENIED), GW_EAUTH);
}

static void test_nomem(void **state)
{
	(void)state;
	assert_int_equal(gw_curl_err(CURLE_OUT_OF_MEMORY), GW_ENOMEM);
}

static void test_notfound(void **state)
{
	(void)state;
	assert_int_equal(gw_curl_err(CURLE_REMOTE_FILE_NOT_FOUND), GW_ENOTFOUND);
}

static void test_toobig(void **state)
{
	(void)state;
	assert_int_equal(gw_curl_err(CURLE_FILESIZE_EXCEEDED), GW_ETOOBIG);
}

static void test_proto(void **state)
{
	(void)state;
	assert_int_equal(gw_curl_err(CURLE_WEIRD_SERVER_REPLY), GW_EPROTO);
	assert_int_equal(gw_curl_err(CURLE_QUOTE_ERROR), GW_EPROTO);
	assert_int_equal(gw_curl_err(CURLE_RANGE_ERROR), GW_EPROTO);
}

static void test_inval(void **state)
{
	(void)state;
	assert_int_equal(gw_curl_err(CURLE_URL_MALFORMAT), GW_EINVAL);
	assert_int_equal(gw_curl_err(CURLE_UNSUPPORTED_PROTOCOL), GW_EINVAL);
	assert_int_equal(gw_curl_err(CURLE_NOT_BUILT_IN), GW_EINVAL);
	assert_int_equal(gw_curl_err(CURLE_UNKNOWN_OPTION), GW_EINVAL);
	assert_int_equal(gw_curl_err(CURLE_BAD_FUNCTION_ARGUMENT), GW_EINVAL);
}

static void test_tls(void **state)
{
	(void)state;
	assert_int_equal(gw_curl_err(CURLE_USE_SSL_FAILED), GW_ETLS);
	assert_int_equal(gw_curl_err(CURLE_PEER_FAILED_VERIFICATION), GW_ETLS);
	assert_string_equal(gw_err_name(GW_ETLS), "GW_ETLS");
}

/* Transient failures the channels retry: network, a broken handshake,
 * timeouts, a write callback that refused the bytes. */
static void test_io(void **state)
{
	(void)state;
	assert_int_equal(gw_curl_err(CURLE_COULDNT_CONNECT), GW_EIO);
	assert_int_equal(gw_curl_err(CURLE_COULDNT_RESOLVE_HOST), GW_EIO);
	assert_int_equal(gw_curl_err(CURLE_OPERATION_TIMEDOUT), GW_EIO);
	assert_int_equal(gw_curl_err(CURLE_SSL_CONNECT_ERROR), GW_EIO);
	assert_int_equal(gw_curl_err(CURLE_SEND_ERROR), GW_EIO);
	assert_int_equal(gw_curl_err(CURLE_RECV_ERROR), GW_EIO);
	assert_int_equal(gw_curl_err(CURLE_WRITE_ERROR), GW_EIO);
	assert_int_equal(gw_curl_err(CURLE_GOT_NOTHING), GW_EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),       cmocka_unit_test(test_auth),
		cmocka_unit_test(test_nomem),    cmocka_unit_test(test_notfound),
		cmocka_unit_test(test_toobig),   cmocka_unit_test(test_proto),
		cmocka_unit_test(test_inval),    cmocka_unit_test(test_tls),
		cmocka_unit_test(test_io),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * curl_err.h - libcurl's result codes as gw_err, in one place for every
 * program that uses libcurl: the sender's attempts (connectors/sender.c
 * gives each channel's classify the gw_err), the email connector's IMAP and
 * OAuth, Telegram's polling, the media downloads, the webhooks of
 * gateway-integration. Callers keep curl_easy_strerror() or the
 * CURLOPT_ERRORBUFFER text for the log; the code they return is this one.
 * Target gw_curl_err (links libcurl): only channels that use libcurl link it.
 */
#ifndef GW_CURL_ERR_H
#define GW_CURL_ERR_H

#include <curl/curl.h>

/*
 * gw_curl_err - the gw_err for `res`: GW_OK for CURLE_OK; GW_EAUTH (login
 * refused), GW_ENOMEM (out of memory), GW_ENOTFOUND (no such remote file
 * or mailbox), GW_ETOOBIG (over CURLOPT_MAXFILESIZE), GW_EPROTO (the
 * server's answer cannot be understood), GW_EINVAL (a malformed URL or an
 * option the build lacks), GW_ETLS (the server offers no STARTTLS where it
 * is required, or its certificate cannot be verified: a setting to fix,
 * not a retry), GW_EIO for everything else (network, a TLS handshake that
 * broke, timeouts, a write callback that refused the bytes). Pure; any
 * thread.
 */
int gw_curl_err(CURLcode res);

#endif

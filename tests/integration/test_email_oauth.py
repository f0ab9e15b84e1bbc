"""
OAuth 2.0 login of the email connector (docs/channels/email.md, "OAuth
2.0"), end to end with real mail servers: the test's Dovecot (dovecot.py)
takes IMAP logins with SASL XOAUTH2/OAUTHBEARER through its oauth2 passdb,
which asks an introspection endpoint played by this test about each token;
Postfix (smtp.py) takes SMTP logins the same way through Dovecot's auth. A
stand-in for the provider's token endpoint (this test's http.server)
answers the refresh_token grant as RFC 6749 says: a Bearer token with a
short expires_in, or 400 {"error": "invalid_grant"}.

  - fetch, IDLE and send with tokens that expire during the test: the
    first token is revoked (the connector must refresh after the refused
    login, once, and go on), the later ones live 12 s (the introspection
    then refuses them): the connector refreshes before expiry, reads mail
    before and after (the later one announced by IDLE, with polling
    slowed to a minute), sends a reply through Postfix after every token
    it had was revoked (refused, refreshed, sent), and never presents an
    expired token (mechanism auto: OAUTHBEARER, which Dovecot offers);
  - mechanism xoauth2: fetch and send log in with XOAUTH2 only;
  - a refused refresh token: the connector's status (and `gatewayctl
    status`) says "the refresh token was refused: consent again", and the
    token endpoint is not asked again in a loop.

Postfix needs root; without it (or without the packages) the tests skip
and say why.
"""

import json
import os
import sys
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dovecot
import gwtest
import smtp
from gwtest import GatewayTestCase, tmo
from test_email_reply import customer_mail

USERS = {"support": "support-pw", "customer": "customer-pw"}
CLIENT_ID = "omnigate-test-client"
CLIENT_SECRET = "s3cret-client"
GOOD_RT = "1//refresh-good"
BAD_RT = "1//refresh-revoked"
LIFETIME_S = 12


class Provider:
    """The token endpoint (POST /token) and Dovecot's introspection
    endpoint (POST /introspect) of a made-up OAuth provider."""

    def __init__(self, expires_in=LIFETIME_S):
        self.expires_in = expires_in
        self.lock = threading.Lock()
        self.issued = {}         # token -> (user, monotonic time it dies)
        self.revoked = set()
        self.revoke_first = True
        self.grants = []         # the form of each token request
        self.checks = []         # (token, active) of each introspection
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def _handler(self):
        prov = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(n).decode(), keep_blank_values=True)
                form = {k: v[0] for k, v in form.items()}
                if self.path == "/token":
                    status, doc = prov.grant(form, self.headers.get("Content-Type", ""))
                elif self.path == "/introspect":
                    status, doc = prov.introspect(form.get("token", ""))
                else:
                    status, doc = 404, {"error": "not_found"}
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def grant(self, form, ctype):
        with self.lock:
            self.grants.append(dict(form, content_type=ctype))
            if form.get("grant_type") != "refresh_token":
                return 400, {"error": "unsupported_grant_type"}
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                return 401, {"error": "invalid_client"}
            if form.get("refresh_token") != GOOD_RT:
                return 400, {"error": "invalid_grant",
                             "error_description": "Token has been expired or revoked."}
            token = f"ya29.test-{len(self.issued) + 1}-{os.urandom(8).hex()}"
            self.issued[token] = ("support", time.monotonic() + self.expires_in)
            if self.revoke_first:
                self.revoke_first = False
                self.revoked.add(token)
            return 200, {"access_token": token, "expires_in": self.expires_in,
                         "token_type": "Bearer", "scope": "https://mail.google.com/"}

    def introspect(self, token):
        with self.lock:
            user, dies = self.issued.get(token, (None, 0))
            active = bool(user) and token not in self.revoked and time.monotonic() < dies
            self.checks.append((token, active))
        if not active:
            return 200, {"active": False}
        return 200, {"active": True, "username": user, "scope": "https://mail.google.com/"}

    def revoke_all(self):
        """Revokes every token issued so far (a password change, an admin)."""
        with self.lock:
            self.revoked |= set(self.issued)

    def snapshot(self):
        with self.lock:
            return list(self.grants), list(self.checks), dict(self.issued), set(self.revoked)


class OAuthTestCase(GatewayTestCase):

    def setUp(self):
        super().setUp()
        why = dovecot.available(lmtp=True) or smtp.available()
        if why:
            self.skipTest(why)
        self.prov = Provider().start()
        self.addCleanup(self.prov.stop)
        root = os.path.join(self.tmp, "dovecot")
        os.makedirs(root)
        self.dc = dovecot.Dovecot(root, USERS, lmtp=True,
                                  oauth_url=self.prov.url("/introspect"))
        self.logs = {}
        self.addCleanup(self._stop, "dovecot", self.dc)
        self.dc.start()
        root = os.path.join(self.tmp, "postfix")
        os.makedirs(root)
        self.pf = smtp.Postfix(root, self.dc)
        self.addCleanup(self._stop, "postfix", self.pf)
        self.pf.start()

    def _stop(self, name, server):
        self.logs[name] = server.log_tail()
        server.stop()

    def _print_logs(self):
        super()._print_logs()
        for name, tail in getattr(self, "logs", {}).items():
            sys.stderr.write(f"--- {name} log ---\n{tail}\n")

    def start(self, refresh_token, mechanism=None):
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        gw = gwtest.Gateway(root)
        lines = ["  - name: mail", "    type: email", "    enabled: true",
                 f"    url: \"imap://127.0.0.1:{self.dc.port}/INBOX\"",
                 "    username: support", "    tls: none", "    after: seen",
                 "    poll_interval_ms: 60000",
                 "    oauth:",
                 f"      token_url: \"{self.prov.url('/token')}\"",
                 f"      client_id: {CLIENT_ID}",
                 "      client_secret: ${GW_OAUTH_SECRET}",
                 "      refresh_token: ${GW_OAUTH_RT}"]
        if mechanism:
            lines.append(f"      mechanism: {mechanism}")
        lines += ["    smtp:",
                 f"      url: \"smtp://127.0.0.1:{self.pf.port}\"",
                 "      tls: none", "      from: support@acme.test"]
        with open(gw.config_path, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        gw.connectors.append("mail")
        gw.env["GW_OAUTH_SECRET"] = CLIENT_SECRET
        gw.env["GW_OAUTH_RT"] = refresh_token
        self.gw = self.run_gateway(gw)
        self.bus = self.start_consumer(gw)
        return gw

    def status_file(self):
        return gwtest.read_json_file(self.gw.run_file("mail")) or {}

    def accepted_tokens(self):
        _, checks, _, _ = self.prov.snapshot()
        return {t for t, ok in checks if ok}


class TestOAuthMailbox(OAuthTestCase):

    def test_fetch_idle_and_send_across_token_expiry(self):
        self.start(GOOD_RT)
        # Fetch: the first token is refused at the login; one refresh, then in.
        first = self.dc.append("support", customer_mail("o1@customer.test"))
        self.assertIsNotNone(first)
        m = self.bus.wait_message("o1@customer.test", tmo(30))
        grants, checks, issued, revoked = self.prov.snapshot()
        self.assertGreaterEqual(len(grants), 2, grants)
        g = grants[0]
        self.assertEqual((g["grant_type"], g["refresh_token"], g["client_id"],
                          g["client_secret"]), ("refresh_token", GOOD_RT, CLIENT_ID,
                                                CLIENT_SECRET))
        self.assertTrue(g["content_type"].startswith("application/x-www-form-urlencoded"))
        self.assertNotIn("scope", g)
        (bad,) = revoked
        self.assertIn((bad, False), checks, "the revoked token was not presented first")
        self.assertTrue(self.accepted_tokens(), "no token was accepted")

        # Tokens live 12 s: by the time two more were issued, the ones the
        # connector started with are dead. It refreshed before expiry.
        gwtest.wait_until(lambda: len(self.prov.snapshot()[0]) >= 4, tmo(40),
                          "two refreshes before expiry")
        # IDLE: polling is slowed to a minute, so a quick arrival was announced.
        t0 = time.monotonic()
        self.dc.append("support", customer_mail("o2@customer.test", subject="Second"))
        self.bus.wait_message("o2@customer.test", tmo(20))
        self.assertLess(time.monotonic() - t0, 30, "the new mail was not announced by IDLE")

        # Send: SMTP AUTH through Postfix and Dovecot, with the token in hand
        # revoked first: refused, refreshed, sent with the new one.
        self.prov.revoke_all()
        p = self.gw.ctl("send", str(m["ticket_id"]), "Your order has shipped.", "--wait",
                        check=False)
        self.assertEqual(p.stdout.strip().split("\n")[-1], "delivery sent",
                         p.stdout + p.stderr)
        gwtest.wait_until(lambda: self.dc.count("customer") >= 1, tmo(30),
                          "the reply in the customer's mailbox",
                          on_fail=lambda: self.pf.log_tail())

        grants, checks, issued, revoked = self.prov.snapshot()
        accepted = {t for t, ok in checks if ok}
        self.assertGreaterEqual(len(accepted), 2, "no login with a refreshed token")
        # Only revoked tokens were ever refused: none was presented expired.
        self.assertLessEqual({t for t, ok in checks if not ok}, revoked, checks)
        self.assertGreaterEqual(len({t for t, ok in checks if not ok}), 2, checks)
        # The status file is rewritten every second: once it counts the reply,
        # the refused token was not taken for bad credentials.
        st = gwtest.wait_until(
            lambda: (lambda d: d if d.get("counters", {}).get("replies", {}).get("sent") == 1
                     else None)(self.status_file()), tmo(10), "the reply counted as sent")
        self.assertNotIn("send_error", st, "the refused token was reported as bad credentials")
        counters = self.status_file().get("counters", {}).get("email", {})
        self.assertGreaterEqual(counters.get("token_refreshes", 0), 3, counters)
        self.assertEqual(counters.get("token_failures", 0), 0, counters)
        log = self.gw.log_tail(400)
        for token in issued:
            self.assertNotIn(token, log, "an access token was logged")
        self.assertNotIn(GOOD_RT, log)
        self.assertNotIn(CLIENT_SECRET, log)


    def test_xoauth2_fetch_and_send(self):
        self.prov.revoke_first = False
        self.start(GOOD_RT, mechanism="xoauth2")
        m = self.inbound_and_wait("x1@customer.test")
        p = self.gw.ctl("send", str(m["ticket_id"]), "Shipped.", "--wait", check=False)
        self.assertEqual(p.stdout.strip().split("\n")[-1], "delivery sent",
                         p.stdout + p.stderr)
        self.assertIn("method=XOAUTH2", self.dc.log_tail(200))
        self.assertNotIn("method=OAUTHBEARER", self.dc.log_tail(200))
        _, checks, _, _ = self.prov.snapshot()
        # One IMAP login and one SMTP login (through Postfix) at least.
        self.assertGreaterEqual(len([1 for _, ok in checks if ok]), 2, checks)

    def inbound_and_wait(self, mid):
        self.dc.append("support", customer_mail(mid))
        return self.bus.wait_message(mid, tmo(30))


class TestOAuthRefused(OAuthTestCase):

    def test_refused_refresh_token_is_shown_and_not_retried_in_a_loop(self):
        self.start(BAD_RT)
        want = "the refresh token was refused: consent again"

        def warned():
            w = self.status_file().get("warning", "")
            return w if want in w else None
        w = gwtest.wait_until(warned, tmo(20), "the warning in the status file")
        self.assertIn("invalid_grant", w)
        self.assertIn(want, self.gw.ctl("status").stdout)
        # The next try waits 30 s: while the status file is rewritten for
        # three more seconds, nobody asks the endpoint again.
        start = self.status_file().get("updated_at", 0)
        gwtest.wait_until(lambda: self.status_file().get("updated_at", 0) >= start + 3000,
                          tmo(20), "three more seconds of status")
        grants = self.prov.snapshot()[0]
        self.assertEqual(len(grants), 1, grants)
        self.assertNotIn(BAD_RT, self.gw.log_tail(400))


if __name__ == "__main__":
    unittest.main()

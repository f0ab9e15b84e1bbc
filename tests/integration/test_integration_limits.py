"""
gateway-integration's HTTP API against floods and guessing, and its tokens
and webhooks whose secret is unset (docs/integration.md "Limits" and
"Secrets"):

- a connection over max_connections_per_ip is answered 429 and closed
  while another address is served;
- an address over its token bucket (requests_per_minute, requests_burst)
  is answered 429 with Retry-After (GET /healthz aside);
- a request whose headers do not arrive within header_timeout_s is closed;
  a body that does not arrive within body_timeout_s is answered 408;
- a body over max_body_bytes sent whole without Expect gets its 413 (the
  rest is read and dropped, then closed); a chunked body is read as its
  Content-Length twin (one that outgrows its first buffer too), 413 over
  the limit, 400 when malformed, 501 for another coding; each refusal is a logged request line (token=-);
- after auth_failures_per_minute bad tokens an address is answered 429,
  even with a good token, logged once; other addresses are served;
- a token whose secret's variable is unset is off alone (401 like any
  unknown token), a webhook whose secret is unset is off alone (its cursor
  does not move); both are logged at start and shown by `gatewayctl
  status`, and the rest of the process runs.

The attackers connect from other loopback addresses (127.0.0.2 and up), so
that the legitimate client (127.0.0.1) is not the attackers' address.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import gwtest
import integ
from gwtest import tmo, wait_until

PER_IP = 3
HEADER_TIMEOUT_S = 2
BODY_TIMEOUT_S = 2
BURST = 6  # more than the bad-token test sends from its address
AUTH_FAILURES = 3
MAX_BODY = 4 * 65536  # over the first 64 KiB buffer of a chunked body: it grows


def connect(port, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(tmo(10))
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def request(path, token=None, method="GET", extra=""):
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (f"{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}{extra}\r\n").encode()


def read_response(s):
    """(status, headers lowercased, body) of one answer; None when the
    connection closed (or was reset) first."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers[k.strip().lower()] = v.strip()
        while len(body) < int(headers.get("content-length", "0")):
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        return int(lines[0].split()[1]), headers, body
    except (ConnectionResetError, BrokenPipeError):
        return None


def chunked(data, piece=1000):
    """`data` as a chunked body, in chunks of `piece` bytes (one with an
    extension), then the last chunk and an empty trailer."""
    out = b""
    for i in range(0, len(data), piece):
        part = data[i:i + piece]
        out += f"{len(part):x}{';x=1' if i == 0 else ''}\r\n".encode() + part + b"\r\n"
    return out + b"0\r\n\r\n"


def wait_closed(s, timeout):
    """Seconds until the peer closed `s` (EOF or reset), None past timeout."""
    t0 = time.monotonic()
    s.settimeout(timeout)
    try:
        while s.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        return None
    return time.monotonic() - t0


class LimitsTest(gwtest.GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.class_tmp = tempfile.mkdtemp(prefix="gwit-integ-limits-")
        gwtest._TMPDIRS.add(cls.class_tmp)
        cls.class_gateway = integ.IntegGateway(cls.class_tmp, integration_lines=[
            f"max_connections_per_ip: {PER_IP}", f"header_timeout_s: {HEADER_TIMEOUT_S}",
            "requests_per_minute: 30", f"requests_burst: {BURST}",
            f"auth_failures_per_minute: {AUTH_FAILURES}",
            f"body_timeout_s: {BODY_TIMEOUT_S}", "body_min_rate: 0",
            f"max_body_bytes: {MAX_BODY}"])
        try:
            cls.class_gateway.start()
        except BaseException:
            cls._class_cleanup()
            raise

    @classmethod
    def _class_cleanup(cls):
        cls.class_gateway.cleanup()
        shutil.rmtree(cls.class_tmp, ignore_errors=True)
        gwtest._TMPDIRS.discard(cls.class_tmp)

    @classmethod
    def tearDownClass(cls):
        gw = cls.class_gateway
        cls._class_cleanup()
        gw.check_health()

    def setUp(self):
        super().setUp()
        self.gw = type(self).class_gateway
        self.port = self.gw.integ_port
        self.admin = self.gw.tokens["admin"][1]
        self.socks = []
        self.addCleanup(lambda: [s.close() for s in self.socks])

    def open(self, src):
        s = connect(self.port, src)
        self.socks.append(s)
        return s

    def assert_served(self):
        """A legitimate request from 127.0.0.1 is answered."""
        r = self.gw.api("admin").get("/v1/events?from=1&limit=1")
        self.assertEqual(r.status, 200, r)

    def counters(self):
        return (gwtest.read_json_file(self.gw.run_file("integration")) or {}).get("counters", {})

    def test_connections_per_address(self):
        held = []
        for _ in range(PER_IP):
            s = self.open("127.0.0.2")
            s.sendall(request("/healthz"))  # keep-alive: the connection stays
            r = read_response(s)
            self.assertEqual(r[0] if r else None, 200, r)
            held.append(s)
        over = self.open("127.0.0.2")
        over.sendall(request("/healthz"))
        r = read_response(over)
        self.assertIsNotNone(r, "the connection over the cap was closed without an answer")
        self.assertEqual(r[0], 429, r)
        self.assertEqual(json.loads(r[2])["error"], "too_many_connections")
        self.assertIsNotNone(wait_closed(over, tmo(5)), "the refused connection stayed open")
        self.assert_served()
        # One held connection closes: the address may connect again.
        held[0].close()

        def again():
            s = connect(self.port, "127.0.0.2")
            try:
                s.sendall(request("/healthz"))
                r = read_response(s)
                return r is not None and r[0] == 200
            finally:
                s.close()
        wait_until(again, tmo(10), "a new connection of 127.0.0.2 once one closed")
        wait_until(lambda: self.counters().get("conn_refused", 0) >= 1, tmo(5),
                   "conn_refused in run/integration.json")

    def test_request_bucket(self):
        s = self.open("127.0.0.3")
        for i in range(BURST):
            s.sendall(request("/v1/events?from=1&limit=1", self.admin))
            r = read_response(s)
            self.assertEqual(r[0] if r else None, 200, (i, r))
        s.sendall(request("/v1/events?from=1&limit=1", self.admin))
        r = read_response(s)
        self.assertEqual(r[0] if r else None, 429, r)
        self.assertEqual(json.loads(r[2])["error"], "rate_limited")
        self.assertGreaterEqual(int(r[1]["retry-after"]), 1, r)
        # GET /healthz is not counted; another address is served.
        s.sendall(request("/healthz"))
        r = read_response(s)
        self.assertEqual(r[0] if r else None, 200, r)
        self.assert_served()
        wait_until(lambda: self.counters().get("rate_limited", 0) >= 1, tmo(5),
                   "rate_limited in run/integration.json")

    def test_slow_headers_closed(self):
        s = self.open("127.0.0.4")
        s.sendall(b"GET /v1/events HTTP/1.1\r\nHost: x\r\n")  # never ends its headers
        t0 = time.monotonic()
        self.assert_served()
        took = wait_closed(s, HEADER_TIMEOUT_S + tmo(5))
        self.assertIsNotNone(took, "a request without the end of its headers stayed open")
        self.assertGreaterEqual(time.monotonic() - t0, HEADER_TIMEOUT_S - 1)

    def test_slow_body_408(self):
        s = self.open("127.0.0.6")
        s.sendall(request("/v1/tickets/1/close", self.admin, "POST",
                          "Content-Type: application/json\r\nContent-Length: 100\r\n") +
                  b'{"a":')
        t0 = time.monotonic()
        r = read_response(s)
        self.assertEqual(r[0] if r else None, 408, r)
        self.assertGreaterEqual(time.monotonic() - t0, BODY_TIMEOUT_S - 1)
        self.assertEqual(json.loads(r[2])["error"], "timeout")

    def post(self, src, path, framing, body):
        """POSTs `body` whole before reading (no Expect: 100-continue); the
        answer, None when the connection was reset first."""
        s = self.open(src)
        s.sendall(request(path, self.admin, "POST", "Content-Type: application/json\r\n" +
                          framing) + body)
        return s, read_response(s)

    def test_413_without_expect_is_read(self):
        """A body over max_body_bytes sent whole without waiting: the 413 is
        read (the rest of the body is read and dropped before the close),
        and the refusal is logged as a request line."""
        body = b"x" * (MAX_BODY * 3)
        s, r = self.post("127.0.0.7", "/v1/tickets/1/close",
                         f"Content-Length: {len(body)}\r\n", body)
        self.assertEqual(r[0] if r else None, 413, r)
        self.assertEqual(json.loads(r[2])["error"], "too_large")
        self.assertIsNotNone(wait_closed(s, tmo(5)), "the connection stayed open")
        wait_until(lambda: "POST /v1/tickets/1/close token=- peer=127.0.0.7 413" in
                   self.gw.log_tail(100000), tmo(5), "the 413 logged")
        self.assert_served()

    def test_chunked_bodies(self):
        """A chunked body is read as its Content-Length twin is (same
        answer); one over max_body_bytes is 413, read to its end; a malformed
        framing is 400; each closes the connection after its answer."""
        small = json.dumps({"reason": "chunked " + "y" * 300}).encode()
        # Over 64 KiB: its buffer grows twice, with chunks across each step.
        big = json.dumps({"reason": "chunked", "pad": "y" * 150000}).encode()
        # Each pair from its own address: within requests_burst.
        for doc, piece, src in ((small, 100, "127.0.0.8"), (big, 999, "127.0.0.9")):
            _, plain = self.post(src, "/v1/tickets/999999/close",
                                 f"Content-Length: {len(doc)}\r\n", doc)
            s, r = self.post(src, "/v1/tickets/999999/close",
                             "Transfer-Encoding: chunked\r\n", chunked(doc, piece))
            self.assertIsNotNone(plain)
            self.assertEqual(r[0] if r else None, plain[0], (len(doc), r, plain))
            self.assertNotIn(r[0], (400, 408, 411, 413), r)
            self.assertEqual(r[2], plain[2])
            self.assertIsNotNone(wait_closed(s, tmo(5)), "a chunked request's connection stays")
        bad = self.post("127.0.0.8", "/v1/tickets/1/close", "Transfer-Encoding: chunked\r\n",
                        chunked(b"x" * (MAX_BODY * 2), 8192))
        self.assertEqual(bad[1][0] if bad[1] else None, 413, bad[1])
        self.assertIsNotNone(wait_closed(bad[0], tmo(5)))
        s, r = self.post("127.0.0.8", "/v1/tickets/1/close", "Transfer-Encoding: chunked\r\n",
                         b"zz\r\n{}\r\n0\r\n\r\n")
        self.assertEqual(r[0] if r else None, 400, r)
        for te, status in (("gzip", 501), ("chunked\r\nContent-Length: 2", 400)):
            s, r = self.post("127.0.0.8", "/v1/tickets/1/close",
                             f"Transfer-Encoding: {te}\r\n", b"{}")
            self.assertEqual(r[0] if r else None, status, (te, r))
        wait_until(lambda: "POST /v1/tickets/1/close token=- peer=127.0.0.8 501" in
                   self.gw.log_tail(100000), tmo(5), "the 501 logged")
        self.assert_served()

    def test_bad_tokens_throttled(self):
        bad = "b" * 32
        for i in range(AUTH_FAILURES):
            s = self.open("127.0.0.5")
            s.sendall(request("/v1/events?from=1&limit=1", bad))
            r = read_response(s)
            s.close()  # one connection at a time: max_connections_per_ip is not the point
            self.assertEqual(r[0] if r else None, 401, (i, r))
        for token in (bad, self.admin):  # the token is not even checked now
            s = self.open("127.0.0.5")
            s.sendall(request("/v1/events?from=1&limit=1", token))
            r = read_response(s)
            s.close()
            self.assertEqual(r[0] if r else None, 429, r)
            self.assertEqual(json.loads(r[2])["error"], "too_many_auth_failures")
            self.assertGreaterEqual(int(r[1]["retry-after"]), 1, r)
        self.assert_served()
        wait_until(lambda: "peer 127.0.0.5: 3 bad tokens" in self.gw.log_tail(100000),
                   tmo(5), "the log line of the throttled address")
        self.assertEqual(self.gw.log_tail(100000).count("peer 127.0.0.5: 3 bad tokens"), 1)
        wait_until(lambda: self.counters().get("auth_throttled", 0) >= 2, tmo(5),
                   "auth_throttled in run/integration.json")


class SecretUnsetTest(gwtest.GatewayTestCase):
    """A token and a webhook whose secret's variable is unset are off alone."""

    def test_off_alone(self):
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        tokens = {"admin": (["read", "reply", "manage"], "a" * 32),
                  "ci": (["read"], "c" * 32)}
        live = integ.Receiver("l" * 32).start()
        off = integ.Receiver("o" * 32).start()
        self.addCleanup(live.stop)
        self.addCleanup(off.stop)
        gw = integ.IntegGateway(root, tokens=tokens, webhooks=[
            {"name": "live", "url": live.url, "secret": "l" * 32},
            {"name": "crm", "url": off.url, "secret": "${GW_TEST_HOOK_UNSET}"}])
        gw.env.pop("GW_TOKEN_CI")
        gw.env.pop("GW_TEST_HOOK_UNSET", None)
        self.run_gateway(gw)
        self.assertEqual(gw.api("admin").get("/v1/events?from=1&limit=1").status, 200)
        r = integ.HttpApi(gw.integ_port, "c" * 32).get("/v1/events?from=1&limit=1")
        self.assertEqual(r.status, 401, r)
        log = gw.log_tail(100000)
        self.assertEqual(log.count("token ci: off: secret: environment variable GW_TOKEN_CI "
                                   "is not set"), 1, log)
        self.assertEqual(log.count("webhook crm: off: secret: environment variable "
                                   "GW_TEST_HOOK_UNSET is not set"), 1, log)
        st = gwtest.read_json_file(gw.run_file("integration"))
        self.assertIn("token ci off: secret: environment variable GW_TOKEN_CI", st["warning"])
        self.assertIn("webhook crm off: secret: environment variable GW_TEST_HOOK_UNSET",
                      st["warning"])
        out = gw.ctl("status").stdout
        self.assertIn("warning: token ci off", out)
        self.assertIn("GW_TEST_HOOK_UNSET", out)
        p = subprocess.run([gwtest.binary("gatewayd"), "--check-config", gw.config_path],
                           capture_output=True, text=True, env=gw.env, timeout=tmo(20))
        self.assertEqual(p.returncode, 0, p)
        self.assertIn("integration: enabled", p.stdout)
        self.assertIn("token ci: off: secret: environment variable GW_TOKEN_CI is not set",
                      p.stdout)
        self.assertIn("webhook crm: off: secret: environment variable GW_TEST_HOOK_UNSET",
                      p.stdout)
        # The usable webhook delivers; the off one's deliveries wait.
        c = gw.client()
        r = c.post_until_accepted(gwtest.message_body("off1", "+15550001111", "Ana"),
                                  time.monotonic() + tmo(15))
        c.close()
        self.assertEqual(r.status, 202, r)
        wait_until(lambda: live.seqs(), tmo(15), "a delivery to the usable webhook")

        def crm():
            st = gwtest.read_json_file(gw.run_file("integration")) or {}
            hooks = [w for w in st.get("webhooks", []) if w["name"] == "crm"]
            return hooks[0] if hooks and hooks[0].get("off") else None
        wait_until(crm, tmo(5), "the off webhook and its reason in run/integration.json")
        self.assertEqual(crm()["cursor"], 0)
        self.assertEqual(off.attempts, 0)


if __name__ == "__main__":
    import unittest
    unittest.main()

"""
Connection floods and rate limits per address (docs/security.md "Connection
floods and rate limits per address"), on the shared HTTP server (the API
channel) and on the live chat's server:

- a connection over max_connections_per_ip is answered 429 and closed at
  once; a partial request is closed after header_timeout_s, an idle
  keep-alive connection after idle_timeout_s, a slow body answered 408,
  the 1,000 connections of a slowloris after header_timeout_s though each
  keeps sending;
- an address over its token bucket is answered 429 with Retry-After and the
  JSON error, counted as rate_limited in the status (and gatewayctl status);
- a 413 reaches a client that sends its whole body without
  `Expect: 100-continue` (the body is read and dropped, up to a bound);
  chunked bodies are read within max_body_bytes (the Meta listener too);
- every live-chat websocket passes the subprotocol, Origin and per-address
  checks; a POST / (chunked or not) is answered 405, never the index page;
- a legitimate request's p99 stays under 100 ms during 10,000 idle
  connections from one address, a slowloris of 1,000 connections, and a
  flood of websocket upgrades without a subprotocol: GET /healthz, and
  during the first two a POST /v1/messages too (202 once durable: the
  group commit is in the figure), each latency printed.

Floods (ctest integration.floods) runs beside the other tests; FloodsLatency
(integration.floods_p99) runs alone, since it measures latency.

The attackers run in separate processes (no interpreter lock shared with
the measuring client) from other loopback addresses (127.0.0.2 and up), so
the legitimate client (127.0.0.1) is not the attackers' address.
"""

import hashlib
import hmac
import json
import multiprocessing
import os
import resource
import select
import socket
import time

import gwtest
from gwtest import GatewayTestCase, message_body, tmo

CHAT_SECRET = "floods-chat-secret-0123456789"
META_SECRET = "floods-meta-app-secret-0123"
META_PATH = "/webhooks/meta"
MAX_BODY = 65536
P99_MAX_S = tmo(0.100)  # 100 ms; scaled only on a sanitizer build
HEADER_TIMEOUT_S = 3
IDLE_TIMEOUT_S = 2
BODY_TIMEOUT_S = 2
CHAT_PER_IP = 5
LIMITED_BURST = 3

WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


# --- raw HTTP -----------------------------------------------------------------------

def connect(port, src="127.0.0.1", timeout=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout or tmo(10))
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def read_response(s):
    """(status, headers dict lowercased, body) of one answer; None when the
    connection closed (or was reset) before an answer."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(body) < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        return status, headers, body
    except (ConnectionResetError, BrokenPipeError):
        return None


def wait_closed(s, timeout):
    """Seconds until the peer closed `s` (EOF or reset), None past timeout."""
    t0 = time.monotonic()
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(65536):
                break
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        return None
    return time.monotonic() - t0


def ws_request(port, protocol="gateway-chat", origin=True, path="/chat"):
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {WS_KEY}",
             "Sec-WebSocket-Version: 13"]
    if protocol:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    if origin is True:
        lines.append(f"Origin: http://127.0.0.1:{port}")
    elif origin:
        lines.append(f"Origin: {origin}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def ws_status(port, src="127.0.0.1", **kw):
    """The status of a websocket handshake (101 when opened); the socket, open."""
    s = connect(port, src)
    s.sendall(ws_request(port, **kw))
    r = read_response(s)
    return (r[0] if r else None), s


HEALTH = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def healthz_once(port):
    s = connect(port)
    try:
        s.sendall(HEALTH)
        r = read_response(s)
    finally:
        s.close()
    if not r or r[0] != 200:
        raise AssertionError(f"GET /healthz answered {r!r}")


def ws_once(port):
    status, s = ws_status(port)
    s.close()
    if status != 101:
        raise AssertionError(f"a legitimate websocket handshake answered {status}")


def p99(fn, port, n=200, spacing=0.005):
    """The 99th percentile of `n` legitimate exchanges (fresh connections)."""
    lat = []
    for _ in range(n):
        t0 = time.monotonic()
        fn(port)
        lat.append(time.monotonic() - t0)
        time.sleep(spacing)
    lat.sort()
    return lat[int(0.99 * n) - 1], lat[-1]


# --- attackers (separate processes) -------------------------------------------------------

def _raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _open_nb(port, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.bind((src, 0))
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    return s


def attack_idle(port, n, ready, stop, out):
    """`n` idle connections from 127.0.0.2, kept open until `stop`.
    out: [opened, closed by the server]."""
    n = min(n, _raise_nofile() - 64)
    socks = []
    for _ in range(n):
        try:
            socks.append(_open_nb(port, "127.0.0.2"))
        except OSError:
            break
    out[0] = len(socks)
    ready.set()
    by_fd = {s.fileno(): s for s in socks}
    poller = select.poll()
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    closed = 0
    while not stop.is_set():
        for fd, _ in poller.poll(100):
            s = by_fd.pop(fd)
            poller.unregister(fd)
            # An answer (the 429) or the end: the server closed it (it
            # never answers an idle connection it keeps).
            closed += 1
            out[1] = closed
            s.close()
    for s in by_fd.values():
        s.close()


def _slow_open(port, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-a: ")
    return s


def attack_slowloris(port, n, addrs, ready, stop, out):
    """`n` connections spread over `addrs` loopback addresses, each sending
    one more header byte every 2 s; one the server closes is opened again.
    out: [opened first, closed by the server so far]."""
    _raise_nofile()
    socks = []
    for i in range(n):
        try:
            socks.append((_slow_open(port, f"127.0.1.{1 + i % addrs}"), i))
        except OSError:
            break
    out[0] = len(socks)
    ready.set()
    closed = 0
    while not stop.wait(2):
        for k, (s, i) in enumerate(socks):
            try:
                s.send(b"a")
                if s.recv(4096) == b"":
                    raise ConnectionResetError
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
                out[1] = closed
                s.close()
                try:
                    socks[k] = (_slow_open(port, f"127.0.1.{1 + i % addrs}"), i)
                except OSError:
                    pass
    for s, _ in socks:
        s.close()


def attack_ws(port, workers, ready, stop, out):
    """Websocket upgrades without a subprotocol, each kept open after its
    answer, from 127.0.0.2; out: [handshakes, opened (101)]."""
    _raise_nofile()
    held = []
    tries = opened = 0
    ready.set()
    while not stop.is_set():
        batch = [_open_nb(port, "127.0.0.2") for _ in range(workers)]
        time.sleep(0.01)
        for s in batch:
            try:
                s.setblocking(True)
                s.settimeout(2)
                s.sendall(ws_request(port, protocol=None))
                r = read_response(s)
            except OSError:
                r = None
            tries += 1
            if r and r[0] == 101:
                opened += 1
            held.append(s)
        if len(held) > 2000:
            for s in held[:1000]:
                s.close()
            del held[:1000]
    out[0], out[1] = tries, opened
    for s in held:
        s.close()


class Attack:
    def __init__(self, target, *args):
        self.ready = multiprocessing.Event()
        self.stop_ev = multiprocessing.Event()
        self.out = multiprocessing.Array("q", 2)
        self.proc = multiprocessing.Process(
            target=target, args=args + (self.ready, self.stop_ev, self.out), daemon=True)

    def __enter__(self):
        self.proc.start()
        if not self.ready.wait(tmo(60)):
            raise AssertionError("the attack did not start")
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        self.proc.join(tmo(30))
        if self.proc.is_alive():
            self.proc.kill()

    def result(self):
        return list(self.out)


# --- the gateway -------------------------------------------------------------------------

class FloodsBase(GatewayTestCase):
    """The gateway under attack: the API channel, a rate-limited one, live chat
    and Meta, each with short timeouts."""

    def setUp(self):
        super().setUp()
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = gwtest.Gateway(root, max_body_bytes=MAX_BODY, extra_connector_lines=(
            f"header_timeout_s: {HEADER_TIMEOUT_S}", f"idle_timeout_s: {IDLE_TIMEOUT_S}",
            f"body_timeout_s: {BODY_TIMEOUT_S}", "body_min_rate: 0"))
        self.limited_port, self.chat_port, self.meta_port = gwtest.free_ports(3)
        with open(gw.config_path, "a", encoding="utf-8") as f:
            f.write("\n".join([
                "  - name: limited", "    type: api", "    enabled: true",
                f"    listen: \"127.0.0.1:{self.limited_port}\"",
                "    token: ${GATEWAY_API_TOKEN}",
                "    requests_per_minute: 60", f"    requests_burst: {LIMITED_BURST}",
                "  - name: chat", "    type: livechat", "    enabled: true",
                f"    listen: \"127.0.0.1:{self.chat_port}\"",
                "    secret: ${GATEWAY_LIVECHAT_SECRET}",
                f"    max_connections_per_ip: {CHAT_PER_IP}",
                f"    header_timeout_s: {HEADER_TIMEOUT_S}",
                "  - name: meta", "    type: meta", "    enabled: true",
                f"    listen: \"127.0.0.1:{self.meta_port}\"", f"    path: {META_PATH}",
                "    app_secret: ${GATEWAY_META_APP_SECRET}",
                "    verify_token: ${GATEWAY_META_VERIFY_TOKEN}",
                f"    max_body_bytes: {MAX_BODY}",
            ]) + "\n")
        gw.env.update(GATEWAY_LIVECHAT_SECRET=CHAT_SECRET, GATEWAY_META_APP_SECRET=META_SECRET,
                      GATEWAY_META_VERIFY_TOKEN="floods-verify")
        gw.connectors += ["limited", "chat", "meta"]
        self.gw = self.run_gateway(gw)
        self.port = gw.api_port

    def counters(self, name):
        st = gwtest.read_json_file(self.gw.run_file(name)) or {}
        return st.get("counters", {})

    def wait_counter(self, name, key, at_least):
        gwtest.wait_until(lambda: self.counters(name).get(key, 0) >= at_least, tmo(10),
                          f"{name} counter {key} >= {at_least}")

    def post(self, port, body, extra=b"", src="127.0.0.1"):
        s = connect(port, src)
        try:
            s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
                      b"Authorization: Bearer " + self.gw.token.encode() + b"\r\n"
                      b"Content-Type: application/json\r\nContent-Length: "
                      + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body)
            return read_response(s)
        finally:
            s.close()


class Floods(FloodsBase):
    """Limits and timeouts: each checks its own outcome, not a latency, so it
    runs beside other tests (ctest integration.floods)."""

    # --- limits of one address ---------------------------------------------------------

    def test_connections_per_address(self):
        # 64 (the default) connections of 127.0.0.4 are served...
        held = [connect(self.port, "127.0.0.4") for _ in range(64)]
        self.addCleanup(lambda: [s.close() for s in held])
        for s in held[:2]:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(read_response(s)[0], 200)
        # ...the 65th is answered 429 and closed at once...
        extra = connect(self.port, "127.0.0.4")
        r = read_response(extra)
        self.assertEqual(r[0] if r else None, 429, r)
        self.assertEqual(json.loads(r[2])["error"], "too_many_connections")
        self.assertIsNotNone(wait_closed(extra, tmo(5)))
        extra.close()
        # ...while another address is served, and one closed makes room.
        healthz_once(self.port)
        held.pop().close()

        def again():
            s = connect(self.port, "127.0.0.4")
            try:
                s.sendall(HEALTH)
                r = read_response(s)
                return r is not None and r[0] == 200
            finally:
                s.close()
        gwtest.wait_until(again, tmo(10), "a connection of 127.0.0.4 served again")
        self.wait_counter("api", "conn_refused", 1)

    def test_header_idle_and_body_timeouts(self):
        partial = connect(self.port)
        partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        idle = connect(self.port)
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(read_response(idle)[0], 200)
        slow = connect(self.port)
        slow.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                     + self.gw.token.encode() + b"\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"a\":")
        r = read_response(slow)
        self.assertEqual(r[0] if r else None, 408, r)
        for s, limit in ((partial, HEADER_TIMEOUT_S), (idle, IDLE_TIMEOUT_S)):
            took = wait_closed(s, tmo(limit + 10))
            self.assertIsNotNone(took, "the connection was never closed")
            self.assertLess(took, limit + tmo(4))
            s.close()
        slow.close()

    def test_slowloris_closed_by_header_timeout(self):
        """A slowloris of 1,000 connections from 250 addresses, each sending
        one more header byte every 2 s: header_timeout_s closes them all the
        same (the latency meanwhile: FloodsLatency)."""
        with Attack(attack_slowloris, self.port, 1000, 250) as a:
            gwtest.wait_until(lambda: a.result()[1] >= 900, tmo(HEADER_TIMEOUT_S + 15),
                              "slowloris connections closed by header_timeout_s")
        self.assertEqual(a.result()[0], 1000)

    def test_rate_limit_per_address(self):
        body = json.dumps(message_body("rl-1", "+15550002222")).encode()
        statuses = [self.post(self.limited_port, body)[0] for _ in range(LIMITED_BURST)]
        self.assertTrue(all(s in (200, 202) for s in statuses), statuses)
        r = self.post(self.limited_port, body)
        self.assertEqual(r[0], 429, r)
        self.assertGreaterEqual(int(r[1].get("retry-after", "0")), 1, r[1])
        self.assertEqual(json.loads(r[2])["error"], "rate_limited")
        # Another address has its own bucket; /healthz is never limited.
        r = self.post(self.limited_port, body, src="127.0.0.5")
        self.assertIn(r[0], (200, 202), r)
        s = connect(self.limited_port)
        s.sendall(HEALTH)
        self.assertEqual(read_response(s)[0], 200)
        s.close()
        self.wait_counter("limited", "rate_limited", 1)
        out = self.gw.ctl("status").stdout
        self.assertIn("rate_limited", out)

    def test_413_reaches_a_client_without_expect(self):
        body = b"{\"text\":\"" + b"x" * (3 * MAX_BODY) + b"\"}"
        s = connect(self.port)
        try:
            s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                      + self.gw.token.encode() + b"\r\nContent-Type: application/json\r\n"
                      b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            r = read_response(s)
        finally:
            s.close()
        self.assertEqual(r[0] if r else None, 413, r)
        self.assertEqual(json.loads(r[2])["error"], "too_large")

    def meta_post(self, body, chunked):
        """A signed webhook to the Meta listener, whole, without Expect."""
        sig = "sha256=" + hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()
        head = (f"POST {META_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"X-Hub-Signature-256: {sig}\r\n").encode()
        if chunked:
            data = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 1000]), body[i:i + 1000])
                            for i in range(0, len(body), 1000)) + b"0\r\n\r\n"
            head += b"Transfer-Encoding: chunked\r\n\r\n"
        else:
            data = body
            head += b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        s = connect(self.meta_port)
        try:
            s.sendall(head + data)
            return read_response(s)
        finally:
            s.close()

    def test_meta_chunked_and_413(self):
        # The Meta listener is the same server: a chunked webhook within
        # max_body_bytes is read (its signature checked over the decoded
        # body), one over it and a Content-Length over it are 413.
        ok = json.dumps({"object": "whatsapp_business_account", "entry": [],
                         "pad": "x" * 5000}).encode()
        r = self.meta_post(ok, chunked=True)
        self.assertEqual(r[0] if r else None, 200, r)
        big = json.dumps({"object": "page", "entry": [], "pad": "x" * (3 * MAX_BODY)}).encode()
        for chunked in (True, False):
            with self.subTest(chunked=chunked):
                r = self.meta_post(big, chunked)
                self.assertEqual(r[0] if r else None, 413, r)

    # --- live chat ---------------------------------------------------------------------

    def test_chat_every_websocket_is_checked(self):
        port = self.chat_port
        cases = [({"protocol": None}, 400), ({"protocol": "other"}, 400),
                 ({"protocol": None, "origin": "http://evil.example"}, 400),
                 ({"origin": "http://evil.example"}, 403),
                 ({"path": "/other"}, 404), ({}, 101)]
        for kw, want in cases:
            with self.subTest(**{k: str(v) for k, v in kw.items()}):
                status, s = ws_status(port, **kw)
                s.close()
                self.assertEqual(status, want)
        # The per-address cap holds for websockets too.
        held = []
        self.addCleanup(lambda: [s.close() for s in held])
        for _ in range(CHAT_PER_IP):
            status, s = ws_status(port, src="127.0.0.6")
            held.append(s)
            self.assertEqual(status, 101)
        status, s = ws_status(port, src="127.0.0.6", protocol=None)
        s.close()
        self.assertEqual(status, 429)
        ws_once(port)
        # Closed websockets give their places back.
        for s in held:
            s.close()
        held.clear()

        def opens():
            status, s = ws_status(port, src="127.0.0.6")
            held.append(s)
            return status == 101
        gwtest.wait_until(opens, tmo(10), "a websocket of 127.0.0.6 opened again")
        for _ in range(CHAT_PER_IP - 1):
            self.assertTrue(opens())

    def test_chat_post_is_refused(self):
        for extra in (b"Content-Length: 5\r\n\r\nhello",
                      b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"):
            with self.subTest(extra=extra[:20]):
                s = connect(self.chat_port)
                s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n" + extra)
                r = read_response(s)
                s.close()
                self.assertEqual(r[0] if r else None, 405, r)
                self.assertIn("GET", r[1].get("allow", ""))
                self.assertNotIn(b"<html", r[2].lower())


class FloodsLatency(FloodsBase):
    """A legitimate request's p99 during attacks: alone on the machine (ctest
    integration.floods_p99, RUN_SERIAL), or it measures the other tests."""

    # --- p99 of legitimate requests during attacks -------------------------------------

    def assert_p99(self, fn, port, what, n=200):
        q, worst = p99(fn, port, n)
        print(f"p99 {q * 1000:.1f} ms, worst {worst * 1000:.1f} ms: {what}", flush=True)
        self.assertLess(q, P99_MAX_S, f"p99 {q * 1000:.1f} ms (worst {worst * 1000:.1f} ms) "
                        f"during {what}")

    def post_once(self, port):
        """A legitimate POST /v1/messages (fresh connection, a new message):
        202 once it is durable, so the group commit is in the figure."""
        self.posted += 1
        body = json.dumps(gwtest.message_body(f"p99-{self.posted}")).encode()
        r = self.post(port, body)
        if not r or r[0] != 202:
            raise AssertionError(f"POST /v1/messages answered {r!r}")

    def test_p99_during_10000_idle_connections(self):
        self.posted = 0
        with Attack(attack_idle, self.port, 10000) as a:
            self.assert_p99(healthz_once, self.port, "10,000 idle connections")
            self.assert_p99(self.post_once, self.port,
                            "10,000 idle connections (POST /v1/messages)")
            opened = a.result()[0]
            self.assertGreaterEqual(opened, 5000, "could not open enough connections")
            # The server closed every one over the cap at once.
            gwtest.wait_until(lambda: a.result()[1] >= opened - 64, tmo(20),
                              "the connections over the cap closed")
        self.wait_counter("api", "conn_refused", opened - 64)

    def test_p99_during_slowloris(self):
        self.posted = 0
        with Attack(attack_slowloris, self.port, 1000, 250) as a:
            self.assert_p99(healthz_once, self.port, "a slowloris of 1,000 connections")
            self.assert_p99(self.post_once, self.port,
                            "a slowloris of 1,000 connections (POST /v1/messages)")
        # That header_timeout_s closes them is Floods' (beside other tests).
        self.assertEqual(a.result()[0], 1000)

    def test_p99_during_websocket_flood(self):
        with Attack(attack_ws, self.chat_port, 50) as a:
            # 100: within the chat's default burst of requests per address.
            self.assert_p99(ws_once, self.chat_port, "a flood of websocket upgrades", n=100)
        tries, opened = a.result()
        self.assertGreater(tries, 100)
        self.assertEqual(opened, 0, "a websocket without the subprotocol was opened")
        # The status file is rewritten about once a second.
        gwtest.wait_until(lambda: (lambda c: c.get("conn_refused", 0) +
                                   c.get("rate_limited", 0))(self.counters("chat")) > 0,
                          tmo(10), "the refusals counted in the chat's status")


if __name__ == "__main__":
    import unittest
    unittest.main()

"""
Helpers of the gateway-integration tests (the HTTP integration API and the
webhooks): a gateway whose config has an `integration` section, an HTTP
client of the API, and a webhook receiver that checks signatures.
"""

import hashlib
import hmac
import http.client
import http.server
import json
import os
import secrets
import threading
import time

import gwtest
from gwtest import Gateway, free_ports, tmo, wait_until, read_json_file


def _q(s):
    return json.dumps(s)


class IntegGateway(Gateway):
    """A Gateway with gateway-integration: tokens {name: (scopes, secret)}
    and webhooks [{name, url, events, secret, ...}]."""

    def __init__(self, root, tokens=None, webhooks=(), integration_lines=(), **kw):
        super().__init__(root, **kw)
        self.integ_port = free_ports(1)[0]
        self.tokens = tokens or {
            "reader": (["read"], secrets.token_hex(16)),
            "agent": (["read", "reply"], secrets.token_hex(16)),
            "admin": (["read", "reply", "manage"], secrets.token_hex(16)),
        }
        self.webhooks = list(webhooks)
        lines = ["integration:", f"  listen: {_q('127.0.0.1:%d' % self.integ_port)}"]
        lines += ["  " + ln for ln in integration_lines]
        lines.append("  tokens:")
        for name, (scopes, secret) in self.tokens.items():
            env = "GW_TOKEN_" + name.upper()
            self.env[env] = secret
            lines += [f"    - name: {name}", f"      scopes: [{', '.join(scopes)}]",
                      f"      secret: ${{{env}}}"]
        if self.webhooks:
            lines.append("  webhooks:")
        for w in self.webhooks:
            lines += [f"    - name: {w['name']}", f"      url: {_q(w['url'])}",
                      f"      secret: {_q(w['secret'])}"]
            if w.get("events"):
                lines.append(f"      events: [{', '.join(w['events'])}]")
            for k in ("timeout_ms", "backoff_min_ms", "backoff_max_ms"):
                if k in w:
                    lines.append(f"      {k}: {w[k]}")
        with open(self.config_path, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        self.connectors = self.connectors + ["integration"]

    def _ready(self):
        why = super()._ready()
        if why:
            return why
        try:
            r = self.api().get("/healthz")
        except gwtest.RETRYABLE as e:
            return f"integration GET /healthz ({e!r})"
        return "" if r.status == 200 else f"integration /healthz (now {r!r})"

    def api(self, token="admin"):
        secret = self.tokens[token][1] if token in self.tokens else token
        return HttpApi(self.integ_port, secret)


def add_connector_lines(gw, lines):
    """Appends config `lines` (connector entries, indented) to the
    `connectors:` list of gw's config, before an `integration:` section."""
    with open(gw.config_path, "r", encoding="utf-8") as f:
        head, sep, tail = f.read().partition("\nintegration:")
    with open(gw.config_path, "w", encoding="utf-8") as f:
        f.write(head.rstrip("\n") + "\n" + "\n".join(lines) + "\n" + sep.lstrip("\n") + tail)


def assert_served(case, gw, ref, data, mime, token="reader"):
    """`ref` is served by gw's integration API: `data`, as `mime`."""
    r = gw.api(token).get("/v1/attachments/" + ref)
    case.assertEqual(r.status, 200, r)
    case.assertEqual(r.body, data)
    case.assertEqual(r.header("Content-Type"), mime, r)


# Every (method, path, status, body, content type) answered, for the
# OpenAPI check of test_integration_api.
SEEN = []


class HttpApi:
    """A small client of the integration API: one connection per request."""

    def __init__(self, port, secret):
        self.port = port
        self.secret = secret

    def request(self, method, path, body=None, headers=None, auth=True, raw=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=tmo(10))
        h = dict(headers or {})
        if auth and self.secret is not None:
            h["Authorization"] = "Bearer " + self.secret
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        try:
            c.request(method, path, body=data, headers=h)
            resp = c.getresponse()
            r = gwtest.Response(resp.status, resp.getheaders(), resp.read())
            SEEN.append((method, path, r.status, r.body, r.header("Content-Type")))
            return r
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body if body is not None else {}, **kw)


def verify_signature(secret, header, body, tolerance_s=300):
    """The receiver's check of X-Omnigate-Signature (docs/integration.md)."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    t = int(parts["t"])
    if abs(time.time() - t) > tolerance_s:
        return False
    want = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, parts["v1"])


class Receiver:
    """A webhook receiver on loopback: records each POST (checked), answers
    `status` (a number or a function of the attempt number, from 1), may be
    slow (`delay` seconds, or a function of the attempt number)."""

    def __init__(self, secret, status=200, delay=0.0):
        self.secret = secret
        self.status = status
        self.delay = delay
        self.lock = threading.Lock()
        self.posts = []      # (seq, type, json) of 2xx answers, in arrival order
        self.attempts = 0
        self.tries = []      # (monotonic time, seq) of every attempt, as they arrive
        self.bad_signatures = 0
        self.port = free_ports(1)[0]
        self.server = None
        self.stopped = False

    def start(self):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                if outer.stopped:
                    # A kept-alive connection outlives shutdown(): drop it
                    # unanswered, as a receiver that went down would.
                    self.close_connection = True
                    return
                with outer.lock:
                    outer.attempts += 1
                    n = outer.attempts
                    outer.tries.append((time.monotonic(),
                                        int(self.headers.get("X-Omnigate-Seq", "0"))))
                delay = outer.delay(n) if callable(outer.delay) else outer.delay
                if delay:
                    time.sleep(delay)
                with outer.lock:
                    status = outer.status(n) if callable(outer.status) else outer.status
                    ok = verify_signature(outer.secret,
                                          self.headers.get("X-Omnigate-Signature", ""), body)
                    if not ok:
                        outer.bad_signatures += 1
                        status = 401
                    elif 200 <= status < 300:
                        ev = json.loads(body)
                        assert int(self.headers["X-Omnigate-Seq"]) == ev["seq"]
                        outer.posts.append((ev["seq"], ev["type"], ev))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.stopped = True
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"

    def seqs(self):
        with self.lock:
            return [p[0] for p in self.posts]

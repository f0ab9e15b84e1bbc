"""
The API refuses what it must refuse, with the exact status and a JSON error
naming the cause, and stores nothing for it: after each refusal a valid
probe message from a known sender gets exactly the next seq, so nothing was
stored or published in between. Also `gatewayd --check-config` on bad files.
"""

import http.client
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import gwtest
from gwtest import Gateway, GatewayTestCase, message_body, tmo

MAX_BODY = 65536
PROBE_SENDER = "+15550009999"
UNAUTHORIZED = {"code": "unauthorized", "words": ["token"]}


class ApiBadInput(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.class_tmp = tempfile.mkdtemp(prefix="gwit-bad-")
        gwtest._TMPDIRS.add(cls.class_tmp)
        cls.class_gateway = Gateway(cls.class_tmp, max_body_bytes=MAX_BODY)
        try:
            cls.class_gateway.start()
            cls.bus = cls.class_gateway.consumer()
            cls.bus.wait_connected()
        except BaseException:
            cls._class_cleanup()
            raise
        cls.n = itertools.count(1)
        # The probe sender exists and has an open ticket, so each probe
        # adds exactly two events: its message.received and ticket.updated.
        c = cls.class_gateway.client()
        r = c.post_until_accepted(message_body("seed", PROBE_SENDER),
                                  time.monotonic() + tmo(15))
        c.close()
        if r.status != 202:
            cls._class_cleanup()
            raise AssertionError(f"seed message not accepted: {r!r}")
        cls.bus.wait_message("seed")

    @classmethod
    def _class_cleanup(cls):
        if getattr(cls, "bus", None) is not None:
            cls.bus.stop()
            cls.bus = None
        cls.class_gateway.cleanup()
        shutil.rmtree(cls.class_tmp, ignore_errors=True)
        gwtest._TMPDIRS.discard(cls.class_tmp)

    @classmethod
    def tearDownClass(cls):
        gw = cls.class_gateway
        cls._class_cleanup()
        cls.class_gateway = None
        gw.check_health()

    def setUp(self):
        super().setUp()
        self.gw = type(self).class_gateway
        self.client = self.gw.client()
        self.addCleanup(self.client.close)

    # helpers

    def fresh_id(self, what):
        return f"{what}-{next(type(self).n)}"

    def assert_error(self, r, status, words=(), code=None):
        """Exact status; a JSON object body whose `error` (and text) names the cause."""
        self.assertEqual(r.status, status, r)
        ctype = r.header("Content-Type") or ""
        self.assertTrue(ctype.startswith("application/json"), f"Content-Type {ctype!r}: {r!r}")
        j = r.json()
        self.assertIsInstance(j, dict, r)
        self.assertIsInstance(j.get("error"), str, r)
        self.assertTrue(j["error"], r)
        if code is not None:
            self.assertEqual(j["error"], code, r)
        text = json.dumps(j).lower()
        for w in words:
            self.assertIn(w.lower(), text, f"the error does not name {w!r}: {r!r}")
        return j

    def assert_nothing_stored(self, head0, refused_ids=()):
        """A valid probe gets seq head0 + 1: the refusal stored and published nothing."""
        self.assertEqual(self.gw.head(), head0, "the router's head moved")
        probe = self.fresh_id("probe")
        c = self.gw.client()
        try:
            r = c.post_until_accepted(message_body(probe, PROBE_SENDER),
                                      time.monotonic() + tmo(15))
        finally:
            c.close()
        self.assertEqual(r.status, 202, f"the gateway stopped serving valid requests: {r!r}")
        m = self.bus.wait_message(probe)
        self.assertEqual(m["seq"], head0 + 1,
                         f"something was stored before the probe: "
                         f"{[e for e in self.bus.snapshot() if e[0] > head0]}")
        # ...and its ticket.updated (the probe sender's ticket is open) the next.
        self.bus.wait_for(lambda c: c.complete_to(head0 + 2), tmo(10), "the probe's update")
        t, upd = self.bus.event(head0 + 2)
        self.assertEqual((t, upd["ticket_id"], upd["last_message_seq"]),
                         ("ticket.updated", m["ticket_id"], head0 + 1))
        self.assertEqual(self.gw.head(), head0 + 2)
        for x in refused_ids:
            self.assertFalse(self.bus.has(x), f"refused message {x} reached the bus")
        self.assertEqual(self.bus.conflicts, [])
        self.assertEqual(self.bus.protocol_errors, [])

    def refused(self, status, send, words=(), code=None, ids=()):
        head0 = self.gw.head()
        r = send()
        j = self.assert_error(r, status, words, code)
        self.assert_nothing_stored(head0, ids)
        return j

    def post_raw(self, body, headers=None, auth=True):
        return self.client.request("POST", "/v1/messages", body=body, headers=headers, auth=auth)

    # authorization

    def test_missing_authorization(self):
        x = self.fresh_id("noauth")
        j = self.refused(401, lambda: self.post_raw(json.dumps(message_body(x)), auth=False),
                         **UNAUTHORIZED, ids=[x])
        self.assertIsNotNone(j)

    def test_wrong_token_same_length(self):
        x = self.fresh_id("wrongtok")
        bad = ("0" if self.gw.token[0] != "0" else "1") + self.gw.token[1:]
        self.assertEqual(len(bad), len(self.gw.token))
        c = self.gw.client(bad)
        self.addCleanup(c.close)
        self.refused(401, lambda: c.post_message(message_body(x)), **UNAUTHORIZED, ids=[x])

    def test_token_of_other_length(self):
        for bad in (self.gw.token[:-1], self.gw.token + "0", "", self.gw.token * 4):
            with self.subTest(length=len(bad)):
                x = self.fresh_id("lentok")
                c = self.gw.client(bad)
                self.addCleanup(c.close)
                self.refused(401, lambda: c.post_message(message_body(x)), **UNAUTHORIZED,
                             ids=[x])

    def test_not_a_bearer_scheme(self):
        for value in (f"Basic {self.gw.token}", self.gw.token, f"Bearer{self.gw.token}"):
            with self.subTest(value=value[:12]):
                x = self.fresh_id("scheme")
                self.refused(401, lambda: self.post_raw(
                    json.dumps(message_body(x)), headers={"Authorization": value}, auth=False),
                    **UNAUTHORIZED, ids=[x])

    def test_keeps_connection_after_401(self):
        # A refused request whose body was read leaves the connection usable.
        r = self.post_raw(json.dumps(message_body(self.fresh_id("ka401"))), auth=False)
        self.assertEqual(r.status, 401, r)
        port = self.client.local_port()
        if port is not None:
            x = self.fresh_id("ka401ok")
            r = self.client.post_message(message_body(x, PROBE_SENDER))
            self.assertEqual(r.status, 202, r)
            self.assertEqual(self.client.local_port(), port)
            self.bus.wait_message(x)

    # bodies

    def test_malformed_json(self):
        self.refused(400, lambda: self.post_raw('{"id": "m", "from": {"id": "+1"}, "text": '),
                     code="invalid_json")
        self.refused(400, lambda: self.post_raw("not json at all"), code="invalid_json")
        self.refused(400, lambda: self.post_raw('{"id": "m",, }'), code="invalid_json")

    def test_truncated_json(self):
        x = self.fresh_id("trunc")
        full = json.dumps(message_body(x, subject="s"))
        for cut in (1, len(full) // 2, len(full) - 1):
            with self.subTest(cut=cut):
                self.refused(400, lambda: self.post_raw(full[:cut]), code="invalid_json", ids=[x])

    def test_empty_body(self):
        self.refused(400, lambda: self.post_raw(b""), code="invalid_json")

    def test_json_not_an_object(self):
        for body in ("[1, 2]", '"text"', "42", "null", "true",
                     json.dumps([message_body("arr-1")])):
            with self.subTest(body=body[:20]):
                self.refused(400, lambda: self.post_raw(body), code="invalid_json",
                             ids=["arr-1"])

    def test_missing_fields(self):
        for field in ("id", "from", "text"):
            with self.subTest(field=field):
                x = self.fresh_id("missing")
                b = message_body(x)
                del b[field]
                self.refused(400, lambda: self.post_raw(json.dumps(b)), words=[field],
                             code="missing_field", ids=[x])
        x = self.fresh_id("missing")
        b = message_body(x)
        del b["from"]["id"]
        self.refused(400, lambda: self.post_raw(json.dumps(b)), words=["from.id"],
                     code="missing_field", ids=[x])

    def test_wrong_types(self):
        cases = [
            ("id", lambda b: b.update(id=5), "id"),
            ("from", lambda b: b.update({"from": "+15550001111"}), "from"),
            ("from.id", lambda b: b["from"].update(id=15550001111), "from.id"),
            ("from.name", lambda b: b["from"].update(name=["Ana"]), "from.name"),
            ("text", lambda b: b.update(text=["hi"]), "text"),
            ("subject", lambda b: b.update(subject=12), "subject"),
            ("attachments", lambda b: b.update(attachments={"name": "a"}), "attachments"),
            ("attachments[0]", lambda b: b.update(attachments=["a.png"]), "attachments[0]"),
            ("attachments[0].size", lambda b: b.update(attachments=[
                {"name": "a.png", "type": "image/png", "size": "12", "url": "https://x/a"}]),
             "attachments[0].size"),
        ]
        for name, mutate, field in cases:
            with self.subTest(field=name):
                x = self.fresh_id("type")
                b = message_body(x)
                mutate(b)
                if b.get("id") == 5:
                    x = None
                self.refused(400, lambda: self.post_raw(json.dumps(b)), words=[field],
                             code="invalid_type", ids=[x] if x else [])

    def test_not_json_content_type(self):
        x = self.fresh_id("ctype")
        body = json.dumps(message_body(x))
        self.refused(415, lambda: self.post_raw(body, headers={"Content-Type": "text/plain"}),
                     code="unsupported_media_type", words=["application/json"], ids=[x])

    def test_unknown_field(self):
        x = self.fresh_id("unknown")
        b = message_body(x)
        b["colour"] = "blue"
        self.refused(400, lambda: self.post_raw(json.dumps(b)), words=["colour"],
                     code="unknown_field", ids=[x])

    # size limit

    def big_body(self, x, size):
        """A valid message whose JSON is exactly `size` bytes."""
        b = message_body(x, PROBE_SENDER, text="")
        base = len(json.dumps(b).encode())
        b["text"] = "x" * (size - base)
        data = json.dumps(b).encode()
        self.assertEqual(len(data), size)
        return data

    def test_body_at_the_limit_is_accepted(self):
        x = self.fresh_id("atlimit")
        r = self.post_raw(self.big_body(x, MAX_BODY))
        self.assertEqual(r.status, 202, r)
        self.assertEqual(len(self.bus.wait_message(x)["text"]), MAX_BODY - len(
            json.dumps(message_body(x, PROBE_SENDER, text="")).encode()))

    def test_body_over_the_limit_content_length(self):
        for size in (MAX_BODY + 1, MAX_BODY + 5000):
            with self.subTest(size=size):
                x = self.fresh_id("over")
                data = self.big_body(x, size)
                self.refused(413, lambda: self._send_over(data), code="too_large",
                             words=[str(MAX_BODY)], ids=[x])

    def chunks(self, data, size=8192):
        for i in range(0, len(data), size):
            yield data[i:i + size]

    def test_body_chunked_within_the_limit_is_accepted(self):
        # Providers may send chunked bodies (docs/internals/httpd.md): one
        # decoded within max_body_bytes is a body like any other.
        x = self.fresh_id("chunkedok")
        data = self.big_body(x, MAX_BODY)
        r = self._send_over(self.chunks(data), chunked=True)
        self.assertEqual(r.status, 202, r)
        self.assertEqual(len(self.bus.wait_message(x)["text"]), MAX_BODY - len(
            json.dumps(message_body(x, PROBE_SENDER, text="")).encode()))

    def test_body_chunked_over_the_limit(self):
        # The same limit as a Content-Length: 413 once the decoded body
        # passes max_body_bytes.
        x = self.fresh_id("chunked")
        data = self.big_body(x, MAX_BODY + 5000)
        self.refused(413, lambda: self._send_over(self.chunks(data), chunked=True),
                     code="too_large", words=[str(MAX_BODY)], ids=[x])

    def _send_over(self, body, chunked=False):
        """
        Sends an oversized body. The server may answer before reading it all
        and close; then the send can fail while the answer is already
        waiting in our socket, so read it anyway.
        """
        conn = http.client.HTTPConnection("127.0.0.1", self.gw.api_port, timeout=tmo(10))
        try:
            headers = {"Authorization": f"Bearer {self.gw.token}",
                       "Content-Type": "application/json"}
            try:
                conn.request("POST", "/v1/messages", body=body, headers=headers,
                             encode_chunked=chunked)
            except (BrokenPipeError, ConnectionResetError):
                pass
            r = conn.getresponse()
            return gwtest.Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    # routes

    def test_wrong_method(self):
        for method in ("GET", "PUT", "DELETE"):
            with self.subTest(method=method):
                self.refused(405, lambda: self.client.request(method, "/v1/messages"),
                             code="method_not_allowed")

    def test_wrong_method_names_the_allowed_one(self):
        # RFC 9110 15.5.6: a 405 answer carries Allow.
        r = self.client.request("GET", "/v1/messages")
        self.assertEqual(r.status, 405, r)
        allow = r.header("Allow") or ""
        self.assertIn("POST", allow, f"405 without an Allow header naming POST: {r.headers}")

    def test_unknown_path(self):
        x = self.fresh_id("path")
        for method, path in (("POST", "/v1/message"), ("POST", "/v2/messages"),
                             ("GET", "/nope"), ("POST", "/")):
            with self.subTest(path=path):
                body = json.dumps(message_body(x)) if method == "POST" else None
                self.refused(404, lambda: self.client.request(method, path, body=body),
                             code="not_found", ids=[x])


class CheckConfig(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gwit-cfg-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.ports = dict(zip(("ingest", "publish", "command", "api"), gwtest.free_ports(4)))

    def config(self):
        path = os.path.join(self.tmp, "gateway.yaml")
        gwtest.write_config(path, os.path.join(self.tmp, "state"), self.ports)
        with open(path) as f:
            return path, f.read().splitlines()

    def check(self, path):
        env = dict(os.environ, GATEWAY_API_TOKEN="secret-token-for-check")
        return subprocess.run([gwtest.binary("gatewayd"), "--check-config", path],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              env=env, timeout=tmo(20))

    def write(self, path, lines):
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def test_valid_config(self):
        path, _ = self.config()
        p = self.check(path)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_unknown_key(self):
        path, lines = self.config()
        at = next(i for i, ln in enumerate(lines) if ln.startswith("router:")) + 1
        lines.insert(at, "  bogus_key: 1")
        self.write(path, lines)
        p = self.check(path)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        out = p.stdout + p.stderr
        self.assertRegex(out, rf"{path}:{at + 1}: [^\n]*bogus_key", out)

    def test_unknown_top_level_key(self):
        path, lines = self.config()
        lines.insert(2, "colour: blue")
        self.write(path, lines)
        p = self.check(path)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        out = p.stdout + p.stderr
        self.assertRegex(out, rf"{path}:3: [^\n]*colour", out)

    def test_bad_port(self):
        path, lines = self.config()
        at = next(i for i, ln in enumerate(lines) if ln.strip().startswith("listen:"))
        for bad in ("127.0.0.1:70000", "127.0.0.1:0x50", "127.0.0.1:"):
            with self.subTest(listen=bad):
                lines[at] = f"    listen: {json.dumps(bad)}"
                self.write(path, lines)
                p = self.check(path)
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                out = p.stdout + p.stderr
                self.assertRegex(out, rf"{path}:{at + 1}: [^\n]*listen", out)

    def test_bad_endpoint_port(self):
        path, lines = self.config()
        at = next(i for i, ln in enumerate(lines) if ln.strip().startswith("publish:"))
        lines[at] = '  publish: "tcp://127.0.0.1:99999"'
        self.write(path, lines)
        p = self.check(path)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertRegex(p.stdout + p.stderr, rf"{path}:{at + 1}: [^\n]*publish")


if __name__ == "__main__":
    unittest.main()

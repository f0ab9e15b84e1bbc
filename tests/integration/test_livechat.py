"""
The live chat's files and typing (docs/channels/livechat.md, "Files",
"Typing"): uploads over HTTP on the live-chat listener, checked and stored
before they are answered, downloads served only to the conversation a file
belongs to, and a visitor's typing published as chat.typing.

- an accepted upload is on disk, whole, in <state_dir>/attachments when its
  200 arrives (the blob is fsync'ed before the answer), and the message
  naming it reaches the bus with the attachment once acked;
- attacks get clear JSON errors: an oversized body 413 (before it is read),
  a type that lies about the bytes or is not allowed 415, a name that is
  nothing once cleaned or not UTF-8 400, a path in the name is dropped, no
  key or a forged one 401, no length 411;
- a file is served to its conversation only (404 for another one's key);
  a message cannot name a file of another conversation;
- a burst of typing frames makes one chat.typing, another 2 s later, and
  nothing of it is filed as a message; an agent's chat.typing command
  reaches the sockets of its conversation only.

The websocket is spoken with a minimal client (RFC 6455) written here.
"""

import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import time
import urllib.parse

import gwtest
import integ
from gwtest import GatewayTestCase, tmo

SECRET = "files-chat-secret-0123456789abcdef"
MAX_FILE = 65536
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + os.urandom(64)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n"


def files_key(conversation, expiry=None):
    """The files key the server gives at welcome (lc_proto.h), made here."""
    expiry = expiry or int(time.time()) + 3600
    head = f"f1.{expiry}.{conversation.encode().hex()}"
    mac = hmac.new(SECRET.encode(), head.encode(), hashlib.sha256).hexdigest()
    return f"{head}.{mac}"


def http(port, method, path, body=b"", headers=None, send_body=True):
    """One raw request; returns (status, headers dict, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=tmo(10))
    try:
        h = {"Host": f"127.0.0.1:{port}"}
        if method == "POST" and "Transfer-Encoding" not in (headers or {}):
            h["Content-Length"] = str(len(body))
        h.update(headers or {})
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
        s.sendall(head.encode() + b"\r\n" + (body if send_body else b""))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        raw_head, _, rest = data.partition(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        want = int(hdrs.get("content-length", "0"))
        while len(rest) < want:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, hdrs, rest[:want]
    finally:
        s.close()


class Ws:
    """A minimal websocket client: text frames, masked, no fragmentation."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=tmo(10))
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET /chat HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: gateway-chat\r\n"
                        "\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self._recv()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        assert b" 101 " in head.split(b"\r\n")[0], head

    def _recv(self):
        d = self.s.recv(65536)
        if not d:
            raise AssertionError("the websocket closed")
        return d

    def send(self, obj):
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        n = len(data)
        hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                               bytes([0x80 | 126]) + struct.pack(">H", n))
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        while True:
            while len(self.buf) < 2:
                self.buf += self._recv()
            n, off = self.buf[1] & 0x7f, 2
            if n == 126:
                while len(self.buf) < 4:
                    self.buf += self._recv()
                n, off = struct.unpack(">H", self.buf[2:4])[0], 4
            elif n == 127:
                while len(self.buf) < 10:
                    self.buf += self._recv()
                n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
            while len(self.buf) < off + n:
                self.buf += self._recv()
            op, data, self.buf = self.buf[0] & 0x0f, self.buf[off:off + n], self.buf[off + n:]
            if op == 1:
                return json.loads(data)

    def wait(self, pred, what):
        deadline = time.monotonic() + tmo(10)
        while time.monotonic() < deadline:
            o = self.recv()
            if pred(o):
                return o
        raise AssertionError(f"timed out waiting for {what}")

    def close(self):
        self.s.close()


class Livechat(GatewayTestCase):

    def setUp(self):
        super().setUp()
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = integ.IntegGateway(root)  # uploads are served by the integration API too
        (self.port,) = gwtest.free_ports(1)
        integ.add_connector_lines(gw, [
            "  - name: chat", "    type: livechat", "    enabled: true",
            f"    listen: \"127.0.0.1:{self.port}\"",
            "    secret: ${GATEWAY_LIVECHAT_SECRET}",
            f"    max_file_bytes: {MAX_FILE}",
        ])
        gw.env.update(GATEWAY_LIVECHAT_SECRET=SECRET)
        gw.connectors += ["chat"]
        self.gw = self.run_gateway(gw)

    def upload(self, key, data, name, type_, **kw):
        q = urllib.parse.urlencode({"k": key, "name": name, "type": type_})
        return http(self.port, "POST", f"/upload?{q}", data,
                    {"Content-Type": "text/plain"}, **kw)

    def blob(self, ref):
        hexd = ref.split(":", 1)[1]
        return os.path.join(self.gw.state_dir, "attachments", hexd[:2], hexd)

    def test_upload_is_durable_before_its_answer_and_served_to_its_conversation(self):
        key = files_key("visitor:" + "a" * 32)
        st, _, body = self.upload(key, PNG, "holiday photo.png", "image/png")
        self.assertEqual(st, 200, body)
        got = json.loads(body)
        self.assertEqual(got["ref"], "sha256:" + hashlib.sha256(PNG).hexdigest())
        self.assertEqual((got["name"], got["type"], got["size"]),
                         ("holiday photo.png", "image/png", len(PNG)))
        # On disk, whole, at the moment of the answer.
        with open(self.blob(got["ref"]), "rb") as f:
            self.assertEqual(f.read(), PNG)
        hexd = got["ref"][7:]
        st, h, data = http(self.port, "GET", f"/files/{hexd}?k={key}")
        self.assertEqual((st, data, h.get("content-type")), (200, PNG, "image/png"))
        self.assertEqual(h.get("x-content-type-options"), "nosniff")
        # Another conversation, no key, a forged key: refused.
        other = files_key("visitor:" + "b" * 32)
        self.assertEqual(http(self.port, "GET", f"/files/{hexd}?k={other}")[0], 404)
        self.assertEqual(http(self.port, "GET", f"/files/{hexd}")[0], 401)
        # A key with its last character changed (never to itself).
        bad = key[:-1] + ("1" if key[-1] == "0" else "0")
        self.assertEqual(http(self.port, "GET", f"/files/{hexd}?k={bad}")[0], 401)
        # A PDF is served as a download, never inline.
        st, _, body = self.upload(key, PDF, "invoice.pdf", "application/pdf")
        self.assertEqual(st, 200, body)
        st, h, _ = http(self.port, "GET", f"/files/{json.loads(body)['ref'][7:]}?k={key}")
        self.assertEqual((st, h.get("content-disposition")), (200, "attachment"))
        # The integration API serves an upload with its declared type (text
        # has no magic bytes to guess it from).
        text = b"order 1234, two items\n"
        st, _, body = self.upload(key, text, "order.txt", "text/plain")
        self.assertEqual(st, 200, body)
        integ.assert_served(self, self.gw, json.loads(body)["ref"], text, "text/plain")
        integ.assert_served(self, self.gw, got["ref"], PNG, "image/png")

    def test_attacks_get_clear_errors(self):
        key = files_key("visitor:" + "c" * 32)
        cases = [
            # (bytes, name, declared type, status, code)
            (PNG, "a.pdf", "application/pdf", 415, "unsupported_type"),   # the type lies
            (b"<html><script>alert(1)</script>", "a.png", "image/png", 415, "unsupported_type"),
            (b"<html></html>", "a.html", "text/html", 415, "unsupported_type"),  # not allowed
            (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 32, "a.txt", "text/plain", 415,
             "unsupported_type"),
            (PNG, "", "image/png", 400, "bad_name"),
            (PNG, "/", "image/png", 400, "bad_name"),
            (PNG, "\x01\x02..", "image/png", 400, "bad_name"),
            (PNG, "x.png", "", 415, "unsupported_type"),
        ]
        for data, name, type_, status, code in cases:
            with self.subTest(name=name, type=type_):
                st, h, body = self.upload(key, data, name, type_)
                self.assertEqual((st, h.get("content-type")), (status, "application/json"), body)
                err = json.loads(body)
                self.assertEqual(err["error"], code)
                self.assertTrue(err["message"])
        # Not UTF-8 (percent-encoded bytes), raw.
        st, _, body = http(self.port, "POST",
                           f"/upload?k={key}&type=image%2Fpng&name=%FF%FEx.png", PNG)
        self.assertEqual(st, 400, body)
        # A path in the name is dropped; control characters too.
        st, _, body = self.upload(key, PNG, "../../etc/pass\x07wd.png", "image/png")
        self.assertEqual((st, json.loads(body)["name"]), (200, "passwd.png"))
        st, _, body = self.upload(key, PNG, "C:\\Users\\me\\x.png", "image/png")
        self.assertEqual((st, json.loads(body)["name"]), (200, "x.png"))
        # Too large: answered 413 from the length, before the body is sent.
        st, _, body = http(self.port, "POST", f"/upload?k={key}&type=image%2Fpng&name=x.png",
                           b"x" * (MAX_FILE + 1), send_body=False)
        self.assertEqual((st, json.loads(body)["error"]), (413, "too_large"))
        # Keys: none, forged, expired.
        for bad in ("", files_key("visitor:" + "c" * 32)[:-2] + "00",
                    files_key("visitor:" + "c" * 32, expiry=1000)):
            st, _, body = self.upload(bad, PNG, "x.png", "image/png")
            self.assertEqual((st, json.loads(body)["error"]), (401, "unauthorized"))
        # No length: 411.
        st, _, _ = http(self.port, "POST", f"/upload?k={key}&type=image%2Fpng&name=x.png",
                        b"5\r\nhello\r\n0\r\n\r\n", {"Transfer-Encoding": "chunked"})
        self.assertEqual(st, 411)
        # Nothing of the refused files was stored.
        for data in (b"<html><script>alert(1)</script>", b"<html></html>"):
            self.assertFalse(os.path.exists(self.blob("sha256:" + hashlib.sha256(data).hexdigest())))

    def test_a_message_with_a_file_reaches_the_bus_once_acked(self):
        consumer = self.start_consumer(self.gw)
        ws = Ws(self.port)
        self.addCleanup(ws.close)
        ws.send({"type": "hello", "token": None, "last_seen": None})
        welcome = ws.wait(lambda o: o["type"] == "welcome", "welcome")
        key = welcome["files_key"]
        st, _, body = self.upload(key, PDF, "order.pdf", "application/pdf")
        self.assertEqual(st, 200, body)
        ref = json.loads(body)["ref"]
        # A file of another conversation cannot be named.
        other_key = files_key("visitor:" + "d" * 32)
        st, _, other = self.upload(other_key, PNG, "theirs.png", "image/png")
        self.assertEqual(st, 200, other)
        ws.send({"type": "message", "client_id": "f-2", "text": "",
                 "attachments": [{"ref": json.loads(other)["ref"]}]})
        err = ws.wait(lambda o: o["type"] == "error", "the error of a foreign file")
        self.assertEqual((err["code"], err.get("client_id")), ("bad_frame", "f-2"))
        ws.send({"type": "message", "client_id": "f-1", "text": "my order",
                 "attachments": [{"ref": ref}]})
        ack = ws.wait(lambda o: o["type"] == "ack", "the ack")
        self.assertEqual(ack["client_id"], "f-1")
        ev = consumer.wait_message(f"{welcome['visitor']}:f-1")
        att = ev["attachments"]
        self.assertEqual(len(att), 1)
        self.assertEqual((att[0]["ref"], att[0]["name"], att[0]["type"], att[0]["size"],
                          att[0]["kind"]), (ref, "order.pdf", "application/pdf", len(PDF),
                                            "document"))
        self.assertFalse(consumer.has(f"{welcome['visitor']}:f-2"))

    def test_typing_is_published_rate_limited_and_not_a_message(self):
        consumer = self.start_consumer(self.gw)
        ws = Ws(self.port)
        self.addCleanup(ws.close)
        ws.send({"type": "hello", "token": None, "last_seen": None})
        welcome = ws.wait(lambda o: o["type"] == "welcome", "welcome")
        conv = welcome["conversation"]

        def typing(c):
            return [m for t, m in c.events.values() if t == "chat.typing"]
        t0 = time.monotonic()
        for _ in range(10):  # a burst: one event
            ws.send({"type": "typing"})
        ws.send({"type": "ping"})
        ws.wait(lambda o: o["type"] == "pong", "pong")
        consumer.wait_for(lambda c: len(typing(c)) >= 1, tmo(10), "a chat.typing")
        got = typing(consumer)
        self.assertEqual((got[0]["channel"], got[0]["account"], got[0]["address"]),
                         ("livechat", "chat", conv))
        # 2 s later, another one is taken.
        while time.monotonic() - t0 < 2.2:
            time.sleep(0.1)
        ws.send({"type": "typing"})
        consumer.wait_for(lambda c: len(typing(c)) >= 2, tmo(10), "a second chat.typing")
        # Still two (the burst made one), and nothing was filed as a message.
        ws.send({"type": "message", "client_id": "t-1", "text": "after typing"})
        ws.wait(lambda o: o["type"] == "ack", "the ack")
        consumer.wait_message(f"{welcome['visitor']}:t-1")
        self.assertEqual(len(typing(consumer)), 2)
        kinds = [t for t, _ in consumer.events.values()]
        self.assertEqual(kinds.count("message.received"), 1, kinds)

    def test_an_agents_typing_reaches_the_conversation_only(self):
        consumer = self.start_consumer(self.gw)
        socks = []
        for _ in range(2):
            ws = Ws(self.port)
            self.addCleanup(ws.close)
            ws.send({"type": "hello", "token": None, "last_seen": None})
            socks.append((ws, ws.wait(lambda o: o["type"] == "welcome", "welcome")))
        (ws, welcome), (other, _) = socks
        # The connector is known to the router once the router received
        # something of it: the message on the bus, not its ack (which only
        # says it is durable in the connector's spool).
        ws.send({"type": "message", "client_id": "a-1", "text": "hello"})
        ws.wait(lambda o: o["type"] == "ack", "the ack")
        consumer.wait_message(f"{welcome['visitor']}:a-1")
        res, _ = gwtest.command_ok(self.gw.command_ep, "chat.typing",
                                   {"account": "chat", "address": welcome["conversation"]})
        got = ws.wait(lambda o: o["type"] == "typing", "the agent's typing")
        self.assertEqual(got, {"type": "typing", "from": "agent"})
        # The other conversation gets nothing: a ping is answered first.
        other.send({"type": "ping"})
        self.assertEqual(other.wait(lambda o: o["type"] in ("typing", "pong"), "pong")["type"],
                         "pong")
        # No such connector: an error; nothing is on the bus.
        status, res, _ = gwtest.command(self.gw.command_ep, "chat.typing",
                                        {"account": "nope", "address": "visitor:x"})
        self.assertEqual((status, res["code"]), ("error", "GW_ENOTFOUND"))
        status, res, _ = gwtest.command(self.gw.command_ep, "chat.typing", {"account": "chat"})
        self.assertEqual(status, "error")


if __name__ == "__main__":
    import unittest
    unittest.main()

"""
Per-sender limits and the quarantine on every channel, end to end with the
real gatewayd (docs/security.md, "Rate limits per sender" and
"Quarantine"):

  - API: a sender over its burst is answered 429 with Retry-After and
    nothing is stored; another sender is not concerned; after the wait the
    same message is accepted; the status file counts rate_limited.
  - API: a body refused 400 is kept byte for byte, listed by `gatewayctl
    quarantine list`, shown by `show`, and a reingest reads it again with
    the current code (still unreadable: it stays, with its reason).
  - API: a body over max_text_bytes is kept; with the limit raised and the
    gateway restarted, its reingest is filed into a ticket end to end.
  - Meta: a message over its sender's limit still gets its 200 once
    durable, is held (not routed), listed, and `reingest` releases it into
    a ticket; nothing is lost.
  - Meta: a signed body that cannot be read is kept and answered 200, shown
    byte for byte; a forged one (bad signature) is refused 401 and not kept.
  - Live chat: a visitor repeating the same text is a loop: the repeat is
    acknowledged (kept) but held, the visitor gets a `slow_down` error
    frame, and `reingest` releases it.
"""

import json
import os
import time
import unittest
import uuid

import gwtest
from gwtest import GatewayTestCase, message_body, tmo
import test_meta
from test_meta import WA, MetaTestCase, read_fixture, unique_wa

SENDER = "+15550004444"


def quarantine(gw):
    """Every entry of `gatewayctl quarantine list --json`."""
    p = gw.ctl("quarantine", "list", "--json")
    return json.loads(p.stdout)


class ApiLimits(GatewayTestCase):

    def start(self):
        gw = self.start_gateway(extra_connector_lines=["sender_rate_per_minute: 60",
                                                       "sender_burst: 3"])
        self.client = gw.client()
        self.addCleanup(self.client.close)
        return gw

    def counters(self, gw):
        f = gwtest.read_json_file(gw.run_file("api")) or {}
        return f.get("counters", {})

    def test_429_then_accepted(self):
        gw = self.start()
        bus = self.start_consumer(gw)
        deadline = time.monotonic() + tmo(15)
        for i in range(3):
            r = self.client.post_until_accepted(message_body(f"rl-{i}", SENDER), deadline)
            self.assertEqual(r.status, 202, r)
        r = self.client.post_message(message_body("rl-3", SENDER))
        self.assertEqual(r.status, 429, r)
        self.assertEqual(r.json().get("error"), "rate_limited", r)
        self.assertEqual(r.header("Retry-After"), "1", r.headers)
        # Another sender is not concerned.
        r = self.client.post_message(message_body("other-0", "+15550005555"))
        self.assertEqual(r.status, 202, r)
        # After Retry-After the same message goes through.
        time.sleep(float(r.header("Retry-After") or 1))
        r = self.client.post_message(message_body("rl-3", SENDER))
        self.assertEqual(r.status, 202, r)
        for ext in ("rl-0", "rl-1", "rl-2", "rl-3", "other-0"):
            bus.wait_message(ext)
        gwtest.wait_until(lambda: self.counters(gw).get("rate_limited", 0) >= 1, tmo(5),
                          f"rate_limited counted (now {self.counters(gw)})")
        # Nothing was kept: the client still had the message.
        self.assertEqual([e for e in quarantine(gw) if e.get("instance") == "api"], [])

    def test_bad_body_kept_and_reingested(self):
        gw = self.start()
        body = json.dumps({"id": "bad-1", "from": {"id": SENDER}}).encode()  # no text
        r = self.client.request("POST", "/v1/messages", body=body)
        self.assertEqual(r.status, 400, r)
        entries = []

        def listed():
            entries[:] = [e for e in quarantine(gw) if e.get("instance") == "api"]
            return entries

        gwtest.wait_until(listed, tmo(5), "the refused body listed")
        e = entries[0]
        self.assertEqual((e["channel"], e["kind"], e["size"]), ("api", "body", len(body)), e)
        self.assertIn("text", e["reason"])
        shown = json.loads(gw.ctl("quarantine", "show", e["id"], "--json").stdout)
        self.assertEqual(shown["text"].encode(), body)
        # The current code still cannot read it: it stays, with the reason.
        p = gw.ctl("quarantine", "reingest", e["id"], check=False)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("quarantined", p.stdout)
        self.assertEqual([x["id"] for x in quarantine(gw) if x.get("instance") == "api"],
                         [e["id"]])
        p = gw.ctl("quarantine", "show", "api/999", check=False)
        self.assertEqual(p.returncode, 4, p)

    def test_kept_over_a_limit_then_reingested_into_a_ticket(self):
        """A body over max_text_bytes is kept (400); the operator raises the
        limit and restarts; the reingest reads it with the new value and
        the router files it: a message.received with a ticket, the entry
        gone, the answer "ingested"."""
        gw = self.start_gateway(extra_connector_lines=["max_text_bytes: 16"])
        self.client = gw.client()
        self.addCleanup(self.client.close)
        text = "a text longer than sixteen bytes"
        r = self.client.post_message(message_body("long-1", SENDER, text=text))
        self.assertEqual(r.status, 400, r)
        self.assertIn("text", r.json()["message"])
        kept = []
        gwtest.wait_until(lambda: kept.extend(x for x in quarantine(gw)
                                              if x.get("instance") == "api") or kept,
                          tmo(5), "the body listed")
        e, = kept
        self.assertIn("text", e["reason"])
        self.assertEqual(gw.head(), 0, "nothing routed")
        self.client.close()
        self.assertEqual(gw.stop(), 0)
        with open(gw.config_path, encoding="utf-8") as f:
            conf = f.read()
        with open(gw.config_path, "w", encoding="utf-8") as f:
            f.write(conf.replace("max_text_bytes: 16", "max_text_bytes: 4096"))
        gw.start()
        bus = self.start_consumer(gw)
        p = gw.ctl("quarantine", "reingest", e["id"], check=False)
        self.assertEqual(p.returncode, 0, p)
        self.assertIn("ingested", p.stdout)
        m = bus.wait_message("long-1")
        self.assertEqual((m["text"], m["from"]["address"]), (text, SENDER))
        self.assertTrue(m.get("ticket_id"), m)
        self.assertEqual([x for x in quarantine(gw) if x.get("instance") == "api"], [])


class MetaLimits(MetaTestCase):

    def wa(self, tag):
        return unique_wa(read_fixture(WA, "message__text.json"), tag)

    def test_held_then_released(self):
        self.start_meta_gateway(["sender_rate_per_minute: 1", "sender_burst: 2"])
        bus = self.start_consumer(self.gw)
        for tag in ("h0", "h1", "h2"):
            self.accept(self.wa(tag), events=1)  # 200 for all: durable
        bus.wait_message("wamid.it-h0")
        bus.wait_message("wamid.it-h1")
        c = self.meta_counters({"held": 1})
        self.assertEqual(c["rate_limited"], 1, c)
        held = [e for e in quarantine(self.gw) if e["kind"] == "held"]
        self.assertEqual(len(held), 1, held)
        self.assertEqual(held[0]["external_id"], "wamid.it-h2", held)
        self.assertEqual(held[0]["channel"], "whatsapp", held)
        self.assertTrue(held[0]["reason"].startswith("rate_limited"), held)
        self.assertIsNone(bus.received("wamid.it-h2"))
        p = self.gw.ctl("quarantine", "reingest", held[0]["id"])
        self.assertIn("released", p.stdout)
        m = bus.wait_message("wamid.it-h2")
        self.assertIsInstance(m.get("ticket_id"), int, m)
        self.assertEqual([e for e in quarantine(self.gw) if e["kind"] == "held"], [])
        self.assertEqual(self.router()["stored"], 3)

    def test_unreadable_body_kept(self):
        self.start_meta_gateway()
        body = read_fixture(WA, "message__text.json")
        cut = body[:len(body) // 2]
        r = self.client.post(cut)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json().get("status"), "kept", r)
        # A forged body is not kept.
        r = self.client.post(cut + b" ", signature="sha256=" + "0" * 64)
        self.assert_refused(r, 401, "unauthorized")
        kept = [e for e in quarantine(self.gw) if e["instance"] == test_meta.INSTANCE]
        self.assertEqual(len(kept), 1, kept)
        self.assertEqual(kept[0]["size"], len(cut))
        shown = json.loads(self.gw.ctl("quarantine", "show", kept[0]["id"], "--json").stdout)
        self.assertEqual(shown["text"].encode(), cut)
        p = self.gw.ctl("quarantine", "reingest", kept[0]["id"], check=False)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("quarantined", p.stdout)
        self.meta_counters({"kept": 1})
        self.assertEqual(self.router()["received"], 0)


try:
    import websocket  # Debian's python3-websocket
except ImportError:
    websocket = None


class ChatLimits(GatewayTestCase):

    def setUp(self):
        super().setUp()
        if websocket is None:
            self.skipTest("python3-websocket is missing (scripts/setup-tests.sh installs it)")
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = gwtest.Gateway(root)
        (self.port,) = gwtest.free_ports(1)
        with open(gw.config_path, "a", encoding="utf-8") as f:
            f.write("\n".join([
                "  - name: chat", "    type: livechat", "    enabled: true",
                f"    listen: \"127.0.0.1:{self.port}\"",
                "    secret: ${GATEWAY_LIVECHAT_SECRET}",
                "    loop_repeats: 2",
            ]) + "\n")
        gw.env.update(GATEWAY_LIVECHAT_SECRET="limits-chat-secret-0123456789")
        gw.connectors.append("chat")
        self.gw = self.run_gateway(gw)
        self.bus = self.start_consumer(gw)

    def test_loop_held_then_released(self):
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{self.port}/chat", subprotocols=["gateway-chat"],
            origin=f"http://127.0.0.1:{self.port}", timeout=tmo(10))
        self.addCleanup(ws.close)
        ws.send(json.dumps({"type": "hello", "token": None, "last_seen": None}))
        frames = []

        def until(pred):
            while True:
                f = json.loads(ws.recv())
                frames.append(f)
                if pred(f):
                    return f

        visitor = until(lambda f: f.get("type") == "welcome")["visitor"]
        exts = []
        for _ in range(3):
            cid = str(uuid.uuid4())
            ws.send(json.dumps({"type": "message", "client_id": cid, "text": "ping?"}))
            until(lambda f, cid=cid: f.get("type") == "ack" and f.get("client_id") == cid)
            exts.append(f"{visitor}:{cid}")
        self.assertIn("slow_down", [f.get("code") for f in frames if f.get("type") == "error"])
        self.bus.wait_message(exts[0])
        self.bus.wait_message(exts[1])
        held = []

        def listed():
            held[:] = [e for e in quarantine(self.gw) if e["kind"] == "held"]
            return held

        gwtest.wait_until(listed, tmo(5), "the repeat held")
        self.assertEqual(held[0]["external_id"], exts[2], held)
        self.assertTrue(held[0]["reason"].startswith("loop"), held)
        self.assertIsNone(self.bus.received(exts[2]))
        self.assertIn("released", self.gw.ctl("quarantine", "reingest", held[0]["id"]).stdout)
        m = self.bus.wait_message(exts[2])
        self.assertIsInstance(m.get("ticket_id"), int, m)


if __name__ == "__main__":
    unittest.main()

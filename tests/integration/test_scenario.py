"""
The omnichannel promise, end to end through the real connectors: one customer
writes about one problem by email (a real IMAP server, Dovecot), then on
WhatsApp (a signed Meta webhook), then in the live chat (the widget's
websocket protocol) signed in on the shop's site (a site-signed identity:
the site vouches for her email, where a typed pre-chat email would only be
a claim), and the helpdesk sees ONE customer, ONE ticket with the three
channels in its thread, assigned ONCE. The customer is known from the
contact directory (`gatewayctl contacts import`), as a helpdesk's CRM would
provide.
"""

import hashlib
import hmac
import json
import os
import subprocess
import time
import unittest
import uuid

import gwtest
from gwtest import GatewayTestCase, tmo

import dovecot

try:
    import websocket  # Debian's python3-websocket
except ImportError:  # pragma: no cover - scripts/setup-tests.sh installs it
    websocket = None

META_PATH = "/webhooks/meta"
PHONE_ID = "106540352242922"
WA_ID = "33612345678"
EMAIL = "ann.lee@example.com"
TEXT = "My parcel 4471 arrived broken, the screen is cracked. Can you send a new one?"
SITE_SECRET = "scenario-site-secret-0123456789"

ROUTING = [
    "  default_region: FR",
    "  languages: [en, fr]",
    "  queues:",
    "    - name: support",
    "      strategy: least_open",
    "      agents: [alice, bob]",
    "  agents:",
    "    - id: alice",
    "      languages: [en, fr]",
    "    - id: bob",
    "      languages: [en]",
]


def whatsapp_body(msg_id, text):
    return json.dumps({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881",
                         "phone_number_id": PHONE_ID},
            "contacts": [{"profile": {"name": "Ann Lee"}, "wa_id": WA_ID}],
            "messages": [{"from": WA_ID, "id": msg_id, "timestamp": str(int(time.time())),
                          "type": "text", "text": {"body": text}}]}}]}],
    }).encode()


def email_raw(mid, text):
    return ("\r\n".join([
        "From: Ann Lee <Ann.Lee@Example.com>",
        "To: support@acme.test",
        "Subject: Broken parcel 4471",
        f"Message-ID: <{mid}>",
        "Date: Mon, 23 Nov 2026 10:00:00 +0100",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]) + "\r\n\r\n" + text + "\r\n").encode()


class Scenario(GatewayTestCase):
    users = {"support": "support-pw"}

    def setUp(self):
        super().setUp()
        dovecot.skip_unless_available()
        if websocket is None:
            self.skipTest("python3-websocket is missing (scripts/setup-tests.sh installs it)")
        root = os.path.join(self.tmp, "dovecot")
        os.makedirs(root)
        self.dc = dovecot.Dovecot(root, self.users)
        self.addCleanup(self.dc.stop)
        self.dc.start()

    def start(self):
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = gwtest.Gateway(root, routing_lines=ROUTING)
        self.meta_port, self.chat_port = gwtest.free_ports(2)
        self.secret = "scenario-app-secret"
        lines = [
            "  - name: mail", "    type: email", "    enabled: true",
            f"    url: \"imap://127.0.0.1:{self.dc.port}/INBOX\"",
            "    username: support", "    password: ${GW_MAIL_PW}", "    tls: none",
            "    poll_interval_ms: 1000",
            "  - name: meta", "    type: meta", "    enabled: true",
            f"    listen: \"127.0.0.1:{self.meta_port}\"", f"    path: {META_PATH}",
            "    app_secret: ${GATEWAY_META_APP_SECRET}",
            "    verify_token: ${GATEWAY_META_VERIFY_TOKEN}",
            "  - name: chat", "    type: livechat", "    enabled: true",
            f"    listen: \"127.0.0.1:{self.chat_port}\"",
            "    secret: ${GATEWAY_LIVECHAT_SECRET}",
            "    identity_secret: ${GATEWAY_LIVECHAT_IDENTITY_SECRET}",
        ]
        with open(gw.config_path, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        gw.env.update(GW_MAIL_PW="support-pw", GATEWAY_META_APP_SECRET=self.secret,
                      GATEWAY_META_VERIFY_TOKEN="verify",
                      GATEWAY_LIVECHAT_SECRET="scenario-chat-secret-0123456789",
                      GATEWAY_LIVECHAT_IDENTITY_SECRET=SITE_SECRET)
        gw.connectors += ["mail", "meta", "chat"]
        self.run_gateway(gw)
        self.gw = gw
        return gw

    # --- the three channels, as their providers speak ---------------------

    def send_email(self, mid, text):
        self.dc.append("support", email_raw(mid, text))

    def send_whatsapp(self, msg_id, text):
        body = whatsapp_body(msg_id, text)
        sig = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.meta_port, timeout=tmo(10))
        try:
            c.request("POST", META_PATH, body, {"Content-Type": "application/json",
                                                 "X-Hub-Signature-256": sig})
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
        finally:
            c.close()

    def send_chat(self, text, email):
        """A chat message of the site's signed-in user `email` (the identity
        the shop's server signs, docs/channels/livechat.md)."""
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{self.chat_port}/chat", subprotocols=["gateway-chat"],
            origin=f"http://127.0.0.1:{self.chat_port}", timeout=tmo(10))
        sig = hmac.new(SITE_SECRET.encode(), f"c-1|{email}|Ann Lee".encode(),
                       hashlib.sha256).hexdigest()
        identity = {"id": "c-1", "email": email, "name": "Ann Lee", "sig": sig}
        try:
            ws.send(json.dumps({"type": "hello", "token": None, "last_seen": None,
                                "identity": identity}))
            welcome = json.loads(ws.recv())
            self.assertEqual(welcome["type"], "welcome", welcome)
            self.assertEqual(welcome["conversation"], "site:c-1", welcome)
            cid = str(uuid.uuid4())
            ws.send(json.dumps({"type": "message", "client_id": cid, "text": text}))
            deadline = time.monotonic() + tmo(15)
            while time.monotonic() < deadline:
                frame = json.loads(ws.recv())
                if frame.get("type") == "ack" and frame.get("client_id") == cid:
                    return frame
                self.assertNotEqual(frame.get("type"), "error", frame)
            self.fail("no ack from the live chat")
        finally:
            ws.close()

    def import_contacts(self):
        path = os.path.join(self.tmp, "contacts.csv")
        with open(path, "w", encoding="utf-8") as f:
            f.write("ref,name,email,phone,plan\n")
            f.write(f"c-1,Ann Lee,{EMAIL},+{WA_ID},enterprise\n")
        p = subprocess.run([gwtest.binary("gatewayctl"), "--config", self.gw.config_path,
                            "contacts", "import", path], capture_output=True, text=True,
                           env=self.gw.env, timeout=tmo(20))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    # --- the story ---------------------------------------------------------

    def test_email_then_whatsapp_then_chat_is_one_ticket(self):
        self.start()
        bus = gwtest.BusConsumer(self.gw.publish, self.gw.command_ep)
        bus.start()
        self.addCleanup(bus.stop)
        bus.wait_connected()
        self.import_contacts()

        def events():
            with bus.cond:
                return [m for _, (_, m) in sorted(bus.events.items())]

        def received(channel):
            return [e for e in events() if e["type"] == "message.received"
                    and e["channel"] == channel]

        self.send_email("broken-4471@example.com", TEXT)
        gwtest.wait_until(lambda: received("email"), tmo(20), "the email on the bus")
        self.send_whatsapp("wamid.SCENARIO1", TEXT)
        gwtest.wait_until(lambda: received("whatsapp"), tmo(20), "the WhatsApp on the bus")
        self.send_chat("Hello, I wrote you about my broken parcel 4471 by email.", EMAIL)
        gwtest.wait_until(lambda: received("livechat"), tmo(20), "the chat on the bus")

        msgs = [received(ch)[0] for ch in ("email", "whatsapp", "livechat")]
        customers = {m["customer_id"] for m in msgs}
        tickets = {m["ticket_id"] for m in msgs}
        self.assertEqual(len(customers), 1, msgs)
        self.assertEqual(len(tickets), 1, msgs)
        ticket_id = tickets.pop()
        self.assertEqual([m.get("thread_rule") for m in msgs],
                         ["new_ticket", "probable_duplicate", "open_ticket"], msgs)
        self.assertEqual(msgs[1].get("duplicate_of"), msgs[0]["seq"])
        self.assertTrue(msgs[2]["from"].get("email_verified"), msgs[2])
        for m in msgs:
            self.assertTrue(m.get("thread_reason"), m)

        events = events()
        created = [e for e in events if e["type"] == "ticket.created"]
        assigned = [e for e in events if e["type"] == "ticket.assigned"]
        self.assertEqual([e["ticket_id"] for e in created], [ticket_id])
        self.assertEqual([e["ticket_id"] for e in assigned], [ticket_id])
        self.assertEqual(assigned[0]["queue"], "support")
        self.assertIn(assigned[0]["agent_id"], ("alice", "bob"))
        # No second customer was created for any of the three identities.
        self.assertEqual([e for e in events if e["type"] == "customer.created"
                          and e["customer_id"] != msgs[0]["customer_id"]], [])

        res, _ = gwtest.command_ok(self.gw.command_ep, "ticket.get", {"id": ticket_id})
        t = res["ticket"]
        self.assertEqual(t["status"], "open")
        self.assertEqual(sorted(t["channels"]), ["email", "livechat", "whatsapp"])
        self.assertEqual(t["message_count"], 3)
        self.assertEqual(t["agent_id"], assigned[0]["agent_id"])
        self.assertEqual(t.get("duplicate_count"), 1)
        self.assertEqual(sorted(m["channel"] for m in res["messages"]),
                         ["email", "livechat", "whatsapp"])
        res, _ = gwtest.command_ok(self.gw.command_ep, "customer.get",
                                   {"id": msgs[0]["customer_id"]})
        kinds = {(i["kind"], i["address"]) for i in res["customer"]["identities"]}
        self.assertIn(("email", EMAIL), kinds)
        self.assertIn(("phone", "+" + WA_ID), kinds)
        self.assertIn(("whatsapp", WA_ID), kinds)
        self.assertTrue(any(k == "livechat" for k, _ in kinds), kinds)


if __name__ == "__main__":
    unittest.main()

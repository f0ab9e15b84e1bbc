"""
Replies through the router: `gatewayctl send` (the message.send command)
on a ticket of the API channel, whose connector here has no callback_url,
so that it reports each reply failed at once (test_api_callback.py sends
them).

  - message.sent and message.status "queued" on the bus, then "failed" with
    the connector's reason; the same --command-id again changes nothing;
  - a reply made while no connector runs stays pending across a restart of
    the gateway and is handed over when the connector says hello;
  - with no connector of the channel at all, it fails after
    router.delivery_timeout_ms with "no connector for channel api".
"""

import re
import time
import unittest

import gwtest
from gwtest import GatewayTestCase, message_body, tmo

INSTANCE = "webform"
SENDER = "+15550001111"
CANNOT = f"API connector {INSTANCE} has no callback_url"


def set_config(gw, enabled=True, timeout_ms=None):
    """Rewrites gw's config: the API connector on or off, the delivery timeout."""
    with open(gw.config_path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"enabled: (true|false)", "enabled: " + ("true" if enabled else "false"), text)
    text = re.sub(r"\n  delivery_timeout_ms: \d+", "", text)
    if timeout_ms is not None:
        text = text.replace("\n  heartbeat_ms:", f"\n  delivery_timeout_ms: {timeout_ms}\n"
                            "  heartbeat_ms:", 1)
    with open(gw.config_path, "w", encoding="utf-8") as f:
        f.write(text)
    gw.connectors = [INSTANCE] if enabled else []


class Reply(GatewayTestCase):

    def setUp(self):
        super().setUp()
        self.gw = self.start_gateway(connector_name=INSTANCE)

    def post(self, ext):
        c = self.gw.client()
        try:
            r = c.post_until_accepted(message_body(ext, SENDER, "Ana"),
                                      time.monotonic() + tmo(15))
        finally:
            c.close()
        self.assertEqual(r.status, 202, r)

    def send(self, ticket, text, command_id, *extra, check=True):
        p = self.gw.ctl("send", str(ticket), text, "--command-id", command_id, "--json",
                        *extra, check=check)
        return p if not check else gwtest.json.loads(p.stdout)

    def wait_status(self, bus, ext, status):
        """The message.status `status` about reply `ext` ("reply-<delivery
        id>", the id's random part left out; waits for it)."""
        pat = re.compile(re.escape(ext) + r"-[0-9a-f]{32}")

        def match(m):
            return bool(pat.fullmatch(m.get("external_id") or "")) and \
                m.get("status") == status

        def find(c):
            return any(t == "message.status" and match(m) for _, t, m in c.snapshot())
        bus.wait_for(find, tmo(20), f"message.status {status} of {ext}")
        return [m for _, t, m in bus.snapshot() if t == "message.status" and match(m)]

    def test_send_queued_then_failed_and_idempotent(self):
        bus = self.start_consumer(self.gw)
        self.post("in-1")
        m = bus.wait_message("in-1")
        res = self.send(m["ticket_id"], "Hello from support", "cmd-1", "--author", "Ann")
        self.assertEqual(res["delivery_id"], 1, res)
        self.assertEqual(res["channel"], "api")
        self.assertEqual(res["account"], INSTANCE)
        self.assertEqual(res["command_id"], "cmd-1")
        bus.wait_for(lambda c: c.complete_to(res["seq"]), tmo(10), "the message.sent")
        sent = bus.event(res["seq"])
        self.assertEqual(sent[0], "message.sent", sent)
        sent = sent[1]
        self.assertRegex(sent["external_id"], r"^reply-1-[0-9a-f]{32}$")
        self.assertEqual(sent["direction"], "outbound")
        self.assertEqual(sent["to"]["address"], SENDER)
        self.assertEqual(sent["from"], {"address": INSTANCE, "name": "Ann"})
        self.assertEqual(sent["text"], "Hello from support")
        self.assertEqual(sent["ticket_id"], m["ticket_id"])
        queued = self.wait_status(bus, "reply-1", "queued")
        self.assertEqual(queued[0]["message_seq"], res["seq"])
        self.assertEqual(queued[0]["external_id"], sent["external_id"])
        failed = self.wait_status(bus, "reply-1", "failed")
        self.assertEqual(len(failed), 1, failed)
        self.assertEqual(failed[0]["errors"][0]["title"], CANNOT)
        self.assertEqual(failed[0]["ticket_id"], m["ticket_id"])
        # The same command id again: the first result, nothing new.
        head = self.gw.head()
        again = self.send(m["ticket_id"], "Hello from support", "cmd-1")
        self.assertEqual((again["delivery_id"], again["seq"]), (1, res["seq"]))
        self.assertEqual(self.gw.head(), head)
        # Without --json: one line naming the delivery; a random command id.
        p = self.gw.ctl("send", str(m["ticket_id"]), "Second answer")
        self.assertRegex(p.stdout, r"^delivery 2 queued: seq \d+, channel api, account "
                         + INSTANCE + r", command id [0-9a-f]{32}\n$")
        # Errors: an unknown ticket (exit 4), a missing text (usage).
        p = self.gw.ctl("send", "999", "x", check=False)
        self.assertEqual(p.returncode, 4, p)
        self.assertIn("no ticket 999", p.stderr)
        p = self.gw.ctl("send", str(m["ticket_id"]), check=False)
        self.assertEqual(p.returncode, 64, p)

    def test_pending_survives_restart(self):
        bus = self.start_consumer(self.gw)
        self.post("in-1")
        m = bus.wait_message("in-1")
        bus.stop()
        self.gw.stop()
        # No connector: the reply waits (the timeout is far).
        set_config(self.gw, enabled=False)
        self.gw.start()
        res = self.send(m["ticket_id"], "While you were away", "cmd-p")
        self.gw.stop()
        # Connector back: its hello brings the pending reply, which it
        # reports failed (it has no callback_url).
        set_config(self.gw, enabled=True)
        self.gw.start()
        bus = self.start_consumer(self.gw)
        failed = self.wait_status(bus, "reply-1", "failed")
        self.assertEqual(failed[0]["errors"][0]["title"], CANNOT)
        self.assertEqual(failed[0]["message_seq"], res["seq"])
        again = self.send(m["ticket_id"], "While you were away", "cmd-p")
        self.assertEqual((again["delivery_id"], again["seq"]), (1, res["seq"]))

    def test_no_connector_times_out(self):
        bus = self.start_consumer(self.gw)
        self.post("in-1")
        m = bus.wait_message("in-1")
        bus.stop()
        self.gw.stop()
        set_config(self.gw, enabled=False, timeout_ms=1000)
        self.gw.start()
        bus = self.start_consumer(self.gw)
        self.send(m["ticket_id"], "Anyone there?", "cmd-t")
        failed = self.wait_status(bus, "reply-1", "failed")
        self.assertEqual(failed[0]["errors"][0]["title"], "no connector for channel api")


if __name__ == "__main__":
    unittest.main()

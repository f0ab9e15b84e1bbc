"""
The shipped example config (gateway/gateway.example.yaml), run as the
README's first command runs it: its own ports on loopback, its state beside
the config. Without the Meta variables the Meta connector stays off and
`gatewayctl status` says why (the Telegram connector too, without its
bot's token), while the rest runs; with them, Meta's
subscription handshake and a signed webhook work at 127.0.0.1:8089
/webhooks/meta. The shipped contact directories (examples/) import cleanly.

The ports are the example's (8088, 8089): the test takes them with
ports.hold_fixed, which waits while another test process (another
checkout's suite on the same machine) holds them or something listens on
them; within one ctest run a RESOURCE_LOCK keeps them apart too. The bus is the example's default: Unix sockets in the state
directory's sock/ folder.
"""

import os
import secrets
import shutil
import unittest
import urllib.parse

import gwtest
import ports
from gwtest import GatewayTestCase, tmo
from test_meta import MetaClient, read_fixture, unique_wa, WA

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EXAMPLE = os.path.join(SRC, "gateway", "gateway.example.yaml")
META_PORT = 8089
META_PATH = "/webhooks/meta"


class ShippedExample(GatewayTestCase):

    def start_example(self, env):
        ports.hold_fixed([8088, META_PORT], tmo(300))
        root = os.path.join(self.tmp, "example")
        os.makedirs(root, exist_ok=True)
        gw = gwtest.Gateway(root)
        shutil.copyfile(EXAMPLE, gw.config_path)
        # What the example sets: the API channel on 8088, the bus on the
        # default ipc sockets inside its state directory.
        gw.ports.update(api=8088)
        gw.api_port = 8088
        gw.publish = f"ipc://{root}/state/sock/publish"
        gw.command_ep = f"ipc://{root}/state/sock/command"
        for k in ("GATEWAY_META_APP_SECRET", "GATEWAY_META_VERIFY_TOKEN",
                  "GATEWAY_LIVECHAT_SECRET", "GATEWAY_EMAIL_PASSWORD",
                  "GATEWAY_TELEGRAM_TOKEN", "GATEWAY_INTEGRATION_TOKEN",
                  "GATEWAY_WEBHOOK_SECRET"):
            gw.env.pop(k, None)
        gw.env.update(env)
        gw.connectors = ["api"] + (["meta"] if "GATEWAY_META_APP_SECRET" in env else [])
        return self.run_gateway(gw)

    @staticmethod
    def meta_healthy(secret):
        c = MetaClient(META_PORT, secret)
        try:
            return c.request("GET", "/healthz").status == 200
        except gwtest.RETRYABLE:
            return False
        finally:
            c.close()

    def test_meta_off_without_its_variables(self):
        gw = self.start_example({})
        want = "app_secret: environment variable GATEWAY_META_APP_SECRET is not set"
        gwtest.wait_until(lambda: want in gw.ctl("status").stdout, tmo(10),
                          "the reason in gatewayctl status",
                          on_fail=lambda: gw.ctl("status").stdout)
        self.assertEqual(gw.child("meta").get("state"), "disabled", gw.child("meta"))
        # So is Telegram without its bot's token.
        want = "token: environment variable GATEWAY_TELEGRAM_TOKEN is not set"
        self.assertIn(want, gw.ctl("status").stdout)
        self.assertEqual(gw.child("telegram").get("state"), "disabled", gw.child("telegram"))
        # The rest of the example runs: the API channel answers.
        self.assertEqual(gw.client().get("/healthz", auth=False).status, 200)
        # So is the integration API until its token is set.
        want = "environment variable GATEWAY_INTEGRATION_TOKEN is not set"
        gwtest.wait_until(lambda: want in gw.ctl("status").stdout, tmo(10),
                          "the integration's reason in gatewayctl status",
                          on_fail=lambda: gw.ctl("status").stdout)
        self.assertEqual(gw.child("integration").get("state"), "disabled")

    def test_meta_on_with_its_variables(self):
        secret, token = secrets.token_hex(16), secrets.token_hex(8)
        gw = self.start_example({"GATEWAY_META_APP_SECRET": secret,
                                 "GATEWAY_META_VERIFY_TOKEN": token})
        # The Meta channel's listener is its readiness signal (gatewayd's
        # readiness covers the API channel's only).
        gwtest.wait_until(lambda: self.meta_healthy(secret), tmo(10),
                          "GET /healthz of the Meta channel on 8089")
        client = MetaClient(META_PORT, secret)
        self.addCleanup(client.close)
        q = urllib.parse.urlencode({"hub.mode": "subscribe", "hub.verify_token": token,
                                    "hub.challenge": "1158201444"})
        r = client.request("GET", f"{META_PATH}?{q}")
        self.assertEqual((r.status, r.body), (200, b"1158201444"), r)
        bus = gw.consumer()
        self.addCleanup(bus.stop)
        bus.wait_connected()
        body = unique_wa(read_fixture(WA, "message__text.json"), "example-1")
        r = client.post(body)
        self.assertEqual(r.status, 200, r)
        bus.wait_message("wamid.it-example-1")
        self.assertNotIn(secret, gw.log_tail(400))

    def test_shipped_contacts_import(self):
        # The README's `gatewayctl contacts import examples/customers.csv`
        # (and docs/routing.md's .jsonl): every contact is created.
        gw = self.start_example({})
        for name, n in (("customers.csv", 3), ("customers.jsonl", 2)):
            out = gw.ctl("contacts", "import", os.path.join(SRC, "examples", name)).stdout
            self.assertIn(f"{n} contacts in 1 requests: {n} created", out)
            self.assertIn("0 conflicts, 0 invalid", out)


if __name__ == "__main__":
    unittest.main()

"""
The HTTP examples of examples/ run as their headers say, each with one
command, against a running gateway (its own ports, given through
OMNIGATE_URL; the examples default to the quick-start config's):
examples/python/http_api.py and examples/node/http_api.js list events and
open tickets and send a reply; examples/python/webhook_receiver.py receives
the events of a subscription and accepts only signed ones.
"""

import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
import unittest

import gwtest
import integ
from gwtest import message_body, tmo, wait_until, free_ports

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PY_API = os.path.join(SRC, "examples", "python", "http_api.py")
PY_HOOK = os.path.join(SRC, "examples", "python", "webhook_receiver.py")
NODE_API = os.path.join(SRC, "examples", "node", "http_api.js")


class HttpExamples(gwtest.GatewayTestCase):

    def start(self, webhooks=()):
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        gw = self.run_gateway(integ.IntegGateway(root, webhooks=webhooks))
        c = gw.client()
        r = c.post_until_accepted(message_body("ex1", "+15550001111", "Ana",
                                               text="Where is my order?"),
                                  time.monotonic() + tmo(15))
        c.close()
        self.assertEqual(r.status, 202)
        wait_until(lambda: gw.api().get("/v1/tickets/1").status == 200, tmo(10), "ticket 1")
        return gw

    def run_example(self, gw, cmd, *args):
        env = dict(os.environ, OMNIGATE_URL=f"http://127.0.0.1:{gw.integ_port}",
                   GATEWAY_INTEGRATION_TOKEN=gw.tokens["admin"][1])
        p = subprocess.run(list(cmd) + list(args), capture_output=True, text=True, env=env,
                           timeout=tmo(30))
        self.assertEqual(p.returncode, 0, p)
        return p.stdout

    def check_api_example(self, cmd):
        gw = self.start()
        out = self.run_example(gw, cmd)
        self.assertIn("message.received", out)
        self.assertIn("Where is my order?", out)
        self.assertIn("1 open ticket(s)", out)
        out = self.run_example(gw, cmd, "--reply", "1", "We are on it")
        self.assertIn("reply stored: delivery 1", out)
        sent = [e for _, t, e in gw.replay_all() if t == "message.sent"]
        self.assertEqual([e["text"] for e in sent], ["We are on it"])

    def test_python_http_api(self):
        self.check_api_example([sys.executable, PY_API])

    def test_node_http_api(self):
        node = shutil.which("node") or shutil.which("nodejs")
        if not node:
            self.skipTest("Node.js is not installed (scripts/setup-tests.sh installs it)")
        self.check_api_example([node, NODE_API])

    def test_python_webhook_receiver(self):
        secret = secrets.token_hex(16)
        port = free_ports(1)[0]
        state = os.path.join(self.tmp, "receiver.last")
        env = dict(os.environ, GATEWAY_WEBHOOK_SECRET=secret)
        recv = subprocess.Popen([sys.executable, PY_HOOK, "--port", str(port), "--state",
                                 state], stdout=subprocess.PIPE, text=True, env=env)
        self.addCleanup(recv.stdout.close)
        self.addCleanup(recv.wait)
        self.addCleanup(recv.kill)
        self.assertIn("listening", recv.stdout.readline())
        # A forged POST is refused before the gateway starts sending.
        forged = integ.HttpApi(port, None).request(
            "POST", "/hook", raw=b'{"seq":1}',
            headers={"X-Omnigate-Signature": "t=%d,v1=%s" % (time.time(), "0" * 64)})
        self.assertEqual(forged.status, 401)
        gw = self.start(webhooks=[{"name": "example", "url": f"http://127.0.0.1:{port}/hook",
                                   "secret": secret, "backoff_min_ms": 50}])
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(recv.stdout), daemon=True)
        reader.start()
        want = [(s, t) for s, t, _ in gw.replay_all()]
        wait_until(lambda: len(lines) >= len(want), tmo(30), f"{len(want)} events printed",
                   on_fail=lambda: "".join(lines))
        got = [(int(ln.split()[0]), ln.split()[1]) for ln in lines]
        self.assertEqual(got, want)
        self.assertIn("Where is my order?", "".join(lines))
        with open(state) as f:
            self.assertEqual(int(f.read()), want[-1][0])


if __name__ == "__main__":
    unittest.main()

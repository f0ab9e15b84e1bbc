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
import signal
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

    def start_receiver(self):
        """examples/python/webhook_receiver.py on a port of its own: (its
        port, secret, process, state file)."""
        secret = secrets.token_hex(16)
        port = free_ports(1)[0]
        state = os.path.join(self.tmp, "receiver.last")
        env = dict(os.environ, GATEWAY_WEBHOOK_SECRET=secret)
        recv = subprocess.Popen([sys.executable, PY_HOOK, "--port", str(port), "--state",
                                 state], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env)
        self.addCleanup(recv.stderr.close)
        self.addCleanup(recv.stdout.close)
        self.addCleanup(recv.wait)
        self.addCleanup(recv.kill)
        self.assertIn("listening", recv.stdout.readline())
        return port, secret, recv, state

    def read_lines(self, stream):
        lines = []
        threading.Thread(target=lambda: lines.extend(stream), daemon=True).start()
        return lines

    def test_python_webhook_receiver(self):
        port, secret, recv, state = self.start_receiver()
        # A forged POST is refused before the gateway starts sending.
        forged = integ.HttpApi(port, None).request(
            "POST", "/hook", raw=b'{"seq":1}',
            headers={"X-Omnigate-Signature": "t=%d,v1=%s" % (time.time(), "0" * 64)})
        self.assertEqual(forged.status, 401)
        gw = self.start(webhooks=[{"name": "example", "url": f"http://127.0.0.1:{port}/hook",
                                   "secret": secret, "backoff_min_ms": 50}])
        lines = self.read_lines(recv.stdout)
        want = [(s, t) for s, t, _ in gw.replay_all()]
        wait_until(lambda: len(lines) >= len(want), tmo(30), f"{len(want)} events printed",
                   on_fail=lambda: "".join(lines))
        got = [(int(ln.split()[0]), ln.split()[1]) for ln in lines]
        self.assertEqual(got, want)
        self.assertIn("Where is my order?", "".join(lines))
        # The example prints a line, then saves its seq.
        def saved():
            with open(state) as f:
                return f.read().strip()
        wait_until(lambda: saved() == str(want[-1][0]), tmo(10),
                   f"seq {want[-1][0]} saved in the state file", on_fail=saved)

    def test_python_webhook_receiver_prints_each_seq_once(self):
        """Across a SIGKILL of gateway-integration mid-stream, and a rewind
        that delivers everything again, the example prints each seq once:
        it drops every repeat by seq (docs/integration.md, "Once, in
        order")."""
        port, secret, recv, state = self.start_receiver()
        gw = self.start(webhooks=[{"name": "example", "url": f"http://127.0.0.1:{port}/hook",
                                   "secret": secret, "backoff_min_ms": 50}])
        gw.allowed_restarts["integration"] = 1
        lines, dropped = self.read_lines(recv.stdout), self.read_lines(recv.stderr)
        c = gw.client()
        try:
            for i in range(8):
                r = c.post_until_accepted(message_body(f"k{i}", f"+1555000{i:04d}", "Ana"),
                                          time.monotonic() + tmo(15))
                self.assertEqual(r.status, 202)
                if i == 3:
                    pid = gw.child_pid("integration")
                    os.kill(pid, signal.SIGKILL)
                    gw.wait_child_restarted("integration", pid)
        finally:
            c.close()
        wait_until(lambda: sum(e.get("external_id") == "k7" for _, t, e in gw.replay_all()
                               if t == "message.received"), tmo(15), "k7 routed")
        head = gw.replay_all()[-1][0]
        wait_until(lambda: lines and int(lines[-1].split()[0]) >= head, tmo(30),
                   f"seq {head} printed", on_fail=lambda: "".join(lines[-5:]))
        # Everything again: each one a repeat, dropped, none printed.
        self.assertIn("seq 1", gw.ctl("webhooks", "rewind", "example", "1").stdout)
        wait_until(lambda: sum(f"seq {head}: a repeat" in d for d in dropped), tmo(30),
                   "the rewound events dropped", on_fail=lambda: "".join(dropped[-5:]))
        want = [s for s, _, _ in gw.replay_all()]
        got = [int(ln.split()[0]) for ln in lines]
        self.assertEqual(got, want)                         # each seq once, in order
        self.assertGreaterEqual(len(dropped), len(want))    # the rewound ones, at least


if __name__ == "__main__":
    unittest.main()

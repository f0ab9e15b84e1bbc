"""
systemd: the shipped unit passes `systemd-analyze verify` with its hardening
options; gatewayd speaks sd_notify (READY=1 once every process is up,
RELOADING=1/READY=1 on SIGHUP, STOPPING=1), and SIGHUP makes the router
take the routing rules of the edited config, or keep its own when the new
file is bad.
"""

import os
import re
import shutil
import socket
import subprocess
import threading
import time
import unittest

import gwtest
from gwtest import GatewayTestCase, tmo, wait_until

ROUTING = [
    "  queues:",
    "    - name: general",
    "      agents: [alice]",
    "  agents:",
    "    - id: alice",
]

# Added by a reload: a queue for invoices, open around the clock, and its
# SLA targets (7 and 90 minutes).
SLA_QUEUE = """  business_hours:
    - name: always
      hours: "24/7"
  queues:
    - name: billing
      keywords: [invoice]
      business_hours: always
      agents: [alice]
"""
SLA_TARGET = """  sla:
    - queue: billing
      first_response_min: 7
      resolution_min: 90
"""

# systemd-analyze security's threshold: exposure x 10 (the unit is at 1.7).
SECURITY_MAX = 20

HARDENING = ("Type=notify", "User=omnigate", "NoNewPrivileges=yes", "ProtectSystem=strict",
             "ReadWritePaths=/var/lib/omnigate", "PrivateTmp=yes", "RestrictAddressFamilies=",
             "ExecReload=", "KillMode=mixed", "StateDirectory=omnigate")


class Notifications:
    """A NOTIFY_SOCKET as systemd opens one: each datagram kept, and what
    `probe` said at the moment READY=1 came."""

    def __init__(self, path, probe):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.path = path
        self.probe = probe
        self.got = []
        self.at_ready = None
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            if data.startswith("READY=1") and self.at_ready is None:
                self.at_ready = self.probe()
            self.got.append(data)

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()

    def count(self, prefix):
        return len([d for d in self.got if d.startswith(prefix)])


class Systemd(GatewayTestCase):

    def test_unit_verifies(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze is not installed")
        build = os.path.dirname(gwtest.bin_dir())
        prefix = os.path.join(self.tmp, "prefix")
        subprocess.run(["cmake", "--install", build, "--prefix", prefix], check=True,
                       capture_output=True, timeout=tmo(120))
        unit = os.path.join(prefix, "lib", "systemd", "system", "gatewayd.service")
        with open(unit, encoding="utf-8") as f:
            text = f.read()
        for opt in HARDENING:
            self.assertRegex(text, "(?m)^" + re.escape(opt), opt)
        # The unit names the configured prefix; verify it against this one.
        m = re.search(r"(?m)^ExecStart=(\S+)/gatewayd ", text)
        text = text.replace(m.group(1), os.path.join(prefix, "bin"))
        text = re.sub(r"/\S+/omnigate/gateway\.", os.path.join(prefix, "etc", "omnigate",
                                                               "gateway."), text)
        checked = os.path.join(self.tmp, "gatewayd.service")
        with open(checked, "w", encoding="utf-8") as f:
            f.write(text)
        env = dict(os.environ, MANPATH=os.path.join(prefix, "share", "man"))
        p = subprocess.run(["systemd-analyze", "verify", checked], capture_output=True,
                           text=True, env=env, timeout=tmo(60))
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))
        # A mistake in it is caught by the same check.
        with open(checked, "w", encoding="utf-8") as f:
            f.write(text.replace("NoNewPrivileges=yes", "NoNewPrivileges=maybe"))
        p = subprocess.run(["systemd-analyze", "verify", checked], capture_output=True,
                           text=True, env=env, timeout=tmo(60))
        self.assertIn("Failed to parse boolean value, ignoring: maybe", p.stderr)
        # Its exposure (systemd-analyze security, 0 best to 10) stays at most
        # SECURITY_MAX; the unit with three protections dropped goes over.
        self.assertEqual(self.security(checked, text, env), 0)
        weak = text.replace("NoNewPrivileges=yes", "NoNewPrivileges=no").replace(
            "ProtectSystem=strict", "ProtectSystem=no").replace("PrivateDevices=yes",
                                                                "PrivateDevices=no")
        self.assertNotEqual(self.security(checked, weak, env), 0)

    def security(self, path, text, env):
        """The exit code of systemd-analyze security --threshold on `text`."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        p = subprocess.run(["systemd-analyze", "security", "--offline=true",
                            f"--threshold={SECURITY_MAX}", path], capture_output=True,
                           text=True, env=env, timeout=tmo(60))
        self.assertIn("Overall exposure level", p.stdout, p.stderr)
        return p.returncode

    def test_notify_and_reload(self):
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = gwtest.Gateway(root, routing_lines=ROUTING)
        note = Notifications(os.path.join(self.tmp, "notify"), gw._ready)
        self.addCleanup(note.close)
        gw.env["NOTIFY_SOCKET"] = note.path
        self.run_gateway(gw)
        wait_until(lambda: note.count("READY=1") == 1, tmo(15), "READY=1")
        self.assertEqual(note.at_ready, "", "READY=1 came before every process was up")
        self.assertEqual(gw.ctl("agent", "presence", "zed", "online", check=False).returncode, 4)

        # A new agent in the file, then SIGHUP: the router knows zed.
        with open(gw.config_path, encoding="utf-8") as f:
            good = f.read()
        with open(gw.config_path, "w", encoding="utf-8") as f:
            f.write(good.replace("    - id: alice\n", "    - id: alice\n    - id: zed\n"))
        gw.proc.send_signal(1)
        wait_until(lambda: note.count("RELOADING=1") == 1 and note.count("READY=1") == 2,
                   tmo(10), "RELOADING=1 and READY=1")
        wait_until(lambda: gw.ctl("agent", "presence", "zed", "online",
                                  check=False).returncode == 0, tmo(10), "zed known")

        # A file that does not load: logged, and the rules in use kept.
        with open(gw.config_path, "w", encoding="utf-8") as f:
            f.write(good.replace("    - id: alice\n", "    - id: alice\n      capacity: x\n"))
        gw.proc.send_signal(1)
        wait_until(lambda: "the routing in use is kept" in gw.log_tail(), tmo(10),
                   "the failed reload logged")
        # (gatewayctl is told the endpoint: the file does not load for it either)
        p = subprocess.run([gwtest.binary("gatewayctl"), "--endpoint-command", gw.command_ep,
                            "agent", "presence", "zed", "away"], capture_output=True, text=True,
                           env=gw.env, timeout=tmo(20))
        self.assertEqual(p.returncode, 0, p.stderr)

        # A new queue with its business hours and SLA target: a message
        # after the SIGHUP opens a ticket in it, due by the new target.
        before = self.ticket_of(gw, "r-before", "+15550002001")
        self.assertEqual(before["queue"], "general", before)
        self.assertNotEqual(before.get("first_response_due", 0) - before["opened_at"], 7 * 60000)
        with open(gw.config_path, "w", encoding="utf-8") as f:
            f.write(good.replace("  queues:\n", SLA_QUEUE, 1)
                    .replace("\nconnectors:\n", "\n" + SLA_TARGET + "connectors:\n", 1))
        gw.proc.send_signal(1)
        wait_until(lambda: "reload: routing from" in gw.log_tail() and
                   "2 queues" in gw.log_tail(), tmo(10), "the reload with two queues logged")
        after = self.ticket_of(gw, "r-after", "+15550002002")
        self.assertEqual(after["queue"], "billing", after)
        start = after.get("sla_started_at") or after["opened_at"]
        self.assertEqual(after["first_response_due"], start + 7 * 60000, after)
        self.assertEqual(after["resolution_due"], start + 90 * 60000, after)
        with open(gw.config_path, "w", encoding="utf-8") as f:
            f.write(good)
        gw.stop()
        self.assertEqual(note.count("STOPPING=1"), 1, note.got)

    def ticket_of(self, gw, ext_id, sender):
        """Posts an "invoice" message; its ticket.created event."""
        c = gw.client()
        self.addCleanup(c.close)
        r = c.post_until_accepted(gwtest.message_body(ext_id, sender=sender,
                                                      text="about my invoice"),
                                  time.monotonic() + tmo(15))
        self.assertEqual(r.status, 202, r)
        found = []

        def created():
            msgs = [m for _, t, m in gw.replay_all() if t == "message.received"
                    and m.get("external_id") == ext_id]
            found[:] = [m for _, t, m in gw.replay_all() if t == "ticket.created"
                        and msgs and m["ticket_id"] == msgs[0].get("ticket_id")]
            return found
        wait_until(created, tmo(15), f"the ticket of {ext_id}")
        return found[0]


if __name__ == "__main__":
    unittest.main()

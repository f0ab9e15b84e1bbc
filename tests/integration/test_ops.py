"""
Operations: JSON logs (log_format: json), gatewayctl's help and its
suggestions, the readable event lines, ticket and customer summaries,
status --watch, and a backup taken while the gateway runs that restores to
a gateway replaying the same events.
"""

import json
import os
import pty
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
import unittest
import urllib.request

import gwtest
import integ
import natsutil
from gwtest import GatewayTestCase, message_body, tmo, wait_until


def json_log_config(gw):
    with open(gw.config_path, encoding="utf-8") as f:
        text = f.read()
    with open(gw.config_path, "w", encoding="utf-8") as f:
        f.write(text.replace("log_level: info\n", "log_level: info\nlog_format: json\n", 1))


class Ops(GatewayTestCase):

    def post(self, gw, n, prefix="m"):
        c = gw.client()
        self.addCleanup(c.close)
        for i in range(n):
            r = c.post_until_accepted(message_body(f"{prefix}-{i}", sender=f"+1555000{i:04d}"),
                                      time.monotonic() + tmo(15))
            self.assertEqual(r.status, 202, r)

    def events(self, gw):
        return [(seq, t, m["id"]) for seq, t, m in gw.replay_all()]

    def test_json_logs(self):
        """Every supervised process (router, connector, integration, metrics,
        nats) writes JSON lines; no body and no secret reaches the log."""
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = integ.IntegGateway(root)
        json_log_config(gw)
        metrics_port = gwtest.free_ports(1)[0]
        with open(gw.config_path, "a", encoding="utf-8") as f:
            f.write(f'metrics:\n  enabled: true\n  listen: "127.0.0.1:{metrics_port}"\n')
        gw.connectors.append("metrics")
        if natsutil.have_nats_server():
            ns = natsutil.NatsServer(self.tmp, "s1").start()
            self.addCleanup(ns.kill)
            ns.wait_ready()
            natsutil.append_nats_config(gw.config_path, [ns.url], "OPSLOG",
                                        ack_timeout_ms=1000, reconnect_wait_ms=100)
            gw.connectors.append("nats")
        self.run_gateway(gw)
        marker = "bodymarker-" + secrets.token_hex(8)
        wrong = "wrongsecret" + secrets.token_hex(12)
        c = gw.client()
        self.addCleanup(c.close)
        r = c.post_until_accepted(message_body("m-0", text=f"hello {marker}"),
                                  time.monotonic() + tmo(15))
        self.assertEqual(r.status, 202, r)
        self.assertEqual(integ.HttpApi(gw.integ_port, wrong).get("/v1/tickets/1").status, 401)
        wait_until(lambda: gw.head() >= 3, tmo(15), "the message stored")
        self.assertEqual(gw.api("reader").get("/v1/tickets/1").status, 200)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                    timeout=tmo(10)) as resp:
            self.assertEqual(resp.status, 200)
        gw.stop()
        with open(gw.log_path, encoding="utf-8") as f:
            text = f.read()
        records = []
        for line in text.splitlines():
            if line.strip():
                try:
                    records.append(json.loads(line))  # every line is one object
                except ValueError:
                    self.fail(f"not a JSON line: {line!r}")
        self.assertTrue(records)
        for r in records:
            for key in ("time", "level", "process", "pid", "module", "message"):
                self.assertIn(key, r, r)
        procs = {r["process"] for r in records}
        want = {"gatewayd", "gateway-router", "gateway-connector", "gateway-integration",
                "gateway-metrics"} | ({"gateway-nats"} if "nats" in gw.connectors else set())
        self.assertTrue(want <= procs, procs)
        ready = [r for r in records if r["process"] == "gateway-router"
                 and r["message"].startswith("ready: head seq")]
        self.assertTrue(ready and isinstance(ready[0]["seq"], int), ready)
        conn = [r for r in records if r.get("connector") == gw.connector_name]
        self.assertTrue(conn, [r["module"] for r in records])
        self.assertNotIn(marker, text)
        self.assertNotIn(wrong, text)
        for secret in [gw.token] + [s for _, s in gw.tokens.values()]:
            self.assertNotIn(secret, text)

    def test_daemons_usage_and_config_errors(self):
        """Each daemon gatewayd supervises starts the same way: an unknown
        option is its usage and 64; a config it cannot load is named on
        stderr and 78, which gatewayd does not restart."""
        missing = os.path.join(self.tmp, "no-such.yaml")
        for prog in ("gateway-router", "gateway-integration", "gateway-metrics",
                     "gateway-nats"):
            if not os.access(os.path.join(gwtest.bin_dir(), prog), os.X_OK):
                continue  # gateway-nats is built only with libnats
            with self.subTest(prog=prog):
                p = subprocess.run([gwtest.binary(prog), "--bogus"], capture_output=True,
                                   text=True, timeout=tmo(20))
                self.assertEqual(p.returncode, 64, p.stderr)
                self.assertIn(f"usage: {prog} --config FILE [--state-dir DIR]", p.stderr)
                p = subprocess.run([gwtest.binary(prog), "--config", missing],
                                   capture_output=True, text=True, timeout=tmo(20))
                self.assertEqual(p.returncode, 78, p.stderr)
                self.assertIn(missing, p.stderr)
                self.assertIn(f"{prog}[", p.stderr)  # the log line names the program

    def test_cli_help(self):
        os.makedirs(os.path.join(self.tmp, "idle"))
        gw = gwtest.Gateway(os.path.join(self.tmp, "idle"))
        p = gw.ctl("ticket", "close", "--help")
        self.assertIn("usage: gatewayctl ticket close ID", p.stdout)
        self.assertIn("example", p.stdout)
        p = gw.ctl("--help")
        self.assertIn("customer merge SOURCE TARGET", p.stdout)
        self.assertIn("backup DIR", p.stdout)
        p = gw.ctl("tiket", "3", check=False)
        self.assertEqual(p.returncode, 64)
        self.assertIn("did you mean: ticket?", p.stderr)
        p = gw.ctl("send", "3", check=False)  # no text: send's usage alone
        self.assertEqual(p.returncode, 64)
        self.assertIn("usage: gatewayctl send TICKET", p.stderr)
        self.assertNotIn("customer merge", p.stderr)
        p = gw.ctl("zzzzzzzz", check=False)
        self.assertNotIn("did you mean", p.stderr)
        # A bad option: that command's usage and the nearest option.
        for args, near, usage in [
                (("status", "--wach"), "did you mean: --watch?", "usage: gatewayctl status "),
                (("send", "3", "hi", "--wiat"), "did you mean: --wait?",
                 "usage: gatewayctl send TICKET"),
                (("replay", "--from", "1", "--limt", "3"), "did you mean: --limit?",
                 "usage: gatewayctl replay --from N"),
                (("ticket", "close", "3", "--reasn", "x"), "did you mean: --reason?",
                 "usage: gatewayctl ticket close ID")]:
            p = gw.ctl(*args, check=False)
            self.assertEqual(p.returncode, 64, p)
            self.assertIn(f"unknown option '{args[-1] if args[-1].startswith('--') else args[-2]}'",
                          p.stderr)
            self.assertIn(near, p.stderr)
            self.assertIn(usage, p.stderr)
            self.assertNotIn("customer merge", p.stderr)  # not the global usage
            self.assertLess(len(p.stderr.splitlines()), 8, p.stderr)
        p = gw.ctl("replay", "--from", check=False)
        self.assertEqual(p.returncode, 64)
        self.assertIn("option '--from' needs a value", p.stderr)
        # An unknown subcommand: the nearest one.
        p = gw.ctl("ticket", "clsoe", "3", check=False)
        self.assertEqual(p.returncode, 64)
        self.assertIn("did you mean: ticket close?", p.stderr)
        p = gw.ctl("customer", "merj", "3", "4", check=False)
        self.assertIn("did you mean: customer merge?", p.stderr)
        p = gw.ctl("quarantine", "reingset", "3", check=False)
        self.assertEqual(p.returncode, 64)
        self.assertIn("unknown subcommand 'quarantine reingset'", p.stderr)
        self.assertIn("did you mean: quarantine reingest?", p.stderr)
        self.assertIn("usage: gatewayctl quarantine ", p.stderr)
        p = gw.ctl("webhooks", "rewnid", "hd", "5", check=False)
        self.assertIn("did you mean: webhooks rewind?", p.stderr)
        # Every command of the help table has its help, with an example.
        rows = re.findall(r"^  ([a-z][a-z-]*(?: [a-z][a-z-]*)?)(?= )", gw.ctl("--help").stdout,
                          re.M)
        self.assertGreaterEqual(len(rows), 25, rows)
        for row in rows:
            p = gw.ctl(*row.split(), "--help", check=False)
            self.assertEqual(p.returncode, 0, (row, p.stderr))
            self.assertTrue(p.stdout.startswith(f"usage: gatewayctl {row}"), (row, p.stdout))
            self.assertRegex(p.stdout, r"\nexamples?:\n  gatewayctl ", row)

    def test_lines_summaries_watch(self):
        gw = self.start_gateway()
        self.post(gw, 1)
        wait_until(lambda: gw.head() >= 3, tmo(15), "message, customer and ticket")
        created = [m for _, t, m in gw.replay_all() if t == "ticket.created"][0]
        tid = str(created["ticket_id"])
        gw.ctl("ticket", "priority", tid, "high")
        gw.ctl("ticket", "close", tid, "--reason", "done")
        lines = gw.ctl("replay", "--from", "1").stdout.splitlines()
        closed = [ln for ln in lines if " ticket.closed " in ln]
        self.assertTrue(closed and f"ticket={tid}" in closed[0] and "status=closed" in closed[0],
                        lines)
        prio = [ln for ln in lines if " ticket.priority_changed " in ln]
        self.assertTrue(prio and "priority=high" in prio[0], lines)
        out = gw.ctl("customer", str(created["customer_id"])).stdout
        self.assertRegex(out, r"\n  open ticket +none\n")
        out = gw.ctl("ticket", tid).stdout
        self.assertRegex(out, r"\n  priority +high\n")
        self.assertRegex(out, r"\n  closed +\d{4}-")
        # status --watch repeats until SIGINT, then exits 0.
        w = subprocess.Popen([gwtest.binary("gatewayctl"), "--config", gw.config_path, "status",
                              "--watch=1"], stdout=subprocess.PIPE, text=True, env=gw.env)
        seen = []
        deadline = time.monotonic() + tmo(15)
        while len([s for s in seen if s.startswith("gatewayd")]) < 2:
            self.assertLess(time.monotonic(), deadline, seen)
            seen.append(w.stdout.readline())
        w.send_signal(signal.SIGINT)
        self.assertEqual(w.wait(tmo(10)), 0)
        w.stdout.close()

    def test_reingest_all_progress(self):
        """quarantine reingest --all: a progress line (done/total, rate, ETA)
        on a terminal, none when stderr is a pipe, and a summary."""
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = gwtest.Gateway(root, extra_connector_lines=[
            "callback_secret: ${GATEWAY_API_CALLBACK_SECRET}"])
        gw.env["GATEWAY_API_CALLBACK_SECRET"] = secrets.token_hex(16)
        self.run_gateway(gw)
        c = gw.client()
        self.addCleanup(c.close)
        n = 6
        for i in range(n):  # unreadable status reports: kept in the quarantine
            r = c.request("POST", f"/v1/messages/reply-{i + 1}-{'ab' * 16}/status",
                          body=json.dumps({"status": "sent", "at": 1700000005000}).encode())
            self.assertEqual(r.status, 400, r)
        wait_until(lambda: len(json.loads(gw.ctl("quarantine", "list", "--json").stdout)) == n,
                   tmo(10), f"{n} entries in the quarantine")
        argv = [gwtest.binary("gatewayctl"), "--config", gw.config_path, "quarantine",
                "reingest", "--all"]
        master, slave = pty.openpty()
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, env=gw.env, text=True)
        os.close(slave)
        tty = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            tty += chunk
        os.close(master)
        out = p.stdout.read()
        p.stdout.close()
        self.assertEqual(p.wait(tmo(30)), 1, (out, tty))  # still unreadable: still there
        text = tty.decode()
        self.assertRegex(text, rf"reingested: \d+/{n} \(\d+%\), \d+/s, ETA (\?|\d+s)")
        self.assertIn(f"reingested: {n}/{n} (100%)", text)
        self.assertIn(f"0 of {n} reingested, {n} still quarantined, 0 without an answer", out)
        p = subprocess.run(argv, capture_output=True, text=True, env=gw.env, timeout=tmo(30))
        self.assertEqual((p.returncode, p.stderr), (1, ""))  # a pipe: no progress line
        self.assertIn(f"0 of {n} reingested", p.stdout)

    def test_backup_restore(self):
        gw = self.start_gateway()
        self.post(gw, 5)
        wait_until(lambda: gw.head() >= 15, tmo(15), "five messages with their customers and tickets")
        dest = os.path.join(self.tmp, "backup")
        p = gw.ctl("backup", dest, "--json")
        manifest = json.loads(p.stdout)
        paths = [e["path"] for e in manifest["environments"]]
        self.assertEqual(paths[-1], "store", paths)  # the router's store last
        self.assertTrue(any(x.startswith("spool") for x in paths), paths)
        self.assertFalse(os.path.exists(os.path.join(dest, "run")))
        # A used folder, or one inside the state directory: refused.
        self.assertEqual(gw.ctl("backup", dest, check=False).returncode, 64)
        inner = os.path.join(gw.state_dir, "b")
        self.assertEqual(gw.ctl("backup", inner, check=False).returncode, 64)
        before = self.events(gw)
        gw.stop()
        # Restore: a new gateway whose state directory is the copy.
        root2 = os.path.join(self.tmp, "restored")
        os.makedirs(root2)
        gw2 = gwtest.Gateway(root2, token=gw.token)
        shutil.copytree(dest, gw2.state_dir)
        os.unlink(os.path.join(gw2.state_dir, "backup.json"))
        self.run_gateway(gw2)
        wait_until(lambda: gw2.head() >= len(before), tmo(15), "the restored log")
        self.assertEqual(self.events(gw2), before)
        self.post(gw2, 1, prefix="after")  # and it goes on from there
        wait_until(lambda: gw2.head() > before[-1][0], tmo(15), "a new message after restore")


    def test_backup_while_posting(self):
        """A backup taken while a client keeps posting restores to a log that
        is a gap-free prefix of the live one."""
        gw = self.start_gateway()
        self.post(gw, 3, prefix="first")
        wait_until(lambda: gw.head() >= 9, tmo(15), "three messages stored")
        stop = threading.Event()
        posted = []

        def keep_posting():
            c = gw.client()
            try:
                while not stop.is_set():
                    i = len(posted)
                    r = c.post_until_accepted(
                        message_body(f"busy-{i}", sender=f"+1555100{i % 50:04d}"),
                        time.monotonic() + tmo(15))
                    posted.append(r.status)
            finally:
                c.close()
        t = threading.Thread(target=keep_posting, daemon=True)
        t.start()
        self.addCleanup(stop.set)
        # Accepted (202) means durable in the connector's spool; the backup
        # must also hold some of them in the router's log to be mid-stream.
        wait_until(lambda: len(posted) >= 5 and gw.head() > 9, tmo(15),
                   "messages posted and stored before the backup")
        dest = os.path.join(self.tmp, "busy-backup")
        gw.ctl("backup", dest)
        n_at_backup = len(posted)
        wait_until(lambda: len(posted) >= n_at_backup + 5, tmo(15), "messages after the backup")
        stop.set()
        t.join(tmo(20))
        self.assertEqual(set(posted), {202})
        ids = {f"busy-{i}" for i in range(len(posted))}
        wait_until(lambda: ids <= {m.get("external_id") for _, t, m in gw.replay_all()
                                   if t == "message.received"}, tmo(15), "every message stored")
        live = self.events(gw)
        gw.stop()
        root2 = os.path.join(self.tmp, "busy-restored")
        os.makedirs(root2)
        # The router alone: no connector hands its spool over again, so the
        # log is the backup's own.
        gw2 = gwtest.Gateway(root2, token=gw.token, connectors=False)
        shutil.copytree(dest, gw2.state_dir)
        os.unlink(os.path.join(gw2.state_dir, "backup.json"))
        self.run_gateway(gw2)
        restored = self.events(gw2)
        self.assertGreater(len(restored), 9)
        self.assertEqual([s for s, _, _ in restored], list(range(1, len(restored) + 1)))
        self.assertLess(len(restored), len(live))  # the copy was taken mid-stream
        self.assertEqual(restored, live[:len(restored)])  # a prefix of the live log

if __name__ == "__main__":
    unittest.main()

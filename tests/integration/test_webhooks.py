"""
The outgoing webhooks of gateway-integration against the running gateway:
every event of a subscription's types POSTed once, in seq order, signed;
retries with backoff while the receiver fails or is down, then everything
afterwards in order; a slow receiver that times out delays no other
subscription; SIGKILL of the router and of gateway-integration mid-stream
loses and reorders nothing; `gatewayctl webhooks status|pause|resume|rewind`.
"""

import json
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest

import gwtest
import integ
from gwtest import message_body, tmo, wait_until


def post_messages(gw, prefix, n, senders=3):
    c = gw.client()
    try:
        for i in range(n):
            r = c.post_until_accepted(message_body(f"{prefix}{i}", f"+1555000{i % senders:04d}",
                                                   "Ana"), time.monotonic() + tmo(30))
            assert r.status == 202, r
    finally:
        c.close()
    # Accepted is spooled; wait until the router has routed them all.
    want = {f"{prefix}{i}" for i in range(n)}

    def routed():
        try:
            events = gw.replay_all()
        except gwtest.CommandError:
            return False  # the router is restarting (a test may SIGKILL it meanwhile)
        got = {e.get("external_id") for _, t, e in events if t == "message.received"}
        return want <= got
    wait_until(routed, tmo(30), f"messages {prefix}* routed")


def all_events(gw, types=None):
    return [(s, t) for s, t, _ in gw.replay_all()
            if types is None or any(t == x or (x.endswith(".") and t.startswith(x))
                                    for x in types)]


class TlsListener:
    """A TLS server on loopback whose certificate (self-signed, made by
    openssl) nobody trusts: every handshake fails on the client's side."""

    def __init__(self, root):
        cert, key = os.path.join(root, "cert.pem"), os.path.join(root, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.port = gwtest.free_ports(1)[0]
        self.sock = socket.create_server(("127.0.0.1", self.port))
        self.secret = secrets.token_hex(16)
        self.url = f"https://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return                                      # closed
            try:
                self.ctx.wrap_socket(conn, server_side=True).close()
            except (OSError, ssl.SSLError):
                conn.close()

    def close(self):
        self.sock.close()


class Unreachable:
    """A webhook target on a reserved loopback port nobody listens on."""

    def __init__(self):
        self.port = gwtest.free_ports(1)[0]
        self.secret = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}/hook"


class WebhookTest(gwtest.GatewayTestCase):

    def start(self, hooks, **kw):
        """hooks: [(name, Receiver, extra dict)]. Starts the gateway."""
        specs = []
        for name, rcv, extra in hooks:
            spec = {"name": name, "url": rcv.url, "secret": rcv.secret,
                    "backoff_min_ms": 50, "backoff_max_ms": 400, "timeout_ms": 2000}
            spec.update(extra)
            specs.append(spec)
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        return self.run_gateway(integ.IntegGateway(root, webhooks=specs, **kw))

    def receiver(self, **kw):
        r = integ.Receiver(secrets.token_hex(16), **kw).start()
        self.addCleanup(r.stop)
        return r

    def wait_delivered(self, gw, rcv, types=None, timeout=None):
        want = all_events(gw, types)
        wait_until(lambda: len(set(rcv.seqs())) >= len(want), timeout or tmo(20),
                   f"{len(want)} events delivered",
                   on_fail=lambda: f"got {rcv.seqs()[-5:]} of {[s for s, _ in want][-5:]}; "
                                   f"{gw.ctl('webhooks', 'status', check=False).stdout}")
        return [s for s, _ in want]

    def test_order_types_and_signature(self):
        a, b = self.receiver(), self.receiver()
        gw = self.start([("all", a, {}), ("tickets", b, {"events": ["ticket.", "message.sent"]})])
        post_messages(gw, "o", 12)
        want = self.wait_delivered(gw, a)
        self.assertEqual(a.seqs(), want)                    # once each, in order
        wantb = self.wait_delivered(gw, b, ["ticket.", "message.sent"])
        self.assertEqual(b.seqs(), wantb)
        self.assertTrue(all(t.startswith("ticket.") for _, t, _ in b.posts))
        self.assertEqual(a.bad_signatures + b.bad_signatures, 0)
        ev = a.posts[0][2]
        self.assertEqual((ev["v"], ev["seq"]), (1, want[0]))
        st = gw.ctl("webhooks", "status", "--json").stdout.splitlines()
        rows = {r["name"]: r for r in map(json.loads, st)}
        self.assertEqual(rows["all"]["cursor"], want[-1])
        self.assertEqual(rows["all"]["delivered"], len(want))
        self.assertEqual(rows["tickets"]["delivered"], len(wantb))

    def test_receiver_fails_then_recovers(self):
        # 503 for the first 6 attempts, then 2xx: retried, nothing skipped.
        a = self.receiver(status=lambda n: 503 if n <= 6 else 200)
        gw = self.start([("flaky", a, {})])
        post_messages(gw, "f", 5)
        want = self.wait_delivered(gw, a)
        self.assertEqual(a.seqs(), want)
        self.assertGreaterEqual(a.attempts, len(want) + 6)

    def test_receiver_down_then_back(self):
        a = self.receiver()
        port = a.port
        gw = self.start([("down", a, {"backoff_max_ms": 200})])
        post_messages(gw, "d", 3)
        self.wait_delivered(gw, a)
        first = a.seqs()
        a.stop()                                            # connection refused now
        post_messages(gw, "e", 6)
        wait_until(lambda: "down" in gw.ctl("webhooks", "status").stdout and
                   json.loads(gw.ctl("webhooks", "status", "--json").stdout)["failures"] > 2,
                   tmo(10), "failed attempts recorded")
        b = integ.Receiver(a.secret)
        b.port = port
        b.start()
        self.addCleanup(b.stop)
        want = [s for s, _ in all_events(gw)]
        wait_until(lambda: len(first) + len(b.seqs()) >= len(want), tmo(20),
                   "the rest delivered")
        self.assertEqual(first + b.seqs(), want)
        row = json.loads(gw.ctl("webhooks", "status", "--json").stdout)
        self.assertEqual((row["failures"], row["last_error"]), (0, ""))

    def test_receiver_down_with_sigkills_and_restart(self):
        """The receiver down while the router and gateway-integration are
        SIGKILLed and the whole gatewayd restarts on the same state folder:
        once back, it gets every event, in order, each once (no 2xx was
        pending at a kill, so there is nothing to repeat)."""
        a = self.receiver()
        port = a.port
        gw = self.start([("out", a, {"backoff_max_ms": 200})])
        gw.allowed_restarts.update({"router": 1, "integration": 1})
        post_messages(gw, "u", 2)
        self.wait_delivered(gw, a)
        first = a.seqs()
        a.stop()                                            # connection refused now
        post_messages(gw, "v", 4)
        for name in ("router", "integration"):
            pid = gw.child_pid(name)
            os.kill(pid, signal.SIGKILL)
            gw.wait_child_restarted(name, pid)
        post_messages(gw, "w", 2)
        gw.stop()
        gw.start()
        post_messages(gw, "x", 2)
        b = integ.Receiver(a.secret)
        b.port = port
        b.start()
        self.addCleanup(b.stop)
        want = [s for s, _ in all_events(gw)]
        wait_until(lambda: len(first) + len(b.seqs()) >= len(want), tmo(30),
                   "everything delivered after the outage",
                   on_fail=lambda: gw.ctl("webhooks", "status", check=False).stdout)
        got = first + b.seqs()
        dedup = [s for i, s in enumerate(got) if i == 0 or s != got[i - 1]]
        self.assertEqual(dedup, want)                       # in order, none skipped
        self.assertEqual(len(got) - len(dedup), 0, got)     # and none repeated
        self.assertEqual(b.seqs()[0], first[-1] + 1)

    def test_failure_lines_name_the_mapped_error(self):
        """A failed attempt's log line gives libcurl's text and, for a
        libcurl failure, the gateway's error it maps to (connectors/
        curl_err.c): an untrusted certificate is a TLS setting to fix, a
        refused connection an I/O error; a non-2xx answer stays its status.
        The cursor's last_error keeps libcurl's text alone."""
        tls = TlsListener(self.tmp)
        self.addCleanup(tls.close)
        gw = self.start([("tls", tls, {}), ("refused", Unreachable(), {}),
                         ("status", self.receiver(status=503), {})])
        post_messages(gw, "x", 1)
        want = {
            "tls": r"webhook tls: seq \d+: .+ \(TLS refused or certificate not verified\); "
                   r"again in \d+ ms",
            "refused": r"webhook refused: seq \d+: .+ \(input/output error\); again in \d+ ms",
            "status": r"webhook status: seq \d+: HTTP 503; again in \d+ ms",
        }

        def log_text():
            out = []
            for p in gw.log_paths():
                with open(p, "r", encoding="utf-8", errors="replace") as f:
                    out.append(f.read())
            return "".join(out)
        wait_until(lambda: all(re.search(w, log_text()) for w in want.values()), tmo(20),
                   "a failure line of each webhook",
                   on_fail=lambda: [k for k, w in want.items() if not re.search(w, log_text())])

        def last_errors():
            rows = [json.loads(ln)
                    for ln in gw.ctl("webhooks", "status", "--json").stdout.splitlines()]
            return {r["name"]: r["last_error"] for r in rows}
        wait_until(lambda: all(last_errors().values()), tmo(10), "every failure recorded")
        errs = last_errors()
        self.assertEqual(errs["status"], "HTTP 503")
        self.assertNotIn("(", errs["tls"])
        self.assertNotIn("(", errs["refused"])

    def test_timeouts_then_answer_and_backoff(self):
        """A receiver that times out twice, then fails four times, then
        answers: the event is retried until the 2xx, nothing skipped, and
        the waits between attempts double from backoff_min_ms up to
        backoff_max_ms (read from the attempts' arrival times)."""
        k, fails = 2, 6
        a = self.receiver(delay=lambda n: 0.8 if n <= k else 0,
                          status=lambda n: 503 if n <= fails else 200)
        lo, hi, timeout_s = 80, 640, 0.3
        gw = self.start([("t", a, {"timeout_ms": int(timeout_s * 1000), "backoff_min_ms": lo,
                                   "backoff_max_ms": hi})])
        post_messages(gw, "t", 1)
        want = self.wait_delivered(gw, a)
        self.assertEqual(a.seqs(), want)
        tries = a.tries[:fails + 1]
        self.assertEqual({s for _, s in tries}, {want[0]}, tries)   # all for the first
        # Each gap is the attempt's time (the timeout, or nearly nothing) and
        # the wait; the arrival times carry the receiver's own scheduling, so
        # each gap is checked loosely, and their sum (noise at the ends only)
        # closely.
        want_gaps = [(timeout_s if i < k else 0) + min(lo * 2 ** i, hi) / 1000
                     for i in range(fails)]
        gaps = [tries[i + 1][0] - tries[i][0] for i in range(fails)]
        for i, (gap, want_gap) in enumerate(zip(gaps, want_gaps)):
            self.assertGreaterEqual(gap, want_gap * 0.75, (i, gaps, want_gaps))
            self.assertLessEqual(gap, tmo(want_gap * 1.5 + 0.25), (i, gaps, want_gaps))
        self.assertGreaterEqual(sum(gaps), sum(want_gaps) * 0.95, (gaps, want_gaps))
        row = json.loads(gw.ctl("webhooks", "status", "--json").stdout)
        self.assertEqual(row["failures"], 0)                # reset by the 2xx

    def test_slow_receiver_delays_no_other(self):
        slow = self.receiver(delay=3.0)
        fast = self.receiver()
        gw = self.start([("slow", slow, {"timeout_ms": 300, "backoff_min_ms": 100}),
                         ("fast", fast, {})])
        t0 = time.monotonic()
        post_messages(gw, "s", 10)
        want = self.wait_delivered(gw, fast, timeout=tmo(10))
        self.assertEqual(fast.seqs(), want)
        self.assertEqual(slow.seqs(), [])                   # every attempt timed out
        self.assertLess(time.monotonic() - t0, tmo(10))

        def slow_row():
            rows = gw.ctl("webhooks", "status", "--json").stdout.splitlines()
            return next(r for r in map(json.loads, rows) if r["name"] == "slow")
        wait_until(lambda: "imeout" in slow_row()["last_error"], tmo(10),
                   "the timeout recorded")
        self.assertEqual(slow_row()["cursor"], 0)

    def test_sigkill_router_and_integration_mid_stream(self):
        a = self.receiver()
        gw = self.start([("k", a, {})])
        gw.allowed_restarts.update({"router": 1, "integration": 1})
        done = threading.Event()
        errors = []

        def stream():
            try:
                post_messages(gw, "k", 40)
            except BaseException as e:                       # noqa: BLE001
                errors.append(e)
            finally:
                done.set()
        threading.Thread(target=stream, daemon=True).start()
        wait_until(lambda: len(a.seqs()) >= 10, tmo(20), "deliveries under way")
        pid = gw.child_pid("router")
        os.kill(pid, signal.SIGKILL)
        gw.wait_child_restarted("router", pid)
        wait_until(lambda: len(a.seqs()) >= 40, tmo(30), "deliveries under way again")
        pid = gw.child_pid("integration")
        os.kill(pid, signal.SIGKILL)
        gw.wait_child_restarted("integration", pid)
        self.assertTrue(done.wait(tmo(60)), "the stream of messages ended")
        self.assertEqual(errors, [])
        want = self.wait_delivered(gw, a, timeout=tmo(30))
        got = a.seqs()
        # In order; at most the one event in flight at the SIGKILL of
        # gateway-integration comes twice (receivers dedupe by seq).
        dedup = [s for i, s in enumerate(got) if i == 0 or s != got[i - 1]]
        self.assertEqual(dedup, want)
        self.assertLessEqual(len(got) - len(dedup), 1)

    def test_gatewayctl_pause_resume_rewind(self):
        a = self.receiver()
        gw = self.start([("ctl", a, {})])
        post_messages(gw, "p", 2)
        want = self.wait_delivered(gw, a)
        self.assertIn("paused", gw.ctl("webhooks", "pause", "ctl").stdout)
        row = json.loads(gw.ctl("webhooks", "status", "--json").stdout)
        self.assertTrue(row["paused"])
        n = len(a.seqs())
        post_messages(gw, "q", 2)
        wait_until(lambda: json.loads(gw.ctl("webhooks", "status", "--json").stdout)
                   ["pending"] > 0, tmo(10), "pending events")
        time.sleep(1.0)   # nothing may arrive while paused (a bounded look)
        self.assertEqual(len(a.seqs()), n)
        gw.ctl("webhooks", "resume", "ctl")
        want = self.wait_delivered(gw, a)
        self.assertEqual(a.seqs(), want)
        out = gw.ctl("webhooks", "rewind", "ctl", "1").stdout
        self.assertIn("seq 1", out)
        wait_until(lambda: len(a.seqs()) >= 2 * len(want), tmo(20), "delivered again")
        self.assertEqual(a.seqs(), want + want)
        p = gw.ctl("webhooks", "pause", "nosuch", check=False)
        self.assertEqual(p.returncode, 4, p)
        p = gw.ctl("webhooks", "rewind", "ctl", "x", check=False)
        self.assertEqual(p.returncode, 64, p)


NGINX = "/usr/sbin/nginx"


@unittest.skipUnless(os.access(NGINX, os.X_OK), "nginx not installed (scripts/setup-tests.sh)")
class WebhooksBenchTool(gwtest.GatewayTestCase):
    """bench/webhooks_bench.py still measures what docs/performance.md says
    (a tiny run: it checks the tool, it does not time the gateway)."""

    def test_bench_runs(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench",
                              "webhooks_bench.py")
        env = dict(os.environ, BENCH_N="30", BENCH_RECEIVERS="1 2", BENCH_TMPDIR=self.tmp)
        p = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True,
                           timeout=tmo(180))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        rows = [json.loads(ln) for ln in p.stdout.splitlines() if ln.startswith("{")]
        self.assertEqual([r["receivers"] for r in rows], [1, 2], p.stdout)
        for r in rows:
            self.assertGreaterEqual(r["events"], 60, r)     # two events per message at least
            self.assertGreater(r["events_per_s_all"], 0, r)
        self.assertRegex(p.stdout, r"2 receiver\(s\): \d+ events each in [\d.]+ s: \d+ "
                                   r"events/s per subscription, \d+ in all, [\d.]+ us CPU")


if __name__ == "__main__":
    unittest.main()

"""
gateway-nats against real nats-server processes with JetStream (Debian's
nats-server; each test has its own ports and store folders): every event
of the log reaches the stream once, in seq order, with its headers, also
when gateway-nats or the router is killed with SIGKILL in the middle of a
burst, and when one node of a 3-node cluster holding an R3 stream is.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

import gwtest
import natsutil
from gwtest import GatewayTestCase, tmo, wait_until

STREAM = "OMNIGATE_T"
PREFIX = "omnigate.events"


@unittest.skipUnless(natsutil.have_nats_server(),
                     "nats-server not installed (scripts/setup-tests.sh installs it)")
class NatsTest(GatewayTestCase):

    def start_nats(self, name="s1"):
        s = natsutil.NatsServer(self.tmp, name).start()
        self.addCleanup(s.kill)
        s.wait_ready()
        return s

    def start_gw(self, servers, **kw):
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        # Bursts from few senders: the per-sender limits would hold them.
        gw = gwtest.Gateway(root, extra_connector_lines=gwtest.with_sender_limits_off([]))
        kw.setdefault("ack_timeout_ms", 1000)
        kw.setdefault("reconnect_wait_ms", 100)
        natsutil.append_nats_config(gw.config_path, [s.url for s in servers], STREAM, **kw)
        gw.connectors.append("nats")  # ready once run/nats.json is written
        return self.run_gateway(gw)

    def post(self, gw, n, tag):
        c = gw.client()
        try:
            deadline = time.monotonic() + tmo(60)
            for i in range(n):
                r = c.post_until_accepted(gwtest.message_body(
                    f"{tag}-{i}", sender=f"+1555000{i % 50:04d}"), deadline)
                if r.status != 202:
                    raise AssertionError(f"message {tag}-{i}: {r!r}")
        finally:
            c.close()

    def burst(self, gw, n, tag):
        errors = []

        def run():
            try:
                self.post(gw, n, tag)
            except Exception as e:  # reported by the test, not the thread
                errors.append(e)
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, errors

    @staticmethod
    def routed(gw, prefix):
        """How many distinct message.received events have an id with prefix."""
        return len({e["external_id"] for _, t, e in gw.replay_all()
                    if t == "message.received" and e["external_id"].startswith(prefix)})

    def wait_stream(self, url, head, timeout=None):
        wait_until(lambda: natsutil.stream_last_gw_seq(url, STREAM) >= head,
                   timeout or tmo(30), f"the stream to reach seq {head}")

    def check_stream(self, url, head):
        """Every seq 1..head exactly once, in order, with headers and payload."""
        info, msgs = natsutil.read_stream(url, STREAM)
        seqs = [int(m["headers"]["Omnigate-Seq"]) for m in msgs]
        self.assertEqual(seqs, list(range(1, head + 1)),
                         "the stream must hold every event once, in order")
        for m in msgs:
            h = m["headers"]
            ev = json.loads(m["data"])
            self.assertEqual(h["Nats-Msg-Id"], "omnigate-%s" % h["Omnigate-Seq"])
            self.assertEqual(ev["seq"], int(h["Omnigate-Seq"]))
            self.assertEqual(ev["type"], h["Omnigate-Type"])
            self.assertEqual(m["subject"], f"{PREFIX}.{ev['type']}")
            self.assertEqual(h["Content-Type"], "application/json")
        return info, msgs

    def test_events_reach_the_stream_with_headers(self):
        ns = self.start_nats()
        gw = self.start_gw([ns])
        self.post(gw, 10, "basic")
        # 202 is durable in the connector's spool; the router files it soon after.
        gwtest.wait_until(lambda: gw.head() >= 20, tmo(15), "ten messages routed")
        head = gw.head()
        self.wait_stream(ns.url, head)
        info, msgs = self.check_stream(ns.url, head)
        self.assertEqual(info["config"]["subjects"], [PREFIX + ".>"])
        self.assertEqual(info["config"]["duplicate_window"], 120 * 10**9)
        types = {m["headers"]["Omnigate-Type"] for m in msgs}
        self.assertTrue({"customer.created", "ticket.created", "message.received"} <= types)
        wait_until(lambda: (gwtest.read_json_file(gw.run_file("nats")) or {})
                   .get("counters", {}).get("last_seq") == head, tmo(5),
                   "run/nats.json to show the last seq")
        # A restart publishes nothing again: it resumes after the last message
        # (the stream's dedupe would hide a republished event: the new
        # process's own counter must count only the new events).
        pid = gw.child_pid("nats")
        gw.allowed_restarts["nats"] = 1
        os.kill(pid, signal.SIGTERM)
        new_pid = gw.wait_child_restarted("nats", pid)
        old = head
        self.post(gw, 1, "after")
        gwtest.wait_until(lambda: self.routed(gw, "after-") == 1, tmo(15), "after-0 routed")
        head = gw.head()
        self.assertGreater(head, old)
        self.wait_stream(ns.url, head)
        self.check_stream(ns.url, head)

        def status():
            st = gwtest.read_json_file(gw.run_file("nats")) or {}
            return st if st.get("pid") == new_pid and \
                st.get("counters", {}).get("last_seq") == head else None
        st = wait_until(status, tmo(5), "run/nats.json of the new process at the head")
        self.assertEqual(st["counters"]["published"], head - old, st)

    def test_server_that_lost_its_store_gets_everything_again(self):
        ns = self.start_nats()
        gw = self.start_gw([ns])
        self.post(gw, 5, "lost")
        head = gw.head()
        self.wait_stream(ns.url, head)
        # The server comes back on the same port without the stream (a lost
        # disk; an unsynced tail lost by a power cut is the same, shorter).
        ns.kill()
        shutil.rmtree(ns.store)
        ns.start()
        ns.wait_ready()
        self.wait_stream(ns.url, head)
        self.post(gw, 2, "after")
        head = gw.head()
        self.wait_stream(ns.url, head)
        self.check_stream(ns.url, head)

    def test_sigkill_of_publisher_and_router_mid_burst(self):
        ns = self.start_nats()
        gw = self.start_gw([ns], window=64)
        gw.allowed_restarts.update({"nats": 2, "router": 1})
        t, errors = self.burst(gw, 300, "kill")
        self.wait_stream(ns.url, 40)
        pid = gw.child_pid("nats")
        os.kill(pid, signal.SIGKILL)
        gw.wait_child_restarted("nats", pid)
        rpid = gw.child_pid("router")
        os.kill(rpid, signal.SIGKILL)
        os.kill(gw.child_pid("nats"), signal.SIGKILL)
        gw.wait_child_restarted("router", rpid)
        t.join(tmo(90))
        self.assertFalse(t.is_alive(), "the burst did not finish")
        self.assertEqual(errors, [])
        # 202 means durable in the connector's spool; the router files the
        # last of them soon after: take the head once all 300 are routed.
        wait_until(lambda: self.routed(gw, "kill-") == 300, tmo(30),
                   "all 300 messages routed")
        head = gw.head()
        self.assertGreaterEqual(head, 600)
        self.wait_stream(ns.url, head)
        self.check_stream(ns.url, head)

    def test_cluster_r3_survives_a_node_killed_mid_burst(self):
        servers = natsutil.start_cluster(self.tmp)
        for s in servers:
            self.addCleanup(s.kill)
        gw = self.start_gw(servers, replicas=3, window=64)
        t, errors = self.burst(gw, 120, "r3")
        self.wait_stream(servers[1].url, 30, tmo(45))
        # The stream's leader goes: the hard case (a follower's loss is not
        # even seen by the publisher).
        leader = natsutil.stream_leader(servers[0].url, STREAM)
        victim = next(s for s in servers if s.name == leader)
        survivor = next(s for s in servers if s is not victim)
        victim.kill()
        t.join(tmo(90))
        self.assertFalse(t.is_alive(), "the burst did not finish")
        self.assertEqual(errors, [])
        wait_until(lambda: self.routed(gw, "r3-") == 120, tmo(30),
                   "all 120 messages routed")
        head = gw.head()
        self.wait_stream(survivor.url, head, tmo(45))
        info, _ = self.check_stream(survivor.url, head)
        self.assertEqual(info["config"]["num_replicas"], 3)
        self.assertNotIn(info["cluster"].get("leader"), (None, "", leader), info["cluster"])


@unittest.skipUnless(natsutil.have_nats_server(),
                     "nats-server not installed (scripts/setup-tests.sh installs it)")
class NatsBenchTool(unittest.TestCase):
    """bench/nats_bench.py still measures what docs/performance.md says (a tiny run)."""

    def test_bench_runs(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench",
                              "nats_bench.py")
        env = dict(os.environ, BENCH_NATS_N="60", BENCH_NATS_CLIENTS="2")
        p = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True,
                           timeout=tmo(120))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"\(a\) backlog: \d+ events into the stream in [\d.]+ s: "
                                   r"\d+ events/s")
        self.assertRegex(p.stdout, r"\(b\) live: 60 messages posted")
        self.assertIn("'resyncs': 0", p.stdout)


if __name__ == "__main__":
    unittest.main()

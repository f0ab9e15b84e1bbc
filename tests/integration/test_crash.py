"""
Crash safety under load: a burst of messages from concurrent keep-alive
clients that retry until 202, while a process of the gateway is killed with
SIGKILL. Afterwards every accepted id is in the event log exactly once, and
a bus consumer that fills its gaps by replay has each id exactly once with
gap-free seqs.

GW_IT_BURST sets the burst size (default 10000), GW_IT_CLIENTS the number
of concurrent clients (default 12).
"""

import collections
import os
import signal
import threading
import time
import unittest

import gwtest
from gwtest import GatewayTestCase, message_body, tmo

BURST = int(os.environ.get("GW_IT_BURST", "10000"))
CLIENTS = int(os.environ.get("GW_IT_CLIENTS", "12"))
SENDERS = 200  # messages spread over this many customers
KILL_AT = 0.3  # fraction of the burst accepted before the kill


class Burst:
    """BURST messages posted by CLIENTS threads, each with its own connection."""

    def __init__(self, gw, prefix, n, clients, timeout):
        self.gw = gw
        self.ids = [f"{prefix}-{i:06d}" for i in range(n)]
        self.cond = threading.Condition()
        self.next = 0
        self.accepted = 0
        self.retried = 0  # messages that needed more than one attempt
        self.failures = []
        self.deadline = time.monotonic() + timeout
        self.threads = [threading.Thread(target=self._work, name=f"client-{k}", daemon=True)
                        for k in range(clients)]
        self.finished_at_ms = None

    def note(self, attempts, last):
        if attempts > 1:
            with self.cond:
                self.retried += 1

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def _take(self):
        with self.cond:
            if self.next >= len(self.ids) or self.failures:
                return None
            i = self.next
            self.next += 1
            return i

    def _work(self):
        client = self.gw.client()
        try:
            while True:
                i = self._take()
                if i is None:
                    return
                ext = self.ids[i]
                body = message_body(ext, f"+1555{i % SENDERS:07d}", f"Sender {i % SENDERS}",
                                    text=f"burst message {i}")
                try:
                    r = client.post_until_accepted(body, self.deadline, stats=self)
                except AssertionError as e:
                    self._fail(str(e))
                    return
                if r.status != 202:
                    self._fail(f"{ext}: {r!r}")
                    return
                with self.cond:
                    self.accepted += 1
                    self.cond.notify_all()
        except Exception as e:
            self._fail(f"client thread: {e!r}")
        finally:
            client.close()

    def _fail(self, what):
        with self.cond:
            self.failures.append(what)
            self.cond.notify_all()

    def progress(self):
        return (f"{self.accepted}/{len(self.ids)} accepted, {self.retried} retried, "
                f"failures: {self.failures[:3]}")

    def wait_accepted(self, n):
        with self.cond:
            while self.accepted < n and not self.failures:
                rem = self.deadline - time.monotonic()
                if rem <= 0:
                    break
                self.cond.wait(min(rem, 0.5))
            if self.failures or self.accepted < n:
                raise AssertionError(f"waiting for {n} accepted: {self.progress()}")

    def join(self):
        for t in self.threads:
            t.join(max(0.0, self.deadline - time.monotonic()) + tmo(15))
        alive = [t.name for t in self.threads if t.is_alive()]
        self.finished_at_ms = int(time.time() * 1000)
        if alive or self.failures or self.accepted != len(self.ids):
            raise AssertionError(f"burst incomplete ({alive} still running): {self.progress()}")


class CrashUnderLoad(GatewayTestCase):

    def run_burst_with_kills(self, victims):
        gw = self.start_gateway(connector_name="api")
        bus = self.start_consumer(gw)
        pids = {v: gw.child_pid(v) for v in victims}
        for v in victims:
            gw.allowed_restarts[v] = 1
        burst = Burst(gw, "burst-" + "-".join(victims), BURST, CLIENTS, tmo(60)).start()
        self.addCleanup(self._drain_burst, burst)

        burst.wait_accepted(int(BURST * KILL_AT))
        for v in victims:
            os.kill(pids[v], signal.SIGKILL)
        killed_at = burst.accepted
        self.assertLess(killed_at, BURST, "the burst ended before the kill")
        for v in victims:
            gw.wait_child_restarted(v, pids[v])
            c = gw.child(v)
            self.assertGreaterEqual(c.get("restarts", 0), 1, c)
        burst.join()

        # Every accepted message has left the connector's spool.
        def drained():
            st = gwtest.read_json_file(gw.run_file("api")) or {}
            ob = st.get("counters", {}).get("outbox", {})
            return (st.get("updated_at", 0) > burst.finished_at_ms
                    and ob.get("spooled") == 0 and ob.get("queued") == 0)
        gwtest.wait_until(drained, tmo(30), "the api connector's spool to drain",
                          interval=0.2, on_fail=lambda: repr(gwtest.read_json_file(
                              gw.run_file("api"))))

        logged = gw.replay_all()
        self.check_log(logged, burst.ids)

        head = logged[-1][0]
        bus.wait_for(lambda c: c.complete_to(head), tmo(30),
                     f"the consumer to have every seq up to {head}")
        self.check_consumer(bus, logged, burst.ids)
        sys_msg = (f"{victims} killed at {killed_at} accepted; {burst.retried} messages "
                   f"retried; consumer: {bus.describe()}")
        print(f"\n{self.id()}: {sys_msg}")

    def _drain_burst(self, burst):
        # On failure, make the client threads give up quickly.
        with burst.cond:
            burst.next = len(burst.ids)

    def check_log(self, logged, ids):
        seqs = [s for s, _, _ in logged]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)), "the event log has gaps")
        counts = collections.Counter(e["external_id"] for _, t, e in logged
                                     if t == "message.received")
        want = set(ids)
        missing = sorted(want - counts.keys())
        twice = {k: v for k, v in counts.items() if v > 1}
        extra = sorted(counts.keys() - want)
        self.assertEqual(missing, [], f"{len(missing)} accepted ids not in the log")
        self.assertEqual(twice, {}, f"{len(twice)} ids logged more than once")
        self.assertEqual(extra, [], "ids in the log that were never sent")
        customers = sum(1 for _, t, _ in logged if t == "customer.created")
        self.assertEqual(customers, min(SENDERS, len(ids)))

    def check_consumer(self, bus, logged, ids):
        self.assertEqual(bus.conflicts[:3], [], "one seq seen with two different events")
        self.assertEqual(bus.protocol_errors[:3], [])
        snap = bus.snapshot()
        self.assertEqual([s for s, _, _ in snap][:len(logged)], [s for s, _, _ in logged])
        twice = {k: v for k, v in bus.by_ext.items() if len(v) > 1}
        self.assertEqual(twice, {}, "an external_id with two seqs on the bus")
        missing = [x for x in ids if x not in bus.by_ext]
        self.assertEqual(missing[:5], [], f"{len(missing)} ids never reached the consumer")
        for (s1, t1, e1), (s2, t2, e2) in zip(snap, logged):
            if (s1, t1, e1) != (s2, t2, e2):
                self.fail(f"seq {s1}: the bus had {t1} {e1!r}, the log has {t2} {e2!r}")

    def test_kill_router_during_burst(self):
        self.run_burst_with_kills(["router"])

    def test_kill_api_connector_during_burst(self):
        self.run_burst_with_kills(["api"])

    def test_kill_router_and_api_during_burst(self):
        self.run_burst_with_kills(["router", "api"])


if __name__ == "__main__":
    unittest.main()

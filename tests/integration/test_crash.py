"""
Crash safety under load: a burst of messages from concurrent keep-alive
clients that retry until accepted (202 on the API channel; 200 for signed
WhatsApp webhooks on the Meta channel, resent as Meta resends them), while a
process of the gateway is killed with SIGKILL. Afterwards every accepted id
is in the event log exactly once, and a bus consumer that fills its gaps by
replay has each id exactly once with gap-free seqs.

GW_IT_BURST sets the burst size (default 4000: the kill lands at 30 % of
it, with messages in every stage from the clients to the store; larger
for a soak run), GW_IT_CLIENTS the number of
concurrent clients (default 12).
"""

import collections
import os
import signal
import threading
import time
import unittest

import gwtest
from gwtest import GatewayTestCase, message_body, tmo
from test_meta import INSTANCE, MetaClient, MetaTestCase, wa_batch

BURST = int(os.environ.get("GW_IT_BURST", "4000"))
CLIENTS = int(os.environ.get("GW_IT_CLIENTS", "12"))
SENDERS = 200  # messages spread over this many customers
KILL_AT = 0.3  # fraction of the burst accepted before the kill
# The burst's deadline: a bound for a failure, not a wait. About 15 s on a
# quiet machine; the suite runs in parallel, so a loaded one gets room.
BURST_TIMEOUT = 180


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

    # What one client does; MetaBurst sends webhooks instead.
    OK = 202

    def client(self):
        return self.gw.client()

    def send(self, client, i):
        body = message_body(self.ids[i], f"+1555{i % SENDERS:07d}", f"Sender {i % SENDERS}",
                            text=f"burst message {i}")
        return client.post_until_accepted(body, self.deadline, stats=self)

    def _work(self):
        client = self.client()
        try:
            while True:
                i = self._take()
                if i is None:
                    return
                try:
                    r = self.send(client, i)
                except AssertionError as e:
                    self._fail(str(e))
                    return
                if r.status != self.OK:
                    self._fail(f"{self.ids[i]}: {r!r}")
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


class MetaBurst(Burst):
    """The burst as WhatsApp webhooks: request i carries message i as Meta
    sends it (signed, one change with its contact), and is resent as Meta
    resends: after anything but 200, on a new connection, until the
    deadline."""

    OK = 200

    def __init__(self, gw, port, secret, prefix, n, clients, timeout):
        super().__init__(gw, prefix, n, clients, timeout)
        self.port = port
        self.secret = secret

    def client(self):
        return MetaClient(self.port, self.secret)

    def send(self, client, i):
        body = wa_batch([self.ids[i]], sender=f"1555{i % SENDERS:07d}")
        attempt, last = 0, None
        while True:
            attempt += 1
            try:
                r = client.post(body)
                if r.status == 200:
                    self.note(attempt, last)
                    return r
                if r.status not in (500, 502, 503):
                    return r
                last = r
                client.close()
            except gwtest.RETRYABLE as e:
                last = e
                client.close()
            if time.monotonic() >= self.deadline:
                raise AssertionError(f"webhook {self.ids[i]!r} not accepted after {attempt} "
                                     f"attempts; last: {last!r}")
            time.sleep(min(0.02 * (2 ** min(attempt, 5)), 0.5))


class CrashChecks:
    """What must hold after a burst with kills: the log and the consumer."""

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

    def wait_drained(self, gw, name, burst):
        """Every accepted message has left the connector's spool."""
        def drained():
            st = gwtest.read_json_file(gw.run_file(name)) or {}
            ob = st.get("counters", {}).get("outbox", {})
            return (st.get("updated_at", 0) > burst.finished_at_ms
                    and ob.get("spooled") == 0 and ob.get("queued") == 0)
        gwtest.wait_until(drained, tmo(30), f"the {name} connector's spool to drain",
                          interval=0.2, on_fail=lambda: repr(gwtest.read_json_file(
                              gw.run_file(name))))

    def kill_during(self, gw, burst, victims):
        """Kills the victims once KILL_AT of the burst is accepted, waits
        for their restart and the end of the burst; returns the count
        accepted at the kill."""
        pids = {v: gw.child_pid(v) for v in victims}
        for v in victims:
            gw.allowed_restarts[v] = 1
        self.addCleanup(self._drain_burst, burst)
        burst.start()
        burst.wait_accepted(int(len(burst.ids) * KILL_AT))
        for v in victims:
            os.kill(pids[v], signal.SIGKILL)
        killed_at = burst.accepted
        self.assertLess(killed_at, len(burst.ids), "the burst ended before the kill")
        for v in victims:
            gw.wait_child_restarted(v, pids[v])
            c = gw.child(v)
            self.assertGreaterEqual(c.get("restarts", 0), 1, c)
        burst.join()
        return killed_at

    def check_all(self, gw, bus, burst, victims, killed_at):
        logged = gw.replay_all()
        self.check_log(logged, burst.ids)
        head = logged[-1][0]
        bus.wait_for(lambda c: c.complete_to(head), tmo(30),
                     f"the consumer to have every seq up to {head}")
        self.check_consumer(bus, logged, burst.ids)
        print(f"\n{self.id()}: {victims} killed at {killed_at} accepted; {burst.retried} "
              f"messages retried; consumer: {bus.describe()}")


class CrashUnderLoad(CrashChecks, GatewayTestCase):

    def run_burst_with_kills(self, victims):
        # A burst from one address: the limits per address (test_floods) off.
        gw = self.start_gateway(connector_name="api", extra_connector_lines=(
            "requests_per_minute: 0", "max_connections_per_ip: 0"))
        bus = self.start_consumer(gw)
        burst = Burst(gw, "burst-" + "-".join(victims), BURST, CLIENTS, tmo(BURST_TIMEOUT))
        killed_at = self.kill_during(gw, burst, victims)
        self.wait_drained(gw, "api", burst)
        self.check_all(gw, bus, burst, victims, killed_at)

    def test_kill_router_during_burst(self):
        self.run_burst_with_kills(["router"])

    def test_kill_api_connector_during_burst(self):
        self.run_burst_with_kills(["api"])

    def test_kill_router_and_api_during_burst(self):
        self.run_burst_with_kills(["router", "api"])


class MetaCrashUnderLoad(CrashChecks, MetaTestCase):
    """The same with signed WhatsApp webhooks: the Meta connector answers
    200 only once a webhook is durable, so what Meta was told is kept and
    what it resends is not doubled."""

    N = max(BURST // 4, 100)

    def run_meta_burst_with_kills(self, victims):
        gw = self.start_meta_gateway()
        bus = self.start_consumer(gw)
        burst = MetaBurst(gw, self.meta_port, self.secret, "wamid.burst-" + "-".join(victims),
                          self.N, CLIENTS, tmo(BURST_TIMEOUT))
        killed_at = self.kill_during(gw, burst, victims)
        self.wait_drained(gw, INSTANCE, burst)
        self.check_all(gw, bus, burst, victims, killed_at)

    def test_kill_meta_connector_during_burst(self):
        self.run_meta_burst_with_kills([INSTANCE])

    def test_kill_router_and_meta_connector_during_burst(self):
        self.run_meta_burst_with_kills(["router", INSTANCE])


if __name__ == "__main__":
    unittest.main()

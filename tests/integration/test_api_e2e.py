"""
End to end through the API channel: HTTP in, events on the bus, the event
log, gatewayctl, and a restart of the whole gateway.
"""

import json
import os
import queue
import subprocess
import threading
import time
import unittest

import gwtest
from gwtest import GatewayTestCase, message_body, tmo

INSTANCE = "webform"  # differs from the channel, so `account` is checked for real
SENDER_A = "+15550001111"
SENDER_B = "+15550002222"
SENDER_C = "+15550003333"


class ApiEndToEnd(GatewayTestCase):

    def setUp(self):
        super().setUp()
        self.gw = self.start_gateway(connector_name=INSTANCE)
        self.client = self.gw.client()
        self.addCleanup(self.client.close)

    # helpers

    def accept(self, body, client=None):
        """Posts body (retrying on connection errors and 503) and checks the 202."""
        c = client or self.client
        r = c.post_until_accepted(body, time.monotonic() + tmo(15))
        self.assertEqual(r.status, 202, f"POST {body['id']}: {r!r}")
        self.assertTrue((r.header("Content-Type") or "").startswith("application/json"), r.headers)
        j = r.json()
        self.assertEqual(j.get("status"), "accepted", j)
        self.assertIsInstance(j.get("id"), str, j)
        self.assertTrue(j["id"], j)
        return j

    def wait_head(self, head):
        """Waits until the router's head_seq reaches head (the status command)."""
        return gwtest.wait_until(lambda: self.gw.head() >= head, tmo(15),
                                 f"router head_seq >= {head}")

    # tests

    def test_post_maps_every_field_and_creates_customer_and_ticket(self):
        bus = self.start_consumer(self.gw)
        before_ms = int(time.time() * 1000)
        body = message_body("client-msg-1", SENDER_A, "Ana", text="Hello, my order is late",
                            subject="Order 12",
                            attachments=[{"name": "a.png", "type": "image/png", "size": 123,
                                          "url": "https://files.example.com/a.png"}])
        self.accept(body)
        m = bus.wait_message("client-msg-1")
        after_ms = int(time.time() * 1000)

        # A fresh store: customer.created, ticket.created, message.received as 1, 2, 3.
        bus.wait_for(lambda c: c.complete_to(3), tmo(10), "seqs 1..3")
        events = bus.snapshot()
        self.assertEqual([(s, t) for s, t, _ in events[:3]],
                         [(1, "customer.created"), (2, "ticket.created"),
                          (3, "message.received")], events)
        self.assertEqual(m["seq"], 3)
        self.assertEqual(m["v"], 1)
        self.assertEqual(m["type"], "message.received")
        self.assertIsInstance(m["id"], str)
        self.assertTrue(m["id"])
        self.assertIsInstance(m["ts"], int)
        self.assertEqual(m["channel"], "api")
        self.assertEqual(m["account"], INSTANCE)
        self.assertEqual(m["external_id"], "client-msg-1")
        self.assertTrue(before_ms - 1000 <= m["received_at"] <= after_ms + 1000,
                        (before_ms, m["received_at"], after_ms))
        self.assertEqual(m["from"], {"address": SENDER_A, "name": "Ana"})
        self.assertEqual(m["subject"], "Order 12")
        self.assertEqual(m["text"], "Hello, my order is late")
        self.assertEqual(m["attachments"], [{"name": "a.png", "type": "image/png", "size": 123,
                                             "ref": "https://files.example.com/a.png"}])
        self.assertNotIn("reply_to", m)  # an empty array is omitted
        for k in ("customer_id", "thread_id", "ticket_id"):
            self.assertIsInstance(m.get(k), int, k)
            self.assertGreater(m[k], 0, k)

        cust = events[0][2]
        self.assertEqual(cust["customer_id"], m["customer_id"])
        self.assertEqual(cust["thread_id"], m["thread_id"])
        self.assertEqual(cust["channel"], "api")
        self.assertEqual(cust["address"], SENDER_A)
        self.assertEqual(cust["name"], "Ana")
        tick = events[1][2]
        self.assertEqual(tick["ticket_id"], m["ticket_id"])
        self.assertEqual(tick["customer_id"], m["customer_id"])
        self.assertEqual(tick["thread_id"], m["thread_id"])
        self.assertEqual(tick["status"], "open")
        self.assertEqual(tick["channel"], "api")
        self.assertEqual(tick["subject"], "Order 12")
        for s, t, e in events[:3]:
            self.assertEqual(e["v"], 1)
            self.assertEqual(e["seq"], s)

        # The event log says the same as the bus.
        logged = self.gw.replay_all()
        self.assertEqual([(s, t, e) for s, t, e in logged], events)
        self.assertEqual(bus.conflicts, [])
        self.assertEqual(bus.protocol_errors, [])

    def test_same_sender_same_ticket_other_sender_new_customer(self):
        bus = self.start_consumer(self.gw)
        self.accept(message_body("a-1", SENDER_A, "Ana", subject="First"))
        m1 = bus.wait_message("a-1")
        self.accept(message_body("a-2", SENDER_A, "Ana"))
        m2 = bus.wait_message("a-2")
        self.accept(message_body("b-1", SENDER_B, "Bo"))
        m3 = bus.wait_message("b-1")

        # Same sender: same customer, thread and open ticket, and no new records.
        for k in ("customer_id", "thread_id", "ticket_id"):
            self.assertEqual(m2[k], m1[k], k)
        self.assertEqual(m2["seq"], m1["seq"] + 1)
        # Another sender: a new customer with its own thread and ticket.
        self.assertNotEqual(m3["customer_id"], m1["customer_id"])
        self.assertNotEqual(m3["thread_id"], m1["thread_id"])
        self.assertNotEqual(m3["ticket_id"], m1["ticket_id"])
        # a-2 joined the open ticket: ticket.updated right after it.
        self.assertEqual(m3["seq"], m2["seq"] + 4)
        bus.wait_for(lambda c: c.complete_to(m3["seq"]), tmo(10), "events up to b-1")
        tu = bus.event(m2["seq"] + 1)
        self.assertEqual(tu[0], "ticket.updated")
        self.assertEqual(tu[1]["ticket_id"], m1["ticket_id"])
        self.assertEqual(tu[1]["customer_id"], m1["customer_id"])
        self.assertEqual(tu[1]["status"], "open")
        self.assertEqual(tu[1]["subject"], "First")
        self.assertEqual(tu[1]["message_count"], 2)
        self.assertEqual(tu[1]["last_message_seq"], m2["seq"])
        cc = bus.event(m2["seq"] + 2)
        tc = bus.event(m2["seq"] + 3)
        self.assertEqual(cc[0], "customer.created")
        self.assertEqual(cc[1]["customer_id"], m3["customer_id"])
        self.assertEqual(cc[1]["address"], SENDER_B)
        self.assertEqual(tc[0], "ticket.created")
        self.assertEqual(tc[1]["ticket_id"], m3["ticket_id"])
        self.assertEqual(tc[1]["customer_id"], m3["customer_id"])
        types = [t for _, t, _ in bus.snapshot()]
        self.assertEqual(types.count("customer.created"), 2, types)
        self.assertEqual(types.count("ticket.created"), 2, types)
        self.assertEqual(types.count("ticket.updated"), 1, types)

    def test_same_id_again_is_accepted_once(self):
        bus = self.start_consumer(self.gw)
        body = message_body("dup-1", SENDER_A, "Ana", text="once")
        self.accept(body)
        first = bus.wait_message("dup-1")
        head = first["seq"]
        self.accept(body)
        # The same id with another text is still the same message.
        self.accept(message_body("dup-1", SENDER_A, "Ana", text="changed"))
        # A later message from the same sender follows immediately: nothing in between.
        self.accept(message_body("dup-probe", SENDER_A, "Ana"))
        probe = bus.wait_message("dup-probe")
        self.assertEqual(probe["seq"], head + 1,
                         f"events between: {bus.snapshot()[head:]}")
        self.assertEqual(bus.seqs_of("dup-1"), [first["seq"]])
        # The probe's ticket.updated is the last event: the duplicates added none.
        gwtest.wait_until(lambda: self.gw.head() >= head + 2, tmo(10), "the probe's events")
        logged = self.gw.replay_all()
        self.assertEqual([(s, t) for s, t, _ in logged[head:]],
                         [(head + 1, "message.received"), (head + 2, "ticket.updated")])
        ids = [e["external_id"] for _, t, e in logged if t == "message.received"]
        self.assertEqual(ids.count("dup-1"), 1, ids)
        self.assertEqual(ids.count("dup-probe"), 1, ids)
        self.assertEqual(logged[-2][2]["text"], "text of dup-probe")
        self.assertEqual([e for s, t, e in logged if s == first["seq"]][0]["text"], "once")

    def test_healthz_and_keep_alive(self):
        r = self.client.get("/healthz", auth=False)
        self.assertEqual(r.status, 200, r)
        port = self.client.local_port()
        self.assertIsNotNone(port, "the connection was closed after /healthz")
        self.accept(message_body("ka-1", SENDER_A))
        self.assertEqual(self.client.local_port(), port, "a new connection was needed")
        self.accept(message_body("ka-2", SENDER_A))
        self.assertEqual(self.client.local_port(), port, "a new connection was needed")
        self.assertEqual(self.client.connects, 1)

    def start_tail(self, *args):
        """gatewayctl tail --json ARGS; returns a function giving the next event or None."""
        proc = subprocess.Popen([gwtest.binary("gatewayctl"), "--config", self.gw.config_path,
                                 "tail", "--json"] + list(args), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.gw.env, start_new_session=True)
        self.addCleanup(self._stop_proc, proc)
        lines = queue.Queue()

        def reader():
            for ln in proc.stdout:
                lines.put(ln)
            lines.put(None)
        threading.Thread(target=reader, daemon=True).start()
        self.tail_seen = []

        def next_event(deadline):
            rem = deadline - time.monotonic()
            if rem <= 0:
                return None
            try:
                ln = lines.get(timeout=rem)
            except queue.Empty:
                return None
            if ln is None:
                self.fail(f"gatewayctl tail exited {proc.wait()}: {proc.stderr.read()}")
            ev = json.loads(ln)  # every line is one JSON object
            self.assertIsInstance(ev, dict, ln)
            self.tail_seen.append(ev)
            return ev
        return next_event

    def read_until(self, next_event, ext_id, timeout):
        """Events printed up to and including message.received of ext_id."""
        got = []
        deadline = time.monotonic() + timeout
        while not got or got[-1].get("external_id") != ext_id:
            ev = next_event(deadline)
            self.assertIsNotNone(ev, f"{ext_id} not printed by tail; lines: {self.tail_seen}")
            got.append(ev)
        return got

    def test_gatewayctl_tail_prints_events(self):
        next_event = self.start_tail()
        # tail subscribes asynchronously and starts with the next event: send
        # probes until one shows up.
        deadline = time.monotonic() + tmo(15)
        n = 0
        ready = False
        while not ready:
            self.assertLess(time.monotonic(), deadline,
                            f"gatewayctl tail printed no probe; lines: {self.tail_seen}")
            n += 1
            self.accept(message_body(f"tail-probe-{n}", SENDER_A))
            step = min(time.monotonic() + 0.3, deadline)
            while not ready:
                ev = next_event(step)
                if ev is None:
                    break
                ready = str(ev.get("external_id", "")).startswith("tail-probe-")
        first_seq = self.tail_seen[0]["seq"]

        # A new sender: three events, in order, with seq.
        self.accept(message_body("tail-1", SENDER_B, "Bo", subject="Tail"))
        self.read_until(next_event, "tail-1", tmo(10))
        printed = self.tail_seen
        seqs = [e["seq"] for e in printed]
        self.assertEqual(seqs, list(range(first_seq, first_seq + len(seqs))),
                         "tail printed a gap or a repeat")
        got = printed[-3:]
        self.assertEqual([e["type"] for e in got],
                         ["customer.created", "ticket.created", "message.received"], got)
        m = got[2]
        self.assertEqual(m["channel"], "api")
        self.assertEqual(m["account"], INSTANCE)
        self.assertEqual(m["from"], {"address": SENDER_B, "name": "Bo"})
        self.assertEqual(m["subject"], "Tail")
        self.assertEqual(m["text"], "text of tail-1")
        self.assertEqual(got[0]["address"], SENDER_B)
        # What tail printed is what the log holds.
        logged = {s: e for s, _, e in self.gw.replay_all()}
        for e in printed:
            self.assertEqual(logged[e["seq"]], e)

    def test_gatewayctl_tail_from_replays_then_follows(self):
        self.accept(message_body("a-1", SENDER_A, "Ana"))
        self.accept(message_body("a-2", SENDER_A, "Ana"))
        gwtest.wait_until(lambda: self.gw.head() >= 5, tmo(10), "router head_seq 5")
        next_event = self.start_tail("--from", "2")
        got = self.read_until(next_event, "a-2", tmo(10))
        self.assertEqual([e["seq"] for e in got], [2, 3, 4])
        self.accept(message_body("b-1", SENDER_B, "Bo"))
        got = self.read_until(next_event, "b-1", tmo(10))
        self.assertEqual([(e["seq"], e["type"]) for e in got],
                         [(5, "ticket.updated"), (6, "customer.created"),
                          (7, "ticket.created"), (8, "message.received")])
        self.assertEqual(self.tail_seen, [e for _, _, e in self.gw.replay_all()][1:])

    def _stop_proc(self, proc):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(tmo(5))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for f in (proc.stdout, proc.stderr):
            if f:
                f.close()

    def _post_sample(self):
        """a-1, a-2 from A, b-1 from B; returns the bus consumer and their maps."""
        bus = self.start_consumer(self.gw)
        self.accept(message_body("a-1", SENDER_A, "Ana", subject="S1"))
        self.accept(message_body("a-2", SENDER_A, "Ana"))
        self.accept(message_body("b-1", SENDER_B, "Bo"))
        return bus, [bus.wait_message(x) for x in ("a-1", "a-2", "b-1")]

    def test_gatewayctl_replay_prints_all_in_order(self):
        _, msgs = self._post_sample()
        logged = self.gw.replay_all()
        self.assertEqual(len(logged), msgs[-1]["seq"])
        p = self.gw.ctl("replay", "--from", "1", "--json")
        lines = [json.loads(ln) for ln in p.stdout.splitlines() if ln.strip()]
        self.assertEqual([e["seq"] for e in lines], list(range(1, len(logged) + 1)), p.stdout)
        self.assertEqual(lines, [e for _, _, e in logged])
        p = self.gw.ctl("replay", "--from", "3", "--json")
        lines = [json.loads(ln) for ln in p.stdout.splitlines() if ln.strip()]
        self.assertEqual([e["seq"] for e in lines], list(range(3, len(logged) + 1)), p.stdout)

    def test_gatewayctl_ticket_and_customer(self):
        _, (a1, a2, b1) = self._post_sample()
        tid, cid = a1["ticket_id"], a1["customer_id"]

        p = self.gw.ctl("ticket", str(tid), "--json")
        doc = json.loads(p.stdout)
        self.assertEqual(sorted(doc), ["messages", "ticket", "trace"], p.stdout)
        self.assertEqual([e["type"] for e in doc["trace"]], ["ticket.created"], p.stdout)
        t = doc["ticket"]
        self.assertEqual(t["ticket_id"], tid)
        self.assertEqual(t["customer_id"], cid)
        self.assertEqual(t["thread_id"], a1["thread_id"])
        self.assertEqual(t["status"], "open")
        self.assertEqual(t["channel"], "api")
        self.assertEqual(t["subject"], "S1")
        self.assertEqual(t["message_count"], 2)
        self.assertEqual(t["last_message_seq"], a2["seq"])
        self.assertEqual(doc["messages"], [a1, a2])

        p = self.gw.ctl("customer", str(cid), "--json")
        doc = json.loads(p.stdout)
        self.assertEqual(sorted(doc), ["customer", "tickets"], p.stdout)
        c = doc["customer"]
        self.assertEqual(c["customer_id"], cid)
        self.assertEqual(c["thread_id"], a1["thread_id"])
        self.assertEqual(c["address"], SENDER_A)
        self.assertEqual(c["name"], "Ana")
        self.assertEqual(c["channel"], "api")
        self.assertEqual(c["open_ticket_id"], tid)
        self.assertEqual(c["message_count"], 2)
        self.assertEqual([x["ticket_id"] for x in doc["tickets"]], [tid])

        p = self.gw.ctl("customer", str(b1["customer_id"]), "--json")
        doc = json.loads(p.stdout)
        self.assertEqual(doc["customer"]["address"], SENDER_B)
        self.assertEqual([x["ticket_id"] for x in doc["tickets"]], [b1["ticket_id"]])

        # The text forms print the records too.
        p = self.gw.ctl("ticket", str(tid))
        self.assertIn(f"ticket {tid}: open", p.stdout)
        self.assertIn(SENDER_A, p.stdout)
        p = self.gw.ctl("customer", str(cid))
        self.assertIn(SENDER_A, p.stdout)
        # Unknown ids: exit 4 and a message.
        for what in ("ticket", "customer"):
            p = self.gw.ctl(what, "999999", check=False)
            self.assertEqual(p.returncode, 4, f"{what} 999999: {p.stdout} {p.stderr}")
            self.assertIn(f"no {what} 999999", p.stdout + p.stderr)

    def test_gatewayctl_status(self):
        p = self.gw.ctl("status", "--json")
        doc = json.loads(p.stdout)
        children = {c["name"]: c for c in doc["children"]}
        self.assertEqual(sorted(children), sorted(["router", INSTANCE]), p.stdout)
        for name in ("router", INSTANCE):
            c = children[name]
            self.assertEqual(c["state"], "running", c)
            self.assertIs(c["alive"], True, c)
            self.assertIsInstance(c["status"], dict, c)
            self.assertEqual(c["status"]["pid"], c["pid"], c)
            self.assertIn("counters", c["status"], c)
        self.assertEqual(children["router"]["kind"], "router")
        self.assertEqual(children[INSTANCE]["kind"], "connector")
        self.assertEqual(children[INSTANCE]["type"], "api")
        self.assertEqual(doc["pid"], self.gw.proc.pid)

        p = self.gw.ctl("status")
        lines = p.stdout.splitlines()
        for name, kind in (("router", "router"), (INSTANCE, "connector")):
            self.assertTrue(any(ln.split()[:3] == [name, kind, "running"] for ln in lines
                                if ln.strip()),
                            f"no line says {name} is running:\n{p.stdout}")

    def test_router_runs_nicer_than_connectors(self):
        """router.nice (default 5) is added to gatewayd's niceness for every
        thread of the router; connectors keep gatewayd's own."""
        def nices(pid):
            out = set()
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    # comm may hold spaces: the fields after its ")" are fixed.
                    out.add(int(f.read().rsplit(")", 1)[1].split()[16]))
            return out

        base = nices(self.gw.proc.pid)
        self.assertEqual(len(base), 1, base)
        base = base.pop()
        self.assertEqual(nices(self.gw.child_pid("router")), {min(base + 5, 19)})
        self.assertEqual(nices(self.gw.child_pid(INSTANCE)), {base})

    def test_message_survives_restart(self):
        bus, (a1, a2, b1) = self._post_sample()
        before = self.gw.replay_all()
        head = before[-1][0]
        bus.stop()
        self.assertEqual(self.gw.stop(), 0, "gatewayd did not exit 0 on SIGTERM")

        self.gw.start()
        self.assertEqual(self.gw.replay_all(), before)
        self.assertEqual(self.gw.head(), head)
        bus = self.start_consumer(self.gw)
        # The same id again is still a duplicate; a new message continues the seqs.
        self.client.close()
        self.accept(message_body("a-1", SENDER_A, "Ana", subject="S1"))
        self.accept(message_body("a-3", SENDER_A, "Ana"))
        m = bus.wait_message("a-3")
        self.assertEqual(m["seq"], head + 1)
        self.assertEqual(m["ticket_id"], a1["ticket_id"])
        self.assertEqual(m["customer_id"], a1["customer_id"])
        gwtest.wait_until(lambda: self.gw.head() >= head + 2, tmo(10), "a-3's ticket.updated")
        after = self.gw.replay_all()
        self.assertEqual(after[:len(before)], before)
        self.assertEqual([(s, t) for s, t, _ in after[len(before):]],
                         [(head + 1, "message.received"), (head + 2, "ticket.updated")])
        self.assertEqual([s for s, _, _ in after], list(range(1, head + 3)))
        ids = [e["external_id"] for _, t, e in after if t == "message.received"]
        self.assertEqual(ids, ["a-1", "a-2", "b-1", "a-3"])

    def test_late_consumer_catches_up_by_replay(self):
        plan = [("l-1", SENDER_A), ("l-2", SENDER_A), ("l-3", SENDER_B), ("l-4", SENDER_C),
                ("l-5", SENDER_A)]
        for ext, sender in plan:
            self.accept(message_body(ext, sender))
        # 3 senders: 3 customers + 3 tickets + 5 messages + 2 ticket updates.
        self.wait_head(13)
        bus = self.start_consumer(self.gw, wait=False)
        bus.wait_for(lambda c: c.complete_to(13), tmo(15), "seqs 1..13 after a late start")
        self.assertGreaterEqual(bus.from_replay, 13)
        self.assertEqual([e["external_id"] for _, t, e in bus.snapshot()
                          if t == "message.received"], [x for x, _ in plan])
        self.assertEqual(bus.snapshot(), self.gw.replay_all())
        # And live from then on.
        self.accept(message_body("l-6", SENDER_B))
        self.assertEqual(bus.wait_message("l-6")["seq"], 14)
        self.assertEqual(bus.conflicts, [])
        self.assertEqual(bus.protocol_errors, [])


if __name__ == "__main__":
    unittest.main()

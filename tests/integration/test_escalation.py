"""
Escalation rules (routing.escalations[]) fired by the router's timers alone.

  - on ticket.sla_warning (6 s: first response 30 s, warning at 20 %): the
    priority is raised (ticket.priority_changed), the ticket moves to the
    tier2 queue and goes to the supervisor (ticket.assigned), and
    ticket.escalated (notify) follows, each with the rule in its cause and
    in the ticket's trace; no message after the opening one;
  - a rule due while the router is down fires once after the restart, and
    not again after another restart;
  - the slow test (about 30 s): `unassigned` after 15 s moves a waiting
    ticket to a queue whose agent takes it (ticket.assigned, then the
    record as ticket.updated), and the breach of the escalated ticket (at
    30 s) raises it to urgent.

The targets are in seconds (routing.sla[].first_response_min: 30s) so that
the timers fire within the test's time; the router fires them to the
second.
"""

import time
import unittest

import gwtest
from gwtest import GatewayTestCase, message_body, tmo

UNASSIGNED_MS = 15 * 1000

ROUTING = [
    "  queues:",
    "    - name: general",
    "      agents: [alice]",
    "    - name: tier2",
    "      agents: [carol]",
    "  agents:",
    "    - id: alice",
    "      presence: away",
    "    - id: carol",
    "    - id: sue",
    "      presence: away",
    "  sla:",
    "    - first_response_min: 30s",
    "      warning_percent: 20",
    "  escalations:",
    "    - name: warn-to-supervisor",
    "      trigger: sla_warning",
    "      clock: first_response",
    "      priorities: [normal]",
    "      set_priority: high",
    "      move_to_queue: tier2",
    "      assign_to: sue",
    "      notify: true",
    "    - name: breach-urgent",
    "      trigger: sla_breached",
    "      priorities: [high]",
    "      set_priority: urgent",
    "    - name: waiting-too-long",
    "      trigger: unassigned",
    "      after_min: 15s",
    "      priorities: [low]",
    "      move_to_queue: tier2",
]

WARN = "escalation warn-to-supervisor: first_response warning"


class Escalation(GatewayTestCase):

    def setUp(self):
        super().setUp()
        self.gw = self.start_gateway(routing_lines=ROUTING)
        self.bus = self.start_consumer(self.gw)

    def post(self, ext, sender):
        c = self.gw.client()
        try:
            r = c.post_until_accepted(message_body(ext, sender, "Ana", text="Hello?"),
                                      time.monotonic() + tmo(15))
        finally:
            c.close()
        self.assertEqual(r.status, 202, r)
        return self.bus.wait_message(ext)

    def about(self, tid, events=None):
        """[(seq, type, map)] of the events about ticket `tid`."""
        evs = events if events is not None else self.bus.snapshot()
        return [(s, t, m) for s, t, m in evs
                if m.get("ticket_id") == tid and t.startswith("ticket.")]

    def wait_type(self, tid, etype, timeout, n=1):
        self.bus.wait_for(lambda c: len([1 for x in self.about(tid) if x[1] == etype]) >= n,
                          timeout, f"{etype} about ticket {tid}")

    def test_warning_escalates_by_timer(self):
        m = self.post("e-1", "+15550001111")
        tid = m["ticket_id"]
        last = self.bus.contig
        self.wait_type(tid, "ticket.escalated", tmo(20))
        evs = [x for x in self.about(tid) if x[0] > last]
        # The timer alone: nothing but the alert and the rule's events.
        self.assertEqual([x[1] for x in evs],
                         ["ticket.sla_warning", "ticket.priority_changed", "ticket.assigned",
                          "ticket.escalated"])
        self.assertEqual(evs[0][0], last + 1)
        pc, asg, esc = evs[1][2], evs[2][2], evs[3][2]
        self.assertEqual(pc["priority"], "high")
        self.assertEqual(pc["cause"], WARN + "; priority high")
        self.assertEqual((asg["queue"], asg["agent_id"]), ("tier2", "sue"))
        self.assertEqual(asg["cause"], WARN + "; priority high; queue tier2, agent sue")
        self.assertEqual(esc["cause"], WARN + "; priority high; queue tier2, agent sue; notified")
        got = gwtest.command_ok(self.gw.command_ep, "ticket.get", {"id": tid})[0]
        self.assertEqual([e["type"] for e in got["trace"]],
                         ["ticket.created", "ticket.sla_warning", "ticket.priority_changed",
                          "ticket.assigned", "ticket.escalated"])
        self.assertEqual((got["ticket"]["agent_id"], got["ticket"]["priority"]), ("sue", "high"))

    def replayed(self, tid):
        return self.about(tid, gwtest.replay_all(self.gw.command_ep))

    def test_restart_fires_once(self):
        m = self.post("e-2", "+15550002222")
        tid = m["ticket_id"]
        opened = self.about(tid)[0][2]["opened_at"]
        self.assertEqual(self.gw.stop(), 0)
        # Down past the warning instant.
        while time.time() * 1000 < opened + 6500:
            time.sleep(0.1)
        self.gw.start()
        wait = gwtest.wait_until(
            lambda: [x for x in self.replayed(tid) if x[1] == "ticket.escalated"],
            tmo(20), "ticket.escalated after the restart")
        self.assertEqual(len(wait), 1)
        self.assertEqual(self.gw.stop(), 0)
        self.gw.start()
        # The router is up again (its head answers): nothing fired twice.
        head = gwtest.router_head(self.gw.command_ep)
        types = [x[1] for x in self.replayed(tid)]
        self.assertEqual(types.count("ticket.escalated"), 1, types)
        self.assertEqual(types.count("ticket.sla_warning"), 1, types)
        self.assertEqual(types.count("ticket.priority_changed"), 1, types)
        self.assertGreaterEqual(head, max(x[0] for x in self.replayed(tid)))

    def test_unassigned_and_breach_slow(self):
        """About 30 s."""
        m = self.post("e-3", "+15550003333")
        low = m["ticket_id"]
        gwtest.command_ok(self.gw.command_ep, "ticket.set_priority",
                          {"command_id": "p1", "ticket_id": low, "priority": "low"})
        esc = self.post("e-4", "+15550004444")["ticket_id"]
        self.wait_type(esc, "ticket.escalated", tmo(20))
        # The low ticket's warning matched no rule; its wait does, at 15 s.
        self.wait_type(low, "ticket.assigned", tmo(40))
        evs = self.about(low)
        asg = [x for x in evs if x[1] == "ticket.assigned"][0][2]
        self.assertEqual((asg["queue"], asg["agent_id"]), ("tier2", "carol"))
        self.assertTrue(asg["cause"].startswith(
            "escalation waiting-too-long: unassigned for 15 s; queue tier2, agent carol"),
            asg)
        self.assertNotIn("ticket.escalated", [x[1] for x in evs])
        got = gwtest.command_ok(self.gw.command_ep, "ticket.get", {"id": low})[0]
        self.assertIn("ticket.updated", [e["type"] for e in got["trace"]])
        self.assertGreaterEqual(asg["assigned_at"] - got["ticket"]["opened_at"], UNASSIGNED_MS)
        # The escalated ticket (high) breaches: raised to urgent.
        self.bus.wait_for(lambda c: any(x[1] == "ticket.priority_changed" and
                                        x[2].get("priority") == "urgent"
                                        for x in self.about(esc)), tmo(20), "urgent")
        pc = [x for x in self.about(esc) if x[1] == "ticket.priority_changed"][-1][2]
        self.assertEqual(pc["cause"],
                         "escalation breach-urgent: first_response breached; priority urgent")


# assign_to: next with two agents: the one who has the ticket is not picked
# again. least_open would hand it back (both have no other ticket, and the
# first of the list wins a tie); the warning comes at 1 % of a minute.
NEXT_ROUTING = [
    "  queues:",
    "    - name: general",
    "      strategy: least_open",
    "      agents: [alice, bob]",
    "  agents:",
    "    - id: alice",
    "    - id: bob",
    "  sla:",
    "    - first_response_min: 1",
    "      warning_percent: 1",
    "  escalations:",
    "    - name: pass-it-on",
    "      trigger: sla_warning",
    "      clock: first_response",
    "      assign_to: next",
]


class EscalationNext(GatewayTestCase):

    post, about, wait_type = Escalation.post, Escalation.about, Escalation.wait_type

    def setUp(self):
        super().setUp()
        self.gw = self.start_gateway(routing_lines=NEXT_ROUTING)
        self.bus = self.start_consumer(self.gw)

    def test_next_is_another_agent(self):
        tid = self.post("n-1", "+15550005555")["ticket_id"]
        self.wait_type(tid, "ticket.assigned", tmo(20), n=2)
        first, asg = [x[2] for x in self.about(tid) if x[1] == "ticket.assigned"]
        self.assertEqual(first["agent_id"], "alice")
        self.assertEqual(asg["agent_id"], "bob", asg)
        self.assertEqual(asg["cause"], "escalation pass-it-on: first_response warning; "
                         "queue general, agent bob")

if __name__ == "__main__":
    unittest.main()

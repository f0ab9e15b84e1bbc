"""
Helpdesk commands and SLA clocks through the running gateway.

  - ticket.close, ticket.reopen and ticket.set_priority on the command
    socket and through gatewayctl: answers, events, the ticket's trace in
    ticket.get, errors (unknown ticket, closed ticket, open ticket, bad
    priority, missing arguments), and one event per command id;
  - SLA clocks with no other traffic: with first_response_min 1 (a bare
    number: minutes) and warning_percent 10, ticket.sla_warning comes 6 s
    after the ticket opened; with first_response_min 24s and
    warning_percent 25, the warning comes at 6 s and ticket.sla_breached at
    24 s (the slow test: a target in seconds, which the router's timers
    fire to the second); a ticket closed meanwhile, and one answered with
    `gatewayctl send`, get neither.
"""

import json
import re
import time
import unittest

import gwtest
from gwtest import GatewayTestCase, message_body, tmo

INSTANCE = "webform"
MIN_MS = 60 * 1000
# How late the router's timer may publish an SLA event: it wakes at the due
# instant; a loaded machine (the suite runs in parallel) may delay it a
# little, far less than a timer that waited for traffic or a poll would.
LATE_MS = int(tmo(3) * 1000)

# Priority changes the targets; warnings come late (80 %), never in a test.
COMMAND_SLA = [
    "  sla:",
    "    - priority: urgent",
    "      first_response_min: 15",
    "      resolution_min: 600",
    "    - first_response_min: 60",
    "      resolution_min: 600",
]

# One minute to the first reply, a warning at 10 % of it: 6 s.
FAST_SLA = [
    "  sla:",
    "    - first_response_min: 1",
    "      warning_percent: 10",
]

# 24 seconds to the first reply, a warning at 25 % of it: 6 s.
BREACH_MS = 24 * 1000
BREACH_SLA = [
    "  sla:",
    "    - first_response_min: 24s",
    "      warning_percent: 25",
]


class HelpdeskBase(GatewayTestCase):

    routing = ()

    def setUp(self):
        super().setUp()
        self.gw = self.start_gateway(connector_name=INSTANCE, routing_lines=self.routing)
        self.bus = self.start_consumer(self.gw)

    def open_ticket(self, ext, sender):
        """Posts a message from `sender`; returns its ticket.created map."""
        c = self.gw.client()
        try:
            r = c.post_until_accepted(message_body(ext, sender, "Ana"),
                                      time.monotonic() + tmo(15))
        finally:
            c.close()
        self.assertEqual(r.status, 202, r)
        m = self.bus.wait_message(ext)
        created = self.events("ticket.created", m["ticket_id"])
        self.assertEqual(len(created), 1, created)
        return created[0][1]

    def events(self, etype, ticket_id):
        """[(seq, map)] of the contiguous events of `etype` about ticket_id."""
        return [(s, m) for s, t, m in self.bus.snapshot()
                if t == etype and m.get("ticket_id") == ticket_id]

    def wait_event(self, etype, ticket_id, timeout, n=1):
        self.bus.wait_for(lambda c: len(self.events(etype, ticket_id)) >= n, timeout,
                          f"{etype} about ticket {ticket_id}")
        return self.events(etype, ticket_id)

    def cmd(self, name, **args):
        status, result, _ = gwtest.command(self.gw.command_ep, name, args)
        return status, result

    def cmd_ok(self, name, **args):
        status, result = self.cmd(name, **args)
        self.assertEqual(status, "ok", (name, args, result))
        return result

    def cmd_error(self, name, code, text, **args):
        status, result = self.cmd(name, **args)
        self.assertEqual(status, "error", (name, args, result))
        self.assertEqual(result["code"], code, result)
        self.assertIn(text, result["message"])
        return result

    def event_at(self, seq):
        self.bus.wait_for(lambda c: c.complete_to(seq), tmo(10), f"event {seq}")
        return self.bus.event(seq)


class HelpdeskCommands(HelpdeskBase):

    routing = COMMAND_SLA

    def test_close_reopen_priority(self):
        t = self.open_ticket("in-1", "+15550001111")
        tid = t["ticket_id"]
        self.assertEqual(t["sla_first_response"], "running")
        self.assertEqual(t["first_response_due"], t["opened_at"] + 60 * MIN_MS)

        # Priority: urgent tightens the first-response target.
        res = self.cmd_ok("ticket.set_priority", command_id="p1", ticket_id=tid,
                          priority="urgent")
        self.assertEqual(res, {"seq": res["seq"], "duplicate": False, "ticket_id": tid,
                               "status": "open", "priority": "urgent", "changed": True})
        etype, ev = self.event_at(res["seq"])
        self.assertEqual(etype, "ticket.priority_changed")
        self.assertEqual(ev["priority"], "urgent")
        self.assertEqual(ev["cause"], "command p1")
        self.assertEqual(ev["first_response_due"], t["opened_at"] + 15 * MIN_MS)
        head = self.gw.head()
        again = self.cmd_ok("ticket.set_priority", command_id="p1", ticket_id=tid,
                            priority="urgent")
        self.assertEqual((again["duplicate"], again["seq"]), (True, res["seq"]))
        same = self.cmd_ok("ticket.set_priority", command_id="p2", ticket_id=tid,
                           priority="urgent")
        self.assertEqual((same["changed"], same["seq"], same["duplicate"]), (False, 0, False))
        self.assertEqual(self.gw.head(), head)
        self.cmd_error("ticket.set_priority", "GW_EINVAL", "'asap' is not one of low, normal",
                       command_id="p3", ticket_id=tid, priority="asap")

        # Close: the clocks stop.
        res = self.cmd_ok("ticket.close", command_id="c1", ticket_id=tid,
                          reason="solved by phone")
        self.assertEqual(res, {"seq": res["seq"], "duplicate": False, "ticket_id": tid,
                               "status": "closed"})
        etype, ev = self.event_at(res["seq"])
        self.assertEqual(etype, "ticket.closed")
        self.assertEqual(ev["status"], "closed")
        self.assertEqual(ev["cause"], "command c1: solved by phone")
        self.assertGreaterEqual(ev["closed_at"], t["opened_at"])
        self.assertEqual(ev["sla_first_response"], "stopped")
        self.assertEqual(ev["sla_resolution"], "met")
        head = self.gw.head()
        again = self.cmd_ok("ticket.close", command_id="c1", ticket_id=tid)
        self.assertEqual((again["duplicate"], again["seq"], again["status"]),
                         (True, res["seq"], "closed"))
        self.assertEqual(self.gw.head(), head)
        self.cmd_error("ticket.close", "GW_EINVAL", f"ticket {tid} is already closed",
                       command_id="c2", ticket_id=tid)
        self.assertEqual(len(self.events("ticket.closed", tid)), 1)

        # Reopen: open again, resolution counted from now.
        res = self.cmd_ok("ticket.reopen", command_id="r1", ticket_id=tid)
        etype, ev = self.event_at(res["seq"])
        self.assertEqual(etype, "ticket.reopened")
        self.assertEqual((ev["status"], ev["reopen_count"]), ("open", 1))
        self.assertNotIn("closed_at", ev)
        self.assertEqual(ev["cause"], "command r1")
        self.assertEqual(ev["sla_resolution"], "running")
        self.assertGreaterEqual(ev["sla_started_at"], t["opened_at"])
        self.assertEqual(ev["resolution_due"], ev["sla_started_at"] + 600 * MIN_MS)
        # Never answered: the first reply is owed again, urgent: 15 min.
        self.assertEqual(ev["sla_first_response"], "running")
        self.assertEqual(ev["first_response_due"], ev["sla_started_at"] + 15 * MIN_MS)
        self.cmd_error("ticket.reopen", "GW_EINVAL", f"ticket {tid} is not closed",
                       command_id="r2", ticket_id=tid)

        # Errors about the arguments and the ticket.
        self.cmd_error("ticket.close", "GW_ENOTFOUND", "no ticket 999", command_id="c9",
                       ticket_id=999)
        self.cmd_error("ticket.reopen", "GW_ENOTFOUND", "no ticket 999", command_id="r9",
                       ticket_id=999)
        self.cmd_error("ticket.close", "GW_EMISSING", "command_id: missing", ticket_id=tid)
        self.cmd_error("ticket.close", "GW_EMISSING", "ticket_id: missing", command_id="c8")
        self.cmd_error("ticket.set_priority", "GW_EMISSING", "priority: missing",
                       command_id="p8", ticket_id=tid)
        self.cmd_error("ticket.close", "GW_ETYPE", "ticket_id", command_id="c7",
                       ticket_id="one")

        # The trace: every step of the ticket, in order.
        got = self.cmd_ok("ticket.get", id=tid)
        self.assertEqual([e["type"] for e in got["trace"]],
                         ["ticket.created", "ticket.priority_changed", "ticket.closed",
                          "ticket.reopened"])
        self.assertEqual([e["type"] for e in got["messages"]], ["message.received"])
        self.assertEqual(got["ticket"]["reopen_count"], 1)

    def test_gatewayctl(self):
        t = self.open_ticket("in-1", "+15550002222")
        tid = str(t["ticket_id"])
        p = self.gw.ctl("ticket", "close", tid, "--reason", "duplicate request",
                        "--command-id", "k1")
        m = re.fullmatch(r"ticket\.close ok: seq=(\d+) duplicate=false ticket_id=" + tid
                         + r" status=closed command_id=k1\n", p.stdout)
        self.assertTrue(m, p.stdout)
        seq = int(m.group(1))
        etype, ev = self.event_at(seq)
        self.assertEqual((etype, ev["cause"]), ("ticket.closed", "command k1: duplicate request"))
        p = self.gw.ctl("ticket", "close", tid, "--command-id", "k1", "--json")
        self.assertEqual(json.loads(p.stdout),
                         {"seq": seq, "duplicate": True, "ticket_id": int(tid),
                          "status": "closed", "command_id": "k1"})
        # Already closed: the router's words, exit 1.
        p = self.gw.ctl("ticket", "close", tid, check=False)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn(f"ticket {tid} is already closed", p.stderr)
        # A fresh command id each time without --command-id.
        p = self.gw.ctl("ticket", "reopen", tid)
        self.assertRegex(p.stdout, r"^ticket\.reopen ok: seq=\d+ duplicate=false ticket_id="
                         + tid + r" status=open command_id=[0-9a-f]{32}\n$")
        p = self.gw.ctl("ticket", "priority", tid, "high", "--json")
        res = json.loads(p.stdout)
        self.assertEqual((res["priority"], res["changed"]), ("high", True))
        self.assertEqual(self.event_at(res["seq"])[0], "ticket.priority_changed")
        p = self.gw.ctl("ticket", "priority", tid, "asap", check=False)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("'asap' is not one of", p.stderr)
        # Unknown ticket: exit 4; usage mistakes: exit 64.
        p = self.gw.ctl("ticket", "close", "999", check=False)
        self.assertEqual(p.returncode, 4, p)
        self.assertIn("no ticket 999", p.stderr)
        for args in (["ticket", "priority", tid], ["ticket", "close"],
                     ["ticket", "close", tid, "--agent", "ann"], ["agent"],
                     ["agent", "presence", "ann"], ["ticket", "reopen", "x"]):
            p = self.gw.ctl(*args, check=False)
            self.assertEqual(p.returncode, 64, (args, p))
        # `ticket ID` still shows the ticket.
        p = self.gw.ctl("ticket", tid, "--json")
        got = json.loads(p.stdout)
        self.assertEqual([e["type"] for e in got["trace"]],
                         ["ticket.created", "ticket.closed", "ticket.reopened",
                          "ticket.priority_changed"])


class SlaClocks(HelpdeskBase):

    routing = FAST_SLA

    def sla_events(self, tid):
        return [(s, t, m) for s, t, m in self.bus.snapshot()
                if t.startswith("ticket.sla_") and m.get("ticket_id") == tid]

    def test_warning_on_time_without_traffic(self):
        t = self.open_ticket("in-1", "+15550003333")
        tid = t["ticket_id"]
        self.assertEqual(t["first_response_due"], t["opened_at"] + MIN_MS)
        self.assertNotIn("resolution_due", t)  # resolution_min 0: no clock
        last = self.bus.contig
        warn = self.wait_event("ticket.sla_warning", tid, tmo(15))
        seq, ev = warn[0]
        # Nothing else happened meanwhile: the timer alone published it.
        self.assertEqual(seq, last + 1)
        late = ev["ts"] - t["opened_at"]
        self.assertGreaterEqual(late, 6000, ev)
        self.assertLessEqual(late, 6000 + LATE_MS, ev)
        self.assertEqual((ev["clock"], ev["due_at"], ev["target_minutes"], ev["target_seconds"]),
                         ("first_response", t["opened_at"] + MIN_MS, 1, 60))
        self.assertEqual((ev["customer_id"], ev["priority"]), (t["customer_id"], "normal"))
        got = self.cmd_ok("ticket.get", id=tid)
        self.assertEqual(got["ticket"]["sla_first_response"], "warning")
        self.assertEqual([e["type"] for e in got["trace"]],
                         ["ticket.created", "ticket.sla_warning"])


class SlaBreach(HelpdeskBase):

    routing = BREACH_SLA

    def sla_events(self, tid):
        return [(s, t, m) for s, t, m in self.bus.snapshot()
                if t.startswith("ticket.sla_") and m.get("ticket_id") == tid]

    def test_breach_close_and_reply_slow(self):
        """About 24 s: the breach itself, and two tickets whose clock stopped."""
        closed = self.open_ticket("in-b", "+15550004444")["ticket_id"]
        replied = self.open_ticket("in-c", "+15550005555")["ticket_id"]
        t = self.open_ticket("in-a", "+15550006666")
        tid = t["ticket_id"]
        res = self.cmd_ok("ticket.close", command_id="close-b", ticket_id=closed)
        self.assertEqual(self.event_at(res["seq"])[1]["sla_first_response"], "stopped")
        p = self.gw.ctl("send", str(replied), "We are on it.", "--json")
        sent = json.loads(p.stdout)
        # The reply joins the ticket (ticket.updated), then stops its clock
        # (another ticket.updated, with first_response_at).
        upd = self.wait_event("ticket.updated", replied, tmo(10), n=2)
        met = [m for s, m in upd if m.get("sla_first_response") == "met"]
        self.assertEqual(len(met), 1, upd)
        etype, msg = self.event_at(sent["seq"])
        self.assertEqual(etype, "message.sent")
        self.assertEqual(met[0]["first_response_at"], msg["ts"])
        # The last ticket opened breaches last: once it has, the others
        # would have too.
        breach = self.wait_event("ticket.sla_breached", tid, tmo(40))
        seq, ev = breach[0]
        late = ev["ts"] - t["opened_at"]
        self.assertGreaterEqual(late, BREACH_MS, ev)
        self.assertLessEqual(late, BREACH_MS + LATE_MS, ev)
        self.assertEqual((ev["clock"], ev["due_at"], ev["target_seconds"]),
                         ("first_response", t["opened_at"] + BREACH_MS, 24))
        self.assertNotIn("target_minutes", ev)  # whole minutes: none
        self.assertEqual([x[1] for x in self.sla_events(tid)],
                         ["ticket.sla_warning", "ticket.sla_breached"])
        self.assertEqual(self.sla_events(closed), [])
        self.assertEqual(self.sla_events(replied), [])
        got = self.cmd_ok("ticket.get", id=tid)
        self.assertEqual(got["ticket"]["sla_first_response"], "breached")
        self.assertEqual([e["type"] for e in got["trace"]],
                         ["ticket.created", "ticket.sla_warning", "ticket.sla_breached"])
        got = self.cmd_ok("ticket.get", id=replied)
        self.assertEqual(got["ticket"]["sla_first_response"], "met")
        self.assertIn("first_response_at", got["ticket"])
        # A reply after the breach: the clock stays breached.
        self.gw.ctl("send", str(tid), "Sorry for the wait.")
        self.bus.wait_for(
            lambda c: any(m.get("first_response_at") for s, m in self.events("ticket.updated", tid)),
            tmo(10), "first_response_at on the breached ticket")
        got = self.cmd_ok("ticket.get", id=tid)
        self.assertEqual(got["ticket"]["sla_first_response"], "breached")


if __name__ == "__main__":
    unittest.main()

"""
Assignment through the running router: queues matched by keyword, language
and channel, the strategies, capacity and waiting tickets, agents going away
and coming back (agent.presence), and the ticket.assign command.

  - a new ticket gets a queue, a priority and an agent: ticket.created, then
    ticket.assigned with the reason in words;
  - an agent at capacity leaves the next ticket waiting; when the agent is
    free again the routing timer hands the ticket over ("agent available");
  - agent.presence away re-assigns the agent's tickets or puts them back to
    waiting; online offers it the waiting ones; the same command id twice is
    one change (duplicate: true); the same presence again changes nothing;
  - ticket.assign forces an agent or moves the ticket to another queue;
  - bad arguments are answered with an error code and a message naming them.
"""

import time
import unittest

import gwtest
from gwtest import GatewayTestCase, IngestClient, inbound_event, message_body, tmo

ROUTING = [
    "  default_queue: general",
    "  queues:",
    "    - name: billing",
    "      keywords: [invoice, refund]",
    "      strategy: least_open",
    "      priority: high",
    "      agents: [alice, bob]",
    "    - name: french",
    "      languages: [fr]",
    "      strategy: round_robin",
    "      agents: [remy]",
    "    - name: whatsapp",
    "      channels: [whatsapp]",
    "      strategy: round_robin",
    "      agents: [carol]",
    "    - name: general",
    "      strategy: round_robin",
    "      agents: [alice, bob]",
    "  agents:",
    "    - id: alice",
    "      name: Alice Martin",
    "      capacity: 5",
    "    - id: bob",
    "      capacity: 5",
    "    - id: carol",
    "      capacity: 1",
    "    - id: remy",
    "      languages: [fr]",
    "    - id: dave",
    "      presence: away",
]

TEXT_FR = ("Bonjour, j'ai commandé une paire de chaussures la semaine dernière et elles ne "
           "sont toujours pas arrivées. Pouvez-vous me dire où est mon colis ?")


class Assign(GatewayTestCase):

    def setUp(self):
        super().setUp()
        self.gw = self.start_gateway(routing_lines=ROUTING)
        self.bus = self.start_consumer(self.gw)
        self.client = self.gw.client()
        self.addCleanup(self.client.close)
        self.ingest = IngestClient(f"tcp://127.0.0.1:{self.gw.ports['ingest']}")
        self.addCleanup(self.ingest.close)

    # helpers

    def post(self, ext, sender, text, subject=None):
        """An API message; returns its ticket id once it is on the bus."""
        r = self.client.post_until_accepted(message_body(ext, sender, "Ana", text=text,
                                                         subject=subject),
                                            time.monotonic() + tmo(15))
        self.assertEqual(r.status, 202, r)
        return self.bus.wait_message(ext)["ticket_id"]

    def whatsapp(self, ext, sender, text):
        self.ingest.send_ok(inbound_event("whatsapp", "15550009999", ext, sender, text))
        return self.bus.wait_message(ext)["ticket_id"]

    def events(self, etype, **match):
        return [m for _, t, m in self.bus.snapshot()
                if t == etype and all(m.get(k) == v for k, v in match.items())]

    def wait_event(self, etype, **match):
        """The first `etype` event whose fields hold `match` (waits for it)."""
        self.bus.wait_for(lambda c: self.events(etype, **match), tmo(15),
                          f"{etype} with {match}")
        return self.events(etype, **match)[0]

    def cmd(self, name, args):
        res, _ = gwtest.command_ok(self.gw.command_ep, name, args)
        if res.get("seq"):
            self.bus.wait_for(lambda c: c.complete_to(res["seq"]), tmo(15),
                              f"the events of {name} {args}")
        return res

    def cmd_error(self, name, args, code, text):
        status, res, _ = gwtest.command(self.gw.command_ep, name, args)
        self.assertEqual(status, "error", f"{name} {args}: {res}")
        self.assertEqual(res.get("code"), code, res)
        self.assertIn(text, res.get("message", ""))
        return res

    def settle(self):
        """Every event committed so far is on the bus (the router's head)."""
        head = self.gw.head()
        self.bus.wait_for(lambda c: c.complete_to(head), tmo(15), f"events up to seq {head}")

    # tests

    def test_queues_strategies_and_reasons(self):
        t1 = self.post("b-1", "+15550000001", "Where is my invoice?")
        created = self.wait_event("ticket.created", ticket_id=t1)
        self.assertEqual(created["queue"], "billing", created)
        self.assertEqual(created["priority"], "high", created)
        a1 = self.wait_event("ticket.assigned", ticket_id=t1)
        self.assertEqual(a1["agent_id"], "alice", a1)
        self.assertEqual(a1["assign_reason"], "least_open: alice has 0 open tickets", a1)
        self.assertGreater(a1["seq"], created["seq"])
        # Keywords ignore case; least open goes to bob now.
        t2 = self.post("b-2", "+15550000002", "I want a REFUND")
        a2 = self.wait_event("ticket.assigned", ticket_id=t2)
        self.assertEqual((a2["queue"], a2["agent_id"]), ("billing", "bob"), a2)
        self.assertEqual(a2["assign_reason"], "least_open: bob has 0 open tickets", a2)
        # Detected language: the French queue.
        t3 = self.post("f-1", "+15550000003", TEXT_FR)
        a3 = self.wait_event("ticket.assigned", ticket_id=t3)
        self.assertEqual((a3["queue"], a3["agent_id"], a3["language"]), ("french", "remy", "fr"),
                         a3)
        self.assertEqual(a3["assign_reason"], "round_robin: next of queue french", a3)
        # Anything else: general, round robin.
        t4 = self.post("g-1", "+15550000004",
                       "Hello, I have a question about the settings of my account.")
        a4 = self.wait_event("ticket.assigned", ticket_id=t4)
        self.assertEqual((a4["queue"], a4["agent_id"]), ("general", "alice"), a4)
        t5 = self.post("g-2", "+15550000005",
                       "Hello, could you please tell me when the shop opens tomorrow?")
        self.assertEqual(self.wait_event("ticket.assigned", ticket_id=t5)["agent_id"], "bob")
        # A second message joins the ticket: no new assignment.
        self.post("g-1b", "+15550000004", "Here are more details about my question.")
        self.settle()
        self.assertEqual(len(self.events("ticket.assigned", ticket_id=t4)), 1)

    def test_capacity_waiting_then_tick(self):
        w1 = self.whatsapp("w-1", "15550000011", "hi on whatsapp")
        a1 = self.wait_event("ticket.assigned", ticket_id=w1)
        self.assertEqual((a1["queue"], a1["agent_id"]), ("whatsapp", "carol"), a1)
        # carol holds one ticket, her capacity: the next one waits.
        w2 = self.whatsapp("w-2", "15550000012", "me too")
        created = self.wait_event("ticket.created", ticket_id=w2)
        self.assertEqual(created["queue"], "whatsapp", created)
        self.assertNotIn("agent_id", created)
        self.assertEqual(created["assign_reason"], "waiting: no agent of queue whatsapp available")
        self.settle()
        self.assertEqual(self.events("ticket.assigned", ticket_id=w2), [])
        # The helpdesk moves carol's ticket to bob: the timer gives her w2.
        res = self.cmd("ticket.assign", {"command_id": "move-1", "ticket_id": w1,
                                         "agent_id": "bob"})
        self.assertEqual(res["agent_id"], "bob", res)
        a2 = self.wait_event("ticket.assigned", ticket_id=w2)
        self.assertEqual(a2["agent_id"], "carol", a2)
        self.assertEqual(a2["cause"], "agent available", a2)

    def test_presence_moves_tickets(self):
        t1 = self.post("p-1", "+15550000021", "Hello")
        t2 = self.post("p-2", "+15550000022", "Hello")
        self.assertEqual(self.wait_event("ticket.assigned", ticket_id=t1)["agent_id"], "alice")
        self.assertEqual(self.wait_event("ticket.assigned", ticket_id=t2)["agent_id"], "bob")
        # alice goes away: her ticket goes to bob.
        args = {"command_id": "pres-1", "agent_id": "alice", "presence": "away"}
        res = self.cmd("agent.presence", args)
        self.assertEqual((res["duplicate"], res["changed"], res["reassigned"]), (False, True, 1),
                         res)
        ev = self.bus.event(res["seq"])
        self.assertEqual(ev[0], "agent.presence", ev)
        self.assertEqual((ev[1]["agent_id"], ev[1]["presence"], ev[1]["cause"]),
                         ("alice", "away", "command pres-1"), ev)
        moved = self.wait_event("ticket.assigned", ticket_id=t1, agent_id="bob")
        self.assertEqual(moved["assign_reason"], "reassigned: alice went away", moved)
        self.assertGreater(moved["seq"], res["seq"])
        # The same command again: the first result, nothing new.
        again = self.cmd("agent.presence", args)
        self.assertEqual((again["duplicate"], again["seq"]), (True, res["seq"]), again)
        # The same presence under a new id: unchanged, nothing emitted or kept.
        same = self.cmd("agent.presence", {"command_id": "pres-2", "agent_id": "alice",
                                           "presence": "away"})
        self.assertEqual((same["changed"], same["duplicate"], same["seq"]), (False, False, 0),
                         same)
        self.settle()
        self.assertEqual(len(self.events("agent.presence", agent_id="alice")), 1)
        # bob goes offline: nobody left, both tickets wait with no agent.
        res = self.cmd("agent.presence", {"command_id": "pres-3", "agent_id": "bob",
                                          "presence": "offline"})
        self.assertEqual(res["reassigned"], 2, res)
        for t in (t1, t2):
            upd = self.wait_event("ticket.updated", ticket_id=t,
                                  cause="bob went offline: waiting in queue general")
            self.assertNotIn("agent_id", upd)
        # alice is back: the waiting tickets are hers.
        res = self.cmd("agent.presence", {"command_id": "pres-4", "agent_id": "alice",
                                          "presence": "online"})
        self.assertEqual((res["changed"], res["assigned"]), (True, 2), res)
        for t in (t1, t2):
            self.wait_event("ticket.assigned", ticket_id=t, agent_id="alice",
                            cause="alice came online")
        # A new ticket: alice is the only one online.
        t3 = self.post("p-3", "+15550000023", "Hello")
        self.assertEqual(self.wait_event("ticket.assigned", ticket_id=t3)["agent_id"], "alice")

    def test_ticket_assign_command(self):
        t = self.post("c-1", "+15550000031", "Hello")
        self.assertEqual(self.wait_event("ticket.assigned", ticket_id=t)["agent_id"], "alice")
        res = self.cmd("ticket.assign", {"command_id": "as-1", "ticket_id": t, "agent_id": "bob"})
        self.assertEqual((res["duplicate"], res["changed"], res["ticket_id"], res["agent_id"],
                          res["queue"]), (False, True, t, "bob", "general"), res)
        ev = self.bus.event(res["seq"])
        self.assertEqual(ev[0], "ticket.assigned", ev)
        self.assertEqual((ev[1]["agent_id"], ev[1]["cause"], ev[1]["assign_reason"]),
                         ("bob", "command as-1", "assigned by command as-1"), ev)
        # Idempotent: the same id answers the first seq and emits nothing.
        again = self.cmd("ticket.assign", {"command_id": "as-1", "ticket_id": t,
                                           "agent_id": "bob"})
        self.assertEqual((again["duplicate"], again["seq"], again["agent_id"]),
                         (True, res["seq"], "bob"), again)
        # Already bob's: unchanged.
        same = self.cmd("ticket.assign", {"command_id": "as-2", "ticket_id": t,
                                          "agent_id": "bob"})
        self.assertEqual((same["changed"], same["seq"]), (False, 0), same)
        self.settle()
        self.assertEqual(len(self.events("ticket.assigned", ticket_id=t, cause="command as-1")),
                         1)
        # Another queue: its strategy picks (least open: alice, who has none now).
        res = self.cmd("ticket.assign", {"command_id": "as-3", "ticket_id": t,
                                         "queue": "billing"})
        self.assertEqual((res["queue"], res["agent_id"]), ("billing", "alice"), res)
        ev = self.bus.event(res["seq"])[1]
        self.assertEqual(ev["assign_reason"], "least_open: alice has 0 open tickets", ev)
        # Forced on an agent who is away: the helpdesk may.
        res = self.cmd("ticket.assign", {"command_id": "as-4", "ticket_id": t,
                                         "agent_id": "dave", "queue": "general"})
        self.assertEqual((res["queue"], res["agent_id"]), ("general", "dave"), res)
        # A queue nobody serves now: the ticket waits (ticket.updated).
        self.cmd("agent.presence", {"command_id": "pres-c", "agent_id": "carol",
                                    "presence": "offline"})
        res = self.cmd("ticket.assign", {"command_id": "as-5", "ticket_id": t,
                                         "queue": "whatsapp"})
        self.assertEqual((res["queue"], res["agent_id"]), ("whatsapp", None), res)
        ev = self.bus.event(res["seq"])
        self.assertEqual(ev[0], "ticket.updated", ev)
        self.assertEqual(ev[1]["cause"], "command as-5: waiting in queue whatsapp", ev)

    def test_closed_ticket_cannot_be_assigned(self):
        t = self.post("x-1", "+15550000041", "Hello")
        status, res, _ = gwtest.command(self.gw.command_ep, "ticket.close",
                                        {"command_id": "close-1", "ticket_id": t})
        self.assertEqual(status, "ok", res)
        self.cmd_error("ticket.assign", {"command_id": "as-x", "ticket_id": t,
                                         "agent_id": "bob"}, "GW_EINVAL", f"ticket {t} is closed")

    def test_bad_arguments(self):
        t = self.post("e-1", "+15550000051", "Hello")
        ep_errors = [
            ("ticket.assign", {"ticket_id": t, "agent_id": "bob"},
             "GW_EMISSING", "command_id: missing"),
            ("ticket.assign", {"command_id": "e1", "agent_id": "bob"},
             "GW_EMISSING", "ticket_id: missing"),
            ("ticket.assign", {"command_id": "e1", "ticket_id": "7", "agent_id": "bob"},
             "GW_ETYPE", "ticket_id: expected a non-negative integer"),
            ("ticket.assign", {"command_id": "e1", "ticket_id": t},
             "GW_EMISSING", "agent_id or queue"),
            ("ticket.assign", {"command_id": "e1", "ticket_id": t, "agent_id": "zed"},
             "GW_ENOTFOUND", "no agent 'zed'"),
            ("ticket.assign", {"command_id": "e1", "ticket_id": t, "queue": "nowhere"},
             "GW_ENOTFOUND", "no queue 'nowhere'"),
            ("ticket.assign", {"command_id": "e1", "ticket_id": 999999, "agent_id": "bob"},
             "GW_ENOTFOUND", "no ticket 999999"),
            ("agent.presence", {"command_id": "e2", "agent_id": "alice", "presence": "busy"},
             "GW_EINVAL", "presence: 'busy' is not one of online, away, offline"),
            ("agent.presence", {"command_id": "e2", "agent_id": "zed", "presence": "away"},
             "GW_ENOTFOUND", "no agent 'zed'"),
            ("agent.presence", {"command_id": "e2", "agent_id": "alice"},
             "GW_EMISSING", "presence: missing"),
        ]
        for name, args, code, text in ep_errors:
            with self.subTest(name=name, args=args):
                self.cmd_error(name, args, code, text)
        # None of them did anything; a failed id may be used again.
        res = self.cmd("ticket.assign", {"command_id": "e1", "ticket_id": t, "agent_id": "bob"})
        self.assertEqual((res["duplicate"], res["agent_id"]), (False, "bob"), res)


if __name__ == "__main__":
    unittest.main()

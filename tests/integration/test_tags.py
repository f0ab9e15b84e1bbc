"""
Tags and priority by rules, and the ticket.tag command, through the
running gateway.

  - routing.tag_rules[]: a keyword rule (on open) tags the ticket and raises
    its priority in ticket.created, with the rule's name in the cause; a
    channel rule tags every ticket of the channel; a language rule tags a
    French ticket; an `on: message` rule tags an open ticket when a later
    message says the word (ticket.updated with the cause, priority raised,
    never lowered);
  - `gatewayctl ticket tag ID +a -b`: ticket.updated with the cause, in
    the ticket's trace, once per command id; bad tags refused;
  - ticket.list filtered by tag.
"""

import json
import time
import unittest

import gwtest
from gwtest import GatewayTestCase, message_body, tmo

ROUTING = [
    "  tag_rules:",
    "    - name: refunds",
    "      keywords: [refund]",
    "      tags: [billing]",
    "      priority: high",
    "    - name: api-channel",
    "      channels: [api]",
    "      tags: [api]",
    "    - name: french",
    "      languages: [fr]",
    "      tags: [lang-fr]",
    "    - name: escalate-words",
    "      on: message",
    "      keywords: [urgent]",
    "      tags: [urgent]",
    "      priority: urgent",
    "    - name: low-words",
    "      on: message",
    "      keywords: [whenever]",
    "      priority: low",
]

TEXT_FR = ("Bonjour, j'ai commandé une paire de chaussures la semaine dernière et elles ne "
           "sont toujours pas arrivées. Pouvez-vous me dire où est mon colis ?")


class Tags(GatewayTestCase):

    def setUp(self):
        super().setUp()
        self.gw = self.start_gateway(routing_lines=ROUTING)
        self.bus = self.start_consumer(self.gw)

    def post(self, ext, sender, text):
        c = self.gw.client()
        try:
            r = c.post_until_accepted(message_body(ext, sender, "Ana", text=text),
                                      time.monotonic() + tmo(15))
        finally:
            c.close()
        self.assertEqual(r.status, 202, r)
        return self.bus.wait_message(ext)

    def ticket_events(self, etype, tid):
        return [(s, m) for s, t, m in self.bus.snapshot()
                if t == etype and m.get("ticket_id") == tid]

    def cmd(self, name, **args):
        status, result, _ = gwtest.command(self.gw.command_ep, name, args)
        return status, result

    def test_rules_and_command(self):
        m = self.post("t-1", "+15550001111", "I want a refund, the parcel arrived broken")
        tid = m["ticket_id"]
        created = self.ticket_events("ticket.created", tid)[0][1]
        self.assertEqual(created["tags"], ["billing", "api"])
        self.assertEqual(created["priority"], "high")
        self.assertIn("tag rules: refunds, api-channel", created["cause"])
        # A later message: `on: message` rules only; `on: open` ones do not
        # run again, a lower priority is not applied.
        m2 = self.post("t-2", "+15550001111", "This is urgent, whenever you can")
        seq2 = self.bus.seqs_of("t-2")[0]
        self.bus.wait_for(lambda c: any(e.get("last_message_seq") == seq2
                                        for s, e in self.ticket_events("ticket.updated", tid)),
                          tmo(10), "ticket.updated")
        upd = [e for s, e in self.ticket_events("ticket.updated", tid)
               if e.get("last_message_seq") == seq2][0]
        self.assertEqual(m2["ticket_id"], tid)
        self.assertEqual(upd["tags"], ["billing", "api", "urgent"])
        self.assertEqual(upd["priority"], "urgent")
        self.assertEqual(upd["cause"], "message t-2 on api; tag rules: escalate-words")
        # A message no rule matches: no cause of rules.
        self.post("t-3", "+15550001111", "Thanks")
        # By hand.
        p = self.gw.ctl("ticket", "tag", str(tid), "+VIP", "-billing", "--command-id", "k1",
                        "--json")
        res = json.loads(p.stdout)
        self.assertEqual((res["tags"], res["duplicate"]), (["api", "urgent", "vip"], False))
        self.bus.wait_for(lambda c: c.complete_to(res["seq"]), tmo(10), "tag event")
        etype, ev = self.bus.event(res["seq"])
        self.assertEqual((etype, ev["cause"]), ("ticket.updated", "command k1: tags +vip -billing"))
        again = json.loads(self.gw.ctl("ticket", "tag", str(tid), "+vip", "-billing",
                                       "--command-id", "k1", "--json").stdout)
        self.assertEqual((again["seq"], again["duplicate"]), (res["seq"], True))
        got = gwtest.command_ok(self.gw.command_ep, "ticket.get", {"id": tid})[0]
        self.assertEqual(got["ticket"]["tags"], ["api", "urgent", "vip"])
        self.assertIn(("ticket.updated", "command k1: tags +vip -billing"),
                      [(e["type"], e.get("cause")) for e in got["trace"]])
        # Nothing to change: answered, no event.
        same = json.loads(self.gw.ctl("ticket", "tag", str(tid), "+vip", "--json").stdout)
        self.assertEqual(same["seq"], 0)
        # Not a tag word: left as an operand, a usage error.
        p = self.gw.ctl("ticket", "tag", str(tid), "+no spaces?", check=False)
        self.assertEqual(p.returncode, 64, p)
        p = self.gw.ctl("ticket", "tag", str(tid), check=False)
        self.assertEqual(p.returncode, 64, p)
        status, r = self.cmd("ticket.tag", command_id="k9", ticket_id=tid, changes="+a/b")
        self.assertEqual((status, r["code"]), ("error", "GW_EINVAL"), r)
        self.assertIn("'a/b' is not a tag", r["message"])
        # The French ticket, and the list by tag.
        fr = self.post("t-4", "+15550002222", TEXT_FR)
        frc = self.ticket_events("ticket.created", fr["ticket_id"])[0][1]
        self.assertEqual(frc["tags"], ["api", "lang-fr"])
        self.assertEqual(frc.get("priority", "normal"), "normal")
        lst = gwtest.command_ok(self.gw.command_ep, "ticket.list", {"tag": "vip"})[0]
        self.assertEqual([t["ticket_id"] for t in lst["tickets"]], [tid])
        lst = gwtest.command_ok(self.gw.command_ep, "ticket.list", {"tag": "api"})[0]
        self.assertEqual([t["ticket_id"] for t in lst["tickets"]], [tid, fr["ticket_id"]])


if __name__ == "__main__":
    unittest.main()

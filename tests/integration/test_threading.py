"""
Threading rules through the running router: messages handed to the ingest
socket as the email and chat connectors hand them over, checked on the bus
(message.received thread_rule, thread_reason, duplicate_of, warnings;
ticket.created) and with the customer.get / ticket.get commands.

  - reply references: an email's In-Reply-To (reply_to, its Message-ID the
    dedup_key) from another mailbox joins the ticket of the message it
    answers; naming another customer's message is ignored with a warning;
  - ticket tokens: "[#T-n]" in the subject joins the sender's ticket n; the
    token of another customer's ticket is ignored with a warning;
  - probable duplicates: the same text on another channel within
    routing.duplicate_window_s joins the first one's ticket, duplicate_of
    set, no second ticket; a repeat on the same channel is no duplicate;
  - scopes: routing.channels[] gives the chat a ticket of its own (scope
    channel) while email stays in the customer's ticket (scope customer);
  - chat resume: a chat message naming its conversation joins the ticket
    the conversation was last in.
Reopening after a close is covered by tests/unit/test_threading.c: closing
a ticket is the helpdesk's ticket.close, not tested here.
"""

import unittest

import gwtest
from gwtest import GatewayTestCase, IngestClient, command_ok, inbound_event, tmo

ANA = "ana@example.com"
BOB = "bob@example.com"
TEXT = "My kettle stopped working after two days, order 5521."


class Threading(GatewayTestCase):

    def setUp(self):
        super().setUp()
        self.gw = self.start_gateway(connectors=False, routing_lines=(
            "  duplicate_window_s: 600",
            "  channels:",
            "    - channel: livechat",
            "      scope: channel",
        ))
        self.bus = self.start_consumer(self.gw)
        self.ingest = IngestClient(f"tcp://127.0.0.1:{self.gw.ports['ingest']}")
        self.addCleanup(self.ingest.close)

    # helpers

    def email(self, msgid, sender, text="Hello, I need help with my order.", account="support",
              subject="Help", reply_to=None):
        """An email as the email connector hands it over; its message.received."""
        ev = inbound_event("email", account, msgid, sender, text, subject=subject,
                           reply_to=reply_to, dedup_key=msgid)
        self.ingest.send_ok(ev)
        return self.bus.wait_message(msgid)

    def chat(self, ext, visitor, text, email=None, resume=False):
        """A chat message of a site-signed user whose `email` the site
        verified (the live-chat connector's site:<id> conversation, where
        the email joins the customer at once; a typed one would be a mere
        claim); its message.received."""
        conv = f"site:{visitor}"
        extra = {"from": {"address": conv, "email": email, "email_verified": True}} if email \
            else {}
        ev = inbound_event("livechat", "site", ext, conv, text,
                           reply_to=[f"chat:{conv}"] if resume else None, **extra)
        self.ingest.send_ok(ev)
        return self.bus.wait_message(ext)

    def tickets_created(self, customer_id):
        return [m["ticket_id"] for _, t, m in self.bus.snapshot()
                if t == "ticket.created" and m["customer_id"] == customer_id]

    def customer(self, customer_id):
        res, _ = command_ok(self.gw.command_ep, "customer.get", {"id": customer_id})
        return res

    def ticket(self, ticket_id):
        res, _ = command_ok(self.gw.command_ep, "ticket.get", {"id": ticket_id})
        return res["ticket"]

    def assertRule(self, m, rule, reason):
        self.assertEqual(m.get("thread_rule"), rule, m)
        self.assertIn(reason, m.get("thread_reason", ""), m)

    # tests

    def test_reply_reference_and_token(self):
        a1 = self.email("a1@mail.example", ANA, subject="Broken kettle")
        tid = a1["ticket_id"]
        self.assertRule(a1, "new_ticket", "new ticket: none before in scope customer")
        # The answer arrives in another mailbox: found by its Message-ID.
        a2 = self.email("a2@mail.example", ANA, account="sales",
                        reply_to=["root@mail.example", "a1@mail.example"])
        self.assertRule(a2, "reply_reference",
                        f"reply_to <a1@mail.example> is message {a1['seq']} of ticket {tid}")
        self.assertEqual(a2["ticket_id"], tid)
        a3 = self.email("a3@mail.example", ANA, subject=f"Re: [#T-{tid}] Broken kettle")
        self.assertRule(a3, "ticket_token",
                        f"subject token [#T-{tid}] names this customer's ticket {tid}")
        self.assertEqual(a3["ticket_id"], tid)

        # Someone else quoting Ana's ids gets a ticket of their own.
        b1 = self.email("b1@mail.example", BOB, subject=f"Re: [#T-{tid}] let me in",
                        reply_to=["a1@mail.example"])
        self.assertNotEqual(b1["customer_id"], a1["customer_id"])
        self.assertNotEqual(b1["ticket_id"], tid)
        self.assertRule(b1, "new_ticket", "new ticket")
        self.assertEqual(b1.get("warnings"), [
            "reply_to names a ticket of another customer, ignored: a1@mail.example",
            f"[#T-{tid}] names a ticket of another customer: ignored"])

        self.assertEqual(self.tickets_created(a1["customer_id"]), [tid])
        self.assertEqual(self.tickets_created(b1["customer_id"]), [b1["ticket_id"]])
        self.assertEqual(self.ticket(tid)["message_count"], 3)

    def test_probable_duplicate_across_channels(self):
        e1 = self.email("d1@mail.example", ANA, text=TEXT)
        tid = e1["ticket_id"]
        # A repeat on the same channel is an ordinary message.
        e2 = self.email("d2@mail.example", ANA, text=TEXT)
        self.assertRule(e2, "open_ticket", f"the customer's open ticket {tid}")
        self.assertNotIn("duplicate_of", e2)
        # The same words on the chat: one request, one ticket.
        c1 = self.chat("v1:c1", "v1", "my kettle stopped working after two days - ORDER 5521",
                       email=ANA)
        self.assertEqual(c1["customer_id"], e1["customer_id"])
        self.assertRule(c1, "probable_duplicate",
                        f"same text as message {e2['seq']} sent on email ")
        self.assertIn(f"(ticket {tid})", c1["thread_reason"])
        self.assertEqual(c1["duplicate_of"], e2["seq"])
        self.assertEqual(c1["ticket_id"], tid)

        self.assertEqual(self.tickets_created(e1["customer_id"]), [tid])
        t = self.ticket(tid)
        self.assertEqual(t["duplicate_count"], 1)
        self.assertEqual(sorted(t["channels"]), ["email", "livechat"])
        self.assertEqual(t["message_count"], 3)

    def test_scope_per_channel_and_chat_resume(self):
        e1 = self.email("s1@mail.example", ANA, text="first, by email")
        cid = e1["customer_id"]
        # The chat's scope is its channel: a ticket of its own.
        c1 = self.chat("v2:c1", "v2", "hello from the chat", email=ANA, resume=True)
        self.assertEqual(c1["customer_id"], cid)
        self.assertRule(c1, "new_ticket", "new ticket: none before in scope channel, livechat")
        self.assertNotEqual(c1["ticket_id"], e1["ticket_id"])
        # Each channel goes on in its own ticket.
        e2 = self.email("s2@mail.example", ANA, text="more, by email")
        self.assertRule(e2, "open_ticket",
                        f"the customer's open ticket {e1['ticket_id']} (scope customer)")
        # The conversation resumes its ticket.
        c2 = self.chat("v2:c2", "v2", "still there?", resume=True)
        self.assertRule(c2, "reply_reference",
                        f"chat conversation site:v2 was last in ticket {c1['ticket_id']} "
                        f"(message {c1['seq']})")
        c3 = self.chat("v2:c3", "v2", "no resume marker")
        self.assertRule(c3, "open_ticket",
                        f"the customer's open ticket {c1['ticket_id']} (scope channel, livechat)")

        self.assertEqual(sorted(self.tickets_created(cid)),
                         sorted([e1["ticket_id"], c1["ticket_id"]]))
        c = self.customer(cid)["customer"]
        self.assertEqual(c["open_ticket_id"], e1["ticket_id"])
        self.assertEqual(c["open_tickets"], [{"ticket_id": c1["ticket_id"],
                                              "channel": "livechat",
                                              "at": c["open_tickets"][0]["at"]}])
        self.assertEqual(self.ticket(c1["ticket_id"])["scope"], "channel")
        self.assertEqual(self.ticket(e1["ticket_id"])["scope"], "customer")


if __name__ == "__main__":
    unittest.main()

"""
One customer across channels, through the running gateway.

Messages of any channel are handed to the router's ingest socket the way
connectors do (gwtest.IngestClient); the contact directory is imported and
customers are merged with gatewayctl.

  - after `gatewayctl contacts import` of a CSV directory, the same person
    writing by email and then on WhatsApp is ONE customer from the first
    message (no customer.created); importing the file again changes nothing;
  - a chat visitor's pre-chat email is a claim: it never files the chat
    under the customer of that address (a new customer, flagged a probable
    match of it, shown with the merge to consider by `gatewayctl
    customer`); an unknown one makes a customer with a claimed email, which
    yields to the real owner's mail (the owner's own customer takes it, the
    visitor is flagged);
  - the claimed-email visitor end to end over the live-chat websocket: the
    chat is not in the known customer's ticket, replies to the known
    customer do not reach the visitor, the probable match is published;
    a site-signed identity's email joins the known customer at once;
  - `gatewayctl customer merge` moves identities and tickets
    (customer.merged on the bus, customer.get shows the tickets) and mail
    from either identity lands with the target; `customer unmerge` undoes
    it, and twice is an error;
  - an import with a conflict and an invalid row reports both with their
    line and exits 1; JSONL imports; gatewayctl's exit codes.
"""

import hashlib
import hmac
import json
import os
import unittest
import uuid

import gwtest
from gwtest import GatewayTestCase, IngestClient, inbound_event, tmo

try:
    import websocket  # Debian's python3-websocket
except ImportError:  # pragma: no cover - scripts/setup-tests.sh installs it
    websocket = None

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                        "contacts")
CSV = os.path.join(FIXTURES, "directory.csv")
JSONL = os.path.join(FIXTURES, "directory.jsonl")


class Identity(GatewayTestCase):

    def setUp(self):
        super().setUp()
        self.gw = self.start_gateway()
        self.ingest = IngestClient(f"tcp://127.0.0.1:{self.gw.ports['ingest']}")
        self.addCleanup(self.ingest.close)
        self.bus = self.start_consumer(self.gw)

    # helpers

    def send(self, channel, ext, sender, email=None, name=None):
        """Ingests a message.received; returns its routed map from the bus."""
        self.ingest.send_ok(inbound_event(channel, channel + "-acct", ext, sender,
                                          f"text of {ext}", name=name, email=email))
        return self.bus.wait_message(ext)

    def events_between(self, first, last, types=None):
        self.bus.wait_for(lambda c: c.complete_to(last), tmo(10), f"events up to {last}")
        return [(s, t, m) for s, t, m in self.bus.snapshot()
                if first <= s <= last and (types is None or t in types)]

    def customer(self, cid):
        res, _ = gwtest.command_ok(self.gw.command_ep, "customer.get", {"id": cid})
        return res

    def import_file(self, path, *extra, check=True):
        return self.gw.ctl("contacts", "import", path, *extra, check=check)

    def imported_customer(self, ref):
        """The customer_id of the customer created for directory ref `ref`."""
        for _, t, m in self.bus.snapshot():
            if t in ("customer.created", "customer.updated") and m.get("external_ref") == ref:
                return m["customer_id"]
        raise AssertionError(f"no customer event with external_ref {ref!r}")

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    # tests

    def test_imported_contact_is_one_customer_on_every_channel(self):
        p = self.import_file(CSV)
        self.assertIn("3 contacts in 1 requests: 3 created, 0 updated", p.stdout)
        head = self.gw.head()
        self.bus.wait_for(lambda c: c.complete_to(head), tmo(10), "the import's events")
        ana = self.imported_customer("crm-1")
        created = [m for _, t, m in self.bus.snapshot() if t == "customer.created"]
        self.assertEqual(len(created), 3, created)
        rec = next(m for m in created if m["customer_id"] == ana)
        self.assertEqual(rec["name"], "Ana Lima")
        self.assertEqual(rec["language"], "fr")
        self.assertEqual(rec["attributes"], ["city=Lyon", "tier=gold"])
        kinds = {(i["kind"], i["address"]) for i in rec["identities"]}
        self.assertIn(("email", "ana.lima@example.com"), kinds)
        self.assertIn(("phone", "+33612345678"), kinds)
        self.assertTrue(all(i["verified"] and i["source"] == "import"
                            for i in rec["identities"]), rec)

        # Her first email and her first WhatsApp message: the same customer.
        m1 = self.send("email", "<a1@example.com>", "ana.lima@EXAMPLE.com")
        m2 = self.send("whatsapp", "wamid.a1", "33612345678")
        self.assertEqual(m1["customer_id"], ana)
        self.assertEqual(m2["customer_id"], ana)
        news = self.events_between(head + 1, m2["seq"], ("customer.created",))
        self.assertEqual(news, [], "no customer was created for Ana's messages")
        # Bo's WhatsApp number from the directory ("+49 151 ...") is his wa_id.
        bo = self.send("whatsapp", "wamid.b1", "4915112345678")
        self.assertEqual(bo["customer_id"], self.imported_customer("crm-2"))
        # The customer record lists what the messages added, verified.
        cust = self.customer(ana)["customer"]
        kinds = {(i["kind"], i["address"]): i for i in cust["identities"]}
        self.assertEqual(kinds[("whatsapp", "33612345678")]["source"], "message")

        # The same file again: every request was done before; nothing new.
        head = self.gw.head()
        p = self.import_file(CSV, "--json")
        out = json.loads(p.stdout)
        self.assertEqual(out["duplicates"], 1, out)
        self.assertEqual(out["created"] + out["updated"], 0, out)
        self.assertEqual(self.gw.head(), head)

    def test_prechat_email_is_a_claim(self):
        dee = self.send("email", "<d1@example.com>", "dee@example.com")
        chat = self.send("livechat", "lc-1", "visitor:v1", email="Dee@Example.com")
        # Not Dee: a customer of its own, in a ticket of its own.
        self.assertNotEqual(chat["customer_id"], dee["customer_id"])
        self.assertNotEqual(chat["ticket_id"], dee["ticket_id"])
        created = self.events_between(dee["seq"] + 1, chat["seq"], ("customer.created",))
        self.assertEqual(len(created), 1, created)
        rec = created[0][2]
        self.assertEqual(rec["customer_id"], chat["customer_id"])
        self.assertEqual(rec["probable_match"], dee["customer_id"])
        self.assertIn("email dee@example.com: claimed here", rec["probable_match_reason"])
        ids = {(i["kind"], i["address"]) for i in rec["identities"]}
        self.assertEqual(ids, {("livechat", "visitor:v1")})
        # Dee is untouched: no customer.updated, her address verified.
        self.assertEqual(self.events_between(dee["seq"] + 1, chat["seq"],
                                             ("customer.updated",)), [])
        got = self.customer(dee["customer_id"])
        self.assertNotIn("probable_match", got["customer"])
        self.assertEqual([t["ticket_id"] for t in got["tickets"]], [dee["ticket_id"]])
        self.assertEqual(got["tickets"][0]["message_count"], 1)
        # gatewayctl shows the match and the merge to consider.
        p = self.gw.ctl("customer", str(chat["customer_id"]))
        self.assertIn(f"probable match: customer {dee['customer_id']}", p.stdout)
        self.assertIn(f"gatewayctl customer merge {chat['customer_id']} {dee['customer_id']}",
                      p.stdout)

        # An address nobody has: a new customer, the address only claimed.
        new = self.send("livechat", "lc-2", "visitor:v2", email="fay@example.com")
        self.assertNotEqual(new["customer_id"], dee["customer_id"])
        cust = self.customer(new["customer_id"])["customer"]
        ids = {(i["kind"], i["address"]): i for i in cust["identities"]}
        self.assertFalse(ids[("email", "fay@example.com")].get("verified", False))
        self.assertEqual(ids[("email", "fay@example.com")]["source"], "claim")
        # Fay's own mail: her own customer takes the address; the visitor
        # keeps its chat and is flagged a probable match of her.
        fay = self.send("email", "<f1@example.com>", "fay@example.com")
        self.assertNotEqual(fay["customer_id"], new["customer_id"])
        upd = self.events_between(new["seq"] + 1, fay["seq"], ("customer.updated",))
        self.assertEqual([m["customer_id"] for _, _, m in upd], [new["customer_id"]])
        self.assertEqual(upd[0][2]["probable_match"], fay["customer_id"])
        self.assertNotIn("email", {i["kind"] for i in upd[0][2]["identities"]})
        cust = self.customer(fay["customer_id"])["customer"]
        ids = {(i["kind"], i["address"]): i for i in cust["identities"]}
        self.assertTrue(ids[("email", "fay@example.com")]["verified"])
        self.assertEqual(self.send("email", "<f2@example.com>", "fay@example.com")
                         ["customer_id"], fay["customer_id"])
        self.assertEqual(self.customer(new["customer_id"])["customer"]["message_count"], 1)

    def test_merge_and_unmerge(self):
        s1 = self.send("email", "<s1@example.com>", "sam@example.com")
        t1 = self.send("whatsapp", "wamid.t1", "33781234567")
        src, dst = s1["customer_id"], t1["customer_id"]
        self.assertNotEqual(src, dst)

        p = self.gw.ctl("customer", "merge", str(src), str(dst), "--command-id", "mg-1",
                        "--json")
        res = json.loads(p.stdout)
        merge_id = res["merge_id"]
        self.assertFalse(res["duplicate"])
        self.bus.wait_for(lambda c: c.complete_to(res["seq"] + 3), tmo(10), "merge events")
        t, merged = self.bus.event(res["seq"])
        self.assertEqual(t, "customer.merged")
        self.assertEqual((merged["source_customer_id"], merged["target_customer_id"]),
                         (src, dst))
        self.assertEqual([x["ticket_id"] for x in merged["tickets"]], [s1["ticket_id"]])
        self.assertIn({"kind": "email", "address": "sam@example.com", "source": "message",
                       "verified": True}, merged["identities"])
        moved = [m for _, t, m in self.events_between(res["seq"], res["seq"] + 3)
                 if t == "ticket.updated"]
        self.assertEqual(moved[0]["cause"], f"merged into customer {dst}")
        got = self.customer(dst)
        self.assertEqual({x["ticket_id"] for x in got["tickets"]},
                         {s1["ticket_id"], t1["ticket_id"]})
        self.assertEqual(self.customer(src)["customer"]["merged_into"], dst)

        # Either identity now writes to the target.
        self.assertEqual(self.send("email", "<s2@example.com>", "sam@example.com")
                         ["customer_id"], dst)
        self.assertEqual(self.send("whatsapp", "wamid.t2", "33781234567")["customer_id"], dst)

        # The same command id: done before. Another merge of the source: refused.
        p = self.gw.ctl("customer", "merge", str(src), str(dst), "--command-id", "mg-1")
        self.assertIn(f"merge {merge_id}", p.stdout)
        self.assertIn("done before", p.stdout)
        p = self.gw.ctl("customer", "merge", str(src), str(dst), check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("merged into", p.stderr)
        p = self.gw.ctl("customer", "merge", "999", str(dst), check=False)
        self.assertEqual(p.returncode, 4, p.stderr)

        # Unmerge: the source is itself again.
        p = self.gw.ctl("customer", "unmerge", str(merge_id), "--json")
        res = json.loads(p.stdout)
        self.bus.wait_for(lambda c: c.complete_to(res["seq"]), tmo(10), "unmerge event")
        self.assertEqual(self.bus.event(res["seq"])[0], "customer.unmerged")
        got = self.customer(src)
        self.assertEqual(got["customer"].get("merged_into", 0), 0)
        self.assertEqual([x["ticket_id"] for x in got["tickets"]], [s1["ticket_id"]])
        self.assertEqual(self.send("email", "<s3@example.com>", "sam@example.com")
                         ["customer_id"], src)
        p = self.gw.ctl("customer", "unmerge", str(merge_id), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("undone already", p.stderr)

    def test_import_conflicts_invalid_rows_and_jsonl(self):
        self.import_file(CSV)
        # Line 3: not an address; line 4: Ana's email and Cy's phone (a
        # conflict: the phone stays Cy's); line 5: a new contact.
        bad = self.write("more.csv",
                         "id,name,email,phone\n"
                         "crm-9,Zed,zed@example.com,\n"
                         "crm-10,Nope,not-an-email,\n"
                         "crm-11,Ana L.,ana.lima@example.com,+1 415 555 0100\n"
                         "crm-12,Gus,,+33 6 99 99 99 99\n")
        p = self.import_file(bad, check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(f"{bad}:3: ref crm-10: email: 'not-an-email' is not a valid email "
                      "address", p.stderr)
        cy = self.imported_customer("crm-3")
        self.assertIn(f"{bad}:4: ref crm-11: phone +14155550100 belongs to customer {cy}: "
                      "not moved", p.stderr)
        self.assertIn("4 contacts in 1 requests: 2 created, 1 updated, 0 unchanged, "
                      "1 conflicts, 1 invalid", p.stdout)

        p = self.import_file(JSONL)
        self.assertIn("2 contacts in 1 requests: 2 created", p.stdout)
        self.assertEqual(self.send("telegram", "tg-1", "70001")["customer_id"],
                         self.imported_customer("crm-4"))

        # A CSV row with too few fields and a broken quote, and a JSONL line
        # that is not JSON: reported with their line, the rest imported.
        short = self.write("short.csv", "ref,email\ncrm-20\ncrm-21,h@example.com\n")
        p = self.import_file(short, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"{short}:2: 1 fields, the header has 2", p.stderr)
        self.assertIn("1 contacts in 1 requests: 1 created", p.stdout)
        broken = self.write("broken.csv", "ref,email\n\"crm-30,i@example.com\n")
        p = self.import_file(broken, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"{broken}:2:", p.stderr)
        lines = self.write("lines.jsonl", '{"ref": "crm-40", "emails": ["j@example.com"]}\n'
                           "{oops\n")
        p = self.import_file(lines, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"{lines}:2: not JSON", p.stderr)

        # Usage and files.
        p = self.import_file(self.write("x.txt", "ref\n"), check=False)
        self.assertEqual(p.returncode, 64, p.stderr)
        p = self.import_file(os.path.join(self.tmp, "missing.csv"), check=False)
        self.assertEqual(p.returncode, 1)
        p = self.gw.ctl("customer", "merge", "1", check=False)
        self.assertEqual(p.returncode, 64)
        p = self.gw.ctl("contacts", check=False)
        self.assertEqual(p.returncode, 64)
        self.assertIn("needs a subcommand", p.stderr)


# --- the claimed-email visitor, over the live-chat websocket ----------------------

CHAT_SECRET = "identity-chat-secret-0123456789"
SITE_SECRET = "identity-site-secret-0123456789"
DEE = "dee@example.com"


class Chat:
    """One visitor's websocket, as the widget speaks (docs/channels/livechat.md)."""

    def __init__(self, port, identity=None):
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{port}/chat", subprotocols=["gateway-chat"],
            origin=f"http://127.0.0.1:{port}", timeout=tmo(10))
        self.frames = []
        hello = {"type": "hello", "token": None, "last_seen": None}
        if identity:
            hello["identity"] = identity
        self.ws.send(json.dumps(hello))
        self.welcome = self.next(lambda f: f.get("type") == "welcome", "welcome")

    def close(self):
        self.ws.close()

    def next(self, pred, what):
        """The next frame pred accepts; errors fail (recv times out)."""
        while True:
            f = json.loads(self.ws.recv())
            self.frames.append(f)
            if f.get("type") == "error":
                raise AssertionError(f"error frame while waiting for {what}: {f}")
            if pred(f):
                return f

    def say(self, text, email=None):
        """Sends a message; returns its external_id once acknowledged."""
        cid = str(uuid.uuid4())
        frame = {"type": "message", "client_id": cid, "text": text, "name": "Visitor"}
        if email:
            frame["email"] = email
        self.ws.send(json.dumps(frame))
        self.next(lambda f: f.get("type") == "ack" and f.get("client_id") == cid, "ack")
        return f"{self.welcome['visitor']}:{cid}"

    def replies(self):
        return [f["text"] for f in self.frames
                if f.get("type") == "message" and f.get("direction") == "out"]


def site_identity(uid, email, name):
    sig = hmac.new(SITE_SECRET.encode(), f"{uid}|{email}|{name}".encode(),
                   hashlib.sha256).hexdigest()
    return {"id": uid, "email": email, "name": name, "sig": sig}


class ClaimedEmailVisitor(GatewayTestCase):

    def setUp(self):
        super().setUp()
        if websocket is None:
            self.skipTest("python3-websocket is missing (scripts/setup-tests.sh installs it)")
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = gwtest.Gateway(root)
        (self.chat_port,) = gwtest.free_ports(1)
        with open(gw.config_path, "a", encoding="utf-8") as f:
            f.write("\n".join([
                "  - name: chat", "    type: livechat", "    enabled: true",
                f"    listen: \"127.0.0.1:{self.chat_port}\"",
                "    secret: ${GATEWAY_LIVECHAT_SECRET}",
                "    identity_secret: ${GATEWAY_LIVECHAT_IDENTITY_SECRET}",
            ]) + "\n")
        gw.env.update(GATEWAY_LIVECHAT_SECRET=CHAT_SECRET,
                      GATEWAY_LIVECHAT_IDENTITY_SECRET=SITE_SECRET)
        gw.connectors.append("chat")
        self.gw = self.run_gateway(gw)
        self.ingest = IngestClient(f"tcp://127.0.0.1:{gw.ports['ingest']}")
        self.addCleanup(self.ingest.close)
        self.bus = self.start_consumer(gw)

    def chat(self, identity=None):
        c = Chat(self.chat_port, identity)
        self.addCleanup(c.close)
        return c

    def reply(self, ticket_id, text, *extra, check=True):
        return self.gw.ctl("send", str(ticket_id), text, *extra, "--json", check=check)

    def test_claimed_email_visitor(self):
        # Dee is known: she wrote by email and has an open ticket.
        self.ingest.send_ok(inbound_event("email", "support", "<dee-1@example.com>", DEE,
                                          "My order 7781 never came."))
        dee = self.bus.wait_message("<dee-1@example.com>")

        # A visitor types Dee's address in the pre-chat form.
        visitor = self.chat()
        ext = visitor.say("Hi, where is order 7781? Tell me everything.", email="Dee@Example.com")
        msg = self.bus.wait_message(ext)
        self.assertNotEqual(msg["customer_id"], dee["customer_id"])
        self.assertNotEqual(msg["ticket_id"], dee["ticket_id"])
        self.assertEqual(msg["from"]["email"], "Dee@Example.com")
        self.assertNotIn("email_verified", msg["from"])
        # The probable match is published: the visitor's customer.created.
        rec = next(m for _, t, m in self.bus.snapshot()
                   if t == "customer.created" and m["customer_id"] == msg["customer_id"])
        self.assertEqual(rec["probable_match"], dee["customer_id"])
        # Dee's ticket holds her message only.
        res, _ = gwtest.command_ok(self.gw.command_ep, "ticket.get", {"id": dee["ticket_id"]})
        self.assertEqual([m["channel"] for m in res["messages"]], ["email"])
        self.assertEqual(res["ticket"]["message_count"], 1)

        # Replies to Dee go to Dee: by her ticket, by her customer, and not
        # on the chat (she never wrote there).
        sent = json.loads(self.reply(dee["ticket_id"], "Order 7781 left today.").stdout)
        self.assertEqual(sent["channel"], "email")
        self.bus.wait_for(lambda c: c.complete_to(sent["seq"]), tmo(10), "the reply")
        t, m = self.bus.event(sent["seq"])
        self.assertEqual((t, m["to"]["address"]), ("message.sent", DEE))
        res, _ = gwtest.command_ok(self.gw.command_ep, "message.send", {
            "command_id": "to-dee-by-customer", "customer_id": dee["customer_id"],
            "text": "Anything else about 7781?"})
        self.assertEqual(res["channel"], "email")
        p = self.reply(dee["ticket_id"], "Order 7781 details", "--channel", "livechat",
                       check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)

        # The visitor gets the replies to its own ticket, and only those.
        self.reply(msg["ticket_id"], "Hello! Who are you?")
        visitor.next(lambda f: f.get("type") == "message" and f.get("direction") == "out",
                     "the reply to the visitor's ticket")
        self.assertEqual(visitor.replies(), ["Hello! Who are you?"])

        # Dee herself, signed in on the site: her email is verified by the
        # site and her chat joins her at once, in her open ticket.
        site = self.chat(site_identity("u42", DEE, "Dee"))
        self.assertEqual(site.welcome["conversation"], "site:u42")
        ext = site.say("It's me, Dee: any news on 7781?")
        mine = self.bus.wait_message(ext)
        self.assertEqual(mine["customer_id"], dee["customer_id"])
        self.assertEqual(mine["ticket_id"], dee["ticket_id"])
        self.assertTrue(mine["from"]["email_verified"])
        cust = self.bus.snapshot()
        self.assertFalse([m for _, t, m in cust if t == "customer.created"
                          and m["customer_id"] not in (dee["customer_id"],
                                                       msg["customer_id"])])
        got = self.gw.ctl("customer", str(msg["customer_id"])).stdout
        self.assertIn(f"gatewayctl customer merge {msg['customer_id']} {dee['customer_id']}",
                      got)


if __name__ == "__main__":
    unittest.main()

"""
The email channel end to end against a real Dovecot (dovecot.py): the real
gatewayd with the API connector and one or two email connectors reading
IMAP mailboxes on loopback; mail appended over IMAP or dropped into the
Maildir; events watched on the bus, flags and folders read back over IMAP,
the quarantine through gatewayctl.

Covers: fields of message.received, \\Seen only once durable (router
paused), after: move, restart without re-ingest and with catch-up,
UIDVALIDITY change, one email in two mailboxes, auto-reply and bounce,
mailing-list posts, a bounce of the gateway's reply joining its ticket,
malformed MIME fetched over IMAP, own address, quarantine (no sender, over max_message_bytes) and reingest,
SIGKILL mid-mailbox (GW_IT_EMAIL_BURST messages, default 2000), IDLE,
STARTTLS and implicit TLS with a CA file, check() refusals.
"""

import email.message
import email.policy
import json
import os
import signal
import subprocess
import time
import unittest

import dovecot
import gwtest
import integ
from gwtest import GatewayTestCase, tmo

BURST = int(os.environ.get("GW_IT_EMAIL_BURST", "2000"))


def make_msg(mid, frm="Bob Smith <bob@example.com>", to="support@acme.test", subject=None,
             body=None, headers=(), size_pad=0):
    """An RFC 5322 message (bytes, CRLF) with Message-ID <mid>."""
    lines = []
    if frm is not None:
        lines.append(f"From: {frm}")
    lines += [f"To: {to}", f"Subject: {subject if subject is not None else 'about ' + mid}",
              f"Message-ID: <{mid}>", "Date: Mon, 23 Nov 2026 06:40:00 +0000",
              "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    lines += list(headers)
    text = body if body is not None else f"text of {mid}"
    if size_pad:
        text += "\r\n" + "\r\n".join("x" * 76 for _ in range(size_pad // 78 + 1))
    return ("\r\n".join(lines) + "\r\n\r\n" + text + "\r\n").encode()


def bounce_msg(mid):
    return (f"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
            f"To: support@acme.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"Message-ID: <{mid}>\r\nReturn-Path: <>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n"
            f"\r\n--b1\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
            f"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; "
            f"mx.example.com\r\n\r\nFinal-Recipient: rfc822; nobody@example.com\r\n"
            f"Action: failed\r\nStatus: 5.1.1\r\n\r\n--b1--\r\n").encode()


class EmailTestCase(GatewayTestCase):
    """A Dovecot with users, and a gatewayd reading their mailboxes."""

    users = {"alice": "alice-pw", "bob": "bob-pw"}
    tls = False

    def setUp(self):
        super().setUp()
        dovecot.skip_unless_available()
        root = os.path.join(self.tmp, "dovecot")
        os.makedirs(root)
        self.dc = dovecot.Dovecot(root, self.users, tls=self.tls)
        self.addCleanup(self._stop_dovecot)
        self.dc.start()
        self.gw = None

    def _stop_dovecot(self):
        self.dc_log = self.dc.log_tail()
        self.dc.stop()

    def _print_logs(self):
        super()._print_logs()
        dc = getattr(self, "dc", None)
        if dc is not None:
            print("--- dovecot log ---\n" + (getattr(self, "dc_log", "") or dc.log_tail()))

    def email_lines(self, name, user, after="seen", url=None, extra=()):
        url = url or f"imap://127.0.0.1:{self.dc.port}/INBOX"
        lines = [f"  - name: {name}", "    type: email", "    enabled: true",
                 f"    url: \"{url}\"", f"    username: {user}",
                 f"    password: ${{GW_MAIL_PW_{user.upper()}}}",
                 "    tls: none" if url.startswith("imap://") and not self.tls else "",
                 f"    after: {after}", "    poll_interval_ms: 1000"]
        extra = gwtest.with_sender_limits_off(extra)
        keys = {x.split(":", 1)[0] for x in extra}
        lines = [x for x in lines if x and x.strip().split(":", 1)[0] not in keys]
        return lines + ["    " + x for x in extra]

    def start_email_gateway(self, instances=None, sub="gw", gw=None, integration=False):
        """instances: [(name, user, after, extra_lines)]; default one 'mail' on
        alice. integration: with the integration API (integ.IntegGateway)."""
        instances = instances or [("mail", "alice", "seen", ())]
        if gw is None:
            root = os.path.join(self.tmp, sub)
            os.makedirs(root, exist_ok=True)
            gw = integ.IntegGateway(root) if integration else gwtest.Gateway(root)
            lines = []
            for name, user, after, extra in instances:
                lines += self.email_lines(name, user, after, extra=extra)
                gw.connectors.append(name)
            integ.add_connector_lines(gw, lines)
            for user, pw in self.users.items():
                gw.env[f"GW_MAIL_PW_{user.upper()}"] = pw
            self._gateways.append(gw)
            self.addCleanup(gw.check_health)
            self.addCleanup(gw.cleanup)
        gw.start()
        self.gw = gw
        return gw

    # helpers

    def received(self, consumer):
        """external_id -> [event map] of every message.received seen."""
        out = {}
        for _, t, m in consumer.snapshot():
            if t == "message.received":
                out.setdefault(m["external_id"], []).append(m)
        return out

    def wait_all(self, consumer, ids, timeout=None):
        ids = list(ids)
        consumer.wait_for(lambda c: all(c.has(i) for i in ids), timeout or tmo(30),
                          f"{len(ids)} messages on the bus")

    def assert_once(self, consumer, ids):
        got = self.received(consumer)
        for i in ids:
            self.assertEqual(len(got.get(i, [])), 1, f"{i}: {len(got.get(i, []))} events")

    def wait_seen(self, user, n, mailbox="INBOX"):
        def ok():
            fl = self.dc.flags(user, mailbox)
            return len(fl) >= n and all("\\Seen" in f for f in fl.values())
        gwtest.wait_until(ok, tmo(20), f"{n} messages of {user} flagged \\Seen",
                          interval=0.1, on_fail=lambda: repr(self.dc.flags(user, mailbox)))

    def email_log(self):
        out = ""
        for p in self.gw.log_paths():
            with open(p, "r", encoding="utf-8", errors="replace") as f:
                out += f.read()
        return out

    def instance_status(self, name):
        return gwtest.read_json_file(self.gw.run_file(name)) or {}


class TestEmailIngest(EmailTestCase):

    def test_fields_once_and_seen(self):
        raw = make_msg("first@example.com", frm="=?UTF-8?Q?Jos=C3=A9?= <jose@example.com>",
                       subject="=?UTF-8?B?T2zDoQ==?=", body="Hello there",
                       headers=["Cc: Ops <ops@acme.test>", "In-Reply-To: <earlier@acme.test>"])
        self.dc.append("alice", raw)
        self.dc.append("alice", make_msg("second@example.com"))
        self.start_email_gateway()
        c = self.start_consumer(self.gw)
        self.wait_all(c, ["first@example.com", "second@example.com"])
        m = c.received("first@example.com")
        self.assertEqual(m["channel"], "email")
        self.assertEqual(m["account"], "mail")
        self.assertEqual(m["from"]["address"], "jose@example.com")
        self.assertEqual(m["from"].get("name"), "José")
        self.assertEqual(m["subject"], "Olá")
        self.assertIn("Hello there", m["text"])
        self.assertEqual(m["dedup_key"], "first@example.com")
        self.assertIn("earlier@acme.test", m.get("reply_to", []))
        roles = {(r["address"], r["role"]) for r in m.get("recipients", [])}
        self.assertIn(("support@acme.test", "to"), roles)
        self.assertIn(("ops@acme.test", "cc"), roles)
        self.assertGreater(m["ticket_id"], 0)
        self.wait_seen("alice", 2)
        # Mail that arrives while it runs (IDLE or the next check).
        self.dc.append("alice", make_msg("third@example.com"))
        c.wait_message("third@example.com", tmo(15))
        self.wait_seen("alice", 3)
        self.assert_once(c, ["first@example.com", "second@example.com", "third@example.com"])

    def test_seen_only_once_durable(self):
        """With the router paused, messages are flagged only once they are in
        the connector's spool; all of them reach the bus once it resumes."""
        self.start_email_gateway()
        c = self.start_consumer(self.gw)
        router = self.gw.child_pid("router")
        os.kill(router, signal.SIGSTOP)
        try:
            ids = [f"paused-{i}@example.com" for i in range(5)]
            for i in ids:
                self.dc.append("alice", make_msg(i))
            self.wait_seen("alice", 5)
            st = self.instance_status("mail")
            out = st.get("counters", {}).get("outbox", {})
            gwtest.wait_until(lambda: (self.instance_status("mail").get("counters", {})
                                       .get("outbox", {}).get("committed", 0) >= 5),
                              tmo(10), "5 committed in the connector's spool")
            self.assertFalse(any(c.has(i) for i in ids), f"router paused, yet {out}")
        finally:
            os.kill(router, signal.SIGCONT)
        self.wait_all(c, ids)
        self.assert_once(c, ids)

    def test_after_move(self):
        ids = [f"mv-{i}@example.com" for i in range(3)]
        for i in ids:
            self.dc.append("alice", make_msg(i))
        self.start_email_gateway([("mail", "alice", "move", ("move_to: Archive",))])
        c = self.start_consumer(self.gw)
        self.wait_all(c, ids)
        gwtest.wait_until(lambda: self.dc.count("alice") == 0 and
                          self.dc.count("alice", "Archive") == 3, tmo(15),
                          "the 3 messages moved to Archive")
        self.assert_once(c, ids)

    def test_restart_no_reingest_and_catch_up(self):
        ids = [f"r-{i}@example.com" for i in range(3)]
        for i in ids:
            self.dc.append("alice", make_msg(i))
        gw = self.start_email_gateway()
        c = self.start_consumer(gw)
        self.wait_all(c, ids)
        self.wait_seen("alice", 3)
        head = gw.head()
        c.stop()
        self.assertEqual(gw.stop(), 0)
        # While it is down: new mail, and the old mail loses \Seen (no date
        # window, no flag decides what is read: only the UID).
        late = [f"late-{i}@example.com" for i in range(2)]
        for i in late:
            self.dc.append("alice", make_msg(i))
        imap = self.dc.imap("alice")
        imap.select("INBOX")
        imap.uid("STORE", "1:3", "-FLAGS", "(\\Seen)")
        imap.logout()
        self.start_email_gateway(gw=gw)
        c2 = self.start_consumer(gw)
        self.wait_all(c2, ids + late)
        self.assert_once(c2, ids + late)
        events = [e for e in gw.replay_all(head + 1) if e[1] == "message.received"]
        self.assertEqual(sorted(e[2]["external_id"] for e in events), sorted(late))

    def test_uidvalidity_change(self):
        ids = [f"v-{i}@example.com" for i in range(2)]
        for i in ids:
            self.dc.append("alice", make_msg(i))
        gw = self.start_email_gateway()
        c = self.start_consumer(gw)
        self.wait_all(c, ids)
        old = self.dc.uidvalidity("alice")
        c.stop()
        self.assertEqual(gw.stop(), 0)
        time.sleep(1.1)  # UIDVALIDITY is a time in seconds: make the next one differ
        self.dc.wipe_mailbox_index("alice")
        self.dc.drop("alice", "new-after-reset", make_msg("v-new@example.com"))
        new = self.dc.uidvalidity("alice")
        self.assertNotEqual(old, new, "Dovecot kept the UIDVALIDITY")
        self.start_email_gateway(gw=gw)
        c2 = self.start_consumer(gw)
        self.wait_all(c2, ids + ["v-new@example.com"])
        gwtest.wait_until(lambda: f"changed from {old} to {new}" in self.email_log(), tmo(10),
                          "the UIDVALIDITY change in the log")
        self.wait_seen("alice", 3)
        self.assert_once(c2, ids + ["v-new@example.com"])

    def test_one_email_two_mailboxes(self):
        raw = make_msg("shared@example.com", to="alice@acme.test, bob@acme.test")
        self.dc.append("alice", raw)
        self.dc.append("bob", raw)
        self.dc.append("bob", make_msg("bob-only@example.com"))
        self.start_email_gateway([("mail-alice", "alice", "seen", ()),
                                  ("mail-bob", "bob", "seen", ())])
        c = self.start_consumer(self.gw)
        self.wait_all(c, ["shared@example.com", "bob-only@example.com"])
        self.wait_seen("alice", 1)
        self.wait_seen("bob", 2)
        self.assert_once(c, ["shared@example.com", "bob-only@example.com"])

    def test_auto_reply_bounce_and_own_address(self):
        self.dc.append("alice", make_msg("auto@example.com", subject="Out of office",
                                         headers=["Auto-Submitted: auto-replied"]))
        self.dc.append("alice", bounce_msg("bounce@mx.example.com"))
        self.dc.append("alice", make_msg("own@acme.test", frm="Support <support@acme.test>"))
        self.dc.append("alice", make_msg("after-own@example.com"))
        self.start_email_gateway([("mail", "alice", "seen",
                                   ("own_addresses: \"Support@Acme.test, noreply@acme.test\"",))])
        c = self.start_consumer(self.gw)
        self.wait_all(c, ["auto@example.com", "bounce@mx.example.com", "after-own@example.com"])
        auto = c.received("auto@example.com")
        bounce = c.received("bounce@mx.example.com")
        self.assertTrue(auto.get("auto_reply"), auto)
        self.assertEqual(auto.get("ticket_id", 0), 0)
        self.assertTrue(bounce.get("bounce"), bounce)
        self.assertEqual(bounce.get("ticket_id", 0), 0)
        self.assertFalse(c.has("own@acme.test"))
        self.wait_seen("alice", 4)  # the own message is handled (and flagged) too
        self.assertIn("skipped: sent from own address", self.email_log())


def fixture(rel):
    """A message of tests/fixtures/email (bytes)."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "fixtures", "email", rel), "rb") as f:
        return f.read()


class TestEmailMalformed(EmailTestCase):
    """Malformed MIME fetched from a real server."""

    def test_malformed_mime_over_imap(self):
        """The malformed-MIME fixtures, fetched from a real server, read as
        the unit tests expect (tests/unit/test_email_parse.c)."""
        want = {
            "prefix-unclosed@example.com": ("Please find the invoice attached.\nRegards, Ann",
                                            ["invoice-1234.pdf", "photo.png"]),
            "folded-boundary@example.com": ("The signed contract is attached.", ["contract.pdf"]),
            "closing-junk@example.com": ("Where is order 77?", ["order-77.pdf"]),
            "missing-boundary@example.com": ("The item arrived damaged, photo attached.",
                                             ["damage.png"]),
        }
        for f in ("prefix-boundary-unclosed", "folded-boundary", "closing-marker-junk",
                  "missing-boundary"):
            self.dc.append("alice", fixture(f"malformed/{f}.eml"))
        self.start_email_gateway()
        c = self.start_consumer(self.gw)
        self.wait_all(c, list(want))
        for mid, (text, names) in want.items():
            m = c.received(mid)
            self.assertEqual(m["text"], text, mid)
            self.assertEqual([a["name"] for a in m.get("attachments", [])], names, mid)


class TestEmailAttachmentServed(EmailTestCase):
    """An attachment kept in an `attachment_dir` of its own is served by the
    integration API with the type its email part declares."""

    def test_attachment_dir_served_with_its_type(self):
        files = os.path.join(self.tmp, "mail-files")
        csv = b"order,qty\r\n1234,2\r\n"
        m = email.message.EmailMessage()
        m["From"], m["To"], m["Subject"] = "Jane Roe <jane@roe.example>", "support@acme.test", "Order"
        m["Message-ID"] = "<att-csv@roe.example>"
        m.set_content("The list is attached.")
        m.add_attachment(csv, maintype="text", subtype="csv", filename="order.csv")
        self.dc.append("alice", m.as_bytes(policy=email.policy.SMTP))
        self.start_email_gateway(
            instances=[("mail", "alice", "seen", (f"attachment_dir: \"{files}\"",))],
            integration=True)
        c = self.start_consumer(self.gw)
        self.wait_all(c, ["att-csv@roe.example"])
        a = c.received("att-csv@roe.example")["attachments"][0]
        self.assertEqual(a["type"], "text/csv", a)
        digest = a["ref"][len("sha256:"):]
        self.assertTrue(os.path.exists(os.path.join(files, digest[:2], digest)), a)
        integ.assert_served(self, self.gw, a["ref"], csv, "text/csv")


def dsn_of(msgid):
    """A delivery status notification of the message <msgid> (Postfix's form:
    the returned headers as text/rfc822-headers)."""
    return (f"From: Mail Delivery System <MAILER-DAEMON@mx.acme.test>\r\n"
            f"To: support@acme.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"Message-ID: <dsn-{msgid}>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=delivery-status;\r\n"
            f"\tboundary=\"d1\"\r\n\r\n--d1\r\nContent-Type: text/plain\r\n\r\n"
            f"Your message could not be delivered: user unknown.\r\n--d1\r\n"
            f"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.acme.test\r\n"
            f"\r\nFinal-Recipient: rfc822; jane@roe.example\r\nAction: failed\r\n"
            f"Status: 5.1.1\r\n\r\n--d1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"From: support@acme.test\r\nTo: jane@roe.example\r\nSubject: Re: Order 1234\r\n"
            f"Message-ID: <{msgid}>\r\n\r\n--d1--\r\n").encode()


class TestEmailAutomated(EmailTestCase):
    """Mailing lists, auto-replies and bounces: who opens a ticket, what is
    flagged with which reason, and which ticket a bounce of our reply joins."""

    def test_lists_auto_replies_and_bounce_of_our_reply(self):
        self.dc.append("alice", make_msg("order-1234@roe.example", frm="Jane Roe <jane@roe.example>",
                                         subject="Order 1234"))
        self.start_email_gateway()
        c = self.start_consumer(self.gw)
        self.wait_all(c, ["order-1234@roe.example"])
        ticket = c.received("order-1234@roe.example")["ticket_id"]
        self.gw.ctl("send", str(ticket), "We are on it", "--command-id", "auto-cmd-1")
        c.wait_for(lambda b: any(t == "message.sent" for _, t, _ in b.snapshot()), tmo(20),
                   "the reply's message.sent")
        reply = [m for _, t, m in c.snapshot() if t == "message.sent"][0]
        # The reply's email carries Message-ID <external_id@domain>.
        reply_id = reply["external_id"] + "@acme.test"
        self.dc.append("alice", dsn_of(reply_id))
        self.dc.append("alice", make_msg("ooo-1@roe.example", frm="Jane Roe <jane@roe.example>",
                                         subject="Automatic reply: Re: Order 1234",
                                         headers=["Auto-Submitted: auto-replied",
                                                  f"In-Reply-To: <{reply_id}>"]))
        self.dc.append("alice", fixture("automated/list-post.eml"))
        self.dc.append("alice", fixture("automated/newsletter.eml"))
        ids = [f"dsn-{reply_id}", "ooo-1@roe.example", "list-post-1@lists-user.example",
               "news-2026-12@shop.example"]
        self.wait_all(c, ids)
        dsn, ooo, post, news = (c.received(i) for i in ids)
        # The bounce of our reply joins the reply's ticket, with its reason.
        self.assertTrue(dsn.get("bounce"), dsn)
        self.assertEqual(dsn.get("ticket_id"), ticket, dsn)
        self.assertEqual(dsn["thread_rule"], "automated")
        self.assertIn("a reply the gateway sent", dsn["thread_reason"])
        self.assertEqual(dsn["automated_reason"],
                         "multipart/report (delivery-status); Auto-Submitted: auto-replied")
        self.assertEqual(dsn["reply_to"], [reply_id])
        # So does the customer's vacation notice; neither reopens or answers.
        self.assertTrue(ooo.get("auto_reply"), ooo)
        self.assertEqual(ooo.get("ticket_id"), ticket, ooo)
        self.assertEqual(ooo["automated_reason"], "Auto-Submitted: auto-replied")
        # A list post is a person's mail: its own ticket, its author the sender.
        self.assertFalse(post.get("auto_reply"), post)
        self.assertNotIn("automated_reason", post)
        self.assertEqual(post["from"]["address"], "bob@lists-user.example")
        self.assertNotEqual(post.get("ticket_id", 0), 0)
        self.assertEqual(post["thread_rule"], "new_ticket")
        # Bulk mail is kept, flagged with its reason, in no ticket.
        self.assertTrue(news.get("auto_reply"), news)
        self.assertEqual(news["automated_reason"], "Precedence: bulk")
        self.assertEqual(news.get("ticket_id", 0), 0)
        self.assertIn("an auto-reply (Precedence: bulk)", news["thread_reason"])
        created = [m for _, t, m in c.snapshot() if t == "ticket.created"]
        self.assertEqual(sorted(m["ticket_id"] for m in created),
                         sorted([ticket, post["ticket_id"]]))

class TestEmailLimits(EmailTestCase):

    def test_auto_reply_flood_held_then_released(self):
        """A robot answering every mail: past automated_burst its auto-replies
        are held in the spool's quarantine (the mailbox goes on, every message
        is flagged), listed, and released by reingest (docs/security.md)."""
        for i in range(3):
            self.dc.append("alice", make_msg(f"ooo-{i}@robot.example", frm="robot@robot.example",
                                             subject="Out of office",
                                             headers=["Auto-Submitted: auto-replied"]))
        self.start_email_gateway([("mail", "alice", "seen",
                                   ("automated_rate_per_hour: 1", "automated_burst: 2"))])
        c = self.start_consumer(self.gw)
        self.wait_all(c, ["ooo-0@robot.example", "ooo-1@robot.example"])
        self.wait_seen("alice", 3)
        held = [e for e in json.loads(self.gw.ctl("quarantine", "list", "--json").stdout)
                if e.get("kind") == "held"]
        self.assertEqual([(e["external_id"], e["sender"]) for e in held],
                         [("ooo-2@robot.example", "robot@robot.example")], held)
        self.assertTrue(held[0]["reason"].startswith("automated"), held)
        self.assertFalse(c.has("ooo-2@robot.example"))
        self.assertIn("released", self.gw.ctl("quarantine", "reingest", held[0]["id"]).stdout)
        self.wait_all(c, ["ooo-2@robot.example"])


class TestEmailQuarantine(EmailTestCase):

    def test_quarantine_list_show_reingest(self):
        bad = make_msg("nosender@example.com", frm=None)
        self.dc.append("alice", bad)
        self.dc.append("alice", make_msg("big@example.com", size_pad=20000))
        self.dc.append("alice", make_msg("fine@example.com"))
        gw = self.start_email_gateway([("mail", "alice", "seen", ("max_message_bytes: 8192",))])
        c = self.start_consumer(gw)
        c.wait_message("fine@example.com", tmo(20))
        self.wait_seen("alice", 3)
        p = gw.ctl("quarantine", "list", "--json")
        entries = {e["uid"]: e for e in json.loads(p.stdout)}
        self.assertEqual(sorted(entries), [1, 2], p.stdout)
        self.assertIn("no sender", entries[1]["reason"])
        self.assertTrue(entries[1]["stored"])
        self.assertIn("max_message_bytes", entries[2]["reason"])
        self.assertFalse(entries[2]["stored"])
        self.assertEqual(entries[1]["mailbox"], "INBOX")
        text = gw.ctl("quarantine", "list").stdout
        self.assertIn(entries[1]["id"], text)
        shown = json.loads(gw.ctl("quarantine", "show", entries[1]["id"], "--json").stdout)
        self.assertEqual(shown["uid"], 1)
        with open(shown["file"], "rb") as f:
            self.assertEqual(f.read().replace(b"\r\n", b"\n"), bad.replace(b"\r\n", b"\n"))
        # Still no sender: reingest answers "quarantined" (exit 1), entry kept.
        p = gw.ctl("quarantine", "reingest", entries[1]["id"], check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("quarantined", p.stdout)
        # The stored copy fixed (as a newer parser would read it): ingested.
        with open(shown["file"], "wb") as f:
            f.write(b"From: Fixed <fixed@example.com>\r\n" + bad)
        p = gw.ctl("quarantine", "reingest", entries[1]["id"], check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("ingested", p.stdout)
        m = c.wait_message("nosender@example.com", tmo(10))
        self.assertEqual(m["from"]["address"], "fixed@example.com")
        left = json.loads(gw.ctl("quarantine", "list", "--json").stdout)
        self.assertEqual([e["uid"] for e in left], [2])
        # No stored copy: reingest cannot help.
        p = gw.ctl("quarantine", "reingest", entries[2]["id"], check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no stored copy", p.stdout)
        p = gw.ctl("quarantine", "show", "mail/1-999", check=False)
        self.assertEqual(p.returncode, 4)
        p = gw.ctl("quarantine", "show", "../x/1-1", check=False)
        self.assertEqual(p.returncode, 64)


class TestEmailCrash(EmailTestCase):

    def test_sigkill_mid_mailbox(self):
        ids = [f"burst-{i}@example.com" for i in range(BURST)]
        for n, i in enumerate(ids):
            self.dc.drop("alice", f"{n:06d}.burst", make_msg(i, size_pad=(n % 7) * 700))
        gw = self.start_email_gateway([("mail", "alice", "seen", ("fetch_batch: 50",))])
        gw.allowed_restarts["mail"] = 1
        c = self.start_consumer(gw)
        c.wait_for(lambda cc: len(cc.by_ext) >= BURST // 4, tmo(60), f"{BURST // 4} messages")
        pid = gw.child_pid("mail")
        os.kill(pid, signal.SIGKILL)
        gw.wait_child_restarted("mail", pid)
        self.wait_all(c, ids, tmo(120))
        self.assert_once(c, ids)
        self.assertEqual(len(self.received(c)), BURST)
        self.wait_seen("alice", BURST)


class TestEmailIdle(EmailTestCase):

    def test_idle_picks_up_new_mail_at_once(self):
        gw = self.start_email_gateway([("mail", "alice", "seen", ("poll_interval_ms: 600000",))])
        c = self.start_consumer(gw)
        self.dc.append("alice", make_msg("idle-0@example.com"))
        c.wait_message("idle-0@example.com", tmo(10))
        for i in range(1, 4):
            self.dc.append("alice", make_msg(f"idle-{i}@example.com"))
            c.wait_message(f"idle-{i}@example.com", tmo(10))


class TestEmailTls(EmailTestCase):
    tls = True

    def test_starttls_and_implicit_tls(self):
        self.dc.append("alice", make_msg("tls-1@example.com"))
        self.dc.append("bob", make_msg("tls-2@example.com"))
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = gwtest.Gateway(root)
        lines = self.email_lines("starttls", "alice",
                                 url=f"imap://127.0.0.1:{self.dc.port}/INBOX",
                                 extra=("tls: starttls", f"ca_file: \"{self.dc.cert}\""))
        lines += self.email_lines("implicit", "bob",
                                  url=f"imaps://127.0.0.1:{self.dc.tls_port}/INBOX",
                                  extra=(f"ca_file: \"{self.dc.cert}\"",))
        with open(gw.config_path, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        for user, pw in self.users.items():
            gw.env[f"GW_MAIL_PW_{user.upper()}"] = pw
        gw.connectors += ["starttls", "implicit"]
        self._gateways.append(gw)
        self.addCleanup(gw.check_health)
        self.addCleanup(gw.cleanup)
        self.start_email_gateway(gw=gw)
        c = self.start_consumer(gw)
        self.wait_all(c, ["tls-1@example.com", "tls-2@example.com"])
        self.assertEqual(c.received("tls-1@example.com")["account"], "starttls")
        self.assertEqual(c.received("tls-2@example.com")["account"], "implicit")


class TestEmailCheck(unittest.TestCase):
    """check() refusals, through gatewayd --check-config."""

    def check(self, extra):
        import tempfile
        d = tempfile.mkdtemp(prefix="gwit-")
        try:
            path = os.path.join(d, "gw.yaml")
            gwtest.write_config(path, os.path.join(d, "state"),
                                dict(zip(("ingest", "publish", "command", "api"),
                                         gwtest.free_ports(4))))
            with open(path, "a", encoding="utf-8") as f:
                f.write("\n".join(["  - name: mail", "    type: email", "    enabled: true",
                                   "    username: u", "    password: p"] +
                                  ["    " + x for x in extra]) + "\n")
            env = dict(os.environ, GATEWAY_API_TOKEN="t")
            p = subprocess.run([gwtest.binary("gatewayd"), "--check-config", path],
                               capture_output=True, text=True, env=env, timeout=tmo(20))
            return p.stdout + p.stderr
        finally:
            dovecot.rmtree(d)

    def test_refusals(self):
        out = self.check(["url: \"imap://mail.example.com/INBOX\"", "tls: none"])
        self.assertIn("loopback", out)
        out = self.check(["url: \"imaps://mail.example.com/INBOX\"", "tls: starttls"])
        self.assertIn("tls:", out)
        out = self.check(["url: \"imaps://mail.example.com/INBOX\"", "after: move"])
        self.assertIn("move_to", out)
        out = self.check(["url: \"https://mail.example.com/INBOX\""])
        self.assertIn("url:", out)
        out = self.check(["url: \"imaps://u:secret@mail.example.com/INBOX\""])
        self.assertIn("url:", out)
        self.assertNotIn("secret", out)
        out = self.check(["url: \"imaps://mail.example.com/INBOX\""])
        self.assertIn("mail", out)
        self.assertNotIn("disabled", out.split("mail", 1)[1].splitlines()[0])


if __name__ == "__main__":
    unittest.main()

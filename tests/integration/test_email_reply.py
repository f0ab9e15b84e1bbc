"""
Email replies end to end with real mail servers: the test's Dovecot
(dovecot.py, IMAP for the mailboxes and LMTP for delivery) and a Postfix
(smtp.py) that the gateway submits its replies to, which delivers them into
the customer's Dovecot mailbox. Nothing stands in for a server.

  - round trip: a customer's email arrives in the support mailbox, the
    connector ingests it, `gatewayctl send TICKET ... --attach FILE --wait`
    exits 0, the customer reads the reply over IMAP (From, To, Subject with
    [#T-n], Message-ID, In-Reply-To, References, no Auto-Submitted, UTF-8
    quoted-printable text, the attachment), a copy is in the support
    mailbox's Sent folder, and the customer's answer, written to the
    fetched reply (In-Reply-To its Message-ID) and submitted as the
    customer through Postfix, lands in support's INBOX and in the same
    ticket by reply_reference;
  - a bounce (a delivery status notification naming the reply's
    Message-ID) turns the reply `failed` with the DSN's Status and
    Diagnostic-Code; a "delayed" report changes nothing;
  - TLS submission: implicit TLS (smtps) and STARTTLS with the test's
    certificate as ca_file; without it the certificate is refused;
  - failures: a wrong password (failed with the server's 535, `gatewayctl
    status` shows "replies fail", logged once for two replies), an unknown recipient (550, the server's
    words), a connector without an smtp block;
  - SIGKILL of the email connector during a burst of replies: every reply
    reaches the customer's mailbox; copies only with the same Message-ID,
    counted and reported, within the replies in flight.

Postfix needs root; without it (or without the packages) the tests skip
and say why.
"""

import email
import email.message
import email.policy
import os
import signal
import smtplib
import socket
import sys
import threading
import unittest

import dovecot
import gwtest
import smtp
from gwtest import GatewayTestCase, tmo

USERS = {"support": "support-pw", "sales": "sales-pw", "help": "help-pw",
         "billing": "billing-pw", "customer": "customer-pw"}
CUSTOMER = "customer@customer.test"
BURST = int(os.environ.get("GW_IT_REPLY_BURST", "30"))


def dsn_mail(mid, reply_msgid, action="failed", status="5.2.2",
             diagnostic="smtp; 552 5.2.2 <customer@customer.test>: Mailbox full"):
    """Postfix's delivery status notification (RFC 3464) about the reply
    whose Message-ID is reply_msgid (without <>), as it lands in the
    sender's mailbox."""
    return "\r\n".join([
        "From: MAILER-DAEMON@mx.test (Mail Delivery System)", "To: support@acme.test",
        "Subject: Undelivered Mail Returned to Sender", f"Message-ID: <{mid}>",
        "Date: Mon, 23 Nov 2026 07:00:00 +0000", "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"', "",
        "--B1", "Content-Description: Notification",
        "Content-Type: text/plain; charset=us-ascii", "",
        "This is the mail system at host mx.test.", "",
        "I'm sorry to have to inform you that your message could not",
        "be delivered to one or more recipients.", "",
        "--B1", "Content-Description: Delivery report", "Content-Type: message/delivery-status",
        "", "Reporting-MTA: dns; mx.test", "X-Postfix-Queue-ID: 4F1A2C0D3",
        "Arrival-Date: Mon, 23 Nov 2026 06:59:58 +0000", "",
        "Final-Recipient: rfc822; customer@customer.test",
        "Original-Recipient: rfc822;customer@customer.test", f"Action: {action}",
        f"Status: {status}", "Remote-MTA: dns; mx.customer.test",
        f"Diagnostic-Code: {diagnostic}", "",
        "--B1", "Content-Description: Undelivered Message Headers",
        "Content-Type: text/rfc822-headers", "",
        "From: Ann Agent <support@acme.test>", "To: customer@customer.test",
        "Subject: Re: Order 1234", f"Message-ID: <{reply_msgid}>", "",
        "--B1--", ""]).encode()


def customer_mail(mid, subject="Order 1234", frm=f"José Núñez <{CUSTOMER}>",
                  to="support@acme.test", headers=(), body="Where is my order?"):
    lines = [f"From: {frm}", f"To: {to}", f"Subject: {subject}", f"Message-ID: <{mid}>",
             "Date: Mon, 23 Nov 2026 06:40:00 +0000", "MIME-Version: 1.0",
             "Content-Type: text/plain; charset=utf-8"] + list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


def read_logs(gw):
    """Every log file of the gateway, as one text."""
    parts = []
    for path in gw.log_paths():
        with open(path, encoding="utf-8", errors="replace") as f:
            parts.append(f.read())
    return "".join(parts)


class ReplyTestCase(GatewayTestCase):
    """A Dovecot with IMAP and LMTP, a Postfix delivering into it, and a
    gatewayd whose email connectors read its mailboxes and send through
    Postfix."""

    def setUp(self):
        super().setUp()
        why = dovecot.available(lmtp=True) or smtp.available()
        if why:
            self.skipTest(why)
        root = os.path.join(self.tmp, "dovecot")
        os.makedirs(root)
        self.dc = dovecot.Dovecot(root, USERS, lmtp=True)
        self.logs = {}
        self.addCleanup(self._stop, "dovecot", self.dc)
        self.dc.start()
        root = os.path.join(self.tmp, "postfix")
        os.makedirs(root)
        self.pf = smtp.Postfix(root, self.dc)
        self.addCleanup(self._stop, "postfix", self.pf)
        self.pf.start()
        self.gw = None

    def _stop(self, name, server):
        self.logs[name] = server.log_tail()
        server.stop()

    def _print_logs(self):
        super()._print_logs()
        for name, tail in getattr(self, "logs", {}).items():
            sys.stderr.write(f"--- {name} log ---\n{tail}\n")

    # config

    def connector(self, name, user, smtp_lines=None):
        """The lines of an email connector reading `user`'s INBOX; smtp_lines
        (YAML under `smtp:`, unindented), or None for no smtp block."""
        lines = [f"  - name: {name}", "    type: email", "    enabled: true",
                 f"    url: \"imap://127.0.0.1:{self.dc.port}/INBOX\"",
                 f"    username: {user}", f"    password: ${{GW_MAIL_PW_{user.upper()}}}",
                 "    tls: none", "    after: seen", "    poll_interval_ms: 1000"]
        if smtp_lines is not None:
            lines += ["    smtp:"] + ["      " + ln for ln in smtp_lines]
        return lines

    def plain_smtp(self, extra=()):
        return [f"url: \"smtp://127.0.0.1:{self.pf.port}\"", "tls: none",
                "password: ${GW_SMTP_PW}", "from: support@acme.test"] + list(extra)

    def start(self, connectors, smtp_pw=None):
        """connectors: [(name, user, smtp_lines)]."""
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        gw = gwtest.Gateway(root)
        lines = []
        for name, user, smtp_lines in connectors:
            lines += self.connector(name, user, smtp_lines)
            gw.connectors.append(name)
        with open(gw.config_path, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        for user, pw in USERS.items():
            gw.env[f"GW_MAIL_PW_{user.upper()}"] = pw
        gw.env["GW_SMTP_PW"] = smtp_pw or USERS["support"]
        self.gw = self.run_gateway(gw)
        self.bus = self.start_consumer(gw)
        return gw

    # helpers

    def inbound(self, user, mid, **kw):
        """A customer's mail into `user`'s INBOX; its message.received."""
        self.dc.append(user, customer_mail(mid, **kw))
        return self.bus.wait_message(mid, tmo(20))

    def send(self, ticket, text, *extra, check=True):
        """gatewayctl send --wait; returns (exit code, its outcome line)."""
        p = self.gw.ctl("send", str(ticket), text, "--wait", *extra, check=check)
        return p.returncode, p.stdout.strip().split("\n")[-1]

    def mails(self, user, mailbox="INBOX", n=1):
        """Waits for at least n messages in user's mailbox and returns them
        parsed, as a mail client reads them."""
        gwtest.wait_until(lambda: self.dc.count(user, mailbox) >= n, tmo(30),
                          f"{n} messages in {user}'s {mailbox}",
                          on_fail=lambda: self.pf.log_tail())
        c = self.dc.imap(user)
        try:
            c.select(mailbox, readonly=True)
            _, data = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
        finally:
            c.logout()
        return [email.message_from_bytes(item[1], policy=email.policy.default)
                for item in data if isinstance(item, tuple)]

    def statuses(self, status):
        return [m for _, t, m in self.bus.snapshot()
                if t == "message.status" and m.get("status") == status]

    def sent_events(self):
        return [m for _, t, m in self.bus.snapshot() if t == "message.sent"]

    def status_text(self):
        return self.gw.ctl("status").stdout

    def replies(self, name, pred=lambda r: True, timeout=10):
        """The `replies` counters of connector `name`'s status file, once
        they satisfy pred (the file is rewritten every second)."""
        def get():
            st = gwtest.read_json_file(self.gw.run_file(name)) or {}
            r = st.get("counters", {}).get("replies")
            return r if r is not None and pred(r) else None
        return gwtest.wait_until(get, tmo(timeout), f"the replies counters of {name}")


class TestReplyRoundTrip(ReplyTestCase):

    def test_reply_reaches_customer_and_answer_threads_back(self):
        gw = self.start([("mail", "support", self.plain_smtp(["sent_folder: Sent"]))])
        m = self.inbound("support", "c1@customer.test")
        ticket = m["ticket_id"]
        pdf = os.urandom(3000) + b"%%EOF"
        path = os.path.join(self.tmp, "invoice.pdf")
        with open(path, "wb") as f:
            f.write(pdf)
        text = "Grüße José,\nyour order has shipped.\n\n-- Ann"
        self.assertEqual(self.send(ticket, text, "--attach", path, "--author", "Ann Agent"),
                         (0, "delivery sent"))

        got = self.mails("customer")
        self.assertEqual(len(got), 1)
        r = got[0]
        sent = self.sent_events()[0]
        msgid = f"{sent['external_id']}@acme.test"
        self.assertRegex(sent["external_id"], r"^reply-1-[0-9a-f]{32}$")
        self.assertEqual(str(r["From"]), "Ann Agent <support@acme.test>")
        self.assertEqual(r["To"].addresses[0].addr_spec, CUSTOMER)
        self.assertEqual(r["To"].addresses[0].display_name, "José Núñez")
        self.assertEqual(str(r["Subject"]), f"Re: Order 1234 [#T-{ticket}]")
        self.assertEqual(r["Message-ID"], f"<{msgid}>")
        self.assertEqual(r["In-Reply-To"], "<c1@customer.test>")
        self.assertEqual(r["References"], "<c1@customer.test>")
        self.assertIsNone(r["Auto-Submitted"])
        self.assertEqual(r["MIME-Version"], "1.0")
        self.assertIsNotNone(r["Date"])
        self.assertEqual(r.get_content_type(), "multipart/mixed")
        body, att = list(r.iter_parts())
        self.assertEqual(body.get_content_type(), "text/plain")
        self.assertEqual(body.get_content_charset(), "utf-8")
        self.assertEqual(body["Content-Transfer-Encoding"], "quoted-printable")
        self.assertEqual(body.get_content().replace("\r\n", "\n").rstrip("\n"), text)
        self.assertEqual(att.get_filename(), "invoice.pdf")
        self.assertEqual(att.get_content(), pdf)

        # The status names the Message-ID; a copy went to the Sent folder.
        st = self.statuses("sent")
        self.assertEqual(len(st), 1, st)
        self.assertEqual(st[0].get("provider_id"), msgid)
        copy = self.mails("support", "Sent")
        self.assertEqual(copy[0]["Message-ID"], f"<{msgid}>")

        # The customer answers the reply they fetched: In-Reply-To its
        # Message-ID, a subject without the token, submitted as the
        # customer through Postfix: it lands in support's INBOX and joins
        # the reply's ticket by reply_reference, through our Message-ID.
        ans = email.message.EmailMessage()
        ans["From"] = f"José Núñez <{CUSTOMER}>"
        ans["To"] = str(r["From"])
        ans["Subject"] = "Thanks!"
        ans["Message-ID"] = "<c2@customer.test>"
        ans["In-Reply-To"] = r["Message-ID"]
        ans["References"] = f"{r['References']} {r['Message-ID']}"
        ans.set_content("Got it, thanks.")
        with smtplib.SMTP("127.0.0.1", self.pf.port, timeout=tmo(20)) as c:
            c.login("customer", USERS["customer"])
            c.send_message(ans)
        got = self.mails("support", n=2)
        self.assertIn("<c2@customer.test>", [str(x["Message-ID"]) for x in got])
        m2 = self.bus.wait_message("c2@customer.test", tmo(30))
        self.assertEqual(m2["ticket_id"], ticket)
        self.assertEqual(m2["thread_rule"], "reply_reference")
        self.assertIn(msgid, m2["thread_reason"])
        st = self.replies("mail", lambda r: r["sent"] >= 1)
        self.assertEqual((st["sent"], st["failed"]), (1, 0), st)


class TestReplyBounce(ReplyTestCase):

    def test_bounce_fails_the_reply(self):
        """A DSN naming the reply's Message-ID: the reply turns failed with
        the DSN's Status and Diagnostic-Code, and the bounce joins the
        reply's ticket; a "delayed" report before it changes nothing."""
        self.start([("mail", "support", self.plain_smtp())])
        m = self.inbound("support", "b1@customer.test")
        self.assertEqual(self.send(m["ticket_id"], "It ships today"), (0, "delivery sent"))
        reply = self.sent_events()[0]
        msgid = f"{reply['external_id']}@acme.test"
        self.dc.append("support", dsn_mail("dsn-delay@mx.test", msgid, action="delayed",
                                           status="4.4.1", diagnostic="X-Postfix; delayed"))
        d1 = self.bus.wait_message("dsn-delay@mx.test", tmo(20))
        self.assertEqual(d1["ticket_id"], m["ticket_id"])
        self.assertFalse(self.statuses("failed"))
        self.dc.append("support", dsn_mail("dsn-fail@mx.test", msgid))
        self.bus.wait_for(lambda c: self.statuses("failed"), tmo(20), "the reply failed")
        f = self.statuses("failed")
        self.assertEqual(len(f), 1, f)
        self.assertEqual((f[0]["external_id"], f[0]["message_seq"], f[0]["ticket_id"],
                          f[0]["recipient"]),
                         (msgid, reply["seq"], m["ticket_id"], CUSTOMER))
        self.assertEqual(f[0]["errors"][0]["title"],
                         "bounced: 5.2.2 552 5.2.2 <customer@customer.test>: Mailbox full")
        d2 = self.bus.wait_message("dsn-fail@mx.test", tmo(20))
        self.assertEqual(d2["ticket_id"], m["ticket_id"])
        self.assertTrue(d2.get("bounce"), d2)


class TestReplyTls(ReplyTestCase):

    def test_implicit_tls_and_starttls(self):
        ca = f"ca_file: \"{self.pf.cert}\""
        self.start([
            ("mail", "support", [f"url: \"smtps://127.0.0.1:{self.pf.smtps_port}\"",
                                 "password: ${GW_MAIL_PW_SUPPORT}", "from: support@acme.test",
                                 ca]),
            ("sales", "sales", [f"url: \"smtp://127.0.0.1:{self.pf.starttls_port}\"",
                                "tls: starttls", "password: ${GW_MAIL_PW_SALES}",
                                "from: sales@acme.test", ca]),
            ("help", "help", [f"url: \"smtp://127.0.0.1:{self.pf.starttls_port}\"",
                              "password: ${GW_MAIL_PW_HELP}", "from: help@acme.test"]),
        ])
        before = len(self.pf.tls_sessions())  # the test's own readiness check
        # One customer writing to three mailboxes: a reply goes out through
        # the mailbox the customer wrote to last.
        a = self.inbound("support", "t1@customer.test", to="support@acme.test")
        self.assertEqual(self.send(a["ticket_id"], "over implicit TLS"), (0, "delivery sent"))
        b = self.inbound("sales", "t2@customer.test", to="sales@acme.test")
        self.assertEqual(self.send(b["ticket_id"], "over STARTTLS"), (0, "delivery sent"))
        got = self.mails("customer", n=2)
        self.assertEqual(sorted(str(m["From"]) for m in got),
                         ["sales@acme.test", "support@acme.test"])
        # Both went over TLS, as the server's own log says.
        self.assertEqual(len(self.pf.tls_sessions()) - before, 2, self.pf.log_tail())
        # The server's certificate is the test's own: without ca_file it is
        # not trusted, and the reply fails at once, saying so.
        c = self.inbound("help", "t3@customer.test", to="help@acme.test")
        code, out = self.send(c["ticket_id"], "not trusted", check=False)
        self.assertEqual(code, 1, out)
        self.assertIn("delivery failed: the SMTP server's certificate cannot be verified", out)


class StalledServer:
    """A TCP listener that accepts connections and never says a word: an
    SMTP server hanging before its greeting (a network fault, no server)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.th = threading.Thread(target=self._accept, daemon=True)
        self.th.start()

    def _accept(self):
        while True:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


class TestReplyFailures(ReplyTestCase):

    def test_refused_login_unknown_recipient_no_smtp_block(self):
        stalled = StalledServer()
        self.addCleanup(stalled.close)
        self.start([
            ("mail", "support", self.plain_smtp()),
            ("sales", "sales", [f"url: \"smtp://127.0.0.1:{self.pf.port}\"", "tls: none",
                                "password: wrong-password", "from: sales@acme.test"]),
            ("help", "help", None),
            ("billing", "billing", [f"url: \"smtp://127.0.0.1:{stalled.port}\"", "tls: none",
                                    "password: x", "from: billing@acme.test",
                                    "send_timeout_ms: 60000"]),
        ])
        # A wrong password: failed with the server's words; status says so.
        m = self.inbound("sales", "f1@customer.test", to="sales@acme.test")
        code, out = self.send(m["ticket_id"], "hello", check=False)
        self.assertEqual(code, 1, out)
        self.assertRegex(out, r"^delivery failed: the SMTP server refused the login: "
                         r"535 5\.7\.8 .*authentication failed")
        self.assertNotIn("wrong-password", out + self.gw.log_tail(400))
        gwtest.wait_until(lambda: "replies fail: the SMTP server refused the login: 535"
                          in self.status_text(), tmo(10), "gatewayctl status: replies fail",
                          on_fail=self.status_text)
        # A second reply fails the same way; the refusal is logged once.
        code, out = self.send(m["ticket_id"], "hello again", check=False)
        self.assertEqual(code, 1, out)
        self.assertIn("the SMTP server refused the login: 535", out)
        log = read_logs(self.gw)
        self.assertEqual(log.count("the provider refuses the credentials"), 1, log[-3000:])
        # An address the server does not know: 550, in its words.
        m = self.inbound("support", "f2@customer.test", frm="Ghost <ghost@customer.test>")
        self.assertEqual(self.send(m["ticket_id"], "hello", check=False),
                         (1, "delivery failed: the SMTP server refused the reply: 550 5.1.1 "
                          "<ghost@customer.test>: Recipient address rejected: User unknown "
                          "in virtual mailbox table"))
        # No smtp block: replies are off, and said to be.
        m = self.inbound("help", "f3@customer.test", to="help@acme.test")
        self.assertEqual(self.send(m["ticket_id"], "hello", check=False),
                         (1, "delivery failed: email connector help has no smtp block"))
        self.assertIn("replies off: email connector help has no smtp block", self.status_text())
        self.assertEqual(self.dc.count("customer"), 0)
        # A server that hangs holds its reply in the sender, not the mailbox:
        # mail that arrives meanwhile is read as fast as ever.
        m = self.inbound("billing", "f4@customer.test", to="billing@acme.test")
        self.gw.ctl("send", str(m["ticket_id"]), "held up")
        self.replies("billing", lambda r: r["queued"] == 1)
        gwtest.wait_until(lambda: stalled.conns, tmo(10), "the connection to the stalled server")
        self.inbound("billing", "f5@customer.test", to="billing@acme.test")
        self.assertEqual(self.replies("billing")["queued"], 1)


class TestReplyCrash(ReplyTestCase):

    def test_sigkill_during_burst(self):
        """SIGKILL of the email connector while BURST replies go out (5 a
        second, as a helpdesk sends them: message.send commands): every
        reply reaches the customer; a reply the server took just before the
        kill, before the journal's sync, may come twice, with the same
        Message-ID (counted and reported)."""
        concurrency = 4
        gw = self.start([("mail", "support", self.plain_smtp(
            [f"send_concurrency: {concurrency}", "send_rate_per_s: 5"]))])
        gw.allowed_restarts["mail"] = 1
        m = self.inbound("support", "k1@customer.test")
        for i in range(BURST):
            gwtest.command_ok(gw.command_ep, "message.send",
                              {"command_id": f"burst-{i}", "ticket_id": m["ticket_id"],
                               "text": f"reply {i}"})

        self.replies("mail", lambda r: r["sent"] >= BURST // 3, timeout=30)
        pid = gw.child_pid("mail")
        os.kill(pid, signal.SIGKILL)
        gw.wait_child_restarted("mail", pid)
        self.bus.wait_for(lambda c: len({x["external_id"] for x in self.statuses("sent")})
                          >= BURST, tmo(60), f"{BURST} replies reported sent")
        want = {f"<{e['external_id']}@acme.test>" for e in self.sent_events()}
        self.assertEqual(len(want), BURST)
        got = self.mails("customer", n=BURST)
        ids = [str(x["Message-ID"]) for x in got]
        self.assertEqual(set(ids), want, "every reply, and only them, with its own id")
        copies = len(ids) - len(want)
        after = self.replies("mail", lambda r: r["queued"] == 0)
        sys.stderr.write(f"\n[reply burst] {BURST} replies, SIGKILL after "
                         f"{BURST // 3}+ sent: {len(ids)} mails, {copies} second copies "
                         f"(same Message-ID); after the restart {after['sent']} sent, "
                         f"{after['journaled']} of them reported from the journal\n")
        self.assertLessEqual(copies, concurrency)
        self.assertFalse(self.statuses("failed"))


if __name__ == "__main__":
    unittest.main()

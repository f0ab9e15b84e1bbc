"""
WhatsApp replies end to end: the real gatewayd with a Meta connector whose
graph_url points at a local stand-in of the Graph API (graph_standin.py,
Meta's documented requests, answers and error bodies), customers writing
through signed webhooks, agents answering with `gatewayctl send`.

Covers docs/channels/whatsapp.md, "Replies": the request checked field by
field (path, bearer, JSON), the wamid reported and kept, Meta's statuses
(with and without biz_opaque_callback_data) becoming statuses of the reply,
the customer's answer (context.id) joining the reply's ticket; templates,
media by link and by upload; the 24-hour window (from Meta's timestamp of the customer's message) refused without a request;
Meta's errors 131047 (failed with its title), 130429 (retried, then sent)
and 190 (failed, shown in `gatewayctl status`, logged once); webhooks
answered while the stand-in holds the sends; a SIGKILL of the connector
during a burst of 50 replies (none lost, duplicates counted); replies off
without an access token.
"""

import json
import os
import signal
import time
import unittest

import gwtest
from gwtest import tmo
from graph_standin import GraphStandIn
from test_meta import INSTANCE, WA, MetaTestCase, read_fixture

PHONE = "1122334455667"       # the phone_number_id of pywa's fixtures
CUSTOMER = "972987654321"     # their customer's wa_id
WA_TOKEN = "EAAG-wa-system-user-token-for-tests"
PAGE = "104000000000001"
IG_ACCOUNT = "17841400000000001"
PAGE_TOKEN = "EAAG-page-token-for-tests"
IG_TOKEN = "EAAG-ig-page-token-for-tests"
REPLY_ID = r"^reply-\d+-[0-9a-f]{32}$"


def wa_message_body(wamid, text, sender=CUSTOMER, context_id=None, phone=PHONE,
                    written=None):
    """pywa's message__text.json as customer `sender` writing `text` (id
    `wamid`), answering `context_id` when given, at `written` (Unix
    seconds, Meta's `timestamp`; now when not given)."""
    doc = json.loads(read_fixture(WA, "message__text.json"))
    value = doc["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = phone
    value["contacts"][0]["wa_id"] = sender
    msg = value["messages"][0]
    written = int(time.time()) if written is None else written
    msg.update({"from": sender, "id": wamid, "timestamp": str(written),
                "text": {"body": text}})
    if context_id:
        msg["context"] = {"from": value["metadata"]["display_phone_number"], "id": context_id}
    return json.dumps(doc).encode()


def wa_status_body(status, wamid, opaque=None, errors=None, recipient=CUSTOMER):
    """pywa's message_status__<status>.json about `wamid`, carrying
    biz_opaque_callback_data `opaque` and `errors` when given."""
    doc = json.loads(read_fixture(WA, f"message_status__{status}.json"))
    value = doc["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = PHONE
    st = value["statuses"][0]
    st.update({"id": wamid, "recipient_id": recipient, "timestamp": str(int(time.time()))})
    if opaque:
        st["biz_opaque_callback_data"] = opaque
    if errors is not None:
        st["errors"] = errors
    return json.dumps(doc).encode()


class MetaReplyCase(MetaTestCase):
    """A gateway whose Meta connector sends replies to a Graph stand-in."""

    send_lines = ("send_rate_per_s: 0", "send_retry_for_s: 60")

    def start_reply_gateway(self, access_token=True, extra_lines=(), env=None):
        self.graph = GraphStandIn(WA_TOKEN, {PAGE: PAGE_TOKEN, IG_ACCOUNT: IG_TOKEN}).start()
        self.addCleanup(self.graph.stop)
        lines = [f"graph_url: \"{self.graph.base}\"",
                 f"page_tokens: [\"{PAGE}=GATEWAY_META_PAGE_TOKEN\", "
                 f"\"{IG_ACCOUNT}=GATEWAY_META_IG_TOKEN\"]",
                 *self.send_lines, *extra_lines]
        e = {"GATEWAY_META_PAGE_TOKEN": PAGE_TOKEN, "GATEWAY_META_IG_TOKEN": IG_TOKEN}
        if access_token:
            lines.append("access_token: ${GATEWAY_META_ACCESS_TOKEN}")
            e["GATEWAY_META_ACCESS_TOKEN"] = WA_TOKEN
        e.update(env or {})
        gw = self.start_meta_gateway(extra_lines=lines, env=e)
        self.bus = self.start_consumer(gw)
        return gw

    # helpers

    def customer_writes(self, wamid, text, sender=CUSTOMER, context_id=None, written=None):
        """A signed webhook with the customer's message (written at
        `written`, Unix seconds: now when not given); its message.received."""
        self.accept(wa_message_body(wamid, text, sender, context_id, written=written), events=1)
        return self.bus.wait_message(wamid, tmo(10))

    def send(self, ticket, *args, check=True):
        """gatewayctl send TICKET ARGS --wait --json: (exit code, outcome status or None)."""
        p = self.gw.ctl("send", str(ticket), *args, "--wait", "--json", check=False,
                        timeout=tmo(60))
        if check:
            self.assertIn(p.returncode, (0, 1), p)
        out = json.loads(p.stdout) if p.stdout.strip() else None
        return p.returncode, out

    def send_cmd(self, ticket, command_id, **args):
        """message.send on the command socket; its result (delivery_id, seq)."""
        res, _ = gwtest.command_ok(self.gw.command_ep, "message.send",
                                   dict(command_id=command_id, ticket_id=ticket, **args))
        return res

    def reply_event(self, seq):
        self.bus.wait_for(lambda c: c.complete_to(seq), tmo(10), f"event {seq}")
        t, m = self.bus.event(seq)
        self.assertEqual(t, "message.sent", m)
        return m

    def statuses_of(self, seq):
        return [m for _, t, m in self.bus.snapshot()
                if t == "message.status" and m.get("message_seq") == seq]

    def wait_status(self, seq, status):
        """The message.status `status` linked to the message at `seq`."""
        def find(c):
            return next((m for m in self.statuses_of(seq) if m["status"] == status), None)
        self.bus.wait_for(find, tmo(20), f"message.status {status} of seq {seq}")
        return find(self.bus)

    def sent_requests(self, reply_ext):
        return [r for r in self.graph.of_path("/messages") if r.reply_id() == reply_ext]


class WhatsAppReplies(MetaReplyCase):

    def setUp(self):
        super().setUp()
        self.start_reply_gateway()

    def test_round_trip(self):
        """Webhook in -> gatewayctl send --wait -> the Graph request field by
        field -> sent with the wamid -> Meta's statuses of the reply -> the
        customer's answer (context.id = our wamid) joins the same ticket."""
        m_in = self.customer_writes("wamid.rt-in-1", "Where is my order?")
        code, out = self.send(m_in["ticket_id"], "It ships today", "--author", "Ann")
        self.assertEqual(code, 0, out)
        self.assertEqual(out["status"], "sent", out)
        reply = self.reply_event(out["message_seq"])
        self.assertRegex(reply["external_id"], REPLY_ID)
        reqs = self.graph.wait_requests(1, tmo(5), "/messages")
        self.assertEqual(len(reqs), 1)
        r = reqs[0]
        self.assertEqual(r.path, f"/v21.0/{PHONE}/messages")
        self.assertEqual(r.headers.get("Authorization"), f"Bearer {WA_TOKEN}")
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"))
        self.assertEqual(r.json, {
            "messaging_product": "whatsapp", "recipient_type": "individual",
            "to": CUSTOMER, "type": "text", "text": {"body": "It ships today"},
            "context": {"message_id": "wamid.rt-in-1"},
            "biz_opaque_callback_data": reply["external_id"]})
        wamid = out["provider_id"]
        self.assertTrue(wamid.startswith("wamid.HBgL"), out)
        self.assertEqual((out["external_id"], out["ticket_id"]),
                         (reply["external_id"], m_in["ticket_id"]))
        # Meta's "sent" is no news; "delivered" names the wamid only (the
        # router's key of the reply), "read" comes with our id as well.
        self.accept(wa_status_body("sent", wamid, opaque=reply["external_id"]), events=1)
        self.accept(wa_status_body("delivered", wamid), events=1)
        d = self.wait_status(reply["seq"], "delivered")
        self.assertEqual((d["external_id"], d["customer_id"], d["ticket_id"]),
                         (wamid, m_in["customer_id"], m_in["ticket_id"]))
        self.accept(wa_status_body("read", wamid, opaque=reply["external_id"]), events=1)
        rd = self.wait_status(reply["seq"], "read")
        self.assertEqual((rd["external_id"], rd["provider_id"]), (reply["external_id"], wamid))
        self.assertEqual([s["status"] for s in self.statuses_of(reply["seq"])],
                         ["queued", "sent", "delivered", "read"])
        # The customer answers the reply itself.
        m2 = self.customer_writes("wamid.rt-in-2", "Thanks!", context_id=wamid)
        self.assertEqual((m2["ticket_id"], m2["thread_rule"]),
                         (m_in["ticket_id"], "reply_reference"))
        self.assertEqual(len(self.graph.of_path("/messages")), 1, "one request in all")

    def test_status_before_report_and_failed_status(self):
        """A status carrying our id links even when it comes before the
        connector's report; Meta's failed status (code and title) fails the
        reply."""
        m_in = self.customer_writes("wamid.fs-in-1", "Hello")
        self.graph.hold()
        res = self.send_cmd(m_in["ticket_id"], "fs-1", text="Hi there")
        reply = self.reply_event(res["seq"])
        req = self.graph.wait_requests(1, tmo(10), "/messages")[0]
        self.assertEqual(req.reply_id(), reply["external_id"])
        # Meta's webhook overtakes its own answer to the send.
        err = [{"code": 131026, "title": "Message Undeliverable",
                "message": "Message Undeliverable",
                "error_data": {"details": "Message Undeliverable."}}]
        self.accept(wa_status_body("failed", "wamid.HBgLEARLY", opaque=reply["external_id"],
                                   errors=err), events=1)
        f = self.wait_status(reply["seq"], "failed")
        self.assertEqual(f["errors"][0]["code"], 131026, f)
        self.assertEqual(f["errors"][0]["title"], "Message Undeliverable")
        self.assertEqual(f["provider_id"], "wamid.HBgLEARLY")
        self.graph.release()
        # The connector's later "sent" does not undo a failure.
        gwtest.wait_until(lambda: self.counters().get("replies", {}).get("sent") == 1, tmo(10),
                          "the connector's report")
        head = self.gw.head()
        self.bus.wait_for(lambda c: c.complete_to(head), tmo(10), "every event")
        self.assertEqual([s["status"] for s in self.statuses_of(reply["seq"])],
                         ["queued", "failed"])

    def test_template(self):
        """--template/--param -> type template with language.code and body
        parameters; components given as JSON go verbatim."""
        m_in = self.customer_writes("wamid.tp-in-1", "Status?")
        code, out = self.send(m_in["ticket_id"], "--template", "order_update", "--lang",
                              "en_US", "--param", "Ana", "--param", "#1234")
        self.assertEqual((code, out["status"]), (0, "sent"), out)
        r = self.graph.wait_requests(1, tmo(5), "/messages")[0]
        self.assertEqual(r.json["type"], "template")
        self.assertEqual(r.json["template"], {
            "name": "order_update", "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": "Ana"}, {"type": "text", "text": "#1234"}]}]})
        comps = [{"type": "header", "parameters": [
                     {"type": "image", "image": {"link": "https://example.com/h.png"}}]},
                 {"type": "button", "sub_type": "quick_reply", "index": "0",
                  "parameters": [{"type": "payload", "payload": "YES"}]}]
        res = self.send_cmd(m_in["ticket_id"], "tp-2", template={
            "name": "shipping", "language": "pt_BR", "components": json.dumps(comps)})
        self.wait_status(res["seq"], "sent")
        r2 = self.graph.wait_requests(2, tmo(5), "/messages")[1]
        self.assertEqual(r2.json["template"], {"name": "shipping",
                                               "language": {"code": "pt_BR"},
                                               "components": comps})
        self.assertEqual(r2.json["to"], CUSTOMER)

    def test_media_by_link_and_by_upload(self):
        """An https URL goes by link (text as caption); a stored file is
        uploaded to /media first and sent by the id it got."""
        m_in = self.customer_writes("wamid.md-in-1", "Send me the invoice")
        res = self.send_cmd(m_in["ticket_id"], "md-1", text="Here it is", attachments=[
            {"name": "photo.jpg", "type": "image/jpeg", "ref": "https://example.com/p.jpg"}])
        self.wait_status(res["seq"], "sent")
        r = self.graph.wait_requests(1, tmo(5), "/messages")[0]
        self.assertEqual((r.json["type"], r.json["image"]),
                         ("image", {"link": "https://example.com/p.jpg",
                                    "caption": "Here it is"}))
        path = os.path.join(self.tmp, "invoice.pdf")
        data = b"%PDF-1.4 invoice 1234\n" * 20
        with open(path, "wb") as f:
            f.write(data)
        code, out = self.send(m_in["ticket_id"], "--attach", path)
        self.assertEqual((code, out["status"]), (0, "sent"), out)
        up = self.graph.wait_requests(1, tmo(5), "/media")[0]
        self.assertEqual(up.path, f"/v21.0/{PHONE}/media")
        self.assertEqual(up.bearer, WA_TOKEN)
        self.assertEqual(up.fields, {"messaging_product": "whatsapp",
                                     "type": "application/pdf"})
        self.assertEqual(up.files["file"], ("invoice.pdf", "application/pdf", data))
        msg = self.graph.wait_requests(2, tmo(5), f"/{PHONE}/messages")[1]
        self.assertEqual(msg.json["type"], "document")
        self.assertEqual(msg.json["document"], {"id": "1000000000000002",
                                                "filename": "invoice.pdf"})

    def test_outside_window_refused_without_request(self):
        """A free-form reply to a customer who last wrote 25 hours ago fails
        at once; nothing reaches Meta. A template still goes."""
        self.customer_writes("wamid.ow-other", "I am another customer", sender="15550009999")
        ing = gwtest.IngestClient(f"tcp://127.0.0.1:{self.gw.ports['ingest']}")
        try:
            old = int(time.time() * 1000) - 25 * 3600 * 1000
            ing.send_ok(gwtest.inbound_event("whatsapp", PHONE, "wamid.ow-old", CUSTOMER,
                                             "yesterday's question", received_at=old))
        finally:
            ing.close()
        m_old = self.bus.wait_message("wamid.ow-old")
        # The connector's next message makes it the number's peer again.
        self.customer_writes("wamid.ow-other-2", "me again", sender="15550009999")
        code, out = self.send(m_old["ticket_id"], "Sorry for the wait")
        self.assertEqual(code, 1, out)
        self.assertEqual(out["errors"][0]["title"],
                         "outside WhatsApp's 24-hour window: send a template")
        self.assertEqual(self.graph.requests, [])
        code, out = self.send(m_old["ticket_id"], "--template", "follow_up", "--lang", "en")
        self.assertEqual((code, out["status"]), (0, "sent"), out)
        self.assertEqual(len(self.graph.requests), 1)

    def test_window_counts_from_meta_timestamp(self):
        """A message Meta delivers now (a webhook retried for a day) that the
        customer wrote 25 hours ago: the window counts from its `timestamp`,
        so a free-form reply fails at once with the window's reason and no
        request reaches Meta (which would refuse it with 131047)."""
        written = int(time.time()) - 25 * 3600
        m_old = self.customer_writes("wamid.late-1", "sent yesterday", written=written)
        self.assertEqual(m_old["sent_at"], written * 1000, m_old)
        self.assertGreater(m_old["received_at"], written * 1000 + 24 * 3600 * 1000, m_old)
        code, out = self.send(m_old["ticket_id"], "Sorry for the wait")
        self.assertEqual(code, 1, out)
        self.assertEqual(out["status"], "failed", out)
        self.assertEqual(out["errors"][0]["title"],
                         "outside WhatsApp's 24-hour window: send a template")
        reply = self.reply_event(out["message_seq"])
        self.assertEqual(reply["last_inbound_at"], written * 1000, reply)
        self.assertEqual(self.graph.requests, [])
        # Written 23 hours ago and delivered now, it is inside the window.
        m_new = self.customer_writes("wamid.late-2", "sent this morning", sender="15550008888",
                                     written=int(time.time()) - 23 * 3600)
        code, out = self.send(m_new["ticket_id"], "Here you are")
        self.assertEqual((code, out["status"]), (0, "sent"), out)
        self.assertEqual(len(self.graph.requests), 1)

    def test_reengagement_error_fails_with_title(self):
        m_in = self.customer_writes("wamid.re-in-1", "hi")
        self.graph.fail_next(131047)
        code, out = self.send(m_in["ticket_id"], "Hello again")
        self.assertEqual(code, 1, out)
        self.assertEqual(out["errors"][0]["title"],
                         "message: 131047 Re-engagement message: Message failed to send "
                         "because more than 24 hours have passed since the customer last "
                         "replied to this number.")
        self.assertEqual(len(self.graph.requests), 1, "a refusal is not retried")

    def test_rate_limit_retried_then_sent(self):
        m_in = self.customer_writes("wamid.rl-in-1", "hi")
        self.graph.fail_next(130429)
        t0 = time.monotonic()
        code, out = self.send(m_in["ticket_id"], "One moment")
        self.assertEqual((code, out["status"]), (0, "sent"), out)
        reply = self.reply_event(out["message_seq"])
        self.assertEqual(len(self.sent_requests(reply["external_id"])), 2)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9, "retried after a backoff")
        gwtest.wait_until(lambda: self.counters().get("replies", {}).get("retried") == 1,
                          tmo(5), f"replies.retried 1 (now {self.counters()})")
        self.assert_log("130429 Rate limit hit")

    def test_expired_token_fails_shown_and_logged_once(self):
        m_in = self.customer_writes("wamid.tk-in-1", "hi")
        self.graph.fail_next(190, 190)
        for i in range(2):
            code, out = self.send(m_in["ticket_id"], f"Answer {i}")
            self.assertEqual(code, 1, out)
            self.assertTrue(out["errors"][0]["title"].startswith(
                "message: 190 Error validating access token"), out)

        def shown():
            p = self.gw.ctl("status")
            return "replies fail: message: 190 Error validating access token" in p.stdout
        gwtest.wait_until(shown, tmo(5), "gatewayctl status showing the refused token")
        log = "".join(open(p, encoding="utf-8", errors="replace").read()
                      for p in self.gw.log_paths())
        self.assertEqual(log.count("the provider refuses the credentials"), 1, log[-3000:])
        self.assertNotIn(WA_TOKEN, log)

    def test_sends_never_block_webhooks(self):
        """While Meta holds every send, webhooks are answered at once."""
        m_in = self.customer_writes("wamid.bl-in-1", "hi")
        self.graph.hold()
        seqs = [self.send_cmd(m_in["ticket_id"], f"bl-{i}", text=f"answer {i}")["seq"]
                for i in range(4)]
        self.graph.wait_requests(4, tmo(10), "/messages")
        worst = 0.0
        for i in range(5):
            t0 = time.monotonic()
            self.accept(wa_message_body(f"wamid.bl-more-{i}", f"more {i}"), events=1)
            worst = max(worst, time.monotonic() - t0)
        self.assertLess(worst, tmo(1.0), f"a webhook waited {worst:.3f}s behind the sends")
        self.graph.release()
        for s in seqs:
            self.wait_status(s, "sent")

    def test_sigkill_during_a_burst(self):
        """50 replies; the connector is killed while they go out. Every one
        reaches Meta and is reported sent; a reply Meta took but the
        connector had not journaled is sent again: at most send_concurrency
        of them (whatsapp.md, "Replies", the duplicate window)."""
        n, concurrency = 50, 4
        m_in = self.customer_writes("wamid.kb-in-1", "hi")
        self.graph.delay = 0.02
        seqs = [self.send_cmd(m_in["ticket_id"], f"kb-{i}", text=f"burst {i}")["seq"]
                for i in range(n)]
        self.graph.wait_requests(12, tmo(20), "/messages")
        pid = self.gw.child_pid(INSTANCE)
        self.gw.allowed_restarts[INSTANCE] = 1
        os.kill(pid, signal.SIGKILL)
        self.gw.wait_child_restarted(INSTANCE, pid)
        for s in seqs:
            self.wait_status(s, "sent")
        ids = [self.reply_event(s)["external_id"] for s in seqs]
        reqs = self.graph.of_path("/messages")
        got = [r.reply_id() for r in reqs]
        self.assertEqual(sorted(set(got)), sorted(ids), "every reply reached Meta")
        dups = len(got) - len(set(got))
        print(f"\nSIGKILL during {n} replies: {len(got)} sends, {dups} duplicates "
              f"(window: at most {concurrency})", flush=True)
        self.assertLessEqual(dups, concurrency)
        for s in seqs:
            self.assertEqual([x["status"] for x in self.statuses_of(s)], ["queued", "sent"])


class WhatsAppRepliesOff(MetaReplyCase):

    def test_without_access_token(self):
        """No access_token: a reply fails at once saying why, and gatewayctl
        status says replies are off and why."""
        self.start_reply_gateway(access_token=False)
        m_in = self.customer_writes("wamid.off-in-1", "hi")
        code, out = self.send(m_in["ticket_id"], "Hello")
        self.assertEqual(code, 1, out)
        self.assertEqual(out["errors"][0]["title"],
                         "WhatsApp replies are off: access_token is not set")
        gwtest.wait_until(lambda: "replies off: WhatsApp: access_token is not set"
                          in self.gw.ctl("status").stdout, tmo(5),
                          "gatewayctl status saying replies are off")
        self.assertEqual(self.graph.requests, [])


if __name__ == "__main__":
    unittest.main()

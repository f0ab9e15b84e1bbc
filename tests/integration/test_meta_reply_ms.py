"""
Messenger and Instagram replies end to end (docs/channels/messenger.md and
instagram.md, "Replies"): the real gatewayd with a Meta connector whose
graph_url points at the Graph stand-in (graph_standin.py), customers
writing through signed webhooks, agents answering with `gatewayctl send`.

Covers the Send API request field by field (path, the page token of the
account, JSON or multipart), the mid reported and kept; the echo of our own
send recognised as the reply (no second message.sent), with metadata
(Messenger) or by the mid alone (Instagram); delivery receipts (mids) and
read receipts (a watermark moves every earlier reply to read; an Instagram
read names its mid) as statuses of the reply; the customer's answer
(reply_to.mid) joining the reply's ticket; the 24-hour window, the
HUMAN_AGENT tag for 7 days, and an account without a page token. An
Instagram echo (no metadata) that overtakes the Send API's answer is the
reply's "sent", not a second message.sent; a SIGKILL of the connector
during a burst on a Page and an Instagram account loses nothing, sends at
most send_concurrency duplicates and never more than send_concurrency
requests at once; Meta's 613 is retried, its 190 shown and logged once.
"""

import json
import os
import signal
import time
import unittest

import gwtest
from gwtest import tmo
from test_meta import IG, INSTANCE, MS, read_fixture
from test_meta_reply import (IG_ACCOUNT, IG_TOKEN, PAGE, PAGE_TOKEN, REPLY_ID,
                             MetaReplyCase)

PSID = "6000000000000001"
IGSID = "7000000000000001"


def now_ms():
    return int(time.time() * 1000)


def ms_item_body(fixture_dir, fixture, account, item):
    """A Messenger (page) or Instagram body: the fixture's envelope with
    entry.id = account and its one messaging item replaced by `item`."""
    doc = json.loads(read_fixture(fixture_dir, fixture))
    doc["entry"][0]["id"] = account
    doc["entry"][0]["time"] = now_ms()
    doc["entry"][0]["messaging"] = [item]
    return json.dumps(doc).encode()


def page_body(item):
    return ms_item_body(MS, "WebhookTest.shouldHandleTextMessageEvent.json", PAGE, item)


def ig_body(item):
    return ms_item_body(IG, "instagram_message_create_event.json", IG_ACCOUNT, item)


def customer_item(psid, account, mid, text, reply_mid=None):
    msg = {"mid": mid, "text": text}
    if reply_mid:
        msg["reply_to"] = {"mid": reply_mid}
    return {"sender": {"id": psid}, "recipient": {"id": account}, "timestamp": now_ms(),
            "message": msg}


def echo_item(psid, account, mid, text, metadata=None):
    """messenger4j's echo: the page's own message, back as a webhook."""
    msg = {"is_echo": True, "app_id": 1517776481860111, "mid": mid, "text": text}
    if metadata is not None:
        msg["metadata"] = metadata
    return {"sender": {"id": account}, "recipient": {"id": psid}, "timestamp": now_ms(),
            "message": msg}


def read_logs(gw):
    """Every log file of the gateway, as one text."""
    parts = []
    for path in gw.log_paths():
        with open(path, encoding="utf-8", errors="replace") as f:
            parts.append(f.read())
    return "".join(parts)


class MessengerReplies(MetaReplyCase):

    send_lines = MetaReplyCase.send_lines + ("human_agent_tag: true",)

    def setUp(self):
        super().setUp()
        self.start_reply_gateway()

    def writes(self, body, mid):
        self.accept(body, events=1)
        return self.bus.wait_message(mid, tmo(10))

    def test_messenger_round_trip(self):
        m_in = self.writes(page_body(customer_item(PSID, PAGE, "m_in_1", "Is it in stock?")),
                           "m_in_1")
        # Meta's echo of the send comes before its answer to the send: the
        # metadata names the reply, which is "sent" by it.
        mid = "m_AbC-echo-first_1"
        self.graph.ids.append(mid)
        self.graph.hold()
        res = self.send_cmd(m_in["ticket_id"], "rt-1", text="Yes, two left")
        reply = self.reply_event(res["seq"])
        self.assertRegex(reply["external_id"], REPLY_ID)
        r = self.graph.wait_requests(1, tmo(5), "/messages")[0]
        self.assertEqual(r.path, "/v21.0/me/messages")
        self.assertEqual(r.headers.get("Authorization"), f"Bearer {PAGE_TOKEN}")
        self.assertEqual(r.json, {"recipient": {"id": PSID}, "messaging_type": "RESPONSE",
                                  "message": {"text": "Yes, two left",
                                              "metadata": reply["external_id"]}})
        self.accept(page_body(echo_item(PSID, PAGE, mid, "Yes, two left",
                                        reply["external_id"])), events=1)
        s = self.wait_status(reply["seq"], "sent")
        self.assertEqual((s["external_id"], s["provider_id"]), (reply["external_id"], mid))
        self.graph.release()
        gwtest.wait_until(lambda: self.counters().get("replies", {}).get("sent") == 1, tmo(10),
                          "the connector's report")
        head = self.gw.head()
        self.bus.wait_for(lambda c: c.complete_to(head), tmo(10), "every event")
        self.assertFalse([m for _, t, m in self.bus.snapshot()
                          if t == "message.sent" and m.get("external_id") == mid])
        self.assertEqual([x["status"] for x in self.statuses_of(reply["seq"])],
                         ["queued", "sent"])
        # A second reply, then receipts: delivery names the mid; the read
        # watermark moves every reply made up to it.
        code, out2 = self.send(m_in["ticket_id"], "They ship today")
        reply2 = self.reply_event(out2["message_seq"])
        self.accept(page_body({"sender": {"id": PSID}, "recipient": {"id": PAGE},
                               "delivery": {"mids": [mid], "watermark": now_ms()}}), events=1)
        d = self.wait_status(reply["seq"], "delivered")
        self.assertEqual((d["external_id"], d["ticket_id"]), (mid, m_in["ticket_id"]))
        wm = reply2["ts"] + 1
        gwtest.wait_until(lambda: now_ms() > wm + 1, tmo(1), "a later millisecond")
        code, out3 = self.send(m_in["ticket_id"], "Anything else?")
        reply3 = self.reply_event(out3["message_seq"])
        self.assertGreater(reply3["ts"], wm)
        self.accept(page_body({"sender": {"id": PSID}, "recipient": {"id": PAGE},
                               "timestamp": now_ms(), "read": {"watermark": wm}}), events=1)
        for rep in (reply, reply2):
            rd = self.wait_status(rep["seq"], "read")
            self.assertEqual((rd["external_id"], rd["ticket_id"]),
                             (rep["external_id"], m_in["ticket_id"]))
        self.assertEqual([s["status"] for s in self.statuses_of(reply["seq"])],
                         ["queued", "sent", "delivered", "read"])
        self.assertEqual([s["status"] for s in self.statuses_of(reply2["seq"])],
                         ["queued", "sent", "read"])
        self.assertEqual([s["status"] for s in self.statuses_of(reply3["seq"])],
                         ["queued", "sent"], "made after the watermark")
        # The customer answers the first reply.
        m2 = self.writes(page_body(customer_item(PSID, PAGE, "m_in_2", "No, thanks",
                                                 reply_mid=mid)), "m_in_2")
        self.assertEqual((m2["ticket_id"], m2["thread_rule"]),
                         (m_in["ticket_id"], "reply_reference"))
        self.assertEqual(len(self.graph.requests), 3)

    def test_instagram_round_trip(self):
        """Instagram's echo may carry no metadata: the mid the connector
        reported makes it a duplicate of the reply. Its read names the mid."""
        m_in = self.writes(ig_body(customer_item(IGSID, IG_ACCOUNT, "ig_in_1", "Price?")),
                           "ig_in_1")
        code, out = self.send(m_in["ticket_id"], "19.90")
        self.assertEqual((code, out["status"]), (0, "sent"), out)
        reply = self.reply_event(out["message_seq"])
        r = self.graph.wait_requests(1, tmo(5), "/messages")[0]
        self.assertEqual((r.path, r.bearer), ("/v21.0/me/messages", IG_TOKEN))
        self.assertEqual(r.json["recipient"], {"id": IGSID})
        self.assertEqual(r.json["message"]["metadata"], reply["external_id"])
        mid = out["provider_id"]
        before = self.router()
        self.accept(ig_body(echo_item(IGSID, IG_ACCOUNT, mid, "19.90")), events=1)
        gwtest.wait_until(lambda: self.router()["duplicates"] > before["duplicates"], tmo(10),
                          "the echo routed as a duplicate of the reply")
        self.assertEqual(self.router()["head_seq"], before["head_seq"])
        self.accept(ig_body({"sender": {"id": IGSID}, "recipient": {"id": IG_ACCOUNT},
                             "timestamp": now_ms(), "read": {"mid": mid}}), events=1)
        rd = self.wait_status(reply["seq"], "read")
        self.assertEqual((rd["external_id"], rd["ticket_id"]), (mid, m_in["ticket_id"]))
        m2 = self.writes(ig_body(customer_item(IGSID, IG_ACCOUNT, "ig_in_2", "ok",
                                               reply_mid=mid)), "ig_in_2")
        self.assertEqual(m2["ticket_id"], m_in["ticket_id"])

    def test_instagram_echo_before_report(self):
        """Meta answers the send late and its echo (no metadata) comes
        first: the echo is the reply's "sent" (provider_id its mid), not a
        second message.sent; the report after it adds nothing."""
        m_in = self.writes(ig_body(customer_item(IGSID, IG_ACCOUNT, "ig_eb_1", "Open today?")),
                           "ig_eb_1")
        mid = "ig_echo_first_1"
        self.graph.ids.append(mid)
        self.graph.hold()
        res = self.send_cmd(m_in["ticket_id"], "eb-1", text="Until 8 pm")
        reply = self.reply_event(res["seq"])
        self.graph.wait_requests(1, tmo(5), "/messages")
        self.accept(ig_body(echo_item(IGSID, IG_ACCOUNT, mid, "Until 8 pm")), events=1)
        s = self.wait_status(reply["seq"], "sent")
        self.assertEqual((s["external_id"], s["provider_id"]), (reply["external_id"], mid))
        self.graph.release()
        gwtest.wait_until(lambda: self.counters().get("replies", {}).get("sent") == 1, tmo(10),
                          "the connector's report")
        # Another echo on the account, not ours: still a message.sent.
        self.accept(ig_body(echo_item(IGSID, IG_ACCOUNT, "ig_app_1", "Sent from the app")),
                    events=1)
        self.bus.wait_for(lambda c: any(t == "message.sent" and m.get("external_id") ==
                                        "ig_app_1" for _, t, m in c.snapshot()),
                          tmo(10), "the app's echo as a message.sent")
        head = self.gw.head()
        self.bus.wait_for(lambda c: c.complete_to(head), tmo(10), "every event")
        self.assertFalse([m for _, t, m in self.bus.snapshot()
                          if t == "message.sent" and m.get("external_id") == mid])
        self.assertEqual([x["status"] for x in self.statuses_of(reply["seq"])],
                         ["queued", "sent"])

    def test_sigkill_during_a_burst(self):
        """Replies to a Page customer and an Instagram customer; the
        connector is killed while they go out. Every reply reaches Meta and
        is "sent" once; at most send_concurrency are sent twice, and Meta
        never has more than send_concurrency requests at once. The echoes
        of every copy (Messenger's with metadata, Instagram's without, of
        the copy reported) add no message.sent."""
        n, concurrency = 16, 4
        m_pg = self.writes(page_body(customer_item(PSID, PAGE, "m_kb_1", "hi")), "m_kb_1")
        m_ig = self.writes(ig_body(customer_item(IGSID, IG_ACCOUNT, "ig_kb_1", "hi")),
                           "ig_kb_1")
        self.graph.delay = 0.02
        seqs = []
        for i in range(n):
            seqs.append(self.send_cmd(m_pg["ticket_id"], f"kb-p{i}", text=f"page {i}")["seq"])
            seqs.append(self.send_cmd(m_ig["ticket_id"], f"kb-i{i}", text=f"ig {i}")["seq"])
        self.graph.wait_requests(10, tmo(20), "/messages")
        most = self.graph.max_active
        pid = self.gw.child_pid(INSTANCE)
        self.gw.allowed_restarts[INSTANCE] = 1
        os.kill(pid, signal.SIGKILL)
        self.gw.wait_child_restarted(INSTANCE, pid)
        self.client.close()  # its connection went with the old process
        for s in seqs:
            self.wait_status(s, "sent")
        replies = {s: self.reply_event(s) for s in seqs}
        reqs = self.graph.of_path("/messages")
        got = [r.reply_id() for r in reqs]
        self.assertEqual(sorted(set(got)), sorted(r["external_id"] for r in replies.values()),
                         "every reply reached Meta")
        dups = len(got) - len(set(got))
        print(f"\nSIGKILL during {2 * n} Messenger/Instagram replies: {len(got)} sends, "
              f"{dups} duplicates (window: at most {concurrency}); at most {most} requests "
              "at once", flush=True)
        self.assertLessEqual(dups, concurrency)
        self.assertLessEqual(most, concurrency)
        for s in seqs:
            self.assertEqual([x["status"] for x in self.statuses_of(s)], ["queued", "sent"])
        self.replay_echoes(replies, reqs)

    def replay_echoes(self, replies, reqs):
        """The echo of every copy of each reply Meta got twice (or of the
        first reply when none was), then: no new event at all."""
        by_id = {r["external_id"]: (seq, r) for seq, r in replies.items()}
        twice = {i for i in by_id if sum(1 for q in reqs if q.reply_id() == i) > 1}
        twice = twice or {next(iter(by_id))}
        before = self.router()
        bodies = []
        for q in reqs:
            rid = q.reply_id()
            if rid not in twice:
                continue
            seq, r = by_id[rid]
            reported = next(x for x in self.statuses_of(seq) if x["status"] == "sent")
            text = q.json["message"]["text"]
            if r["channel"] == "messenger":
                bodies.append(page_body(echo_item(PSID, PAGE, q.answer_id, text, rid)))
            elif q.answer_id == reported.get("provider_id"):
                bodies.append(ig_body(echo_item(IGSID, IG_ACCOUNT, q.answer_id, text)))
        for b in bodies:
            self.accept(b, events=1)
        gwtest.wait_until(lambda: self.router()["duplicates"] >= before["duplicates"]
                          + len(bodies), tmo(10), "the echoes routed as duplicates")
        self.assertEqual(self.router()["head_seq"], before["head_seq"], "no new event")

    def test_rate_limit_613_retried_then_sent(self):
        m_in = self.writes(page_body(customer_item(PSID, PAGE, "m_rl_1", "hi")), "m_rl_1")
        self.graph.fail_next(613)
        code, out = self.send(m_in["ticket_id"], "One moment")
        self.assertEqual((code, out["status"]), (0, "sent"), out)
        self.assertEqual(len(self.sent_requests(out["external_id"])), 2)
        gwtest.wait_until(lambda: self.counters().get("replies", {}).get("retried") == 1,
                          tmo(5), f"replies.retried 1 (now {self.counters()})")
        self.assert_log("613 Calls to this api have exceeded the rate limit")

    def test_page_token_refused_shown_and_logged_once(self):
        """Meta refuses the page token (190) for three replies: each fails,
        gatewayctl status shows it, the log says it once, never the token."""
        m_in = self.writes(page_body(customer_item(PSID, PAGE, "m_tk_1", "hi")), "m_tk_1")
        self.graph.fail_next(190, 190, 190)
        for i in range(3):
            code, out = self.send(m_in["ticket_id"], f"Answer {i}")
            self.assertEqual(code, 1, out)
            self.assertIn("190 Error validating access token", out["errors"][0]["title"])
        gwtest.wait_until(lambda: "replies fail: message: 190 Error validating access token"
                          in self.gw.ctl("status").stdout, tmo(5),
                          "gatewayctl status showing the refused page token")
        log = read_logs(self.gw)
        self.assertEqual(log.count("the provider refuses the credentials"), 1, log[-3000:])
        self.assertNotIn(PAGE_TOKEN, log)

    def test_attachments_by_url_and_upload(self):
        m_in = self.writes(page_body(customer_item(PSID, PAGE, "m_at_1", "Photo please")),
                           "m_at_1")
        res = self.send_cmd(m_in["ticket_id"], "at-1", text="Here", attachments=[
            {"name": "p.jpg", "type": "image/jpeg", "ref": "https://example.com/p.jpg"}])
        self.wait_status(res["seq"], "sent")
        reply = self.reply_event(res["seq"])
        reqs = self.graph.wait_requests(2, tmo(5), "/messages")
        self.assertEqual(reqs[0].json["message"], {"text": "Here",
                                                   "metadata": reply["external_id"]})
        self.assertEqual(reqs[1].json["message"], {
            "attachment": {"type": "image", "payload": {"url": "https://example.com/p.jpg",
                                                        "is_reusable": True}},
            "metadata": reply["external_id"]})
        path = os.path.join(self.tmp, "manual.pdf")
        with open(path, "wb") as f:
            f.write(b"%PDF-1.4 manual\n" * 10)
        code, out = self.send(m_in["ticket_id"], "--attach", path)
        self.assertEqual((code, out["status"]), (0, "sent"), out)
        up = self.graph.wait_requests(3, tmo(5), "/messages")[2]
        self.assertEqual(up.bearer, PAGE_TOKEN)
        self.assertEqual(json.loads(up.fields["recipient"]), {"id": PSID})
        self.assertEqual(up.fields["messaging_type"], "RESPONSE")
        self.assertEqual(json.loads(up.fields["message"]), {
            "attachment": {"type": "file", "payload": {"is_reusable": True}},
            "metadata": out["external_id"]})
        self.assertEqual(up.files["filedata"], ("manual.pdf", "application/pdf",
                                                b"%PDF-1.4 manual\n" * 10))

    def old_message(self, channel, account, mid, sender, age_h):
        """A customer message received `age_h` hours ago (straight to the
        router), then a fresh one from someone else through the connector,
        which serves the account's replies again."""
        ing = gwtest.IngestClient(f"tcp://127.0.0.1:{self.gw.ports['ingest']}")
        try:
            ing.send_ok(gwtest.inbound_event(channel, account, mid, sender, "earlier",
                                             received_at=now_ms() - age_h * 3600 * 1000))
        finally:
            ing.close()
        m = self.bus.wait_message(mid)
        other = f"{mid}-other"
        self.writes(page_body(customer_item("6000000000009999", PAGE, other, "hello")), other)
        return m

    def test_human_agent_tag_and_window(self):
        m2d = self.old_message("messenger", PAGE, "m_old_2d", "6000000000000222", 48)
        code, out = self.send(m2d["ticket_id"], "Sorry for the delay")
        self.assertEqual((code, out["status"]), (0, "sent"), out)
        r = self.graph.wait_requests(1, tmo(5), "/messages")[0]
        self.assertEqual((r.json["messaging_type"], r.json["tag"]),
                         ("MESSAGE_TAG", "HUMAN_AGENT"))
        m8d = self.old_message("messenger", PAGE, "m_old_8d", "6000000000000888", 8 * 24)
        code, out = self.send(m8d["ticket_id"], "Still there?")
        self.assertEqual(code, 1, out)
        self.assertEqual(out["errors"][0]["title"],
                         "outside Messenger's 7-day human agent window")
        self.assertEqual(len(self.graph.requests), 1)

    def test_account_without_token(self):
        other_page = "104000000000999"
        body = ms_item_body(MS, "WebhookTest.shouldHandleTextMessageEvent.json", other_page,
                            customer_item(PSID, other_page, "m_nt_1", "hi"))
        m_in = self.writes(body, "m_nt_1")
        code, out = self.send(m_in["ticket_id"], "Hello")
        self.assertEqual(code, 1, out)
        self.assertEqual(out["errors"][0]["title"],
                         f"Messenger replies are off for account {other_page}: "
                         "no page_tokens entry")
        self.assertEqual(self.graph.requests, [])


class MessengerWindowWithoutTag(MetaReplyCase):

    def test_24_hours_without_human_agent_tag(self):
        """human_agent_tag off (the default): 24 hours, then refused; a
        page token whose variable is unset turns that account's replies off."""
        self.start_reply_gateway(env={"GATEWAY_META_IG_TOKEN": None})
        ing = gwtest.IngestClient(f"tcp://127.0.0.1:{self.gw.ports['ingest']}")
        try:
            ing.send_ok(gwtest.inbound_event("messenger", PAGE, "m_w_old", PSID, "earlier",
                                             received_at=now_ms() - 30 * 3600 * 1000))
        finally:
            ing.close()
        m_old = self.bus.wait_message("m_w_old")
        self.accept(page_body(customer_item("6000000000009999", PAGE, "m_w_new", "hi")),
                    events=1)
        self.bus.wait_message("m_w_new")
        code, out = self.send(m_old["ticket_id"], "Hello?")
        self.assertEqual(code, 1, out)
        self.assertEqual(out["errors"][0]["title"],
                         "outside Messenger's 24-hour window (human_agent_tag is off)")
        self.assertEqual(self.graph.requests, [])
        gwtest.wait_until(lambda: f"account {IG_ACCOUNT}: GATEWAY_META_IG_TOKEN is not set"
                          in self.gw.ctl("status").stdout, tmo(5),
                          "gatewayctl status naming the missing page token")


if __name__ == "__main__":
    unittest.main()

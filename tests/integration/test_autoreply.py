"""
Automatic messages (docs/automation.md) on the API channel, whose signed
callback is the simplest provider: the test's receiver (test_api_callback's)
gets every reply the gateway sends.

  - a new ticket is acknowledged with its token and SLA due time, in the
    customer's language (a French message gets the French text), and the
    message.sent says `automatic: acknowledgement`
  - no second acknowledgement to a customer within automation.window_s
    (a new ticket of theirs right after gets none), also after a restart
  - the still-waiting notice comes from the router's timers alone (no
    traffic) after rules[].after_s, not to a ticket an agent answered
  - WhatsApp past its 24 h window: the rule's approved template, or
    nothing (logged) without one
  - outside the queue's business hours (hours set in the config's time zone
    so that now is closed) the out-of-hours notice names the next opening
By email (AutoreplyEmail, through the real Postfix and Dovecot of the email
tests, skipped like them without root): the acknowledgement carries
Auto-Submitted: auto-replied and the French text, the customer's vacation
notice before it got none, and once their autoresponder answered the
acknowledgement no still-waiting notice goes to it.
On the providers' stand-ins (AutoreplyProviders, one gateway with a
Telegram, an SMS and a live chat connector; AutoreplyMeta, the Meta connector and its
Graph stand-in): each customer's French message is acknowledged once, in
French, through the channel's own API (Bot API sendMessage, Twilio's
Messages resource, the visitor's websocket, the Graph API's /messages for WhatsApp, Messenger and
Instagram); a WhatsApp customer who wrote 25 h ago gets the rule's
approved template instead.
"""

import datetime
import json
import os
import time
import unittest
import zoneinfo

import gwtest
from gwtest import Gateway, GatewayTestCase, message_body, tmo
from test_api_callback import SECRET, Receiver
from test_email_reply import CUSTOMER, USERS, ReplyTestCase
import test_meta_reply
import test_meta_reply_ms
import test_livechat
import test_sms
import test_telegram
from botapi import BotApi
from graph_standin import GraphStandIn

INSTANCE = "webform"
ZONE = "Europe/Paris"

TEMPLATES = [
    "  templates:",
    "    - name: ack",
    '      text: "Hello {{customer.name}}, we got your message {{ticket.token}}. '
    'Expect an answer by {{sla.first_response}}."',
    "    - name: ack",
    "      language: fr",
    '      text: "Bonjour {{customer.name}}, nous avons bien reçu votre message '
    '{{ticket.token}}."',
    "    - name: closed",
    '      text: "We are closed. We open again on {{hours.next_open}}. {{ticket.token}}"',
    "    - name: waiting",
    '      text: "Still on it, {{customer.name}} {{ticket.token}}"',
]


def automation(window_s=3600, after_s=3, rules_extra=()):
    return ["  window_s: %d" % window_s] + TEMPLATES + [
        "  rules:"] + list(rules_extra) + [
        "    - kind: acknowledgement",
        "      template: ack",
        "    - kind: out_of_hours",
        "      template: closed",
        "    - kind: still_waiting",
        "      template: waiting",
        "      after_s: %d" % after_s,
    ]


def closed_hours(now):
    """A daily hour range of ZONE that does not hold `now` (aware), and the
    next opening after now as 'YYYY-MM-DD HH:MM'."""
    local = now.astimezone(zoneinfo.ZoneInfo(ZONE))
    start = (local.hour + 2) % 24
    if start > 21:
        start = 1
    if start <= local.hour < start + 1:
        start = (start + 3) % 22
    opening = local.replace(hour=start, minute=0, second=0, microsecond=0)
    if opening <= local:
        opening += datetime.timedelta(days=1)
    return "mon-sun %02d:00-%02d:00" % (start, start + 1), opening.strftime("%Y-%m-%d %H:%M")


class Autoreply(GatewayTestCase):

    def start(self, routing=(), **kw):
        rec = Receiver()
        self.addCleanup(rec.close)
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        lines = ["callback_secret: ${GATEWAY_API_CALLBACK_SECRET}",
                 f'callback_url: "{rec.url}"']
        gw = Gateway(root, connector_name=INSTANCE, extra_connector_lines=lines,
                     automation_lines=automation(**kw),
                     routing_lines=["  reopen_window_h: 0"] + list(routing))
        gw.env["GATEWAY_API_CALLBACK_SECRET"] = SECRET
        self.gw = self.run_gateway(gw)
        self.bus = self.start_consumer(gw)
        return rec

    def post(self, ext, sender, name, text):
        c = self.gw.client()
        try:
            r = c.post_until_accepted(message_body(ext, sender, name, text=text),
                                      time.monotonic() + tmo(15))
        finally:
            c.close()
        self.assertEqual(r.status, 202, r)
        return self.bus.wait_message(ext)

    def automatic_to(self, rec, sender, kind=None):
        with rec.cond:
            return [r["doc"] for r in rec.requests
                    if r["doc"]["to"]["id"] == sender and r["doc"].get("automatic") and
                    (kind is None or r["doc"]["automatic"] == kind)]

    def wait_automatic(self, rec, sender, kind, n=1):
        rec.wait(lambda r: len(self.automatic_to(r, sender, kind)) >= n, tmo(15),
                 f"{n} {kind} message(s) to {sender}")
        return self.automatic_to(rec, sender, kind)

    def test_acknowledgement_language_window_and_still_waiting(self):
        rec = self.start(after_s=3)
        en = self.post("en-1", "+15550000001", "Ana",
                       "Hello, my order has not arrived yet, could you please check it?")
        ack, = self.wait_automatic(rec, "+15550000001", "acknowledgement")
        token = "[#T-%d]" % en["ticket_id"]
        self.assertTrue(ack["text"].startswith(f"Hello Ana, we got your message {token}. "
                                               "Expect an answer by 20"), ack)
        self.assertTrue(ack["text"].endswith(" UTC."), ack)
        self.assertEqual(ack["ticket_id"], en["ticket_id"])
        # The callback may come before the bus consumer has read message.sent.
        self.bus.wait_for(lambda c: any(t == "message.sent" for _, t, m in c.snapshot()),
                          tmo(10), "message.sent of the acknowledgement")
        sent = [m for _, t, m in self.bus.snapshot() if t == "message.sent"]
        self.assertEqual([m.get("automatic") for m in sent], ["acknowledgement"])
        self.assertEqual(sent[0]["ticket_id"], en["ticket_id"])
        # Not a person's reply: the first-response clock still runs.
        t = gwtest.command_ok(self.gw.command_ep, "ticket.get",
                              {"id": en["ticket_id"]})[0]["ticket"]
        self.assertNotIn("first_response_at", t)
        self.assertEqual(t.get("sla_first_response"), "running")

        fr = self.post("fr-1", "+15550000002", "Zoé",
                       "Bonjour, je voudrais savoir où en est ma commande, elle n'est "
                       "toujours pas arrivée et je m'inquiète un peu. Merci beaucoup.")
        ack_fr, = self.wait_automatic(rec, "+15550000002", "acknowledgement")
        self.assertEqual(ack_fr["text"], "Bonjour Zoé, nous avons bien reçu votre message "
                         "[#T-%d]." % fr["ticket_id"])

        # An agent answers the English ticket: no still-waiting notice there.
        p = self.gw.ctl("send", str(en["ticket_id"]), "On it", check=False, timeout=tmo(30))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

        # A new ticket of the same customer inside the window: no second one.
        cmd, _ = gwtest.command_ok(self.gw.command_ep, "ticket.close",
                                {"command_id": "close-1", "ticket_id": en["ticket_id"]})
        self.assertEqual(cmd["status"], "closed")
        en2 = self.post("en-2", "+15550000001", "Ana", "Another question about an invoice.")
        self.assertNotEqual(en2["ticket_id"], en["ticket_id"])
        # A third customer's acknowledgement comes after en-2's turn.
        self.post("en-3", "+15550000003", "Bo", "A question about shipping costs please.")
        self.wait_automatic(rec, "+15550000003", "acknowledgement")
        self.assertEqual(len(self.automatic_to(rec, "+15550000001", "acknowledgement")), 1)

        # Timers alone: the French ticket is still waiting after 3 s.
        wait, = self.wait_automatic(rec, "+15550000002", "still_waiting")
        self.assertEqual(wait["text"], "Still on it, Zoé [#T-%d]" % fr["ticket_id"])
        self.assertEqual(self.automatic_to(rec, "+15550000001", "still_waiting"), [])
        self.assertIn("autoreply", self.gw.log_tail(400))

    def test_window_survives_a_restart(self):
        """The window is in the store: after a restart a new ticket of the
        same customer inside it is not acknowledged again."""
        rec = self.start()
        m = self.post("r-1", "+15550000005", "Ana", "Hello, a question about my invoice.")
        self.wait_automatic(rec, "+15550000005", "acknowledgement")
        gwtest.command_ok(self.gw.command_ep, "ticket.close",
                          {"command_id": "close-r", "ticket_id": m["ticket_id"]})
        self.gw.stop()
        self.gw.start()
        self.bus = self.start_consumer(self.gw)
        m2 = self.post("r-2", "+15550000005", "Ana", "And another question, please.")
        self.assertNotEqual(m2["ticket_id"], m["ticket_id"])
        self.post("r-3", "+15550000006", "Bo", "A question about shipping costs please.")
        self.wait_automatic(rec, "+15550000006", "acknowledgement")
        self.assertEqual(len(self.automatic_to(rec, "+15550000005", "acknowledgement")), 1)

    def test_out_of_hours_names_the_next_opening(self):
        hours, opening = closed_hours(datetime.datetime.now(datetime.timezone.utc))
        rec = self.start(routing=[
            "  business_hours:",
            "    - name: office",
            f"      timezone: {ZONE}",
            f'      hours: "{hours}"',
            "  queues:",
            "    - name: general",
            "      business_hours: office",
        ])
        m = self.post("ooh-1", "+15550000009", "Ana", "Hello, is anyone there? I need help.")
        note, = self.wait_automatic(rec, "+15550000009", "out_of_hours")
        self.assertEqual(note["text"], f"We are closed. We open again on {opening} {ZONE}. "
                         "[#T-%d]" % m["ticket_id"])
        self.assertEqual(self.automatic_to(rec, "+15550000009", "acknowledgement"), [])

    def test_whatsapp_window(self):
        """WhatsApp past its 24 h window: the rule's approved template is
        sent instead of free text; a rule without one sends nothing and the
        log says why. (The channel's messages come through the ingest socket
        as the meta connector hands them over; no connector takes the
        replies here, only their message.sent matters.)"""
        self.start(rules_extra=[
            "    - kind: acknowledgement",
            "      channel: whatsapp",
            "      queue: vip",
            "      template: ack",
            "    - kind: acknowledgement",
            "      channel: whatsapp",
            "      template: ack",
            "      whatsapp_template: ticket_received",
            "      whatsapp_language: fr",
        ], routing=[
            "  queues:",
            "    - name: vip",
            "      keywords: [urgent]",
            "    - name: general",
        ])
        old = int(time.time() * 1000) - 25 * 3600 * 1000
        ing = gwtest.IngestClient(f"tcp://127.0.0.1:{self.gw.ports['ingest']}")
        self.addCleanup(ing.close)
        ing.send_ok(gwtest.inbound_event("whatsapp", "wa1", "wamid.1", "+33612345678",
                                         "Hello, my order is late", name="Ana",
                                         received_at=old))
        ing.send_ok(gwtest.inbound_event("whatsapp", "wa1", "wamid.2", "+33612345679",
                                         "urgent: my order is late", name="Bo",
                                         received_at=old))
        gwtest.wait_until(lambda: "outside the provider's 24 h window" in
                          self.gw.log_tail(400), tmo(15), "the skipped message logged")
        self.bus.wait_for(lambda c: [m for _, t, m in c.snapshot() if t == "message.sent"],
                          tmo(15), "the template acknowledgement")
        sent = [m for _, t, m in self.bus.snapshot() if t == "message.sent"]
        self.assertEqual(len(sent), 1, sent)
        self.assertEqual(sent[0]["to"]["address"], "+33612345678")
        self.assertEqual(sent[0]["template"], {"name": "ticket_received", "language": "fr"})
        self.assertEqual(sent[0]["automatic"], "acknowledgement")


class AutoreplyEmail(ReplyTestCase):
    """The acknowledgement by email through the real Postfix and Dovecot of
    the email tests: Auto-Submitted: auto-replied (RFC 3834), the customer's
    language, and none to an auto-replier."""

    def start_auto(self):
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        # after_s leaves the autoresponder's answer (below) time to come in.
        gw = gwtest.Gateway(root, automation_lines=automation(after_s=int(tmo(10))))
        lines = self.connector("mail", "support", self.plain_smtp())
        gw.connectors.append("mail")
        with open(gw.config_path, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        for user, pw in USERS.items():
            gw.env[f"GW_MAIL_PW_{user.upper()}"] = pw
        gw.env["GW_SMTP_PW"] = USERS["support"]
        self.gw = self.run_gateway(gw)
        self.bus = self.start_consumer(gw)

    def test_acknowledgement_by_email(self):
        self.start_auto()
        # The customer's vacation notice: flagged, opens no ticket, no answer.
        auto = self.inbound("support", "vac1@customer.test", subject="Out of office",
                            headers=["Auto-Submitted: auto-replied"],
                            body="I am away until Monday.")
        self.assertTrue(auto.get("auto_reply"), auto)
        self.assertNotIn("ticket_id", auto)
        m = self.inbound("support", "c1@customer.test", subject="Commande 1234",
                         body="Bonjour, je voudrais savoir où en est ma commande, elle "
                              "n'est toujours pas arrivée. Merci beaucoup de votre aide.")
        got = self.mails("customer")
        self.assertEqual(len(got), 1, [str(g["Subject"]) for g in got])
        r = got[0]
        self.assertEqual(r["Auto-Submitted"], "auto-replied")
        self.assertEqual(r["To"].addresses[0].addr_spec, CUSTOMER)
        self.assertEqual(r["In-Reply-To"], "<c1@customer.test>")
        self.assertEqual(str(r["Subject"]), "Re: Commande 1234 [#T-%d]" % m["ticket_id"])
        self.assertEqual(r.get_content().replace("\r\n", "\n").rstrip("\n"),
                         "Bonjour José Núñez, nous avons bien reçu votre message "
                         "[#T-%d]." % m["ticket_id"])
        sent = self.sent_events()
        self.assertEqual([(s.get("automatic"), s["ticket_id"]) for s in sent],
                         [("acknowledgement", m["ticket_id"])])
        # The customer's autoresponder answers the acknowledgement: it joins
        # the ticket, and the still-waiting notice (due after_s after the
        # opening) does not answer an automated sender.
        vac = self.inbound("support", "vac2@customer.test", subject="Re: Commande 1234",
                           headers=["Auto-Submitted: auto-replied",
                                    f"In-Reply-To: {r['Message-ID']}"],
                           body="I am away until Monday.")
        self.assertEqual(vac["ticket_id"], m["ticket_id"])
        gwtest.wait_until(lambda: "no automatic message answers an automated sender" in
                          self.gw.log_tail(400), tmo(20), "the still-waiting notice skipped")
        self.assertEqual(self.dc.count("customer", "INBOX"), 1)
        self.assertEqual(len(self.sent_events()), 1)


FRENCH = ("Bonjour, je voudrais savoir où en est ma commande, elle n'est toujours pas "
          "arrivée et je m'inquiète un peu. Merci beaucoup.")


class AutoreplyProviders(test_sms.SmsCase):
    """The acknowledgement through the Telegram and SMS stand-ins and a
    live chat visitor's websocket: one gateway, the three connectors, one
    French customer each."""

    def setUp(self):
        super().setUp()
        self.api = BotApi(test_telegram.TOKEN)
        self.addCleanup(self.api.close)
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        gw = Gateway(root, automation_lines=automation(after_s=3600))
        self.sms_port, self.chat_port = gwtest.free_ports(2)
        self.token = "0123456789abcdef0123456789abcdef"
        self.twilio = self.stand_in()
        lines = [f"  - name: {test_telegram.INSTANCE}", "    type: telegram",
                 "    enabled: true", "    token: ${GATEWAY_TELEGRAM_TOKEN}",
                 f"    api_url: \"{self.api.base}\"", "    mode: polling",
                 "    poll_timeout_s: 2",
                 f"  - name: {test_sms.INSTANCE}", "    type: sms", "    enabled: true",
                 f"    listen: \"127.0.0.1:{self.sms_port}\"",
                 f"    public_url: {test_sms.PUBLIC_URL}",
                 "    account_sid: ${GATEWAY_TWILIO_ACCOUNT_SID}",
                 "    auth_token: ${GATEWAY_TWILIO_AUTH_TOKEN}", "    send_rate_per_s: 0",
                 f"    api_base: \"{self.twilio.base}\"",
                 "  - name: chat", "    type: livechat", "    enabled: true",
                 f"    listen: \"127.0.0.1:{self.chat_port}\"",
                 "    secret: ${GATEWAY_LIVECHAT_SECRET}"]
        with open(gw.config_path, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        gw.env.update({"GATEWAY_TELEGRAM_TOKEN": test_telegram.TOKEN,
                       "GATEWAY_TWILIO_ACCOUNT_SID": test_sms.ACCOUNT_SID,
                       "GATEWAY_TWILIO_AUTH_TOKEN": self.token,
                       "GATEWAY_LIVECHAT_SECRET": test_livechat.SECRET})
        gw.connectors += [test_telegram.INSTANCE, test_sms.INSTANCE, "chat"]
        self.gw = self.run_gateway(gw)
        self.bus = self.start_consumer(gw)
        gwtest.wait_until(self._healthy, tmo(10), "GET /healthz of the SMS connector")

    def test_acknowledgement_on_telegram_sms_and_livechat(self):
        self.api.add_update(test_telegram.text_update(5150001, 11, FRENCH, name="Zoé"))
        sms = self.incoming(self.bus, "SM" + "f" * 32, FRENCH)
        ws = test_livechat.Ws(self.chat_port)
        self.addCleanup(ws.close)
        ws.send({"type": "hello", "token": None, "last_seen": None})
        ws.wait(lambda o: o["type"] == "welcome", "welcome")
        ws.send({"type": "message", "client_id": "ack-1", "text": FRENCH, "name": "Léa"})
        ws.wait(lambda o: o["type"] == "ack", "the ack of the visitor's message")
        out = ws.wait(lambda o: o["type"] == "message" and o["direction"] == "out",
                      "the acknowledgement on the websocket")
        def received_tg(c):
            return [m for _, t, m in c.snapshot()
                    if t == "message.received" and m["channel"] == "telegram"]
        self.bus.wait_for(received_tg, tmo(15), "the Telegram message")
        tg = received_tg(self.bus)[0]

        def acks(c):
            return [m for _, t, m in c.snapshot() if t == "message.sent" and
                    m.get("automatic") == "acknowledgement"]
        self.bus.wait_for(lambda c: len(acks(c)) >= 3, tmo(15), "three acknowledgements")
        self.api.wait(lambda a: a.calls_of("sendMessage"), tmo(15), "Telegram's sendMessage")
        self.twilio.wait(lambda s: s.requests, tmo(15), "Twilio's Messages request")
        # The French text, each on its own channel, once.
        text = "Bonjour %s, nous avons bien reçu votre message [#T-%d]."
        calls = self.api.calls_of("sendMessage")
        self.assertEqual(len(calls), 1, calls)
        self.assertEqual(str(calls[0][1]["chat_id"]), "5150001")
        self.assertEqual(calls[0][1]["text"], text % ("Zoé", tg["ticket_id"]))
        with self.twilio.cond:
            reqs = list(self.twilio.requests)
        self.assertEqual(len(reqs), 1, reqs)
        self.assertEqual(reqs[0]["form"]["To"], [test_sms.CUSTOMER])
        self.assertTrue(reqs[0]["form"]["Body"][0].startswith("Bonjour "), reqs[0])
        self.assertTrue(reqs[0]["form"]["Body"][0].endswith(
            "nous avons bien reçu votre message [#T-%d]." % sms["ticket_id"]), reqs[0])
        chat, = [m for m in acks(self.bus) if m["channel"] == "livechat"]
        self.assertEqual(out["text"], text % ("Léa", chat["ticket_id"]))
        self.assertEqual(sorted(m["channel"] for m in acks(self.bus)),
                         ["livechat", "sms", "telegram"])


class AutoreplyMeta(test_meta_reply.MetaReplyCase):
    """The acknowledgement through the Graph stand-in: WhatsApp inside its
    window (free text), past it (the rule's template), Messenger and
    Instagram (free text), one French customer each. The connector stamps
    a message with its arrival, so the one of 25 h ago comes through the
    ingest socket as the connector hands messages over (as in
    test_whatsapp_window), on the connector's phone number: the connector
    sends its acknowledgement."""

    def setUp(self):
        super().setUp()
        mr = test_meta_reply
        self.graph = GraphStandIn(mr.WA_TOKEN, {mr.PAGE: mr.PAGE_TOKEN,
                                                mr.IG_ACCOUNT: mr.IG_TOKEN}).start()
        self.addCleanup(self.graph.stop)
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        gw = Gateway(root, automation_lines=automation(after_s=3600, rules_extra=[
            "    - kind: acknowledgement",
            "      template: ack",
            "      whatsapp_template: ticket_received",
            "      whatsapp_language: fr"]))
        lines = [f"graph_url: \"{self.graph.base}\"",
                 f"page_tokens: [\"{mr.PAGE}=GATEWAY_META_PAGE_TOKEN\", "
                 f"\"{mr.IG_ACCOUNT}=GATEWAY_META_IG_TOKEN\"]",
                 "access_token: ${GATEWAY_META_ACCESS_TOKEN}", *self.send_lines]
        self.start_meta_gateway(extra_lines=lines, gw=gw, env={
            "GATEWAY_META_PAGE_TOKEN": mr.PAGE_TOKEN, "GATEWAY_META_IG_TOKEN": mr.IG_TOKEN,
            "GATEWAY_META_ACCESS_TOKEN": mr.WA_TOKEN})
        self.bus = self.start_consumer(gw)

    def test_acknowledgement_on_meta(self):
        ms = test_meta_reply_ms
        wa_new = self.customer_writes("wamid.ack-1", FRENCH, sender="33611111111")
        ing = gwtest.IngestClient(f"tcp://127.0.0.1:{self.gw.ports['ingest']}")
        self.addCleanup(ing.close)
        ing.send_ok(gwtest.inbound_event(
            "whatsapp", test_meta_reply.PHONE, "wamid.ack-2", "33622222222", FRENCH,
            name="Zoé", received_at=int(time.time() * 1000) - 25 * 3600 * 1000))
        wa_old = self.bus.wait_message("wamid.ack-2", tmo(10))
        self.accept(ms.page_body(ms.customer_item(ms.PSID, test_meta_reply.PAGE, "m_ack_1",
                                                  FRENCH)), events=1)
        page = self.bus.wait_message("m_ack_1", tmo(10))
        self.accept(ms.ig_body(ms.customer_item(ms.IGSID, test_meta_reply.IG_ACCOUNT,
                                                "ig_ack_1", FRENCH)), events=1)
        ig = self.bus.wait_message("ig_ack_1", tmo(10))
        reqs = self.graph.wait_requests(4, tmo(15), "/messages")
        by_to = {}
        for r in reqs:
            to = r.json.get("to") or r.json["recipient"]["id"]
            by_to.setdefault(to, []).append(r.json)
        self.assertEqual(sorted(len(v) for v in by_to.values()), [1, 1, 1, 1], by_to)
        ending = "nous avons bien reçu votre message [#T-%d]."
        (wa,) = by_to["33611111111"]
        self.assertEqual(wa["type"], "text", wa)
        self.assertTrue(wa["text"]["body"].startswith("Bonjour "), wa)
        self.assertTrue(wa["text"]["body"].endswith(ending % wa_new["ticket_id"]), wa)
        (tpl,) = by_to["33622222222"]
        self.assertEqual((tpl["type"], tpl["template"]["name"],
                          tpl["template"]["language"]["code"]),
                         ("template", "ticket_received", "fr"), tpl)
        for psid, m in ((ms.PSID, page), (ms.IGSID, ig)):
            (doc,) = by_to[psid]
            self.assertTrue(doc["message"]["text"].startswith("Bonjour "), doc)
            self.assertTrue(doc["message"]["text"].endswith(ending % m["ticket_id"]), doc)
        # The Graph API can have the fourth request before the bus consumer
        # has read its message.sent: wait for all four.
        self.bus.wait_for(lambda c: len([1 for _, t, _ in c.snapshot()
                                         if t == "message.sent"]) >= 4,
                          tmo(10), "the four acknowledgements on the bus")
        sent = [m for _, t, m in self.bus.snapshot() if t == "message.sent"]
        self.assertEqual(sorted(m["ticket_id"] for m in sent),
                         sorted([wa_new["ticket_id"], wa_old["ticket_id"], page["ticket_id"],
                                 ig["ticket_id"]]))
        self.assertEqual({m.get("automatic") for m in sent}, {"acknowledgement"})


if __name__ == "__main__":
    unittest.main()

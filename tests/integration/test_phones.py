"""
One customer per phone number across SMS, WhatsApp, Telegram and the API
channel, through the real connectors (docs/routing.md, docs/threading.md
"One customer per phone number").

One gatewayd with `routing.default_region: BR`, an `sms` connector (signed
Twilio webhooks), a `meta` connector (signed WhatsApp webhooks), a
`telegram` connector polling the Bot API stand-in (botapi.py) and the API
connector:

  - a text from +5511987654321 by SMS, a WhatsApp message from wa_id
    551187654321 (the number before Brazil's ninth digit) and a Telegram
    user who shares their own contact (5511987654321, as Telegram writes
    it) are one customer: one customer.created, one phone identity;
  - a message through the API channel from "11 98765-4321" (national
    form, read in BR) is the same customer;
  - a Telegram user who writes first (/start: a customer of its own) and
    then shares their own contact, written nationally ("(11) 98765-4321"),
    is merged into that customer by the router (customer.merged with its
    cause): its /start ticket, its identity and its later messages are
    the phone's customer's;
  - someone else's contact card with the number is a claim: its sender
    stays a customer of its own, a probable match of the phone's;
  - the Telegram username and language are the customer's attributes.
"""

import json
import os
import secrets
import time
import unittest
import urllib.parse

import gwtest
from botapi import BotApi
from gwtest import GatewayTestCase, tmo
from test_meta import sign, wa_batch
from test_sms import inbound, twilio_signature

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
PUBLIC_URL = "https://gateway.example.test"
SMS_PATH = "/webhooks/sms"
META_PATH = "/webhooks/meta"
TOKEN = "4242:AAH-test_token-0123456789abcdef"
TG = "tg-phones"
PHONE = "+5511987654321"


def tg_message(user, mid, text=None, contact=None, username="ana_br", language="pt-br"):
    """A private chat's message Update from Telegram user `user`."""
    who = {"id": user, "is_bot": False, "first_name": "Ana", "username": username,
           "language_code": language}
    msg = {"message_id": mid, "from": who,
           "chat": {"id": user, "type": "private", "first_name": "Ana"},
           "date": int(time.time())}
    if contact is not None:
        msg["contact"] = dict(contact, first_name="Ana")
    else:
        msg["text"] = text
    return {"message": msg}


class Phones(GatewayTestCase):

    def setUp(self):
        super().setUp()
        self.api = BotApi(TOKEN)
        self.addCleanup(self.api.close)
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = gwtest.Gateway(root, routing_lines=["  default_region: BR"])
        self.sms_port, self.meta_port = gwtest.free_ports(2)
        self.sms_token = secrets.token_hex(16)
        self.meta_secret = secrets.token_hex(16)
        conns = [
            ["  - name: sms", "    type: sms", "    enabled: true",
             f"    listen: \"127.0.0.1:{self.sms_port}\"", f"    public_url: {PUBLIC_URL}",
             "    account_sid: ${GATEWAY_TWILIO_ACCOUNT_SID}",
             "    auth_token: ${GATEWAY_TWILIO_AUTH_TOKEN}"],
            ["  - name: meta", "    type: meta", "    enabled: true",
             f"    listen: \"127.0.0.1:{self.meta_port}\"", f"    path: {META_PATH}",
             "    app_secret: ${GATEWAY_META_APP_SECRET}",
             "    verify_token: ${GATEWAY_META_VERIFY_TOKEN}"],
            [f"  - name: {TG}", "    type: telegram", "    enabled: true",
             "    token: ${GATEWAY_TELEGRAM_TOKEN}", f"    api_url: \"{self.api.base}\"",
             "    poll_timeout_s: 2"],
        ]
        with open(gw.config_path, "a", encoding="utf-8") as f:
            for c in conns:
                f.write("\n".join(c + ["    " + ln for ln in
                                        gwtest.with_sender_limits_off(())]) + "\n")
        gw.env.update(GATEWAY_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
                      GATEWAY_TWILIO_AUTH_TOKEN=self.sms_token,
                      GATEWAY_META_APP_SECRET=self.meta_secret,
                      GATEWAY_META_VERIFY_TOKEN=secrets.token_hex(8),
                      GATEWAY_TELEGRAM_TOKEN=TOKEN)
        gw.connectors += ["sms", "meta", TG]
        self.gw = self.run_gateway(gw)
        for port in (self.sms_port, self.meta_port):
            gwtest.wait_until(lambda p=port: self._healthy(p), tmo(10), f"/healthz on {port}")
        self.bus = self.start_consumer(self.gw)

    # helpers

    def _post(self, port, path, body, headers):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=tmo(10))
        try:
            c.request("POST" if body is not None else "GET", path, body=body, headers=headers)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def _healthy(self, port):
        try:
            return self._post(port, "/healthz", None, {})[0] == 200
        except gwtest.RETRYABLE:
            return False

    def sms(self, sid, text, frm):
        params = inbound(sid, text, frm=frm, to="+5511999990000")
        h = {"Content-Type": "application/x-www-form-urlencoded",
             "X-Twilio-Signature": twilio_signature(self.sms_token, PUBLIC_URL + SMS_PATH,
                                                    params)}
        st, body = self._post(self.sms_port, SMS_PATH, urllib.parse.urlencode(params).encode(), h)
        self.assertEqual(st, 200, body)
        return self.bus.wait_message(sid)

    def whatsapp(self, wamid, wa_id):
        body = wa_batch([wamid], sender=wa_id)
        st, res = self._post(self.meta_port, META_PATH, body,
                             {"Content-Type": "application/json",
                              "X-Hub-Signature-256": sign(self.meta_secret, body)})
        self.assertEqual(st, 200, res)
        return self.bus.wait_message(wamid)

    def telegram(self, update):
        self.api.add_update(update)
        m = update["message"]
        return self.bus.wait_message(f"{m['chat']['id']}:{m['message_id']}", timeout=tmo(15))

    def customer(self, cid):
        res, _ = gwtest.command_ok(self.gw.command_ep, "customer.get", {"id": cid})
        return res

    def events(self, etype):
        return [m for _, t, m in self.bus.snapshot() if t == etype]

    # the test

    def test_one_customer_per_phone(self):
        m1 = self.sms("SM" + "1" * 32, "Oi, meu pedido?", PHONE)
        ana = m1["customer_id"]
        m2 = self.whatsapp("wamid.phones-1", "551187654321")
        self.assertEqual(m2["customer_id"], ana, "the wa_id before the ninth digit")
        m3 = self.telegram(tg_message(9100, 1, contact={"phone_number": "5511987654321",
                                                        "user_id": 9100}))
        self.assertEqual(m3["from"]["phone"], PHONE)
        self.assertTrue(m3["from"]["phone_verified"])
        self.assertEqual(m3["customer_id"], ana, "the shared contact")
        client = self.gw.client()
        self.addCleanup(client.close)
        r = client.post_message(gwtest.message_body("api-phones-1", sender="11 98765-4321",
                                                    text="Sou eu de novo"))
        self.assertEqual(r.status, 202, r)
        m4 = self.bus.wait_message("api-phones-1")
        self.assertEqual(m4["customer_id"], ana, "the national form read in BR")

        created = self.events("customer.created")
        self.assertEqual([c["customer_id"] for c in created], [ana], created)

        # Write first, then share the contact (written nationally): the
        # chat's own customer is merged into Ana's by the router.
        first = self.telegram(tg_message(9200, 1, text="/start", username="ana_other"))
        bee = first["customer_id"]
        self.assertNotEqual(bee, ana)
        shared = self.telegram(tg_message(9200, 2, contact={"phone_number": "(11) 98765-4321",
                                                            "user_id": 9200},
                                          username="ana_other"))
        self.assertEqual(shared["customer_id"], ana)
        merged = self.events("customer.merged")
        self.assertEqual(len(merged), 1, merged)
        self.assertEqual((merged[0]["source_customer_id"], merged[0]["target_customer_id"]),
                         (bee, ana))
        self.assertEqual(merged[0]["cause"], f"automatic: phone {PHONE} verified on telegram, "
                         f"held verified by customer {ana}")
        self.assertEqual([t["ticket_id"] for t in merged[0]["tickets"]], [first["ticket_id"]])
        self.assertEqual(self.telegram(tg_message(9200, 3, text="obrigada",
                                                  username="ana_other"))["customer_id"], ana)
        self.assertEqual([c["customer_id"] for c in self.events("customer.created")], [ana, bee])

        # Someone else's card with the number: only a claim. Its sender is
        # a customer of its own, flagged a probable match of Ana's.
        other = self.telegram(tg_message(9300, 1, contact={"phone_number": "5511987654321",
                                                           "user_id": 1234},
                                         username="cy"))
        self.assertEqual(other["from"]["phone"], PHONE)
        self.assertNotIn("phone_verified", other["from"])
        self.assertNotEqual(other["customer_id"], ana)
        cy = self.customer(other["customer_id"])["customer"]
        self.assertEqual(cy["probable_match"], ana)
        self.assertIn(f"phone {PHONE}: claimed here, held verified by customer {ana}",
                      cy["probable_match_reason"])

        got = self.customer(ana)
        ids = got["customer"]["identities"]
        phones = [i for i in ids if i["kind"] == "phone"]
        self.assertEqual(len(phones), 1, ids)
        self.assertEqual(phones[0]["address"], PHONE)
        self.assertTrue(phones[0]["verified"])
        kinds = {(i["kind"], i["address"]) for i in ids}
        for want in [("sms", PHONE), ("whatsapp", "551187654321"), ("telegram", "9100"),
                     ("telegram", "9200")]:
            self.assertIn(want, kinds)
        self.assertIn(first["ticket_id"], {t["ticket_id"] for t in got["tickets"]})
        # The Telegram username and language ride as attributes; the
        # latest username of the customer's chats wins.
        self.assertEqual(got["customer"]["attributes"], ["telegram.language_code=pt-br",
                                                         "telegram.username=ana_other"])
        print(f"\n{self.id()}: customer {ana}: "
              f"{json.dumps(got['customer'], sort_keys=True)[:600]}")


if __name__ == "__main__":
    unittest.main()

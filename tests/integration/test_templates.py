"""
Canned responses (docs/automation.md, "Templates"): named texts of the
config's automation.templates, rendered by the router with the ticket's,
the customer's and the command's variables, in the customer's language.

  - `gatewayctl send T --template NAME --var k=v` reaches the API channel's
    callback with every variable filled ({{customer.name}}, {{ticket.id}},
    {{ticket.subject}}, {{agent.name}}, a --var); a French customer gets
    the French text; it is a person's reply (no `automatic`) and stops the
    ticket's first-response clock
  - a variable nothing defines fails before anything is sent: gatewayctl
    exits non-zero naming it, message.send answers GW_EMISSING naming it,
    and neither a message.sent nor a callback follows
  - an unknown template is GW_ENOTFOUND
  - the HTTP integration API's replies take `canned` and `vars` too (400
    invalid_request naming a missing variable)
"""

import os
import time
import unittest

import gwtest
from gwtest import GatewayTestCase, message_body, tmo
from integ import IntegGateway
from test_api_callback import SECRET, Receiver

INSTANCE = "webform"

AUTOMATION = [
    "  templates:",
    "    - name: shipped",
    '      subject: "{{ticket.subject}} [#T-{{ticket.id}}]"',
    '      text: "Hi {{customer.name}}, {{agent.name}} here about \\"{{ticket.subject}}\\" '
    '(ticket {{ticket.id}}): your parcel {{tracking}} left today."',
    "    - name: shipped",
    "      language: fr",
    '      text: "Bonjour {{customer.name}}, ici {{agent.name}} : votre colis {{tracking}} '
    'est parti aujourd\'hui."',
]


class Templates(GatewayTestCase):

    def setUp(self):
        super().setUp()
        self.rec = Receiver()
        self.addCleanup(self.rec.close)
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        lines = ["callback_secret: ${GATEWAY_API_CALLBACK_SECRET}",
                 f'callback_url: "{self.rec.url}"']
        gw = IntegGateway(root, connector_name=INSTANCE, extra_connector_lines=lines,
                          automation_lines=AUTOMATION)
        gw.env["GATEWAY_API_CALLBACK_SECRET"] = SECRET
        self.gw = self.run_gateway(gw)
        self.bus = self.start_consumer(gw)

    def post(self, ext, sender, name, text, subject=None):
        c = self.gw.client()
        try:
            r = c.post_until_accepted(message_body(ext, sender, name, text=text,
                                                   subject=subject),
                                      time.monotonic() + tmo(15))
        finally:
            c.close()
        self.assertEqual(r.status, 202, r)
        return self.bus.wait_message(ext)

    def send(self, ticket, *args):
        p = self.gw.ctl("send", str(ticket), *args, "--wait", check=False, timeout=tmo(60))
        return p.returncode, p.stdout + p.stderr

    def sent(self):
        return [m for _, t, m in self.bus.snapshot() if t == "message.sent"]

    def test_variables_language_and_missing(self):
        en = self.post("en-1", "+15550000001", "Ana",
                       "Hello, where is my parcel? It has not arrived yet.",
                       subject="Order 1234")
        rc, out = self.send(en["ticket_id"], "--template", "shipped", "--var",
                            "tracking=1Z999", "--author", "Ann")
        self.assertEqual(rc, 0, out)
        self.assertIn("delivery sent", out)
        req, = [r["doc"] for r in self.rec.requests]
        t = en["ticket_id"]
        self.assertEqual(req["text"], f'Hi Ana, Ann here about "Order 1234" (ticket {t}): '
                         "your parcel 1Z999 left today.")
        self.assertEqual(req["subject"], f"Order 1234 [#T-{t}]")
        self.assertNotIn("automatic", req)
        sent, = self.sent()
        self.assertNotIn("automatic", sent)
        ticket = gwtest.command_ok(self.gw.command_ep, "ticket.get", {"id": t})[0]["ticket"]
        self.assertTrue(ticket.get("first_response_at"), ticket)

        fr = self.post("fr-1", "+15550000002", "Zoé",
                       "Bonjour, je voudrais savoir où en est mon colis, il n'est toujours "
                       "pas arrivé et je m'inquiète un peu. Merci beaucoup.")
        rc, out = self.send(fr["ticket_id"], "--template", "shipped", "--var",
                            "tracking=1Z888", "--author", "Léa")
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.rec.requests[-1]["doc"]["text"],
                         "Bonjour Zoé, ici Léa : votre colis 1Z888 est parti aujourd'hui.")

        # A variable nothing defines: refused, nothing sent.
        rc, out = self.send(en["ticket_id"], "--template", "shipped", "--author", "Ann")
        self.assertNotEqual(rc, 0, out)
        self.assertIn("tracking", out)
        status, res, _ = gwtest.command(self.gw.command_ep, "message.send", {
            "command_id": "c-missing", "ticket_id": en["ticket_id"], "canned": "shipped",
            "author": "Ann", "vars": {"other": "x"}})
        self.assertEqual(status, "error")
        self.assertEqual(res["code"], "GW_EMISSING")
        self.assertIn("missing variable 'tracking'", res["message"])
        # No agent on the ticket and no author: agent.name is undefined too.
        status, res, _ = gwtest.command(self.gw.command_ep, "message.send", {
            "command_id": "c-noagent", "ticket_id": en["ticket_id"], "canned": "shipped",
            "vars": {"tracking": "1Z777"}})
        self.assertEqual((status, res["code"]), ("error", "GW_EMISSING"))
        self.assertIn("missing variable 'agent.name'", res["message"])
        status, res, _ = gwtest.command(self.gw.command_ep, "message.send", {
            "command_id": "c-unknown", "ticket_id": en["ticket_id"], "canned": "nope"})
        self.assertEqual((status, res["code"]), ("error", "GW_ENOTFOUND"))
        # The next reply is delivery 3: the refused ones made none.
        status, res, _ = gwtest.command(self.gw.command_ep, "message.send", {
            "command_id": "c-ok", "ticket_id": en["ticket_id"], "canned": "shipped",
            "author": "Ann", "vars": {"tracking": "1Z777"}})
        self.assertEqual(status, "ok", res)
        self.assertEqual(res["delivery_id"], 3)
        self.rec.wait(lambda r: len(r.requests) == 3, tmo(15), "the third callback")
        # The callback may come before the bus consumer has read message.sent.
        self.bus.wait_for(lambda c: len(self.sent()) >= 3, tmo(10), "the third message.sent")
        self.assertEqual(len(self.sent()), 3)

    def test_http_api_replies(self):
        m = self.post("h-1", "+15550000007", "Ana", "Where is my parcel, please?",
                      subject="Order 77")
        api = self.gw.api("agent")
        path = f"/v1/tickets/{m['ticket_id']}/replies"
        r = api.post(path, {"canned": "shipped", "author": "Ann"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()["error"], "invalid_request")
        self.assertIn("missing variable 'tracking'", r.json()["message"])
        r = api.post(path, {"canned": "shipped", "author": "Ann",
                            "vars": {"tracking": "1Z555"}})
        self.assertEqual(r.status, 202, r)
        self.rec.wait(lambda rec: len(rec.requests) == 1, tmo(15), "the callback")
        self.assertEqual(self.rec.requests[0]["doc"]["text"],
                         f'Hi Ana, Ann here about "Order 77" (ticket {m["ticket_id"]}): '
                         "your parcel 1Z555 left today.")


if __name__ == "__main__":
    unittest.main()

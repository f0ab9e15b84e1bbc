"""
Reports (docs/reports.md) against the running gateway: tickets opened,
replied to, closed and reopened through the API channel and gatewayctl,
then `gatewayctl report` (table, --csv, --json) and GET /v1/reports give
the figures counted by hand, the same in both, and the same again after
the gateway restarts (they are computed from the event log). By tag: tags
set by a rule at the opening and by `gatewayctl ticket tag` later, a
ticket in two tags counted in both rows, a tag added before the close and
one removed before the end.
"""

import datetime
import json
import os
import time
import unittest

import gwtest
import integ
from gwtest import message_body, tmo


# Tag rules at the opening: "refund" tags billing, "vip" tags vip.
ROUTING = [
    "  tag_rules:",
    "    - name: refunds",
    "      keywords: [refund]",
    "      tags: [billing]",
    "    - name: vips",
    "      keywords: [vip]",
    "      tags: [vip]",
]

# A next-response target (and the default first response and resolution),
# so that the reply after the reopening meets a next-response clock.
SLA = [
    "  sla:",
    "    - first_response_min: 60",
    "      resolution_min: 1440",
    "      next_response_min: 60",
]


class ReportsTest(gwtest.GatewayTestCase):

    def start(self, **kw):
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        gw = self.run_gateway(integ.IntegGateway(root, **kw))
        bus = self.start_consumer(gw)
        return gw, bus

    def post(self, gw, bus, ext, sender, text=None):
        c = gw.client()
        r = c.post_until_accepted(message_body(ext, sender, text=text),
                                  time.monotonic() + tmo(15))
        c.close()
        self.assertEqual(r.status, 202, r)
        bus.wait_message(ext)
        return bus.received(ext)

    def ctl_report(self, gw, day, by, *fmt):
        return gw.ctl("report", "--from", day, "--to", day, "--by", by, *fmt).stdout

    def test_figures_from_the_log(self):
        gw, bus = self.start(routing_lines=SLA)
        day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        a = self.post(gw, bus, "rep-a1", "+15550001111")["ticket_id"]
        b = self.post(gw, bus, "rep-b1", "+15550002222")["ticket_id"]
        self.assertNotEqual(a, b)
        # A: one reply then closed (first-contact resolution); B: closed
        # unanswered; A again: reopened, answered (a next response).
        gw.ctl("send", str(a), "We are on it")
        gw.ctl("ticket", "close", str(a))
        gw.ctl("ticket", "close", str(b))
        m = self.post(gw, bus, "rep-a2", "+15550001111")
        self.assertEqual((m["ticket_id"], m["thread_rule"]), (a, "reopened"))
        gw.ctl("send", str(a), "Back on it")

        j = json.loads(self.ctl_report(gw, day, "channel", "--json"))
        self.assertEqual(j["by"], "channel")
        self.assertEqual([r["channel"] for r in j["rows"]], ["api"])
        row = j["rows"][0]
        want = {"opened": 2, "reopened": 1, "closed": 2, "backlog": 1, "fcr": 1}
        self.assertEqual({k: row[k] for k in want}, want, row)
        self.assertEqual(row["fcr_rate"], 0.5)
        # The reopening started a next-response clock; "Back on it" met it.
        nr = ("sla_next_response_met", "sla_next_response_breached",
              "sla_next_response_met_rate")
        self.assertEqual(tuple(row[k] for k in nr), (1, 0, 1.0), row)
        for k in ("first_response_median_s", "resolution_median_s", "resolution_p90_s",
                  "next_response_median_s"):
            self.assertIsInstance(row[k], int, k)
        self.assertIsNone(row["csat_average"])

        # The integration API computes the same with the same module.
        api = gw.api("reader")
        r = api.get(f"/v1/reports?from={day}&to={day}&by=channel")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), j)
        self.assertEqual(api.get(f"/v1/reports?from={day}&to={day}").json()["by"], "day")
        for q in (f"from={day}&to={day}&by=week", f"from={day}", "from=2026-02-30&to=2026-03-01",
                  f"from={day}&to=2020-01-01"):
            r = api.get("/v1/reports?" + q)
            self.assertEqual((r.status, r.json()["error"]), (400, "invalid_request"), q)

        # The other forms and dimensions.
        csv = self.ctl_report(gw, day, "agent", "--csv").splitlines()
        self.assertTrue(csv[0].startswith("agent,opened,reopened,closed,backlog,"), csv)
        self.assertTrue(csv[1].startswith("-,2,1,2,1,"), csv)  # nobody is assigned
        table = self.ctl_report(gw, day, "day")
        self.assertIn(day, table)
        self.assertIn("frt.med", table.splitlines()[0])
        self.assertIn("slaNR", table.splitlines()[0])
        bad = gw.ctl("report", "--from", day, "--to", day, "--by", "week", check=False)
        self.assertEqual(bad.returncode, 64, bad)

        # Computed from the log: the same after a restart.
        gw.stop()
        gw.start()
        self.assertEqual(json.loads(self.ctl_report(gw, day, "channel", "--json")), j)

    def test_by_tag(self):
        gw, bus = self.start(routing_lines=ROUTING)
        day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        # a: billing (rule), answered and closed: first-contact resolution.
        # b: billing and vip (rules), answered, left open.
        # c: no tag at its opening, vip by hand, then closed unanswered.
        # d: no tag at its opening, vip by hand and removed again, left open.
        a = self.post(gw, bus, "tag-a", "+15550003331", "A refund please")["ticket_id"]
        b = self.post(gw, bus, "tag-b", "+15550003332", "vip here, refund please")["ticket_id"]
        c = self.post(gw, bus, "tag-c", "+15550003333", "Hello")["ticket_id"]
        d = self.post(gw, bus, "tag-d", "+15550003334", "Hello again")["ticket_id"]
        self.assertEqual(len({a, b, c, d}), 4)
        gw.ctl("send", str(a), "Refund on its way")
        gw.ctl("ticket", "close", str(a))
        gw.ctl("send", str(b), "Looking into it")
        gw.ctl("ticket", "tag", str(c), "+vip")
        gw.ctl("ticket", "close", str(c))
        gw.ctl("ticket", "tag", str(d), "+vip")
        gw.ctl("ticket", "tag", str(d), "-vip")

        j = json.loads(self.ctl_report(gw, day, "tag", "--json"))
        self.assertEqual(j["by"], "tag")
        rows = {r["tag"]: r for r in j["rows"]}
        self.assertEqual(list(rows), ["-", "billing", "vip"])
        keys = ("opened", "closed", "backlog", "fcr")
        want = {
            "-": (2, 0, 1, 0),        # c and d opened; d open at the end
            "billing": (2, 1, 1, 1),  # a and b; a closed (FCR); b open
            "vip": (1, 1, 1, 0),      # b; c closed in vip (no reply); b open
        }
        for tag, w in want.items():
            self.assertEqual(tuple(rows[tag][k] for k in keys), w, rows[tag])
        # b's reply counts in both of its tags; nobody answered c or d.
        self.assertIsInstance(rows["billing"]["first_response_median_s"], int)
        self.assertIsInstance(rows["vip"]["first_response_median_s"], int)
        self.assertIsNone(rows["-"]["first_response_median_s"])
        # Rows do not add up to the total: 5 openings for 4 tickets.
        total = json.loads(self.ctl_report(gw, day, "channel", "--json"))["rows"][0]
        self.assertEqual((total["opened"], sum(r["opened"] for r in j["rows"])), (4, 5))

        api = gw.api("reader")
        r = api.get(f"/v1/reports?from={day}&to={day}&by=tag")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), j)
        csv = self.ctl_report(gw, day, "tag", "--csv").splitlines()
        self.assertTrue(csv[0].startswith("tag,opened,reopened,closed,backlog,"), csv)
        self.assertTrue(csv[3].startswith("vip,1,0,1,1,"), csv)


if __name__ == "__main__":
    unittest.main()

"""
Reports (docs/reports.md) against the running gateway: tickets opened,
replied to, closed and reopened through the API channel and gatewayctl,
then `gatewayctl report` (table, --csv, --json) and GET /v1/reports give
the figures counted by hand, the same in both, and the same again after
the gateway restarts (they are computed from the event log).
"""

import datetime
import json
import os
import time
import unittest

import gwtest
import integ
from gwtest import message_body, tmo


class ReportsTest(gwtest.GatewayTestCase):

    def start(self):
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        gw = self.run_gateway(integ.IntegGateway(root))
        bus = self.start_consumer(gw)
        return gw, bus

    def post(self, gw, bus, ext, sender):
        c = gw.client()
        r = c.post_until_accepted(message_body(ext, sender), time.monotonic() + tmo(15))
        c.close()
        self.assertEqual(r.status, 202, r)
        bus.wait_message(ext)
        return bus.received(ext)

    def ctl_report(self, gw, day, by, *fmt):
        return gw.ctl("report", "--from", day, "--to", day, "--by", by, *fmt).stdout

    def test_figures_from_the_log(self):
        gw, bus = self.start()
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
        bad = gw.ctl("report", "--from", day, "--to", day, "--by", "week", check=False)
        self.assertEqual(bad.returncode, 64, bad)

        # Computed from the log: the same after a restart.
        gw.stop()
        gw.start()
        self.assertEqual(json.loads(self.ctl_report(gw, day, "channel", "--json")), j)


if __name__ == "__main__":
    unittest.main()

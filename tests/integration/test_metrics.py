"""
The Prometheus endpoint (docs/operations.md, "Metrics"): a gateway with
`metrics.enabled` runs gateway-metrics, which serves GET /metrics. A known
scenario on the API channel (two messages, one of them sent twice, a reply
its callback receiver takes, the ticket closed) must show on the page with
exactly those values; every line of the page must parse (a strict line
check here, and Debian's python3-prometheus-client parser); after a restart
the stored facts (messages, replies, event log head, tickets) are the same
while the process counters start again with a later start time. The
listener has the per-address limits of every listener: a connection over
metrics.max_connections_per_ip is answered 429 and closed, and counted.
"""

import math
import os
import re
import socket
import time
import unittest
import urllib.error
import urllib.request

import gwtest
from gwtest import Gateway, GatewayTestCase, message_body, tmo
from test_api_callback import SECRET, Receiver

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # scripts/setup-tests.sh installs python3-prometheus-client
    text_string_to_metric_families = None

INSTANCE = "webform"
SENDER = "+15550001111"

# One line of the text format 0.0.4: a comment, or name{labels} value.
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*"'
VALUE = r"(?:[-+]?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|[-+]?Inf|NaN)"
SAMPLE = re.compile(rf"^({NAME})(?:\{{({LABEL}(?:,{LABEL})*)?\}})? ({VALUE})$")
HELP = re.compile(rf"^# HELP ({NAME}) (.*)$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")


def parse_page(text):
    """{(name, frozenset(labels)): value} and {family: type}; raises on any
    line the format does not allow, a family typed twice or a sample
    before its TYPE line, a counter not named *_total."""
    samples, types = {}, {}
    assert text.endswith("\n"), "the page ends with a newline"
    for n, line in enumerate(text.split("\n")[:-1], 1):
        m = HELP.match(line) or TYPE.match(line)
        if m:
            if line.startswith("# TYPE"):
                assert m.group(1) not in types, f"line {n}: {m.group(1)} typed twice"
                types[m.group(1)] = m.group(2)
                if m.group(2) == "counter":
                    assert m.group(1).endswith("_total"), f"line {n}: counter {m.group(1)}"
            continue
        m = SAMPLE.match(line)
        assert m, f"line {n} does not parse: {line!r}"
        name, labels, value = m.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or family in types, f"line {n}: {name} before its TYPE"
        pairs = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels or "")
        key = (name, frozenset(pairs))
        assert key not in samples, f"line {n}: {key} twice"
        samples[key] = float(value.replace("Inf", "inf"))
    return samples, types


class Page:
    def __init__(self, text):
        self.text = text
        self.samples, self.types = parse_page(text)

    def get(self, name, **labels):
        key = (name, frozenset(labels.items()))
        if key not in self.samples:
            raise AssertionError(f"no sample {name}{labels} on the page:\n" +
                                 "\n".join(ln for ln in self.text.split("\n")
                                           if ln.startswith(name))[:3000])
        return self.samples[key]


class Metrics(GatewayTestCase):

    def start_metrics_gateway(self, receiver, metrics_lines=()):
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        gw = Gateway(root, connector_name=INSTANCE, extra_connector_lines=[
            "callback_secret: ${GATEWAY_API_CALLBACK_SECRET}",
            f'callback_url: "{receiver.url}"'])
        gw.env["GATEWAY_API_CALLBACK_SECRET"] = SECRET
        self.metrics_port = gwtest.free_ports(1)[0]
        with open(gw.config_path, "a", encoding="utf-8") as f:
            f.write(f'metrics:\n  enabled: true\n  listen: "127.0.0.1:{self.metrics_port}"\n')
            f.write("".join(f"  {ln}\n" for ln in metrics_lines))
        gw.connectors = [INSTANCE, "metrics"]  # ready: run/metrics.json too
        self.gw = self.run_gateway(gw)
        return gw

    def fetch(self, path="/metrics", method="GET"):
        req = urllib.request.Request(f"http://127.0.0.1:{self.metrics_port}{path}",
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=tmo(10)) as r:
                return r.status, r.headers.get("Content-Type"), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read().decode()

    def scrape(self):
        status, ctype, text = self.fetch()
        self.assertEqual(status, 200, text)
        self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")
        if text_string_to_metric_families:
            fams = {f.name: f for f in text_string_to_metric_families(text)}
            self.assertIn("omnigate_router_batch_size", fams)
        return Page(text)

    def post(self, ext):
        c = self.gw.client()
        try:
            r = c.post_until_accepted(message_body(ext, SENDER, "Ana"),
                                      time.monotonic() + tmo(15))
        finally:
            c.close()
        self.assertEqual(r.status, 202, r)

    def router_counters(self):
        return (gwtest.read_json_file(self.gw.run_file("router")) or {}).get("counters", {})

    def run_scenario(self, bus, rec):
        self.post("m-1")
        self.post("m-2")
        m = bus.wait_message("m-2")
        self.post("m-1")  # the same message again: a duplicate
        gwtest.wait_until(lambda: self.router_counters().get("duplicates") == 1, tmo(15),
                          "the router's duplicate")
        p = self.gw.ctl("send", str(m["ticket_id"]), "Hello from support", "--wait",
                        timeout=tmo(60))
        self.assertIn("delivery sent", p.stdout + p.stderr)
        self.gw.ctl("ticket", "close", str(m["ticket_id"]))
        return m["ticket_id"]

    def wait_page(self, pred, what):
        """Scrapes until pred(page) (the status files are written every second)."""
        last = []

        def ok():
            last[:] = [self.scrape()]
            return pred(last[0])
        gwtest.wait_until(ok, tmo(15), what, interval=0.2,
                          on_fail=lambda: last[0].text if last else "")
        return last[0]

    def check_process(self, page, name):
        self.assertEqual(page.get("omnigate_process_up", process=name,
                                  kind="router" if name == "router" else
                                  "metrics" if name == "metrics" else "connector"), 1)
        self.assertGreater(page.get("omnigate_process_resident_memory_bytes", process=name),
                           1024 * 1024)
        self.assertGreaterEqual(page.get("omnigate_process_cpu_seconds_total", process=name), 0)

    def test_scenario_values_format_and_restart(self):
        rec = Receiver()
        self.addCleanup(rec.close)
        self.start_metrics_gateway(rec)
        bus = self.start_consumer(self.gw)
        self.run_scenario(bus, rec)
        head = self.gw.head()
        conn = {"connector": INSTANCE, "type": "api"}
        page = self.wait_page(
            lambda p: p.get("omnigate_connector_replies_sent_total", **conn) == 1 and
            p.get("omnigate_eventlog_head_seq") == head, "the scenario on the page")
        # the connector: three messages accepted, one reply sent
        self.assertEqual(page.get("omnigate_connector_accepted_total", **conn), 3)
        self.assertEqual(page.get("omnigate_connector_rejected_total", **conn), 0)
        self.assertEqual(page.get("omnigate_connector_replies_failed_total", **conn), 0)
        self.assertEqual(page.get("omnigate_connector_reply_duration_seconds_count", **conn), 1)
        self.assertEqual(page.get("omnigate_connector_reply_duration_seconds_bucket",
                                  le="+Inf", **conn), 1)
        self.assertEqual(page.types["omnigate_connector_reply_duration_seconds"], "histogram")
        # the router: 3 read, 2 routed, 1 duplicate; its batches hold the 3
        self.assertEqual(page.get("omnigate_router_received_total"), 3)
        self.assertEqual(page.get("omnigate_router_routed_total"), 2)
        self.assertEqual(page.get("omnigate_router_duplicates_total"), 1)
        self.assertEqual(page.get("omnigate_router_batch_size_sum"), 3)
        n_batches = page.get("omnigate_router_batch_size_count")
        self.assertGreaterEqual(n_batches, 1)
        self.assertEqual(page.get("omnigate_router_commit_duration_seconds_count"), n_batches)
        self.assertEqual(page.get("omnigate_router_batch_size_bucket", le="+Inf"), n_batches)
        # stored facts
        self.assertEqual(page.get("omnigate_events_total", type="message.received"), 2)
        self.assertEqual(page.get("omnigate_store_replies_total"), 1)
        self.assertEqual(page.get("omnigate_deliveries_pending"), 0)
        self.assertEqual(page.get("omnigate_store_tickets_total"), 1)
        self.assertEqual(sum(v for (n, _), v in page.samples.items()
                             if n == "omnigate_tickets_open"), 0, "the ticket is closed")
        self.assertEqual(page.get("omnigate_store_up"), 1)
        # today's report figures (docs/reports.md): one ticket, answered once, closed
        api = {"by": "channel", "key": "api"}
        for what, v in (("opened", 1), ("reopened", 0), ("closed", 1), ("backlog", 0),
                        ("fcr", 1)):
            self.assertEqual(page.get("omnigate_report_tickets", what=what, **api), v, what)
        self.assertEqual(page.get("omnigate_report_tickets", by="agent", key="-",
                                  what="closed"), 1)
        self.assertGreaterEqual(page.get("omnigate_report_seconds", time="first_response",
                                         quantile="0.5", **api), 0)
        self.assertEqual(page.types["omnigate_report_seconds"], "gauge")
        self.assertEqual(page.get("omnigate_report_csat_ratings", **api), 0)
        for outcome in ("met", "breached"):  # no next-response target: none
            self.assertEqual(page.get("omnigate_report_sla", clock="next_response",
                                      outcome=outcome, **api), 0, outcome)
        for name in ("router", INSTANCE, "metrics"):
            self.check_process(page, name)
        self.assertGreater(page.get("omnigate_process_resident_memory_bytes",
                                    process="gatewayd"), 0)
        started = page.get("omnigate_process_start_time_seconds", process="router")
        self.assertLess(abs(started - time.time()), 120)

        # a restart: stored facts stay, process counters start again
        self.gw.stop()
        time.sleep(1.1)  # start times are compared to the second: they must differ
        self.gw.start()
        page2 = self.wait_page(lambda p: p.get("omnigate_store_up") == 1 and
                               ("omnigate_router_received_total", frozenset()) in p.samples and
                               ("omnigate_connector_replies_sent_total",
                                frozenset(conn.items())) in p.samples,
                               "the page after the restart")
        self.assertEqual(page2.get("omnigate_events_total", type="message.received"), 2)
        self.assertEqual(page2.get("omnigate_events_total", type="ticket.closed"), 1)
        self.assertEqual(page2.get("omnigate_store_replies_total"), 1)
        self.assertEqual(page2.get("omnigate_eventlog_head_seq"), head)
        self.assertEqual(page2.get("omnigate_store_tickets_total"), 1)
        self.assertEqual(page2.get("omnigate_report_tickets", what="closed", **api), 1)
        self.assertEqual(page2.get("omnigate_router_duplicates_total"), 0)
        self.assertEqual(page2.get("omnigate_connector_replies_sent_total", **conn), 0)
        self.assertGreater(page2.get("omnigate_process_start_time_seconds", process="router"),
                           started)

    def test_rejected_limited_waiting_and_sla_warning(self):
        """A request refused (400), a message held by the per-sender limit
        (429), a ticket waiting in a queue without agents and its SLA
        warning, each on the page."""
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root, exist_ok=True)
        gw = Gateway(root, connector_name=INSTANCE,
                     extra_connector_lines=["sender_rate_per_minute: 1", "sender_burst: 1"],
                     routing_lines=["  queues:", "    - name: general", "  sla:",
                                    "    - first_response_min: 1", "      warning_percent: 1"])
        self.metrics_port = gwtest.free_ports(1)[0]
        with open(gw.config_path, "a", encoding="utf-8") as f:
            f.write(f'metrics:\n  enabled: true\n  listen: "127.0.0.1:{self.metrics_port}"\n')
        gw.connectors = [INSTANCE, "metrics"]
        self.gw = self.run_gateway(gw)
        c = gw.client()
        self.addCleanup(c.close)
        r = c.post_until_accepted(message_body("w-1", sender=SENDER), time.monotonic() + tmo(15))
        self.assertEqual(r.status, 202, r)
        self.assertEqual(c.post_message(message_body("w-2", sender=SENDER)).status, 429)
        self.assertEqual(c.post_message({"id": "bad-1", "from": {"id": SENDER}}).status, 400)
        conn = {"connector": INSTANCE, "type": "api"}
        first = {"clock": "first_response"}
        # The connector's counters come from its status file (written once a
        # second), the SLA warning from the router's: wait for both.
        page = self.wait_page(
            lambda p: p.get("omnigate_events_total", type="ticket.sla_warning") >= 1
            and p.samples.get(("omnigate_connector_rejected_total",
                               frozenset(conn.items())), 0) >= 2
            if ("omnigate_events_total", frozenset({("type", "ticket.sla_warning")}))
            in p.samples else False, "the SLA warning and both refusals counted")
        # rejected: every 4xx, the 400 and the 429; rate limited: the 429
        self.assertEqual(page.get("omnigate_connector_rejected_total", **conn), 2)
        self.assertEqual(page.get("omnigate_connector_rate_limited_total", **conn), 1)
        self.assertEqual(page.get("omnigate_connector_quarantined", **conn), 1)  # w-2 held
        self.assertEqual(page.get("omnigate_tickets_waiting", queue="general"), 1)
        self.assertEqual(page.get("omnigate_tickets_open", queue="general"), 1)
        self.assertEqual(page.get("omnigate_tickets_sla", state="warning", **first), 1)
        self.assertEqual(page.get("omnigate_events_total", type="message.received"), 1)

    def test_families_match_operations_doc(self):
        """Every metric family served is in docs/operations.md's tables, and
        every family documented there is served."""
        rec = Receiver()
        self.addCleanup(rec.close)
        self.start_metrics_gateway(rec)
        page = self.wait_page(lambda p: p.get("omnigate_store_up") == 1 and
                              "omnigate_router_received_total" in p.types and
                              "omnigate_connector_accepted_total" in p.types,
                              "a page with the router's and the connector's families")
        doc_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "docs", "operations.md")
        with open(doc_path, encoding="utf-8") as f:
            text = f.read()
        section = text[text.index("### Metrics"):text.index("## 6.")]
        documented = {n for n in re.findall(r"`(omnigate_[a-z0-9_]+)`", section)
                      if not n.endswith("_")}
        served = set(page.types)
        self.assertEqual(sorted(served - documented), [], "served but not documented")
        self.assertEqual(sorted(documented - served), [], "documented but not served")

    def test_other_paths_and_methods(self):
        rec = Receiver()
        self.addCleanup(rec.close)
        self.start_metrics_gateway(rec)
        status, _, _ = self.fetch("/")
        self.assertEqual(status, 404)
        status, _, _ = self.fetch("/metrics", method="POST")
        self.assertEqual(status, 405)
        self.scrape()  # still serving
        # the quarantine is counted from its folder (a stored fact)
        q = os.path.join(self.gw.state_dir, "quarantine", INSTANCE)
        os.makedirs(q, exist_ok=True)
        for name in ("7-1.json", "7-1.eml", "7-2.json"):
            with open(os.path.join(q, name), "w", encoding="utf-8") as f:
                f.write("{}")
        self.assertEqual(self.scrape().get("omnigate_connector_quarantined",
                                           connector=INSTANCE, type="api"), 2)

    def test_connections_per_address(self):
        """metrics.max_connections_per_ip: a connection over it is answered
        429 and closed at accept, counted in run/metrics.json; a scrape
        from the held connections still works."""
        rec = Receiver()
        self.addCleanup(rec.close)
        self.start_metrics_gateway(rec, ["max_connections_per_ip: 2"])
        held = []
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", self.metrics_port), timeout=tmo(10))
            self.addCleanup(s.close)
            held.append(s)
        over = socket.create_connection(("127.0.0.1", self.metrics_port), timeout=tmo(10))
        self.addCleanup(over.close)
        over.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        try:
            while True:
                chunk = over.recv(65536)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        self.assertTrue(data.startswith(b"HTTP/1.1 429"), data[:200])
        held[0].sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(held[0].recv(65536).startswith(b"HTTP/1.1 200"))
        gwtest.wait_until(lambda: (gwtest.read_json_file(self.gw.run_file("metrics")) or {})
                          .get("counters", {}).get("conn_refused", 0) >= 1, tmo(5),
                          "conn_refused in run/metrics.json")


if __name__ == "__main__":
    unittest.main()

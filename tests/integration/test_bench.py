"""
The benchmark tools still measure what docs/performance.md says they do:
short runs of bench-meta (libcurl and wrk loads), bench-api and bench-sms
against the real gatewayd, each webhook or message accepted and seen once
on the bus, the figures printed; and targets off this machine refused
before any load.

The runs are small (a few hundred requests): this checks the tools, it does
not time the gateway. bench/run.sh, bench/run_meta.sh and bench/run_sms.sh
give the figures.
"""

import json
import os
import re
import shutil
import subprocess
import unittest

import gwtest
from gwtest import tmo
from test_meta import PATH, MetaTestCase
from test_sms import SmsCase

N = 300


class BenchToolsTest(MetaTestCase):

    def setUp(self):
        super().setUp()
        self.start_meta_gateway()

    def run_tool(self, name, args, env=None):
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run([gwtest.binary(name)] + args, env=e, capture_output=True,
                           text=True, timeout=tmo(120))
        return p.returncode, p.stdout, p.stderr

    def meta_args(self, load):
        return ["--url", f"http://127.0.0.1:{self.meta_port}{PATH}",
                "--bus", self.gw.publish, "--secret", self.secret, "-n", str(N), "-c", "8",
                "--warmup", "20", "--drain-ms", "10000", "--state-dir", self.gw.state_dir,
                "--load", load]

    def assert_meta_report(self, rc, out, err, load):
        self.assertEqual(rc, 0, f"bench-meta --load {load} failed:\n{out}\n{err}")
        m = re.search(r"accepted\s+(\d+) of (\d+) (?:sent|answered) in [\d.]+ s: (\d+) webhooks/s",
                      out)
        self.assertIsNotNone(m, out)
        self.assertGreaterEqual(int(m.group(1)), N, out)
        self.assertGreater(int(m.group(3)), 0, out)
        m = re.search(r"on the bus\s+(\d+) seen.*?(\d+) missing, (\d+) duplicates", out)
        self.assertIsNotNone(m, out)
        self.assertGreaterEqual(int(m.group(1)), N, out)
        self.assertEqual((m.group(2), m.group(3)), ("0", "0"), out)
        self.assertRegex(out, r"accept-to-bus\s+p50 [\d.]+ ms\s+p99 [\d.]+ ms")
        self.assertRegex(out, r"CPU per webhook .*\brouter [\d.]+ us")
        # The router received them all: warmup and measured run.
        self.assertGreaterEqual(self.router()["received"], N + 20)

    def test_bench_meta_curl(self):
        rc, out, err = self.run_tool("bench-meta", self.meta_args("curl"))
        self.assert_meta_report(rc, out, err, "curl")

    def test_bench_meta_wrk(self):
        # scripts/setup-tests.sh installs wrk: its absence is a broken setup, not a skip.
        self.assertIsNotNone(shutil.which("wrk"), "wrk is not installed (scripts/setup-tests.sh)")
        rc, out, err = self.run_tool("bench-meta", self.meta_args("wrk"))
        self.assert_meta_report(rc, out, err, "wrk")

    def test_bench_api(self):
        rc, out, err = self.run_tool(
            "bench-api", ["--url", f"http://127.0.0.1:{self.gw.api_port}/v1/messages",
                          "--bus", self.gw.publish, "--command", self.gw.command_ep,
                          "-n", str(N), "-c", "8", "--warmup", "20", "--json"],
            env={"GATEWAY_API_TOKEN": self.gw.token})
        self.assertEqual(rc, 0, f"bench-api failed:\n{out}\n{err}")
        rep = json.loads(out)
        self.assertEqual((rep["n"], rep["accepted"], rep["errors"]), (N, N, 0), rep)
        self.assertEqual((rep["bus_seen"], rep["bus_missing"], rep["bus_duplicates"]),
                         (N, 0, 0), rep)
        self.assertGreater(rep["accepted_per_s"], 0, rep)
        self.assertIn("p99", json.dumps(rep["accept_to_bus"]), rep)

    def test_targets_must_be_loopback(self):
        cases = [
            ("bench-meta", ["--secret", "x", "--url", "http://192.0.2.1:8089/webhooks/meta"],
             "--url must be an http:// URL on a loopback address"),
            ("bench-meta", ["--secret", "x", "--bus", "tcp://192.0.2.1:5570"],
             "--bus must be tcp://<loopback>:port or ipc://path"),
            ("bench-meta", ["--secret", "x", "--url", "https://127.0.0.1/webhooks/meta"],
             "--url must be an http:// URL on a loopback address"),
            ("bench-api", ["--token", "x", "--url", "http://example.com/v1/messages"],
             "--url must be an http:// URL on a loopback address"),
            ("bench-api", ["--token", "x", "--command", "tcp://10.0.0.1:5571"],
             "--command must be tcp://<loopback>:port or ipc://path"),
            ("bench-sms", ["--token", "x", "--url", "http://192.0.2.1:8092/webhooks/sms"],
             "--url must be an http:// URL on a loopback address"),
        ]
        before = self.router()["received"]
        for tool, args, want in cases:
            with self.subTest(tool=tool, args=args):
                rc, out, err = self.run_tool(tool, args)
                self.assertEqual(rc, 2, out + err)
                self.assertIn(f"{tool}: {want}", err)
        self.assertEqual(self.router()["received"], before)


class SmsBenchToolTest(SmsCase):

    def test_bench_sms(self):
        """bench-sms's webhooks are signed as Twilio signs them: all
        accepted and seen once on the bus."""
        self.assertIsNotNone(shutil.which("wrk"), "wrk is not installed (scripts/setup-tests.sh)")
        self.start_sms_gateway(None, local_url=True)
        p = subprocess.run([gwtest.binary("bench-sms"), "--url",
                            f"http://127.0.0.1:{self.sms_port}/webhooks/sms", "--bus",
                            self.gw.publish, "--token", self.token, "-n", str(N), "-c", "8",
                            "--warmup", "20", "--drain-ms", "10000", "--state-dir",
                            self.gw.state_dir], capture_output=True, text=True, timeout=tmo(120))
        out = p.stdout
        self.assertEqual(p.returncode, 0, f"bench-sms failed:\n{out}\n{p.stderr}")
        m = re.search(r"accepted\s+(\d+) of (\d+) answered in [\d.]+ s: (\d+) webhooks/s", out)
        self.assertIsNotNone(m, out)
        self.assertGreaterEqual(int(m.group(1)), N, out)
        m = re.search(r"on the bus\s+(\d+) seen.*?(\d+) missing, (\d+) duplicates", out)
        self.assertIsNotNone(m, out)
        self.assertGreaterEqual(int(m.group(1)), N, out)
        self.assertEqual((m.group(2), m.group(3)), ("0", "0"), out)
        self.assertRegex(out, r"accept-to-bus\s+p50 [\d.]+ ms\s+p99 [\d.]+ ms")
        self.assertRegex(out, r"CPU per webhook .*\brouter [\d.]+ us")
        self.assertGreaterEqual(self.router_counters()["received"], N + 20)


if __name__ == "__main__":
    unittest.main()

"""
The bus examples of examples/ run against a real gateway: the Python, Node.js
and C consumers catch up by replay, then follow live events, printing every
seq once and in order; the Python one goes on after its saved seq when it
starts again, and fills a gap of events it missed on the bus by replay; the
C examples build with their own Makefiles; the JetStream consumer (examples/nats) reads the stream that
gateway-nats fills with a durable consumer, and a second run of the same
durable goes on after the first.
"""

import os
import shutil
import signal
import subprocess
import threading
import unittest

import gwtest
import natsutil
from gwtest import GatewayTestCase, tmo, wait_until

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EXAMPLES = os.path.join(SRC, "examples")
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else "python3"


class Runner:
    """An example as a subprocess; its stdout lines collected by a thread."""

    def __init__(self, cmd, cwd=SRC):
        self.lines = []
        self.err_lines = []
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for ln in self.proc.stdout:
            self.lines.append(ln.rstrip("\n"))

    def read_stderr(self):
        """Collects stderr lines in err_lines from now on (a thread)."""
        def run():
            for ln in self.proc.stderr:
                self.err_lines.append(ln.rstrip("\n"))
        threading.Thread(target=run, daemon=True).start()

    def seqs(self):
        return [int(ln.split()[0]) for ln in list(self.lines)]

    def wait(self, timeout):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"example still running after {timeout}s; printed "
                                 f"{self.lines[-5:]}; stderr {self.proc.stderr.read()}")
        self.t.join(tmo(5))
        return rc, self.proc.stderr.read()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.t.join(tmo(5))
        for f in (self.proc.stdout, self.proc.stderr):
            if not f.closed:
                f.close()


def post_routed(test, gw, watcher, n, tag):
    """Posts n messages and waits until the router published them; returns the head."""
    c = gw.client()
    try:
        for i in range(n):
            r = c.post_message(gwtest.message_body(f"{tag}-{i}"))
            test.assertEqual(r.status, 202, r)
    finally:
        c.close()
    for i in range(n):
        watcher.wait_message(f"{tag}-{i}")
    return gw.head()


class BusExamples(GatewayTestCase):

    def setUp(self):
        super().setUp()
        self.gw = self.start_gateway(extra_connector_lines=gwtest.with_sender_limits_off([]))
        self.watcher = self.start_consumer(self.gw)

    def post(self, n, tag):
        return post_routed(self, self.gw, self.watcher, n, tag)

    def endpoints(self):
        return ["--publish", self.gw.publish, "--command", self.gw.command_ep]

    def follow(self, cmd, start=1, tag="run", before_kill=None):
        """Runs `cmd`: it must catch up with what is in the log by replay, then
        print live events, every seq once from `start`, in order; with
        --count it exits by itself."""
        head = self.post(3, tag + "-before")
        r = Runner(cmd)
        self.addCleanup(r.kill)
        wait_until(lambda: r.seqs()[-1:] == [head], tmo(20),
                   "the example to catch up by replay",
                   on_fail=lambda: f"printed {r.lines[-5:]}")
        head = self.post(2, tag + "-live")
        wait_until(lambda: r.seqs()[-1:] == [head], tmo(20),
                   "the example to print the live events",
                   on_fail=lambda: f"printed {r.lines[-5:]}")
        if before_kill:
            before_kill(head)
        r.kill()
        self.assertEqual(r.seqs(), list(range(start, head + 1)), "every seq once, in order")
        return r

    def test_python_consumer(self):
        last = os.path.join(self.tmp, "last")
        script = os.path.join(EXAMPLES, "python", "bus_consumer.py")

        def saved(head):
            # It saves the seq after processing the event: wait for the file.
            wait_until(lambda: (gwtest.read_json_file(last) or 0) == head, tmo(10),
                       f"{last} to hold {head}")
        r = self.follow([PYTHON, script, "--last-file", last] + self.endpoints(),
                        before_kill=saved)
        # Started again, it goes on after the seq it saved.
        r2 = self.follow([PYTHON, script, "--last-file", last] + self.endpoints(),
                         start=r.seqs()[-1] + 1, tag="again", before_kill=saved)
        self.assertEqual(r2.seqs()[0], r.seqs()[-1] + 1)

    def test_python_consumer_fills_a_gap(self):
        """Events published while the example cannot receive them (stopped
        with SIGSTOP while the router is SIGKILLed and restarts, so that its
        subscription is gone) are missed on the bus: the example sees the
        gap, replays it, and prints each seq once, in order."""
        script = os.path.join(EXAMPLES, "python", "bus_consumer.py")
        head = self.post(2, "gap-before")
        r = Runner([PYTHON, script] + self.endpoints())
        self.addCleanup(r.kill)
        r.read_stderr()
        wait_until(lambda: r.seqs()[-1:] == [head], tmo(20), "the example to catch up",
                   on_fail=lambda: f"printed {r.lines[-5:]}")
        self.gw.allowed_restarts["router"] = 1
        os.kill(r.proc.pid, signal.SIGSTOP)
        try:
            pid = self.gw.child_pid("router")
            os.kill(pid, signal.SIGKILL)
            self.gw.wait_child_restarted("router", pid)
            missed = self.post(3, "gap-missed")
        finally:
            os.kill(r.proc.pid, signal.SIGCONT)
        self.assertGreater(missed, head)
        head = self.post(1, "gap-after")
        wait_until(lambda: r.seqs()[-1:] == [head], tmo(20), "the example to fill the gap",
                   on_fail=lambda: f"printed {r.lines[-5:]}; stderr {r.err_lines[-3:]}")
        self.assertEqual(r.seqs(), list(range(1, head + 1)), "every seq once, in order")
        self.assertTrue(any(e.startswith(("gap:", "behind:")) for e in r.err_lines),
                        r.err_lines)

    def test_makefiles_build_the_c_examples(self):
        """examples/c and examples/nats build on their own with their Makefiles
        (a copy in a temporary folder: nothing is built in the source tree)."""
        if not shutil.which("make") or not shutil.which("pkg-config"):
            self.skipTest("make or pkg-config not installed")
        for sub in ("c", "nats"):
            with self.subTest(example=sub):
                dst = os.path.join(self.tmp, "ex-" + sub)
                shutil.copytree(os.path.join(EXAMPLES, sub), dst)
                p = subprocess.run(["make", "-C", dst, "CFLAGS=-O0 -Wall -Wextra -Werror"],
                                   capture_output=True, text=True, timeout=tmo(120))
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertTrue(os.access(os.path.join(dst, "consumer"), os.X_OK))

    def test_c_consumer(self):
        self.follow([gwtest.binary("example-bus-consumer")] + self.endpoints())

    @unittest.skipUnless(shutil.which("node"), "node not installed (scripts/setup-tests.sh)")
    def test_node_consumer(self):
        modules = os.path.join(EXAMPLES, "node", "node_modules", "zeromq")
        self.assertTrue(os.path.isdir(modules),
                        "run `npm ci --prefix examples/node` (scripts/setup-tests.sh does)")
        self.follow(["node", os.path.join(EXAMPLES, "node", "bus_consumer.js")] +
                    self.endpoints())


@unittest.skipUnless(natsutil.have_nats_server(),
                     "nats-server not installed (scripts/setup-tests.sh installs it)")
class NatsExample(GatewayTestCase):

    def test_durable_consumer(self):
        ns = natsutil.NatsServer(self.tmp, "ex").start()
        self.addCleanup(ns.kill)
        ns.wait_ready()
        root = os.path.join(self.tmp, "gw")
        os.makedirs(root)
        gw = gwtest.Gateway(root, extra_connector_lines=gwtest.with_sender_limits_off([]))
        natsutil.append_nats_config(gw.config_path, [ns.url], "OMNIGATE",
                                    reconnect_wait_ms=100)
        gw.connectors.append("nats")
        self.run_gateway(gw)
        watcher = self.start_consumer(gw)
        cmd = [gwtest.binary("example-nats-consumer"), "--server", ns.url,
               "--durable", "helpdesk"]
        for run, tag in enumerate(("first", "second")):
            head = post_routed(self, gw, watcher, 3, tag)
            wait_until(lambda: natsutil.stream_last_gw_seq(ns.url, "OMNIGATE") >= head,
                       tmo(20), "the stream to catch up")
            start = 1 if run == 0 else prev + 1
            r = Runner(cmd + ["--count", str(head - start + 1)])
            self.addCleanup(r.kill)
            rc, err = r.wait(tmo(20))
            self.assertEqual(rc, 0, err)
            self.assertEqual(r.seqs(), list(range(start, head + 1)))
            self.assertTrue(all(ln.split()[2].startswith("omnigate.events.") for ln in r.lines))
            prev = head


if __name__ == "__main__":
    unittest.main()

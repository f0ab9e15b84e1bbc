"""
email_reply_bench.py - the email reply benchmark (docs/performance.md,
"Email replies"); run it through bench/email_reply_bench.sh.

A throw-away Dovecot (IMAP and LMTP) and Postfix on loopback (tests/
integration/dovecot.py, smtp.py), and a gatewayd with one email connector
reading the support mailbox and submitting replies to Postfix (plain SMTP
on loopback with AUTH PLAIN; Postfix delivers into the customer's mailbox
over LMTP). One customer email opens a ticket; then:

  (a) throughput: BENCH_REPLY_N replies sent as `message.send` commands by
      BENCH_REPLY_CLIENTS command clients as fast as the router answers;
      replies/s = N / (first command -> last `sent` status on the bus), and
      the time until all of them are in the customer's mailbox;
  (b) steady: BENCH_REPLY_RATE replies/s for BENCH_REPLY_SECONDS;
      command-to-provider latency p50/p99: from sending the command to
      its `sent` status on the bus (the server answered 250 to the end of
      DATA, the connector journaled and reported it, the router published).

Prints one JSON line with the figures and a readable summary.
"""

import json
import os
import re
import sys
import tempfile
import threading
import time

import msgpack
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import dovecot  # noqa: E402
import gwtest  # noqa: E402
import smtp  # noqa: E402

N = int(os.environ.get("BENCH_REPLY_N", "1000"))
CLIENTS = int(os.environ.get("BENCH_REPLY_CLIENTS", "4"))
RATE = float(os.environ.get("BENCH_REPLY_RATE", "50"))
SECONDS = float(os.environ.get("BENCH_REPLY_SECONDS", "10"))
CONCURRENCY = int(os.environ.get("BENCH_REPLY_CONCURRENCY", "4"))
RATE_LIMIT = int(os.environ.get("BENCH_REPLY_RATE_LIMIT", "0"))
USERS = {"support": "support-pw", "customer": "customer-pw"}
REPLY_RE = re.compile(r"^reply-(\d+)-[0-9a-f]{32}$")


class SentWatcher:
    """The `sent` statuses on the bus: delivery id -> when seen."""

    def __init__(self, endpoint):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"message.status")
        self.sock.setsockopt(zmq.RCVHWM, 0)
        self.sock.connect(endpoint)
        self.sent = {}
        self.failed = 0
        self.lock = threading.Lock()
        self.stop = False
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self):
        while not self.stop:
            if not self.sock.poll(100):
                continue
            frames = self.sock.recv_multipart()
            now = time.monotonic()
            ev = msgpack.unpackb(frames[1], raw=False)
            m = REPLY_RE.match(ev.get("external_id") or "")
            if not m:
                continue
            with self.lock:
                if ev.get("status") == "sent":
                    self.sent.setdefault(int(m.group(1)), now)
                elif ev.get("status") == "failed":
                    self.failed += 1

    def count(self):
        with self.lock:
            return len(self.sent)

    def close(self):
        self.stop = True
        self.th.join()
        self.sock.close(0)
        self.ctx.term()


def send_commands(gw, ticket, prefix, n, starts, rate=0.0):
    """n message.send commands on one REQ socket; starts[delivery] = when
    the command was sent. With rate, paced to rate per second."""
    ctx = zmq.Context()
    t0 = time.monotonic()
    try:
        for i in range(n):
            if rate:
                due = t0 + i / rate
                while (left := due - time.monotonic()) > 0:
                    time.sleep(min(0.002, left))
            t = time.monotonic()
            res, _ = gwtest.command_ok(gw.command_ep, "message.send",
                                       {"command_id": f"{prefix}-{i}", "ticket_id": ticket,
                                        "text": f"Reply {prefix}-{i}: your order has shipped."},
                                       ctx=ctx, timeout=30)
            starts[res["delivery_id"]] = t
    finally:
        ctx.term()


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else 0.0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", "r") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy():
    """(busy, total) jiffies of every CPU, from /proc/stat."""
    with open("/proc/stat", "r") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], sum(v)


def start(tmp, servers):
    """Dovecot, Postfix and the gateway; each server is put in `servers`
    as soon as it runs, so that it is stopped whatever fails next."""
    dc = dovecot.Dovecot(os.path.join(tmp, "dovecot"), USERS, lmtp=True)
    os.makedirs(dc.root)
    servers.append(dc)
    dc.start()
    pf = smtp.Postfix(os.path.join(tmp, "postfix"), dc)
    os.makedirs(pf.root)
    servers.append(pf)
    pf.start()
    os.makedirs(os.path.join(tmp, "gw"))
    gw = gwtest.Gateway(os.path.join(tmp, "gw"))
    with open(gw.config_path, "a", encoding="utf-8") as f:
        f.write("\n".join([
            "  - name: mail", "    type: email", "    enabled: true",
            f"    url: \"imap://127.0.0.1:{dc.port}/INBOX\"", "    username: support",
            "    password: ${GW_BENCH_PW}", "    tls: none", "    after: seen",
            "    poll_interval_ms: 1000", "    smtp:",
            f"      url: \"smtp://127.0.0.1:{pf.port}\"", "      tls: none",
            "      password: ${GW_BENCH_PW}", "      from: support@acme.test",
            f"      send_concurrency: {CONCURRENCY}", f"      send_rate_per_s: {RATE_LIMIT}"])
            + "\n")
    with open(gw.config_path, encoding="utf-8") as f:
        text = f.read().replace("log_level: info", "log_level: warn")
    with open(gw.config_path, "w", encoding="utf-8") as f:
        f.write(text)
    gw.env["GW_BENCH_PW"] = USERS["support"]
    gw.connectors.append("mail")
    servers.append(gw)
    gw.start()
    return dc, gw


def open_ticket(gw, dc):
    dc.append("support", b"From: Customer <customer@customer.test>\r\nTo: support@acme.test\r\n"
              b"Subject: Order 1234\r\nMessage-ID: <bench-1@customer.test>\r\n\r\nHello\r\n")
    bus = gw.consumer()
    try:
        return bus.wait_message("bench-1@customer.test", 30)["ticket_id"]
    finally:
        bus.stop()


def run_burst(gw, dc, ticket, watcher):
    """(a): N replies from CLIENTS clients as fast as possible."""
    starts, threads = {}, []
    base = watcher.count()
    t0 = time.monotonic()
    for c in range(CLIENTS):
        n = N // CLIENTS + (1 if c < N % CLIENTS else 0)
        threads.append(threading.Thread(target=send_commands,
                                        args=(gw, ticket, f"burst{c}", n, starts)))
        threads[-1].start()
    for t in threads:
        t.join()
    t_cmd = time.monotonic()
    gwtest.wait_until(lambda: watcher.count() >= base + N, 600, f"{N} replies sent",
                      interval=0.01)
    t_sent = max(watcher.sent[d] for d in starts)
    gwtest.wait_until(lambda: dc.count("customer") >= base + N, 600,
                      f"{N} replies in the customer's mailbox", interval=0.2)
    t_box = time.monotonic()
    lat = [(watcher.sent[d] - t) * 1000 for d, t in starts.items()]
    return {"replies": N, "clients": CLIENTS,
            "replies_per_s": round(N / (t_sent - t0), 1),
            "commands_per_s": round(N / (t_cmd - t0), 1),
            "burst_p50_ms": round(percentile(lat, 50), 1),
            "burst_p99_ms": round(percentile(lat, 99), 1),
            "in_mailbox_s": round(t_box - t0, 2)}


def run_steady(gw, ticket, watcher):
    """(b): RATE replies/s for SECONDS, one client."""
    n = int(RATE * SECONDS)
    starts = {}
    base = watcher.count()
    send_commands(gw, ticket, "steady", n, starts, rate=RATE)
    gwtest.wait_until(lambda: watcher.count() >= base + n, 120, f"{n} steady replies sent",
                      interval=0.01)
    lat = [(watcher.sent[d] - t) * 1000 for d, t in starts.items()]
    return {"steady_rate": RATE, "steady_replies": n,
            "steady_p50_ms": round(percentile(lat, 50), 1),
            "steady_p99_ms": round(percentile(lat, 99), 1),
            "steady_max_ms": round(max(lat), 1)}


def main():
    tmp = tempfile.mkdtemp(prefix="reply-bench-", dir=os.environ.get("BENCH_TMPDIR"))
    servers, watcher = [], None
    try:
        dc, gw = start(tmp, servers)
        ticket = open_ticket(gw, dc)
        watcher = SentWatcher(gw.publish)
        time.sleep(0.3)  # the SUB socket's subscription reaches the router
        warm = {}
        send_commands(gw, ticket, "warmup", 20, warm)
        gwtest.wait_until(lambda: watcher.count() >= 20, 60, "the warmup replies sent")
        pid = gw.child_pid("mail")
        cpu0, wall0, m0 = cpu_seconds(pid), time.monotonic(), machine_busy()
        res = run_burst(gw, dc, ticket, watcher)
        m1 = machine_busy()
        res["connector_cpu_pct"] = round(100 * (cpu_seconds(pid) - cpu0)
                                         / (time.monotonic() - wall0), 1)
        res["machine_busy_pct"] = round(100 * os.cpu_count() * (m1[0] - m0[0])
                                        / max(1, m1[1] - m0[1]), 1)
        res.update(run_steady(gw, ticket, watcher))
        res.update({"send_concurrency": CONCURRENCY, "send_rate_per_s": RATE_LIMIT,
                    "failed": watcher.failed})
        print(json.dumps(res))
        print(f"(a) {N} replies, {CLIENTS} command clients: {res['replies_per_s']} replies/s "
              f"sent (commands {res['commands_per_s']}/s), p50/p99 {res['burst_p50_ms']}/"
              f"{res['burst_p99_ms']} ms, all in the mailbox after {res['in_mailbox_s']} s, "
              f"connector CPU {res['connector_cpu_pct']} % of a core, all CPUs busy "
              f"{res['machine_busy_pct']} % of {100 * os.cpu_count()} %")
        print(f"(b) {RATE:g} replies/s for {SECONDS:g} s: command-to-provider p50 "
              f"{res['steady_p50_ms']} ms, p99 {res['steady_p99_ms']} ms, max "
              f"{res['steady_max_ms']} ms; failed {watcher.failed}")
    finally:
        if watcher is not None:
            watcher.close()
        for srv in reversed(servers):
            if isinstance(srv, gwtest.Gateway):
                srv.cleanup()
            else:
                srv.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            dovecot.rmtree(tmp)
        else:
            print(f"kept {tmp}")


if __name__ == "__main__":
    main()

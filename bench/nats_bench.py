#!/usr/bin/env python3
"""
bench/nats_bench.py - events/s from the gateway into a NATS JetStream
stream (docs/performance.md, "JetStream"). Run by bench/nats_bench.sh.

Starts nats-server (JetStream, file storage in BENCH_TMPDIR; a cluster of
three and an R3 stream with BENCH_NATS_REPLICAS=3) and a gateway on free
loopback ports with `nats:` enabled, then measures:

 (a) backlog: BENCH_NATS_N messages are posted while gateway-nats is
     stopped (SIGSTOP), then it goes on (SIGCONT); the time until the
     stream holds the log's head is its drain rate (replay, JSON, publish,
     acknowledgements);
 (b) live: BENCH_NATS_N messages posted by BENCH_NATS_CLIENTS clients with
     every process running; events/s from the first post until the stream
     holds them all, and the stream's lag behind the router at the end.

Each message gives two events (message.received, ticket.updated) once its
customer exists. Prints the figures; stops everything it started.
"""

import os
import shutil
import signal
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import gwtest  # noqa: E402
import natsutil  # noqa: E402

N = int(os.environ.get("BENCH_NATS_N", "5000"))
CLIENTS = int(os.environ.get("BENCH_NATS_CLIENTS", "8"))
REPLICAS = int(os.environ.get("BENCH_NATS_REPLICAS", "1"))
WINDOW = int(os.environ.get("BENCH_NATS_WINDOW", "256"))
PAYLOAD = os.environ.get("BENCH_NATS_PAYLOAD", "json")
STREAM = "OMNIGATE_BENCH"


def post_all(gw, n, tag, clients):
    """Posts n messages with `clients` threads; returns when all are accepted."""
    errors = []

    def worker(k):
        c = gw.client()
        deadline = time.monotonic() + 600
        try:
            for i in range(k, n, clients):
                r = c.post_until_accepted(gwtest.message_body(
                    f"{tag}-{i}", sender=f"+1555{i % 1000:07d}"), deadline)
                if r.status != 202:
                    errors.append(r)
                    return
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            c.close()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"posting failed: {errors[0]!r}")


def wait_head(gw, timeout=600):
    """The router's head once it stops moving (every accepted message routed)."""
    last, since = -1, time.monotonic()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        h = gw.head()
        if h != last:
            last, since = h, time.monotonic()
        elif time.monotonic() - since > 0.5:
            return h
        time.sleep(0.05)
    raise SystemExit("the router did not settle")


def wait_stream(url, head, timeout=600):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if natsutil.stream_last_gw_seq(url, STREAM) >= head:
            return time.monotonic()
        time.sleep(0.01)
    raise SystemExit(f"the stream did not reach seq {head}")


def wait_caught_up(gw, url, settle=0.5, timeout=600):
    """(head, when the stream first held it): the router's head once it has
    not moved for `settle` s, and the moment the stream reached it."""
    end = time.monotonic() + timeout
    head, moved, reached = -1, time.monotonic(), None
    while time.monotonic() < end:
        h = gw.head()
        if h != head:
            head, moved, reached = h, time.monotonic(), None
        if reached is None and natsutil.stream_last_gw_seq(url, STREAM) >= head:
            reached = time.monotonic()
        if reached is not None and time.monotonic() - moved > settle:
            return head, reached
        time.sleep(0.01)
    raise SystemExit("the stream did not catch up with the router")


def start_servers(root):
    if REPLICAS == 1:
        return [natsutil.NatsServer(root, "b1")]
    cports = gwtest.free_ports(3)
    return [natsutil.NatsServer(root, f"b{i}", cluster_ports=cports, cluster_index=i)
            for i in range(3)]


def main():
    root = tempfile.mkdtemp(prefix="nats-bench-", dir=os.environ.get("BENCH_TMPDIR"))
    servers = start_servers(root)
    os.makedirs(os.path.join(root, "gw"))
    gw = gwtest.Gateway(os.path.join(root, "gw"), heartbeat_ms=1000)
    natsutil.append_nats_config(gw.config_path, [s.url for s in servers], STREAM,
                                replicas=REPLICAS, window=WINDOW, payload=PAYLOAD,
                                reconnect_wait_ms=20, ack_timeout_ms=10000)
    print(f"nats bench: {N} messages, {CLIENTS} clients, replicas {REPLICAS}, window "
          f"{WINDOW}, payload {PAYLOAD}, state in {root}")
    try:
        for s in servers:
            s.start()
        for s in servers:
            s.wait_ready()
        url = servers[0].url
        gw.connectors.append("nats")
        gw.start()
        # The stream exists (gateway-nats made it) before anything is timed.
        gwtest.wait_until(lambda: "state" in natsutil.NatsClient(url).stream_info(STREAM),
                          60, "the stream")
        # (a) a backlog: gateway-nats stopped (SIGSTOP) while the log grows
        pid = gw.child_pid("nats")
        os.kill(pid, signal.SIGSTOP)
        try:
            post_all(gw, N, "backlog", CLIENTS)
            head = wait_head(gw)
        finally:
            os.kill(pid, signal.SIGCONT)
        t0 = time.monotonic()
        t1 = wait_stream(url, head)
        print(f"(a) backlog: {head} events into the stream in {t1 - t0:.2f} s: "
              f"{head / (t1 - t0):.0f} events/s")
        # (b) live
        t0 = time.monotonic()
        post_all(gw, N, "live", CLIENTS)
        t_posted = time.monotonic()
        head2, t1 = wait_caught_up(gw, url)
        ev = head2 - head
        print(f"(b) live: {N} messages posted in {t_posted - t0:.2f} s, {ev} events in the "
              f"stream {t1 - t0:.2f} s after the first post: {ev / (t1 - t0):.0f} events/s")
        time.sleep(1.2)  # run/nats.json is written once a second
        st = gwtest.read_json_file(gw.run_file("nats")) or {}
        print(f"gateway-nats counters: {st.get('counters')}")
    finally:
        gw.cleanup()
        for s in servers:
            s.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

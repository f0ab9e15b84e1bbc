"""
wa_replies_bench.py - replies through the WhatsApp path (docs/performance.md,
"WhatsApp replies"); run it through bench/wa_replies_bench.sh.

A gateway with one Meta connector whose graph_url points at nginx on
loopback: nginx logs the arrival time ($msec) and the body of every
POST /v21.0/<phone_number_id>/messages and answers the Cloud API's
{"messaging_product": "whatsapp", "contacts": [...], "messages":
[{"id": "wamid.<unique>"}]} from a second server block (the logging one
proxies to it, because nginx reads a body only to pass it on). nginx is
far faster than the gateway here, so it is not the limit.

BENCH_CUSTOMERS customers write first (signed webhooks); then BENCH_CLIENTS
clients send message.send commands (one REQ socket each) to their tickets in
turn:
  (a) maximum throughput: BENCH_N replies as fast as the clients go;
  (b) a steady BENCH_RATE replies/s for BENCH_STEADY_SECONDS.
For each reply: command-to-provider latency = nginx's arrival time of the
request carrying the reply's id (biz_opaque_callback_data) minus the time
the client sent the command (same clock). Prints one JSON line per phase
and a readable summary.
"""

import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import gwtest  # noqa: E402

N = int(os.environ.get("BENCH_N", "5000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "500"))
RATE = float(os.environ.get("BENCH_RATE", "100"))
STEADY_S = float(os.environ.get("BENCH_STEADY_SECONDS", "10"))
CONCURRENCY = int(os.environ.get("BENCH_SEND_CONCURRENCY", "16"))
NGINX = os.environ.get("BENCH_NGINX", "/usr/sbin/nginx")
PHONE = "1122334455667"
TOKEN = "bench-access-token"
REPLY_RE = re.compile(rb"reply-(\d+)-[0-9a-f]{32}")

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx.error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    client_body_buffer_size 64k;
    client_body_in_single_buffer on;
    log_format graph '$msec $request_body';
    upstream answer {{ server 127.0.0.1:{port2}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port1};
        keepalive_requests 1000000;
        location ~ ^/v21\\.0/[0-9]+/messages$ {{
            access_log {tmp}/graph.log graph buffer=64k flush=100ms;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://answer;
        }}
    }}
    server {{
        listen 127.0.0.1:{port2};
        keepalive_requests 1000000;
        location / {{
            default_type application/json;
            return 200 '{{"messaging_product":"whatsapp","contacts":[{{"input":"x","wa_id":"x"}}],"messages":[{{"id":"wamid.HBgL$request_id"}}]}}';
        }}
    }}
}}
"""


def start_nginx(tmp):
    port1, port2 = gwtest.free_ports(2)
    for d in ("body", "proxy", "fcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(NGINX_CONF.format(tmp=tmp, port1=port1, port2=port2))
    proc = subprocess.Popen([NGINX, "-c", conf, "-p", tmp], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    gwtest.wait_until(lambda: _listening(port1), 10, "nginx listening")
    return proc, port1


def _listening(port):
    import socket
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def webhook(secret, senders):
    """One signed WhatsApp webhook with a message from each sender."""
    msgs = [{"from": s, "id": f"wamid.bench-in-{s}", "timestamp": str(int(time.time())),
             "type": "text", "text": {"body": f"question from {s}"}} for s in senders]
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE},
             "contacts": [{"profile": {"name": "Bench"}, "wa_id": s} for s in senders],
             "messages": msgs}
    body = json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "1", "changes": [{"value": value,
                                                           "field": "messages"}]}]}).encode()
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, sig


def post(port, body, sig):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("POST", "/webhooks/meta", body=body,
                  headers={"Content-Type": "application/json", "X-Hub-Signature-256": sig})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def start_gateway(tmp, graph_port):
    os.makedirs(os.path.join(tmp, "gw"))
    gw = gwtest.Gateway(os.path.join(tmp, "gw"))
    port = gwtest.free_ports(1)[0]
    secret = secrets.token_hex(16)
    with open(gw.config_path, "a", encoding="utf-8") as f:
        f.write("\n".join([
            "  - name: meta", "    type: meta", "    enabled: true",
            f"    listen: \"127.0.0.1:{port}\"",
            "    app_secret: ${GATEWAY_META_APP_SECRET}",
            "    verify_token: ${GATEWAY_META_VERIFY_TOKEN}",
            f"    graph_url: \"http://127.0.0.1:{graph_port}/v21.0\"",
            "    access_token: ${GATEWAY_META_ACCESS_TOKEN}",
            f"    send_concurrency: {CONCURRENCY}", "    send_rate_per_s: 0",
            # every client from one address: no limits per address
            "    requests_per_minute: 0", "    max_connections_per_ip: 0"]) + "\n")
    gw.env.update({"GATEWAY_META_APP_SECRET": secret, "GATEWAY_META_VERIFY_TOKEN": "v",
                   "GATEWAY_META_ACCESS_TOKEN": TOKEN})
    gw.connectors.append("meta")
    gw.start(timeout=60)
    return gw, port, secret


def tickets(gw, n):
    """The ticket of each customer, from the bus's message.received events."""
    found = {}
    for _, t, m in gw.replay_all():
        if t == "message.received":
            found[m["from"]["address"]] = m["ticket_id"]
    if len(found) < n:
        raise AssertionError(f"{len(found)} tickets, expected {n}")
    return list(found.values())


class Sender:
    """Clients sending message.send; t0 of each delivery id."""

    def __init__(self, gw, tix):
        self.gw = gw
        self.tix = tix
        self.t0 = {}
        self.lock = threading.Lock()
        self.errors = 0

    def one(self, ctx, sock_box, i):
        t = time.time()
        try:
            res, _ = gwtest.command_ok(self.gw.command_ep, "message.send",
                                       {"command_id": f"bench-{i}-{secrets.token_hex(4)}",
                                        "ticket_id": self.tix[i % len(self.tix)],
                                        "text": f"answer number {i}"}, ctx=ctx)
        except AssertionError:
            with self.lock:
                self.errors += 1
            return
        with self.lock:
            self.t0[res["delivery_id"]] = t

    def run(self, first, n, rate=None):
        """Sends n replies (ids first..first+n-1) with CLIENTS clients, at
        `rate` per second overall when given; returns (start, end) times."""
        import zmq
        ctx = zmq.Context()
        nxt = [first]
        start = time.time()

        def worker():
            while True:
                with self.lock:
                    i = nxt[0]
                    if i >= first + n:
                        return
                    nxt[0] += 1
                if rate:
                    due = start + (i - first) / rate
                    wait = due - time.time()
                    if wait > 0:
                        time.sleep(wait)  # pacing of the steady load, not a wait for state
                self.one(ctx, None, i)

        threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ctx.term()
        return start, time.time()


def arrivals(tmp):
    """delivery id -> first arrival time at the provider, and the count of
    requests (a reply sent twice counts twice)."""
    first, total = {}, 0
    try:
        with open(os.path.join(tmp, "graph.log"), "rb") as f:
            for line in f:
                m = REPLY_RE.search(line)
                if not m:
                    continue
                total += 1
                d, t = int(m.group(1)), float(line.split(b" ", 1)[0])
                if d not in first or t < first[d]:
                    first[d] = t
    except OSError:
        pass
    return first, total


def jiffies(pid):
    """utime + stime of a process, in clock ticks (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "r") as f:
            st = f.read()
        fields = st[st.rfind(")") + 2:].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return 0


def machine_busy():
    """(busy, total) clock ticks of every CPU so far (/proc/stat)."""
    with open("/proc/stat", "r") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


class Cpu:
    """CPU of the router, the Meta connector, nginx, this client, and of
    every other process on the machine, over a phase."""

    def __init__(self, gw, nginx):
        self.pids = {"router": gw.child_pid("router"), "connector": gw.child_pid("meta")}
        self.nginx = [nginx.pid] + gwtest.children_of(nginx.pid)
        self.hz = os.sysconf("SC_CLK_TCK")

    def snap(self):
        own = {k: jiffies(p) for k, p in self.pids.items()}
        own["nginx"] = sum(jiffies(p) for p in self.nginx)
        t = os.times()
        own["client"] = int((t.user + t.system) * self.hz)
        return own, machine_busy(), time.monotonic()

    def report(self, a, b, n):
        (o0, (busy0, _), t0), (o1, (busy1, _), t1) = a, b
        ours = {k: (o1[k] - o0[k]) / self.hz for k in o1}
        wall = t1 - t0
        other = (busy1 - busy0) / self.hz - sum(ours.values())
        return {"cpu_us_per_reply": {k: round(v * 1e6 / max(n, 1)) for k, v in ours.items()},
                "other_load_pct": round(100 * max(other, 0.0) / wall)}


def sent_count(gw):
    st = gwtest.read_json_file(gw.run_file("meta")) or {}
    return st.get("counters", {}).get("replies", {}).get("sent", 0)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))] if xs else 0.0


def phase(name, gw, tmp, sender, cpu, first, n, rate=None):
    before = sent_count(gw)
    c0 = cpu.snap()
    t_start, t_cmd_end = sender.run(first, n, rate)
    done = len(sender.t0)
    gwtest.wait_until(lambda: sent_count(gw) >= before + n - sender.errors, 600,
                      f"{n} replies reported sent", interval=0.05)
    c1 = cpu.snap()

    def logged():
        got = arrivals(tmp)[0]
        return sum(1 for d in sender.t0 if d in got) >= done
    gwtest.wait_until(logged, 30, "nginx's log flushed", interval=0.2)
    arr, _ = arrivals(tmp)
    ids = [d for d in sender.t0 if d in arr and sender.t0[d] >= t_start]
    lat = [(arr[d] - sender.t0[d]) * 1000 for d in ids]
    t_end = max(arr[d] for d in ids)
    res = {"phase": name, "replies": len(ids), "clients": CLIENTS,
           "send_concurrency": CONCURRENCY, "offered_per_s": rate or "max",
           "commands_per_s": round(len(ids) / (t_cmd_end - t_start), 1),
           "replies_per_s": round(len(ids) / (t_end - t_start), 1),
           "p50_ms": round(pct(lat, 50), 1), "p99_ms": round(pct(lat, 99), 1),
           "max_ms": round(max(lat), 1), "command_errors": sender.errors,
           **cpu.report(c0, c1, len(ids))}
    print(json.dumps(res), flush=True)
    return res


def main():
    tmp = tempfile.mkdtemp(prefix="wa-replies-bench-", dir=os.environ.get("BENCH_TMPDIR"))
    nginx, gw = None, None
    try:
        nginx, graph_port = start_nginx(tmp)
        gw, port, secret = start_gateway(tmp, graph_port)
        senders = [f"1555{i:07d}" for i in range(CUSTOMERS)]
        for k in range(0, CUSTOMERS, 100):
            body, sig = webhook(secret, senders[k:k + 100])
            if post(port, body, sig) != 200:
                raise AssertionError("a webhook was refused")
        gwtest.wait_until(lambda: gwtest.command_ok(gw.command_ep, "status", {})[0]
                          ["counters"]["received"] >= CUSTOMERS, 60, "the customers' messages")
        sender = Sender(gw, tickets(gw, CUSTOMERS))
        cpu = Cpu(gw, nginx)
        a = phase("a: maximum throughput", gw, tmp, sender, cpu, 0, N)
        sender.t0.clear()
        b = phase(f"b: steady {RATE:g}/s", gw, tmp, sender, cpu, N, int(RATE * STEADY_S),
                  RATE)
        _, total = arrivals(tmp)
        print(f"(a) {a['replies']} replies: {a['replies_per_s']} replies/s to the provider "
              f"({a['commands_per_s']} commands/s), command-to-provider p50 {a['p50_ms']} ms, "
              f"p99 {a['p99_ms']} ms, max {a['max_ms']} ms; other load {a['other_load_pct']} % "
              f"of a core")
        print(f"(b) {b['replies']} replies at {RATE:g}/s: command-to-provider p50 "
              f"{b['p50_ms']} ms, p99 {b['p99_ms']} ms, max {b['max_ms']} ms; other load "
              f"{b['other_load_pct']} % of a core")
        print(f"requests at the provider: {total} for {a['replies'] + b['replies']} replies")
    finally:
        if gw is not None:
            gw.cleanup()
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


if __name__ == "__main__":
    main()

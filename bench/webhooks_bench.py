"""
webhooks_bench.py - events/s delivered by gateway-integration's webhooks
to one and to ten receivers (docs/performance.md, "Webhooks"); run it
through bench/webhooks_bench.sh.

The receivers are nginx on loopback (`return 204` per path, far faster than
the gateway, so not the limit). For each K in BENCH_RECEIVERS (default
"1 10"): a gateway with K subscriptions (every event), all paused; BENCH_N
messages are posted to the API channel and routed (the log then holds
about 2 events per message); then every subscription is resumed at once and
the clock runs until every cursor reaches the head (gatewayctl webhooks
status --json). Prints events/s per subscription and in all, and the CPU
time gateway-integration used per delivered event.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import gwtest  # noqa: E402
import integ  # noqa: E402

N = int(os.environ.get("BENCH_N", "2000"))
RECEIVERS = [int(x) for x in os.environ.get("BENCH_RECEIVERS", "1 10").split()]
NGINX = os.environ.get("BENCH_NGINX", "/usr/sbin/nginx")

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx.error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        keepalive_requests 1000000;
        location / {{ return 204; }}
    }}
}}
"""


def start_nginx(tmp):
    port = gwtest.free_ports(1)[0]
    for d in ("body", "proxy", "fcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(NGINX_CONF.format(tmp=tmp, port=port))
    proc = subprocess.Popen([NGINX, "-c", conf, "-p", tmp], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    def answering():
        try:
            return integ.HttpApi(port, None).request("POST", "/x", raw=b"{}").status == 204
        except OSError:
            return False
    gwtest.wait_until(answering, 10, "nginx answering")
    return proc, port


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def status(gw):
    return [json.loads(x) for x in gw.ctl("webhooks", "status", "--json").stdout.splitlines()]


def run(k, port, tmp):
    root = os.path.join(tmp, f"gw{k}")
    os.makedirs(root)
    hooks = [{"name": f"h{i}", "url": f"http://127.0.0.1:{port}/hook{i}",
              "secret": "bench-webhook-secret-0123", "backoff_min_ms": 50}
             for i in range(k)]
    gw = integ.IntegGateway(root, webhooks=hooks)
    try:
        gw.start()
        for i in range(k):
            gw.ctl("webhooks", "pause", f"h{i}")
        c = gw.client()
        for i in range(N):
            r = c.post_until_accepted(gwtest.message_body(f"b{i}", f"+1555{i % 200:07d}", "B"),
                                      time.monotonic() + 30)
            assert r.status == 202, r
        c.close()
        gwtest.wait_until(lambda: sum(1 for _, t, _ in gw.replay_all()
                                      if t == "message.received") >= N, 120, "routed")
        head = gw.head()
        pid = gw.child_pid("integration")
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        for i in range(k):
            gw.ctl("webhooks", "resume", f"h{i}")
        gwtest.wait_until(lambda: all(r["cursor"] >= head for r in status(gw)), 600,
                          "every cursor at the head", interval=0.05)
        dt, cpu = time.monotonic() - t0, cpu_seconds(pid) - cpu0
        return {"receivers": k, "events": head, "seconds": round(dt, 3),
                "events_per_s_each": round(head / dt), "events_per_s_all": round(k * head / dt),
                "cpu_us_per_delivery": round(1e6 * cpu / (k * head), 1)}
    finally:
        gw.cleanup()


def main():
    tmp = tempfile.mkdtemp(prefix="gw-bench-webhooks-", dir=os.environ.get("BENCH_TMPDIR"))
    nginx, port = start_nginx(tmp)
    try:
        for k in RECEIVERS:
            r = run(k, port, tmp)
            print(json.dumps(r), flush=True)
            print(f"{k} receiver(s): {r['events']} events each in {r['seconds']} s: "
                  f"{r['events_per_s_each']} events/s per subscription, "
                  f"{r['events_per_s_all']} in all, {r['cpu_us_per_delivery']} us CPU per "
                  f"delivery", flush=True)
    finally:
        nginx.terminate()
        nginx.wait()
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
